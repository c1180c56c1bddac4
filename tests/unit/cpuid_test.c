/* SPDX-License-Identifier: MIT */
/*
 * x86_cpuid_filter: a pure rewrite of KVM_GET_SUPPORTED_CPUID for one vCPU, tested on tables
 * built by hand.  The contract (arch/x86/cpu.h): only the identity/topology fields are written
 * (leaf 1 EBX[31:16], leaf 1 ECX.hypervisor, leaf 0xb/0x1f EDX); with pvm_quirks, CX16 and the
 * listed KVM PV features are cleared; no other bit is ever added or removed.
 *
 * Also x86_setup_page_tables (the boot GDT and identity map), the other half of cpu.h that
 * needs no KVM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <linux/kvm.h>
#include <asm/kvm_para.h>

#include "arch/x86/cpu.h"
#include "arch/x86/layout.h"
#include "mvmm/mvmm.h"
#include "vmm/memory.h"
#include "vmm/util.h"

#define CX16		(1U << 13)
#define HYPERVISOR	(1U << 31)

/* KVM PV features the pvm quirks must hide (GUEST.md: they livelock or are missing there). */
#define PVM_MASKED                                                                                 \
	((1U << KVM_FEATURE_ASYNC_PF) | (1U << KVM_FEATURE_STEAL_TIME) |                          \
	 (1U << KVM_FEATURE_PV_UNHALT) | (1U << KVM_FEATURE_PV_TLB_FLUSH) |                       \
	 (1U << KVM_FEATURE_ASYNC_PF_VMEXIT) | (1U << KVM_FEATURE_PV_SEND_IPI) |                  \
	 (1U << KVM_FEATURE_POLL_CONTROL) | (1U << KVM_FEATURE_PV_SCHED_YIELD) |                  \
	 (1U << KVM_FEATURE_ASYNC_PF_INT))

static struct kvm_cpuid2 *cpuid_new(unsigned int n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	assert_non_null(c);
	c->nent = n;
	return c;
}

static size_t cpuid_size(const struct kvm_cpuid2 *c)
{
	return sizeof(*c) + c->nent * sizeof(c->entries[0]);
}

static void set_entry(struct kvm_cpuid2 *c, unsigned int i, uint32_t fn, uint32_t index,
		      uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	c->entries[i] = (struct kvm_cpuid_entry2){ .function = fn, .index = index, .eax = eax,
						   .ebx = ebx, .ecx = ecx, .edx = edx };
}

static void test_leaf1_topology(void **state)
{
	struct kvm_cpuid2 *c = cpuid_new(1);
	struct x86_cpuid_opts o = { .nr_cpus = 4, .apic_id = 3 };

	(void)state;
	/* Host values: APIC id 0xaa, 0xbb logical CPUs, CLFLUSH 8 qwords, brand 0x40. */
	set_entry(c, 0, 1, 0, 0x000906ea, 0xaabb0840, 0x7ffafbff, 0xbfebfbff);
	x86_cpuid_filter(c, &o);
	assert_int_equal(c->entries[0].ebx, 0x03040840);
	assert_int_equal(c->entries[0].eax, 0x000906ea);
	assert_int_equal(c->entries[0].edx, 0xbfebfbff);
	assert_int_equal(c->entries[0].function, 1);
	assert_int_equal(c->entries[0].index, 0);

	o = (struct x86_cpuid_opts){ .nr_cpus = MVMM_MAX_CPUS, .apic_id = 63 };
	set_entry(c, 0, 1, 0, 0, 0xffffffff, 0, 0);
	x86_cpuid_filter(c, &o);
	assert_int_equal(c->entries[0].ebx, 0x3f40ffff);
	free(c);
}

