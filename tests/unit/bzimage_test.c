/* SPDX-License-Identifier: MIT */
/*
 * bzImage loader (x86_load_bzimage / x86_load_kernel) against synthesized images that follow
 * the Linux boot protocol (Documentation/arch/x86/boot.rst): a real-mode part of
 * (setup_sects + 1) * 512 bytes carrying the setup header at 0x1f1, then the protected-mode
 * kernel, which mvmm loads at 1 MiB and enters at its 64-bit entry (load address + 0x200).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"
#include "mvmm/mvmm.h"
#include "vmm/memory.h"
#include "tests/unit/unit_mem.h"
#include "vmm/util.h"

#define RAM_SIZE	(16 * MiB)
#define SETUP_HDR_OFF	0x1f1
#define SETUP_SECTS	4
#define PAYLOAD_LEN	4096
#define INIT_SIZE	0x10000U
#define INITRD_MAX	0x7fffffffU
#define CMDLINE_SIZE	2047U

struct bz {
	uint8_t *buf;
	size_t len;
	size_t kernel_off;		/* start of the protected-mode part */
	size_t payload;			/* its length */
};

static struct setup_header default_hdr(void)
{
	struct setup_header h;

	memset(&h, 0, sizeof(h));
	h.setup_sects = SETUP_SECTS;
	h.syssize = PAYLOAD_LEN / 16;
	h.boot_flag = 0xaa55;
	h.jump = 0x66eb;
	h.header = 0x53726448;		/* "HdrS" */
	h.version = 0x020f;
	h.loadflags = LOADED_HIGH;
	h.code32_start = 0x100000;
	h.initrd_addr_max = INITRD_MAX;
	h.kernel_alignment = 0x200000;
	h.relocatable_kernel = 1;
	h.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h.cmdline_size = CMDLINE_SIZE;
	h.init_size = INIT_SIZE;
	return h;
}

static uint8_t payload_byte(size_t i)
{
	return (uint8_t)(0x80 | (i * 29 + 3));
}

/*
 * Real-mode part filled with 0x5a (so loading it by mistake shows), header at 0x1f1,
 * payload after (setup_sects ?: 4 + 1) sectors.
 */
static void build_bz(struct bz *bz, const struct setup_header *h, size_t payload)
{
	size_t sects = h->setup_sects ? h->setup_sects : 4;

	bz->kernel_off = (sects + 1) * 512;
	bz->payload = payload;
	bz->len = bz->kernel_off + payload;
	bz->buf = malloc(bz->len);
	assert_non_null(bz->buf);
	memset(bz->buf, 0x5a, bz->kernel_off);
	memcpy(bz->buf + SETUP_HDR_OFF, h, sizeof(*h));
	for (size_t i = 0; i < payload; i++)
		bz->buf[bz->kernel_off + i] = payload_byte(i);
}

static void free_bz(struct bz *bz)
{
	free(bz->buf);
	bz->buf = NULL;
}

static void expect_reject_hdr(struct guest_mem *mem, const struct setup_header *h)
{
	struct x86_kernel k;
	struct bz bz;

	build_bz(&bz, h, PAYLOAD_LEN);
	assert_int_equal(x86_load_bzimage(mem, bz.buf, bz.len, &k), -MVMM_EKERNEL);
	assert_int_equal(x86_load_kernel(mem, bz.buf, bz.len, &k), -MVMM_EKERNEL);
	assert_true(range_is_zero(mem->host, mem->size));
	free_bz(&bz);
}

/* The builder itself must put the magic where the protocol says, or the tests prove nothing. */
static void test_builder_offsets(void **state)
{
	struct setup_header h = default_hdr();
	struct bz bz;

	(void)state;
	build_bz(&bz, &h, PAYLOAD_LEN);
	assert_int_equal(bz.buf[0x1f1], SETUP_SECTS);
	assert_int_equal(bz.buf[0x1fe], 0x55);
	assert_int_equal(bz.buf[0x1ff], 0xaa);
	assert_memory_equal(bz.buf + 0x202, "HdrS", 4);
	assert_int_equal(bz.buf[0x206] | bz.buf[0x207] << 8, 0x020f);
	assert_int_equal(bz.buf[0x236] & XLF_KERNEL_64, XLF_KERNEL_64);
	assert_int_equal(bz.buf[0x260] | bz.buf[0x261] << 8, INIT_SIZE & 0xffff);
	assert_int_equal(bz.buf[0x262], (INIT_SIZE >> 16) & 0xff);
	assert_int_equal(bz.kernel_off, 0xa00);
	free_bz(&bz);
}

