/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (devices/virtio/blk.c) on a fake VM over a temporary image file, driven through
 * the MMIO registers and the fake driver's ring: every request type, bad lengths and ranges,
 * read-only disks, the asynchronous completion path through the event loop, and a quiesced
 * device's state round trip.  Also virtio-rng filling buffers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "fake_driver.h"
#include "arch/x86/layout.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/vdev.h"
#include "devices/virtio/vstate.h"
#include "mvmm/mvmm.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define BASE X86_VIRTIO_MMIO_BASE
#define RING_BASE 0x100000ULL
#define DISK_SECTORS 2048			/* 1 MiB */
#define F_DRIVER ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |             \
		  (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_BLK_F_FLUSH) |          \
		  (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES) |          \
		  (1ULL << VIRTIO_BLK_F_RO) | (1ULL << VIRTIO_BLK_F_SEG_MAX))

struct fixture {
	struct vm *vm;
	struct vdev *vdev;
	struct fake_vq f;
	char path[64];
	int fd;				/* the image, for checking what was written */
	unsigned int irqs;
};

static void count_irq(void *opaque)
{
	(*(unsigned int *)opaque)++;
}

static int make_disk(struct fixture *fx, bool ro, const char *id)
{
	struct mvmm_disk_config cfg = { .size = sizeof(cfg), .path = fx->path, .read_only = ro,
					.id = id };

	if (blk_create(fx->vm, &cfg, 0, 0, &fx->vdev))
		return -1;
	vmmio_set_irq_hook(fx->vdev->mmio, count_irq, &fx->irqs);
	fake_vq_init(&fx->f, &fx->vm->mem, 16, RING_BASE, 2 * MiB);
	return 0;
}

static int setup_common(void **state, bool ro)
{
	static struct fixture fx;
	uint8_t sector[512];

	memset(&fx, 0, sizeof(fx));
	strcpy(fx.path, "/tmp/mvmm-blk-test-XXXXXX");
	fx.fd = mkstemp(fx.path);
	if (fx.fd < 0)
		return -1;
	/* Sector n is filled with byte n & 0xff: reads can tell sectors apart. */
	for (unsigned int i = 0; i < DISK_SECTORS; i++) {
		memset(sector, (int)(i & 0xff), sizeof(sector));
		if (pwrite(fx.fd, sector, sizeof(sector), (off_t)i * 512) != 512)
			return -1;
	}
	fx.vm = fake_vm_create(32 * MiB);
	if (make_disk(&fx, ro, ro ? NULL : "serial-123"))
		return -1;
	*state = &fx;
	return 0;
}

static int setup(void **state)
{
	return setup_common(state, false);
}

static int setup_ro(void **state)
{
	return setup_common(state, true);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	vdev_destroy(fx->vdev);
	fake_vm_destroy(fx->vm);
	close(fx->fd);
	unlink(fx->path);
	return 0;
}

/* Wait for every in-flight request: a quiesce completes them, the unquiesce wakes the device. */
static void drain(struct fixture *fx)
{
	assert_int_equal(vdev_quiesce(fx->vdev), 0);
	vdev_unquiesce(fx->vdev);
}

struct req {
	uint64_t hdr, data, status;
	uint16_t head;
};

/* header (readable), data (readable for OUT-like, writable for IN-like), status (writable). */
static struct req submit(struct fixture *fx, uint32_t type, uint64_t sector, uint32_t data_len,
			 bool data_writable, bool indirect)
{
	struct req r = { 0 };
	struct virtio_blk_outhdr *h;
	struct fake_buf bufs[3];
	unsigned int n = 0;

	r.hdr = fake_alloc(&fx->f, sizeof(*h));
	h = fake_ptr(&fx->f, r.hdr, sizeof(*h));
	h->type = htole32(type);
	h->sector = htole64(sector);
	bufs[n++] = (struct fake_buf){ r.hdr, sizeof(*h), false };
	if (data_len) {
		r.data = fake_alloc(&fx->f, data_len);
		bufs[n++] = (struct fake_buf){ r.data, data_len, data_writable };
	}
	r.status = fake_alloc(&fx->f, 1);
	*(uint8_t *)fake_ptr(&fx->f, r.status, 1) = 0xee;
	bufs[n++] = (struct fake_buf){ r.status, 1, true };
	r.head = indirect ? fake_add_indirect(&fx->f, bufs, n) : fake_add_chain(&fx->f, bufs, n);
	fake_publish(&fx->f, r.head);
	return r;
}

