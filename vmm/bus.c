/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"

void bus_init(struct bus *bus)
{
	memset(bus, 0, sizeof(*bus));
}

void bus_fini(struct bus *bus)
{
	if (!bus)
		return;
	free(bus->ranges);
	memset(bus, 0, sizeof(*bus));
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_fn fn, void *opaque)
{
	unsigned int pos = 0;

	if (len == 0 || base + len < base || !fn)
		return -EINVAL;
	while (pos < bus->nr && bus->ranges[pos].base < base)
		pos++;
	/* Neighbours on both sides must not overlap [base, base+len). */
	if (pos > 0 && bus->ranges[pos - 1].base + bus->ranges[pos - 1].len > base)
		return -EEXIST;
	if (pos < bus->nr && bus->ranges[pos].base < base + len)
		return -EEXIST;
	if (bus->nr == bus->cap) {
		unsigned int cap = bus->cap ? bus->cap * 2 : 8;
		struct bus_range *r = realloc(bus->ranges, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		bus->ranges = r;
		bus->cap = cap;
	}
	memmove(&bus->ranges[pos + 1], &bus->ranges[pos], (bus->nr - pos) * sizeof(*bus->ranges));
	bus->ranges[pos] = (struct bus_range){ base, len, fn, opaque };
	bus->nr++;
	return 0;
}

static int range_cmp(const void *key, const void *elem)
{
	uint64_t addr = *(const uint64_t *)key;
	const struct bus_range *r = elem;

	if (addr < r->base)
		return -1;
	if (addr - r->base >= r->len)
		return 1;
	return 0;
}

bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
	const struct bus_range *r;

	/* bsearch() on a NULL array is undefined even for zero elements. */
	r = bus->nr ? bsearch(&addr, bus->ranges, bus->nr, sizeof(*r), range_cmp) : NULL;
	/* The access must fit wholly in the range; a straddling access is treated as unmapped. */
	if (!r || addr - r->base + len > r->len) {
		if (!is_write)
			memset(data, 0xff, len);
		return false;
	}
	r->fn(r->opaque, addr - r->base, data, len, is_write);
	return true;
}
