/* SPDX-License-Identifier: MIT */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <linux/virtio_ring.h>

#include "virtq.h"
#include "vstate.h"
#include "mvmm/mvmm.h"
#include "vmm/memory.h"
#include "vmm/util.h"

#define VIRTQ_STATE_VERSION 1

/*
 * Ring fields are shared with a guest that writes them concurrently: every access is a single
 * relaxed atomic load or store, so the compiler can neither tear nor repeat it.  Ordering is
 * given by the explicit fences below, each next to the guest-side barrier it pairs with.
 */
static inline uint16_t ring_load16(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static inline void ring_store16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

static inline void ring_store32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, htole32(v), __ATOMIC_RELAXED);
}

void virtq_init(struct virtq *q, const struct guest_mem *mem, uint16_t max_size)
{
	memset(q, 0, sizeof(*q));
	q->mem = mem;
	q->max_size = max_size;
}

void virtq_reset(struct virtq *q)
{
	virtq_init(q, q->mem, q->max_size);
}

static int virtq_bad(struct virtq *q, const char *why)
{
	q->why = why;
	return -MVMM_EGUEST;
}

static int virtq_map(struct virtq *q)
{
	uint64_t n = q->size, ev = q->event_idx ? sizeof(uint16_t) : 0;

	if (n == 0 || (n & (n - 1)) || n > q->max_size)
		return virtq_bad(q, "queue size not a power of two within QUEUE_NUM_MAX");
	if (!IS_ALIGNED(q->desc_gpa, VRING_DESC_ALIGN_SIZE) ||
	    !IS_ALIGNED(q->avail_gpa, VRING_AVAIL_ALIGN_SIZE) ||
	    !IS_ALIGNED(q->used_gpa, VRING_USED_ALIGN_SIZE))
		return virtq_bad(q, "ring misaligned (desc 16, avail 2, used 4)");
	q->desc = guest_mem_ptr(q->mem, q->desc_gpa, n * sizeof(struct vring_desc));
	/* flags, idx, ring[n], used_event when EVENT_IDX is on */
	q->avail = guest_mem_ptr(q->mem, q->avail_gpa, 2 * sizeof(uint16_t) + n * sizeof(uint16_t) + ev);
	/* flags, idx, ring[n], avail_event when EVENT_IDX is on */
	q->used = guest_mem_ptr(q->mem, q->used_gpa,
				2 * sizeof(uint16_t) + n * sizeof(struct vring_used_elem) + ev);
	if (!q->desc || !q->avail || !q->used) {
		q->desc = NULL;
		q->avail = NULL;
		q->used = NULL;
		return virtq_bad(q, "ring not wholly inside guest RAM");
	}
	return 0;
}

int virtq_enable(struct virtq *q)
{
	int err = virtq_map(q);

	if (err)
		return err;
	q->last_avail = q->next_used = q->signalled_used = 0;
	q->broken = false;
	q->why = NULL;
	q->ready = true;
	return 0;
}

uint16_t virtq_pending(const struct virtq *q)
{
	if (!q->ready || q->broken)
		return 0;
	return (uint16_t)(ring_load16(&q->avail->idx) - q->last_avail);
}

static int virtq_break(struct virtq *q, const char *why)
{
	q->broken = true;
	q->why = why;
	return -MVMM_EGUEST;
}

int virtq_pop(struct virtq *q, struct vchain *c)
{
	uint16_t avail_idx, head, pending;
	const char *why;
	int err;

	if (q->broken)
		return -MVMM_EGUEST;
	if (!q->ready)
		return 0;
	avail_idx = ring_load16(&q->avail->idx);
	pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->size)
		return virtq_break(q, "available index moved more than the queue size ahead");
	/*
	 * Read the ring entry and descriptors only after the index that covers them: pairs with
	 * the driver's virtio_wmb() between filling avail->ring[] and writing avail->idx
	 * (virtqueue_add_split).  Without it we could see the new index but a stale head.
	 */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	head = ring_load16(&q->avail->ring[q->last_avail & (q->size - 1)]);
	if (head >= q->size)
		return virtq_break(q, "available ring entry out of range");
	err = vchain_parse(c, q->mem, q->desc, q->size, head, q->indirect, &why);
	if (err == -MVMM_EGUEST)
		return virtq_break(q, why);
	if (err)
		return err;	/* -ENOMEM: leave the entry for the next attempt */
	q->last_avail++;
	return 1;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e;

	if (!q->ready)
		return;
	e = &q->used->ring[q->next_used & (q->size - 1)];
	ring_store32(&e->id, head);
	ring_store32(&e->len, len);
	q->next_used++;
}

