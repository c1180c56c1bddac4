/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>
#include <asm/kvm_para.h>

#include "cpu.h"
#include "irqchip.h"
#include "layout.h"
#include "vmm/util.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define CPUID_MAX_ENTRIES 256

/* CPUID leaf 1 */
#define CPUID1_ECX_CX16		(1U << 13)
#define CPUID1_ECX_X2APIC	(1U << 21)
#define CPUID1_ECX_TSC_DEADLINE	(1U << 24)
#define CPUID1_ECX_HYPERVISOR	(1U << 31)

/* Control-register and EFER bits for the 64-bit entry. */
#define X86_CR0_PE (1ULL << 0)
#define X86_CR0_MP (1ULL << 1)
#define X86_CR0_ET (1ULL << 4)
#define X86_CR0_NE (1ULL << 5)
#define X86_CR0_WP (1ULL << 16)
#define X86_CR0_AM (1ULL << 18)
#define X86_CR0_PG (1ULL << 31)
#define X86_CR4_PAE (1ULL << 5)
#define X86_EFER_LME (1ULL << 8)
#define X86_EFER_LMA (1ULL << 10)

/* Page-table entry bits */
#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7)

/* MSRs set at reset */
#define MSR_IA32_MISC_ENABLE 0x000001a0
#define MSR_IA32_MISC_ENABLE_FAST_STRING (1ULL << 0)
#define MSR_MTRR_DEF_TYPE 0x000002ff
#define MTRR_DEF_TYPE_E (1ULL << 11)
#define MTRR_TYPE_WRBACK 6ULL

/* LAPIC register offsets and LVT delivery modes */
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_DM_NMI 0x400
#define APIC_DM_EXTINT 0x700
#define APIC_LVT_DM_MASK 0x700
#define APIC_LVT_MASKED (1U << 16)

/* Boot GDT selectors, as the Linux 64-bit boot protocol wants them. */
#define BOOT_CS 0x10
#define BOOT_DS 0x18
#define BOOT_TSS 0x20

/* KVM_FEATURE_* bits that misbehave under kvm-pvm (GUEST.md: steal time livelocks the guest). */
static const unsigned int pvm_masked_kvm_features[] = {
	KVM_FEATURE_ASYNC_PF,	  KVM_FEATURE_STEAL_TIME,     KVM_FEATURE_PV_UNHALT,
	KVM_FEATURE_PV_TLB_FLUSH, KVM_FEATURE_ASYNC_PF_VMEXIT, KVM_FEATURE_PV_SEND_IPI,
	KVM_FEATURE_POLL_CONTROL, KVM_FEATURE_PV_SCHED_YIELD, KVM_FEATURE_ASYNC_PF_INT,
};

bool x86_host_is_pvm(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

void x86_cpuid_filter(struct kvm_cpuid2 *cpuid, const struct x86_cpuid_opts *opts)
{
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			/* EBX: APIC id [31:24], logical processors [23:16], CLFLUSH size [15:8]. */
			e->ebx = (opts->apic_id << 24) | ((opts->nr_cpus & 0xff) << 16) |
				 (e->ebx & 0xffff);
			e->ecx |= CPUID1_ECX_HYPERVISOR;
			if (opts->pvm_quirks)
				e->ecx &= ~CPUID1_ECX_CX16;
			break;
		case 0xb:
		case 0x1f:
			/* x2APIC topology: EDX is this vCPU's x2APIC id. */
			e->edx = opts->apic_id;
			break;
		case KVM_CPUID_FEATURES:
			if (!opts->pvm_quirks)
				break;
			for (size_t k = 0; k < ARRAY_SIZE(pvm_masked_kvm_features); k++)
				e->eax &= ~(1U << pvm_masked_kvm_features[k]);
			break;
		default:
			break;
		}
	}
}

