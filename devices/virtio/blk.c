/* SPDX-License-Identifier: MIT */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <liburing.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "blk.h"
#include "mmio.h"
#include "vdev.h"
#include "vstate.h"
#include "mvmm/mvmm.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define BLK_SECTOR_SHIFT 9
#define BLK_SECTOR_SIZE (1U << BLK_SECTOR_SHIFT)
#define BLK_STATE_VERSION 1
/* Limits we advertise; one segment per discard / write-zeroes request keeps each one op. */
#define BLK_SEG_MAX (BLK_QUEUE_SIZE - 2)		/* minus header and status */
#define BLK_MAX_DISCARD_SECTORS (1U << 22)		/* 2 GiB */
#define BLK_DISCARD_ALIGN_SECTORS 8			/* 4 KiB */
#define BLK_MAX_ZEROES_SECTORS (1U << 15)		/* 16 MiB */
#define BLK_ZERO_CHUNK (64 * 1024)			/* fallback: one zero buffer, many iovecs */

enum blk_op { BLK_OP_NONE, BLK_OP_READ, BLK_OP_WRITE, BLK_OP_FSYNC, BLK_OP_FALLOC };

/* How WRITE_ZEROES is tried, in order, when the filesystem refuses the previous way. */
enum blk_zero_mode { BLK_ZERO_RANGE, BLK_ZERO_PUNCH, BLK_ZERO_WRITE };

struct blk;

struct blk_req {
	struct blk *blk;
	struct vchain chain;
	uint8_t *status;		/* host pointer to the guest's status byte */
	uint32_t type;			/* VIRTIO_BLK_T_* */
	uint32_t used_len;		/* bytes written into the guest on success, incl. status */
	enum blk_op op;
	int falloc_mode;
	enum blk_zero_mode zmode;
	uint64_t offset;		/* bytes into the image */
	uint64_t len;			/* bytes */
	struct iovec *iov;		/* owned data iovecs (grown on demand, reused) */
	unsigned int nr_iov;
	unsigned int iov_cap;
	struct blk_req *next_free;
};

struct blk {
	struct vdev vdev;		/* first: container_of */
	int fd;				/* owned image */
	bool read_only;
	uint64_t capacity;		/* sectors */
	char serial[VIRTIO_BLK_ID_BYTES];	/* zero padded, not NUL-terminated when full */
	struct virtio_blk_config config;	/* little-endian, what the guest reads */
	struct io_uring ring;
	bool ring_ok;			/* false: synchronous fallback (no io_uring here) */
	int ring_efd;			/* owned eventfd signalled on completions */
	bool efd_in_loop;
	unsigned int to_submit;		/* SQEs prepared since the last submit */
	unsigned int inflight;		/* requests handed to the ring */
	struct blk_req reqs[BLK_QUEUE_SIZE];
	struct blk_req *free_list;
	bool starved;			/* stopped popping for lack of a free request */
	uint8_t *zeroes;		/* owned BLK_ZERO_CHUNK zero bytes (write-zeroes fallback) */
};

static struct blk *to_blk(struct vdev *vdev)
{
	return container_of(vdev, struct blk, vdev);
}

static struct blk_req *blk_req_get(struct blk *b)
{
	struct blk_req *r = b->free_list;

	if (r)
		b->free_list = r->next_free;
	return r;
}

static void blk_req_put(struct blk *b, struct blk_req *r)
{
	r->op = BLK_OP_NONE;
	r->next_free = b->free_list;
	b->free_list = r;
}

static void blk_reset_free_list(struct blk *b)
{
	b->free_list = NULL;
	for (unsigned int i = BLK_QUEUE_SIZE; i-- > 0;)
		blk_req_put(b, &b->reqs[i]);
}

/* Give the chain back with its status; `push` false after a driver reset (rings are gone). */
static void blk_complete(struct blk *b, struct blk_req *r, uint8_t status, bool push)
{
	struct vdev *vdev = &b->vdev;

	if (push) {
		*r->status = status;
		virtq_push(&vdev->queues[0], r->chain.head, status == VIRTIO_BLK_S_OK ? r->used_len : 1);
	}
	vdev_count(&vdev->metrics.requests, 1);
	if (status != VIRTIO_BLK_S_OK) {
		vdev_count(&vdev->metrics.errors, 1);
	} else if (r->type == VIRTIO_BLK_T_IN) {
		vdev_count(&vdev->metrics.bytes_written, r->len);
	} else if (r->type == VIRTIO_BLK_T_OUT) {
		vdev_count(&vdev->metrics.bytes_read, r->len);
	}
	blk_req_put(b, r);
}

