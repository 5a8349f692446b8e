/* SPDX-License-Identifier: MIT */
/*
 * server.c: `sockguard run`. Owns process-wide runtime setup (file
 * descriptor limit, signals through a self-pipe, log sinks), the startup
 * sequence (upstream probe, then bind every listener or none) and the
 * main loop with its periodic work and the bounded shutdown drain.
 */
#include <sys/resource.h>

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sockguard/cfg.h"
#include "sockguard/log.h"
#include "sockguard/runtime.h"

static volatile sig_atomic_t server_sig;
static volatile sig_atomic_t server_hup;
static int server_pipe[2] = {-1, -1};

static void
server_on_signal(int sig)
{
	int e = errno;
	char b = (char)sig;

	if (sig == SIGHUP)
		server_hup = 1;
	else
		server_sig = sig;
	if (server_pipe[1] != -1)
		(void)!write(server_pipe[1], &b, 1);
	errno = e;
}

static void
server_on_pipe(struct sg_ev *ev, int fd, unsigned events, void *arg)
{
	char b[64];

	(void)ev;
	(void)events;
	(void)arg;
	while (read(fd, b, sizeof(b)) > 0)
		;
}

static void
server_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			sg_warnx("cannot raise the open file limit: %s",
			    strerror(errno));
	}
}

