// SPDX-License-Identifier: MIT
/*
 * What the VMM hands over in the Linux zero page (boot_params): command line, e820 map, initrd.
 * Everything is copied out first, so later tests may reuse low memory.
 */
#include "guest.h"

/* The parts of Linux's boot_params the guest reads, at the boot protocol's offsets. */
struct zero_page {
	u8 pad0[0x0c0];
	u32 ext_ramdisk_image;		/* 0x0c0: high 32 bits */
	u32 ext_ramdisk_size;		/* 0x0c4 */
	u32 ext_cmd_line_ptr;		/* 0x0c8 */
	u8 pad1[0x1e8 - 0x0cc];
	u8 e820_entries;		/* 0x1e8 */
	u8 pad2[0x218 - 0x1e9];
	u32 ramdisk_image;		/* 0x218: setup header field */
	u32 ramdisk_size;		/* 0x21c */
	u8 pad3[0x228 - 0x220];
	u32 cmd_line_ptr;		/* 0x228 */
	u8 pad4[0x238 - 0x22c];
	u32 cmdline_size;		/* 0x238: longest command line the loader allows */
	u8 pad5[0x2d0 - 0x23c];
	struct e820_entry e820[MAX_E820];	/* 0x2d0 */
} __attribute__((packed));

_Static_assert(offsetof(struct zero_page, ext_cmd_line_ptr) == 0x0c8, "zero page layout");
_Static_assert(offsetof(struct zero_page, e820_entries) == 0x1e8, "zero page layout");
_Static_assert(offsetof(struct zero_page, ramdisk_image) == 0x218, "zero page layout");
_Static_assert(offsetof(struct zero_page, cmd_line_ptr) == 0x228, "zero page layout");
_Static_assert(offsetof(struct zero_page, cmdline_size) == 0x238, "zero page layout");
_Static_assert(offsetof(struct zero_page, e820) == 0x2d0, "zero page layout");
_Static_assert(sizeof(struct zero_page) == 0x2d0 + 20 * MAX_E820, "zero page layout");

/* Keep [start, end) (rounded out to pages) away from the memory test. */
void reserve_range(u64 start, u64 end)
{
	struct bootinfo *b = &g.boot;

	if (end <= start)
		return;
	if (b->reserved_count == ARRAY_SIZE(b->reserved))
		panic("too many reserved ranges");
	b->reserved[b->reserved_count].start = ALIGN_DOWN(start, PAGE_SIZE);
	b->reserved[b->reserved_count].end = ALIGN_UP(end, PAGE_SIZE);
	b->reserved_count++;
}

/* The usable e820 entry holding all of [start, end), or NULL. */
const struct e820_entry *e820_find_ram(u64 start, u64 end)
{
	u32 i;

	for (i = 0; i < g.boot.e820_count; i++) {
		const struct e820_entry *e = &g.boot.e820[i];

		if (e->type == E820_RAM && e->addr <= start && end <= e->addr + e->size)
			return e;
	}
	return NULL;
}

void bootinfo_init(const u8 *zero_page)
{
	const struct zero_page *zp = (const void *)zero_page;
	struct bootinfo *b = &g.boot;
	u64 cmd, len, max, initrd, initrd_size;
	u32 i;

	cmd = zp->cmd_line_ptr | (u64)zp->ext_cmd_line_ptr << 32;
	max = zp->cmdline_size ? zp->cmdline_size : 255;
	max = MIN(max, sizeof(b->cmdline) - 1);
	len = 0;
	if (cmd) {
		for (; len < max && ((const char *)cmd)[len]; len++)
			b->cmdline[len] = ((const char *)cmd)[len];
	}
	b->cmdline[len] = '\0';

	b->e820_raw_count = zp->e820_entries;
	b->e820_count = MIN(zp->e820_entries, MAX_E820);
	for (i = 0; i < b->e820_count; i++)
		b->e820[i] = zp->e820[i];
	for (i = 0; i < b->e820_count; i++) {
		const struct e820_entry *e = &b->e820[i];

		if (e->type == E820_RAM && e->addr + e->size > b->ram_top)
			b->ram_top = e->addr + e->size;
	}

	initrd = zp->ramdisk_image | (u64)zp->ext_ramdisk_image << 32;
	initrd_size = zp->ramdisk_size | (u64)zp->ext_ramdisk_size << 32;

	/*
	 * Ending the pool on a 2 MiB boundary leaves the 2 MiB page after the image wholly
	 * kernel-only, so paging.c need not split it into 4 KiB pages (CPL0 work is slow).
	 */
	b->pool_start = ALIGN_UP((u64)_image_end, PAGE_SIZE);
	b->pool_end = ALIGN_UP(b->pool_start + GUEST_POOL_SIZE, LARGE_PAGE_SIZE);
	if (!e820_find_ram((u64)_image_start, b->pool_end))
		panic("no usable RAM for the image and its pool at 0x%lx..0x%lx",
		      (u64)_image_start, b->pool_end);
	g.pool_next = b->pool_start;

	/* What the VMM or this guest placed in RAM; the memory test leaves it alone. */
	reserve_range(0, PAGE_SIZE);			/* real-mode IVT, BDA, boot GDT */
	reserve_range((u64)zero_page, (u64)zero_page + PAGE_SIZE);
	reserve_range(TRAMP_ADDR, TRAMP_ADDR + PAGE_SIZE);
	reserve_range(X86_PML4_ADDR, X86_PD_ADDR + 4 * PAGE_SIZE);
	if (cmd)
		reserve_range(cmd, cmd + len + 1);
	if (initrd_size)
		reserve_range(initrd, initrd + initrd_size);
	reserve_range((u64)_image_start, b->pool_end);
}

