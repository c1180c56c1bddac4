/* SPDX-License-Identifier: MIT */
/*
 * State blob writer/reader (vmm/state.c): round trip, every truncation point, every flipped
 * byte, unknown optional sections skipped, unknown required ones refused, size cap, misuse of
 * the writer, reads past a section's end, and the golden/corrupt fixtures in tests/fixtures/.
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

#include <zlib.h>

#include "vmm/state.h"

static unsigned long crc32_for_test(const uint8_t *p, size_t n)
{
	return crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

static const char *const known[] = { "vm", "vcpu/", "dev/blk0", NULL };

/* A small blob with three sections, the second optional and unknown to the reader. */
static void make_blob(uint8_t **buf, size_t *len, uint16_t extra_flags)
{
	struct state_writer w;
	static const uint8_t bytes[5] = { 1, 2, 3, 4, 5 };

	state_writer_init(&w);
	state_begin_section(&w, "vm", 1, STATE_SEC_REQUIRED);
	state_put_u8(&w, 0xab);
	state_put_u16(&w, 0xbeef);
	state_put_u32(&w, 0xdeadbeef);
	state_put_u64(&w, 0x0123456789abcdefULL);
	state_end_section(&w);
	state_begin_section(&w, "future-thing", 7, extra_flags);
	state_put_u32(&w, 42);
	state_end_section(&w);
	state_begin_section(&w, "vcpu/0", 2, STATE_SEC_REQUIRED);
	state_put_bytes(&w, bytes, sizeof(bytes));
	state_end_section(&w);
	assert_int_equal(state_writer_finish(&w, buf, len), 0);
}

static void test_round_trip(void **unused)
{
	struct state_reader r;
	struct state_section s;
	uint8_t *buf, got[5];
	size_t len;

	(void)unused;
	make_blob(&buf, &len, 0);
	assert_int_equal(state_reader_open(&r, buf, len), 0);
	assert_int_equal(r.major, STATE_MAJOR);
	assert_int_equal(r.nr_sections, 3);
	assert_int_equal(state_check_required(&r, known, NULL, 0), 0);

	assert_int_equal(state_find(&r, "vm", &s), 0);
	assert_int_equal(s.version, 1);
	assert_int_equal(state_get_u8(&s), 0xab);
	assert_int_equal(state_get_u16(&s), 0xbeef);
	assert_int_equal(state_get_u32(&s), 0xdeadbeef);
	assert_true(state_get_u64(&s) == 0x0123456789abcdefULL);
	assert_int_equal(state_section_done(&s), 0);

	assert_int_equal(state_find(&r, "vcpu/0", &s), 0);
	assert_int_equal(s.version, 2);
	state_get_bytes(&s, got, sizeof(got));
	assert_memory_equal(got, ((uint8_t[]){ 1, 2, 3, 4, 5 }), 5);
	assert_int_equal(state_section_done(&s), 0);
	assert_int_equal(state_find(&r, "dev/blk0", &s), -ENOENT);
	/* Little-endian on the wire, whatever the host: the u16 0xbeef is ef be. */
	assert_non_null(memmem(buf, len, "\xef\xbe\xef\xbe\xad\xde", 6));
	free(buf);
}

static void test_every_truncation_rejected(void **unused)
{
	struct state_reader r;
	uint8_t *buf, *copy;
	size_t len;

	(void)unused;
	make_blob(&buf, &len, 0);
	for (size_t n = 0; n < len; n++) {
		copy = malloc(n ? n : 1);	/* exact size: ASan catches over-reads */
		memcpy(copy, buf, n);
		assert_int_not_equal(state_reader_open(&r, copy, n), 0);
		free(copy);
	}
	free(buf);
}

static void test_every_flipped_byte_rejected(void **unused)
{
	struct state_reader r;
	uint8_t *buf;
	size_t len;

	(void)unused;
	make_blob(&buf, &len, 0);
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x01;
		assert_int_not_equal(state_reader_open(&r, buf, len), 0);
		buf[i] ^= 0x01;
	}
	assert_int_equal(state_reader_open(&r, buf, len), 0);
	free(buf);
}

static void test_unknown_required_refused(void **unused)
{
	struct state_reader r;
	char name[STATE_NAME_MAX + 1];
	uint8_t *buf;
	size_t len;

	(void)unused;
	make_blob(&buf, &len, STATE_SEC_REQUIRED);
	assert_int_equal(state_reader_open(&r, buf, len), 0);
	assert_int_equal(state_check_required(&r, known, name, sizeof(name)), -EPROTO);
	assert_string_equal(name, "future-thing");
	free(buf);
}

static void test_unknown_major_refused(void **unused)
{
	struct state_reader r;
	uint8_t *buf;
	size_t len;
	uint32_t c;

	(void)unused;
	make_blob(&buf, &len, 0);
	/* A valid header of major 2 (CRC recomputed): refused as a version, not as corruption. */
	buf[8] = 2;
	c = (uint32_t)crc32_for_test(buf, 24);	/* host is little-endian (x86) */
	memcpy(buf + 24, &c, 4);
	assert_int_equal(state_reader_open(&r, buf, len), -EPROTO);
	free(buf);
}

