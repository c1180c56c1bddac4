/* SPDX-License-Identifier: MIT */
/*
 * Boot structures written into guest RAM: the e820 map, the zero page and command line, the
 * initrd placement and the MP tables (the boot page tables are tested in cpuid_test.c, with
 * the rest of cpu.h).  The expected values are written out from the boot protocol and the MP
 * specification 1.4, not derived from the code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "arch/x86/cpu.h"
#include "arch/x86/layout.h"
#include "mvmm/mvmm.h"
#include "vmm/memory.h"
#include "tests/unit/unit_mem.h"
#include "vmm/util.h"

#define E820_RAM	1
#define E820_RESERVED	2

static struct x86_kernel elf_kernel(void)
{
	struct x86_kernel k;

	memset(&k, 0, sizeof(k));
	k.entry = 0x1000000;
	k.load_start = 0x1000000;
	k.load_end = 0x1800000;
	k.initrd_max = X86_MMIO_HOLE_START;
	return k;
}

static struct x86_kernel bz_kernel(void)
{
	struct x86_kernel k;

	memset(&k, 0, sizeof(k));
	k.is_bzimage = true;
	k.entry = 0x100200;
	k.load_start = X86_HIMEM_START;
	k.load_end = X86_HIMEM_START + 0x800000;
	k.hdr.boot_flag = 0xaa55;
	k.hdr.header = 0x53726448;
	k.hdr.version = 0x020f;
	k.hdr.setup_sects = 27;
	k.hdr.init_size = 0x800000;
	k.hdr.initrd_addr_max = 0x7fffffff;
	k.hdr.cmdline_size = 100;
	k.hdr.type_of_loader = 0x21;
	k.initrd_max = 0x80000000ULL;
	return k;
}

/* ---- e820 ---- */

static void check_e820(uint64_t size, const struct boot_e820_entry *want, int nr_want)
{
	struct guest_mem *mem = mem_new(size);
	struct boot_e820_entry e[E820_MAX_ENTRIES_ZEROPAGE];
	int n = x86_build_e820(mem, e, ARRAY_SIZE(e));

	assert_int_equal(n, nr_want);
	for (int i = 0; i < n; i++) {
		assert_int_equal(e[i].addr, want[i].addr);
		assert_int_equal(e[i].size, want[i].size);
		assert_int_equal(e[i].type, want[i].type);
		assert_true(e[i].size > 0);
		/* Sorted and non-overlapping. */
		if (i > 0)
			assert_true(e[i - 1].addr + e[i - 1].size <= e[i].addr);
	}
	mem_free(mem);
}

static void test_e820_64m(void **state)
{
	const struct boot_e820_entry want[] = {
		{ 0, 0x9f000, E820_RAM },
		{ 0x9f000, 0x1000, E820_RESERVED },
		{ 0x100000, 64 * MiB - 0x100000, E820_RAM },
	};

	(void)state;
	check_e820(64 * MiB, want, 3);
}

static void test_e820_256m(void **state)
{
	const struct boot_e820_entry want[] = {
		{ 0, 0x9f000, E820_RAM },
		{ 0x9f000, 0x1000, E820_RESERVED },
		{ 0x100000, 255 * MiB, E820_RAM },
	};

	(void)state;
	check_e820(256 * MiB, want, 3);
}

static void test_e820_3g(void **state)
{
	const struct boot_e820_entry want[] = {
		{ 0, 0x9f000, E820_RAM },
		{ 0x9f000, 0x1000, E820_RESERVED },
		{ 0x100000, 0xc0000000ULL - 0x100000, E820_RAM },
	};

	(void)state;
	check_e820(3 * GiB, want, 3);
}

static void test_e820_above_4g(void **state)
{
	const struct boot_e820_entry want[] = {
		{ 0, 0x9f000, E820_RAM },
		{ 0x9f000, 0x1000, E820_RESERVED },
		{ 0x100000, 0xc0000000ULL - 0x100000, E820_RAM },
		/* What did not fit below the hole. */
		{ 0x100000000ULL, GiB + 2 * MiB, E820_RAM },
	};

	(void)state;
	check_e820(4 * GiB + 2 * MiB, want, 4);
}

