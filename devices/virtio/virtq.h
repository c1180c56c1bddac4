/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueue, device side.  The transport fills in size and ring addresses as the driver
 * writes them; virtq_enable() checks them (size a power of two <= max, each ring aligned and
 * wholly inside RAM) and caches host pointers.  Then:
 *
 *   virtq_pop()   takes the next available chain and validates it completely (chain.h);
 *   virtq_push()  puts a finished chain into the used ring (not yet visible to the driver);
 *   virtq_flush() publishes the used index and says whether the driver wants an interrupt
 *                 (EVENT_IDX or VRING_AVAIL_F_NO_INTERRUPT).
 *
 * Once a rule is broken the queue is marked broken and pops nothing more until it is reset;
 * the device turns that into NEEDS_RESET (vdev.c).  The queue is only ever touched under its
 * device's lock.
 */
#ifndef MVMM_DEVICES_VIRTIO_VIRTQ_H
#define MVMM_DEVICES_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

#include "chain.h"

struct guest_mem;
struct vring_desc;
struct vring_avail;
struct vring_used;
struct vstate_buf;
struct vstate_rd;

/* Largest queue any of our devices offers. */
#define VIRTQ_MAX_SIZE 1024

struct virtq {
	/* Driver-written configuration (through the transport). */
	uint16_t size;			/* entries; 0 until the driver sets QUEUE_NUM */
	uint16_t max_size;		/* offered in QUEUE_NUM_MAX, a power of two */
	bool ready;			/* QUEUE_READY accepted (rings validated) */
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;

	/* Negotiated features that change the ring protocol. */
	bool event_idx;			/* VIRTIO_RING_F_EVENT_IDX */
	bool indirect;			/* VIRTIO_RING_F_INDIRECT_DESC */

	/* Device-side state. */
	const struct guest_mem *mem;
	struct vring_desc *desc;	/* host pointers, valid while ready */
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail;		/* next available-ring entry to take */
	uint16_t next_used;		/* next used-ring entry to fill */
	uint16_t signalled_used;	/* used index when we last decided about an interrupt */
	bool broken;			/* a rule was broken: no more pops until reset */
	const char *why;		/* static: what the guest did wrong */
};

void virtq_init(struct virtq *q, const struct guest_mem *mem, uint16_t max_size);
/* Back to the power-on state (driver configuration forgotten). */
void virtq_reset(struct virtq *q);
/* Validate size and rings and go ready; -MVMM_EGUEST with q->why set on a bad layout. */
int virtq_enable(struct virtq *q);

/*
 * Next chain: 1 when one was taken into *c, 0 when the ring is empty, -MVMM_EGUEST when the
 * guest broke a rule (q->broken and q->why set), -ENOMEM.
 */
int virtq_pop(struct virtq *q, struct vchain *c);
/* Return chain `head` with `len` bytes written by the device. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/* Publish pushed entries; true when the driver should be interrupted. */
bool virtq_flush(struct virtq *q);
/*
 * After processing, with EVENT_IDX: ask for a notification at the next buffer and tell whether
 * buffers arrived meanwhile (the caller then pops again rather than waiting for a kick).
 */
bool virtq_enable_notify(struct virtq *q);
/* Available entries not yet taken (0 when not ready). */
uint16_t virtq_pending(const struct virtq *q);

/*
 * vring_need_event() from the virtio spec.  With EVENT_IDX the driver asks for an interrupt once
 * the used entry at `event_idx` is filled; we just moved the used index from old_idx to
 * new_idx, i.e. filled entries [old_idx, new_idx).  All modulo 2^16: the ring indices wrap.
 */
static inline bool virtq_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

/* Queue state for save/load (the queue must be idle: its device quiesced). */
void virtq_save(const struct virtq *q, struct vstate_buf *b);
/* Restores and re-validates; -MVMM_EGUEST / -EINVAL when the saved rings do not fit. */
int virtq_load(struct virtq *q, struct vstate_rd *r);

#endif /* MVMM_DEVICES_VIRTIO_VIRTQ_H */
