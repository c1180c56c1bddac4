/* SPDX-License-Identifier: MIT */
/*
 * Embedding libmvmm: boot a kernel given on the command line, serve the control API, pause and
 * resume it once, and wait for it to finish.  Build against an installed mvmm with
 *     cc embed.c $(pkg-config --cflags --libs mvmm) -o embed
 * Usage: embed KERNEL [CMDLINE [API_SOCKET]]
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mvmm/mvmm.h>

static void log_to_stderr(void *opaque, enum mvmm_log_level level, const char *subsys,
			  const char *msg)
{
	(void)opaque;
	fprintf(stderr, "embed: [%d] %s: %s\n", (int)level, subsys, msg);
}

int main(int argc, char **argv)
{
	struct mvmm_config cfg;
	struct mvmm_exit_info info;
	mvmm_vm *vm;
	int err;

	if (argc < 2) {
		fprintf(stderr, "usage: %s KERNEL [CMDLINE [API_SOCKET]]\n", argv[0]);
		return 2;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);		/* the library reads only what this header knows */
	cfg.mem_bytes = 64ULL << 20;
	cfg.cpus = 1;
	cfg.kernel_path = argv[1];
	cfg.cmdline = argc > 2 ? argv[2] : "console=ttyS0";
	cfg.serial_out_fd = STDOUT_FILENO;
	cfg.serial_in_fd = -1;
	cfg.log_fn = log_to_stderr;
	cfg.log_level = MVMM_LOG_WARN;

	err = mvmm_vm_create(&cfg, &vm);
	if (err) {
		fprintf(stderr, "embed: create: %s\n", mvmm_strerror(err));
		return 1;
	}
	if (argc > 3 && (err = mvmm_vm_api_listen(vm, argv[3])) != 0)
		fprintf(stderr, "embed: api: %s\n", mvmm_strerror(err));
	err = mvmm_vm_start(vm);
	if (!err)
		err = mvmm_vm_pause(vm);
	if (!err)
		err = mvmm_vm_resume(vm);
	if (err) {
		fprintf(stderr, "embed: %s\n", mvmm_strerror(err));
		mvmm_vm_destroy(vm);
		return 1;
	}
	/* The event fd turns readable on every state change; wait for STOPPED. */
	while (mvmm_vm_get_state(vm) != MVMM_VM_STOPPED) {
		struct pollfd p = { .fd = mvmm_vm_event_fd(vm), .events = POLLIN };
		uint64_t v;

		if (poll(&p, 1, -1) > 0 && read(p.fd, &v, sizeof(v)) < 0)
			break;
	}
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	mvmm_vm_wait(vm, &info);
	printf("embed: VM stopped, reason %d, guest code %u\n", (int)info.reason, info.guest_code);
	mvmm_vm_destroy(vm);
	return (int)info.guest_code;
}
