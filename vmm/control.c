/* SPDX-License-Identifier: MIT */
/* Placeholder until the control API lands: refuses to serve. */
#include <errno.h>

#include "control.h"

int control_create(struct vm *vm, const char *path, struct control **out)
{
	(void)vm;
	(void)path;
	*out = 0;
	return -ENOSYS;
}

void control_destroy(struct control *ctl)
{
	(void)ctl;
}
