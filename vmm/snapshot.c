/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include <zlib.h>

#include "snapshot.h"
#include "state.h"
#include "util.h"
#include "vm.h"
#include "fork/disks.h"
#include "fork/uffd_wp.h"

#define MANIFEST_MAX (64 * 1024)
#define PAGE 4096ULL

static int write_all(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

static bool page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[PAGE];

	return memcmp(p, zero, PAGE) == 0;
}

/*
 * RAM image: only pages that hold data are written, so the file is sparse.  A memfd tells
 * which ranges were ever touched (SEEK_DATA/SEEK_HOLE); inside them all-zero pages are skipped
 * too.  Reads go through the host mapping, never the guest's view.
 */
static int write_memory(struct vm *vm, int fd)
{
	uint64_t off = 0, size = vm->mem.size;
	int err;

	if (ftruncate(fd, (off_t)size) < 0)
		return -errno;
	while (off < size) {
		off_t data = vm->mem.memfd >= 0 && !vm->mem.private_map ?
				     lseek(vm->mem.memfd, (off_t)off, SEEK_DATA) : (off_t)off;
		off_t hole;

		if (data < 0)
			break;	/* ENXIO: no data after off */
		hole = vm->mem.memfd >= 0 && !vm->mem.private_map ?
			       lseek(vm->mem.memfd, data, SEEK_HOLE) : (off_t)size;
		if (hole < 0)
			hole = (off_t)size;
		for (uint64_t p = ALIGN_DOWN((uint64_t)data, PAGE); p < (uint64_t)hole; p += PAGE) {
			if (page_is_zero(vm->mem.host + p))
				continue;
			err = write_all(fd, vm->mem.host + p, PAGE, (off_t)p);
			if (err)
				return err;
		}
		off = (uint64_t)hole;
	}
	return 0;
}

static int write_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[PATH_MAX];
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = write_all(fd, buf, len, 0);
	if (!err && fsync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* Disk copies made in the temp dir are recorded relative to the snapshot dir (renamed later). */
static void disks_relative(json_object *disks)
{
	for (size_t i = 0; i < json_object_array_length(disks); i++) {
		json_object *d = json_object_array_get_idx(disks, i), *own, *dpath;

		if (json_object_object_get_ex(d, "own", &own) && json_object_get_boolean(own) &&
		    json_object_object_get_ex(d, "path", &dpath)) {
			const char *base = strrchr(json_object_get_string(dpath), '/') + 1;

			json_object_object_add(d, "file", json_object_new_string(base));
			json_object_object_del(d, "path");
			json_object_object_del(d, "own");
		}
	}
}

/* state.bin and manifest.json (memory.bin and the disk copies are written by then). */
static int write_meta(struct vm *vm, const char *tmp, const uint8_t *blob, size_t len,
		      json_object *disks)
{
	json_object *m = json_object_new_object(), *st = json_object_new_object(),
		    *mem = json_object_new_object();
	const char *text;
	int err;

	err = write_file(tmp, "state.bin", blob, len);
	if (err)
		goto out;
	json_object_object_add(m, "format", json_object_new_string(SNAPSHOT_FORMAT));
	json_object_object_add(m, "version", json_object_new_int(SNAPSHOT_VERSION));
	json_object_object_add(m, "mem_bytes", json_object_new_int64((int64_t)vm->mem.size));
	json_object_object_add(m, "cpus", json_object_new_int((int)vm->nr_vcpus));
	json_object_object_add(st, "file", json_object_new_string("state.bin"));
	json_object_object_add(st, "bytes", json_object_new_int64((int64_t)len));
	json_object_object_add(st, "crc32", json_object_new_int64(
		(int64_t)crc32(crc32(0L, Z_NULL, 0), blob, (uInt)len)));
	json_object_object_add(mem, "file", json_object_new_string("memory.bin"));
	json_object_object_add(mem, "bytes", json_object_new_int64((int64_t)vm->mem.size));
	json_object_object_add(m, "state", json_object_get(st));
	json_object_object_add(m, "memory", json_object_get(mem));
	json_object_object_add(m, "rng", json_object_new_boolean(vm->config.rng));
	disks_relative(disks);
	json_object_object_add(m, "disks", json_object_get(disks));
	text = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PRETTY);
	err = write_file(tmp, "manifest.json", text, strlen(text));
	if (!err)
		err = fsync_path(tmp);
out:
	json_object_put(st);
	json_object_put(mem);
	json_object_put(m);
	return err;
}

