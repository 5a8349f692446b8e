/* SPDX-License-Identifier: MIT */
/*
 * test_ev.c: the event loop over socket pairs: level- and edge-triggered
 * readiness, a change of interest that finds bytes already waiting, and
 * which events of a round are still to be dispatched.
 */
#include <sys/socket.h>

#include <string.h>
#include <unistd.h>

#include <check.h>

#include "sockguard/ev.h"

struct ev_probe {
	struct sg_ev *ev;
	int calls;
	int other;        /* an fd whose pending event this callback looks at */
	bool other_fired; /* sg_ev_fired(other) during the callback */
	bool self_fired;  /* sg_ev_fired(own fd) during the callback */
	unsigned events;  /* of the last call */
};

static void
ev_count(struct sg_ev *ev, int fd, unsigned events, void *arg)
{
	struct ev_probe *p = arg;

	p->events = events;
	p->calls++;
	p->self_fired = sg_ev_fired(ev, fd);
	if (p->other >= 0)
		p->other_fired = sg_ev_fired(ev, p->other);
}

/* A socket pair whose first end ev watches with mask, one byte waiting. */
static void
ev_pair_open(struct sg_ev *ev, int sv[2], unsigned mask, struct ev_probe *p)
{
	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(sg_ev_set(ev, sv[0], mask, ev_count, p), 0);
	ck_assert_int_eq(write(sv[1], "x", 1), 1);
}

/* Forgets and closes a socket pair whose first end ev watches. */
static void
ev_pair_close(struct sg_ev *ev, int sv[2])
{
	sg_ev_del(ev, sv[0]);
	close(sv[0]);
	close(sv[1]);
}

static bool
ev_is_epoll(void)
{
	return strcmp(sg_evb_name(), "epoll") == 0;
}

/*
 * More ready fds than one round dispatches (256): the next round starts
 * with those left over, so none waits behind fds that are ready again.
 */
START_TEST(ev_a_full_round_leaves_no_fd_behind)
{
	enum { NP = 300 };
	static int sv[NP][2];
	static struct ev_probe p[NP];
	struct sg_ev *ev = sg_ev_new();
	int i, missed = 0;

	for (i = 0; i < NP; i++) {
		p[i].other = -1;
		ev_pair_open(ev, sv[i], SG_EV_READ, &p[i]);
	}
	/* level-triggered and never read: every fd stays ready */
	sg_ev_run_once(ev, 1000);
	sg_ev_run_once(ev, 1000);
	for (i = 0; i < NP; i++)
		missed += p[i].calls == 0;
	ck_assert_int_eq(missed, 0);
	for (i = 0; i < NP; i++)
		ev_pair_close(ev, sv[i]);
	sg_ev_free(ev);
}
END_TEST

START_TEST(ev_level_triggered_repeats_until_read)
{
	struct sg_ev *ev = sg_ev_new();
	struct ev_probe p = {.other = -1};
	int sv[2];

	ev_pair_open(ev, sv, SG_EV_READ, &p);
	sg_ev_run_once(ev, 1000);
	ck_assert_int_eq(p.calls, 1);
	/* bytes alone: no shutdown reported */
	ck_assert_uint_eq(p.events & SG_EV_HUP, 0);
	/* not read: reported again */
	sg_ev_run_once(ev, 0);
	ck_assert_int_eq(p.calls, 2);
	ev_pair_close(ev, sv);
	sg_ev_free(ev);
}
END_TEST

START_TEST(ev_edge_triggered_reports_new_bytes_once)
{
	struct sg_ev *ev = sg_ev_new();
	struct ev_probe p = {.other = -1};
	int sv[2];

	if (!ev_is_epoll())
		return; /* the poll backend is level-triggered only */
	ev_pair_open(ev, sv, SG_EV_READ | SG_EV_EDGE, &p);
	sg_ev_run_once(ev, 1000);
	ck_assert_int_eq(p.calls, 1);
	/* the byte is still there, but nothing new came */
	sg_ev_run_once(ev, 0);
	ck_assert_int_eq(p.calls, 1);
	/* new bytes are a new edge */
	ck_assert_int_eq(write(sv[1], "y", 1), 1);
	sg_ev_run_once(ev, 1000);
	ck_assert_int_eq(p.calls, 2);
	/*
	 * Taking interest away and back finds the bytes already waiting:
	 * conn.c relies on this when it stops and resumes reading.
	 */
	ck_assert_int_eq(sg_ev_set(ev, sv[0], SG_EV_EDGE, ev_count, &p), 0);
	sg_ev_run_once(ev, 0);
	ck_assert_int_eq(p.calls, 2);
	ck_assert_int_eq(sg_ev_set(ev, sv[0], SG_EV_READ | SG_EV_EDGE,
	    ev_count, &p), 0);
	sg_ev_run_once(ev, 1000);
	ck_assert_int_eq(p.calls, 3);
	ev_pair_close(ev, sv);
	sg_ev_free(ev);
}
END_TEST

