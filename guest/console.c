// SPDX-License-Identifier: MIT
/*
 * Console on the COM1 8250 and the check/exit helpers.  Output is line-oriented: every line is
 * formatted first and written whole under a lock, so lines from different CPUs never mix.
 */
#include "guest.h"

#define UART_THR	0	/* transmit holding register */
#define UART_LSR	5	/* line status register */
#define UART_LSR_THRE	0x20	/* THR empty: the next byte may be written */

/* Bound on LSR polls per byte, so a missing UART cannot hang the guest. */
#define UART_POLL_MAX	100000

static void lock(volatile u32 *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
}

static void unlock(volatile u32 *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static void uart_putc(char c)
{
	int i;

	for (i = 0; i < UART_POLL_MAX; i++) {
		if (inb(X86_COM1_PORT + UART_LSR) & UART_LSR_THRE)
			break;
	}
	outb(X86_COM1_PORT + UART_THR, (u8)c);
}

void console_write(const char *s, size_t len)
{
	static volatile u32 console_lock;

	lock(&console_lock);
	while (len--)
		uart_putc(*s++);
	unlock(&console_lock);
}

void printf(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = (size_t)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* A truncated line still ends in '\n' so the host's line parser stays in step. */
	if (n >= sizeof(line) - 1) {
		n = sizeof(line) - 2;
		line[n++] = '\n';
	}
	console_write(line, n);
}

/* "ok: <what>\n" */
void check_ok(const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	printf("ok: %s\n", what);
}

/* "FAIL: <name>: <reason>\n"; makes the final result nonzero. */
void check_fail(const char *name, const char *fmt, ...)
{
	char reason[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	__atomic_add_fetch(&g.failures, 1, __ATOMIC_RELAXED);
	printf("FAIL: %s: %s\n", name, reason);
}

/*
 * Record the result on the mvmm test-exit port, then pulse the i8042 reset line, which ends the
 * VM.  On a machine without either, stop here.
 */
void guest_exit(int code)
{
	outl(X86_TEST_EXIT_PORT, (u32)code);
	outb(X86_I8042_CMD_PORT, 0xfe);
	for (;;)
		asm volatile("cli; hlt");
}

/* An internal error the guest cannot continue from: "FAIL: panic: <why>\n", exit code 3. */
void panic(const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	printf("FAIL: panic: %s\n", why);
	printf("result: %d\n", EXIT_CRASH);
	guest_exit(EXIT_CRASH);
}