static void remove_tmp(const char *tmp)
{
	static const char *const files[] = { "memory.bin", "state.bin", "manifest.json" };
	char path[PATH_MAX + 32];

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmp, files[i]);
		unlink(path);
	}
	for (unsigned int i = 0; i < MVMM_MAX_DISKS; i++) {
		snprintf(path, sizeof(path), "%s/snap-disk%u.img", tmp, i);
		unlink(path);
	}
	rmdir(tmp);
}

/* The snapshot's disks for one restore: its own copy of each snapshot disk image. */
static int restore_disks(const char *dir, json_object *arr, struct mvmm_log *log)
{
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *d = json_object_array_get_idx(arr, i), *file;
		char src[PATH_MAX], dst[PATH_MAX];
		const char *f;
		bool reflink;
		int err;

		if (!json_object_object_get_ex(d, "file", &file))
			continue;	/* a read-only disk, shared by path */
		f = json_object_get_string(file);
		if (!f || strchr(f, '/') || strncmp(f, "snap-disk", 9)) {
			pr_err(log, "snapshot", "%s: bad disk file name in the manifest", dir);
			return -EBADMSG;
		}
		snprintf(src, sizeof(src), "%s/%s", dir, f);
		snprintf(dst, sizeof(dst), "%s/.restore-%d-%zu.img", dir, (int)getpid(), i);
		err = disk_clone_file(src, dst, &reflink);
		if (err) {
			pr_err(log, "snapshot", "disk %s: %s", src, mvmm_strerror(err));
			return err == -ENOENT ? -EBADMSG : err;
		}
		json_object_object_add(d, "path", json_object_new_string(dst));
		json_object_object_add(d, "own", json_object_new_boolean(true));
	}
	return 0;
}

/*
 * Paused snapshot: everything is written while the VM is paused.  Live snapshot: while paused,
 * only the state is captured, the disks copied and write-protect armed on RAM; the VM resumes
 * and RAM is copied in the background (fork/uffd_wp.c), each page as it was at the arm instant.
 * Either way the directory appears complete, or not at all.
 */
int vm_snapshot(struct vm *vm, const char *dir, bool live)
{
	char tmp[PATH_MAX], parent[PATH_MAX], path[PATH_MAX + 16];
	struct uffd_copy *copy = NULL;
	json_object *disks = NULL;
	uint8_t *blob = NULL;
	uint64_t t0 = mono_ns(), t_resumed = 0, faults = 0;
	size_t len = 0;
	bool resume, held = false;
	int fd = -1, err;

	if (strlen(dir) + 16 >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (access(dir, F_OK) == 0)
		return -EEXIST;
	/* vCPUs parked, devices done with in-flight I/O: nothing touches RAM or state now. */
	err = vm_hold(vm, &resume);
	if (err)
		return err;
	held = true;
	err = vm_save_state(vm, &blob, &len);
	snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", dir);
	if (!err && !mkdtemp(tmp))
		err = -errno;
	if (err)
		goto out_resume;
	snprintf(path, sizeof(path), "%s/memory.bin", tmp);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		err = -errno;
	/* Disks are copied while nothing writes them: they match the state and RAM. */
	if (!err)
		err = disks_for_clone(vm, tmp, "snap", &disks);
	if (!err && live)
		err = uffd_copy_start(vm, fd, &copy);
	else if (!err)
		err = write_memory(vm, fd);
	if (live && held) {
		vm_release(vm, resume);
		held = false;
		t_resumed = mono_ns();
	}
	if (copy) {
		int cerr = uffd_copy_finish(copy, &faults);

		err = err ? err : cerr;
	}
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (!err)
		err = write_meta(vm, tmp, blob, len, disks);
	/* rename() publishes the complete directory at once; it fails if DIR appeared. */
	if (!err && rename(tmp, dir) < 0)
		err = -errno;
	if (err)
		remove_tmp(tmp);
	if (!err) {
		snprintf(parent, sizeof(parent), "%s", dir);
		err = fsync_path(dirname(parent));
	}
out_resume:
	if (fd >= 0)
		close(fd);
	if (held)
		vm_release(vm, resume);
	if (!t_resumed)
		t_resumed = mono_ns();
	json_object_put(disks);
	free(blob);
	if (err)
		pr_err(&vm->log, "snapshot", "snapshot to %s: %s", dir, mvmm_strerror(err));
	else
		pr_info(&vm->log, "snapshot", "%s snapshot written to %s: paused %.3f ms, total "
			"%.3f ms, %llu write faults", live ? "live" : "paused", dir,
			(double)(t_resumed - t0) / 1e6, (double)(mono_ns() - t0) / 1e6,
			(unsigned long long)faults);
	return err;
}

static int64_t jint(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Read a whole small file (<= max bytes). */
static int slurp(const char *dir, const char *name, size_t max, uint8_t **buf, size_t *len)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		close(fd);
		return -EBADMSG;
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len + 1);
	if (!*buf)
		err = -ENOMEM;
	else if (read(fd, *buf, *len) != (ssize_t)*len)
		err = -EIO;
	else
		(*buf)[*len] = 0;
	close(fd);
	if (err) {
		free(*buf);
		*buf = NULL;
	}
	return err;
}

