// SPDX-License-Identifier: MIT
/*
 * virtio-blk tests (guest/README.md lists their output):
 *
 *   blk          identify every disk (GET_ID, through an interrupt), then write the test
 *                pattern over it with many requests in flight, flush, and read it back
 *                (blk_mode=write|read|rw, blk_seed, blk_sectors, blk_depth, blk_req)
 *   blk_ro       a write to a read-only disk completes with VIRTIO_BLK_S_IOERR
 *   blk_flush    write, flush (twice), read back
 *   blk_discard  DISCARD / WRITE_ZEROES of a range inside the pattern reads back as zeros
 *   blk_zeroes
 *   blk_bad      malformed rings make the device need a reset; after one it works again
 *
 * Requests are built at CPL0 and polled in the used ring; the pattern is written and checked
 * by user_blk_data() at CPL3 (native speed), one call per batch of requests in flight.
 */
#include "virtio.h"

#include <linux/virtio_blk.h>

#define SECTOR_SIZE		512
#define BLK_MAX_SLOTS		256		/* requests in flight at most */
#define BLK_MAX_REQ		2048		/* sectors per request (1 MiB) at most */
#define BLK_MAX_BUF		(16ULL << 20)	/* bytes of data in flight at most */
#define BLK_IO_TIMEOUT_MS	30000
#define BLK_BAD_TIMEOUT_MS	1000
#define BLK_IRQ_TIMEOUT_MS	2000
#define BLK_ZERO_RANGE		128		/* sectors, before alignment */

#define BLK_WANTED	(1ULL << VIRTIO_BLK_F_RO | 1ULL << VIRTIO_BLK_F_FLUSH |		\
			 1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_SIZE_MAX |	\
			 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_DISCARD |		\
			 1ULL << VIRTIO_BLK_F_WRITE_ZEROES | 1ULL << VIRTIO_RING_F_INDIRECT_DESC | \
			 1ULL << VIRTIO_RING_F_EVENT_IDX)

/* virtio_features= may turn off the optional ones; RO is not a choice but a fact. */
#define BLK_FEATURES	((BLK_WANTED & g.opt.virtio_features) | 1ULL << VIRTIO_BLK_F_RO)

#define CFG(field)	((u32)offsetof(struct virtio_blk_config, field))

/* What one request slot needs besides its data; lives in dma memory. */
struct blk_req {
	struct virtio_blk_outhdr hdr;
	struct virtio_blk_discard_write_zeroes seg;	/* DISCARD / WRITE_ZEROES payload */
	struct vring_desc table[4];			/* indirect table, 16-byte aligned */
	u8 status;
} __attribute__((aligned(128)));

_Static_assert(offsetof(struct blk_req, table) % 16 == 0, "indirect table alignment");

/*
 * A slot's request chain, built once per device initialisation (blk_build): header, data,
 * status descriptors, in the ring or in the slot's indirect table.  A request only patches
 * the data descriptor and the header's next (a flush skips the data descriptor).
 */
struct blk_chain {
	struct vring_desc *t;			/* q->desc, or the slot's indirect table */
	u16 head;				/* what goes into the avail ring */
	u16 hdr, data, status;			/* indices into t */
};

/* One disk under test. */
struct blk {
	struct vdev *d;
	struct virtq *q;
	char name[16];				/* "blk <slot>", for check lines */
	u64 capacity;				/* sectors */
	int ro;
	int indirect;				/* odd slots use indirect tables */
	u32 req_sectors;			/* data sectors per request */
	u32 depth;				/* requests in flight */
	struct blk_req *reqs;			/* BLK_MAX_SLOTS */
	u64 buf;				/* depth * req_sectors sectors, user-accessible */
	u64 seed;
	struct blk_chain chain[BLK_MAX_SLOTS];
	u32 want_len[BLK_MAX_SLOTS];		/* used length each slot must report */
	u8 want_status[BLK_MAX_SLOTS];
};

/* ---- set-up -------------------------------------------------------------------------- */

