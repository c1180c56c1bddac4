// SPDX-License-Identifier: MIT
/*
 * Host-side baselines for tools/bench/fork.sh, each printing one line of numbers per run:
 *
 *   forkhost fork MIB REPS 4k|thp   a process holding MIB of written anonymous memory (4 KiB pages
 *                                   with MADV_NOHUGEPAGE, or MADV_HUGEPAGE) calls fork():
 *                                   "<us until fork() returned in the parent> <us until the
 *                                   child's first instruction after fork()> <AnonHugePages KiB>"
 *   forkhost memcpy MIB             "<warm memcpy MB/s> <ms to copy MIB into fresh memory>"
 *   forkhost kvm MIB REPS           bare KVM VM creation as a VMM does it (open /dev/kvm,
 *                                   CREATE_VM, memslot over a MIB memfd, TSS, irqchip, PIT, one
 *                                   vCPU with its kvm_run): "<total us> <VM> <memslot>
 *                                   <irqchip+PIT> <vCPU> <teardown, not in the total>" per run
 *   forkhost spawn REPS PROG ARG..  posix_spawn + exec + exit of PROG, stdout/err to /dev/null:
 *                                   "<us>" per run
 *   forkhost pagemap MIB REPS       the dirty-page scan fork/layers.c does at every later fork:
 *                                   read /proc/self/pagemap (4096 entries per pread) over a
 *                                   MAP_PRIVATE memfd mapping of MIB with every page faulted in
 *                                   and 1 % written: "<us>" per run
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/kvm.h>

extern char **environ;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "forkhost: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long smaps_kib(const char *key)
{
	char line[256];
	long v = -1;
	size_t k = strlen(key);
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, k) == 0 && line[k] == ':') {
			v = strtol(line + k + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static int do_fork(size_t mib, int reps, int thp)
{
	size_t len = mib << 20;
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		die("mmap");
	if (madvise(m, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) < 0)
		die("madvise");
	for (size_t off = 0; off < len; off += 4096)
		m[off] = (uint8_t)(off >> 12) | 1;
	for (int r = 0; r < reps; r++) {
		int p[2];
		uint64_t t0, t1, tc = 0;
		pid_t pid;

		if (pipe(p) < 0)
			die("pipe");
		t0 = now_ns();
		pid = fork();
		if (pid == 0) {
			tc = now_ns();
			if (write(p[1], &tc, sizeof(tc)) != sizeof(tc))
				_exit(1);
			_exit(0);
		}
		t1 = now_ns();
		if (pid < 0)
			die("fork");
		if (read(p[0], &tc, sizeof(tc)) != sizeof(tc))
			die("read");
		waitpid(pid, NULL, 0);
		close(p[0]);
		close(p[1]);
		printf("%.1f %.1f %ld\n", (double)(t1 - t0) / 1e3, (double)(tc - t0) / 1e3,
		       smaps_kib("AnonHugePages"));
	}
	return 0;
}

static int do_memcpy(size_t mib)
{
	size_t len = mib << 20, warm = len < (256u << 20) ? len : (256u << 20);
	uint8_t *a = malloc(warm), *b = malloc(warm), *src, *dst;
	uint64_t best = UINT64_MAX, t0, t1;

	if (!a || !b)
		die("malloc");
	memset(a, 0x5a, warm);
	memset(b, 0xa5, warm);
	for (int r = 0; r < 5; r++) {
		t0 = now_ns();
		memcpy(r & 1 ? a : b, r & 1 ? b : a, warm);
		t1 = now_ns();
		if (t1 - t0 < best)
			best = t1 - t0;
	}
	/* The whole size again, into memory that has never been touched (page faults included). */
	src = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED || dst == MAP_FAILED)
		die("mmap");
	madvise(src, len, MADV_NOHUGEPAGE);
	madvise(dst, len, MADV_NOHUGEPAGE);
	memset(src, 0x3c, len);
	t0 = now_ns();
	memcpy(dst, src, len);
	t1 = now_ns();
	printf("%.0f %.1f\n", (double)warm / ((double)best / 1e9) / 1e6, (double)(t1 - t0) / 1e6);
	return 0;
}

