// SPDX-License-Identifier: MIT
/*
 * Descriptor tables, the TSS, exceptions and the CPL3 round trip.
 *
 * The VMM enters the guest with a boot GDT and no IDT or TSS.  An exception from CPL3 into a
 * CPL0 handler needs a valid, busy 64-bit TSS in TR (the CPU takes rsp0 from it), so each CPU
 * gets its own TSS descriptor in our GDT and loads it with ltr, which marks it busy.
 */
#include "guest.h"

#define GDT_FIXED	6		/* null, code32, code64, data, user data, user code64 */

/*
 * Flat descriptors.  The kernel selectors keep the boot GDT's numbers (code 0x10, data 0x18);
 * code32 exists for the AP trampoline's protected-mode step.  The TSS descriptors (two slots
 * each) follow and are filled in at run time.
 */
static u64 gdt[GDT_FIXED + 2 * MAX_CPUS] __attribute__((aligned(16))) = {
	[SEL_KCODE32 / 8] = 0x00cf9a000000ffffULL,	/* 32-bit code, DPL0 */
	[SEL_KCODE / 8] = 0x00af9a000000ffffULL,	/* 64-bit code, DPL0 */
	[SEL_KDATA / 8] = 0x00cf92000000ffffULL,	/* data, DPL0 */
	[SEL_UDATA / 8] = 0x00cff2000000ffffULL,	/* data, DPL3 */
	[SEL_UCODE / 8] = 0x00affa000000ffffULL,	/* 64-bit code, DPL3 */
};

struct idt_gate {
	u16 offset_lo;
	u16 selector;
	u8 ist;
	u8 type_attr;			/* P | DPL | type */
	u16 offset_mid;
	u32 offset_hi;
	u32 reserved;
} __attribute__((packed));

struct desc_ptr {
	u16 limit;
	u64 base;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));
static struct tss tss[MAX_CPUS] __attribute__((aligned(16)));
static struct cpu cpus[MAX_CPUS];

_Static_assert(offsetof(struct cpu, kernel_rsp) == CPU_KERNEL_RSP, "entry.S offset");
_Static_assert(offsetof(struct cpu, tss) == CPU_TSS, "entry.S offset");
_Static_assert(offsetof(struct tss, rsp) == TSS_RSP0, "entry.S offset");
_Static_assert(sizeof(struct tss) == 104, "64-bit TSS size");
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate size");
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "entry.S frame");

#define LAPIC_ID	0x20
#define LAPIC_EOI	0xb0
#define LAPIC_SVR	0xf0
#define LAPIC_SVR_ON	0x100
#define LAPIC_LVT0	0x350
#define LAPIC_LVT_MASK	0x10000

#define MSR_GS_BASE	0xc0000101

u32 lapic_id(void)
{
	return mmio_read32(X86_LAPIC_ADDR + LAPIC_ID) >> 24;
}

static void tss_install(u32 i)
{
	u64 base = (u64)&tss[i], limit = sizeof(struct tss) - 1;

	tss[i].iomap_base = sizeof(struct tss);	/* no I/O bitmap */
	gdt[GDT_FIXED + 2 * i] = (limit & 0xffff) | (base & 0xffffff) << 16 |
				 0x89ULL << 40 |	/* present, available 64-bit TSS */
				 ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
	gdt[GDT_FIXED + 2 * i + 1] = base >> 32;
}

static void idt_build(void)
{
	static const u8 extra[ISR_COUNT - 32] = { IPI_VECTOR, SPURIOUS_VECTOR, VIRTIO_VECTOR };
	u32 i;

	for (i = 0; i < ISR_COUNT; i++) {
		u32 vec = i < 32 ? i : extra[i - 32];
		u64 h = isr_table[i];

		idt[vec].offset_lo = (u16)h;
		idt[vec].selector = SEL_KCODE;
		idt[vec].type_attr = 0x8e;		/* present, DPL0, interrupt gate */
		idt[vec].offset_mid = (u16)(h >> 16);
		idt[vec].offset_hi = (u32)(h >> 32);
	}
}

/* Load the tables on this CPU and point %gs at its struct cpu. */
static void cpu_load(struct cpu *c)
{
	struct desc_ptr gp = { sizeof(gdt) - 1, (u64)gdt };
	struct desc_ptr ip = { sizeof(idt) - 1, (u64)idt };

	asm volatile("lgdt %0\n\t"
		     "pushq %1\n\t"
		     "leaq 1f(%%rip), %%rax\n\t"
		     "pushq %%rax\n\t"
		     "lretq\n"
		     "1:\n\t"
		     "mov %2, %%ds\n\t"
		     "mov %2, %%es\n\t"
		     "mov %2, %%ss\n\t"
		     "mov %3, %%fs\n\t"
		     "mov %3, %%gs"
		     : : "m"(gp), "i"(SEL_KCODE), "r"(SEL_KDATA), "r"(0) : "rax", "memory");
	/* A null %gs selector is never reloaded by iretq, so the base written next survives. */
	wrmsr(MSR_GS_BASE, (u64)c);
	asm volatile("ltr %w0" : : "r"(SEL_TSS(c->index)));
	asm volatile("lidt %0" : : "m"(ip));
	/* Software-enable the LAPIC; the spurious vector has a handler that ignores it. */
	mmio_write32(X86_LAPIC_ADDR + LAPIC_SVR, LAPIC_SVR_ON | SPURIOUS_VECTOR);
}

