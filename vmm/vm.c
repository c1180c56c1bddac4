/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/kvm.h>

#include "vm.h"
#include "util.h"
#include "vcpu.h"
#include "arch/x86/boot.h"
#include "arch/x86/cpu.h"
#include "arch/x86/layout.h"
#include "arch/x86/vcpu_state.h"
#include "state.h"
#include "fork/layers.h"
#include "fork/fork.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "devices/vmgenid.h"
#include "devices/virtio/devices.h"
#include "devices/virtio/vdev.h"
#include "control.h"

#define KVM_API_EXPECTED 12
#define VM_MIN_MEM (16 * MiB)
#define VM_MAX_MEM (1024 * GiB)
#define VM_DEFAULT_MEM (256 * MiB)
#define IMAGE_MAX_SIZE (4 * GiB)

/* Legal lifecycle transitions (see the diagram in vm.h). */
static const bool vm_transitions[4][4] = {
	[MVMM_VM_CREATED] = { [MVMM_VM_RUNNING] = true, [MVMM_VM_STOPPED] = true },
	[MVMM_VM_RUNNING] = { [MVMM_VM_PAUSED] = true, [MVMM_VM_STOPPED] = true },
	[MVMM_VM_PAUSED] = { [MVMM_VM_RUNNING] = true, [MVMM_VM_STOPPED] = true },
	[MVMM_VM_STOPPED] = { 0 },
};

/* Caller holds vm->lock. */
static int vm_set_state(struct vm *vm, enum mvmm_vm_state to)
{
	if (!vm_transitions[vm->state][to])
		return -MVMM_ESTATE;
	vm->state = to;
	pthread_cond_broadcast(&vm->cond);
	vm_notify(vm);
	return 0;
}

