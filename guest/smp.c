// SPDX-License-Identifier: MIT
/*
 * Application processors: start-up and work dispatch.
 *
 * smp_start() starts every AP the MP table lists with INIT-SIPI-SIPI through the xAPIC ICR.
 * Each AP runs entry.S's trampoline (real -> protected -> long mode), loads the guest's tables
 * and idles in `sti; hlt`.  smp_run() hands a CPL3 function to the APs (IPI_VECTOR wakes them)
 * and runs it on the BSP too.  APs are started one at a time because they share the
 * trampoline's data block.
 *
 * test=smp starts the APs and has every CPU compute a value at CPL3 and bump a shared counter.
 */
#include "guest.h"

#define LAPIC_ESR		0x280
#define LAPIC_ICR_LO		0x300
#define LAPIC_ICR_HI		0x310
#define ICR_FIXED		0x00000000
#define ICR_INIT		0x00000500
#define ICR_STARTUP		0x00000600
#define ICR_BUSY		0x00001000	/* delivery status: send pending */
#define ICR_ASSERT		0x00004000
#define ICR_LEVEL		0x00008000

#define AP_WORK_N		1000
#define AP_KSTACK_PAGES		(KERNEL_STACK_SIZE / PAGE_SIZE)
#define SIPI_WAIT_MS		10		/* before a second SIPI */

/* Must match tramp_data in entry.S; naturally aligned, lgdt's operand starts at gdt_limit. */
struct tramp_data {
	u16 pad;
	u16 gdt_limit;
	u32 gdt_base;
	volatile u32 stage;		/* 1 real mode, 2 protected mode, 3 long mode */
	u32 cr3;
	u64 stack;
	u64 arg;			/* struct cpu * */
	u64 entry;			/* ap_main */
};

_Static_assert(offsetof(struct tramp_data, gdt_limit) == 2, "entry.S tramp_data layout");
_Static_assert(offsetof(struct tramp_data, stack) == 16, "entry.S tramp_data layout");
_Static_assert(sizeof(struct tramp_data) == 40, "entry.S tramp_data layout");

static const char *const stage_names[] = {
	"no trampoline instruction ran (still waiting for SIPI, or real mode does not run)",
	"stuck in real mode",
	"reached 32-bit protected mode but not long mode",
	"reached long mode but not C code",
};

static u32 icr_send(u8 apic_id, u32 lo)
{
	u32 i;

	mmio_write32(X86_LAPIC_ADDR + LAPIC_ESR, 0);
	mmio_write32(X86_LAPIC_ADDR + LAPIC_ICR_HI, (u32)apic_id << 24);
	mmio_write32(X86_LAPIC_ADDR + LAPIC_ICR_LO, lo);
	for (i = 0; i < 1000; i++) {
		lo = mmio_read32(X86_LAPIC_ADDR + LAPIC_ICR_LO);
		if (!(lo & ICR_BUSY))
			break;
	}
	return lo;
}

static void __attribute__((noreturn)) ap_main(struct cpu *c)
{
	u32 seen = 0;

	cpu_init_ap(c);
	__atomic_store_n(&c->started, 1, __ATOMIC_RELEASE);
	for (;;) {
		/*
		 * sti's one-instruction delay means an IPI that arrives after the check is
		 * taken at the hlt and ends it, so no wake-up is lost.
		 */
		while (__atomic_load_n(&c->work_seq, __ATOMIC_ACQUIRE) == seen)
			asm volatile("sti; hlt; cli" : : : "memory");
		seen = c->work_seq;
		/* The BSP may have made pages user-accessible since this CPU cached them. */
		write_cr3(g.pml4);
		c->work_ret = user_call(c->work_fn, c->work_arg, c->work_size);
		__atomic_store_n(&c->done_seq, seen, __ATOMIC_RELEASE);
	}
}

/* Wait until *flag is nonzero or `ms` milliseconds pass; returns the flag. */
static u32 wait_flag(volatile u32 *flag, u64 ms)
{
	u64 end = rdtsc() + tsc_ms(ms);

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE) && rdtsc() < end)
		cpu_relax();
	return *flag;
}

/* Start one AP and wait until it runs C code; 0 when it did. */
static int ap_start(struct tramp_data *td, struct cpu *c)
{
	u32 icr;

	td->stack = page_alloc(AP_KSTACK_PAGES) + KERNEL_STACK_SIZE;
	c->user_stack_top = user_alloc(1) + PAGE_SIZE;
	td->arg = (u64)c;
	td->stage = 0;
	c->started = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);	/* td visible before the AP can run */

	icr = icr_send(c->apic_id, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
	udelay(100);
	icr = icr_send(c->apic_id, ICR_STARTUP | (TRAMP_ADDR >> 12));
	if (!wait_flag(&td->stage, SIPI_WAIT_MS))
		icr = icr_send(c->apic_id, ICR_STARTUP | (TRAMP_ADDR >> 12));
	if (wait_flag(&c->started, g.opt.smp_timeout_ms))
		return 0;

	printf("smp: ap %u stage %u: %s; icr 0x%x esr 0x%x\n", c->apic_id, td->stage,
	       stage_names[MIN(td->stage, ARRAY_SIZE(stage_names) - 1)], icr,
	       mmio_read32(X86_LAPIC_ADDR + LAPIC_ESR));
	g.smp.failed_apic = c->apic_id;
	return -1;
}

