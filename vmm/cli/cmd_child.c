/* SPDX-License-Identifier: MIT */
/*
 * `mvmm __fork-child FD`: the process a parent VMM spawns for each fork child.  It takes its
 * VM (state, RAM layers, identity) from the parent over FD, serves its own API socket, tells
 * the parent it runs, and then lives on its own like `mvmm run` (a dead parent does not take
 * it down: it has its own session).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

int cmd_fork_child(int argc, char **argv)
{
	struct cli_log cl = { .level = MVMM_LOG_WARN };
	struct mvmm_config cfg = { .size = sizeof(cfg) };
	const char *sock = NULL;
	mvmm_vm *vm = NULL;
	char *end;
	long fd;
	int sfd, err, rc;

	if (argc != 2 || (fd = strtol(argv[1], &end, 10), *end) || fd < 3) {
		cli_error("__fork-child is started by a parent VMM, not by hand");
		return CLI_EXIT_USAGE;
	}
	sfd = cli_stop_signals_fd();
	cfg.log_fn = cli_log_sink;
	cfg.log_opaque = &cl;
	cfg.log_level = MVMM_LOG_WARN;
	err = mvmm_vm_fork_child((int)fd, &cfg, &vm, &sock);
	if (err == -EPIPE)
		return 0;	/* a pooled child whose parent went away: nothing to do */
	if (!err)
		err = mvmm_vm_api_listen(vm, sock);
	if (!err)
		err = cli_enable_fork(vm);
	if (!err)
		err = mvmm_vm_start(vm);
	/* Only now does the parent learn the child runs (or why it does not). */
	mvmm_vm_fork_ack((int)fd, err);
	close((int)fd);
	if (err) {
		if (!cl.errors)
			cli_error("fork child: %s", mvmm_strerror(err));
		mvmm_vm_destroy(vm);
		return cli_exit_code_for(err);
	}
	rc = cli_supervise(vm, sfd);
	mvmm_vm_destroy(vm);
	close(sfd);
	return rc;
}
