/* SPDX-License-Identifier: MIT */
/*
 * vmm/control_route.c against a fake VM: every endpoint and method, the status codes
 * (200/204/400/404/405/409/413/500), request body validation, and the JSON documents parsed
 * back with json-c.  A rejected request must never reach the VM, which the fake counts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "vmm/control_route.h"
#include "vmm/util.h"

#include "tests/unit/fake_vm.h"


struct fixture {
	struct fake_vm vm;
	struct control_router router;
	struct control_response resp;
	struct json_object *json;	/* parsed resp.body */
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->vm.state = MVMM_VM_RUNNING;
	control_router_init(&fx->router, &fake_ops, &fx->vm);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	control_response_fini(&fx->resp);
	json_object_put(fx->json);
	free(fx);
	return 0;
}

/* Route a request; check the status; parse the body (which must be JSON unless 204). */
static void request_n(struct fixture *fx, const char *method, const char *url, const char *body,
		      size_t len, unsigned int want_status)
{
	control_response_fini(&fx->resp);
	json_object_put(fx->json);
	fx->json = NULL;
	assert_int_equal(control_route(&fx->router, method, url, body, len, &fx->resp), 0);
	if (fx->resp.status != want_status)
		fail_msg("%s %s: status %u, want %u (%s)", method, url, fx->resp.status,
			 want_status, fx->resp.body ? fx->resp.body : "");
	if (want_status == 204) {
		assert_null(fx->resp.body);
		return;
	}
	assert_non_null(fx->resp.body);
	assert_int_equal(strlen(fx->resp.body), fx->resp.body_len);
	fx->json = json_tokener_parse(fx->resp.body);
	if (!fx->json || !json_object_is_type(fx->json, json_type_object))
		fail_msg("%s %s: body is not a JSON object: %s", method, url, fx->resp.body);
}

static void request(struct fixture *fx, const char *method, const char *url, const char *body,
		    unsigned int want_status)
{
	request_n(fx, method, url, body, body ? strlen(body) : 0, want_status);
}

/* The response is {"error": "..."} (the only member) and the message contains `want`. */
static void expect_error(struct fixture *fx, const char *want)
{
	struct json_object *e;

	assert_int_equal(json_object_object_length(fx->json), 1);
	assert_true(json_object_object_get_ex(fx->json, "error", &e));
	assert_true(json_object_is_type(e, json_type_string));
	if (!strstr(json_object_get_string(e), want))
		fail_msg("error '%s' lacks '%s'", json_object_get_string(e), want);
}

static struct json_object *member(struct json_object *o, const char *path, json_type type)
{
	struct json_object *v = NULL;

	if (json_pointer_get(o, path, &v) || !json_object_is_type(v, type))
		fail_msg("%s: missing or not a %s", path, json_type_to_name(type));
	return v;
}

static void test_get_vm(void **state)
{
	struct fixture *fx = *state;
	struct json_object *cfg;

	request(fx, "GET", "/vm", NULL, 200);
	assert_string_equal(json_object_get_string(member(fx->json, "/state", json_type_string)),
			    "running");
	assert_int_equal(json_object_get_int64(member(fx->json, "/uptime_ms", json_type_int)),
			 1234);
	assert_int_equal(json_object_get_int64(member(fx->json, "/pid", json_type_int)), 42);
	assert_int_equal(json_object_get_int64(member(fx->json, "/counters/vcpu_exits",
						      json_type_int)), 123);
	assert_int_equal(json_object_get_int64(member(fx->json, "/counters/serial_tx_bytes",
						      json_type_int)), 77);
	cfg = member(fx->json, "/config", json_type_object);
	assert_string_equal(json_object_get_string(member(cfg, "/machine/mem", json_type_string)),
			    "256M");
	assert_int_equal(json_object_get_int(member(cfg, "/machine/cpus", json_type_int)), 2);
	member(cfg, "/boot/kernel", json_type_null);
	assert_string_equal(json_object_get_string(member(cfg, "/boot/cmdline",
							  json_type_string)), "test=count");
	assert_int_equal(fx->vm.calls, 0);

	/* Each lifecycle state by name. */
	fx->vm.state = MVMM_VM_CREATED;
	request(fx, "GET", "/vm", "", 200);
	assert_string_equal(json_object_get_string(member(fx->json, "/state", json_type_string)),
			    "created");
	fx->vm.state = MVMM_VM_PAUSED;
	request(fx, "GET", "/vm", NULL, 200);
	assert_string_equal(json_object_get_string(member(fx->json, "/state", json_type_string)),
			    "paused");
	fx->vm.state = MVMM_VM_STOPPED;
	request(fx, "GET", "/vm", NULL, 200);
	assert_string_equal(json_object_get_string(member(fx->json, "/state", json_type_string)),
			    "stopped");
}

