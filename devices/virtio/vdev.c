/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "vdev.h"
#include "mmio.h"
#include "vstate.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define VDEV_STATE_VERSION 1

void vdev_init(struct vdev *vdev, struct vm *vm, const struct vdev_ops *ops, uint32_t device_id,
	       const char *id, unsigned int nr_queues, uint16_t queue_max)
{
	BUG_ON(nr_queues > VDEV_MAX_QUEUES);
	memset(vdev, 0, sizeof(*vdev));
	vdev->ops = ops;
	vdev->vm = vm;
	vdev->mem = &vm->mem;
	vdev->log = &vm->log;
	snprintf(vdev->id, sizeof(vdev->id), "%s", id);
	vdev->device_id = device_id;
	vdev->nr_queues = nr_queues;
	pthread_mutex_init(&vdev->lock, NULL);
	for (unsigned int i = 0; i < nr_queues; i++)
		virtq_init(&vdev->queues[i], vdev->mem, queue_max);
}

void vdev_fini(struct vdev *vdev)
{
	if (!vdev)
		return;
	vmmio_destroy(vdev->mmio);
	vdev->mmio = NULL;
	pthread_mutex_destroy(&vdev->lock);
}

void vdev_destroy(struct vdev *vdev)
{
	if (vdev)
		vdev->ops->destroy(vdev);
}

void vdev_interrupt(struct vdev *vdev, uint32_t isr_bits)
{
	/* ISR before the interrupt: the driver's handler reads INTERRUPT_STATUS to find out why. */
	__atomic_fetch_or(&vdev->isr, isr_bits, __ATOMIC_SEQ_CST);
	vdev_count(&vdev->metrics.interrupts, 1);
	if (vdev->mmio)
		vmmio_interrupt(vdev->mmio);
}

int vdev_fail(struct vdev *vdev, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_guest(vdev->log, "virtio", "%s: %s; device needs reset", vdev->id, msg);
	vdev_count(&vdev->metrics.errors, 1);
	if (vdev->broken)
		return -MVMM_EGUEST;
	vdev->broken = true;
	vdev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	/* Only a driver that got as far as DRIVER_OK is listening for config interrupts. */
	if (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)
		vdev_interrupt(vdev, VIRTIO_MMIO_INT_CONFIG);
	return -MVMM_EGUEST;
}

int vdev_queue_fail(struct vdev *vdev, unsigned int q)
{
	const char *why = vdev->queues[q].why;

	return vdev_fail(vdev, "queue %u: %s", q, why ? why : "broken");
}

void vdev_used_flush(struct vdev *vdev, unsigned int q)
{
	if (virtq_flush(&vdev->queues[q]))
		vdev_interrupt(vdev, VIRTIO_MMIO_INT_VRING);
}

void vdev_config_changed(struct vdev *vdev)
{
	vdev->config_generation++;
	if (vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)
		vdev_interrupt(vdev, VIRTIO_MMIO_INT_CONFIG);
}

void vdev_kick(struct vdev *vdev, unsigned int q)
{
	if (q >= vdev->nr_queues)
		return;
	vdev_count(&vdev->metrics.notifications, 1);
	if (!vdev->live || vdev->broken)
		return;
	if (vdev->quiesced) {
		vdev->kick_pending |= 1U << q;
		return;
	}
	vdev->ops->notify(vdev, q);
}

void vdev_reset(struct vdev *vdev)
{
	if (vdev->ops->reset)
		vdev->ops->reset(vdev);
	for (unsigned int i = 0; i < vdev->nr_queues; i++)
		virtq_reset(&vdev->queues[i]);
	vdev->driver_features = 0;
	vdev->status = 0;
	vdev->live = false;
	vdev->broken = false;
	vdev->kick_pending = 0;
	__atomic_store_n(&vdev->isr, 0, __ATOMIC_SEQ_CST);
}

int vdev_quiesce(struct vdev *vdev)
{
	int err = 0;

	pthread_mutex_lock(&vdev->lock);
	if (!vdev->quiesced && vdev->ops->quiesce)
		err = vdev->ops->quiesce(vdev);
	if (!err)
		vdev->quiesced = true;
	pthread_mutex_unlock(&vdev->lock);
	return err;
}

void vdev_unquiesce(struct vdev *vdev)
{
	uint32_t pending;

	pthread_mutex_lock(&vdev->lock);
	if (!vdev->quiesced)
		goto out;
	vdev->quiesced = false;
	if (vdev->ops->unquiesce)
		vdev->ops->unquiesce(vdev);
	/*
	 * Kicks that came while asleep, and buffers a restored driver queued before the
	 * snapshot: look at every live queue once.
	 */
	pending = vdev->kick_pending;
	vdev->kick_pending = 0;
	for (unsigned int q = 0; q < vdev->nr_queues; q++) {
		if ((pending & (1U << q)) || virtq_pending(&vdev->queues[q])) {
			if (vdev->live && !vdev->broken)
				vdev->ops->notify(vdev, q);
		}
	}
out:
	pthread_mutex_unlock(&vdev->lock);
}