/* Descriptors `depth` requests of up to three buffers take; odd slots use one when indirect. */
static u32 descs_needed(u32 depth, int indirect)
{
	return indirect ? depth / 2 * 1 + (depth + 1) / 2 * 3 : depth * 3;
}

static void blk_alloc(struct virtio *v, u64 buf_bytes)
{
	if (!v->blk_reqs)
		v->blk_reqs = dma_alloc(sizeof(struct blk_req) * BLK_MAX_SLOTS);
	if (v->blk_buf_bytes < buf_bytes) {
		v->blk_buf = dma_alloc(buf_bytes);
		v->blk_buf_bytes = buf_bytes;
	}
}

/* Build every slot's chain in the freshly set-up queue (see struct blk_chain). */
static void blk_build(struct blk *b)
{
	u32 slot;

	for (slot = 0; slot < b->depth; slot++) {
		struct blk_req *r = &b->reqs[slot];
		struct blk_chain *c = &b->chain[slot];
		u64 indirect = b->indirect && (slot & 1) ? (u64)r->table : 0;
		struct vbuf v[3] = {
			{ (u64)&r->hdr, sizeof(r->hdr), 0 },
			{ b->buf, SECTOR_SIZE, 0 },
			{ (u64)&r->status, 1, 1 },
		};
		int head = virtq_build(b->q, v, 3, indirect);

		if (head < 0)
			panic("blk: no descriptors for slot %u of %u", slot, b->depth);
		r->hdr.ioprio = 0;
		c->head = (u16)head;
		c->t = indirect ? r->table : b->q->desc;
		c->hdr = indirect ? 0 : (u16)head;
		c->data = c->t[c->hdr].next;
		c->status = c->t[c->data].next;
	}
}

/* (Re)initialise the device and build the chains; 0, or -1 with d->error set. */
static int blk_start(struct blk *b)
{
	if (vdev_init(b->d, BLK_FEATURES, 1, VIRTQ_MAX_SIZE))
		return -1;
	blk_build(b);
	return 0;
}

/* Initialise the device and read its configuration; 0, or -1 after a FAIL line. */
static int blk_open(struct blk *b, struct vdev *d)
{
	struct virtio *v = virtio_get();
	u64 req = MIN(MAX(g.opt.blk_req, 1), BLK_MAX_REQ);
	u64 depth = MIN(MAX(g.opt.blk_depth, 1), BLK_MAX_SLOTS);
	u64 buf_bytes;

	memset(b, 0, offsetof(struct blk, chain));
	b->d = d;
	b->q = &d->vq[0];
	snprintf(b->name, sizeof(b->name), "blk %u", d->slot);
	if (vdev_init(d, BLK_FEATURES, 1, VIRTQ_MAX_SIZE)) {
		check_fail(b->name, "initialisation: %s (status 0x%x)", d->error, vdev_status(d));
		return -1;
	}
	b->capacity = vdev_cfg64(d, CFG(capacity));
	b->ro = vdev_has(d, VIRTIO_BLK_F_RO);
	b->indirect = vdev_has(d, VIRTIO_RING_F_INDIRECT_DESC);
	b->req_sectors = (u32)req;
	if (vdev_has(d, VIRTIO_BLK_F_SIZE_MAX)) {
		u32 size_max = vdev_cfg32(d, CFG(size_max));

		b->req_sectors = MIN(b->req_sectors, size_max / SECTOR_SIZE);
	}
	if (!b->req_sectors) {
		check_fail(b->name, "size_max below one sector");
		return -1;
	}
	while (depth > 1 && (descs_needed((u32)depth, b->indirect) > b->q->size ||
			     depth * req * SECTOR_SIZE > BLK_MAX_BUF))
		depth--;
	b->depth = (u32)depth;
	/* Sized by the options, not this disk's limits, so every disk can share the buffer. */
	buf_bytes = MIN(MIN(MAX(g.opt.blk_depth, 1), BLK_MAX_SLOTS) * req * SECTOR_SIZE,
			MAX(BLK_MAX_BUF, req * SECTOR_SIZE));
	blk_alloc(v, buf_bytes);
	b->reqs = (struct blk_req *)v->blk_reqs;
	b->buf = v->blk_buf;
	b->seed = g.opt.blk_seed + d->slot;
	blk_build(b);
	printf("blk: %u features 0x%lx queue %u depth %u request %u sectors\n", d->slot,
	       d->features, b->q->size, b->depth, b->req_sectors);
	return 0;
}

