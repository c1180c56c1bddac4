/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "vmgenid.h"
#include "arch/x86/layout.h"
#include "vmm/state.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define VMGENID_LEN 16
#define VMGENID_STATE_VERSION 1

struct vmgenid {
	struct vm *vm;
	pthread_mutex_t lock;
	uint64_t gpa;			/* guest buffer, as written so far */
	bool armed;			/* gpa names 16 aligned bytes of RAM */
	uint32_t changes;		/* ids written into this VM's buffer, ever */
	uint8_t id[VMGENID_LEN];
};

/* Caller holds the lock.  The buffer is guest memory: checked on every write. */
static void store_id(struct vmgenid *g)
{
	if (g->armed && guest_mem_write(&g->vm->mem, g->gpa, g->id, VMGENID_LEN) != 0)
		g->armed = false;
}

static int new_id(struct vmgenid *g)
{
	if (getrandom(g->id, VMGENID_LEN, 0) != VMGENID_LEN)
		return -EIO;
	g->changes++;
	return 0;
}

static void vmgenid_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct vmgenid *g = opaque;
	uint32_t v = 0;

	pthread_mutex_lock(&g->lock);
	if (!is_write) {
		memset(data, 0, len);
		if (offset == 0)
			memcpy(data, &g->changes, MIN(len, (uint32_t)sizeof(g->changes)));
		goto out;
	}
	if (len != 4 || (offset != 0 && offset != 4)) {
		log_guest(&g->vm->log, "vmgenid", "ignored %u-byte write at +%llu", len,
			  (unsigned long long)offset);
		goto out;
	}
	memcpy(&v, data, 4);
	if (offset == 0)
		g->gpa = (g->gpa & ~0xffffffffULL) | v;
	else
		g->gpa = (g->gpa & 0xffffffffULL) | ((uint64_t)v << 32);
	g->armed = IS_ALIGNED(g->gpa, VMGENID_LEN) &&
		   guest_mem_ptr(&g->vm->mem, g->gpa, VMGENID_LEN) != NULL;
	if (!g->armed)
		goto out;
	if (!g->changes && new_id(g))
		goto out;
	store_id(g);
out:
	pthread_mutex_unlock(&g->lock);
}

int vmgenid_create(struct vm *vm, struct vmgenid **out)
{
	struct vmgenid *g = calloc(1, sizeof(*g));
	int err;

	if (!g)
		return -ENOMEM;
	g->vm = vm;
	pthread_mutex_init(&g->lock, NULL);
	err = bus_register(&vm->pio, X86_VMGENID_PORT, 8, vmgenid_io, g);
	if (err) {
		pthread_mutex_destroy(&g->lock);
		free(g);
		return err;
	}
	*out = g;
	return 0;
}

void vmgenid_destroy(struct vmgenid *g)
{
	if (!g)
		return;
	pthread_mutex_destroy(&g->lock);
	free(g);
}

int vmgenid_bump(struct vmgenid *g)
{
	int err;

	pthread_mutex_lock(&g->lock);
	err = new_id(g);
	if (!err)
		store_id(g);
	pthread_mutex_unlock(&g->lock);
	return err;
}

uint32_t vmgenid_changes(struct vmgenid *g)
{
	uint32_t n;

	pthread_mutex_lock(&g->lock);
	n = g->changes;
	pthread_mutex_unlock(&g->lock);
	return n;
}

int vmgenid_save(struct vmgenid *g, struct state_writer *w)
{
	pthread_mutex_lock(&g->lock);
	state_begin_section(w, "dev/vmgenid", VMGENID_STATE_VERSION, STATE_SEC_REQUIRED);
	state_put_u64(w, g->gpa);
	state_put_u8(w, g->armed);
	state_put_u32(w, g->changes);
	state_put_bytes(w, g->id, VMGENID_LEN);
	state_end_section(w);
	pthread_mutex_unlock(&g->lock);
	return w->err;
}

int vmgenid_load(struct vmgenid *g, const struct state_reader *r)
{
	struct state_section s;
	uint64_t gpa;
	uint8_t armed, id[VMGENID_LEN];
	uint32_t changes;
	int err;

	if (state_find(r, "dev/vmgenid", &s) || s.version != VMGENID_STATE_VERSION)
		return -EBADMSG;
	gpa = state_get_u64(&s);
	armed = state_get_u8(&s);
	changes = state_get_u32(&s);
	state_get_bytes(&s, id, sizeof(id));
	err = state_section_done(&s);
	if (err)
		return err;
	pthread_mutex_lock(&g->lock);
	g->gpa = gpa;
	g->armed = armed && IS_ALIGNED(gpa, VMGENID_LEN) &&
		   guest_mem_ptr(&g->vm->mem, gpa, VMGENID_LEN) != NULL;
	g->changes = changes;
	memcpy(g->id, id, sizeof(id));
	pthread_mutex_unlock(&g->lock);
	return 0;
}
