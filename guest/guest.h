/* SPDX-License-Identifier: MIT */
/*
 * mvmm test guest: shared kernel-side declarations.
 *
 * The guest runs its set-up and device work at CPL0 and its loops at CPL3, because on PVM hosts
 * CPL0 code is emulated one instruction at a time while CPL3 code runs natively (see
 * ../../shared/GUEST.md).  Everything CPL3 code touches lives in user.c and user.h.
 */
#ifndef MVMM_GUEST_GUEST_H
#define MVMM_GUEST_GUEST_H

#define GUEST_VERSION		1
#define MAX_CPUS		64
#define MAX_E820		128
#define PAGE_SIZE		4096ULL
#define LARGE_PAGE_SIZE		(2ULL << 20)
#define KERNEL_STACK_SIZE	(16 * 1024)

/* Pages the guest allocates at run time come from a pool right after its image. */
#define GUEST_POOL_SIZE		(2ULL << 20)

/* Low page the AP start-up trampoline is copied to (free in layout.h's map). */
#define TRAMP_ADDR		0x8000

/* struct cpu offsets used by entry.S (checked with static asserts in cpu.c) */
#define CPU_KERNEL_RSP		8
#define CPU_TSS			16
#define TSS_RSP0		4

/* Exit codes: 0 all passed, 1 a check failed, 3 unexpected exception or internal error. */
#define EXIT_PASS		0
#define EXIT_FAIL		1
#define EXIT_CRASH		3

/* GDT selectors; 0x10 and 0x18 match the boot GDT the VMM enters us with. */
#define SEL_KCODE32		0x08
#define SEL_KCODE		0x10
#define SEL_KDATA		0x18
#define SEL_UDATA		0x20
#define SEL_UCODE		0x28
#define SEL_TSS(cpu)		(0x30 + 16 * (cpu))

/* Interrupt vectors: exceptions 0..31 plus these three have handlers (entry.S isr_table). */
#define VIRTIO_VECTOR		48	/* a virtio-mmio device's IOAPIC line; see virtio.c */
#define IPI_VECTOR		240	/* wakes an idle AP; see smp.c */
#define SPURIOUS_VECTOR		255	/* LAPIC spurious interrupts */
#define ISR_COUNT		35

#ifndef __ASSEMBLER__

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "../arch/x86/layout.h"
#include "user.h"

#define ALIGN_UP(x, a)		(((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((uint64_t)(a) - 1))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)		((a) < (b) ? (a) : (b))
#define MAX(a, b)		((a) > (b) ? (a) : (b))

typedef int8_t s8;
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

/* Linker-script symbols (guest.ld). */
extern char _image_start[], _image_end[];
extern char _user_start[], _user_end[];
extern char tramp_start[], tramp_end[], tramp_data[];

/* A half-open physical range [start, end). */
struct range {
	u64 start;
	u64 end;
};

struct e820_entry {
	u64 addr;
	u64 size;
	u32 type;
} __attribute__((packed));

#define E820_RAM		1

/* Everything the guest learnt at boot; filled once by the BSP before any test runs. */
struct bootinfo {
	char cmdline[X86_CMDLINE_MAX];
	struct e820_entry e820[MAX_E820];
	u32 e820_count;
	u32 e820_raw_count;			/* as the zero page said, before clamping */
	struct range reserved[16];		/* boot structures the memory test keeps out of */
	u32 reserved_count;
	u64 pool_start, pool_end;		/* run-time page pool after the image */
	u64 ram_top;				/* end of the highest usable RAM */
};

/* Options from the command line (bootinfo.c lists them). */
struct options {
	const char *tests;			/* comma list, points into bootinfo.cmdline */
	size_t tests_len;
	u64 expect_cpus;			/* 0: no expectation */
	u64 memtest_mib;			/* 0: all free RAM */
	u64 memtest_cpus;			/* 0: every CPU that starts */
	u64 count_ms;
	u64 smp_timeout_ms;
	u64 exit_code;				/* NO_EXIT_CODE: derive from checks */
	u64 virtio_features;			/* optional virtio features the guest may take */
	u64 blk_seed;				/* test pattern seed (blk.c) */
	u64 blk_sectors;			/* 0: the whole disk */
	u64 blk_depth;				/* requests in flight */
	u64 blk_req;				/* sectors per request */
	u32 blk_mode;				/* BLK_MODE_* */
	u64 rng_bytes;
};

#define BLK_MODE_WRITE		1
#define BLK_MODE_READ		2
#define BLK_MODE_RW		(BLK_MODE_WRITE | BLK_MODE_READ)

#define NO_EXIT_CODE		(~0ULL)

struct mp_cpu {
	u8 apic_id;
	u8 flags;				/* MP_CPU_* */
};

#define MP_CPU_ENABLED		0x01
#define MP_CPU_BSP		0x02

struct mpinfo {
	int found;
	u32 lapic_addr;
	struct mp_cpu cpus[MAX_CPUS];
	u32 ncpus;				/* enabled processor entries */
	u32 ioapic_addr[8];
	u32 nioapics;
	char error[96];				/* why parsing failed, when found == 0 */
};

