/* SPDX-License-Identifier: MIT */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "boot.h"
#include "layout.h"
#include "mvmm/mvmm.h"
#include "vmm/memory.h"
#include "vmm/util.h"

/* Boot protocol constants (Documentation/arch/x86/boot.rst). */
#define BZ_SETUP_HDR_OFFSET	0x1f1
#define BZ_BOOT_FLAG		0xaa55
#define BZ_HDRS_MAGIC		0x53726448	/* "HdrS" */
#define BZ_MIN_VERSION		0x020c		/* 2.12: xloadflags, XLF_KERNEL_64 */
#define BZ_ENTRY64_OFFSET	0x200		/* 64-bit entry = load address + 0x200 */
#define BZ_DEFAULT_SETUP_SECTS	4
#define BOOT_LOADER_UNDEFINED	0xff
#define BOOT_HDR_VERSION	0x020f		/* what we claim for ELF kernels */
#define INITRD_ADDR_MAX_DEFAULT	0x37ffffffULL
#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define E820_RAM_TYPE		1
#define E820_RESERVED_TYPE	2

static int load_segment(struct guest_mem *mem, uint64_t gpa, const uint8_t *src, uint64_t filesz,
			uint64_t memsz)
{
	uint8_t *dst = guest_mem_ptr(mem, gpa, memsz);

	if (!dst)
		return -MVMM_EKERNEL;
	memcpy(dst, src, filesz);
	memset(dst + filesz, 0, memsz - filesz);
	return 0;
}

/* PVH entry from a PT_NOTE segment, if present; malformed notes are ignored, not fatal. */
static void elf_find_pvh(const uint8_t *img, size_t len, const Elf64_Phdr *ph,
			 struct x86_kernel *k)
{
	uint64_t off = ph->p_offset, end;

	if (add_overflows_u64(off, ph->p_filesz, &end) || end > len)
		return;
	while (off + sizeof(Elf64_Nhdr) <= end) {
		Elf64_Nhdr nh;
		uint64_t name_off, desc_off, next;

		memcpy(&nh, img + off, sizeof(nh));
		name_off = off + sizeof(nh);
		desc_off = name_off + ALIGN_UP((uint64_t)nh.n_namesz, 4);
		next = desc_off + ALIGN_UP((uint64_t)nh.n_descsz, 4);
		if (next > end || next <= off)
			return;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    memcmp(img + name_off, "Xen", 4) == 0 && nh.n_descsz >= 4) {
			memcpy(&k->pvh_entry, img + desc_off, 4);
			k->has_pvh = true;
		}
		off = next;
	}
}

static int elf_load(struct guest_mem *mem, const uint8_t *img, size_t len, struct x86_kernel *k)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[X86_ELF_MAX_PHDRS];
	uint64_t phend;
	bool entry_ok = false;
	int err;

	memset(k, 0, sizeof(*k));
	if (len < sizeof(eh))
		return -MVMM_EKERNEL;
	memcpy(&eh, img, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64 ||
	    eh.e_type != ET_EXEC || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phnum > X86_ELF_MAX_PHDRS)
		return -MVMM_EKERNEL;
	if (add_overflows_u64(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), &phend) ||
	    phend > len)
		return -MVMM_EKERNEL;
	memcpy(ph, img + eh.e_phoff, eh.e_phnum * sizeof(Elf64_Phdr));

	k->load_start = UINT64_MAX;
	/* Validate every segment before copying anything, so a bad image leaves RAM untouched. */
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		uint64_t fend, mend;

		if (ph[i].p_type == PT_NOTE)
			elf_find_pvh(img, len, &ph[i], k);
		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		if (ph[i].p_filesz > ph[i].p_memsz ||
		    add_overflows_u64(ph[i].p_offset, ph[i].p_filesz, &fend) || fend > len ||
		    add_overflows_u64(ph[i].p_paddr, ph[i].p_memsz, &mend))
			return -MVMM_EKERNEL;
		/*
		 * Below 1 MiB live the zero page, page tables, command line and MP table; the boot
		 * page tables map only up to 4 GiB, so the image must sit in low RAM.
		 */
		if (ph[i].p_paddr < X86_HIMEM_START || mend > X86_MMIO_HOLE_START ||
		    !guest_mem_ptr(mem, ph[i].p_paddr, ph[i].p_memsz))
			return -MVMM_EKERNEL;
		for (unsigned int j = 0; j < i; j++) {
			if (ph[j].p_type != PT_LOAD || ph[j].p_memsz == 0)
				continue;
			if (ph[i].p_paddr < ph[j].p_paddr + ph[j].p_memsz &&
			    ph[j].p_paddr < mend)
				return -MVMM_EKERNEL;	/* overlapping segments */
		}
		if (eh.e_entry >= ph[i].p_paddr && eh.e_entry < mend)
			entry_ok = true;
		k->load_start = MIN(k->load_start, ph[i].p_paddr);
		k->load_end = MAX(k->load_end, mend);
	}
	if (!entry_ok)
		return -MVMM_EKERNEL;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		err = load_segment(mem, ph[i].p_paddr, img + ph[i].p_offset, ph[i].p_filesz,
				   ph[i].p_memsz);
		if (err)
			return err;
	}
	k->entry = eh.e_entry;
	k->initrd_max = X86_MMIO_HOLE_START;
	return 0;
}