static void blk_close(struct blk *b)
{
	if (vdev_reset(b->d))
		check_fail(b->name, "status does not read 0 after a reset");
}

/* ---- requests ------------------------------------------------------------------------ */

/*
 * Queue one request in `slot`: header, optional data (device-writable when `in`), status.
 * The used length it must report is `want_len`; its status must be `want_status`.
 */
static void blk_queue(struct blk *b, u32 slot, u32 type, u64 sector, u64 data, u32 len, int in,
		      u32 want_len, u8 want_status)
{
	struct blk_req *r = &b->reqs[slot];
	struct blk_chain *c = &b->chain[slot];

	r->hdr.type = type;
	r->hdr.sector = sector;
	r->status = 0xff;
	if (len) {
		struct vring_desc *dd = &c->t[c->data];

		dd->addr = data;
		dd->len = len;
		dd->flags = VRING_DESC_F_NEXT | (in ? VRING_DESC_F_WRITE : 0);
		c->t[c->hdr].next = c->data;
	} else {
		c->t[c->hdr].next = c->status;
	}
	b->want_len[slot] = want_len;
	b->want_status[slot] = want_status;
	virtq_push(b->q, c->head, slot);
}

/* Reap `count` completions, checking each one's status and length; 0, or -1 after a FAIL. */
static int blk_reap(struct blk *b, u32 count, const char *what)
{
	const char *why = NULL;
	char state[128];
	u32 slot, len;

	while (count--) {
		int r = virtq_wait(b->d, b->q, &slot, &len, BLK_IO_TIMEOUT_MS, &why);

		if (r <= 0) {
			virtq_describe(b->d, b->q, state, sizeof(state));
			check_fail(b->name, "%s: %s; %s", what, why, state);
			return -1;
		}
		if (slot >= BLK_MAX_SLOTS) {
			check_fail(b->name, "%s: used entry for unknown slot %u", what, slot);
			return -1;
		}
		/* 0xff: the caller looks at the status itself */
		if (b->want_status[slot] != 0xff && b->reqs[slot].status != b->want_status[slot]) {
			check_fail(b->name, "%s: sector %lu status %u, want %u", what,
				   (u64)b->reqs[slot].hdr.sector, b->reqs[slot].status,
				   b->want_status[slot]);
			return -1;
		}
		if (b->want_len[slot] && len != b->want_len[slot]) {
			check_fail(b->name, "%s: sector %lu used length %u, want %u", what,
				   (u64)b->reqs[slot].hdr.sector, len, b->want_len[slot]);
			return -1;
		}
	}
	return 0;
}

/* One request on its own: queue, kick, reap. */
static int blk_sync(struct blk *b, u32 type, u64 sector, u64 data, u32 len, int in,
		    u32 want_len, u8 want_status, const char *what)
{
	blk_queue(b, 0, type, sector, data, len, in, want_len, want_status);
	virtq_kick(b->d, b->q);
	return blk_reap(b, 1, what);
}

/* user_blk_data() on `count` sectors of the buffer from `offset` sectors in. */
static int blk_data(struct blk *b, u32 op, u64 offset, u64 sector, u64 count, u64 *zeros)
{
	struct blk_data_args a = {
		.buf = b->buf + offset * SECTOR_SIZE,
		.sector = sector,
		.count = count,
		.seed = b->seed,
		.op = op,
	};

	if (user_call(user_blk_data, &a, sizeof(a))) {
		check_fail(b->name, "sector %lu word %lu: expected 0x%016lx got 0x%016lx%s",
			   a.bad_sector, a.bad_word, a.expected, a.got,
			   op == BLK_CHECK_ZERO ? " (want zeros)" : "");
		return -1;
	}
	if (zeros)
		*zeros = a.zero_sectors;
	return 0;
}