/* The numeric options, `key=N` with N decimal or 0x-prefixed hex. */
static const struct {
	const char *key;
	size_t offset;				/* of the u64 in struct options */
} numeric_options[] = {
	{ "expect_cpus", offsetof(struct options, expect_cpus) },
	{ "memtest_mib", offsetof(struct options, memtest_mib) },
	{ "memtest_cpus", offsetof(struct options, memtest_cpus) },
	{ "count_ms", offsetof(struct options, count_ms) },
	{ "smp_timeout_ms", offsetof(struct options, smp_timeout_ms) },
	{ "exit", offsetof(struct options, exit_code) },
	{ "virtio_features", offsetof(struct options, virtio_features) },
	{ "blk_seed", offsetof(struct options, blk_seed) },
	{ "blk_sectors", offsetof(struct options, blk_sectors) },
	{ "blk_depth", offsetof(struct options, blk_depth) },
	{ "blk_req", offsetof(struct options, blk_req) },
	{ "rng_bytes", offsetof(struct options, rng_bytes) },
};

static const struct {
	const char *name;
	u32 mode;
} blk_modes[] = {
	{ "write", BLK_MODE_WRITE },
	{ "read", BLK_MODE_READ },
	{ "rw", BLK_MODE_RW },
};

/* If the word is `key=value`, the value's length (value at word + strlen(key) + 1), else -1. */
static long value_of(const char *word, size_t len, const char *key)
{
	size_t k = strlen(key);

	if (len <= k || strncmp(word, key, k) || word[k] != '=')
		return -1;
	return (long)(len - k - 1);
}

static void option_word(const char *word, size_t len)
{
	struct options *o = &g.opt;
	long vlen;
	u32 i;

	vlen = value_of(word, len, "test");
	if (vlen >= 0) {
		o->tests = word + len - vlen;
		o->tests_len = (size_t)vlen;
		return;
	}
	vlen = value_of(word, len, "blk_mode");
	if (vlen >= 0) {
		for (i = 0; i < ARRAY_SIZE(blk_modes); i++) {
			if (strlen(blk_modes[i].name) == (size_t)vlen &&
			    !strncmp(word + len - vlen, blk_modes[i].name, (size_t)vlen)) {
				o->blk_mode = blk_modes[i].mode;
				return;
			}
		}
		check_fail("cmdline", "blk_mode must be write, read or rw");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(numeric_options); i++) {
		vlen = value_of(word, len, numeric_options[i].key);
		if (vlen < 0)
			continue;
		if (parse_u64(word + len - vlen, (size_t)vlen,
			      (u64 *)((u8 *)o + numeric_options[i].offset)))
			check_fail("cmdline", "bad number for %s", numeric_options[i].key);
		return;
	}
}

/*
 * Words are separated by spaces; the last `key=value` for a key wins and words the guest does
 * not know are ignored, as Linux does.
 */
void options_parse(void)
{
	const char *p = g.boot.cmdline;

	g.opt.tests = "boot,memory";
	g.opt.tests_len = strlen(g.opt.tests);
	g.opt.count_ms = 2000;
	g.opt.smp_timeout_ms = 1000;
	g.opt.exit_code = NO_EXIT_CODE;
	g.opt.virtio_features = ~0ULL;
	g.opt.blk_depth = 64;
	g.opt.blk_req = 128;
	g.opt.blk_mode = BLK_MODE_RW;
	g.opt.rng_bytes = 4096;

	while (*p) {
		const char *word;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		word = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		if (p > word)
			option_word(word, p - word);
	}
}

/* What the guest needs from the map, beyond its being well formed. */
static const char *e820_check_coverage(void)
{
	if (!g.boot.e820_count)
		return "no entries";
	if (g.boot.e820_raw_count > MAX_E820)
		return "more entries than the zero page holds";
	if (!e820_find_ram(0, PAGE_SIZE))
		return "no usable RAM at 0";
	if (!e820_find_ram(X86_HIMEM_START, X86_HIMEM_START + PAGE_SIZE))
		return "no usable RAM at 1 MiB";
	if (!e820_find_ram((u64)_image_start, (u64)_image_end))
		return "guest image not inside usable RAM";
	return NULL;
}

/* test=boot, part 1: print and check the e820 map. */
void test_boot_e820(void)
{
	const struct bootinfo *b = &g.boot;
	u64 usable = 0, prev_end = 0;
	const char *err = NULL;
	u32 i;

	for (i = 0; i < b->e820_count; i++) {
		const struct e820_entry *e = &b->e820[i];

		printf("e820: %u 0x%016lx 0x%016lx %u\n", i, e->addr, e->size, e->type);
		if (e->type == E820_RAM)
			usable += e->size;
		if (err)
			continue;
		if (!e->size)
			err = "entry with size 0";
		else if (e->addr + e->size < e->addr)
			err = "entry wraps around";
		else if (i && e->addr < prev_end)
			err = "entries unsorted or overlapping";
		prev_end = e->addr + e->size;
	}
	printf("e820: total-usable-mib %lu\n", usable >> 20);

	if (!err)
		err = e820_check_coverage();
	if (err)
		check_fail("e820", "%s", err);
	else
		check_ok("e820");
}
