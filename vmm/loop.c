/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "loop.h"
#include "util.h"

struct loop_handler {
	int fd;
	loop_fn fn;
	void *opaque;
	struct loop_handler *next;
};

int loop_init(struct loop *loop, loop_fn on_wake, void *opaque)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int err;

	memset(loop, 0, sizeof(*loop));
	loop->on_wake = on_wake;
	loop->on_wake_opaque = opaque;
	pthread_mutex_init(&loop->lock, NULL);
	loop->wake_fd = -1;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		return -errno;
	loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->wake_fd < 0) {
		err = -errno;
		goto err_ep;
	}
	/* data.ptr == NULL marks the wake fd. */
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wake_fd, &ev) < 0) {
		err = -errno;
		goto err_wake;
	}
	return 0;

err_wake:
	close(loop->wake_fd);
err_ep:
	close(loop->epfd);
	loop->epfd = loop->wake_fd = -1;
	return err;	/* the lock stays initialised: loop_fini() releases it */
}

void loop_fini(struct loop *loop)
{
	struct loop_handler *h, *next;

	if (!loop)
		return;
	for (h = loop->handlers; h; h = next) {
		next = h->next;
		free(h);
	}
	loop->handlers = NULL;
	if (loop->wake_fd >= 0)
		close(loop->wake_fd);
	if (loop->epfd >= 0)
		close(loop->epfd);
	loop->wake_fd = loop->epfd = -1;
	pthread_mutex_destroy(&loop->lock);
}

int loop_add(struct loop *loop, int fd, uint32_t events, loop_fn fn, void *opaque)
{
	struct loop_handler *h = calloc(1, sizeof(*h));
	struct epoll_event ev = { .events = events };

	if (!h)
		return -ENOMEM;
	h->fd = fd;
	h->fn = fn;
	h->opaque = opaque;
	ev.data.ptr = h;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		free(h);
		return err;
	}
	pthread_mutex_lock(&loop->lock);
	h->next = loop->handlers;
	loop->handlers = h;
	pthread_mutex_unlock(&loop->lock);
	return 0;
}

int loop_del(struct loop *loop, int fd)
{
	struct loop_handler **pp;

	pthread_mutex_lock(&loop->lock);
	for (pp = &loop->handlers; *pp; pp = &(*pp)->next) {
		struct loop_handler *h = *pp;

		if (h->fd != fd)
			continue;
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		*pp = h->next;
		h->next = NULL;
		free(h);
		pthread_mutex_unlock(&loop->lock);
		return 0;
	}
	pthread_mutex_unlock(&loop->lock);
	return -ENOENT;
}

int loop_mod(struct loop *loop, int fd, uint32_t events)
{
	struct loop_handler *h;
	int err = -ENOENT;

	pthread_mutex_lock(&loop->lock);
	for (h = loop->handlers; h; h = h->next) {
		struct epoll_event ev = { .events = events, .data.ptr = h };

		if (h->fd != fd)
			continue;
		err = epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
		break;
	}
	pthread_mutex_unlock(&loop->lock);
	return err;
}

static void *loop_thread(void *arg)
{
	struct loop *loop = arg;
	struct epoll_event evs[16];

	while (!loop->quit) {
		int n = epoll_wait(loop->epfd, evs, ARRAY_SIZE(evs), -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n && !loop->quit; i++) {
			struct loop_handler *h = evs[i].data.ptr;

			if (!h) {
				uint64_t v;

				if (read(loop->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					continue;
				if (loop->on_wake)
					loop->on_wake(loop->on_wake_opaque, evs[i].events);
				/* on_wake may delete handlers: the rest of this batch is stale. */
				break;
			}
			h->fn(h->opaque, evs[i].events);
		}
	}
	return NULL;
}

int loop_start(struct loop *loop)
{
	int err = pthread_create(&loop->thread, NULL, loop_thread, loop);

	if (err)
		return -err;
	loop->started = true;
	return 0;
}

void loop_wake(struct loop *loop)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already non-zero: the loop will wake anyway. */
	if (write(loop->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
}

void loop_quit(struct loop *loop)
{
	loop->quit = true;
}

int loop_join(struct loop *loop)
{
	int err;

	if (!loop->started)
		return 0;
	err = pthread_join(loop->thread, NULL);
	loop->started = false;
	return -err;
}
