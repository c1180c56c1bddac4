/* SPDX-License-Identifier: MIT */
/*
 * Control API transport: a unix socket served by libmicrohttpd (MHD).  Routing and validation
 * live in control_route.c; this file owns the socket, the MHD daemon, the per-request upload
 * buffer and the adapter from struct control_ops to struct vm.
 *
 * Threads.  MHD runs its own polling thread (MHD_USE_INTERNAL_POLLING_THREAD with epoll), one
 * per VM that serves an API, rather than sharing the VM's event loop (loop.c):
 *  - the loop thread reaps the vCPUs and quits when the VM stops, but the API must keep
 *    answering (GET /vm says "stopped") until the embedder destroys the VM;
 *  - PUT /vm/pause blocks until every vCPU has parked, which would stall device I/O if it ran
 *    on the loop thread;
 *  - MHD's external-select mode would need its timeouts and fd set re-armed on every loop turn.
 * Every handler only calls functions that are safe from any thread (vm_pause, vm_resume,
 * vm_request_stop, reads under vm->lock, atomic counter loads), so the API thread needs no
 * lock of its own.  One polling thread also serializes requests: a burst of clients cannot
 * pause and resume concurrently, and CONNECTION_LIMIT bounds what it has to juggle.
 *
 * Lifetime.  control_destroy() is the first step of vm_destroy(): MHD_stop_daemon() joins the
 * thread, after which no handler can touch the VM.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <microhttpd.h>

#include "control.h"
#include "devices/virtio/devices.h"
#include "devices/virtio/vdev.h"
#include "fork/fork.h"
#include "control_route.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "devices/serial.h"

#define CONTROL_BACKLOG 16
#define CONTROL_MAX_CONNECTIONS 16u	/* concurrent clients; more wait in the backlog */
#define CONTROL_TIMEOUT_S 10u		/* idle connection timeout */
#define CONTROL_CONN_MEMORY (32 * 1024)	/* MHD pool per connection: request line + headers */
/*
 * A body above CONTROL_MAX_BODY is answered 413, but only after it has been read (MHD cannot
 * answer in the middle of an upload).  Past this much the client is not just mistaken: drop it.
 */
#define CONTROL_DISCARD_MAX (1024 * 1024)

struct control {
	struct vm *vm;
	struct MHD_Daemon *mhd;		/* owned */
	int fd;				/* owned listening socket */
	char *path;			/* owned copy of the socket path */
	dev_t dev;			/* identity of the socket file we bound, so that */
	ino_t ino;			/* destroy never unlinks someone else's file */
	struct control_router router;
	bool stop_requested;		/* PUT /vm/stop answered: stop once the reply is out */
};

/* Per-request state (MHD's con_cls): the body so far. */
struct control_req {
	char *buf;			/* owned, CONTROL_MAX_BODY bytes once a body arrives */
	size_t len;			/* bytes kept in buf */
	size_t total;			/* bytes received */
	uint64_t declared;		/* Content-Length when above the cap, else 0 */
};

/* ---- struct control_ops over struct vm ---- */

static int ctl_pause(void *opaque)
{
	struct control *ctl = opaque;

	return vm_pause(ctl->vm);
}

static int ctl_resume(void *opaque)
{
	struct control *ctl = opaque;

	return vm_resume(ctl->vm);
}

/*
 * The embedder notices STOPPED through the event fd and tears the VM (and this server) down at
 * once, which would cut off the 204 still on its way.  So the stop happens in
 * control_completed(), once the response has been sent.
 */
static int ctl_stop(void *opaque)
{
	struct control *ctl = opaque;

	__atomic_store_n(&ctl->stop_requested, true, __ATOMIC_RELEASE);
	return 0;
}

static enum mvmm_vm_state ctl_state(void *opaque)
{
	struct control *ctl = opaque;
	enum mvmm_vm_state s;

	pthread_mutex_lock(&ctl->vm->lock);
	s = ctl->vm->state;
	pthread_mutex_unlock(&ctl->vm->lock);
	return s;
}

