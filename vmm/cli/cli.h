/* SPDX-License-Identifier: MIT */
/* Shared by the `mvmm` subcommands: exit codes, error printing, the stderr log sink. */
#ifndef MVMM_VMM_CLI_CLI_H
#define MVMM_VMM_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "mvmm/mvmm.h"

/*
 * Exit codes of `mvmm` (documented in `mvmm --help` and README.md):
 *   0..63  the guest's result code (test-exit port, see arch/x86/layout.h; larger values are
 *          reported as 63); 0 also for a plain guest reboot/power-off or `mvmm stop`
 *   64     usage error: unknown flag, bad value
 *   65     the kernel or initrd is not usable (format, does not fit in RAM)
 *   66     an input file cannot be read
 *   69     KVM is unavailable (/dev/kvm missing, no permission, missing capability)
 *   70     internal error in the VMM
 *   71     the guest crashed (triple fault, KVM internal or emulation error)
 *   74     (client commands) the VM's API socket cannot be reached
 *   75     (client commands) the VM's state does not allow the action (e.g. resume a running VM
 *          is fine, pause a stopped one is not)
 *   128+N  stopped by signal N (SIGINT, SIGTERM, SIGHUP)
 */
#define CLI_EXIT_GUEST_MAX 63
#define CLI_EXIT_USAGE 64
#define CLI_EXIT_DATAERR 65
#define CLI_EXIT_NOINPUT 66
#define CLI_EXIT_NOKVM 69
#define CLI_EXIT_SOFTWARE 70
#define CLI_EXIT_CRASH 71
#define CLI_EXIT_UNAVAILABLE 74
#define CLI_EXIT_STATE 75
#define CLI_EXIT_SIGNAL_BASE 128

/* Child processes each VM keeps ready for `mvmm fork` (see mvmm_vm_enable_fork). */
#define CLI_FORK_POOL 1

struct cli_log {
	enum mvmm_log_level level;
	unsigned int errors;		/* error lines printed: the CLI then adds no second line */
};

void cli_log_sink(void *opaque, enum mvmm_log_level level, const char *subsys, const char *msg);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_exit_code_for(int err);

struct cli_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

int cmd_run(int argc, char **argv);
int cmd_fork_child(int argc, char **argv);
int cli_stop_signals_fd(void);
int cli_supervise(mvmm_vm *vm, int sfd);
int cli_enable_fork(mvmm_vm *vm);
int cmd_restore(int argc, char **argv);
/* pause, resume, stop, status, ls; NULL-terminated. */
extern const struct cli_command cli_client_commands[];
const char *cli_runtime_dir(char *buf, size_t len);
const char *cli_sock_path(const char *vm, char *buf, size_t len);

/* The embedded test guest (guest/), linked in by guest_blob.S. */
extern const unsigned char mvmm_guest_elf_start[];
extern const unsigned char mvmm_guest_elf_end[];

#endif /* MVMM_VMM_CLI_CLI_H */
