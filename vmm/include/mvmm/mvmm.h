/* SPDX-License-Identifier: MIT */
/*
 * libmvmm: the public interface of the mvmm micro-VMM.
 *
 * Conventions
 *  - Every function that can fail returns 0 (or a non-negative value) on success and a negative
 *    error code on failure: either -errno (e.g. -ENOENT) or one of the -MVMM_E* codes below.
 *    mvmm_strerror() turns either kind into a message.
 *  - The library never exits the process and never prints; diagnostics go to the log sink set in
 *    struct mvmm_config (none: silent).
 *  - Option structs start with `size_t size`, which the caller sets to sizeof(the struct it was
 *    compiled against).  Fields are only ever appended; the library reads the fields that fit in
 *    `size` and treats the rest as zero, so old callers keep working (MVMM_API_VERSION tells what
 *    the header offers).
 *  - Handles are opaque.  Several VMs may live in one process.
 *
 * Thread safety
 *  - mvmm_vm_pause/resume/stop/state/event_fd/exit_code may be called from any thread, concurrently.
 *  - mvmm_vm_start and mvmm_vm_wait may be called from any thread but not concurrently with
 *    mvmm_vm_destroy on the same handle.  mvmm_vm_destroy must be the last call on a handle.
 *  - The log sink may be called from any of the VM's threads, concurrently; it must not call back
 *    into the library for the same VM.
 *
 * VM lifecycle (enforced by one transition table in vmm/vm.c):
 *
 *      create --> CREATED --start--> RUNNING <--pause/resume--> PAUSED
 *                    |                  |                          |
 *                    |             guest reset/poweroff, crash, stop                |
 *                    +---stop-----------+-------------+------------+
 *                                       v
 *                                    STOPPED --destroy--> (handle freed)
 */
#ifndef MVMM_MVMM_H
#define MVMM_MVMM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MVMM_API_VERSION 1

#if defined(__GNUC__)
#define MVMM_PUBLIC __attribute__((visibility("default")))
#else
#define MVMM_PUBLIC
#endif

/* mvmm-specific error codes, returned negated; they do not collide with errno values. */
#define MVMM_ERRORS(X)                                                                             \
	X(MVMM_EKVM, 1000, "KVM is not usable (no /dev/kvm, no permission, or missing feature)")  \
	X(MVMM_EKERNEL, 1001, "unsupported or malformed kernel image")                             \
	X(MVMM_EINITRD, 1002, "initrd does not fit in guest memory")                              \
	X(MVMM_ECONFIG, 1003, "invalid VM configuration")                                         \
	X(MVMM_ESTATE, 1004, "operation not allowed in the VM's current state")                   \
	X(MVMM_EGUEST, 1005, "the guest violated the device or boot protocol")                    \
	X(MVMM_ECMDLINE, 1006, "kernel command line too long")

enum mvmm_error {
#define MVMM_ERR_ENUM_(name, value, text) name = value,
	MVMM_ERRORS(MVMM_ERR_ENUM_)
#undef MVMM_ERR_ENUM_
};

/* Message for a negative return code (or a positive errno); never NULL, never freed. */
MVMM_PUBLIC const char *mvmm_strerror(int err);

enum mvmm_log_level {
	MVMM_LOG_ERROR = 0,
	MVMM_LOG_WARN = 1,
	MVMM_LOG_INFO = 2,
	MVMM_LOG_DEBUG = 3,
};

/*
 * Log sink: `subsys` names the module ("vcpu", "boot", ...); `msg` is one line without a
 * trailing newline.  Called only for levels <= the configured level.
 */
typedef void (*mvmm_log_fn)(void *opaque, enum mvmm_log_level level, const char *subsys,
			    const char *msg);

/* A virtio-blk disk backed by a raw image file. */
struct mvmm_disk_config {
	size_t size;			/* sizeof(struct mvmm_disk_config) */
	const char *path;		/* raw image; its size is the capacity (multiple of 512) */
	int read_only;			/* non-zero: writes fail with VIRTIO_BLK_S_IOERR */
	const char *id;			/* serial / device id (<= 20 bytes); NULL: "blk<N>" */
};

