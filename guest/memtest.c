// SPDX-License-Identifier: MIT
/*
 * test=memory: write an address-derived pattern over all free RAM and read it back, at CPL3
 * so that it runs natively on PVM.  "Free" is usable e820 RAM minus what the VMM or the guest
 * put there (bootinfo.c's reserved ranges: boot structures, image, pool).
 */
#include "guest.h"

#define MEMTEST_SEED	0x6d766d6d2d677374ULL	/* "mvmm-gst" */

static void add_range(u64 start, u64 end)
{
	if (start >= end)
		return;
	if (g.test_count == ARRAY_SIZE(g.test))
		panic("too many memory test ranges");
	g.test[g.test_count].start = start;
	g.test[g.test_count].end = end;
	g.test_count++;
}

static void sort_reserved(void)
{
	struct range *r = g.boot.reserved;
	u32 i, j;

	for (i = 1; i < g.boot.reserved_count; i++) {
		struct range x = r[i];

		for (j = i; j && r[j - 1].start > x.start; j--)
			r[j] = r[j - 1];
		r[j] = x;
	}
}

/*
 * Work out g.test before paging_init(), which makes those ranges user-accessible; memtest_mib
 * caps the total, lowest addresses first.
 */
void memtest_plan(void)
{
	u64 limit = g.opt.memtest_mib ? g.opt.memtest_mib << 20 : ~0ULL, total = 0;
	u32 i, j;

	sort_reserved();
	for (i = 0; i < g.boot.e820_count; i++) {
		const struct e820_entry *e = &g.boot.e820[i];
		u64 cur = ALIGN_UP(e->addr, PAGE_SIZE), end = ALIGN_DOWN(e->addr + e->size, PAGE_SIZE);

		if (e->type != E820_RAM)
			continue;
		for (j = 0; j < g.boot.reserved_count && cur < end; j++) {
			const struct range *r = &g.boot.reserved[j];

			if (r->end <= cur || r->start >= end)
				continue;
			add_range(cur, r->start);
			cur = MAX(cur, r->end);
		}
		add_range(cur, end);
	}
	for (i = 0; i < g.test_count; i++) {
		u64 len = g.test[i].end - g.test[i].start;

		if (total + len >= limit) {
			g.test[i].end = g.test[i].start + (limit - total);
			g.test_count = g.test[i].end > g.test[i].start ? i + 1 : i;
			total = limit;
			break;
		}
		total += len;
	}
}

void test_memory(void)
{
	struct memtest_args args;
	u64 bytes = 0, t0, ms, r;
	u32 i;

	for (i = 0; i < g.test_count; i++) {
		args.ranges[2 * i] = g.test[i].start;
		args.ranges[2 * i + 1] = g.test[i].end;
		bytes += g.test[i].end - g.test[i].start;
	}
	if (!bytes) {
		check_fail("memory", "no free RAM to test");
		return;
	}
	args.nranges = g.test_count;
	args.seed = MEMTEST_SEED;
	printf("memory: testing %lu KiB in %u ranges\n", bytes >> 10, g.test_count);

	t0 = rdtsc();
	r = user_call(user_memtest, &args,
		      offsetof(struct memtest_args, ranges) + 2 * sizeof(u64) * g.test_count);
	ms = (rdtsc() - t0) / g.tsc_khz;
	printf("memory: %lu ms (write %lu ms, verify %lu ms)\n", ms, args.fill_tsc / g.tsc_khz,
	       args.verify_tsc / g.tsc_khz);
	if (r) {
		char name[48];

		snprintf(name, sizeof(name), "memory at 0x%lx", args.bad_addr);
		check_fail(name, "expected 0x%lx got 0x%lx", args.expected, args.got);
		return;
	}
	check_ok("memory %lu MiB", bytes >> 20);
}
