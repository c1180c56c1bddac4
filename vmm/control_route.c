/* SPDX-License-Identifier: MIT */
/*
 * Control API routing: method + path + body -> status + JSON (see control_route.h).  Pure
 * apart from the control_ops calls, so the unit tests and the fuzzer drive it without HTTP or
 * KVM.  Validation happens before any op is called: a rejected request never touches the VM.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "control_route.h"
#include "util.h"

enum route_kind {
	ROUTE_GET_VM,
	ROUTE_PAUSE,
	ROUTE_RESUME,
	ROUTE_STOP,
	ROUTE_METRICS,
	ROUTE_SNAPSHOT,
	ROUTE_FORK,
	ROUTE_MEMHASH,
};

/* One path, one method: a wrong method on a known path is 405 with `method` as Allow. */
static const struct route {
	const char *path;
	const char *method;
	enum route_kind kind;
	const char *verb;	/* for messages: "pause", ... */
} routes[] = {
	{ "/vm", "GET", ROUTE_GET_VM, NULL },
	{ "/vm/pause", "PUT", ROUTE_PAUSE, "pause" },
	{ "/vm/resume", "PUT", ROUTE_RESUME, "resume" },
	{ "/vm/stop", "PUT", ROUTE_STOP, "stop" },
	{ "/metrics", "GET", ROUTE_METRICS, NULL },
	{ "/vm/snapshot", "PUT", ROUTE_SNAPSHOT, "snapshot" },
	{ "/vm/fork", "PUT", ROUTE_FORK, "fork" },
	{ "/vm/memory/hash", "PUT", ROUTE_MEMHASH, "hash memory of" },
};

static const char *const state_names[] = {
	[MVMM_VM_CREATED] = "created",
	[MVMM_VM_RUNNING] = "running",
	[MVMM_VM_PAUSED] = "paused",
	[MVMM_VM_STOPPED] = "stopped",
};

const char *control_state_name(enum mvmm_vm_state state)
{
	if ((unsigned int)state >= ARRAY_SIZE(state_names))
		return "unknown";
	return state_names[state];
}

void control_router_init(struct control_router *r, const struct control_ops *ops, void *opaque)
{
	memset(r, 0, sizeof(*r));
	r->ops = ops;
	r->opaque = opaque;
}

void control_response_fini(struct control_response *resp)
{
	if (!resp)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}

/*
 * Add `val` under `key` in `obj`, folding allocation failures into *err so the builders can
 * add member after member and check once.  Consumes `val` either way.
 */
static void put(struct json_object *obj, const char *key, struct json_object *val, int *err)
{
	if (!obj || !val || json_object_object_add(obj, key, val)) {
		json_object_put(val);
		*err = -ENOMEM;
	}
}

static void put_u64(struct json_object *obj, const char *key, uint64_t v, int *err)
{
	put(obj, key, json_object_new_uint64(v), err);
}

/* Serialize `o` into resp->body (consumes `o`). */
static int respond_json(struct control_response *resp, unsigned int status, struct json_object *o,
			int err)
{
	const char *s = NULL;
	size_t len = 0;

	if (!err && o)
		s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (s)
		resp->body = strndup(s, len);
	json_object_put(o);
	if (!resp->body) {
		resp->status = 500;
		return -ENOMEM;
	}
	resp->status = status;
	resp->body_len = len;
	return 0;
}