static void test_metrics(void **state)
{
	struct fixture *fx = *state;
	struct json_object *vcpus;

	request(fx, "GET", "/nope", NULL, 404);
	request(fx, "GET", "/metrics", NULL, 200);
	vcpus = member(fx->json, "/vcpus", json_type_array);
	assert_int_equal(json_object_array_length(vcpus), 2);
	assert_int_equal(json_object_get_int(member(fx->json, "/vcpus/1/id", json_type_int)), 1);
	assert_int_equal(json_object_get_int(member(fx->json, "/vcpus/0/exits", json_type_int)),
			 100);
	assert_int_equal(json_object_get_int(member(fx->json, "/serial/tx_bytes", json_type_int)),
			 77);
	/* This request counts; the 404 before it is the one error. */
	assert_int_equal(json_object_get_int(member(fx->json, "/api/requests", json_type_int)), 2);
	assert_int_equal(json_object_get_int(member(fx->json, "/api/errors", json_type_int)), 1);
	assert_int_equal(fx->router.requests, 2);
	assert_int_equal(fx->router.errors, 1);
}

static void test_actions(void **state)
{
	struct fixture *fx = *state;

	request(fx, "PUT", "/vm/pause", NULL, 204);
	assert_int_equal(fx->vm.state, MVMM_VM_PAUSED);
	request(fx, "PUT", "/vm/pause", "{}", 204);		/* already paused: fine */
	request(fx, "PUT", "/vm/resume", " {\n} ", 204);
	assert_int_equal(fx->vm.state, MVMM_VM_RUNNING);
	request(fx, "PUT", "/vm/resume", "", 204);
	request(fx, "PUT", "/vm/pause", " \r\n\t", 204);	/* whitespace only == empty */
	request(fx, "PUT", "/vm/stop", "{}", 204);
	assert_int_equal(fx->vm.state, MVMM_VM_STOPPED);
	request(fx, "PUT", "/vm/stop", NULL, 204);		/* idempotent */
	assert_int_equal(fx->vm.calls, 7);
}

static void test_conflict(void **state)
{
	struct fixture *fx = *state;

	fx->vm.state = MVMM_VM_CREATED;
	request(fx, "PUT", "/vm/pause", NULL, 409);
	expect_error(fx, "cannot pause the VM: it is created");
	request(fx, "PUT", "/vm/resume", NULL, 409);
	expect_error(fx, "cannot resume the VM: it is created");
	fx->vm.state = MVMM_VM_STOPPED;
	request(fx, "PUT", "/vm/pause", "{}", 409);
	expect_error(fx, "it is stopped");
	request(fx, "PUT", "/vm/resume", "{}", 409);
	expect_error(fx, "it is stopped");
	/* Other failures are the server's. */
	fx->vm.state = MVMM_VM_RUNNING;
	fx->vm.op_err = -EIO;
	request(fx, "PUT", "/vm/pause", NULL, 500);
	expect_error(fx, "pause failed");
	fx->vm.info_err = -ENOMEM;
	request(fx, "GET", "/vm", NULL, 500);
	expect_error(fx, "cannot read the VM state");
	request(fx, "GET", "/metrics", NULL, 500);
}

static void test_not_found(void **state)
{
	static const char *const urls[] = {
		"/", "", "/vm/", "/VM", "/vm/pause/", "/vm/start", "/vm/snap", "/metrics/x",
		"vm", "//vm", "/vm?x=1", "/vm/pause\n",
	};
	struct fixture *fx = *state;

	for (size_t i = 0; i < ARRAY_SIZE(urls); i++) {
		request(fx, "GET", urls[i], NULL, 404);
		expect_error(fx, "no such endpoint");
		assert_null(fx->resp.allow);
	}
	request(fx, "GET", "/a\nb\x7f", NULL, 404);
	expect_error(fx, "no such endpoint: /a?b?");	/* one printable line */
	request(fx, "PUT", "/nope", "{\"x\":1}", 404);
	expect_error(fx, "no such endpoint: /nope");
	assert_int_equal(fx->vm.calls, 0);
}

static void test_method_not_allowed(void **state)
{
	static const struct {
		const char *method, *url, *allow;
	} cases[] = {
		{ "PUT", "/vm", "GET" },	   { "POST", "/vm", "GET" },
		{ "DELETE", "/vm", "GET" },	   { "HEAD", "/vm", "GET" },
		{ "get", "/vm", "GET" },	   { "GET", "/vm/pause", "PUT" },
		{ "POST", "/vm/resume", "PUT" },   { "PATCH", "/vm/stop", "PUT" },
		{ "PUT", "/metrics", "GET" },	   { "", "/metrics", "GET" },
	};
	struct fixture *fx = *state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		request(fx, cases[i].method, cases[i].url, NULL, 405);
		assert_non_null(fx->resp.allow);
		assert_string_equal(fx->resp.allow, cases[i].allow);
		expect_error(fx, "not allowed");
	}
	assert_int_equal(fx->vm.calls, 0);
}

