/* SPDX-License-Identifier: MIT */
#include <limits.h>
#include <string.h>

#include "mvmm/mvmm.h"

MVMM_PUBLIC const char *mvmm_strerror(int err)
{
	if (err == INT_MIN)
		return "unknown error";
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
#define MVMM_ERR_CASE_(name, value, text)                                                          \
	case name:                                                                                 \
		return text;
		MVMM_ERRORS(MVMM_ERR_CASE_)
#undef MVMM_ERR_CASE_
	default:
		/* strerrordesc_np: static text, thread-safe, NULL for unknown codes. */
		return strerrordesc_np(err) ? strerrordesc_np(err) : "unknown error";
	}
}
