/* SPDX-License-Identifier: MIT */
/*
 * vmm/config_json.c: the VM config schema of `mvmm run --config` and GET /vm.  Valid configs
 * parse to the right values; every kind of invalid input is rejected with a message that
 * names the offending member; the dump parses back to the same config.
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
#include <unistd.h>
#include <json-c/json.h>

#include "vmm/config_json.h"
#include "vmm/util.h"

static int parse(const char *text, struct json_config *cfg, char *err, size_t errlen)
{
	return json_config_parse(text, strlen(text), cfg, err, errlen);
}

/* `text` must fail with `want_err` and a message containing `want_msg`; *cfg stays zeroed. */
static void expect_bad_n(const char *text, size_t len, int want_err, const char *want_msg)
{
	static const struct json_config zero;
	struct json_config cfg;
	char err[256];
	int ret = json_config_parse(text, len, &cfg, err, sizeof(err));

	if (ret != want_err)
		fail_msg("'%.80s': got %d (%s), want %d", text, ret, err, want_err);
	if (!strstr(err, want_msg))
		fail_msg("'%.80s': message '%s' lacks '%s'", text, err, want_msg);
	assert_memory_equal(&cfg, &zero, sizeof(cfg));
}

static void expect_bad(const char *text, const char *want_msg)
{
	expect_bad_n(text, strlen(text), -EINVAL, want_msg);
}

static void test_minimal(void **state)
{
	struct json_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(parse("{}", &cfg, err, sizeof(err)), 0);
	assert_false(cfg.has_mem || cfg.has_cpus || cfg.has_log_level);
	assert_null(cfg.kernel);
	assert_null(cfg.serial);
	json_config_free(&cfg);
	assert_int_equal(parse(" \n{ }\t\r\n", &cfg, NULL, 0), 0);
	json_config_free(&cfg);
	/* Empty sub-objects and nulls are "not set". */
	assert_int_equal(parse("{\"machine\":{},\"boot\":{\"kernel\":null,\"initrd\":null,"
			       "\"cmdline\":null}}", &cfg, err, sizeof(err)), 0);
	assert_null(cfg.kernel);
	assert_null(cfg.initrd);
	assert_null(cfg.cmdline);
	json_config_free(&cfg);
}

static void test_full(void **state)
{
	static const char text[] =
		"{\"machine\":{\"mem\":\"512M\",\"cpus\":4},"
		"\"boot\":{\"kernel\":\"/k/vmlinux\",\"initrd\":\"/k/initrd.cpio\","
		"\"cmdline\":\"console=ttyS0 quiet\"},"
		"\"serial\":\"file:/tmp/console.log\",\"api_sock\":\"/run/mvmm/a.sock\","
		"\"log_level\":\"warn\"}";
	struct json_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(parse(text, &cfg, err, sizeof(err)), 0);
	assert_true(cfg.has_mem);
	assert_int_equal(cfg.mem_bytes, 512 * MiB);
	assert_true(cfg.has_cpus);
	assert_int_equal(cfg.cpus, 4);
	assert_string_equal(cfg.kernel, "/k/vmlinux");
	assert_string_equal(cfg.initrd, "/k/initrd.cpio");
	assert_string_equal(cfg.cmdline, "console=ttyS0 quiet");
	assert_string_equal(cfg.serial, "file:/tmp/console.log");
	assert_string_equal(cfg.api_sock, "/run/mvmm/a.sock");
	assert_true(cfg.has_log_level);
	assert_int_equal(cfg.log_level, MVMM_LOG_WARN);
	json_config_free(&cfg);
	json_config_free(&cfg);		/* idempotent on a freed (zeroed) struct */
	json_config_free(NULL);
}

