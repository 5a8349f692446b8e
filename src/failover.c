/* SPDX-License-Identifier: MIT */
/*
 * failover.c: endpoint health and the choice of the active endpoint.
 * Owns health probes (TCP connect, plus the TLS handshake for TLS
 * endpoints) run without blocking inside the event loop, their timers,
 * asynchronous re-resolution of host names, demotion when a request
 * cannot dial, and the startup comparison of what each endpoint reports
 * (GET /info) that makes the same-daemon constraint visible.
 *
 * The active endpoint is always the first known-healthy one in list
 * order; else the first not yet probed; else the first. Requests are
 * never retried here: a failed dial demotes, the next request moves on.
 */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "sockguard/http.h"
#include "sockguard/log.h"
#include "sockguard/runtime.h"
#include "sockguard/tls.h"

struct sg_probe {
	struct sg_endpoint *ep;
	struct sg_upc u;
	uint64_t timer;
	bool ping;        /* startup: also a GET /_ping round trip */
	uint8_t phase;    /* 0 connect/handshake, 1 send, 2 receive */
	size_t off;
	char resp[128];
};

static const char probe_ping[] = "GET /_ping HTTP/1.0\r\nHost: docker\r\n"
    "User-Agent: sockguard-probe\r\n\r\n";

static void probe_start(struct sg_endpoint *ep, bool ping);
static void probe_cb(struct sg_ev *ev, int fd, unsigned events, void *arg);
static void probe_timeout(struct sg_ev *ev, void *arg);
static void probe_done(struct sg_probe *p, bool ok, const char *err);
static void failover_tick(struct sg_ev *ev, void *arg);
static void probe_release(struct sg_probe *p);
static void failover_choose(struct sg_server *srv);

static const char *
health_name(enum sg_ep_health h)
{
	return h == SG_EP_HEALTHY ? "healthy" :
	    h == SG_EP_UNHEALTHY ? "unhealthy" : "unknown";
}

static void
failover_choose(struct sg_server *srv)
{
	size_t i, pick = 0;
	bool found = false;

	for (i = 0; i < srv->nep && !found; i++)
		if (srv->ep[i].health == SG_EP_HEALTHY) {
			pick = i;
			found = true;
		}
	for (i = 0; i < srv->nep && !found; i++)
		if (srv->ep[i].health == SG_EP_UNKNOWN) {
			pick = i;
			found = true;
		}
	if (pick != srv->active_ep) {
		static struct sg_logrec r;

		sg_log_begin(&r, SG_LOG_WARN, "upstream active endpoint changed");
		sg_log_str(&r, "from", srv->ep[srv->active_ep].label);
		sg_log_str(&r, "to", srv->ep[pick].label);
		sg_log_str(&r, "to_health", health_name(srv->ep[pick].health));
		sg_log_end(&r);
		srv->active_ep = pick;
	}
}

void
sg_failover_set(struct sg_endpoint *ep, enum sg_ep_health h, const char *err)
{
	struct sg_server *srv = ep->srv;
	static struct sg_logrec r;

	ep->health_at = srv->ev != NULL ? sg_ev_now(srv->ev) : sg_ev_clock();
	if (h != ep->health) {
		sg_log_begin(&r, h == SG_EP_UNHEALTHY ? SG_LOG_WARN : SG_LOG_INFO,
		    "upstream endpoint health changed");
		sg_log_str(&r, "endpoint", ep->label);
		sg_log_str(&r, "from", health_name(ep->health));
		sg_log_str(&r, "to", health_name(h));
		sg_log_bool(&r, "healthy", h == SG_EP_HEALTHY);
		if (h == SG_EP_UNHEALTHY && err != NULL && err[0] != '\0')
			sg_log_str(&r, "error", err);
		sg_log_end(&r);
		ep->health = h;
		if (h == SG_EP_UNHEALTHY && srv->ev != NULL)
			sg_upstream_drop_pool(srv, ep);
	}
	if (h == SG_EP_UNHEALTHY && err != NULL && err != ep->error)
		snprintf(ep->error, sizeof(ep->error), "%s", err);
	if (!srv->choose_later)
		failover_choose(srv);
}

void
sg_failover_demote(struct sg_server *srv, struct sg_endpoint *ep,
    const char *err)
{
	sg_failover_set(ep, SG_EP_UNHEALTHY, err);
	if (srv->nep < 2)
		return; /* nowhere to go; recovery shows on the next check */
	/* one asynchronous re-probe; recovery also comes with the interval */
	sg_failover_probe(ep);
}

