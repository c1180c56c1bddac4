/* SPDX-License-Identifier: MIT */
/*
 * Intel MultiProcessor Specification 1.4 tables: how SMP guests (and Linux without ACPI) find
 * their CPUs, the IOAPIC and the ISA interrupt wiring.  Written field by field into guest RAM;
 * the structures are defined here from the spec, packed, little-endian.
 */
#include <errno.h>
#include <string.h>

#include "boot.h"
#include "layout.h"
#include "mvmm/mvmm.h"
#include "vmm/memory.h"
#include "vmm/util.h"

#define MPC_SPEC_REV		4
#define MPC_APIC_VERSION	0x14
#define MPC_IOAPIC_VERSION	0x11
#define MPC_ENTRY_CPU		0
#define MPC_ENTRY_BUS		1
#define MPC_ENTRY_IOAPIC	2
#define MPC_ENTRY_INTSRC	3
#define MPC_ENTRY_LINTSRC	4
#define MPC_CPU_ENABLED		0x01
#define MPC_CPU_BSP		0x02
#define MPC_INT_VECTORED	0
#define MPC_INT_NMI		1
#define MPC_INT_EXTINT		3
#define MPC_IOAPIC_PINS		24	/* KVM's in-kernel IOAPIC */
#define MPC_ALL_LAPICS		0xff

struct mpf_intel {
	char signature[4];		/* "_MP_" */
	uint32_t physptr;		/* configuration table address */
	uint8_t length;			/* in 16-byte units: 1 */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature1;		/* 0: a configuration table is present */
	uint8_t feature2;
	uint8_t feature3[3];
} __attribute__((packed));

struct mpc_table {
	char signature[4];		/* "PCMP" */
	uint16_t length;		/* base table incl. entries */
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;		/* number of entries */
	uint32_t lapic;			/* LAPIC address */
	uint16_t reserved;		/* extended table length (0) */
	uint8_t ext_checksum;
	uint8_t reserved2;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;
	uint32_t cpufeature;
	uint32_t featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type;
	uint8_t busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;			/* bit 0: usable */
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type;
	uint8_t irqtype;
	uint16_t irqflag;		/* 0: conforming polarity/trigger */
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
} __attribute__((packed));

BUILD_ASSERT(sizeof(struct mpf_intel) == 16);
BUILD_ASSERT(sizeof(struct mpc_table) == 44);
BUILD_ASSERT(sizeof(struct mpc_cpu) == 20);
BUILD_ASSERT(sizeof(struct mpc_bus) == 8);
BUILD_ASSERT(sizeof(struct mpc_ioapic) == 8);
BUILD_ASSERT(sizeof(struct mpc_intsrc) == 8);

static uint8_t mp_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)-sum;
}

/* Bytes the configuration table needs for nr_cpus. */
static size_t mpc_size(unsigned int nr_cpus)
{
	unsigned int nr_irqs = MPC_IOAPIC_PINS;

	return sizeof(struct mpc_table) + nr_cpus * sizeof(struct mpc_cpu) +
	       sizeof(struct mpc_bus) + sizeof(struct mpc_ioapic) +
	       (nr_irqs + 2) * sizeof(struct mpc_intsrc);
}

int x86_setup_mptable(struct guest_mem *mem, unsigned int nr_cpus)
{
	size_t size = mpc_size(nr_cpus);
	uint8_t *base = guest_mem_ptr(mem, X86_MPTABLE_ADDR, size);
	struct mpf_intel *mpf = guest_mem_ptr(mem, X86_MPFP_ADDR, sizeof(*mpf));
	struct mpc_table *mpc = (struct mpc_table *)base;
	uint8_t *p;
	uint8_t ioapic_id = (uint8_t)nr_cpus;	/* first APIC id after the CPUs */
	uint16_t count = 0;

	if (nr_cpus == 0 || nr_cpus > MVMM_MAX_CPUS || !base || !mpf ||
	    X86_MPTABLE_ADDR + size > X86_MPFP_ADDR)
		return -EINVAL;
	memset(base, 0, size);
	p = base + sizeof(*mpc);

	for (unsigned int i = 0; i < nr_cpus; i++) {
		struct mpc_cpu *c = (struct mpc_cpu *)p;

		c->type = MPC_ENTRY_CPU;
		c->apicid = (uint8_t)i;
		c->apicver = MPC_APIC_VERSION;
		c->cpuflag = MPC_CPU_ENABLED | (i == 0 ? MPC_CPU_BSP : 0);
		c->cpufeature = 0x600;		/* family 6: informational only */
		c->featureflag = 0x201;		/* FPU, APIC */
		p += sizeof(*c);
		count++;
	}

	struct mpc_bus *bus = (struct mpc_bus *)p;

	bus->type = MPC_ENTRY_BUS;
	bus->busid = 0;
	memcpy(bus->bustype, "ISA   ", 6);
	p += sizeof(*bus);
	count++;

	struct mpc_ioapic *io = (struct mpc_ioapic *)p;

	io->type = MPC_ENTRY_IOAPIC;
	io->apicid = ioapic_id;
	io->apicver = MPC_IOAPIC_VERSION;
	io->flags = 1;
	io->apicaddr = (uint32_t)X86_IOAPIC_ADDR;
	p += sizeof(*io);
	count++;

	/*
	 * Bus IRQ n goes to IOAPIC pin n for every pin, as KVM's default GSI routing does: the
	 * ISA devices (0-15) and the virtio-mmio lines (X86_VIRTIO_IRQ_BASE and up).
	 */
	for (unsigned int irq = 0; irq < MPC_IOAPIC_PINS; irq++) {
		struct mpc_intsrc *is = (struct mpc_intsrc *)p;

		is->type = MPC_ENTRY_INTSRC;
		is->irqtype = MPC_INT_VECTORED;
		is->srcbus = 0;
		is->srcbusirq = (uint8_t)irq;
		is->dstapic = ioapic_id;
		is->dstirq = (uint8_t)irq;
		p += sizeof(*is);
		count++;
	}

	/* LINT0 = ExtINT, LINT1 = NMI on every LAPIC, matching x86_vcpu_init(). */
	for (unsigned int lint = 0; lint < 2; lint++) {
		struct mpc_intsrc *ls = (struct mpc_intsrc *)p;

		ls->type = MPC_ENTRY_LINTSRC;
		ls->irqtype = lint ? MPC_INT_NMI : MPC_INT_EXTINT;
		ls->srcbus = 0;
		ls->srcbusirq = 0;
		ls->dstapic = MPC_ALL_LAPICS;
		ls->dstirq = (uint8_t)lint;
		p += sizeof(*ls);
		count++;
	}

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(p - base);
	mpc->spec = MPC_SPEC_REV;
	memcpy(mpc->oem, "MVMM    ", 8);
	memcpy(mpc->productid, "MVMM-VM     ", 12);
	mpc->oemcount = count;
	mpc->lapic = (uint32_t)X86_LAPIC_ADDR;
	mpc->checksum = mp_checksum(base, mpc->length);

	memset(mpf, 0, sizeof(*mpf));
	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)X86_MPTABLE_ADDR;
	mpf->length = 1;
	mpf->specification = MPC_SPEC_REV;
	mpf->checksum = mp_checksum((const uint8_t *)mpf, sizeof(*mpf));
	return 0;
}
