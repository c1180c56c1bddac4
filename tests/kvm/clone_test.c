/* SPDX-License-Identifier: MIT */
/*
 * The capture/load path fork and snapshot stand on, in one process: the test guest counts at
 * CPL3; VM A is paused, its state saved (each vCPU on its own thread) and its RAM copied into a
 * fresh VM B, which loads the state and runs on from the same instruction.  Both must finish
 * correctly: A's count sequence has no gap, and B's continues at exactly A's next number.
 * Refusals: a blob for another memory size or a corrupt blob is rejected and leaves B loadable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "mvmm/mvmm.h"
#include "vmm/state.h"
#include "vmm/vm.h"
#include "kvm_test.h"

#define counts console_counts


static struct vm *new_vm(void *kernel, size_t klen, int out, uint64_t mem)
{
	struct mvmm_config cfg = { .size = sizeof(cfg) };
	struct vm *vm;
	int err;

	cfg.mem_bytes = mem;
	cfg.cpus = 2;	/* the AP waits for SIPI: its state must round-trip too */
	cfg.kernel_data = kernel;
	cfg.kernel_size = klen;
	cfg.cmdline = "test=count count_ms=3000";
	cfg.serial_out_fd = out;
	cfg.serial_in_fd = -1;
	err = vm_create(&vm, &cfg);
	CHECK(err == 0, "vm_create: %s", mvmm_strerror(err));
	return vm;
}

int main(void)
{
	struct mvmm_exit_info ia, ib;
	struct vm *a, *b, *c;
	uint8_t *blob;
	size_t blen, klen;
	long first, last, paused_at;
	int outa, outb, result, fd, err;
	void *kernel;
	struct stat st;

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("SKIP: /dev/kvm is not usable here (%s)\n", strerror(errno));
		return 77;
	}
	fd = open(MVMM_GUEST_ELF, O_RDONLY);
	CHECK(fd >= 0 && fstat(fd, &st) == 0, "guest ELF");
	klen = (size_t)st.st_size;
	kernel = malloc(klen);
	CHECK(read(fd, kernel, klen) == (ssize_t)klen, "read guest");
	close(fd);
	outa = memfd_create("a", MFD_CLOEXEC);
	outb = memfd_create("b", MFD_CLOEXEC);

	a = new_vm(kernel, klen, outa, 64ULL << 20);
	CHECK(vm_start(a) == 0, "start a");
	do {
		sleep_ms(10);
		counts(outa, &first, &last, &result);
	} while (last < 10);
	CHECK(vm_pause(a) == 0, "pause a");
	counts(outa, &first, &paused_at, &result);
	err = vm_save_state(a, &blob, &blen);
	CHECK(err == 0, "save: %s", mvmm_strerror(err));
	printf("state blob: %zu bytes, %u vCPUs\n", blen, a->nr_vcpus);

	/* A VM of another size refuses the blob. */
	c = new_vm(kernel, klen, -1, 128ULL << 20);
	CHECK(vm_load_state(c, blob, blen) == -MVMM_ECONFIG, "size mismatch not refused");
	vm_destroy(c);

	b = new_vm(kernel, klen, outb, 64ULL << 20);
	/* A corrupt blob is refused before anything is loaded; B stays usable. */
	blob[blen / 2] ^= 0x10;
	CHECK(vm_load_state(b, blob, blen) == -EBADMSG, "corrupt blob not refused");
	blob[blen / 2] ^= 0x10;
	CHECK(vm_load_state(b, blob, blen - 1) == -EBADMSG, "truncated blob not refused");

	memcpy(b->mem.host, a->mem.host, a->mem.size);
	err = vm_load_state(b, blob, blen);
	CHECK(err == 0, "load: %s", mvmm_strerror(err));
	CHECK(vm_start(b) == 0, "start b");
	CHECK(vm_resume(a) == 0, "resume a");

	CHECK(vm_wait(a, &ia) == 0 && vm_wait(b, &ib) == 0, "wait");
	CHECK(ia.reason == MVMM_STOP_RESET && ia.guest_code == 0, "a ended %d/%u", ia.reason,
	      ia.guest_code);
	CHECK(ib.reason == MVMM_STOP_RESET && ib.guest_code == 0, "b ended %d/%u", ib.reason,
	      ib.guest_code);
	counts(outa, &first, &last, &result);
	CHECK(first == 1 && result == 0, "a: first %ld result %d", first, result);
	counts(outb, &first, &last, &result);
	CHECK(first == paused_at + 1, "b resumed at count %ld, a was paused after %ld", first,
	      paused_at);
	CHECK(last > first && result == 0, "b: counts %ld..%ld result %d", first, last, result);
	printf("PASS: clone continued at count %ld (original paused after %ld) and ran to %ld\n",
	       first, paused_at, last);
	vm_destroy(a);
	vm_destroy(b);
	free(blob);
	free(kernel);
	close(outa);
	close(outb);
	return 0;
}
