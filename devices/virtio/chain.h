/* SPDX-License-Identifier: MIT */
/*
 * A validated virtio descriptor chain.  vchain_parse() walks a chain once (following an
 * indirect table when allowed), checks every rule the guest could break, and records the
 * buffers as host iovecs: the readable (driver -> device) ones first, then the writable ones.
 * Devices then consume the chain through two cursors, one over each part, and never look at a
 * raw descriptor.
 *
 * The descriptors are copied out of guest memory once and only the copy is checked and used,
 * so a guest rewriting its descriptors while we look cannot slip an unchecked buffer past us.
 */
#ifndef MVMM_DEVICES_VIRTIO_CHAIN_H
#define MVMM_DEVICES_VIRTIO_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct guest_mem;
struct vring_desc;

/* Hard bound on the buffers of one chain, whatever the queue size or indirect table says. */
#define VCHAIN_MAX_DESC 1024

struct vchain_cursor {
	unsigned int i;			/* iovec index */
	size_t off;			/* offset inside iov[i] */
	uint64_t done;			/* bytes consumed so far */
};

struct vchain {
	uint16_t head;			/* descriptor id returned in the used ring */
	struct iovec *iov;		/* owned; readable [0, nr_read), writable [nr_read, nr_iov) */
	unsigned int nr_iov;
	unsigned int nr_read;
	unsigned int cap;		/* allocated iovecs (grows, kept across reuse) */
	uint64_t read_len;		/* total readable bytes */
	uint64_t write_len;		/* total writable bytes */
	struct vchain_cursor rd;
	struct vchain_cursor wr;
};

void vchain_init(struct vchain *c);
/* NULL-safe. */
void vchain_fini(struct vchain *c);

/*
 * Parse the chain starting at `head` of the descriptor table `table` (qsize entries, host
 * pointer already checked to lie in RAM).  Returns 0, -ENOMEM, or -MVMM_EGUEST with *why set to
 * a static description of the broken rule.
 */
int vchain_parse(struct vchain *c, const struct guest_mem *mem, const struct vring_desc *table,
		 uint16_t qsize, uint16_t head, bool indirect_ok, const char **why);

/* Copy up to len bytes from the readable part at the read cursor; returns bytes copied. */
size_t vchain_read(struct vchain *c, void *dst, size_t len);
/* Copy up to len bytes into the writable part at the write cursor; returns bytes copied. */
size_t vchain_write(struct vchain *c, const void *src, size_t len);
/* Zero-fill / skip helpers moving the cursors; return bytes covered. */
size_t vchain_read_skip(struct vchain *c, size_t len);
size_t vchain_write_skip(struct vchain *c, size_t len);
/* Bytes left after the cursors. */
uint64_t vchain_read_left(const struct vchain *c);
uint64_t vchain_write_left(const struct vchain *c);

/*
 * Describe `len` bytes of the readable (writable = false) or writable part, starting at the
 * part's cursor, as at most `max` iovecs in `out` without moving the cursor.  Returns the
 * number of iovecs, or -ENOSPC when more than `max` are needed, -ERANGE when the part is short.
 */
int vchain_iov(const struct vchain *c, bool writable, uint64_t len, struct iovec *out,
	       unsigned int max);

/* Host pointer to the last writable byte (where virtio-blk puts its status), or NULL. */
uint8_t *vchain_last_writable(const struct vchain *c);

#endif /* MVMM_DEVICES_VIRTIO_CHAIN_H */