static void add_device(void *opaque, const char *id, const char *type,
		       const struct vdev_metrics *m)
{
	struct control_vm_info *out = opaque;
	struct control_dev_info *d;

	if (out->nr_devices == CONTROL_MAX_DEVICES)
		return;
	d = &out->devices[out->nr_devices++];
	snprintf(d->id, sizeof(d->id), "%s", id);
	snprintf(d->type, sizeof(d->type), "%s", type);
	d->requests = m->requests;
	d->bytes_read = m->bytes_read;
	d->bytes_written = m->bytes_written;
	d->errors = m->errors;
	d->notifications = m->notifications;
	d->interrupts = m->interrupts;
}

static int ctl_info(void *opaque, struct control_vm_info *out)
{
	struct control *ctl = opaque;
	struct vm *vm = ctl->vm;
	uint64_t start_ns;
	int err;

	pthread_mutex_lock(&vm->lock);
	out->state = vm->state;
	start_ns = vm->threads_started ? vm->start_ns : 0;
	pthread_mutex_unlock(&vm->lock);
	if (start_ns)
		out->uptime_ms = (mono_ns() - start_ns) / 1000000;
	out->pid = getpid();
	/* vcpus[] and serial live until vm_destroy(), which stops this thread first. */
	out->nr_vcpus = MIN(vm->nr_vcpus, MVMM_MAX_CPUS);
	for (unsigned int i = 0; i < out->nr_vcpus; i++)
		out->vcpu_exits[i] = __atomic_load_n(&vm->vcpus[i]->exits, __ATOMIC_RELAXED);
	out->serial_tx_bytes = vm->serial ? serial_tx_bytes(vm->serial) : 0;
	virtio_devices_metrics(vm, add_device, out);
	out->fork_pause_ns = __atomic_load_n(&vm->last_fork_pause_ns, __ATOMIC_RELAXED);
	out->fork_total_ns = __atomic_load_n(&vm->last_fork_total_ns, __ATOMIC_RELAXED);
	err = json_config_from_vm(vm, &out->config);
	if (err)
		return err;
	out->config.api_sock = strdup(ctl->path);
	return out->config.api_sock ? 0 : -ENOMEM;
}

static int ctl_snapshot(void *opaque, const char *dir, bool live)
{
	struct control *ctl = opaque;

	return vm_snapshot(ctl->vm, dir, live);
}

static int ctl_fork(void *opaque, uint32_t count, const char *prefix,
		    struct mvmm_fork_child *children)
{
	struct control *ctl = opaque;
	struct mvmm_fork_opts o = { .size = sizeof(o), .count = count, .name_prefix = prefix };

	o.vmm_path = ctl->vm->fork_vmm_path;
	o.runtime_dir = ctl->vm->fork_runtime_dir;
	if (!o.vmm_path || !o.runtime_dir)
		return -ENOTSUP;
	return vm_fork(ctl->vm, &o, children);
}

