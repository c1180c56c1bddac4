/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueue (devices/virtio/virtq.c) against the fake driver: pop/push, ring layout
 * checks, available-index and head checks, EVENT_IDX arithmetic and suppression across the
 * 16-bit wrap, and save/load.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <linux/virtio_ring.h>

#include "fake_driver.h"
#include "devices/virtio/virtq.h"
#include "devices/virtio/vstate.h"
#include "mvmm/mvmm.h"
#include "vmm/memory.h"
#include "vmm/util.h"

#define QSIZE 8
#define RING_BASE 0x200000ULL

struct fixture {
	struct guest_mem mem;
	struct fake_vq f;
	struct virtq q;
	struct vchain c;
};

static int setup(void **state)
{
	static struct fixture fx;

	memset(&fx, 0, sizeof(fx));
	if (guest_mem_create(&fx.mem, 32 * MiB))
		return -1;
	fake_vq_init(&fx.f, &fx.mem, QSIZE, RING_BASE, 256 * KiB);
	virtq_init(&fx.q, &fx.mem, 64);
	vchain_init(&fx.c);
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	vchain_fini(&fx->c);
	guest_mem_destroy(&fx->mem);
	return 0;
}

static uint16_t add_one(struct fixture *fx, uint32_t wlen)
{
	struct fake_buf b = { fake_alloc(&fx->f, wlen), wlen, true };
	uint16_t head = fake_add_chain(&fx->f, &b, 1);

	fake_publish(&fx->f, head);
	return head;
}

static void test_virtq_pop_push(void **state)
{
	struct fixture *fx = *state;
	uint32_t id, len;
	uint16_t h1, h2;

	assert_int_equal(fake_vq_attach(&fx->f, &fx->q, false, false), 0);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 0);		/* empty */
	h1 = add_one(fx, 32);
	h2 = add_one(fx, 64);
	assert_int_equal(virtq_pending(&fx->q), 2);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	assert_int_equal(fx->c.head, h1);
	assert_int_equal(fx->c.write_len, 32);
	virtq_push(&fx->q, fx->c.head, 7);
	/* Not visible before the flush. */
	assert_int_equal(fake_used_idx(&fx->f), 0);
	assert_true(virtq_flush(&fx->q));
	assert_true(fake_get_used(&fx->f, &id, &len));
	assert_int_equal(id, h1);
	assert_int_equal(len, 7);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	assert_int_equal(fx->c.head, h2);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 0);
	/* Nothing new pushed: no interrupt. */
	assert_false(virtq_flush(&fx->q));
}

static void test_virtq_layout_checks(void **state)
{
	struct fixture *fx = *state;
	struct virtq *q = &fx->q;

	fake_vq_attach(&fx->f, q, false, false);
	q->size = 6;
	assert_int_equal(virtq_enable(q), -MVMM_EGUEST);		/* not a power of two */
	q->size = 0;
	assert_int_equal(virtq_enable(q), -MVMM_EGUEST);
	q->size = 128;
	assert_int_equal(virtq_enable(q), -MVMM_EGUEST);		/* above max (64) */
	q->size = QSIZE;
	q->desc_gpa = RING_BASE + 8;
	assert_int_equal(virtq_enable(q), -MVMM_EGUEST);		/* desc not 16-aligned */
	assert_non_null(strstr(q->why, "misaligned"));
	q->desc_gpa = RING_BASE;
	q->avail_gpa = fx->f.avail_gpa + 1;
	assert_int_equal(virtq_enable(q), -MVMM_EGUEST);
	q->avail_gpa = fx->f.avail_gpa;
	q->used_gpa = fx->f.used_gpa + 2;
	assert_int_equal(virtq_enable(q), -MVMM_EGUEST);
	q->used_gpa = 32 * MiB - 16;					/* runs off the end of RAM */
	assert_int_equal(virtq_enable(q), -MVMM_EGUEST);
	assert_non_null(strstr(q->why, "inside guest RAM"));
	q->used_gpa = 0xd0000000ULL;					/* MMIO, not RAM */
	assert_int_equal(virtq_enable(q), -MVMM_EGUEST);
	q->used_gpa = fx->f.used_gpa;
	assert_int_equal(virtq_enable(q), 0);
	assert_true(q->ready);
}

