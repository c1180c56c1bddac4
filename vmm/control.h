/* SPDX-License-Identifier: MIT */
/*
 * Control API server of one VM: HTTP/1.1 + JSON on a unix socket (docs/api.md).  HTTP is
 * parsed by libmicrohttpd, JSON by json-c.  Requests and bodies are size-capped; a bad request
 * gets a 4xx with a JSON error naming the problem and never changes the VM.
 */
#ifndef MVMM_VMM_CONTROL_H
#define MVMM_VMM_CONTROL_H

struct vm;
struct control;

/* Bind `path` (0600; a stale socket is replaced, a live one is -EADDRINUSE) and serve. */
int control_create(struct vm *vm, const char *path, struct control **out);
/* Stop serving, close and unlink the socket.  NULL-safe. */
void control_destroy(struct control *ctl);

#endif /* MVMM_VMM_CONTROL_H */
