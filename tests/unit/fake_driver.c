/* SPDX-License-Identifier: MIT */
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "fake_driver.h"
#include "devices/virtio/virtq.h"
#include "vmm/bus.h"
#include "vmm/memory.h"
#include "vmm/util.h"
#include "vmm/vm.h"

/* Test helpers abort on misuse: a broken test, not a guest. */
static void *must(void *p)
{
	if (!p)
		abort();
	return p;
}

void fake_vq_init(struct fake_vq *f, struct guest_mem *mem, uint16_t size, uint64_t base,
		  uint64_t data_len)
{
	uint64_t avail_end;

	memset(f, 0, sizeof(*f));
	f->mem = mem;
	f->size = size;
	f->desc_gpa = base;
	f->avail_gpa = base + 16ULL * size;
	avail_end = f->avail_gpa + 6 + 2ULL * size;
	f->used_gpa = ALIGN_UP(avail_end, 4096ULL);
	f->data_gpa = ALIGN_UP(f->used_gpa + 6 + 8ULL * size, 4096ULL);
	f->data_next = f->data_gpa;
	f->data_end = f->data_gpa + data_len;
	memset(must(guest_mem_ptr(mem, base, f->data_end - base)), 0, f->data_end - base);
}

uint64_t fake_alloc(struct fake_vq *f, uint32_t len)
{
	uint64_t gpa = f->data_next;

	if (gpa + len > f->data_end)
		abort();
	f->data_next = ALIGN_UP(gpa + len, 16ULL);
	return gpa;
}

void *fake_ptr(struct fake_vq *f, uint64_t gpa, uint64_t len)
{
	return must(guest_mem_ptr(f->mem, gpa, len));
}

static void put_desc(struct vring_desc *d, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

void fake_set_desc(struct fake_vq *f, uint16_t idx, uint64_t addr, uint32_t len, uint16_t flags,
		   uint16_t next)
{
	put_desc(fake_ptr(f, f->desc_gpa + 16ULL * idx, 16), addr, len, flags, next);
}

uint16_t fake_add_chain(struct fake_vq *f, const struct fake_buf *bufs, unsigned int n)
{
	uint16_t head = f->next_desc;

	for (unsigned int i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % f->size);
		uint16_t next = (uint16_t)((head + i + 1) % f->size);
		uint16_t flags = (bufs[i].write ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0);

		fake_set_desc(f, idx, bufs[i].gpa, bufs[i].len, flags, i + 1 < n ? next : 0);
	}
	f->next_desc = (uint16_t)((head + n) % f->size);
	return head;
}

uint16_t fake_add_indirect(struct fake_vq *f, const struct fake_buf *bufs, unsigned int n)
{
	uint64_t tbl = fake_alloc(f, 16 * n);
	struct vring_desc *d = fake_ptr(f, tbl, 16ULL * n);
	uint16_t head = f->next_desc;

	for (unsigned int i = 0; i < n; i++)
		put_desc(&d[i], bufs[i].gpa, bufs[i].len,
			 (bufs[i].write ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0),
			 (uint16_t)(i + 1 < n ? i + 1 : 0));
	fake_set_desc(f, head, tbl, 16 * n, VRING_DESC_F_INDIRECT, 0);
	f->next_desc = (uint16_t)((head + 1) % f->size);
	return head;
}

static uint16_t *avail_field(struct fake_vq *f, unsigned int i)
{
	/* flags, idx, ring[size], used_event */
	return fake_ptr(f, f->avail_gpa + 2ULL * i, 2);
}

static uint16_t *used_field16(struct fake_vq *f, uint64_t off)
{
	return fake_ptr(f, f->used_gpa + off, 2);
}

void fake_set_avail_entry(struct fake_vq *f, uint16_t pos, uint16_t head)
{
	*avail_field(f, 2 + (pos % f->size)) = htole16(head);
}

