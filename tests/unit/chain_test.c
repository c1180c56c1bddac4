/* SPDX-License-Identifier: MIT */
/*
 * Descriptor-chain validation (devices/virtio/chain.c): every rule a guest can break has a
 * failing case here, next to chains that must pass, and the read/write cursors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <linux/virtio_ring.h>

#include "fake_driver.h"
#include "devices/virtio/chain.h"
#include "mvmm/mvmm.h"
#include "vmm/memory.h"
#include "vmm/util.h"

#define QSIZE 16
#define RING_BASE 0x100000ULL

struct fixture {
	struct guest_mem mem;
	struct fake_vq f;
	struct vchain c;
	const char *why;
};

static int setup(void **state)
{
	static struct fixture fx;

	memset(&fx, 0, sizeof(fx));
	if (guest_mem_create(&fx.mem, 64 * MiB))
		return -1;
	fake_vq_init(&fx.f, &fx.mem, QSIZE, RING_BASE, 1 * MiB);
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

static int parse(struct fixture *fx, uint16_t head, bool indirect_ok)
{
	const struct vring_desc *tbl = guest_mem_ptr(&fx->mem, fx->f.desc_gpa, 16 * QSIZE);

	return vchain_parse(&fx->c, &fx->mem, tbl, QSIZE, head, indirect_ok, &fx->why);
}

static void expect_bad(struct fixture *fx, uint16_t head, bool indirect_ok, const char *substr)
{
	int err = parse(fx, head, indirect_ok);

	if (err != -MVMM_EGUEST)
		fail_msg("expected a guest error containing '%s', got %d", substr, err);
	assert_non_null(fx->why);
	if (!strstr(fx->why, substr))
		fail_msg("reason '%s' does not mention '%s'", fx->why, substr);
}

static void test_chain_valid_and_cursors(void **state)
{
	struct fixture *fx = *state;
	uint64_t a = fake_alloc(&fx->f, 8), b = fake_alloc(&fx->f, 8), w = fake_alloc(&fx->f, 16);
	struct fake_buf bufs[] = { { a, 8, false }, { b, 8, false }, { w, 16, true } };
	uint8_t got[16], out[10];
	uint16_t head;

	memcpy(fake_ptr(&fx->f, a, 8), "01234567", 8);
	memcpy(fake_ptr(&fx->f, b, 8), "89abcdef", 8);
	head = fake_add_chain(&fx->f, bufs, 3);
	assert_int_equal(parse(fx, head, false), 0);
	assert_int_equal(fx->c.head, head);
	assert_int_equal(fx->c.nr_iov, 3);
	assert_int_equal(fx->c.nr_read, 2);
	assert_int_equal(fx->c.read_len, 16);
	assert_int_equal(fx->c.write_len, 16);
	/* Reads cross the buffer boundary; short at the end. */
	assert_int_equal(vchain_read(&fx->c, got, 5), 5);
	assert_int_equal(vchain_read(&fx->c, got + 5, 16), 11);
	assert_memory_equal(got, "0123456789abcdef", 16);
	assert_int_equal(vchain_read_left(&fx->c), 0);
	memset(out, 'x', sizeof(out));
	assert_int_equal(vchain_write(&fx->c, out, sizeof(out)), 10);
	assert_int_equal(vchain_write_left(&fx->c), 6);
	assert_memory_equal(fake_ptr(&fx->f, w, 10), "xxxxxxxxxx", 10);
	assert_ptr_equal(vchain_last_writable(&fx->c), (uint8_t *)fake_ptr(&fx->f, w, 16) + 15);
}

