/* SPDX-License-Identifier: MIT */
/*
 * The VM's virtio devices: created from the configuration (disks first, then the rng, each in
 * the next virtio-mmio slot), destroyed with the VM, and their counters for GET /metrics.
 */
#ifndef MVMM_DEVICES_VIRTIO_DEVICES_H
#define MVMM_DEVICES_VIRTIO_DEVICES_H

struct vm;
struct mvmm_config;
struct vdev_metrics;

/* Before the kernel is loaded (devices announce themselves on its command line). */
int virtio_devices_create(struct vm *vm, const struct mvmm_config *cfg);
/* After every vCPU and the loop thread are gone; NULL-safe on a VM without devices. */
void virtio_devices_destroy(struct vm *vm);

typedef void (*virtio_metrics_fn)(void *opaque, const char *id, const char *type,
				  const struct vdev_metrics *m);
/* Call fn once per device with a snapshot of its counters; any thread. */
void virtio_devices_metrics(struct vm *vm, virtio_metrics_fn fn, void *opaque);

struct state_writer;
struct state_reader;
/* Each device (asleep) into a required section "dev/<id>". */
int virtio_devices_save(struct vm *vm, struct state_writer *w);
/* Each device from its section; devices are put to sleep first and stay asleep. */
int virtio_devices_load(struct vm *vm, const struct state_reader *r);

/* Sleep / wake every device (snapshot and fork); stops at the first error, undoing it. */
int virtio_devices_quiesce(struct vm *vm);
void virtio_devices_unquiesce(struct vm *vm);

#endif /* MVMM_DEVICES_VIRTIO_DEVICES_H */
