/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio (version 2) transport: the register file of one device slot, the device-status
 * machine (table of legal transitions), feature negotiation, queue setup checks, ISR and
 * config generation, one ioeventfd per queue and one irqfd per device.
 *
 * Slot n sits at X86_VIRTIO_MMIO_BASE + n * X86_VIRTIO_MMIO_STRIDE with GSI
 * X86_VIRTIO_IRQ_BASE + n and is announced on the kernel command line as
 * virtio_mmio.device=4K@<base>:<gsi>.
 *
 * Without KVM (vm->vm_fd < 0, the unit tests) there is no ioeventfd or irqfd: a QUEUE_NOTIFY
 * write kicks the device on the writing thread and interrupts go to the hook set with
 * vmmio_set_irq_hook().
 */
#ifndef MVMM_DEVICES_VIRTIO_MMIO_H
#define MVMM_DEVICES_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vdev;
struct vmmio;
struct vstate_buf;
struct vstate_rd;

/* Slots usable on x86: GSIs must stay below the IOAPIC's 24 pins. */
#define VMMIO_MAX_SLOTS 19

typedef void (*vmmio_irq_fn)(void *opaque);

/* Attach a transport to vdev at `slot`: bus range, eventfds, cmdline announcement. */
int vmmio_create(struct vm *vm, struct vdev *vdev, unsigned int slot, struct vmmio **out);
/* NULL-safe: deassigns the ioeventfds and irqfd, closes them. */
void vmmio_destroy(struct vmmio *m);

/* The bus handler (exported for tests and the MMIO fuzzer). */
void vmmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
/* Pulse the device's interrupt line (ISR bits are set by the caller). */
void vmmio_interrupt(struct vmmio *m);
/* Tests: receive interrupts instead of KVM. */
void vmmio_set_irq_hook(struct vmmio *m, vmmio_irq_fn fn, void *opaque);

uint64_t vmmio_base(const struct vmmio *m);
uint32_t vmmio_gsi(const struct vmmio *m);
/* Transport register state (selectors); no host handles. */
void vmmio_save(const struct vmmio *m, struct vstate_buf *b);
int vmmio_load(struct vmmio *m, struct vstate_rd *r);

#endif /* MVMM_DEVICES_VIRTIO_MMIO_H */
