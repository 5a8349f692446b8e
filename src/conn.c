/* SPDX-License-Identifier: MIT */
/*
 * conn.c: the client connection state machine. Owns client fds, the
 * exchange buffers while a request is in flight, and the timeout lists.
 * One request at a time per connection (pipelined bytes wait in the
 * buffer): head -> canonical path -> policy -> upstream -> relay ->
 * keep-alive. Interest is recomputed from buffer state after every step;
 * closing is deferred to the end of the loop iteration.
 *
 * Does not parse HTTP itself (http.c), judge paths (path.c, policy.c),
 * dial (upstream.c) or format answers (respond.c).
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "sockguard/log.h"
#include "sockguard/path.h"
#include "sockguard/policy.h"
#include "sockguard/runtime.h"
#include "sockguard/tls.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#define CONN_MAGIC 0x53474331u /* "SGC1" */
#define XFREE_MAX 1024
#define CONN_INTERIM_MAX 5 /* 1xx heads taken before the final one */

/* readiness we believe in: cleared only on proof that the socket is
 * drained or full (EAGAIN, a short read before the peer's shutdown was
 * reported, a short write), as edge-triggered polling needs (conn_edge) */
struct conn_ready {
	bool cr, cw, ur, uw;
};

static struct conn_ready *conn_rd(struct sg_conn *c);
static void conn_step(struct sg_conn *c);
static void conn_interest(struct sg_conn *c);
static void conn_close(struct sg_conn *c);
static void conn_free(void *arg);
static void conn_do_head(struct sg_conn *c);
static void conn_do_handshake(struct sg_conn *c);
static int conn_profile(struct sg_conn *c, const struct sg_conf *conf);
static void conn_request(struct sg_conn *c);
static void conn_up_dialed(struct sg_upc *u);
static void conn_do_dial(struct sg_conn *c);
static void conn_dial_failed(struct sg_conn *c, const char *err, bool local);
static void conn_arm_request_timeout(struct sg_conn *c);
static void conn_do_exchange(struct sg_conn *c);
static int conn_write_client(struct sg_conn *c, bool *progress);
static void conn_do_tunnel(struct sg_conn *c);
static int conn_tunnel_splice(struct sg_conn *c, bool *progress);
static unsigned conn_edge(const struct sg_sock *s, const struct sg_xfer *x);
static bool conn_splicing(const struct sg_xfer *x);
static void conn_do_local(struct sg_conn *c);
static void conn_finish(struct sg_conn *c);
static void conn_bad_body(struct sg_conn *c, int status);
static void conn_abort(struct sg_conn *c, const char *reason_code);
static void conn_log(struct sg_conn *c);
static void conn_log_client(struct sg_logrec *r, const struct sg_conn *c);
static void conn_audit(struct sg_conn *c, const struct sg_ir *ir);
static void conn_fail_upstream(struct sg_conn *c, const char *what,
    const char *err);
static int conn_resp_head(struct sg_conn *c);
static int conn_resp_feed(struct sg_xfer *x, uint32_t from, uint32_t n);
static int conn_req_feed(struct sg_xfer *x, uint32_t from, uint32_t n,
    uint32_t *used);
static void conn_on_client(struct sg_ev *ev, int fd, unsigned events,
    void *arg);
static void conn_on_upstream(struct sg_ev *ev, int fd, unsigned events,
    void *arg);
static void tl_set(struct sg_conn *c, enum sg_tlist l);
static void xfer_clear(struct sg_xfer *x);
static struct sg_xfer *xfer_get(struct sg_server *srv);
static void xfer_put(struct sg_server *srv, struct sg_xfer *x);
static const char *xfer_grow(struct sg_server *srv, struct sg_xfer *x);
static void xfer_shrink(struct sg_server *srv, struct sg_xfer *x);
static void xfer_big_read(struct sg_server *srv, struct sg_xfer *x);
static void xfer_own_bufs(struct sg_xfer *x);
static bool np_is(const char *np, size_t n, const char *lit);
static bool np_around(const char *np, size_t n, const char *pre,
    const char *suf);

/* The readiness flags live beside the connection (not in runtime.h). */
struct conn_full {
	struct sg_conn c;
	struct conn_ready rd;
};

static struct conn_ready *
conn_rd(struct sg_conn *c)
{
	return &((struct conn_full *)(void *)c)->rd;
}

void
sg_conn_accept(struct sg_server *srv, struct sg_listener *l, int fd,
    const struct sockaddr *sa, socklen_t salen)
{
	struct conn_full *cf = calloc(1, sizeof(*cf));
	struct sg_conn *c;

	(void)salen;
	if (cf == NULL) {
		close(fd);
		return;
	}
	c = &cf->c;
	c->magic = CONN_MAGIC;
	c->srv = srv;
	c->lst = l;
	c->cs.fd = fd;
	c->st = SG_CS_IDLE;
	c->prof_idx = -1;
	cf->rd.cw = true;
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
		char host[48] = "?";
		unsigned port = 0;

		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *s4 = (const void *)sa;

			inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
			port = ntohs(s4->sin_port);
			snprintf(c->peer, sizeof(c->peer), "%s:%u", host, port);
			c->ip_family = AF_INET;
			memcpy(c->ip, &s4->sin_addr, 4);
		} else {
			const struct sockaddr_in6 *s6 = (const void *)sa;

			inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
			port = ntohs(s6->sin6_port);
			snprintf(c->peer, sizeof(c->peer), "[%s]:%u", host,
			    port);
			if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
				c->ip_family = AF_INET;
				memcpy(c->ip, s6->sin6_addr.s6_addr + 12, 4);
			} else {
				c->ip_family = AF_INET6;
				memcpy(c->ip, &s6->sin6_addr, 16);
			}
		}
	} else {
		struct ucred uc;
		socklen_t ul = sizeof(uc);

		snprintf(c->peer, sizeof(c->peer), "unix");
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0) {
			c->has_cred = true;
			c->uid = uc.uid;
			c->gid = uc.gid;
			c->pid = uc.pid;
		} else {
			sg_warnx("unix client on %s: peer credentials "
			    "unreadable: %s", l->label, strerror(errno));
		}
	}
	if (l->tls != NULL) {
		c->cs.ssl = SSL_new(l->tls);
		if (c->cs.ssl == NULL) {
			close(fd);
			free(cf);
			return;
		}
		SSL_set_fd(c->cs.ssl, fd);
		SSL_set_accept_state(c->cs.ssl);
		c->st = SG_CS_HANDSHAKE;
	}
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	l->nconns++;
	if (sg_ev_set(srv->ev, fd, SG_EV_READ | conn_edge(&c->cs, NULL),
	    conn_on_client, c) == -1) {
		conn_close(c);
		return;
	}
	/* the first head must arrive within the head timeout */
	tl_set(c, SG_TL_HEAD);
}

static void
conn_on_client(struct sg_ev *ev, int fd, unsigned events, void *arg)
{
	struct sg_conn *c = arg;
	struct conn_ready *rd = conn_rd(c);

	(void)ev;
	(void)fd;
	if (events & SG_EV_HUP)
		c->cs.peer_shut = true;
	if (events & SG_EV_ERROR)
		c->cs.gone = true;
	if (events & (SG_EV_READ | SG_EV_ERROR)) {
		rd->cr = true;
		if (c->cs.wr_wants_r) {
			c->cs.wr_wants_r = false;
			rd->cw = true;
		}
	}
	if (events & (SG_EV_WRITE | SG_EV_ERROR)) {
		rd->cw = true;
		if (c->cs.rd_wants_w) {
			c->cs.rd_wants_w = false;
			rd->cr = true;
		}
	}
	conn_step(c);
}

static void
conn_on_upstream(struct sg_ev *ev, int fd, unsigned events, void *arg)
{
	struct sg_conn *c = arg;
	struct conn_ready *rd = conn_rd(c);

	(void)ev;
	(void)fd;
	if (events & SG_EV_HUP && c->up != NULL)
		c->up->s.peer_shut = true;
	if (events & SG_EV_ERROR && c->up != NULL)
		c->up->s.gone = true;
	if (events & (SG_EV_READ | SG_EV_ERROR)) {
		rd->ur = true;
		if (c->up != NULL && c->up->s.wr_wants_r) {
			c->up->s.wr_wants_r = false;
			rd->uw = true;
		}
	}
	if (events & (SG_EV_WRITE | SG_EV_ERROR)) {
		rd->uw = true;
		if (c->up != NULL && c->up->s.rd_wants_w) {
			c->up->s.rd_wants_w = false;
			rd->ur = true;
		}
	}
	conn_step(c);
}

static void
conn_step(struct sg_conn *c)
{
	enum sg_conn_state prev;

	do {
		prev = c->st;
		switch (c->st) {
		case SG_CS_HANDSHAKE:
			conn_do_handshake(c);
			break;
		case SG_CS_IDLE:
		case SG_CS_HEAD:
			conn_do_head(c);
			break;
		case SG_CS_DIAL:
			conn_do_dial(c);
			break;
		case SG_CS_EXCHANGE:
			conn_do_exchange(c);
			break;
		case SG_CS_TUNNEL:
			conn_do_tunnel(c);
			break;
		case SG_CS_LOCAL:
			conn_do_local(c);
			break;
		case SG_CS_CLOSED:
			return;
		}
	} while (c->st != prev);
	if (c->st != SG_CS_CLOSED)
		conn_interest(c);
}

/* ---- interest ---- */

static bool
conn_client_pending(const struct sg_xfer *x)
{
	return x != NULL && (x->h_off < x->h_len || x->r_off < x->r_end ||
	    x->pipe_len > 0);
}

static bool
conn_upstream_pending(const struct sg_xfer *x)
{
	return x != NULL && (x->o_off < x->o_len || x->b_off < x->b_end);
}

/*
 * Edge-triggered readiness for a plain socket (sg_sock_edge) outside
 * splices and tunnels: there every flag in conn_ready is forgotten only on
 * proof that the socket is drained or full (EAGAIN, a short read, a short
 * write; after SG_EV_HUP a short read is no proof: the end of file that
 * came with the bytes has no edge of its own), and a change of interest
 * re-polls the fd, so no edge can be missed. A short splice proves
 * nothing (the pipe may have filled), so those stay level-triggered.
 */
static unsigned
conn_edge(const struct sg_sock *s, const struct sg_xfer *x)
{
	if (x != NULL && (x->piped || x->tunnel))
		return 0;
	return sg_sock_edge(s);
}

static void
conn_interest(struct sg_conn *c)
{
	struct conn_ready *rd = conn_rd(c);
	struct sg_xfer *x = c->x;
	unsigned cm = 0, um = 0;
	bool want_cr = false, want_ur = false;

	switch (c->st) {
	case SG_CS_HANDSHAKE:
		break;
	case SG_CS_IDLE:
		want_cr = !c->srv->draining;
		break;
	case SG_CS_HEAD:
		want_cr = x->in_len < x->in_cap - SG_BODY_ROOM;
		break;
	case SG_CS_DIAL:
		break;
	case SG_CS_EXCHANGE:
		want_cr = !c->client_eof && x->in_len < x->in_cap;
		/* a spliced body waits for room in the pipe and for the
		 * bytes copied before it to go out; a copied one (or the
		 * piece of a size line a spliced one must read) for room
		 * in r[] and an empty pipe */
		want_ur = !x->resp_done && !c->up_eof &&
		    (conn_splicing(x) && x->ck_copy == 0 ? !x->pipe_full &&
		    x->pipe_len < x->pipe_cap && x->h_off == x->h_len &&
		    x->r_off == x->r_end :
		    x->pipe_len == 0 && x->r_len < sizeof(x->r));
		break;
	case SG_CS_TUNNEL:
		want_cr = !c->client_eof && x->in_len < x->in_cap;
		want_ur = !c->up_eof && (x->piped ? x->pipe_len < x->pipe_cap &&
		    !x->pipe_full : x->r_len < sizeof(x->r));
		break;
	case SG_CS_LOCAL:
		want_cr = !x->req_done && !x->close_after;
		break;
	case SG_CS_CLOSED:
		return;
	}
	if (want_cr && !rd->cr)
		cm |= SG_EV_READ;
	if (conn_client_pending(x) && !rd->cw)
		cm |= SG_EV_WRITE;
	if (c->cs.rd_wants_w)
		cm |= SG_EV_WRITE;
	if (c->cs.wr_wants_r)
		cm |= SG_EV_READ;
	cm |= conn_edge(&c->cs, x);
	if (c->up != NULL) {
		um |= conn_edge(&c->up->s, x);
		if (want_ur && !rd->ur)
			um |= SG_EV_READ;
		if (conn_upstream_pending(x) && !rd->uw)
			um |= SG_EV_WRITE;
		/* TLS may wait for the other direction than the one we use */
		if (c->up->s.rd_wants_w)
			um |= SG_EV_WRITE;
		if (c->up->s.wr_wants_r)
			um |= SG_EV_READ;
		sg_ev_set(c->srv->ev, c->up->s.fd, um, conn_on_upstream, c);
	}
	sg_ev_set(c->srv->ev, c->cs.fd, cm, conn_on_client, c);
}

