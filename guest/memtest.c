// SPDX-License-Identifier: MIT
/*
 * test=memory: write an address-derived pattern over all free RAM and read it back, at CPL3
 * so that it runs natively on PVM.  "Free" is usable e820 RAM minus what the VMM or the guest
 * put there (bootinfo.c's reserved ranges: boot structures, image, pool).
 */
#include "guest.h"

#define MEMTEST_SEED		0x6d766d6d2d677374ULL	/* "mvmm-gst" */
/* Generous: the first touch of RAM costs up to ~30 us per page here, 8 s per GiB. */
#define MEMTEST_TIMEOUT_MS	(600 * 1000)

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
		u64 cur = ALIGN_UP(e->addr, PAGE_SIZE);
		u64 end = ALIGN_DOWN(e->addr + e->size, PAGE_SIZE);

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
	/*
	 * Device buffers (dma_alloc) come from the top of the largest free range below the MMIO
	 * hole, whatever memtest_mib says.  They may overlap the memory test's RAM: tests run one
	 * after the other, and the virtio tests reset their devices before they end.
	 */
	for (i = 0; i < g.test_count; i++) {
		const struct range *r = &g.test[i];

		if (r->end <= X86_MMIO_HOLE_START &&
		    r->end - r->start > g.dma.end - g.dma.start)
			g.dma = *r;
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

/*
 * Every CPU writes its share, then every CPU checks the share of the next one, so data is
 * read back on a different vCPU than wrote it (when there are several).  Spreading the work
 * matters on PVM: the first touch of each guest page costs ~20 us of host work, which
 * vCPUs do in parallel.
 */
void test_memory(void)
{
	struct memtest_args a[MAX_CPUS];
	u64 rets[MAX_CPUS], bytes = 0, share, t0, t1, t2, *ranges;
	u32 i, n = 1;

	for (i = 0; i < g.test_count; i++)
		bytes += g.test[i].end - g.test[i].start;
	if (!bytes) {
		check_fail("memory", "no free RAM to test");
		return;
	}
	if (g.opt.memtest_cpus != 1)
		n = smp_start();
	if (g.opt.memtest_cpus)
		n = (u32)MIN(n, g.opt.memtest_cpus);
	printf("memory: testing %lu KiB in %u ranges on %u cpus\n", bytes >> 10, g.test_count, n);

	/* User code reads the range table, so it goes into user-accessible pages. */
	ranges = (u64 *)user_alloc(ALIGN_UP(sizeof(u64) * 2 * g.test_count, PAGE_SIZE) / PAGE_SIZE);
	for (i = 0; i < g.test_count; i++) {
		ranges[2 * i] = g.test[i].start;
		ranges[2 * i + 1] = g.test[i].end;
	}
	share = ALIGN_UP((bytes + n - 1) / n, PAGE_SIZE);
	memset(a, 0, sizeof(a[0]) * n);
	for (i = 0; i < n; i++) {
		a[i].ranges = ranges;
		a[i].nranges = g.test_count;
		a[i].seed = MEMTEST_SEED;
		a[i].skip = i * share;
		a[i].len = share;
	}

	t0 = rdtsc();
	smp_run(user_memtest, a, sizeof(a[0]), n, NULL, MEMTEST_TIMEOUT_MS);
	t1 = rdtsc();
	for (i = 0; i < n; i++) {
		a[i].skip = (i + 1) % n * share;
		a[i].verify = 1;
	}
	smp_run(user_memtest, a, sizeof(a[0]), n, rets, MEMTEST_TIMEOUT_MS);
	t2 = rdtsc();
	printf("memory: write %lu ms, verify %lu ms\n", (t1 - t0) / g.tsc_khz,
	       (t2 - t1) / g.tsc_khz);

	for (i = 0; i < n; i++) {
		char name[48];

		if (!rets[i])
			continue;
		snprintf(name, sizeof(name), "memory at 0x%lx", a[i].bad_addr);
		check_fail(name, "expected 0x%lx got 0x%lx (checked on cpu %u)", a[i].expected,
			   a[i].got, g.cpus[i]->apic_id);
		return;
	}
	check_ok("memory %lu MiB", bytes >> 20);
}
