// SPDX-License-Identifier: MIT
/*
 * The guest's own page tables: an identity map of RAM and of the MMIO windows it uses, 2 MiB
 * pages by default, split into 4 KiB pages where user-accessible and kernel-only memory share
 * a 2 MiB page.  Only RAM the memory test owns, user.c's sections and user stacks are
 * user-accessible.
 *
 * Building tables is CPL0 work, which PVM emulates instruction by instruction, so the map
 * covers only what the guest touches instead of all 4 GiB.
 */
#include "guest.h"

#define PTE_P		0x001ULL
#define PTE_W		0x002ULL
#define PTE_U		0x004ULL
#define PTE_PWT		0x008ULL
#define PTE_PCD		0x010ULL
#define PTE_PS		0x080ULL
#define PTE_ADDR	0x000ffffffffff000ULL
#define PTE_TABLE	(PTE_P | PTE_W | PTE_U)	/* upper levels allow; the leaf decides */

static void zero_page(u64 pa)
{
	u64 n = PAGE_SIZE / 8;

	asm volatile("rep stosq" : "+D"(pa), "+c"(n) : "a"(0ULL) : "memory");
}

/* Bump allocation from the pool after the image; pages are not zeroed. */
u64 page_alloc(u64 npages)
{
	u64 pa = g.pool_next;

	if (npages > (g.boot.pool_end - pa) / PAGE_SIZE)
		panic("guest page pool exhausted (%lu pages wanted)", npages);
	g.pool_next = pa + npages * PAGE_SIZE;
	return pa;
}

static u64 *table_alloc(void)
{
	u64 pa = page_alloc(1);

	zero_page(pa);
	return (u64 *)pa;
}

/* The PD entry for addr; creates the PD when `create`, else NULL where none exists. */
static u64 *pde_of(u64 addr, int create)
{
	u64 *pdpt = (u64 *)(*(u64 *)g.pml4 & PTE_ADDR);
	u64 *e = &pdpt[(addr >> 30) & 511];

	if (!(*e & PTE_P)) {
		if (!create)
			return NULL;
		*e = (u64)table_alloc() | PTE_TABLE;
	}
	return &((u64 *)(*e & PTE_ADDR))[(addr >> 21) & 511];
}

/* Identity-map [start, end) with 2 MiB pages, kernel-only. */
static void map_large(u64 start, u64 end, u64 flags)
{
	u64 a;

	for (a = ALIGN_DOWN(start, LARGE_PAGE_SIZE); a < end; a += LARGE_PAGE_SIZE) {
		u64 *pde = pde_of(a, 1);

		if (!(*pde & PTE_P))
			*pde = a | PTE_P | PTE_W | PTE_PS | flags;
	}
}

/* Replace a 2 MiB mapping by a page table with the same 4 KiB mappings. */
static void split(u64 *pde)
{
	u64 *pt = (u64 *)page_alloc(1), *e;
	u64 v = (*pde & PTE_ADDR) | (*pde & (PTE_P | PTE_W | PTE_U | PTE_PWT | PTE_PCD));

	for (e = pt; e < pt + 512; e++, v += PAGE_SIZE)
		*e = v;
	*pde = (u64)pt | PTE_TABLE;
}

/* Make [start, end) user-accessible; it must be mapped already. */
void map_user(u64 start, u64 end)
{
	u64 a = ALIGN_DOWN(start, PAGE_SIZE);

	end = ALIGN_UP(end, PAGE_SIZE);
	while (a < end) {
		u64 *pde = pde_of(a, 0), *e, *last, stop;

		if (!pde || !(*pde & PTE_P))
			panic("map_user: 0x%lx is not mapped", a);
		if (*pde & PTE_PS) {
			if (!(a & (LARGE_PAGE_SIZE - 1)) && end - a >= LARGE_PAGE_SIZE) {
				*pde |= PTE_U;
				a += LARGE_PAGE_SIZE;
				continue;
			}
			split(pde);
		}
		stop = MIN(end, ALIGN_DOWN(a, LARGE_PAGE_SIZE) + LARGE_PAGE_SIZE);
		e = (u64 *)(*pde & PTE_ADDR) + ((a >> 12) & 511);
		last = e + (stop - a) / PAGE_SIZE;
		a = stop;
		for (; e < last; e++)
			*e |= PTE_U;
	}
}

/*
 * Build the map and switch to it.  The memory test's ranges (g.test) must be known: they become
 * user-accessible here.  Later user mappings (stacks) go through map_user().
 */
void paging_init(void)
{
	u64 *pml4, low_top = MIN(g.boot.ram_top, X86_MMIO_HOLE_START);
	u32 i;

	if (g.boot.ram_top > (512ULL << 30))
		panic("RAM above 512 GiB is not supported");
	pml4 = table_alloc();
	g.pml4 = (u64)pml4;
	pml4[0] = (u64)table_alloc() | PTE_TABLE;

	map_large(0, low_top, 0);
	if (g.boot.ram_top > X86_RAM_HIGH_START)
		map_large(X86_RAM_HIGH_START, g.boot.ram_top, 0);
	map_large(X86_VIRTIO_MMIO_BASE,
		  X86_VIRTIO_MMIO_BASE + X86_VIRTIO_MMIO_MAX * X86_VIRTIO_MMIO_STRIDE,
		  PTE_PCD | PTE_PWT);
	map_large(X86_IOAPIC_ADDR, X86_IOAPIC_ADDR + PAGE_SIZE, PTE_PCD | PTE_PWT);
	map_large(X86_LAPIC_ADDR, X86_LAPIC_ADDR + PAGE_SIZE, PTE_PCD | PTE_PWT);

	map_user((u64)_user_start, (u64)_user_end);
	for (i = 0; i < g.test_count; i++)
		map_user(g.test[i].start, g.test[i].end);

	write_cr3(g.pml4);
}

/*
 * User-accessible pages from the pool (stacks, tables user code reads).  This flushes only this
 * CPU's TLB; APs flush theirs whenever they pick up work (smp.c), so anything mapped before the
 * work is handed out is seen by all.
 */
u64 user_alloc(u64 pages)
{
	u64 base = page_alloc(pages);

	map_user(base, base + pages * PAGE_SIZE);
	write_cr3(g.pml4);				/* flush the TLB */
	return base;
}

/*
 * User-accessible memory for virtio rings and buffers, taken downwards from the top of
 * g.dma (memtest.c chose it) in whole pages.  It is not zeroed: zeroing at CPL0 costs about
 * a microsecond per 8 bytes on PVM, so callers clear what they need (rings) themselves and
 * leave bulk buffers to CPL3 code.  Never freed; the virtio code allocates once per device.
 */
u64 dma_alloc(u64 bytes)
{
	u64 base;

	bytes = ALIGN_UP(bytes, PAGE_SIZE);
	if (g.dma.end < g.dma.start + bytes)
		panic("no free RAM for %lu KiB of device buffers", bytes >> 10);
	base = g.dma.end - bytes;
	g.dma.end = base;
	map_user(base, base + bytes);
	write_cr3(g.pml4);				/* flush the TLB */
	return base;
}