void fake_set_avail_idx(struct fake_vq *f, uint16_t idx)
{
	/* A driver's virtio_wmb() before the index; a compiler barrier is enough in one thread. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	*avail_field(f, 1) = htole16(idx);
	f->avail_idx = idx;
}

void fake_publish(struct fake_vq *f, uint16_t head)
{
	fake_set_avail_entry(f, f->avail_idx, head);
	fake_set_avail_idx(f, (uint16_t)(f->avail_idx + 1));
}

void fake_set_avail_flags(struct fake_vq *f, uint16_t flags)
{
	*avail_field(f, 0) = htole16(flags);
}

void fake_set_used_event(struct fake_vq *f, uint16_t ev)
{
	*avail_field(f, 2 + f->size) = htole16(ev);
}

uint16_t fake_avail_event(struct fake_vq *f)
{
	return le16toh(*used_field16(f, 4 + 8ULL * f->size));
}

uint16_t fake_used_idx(struct fake_vq *f)
{
	return le16toh(*used_field16(f, 2));
}

bool fake_get_used(struct fake_vq *f, uint32_t *id, uint32_t *len)
{
	const struct vring_used_elem *e;

	if (fake_used_idx(f) == f->last_used)
		return false;
	e = fake_ptr(f, f->used_gpa + 4 + 8ULL * (f->last_used % f->size), 8);
	*id = le32toh(e->id);
	*len = le32toh(e->len);
	f->last_used++;
	return true;
}

int fake_vq_attach(struct fake_vq *f, struct virtq *q, bool event_idx, bool indirect)
{
	q->size = f->size;
	q->desc_gpa = f->desc_gpa;
	q->avail_gpa = f->avail_gpa;
	q->used_gpa = f->used_gpa;
	q->event_idx = event_idx;
	q->indirect = indirect;
	return virtq_enable(q);
}

/* ---- fake VM ---- */

struct fake_vm_box {
	struct vm vm;
	unsigned int warnings;
};

static void fake_log(void *opaque, enum mvmm_log_level level, const char *subsys, const char *msg)
{
	struct fake_vm_box *box = opaque;

	(void)subsys;
	(void)msg;
	if (level == MVMM_LOG_WARN)
		__atomic_fetch_add(&box->warnings, 1, __ATOMIC_RELAXED);
}

struct vm *fake_vm_create(uint64_t mem_bytes)
{
	struct fake_vm_box *box = must(calloc(1, sizeof(*box)));
	struct vm *vm = &box->vm;

	vm->kvm_fd = vm->vm_fd = -1;
	log_init(&vm->log, fake_log, box, MVMM_LOG_WARN);
	bus_init(&vm->pio);
	bus_init(&vm->mmio);
	if (loop_init(&vm->loop, NULL, NULL) || guest_mem_create(&vm->mem, mem_bytes))
		abort();
	return vm;
}

void fake_vm_destroy(struct vm *vm)
{
	struct fake_vm_box *box = container_of(vm, struct fake_vm_box, vm);

	if (!vm)
		return;
	loop_fini(&vm->loop);
	guest_mem_destroy(&vm->mem);
	bus_fini(&vm->pio);
	bus_fini(&vm->mmio);
	free(vm->cmdline_extra);
	log_fini(&vm->log);
	free(box);
}

unsigned int fake_vm_guest_errors(struct vm *vm)
{
	struct fake_vm_box *box = container_of(vm, struct fake_vm_box, vm);

	return __atomic_load_n(&box->warnings, __ATOMIC_RELAXED);
}

uint32_t fake_mmio_read(struct vm *vm, uint64_t addr)
{
	uint32_t v = 0;

	if (!bus_access(&vm->mmio, addr, (uint8_t *)&v, 4, false))
		return UINT32_MAX;
	return le32toh(v);
}

void fake_mmio_write(struct vm *vm, uint64_t addr, uint32_t v)
{
	v = htole32(v);
	bus_access(&vm->mmio, addr, (uint8_t *)&v, 4, true);
}

void fake_mmio_config_read(struct vm *vm, uint64_t base, uint32_t off, void *buf, uint32_t len)
{
	bus_access(&vm->mmio, base + VIRTIO_MMIO_CONFIG + off, buf, len, false);
}

uint32_t fake_mmio_probe(struct vm *vm, uint64_t base, uint64_t features, struct fake_vq *f)
{
	uint64_t offered;
	uint32_t status;

	fake_mmio_write(vm, base + VIRTIO_MMIO_STATUS, 0);
	fake_mmio_write(vm, base + VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	fake_mmio_write(vm, base + VIRTIO_MMIO_STATUS,
			VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	fake_mmio_write(vm, base + VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered = (uint64_t)fake_mmio_read(vm, base + VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	fake_mmio_write(vm, base + VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered |= fake_mmio_read(vm, base + VIRTIO_MMIO_DEVICE_FEATURES);
	features &= offered;
	fake_mmio_write(vm, base + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fake_mmio_write(vm, base + VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	fake_mmio_write(vm, base + VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fake_mmio_write(vm, base + VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
	fake_mmio_write(vm, base + VIRTIO_MMIO_STATUS, status);
	if (!(fake_mmio_read(vm, base + VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK))
		return fake_mmio_read(vm, base + VIRTIO_MMIO_STATUS);
	if (f) {
		fake_mmio_write(vm, base + VIRTIO_MMIO_QUEUE_SEL, 0);
		fake_mmio_write(vm, base + VIRTIO_MMIO_QUEUE_NUM, f->size);
		fake_mmio_write(vm, base + VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)f->desc_gpa);
		fake_mmio_write(vm, base + VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(f->desc_gpa >> 32));
		fake_mmio_write(vm, base + VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)f->avail_gpa);
		fake_mmio_write(vm, base + VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(f->avail_gpa >> 32));
		fake_mmio_write(vm, base + VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)f->used_gpa);
		fake_mmio_write(vm, base + VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(f->used_gpa >> 32));
		fake_mmio_write(vm, base + VIRTIO_MMIO_QUEUE_READY, 1);
	}
	fake_mmio_write(vm, base + VIRTIO_MMIO_STATUS, status | VIRTIO_CONFIG_S_DRIVER_OK);
	return fake_mmio_read(vm, base + VIRTIO_MMIO_STATUS);
}