void x86_cpu_signature(const struct vm *vm, char vendor[12], uint32_t *signature)
{
	const struct kvm_cpuid2 *c = vm->cpuid;

	memset(vendor, 0, 12);
	*signature = 0;
	for (uint32_t i = 0; c && i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 0) {
			memcpy(vendor, &e->ebx, 4);
			memcpy(vendor + 4, &e->edx, 4);
			memcpy(vendor + 8, &e->ecx, 4);
		} else if (e->function == 1) {
			*signature = e->eax;
		}
	}
}

int x86_vm_init(struct vm *vm)
{
	struct kvm_cpuid2 *cpuid;
	int err;

	/* Three pages KVM needs below 4 GiB on Intel; inside the MMIO hole, never RAM. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0)
		return -errno;
	uint64_t idmap = 0xfffbc000ULL;

	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return -errno;
	err = x86_irqchip_create(vm);
	if (err)
		return err;

	cpuid = calloc(1, sizeof(*cpuid) + CPUID_MAX_ENTRIES * sizeof(cpuid->entries[0]));
	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		err = -errno;
		free(cpuid);
		return err;
	}
	vm->cpuid = cpuid;
	vm->has_xcrs = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
	return 0;
}

void x86_vm_fini(struct vm *vm)
{
	free(vm->cpuid);
	vm->cpuid = NULL;
}

static int vcpu_set_cpuid(struct vm *vm, struct vcpu *vcpu)
{
	const struct kvm_cpuid2 *base = vm->cpuid;
	size_t sz = sizeof(*base) + base->nent * sizeof(base->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	struct x86_cpuid_opts opts = {
		.nr_cpus = vm->nr_vcpus,
		.apic_id = vcpu->id,
		.pvm_quirks = x86_host_is_pvm(),
	};
	int err = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, base, sz);
	x86_cpuid_filter(c, &opts);
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0)
		err = -errno;
	free(c);
	return err;
}

static int vcpu_set_msrs(struct vcpu *vcpu)
{
	static const struct kvm_msr_entry init[] = {
		{ .index = MSR_IA32_MISC_ENABLE, .data = MSR_IA32_MISC_ENABLE_FAST_STRING },
		{ .index = MSR_MTRR_DEF_TYPE, .data = MTRR_DEF_TYPE_E | MTRR_TYPE_WRBACK },
	};
	/* struct kvm_msrs ends in a flexible array: back it with enough aligned storage. */
	union {
		struct kvm_msrs hdr;
		uint8_t buf[sizeof(struct kvm_msrs) + sizeof(init)];
	} u;
	int n;

	memset(&u, 0, sizeof(u));
	u.hdr.nmsrs = ARRAY_SIZE(init);
	memcpy(u.hdr.entries, init, sizeof(init));
	n = ioctl(vcpu->fd, KVM_SET_MSRS, &u.hdr);
	if (n < 0)
		return -errno;
	/* KVM_SET_MSRS returns how many it set; a short count names the first it refused. */
	if (n != (int)ARRAY_SIZE(init))
		pr_warn(&vcpu->vm->log, "cpu", "vcpu%u: MSR 0x%x not accepted", vcpu->id,
			init[n].index);
	return 0;
}

static uint32_t lapic_get(const struct kvm_lapic_state *s, unsigned int reg)
{
	uint32_t v;

	memcpy(&v, &s->regs[reg], sizeof(v));
	return v;
}

static void lapic_set(struct kvm_lapic_state *s, unsigned int reg, uint32_t v)
{
	memcpy(&s->regs[reg], &v, sizeof(v));
}

/*
 * LINT0 = ExtINT (the 8259 PIC's output) on the BSP only, masked on APs; LINT1 = NMI on all:
 * how firmware wires them on a PC (MP spec "virtual wire" mode).
 */
