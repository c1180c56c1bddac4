// SPDX-License-Identifier: MIT
/*
 * test=blkbench, CPL3 half: the request loop (see blkbench.h).  Like user.c it lives in the
 * user-accessible pages (guest.ld places every *user.o there) and calls nothing outside this
 * file, so it runs at native speed on PVM.
 *
 * Every slot's descriptor chain was built once at CPL0; a request here is a few native
 * stores: the header's sector, the status byte, one avail entry.  Completions are polled in
 * the used ring and refilled in the same pass; the new avail->idx is published once per pass
 * and the device notified only when EVENT_IDX says it is waiting for it.  The used_event index
 * is kept behind what the device has signalled, so it never raises an interrupt.
 */
#include "blkbench.h"

#define HEAD_NONE	0xffff

static inline uint64_t bb_rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* The next request's first sector. */
static uint64_t next_sector(struct blkbench_args *a)
{
	uint64_t block;

	if (a->random) {
		uint64_t x = a->rng;

		/* xorshift64, then a multiply-shift into [0, blocks): no division. */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		a->rng = x;
		block = (uint64_t)(((unsigned __int128)x * a->blocks) >> 64);
	} else {
		block = a->next_block++;
		if (a->next_block == a->blocks)
			a->next_block = 0;
	}
	return block * a->bs_sectors;
}

/* Queue one slot's request (not yet visible: see publish()). */
static void submit(struct blkbench_args *a, struct vring_avail *avail, struct blkbench_req *r)
{
	r->hdr.sector = next_sector(a);
	r->status = 0xff;
	avail->ring[a->avail_idx & (a->size - 1)] = r->head;
	a->avail_idx++;
	a->submitted++;
}

/* Publish avail->idx and notify the device unless it said it need not be (virtq_kick()). */
static void publish(struct blkbench_args *a, struct vring_avail *avail, struct vring_used *used)
{
	uint16_t old = a->kicked_idx, now = a->avail_idx;
	int notify;

	/* Pairs with the device's acquire fence after it reads avail->idx (virtq_pop). */
	__atomic_store_n(&avail->idx, now, __ATOMIC_RELEASE);
	/*
	 * The idx store must be visible before we read avail_event, or the device could go to
	 * sleep on the old idx while we skip the kick: pairs with the device's full fence after
	 * it writes avail_event (virtq_enable_notify).
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (a->event_idx)
		notify = vring_need_event(__atomic_load_n((uint16_t *)&used->ring[a->size],
							  __ATOMIC_RELAXED), now, old);
	else
		notify = !(__atomic_load_n(&used->flags, __ATOMIC_RELAXED) & VRING_USED_F_NO_NOTIFY);
	a->kicked_idx = now;
	if (notify) {
		uint64_t t = bb_rdtsc();

		/* A store to the user-mapped QueueNotify register: one exit, to an ioeventfd. */
		*(volatile uint32_t *)a->notify = a->queue;
		a->kick_ticks += bb_rdtsc() - t;
		a->kicks++;
	}
}

/* used_event one behind what we consumed: the device never sees it crossed (no interrupt). */
static void no_interrupts(struct blkbench_args *a, struct vring_avail *avail)
{
	if (a->event_idx)
		__atomic_store_n(&avail->ring[a->size], (uint16_t)(a->last_used - 1),
				 __ATOMIC_RELAXED);
}

static uint64_t fail(struct blkbench_args *a, uint64_t error, uint64_t sector, uint64_t value)
{
	a->error = error;
	a->error_sector = sector;
	a->error_value = value;
	return error;
}

uint64_t user_blkbench(void *args)
{
	struct blkbench_args *a = args;
	struct blkbench_req *reqs = (struct blkbench_req *)a->reqs;
	struct vring_avail *avail = (struct vring_avail *)a->avail;
	struct vring_used *used = (struct vring_used *)a->used;
	uint16_t slot_of[BLKBENCH_MAX_DEPTH];	/* by head; the ring has at most that many */
	uint64_t now, progress, status_at, t;
	uint32_t i;

	if (a->size > BLKBENCH_MAX_DEPTH)
		return fail(a, BLKBENCH_EUSED, 0, a->size);
	for (i = 0; i < a->size; i++)
		slot_of[i] = HEAD_NONE;
	for (i = 0; i < a->depth; i++)
		slot_of[reqs[i].head] = (uint16_t)i;
	no_interrupts(a, avail);

	a->first_tsc = a->last_tsc = now = bb_rdtsc();
	for (i = 0; i < a->depth && a->submitted < a->total; i++)
		submit(a, avail, &reqs[i]);
	publish(a, avail, used);
	progress = now;
	status_at = now + a->status_ticks;

	while (a->completed < a->submitted) {
		/* Pairs with the device's release fence before it stores used->idx. */
		uint16_t idx = __atomic_load_n(&used->idx, __ATOMIC_ACQUIRE);
		int more;

		if (idx == a->last_used) {
			a->polls_empty++;
			now = bb_rdtsc();
			if (now - progress > a->timeout_ticks)
				return fail(a, BLKBENCH_ETIMEOUT, 0, (uint16_t)(idx - a->last_used));
			if (now > status_at) {
				/* An MMIO read (an exit): only when the device seems stuck. */
				uint32_t s = *(volatile uint32_t *)a->status_reg;

				if (s & VIRTIO_CONFIG_S_NEEDS_RESET)
					return fail(a, BLKBENCH_ERESET, 0, s);
				status_at = now + a->status_ticks;
			}
			asm volatile("pause" : : : "memory");
			continue;
		}
		t = now = bb_rdtsc();
		more = !(a->deadline && now >= a->deadline);
		while (a->last_used != idx) {
			const struct vring_used_elem *e = &used->ring[a->last_used & (a->size - 1)];
			uint32_t head = e->id;
			struct blkbench_req *r;

			if (head >= a->size || slot_of[head] == HEAD_NONE)
				return fail(a, BLKBENCH_EUSED, 0, head);
			r = &reqs[slot_of[head]];
			if (r->status != VIRTIO_BLK_S_OK)
				return fail(a, BLKBENCH_EIO, r->hdr.sector, r->status);
			a->last_used++;
			a->completed++;
			if (more && a->submitted < a->total)
				submit(a, avail, r);
		}
		a->last_tsc = now;
		progress = now;
		status_at = now + a->status_ticks;
		no_interrupts(a, avail);
		if (a->avail_idx != a->kicked_idx)
			publish(a, avail, used);
		a->busy_ticks += bb_rdtsc() - t;
	}
	return BLKBENCH_OK;
}
