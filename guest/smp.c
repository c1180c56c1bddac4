// SPDX-License-Identifier: MIT
/*
 * test=smp: start every AP the MP table lists with INIT-SIPI-SIPI through the xAPIC ICR.  Each
 * AP runs entry.S's trampoline (real -> protected -> long mode), loads the guest's tables, does
 * a computation at CPL3 and bumps a shared counter there, then halts.  APs are started one at a
 * time because they share the trampoline's data block.
 */
#include "guest.h"

#define LAPIC_ESR		0x280
#define LAPIC_ICR_LO		0x300
#define LAPIC_ICR_HI		0x310
#define ICR_INIT		0x00000500
#define ICR_STARTUP		0x00000600
#define ICR_BUSY		0x00001000	/* delivery status: send pending */
#define ICR_ASSERT		0x00004000
#define ICR_LEVEL		0x00008000

#define AP_WORK_N		1000
#define AP_KSTACK_PAGES		(KERNEL_STACK_SIZE / PAGE_SIZE)

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
	"no trampoline instruction ran (AP never left wait-for-SIPI or real mode does not run)",
	"stuck in real mode",
	"reached 32-bit protected mode but not long mode",
	"reached long mode but not C code",
};

static void __attribute__((noreturn)) ap_main(struct cpu *c)
{
	struct ap_args a = {
		.apic_id = c->apic_id,
		.n = AP_WORK_N,
		.counter = &user_ap_counter,
	};

	cpu_init_ap(c);
	__atomic_store_n(&c->started, 1, __ATOMIC_RELEASE);
	c->result = user_call(user_ap_work, &a, sizeof(a));
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	for (;;)
		asm volatile("cli; hlt");
}

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

/* Wait until *flag is set or `ms` milliseconds pass; returns the flag. */
static u32 wait_flag(volatile u32 *flag, u64 ms)
{
	u64 end = rdtsc() + tsc_ms(ms);

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE) && rdtsc() < end)
		cpu_relax();
	return *flag;
}

/* Start one AP and wait for it to finish its CPL3 work; 0 when it did. */
static int ap_start(struct tramp_data *td, struct cpu *c)
{
	u32 icr, esr;

	td->stack = page_alloc(AP_KSTACK_PAGES) + KERNEL_STACK_SIZE;
	c->user_stack_top = user_stack_alloc(1);
	td->arg = (u64)c;
	td->stage = 0;
	c->started = 0;
	c->done = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);	/* td visible before the AP can run */

	icr = icr_send(c->apic_id, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
	udelay(100);
	icr_send(c->apic_id, ICR_STARTUP | (TRAMP_ADDR >> 12));
	if (!wait_flag(&td->stage, 10))
		icr = icr_send(c->apic_id, ICR_STARTUP | (TRAMP_ADDR >> 12));
	if (wait_flag(&c->done, g.opt.smp_timeout_ms))
		return 0;

	esr = mmio_read32(X86_LAPIC_ADDR + LAPIC_ESR);
	if (c->started)
		printf("smp: ap %u reached C code but did not come back from CPL3\n", c->apic_id);
	else
		printf("smp: ap %u stage %u: %s; icr 0x%x esr 0x%x\n", c->apic_id, td->stage,
		       stage_names[MIN(td->stage, ARRAY_SIZE(stage_names) - 1)], icr, esr);
	return -1;
}

void test_smp(void)
{
	struct tramp_data *td = (void *)(TRAMP_ADDR + (tramp_data - tramp_start));
	u32 i, running = 1, index = 1;
	u16 limit;
	u64 base;

	if (!g.mp.found) {
		check_fail("smp", "no MP table: %s", g.mp.error);
		return;
	}
	memcpy((void *)TRAMP_ADDR, tramp_start, tramp_end - tramp_start);
	gdt_get(&limit, &base);
	td->gdt_limit = limit;
	td->gdt_base = (u32)base;
	td->cr3 = (u32)g.pml4;
	td->entry = (u64)ap_main;
	user_ap_counter = 0;

	for (i = 0; i < g.mp.ncpus; i++) {
		const struct mp_cpu *m = &g.mp.cpus[i];
		struct cpu *c;

		if (m->flags & MP_CPU_BSP)
			continue;
		c = cpu_alloc(index++, m->apic_id);
		if (ap_start(td, c)) {
			/*
			 * A late AP would read the next AP's stack from the shared trampoline
			 * data, so stop here.
			 */
			check_fail("smp", "ap %u did not start", m->apic_id);
			return;
		}
		if (c->result != ap_work_expected(m->apic_id, AP_WORK_N)) {
			check_fail("smp", "ap %u returned 0x%lx from CPL3", m->apic_id, c->result);
			return;
		}
		printf("smp: ap %u running\n", m->apic_id);
		running++;
	}
	if (user_ap_counter != running - 1)
		check_fail("smp", "shared counter %lu, %u APs ran", user_ap_counter, running - 1);
	else
		check_ok("smp %u cpus running", running);
}
