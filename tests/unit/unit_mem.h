/* SPDX-License-Identifier: MIT */
/* Guest RAM for the boot-path unit tests: a memfd-backed struct guest_mem, no KVM. */
#ifndef MVMM_TESTS_UNIT_UNIT_MEM_H
#define MVMM_TESTS_UNIT_UNIT_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "vmm/memory.h"

static inline struct guest_mem *mem_new(uint64_t size)
{
	struct guest_mem *mem = calloc(1, sizeof(*mem));

	assert_non_null(mem);
	assert_int_equal(guest_mem_create(mem, size), 0);
	return mem;
}

static inline void mem_free(struct guest_mem *mem)
{
	guest_mem_destroy(mem);
	free(mem);
}

static inline bool range_is_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* cmocka setup: *state becomes RAM of `size` bytes; mem_teardown() releases it. */
static inline int mem_fixture(void **state, uint64_t size)
{
	struct guest_mem *mem = calloc(1, sizeof(*mem));

	if (!mem || guest_mem_create(mem, size)) {
		free(mem);
		return -1;
	}
	*state = mem;
	return 0;
}

static inline int mem_teardown(void **state)
{
	mem_free(*state);
	return 0;
}

#endif /* MVMM_TESTS_UNIT_UNIT_MEM_H */
