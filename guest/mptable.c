// SPDX-License-Identifier: MIT
/*
 * Intel MultiProcessor Specification 1.4 tables: the floating pointer ("_MP_") and the
 * configuration table ("PCMP") the VMM writes into the EBDA.  They tell the guest which CPUs
 * exist (by APIC id) and where the IOAPIC is.
 */
#include "guest.h"

struct mp_floating {
	char signature[4];		/* "_MP_" */
	u32 config_addr;		/* physical address of the PCMP table, 0 if none */
	u8 length;			/* in 16-byte units: 1 */
	u8 spec_rev;
	u8 checksum;			/* all bytes sum to 0 */
	u8 feature[5];			/* feature[0] != 0: default config, no table */
} __attribute__((packed));

struct mp_config {
	char signature[4];		/* "PCMP" */
	u16 length;			/* base table, header included */
	u8 spec_rev;
	u8 checksum;
	char oem[8];
	char product[12];
	u32 oem_table;
	u16 oem_table_size;
	u16 entry_count;
	u32 lapic_addr;
	u16 ext_length;
	u8 ext_checksum;
	u8 reserved;
} __attribute__((packed));

enum mp_entry_type {
	MP_PROCESSOR = 0,		/* 20 bytes */
	MP_BUS = 1,			/* 8 bytes, like all the others */
	MP_IOAPIC = 2,
	MP_IOINTR = 3,
	MP_LINTR = 4,
};

struct mp_processor {
	u8 type;
	u8 apic_id;
	u8 apic_version;
	u8 flags;			/* MP_CPU_ENABLED, MP_CPU_BSP */
	u32 signature;
	u32 features;
	u8 reserved[8];
} __attribute__((packed));

struct mp_ioapic {
	u8 type;
	u8 id;
	u8 version;
	u8 flags;			/* bit 0: usable */
	u32 addr;
} __attribute__((packed));

_Static_assert(sizeof(struct mp_floating) == 16, "MP floating pointer size");
_Static_assert(sizeof(struct mp_config) == 44, "MP config header size");
_Static_assert(sizeof(struct mp_processor) == 20, "MP processor entry size");
_Static_assert(sizeof(struct mp_ioapic) == 8, "MP IOAPIC entry size");

