/* SPDX-License-Identifier: MIT */
/*
 * The virtio device interface: a device is a struct embedding `struct vdev` plus a
 * `struct vdev_ops` table.  The transport (mmio.c) owns the register file and drives the
 * device-status machine; the device only sees the calls below.
 *
 * Device status, as the driver writes it (enforced by one table in mmio.c):
 *
 *            write 0 (reset) from any state, including FAILED / NEEDS_RESET
 *   +-------------------------------------------------------------------------+
 *   v                                                                         |
 * RESET --ACK--> ACKNOWLEDGE --DRIVER--> DRIVER --FEATURES_OK--> FEATURES_OK --DRIVER_OK--> LIVE
 *                                          |   (refused: VERSION_1 missing or     |   activate()
 *                                          |    unknown bits; FEATURES_OK stays   |   ops->notify()
 *                                          |    clear and the driver gives up)    |   on kicks
 *   any state --FAILED (driver)--> stopped until reset                            |
 *   any state --guest broke a rule (device)--> NEEDS_RESET: logged (rate-limited), |
 *                config interrupt, no more queue processing until reset          v
 *
 * Awake / asleep (for snapshot and fork, orthogonal to the status):
 *
 *   AWAKE --quiesce()--> ASLEEP: in-flight I/O completed and returned to the used ring,
 *     ^                  no further guest RAM or ring access, kicks only remembered
 *     +--unquiesce()----+  remembered kicks are processed now
 *
 *   save() only in ASLEEP (or never activated); load() into a fresh ASLEEP device, then
 *   rebind() attaches host resources, then unquiesce().
 *
 * Locking: vdev->lock serialises register accesses (vCPU threads), queue kicks and I/O
 * completions (loop thread) and quiesce/save/load (any thread).  Every ops callback except
 * destroy runs with it held.
 */
#ifndef MVMM_DEVICES_VIRTIO_VDEV_H
#define MVMM_DEVICES_VIRTIO_VDEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtq.h"

struct vm;
struct guest_mem;
struct mvmm_log;
struct vmmio;
struct vstate_buf;
struct vstate_rd;
struct vdev;

#define VDEV_ID_MAX 16			/* bytes including the NUL: "blk0", "rng0" */
#define VDEV_MAX_QUEUES 8

/* Per-device counters for GET /metrics; updated with relaxed atomics, read from any thread. */
struct vdev_metrics {
	uint64_t requests;		/* chains completed */
	uint64_t bytes_read;		/* bytes the device read from the guest (e.g. disk writes) */
	uint64_t bytes_written;		/* bytes the device wrote into the guest */
	uint64_t errors;		/* requests completed with an error + guest protocol errors */
	uint64_t notifications;		/* queue kicks */
	uint64_t interrupts;		/* interrupts raised */
};

struct vdev_ops {
	const char *type;		/* "blk", "rng": for logs and metrics */
	/* Device feature bits offered (the transport adds VERSION_1, EVENT_IDX, INDIRECT_DESC). */
	uint64_t (*features)(const struct vdev *vdev);
	/* Device config space at `off` (reads outside it return zeros, writes are ignored). */
	void (*config_read)(struct vdev *vdev, uint32_t off, uint8_t *data, uint32_t len);
	void (*config_write)(struct vdev *vdev, uint32_t off, const uint8_t *data, uint32_t len);
	/* DRIVER_OK: features final, queues set up.  Nonzero: the device goes NEEDS_RESET. */
	int (*activate)(struct vdev *vdev);
	/* Driver reset: finish or drop in-flight work; afterwards no access to guest RAM. */
	void (*reset)(struct vdev *vdev);
	/* Queue `q` was kicked (device live, awake, not broken). */
	void (*notify)(struct vdev *vdev, unsigned int q);
	/* Complete in-flight I/O (pushing it to the used rings); then no guest RAM access. */
	int (*quiesce)(struct vdev *vdev);
	void (*unquiesce)(struct vdev *vdev);
	/* Device-specific state (after the transport's); no host handles in it. */
	int (*save)(struct vdev *vdev, struct vstate_buf *b);
	int (*load)(struct vdev *vdev, struct vstate_rd *r);
	/* Attach host resources after load (restore or fork); `res` is device-specific. */
	int (*rebind)(struct vdev *vdev, const void *res);
	/* Free the embedding struct (vdev_fini() first).  Without the lock; NULL-safe callers. */
	void (*destroy)(struct vdev *vdev);
};