#define BAD(...)                                                                                   \
	do {                                                                                       \
		pr_err(log, "snapshot", __VA_ARGS__);                                              \
		err = -EBADMSG;                                                                    \
		goto out;                                                                          \
	} while (0)

int snapshot_open(const char *dir, struct snapshot_files *f, struct mvmm_log *log)
{
	uint8_t *text = NULL;
	size_t tlen = 0;
	json_object *m = NULL, *st, *mem;
	char path[PATH_MAX];
	struct stat sb;
	int64_t bytes, crc, mem_bytes, cpus;
	int err;

	memset(f, 0, sizeof(*f));
	f->mem_fd = -1;
	err = slurp(dir, "manifest.json", MANIFEST_MAX, &text, &tlen);
	if (err) {
		pr_err(log, "snapshot", "%s: no readable manifest.json (%s)", dir, mvmm_strerror(err));
		return err == -ENOENT ? -ENOENT : -EBADMSG;
	}
	m = json_tokener_parse((const char *)text);
	if (!m || !json_object_is_type(m, json_type_object))
		BAD("%s/manifest.json: not a JSON object", dir);
	if (!jstr(m, "format") || strcmp(jstr(m, "format"), SNAPSHOT_FORMAT))
		BAD("%s: not an mvmm snapshot", dir);
	if (jint(m, "version") != SNAPSHOT_VERSION)
		BAD("%s: snapshot version %lld, this mvmm reads %d", dir,
		    (long long)jint(m, "version"), SNAPSHOT_VERSION);
	mem_bytes = jint(m, "mem_bytes");
	cpus = jint(m, "cpus");
	if (mem_bytes <= 0 || (mem_bytes & (int64_t)(2 * MiB - 1)) || cpus < 1 ||
	    cpus > MVMM_MAX_CPUS)
		BAD("%s/manifest.json: bad mem_bytes or cpus", dir);
	if (!json_object_object_get_ex(m, "state", &st) ||
	    !json_object_object_get_ex(m, "memory", &mem) || !jstr(st, "file") ||
	    strcmp(jstr(st, "file"), "state.bin") || !jstr(mem, "file") ||
	    strcmp(jstr(mem, "file"), "memory.bin"))
		BAD("%s/manifest.json: missing state or memory entry", dir);
	bytes = jint(st, "bytes");
	crc = jint(st, "crc32");
	if (slurp(dir, "state.bin", STATE_MAX_SIZE, &f->blob, &f->blob_len) ||
	    (int64_t)f->blob_len != bytes ||
	    (int64_t)crc32(crc32(0L, Z_NULL, 0), f->blob, (uInt)f->blob_len) != crc)
		BAD("%s/state.bin: missing, truncated or corrupt", dir);
	snprintf(path, sizeof(path), "%s/memory.bin", dir);
	f->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->mem_fd < 0 || fstat(f->mem_fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_size != mem_bytes || jint(mem, "bytes") != mem_bytes)
		BAD("%s/memory.bin: missing or not %lld bytes", dir, (long long)mem_bytes);
	f->mem_bytes = (uint64_t)mem_bytes;
	f->cpus = (uint32_t)cpus;
	{
		json_object *v;

		f->rng = json_object_object_get_ex(m, "rng", &v) && json_object_get_boolean(v);
		if (json_object_object_get_ex(m, "disks", &v) &&
		    json_object_is_type(v, json_type_array)) {
			f->disks = json_object_get(v);
			err = restore_disks(dir, f->disks, log);
		}
	}
out:
	json_object_put(m);
	free(text);
	if (err)
		snapshot_files_free(f);
	return err;
}

void snapshot_files_free(struct snapshot_files *f)
{
	if (!f)
		return;
	if (f->mem_fd >= 0)
		close(f->mem_fd);
	free(f->blob);
	disks_unlink_owned(f->disks);	/* the VM has them open by now, or never will */
	json_object_put(f->disks);
	f->disks = NULL;
	f->mem_fd = -1;
	f->blob = NULL;
}