/* Starts an asynchronous re-resolution of a host name (no blocking). */
static void
failover_resolve(struct sg_endpoint *ep)
{
	struct gaicb *list[1];

	if (ep->ir->kind != SG_EP_TCP)
		return;
	if (ep->gai_busy) {
		int rc = gai_error(&ep->gai);

		if (rc == EAI_INPROGRESS)
			return;
		ep->gai_busy = false;
		if (rc == 0 && ep->gai.ar_result != NULL) {
			memcpy(&ep->sa, ep->gai.ar_result->ai_addr,
			    ep->gai.ar_result->ai_addrlen);
			ep->salen = ep->gai.ar_result->ai_addrlen;
			ep->have_addr = true;
		}
		if (ep->gai.ar_result != NULL)
			freeaddrinfo(ep->gai.ar_result);
		ep->gai.ar_result = NULL;
		return;
	}
	{
		unsigned char b[16];

		if (inet_pton(AF_INET, ep->ir->host, b) == 1 ||
		    inet_pton(AF_INET6, ep->ir->host, b) == 1)
			return; /* literal address: nothing to resolve */
	}
	memset(&ep->gai, 0, sizeof(ep->gai));
	memset(&ep->gai_hints, 0, sizeof(ep->gai_hints));
	ep->gai_hints.ai_family = AF_UNSPEC;
	ep->gai_hints.ai_socktype = SOCK_STREAM;
	ep->gai_hints.ai_flags = AI_NUMERICSERV;
	ep->gai.ar_name = ep->ir->host;
	ep->gai.ar_service = ep->ir->port;
	ep->gai.ar_request = &ep->gai_hints;
	list[0] = &ep->gai;
	if (getaddrinfo_a(GAI_NOWAIT, list, 1, NULL) == 0)
		ep->gai_busy = true;
}

void
sg_failover_probe(struct sg_endpoint *ep)
{
	probe_start(ep, false);
}

static void
probe_start(struct sg_endpoint *ep, bool ping)
{
	struct sg_server *srv = ep->srv;
	struct sg_probe *p;
	bool connecting = false;
	int64_t to = srv->conf->ir->upstream.health_timeout_ns;

	if (ep->probe != NULL || srv->draining)
		return;
	failover_resolve(ep);
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return;
	p->ep = ep;
	p->ping = ping;
	ep->probe = p;
	{
		/* a connection of its own, never pooled */
		struct sg_upc *u = sg_upstream_open(ep, &connecting);

		if (u == NULL && (errno == EMFILE || errno == ENFILE ||
		    errno == ENOMEM || errno == ENOBUFS || errno == EPROTO)) {
			/* sockguard's own shortage (descriptors, memory, a
			 * TLS object) says nothing of the daemon: no verdict */
			sg_warnx("health probe of %s skipped: %s", ep->label,
			    ep->error[0] != '\0' ? ep->error : strerror(errno));
			ep->probe = NULL;
			free(p);
			return;
		}
		if (u == NULL) {
			p->u.s.fd = -1;
			probe_done(p, false, ep->error);
			return;
		}
		p->u = *u;
		free(u);
	}
	p->timer = sg_ev_timer_add(srv->ev, sg_ev_now(srv->ev) + to,
	    probe_timeout, p);
	if (!connecting) {
		probe_cb(srv->ev, p->u.s.fd, SG_EV_WRITE, p);
		return;
	}
	sg_ev_set(srv->ev, p->u.s.fd, SG_EV_WRITE, probe_cb, p);
}

