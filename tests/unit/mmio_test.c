/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio transport (devices/virtio/mmio.c) on a fake VM without KVM, with virtio-rng as
 * the device behind it: identification registers, the status machine (legal and illegal
 * moves), feature negotiation, queue setup checks, notify, ISR/ack and NEEDS_RESET.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "fake_driver.h"
#include "arch/x86/layout.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/vdev.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define BASE X86_VIRTIO_MMIO_BASE
#define RING_BASE 0x100000ULL
#define F_V1 (1ULL << VIRTIO_F_VERSION_1)
#define F_ALL (F_V1 | (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC))
#define S_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRV (S_ACK | VIRTIO_CONFIG_S_DRIVER)
#define S_FOK (S_DRV | VIRTIO_CONFIG_S_FEATURES_OK)
#define S_LIVE (S_FOK | VIRTIO_CONFIG_S_DRIVER_OK)

struct fixture {
	struct vm *vm;
	struct vdev *vdev;
	struct fake_vq f;
	unsigned int irqs;
};

static void count_irq(void *opaque)
{
	(*(unsigned int *)opaque)++;
}

static int setup(void **state)
{
	static struct fixture fx;

	memset(&fx, 0, sizeof(fx));
	fx.vm = fake_vm_create(32 * MiB);
	if (rng_create(fx.vm, 0, &fx.vdev))
		return -1;
	vmmio_set_irq_hook(fx.vdev->mmio, count_irq, &fx.irqs);
	fake_vq_init(&fx.f, &fx.vm->mem, 16, RING_BASE, 64 * KiB);
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	vdev_destroy(fx->vdev);
	fake_vm_destroy(fx->vm);
	return 0;
}

static uint32_t rd(struct fixture *fx, uint32_t reg)
{
	return fake_mmio_read(fx->vm, BASE + reg);
}

static void wr(struct fixture *fx, uint32_t reg, uint32_t v)
{
	fake_mmio_write(fx->vm, BASE + reg, v);
}

