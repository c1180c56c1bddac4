/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <json-c/json.h>

#include "fork.h"
#include "disks.h"
#include "layers.h"
#include "devices/vmgenid.h"
#include "vmm/state.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define FORK_META_VERSION 1
#define FORK_MSG_MAX 4096
#define FORK_ACK_TIMEOUT_MS 10000
#define HANDOFF_SEALS (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

extern char **environ;

/* The state blob plus the fork sections, in a sealed memfd every child maps read-only. */
static int make_handoff(struct vm *vm, const uint8_t *blob, size_t blen, int *out_fd)
{
	struct state_writer w;
	struct mem_run *runs;
	uint8_t *buf;
	size_t nr_runs, len;
	int fd, err;

	err = layers_runs(&vm->mem, &runs, &nr_runs);
	if (err)
		return err;
	state_writer_init(&w);
	state_append_blob(&w, blob, blen);
	state_begin_section(&w, "fork/meta", FORK_META_VERSION, 0);
	state_put_u64(&w, vm->mem.size);
	state_put_u32(&w, vm->nr_vcpus);
	state_put_u32(&w, vm->mem.nr_layers);
	state_end_section(&w);
	state_begin_section(&w, "fork/runs", FORK_META_VERSION, 0);
	state_put_u64(&w, nr_runs);
	for (size_t i = 0; i < nr_runs; i++) {
		state_put_u64(&w, runs[i].offset);
		state_put_u64(&w, runs[i].len);
		state_put_u32(&w, runs[i].layer);
	}
	state_end_section(&w);
	free(runs);
	err = state_writer_finish(&w, &buf, &len);
	if (err)
		return err;
	fd = memfd_create("mvmm-handoff", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || pwrite(fd, buf, len, 0) != (ssize_t)len ||
	    fcntl(fd, F_ADD_SEALS, HANDOFF_SEALS) < 0) {
		err = fd < 0 ? -errno : -EIO;
		if (fd >= 0)
			close(fd);
		free(buf);
		return err;
	}
	free(buf);
	*out_fd = fd;
	return 0;
}

/* Reap a child when it exits (pidfd readable), on the VM's loop thread: no zombies. */
struct reaper {
	struct vm *vm;
	int pidfd;
	pid_t pid;
	struct reaper *next;		/* vm->reapers, under fork_pool_lock */
};