static void
probe_cb(struct sg_ev *ev, int fd, unsigned events, void *arg)
{
	struct sg_probe *p = arg;
	unsigned want = 0, mask;
	char err[512];
	bool rd = true, wr = true;
	enum sg_rc rc;
	ssize_t n;

	(void)events;
	if (p->phase == 0) {
		rc = sg_upc_advance(&p->u, &want, err, sizeof(err));
		if (rc == SG_ERR) {
			probe_done(p, false, err);
			return;
		}
		if (rc == SG_AGAIN) {
			sg_ev_set(ev, fd, want == SG_TLS_WANT_READ ?
			    SG_EV_READ : SG_EV_WRITE, probe_cb, p);
			return;
		}
		if (!p->ping) {
			probe_done(p, true, NULL);
			return;
		}
		p->phase = 1;
	}
	if (p->phase == 1) {
		struct iovec iov = {(void *)(uintptr_t)(probe_ping + p->off),
		    sizeof(probe_ping) - 1 - p->off};

		n = sg_sock_writev(&p->u.s, &iov, 1, &rd, &wr);
		if (n == -2) {
			sg_tls_errstr(p->u.s.ssl, err, sizeof(err));
			probe_done(p, false, err);
			return;
		}
		if (n > 0)
			p->off += (size_t)n;
		if (p->off < sizeof(probe_ping) - 1) {
			mask = p->u.s.wr_wants_r ? SG_EV_READ : SG_EV_WRITE;
			p->u.s.wr_wants_r = false;
			sg_ev_set(ev, fd, mask, probe_cb, p);
			return;
		}
		p->phase = 2;
		p->off = 0;
	}
	for (;;) {
		n = sg_sock_read(&p->u.s, p->resp + p->off,
		    sizeof(p->resp) - 1 - p->off, &rd, &wr);
		if (n == -1) {
			mask = p->u.s.rd_wants_w ? SG_EV_WRITE : SG_EV_READ;
			p->u.s.rd_wants_w = false;
			sg_ev_set(ev, fd, mask, probe_cb, p);
			return;
		}
		if (n <= 0 || p->off + (size_t)n >= sizeof(p->resp) - 1 ||
		    memchr(p->resp, '\n', p->off + (size_t)n) != NULL) {
			if (n > 0)
				p->off += (size_t)n;
			break;
		}
		p->off += (size_t)n;
	}
	p->resp[p->off] = '\0';
	if (strncmp(p->resp, "HTTP/1.", 7) == 0 &&
	    strncmp(p->resp + 8, " 200", 4) == 0) {
		probe_done(p, true, NULL);
		return;
	}
	if (p->off == 0) {
		sg_tls_errstr(p->u.s.ssl, err, sizeof(err));
		probe_done(p, false, err[0] ? err : "connection closed before "
		    "answering GET /_ping");
		return;
	}
	p->resp[strcspn(p->resp, "\r\n")] = '\0';
	snprintf(err, sizeof(err), "GET /_ping answered \"%s\"", p->resp);
	probe_done(p, false, err);
}

static void
probe_timeout(struct sg_ev *ev, void *arg)
{
	struct sg_probe *p = arg;
	char err[128];

	(void)ev;
	p->timer = 0;
	snprintf(err, sizeof(err), "%s timed out after %lld ms",
	    p->u.connected ? "TLS handshake" : "connect",
	    (long long)(p->ep->srv->conf->ir->upstream.health_timeout_ns /
	    SG_NS_PER_MS));
	probe_done(p, false, err);
}

static void
probe_close(void *arg)
{
	struct sg_probe *p = arg;

	if (p->u.s.ssl != NULL)
		SSL_free(p->u.s.ssl);
	if (p->u.s.fd != -1)
		close(p->u.s.fd);
	free(p);
}

static void
probe_done(struct sg_probe *p, bool ok, const char *err)
{
	struct sg_endpoint *ep = p->ep;

	probe_release(p);
	sg_failover_set(ep, ok ? SG_EP_HEALTHY : SG_EP_UNHEALTHY, err);
}

/* Ends a probe without a verdict: its connection goes, health stays. */
static void
probe_release(struct sg_probe *p)
{
	struct sg_endpoint *ep = p->ep;
	struct sg_server *srv = ep->srv;

	if (p->timer != 0)
		sg_ev_timer_del(srv->ev, p->timer);
	if (p->u.s.fd != -1) {
		if (p->u.s.ssl != NULL && p->u.hs_done) {
			ERR_clear_error();
			SSL_shutdown(p->u.s.ssl);
		}
		sg_ev_del(srv->ev, p->u.s.fd);
	}
	ep->probe = NULL;
	sg_ev_defer(srv->ev, probe_close, p);
}

static void
failover_tick(struct sg_ev *ev, void *arg)
{
	struct sg_server *srv = arg;
	int64_t iv = srv->conf->ir->upstream.health_interval_ns;
	size_t i;

	srv->probe_timer = 0;
	if (srv->draining || iv <= 0)
		return;
	for (i = 0; i < srv->nep; i++)
		sg_failover_probe(&srv->ep[i]);
	srv->probe_timer = sg_ev_timer_add(ev, sg_ev_now(ev) + iv,
	    failover_tick, srv);
}