static uint8_t complete(struct fixture *fx, struct req *r, uint32_t *used_len)
{
	uint32_t id, len;

	fake_mmio_write(fx->vm, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	drain(fx);
	assert_true(fake_get_used(&fx->f, &id, &len));
	assert_int_equal(id, r->head);
	if (used_len)
		*used_len = len;
	return *(uint8_t *)fake_ptr(&fx->f, r->status, 1);
}

static void probe(struct fixture *fx)
{
	uint32_t st = fake_mmio_probe(fx->vm, BASE, F_DRIVER, &fx->f);

	assert_true(st & VIRTIO_CONFIG_S_DRIVER_OK);
	assert_false(st & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_blk_config(void **state)
{
	struct fixture *fx = *state;
	uint64_t cap;
	uint32_t blk_size, seg_max;

	probe(fx);
	fake_mmio_config_read(fx->vm, BASE, offsetof(struct virtio_blk_config, capacity), &cap, 8);
	assert_int_equal(le64toh(cap), DISK_SECTORS);
	fake_mmio_config_read(fx->vm, BASE, offsetof(struct virtio_blk_config, blk_size),
			      &blk_size, 4);
	assert_int_equal(le32toh(blk_size), 512);
	fake_mmio_config_read(fx->vm, BASE, offsetof(struct virtio_blk_config, seg_max), &seg_max, 4);
	assert_true(le32toh(seg_max) >= 1);
	/* Writable disk: no RO feature; discard and write-zeroes offered. */
	assert_false(fx->vdev->host_features & (1ULL << VIRTIO_BLK_F_RO));
	assert_true(fx->vdev->host_features & (1ULL << VIRTIO_BLK_F_DISCARD));
}

static void test_blk_read(void **state)
{
	struct fixture *fx = *state;
	struct req r;
	uint32_t len;
	uint8_t *p;

	probe(fx);
	r = submit(fx, VIRTIO_BLK_T_IN, 3, 1024, true, false);
	assert_int_equal(complete(fx, &r, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 1024 + 1);
	p = fake_ptr(&fx->f, r.data, 1024);
	assert_int_equal(p[0], 3);
	assert_int_equal(p[511], 3);
	assert_int_equal(p[512], 4);
	/* The same through an indirect table; the last sector of the disk. */
	r = submit(fx, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 512, true, true);
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(*(uint8_t *)fake_ptr(&fx->f, r.data, 1), (DISK_SECTORS - 1) & 0xff);
	assert_int_equal(fx->vdev->metrics.bytes_written, 1536);
	assert_true(fx->irqs >= 1);
}

static void test_blk_write_flush(void **state)
{
	struct fixture *fx = *state;
	uint8_t back[512];
	struct req r;
	uint32_t len;

	probe(fx);
	r = submit(fx, VIRTIO_BLK_T_OUT, 10, 512, false, false);
	memset(fake_ptr(&fx->f, r.data, 512), 0xab, 512);
	assert_int_equal(complete(fx, &r, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 1);
	assert_int_equal(pread(fx->fd, back, 512, 10 * 512), 512);
	assert_int_equal(back[0], 0xab);
	assert_int_equal(back[511], 0xab);
	r = submit(fx, VIRTIO_BLK_T_FLUSH, 0, 0, false, false);
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(fx->vdev->metrics.bytes_read, 512);
	assert_int_equal(fx->vdev->metrics.errors, 0);
}

static void test_blk_get_id(void **state)
{
	struct fixture *fx = *state;
	struct req r;
	uint32_t len;

	probe(fx);
	r = submit(fx, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true, false);
	assert_int_equal(complete(fx, &r, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, VIRTIO_BLK_ID_BYTES + 1);
	assert_memory_equal(fake_ptr(&fx->f, r.data, 11), "serial-123", 11);
}

static void test_blk_bad_requests(void **state)
{
	struct fixture *fx = *state;
	struct req r;

	probe(fx);
	r = submit(fx, 99, 0, 512, true, false);				/* unknown type */
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_UNSUPP);
	r = submit(fx, VIRTIO_BLK_T_IN, 0, 100, true, false);			/* not sectors */
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_IOERR);
	r = submit(fx, VIRTIO_BLK_T_OUT, 0, 513, false, false);
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_IOERR);
	r = submit(fx, VIRTIO_BLK_T_IN, DISK_SECTORS, 512, true, false);	/* past the end */
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_IOERR);
	r = submit(fx, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 1024, true, false);	/* straddles it */
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_IOERR);
	r = submit(fx, VIRTIO_BLK_T_OUT, UINT64_MAX, 512, false, false);	/* wraps */
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(fx->vdev->metrics.errors, 6);
	/* Still working afterwards: none of these is a ring violation. */
	assert_false(fx->vdev->broken);
	r = submit(fx, VIRTIO_BLK_T_IN, 0, 512, true, false);
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_OK);
}

