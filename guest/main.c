// SPDX-License-Identifier: MIT
/*
 * mvmm test guest: boot, set up, run the tests the command line names, report, exit.
 *
 * Output contract (guest/README.md): the banner first, then for each test its lines and one
 * "ok: <name>" or "FAIL: <name>: <reason>" per check, then "result: <code>".
 */
#include "guest.h"
#include "forkmem.h"
#include "blkbench.h"

#define BSP_USER_STACK_PAGES	4

/* All guest state; one image runs per VM, so one instance. */
struct guest g;

struct test {
	const char *name;
	void (*run)(void);
};

static void test_boot(void)
{
	printf("cmdline: %s\n", g.boot.cmdline);
	test_boot_e820();
	test_boot_mptable();
	test_boot_cpuid();
}

/* A CPL3 write to kernel memory: checks that the VMM reports a crashed guest (exit code 3). */
static void test_fault(void)
{
	u64 *target = &g.pml4;

	printf("fault: writing to kernel address 0x%lx from CPL3\n", (u64)target);
	user_call(user_fault, &target, sizeof(target));
	check_fail("fault", "CPL3 wrote to a kernel page");
}

static const struct test tests[] = {
	{ "boot", test_boot },
	{ "memory", test_memory },
	{ "smp", test_smp },
	{ "count", test_count },
	{ "fault", test_fault },
	{ "blk", test_blk },
	{ "blk_ro", test_blk_ro },
	{ "blk_flush", test_blk_flush },
	{ "blk_discard", test_blk_discard },
	{ "blk_zeroes", test_blk_zeroes },
	{ "blk_bad", test_blk_bad },
	{ "rng", test_rng },
	{ "forkmem", test_forkmem },
	{ "blkbench", test_blkbench },
};

static void run_test(const char *name, size_t len)
{
	u32 i;

	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		if (strlen(tests[i].name) == len && !strncmp(tests[i].name, name, len)) {
			printf("test: %s\n", tests[i].name);
			tests[i].run();
			return;
		}
	}
	{
		char word[32];

		len = MIN(len, sizeof(word) - 1);
		memcpy(word, name, len);
		word[len] = '\0';
		check_fail("test", "unknown test '%s'", word);
	}
}

static void check_expect_cpus(void)
{
	u64 want = g.opt.expect_cpus;

	if (!want)
		return;
	if (!g.mp.found)
		check_fail("expect_cpus", "no MP table: %s", g.mp.error);
	else if (g.mp.ncpus != want)
		check_fail("expect_cpus", "MP table lists %u cpus, expected %lu", g.mp.ncpus, want);
	else
		check_ok("expect_cpus %lu", want);
}

void __attribute__((noreturn)) guest_main(const u8 *zero_page);

void guest_main(const u8 *zero_page)
{
	const char *p, *end;
	int code;

	printf("mvmm-guest: boot ok (version %d)\n", GUEST_VERSION);
	/* Exceptions are reported from here on. */
	cpu_init_bsp();
	bootinfo_init(zero_page);
	options_parse();
	mptable_parse();
	memtest_plan();
	paging_init();
	this_cpu()->user_stack_top = user_alloc(BSP_USER_STACK_PAGES) +
				     BSP_USER_STACK_PAGES * PAGE_SIZE;
	tsc_calibrate();
	printf("tsc: %lu kHz (%s)\n", g.tsc_khz, g.tsc_source);
	check_expect_cpus();

	p = g.opt.tests;
	end = p + g.opt.tests_len;
	while (p < end) {
		const char *comma = p;

		while (comma < end && *comma != ',')
			comma++;
		if (comma > p)
			run_test(p, comma - p);
		p = comma + 1;
	}

	code = g.failures ? EXIT_FAIL : EXIT_PASS;
	if (g.opt.exit_code != NO_EXIT_CODE)
		code = (int)(g.opt.exit_code & 0xff);
	printf("result: %d\n", code);
	guest_exit(code);
}
