/* SPDX-License-Identifier: MIT */
/*
 * upstream.c: the upstream endpoint set, dialing and the keep-alive pool.
 * Owns endpoint addresses and pooled (idle) upstream connections: a
 * pooled connection is watched for readability so a daemon that closed
 * it (restart, idle timeout) is noticed and the connection dropped, and
 * every connection taken from the pool is checked alive first. A request
 * is never retried once bytes went upstream.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sockguard/log.h"
#include "sockguard/runtime.h"

static int upstream_dial(struct sg_endpoint *ep, bool *connecting);
static void upstream_idle_cb(struct sg_ev *ev, int fd, unsigned events,
    void *arg);
static void upstream_unlink(struct sg_upc *u);

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

		ep->srv = srv;
		ep->ir = e;
		snprintf(ep->label, sizeof(ep->label), "%s", e->address);
		if (e->kind == SG_EP_UNIX) {
			struct sockaddr_un *sun = (void *)&ep->sa;

			if (strlen(e->path) >= sizeof(sun->sun_path)) {
				snprintf(err, errlen, "upstream socket path "
				    "too long: %s", e->path);
				return -1;
			}
			sun->sun_family = AF_UNIX;
			memcpy(sun->sun_path, e->path, strlen(e->path) + 1);
			ep->salen = (socklen_t)sizeof(*sun);
		} else {
			snprintf(err, errlen, "%s: TCP upstream endpoints are "
			    "not supported by this build yet", e->address);
			return -1;
		}
	}
	srv->active_ep = 0;
	return 0;
}

struct sg_endpoint *
sg_upstream_active(struct sg_server *srv)
{
	return &srv->ep[srv->active_ep];
}

static int
upstream_dial(struct sg_endpoint *ep, bool *connecting)
{
	int fd, rc;

	*connecting = false;
	fd = socket(ep->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	do
		rc = connect(fd, (struct sockaddr *)&ep->sa, ep->salen);
	while (rc == -1 && errno == EINTR);
	if (rc == -1) {
		if (errno == EINPROGRESS) {
			*connecting = true;
			return fd;
		}
		/*
		 * A unix socket whose accept queue is full answers EAGAIN;
		 * that is a failure to dial, reported as such.
		 */
		rc = errno;
		close(fd);
		errno = rc;
		return -1;
	}
	return fd;
}

int
sg_upstream_connect_result(struct sg_upc *u)
{
	int e = 0;
	socklen_t l = sizeof(e);

	if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &e, &l) == -1)
		return -1;
	if (e != 0) {
		errno = e;
		return -1;
	}
	return 0;
}

/* A pooled connection is usable when reading it would block. */
static bool
upstream_alive(int fd)
{
	char b;
	ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	return r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

struct sg_upc *
sg_upstream_acquire(struct sg_server *srv, bool *connecting)
{
	struct sg_endpoint *ep = sg_upstream_active(srv);
	struct sg_upc *u;
	int fd;

	*connecting = false;
	while ((u = ep->idle) != NULL) {
		upstream_unlink(u);
		sg_ev_del(srv->ev, u->fd);
		if (upstream_alive(u->fd)) {
			u->reused = true;
			return u;
		}
		close(u->fd);
		free(u);
	}
	fd = upstream_dial(ep, connecting);
	if (fd == -1)
		return NULL;
	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	u->fd = fd;
	u->ep = ep;
	return u;
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

	if (!reuse || ep->nidle >= SG_POOL_MAX_IDLE || srv->draining ||
	    sg_ev_set(srv->ev, u->fd, SG_EV_READ, upstream_idle_cb, u) == -1) {
		close(u->fd);
		free(u);
		return;
	}
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
	upstream_unlink(u);
	sg_ev_del(ev, fd);
	close(fd);
	free(u);
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
				sg_ev_del(srv->ev, u->fd);
				close(u->fd);
				free(u);
			}
		}
	}
}

void
sg_upstream_close_all(struct sg_server *srv)
{
	size_t i;

	for (i = 0; i < srv->nep; i++) {
		struct sg_upc *u;

		while ((u = srv->ep[i].idle) != NULL) {
			upstream_unlink(u);
			sg_ev_del(srv->ev, u->fd);
			close(u->fd);
			free(u);
		}
	}
}

/* Blocking connect with a deadline, for startup and /health only. */
static int
upstream_probe(struct sg_endpoint *ep, int timeout_ms)
{
	bool connecting;
	int fd = upstream_dial(ep, &connecting), e;

	if (fd == -1)
		return -1;
	if (connecting) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		struct sg_upc u = {.fd = fd};

		if (poll(&p, 1, timeout_ms) != 1) {
			close(fd);
			errno = ETIMEDOUT;
			return -1;
		}
		if (sg_upstream_connect_result(&u) == -1) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
	}
	close(fd);
	return 0;
}

int
sg_upstream_startup_probe(struct sg_server *srv, char *err, size_t errlen)
{
	struct sg_endpoint *ep = sg_upstream_active(srv);

	if (upstream_probe(ep, (int)(SG_DIAL_TIMEOUT / SG_NS_PER_MS)) == 0) {
		ep->health = SG_EP_HEALTHY;
		return 0;
	}
	ep->health = SG_EP_UNHEALTHY;
	if (errno == ENOENT)
		snprintf(err, errlen, "upstream socket not found (%s): %s",
		    ep->ir->path, strerror(errno));
	else if (errno == EACCES || errno == EPERM)
		snprintf(err, errlen, "permission denied on upstream socket "
		    "(%s): %s", ep->ir->path, strerror(errno));
	else
		snprintf(err, errlen, "upstream socket unreachable (%s): %s",
		    ep->ir->path, strerror(errno));
	return -1;
}

/* /health: connect to the active endpoint, cached 2 s / 100 ms. */
bool
sg_upstream_check(struct sg_server *srv)
{
	int64_t now = sg_ev_now(srv->ev);
	struct sg_endpoint *ep = sg_upstream_active(srv);

	if (now < srv->health_until)
		return srv->health_ok;
	srv->health_ok = upstream_probe(ep, 3000) == 0;
	if (!srv->health_ok)
		sg_errx("upstream %s unreachable: %s", ep->label,
		    strerror(errno));
	ep->health = srv->health_ok ? SG_EP_HEALTHY : SG_EP_UNHEALTHY;
	srv->health_until = now + (srv->health_ok ? 2 * SG_NS_PER_SEC :
	    100 * SG_NS_PER_MS);
	return srv->health_ok;
}