static int blk_req_iov_reserve(struct blk_req *r, unsigned int n)
{
	struct iovec *iov;

	if (n <= r->iov_cap)
		return 0;
	iov = realloc(r->iov, n * sizeof(*iov));
	if (!iov)
		return -ENOMEM;
	r->iov = iov;
	r->iov_cap = n;
	return 0;
}

/* Run the request's operation now: the synchronous fallback. */
static int blk_run_sync(struct blk *b, struct blk_req *r)
{
	ssize_t n = 0;

	switch (r->op) {
	case BLK_OP_READ:
		n = preadv(b->fd, r->iov, (int)r->nr_iov, (off_t)r->offset);
		break;
	case BLK_OP_WRITE:
		n = pwritev(b->fd, r->iov, (int)r->nr_iov, (off_t)r->offset);
		break;
	case BLK_OP_FSYNC:
		n = fdatasync(b->fd);
		break;
	case BLK_OP_FALLOC:
		n = fallocate(b->fd, r->falloc_mode, (off_t)r->offset, (off_t)r->len);
		break;
	case BLK_OP_NONE:
		break;
	}
	return n < 0 ? -errno : (int)MIN(n, (ssize_t)INT32_MAX);
}

static void blk_finish(struct blk *b, struct blk_req *r, int res, bool push);

/* Hand the prepared operation to io_uring (or run it at once without one). */
static void blk_submit(struct blk *b, struct blk_req *r)
{
	struct io_uring_sqe *sqe;

	if (!b->ring_ok) {
		blk_finish(b, r, blk_run_sync(b, r), true);
		return;
	}
	/* Never NULL: the ring has an entry for every request slot. */
	sqe = io_uring_get_sqe(&b->ring);
	if (NEVER(!sqe)) {
		blk_complete(b, r, VIRTIO_BLK_S_IOERR, true);
		return;
	}
	switch (r->op) {
	case BLK_OP_READ:
		io_uring_prep_readv(sqe, b->fd, r->iov, r->nr_iov, r->offset);
		break;
	case BLK_OP_WRITE:
		io_uring_prep_writev(sqe, b->fd, r->iov, r->nr_iov, r->offset);
		break;
	case BLK_OP_FSYNC:
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
		break;
	case BLK_OP_FALLOC:
		io_uring_prep_fallocate(sqe, b->fd, r->falloc_mode, r->offset, r->len);
		break;
	case BLK_OP_NONE:
		io_uring_prep_nop(sqe);
		break;
	}
	io_uring_sqe_set_data(sqe, r);
	b->to_submit++;
	b->inflight++;
}

static void blk_flush_submissions(struct blk *b)
{
	if (b->ring_ok && b->to_submit) {
		int n = io_uring_submit(&b->ring);

		if (n < 0)
			pr_warn(b->vdev.log, "virtio-blk", "%s: io_uring_submit: %s", b->vdev.id,
				mvmm_strerror(n));
		else
			b->to_submit -= MIN((unsigned int)n, b->to_submit);
	}
}

/* Next way to write zeroes after `res` refused the current one; false when none is left. */
static bool blk_zero_fallback(struct blk *b, struct blk_req *r, int res)
{
	if (res != -EOPNOTSUPP && res != -EINVAL && res != -ENOSYS)
		return false;
	if (r->zmode == BLK_ZERO_RANGE) {
		r->zmode = BLK_ZERO_PUNCH;
		r->falloc_mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	} else if (r->zmode == BLK_ZERO_PUNCH) {
		unsigned int n = (unsigned int)((r->len + BLK_ZERO_CHUNK - 1) / BLK_ZERO_CHUNK);

		if (blk_req_iov_reserve(r, n))
			return false;
		for (unsigned int i = 0; i < n; i++) {
			r->iov[i].iov_base = b->zeroes;
			r->iov[i].iov_len = MIN((uint64_t)BLK_ZERO_CHUNK, r->len - (uint64_t)i * BLK_ZERO_CHUNK);
		}
		r->nr_iov = n;
		r->zmode = BLK_ZERO_WRITE;
		r->op = BLK_OP_WRITE;
	} else {
		return false;
	}
	return true;
}

