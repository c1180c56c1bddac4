/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <linux/serial_reg.h>

#include "serial.h"
#include "arch/x86/irqchip.h"
#include "arch/x86/layout.h"
#include "vmm/state.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define SERIAL_RX_FIFO 1024
#define SERIAL_NR_PORTS 8
#define SERIAL_MSR_IDLE (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS)

struct serial {
	struct vm *vm;
	pthread_mutex_t lock;		/* vCPU threads vs the loop thread */
	int out_fd;			/* borrowed */
	int in_fd;			/* borrowed */
	bool in_attached;		/* in_fd is in the epoll set */
	bool in_throttled;		/* FIFO full: in_fd is registered with no events */
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thri_pending;		/* THR empty and not yet acknowledged through IIR */
	int irq_level;
	uint8_t rx[SERIAL_RX_FIFO];
	unsigned int rx_head, rx_len;
	uint64_t tx_bytes;
};

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & UART_FCR_ENABLE_FIFO) ? 0xc0 : 0;

	if ((s->ier & UART_IER_RDI) && s->rx_len)
		return UART_IIR_RDI | fifo;
	if ((s->ier & UART_IER_THRI) && s->thri_pending)
		return UART_IIR_THRI | fifo;
	return UART_IIR_NO_INT | fifo;
}

/* Caller holds s->lock. */
static void serial_update_irq(struct serial *s)
{
	int level = !(serial_iir(s) & UART_IIR_NO_INT);

	/* OUT2 gates the interrupt line on PC-compatible boards. */
	if (!(s->mcr & UART_MCR_OUT2))
		level = 0;
	if (level == s->irq_level)
		return;
	s->irq_level = level;
	x86_irq_line(s->vm, X86_COM1_IRQ, level);
}

static void rx_push(struct serial *s, uint8_t b)
{
	if (s->rx_len == SERIAL_RX_FIFO)
		return;
	s->rx[(s->rx_head + s->rx_len) % SERIAL_RX_FIFO] = b;
	s->rx_len++;
}

static void serial_tx(struct serial *s, uint8_t b)
{
	s->tx_bytes++;
	if (s->mcr & UART_MCR_LOOP) {
		rx_push(s, b);
	} else if (s->out_fd >= 0) {
		/* Unbuffered: the console must show everything up to a crash. */
		if (RETRY_EINTR(write(s->out_fd, &b, 1)) < 0)
			s->out_fd = -1;		/* e.g. EPIPE: stop writing, keep running */
	}
	s->thri_pending = true;			/* the byte left at once: THR is empty again */
}

static uint8_t serial_rx(struct serial *s)
{
	uint8_t b = 0;

	if (s->rx_len) {
		b = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
		s->rx_len--;
	}
	if (s->in_throttled && s->rx_len < SERIAL_RX_FIFO) {
		/* Room again: let the loop read more input (epoll_ctl is thread-safe). */
		if (loop_mod(&s->vm->loop, s->in_fd, EPOLLIN) == 0)
			s->in_throttled = false;
	}
	return b;
}

static void serial_write_reg(struct serial *s, unsigned int reg, uint8_t v)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_TX:
		if (dlab)
			s->dll = v;
		else
			serial_tx(s, v);
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
		} else {
			/* Enabling THRI while THR is empty raises the interrupt, as on a 16550. */
			if ((v & UART_IER_THRI) && !(s->ier & UART_IER_THRI))
				s->thri_pending = true;
			s->ier = v & 0x0f;
		}
		break;
	case UART_FCR:
		s->fcr = v;
		if (v & UART_FCR_CLEAR_RCVR)
			s->rx_len = 0;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default:
		break;	/* LSR and MSR writes are ignored */
	}
}