void vm_notify(struct vm *vm)
{
	uint64_t one = 1;

	if (write(vm->event_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
}

static void vm_kick_all(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(vm->vcpus[i]);
}

void vm_request_stop(struct vm *vm, enum mvmm_stop_reason reason, uint32_t code, int error)
{
	bool first;

	pthread_mutex_lock(&vm->lock);
	first = !vm->stop_req;
	if (first) {
		__atomic_store_n(&vm->stop_req, true, __ATOMIC_RELEASE);
		vm->exit.reason = reason;
		vm->exit.guest_code = code;
		vm->exit.error = error;
		/* Never started: nothing to reap, stopped at once. */
		if (vm->state == MVMM_VM_CREATED)
			vm_set_state(vm, MVMM_VM_STOPPED);
	}
	pthread_cond_broadcast(&vm->cond);	/* parked vCPUs and pause waiters re-check */
	pthread_mutex_unlock(&vm->lock);
	if (!first || !vm->threads_started)
		return;
	vm_kick_all(vm);
	loop_wake(&vm->loop);
}

/*
 * Loop-thread wake-up: once every vCPU thread has left its loop after a stop request, join
 * them here so STOPPED really means no vCPU runs, then end the loop.
 */
static void vm_on_wake(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	bool all_exited;

	(void)events;
	if (__atomic_exchange_n(&vm->fork_pool_refill, false, __ATOMIC_ACQ_REL) &&
	    !__atomic_load_n(&vm->stop_req, __ATOMIC_ACQUIRE))
		fork_pool_refill(vm);
	pthread_mutex_lock(&vm->lock);
	all_exited = vm->stop_req && vm->nr_exited == vm->nr_vcpus;
	pthread_mutex_unlock(&vm->lock);
	if (!all_exited)
		return;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_join(vm->vcpus[i]);
	pthread_mutex_lock(&vm->lock);
	vm_set_state(vm, MVMM_VM_STOPPED);
	pthread_mutex_unlock(&vm->lock);
	loop_quit(&vm->loop);
}

int vm_cmdline_append(struct vm *vm, const char *fmt, ...)
{
	size_t old = vm->cmdline_extra ? strlen(vm->cmdline_extra) : 0;
	char add[512], *p;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(add, sizeof(add), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(add))
		return -MVMM_ECMDLINE;
	p = realloc(vm->cmdline_extra, old + (size_t)n + 2);
	if (!p)
		return -ENOMEM;
	p[old] = ' ';
	memcpy(p + old + 1, add, (size_t)n + 1);
	vm->cmdline_extra = p;
	return 0;
}

struct image {
	const uint8_t *data;
	size_t len;
	void *map;		/* owned mapping when loaded from a path */
	size_t map_len;
};

static int image_open(struct vm *vm, const char *what, const char *path, const void *data,
		      size_t len, struct image *img)
{
	struct stat st;
	int fd, err = 0;

	memset(img, 0, sizeof(*img));
	if (!path) {
		img->data = data;
		img->len = len;
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err(&vm->log, "boot", "cannot open %s %s: %s", what, path, mvmm_strerror(err));
		return err;
	}
	if (fstat(fd, &st) < 0) {
		err = -errno;
	} else if (!S_ISREG(st.st_mode) || st.st_size == 0 || (uint64_t)st.st_size > IMAGE_MAX_SIZE) {
		err = -EINVAL;
		pr_err(&vm->log, "boot", "%s %s: not a regular file of 1 B..4 GiB", what, path);
	} else {
		img->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (img->map == MAP_FAILED) {
			err = -errno;
			img->map = NULL;
		} else {
			img->map_len = (size_t)st.st_size;
			img->data = img->map;
			img->len = img->map_len;
		}
	}
	close(fd);
	return err;
}

static void image_close(struct image *img)
{
	if (img->map)
		munmap(img->map, img->map_len);
	memset(img, 0, sizeof(*img));
}

static int vm_load_boot_args(struct vm *vm, const struct mvmm_config *cfg,
			     struct x86_boot_args *argsp);

static int vm_load_boot(struct vm *vm, const struct mvmm_config *cfg)
{
	struct x86_boot_args args = { .cmdline = cfg->cmdline };
	char *full = NULL;
	int err;

	/* The user's command line, then what the devices announced (virtio_mmio.device=...). */
	if (vm->cmdline_extra) {
		if (asprintf(&full, "%s%s", cfg->cmdline ? cfg->cmdline : "",
			     vm->cmdline_extra) < 0)
			return -ENOMEM;
		args.cmdline = full;
	}
	err = vm_load_boot_args(vm, cfg, &args);
	free(full);
	return err;
}

static int vm_load_boot_args(struct vm *vm, const struct mvmm_config *cfg,
			     struct x86_boot_args *argsp)
{
	struct x86_boot_args args = *argsp;
	struct x86_kernel k;
	struct image kimg, iimg;
	int err;

	if (!cfg->kernel_path && (!cfg->kernel_data || !cfg->kernel_size)) {
		pr_err(&vm->log, "boot", "no kernel given");
		return -MVMM_ECONFIG;
	}
	err = image_open(vm, "kernel", cfg->kernel_path, cfg->kernel_data, cfg->kernel_size, &kimg);
	if (err)
		return err;
	err = x86_load_kernel(&vm->mem, kimg.data, kimg.len, &k);
	image_close(&kimg);
	if (err) {
		pr_err(&vm->log, "boot", "kernel: %s (need an ELF64 x86-64 vmlinux or a bzImage "
		       "with the 64-bit entry, fitting in guest RAM)", mvmm_strerror(err));
		return err;
	}
	pr_debug(&vm->log, "boot", "kernel %s entry 0x%llx at 0x%llx-0x%llx",
		 k.is_bzimage ? "bzImage" : "ELF", (unsigned long long)k.entry,
		 (unsigned long long)k.load_start, (unsigned long long)k.load_end);

	if (cfg->initrd_path || (cfg->initrd_data && cfg->initrd_size)) {
		err = image_open(vm, "initrd", cfg->initrd_path, cfg->initrd_data, cfg->initrd_size,
				 &iimg);
		if (err)
			return err;
		err = x86_load_initrd(&vm->mem, &k, iimg.data, iimg.len, &args.initrd_gpa);
		args.initrd_size = iimg.len;
		image_close(&iimg);
		if (err) {
			pr_err(&vm->log, "boot", "initrd: %s", mvmm_strerror(err));
			return err;
		}
	}
	err = x86_setup_page_tables(&vm->mem);
	if (!err)
		err = x86_setup_boot_params(&vm->mem, &k, &args);
	if (!err)
		err = x86_setup_mptable(&vm->mem, vm->nr_vcpus);
	if (err) {
		pr_err(&vm->log, "boot", "boot structures: %s", mvmm_strerror(err));
		return err;
	}
	if (vm->log.level >= MVMM_LOG_DEBUG) {
		struct boot_e820_entry e820[8];
		int n = x86_build_e820(&vm->mem, e820, ARRAY_SIZE(e820));

		for (int i = 0; i < n; i++)
			log_msg(&vm->log, MVMM_LOG_DEBUG, "boot", "e820: %d 0x%016llx 0x%016llx %u",
				i, (unsigned long long)e820[i].addr,
				(unsigned long long)e820[i].size, e820[i].type);
	}
	return x86_vcpu_setup_boot(vm->vcpus[0], k.entry, X86_ZERO_PAGE_ADDR);
}

static int vm_open_kvm(struct vm *vm)
{
	int err;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		err = -errno;
		pr_err(&vm->log, "kvm", "cannot open /dev/kvm: %s", mvmm_strerror(err));
		return -MVMM_EKVM;
	}
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_EXPECTED) {
		pr_err(&vm->log, "kvm", "unexpected KVM API version");
		return -MVMM_EKVM;
	}
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0 ||
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) <= 0 ||
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0) {
		pr_err(&vm->log, "kvm", "KVM lacks immediate_exit, irqchip or user memory");
		return -MVMM_EKVM;
	}
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < (int)sizeof(struct kvm_run))
		return -MVMM_EKVM;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		err = -errno;
		pr_err(&vm->log, "kvm", "KVM_CREATE_VM: %s", mvmm_strerror(err));
		return err;
	}
	return 0;
}