static void test_chain_iov_slices(void **state)
{
	struct fixture *fx = *state;
	uint64_t a = fake_alloc(&fx->f, 16), b = fake_alloc(&fx->f, 512), s = fake_alloc(&fx->f, 1);
	struct fake_buf bufs[] = { { a, 16, false }, { b, 512, true }, { s, 1, true } };
	struct iovec iov[4];

	assert_int_equal(parse(fx, fake_add_chain(&fx->f, bufs, 3), false), 0);
	vchain_read_skip(&fx->c, 16);
	assert_int_equal(vchain_iov(&fx->c, true, 512, iov, 4), 1);
	assert_int_equal(iov[0].iov_len, 512);
	assert_int_equal(vchain_iov(&fx->c, true, 513, iov, 4), 2);
	assert_int_equal(vchain_iov(&fx->c, true, 513, iov, 1), -ENOSPC);
	assert_int_equal(vchain_iov(&fx->c, true, 514, iov, 4), -ERANGE);
	/* Zero-length descriptors are allowed and skipped. */
	fake_set_desc(&fx->f, 0, a, 0, VRING_DESC_F_NEXT, 1);
	fake_set_desc(&fx->f, 1, b, 4, 0, 0);
	assert_int_equal(parse(fx, 0, false), 0);
	assert_int_equal(fx->c.nr_iov, 1);
}

static void test_chain_head_out_of_range(void **state)
{
	expect_bad(*state, QSIZE, false, "head");
}

static void test_chain_loop(void **state)
{
	struct fixture *fx = *state;
	uint64_t a = fake_alloc(&fx->f, 8);

	fake_set_desc(&fx->f, 0, a, 8, VRING_DESC_F_NEXT, 1);
	fake_set_desc(&fx->f, 1, a, 8, VRING_DESC_F_NEXT, 0);
	expect_bad(fx, 0, false, "loops");
	/* Self loop. */
	fake_set_desc(&fx->f, 3, a, 8, VRING_DESC_F_NEXT, 3);
	expect_bad(fx, 3, false, "loops");
}

static void test_chain_next_out_of_range(void **state)
{
	struct fixture *fx = *state;

	fake_set_desc(&fx->f, 0, fake_alloc(&fx->f, 8), 8, VRING_DESC_F_NEXT, QSIZE);
	expect_bad(fx, 0, false, "next");
}

static void test_chain_buffer_outside_ram(void **state)
{
	struct fixture *fx = *state;

	fake_set_desc(&fx->f, 0, 64 * MiB, 1, 0, 0);			/* just past RAM */
	expect_bad(fx, 0, false, "outside RAM");
	fake_set_desc(&fx->f, 0, 64 * MiB - 8, 16, 0, 0);		/* straddles the end */
	expect_bad(fx, 0, false, "outside RAM");
	fake_set_desc(&fx->f, 0, UINT64_MAX - 4, 16, 0, 0);		/* wraps */
	expect_bad(fx, 0, false, "outside RAM");
	fake_set_desc(&fx->f, 0, 64 * MiB - 8, 8, 0, 0);		/* last bytes: fine */
	assert_int_equal(parse(fx, 0, false), 0);
}