static void test_bad_bodies(void **state)
{
	static const struct {
		const char *body, *msg;
	} cases[] = {
		{ "{\"x\":1}", "x: unknown field" },
		{ "{\"force\":true,\"y\":2}", "force: unknown field" },
		{ "{", "request body: unexpected end" },
		{ "{\"a\":}", "request body: JSON syntax error" },
		{ "[]", "request body: expected a JSON object" },
		{ "null", "request body: expected a JSON object" },
		{ "pause", "request body: expected a JSON object" },
		{ "{} {}", "request body: JSON syntax error" },
		{ "{\"\xc3\x28\":1}", "request body: JSON syntax error" },
	};
	static const char nul[] = "{}\0";
	struct fixture *fx = *state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		request(fx, "PUT", "/vm/pause", cases[i].body, 400);
		expect_error(fx, cases[i].msg);
	}
	request_n(fx, "PUT", "/vm/stop", nul, sizeof(nul), 400);
	expect_error(fx, "NUL");
	/* GET takes no body at all, not even {}. */
	request(fx, "GET", "/vm", "{}", 400);
	expect_error(fx, "GET /vm takes no request body");
	request(fx, "GET", "/metrics", " ", 400);
	/* A length without bytes is a transport bug, not a crash. */
	request_n(fx, "PUT", "/vm/pause", NULL, 5, 400);
	request(fx, NULL, "/vm", NULL, 400);
	assert_int_equal(fx->vm.calls, 0);
	assert_int_equal(fx->vm.state, MVMM_VM_RUNNING);
}

static void test_too_large(void **state)
{
	struct fixture *fx = *state;
	size_t len = CONTROL_MAX_BODY + 1;
	char *big = malloc(len);

	assert_non_null(big);
	memset(big, ' ', len);
	big[0] = '{';
	big[CONTROL_MAX_BODY - 1] = '}';
	/* At the cap: still parsed (and valid). */
	request_n(fx, "PUT", "/vm/pause", big, CONTROL_MAX_BODY, 204);
	request_n(fx, "PUT", "/vm/resume", big, len, 413);
	expect_error(fx, "65537 bytes is larger than 65536");
	/* The transport passes only the declared length when it does not buffer the body. */
	request_n(fx, "PUT", "/vm/stop", NULL, (size_t)1 << 40, 413);
	request_n(fx, "GET", "/vm", NULL, len, 413);
	/* Routing comes first: the path and method are judged before the size. */
	request_n(fx, "PUT", "/nope", NULL, len, 404);
	request_n(fx, "POST", "/vm/stop", NULL, len, 405);
	assert_int_equal(fx->vm.calls, 1);
	free(big);
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(control_state_name(MVMM_VM_CREATED), "created");
	assert_string_equal(control_state_name(MVMM_VM_RUNNING), "running");
	assert_string_equal(control_state_name(MVMM_VM_PAUSED), "paused");
	assert_string_equal(control_state_name(MVMM_VM_STOPPED), "stopped");
	assert_string_equal(control_state_name((enum mvmm_vm_state)99), "unknown");
	control_response_fini(NULL);
}

static void test_snapshot(void **state)
{
	struct fixture *fx = *state;

	request(fx, "PUT", "/vm/snapshot", "{\"dir\":\"/tmp/s1\"}", 204);
	assert_string_equal(fx->vm.snap_dir, "/tmp/s1");
	request(fx, "PUT", "/vm/snapshot", NULL, 400);
	expect_error(fx, "dir: required");
	request(fx, "PUT", "/vm/snapshot", "{\"dir\":\"\"}", 400);
	expect_error(fx, "dir: required");
	request(fx, "PUT", "/vm/snapshot", "{\"dir\":7}", 400);
	expect_error(fx, "dir: required");
	request(fx, "PUT", "/vm/snapshot", "{\"dir\":\"/x\",\"live\":1}", 400);
	expect_error(fx, "live: expected a boolean");
	request(fx, "PUT", "/vm/snapshot", "{\"dir\":\"/x\",\"delta\":true}", 400);
	expect_error(fx, "delta: unknown field");
	assert_false(fx->vm.snap_live);
	assert_int_equal(fx->vm.calls, 1);	/* rejected requests never reach the VM */
	request(fx, "PUT", "/vm/snapshot", "{\"dir\":\"/tmp/s3\",\"live\":true}", 204);
	assert_true(fx->vm.snap_live);
	assert_int_equal(fx->vm.calls, 2);
	request(fx, "PUT", "/vm/snapshot", "{\"dir\":\"/exists\"}", 409);
	expect_error(fx, "dir: already exists");
	fx->vm.state = MVMM_VM_STOPPED;
	request(fx, "PUT", "/vm/snapshot", "{\"dir\":\"/tmp/s2\"}", 409);
	expect_error(fx, "cannot snapshot the VM: it is stopped");
	request(fx, "GET", "/vm/snapshot", NULL, 405);
}