/* One operation finished with `res` (bytes or -errno). */
static void blk_finish(struct blk *b, struct blk_req *r, int res, bool push)
{
	uint8_t status = VIRTIO_BLK_S_OK;

	switch (r->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		/* A short transfer inside the checked capacity means the image shrank or is full. */
		if (res < 0 || (uint64_t)res != r->len)
			status = VIRTIO_BLK_S_IOERR;
		break;
	case BLK_OP_FSYNC:
		if (res < 0)
			status = VIRTIO_BLK_S_IOERR;
		break;
	case BLK_OP_FALLOC:
		if (res >= 0)
			break;
		if (r->type == VIRTIO_BLK_T_DISCARD &&
		    (res == -EOPNOTSUPP || res == -EINVAL || res == -ENOSYS))
			break;	/* discard is a hint: nothing to do where holes are unsupported */
		if (r->type == VIRTIO_BLK_T_WRITE_ZEROES && push && blk_zero_fallback(b, r, res)) {
			blk_submit(b, r);
			return;
		}
		status = VIRTIO_BLK_S_IOERR;
		break;
	case BLK_OP_NONE:
		break;
	}
	if (status != VIRTIO_BLK_S_OK)
		pr_debug(b->vdev.log, "virtio-blk", "%s: type %u at %llu: %s", b->vdev.id, r->type,
			 (unsigned long long)r->offset, res < 0 ? mvmm_strerror(res) : "short transfer");
	blk_complete(b, r, status, push);
}

/* Reap every completion that is ready; with `wait`, block until nothing is in flight. */
static void blk_reap(struct blk *b, bool wait, bool push)
{
	struct io_uring_cqe *cqe;

	if (!b->ring_ok)
		return;
	for (;;) {
		struct blk_req *r;
		int err, res;

		blk_flush_submissions(b);
		if (wait && b->inflight)
			err = io_uring_wait_cqe(&b->ring, &cqe);
		else
			err = io_uring_peek_cqe(&b->ring, &cqe);
		if (err == -EINTR)
			continue;
		if (err)
			break;
		r = io_uring_cqe_get_data(cqe);
		res = cqe->res;
		io_uring_cqe_seen(&b->ring, cqe);
		b->inflight--;
		blk_finish(b, r, res, push);
	}
}

static bool blk_range_ok(const struct blk *b, uint64_t sector, uint64_t sectors)
{
	return sector <= b->capacity && sectors <= b->capacity - sector;
}