static int
server_signals(bool hup)
{
	struct sigaction sa;

	if (pipe2(server_pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = server_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* without reload, SIGHUP keeps its default action (terminate) */
	if (hup)
		sigaction(SIGHUP, &sa, NULL);
	return 0;
}

static void
server_log_started(struct sg_server *srv)
{
	static struct sg_logrec r;
	char lst[1024] = "";
	size_t i, o = 0;

	for (i = 0; i < srv->nlst && o < sizeof(lst) - 1; i++)
		o += (size_t)snprintf(lst + o, sizeof(lst) - o, "%s%s",
		    i ? "," : "", srv->lst[i].label);
	if (srv->conf->ir->compat_env != NULL) {
		sg_log_begin(&r, SG_LOG_INFO,
		    "tecnativa compatibility mode active");
		sg_log_str(&r, "variables", srv->conf->ir->compat_env);
		sg_log_int(&r, "rules", (long long)srv->conf->ir->nrules);
		sg_log_end(&r);
	}
	sg_log_begin(&r, SG_LOG_INFO, "sockguard started");
	sg_log_str(&r, "version", sg_version);
	sg_log_str(&r, "listeners", lst);
	sg_log_str(&r, "upstream", sg_upstream_active(srv)->label);
	sg_log_int(&r, "rules", (long long)srv->conf->ir->nrules);
	sg_log_str(&r, "log_level", sg_ir_log_level_name(
	    srv->conf->ir->log.level));
	sg_log_str(&r, "event_backend", sg_evb_name());
	if (srv->conf->ir->upstream.request_timeout_ns > 0) {
		char d[64];

		sg_duration_format(srv->conf->ir->upstream.request_timeout_ns,
		    d, sizeof(d));
		sg_log_str(&r, "upstream_request_timeout", d);
	} else {
		sg_log_str(&r, "upstream_request_timeout", "off");
	}
	sg_log_end(&r);
}

int
sg_server_run(struct sg_conf *conf, const struct sg_load_opts *lo)
{
	struct sg_server srv;
	char err[1024];
	int64_t next_reap, log_due = -1;
	int rc = 0;

	memset(&srv, 0, sizeof(srv));
	srv.conf = conf;
	/* listeners and endpoints point into the startup generation */
	srv.boot = sg_conf_ref(conf);
	srv.reserve_fd = -1;
	srv.tl[SG_TL_HEAD].timeout = SG_HEAD_TIMEOUT;
	srv.tl[SG_TL_IDLE].timeout = SG_IDLE_TIMEOUT;
	srv.tl[SG_TL_REQ].timeout = conf->ir->upstream.request_timeout_ns;
	server_raise_nofile();
	/*
	 * Exchange buffers are ~150 KiB: a fixed mmap threshold keeps them
	 * mmap-backed so trimmed ones really return to the system (glibc
	 * would otherwise raise the threshold and keep them in the heap).
	 */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	if (sg_log_start(&conf->ir->log, err, sizeof(err)) == -1) {
		fprintf(stderr, "sockguard: %s\n", err);
		return 1;
	}
	srv.ev = sg_ev_new();
	if (srv.ev == NULL || server_signals(conf->ir->reload_enabled) == -1) {
		sg_errx("cannot set up the event loop: %s", strerror(errno));
		sg_log_stop();
		return 1;
	}
	srv.started_ns = sg_ev_now(srv.ev);
	srv.started_wall = time(NULL);
	conf->generation = 1;
	conf->loaded_at = (int64_t)srv.started_wall;
	sg_sha256_file(conf->ir->config_path, conf->sha256);
	if (sg_upstream_init(&srv, err, sizeof(err)) == -1 ||
	    sg_failover_startup(&srv, err, sizeof(err)) == -1 ||
	    sg_listen_open_all(&srv, err, sizeof(err)) == -1) {
		sg_errx("startup failed: %s", err);
		fprintf(stderr, "sockguard: %s\n", err);
		rc = 1;
		goto out;
	}
	sg_ev_set(srv.ev, server_pipe[0], SG_EV_READ, server_on_pipe, NULL);
	sg_listen_start(&srv);
	sg_failover_arm(&srv);
	sg_reload_start(&srv, lo);
	server_log_started(&srv);
	sg_log_batch(true);
	next_reap = sg_ev_now(srv.ev) + SG_NS_PER_SEC;

	for (;;) {
		int64_t now = sg_ev_now(srv.ev), d;
		int timeout;

		d = sg_conn_next_deadline(&srv);
		if (d < 0 || d > next_reap)
			d = next_reap;
		if (log_due >= 0 && now + log_due < d)
			d = now + log_due;
		timeout = d <= now ? 0 : (int)((d - now + SG_NS_PER_MS - 1) /
		    SG_NS_PER_MS);
		sg_ev_run_once(srv.ev, timeout);
		now = sg_ev_now(srv.ev);
		sg_conn_expire(&srv);
		log_due = sg_log_kick(now);
		if (now >= next_reap) {
			sg_upstream_reap(&srv);
			sg_conn_trim(&srv);
			next_reap = now + SG_NS_PER_SEC;
		}
		if (server_hup) {
			server_hup = 0;
			sg_reload_trigger(&srv, "SIGHUP");
		}
		if (server_sig != 0 && !srv.draining) {
			size_t i;

			sg_info("shutting down on signal %d: draining in-flight "
			    "requests for up to %lld s", (int)server_sig,
			    (long long)(SG_DRAIN_TIMEOUT / SG_NS_PER_SEC));
			srv.draining = true;
			srv.drain_deadline = now + SG_DRAIN_TIMEOUT;
			for (i = 0; i < srv.nlst; i++)
				srv.lst[i].state = SG_LST_DRAINING;
			sg_listen_close_all(&srv);
			sg_failover_stop(&srv);
			sg_reload_stop(&srv);
			sg_conn_drain(&srv);
			sg_upstream_close_all(&srv);
		}
		if (srv.draining) {
			if (srv.nconns == 0)
				break;
			if (now >= srv.drain_deadline) {
				sg_warnx("drain deadline reached; closing %zu "
				    "open connection(s)", srv.nconns);
				sg_conn_close_all(&srv);
				sg_ev_run_once(srv.ev, 0);
				break;
			}
			if (next_reap > srv.drain_deadline)
				next_reap = srv.drain_deadline;
		}
	}
	sg_log_batch(false);
	sg_info("sockguard stopped");
out:
	sg_listen_close_all(&srv);
	sg_failover_stop(&srv);
	sg_reload_stop(&srv);
	sg_upstream_close_all(&srv);
	sg_ev_run_once(srv.ev, 0);
	while (srv.xfree != NULL) {
		struct sg_xfer *x = srv.xfree;

		srv.xfree = x->next_free;
		free(x);
	}
	sg_upstream_fini(&srv);
	free(srv.lst);
	free(srv.ep);
	sg_conf_unref(srv.conf);
	sg_conf_unref(srv.boot);
	if (srv.reserve_fd != -1)
		close(srv.reserve_fd);
	sg_ev_free(srv.ev);
	sg_log_stop();
	return rc;
}
