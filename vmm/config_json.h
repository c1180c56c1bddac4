/* SPDX-License-Identifier: MIT */
/*
 * The VM configuration as JSON: the file of `mvmm run --config F.json` and the "config" object
 * of `GET /vm` (docs/api.md).  Parsed and printed with json-c.
 *
 *   {
 *     "machine": { "mem": "256M" | 268435456,   guest RAM: a size string (mvmm_parse_size:
 *                                               "256M", "1G", "4096K") or an integer of bytes;
 *                                               a multiple of 2 MiB in 16 MiB..1 TiB
 *                  "cpus": 2 },                 vCPUs, integer 1..MVMM_MAX_CPUS
 *     "boot": { "kernel": "/path" | null,       vmlinux/bzImage; null: the built-in test guest
 *               "initrd": "/path" | null,
 *               "cmdline": "console=ttyS0" | null },
 *     "devices": { "disks": [ { "path": "/img", "ro": false, "id": "blk0" } ],
 *                                               virtio-blk disks (<= MVMM_MAX_DISKS); path
 *                                               required, ro and id (<= 20 bytes) optional
 *                  "rng": true },               a virtio-rng device
 *     "serial": "stdio" | "none" | "file:/path",
 *     "api_sock": "/path",                      control API socket (< 108 bytes)
 *     "log_level": "error" | "warn" | "info" | "debug"
 *   }
 *
 * Every member is optional.  Rules: the text is at most JSON_CONFIG_MAX_TEXT bytes of UTF-8
 * holding exactly one JSON object (nothing but whitespace after it); unknown members at any
 * level are errors; a member of the wrong type is an error naming the member and the type it
 * needs; strings may not contain NUL; null is accepted only where shown above and means "not
 * set".  When a member appears twice, the last one counts (json-c keeps the last).
 *
 * Errors come back as a negative errno and one line in `err` that starts with the JSON path of
 * the offending member, e.g. "machine.memory: unknown field" or "machine.cpus: expected an
 * integer, got a string".
 */
#ifndef MVMM_VMM_CONFIG_JSON_H
#define MVMM_VMM_CONFIG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mvmm/mvmm.h"

struct vm;
struct json_object;

#define JSON_CONFIG_MAX_TEXT (64 * 1024)	/* bytes of JSON text accepted */
#define JSON_CONFIG_MAX_DEPTH 8			/* nesting accepted by the tokenizer */
#define JSON_CONFIG_SOCK_MAX 107		/* sizeof(sockaddr_un.sun_path) - 1 */

struct json_config {
	uint64_t mem_bytes;		/* valid when has_mem */
	uint32_t cpus;			/* valid when has_cpus */
	char *kernel;			/* owned; NULL: not set (built-in test guest) */
	char *initrd;			/* owned or NULL */
	char *cmdline;			/* owned or NULL */
	char *serial;			/* owned: "stdio", "none" or "file:<path>"; or NULL */
	char *api_sock;			/* owned or NULL */
	enum mvmm_log_level log_level;	/* valid when has_log_level */
	bool has_mem;
	bool has_cpus;
	bool has_log_level;
	bool rng;			/* devices.rng */
	unsigned int nr_disks;		/* devices.disks */
	struct json_config_disk {
		char *path;		/* owned */
		char *id;		/* owned or NULL */
		bool ro;
	} disks[MVMM_MAX_DISKS];
};

/*
 * Parse `len` bytes of `text` (no terminator needed) into *out, which is zeroed first and on
 * failure left zeroed.  Returns 0, -EINVAL (bad JSON or bad value; `err` says which member),
 * -E2BIG (text larger than JSON_CONFIG_MAX_TEXT) or -ENOMEM.  `err` may be NULL.
 */
int json_config_parse(const char *text, size_t len, struct json_config *out, char *err,
		      size_t errlen);
/* Read the file at `path` (at most JSON_CONFIG_MAX_TEXT bytes) and parse it; I/O errors name it. */
int json_config_load(const char *path, struct json_config *out, char *err, size_t errlen);
/* Free the owned strings and zero *cfg.  NULL-safe; safe on a zeroed struct. */
void json_config_free(struct json_config *cfg);

/*
 * The config object: "machine" and "boot" always ("kernel"/"initrd"/"cmdline" null when not
 * set; "mem" and "cpus" only when set, "mem" as a size string such as "256M"), the others
 * only when set.  Returns a new reference (json_object_put() it) or NULL when out of memory.
 */
struct json_object *json_config_to_json(const struct json_config *cfg);
/* The same as compact JSON text; free() it.  NULL when out of memory. */
char *json_config_dump(const struct json_config *cfg);
/* Copy what `vm` was created with (vm->config, its log level) into *out (owned copies). */
int json_config_from_vm(const struct vm *vm, struct json_config *out);

/*
 * Tokenize `len` bytes of `text` as exactly one JSON object (strict, UTF-8 validated, nesting
 * <= JSON_CONFIG_MAX_DEPTH, no NUL bytes, only whitespace after it).  Returns a new reference,
 * or NULL with *errp = -EINVAL/-ENOMEM and a message prefixed with `what` in `err`.  Shared
 * with the API's request bodies.
 */
struct json_object *json_config_parse_object(const char *text, size_t len, const char *what,
					     int *errp, char *err, size_t errlen);

/* "error", "warn", "info", "debug" <-> enum mvmm_log_level; -EINVAL for other names. */
int json_config_log_level(const char *name, enum mvmm_log_level *out);
const char *json_config_log_level_name(enum mvmm_log_level level);

#endif /* MVMM_VMM_CONFIG_JSON_H */
