/* SPDX-License-Identifier: MIT */
/*
 * ELF64 vmlinux loader (x86_load_elf / x86_load_kernel) against valid and malicious images.
 *
 * Every image is built in memory from one valid template: a PT_NOTE (GNU build-id, then the
 * Xen PVH entry note), PT_LOAD 0 at 1 MiB with a bss tail, PT_LOAD 1 at 2 MiB.  The notes come
 * first in the file and the last PT_LOAD's bytes last, so every truncation cuts something the
 * loader must refuse.  Each malicious variant keeps PT_LOAD 0 valid: a loader that copied
 * segments while still validating would leave its bytes in RAM, which the tests catch by
 * requiring guest RAM to be all zero after every rejected image.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"
#include "mvmm/mvmm.h"
#include "vmm/memory.h"
#include "tests/unit/unit_mem.h"
#include "vmm/util.h"

#define RAM_SIZE	(4 * MiB)
#define IMG_MAX		8192

#define NOTE_OFF	0x200ULL
#define NOTE_SIZE	44ULL		/* GNU build-id note (24) + Xen PVH note (20) */
#define SEG0_OFF	0x240ULL
#define SEG0_PADDR	0x100000ULL
#define SEG0_FILESZ	0x100ULL
#define SEG0_MEMSZ	0x180ULL
#define SEG1_OFF	0x340ULL
#define SEG1_PADDR	0x200000ULL
#define SEG1_FILESZ	0x80ULL
#define SEG1_MEMSZ	0x1000ULL
#define IMG_LEN		(SEG1_OFF + SEG1_FILESZ)
#define ENTRY		(SEG0_PADDR + 0x40)
#define PVH_ENTRY	0x1000a0U
#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct img {
	_Alignas(8) uint8_t buf[IMG_MAX];
	size_t len;
};

static Elf64_Ehdr *ehdr(struct img *im)
{
	return (Elf64_Ehdr *)im->buf;
}

/* Program headers always sit right after the ELF header in the template. */
static Elf64_Phdr *phdr(struct img *im, unsigned int i)
{
	return (Elf64_Phdr *)(im->buf + sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr));
}

static size_t put_note(uint8_t *p, uint32_t type, const char *name, const void *desc,
		       uint32_t descsz)
{
	Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = descsz, .n_type = type };

	memcpy(p, &nh, sizeof(nh));
	memcpy(p + sizeof(nh), name, 4);
	memcpy(p + sizeof(nh) + 4, desc, descsz);
	return sizeof(nh) + 4 + ALIGN_UP(descsz, 4U);
}

/* Segment file bytes: never zero, so "copied" and "untouched" are distinguishable. */
static uint8_t pattern(size_t off)
{
	return (uint8_t)(0x80 | (off * 13 + 5));
}

static void build_elf(struct img *im, bool with_note)
{
	static const uint8_t build_id[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	Elf64_Ehdr *e = ehdr(im);
	uint32_t pvh = PVH_ENTRY;
	size_t n;

	memset(im, 0, sizeof(*im));
	memcpy(e->e_ident, ELFMAG, SELFMAG);
	e->e_ident[EI_CLASS] = ELFCLASS64;
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_ident[EI_VERSION] = EV_CURRENT;
	e->e_type = ET_EXEC;
	e->e_machine = EM_X86_64;
	e->e_version = EV_CURRENT;
	e->e_entry = ENTRY;
	e->e_phoff = sizeof(Elf64_Ehdr);
	e->e_ehsize = sizeof(Elf64_Ehdr);
	e->e_phentsize = sizeof(Elf64_Phdr);
	e->e_phnum = with_note ? 3 : 2;

	*phdr(im, 0) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = SEG0_OFF,
				     .p_vaddr = 0xffffffff81000000ULL, .p_paddr = SEG0_PADDR,
				     .p_filesz = SEG0_FILESZ, .p_memsz = SEG0_MEMSZ };
	*phdr(im, 1) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = SEG1_OFF,
				     .p_vaddr = 0xffffffff81100000ULL, .p_paddr = SEG1_PADDR,
				     .p_filesz = SEG1_FILESZ, .p_memsz = SEG1_MEMSZ };
	if (with_note)
		*phdr(im, 2) = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = NOTE_OFF,
					     .p_filesz = NOTE_SIZE };
	n = put_note(im->buf + NOTE_OFF, NT_GNU_BUILD_ID, "GNU", build_id, sizeof(build_id));
	n += put_note(im->buf + NOTE_OFF + n, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", &pvh, sizeof(pvh));
	assert_int_equal(n, NOTE_SIZE);
	for (size_t i = SEG0_OFF; i < IMG_LEN; i++)
		im->buf[i] = pattern(i);
	im->len = IMG_LEN;
}