static void test_e820_too_small_table(void **state)
{
	struct guest_mem *mem = mem_new(64 * MiB);
	struct boot_e820_entry e[4];

	(void)state;
	/* 64 MiB needs exactly 3 entries: a 3-entry table is enough, 2 is not. */
	assert_int_equal(x86_build_e820(mem, e, 2), -EINVAL);
	assert_int_equal(x86_build_e820(mem, e, 0), -EINVAL);
	assert_int_equal(x86_build_e820(mem, e, 3), 3);
	assert_int_equal(x86_build_e820(mem, e, 4), 3);
	mem_free(mem);
}

/* ---- zero page and command line ---- */

static struct boot_params read_zero_page(const struct guest_mem *mem)
{
	struct boot_params bp;

	assert_int_equal(guest_mem_read(mem, X86_ZERO_PAGE_ADDR, &bp, sizeof(bp)), 0);
	return bp;
}

static void test_boot_params_elf(void **state)
{
	static const char cmdline[] = "console=ttyS0 root=/dev/vda rw";
	struct guest_mem *mem = mem_new(64 * MiB);
	struct x86_kernel k = elf_kernel();
	struct x86_boot_args args = { .cmdline = cmdline };
	struct boot_params bp;
	char buf[sizeof(cmdline) + 1];

	(void)state;
	/* Stale bytes where the NUL and the zero page go must be overwritten. */
	memset(mem->host + X86_CMDLINE_ADDR, 'x', 64);
	memset(mem->host + X86_ZERO_PAGE_ADDR, 0xee, sizeof(bp));
	assert_int_equal(x86_setup_boot_params(mem, &k, &args), 0);
	bp = read_zero_page(mem);

	assert_int_equal(bp.hdr.boot_flag, 0xaa55);
	assert_int_equal(bp.hdr.header, 0x53726448);
	assert_true(bp.hdr.version >= 0x020c);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_int_equal(bp.hdr.loadflags & LOADED_HIGH, LOADED_HIGH);
	assert_int_equal(bp.hdr.cmd_line_ptr, X86_CMDLINE_ADDR);
	assert_int_equal(bp.ext_cmd_line_ptr, 0);
	assert_int_equal(bp.hdr.cmdline_size, X86_CMDLINE_MAX - 1);
	assert_int_equal(bp.hdr.ramdisk_image, 0);
	assert_int_equal(bp.hdr.ramdisk_size, 0);
	assert_int_equal(bp.e820_entries, 3);
	assert_int_equal(bp.e820_table[2].addr, X86_HIMEM_START);
	assert_int_equal(bp.e820_table[2].size, 63 * MiB);
	assert_int_equal(bp.e820_table[2].type, E820_RAM);
	assert_int_equal(bp.acpi_rsdp_addr, 0);

	assert_int_equal(guest_mem_read(mem, X86_CMDLINE_ADDR, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, cmdline, sizeof(cmdline));	/* including the NUL */
	assert_int_equal(buf[sizeof(cmdline)], 'x');		/* and not a byte more */
	mem_free(mem);
}

static void test_boot_params_null_cmdline(void **state)
{
	struct guest_mem *mem = mem_new(64 * MiB);
	struct x86_kernel k = elf_kernel();
	struct x86_boot_args args = { .cmdline = NULL };
	struct boot_params bp;

	(void)state;
	mem->host[X86_CMDLINE_ADDR] = 'x';
	assert_int_equal(x86_setup_boot_params(mem, &k, &args), 0);
	bp = read_zero_page(mem);
	assert_int_equal(bp.hdr.cmd_line_ptr, X86_CMDLINE_ADDR);
	assert_int_equal(mem->host[X86_CMDLINE_ADDR], 0);
	mem_free(mem);
}

static void test_boot_params_initrd(void **state)
{
	struct guest_mem *mem = mem_new(64 * MiB);
	struct x86_kernel k = elf_kernel();
	struct x86_boot_args args = { .initrd_gpa = 0x3f00000, .initrd_size = 0x123456 };
	struct boot_params bp;

	(void)state;
	assert_int_equal(x86_setup_boot_params(mem, &k, &args), 0);
	bp = read_zero_page(mem);
	assert_int_equal(bp.hdr.ramdisk_image, 0x3f00000);
	assert_int_equal(bp.hdr.ramdisk_size, 0x123456);
	assert_int_equal(bp.ext_ramdisk_image, 0);
	assert_int_equal(bp.ext_ramdisk_size, 0);

	/* Above 4 GiB the high halves go to the ext_ fields (protocol 2.12). */
	args.initrd_gpa = 0x123456000ULL;
	args.initrd_size = 0x100001000ULL;
	assert_int_equal(x86_setup_boot_params(mem, &k, &args), 0);
	bp = read_zero_page(mem);
	assert_int_equal(bp.hdr.ramdisk_image, 0x23456000);
	assert_int_equal(bp.ext_ramdisk_image, 1);
	assert_int_equal(bp.hdr.ramdisk_size, 0x1000);
	assert_int_equal(bp.ext_ramdisk_size, 1);
	mem_free(mem);
}

static void test_boot_params_bzimage(void **state)
{
	struct guest_mem *mem = mem_new(4 * GiB + 2 * MiB);
	struct x86_kernel k = bz_kernel();
	struct x86_boot_args args = { .cmdline = "quiet" };
	struct boot_params bp;

	(void)state;
	assert_int_equal(x86_setup_boot_params(mem, &k, &args), 0);
	bp = read_zero_page(mem);
	/* The kernel's own setup header, with the loader's fields filled in. */
	assert_int_equal(bp.hdr.setup_sects, 27);
	assert_int_equal(bp.hdr.init_size, 0x800000);
	assert_int_equal(bp.hdr.initrd_addr_max, 0x7fffffff);
	assert_int_equal(bp.hdr.cmdline_size, 100);
	assert_int_equal(bp.hdr.version, 0x020f);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_int_equal(bp.hdr.cmd_line_ptr, X86_CMDLINE_ADDR);
	assert_int_equal(bp.e820_entries, 4);
	assert_int_equal(bp.e820_table[3].addr, X86_RAM_HIGH_START);
	assert_int_equal(bp.e820_table[3].size, GiB + 2 * MiB);
	assert_memory_equal(mem->host + X86_CMDLINE_ADDR, "quiet", 6);
	mem_free(mem);
}

/* A refused command line leaves the zero page and the command-line buffer untouched. */
static void expect_cmdline_refused(struct guest_mem *mem, const struct x86_kernel *k,
				   const char *cmdline)
{
	struct x86_boot_args args = { .cmdline = cmdline };

	memset(mem->host + X86_ZERO_PAGE_ADDR, 0xee, sizeof(struct boot_params));
	memset(mem->host + X86_CMDLINE_ADDR, 0xee, X86_CMDLINE_MAX);
	assert_int_equal(x86_setup_boot_params(mem, k, &args), -MVMM_ECMDLINE);
	for (size_t i = 0; i < sizeof(struct boot_params); i++)
		assert_int_equal(mem->host[X86_ZERO_PAGE_ADDR + i], 0xee);
	for (size_t i = 0; i < X86_CMDLINE_MAX; i++)
		assert_int_equal(mem->host[X86_CMDLINE_ADDR + i], 0xee);
}

static void test_cmdline_too_long(void **state)
{
	struct guest_mem *mem = mem_new(64 * MiB);
	struct x86_kernel k = elf_kernel();
	char *s = malloc(X86_CMDLINE_MAX + 1);
	struct x86_boot_args args = { .cmdline = s };

	(void)state;
	assert_non_null(s);
	/* X86_CMDLINE_MAX includes the NUL: MAX - 1 characters fit, MAX do not. */
	memset(s, 'a', X86_CMDLINE_MAX - 1);
	s[X86_CMDLINE_MAX - 1] = '\0';
	assert_int_equal(x86_setup_boot_params(mem, &k, &args), 0);
	assert_int_equal(mem->host[X86_CMDLINE_ADDR + X86_CMDLINE_MAX - 2], 'a');
	assert_int_equal(mem->host[X86_CMDLINE_ADDR + X86_CMDLINE_MAX - 1], 0);
	memset(s, 'a', X86_CMDLINE_MAX);
	s[X86_CMDLINE_MAX] = '\0';
	expect_cmdline_refused(mem, &k, s);
	free(s);
	mem_free(mem);
}

static void test_cmdline_bzimage_limit(void **state)
{
	struct guest_mem *mem = mem_new(64 * MiB);
	struct x86_kernel k = bz_kernel();
	char s[128];
	struct x86_boot_args args = { .cmdline = s };

	(void)state;
	/* hdr.cmdline_size is the maximum length without the NUL. */
	memset(s, 'b', 100);
	s[100] = '\0';
	assert_int_equal(x86_setup_boot_params(mem, &k, &args), 0);
	assert_int_equal(mem->host[X86_CMDLINE_ADDR + 100], 0);
	memset(s, 'b', 101);
	s[101] = '\0';
	expect_cmdline_refused(mem, &k, s);
	mem_free(mem);
}

/* ---- initrd ---- */

static uint8_t *initrd_data(size_t len)
{
	uint8_t *d = malloc(len);

	assert_non_null(d);
	for (size_t i = 0; i < len; i++)
		d[i] = (uint8_t)(0x80 | (i * 11 + 1));
	return d;
}

/* Load and check: returns the address; data in RAM, page-aligned, below `top`. */
static uint64_t load_initrd_ok(struct guest_mem *mem, const struct x86_kernel *k, size_t len,
			       uint64_t top)
{
	uint8_t *d = initrd_data(len);
	uint64_t gpa = 0;

	assert_int_equal(x86_load_initrd(mem, k, d, len, &gpa), 0);
	assert_int_equal(gpa % 4096, 0);
	assert_true(gpa + len <= top);
	assert_true(gpa + len > top - 4096);		/* as high as allowed */
	assert_true(gpa >= k->load_end);
	assert_memory_equal(guest_mem_ptr(mem, gpa, len), d, len);
	free(d);
	return gpa;
}

static void expect_initrd_refused(struct guest_mem *mem, const struct x86_kernel *k, size_t len)
{
	uint8_t *d = initrd_data(len ? len : 1);
	uint64_t gpa = 0x1234;

	assert_int_equal(x86_load_initrd(mem, k, d, len, &gpa), -MVMM_EINITRD);
	assert_int_equal(gpa, 0x1234);
	free(d);
}

static void test_initrd_top_of_low_ram(void **state)
{
	struct guest_mem *mem = mem_new(64 * MiB);
	struct x86_kernel k = elf_kernel();

	(void)state;
	assert_int_equal(load_initrd_ok(mem, &k, 10000, 64 * MiB), 0x3ffd000);
	assert_int_equal(load_initrd_ok(mem, &k, 0x2000, 64 * MiB), 64 * MiB - 0x2000);
	mem_free(mem);
}

static void test_initrd_under_initrd_max(void **state)
{
	struct guest_mem *mem = mem_new(4 * GiB + 2 * MiB);
	struct x86_kernel k = bz_kernel();

	(void)state;
	/* bzImage: initrd_addr_max 0x7fffffff -> must end at or below 2 GiB. */
	assert_int_equal(load_initrd_ok(mem, &k, 0x1800, 0x80000000ULL), 0x7fffe000);
	/* ELF: up to the MMIO hole, never in the high region. */
	k = elf_kernel();
	assert_int_equal(load_initrd_ok(mem, &k, 0x1000, X86_MMIO_HOLE_START),
			 X86_MMIO_HOLE_START - 0x1000);
	/* No limit given: the boot protocol default 0x37ffffff. */
	k.initrd_max = 0;
	assert_int_equal(load_initrd_ok(mem, &k, 0x1000, 0x38000000), 0x37fff000);
	/* An unaligned limit rounds the start down. */
	k.initrd_max = 0x30000001;
	assert_int_equal(load_initrd_ok(mem, &k, 0x1000, 0x30000001), 0x30000000 - 0x1000);
	mem_free(mem);
}

static void test_initrd_refused(void **state)
{
	struct guest_mem *mem = mem_new(64 * MiB);
	struct x86_kernel k = elf_kernel();

	(void)state;
	/* Exactly fills [load_end, end of RAM) ... */
	k.load_end = 60 * MiB;
	assert_int_equal(load_initrd_ok(mem, &k, 4 * MiB, 64 * MiB), 60 * MiB);
	memset(mem->host + 60 * MiB, 0, 4 * MiB);
	/* ... one byte more would overlap the kernel. */
	k.load_end = 60 * MiB + 1;
	expect_initrd_refused(mem, &k, 4 * MiB);
	k.load_end = 60 * MiB;
	expect_initrd_refused(mem, &k, 4 * MiB + 1);
	expect_initrd_refused(mem, &k, 64 * MiB);
	expect_initrd_refused(mem, &k, 64 * MiB + 1);
	expect_initrd_refused(mem, &k, 0);
	/* Never below 1 MiB, even with no kernel recorded. */
	k.load_end = 0;
	expect_initrd_refused(mem, &k, 64 * MiB - 4096);
	for (size_t i = 0; i < 64 * MiB; i += 4096)
		assert_int_equal(mem->host[i], 0);
	mem_free(mem);
}

/* ---- MP table ---- */

struct t_mpf {
	char sig[4];
	uint32_t physptr;
	uint8_t length, spec, checksum, feature1;
	uint8_t feature2_5[4];
} __attribute__((packed));

struct t_mpc {
	char sig[4];
	uint16_t length;
	uint8_t spec, checksum;
	char oem[8], product[12];
	uint32_t oemptr;
	uint16_t oemsize, count;
	uint32_t lapic;
	uint16_t ext_len;
	uint8_t ext_checksum, reserved;
} __attribute__((packed));

static uint8_t sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static void check_mptable(unsigned int nr_cpus)
{
	struct guest_mem *mem = mem_new(64 * MiB);
	struct boot_e820_entry e820[8];
	unsigned int cpus = 0, ioapics = 0, buses = 0, intsrc = 0, lint = 0, bsp = 0;
	uint8_t ioapic_id = 0, last_type = 0;
	struct t_mpf mpf;
	struct t_mpc mpc;
	const uint8_t *p, *end;
	bool in_reserved = false;
	int n;

	assert_int_equal(x86_setup_mptable(mem, nr_cpus), 0);
	assert_int_equal(guest_mem_read(mem, X86_MPFP_ADDR, &mpf, sizeof(mpf)), 0);
	assert_memory_equal(mpf.sig, "_MP_", 4);
	assert_int_equal(sum8(mem->host + X86_MPFP_ADDR, 16), 0);
	assert_int_equal(mpf.length, 1);
	assert_int_equal(mpf.spec, 4);
	assert_int_equal(mpf.feature1, 0);	/* a configuration table follows */

	assert_int_equal(guest_mem_read(mem, mpf.physptr, &mpc, sizeof(mpc)), 0);
	assert_memory_equal(mpc.sig, "PCMP", 4);
	assert_int_equal(sum8(mem->host + mpf.physptr, mpc.length), 0);
	assert_int_equal(mpc.lapic, X86_LAPIC_ADDR);
	assert_int_equal(mpc.ext_len, 0);
	/* The table must sit in e820-reserved memory so the guest does not reuse it. */
	n = x86_build_e820(mem, e820, ARRAY_SIZE(e820));
	for (int i = 0; i < n; i++)
		if (e820[i].type == E820_RESERVED && mpf.physptr >= e820[i].addr &&
		    mpf.physptr + mpc.length <= e820[i].addr + e820[i].size &&
		    X86_MPFP_ADDR + 16 <= e820[i].addr + e820[i].size)
			in_reserved = true;
	assert_true(in_reserved);
	assert_true(mpf.physptr + mpc.length <= X86_MPFP_ADDR);

	p = mem->host + mpf.physptr + sizeof(mpc);
	end = mem->host + mpf.physptr + mpc.length;
	for (unsigned int i = 0; i < mpc.count; i++) {
		assert_true(p < end);
		assert_true(p[0] >= last_type);		/* entries sorted by type (MP 1.4 4.3) */
		last_type = p[0];
		switch (p[0]) {
		case 0:	/* processor: apicid, apicver, flags (EN=1, BP=2) */
			assert_int_equal(p[1], cpus);
			assert_int_equal(p[3] & 1, 1);
			if (p[3] & 2)
				bsp++;
			assert_int_equal(!!(p[3] & 2), cpus == 0);
			cpus++;
			p += 20;
			break;
		case 1:
			assert_memory_equal(p + 2, "ISA   ", 6);
			buses++;
			p += 8;
			break;
		case 2: {
			uint32_t addr;

			memcpy(&addr, p + 4, 4);
			assert_int_equal(addr, X86_IOAPIC_ADDR);
			assert_int_equal(p[3] & 1, 1);
			ioapic_id = p[1];
			ioapics++;
			p += 8;
			break;
		}
		case 3:
			assert_int_equal(p[6], ioapic_id);	/* destination: our IOAPIC */
			assert_int_equal(p[7], p[5]);		/* ISA IRQ n -> pin n */
			intsrc++;
			p += 8;
			break;
		case 4:
			lint++;
			p += 8;
			break;
		default:
			fail_msg("unknown MP entry type %u", p[0]);
		}
	}
	assert_ptr_equal(p, end);
	assert_int_equal(cpus, nr_cpus);
	assert_int_equal(bsp, 1);
	assert_int_equal(buses, 1);
	assert_int_equal(ioapics, 1);
	assert_true(ioapic_id >= nr_cpus);	/* distinct from every LAPIC id */
	assert_int_equal(intsrc, 24);
	assert_int_equal(lint, 2);
	mem_free(mem);
}

static void test_mptable(void **state)
{
	(void)state;
	check_mptable(1);
	check_mptable(2);
	check_mptable(7);
	check_mptable(MVMM_MAX_CPUS);
}

static void test_mptable_bad_cpu_count(void **state)
{
	struct guest_mem *mem = mem_new(64 * MiB);

	(void)state;
	assert_int_equal(x86_setup_mptable(mem, 0), -EINVAL);
	assert_int_equal(x86_setup_mptable(mem, MVMM_MAX_CPUS + 1), -EINVAL);
	assert_int_equal(x86_setup_mptable(mem, 255), -EINVAL);
	for (uint64_t a = X86_MPTABLE_ADDR; a < X86_LOWMEM_END; a++)
		assert_int_equal(mem->host[a], 0);
	mem_free(mem);
}

/* All boot structures written together: none may overwrite another. */
static void test_boot_structures_coexist(void **state)
{
	struct guest_mem *mem = mem_new(64 * MiB);
	struct x86_kernel k = elf_kernel();
	char cmdline[X86_CMDLINE_MAX];
	struct x86_boot_args args = { .cmdline = cmdline };
	struct boot_params bp;
	uint64_t pd[4 * 512];

	(void)state;
	memset(cmdline, 'c', sizeof(cmdline) - 1);
	cmdline[sizeof(cmdline) - 1] = '\0';
	assert_int_equal(x86_setup_page_tables(mem), 0);
	assert_int_equal(x86_setup_mptable(mem, MVMM_MAX_CPUS), 0);
	assert_int_equal(x86_setup_boot_params(mem, &k, &args), 0);

	/* The identity map's 2 MiB entries (present, writable, large) are intact. */
	assert_int_equal(guest_mem_read(mem, X86_PD_ADDR, pd, sizeof(pd)), 0);
	for (uint64_t i = 0; i < ARRAY_SIZE(pd); i++)
		assert_int_equal(pd[i], (i << 21) | 0x83);
	assert_memory_equal(mem->host + X86_MPFP_ADDR, "_MP_", 4);
	assert_memory_equal(mem->host + X86_MPTABLE_ADDR, "PCMP", 4);
	assert_int_equal(sum8(mem->host + X86_MPFP_ADDR, 16), 0);
	bp = read_zero_page(mem);
	assert_int_equal(bp.hdr.header, 0x53726448);
	assert_memory_equal(mem->host + X86_CMDLINE_ADDR, cmdline, sizeof(cmdline));
	mem_free(mem);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e820_64m),
		cmocka_unit_test(test_e820_256m),
		cmocka_unit_test(test_e820_3g),
		cmocka_unit_test(test_e820_above_4g),
		cmocka_unit_test(test_e820_too_small_table),
		cmocka_unit_test(test_boot_params_elf),
		cmocka_unit_test(test_boot_params_null_cmdline),
		cmocka_unit_test(test_boot_params_initrd),
		cmocka_unit_test(test_boot_params_bzimage),
		cmocka_unit_test(test_cmdline_too_long),
		cmocka_unit_test(test_cmdline_bzimage_limit),
		cmocka_unit_test(test_initrd_top_of_low_ram),
		cmocka_unit_test(test_initrd_under_initrd_max),
		cmocka_unit_test(test_initrd_refused),
		cmocka_unit_test(test_mptable),
		cmocka_unit_test(test_mptable_bad_cpu_count),
		cmocka_unit_test(test_boot_structures_coexist),
	};

	/* Optional glob filters, to run or skip some tests: <exe> [include] [exclude]. */
	if (argc > 1 && argv[1][0])
		cmocka_set_test_filter(argv[1]);
	if (argc > 2 && argv[2][0])
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
