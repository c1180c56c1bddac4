/* SPDX-License-Identifier: MIT */
/*
 * Routing and request validation of the control API (docs/api.md), free of HTTP transport and
 * of KVM: control.c feeds it requests taken from libmicrohttpd, and the unit tests and the
 * fuzzer feed it directly with a fake VM behind struct control_ops.
 *
 *   GET /vm          200 {"state","uptime_ms","pid","config","counters"}
 *   PUT /vm/pause    204 | 409 (state)
 *   PUT /vm/resume   204 | 409
 *   PUT /vm/stop     204
 *   GET /metrics     200 {"vcpus":[{"id","exits"}],"serial":{"tx_bytes"},"api":{...}}
 *   PUT /vm/snapshot 204, body {"dir":"/new/dir"} | 409 (dir exists or wrong state)
 *   PUT /vm/fork     200 {"children":[{"name","pid","api_sock","console"}]},
 *                    body {"count":1..256, "name":"prefix"} (both optional)
 *   PUT /vm/memory/hash  200 {"fnv1a64":"0x..."}, body {"gpa":N,"len":N}: the VMM's view of
 *                    guest RAM, for tests that compare it with what the guest computed
 *
 * Anything else: 404 (unknown path), 405 + Allow (known path, wrong method), 413 (body over
 * CONTROL_MAX_BODY), 400 (a body on GET; on PUT a body that is not empty or `{}`).  Every
 * error body is {"error":"<one line>"}.
 */
#ifndef MVMM_VMM_CONTROL_ROUTE_H
#define MVMM_VMM_CONTROL_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mvmm/mvmm.h"
#include "config_json.h"

#define CONTROL_MAX_BODY (64 * 1024)
#define CONTROL_MAX_DEVICES 32	/* request body bytes; more is 413 */

/* What GET /vm and GET /metrics report, filled by control_ops.info. */
struct control_vm_info {
	enum mvmm_vm_state state;
	uint64_t uptime_ms;			/* since start; 0 before */
	int64_t pid;
	unsigned int nr_vcpus;			/* <= MVMM_MAX_CPUS */
	uint64_t vcpu_exits[MVMM_MAX_CPUS];	/* KVM_RUN returns per vCPU */
	uint64_t serial_tx_bytes;
	unsigned int nr_devices;		/* virtio devices, <= CONTROL_MAX_DEVICES */
	struct control_dev_info {
		char id[16];			/* "blk0" */
		char type[8];			/* "blk", "rng" */
		uint64_t requests, bytes_read, bytes_written, errors, notifications, interrupts;
	} devices[CONTROL_MAX_DEVICES];
	uint64_t fork_pause_ns;			/* last fork: parent paused */
	uint64_t fork_total_ns;			/* last fork: until every child ran */
	struct json_config config;		/* owned; freed by the router */
};

/*
 * The VM as the router sees it.  Each function may be called from the API thread while other
 * threads drive the VM, so each must be thread-safe.  Errors are negative; -MVMM_ESTATE from
 * pause/resume/stop becomes 409.
 */
struct control_ops {
	int (*pause)(void *opaque);
	int (*resume)(void *opaque);
	int (*stop)(void *opaque);
	enum mvmm_vm_state (*state)(void *opaque);
	int (*info)(void *opaque, struct control_vm_info *out);
	/* Snapshot into the new directory `dir` (-EEXIST when it exists: 409). */
	int (*snapshot)(void *opaque, const char *dir, bool live);
	/* Fork into `count` children named <prefix>-<pid>; children[] gets count entries. */
	int (*fork)(void *opaque, uint32_t count, const char *prefix,
		    struct mvmm_fork_child *children);
	/* FNV-1a 64 of guest RAM [gpa, gpa+len) as the VMM sees it; -EFAULT: not all RAM. */
	int (*mem_hash)(void *opaque, uint64_t gpa, uint64_t len, uint64_t *hash);
};

struct control_router {
	const struct control_ops *ops;
	void *opaque;
	uint64_t requests;		/* requests routed (atomic) */
	uint64_t errors;		/* of which answered >= 400 (atomic) */
};

struct control_response {
	unsigned int status;		/* HTTP status */
	const char *allow;		/* static "GET" / "PUT" for 405, else NULL */
	char *body;			/* owned JSON text (malloc), NULL for 204 */
	size_t body_len;
};

void control_router_init(struct control_router *r, const struct control_ops *ops, void *opaque);

/*
 * Route one request.  `url` is the path (no query string); `body_len` is the size of the
 * whole request body and `body` holds its first MIN(body_len, CONTROL_MAX_BODY) bytes (it is
 * not read when body_len exceeds the cap; it may be NULL when body_len is 0).  Always fills
 * *resp; returns 0, or -ENOMEM when no JSON body could be built (resp->status is then 500 and
 * resp->body NULL: the transport sends a static error).
 */
int control_route(struct control_router *r, const char *method, const char *url, const char *body,
		  size_t body_len, struct control_response *resp);
/* Release resp->body.  NULL-safe. */
void control_response_fini(struct control_response *resp);

/* "created", "running", "paused", "stopped". */
const char *control_state_name(enum mvmm_vm_state state);

#endif /* MVMM_VMM_CONTROL_ROUTE_H */