/* ---- TLS listeners ---- */

static void
conn_do_handshake(struct sg_conn *c)
{
	struct conn_ready *rd = conn_rd(c);
	unsigned want = 0;
	char err[512];
	enum sg_rc rc;
	X509 *leaf;

	if (!rd->cr && !rd->cw)
		return;
	rc = sg_tls_handshake(c->cs.ssl, &want, err, sizeof(err));
	if (rc == SG_AGAIN) {
		rd->cr = rd->cw = false;
		c->cs.rd_wants_w = want == SG_TLS_WANT_WRITE;
		c->cs.wr_wants_r = want == SG_TLS_WANT_READ;
		return;
	}
	c->cs.rd_wants_w = c->cs.wr_wants_r = false;
	if (rc == SG_ERR) {
		static struct sg_logrec r;

		/* refused before HTTP: no response, nothing reached the daemon */
		sg_log_begin(&r, SG_LOG_WARN, "tls handshake refused");
		sg_log_str(&r, "listener_name", c->lst->ir->name);
		conn_log_client(&r, c);
		sg_log_ustr(&r, "error", err, strlen(err));
		sg_log_end(&r);
		conn_close(c);
		return;
	}
	leaf = SSL_get1_peer_certificate(c->cs.ssl);
	if (leaf != NULL) {
		sg_tls_cert_ident(leaf, c->cert_cn, sizeof(c->cert_cn),
		    c->cert_spki);
		X509_free(leaf);
	}
	rd->cr = rd->cw = true; /* OpenSSL may already hold request bytes */
	c->st = SG_CS_IDLE;
	tl_set(c, SG_TL_HEAD);
}

/* ---- client identity -> profile (SPEC 3.8) ---- */

static bool
cidr_has(const struct sg_ir_cidr *r, int family, const uint8_t *ip)
{
	unsigned full, rem;

	if (r->family != family)
		return false;
	full = r->prefix / 8;
	rem = r->prefix % 8;
	if (memcmp(r->addr, ip, full) != 0)
		return false;
	return rem == 0 || ((r->addr[full] ^ ip[full]) &
	    (uint8_t)(0xff << (8 - rem))) == 0;
}

static bool
cidrs_have(const struct sg_ir_cidr *v, size_t n, int family, const uint8_t *ip)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cidr_has(&v[i], family, ip))
			return true;
	return false;
}

