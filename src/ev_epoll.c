/* SPDX-License-Identifier: MIT */
/*
 * ev_epoll.c: epoll backend of the event loop (level-triggered, or
 * edge-triggered for an fd registered with SG_EV_EDGE or with no
 * interest). Owns the epoll fd; knows nothing about callbacks.
 */
#include <sys/epoll.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "sockguard/ev.h"
#include "sockguard/sys.h"

struct sg_evb {
	int epfd;
	struct epoll_event ev[256];
};

const char *
sg_evb_name(void)
{
	return "epoll";
}

struct sg_evb *
sg_evb_new(void)
{
	struct sg_evb *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b->epfd == -1) {
		free(b);
		return NULL;
	}
	return b;
}

void
sg_evb_free(struct sg_evb *b)
{
	if (b == NULL)
		return;
	close(b->epfd);
	free(b);
}

static int
evb_ctl(struct sg_evb *b, int op, int fd, unsigned mask)
{
	struct epoll_event e = {0};

	e.data.fd = fd;
	if (mask & SG_EV_READ)
		e.events |= EPOLLIN | EPOLLRDHUP;
	if (mask & SG_EV_WRITE)
		e.events |= EPOLLOUT;
	/*
	 * epoll reports a hangup or an error whatever the interest; an fd
	 * that wants nothing would report it at every wait (a busy loop):
	 * it is told once, and again when its interest changes.
	 */
	if ((mask & SG_EV_EDGE) || !(mask & (SG_EV_READ | SG_EV_WRITE)))
		e.events |= EPOLLET;
	return epoll_ctl(b->epfd, op, fd, &e);
}

int
sg_evb_add(struct sg_evb *b, int fd, unsigned mask)
{
	return evb_ctl(b, EPOLL_CTL_ADD, fd, mask);
}

int
sg_evb_mod(struct sg_evb *b, int fd, unsigned mask)
{
	return evb_ctl(b, EPOLL_CTL_MOD, fd, mask);
}

int
sg_evb_del(struct sg_evb *b, int fd)
{
	return evb_ctl(b, EPOLL_CTL_DEL, fd, 0);
}

int
sg_evb_wait(struct sg_evb *b, struct sg_ev_fired *out, int max, int timeout_ms)
{
	int n, i;

	if (max > (int)(sizeof(b->ev) / sizeof(b->ev[0])))
		max = (int)(sizeof(b->ev) / sizeof(b->ev[0]));
	n = sg_sys_epoll_wait(b->epfd, b->ev, max, timeout_ms);
	if (n == -1)
		return errno == EINTR ? 0 : -1;
	for (i = 0; i < n; i++) {
		unsigned m = 0, e = b->ev[i].events;

		if (e & (EPOLLIN | EPOLLRDHUP))
			m |= SG_EV_READ;
		if (e & (EPOLLRDHUP | EPOLLHUP))
			m |= SG_EV_HUP;
		if (e & EPOLLOUT)
			m |= SG_EV_WRITE;
		if (e & (EPOLLERR | EPOLLHUP))
			m |= SG_EV_ERROR | SG_EV_READ;
		out[i].fd = b->ev[i].data.fd;
		out[i].events = m;
	}
	return n;
}
