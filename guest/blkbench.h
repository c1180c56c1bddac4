/* SPDX-License-Identifier: MIT */
/*
 * test=blkbench: the interface between its CPL0 half (blkbench.c: options, device and chain
 * set-up, report) and its CPL3 half (blkbench_user.c: the whole I/O loop).
 *
 * On PVM every CPL0 instruction is emulated (~1 us each), so a driver at CPL0 spends some
 * 100-200 us per request and would measure itself, not the VMM.  The CPL3 half runs natively:
 * the rings, request headers and data buffers are in user-accessible dma memory, and the
 * device's register page is mapped user-accessible too, so the kick (a QueueNotify store) is
 * made from CPL3.  It needs no kernel function, only the addresses in struct blkbench_args.
 */
#ifndef MVMM_GUEST_BLKBENCH_H
#define MVMM_GUEST_BLKBENCH_H

#include <stdint.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#define BLKBENCH_MAX_DEPTH	256

/* One request slot's fixed parts, in user-accessible dma memory. */
struct blkbench_req {
	struct virtio_blk_outhdr hdr;		/* type fixed per run, sector per request */
	struct vring_desc table[3];		/* indirect table (when the ring is too small) */
	uint16_t head;				/* the chain's head in the ring */
	uint8_t status;				/* device-written: VIRTIO_BLK_S_*; 0xff pending */
} __attribute__((aligned(64)));

_Static_assert(__builtin_offsetof(struct blkbench_req, table) % 16 == 0,
	       "indirect table alignment");

/* Why user_blkbench() stopped early (blkbench_args.error). */
enum blkbench_error {
	BLKBENCH_OK = 0,
	BLKBENCH_EIO = 1,		/* a request completed with a status other than OK */
	BLKBENCH_EUSED = 2,		/* the used ring named a head we did not submit */
	BLKBENCH_ERESET = 3,		/* the device set DEVICE_NEEDS_RESET */
	BLKBENCH_ETIMEOUT = 4,		/* nothing completed for timeout_ticks */
};

/* The seed of the random offsets when bench_seed= does not give one (must not be 0). */
#define BLKBENCH_SEED		0x6d766d6d626c6bULL	/* "mvmmblk" */

/*
 * One run of requests: keep `depth` in flight until `total` have been submitted or the TSC
 * passes `deadline` (0: no limit), then wait for the rest.  Copied onto the user stack by
 * user_call() and back, so the results and the ring positions come back to the caller.
 */
struct blkbench_args {
	/* the queue (user-accessible) */
	uint64_t avail;			/* struct vring_avail *, size entries + used_event */
	uint64_t used;			/* struct vring_used *, size entries + avail_event */
	uint64_t notify;		/* the QueueNotify register (user-mapped MMIO) */
	uint64_t status_reg;		/* the Status register, read only when stalled */
	uint32_t size;			/* ring entries, a power of 2 */
	uint32_t queue;			/* the value written to QueueNotify */
	uint32_t event_idx;		/* VIRTIO_RING_F_EVENT_IDX negotiated */
	uint32_t depth;			/* requests in flight, 1..BLKBENCH_MAX_DEPTH */
	uint64_t reqs;			/* struct blkbench_req[depth] */
	/* the I/O */
	uint64_t random;		/* 0: sequential from `next_block`, 1: random blocks */
	uint64_t blocks;		/* disk blocks of bs bytes */
	uint64_t bs_sectors;		/* 512-byte sectors per block */
	uint64_t total;			/* requests to submit */
	uint64_t deadline;		/* TSC; 0: none */
	uint64_t timeout_ticks;		/* no completion for this long: BLKBENCH_ETIMEOUT */
	uint64_t status_ticks;		/* stalled this long: look at the device status */
	/* state, in and out */
	uint64_t next_block;		/* sequential: the next block */
	uint64_t rng;			/* random: xorshift64 state, nonzero */
	uint16_t avail_idx;		/* our avail->idx */
	uint16_t last_used;		/* used->idx consumed up to */
	uint16_t kicked_idx;		/* avail->idx at the last notify decision */
	/* results */
	uint64_t submitted;
	uint64_t completed;
	uint64_t kicks;			/* QueueNotify stores (each one a VM exit) */
	uint64_t kick_ticks;		/* TSC spent in those stores */
	uint64_t busy_ticks;		/* TSC spent reaping, refilling and kicking */
	uint64_t polls_empty;		/* used-ring polls that found nothing new */
	uint64_t first_tsc;		/* before the first request was made available */
	uint64_t last_tsc;		/* when the last completion was seen */
	uint64_t error;			/* enum blkbench_error */
	uint64_t error_sector;		/* the request that failed, for EIO */
	uint64_t error_value;		/* its status, the bad head, or the device status */
};

/* CPL3 entry point (user_call()); returns args->error. */
uint64_t user_blkbench(void *args);
/* The test (blkbench.c, CPL0). */
void test_blkbench(void);

#endif /* MVMM_GUEST_BLKBENCH_H */
