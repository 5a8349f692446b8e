/* SPDX-License-Identifier: MIT */
/*
 * ev.c: the event loop core. Owns the fd -> handler table, the one-shot
 * timers and the deferred list; the readiness backend is ev_epoll.c or
 * ev_poll.c. Knows nothing about connections or HTTP.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sockguard/ev.h"

struct ev_handler {
	sg_ev_cb cb;
	void *arg;
	unsigned mask;
	bool known;
	bool fired; /* an event of this round still to be dispatched */
};

struct ev_timer {
	uint64_t id;
	int64_t deadline;
	sg_ev_timer_cb cb;
	void *arg;
};

struct ev_deferred {
	sg_ev_defer_cb cb;
	void *arg;
};

struct sg_ev {
	struct sg_evb *b;
	struct ev_handler *h;
	int nh;
	struct ev_timer *t;
	size_t nt, capt;
	uint64_t next_id;
	struct ev_deferred *d;
	size_t nd, capd;
	int64_t now;
	struct sg_ev_fired fired[256];
};

static int ev_grow(struct sg_ev *ev, int fd);
static void ev_run_timers(struct sg_ev *ev);
static void ev_run_deferred(struct sg_ev *ev);

int64_t
sg_ev_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * SG_NS_PER_SEC + ts.tv_nsec;
}

struct sg_ev *
sg_ev_new(void)
{
	struct sg_ev *ev = calloc(1, sizeof(*ev));

	if (ev == NULL)
		return NULL;
	ev->b = sg_evb_new();
	if (ev->b == NULL) {
		free(ev);
		return NULL;
	}
	ev->now = sg_ev_clock();
	return ev;
}

void
sg_ev_free(struct sg_ev *ev)
{
	if (ev == NULL)
		return;
	ev_run_deferred(ev);
	sg_evb_free(ev->b);
	free(ev->h);
	free(ev->t);
	free(ev->d);
	free(ev);
}

int
sg_ev_set(struct sg_ev *ev, int fd, unsigned mask, sg_ev_cb cb, void *arg)
{
	struct ev_handler *h;
	int rc;

	if (fd < 0)
		return -1;
	if (fd >= ev->nh && ev_grow(ev, fd) == -1)
		return -1;
	h = &ev->h[fd];
	mask &= SG_EV_READ | SG_EV_WRITE | SG_EV_EDGE;
	if (h->known && h->mask == mask && h->cb == cb && h->arg == arg)
		return 0;
	if (!h->known)
		rc = sg_evb_add(ev->b, fd, mask);
	else if (h->mask != mask)
		rc = sg_evb_mod(ev->b, fd, mask);
	else
		rc = 0;
	if (rc == -1)
		return -1;
	h->known = true;
	h->mask = mask;
	h->cb = cb;
	h->arg = arg;
	return 0;
}

void
sg_ev_del(struct sg_ev *ev, int fd)
{
	if (fd < 0 || fd >= ev->nh || !ev->h[fd].known)
		return;
	sg_evb_del(ev->b, fd);
	memset(&ev->h[fd], 0, sizeof(ev->h[fd]));
}

bool
sg_ev_fired(const struct sg_ev *ev, int fd)
{
	return fd >= 0 && fd < ev->nh && ev->h[fd].fired;
}

int64_t
sg_ev_now(const struct sg_ev *ev)
{
	return ev->now;
}

uint64_t
sg_ev_timer_add(struct sg_ev *ev, int64_t deadline, sg_ev_timer_cb cb,
    void *arg)
{
	struct ev_timer *t;

	if (ev->nt == ev->capt) {
		size_t cap = ev->capt ? ev->capt * 2 : 16;
		void *p = realloc(ev->t, cap * sizeof(*ev->t));

		if (p == NULL)
			return 0;
		ev->t = p;
		ev->capt = cap;
	}
	t = &ev->t[ev->nt++];
	t->id = ++ev->next_id;
	t->deadline = deadline;
	t->cb = cb;
	t->arg = arg;
	return t->id;
}

void
sg_ev_timer_del(struct sg_ev *ev, uint64_t id)
{
	size_t i;

	for (i = 0; i < ev->nt; i++) {
		if (ev->t[i].id == id) {
			ev->t[i] = ev->t[--ev->nt];
			return;
		}
	}
}

void
sg_ev_defer(struct sg_ev *ev, sg_ev_defer_cb cb, void *arg)
{
	if (ev->nd == ev->capd) {
		size_t cap = ev->capd ? ev->capd * 2 : 64;
		void *p = realloc(ev->d, cap * sizeof(*ev->d));

		if (p == NULL) {
			/* cannot defer: run now rather than leak */
			cb(arg);
			return;
		}
		ev->d = p;
		ev->capd = cap;
	}
	ev->d[ev->nd].cb = cb;
	ev->d[ev->nd].arg = arg;
	ev->nd++;
}

int
sg_ev_run_once(struct sg_ev *ev, int timeout_ms)
{
	int n, i;
	size_t k;

	for (k = 0; k < ev->nt; k++) {
		int64_t left = ev->t[k].deadline - ev->now;
		int ms = left <= 0 ? 0 : (int)((left + SG_NS_PER_MS - 1) /
		    SG_NS_PER_MS);

		if (timeout_ms < 0 || ms < timeout_ms)
			timeout_ms = ms;
	}
	n = sg_evb_wait(ev->b, ev->fired, (int)SG_ARRAY_LEN(ev->fired),
	    timeout_ms);
	ev->now = sg_ev_clock();
	for (i = 0; i < n; i++)
		if (ev->fired[i].fd >= 0 && ev->fired[i].fd < ev->nh)
			ev->h[ev->fired[i].fd].fired = true;
	for (i = 0; i < n; i++) {
		int fd = ev->fired[i].fd;
		struct ev_handler *h;
		unsigned m;

		if (fd < 0 || fd >= ev->nh)
			continue;
		h = &ev->h[fd];
		h->fired = false;
		if (!h->known || h->cb == NULL)
			continue;
		m = ev->fired[i].events;
		/* HUP goes with READ, to those who read */
		if (!(m & SG_EV_ERROR))
			m &= h->mask | (h->mask & SG_EV_READ ? SG_EV_HUP : 0);
		if (m == 0)
			continue;
		h->cb(ev, fd, m, h->arg);
	}
	ev_run_timers(ev);
	ev_run_deferred(ev);
	return n;
}

static void
ev_run_timers(struct sg_ev *ev)
{
	size_t i = 0;

	while (i < ev->nt) {
		if (ev->t[i].deadline <= ev->now) {
			struct ev_timer t = ev->t[i];

			ev->t[i] = ev->t[--ev->nt];
			t.cb(ev, t.arg);
			i = 0; /* the callback may have changed the array */
			continue;
		}
		i++;
	}
}

static void
ev_run_deferred(struct sg_ev *ev)
{
	size_t i;

	/* callbacks may defer more work; run until the list is empty */
	for (i = 0; i < ev->nd; i++)
		ev->d[i].cb(ev->d[i].arg);
	ev->nd = 0;
}

static int
ev_grow(struct sg_ev *ev, int fd)
{
	int n = ev->nh ? ev->nh : 256;
	struct ev_handler *h;

	while (n <= fd)
		n *= 2;
	h = realloc(ev->h, (size_t)n * sizeof(*h));
	if (h == NULL)
		return -1;
	memset(h + ev->nh, 0, (size_t)(n - ev->nh) * sizeof(*h));
	ev->h = h;
	ev->nh = n;
	return 0;
}
