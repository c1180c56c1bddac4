/* SPDX-License-Identifier: MIT */
/*
 * MMIO / port-I/O dispatch: a sorted array of non-overlapping ranges searched with bsearch.
 * Ranges are registered before the vCPUs start and never change while they run, so lookups
 * take no lock.
 */
#ifndef MVMM_VMM_BUS_H
#define MVMM_VMM_BUS_H

#include <stdint.h>
#include <stdbool.h>

/* Access handler: `offset` is relative to the range base; `data` holds `len` bytes (1..8). */
typedef void (*bus_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_fn fn;
	void *opaque;
};

struct bus {
	struct bus_range *ranges;	/* owned, sorted by base */
	unsigned int nr;
	unsigned int cap;
};

void bus_init(struct bus *bus);
void bus_fini(struct bus *bus);
/* -EEXIST on overlap, -EINVAL on an empty or wrapping range, -ENOMEM. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_fn fn, void *opaque);
/* Dispatch; returns false when nothing is mapped at addr (reads then see all-ones). */
bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);

#endif /* MVMM_VMM_BUS_H */
