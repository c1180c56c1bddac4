/* SPDX-License-Identifier: MIT */
/* Small helpers shared by every module. */
#ifndef MVMM_VMM_UTIL_H
#define MVMM_VMM_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define BUILD_ASSERT(c) _Static_assert(c, #c)
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)

#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)

/*
 * ALWAYS()/NEVER() mark defensive checks that hold unless there is a bug in mvmm itself.
 * They stay in release builds and simply evaluate the condition (SQLite's convention);
 * debug builds trap so the bug is found at its source.
 */
#ifdef MVMM_DEBUG
#define ALWAYS(x) ((x) ? 1 : (__builtin_trap(), 0))
#define NEVER(x) ((x) ? (__builtin_trap(), 1) : 0)
#else
#define ALWAYS(x) (x)
#define NEVER(x) (x)
#endif

/* Internal invariant the guest cannot reach: a bug in mvmm. */
#define BUG_ON(x)                                                                                  \
	do {                                                                                       \
		if (unlikely(x))                                                                   \
			__builtin_trap();                                                          \
	} while (0)

/* Overflow-checked a + b for guest-controlled arithmetic: false on overflow. */
static inline bool add_overflows_u64(uint64_t a, uint64_t b, uint64_t *res)
{
	return __builtin_add_overflow(a, b, res);
}

/* Retry a syscall-style expression on EINTR. */
#define RETRY_EINTR(expr)                                                                          \
	({                                                                                         \
		long r_;                                                                           \
		do                                                                                 \
			r_ = (long)(expr);                                                         \
		while (r_ == -1 && errno == EINTR);                                                \
		r_;                                                                                \
	})

static inline uint64_t ts_to_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + (uint64_t)ts->tv_nsec;
}

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts_to_ns(&ts);
}

#endif /* MVMM_VMM_UTIL_H */
