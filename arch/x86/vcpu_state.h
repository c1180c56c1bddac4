/* SPDX-License-Identifier: MIT */
/*
 * x86 vCPU and VM-wide (irqchip, PIT, kvmclock) state capture and load, into/from state blob
 * sections (vmm/state.h), field by field.
 *
 * Save a vCPU only while it is parked: vcpu_park() has entered KVM_RUN once more with
 * immediate_exit set, which completes a pending I/O exit so the registers are consistent.
 * Load follows the order KVM's selftests use: sregs, MSRs, LAPIC, xcrs, xsave, events,
 * mp_state, debugregs, regs (regs last: earlier calls may reset RFLAGS/RIP side effects).
 */
#ifndef MVMM_ARCH_X86_VCPU_STATE_H
#define MVMM_ARCH_X86_VCPU_STATE_H

struct vm;
struct vcpu;
struct state_writer;
struct state_reader;

#define X86_VCPU_STATE_VERSION 1
#define X86_VM_STATE_VERSION 1
#define X86_CLOCK_STATE_VERSION 2	/* adds the host wall-clock time of the capture */

/* Find the MSRs KVM lets us save and restore on this host (once per VM). */
int x86_msr_list_init(struct vm *vm);
int x86_vcpu_save(struct vcpu *vcpu, struct state_writer *w);
int x86_vcpu_load(struct vcpu *vcpu, const struct state_reader *r);
/* irqchip (PIC master/slave, IOAPIC), PIT, kvmclock. */
int x86_vm_save(struct vm *vm, struct state_writer *w);
int x86_vm_load(struct vm *vm, const struct state_reader *r);

#endif /* MVMM_ARCH_X86_VCPU_STATE_H */
