/* SPDX-License-Identifier: MIT */
/*
 * 8250/16550A UART at COM1 (0x3f8, IRQ 4): what Linux's 8250 driver and earlycon need,
 * including the THRE and RX-data interrupts (user-space tty output is interrupt driven).
 * Output bytes go to a host fd as the guest writes them; input is read by the VM's event loop
 * from a host fd into a receive FIFO.
 */
#ifndef MVMM_DEVICES_SERIAL_H
#define MVMM_DEVICES_SERIAL_H

#include <stdint.h>

struct vm;
struct serial;

/* out_fd/in_fd are borrowed (not closed); -1 disables the direction. */
int serial_create(struct vm *vm, int out_fd, int in_fd, struct serial **out);
/* Register the input fd with the VM's event loop (call before the loop starts). */
int serial_attach_input(struct serial *s);
void serial_destroy(struct serial *s);
/* Feed bytes as if typed (used by the loop handler and by tests). Returns bytes taken. */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len);
struct state_writer;
struct state_reader;
/* Registers and receive FIFO as section "dev/serial0" (no host fds). */
int serial_save(struct serial *s, struct state_writer *w);
int serial_load(struct serial *s, const struct state_reader *r);
/* Bytes written by the guest so far (metrics). */
uint64_t serial_tx_bytes(struct serial *s);

#endif /* MVMM_DEVICES_SERIAL_H */
