/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "vcpu_state.h"
#include "vmm/state.h"
#include "vmm/util.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define MSR_LIST_MAX 1024

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
#define XSAVE_BYTES 4096

/* ---- segments and descriptor tables ---- */

static void put_seg(struct state_writer *w, const struct kvm_segment *s)
{
	state_put_u64(w, s->base);
	state_put_u32(w, s->limit);
	state_put_u16(w, s->selector);
	state_put_u8(w, s->type);
	state_put_u8(w, s->present);
	state_put_u8(w, s->dpl);
	state_put_u8(w, s->db);
	state_put_u8(w, s->s);
	state_put_u8(w, s->l);
	state_put_u8(w, s->g);
	state_put_u8(w, s->avl);
	state_put_u8(w, s->unusable);
}

static void get_seg(struct state_section *s, struct kvm_segment *g)
{
	g->base = state_get_u64(s);
	g->limit = state_get_u32(s);
	g->selector = state_get_u16(s);
	g->type = state_get_u8(s);
	g->present = state_get_u8(s);
	g->dpl = state_get_u8(s);
	g->db = state_get_u8(s);
	g->s = state_get_u8(s);
	g->l = state_get_u8(s);
	g->g = state_get_u8(s);
	g->avl = state_get_u8(s);
	g->unusable = state_get_u8(s);
}

static void put_dtable(struct state_writer *w, const struct kvm_dtable *d)
{
	state_put_u64(w, d->base);
	state_put_u16(w, d->limit);
}

static void get_dtable(struct state_section *s, struct kvm_dtable *d)
{
	d->base = state_get_u64(s);
	d->limit = state_get_u16(s);
}

/* ---- the per-vCPU pieces ---- */

/* kvm_regs: 18 u64 in declaration order. */
#define REGS_FIELDS(X)                                                                             \
	X(rax) X(rbx) X(rcx) X(rdx) X(rsi) X(rdi) X(rsp) X(rbp) X(r8) X(r9) X(r10) X(r11) X(r12)  \
	X(r13) X(r14) X(r15) X(rip) X(rflags)

static void put_regs(struct state_writer *w, const struct kvm_regs *r)
{
#define PUT_REG_(f) state_put_u64(w, r->f);
	REGS_FIELDS(PUT_REG_)
#undef PUT_REG_
}

static void get_regs(struct state_section *s, struct kvm_regs *r)
{
#define GET_REG_(f) r->f = state_get_u64(s);
	REGS_FIELDS(GET_REG_)
#undef GET_REG_
}

static void put_sregs(struct state_writer *w, const struct kvm_sregs *sr)
{
	const struct kvm_segment *segs[] = { &sr->cs, &sr->ds, &sr->es, &sr->fs, &sr->gs,
					     &sr->ss, &sr->tr, &sr->ldt };

	for (size_t i = 0; i < ARRAY_SIZE(segs); i++)
		put_seg(w, segs[i]);
	put_dtable(w, &sr->gdt);
	put_dtable(w, &sr->idt);
	state_put_u64(w, sr->cr0);
	state_put_u64(w, sr->cr2);
	state_put_u64(w, sr->cr3);
	state_put_u64(w, sr->cr4);
	state_put_u64(w, sr->cr8);
	state_put_u64(w, sr->efer);
	state_put_u64(w, sr->apic_base);
	for (size_t i = 0; i < ARRAY_SIZE(sr->interrupt_bitmap); i++)
		state_put_u64(w, sr->interrupt_bitmap[i]);
}

static void get_sregs(struct state_section *s, struct kvm_sregs *sr)
{
	struct kvm_segment *segs[] = { &sr->cs, &sr->ds, &sr->es, &sr->fs, &sr->gs,
				       &sr->ss, &sr->tr, &sr->ldt };

	for (size_t i = 0; i < ARRAY_SIZE(segs); i++)
		get_seg(s, segs[i]);
	get_dtable(s, &sr->gdt);
	get_dtable(s, &sr->idt);
	sr->cr0 = state_get_u64(s);
	sr->cr2 = state_get_u64(s);
	sr->cr3 = state_get_u64(s);
	sr->cr4 = state_get_u64(s);
	sr->cr8 = state_get_u64(s);
	sr->efer = state_get_u64(s);
	sr->apic_base = state_get_u64(s);
	for (size_t i = 0; i < ARRAY_SIZE(sr->interrupt_bitmap); i++)
		sr->interrupt_bitmap[i] = state_get_u64(s);
}

