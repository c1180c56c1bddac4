/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for control_route() (vmm/control_route.c) with a fake VM.  Input:
 *
 *   <state digit><METHOD> <URL>\n<body...>
 *
 * The digit picks the fake VM's state (0 created, 1 running, 2 paused, 3 stopped).  Checked:
 * only documented status codes come back, every non-204 body is a JSON object (errors with
 * one "error" string), 405 carries Allow, and the VM's state changes only on a 204 to a PUT.
 * The fake VM is tests/unit/fake_vm.h, the one the router's unit tests use.  The same
 * request is routed again with an over-cap length, which must never read the body.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "vmm/control_route.h"
#include "tests/unit/fake_vm.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

static void check_response(const struct control_response *r, const char *method)
{
	struct json_object *o, *e;

	switch (r->status) {
	case 204:
		CHECK(!r->body && !strcmp(method, "PUT"));
		return;
	case 200:
		/* GETs, and the PUTs that answer with data (fork children, a memory hash). */
		CHECK(!strcmp(method, "GET") || !strcmp(method, "PUT"));
		break;
	case 405:
		CHECK(r->allow);
		break;
	case 400:
	case 404:
	case 409:
	case 413:
		break;
	default:
		CHECK(0);	/* 500 cannot happen: the fake never fails */
	}
	CHECK(r->body && strlen(r->body) == r->body_len);
	o = json_tokener_parse(r->body);
	CHECK(o && json_object_is_type(o, json_type_object));
	if (r->status != 200) {
		CHECK(json_object_object_length(o) == 1);
		CHECK(json_object_object_get_ex(o, "error", &e));
		CHECK(json_object_is_type(e, json_type_string));
	}
	json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake_vm vm = { 0 };
	struct control_router router;
	struct control_response resp;
	const uint8_t *nl, *sp;
	char *line, *method, *url, *body;
	size_t line_len, body_len;
	enum mvmm_vm_state before;

	if (!size)
		return 0;
	vm.state = (enum mvmm_vm_state)((data[0] - '0') & 3);
	data++;
	size--;
	nl = memchr(data, '\n', size);
	line_len = nl ? (size_t)(nl - data) : size;
	body_len = nl ? size - line_len - 1 : 0;

	/* METHOD and URL as C strings (a NUL inside just shortens them, as in any C server). */
	line = calloc(1, line_len + 2);
	body = malloc(body_len ? body_len : 1);	/* exact size: overreads are ASan reports */
	if (!line || !body)
		goto out;
	memcpy(line, data, line_len);
	memcpy(body, data + line_len + 1, body_len);
	sp = memchr(line, ' ', line_len);
	method = line;
	url = sp ? (char *)sp + 1 : line + line_len + 1;	/* no space: empty URL */
	if (sp)
		*(char *)sp = '\0';

	control_router_init(&router, &fake_ops, &vm);
	before = vm.state;
	CHECK(control_route(&router, method, url, body, body_len, &resp) == 0);
	check_response(&resp, method);
	/* Only a successful PUT may change the VM (fork and snapshot leave its state as is). */
	CHECK(resp.status == 204 || vm.state == before);
	control_response_fini(&resp);

	before = vm.state;
	CHECK(control_route(&router, method, url, NULL, CONTROL_MAX_BODY + 1 + size, &resp) == 0);
	CHECK(resp.status == 404 || resp.status == 405 || resp.status == 413);
	CHECK(vm.state == before);
	check_response(&resp, method);
	control_response_fini(&resp);
	CHECK(router.requests == 2);
out:
	free(line);
	free(body);
	return 0;
}
