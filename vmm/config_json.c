/* SPDX-License-Identifier: MIT */
/*
 * VM configuration <-> JSON (schema in config_json.h).  The JSON text comes from users and,
 * through the API, from any local client allowed on the socket, so the parser is defensive:
 * the size and nesting are capped before json-c sees the text, the tokenizer runs in strict
 * UTF-8-validating mode, and the resulting tree is walked against a fixed table of members so
 * that nothing unknown passes silently.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "config_json.h"
#include "util.h"
#include "vm.h"

#define VM_MIN_MEM (16 * MiB)
#define VM_MAX_MEM (1024 * GiB)
#define JSON_PATH_MAX 4096		/* longest kernel/initrd/serial file path accepted */
#define JSON_CMDLINE_MAX 4096		/* generous; the boot code enforces the real limit */

static const char *const log_level_names[] = {
	[MVMM_LOG_ERROR] = "error",
	[MVMM_LOG_WARN] = "warn",
	[MVMM_LOG_INFO] = "info",
	[MVMM_LOG_DEBUG] = "debug",
};

int json_config_log_level(const char *name, enum mvmm_log_level *out)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(log_level_names); i++) {
		if (!strcmp(name, log_level_names[i])) {
			*out = (enum mvmm_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *json_config_log_level_name(enum mvmm_log_level level)
{
	if ((unsigned int)level >= ARRAY_SIZE(log_level_names))
		return "debug";
	return log_level_names[level];
}

static void __attribute__((format(printf, 3, 4))) set_err(char *err, size_t errlen,
							 const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	/* Messages quote user input: keep them on one printable line. */
	for (char *p = err; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
}

/* "a string", "an integer", ... for "expected X, got Y" messages. */
static const char *type_desc(const struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a non-integer number";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "an unknown type";
}

/* Walk state: the path of the member being checked ("machine.cpus") and the error sink. */
struct walk {
	struct json_config *cfg;
	char *err;
	size_t errlen;
};

static int wrong_type(struct walk *w, const char *path, const struct json_object *v,
		      const char *want)
{
	set_err(w->err, w->errlen, "%s: expected %s, got %s", path, want, type_desc(v));
	return -EINVAL;
}

/*
 * A string member: no embedded NUL (json-c keeps "\u0000" in the value, C would truncate at
 * it), non-empty unless `allow_empty`, at most `max` bytes.  `allow_null` maps null to NULL.
 */
static int get_string(struct walk *w, const char *path, struct json_object *v, bool allow_null,
		      bool allow_empty, size_t max, char **out)
{
	const char *s;
	size_t len;

	if (allow_null && json_object_is_type(v, json_type_null)) {
		free(*out);
		*out = NULL;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return wrong_type(w, path, v, allow_null ? "a string or null" : "a string");
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len) {
		set_err(w->err, w->errlen, "%s: string contains a NUL character", path);
		return -EINVAL;
	}
	if (!len && !allow_empty) {
		set_err(w->err, w->errlen, "%s: must not be empty", path);
		return -EINVAL;
	}
	if (len > max) {
		set_err(w->err, w->errlen, "%s: longer than %zu bytes", path, max);
		return -EINVAL;
	}
	free(*out);
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int check_mem(struct walk *w, const char *path, struct json_object *v)
{
	uint64_t bytes;
	int64_t n;

	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);

		if (strlen(s) != (size_t)json_object_get_string_len(v) ||
		    mvmm_parse_size(s, &bytes)) {
			set_err(w->err, w->errlen,
				"%s: '%.64s' is not a size (bytes, or a number with K, M, G or T)",
				path, s);
			return -EINVAL;
		}
	} else if (json_object_is_type(v, json_type_int)) {
		/* json-c saturates at INT64_MAX/MIN, which the range check below rejects. */
		n = json_object_get_int64(v);
		if (n < 0) {
			set_err(w->err, w->errlen, "%s: must not be negative", path);
			return -EINVAL;
		}
		bytes = (uint64_t)n;
	} else {
		return wrong_type(w, path, v, "a size string or an integer of bytes");
	}
	if (bytes < VM_MIN_MEM || bytes > VM_MAX_MEM || !IS_ALIGNED(bytes, 2 * MiB)) {
		set_err(w->err, w->errlen,
			"%s: %" PRIu64 " bytes is not a multiple of 2 MiB in 16 MiB..1 TiB", path,
			bytes);
		return -EINVAL;
	}
	w->cfg->mem_bytes = bytes;
	w->cfg->has_mem = true;
	return 0;
}

static int check_cpus(struct walk *w, const char *path, struct json_object *v)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int))
		return wrong_type(w, path, v, "an integer");
	n = json_object_get_int64(v);
	if (n < 1 || n > MVMM_MAX_CPUS) {
		set_err(w->err, w->errlen, "%s: %" PRId64 " is not in 1..%d", path, n,
			MVMM_MAX_CPUS);
		return -EINVAL;
	}
	w->cfg->cpus = (uint32_t)n;
	w->cfg->has_cpus = true;
	return 0;
}

