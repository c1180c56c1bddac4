/* SPDX-License-Identifier: MIT */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_ring.h>

#include "chain.h"
#include "mvmm/mvmm.h"
#include "vmm/memory.h"
#include "vmm/util.h"

/*
 * Indirect tables must be 8-byte aligned (the natural alignment of vring_desc.addr).  The spec
 * puts no alignment on them and kmalloc only promises 8 bytes on x86, so demanding the 16 of
 * the main descriptor table would reject correct drivers; we copy descriptors out with
 * memcpy anyway, so this check is about refusing nonsense, not about our own safety.
 */
#define VCHAIN_INDIRECT_ALIGN 8

void vchain_init(struct vchain *c)
{
	memset(c, 0, sizeof(*c));
}

void vchain_fini(struct vchain *c)
{
	if (!c)
		return;
	free(c->iov);
	memset(c, 0, sizeof(*c));
}

static int vchain_append(struct vchain *c, void *base, uint32_t len)
{
	if (c->nr_iov == c->cap) {
		unsigned int cap = c->cap ? c->cap * 2 : 8;
		struct iovec *iov;

		cap = MIN(cap, (unsigned int)VCHAIN_MAX_DESC);
		if (cap == c->cap)
			return -E2BIG;
		iov = realloc(c->iov, cap * sizeof(*iov));
		if (!iov)
			return -ENOMEM;
		c->iov = iov;
		c->cap = cap;
	}
	c->iov[c->nr_iov].iov_base = base;
	c->iov[c->nr_iov].iov_len = len;
	c->nr_iov++;
	return 0;
}

static void vchain_reset(struct vchain *c, uint16_t head)
{
	c->head = head;
	c->nr_iov = c->nr_read = 0;
	c->read_len = c->write_len = 0;
	memset(&c->rd, 0, sizeof(c->rd));
	memset(&c->wr, 0, sizeof(c->wr));
}

#define GUEST_BUG(msg)                                                                             \
	do {                                                                                       \
		*why = (msg);                                                                      \
		return -MVMM_EGUEST;                                                               \
	} while (0)

int vchain_parse(struct vchain *c, const struct guest_mem *mem, const struct vring_desc *table,
		 uint16_t qsize, uint16_t head, bool indirect_ok, const char **why)
{
	const struct vring_desc *tbl = table;
	uint32_t tbl_len = qsize, seen = 0;
	uint16_t idx = head;
	bool in_indirect = false, writable = false;
	uint64_t total = 0;

	vchain_reset(c, head);
	*why = NULL;
	if (head >= qsize)
		GUEST_BUG("head index out of range");
	for (;;) {
		struct vring_desc d;
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;
		void *p;
		int err;

		/* One copy; only the copy is validated and used. */
		memcpy(&d, &tbl[idx], sizeof(d));
		addr = le64toh(d.addr);
		len = le32toh(d.len);
		flags = le16toh(d.flags);
		next = le16toh(d.next);
		if (++seen > tbl_len)
			GUEST_BUG("descriptor chain loops (longer than its table)");

		if (flags & VRING_DESC_F_INDIRECT) {
			if (!indirect_ok)
				GUEST_BUG("indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC");
			if (in_indirect)
				GUEST_BUG("nested indirect table");
			if (idx != head || (flags & VRING_DESC_F_NEXT))
				GUEST_BUG("indirect descriptor is not the only one of its chain");
			if (len == 0 || len % sizeof(struct vring_desc))
				GUEST_BUG("indirect table length not a multiple of 16");
			if (len / sizeof(struct vring_desc) > VCHAIN_MAX_DESC)
				GUEST_BUG("indirect table too long");
			if (!IS_ALIGNED(addr, VCHAIN_INDIRECT_ALIGN))
				GUEST_BUG("indirect table misaligned");
			p = guest_mem_ptr(mem, addr, len);
			if (!p)
				GUEST_BUG("indirect table outside RAM");
			tbl = p;
			tbl_len = len / sizeof(struct vring_desc);
			idx = 0;
			seen = 0;
			in_indirect = true;
			continue;
		}
		if (flags & VRING_DESC_F_WRITE)
			writable = true;
		else if (writable)
			GUEST_BUG("readable descriptor after a writable one");
		if (len) {
			p = guest_mem_ptr(mem, addr, len);
			if (!p)
				GUEST_BUG("buffer outside RAM");
			if (add_overflows_u64(total, len, &total) || total > UINT32_MAX)
				GUEST_BUG("chain length overflows 32 bits");
			err = vchain_append(c, p, len);
			if (err == -E2BIG)
				GUEST_BUG("chain has too many buffers");
			if (err)
				return err;
			if (writable) {
				c->write_len += len;
			} else {
				c->read_len += len;
				c->nr_read++;
			}
		}
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		if (next >= tbl_len)
			GUEST_BUG("next index out of range");
		idx = next;
	}
	c->wr.i = c->nr_read;
	return 0;
}

