/* SPDX-License-Identifier: MIT */
/*
 * x86 Linux boot protocol (64-bit entry): kernel loading (ELF vmlinux or bzImage), initrd,
 * command line, boot_params with e820, boot GDT/page tables, MP table.
 *
 * Every function works on a guest_mem only (no KVM), so all of it is unit-tested, including
 * against truncated and malicious images.  Images are untrusted input: every offset and size
 * is checked against the file and against guest RAM before anything is copied.
 */
#ifndef MVMM_ARCH_X86_BOOT_H
#define MVMM_ARCH_X86_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <asm/bootparam.h>

struct guest_mem;

#define X86_ELF_MAX_PHDRS 64

struct x86_kernel {
	uint64_t entry;			/* guest-physical 64-bit entry point */
	uint64_t load_start;		/* lowest guest-physical byte the kernel occupies */
	uint64_t load_end;		/* one past the highest (incl. bss / init_size) */
	bool is_bzimage;
	struct setup_header hdr;	/* bzImage: the image's setup header; ELF: zero */
	bool has_pvh;			/* ELF carries a PVH (XEN_ELFNOTE_PHYS32_ENTRY) note */
	uint32_t pvh_entry;
	uint64_t initrd_max;		/* highest address the initrd may end at (exclusive) */
};

/* Detect and load an ELF64 vmlinux or a bzImage into guest RAM. */
int x86_load_kernel(struct guest_mem *mem, const uint8_t *img, size_t len, struct x86_kernel *k);
int x86_load_elf(struct guest_mem *mem, const uint8_t *img, size_t len, struct x86_kernel *k);
int x86_load_bzimage(struct guest_mem *mem, const uint8_t *img, size_t len,
		     struct x86_kernel *k);

/* Place the initrd page-aligned as high as allowed, never over the kernel. */
int x86_load_initrd(struct guest_mem *mem, const struct x86_kernel *k, const uint8_t *data,
		    size_t len, uint64_t *gpa);

/* Fill `out` with the e820 map for this RAM; returns the entry count or a negative error. */
int x86_build_e820(const struct guest_mem *mem, struct boot_e820_entry *out, unsigned int max);

struct x86_boot_args {
	const char *cmdline;		/* may be NULL */
	uint64_t initrd_gpa;
	uint64_t initrd_size;		/* 0: none */
};

/* Write the command line and the zero page (boot_params) at their layout.h addresses. */
int x86_setup_boot_params(struct guest_mem *mem, const struct x86_kernel *k,
			  const struct x86_boot_args *args);

/* Write the MP floating pointer and configuration table for nr_cpus CPUs. */
int x86_setup_mptable(struct guest_mem *mem, unsigned int nr_cpus);

#endif /* MVMM_ARCH_X86_BOOT_H */
