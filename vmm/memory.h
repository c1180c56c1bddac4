/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: one memfd mapped once into the VMM, split into guest-physical regions (below the
 * 32-bit MMIO hole and above 4 GiB), each registered as a KVM memslot.  guest_mem_ptr() is the
 * one checked guest-physical -> host translation: it refuses any range not wholly inside RAM.
 */
#ifndef MVMM_VMM_MEMORY_H
#define MVMM_VMM_MEMORY_H

#include <stdint.h>
#include <stdbool.h>

#define GUEST_MEM_MAX_REGIONS 2

struct mem_region {
	uint64_t gpa;			/* guest-physical start */
	uint64_t size;			/* bytes */
	uint64_t offset;		/* offset in the memfd and in the host mapping */
};

#define GUEST_MEM_MAX_LAYERS 64

/*
 * After a fork (fork/layers.c) RAM is a stack of immutable layers: layer 0 covers all of RAM,
 * and page_layer[] says which layer each 4 KiB page is mapped from (MAP_PRIVATE, so the VM's
 * own writes become private anonymous pages until the next fork turns them into a layer).
 */
struct guest_mem {
	int memfd;			/* owned backing fd (memfd, or a snapshot file); -1: none */
	bool private_map;		/* host is MAP_PRIVATE of memfd (restore): writes stay ours */
	int layer_fds[GUEST_MEM_MAX_LAYERS];	/* owned; layer_fds[0] == memfd when layered */
	unsigned int nr_layers;		/* 0: not layered */
	uint8_t *page_layer;		/* owned: layer of each page, NULL while nr_layers <= 1 */
	uint8_t *stale_host;		/* owned: a mapping replaced by a fork, unmapped after it */
	uint8_t *host;			/* owned mapping of the whole backing fd */
	uint64_t size;			/* total RAM bytes */
	unsigned int nr_regions;
	struct mem_region regions[GUEST_MEM_MAX_REGIONS];
};

/* Create RAM of `size` bytes laid out by the arch (see arch/x86/layout.h). */
int guest_mem_create(struct guest_mem *mem, uint64_t size);
/*
 * RAM backed by an existing file (a snapshot's memory image), mapped MAP_PRIVATE: pages load
 * lazily from the page cache, which every restore of the same snapshot shares, and the guest's
 * writes stay private.  Takes ownership of fd.
 */
int guest_mem_create_private(struct guest_mem *mem, int fd, uint64_t size);
/* NULL-safe; unmaps and closes. */
void guest_mem_destroy(struct guest_mem *mem);
/* Register every region as a KVM memslot on vm_fd. */
int guest_mem_register(const struct guest_mem *mem, int vm_fd);
/* Host pointer for [gpa, gpa+len) if wholly inside one RAM region, else NULL. len may be 0. */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
/* Copy helpers built on guest_mem_ptr; -EFAULT when the range is not RAM. */
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len);
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len);
/* Highest guest-physical end of RAM below 4 GiB. */
uint64_t guest_mem_low_end(const struct guest_mem *mem);

#endif /* MVMM_VMM_MEMORY_H */