/*
 * Write (VIRTIO_BLK_T_OUT, the pattern) or read sectors [first, first + count), up to `depth`
 * requests in flight: each batch is queued whole and kicked once, then reaped whole.  Reads are
 * checked against the pattern when `check`, else left in the buffer (count must then fit it).
 */
static int blk_io(struct blk *b, int write, u64 first, u64 count, int check)
{
	u64 chunk = (u64)b->depth * b->req_sectors, s;

	if (!write && !check && count > chunk)
		panic("blk_io: %lu sectors do not fit the buffer", count);
	for (s = first; s < first + count; s += chunk) {
		u64 n = MIN(chunk, first + count - s), off;
		u32 reqs = 0;

		if (write && blk_data(b, BLK_FILL, 0, s, n, NULL))
			return -1;
		for (off = 0; off < n; off += b->req_sectors, reqs++) {
			u32 bytes = (u32)MIN(b->req_sectors, n - off) * SECTOR_SIZE;

			blk_queue(b, reqs, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, s + off,
				  b->buf + off * SECTOR_SIZE, bytes, !write, write ? 1 : bytes + 1,
				  VIRTIO_BLK_S_OK);
		}
		virtq_kick(b->d, b->q);
		if (blk_reap(b, reqs, write ? "write" : "read"))
			return -1;
		if (!write && check && blk_data(b, BLK_CHECK, 0, s, n, NULL))
			return -1;
	}
	return 0;
}

static int blk_flush(struct blk *b)
{
	return blk_sync(b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, 1, VIRTIO_BLK_S_OK, "flush");
}

/*
 * GET_ID, with this device's interrupt line routed to us: proves used-buffer interrupts and
 * InterruptACK work, once per disk.  Prints the disk's identification line.
 */
static int blk_identify(struct blk *b)
{
	struct virtio *v = virtio_get();
	char id[VIRTIO_BLK_ID_BYTES + 1];
	u8 *raw = (u8 *)b->buf;
	int irq = !vdev_irq_enable(b->d), got = 0;
	u32 seen = v->irq_count, i, status;

	memset(raw, 0, VIRTIO_BLK_ID_BYTES);
	if (irq)
		virtq_irq(b->q, 1);
	/* The ID is at most 20 bytes, so any length up to 21 with the status is fine. */
	blk_queue(b, 0, VIRTIO_BLK_T_GET_ID, 0, b->buf, VIRTIO_BLK_ID_BYTES, 1, 0, 0xff);
	virtq_kick(b->d, b->q);
	if (irq)
		got = vdev_irq_wait(seen, BLK_IRQ_TIMEOUT_MS);
	if (blk_reap(b, 1, "GET_ID")) {
		vdev_irq_disable(b->d);
		return -1;
	}
	if (irq) {
		vdev_irq_disable(b->d);
		virtq_irq(b->q, 0);
		if (got)
			check_ok("blk %u interrupt gsi %u isr 0x%x", b->d->slot, b->d->irq,
				 v->irq_status);
		else
			check_fail(b->name, "no interrupt on gsi %u for a used buffer", b->d->irq);
	} else {
		printf("blk: %u gsi %u is beyond the IOAPIC's %u pins: polling only\n",
		       b->d->slot, b->d->irq, v->ioapic_pins);
	}

	status = b->reqs[0].status;
	if (status == VIRTIO_BLK_S_OK) {
		for (i = 0; i < VIRTIO_BLK_ID_BYTES && raw[i]; i++)
			id[i] = raw[i] > ' ' && raw[i] < 0x7f ? (char)raw[i] : '?';
		id[i] = '\0';
		if (!i)
			id[i++] = '-', id[i] = '\0';
	} else {
		snprintf(id, sizeof(id), "?status-%u", status);
		check_fail(b->name, "GET_ID status %u", status);
	}
	printf("blk: %u capacity %lu ro %d id %s\n", b->d->slot, b->capacity, b->ro, id);
	return 0;
}

