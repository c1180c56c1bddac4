/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM as a stack of sealed layers (FORK.md), for fork.
 *
 * First fork of a VM on its shared memfd (zero copy): the memfd becomes layer 0 as it is.  The
 * parent moves off its MAP_SHARED mapping onto a MAP_PRIVATE one at a new address (memslots
 * deleted and re-created on it), then the old mapping goes and the memfd is sealed
 * (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW): nobody can change layer 0 again.
 *
 * Every later fork: what the VM wrote since the last fork are exactly the private anonymous
 * pages of its MAP_PRIVATE mapping (a write to a file page copies it), which /proc/self/pagemap
 * tells apart from file pages.  Those pages are copied into a new sparse memfd layer, sealed,
 * and the VM's own copies are replaced by MAP_FIXED mappings of the new layer, so parent and
 * children share them and the next fork again copies only the pages written since.  Cost is
 * O(pages written since the last fork) plus a scan of 8 bytes per page.
 *
 * At 32 layers, layers 1..n are merged into one (copying the pages above layer 0 only).
 *
 * Children map layer 0 whole and each run of pages of a higher layer with MAP_FIXED over it.
 * Layers are memfds: the kernel frees one when the last process mapping it exits.
 */
#ifndef MVMM_FORK_LAYERS_H
#define MVMM_FORK_LAYERS_H

#include <stddef.h>
#include <stdint.h>

struct vm;
struct guest_mem;

/* A run of pages mapped from one layer; offsets are bytes into RAM (and into the layer). */
struct mem_run {
	uint64_t offset;
	uint64_t len;
	uint32_t layer;
};

/*
 * Turn what the VM wrote into layers (see above).  The VM must be paused and its devices
 * quiesced: this changes vm->mem.host and the memslots.  *copied gets the bytes copied.
 */
int layers_prepare_fork(struct vm *vm, uint64_t *copied);
/* After the VM resumed: release what the freeze left for later (old mapping, seals). */
void layers_after_resume(struct vm *vm);
/* The runs of pages above layer 0, in RAM order (malloc'd array, caller frees). */
int layers_runs(const struct guest_mem *mem, struct mem_run **runs, size_t *nr);
/* Build a child's RAM from layer fds (ownership passes) and runs; MAP_PRIVATE throughout. */
int layers_map(struct guest_mem *mem, uint64_t size, const int *fds, unsigned int nr_fds,
	       const struct mem_run *runs, size_t nr_runs);

#endif /* MVMM_FORK_LAYERS_H */