static void put_events(struct state_writer *w, const struct kvm_vcpu_events *e)
{
	state_put_u8(w, e->exception.injected);
	state_put_u8(w, e->exception.nr);
	state_put_u8(w, e->exception.has_error_code);
	state_put_u8(w, e->exception.pending);
	state_put_u32(w, e->exception.error_code);
	state_put_u8(w, e->interrupt.injected);
	state_put_u8(w, e->interrupt.nr);
	state_put_u8(w, e->interrupt.soft);
	state_put_u8(w, e->interrupt.shadow);
	state_put_u8(w, e->nmi.injected);
	state_put_u8(w, e->nmi.pending);
	state_put_u8(w, e->nmi.masked);
	state_put_u32(w, e->sipi_vector);
	state_put_u32(w, e->flags);
	state_put_u8(w, e->smi.smm);
	state_put_u8(w, e->smi.pending);
	state_put_u8(w, e->smi.smm_inside_nmi);
	state_put_u8(w, e->smi.latched_init);
	state_put_u8(w, e->triple_fault.pending);
	state_put_u8(w, e->exception_has_payload);
	state_put_u64(w, e->exception_payload);
}

static void get_events(struct state_section *s, struct kvm_vcpu_events *e)
{
	e->exception.injected = state_get_u8(s);
	e->exception.nr = state_get_u8(s);
	e->exception.has_error_code = state_get_u8(s);
	e->exception.pending = state_get_u8(s);
	e->exception.error_code = state_get_u32(s);
	e->interrupt.injected = state_get_u8(s);
	e->interrupt.nr = state_get_u8(s);
	e->interrupt.soft = state_get_u8(s);
	e->interrupt.shadow = state_get_u8(s);
	e->nmi.injected = state_get_u8(s);
	e->nmi.pending = state_get_u8(s);
	e->nmi.masked = state_get_u8(s);
	e->sipi_vector = state_get_u32(s);
	e->flags = state_get_u32(s);
	e->smi.smm = state_get_u8(s);
	e->smi.pending = state_get_u8(s);
	e->smi.smm_inside_nmi = state_get_u8(s);
	e->smi.latched_init = state_get_u8(s);
	e->triple_fault.pending = state_get_u8(s);
	e->exception_has_payload = state_get_u8(s);
	e->exception_payload = state_get_u64(s);
}

static struct kvm_msrs *msrs_alloc(uint32_t n)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(struct kvm_msr_entry));

	if (m)
		m->nmsrs = n;
	return m;
}

/* MSRs KVM can save, probed once: the index list, minus those this host refuses to read. */
int x86_msr_list_init(struct vm *vm)
{
	struct kvm_msr_list *list;
	struct kvm_msrs *one = msrs_alloc(1);
	uint32_t *keep;
	uint32_t n = 0;
	int err = 0;

	list = calloc(1, sizeof(*list) + MSR_LIST_MAX * sizeof(uint32_t));
	keep = calloc(MSR_LIST_MAX, sizeof(uint32_t));
	if (!list || !keep || !one) {
		err = -ENOMEM;
		goto out;
	}
	list->nmsrs = MSR_LIST_MAX;
	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		err = -errno;
		goto out;
	}
	for (uint32_t i = 0; i < list->nmsrs && vm->nr_vcpus; i++) {
		one->nmsrs = 1;
		one->entries[0].index = list->indices[i];
		if (ioctl(vm->vcpus[0]->fd, KVM_GET_MSRS, one) == 1)
			keep[n++] = list->indices[i];
	}
	free(vm->msr_list);
	vm->msr_list = keep;
	vm->nr_msrs = n;
	keep = NULL;
out:
	free(one);
	free(keep);
	free(list);
	return err;
}