/*
 * Bytes and the peer's shutdown that arrive before a wait come in one
 * edge-triggered report, marked HUP: reading the bytes (a short read)
 * leaves the end of file to be read, and no later report says so.
 */
START_TEST(ev_edge_triggered_hup_comes_with_the_bytes)
{
	struct sg_ev *ev = sg_ev_new();
	struct ev_probe p = {.other = -1};
	char b[16];
	int sv[2];

	if (!ev_is_epoll())
		return;
	ev_pair_open(ev, sv, SG_EV_READ | SG_EV_EDGE, &p);
	ck_assert_int_eq(shutdown(sv[1], SHUT_WR), 0);
	sg_ev_run_once(ev, 1000);
	ck_assert_int_eq(p.calls, 1);
	ck_assert_uint_eq(p.events & (SG_EV_READ | SG_EV_HUP),
	    SG_EV_READ | SG_EV_HUP);
	ck_assert_int_eq(read(sv[0], b, sizeof(b)), 1);
	sg_ev_run_once(ev, 0);
	ck_assert_int_eq(p.calls, 1);
	ck_assert_int_eq(read(sv[0], b, sizeof(b)), 0);
	ev_pair_close(ev, sv);
	sg_ev_free(ev);
}
END_TEST

/*
 * A hangup on an fd that wants nothing is told once, not at every wait
 * (that was a busy loop: a client gone while its exchange waited on the
 * daemon), and told again once the fd wants something.
 */
START_TEST(ev_hangup_without_interest_is_told_once)
{
	struct sg_ev *ev = sg_ev_new();
	struct ev_probe p = {.other = -1};
	int sv[2], i;

	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(sg_ev_set(ev, sv[0], 0, ev_count, &p), 0);
	close(sv[1]);
	sg_ev_run_once(ev, 1000);
	ck_assert_int_eq(p.calls, 1);
	ck_assert_uint_eq(p.events & SG_EV_ERROR, SG_EV_ERROR);
	for (i = 0; i < 5; i++)
		sg_ev_run_once(ev, 0);
	ck_assert_int_eq(p.calls, 1);
	/* the same interest set again changes nothing */
	ck_assert_int_eq(sg_ev_set(ev, sv[0], 0, ev_count, &p), 0);
	sg_ev_run_once(ev, 0);
	ck_assert_int_eq(p.calls, 1);
	/* wanting to read: the end of file is there to be read */
	ck_assert_int_eq(sg_ev_set(ev, sv[0], SG_EV_READ, ev_count, &p), 0);
	sg_ev_run_once(ev, 1000);
	ck_assert_int_eq(p.calls, 2);
	ck_assert_uint_eq(p.events & SG_EV_READ, SG_EV_READ);
	sg_ev_del(ev, sv[0]);
	close(sv[0]);
	sg_ev_free(ev);
}
END_TEST

START_TEST(ev_fired_names_the_events_still_to_come)
{
	struct sg_ev *ev = sg_ev_new();
	struct ev_probe a = {0}, b = {0};
	int sa[2], sb[2];

	ev_pair_open(ev, sa, SG_EV_READ, &a);
	ev_pair_open(ev, sb, SG_EV_READ, &b);
	a.other = sb[0];
	b.other = sa[0];
	ck_assert_int_eq(sg_ev_run_once(ev, 1000), 2);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(b.calls, 1);
	/* a callback's own event is dispatched; of the two, exactly the
	 * one dispatched second was still pending during the first */
	ck_assert(!a.self_fired && !b.self_fired);
	ck_assert(a.other_fired != b.other_fired);
	/* after the round nothing is pending */
	ck_assert(!sg_ev_fired(ev, sa[0]) && !sg_ev_fired(ev, sb[0]));
	ck_assert(!sg_ev_fired(ev, -1) && !sg_ev_fired(ev, 100000));
	ev_pair_close(ev, sa);
	ev_pair_close(ev, sb);
	sg_ev_free(ev);
}
END_TEST

Suite *suite_ev(void);

Suite *
suite_ev(void)
{
	Suite *s = suite_create("ev");
	TCase *tc = tcase_create("readiness");

	tcase_add_test(tc, ev_level_triggered_repeats_until_read);
	tcase_add_test(tc, ev_a_full_round_leaves_no_fd_behind);
	tcase_add_test(tc, ev_edge_triggered_reports_new_bytes_once);
	tcase_add_test(tc, ev_fired_names_the_events_still_to_come);
	tcase_add_test(tc, ev_edge_triggered_hup_comes_with_the_bytes);
	tcase_add_test(tc, ev_hangup_without_interest_is_told_once);
	suite_add_tcase(s, tc);
	return s;
}
