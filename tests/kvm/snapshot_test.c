/* SPDX-License-Identifier: MIT */
/*
 * Snapshot to disk and restore through libmvmm: a counting guest is snapshotted while it runs
 * (it is paused, written, resumed), then restored twice; both restored VMs continue at the
 * count after the snapshot point and run to a clean end, like the original.  The RAM image is
 * sparse.  Corrupt snapshot directories are refused with an error and no VM.
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
#include "kvm_test.h"

#define counts console_counts

static char tmpdir[] = "/tmp/mvmm-snap-XXXXXX";

static struct mvmm_config base_cfg(int out)
{
	struct mvmm_config cfg = { .size = sizeof(cfg) };

	cfg.serial_out_fd = out;
	cfg.serial_in_fd = -1;
	return cfg;
}

static void remove_tree(const char *dir)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "%s", cmd);
}

/* A copy of the good snapshot with one thing broken must be refused. */
static void expect_refused(const char *good, const char *name, const char *breakit, int want)
{
	char dir[512], cmd[1536];
	struct mvmm_config cfg = base_cfg(-1);
	mvmm_vm *vm = NULL;
	int err;

	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, name);
	snprintf(cmd, sizeof(cmd), "cp -r --sparse=always %s %s && cd %s && %s", good, dir, dir,
		 breakit);
	CHECK(system(cmd) == 0, "%s", cmd);
	err = mvmm_vm_restore(dir, &cfg, &vm);
	CHECK(err == want && vm == NULL, "%s: restore gave %d (%s), want %d", name, err,
	      mvmm_strerror(err), want);
	printf("PASS: %s refused: %s\n", name, mvmm_strerror(err));
}

int main(void)
{
	struct mvmm_config cfg;
	struct mvmm_exit_info info = { .size = sizeof(info) };
	mvmm_vm *vm, *r1, *r2;
	char snap[512];
	long first, last, snap_at;
	int out = memfd_create("orig", MFD_CLOEXEC), o1 = memfd_create("r1", MFD_CLOEXEC),
	    o2 = memfd_create("r2", MFD_CLOEXEC), result, err;
	struct stat st;

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("SKIP: /dev/kvm is not usable here (%s)\n", strerror(errno));
		return 77;
	}
	CHECK(mkdtemp(tmpdir), "mkdtemp");
	snprintf(snap, sizeof(snap), "%s/snap", tmpdir);

	cfg = base_cfg(out);
	cfg.mem_bytes = 64ULL << 20;
	cfg.cpus = 2;
	cfg.kernel_path = MVMM_GUEST_ELF;
	cfg.cmdline = "test=count count_ms=2500";
	err = mvmm_vm_create(&cfg, &vm);
	CHECK(err == 0, "create: %s", mvmm_strerror(err));
	CHECK(mvmm_vm_start(vm) == 0, "start");
	do {
		sleep_ms(10);
		counts(out, &first, &last, &result);
	} while (last < 20);

	/* While it runs: snapshot pauses, writes, resumes. */
	err = mvmm_vm_snapshot(vm, snap);
	CHECK(err == 0, "snapshot: %s", mvmm_strerror(err));
	CHECK(mvmm_vm_get_state(vm) == MVMM_VM_RUNNING, "not resumed after the snapshot");
	CHECK(mvmm_vm_snapshot(vm, snap) == -EEXIST, "snapshot over an existing dir");
	CHECK(mvmm_vm_wait(vm, &info) == 0 && info.reason == MVMM_STOP_RESET && !info.guest_code,
	      "original ended badly");
	counts(out, &first, &last, &result);
	CHECK(first == 1 && result == 0, "original: first %ld result %d", first, result);
	mvmm_vm_destroy(vm);

	/* Sparse: a 64 MiB guest that touched little RAM takes far less disk. */
	{
		char path[600];

		snprintf(path, sizeof(path), "%s/memory.bin", snap);
		CHECK(stat(path, &st) == 0 && st.st_size == 64 << 20, "memory.bin size");
		CHECK((uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size / 4,
		      "memory.bin not sparse: %lld of %lld bytes allocated",
		      (long long)st.st_blocks * 512, (long long)st.st_size);
		printf("memory.bin: %lld KiB allocated of %lld KiB\n",
		       (long long)st.st_blocks / 2, (long long)st.st_size / 1024);
	}

	/* Two restores of one snapshot, running at the same time. */
	cfg = base_cfg(o1);
	err = mvmm_vm_restore(snap, &cfg, &r1);
	CHECK(err == 0, "restore 1: %s", mvmm_strerror(err));
	cfg = base_cfg(o2);
	err = mvmm_vm_restore(snap, &cfg, &r2);
	CHECK(err == 0, "restore 2: %s", mvmm_strerror(err));
	CHECK(mvmm_vm_start(r1) == 0 && mvmm_vm_start(r2) == 0, "start restored");
	CHECK(mvmm_vm_wait(r1, &info) == 0 && info.reason == MVMM_STOP_RESET && !info.guest_code,
	      "restore 1 ended badly (%d/%u)", info.reason, info.guest_code);
	CHECK(mvmm_vm_wait(r2, &info) == 0 && info.reason == MVMM_STOP_RESET && !info.guest_code,
	      "restore 2 ended badly (%d/%u)", info.reason, info.guest_code);
	counts(o1, &snap_at, &last, &result);
	CHECK(snap_at > 20 && result == 0 && last > snap_at, "restore 1: %ld..%ld result %d",
	      snap_at, last, result);
	counts(o2, &first, &last, &result);
	CHECK(first == snap_at && result == 0, "restore 2 began at %ld, restore 1 at %ld", first,
	      snap_at);
	printf("PASS: two restores continued at count %ld and finished cleanly\n", snap_at);
	mvmm_vm_destroy(r1);
	mvmm_vm_destroy(r2);

	/* A memory size that disagrees with the snapshot is refused. */
	cfg = base_cfg(-1);
	cfg.mem_bytes = 128ULL << 20;
	CHECK(mvmm_vm_restore(snap, &cfg, &r1) == -MVMM_ECONFIG, "mem mismatch accepted");

	expect_refused(snap, "nomanifest", "rm manifest.json", -ENOENT);
	expect_refused(snap, "badjson", "echo '{' > manifest.json", -EBADMSG);
	expect_refused(snap, "format", "sed -i 's/mvmm-snapshot/other/' manifest.json", -EBADMSG);
	expect_refused(snap, "version", "sed -i 's/\"version\": *1/\"version\": 99/' manifest.json",
		       -EBADMSG);
	expect_refused(snap, "statecrc", "printf '\\x55' | dd of=state.bin bs=1 seek=100 conv=notrunc 2>/dev/null",
		       -EBADMSG);
	expect_refused(snap, "nostate", "rm state.bin", -EBADMSG);
	expect_refused(snap, "memshort", "truncate -s 1M memory.bin", -EBADMSG);
	remove_tree(tmpdir);
	close(out);
	close(o1);
	close(o2);
	return 0;
}
