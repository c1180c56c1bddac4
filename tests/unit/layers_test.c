/* SPDX-License-Identifier: MIT */
/*
 * RAM layer bookkeeping (fork/layers.c) without KVM: a VM on a private mapping writes pages;
 * each fork turns exactly those pages into a new sealed layer (and only those), the run table
 * says which page comes from which layer, a child built from the layers sees byte for byte
 * what the parent saw, a corrupt run table is refused, and 32 layers compact into one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "fork/layers.h"
#include "vmm/vm.h"

#define PAGE 4096ULL
#define RAM (64ULL << 20)

static struct vm *vm_new(void)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	int fd = memfd_create("ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_non_null(vm);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)RAM), 0);
	/* Some pre-existing content in "layer 0", as a snapshot image would have. */
	assert_int_equal(pwrite(fd, "layer0", 6, 3 * PAGE), 6);
	log_init(&vm->log, NULL, NULL, MVMM_LOG_ERROR);
	assert_int_equal(guest_mem_create_private(&vm->mem, fd, RAM), 0);
	return vm;
}

static void vm_free(struct vm *vm)
{
	guest_mem_destroy(&vm->mem);
	log_fini(&vm->log);
	free(vm);
}

static void poke(struct vm *vm, uint64_t page, const char *s)
{
	memcpy(vm->mem.host + page * PAGE, s, strlen(s) + 1);
}

static void test_delta_layers(void **state)
{
	struct vm *vm = vm_new();
	struct mem_run *runs;
	size_t nr;
	uint64_t copied;
	char buf[16];

	(void)state;
	assert_memory_equal(vm->mem.host + 3 * PAGE, "layer0", 6);
	poke(vm, 10, "ten");
	poke(vm, 11, "eleven");
	poke(vm, 500, "fivehundred");
	assert_int_equal(layers_prepare_fork(vm, &copied), 0);
	assert_int_equal(copied, 3 * PAGE);		/* exactly the written pages */
	assert_int_equal(vm->mem.nr_layers, 2);
	assert_int_equal(vm->mem.page_layer[10], 1);
	assert_int_equal(vm->mem.page_layer[500], 1);
	assert_int_equal(vm->mem.page_layer[3], 0);
	assert_int_equal(layers_runs(&vm->mem, &runs, &nr), 0);
	assert_int_equal(nr, 2);
	assert_true(runs[0].offset == 10 * PAGE && runs[0].len == 2 * PAGE && runs[0].layer == 1);
	assert_true(runs[1].offset == 500 * PAGE && runs[1].len == PAGE && runs[1].layer == 1);
	free(runs);
	/* The layer holds the bytes, is sealed, and the VM reads them back from it. */
	assert_int_equal(pread(vm->mem.layer_fds[1], buf, 7, 11 * PAGE), 7);
	assert_string_equal(buf, "eleven");
	assert_true(fcntl(vm->mem.layer_fds[1], F_GET_SEALS) & F_SEAL_WRITE);
	assert_string_equal((char *)vm->mem.host + 500 * PAGE, "fivehundred");

	/* Nothing written since: no new layer. */
	assert_int_equal(layers_prepare_fork(vm, &copied), 0);
	assert_int_equal(copied, 0);
	assert_int_equal(vm->mem.nr_layers, 2);

	/* Only what was written since the last fork goes into the next layer. */
	poke(vm, 11, "ELEVEN");
	poke(vm, 700, "seven");
	assert_int_equal(layers_prepare_fork(vm, &copied), 0);
	assert_int_equal(copied, 2 * PAGE);
	assert_int_equal(vm->mem.nr_layers, 3);
	assert_int_equal(layers_runs(&vm->mem, &runs, &nr), 0);
	assert_int_equal(nr, 4);
	assert_true(runs[0].offset == 10 * PAGE && runs[0].len == PAGE && runs[0].layer == 1);
	assert_true(runs[1].offset == 11 * PAGE && runs[1].len == PAGE && runs[1].layer == 2);
	assert_true(runs[2].offset == 500 * PAGE && runs[2].layer == 1);
	assert_true(runs[3].offset == 700 * PAGE && runs[3].layer == 2);
	free(runs);
	vm_free(vm);
}