static void assert_ram_zero(const struct guest_mem *mem)
{
	assert_true(range_is_zero(mem->host, mem->size));
}

/* The image must be refused by both entry points and leave RAM untouched. */
static void expect_reject(struct guest_mem *mem, struct img *im)
{
	struct x86_kernel k;

	assert_int_equal(x86_load_elf(mem, im->buf, im->len, &k), -MVMM_EKERNEL);
	assert_int_equal(x86_load_kernel(mem, im->buf, im->len, &k), -MVMM_EKERNEL);
	assert_ram_zero(mem);
}

static void test_valid_image(void **state)
{
	struct guest_mem *mem = *state;
	struct x86_kernel k;
	struct img im;
	uint8_t *seg0 = mem->host + SEG0_PADDR, *seg1 = mem->host + SEG1_PADDR;

	build_elf(&im, true);
	/* Dirty the bss and the byte after each segment: bss must be zeroed, the rest kept. */
	memset(seg0 + SEG0_FILESZ, 0xcc, SEG0_MEMSZ - SEG0_FILESZ + 1);
	memset(seg1 + SEG1_FILESZ, 0xcc, SEG1_MEMSZ - SEG1_FILESZ + 1);

	assert_int_equal(x86_load_kernel(mem, im.buf, im.len, &k), 0);
	assert_int_equal(k.entry, ENTRY);
	assert_int_equal(k.load_start, SEG0_PADDR);
	assert_int_equal(k.load_end, SEG1_PADDR + SEG1_MEMSZ);
	assert_false(k.is_bzimage);
	assert_int_equal(k.initrd_max, X86_MMIO_HOLE_START);
	assert_memory_equal(seg0, im.buf + SEG0_OFF, SEG0_FILESZ);
	assert_memory_equal(seg1, im.buf + SEG1_OFF, SEG1_FILESZ);
	assert_true(range_is_zero(seg0 + SEG0_FILESZ, SEG0_MEMSZ - SEG0_FILESZ));
	assert_true(range_is_zero(seg1 + SEG1_FILESZ, SEG1_MEMSZ - SEG1_FILESZ));
	assert_int_equal(seg0[SEG0_MEMSZ], 0xcc);
	assert_int_equal(seg1[SEG1_MEMSZ], 0xcc);
	/* Nothing below the kernel (boot structures) was written. */
	assert_true(range_is_zero(mem->host, SEG0_PADDR));
}

static void test_pvh_note_detected(void **state)
{
	struct x86_kernel k;
	struct img im;

	build_elf(&im, true);
	assert_int_equal(x86_load_elf(*state, im.buf, im.len, &k), 0);
	assert_true(k.has_pvh);
	assert_int_equal(k.pvh_entry, PVH_ENTRY);
}

static void test_no_pvh_note(void **state)
{
	struct x86_kernel k;
	struct img im;

	build_elf(&im, false);
	assert_int_equal(x86_load_elf(*state, im.buf, im.len, &k), 0);
	assert_false(k.has_pvh);
	assert_int_equal(k.pvh_entry, 0);
}

/* Load with a damaged note: the kernel still loads, the PVH entry is simply not used. */
static void expect_note_ignored(struct guest_mem *mem, struct img *im)
{
	struct x86_kernel k;

	assert_int_equal(x86_load_elf(mem, im->buf, im->len, &k), 0);
	assert_false(k.has_pvh);
	assert_int_equal(k.entry, ENTRY);
	assert_memory_equal(mem->host + SEG0_PADDR, im->buf + SEG0_OFF, SEG0_FILESZ);
}