struct cpu *cpu_alloc(u32 index, u8 apic_id)
{
	struct cpu *c = &cpus[index];

	c->self = c;
	c->index = index;
	c->apic_id = apic_id;
	c->tss = &tss[index];
	tss_install(index);
	g.cpus[index] = c;
	return c;
}

void cpu_init_bsp(void)
{
	idt_build();
	cpu_load(cpu_alloc(0, (u8)lapic_id()));
}

void cpu_init_ap(struct cpu *c)
{
	cpu_load(c);
	/*
	 * APs idle with interrupts on, waiting for IPI_VECTOR; keep the 8259's ExtINT away
	 * from them whatever the VMM set up (its vectors would alias exceptions).
	 */
	mmio_write32(X86_LAPIC_ADDR + LAPIC_LVT0, LAPIC_LVT_MASK);
}

/*
 * Run fn(arg copy) at CPL3 on this CPU's user stack and return what it returns.  The `size`
 * bytes at arg are copied onto the user stack (kernel memory is not user-accessible) and
 * copied back afterwards, so fn can return results through them.
 */
u64 user_call(u64 (*fn)(void *), void *arg, size_t size)
{
	struct cpu *c = this_cpu();
	u64 uarg = ALIGN_DOWN(c->user_stack_top - size, 16), ret;
	u64 *sp = (u64 *)uarg - 1;

	memcpy((void *)uarg, arg, size);
	/* Returning from fn lands in the stub, which makes the HC_EXIT hypercall. */
	*sp = (u64)user_exit_stub;
	ret = user_run(c, (u64)fn, (u64)sp, uarg);
	memcpy(arg, (void *)uarg, size);
	return ret;
}

void gdt_get(u16 *limit, u64 *base)
{
	*limit = sizeof(gdt) - 1;
	*base = (u64)gdt;
}

static void hypercall(struct trap_frame *f)
{
	switch (f->rax) {
	case HC_EXIT:
		user_return(this_cpu(), f->rdi);
	case HC_COUNT:
		printf("count: %lu %lu\n", f->rdi, f->rsi);
		f->rax = 0;
		break;
	default:
		f->rax = ~0ULL;
		break;
	}
	f->rip += 2;
}

static int is_hypercall(const struct trap_frame *f)
{
	const u8 *ip = (const u8 *)f->rip;

	/* Only look at user text: a wild rip must not fault in here. */
	return f->vector == 6 && (f->cs & 3) == 3 && f->rip >= (u64)_user_start &&
	       f->rip + 2 <= (u64)_user_end && ip[0] == 0x0f && ip[1] == 0x0b;
}

void trap_handle(struct trap_frame *f)
{
	static volatile u32 crashing;
	u64 cr2;

	if (is_hypercall(f)) {
		hypercall(f);
		return;
	}
	if (f->vector == SPURIOUS_VECTOR)
		return;
	if (f->vector == IPI_VECTOR) {
		/* Only a wake-up: the woken CPU looks for work itself. */
		mmio_write32(X86_LAPIC_ADDR + LAPIC_EOI, 0);
		return;
	}
	if (f->vector == VIRTIO_VECTOR) {
		/* The device is acknowledged first, so its line is low again before the EOI. */
		virtio_irq();
		mmio_write32(X86_LAPIC_ADDR + LAPIC_EOI, 0);
		return;
	}

	/* One report only: a fault while reporting (or on another CPU) just ends the VM. */
	if (__atomic_exchange_n(&crashing, 1, __ATOMIC_ACQ_REL))
		guest_exit(EXIT_CRASH);
	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	printf("FAIL: exception %lu rip 0x%lx err 0x%lx cr2 0x%lx\n", f->vector, f->rip, f->error,
	       cr2);
	printf("exception: cs 0x%lx rsp 0x%lx rflags 0x%lx rax 0x%lx rdi 0x%lx apic %u\n", f->cs,
	       f->rsp, f->rflags, f->rax, f->rdi, lapic_id());
	printf("result: %d\n", EXIT_CRASH);
	guest_exit(EXIT_CRASH);
}