/* A child built from the parent's layers and runs sees exactly the parent's RAM. */
static void test_child_mapping(void **state)
{
	struct vm *vm = vm_new();
	struct guest_mem child;
	struct mem_run *runs;
	int fds[GUEST_MEM_MAX_LAYERS];
	size_t nr;
	uint64_t copied;

	(void)state;
	for (uint64_t p = 100; p < 4000; p += 37)
		poke(vm, p, "gen1");
	assert_int_equal(layers_prepare_fork(vm, &copied), 0);
	for (uint64_t p = 150; p < 4000; p += 91)
		poke(vm, p, "generation-two");
	assert_int_equal(layers_prepare_fork(vm, &copied), 0);
	assert_int_equal(layers_runs(&vm->mem, &runs, &nr), 0);
	for (unsigned int i = 0; i < vm->mem.nr_layers; i++)
		fds[i] = dup(vm->mem.layer_fds[i]);
	assert_int_equal(layers_map(&child, RAM, fds, vm->mem.nr_layers, runs, nr), 0);
	assert_memory_equal(child.host, vm->mem.host, RAM);
	/* The child's writes are its own. */
	memcpy(child.host + 150 * PAGE, "child", 6);
	assert_string_equal((char *)vm->mem.host + 150 * PAGE, "generation-two");
	guest_mem_destroy(&child);
	free(runs);
	vm_free(vm);
}

static void test_bad_runs(void **state)
{
	struct vm *vm = vm_new();
	struct guest_mem child;
	uint64_t copied;
	int fds[2];
	const struct mem_run bad[] = {
		{ RAM, PAGE, 1 },		/* past the end */
		{ RAM - PAGE, 2 * PAGE, 1 },	/* straddles the end */
		{ 0, PAGE, 0 },			/* layer 0 is not an overlay */
		{ 0, PAGE, 2 },			/* no such layer */
		{ 100, PAGE, 1 },		/* unaligned */
		{ 0, 0, 1 },			/* empty */
		{ UINT64_MAX & ~(PAGE - 1), 2 * PAGE, 1 },	/* wraps */
	};

	(void)state;
	poke(vm, 1, "x");
	assert_int_equal(layers_prepare_fork(vm, &copied), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fds[0] = dup(vm->mem.layer_fds[0]);
		fds[1] = dup(vm->mem.layer_fds[1]);
		assert_int_equal(layers_map(&child, RAM, fds, 2, &bad[i], 1), -EBADMSG);
		guest_mem_destroy(&child);	/* releases the fds it took */
	}
	vm_free(vm);
}

static void test_compaction(void **state)
{
	struct vm *vm = vm_new();
	uint64_t copied;

	(void)state;
	for (unsigned int i = 0; i < 40; i++) {
		char s[16];

		snprintf(s, sizeof(s), "fork%u", i);
		poke(vm, 1000 + i, s);
		assert_int_equal(layers_prepare_fork(vm, &copied), 0);
		assert_true(vm->mem.nr_layers <= 32);
	}
	/* It merged layers 1..n on the way (fewer layers than forks) and nothing was lost. */
	assert_true(vm->mem.nr_layers < 40);
	assert_true(vm->mem.nr_layers >= 2);	/* layer 0 is never copied */
	for (unsigned int i = 0; i < 40; i++) {
		char s[16];

		snprintf(s, sizeof(s), "fork%u", i);
		assert_string_equal((char *)vm->mem.host + (1000 + i) * PAGE, s);
	}
	assert_memory_equal(vm->mem.host + 3 * PAGE, "layer0", 6);
	/* A child made from the merged stack still sees the parent's RAM byte for byte. */
	{
		struct guest_mem child;
		struct mem_run *runs;
		int fds[GUEST_MEM_MAX_LAYERS];
		size_t nr;

		assert_int_equal(layers_runs(&vm->mem, &runs, &nr), 0);
		for (unsigned int i = 0; i < vm->mem.nr_layers; i++)
			fds[i] = dup(vm->mem.layer_fds[i]);
		assert_int_equal(layers_map(&child, RAM, fds, vm->mem.nr_layers, runs, nr), 0);
		assert_memory_equal(child.host, vm->mem.host, RAM);
		guest_mem_destroy(&child);
		free(runs);
	}
	vm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delta_layers),
		cmocka_unit_test(test_child_mapping),
		cmocka_unit_test(test_bad_runs),
		cmocka_unit_test(test_compaction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