/* DISCARD / WRITE_ZEROES: one segment of struct virtio_blk_discard_write_zeroes. */
static uint8_t blk_prep_discard_zeroes(struct blk *b, struct blk_req *r)
{
	struct virtio_blk_discard_write_zeroes seg;
	uint64_t sector;
	uint32_t num, flags;
	bool zero = r->type == VIRTIO_BLK_T_WRITE_ZEROES;

	if (b->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (!vdev_has_feature(&b->vdev, zero ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD))
		return VIRTIO_BLK_S_UNSUPP;
	if (vchain_read_left(&r->chain) != sizeof(seg))
		return VIRTIO_BLK_S_IOERR;	/* we advertise one segment per request */
	vchain_read(&r->chain, &seg, sizeof(seg));
	sector = le64toh(seg.sector);
	num = le32toh(seg.num_sectors);
	flags = le32toh(seg.flags);
	if (flags & ~(uint32_t)(zero ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0))
		return VIRTIO_BLK_S_UNSUPP;
	if (num > (zero ? BLK_MAX_ZEROES_SECTORS : BLK_MAX_DISCARD_SECTORS) ||
	    !blk_range_ok(b, sector, num))
		return VIRTIO_BLK_S_IOERR;
	r->offset = sector << BLK_SECTOR_SHIFT;
	r->len = (uint64_t)num << BLK_SECTOR_SHIFT;
	r->op = BLK_OP_FALLOC;
	r->zmode = BLK_ZERO_RANGE;
	r->falloc_mode = zero ? FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE
			      : FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	if (num == 0)
		r->op = BLK_OP_NONE;
	return VIRTIO_BLK_S_OK;
}

/* IN / OUT: data iovecs for the sector range, after the range checks. */
static uint8_t blk_prep_rw(struct blk *b, struct blk_req *r, uint64_t sector)
{
	bool in = r->type == VIRTIO_BLK_T_IN;
	int n;

	if (!in && b->read_only)
		return VIRTIO_BLK_S_IOERR;
	r->len = in ? vchain_write_left(&r->chain) - 1 : vchain_read_left(&r->chain);
	if (r->len % BLK_SECTOR_SIZE || !blk_range_ok(b, sector, r->len >> BLK_SECTOR_SHIFT))
		return VIRTIO_BLK_S_IOERR;
	r->offset = sector << BLK_SECTOR_SHIFT;
	r->used_len = (in ? (uint32_t)r->len : 0) + 1;
	if (blk_req_iov_reserve(r, r->chain.nr_iov))
		return VIRTIO_BLK_S_IOERR;
	n = vchain_iov(&r->chain, in, r->len, r->iov, r->iov_cap);
	if (n < 0)
		return VIRTIO_BLK_S_IOERR;
	r->nr_iov = (unsigned int)n;
	r->op = in ? BLK_OP_READ : BLK_OP_WRITE;
	if (r->len == 0)
		r->op = BLK_OP_NONE;
	return VIRTIO_BLK_S_OK;
}

/* Parse a popped chain and start it; every outcome ends in blk_complete() sooner or later. */
static void blk_start(struct blk *b, struct blk_req *r)
{
	struct virtio_blk_outhdr hdr;
	uint8_t status = VIRTIO_BLK_S_OK;
	size_t n;

	r->op = BLK_OP_NONE;
	r->used_len = 1;
	r->len = 0;
	r->offset = 0;
	if (vchain_read(&r->chain, &hdr, sizeof(hdr)) != sizeof(hdr) ||
	    vchain_write_left(&r->chain) < 1) {
		/* No header or no status byte: nothing can be reported in the request itself. */
		log_guest(b->vdev.log, "virtio-blk", "%s: request without header or status byte",
			  b->vdev.id);
		vdev_count(&b->vdev.metrics.errors, 1);
		virtq_push(&b->vdev.queues[0], r->chain.head, 0);
		blk_req_put(b, r);
		return;
	}
	r->status = vchain_last_writable(&r->chain);
	r->type = le32toh(hdr.type);
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		status = blk_prep_rw(b, r, le64toh(hdr.sector));
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (!b->read_only)
			r->op = BLK_OP_FSYNC;
		break;
	case VIRTIO_BLK_T_GET_ID:
		n = (size_t)MIN(vchain_write_left(&r->chain) - 1, (uint64_t)sizeof(b->serial));
		vchain_write(&r->chain, b->serial, n);
		r->used_len = (uint32_t)n + 1;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		status = blk_prep_discard_zeroes(b, r);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (status != VIRTIO_BLK_S_OK || r->op == BLK_OP_NONE)
		blk_complete(b, r, status, true);
	else
		blk_submit(b, r);
}

/* Take requests off the queue until it is empty or every request slot is busy. */
static void blk_process(struct blk *b)
{
	struct vdev *vdev = &b->vdev;
	struct virtq *q = &vdev->queues[0];

	b->starved = false;
	for (;;) {
		struct blk_req *r;
		int ret;

		while ((r = blk_req_get(b))) {
			ret = virtq_pop(q, &r->chain);
			if (ret <= 0) {
				blk_req_put(b, r);
				if (ret == -MVMM_EGUEST)
					vdev_queue_fail(vdev, 0);
				if (ret < 0)
					goto out;
				break;
			}
			blk_start(b, r);
		}
		if (!r) {
			b->starved = true;	/* completions call us again */
			break;
		}
		if (!virtq_enable_notify(q))
			break;
	}
out:
	blk_flush_submissions(b);
	/*
	 * Reads served from the page cache complete during the submit: publish them now rather
	 * than on the next loop round (the eventfd still fires; that round finds nothing).
	 */
	blk_reap(b, false, true);
	vdev_used_flush(vdev, 0);
}

/* io_uring eventfd: completions, on the loop thread. */
static void blk_on_complete(void *opaque, uint32_t events)
{
	struct blk *b = opaque;
	uint64_t n;

	(void)events;
	if (read(b->ring_efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&b->vdev.lock);
	blk_reap(b, false, true);
	vdev_used_flush(&b->vdev, 0);
	if (b->starved && b->vdev.live && !b->vdev.broken && !b->vdev.quiesced)
		blk_process(b);
	pthread_mutex_unlock(&b->vdev.lock);
}

static void blk_notify(struct vdev *vdev, unsigned int q)
{
	(void)q;
	blk_process(to_blk(vdev));
}

static uint64_t blk_features(const struct vdev *vdev)
{
	const struct blk *b = container_of(vdev, struct blk, vdev);
	uint64_t f = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		     (1ULL << VIRTIO_BLK_F_FLUSH);

	if (b->read_only)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	else
		f |= (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
	return f;
}

static void blk_config_read(struct vdev *vdev, uint32_t off, uint8_t *data, uint32_t len)
{
	const struct blk *b = to_blk(vdev);

	if (off < sizeof(b->config))
		memcpy(data, (const uint8_t *)&b->config + off, MIN(len, sizeof(b->config) - off));
}

static int blk_activate(struct vdev *vdev)
{
	struct blk *b = to_blk(vdev);

	/* Nothing is in flight at DRIVER_OK (reset drained it). */
	if (NEVER(b->inflight))
		return -EBUSY;
	blk_reset_free_list(b);
	b->starved = false;
	return 0;
}

static void blk_reset(struct vdev *vdev)
{
	struct blk *b = to_blk(vdev);

	/* The rings are going away: wait for the I/O still using guest buffers, report nothing. */
	blk_reap(b, true, false);
	blk_reset_free_list(b);
}

static int blk_quiesce(struct vdev *vdev)
{
	struct blk *b = to_blk(vdev);

	/* Complete everything in flight into the used ring, then stay off the rings. */
	blk_reap(b, true, true);
	if (vdev->live)
		vdev_used_flush(vdev, 0);
	return b->inflight ? -EIO : 0;
}

static int blk_save(struct vdev *vdev, struct vstate_buf *buf)
{
	struct blk *b = to_blk(vdev);

	vstate_put_u8(buf, BLK_STATE_VERSION);
	vstate_put_u64(buf, b->capacity);
	vstate_put_u8(buf, b->read_only);
	vstate_put_bytes(buf, b->serial, sizeof(b->serial));
	return buf->err;
}

static int blk_load(struct vdev *vdev, struct vstate_rd *rd)
{
	struct blk *b = to_blk(vdev);
	char serial[VIRTIO_BLK_ID_BYTES];
	uint64_t capacity;
	uint8_t ro;

	if (vstate_get_u8(rd) != BLK_STATE_VERSION)
		return vstate_rd_fail(rd, -EINVAL);
	capacity = vstate_get_u64(rd);
	ro = vstate_get_u8(rd);
	vstate_get_bytes(rd, serial, sizeof(serial));
	if (rd->err)
		return rd->err;
	/* The disk attached now must look like the one the guest knew. */
	if (capacity != b->capacity || ro != b->read_only)
		return vstate_rd_fail(rd, -EINVAL);
	memcpy(b->serial, serial, sizeof(serial));
	return 0;
}

static int blk_open(const char *path, bool ro, int *fd_out, uint64_t *sectors)
{
	struct stat st;
	uint64_t bytes;
	int fd, err;

	fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto err;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &bytes) < 0) {
			err = -errno;
			goto err;
		}
	} else if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
	} else {
		err = -EINVAL;
		goto err;
	}
	*sectors = bytes >> BLK_SECTOR_SHIFT;	/* a partial last sector is not exposed */
	*fd_out = fd;
	return 0;
