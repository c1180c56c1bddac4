/* SPDX-License-Identifier: MIT */
/* Public entry points: argument checks and handle <-> struct vm; the logic lives in vm.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mvmm/mvmm.h"
#include "util.h"
#include "control.h"
#include "snapshot.h"
#include "fork/fork.h"
#include "fork/disks.h"
#include <sys/socket.h>
#include <unistd.h>
#include "vm.h"

#define DEFAULT_MEM (256 * MiB)

struct mvmm_vm {
	struct vm *vm;
	char api_sock[108];		/* a fork child's socket path (mvmm_vm_fork_child) */
};

/* Copy the caller's struct as far as both sides know it; unknown tail fields stay zero. */
static int config_import(const struct mvmm_config *in, struct mvmm_config *out)
{
	memset(out, 0, sizeof(*out));
	if (!in || in->size < offsetof(struct mvmm_config, log_level) + sizeof(in->log_level))
		return -EINVAL;
	memcpy(out, in, MIN(in->size, sizeof(*out)));
	out->size = sizeof(*out);
	if (!out->mem_bytes)
		out->mem_bytes = DEFAULT_MEM;
	if (!out->cpus)
		out->cpus = 1;
	return 0;
}

MVMM_PUBLIC int mvmm_vm_create(const struct mvmm_config *cfg, mvmm_vm **out)
{
	struct mvmm_config c;
	struct mvmm_vm *h;
	int err;

	if (!out)
		return -EINVAL;
	*out = NULL;
	err = config_import(cfg, &c);
	if (err)
		return err;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	err = vm_create(&h->vm, &c);
	if (err) {
		free(h);
		return err;
	}
	*out = h;
	return 0;
}

MVMM_PUBLIC int mvmm_vm_start(mvmm_vm *h)
{
	return h ? vm_start(h->vm) : -EINVAL;
}

MVMM_PUBLIC int mvmm_vm_pause(mvmm_vm *h)
{
	return h ? vm_pause(h->vm) : -EINVAL;
}

MVMM_PUBLIC int mvmm_vm_resume(mvmm_vm *h)
{
	return h ? vm_resume(h->vm) : -EINVAL;
}

MVMM_PUBLIC int mvmm_vm_stop(mvmm_vm *h)
{
	if (!h)
		return -EINVAL;
	vm_request_stop(h->vm, MVMM_STOP_REQUESTED, 0, 0);
	return 0;
}

MVMM_PUBLIC int mvmm_vm_wait(mvmm_vm *h, struct mvmm_exit_info *info)
{
	struct mvmm_exit_info e;
	int err;

	if (!h || (info && info->size < offsetof(struct mvmm_exit_info, error) + sizeof(int)))
		return -EINVAL;
	err = vm_wait(h->vm, &e);
	if (!err && info) {
		size_t size = info->size;

		memcpy(info, &e, MIN(size, sizeof(e)));
		info->size = size;
	}
	return err;
}

MVMM_PUBLIC enum mvmm_vm_state mvmm_vm_get_state(mvmm_vm *h)
{
	enum mvmm_vm_state s;

	if (!h)
		return MVMM_VM_STOPPED;
	pthread_mutex_lock(&h->vm->lock);
	s = h->vm->state;
	pthread_mutex_unlock(&h->vm->lock);
	return s;
}

MVMM_PUBLIC int mvmm_vm_event_fd(mvmm_vm *h)
{
	return h ? h->vm->event_fd : -EINVAL;
}

MVMM_PUBLIC void mvmm_vm_destroy(mvmm_vm *h)
{
	if (!h)
		return;
	vm_destroy(h->vm);
	free(h);
}

MVMM_PUBLIC int mvmm_vm_api_listen(mvmm_vm *h, const char *path)
{
	struct vm *vm;
	int err;

	if (!h || !path || !*path)
		return -EINVAL;
	vm = h->vm;
	if (vm->control)
		return -EBUSY;
	err = control_create(vm, path, &vm->control);
	if (err)
		vm->control = NULL;
	return err;
}

MVMM_PUBLIC int mvmm_vm_snapshot(mvmm_vm *h, const char *dir)
{
	if (!h || !dir || !*dir)
		return -EINVAL;
	return vm_snapshot(h->vm, dir, false);
}