static void check_loaded(struct guest_mem *mem, const struct bz *bz, const struct x86_kernel *k,
			 const struct setup_header *h)
{
	assert_true(k->is_bzimage);
	assert_false(k->has_pvh);
	assert_int_equal(k->entry, 0x100200);
	assert_int_equal(k->load_start, X86_HIMEM_START);
	assert_int_equal(k->load_end, X86_HIMEM_START + MAX((uint64_t)bz->payload, h->init_size));
	assert_int_equal(k->initrd_max, (uint64_t)h->initrd_addr_max + 1);
	assert_memory_equal(&k->hdr, h, sizeof(*h));
	/* Exactly the protected-mode bytes at 1 MiB; nothing before, nothing after. */
	assert_memory_equal(mem->host + X86_HIMEM_START, bz->buf + bz->kernel_off, bz->payload);
	assert_true(range_is_zero(mem->host, X86_HIMEM_START));
	assert_true(range_is_zero(mem->host + X86_HIMEM_START + bz->payload,
				  mem->size - X86_HIMEM_START - bz->payload));
}

static void test_valid(void **state)
{
	struct guest_mem *mem = *state;
	struct setup_header h = default_hdr();
	struct x86_kernel k;
	struct bz bz;

	build_bz(&bz, &h, PAYLOAD_LEN);
	assert_int_equal(x86_load_bzimage(mem, bz.buf, bz.len, &k), 0);
	check_loaded(mem, &bz, &k, &h);
	assert_int_equal(k.load_end, X86_HIMEM_START + INIT_SIZE);
	assert_int_equal(k.initrd_max, 0x80000000ULL);

	memset(mem->host, 0, mem->size);
	assert_int_equal(x86_load_kernel(mem, bz.buf, bz.len, &k), 0);
	check_loaded(mem, &bz, &k, &h);
	free_bz(&bz);
}

/* A payload bigger than init_size: load_end follows the payload. */
static void test_payload_above_init_size(void **state)
{
	struct setup_header h = default_hdr();
	struct x86_kernel k;
	struct bz bz;

	h.init_size = 0x100;
	build_bz(&bz, &h, PAYLOAD_LEN);
	assert_int_equal(x86_load_bzimage(*state, bz.buf, bz.len, &k), 0);
	assert_int_equal(k.load_end, X86_HIMEM_START + PAYLOAD_LEN);
	free_bz(&bz);
}

/* setup_sects == 0 means 4 (boot protocol); other values move the payload. */
static void test_setup_sects(void **state)
{
	struct guest_mem *mem = *state;
	struct setup_header h = default_hdr();
	struct x86_kernel k;
	struct bz bz;

	h.setup_sects = 0;
	build_bz(&bz, &h, PAYLOAD_LEN);
	assert_int_equal(bz.kernel_off, 5 * 512);
	assert_int_equal(x86_load_bzimage(mem, bz.buf, bz.len, &k), 0);
	check_loaded(mem, &bz, &k, &h);
	free_bz(&bz);

	memset(mem->host, 0, mem->size);
	h.setup_sects = 1;
	build_bz(&bz, &h, PAYLOAD_LEN);
	assert_int_equal(bz.kernel_off, 2 * 512);
	assert_int_equal(x86_load_bzimage(mem, bz.buf, bz.len, &k), 0);
	check_loaded(mem, &bz, &k, &h);
	free_bz(&bz);

	memset(mem->host, 0, mem->size);
	h.setup_sects = 60;
	build_bz(&bz, &h, PAYLOAD_LEN);
	assert_int_equal(x86_load_bzimage(mem, bz.buf, bz.len, &k), 0);
	check_loaded(mem, &bz, &k, &h);
	free_bz(&bz);
}

static void test_bad_boot_flag(void **state)
{
	struct setup_header h = default_hdr();

	h.boot_flag = 0xaa56;
	expect_reject_hdr(*state, &h);
	h.boot_flag = 0x55aa;
	expect_reject_hdr(*state, &h);
}

static void test_bad_magic(void **state)
{
	struct setup_header h = default_hdr();

	h.header = 0x54726448;		/* "HdrT" */
	expect_reject_hdr(*state, &h);
	h.header = 0;
	expect_reject_hdr(*state, &h);
}

static void test_old_version(void **state)
{
	struct setup_header h = default_hdr();
	struct x86_kernel k;
	struct bz bz;

	h.version = 0x020b;
	expect_reject_hdr(*state, &h);
	h.version = 0x0200;
	expect_reject_hdr(*state, &h);
	/* 2.12 is the first with xloadflags: accepted. */
	h.version = 0x020c;
	build_bz(&bz, &h, PAYLOAD_LEN);
	assert_int_equal(x86_load_bzimage(*state, bz.buf, bz.len, &k), 0);
	free_bz(&bz);
}

static void test_no_64bit_entry(void **state)
{
	struct setup_header h = default_hdr();

	h.xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G | XLF_EFI_HANDOVER_64;
	expect_reject_hdr(*state, &h);
	h.xloadflags = 0;
	expect_reject_hdr(*state, &h);
}