static int vm_check_config(struct vm *vm, const struct mvmm_config *cfg)
{
	if (cfg->mem_bytes < VM_MIN_MEM || cfg->mem_bytes > VM_MAX_MEM ||
	    !IS_ALIGNED(cfg->mem_bytes, 2 * MiB)) {
		pr_err(&vm->log, "vm", "memory size must be a multiple of 2 MiB in 16 MiB..1 TiB");
		return -MVMM_ECONFIG;
	}
	if (cfg->cpus < 1 || cfg->cpus > MVMM_MAX_CPUS) {
		pr_err(&vm->log, "vm", "vCPU count must be 1..%d", MVMM_MAX_CPUS);
		return -MVMM_ECONFIG;
	}
	return 0;
}

/* Remember the devices so clones (fork, restore) can be given the same ones. */
static int vm_copy_disks(struct vm *vm, const struct mvmm_config *cfg)
{
	vm->config.rng = cfg->rng != 0;
	if (!cfg->nr_disks || !cfg->disks || cfg->nr_disks > MVMM_MAX_DISKS)
		return 0;	/* bad counts are refused by virtio_devices_create() */
	vm->config.disks = calloc(cfg->nr_disks, sizeof(*vm->config.disks));
	if (!vm->config.disks)
		return -ENOMEM;
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		const struct mvmm_disk_config *d = (const void *)((const char *)cfg->disks +
								  i * cfg->disks[0].size);
		struct vm_disk *c = &vm->config.disks[i];

		vm->config.nr_disks = i + 1;
		c->ro = d->read_only;
		if (!d->path || !(c->path = strdup(d->path)) || (d->id && !(c->id = strdup(d->id))))
			return d->path ? -ENOMEM : -MVMM_ECONFIG;
	}
	return 0;
}

/* Construction order matters: KVM wants the irqchip before vCPUs, memory before the loader. */
int vm_create(struct vm **out, const struct mvmm_config *cfg)
{
	return vm_create_restored(out, cfg, NULL);
}

