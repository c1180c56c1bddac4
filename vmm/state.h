/* SPDX-License-Identifier: MIT */
/*
 * The state blob: one format for snapshot files and fork hand-offs (DESIGN.md §5).
 *
 *   blob    := header section*
 *   header  := magic "MVMMSTA\0" (8) | major u16 | minor u16 | nr_sections u32 |
 *              total_len u64 (header included) | crc u32 (of the 24 bytes before it)
 *   section := name_len u16 | flags u16 | version u32 | payload_len u64 | name | payload |
 *              crc u32 (CRC-32 of everything in the section before it)
 *
 * All integers little-endian, written field by field through put/get helpers (never by dumping
 * structs).  flags bit 0 (STATE_SEC_REQUIRED): a reader that does not know the section must
 * refuse the blob; other unknown sections are skipped.  A reader checks the header, every
 * section's bounds and CRC and the total size before it hands out any section, so a truncated
 * or corrupt blob is refused before anything is loaded.  The blob carries no host handles.
 */
#ifndef MVMM_VMM_STATE_H
#define MVMM_VMM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATE_MAGIC "MVMMSTA"		/* 8 bytes with the NUL */
#define STATE_MAJOR 1			/* incompatible changes */
#define STATE_MINOR 0			/* compatible additions */
#define STATE_HEADER_LEN 28
#define STATE_MAX_SIZE (64u << 20)	/* whole blob; RAM is never in it */
#define STATE_NAME_MAX 64
#define STATE_MAX_SECTIONS 4096
#define STATE_SEC_REQUIRED 0x1

struct state_writer {
	uint8_t *buf;			/* owned until state_writer_take() */
	size_t len;
	size_t cap;
	size_t sec_start;		/* offset of the open section, or SIZE_MAX */
	uint32_t nr_sections;
	int err;			/* sticky: first error, then every call is a no-op */
};

void state_writer_init(struct state_writer *w);
/* Open a section; it must be closed with state_end_section() before the next one. */
void state_begin_section(struct state_writer *w, const char *name, uint32_t version,
			 uint16_t flags);
void state_end_section(struct state_writer *w);
void state_put_u8(struct state_writer *w, uint8_t v);
void state_put_u16(struct state_writer *w, uint16_t v);
void state_put_u32(struct state_writer *w, uint32_t v);
void state_put_u64(struct state_writer *w, uint64_t v);
void state_put_bytes(struct state_writer *w, const void *p, size_t len);
/* Append every section of a complete, valid blob (e.g. one vCPU's, written on its thread). */
int state_append_blob(struct state_writer *w, const uint8_t *blob, size_t len);
/* Finish: fills the header.  On success *buf and *len hold the blob (free() it); returns w->err. */
int state_writer_finish(struct state_writer *w, uint8_t **buf, size_t *len);
/* Drop an unfinished writer.  NULL-safe. */
void state_writer_free(struct state_writer *w);

struct state_section {
	const char *name;		/* points into the blob, NOT NUL-terminated */
	uint16_t name_len;
	uint16_t flags;
	uint32_t version;
	const uint8_t *data;
	uint64_t len;
	uint64_t pos;			/* read cursor */
	int err;			/* sticky: -EBADMSG after reading past the end */
};

struct state_reader {
	const uint8_t *buf;		/* borrowed */
	size_t len;
	uint16_t major, minor;
	uint32_t nr_sections;
};

/* Validate the whole blob (header, every section's bounds and CRC).  -EBADMSG, -EPROTO
 * (unknown major version), -E2BIG (over STATE_MAX_SIZE). */
int state_reader_open(struct state_reader *r, const uint8_t *buf, size_t len);
/* Section number i (0-based) into *s; -ENOENT past the end. */
int state_reader_section(const struct state_reader *r, uint32_t i, struct state_section *s);
/* First section named `name`; -ENOENT when absent. */
int state_find(const struct state_reader *r, const char *name, struct state_section *s);
/* -EPROTO when a section marked REQUIRED is not in `known` (NULL-terminated list of names;
 * a name ending in '/' matches any section starting with it, e.g. "vcpu/"). */
int state_check_required(const struct state_reader *r, const char *const *known,
			 char *unknown, size_t unknown_len);
bool state_section_is(const struct state_section *s, const char *name);

uint8_t state_get_u8(struct state_section *s);
uint16_t state_get_u16(struct state_section *s);
uint32_t state_get_u32(struct state_section *s);
uint64_t state_get_u64(struct state_section *s);
void state_get_bytes(struct state_section *s, void *p, size_t len);
/* 0 when every get succeeded and the whole payload was consumed, else -EBADMSG. */
int state_section_done(const struct state_section *s);

#endif /* MVMM_VMM_STATE_H */
