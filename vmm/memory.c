/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>

#include "memory.h"
#include "util.h"
#include "arch/x86/layout.h"

/* Split RAM around the 32-bit MMIO hole: [0, hole) then [4 GiB, ...). */
static void layout_regions(struct guest_mem *mem)
{
	uint64_t low = MIN(mem->size, (uint64_t)X86_MMIO_HOLE_START);

	mem->nr_regions = 1;
	mem->regions[0] = (struct mem_region){ .gpa = 0, .size = low, .offset = 0 };
	if (mem->size > low) {
		mem->regions[1] = (struct mem_region){
			.gpa = X86_RAM_HIGH_START, .size = mem->size - low, .offset = low };
		mem->nr_regions = 2;
	}
}

int guest_mem_create(struct guest_mem *mem, uint64_t size)
{
	int err;

	memset(mem, 0, sizeof(*mem));
	mem->memfd = -1;
	if (size == 0 || !IS_ALIGNED(size, 2 * MiB))
		return -EINVAL;
	mem->memfd = memfd_create("mvmm-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mem->memfd < 0)
		return -errno;
	if (ftruncate(mem->memfd, (off_t)size) < 0) {
		err = -errno;
		goto err_close;
	}
	mem->host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
			 mem->memfd, 0);
	if (mem->host == MAP_FAILED) {
		err = -errno;
		mem->host = NULL;
		goto err_close;
	}
	/* Huge pages cut KVM's mapping work; best effort (shmem THP may be disabled). */
	madvise(mem->host, size, MADV_HUGEPAGE);
	/* A forked helper must never share or write the guest's RAM behind the fork design. */
	madvise(mem->host, size, MADV_DONTFORK);
	mem->size = size;
	layout_regions(mem);
	return 0;

err_close:
	close(mem->memfd);
	mem->memfd = -1;
	return err;
}

int guest_mem_create_private(struct guest_mem *mem, int fd, uint64_t size)
{
	memset(mem, 0, sizeof(*mem));
	mem->memfd = fd;
	if (size == 0 || !IS_ALIGNED(size, 2 * MiB))
		return -EINVAL;
	mem->host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
	if (mem->host == MAP_FAILED) {
		mem->host = NULL;
		return -errno;
	}
	madvise(mem->host, size, MADV_DONTFORK);
	mem->private_map = true;
	mem->size = size;
	layout_regions(mem);
	return 0;
}

void guest_mem_destroy(struct guest_mem *mem)
{
	if (!mem)
		return;
	if (mem->host)
		munmap(mem->host, mem->size);
	if (mem->stale_host)
		munmap(mem->stale_host, mem->size);
	mem->stale_host = NULL;
	if (mem->memfd >= 0)
		close(mem->memfd);
	for (unsigned int i = 1; i < mem->nr_layers; i++)
		close(mem->layer_fds[i]);
	free(mem->page_layer);
	mem->page_layer = NULL;
	mem->nr_layers = 0;
	mem->host = NULL;
	mem->memfd = -1;
	mem->nr_regions = 0;
}

int guest_mem_register(const struct guest_mem *mem, int vm_fd)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct mem_region *r = &mem->regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uint64_t)(uintptr_t)(mem->host + r->offset),
		};

		if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return -errno;
	}
	return 0;
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (add_overflows_u64(gpa, len, &end))
		return NULL;
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct mem_region *r = &mem->regions[i];

		if (gpa >= r->gpa && end <= r->gpa + r->size)
			return mem->host + r->offset + (gpa - r->gpa);
	}
	return NULL;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = guest_mem_ptr(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = guest_mem_ptr(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

uint64_t guest_mem_low_end(const struct guest_mem *mem)
{
	return mem->nr_regions ? mem->regions[0].size : 0;
}