int x86_load_elf(struct guest_mem *mem, const uint8_t *img, size_t len, struct x86_kernel *k)
{
	int err = elf_load(mem, img, len, k);

	/* On failure the caller gets nothing half-filled (e.g. a PVH note seen before the error). */
	if (err)
		memset(k, 0, sizeof(*k));
	return err;
}

int x86_load_bzimage(struct guest_mem *mem, const uint8_t *img, size_t len, struct x86_kernel *k)
{
	struct setup_header hdr;
	uint64_t setup_sects, kernel_off, kernel_len, need;

	memset(k, 0, sizeof(*k));
	if (len < BZ_SETUP_HDR_OFFSET + sizeof(hdr))
		return -MVMM_EKERNEL;
	memcpy(&hdr, img + BZ_SETUP_HDR_OFFSET, sizeof(hdr));
	if (hdr.boot_flag != BZ_BOOT_FLAG || hdr.header != BZ_HDRS_MAGIC)
		return -MVMM_EKERNEL;
	/* Only kernels with the 64-bit entry: real-mode setup code is not run by mvmm. */
	if (hdr.version < BZ_MIN_VERSION || !(hdr.xloadflags & XLF_KERNEL_64))
		return -MVMM_EKERNEL;
	setup_sects = hdr.setup_sects ? hdr.setup_sects : BZ_DEFAULT_SETUP_SECTS;
	kernel_off = (setup_sects + 1) * 512;
	if (kernel_off >= len)
		return -MVMM_EKERNEL;
	kernel_len = len - kernel_off;
	/* syssize (16-byte units) says how much protected-mode code the image carries. */
	if ((uint64_t)hdr.syssize * 16 > kernel_len)
		return -MVMM_EKERNEL;
	/* The kernel decompresses in place and needs init_size bytes from its load address. */
	need = MAX(kernel_len, (uint64_t)hdr.init_size);
	if (!guest_mem_ptr(mem, X86_HIMEM_START, need))
		return -MVMM_EKERNEL;
	if (load_segment(mem, X86_HIMEM_START, img + kernel_off, kernel_len, kernel_len))
		return -MVMM_EKERNEL;
	k->is_bzimage = true;
	k->hdr = hdr;
	k->entry = X86_HIMEM_START + BZ_ENTRY64_OFFSET;
	k->load_start = X86_HIMEM_START;
	k->load_end = X86_HIMEM_START + need;
	k->initrd_max = (uint64_t)hdr.initrd_addr_max + 1;
	return 0;
}

int x86_load_kernel(struct guest_mem *mem, const uint8_t *img, size_t len, struct x86_kernel *k)
{
	if (len >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0)
		return x86_load_elf(mem, img, len, k);
	return x86_load_bzimage(mem, img, len, k);
}

