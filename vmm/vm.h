/* SPDX-License-Identifier: MIT */
/*
 * struct vm: everything one virtual machine owns.  There are no globals: several VMs can live
 * in one process, and each forked child builds its own.
 *
 * Lifecycle (one table, vm_state_transition_ok() in vm.c):
 *
 *   CREATED --start--> RUNNING --pause--> PAUSED
 *      |                  ^  |              |
 *      |                  +--|---resume-----+
 *      |                     |              |
 *      +----stop----> STOPPED <--stop/reset/crash (from RUNNING or PAUSED)
 *
 * Threads: one per vCPU (vcpu.c), one event loop (loop.c).  The loop thread also reaps the
 * vCPU threads when the VM stops, so STOPPED means "no vCPU thread left".
 */
#ifndef MVMM_VMM_VM_H
#define MVMM_VMM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mvmm/mvmm.h"
#include "bus.h"
#include "log.h"
#include "loop.h"
#include "memory.h"

struct vcpu;
struct serial;
struct i8042;
struct vmgenid;
struct control;
struct vdev;
struct reaper;

struct vm {
	int kvm_fd;			/* owned: /dev/kvm */
	int vm_fd;			/* owned */
	int run_size;			/* KVM_GET_VCPU_MMAP_SIZE */
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct mvmm_log log;
	struct loop loop;
	struct vcpu **vcpus;		/* owned array of nr_vcpus */
	unsigned int nr_vcpus;
	struct serial *serial;		/* owned */
	struct i8042 *i8042;		/* owned: reset line */
	struct vmgenid *vmgenid;	/* owned: generation id device */
	uint32_t guest_code;		/* last value the guest wrote to the test-exit port */
	void *cpuid;			/* owned struct kvm_cpuid2 (arch) */

	pthread_mutex_t lock;		/* protects everything below */
	pthread_cond_t cond;		/* parked/state changes */
	enum mvmm_vm_state state;
	bool pause_req;			/* vCPUs must park */
	bool stop_req;			/* vCPUs must exit */
	unsigned int nr_parked;		/* vCPU threads waiting in vcpu_park() */
	unsigned int nr_exited;		/* vCPU threads that left their loop */
	bool threads_started;
	bool loop_joined;
	struct mvmm_exit_info exit;	/* why it stopped (first reason wins) */
	int event_fd;			/* owned eventfd: readable on each state change */
	uint64_t start_ns;		/* CLOCK_MONOTONIC at start */
	struct vm_config_copy {		/* what the VM was created with, for GET /vm */
		uint64_t mem_bytes;
		uint32_t cpus;
		char *kernel_path;	/* owned; NULL: in-memory image (the test guest) */
		char *initrd_path;	/* owned or NULL */
		char *cmdline;		/* owned or NULL */
		struct vm_disk {
			char *path;	/* owned */
			char *id;	/* owned or NULL */
			int ro;
		} *disks;		/* owned array: clones get the same disks */
		unsigned int nr_disks;
		bool rng;
	} config;
	struct control *control;	/* owned: API server, NULL when none */
	uint32_t *msr_list;		/* owned: MSRs saved with each vCPU (arch/x86/vcpu_state.c) */
	uint32_t nr_msrs;
	bool has_xcrs;			/* KVM_CAP_XCRS */
	int (*vcpu_work_fn)(struct vcpu *, void *);	/* vm_run_on_vcpus() (vm->lock) */
	void *vcpu_work_arg;
	uint64_t vcpu_work_seq;
	char *fork_vmm_path;		/* owned: binary for fork children (mvmm_vm_enable_fork) */
	char *fork_runtime_dir;		/* owned: where children's sockets and logs go */
	pthread_mutex_t fork_pool_lock;	/* protects the pool below */
	struct fork_pooled {
		int pid;		/* a spawned `mvmm __fork-child`, waiting for its VM */
		int sock;		/* owned: our end of its hand-off socket */
	} fork_pool[16];
	unsigned int fork_pool_n;
	unsigned int fork_pool_target;	/* how many to keep ready (mvmm_vm_enable_fork) */
	bool fork_pool_lazy;		/* fill only after the first fork (fork children) */
	bool fork_pool_refill;		/* the loop thread should top the pool up */
	struct reaper *reapers;		/* owned list of child watches (fork/fork.c) */
	uint64_t last_fork_pause_ns;	/* the last fork's parent pause (metrics, benchmarks) */
	uint64_t last_fork_total_ns;	/* ... and until every child ran */
	int owned_console_fd;		/* owned console fd (fork child's log file), or -1 */
	char *cmdline_extra;		/* owned: device announcements appended to the cmdline */
	struct vdev **vdevs;		/* owned array of virtio devices (devices/virtio/) */
	unsigned int nr_vdevs;
};

/* Ask every vCPU to stop with `reason` (first caller's reason is kept).  Any thread. */
void vm_request_stop(struct vm *vm, enum mvmm_stop_reason reason, uint32_t code, int error);
/* Signal a state change on the event fd. */
void vm_notify(struct vm *vm);

/* Append " <text>" to the kernel command line (devices announce themselves); before boot. */
int vm_cmdline_append(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Run fn on every vCPU's own thread while the VM is PAUSED (all vCPUs parked); returns the
 * first error.  KVM wants vCPU state read on the vCPU's thread (FORK.md).
 */
int vm_run_on_vcpus(struct vm *vm, int (*fn)(struct vcpu *, void *), void *arg);
/*
 * Hold the VM still for a capture: pause it (if it runs) and quiesce its devices, so neither
 * vCPUs nor devices touch RAM.  *was_running is for vm_release(), which undoes both.
 */
int vm_hold(struct vm *vm, bool *was_running);
void vm_release(struct vm *vm, bool was_running);
/* Capture the whole VM state (not RAM) into a new blob; PAUSED only. */
int vm_save_state(struct vm *vm, uint8_t **blob, size_t *len);
/* Load a blob into a VM that is CREATED and not started; validates before touching anything. */
int vm_load_state(struct vm *vm, const uint8_t *blob, size_t len);

int vm_create(struct vm **out, const struct mvmm_config *cfg);

/* What a restore brings instead of a kernel: RAM image and state blob. */
struct mem_run;
struct vm_restore {
	int mem_fd;			/* RAM image, mapped MAP_PRIVATE; ownership passes to the VM */
	const uint8_t *blob;		/* state blob (borrowed) */
	size_t blob_len;
	/* A fork child: layers 1.. (ownership passes) mapped over mem_fd (layer 0) by runs. */
	const int *layers;
	unsigned int nr_layers;		/* including layer 0; 0: mem_fd alone */
	const struct mem_run *runs;
	size_t nr_runs;
};

/* vm_create, but RAM and CPU state come from `restore` instead of a kernel. */
int vm_create_restored(struct vm **out, const struct mvmm_config *cfg,
		       const struct vm_restore *restore);
/* Write a snapshot directory (state, sparse RAM image, manifest) atomically; pauses meanwhile. */
int vm_snapshot(struct vm *vm, const char *dir, bool live);
int vm_start(struct vm *vm);
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);
int vm_wait(struct vm *vm, struct mvmm_exit_info *info);
void vm_destroy(struct vm *vm);

#endif /* MVMM_VMM_VM_H */
