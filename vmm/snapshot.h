/* SPDX-License-Identifier: MIT */
/*
 * Snapshot directories:
 *
 *   DIR/manifest.json   {"format":"mvmm-snapshot","version":1,"mem_bytes":N,"cpus":N,
 *                        "state":{"file":"state.bin","bytes":N,"crc32":N},
 *                        "memory":{"file":"memory.bin","bytes":N}}
 *   DIR/state.bin       the state blob (vmm/state.h)
 *   DIR/memory.bin      guest RAM image, sparse: pages never written by the guest are holes
 *   DIR/snap-diskN.img  a copy (reflink where possible) of each writable disk at the snapshot
 *                       instant; read-only disks are referred to by path.  Every restore works
 *                       on its own copy of these, so restores never write the snapshot.
 *
 * Written into DIR.tmp-XXXXXX beside DIR, every file and the directory fsync'ed, then renamed
 * to DIR (which must not exist), so a crash leaves either nothing or a complete snapshot.
 * Restore maps memory.bin MAP_PRIVATE: lazy, and restores of one snapshot share its page cache.
 */
#ifndef MVMM_VMM_SNAPSHOT_H
#define MVMM_VMM_SNAPSHOT_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#define SNAPSHOT_FORMAT "mvmm-snapshot"
#define SNAPSHOT_VERSION 1

struct json_object;
struct snapshot_files {
	uint64_t mem_bytes;
	uint32_t cpus;
	bool rng;
	struct json_object *disks;	/* owned: [{"path","ro","id","own"}] ready for the VM */
	int mem_fd;			/* owned: memory.bin, read-only */
	uint8_t *blob;			/* owned: state.bin */
	size_t blob_len;
};

/* Read and check DIR's manifest, state and memory image; errors are logged to `log`. */
struct mvmm_log;
int snapshot_open(const char *dir, struct snapshot_files *out, struct mvmm_log *log);
void snapshot_files_free(struct snapshot_files *f);

#endif /* MVMM_VMM_SNAPSHOT_H */
