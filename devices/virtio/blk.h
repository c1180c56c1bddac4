/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk over a raw image file.  Requests are read from the queue on the VM's event-loop
 * thread and executed asynchronously with io_uring; completions come back to the same thread
 * through the ring's eventfd, so neither a vCPU nor the loop ever waits for the disk (except a
 * driver reset or a quiesce, which wait for in-flight requests by design).
 *
 * Supported: IN, OUT, FLUSH (fdatasync), GET_ID, DISCARD (punch hole) and WRITE_ZEROES
 * (zero range, then punch hole, then writing zeroes).  Read-only disks offer VIRTIO_BLK_F_RO and
 * fail every write-type request with VIRTIO_BLK_S_IOERR without touching the file.
 */
#ifndef MVMM_DEVICES_VIRTIO_BLK_H
#define MVMM_DEVICES_VIRTIO_BLK_H

struct vm;
struct vdev;
struct mvmm_disk_config;

#define BLK_QUEUE_SIZE 256

/* Disk `index` (id "blk<index>") in transport slot `slot`. */
int blk_create(struct vm *vm, const struct mvmm_disk_config *cfg, unsigned int index,
	       unsigned int slot, struct vdev **out);

#endif /* MVMM_DEVICES_VIRTIO_BLK_H */