static int do_kvm(size_t mib, int reps)
{
	size_t len = mib << 20;

	for (int r = 0; r < reps; r++) {
		struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
		struct kvm_userspace_memory_region slot = { 0 };
		uint64_t t[6];
		int kvm, vm, vcpu, memfd;
		long runsz;
		void *ram, *run;

		/* In vm_create()'s order: the memslot before the irqchip (the other way round,
		 * the memslot costs 5-10 ms more on PVM). */
		t[0] = now_ns();
		kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (kvm < 0)
			die("/dev/kvm");
		vm = ioctl(kvm, KVM_CREATE_VM, 0);
		if (vm < 0)
			die("KVM_CREATE_VM");
		t[1] = now_ns();
		memfd = memfd_create("forkhost-ram", MFD_CLOEXEC);
		if (memfd < 0 || ftruncate(memfd, (off_t)len) < 0)
			die("memfd");
		ram = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, memfd, 0);
		if (ram == MAP_FAILED)
			die("mmap ram");
		slot.memory_size = len < (3ULL << 30) ? len : (3ULL << 30);
		slot.userspace_addr = (uint64_t)(uintptr_t)ram;
		if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			die("KVM_SET_USER_MEMORY_REGION");
		t[2] = now_ns();
		ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL);
		if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
			die("KVM_CREATE_IRQCHIP");
		if (ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
			die("KVM_CREATE_PIT2");
		t[3] = now_ns();
		vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
		if (vcpu < 0)
			die("KVM_CREATE_VCPU");
		runsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
		run = mmap(NULL, (size_t)runsz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
		if (run == MAP_FAILED)
			die("mmap kvm_run");
		t[4] = now_ns();
		munmap(run, (size_t)runsz);
		munmap(ram, len);
		close(vcpu);
		close(memfd);
		close(vm);
		close(kvm);
		t[5] = now_ns();
		/* total, then: VM, memslot, irqchip+PIT, vCPU, teardown */
		printf("%.1f %.1f %.1f %.1f %.1f %.1f\n", (double)(t[4] - t[0]) / 1e3,
		       (double)(t[1] - t[0]) / 1e3, (double)(t[2] - t[1]) / 1e3,
		       (double)(t[3] - t[2]) / 1e3, (double)(t[4] - t[3]) / 1e3,
		       (double)(t[5] - t[4]) / 1e3);
	}
	return 0;
}

static int do_spawn(int reps, char **argv)
{
	posix_spawn_file_actions_t fa;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	for (int r = 0; r < reps; r++) {
		uint64_t t0 = now_ns();
		pid_t pid;
		int err = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);

		if (err) {
			errno = err;
			die(argv[0]);
		}
		waitpid(pid, NULL, 0);
		printf("%.1f\n", (double)(now_ns() - t0) / 1e3);
	}
	posix_spawn_file_actions_destroy(&fa);
	return 0;
}

static int do_pagemap(size_t mib, int reps)
{
	size_t len = mib << 20, pages = len / 4096;
	static uint64_t buf[4096];
	volatile uint8_t sink = 0;
	int memfd = memfd_create("forkhost-ram", MFD_CLOEXEC), pm;
	uint8_t *m;

	if (memfd < 0 || ftruncate(memfd, (off_t)len) < 0)
		die("memfd");
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, memfd, 0);
	if (m == MAP_FAILED)
		die("mmap");
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0)
		die("/proc/self/pagemap");
	for (size_t p = 0; p < pages; p++) {
		if (p % 100 == 0)
			m[p * 4096] = 1;
		else
			sink += m[p * 4096];
	}
	for (int r = 0; r < reps; r++) {
		uint64_t t0 = now_ns(), dirty = 0;

		for (size_t p = 0; p < pages;) {
			size_t n = pages - p < 4096 ? pages - p : 4096;
			off_t off = (off_t)(((uintptr_t)m / 4096 + p) * sizeof(uint64_t));

			if (pread(pm, buf, n * sizeof(uint64_t), off) != (ssize_t)(n * sizeof(uint64_t)))
				die("pread pagemap");
			for (size_t i = 0; i < n; i++)
				dirty += (buf[i] >> 63) && !((buf[i] >> 61) & 1);
			p += n;
		}
		printf("%.1f %llu\n", (double)(now_ns() - t0) / 1e3, (unsigned long long)dirty);
	}
	(void)sink;
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && !strcmp(argv[1], "fork"))
		return do_fork(strtoul(argv[2], NULL, 0), atoi(argv[3]), !strcmp(argv[4], "thp"));
	if (argc == 3 && !strcmp(argv[1], "memcpy"))
		return do_memcpy(strtoul(argv[2], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "kvm"))
		return do_kvm(strtoul(argv[2], NULL, 0), atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "pagemap"))
		return do_pagemap(strtoul(argv[2], NULL, 0), atoi(argv[3]));
	if (argc >= 4 && !strcmp(argv[1], "spawn"))
		return do_spawn(atoi(argv[2]), argv + 3);
	fprintf(stderr, "usage: forkhost fork MIB REPS 4k|thp | memcpy MIB | kvm MIB REPS | "
			"spawn REPS PROG [ARG...] | pagemap MIB REPS\n");
	return 2;
}
