// SPDX-License-Identifier: MIT
/*
 * test=blkbench: virtio-blk throughput on the first disk, for tools/bench/blk.sh.
 *
 *   bench_mode=seqread|seqwrite|randread|randwrite    (seqread)
 *   bench_bs=N       bytes per request, a multiple of 512, K/M suffix allowed
 *                    (sequential 1M, random 4K)
 *   bench_depth=N    requests in flight (32; 1-256)
 *   bench_mib=N      data to move, MiB (the disk's size); sequential I/O wraps around
 *   bench_ms=N       stop submitting after N ms (10000; 0: no limit)
 *   bench_seed=N     random offsets' seed
 *
 * This half (CPL0) negotiates, builds one descriptor chain per slot, maps the device's
 * register page user-accessible and reports; blkbench_user.c runs the requests at CPL3 (see
 * blkbench.h for why).  One untimed round of `depth` requests first faults in the buffers on
 * both sides, then the timed run prints
 *
 *   blkbench: <mode> bs <bytes> depth <n> bytes <total> ns <elapsed> iops <n> mibps <x.y>
 *             kicks <n> kick_ns <avg> guest_busy_pct <n>
 *
 * on one line, the time from just before the first request is made available to the sighting
 * of the last completion.
 */
#include "virtio.h"
#include "blkbench.h"

#define SECTOR_SIZE		512
#define BENCH_MAX_BS		(16UL << 20)
#define BENCH_MAX_BUF		(64UL << 20)	/* data buffers of all slots together */
#define BENCH_DEFAULT_DEPTH	32
#define BENCH_DEFAULT_MS	10000
#define BENCH_TIMEOUT_MS	10000		/* no completion for this long: give up */
#define BENCH_STATUS_MS		100		/* stalled this long: look at the status */
#define BENCH_NOTE_PCT		50		/* guest busy this much: say so */

#define BENCH_WANTED	(1ULL << VIRTIO_BLK_F_RO | 1ULL << VIRTIO_RING_F_INDIRECT_DESC |	\
			 1ULL << VIRTIO_RING_F_EVENT_IDX)

struct bench_mode {
	const char *name;
	u32 random, write;
	u64 bs;					/* default request size */
};

static const struct bench_mode modes[] = {
	{ "seqread", 0, 0, 1ULL << 20 },
	{ "seqwrite", 0, 1, 1ULL << 20 },
	{ "randread", 1, 0, 4096 },
	{ "randwrite", 1, 1, 4096 },
};

/* The value of the last `key=...` word on the command line, or NULL. */
static const char *bench_opt(const char *key, size_t *vlen)
{
	const char *p = g.boot.cmdline, *found = NULL;
	size_t k = strlen(key);

	while (*p) {
		const char *w;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		w = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		if ((size_t)(p - w) > k && !strncmp(w, key, k) && w[k] == '=') {
			found = w + k + 1;
			*vlen = (size_t)(p - found);
		}
	}
	return found;
}

/* A numeric option with an optional K or M suffix; `def` when absent, -1 when malformed. */
static int bench_num(const char *key, u64 def, u64 *out)
{
	size_t len;
	const char *v = bench_opt(key, &len);
	u64 shift = 0;

	*out = def;
	if (!v)
		return 0;
	if (len && (v[len - 1] == 'K' || v[len - 1] == 'k'))
		shift = 10, len--;
	else if (len && (v[len - 1] == 'M' || v[len - 1] == 'm'))
		shift = 20, len--;
	if (!len || parse_u64(v, len, out) || *out > (~0ULL >> shift)) {
		check_fail("blkbench", "bad number for %s", key);
		return -1;
	}
	*out <<= shift;
	return 0;
}

/* a * b / c without overflow of the product (the quotient must fit 64 bits). */
static u64 muldiv(u64 a, u64 b, u64 c)
{
	u64 q, r;

	asm("mulq %[b]\n\tdivq %[c]" : "=a"(q), "=&d"(r) : "0"(a), [b] "rm"(b), [c] "rm"(c)
	    : "cc");
	return q;
}

static u64 ticks_ns(u64 ticks)
{
	return muldiv(ticks, 1000000, g.tsc_khz);
}