/* Recurring probes (none when health_interval is negative). */
void
sg_failover_arm(struct sg_server *srv)
{
	int64_t iv = srv->conf->ir->upstream.health_interval_ns;

	if (iv <= 0 || srv->probe_timer != 0)
		return;
	/* a plain upstream.socket is checked by /health; a unix socket
	 * listed in endpoints asks for the probing machinery (seed) */
	if (srv->conf->ir->upstream.source == SG_EPSRC_SOCKET &&
	    srv->nep == 1 && srv->ep[0].ir->kind == SG_EP_UNIX)
		return;
	srv->probe_timer = sg_ev_timer_add(srv->ev, sg_ev_now(srv->ev) + iv,
	    failover_tick, srv);
}

void
sg_failover_stop(struct sg_server *srv)
{
	size_t i;

	if (srv->probe_timer != 0) {
		sg_ev_timer_del(srv->ev, srv->probe_timer);
		srv->probe_timer = 0;
	}
	/* a probe cut short by the shutdown says nothing of the daemon:
	 * health stays, and so does the active endpoint for the drain */
	for (i = 0; i < srv->nep; i++)
		if (srv->ep[i].probe != NULL)
			probe_release(srv->ep[i].probe);
}

/* ---- startup ---- */

/* First string value of "key":"..." at or after p; "" when absent. */
static void
info_field(const char *body, const char *key, char *out, size_t cap)
{
	const char *p = strstr(body, key), *e;
	size_t n;

	out[0] = '\0';
	if (p == NULL)
		return;
	p += strlen(key);
	e = strchr(p, '"');
	if (e == NULL)
		return;
	n = (size_t)(e - p);
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/*
 * GET /info over a connection of its own; fills engine and cluster id.
 * The answer ends at its Content-Length (a daemon need not close the
 * connection), at the close, or when ms have passed in all.
 */
static void
failover_info(struct sg_endpoint *ep, int ms)
{
	static const char req[] = "GET /info HTTP/1.0\r\nHost: docker\r\n"
	    "User-Agent: sockguard\r\n\r\n";
	static struct sg_http_msg m;
	char err[512], *buf;
	size_t len = 0, cap = 1 << 20, scan = 0, want = 0;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	struct timespec t0, t;
	const char *why;
	int fd, hl = 0;
	SSL *ssl;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (sg_upstream_dial_blocking(ep, ms, &fd, &ssl, err, sizeof(err)) == -1)
		return;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	buf = malloc(cap + 1);
	if (buf == NULL)
		goto out;
	if (ssl != NULL ? SSL_write(ssl, req, sizeof(req) - 1) <= 0 :
	    write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1))
		goto out;
	while (len < cap && (want == 0 || len < want)) {
		ssize_t r = ssl != NULL ? SSL_read(ssl, buf + len,
		    (int)(cap - len)) : read(fd, buf + len, cap - len);

		if (r <= 0)
			break;
		len += (size_t)r;
		if (hl == 0) {
			hl = sg_http_head_end(buf, len, &scan);
			if (hl < 0 || (hl > 0 &&
			    (sg_http_parse_response(buf, (size_t)hl, false, &m,
			    &why) != 0 || m.status != 200)))
				goto out;
			if (hl > 0 && m.body == SG_BODY_LENGTH)
				want = m.content_length < cap - (size_t)hl ?
				    (size_t)hl + m.content_length : cap;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000 >= ms)
			break;
	}
	buf[len] = '\0';
	if (hl > 0) {
		info_field(buf + hl, "\"ID\":\"", ep->engine_id,
		    sizeof(ep->engine_id));
		info_field(buf + hl, "\"Cluster\":{\"ID\":\"", ep->cluster_id,
		    sizeof(ep->cluster_id));
	}
out:
	free(buf);
	if (ssl != NULL) {
		ERR_clear_error();
		SSL_free(ssl);
	}
	close(fd);
}

/*
 * The seed's constraint: every endpoint must front the same daemon or
 * Swarm cluster. Not enforceable, but visible: different engines with no
 * shared cluster get a loud warning naming both.
 */