int vm_create_restored(struct vm **out, const struct mvmm_config *cfg,
		       const struct vm_restore *restore)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	bool fd_taken = false;
	int err;

	if (!vm) {
		if (restore)
			close(restore->mem_fd);
		return -ENOMEM;
	}
	vm->kvm_fd = vm->vm_fd = -1;
	vm->owned_console_fd = -1;
	vm->mem.memfd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_mutex_init(&vm->fork_pool_lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	log_init(&vm->log, cfg->log_fn, cfg->log_opaque, cfg->log_level);
	bus_init(&vm->pio);
	bus_init(&vm->mmio);
	vm->state = MVMM_VM_CREATED;
	err = loop_init(&vm->loop, vm_on_wake, vm);
	vm->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!err && vm->event_fd < 0)
		err = -errno;
	if (err)
		goto err;
	err = vm_check_config(vm, cfg);
	if (err)
		goto err;
	err = vcpu_signal_setup();
	if (err)
		goto err;
	err = vm_open_kvm(vm);
	if (err)
		goto err;
	if (restore && restore->nr_layers > 1) {
		int fds[GUEST_MEM_MAX_LAYERS];

		fds[0] = restore->mem_fd;
		memcpy(fds + 1, restore->layers + 1, (restore->nr_layers - 1) * sizeof(int));
		err = layers_map(&vm->mem, cfg->mem_bytes, fds, restore->nr_layers, restore->runs,
				 restore->nr_runs);
		fd_taken = true;
	} else if (restore) {
		/* From here on vm->mem owns the fd (closed by guest_mem_destroy()). */
		err = guest_mem_create_private(&vm->mem, restore->mem_fd, cfg->mem_bytes);
		if (restore->nr_layers == 1) {
			vm->mem.layer_fds[0] = restore->mem_fd;
			vm->mem.nr_layers = 1;
		}
		fd_taken = true;
	} else {
		err = guest_mem_create(&vm->mem, cfg->mem_bytes);
	}
	if (!err)
		err = guest_mem_register(&vm->mem, vm->vm_fd);
	if (err) {
		pr_err(&vm->log, "vm", "guest memory: %s", mvmm_strerror(err));
		goto err;
	}
	vm->nr_vcpus = cfg->cpus;
	vm->config.mem_bytes = cfg->mem_bytes;
	vm->config.cpus = cfg->cpus;
	if ((cfg->kernel_path && !(vm->config.kernel_path = strdup(cfg->kernel_path))) ||
	    (cfg->initrd_path && !(vm->config.initrd_path = strdup(cfg->initrd_path))) ||
	    (cfg->cmdline && !(vm->config.cmdline = strdup(cfg->cmdline)))) {
		err = -ENOMEM;
		goto err;
	}
	err = vm_copy_disks(vm, cfg);
	if (err)
		goto err;
	err = x86_vm_init(vm);
	if (err) {
		pr_err(&vm->log, "vm", "irqchip/cpuid setup: %s", mvmm_strerror(err));
		goto err;
	}
	err = serial_create(vm, cfg->serial_out_fd, cfg->serial_in_fd, &vm->serial);
	if (!err)
		err = i8042_create(vm, &vm->i8042);
	if (!err)
		err = vmgenid_create(vm, &vm->vmgenid);
	if (err)
		goto err;
	/* virtio devices announce themselves on the command line, so before the kernel loads. */
	err = virtio_devices_create(vm, cfg);
	if (err)
		goto err;
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		err = -ENOMEM;
		goto err;
	}
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		err = vcpu_create(vm, i, &vm->vcpus[i]);
		if (err) {
			pr_err(&vm->log, "vm", "vcpu%u: %s", i, mvmm_strerror(err));
			goto err;
		}
	}
	err = x86_msr_list_init(vm);
	if (err) {
		pr_err(&vm->log, "vm", "MSR list: %s", mvmm_strerror(err));
		goto err;
	}
	/* A restored VM's RAM already holds the kernel; its registers come from the blob. */
	err = restore ? vm_load_state(vm, restore->blob, restore->blob_len) : vm_load_boot(vm, cfg);
	/* A restored or forked VM is a new instance: it gets a new generation id at once. */
	if (!err && restore)
		err = vmgenid_bump(vm->vmgenid);
	if (err)
		goto err;
	err = serial_attach_input(vm->serial);
	if (err)
		goto err;
	*out = vm;
	return 0;

err:
	if (restore && !fd_taken) {
		close(restore->mem_fd);
		for (unsigned int i = 1; i < restore->nr_layers; i++)
			close(restore->layers[i]);
	}
	vm_destroy(vm);
	return err;
}