static void test_setup_beyond_file(void **state)
{
	struct guest_mem *mem = *state;
	struct setup_header h = default_hdr();
	struct x86_kernel k;
	struct bz bz;

	/* setup_sects says the real-mode part is bigger than the whole file. */
	build_bz(&bz, &h, PAYLOAD_LEN);
	bz.buf[SETUP_HDR_OFF] = 200;
	assert_int_equal(x86_load_bzimage(mem, bz.buf, bz.len, &k), -MVMM_EKERNEL);
	/* ... or exactly as big: no protected-mode kernel at all. */
	bz.buf[SETUP_HDR_OFF] = (uint8_t)(bz.len / 512 - 1);
	assert_int_equal((bz.buf[SETUP_HDR_OFF] + 1) * 512, bz.len);
	assert_int_equal(x86_load_bzimage(mem, bz.buf, bz.len, &k), -MVMM_EKERNEL);
	bz.buf[SETUP_HDR_OFF] = 255;
	assert_int_equal(x86_load_bzimage(mem, bz.buf, bz.len, &k), -MVMM_EKERNEL);
	assert_true(range_is_zero(mem->host, mem->size));
	free_bz(&bz);
}

static void test_init_size_beyond_ram(void **state)
{
	struct guest_mem *mem = *state;
	struct setup_header h = default_hdr();
	struct x86_kernel k;
	struct bz bz;

	/* [1 MiB, 1 MiB + init_size) must be RAM: one byte too many is refused ... */
	h.init_size = (uint32_t)(RAM_SIZE - X86_HIMEM_START + 1);
	expect_reject_hdr(mem, &h);
	h.init_size = UINT32_MAX;
	expect_reject_hdr(mem, &h);
	/* ... and an exact fit is accepted. */
	h.init_size = (uint32_t)(RAM_SIZE - X86_HIMEM_START);
	build_bz(&bz, &h, PAYLOAD_LEN);
	assert_int_equal(x86_load_bzimage(mem, bz.buf, bz.len, &k), 0);
	assert_int_equal(k.load_end, RAM_SIZE);
	free_bz(&bz);
}

/* A protected-mode part that alone does not fit above 1 MiB. */
static void test_payload_beyond_ram(void **state)
{
	struct setup_header h = default_hdr();
	struct guest_mem small;
	struct x86_kernel k;
	struct bz bz;

	(void)state;
	assert_int_equal(guest_mem_create(&small, 2 * MiB), 0);
	h.init_size = 0;
	build_bz(&bz, &h, MiB + 1);
	assert_int_equal(x86_load_bzimage(&small, bz.buf, bz.len, &k), -MVMM_EKERNEL);
	assert_true(range_is_zero(small.host, small.size));
	free_bz(&bz);
	build_bz(&bz, &h, MiB);
	assert_int_equal(x86_load_bzimage(&small, bz.buf, bz.len, &k), 0);
	assert_int_equal(k.load_end, 2 * MiB);
	free_bz(&bz);
	guest_mem_destroy(&small);
}

/*
 * Every truncation that cuts into the header or the real-mode part (up to and including
 * the first protected-mode byte) is refused.  A truncated protected-mode part is not
 * detectable from the header fields the loader uses, so it is not tested here.
 */
static void test_truncations(void **state)
{
	struct guest_mem *mem = *state;
	struct setup_header h = default_hdr();
	struct x86_kernel k;
	struct bz bz;

	build_bz(&bz, &h, PAYLOAD_LEN);
	for (size_t len = 0; len <= bz.kernel_off; len++) {
		/* A fresh exact-size copy, so ASan flags any read past the truncation. */
		uint8_t *cut = malloc(len ? len : 1);
		int err;

		assert_non_null(cut);
		memcpy(cut, bz.buf, len);
		err = x86_load_kernel(mem, cut, len, &k);
		free(cut);
		if (err != -MVMM_EKERNEL)
			fail_msg("truncated to %zu bytes: got %d", len, err);
	}
	assert_true(range_is_zero(mem->host, mem->size));
	free_bz(&bz);
}

/* Garbage that is neither ELF nor bzImage. */
static void test_garbage(void **state)
{
	struct guest_mem *mem = *state;
	struct x86_kernel k;
	uint8_t junk[4096];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 7);
	assert_int_equal(x86_load_kernel(mem, junk, sizeof(junk), &k), -MVMM_EKERNEL);
	memset(junk, 0, sizeof(junk));
	assert_int_equal(x86_load_kernel(mem, junk, sizeof(junk), &k), -MVMM_EKERNEL);
	assert_true(range_is_zero(mem->host, mem->size));
}

static int mem_setup(void **state)
{
	return mem_fixture(state, RAM_SIZE);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, mem_setup, mem_teardown)
		T(test_builder_offsets),
		T(test_valid),
		T(test_payload_above_init_size),
		T(test_setup_sects),
		T(test_bad_boot_flag),
		T(test_bad_magic),
		T(test_old_version),
		T(test_no_64bit_entry),
		T(test_setup_beyond_file),
		T(test_init_size_beyond_ram),
		T(test_payload_beyond_ram),
		T(test_truncations),
		T(test_garbage),
#undef T
	};

	/* Optional glob filters, to run or skip some tests: <exe> [include] [exclude]. */
	if (argc > 1 && argv[1][0])
		cmocka_set_test_filter(argv[1]);
	if (argc > 2 && argv[2][0])
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