static int __attribute__((format(printf, 3, 4)))
respond_error(struct control_response *resp, unsigned int status, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[256];
	va_list ap;
	int err = 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages quote the URL and member names: keep them on one printable line. */
	for (char *p = msg; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	put(o, "error", json_object_new_string(msg), &err);
	return respond_json(resp, status, o, err);
}

/* Paths and keys in messages are user input: clip them so a message stays one short line. */
#define CLIP "%.64s"

static int get_vm(struct control_router *r, struct control_response *resp)
{
	struct control_vm_info info;
	struct json_object *o, *counters;
	uint64_t exits = 0;
	int err;

	memset(&info, 0, sizeof(info));
	err = r->ops->info(r->opaque, &info);
	if (err) {
		json_config_free(&info.config);
		return respond_error(resp, 500, "cannot read the VM state: %s", mvmm_strerror(err));
	}
	for (unsigned int i = 0; i < MIN(info.nr_vcpus, MVMM_MAX_CPUS); i++)
		exits += info.vcpu_exits[i];
	o = json_object_new_object();
	put(o, "state", json_object_new_string(control_state_name(info.state)), &err);
	put_u64(o, "uptime_ms", info.uptime_ms, &err);
	put(o, "pid", json_object_new_int64(info.pid), &err);
	put(o, "config", json_config_to_json(&info.config), &err);
	counters = json_object_new_object();
	put_u64(counters, "vcpu_exits", exits, &err);
	put_u64(counters, "serial_tx_bytes", info.serial_tx_bytes, &err);
	put(o, "counters", counters, &err);
	json_config_free(&info.config);
	return respond_json(resp, 200, o, err);
}

static int get_metrics(struct control_router *r, struct control_response *resp)
{
	struct control_vm_info info;
	struct json_object *o, *vcpus, *serial, *api, *devs, *fork;
	int err;

	memset(&info, 0, sizeof(info));
	err = r->ops->info(r->opaque, &info);
	json_config_free(&info.config);
	if (err)
		return respond_error(resp, 500, "cannot read the VM state: %s", mvmm_strerror(err));
	o = json_object_new_object();
	vcpus = json_object_new_array();
	for (unsigned int i = 0; vcpus && i < MIN(info.nr_vcpus, MVMM_MAX_CPUS); i++) {
		struct json_object *v = json_object_new_object();

		put_u64(v, "id", i, &err);
		put_u64(v, "exits", info.vcpu_exits[i], &err);
		if (!v || json_object_array_add(vcpus, v)) {
			json_object_put(v);
			err = -ENOMEM;
		}
	}
	put(o, "vcpus", vcpus, &err);
	serial = json_object_new_object();
	put_u64(serial, "tx_bytes", info.serial_tx_bytes, &err);
	put(o, "serial", serial, &err);
	devs = json_object_new_array();
	for (unsigned int i = 0; devs && i < MIN(info.nr_devices, CONTROL_MAX_DEVICES); i++) {
		const struct control_dev_info *d = &info.devices[i];
		struct json_object *v = json_object_new_object();

		put(v, "id", json_object_new_string(d->id), &err);
		put(v, "type", json_object_new_string(d->type), &err);
		put_u64(v, "requests", d->requests, &err);
		put_u64(v, "bytes_read", d->bytes_read, &err);
		put_u64(v, "bytes_written", d->bytes_written, &err);
		put_u64(v, "errors", d->errors, &err);
		put_u64(v, "notifications", d->notifications, &err);
		put_u64(v, "interrupts", d->interrupts, &err);
		if (!v || json_object_array_add(devs, v)) {
			json_object_put(v);
			err = -ENOMEM;
		}
	}
	put(o, "devices", devs, &err);
	fork = json_object_new_object();
	put_u64(fork, "last_pause_us", info.fork_pause_ns / 1000, &err);
	put_u64(fork, "last_total_us", info.fork_total_ns / 1000, &err);
	put(o, "fork", fork, &err);
	api = json_object_new_object();
	put_u64(api, "requests", __atomic_load_n(&r->requests, __ATOMIC_RELAXED), &err);
	put_u64(api, "errors", __atomic_load_n(&r->errors, __ATOMIC_RELAXED), &err);
	put(o, "api", api, &err);
	return respond_json(resp, 200, o, err);
}

static bool all_space(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return false;
	}
	return true;
}

/*
 * Action bodies carry no parameters yet: empty (or only whitespace) and `{}` are accepted,
 * anything else is 400 naming the first offending member.  Returns 0 when the body is fine,
 * else the respond_error() result with *rejected set.
 */
static int check_action_body(const char *body, size_t len, struct control_response *resp,
			     bool *rejected)
{
	struct json_object_iterator it, end;
	struct json_object *o;
	char msg[200];
	int err;

	*rejected = false;
	if (!len || all_space(body, len))
		return 0;
	*rejected = true;
	o = json_config_parse_object(body, len, "request body", &err, msg, sizeof(msg));
	if (!o) {
		if (err == -ENOMEM)
			return respond_error(resp, 500, "out of memory");
		return respond_error(resp, 400, "%s", msg);
	}
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	if (json_object_iter_equal(&it, &end)) {
		json_object_put(o);
		*rejected = false;
		return 0;
	}
	snprintf(msg, sizeof(msg), CLIP ": unknown field", json_object_iter_peek_name(&it));
	json_object_put(o);
	return respond_error(resp, 400, "%s", msg);
}

/*
 * Parameter bodies: a JSON object whose members are all in `allowed`; anything else is 400
 * naming the member.  Returns the object (caller puts it) or NULL after responding.
 */
static struct json_object *param_body(const char *body, size_t len, const char *const *allowed,
				      struct control_response *resp, int *err)
{
	struct json_object_iterator it, end;
	struct json_object *o;
	char msg[200];