/* Run args at CPL3; 0, or -1 after a FAIL line. */
static int bench_run(struct blkbench_args *a, const char *what)
{
	static const char *const errors[] = {
		[BLKBENCH_EIO] = "request failed",
		[BLKBENCH_EUSED] = "used ring names a head that was not submitted",
		[BLKBENCH_ERESET] = "device set DEVICE_NEEDS_RESET",
		[BLKBENCH_ETIMEOUT] = "no completion for 10 s",
	};
	u64 err = user_call(user_blkbench, a, sizeof(*a));

	if (!err)
		return 0;
	check_fail("blkbench", "%s: %s (sector %lu value 0x%lx; submitted %lu completed %lu)", what,
		   err < ARRAY_SIZE(errors) ? errors[err] : "?", a->error_sector, a->error_value,
		   a->submitted, a->completed);
	return -1;
}

/* Fill args for one run of `total` requests, continuing from the queue's state. */
static void bench_args(struct blkbench_args *a, const struct virtq *q, u64 total)
{
	a->avail_idx = q->avail_idx;
	a->kicked_idx = q->kicked_idx;
	a->last_used = q->last_used;
	a->total = total;
	a->submitted = a->completed = a->kicks = a->kick_ticks = a->busy_ticks = 0;
	a->polls_empty = a->error = 0;
}

/* One chain per slot (header, data, status), in the ring or in the slot's indirect table. */
static void bench_build(struct virtq *q, struct blkbench_req *reqs, u32 depth, u64 bs, u64 buf,
			const struct bench_mode *mode, int indirect)
{
	u32 slot;

	for (slot = 0; slot < depth; slot++) {
		struct blkbench_req *r = &reqs[slot];
		struct vbuf b[3] = {
			{ (u64)&r->hdr, sizeof(r->hdr), 0 },
			{ buf + slot * bs, (u32)bs, !mode->write },
			{ (u64)&r->status, 1, 1 },
		};
		int head = virtq_build(q, b, 3, indirect ? (u64)r->table : 0);

		if (head < 0)
			panic("blkbench: no descriptors for slot %u of %u", slot, depth);
		r->hdr.type = mode->write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
		r->hdr.ioprio = 0;
		r->head = (u16)head;
	}
}

/* The result line, and a note when the guest's side took much of the time. */
static void bench_report(const struct blkbench_args *a, const char *name, u64 bs, u64 depth)
{
	u64 ticks = MAX(a->last_tsc - a->first_tsc, 1), ns = MAX(ticks_ns(ticks), 1);
	u64 mibps10 = muldiv(a->completed * bs, 10000000000ULL, ns) >> 20;
	u64 busy = a->busy_ticks * 100 / ticks, kicking = a->kick_ticks * 100 / ticks;
	u64 own = busy > kicking ? busy - kicking : 0;	/* the first kick is not in busy */

	printf("blkbench: %s bs %lu depth %lu bytes %lu ns %lu iops %lu mibps %lu.%lu kicks %lu "
	       "kick_ns %lu guest_busy_pct %lu\n", name, bs, depth, a->completed * bs, ns,
	       muldiv(a->completed, 1000000000, ns), mibps10 / 10, mibps10 % 10, a->kicks,
	       a->kicks ? ticks_ns(a->kick_ticks) / a->kicks : 0, busy);
	if (own >= BENCH_NOTE_PCT)
		printf("blkbench: note: the guest's own loop was busy %lu%% of the time: it, not the "
		       "VMM, may be the bottleneck\n", own);
	else if (busy >= BENCH_NOTE_PCT)
		printf("blkbench: note: the vCPU spent %lu%% of the time in notification exits "
		       "(QueueNotify): their cost, more than the guest's own work, limits it\n",
		       kicking);
}

