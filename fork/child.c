/* SPDX-License-Identifier: MIT */
/*
 * Child side of a fork: receive identity + hand-off + layers from the parent, build the VM from
 * them (RAM copy-on-write over the parent's layers, state from the blob), and acknowledge.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <json-c/json.h>

#include "fork.h"
#include "disks.h"
#include "layers.h"
#include "vmm/state.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define FORK_MSG_MAX 4096

struct handoff {
	json_object *identity;		/* owned: the parent's message */
	json_object *disks;		/* borrowed from identity */
	bool rng;
	char name[64];
	char api_sock[108];
	char console[256];
	int fds[GUEST_MEM_MAX_LAYERS + 1];	/* [0] hand-off memfd, [1..] layers 0.. */
	unsigned int nr_fds;
};

static int recv_identity(int sock, struct handoff *h)
{
	char buf[FORK_MSG_MAX + 1], cbuf[CMSG_SPACE(sizeof(h->fds))];
	struct iovec iov = { buf, FORK_MSG_MAX };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	json_object *o, *v;
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	int err = 0;

	if (n <= 0)
		return n < 0 ? -errno : -EPIPE;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			h->nr_fds = (unsigned int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(h->fds, CMSG_DATA(cm), h->nr_fds * sizeof(int));
		}
	}
	if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || h->nr_fds < 2)
		return -EPROTO;
	buf[n] = 0;
	o = json_tokener_parse(buf);
#define STR_(key, dst)                                                                             \
	if (!o || !json_object_object_get_ex(o, key, &v) ||                                       \
	    (size_t)json_object_get_string_len(v) >= sizeof(dst))                                 \
		err = -EPROTO;                                                                     \
	else                                                                                       \
		snprintf(dst, sizeof(dst), "%s", json_object_get_string(v));
	STR_("name", h->name)
	STR_("api_sock", h->api_sock)
	STR_("console", h->console)
#undef STR_
	if (o && json_object_object_get_ex(o, "rng", &v))
		h->rng = json_object_get_boolean(v);
	if (o && json_object_object_get_ex(o, "disks", &v) && json_object_is_type(v, json_type_array))
		h->disks = v;
	h->identity = o;
	return err;
}

static void close_fds(struct handoff *h, unsigned int from)
{
	for (unsigned int i = from; i < h->nr_fds; i++)
		close(h->fds[i]);
	h->nr_fds = from;
}

int vm_fork_child(int sock, const struct mvmm_config *in, struct vm **out, char *api_sock,
		  size_t api_sock_len)
{
	struct handoff h = { 0 };
	struct mvmm_config cfg = *in;
	struct vm_restore r = { 0 };
	struct state_reader rd;
	struct state_section meta, runsec;
	struct mem_run *runs = NULL;
	struct stat st;
	uint8_t *blob = MAP_FAILED;
	uint64_t nr_runs = 0;
	int layers[GUEST_MEM_MAX_LAYERS], console, err;
	void *disk_store = NULL;

	err = recv_identity(sock, &h);
	if (err)
		goto out;
	if (fstat(h.fds[0], &st) < 0 || st.st_size <= 0 || (uint64_t)st.st_size > STATE_MAX_SIZE) {
		err = -EPROTO;
		goto out;
	}
	blob = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, h.fds[0], 0);
	if (blob == MAP_FAILED) {
		err = -errno;
		goto out;
	}
	err = state_reader_open(&rd, blob, (size_t)st.st_size);
	if (!err && (state_find(&rd, "fork/meta", &meta) || state_find(&rd, "fork/runs", &runsec)))
		err = -EPROTO;
	if (err)
		goto out;
	cfg.mem_bytes = state_get_u64(&meta);
	cfg.cpus = state_get_u32(&meta);
	r.nr_layers = state_get_u32(&meta);
	nr_runs = state_get_u64(&runsec);
	if (state_section_done(&meta) || r.nr_layers != h.nr_fds - 1 ||
	    nr_runs > cfg.mem_bytes / 4096 || !(runs = calloc(nr_runs + 1, sizeof(*runs)))) {
		err = -EPROTO;
		goto out;
	}
	for (uint64_t i = 0; i < nr_runs; i++) {
		runs[i].offset = state_get_u64(&runsec);
		runs[i].len = state_get_u64(&runsec);
		runs[i].layer = state_get_u32(&runsec);
	}
	if (state_section_done(&runsec)) {
		err = -EPROTO;
		goto out;
	}
	console = open(h.console, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (console < 0) {
		err = -errno;
		goto out;
	}
	cfg.serial_out_fd = console;
	cfg.serial_in_fd = -1;
	cfg.kernel_path = NULL;
	cfg.kernel_data = NULL;
	cfg.initrd_path = NULL;
	cfg.initrd_data = NULL;
	cfg.rng = h.rng;
	err = disks_from_json(h.disks, &cfg, &disk_store);
	if (err) {
		close(console);
		goto out;
	}
	for (unsigned int i = 0; i < r.nr_layers; i++)
		layers[i] = h.fds[1 + i];
	r.mem_fd = layers[0];
	r.layers = layers;
	r.runs = runs;
	r.nr_runs = (size_t)nr_runs;
	r.blob = blob;
	r.blob_len = (size_t)st.st_size;
	h.nr_fds = 1;	/* the VM owns the layer fds from here, even on failure */
	err = vm_create_restored(out, &cfg, &r);
	/* Open or not, this VM's own disk images go: they live as long as it has them open. */
	disks_unlink_owned(h.disks);
	if (err) {
		close(console);
		goto out;
	}
	(*out)->owned_console_fd = console;
	(*out)->fork_pool_lazy = true;	/* spares only once this child is forked itself */
	snprintf(api_sock, api_sock_len, "%s", h.api_sock);
out:
	if (blob != MAP_FAILED)
		munmap(blob, (size_t)st.st_size);
	close_fds(&h, 0);
	json_object_put(h.identity);
	free(disk_store);
	free(runs);
	return err;
}