#define MVMM_MAX_DISKS 8

struct mvmm_config {
	size_t size;			/* sizeof(struct mvmm_config) */
	uint64_t mem_bytes;		/* guest RAM; multiple of 2 MiB, >= 16 MiB; 0: 256 MiB */
	uint32_t cpus;			/* vCPUs, 1..MVMM_MAX_CPUS; 0: 1 */
	const char *kernel_path;	/* ELF vmlinux or bzImage; or ... */
	const void *kernel_data;	/* ... the image in memory (used when kernel_path is NULL) */
	size_t kernel_size;
	const char *initrd_path;	/* optional; or ... */
	const void *initrd_data;	/* ... in memory (used when initrd_path is NULL) */
	size_t initrd_size;
	const char *cmdline;		/* optional kernel command line */
	int serial_out_fd;		/* console output; -1: discarded.  Not closed by mvmm. */
	int serial_in_fd;		/* console input (e.g. 0 for stdin); -1: none.  Not closed. */
	mvmm_log_fn log_fn;		/* optional sink */
	void *log_opaque;
	enum mvmm_log_level log_level;	/* most verbose level passed to log_fn */
	const struct mvmm_disk_config *disks;	/* nr_disks entries (API 1) */
	uint32_t nr_disks;
	int rng;			/* non-zero: add a virtio-rng device */
};

#define MVMM_MAX_CPUS 64

typedef struct mvmm_vm mvmm_vm;

enum mvmm_vm_state {
	MVMM_VM_CREATED = 0,
	MVMM_VM_RUNNING = 1,
	MVMM_VM_PAUSED = 2,
	MVMM_VM_STOPPED = 3,
};

/* Why a VM stopped (valid in MVMM_VM_STOPPED). */
enum mvmm_stop_reason {
	MVMM_STOP_NONE = 0,		/* still running */
	MVMM_STOP_RESET = 1,		/* the guest reset or powered off (i8042, reboot) */
	MVMM_STOP_CRASH = 2,		/* triple fault, KVM internal error, failed emulation */
	MVMM_STOP_REQUESTED = 3,	/* mvmm_vm_stop() */
	MVMM_STOP_ERROR = 4,		/* a host-side error the VMM could not recover from */
};

struct mvmm_exit_info {
	size_t size;			/* sizeof(struct mvmm_exit_info) */
	enum mvmm_stop_reason reason;
	uint32_t guest_code;		/* code from the test-exit port (reason RESET), else 0 */
	int error;			/* negative error for MVMM_STOP_ERROR */
};

/* Create a VM (memory, vCPUs, devices, kernel loaded) in state CREATED. */
MVMM_PUBLIC int mvmm_vm_create(const struct mvmm_config *cfg, mvmm_vm **out);
/* Start the vCPU and event-loop threads. */
MVMM_PUBLIC int mvmm_vm_start(mvmm_vm *vm);
/* Stop every vCPU at an instruction boundary; returns once all are parked. */
MVMM_PUBLIC int mvmm_vm_pause(mvmm_vm *vm);
MVMM_PUBLIC int mvmm_vm_resume(mvmm_vm *vm);
/* Ask the VM to stop; returns at once (use mvmm_vm_wait to join). */
MVMM_PUBLIC int mvmm_vm_stop(mvmm_vm *vm);
/* Block until the VM is STOPPED, then fill *info (may be NULL). */
MVMM_PUBLIC int mvmm_vm_wait(mvmm_vm *vm, struct mvmm_exit_info *info);
MVMM_PUBLIC enum mvmm_vm_state mvmm_vm_get_state(mvmm_vm *vm);
/*
 * An fd that becomes readable (POLLIN) whenever the state changes; read 8 bytes to rearm.
 * Owned by the VM.
 */
