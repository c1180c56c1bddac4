// SPDX-License-Identifier: MIT
/*
 * test=count: a CPL3 loop that reports "count: <seq> <tsc>" every 10 ms of TSC time, count_ms
 * milliseconds' worth of reports.  A host test pauses the VM in the middle and checks that the
 * sequence has no gaps or repeats and does not advance while paused.
 */
#include "guest.h"

#define COUNT_PERIOD_MS	10

void test_count(void)
{
	struct count_args a = {
		.period = tsc_ms(COUNT_PERIOD_MS),
		.reports = MAX(g.opt.count_ms / COUNT_PERIOD_MS, 1),
	};
	u64 t0 = rdtsc(), ms;

	user_call(user_count, &a, sizeof(a));
	ms = (rdtsc() - t0) / g.tsc_khz;
	check_ok("count %lu reports %lu loops %lu ms", a.reports, a.loops, ms);
}
