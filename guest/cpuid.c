// SPDX-License-Identifier: MIT
/*
 * CPUID checks and TSC calibration.  The guest has no timer interrupts: every timeout and
 * period is TSC ticks, so it needs the TSC frequency, which it takes from whatever the CPU or
 * hypervisor reports.
 */
#include "guest.h"

#define CPUID1_ECX_HYPERVISOR	(1U << 31)
#define CPUID1_EDX_APIC		(1U << 9)
#define HV_LEAF_BASE		0x40000000U
#define HV_LEAF_TIMING		0x40000010U	/* eax: TSC kHz, VMware-style */
#define KVM_FEATURE_CLOCKSOURCE2 (1U << 3)
#define MSR_KVM_SYSTEM_TIME_NEW	0x4b564d01U

/* Default when nothing reports a frequency; timeouts then only hold to a factor of a few. */
#define TSC_KHZ_ASSUMED		2000000ULL

/* KVM's per-vCPU time info, written by the host at the address given to the MSR. */
struct pvclock_time_info {
	u32 version;
	u32 pad0;
	u64 tsc_timestamp;
	u64 system_time;
	u32 tsc_to_system_mul;
	s8 tsc_shift;
	u8 flags;
	u8 pad[2];
} __attribute__((packed));

static void hv_signature(char sig[13], u32 *max)
{
	u32 a, b, c, d;

	cpuid(HV_LEAF_BASE, 0, &a, &b, &c, &d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = '\0';
	*max = a;
}

static int has_hypervisor(void)
{
	u32 a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	return !!(c & CPUID1_ECX_HYPERVISOR);
}

/* test=boot, part 3: vendor, APIC id agreement, hypervisor leaves. */
void test_boot_cpuid(void)
{
	u32 max, a, b, c, d, id = lapic_id();
	char vendor[13];

	cpuid(0, 0, &max, &b, &c, &d);
	memcpy(vendor, &b, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	vendor[12] = '\0';
	printf("cpuid: vendor %s max-leaf 0x%x\n", vendor, max);

	cpuid(1, 0, &a, &b, &c, &d);
	if (!(d & CPUID1_EDX_APIC))
		check_fail("cpuid apic-id", "leaf 1 reports no APIC");
	else if (b >> 24 != id)
		check_fail("cpuid apic-id", "leaf 1 says %u, LAPIC says %u", b >> 24, id);
	else
		check_ok("cpuid apic-id %u", id);

	if (c & CPUID1_ECX_HYPERVISOR) {
		char sig[13];
		u32 hmax;

		hv_signature(sig, &hmax);
		printf("cpuid: hypervisor %s max-leaf 0x%x\n", sig, hmax);
	} else {
		printf("cpuid: no hypervisor bit\n");
	}
}

/* kHz from KVM's pvclock scale: ns = ((ticks << shift) * mul) >> 32. */
static u64 kvmclock_khz(void)
{
	static struct pvclock_time_info ti __attribute__((aligned(64)));
	u32 a, b, c, d, hmax;
	u64 khz;
	char sig[13];

	hv_signature(sig, &hmax);
	if (memcmp(sig, "KVMKVMKVM", 10) || hmax < HV_LEAF_BASE + 1)
		return 0;
	cpuid(HV_LEAF_BASE + 1, 0, &a, &b, &c, &d);
	if (!(a & KVM_FEATURE_CLOCKSOURCE2))
		return 0;
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (u64)&ti | 1);
	khz = __atomic_load_n(&ti.tsc_to_system_mul, __ATOMIC_ACQUIRE);
	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0);
	if (!khz)
		return 0;
	khz = (1000000ULL << 32) / khz;
	return ti.tsc_shift < 0 ? khz << -ti.tsc_shift : khz >> ti.tsc_shift;
}

void tsc_calibrate(void)
{
	u32 max, a, b, c, d;
	char sig[13];

	if (has_hypervisor()) {
		hv_signature(sig, &max);
		if (max >= HV_LEAF_TIMING) {
			cpuid(HV_LEAF_TIMING, 0, &a, &b, &c, &d);
			if (a) {
				g.tsc_khz = a;
				g.tsc_source = "cpuid 0x40000010";
				return;
			}
		}
	}
	cpuid(0, 0, &max, &b, &c, &d);
	if (max >= 0x15) {
		cpuid(0x15, 0, &a, &b, &c, &d);
		if (a && b && c) {
			g.tsc_khz = (u64)c * b / a / 1000;
			g.tsc_source = "cpuid 0x15";
			return;
		}
	}
	if (max >= 0x16) {
		cpuid(0x16, 0, &a, &b, &c, &d);
		if (a) {
			g.tsc_khz = (u64)a * 1000;
			g.tsc_source = "cpuid 0x16";
			return;
		}
	}
	if (has_hypervisor()) {
		g.tsc_khz = kvmclock_khz();
		g.tsc_source = "kvmclock";
		if (g.tsc_khz)
			return;
	}
	g.tsc_khz = TSC_KHZ_ASSUMED;
	g.tsc_source = "assumed";
}

u64 tsc_ms(u64 ms)
{
	return ms * g.tsc_khz;
}

void udelay(u64 us)
{
	u64 end = rdtsc() + us * g.tsc_khz / 1000;

	while (rdtsc() < end)
		cpu_relax();
}