static int check_kernel(struct walk *w, const char *path, struct json_object *v)
{
	return get_string(w, path, v, true, false, JSON_PATH_MAX, &w->cfg->kernel);
}

static int check_initrd(struct walk *w, const char *path, struct json_object *v)
{
	return get_string(w, path, v, true, false, JSON_PATH_MAX, &w->cfg->initrd);
}

static int check_cmdline(struct walk *w, const char *path, struct json_object *v)
{
	return get_string(w, path, v, true, true, JSON_CMDLINE_MAX, &w->cfg->cmdline);
}

static int check_serial(struct walk *w, const char *path, struct json_object *v)
{
	int err = get_string(w, path, v, false, false, JSON_PATH_MAX + 5, &w->cfg->serial);
	const char *s = w->cfg->serial;

	if (err)
		return err;
	if (!strcmp(s, "stdio") || !strcmp(s, "none") || (!strncmp(s, "file:", 5) && s[5]))
		return 0;
	set_err(w->err, w->errlen, "%s: '%.64s' is not \"stdio\", \"none\" or \"file:<path>\"",
		path, s);
	return -EINVAL;
}

static int check_api_sock(struct walk *w, const char *path, struct json_object *v)
{
	return get_string(w, path, v, false, false, JSON_CONFIG_SOCK_MAX, &w->cfg->api_sock);
}

static int check_log_level(struct walk *w, const char *path, struct json_object *v)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return wrong_type(w, path, v, "a string");
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v) ||
	    json_config_log_level(s, &w->cfg->log_level)) {
		set_err(w->err, w->errlen,
			"%s: '%.64s' is not one of \"error\", \"warn\", \"info\", \"debug\"", path,
			s);
		return -EINVAL;
	}
	w->cfg->has_log_level = true;
	return 0;
}

static int check_rng(struct walk *w, const char *path, struct json_object *v)
{
	if (!json_object_is_type(v, json_type_boolean))
		return wrong_type(w, path, v, "a boolean");
	w->cfg->rng = json_object_get_boolean(v);
	return 0;
}

/* devices.disks: an array of {"path", "ro", "id"} objects. */
static int check_disks(struct walk *w, const char *path, struct json_object *v)
{
	char p[160];
	size_t n;
	int err;

	if (!json_object_is_type(v, json_type_array))
		return wrong_type(w, path, v, "an array");
	n = json_object_array_length(v);
	if (n > MVMM_MAX_DISKS) {
		set_err(w->err, w->errlen, "%s: at most %d disks", path, MVMM_MAX_DISKS);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(v, i);
		struct json_config_disk *c = &w->cfg->disks[i];
		bool has_path = false;

		w->cfg->nr_disks = (unsigned int)i + 1;
		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		if (!json_object_is_type(d, json_type_object))
			return wrong_type(w, p, d, "an object");
		json_object_object_foreach(d, key, val) {
			char kp[240];

			snprintf(kp, sizeof(kp), "%s.%.64s", p, key);
			if (!strcmp(key, "path")) {
				err = get_string(w, kp, val, false, false, 4095, &c->path);
				has_path = true;
			} else if (!strcmp(key, "id")) {
				err = get_string(w, kp, val, false, false, 20, &c->id);
			} else if (!strcmp(key, "ro")) {
				err = json_object_is_type(val, json_type_boolean) ?
					      0 : wrong_type(w, kp, val, "a boolean");
				c->ro = json_object_get_boolean(val);
			} else {
				set_err(w->err, w->errlen, "%s: unknown field", kp);
				err = -EINVAL;
			}
			if (err)
				return err;
		}
		if (!has_path) {
			set_err(w->err, w->errlen, "%s.path: required", p);
			return -EINVAL;
		}
	}
	return 0;
}

