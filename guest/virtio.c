// SPDX-License-Identifier: MIT
/*
 * virtio-mmio v2 transport and split virtqueues (virtio 1.2, 2.7 and 4.2), driver side; see
 * virtio.h.  x86 keeps stores in order and loads in order, so the ring protocol needs only
 * compiler ordering (acquire/release accesses) except where a store must be visible before a
 * load: publishing avail->idx before reading the device's notification suppression.
 */
#include "virtio.h"

#define IOAPIC_REGSEL		0x00
#define IOAPIC_WIN		0x10
#define IOAPIC_REG_VER		0x01
#define IOAPIC_REDTBL(pin)	(0x10 + 2 * (pin))
#define IOAPIC_MASKED		(1U << 16)	/* edge, active high, fixed, physical: all 0 */

#define LAPIC_LVT0		0x350
#define LAPIC_LVT_MASK		0x10000
#define PIC1_DATA		0x21
#define PIC2_DATA		0xa1

#define RESET_TIMEOUT_MS	1000
#define STATUS_POLL_US		1000		/* how often virtq_wait looks at the status */

/* ---- discovery ---------------------------------------------------------------------- */

/* Linux's memparse(): a number with an optional K/M/G suffix.  Returns chars used, 0 if none. */
static size_t parse_size(const char *s, size_t len, u64 *out)
{
	size_t n = 0;

	while (n < len && s[n] != '@' && s[n] != ':' && s[n] != 'K' && s[n] != 'M' &&
	       s[n] != 'G' && s[n] != 'k' && s[n] != 'm' && s[n] != 'g')
		n++;
	if (!n || parse_u64(s, n, out))
		return 0;
	if (n < len) {
		switch (s[n]) {
		case 'G': case 'g': *out <<= 30; n++; break;
		case 'M': case 'm': *out <<= 20; n++; break;
		case 'K': case 'k': *out <<= 10; n++; break;
		default: break;
		}
	}
	return n;
}

/* "<size>@<base>:<irq>[:<id>]" (Linux's virtio_mmio.device= syntax); 0 on success. */
static int parse_device(const char *s, size_t len, u64 *size, u64 *base, u64 *irq)
{
	size_t n = parse_size(s, len, size), m;

	if (!n || n >= len || s[n] != '@')
		return -1;
	s += n + 1;
	len -= n + 1;
	for (m = 0; m < len && s[m] != ':'; m++)
		;
	if (m == len || parse_u64(s, m, base))
		return -1;
	s += m + 1;
	len -= m + 1;
	for (m = 0; m < len && s[m] != ':'; m++)
		;
	return parse_u64(s, m, irq);
}

static const char *device_name(u32 id)
{
	switch (id) {
	case VIRTIO_ID_NET: return "net";
	case VIRTIO_ID_BLOCK: return "blk";
	case VIRTIO_ID_CONSOLE: return "console";
	case VIRTIO_ID_RNG: return "rng";
	case VIRTIO_ID_VSOCK: return "vsock";
	case VIRTIO_ID_FS: return "fs";
	default: return "?";
	}
}