static void test_section_overread(void **unused)
{
	struct state_reader r;
	struct state_section s;
	uint8_t *buf;
	size_t len;

	(void)unused;
	make_blob(&buf, &len, 0);
	assert_int_equal(state_reader_open(&r, buf, len), 0);
	assert_int_equal(state_find(&r, "future-thing", &s), 0);
	assert_int_equal(state_get_u32(&s), 42);
	assert_int_equal(state_get_u64(&s), 0);		/* past the end: 0 and sticky error */
	assert_int_equal(state_section_done(&s), -EBADMSG);
	assert_int_equal(state_find(&r, "future-thing", &s), 0);
	assert_int_equal(state_get_u16(&s), 42);
	assert_int_equal(state_section_done(&s), -EBADMSG);	/* not all consumed */
	free(buf);
}

static void test_writer_misuse(void **unused)
{
	struct state_writer w;
	uint8_t *buf = NULL;
	size_t len = 0;
	char longname[STATE_NAME_MAX + 2];

	(void)unused;
	state_writer_init(&w);
	state_put_u32(&w, 1);			/* outside a section */
	assert_int_equal(state_writer_finish(&w, &buf, &len), -EINVAL);
	assert_null(buf);

	state_writer_init(&w);
	state_begin_section(&w, "a", 1, 0);
	state_begin_section(&w, "b", 1, 0);	/* nested */
	assert_int_equal(state_writer_finish(&w, &buf, &len), -EINVAL);

	state_writer_init(&w);
	state_begin_section(&w, "a", 1, 0);	/* never closed */
	assert_int_equal(state_writer_finish(&w, &buf, &len), -EINVAL);

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	state_writer_init(&w);
	state_begin_section(&w, longname, 1, 0);
	assert_int_equal(state_writer_finish(&w, &buf, &len), -EINVAL);
}

static void test_size_cap(void **unused)
{
	struct state_writer w;
	struct state_reader r;
	uint8_t *buf = NULL, *big;
	size_t len = 0;

	(void)unused;
	big = calloc(1, 1 << 20);
	state_writer_init(&w);
	state_begin_section(&w, "big", 1, 0);
	for (int i = 0; i < (int)(STATE_MAX_SIZE >> 20) + 1; i++)
		state_put_bytes(&w, big, 1 << 20);
	state_end_section(&w);
	assert_int_equal(state_writer_finish(&w, &buf, &len), -E2BIG);
	assert_int_equal(state_reader_open(&r, big, (size_t)STATE_MAX_SIZE + 1), -E2BIG);
	free(big);
}

/* tests/fixtures: the golden v1 blob must load; the corrupt one must not. */
static uint8_t *read_fixture(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	uint8_t *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", MVMM_FIXTURES, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void test_fixtures(void **unused)
{
	struct state_reader r;
	struct state_section s;
	uint8_t *buf, *gen;
	size_t len, glen;

	(void)unused;
	buf = read_fixture("state-v1.0-golden.bin", &len);
	assert_int_equal(state_reader_open(&r, buf, len), 0);
	assert_int_equal(state_find(&r, "vm", &s), 0);
	assert_int_equal(state_get_u8(&s), 0xab);
	/* The writer still produces exactly the golden bytes: the format has not drifted. */
	make_blob(&gen, &glen, 0);
	assert_int_equal(glen, len);
	assert_memory_equal(gen, buf, len);
	free(gen);
	free(buf);
	buf = read_fixture("state-v1.0-corrupt.bin", &len);
	assert_int_equal(state_reader_open(&r, buf, len), -EBADMSG);
	free(buf);
}

/* Writes the fixtures (run by hand once per format version: state_test --write-fixtures). */
static int write_fixtures(void)
{
	uint8_t *buf;
	size_t len;
	FILE *f;

	make_blob(&buf, &len, 0);
	f = fopen(MVMM_FIXTURES "/state-v1.0-golden.bin", "wb");
	if (!f || fwrite(buf, 1, len, f) != len)
		return 1;
	fclose(f);
	buf[len / 2] ^= 0x40;	/* one flipped bit in the middle of a section */
	f = fopen(MVMM_FIXTURES "/state-v1.0-corrupt.bin", "wb");
	if (!f || fwrite(buf, 1, len, f) != len)
		return 1;
	fclose(f);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_every_truncation_rejected),
		cmocka_unit_test(test_every_flipped_byte_rejected),
		cmocka_unit_test(test_unknown_required_refused),
		cmocka_unit_test(test_unknown_major_refused),
		cmocka_unit_test(test_section_overread),
		cmocka_unit_test(test_writer_misuse),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_fixtures),
	};

	if (argc > 1 && strcmp(argv[1], "--write-fixtures") == 0)
		return write_fixtures();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