/* One level of the schema: member name -> checker, or -> nested table. */
struct member {
	const char *name;
	int (*check)(struct walk *w, const char *path, struct json_object *v);
	const struct member *children;	/* an object member; NULL-name terminated */
};

static const struct member machine_members[] = {
	{ "mem", check_mem, NULL },
	{ "cpus", check_cpus, NULL },
	{ NULL, NULL, NULL },
};

static const struct member boot_members[] = {
	{ "kernel", check_kernel, NULL },
	{ "initrd", check_initrd, NULL },
	{ "cmdline", check_cmdline, NULL },
	{ NULL, NULL, NULL },
};

static const struct member device_members[] = {
	{ "disks", check_disks, NULL },
	{ "rng", check_rng, NULL },
	{ NULL, NULL, NULL },
};

static const struct member root_members[] = {
	{ "machine", NULL, machine_members },
	{ "boot", NULL, boot_members },
	{ "devices", NULL, device_members },
	{ "serial", check_serial, NULL },
	{ "api_sock", check_api_sock, NULL },
	{ "log_level", check_log_level, NULL },
	{ NULL, NULL, NULL },
};

static int walk_object(struct walk *w, const char *prefix, struct json_object *obj,
		       const struct member *table)
{
	char path[128];
	int err;

	json_object_object_foreach(obj, key, val) {
		const struct member *m = table;

		while (m->name && strcmp(m->name, key))
			m++;
		/* Keys come from the user: print at most 64 bytes of one. */
		snprintf(path, sizeof(path), "%s%s%.64s", prefix, *prefix ? "." : "", key);
		if (!m->name) {
			set_err(w->err, w->errlen, "%s: unknown field", path);
			return -EINVAL;
		}
		if (m->children) {
			if (!json_object_is_type(val, json_type_object))
				return wrong_type(w, path, val, "an object");
			err = walk_object(w, path, val, m->children);
		} else {
			err = m->check(w, path, val);
		}
		if (err)
			return err;
	}
	return 0;
}

/*
 * True when the text holds a "\u0000" escape.  Backslashes occur only inside strings in
 * valid JSON, so pairing them up is enough to find escapes without a full tokenizer.
 */
static bool has_nul_escape(const char *text, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (text[i] != '\\')
			continue;
		if (text[i + 1] == 'u' && i + 6 <= len && !memcmp(&text[i + 2], "0000", 4))
			return true;
		i++;	/* skip the escaped character */
	}
	return false;
}

static bool is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

