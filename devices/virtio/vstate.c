/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vstate.h"

void vstate_buf_init(struct vstate_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void vstate_buf_fini(struct vstate_buf *b)
{
	if (!b)
		return;
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void vstate_put_bytes(struct vstate_buf *b, const void *p, size_t len)
{
	if (b->err)
		return;
	if (len > VSTATE_MAX - b->len) {
		b->err = -E2BIG;
		return;
	}
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *d;

		while (cap < b->len + len)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d) {
			b->err = -ENOMEM;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	if (len)
		memcpy(b->data + b->len, p, len);
	b->len += len;
}

/* Little-endian regardless of the host: shift bytes out. */
static void put_le(struct vstate_buf *b, uint64_t v, unsigned int n)
{
	uint8_t tmp[8];

	for (unsigned int i = 0; i < n; i++)
		tmp[i] = (uint8_t)(v >> (8 * i));
	vstate_put_bytes(b, tmp, n);
}

void vstate_put_u8(struct vstate_buf *b, uint8_t v)
{
	put_le(b, v, 1);
}

void vstate_put_u16(struct vstate_buf *b, uint16_t v)
{
	put_le(b, v, 2);
}

void vstate_put_u32(struct vstate_buf *b, uint32_t v)
{
	put_le(b, v, 4);
}

void vstate_put_u64(struct vstate_buf *b, uint64_t v)
{
	put_le(b, v, 8);
}

void vstate_rd_init(struct vstate_rd *r, const void *data, size_t len)
{
	r->data = data;
	r->len = len;
	r->off = 0;
	r->err = 0;
}

int vstate_rd_fail(struct vstate_rd *r, int err)
{
	if (!r->err)
		r->err = err;
	return r->err;
}

void vstate_get_bytes(struct vstate_rd *r, void *p, size_t len)
{
	if (r->err || len > r->len - r->off) {
		vstate_rd_fail(r, -EINVAL);
		memset(p, 0, len);
		return;
	}
	memcpy(p, r->data + r->off, len);
	r->off += len;
}

static uint64_t get_le(struct vstate_rd *r, unsigned int n)
{
	uint8_t tmp[8];
	uint64_t v = 0;

	vstate_get_bytes(r, tmp, n);
	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)tmp[i] << (8 * i);
	return v;
}

uint8_t vstate_get_u8(struct vstate_rd *r)
{
	return (uint8_t)get_le(r, 1);
}

uint16_t vstate_get_u16(struct vstate_rd *r)
{
	return (uint16_t)get_le(r, 2);
}

uint32_t vstate_get_u32(struct vstate_rd *r)
{
	return (uint32_t)get_le(r, 4);
}

uint64_t vstate_get_u64(struct vstate_rd *r)
{
	return get_le(r, 8);
}
