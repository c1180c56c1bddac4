/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices.h"
#include "blk.h"
#include "mmio.h"
#include "rng.h"
#include "vdev.h"
#include "vstate.h"
#include "vmm/state.h"
#include "mvmm/mvmm.h"
#include "vmm/log.h"
#include "vmm/vm.h"

int virtio_devices_create(struct vm *vm, const struct mvmm_config *cfg)
{
	unsigned int nr = cfg->nr_disks + (cfg->rng ? 1 : 0), slot = 0;
	struct vdev *vdev;
	int err;

	if (nr == 0)
		return 0;
	if (cfg->nr_disks > MVMM_MAX_DISKS || nr > VMMIO_MAX_SLOTS || (cfg->nr_disks && !cfg->disks)) {
		pr_err(&vm->log, "virtio", "too many devices (at most %d disks, %d devices)",
		       MVMM_MAX_DISKS, VMMIO_MAX_SLOTS);
		return -MVMM_ECONFIG;
	}
	if (cfg->nr_disks && cfg->disks[0].size < sizeof(size_t) + sizeof(char *))
		return -MVMM_ECONFIG;
	vm->vdevs = calloc(nr, sizeof(*vm->vdevs));
	if (!vm->vdevs)
		return -ENOMEM;
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		/* Entries are laid out with the caller's struct size (extensible ABI). */
		const struct mvmm_disk_config *d = (const void *)((const char *)cfg->disks +
								  i * cfg->disks[0].size);

		err = blk_create(vm, d, i, slot++, &vdev);
		if (err)
			return err;	/* vm_destroy() releases what was made */
		vm->vdevs[vm->nr_vdevs++] = vdev;
	}
	if (cfg->rng) {
		err = rng_create(vm, slot++, &vdev);
		if (err) {
			pr_err(&vm->log, "virtio", "rng: %s", mvmm_strerror(err));
			return err;
		}
		vm->vdevs[vm->nr_vdevs++] = vdev;
	}
	return 0;
}

void virtio_devices_destroy(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vdevs; i++)
		vdev_destroy(vm->vdevs[i]);
	free(vm->vdevs);
	vm->vdevs = NULL;
	vm->nr_vdevs = 0;
}

void virtio_devices_metrics(struct vm *vm, virtio_metrics_fn fn, void *opaque)
{
	for (unsigned int i = 0; i < vm->nr_vdevs; i++) {
		struct vdev_metrics m;

		vdev_metrics_get(vm->vdevs[i], &m);
		fn(opaque, vm->vdevs[i]->id, vm->vdevs[i]->ops->type, &m);
	}
}

int virtio_devices_quiesce(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vdevs; i++) {
		int err = vdev_quiesce(vm->vdevs[i]);

		if (err) {
			while (i-- > 0)
				vdev_unquiesce(vm->vdevs[i]);
			return err;
		}
	}
	return 0;
}

void virtio_devices_unquiesce(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vdevs; i++)
		vdev_unquiesce(vm->vdevs[i]);
}

#define VDEV_SECTION_VERSION 1

int virtio_devices_save(struct vm *vm, struct state_writer *w)
{
	for (unsigned int i = 0; i < vm->nr_vdevs; i++) {
		struct vstate_buf b;
		char name[STATE_NAME_MAX + 1];
		int err;

		vstate_buf_init(&b);
		err = vdev_save(vm->vdevs[i], &b);
		if (!err) {
			snprintf(name, sizeof(name), "dev/%s", vm->vdevs[i]->id);
			state_begin_section(w, name, VDEV_SECTION_VERSION, STATE_SEC_REQUIRED);
			state_put_bytes(w, b.data, b.len);
			state_end_section(w);
			err = w->err;
		}
		vstate_buf_fini(&b);
		if (err)
			return err;
	}
	return 0;
}

int virtio_devices_load(struct vm *vm, const struct state_reader *r)
{
	for (unsigned int i = 0; i < vm->nr_vdevs; i++) {
		struct vdev *vdev = vm->vdevs[i];
		struct state_section sec;
		struct vstate_rd rd;
		char name[STATE_NAME_MAX + 1];
		int err;

		snprintf(name, sizeof(name), "dev/%s", vdev->id);
		if (state_find(r, name, &sec) || sec.version != VDEV_SECTION_VERSION) {
			pr_err(&vm->log, "virtio", "state has no section for device %s", vdev->id);
			return -EBADMSG;
		}
		if (!vdev->quiesced && (err = vdev_quiesce(vdev)))
			return err;
		vstate_rd_init(&rd, sec.data, (size_t)sec.len);
		err = vdev_load(vdev, &rd);
		if (err) {
			pr_err(&vm->log, "virtio", "device %s: state rejected: %s", vdev->id,
			       mvmm_strerror(err));
			return err;
		}
	}
	return 0;
}