/* ---- test=blk ------------------------------------------------------------------------ */

static u64 ms_since(u64 t0)
{
	return (rdtsc() - t0) / g.tsc_khz;
}

static void blk_run(struct blk *b)
{
	u64 count = g.opt.blk_sectors ? MIN(g.opt.blk_sectors, b->capacity) : b->capacity;
	u64 chunk = (u64)b->depth * b->req_sectors, t0;
	u32 mode = g.opt.blk_mode, slot = b->d->slot;

	if (!count) {
		check_fail(b->name, "capacity 0");
		return;
	}
	if (b->ro && (mode & BLK_MODE_WRITE)) {
		printf("blk: %u read-only: not written\n", slot);
		return;
	}
	if (mode & BLK_MODE_WRITE) {
		t0 = rdtsc();
		if (blk_io(b, 1, 0, count, 0))
			return;
		printf("blk: %u write %lu sectors %lu ms\n", slot, count, ms_since(t0));
		if (vdev_has(b->d, VIRTIO_BLK_F_FLUSH)) {
			if (blk_flush(b))
				return;
			check_ok("blk %u flush", slot);
		} else {
			printf("blk: %u FLUSH not negotiated: no flush\n", slot);
		}
	}
	if (mode & BLK_MODE_READ) {
		/* Whatever was in the buffer must not pass for data read from the disk. */
		if (blk_data(b, BLK_POISON, 0, 0, MIN(chunk, count), NULL))
			return;
		t0 = rdtsc();
		if (blk_io(b, 0, 0, count, 1))
			return;
		printf("blk: %u read %lu sectors %lu ms\n", slot, count, ms_since(t0));
	}
	check_ok("blk %u %s %lu sectors", slot,
		 mode == BLK_MODE_RW ? "write/read" : mode == BLK_MODE_WRITE ? "write" : "read",
		 count);
}

/* The one struct blk, from the page pool: .bss is cleared at every boot, at CPL0. */
static struct blk *blk_state(void)
{
	struct virtio *v = virtio_get();

	if (!v->blk)
		v->blk = (struct blk *)page_alloc(ALIGN_UP(sizeof(struct blk), PAGE_SIZE) /
						  PAGE_SIZE);
	return v->blk;
}

/* Calls fn for every virtio-blk disk (opened; closed afterwards); returns how many exist. */
static u32 blk_each(void (*fn)(struct blk *b), int identify)
{
	struct blk *b = blk_state();
	struct vdev *d;
	u32 i;

	for (i = 0; (d = virtio_find(VIRTIO_ID_BLOCK, i)); i++) {
		if (!blk_open(b, d) && (!identify || !blk_identify(b)))
			fn(b);
		blk_close(b);
	}
	return i;
}

void test_blk(void)
{
	if (!blk_each(blk_run, 1))
		check_fail("blk", "no virtio-blk device");
}

/* ---- test=blk_ro --------------------------------------------------------------------- */

static u32 blk_ro_seen;

static void blk_ro_run(struct blk *b)
{
	u32 slot = b->d->slot, n = (u32)MIN(8, b->capacity);

	if (!b->ro)
		return;
	blk_ro_seen++;
	if (!n) {
		check_fail(b->name, "capacity 0");
		return;
	}
	if (blk_data(b, BLK_FILL, 0, 0, n, NULL))
		return;
	/* 1.2, 5.2.6.2: a write to a VIRTIO_BLK_F_RO device fails with IOERR. */
	if (blk_sync(b, VIRTIO_BLK_T_OUT, 0, b->buf, n * SECTOR_SIZE, 0, 1, VIRTIO_BLK_S_IOERR,
		     "write to a read-only disk"))
		return;
	if (blk_sync(b, VIRTIO_BLK_T_IN, 0, b->buf, n * SECTOR_SIZE, 1, n * SECTOR_SIZE + 1,
		     VIRTIO_BLK_S_OK, "read from a read-only disk"))
		return;
	check_ok("blk ro write rejected slot %u", slot);
}