MVMM_PUBLIC int mvmm_vm_event_fd(mvmm_vm *vm);
/* Stop if needed, join every thread and release everything.  NULL-safe. */
MVMM_PUBLIC void mvmm_vm_destroy(mvmm_vm *vm);

/*
 * Serve the control API (HTTP/1.1 + JSON, see docs/api.md) on a new unix socket at `path`
 * (mode 0600).  Fails with -EADDRINUSE when a live VM already serves there; a stale socket file
 * is replaced.  The socket is closed and unlinked by mvmm_vm_destroy().  Once per VM.
 */
MVMM_PUBLIC int mvmm_vm_api_listen(mvmm_vm *vm, const char *path);

/*
 * Write a snapshot of the VM into the new directory `dir` (must not exist): state blob, sparse
 * RAM image and manifest, published atomically.  A running VM is paused meanwhile and resumed.
 */
MVMM_PUBLIC int mvmm_vm_snapshot(mvmm_vm *vm, const char *dir);
/*
 * Create a VM (state CREATED; mvmm_vm_start runs it) from a snapshot directory.  RAM and vCPU
 * state come from the snapshot; from cfg only the console fds, log sink and level are used
 * (mem_bytes/cpus, when set, must match the snapshot).  Corrupt or foreign snapshots fail with
 * -EBADMSG, -EPROTO or -MVMM_ECONFIG and a logged reason.
 */
MVMM_PUBLIC int mvmm_vm_restore(const char *dir, const struct mvmm_config *cfg, mvmm_vm **out);

/* Live fork: clone a running VM into child VMM processes (FORK.md). */
struct mvmm_fork_opts {
	size_t size;			/* sizeof(struct mvmm_fork_opts) */
	uint32_t count;			/* children, 1..MVMM_MAX_FORK */
	const char *vmm_path;		/* the mvmm binary each child runs (`mvmm __fork-child`) */
	const char *runtime_dir;	/* children's API sockets and console logs go here */
	const char *name_prefix;	/* children are <prefix>-<pid>; NULL: "vm" */
};

struct mvmm_fork_child {
	int pid;			/* the child VMM process */
	char name[64];
	char api_sock[108];		/* its control socket (mvmm status/stop/fork work on it) */
	char console[256];		/* its console log file */
};

#define MVMM_MAX_FORK 256

/*
 * Let the control API's PUT /vm/fork spawn children running `vmm_path` into `runtime_dir`, and
 * keep `pool` (0..16) child processes spawned ahead of time so a fork does not wait for exec.
 * Call before mvmm_vm_start() or any time after.
 */
MVMM_PUBLIC int mvmm_vm_enable_fork(mvmm_vm *vm, const char *vmm_path, const char *runtime_dir,
				    unsigned int pool);

/*
 * Pause, capture, freeze RAM into sealed layers, hand state + layers to `count` new child VMM
 * processes, resume.  Each child runs on from the instruction the parent was paused at, with
 * RAM shared copy-on-write.  The parent keeps running.  On failure every child already made is
 * killed and the parent resumes.  children[] receives count entries.
 */
MVMM_PUBLIC int mvmm_vm_fork(mvmm_vm *vm, const struct mvmm_fork_opts *opts,
			     struct mvmm_fork_child *children);
/*
 * The child side: called by `mvmm __fork-child FD` with the socket the parent passed.  Builds
 * the VM (state CREATED), its console going to the log file the parent named, and returns the
 * API socket path it must serve (static storage of the handle).  Then start it, and call
 * mvmm_vm_fork_ack() to tell the parent it runs.
 */
MVMM_PUBLIC int mvmm_vm_fork_child(int fd, const struct mvmm_config *cfg, mvmm_vm **out,
				   const char **api_sock);
MVMM_PUBLIC int mvmm_vm_fork_ack(int fd, int err);

/* Parse "256M", "1G", "4096K", "1048576" (bytes) into *out; -EINVAL / -ERANGE. */
MVMM_PUBLIC int mvmm_parse_size(const char *s, uint64_t *out);

#ifdef __cplusplus
}
#endif

#endif /* MVMM_MVMM_H */
