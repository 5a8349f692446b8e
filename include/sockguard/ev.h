/* SPDX-License-Identifier: MIT */
/*
 * ev.h: the event loop (redis ae sized). One thread, level-triggered
 * readiness for file descriptors (edge-triggered where the caller asks and
 * the backend can), a handful of one-shot timers, and a
 * deferred-close list run after each dispatch round so a reused fd never
 * receives a stale event. Backends: ev_epoll.c (default) and ev_poll.c,
 * chosen at build time (EV=epoll|poll).
 */
#ifndef SOCKGUARD_EV_H
#define SOCKGUARD_EV_H

#include "sockguard/common.h"

#define SG_EV_READ  0x1u
#define SG_EV_WRITE 0x2u
#define SG_EV_ERROR 0x4u /* reported only: hangup or error on the fd */
/*
 * Interest only: report READ/WRITE when the fd becomes ready rather than
 * while it is. For a caller that tracks readiness itself and forgets it
 * only on proof (EAGAIN, or a short read of a plain socket, which empties
 * its queue of bytes, unless SG_EV_HUP came: see there); it saves the
 * backend polling every reported fd once more. The poll backend stays
 * level-triggered, which such a caller also handles.
 */
#define SG_EV_EDGE  0x8u
/*
 * Reported only, with READ: the peer shut down its side (its FIN is
 * queued after any bytes). A short read then empties the bytes but not
 * the end of file, and no new edge will say so: the caller must read on
 * until read(2) returns 0.
 */
#define SG_EV_HUP   0x10u

struct sg_ev;

typedef void (*sg_ev_cb)(struct sg_ev *ev, int fd, unsigned events, void *arg);
typedef void (*sg_ev_timer_cb)(struct sg_ev *ev, void *arg);
typedef void (*sg_ev_defer_cb)(void *arg);

struct sg_ev *sg_ev_new(void);
void sg_ev_free(struct sg_ev *ev);
/* Registers or changes the interest of fd; mask 0 keeps fd registered but quiet. */
int sg_ev_set(struct sg_ev *ev, int fd, unsigned mask, sg_ev_cb cb, void *arg);
/* Forgets fd (before it is closed). */
void sg_ev_del(struct sg_ev *ev, int fd);
/* Whether an event for fd came in this round and is still to be dispatched. */
bool sg_ev_fired(const struct sg_ev *ev, int fd);
/* Waits at most until the next timer (or timeout_ms, -1 none), dispatches. */
int sg_ev_run_once(struct sg_ev *ev, int timeout_ms);
/* Monotonic nanoseconds, refreshed once per loop iteration. */
int64_t sg_ev_now(const struct sg_ev *ev);
int64_t sg_ev_clock(void);
/* One-shot timer; returns an id (> 0). */
uint64_t sg_ev_timer_add(struct sg_ev *ev, int64_t deadline_ns,
    sg_ev_timer_cb cb, void *arg);
void sg_ev_timer_del(struct sg_ev *ev, uint64_t id);
/* Runs cb(arg) after the current dispatch round (deferred close/free). */
void sg_ev_defer(struct sg_ev *ev, sg_ev_defer_cb cb, void *arg);

/* ---- backend interface (ev_epoll.c / ev_poll.c) ---- */
struct sg_ev_fired {
	int fd;
	unsigned events;
};

struct sg_evb;
struct sg_evb *sg_evb_new(void);
void sg_evb_free(struct sg_evb *b);
int sg_evb_add(struct sg_evb *b, int fd, unsigned mask);
int sg_evb_mod(struct sg_evb *b, int fd, unsigned mask);
int sg_evb_del(struct sg_evb *b, int fd);
/* Fills at most max entries; returns the count, or -1 (errno). */
int sg_evb_wait(struct sg_evb *b, struct sg_ev_fired *out, int max,
    int timeout_ms);
const char *sg_evb_name(void);

#endif