	if (!len || all_space(body, len)) {
		o = json_object_new_object();
		if (!o)
			*err = respond_error(resp, 500, "out of memory");
		return o;
	}
	o = json_config_parse_object(body, len, "request body", err, msg, sizeof(msg));
	if (!o) {
		*err = respond_error(resp, *err == -ENOMEM ? 500 : 400, "%s", msg);
		return NULL;
	}
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *name = json_object_iter_peek_name(&it);
		bool ok = false;

		for (const char *const *a = allowed; *a; a++)
			ok |= !strcmp(name, *a);
		if (!ok) {
			*err = respond_error(resp, 400, CLIP ": unknown field", name);
			json_object_put(o);
			return NULL;
		}
	}
	return o;
}

static int state_conflict(struct control_router *r, const struct route *rt, int err,
			  struct control_response *resp)
{
	if (err == -MVMM_ESTATE)
		return respond_error(resp, 409, "cannot %s the VM: it is %s", rt->verb,
				     control_state_name(r->ops->state(r->opaque)));
	return respond_error(resp, 500, "%s failed: %s", rt->verb, mvmm_strerror(err));
}

static int do_action(struct control_router *r, const struct route *rt, const char *body,
		     size_t body_len, struct control_response *resp)
{
	int (*op)(void *opaque) = NULL;
	bool rejected;
	int err;

	err = check_action_body(body, body_len, resp, &rejected);
	if (rejected)
		return err;
	switch (rt->kind) {
	case ROUTE_PAUSE:
		op = r->ops->pause;
		break;
	case ROUTE_RESUME:
		op = r->ops->resume;
		break;
	case ROUTE_STOP:
		op = r->ops->stop;
		break;
	default:
		break;
	}
	if (NEVER(!op))
		return respond_error(resp, 500, "no handler for %s", rt->path);
	err = op(r->opaque);
	if (!err) {
		resp->status = 204;
		return 0;
	}
	return state_conflict(r, rt, err, resp);
}

static int do_snapshot(struct control_router *r, const struct route *rt, const char *body,
		       size_t len, struct control_response *resp)
{
	static const char *const allowed[] = { "dir", "live", NULL };
	struct json_object *o, *dir, *live;
	bool is_live = false;
	int err = 0;

	o = param_body(body, len, allowed, resp, &err);
	if (!o)
		return err;
	if (!json_object_object_get_ex(o, "dir", &dir) ||
	    !json_object_is_type(dir, json_type_string) || !json_object_get_string_len(dir) ||
	    json_object_get_string_len(dir) >= 4000) {
		json_object_put(o);
		return respond_error(resp, 400, "dir: required, a non-empty path string");
	}
	if (json_object_object_get_ex(o, "live", &live)) {
		if (!json_object_is_type(live, json_type_boolean)) {
			json_object_put(o);
			return respond_error(resp, 400, "live: expected a boolean");
		}
		is_live = json_object_get_boolean(live);
	}
	err = r->ops->snapshot ? r->ops->snapshot(r->opaque, json_object_get_string(dir), is_live)
			       : -ENOTSUP;
	json_object_put(o);
	if (!err) {
		resp->status = 204;
		return 0;
	}
	if (err == -EEXIST)
		return respond_error(resp, 409, "dir: already exists");
	if (err == -ENOTSUP)
		return respond_error(resp, 409, "live: this kernel lacks the userfaultfd features");
	return state_conflict(r, rt, err, resp);
}

static bool valid_prefix(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 32)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

static int do_fork(struct control_router *r, const struct route *rt, const char *body,
		   size_t len, struct control_response *resp)
{
	static const char *const allowed[] = { "count", "name", NULL };
	struct json_object *o, *v, *out, *arr;
	struct mvmm_fork_child *kids;
	const char *prefix = "vm";
	int64_t count = 1;
	int err = 0;

	o = param_body(body, len, allowed, resp, &err);
	if (!o)
		return err;
	if (json_object_object_get_ex(o, "count", &v)) {
		if (!json_object_is_type(v, json_type_int) ||
		    (count = json_object_get_int64(v)) < 1 || count > MVMM_MAX_FORK) {
			json_object_put(o);
			return respond_error(resp, 400, "count: an integer from 1 to %d",
					     MVMM_MAX_FORK);
		}
	}
	if (json_object_object_get_ex(o, "name", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    !valid_prefix(json_object_get_string(v))) {
			json_object_put(o);
			return respond_error(resp, 400,
					     "name: 1-32 characters of letters, digits, '-', '_'");
		}
		prefix = json_object_get_string(v);
	}
	kids = calloc((size_t)count, sizeof(*kids));
	if (!kids) {
		json_object_put(o);
		return respond_error(resp, 500, "out of memory");
	}
	err = r->ops->fork ? r->ops->fork(r->opaque, (uint32_t)count, prefix, kids) : -ENOTSUP;
	json_object_put(o);
	if (err) {
		free(kids);
		if (err == -ENOTSUP)
			return respond_error(resp, 400, "fork is not enabled for this VM");
		return state_conflict(r, rt, err, resp);
	}
	out = json_object_new_object();
	arr = json_object_new_array();
	for (int64_t i = 0; i < count; i++) {
		struct json_object *c = json_object_new_object();

		put(c, "name", json_object_new_string(kids[i].name), &err);
		put(c, "pid", json_object_new_int(kids[i].pid), &err);
		put(c, "api_sock", json_object_new_string(kids[i].api_sock), &err);
		put(c, "console", json_object_new_string(kids[i].console), &err);
		json_object_array_add(arr, c);
	}
	put(out, "children", arr, &err);
	free(kids);
	return respond_json(resp, 200, out, err);
}