static void test_leaf1_hypervisor_and_cx16(void **state)
{
	struct kvm_cpuid2 *c = cpuid_new(1);
	struct x86_cpuid_opts o = { .nr_cpus = 1, .apic_id = 0 };

	(void)state;
	/* The hypervisor bit is set even when the table lacks it; other bits are kept. */
	set_entry(c, 0, 1, 0, 0, 0, CX16 | 0x1, 0);
	x86_cpuid_filter(c, &o);
	assert_int_equal(c->entries[0].ecx, HYPERVISOR | CX16 | 0x1);

	/* pvm: CX16 goes, everything else stays. */
	o.pvm_quirks = true;
	set_entry(c, 0, 1, 0, 0, 0, 0x7ffefbff | CX16, 0);
	x86_cpuid_filter(c, &o);
	assert_int_equal(c->entries[0].ecx, (0x7ffefbffU & ~CX16) | HYPERVISOR);

	/* pvm never adds CX16. */
	set_entry(c, 0, 1, 0, 0, 0, 0, 0);
	x86_cpuid_filter(c, &o);
	assert_int_equal(c->entries[0].ecx, HYPERVISOR);
	free(c);
}

static void test_kvm_features(void **state)
{
	const uint32_t keep = (1U << KVM_FEATURE_CLOCKSOURCE) | (1U << KVM_FEATURE_NOP_IO_DELAY) |
			      (1U << KVM_FEATURE_CLOCKSOURCE2) | (1U << KVM_FEATURE_PV_EOI) |
			      (1U << KVM_FEATURE_MSI_EXT_DEST_ID) |
			      (1U << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);
	struct kvm_cpuid2 *c = cpuid_new(2);
	struct x86_cpuid_opts o = { .nr_cpus = 2, .apic_id = 1 };

	(void)state;
	set_entry(c, 0, KVM_CPUID_SIGNATURE, 0, KVM_CPUID_FEATURES, 0x4b4d564b, 0x564b4d56, 0x4d);
	set_entry(c, 1, KVM_CPUID_FEATURES, 0, keep | PVM_MASKED, 0x11, 0x22, 0x33);

	/* Without pvm_quirks the PV features are passed through untouched. */
	x86_cpuid_filter(c, &o);
	assert_int_equal(c->entries[1].eax, keep | PVM_MASKED);

	o.pvm_quirks = true;
	x86_cpuid_filter(c, &o);
	assert_int_equal(c->entries[1].eax, keep);
	assert_int_equal(c->entries[1].eax & (1U << KVM_FEATURE_STEAL_TIME), 0);
	assert_int_equal(c->entries[1].eax & (1U << KVM_FEATURE_ASYNC_PF), 0);
	assert_int_equal(c->entries[1].eax & (1U << KVM_FEATURE_ASYNC_PF_INT), 0);
	assert_int_equal(c->entries[1].eax & (1U << KVM_FEATURE_PV_UNHALT), 0);
	assert_int_equal(c->entries[1].ebx, 0x11);
	assert_int_equal(c->entries[1].ecx, 0x22);
	assert_int_equal(c->entries[1].edx, 0x33);
	/* The signature leaf is not touched. */
	assert_int_equal(c->entries[0].eax, KVM_CPUID_FEATURES);
	assert_int_equal(c->entries[0].ebx, 0x4b4d564b);
	assert_int_equal(c->entries[0].edx, 0x4d);
	free(c);
}

static void test_x2apic_topology_leaves(void **state)
{
	struct kvm_cpuid2 *c = cpuid_new(4);
	struct x86_cpuid_opts o = { .nr_cpus = 8, .apic_id = 5 };

	(void)state;
	set_entry(c, 0, 0xb, 0, 0x1, 0x1, 0x100, 0xdead);
	set_entry(c, 1, 0xb, 1, 0x4, 0x8, 0x201, 0xdead);
	set_entry(c, 2, 0x1f, 0, 0x1, 0x1, 0x100, 0xdead);
	set_entry(c, 3, 0xa, 0, 0x1, 0x1, 0x100, 0xdead);	/* not a topology leaf */
	x86_cpuid_filter(c, &o);
	for (int i = 0; i < 3; i++)
		assert_int_equal(c->entries[i].edx, 5);
	assert_int_equal(c->entries[1].eax, 0x4);
	assert_int_equal(c->entries[1].ebx, 0x8);
	assert_int_equal(c->entries[1].ecx, 0x201);
	assert_int_equal(c->entries[3].edx, 0xdead);
	free(c);
}