static void test_virtq_avail_index_too_far(void **state)
{
	struct fixture *fx = *state;

	fake_vq_attach(&fx->f, &fx->q, false, false);
	add_one(fx, 8);
	fake_set_avail_idx(&fx->f, QSIZE + 1);		/* claims 9 buffers in an 8-entry ring */
	assert_int_equal(virtq_pop(&fx->q, &fx->c), -MVMM_EGUEST);
	assert_true(fx->q.broken);
	assert_non_null(strstr(fx->q.why, "available index"));
	/* Broken stays broken, even when the index is fixed. */
	fake_set_avail_idx(&fx->f, 1);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), -MVMM_EGUEST);
	/* Exactly a full ring is fine. */
	assert_int_equal(virtq_enable(&fx->q), 0);
	fake_set_avail_idx(&fx->f, QSIZE);
	assert_int_equal(virtq_pending(&fx->q), QSIZE);
}

static void test_virtq_head_out_of_range(void **state)
{
	struct fixture *fx = *state;

	fake_vq_attach(&fx->f, &fx->q, false, false);
	fake_set_avail_entry(&fx->f, 0, QSIZE);
	fake_set_avail_idx(&fx->f, 1);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), -MVMM_EGUEST);
	assert_non_null(strstr(fx->q.why, "out of range"));
}

static void test_virtq_bad_chain_breaks_queue(void **state)
{
	struct fixture *fx = *state;

	fake_vq_attach(&fx->f, &fx->q, false, false);
	fake_set_desc(&fx->f, 0, 0, 8, VRING_DESC_F_NEXT, 0);	/* self loop */
	fake_publish(&fx->f, 0);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), -MVMM_EGUEST);
	assert_true(fx->q.broken);
	assert_int_equal(fx->q.last_avail, 0);
}

static void test_virtq_need_event_arithmetic(void **state)
{
	(void)state;
	/*
	 * (event, new, old): the driver wants an interrupt once the entry at `event` is used,
	 * i.e. when event is in [old, new), modulo 2^16.
	 */
	assert_true(virtq_need_event(0, 1, 0));
	assert_false(virtq_need_event(1, 1, 0));
	assert_true(virtq_need_event(4, 5, 0));
	assert_false(virtq_need_event(5, 5, 0));
	assert_false(virtq_need_event(10, 5, 0));
	/* Across the wrap: old = 0xfffe, new = 1 covers 0xfffe, 0xffff and 0. */
	assert_true(virtq_need_event(0xffff, 1, 0xfffe));
	assert_true(virtq_need_event(0, 1, 0xfffe));
	assert_false(virtq_need_event(1, 1, 0xfffe));
	assert_false(virtq_need_event(0xfffd, 1, 0xfffe));
	assert_true(virtq_need_event(0xfffe, 1, 0xfffe));
	assert_true(virtq_need_event(0xffff, 0, 0xfffe));
	assert_false(virtq_need_event(0, 0, 0xfffe));
	/* No progress: never. */
	assert_false(virtq_need_event(7, 7, 7));
}

