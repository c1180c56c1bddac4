/* SPDX-License-Identifier: MIT */
/* Shared by the kvm-tier tests: checks, sleeping, and reading the test guest's console. */
#ifndef MVMM_TESTS_KVM_KVM_TEST_H
#define MVMM_TESTS_KVM_KVM_TEST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)
#define CHECK_EQ(a, b)                                                                             \
	CHECK((long long)(a) == (long long)(b), "%s = %lld, %s = %lld", #a, (long long)(a), #b,    \
	      (long long)(b))

static inline void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The console written so far (a file or memfd), complete lines only; caller frees. */
static inline char *console_text(int fd)
{
	struct stat st;
	char *buf;
	ssize_t n;

	CHECK(fstat(fd, &st) == 0, "fstat");
	buf = calloc(1, (size_t)st.st_size + 1);
	CHECK(buf, "out of memory");
	n = pread(fd, buf, (size_t)st.st_size, 0);
	CHECK(n >= 0, "pread");
	buf[n] = 0;
	/* The guest may be in the middle of a line. */
	if (strrchr(buf, '\n'))
		strrchr(buf, '\n')[1] = 0;
	else
		buf[0] = 0;
	return buf;
}

/*
 * The test guest's `count` lines so far: first and last sequence number (0 when none), after
 * checking they are consecutive; *result is the "result:" code, or -1 before the guest ends.
 */
static inline void console_counts(int fd, long *first, long *last, int *result)
{
	char *text = console_text(fd), *line, *save = NULL;
	long expect = -1;

	*first = *last = 0;
	*result = -1;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		long seq;

		if (sscanf(line, "result: %d", result) == 1 || sscanf(line, "count: %ld", &seq) != 1)
			continue;
		if (expect < 0)
			*first = seq;
		else
			CHECK(seq == expect, "count line '%s' where %ld was due", line, expect);
		expect = seq + 1;
		*last = seq;
	}
	free(text);
}

#endif /* MVMM_TESTS_KVM_KVM_TEST_H */