static u8 checksum(const void *p, u64 len)
{
	const u8 *b = p;
	u8 sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

static const struct mp_floating *find_floating(u64 start, u64 end)
{
	u64 a;

	for (a = ALIGN_UP(start, 16); a + sizeof(struct mp_floating) <= end; a += 16) {
		const struct mp_floating *f = (const void *)a;

		if (!memcmp(f->signature, "_MP_", 4) && f->length == 1 &&
		    !checksum(f, sizeof(*f)))
			return f;
	}
	return NULL;
}

static int parse_config(struct mpinfo *mp, const struct mp_config *c)
{
	const u8 *p = (const u8 *)(c + 1), *end = (const u8 *)c + c->length;
	u32 i;

	if (memcmp(c->signature, "PCMP", 4))
		return snprintf(mp->error, sizeof(mp->error), "no PCMP signature at 0x%lx", (u64)c);
	if (c->length < sizeof(*c) || checksum(c, c->length))
		return snprintf(mp->error, sizeof(mp->error), "bad PCMP length or checksum");
	if (c->ext_length && (u8)(checksum(end, c->ext_length) + c->ext_checksum))
		return snprintf(mp->error, sizeof(mp->error), "bad extended table checksum");
	mp->lapic_addr = c->lapic_addr;

	for (i = 0; i < c->entry_count; i++) {
		u64 size = *p == MP_PROCESSOR ? sizeof(struct mp_processor) : 8;

		if (p + size > end)
			return snprintf(mp->error, sizeof(mp->error), "entry %u past the table", i);
		if (*p > MP_LINTR)
			return snprintf(mp->error, sizeof(mp->error), "entry %u: unknown type %u",
					i, *p);
		if (*p == MP_PROCESSOR) {
			const struct mp_processor *e = (const void *)p;

			if (!(e->flags & MP_CPU_ENABLED))
				goto next;
			if (mp->ncpus == MAX_CPUS)
				return snprintf(mp->error, sizeof(mp->error),
						"more than %u processors", MAX_CPUS);
			mp->cpus[mp->ncpus].apic_id = e->apic_id;
			mp->cpus[mp->ncpus].flags = e->flags;
			mp->ncpus++;
		} else if (*p == MP_IOAPIC) {
			const struct mp_ioapic *e = (const void *)p;

			if ((e->flags & 1) && mp->nioapics < ARRAY_SIZE(mp->ioapic_addr))
				mp->ioapic_addr[mp->nioapics++] = e->addr;
		}
next:
		p += size;
	}
	return 0;
}

/*
 * Find and parse the tables; the result (or why there is none) lands in g.mp.  The search
 * follows the MP spec: the first KiB of the EBDA (if the BDA names one), the last KiB of
 * base memory, then the BIOS ROM area.  Each probe is emulated at CPL0 on PVM, so the
 * likely places come first.
 */
void mptable_parse(void)
{
	struct mpinfo *mp = &g.mp;
	const struct mp_floating *f = NULL;
	const struct mp_config *c;
	u64 ebda = (u64)*(const u16 *)0x40e << 4;	/* BDA: EBDA segment, 0 if unset */

	if (ebda && ebda < X86_LOWMEM_END)
		f = find_floating(ebda, MIN(ebda + 1024, X86_LOWMEM_END));
	if (!f)
		f = find_floating(X86_LOWMEM_END - 1024, X86_LOWMEM_END);
	if (!f)
		f = find_floating(X86_EBDA_ADDR, X86_LOWMEM_END);
	/* The BIOS area is not RAM under mvmm, so this is slow; it comes last. */
	if (!f)
		f = find_floating(0xf0000, 0x100000);
	if (!f) {
		snprintf(mp->error, sizeof(mp->error), "no _MP_ floating pointer");
		return;
	}
	reserve_range((u64)f, (u64)f + sizeof(*f));
	if (f->feature[0] || !f->config_addr) {
		snprintf(mp->error, sizeof(mp->error), "default configuration %u, no table",
			 f->feature[0]);
		return;
	}
	c = (const void *)(u64)f->config_addr;
	if (parse_config(mp, c))
		return;
	reserve_range((u64)c, (u64)c + c->length + c->ext_length);
	mp->found = 1;
}

/* test=boot, part 2: the MP table agrees with itself and with this CPU. */
void test_boot_mptable(void)
{
	const struct mpinfo *mp = &g.mp;
	u32 i, nbsp = 0, bsp_id = 0, me = lapic_id();

	if (!mp->found) {
		check_fail("mptable", "%s", mp->error);
		return;
	}
	printf("cpus: %u\n", mp->ncpus);
	for (i = 0; i < mp->nioapics; i++)
		printf("mptable: ioapic 0x%x\n", mp->ioapic_addr[i]);
	for (i = 0; i < mp->ncpus; i++) {
		if (mp->cpus[i].flags & MP_CPU_BSP) {
			nbsp++;
			bsp_id = mp->cpus[i].apic_id;
		}
	}
	if (!mp->ncpus)
		check_fail("mptable", "no enabled processors");
	else if (nbsp != 1)
		check_fail("mptable", "%u processors flagged as BSP", nbsp);
	else if (bsp_id != me)
		check_fail("mptable", "BSP has APIC id %u, this CPU has %u", bsp_id, me);
	else if (!mp->nioapics)
		check_fail("mptable", "no IOAPIC");
	else if (mp->lapic_addr != X86_LAPIC_ADDR)
		check_fail("mptable", "LAPIC at 0x%x", mp->lapic_addr);
	else
		check_ok("mptable");
}
