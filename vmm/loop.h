/* SPDX-License-Identifier: MIT */
/*
 * Per-VM event loop: one thread, one epoll set.  Devices and the control socket register fds;
 * handlers run on the loop thread only, so device state touched from the loop needs no lock
 * against other loop handlers.  loop_wake() runs the wake callback on the loop thread.
 */
#ifndef MVMM_VMM_LOOP_H
#define MVMM_VMM_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef void (*loop_fn)(void *opaque, uint32_t events);

struct loop_handler;

struct loop {
	int epfd;			/* owned */
	int wake_fd;			/* owned eventfd */
	pthread_t thread;
	bool started;
	bool quit;			/* set on the loop thread by loop_quit() */
	loop_fn on_wake;		/* called on the loop thread after loop_wake() */
	void *on_wake_opaque;
	pthread_mutex_t lock;		/* protects the handler list */
	struct loop_handler *handlers;	/* owned list */
};

int loop_init(struct loop *loop, loop_fn on_wake, void *opaque);
/* NULL-safe; the thread must have been joined. */
void loop_fini(struct loop *loop);
int loop_add(struct loop *loop, int fd, uint32_t events, loop_fn fn, void *opaque);
/* Only from the loop thread or before loop_start(). */
int loop_del(struct loop *loop, int fd);
/* Change the events watched on fd; any thread. */
int loop_mod(struct loop *loop, int fd, uint32_t events);
int loop_start(struct loop *loop);
void loop_wake(struct loop *loop);
/* From the loop thread: leave after the current iteration. */
void loop_quit(struct loop *loop);
int loop_join(struct loop *loop);

#endif /* MVMM_VMM_LOOP_H */