static void test_values(void **state)
{
	static const struct {
		const char *text;
		uint64_t mem;
	} mems[] = {
		{ "{\"machine\":{\"mem\":\"16M\"}}", 16 * MiB },
		{ "{\"machine\":{\"mem\":\"1G\"}}", GiB },
		{ "{\"machine\":{\"mem\":\"1T\"}}", 1024 * GiB },
		{ "{\"machine\":{\"mem\":\"2048KiB\"}}", 0 },	/* 2 MiB: too small */
		{ "{\"machine\":{\"mem\":268435456}}", 256 * MiB },
		{ "{\"machine\":{\"mem\":\"268435456\"}}", 256 * MiB },
	};
	static const char *const serials[] = { "stdio", "none", "file:x" };
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	struct json_config cfg;
	char text[128], err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(mems); i++) {
		int ret = parse(mems[i].text, &cfg, err, sizeof(err));

		if (!mems[i].mem) {
			assert_int_equal(ret, -EINVAL);
			continue;
		}
		if (ret)
			fail_msg("%s: %s", mems[i].text, err);
		assert_int_equal(cfg.mem_bytes, mems[i].mem);
		json_config_free(&cfg);
	}
	for (unsigned int n = 1; n <= MVMM_MAX_CPUS; n += MVMM_MAX_CPUS - 1) {
		snprintf(text, sizeof(text), "{\"machine\":{\"cpus\":%u}}", n);
		assert_int_equal(parse(text, &cfg, err, sizeof(err)), 0);
		assert_int_equal(cfg.cpus, n);
		json_config_free(&cfg);
	}
	for (size_t i = 0; i < ARRAY_SIZE(serials); i++) {
		snprintf(text, sizeof(text), "{\"serial\":\"%s\"}", serials[i]);
		assert_int_equal(parse(text, &cfg, err, sizeof(err)), 0);
		assert_string_equal(cfg.serial, serials[i]);
		json_config_free(&cfg);
	}
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++) {
		snprintf(text, sizeof(text), "{\"log_level\":\"%s\"}", levels[i]);
		assert_int_equal(parse(text, &cfg, err, sizeof(err)), 0);
		assert_int_equal(cfg.log_level, (int)i);
		assert_string_equal(json_config_log_level_name(cfg.log_level), levels[i]);
		json_config_free(&cfg);
	}
	/* Empty cmdline is fine; escapes are decoded; the last duplicate wins. */
	assert_int_equal(parse("{\"boot\":{\"cmdline\":\"\"}}", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.cmdline, "");
	json_config_free(&cfg);
	assert_int_equal(parse("{\"boot\":{\"kernel\":\"\\/a\\u00e9\"}}", &cfg, err, sizeof(err)),
			 0);
	assert_string_equal(cfg.kernel, "/a\xc3\xa9");
	json_config_free(&cfg);
	assert_int_equal(parse("{\"machine\":{\"cpus\":1,\"cpus\":3}}", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.cpus, 3);
	json_config_free(&cfg);
}

static void test_unknown_fields(void **state)
{
	(void)state;
	expect_bad("{\"memory\":1}", "memory: unknown field");
	expect_bad("{\"machine\":{\"memory\":\"1G\"}}", "machine.memory: unknown field");
	expect_bad("{\"boot\":{\"kernel\":\"/k\",\"append\":\"x\"}}", "boot.append: unknown field");
	expect_bad("{\"machine\":{\"cpus\":1},\"Machine\":{}}", "Machine: unknown field");
	expect_bad("{\"\":1}", ": unknown field");
}

static void test_wrong_types(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "{\"machine\":1}", "machine: expected an object, got an integer" },
		{ "{\"machine\":[]}", "machine: expected an object, got an array" },
		{ "{\"boot\":\"/k\"}", "boot: expected an object, got a string" },
		{ "{\"boot\":null}", "boot: expected an object, got null" },
		{ "{\"machine\":{\"mem\":true}}",
		  "machine.mem: expected a size string or an integer of bytes, got a boolean" },
		{ "{\"machine\":{\"mem\":1.5}}", "machine.mem: expected a size string" },
		{ "{\"machine\":{\"cpus\":\"2\"}}", "machine.cpus: expected an integer, got a s" },
		{ "{\"machine\":{\"cpus\":2.5}}", "machine.cpus: expected an integer, got a non-" },
		{ "{\"machine\":{\"cpus\":2.0}}", "machine.cpus: expected an integer" },
		{ "{\"machine\":{\"cpus\":null}}", "machine.cpus: expected an integer, got null" },
		{ "{\"boot\":{\"kernel\":1}}", "boot.kernel: expected a string or null, got an" },
		{ "{\"boot\":{\"initrd\":{}}}", "boot.initrd: expected a string or null" },
		{ "{\"boot\":{\"cmdline\":[\"a\"]}}", "boot.cmdline: expected a string or null" },
		{ "{\"serial\":null}", "serial: expected a string, got null" },
		{ "{\"serial\":false}", "serial: expected a string, got a boolean" },
		{ "{\"api_sock\":7}", "api_sock: expected a string" },
		{ "{\"log_level\":3}", "log_level: expected a string, got an integer" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		expect_bad(cases[i].text, cases[i].msg);
}

static void test_devices(void **state)
{
	struct json_config cfg;
	char err[256], *dump;

	(void)state;
	assert_int_equal(parse("{\"devices\":{\"disks\":[{\"path\":\"/a.img\"},"
			       "{\"path\":\"/b.img\",\"ro\":true,\"id\":\"data\"}],\"rng\":true}}",
			       &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.nr_disks, 2);
	assert_string_equal(cfg.disks[0].path, "/a.img");
	assert_false(cfg.disks[0].ro);
	assert_null(cfg.disks[0].id);
	assert_string_equal(cfg.disks[1].id, "data");
	assert_true(cfg.disks[1].ro);
	assert_true(cfg.rng);
	dump = json_config_dump(&cfg);
	assert_non_null(strstr(dump, "\"devices\":{\"disks\":[{\"path\":\"/a.img\",\"ro\":false}"));
	assert_non_null(strstr(dump, "\"rng\":true"));
	free(dump);
	json_config_free(&cfg);

	expect_bad("{\"devices\":[]}", "devices: expected an object, got an array");
	expect_bad("{\"devices\":{\"disks\":{}}}", "devices.disks: expected an array");
	expect_bad("{\"devices\":{\"disks\":[1]}}", "devices.disks[0]: expected an object");
	expect_bad("{\"devices\":{\"disks\":[{\"ro\":true}]}}", "devices.disks[0].path: required");
	expect_bad("{\"devices\":{\"disks\":[{\"path\":\"/a\"},{\"path\":\"/b\",\"size\":1}]}}",
		   "devices.disks[1].size: unknown field");
	expect_bad("{\"devices\":{\"disks\":[{\"path\":\"/a\",\"ro\":1}]}}",
		   "devices.disks[0].ro: expected a boolean");
	expect_bad("{\"devices\":{\"disks\":[{\"path\":\"/a\",\"id\":\"123456789012345678901\"}]}}",
		   "devices.disks[0].id: longer than 20 bytes");
	expect_bad("{\"devices\":{\"disks\":[{\"path\":\"\"}]}}", "devices.disks[0].path: must not be empty");
	expect_bad("{\"devices\":{\"rng\":\"yes\"}}", "devices.rng: expected a boolean");
	expect_bad("{\"devices\":{\"net\":{}}}", "devices.net: unknown field");
	expect_bad("{\"devices\":{\"disks\":[{\"path\":\"/1\"},{\"path\":\"/2\"},{\"path\":\"/3\"},"
		   "{\"path\":\"/4\"},{\"path\":\"/5\"},{\"path\":\"/6\"},{\"path\":\"/7\"},{\"path\":\"/8\"},"
		   "{\"path\":\"/9\"}]}}", "devices.disks: at most 8 disks");
}

static void test_bad_values(void **state)
{
	char name[200], sock[256];

	(void)state;
	expect_bad("{\"machine\":{\"mem\":\"lots\"}}", "machine.mem: 'lots' is not a size");
	expect_bad("{\"machine\":{\"mem\":\"\"}}", "machine.mem:");
	expect_bad("{\"machine\":{\"mem\":\"12X\"}}", "machine.mem:");
	expect_bad("{\"machine\":{\"mem\":\"-1G\"}}", "machine.mem:");
	expect_bad("{\"machine\":{\"mem\":\"99999999999999999999G\"}}", "machine.mem:");
	expect_bad("{\"machine\":{\"mem\":\"8M\"}}", "machine.mem: 8388608 bytes is not");
	expect_bad("{\"machine\":{\"mem\":\"2T\"}}", "16 MiB..1 TiB");
	expect_bad("{\"machine\":{\"mem\":\"257M\"}}", "machine.mem: 269484032 bytes is not a "
		   "multiple of 2 MiB");
	expect_bad("{\"machine\":{\"mem\":16777217}}", "machine.mem:");
	expect_bad("{\"machine\":{\"mem\":-16777216}}", "machine.mem: must not be negative");
	expect_bad("{\"machine\":{\"mem\":99999999999999999999}}", "machine.mem:");
	expect_bad("{\"machine\":{\"cpus\":0}}", "machine.cpus: 0 is not in 1..64");
	expect_bad("{\"machine\":{\"cpus\":65}}", "machine.cpus: 65 is not in 1..64");
	expect_bad("{\"machine\":{\"cpus\":-1}}", "machine.cpus: -1 is not in");
	expect_bad("{\"machine\":{\"cpus\":4294967297}}", "machine.cpus:");
	expect_bad("{\"boot\":{\"kernel\":\"\"}}", "boot.kernel: must not be empty");
	expect_bad("{\"boot\":{\"initrd\":\"\"}}", "boot.initrd: must not be empty");
	expect_bad("{\"serial\":\"tty\"}", "serial: 'tty' is not");
	expect_bad("{\"serial\":\"file:\"}", "serial: 'file:' is not");
	expect_bad("{\"serial\":\"\"}", "serial: must not be empty");
	expect_bad("{\"api_sock\":\"\"}", "api_sock: must not be empty");
	expect_bad("{\"log_level\":\"verbose\"}", "log_level: 'verbose' is not one of");
	expect_bad("{\"log_level\":\"ERROR\"}", "log_level:");
	expect_bad("{\"serial\":\"a\\nb\"}", "serial: 'a?b' is not");	/* stays one line */
	memset(name, 'a', sizeof(name));
	snprintf(sock, sizeof(sock), "{\"api_sock\":\"/%.*s\"}", JSON_CONFIG_SOCK_MAX, name);
	expect_bad(sock, "api_sock: longer than 107 bytes");
}

static void test_nul(void **state)
{
	static const char raw[] = "{\"boot\":{\"kernel\":\"/a\0b\"}}";
	struct json_config cfg;

	(void)state;
	expect_bad("{\"boot\":{\"kernel\":\"/a\\u0000b\"}}", "boot.kernel: string contains a NUL");
	expect_bad("{\"boot\":{\"cmdline\":\"\\u0000\"}}", "boot.cmdline: string contains a NUL");
	expect_bad("{\"serial\":\"stdio\\u0000x\"}", "serial: string contains a NUL");
	expect_bad("{\"log_level\":\"info\\u0000\"}", "log_level:");
	expect_bad("{\"machine\":{\"mem\":\"1G\\u0000\"}}", "machine.mem:");
	expect_bad("{\"machine\":{\"cpus\\u0000x\":2}}", "member name contains a NUL");
	expect_bad_n(raw, sizeof(raw) - 1, -EINVAL, "config: text contains a NUL byte");
	/* An escaped backslash followed by "u0000" is just text. */
	assert_int_equal(parse("{\"boot\":{\"cmdline\":\"a\\\\u0000\"}}", &cfg, NULL, 0), 0);
	assert_string_equal(cfg.cmdline, "a\\u0000");
	json_config_free(&cfg);
}

static void test_syntax(void **state)
{
	char deep[64] = "";

	(void)state;
	expect_bad("", "config: empty");
	expect_bad("   ", "config: empty");
	expect_bad("[]", "config: expected a JSON object");
	expect_bad("\"machine\"", "config: expected a JSON object");
	expect_bad("42", "config: expected a JSON object");
	expect_bad("null", "config: expected a JSON object");
	expect_bad("{", "config: unexpected end");
	expect_bad("{\"machine\":{\"cpus\":2}", "config: unexpected end");
	expect_bad("{} x", "config: JSON syntax error at offset 3");
	expect_bad("{}{}", "config: JSON syntax error");
	expect_bad("{\"a\":1,}", "config: JSON syntax error");
	expect_bad("{\"machine\":{\"cpus\":01}}", "config: JSON syntax error");
	expect_bad("{\"boot\":{\"kernel\":\"\xff\"}}", "config: JSON syntax error");
	expect_bad("{/*c*/}", "config: JSON syntax error");
	for (int i = 0; i < 12; i++)
		strcat(deep, "{\"a\":");
	expect_bad(deep, "config: JSON syntax error");
	expect_bad_n(NULL, 0, -EINVAL, "config: no text");
}

static void test_size_limit(void **state)
{
	size_t len = JSON_CONFIG_MAX_TEXT + 1;
	char *text = malloc(len + 1);
	struct json_config cfg;
	char err[256];

	(void)state;
	assert_non_null(text);
	/* Exactly at the limit: a valid object padded with whitespace. */
	memset(text, ' ', len);
	memcpy(text, "{}", 2);
	assert_int_equal(json_config_parse(text, JSON_CONFIG_MAX_TEXT, &cfg, err, sizeof(err)), 0);
	json_config_free(&cfg);
	expect_bad_n(text, len, -E2BIG, "config: 65537 bytes is larger than");
	free(text);
}

static void test_dump_roundtrip(void **state)
{
	static const char text[] =
		"{\"machine\":{\"mem\":\"3G\",\"cpus\":2},"
		"\"boot\":{\"kernel\":\"/k/vm linux\",\"cmdline\":\"a=\\\"b\\\"\"},"
		"\"serial\":\"none\",\"api_sock\":\"/s.sock\",\"log_level\":\"debug\"}";
	struct json_config a, b;
	struct json_object *o, *boot, *v;
	char err[256], *dump;

	(void)state;
	assert_int_equal(parse(text, &a, err, sizeof(err)), 0);
	dump = json_config_dump(&a);
	assert_non_null(dump);
	assert_int_equal(parse(dump, &b, err, sizeof(err)), 0);
	assert_int_equal(b.mem_bytes, 3 * GiB);
	assert_int_equal(b.cpus, 2);
	assert_string_equal(b.kernel, "/k/vm linux");
	assert_null(b.initrd);
	assert_string_equal(b.cmdline, "a=\"b\"");
	assert_string_equal(b.serial, "none");
	assert_string_equal(b.api_sock, "/s.sock");
	assert_int_equal(b.log_level, MVMM_LOG_DEBUG);
	/* Shape: mem as a size string, unset boot members as null. */
	o = json_tokener_parse(dump);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "boot", &boot));
	assert_true(json_object_object_get_ex(boot, "initrd", &v));
	assert_null(v);
	assert_true(json_pointer_get(o, "/machine/mem", &v) == 0);
	assert_string_equal(json_object_get_string(v), "3G");
	json_object_put(o);
	free(dump);
	json_config_free(&a);
	json_config_free(&b);

	/* The empty config dumps to the two always-present objects. */
	memset(&a, 0, sizeof(a));
	dump = json_config_dump(&a);
	assert_string_equal(dump, "{\"machine\":{},\"boot\":{\"kernel\":null,\"initrd\":null,"
			    "\"cmdline\":null}}");
	free(dump);
	a.has_mem = true;
	a.mem_bytes = 258 * MiB;
	dump = json_config_dump(&a);
	assert_non_null(strstr(dump, "\"mem\":\"258M\""));
	free(dump);
	assert_null(json_config_dump(NULL));
}

static void test_load(void **state)
{
	char path[] = "/tmp/mvmm-config-test-XXXXXX";
	struct json_config cfg;
	char err[256];
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"machine\":{\"cpus\":3}}\n", 23), 23);
	close(fd);
	assert_int_equal(json_config_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.cpus, 3);
	json_config_free(&cfg);
	unlink(path);
	assert_int_equal(json_config_load(path, &cfg, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_dump_roundtrip),
		cmocka_unit_test(test_load),
	};

	if (argc > 1 && argv[1][0])
		cmocka_set_test_filter(argv[1]);
	if (argc > 2 && argv[2][0])
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