struct json_object *json_config_parse_object(const char *text, size_t len, const char *what,
					     int *errp, char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *root;
	enum json_tokener_error jerr;
	size_t i = 0;

	*errp = -EINVAL;
	if (!text || len > INT_MAX) {
		set_err(err, errlen, "%s: no text or too much", what);
		return NULL;
	}
	if (memchr(text, '\0', len)) {
		set_err(err, errlen, "%s: text contains a NUL byte", what);
		return NULL;
	}
	while (i < len && is_json_space(text[i]))
		i++;
	if (i == len) {
		set_err(err, errlen, "%s: empty, expected a JSON object", what);
		return NULL;
	}
	if (text[i] != '{') {
		set_err(err, errlen, "%s: expected a JSON object", what);
		return NULL;
	}
	tok = json_tokener_new_ex(JSON_CONFIG_MAX_DEPTH);
	if (!tok) {
		*errp = -ENOMEM;
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (!root) {
		if (jerr == json_tokener_continue)
			set_err(err, errlen, "%s: unexpected end of JSON text", what);
		else
			set_err(err, errlen, "%s: JSON syntax error at offset %zu: %s", what,
				json_tokener_get_parse_end(tok), json_tokener_error_desc(jerr));
	} else if (!json_object_is_type(root, json_type_object)) {
		/* Cannot happen after the '{' check; kept so the walk can rely on it. */
		set_err(err, errlen, "%s: expected a JSON object", what);
		json_object_put(root);
		root = NULL;
	} else {
		*errp = 0;
	}
	json_tokener_free(tok);
	return root;
}

int json_config_parse(const char *text, size_t len, struct json_config *out, char *err,
		      size_t errlen)
{
	struct walk w = { .cfg = out, .err = err, .errlen = errlen };
	struct json_object *root;
	int ret;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	set_err(err, errlen, "%s", "");
	if (!text) {
		set_err(err, errlen, "config: no text");
		return -EINVAL;
	}
	if (len > JSON_CONFIG_MAX_TEXT) {
		set_err(err, errlen, "config: %zu bytes is larger than the %d-byte limit", len,
			JSON_CONFIG_MAX_TEXT);
		return -E2BIG;
	}
	root = json_config_parse_object(text, len, "config", &ret, err, errlen);
	if (!root)
		return ret;
	ret = walk_object(&w, "", root, root_members);
	/* Values with NUL were rejected by name above; one left over is in a member name. */
	if (!ret && has_nul_escape(text, len)) {
		set_err(err, errlen, "config: a member name contains a NUL character");
		ret = -EINVAL;
	}
	json_object_put(root);
	if (ret)
		json_config_free(out);
	return ret;
}

int json_config_load(const char *path, struct json_config *out, char *err, size_t errlen)
{
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd, ret;

	if (!path || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		set_err(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	/* One byte more than the limit tells "too big" from "exactly at the limit". */
	buf = malloc(JSON_CONFIG_MAX_TEXT + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out_close;
	}
	while (len <= JSON_CONFIG_MAX_TEXT) {
		n = RETRY_EINTR(read(fd, buf + len, JSON_CONFIG_MAX_TEXT + 1 - len));
		if (n < 0) {
			ret = -errno;
			set_err(err, errlen, "%s: %s", path, strerror(-ret));
			goto out_free;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	ret = json_config_parse(buf, len, out, err, errlen);
out_free:
	free(buf);
out_close:
	close(fd);
	return ret;
}

void json_config_free(struct json_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->cmdline);
	free(cfg->serial);
	free(cfg->api_sock);
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		free(cfg->disks[i].path);
		free(cfg->disks[i].id);
	}
	memset(cfg, 0, sizeof(*cfg));
}

/* Bytes as the shortest exact size string: "256M", "1G", "3145728K" or plain bytes. */
static void format_size(uint64_t bytes, char *buf, size_t len)
{
	static const struct {
		char unit;
		uint64_t mult;
	} units[] = { { 'T', 1024 * GiB }, { 'G', GiB }, { 'M', MiB }, { 'K', KiB } };

	for (size_t i = 0; bytes && i < ARRAY_SIZE(units); i++) {
		if (IS_ALIGNED(bytes, units[i].mult)) {
			snprintf(buf, len, "%" PRIu64 "%c", bytes / units[i].mult, units[i].unit);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, bytes);
}

/* Add `val` (NULL is json null when allowed) under `key`; on failure `val` is released. */
static int add(struct json_object *obj, const char *key, struct json_object *val, bool allow_null)
{
	if (!val && !allow_null)
		return -ENOMEM;
	if (json_object_object_add(obj, key, val)) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

static struct json_object *new_string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

struct json_object *json_config_to_json(const struct json_config *cfg)
{
	struct json_object *root, *machine, *boot;
	char size[32];
	int err = 0;

	if (!cfg)
		return NULL;
	root = json_object_new_object();
	if (!root)
		return NULL;
	machine = json_object_new_object();
	if (add(root, "machine", machine, false))
		goto fail;
	boot = json_object_new_object();
	if (add(root, "boot", boot, false))
		goto fail;
	/* From here on the tree owns machine and boot: one put of root frees everything. */
	if (cfg->has_mem) {
		format_size(cfg->mem_bytes, size, sizeof(size));
		err |= add(machine, "mem", json_object_new_string(size), false);
	}
	if (cfg->has_cpus)
		err |= add(machine, "cpus", json_object_new_int64(cfg->cpus), false);
	/* A NULL value is how json-c stores null; a string that failed to allocate is an error. */
	err |= add(boot, "kernel", new_string_or_null(cfg->kernel), !cfg->kernel);
	err |= add(boot, "initrd", new_string_or_null(cfg->initrd), !cfg->initrd);
	err |= add(boot, "cmdline", new_string_or_null(cfg->cmdline), !cfg->cmdline);
	if (cfg->nr_disks || cfg->rng) {
		struct json_object *devs = json_object_new_object(), *arr = json_object_new_array();

		err |= add(root, "devices", devs, false);
		err |= devs ? add(devs, "disks", arr, false) : -ENOMEM;
		for (unsigned int i = 0; !err && i < cfg->nr_disks; i++) {
			struct json_object *d = json_object_new_object();

			err |= d ? json_object_array_add(arr, d) : -ENOMEM;
			if (err)
				break;
			err |= add(d, "path", json_object_new_string(cfg->disks[i].path), false);
			err |= add(d, "ro", json_object_new_boolean(cfg->disks[i].ro), false);
			if (cfg->disks[i].id)
				err |= add(d, "id", json_object_new_string(cfg->disks[i].id),
					   false);
		}
		if (!err)
			err |= add(devs, "rng", json_object_new_boolean(cfg->rng), false);
	}
	if (cfg->serial)
		err |= add(root, "serial", json_object_new_string(cfg->serial), false);
	if (cfg->api_sock)
		err |= add(root, "api_sock", json_object_new_string(cfg->api_sock), false);
	if (cfg->has_log_level)
		err |= add(root, "log_level",
			   json_object_new_string(json_config_log_level_name(cfg->log_level)),
			   false);
	if (!err)
		return root;
fail:
	json_object_put(root);
	return NULL;
}

char *json_config_dump(const struct json_config *cfg)
{
	struct json_object *o = json_config_to_json(cfg);
	const char *s;
	char *copy = NULL;

	if (!o)
		return NULL;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s)
		copy = strdup(s);
	json_object_put(o);
	return copy;
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

int json_config_from_vm(const struct vm *vm, struct json_config *out)
{
	if (!vm || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	/* vm->config is written once in vm_create() and read-only after: no lock needed. */
	out->mem_bytes = vm->config.mem_bytes;
	out->cpus = vm->config.cpus;
	out->has_mem = out->has_cpus = true;
	out->log_level = vm->log.level;
	out->has_log_level = true;
	out->rng = vm->config.rng;
	if (dup_opt(vm->config.kernel_path, &out->kernel) ||
	    dup_opt(vm->config.initrd_path, &out->initrd) ||
	    dup_opt(vm->config.cmdline, &out->cmdline))
		goto oom;
	for (unsigned int i = 0; i < vm->config.nr_disks && i < MVMM_MAX_DISKS; i++) {
		out->nr_disks = i + 1;
		out->disks[i].ro = vm->config.disks[i].ro;
		if (dup_opt(vm->config.disks[i].path, &out->disks[i].path) ||
		    dup_opt(vm->config.disks[i].id, &out->disks[i].id))
			goto oom;
	}
	return 0;
oom:
	json_config_free(out);
	return -ENOMEM;
}
