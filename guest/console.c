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

/* One line: the prefix, then fmt formatted, then '\n'. */
static void vline(const char *prefix, const char *fmt, va_list ap)
{
	char text[192];

	vsnprintf(text, sizeof(text), fmt, ap);
	printf("%s%s\n", prefix, text);
}

/* "ok: <what>" */
void check_ok(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("ok: ", fmt, ap);
	va_end(ap);
}

/* "FAIL: <name>: <reason>"; makes the final result nonzero. */
void check_fail(const char *name, const char *fmt, ...)
{
	char prefix[64];
	va_list ap;

	__atomic_add_fetch(&g.failures, 1, __ATOMIC_RELAXED);
	snprintf(prefix, sizeof(prefix), "FAIL: %s: ", name);
	va_start(ap, fmt);
	vline(prefix, fmt, ap);
	va_end(ap);
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

/* An internal error the guest cannot continue from: "FAIL: panic: <why>", exit code 3. */
void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("FAIL: panic: ", fmt, ap);
	va_end(ap);
	printf("result: %d\n", EXIT_CRASH);
	guest_exit(EXIT_CRASH);
}
