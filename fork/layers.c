/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>

#include "layers.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define PAGE 4096ULL
#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)
#define PM_FILE (1ULL << 61)
#define LAYERS_COMPACT_AT 32	/* < GUEST_MEM_MAX_LAYERS: then layers 1..n are merged */
#define SEALS (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

/* Re-point every memslot at `host` (delete + create: KVM cannot move a slot in place). */
static int memslots_move(struct vm *vm, uint8_t *host)
{
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		const struct mem_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region slot = { .slot = i, .guest_phys_addr = r->gpa };

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return -errno;
		slot.memory_size = r->size;
		slot.userspace_addr = (uint64_t)(uintptr_t)(host + r->offset);
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return -errno;
	}
	return 0;
}

/* First fork on the shared memfd: it becomes layer 0, untouched; the VM goes private. */
static int freeze_shared(struct vm *vm)
{
	struct guest_mem *mem = &vm->mem;
	uint8_t *priv, *old = mem->host;
	int err;

	priv = mmap(NULL, mem->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE,
		    mem->memfd, 0);
	if (priv == MAP_FAILED)
		return -errno;
	madvise(priv, mem->size, MADV_DONTFORK);
	err = memslots_move(vm, priv);
	if (err) {
		/* Put the slots back on the shared mapping; the VM goes on as before. */
		memslots_move(vm, old);
		munmap(priv, mem->size);
		return err;
	}
	mem->host = priv;
	mem->private_map = true;
	/*
	 * The old shared mapping is idle now (vCPUs and devices use the new one), but dropping
	 * it takes time proportional to the resident RAM: layers_after_resume() does it, and
	 * sets the seals (possible only once no writable shared mapping is left).
	 */
	mem->stale_host = old;
	mem->layer_fds[0] = mem->memfd;
	mem->nr_layers = 1;
	return 0;
}

/* Pages of the private mapping that are anonymous (written since they were last layered). */
static int scan_dirty(struct guest_mem *mem, uint8_t *dirty, uint64_t *nr_dirty)
{
	uint64_t pages = mem->size / PAGE, buf[4096];
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	*nr_dirty = 0;
	for (uint64_t p = 0; p < pages;) {
		uint64_t n = MIN(pages - p, (uint64_t)ARRAY_SIZE(buf));
		off_t off = (off_t)(((uintptr_t)mem->host / PAGE + p) * sizeof(uint64_t));
		ssize_t got = pread(fd, buf, n * sizeof(uint64_t), off);

		if (got != (ssize_t)(n * sizeof(uint64_t))) {
			err = got < 0 ? -errno : -EIO;
			break;
		}
		for (uint64_t i = 0; i < n; i++) {
			bool anon = ((buf[i] & PM_PRESENT) && !(buf[i] & PM_FILE)) ||
				    (buf[i] & PM_SWAPPED);

			dirty[p + i] = anon;
			*nr_dirty += anon;
		}
		p += n;
	}
	close(fd);
	return err;
}

/* Map [off, off+len) of RAM from layer `l` over the VM's mapping (drops its private copies). */
static int map_run(struct guest_mem *mem, int fd, uint64_t off, uint64_t len)
{
	void *p = mmap(mem->host + off, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, (off_t)off);

	if (p == MAP_FAILED)
		return -errno;
	madvise(p, len, MADV_DONTFORK);
	return 0;
}

/*
 * Copy the dirty pages into a new sealed layer and remap them from it.
 *
 * Every fork adds a layer (and a mapping per run).  At LAYERS_COMPACT_AT layers the new layer
 * instead takes every page above layer 0 as well as the dirty ones and replaces layers 1..n:
 * the stack collapses to two layers at a cost of O(pages ever written since the first fork),
 * not O(RAM), and layer 0 (the bulk) is never copied.  Children made earlier keep the old
 * layers through their own fds and mappings.
 */