/* Read while the guest may run: a test asks when the guest holds the region still. */
static int ctl_mem_hash(void *opaque, uint64_t gpa, uint64_t len, uint64_t *hash)
{
	struct control *ctl = opaque;
	const uint8_t *p = guest_mem_ptr(&ctl->vm->mem, gpa, len);
	uint64_t h = 0xcbf29ce484222325ULL;

	if (!p)
		return -EFAULT;
	for (uint64_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	*hash = h;
	return 0;
}

static const struct control_ops control_vm_ops = {
	.mem_hash = ctl_mem_hash,
	.snapshot = ctl_snapshot,
	.fork = ctl_fork,
	.pause = ctl_pause,
	.resume = ctl_resume,
	.stop = ctl_stop,
	.state = ctl_state,
	.info = ctl_info,
};

/* ---- MHD glue ---- */

/* MHD must never print: its messages go to the VM's log sink at debug level. */
static void __attribute__((format(printf, 2, 0))) control_mhd_log(void *cls, const char *fmt,
								  va_list ap)
{
	struct control *ctl = cls;
	char msg[256];
	size_t n;

	if (ctl->vm->log.level < MVMM_LOG_DEBUG)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_msg(&ctl->vm->log, MVMM_LOG_DEBUG, "api", "mhd: %s", msg);
}

static enum MHD_Result control_send(struct MHD_Connection *conn, struct control_response *resp)
{
	static const char oom[] = "{\"error\":\"out of memory\"}";
	struct MHD_Response *r;
	enum MHD_Result ret;
	bool json = true;

	if (resp->body) {
		r = MHD_create_response_from_buffer(resp->body_len, resp->body,
						    MHD_RESPMEM_MUST_FREE);
		if (r)
			resp->body = NULL;	/* MHD frees it with free() */
	} else if (resp->status == 204) {
		r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		json = false;
	} else {
		resp->status = 500;
		r = MHD_create_response_from_buffer(sizeof(oom) - 1, (void *)oom,
						    MHD_RESPMEM_PERSISTENT);
	}
	if (!r)
		return MHD_NO;
	if ((json && MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					     "application/json") != MHD_YES) ||
	    (resp->allow && MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW,
						    resp->allow) != MHD_YES)) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result control_answer(struct control *ctl, struct MHD_Connection *conn,
				      const char *method, const char *url, const char *body,
				      size_t body_len)
{
	struct control_response resp;
	enum MHD_Result ret;

	control_route(&ctl->router, method, url, body, body_len, &resp);
	pr_debug(&ctl->vm->log, "api", "%.16s %.64s (%zu bytes) -> %u", method, url, body_len,
		 resp.status);
	ret = control_send(conn, &resp);
	control_response_fini(&resp);
	return ret;
}

/*
 * MHD calls this once when the headers are in, once per chunk of body, and once more at the
 * end (with *upload_data_size == 0).  The body is kept up to CONTROL_MAX_BODY; the router sees
 * the full length and answers 413 beyond it.  When Content-Length already says "too big",
 * answer at once: MHD then skips the body (and with "Expect: 100-continue" the client never
 * sends it) and closes the connection after the response.
 */
static enum MHD_Result control_access(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **con_cls)
{
	struct control *ctl = cls;
	struct control_req *req = *con_cls;
	size_t n = *upload_data_size;

	(void)version;
	if (!req) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);

		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		*con_cls = req;
		/* MHD has already rejected a malformed Content-Length with 400. */
		if (cl) {
			unsigned long long v = strtoull(cl, NULL, 10);

			if (v > CONTROL_MAX_BODY)
				return control_answer(ctl, conn, method, url, NULL, (size_t)v);
		}
		return MHD_YES;
	}
	if (n) {
		size_t keep;

		if (!req->buf) {
			req->buf = malloc(CONTROL_MAX_BODY);
			if (!req->buf)
				return MHD_NO;
		}
		keep = MIN(n, CONTROL_MAX_BODY - req->len);
		memcpy(req->buf + req->len, upload_data, keep);
		req->len += keep;
		if (req->total + n > CONTROL_DISCARD_MAX)
			return MHD_NO;	/* close the connection */
		req->total += n;
		*upload_data_size = 0;
		return MHD_YES;
	}
	return control_answer(ctl, conn, method, url, req->buf, req->total);
}

static void control_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct control *ctl = cls;
	struct control_req *req = *con_cls;

	(void)conn;
	(void)toe;
	if (__atomic_exchange_n(&ctl->stop_requested, false, __ATOMIC_ACQ_REL))
		vm_request_stop(ctl->vm, MVMM_STOP_REQUESTED, 0, 0);
	if (!req)
		return;
	free(req->buf);
	free(req);
	*con_cls = NULL;
}

/* ---- socket ---- */

/*
 * `path` exists: a socket nobody accepts on is a leftover of a VMM that died (remove it); one
 * that answers belongs to a live VM (-EADDRINUSE); anything else is not ours to delete.
 */
static int control_clear_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, err;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;	/* gone meanwhile: retry the bind */
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		err = -EADDRINUSE;
	else if (errno == EAGAIN || errno == EINPROGRESS)
		err = -EADDRINUSE;		/* live, with a full backlog */
	else if (errno == ECONNREFUSED)
		err = unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	else
		err = -errno;
	close(fd);
	return err;
}