int vm_start(struct vm *vm)
{
	int err;

	pthread_mutex_lock(&vm->lock);
	if (vm->state != MVMM_VM_CREATED || vm->threads_started) {
		pthread_mutex_unlock(&vm->lock);
		return -MVMM_ESTATE;
	}
	err = loop_start(&vm->loop);
	if (err)
		goto out;
	vm->threads_started = true;
	vm->start_ns = mono_ns();
	vm_set_state(vm, MVMM_VM_RUNNING);
	/*
	 * Children for the first fork get ready in the background; a fork child waits for its
	 * own first fork (most are never forked, and a fan-out would double the processes).
	 */
	if (vm->fork_pool_target && !vm->fork_pool_lazy) {
		__atomic_store_n(&vm->fork_pool_refill, true, __ATOMIC_RELEASE);
		loop_wake(&vm->loop);
	}
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		err = vcpu_start(vm->vcpus[i]);
		if (err) {
			/* Threads already running are reaped through the normal stop path. */
			vm->nr_exited += vm->nr_vcpus - i;
			pthread_mutex_unlock(&vm->lock);
			vm_request_stop(vm, MVMM_STOP_ERROR, 0, err);
			return err;
		}
	}
out:
	pthread_mutex_unlock(&vm->lock);
	return err;
}

int vm_pause(struct vm *vm)
{
	int err = 0;

	pthread_mutex_lock(&vm->lock);
	if (vm->state == MVMM_VM_PAUSED)
		goto out;
	if (vm->state != MVMM_VM_RUNNING || vm->stop_req) {
		err = -MVMM_ESTATE;
		goto out;
	}
	__atomic_store_n(&vm->pause_req, true, __ATOMIC_RELEASE);
	vm_kick_all(vm);
	/* Every vCPU either parks or (when the VM stops meanwhile) exits. */
	while (vm->nr_parked + vm->nr_exited < vm->nr_vcpus && !vm->stop_req)
		pthread_cond_wait(&vm->cond, &vm->lock);
	if (vm->stop_req) {
		err = -MVMM_ESTATE;
		goto out;
	}
	err = vm_set_state(vm, MVMM_VM_PAUSED);
out:
	pthread_mutex_unlock(&vm->lock);
	return err;
}

int vm_resume(struct vm *vm)
{
	int err = 0;

	pthread_mutex_lock(&vm->lock);
	if (vm->state == MVMM_VM_RUNNING && !vm->pause_req)
		goto out;
	if (vm->state != MVMM_VM_PAUSED || vm->stop_req) {
		err = -MVMM_ESTATE;
		goto out;
	}
	__atomic_store_n(&vm->pause_req, false, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&vm->cond);
	err = vm_set_state(vm, MVMM_VM_RUNNING);
out:
	pthread_mutex_unlock(&vm->lock);
	return err;
}

int vm_wait(struct vm *vm, struct mvmm_exit_info *info)
{
	bool join;

	pthread_mutex_lock(&vm->lock);
	if (vm->state == MVMM_VM_CREATED && !vm->stop_req) {
		pthread_mutex_unlock(&vm->lock);
		return -MVMM_ESTATE;
	}
	while (vm->state != MVMM_VM_STOPPED)
		pthread_cond_wait(&vm->cond, &vm->lock);
	join = !vm->loop_joined;
	vm->loop_joined = true;
	if (info)
		*info = vm->exit;
	pthread_mutex_unlock(&vm->lock);
	if (join)
		loop_join(&vm->loop);
	return 0;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	/* The API goes first: no request may reach a VM being torn down. */
	control_destroy(vm->control);
	vm->control = NULL;
	if (vm->threads_started) {
		vm_request_stop(vm, MVMM_STOP_REQUESTED, 0, 0);
		vm_wait(vm, NULL);
	}
	fork_pool_destroy(vm);
	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_destroy(vm->vcpus[i]);
	free(vm->vcpus);
	virtio_devices_destroy(vm);
	i8042_destroy(vm->i8042);
	vmgenid_destroy(vm->vmgenid);
	serial_destroy(vm->serial);
	loop_fini(&vm->loop);
	x86_vm_fini(vm);
	guest_mem_destroy(&vm->mem);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->event_fd >= 0)
		close(vm->event_fd);
	if (vm->owned_console_fd >= 0)
		close(vm->owned_console_fd);
	bus_fini(&vm->pio);
	bus_fini(&vm->mmio);
	free(vm->config.kernel_path);
	free(vm->config.initrd_path);
	free(vm->config.cmdline);
	for (unsigned int i = 0; i < vm->config.nr_disks; i++) {
		free(vm->config.disks[i].path);
		free(vm->config.disks[i].id);
	}
	free(vm->config.disks);
	free(vm->cmdline_extra);
	free(vm->msr_list);
	free(vm->fork_vmm_path);
	free(vm->fork_runtime_dir);
	log_fini(&vm->log);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->fork_pool_lock);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

