/* SPDX-License-Identifier: MIT */
/*
 * The guest side of a split virtqueue, written into a memfd-backed struct guest_mem the way a
 * driver would (Firecracker's VirtioTestHelper), plus a fake struct vm without KVM so the
 * virtio-mmio transport and the devices run in unit tests.
 */
#ifndef MVMM_TESTS_UNIT_FAKE_DRIVER_H
#define MVMM_TESTS_UNIT_FAKE_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

struct guest_mem;
struct virtq;
struct vm;

struct fake_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;			/* device-writable */
};

struct fake_vq {
	struct guest_mem *mem;
	uint16_t size;
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;
	uint64_t data_gpa;		/* bump allocator for buffers and indirect tables */
	uint64_t data_end;
	uint64_t data_next;
	uint16_t avail_idx;		/* driver's next available index */
	uint16_t next_desc;		/* next descriptor slot (wraps) */
	uint16_t last_used;		/* driver's next used entry to read */
};

/* Rings at `base` (page aligned), then `data_len` bytes of buffer space. */
void fake_vq_init(struct fake_vq *f, struct guest_mem *mem, uint16_t size, uint64_t base,
		  uint64_t data_len);
/* Zeroed buffer space (aligned to 16). */
uint64_t fake_alloc(struct fake_vq *f, uint32_t len);
void *fake_ptr(struct fake_vq *f, uint64_t gpa, uint64_t len);
/* Raw descriptor write. */
void fake_set_desc(struct fake_vq *f, uint16_t idx, uint64_t addr, uint32_t len, uint16_t flags,
		   uint16_t next);
/* Chain of n buffers in consecutive descriptor slots; returns the head (not yet published). */
uint16_t fake_add_chain(struct fake_vq *f, const struct fake_buf *bufs, unsigned int n);
/* The same buffers behind one indirect descriptor. */
uint16_t fake_add_indirect(struct fake_vq *f, const struct fake_buf *bufs, unsigned int n);
/* Put head in the available ring and bump avail->idx. */
void fake_publish(struct fake_vq *f, uint16_t head);
/* Raw avail-ring writes. */
void fake_set_avail_idx(struct fake_vq *f, uint16_t idx);
void fake_set_avail_entry(struct fake_vq *f, uint16_t pos, uint16_t head);
void fake_set_avail_flags(struct fake_vq *f, uint16_t flags);
void fake_set_used_event(struct fake_vq *f, uint16_t ev);
uint16_t fake_avail_event(struct fake_vq *f);
uint16_t fake_used_idx(struct fake_vq *f);
/* Next used entry, false when none. */
bool fake_get_used(struct fake_vq *f, uint32_t *id, uint32_t *len);
/* Point a device-side virtq at these rings and enable it. */
int fake_vq_attach(struct fake_vq *f, struct virtq *q, bool event_idx, bool indirect);

/* A struct vm with RAM, buses, log and loop but no KVM (vm_fd = -1). */
struct vm *fake_vm_create(uint64_t mem_bytes);
void fake_vm_destroy(struct vm *vm);
/* Guest errors logged through vm->log since creation. */
unsigned int fake_vm_guest_errors(struct vm *vm);

/* 32-bit register access through the VM's MMIO bus. */
uint32_t fake_mmio_read(struct vm *vm, uint64_t addr);
void fake_mmio_write(struct vm *vm, uint64_t addr, uint32_t v);
/* Config-space access of `len` bytes. */
void fake_mmio_config_read(struct vm *vm, uint64_t base, uint32_t off, void *buf, uint32_t len);
/*
 * The Linux driver's probe sequence against the device at `base`: reset, ACK, DRIVER, features
 * (`features` & offered), FEATURES_OK, queue 0 on `f`, DRIVER_OK.  Returns the final status.
 */
uint32_t fake_mmio_probe(struct vm *vm, uint64_t base, uint64_t features, struct fake_vq *f);

#endif /* MVMM_TESTS_UNIT_FAKE_DRIVER_H */
