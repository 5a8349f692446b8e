/* SPDX-License-Identifier: MIT */
/*
 * ev_poll.c: poll(2) backend of the event loop. Owns a dense pollfd array
 * and an fd -> slot index; knows nothing about callbacks.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "sockguard/ev.h"

struct sg_evb {
	struct pollfd *pfd;
	int n, cap;
	int *slot;   /* fd -> index in pfd, -1 */
	int nslot;
	int next;    /* where the next wait starts looking: a round that
	              * fills its max leaves the rest first in line */
};

const char *
sg_evb_name(void)
{
	return "poll";
}

struct sg_evb *
sg_evb_new(void)
{
	return calloc(1, sizeof(struct sg_evb));
}

void
sg_evb_free(struct sg_evb *b)
{
	if (b == NULL)
		return;
	free(b->pfd);
	free(b->slot);
	free(b);
}

static int
evb_grow_slots(struct sg_evb *b, int fd)
{
	int n = b->nslot ? b->nslot : 64, i;
	int *s;

	while (n <= fd)
		n *= 2;
	s = realloc(b->slot, (size_t)n * sizeof(*s));
	if (s == NULL)
		return -1;
	for (i = b->nslot; i < n; i++)
		s[i] = -1;
	b->slot = s;
	b->nslot = n;
	return 0;
}

int
sg_evb_add(struct sg_evb *b, int fd, unsigned mask)
{
	int i;

	if (fd >= b->nslot && evb_grow_slots(b, fd) == -1)
		return -1;
	if (b->slot[fd] >= 0)
		return sg_evb_mod(b, fd, mask);
	if (b->n == b->cap) {
		int cap = b->cap ? b->cap * 2 : 64;
		struct pollfd *p = realloc(b->pfd, (size_t)cap * sizeof(*p));

		if (p == NULL)
			return -1;
		b->pfd = p;
		b->cap = cap;
	}
	i = b->n++;
	b->slot[fd] = i;
	b->pfd[i].fd = fd;
	return sg_evb_mod(b, fd, mask);
}

int
sg_evb_mod(struct sg_evb *b, int fd, unsigned mask)
{
	struct pollfd *p;

	if (fd >= b->nslot || b->slot[fd] < 0) {
		errno = ENOENT;
		return -1;
	}
	p = &b->pfd[b->slot[fd]];
	p->fd = fd; /* watched again, if it was set aside */
	p->events = 0;
	if (mask & SG_EV_READ)
		p->events |= POLLIN;
	if (mask & SG_EV_WRITE)
		p->events |= POLLOUT;
	p->revents = 0;
	return 0;
}

int
sg_evb_del(struct sg_evb *b, int fd)
{
	int i;

	if (fd >= b->nslot || (i = b->slot[fd]) < 0)
		return 0;
	b->n--;
	if (i != b->n) {
		b->pfd[i] = b->pfd[b->n];
		b->slot[b->pfd[i].fd < 0 ? ~b->pfd[i].fd : b->pfd[i].fd] = i;
	}
	b->slot[fd] = -1;
	return 0;
}

int
sg_evb_wait(struct sg_evb *b, struct sg_ev_fired *out, int max, int timeout_ms)
{
	int n, i, j, k = 0, first;

	n = poll(b->pfd, (nfds_t)b->n, timeout_ms);
	if (n == -1)
		return errno == EINTR ? 0 : -1;
	first = b->n > 0 ? b->next % b->n : 0;
	for (j = 0; j < b->n && k < max && n > 0; j++) {
		short r;
		unsigned m = 0;

		i = (first + j) % b->n;
		r = b->pfd[i].revents;
		if (r == 0)
			continue;
		n--;
		/*
		 * poll reports a hangup or an error whatever the interest;
		 * an fd that wants nothing is told once and then set aside
		 * (a negative fd, which poll skips) until its interest
		 * changes, or every wait would report it again
		 */
		out[k].fd = b->pfd[i].fd;
		if (b->pfd[i].events == 0)
			b->pfd[i].fd = ~b->pfd[i].fd;
		if (r & POLLIN)
			m |= SG_EV_READ;
		if (r & POLLOUT)
			m |= SG_EV_WRITE;
		if (r & (POLLERR | POLLHUP | POLLNVAL))
			m |= SG_EV_ERROR | SG_EV_READ;
		if (r & POLLHUP)
			m |= SG_EV_HUP;
		out[k].events = m;
		k++;
	}
	b->next = b->n > 0 ? (first + j) % b->n : 0;
	return k;
}
