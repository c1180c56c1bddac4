/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <json-c/json.h>

#include "disks.h"
#include "mvmm/mvmm.h"
#include "vmm/vm.h"

/* Data ranges only (SEEK_DATA/SEEK_HOLE), so a sparse image stays sparse. */
static int sparse_copy(int in, int out, off_t size)
{
	off_t off = 0;

	if (ftruncate(out, size) < 0)
		return -errno;
	while (off < size) {
		off_t data = lseek(in, off, SEEK_DATA), hole;

		if (data < 0)
			return errno == ENXIO ? 0 : -errno;
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		for (off_t pos = data; pos < hole;) {
			loff_t a = pos, b = pos;
			ssize_t n = copy_file_range(in, &a, out, &b, (size_t)(hole - pos), 0);

			if (n <= 0)
				return n < 0 ? -errno : -EIO;
			pos += n;
		}
		off = hole;
	}
	return 0;
}

int disk_clone_file(const char *src, const char *dst, bool *reflinked)
{
	struct stat st;
	int in, out, err = 0;

	*reflinked = false;
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		err = -errno;
		close(in);
		return err;
	}
	if (fstat(in, &st) < 0)
		err = -errno;
	else if (ioctl(out, FICLONE, in) == 0)
		*reflinked = true;
	else
		err = sparse_copy(in, out, st.st_size);
	if (!err && fdatasync(out) < 0)
		err = -errno;
	close(out);
	close(in);
	if (err)
		unlink(dst);
	return err;
}

int disks_for_clone(struct vm *vm, const char *dir, const char *tag, struct json_object **out)
{
	struct json_object *arr = json_object_new_array();

	for (unsigned int i = 0; arr && i < vm->config.nr_disks; i++) {
		const struct vm_disk *d = &vm->config.disks[i];
		struct json_object *o = json_object_new_object();
		char path[PATH_MAX];
		bool reflink;
		int err;

		snprintf(path, sizeof(path), "%s", d->path);
		if (!d->ro) {
			snprintf(path, sizeof(path), "%s/%s-disk%u.img", dir, tag, i);
			err = disk_clone_file(d->path, path, &reflink);
			if (err) {
				pr_err(&vm->log, "fork", "disk %s -> %s: %s", d->path, path,
				       mvmm_strerror(err));
				json_object_put(o);
				json_object_put(arr);
				return err;
			}
			pr_debug(&vm->log, "fork", "disk %s cloned to %s (%s)", d->path, path,
				 reflink ? "reflink" : "copy");
		}
		json_object_object_add(o, "path", json_object_new_string(path));
		json_object_object_add(o, "ro", json_object_new_boolean(d->ro));
		if (d->id)
			json_object_object_add(o, "id", json_object_new_string(d->id));
		json_object_object_add(o, "own", json_object_new_boolean(!d->ro));
		json_object_array_add(arr, o);
	}
	if (!arr)
		return -ENOMEM;
	*out = arr;
	return 0;
}

int disks_from_json(struct json_object *arr, struct mvmm_config *cfg, void **store)
{
	size_t n = arr ? json_object_array_length(arr) : 0;
	struct mvmm_disk_config *d;

	*store = NULL;
	cfg->disks = NULL;
	cfg->nr_disks = 0;
	if (!n)
		return 0;
	if (n > MVMM_MAX_DISKS)
		return -EPROTO;
	d = calloc(n, sizeof(*d));
	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *v;

		d[i].size = sizeof(d[i]);
		if (!json_object_object_get_ex(o, "path", &v) ||
		    !json_object_is_type(v, json_type_string)) {
			free(d);
			return -EPROTO;
		}
		d[i].path = json_object_get_string(v);	/* lives as long as arr */
		d[i].read_only = json_object_object_get_ex(o, "ro", &v) && json_object_get_boolean(v);
		if (json_object_object_get_ex(o, "id", &v))
			d[i].id = json_object_get_string(v);
	}
	cfg->disks = d;
	cfg->nr_disks = (uint32_t)n;
	*store = d;
	return 0;
}

void disks_unlink_owned(struct json_object *arr)
{
	size_t n = arr ? json_object_array_length(arr) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *own, *path;

		if (json_object_object_get_ex(o, "own", &own) && json_object_get_boolean(own) &&
		    json_object_object_get_ex(o, "path", &path))
			unlink(json_object_get_string(path));
	}
}