int vdev_save(struct vdev *vdev, struct vstate_buf *b)
{
	int err = 0;

	pthread_mutex_lock(&vdev->lock);
	if (vdev->live && !vdev->quiesced) {
		err = -MVMM_ESTATE;
		goto out;
	}
	vstate_put_u8(b, VDEV_STATE_VERSION);
	vstate_put_u32(b, vdev->device_id);
	vstate_put_u64(b, vdev->host_features);
	vstate_put_u64(b, vdev->driver_features);
	vstate_put_u8(b, vdev->status);
	vstate_put_u8(b, (uint8_t)(vdev->live | vdev->broken << 1));
	vstate_put_u32(b, vdev->kick_pending);
	vstate_put_u32(b, __atomic_load_n(&vdev->isr, __ATOMIC_SEQ_CST));
	vstate_put_u32(b, vdev->config_generation);
	vstate_put_u8(b, (uint8_t)vdev->nr_queues);
	for (unsigned int i = 0; i < vdev->nr_queues; i++)
		virtq_save(&vdev->queues[i], b);
	if (vdev->mmio)
		vmmio_save(vdev->mmio, b);
	if (vdev->ops->save)
		err = vdev->ops->save(vdev, b);
	if (!err)
		err = b->err;
out:
	pthread_mutex_unlock(&vdev->lock);
	return err;
}

int vdev_load(struct vdev *vdev, struct vstate_rd *r)
{
	uint64_t host_features;
	uint8_t flags, nr;
	int err = 0;

	pthread_mutex_lock(&vdev->lock);
	if (vdev->live || !vdev->quiesced) {
		err = -MVMM_ESTATE;
		goto out;
	}
	if (vstate_get_u8(r) != VDEV_STATE_VERSION || vstate_get_u32(r) != vdev->device_id)
		goto bad;
	host_features = vstate_get_u64(r);
	vdev->driver_features = vstate_get_u64(r);
	vdev->status = vstate_get_u8(r);
	flags = vstate_get_u8(r);
	vdev->kick_pending = vstate_get_u32(r);
	vdev->isr = vstate_get_u32(r);
	vdev->config_generation = vstate_get_u32(r);
	nr = vstate_get_u8(r);
	/* Same device model: what we offer now must be what was offered then. */
	if (r->err || host_features != vdev->host_features || nr != vdev->nr_queues ||
	    (vdev->driver_features & ~host_features) || (flags & ~3u) ||
	    (vdev->isr & ~(uint32_t)(VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG)))
		goto bad;
	vdev->live = flags & 1;
	vdev->broken = flags & 2;
	for (unsigned int i = 0; i < nr; i++) {
		err = virtq_load(&vdev->queues[i], r);
		if (err)
			goto bad;
	}
	if (vdev->mmio && vmmio_load(vdev->mmio, r))
		goto bad;
	if (vdev->ops->load) {
		err = vdev->ops->load(vdev, r);
		if (err)
			goto fail;
	}
	if (r->err)
		goto bad;
	if (vdev->live && vdev->ops->activate) {
		err = vdev->ops->activate(vdev);
		if (err)
			goto fail;
	}
	goto out;
bad:
	err = -EINVAL;
fail:
	/* Leave nothing half-loaded: a reset device is at least consistent. */
	vdev_reset(vdev);
out:
	pthread_mutex_unlock(&vdev->lock);
	return err;
}

int vdev_rebind(struct vdev *vdev, const void *res)
{
	int err = 0;

	pthread_mutex_lock(&vdev->lock);
	if (vdev->ops->rebind)
		err = vdev->ops->rebind(vdev, res);
	pthread_mutex_unlock(&vdev->lock);
	return err;
}

void vdev_metrics_get(const struct vdev *vdev, struct vdev_metrics *out)
{
	const struct vdev_metrics *m = &vdev->metrics;

	out->requests = __atomic_load_n(&m->requests, __ATOMIC_RELAXED);
	out->bytes_read = __atomic_load_n(&m->bytes_read, __ATOMIC_RELAXED);
	out->bytes_written = __atomic_load_n(&m->bytes_written, __ATOMIC_RELAXED);
	out->errors = __atomic_load_n(&m->errors, __ATOMIC_RELAXED);
	out->notifications = __atomic_load_n(&m->notifications, __ATOMIC_RELAXED);
	out->interrupts = __atomic_load_n(&m->interrupts, __ATOMIC_RELAXED);
}