void test_blk_ro(void)
{
	blk_ro_seen = 0;
	blk_each(blk_ro_run, 1);
	if (!blk_ro_seen)
		check_fail("blk_ro", "no read-only virtio-blk device");
}

/* ---- test=blk_flush ------------------------------------------------------------------ */

static void blk_flush_run(struct blk *b)
{
	u64 n = MIN((u64)b->depth * b->req_sectors, b->capacity);
	u32 slot = b->d->slot;

	if (b->ro)
		return;
	if (!vdev_has(b->d, VIRTIO_BLK_F_FLUSH)) {
		check_fail(b->name, "FLUSH not negotiated (device offers 0x%lx)", b->d->offered);
		return;
	}
	/* A flush with nothing written, then one after a batch of writes. */
	if (blk_flush(b) || blk_io(b, 1, 0, n, 0) || blk_flush(b) || blk_io(b, 0, 0, n, 1))
		return;
	check_ok("blk %u flush", slot);
}

void test_blk_flush(void)
{
	if (!blk_each(blk_flush_run, 0))
		check_fail("blk_flush", "no virtio-blk device");
}

/* ---- test=blk_discard, test=blk_zeroes ----------------------------------------------- */

static u32 blk_zero_offered;

/*
 * Write the pattern over [0, 3L), DISCARD or WRITE_ZEROES [L, 2L), read [0, 3L) back: the
 * outer thirds keep the pattern, the middle reads zeros.  (A discarded sector may also keep
 * its old data: 1.2, 5.2.6; the line says how many read back as zeros.)
 */
static void blk_zero_range(struct blk *b, int discard)
{
	const char *what = discard ? "discard" : "write-zeroes";
	u32 type = discard ? VIRTIO_BLK_T_DISCARD : VIRTIO_BLK_T_WRITE_ZEROES;
	u32 max = vdev_cfg32(b->d, discard ? CFG(max_discard_sectors) :
					     CFG(max_write_zeroes_sectors));
	u32 segs = vdev_cfg32(b->d, discard ? CFG(max_discard_seg) : CFG(max_write_zeroes_seg));
	u32 align = discard ? vdev_cfg32(b->d, CFG(discard_sector_alignment)) : 1;
	u64 len = BLK_ZERO_RANGE, chunk = (u64)b->depth * b->req_sectors, zeros = 0;
	struct blk_req *r = &b->reqs[0];

	if (b->ro || !vdev_has(b->d, discard ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES))
		return;
	blk_zero_offered++;
	align = MAX(align, 1);
	len = (len + align - 1) / align * align;
	if (max && len > max)
		len = max / align * align;
	if (3 * len > chunk)
		len = chunk / 3 / align * align;
	printf("blk: %u %s max %u sectors %u segments alignment %u: range %lu+%lu\n",
	       b->d->slot, what, max, segs, align, len, len);
	if (!len || !segs || 3 * len > b->capacity) {
		check_fail(b->name, "%s: no room for a test range (capacity %lu)", what,
			   b->capacity);
		return;
	}
	if (blk_io(b, 1, 0, 3 * len, 0))
		return;
	r->seg.sector = len;
	r->seg.num_sectors = (u32)len;
	r->seg.flags = 0;
	if (blk_sync(b, type, 0, (u64)&r->seg, sizeof(r->seg), 0, 1, VIRTIO_BLK_S_OK, what))
		return;
	if (blk_io(b, 0, 0, 3 * len, 0) || blk_data(b, BLK_CHECK, 0, 0, len, NULL) ||
	    blk_data(b, discard ? BLK_CHECK_ZERO_OR_OLD : BLK_CHECK_ZERO, len, len, len, &zeros) ||
	    blk_data(b, BLK_CHECK, 2 * len, 2 * len, len, NULL))
		return;
	if (discard)
		check_ok("blk %u discard %lu sectors, %lu read back as zeros", b->d->slot, len,
			 zeros);
	else
		check_ok("blk %u write-zeroes %lu sectors", b->d->slot, len);
}

static void blk_discard_run(struct blk *b)
{
	blk_zero_range(b, 1);
}

