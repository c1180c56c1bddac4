/* SPDX-License-Identifier: MIT */
/*
 * The CPL3 side of the test guest: the interface between kernel code and user.c.
 *
 * User code calls the kernel with `ud2` (a "hypercall"): %rax = HC_* number, %rdi and %rsi
 * the arguments; the #UD handler returns a value in %rax and resumes after the ud2.  `int n`
 * and `syscall` cannot be used because PVM does not deliver them correctly from CPL3.
 *
 * user.c is linked into its own page-aligned, user-accessible part of the image (guest.ld) and
 * must not call kernel functions or use kernel data: those pages are supervisor-only.
 */
#ifndef MVMM_GUEST_USER_H
#define MVMM_GUEST_USER_H

#include <stdint.h>

enum hypercall {
	HC_EXIT = 0,		/* rdi = value: ends user_call(), which returns rdi */
	HC_COUNT = 1,		/* rdi = seq, rsi = tsc: print "count: <seq> <tsc>" */
};

#define MEMTEST_MAX_RANGES	256

/*
 * One CPU's share of the memory test: `len` bytes of the ranges' concatenation, starting
 * `skip` bytes in.  Arguments are copied onto the user stack by user_call() and back
 * afterwards; `ranges` points to user-accessible memory.
 */
struct memtest_args {
	const uint64_t *ranges;	/* [start, end) pairs, page aligned */
	uint64_t nranges;
	uint64_t seed;
	uint64_t skip;
	uint64_t len;
	uint64_t verify;	/* 0: write the pattern, 1: check it */
	/* results, valid when user_memtest() returned nonzero */
	uint64_t bad_addr;
	uint64_t expected;
	uint64_t got;
};

struct count_args {
	uint64_t period;	/* TSC ticks between reports */
	uint64_t reports;	/* number of HC_COUNT calls to make */
	uint64_t loops;		/* out: loop iterations done */
	uint64_t first_tsc;	/* out: TSC read at CPL3 on entry */
};

struct ap_args {
	uint64_t apic_id;
	uint64_t n;
	volatile uint64_t *counter;	/* shared, user-accessible; incremented once per CPU */
};

/*
 * Bulk work on virtio-blk data buffers (blk.c): `count` 512-byte sectors at `buf` hold disk
 * sectors `sector`.. in order.
 */
enum blk_data_op {
	BLK_FILL = 0,		/* write blk_pattern() */
	BLK_CHECK = 1,		/* check blk_pattern(), then poison the buffer */
	BLK_CHECK_ZERO = 2,	/* check zeros, then poison */
	BLK_CHECK_ZERO_OR_OLD = 3, /* each sector zeros or blk_pattern(); counts the zeros */
	BLK_POISON = 4,		/* fill with BLK_POISON_WORD */
};

#define BLK_SECTOR_WORDS	64		/* 512-byte sectors, 8-byte words */
#define BLK_POISON_WORD		0x504f49534f4e2121ULL	/* "!!NOSIOP" */

struct blk_data_args {
	uint64_t buf;		/* user-accessible */
	uint64_t sector;
	uint64_t count;
	uint64_t seed;
	uint64_t op;		/* enum blk_data_op */
	/* results: for a failed check, the first bad word; zero sectors seen */
	uint64_t bad_sector;
	uint64_t bad_word;
	uint64_t expected;
	uint64_t got;
	uint64_t zero_sectors;
};

/*
 * The virtio-blk test pattern (guest/README.md documents it for the host tests): word w
 * (0..63, little-endian u64) of 512-byte sector s, for seed `seed`, is
 *
 *	x = seed ^ (s * 0x9e3779b97f4a7c15)
 *	x ^= x >> 29;  x *= 0xbf58476d1ce4e5b9;  x ^= x >> 32
 *	word = x + w * 0x2545f4914f6cdd1d		(all mod 2^64)
 */
static inline uint64_t blk_pattern_base(uint64_t seed, uint64_t sector)
{
	uint64_t x = seed ^ (sector * 0x9e3779b97f4a7c15ULL);

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 32;
	return x;
}

#define BLK_PATTERN_STEP	0x2545f4914f6cdd1dULL

/* Entry points for user_call(); each ends with an HC_EXIT hypercall of its return value. */
uint64_t user_memtest(void *args);
uint64_t user_count(void *args);
uint64_t user_ap_work(void *args);
uint64_t user_fault(void *args);
uint64_t user_blk_data(void *args);

/* Where the user stub returns to: issues HC_EXIT with %rax. */
void user_exit_stub(void);

/* test=smp's shared counter, in user-accessible memory. */
extern volatile uint64_t user_ap_counter;

/* The expected value of user_ap_work() for a CPU, computed without looping. */
static inline uint64_t ap_work_expected(uint64_t apic_id, uint64_t n)
{
	/* sum of (i * (apic_id + 1)) for i in 1..n */
	return n * (n + 1) / 2 * (apic_id + 1);
}

/* The value the memory test writes at each 8-byte word. */
static inline uint64_t memtest_pattern(uint64_t addr, uint64_t seed)
{
	return (addr * 0x9e3779b97f4a7c15ULL) ^ seed;
}

#endif /* MVMM_GUEST_USER_H */
