/* SPDX-License-Identifier: MIT */
/*
 * upstream.c: upstream endpoints, dialing (unix, TCP, TCP + TLS) and the
 * keep-alive pool. Owns endpoint addresses and TLS contexts, upstream
 * connections and their I/O. A pooled connection is watched while idle
 * so a daemon that closed it (restart) is noticed and the connection
 * dropped, and every connection taken from the pool is checked alive
 * first. A request is never retried once bytes went upstream.
 *
 * Which endpoint is active is decided by failover.c.
 */
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sockguard/log.h"
#include "sockguard/runtime.h"
#include "sockguard/tls.h"

#include <openssl/err.h>

static int upstream_socket(struct sg_endpoint *ep, bool *connecting);
static void upstream_idle_cb(struct sg_ev *ev, int fd, unsigned events,
    void *arg);
static void upstream_unlink(struct sg_upc *u);
static void upstream_free(struct sg_upc *u);
static void upstream_free_cb(void *arg);

static int
upstream_resolve(struct sg_endpoint *ep, char *err, size_t errlen)
{
	struct addrinfo hints = {0}, *res = NULL;
	int rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(ep->ir->host, ep->ir->port, &hints, &res);
	if (rc != 0 || res == NULL) {
		snprintf(err, errlen, "resolve %s: %s", ep->ir->host,
		    gai_strerror(rc));
		return -1;
	}
	memcpy(&ep->sa, res->ai_addr, res->ai_addrlen);
	ep->salen = res->ai_addrlen;
	ep->have_addr = true;
	freeaddrinfo(res);
	return 0;
}

int
sg_upstream_init(struct sg_server *srv, char *err, size_t errlen)
{
	const struct sg_ir_upstream *ir = &srv->conf->ir->upstream;
	size_t i;

	srv->nep = ir->nendpoints;
	srv->ep = calloc(srv->nep, sizeof(*srv->ep));
	if (srv->ep == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < srv->nep; i++) {
		struct sg_endpoint *ep = &srv->ep[i];
		const struct sg_ir_endpoint *e = &ir->endpoints[i];
		char m[512];

		ep->srv = srv;
		ep->ir = e;
		ep->idx = i;
		snprintf(ep->label, sizeof(ep->label), "%s", e->address);
		if (e->kind == SG_EP_UNIX) {
			struct sockaddr_un *sun = (void *)&ep->sa;

			if (strlen(e->path) >= sizeof(sun->sun_path)) {
				snprintf(err, errlen, "%s: socket path too long",
				    e->address);
				return -1;
			}
			sun->sun_family = AF_UNIX;
			memcpy(sun->sun_path, e->path, strlen(e->path) + 1);
			ep->salen = (socklen_t)sizeof(*sun);
			ep->have_addr = true;
			continue;
		}
		/* an unresolvable name is a probe failure, not a config error */
		if (upstream_resolve(ep, m, sizeof(m)) == -1)
			snprintf(ep->error, sizeof(ep->error), "%s", m);
		if (e->tls) {
			ep->tls = sg_tls_client_ctx(e, m, sizeof(m));
			if (ep->tls == NULL) {
				snprintf(err, errlen, "%s: %s", e->address, m);
				return -1;
			}
		}
		if (e->insecure_allow_plain_tcp && !e->tls)
			sg_warnx("upstream %s: plaintext TCP (insecure): any "
			    "host on the path can read or inject Docker API "
			    "requests", e->address);
		if (e->insecure_skip_tls_verify)
			sg_warnx("upstream %s: the daemon's certificate is not "
			    "verified (insecure_skip_tls_verify): a "
			    "man-in-the-middle can impersonate it", e->address);
	}
	srv->active_ep = 0;
	return 0;
}