static void test_blk_no_status_byte(void **state)
{
	struct fixture *fx = *state;
	struct fake_buf b = { fake_alloc(&fx->f, 16), 16, false };
	uint32_t id, len;
	uint16_t head = fake_add_chain(&fx->f, &b, 1);

	probe(fx);
	fake_publish(&fx->f, head);
	fake_mmio_write(fx->vm, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	drain(fx);
	assert_true(fake_get_used(&fx->f, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	assert_true(fake_vm_guest_errors(fx->vm) > 0);
}

static void test_blk_discard_write_zeroes(void **state)
{
	struct fixture *fx = *state;
	struct virtio_blk_discard_write_zeroes *seg;
	uint8_t back[1024], zero[1024] = { 0 };
	struct req r;

	probe(fx);
	r = submit(fx, VIRTIO_BLK_T_WRITE_ZEROES, 0, sizeof(*seg), false, false);
	seg = fake_ptr(&fx->f, r.data, sizeof(*seg));
	seg->sector = htole64(20);
	seg->num_sectors = htole32(2);
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(pread(fx->fd, back, 1024, 20 * 512), 1024);
	assert_memory_equal(back, zero, 1024);
	assert_int_equal(pread(fx->fd, back, 1, 22 * 512), 1);
	assert_int_equal(back[0], 22);				/* the next sector is untouched */

	r = submit(fx, VIRTIO_BLK_T_DISCARD, 0, sizeof(*seg), false, false);
	seg = fake_ptr(&fx->f, r.data, sizeof(*seg));
	seg->sector = htole64(0);
	seg->num_sectors = htole32(8);
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_OK);

	/* Discard with the unmap flag, unknown flags: unsupported; out of range: error. */
	r = submit(fx, VIRTIO_BLK_T_DISCARD, 0, sizeof(*seg), false, false);
	seg = fake_ptr(&fx->f, r.data, sizeof(*seg));
	seg->num_sectors = htole32(1);
	seg->flags = htole32(VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_UNSUPP);
	r = submit(fx, VIRTIO_BLK_T_WRITE_ZEROES, 0, sizeof(*seg), false, false);
	seg = fake_ptr(&fx->f, r.data, sizeof(*seg));
	seg->sector = htole64(DISK_SECTORS - 1);
	seg->num_sectors = htole32(2);
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_IOERR);
	/* Two segments where one is advertised. */
	r = submit(fx, VIRTIO_BLK_T_WRITE_ZEROES, 0, 2 * sizeof(*seg), false, false);
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_IOERR);
}

static void test_blk_read_only(void **state)
{
	struct fixture *fx = *state;
	struct virtio_blk_discard_write_zeroes *seg;
	uint8_t back[512];
	struct req r;

	assert_true(fx->vdev->host_features & (1ULL << VIRTIO_BLK_F_RO));
	probe(fx);
	r = submit(fx, VIRTIO_BLK_T_OUT, 5, 512, false, false);
	memset(fake_ptr(&fx->f, r.data, 512), 0x77, 512);
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(pread(fx->fd, back, 512, 5 * 512), 512);
	assert_int_equal(back[0], 5);				/* nothing written */
	r = submit(fx, VIRTIO_BLK_T_WRITE_ZEROES, 0, sizeof(*seg), false, false);
	seg = fake_ptr(&fx->f, r.data, sizeof(*seg));
	seg->sector = htole64(5);
	seg->num_sectors = htole32(1);
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(pread(fx->fd, back, 512, 5 * 512), 512);
	assert_int_equal(back[0], 5);
	/* Reads and flushes still work. */
	r = submit(fx, VIRTIO_BLK_T_IN, 5, 512, true, false);
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_OK);
	r = submit(fx, VIRTIO_BLK_T_FLUSH, 0, 0, false, false);
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_OK);
	/* The default serial is the device id. */
	r = submit(fx, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true, false);
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(fake_ptr(&fx->f, r.data, 5), "blk0", 5);
}