int x86_vcpu_save(struct vcpu *vcpu, struct state_writer *w)
{
	struct vm *vm = vcpu->vm;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events events;
	struct kvm_debugregs dbg;
	struct kvm_mp_state mp;
	struct kvm_lapic_state lapic;
	struct kvm_xsave *xsave = NULL;
	struct kvm_xcrs xcrs;
	struct kvm_msrs *msrs = NULL;
	char name[32];
	int err = 0;

	memset(&xcrs, 0, sizeof(xcrs));
	xsave = calloc(1, sizeof(*xsave));
	msrs = msrs_alloc(vm->nr_msrs);
	if (!xsave || !msrs) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < vm->nr_msrs; i++)
		msrs->entries[i].index = vm->msr_list[i];
	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &events) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_DEBUGREGS, &dbg) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) < 0 || ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_XSAVE, xsave) < 0) {
		err = -errno;
		goto out;
	}
	if (vm->has_xcrs && ioctl(vcpu->fd, KVM_GET_XCRS, &xcrs) < 0) {
		err = -errno;
		goto out;
	}
	if (ioctl(vcpu->fd, KVM_GET_MSRS, msrs) != (int)vm->nr_msrs) {
		err = -EIO;
		goto out;
	}

	snprintf(name, sizeof(name), "vcpu/%u", vcpu->id);
	state_begin_section(w, name, X86_VCPU_STATE_VERSION, STATE_SEC_REQUIRED);
	put_regs(w, &regs);
	put_sregs(w, &sregs);
	put_events(w, &events);
	for (size_t i = 0; i < 4; i++)
		state_put_u64(w, dbg.db[i]);
	state_put_u64(w, dbg.dr6);
	state_put_u64(w, dbg.dr7);
	state_put_u64(w, dbg.flags);
	state_put_u32(w, mp.mp_state);
	state_put_bytes(w, lapic.regs, sizeof(lapic.regs));	/* the architectural APIC page */
	state_put_bytes(w, xsave->region, XSAVE_BYTES);		/* the architectural XSAVE area */
	state_put_u32(w, xcrs.nr_xcrs);
	for (uint32_t i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++) {
		state_put_u32(w, xcrs.xcrs[i].xcr);
		state_put_u64(w, xcrs.xcrs[i].value);
	}
	state_put_u32(w, vm->nr_msrs);
	for (uint32_t i = 0; i < vm->nr_msrs; i++) {
		state_put_u32(w, msrs->entries[i].index);
		state_put_u64(w, msrs->entries[i].data);
	}
	state_end_section(w);
	err = w->err;
out:
	free(msrs);
	free(xsave);
	return err;
}

int x86_vcpu_load(struct vcpu *vcpu, const struct state_reader *r)
{
	struct state_section s;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events events;
	struct kvm_debugregs dbg;
	struct kvm_mp_state mp;
	struct kvm_lapic_state lapic;
	struct kvm_xsave *xsave;
	struct kvm_xcrs xcrs;
	struct kvm_msrs *msrs = NULL;
	uint32_t nr;
	char name[32];
	int err;

	snprintf(name, sizeof(name), "vcpu/%u", vcpu->id);
	err = state_find(r, name, &s);
	if (err)
		return -EBADMSG;
	if (s.version != X86_VCPU_STATE_VERSION)
		return -EPROTO;
	memset(&regs, 0, sizeof(regs));
	memset(&sregs, 0, sizeof(sregs));
	memset(&events, 0, sizeof(events));
	memset(&dbg, 0, sizeof(dbg));
	memset(&xcrs, 0, sizeof(xcrs));
	xsave = calloc(1, sizeof(*xsave));
	if (!xsave)
		return -ENOMEM;
	get_regs(&s, &regs);
	get_sregs(&s, &sregs);
	get_events(&s, &events);
	for (size_t i = 0; i < 4; i++)
		dbg.db[i] = state_get_u64(&s);
	dbg.dr6 = state_get_u64(&s);
	dbg.dr7 = state_get_u64(&s);
	dbg.flags = state_get_u64(&s);
	mp.mp_state = state_get_u32(&s);
	state_get_bytes(&s, lapic.regs, sizeof(lapic.regs));
	state_get_bytes(&s, xsave->region, XSAVE_BYTES);
	xcrs.nr_xcrs = state_get_u32(&s);
	if (xcrs.nr_xcrs > KVM_MAX_XCRS) {
		err = -EBADMSG;
		goto out;
	}
	for (uint32_t i = 0; i < xcrs.nr_xcrs; i++) {
		xcrs.xcrs[i].xcr = state_get_u32(&s);
		xcrs.xcrs[i].value = state_get_u64(&s);
	}
	nr = state_get_u32(&s);
	if (nr > MSR_LIST_MAX || !(msrs = msrs_alloc(nr))) {
		err = nr > MSR_LIST_MAX ? -EBADMSG : -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < nr; i++) {
		msrs->entries[i].index = state_get_u32(&s);
		msrs->entries[i].data = state_get_u64(&s);
	}
	err = state_section_done(&s);
	if (err)
		goto out;

	/* The order KVM documents and its selftests use; see the header. */
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		goto out_errno;
	if (ioctl(vcpu->fd, KVM_SET_MSRS, msrs) != (int)nr) {
		err = -EIO;
		goto out;
	}
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0)
		goto out_errno;
	if (xcrs.nr_xcrs && ioctl(vcpu->fd, KVM_SET_XCRS, &xcrs) < 0)
		goto out_errno;
	if (ioctl(vcpu->fd, KVM_SET_XSAVE, xsave) < 0 ||
	    ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &events) < 0 ||
	    ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0 ||
	    ioctl(vcpu->fd, KVM_SET_DEBUGREGS, &dbg) < 0 ||
	    ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		goto out_errno;
	err = 0;
	goto out;