void
sg_upstream_fini(struct sg_server *srv)
{
	size_t i;

	for (i = 0; i < srv->nep; i++) {
		if (srv->ep[i].gai_busy) {
			gai_cancel(&srv->ep[i].gai);
			if (gai_error(&srv->ep[i].gai) == 0 &&
			    srv->ep[i].gai.ar_result != NULL)
				freeaddrinfo(srv->ep[i].gai.ar_result);
		}
		if (srv->ep[i].tls != NULL)
			SSL_CTX_free(srv->ep[i].tls);
	}
}

struct sg_endpoint *
sg_upstream_active(struct sg_server *srv)
{
	return &srv->ep[srv->active_ep];
}

static int
upstream_socket(struct sg_endpoint *ep, bool *connecting)
{
	int fd, rc, e;

	*connecting = false;
	if (!ep->have_addr) {
		errno = EADDRNOTAVAIL;
		return -1;
	}
	fd = socket(ep->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (ep->sa.ss_family != AF_UNIX) {
		int one = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	do
		rc = connect(fd, (struct sockaddr *)&ep->sa, ep->salen);
	while (rc == -1 && errno == EINTR);
	if (rc == -1) {
		if (errno == EINPROGRESS) {
			*connecting = true;
			return fd;
		}
		/* a unix socket with a full accept queue answers EAGAIN */
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* A pooled connection is usable when reading it would block. */
static bool
upstream_alive(struct sg_upc *u)
{
	char b;

	if (u->s.ssl != NULL) {
		unsigned want = 0;
		ssize_t r = sg_tls_read(u->s.ssl, &b, 1, &want);

		/* WANT_READ: nothing but TLS records (tickets) arrived */
		return r == -1 && want == SG_TLS_WANT_READ;
	}
	{
		ssize_t r = recv(u->s.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

		return r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK);
	}
}

struct sg_upc *
sg_upstream_open(struct sg_endpoint *ep, bool *connecting)
{
	struct sg_upc *u;
	char err[256];
	int fd;

	fd = upstream_socket(ep, connecting);
	if (fd == -1) {
		snprintf(ep->error, sizeof(ep->error), "connect: %s",
		    strerror(errno));
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	u->s.fd = fd;
	u->ep = ep;
	u->connected = !*connecting;
	u->hs_done = ep->tls == NULL;
	if (ep->tls != NULL) {
		u->s.ssl = sg_tls_client_new(ep->tls, fd, ep->ir, err,
		    sizeof(err));
		if (u->s.ssl == NULL) {
			snprintf(ep->error, sizeof(ep->error), "%s", err);
			upstream_free(u);
			errno = EPROTO;
			return NULL;
		}
		*connecting = true; /* the handshake is still to come */
	}
	return u;
}

struct sg_upc *
sg_upstream_acquire(struct sg_server *srv, bool *connecting)
{
	struct sg_endpoint *ep = sg_upstream_active(srv);
	struct sg_upc *u;

	*connecting = false;
	while ((u = ep->idle) != NULL) {
		upstream_unlink(u);
		/*
		 * An idle connection is watched by upstream_idle_cb, which drops
		 * it on EOF or stray bytes; a peek is still needed for one that
		 * sat idle a while, since its EOF may be queued in this round.
		 * One released moments ago is known good (a daemon does not
		 * time out a connection it just answered on), which saves a
		 * syscall per request on a busy proxy, unless an event for it
		 * came in this round and upstream_idle_cb has not seen it yet
		 * (bytes or EOF the peek will find).
		 */
		if ((u->s.ssl == NULL && !u->unseen_tail &&
		    sg_ev_now(srv->ev) - u->idle_since < SG_POOL_HOT_NS &&
		    !sg_ev_fired(srv->ev, u->s.fd)) ||
		    upstream_alive(u)) {
			/* the caller re-points the fd's handler before the loop
			 * can dispatch another event for it */
			u->reused = true;
			return u;
		}
		sg_ev_del(srv->ev, u->s.fd);
		sg_ev_defer(srv->ev, upstream_free_cb, u);
	}
	return sg_upstream_open(ep, connecting);
}

enum sg_rc
sg_upc_advance(struct sg_upc *u, unsigned *want, char *err, size_t errlen)
{
	int e = 0;
	socklen_t l = sizeof(e);

	*want = 0;
	if (!u->connected) {
		struct pollfd pf = {.fd = u->s.fd, .events = POLLOUT};

		/* SO_ERROR reads 0 while a connect is still in progress */
		if (poll(&pf, 1, 0) == 0) {
			*want = SG_TLS_WANT_WRITE;
			return SG_AGAIN;
		}
		if (getsockopt(u->s.fd, SOL_SOCKET, SO_ERROR, &e, &l) == -1)
			e = errno;
		if (e == EINPROGRESS || e == EALREADY) {
			*want = SG_TLS_WANT_WRITE;
			return SG_AGAIN;
		}
		if (e != 0) {
			snprintf(err, errlen, "connect: %s", strerror(e));
			errno = e;
			return SG_ERR;
		}
		u->connected = true;
	}
	if (!u->hs_done) {
		enum sg_rc rc = sg_tls_handshake(u->s.ssl, want, err, errlen);

		if (rc == SG_ERR) {
			char m[512];

			snprintf(m, sizeof(m), "TLS handshake: %s", err);
			snprintf(err, errlen, "%s", m);
			errno = EPROTO;
			return SG_ERR;
		}
		if (rc == SG_AGAIN)
			return SG_AGAIN;
		u->hs_done = true;
	}
	return SG_OK;
}

static void
upstream_free(struct sg_upc *u)
{
	if (u->s.ssl != NULL)
		SSL_free(u->s.ssl);
	close(u->s.fd);
	free(u);
}

static void
upstream_free_cb(void *arg)
{
	upstream_free(arg);
}

static void
upstream_unlink(struct sg_upc *u)
{
	struct sg_endpoint *ep = u->ep;

	if (u->prev != NULL)
		u->prev->next = u->next;
	else
		ep->idle = u->next;
	if (u->next != NULL)
		u->next->prev = u->prev;
	u->next = u->prev = NULL;
	ep->nidle--;
}

void
sg_upstream_release(struct sg_server *srv, struct sg_upc *u, bool reuse)
{
	struct sg_endpoint *ep = u->ep;

	if (!reuse || !u->hs_done || ep->nidle >= SG_POOL_MAX_IDLE ||
	    srv->draining || ep->health == SG_EP_UNHEALTHY ||
	    sg_ev_set(srv->ev, u->s.fd, SG_EV_READ | sg_sock_edge(&u->s),
	    upstream_idle_cb, u) == -1) {
		/* deferred: the fd number must not be reused this round */
		sg_ev_del(srv->ev, u->s.fd);
		sg_ev_defer(srv->ev, upstream_free_cb, u);
		return;
	}
	u->s.rd_wants_w = u->s.wr_wants_r = false;
	u->idle_since = sg_ev_now(srv->ev);
	u->prev = NULL;
	u->next = ep->idle;
	if (ep->idle != NULL)
		ep->idle->prev = u;
	ep->idle = u;
	ep->nidle++;
}

/* An idle pooled connection became readable: EOF or junk, drop it. */
static void
upstream_idle_cb(struct sg_ev *ev, int fd, unsigned events, void *arg)
{
	struct sg_upc *u = arg;

	(void)events;
	if (u->s.ssl != NULL && upstream_alive(u))
		return; /* a TLS record that carried no data */
	upstream_unlink(u);
	sg_ev_del(ev, fd);
	sg_ev_defer(ev, upstream_free_cb, u);
}

void
sg_upstream_drop_pool(struct sg_server *srv, struct sg_endpoint *ep)
{
	struct sg_upc *u;

	while ((u = ep->idle) != NULL) {
		upstream_unlink(u);
		sg_ev_del(srv->ev, u->s.fd);
		sg_ev_defer(srv->ev, upstream_free_cb, u);
	}
}

void
sg_upstream_reap(struct sg_server *srv)
{
	int64_t now = sg_ev_now(srv->ev);
	size_t i;

	for (i = 0; i < srv->nep; i++) {
		struct sg_upc *u = srv->ep[i].idle, *n;

		for (; u != NULL; u = n) {
			n = u->next;
			if (now - u->idle_since >= SG_POOL_IDLE_NS) {
				upstream_unlink(u);
				sg_ev_del(srv->ev, u->s.fd);
				sg_ev_defer(srv->ev,
				    upstream_free_cb, u);
			}
		}
	}
}

void
sg_upstream_close_all(struct sg_server *srv)
{
	size_t i;

	for (i = 0; i < srv->nep; i++)
		sg_upstream_drop_pool(srv, &srv->ep[i]);
}

int
sg_upstream_dial_blocking(struct sg_endpoint *ep, int ms, int *fdp, SSL **sslp,
    char *err, size_t errlen)
{
	struct sg_upc u = {0};
	bool connecting;
	int64_t deadline = sg_ev_clock() + (int64_t)ms * SG_NS_PER_MS;

	*fdp = -1;
	*sslp = NULL;
	u.s.fd = upstream_socket(ep, &connecting);
	if (u.s.fd == -1) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		return -1;
	}
	u.ep = ep;
	u.connected = !connecting;
	u.hs_done = ep->tls == NULL;
	if (ep->tls != NULL) {
		u.s.ssl = sg_tls_client_new(ep->tls, u.s.fd, ep->ir, err, errlen);
		if (u.s.ssl == NULL) {
			close(u.s.fd);
			return -1;
		}
	}
	for (;;) {
		unsigned want = 0;
		enum sg_rc rc = sg_upc_advance(&u, &want, err, errlen);
		struct pollfd p = {.fd = u.s.fd};
		int64_t left = deadline - sg_ev_clock();

		if (rc == SG_OK)
			break;
		if (rc == SG_ERR || left <= 0) {
			if (rc != SG_ERR)
				snprintf(err, errlen, "%s timed out after %d ms",
				    u.connected ? "TLS handshake" : "connect",
				    ms);
			if (u.s.ssl != NULL)
				SSL_free(u.s.ssl);
			close(u.s.fd);
			return -1;
		}
		p.events = want == SG_TLS_WANT_READ ? POLLIN : POLLOUT;
		poll(&p, 1, (int)(left / SG_NS_PER_MS) + 1);
	}
	*fdp = u.s.fd;
	*sslp = u.s.ssl;
	return 0;
}

/*
 * /health: the active endpoint's state. A unix endpoint is checked by
 * connecting (cached 2 s after success, 100 ms after failure); TCP
 * endpoints report what the failover probes last saw and, when that is
 * older than 2 s, start a new probe in the background (not when a
 * negative health_interval turned the recurring probes off).
 */
bool
sg_upstream_check(struct sg_server *srv)
{
	int64_t now = sg_ev_now(srv->ev);
	struct sg_endpoint *ep = sg_upstream_active(srv);

	if (ep->ir->kind == SG_EP_TCP) {
		/* a negative health_interval: no probe traffic but at
		 * startup and after a failed dial (seed) */
		if (now - ep->health_at > 2 * SG_NS_PER_SEC &&
		    srv->conf->ir->upstream.health_interval_ns >= 0)
			sg_failover_probe(ep);
		return ep->health == SG_EP_HEALTHY;
	}
	if (now < srv->health_until)
		return srv->health_ok;
	{
		bool connecting;
		int fd = upstream_socket(ep, &connecting);

		srv->health_ok = fd != -1;
		if (fd != -1)
			close(fd);
		else
			snprintf(ep->error, sizeof(ep->error), "connect: %s",
			    strerror(errno));
	}
	sg_failover_set(ep, srv->health_ok ? SG_EP_HEALTHY : SG_EP_UNHEALTHY,
	    ep->error);
	srv->health_until = now + (srv->health_ok ? 2 * SG_NS_PER_SEC :
	    100 * SG_NS_PER_MS);
	return srv->health_ok;
}
