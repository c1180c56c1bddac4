/* SPDX-License-Identifier: MIT */
/*
 * The guest's virtio-mmio (version 2) transport and split-virtqueue driver, shared by the
 * virtio-blk and virtio-rng tests.
 *
 * Devices are found on the command line, as Linux finds them: one
 * `virtio_mmio.device=<size>@<base>:<irq>` word per device, which mvmm appends to the user's
 * command line.  Everything here runs at CPL0 and is kept lean (each instruction is emulated
 * on PVM hosts): requests are polled in the used ring, and interrupts are only switched on
 * when a test wants to prove they work (one IOAPIC pin at a time, vector VIRTIO_VECTOR).
 * Ring and buffer memory comes from dma_alloc(): user-accessible, so CPL3 code can fill and
 * check data buffers at native speed.
 *
 * Device status, as the driver walks it (virtio 1.2, 3.1.1); any state may go back to 0 with
 * vdev_reset(), and the device may add NEEDS_RESET to a live state when the driver breaks a
 * rule:
 *
 *   0 --> ACKNOWLEDGE --> +DRIVER --> +FEATURES_OK --> +DRIVER_OK  (queues set up before)
 *                                          |
 *                      device cleared it: | feature set refused -> FAILED
 */
#ifndef MVMM_GUEST_VIRTIO_H
#define MVMM_GUEST_VIRTIO_H

#include "guest.h"

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

/* MagicValue: "virt" in little-endian (the virtio-mmio spec gives the number, not a name). */
#define VIRTIO_MMIO_MAGIC	0x74726976U
#define VIRTIO_MMIO_VERSION_2	2

#define VIRTQ_MAX_SIZE		256		/* we ask for at most this many entries */
#define VDEV_MAX_QUEUES		2
#define VIRTIO_MAX_DEVS		16

/* One driver-side buffer of a request. */
struct vbuf {
	u64 addr;
	u32 len;
	u32 write;				/* device-writable */
};

/* One split virtqueue: the rings live in dma memory, the bookkeeping here. */
struct virtq {
	u16 index;				/* queue number on the device */
	u16 size;				/* entries (power of 2), 0: not set up */
	u16 free_head;				/* free descriptors, linked through .next */
	u16 num_free;
	u16 inflight;				/* heads made available, not yet used */
	u16 avail_idx;				/* our copy of avail->idx, published by kick */
	u16 kicked_idx;				/* avail->idx at the last notify decision */
	u16 last_used;				/* used->idx we have consumed up to */
	u8 event_idx;				/* VIRTIO_RING_F_EVENT_IDX negotiated */
	u8 irq_on;				/* we want used-buffer interrupts */
	u64 mem;				/* ring memory: desc, avail, used (pages) */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	u32 token[VIRTQ_MAX_SIZE];		/* by head: the caller's cookie */
	u16 chain_len[VIRTQ_MAX_SIZE];		/* by head: descriptors used, 0 when free */
	u8 head_flags[VIRTQ_MAX_SIZE];		/* by head: VIRTQ_HEAD_* */
};

#define VIRTQ_HEAD_KEEP		1		/* built by virtq_build: stays allocated */
#define VIRTQ_HEAD_BUSY		2		/* available to the device */

struct vdev {
	u64 base;				/* MMIO register window */
	u32 slot;				/* (base - X86_VIRTIO_MMIO_BASE) / stride */
	u32 irq;				/* GSI from the command line */
	u32 device_id;				/* VIRTIO_ID_* */
	u32 vendor_id;
	u64 offered;				/* device features */
	u64 features;				/* negotiated */
	u32 nvq;
	struct virtq vq[VDEV_MAX_QUEUES];
	const char *error;			/* why the last vdev_init() failed */
};

struct virtio {
	struct vdev devs[VIRTIO_MAX_DEVS];
	u32 ndevs;
	u32 ioapic_pins;			/* redirection entries; 0 until first use */
	struct vdev *irq_dev;			/* the device whose pin is unmasked */
	volatile u32 irq_count;			/* interrupts taken for irq_dev */
	volatile u32 irq_status;		/* InterruptStatus bits they carried, ORed */
	volatile u32 irq_stray;			/* interrupts with no device or no status */
	/* Buffers the tests share (one device is tested at a time); dma memory, 0: none yet. */
	u64 blk_reqs;				/* blk.c's request headers and tables */
	u64 blk_buf;				/* blk.c's data buffer */
	u64 blk_buf_bytes;
	u64 rng_buf;				/* rng.c's two samples */
	struct blk *blk;			/* blk.c's disk state (5 KiB: kept out of .bss) */
};

