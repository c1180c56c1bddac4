/* SPDX-License-Identifier: MIT */
/*
 * i8042 keyboard controller, reset line only: command 0xfe (pulse reset) or a write of the
 * output port with the reset bit low ends the VM with MVMM_STOP_RESET.  No keyboard.
 * Also the mvmm test-exit port (layout.h X86_TEST_EXIT_PORT), whose last value becomes the
 * guest code reported when the VM resets.
 */
#ifndef MVMM_DEVICES_I8042_H
#define MVMM_DEVICES_I8042_H

struct vm;
struct i8042;

int i8042_create(struct vm *vm, struct i8042 **out);
void i8042_destroy(struct i8042 *dev);

#endif /* MVMM_DEVICES_I8042_H */