/*
 * Per-CPU state.  %gs points here; `self` must stay first so this_cpu() can load it.  The
 * user_run()/user_return() pair keeps the kernel stack pointer in kernel_rsp.
 *
 * Work for an AP (smp.c): the BSP fills work_fn/arg/size, bumps work_seq and sends IPI_VECTOR;
 * the AP runs work_fn at CPL3 and sets done_seq to work_seq.
 */
struct cpu {
	struct cpu *self;
	u64 kernel_rsp;				/* saved by user_run (CPU_KERNEL_RSP) */
	struct tss *tss;			/* this CPU's TSS (CPU_TSS) */
	u32 index;				/* 0 = BSP */
	u8 apic_id;
	u64 user_stack_top;
	volatile u32 started;			/* AP reached C code */
	u64 (*work_fn)(void *);
	void *work_arg;				/* kernel memory, copied by user_call() */
	size_t work_size;
	u64 work_ret;
	volatile u32 work_seq;
	volatile u32 done_seq;
};

/* The 64-bit TSS; the CPU switches to rsp0 on an exception from CPL3. */
struct tss {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} __attribute__((packed));

/* Register frame built by the ISR stubs in entry.S, lowest address first. */
struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss;		/* pushed by the CPU */
};

/* Global state hangs off one struct; the guest is single-image so one instance exists. */
struct guest {
	struct bootinfo boot;
	struct options opt;
	struct mpinfo mp;
	u64 tsc_khz;
	const char *tsc_source;
	u32 failures;
	struct cpu *cpus[MAX_CPUS];		/* by CPU index; the APs that started */
	u64 pml4;				/* physical address of our top-level page table */
	u64 pool_next;
	struct range test[MEMTEST_MAX_RANGES];	/* RAM the memory test owns */
	u32 test_count;
	struct range dma;			/* free RAM below 4 GiB for device buffers */
	struct virtio *virtio;			/* virtio.c's state, allocated on first use */
	struct {
		int started;			/* smp_start() ran */
		u32 online;			/* CPUs taking work, BSP included */
		int failed_apic;		/* AP that did not start, or -1 */
	} smp;
};

extern struct guest g;

/* port I/O and other privileged instructions */
static inline void outb(u16 port, u8 v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(u16 port, u32 v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

static inline void cpuid(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
	asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

static inline u32 mmio_read32(u64 addr)
{
	return *(volatile u32 *)addr;
}

static inline void mmio_write32(u64 addr, u32 v)
{
	*(volatile u32 *)addr = v;
}

/* Switch to (or reload, flushing the TLB) the page tables at pml4. */
static inline void write_cr3(u64 pml4)
{
	asm volatile("mov %0, %%cr3" : : "r"(pml4) : "memory");
}

static inline void cpu_relax(void)
{
	asm volatile("pause" : : : "memory");
}

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;

	asm volatile("mov %%gs:0, %0" : "=r"(c));
	return c;
}

/* lib.c */
void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
int parse_u64(const char *s, size_t len, u64 *out);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* console.c */
void console_write(const char *s, size_t len);
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void check_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void check_fail(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void __attribute__((noreturn)) guest_exit(int code);
void __attribute__((noreturn)) panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* bootinfo.c */
void bootinfo_init(const u8 *zero_page);
void reserve_range(u64 start, u64 end);
const struct e820_entry *e820_find_ram(u64 start, u64 end);
void options_parse(void);
void test_boot_e820(void);

/* mptable.c */
void mptable_parse(void);
void test_boot_mptable(void);

/* cpu.c */
void cpu_init_bsp(void);
void cpu_init_ap(struct cpu *c);
struct cpu *cpu_alloc(u32 index, u8 apic_id);
u64 user_call(u64 (*fn)(void *), void *arg, size_t size);
void gdt_get(u16 *limit, u64 *base);
u32 lapic_id(void);

/* paging.c */
u64 page_alloc(u64 npages);
void paging_init(void);
void map_user(u64 start, u64 end);
u64 user_alloc(u64 pages);
u64 dma_alloc(u64 bytes);

/* cpuid.c */
void test_boot_cpuid(void);
void tsc_calibrate(void);
u64 tsc_ms(u64 ms);
void udelay(u64 us);

/* entry.S */
u64 user_run(struct cpu *c, u64 rip, u64 rsp, u64 arg);
void __attribute__((noreturn)) user_return(struct cpu *c, u64 value);
extern const u64 isr_table[];

/* smp.c */
u32 smp_start(void);
void smp_run(u64 (*fn)(void *), void *args, size_t size, u32 n, u64 *rets, u64 timeout_ms);
void test_smp(void);

/* memtest.c, count.c */
void memtest_plan(void);
void test_memory(void);
void test_count(void);

/* virtio.c, blk.c, rng.c */
void virtio_irq(void);
void test_blk(void);
void test_blk_ro(void);
void test_blk_flush(void);
void test_blk_discard(void);
void test_blk_zeroes(void);
void test_blk_bad(void);
void test_rng(void);

/* trap handling (cpu.c) */
void trap_handle(struct trap_frame *f);

#endif /* !__ASSEMBLER__ */
#endif /* MVMM_GUEST_GUEST_H */