static void test_malformed_notes_ignored(void **state)
{
	const size_t xen = NOTE_OFF + 24;	/* the PVH note's Elf64_Nhdr */
	Elf64_Nhdr *nh;
	struct img im;

	/* First note claims a name running past the segment: the walk stops. */
	build_elf(&im, true);
	nh = (Elf64_Nhdr *)(im.buf + NOTE_OFF);
	nh->n_namesz = 0xffffffffU;
	expect_note_ignored(*state, &im);

	/* Descriptor size past the end of the note segment. */
	build_elf(&im, true);
	nh = (Elf64_Nhdr *)(im.buf + xen);
	nh->n_descsz = 0x1000;
	expect_note_ignored(*state, &im);

	/* Descriptor too short to hold a 32-bit entry. */
	build_elf(&im, true);
	nh = (Elf64_Nhdr *)(im.buf + xen);
	nh->n_descsz = 2;
	expect_note_ignored(*state, &im);

	/* Wrong owner name. */
	build_elf(&im, true);
	memcpy(im.buf + xen + sizeof(*nh), "Xex", 4);
	expect_note_ignored(*state, &im);

	/* Note segment outside the file, and with an offset that overflows. */
	build_elf(&im, true);
	phdr(&im, 2)->p_offset = IMG_LEN - 8;
	expect_note_ignored(*state, &im);
	build_elf(&im, true);
	phdr(&im, 2)->p_offset = UINT64_MAX - 8;
	expect_note_ignored(*state, &im);

	/* Segment too small for even one note header. */
	build_elf(&im, true);
	phdr(&im, 2)->p_filesz = sizeof(Elf64_Nhdr) - 1;
	expect_note_ignored(*state, &im);
}

static void test_truncations(void **state)
{
	struct guest_mem *mem = *state;
	struct x86_kernel k;
	struct img im;

	build_elf(&im, true);
	for (size_t len = 0; len < IMG_LEN; len++) {
		int err = x86_load_kernel(mem, im.buf, len, &k);

		if (err != -MVMM_EKERNEL)
			fail_msg("truncated to %zu bytes: got %d", len, err);
		if (!range_is_zero(mem->host + SEG0_PADDR, SEG0_MEMSZ) ||
		    !range_is_zero(mem->host + SEG1_PADDR, SEG1_MEMSZ))
			fail_msg("truncated to %zu bytes: segment bytes copied", len);
	}
	/* RAM was never reset, so this covers every iteration. */
	assert_ram_zero(mem);
	assert_int_equal(x86_load_kernel(mem, im.buf, IMG_LEN, &k), 0);
}

static void test_bad_ident(void **state)
{
	struct img im;

	build_elf(&im, true);
	im.buf[EI_MAG1] = 'F';
	expect_reject(*state, &im);
	build_elf(&im, true);
	im.buf[EI_CLASS] = ELFCLASS32;
	expect_reject(*state, &im);
	build_elf(&im, true);
	im.buf[EI_CLASS] = ELFCLASSNONE;
	expect_reject(*state, &im);
	build_elf(&im, true);
	im.buf[EI_DATA] = ELFDATA2MSB;
	expect_reject(*state, &im);
}

static void test_bad_machine_and_type(void **state)
{
	struct img im;

	build_elf(&im, true);
	ehdr(&im)->e_machine = EM_386;
	expect_reject(*state, &im);
	build_elf(&im, true);
	ehdr(&im)->e_machine = EM_AARCH64;
	expect_reject(*state, &im);
	build_elf(&im, true);
	ehdr(&im)->e_type = ET_DYN;
	expect_reject(*state, &im);
	build_elf(&im, true);
	ehdr(&im)->e_type = ET_REL;
	expect_reject(*state, &im);
}

