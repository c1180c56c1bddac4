// SPDX-License-Identifier: MIT
/*
 * test=forkmem, the CPL3 part (see forkmem.h): the writer, the verifier and the region hash.
 * Linked into the user-accessible span like user.c (guest.ld takes every *user.o), and like
 * user.c it may not call anything outside itself.
 */
#include "forkmem.h"

static inline uint64_t forkmem_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/*
 * The id is two loads, and the VMM may replace it (with the vCPU paused) between them.  Reading
 * word 0 again after word 1 catches that: a fork in between changed word 0 too, so read again.
 */
static inline void genid_read(const struct forkmem_state *st, uint64_t *id0, uint64_t *id1)
{
	uint64_t a;

	do {
		a = st->genid[0];
		*id1 = st->genid[1];
	} while (st->genid[0] != a);
	*id0 = a;
}

/*
 * Check every page written in the first `steps` steps against the last step that wrote it and
 * that step's seed; pages not written yet are skipped (and counted by the final check).
 */
static void check_region(struct forkmem_args *a, const struct forkmem_state *st, uint64_t steps,
			 uint64_t when)
{
	uint64_t npages = a->npages, ngens = st->ngens, page;

	for (page = 0; page < npages; page++) {
		const uint64_t *p = (const uint64_t *)a->region + page * FORKMEM_PAGE_WORDS;
		uint64_t step, gen, v, w, nbad = 0, first = 0;

		if (page >= steps || !ngens) {
			a->unwritten += when == FORKMEM_FINAL;
			continue;
		}
		step = forkmem_last_step(page, npages, steps);
		gen = forkmem_gen_at(st, ngens, step);
		v = forkmem_base(st->gens[gen].seed, step);
		for (w = 0; w < FORKMEM_PAGE_WORDS; w++, v += FORKMEM_WORD_STEP) {
			if (p[w] == v)
				continue;
			if (!nbad++)
				first = w;
		}
		if (!nbad)
			continue;
		a->bad_pages++;
		a->bad_words += nbad;
		if (a->nreports < FORKMEM_MAX_REPORTS) {
			struct forkmem_bad *r = &a->reports[a->nreports++];
			uint64_t base = p[first] - first * FORKMEM_WORD_STEP;

			r->page = page;
			r->word = first;
			r->got = p[first];
			r->want = forkmem_base(st->gens[gen].seed, step) +
				  first * FORKMEM_WORD_STEP;
			r->nbad = nbad;
			r->step = step;
			r->gen = gen;
			r->steps = steps;
			r->when = when;
			r->zeros = 0;
			r->fits = 0;
			for (w = 0; w < FORKMEM_PAGE_WORDS; w++, base += FORKMEM_WORD_STEP) {
				r->zeros += !p[w];
				r->fits += p[w] == base;
			}
		}
	}
}

/*
 * Write pages round-robin, one per step, for a->ticks of TSC time and at least one full pass.
 * The id is looked at only before a page: a fork that lands inside a page write leaves the
 * whole page with the old seed in parent and child alike, and the switch is recorded at the
 * first step that starts after it.  Step counter and history are in guest RAM (forkmem_state)
 * and are updated in program order with the pages, so any pause point is consistent.
 *
 * When the id has changed, the region must hold exactly what steps 0..s-1 wrote: it is checked
 * there and then, because later passes would overwrite (and so hide) pages that a fork got
 * wrong, such as a write of the other side of the fork leaking in.
 */
uint64_t user_forkmem_write(void *args)
{
	struct forkmem_args *a = args;
	struct forkmem_state *st = (struct forkmem_state *)a->state;
	uint64_t npages = a->npages, s = st->step, page = s % npages;
	uint64_t id0 = 0, id1 = 0, seed = 0, t = forkmem_rdtsc(), elapsed = 0, s0 = s;

	if (st->ngens) {
		const struct forkmem_gen *last = &st->gens[st->ngens - 1];

		id0 = last->id[0];
		id1 = last->id[1];
		seed = last->seed;
	}
	for (;;) {
		uint64_t *p = (uint64_t *)a->region + page * FORKMEM_PAGE_WORDS, v, g0, g1, w;

		genid_read(st, &g0, &g1);
		if (g0 != id0 || g1 != id1 || !st->ngens) {
			struct forkmem_gen *gen;

			if (st->ngens == FORKMEM_MAX_GENS) {
				a->full = 1;
				break;
			}
			id0 = g0;
			id1 = g1;
			seed = forkmem_seed(g0, g1);
			gen = &st->gens[st->ngens];
			gen->first_step = s;
			gen->seed = seed;
			gen->id[0] = g0;
			gen->id[1] = g1;
			/* the record is complete before it counts (volatile store after) */
			asm volatile("" : : : "memory");
			st->ngens = st->ngens + 1;
			if (s) {
				uint64_t c0 = forkmem_rdtsc();

				check_region(a, st, s, st->ngens - 1);
				a->checks++;
				a->check_ticks += forkmem_rdtsc() - c0;
			}
		}
		v = forkmem_base(seed, s);
		for (w = 0; w < FORKMEM_PAGE_WORDS; w += 4) {
			p[w] = v;
			p[w + 1] = v + FORKMEM_WORD_STEP;
			p[w + 2] = v + 2 * FORKMEM_WORD_STEP;
			p[w + 3] = v + 3 * FORKMEM_WORD_STEP;
			v += 4 * FORKMEM_WORD_STEP;
		}
		/* the page's stores come before the step that says they were done */
		asm volatile("" : : : "memory");
		st->step = ++s;
		if (++page == npages)
			page = 0;
		if (s % FORKMEM_TSC_EVERY == 0) {
			uint64_t now = forkmem_rdtsc();

			/* a TSC that went backwards (a restore elsewhere) counts as no time */
			if (now > t)
				elapsed += now - t;
			t = now;
			if (elapsed >= a->ticks && s >= npages)
				break;
		}
	}
	a->steps = s - s0;
	a->elapsed = elapsed;
	return 0;
}

/* The final check, of every page. */
uint64_t user_forkmem_verify(void *args)
{
	struct forkmem_args *a = args;

	check_region(a, (const struct forkmem_state *)a->state,
		     ((const struct forkmem_state *)a->state)->step, FORKMEM_FINAL);
	return a->bad_pages != 0;
}

/* FNV-1a 64 over the region's bytes, in address order (8 at a time, little-endian). */
uint64_t user_forkmem_hash(void *args)
{
	struct forkmem_args *a = args;
	const uint64_t *p = (const uint64_t *)a->region;
	const uint64_t *end = p + a->npages * FORKMEM_PAGE_WORDS;
	uint64_t h = FNV1A64_OFFSET;

	for (; p < end; p++) {
		uint64_t x = *p;
		int i;

		for (i = 0; i < 8; i++, x >>= 8) {
			h ^= x & 0xff;
			h *= FNV1A64_PRIME;
		}
	}
	a->fnv = h;
	return 0;
}
