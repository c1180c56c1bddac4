/* SPDX-License-Identifier: MIT */
/*
 * mvmm-statedump: print and validate a state blob (a snapshot's state.bin, or a file saved
 * from a fork hand-off).  Exit 0 when the blob is valid, 1 when it is not, 2 on usage errors.
 *
 *   mvmm-statedump FILE          header, every section (name, version, flags, size, CRC ok),
 *                                and the decoded "vm" section
 *   mvmm-statedump --hex NAME FILE   also hex-dump section NAME
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "vmm/state.h"

static void hexdump(const uint8_t *p, uint64_t len)
{
	for (uint64_t i = 0; i < len; i += 16) {
		printf("    %06llx ", (unsigned long long)i);
		for (uint64_t j = i; j < i + 16 && j < len; j++)
			printf(" %02x", p[j]);
		putchar('\n');
	}
}

static void print_vm(struct state_section *s)
{
	char vendor[13] = { 0 };
	uint64_t mem = state_get_u64(s);
	uint32_t cpus = state_get_u32(s), sig;

	state_get_bytes(s, vendor, 12);
	sig = state_get_u32(s);
	if (state_section_done(s)) {
		printf("    (vm section does not decode as version 1)\n");
		return;
	}
	printf("    RAM %llu MiB, %u vCPUs, CPU %s signature 0x%x (family %u model %u)\n",
	       (unsigned long long)(mem >> 20), cpus, vendor, sig,
	       ((sig >> 8) & 0xf) + ((sig >> 20) & 0xff), ((sig >> 4) & 0xf) | ((sig >> 12) & 0xf0));
}

int main(int argc, char **argv)
{
	const char *path, *hex = NULL;
	struct state_reader r;
	struct state_section s;
	struct stat st;
	uint8_t *buf;
	int fd, err;

	if (argc == 4 && !strcmp(argv[1], "--hex")) {
		hex = argv[2];
		path = argv[3];
	} else if (argc == 2 && argv[1][0] != '-') {
		path = argv[1];
	} else {
		fprintf(stderr, "usage: mvmm-statedump [--hex SECTION] FILE\n");
		return 2;
	}
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "mvmm-statedump: %s: %s\n", path, strerror(errno));
		return 2;
	}
	if ((uint64_t)st.st_size > STATE_MAX_SIZE) {
		printf("%s: INVALID: %lld bytes, more than the %u-byte cap\n", path,
		       (long long)st.st_size, STATE_MAX_SIZE);
		return 1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size) {
		fprintf(stderr, "mvmm-statedump: %s: cannot read\n", path);
		return 2;
	}
	close(fd);
	err = state_reader_open(&r, buf, (size_t)st.st_size);
	if (err) {
		printf("%s: INVALID: %s\n", path, err == -EPROTO ? "unknown major version" :
		       "truncated, corrupt (CRC) or not a state blob");
		free(buf);
		return 1;
	}
	printf("%s: mvmm state %u.%u, %lld bytes, %u sections, all CRCs ok\n", path, r.major,
	       r.minor, (long long)st.st_size, r.nr_sections);
	for (uint32_t i = 0; i < r.nr_sections; i++) {
		state_reader_section(&r, i, &s);
		printf("  %-16.*s v%-2u %-8s %8llu bytes\n", (int)s.name_len, s.name, s.version,
		       (s.flags & STATE_SEC_REQUIRED) ? "required" : "optional",
		       (unsigned long long)s.len);
		if (state_section_is(&s, "vm"))
			print_vm(&s);
		if (hex && state_section_is(&s, hex))
			hexdump(s.data, s.len);
	}
	free(buf);
	return 0;
}