err:
	close(fd);
	return err;
}

/* Rebind: attach another image (a restored or forked VM's disk) of the same capacity. */
static int blk_rebind(struct vdev *vdev, const void *res)
{
	const struct mvmm_disk_config *cfg = res;
	struct blk *b = to_blk(vdev);
	uint64_t sectors = 0;
	int fd = -1, err;

	if (!cfg || !cfg->path)
		return 0;
	if (b->inflight)
		return -MVMM_ESTATE;
	err = blk_open(cfg->path, b->read_only, &fd, &sectors);
	if (err)
		return err;
	if (sectors != b->capacity) {
		close(fd);
		return -EINVAL;
	}
	close(b->fd);
	b->fd = fd;
	return 0;
}

static void blk_destroy(struct vdev *vdev)
{
	struct blk *b = to_blk(vdev);

	pthread_mutex_lock(&vdev->lock);
	blk_reap(b, true, false);
	pthread_mutex_unlock(&vdev->lock);
	vdev_fini(vdev);
	if (b->efd_in_loop)
		loop_del(&vdev->vm->loop, b->ring_efd);
	if (b->ring_ok)
		io_uring_queue_exit(&b->ring);
	if (b->ring_efd >= 0)
		close(b->ring_efd);
	for (unsigned int i = 0; i < BLK_QUEUE_SIZE; i++) {
		vchain_fini(&b->reqs[i].chain);
		free(b->reqs[i].iov);
	}
	if (b->fd >= 0)
		close(b->fd);
	free(b->zeroes);
	free(b);
}