static bool
ids_have(const int64_t *v, size_t n, int64_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

static int
conn_profile_named(const struct sg_ir_clients *cl, const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0')
		return -1;
	for (i = 0; i < cl->nprofiles; i++)
		if (strcmp(cl->profiles[i].name, name) == 0)
			return (int)i;
	return -1;
}

/*
 * First hit wins: client certificate, unix peer credentials, source IP,
 * default profile; -1: no profile (top-level rules). Cached per
 * connection for the config generation it was resolved with.
 */
static int
conn_profile(struct sg_conn *c, const struct sg_conf *conf)
{
	const struct sg_ir_clients *cl = &conf->ir->clients;
	int idx = -1;
	size_t i;

	if (c->prof_gen == conf->generation && c->prof_gen != 0)
		return c->prof_idx;
	if (cl->nprofiles == 0)
		goto done;
	if (c->cs.ssl != NULL && cl->ncert > 0) {
		X509 *leaf = SSL_get1_peer_certificate(c->cs.ssl);

		for (i = 0; leaf != NULL && i < cl->ncert && idx < 0; i++)
			if (sg_tls_cert_match(leaf, &cl->cert[i].sel))
				idx = conn_profile_named(cl, cl->cert[i].profile);
		X509_free(leaf);
	}
	for (i = 0; c->has_cred && i < cl->nunix_peer && idx < 0; i++) {
		const struct sg_ir_peer_assign *a = &cl->unix_peer[i];

		if ((a->nuids == 0 || ids_have(a->uids, a->nuids, c->uid)) &&
		    (a->ngids == 0 || ids_have(a->gids, a->ngids, c->gid)) &&
		    (a->npids == 0 || ids_have(a->pids, a->npids, c->pid)))
			idx = conn_profile_named(cl, a->profile);
	}
	for (i = 0; c->ip_family != 0 && i < cl->nsource_ip && idx < 0; i++)
		if (cidrs_have(cl->source_ip[i].cidrs, cl->source_ip[i].ncidrs,
		    c->ip_family, c->ip))
			idx = conn_profile_named(cl, cl->source_ip[i].profile);
	if (idx < 0)
		idx = conn_profile_named(cl, cl->default_profile);
done:
	c->prof_gen = conf->generation;
	c->prof_idx = idx;
	return idx;
}

/* listeners[].allowed_profiles of the current generation (mutable). */
static bool
conn_admitted(const struct sg_conn *c, const struct sg_conf *conf, int prof)
{
	const struct sg_ir *ir = conf->ir;
	size_t i, j;

	if (!c->lst->ir->named)
		return true;
	for (i = 0; i < ir->nlisteners; i++) {
		const struct sg_ir_listener *l = &ir->listeners[i];

		if (strcmp(l->name, c->lst->ir->name) != 0)
			continue;
		if (l->admit_all)
			return true;
		if (prof < 0)
			return false;
		for (j = 0; j < l->allowed_profiles.n; j++)
			if (strcmp(l->allowed_profiles.v[j],
			    ir->clients.profiles[prof].name) == 0)
				return true;
		return false;
	}
	return false; /* listener gone from the config: admit nobody */
}

/* ---- rewritten heads ---- */

/*
 * Appends "Name: value\r\n" for every header of m that is not hop-by-hop
 * and whose id is not in skip (a bit per enum sg_hdr_id), keeping 512
 * bytes of room for what the proxy adds. Returns the new offset, or 0
 * when the head does not fit.
 */
static size_t
head_copy(char *dst, size_t o, size_t cap, const char *src,
    const struct sg_http_msg *m, unsigned skip)
{
	uint16_t i;

	for (i = 0; i < m->nhdr; i++) {
		const struct sg_http_hdr *h = &m->hdr[i];

		if (h->hop || (skip & (1u << h->id)))
			continue;
		if (o + h->name.len + h->value.len + 4 + 512 > cap)
			return 0;
		memcpy(dst + o, src + h->name.off, h->name.len);
		o += h->name.len;
		dst[o++] = ':';
		dst[o++] = ' ';
		memcpy(dst + o, src + h->value.off, h->value.len);
		o += h->value.len;
		dst[o++] = '\r';
		dst[o++] = '\n';
	}
	return o;
}

/*
 * tracestate goes on with a valid traceparent, whose trace it belongs
 * to, and is dropped with an invalid or missing one (SPEC 2.9.5).
 */
static bool
conn_tracestate(struct sg_xfer *x, size_t *o)
{
	uint16_t i;

	if (x->parent_id[0] == '\0')
		return true;
	for (i = 0; i < x->req.nhdr; i++) {
		const struct sg_http_hdr *h = &x->req.hdr[i];

		if (h->id != SG_HDR_TRACESTATE)
			continue;
		if (!SG_PUT_LIT(x->out, o, x->out_cap, "tracestate: ") ||
		    !sg_put(x->out, o, x->out_cap, x->in + h->value.off,
		    h->value.len) || !SG_PUT_LIT(x->out, o, x->out_cap, "\r\n"))
			return false;
	}
	return true;
}

/* ---- head ---- */

static void
conn_do_head(struct sg_conn *c)
{
	struct conn_ready *rd = conn_rd(c);
	struct sg_xfer *x = c->x;

	if (x == NULL) {
		if (!rd->cr)
			return;
		x = c->x = xfer_get(c->srv);
		if (x == NULL) {
			sg_errx("out of memory for a request buffer; closing "
			    "connection from %s", c->peer);
			conn_close(c);
			return;
		}
		/* a head refused (400, 408, 431) counts from its first
		 * bytes; a whole one from its end (conn_request) */
		x->start_ns = sg_ev_now(c->srv->ev);
	}
	for (;;) {
		int r = sg_http_head_end(x->in, x->in_len, &x->scan);
		uint32_t lim;
		ssize_t n;

		if (r < 0) {
			x->head_len = x->in_len;
			sg_respond_error(c, 400, "malformed request head: "
			    "bare CR, bare LF or NUL byte", true);
			return;
		}
		lim = x->in_cap - SG_BODY_ROOM;
		if (r > 0 && (uint32_t)r <= lim) {
			x->head_len = (uint32_t)r;
			conn_request(c);
			return;
		}
		/* a pipelined head may have come in with more than the limit */
		if (r > SG_HEAD_BIG || (r == 0 && x->in_len >= SG_HEAD_BIG)) {
			x->head_len = x->in_len;
			sg_respond_error(c, 431, "request head over 1 MiB", true);
			return;
		}
		if (r > 0 || x->in_len >= lim) {
			/* over SG_HEAD_MAX: on in a buffer of its own */
			const char *why = xfer_grow(c->srv, x);

			if (why != NULL) {
				x->head_len = x->in_len;
				sg_warnx("request head of over %u KiB from %s "
				    "refused: %s", SG_HEAD_MAX / 1024, c->peer,
				    why);
				x->rule = -1;
				x->reason_code = "request_head_no_room";
				sg_respond_error(c, 503, why, true);
				return;
			}
			if (r > 0) {
				/* found whole already (a pipelined head): the
				 * scan has gone past its end */
				x->head_len = (uint32_t)r;
				conn_request(c);
				return;
			}
			continue;
		}
		if (!rd->cr)
			return;
		n = sg_sock_read(&c->cs, x->in + x->in_len,
		    lim - x->in_len, &rd->cr, &rd->cw);
		if (n == -1) {
			if (c->st == SG_CS_IDLE && x->in_len == 0) {
				xfer_put(c->srv, x);
				c->x = NULL;
			}
			return;
		}
		if (n <= 0) {
			/* EOF or error between or inside heads */
			conn_close(c);
			return;
		}
		if (c->st == SG_CS_IDLE) {
			c->st = SG_CS_HEAD;
			/*
			 * A new connection's deadline runs from accept (or the
			 * TLS handshake); a keep-alive one's from the first byte
			 * of its next head.
			 */
			if (c->nreq > 0)
				tl_set(c, SG_TL_HEAD);
		}
		x->in_len += (uint32_t)n;
	}
}

static bool
method_is(const struct sg_xfer *x, const char *m)
{
	size_t n = strlen(m);

	return x->req.method.len == n &&
	    memcmp(x->in + x->req.method.off, m, n) == 0;
}

/*
 * A BuildKit session or gRPC tunnel (POST /session or /grpc upgrading to
 * h2c), relayed like a hijack once insecure_accept_opaque_buildkit_tunnels
 * acknowledges that nothing inside it is seen. Without it the upgrade is
 * dropped like any other and the daemon refuses the request.
 */
static bool
conn_buildkit_tunnel(const struct sg_xfer *x, const struct sg_ir *ir,
    const char *np, size_t n)
{
	int i = x->req.first[SG_HDR_UPGRADE];

	return ir->insecure_accept_opaque_buildkit_tunnels &&
	    x->req.conn_upgrade && i >= 0 && method_is(x, "POST") &&
	    (np_is(np, n, "/session") || np_is(np, n, "/grpc")) &&
	    sg_http_slice_ieq(x->in, x->req.hdr[i].value, "h2c");
}

/*
 * NP equals pre + a name of at least one byte + suf. The daemon routes
 * /containers/{name:.*}/..., /exec/{name:.*}/... (and the like): a name
 * may contain '/', so the guards and the stream checks take any.
 */
static bool
np_around(const char *np, size_t n, const char *pre, const char *suf)
{
	size_t a = strlen(pre), b = strlen(suf);

	return n > a + b && memcmp(np, pre, a) == 0 &&
	    memcmp(np + n - b, suf, b) == 0;
}

/* The TCP peer is this machine: 127.0.0.0/8 or ::1. */
static bool
conn_peer_loopback(const struct sg_conn *c)
{
	static const uint8_t v6lo[16] = {[15] = 1};

	if (c->ip_family == AF_INET)
		return c->ip[0] == 127;
	return c->ip_family == AF_INET6 && memcmp(c->ip, v6lo, 16) == 0;
}

/* A request refused as coming from a web browser: 403 before the rules. */
static void
conn_refuse_browser(struct sg_conn *c, const char *code, const char *reason,
    const char *msg)
{
	struct sg_xfer *x = c->x;

	x->decision = "deny";
	x->reason_code = code;
	x->reason = reason;
	x->rule = -1;
	sg_respond_error(c, 403, msg, !x->req_done);
}

static void
conn_request(struct sg_conn *c)
{
	struct sg_server *srv = c->srv;
	struct sg_xfer *x = c->x;
	const struct sg_ir *ir;
	struct sg_path_ver ver;
	struct sg_verdict v;
	const char *why = NULL;
	char *tgt;
	ssize_t dl;
	size_t np_total;
	uint32_t used = 0;
	int st, i;
	bool connecting = false, ok = true, ws_attach, libpod;
	size_t o;

	tl_set(c, SG_TL_NONE);
	xfer_big_read(srv, x);
	x->start_ns = sg_ev_now(srv->ev);
	x->conf = sg_conf_ref(srv->conf);
	ir = x->conf->ir;
	c->nreq++;
	srv->requests++;
	x->rule = -1;
	x->profile = -1;
	x->mode = SG_MODE_ENFORCE;
	x->decision = "";
	x->reason_code = "";
	x->reason = "";
	sg_reqid_new(x->reqid);

	st = sg_http_parse_request(x->in, x->head_len, &x->req, &why);
	if (st != 0) {
		sg_trace_begin(x, NULL, 0);
		sg_respond_error(c, st, why, true);
		return;
	}
	i = x->req.first[SG_HDR_TRACEPARENT];
	if (i >= 0)
		sg_trace_begin(x, x->in + x->req.hdr[i].value.off,
		    x->req.hdr[i].value.len);
	else
		sg_trace_begin(x, NULL, 0);

	/* body framing */
	x->b_off = x->b_end = x->head_len;
	switch (x->req.body) {
	case SG_BODY_LENGTH:
		x->req_left = x->req.content_length;
		x->req_done = x->req_left == 0;
		break;
	case SG_BODY_CHUNKED:
		sg_chunked_init(&x->req_ck);
		x->req_done = false;
		break;
	default:
		x->req_done = true;
		break;
	}
	if (x->in_len > x->head_len) {
		st = conn_req_feed(x, x->head_len, x->in_len - x->head_len,
		    &used);
		if (st != 0) {
			sg_respond_error(c, st, "malformed chunked request "
			    "body", true);
			return;
		}
		x->b_end = x->head_len + used;
	}

	/* decode the path once, in place (decoded <= raw) */
	tgt = x->in + x->req.path.off;
	dl = sg_path_decode(tgt, x->req.path.len, tgt);
	if (dl < 0) {
		sg_respond_error(c, 400, "malformed percent-escape in the "
		    "request path", true);
		return;
	}
	x->dpath_off = x->req.path.off;
	x->dpath_len = (uint32_t)dl;

	/* client ACL, profile, listener admission: before health and rules */
	if (ir->clients.nallowed_cidrs > 0 && (c->ip_family == 0 ||
	    !cidrs_have(ir->clients.allowed_cidrs, ir->clients.nallowed_cidrs,
	    c->ip_family, c->ip))) {
		static const char b[] = "{\"message\":\"client IP not allowed\"}\n";

		x->decision = "deny";
		x->reason_code = "client_ip_not_allowed";
		x->reason = "client IP not allowed";
		sg_respond_json(c, 403, b, sizeof(b) - 1, !x->req_done);
		return;
	}
	/* unix_peer_profiles cannot place a client whose credentials are
	 * unknown: the default profile is not a safe guess */
	if (c->lst->is_unix && !c->has_cred && ir->clients.nunix_peer > 0) {
		x->decision = "deny";
		x->reason_code = "client_identity_lookup_failed";
		x->reason = "unix peer credentials unreadable";
		sg_respond_error(c, 502, "client identity lookup failed",
		    !x->req_done);
		return;
	}
	x->profile = conn_profile(c, x->conf);
	x->mode = x->profile >= 0 ? ir->clients.profiles[x->profile].mode :
	    SG_MODE_ENFORCE;
	if (!conn_admitted(c, x->conf, x->profile)) {
		static const char b[] = "{\"message\":\"client profile not "
		    "allowed on this listener\"}\n";

		x->decision = "deny";
		x->reason_code = "listener_profile_not_allowed";
		x->reason = "client profile not allowed on this listener";
		sg_respond_json(c, 403, b, sizeof(b) - 1, !x->req_done);
		return;
	}

	/*
	 * Web browsers: no Docker client sends Origin or Sec-Fetch-*, and a
	 * web page must not drive the daemon (cross-site requests and DNS
	 * rebinding against a loopback TCP listener, websocket attach)
	 */
	if ((x->req.first[SG_HDR_ORIGIN] >= 0 ||
	    x->req.first[SG_HDR_SEC_FETCH] >= 0) &&
	    !ir->insecure_allow_browser_requests) {
		conn_refuse_browser(c, "browser_request_refused",
		    "request from a web browser (Origin or Sec-Fetch-* "
		    "header); set insecure_allow_browser_requests to allow",
		    "requests from web browsers are refused (Origin or "
		    "Sec-Fetch-* header)");
		return;
	}

	/*
	 * DNS rebinding: a web page whose name resolves to this machine
	 * sends plain GETs without Origin or Sec-Fetch-*, but with its own
	 * name as Host. From a loopback peer on plain TCP the Host must be
	 * an address or localhost (Docker clients send what DOCKER_HOST
	 * names). Peers on other hosts (a listener on a container network,
	 * reached by service name) could connect directly anyway.
	 */
	if (c->ip_family != 0 && c->cs.ssl == NULL && conn_peer_loopback(c) &&
	    !ir->insecure_allow_browser_requests &&
	    (i = x->req.first[SG_HDR_HOST]) >= 0 &&
	    !sg_http_host_is_local(x->in + x->req.hdr[i].value.off,
	    x->req.hdr[i].value.len)) {
		conn_refuse_browser(c, "host_name_refused", "Host names a DNS "
		    "name on a plain TCP listener (a web page could reach it "
		    "by DNS rebinding); set insecure_allow_browser_requests to "
		    "allow", "a plain TCP listener answers only requests whose "
		    "Host is an IP address or localhost (connect with "
		    "tcp://127.0.0.1:PORT)");
		return;
	}

	/* health endpoint: exact decoded path, GET only, before the rules */
	if (ir->health_enabled && method_is(x, "GET") &&
	    x->dpath_len == strlen(ir->health_path) &&
	    memcmp(tgt, ir->health_path, x->dpath_len) == 0) {
		sg_respond_health(c);
		return;
	}

	np_total = sg_path_canon(tgt, x->dpath_len, x->np, &ver);
	x->np_off = ver.len;
	x->np_len = (uint32_t)(np_total - ver.len);
	if (ver.odd) {
		/* the daemon would strip a version the rules did not see */
		x->decision = "deny";
		x->reason_code =
		    sg_reason_code_str(SG_REASON_API_VERSION_MALFORMED);
		x->reason = "malformed API version prefix";
		sg_respond_error(c, 400, "malformed API version prefix in the "
		    "request path (write /vMAJOR.MINOR/)", true);
		return;
	}

	/* policy */
	sg_policy_eval(x->profile >= 0 ? x->conf->profile_policy[x->profile] :
	    x->conf->policy, x->in + x->req.method.off, x->req.method.len,
	    x->np + ver.len, x->np_len, &v);
	x->rule = v.rule;
	x->reason = v.reason;
	x->reason_code = sg_reason_code_str(v.code);
	if (v.action != SG_ACTION_ALLOW && x->mode == SG_MODE_ENFORCE) {
		x->decision = "deny";
		sg_respond_deny(c, x->in + x->req.method.off,
		    x->req.method.len);
		return;
	}
	/* warn / audit rollout: the request proceeds, the log says so */
	x->decision = v.action == SG_ACTION_ALLOW ? "allow" : "would_deny";

	/* structural guards that need no body parsing */
	if (sg_path_ver_below(&ver, ir->min_api_major, ir->min_api_minor)) {
		char msg[160];

		snprintf(msg, sizeof(msg), "API version v%u.%u is below the "
		    "minimum this proxy accepts (v%u.%u)", ver.major, ver.minor,
		    ir->min_api_major, ir->min_api_minor);
		x->decision = "deny";
		x->reason_code = sg_reason_code_str(
		    SG_REASON_API_VERSION_TOO_OLD);
		x->reason = "API version below the configured minimum";
		sg_respond_error(c, 400, msg, true);
		return;
	}
	if (method_is(x, "POST") &&
	    np_around(x->np + ver.len, x->np_len, "/containers/", "/start") &&
	    (x->req.body == SG_BODY_CHUNKED ||
	    (x->req.body == SG_BODY_LENGTH && x->req.content_length > 0))) {
		x->decision = "deny";
		x->reason_code = "container_start_body_denied";
		x->reason = "a request body on container start is refused "
		    "(old API versions apply a HostConfig sent there)";
		x->rule = -1;
		sg_respond_deny(c, x->in + x->req.method.off,
		    x->req.method.len);
		return;
	}
	/*
	 * Attach over a websocket with stdin writes to the container: it
	 * needs what POST .../attach needs, or a policy that allows GETs
	 * under /containers/ would open the stdin of every container that
	 * keeps one (a shell started with -i)
	 */
	ws_attach = sg_np_is_ws_attach(x->np + ver.len, x->np_len, &libpod);
	if (ws_attach && v.action == SG_ACTION_ALLOW && sg_policy_attach_stdin(
	    x->profile >= 0 ? x->conf->profile_policy[x->profile] :
	    x->conf->policy, x->in + x->req.method.off, x->req.method.len,
	    x->np + ver.len, x->np_len, &ver, x->req.has_query ?
	    x->in + x->req.query.off : NULL, x->req.query.len, &v)) {
		x->rule = v.rule;
		x->reason = v.reason;
		x->reason_code = sg_reason_code_str(v.code);
		if (x->mode == SG_MODE_ENFORCE) {
			x->decision = "deny";
			sg_respond_deny(c, x->in + x->req.method.off,
			    x->req.method.len);
			return;
		}
		x->decision = "would_deny";
	}
	/* hijacks: attach and exec start (Upgrade: tcp, or the older 200
	 * and raw stream), and attach over a websocket (SPEC 3.12) */
	x->hijack = (method_is(x, "POST") &&
	    (np_around(x->np + ver.len, x->np_len, "/containers/", "/attach") ||
	    np_around(x->np + ver.len, x->np_len, "/exec/", "/start") ||
	    np_around(x->np + ver.len, x->np_len, "/libpod/containers/",
	    "/attach") ||
	    np_around(x->np + ver.len, x->np_len, "/libpod/exec/", "/start"))) ||
	    (ws_attach && method_is(x, "GET") && x->req.conn_upgrade) ||
	    conn_buildkit_tunnel(x, ir, x->np + ver.len, x->np_len);

	/* outbound head: canonical target, filtered headers */
	o = 0;
	memcpy(x->out, x->in + x->req.method.off, x->req.method.len);
	o += x->req.method.len;
	x->out[o++] = ' ';
	memcpy(x->out + o, x->np, ver.len);
	o += ver.len;
	{
		size_t e = sg_path_encode(x->np + ver.len, x->np_len,
		    x->out + o, x->out_cap - o - 1024);

		if (e == 0) {
			sg_respond_error(c, 414, "request path too long", true);
			return;
		}
		o += e;
	}
	if (x->req.has_query) {
		if (o + 1 + x->req.query.len + 1024 > x->out_cap) {
			sg_respond_error(c, 414, "request target too long",
			    true);
			return;
		}
		x->out[o++] = '?';
		memcpy(x->out + o, x->in + x->req.query.off, x->req.query.len);
		o += x->req.query.len;
	}
	(void)SG_PUT_LIT(x->out, &o, x->out_cap,
	    " HTTP/1.1\r\nHost: docker\r\n"); /* the 1024 kept above */
	o = head_copy(x->out, o, x->out_cap, x->in, &x->req,
	    1u << SG_HDR_HOST | 1u << SG_HDR_EXPECT);
	if (o == 0 || !sg_trace_headers(x->out, &o, x->out_cap, x) ||
	    !conn_tracestate(x, &o)) {
		sg_respond_error(c, 431, "request head too large", true);
		return;
	}
	if (x->hijack && x->req.conn_upgrade) {
		i = x->req.first[SG_HDR_UPGRADE];
		ok = SG_PUT_LIT(x->out, &o, x->out_cap,
		    "Connection: Upgrade\r\nUpgrade: ") &&
		    sg_put(x->out, &o, x->out_cap,
		    x->in + x->req.hdr[i].value.off, x->req.hdr[i].value.len) &&
		    SG_PUT_LIT(x->out, &o, x->out_cap, "\r\n");
	}
	/* every part is bounded: a head that does not fit is refused */
	if (!ok || !SG_PUT_LIT(x->out, &o, x->out_cap, "\r\n")) {
		sg_respond_error(c, 431, "request head too large", true);
		return;
	}
	x->o_off = 0;
	x->o_len = (uint32_t)o;

	if (x->req.expect_continue && !x->req_done) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		memcpy(x->hb + x->h_len, cont, sizeof(cont) - 1);
		x->h_len += sizeof(cont) - 1;
	}

	c->up = sg_upstream_acquire(srv, &connecting);
	if (c->up == NULL) {
		conn_dial_failed(c, sg_upstream_active(srv)->error,
		    errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
		    errno == ENOBUFS);
		return;
	}
	if (c->up->connected && !c->up->reused)
		conn_up_dialed(c->up);
	conn_rd(c)->ur = false;
	conn_rd(c)->uw = c->up->connected;
	c->up->s.rd_wants_w = !c->up->connected;
	x->upstream_reusable = true;
	if (connecting) {
		c->st = SG_CS_DIAL;
		tl_set(c, SG_TL_HEAD);
	} else {
		conn_arm_request_timeout(c);
		c->st = SG_CS_EXCHANGE;
	}
}