/* The devices on the command line, discovered (and printed) on the first call. */
struct virtio *virtio_get(void);
/* The nth (0-based) device with this device id, or NULL. */
struct vdev *virtio_find(u32 device_id, u32 nth);

static inline u32 vdev_read(const struct vdev *d, u32 reg)
{
	return mmio_read32(d->base + reg);
}

static inline void vdev_write(const struct vdev *d, u32 reg, u32 v)
{
	mmio_write32(d->base + reg, v);
}

static inline u32 vdev_status(const struct vdev *d)
{
	return vdev_read(d, VIRTIO_MMIO_STATUS);
}

static inline int vdev_has(const struct vdev *d, u32 bit)
{
	return !!(d->features & (1ULL << bit));
}

/*
 * Reset, negotiate (VERSION_1 is required; `wanted` adds optional bits, which are taken when
 * offered), set up `nvq` queues of at most `qmax` entries and set DRIVER_OK.  0, or -1 with
 * d->error set.
 */
int vdev_init(struct vdev *d, u64 wanted, u32 nvq, u32 qmax);
/* Write 0 to the status and wait until it reads 0; -1 if it does not within a second. */
int vdev_reset(struct vdev *d);
/* Device-specific configuration space, read with accesses of the field's width. */
u8 vdev_cfg8(const struct vdev *d, u32 off);
u32 vdev_cfg32(const struct vdev *d, u32 off);
u64 vdev_cfg64(const struct vdev *d, u32 off);

/*
 * Queue a chain (not yet visible to the device: see virtq_kick).  With `indirect` nonzero the
 * buffers go into that table (n entries, 16-byte aligned dma memory) and the ring gets one
 * descriptor.  Returns the head, or -1 when the ring has too few free descriptors.
 */
int virtq_add(struct virtq *q, const struct vbuf *bufs, u32 n, u32 token, u64 indirect);
/*
 * Build a chain like virtq_add but keep it: it is not made available, and virtq_get() does
 * not free it, so the caller can patch its descriptors in place and virtq_push() it again and
 * again.  Cheaper per request than virtq_add() at CPL0, where every store is emulated.
 */
int virtq_build(struct virtq *q, const struct vbuf *bufs, u32 n, u64 indirect);
/* Make a kept chain (virtq_build) available again; it must not be in flight. */
void virtq_push(struct virtq *q, u16 head, u32 token);
/* Publish what virtq_add queued and notify the device unless it asked not to be. */
void virtq_kick(struct vdev *d, struct virtq *q);
/*
 * Take one used entry: 1 (with *token and *len) when there was one, 0 when none, -1 when the device
 * broke the ring (bad id or index; *why says how).
 */
int virtq_get(struct virtq *q, u32 *token, u32 *len, const char **why);
/*
 * Poll until one entry is used (1), the device needs a reset or breaks the ring (-1, *why),
 * or timeout_ms pass (0).
 */
int virtq_wait(struct vdev *d, struct virtq *q, u32 *token, u32 *len, u64 timeout_ms,
	       const char **why);
/* Ask for used-buffer interrupts on this queue, or not (the default). */
void virtq_irq(struct virtq *q, int on);
/* "avail 3 used 2 last-used 2 status 0x4f isr 0x1" into buf, for failure reports. */
void virtq_describe(const struct vdev *d, const struct virtq *q, char *buf, size_t size);

/*
 * Route the device's GSI to VIRTIO_VECTOR on this CPU (edge, active high, as the MP table's
 * ISA entries say), after acknowledging anything pending.  -1 if the IOAPIC has no such pin.
 */
int vdev_irq_enable(struct vdev *d);
void vdev_irq_disable(struct vdev *d);
/* Wait with interrupts on until irq_count passes `seen`; 1 when it did, 0 on timeout. */
int vdev_irq_wait(u32 seen, u64 timeout_ms);

#endif /* MVMM_GUEST_VIRTIO_H */