int vm_hold(struct vm *vm, bool *was_running)
{
	int err;

	pthread_mutex_lock(&vm->lock);
	*was_running = vm->state == MVMM_VM_RUNNING;
	pthread_mutex_unlock(&vm->lock);
	err = vm_pause(vm);
	if (err)
		return err;
	err = virtio_devices_quiesce(vm);
	if (err && *was_running)
		vm_resume(vm);
	return err;
}

void vm_release(struct vm *vm, bool was_running)
{
	virtio_devices_unquiesce(vm);
	if (was_running)
		vm_resume(vm);
}

int vm_run_on_vcpus(struct vm *vm, int (*fn)(struct vcpu *, void *), void *arg)
{
	uint64_t seq;
	int err = 0;

	pthread_mutex_lock(&vm->lock);
	if (vm->state != MVMM_VM_PAUSED || vm->stop_req || vm->nr_exited) {
		pthread_mutex_unlock(&vm->lock);
		return -MVMM_ESTATE;
	}
	vm->vcpu_work_fn = fn;
	vm->vcpu_work_arg = arg;
	seq = ++vm->vcpu_work_seq;
	pthread_cond_broadcast(&vm->cond);
	for (;;) {
		unsigned int done = 0;

		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			done += vm->vcpus[i]->work_seq == seq;
		if (done == vm->nr_vcpus || vm->stop_req)
			break;
		pthread_cond_wait(&vm->cond, &vm->lock);
	}
	for (unsigned int i = 0; i < vm->nr_vcpus && !err; i++)
		err = vm->vcpus[i]->work_seq == seq ? vm->vcpus[i]->work_err : -MVMM_ESTATE;
	pthread_mutex_unlock(&vm->lock);
	return err;
}

#define VM_STATE_VERSION 1

struct vcpu_blobs {
	uint8_t **buf;		/* one finished blob per vCPU */
	size_t *len;
};

static int save_one_vcpu(struct vcpu *vcpu, void *arg)
{
	struct vcpu_blobs *b = arg;
	struct state_writer w;
	int err;

	state_writer_init(&w);
	err = x86_vcpu_save(vcpu, &w);
	if (err) {
		state_writer_free(&w);
		return err;
	}
	return state_writer_finish(&w, &b->buf[vcpu->id], &b->len[vcpu->id]);
}

/*
 * Capture order (DESIGN.md §5): the vCPUs are parked (each completed its pending I/O with one
 * more KVM_RUN), so each saves its own registers on its own thread; then the VM-wide irqchip,
 * PIT and clock, which only change while vCPUs run; then the devices.
 */
int vm_save_state(struct vm *vm, uint8_t **blob, size_t *len)
{
	struct vcpu_blobs b = { calloc(vm->nr_vcpus, sizeof(uint8_t *)),
				calloc(vm->nr_vcpus, sizeof(size_t)) };
	struct state_writer w;
	char vendor[12];
	uint32_t sig;
	int err;

	state_writer_init(&w);
	if (!b.buf || !b.len) {
		err = -ENOMEM;
		goto out;
	}
	x86_cpu_signature(vm, vendor, &sig);
	state_begin_section(&w, "vm", VM_STATE_VERSION, STATE_SEC_REQUIRED);
	state_put_u64(&w, vm->mem.size);
	state_put_u32(&w, vm->nr_vcpus);
	state_put_bytes(&w, vendor, sizeof(vendor));
	state_put_u32(&w, sig);
	state_end_section(&w);
	err = vm_run_on_vcpus(vm, save_one_vcpu, &b);
	for (unsigned int i = 0; i < vm->nr_vcpus && !err; i++)
		err = state_append_blob(&w, b.buf[i], b.len[i]);
	if (!err)
		err = x86_vm_save(vm, &w);
	if (!err)
		err = serial_save(vm->serial, &w);
	if (!err)
		err = vmgenid_save(vm->vmgenid, &w);
	if (!err)
		err = virtio_devices_save(vm, &w);
out:
	for (unsigned int i = 0; b.buf && i < vm->nr_vcpus; i++)
		free(b.buf[i]);
	free(b.buf);
	free(b.len);
	if (err) {
		state_writer_free(&w);
		return err;
	}
	return state_writer_finish(&w, blob, len);
}