static void reaper_unlink(struct reaper *r)
{
	struct vm *vm = r->vm;

	pthread_mutex_lock(&vm->fork_pool_lock);
	for (struct reaper **pp = &vm->reapers; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	pthread_mutex_unlock(&vm->fork_pool_lock);
}

static void reap_child(void *opaque, uint32_t events)
{
	struct reaper *r = opaque;

	(void)events;
	waitpid(r->pid, NULL, WNOHANG);
	loop_del(&r->vm->loop, r->pidfd);
	reaper_unlink(r);
	close(r->pidfd);
	free(r);
}

static void watch_child(struct vm *vm, pid_t pid)
{
	struct reaper *r = calloc(1, sizeof(*r));

	if (!r)
		return;
	r->vm = vm;
	r->pid = pid;
	r->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	pthread_mutex_lock(&vm->fork_pool_lock);
	r->next = vm->reapers;
	vm->reapers = r;
	pthread_mutex_unlock(&vm->fork_pool_lock);
	if (r->pidfd < 0 || loop_add(&vm->loop, r->pidfd, POLLIN, reap_child, r) < 0) {
		/* Not watched: dropped at destroy (the process lives on, reparented to init). */
		reaper_unlink(r);
		if (r->pidfd >= 0)
			close(r->pidfd);
		free(r);
	}
}

static int spawn_child(const char *vmm_path, int sock, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char fdarg[16];
	char *argv[] = { (char *)vmm_path, (char *)"__fork-child", fdarg, NULL };
	sigset_t none;
	int err;

	snprintf(fdarg, sizeof(fdarg), "%d", 3);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	/* The child gets its end of the socket as fd 3 and nothing else of ours (CLOEXEC). */
	posix_spawn_file_actions_adddup2(&fa, sock, 3);
	/* Its own session: a signal to our terminal's process group does not reach it. */
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
	err = posix_spawn(pid, vmm_path, &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return -err;
}

static int send_identity(int sock, const struct mvmm_fork_child *c, int handoff,
			 const struct vm *vm, json_object *disks)
{
	const struct guest_mem *mem = &vm->mem;
	json_object *o = json_object_new_object();
	int fds[GUEST_MEM_MAX_LAYERS + 1];
	char cbuf[CMSG_SPACE(sizeof(fds))];
	struct iovec iov;
	struct msghdr msg = { 0 };
	struct cmsghdr *cm;
	const char *text;
	unsigned int nfds = 1 + mem->nr_layers;
	ssize_t n;

	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "api_sock", json_object_new_string(c->api_sock));
	json_object_object_add(o, "console", json_object_new_string(c->console));
	json_object_object_add(o, "rng", json_object_new_boolean(vm->config.rng));
	json_object_object_add(o, "disks", json_object_get(disks));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	fds[0] = handoff;
	for (unsigned int i = 0; i < mem->nr_layers; i++)
		fds[1 + i] = mem->layer_fds[i];
	iov.iov_base = (void *)text;
	iov.iov_len = strlen(text);
	memset(cbuf, 0, sizeof(cbuf));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	json_object_put(o);
	return n < 0 ? -errno : 0;
}

/* The child's {"pid":N} (its VM runs) or {"error":N}. */
static int wait_ack(int sock, pid_t pid)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	char buf[256];
	json_object *o, *v;
	ssize_t n;
	int err = -EPROTO;

	if (poll(&p, 1, FORK_ACK_TIMEOUT_MS) <= 0)
		return -ETIMEDOUT;
	n = recv(sock, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -ECHILD;		/* it died before answering */
	buf[n] = 0;
	o = json_tokener_parse(buf);
	if (o && json_object_object_get_ex(o, "error", &v))
		err = (int)json_object_get_int(v);
	else if (o && json_object_object_get_ex(o, "pid", &v) && json_object_get_int(v) == pid)
		err = 0;
	json_object_put(o);
	return err;
}

/* A child process and our end of its socket: from the pool, or spawned now. */
static int child_spawn(const char *vmm_path, pid_t *pid, int *sock)
{
	int sv[2], err;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	err = spawn_child(vmm_path, sv[1], pid);
	close(sv[1]);
	if (err)
		close(sv[0]);
	else
		*sock = sv[0];
	return err;
}

static int child_take(struct vm *vm, const char *vmm_path, pid_t *pid, int *sock, bool *pooled)
{
	*pooled = false;
	pthread_mutex_lock(&vm->fork_pool_lock);
	while (vm->fork_pool_n) {
		struct fork_pooled p = vm->fork_pool[--vm->fork_pool_n];

		if (kill(p.pid, 0) == 0) {
			pthread_mutex_unlock(&vm->fork_pool_lock);
			*pid = p.pid;
			*sock = p.sock;
			*pooled = true;
			return 0;
		}
		close(p.sock);	/* it died waiting; its reaper collects it */
	}
	pthread_mutex_unlock(&vm->fork_pool_lock);
	return child_spawn(vmm_path, pid, sock);
}

void fork_pool_refill(struct vm *vm)
{
	for (;;) {
		pid_t pid = -1;
		int sock = -1;

		pthread_mutex_lock(&vm->fork_pool_lock);
		if (vm->fork_pool_n >= MIN(vm->fork_pool_target, ARRAY_SIZE(vm->fork_pool)) ||
		    !vm->fork_vmm_path) {
			pthread_mutex_unlock(&vm->fork_pool_lock);
			return;
		}
		pthread_mutex_unlock(&vm->fork_pool_lock);
		if (child_spawn(vm->fork_vmm_path, &pid, &sock))
			return;
		watch_child(vm, pid);
		pthread_mutex_lock(&vm->fork_pool_lock);
		vm->fork_pool[vm->fork_pool_n++] = (struct fork_pooled){ pid, sock };
		pthread_mutex_unlock(&vm->fork_pool_lock);
	}
}

void fork_pool_destroy(struct vm *vm)
{
	struct reaper *r, *next;

	pthread_mutex_lock(&vm->fork_pool_lock);
	for (unsigned int i = 0; i < vm->fork_pool_n; i++) {
		close(vm->fork_pool[i].sock);	/* EOF: the waiting child exits */
		waitpid(vm->fork_pool[i].pid, NULL, 0);
	}
	vm->fork_pool_n = 0;
	/*
	 * The loop thread is gone: drop the watches.  Children still running are independent VMs
	 * and live on; the kernel reparents them when this process exits.
	 */
	for (r = vm->reapers; r; r = next) {
		next = r->next;
		waitpid(r->pid, NULL, WNOHANG);
		close(r->pidfd);
		free(r);
	}
	vm->reapers = NULL;
	pthread_mutex_unlock(&vm->fork_pool_lock);
}

static int fork_one(struct vm *vm, const struct mvmm_fork_opts *o, int handoff,
		    json_object *disks, struct mvmm_fork_child *c)
{
	int sock = -1, err;
	pid_t pid = -1;
	bool pooled;

	err = child_take(vm, o->vmm_path, &pid, &sock, &pooled);
	if (err)
		return err;
	c->pid = pid;
	snprintf(c->name, sizeof(c->name), "%s-%d", o->name_prefix ? o->name_prefix : "vm", pid);
	snprintf(c->api_sock, sizeof(c->api_sock), "%s/%s.sock", o->runtime_dir, c->name);
	snprintf(c->console, sizeof(c->console), "%s/%s.log", o->runtime_dir, c->name);
	err = send_identity(sock, c, handoff, vm, disks);
	if (!err)
		err = wait_ack(sock, pid);
	if (err) {
		kill(pid, SIGKILL);
		c->pid = 0;
	}
	/* Reaped on the loop thread when it exits (pooled children are watched already). */
	if (!pooled)
		watch_child(vm, pid);
	close(sock);
	return err;
}

/*
 * Why this order:
 * - pause first: vCPUs park after completing pending I/O, so registers and RAM are consistent;
 * - quiesce devices next: no more ring access or DMA into RAM while the mapping changes;
 * - layers before capture: the freeze moves vm->mem.host; capture itself does not touch RAM;
 * - the new generation id goes into the parent's RAM while it is still paused (the children's
 *   come when they load);
 * - then the parent resumes: everything a child needs (sealed layers, sealed hand-off) is
 *   immutable by now and the parent's own writes land in its private mapping, so spawning the
 *   children and waiting for them happens while the parent runs.  The pause is only the
 *   freeze + capture.
 * - a child that fails is killed and the others with it; the parent is not affected.
 */
int vm_fork(struct vm *vm, const struct mvmm_fork_opts *o, struct mvmm_fork_child *children)
{
	uint8_t *blob = NULL;
	size_t blen = 0;
	uint64_t copied = 0, t_pause, t_resumed, t_done;
	json_object **disks;
	bool resume;
	int handoff = -1, err;
	uint32_t made = 0;

	if (!o->count || o->count > MVMM_MAX_FORK || !o->vmm_path || !o->runtime_dir)
		return -EINVAL;
	disks = calloc(o->count, sizeof(*disks));
	if (!disks)
		return -ENOMEM;
	t_pause = mono_ns();
	err = vm_hold(vm, &resume);
	if (err) {
		free(disks);
		return err;
	}
	err = layers_prepare_fork(vm, &copied);
	if (!err)
		err = vm_save_state(vm, &blob, &blen);
	if (!err)
		err = make_handoff(vm, blob, blen, &handoff);
	/* Writable disks are cloned now, while nothing writes them: the fork instant's contents. */
	for (uint32_t i = 0; !err && i < o->count; i++) {
		char tag[64];

		snprintf(tag, sizeof(tag), "fork-%d-%llu-%u", (int)getpid(),
			 (unsigned long long)t_pause, i);
		err = disks_for_clone(vm, o->runtime_dir, tag, &disks[i]);
	}
	if (!err)
		vmgenid_bump(vm->vmgenid);
	vm_release(vm, resume);
	t_resumed = mono_ns();
	layers_after_resume(vm);
	for (made = 0; !err && made < o->count; made++)
		err = fork_one(vm, o, handoff, disks[made], &children[made]);
	if (err && made) {
		/*
		 * No half-made fork: the children already running go too, with the socket and
		 * console files they had no chance to remove (SIGKILL).
		 */
		for (uint32_t i = 0; i < made; i++) {
			if (children[i].pid > 0)
				kill(children[i].pid, SIGKILL);
			if (children[i].api_sock[0])
				unlink(children[i].api_sock);
			if (children[i].console[0])
				unlink(children[i].console);
			children[i].pid = 0;
		}
	}
	t_done = mono_ns();
	if (err)
		pr_err(&vm->log, "fork", "fork failed after %u of %u children: %s", made ? made - 1 : 0,
		       o->count, mvmm_strerror(err));
	else
		pr_info(&vm->log, "fork", "%u children; parent paused %.3f ms; children running "
			"%.3f ms after the pause began; layer copy %llu KiB; %u layers", o->count,
			(double)(t_resumed - t_pause) / 1e6, (double)(t_done - t_pause) / 1e6,
			(unsigned long long)(copied >> 10), vm->mem.nr_layers);
	/* Top the pool up off this path, on the loop thread. */
	if (vm->fork_pool_target) {
		__atomic_store_n(&vm->fork_pool_refill, true, __ATOMIC_RELEASE);
		loop_wake(&vm->loop);
	}
	__atomic_store_n(&vm->last_fork_pause_ns, t_resumed - t_pause, __ATOMIC_RELAXED);
	__atomic_store_n(&vm->last_fork_total_ns, t_done - t_pause, __ATOMIC_RELAXED);
	if (handoff >= 0)
		close(handoff);
	/* A child unlinks its disk images once it has them open; these never got that far. */
	for (uint32_t i = err ? (made ? made - 1 : 0) : o->count; i < o->count; i++)
		disks_unlink_owned(disks[i]);
	for (uint32_t i = 0; i < o->count; i++)
		json_object_put(disks[i]);
	free(disks);
	free(blob);
	return err;
}