static bool get_u64(struct json_object *o, const char *key, uint64_t *v)
{
	struct json_object *m;

	if (!json_object_object_get_ex(o, key, &m) || !json_object_is_type(m, json_type_int) ||
	    json_object_get_int64(m) < 0)
		return false;
	*v = (uint64_t)json_object_get_int64(m);
	return true;
}

static int do_memhash(struct control_router *r, const struct route *rt, const char *body,
		      size_t len, struct control_response *resp)
{
	static const char *const allowed[] = { "gpa", "len", NULL };
	struct json_object *o, *out;
	uint64_t gpa, n, hash = 0;
	char hex[24];
	int err = 0;

	o = param_body(body, len, allowed, resp, &err);
	if (!o)
		return err;
	if (!get_u64(o, "gpa", &gpa) || !get_u64(o, "len", &n) || !n) {
		json_object_put(o);
		return respond_error(resp, 400, "gpa, len: required non-negative integers, len > 0");
	}
	json_object_put(o);
	err = r->ops->mem_hash ? r->ops->mem_hash(r->opaque, gpa, n, &hash) : -ENOTSUP;
	if (err == -EFAULT)
		return respond_error(resp, 400, "gpa, len: not wholly inside guest RAM");
	if (err)
		return state_conflict(r, rt, err, resp);
	snprintf(hex, sizeof(hex), "0x%016llx", (unsigned long long)hash);
	out = json_object_new_object();
	put(out, "fnv1a64", json_object_new_string(hex), &err);
	return respond_json(resp, 200, out, err);
}

static int dispatch(struct control_router *r, const char *method, const char *url,
		    const char *body, size_t body_len, struct control_response *resp)
{
	const struct route *rt = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		if (!strcmp(url, routes[i].path)) {
			rt = &routes[i];
			break;
		}
	}
	if (!rt)
		return respond_error(resp, 404, "no such endpoint: " CLIP, url);
	if (strcmp(method, rt->method)) {
		resp->allow = rt->method;
		return respond_error(resp, 405, "method " CLIP " not allowed on %s (allowed: %s)",
				     method, rt->path, rt->method);
	}
	if (body_len > CONTROL_MAX_BODY)
		return respond_error(resp, 413, "request body of %zu bytes is larger than %d bytes",
				     body_len, CONTROL_MAX_BODY);
	if (body_len && !body)
		return respond_error(resp, 400, "request body missing");
	switch (rt->kind) {
	case ROUTE_GET_VM:
	case ROUTE_METRICS:
		if (body_len)
			return respond_error(resp, 400, "%s %s takes no request body", rt->method,
					     rt->path);
		return rt->kind == ROUTE_GET_VM ? get_vm(r, resp) : get_metrics(r, resp);
	case ROUTE_PAUSE:
	case ROUTE_RESUME:
	case ROUTE_STOP:
		return do_action(r, rt, body, body_len, resp);
	case ROUTE_SNAPSHOT:
		return do_snapshot(r, rt, body, body_len, resp);
	case ROUTE_FORK:
		return do_fork(r, rt, body, body_len, resp);
	case ROUTE_MEMHASH:
		return do_memhash(r, rt, body, body_len, resp);
	}
	return respond_error(resp, 500, "unhandled route");
}

int control_route(struct control_router *r, const char *method, const char *url, const char *body,
		  size_t body_len, struct control_response *resp)
{
	int err;

	memset(resp, 0, sizeof(*resp));
	__atomic_add_fetch(&r->requests, 1, __ATOMIC_RELAXED);
	if (!method || !url)
		err = respond_error(resp, 400, "malformed request");
	else
		err = dispatch(r, method, url, body, body_len, resp);
	if (resp->status >= 400)
		__atomic_add_fetch(&r->errors, 1, __ATOMIC_RELAXED);
	return err;
}