static const char *const vm_fixed_sections[] = {
	"vm", "vcpu/", "irqchip", "pit", "clock", "dev/serial0", "dev/vmgenid",
};

/* Sections this VM can load: the fixed ones and one per virtio device it has. */
static int check_sections(struct vm *vm, const struct state_reader *r, char *unknown,
			  size_t len)
{
	size_t nfix = ARRAY_SIZE(vm_fixed_sections);
	const char **known = calloc(nfix + vm->nr_vdevs + 1, sizeof(*known));
	char (*names)[STATE_NAME_MAX + 1] = calloc(vm->nr_vdevs + 1, sizeof(*names));
	int err = -ENOMEM;

	if (known && names) {
		memcpy(known, vm_fixed_sections, sizeof(vm_fixed_sections));
		for (unsigned int i = 0; i < vm->nr_vdevs; i++) {
			snprintf(names[i], sizeof(names[i]), "dev/%s", vm->vdevs[i]->id);
			known[nfix + i] = names[i];
		}
		err = state_check_required(r, known, unknown, len);
	}
	free(known);
	free(names);
	return err;
}

int vm_load_state(struct vm *vm, const uint8_t *blob, size_t len)
{
	struct state_reader r;
	struct state_section s;
	char vendor[12], want_vendor[12], unknown[STATE_NAME_MAX + 1];
	uint32_t sig, want_sig, nr;
	uint64_t mem;
	int err;

	if (vm->state != MVMM_VM_CREATED || vm->threads_started)
		return -MVMM_ESTATE;
	err = state_reader_open(&r, blob, len);
	if (err) {
		pr_err(&vm->log, "state", "state blob rejected: %s", err == -EPROTO ?
		       "unknown major version" : "truncated or corrupt");
		return err;
	}
	err = check_sections(vm, &r, unknown, sizeof(unknown));
	if (err) {
		pr_err(&vm->log, "state", "state blob needs section '%s' this mvmm does not know",
		       unknown);
		return err;
	}
	if (state_find(&r, "vm", &s) || s.version != VM_STATE_VERSION)
		return -EBADMSG;
	mem = state_get_u64(&s);
	nr = state_get_u32(&s);
	state_get_bytes(&s, vendor, sizeof(vendor));
	sig = state_get_u32(&s);
	if ((err = state_section_done(&s)))
		return err;
	x86_cpu_signature(vm, want_vendor, &want_sig);
	if (memcmp(vendor, want_vendor, sizeof(vendor)) || sig != want_sig) {
		pr_err(&vm->log, "state", "state was saved on a different CPU (%.12s 0x%x, this is "
		       "%.12s 0x%x)", vendor, sig, want_vendor, want_sig);
		return -MVMM_ECONFIG;
	}
	if (mem != vm->mem.size || nr != vm->nr_vcpus) {
		pr_err(&vm->log, "state", "state is for %llu MiB and %u vCPUs, this VM has %llu MiB "
		       "and %u", (unsigned long long)(mem >> 20), nr,
		       (unsigned long long)(vm->mem.size >> 20), vm->nr_vcpus);
		return -MVMM_ECONFIG;
	}
	/* Load order (KVM API): VM-wide chips and clock first, then each vCPU, then devices. */
	err = x86_vm_load(vm, &r);
	for (unsigned int i = 0; i < vm->nr_vcpus && !err; i++)
		err = x86_vcpu_load(vm->vcpus[i], &r);
	if (!err)
		err = serial_load(vm->serial, &r);
	if (!err)
		err = vmgenid_load(vm->vmgenid, &r);
	if (!err)
		err = virtio_devices_load(vm, &r);
	/* Loaded devices sleep until the VM runs: wake them now, before any vCPU exists. */
	if (!err)
		virtio_devices_unquiesce(vm);
	if (err)
		pr_err(&vm->log, "state", "loading state: %s", mvmm_strerror(err));
	return err;
}