static void test_mmio_identification(void **state)
{
	struct fixture *fx = *state;
	uint64_t features;

	assert_int_equal(rd(fx, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);	/* "virt" */
	assert_int_equal(rd(fx, VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(fx, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	assert_int_not_equal(rd(fx, VIRTIO_MMIO_VENDOR_ID), 0);
	wr(fx, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	features = (uint64_t)rd(fx, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	wr(fx, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	features |= rd(fx, VIRTIO_MMIO_DEVICE_FEATURES);
	assert_int_equal(features & F_ALL, F_ALL);
	wr(fx, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(fx, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	/* Queue 0 exists, queue 1 does not; no shared memory regions. */
	assert_int_equal(rd(fx, VIRTIO_MMIO_QUEUE_NUM_MAX), RNG_QUEUE_SIZE);
	wr(fx, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd(fx, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_int_equal(rd(fx, VIRTIO_MMIO_SHM_LEN_LOW), UINT32_MAX);
	assert_int_equal(rd(fx, VIRTIO_MMIO_STATUS), 0);
	/* The device announced itself for the kernel command line. */
	assert_non_null(strstr(fx->vm->cmdline_extra, "virtio_mmio.device=4K@0xd0000000:5"));
	assert_int_equal(fake_vm_guest_errors(fx->vm), 0);
}

static void test_mmio_probe_and_notify(void **state)
{
	struct fixture *fx = *state;
	struct fake_buf b = { fake_alloc(&fx->f, 32), 32, true };
	uint32_t id, len;
	uint8_t zero[32] = { 0 };

	assert_int_equal(fake_mmio_probe(fx->vm, BASE, F_ALL, &fx->f), S_LIVE);
	assert_true(fx->vdev->live);
	assert_int_equal(rd(fx, VIRTIO_MMIO_QUEUE_READY), 1);
	fake_publish(&fx->f, fake_add_chain(&fx->f, &b, 1));
	wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(fake_get_used(&fx->f, &id, &len));
	assert_int_equal(len, 32);
	assert_memory_not_equal(fake_ptr(&fx->f, b.gpa, 32), zero, 32);
	/* Interrupt with the VRING bit in INTERRUPT_STATUS until acknowledged. */
	assert_int_equal(fx->irqs, 1);
	assert_int_equal(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	wr(fx, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(fx->vdev->metrics.requests, 1);
	assert_int_equal(fx->vdev->metrics.notifications, 1);
	assert_int_equal(fake_vm_guest_errors(fx->vm), 0);
	/* Reset forgets the queue and the status. */
	wr(fx, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd(fx, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd(fx, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_false(fx->vdev->live);
}

static void expect_needs_reset(struct fixture *fx)
{
	assert_true(rd(fx, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_true(fake_vm_guest_errors(fx->vm) > 0);
	/* Writing 0 always recovers. */
	wr(fx, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd(fx, VIRTIO_MMIO_STATUS), 0);
}

static void test_mmio_status_illegal_transitions(void **state)
{
	struct fixture *fx = *state;

	/* Skipping ACKNOWLEDGE. */
	wr(fx, VIRTIO_MMIO_STATUS, S_DRV);
	expect_needs_reset(fx);
	/* FEATURES_OK straight after ACKNOWLEDGE. */
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK | VIRTIO_CONFIG_S_FEATURES_OK);
	expect_needs_reset(fx);
	/* DRIVER_OK without FEATURES_OK. */
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK);
	wr(fx, VIRTIO_MMIO_STATUS, S_DRV);
	wr(fx, VIRTIO_MMIO_STATUS, S_DRV | VIRTIO_CONFIG_S_DRIVER_OK);
	expect_needs_reset(fx);
	/* Going backwards from DRIVER_OK. */
	assert_int_equal(fake_mmio_probe(fx->vm, BASE, F_ALL, &fx->f), S_LIVE);
	wr(fx, VIRTIO_MMIO_STATUS, S_DRV);
	expect_needs_reset(fx);
	/* Rewriting the same status is harmless; NEEDS_RESET echoed back is ignored. */
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK);
	assert_int_equal(rd(fx, VIRTIO_MMIO_STATUS), S_ACK);
}

static void test_mmio_failed_stops_device(void **state)
{
	struct fixture *fx = *state;
	struct fake_buf b = { fake_alloc(&fx->f, 8), 8, true };

	assert_int_equal(fake_mmio_probe(fx->vm, BASE, F_ALL, &fx->f), S_LIVE);
	wr(fx, VIRTIO_MMIO_STATUS, S_LIVE | VIRTIO_CONFIG_S_FAILED);
	assert_true(rd(fx, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FAILED);
	fake_publish(&fx->f, fake_add_chain(&fx->f, &b, 1));
	wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fake_used_idx(&fx->f), 0);	/* not processed */
	/* Only a reset gets out of FAILED. */
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK);
	assert_true(rd(fx, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	wr(fx, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd(fx, VIRTIO_MMIO_STATUS), 0);
}

static void test_mmio_features_negotiation(void **state)
{
	struct fixture *fx = *state;

	/* A legacy driver (no VERSION_1): FEATURES_OK is refused, not NEEDS_RESET. */
	assert_int_equal(fake_mmio_probe(fx->vm, BASE, F_ALL & ~F_V1, NULL) &
			 VIRTIO_CONFIG_S_FEATURES_OK, 0);
	assert_int_equal(rd(fx, VIRTIO_MMIO_STATUS), S_DRV);
	assert_int_equal(fx->vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	/* Bits the device never offered. */
	wr(fx, VIRTIO_MMIO_STATUS, 0);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK);
	wr(fx, VIRTIO_MMIO_STATUS, S_DRV);
	wr(fx, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(fx, VIRTIO_MMIO_DRIVER_FEATURES, 1 | (1u << (VIRTIO_F_RING_PACKED - 32)));
	wr(fx, VIRTIO_MMIO_STATUS, S_FOK);
	assert_int_equal(rd(fx, VIRTIO_MMIO_STATUS), S_DRV);
	/* Only the offered subset: accepted, and EVENT_IDX reaches the queue. */
	assert_int_equal(fake_mmio_probe(fx->vm, BASE, F_ALL, &fx->f), S_LIVE);
	assert_true(fx->vdev->queues[0].event_idx);
	assert_true(fx->vdev->queues[0].indirect);
	assert_int_equal(fake_mmio_probe(fx->vm, BASE, F_V1, &fx->f), S_LIVE);
	assert_false(fx->vdev->queues[0].event_idx);
	/* Features written after FEATURES_OK: protocol violation. */
	wr(fx, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	expect_needs_reset(fx);
}

static void queue_regs(struct fixture *fx, uint32_t num, uint64_t desc, uint64_t avail,
		       uint64_t used)
{
	wr(fx, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(fx, VIRTIO_MMIO_QUEUE_NUM, num);
	wr(fx, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(fx, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(fx, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	wr(fx, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
	wr(fx, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	wr(fx, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
	wr(fx, VIRTIO_MMIO_QUEUE_READY, 1);
}

static void to_features_ok(struct fixture *fx)
{
	wr(fx, VIRTIO_MMIO_STATUS, 0);
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK);
	wr(fx, VIRTIO_MMIO_STATUS, S_DRV);
	wr(fx, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(fx, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(fx, VIRTIO_MMIO_STATUS, S_FOK);
	assert_int_equal(rd(fx, VIRTIO_MMIO_STATUS), S_FOK);
}

static void test_mmio_queue_setup_validation(void **state)
{
	struct fixture *fx = *state;
	struct fake_vq *f = &fx->f;
	static const struct {
		uint32_t num;
		uint64_t desc, avail, used;
	} bad[] = {
		{ 12, RING_BASE, RING_BASE + 0x1000, RING_BASE + 0x2000 },	/* not a power of 2 */
		{ 128, RING_BASE, RING_BASE + 0x1000, RING_BASE + 0x2000 },	/* above the max */
		{ 0, RING_BASE, RING_BASE + 0x1000, RING_BASE + 0x2000 },
		{ 16, RING_BASE + 8, RING_BASE + 0x1000, RING_BASE + 0x2000 },	/* misaligned */
		{ 16, RING_BASE, RING_BASE + 0x1001, RING_BASE + 0x2000 },
		{ 16, RING_BASE, RING_BASE + 0x1000, RING_BASE + 0x2002 },
		{ 16, 32 * MiB - 64, RING_BASE + 0x1000, RING_BASE + 0x2000 },	/* past RAM */
		{ 16, RING_BASE, 1ULL << 40, RING_BASE + 0x2000 },
		{ 16, RING_BASE, RING_BASE + 0x1000, BASE },			/* MMIO, not RAM */
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		to_features_ok(fx);
		queue_regs(fx, bad[i].num, bad[i].desc, bad[i].avail, bad[i].used);
		assert_int_equal(rd(fx, VIRTIO_MMIO_QUEUE_READY), 0);
		expect_needs_reset(fx);
	}
	/* Valid layout. */
	to_features_ok(fx);
	queue_regs(fx, f->size, f->desc_gpa, f->avail_gpa, f->used_gpa);
	assert_int_equal(rd(fx, VIRTIO_MMIO_QUEUE_READY), 1);
	/* Changing a ready queue. */
	wr(fx, VIRTIO_MMIO_QUEUE_NUM, 8);
	expect_needs_reset(fx);
	/* Queue registers before FEATURES_OK. */
	wr(fx, VIRTIO_MMIO_STATUS, S_ACK);
	wr(fx, VIRTIO_MMIO_QUEUE_NUM, 8);
	expect_needs_reset(fx);
	/* A queue the device does not have. */
	to_features_ok(fx);
	wr(fx, VIRTIO_MMIO_QUEUE_SEL, 3);
	wr(fx, VIRTIO_MMIO_QUEUE_NUM, 8);
	expect_needs_reset(fx);
	/* QUEUE_READY = 0 is always allowed (Linux writes it on removal). */
	wr(fx, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd(fx, VIRTIO_MMIO_STATUS), 0);
}

static void test_mmio_broken_queue_needs_reset(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(fake_mmio_probe(fx->vm, BASE, F_ALL, &fx->f), S_LIVE);
	fake_set_desc(&fx->f, 0, 0x1000, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 0); /* loop */
	fake_publish(&fx->f, 0);
	wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(rd(fx, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* The driver hears about it through a config-change interrupt. */
	assert_int_equal(fx->irqs, 1);
	assert_true(rd(fx, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(fake_used_idx(&fx->f), 0);
	/* The device stays stopped: a valid buffer now is not processed. */
	fake_set_desc(&fx->f, 0, 0x1000, 8, VRING_DESC_F_WRITE, 0);
	fake_publish(&fx->f, 0);
	wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fake_used_idx(&fx->f), 0);
	/* Notify of a missing queue is a violation too. */
	expect_needs_reset(fx);
	assert_int_equal(fake_mmio_probe(fx->vm, BASE, F_ALL, &fx->f), S_LIVE);
	wr(fx, VIRTIO_MMIO_QUEUE_NOTIFY, 5);
	expect_needs_reset(fx);
}

static void test_mmio_bad_accesses(void **state)
{
	struct fixture *fx = *state;
	uint8_t b[2] = { 1, 1 };

	/* Narrow or unaligned register accesses are logged and ignored. */
	bus_access(&fx->vm->mmio, BASE + VIRTIO_MMIO_STATUS, b, 2, true);
	assert_int_equal(rd(fx, VIRTIO_MMIO_STATUS), 0);
	bus_access(&fx->vm->mmio, BASE + VIRTIO_MMIO_MAGIC_VALUE, b, 2, false);
	assert_int_equal(b[0] | b[1], 0);
	bus_access(&fx->vm->mmio, BASE + VIRTIO_MMIO_STATUS + 1, b, 1, true);
	assert_int_equal(rd(fx, VIRTIO_MMIO_STATUS), 0);
	/* Read-only register writes are logged, legacy registers need a reset. */
	wr(fx, VIRTIO_MMIO_MAGIC_VALUE, 0);
	assert_int_equal(rd(fx, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	wr(fx, VIRTIO_MMIO_QUEUE_PFN, 1);
	expect_needs_reset(fx);
	/* Config generation reads; rng has no config space (zeros). */
	assert_int_equal(rd(fx, VIRTIO_MMIO_CONFIG_GENERATION), 0);
	assert_int_equal(rd(fx, VIRTIO_MMIO_CONFIG), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mmio_identification, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_probe_and_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_status_illegal_transitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_failed_stops_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_features_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_queue_setup_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_broken_queue_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_bad_accesses, setup, teardown),
	};

	if (argc > 1 && argv[1][0])
		cmocka_set_test_filter(argv[1]);
	if (argc > 2 && argv[2][0])
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