/* Check one announced device and add it; prints one line about it. */
static void add_device(struct virtio *v, u64 size, u64 base, u64 irq)
{
	struct vdev *d;
	u64 slot = (base - X86_VIRTIO_MMIO_BASE) / X86_VIRTIO_MMIO_STRIDE;
	u32 magic, version;

	/* Only the slots are mapped (paging.c): anything else would fault. */
	if (base < X86_VIRTIO_MMIO_BASE || slot >= X86_VIRTIO_MMIO_MAX ||
	    base % X86_VIRTIO_MMIO_STRIDE || size < VIRTIO_MMIO_CONFIG) {
		check_fail("virtio", "device at 0x%lx size 0x%lx is not a virtio-mmio slot",
			   base, size);
		return;
	}
	if (v->ndevs == VIRTIO_MAX_DEVS) {
		check_fail("virtio", "more than %u devices", VIRTIO_MAX_DEVS);
		return;
	}
	d = &v->devs[v->ndevs];
	d->base = base;
	d->slot = (u32)slot;
	d->irq = (u32)irq;
	magic = vdev_read(d, VIRTIO_MMIO_MAGIC_VALUE);
	version = vdev_read(d, VIRTIO_MMIO_VERSION);
	d->device_id = vdev_read(d, VIRTIO_MMIO_DEVICE_ID);
	d->vendor_id = vdev_read(d, VIRTIO_MMIO_VENDOR_ID);
	printf("virtio: %u 0x%lx irq %u magic 0x%x version %u device %u (%s) vendor 0x%x\n",
	       d->slot, base, d->irq, magic, version, d->device_id, device_name(d->device_id),
	       d->vendor_id);
	if (magic != VIRTIO_MMIO_MAGIC) {
		check_fail("virtio", "slot %u: magic 0x%x", d->slot, magic);
		return;
	}
	if (version != VIRTIO_MMIO_VERSION_2) {
		check_fail("virtio", "slot %u: version %u, only 2 (virtio 1.x) is supported",
			   d->slot, version);
		return;
	}
	if (!d->device_id)
		return;				/* an empty slot: no device behind it */
	if (irq != X86_VIRTIO_IRQ_BASE + slot)
		check_fail("virtio", "slot %u: irq %lu, layout.h says %lu", d->slot, irq,
			   X86_VIRTIO_IRQ_BASE + slot);
	v->ndevs++;
}

struct virtio *virtio_get(void)
{
	static const char key[] = "virtio_mmio.device=";
	const size_t klen = sizeof(key) - 1;
	const char *p = g.boot.cmdline;
	struct virtio *v = g.virtio;

	if (v)
		return v;
	v = (struct virtio *)page_alloc(ALIGN_UP(sizeof(*v), PAGE_SIZE) / PAGE_SIZE);
	memset(v, 0, sizeof(*v));
	g.virtio = v;

	while (*p) {
		const char *w;
		u64 size, base, irq;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		w = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		if ((size_t)(p - w) <= klen || strncmp(w, key, klen))
			continue;
		if (parse_device(w + klen, p - w - klen, &size, &base, &irq)) {
			char word[64];
			size_t n = MIN((size_t)(p - w), sizeof(word) - 1);

			memcpy(word, w, n);
			word[n] = '\0';
			check_fail("virtio", "cannot parse '%s'", word);
			continue;
		}
		add_device(v, size, base, irq);
	}
	if (!v->ndevs)
		printf("virtio: no devices on the command line\n");
	return v;
}

struct vdev *virtio_find(u32 device_id, u32 nth)
{
	struct virtio *v = virtio_get();
	u32 i;

	for (i = 0; i < v->ndevs; i++) {
		if (v->devs[i].device_id == device_id && !nth--)
			return &v->devs[i];
	}
	return NULL;
}

/* ---- device set-up ------------------------------------------------------------------ */

int vdev_reset(struct vdev *d)
{
	u64 end = rdtsc() + tsc_ms(RESET_TIMEOUT_MS);

	vdev_write(d, VIRTIO_MMIO_STATUS, 0);
	/* 1.2, 2.4.2: the driver waits for the status to read 0 before using the device. */
	while (vdev_status(d)) {
		if (rdtsc() > end)
			return -1;
		cpu_relax();
	}
	return 0;
}

u8 vdev_cfg8(const struct vdev *d, u32 off)
{
	return *(volatile u8 *)(d->base + VIRTIO_MMIO_CONFIG + off);
}

u32 vdev_cfg32(const struct vdev *d, u32 off)
{
	return vdev_read(d, VIRTIO_MMIO_CONFIG + off);
}

