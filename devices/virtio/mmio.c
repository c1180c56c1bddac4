/* SPDX-License-Identifier: MIT */
/*
 * Interrupts.  A virtio-mmio device has one interrupt line and an INTERRUPT_STATUS register;
 * Linux's virtio_mmio driver (vm_interrupt) reads INTERRUPT_STATUS, writes the bits it saw to
 * INTERRUPT_ACK, then scans the used rings.  We announce the line as an ISA-style IRQ
 * (MP table: conforming = edge, active high) and drive it with a KVM irqfd without a
 * resamplefd: each write to the irqfd is a 1-then-0 pulse, i.e. an edge on the IOAPIC pin.
 * That is enough because we always set the ISR bit *before* pulsing: an event that lands
 * while the driver's handler runs either is seen by that handler's INTERRUPT_STATUS read or
 * produces a new edge after it, which the LAPIC latches while the first is in service.  A
 * level line would need a resamplefd and an ack path back from the guest for no gain with
 * this driver (Firecracker and Cloud Hypervisor make the same choice).  Without an irqfd
 * (KVM_CAP_IRQFD missing) the same pulse is made with two KVM_IRQ_LINE calls.
 *
 * Notifications.  QUEUE_NOTIFY writes are caught in the kernel by one ioeventfd per queue
 * (datamatch = queue index) and handled on the VM's event-loop thread, so a kick costs the
 * vCPU one short exit to KVM and never waits for device work.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "mmio.h"
#include "vdev.h"
#include "vstate.h"
#include "arch/x86/irqchip.h"
#include "arch/x86/layout.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define VMMIO_FOURCC(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | \
				  (uint32_t)(d) << 24)
#define VMMIO_MAGIC VMMIO_FOURCC('v', 'i', 'r', 't')	/* the spec's magic value */
#define VMMIO_VENDOR VMMIO_FOURCC('M', 'V', 'M', 'M')
#define VMMIO_VERSION 2				/* virtio 1.x ("non-legacy") register layout */
#define VMMIO_NO_SHM UINT32_MAX			/* SHM_LEN of ~0: no shared memory region */
#define VMMIO_STATE_VERSION 1

/* Feature bits every device offers through this transport. */
#define VMMIO_TRANSPORT_FEATURES                                                                   \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |                      \
	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC))

struct vmmio;

struct vmmio_kick {
	struct vmmio *m;
	unsigned int q;
	int fd;				/* owned eventfd; -1 without KVM */
	bool assigned;			/* KVM_IOEVENTFD done */
	bool in_loop;			/* registered with the VM's loop */
};

struct vmmio {
	struct vm *vm;			/* borrowed */
	struct vdev *vdev;		/* borrowed: the device owns us */
	uint64_t base;
	uint32_t gsi;
	int irqfd;			/* owned; -1 when not assigned */
	vmmio_irq_fn irq_hook;		/* tests */
	void *irq_opaque;
	uint32_t dev_features_sel;
	uint32_t drv_features_sel;
	uint32_t queue_sel;
	struct vmmio_kick kicks[VDEV_MAX_QUEUES];
};

/*
 * Device status: the stages the driver walks through, and the one table of legal moves
 * between them (see the diagram in vdev.h).  Writing 0 (reset) and adding FAILED are legal
 * from anywhere and handled before the table.
 */
enum vmmio_stage { ST_RESET, ST_ACK, ST_DRIVER, ST_FEATURES_OK, ST_DRIVER_OK, ST_NR };

static const uint8_t vmmio_stage_status[ST_NR] = {
	[ST_RESET] = 0,
	[ST_ACK] = VIRTIO_CONFIG_S_ACKNOWLEDGE,
	[ST_DRIVER] = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER,
	[ST_FEATURES_OK] = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			   VIRTIO_CONFIG_S_FEATURES_OK,
	[ST_DRIVER_OK] = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK,
};

static const bool vmmio_status_transitions[ST_NR][ST_NR] = {
	[ST_RESET] = { [ST_ACK] = true },
	[ST_ACK] = { [ST_ACK] = true, [ST_DRIVER] = true },
	[ST_DRIVER] = { [ST_DRIVER] = true, [ST_FEATURES_OK] = true },
	[ST_FEATURES_OK] = { [ST_FEATURES_OK] = true, [ST_DRIVER_OK] = true },
	[ST_DRIVER_OK] = { [ST_DRIVER_OK] = true },
};

