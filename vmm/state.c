/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "state.h"

#define SEC_FIXED_LEN (2 + 2 + 4 + 8)	/* name_len, flags, version, payload_len */

static uint32_t crc(const uint8_t *p, size_t len)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)len);
}

static void le_put(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le_get(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void state_writer_init(struct state_writer *w)
{
	memset(w, 0, sizeof(*w));
	w->sec_start = SIZE_MAX;
	w->len = STATE_HEADER_LEN;	/* header is filled in by finish */
	w->buf = calloc(1, 4096);
	w->cap = 4096;
	if (!w->buf)
		w->err = -ENOMEM;
}

void state_writer_free(struct state_writer *w)
{
	if (!w)
		return;
	free(w->buf);
	w->buf = NULL;
}

static uint8_t *reserve(struct state_writer *w, size_t n)
{
	uint8_t *p;

	if (w->err)
		return NULL;
	if (w->len + n > STATE_MAX_SIZE) {
		w->err = -E2BIG;
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap;

		while (cap < w->len + n)
			cap *= 2;
		p = realloc(w->buf, cap);
		if (!p) {
			w->err = -ENOMEM;
			return NULL;
		}
		w->buf = p;
		w->cap = cap;
	}
	p = w->buf + w->len;
	w->len += n;
	return p;
}

void state_begin_section(struct state_writer *w, const char *name, uint32_t version,
			 uint16_t flags)
{
	size_t nlen = strlen(name);
	uint8_t *p;

	if (!w->err && (w->sec_start != SIZE_MAX || nlen == 0 || nlen > STATE_NAME_MAX ||
			w->nr_sections == STATE_MAX_SECTIONS))
		w->err = -EINVAL;
	p = reserve(w, SEC_FIXED_LEN + nlen);
	if (!p)
		return;
	w->sec_start = (size_t)(p - w->buf);
	le_put(p, nlen, 2);
	le_put(p + 2, flags, 2);
	le_put(p + 4, version, 4);
	le_put(p + 8, 0, 8);		/* payload length, patched by end_section */
	memcpy(p + SEC_FIXED_LEN, name, nlen);
}

void state_end_section(struct state_writer *w)
{
	size_t start = w->sec_start, nlen, payload;
	uint8_t *p;

	if (!w->err && start == SIZE_MAX)
		w->err = -EINVAL;
	if (w->err)
		return;
	nlen = (size_t)le_get(w->buf + start, 2);
	payload = w->len - start - SEC_FIXED_LEN - nlen;
	le_put(w->buf + start + 8, payload, 8);
	p = reserve(w, 4);
	if (!p)
		return;
	le_put(p, crc(w->buf + start, (size_t)(p - (w->buf + start))), 4);
	w->sec_start = SIZE_MAX;
	w->nr_sections++;
}

#define PUT_LE(name, type, n)                                                                      \
	void name(struct state_writer *w, type v)                                                  \
	{                                                                                          \
		uint8_t *p;                                                                        \
		if (!w->err && w->sec_start == SIZE_MAX)                                           \
			w->err = -EINVAL;                                                          \
		p = reserve(w, n);                                                                 \
		if (p)                                                                             \
			le_put(p, v, n);                                                           \
	}
PUT_LE(state_put_u8, uint8_t, 1)
PUT_LE(state_put_u16, uint16_t, 2)
PUT_LE(state_put_u32, uint32_t, 4)
PUT_LE(state_put_u64, uint64_t, 8)

void state_put_bytes(struct state_writer *w, const void *src, size_t len)
{
	uint8_t *p;

	if (!w->err && w->sec_start == SIZE_MAX)
		w->err = -EINVAL;
	p = reserve(w, len);
	if (p && len)
		memcpy(p, src, len);
}

int state_append_blob(struct state_writer *w, const uint8_t *blob, size_t len)
{
	struct state_reader r;
	uint8_t *p;
	int err;

	if (!w->err && w->sec_start != SIZE_MAX)
		w->err = -EINVAL;
	if (w->err)
		return w->err;
	err = state_reader_open(&r, blob, len);
	if (err || w->nr_sections + r.nr_sections > STATE_MAX_SECTIONS)
		return w->err = err ? err : -E2BIG;
	p = reserve(w, len - STATE_HEADER_LEN);
	if (!p)
		return w->err;
	memcpy(p, blob + STATE_HEADER_LEN, len - STATE_HEADER_LEN);
	w->nr_sections += r.nr_sections;
	return 0;
}

int state_writer_finish(struct state_writer *w, uint8_t **buf, size_t *len)
{
	if (!w->err && w->sec_start != SIZE_MAX)
		w->err = -EINVAL;	/* a section left open */
	if (w->err) {
		state_writer_free(w);
		return w->err;
	}
	memcpy(w->buf, STATE_MAGIC, 8);
	le_put(w->buf + 8, STATE_MAJOR, 2);
	le_put(w->buf + 10, STATE_MINOR, 2);
	le_put(w->buf + 12, w->nr_sections, 4);
	le_put(w->buf + 16, w->len, 8);
	le_put(w->buf + 24, crc(w->buf, 24), 4);
	*buf = w->buf;
	*len = w->len;
	w->buf = NULL;
	return 0;
}

/* Parse section header at `off`; returns its total length or 0 when it does not fit. */
static uint64_t section_at(const struct state_reader *r, uint64_t off, struct state_section *s)
{
	uint64_t room = r->len - off, total;

	if (room < SEC_FIXED_LEN + 4)
		return 0;
	memset(s, 0, sizeof(*s));
	s->name_len = (uint16_t)le_get(r->buf + off, 2);
	s->flags = (uint16_t)le_get(r->buf + off + 2, 2);
	s->version = (uint32_t)le_get(r->buf + off + 4, 4);
	s->len = le_get(r->buf + off + 8, 8);
	if (s->name_len == 0 || s->name_len > STATE_NAME_MAX || s->len > room)
		return 0;
	total = SEC_FIXED_LEN + s->name_len + s->len + 4;
	if (total > room)
		return 0;
	s->name = (const char *)r->buf + off + SEC_FIXED_LEN;
	s->data = r->buf + off + SEC_FIXED_LEN + s->name_len;
	if (crc(r->buf + off, (size_t)(total - 4)) != (uint32_t)le_get(r->buf + off + total - 4, 4))
		return 0;
	return total;
}

int state_reader_open(struct state_reader *r, const uint8_t *buf, size_t len)
{
	struct state_section s;
	uint64_t off = STATE_HEADER_LEN;

	memset(r, 0, sizeof(*r));
	if (len > STATE_MAX_SIZE)
		return -E2BIG;
	if (len < STATE_HEADER_LEN || memcmp(buf, STATE_MAGIC, 8) != 0 ||
	    crc(buf, 24) != (uint32_t)le_get(buf + 24, 4) || le_get(buf + 16, 8) != len)
		return -EBADMSG;
	r->buf = buf;
	r->len = len;
	r->major = (uint16_t)le_get(buf + 8, 2);
	r->minor = (uint16_t)le_get(buf + 10, 2);
	r->nr_sections = (uint32_t)le_get(buf + 12, 4);
	if (r->major != STATE_MAJOR)
		return -EPROTO;
	if (r->nr_sections > STATE_MAX_SECTIONS)
		return -EBADMSG;
	/* Walk every section now: bounds and CRC, and nothing may follow the last one. */
	for (uint32_t i = 0; i < r->nr_sections; i++) {
		uint64_t n = section_at(r, off, &s);

		if (!n)
			return -EBADMSG;
		off += n;
	}
	return off == len ? 0 : -EBADMSG;
}

int state_reader_section(const struct state_reader *r, uint32_t idx, struct state_section *s)
{
	uint64_t off = STATE_HEADER_LEN;

	if (idx >= r->nr_sections)
		return -ENOENT;
	for (uint32_t i = 0;; i++) {
		uint64_t n = section_at(r, off, s);

		if (!n)
			return -EBADMSG;	/* cannot happen after state_reader_open() */
		if (i == idx)
			return 0;
		off += n;
	}
}

bool state_section_is(const struct state_section *s, const char *name)
{
	size_t n = strlen(name);

	return n == s->name_len && memcmp(s->name, name, n) == 0;
}

int state_find(const struct state_reader *r, const char *name, struct state_section *s)
{
	for (uint32_t i = 0; i < r->nr_sections; i++) {
		if (state_reader_section(r, i, s) == 0 && state_section_is(s, name))
			return 0;
	}
	return -ENOENT;
}

static bool name_known(const struct state_section *s, const char *const *known)
{
	for (; *known; known++) {
		size_t n = strlen(*known);

		if (n && (*known)[n - 1] == '/') {
			if (s->name_len > n && memcmp(s->name, *known, n) == 0)
				return true;
		} else if (state_section_is(s, *known)) {
			return true;
		}
	}
	return false;
}

int state_check_required(const struct state_reader *r, const char *const *known,
			 char *unknown, size_t unknown_len)
{
	struct state_section s;

	for (uint32_t i = 0; i < r->nr_sections; i++) {
		if (state_reader_section(r, i, &s))
			return -EBADMSG;
		if ((s.flags & STATE_SEC_REQUIRED) && !name_known(&s, known)) {
			if (unknown && unknown_len)
				snprintf(unknown, unknown_len, "%.*s", (int)s.name_len, s.name);
			return -EPROTO;
		}
	}
	return 0;
}

static const uint8_t *take(struct state_section *s, size_t n)
{
	const uint8_t *p;

	if (s->err || n > s->len - s->pos) {
		s->err = -EBADMSG;
		return NULL;
	}
	p = s->data + s->pos;
	s->pos += n;
	return p;
}

#define GET_LE(name, type, n)                                                                      \
	type name(struct state_section *s)                                                         \
	{                                                                                          \
		const uint8_t *p = take(s, n);                                                     \
		return p ? (type)le_get(p, n) : 0;                                                 \
	}
GET_LE(state_get_u8, uint8_t, 1)
GET_LE(state_get_u16, uint16_t, 2)
GET_LE(state_get_u32, uint32_t, 4)
GET_LE(state_get_u64, uint64_t, 8)

void state_get_bytes(struct state_section *s, void *dst, size_t len)
{
	const uint8_t *p = take(s, len);

	if (p)
		memcpy(dst, p, len);
	else
		memset(dst, 0, len);
}

int state_section_done(const struct state_section *s)
{
	return s->err ? s->err : (s->pos == s->len ? 0 : -EBADMSG);
}
