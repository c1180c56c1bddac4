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
 *   128+N  stopped by signal N (SIGINT, SIGTERM, SIGHUP)
 */
#define CLI_EXIT_GUEST_MAX 63
#define CLI_EXIT_USAGE 64
#define CLI_EXIT_DATAERR 65
#define CLI_EXIT_NOINPUT 66
#define CLI_EXIT_NOKVM 69
#define CLI_EXIT_SOFTWARE 70
#define CLI_EXIT_CRASH 71
#define CLI_EXIT_SIGNAL_BASE 128

struct cli_log {
	enum mvmm_log_level level;
	unsigned int errors;		/* error lines printed: the CLI then adds no second line */
};

void cli_log_sink(void *opaque, enum mvmm_log_level level, const char *subsys, const char *msg);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_exit_code_for(int err);

int cmd_run(int argc, char **argv);

/* The embedded test guest (guest/), linked in by guest_blob.S. */
extern const unsigned char mvmm_guest_elf_start[];
extern const unsigned char mvmm_guest_elf_end[];

#endif /* MVMM_VMM_CLI_CLI_H */
