/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_rng.h>

#include "rng.h"
#include "mmio.h"
#include "vdev.h"
#include "mvmm/mvmm.h"
#include "vmm/util.h"
#include "vmm/vm.h"

struct rng {
	struct vdev vdev;		/* first: container_of */
	struct vchain chain;		/* reused for every request */
};

static struct rng *to_rng(struct vdev *vdev)
{
	return container_of(vdev, struct rng, vdev);
}

/* Fill the writable part of the chain (up to RNG_MAX_PER_REQUEST); returns bytes written. */
static uint32_t rng_fill(struct rng *r)
{
	uint64_t want = MIN(vchain_write_left(&r->chain), (uint64_t)RNG_MAX_PER_REQUEST);
	uint32_t done = 0;
	uint8_t buf[256];

	while (done < want) {
		/* Never blocks once the host's pool is initialised (long before any VM runs). */
		ssize_t got = getrandom(buf, (size_t)MIN(sizeof(buf), want - done), 0);

		if (got <= 0)
			break;
		vchain_write(&r->chain, buf, (size_t)got);
		done += (uint32_t)got;
	}
	explicit_bzero(buf, sizeof(buf));
	return done;
}

static void rng_notify(struct vdev *vdev, unsigned int qi)
{
	struct rng *r = to_rng(vdev);
	struct virtq *q = &vdev->queues[qi];
	int ret;

	do {
		while ((ret = virtq_pop(q, &r->chain)) > 0) {
			uint32_t n = rng_fill(r);

			virtq_push(q, r->chain.head, n);
			vdev_count(&vdev->metrics.requests, 1);
			vdev_count(&vdev->metrics.bytes_written, n);
		}
		if (ret == -MVMM_EGUEST)
			vdev_queue_fail(vdev, qi);
		if (ret < 0)
			break;
	} while (virtq_enable_notify(q));
	vdev_used_flush(vdev, qi);
}

static void rng_destroy(struct vdev *vdev)
{
	struct rng *r = to_rng(vdev);

	vdev_fini(vdev);
	vchain_fini(&r->chain);
	free(r);
}

/* Stateless beyond the queues: no quiesce, save or load of its own is needed. */
static const struct vdev_ops rng_ops = {
	.type = "rng",
	.notify = rng_notify,
	.destroy = rng_destroy,
};

int rng_create(struct vm *vm, unsigned int slot, struct vdev **out)
{
	struct rng *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	vdev_init(&r->vdev, vm, &rng_ops, VIRTIO_ID_RNG, "rng0", 1, RNG_QUEUE_SIZE);
	vchain_init(&r->chain);
	err = vmmio_create(vm, &r->vdev, slot, &r->vdev.mmio);
	if (err) {
		rng_destroy(&r->vdev);
		return err;
	}
	*out = &r->vdev;
	return 0;
}