static void test_bad_phentsize(void **state)
{
	struct img im;

	build_elf(&im, true);
	ehdr(&im)->e_phentsize = sizeof(Elf64_Phdr) - 1;
	expect_reject(*state, &im);
	build_elf(&im, true);
	ehdr(&im)->e_phentsize = sizeof(Elf64_Phdr) + 8;
	expect_reject(*state, &im);
	build_elf(&im, true);
	ehdr(&im)->e_phentsize = 0;
	expect_reject(*state, &im);
}

static void test_phnum_zero(void **state)
{
	struct img im;

	build_elf(&im, true);
	ehdr(&im)->e_phnum = 0;
	expect_reject(*state, &im);
}

/* Move the segment data past a full table of `phnum` headers (extra ones are PT_NULL). */
static void build_many_phdrs(struct img *im, unsigned int phnum)
{
	size_t shift = phnum * sizeof(Elf64_Phdr);
	size_t table_end = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);

	build_elf(im, false);
	memmove(im->buf + SEG0_OFF + shift, im->buf + SEG0_OFF, IMG_LEN - SEG0_OFF);
	/* Headers 2.. are PT_NULL (zero); this also wipes the unused note bytes. */
	memset(im->buf + table_end, 0, SEG0_OFF + shift - table_end);
	phdr(im, 0)->p_offset += shift;
	phdr(im, 1)->p_offset += shift;
	ehdr(im)->e_phnum = (Elf64_Half)phnum;
	im->len = IMG_LEN + shift;
	assert_true(sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr) <= SEG0_OFF + shift);
	assert_true(im->len <= IMG_MAX);
}

static void test_phnum_limit(void **state)
{
	struct x86_kernel k;
	struct img im;

	/* The limit itself is fine ... */
	build_many_phdrs(&im, X86_ELF_MAX_PHDRS);
	assert_int_equal(x86_load_elf(*state, im.buf, im.len, &k), 0);
	assert_int_equal(k.load_end, SEG1_PADDR + SEG1_MEMSZ);
	/* ... one more is refused, although the table is wholly inside the file. */
	memset(((struct guest_mem *)*state)->host, 0, RAM_SIZE);
	build_many_phdrs(&im, X86_ELF_MAX_PHDRS + 1);
	expect_reject(*state, &im);
	build_many_phdrs(&im, X86_ELF_MAX_PHDRS + 1);
	ehdr(&im)->e_phnum = 0xffff;
	expect_reject(*state, &im);
}

static void test_phdr_table_outside_file(void **state)
{
	struct img im;

	build_elf(&im, true);
	ehdr(&im)->e_phoff = IMG_LEN - sizeof(Elf64_Phdr);	/* 3 headers, 1 fits */
	expect_reject(*state, &im);
	build_elf(&im, true);
	ehdr(&im)->e_phoff = IMG_LEN;
	expect_reject(*state, &im);
	build_elf(&im, true);
	ehdr(&im)->e_phoff = UINT64_MAX - sizeof(Elf64_Phdr);	/* offset + size wraps */
	expect_reject(*state, &im);
}

static void test_segment_file_range(void **state)
{
	struct img im;

	/* PT_LOAD 1's bytes run one past the end of the file. */
	build_elf(&im, true);
	phdr(&im, 1)->p_offset += 1;
	expect_reject(*state, &im);
	build_elf(&im, true);
	phdr(&im, 1)->p_offset = 0x100000;
	expect_reject(*state, &im);
	/* p_offset + p_filesz wraps around 2^64 to a small value. */
	build_elf(&im, true);
	phdr(&im, 1)->p_offset = UINT64_MAX - SEG1_FILESZ + 2;
	expect_reject(*state, &im);
}

static void test_filesz_above_memsz(void **state)
{
	struct img im;

	build_elf(&im, true);
	phdr(&im, 1)->p_memsz = SEG1_FILESZ - 1;
	expect_reject(*state, &im);
}