static const struct vdev_ops blk_ops = {
	.type = "blk",
	.features = blk_features,
	.config_read = blk_config_read,
	.activate = blk_activate,
	.reset = blk_reset,
	.notify = blk_notify,
	.quiesce = blk_quiesce,
	.save = blk_save,
	.load = blk_load,
	.rebind = blk_rebind,
	.destroy = blk_destroy,
};

static void blk_build_config(struct blk *b)
{
	struct virtio_blk_config *c = &b->config;

	memset(c, 0, sizeof(*c));
	c->capacity = htole64(b->capacity);
	c->seg_max = htole32(BLK_SEG_MAX);
	c->blk_size = htole32(BLK_SECTOR_SIZE);
	c->max_discard_sectors = htole32(BLK_MAX_DISCARD_SECTORS);
	c->max_discard_seg = htole32(1);
	c->discard_sector_alignment = htole32(BLK_DISCARD_ALIGN_SECTORS);
	c->max_write_zeroes_sectors = htole32(BLK_MAX_ZEROES_SECTORS);
	c->max_write_zeroes_seg = htole32(1);
	c->write_zeroes_may_unmap = 1;
}

static int blk_setup_ring(struct blk *b)
{
	struct vm *vm = b->vdev.vm;
	int err;

	err = io_uring_queue_init(BLK_QUEUE_SIZE, &b->ring, 0);
	if (err) {
		/* Seccomp or io_uring_disabled: keep the disk working, synchronously. */
		pr_warn(&vm->log, "virtio-blk", "%s: io_uring unavailable (%s); disk I/O will run "
			"synchronously on the event loop", b->vdev.id, mvmm_strerror(err));
		return 0;
	}
	b->ring_ok = true;
	b->ring_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->ring_efd < 0)
		return -errno;
	err = io_uring_register_eventfd(&b->ring, b->ring_efd);
	if (err)
		return err;
	err = loop_add(&vm->loop, b->ring_efd, EPOLLIN, blk_on_complete, b);
	if (err)
		return err;
	b->efd_in_loop = true;
	return 0;
}

int blk_create(struct vm *vm, const struct mvmm_disk_config *user, unsigned int index,
	       unsigned int slot, struct vdev **out)
{
	struct mvmm_disk_config cfg = { 0 };
	char id[VDEV_ID_MAX];
	struct blk *b;
	int err;

	/* Extensible struct: read what the caller's size covers. */
	if (!user || user->size < offsetof(struct mvmm_disk_config, path) + sizeof(user->path))
		return -EINVAL;
	memcpy(&cfg, user, MIN(user->size, sizeof(cfg)));
	if (!cfg.path || (cfg.id && strlen(cfg.id) > VIRTIO_BLK_ID_BYTES))
		return -MVMM_ECONFIG;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->fd = b->ring_efd = -1;
	b->read_only = cfg.read_only != 0;
	snprintf(id, sizeof(id), "blk%u", index);
	vdev_init(&b->vdev, vm, &blk_ops, VIRTIO_ID_BLOCK, id, 1, BLK_QUEUE_SIZE);
	for (unsigned int i = 0; i < BLK_QUEUE_SIZE; i++) {
		b->reqs[i].blk = b;
		vchain_init(&b->reqs[i].chain);
	}
	blk_reset_free_list(b);
	/* strncpy semantics wanted: zero padded, no NUL when the id is 20 bytes. */
	memcpy(b->serial, cfg.id ? cfg.id : id, strnlen(cfg.id ? cfg.id : id, sizeof(b->serial)));
	b->zeroes = calloc(1, BLK_ZERO_CHUNK);
	if (!b->zeroes) {
		err = -ENOMEM;
		goto err;
	}
	err = blk_open(cfg.path, b->read_only, &b->fd, &b->capacity);
	if (err) {
		pr_err(&vm->log, "virtio-blk", "disk %s: %s", cfg.path, mvmm_strerror(err));
		goto err;
	}
	blk_build_config(b);
	err = blk_setup_ring(b);
	if (err)
		goto err;
	err = vmmio_create(vm, &b->vdev, slot, &b->vdev.mmio);
	if (err)
		goto err;
	pr_info(&vm->log, "virtio-blk", "%s: %s, %llu sectors%s", id, cfg.path,
		(unsigned long long)b->capacity, b->read_only ? ", read-only" : "");
	*out = &b->vdev;
	return 0;

err:
	blk_destroy(&b->vdev);
	return err;
}