static uint8_t serial_read_reg(struct serial *s, unsigned int reg)
{
	bool dlab = s->lcr & UART_LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case UART_RX:
		return dlab ? s->dll : serial_rx(s);
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		v = serial_iir(s);
		/* Reading IIR while it reports THRI acknowledges that interrupt. */
		if ((v & 0x0f) == UART_IIR_THRI)
			s->thri_pending = false;
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return UART_LSR_THRE | UART_LSR_TEMT | (s->rx_len ? UART_LSR_DR : 0);
	case UART_MSR:
		if (s->mcr & UART_MCR_LOOP) {
			/* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
			return (uint8_t)(((s->mcr & UART_MCR_DTR) ? UART_MSR_DSR : 0) |
					 ((s->mcr & UART_MCR_RTS) ? UART_MSR_CTS : 0) |
					 ((s->mcr & UART_MCR_OUT1) ? UART_MSR_RI : 0) |
					 ((s->mcr & UART_MCR_OUT2) ? UART_MSR_DCD : 0));
		}
		return SERIAL_MSR_IDLE;
	case UART_SCR:
		return s->scr;
	default:
		return 0xff;
	}
}

static void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct serial *s = opaque;

	/* The UART has byte registers; wider accesses use the first byte (reads pad with 0). */
	pthread_mutex_lock(&s->lock);
	if (is_write) {
		serial_write_reg(s, (unsigned int)offset, data[0]);
	} else {
		memset(data, 0, len);
		data[0] = serial_read_reg(s, (unsigned int)offset);
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = MIN(len, (size_t)(SERIAL_RX_FIFO - s->rx_len));
	for (size_t i = 0; i < n; i++)
		rx_push(s, buf[i]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Event-loop handler for the input fd. */
static void serial_input_ready(void *opaque, uint32_t events)
{
	struct serial *s = opaque;
	uint8_t buf[256];
	size_t room;
	ssize_t n;

	pthread_mutex_lock(&s->lock);
	room = SERIAL_RX_FIFO - s->rx_len;
	if (room == 0) {
		/* Stop polling until the guest drains the FIFO (serial_rx re-enables). */
		if (loop_mod(&s->vm->loop, s->in_fd, 0) == 0)
			s->in_throttled = true;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	pthread_mutex_unlock(&s->lock);

	n = read(s->in_fd, buf, MIN(room, sizeof(buf)));
	if (n > 0) {
		serial_receive(s, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* EOF or error (or a hang-up event): stop watching, keep the VM running. */
	(void)events;
	loop_del(&s->vm->loop, s->in_fd);
	s->in_attached = false;
}

int serial_create(struct vm *vm, int out_fd, int in_fd, struct serial **out)
{
	struct serial *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->out_fd = out_fd;
	s->in_fd = in_fd;
	pthread_mutex_init(&s->lock, NULL);
	err = bus_register(&vm->pio, X86_COM1_PORT, SERIAL_NR_PORTS, serial_io, s);
	if (err) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return err;
	}
	*out = s;
	return 0;
}

int serial_attach_input(struct serial *s)
{
	int err;

	if (s->in_fd < 0)
		return 0;
	err = loop_add(&s->vm->loop, s->in_fd, EPOLLIN, serial_input_ready, s);
	if (err == -EPERM) {
		/* Regular files cannot be polled: console input is simply not available. */
		pr_debug(&s->vm->log, "serial", "console input fd cannot be polled; input disabled");
		return 0;
	}
	if (!err)
		s->in_attached = true;
	return err;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

uint64_t serial_tx_bytes(struct serial *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->tx_bytes;
	pthread_mutex_unlock(&s->lock);
	return n;
}

#define SERIAL_STATE_VERSION 1

int serial_save(struct serial *s, struct state_writer *w)
{
	pthread_mutex_lock(&s->lock);
	state_begin_section(w, "dev/serial0", SERIAL_STATE_VERSION, STATE_SEC_REQUIRED);
	state_put_u8(w, s->ier);
	state_put_u8(w, s->lcr);
	state_put_u8(w, s->mcr);
	state_put_u8(w, s->scr);
	state_put_u8(w, s->dll);
	state_put_u8(w, s->dlm);
	state_put_u8(w, s->fcr);
	state_put_u8(w, s->thri_pending);
	state_put_u8(w, (uint8_t)s->irq_level);
	state_put_u32(w, s->rx_len);
	for (unsigned int i = 0; i < s->rx_len; i++)
		state_put_u8(w, s->rx[(s->rx_head + i) % SERIAL_RX_FIFO]);
	state_end_section(w);
	pthread_mutex_unlock(&s->lock);
	return w->err;
}

int serial_load(struct serial *s, const struct state_reader *r)
{
	struct state_section sec;
	uint8_t regs[9], rx[SERIAL_RX_FIFO];
	uint32_t n;
	int err;

	if (state_find(r, "dev/serial0", &sec) || sec.version != SERIAL_STATE_VERSION)
		return -EBADMSG;
	state_get_bytes(&sec, regs, sizeof(regs));
	n = state_get_u32(&sec);
	if (n > SERIAL_RX_FIFO)
		return -EBADMSG;
	state_get_bytes(&sec, rx, n);
	err = state_section_done(&sec);
	if (err)
		return err;
	pthread_mutex_lock(&s->lock);
	s->ier = regs[0] & 0x0f;
	s->lcr = regs[1];
	s->mcr = regs[2] & 0x1f;
	s->scr = regs[3];
	s->dll = regs[4];
	s->dlm = regs[5];
	s->fcr = regs[6];
	s->thri_pending = regs[7] != 0;
	s->irq_level = -1;		/* force the line to be driven from the loaded state */
	s->rx_head = 0;
	s->rx_len = n;
	memcpy(s->rx, rx, n);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}
