// SPDX-License-Identifier: MIT
/*
 * test=forkmem (forkmem.h has the idea): register the VM generation-id buffer, write the region
 * at CPL3 for forkmem_ms of TSC time while the host forks the VM as it likes, then verify every
 * page at CPL3 and print an FNV-1a 64 of the region for the host to compare with its own view
 * of the VM's RAM.  Here: options, allocation, registration, reporting and the diagnosis of
 * bad pages (which seed and step wrote what is there instead).
 */
#include "guest.h"
#include "forkmem.h"

#define FORKMEM_MIB_DEFAULT	16
#define FORKMEM_MS_DEFAULT	3000
#define FORKMEM_STATE_PAGES	(ALIGN_UP(sizeof(struct forkmem_state), PAGE_SIZE) / PAGE_SIZE)
/* What reading a port nobody decodes gives. */
#define VMGENID_ABSENT		0xffffffffU

_Static_assert(sizeof(struct forkmem_state) <= 2 * PAGE_SIZE, "forkmem state grew");

/* (guest.h has no inl(); a local name so that one added there cannot clash) */
static inline u32 forkmem_inl(u16 port)
{
	u32 v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* `key=N` from the command line, the last one winning, like bootinfo.c's options. */
static u64 option(const char *key, u64 def)
{
	const char *p = g.boot.cmdline;
	size_t k = strlen(key);
	u64 v = def;

	while (*p) {
		const char *word;
		size_t len;
		u64 x;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		word = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		len = p - word;
		if (len <= k || strncmp(word, key, k) || word[k] != '=')
			continue;
		if (parse_u64(word + k + 1, len - k - 1, &x))
			check_fail("cmdline", "bad number for %s", key);
		else
			v = x;
	}
	return v;
}

/* 32 hex digits, the id's bytes in memory order. */
static void id_hex(char *out, u64 id0, u64 id1)
{
	u64 w[2] = { id0, id1 };
	u32 i;

	for (i = 0; i < 16; i++) {
		u8 b = (u8)(w[i / 8] >> (8 * (i % 8)));

		out[2 * i] = "0123456789abcdef"[b >> 4];
		out[2 * i + 1] = "0123456789abcdef"[b & 15];
	}
	out[32] = '\0';
}

/* The inverse of x * a mod 2^64 for odd a (Newton: each round doubles the good bits). */
static u64 mul_inverse(u64 a)
{
	u64 x = a;	/* right to 3 bits: a * a == 1 mod 8 */
	u32 i;

	for (i = 0; i < 5; i++)
		x *= 2 - a * x;
	return x;
}

/* The inverse of forkmem_mix(): seed ^ step * K1 from a page's word 0. */
static u64 unmix(u64 x)
{
	x ^= x >> 32;
	x *= mul_inverse(FORKMEM_M1);
	x ^= (x >> 29) ^ (x >> 58);
	return x;
}

/*
 * Say what a bad page held instead (zeros and fits were counted by the check, at CPL3): zeros,
 * or a forkmem pattern (its base from the first bad word) that one of this VM's own generations
 * wrote at another step (stale or misplaced data), or a pattern of a seed this VM never had
 * (another VM's page: match `x` against the seeds the other VMs print, step = (x ^ seed) *
 * K1^-1).
 */
static void diagnose(const struct forkmem_state *st, u64 region, u64 npages,
		     const struct forkmem_bad *r)
{
	u64 x = unmix(r->got - r->word * FORKMEM_WORD_STEP), kinv = mul_inverse(FORKMEM_K1), i;
	char what[112], when[40];

	if (r->zeros == FORKMEM_PAGE_WORDS) {
		snprintf(what, sizeof(what), "all zeros");
	} else if (!r->got) {
		snprintf(what, sizeof(what), "the first bad word is 0");
	} else if (r->fits < 2) {
		snprintf(what, sizeof(what), "no forkmem pattern");
	} else {
		snprintf(what, sizeof(what),
			 "%lu fit an unknown seed: seed^step*K1 0x%lx (seed 0x%lx at step %lu)",
			 r->fits, x, (u64)(x ^ (r->step * FORKMEM_K1)), r->step);
		for (i = 0; i < st->ngens; i++) {
			u64 s = (x ^ st->gens[i].seed) * kinv;

			if (s < r->steps && s % npages == r->page) {
				snprintf(what, sizeof(what),
					 "%lu fit step %lu, generation %lu's seed%s", r->fits, s, i,
					 s < r->step ? " (an older write)" : " (a later step?!)");
				break;
			}
		}
	}
	if (r->when == FORKMEM_FINAL)
		snprintf(when, sizeof(when), "at the end");
	else
		snprintf(when, sizeof(when), "at generation %lu's start", r->when);
	printf("forkmem: page %lu (gpa 0x%lx) %s: %lu/%u words bad (want step %lu generation "
	       "%lu), %lu zero; %s\n",
	       r->page, (u64)(region + r->page * PAGE_SIZE), when, r->nbad, FORKMEM_PAGE_WORDS,
	       r->step, r->gen, r->zeros, what);
}

static void fill_page(u64 *p, u64 seed, u64 step)
{
	u64 v = forkmem_base(seed, step), w;

	for (w = 0; w < FORKMEM_PAGE_WORDS; w++, v += FORKMEM_WORD_STEP)
		p[w] = v;
}

/*
 * forkmem_corrupt=1: damage pages 1-4 the ways a broken fork would (zeros, a stale older write,
 * another VM's seed, one flipped bit), so that a test can see the check fail and the diagnosis
 * name each case.  CPL0 stores: a few milliseconds on PVM.
 */
static void corrupt(const struct forkmem_args *a, const struct forkmem_state *st)
{
	u64 *region = (u64 *)a->region, steps = st->step, np = a->npages, s;

	if (np < 5 || steps < 2 * np) {
		check_fail("forkmem", "forkmem_corrupt needs 5 pages and 2 passes");
		return;
	}
	memset(region + 1 * FORKMEM_PAGE_WORDS, 0, PAGE_SIZE);
	s = forkmem_last_step(2, np, steps) - np;
	fill_page(region + 2 * FORKMEM_PAGE_WORDS, st->gens[forkmem_gen_at(st, st->ngens, s)].seed,
		  s);
	s = forkmem_last_step(3, np, steps);
	fill_page(region + 3 * FORKMEM_PAGE_WORDS,
		  st->gens[forkmem_gen_at(st, st->ngens, s)].seed ^ 0x5eed, s);
	region[4 * FORKMEM_PAGE_WORDS + 7] ^= 1;
	printf("forkmem: corrupted pages 1-4 (zeros, older step, another seed, one bit)\n");
}

static void report(const struct forkmem_args *a, const struct forkmem_state *st)
{
	u64 i;

	for (i = 0; i < a->nreports; i++) {
		const struct forkmem_bad *r = &a->reports[i];
		char name[64];

		snprintf(name, sizeof(name), "forkmem page %lu word %lu", r->page, r->word);
		check_fail(name, "got 0x%lx want 0x%lx", r->got, r->want);
		diagnose(st, a->region, a->npages, r);
	}
	if (a->bad_pages)
		check_fail("forkmem", "%lu bad words in %lu of %lu pages", a->bad_words,
			   a->bad_pages, a->npages);
}

void test_forkmem(void)
{
	u64 mib = option("forkmem_mib", FORKMEM_MIB_DEFAULT);
	u64 ms = option("forkmem_ms", FORKMEM_MS_DEFAULT);
	u64 damage = option("forkmem_corrupt", 0);
	u64 bytes = mib << 20, t0, t1, t2, t3, counted, i;
	struct forkmem_state *st;
	struct forkmem_args a;
	u32 changes;
	char hex[33];

	if (!mib || mib > (1ULL << 20)) {
		check_fail("forkmem", "forkmem_mib must be 1..%llu", 1ULL << 20);
		return;
	}
	if (forkmem_inl(X86_VMGENID_PORT) == VMGENID_ABSENT) {
		check_fail("forkmem", "no genid device");
		return;
	}
	if (g.dma.end - g.dma.start < bytes) {
		check_fail("forkmem", "no room for %lu MiB: the largest free RAM range has %lu MiB",
			   mib, (g.dma.end - g.dma.start) >> 20);
		return;
	}

	/*
	 * The state (with the genid buffer) comes from the pool, which no other test writes, so
	 * the ids the VMM stores there after this test cannot land in another test's memory.
	 */
	st = (struct forkmem_state *)user_alloc(FORKMEM_STATE_PAGES);
	memset(st, 0, sizeof(*st));
	memset(&a, 0, sizeof(a));
	a.state = (u64)st;
	a.region = dma_alloc(bytes);
	a.npages = bytes / PAGE_SIZE;
	a.ticks = tsc_ms(ms);

	/* the low half arms the buffer, the high half completes the address */
	outl(X86_VMGENID_PORT, (u32)(u64)st->genid);
	outl(X86_VMGENID_PORT + 4, (u32)((u64)st->genid >> 32));
	if (!st->genid[0] && !st->genid[1]) {
		check_fail("forkmem", "the genid device did not fill the buffer at 0x%lx",
			   (u64)st->genid);
		return;
	}
	id_hex(hex, st->genid[0], st->genid[1]);
	printf("forkmem: genid %s\n", hex);
	printf("forkmem: %lu pages at 0x%lx, writing for %lu ms\n", a.npages, a.region, ms);

	t0 = rdtsc();
	user_call(user_forkmem_write, &a, sizeof(a));
	t1 = rdtsc();
	printf("forkmem: generations %lu steps %lu\n", st->ngens, st->step);
	for (i = 0; i < st->ngens; i++) {
		const struct forkmem_gen *gen = &st->gens[i];

		id_hex(hex, gen->id[0], gen->id[1]);
		printf("forkmem: generation %lu step %lu id %s seed 0x%016lx\n", i,
		       gen->first_step, hex, gen->seed);
	}
	counted = a.elapsed / g.tsc_khz;
	printf("forkmem: write %lu ms (%lu ms counted), %lu steps/s; %lu checks at id changes "
	       "%lu ms\n", (t1 - t0) / g.tsc_khz, counted, counted ? a.steps * 1000 / counted : 0,
	       a.checks, a.check_ticks / g.tsc_khz);
	if (a.full)
		check_fail("forkmem", "more than %u generations: the writer stopped at step %lu",
			   FORKMEM_MAX_GENS, st->step);

	if (damage)
		corrupt(&a, st);
	t1 = rdtsc();
	user_call(user_forkmem_verify, &a, sizeof(a));
	t2 = rdtsc();
	report(&a, st);
	if (a.unwritten)
		check_fail("forkmem", "%lu pages were never written", a.unwritten);

	user_call(user_forkmem_hash, &a, sizeof(a));
	t3 = rdtsc();
	printf("forkmem: region 0x%lx %lu fnv1a64 0x%016lx\n", a.region, bytes, a.fnv);
	printf("forkmem: verify %lu ms, hash %lu ms\n", (t2 - t1) / g.tsc_khz,
	       (t3 - t2) / g.tsc_khz);
	/*
	 * forkmem_hold_ms=N: leave the region untouched for N ms after printing its hash, so the
	 * host can hash the same bytes through the VMM's own view of RAM and compare.
	 */
	if (option("forkmem_hold_ms", 0)) {
		printf("forkmem: holding %lu ms\n", option("forkmem_hold_ms", 0));
		udelay(option("forkmem_hold_ms", 0) * 1000);
	}

	/* Every id the guest saw, the VMM made: it cannot count fewer changes than that. */
	changes = forkmem_inl(X86_VMGENID_PORT);
	printf("forkmem: genid changes %u\n", changes);
	if (changes < st->ngens)
		check_fail("forkmem", "the writer saw %lu ids but the device counts %u changes",
			   st->ngens, changes);

	if (!a.bad_pages && !a.unwritten && !a.full && changes >= st->ngens)
		check_ok("forkmem %lu pages verified, %lu generations", a.npages, st->ngens);
}