bool virtq_flush(struct virtq *q)
{
	uint16_t old = q->signalled_used, now = q->next_used;
	bool need;

	if (!q->ready)
		return false;
	/*
	 * Used elements before the index that publishes them: pairs with the driver's virtio_rmb()
	 * after reading used->idx (virtqueue_get_buf_ctx_split / more_used_split).
	 */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	ring_store16(&q->used->idx, now);
	if (old == now)
		return false;
	/*
	 * Publish used->idx before reading used_event / avail flags: pairs with the driver's
	 * virtio_mb() in virtqueue_enable_cb_delayed_split and virtqueue_poll (it writes
	 * used_event, then a full barrier, then rereads used->idx).  Either the driver sees our
	 * new index or we see its new event index; never neither (a lost interrupt).
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->event_idx)
		need = virtq_need_event(ring_load16(&q->avail->ring[q->size]), now, old);
	else
		need = !(ring_load16(&q->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	q->signalled_used = now;
	return need;
}

bool virtq_enable_notify(struct virtq *q)
{
	if (!q->ready || q->broken)
		return false;
	if (q->event_idx)
		ring_store16((uint16_t *)&q->used->ring[q->size], q->last_avail);
	/*
	 * avail_event before rereading avail->idx: pairs with the driver's virtio_mb() in
	 * virtqueue_kick_prepare_split (it writes avail->idx, then a full barrier, then reads
	 * avail_event).  A buffer added in between is either seen here or kicked.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ring_load16(&q->avail->idx) != q->last_avail;
}

void virtq_save(const struct virtq *q, struct vstate_buf *b)
{
	vstate_put_u8(b, VIRTQ_STATE_VERSION);
	vstate_put_u16(b, q->size);
	vstate_put_u8(b, (uint8_t)(q->ready | q->event_idx << 1 | q->indirect << 2 | q->broken << 3));
	vstate_put_u64(b, q->desc_gpa);
	vstate_put_u64(b, q->avail_gpa);
	vstate_put_u64(b, q->used_gpa);
	vstate_put_u16(b, q->last_avail);
	vstate_put_u16(b, q->next_used);
	vstate_put_u16(b, q->signalled_used);
}

int virtq_load(struct virtq *q, struct vstate_rd *r)
{
	uint8_t version = vstate_get_u8(r), flags;

	virtq_reset(q);
	if (version != VIRTQ_STATE_VERSION)
		return vstate_rd_fail(r, -EINVAL);
	q->size = vstate_get_u16(r);
	flags = vstate_get_u8(r);
	q->desc_gpa = vstate_get_u64(r);
	q->avail_gpa = vstate_get_u64(r);
	q->used_gpa = vstate_get_u64(r);
	q->last_avail = vstate_get_u16(r);
	q->next_used = vstate_get_u16(r);
	q->signalled_used = vstate_get_u16(r);
	if (r->err)
		return r->err;
	if (flags & ~0xfu || q->size > q->max_size)
		return vstate_rd_fail(r, -EINVAL);
	q->event_idx = flags & 2;
	q->indirect = flags & 4;
	q->broken = flags & 8;
	if (q->broken)
		q->why = "queue was broken when saved";
	if (!(flags & 1))
		return 0;
	/* The rings must still be valid in this VM's RAM (a different size is a different VM). */
	if (virtq_map(q))
		return vstate_rd_fail(r, -EINVAL);
	q->ready = true;
	return 0;
}