/* 64-bit fields are read as two halves; ConfigGeneration tells when they raced a change. */
u64 vdev_cfg64(const struct vdev *d, u32 off)
{
	u32 gen, lo, hi;

	do {
		gen = vdev_read(d, VIRTIO_MMIO_CONFIG_GENERATION);
		lo = vdev_cfg32(d, off);
		hi = vdev_cfg32(d, off + 4);
	} while (gen != vdev_read(d, VIRTIO_MMIO_CONFIG_GENERATION));
	return (u64)hi << 32 | lo;
}

static void add_status(struct vdev *d, u32 bits)
{
	vdev_write(d, VIRTIO_MMIO_STATUS, vdev_status(d) | bits);
}

static int fail_init(struct vdev *d, const char *why)
{
	d->error = why;
	/* 1.2, 3.1.1: tell the device we gave up. */
	add_status(d, VIRTIO_CONFIG_S_FAILED);
	return -1;
}

/* Ring layout in one dma block: descriptors, then avail, then used on the next page. */
static u64 ring_used_offset(void)
{
	return ALIGN_UP(sizeof(struct vring_desc) * VIRTQ_MAX_SIZE + sizeof(struct vring_avail) +
			sizeof(u16) * (VIRTQ_MAX_SIZE + 1), PAGE_SIZE);
}

static u64 ring_bytes(void)
{
	return ring_used_offset() + ALIGN_UP(sizeof(struct vring_used) +
					     sizeof(struct vring_used_elem) * VIRTQ_MAX_SIZE +
					     sizeof(u16), PAGE_SIZE);
}

static void write64(struct vdev *d, u32 lo_reg, u32 hi_reg, u64 v)
{
	vdev_write(d, lo_reg, (u32)v);
	vdev_write(d, hi_reg, (u32)(v >> 32));
}

/* 1.2, 4.2.3.2: virtqueue configuration through QueueSel. */
static int queue_setup(struct vdev *d, u32 index, u32 qmax)
{
	struct virtq *q = &d->vq[index];
	u32 max, size, i;

	vdev_write(d, VIRTIO_MMIO_QUEUE_SEL, index);
	if (vdev_read(d, VIRTIO_MMIO_QUEUE_READY))
		return fail_init(d, "queue ready before set-up (after a reset)");
	max = vdev_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (!max)
		return fail_init(d, "queue not available (QueueNumMax 0)");
	/* Split rings have power-of-2 sizes; take the largest that fits both limits. */
	for (size = 1; size * 2 <= MIN(max, qmax); size *= 2)
		;
	if (!q->mem)
		q->mem = dma_alloc(ring_bytes());
	q->index = (u16)index;
	q->size = (u16)size;
	q->desc = (struct vring_desc *)q->mem;
	q->avail = (struct vring_avail *)(q->mem + sizeof(struct vring_desc) * size);
	q->used = (struct vring_used *)(q->mem + ring_used_offset());
	/*
	 * Clear what the device may read before we write it (flags, indexes, avail entries,
	 * used_event, avail_event); not the 12 KiB block, which costs ~10 ms at CPL0 on PVM.
	 * Descriptors and used entries are always written before they are published.
	 */
	memset(q->avail, 0, sizeof(*q->avail) + sizeof(u16) * (size + 1));
	memset(q->used, 0, sizeof(*q->used));
	*(u16 *)&q->used->ring[size] = 0;
	q->free_head = 0;
	q->num_free = (u16)size;
	q->inflight = 0;
	q->avail_idx = q->kicked_idx = q->last_used = 0;
	q->event_idx = vdev_has(d, VIRTIO_RING_F_EVENT_IDX);
	for (i = 0; i < size; i++) {
		q->desc[i].next = (u16)(i + 1);
		q->chain_len[i] = 0;
		q->head_flags[i] = 0;
	}
	virtq_irq(q, 0);

	vdev_write(d, VIRTIO_MMIO_QUEUE_NUM, size);
	write64(d, VIRTIO_MMIO_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_DESC_HIGH, (u64)q->desc);
	write64(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (u64)q->avail);
	write64(d, VIRTIO_MMIO_QUEUE_USED_LOW, VIRTIO_MMIO_QUEUE_USED_HIGH, (u64)q->used);
	vdev_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	if (vdev_read(d, VIRTIO_MMIO_QUEUE_READY) != 1)
		return fail_init(d, "QueueReady does not read back 1");
	return 0;
}

