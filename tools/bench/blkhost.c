// SPDX-License-Identifier: MIT
/*
 * The host-side twin of the guest's test=blkbench, for tools/bench/blk.sh when fio is missing
 * (or with --host uring): the same I/O through the same kind of io_uring the VMM's virtio-blk
 * uses (readv/writev, buffered unless --direct), `depth` requests in flight, the same block
 * sequence (sequential wrapping around, or the guest's xorshift64 with the same seed), the
 * same untimed warm-up round of `depth` requests, and the same output line:
 *
 *   blkhost: <mode> bs <bytes> depth <n> bytes <total> ns <elapsed> iops <n> mibps <x.y>
 *
 * Usage: blkhost FILE seqread|seqwrite|randread|randwrite BS DEPTH BYTES MS SEED [--direct]
 * Build: cc -O2 -o blkhost tools/bench/blkhost.c -luring
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEPTH 256

struct run {
	struct io_uring ring;
	int fd;
	int write;
	int random;
	uint64_t bs;
	uint64_t blocks;		/* of the file, in bs units */
	uint64_t next_block;		/* sequential */
	uint64_t rng;			/* random: xorshift64 state */
	unsigned int depth;
	struct iovec iov[MAX_DEPTH];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The guest's next_sector() (guest/blkbench_user.c), in bytes. */
static uint64_t next_offset(struct run *r)
{
	uint64_t block;

	if (r->random) {
		uint64_t x = r->rng;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		r->rng = x;
		block = (uint64_t)(((unsigned __int128)x * r->blocks) >> 64);
	} else {
		block = r->next_block++;
		if (r->next_block == r->blocks)
			r->next_block = 0;
	}
	return block * r->bs;
}

static int queue(struct run *r, unsigned int slot)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (!sqe)
		return -EBUSY;
	if (r->write)
		io_uring_prep_writev(sqe, r->fd, &r->iov[slot], 1, next_offset(r));
	else
		io_uring_prep_readv(sqe, r->fd, &r->iov[slot], 1, next_offset(r));
	io_uring_sqe_set_data(sqe, (void *)(uintptr_t)slot);
	return 0;
}

/* `total` requests, at most `depth` in flight, none started after `deadline` (0: none). */
static int run(struct run *r, uint64_t total, uint64_t deadline, uint64_t *done, uint64_t *ns)
{
	uint64_t submitted = 0, completed = 0, t0 = now_ns(), t1 = t0;
	unsigned int slot;
	int err;

	for (slot = 0; slot < r->depth && submitted < total; slot++, submitted++) {
		err = queue(r, slot);
		if (err)
			return err;
	}
	while (completed < submitted) {
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;
		int more;

		err = io_uring_submit_and_wait(&r->ring, 1);
		if (err < 0 && err != -EINTR)
			return err;
		t1 = now_ns();
		more = !(deadline && t1 >= deadline);
		io_uring_for_each_cqe(&r->ring, head, cqe) {
			slot = (unsigned int)(uintptr_t)io_uring_cqe_get_data(cqe);
			if (cqe->res != (int)r->bs) {
				fprintf(stderr, "blkhost: %s: %s\n", r->write ? "write" : "read",
					cqe->res < 0 ? strerror(-cqe->res) : "short transfer");
				return -EIO;
			}
			n++;
			completed++;
			if (more && submitted < total) {
				err = queue(r, slot);
				if (err)
					return err;
				submitted++;
			}
		}
		io_uring_cq_advance(&r->ring, n);
	}
	*done = completed;
	*ns = t1 - t0;
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const modes[] = { "seqread", "seqwrite", "randread", "randwrite" };
	struct run r = { 0 };
	uint64_t bytes, ms, done, ns, mibps10;
	struct stat st;
	unsigned int i, m;
	char *buf;
	int err, direct = argc > 8 && !strcmp(argv[8], "--direct");

	if (argc < 8) {
		fprintf(stderr, "usage: blkhost FILE seqread|seqwrite|randread|randwrite BS DEPTH "
			"BYTES MS SEED [--direct]\n");
		return 64;
	}
	for (m = 0; m < 4 && strcmp(argv[2], modes[m]); m++)
		;
	r.bs = strtoull(argv[3], NULL, 0);
	r.depth = (unsigned int)strtoul(argv[4], NULL, 0);
	bytes = strtoull(argv[5], NULL, 0);
	ms = strtoull(argv[6], NULL, 0);
	r.rng = strtoull(argv[7], NULL, 0);
	if (m == 4 || !r.bs || r.bs % 512 || !r.depth || r.depth > MAX_DEPTH || !r.rng) {
		fprintf(stderr, "blkhost: bad arguments\n");
		return 64;
	}
	r.write = m & 1;
	r.random = m >> 1;
	r.fd = open(argv[1], (r.write ? O_RDWR : O_RDONLY) | (direct ? O_DIRECT : 0) | O_CLOEXEC);
	if (r.fd < 0 || fstat(r.fd, &st) < 0) {
		perror(argv[1]);
		return 66;
	}
	r.blocks = (uint64_t)st.st_size / r.bs;
	if (!r.blocks) {
		fprintf(stderr, "blkhost: %s is smaller than one block\n", argv[1]);
		return 65;
	}
	/* Touched now, so the first I/O into them does not pay for page faults. */
	if (posix_memalign((void **)&buf, 4096, r.depth * r.bs))
		return 70;
	memset(buf, 0x5a, r.depth * r.bs);
	for (i = 0; i < r.depth; i++) {
		r.iov[i].iov_base = buf + i * r.bs;
		r.iov[i].iov_len = r.bs;
	}
	err = io_uring_queue_init(r.depth, &r.ring, 0);
	if (err) {
		fprintf(stderr, "blkhost: io_uring: %s\n", strerror(-err));
		return 69;
	}
	err = run(&r, r.depth, 0, &done, &ns);
	if (!err)
		err = run(&r, bytes / r.bs ? bytes / r.bs : 1, ms ? now_ns() + ms * 1000000 : 0,
			  &done, &ns);
	if (err) {
		fprintf(stderr, "blkhost: %s\n", strerror(-err));
		return 1;
	}
	if (!ns)
		ns = 1;
	mibps10 = (uint64_t)((double)done * r.bs * 1e10 / (double)ns) >> 20;
	printf("blkhost: %s bs %" PRIu64 " depth %u bytes %" PRIu64 " ns %" PRIu64 " iops %" PRIu64
	       " mibps %" PRIu64 ".%" PRIu64 "\n", modes[m], r.bs, r.depth, done * r.bs, ns,
	       (uint64_t)((double)done * 1e9 / (double)ns), mibps10 / 10, mibps10 % 10);
	io_uring_queue_exit(&r.ring);
	free(buf);
	close(r.fd);
	return 0;
}
