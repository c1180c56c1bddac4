/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "i8042.h"
#include "arch/x86/layout.h"
#include "vmm/vm.h"

/* Controller commands (port 0x64) and status bits */
#define I8042_CMD_READ_OUTPORT	0xd0
#define I8042_CMD_WRITE_OUTPORT	0xd1
#define I8042_CMD_PULSE_RESET	0xfe
#define I8042_OUTPORT_RESET_N	0x01	/* output port bit 0: CPU reset, active low */
#define I8042_OUTPORT_DEFAULT	0x03	/* reset high, A20 on */
#define I8042_STR_OBF		0x01	/* output buffer full */
#define I8042_STR_SYSFLAG	0x04

struct i8042 {
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t pending_cmd;		/* command waiting for its data byte, or 0 */
	uint8_t outport;
	bool obf;			/* a byte waits in the output buffer */
	uint8_t out;
};

static void i8042_reset(struct i8042 *dev)
{
	struct vm *vm = dev->vm;
	uint32_t code = __atomic_load_n(&vm->guest_code, __ATOMIC_ACQUIRE);

	pr_info(&vm->log, "i8042", "guest reset (code %u)", code);
	vm_request_stop(vm, MVMM_STOP_RESET, code, 0);
}

static void i8042_cmd(struct i8042 *dev, uint8_t cmd)
{
	switch (cmd) {
	case I8042_CMD_PULSE_RESET:
		i8042_reset(dev);
		break;
	case I8042_CMD_WRITE_OUTPORT:
		dev->pending_cmd = cmd;
		break;
	case I8042_CMD_READ_OUTPORT:
		dev->out = dev->outport;
		dev->obf = true;
		break;
	default:
		break;	/* keyboard/mouse commands: no such devices */
	}
}

static void i8042_io(struct i8042 *dev, uint16_t port, uint8_t *data, uint32_t len, bool is_write)
{
	pthread_mutex_lock(&dev->lock);
	if (!is_write) {
		memset(data, 0, len);
		if (port == X86_I8042_CMD_PORT) {
			data[0] = I8042_STR_SYSFLAG | (dev->obf ? I8042_STR_OBF : 0);
		} else if (port == X86_I8042_DATA_PORT) {
			data[0] = dev->out;
			dev->obf = false;
		}
	} else if (port == X86_I8042_CMD_PORT) {
		i8042_cmd(dev, data[0]);
	} else if (port == X86_I8042_DATA_PORT && dev->pending_cmd == I8042_CMD_WRITE_OUTPORT) {
		dev->pending_cmd = 0;
		dev->outport = data[0];
		if (!(data[0] & I8042_OUTPORT_RESET_N))
			i8042_reset(dev);
	}
	pthread_mutex_unlock(&dev->lock);
}

static void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			  bool is_write)
{
	(void)offset;
	i8042_io(opaque, X86_I8042_DATA_PORT, data, len, is_write);
}

static void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			 bool is_write)
{
	(void)offset;
	i8042_io(opaque, X86_I8042_CMD_PORT, data, len, is_write);
}

static void test_exit_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			 bool is_write)
{
	struct vm *vm = opaque;
	uint32_t v = 0;

	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	if (offset != 0)
		return;
	memcpy(&v, data, len < sizeof(v) ? len : sizeof(v));
	__atomic_store_n(&vm->guest_code, v, __ATOMIC_RELEASE);
}

int i8042_create(struct vm *vm, struct i8042 **out)
{
	struct i8042 *dev = calloc(1, sizeof(*dev));
	int err;

	if (!dev)
		return -ENOMEM;
	dev->vm = vm;
	dev->outport = I8042_OUTPORT_DEFAULT;
	pthread_mutex_init(&dev->lock, NULL);
	/* Two single ports: 0x61 (between them) is KVM's PIT speaker port. */
	err = bus_register(&vm->pio, X86_I8042_DATA_PORT, 1, i8042_data_io, dev);
	if (!err)
		err = bus_register(&vm->pio, X86_I8042_CMD_PORT, 1, i8042_cmd_io, dev);
	if (!err)
		err = bus_register(&vm->pio, X86_TEST_EXIT_PORT, 4, test_exit_io, vm);
	if (err) {
		/* Bus ranges cannot be removed; the VM is being torn down on this error anyway. */
		pthread_mutex_destroy(&dev->lock);
		free(dev);
		return err;
	}
	*out = dev;
	return 0;
}

void i8042_destroy(struct i8042 *dev)
{
	if (!dev)
		return;
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}
