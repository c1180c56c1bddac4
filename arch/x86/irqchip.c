/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "irqchip.h"
#include "vmm/vm.h"

int x86_irqchip_create(struct vm *vm)
{
	struct kvm_pit_config pit;

	/* PIC + IOAPIC + LAPICs in the kernel, with KVM's default GSI routing (ISA 0-15 to both). */
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return -errno;
	memset(&pit, 0, sizeof(pit));
	/* The dummy speaker port (0x61) lets Linux calibrate the TSC against PIT channel 2. */
	pit.flags = KVM_PIT_SPEAKER_DUMMY;
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return -errno;
	return 0;
}

int x86_irq_line(struct vm *vm, uint32_t gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = (uint32_t)level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}