/* Stage of a status value, or ST_NR when it is none of the canonical ones. */
static enum vmmio_stage vmmio_stage_of(uint8_t status)
{
	for (unsigned int s = 0; s < ST_NR; s++)
		if (vmmio_stage_status[s] == status)
			return (enum vmmio_stage)s;
	return ST_NR;
}

static enum vmmio_stage vmmio_cur_stage(const struct vdev *vdev)
{
	return vmmio_stage_of(vdev->status & ~VIRTIO_CONFIG_S_NEEDS_RESET);
}

void vmmio_interrupt(struct vmmio *m)
{
	uint64_t one = 1;

	if (m->irq_hook) {
		m->irq_hook(m->irq_opaque);
	} else if (m->irqfd >= 0) {
		/* A full barrier (syscall) after the ISR update; EAGAIN: a pulse is pending anyway. */
		if (write(m->irqfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			pr_warn(&m->vm->log, "virtio", "%s: irqfd write: %s", m->vdev->id,
				mvmm_strerror(-errno));
	} else if (m->vm->vm_fd >= 0) {
		x86_irq_line(m->vm, m->gsi, 1);
		x86_irq_line(m->vm, m->gsi, 0);
	}
}

void vmmio_set_irq_hook(struct vmmio *m, vmmio_irq_fn fn, void *opaque)
{
	m->irq_hook = fn;
	m->irq_opaque = opaque;
}

uint64_t vmmio_base(const struct vmmio *m)
{
	return m->base;
}

uint32_t vmmio_gsi(const struct vmmio *m)
{
	return m->gsi;
}

/* FEATURES_OK: accept only bits we offered, and only a modern (VERSION_1) driver. */
static bool vmmio_features_ok(struct vmmio *m)
{
	struct vdev *vdev = m->vdev;
	uint64_t extra = vdev->driver_features & ~vdev->host_features;

	if (extra) {
		log_guest(vdev->log, "virtio", "%s: driver accepted unoffered features 0x%llx",
			  vdev->id, (unsigned long long)extra);
		return false;
	}
	if (!vdev_has_feature(vdev, VIRTIO_F_VERSION_1)) {
		log_guest(vdev->log, "virtio", "%s: legacy driver (no VIRTIO_F_VERSION_1) refused",
			  vdev->id);
		return false;
	}
	for (unsigned int i = 0; i < vdev->nr_queues; i++) {
		vdev->queues[i].event_idx = vdev_has_feature(vdev, VIRTIO_RING_F_EVENT_IDX);
		vdev->queues[i].indirect = vdev_has_feature(vdev, VIRTIO_RING_F_INDIRECT_DESC);
	}
	return true;
}

static void vmmio_write_status(struct vmmio *m, uint32_t v)
{
	struct vdev *vdev = m->vdev;
	enum vmmio_stage cur, next;
	int err;

	/* NEEDS_RESET belongs to the device: drivers echo it back when they add a bit. */
	v &= ~(uint32_t)VIRTIO_CONFIG_S_NEEDS_RESET;
	if (v == 0) {
		vdev_reset(vdev);
		return;
	}
	if (v & VIRTIO_CONFIG_S_FAILED) {
		/* The driver gave up: stop until it resets us. */
		vdev->status |= VIRTIO_CONFIG_S_FAILED;
		vdev->live = false;
		return;
	}
	cur = vmmio_cur_stage(vdev);
	next = vmmio_stage_of((uint8_t)v);
	if (v > UINT8_MAX || cur == ST_NR || next == ST_NR || !vmmio_status_transitions[cur][next]) {
		vdev_fail(vdev, "illegal status transition 0x%x -> 0x%x", vdev->status, v);
		return;
	}
	if (next == cur)
		return;
	if (next == ST_FEATURES_OK && !vmmio_features_ok(m))
		return;		/* FEATURES_OK stays clear: the driver reads it back and gives up */
	vdev->status = (uint8_t)(v | (vdev->status & VIRTIO_CONFIG_S_NEEDS_RESET));
	if (next != ST_DRIVER_OK || vdev->broken)
		return;
	err = vdev->ops->activate ? vdev->ops->activate(vdev) : 0;
	if (err) {
		vdev_fail(vdev, "activation failed: %s", mvmm_strerror(err));
		return;
	}
	vdev->live = true;
}

static struct virtq *vmmio_sel_queue(struct vmmio *m)
{
	return m->queue_sel < m->vdev->nr_queues ? &m->vdev->queues[m->queue_sel] : NULL;
}

/* Queue layout registers: only between FEATURES_OK and DRIVER_OK, on a queue not yet ready. */
static struct virtq *vmmio_setup_queue(struct vmmio *m, uint32_t reg)
{
	struct virtq *q = vmmio_sel_queue(m);

	if (!q) {
		vdev_fail(m->vdev, "register 0x%x written for missing queue %u", reg, m->queue_sel);
		return NULL;
	}
	if (vmmio_cur_stage(m->vdev) != ST_FEATURES_OK || q->ready) {
		vdev_fail(m->vdev, "queue %u register 0x%x written in status 0x%x%s", m->queue_sel,
			  reg, m->vdev->status, q->ready ? " while ready" : "");
		return NULL;
	}
	return q;
}

static void set_lo(uint64_t *p, uint32_t v)
{
	*p = (*p & ~(uint64_t)UINT32_MAX) | v;
}

static void set_hi(uint64_t *p, uint32_t v)
{
	*p = (*p & UINT32_MAX) | (uint64_t)v << 32;
}

static void vmmio_write_queue_ready(struct vmmio *m, uint32_t v)
{
	struct virtq *q;

	if (v == 0) {
		/* Stopping a queue is legal in any status (Linux does it on removal). */
		q = vmmio_sel_queue(m);
		if (q)
			q->ready = false;
		return;
	}
	q = vmmio_setup_queue(m, VIRTIO_MMIO_QUEUE_READY);
	if (q && virtq_enable(q))
		vdev_fail(m->vdev, "queue %u: %s", m->queue_sel, q->why);
}

static void vmmio_notify(struct vmmio *m, uint32_t v)
{
	uint64_t one = 1;

	if (v >= m->vdev->nr_queues) {
		vdev_fail(m->vdev, "notify for missing queue %u", v);
		return;
	}
	/*
	 * Normally KVM's ioeventfd swallows this write.  When one reaches us anyway (the eventfd
	 * exists but KVM did not match it), forward it so the loop thread does the work; with no
	 * eventfd at all (no KVM: unit tests) kick inline.
	 */
	if (m->kicks[v].fd >= 0) {
		if (write(m->kicks[v].fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			vdev_fail(m->vdev, "notify eventfd: %s", mvmm_strerror(-errno));
		return;
	}
	vdev_kick(m->vdev, v);
}

static void vmmio_write(struct vmmio *m, uint64_t off, uint32_t v)
{
	struct vdev *vdev = m->vdev;
	struct virtq *q;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		m->dev_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		m->drv_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (vmmio_cur_stage(vdev) != ST_DRIVER) {
			vdev_fail(vdev, "features written in status 0x%x", vdev->status);
		} else if (m->drv_features_sel == 0) {
			set_lo(&vdev->driver_features, v);
		} else if (m->drv_features_sel == 1) {
			set_hi(&vdev->driver_features, v);
		} else if (v) {
			vdev_fail(vdev, "features page %u written", m->drv_features_sel);
		}
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		m->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if ((q = vmmio_setup_queue(m, (uint32_t)off)))
			q->size = v > UINT16_MAX ? 0 : (uint16_t)v;	/* checked at QUEUE_READY */
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		vmmio_write_queue_ready(m, v);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		vmmio_notify(m, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		__atomic_fetch_and(&vdev->isr, ~v, __ATOMIC_SEQ_CST);
		break;
	case VIRTIO_MMIO_STATUS:
		vmmio_write_status(m, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH: {
		uint64_t *addr;

		if (!(q = vmmio_setup_queue(m, (uint32_t)off)))
			break;
		if (off == VIRTIO_MMIO_QUEUE_DESC_LOW || off == VIRTIO_MMIO_QUEUE_DESC_HIGH)
			addr = &q->desc_gpa;
		else if (off == VIRTIO_MMIO_QUEUE_AVAIL_LOW || off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH)
			addr = &q->avail_gpa;
		else
			addr = &q->used_gpa;
		if (off == VIRTIO_MMIO_QUEUE_DESC_HIGH || off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH ||
		    off == VIRTIO_MMIO_QUEUE_USED_HIGH)
			set_hi(addr, v);
		else
			set_lo(addr, v);
		break;
	}
	case VIRTIO_MMIO_SHM_SEL:
		break;
	case VIRTIO_MMIO_GUEST_PAGE_SIZE:
	case VIRTIO_MMIO_QUEUE_ALIGN:
	case VIRTIO_MMIO_QUEUE_PFN:
		vdev_fail(vdev, "legacy (version 1) register 0x%llx written", (unsigned long long)off);
		break;
	default:
		log_guest(vdev->log, "virtio", "%s: write to read-only or unknown register 0x%llx",
			  vdev->id, (unsigned long long)off);
		break;
	}
}

static uint32_t vmmio_read(struct vmmio *m, uint64_t off)
{
	struct vdev *vdev = m->vdev;
	struct virtq *q = vmmio_sel_queue(m);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VMMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VMMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return vdev->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VMMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (m->dev_features_sel > 1)
			return 0;
		return (uint32_t)(vdev->host_features >> (32 * m->dev_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? q->max_size : 0;	/* 0: no such queue */
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return __atomic_load_n(&vdev->isr, __ATOMIC_SEQ_CST);
	case VIRTIO_MMIO_STATUS:
		return vdev->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return vdev->config_generation;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return VMMIO_NO_SHM;
	default:
		return 0;	/* write-only and reserved registers read as zero */
	}
}

void vmmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct vmmio *m = opaque;
	struct vdev *vdev = m->vdev;
	uint32_t v = 0;

	if (!is_write)
		memset(data, 0, len);
	pthread_mutex_lock(&vdev->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		uint32_t off = (uint32_t)(offset - VIRTIO_MMIO_CONFIG);

		/* Config fields are read with 1-, 2-, 4- and 8-byte accesses. */
		if (is_write && vdev->ops->config_write)
			vdev->ops->config_write(vdev, off, data, len);
		else if (!is_write && vdev->ops->config_read)
			vdev->ops->config_read(vdev, off, data, len);
		goto out;
	}
	if (len != sizeof(uint32_t) || !IS_ALIGNED(offset, sizeof(uint32_t))) {
		log_guest(vdev->log, "virtio", "%s: %u-byte %s at register 0x%llx (need aligned 4)",
			  vdev->id, len, is_write ? "write" : "read", (unsigned long long)offset);
		goto out;
	}
	if (is_write) {
		memcpy(&v, data, sizeof(v));
		vmmio_write(m, offset, le32toh(v));
	} else {
		v = htole32(vmmio_read(m, offset));
		memcpy(data, &v, sizeof(v));
	}
out:
	pthread_mutex_unlock(&vdev->lock);
}

/* ioeventfd handler on the loop thread: one kick of one queue. */
static void vmmio_on_kick(void *opaque, uint32_t events)
{
	struct vmmio_kick *k = opaque;
	struct vdev *vdev = k->m->vdev;
	uint64_t n;

	(void)events;
	if (read(k->fd, &n, sizeof(n)) < 0)
		return;		/* EAGAIN: already consumed */
	pthread_mutex_lock(&vdev->lock);
	vdev_kick(vdev, k->q);
	pthread_mutex_unlock(&vdev->lock);
}

static int vmmio_setup_kvm(struct vmmio *m)
{
	struct vm *vm = m->vm;
	struct kvm_irqfd irqfd = { .gsi = m->gsi };
	int fd, err;

	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	irqfd.fd = (uint32_t)fd;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		/* Keep working with KVM_IRQ_LINE pulses. */
		pr_warn(&vm->log, "virtio", "%s: KVM_IRQFD: %s; using KVM_IRQ_LINE", m->vdev->id,
			mvmm_strerror(-errno));
		close(fd);
	} else {
		m->irqfd = fd;
	}
	for (unsigned int q = 0; q < m->vdev->nr_queues; q++) {
		struct vmmio_kick *k = &m->kicks[q];
		struct kvm_ioeventfd io = {
			.datamatch = q,
			.addr = m->base + VIRTIO_MMIO_QUEUE_NOTIFY,
			.len = sizeof(uint32_t),
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};

		k->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (k->fd < 0)
			return -errno;
		io.fd = k->fd;
		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
			return -errno;
		k->assigned = true;
		err = loop_add(&vm->loop, k->fd, EPOLLIN, vmmio_on_kick, k);
		if (err)
			return err;
		k->in_loop = true;
	}
	return 0;
}

int vmmio_create(struct vm *vm, struct vdev *vdev, unsigned int slot, struct vmmio **out)
{
	struct vmmio *m;
	int err;

	if (slot >= VMMIO_MAX_SLOTS || vdev->nr_queues > VDEV_MAX_QUEUES)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->vm = vm;
	m->vdev = vdev;
	m->base = X86_VIRTIO_MMIO_BASE + slot * X86_VIRTIO_MMIO_STRIDE;
	m->gsi = X86_VIRTIO_IRQ_BASE + slot;
	m->irqfd = -1;
	for (unsigned int q = 0; q < VDEV_MAX_QUEUES; q++) {
		m->kicks[q].m = m;
		m->kicks[q].q = q;
		m->kicks[q].fd = -1;
	}
	vdev->host_features = VMMIO_TRANSPORT_FEATURES |
			      (vdev->ops->features ? vdev->ops->features(vdev) : 0);
	if (vm->vm_fd >= 0) {
		err = vmmio_setup_kvm(m);
		if (err) {
			pr_err(&vm->log, "virtio", "%s: eventfds: %s", vdev->id, mvmm_strerror(err));
			goto err;
		}
	}
	err = bus_register(&vm->mmio, m->base, X86_VIRTIO_MMIO_STRIDE, vmmio_access, m);
	if (err)
		goto err;
	err = vm_cmdline_append(vm, "virtio_mmio.device=4K@0x%llx:%u",
				(unsigned long long)m->base, m->gsi);
	if (err)
		goto err;
	*out = m;
	return 0;

err:
	/* The bus range (if registered) lives until vm_destroy; nothing runs before then. */
	vmmio_destroy(m);
	return err;
}

void vmmio_destroy(struct vmmio *m)
{
	if (!m)
		return;
	for (unsigned int q = 0; q < VDEV_MAX_QUEUES; q++) {
		struct vmmio_kick *k = &m->kicks[q];

		if (k->in_loop)
			loop_del(&m->vm->loop, k->fd);
		if (k->assigned) {
			struct kvm_ioeventfd io = {
				.datamatch = q,
				.addr = m->base + VIRTIO_MMIO_QUEUE_NOTIFY,
				.len = sizeof(uint32_t),
				.fd = k->fd,
				.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | KVM_IOEVENTFD_FLAG_DEASSIGN,
			};

			ioctl(m->vm->vm_fd, KVM_IOEVENTFD, &io);
		}
		if (k->fd >= 0)
			close(k->fd);
	}
	if (m->irqfd >= 0) {
		struct kvm_irqfd irqfd = { .fd = (uint32_t)m->irqfd, .gsi = m->gsi,
					   .flags = KVM_IRQFD_FLAG_DEASSIGN };

		ioctl(m->vm->vm_fd, KVM_IRQFD, &irqfd);
		close(m->irqfd);
	}
	free(m);
}

void vmmio_save(const struct vmmio *m, struct vstate_buf *b)
{
	vstate_put_u8(b, VMMIO_STATE_VERSION);
	vstate_put_u32(b, m->dev_features_sel);
	vstate_put_u32(b, m->drv_features_sel);
	vstate_put_u32(b, m->queue_sel);
}

int vmmio_load(struct vmmio *m, struct vstate_rd *r)
{
	if (vstate_get_u8(r) != VMMIO_STATE_VERSION)
		return vstate_rd_fail(r, -EINVAL);
	m->dev_features_sel = vstate_get_u32(r);
	m->drv_features_sel = vstate_get_u32(r);
	m->queue_sel = vstate_get_u32(r);
	return r->err;
}
