/* SPDX-License-Identifier: MIT */
/*
 * VM generation id (protocol in arch/x86/layout.h, X86_VMGENID_PORT): a 128-bit random id in a
 * guest buffer, replaced whenever the VM is forked or restored so the guest knows it was cloned.
 */
#ifndef MVMM_DEVICES_VMGENID_H
#define MVMM_DEVICES_VMGENID_H

#include <stdint.h>

struct vm;
struct vmgenid;
struct state_writer;
struct state_reader;

int vmgenid_create(struct vm *vm, struct vmgenid **out);
void vmgenid_destroy(struct vmgenid *g);
/* A new random id, written into the guest's buffer when it registered one.  VM paused. */
int vmgenid_bump(struct vmgenid *g);
/* Section "dev/vmgenid": buffer address, id, change count. */
int vmgenid_save(struct vmgenid *g, struct state_writer *w);
int vmgenid_load(struct vmgenid *g, const struct state_reader *r);
uint32_t vmgenid_changes(struct vmgenid *g);

#endif /* MVMM_DEVICES_VMGENID_H */
