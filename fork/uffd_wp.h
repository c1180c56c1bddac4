/* SPDX-License-Identifier: MIT */
/*
 * Live copy of guest RAM with userfaultfd write-protect (synchronous mode), for a snapshot of a
 * VM that keeps running (FORK.md "live copy mode").
 *
 *   arm (VM paused): register RAM with UFFDIO_REGISTER_MODE_WP and write-protect all of it;
 *   the VM resumes at once; then
 *   copier thread : copies every page not yet copied, then un-protects it;
 *   fault thread  : a write to a protected page (guest via KVM, or a device thread) blocks in
 *                   the kernel; this thread copies that page first, un-protects it, and the
 *                   writer goes on.  It never writes guest RAM itself.
 *   Each page is copied exactly once, by whoever claims it first (an atomic per-page state), so
 *   the image holds every page as it was at the arm instant.
 *
 * Pages are copied through a MAP_SHARED mapping of the output file (not pwrite: a copier and a
 * fault handler both writing one file serialise on its inode lock); all-zero pages are skipped,
 * so the image stays sparse.
 */
#ifndef MVMM_FORK_UFFD_WP_H
#define MVMM_FORK_UFFD_WP_H

#include <stdint.h>

struct vm;
struct uffd_copy;

/* Which write-protect features this kernel has (features must be requested explicitly). */
int uffd_wp_probe(uint64_t *features);
/* Arm write-protect on the VM's RAM and start both threads; the VM must be paused. */
int uffd_copy_start(struct vm *vm, int out_fd, struct uffd_copy **out);
/* Wait until every page is copied, unregister, release.  *faults gets the write faults. */
int uffd_copy_finish(struct uffd_copy *c, uint64_t *faults);

#endif /* MVMM_FORK_UFFD_WP_H */
