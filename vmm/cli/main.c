/* SPDX-License-Identifier: MIT */
/* `mvmm`: subcommand table.  The CLI is the only code allowed to exit(). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void cli_log_sink(void *opaque, enum mvmm_log_level level, const char *subsys, const char *msg)
{
	struct cli_log *cl = opaque;

	if (level == MVMM_LOG_ERROR)
		cl->errors++;
	fprintf(stderr, "mvmm: %s: %s: %s\n", level_names[level], subsys, msg);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("mvmm: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_exit_code_for(int err)
{
	switch (-err) {
	case MVMM_EKVM:
		return CLI_EXIT_NOKVM;
	case MVMM_EKERNEL:
	case MVMM_EINITRD:
	case MVMM_ECMDLINE:
	case EBADMSG:	/* corrupt snapshot or state */
	case EPROTO:	/* snapshot of an unknown format version */
		return CLI_EXIT_DATAERR;
	case MVMM_ECONFIG:
		return CLI_EXIT_USAGE;
	case ENOENT:
	case EACCES:
	case EISDIR:
		return CLI_EXIT_NOINPUT;
	default:
		return CLI_EXIT_SOFTWARE;
	}
}

static void usage(FILE *f)
{
	fputs("usage: mvmm <command> [options]   ('mvmm <command> --help' for its options)\n"
	      "\n"
	      "commands:\n"
	      "  run       boot a VM (the embedded test guest unless --kernel is given)\n"
	      "  restore   run a VM from a snapshot directory (mvmm restore DIR)\n",
	      f);
	for (const struct cli_command *c = cli_client_commands; c->name; c++)
		fprintf(f, "  %-9s %s\n", c->name, c->help);
	fputs("  version   print the version\n"
	      "  help      this text\n"
	      "\n"
	      "exit codes: 0-63 guest result code, 64 usage, 65 bad kernel/initrd,\n"
	      "  66 unreadable input file, 69 KVM unavailable, 70 internal error,\n"
	      "  71 guest crashed, 74 VM unreachable, 75 action not allowed in the VM's state,\n"
	      "  128+N killed by signal N\n",
	      f);
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("mvmm %s (API %d)\n", MVMM_VERSION_STRING, MVMM_API_VERSION);
	return 0;
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

static const struct cli_command commands[] = {
	{ "run", cmd_run, NULL },
	{ "restore", cmd_restore, NULL },
	{ "__fork-child", cmd_fork_child, NULL },
	{ "version", cmd_version, NULL },
	{ "--version", cmd_version, NULL },
	{ "help", cmd_help, NULL },
	{ "--help", cmd_help, NULL },
	{ "-h", cmd_help, NULL },
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		cli_error("no command given (try 'mvmm help')");
		return CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	}
	for (const struct cli_command *c = cli_client_commands; c->name; c++) {
		if (strcmp(argv[1], c->name) == 0)
			return c->fn(argc - 1, argv + 1);
	}
	cli_error("unknown command '%s' (try 'mvmm help')", argv[1]);
	return CLI_EXIT_USAGE;
}
