/* SPDX-License-Identifier: MIT */
/* Parsing of user-supplied values shared by the CLI and the library. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>

#include "mvmm/mvmm.h"

/* "<digits>[K|M|G|T][iB|B]" (binary units); plain digits are bytes. */
MVMM_PUBLIC int mvmm_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;

	if (!s || !out || !isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
			return -ERANGE;
	}
	switch (toupper((unsigned char)*p)) {
	case 'K':
		mult = 1ULL << 10;
		break;
	case 'M':
		mult = 1ULL << 20;
		break;
	case 'G':
		mult = 1ULL << 30;
		break;
	case 'T':
		mult = 1ULL << 40;
		break;
	case '\0':
		break;
	default:
		return -EINVAL;
	}
	if (*p) {
		p++;
		/* Accept K, KB, KiB (all binary) and nothing else after the unit. */
		if (*p == 'i')
			p++;
		if (*p == 'B' || *p == 'b')
			p++;
		if (*p)
			return -EINVAL;
	}
	if (__builtin_mul_overflow(v, mult, &v))
		return -ERANGE;
	*out = v;
	return 0;
}