out_errno:
	err = -errno;
out:
	free(msrs);
	free(xsave);
	return err;
}

/* ---- VM-wide: irqchip, PIT, clock ---- */

static void put_pic(struct state_writer *w, const struct kvm_pic_state *p)
{
	const uint8_t f[] = { p->last_irr, p->irr, p->imr, p->isr, p->priority_add, p->irq_base,
			      p->read_reg_select, p->poll, p->special_mask, p->init_state,
			      p->auto_eoi, p->rotate_on_auto_eoi, p->special_fully_nested_mode,
			      p->init4, p->elcr, p->elcr_mask };

	state_put_bytes(w, f, sizeof(f));
}

static void get_pic(struct state_section *s, struct kvm_pic_state *p)
{
	uint8_t f[16];

	state_get_bytes(s, f, sizeof(f));
	p->last_irr = f[0];
	p->irr = f[1];
	p->imr = f[2];
	p->isr = f[3];
	p->priority_add = f[4];
	p->irq_base = f[5];
	p->read_reg_select = f[6];
	p->poll = f[7];
	p->special_mask = f[8];
	p->init_state = f[9];
	p->auto_eoi = f[10];
	p->rotate_on_auto_eoi = f[11];
	p->special_fully_nested_mode = f[12];
	p->init4 = f[13];
	p->elcr = f[14];
	p->elcr_mask = f[15];
}

int x86_vm_save(struct vm *vm, struct state_writer *w)
{
	struct kvm_irqchip chip[3];
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;

	for (uint32_t i = 0; i < 3; i++) {
		memset(&chip[i], 0, sizeof(chip[i]));
		chip[i].chip_id = i;
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip[i]) < 0)
			return -errno;
	}
	memset(&clock, 0, sizeof(clock));
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &pit) < 0 || ioctl(vm->vm_fd, KVM_GET_CLOCK, &clock) < 0)
		return -errno;

	state_begin_section(w, "irqchip", X86_VM_STATE_VERSION, STATE_SEC_REQUIRED);
	put_pic(w, &chip[KVM_IRQCHIP_PIC_MASTER].chip.pic);
	put_pic(w, &chip[KVM_IRQCHIP_PIC_SLAVE].chip.pic);
	state_put_u64(w, chip[KVM_IRQCHIP_IOAPIC].chip.ioapic.base_address);
	state_put_u32(w, chip[KVM_IRQCHIP_IOAPIC].chip.ioapic.ioregsel);
	state_put_u32(w, chip[KVM_IRQCHIP_IOAPIC].chip.ioapic.id);
	state_put_u32(w, chip[KVM_IRQCHIP_IOAPIC].chip.ioapic.irr);
	for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		state_put_u64(w, chip[KVM_IRQCHIP_IOAPIC].chip.ioapic.redirtbl[i].bits);
	state_end_section(w);

	state_begin_section(w, "pit", X86_VM_STATE_VERSION, STATE_SEC_REQUIRED);
	for (int i = 0; i < 3; i++) {
		const struct kvm_pit_channel_state *c = &pit.channels[i];
		const uint8_t f[] = { c->count_latched, c->status_latched, c->status, c->read_state,
				      c->write_state, c->write_latch, c->rw_mode, c->mode, c->bcd,
				      c->gate };

		state_put_u32(w, c->count);
		state_put_u16(w, c->latched_count);
		state_put_bytes(w, f, sizeof(f));
		state_put_u64(w, (uint64_t)c->count_load_time);
	}
	state_put_u32(w, pit.flags);
	state_end_section(w);

	/* v2: with the host's wall-clock time, so a load can move the guest clock forward. */
	state_begin_section(w, "clock", X86_CLOCK_STATE_VERSION, STATE_SEC_REQUIRED);
	state_put_u64(w, clock.clock);
	state_put_u64(w, realtime_ns());
	state_end_section(w);
	return w->err;
}

