/* SPDX-License-Identifier: MIT */
/*
 * Guest-physical memory map of an x86_64 mvmm VM.  Everything that places something in guest
 * memory takes its address from here; the test guest (guest/) includes this file too, so the
 * two sides cannot drift apart.  The map is recorded in saved state so restored and forked
 * VMs see the same machine.
 *
 *   0x0000_0000  +---------------------------+
 *                | real-mode IVT / BDA       |  RAM (unused by the VMM)
 *   0x0000_0500  | boot GDT                  |
 *   0x0000_7000  | boot_params (zero page)   |  %rsi at entry
 *   0x0000_9000  | PML4, PDPT, 4 x PD        |  identity map of 0..4 GiB, 2 MiB pages
 *   0x0002_0000  | kernel command line       |
 *   0x0009_f000  +---------------------------+  reserved in e820 (EBDA):
 *                | MP config table           |
 *   0x0009_fc00  | MP floating pointer       |  Linux scans the last KiB of base memory
 *   0x000a_0000  | legacy VGA/BIOS hole      |  not in e820
 *   0x0010_0000  +---------------------------+
 *                | kernel (bzImage / ELF)    |  RAM ...
 *                | ... initrd near the top   |
 *   0xc000_0000  +---------------------------+  32-bit MMIO hole (1 GiB)
 *   0xd000_0000  | virtio-mmio slots         |  MMIO_STRIDE apart, IRQs from VIRTIO_IRQ_BASE
 *   0xfec0_0000  | IOAPIC                    |
 *   0xfee0_0000  | LAPIC                     |
 *   0x1_0000_0000+---------------------------+  RAM above 4 GiB (when mem > 3 GiB)
 */
#ifndef MVMM_ARCH_X86_LAYOUT_H
#define MVMM_ARCH_X86_LAYOUT_H

#define X86_BOOT_GDT_ADDR	0x500ULL
#define X86_ZERO_PAGE_ADDR	0x7000ULL
#define X86_PML4_ADDR		0x9000ULL
#define X86_PDPT_ADDR		0xa000ULL
#define X86_PD_ADDR		0xb000ULL	/* four pages: 0xb000..0xefff */
#define X86_CMDLINE_ADDR	0x20000ULL
#define X86_CMDLINE_MAX		4096ULL		/* bytes including the NUL */
#define X86_EBDA_ADDR		0x9f000ULL	/* reserved from here to X86_LOWMEM_END */
#define X86_MPTABLE_ADDR	0x9f000ULL	/* MP configuration table (PCMP), <= 3 KiB */
#define X86_MPFP_ADDR		0x9fc00ULL	/* MP floating pointer (_MP_) */
#define X86_LOWMEM_END		0xa0000ULL
#define X86_HIMEM_START		0x100000ULL	/* 1 MiB: bzImage protected-mode code */
#define X86_MMIO_HOLE_START	0xc0000000ULL
#define X86_MMIO_HOLE_END	0x100000000ULL
#define X86_RAM_HIGH_START	0x100000000ULL

#define X86_VIRTIO_MMIO_BASE	0xd0000000ULL
#define X86_VIRTIO_MMIO_STRIDE	0x1000ULL
#define X86_VIRTIO_MMIO_MAX	32
#define X86_VIRTIO_IRQ_BASE	5		/* GSI of slot 0; slot n uses base + n */

#define X86_IOAPIC_ADDR		0xfec00000ULL
#define X86_LAPIC_ADDR		0xfee00000ULL

/* Legacy ports */
#define X86_COM1_PORT		0x3f8
#define X86_COM1_IRQ		4
#define X86_I8042_DATA_PORT	0x60
#define X86_I8042_CMD_PORT	0x64
/*
 * mvmm test-exit port: a 32-bit OUT here records the guest's result code; the next reset
 * through the i8042 ends the VM and `mvmm run` exits with that code (0 when none was recorded).
 */
#define X86_TEST_EXIT_PORT	0x501
/*
 * mvmm VM generation id (devices/vmgenid.c): the guest writes the guest-physical address of a
 * 16-byte, 16-byte-aligned buffer to this port (32-bit OUT of the low half, then a 32-bit OUT
 * to port + 4 of the high half; the low write arms it).  mvmm stores a fresh random 128-bit id
 * there at once and again whenever the VM is forked (parent and child both get new ids) or
 * restored, so the guest can tell it was cloned (reseed RNGs, new identity).  Reading the port
 * returns how many times the id changed in this VM's history.
 */
#define X86_VMGENID_PORT	0x510

#endif /* MVMM_ARCH_X86_LAYOUT_H */