static int vcpu_setup_lint(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;
	uint32_t v;

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	v = lapic_get(&lapic, APIC_LVT0) & ~(APIC_LVT_DM_MASK | APIC_LVT_MASKED);
	lapic_set(&lapic, APIC_LVT0, v | APIC_DM_EXTINT | (vcpu->id ? APIC_LVT_MASKED : 0));
	v = lapic_get(&lapic, APIC_LVT1) & ~(APIC_LVT_DM_MASK | APIC_LVT_MASKED);
	lapic_set(&lapic, APIC_LVT1, v | APIC_DM_NMI);
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

int x86_vcpu_init(struct vm *vm, struct vcpu *vcpu)
{
	int err = vcpu_set_cpuid(vm, vcpu);

	if (!err)
		err = vcpu_set_msrs(vcpu);
	if (!err)
		err = vcpu_setup_lint(vcpu);
	return err;
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code64;
	s->db = !code64;
}

int x86_vcpu_setup_boot(struct vcpu *vcpu, uint64_t entry, uint64_t boot_params)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	set_seg(&sregs.cs, BOOT_CS, 0xb, true);		/* execute/read, accessed */
	set_seg(&sregs.ds, BOOT_DS, 0x3, false);	/* read/write, accessed */
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.selector = BOOT_TSS;
	sregs.tr.limit = 0x67;
	sregs.tr.type = 0xb;				/* 64-bit TSS, busy */
	sregs.tr.present = 1;
	sregs.gdt.base = X86_BOOT_GDT_ADDR;
	sregs.gdt.limit = 6 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_AM |
		    X86_CR0_PG;
	sregs.cr3 = X86_PML4_ADDR;
	sregs.cr4 = X86_CR4_PAE;
	sregs.efer = X86_EFER_LME | X86_EFER_LMA;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;			/* bit 1 is reserved-one; interrupts off */
	regs.rip = entry;
	regs.rsi = boot_params;			/* Linux 64-bit boot protocol */
	regs.rsp = X86_ZERO_PAGE_ADDR;		/* grows down into free low RAM */
	regs.rbp = 0;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

void x86_vcpu_log_regs(struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0)
		return;
	pr_err(&vcpu->vm->log, "cpu",
	       "vcpu%u: rip 0x%llx rsp 0x%llx rflags 0x%llx cr0 0x%llx cr3 0x%llx cr4 0x%llx efer 0x%llx",
	       vcpu->id, (unsigned long long)r.rip, (unsigned long long)r.rsp,
	       (unsigned long long)r.rflags, (unsigned long long)s.cr0, (unsigned long long)s.cr3,
	       (unsigned long long)s.cr4, (unsigned long long)s.efer);
}

/* GDT descriptor from base/limit/access/flags (flags = G, D/B, L nibble). */
static uint64_t gdt_entry(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return ((uint64_t)(base & 0xff000000) << 32) | ((uint64_t)(flags & 0xf) << 52) |
	       ((uint64_t)(limit & 0xf0000) << 32) | ((uint64_t)access << 40) |
	       ((uint64_t)(base & 0x00ffffff) << 16) | (limit & 0xffff);
}

int x86_setup_page_tables(struct guest_mem *mem)
{
	uint64_t gdt[6] = {
		0,
		0,
		gdt_entry(0, 0xfffff, 0x9b, 0xa),	/* 0x10: code, present, 64-bit, 4K gran */
		gdt_entry(0, 0xfffff, 0x93, 0xc),	/* 0x18: data, present, 32-bit, 4K gran */
		gdt_entry(0, 0x67, 0x8b, 0x0),		/* 0x20: 64-bit TSS (busy), low half */
		0,					/* 0x28: TSS high half (base 63:32 = 0) */
	};
	uint64_t *pml4 = guest_mem_ptr(mem, X86_PML4_ADDR, 4096);
	uint64_t *pdpt = guest_mem_ptr(mem, X86_PDPT_ADDR, 4096);
	uint64_t *pd = guest_mem_ptr(mem, X86_PD_ADDR, 4 * 4096);
	int err;

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	err = guest_mem_write(mem, X86_BOOT_GDT_ADDR, gdt, sizeof(gdt));
	if (err)
		return err;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = X86_PDPT_ADDR | PTE_P | PTE_RW;
	/* Identity map 0..4 GiB with 2 MiB pages: 4 page directories of 512 entries. */
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (X86_PD_ADDR + i * 4096) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
	return 0;
}