static void bench(struct vdev *d)
{
	struct virtio *v = virtio_get();
	struct virtq *q = &d->vq[0];
	struct blkbench_args a;
	struct blkbench_req *reqs;
	const char *name;
	size_t len;
	u64 bs, depth, mib, ms, seed, capacity, volume, buf_bytes;
	int indirect = 0;
	u32 m;

	name = bench_opt("bench_mode", &len);
	if (!name)
		name = modes[0].name, len = strlen(name);
	for (m = 0; m < ARRAY_SIZE(modes); m++) {
		if (strlen(modes[m].name) == len && !strncmp(name, modes[m].name, len))
			break;
	}
	if (m == ARRAY_SIZE(modes)) {
		check_fail("blkbench", "bench_mode must be seqread, seqwrite, randread or randwrite");
		return;
	}
	name = modes[m].name;
	if (bench_num("bench_bs", modes[m].bs, &bs) ||
	    bench_num("bench_depth", BENCH_DEFAULT_DEPTH, &depth) ||
	    bench_num("bench_mib", 0, &mib) || bench_num("bench_ms", BENCH_DEFAULT_MS, &ms) ||
	    bench_num("bench_seed", BLKBENCH_SEED, &seed))
		return;

	if (vdev_init(d, (BENCH_WANTED & g.opt.virtio_features) | 1ULL << VIRTIO_BLK_F_RO, 1,
		      VIRTQ_MAX_SIZE)) {
		check_fail("blkbench", "initialisation: %s (status 0x%x)", d->error, vdev_status(d));
		return;
	}
	capacity = vdev_cfg64(d, (u32)offsetof(struct virtio_blk_config, capacity));
	if (bs < SECTOR_SIZE || bs % SECTOR_SIZE || bs > BENCH_MAX_BS ||
	    bs > capacity * SECTOR_SIZE) {
		check_fail("blkbench", "bench_bs %lu: want a multiple of 512 up to %lu and the disk's "
			   "%lu bytes", bs, BENCH_MAX_BS, capacity * SECTOR_SIZE);
		return;
	}
	if (modes[m].write && vdev_has(d, VIRTIO_BLK_F_RO)) {
		check_fail("blkbench", "%s on a read-only disk", name);
		return;
	}
	depth = MIN(MAX(depth, 1), BLKBENCH_MAX_DEPTH);
	depth = MIN(depth, MAX(BENCH_MAX_BUF / bs, 1));
	/* Three descriptors a request in the ring, or one with an indirect table. */
	if (depth * 3 > q->size) {
		if (vdev_has(d, VIRTIO_RING_F_INDIRECT_DESC))
			indirect = 1;
		depth = MIN(depth, indirect ? q->size : q->size / 3);
	}
	volume = mib ? mib << 20 : capacity * SECTOR_SIZE;

	/* The data buffers are blk.c's shared one, grown when too small. */
	buf_bytes = depth * bs;
	if (v->blk_buf_bytes < buf_bytes) {
		v->blk_buf = dma_alloc(buf_bytes);
		v->blk_buf_bytes = buf_bytes;
	}
	reqs = (struct blkbench_req *)dma_alloc(depth * sizeof(*reqs));
	/* QueueNotify and Status are stored and loaded at CPL3. */
	map_user(d->base, d->base + PAGE_SIZE);
	write_cr3(g.pml4);
	bench_build(q, reqs, (u32)depth, bs, v->blk_buf, &modes[m], indirect);
	printf("blkbench: slot %u capacity %lu features 0x%lx queue %u depth %lu bs %lu "
	       "indirect %d volume %lu limit %lu ms\n", d->slot, capacity, d->features, q->size,
	       depth, bs, indirect, volume, ms);

	memset(&a, 0, sizeof(a));
	a.avail = (u64)q->avail;
	a.used = (u64)q->used;
	a.notify = d->base + VIRTIO_MMIO_QUEUE_NOTIFY;
	a.status_reg = d->base + VIRTIO_MMIO_STATUS;
	a.size = q->size;
	a.queue = q->index;
	a.event_idx = q->event_idx;
	a.depth = (u32)depth;
	a.reqs = (u64)reqs;
	a.random = modes[m].random;
	a.blocks = capacity * SECTOR_SIZE / bs;
	a.bs_sectors = bs / SECTOR_SIZE;
	a.rng = seed ? seed : BLKBENCH_SEED;
	a.timeout_ticks = tsc_ms(BENCH_TIMEOUT_MS);
	a.status_ticks = tsc_ms(BENCH_STATUS_MS);

	/* Untimed: the first touch of every buffer page costs the host and PVM extra. */
	bench_args(&a, q, depth);
	if (bench_run(&a, "warm-up"))
		return;
	q->avail_idx = a.avail_idx;
	q->kicked_idx = a.kicked_idx;
	q->last_used = a.last_used;

	bench_args(&a, q, MAX(volume / bs, 1));
	a.deadline = ms ? rdtsc() + tsc_ms(ms) : 0;
	if (bench_run(&a, name))
		return;
	q->avail_idx = a.avail_idx;
	q->kicked_idx = a.kicked_idx;
	q->last_used = a.last_used;

	bench_report(&a, name, bs, depth);
	check_ok("blkbench %s %lu requests", name, a.completed);
}

void test_blkbench(void)
{
	struct vdev *d = virtio_find(VIRTIO_ID_BLOCK, 0);

	if (!d) {
		check_fail("blkbench", "no virtio-blk device");
		return;
	}
	bench(d);
	if (vdev_reset(d))
		check_fail("blkbench", "status does not read 0 after a reset");
}