int vdev_init(struct vdev *d, u64 wanted, u32 nvq, u32 qmax)
{
	u32 i;

	d->error = NULL;
	if (nvq > VDEV_MAX_QUEUES || qmax > VIRTQ_MAX_SIZE)
		panic("vdev_init: %u queues of %u", nvq, qmax);
	if (vdev_reset(d)) {
		d->error = "status does not read 0 after a reset";
		return -1;
	}
	add_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	add_status(d, VIRTIO_CONFIG_S_DRIVER);

	vdev_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	d->offered = vdev_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
	vdev_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	d->offered |= (u64)vdev_read(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	if (!(d->offered & (1ULL << VIRTIO_F_VERSION_1)))
		return fail_init(d, "VERSION_1 not offered");
	d->features = d->offered & (wanted | 1ULL << VIRTIO_F_VERSION_1);
	vdev_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vdev_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (u32)d->features);
	vdev_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vdev_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (u32)(d->features >> 32));
	add_status(d, VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(vdev_status(d) & VIRTIO_CONFIG_S_FEATURES_OK))
		return fail_init(d, "device refused the features (FEATURES_OK cleared)");

	d->nvq = nvq;
	for (i = 0; i < nvq; i++) {
		if (queue_setup(d, i, qmax))
			return -1;
	}
	add_status(d, VIRTIO_CONFIG_S_DRIVER_OK);
	if (vdev_status(d) & (VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED))
		return fail_init(d, "device needs a reset right after DRIVER_OK");
	return 0;
}

/* ---- virtqueues ---------------------------------------------------------------------- */

static void fill_desc(struct vring_desc *t, const struct vbuf *b, u16 flags)
{
	t->addr = b->addr;
	t->len = b->len;
	t->flags = flags | (b->write ? VRING_DESC_F_WRITE : 0);
}

/* Take descriptors off the free list and fill them; the head, or -1 when too few are free. */
static int chain_build(struct virtq *q, const struct vbuf *bufs, u32 n, u64 indirect)
{
	u32 need = indirect ? 1 : n, k;
	u16 head = q->free_head, i = head, last = head;

	if (!n || q->num_free < need)
		return -1;
	if (indirect) {
		struct vring_desc *t = (struct vring_desc *)indirect;

		for (k = 0; k < n; k++) {
			fill_desc(&t[k], &bufs[k], k + 1 < n ? VRING_DESC_F_NEXT : 0);
			t[k].next = (u16)(k + 1);
		}
		q->desc[i].addr = indirect;
		q->desc[i].len = n * sizeof(struct vring_desc);
		q->desc[i].flags = VRING_DESC_F_INDIRECT;
		i = q->desc[i].next;
	} else {
		/* Free descriptors are linked through .next, which becomes the chain's order. */
		for (k = 0; k < n; k++) {
			last = i;
			fill_desc(&q->desc[i], &bufs[k], VRING_DESC_F_NEXT);
			i = q->desc[i].next;
		}
		q->desc[last].flags &= ~VRING_DESC_F_NEXT;
	}
	q->free_head = i;
	q->num_free -= need;
	q->chain_len[head] = (u16)need;
	q->head_flags[head] = 0;
	return head;
}

void virtq_push(struct virtq *q, u16 head, u32 token)
{
	if (q->head_flags[head] & VIRTQ_HEAD_BUSY)
		panic("virtq_push: descriptor %u is already in flight", head);
	q->token[head] = token;
	q->head_flags[head] |= VIRTQ_HEAD_BUSY;
	q->inflight++;
	q->avail->ring[q->avail_idx & (q->size - 1)] = head;
	q->avail_idx++;
}

