/* SPDX-License-Identifier: MIT */
/*
 * Pause/resume through libmvmm while the test guest counts at CPL3 (`test=count`): no count
 * line appears while the VM is paused, the sequence stays consecutive across many pause/resume
 * cycles (including a kick storm), and the lifecycle table refuses illegal transitions.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "mvmm/mvmm.h"
#include "kvm_test.h"

/* Highest count sequence number seen, after checking 1..N are all there, in order, once. */
static long last_seq(int fd)
{
	long first, last;
	int result;

	console_counts(fd, &first, &last, &result);
	CHECK(last == 0 || first == 1, "counting began at %ld", first);
	return last;
}

static long wait_for_seq(int fd, long at_least)
{
	long seq = 0;

	for (int i = 0; i < 2000 && seq < at_least; i++) {
		seq = last_seq(fd);
		if (seq < at_least)
			sleep_ms(5);
	}
	return seq;
}

static void *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	void *p;

	CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	CHECK(fstat(fd, &st) == 0, "fstat");
	p = malloc((size_t)st.st_size);
	CHECK(p && read(fd, p, (size_t)st.st_size) == st.st_size, "read %s", path);
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

int main(void)
{
	struct mvmm_config cfg = { .size = sizeof(cfg) };
	struct mvmm_exit_info info = { .size = sizeof(info) };
	mvmm_vm *vm;
	size_t klen;
	void *kernel;
	int out, err;
	long before, after, seq;

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("SKIP: /dev/kvm is not usable here (%s)\n", strerror(errno));
		return 77;
	}
	kernel = read_file(MVMM_GUEST_ELF, &klen);
	out = memfd_create("console", MFD_CLOEXEC);
	CHECK(out >= 0, "memfd");

	cfg.mem_bytes = 64ULL << 20;
	cfg.cpus = 1;
	cfg.kernel_data = kernel;
	cfg.kernel_size = klen;
	cfg.cmdline = "test=count count_ms=4000";
	cfg.serial_out_fd = out;
	cfg.serial_in_fd = -1;
	err = mvmm_vm_create(&cfg, &vm);
	CHECK(err == 0, "create: %s", mvmm_strerror(err));
	CHECK_EQ(mvmm_vm_get_state(vm), MVMM_VM_CREATED);
	CHECK_EQ(mvmm_vm_pause(vm), -MVMM_ESTATE);	/* not running yet */
	CHECK_EQ(mvmm_vm_start(vm), 0);
	CHECK_EQ(mvmm_vm_start(vm), -MVMM_ESTATE);	/* only once */
	CHECK_EQ(mvmm_vm_get_state(vm), MVMM_VM_RUNNING);

	seq = wait_for_seq(out, 10);
	CHECK(seq >= 10, "guest produced only %ld count lines", seq);

	/* A long pause: nothing may advance. */
	CHECK_EQ(mvmm_vm_pause(vm), 0);
	CHECK_EQ(mvmm_vm_get_state(vm), MVMM_VM_PAUSED);
	CHECK_EQ(mvmm_vm_pause(vm), 0);			/* pausing a paused VM is a no-op */
	before = last_seq(out);
	sleep_ms(400);
	after = last_seq(out);
	CHECK_EQ(after, before);
	CHECK_EQ(mvmm_vm_resume(vm), 0);
	CHECK_EQ(mvmm_vm_get_state(vm), MVMM_VM_RUNNING);
	CHECK_EQ(mvmm_vm_resume(vm), 0);			/* resuming a running VM is a no-op */
	seq = wait_for_seq(out, after + 5);
	CHECK(seq >= after + 5, "no progress after resume (%ld -> %ld)", after, seq);

	/* Kick storm: many short pause/resume cycles while the guest counts. */
	for (int i = 0; i < 200; i++) {
		CHECK_EQ(mvmm_vm_pause(vm), 0);
		CHECK_EQ(mvmm_vm_resume(vm), 0);
	}
	seq = last_seq(out);
	CHECK(wait_for_seq(out, seq + 3) >= seq + 3, "guest stuck after the kick storm");

	/* The guest finishes on its own: reset with result code 0. */
	CHECK_EQ(mvmm_vm_wait(vm, &info), 0);
	CHECK_EQ(info.reason, MVMM_STOP_RESET);
	CHECK_EQ(info.guest_code, 0);
	CHECK_EQ(mvmm_vm_get_state(vm), MVMM_VM_STOPPED);
	CHECK_EQ(mvmm_vm_pause(vm), -MVMM_ESTATE);
	CHECK_EQ(mvmm_vm_resume(vm), -MVMM_ESTATE);
	seq = last_seq(out);	/* checks the whole sequence once more */
	{
		char *text = console_text(out);

		CHECK(strstr(text, "result: 0"), "guest did not report success:\n%s", text);
		free(text);
	}
	printf("PASS: %ld consecutive counts across pauses and 200 pause/resume cycles\n", seq);
	mvmm_vm_destroy(vm);

	/* A second VM in the same process, stopped from outside while it runs. */
	cfg.cmdline = "test=count count_ms=60000";
	CHECK_EQ(ftruncate(out, 0), 0);
	CHECK_EQ(lseek(out, 0, SEEK_SET), 0);
	err = mvmm_vm_create(&cfg, &vm);
	CHECK(err == 0, "create: %s", mvmm_strerror(err));
	CHECK_EQ(mvmm_vm_start(vm), 0);
	CHECK(wait_for_seq(out, 2) >= 2, "second VM does not count");
	CHECK_EQ(mvmm_vm_stop(vm), 0);
	CHECK_EQ(mvmm_vm_wait(vm, &info), 0);
	CHECK_EQ(info.reason, MVMM_STOP_REQUESTED);
	mvmm_vm_destroy(vm);
	printf("PASS: stop from outside\n");
	close(out);
	free(kernel);
	return 0;
}
