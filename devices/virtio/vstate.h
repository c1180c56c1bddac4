/* SPDX-License-Identifier: MIT */
/*
 * Device state byte buffers: little-endian put/get helpers, never struct dumps.  Errors are
 * sticky (the first one is kept in ->err), so a save or load is a straight sequence of calls
 * followed by one check.  The snapshot/fork format wraps these buffers in its sections.
 */
#ifndef MVMM_DEVICES_VIRTIO_VSTATE_H
#define MVMM_DEVICES_VIRTIO_VSTATE_H

#include <stddef.h>
#include <stdint.h>

/* Upper bound on one device's state (a guest cannot make us save more than this). */
#define VSTATE_MAX (1U << 20)

struct vstate_buf {
	uint8_t *data;			/* owned */
	size_t len;
	size_t cap;
	int err;			/* first error: -ENOMEM or -E2BIG */
};

struct vstate_rd {
	const uint8_t *data;		/* borrowed */
	size_t len;
	size_t off;
	int err;			/* first error: -EINVAL (truncated or bad value) */
};

void vstate_buf_init(struct vstate_buf *b);
/* NULL-safe. */
void vstate_buf_fini(struct vstate_buf *b);
void vstate_put_u8(struct vstate_buf *b, uint8_t v);
void vstate_put_u16(struct vstate_buf *b, uint16_t v);
void vstate_put_u32(struct vstate_buf *b, uint32_t v);
void vstate_put_u64(struct vstate_buf *b, uint64_t v);
void vstate_put_bytes(struct vstate_buf *b, const void *p, size_t len);

void vstate_rd_init(struct vstate_rd *r, const void *data, size_t len);
uint8_t vstate_get_u8(struct vstate_rd *r);
uint16_t vstate_get_u16(struct vstate_rd *r);
uint32_t vstate_get_u32(struct vstate_rd *r);
uint64_t vstate_get_u64(struct vstate_rd *r);
void vstate_get_bytes(struct vstate_rd *r, void *p, size_t len);
/* Mark the reader failed (a value out of range); returns r->err. */
int vstate_rd_fail(struct vstate_rd *r, int err);

#endif /* MVMM_DEVICES_VIRTIO_VSTATE_H */