static void on_wake_quit(void *opaque, uint32_t events)
{
	(void)events;
	loop_quit(opaque);
}

/* Completions arrive on the loop thread through the io_uring eventfd, without any drain. */
static void test_blk_async_completion_on_loop(void **state)
{
	struct fixture *fx = *state;
	struct timespec ts = { 0, 1000000 };
	struct req r[4];
	uint32_t id, len;

	probe(fx);
	fx->vm->loop.on_wake = on_wake_quit;
	fx->vm->loop.on_wake_opaque = &fx->vm->loop;
	assert_int_equal(loop_start(&fx->vm->loop), 0);
	for (int i = 0; i < 4; i++)
		r[i] = submit(fx, VIRTIO_BLK_T_IN, (uint64_t)i, 512, true, false);
	fake_mmio_write(fx->vm, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (int i = 0; i < 5000; i++) {
		pthread_mutex_lock(&fx->vdev->lock);
		len = fake_used_idx(&fx->f);
		pthread_mutex_unlock(&fx->vdev->lock);
		if (len == 4)
			break;
		nanosleep(&ts, NULL);
	}
	loop_wake(&fx->vm->loop);
	loop_join(&fx->vm->loop);
	for (int i = 0; i < 4; i++)
		assert_true(fake_get_used(&fx->f, &id, &len));
	for (int i = 0; i < 4; i++) {
		assert_int_equal(*(uint8_t *)fake_ptr(&fx->f, r[i].status, 1), VIRTIO_BLK_S_OK);
		assert_int_equal(*(uint8_t *)fake_ptr(&fx->f, r[i].data, 1), i);
	}
}

/* A quiesced device's state survives save -> load into a new device, byte for byte. */
static void test_blk_state_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct vstate_buf a, b;
	struct vstate_rd rd;
	struct vdev *second;
	struct req r;
	uint32_t id, len;

	probe(fx);
	for (int i = 0; i < 3; i++) {
		r = submit(fx, VIRTIO_BLK_T_IN, (uint64_t)i, 512, true, false);
		assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_OK);
	}
	/* A running device cannot be saved. */
	vstate_buf_init(&b);
	assert_int_equal(vdev_save(fx->vdev, &b), -MVMM_ESTATE);
	vstate_buf_fini(&b);
	/* One request queued but not kicked: it must be picked up after the restore. */
	r = submit(fx, VIRTIO_BLK_T_IN, 7, 512, true, false);
	assert_int_equal(vdev_quiesce(fx->vdev), 0);
	vstate_buf_init(&a);
	assert_int_equal(vdev_save(fx->vdev, &a), 0);
	assert_true(a.len > 0);
	/* The "new VM": the first device goes away, a fresh one takes its slot. */
	vdev_destroy(fx->vdev);
	fx->vdev = NULL;
	free(fx->vm->cmdline_extra);
	fx->vm->cmdline_extra = NULL;
	bus_fini(&fx->vm->mmio);
	bus_init(&fx->vm->mmio);
	{
		struct mvmm_disk_config cfg = { .size = sizeof(cfg), .path = fx->path,
						.id = "serial-123" };

		assert_int_equal(blk_create(fx->vm, &cfg, 0, 0, &second), 0);
	}
	fx->vdev = second;
	vmmio_set_irq_hook(second->mmio, count_irq, &fx->irqs);
	assert_int_equal(vdev_quiesce(second), 0);
	vstate_rd_init(&rd, a.data, a.len);
	assert_int_equal(vdev_load(second, &rd), 0);
	assert_int_equal(rd.off, a.len);
	vstate_buf_init(&b);
	assert_int_equal(vdev_save(second, &b), 0);
	assert_int_equal(b.len, a.len);
	assert_memory_equal(b.data, a.data, a.len);
	assert_true(second->live);
	assert_int_equal(fake_mmio_read(fx->vm, BASE + VIRTIO_MMIO_STATUS),
			 fx->vdev->status);
	/* Waking up processes the pending request on the restored rings. */
	vdev_unquiesce(second);
	drain(fx);
	assert_true(fake_get_used(&fx->f, &id, &len));
	assert_int_equal(id, r.head);
	assert_int_equal(*(uint8_t *)fake_ptr(&fx->f, r.status, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(*(uint8_t *)fake_ptr(&fx->f, r.data, 1), 7);

	/* Corrupt or truncated state is refused and leaves a reset device. */
	assert_int_equal(vdev_quiesce(second), 0);
	fake_mmio_write(fx->vm, BASE + VIRTIO_MMIO_STATUS, 0);
	vstate_rd_init(&rd, a.data, a.len / 2);
	assert_int_not_equal(vdev_load(second, &rd), 0);
	assert_false(second->live);
	a.data[1] ^= 0xff;	/* device id */
	vstate_rd_init(&rd, a.data, a.len);
	assert_int_not_equal(vdev_load(second, &rd), 0);
	vstate_buf_fini(&a);
	vstate_buf_fini(&b);
}

static void test_blk_reset_and_guest_error(void **state)
{
	struct fixture *fx = *state;
	struct req r;

	probe(fx);
	/* A looping chain: NEEDS_RESET, the VMM carries on. */
	fake_set_desc(&fx->f, 0, RING_BASE, 8, VRING_DESC_F_NEXT, 0);
	fake_publish(&fx->f, 0);
	fake_mmio_write(fx->vm, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(fake_mmio_read(fx->vm, BASE + VIRTIO_MMIO_STATUS) &
		    VIRTIO_CONFIG_S_NEEDS_RESET);
	/* After a reset and a new probe the disk works again. */
	fake_vq_init(&fx->f, &fx->vm->mem, 16, RING_BASE, 2 * MiB);
	probe(fx);
	r = submit(fx, VIRTIO_BLK_T_IN, 1, 512, true, false);
	assert_int_equal(complete(fx, &r, NULL), VIRTIO_BLK_S_OK);
}

/* virtio-rng: buffers filled from getrandom, used length = bytes given. */
static void test_rng_fills_buffers(void **state)
{
	struct vm *vm = fake_vm_create(32 * MiB);
	struct fake_vq f;
	struct vdev *rng;
	uint32_t id, len;
	uint8_t zero[64] = { 0 };
	uint64_t a, b;

	(void)state;
	assert_int_equal(rng_create(vm, 0, &rng), 0);
	fake_vq_init(&f, &vm->mem, 16, RING_BASE, 64 * KiB);
	assert_true(fake_mmio_probe(vm, BASE, F_DRIVER, &f) & VIRTIO_CONFIG_S_DRIVER_OK);
	a = fake_alloc(&f, 64);
	b = fake_alloc(&f, 64);
	fake_publish(&f, fake_add_chain(&f, &(struct fake_buf){ a, 64, true }, 1));
	fake_publish(&f, fake_add_chain(&f, (struct fake_buf[]){ { b, 32, true },
								 { b + 32, 32, true } }, 2));
	fake_mmio_write(vm, BASE + VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (int i = 0; i < 2; i++) {
		assert_true(fake_get_used(&f, &id, &len));
		assert_int_equal(len, 64);
	}
	assert_memory_not_equal(fake_ptr(&f, a, 64), zero, 64);
	assert_memory_not_equal(fake_ptr(&f, b + 32, 32), zero, 32);
	assert_memory_not_equal(fake_ptr(&f, a, 64), fake_ptr(&f, b, 64), 64);
	assert_int_equal(rng->metrics.bytes_written, 128);
	vdev_destroy(rng);
	fake_vm_destroy(vm);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_blk_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_write_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_get_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_no_status_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_discard_write_zeroes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_read_only, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(test_blk_async_completion_on_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_state_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_reset_and_guest_error, setup, teardown),
		cmocka_unit_test(test_rng_fills_buffers),
	};

	if (argc > 1 && argv[1][0])
		cmocka_set_test_filter(argv[1]);
	if (argc > 2 && argv[2][0])
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
