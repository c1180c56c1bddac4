/* SPDX-License-Identifier: MIT */
/* x86 vCPU and VM-wide CPU setup: CPUID filtering, MSRs, LAPIC LINT wiring, long-mode entry. */
#ifndef MVMM_ARCH_X86_CPU_H
#define MVMM_ARCH_X86_CPU_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vcpu;
struct kvm_cpuid2;

/* VM-wide: TSS/identity-map addresses, irqchip, PIT, supported CPUID. */
int x86_vm_init(struct vm *vm);
void x86_vm_fini(struct vm *vm);
/* Per vCPU: CPUID (with this vCPU's APIC id), MSRs, LAPIC LINT0/1. */
int x86_vcpu_init(struct vm *vm, struct vcpu *vcpu);
/* BSP only: long-mode registers for the 64-bit boot entry. */
int x86_vcpu_setup_boot(struct vcpu *vcpu, uint64_t entry, uint64_t boot_params);
void x86_vcpu_log_regs(struct vcpu *vcpu);

struct x86_cpuid_opts {
	unsigned int nr_cpus;
	unsigned int apic_id;
	bool pvm_quirks;		/* host is kvm-pvm: mask what livelocks or is missing there */
};

/*
 * Rewrite a copy of KVM_GET_SUPPORTED_CPUID for one vCPU.  Pure: unit-tested without KVM.
 * Only clears bits KVM offered (never invents features) except the topology/identity fields.
 */
void x86_cpuid_filter(struct kvm_cpuid2 *cpuid, const struct x86_cpuid_opts *opts);
/* CPU identity recorded in saved state: vendor string (12 bytes) and leaf-1 EAX signature. */
void x86_cpu_signature(const struct vm *vm, char vendor[12], uint32_t *signature);
/* True when /dev/kvm is backed by kvm-pvm. */
bool x86_host_is_pvm(void);

/* Write the boot GDT and identity page tables into guest RAM (layout.h addresses). */
struct guest_mem;
int x86_setup_page_tables(struct guest_mem *mem);

#endif /* MVMM_ARCH_X86_CPU_H */