static void test_chain_readable_after_writable(void **state)
{
	struct fixture *fx = *state;
	uint64_t a = fake_alloc(&fx->f, 8);

	fake_set_desc(&fx->f, 0, a, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	fake_set_desc(&fx->f, 1, a, 8, 0, 0);
	expect_bad(fx, 0, false, "readable descriptor after a writable");
}

static void test_chain_length_overflow(void **state)
{
	struct fixture *fx = *state;
	struct guest_mem big;
	struct vring_desc *tbl;
	const char *why;

	(void)fx;
	/* Sparse memfd: 2 GiB of address space, nothing touched but the table. */
	assert_int_equal(guest_mem_create(&big, 2 * GiB + 2 * MiB), 0);
	tbl = guest_mem_ptr(&big, 2 * GiB, 3 * sizeof(*tbl));
	for (int i = 0; i < 3; i++) {
		tbl[i].addr = 0;
		tbl[i].len = 0x80000000u;	/* 3 x 2 GiB > 4 GiB - 1 */
		tbl[i].flags = i < 2 ? VRING_DESC_F_NEXT : 0;
		tbl[i].next = (uint16_t)(i + 1);
	}
	assert_int_equal(vchain_parse(&fx->c, &big, tbl, 4, 0, false, &why), -MVMM_EGUEST);
	assert_non_null(strstr(why, "overflows"));
	guest_mem_destroy(&big);
}

static void test_chain_indirect_valid(void **state)
{
	struct fixture *fx = *state;
	uint64_t a = fake_alloc(&fx->f, 16), w = fake_alloc(&fx->f, 4);
	struct fake_buf bufs[] = { { a, 16, false }, { w, 4, true } };
	uint16_t head = fake_add_indirect(&fx->f, bufs, 2);

	assert_int_equal(parse(fx, head, true), 0);
	assert_int_equal(fx->c.nr_iov, 2);
	assert_int_equal(fx->c.read_len, 16);
	assert_int_equal(fx->c.write_len, 4);
	/* The same chain without the feature negotiated is a protocol error. */
	expect_bad(fx, head, false, "without VIRTIO_RING_F_INDIRECT_DESC");
}

static uint64_t indirect_table(struct fixture *fx, unsigned int n)
{
	uint64_t tbl = fake_alloc(&fx->f, 16 * n);
	struct vring_desc *d = fake_ptr(&fx->f, tbl, 16ULL * n);
	uint64_t buf = fake_alloc(&fx->f, 8);

	for (unsigned int i = 0; i < n; i++) {
		d[i].addr = buf;
		d[i].len = 8;
		d[i].flags = i + 1 < n ? VRING_DESC_F_NEXT : 0;
		d[i].next = (uint16_t)(i + 1);
	}
	return tbl;
}

static void test_chain_indirect_rules(void **state)
{
	struct fixture *fx = *state;
	uint64_t tbl = indirect_table(fx, 4);
	struct vring_desc *d = fake_ptr(&fx->f, tbl, 64);

	fake_set_desc(&fx->f, 0, tbl, 64, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(parse(fx, 0, true), 0);
	assert_int_equal(fx->c.nr_iov, 4);

	fake_set_desc(&fx->f, 0, tbl, 60, VRING_DESC_F_INDIRECT, 0);
	expect_bad(fx, 0, true, "multiple of 16");
	fake_set_desc(&fx->f, 0, tbl, 0, VRING_DESC_F_INDIRECT, 0);
	expect_bad(fx, 0, true, "multiple of 16");
	fake_set_desc(&fx->f, 0, tbl + 4, 64, VRING_DESC_F_INDIRECT, 0);
	expect_bad(fx, 0, true, "misaligned");
	fake_set_desc(&fx->f, 0, 64 * MiB - 32, 64, VRING_DESC_F_INDIRECT, 0);
	expect_bad(fx, 0, true, "outside RAM");
	fake_set_desc(&fx->f, 0, tbl, 16 * (VCHAIN_MAX_DESC + 1), VRING_DESC_F_INDIRECT, 0);
	expect_bad(fx, 0, true, "too long");
	fake_set_desc(&fx->f, 0, tbl, 64, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	expect_bad(fx, 0, true, "only one");
	/* A direct descriptor followed by an indirect one. */
	fake_set_desc(&fx->f, 0, d[0].addr, 8, VRING_DESC_F_NEXT, 1);
	fake_set_desc(&fx->f, 1, tbl, 64, VRING_DESC_F_INDIRECT, 0);
	expect_bad(fx, 0, true, "only one");

	fake_set_desc(&fx->f, 0, tbl, 64, VRING_DESC_F_INDIRECT, 0);
	d[2].flags = VRING_DESC_F_INDIRECT;			/* nested */
	expect_bad(fx, 0, true, "nested");
	d[2].flags = VRING_DESC_F_NEXT;
	d[2].next = 4;						/* past the table */
	expect_bad(fx, 0, true, "next index out of range");
	d[2].next = 0;						/* loop inside the table */
	expect_bad(fx, 0, true, "loops");
}

static void test_chain_too_many_buffers(void **state)
{
	struct fixture *fx = *state;
	uint64_t tbl = indirect_table(fx, VCHAIN_MAX_DESC);

	fake_set_desc(&fx->f, 0, tbl, 16 * VCHAIN_MAX_DESC, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(parse(fx, 0, true), 0);
	assert_int_equal(fx->c.nr_iov, VCHAIN_MAX_DESC);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain_valid_and_cursors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_iov_slices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_head_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_next_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_buffer_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_readable_after_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_length_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_indirect_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_indirect_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_too_many_buffers, setup, teardown),
	};

	if (argc > 1 && argv[1][0])
		cmocka_set_test_filter(argv[1]);
	if (argc > 2 && argv[2][0])
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
