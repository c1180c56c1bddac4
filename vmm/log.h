/* SPDX-License-Identifier: MIT */
/*
 * Leveled logging into the embedder's sink.  Messages are one line, no trailing newline.
 * The guest-error channel is rate limited so a hostile guest cannot flood the host's log.
 */
#ifndef MVMM_VMM_LOG_H
#define MVMM_VMM_LOG_H

#include <stdint.h>
#include <pthread.h>

#include "mvmm/mvmm.h"

struct mvmm_log {
	mvmm_log_fn fn;			/* NULL: silent */
	void *opaque;
	enum mvmm_log_level level;
	pthread_mutex_t rl_lock;	/* protects the rate-limit window below */
	uint64_t rl_window_ns;		/* start of the current window */
	unsigned int rl_count;		/* guest errors logged in the window */
	unsigned int rl_dropped;	/* suppressed in the window */
};

void log_init(struct mvmm_log *log, mvmm_log_fn fn, void *opaque, enum mvmm_log_level level);
void log_fini(struct mvmm_log *log);
void log_msg(struct mvmm_log *log, enum mvmm_log_level level, const char *subsys, const char *fmt,
	     ...) __attribute__((format(printf, 4, 5)));
/* Guest misbehaviour: at most LOG_GUEST_BURST messages per second, then a count of the rest. */
void log_guest(struct mvmm_log *log, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define LOG_GUEST_BURST 10

#define pr_err(log, sub, ...) log_msg(log, MVMM_LOG_ERROR, sub, __VA_ARGS__)
#define pr_warn(log, sub, ...) log_msg(log, MVMM_LOG_WARN, sub, __VA_ARGS__)
#define pr_info(log, sub, ...) log_msg(log, MVMM_LOG_INFO, sub, __VA_ARGS__)
#define pr_debug(log, sub, fmt, ...)                                                               \
	log_msg(log, MVMM_LOG_DEBUG, sub, "%s:%d: " fmt, __FILE__, __LINE__, ##__VA_ARGS__)

#endif /* MVMM_VMM_LOG_H */