MVMM_PUBLIC int mvmm_vm_restore(const char *dir, const struct mvmm_config *cfg, mvmm_vm **out)
{
	struct snapshot_files f;
	struct vm_restore r = { 0 };
	void *disk_store = NULL;
	struct mvmm_config c;
	struct mvmm_log log;
	struct mvmm_vm *h;
	int err;

	if (!out || !dir)
		return -EINVAL;
	*out = NULL;
	err = config_import(cfg, &c);
	if (err)
		return err;
	log_init(&log, c.log_fn, c.log_opaque, c.log_level);
	err = snapshot_open(dir, &f, &log);
	log_fini(&log);
	if (err)
		return err;
	/* Explicit sizes must agree with the snapshot; defaults are replaced by its values. */
	if ((cfg->size > offsetof(struct mvmm_config, mem_bytes) && cfg->mem_bytes &&
	     cfg->mem_bytes != f.mem_bytes) ||
	    (cfg->size > offsetof(struct mvmm_config, cpus) && cfg->cpus && cfg->cpus != f.cpus)) {
		snapshot_files_free(&f);
		return -MVMM_ECONFIG;
	}
	c.mem_bytes = f.mem_bytes;
	c.cpus = f.cpus;
	c.rng = f.rng;
	err = disks_from_json(f.disks, &c, &disk_store);
	if (err) {
		snapshot_files_free(&f);
		return err;
	}
	c.kernel_path = NULL;
	c.kernel_data = NULL;
	c.initrd_path = NULL;
	c.initrd_data = NULL;
	h = calloc(1, sizeof(*h));
	if (!h) {
		snapshot_files_free(&f);
		free(disk_store);
		return -ENOMEM;
	}
	r.mem_fd = f.mem_fd;		/* the VM owns it from here */
	f.mem_fd = -1;
	r.blob = f.blob;
	r.blob_len = f.blob_len;
	err = vm_create_restored(&h->vm, &c, &r);
	snapshot_files_free(&f);
	free(disk_store);
	if (err) {
		free(h);
		return err;
	}
	*out = h;
	return 0;
}

MVMM_PUBLIC int mvmm_vm_fork(mvmm_vm *h, const struct mvmm_fork_opts *opts,
			     struct mvmm_fork_child *children)
{
	struct mvmm_fork_opts o;

	if (!h || !opts || !children || opts->size < offsetof(struct mvmm_fork_opts, name_prefix))
		return -EINVAL;
	memset(&o, 0, sizeof(o));
	memcpy(&o, opts, MIN(opts->size, sizeof(o)));
	memset(children, 0, o.count * sizeof(*children));
	return vm_fork(h->vm, &o, children);
}

MVMM_PUBLIC int mvmm_vm_fork_child(int fd, const struct mvmm_config *cfg, mvmm_vm **out,
				   const char **api_sock)
{
	struct mvmm_config c;
	struct mvmm_vm *h;
	int err;

	if (!out || !api_sock)
		return -EINVAL;
	*out = NULL;
	err = config_import(cfg, &c);
	if (err)
		return err;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	err = vm_fork_child(fd, &c, &h->vm, h->api_sock, sizeof(h->api_sock));
	if (err) {
		free(h);
		return err;
	}
	*api_sock = h->api_sock;
	*out = h;
	return 0;
}

MVMM_PUBLIC int mvmm_vm_fork_ack(int fd, int err)
{
	char buf[64];
	int n = err ? snprintf(buf, sizeof(buf), "{\"error\":%d}", err)
		    : snprintf(buf, sizeof(buf), "{\"pid\":%d}", (int)getpid());

	return send(fd, buf, (size_t)n, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

MVMM_PUBLIC int mvmm_vm_enable_fork(mvmm_vm *h, const char *vmm_path, const char *runtime_dir,
				    unsigned int pool)
{
	char *a, *b;

	if (!h || !vmm_path || !runtime_dir || pool > ARRAY_SIZE(h->vm->fork_pool))
		return -EINVAL;
	a = strdup(vmm_path);
	b = strdup(runtime_dir);
	if (!a || !b) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	free(h->vm->fork_vmm_path);
	free(h->vm->fork_runtime_dir);
	h->vm->fork_vmm_path = a;
	h->vm->fork_runtime_dir = b;
	h->vm->fork_pool_target = pool;
	if (pool && h->vm->threads_started && !h->vm->fork_pool_lazy) {
		__atomic_store_n(&h->vm->fork_pool_refill, true, __ATOMIC_RELEASE);
		loop_wake(&h->vm->loop);
	}
	return 0;
}
