/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for json_config_parse() (vmm/config_json.c): any bytes in, and
 *  - a rejected text leaves the struct zeroed and says why;
 *  - an accepted one dumps to JSON that parses back to the same config.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config_json.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

static int str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct json_config zero;
	struct json_config a, b;
	char err[256], *text, *dump;
	int ret;

	/* An exact-size copy, so reading past `size` is an ASan report. */
	text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	ret = json_config_parse(text, size, &a, err, sizeof(err));
	free(text);
	if (ret) {
		CHECK(ret == -EINVAL || ret == -E2BIG || ret == -ENOMEM);
		CHECK(err[0] && memchr(err, '\0', sizeof(err)));
		CHECK(!memcmp(&a, &zero, sizeof(a)));
		return 0;
	}
	dump = json_config_dump(&a);
	CHECK(dump);
	ret = json_config_parse(dump, strlen(dump), &b, err, sizeof(err));
	/* Escaping can make the dump of a text near the size cap larger than the cap. */
	if (ret != -E2BIG) {
		CHECK(ret == 0);
		CHECK(a.has_mem == b.has_mem && (!a.has_mem || a.mem_bytes == b.mem_bytes));
		CHECK(a.has_cpus == b.has_cpus && (!a.has_cpus || a.cpus == b.cpus));
		CHECK(a.has_log_level == b.has_log_level &&
		      (!a.has_log_level || a.log_level == b.log_level));
		CHECK(str_eq(a.kernel, b.kernel) && str_eq(a.initrd, b.initrd));
		CHECK(str_eq(a.cmdline, b.cmdline) && str_eq(a.serial, b.serial));
		CHECK(str_eq(a.api_sock, b.api_sock));
		json_config_free(&b);
	}
	free(dump);
	json_config_free(&a);
	return 0;
}