/* Move `cur` over up to len bytes of iov[cur->i .. end), copying when buf is set. */
static size_t vchain_xfer(struct vchain *c, struct vchain_cursor *cur, unsigned int end,
			  void *dst, const void *src, size_t len)
{
	size_t done = 0;

	while (done < len && cur->i < end) {
		struct iovec *v = &c->iov[cur->i];
		size_t n = MIN(len - done, v->iov_len - cur->off);
		uint8_t *p = (uint8_t *)v->iov_base + cur->off;

		if (dst)
			memcpy((uint8_t *)dst + done, p, n);
		else if (src)
			memcpy(p, (const uint8_t *)src + done, n);
		done += n;
		cur->off += n;
		if (cur->off == v->iov_len) {
			cur->i++;
			cur->off = 0;
		}
	}
	cur->done += done;
	return done;
}

size_t vchain_read(struct vchain *c, void *dst, size_t len)
{
	return vchain_xfer(c, &c->rd, c->nr_read, dst, NULL, len);
}

size_t vchain_write(struct vchain *c, const void *src, size_t len)
{
	return vchain_xfer(c, &c->wr, c->nr_iov, NULL, src, len);
}

size_t vchain_read_skip(struct vchain *c, size_t len)
{
	return vchain_xfer(c, &c->rd, c->nr_read, NULL, NULL, len);
}

size_t vchain_write_skip(struct vchain *c, size_t len)
{
	return vchain_xfer(c, &c->wr, c->nr_iov, NULL, NULL, len);
}

uint64_t vchain_read_left(const struct vchain *c)
{
	return c->read_len - c->rd.done;
}

uint64_t vchain_write_left(const struct vchain *c)
{
	return c->write_len - c->wr.done;
}

int vchain_iov(const struct vchain *c, bool writable, uint64_t len, struct iovec *out,
	       unsigned int max)
{
	const struct vchain_cursor *cur = writable ? &c->wr : &c->rd;
	unsigned int end = writable ? c->nr_iov : c->nr_read;
	unsigned int i = cur->i, n = 0;
	size_t off = cur->off;

	while (len && i < end) {
		size_t take = MIN(len, (uint64_t)(c->iov[i].iov_len - off));

		if (n == max)
			return -ENOSPC;
		out[n].iov_base = (uint8_t *)c->iov[i].iov_base + off;
		out[n].iov_len = take;
		n++;
		len -= take;
		off = 0;
		i++;
	}
	return len ? -ERANGE : (int)n;
}

uint8_t *vchain_last_writable(const struct vchain *c)
{
	const struct iovec *v;

	if (c->nr_iov == c->nr_read)
		return NULL;
	v = &c->iov[c->nr_iov - 1];
	return (uint8_t *)v->iov_base + v->iov_len - 1;	/* zero-length buffers are never stored */
}