struct vdev {
	const struct vdev_ops *ops;
	struct vm *vm;			/* borrowed */
	const struct guest_mem *mem;	/* borrowed: the VM's RAM */
	struct mvmm_log *log;		/* borrowed */
	char id[VDEV_ID_MAX];		/* stable id: names the device's state section */
	uint32_t device_id;		/* VIRTIO_ID_* */
	pthread_mutex_t lock;
	uint64_t host_features;		/* offered */
	uint64_t driver_features;	/* accepted by the driver (valid from FEATURES_OK) */
	uint8_t status;			/* VIRTIO_CONFIG_S_* as the driver sees it */
	bool live;			/* activate() succeeded; until reset */
	bool broken;			/* NEEDS_RESET raised: no processing until reset */
	bool quiesced;			/* asleep */
	uint32_t kick_pending;		/* bit per queue: kicked while asleep */
	uint32_t isr;			/* VIRTIO_MMIO_INT_* bits; atomic */
	uint32_t config_generation;
	unsigned int nr_queues;
	struct virtq queues[VDEV_MAX_QUEUES];
	struct vmmio *mmio;		/* owned transport (NULL before vmmio_create) */
	struct vdev_metrics metrics;
};

void vdev_init(struct vdev *vdev, struct vm *vm, const struct vdev_ops *ops, uint32_t device_id,
	       const char *id, unsigned int nr_queues, uint16_t queue_max);
/* Transport and lock; NULL-safe.  The embedding device frees itself after. */
void vdev_fini(struct vdev *vdev);
/* Destroy through ops->destroy; NULL-safe. */
void vdev_destroy(struct vdev *vdev);

/*
 * The guest broke a rule: log (rate-limited), set NEEDS_RESET, send a config interrupt and
 * stop processing.  Returns -MVMM_EGUEST.  Lock held.
 */
int vdev_fail(struct vdev *vdev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* vdev_fail() for a queue that virtq_pop() marked broken. */
int vdev_queue_fail(struct vdev *vdev, unsigned int q);
/* Set ISR bits and pulse the interrupt. */
void vdev_interrupt(struct vdev *vdev, uint32_t isr_bits);
/* Publish used entries of queue q and interrupt when the driver wants it. */
void vdev_used_flush(struct vdev *vdev, unsigned int q);
/* Config space changed: new generation + config interrupt. */
void vdev_config_changed(struct vdev *vdev);
/* A kick for queue q (from the transport); lock held. */
void vdev_kick(struct vdev *vdev, unsigned int q);
/* Back to the power-on state (driver reset); lock held. */
void vdev_reset(struct vdev *vdev);
/* Is the driver allowed to have `bit` (a VIRTIO_F_* / device feature bit number)? */
static inline bool vdev_has_feature(const struct vdev *vdev, unsigned int bit)
{
	return (vdev->driver_features >> bit) & 1;
}

static inline void vdev_count(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

/* Take the lock and sleep / wake the device (see the diagram). */
int vdev_quiesce(struct vdev *vdev);
void vdev_unquiesce(struct vdev *vdev);
/* Transport + queues + device state; the device must be asleep (or never activated). */
int vdev_save(struct vdev *vdev, struct vstate_buf *b);
/* Into a device created with the same configuration and asleep; it stays asleep. */
int vdev_load(struct vdev *vdev, struct vstate_rd *r);
int vdev_rebind(struct vdev *vdev, const void *res);
/* Consistent copy of the counters. */
void vdev_metrics_get(const struct vdev *vdev, struct vdev_metrics *out);

#endif /* MVMM_DEVICES_VIRTIO_VDEV_H */
