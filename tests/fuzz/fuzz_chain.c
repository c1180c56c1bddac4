/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: arbitrary ring contents (descriptor table, available ring, indirect tables
 * and buffers in guest RAM) fed to virtq_pop(), whose validated chains are then consumed the
 * way a device would.  It must never crash, read or write outside RAM, or loop.
 *
 * Input: [0] log2(queue size) [1] flags (bit 0 EVENT_IDX, bit 1 INDIRECT_DESC)
 *        [2..3] avail->idx [4..5] device's last_avail, then the descriptor table, the
 *        available ring (+ used_event) and a data area, each filled from the rest in order.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/chain.h"
#include "devices/virtio/virtq.h"
#include "vmm/memory.h"
#include "vmm/util.h"

#define RAM (16 * MiB)
#define DESC_GPA 0x1000ULL
#define AVAIL_GPA 0x8000ULL
#define USED_GPA 0x9000ULL
#define DATA_GPA 0x10000ULL
#define DATA_LEN 0x10000ULL

/* The harness keeps one RAM for the whole run (test code, not library code). */
static struct guest_mem mem;
static struct vchain chain;

static void copy_in(uint64_t gpa, uint64_t len, const uint8_t **p, size_t *left)
{
	uint8_t *dst = guest_mem_ptr(&mem, gpa, len);
	size_t n = MIN((size_t)len, *left);

	memset(dst, 0, len);
	memcpy(dst, *p, n);
	*p += n;
	*left -= n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t scratch[4096];
	struct virtq q;
	uint16_t qsize, avail_idx, last_avail;
	int ret;

	if (!mem.host) {
		if (guest_mem_create(&mem, RAM))
			abort();
		vchain_init(&chain);
	}
	if (size < 6)
		return 0;
	qsize = (uint16_t)(1u << (data[0] % 9));		/* 1..256 */
	virtq_init(&q, &mem, 256);
	q.size = qsize;
	q.event_idx = data[1] & 1;
	q.indirect = data[1] & 2;
	q.desc_gpa = DESC_GPA;
	q.avail_gpa = AVAIL_GPA;
	q.used_gpa = USED_GPA;
	avail_idx = (uint16_t)(data[2] | data[3] << 8);
	last_avail = (uint16_t)(data[4] | data[5] << 8);
	data += 6;
	size -= 6;
	copy_in(DESC_GPA, 16ULL * qsize, &data, &size);
	copy_in(AVAIL_GPA, 6 + 2ULL * qsize, &data, &size);
	copy_in(DATA_GPA, DATA_LEN, &data, &size);
	memset(guest_mem_ptr(&mem, USED_GPA, 6 + 8ULL * qsize), 0, 6 + 8ULL * qsize);
	*(uint16_t *)guest_mem_ptr(&mem, AVAIL_GPA + 2, 2) = avail_idx;
	if (virtq_enable(&q))
		abort();				/* the layout above is always valid */
	q.last_avail = q.next_used = q.signalled_used = last_avail;

	/* More pops than the ring can hold: the distance check must stop us. */
	for (unsigned int i = 0; i < 2u * qsize + 4; i++) {
		ret = virtq_pop(&q, &chain);
		if (ret <= 0)
			break;
		while (vchain_read(&chain, scratch, sizeof(scratch)) > 0)
			;
		for (uint64_t left = MIN(vchain_write_left(&chain), 1ULL << 20); left;) {
			size_t n = vchain_write(&chain, scratch, (size_t)MIN(left, sizeof(scratch)));

			if (!n)
				break;
			left -= n;
		}
		if (vchain_last_writable(&chain))
			*vchain_last_writable(&chain) = 0;
		virtq_push(&q, chain.head, (uint32_t)chain.write_len);
		virtq_flush(&q);
		virtq_enable_notify(&q);
	}
	return 0;
}