/*
 * Makes way for a local answer (502, 504, 400) in place of the daemon's:
 * false once a response head is on its way to the client (then only a
 * cut is left). The interim 100 Continue that went out, whole or in
 * part, stays and the answer follows it; one not yet started is dropped.
 */
static bool
conn_can_reanswer(struct sg_xfer *x)
{
	/* one answer per request: a daemon's head or a local one queued */
	if (x->resp_head_done || x->local)
		return false;
	if (x->h_off == 0)
		x->h_len = 0;
	x->r_off = x->r_end = x->r_len = 0;
	return true;
}

static void
conn_fail_upstream(struct sg_conn *c, const char *what, const char *err)
{
	struct sg_xfer *x = c->x;
	static struct sg_logrec r;

	sg_log_begin(&r, SG_LOG_ERROR, "upstream request failed");
	sg_log_str(&r, "request_id", x->reqid);
	sg_log_str(&r, "upstream", c->up != NULL ? c->up->ep->label :
	    sg_upstream_active(c->srv)->label);
	sg_log_str(&r, "stage", what);
	sg_log_str(&r, "error", err);
	sg_log_end(&r);
	if (c->up != NULL) {
		sg_ev_del(c->srv->ev, c->up->s.fd);
		sg_upstream_release(c->srv, c->up, false);
		c->up = NULL;
	}
	x->reason_code = "upstream_socket_unreachable";
	if (!conn_can_reanswer(x)) {
		/* the client already has part of a response: cut it */
		conn_log(c);
		conn_close(c);
		return;
	}
	tl_set(c, SG_TL_NONE); /* the request deadline ends with the daemon */
	sg_respond_error(c, 502, "upstream Docker socket unreachable", true);
}

/*
 * The daemon took a new connection: healthy again after a demotion (a
 * lone socket has no probes to say so, and an unhealthy endpoint's
 * connections are not pooled, so every request would dial anew).
 */
static void
conn_up_dialed(struct sg_upc *u)
{
	if (u->ep->health != SG_EP_HEALTHY)
		sg_failover_set(u->ep, SG_EP_HEALTHY, NULL);
}

static void
conn_do_dial(struct sg_conn *c)
{
	struct conn_ready *rd = conn_rd(c);
	struct sg_upc *u = c->up;
	unsigned want = 0;
	char err[512];
	enum sg_rc rc;

	if (!rd->uw && !rd->ur)
		return;
	rc = sg_upc_advance(u, &want, err, sizeof(err));
	if (rc == SG_AGAIN) {
		/* wait for the direction the connect or handshake needs */
		rd->ur = rd->uw = false;
		u->s.rd_wants_w = want == SG_TLS_WANT_WRITE;
		u->s.wr_wants_r = want == SG_TLS_WANT_READ;
		return;
	}
	if (rc == SG_ERR) {
		conn_dial_failed(c, err, false);
		return;
	}
	conn_up_dialed(u);
	u->s.rd_wants_w = u->s.wr_wants_r = false;
	tl_set(c, SG_TL_NONE);
	conn_arm_request_timeout(c);
	rd->ur = false;
	rd->uw = true;
	c->st = SG_CS_EXCHANGE;
}

/*
 * The active endpoint could not be dialed: answer 502 and demote it,
 * unless the failure is ours (out of descriptors or memory), which says
 * nothing about the daemon's health.
 */
static void
conn_dial_failed(struct sg_conn *c, const char *err, bool local)
{
	struct sg_server *srv = c->srv;
	struct sg_endpoint *ep = c->up != NULL ? c->up->ep :
	    sg_upstream_active(srv);
	char msg[sizeof(ep->error)];

	/* err may be ep->error itself: copy before writing it */
	snprintf(msg, sizeof(msg), "%s", err);
	if (!local)
		snprintf(ep->error, sizeof(ep->error), "%s", msg);
	conn_fail_upstream(c, "dial", msg);
	if (!local)
		sg_failover_demote(srv, ep, ep->error);
}

/* Docker's query booleans: false only for "", 0, no, false, none. */
static int
query_bool(const struct sg_xfer *x, const char *key)
{
	const char *q = x->in + x->req.query.off, *end = q + x->req.query.len;
	size_t kl = strlen(key);

	if (!x->req.has_query)
		return -1;
	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *e = amp != NULL ? amp : end;
		const char *eq = memchr(q, '=', (size_t)(e - q));
		const char *v = eq != NULL ? eq + 1 : e;
		size_t vl = (size_t)(e - v);

		if ((size_t)((eq != NULL ? eq : e) - q) == kl &&
		    memcmp(q, key, kl) == 0)
			return sg_query_value_false(v, vl) ? 0 : 1;
		q = e + 1;
	}
	return -1;
}

static bool
np_is(const char *np, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(np, lit, n) == 0;
}

/* Streaming endpoints never get the request deadline (SPEC 2.5.7). */
static bool
conn_timeout_exempt(const struct sg_xfer *x)
{
	const char *np = x->np + x->np_off;
	size_t n = x->np_len;
	bool libpod;

	if (x->hijack)
		return true;
	if (n > 7 && memcmp(np, "/libpod/", 8) == 0) {
		np += 7;
		n -= 7;
	}
	if (method_is(x, "GET"))
		return np_is(np, n, "/events") ||
		    (np_around(np, n, "/containers/", "/logs") &&
		    query_bool(x, "follow") == 1) ||
		    (np_around(np, n, "/containers/", "/stats") &&
		    query_bool(x, "stream") != 0) ||
		    np_around(np, n, "/containers/", "/export") ||
		    np_around(np, n, "/containers/", "/archive") ||
		    np_is(np, n, "/images/get") ||
		    np_around(np, n, "/images/", "/get") ||
		    sg_np_is_ws_attach(np, n, &libpod);
	if (method_is(x, "PUT"))
		return np_around(np, n, "/containers/", "/archive");
	if (method_is(x, "POST"))
		return np_is(np, n, "/build") || np_is(np, n, "/images/create") ||
		    np_is(np, n, "/images/load") ||
		    np_is(np, n, "/plugins/create") ||
		    np_is(np, n, "/plugins/pull") ||
		    np_around(np, n, "/images/", "/push") ||
		    np_around(np, n, "/plugins/", "/push") ||
		    np_around(np, n, "/plugins/", "/upgrade") ||
		    np_around(np, n, "/containers/", "/wait");
	return false;
}

/* Arms upstream.request_timeout for this request unless it streams. */
static void
conn_arm_request_timeout(struct sg_conn *c)
{
	struct sg_xfer *x = c->x;
	int64_t to = x->conf->ir->upstream.request_timeout_ns;
	struct sg_tlist_head *h = &c->srv->tl[SG_TL_REQ];
	struct sg_conn *p;

	if (to <= 0 || conn_timeout_exempt(x))
		return;
	tl_set(c, SG_TL_NONE);
	/* sorted insert from the tail: the timeout can change on reload */
	c->tl = SG_TL_REQ;
	c->deadline = x->start_ns + to;
	for (p = h->last; p != NULL && p->deadline > c->deadline; p = p->tprev)
		;
	c->tprev = p;
	c->tnext = p != NULL ? p->tnext : h->first;
	if (c->tprev != NULL)
		c->tprev->tnext = c;
	else
		h->first = c;
	if (c->tnext != NULL)
		c->tnext->tprev = c;
	else
		h->last = c;
}

/*
 * The client's chunked body broke its framing after the head went
 * upstream: the daemon only ever saw an unfinished request, which dies
 * with the upstream connection; the client gets the 400 it earned.
 */
static void
conn_bad_body(struct sg_conn *c, int status)
{
	struct sg_xfer *x = c->x;

	x->upstream_reusable = false;
	x->reason_code = "malformed_request_body";
	x->reason = "malformed chunked request body";
	if (c->up != NULL) {
		sg_ev_del(c->srv->ev, c->up->s.fd);
		sg_upstream_release(c->srv, c->up, false);
		c->up = NULL;
	}
	if (!conn_can_reanswer(x)) {
		conn_log(c);
		conn_close(c);
		return;
	}
	tl_set(c, SG_TL_NONE); /* the request deadline ends with the daemon */
	sg_respond_error(c, status, "malformed chunked request body", true);
}

/* ---- body framing ---- */

static int
conn_req_feed(struct sg_xfer *x, uint32_t from, uint32_t n, uint32_t *used)
{
	const char *why;
	size_t u = 0;
	bool done = false;
	int st;

	*used = 0;
	if (x->req_done || n == 0)
		return 0;
	if (x->req.body == SG_BODY_LENGTH) {
		uint64_t take = n < x->req_left ? n : x->req_left;

		x->req_left -= take;
		*used = (uint32_t)take;
		x->req_done = x->req_left == 0;
		return 0;
	}
	st = sg_chunked_scan(&x->req_ck, x->in + from, n, &u, &done, &why);
	if (st != 0)
		return st;
	*used = (uint32_t)u;
	x->req_done = done;
	return 0;
}

/* Feeds response body bytes r[from, from+n); sets r_end. */
static int
conn_resp_feed(struct sg_xfer *x, uint32_t from, uint32_t n)
{
	const char *why;
	size_t u = 0;
	bool done = false;

	if (x->resp_done) {
		if (n > 0)
			x->upstream_reusable = false; /* junk after the body */
		x->r_len = from;
		return 0;
	}
	switch (x->resp.body) {
	case SG_BODY_LENGTH: {
		uint64_t take = n < x->resp_left ? n : x->resp_left;

		x->resp_left -= take;
		u = (size_t)take;
		done = x->resp_left == 0;
		break;
	}
	case SG_BODY_CHUNKED:
		if (sg_chunked_scan(&x->resp_ck, x->r + from, n, &u, &done,
		    &why) != 0)
			return -1;
		break;
	case SG_BODY_EOF:
		u = n;
		break;
	default:
		u = 0;
		done = true;
		break;
	}
	x->r_end = from + (uint32_t)u;
	if (u < n) {
		x->upstream_reusable = false;
		x->r_len = x->r_end;
	}
	x->resp_done = done;
	return 0;
}

