/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#include "uffd_wp.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)	/* Linux 6.4: protect never-touched pages */
#endif

#define PAGE 4096ULL
enum { PG_TODO = 0, PG_COPYING = 1, PG_DONE = 2 };

struct uffd_copy {
	struct vm *vm;
	int uffd;
	int stop_fd;			/* eventfd: tells the fault thread to leave */
	uint8_t *src;			/* the VM's RAM mapping (vm->mem.host at arm time) */
	uint8_t *dst;			/* MAP_SHARED mapping of the output file */
	uint64_t size;
	uint8_t *state;			/* per page, atomic: PG_* */
	pthread_t fault_thread, copy_thread;
	uint64_t faults;
	int err;			/* first error of either thread */
};

static int uffd_open(void)
{
	return (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
}

int uffd_wp_probe(uint64_t *features)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_WP_HUGETLBFS_SHMEM |
					      UFFD_FEATURE_WP_UNPOPULATED };
	int fd = uffd_open(), err = 0;

	*features = 0;
	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api) < 0)
		err = -errno;
	else
		*features = api.features;
	close(fd);
	return err;
}

static bool page_zero(const uint8_t *p)
{
	static const uint8_t zero[PAGE];

	return memcmp(p, zero, PAGE) == 0;
}

/* Copy page i unless someone else has; returns once it is copied either way. */
static void copy_page(struct uffd_copy *c, uint64_t i)
{
	uint8_t expect = PG_TODO;

	if (__atomic_compare_exchange_n(&c->state[i], &expect, PG_COPYING, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		/* Reading a write-protected page is allowed: this is its arm-time content. */
		if (!page_zero(c->src + i * PAGE))
			memcpy(c->dst + i * PAGE, c->src + i * PAGE, PAGE);
		__atomic_store_n(&c->state[i], PG_DONE, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&c->state[i], __ATOMIC_ACQUIRE) != PG_DONE)
		sched_yield();
}

static int unprotect(struct uffd_copy *c, uint64_t start, uint64_t len, bool wake)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (uint64_t)(uintptr_t)(c->src + start), .len = len },
		.mode = wake ? 0 : UFFDIO_WRITEPROTECT_MODE_DONTWAKE,
	};

	return ioctl(c->uffd, UFFDIO_WRITEPROTECT, &wp) < 0 ? -errno : 0;
}

static void *fault_thread(void *arg)
{
	struct uffd_copy *c = arg;
	struct pollfd p[2] = { { .fd = c->uffd, .events = POLLIN },
			       { .fd = c->stop_fd, .events = POLLIN } };
	struct uffd_msg msg;

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		if (read(c->uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;	/* EAGAIN: another wake-up took it */
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		uint64_t off = ALIGN_DOWN(msg.arg.pagefault.address, PAGE) -
			       (uint64_t)(uintptr_t)c->src;

		if (off >= c->size)
			continue;
		__atomic_fetch_add(&c->faults, 1, __ATOMIC_RELAXED);
		/* Copy first, then let the write through (and wake the writer). */
		copy_page(c, off / PAGE);
		if (unprotect(c, off, PAGE, true) && !c->err)
			c->err = -EIO;
	}
	return NULL;
}

static void *copy_thread(void *arg)
{
	struct uffd_copy *c = arg;
	uint64_t pages = c->size / PAGE;

	for (uint64_t i = 0; i < pages; i++) {
		copy_page(c, i);
		/* Writes to it need no fault any more (a fault already in flight is woken too). */
		if (unprotect(c, i * PAGE, PAGE, true) && !c->err)
			c->err = -EIO;
	}
	return NULL;
}

int uffd_copy_start(struct vm *vm, int out_fd, struct uffd_copy **out)
{
	struct uffd_copy *c = calloc(1, sizeof(*c));
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };
	struct uffdio_writeprotect wp = { 0 };
	uint64_t have;
	int err;

	if (!c)
		return -ENOMEM;
	c->vm = vm;
	c->uffd = c->stop_fd = -1;
	c->dst = MAP_FAILED;
	c->src = vm->mem.host;
	c->size = vm->mem.size;
	c->state = calloc(c->size / PAGE, 1);
	err = c->state ? uffd_wp_probe(&have) : -ENOMEM;
	if (err)
		goto fail;
	/* Ask for exactly what this RAM needs: shmem WP, and WP of never-touched pages. */
	api.features = have & (UFFD_FEATURE_WP_HUGETLBFS_SHMEM | UFFD_FEATURE_WP_UNPOPULATED);
	if (api.features != (UFFD_FEATURE_WP_HUGETLBFS_SHMEM | UFFD_FEATURE_WP_UNPOPULATED)) {
		pr_err(&vm->log, "snapshot", "live snapshot needs userfaultfd write-protect on "
		       "shmem and unpopulated pages (Linux 6.4+); this kernel lacks it");
		err = -ENOTSUP;
		goto fail;
	}
	c->uffd = uffd_open();
	if (c->uffd < 0 || ioctl(c->uffd, UFFDIO_API, &api) < 0) {
		err = -errno;
		goto fail;
	}
	c->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (c->stop_fd < 0 || ftruncate(out_fd, (off_t)c->size) < 0) {
		err = -errno;
		goto fail;
	}
	c->dst = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, out_fd, 0);
	if (c->dst == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	reg.range.start = (uint64_t)(uintptr_t)c->src;
	reg.range.len = c->size;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(c->uffd, UFFDIO_REGISTER, &reg) < 0) {
		err = -errno;
		goto fail;
	}
	wp.range = reg.range;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	if (ioctl(c->uffd, UFFDIO_WRITEPROTECT, &wp) < 0) {
		err = -errno;
		goto fail_unreg;
	}
	err = -pthread_create(&c->fault_thread, NULL, fault_thread, c);
	if (err)
		goto fail_unreg;
	err = -pthread_create(&c->copy_thread, NULL, copy_thread, c);
	if (err) {
		uint64_t one = 1;

		if (write(c->stop_fd, &one, sizeof(one)) < 0)
			pr_warn(&vm->log, "snapshot", "eventfd: %s", mvmm_strerror(-errno));
		pthread_join(c->fault_thread, NULL);
		goto fail_unreg;
	}
	*out = c;
	return 0;

fail_unreg:
	/* Unregistering also drops the protection: writers are never left blocked. */
	ioctl(c->uffd, UFFDIO_UNREGISTER, &reg.range);
fail:
	if (c->dst != MAP_FAILED)
		munmap(c->dst, c->size);
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	if (c->uffd >= 0)
		close(c->uffd);
	free(c->state);
	free(c);
	return err;
}

int uffd_copy_finish(struct uffd_copy *c, uint64_t *faults)
{
	struct uffdio_range range = { (uint64_t)(uintptr_t)c->src, c->size };
	uint64_t one = 1;
	int err;

	pthread_join(c->copy_thread, NULL);
	/* Every page is copied and unprotected: no fault can come any more. */
	if (write(c->stop_fd, &one, sizeof(one)) < 0 && !c->err)
		c->err = -errno;
	pthread_join(c->fault_thread, NULL);
	ioctl(c->uffd, UFFDIO_UNREGISTER, &range);
	if (msync(c->dst, c->size, MS_SYNC) < 0 && !c->err)
		c->err = -errno;
	munmap(c->dst, c->size);
	close(c->stop_fd);
	close(c->uffd);
	*faults = c->faults;
	err = c->err;
	free(c->state);
	free(c);
	return err;
}