static void test_segment_below_1mib(void **state)
{
	static const uint64_t bad[] = { 0, X86_ZERO_PAGE_ADDR, X86_PML4_ADDR, X86_CMDLINE_ADDR,
					X86_MPTABLE_ADDR, X86_HIMEM_START - 0x1000 };
	struct img im;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		build_elf(&im, true);
		phdr(&im, 1)->p_paddr = bad[i];
		expect_reject(*state, &im);
	}
	/* Ending above 1 MiB does not help: the start is what clobbers boot data. */
	build_elf(&im, true);
	phdr(&im, 1)->p_paddr = X86_HIMEM_START - 0x10;
	phdr(&im, 1)->p_memsz = 0x100;
	phdr(&im, 0)->p_paddr = 0x300000;
	ehdr(&im)->e_entry = 0x300000;
	expect_reject(*state, &im);
}

static void test_segment_outside_ram(void **state)
{
	struct img im;

	/* Straddles the end of RAM by one byte. */
	build_elf(&im, true);
	phdr(&im, 1)->p_paddr = RAM_SIZE - SEG1_MEMSZ + 1;
	expect_reject(*state, &im);
	build_elf(&im, true);
	phdr(&im, 1)->p_paddr = 64 * MiB;
	expect_reject(*state, &im);
	/* bss alone (p_filesz small) reaching past RAM. */
	build_elf(&im, true);
	phdr(&im, 1)->p_memsz = RAM_SIZE;
	expect_reject(*state, &im);
	/* Ends exactly at the end of RAM: accepted. */
	build_elf(&im, true);
	phdr(&im, 1)->p_paddr = RAM_SIZE - SEG1_MEMSZ;
	{
		struct x86_kernel k;

		assert_int_equal(x86_load_elf(*state, im.buf, im.len, &k), 0);
		assert_int_equal(k.load_end, RAM_SIZE);
	}
}

static void test_paddr_overflow(void **state)
{
	struct img im;

	build_elf(&im, true);
	phdr(&im, 1)->p_paddr = UINT64_MAX - 0xfff;
	expect_reject(*state, &im);
	build_elf(&im, true);
	phdr(&im, 1)->p_paddr = 0x300000;
	phdr(&im, 1)->p_memsz = UINT64_MAX - 0x1000;	/* paddr + memsz wraps */
	expect_reject(*state, &im);
}

static void test_segment_in_mmio_hole(void **state)
{
	static const struct {
		uint64_t paddr, memsz;
	} bad[] = {
		{ X86_MMIO_HOLE_START, 0x1000 },
		{ X86_IOAPIC_ADDR, 0x1000 },
		{ X86_MMIO_HOLE_START - 0x1000, 0x2000 },	/* low RAM into the hole */
		{ X86_MMIO_HOLE_END - 0x1000, 0x2000 },		/* hole into high RAM */
		{ X86_MMIO_HOLE_START - 0x1000, X86_MMIO_HOLE_END - X86_MMIO_HOLE_START + 0x2000 },
	};
	struct guest_mem big;
	struct x86_kernel k;
	struct img im;

	(void)state;
	assert_int_equal(guest_mem_create(&big, 4 * GiB + 2 * MiB), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		build_elf(&im, true);
		phdr(&im, 1)->p_paddr = bad[i].paddr;
		phdr(&im, 1)->p_memsz = bad[i].memsz;
		if (x86_load_elf(&big, im.buf, im.len, &k) != -MVMM_EKERNEL)
			fail_msg("segment at 0x%llx accepted", (unsigned long long)bad[i].paddr);
		/* Only the pages a copy could have touched are checked (RAM is 4 GiB). */
		assert_true(range_is_zero(big.host + SEG0_PADDR, SEG0_MEMSZ));
		assert_true(range_is_zero(big.host + X86_MMIO_HOLE_START - 0x1000, 0x1000));
		assert_true(range_is_zero(big.host + X86_MMIO_HOLE_START, 0x1000));
	}
	guest_mem_destroy(&big);
}