/* ---- exchange ---- */

static int
conn_resp_head(struct sg_conn *c)
{
	struct sg_xfer *x = c->x;
	const char *why = NULL;
	bool head = method_is(x, "HEAD");
	size_t o;
	uint32_t h0;
	bool tunnel = false;
	int r, i, st;

	for (;;) {
		r = sg_http_head_end(x->r, x->r_len, &x->rscan);
		if (r < 0)
			return -1;
		if (r == 0) {
			if (x->r_len >= sizeof(x->r))
				return -1;
			return 0;
		}
		st = sg_http_parse_response(x->r, (size_t)r, head, &x->resp,
		    &why);
		if (st != 0)
			return -1;
		if (x->resp.status >= 100 && x->resp.status < 200 &&
		    x->resp.status != 101) {
			/* interim response: drop it, parse the next head;
			 * as Go's client, at most 5 (a daemon sending them
			 * without end would hold the loop) */
			if (++x->ninterim > CONN_INTERIM_MAX)
				return -1;
			memmove(x->r, x->r + r, x->r_len - (uint32_t)r);
			x->r_len -= (uint32_t)r;
			x->rscan = 0;
			continue;
		}
		break;
	}
	/*
	 * The daemon's head counts as the answer (resp_head_done, status)
	 * only once its rewrite is queued: until then a refusal of it can
	 * still be a 502 to the client, not a silent close.
	 */
	x->resp_head_len = (uint32_t)r;
	h0 = x->h_len;
	if (x->resp.status == 101) {
		if (!x->hijack || !x->req.conn_upgrade)
			return -1;
		tunnel = true;
	} else if (x->hijack && x->resp.status == 200 &&
	    x->resp.body == SG_BODY_EOF) {
		/* pre-upgrade API form: 200 then a raw stream */
		tunnel = true;
	}
	if (x->resp.body == SG_BODY_EOF || x->resp.conn_close)
		x->upstream_reusable = false;
	if (x->resp.body == SG_BODY_EOF && !tunnel)
		x->close_after = true;
	/* draining for a shutdown: say so, or a keep-alive client may
	 * send its next request on a connection about to close */
	if (x->req.conn_close || c->srv->draining)
		x->close_after = true;

	/* rewritten head */
	o = x->h_len;
	{
		char sd[4] = {(char)('0' + x->resp.status / 100 % 10),
		    (char)('0' + x->resp.status / 10 % 10),
		    (char)('0' + x->resp.status % 10), ' '};

		if (!SG_PUT_LIT(x->hb, &o, sizeof(x->hb), "HTTP/1.1 ") ||
		    !sg_put(x->hb, &o, sizeof(x->hb), sd, 4) ||
		    !sg_put(x->hb, &o, sizeof(x->hb), x->r +
		    x->resp.reason.off, x->resp.reason.len) ||
		    !SG_PUT_LIT(x->hb, &o, sizeof(x->hb), "\r\n"))
			return -1;
	}
	o = head_copy(x->hb, o, sizeof(x->hb), x->r, &x->resp, 0);
	if (o == 0 || !sg_trace_headers(x->hb, &o, sizeof(x->hb), x))
		return -1;
	if (x->resp.status == 101) {
		i = x->resp.first[SG_HDR_UPGRADE];
		if (!SG_PUT_LIT(x->hb, &o, sizeof(x->hb),
		    "Connection: Upgrade\r\nUpgrade: ") ||
		    !sg_put(x->hb, &o, sizeof(x->hb),
		    i >= 0 ? x->r + x->resp.hdr[i].value.off : "tcp",
		    i >= 0 ? x->resp.hdr[i].value.len : 3) ||
		    !SG_PUT_LIT(x->hb, &o, sizeof(x->hb), "\r\n"))
			return -1;
	} else if (x->close_after && !tunnel &&
	    !SG_PUT_LIT(x->hb, &o, sizeof(x->hb), "Connection: close\r\n")) {
		return -1;
	}
	if (o + 2 > sizeof(x->hb))
		return -1;
	x->hb[o++] = '\r';
	x->hb[o++] = '\n';
	x->h_len = (uint32_t)o;

	/* body framing */
	switch (x->resp.body) {
	case SG_BODY_LENGTH:
		x->resp_left = x->resp.content_length;
		x->resp_done = x->resp_left == 0;
		break;
	case SG_BODY_CHUNKED:
		sg_chunked_init(&x->resp_ck);
		break;
	case SG_BODY_EOF:
		break;
	default:
		x->resp_done = true;
		break;
	}
	x->r_off = x->resp_head_len;
	x->r_end = x->resp_head_len;
	if (tunnel) {
		x->r_end = x->r_len;
	} else if (conn_resp_feed(x, x->resp_head_len,
	    x->r_len - x->resp_head_len)) {
		x->h_len = h0; /* the rewritten head never goes out */
		return -1;
	}
	x->tunnel = tunnel;
	x->resp_head_done = true;
	x->status = x->resp.status;
	return 1;
}

/*
 * Writes the pending response head (hb) and relayed bytes (r) to the
 * client in one writev. Returns -1 when the client is gone.
 */
static int
conn_write_client(struct sg_conn *c, bool *progress)
{
	struct conn_ready *rd = conn_rd(c);
	struct sg_xfer *x = c->x;
	struct iovec iov[2];
	size_t h = x->h_len - x->h_off;
	ssize_t n;

	if (h == 0 && x->r_off == x->r_end)
		return 0; /* nothing in user space (a pipe may hold bytes) */
	if (!rd->cw)
		return 0;
	iov[0].iov_base = x->hb + x->h_off;
	iov[0].iov_len = h;
	iov[1].iov_base = x->r + x->r_off;
	iov[1].iov_len = x->r_end - x->r_off;
	n = sg_sock_writev(&c->cs, iov, 2, &rd->cr, &rd->cw);
	if (n < -1)
		return -1;
	if (n > 0) {
		if ((size_t)n <= h) {
			x->h_off += (uint32_t)n;
		} else {
			x->resp_bytes += (size_t)n - h;
			x->h_off = x->h_len;
			x->r_off += (uint32_t)((size_t)n - h);
		}
		*progress = true;
	}
	return 0;
}

/*
 * Creates the exchange's pipe for splicing; false when it cannot. The
 * first time a unix client connection splices, its socket may also queue
 * more: a unix socket's send buffer does not grow by itself (TCP's does,
 * and setting it would stop that), and at its default every splice out
 * wakes the reader for a few hundred KiB. A client that stops reading
 * then pins at most twice SG_SPLICE_SNDBUF (the kernel doubles it) of
 * kernel memory besides the pipe.
 */
static bool
conn_pipe(struct sg_conn *c)
{
	struct sg_xfer *x = c->x;
	int n;

	if (x->piped)
		return true;
	if (pipe2(x->pfd, O_NONBLOCK | O_CLOEXEC) == -1)
		return false;
	x->piped = true;
	x->pipe_len = 0;
	x->pipe_cap = 65536;
	if (c->srv->nbig_pipes >= SG_SPLICE_BIG_MAX)
		return true; /* the budget is spent: the defaults */
	n = fcntl(x->pfd[1], F_SETPIPE_SZ, SG_SPLICE_PIPE);
	if (n > 0) {
		x->pipe_cap = (uint32_t)n;
		x->big_pipe = true;
		c->srv->nbig_pipes++;
	}
	if (!c->big_sndbuf && c->lst->is_unix) {
		n = SG_SPLICE_SNDBUF;
		c->big_sndbuf = true;
		(void)setsockopt(c->cs.fd, SOL_SOCKET, SO_SNDBUF, &n,
		    sizeof(n));
	}
	return true;
}

/* The response body goes through the pipe from here on. */
static bool
conn_splicing(const struct sg_xfer *x)
{
	return x->piped && !x->nosplice;
}

/* Closes the pipe of a finished exchange: idle connections hold none. */
static void
conn_unpipe(struct sg_server *srv, struct sg_xfer *x)
{
	if (!x->piped)
		return;
	close(x->pfd[0]);
	close(x->pfd[1]);
	x->piped = false;
	x->pipe_len = 0;
	if (x->big_pipe) {
		x->big_pipe = false;
		srv->nbig_pipes--;
	}
}

/*
 * Response body bytes that may bypass user space: the rest of a
 * Content-Length body, of the current chunk's data, or of a body that
 * ends with the connection. Chunk size lines and trailers are always
 * read and checked.
 */
static uint64_t
conn_resp_opaque_left(const struct sg_xfer *x)
{
	switch (x->resp.body) {
	case SG_BODY_LENGTH:
		return x->resp_left;
	case SG_BODY_CHUNKED:
		return sg_chunked_data_left(&x->resp_ck);
	case SG_BODY_EOF:
		return UINT64_MAX;
	default:
		return 0;
	}
}

/*
 * Moves up to n bytes of the pipe to the client. Returns -1 when the
 * client is gone.
 */