static int control_listen(struct control *ctl, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	struct stat st;
	int err;

	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len + 1);
	/* Non-blocking: MHD's epoll thread must never sleep in accept(). */
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ctl->fd < 0)
		return -errno;
	for (int attempt = 0;; attempt++) {
		if (bind(ctl->fd, (const struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		err = -errno;
		if (err != -EADDRINUSE || attempt)
			return err;
		err = control_clear_stale(path, &sa);
		if (err)
			return err;
	}
	/*
	 * 0600 before listen(): until then every connect() is refused, so no other user can
	 * slip in while the mode still reflects the umask.
	 */
	if (chmod(path, 0600) < 0 || lstat(path, &st) < 0)
		goto err_unlink;
	ctl->dev = st.st_dev;
	ctl->ino = st.st_ino;
	if (listen(ctl->fd, CONTROL_BACKLOG) < 0)
		goto err_unlink;
	return 0;

err_unlink:
	err = -errno;
	unlink(path);
	return err;
}

/* Unlink the socket file only if it is still the one we created. */
static void control_unlink(struct control *ctl)
{
	struct stat st;

	if (!ctl->ino || lstat(ctl->path, &st) < 0)
		return;
	if (st.st_dev == ctl->dev && st.st_ino == ctl->ino)
		unlink(ctl->path);
}

static int control_start_mhd(struct control *ctl)
{
	const unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
				   MHD_USE_ERROR_LOG;
	sigset_t all, old;

	/*
	 * The MHD thread inherits our signal mask: block everything while it is created so
	 * that process-directed signals (the CLI's SIGINT/SIGTERM) go to the embedder's
	 * threads, never to ours.  MHD sends with MSG_NOSIGNAL, so SIGPIPE is not an issue.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* The logger goes first, or MHD may print what it says about the options before it. */
	ctl->mhd = MHD_start_daemon(flags, 0, NULL, NULL, control_access, ctl,
				    MHD_OPTION_EXTERNAL_LOGGER, control_mhd_log, ctl,
				    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)ctl->fd,
				    MHD_OPTION_CONNECTION_LIMIT, CONTROL_MAX_CONNECTIONS,
				    MHD_OPTION_CONNECTION_TIMEOUT, CONTROL_TIMEOUT_S,
				    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONTROL_CONN_MEMORY,
				    MHD_OPTION_NOTIFY_COMPLETED, control_completed, ctl,
				    MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ctl->mhd ? 0 : -EIO;
}

int control_create(struct vm *vm, const char *path, struct control **out)
{
	struct control *ctl;
	int err;

	*out = NULL;
	if (!vm || !path || !*path)
		return -EINVAL;
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->vm = vm;
	ctl->fd = -1;
	control_router_init(&ctl->router, &control_vm_ops, ctl);
	ctl->path = strdup(path);
	if (!ctl->path) {
		err = -ENOMEM;
		goto err;
	}
	err = control_listen(ctl, path);
	if (err) {
		pr_err(&vm->log, "api", "cannot listen on %s: %s", path, mvmm_strerror(err));
		goto err;
	}
	err = control_start_mhd(ctl);
	if (err) {
		pr_err(&vm->log, "api", "cannot start the HTTP server on %s", path);
		goto err;
	}
	pr_info(&vm->log, "api", "listening on %s", path);
	*out = ctl;
	return 0;

err:
	control_destroy(ctl);
	return err;
}

void control_destroy(struct control *ctl)
{
	if (!ctl)
		return;
	if (ctl->mhd) {
		/*
		 * Quiesce first: MHD stops accepting and hands the listening socket back, so
		 * MHD_stop_daemon() (which drops open connections and joins the thread) leaves
		 * closing it to us, in the order below.
		 */
		if (MHD_quiesce_daemon(ctl->mhd) == MHD_INVALID_SOCKET)
			ctl->fd = -1;	/* still MHD's: MHD_stop_daemon() closes it */
		MHD_stop_daemon(ctl->mhd);
	}
	if (ctl->fd >= 0)
		close(ctl->fd);
	if (ctl->path)
		control_unlink(ctl);
	free(ctl->path);
	free(ctl);
}
