/* SPDX-License-Identifier: MIT */
/*
 * Live fork orchestration (parent side) and the child bootstrap.
 *
 * Parent, in this order (each step's reason in fork.c):
 *   pause -> quiesce devices -> layers (freeze / delta) -> capture state -> hand-off memfd ->
 *   spawn + send to each child -> wait for each child's ack -> unquiesce -> resume.
 *
 * Hand-off: one SOCK_SEQPACKET message per child: a small JSON identity
 *   {"name","api_sock","console"}
 * with SCM_RIGHTS fds [hand-off memfd, layer 0, layer 1, ...].  The hand-off memfd (sealed)
 * holds the VM state blob plus two optional sections: "fork/meta" (RAM size, vCPUs, layer
 * count) and "fork/runs" (which pages come from which layer).  The child answers {"pid":N} or
 * {"error":N} once its VM runs.
 */
#ifndef MVMM_FORK_FORK_H
#define MVMM_FORK_FORK_H

#include "mvmm/mvmm.h"

struct vm;

int vm_fork(struct vm *vm, const struct mvmm_fork_opts *opts, struct mvmm_fork_child *children);
/*
 * Pre-spawned children: processes that already exec'd mvmm and wait for a hand-off, so a fork
 * does not wait for exec and the dynamic loader.  Topped up on the loop thread after each fork.
 */
void fork_pool_refill(struct vm *vm);
/* Close the pool: its processes see EOF and exit; they are reaped here. */
void fork_pool_destroy(struct vm *vm);
int vm_fork_child(int fd, const struct mvmm_config *cfg, struct vm **out, char *api_sock,
		  size_t api_sock_len);

#endif /* MVMM_FORK_FORK_H */
