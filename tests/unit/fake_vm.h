/* SPDX-License-Identifier: MIT */
/*
 * A fake VM behind struct control_ops, for the API router without KVM: the lifecycle rules of
 * vm_pause/vm_resume, counted calls, injectable failures, and recorded snapshot/fork requests.
 * Shared by tests/unit/control_test.c and tests/fuzz/fuzz_control.c.
 */
#ifndef MVMM_TESTS_UNIT_FAKE_VM_H
#define MVMM_TESTS_UNIT_FAKE_VM_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/control_route.h"
#include "vmm/util.h"

#define FAKE_VM_RAM (64 * MiB)	/* what mem_hash accepts */

/* The fake VM: the real lifecycle rules of vm_pause/vm_resume, no KVM. */
struct fake_vm {
	enum mvmm_vm_state state;
	unsigned int calls;		/* pause/resume/stop calls that reached the VM */
	int info_err;			/* info() fails with this when set */
	int op_err;			/* pause() fails with this when set */
	char snap_dir[256];		/* last snapshot dir that reached the VM */
	bool snap_live;
	uint32_t fork_count;		/* last fork that reached the VM */
	char fork_prefix[64];
};

static int fake_pause(void *opaque)
{
	struct fake_vm *f = opaque;

	f->calls++;
	if (f->op_err)
		return f->op_err;
	if (f->state == MVMM_VM_PAUSED)
		return 0;
	if (f->state != MVMM_VM_RUNNING)
		return -MVMM_ESTATE;
	f->state = MVMM_VM_PAUSED;
	return 0;
}

static int fake_resume(void *opaque)
{
	struct fake_vm *f = opaque;

	f->calls++;
	if (f->state == MVMM_VM_RUNNING)
		return 0;
	if (f->state != MVMM_VM_PAUSED)
		return -MVMM_ESTATE;
	f->state = MVMM_VM_RUNNING;
	return 0;
}

static int fake_stop(void *opaque)
{
	struct fake_vm *f = opaque;

	f->calls++;
	f->state = MVMM_VM_STOPPED;
	return 0;
}

static enum mvmm_vm_state fake_state(void *opaque)
{
	return ((struct fake_vm *)opaque)->state;
}

static int fake_info(void *opaque, struct control_vm_info *out)
{
	struct fake_vm *f = opaque;

	if (f->info_err)
		return f->info_err;
	out->state = f->state;
	out->uptime_ms = 1234;
	out->pid = 42;
	out->nr_vcpus = 2;
	out->vcpu_exits[0] = 100;
	out->vcpu_exits[1] = 23;
	out->serial_tx_bytes = 77;
	out->config.has_mem = true;
	out->config.mem_bytes = 256 * MiB;
	out->config.has_cpus = true;
	out->config.cpus = 2;
	out->config.cmdline = strdup("test=count");
	return out->config.cmdline ? 0 : -ENOMEM;
}

static int fake_snapshot(void *opaque, const char *dir, bool live)
{
	struct fake_vm *f = opaque;

	f->calls++;
	f->snap_live = live;
	if (!strcmp(dir, "/exists"))
		return -EEXIST;
	if (f->state != MVMM_VM_RUNNING && f->state != MVMM_VM_PAUSED)
		return -MVMM_ESTATE;
	snprintf(f->snap_dir, sizeof(f->snap_dir), "%s", dir);
	return 0;
}

static int fake_fork(void *opaque, uint32_t count, const char *prefix,
		     struct mvmm_fork_child *kids)
{
	struct fake_vm *f = opaque;

	f->calls++;
	if (f->state != MVMM_VM_RUNNING && f->state != MVMM_VM_PAUSED)
		return -MVMM_ESTATE;
	f->fork_count = count;
	snprintf(f->fork_prefix, sizeof(f->fork_prefix), "%s", prefix);
	for (uint32_t i = 0; i < count; i++) {
		kids[i].pid = 1000 + (int)i;
		snprintf(kids[i].name, sizeof(kids[i].name), "%s-%d", prefix, kids[i].pid);
		snprintf(kids[i].api_sock, sizeof(kids[i].api_sock), "/run/%s.sock", kids[i].name);
		snprintf(kids[i].console, sizeof(kids[i].console), "/run/%s.log", kids[i].name);
	}
	return 0;
}

/* FNV-1a 64 of a RAM of zeros: enough to check the route's plumbing. */
static int fake_mem_hash(void *opaque, uint64_t gpa, uint64_t len, uint64_t *hash)
{
	struct fake_vm *f = opaque;
	uint64_t h = 0xcbf29ce484222325ULL;

	f->calls++;
	if (gpa >= FAKE_VM_RAM || len > FAKE_VM_RAM - gpa)
		return -EFAULT;
	for (uint64_t i = 0; i < len; i++)
		h *= 0x100000001b3ULL;	/* h ^= 0 first: a zero byte */
	*hash = h;
	return 0;
}

static const struct control_ops fake_ops = {
	.mem_hash = fake_mem_hash,
	.snapshot = fake_snapshot,
	.fork = fake_fork,
	.pause = fake_pause,
	.resume = fake_resume,
	.stop = fake_stop,
	.state = fake_state,
	.info = fake_info,
};

#endif /* MVMM_TESTS_UNIT_FAKE_VM_H */