static void test_fork(void **state)
{
	struct fixture *fx = *state;
	struct json_object *kids;

	request(fx, "PUT", "/vm/fork", NULL, 200);
	assert_int_equal(fx->vm.fork_count, 1);
	assert_string_equal(fx->vm.fork_prefix, "vm");
	kids = member(fx->json, "/children", json_type_array);
	assert_int_equal(json_object_array_length(kids), 1);
	member(fx->json, "/children/0/api_sock", json_type_string);
	assert_int_equal(json_object_get_int(member(fx->json, "/children/0/pid", json_type_int)),
			 1000);
	request(fx, "PUT", "/vm/fork", "{\"count\":3,\"name\":\"ci-run_7\"}", 200);
	assert_int_equal(fx->vm.fork_count, 3);
	assert_string_equal(json_object_get_string(member(fx->json, "/children/2/name",
							  json_type_string)),
			    "ci-run_7-1002");
	assert_int_equal(fx->vm.calls, 2);
	request(fx, "PUT", "/vm/fork", "{\"count\":0}", 400);
	expect_error(fx, "count: an integer from 1 to 256");
	request(fx, "PUT", "/vm/fork", "{\"count\":257}", 400);
	request(fx, "PUT", "/vm/fork", "{\"count\":\"2\"}", 400);
	request(fx, "PUT", "/vm/fork", "{\"count\":1.5}", 400);
	request(fx, "PUT", "/vm/fork", "{\"name\":\"../evil\"}", 400);
	expect_error(fx, "name: 1-32 characters");
	request(fx, "PUT", "/vm/fork", "{\"name\":\"\"}", 400);
	request(fx, "PUT", "/vm/fork", "{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", 400);
	request(fx, "PUT", "/vm/fork", "{\"children\":1}", 400);
	expect_error(fx, "children: unknown field");
	request(fx, "PUT", "/vm/fork", "[1]", 400);
	assert_int_equal(fx->vm.calls, 2);
	fx->vm.state = MVMM_VM_CREATED;
	request(fx, "PUT", "/vm/fork", "{}", 409);
	expect_error(fx, "cannot fork the VM: it is created");
}

static void test_memhash(void **state)
{
	struct fixture *fx = *state;
	struct json_object *h;

	request(fx, "PUT", "/vm/memory/hash", "{\"gpa\":4096,\"len\":3}", 200);
	h = member(fx->json, "/fnv1a64", json_type_string);
	/* FNV-1a 64 of three zero bytes. */
	assert_string_equal(json_object_get_string(h), "0xd94d12186c0f2fb7");
	request(fx, "PUT", "/vm/memory/hash", "{\"gpa\":0,\"len\":67108865}", 400);
	expect_error(fx, "not wholly inside guest RAM");
	assert_int_equal(fx->vm.calls, 2);
	request(fx, "PUT", "/vm/memory/hash", "{\"gpa\":0}", 400);
	expect_error(fx, "gpa, len: required");
	request(fx, "PUT", "/vm/memory/hash", "{\"gpa\":-1,\"len\":1}", 400);
	request(fx, "PUT", "/vm/memory/hash", "{\"gpa\":0,\"len\":0}", 400);
	request(fx, "PUT", "/vm/memory/hash", "{\"gpa\":\"0\",\"len\":1}", 400);
	request(fx, "PUT", "/vm/memory/hash", "{\"gpa\":0,\"len\":1,\"x\":1}", 400);
	expect_error(fx, "x: unknown field");
	assert_int_equal(fx->vm.calls, 2);	/* rejected requests never reach the VM */
	request(fx, "GET", "/vm/memory/hash", NULL, 405);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(test_get_vm),		T(test_metrics),	 T(test_actions),
		T(test_conflict),	T(test_not_found),	 T(test_method_not_allowed),
		T(test_bad_bodies),	T(test_too_large),	 T(test_state_names),
		T(test_snapshot),	T(test_fork),		 T(test_memhash),
	};

	if (argc > 1 && argv[1][0])
		cmocka_set_test_filter(argv[1]);
	if (argc > 2 && argv[2][0])
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