static void
failover_same_daemon(struct sg_server *srv, int ms)
{
	size_t i, j;

	for (i = 0; i < srv->nep; i++)
		if (srv->ep[i].health == SG_EP_HEALTHY)
			failover_info(&srv->ep[i], ms);
	for (i = 0; i < srv->nep; i++) {
		for (j = i + 1; j < srv->nep; j++) {
			struct sg_endpoint *a = &srv->ep[i], *b = &srv->ep[j];
			static struct sg_logrec r;

			if (a->engine_id[0] == '\0' || b->engine_id[0] == '\0')
				continue;
			if (strcmp(a->engine_id, b->engine_id) == 0)
				continue;
			if (a->cluster_id[0] != '\0' &&
			    strcmp(a->cluster_id, b->cluster_id) == 0)
				continue;
			sg_log_begin(&r, SG_LOG_WARN, "upstream endpoints front "
			    "different Docker daemons: failover between them "
			    "would expose clients to dangling container IDs, "
			    "missing volumes and exec sessions; all endpoints "
			    "must be addresses of the same daemon or Swarm "
			    "cluster (run one sockguard per daemon otherwise)");
			sg_log_str(&r, "endpoint_a", a->label);
			sg_log_str(&r, "engine_id_a", a->engine_id);
			sg_log_str(&r, "endpoint_b", b->label);
			sg_log_str(&r, "engine_id_b", b->engine_id);
			sg_log_end(&r);
		}
	}
}

static int
failover_legacy_socket(struct sg_server *srv, char *err, size_t errlen)
{
	struct sg_endpoint *ep = &srv->ep[0];
	char m[512];
	SSL *ssl;
	int fd, e;

	if (sg_upstream_dial_blocking(ep, (int)(SG_DIAL_TIMEOUT /
	    SG_NS_PER_MS), &fd, &ssl, m, sizeof(m)) == 0) {
		close(fd);
		sg_failover_set(ep, SG_EP_HEALTHY, NULL);
		return 0;
	}
	e = errno;
	sg_failover_set(ep, SG_EP_UNHEALTHY, m);
	if (e == ENOENT)
		snprintf(err, errlen, "upstream socket not found (%s): %s",
		    ep->ir->path, strerror(e));
	else if (e == EACCES || e == EPERM)
		snprintf(err, errlen, "permission denied on upstream socket "
		    "(%s): %s", ep->ir->path, strerror(e));
	else
		snprintf(err, errlen, "upstream socket unreachable (%s): %s",
		    ep->ir->path, strerror(e));
	return -1;
}

int
sg_failover_startup(struct sg_server *srv, char *err, size_t errlen)
{
	const struct sg_ir_upstream *up = &srv->conf->ir->upstream;
	int64_t deadline = sg_ev_now(srv->ev) + 10 * SG_NS_PER_SEC;
	size_t i, o = 0;
	bool busy = true, any = false;

	if (up->source == SG_EPSRC_SOCKET && srv->nep == 1 &&
	    srv->ep[0].ir->kind == SG_EP_UNIX)
		return failover_legacy_socket(srv, err, errlen);
	if (up->source == SG_EPSRC_DOCKER_HOST)
		sg_info("using remote upstream from DOCKER_HOST environment: %s",
		    srv->ep[0].label);
	/*
	 * Every endpoint in parallel, within an overall 10 s budget. The
	 * startup probe also makes one GET /_ping round trip, so a daemon
	 * that rejects our client certificate (TLS 1.3 reports that only
	 * after the handshake) fails here, naming the cause.
	 */
	/* the active endpoint is chosen from all the results at once, not
	 * flipped to whichever answers first and back */
	srv->choose_later = true;
	for (i = 0; i < srv->nep; i++)
		probe_start(&srv->ep[i], true);
	while (busy && sg_ev_now(srv->ev) < deadline) {
		busy = false;
		for (i = 0; i < srv->nep; i++)
			if (srv->ep[i].probe != NULL)
				busy = true;
		if (busy)
			sg_ev_run_once(srv->ev, 100);
	}
	for (i = 0; i < srv->nep; i++) {
		if (srv->ep[i].probe != NULL)
			probe_done(srv->ep[i].probe, false, "startup probe "
			    "budget (10s) exhausted");
		if (srv->ep[i].health == SG_EP_HEALTHY)
			any = true;
	}
	srv->choose_later = false;
	failover_choose(srv);
	sg_ev_run_once(srv->ev, 0); /* run deferred closes */
	if (!any) {
		o = (size_t)snprintf(err, errlen, "no upstream endpoint "
		    "reachable: ");
		for (i = 0; i < srv->nep && o < errlen; i++)
			o += (size_t)snprintf(err + o, errlen - o, "%s%s: %s",
			    i ? "; " : "", srv->ep[i].label, srv->ep[i].error);
		return -1;
	}
	if (srv->nep >= 2)
		failover_same_daemon(srv, (int)(up->health_timeout_ns /
		    SG_NS_PER_MS));
	return 0;
}