int virtq_add(struct virtq *q, const struct vbuf *bufs, u32 n, u32 token, u64 indirect)
{
	int head = chain_build(q, bufs, n, indirect);

	if (head >= 0)
		virtq_push(q, (u16)head, token);
	return head;
}

int virtq_build(struct virtq *q, const struct vbuf *bufs, u32 n, u64 indirect)
{
	int head = chain_build(q, bufs, n, indirect);

	if (head >= 0)
		q->head_flags[head] = VIRTQ_HEAD_KEEP;
	return head;
}

void virtq_kick(struct vdev *d, struct virtq *q)
{
	u16 old = q->kicked_idx, now = q->avail_idx;
	int notify;

	/* Pairs with the device's read of avail->idx before it reads the ring entries. */
	__atomic_store_n(&q->avail->idx, now, __ATOMIC_RELEASE);
	/*
	 * The idx store must be visible before we read the device's suppression state, or the
	 * device could decide to sleep on the old idx while we decide not to notify: a full
	 * barrier (1.2, 2.7.13 and the device's matching one after it writes avail_event).
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->event_idx) {
		u16 event = __atomic_load_n((u16 *)&q->used->ring[q->size], __ATOMIC_RELAXED);

		notify = vring_need_event(event, now, old);
	} else {
		notify = !(__atomic_load_n(&q->used->flags, __ATOMIC_RELAXED) &
			   VRING_USED_F_NO_NOTIFY);
	}
	q->kicked_idx = now;
	if (notify)
		vdev_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, q->index);
}

void virtq_irq(struct virtq *q, int on)
{
	q->irq_on = (u8)on;
	q->avail->flags = on ? 0 : VRING_AVAIL_F_NO_INTERRUPT;
	/* With EVENT_IDX the flag is ignored: used_event = last_used asks for the next one. */
	if (on && q->event_idx)
		__atomic_store_n(&q->avail->ring[q->size], q->last_used, __ATOMIC_RELEASE);
}

int virtq_get(struct virtq *q, u32 *token, u32 *len, const char **why)
{
	/* Pairs with the device's store of the entry before its release of used->idx. */
	u16 idx = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	struct vring_used_elem e;
	u16 head, i, k;

	if (idx == q->last_used)
		return 0;
	if ((u16)(idx - q->last_used) > q->inflight) {
		*why = "used->idx moved past what the driver made available";
		return -1;
	}
	e = q->used->ring[q->last_used & (q->size - 1)];
	if (e.id >= q->size || !(q->head_flags[e.id] & VIRTQ_HEAD_BUSY)) {
		*why = "used entry names a descriptor that is not a pending head";
		return -1;
	}
	head = (u16)e.id;
	*token = q->token[head];
	*len = e.len;
	q->head_flags[head] &= ~VIRTQ_HEAD_BUSY;
	q->inflight--;

	if (!(q->head_flags[head] & VIRTQ_HEAD_KEEP)) {
		/* Give the chain back to the free list. */
		for (i = head, k = 1; k < q->chain_len[head]; k++)
			i = q->desc[i].next;
		q->desc[i].next = q->free_head;
		q->free_head = head;
		q->num_free += q->chain_len[head];
		q->chain_len[head] = 0;
	}
	q->last_used++;
	if (q->irq_on && q->event_idx)
		__atomic_store_n(&q->avail->ring[q->size], q->last_used, __ATOMIC_RELEASE);
	return 1;
}

int virtq_wait(struct vdev *d, struct virtq *q, u32 *token, u32 *len, u64 timeout_ms,
	       const char **why)
{
	u64 now, end, next;
	int r = virtq_get(q, token, len, why);

	/* Usually the entry is there already: no clock reads then (CPL0 is slow on PVM). */
	if (r)
		return r;
	now = rdtsc();
	end = now + tsc_ms(timeout_ms);
	next = now;
	for (;;) {
		r = virtq_get(q, token, len, why);
		if (r)
			return r;
		now = rdtsc();
		/* The status is an MMIO exit: look at it now and then only. */
		if (now >= next) {
			if (vdev_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET) {
				*why = "device set DEVICE_NEEDS_RESET";
				return -1;
			}
			next = now + STATUS_POLL_US * g.tsc_khz / 1000;
		}
		if (now > end) {
			*why = "timed out";
			return 0;
		}
		cpu_relax();
	}
}