/* Leaves KVM reports as empty stay empty except for the documented identity fields. */
static void test_never_invents_bits(void **state)
{
	static const uint32_t leaves[] = { 0, 1, 4, 6, 7, 0xb, 0xd, 0x1f, 0x40000000,
					   KVM_CPUID_FEATURES, 0x80000000, 0x80000001,
					   0x80000008 };
	struct kvm_cpuid2 *c = cpuid_new(ARRAY_SIZE(leaves));

	(void)state;
	for (int pvm = 0; pvm < 2; pvm++) {
		struct x86_cpuid_opts o = { .nr_cpus = 2, .apic_id = 1, .pvm_quirks = pvm };

		for (unsigned int i = 0; i < ARRAY_SIZE(leaves); i++)
			set_entry(c, i, leaves[i], 0, 0, 0, 0, 0);
		x86_cpuid_filter(c, &o);
		for (unsigned int i = 0; i < ARRAY_SIZE(leaves); i++) {
			const struct kvm_cpuid_entry2 *e = &c->entries[i];
			uint32_t ebx = 0, ecx = 0, edx = 0;

			if (e->function == 1) {
				ebx = (1U << 24) | (2U << 16);
				ecx = HYPERVISOR;
			} else if (e->function == 0xb || e->function == 0x1f) {
				edx = 1;
			}
			assert_int_equal(e->eax, 0);
			assert_int_equal(e->ebx, ebx);
			assert_int_equal(e->ecx, ecx);
			assert_int_equal(e->edx, edx);
		}
	}
	free(c);
}