static int capture_delta(struct vm *vm, uint64_t *copied)
{
	struct guest_mem *mem = &vm->mem;
	uint64_t pages = mem->size / PAGE, nr_dirty, i;
	uint8_t *dirty = calloc(pages, 1);
	unsigned int l = mem->nr_layers;
	bool collapse = l >= LAYERS_COMPACT_AT;
	int fd = -1, err;

	if (!dirty)
		return -ENOMEM;
	err = scan_dirty(mem, dirty, &nr_dirty);
	if (err || !nr_dirty)
		goto out;
	if (!mem->page_layer && !(mem->page_layer = calloc(pages, 1))) {
		err = -ENOMEM;
		goto out;
	}
	if (collapse) {
		for (i = 0; i < pages; i++) {
			if (mem->page_layer[i] && !dirty[i]) {
				dirty[i] = 1;
				nr_dirty++;
			}
		}
		l = 1;	/* the merged layer takes the place of layers 1..n */
	}
	fd = memfd_create("mvmm-layer", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, (off_t)mem->size) < 0) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < pages; i++) {
		if (!dirty[i])
			continue;
		if (pwrite(fd, mem->host + i * PAGE, PAGE, (off_t)(i * PAGE)) != (ssize_t)PAGE) {
			err = -EIO;
			goto out;
		}
	}
	if (fcntl(fd, F_ADD_SEALS, SEALS) < 0)
		pr_warn(&vm->log, "fork", "cannot seal layer %u: %s", l, mvmm_strerror(-errno));
	/*
	 * Register the layer first: it holds the current bytes of every dirty page, so the stack
	 * is right even if a remap below fails (that page just stays a private copy).
	 */
	if (collapse) {
		for (unsigned int k = 1; k < mem->nr_layers; k++)
			close(mem->layer_fds[k]);	/* their pages all move to the new layer */
	}
	mem->layer_fds[l] = fd;
	mem->nr_layers = l + 1;
	fd = -1;
	*copied = nr_dirty * PAGE;
	/* Remap each run of dirty pages from the layer: parent and children now share them. */
	for (i = 0; i < pages;) {
		uint64_t j = i;

		if (!dirty[i]) {
			i++;
			continue;
		}
		while (j < pages && dirty[j])
			mem->page_layer[j++] = (uint8_t)l;
		err = map_run(mem, mem->layer_fds[l], i * PAGE, (j - i) * PAGE);
		if (err)
			goto out;
		i = j;
	}
out:
	if (fd >= 0)
		close(fd);
	free(dirty);
	return err;
}

int layers_prepare_fork(struct vm *vm, uint64_t *copied)
{
	struct guest_mem *mem = &vm->mem;

	*copied = 0;
	if (!mem->private_map)
		return freeze_shared(vm);
	if (mem->nr_layers == 0) {
		/* A restored VM: its snapshot image (or a layer it was given) is layer 0. */
		mem->layer_fds[0] = mem->memfd;
		mem->nr_layers = 1;
	}
	return capture_delta(vm, copied);
}

void layers_after_resume(struct vm *vm)
{
	struct guest_mem *mem = &vm->mem;

	if (!mem->stale_host)
		return;
	munmap(mem->stale_host, mem->size);
	mem->stale_host = NULL;
	if (fcntl(mem->memfd, F_ADD_SEALS, SEALS) < 0)
		pr_warn(&vm->log, "fork", "cannot seal layer 0: %s", mvmm_strerror(-errno));
}

int layers_runs(const struct guest_mem *mem, struct mem_run **out, size_t *nr)
{
	uint64_t pages = mem->size / PAGE;
	struct mem_run *runs = NULL;
	size_t n = 0, cap = 0;

	*out = NULL;
	*nr = 0;
	if (!mem->page_layer)
		return 0;
	for (uint64_t i = 0; i < pages;) {
		uint64_t j = i + 1;
		uint8_t l = mem->page_layer[i];

		while (j < pages && mem->page_layer[j] == l)
			j++;
		if (l) {
			if (n == cap) {
				struct mem_run *r;

				cap = cap ? cap * 2 : 64;
				r = realloc(runs, cap * sizeof(*r));
				if (!r) {
					free(runs);
					return -ENOMEM;
				}
				runs = r;
			}
			runs[n++] = (struct mem_run){ i * PAGE, (j - i) * PAGE, l };
		}
		i = j;
	}
	*out = runs;
	*nr = n;
	return 0;
}

int layers_map(struct guest_mem *mem, uint64_t size, const int *fds, unsigned int nr_fds,
	       const struct mem_run *runs, size_t nr_runs)
{
	uint64_t pages = size / PAGE;
	int err = 0;

	if (nr_fds == 0 || nr_fds > GUEST_MEM_MAX_LAYERS) {
		for (unsigned int i = 0; i < nr_fds; i++)
			close(fds[i]);
		return -EINVAL;
	}
	/* Layer 0 whole, as a restore does; it takes ownership of fds[0]. */
	err = guest_mem_create_private(mem, fds[0], size);
	for (unsigned int i = 1; i < nr_fds; i++)
		mem->layer_fds[i] = fds[i];
	mem->layer_fds[0] = fds[0];
	mem->nr_layers = nr_fds;
	if (err)
		return err;
	if (nr_runs && !(mem->page_layer = calloc(pages, 1)))
		return -ENOMEM;
	for (size_t r = 0; r < nr_runs; r++) {
		const struct mem_run *run = &runs[r];
		uint64_t end;

		/* The run table comes from the parent VMM: still check it against this RAM. */
		if (run->layer == 0 || run->layer >= nr_fds || !IS_ALIGNED(run->offset, PAGE) ||
		    !IS_ALIGNED(run->len, PAGE) || run->len == 0 ||
		    add_overflows_u64(run->offset, run->len, &end) || end > size)
			return -EBADMSG;
		err = map_run(mem, fds[run->layer], run->offset, run->len);
		if (err)
			return err;
		memset(mem->page_layer + run->offset / PAGE, (int)run->layer, run->len / PAGE);
	}
	return 0;
}
