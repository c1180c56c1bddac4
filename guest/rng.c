// SPDX-License-Identifier: MIT
/*
 * test=rng: read two samples of rng_bytes (default 4096) from virtio-rng, each as several
 * requests in flight at once, the first request through an interrupt.  Every 512-byte piece
 * must have been written (the buffers start zeroed) and the two samples must differ.
 */
#include "virtio.h"

#define RNG_PIECE		512
#define RNG_MAX_BYTES		(64 * 1024)
#define RNG_TIMEOUT_MS		5000
#define RNG_MAX_ROUNDS		1000		/* short answers before we give up */

#define RNG_WANTED	(1ULL << VIRTIO_RING_F_INDIRECT_DESC | 1ULL << VIRTIO_RING_F_EVENT_IDX)

static int all_zero(const u64 *p, u64 bytes)
{
	u64 i;

	for (i = 0; i < bytes / 8; i++) {
		if (p[i])
			return 0;
	}
	return 1;
}

/*
 * Fill `bytes` at buf: one request per piece, all queued then kicked at once; a piece the
 * device answered short is asked for again from where it stopped.  With `irq`, the first
 * completion must come with an interrupt.  0, or -1 after a FAIL line.
 */
static int rng_fill(struct vdev *d, u64 buf, u64 bytes, int irq)
{
	struct virtq *q = &d->vq[0];
	struct virtio *v = virtio_get();
	u64 off[RNG_MAX_BYTES / RNG_PIECE];
	u32 left[RNG_MAX_BYTES / RNG_PIECE], pending = 0, rounds = 0, n, i, tok, len;
	const char *why = NULL;
	char state[128];

	n = (u32)((bytes + RNG_PIECE - 1) / RNG_PIECE);
	for (i = 0; i < n; i++) {
		off[i] = i * RNG_PIECE;
		left[i] = (u32)MIN(RNG_PIECE, bytes - off[i]);
	}
	if (irq && vdev_irq_enable(d)) {
		printf("rng: gsi %u is beyond the IOAPIC's %u pins: polling only\n", d->irq,
		       v->ioapic_pins);
		irq = 0;
	}
	if (irq)
		virtq_irq(q, 1);

	for (;;) {
		u32 seen = v->irq_count;

		for (i = 0; i < n; i++) {
			struct vbuf b = { buf + off[i], left[i], 1 };

			if (!left[i])
				continue;
			if (virtq_add(q, &b, 1, i, 0) < 0)
				break;
			left[i] |= 0x80000000U;		/* in flight */
			pending++;
		}
		if (!pending)
			break;
		if (++rounds > RNG_MAX_ROUNDS) {
			check_fail("rng", "device keeps answering short");
			return -1;
		}
		virtq_kick(d, q);
		if (irq) {
			int got = vdev_irq_wait(seen, RNG_TIMEOUT_MS);

			vdev_irq_disable(d);
			virtq_irq(q, 0);
			irq = 0;
			if (!got) {
				check_fail("rng", "no interrupt on gsi %u for a used buffer",
					   d->irq);
				return -1;
			}
			check_ok("rng %u interrupt gsi %u isr 0x%x", d->slot, d->irq,
				 v->irq_status);
		}
		while (pending) {
			if (virtq_wait(d, q, &tok, &len, RNG_TIMEOUT_MS, &why) <= 0) {
				virtq_describe(d, q, state, sizeof(state));
				check_fail("rng", "%s; %s", why, state);
				return -1;
			}
			if (tok >= n || !(left[tok] & 0x80000000U)) {
				check_fail("rng", "used entry for a piece not in flight (%u)", tok);
				return -1;
			}
			left[tok] &= ~0x80000000U;
			if (len > left[tok]) {
				check_fail("rng", "used length %u for a %u-byte buffer", len,
					   left[tok]);
				return -1;
			}
			off[tok] += len;
			left[tok] -= len;
			pending--;
		}
	}
	return 0;
}

void test_rng(void)
{
	struct vdev *d = virtio_find(VIRTIO_ID_RNG, 0);
	struct virtio *v = virtio_get();
	u64 bytes = MIN(MAX(g.opt.rng_bytes, 8), RNG_MAX_BYTES) & ~7ULL, a, b, i, t0;

	if (!d) {
		check_fail("rng", "no virtio-rng device");
		return;
	}
	if (vdev_init(d, RNG_WANTED & g.opt.virtio_features, 1, VIRTQ_MAX_SIZE)) {
		check_fail("rng", "initialisation: %s (status 0x%x)", d->error, vdev_status(d));
		vdev_reset(d);
		return;
	}
	if (!v->rng_buf)
		v->rng_buf = dma_alloc(2 * RNG_MAX_BYTES);
	a = v->rng_buf;
	b = a + RNG_MAX_BYTES;
	memset((void *)a, 0, bytes);
	memset((void *)b, 0, bytes);

	t0 = rdtsc();
	if (rng_fill(d, a, bytes, 1) || rng_fill(d, b, bytes, 0))
		goto out;
	printf("rng: %u features 0x%lx %lu bytes x2 %lu ms, first 0x%016lx\n", d->slot,
	       d->features, bytes, (rdtsc() - t0) / g.tsc_khz, *(u64 *)a);
	for (i = 0; i < bytes; i += RNG_PIECE) {
		u64 n = MIN(RNG_PIECE, bytes - i);

		if (all_zero((u64 *)(a + i), n) || all_zero((u64 *)(b + i), n)) {
			check_fail("rng", "bytes %lu..%lu still zero", i, i + n);
			goto out;
		}
	}
	if (!memcmp((void *)a, (void *)b, bytes)) {
		check_fail("rng", "two reads returned the same bytes");
		goto out;
	}
	check_ok("rng %lu bytes", 2 * bytes);
out:
	vdev_reset(d);
}