static int
conn_pipe_out(struct sg_conn *c, bool *progress)
{
	struct conn_ready *rd = conn_rd(c);
	struct sg_xfer *x = c->x;
	ssize_t n;

	if (x->pipe_len == 0 || !rd->cw)
		return 0;
	n = splice(x->pfd[0], NULL, c->cs.fd, NULL, x->pipe_len,
	    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	if (n > 0) {
		x->pipe_len -= (uint32_t)n;
		x->resp_bytes += (uint64_t)n;
		x->pipe_full = false;
		*progress = true;
	} else if (n == -1 && errno == EAGAIN) {
		rd->cw = false;
	} else if (n == -1 && errno != EINTR) {
		return -1;
	}
	return 0;
}

/*
 * A splice into the pipe would block: either the socket is empty (wait
 * for it to be readable) or the pipe is full, its pages rather than its
 * bytes used up (wait for the client to drain it; polling the readable
 * socket would spin). Bytes waiting in the socket tell which.
 */
static void
conn_pipe_blocked(struct sg_conn *c)
{
	int avail = 0;

	conn_rd(c)->ur = false;
	c->x->pipe_full = c->x->pipe_len > 0 &&
	    (ioctl(c->up->s.fd, FIONREAD, &avail) == -1 || avail > 0);
}

/*
 * Moves up to n bytes from the upstream into the pipe. Returns as
 * sg_sock_read does: the bytes moved, 0 at EOF, -1 when nothing can move
 * now (the socket is empty or the pipe full), -2 on an error.
 */
static ssize_t
conn_pipe_in(struct sg_conn *c, size_t n)
{
	struct sg_xfer *x = c->x;
	ssize_t k;

	k = splice(c->up->s.fd, NULL, x->pfd[1], NULL, n,
	    SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	if (k > 0) {
		x->pipe_len += (uint32_t)k;
		/* short: the socket is drained, polling says when there is
		 * more (and other connections get their turn meanwhile) */
		if ((size_t)k < n)
			conn_rd(c)->ur = false;
		return k;
	}
	if (k == 0)
		return 0;
	if (errno == EAGAIN)
		conn_pipe_blocked(c);
	return errno == EAGAIN || errno == EINTR ? -1 : -2;
}

/*
 * At a chunk boundary of a spliced chunked body: peeks the next size line
 * (and CRLF before it) without consuming it, so that it can be spliced
 * together with the chunk's data. Sets *frame to the framing bytes and
 * *data to the data bytes that follow; 0 on success, 1 when nothing is
 * there yet, 2 when the framing is valid so far but not whole (the
 * upstream's write ended inside it, or it is longer than the peek): *frame
 * is then the bytes peeked, which the caller reads through r[] so that the
 * next peek starts after them; -1 when the framing is invalid (the caller
 * then copies the rest, and the copy path reports it) or at EOF / on an
 * error.
 */
static int
conn_chunk_peek(struct sg_conn *c, char *pk, size_t cap, uint32_t *frame,
    uint64_t *data)
{
	struct sg_xfer *x = c->x;
	struct sg_chunked ck = x->resp_ck;
	const char *why;
	size_t i, used;
	bool done;
	ssize_t n;

	n = recv(c->up->s.fd, pk, cap, MSG_PEEK | MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		if (errno == EAGAIN)
			conn_rd(c)->ur = false;
		return 1;
	}
	if (n <= 0)
		return -1;
	for (i = 0; i < (size_t)n; i++) {
		if (sg_chunked_scan(&ck, pk + i, 1, &used, &done, &why) != 0)
			return -1;
		if (done || sg_chunked_data_left(&ck) > 0) {
			if (done && (size_t)n > i + 1)
				x->upstream_reusable = false; /* junk after */
			*frame = (uint32_t)(i + 1);
			*data = sg_chunked_data_left(&ck);
			return 0;
		}
	}
	*frame = (uint32_t)n;
	return 2;
}

/*
 * Between two plain sockets, a large response body moves kernel to kernel
 * through a pipe (splice): the rest of a Content-Length body, a body that
 * ends with the connection, and chunk data together with the size lines
 * around it (peeked and checked before they are moved). Bytes keep their
 * order: the pipe fills only when everything read into r[] went out, and
 * r[] is read into only when the pipe is empty. The pipe goes out to the
 * client once it holds a quarter of its size, or when nothing more can go
 * in now, so that the client wakes for large batches (a chunk at a time
 * would wake it for every 64 KiB chunk). Sets *read_ok when the caller may
 * read r[] (pipe empty, or the upstream is at EOF or failed, which the
 * read reports). Returns -1 when the client is gone.
 */
static int
conn_body_splice(struct sg_conn *c, bool *progress, bool *read_ok)
{
	struct conn_ready *rd = conn_rd(c);
	struct sg_xfer *x = c->x;
	char pk[SG_SPLICE_PEEK];
	uint32_t frame, room;
	uint64_t left;
	ssize_t n;
	int pr;
	bool eof = false;

	/* move as far as both sides allow */
	while (x->resp_head_done && !x->resp_done && !x->tunnel &&
	    !c->up_eof && !x->nosplice && !x->pipe_full && rd->ur &&
	    x->h_off == x->h_len && x->r_off == x->r_end &&
	    c->cs.ssl == NULL && c->up->s.ssl == NULL) {
		frame = 0;
		left = conn_resp_opaque_left(x);
		if (left == 0 && x->piped &&
		    x->resp.body == SG_BODY_CHUNKED) {
			pr = conn_chunk_peek(c, pk, sizeof(pk), &frame, &left);
			x->ck_copy = 0; /* a piece seen before may be whole now */
			if (pr == 1)
				break;
			if (pr == 2) {
				/* copied once the pipe drained (read below) */
				x->ck_copy = frame;
				break;
			}
			if (pr == -1) {
				x->nosplice = true;
				break;
			}
		}
		if ((left == 0 && frame == 0) || (!x->piped && left <
		    (x->resp.body == SG_BODY_CHUNKED ? SG_SPLICE_MIN_CHUNK :
		    SG_SPLICE_MIN)) || !conn_pipe(c) ||
		    x->pipe_len >= x->pipe_cap)
			break;
		room = x->pipe_cap - x->pipe_len;
		if (room <= frame) {
			x->pipe_full = true; /* wait for a drain */
			break;
		}
		if (left > room - frame)
			left = room - frame;
		n = conn_pipe_in(c, frame + (size_t)left);
		if (n == 0 || n < -1) {
			/* EOF or an error: the read reports it */
			eof = true;
			break;
		}
		if (n == -1)
			break;
		/* the pipe holds body bytes: r[] waits until they went out */
		*progress = true;
		if (frame > 0) {
			/* the peeked size line went with it: account for it */
			size_t f = (size_t)n < frame ? (size_t)n : frame, used;
			bool done;
			const char *why;

			(void)sg_chunked_scan(&x->resp_ck, pk, f, &used, &done,
			    &why);
			x->resp_done = done;
			n -= (ssize_t)f;
		}
		if (x->resp.body == SG_BODY_LENGTH) {
			x->resp_left -= (uint64_t)n;
			x->resp_done = x->resp_left == 0;
		} else if (x->resp.body == SG_BODY_CHUNKED && n > 0) {
			sg_chunked_skip(&x->resp_ck, (uint64_t)n);
		}
		if (x->pipe_len >= x->pipe_cap / 4 &&
		    conn_pipe_out(c, progress) == -1)
			return -1;
	}
	if (x->h_off == x->h_len && x->r_off == x->r_end &&
	    conn_pipe_out(c, progress) == -1)
		return -1;
	/* once spliced, the rest of the body is, but for the pieces of a
	 * size line that came in several writes; a read sees those, or the
	 * end */
	*read_ok = eof || ((!conn_splicing(x) || x->ck_copy > 0) &&
	    x->pipe_len == 0);
	return 0;
}

/* Ends an exchange the client left: logged, both sides closed. */
static void
conn_abort(struct sg_conn *c, const char *reason_code)
{
	c->x->upstream_reusable = false;
	c->x->reason_code = reason_code;
	conn_log(c);
	conn_close(c);
}

static void
conn_do_exchange(struct sg_conn *c)
{
	struct conn_ready *rd = conn_rd(c);
	struct sg_xfer *x = c->x;
	struct iovec iov[2];
	bool progress = true, read_ok;
	ssize_t n;

	/*
	 * A client that hung up entirely (a hangup or an error, not a
	 * half-close) can be sent nothing more: waiting for the daemon's
	 * answer would hold the connection, its slot and the daemon's
	 * request for nothing (the reference proxy cancels the request).
	 * An answer already delivered whole ends as usual.
	 */
	if (c->cs.gone && !(x->resp_done && !conn_client_pending(x))) {
		conn_abort(c, "client_closed");
		return;
	}
	while (progress) {
		progress = false;
		/* body relayed so far: reuse the whole response buffer (also
		 * when no read is due now: the interest depends on room) */
		if (x->resp_head_done && x->r_off == x->r_end &&
		    x->r_len == x->r_end)
			x->r_off = x->r_end = x->r_len = 0;

		/* request head and body to the upstream */
		if (conn_upstream_pending(x) && rd->uw) {
			iov[0].iov_base = x->out + x->o_off;
			iov[0].iov_len = x->o_len - x->o_off;
			iov[1].iov_base = x->in + x->b_off;
			iov[1].iov_len = x->b_end - x->b_off;
			n = sg_sock_writev(&c->up->s, iov, 2, &rd->ur, &rd->uw);
			if (n < -1) {
				conn_fail_upstream(c, "write", strerror(errno));
				return;
			}
			if (n > 0) {
				size_t h = x->o_len - x->o_off;

				if ((size_t)n <= h) {
					x->o_off += (uint32_t)n;
				} else {
					x->o_off = x->o_len;
					x->b_off += (uint32_t)((size_t)n - h);
				}
				progress = true;
			}
		}
		/* body sent so far: reuse the room after the head */
		if (!x->req_done && x->b_off == x->b_end &&
		    x->in_len == x->b_end) {
			x->b_off = x->b_end = x->in_len = x->head_len;
		}

		/* more body (or EOF / pipelined bytes) from the client */
		if (rd->cr && !c->client_eof && x->in_len < x->in_cap) {
			n = sg_sock_read(&c->cs, x->in + x->in_len,
			    x->in_cap - x->in_len, &rd->cr, &rd->cw);
			if (n == 0 || n < -1) {
				bool stream = x->resp_head_done &&
				    (x->resp.body == SG_BODY_EOF ||
				    x->resp.body == SG_BODY_CHUNKED);

				c->client_eof = true;
				if (!x->req_done || n < -1 || stream) {
					/* client gone: abort the exchange */
					conn_abort(c, "client_closed");
					return;
				}
				/* half-close after a full request: answer, then close */
				x->close_after = true;
			} else if (n > 0) {
				uint32_t from = x->in_len, used = 0;
				int st;

				x->in_len += (uint32_t)n;
				if (!x->req_done) {
					st = conn_req_feed(x, from, (uint32_t)n,
					    &used);
					if (st != 0) {
						conn_bad_body(c, st);
						return;
					}
					x->b_end = from + used;
				}
				progress = true;
			}
		}

		/* large bodies between plain sockets: spliced */
		if (conn_body_splice(c, &progress, &read_ok) == -1) {
			conn_abort(c, "client_closed_response");
			return;
		}

		/* response from the upstream */
		if (rd->ur && !x->resp_done && !c->up_eof && read_ok) {
			if (x->r_len < sizeof(x->r)) {
				uint32_t from = x->r_len;
				size_t want = sizeof(x->r) - x->r_len;

				/* only the peeked piece of a size line: the
				 * splice resumes after it */
				if (x->ck_copy > 0 && x->ck_copy < want)
					want = x->ck_copy;
				x->ck_copy = 0;
				n = sg_sock_read(&c->up->s, x->r + x->r_len,
				    want, &rd->ur, &rd->uw);
				if (n == 0 || n < -1) {
					c->up_eof = true;
					x->upstream_reusable = false;
					if (x->resp_head_done &&
					    x->resp.body == SG_BODY_EOF) {
						x->resp_done = true;
					} else if (!x->resp_head_done) {
						conn_fail_upstream(c,
						    "response head", n == 0 ?
						    "connection closed before a "
						    "response" : strerror(errno));
						return;
					} else {
						/* truncated body: relay what came,
						 * then cut the client (below) */
						x->close_after = true;
						x->reason_code =
						    "upstream_response_truncated";
					}
					progress = true;
				} else if (n > 0) {
					x->r_len += (uint32_t)n;
					if (!x->resp_head_done) {
						int r = conn_resp_head(c);

						if (r < 0) {
							conn_fail_upstream(c,
							    "response head",
							    "malformed response "
							    "head");
							return;
						}
					} else if (conn_resp_feed(x, from,
					    (uint32_t)n) != 0) {
						x->close_after = true;
						x->upstream_reusable = false;
						x->resp_done = true;
						x->reason_code =
						    "upstream_bad_chunked";
					}
					progress = true;
				}
			}
		}

		/* response to the client */
		if (conn_write_client(c, &progress) == -1) {
			conn_abort(c, "client_closed_response");
			return;
		}

		if (x->resp_head_done && x->tunnel && x->h_off == x->h_len &&
		    !conn_upstream_pending(x)) {
			/* switch: early client bytes after the body go up */
			x->b_off = x->b_end;
			x->b_end = x->in_len;
			c->st = SG_CS_TUNNEL;
			return;
		}
		if (c->up_eof && x->resp_head_done && !x->resp_done &&
		    !conn_client_pending(x)) {
			/* a truncated body went out as far as it came */
			conn_log(c);
			conn_close(c);
			return;
		}
		/* a tunnel switches above once the request went up whole */
		if (x->resp_head_done && x->resp_done && !x->tunnel &&
		    !conn_client_pending(x)) {
			if (c->up_eof && x->resp.body != SG_BODY_EOF &&
			    !x->resp_done)
				x->close_after = true;
			conn_finish(c);
			return;
		}
	}
}

/* ---- tunnel (hijacked attach / exec) ---- */

/*
 * Between two plain sockets the daemon's output moves kernel to kernel
 * through a pipe (splice), once the 101 head and any bytes read with it
 * went out. Returns -1 on an error that ends the tunnel.
 */
static int
conn_tunnel_splice(struct sg_conn *c, bool *progress)
{
	struct conn_ready *rd = conn_rd(c);
	struct sg_xfer *x = c->x;
	ssize_t n;

	if (!x->piped && (c->cs.ssl != NULL || c->up->s.ssl != NULL ||
	    x->h_off < x->h_len || x->r_off < x->r_end || !conn_pipe(c)))
		return 0;
	if (rd->ur && !c->up_eof && !x->pipe_full &&
	    x->pipe_len < x->pipe_cap) {
		n = conn_pipe_in(c, x->pipe_cap - x->pipe_len);
		if (n < -1)
			return -1;
		if (n == 0)
			c->up_eof = true;
		if (n >= 0)
			*progress = true;
	}
	return conn_pipe_out(c, progress);
}

static void
conn_do_tunnel(struct sg_conn *c)
{
	struct conn_ready *rd = conn_rd(c);
	struct sg_xfer *x = c->x;
	struct iovec iov[2];
	bool progress = true;
	ssize_t n;

	while (progress) {
		progress = false;
		/* client -> upstream */
		if (x->b_off == x->b_end) {
			x->b_off = x->b_end = x->in_len = x->head_len;
		}
		if (rd->cr && !c->client_eof && x->in_len < x->in_cap) {
			n = sg_sock_read(&c->cs, x->in + x->in_len,
			    x->in_cap - x->in_len, &rd->cr, &rd->cw);
			if (n == 0) {
				c->client_eof = true;
				progress = true;
			} else if (n < -1) {
				goto done;
			} else if (n > 0) {
				x->in_len += (uint32_t)n;
				x->b_end = x->in_len;
				progress = true;
			}
		}
		if (x->b_off < x->b_end && rd->uw) {
			iov[0].iov_base = x->in + x->b_off;
			iov[0].iov_len = x->b_end - x->b_off;
			n = sg_sock_writev(&c->up->s, iov, 1, &rd->ur, &rd->uw);
			if (n < -1)
				goto done;
			if (n > 0) {
				x->b_off += (uint32_t)n;
				progress = true;
			}
		}
		if (c->client_eof && x->b_off == x->b_end && !c->up_wr_shut) {
			/* stdin EOF reaches the container */
			sg_sock_shutdown_write(&c->up->s);
			c->up_wr_shut = true;
		}

		/* upstream -> client */
		if (x->r_off == x->r_end)
			x->r_off = x->r_end = x->r_len = 0;
		if (conn_tunnel_splice(c, &progress) == -1)
			goto done;
		if (!x->piped && rd->ur && !c->up_eof &&
		    x->r_len < sizeof(x->r)) {
			n = sg_sock_read(&c->up->s, x->r + x->r_len,
			    sizeof(x->r) - x->r_len, &rd->ur, &rd->uw);
			if (n == 0) {
				c->up_eof = true;
				progress = true;
			} else if (n < -1) {
				goto done;
			} else if (n > 0) {
				x->r_len += (uint32_t)n;
				x->r_end = x->r_len;
				progress = true;
			}
		}
		if (conn_write_client(c, &progress) == -1)
			goto done;
		if (c->up_eof && !conn_client_pending(x) && !c->client_wr_shut) {
			/* output finished: tell the client */
			sg_sock_shutdown_write(&c->cs);
			c->client_wr_shut = true;
		}
		if (c->client_wr_shut && c->up_wr_shut)
			goto done;
	}
	/*
	 * A peer that hung up for good after its end of file, with nothing
	 * left to go to the other one: the tunnel is over. (Its socket is
	 * watched level-triggered with no interest left, and the hangup
	 * would be reported on every wait.)
	 */
	if ((c->cs.gone && c->client_eof && x->b_off == x->b_end) ||
	    (c->up->s.gone && c->up_eof && !conn_client_pending(x)))
		goto done;
	return;
done:
	x->upstream_reusable = false;
	conn_log(c);
	conn_close(c);
}

/* ---- local answers ---- */

static void
conn_do_local(struct sg_conn *c)
{
	struct conn_ready *rd = conn_rd(c);
	struct sg_xfer *x = c->x;
	struct iovec iov[1];
	bool progress = true;
	ssize_t n;

	while (progress) {
		progress = false;
		if (x->h_off < x->h_len && rd->cw) {
			iov[0].iov_base = x->hb + x->h_off;
			iov[0].iov_len = x->h_len - x->h_off;
			n = sg_sock_writev(&c->cs, iov, 1, &rd->cr, &rd->cw);
			if (n < -1) {
				conn_log(c);
				conn_close(c);
				return;
			}
			if (n > 0) {
				x->h_off += (uint32_t)n;
				progress = true;
			}
		}
		/* skip the body of a refused request to keep the stream in sync */
		if (!x->req_done && !x->close_after) {
			if (x->b_off < x->b_end) {
				x->discarded += x->b_end - x->b_off;
				x->b_off = x->b_end;
			}
			if (x->discarded > SG_DISCARD_MAX) {
				x->close_after = true;
			} else if (rd->cr) {
				uint32_t used = 0;

				x->b_off = x->b_end = x->in_len = x->head_len;
				n = sg_sock_read(&c->cs, x->in + x->in_len,
				    x->in_cap - x->in_len, &rd->cr, &rd->cw);
				if (n == 0 || n < -1) {
					x->close_after = true;
				} else if (n > 0) {
					x->in_len += (uint32_t)n;
					if (conn_req_feed(x, x->head_len,
					    (uint32_t)n, &used) != 0)
						x->close_after = true;
					x->b_end = x->head_len + used;
					x->discarded += used;
					x->b_off = x->b_end;
					progress = true;
				}
			}
		}
		if (x->h_off == x->h_len && (x->req_done || x->close_after)) {
			conn_finish(c);
			return;
		}
	}
	/*
	 * The answer went out and the refused body is still owed: it must
	 * keep coming like a head does, or the connection is closed (a
	 * client that announces a body and never sends it would hold it
	 * open for good)
	 */
	if (c->tl == SG_TL_NONE)
		tl_set(c, SG_TL_HEAD);
}

/* ---- completion ---- */

static void
conn_finish(struct sg_conn *c)
{
	struct sg_server *srv = c->srv;
	struct sg_xfer *x = c->x;
	uint32_t left;
	bool reuse;

	tl_set(c, SG_TL_NONE);
	conn_log(c);
	/* bytes after the response may sit unread in the socket (a splice
	 * moved the body, or the last read filled r[]): with edge-triggered
	 * readiness no new edge reports them, so the next use peeks first */
	if (c->up != NULL)
		c->up->unseen_tail = x->piped || conn_rd(c)->ur;
	conn_unpipe(srv, x);
	if (c->up != NULL) {
		/* a response may end before the request went up whole (a
		 * daemon may answer early): the rest of its body would lead
		 * the next request on this connection */
		reuse = x->upstream_reusable && x->req_done && x->resp_done &&
		    !c->up_eof && !x->tunnel && !conn_upstream_pending(x);
		/* the pool takes the fd over without an epoll_ctl round trip */
		sg_upstream_release(srv, c->up, reuse);
		c->up = NULL;
	}
	if (x->close_after || !x->req_done || srv->draining ||
	    (x->req.conn_close && x->head_len > 0)) {
		conn_close(c);
		return;
	}
	/* keep-alive: pipelined bytes move to the front */
	left = x->in_len - x->b_end;
	if (x->conf != NULL)
		sg_conf_unref(x->conf);
	if (x->big != NULL && left <= sizeof(x->in_buf)) {
		memcpy(x->in_buf, x->in + x->b_end, left);
		xfer_shrink(srv, x);
	} else if (left > 0) {
		memmove(x->in, x->in + x->b_end, left);
	}
	{
		struct sg_xfer *next = x->next_free;

		xfer_clear(x);
		x->next_free = next;
	}
	x->start_ns = sg_ev_now(srv->ev); /* the next head's start */
	x->in_len = left;
	c->up_eof = false;
	c->client_eof = false;
	if (left > 0) {
		c->st = SG_CS_HEAD;
		tl_set(c, SG_TL_HEAD);
	} else {
		xfer_put(srv, x);
		c->x = NULL;
		c->st = SG_CS_IDLE;
		tl_set(c, SG_TL_IDLE);
	}
}

/* Who the client is: address or "unix", peer credentials, certificate. */
static void
conn_log_client(struct sg_logrec *r, const struct sg_conn *c)
{
	sg_log_ustr(r, "client", c->peer, strlen(c->peer));
	if (c->has_cred) {
		sg_log_int(r, "peer_uid", (long long)c->uid);
		sg_log_int(r, "peer_gid", (long long)c->gid);
		sg_log_int(r, "peer_pid", (long long)c->pid);
	}
	if (c->cert_spki[0] != '\0') {
		sg_log_ustr(r, "client_cert_cn", c->cert_cn, strlen(c->cert_cn));
		sg_log_str(r, "client_cert_spki_sha256", c->cert_spki);
	}
}

static void
conn_log(struct sg_conn *c)
{
	static struct sg_logrec r;
	struct sg_xfer *x = c->x;
	bool deny, would;
	int64_t lat = sg_ev_clock() - x->start_ns;
	const struct sg_ir *ir = x->conf != NULL ? x->conf->ir :
	    c->srv->conf->ir;

	if (x->decision == NULL)
		x->decision = "";
	if (x->reason_code == NULL)
		x->reason_code = "";
	deny = strcmp(x->decision, "deny") == 0;
	would = strcmp(x->decision, "would_deny") == 0;
	if (ir->log.access_log) {
		sg_log_begin(&r, deny || (would && x->mode == SG_MODE_WARN) ?
		    SG_LOG_WARN : SG_LOG_INFO, deny ? "request_denied" :
		    would ? "request_would_deny" : "request");
		sg_log_ustr(&r, "method", x->in + x->req.method.off,
		    x->req.method.len);
		if (x->dpath_len > 0)
			sg_log_ustr(&r, "path", x->in + x->dpath_off,
			    x->dpath_len);
		else
			sg_log_ustr(&r, "path", x->in + x->req.path.off,
			    x->req.path.len);
		sg_log_str(&r, "request_id", x->reqid);
		if (x->req.first[SG_HDR_X_REQUEST_ID] >= 0 && x->head_len > 0) {
			const struct sg_http_hdr *h =
			    &x->req.hdr[x->req.first[SG_HDR_X_REQUEST_ID]];

			sg_log_ustr(&r, "client_request_id", x->in +
			    h->value.off, h->value.len);
		}
		sg_log_str(&r, "listener_name", c->lst->ir->name);
		sg_log_int(&r, "generation", x->conf != NULL ?
		    (long long)x->conf->generation :
		    (long long)c->srv->conf->generation);
		sg_log_ustr(&r, "normalized_path", x->np + x->np_off,
		    x->np_len);
		sg_log_str(&r, "decision", x->decision);
		sg_log_int(&r, "rule", x->rule);
		if (x->profile >= 0 && x->conf != NULL &&
		    (size_t)x->profile < x->conf->ir->clients.nprofiles)
			sg_log_str(&r, "profile",
			    x->conf->ir->clients.profiles[x->profile].name);
		if (x->mode == SG_MODE_WARN || x->mode == SG_MODE_AUDIT)
			sg_log_str(&r, "rollout_mode", x->mode == SG_MODE_WARN ?
			    "warn" : "audit");
		if (x->reason_code[0] != '\0')
			sg_log_str(&r, "reason_code", x->reason_code);
		if (x->reason != NULL && x->reason[0] != '\0')
			sg_log_ustr(&r, "reason", x->reason, strlen(x->reason));
		sg_log_str(&r, "trace_id", x->trace_id);
		if (x->parent_id[0] != '\0')
			sg_log_str(&r, "trace_parent_id", x->parent_id);
		sg_log_str(&r, "trace_span_id", x->span_id);
		sg_log_bool(&r, "trace_sampled", x->flags[1] == '1' ||
		    x->flags[1] == '3' || x->flags[1] == '5' ||
		    x->flags[1] == '7' || x->flags[1] == '9' ||
		    x->flags[1] == 'b' || x->flags[1] == 'd' ||
		    x->flags[1] == 'f');
		sg_log_int(&r, "status", x->status);
		sg_log_ms(&r, "latency_ms", lat);
		sg_log_int(&r, "bytes", (long long)x->resp_bytes);
		conn_log_client(&r, c);
		if (!x->local)
			sg_log_str(&r, "upstream",
			    sg_upstream_active(c->srv)->label);
		sg_log_end(&r);
	}
	if (ir->log.audit_enabled)
		conn_audit(c, ir);
}

/* One audit event per request (SPEC 2.9.4): a stable JSON field set. */
static void
conn_audit(struct sg_conn *c, const struct sg_ir *ir)
{
	static struct sg_logrec r;
	struct sg_xfer *x = c->x;
	struct timespec ts;
	struct tm tm;
	char t[64];
	const char *ip = c->peer;
	size_t iplen = strlen(c->peer);
	const struct sg_http_hdr *h = NULL;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(t + strlen(t), sizeof(t) - strlen(t), ".%09ldZ", ts.tv_nsec);
	sg_log_begin_audit(&r);
	sg_log_str(&r, "timestamp", t);
	sg_log_str(&r, "request_id", x->reqid);
	if (x->head_len > 0 && x->req.first[SG_HDR_X_REQUEST_ID] >= 0)
		h = &x->req.hdr[x->req.first[SG_HDR_X_REQUEST_ID]];
	sg_log_ustr(&r, "client_request_id", h != NULL ? x->in + h->value.off :
	    "", h != NULL ? h->value.len : 0);
	sg_log_str(&r, "trace_id", x->trace_id);
	sg_log_str(&r, "trace_parent_id", x->parent_id);
	sg_log_str(&r, "trace_span_id", x->span_id);
	sg_log_bool(&r, "trace_sampled", x->flags[1] != '\0' &&
	    ((x->flags[1] >= '0' && x->flags[1] <= '9' ? x->flags[1] - '0' :
	    x->flags[1] - 'a' + 10) & 1));
	sg_log_ustr(&r, "method", x->in + x->req.method.off, x->req.method.len);
	sg_log_ustr(&r, "raw_path", x->in + x->dpath_off, x->dpath_len);
	sg_log_ustr(&r, "normalized_path", x->np + x->np_off, x->np_len);
	sg_log_str(&r, "decision", x->decision);
	sg_log_str(&r, "reason_code", x->reason_code);
	sg_log_ustr(&r, "reason", x->reason != NULL ? x->reason : "",
	    x->reason != NULL ? strlen(x->reason) : 0);
	sg_log_int(&r, "matched_rule", x->rule);
	sg_log_str(&r, "selected_profile", x->profile >= 0 && x->conf != NULL ?
	    x->conf->ir->clients.profiles[x->profile].name : "");
	if (x->mode == SG_MODE_WARN || x->mode == SG_MODE_AUDIT)
		sg_log_str(&r, "rollout_mode", x->mode == SG_MODE_WARN ? "warn" :
		    "audit");
	sg_log_int(&r, "status", x->status);
	sg_log_ustr(&r, "actor_remote_addr", c->peer, strlen(c->peer));
	if (c->lst->is_unix) {
		ip = "";
		iplen = 0;
	} else if (ip[0] == '[') {
		ip++;
		iplen = (size_t)(strchr(ip, ']') - ip);
	} else {
		iplen = strcspn(ip, ":");
	}
	sg_log_ustr(&r, "actor_source_ip", ip, iplen);
	sg_log_str(&r, "transport_listener", c->lst->is_unix ? "unix" : "tcp");
	sg_log_str(&r, "transport_scheme", c->cs.ssl != NULL ? "https" : "http");
	sg_log_str(&r, "transport_protocol", "HTTP/1.1");
	sg_log_raw(&r, "ownership", "{\"enabled\":false,\"owner\":\"\","
	    "\"label_key\":\"com.sockguard.owner\"}");
	sg_log_str(&r, "listener_name", c->lst->ir->name);
	sg_log_end(&r);
	(void)ir;
}

/* ---- closing and timeouts ---- */

static void
conn_close(struct sg_conn *c)
{
	struct sg_server *srv = c->srv;

	if (c->st == SG_CS_CLOSED)
		return;
	c->st = SG_CS_CLOSED;
	tl_set(c, SG_TL_NONE);
	sg_ev_del(srv->ev, c->cs.fd);
	if (c->up != NULL) {
		sg_ev_del(srv->ev, c->up->s.fd);
		sg_upstream_release(srv, c->up, false);
		c->up = NULL;
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	c->lst->nconns--;
	/* below its bound, or a descriptor freed: accepting resumes */
	sg_listen_pause(srv, false);
	sg_ev_defer(srv->ev, conn_free, c);
}

static void
conn_free(void *arg)
{
	struct sg_conn *c = arg;

	if (c->cs.ssl != NULL) {
		/* best effort close_notify; never blocks */
		ERR_clear_error();
		if (SSL_is_init_finished(c->cs.ssl))
			SSL_shutdown(c->cs.ssl);
		SSL_free(c->cs.ssl);
	}
	close(c->cs.fd);
	if (c->x != NULL) {
		conn_unpipe(c->srv, c->x);
		if (c->x->conf != NULL)
			sg_conf_unref(c->x->conf);
		c->x->conf = NULL;
		xfer_put(c->srv, c->x);
	}
	c->magic = 0;
	free((struct conn_full *)(void *)c);
}

static void
tl_set(struct sg_conn *c, enum sg_tlist l)
{
	struct sg_server *srv = c->srv;
	struct sg_tlist_head *h;

	if (c->tl != SG_TL_NONE) {
		h = &srv->tl[c->tl];
		if (c->tprev != NULL)
			c->tprev->tnext = c->tnext;
		else
			h->first = c->tnext;
		if (c->tnext != NULL)
			c->tnext->tprev = c->tprev;
		else
			h->last = c->tprev;
		c->tprev = c->tnext = NULL;
	}
	c->tl = l;
	if (l == SG_TL_NONE)
		return;
	h = &srv->tl[l];
	c->deadline = sg_ev_now(srv->ev) + h->timeout;
	c->tprev = h->last;
	if (h->last != NULL)
		h->last->tnext = c;
	else
		h->first = c;
	h->last = c;
}

void
sg_conn_expire(struct sg_server *srv)
{
	int64_t now = sg_ev_now(srv->ev);
	struct sg_conn *c;

	while ((c = srv->tl[SG_TL_REQ].first) != NULL && c->deadline <= now) {
		struct sg_xfer *x = c->x;

		tl_set(c, SG_TL_NONE);
		x->reason_code = "upstream_request_timeout";
		x->reason = "upstream request timed out";
		if (conn_can_reanswer(x)) {
			/* no response head yet: 504, the upstream is dropped */
			if (c->up != NULL) {
				sg_ev_del(srv->ev, c->up->s.fd);
				sg_upstream_release(srv, c->up, false);
				c->up = NULL;
			}
			sg_respond_error(c, 504, "upstream request timed out",
			    true);
			conn_step(c);
		} else {
			/* the body was already streaming: cut the connection */
			conn_log(c);
			conn_close(c);
		}
	}

	while ((c = srv->tl[SG_TL_IDLE].first) != NULL && c->deadline <= now)
		conn_close(c);
	while ((c = srv->tl[SG_TL_HEAD].first) != NULL && c->deadline <= now) {
		tl_set(c, SG_TL_NONE);
		if (c->st == SG_CS_DIAL) {
			conn_dial_failed(c, "connect timed out", false);
			conn_step(c);
		} else if (c->st == SG_CS_HEAD && c->x != NULL) {
			c->x->head_len = c->x->in_len;
			sg_respond_error(c, 408, "request head not received in "
			    "time", true);
			conn_step(c);
		} else if (c->st == SG_CS_LOCAL && c->x != NULL) {
			/* answered; the refused body it announced never came */
			conn_log(c);
			conn_close(c);
		} else {
			conn_close(c);
		}
	}
}

int64_t
sg_conn_next_deadline(struct sg_server *srv)
{
	int64_t d = -1;
	int i;

	for (i = SG_TL_HEAD; i < SG_TL__COUNT; i++) {
		struct sg_conn *c = srv->tl[i].first;

		if (c != NULL && (d < 0 || c->deadline < d))
			d = c->deadline;
	}
	return d;
}

/*
 * Called once a second: exchange buffers that stayed unused in the free
 * list for the whole second go back to the system, so memory follows the
 * load down again (they are large enough to be mmap-backed).
 */
void
sg_conn_trim(struct sg_server *srv)
{
	size_t n = srv->xfree_low;

	while (n-- > 0 && srv->xfree != NULL) {
		struct sg_xfer *x = srv->xfree;

		srv->xfree = x->next_free;
		srv->nxfree--;
		free(x);
	}
	srv->xfree_low = srv->nxfree;
}

/* Shutdown: idle connections go now, busy ones when their exchange ends. */
void
sg_conn_drain(struct sg_server *srv)
{
	struct sg_conn *c, *n;

	for (c = srv->conns; c != NULL; c = n) {
		n = c->next;
		if (c->st == SG_CS_IDLE)
			conn_close(c);
	}
}

void
sg_conn_close_all(struct sg_server *srv)
{
	struct sg_conn *c, *n;

	for (c = srv->conns; c != NULL; c = n) {
		n = c->next;
		/* a request still open (a stream, a tunnel, a slow answer)
		 * gets its access and audit records like any other */
		if (c->x != NULL && (c->st == SG_CS_DIAL ||
		    c->st == SG_CS_EXCHANGE || c->st == SG_CS_TUNNEL ||
		    c->st == SG_CS_LOCAL)) {
			c->x->upstream_reusable = false;
			if (!c->x->local) /* a local answer keeps its why */
				c->x->reason_code = "drain_deadline";
			conn_log(c);
		}
		conn_close(c);
	}
}

/* ---- exchange buffers ---- */

static struct sg_xfer *
xfer_get(struct sg_server *srv)
{
	struct sg_xfer *x = srv->xfree;

	if (x != NULL) {
		srv->xfree = x->next_free;
		srv->nxfree--;
		if (srv->nxfree < srv->xfree_low)
			srv->xfree_low = srv->nxfree;
	} else {
		x = malloc(sizeof(*x));
		if (x == NULL)
			return NULL;
		/* a freed one got its own buffers back in xfer_put */
		xfer_own_bufs(x);
	}
	srv->nxfer_busy++;
	xfer_clear(x);
	return x;
}

/*
 * Zeroes the exchange's state up to its buffers and empties its two
 * messages (sg_http_msg_clear: no header; the slots' old bytes stay and
 * are never read).
 */
static void
xfer_clear(struct sg_xfer *x)
{
	memset(x, 0, offsetof(struct sg_xfer, req));
	x->rule = -1;    /* none decided: a refusal before the rules */
	x->profile = -1;
	sg_http_msg_clear(&x->req);
	sg_http_msg_clear(&x->resp);
}

static void
xfer_put(struct sg_server *srv, struct sg_xfer *x)
{
	xfer_shrink(srv, x);
	srv->nxfer_busy--;
	/* sg_conn_trim returns what stays unused for a second */
	if (srv->nxfree >= XFREE_MAX) {
		free(x);
		return;
	}
	x->next_free = srv->xfree;
	srv->xfree = x;
	srv->nxfree++;
}

/* The mapping for a head over SG_HEAD_MAX: in, np and out, in that order. */
#define XFER_BIG_IN  (SG_HEAD_BIG + SG_BODY_ROOM)
#define XFER_BIG_NP  (SG_HEAD_BIG + 1)
#define XFER_BIG_OUT (SG_HEAD_BIG + (SG_OUT_BUF - SG_HEAD_MAX))
#define XFER_BIG_LEN ((size_t)XFER_BIG_IN + XFER_BIG_NP + XFER_BIG_OUT)

/*
 * A head outgrew in_buf: it moves to a mapping of its own with room for
 * SG_HEAD_BIG (and np and out to match). Pages are only touched as far as
 * the head goes, and go back to the system with the exchange. Returns
 * NULL, or why the head cannot be taken.
 */
static const char *
xfer_grow(struct sg_server *srv, struct sg_xfer *x)
{
	void *m;

	if (srv->nbig_reading >= SG_BIG_MAX || srv->nbig >= SG_BIG_TOTAL)
		return "too many request heads over 32 KiB at once; retry";
	m = mmap(NULL, XFER_BIG_LEN, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return "out of memory for a large request head; retry";
	x->big = m;
	memcpy(x->big, x->in_buf, x->in_len);
	x->in = x->big;
	x->in_cap = XFER_BIG_IN;
	x->np = x->big + XFER_BIG_IN;
	x->out = x->np + XFER_BIG_NP;
	x->out_cap = XFER_BIG_OUT;
	srv->nbig++;
	srv->nbig_reading++;
	x->big_reading = true;
	return NULL;
}

/* The head in the mapping is whole: it no longer counts as being read. */
static void
xfer_big_read(struct sg_server *srv, struct sg_xfer *x)
{
	if (x->big_reading) {
		x->big_reading = false;
		srv->nbig_reading--;
	}
}

/* Back to the exchange's own buffers; what the mapping held is dropped. */
static void
xfer_shrink(struct sg_server *srv, struct sg_xfer *x)
{
	if (x->big == NULL)
		return;
	xfer_big_read(srv, x);
	munmap(x->big, XFER_BIG_LEN);
	srv->nbig--;
	xfer_own_bufs(x);
}

/* in, np and out on the arrays inside the exchange buffer. */
static void
xfer_own_bufs(struct sg_xfer *x)
{
	x->big = NULL;
	x->big_reading = false;
	x->in = x->in_buf;
	x->np = x->np_buf;
	x->out = x->out_buf;
	x->in_cap = sizeof(x->in_buf);
	x->out_cap = sizeof(x->out_buf);
}
