/* SPDX-License-Identifier: MIT */
/*
 * test=forkmem: does a forked VM's memory hold exactly what its guest wrote?
 *
 * The guest registers a VM generation-id buffer (arch/x86/layout.h, X86_VMGENID_PORT), then a
 * CPL3 writer fills the pages of a region round-robin, one page per step, each page with a
 * pattern of (seed, step, word).  The seed is a hash of the generation id in effect when the
 * page write starts: the writer reads the id (plain memory) before every page and, when it has
 * changed (the VMM forked or restored the VM), appends {first step, seed} to a history that
 * lives in guest RAM, so the history forks with the pages it describes.  Afterwards every page
 * must hold the pattern of the last step that wrote it, with that step's seed: in the parent
 * and in every child, whatever instant the fork interrupted.
 *
 * Shared by forkmem.c (CPL0) and forkmem_user.c (CPL3; the name ends in "user.o" so guest.ld
 * links it into the user-accessible span): only <stdint.h> types here.
 */
#ifndef MVMM_GUEST_FORKMEM_H
#define MVMM_GUEST_FORKMEM_H

#include <stdint.h>

#define FORKMEM_PAGE_WORDS	512		/* 8-byte words per 4 KiB page */
#define FORKMEM_MAX_GENS	254		/* history records; the state fits 2 pages */
#define FORKMEM_MAX_REPORTS	4		/* bad pages described in detail */
/* Steps between TSC reads in the writer: a page is ~0.3-1 us natively, so ~10 us apart. */
#define FORKMEM_TSC_EVERY	16

/* One generation of the writer: the steps from first_step on used this seed. */
struct forkmem_gen {
	uint64_t first_step;
	uint64_t seed;			/* forkmem_seed(id) */
	uint64_t id[2];			/* the generation id, as read from the buffer */
};

/*
 * Everything the writer keeps between steps, in user-accessible guest RAM (the VMM's fork
 * copies it with the region).  genid is the buffer registered with the VMM (16-byte aligned:
 * the struct starts a page).
 */
struct forkmem_state {
	volatile uint64_t genid[2];	/* written by the VMM */
	volatile uint64_t step;		/* steps done; step s wrote page s % npages */
	volatile uint64_t ngens;	/* valid records in gens[] */
	uint64_t reserved[4];
	struct forkmem_gen gens[FORKMEM_MAX_GENS];
};

/* forkmem_bad.when of the final check */
#define FORKMEM_FINAL		(~0ULL)

/*
 * A bad page: its first bad word, how many words are bad, and what the page held then (the
 * writer may overwrite it later, so the CPL0 diagnosis works from these numbers).
 */
struct forkmem_bad {
	uint64_t page;
	uint64_t word;
	uint64_t got;
	uint64_t want;
	uint64_t nbad;			/* bad words in the page */
	uint64_t step;			/* the last step that wrote the page */
	uint64_t gen;			/* the history record in effect at that step */
	uint64_t zeros;			/* words that were 0 */
	uint64_t fits;			/* words fitting the first bad word's pattern */
	uint64_t steps;			/* steps done when the check ran */
	uint64_t when;			/* check at this generation's start, or FINAL */
};

/* user_call() arguments of the three CPL3 entry points (copied to the user stack and back). */
struct forkmem_args {
	uint64_t state;			/* struct forkmem_state *, user-accessible */
	uint64_t region;		/* page aligned, user-accessible */
	uint64_t npages;
	uint64_t ticks;			/* write: TSC ticks to write for (and >= 1 pass) */
	/* write results */
	uint64_t full;			/* the history filled up: the writer stopped early */
	uint64_t steps;			/* steps done by this call */
	uint64_t elapsed;		/* TSC ticks counted (backward jumps count as 0) */
	uint64_t checks;		/* region checks at id changes */
	uint64_t check_ticks;		/* TSC ticks they took */
	/* check results (the checks at id changes and the final one add up) */
	uint64_t bad_words;
	uint64_t bad_pages;
	uint64_t unwritten;		/* final check: pages never written (early stop) */
	uint64_t nreports;
	struct forkmem_bad reports[FORKMEM_MAX_REPORTS];
	/* hash result */
	uint64_t fnv;
};

#define FORKMEM_K1		0x9e3779b97f4a7c15ULL
#define FORKMEM_M1		0xbf58476d1ce4e5b9ULL
#define FORKMEM_WORD_STEP	0x2545f4914f6cdd1dULL
#define FNV1A64_OFFSET		0xcbf29ce484222325ULL
#define FNV1A64_PRIME		0x100000001b3ULL

/*
 * The pattern (documented in guest/README.md): word w of the page written at step s with seed
 * `seed` is forkmem_base(seed, s) + w * FORKMEM_WORD_STEP (mod 2^64).  The mix is invertible,
 * so a wrong page's first word says which seed ^ step * K1 wrote it (forkmem.c's diagnosis).
 */
static inline uint64_t forkmem_mix(uint64_t x)
{
	x ^= x >> 29;
	x *= FORKMEM_M1;
	x ^= x >> 32;
	return x;
}

static inline uint64_t forkmem_base(uint64_t seed, uint64_t step)
{
	return forkmem_mix(seed ^ (step * FORKMEM_K1));
}

static inline uint64_t forkmem_seed(uint64_t id0, uint64_t id1)
{
	return forkmem_mix(id0 ^ forkmem_mix(id1 + FORKMEM_K1));
}

/* The history record in effect at `step`: the last one with first_step <= step. */
static inline uint64_t forkmem_gen_at(const struct forkmem_state *st, uint64_t ngens,
				      uint64_t step)
{
	uint64_t lo = 0, hi = ngens;	/* gens[lo].first_step <= step < gens[hi].first_step */

	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (st->gens[mid].first_step <= step)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The last step (of `steps` done) that wrote `page`; the page must have been written. */
static inline uint64_t forkmem_last_step(uint64_t page, uint64_t npages, uint64_t steps)
{
	return page + (steps - 1 - page) / npages * npages;
}

/* CPL3 entry points (forkmem_user.c), for user_call(). */
uint64_t user_forkmem_write(void *args);
uint64_t user_forkmem_verify(void *args);
uint64_t user_forkmem_hash(void *args);

/* CPL0 (forkmem.c) */
void test_forkmem(void);

#endif /* MVMM_GUEST_FORKMEM_H */
