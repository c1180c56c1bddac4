/* SPDX-License-Identifier: MIT */
/*
 * Disks of a cloned VM (fork child or restore): read-only disks are shared; a writable disk gets
 * its own copy-on-write image, so no two VMs ever write one file.  The copy is a reflink
 * (FICLONE: O(metadata), shared blocks) where the filesystem has them, else a sparse copy of
 * the data ranges (O(disk data)).  It is made while the source VM is paused, so it holds the
 * disk exactly as of the clone instant.  The clone opens it and unlinks it: it lives as long
 * as that VM.
 */
#ifndef MVMM_FORK_DISKS_H
#define MVMM_FORK_DISKS_H

#include <stdbool.h>

struct vm;
struct json_object;

/* Copy src to the new file dst (reflink or sparse copy); *reflinked says which. */
int disk_clone_file(const char *src, const char *dst, bool *reflinked);
/*
 * The VM's disks as JSON for a clone: [{"path","ro","id","own"}], where writable disks were
 * cloned to dir/<tag>-disk<i>.img ("own": the clone unlinks it once open).
 */
int disks_for_clone(struct vm *vm, const char *dir, const char *tag, struct json_object **out);
/* Parse that JSON into cfg->disks (storage owned by *store; free with free()). */
struct mvmm_config;
int disks_from_json(struct json_object *arr, struct mvmm_config *cfg, void **store);
/* Unlink the images marked "own" (after the VM opened them). */
void disks_unlink_owned(struct json_object *arr);

#endif /* MVMM_FORK_DISKS_H */
