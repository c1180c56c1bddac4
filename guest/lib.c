// SPDX-License-Identifier: MIT
/*
 * The few C library pieces the guest needs: memory and string helpers (gcc may emit calls to
 * memset/memcpy even with -ffreestanding) and a small vsnprintf for the console.
 */
#include "guest.h"

/*
 * rep stos/movs: PVM emulates CPL0 code one instruction at a time (~0.6 us each) and a rep
 * string instruction costs about one instruction per iteration, so these beat any loop.
 */
void *memset(void *s, int c, size_t n)
{
	void *d = s;

	asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return s;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;
	size_t q = n / 8, r = n % 8;

	asm volatile("rep movsq\n\t"
		     "mov %3, %%rcx\n\t"
		     "rep movsb"
		     : "+D"(d), "+S"(src), "+c"(q) : "r"(r) : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;

	for (; n; n--, x++, y++) {
		if (*x != *y)
			return *x - *y;
	}
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (u8)*a - (u8)*b;
		if (!*a)
			break;
	}
	return 0;
}

/* Decimal, or hex with a 0x prefix; the whole of s[0..len) must be digits.  0 on success. */
int parse_u64(const char *s, size_t len, u64 *out)
{
	u64 v = 0, base = 10;
	size_t i = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		char c = s[i];
		u64 d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		if (v > (~0ULL - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

struct outbuf {
	char *buf;
	size_t size;
	size_t len;		/* what the full output would need, like snprintf's result */
};

static void out_char(struct outbuf *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void out_num(struct outbuf *o, u64 v, unsigned int base, int neg, int width, char pad)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	for (; width > n; width--)
		out_char(o, pad);
	while (n)
		out_char(o, tmp[--n]);
}

/*
 * Supports %c %s %d %i %u %x %p %%, the 'l', 'll' and 'z' length modifiers, '0' padding and a
 * decimal field width: what the guest's output format needs and nothing else.
 */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct outbuf o = { .buf = buf, .size = size };

	for (; *fmt; fmt++) {
		int longs = 0, width = 0;
		char pad = ' ';
		u64 v;

		if (*fmt != '%') {
			out_char(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			longs++;
			fmt++;
		}
		switch (*fmt) {
		case 'c':
			out_char(&o, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int n = (int)strlen(s ? s : "(null)");

			for (; width > n; width--)
				out_char(&o, ' ');
			for (s = s ? s : "(null)"; *s; s++)
				out_char(&o, *s);
			break;
		}
		case 'd':
		case 'i': {
			int64_t sv = longs ? va_arg(ap, int64_t) : va_arg(ap, int);

			out_num(&o, sv < 0 ? -(u64)sv : (u64)sv, 10, sv < 0, width, pad);
			break;
		}
		case 'u':
		case 'x':
			v = longs ? va_arg(ap, u64) : va_arg(ap, unsigned int);
			out_num(&o, v, *fmt == 'x' ? 16 : 10, 0, width, pad);
			break;
		case 'p':
			out_char(&o, '0');
			out_char(&o, 'x');
			out_num(&o, (u64)va_arg(ap, void *), 16, 0, width, pad);
			break;
		case '%':
			out_char(&o, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			out_char(&o, '%');
			out_char(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