static void test_overlapping_segments(void **state)
{
	struct x86_kernel k;
	struct img im;

	/* PT_LOAD 1 starts inside PT_LOAD 0's bss. */
	build_elf(&im, true);
	phdr(&im, 1)->p_paddr = SEG0_PADDR + SEG0_MEMSZ - 1;
	expect_reject(*state, &im);
	/* PT_LOAD 1 wholly contains PT_LOAD 0. */
	build_elf(&im, true);
	phdr(&im, 0)->p_paddr = SEG0_PADDR + 0x10000;
	phdr(&im, 1)->p_paddr = SEG0_PADDR;
	phdr(&im, 1)->p_memsz = 0x20000;
	expect_reject(*state, &im);
	/* PT_LOAD 1 ends inside PT_LOAD 0 (lower address, later in the table). */
	build_elf(&im, true);
	phdr(&im, 0)->p_paddr = SEG0_PADDR + 0x80000;
	ehdr(&im)->e_entry = SEG0_PADDR + 0x80000;
	phdr(&im, 1)->p_paddr = SEG0_PADDR + 0x80000 - 0x800;
	expect_reject(*state, &im);
	/* Adjacent is fine. */
	build_elf(&im, true);
	phdr(&im, 1)->p_paddr = SEG0_PADDR + SEG0_MEMSZ;
	assert_int_equal(x86_load_elf(*state, im.buf, im.len, &k), 0);
	assert_int_equal(k.load_end, SEG0_PADDR + SEG0_MEMSZ + SEG1_MEMSZ);
}

static void test_entry_outside_segments(void **state)
{
	static const uint64_t bad[] = { 0, SEG0_PADDR - 1, SEG0_PADDR + SEG0_MEMSZ,
					SEG1_PADDR - 0x1000, SEG1_PADDR + SEG1_MEMSZ,
					X86_MMIO_HOLE_START, UINT64_MAX };
	struct x86_kernel k;
	struct img im;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		build_elf(&im, true);
		ehdr(&im)->e_entry = bad[i];
		expect_reject(*state, &im);
	}
	/* The last bss byte and the first byte of PT_LOAD 1 are inside a segment. */
	build_elf(&im, true);
	ehdr(&im)->e_entry = SEG0_PADDR + SEG0_MEMSZ - 1;
	assert_int_equal(x86_load_elf(*state, im.buf, im.len, &k), 0);
	assert_int_equal(k.entry, SEG0_PADDR + SEG0_MEMSZ - 1);
	build_elf(&im, true);
	ehdr(&im)->e_entry = SEG1_PADDR;
	assert_int_equal(x86_load_elf(*state, im.buf, im.len, &k), 0);
	assert_int_equal(k.entry, SEG1_PADDR);
}

static void test_no_load_segment(void **state)
{
	struct img im;

	/* Both PT_LOADs become empty or non-loadable: nothing can hold the entry point. */
	build_elf(&im, true);
	phdr(&im, 0)->p_type = PT_NULL;
	phdr(&im, 1)->p_memsz = 0;
	phdr(&im, 1)->p_filesz = 0;
	expect_reject(*state, &im);
}

static int mem_setup(void **state)
{
	return mem_fixture(state, RAM_SIZE);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, mem_setup, mem_teardown)
		T(test_valid_image),
		T(test_pvh_note_detected),
		T(test_no_pvh_note),
		T(test_malformed_notes_ignored),
		T(test_truncations),
		T(test_bad_ident),
		T(test_bad_machine_and_type),
		T(test_bad_phentsize),
		T(test_phnum_zero),
		T(test_phnum_limit),
		T(test_phdr_table_outside_file),
		T(test_segment_file_range),
		T(test_filesz_above_memsz),
		T(test_segment_below_1mib),
		T(test_segment_outside_ram),
		T(test_paddr_overflow),
		T(test_segment_in_mmio_hole),
		T(test_overlapping_segments),
		T(test_entry_outside_segments),
		T(test_no_load_segment),
#undef T
	};

	/* Optional glob filters, to run or skip some tests: <exe> [include] [exclude]. */
	if (argc > 1 && argv[1][0])
		cmocka_set_test_filter(argv[1]);
	if (argc > 2 && argv[2][0])
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