/* EVENT_IDX suppression through the ring fields, with indices near the 16-bit wrap. */
static void test_virtq_event_idx_wrap(void **state)
{
	struct fixture *fx = *state;
	struct virtq *q = &fx->q;
	uint16_t start = 0xfffe;

	assert_int_equal(fake_vq_attach(&fx->f, q, true, false), 0);
	/* Both sides have already gone round the ring many times. */
	q->last_avail = q->next_used = q->signalled_used = start;
	fx->f.avail_idx = start;
	fx->f.last_used = start;
	fake_set_avail_idx(&fx->f, start);
	for (int i = 0; i < 3; i++)
		add_one(fx, 16);				/* avail idx 0xfffe -> 0x0001 */
	/* The driver wants an interrupt only once entry 0xffff is used (used idx -> 0). */
	fake_set_used_event(&fx->f, 0xffff);
	assert_int_equal(virtq_pop(q, &fx->c), 1);
	virtq_push(q, fx->c.head, 1);				/* used 0xffff */
	assert_false(virtq_flush(q));				/* 0xffff not in [0xfffe, 0xffff) */
	assert_int_equal(virtq_pop(q, &fx->c), 1);
	virtq_push(q, fx->c.head, 1);				/* used 0x0000 */
	assert_true(virtq_flush(q));				/* 0xffff in [0xffff, 0x0000) */
	assert_int_equal(virtq_pop(q, &fx->c), 1);
	virtq_push(q, fx->c.head, 1);				/* used 0x0001 */
	assert_false(virtq_flush(q));				/* event not moved: suppressed */
	assert_int_equal(fake_used_idx(&fx->f), 1);
	/* avail_event tells the driver which index to kick at. */
	assert_false(virtq_enable_notify(q));
	assert_int_equal(fake_avail_event(&fx->f), 1);
	add_one(fx, 16);
	assert_true(virtq_enable_notify(q));			/* arrived meanwhile: go on popping */
}

static void test_virtq_no_interrupt_flag(void **state)
{
	struct fixture *fx = *state;

	fake_vq_attach(&fx->f, &fx->q, false, false);
	fake_set_avail_flags(&fx->f, VRING_AVAIL_F_NO_INTERRUPT);
	add_one(fx, 8);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	virtq_push(&fx->q, fx->c.head, 0);
	assert_false(virtq_flush(&fx->q));
	assert_int_equal(fake_used_idx(&fx->f), 1);		/* published all the same */
	fake_set_avail_flags(&fx->f, 0);
	add_one(fx, 8);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	virtq_push(&fx->q, fx->c.head, 0);
	assert_true(virtq_flush(&fx->q));
}

static void test_virtq_save_load(void **state)
{
	struct fixture *fx = *state;
	struct vstate_buf b, b2;
	struct vstate_rd r;
	struct virtq q2;

	fake_vq_attach(&fx->f, &fx->q, true, true);
	add_one(fx, 8);
	add_one(fx, 8);
	assert_int_equal(virtq_pop(&fx->q, &fx->c), 1);
	virtq_push(&fx->q, fx->c.head, 3);
	virtq_flush(&fx->q);
	vstate_buf_init(&b);
	virtq_save(&fx->q, &b);
	assert_int_equal(b.err, 0);

	virtq_init(&q2, &fx->mem, 64);
	vstate_rd_init(&r, b.data, b.len);
	assert_int_equal(virtq_load(&q2, &r), 0);
	assert_int_equal(r.off, b.len);
	assert_true(q2.ready && q2.event_idx && q2.indirect);
	assert_int_equal(q2.last_avail, 1);
	assert_int_equal(q2.next_used, 1);
	vstate_buf_init(&b2);
	virtq_save(&q2, &b2);
	assert_int_equal(b2.len, b.len);
	assert_memory_equal(b2.data, b.data, b.len);
	/* The restored queue carries on where the first left off. */
	assert_int_equal(virtq_pop(&q2, &fx->c), 1);
	assert_int_equal(fx->c.head, 1);

	/* Truncated state and a size above the queue's maximum are refused. */
	vstate_rd_init(&r, b.data, b.len - 1);
	assert_int_not_equal(virtq_load(&q2, &r), 0);
	virtq_init(&q2, &fx->mem, 4);
	vstate_rd_init(&r, b.data, b.len);
	assert_int_not_equal(virtq_load(&q2, &r), 0);
	vstate_buf_fini(&b);
	vstate_buf_fini(&b2);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_virtq_pop_push, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtq_layout_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtq_avail_index_too_far, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtq_head_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtq_bad_chain_breaks_queue, setup, teardown),
		cmocka_unit_test(test_virtq_need_event_arithmetic),
		cmocka_unit_test_setup_teardown(test_virtq_event_idx_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtq_no_interrupt_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtq_save_load, setup, teardown),
	};

	if (argc > 1 && argv[1][0])
		cmocka_set_test_filter(argv[1]);
	if (argc > 2 && argv[2][0])
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