static uint32_t xorshift32(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Random tables: every register is exactly what the contract says, nothing else moves. */
static void test_random_tables(void **state)
{
	static const uint32_t leaves[] = { 0, 1, 2, 4, 7, 0xb, 0xd, 0x14, 0x1f, 0x40000000,
					   KVM_CPUID_FEATURES, 0x80000001, 0x80000007 };
	const unsigned int n = 64;
	struct kvm_cpuid2 *c = cpuid_new(n), *orig = cpuid_new(n);
	uint32_t seed = 0x12345678;

	(void)state;
	for (int round = 0; round < 200; round++) {
		struct x86_cpuid_opts o = { .nr_cpus = 1 + xorshift32(&seed) % MVMM_MAX_CPUS,
					    .pvm_quirks = round & 1 };

		o.apic_id = xorshift32(&seed) % o.nr_cpus;
		for (unsigned int i = 0; i < n; i++) {
			set_entry(c, i, leaves[xorshift32(&seed) % ARRAY_SIZE(leaves)],
				  xorshift32(&seed) % 3, xorshift32(&seed), xorshift32(&seed),
				  xorshift32(&seed), xorshift32(&seed));
			c->entries[i].flags = xorshift32(&seed) & 1;
		}
		memcpy(orig, c, cpuid_size(c));
		x86_cpuid_filter(c, &o);
		for (unsigned int i = 0; i < n; i++) {
			const struct kvm_cpuid_entry2 *b = &orig->entries[i], *a = &c->entries[i];
			struct kvm_cpuid_entry2 want = *b;

			if (b->function == 1) {
				want.ebx = (o.apic_id << 24) | (o.nr_cpus << 16) |
					   (b->ebx & 0xffff);
				want.ecx |= HYPERVISOR;
				if (o.pvm_quirks)
					want.ecx &= ~CX16;
			} else if (b->function == 0xb || b->function == 0x1f) {
				want.edx = o.apic_id;
			} else if (b->function == KVM_CPUID_FEATURES && o.pvm_quirks) {
				want.eax &= ~PVM_MASKED;
			}
			assert_memory_equal(a, &want, sizeof(want));
		}
	}
	free(orig);
	free(c);
}

/* Entries past nent are not the filter's to touch. */
static void test_respects_nent(void **state)
{
	struct kvm_cpuid2 *c = cpuid_new(2);
	struct x86_cpuid_opts o = { .nr_cpus = 2, .apic_id = 1, .pvm_quirks = true };

	(void)state;
	set_entry(c, 0, 1, 0, 0, 0, CX16, 0);
	set_entry(c, 1, 1, 0, 0, 0, CX16, 0);
	c->nent = 1;
	x86_cpuid_filter(c, &o);
	assert_int_equal(c->entries[0].ecx, HYPERVISOR);
	assert_int_equal(c->entries[1].ecx, CX16);
	assert_int_equal(c->entries[1].ebx, 0);
	c->nent = 0;
	x86_cpuid_filter(c, &o);
	assert_int_equal(c->entries[0].ecx, HYPERVISOR);
	free(c);
}

/* ---- page tables and GDT ---- */

#define PTE_P	(1ULL << 0)
#define PTE_RW	(1ULL << 1)
#define PTE_PS	(1ULL << 7)
#define PTE_ADDR 0x000ffffffffff000ULL

static uint64_t rd64(const struct guest_mem *mem, uint64_t gpa)
{
	uint64_t v;

	assert_int_equal(guest_mem_read(mem, gpa, &v, sizeof(v)), 0);
	return v;
}

/* Software walk from CR3 = X86_PML4_ADDR; false when not mapped writable. */
static bool walk(const struct guest_mem *mem, uint64_t va, uint64_t *pa)
{
	uint64_t e = rd64(mem, X86_PML4_ADDR + ((va >> 39) & 511) * 8);

	if ((e & (PTE_P | PTE_RW)) != (PTE_P | PTE_RW))
		return false;
	e = rd64(mem, (e & PTE_ADDR) + ((va >> 30) & 511) * 8);
	if ((e & (PTE_P | PTE_RW)) != (PTE_P | PTE_RW) || (e & PTE_PS))
		return false;
	e = rd64(mem, (e & PTE_ADDR) + ((va >> 21) & 511) * 8);
	if ((e & (PTE_P | PTE_RW | PTE_PS)) != (PTE_P | PTE_RW | PTE_PS))
		return false;
	*pa = (e & PTE_ADDR & ~0x1fffffULL) | (va & 0x1fffff);
	return true;
}

static void test_page_tables(void **state)
{
	static const uint64_t mapped[] = { 0, X86_ZERO_PAGE_ADDR, 0x100200, 0x1234567,
					   0x7fffffff, 0xbfffffff, X86_MMIO_HOLE_START,
					   X86_IOAPIC_ADDR, X86_LAPIC_ADDR, 0xffffffff };
	static const uint64_t unmapped[] = { 0x100000000ULL, 0x8000000000ULL,
					     0xffffffff80000000ULL };
	struct guest_mem ram, *mem = &ram;
	uint64_t gdt[6], pa;

	(void)state;
	assert_int_equal(guest_mem_create(mem, 64 * MiB), 0);
	/* Stale entries must not survive. */
	memset(mem->host + X86_PML4_ADDR, 0xff, X86_PD_ADDR + 4 * 4096 - X86_PML4_ADDR);
	assert_int_equal(x86_setup_page_tables(mem), 0);
	for (size_t i = 0; i < ARRAY_SIZE(mapped); i++) {
		if (!walk(mem, mapped[i], &pa))
			fail_msg("0x%llx not mapped", (unsigned long long)mapped[i]);
		assert_int_equal(pa, mapped[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(unmapped); i++)
		assert_false(walk(mem, unmapped[i], &pa));

	/* Flat 64-bit code (0x10), flat data (0x18), TSS (0x20): the 64-bit boot protocol. */
	assert_int_equal(guest_mem_read(mem, X86_BOOT_GDT_ADDR, gdt, sizeof(gdt)), 0);
	assert_int_equal(gdt[0], 0);
	assert_int_equal(gdt[2], 0x00af9b000000ffffULL);
	assert_int_equal(gdt[3], 0x00cf93000000ffffULL);
	assert_int_equal(gdt[4], 0x00008b0000000067ULL);
	assert_int_equal(gdt[5], 0);
	guest_mem_destroy(mem);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf1_topology),
		cmocka_unit_test(test_leaf1_hypervisor_and_cx16),
		cmocka_unit_test(test_kvm_features),
		cmocka_unit_test(test_x2apic_topology_leaves),
		cmocka_unit_test(test_never_invents_bits),
		cmocka_unit_test(test_random_tables),
		cmocka_unit_test(test_respects_nent),
		cmocka_unit_test(test_page_tables),
	};

	/* Optional glob filters, to run or skip some tests: <exe> [include] [exclude]. */
	if (argc > 1 && argv[1][0])
		cmocka_set_test_filter(argv[1]);
	if (argc > 2 && argv[2][0])
		cmocka_set_skip_filter(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
