/* SPDX-License-Identifier: MIT */
/* In-kernel irqchip (PIC + IOAPIC + LAPICs) and PIT; interrupt lines into them. */
#ifndef MVMM_ARCH_X86_IRQCHIP_H
#define MVMM_ARCH_X86_IRQCHIP_H

#include <stdint.h>

struct vm;

int x86_irqchip_create(struct vm *vm);
/* Drive GSI `gsi` to `level` (ISA lines: 1 then 0 makes an edge). */
int x86_irq_line(struct vm *vm, uint32_t gsi, int level);

#endif /* MVMM_ARCH_X86_IRQCHIP_H */
