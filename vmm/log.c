/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "util.h"

void log_init(struct mvmm_log *log, mvmm_log_fn fn, void *opaque, enum mvmm_log_level level)
{
	log->fn = fn;
	log->opaque = opaque;
	log->level = level;
	pthread_mutex_init(&log->rl_lock, NULL);
	log->rl_window_ns = 0;
	log->rl_count = 0;
	log->rl_dropped = 0;
}

void log_fini(struct mvmm_log *log)
{
	pthread_mutex_destroy(&log->rl_lock);
}

static void log_vmsg(struct mvmm_log *log, enum mvmm_log_level level, const char *subsys,
		     const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static void log_vmsg(struct mvmm_log *log, enum mvmm_log_level level, const char *subsys,
		     const char *fmt, va_list ap)
{
	char buf[512];

	if (!log->fn || level > log->level)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	log->fn(log->opaque, level, subsys, buf);
}

void log_msg(struct mvmm_log *log, enum mvmm_log_level level, const char *subsys, const char *fmt,
	     ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(log, level, subsys, fmt, ap);
	va_end(ap);
}

void log_guest(struct mvmm_log *log, const char *subsys, const char *fmt, ...)
{
	uint64_t now = mono_ns();
	unsigned int dropped = 0;
	bool emit;
	va_list ap;

	if (!log->fn)
		return;
	pthread_mutex_lock(&log->rl_lock);
	if (now - log->rl_window_ns >= 1000000000ULL) {
		dropped = log->rl_dropped;
		log->rl_window_ns = now;
		log->rl_count = 0;
		log->rl_dropped = 0;
	}
	emit = log->rl_count < LOG_GUEST_BURST;
	if (emit)
		log->rl_count++;
	else
		log->rl_dropped++;
	pthread_mutex_unlock(&log->rl_lock);

	if (dropped)
		log_msg(log, MVMM_LOG_WARN, subsys, "guest error: %u more messages suppressed",
			dropped);
	if (!emit)
		return;
	va_start(ap, fmt);
	log_vmsg(log, MVMM_LOG_WARN, subsys, fmt, ap);
	va_end(ap);
}
