// SPDX-License-Identifier: MIT
/*
 * Code that runs at CPL3.  On PVM this is the only guest code that runs at native speed, so
 * every loop over memory or time lives here.  Nothing in this file may call outside it: the
 * kernel's pages are not user-accessible.
 */
#include "user.h"

volatile uint64_t user_ap_counter;

static inline uint64_t hypercall(uint64_t nr, uint64_t a0, uint64_t a1)
{
	uint64_t ret;

	asm volatile("ud2" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1) : "memory");
	return ret;
}

static inline uint64_t user_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/*
 * user_run() (entry.S) leaves the address of this stub as the return address on the user
 * stack, so returning from a user entry point turns into HC_EXIT.
 */
asm(".pushsection .text\n"
	".globl user_exit_stub\n"
	"user_exit_stub:\n"
	"	mov %rax, %rdi\n"
	"	xor %eax, %eax\n"		/* HC_EXIT */
	"	ud2\n"
	"	jmp user_exit_stub\n"
	".popsection\n");

/* Write or check the pattern over this CPU's share of the ranges. */
uint64_t user_memtest(void *args)
{
	struct memtest_args *a = args;
	uint64_t i, skip = a->skip, left = a->len, seed = a->seed;

	for (i = 0; i < a->nranges && left; i++) {
		uint64_t p = a->ranges[2 * i], end = a->ranges[2 * i + 1];

		if (skip >= end - p) {
			skip -= end - p;
			continue;
		}
		p += skip;
		skip = 0;
		if (end - p > left)
			end = p + left;
		left -= end - p;
		if (!a->verify) {
			for (; p < end; p += 8)
				*(volatile uint64_t *)p = memtest_pattern(p, seed);
			continue;
		}
		for (; p < end; p += 8) {
			uint64_t v = *(volatile uint64_t *)p;

			if (v != memtest_pattern(p, seed)) {
				a->bad_addr = p;
				a->expected = memtest_pattern(p, seed);
				a->got = v;
				return 1;
			}
		}
	}
	return 0;
}

/*
 * Spin, and every `period` TSC ticks report the next sequence number through the kernel.
 * Each deadline is one period after the previous report's TSC (so printing time does not
 * stretch the period) but is not accumulated from the start: a VM paused for a while resumes
 * with one report rather than a burst of catch-up reports.
 */
uint64_t user_count(void *args)
{
	struct count_args *a = args;
	uint64_t seq = 1, loops = 0, t, next;

	t = user_rdtsc();
	a->first_tsc = t;
	next = t + a->period;
	while (seq <= a->reports) {
		loops++;
		t = user_rdtsc();
		if (t >= next) {
			hypercall(HC_COUNT, seq, t);
			seq++;
			next = t + a->period;
		}
	}
	a->loops = loops;
	return 0;
}

/* A CPU's proof of life: a computation at CPL3 and an atomic increment of a shared counter. */
uint64_t user_ap_work(void *args)
{
	struct ap_args *a = args;
	uint64_t i, sum = 0;

	for (i = 1; i <= a->n; i++)
		sum += i * (a->apic_id + 1);
	asm volatile("lock incq %0" : "+m"(*a->counter) : : "memory");
	return sum;
}

/* test=fault: write to the kernel-only address in args; the page fault must end the VM. */
uint64_t user_fault(void *args)
{
	volatile uint64_t *target = *(volatile uint64_t **)args;

	*target = 0x6661756c74ULL;	/* "fault" */
	return 0;
}

/* One sector's check; 0 when it matches, else fills the result fields. */
static int blk_check_sector(struct blk_data_args *a, const volatile uint64_t *p, uint64_t s,
			    int zeros)
{
	uint64_t w, v = zeros ? 0 : blk_pattern_base(a->seed, s);

	for (w = 0; w < BLK_SECTOR_WORDS; w++, v += zeros ? 0 : BLK_PATTERN_STEP) {
		if (p[w] != v) {
			a->bad_sector = s;
			a->bad_word = w;
			a->expected = v;
			a->got = p[w];
			return 1;
		}
	}
	return 0;
}

static int blk_is_zero(const volatile uint64_t *p)
{
	uint64_t w;

	for (w = 0; w < BLK_SECTOR_WORDS; w++) {
		if (p[w])
			return 0;
	}
	return 1;
}

/*
 * Fill or check virtio-blk data buffers (enum blk_data_op); returns 1 at the first mismatch.
 * Checked buffers are poisoned afterwards, so the next read into them must overwrite every
 * byte to pass.
 */
uint64_t user_blk_data(void *args)
{
	struct blk_data_args *a = args;
	volatile uint64_t *p = (volatile uint64_t *)a->buf;
	uint64_t i, w, s = a->sector;

	for (i = 0; i < a->count; i++, s++, p += BLK_SECTOR_WORDS) {
		switch (a->op) {
		case BLK_FILL: {
			uint64_t v = blk_pattern_base(a->seed, s);

			for (w = 0; w < BLK_SECTOR_WORDS; w++, v += BLK_PATTERN_STEP)
				p[w] = v;
			continue;
		}
		case BLK_CHECK:
		case BLK_CHECK_ZERO:
			if (blk_check_sector(a, p, s, a->op == BLK_CHECK_ZERO))
				return 1;
			break;
		case BLK_CHECK_ZERO_OR_OLD:
			if (blk_is_zero(p)) {
				a->zero_sectors++;
				break;
			}
			if (blk_check_sector(a, p, s, 0))
				return 1;
			break;
		default:
			break;
		}
		for (w = 0; w < BLK_SECTOR_WORDS; w++)
			p[w] = BLK_POISON_WORD;
	}
	return 0;
}