int x86_vm_load(struct vm *vm, const struct state_reader *r)
{
	struct kvm_irqchip chip[3];
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	struct state_section s;
	int err;

	memset(chip, 0, sizeof(chip));
	memset(&pit, 0, sizeof(pit));
	memset(&clock, 0, sizeof(clock));
	if (state_find(r, "irqchip", &s) || s.version != X86_VM_STATE_VERSION)
		return -EBADMSG;
	for (uint32_t i = 0; i < 3; i++)
		chip[i].chip_id = i;
	get_pic(&s, &chip[KVM_IRQCHIP_PIC_MASTER].chip.pic);
	get_pic(&s, &chip[KVM_IRQCHIP_PIC_SLAVE].chip.pic);
	chip[KVM_IRQCHIP_IOAPIC].chip.ioapic.base_address = state_get_u64(&s);
	chip[KVM_IRQCHIP_IOAPIC].chip.ioapic.ioregsel = state_get_u32(&s);
	chip[KVM_IRQCHIP_IOAPIC].chip.ioapic.id = state_get_u32(&s);
	chip[KVM_IRQCHIP_IOAPIC].chip.ioapic.irr = state_get_u32(&s);
	for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		chip[KVM_IRQCHIP_IOAPIC].chip.ioapic.redirtbl[i].bits = state_get_u64(&s);
	if ((err = state_section_done(&s)))
		return err;

	if (state_find(r, "pit", &s) || s.version != X86_VM_STATE_VERSION)
		return -EBADMSG;
	for (int i = 0; i < 3; i++) {
		struct kvm_pit_channel_state *c = &pit.channels[i];
		uint8_t f[10];

		c->count = state_get_u32(&s);
		c->latched_count = state_get_u16(&s);
		state_get_bytes(&s, f, sizeof(f));
		c->count_latched = f[0];
		c->status_latched = f[1];
		c->status = f[2];
		c->read_state = f[3];
		c->write_state = f[4];
		c->write_latch = f[5];
		c->rw_mode = f[6];
		c->mode = f[7];
		c->bcd = f[8];
		c->gate = f[9];
		c->count_load_time = (int64_t)state_get_u64(&s);
	}
	pit.flags = state_get_u32(&s);
	if ((err = state_section_done(&s)))
		return err;

	if (state_find(r, "clock", &s) ||
	    (s.version != X86_VM_STATE_VERSION && s.version != X86_CLOCK_STATE_VERSION))
		return -EBADMSG;
	clock.clock = state_get_u64(&s);
	if (s.version == X86_CLOCK_STATE_VERSION) {
		uint64_t then = state_get_u64(&s), now = realtime_ns();

		/*
		 * A clone or a restore is a VM that kept living while it was copied (or sat on
		 * disk): kvmclock advances by the host time that passed, so guest time stays
		 * true.  A host clock that went backwards or a gap beyond ten years is not applied.
		 */
		if (now > then && now - then < 10ULL * 365 * 24 * 3600 * 1000000000ULL)
			clock.clock += now - then;
	}
	if ((err = state_section_done(&s)))
		return err;

	for (uint32_t i = 0; i < 3; i++) {
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip[i]) < 0)
			return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, &pit) < 0 || ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return -errno;
	return 0;
}