static void blk_zeroes_run(struct blk *b)
{
	blk_zero_range(b, 0);
}

void test_blk_discard(void)
{
	blk_zero_offered = 0;
	blk_each(blk_discard_run, 0);
	if (!blk_zero_offered)
		printf("skip: blk_discard: no writable disk negotiated DISCARD\n");
}

void test_blk_zeroes(void)
{
	blk_zero_offered = 0;
	blk_each(blk_zeroes_run, 0);
	if (!blk_zero_offered)
		printf("skip: blk_zeroes: no writable disk negotiated WRITE_ZEROES\n");
}

/* ---- test=blk_bad -------------------------------------------------------------------- */

/*
 * Each case writes a broken request straight into a freshly initialised queue (no virtq_add)
 * and returns the avail->idx to publish.  All are reads of sector 0, so a device that wrongly
 * accepts one does not change the disk.
 */
static void bad_desc(struct virtq *q, u16 i, u64 addr, u32 len, u16 flags, u16 next)
{
	q->desc[i].addr = addr;
	q->desc[i].len = len;
	q->desc[i].flags = flags;
	q->desc[i].next = next;
}

/* A well-formed read of sector 0 in descriptors 0-2 (or in an indirect table). */
static void bad_good_chain(struct blk *b, struct vring_desc *t)
{
	struct blk_req *r = &b->reqs[0];

	r->hdr.type = VIRTIO_BLK_T_IN;
	r->hdr.ioprio = 0;
	r->hdr.sector = 0;
	r->status = 0xff;
	t[0] = (struct vring_desc){ (u64)&r->hdr, sizeof(r->hdr), VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ b->buf, SECTOR_SIZE, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2 };
	t[2] = (struct vring_desc){ (u64)&r->status, 1, VRING_DESC_F_WRITE, 0 };
	b->q->avail->ring[0] = 0;
}

static u16 bad_loop(struct blk *b)
{
	bad_good_chain(b, b->q->desc);
	b->q->desc[2].flags |= VRING_DESC_F_NEXT;
	b->q->desc[2].next = 1;				/* 0 -> 1 -> 2 -> 1 -> ... */
	return 1;
}

static u16 bad_oob(struct blk *b)
{
	bad_good_chain(b, b->q->desc);
	b->q->desc[1].addr = 1ULL << 40;		/* 1 TiB: no RAM there */
	return 1;
}

static u16 bad_wrap(struct blk *b)
{
	bad_good_chain(b, b->q->desc);
	b->q->desc[1].addr = ~0ULL - 255;		/* addr + len wraps around */
	return 1;
}

static u16 bad_avail(struct blk *b)
{
	bad_good_chain(b, b->q->desc);
	return (u16)(b->q->size + 5);			/* more new entries than the ring has */
}

