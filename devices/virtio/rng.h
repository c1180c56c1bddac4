/* SPDX-License-Identifier: MIT */
/* virtio-rng: one request queue whose writable buffers are filled from getrandom(2). */
#ifndef MVMM_DEVICES_VIRTIO_RNG_H
#define MVMM_DEVICES_VIRTIO_RNG_H

struct vm;
struct vdev;

#define RNG_QUEUE_SIZE 64
/* Bytes given per request at most; the used length tells the driver how many it got. */
#define RNG_MAX_PER_REQUEST 65536

int rng_create(struct vm *vm, unsigned int slot, struct vdev **out);

#endif /* MVMM_DEVICES_VIRTIO_RNG_H */