/*
 * Start the APs in the MP table, once; returns how many CPUs (BSP included) take work.  It
 * stops at the first AP that does not start: that AP might still wake up later and would then
 * read the next AP's stack from the shared trampoline data.
 */
u32 smp_start(void)
{
	struct tramp_data *td = (void *)(TRAMP_ADDR + (tramp_data - tramp_start));
	u16 limit;
	u64 base;
	u32 i;

	if (g.smp.started)
		return g.smp.online;
	g.smp.started = 1;
	g.smp.online = 1;
	g.smp.failed_apic = -1;
	if (!g.mp.found)
		return 1;

	memcpy((void *)TRAMP_ADDR, tramp_start, tramp_end - tramp_start);
	gdt_get(&limit, &base);
	td->gdt_limit = limit;
	td->gdt_base = (u32)base;
	td->cr3 = (u32)g.pml4;
	td->entry = (u64)ap_main;

	for (i = 0; i < g.mp.ncpus; i++) {
		const struct mp_cpu *m = &g.mp.cpus[i];

		if (m->flags & MP_CPU_BSP)
			continue;
		if (ap_start(td, cpu_alloc(g.smp.online, m->apic_id)))
			break;
		g.smp.online++;
	}
	return g.smp.online;
}

/*
 * Run fn at CPL3 on CPUs 0..n-1 (0 is this one, the BSP), CPU i on the `size` bytes at
 * args + i * size, which come back updated; rets[i] gets its return value when rets is set.
 * An AP that does not finish within timeout_ms ends the guest: it may still write to args.
 */
void smp_run(u64 (*fn)(void *), void *args, size_t size, u32 n, u64 *rets, u64 timeout_ms)
{
	u64 end, r0;
	u32 i;

	for (i = 1; i < n; i++) {
		struct cpu *c = g.cpus[i];

		c->work_fn = fn;
		c->work_arg = (u8 *)args + i * size;
		c->work_size = size;
		__atomic_store_n(&c->work_seq, c->work_seq + 1, __ATOMIC_RELEASE);
		icr_send(c->apic_id, ICR_FIXED | ICR_ASSERT | IPI_VECTOR);
	}
	r0 = user_call(fn, args, size);
	if (rets)
		rets[0] = r0;

	end = rdtsc() + tsc_ms(timeout_ms);
	for (i = 1; i < n; i++) {
		struct cpu *c = g.cpus[i];

		while (__atomic_load_n(&c->done_seq, __ATOMIC_ACQUIRE) != c->work_seq) {
			if (rdtsc() > end)
				panic("cpu %u (apic %u) did not finish its work", i, c->apic_id);
			cpu_relax();
		}
		if (rets)
			rets[i] = c->work_ret;
	}
}

void test_smp(void)
{
	struct ap_args args[MAX_CPUS];
	u64 rets[MAX_CPUS];
	u32 i, n = smp_start(), bad = 0;

	if (!g.mp.found) {
		check_fail("smp", "no MP table: %s", g.mp.error);
		return;
	}
	user_ap_counter = 0;
	for (i = 0; i < n; i++) {
		args[i].apic_id = g.cpus[i]->apic_id;
		args[i].n = AP_WORK_N;
		args[i].counter = &user_ap_counter;
	}
	smp_run(user_ap_work, args, sizeof(args[0]), n, rets, g.opt.smp_timeout_ms);

	for (i = 0; i < n; i++) {
		u8 id = g.cpus[i]->apic_id;

		if (rets[i] != ap_work_expected(id, AP_WORK_N)) {
			check_fail("smp", "cpu %u returned 0x%lx from CPL3", id, rets[i]);
			bad++;
		} else if (i) {
			printf("smp: ap %u running\n", id);
		}
	}
	if (g.smp.failed_apic >= 0) {
		/* smp_start() printed the diagnostic line when it happened. */
		check_fail("smp", "ap %d did not start", g.smp.failed_apic);
	} else if (user_ap_counter != n) {
		check_fail("smp", "shared counter is %lu after %u cpus", user_ap_counter, n);
	} else if (!bad) {
		check_ok("smp %u cpus running", n);
	}
}