static u16 bad_order(struct blk *b)
{
	struct blk_req *r = &b->reqs[0];
	struct virtq *q = b->q;

	bad_good_chain(b, q->desc);
	/* status (writable) first, then the header (readable): 1.2, 2.7.4.2 forbids it */
	bad_desc(q, 0, (u64)&r->status, 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	bad_desc(q, 1, (u64)&r->hdr, sizeof(r->hdr), VRING_DESC_F_NEXT, 2);
	bad_desc(q, 2, b->buf, SECTOR_SIZE, VRING_DESC_F_WRITE, 0);
	return 1;
}

static u16 bad_head(struct blk *b)
{
	bad_good_chain(b, b->q->desc);
	b->q->avail->ring[0] = b->q->size;		/* no such descriptor */
	return 1;
}

static u16 bad_next(struct blk *b)
{
	bad_good_chain(b, b->q->desc);
	b->q->desc[1].next = (u16)(b->q->size + 3);	/* no such descriptor */
	return 1;
}

static u16 bad_nested(struct blk *b)
{
	struct vring_desc *t = b->reqs[0].table, *t2 = b->reqs[1].table;

	bad_good_chain(b, t2);
	bad_good_chain(b, t);
	/* an indirect descriptor inside an indirect table: 1.2, 2.7.5.3.1 forbids it */
	t[1] = (struct vring_desc){ (u64)t2, 3 * sizeof(*t2), VRING_DESC_F_INDIRECT, 0 };
	bad_desc(b->q, 0, (u64)t, 2 * sizeof(*t), VRING_DESC_F_INDIRECT, 0);
	return 1;
}

static u16 bad_indirect_len(struct blk *b)
{
	struct vring_desc *t = b->reqs[0].table;

	bad_good_chain(b, t);
	/* not a whole number of descriptors */
	bad_desc(b->q, 0, (u64)t, 3 * sizeof(*t) - 8, VRING_DESC_F_INDIRECT, 0);
	return 1;
}

static const struct {
	const char *name;
	u16 (*make)(struct blk *b);
	u32 feature;				/* needs this negotiated; 0: none */
} bad_cases[] = {
	{ "loop", bad_loop, 0 },
	{ "oob", bad_oob, 0 },
	{ "wrap", bad_wrap, 0 },
	{ "avail", bad_avail, 0 },
	{ "order", bad_order, 0 },
	{ "head", bad_head, 0 },
	{ "next", bad_next, 0 },
	{ "nested", bad_nested, VIRTIO_RING_F_INDIRECT_DESC },
	{ "indirect-len", bad_indirect_len, VIRTIO_RING_F_INDIRECT_DESC },
};

/* One case: break the ring, see what the device does, reset, prove it works again. */
static void blk_bad_case(struct blk *b, u32 i)
{
	const char *name = bad_cases[i].name, *outcome;
	struct vdev *d = b->d;
	struct virtq *q = b->q;
	u64 end;
	u32 status;
	u16 used;

	if (vdev_init(d, BLK_FEATURES, 1, VIRTQ_MAX_SIZE)) {
		check_fail("blk_bad", "%s: initialisation: %s", name, d->error);
		return;
	}
	if (bad_cases[i].feature && !vdev_has(d, bad_cases[i].feature)) {
		printf("blk_bad: %s: feature %u not negotiated, skipped\n", name,
		       bad_cases[i].feature);
		return;
	}
	__atomic_store_n(&q->avail->idx, bad_cases[i].make(b), __ATOMIC_RELEASE);
	vdev_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);

	end = rdtsc() + tsc_ms(BLK_BAD_TIMEOUT_MS);
	do {
		status = vdev_status(d);
		used = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	} while (!(status & VIRTIO_CONFIG_S_NEEDS_RESET) && !used && rdtsc() < end);
	outcome = status & VIRTIO_CONFIG_S_NEEDS_RESET ? "needs-reset" : used ? "completed" :
									       "no-answer";
	printf("blk_bad: %s: %s; status 0x%x isr 0x%x used-idx %u req-status 0x%x\n", name,
	       outcome, status, vdev_read(d, VIRTIO_MMIO_INTERRUPT_STATUS), used,
	       b->reqs[0].status);

	/* Reset, start again from scratch and prove the device works with one good request. */
	if (blk_start(b)) {
		check_fail("blk_bad", "%s: initialisation after the reset: %s", name, d->error);
		return;
	}
	if (blk_sync(b, VIRTIO_BLK_T_IN, 0, b->buf, SECTOR_SIZE, 1, SECTOR_SIZE + 1,
		     VIRTIO_BLK_S_OK, "read after the reset"))
		return;
	if (used && !(status & VIRTIO_CONFIG_S_NEEDS_RESET))
		check_fail("blk_bad", "%s: the device completed the malformed request", name);
	else
		check_ok("blk_bad %s -> %s", name, outcome);
}

void test_blk_bad(void)
{
	struct vdev *d = virtio_find(VIRTIO_ID_BLOCK, 0);
	struct blk *b = blk_state();
	u32 i;

	if (!d) {
		check_fail("blk_bad", "no virtio-blk device");
		return;
	}
	if (!blk_open(b, d)) {
		for (i = 0; i < ARRAY_SIZE(bad_cases); i++)
			blk_bad_case(b, i);
	}
	blk_close(b);
}