void virtq_describe(const struct vdev *d, const struct virtq *q, char *buf, size_t size)
{
	snprintf(buf, size, "avail %u used %u last-used %u in-flight %u status 0x%x isr 0x%x",
		 q->avail_idx, __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE), q->last_used,
		 q->inflight, vdev_status(d), vdev_read(d, VIRTIO_MMIO_INTERRUPT_STATUS));
}

/* ---- interrupts ---------------------------------------------------------------------- */

static u32 ioapic_read(u32 reg)
{
	mmio_write32(X86_IOAPIC_ADDR + IOAPIC_REGSEL, reg);
	return mmio_read32(X86_IOAPIC_ADDR + IOAPIC_WIN);
}

static void ioapic_write(u32 reg, u32 v)
{
	mmio_write32(X86_IOAPIC_ADDR + IOAPIC_REGSEL, reg);
	mmio_write32(X86_IOAPIC_ADDR + IOAPIC_WIN, v);
}

/* Called from trap_handle() for VIRTIO_VECTOR, interrupts off. */
void virtio_irq(void)
{
	struct virtio *v = g.virtio;
	u32 isr;

	if (!v || !v->irq_dev) {
		if (v)
			v->irq_stray++;
		return;
	}
	isr = vdev_read(v->irq_dev, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (!isr) {
		v->irq_stray++;
		return;
	}
	vdev_write(v->irq_dev, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	v->irq_status |= isr;
	v->irq_count++;
}

int vdev_irq_enable(struct vdev *d)
{
	struct virtio *v = virtio_get();
	u32 isr;

	if (!v->ioapic_pins) {
		/*
		 * The VMM wires LINT0 to the 8259 (ExtINT) for Linux; its vectors would alias
		 * exceptions here, and KVM routes GSIs 0-15 to the 8259 as well as the IOAPIC.
		 * Mask both: only the IOAPIC pin below may interrupt.
		 */
		outb(PIC1_DATA, 0xff);
		outb(PIC2_DATA, 0xff);
		mmio_write32(X86_LAPIC_ADDR + LAPIC_LVT0, LAPIC_LVT_MASK);
		v->ioapic_pins = ((ioapic_read(IOAPIC_REG_VER) >> 16) & 0xff) + 1;
	}
	if (d->irq >= v->ioapic_pins)
		return -1;
	/* An interrupt already pending would keep a level line high: no edge would follow. */
	isr = vdev_read(d, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (isr)
		vdev_write(d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	v->irq_dev = d;
	v->irq_count = v->irq_status = 0;
	ioapic_write(IOAPIC_REDTBL(d->irq) + 1, (u32)this_cpu()->apic_id << 24);
	ioapic_write(IOAPIC_REDTBL(d->irq), VIRTIO_VECTOR);
	return 0;
}

void vdev_irq_disable(struct vdev *d)
{
	struct virtio *v = virtio_get();

	if (d->irq < v->ioapic_pins)
		ioapic_write(IOAPIC_REDTBL(d->irq), IOAPIC_MASKED | VIRTIO_VECTOR);
	v->irq_dev = NULL;
}

int vdev_irq_wait(u32 seen, u64 timeout_ms)
{
	struct virtio *v = virtio_get();
	u64 end = rdtsc() + tsc_ms(timeout_ms);

	/* The handler runs on this stack at CPL0 (no privilege change, no IST). */
	asm volatile("sti" : : : "memory");
	while (v->irq_count == seen && rdtsc() < end)
		cpu_relax();
	asm volatile("cli" : : : "memory");
	return v->irq_count != seen;
}