int x86_load_initrd(struct guest_mem *mem, const struct x86_kernel *k, const uint8_t *data,
		    size_t len, uint64_t *gpa)
{
	uint64_t top = MIN(guest_mem_low_end(mem), k->initrd_max ? k->initrd_max
							      : INITRD_ADDR_MAX_DEFAULT + 1);
	uint64_t addr;

	if (len == 0 || len > top)
		return -MVMM_EINITRD;
	addr = ALIGN_DOWN(top - len, 4096ULL);
	/* Must stay above the kernel image (including its bss / decompression area). */
	if (addr < k->load_end || addr < X86_HIMEM_START)
		return -MVMM_EINITRD;
	if (guest_mem_write(mem, addr, data, len))
		return -MVMM_EINITRD;
	*gpa = addr;
	return 0;
}

int x86_build_e820(const struct guest_mem *mem, struct boot_e820_entry *out, unsigned int max)
{
	uint64_t low_end = guest_mem_low_end(mem);
	unsigned int n = 0;

	if (max < 3 + (mem->nr_regions - 1) || low_end <= X86_HIMEM_START)
		return -EINVAL;
	out[n++] = (struct boot_e820_entry){ 0, X86_EBDA_ADDR, E820_RAM_TYPE };
	out[n++] = (struct boot_e820_entry){ X86_EBDA_ADDR, X86_LOWMEM_END - X86_EBDA_ADDR,
					     E820_RESERVED_TYPE };
	out[n++] = (struct boot_e820_entry){ X86_HIMEM_START, low_end - X86_HIMEM_START,
					     E820_RAM_TYPE };
	for (unsigned int i = 1; i < mem->nr_regions; i++)
		out[n++] = (struct boot_e820_entry){ mem->regions[i].gpa, mem->regions[i].size,
						     E820_RAM_TYPE };
	return (int)n;
}

int x86_setup_boot_params(struct guest_mem *mem, const struct x86_kernel *k,
			  const struct x86_boot_args *args)
{
	struct boot_params *bp = guest_mem_ptr(mem, X86_ZERO_PAGE_ADDR, sizeof(*bp));
	const char *cmdline = args->cmdline ? args->cmdline : "";
	size_t clen = strlen(cmdline);
	int n, err;

	if (!bp)
		return -EFAULT;
	/* bzImage: the kernel says how long a command line it takes (protocol 2.06+). */
	if (clen + 1 > X86_CMDLINE_MAX || (k->is_bzimage && clen > k->hdr.cmdline_size))
		return -MVMM_ECMDLINE;
	err = guest_mem_write(mem, X86_CMDLINE_ADDR, cmdline, clen + 1);
	if (err)
		return err;

	memset(bp, 0, sizeof(*bp));
	if (k->is_bzimage) {
		bp->hdr = k->hdr;
	} else {
		bp->hdr.boot_flag = BZ_BOOT_FLAG;
		bp->hdr.header = BZ_HDRS_MAGIC;
		bp->hdr.version = BOOT_HDR_VERSION;
		bp->hdr.kernel_alignment = 0x1000000;
		bp->hdr.cmdline_size = (uint32_t)(X86_CMDLINE_MAX - 1);
	}
	bp->hdr.type_of_loader = BOOT_LOADER_UNDEFINED;
	bp->hdr.loadflags |= LOADED_HIGH;
	bp->hdr.cmd_line_ptr = (uint32_t)X86_CMDLINE_ADDR;
	bp->ext_cmd_line_ptr = 0;
	if (args->initrd_size) {
		bp->hdr.ramdisk_image = (uint32_t)args->initrd_gpa;
		bp->ext_ramdisk_image = (uint32_t)(args->initrd_gpa >> 32);
		bp->hdr.ramdisk_size = (uint32_t)args->initrd_size;
		bp->ext_ramdisk_size = (uint32_t)(args->initrd_size >> 32);
	}
	n = x86_build_e820(mem, bp->e820_table, E820_MAX_ENTRIES_ZEROPAGE);
	if (n < 0)
		return n;
	bp->e820_entries = (uint8_t)n;
	return 0;
}
