/*
 * mockd: a fast mock Docker daemon for the sockguard benchmarks.
 *
 * One epoll loop per thread (default 1) on a unix socket, keep-alive,
 * pipelining, canned pre-built responses written with writev:
 *
 *   GET|HEAD [/vX.Y]/_ping             200 "OK"
 *   GET [/vX.Y]/containers/json        200, ~2 KiB JSON array (5 containers)
 *   GET [/vX.Y]/info                   200, a small JSON object whose ID
 *                                      is "MOCK:ENGINE:0001" (the
 *                                      connection stays open, even for
 *                                      HTTP/1.0)
 *   GET [/vX.Y]/events                 200 chunked; one event chunk every
 *                                      ?interval_ms=N (default 1000), ends
 *                                      after ?count=N events (default never);
 *                                      ?bench_bytes=N: a chunked body of
 *                                      ~N bytes (64 KiB chunks) as fast as
 *                                      possible, for throughput;
 *                                      with &cut=K only K chunks, then
 *                                      close (no last chunk: a fault)
 *   GET /bigbody?size=N                200 with a Content-Length body of N;
 *                                      &cut=M: M bytes of it, then close
 *   POST [/vX.Y]/containers/{id}/attach,
 *   POST [/vX.Y]/exec/{id}/start       with "Upgrade: tcp": 101 UPGRADED,
 *                                      then echo every byte back (hijack
 *                                      echo), or with ?bench_bytes=N send N
 *                                      bytes and half-close; without
 *                                      Upgrade: 204
 *   POST|PUT|DELETE anything else      204 (request body skipped)
 *   anything else                      404 JSON
 *
 * usage: mockd -s SOCKET [-t THREADS] [-q]
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define IN_CAP (64 * 1024)
#define SCRATCH_CAP 4096
#define MAXSEG 32
#define FILL_CAP (256 * 1024)
#define CHUNK_PAYLOAD (64 * 1024)

static const char HDR_COMMON[] =
    "Api-Version: 1.43\r\n"
    "Docker-Experimental: false\r\n"
    "Ostype: linux\r\n"
    "Server: Docker/24.0.0 (linux)\r\n"
    "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n";

static char *resp_ping, *resp_ping_head, *resp_containers, *resp_204,
    *resp_404, *resp_info, *resp_101, *resp_events_head;
static size_t len_ping, len_ping_head, len_containers, len_204, len_404,
    len_info, len_101, len_events_head;
static char fill[FILL_CAP];
/* one pre-framed chunk: "10000\r\n" + 64 KiB + "\r\n" */
static char *chunk_frame;
static size_t chunk_frame_len;
static const char CHUNK_END[] = "0\r\n\r\n";

static bool quiet;
static int lfd;

enum mode { M_HTTP, M_ECHO, M_SINK };
enum stream { S_NONE, S_RAW, S_CHUNKED, S_EVENTS };

struct seg {
	const char *p;
	size_t len;
};

struct conn {
	int fd;
	enum mode mode;
	bool close_after;	/* close once the output is flushed */
	bool shut_after;	/* shutdown(SHUT_WR) once the output is flushed */
	bool want_out;		/* EPOLLOUT registered */
	bool peer_eof;
	/* request body being skipped */
	uint64_t body_left;
	int body_chunked;	/* 0 none; else chunk parser state */
	uint64_t chunk_left;
	/* output: segments, then a generated stream */
	struct seg seg[MAXSEG];
	int nseg, seg0;
	size_t seg_off;
	char scratch[SCRATCH_CAP];
	size_t scratch_len;
	enum stream stream;
	uint64_t stream_left;	/* S_RAW bytes / S_CHUNKED chunks / events */
	size_t stream_off;	/* offset inside the current unit */
	bool stream_end_pending; /* S_CHUNKED: terminating chunk to send */
	/* events */
	uint64_t ev_next_ns, ev_interval_ns, ev_seq;
	bool ev_unlimited;
	struct conn *ev_prev, *ev_nextc;
	/* input */
	size_t in_len;
	char in[IN_CAP];
};

struct worker {
	int ep;
	struct conn *events;	/* list of periodic event streams */
	pthread_t th;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char *
mkresp(size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static char *
mkresp(size_t *len, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0) {
		perror("vasprintf");
		exit(1);
	}
	*len = (size_t)n;
	return p;
}

static void
build_responses(void)
{
	char body[4096];
	size_t bl = 0;
	int i;

	resp_ping = mkresp(&len_ping,
	    "HTTP/1.1 200 OK\r\n%s"
	    "Cache-Control: no-cache, no-store, must-revalidate\r\n"
	    "Pragma: no-cache\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 2\r\n\r\nOK", HDR_COMMON);
	resp_ping_head = mkresp(&len_ping_head,
	    "HTTP/1.1 200 OK\r\n%s"
	    "Cache-Control: no-cache, no-store, must-revalidate\r\n"
	    "Pragma: no-cache\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 2\r\n\r\n", HDR_COMMON);
	body[bl++] = '[';
	for (i = 0; i < 5; i++) {
		bl += (size_t)snprintf(body + bl, sizeof(body) - bl,
		    "%s{\"Id\":\"%02d3f5b1c8a9e4d7f6b2a1c0e9d8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f\","
		    "\"Names\":[\"/bench-%d\"],\"Image\":\"busybox:latest\","
		    "\"ImageID\":\"sha256:a416a98b71e224a31ee99cff8e16063554498227d2b696152a9c3e0aa65e5824\","
		    "\"Command\":\"sleep infinity\",\"Created\":1700000000,"
		    "\"Ports\":[],\"Labels\":{\"com.example.bench\":\"true\"},"
		    "\"State\":\"running\",\"Status\":\"Up 2 hours\","
		    "\"HostConfig\":{\"NetworkMode\":\"none\"},"
		    "\"NetworkSettings\":{\"Networks\":{}},\"Mounts\":[]}",
		    i ? "," : "", i, i);
	}
	body[bl++] = ']';
	body[bl++] = '\n';
	body[bl] = 0;
	resp_containers = mkresp(&len_containers,
	    "HTTP/1.1 200 OK\r\n%s"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s", HDR_COMMON, bl, body);
	resp_204 = mkresp(&len_204, "HTTP/1.1 204 No Content\r\n%s\r\n",
	    HDR_COMMON);
	resp_info = mkresp(&len_info,
	    "HTTP/1.1 200 OK\r\n%s"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 56\r\n\r\n"
	    "{\"ID\":\"MOCK:ENGINE:0001\",\"Name\":\"mockd\",\"Containers\":5}\n",
	    HDR_COMMON);
	resp_404 = mkresp(&len_404,
	    "HTTP/1.1 404 Not Found\r\n%s"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 29\r\n\r\n{\"message\":\"page not found\"}\n",
	    HDR_COMMON);
	resp_101 = mkresp(&len_101,
	    "HTTP/1.1 101 UPGRADED\r\n"
	    "Content-Type: application/vnd.docker.raw-stream\r\n"
	    "Connection: Upgrade\r\nUpgrade: tcp\r\n%s\r\n", HDR_COMMON);
	resp_events_head = mkresp(&len_events_head,
	    "HTTP/1.1 200 OK\r\n%s"
	    "Content-Type: application/json\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", HDR_COMMON);
	for (i = 0; i < FILL_CAP; i++)
		fill[i] = (char)('a' + i % 26);
	chunk_frame_len = 7 + CHUNK_PAYLOAD + 2;
	chunk_frame = malloc(chunk_frame_len);
	if (!chunk_frame)
		exit(1);
	memcpy(chunk_frame, "10000\r\n", 7);
	memcpy(chunk_frame + 7, fill, CHUNK_PAYLOAD);
	memcpy(chunk_frame + 7 + CHUNK_PAYLOAD, "\r\n", 2);
}

/* ---- output ---- */

static void
push(struct conn *c, const char *p, size_t len)
{
	if (c->nseg == MAXSEG) {
		/* cannot happen with MAXSEG > pipelined requests per read
		 * that fit IN_CAP... but be safe: drop the connection */
		c->close_after = true;
		c->peer_eof = true;
		return;
	}
	c->seg[c->nseg].p = p;
	c->seg[c->nseg].len = len;
	c->nseg++;
}

/* copy into the scratch area and queue it */
static void
push_copy(struct conn *c, const char *p, size_t len)
{
	if (c->scratch_len + len > SCRATCH_CAP) {
		c->close_after = true;
		return;
	}
	memcpy(c->scratch + c->scratch_len, p, len);
	push(c, c->scratch + c->scratch_len, len);
	c->scratch_len += len;
}

static bool
out_pending(const struct conn *c)
{
	return c->seg0 < c->nseg || (c->stream != S_NONE &&
	    c->stream != S_EVENTS && (c->stream_left > 0 ||
	    c->stream_end_pending));
}

/* fill iov from segments and the stream; returns count */
static int
build_iov(struct conn *c, struct iovec *iov, int max)
{
	int n = 0, i;

	for (i = c->seg0; i < c->nseg && n < max; i++) {
		size_t off = i == c->seg0 ? c->seg_off : 0;

		iov[n].iov_base = (void *)(uintptr_t)(c->seg[i].p + off);
		iov[n].iov_len = c->seg[i].len - off;
		n++;
	}
	if (c->stream == S_RAW && c->stream_left > 0) {
		uint64_t left = c->stream_left;
		size_t off = c->stream_off;

		while (n < max && left > 0 && n < 8) {
			size_t l = FILL_CAP - off;

			if (l > left)
				l = (size_t)left;
			iov[n].iov_base = fill + off;
			iov[n].iov_len = l;
			left -= l;
			off = 0;
			n++;
		}
	} else if (c->stream == S_CHUNKED) {
		uint64_t left = c->stream_left;
		size_t off = c->stream_off;

		while (n < max && left > 0 && n < 8) {
			iov[n].iov_base = chunk_frame + off;
			iov[n].iov_len = chunk_frame_len - off;
			left--;
			off = 0;
			n++;
		}
		if (left == 0 && c->stream_end_pending && n < max) {
			iov[n].iov_base = (void *)(uintptr_t)(CHUNK_END +
			    (c->stream_left == 0 ? c->stream_off : 0));
			iov[n].iov_len = 5 - (c->stream_left == 0 ?
			    c->stream_off : 0);
			n++;
		}
	}
	return n;
}

static void
advance(struct conn *c, size_t w)
{
	while (w > 0 && c->seg0 < c->nseg) {
		struct seg *s = &c->seg[c->seg0];
		size_t l = s->len - c->seg_off;

		if (w < l) {
			c->seg_off += w;
			return;
		}
		w -= l;
		c->seg0++;
		c->seg_off = 0;
	}
	if (c->seg0 == c->nseg) {
		c->seg0 = c->nseg = 0;
		c->seg_off = 0;
		c->scratch_len = 0;
	}
	if (w == 0)
		return;
	if (c->stream == S_RAW) {
		while (w > 0) {
			size_t l = FILL_CAP - c->stream_off;

			if (l > c->stream_left)
				l = (size_t)c->stream_left;
			if (w < l) {
				c->stream_off += w;
				c->stream_left -= w;
				return;
			}
			w -= l;
			c->stream_left -= l;
			c->stream_off = 0;
		}
	} else if (c->stream == S_CHUNKED) {
		while (w > 0 && c->stream_left > 0) {
			size_t l = chunk_frame_len - c->stream_off;

			if (w < l) {
				c->stream_off += w;
				return;
			}
			w -= l;
			c->stream_left--;
			c->stream_off = 0;
		}
		if (w > 0) {
			c->stream_off += w;
			if (c->stream_off >= 5) {
				c->stream_end_pending = false;
				c->stream_off = 0;
			}
		}
	}
}

static void
set_out(struct worker *wk, struct conn *c, bool want)
{
	struct epoll_event ev;

	if (c->want_out == want)
		return;
	c->want_out = want;
	ev.events = want ? EPOLLOUT : EPOLLIN;
	ev.data.ptr = c;
	epoll_ctl(wk->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_close(struct worker *wk, struct conn *c);

/* returns false when the connection was closed */
static bool
flush(struct worker *wk, struct conn *c)
{
	struct iovec iov[MAXSEG + 10];

	while (out_pending(c)) {
		int n = build_iov(c, iov, MAXSEG + 10);
		ssize_t w = writev(c->fd, iov, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				set_out(wk, c, true);
				return true;
			}
			conn_close(wk, c);
			return false;
		}
		advance(c, (size_t)w);
	}
	if (c->stream == S_RAW || c->stream == S_CHUNKED)
		c->stream = S_NONE;
	if (c->shut_after) {
		shutdown(c->fd, SHUT_WR);
		c->shut_after = false;
		c->mode = M_SINK;
	}
	if (c->close_after || (c->peer_eof && c->mode != M_SINK)) {
		conn_close(wk, c);
		return false;
	}
	set_out(wk, c, false);
	return true;
}

/* ---- events list ---- */

static void
ev_unlink(struct worker *wk, struct conn *c)
{
	if (c->stream != S_EVENTS)
		return;
	if (c->ev_prev)
		c->ev_prev->ev_nextc = c->ev_nextc;
	else
		wk->events = c->ev_nextc;
	if (c->ev_nextc)
		c->ev_nextc->ev_prev = c->ev_prev;
	c->ev_prev = c->ev_nextc = NULL;
	c->stream = S_NONE;
}

static void
conn_close(struct worker *wk, struct conn *c)
{
	ev_unlink(wk, c);
	close(c->fd);
	free(c);
}

/* ---- request parsing ---- */

static bool
hdr_is(const char *p, size_t n, const char *name)
{
	size_t l = strlen(name);

	return n > l && p[l] == ':' && strncasecmp(p, name, l) == 0;
}

static const char *
hdr_val(const char *p, size_t n, size_t *vl)
{
	const char *c = memchr(p, ':', n);
	const char *e = p + n;

	c++;
	while (c < e && (*c == ' ' || *c == '\t'))
		c++;
	while (e > c && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*vl = (size_t)(e - c);
	return c;
}

static bool
contains_ci(const char *p, size_t n, const char *w)
{
	size_t l = strlen(w), i;

	for (i = 0; i + l <= n; i++)
		if (strncasecmp(p + i, w, l) == 0)
			return true;
	return false;
}

/* strip "/vX.Y" */
static void
strip_version(const char **p, size_t *n)
{
	const char *s = *p;
	size_t i = 2;

	if (*n < 3 || s[0] != '/' || s[1] != 'v' || !isdigit((unsigned char)s[2]))
		return;
	while (i < *n && (isdigit((unsigned char)s[i]) || s[i] == '.'))
		i++;
	if (i < *n && s[i] == '/') {
		*p += i;
		*n -= i;
	}
}

static bool
path_eq(const char *p, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(p, lit, n) == 0;
}

/* PREFIX{id}SUFFIX with one non-empty segment as id */
static bool
path_pat(const char *p, size_t n, const char *pre, const char *suf)
{
	size_t a = strlen(pre), b = strlen(suf);
	const char *id;
	size_t idl;

	if (n <= a + b || memcmp(p, pre, a) != 0 ||
	    memcmp(p + n - b, suf, b) != 0)
		return false;
	id = p + a;
	idl = n - a - b;
	return memchr(id, '/', idl) == NULL;
}

static uint64_t
query_num(const char *q, size_t n, const char *key, uint64_t dflt)
{
	size_t kl = strlen(key), i = 0;

	while (i < n) {
		size_t e = i;

		while (e < n && q[e] != '&')
			e++;
		if (e - i > kl && memcmp(q + i, key, kl) == 0 &&
		    q[i + kl] == '=') {
			uint64_t v = 0;
			size_t j = i + kl + 1;

			while (j < e && isdigit((unsigned char)q[j]))
				v = v * 10 + (uint64_t)(q[j++] - '0');
			return v;
		}
		i = e + 1;
	}
	return dflt;
}

static void
ev_emit(struct conn *c)
{
	char ev[512], fr[600];
	int n, m;

	n = snprintf(ev, sizeof(ev),
	    "{\"status\":\"start\",\"id\":\"bench%06" PRIu64 "\",\"from\":"
	    "\"busybox:latest\",\"Type\":\"container\",\"Action\":\"start\","
	    "\"Actor\":{\"ID\":\"bench%06" PRIu64 "\",\"Attributes\":{\"image\":"
	    "\"busybox:latest\",\"name\":\"bench\"}},\"scope\":\"local\","
	    "\"time\":1700000000,\"timeNano\":1700000000%09" PRIu64 "}\n",
	    c->ev_seq, c->ev_seq, c->ev_seq);
	m = snprintf(fr, sizeof(fr), "%x\r\n%s\r\n", n, ev);
	push_copy(c, fr, (size_t)m);
	c->ev_seq++;
}

/* handle one request at c->in[off..]; returns bytes consumed or 0 if the
 * head is incomplete; -1 on a malformed request (close). */
static ssize_t
handle_request(struct worker *wk, struct conn *c, size_t off)
{
	const char *b = c->in + off, *end, *le, *sp1, *sp2, *line;
	size_t avail = c->in_len - off, hl;
	const char *meth, *tgt, *path, *q = "";
	size_t ml, tl, pl, ql = 0;
	uint64_t clen = 0;
	bool chunked = false, conn_close = false, upgrade = false, head;

	end = memmem(b, avail, "\r\n\r\n", 4);
	if (!end)
		return avail >= IN_CAP - 1 ? -1 : 0;
	hl = (size_t)(end - b) + 4;
	le = memmem(b, hl, "\r\n", 2);
	sp1 = memchr(b, ' ', (size_t)(le - b));
	if (!sp1)
		return -1;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(le - sp1 - 1));
	if (!sp2)
		return -1;
	meth = b;
	ml = (size_t)(sp1 - b);
	tgt = sp1 + 1;
	tl = (size_t)(sp2 - tgt);
	for (line = le + 2; line < end;) {
		const char *nl = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
		size_t n = (size_t)(nl - line), vl;
		const char *v;

		if (hdr_is(line, n, "content-length")) {
			v = hdr_val(line, n, &vl);
			clen = 0;
			while (vl-- > 0 && isdigit((unsigned char)*v))
				clen = clen * 10 + (uint64_t)(*v++ - '0');
		} else if (hdr_is(line, n, "transfer-encoding")) {
			v = hdr_val(line, n, &vl);
			chunked = contains_ci(v, vl, "chunked");
		} else if (hdr_is(line, n, "connection")) {
			v = hdr_val(line, n, &vl);
			if (contains_ci(v, vl, "close"))
				conn_close = true;
		} else if (hdr_is(line, n, "upgrade")) {
			upgrade = true;
		}
		line = nl + 2;
	}
	path = tgt;
	pl = tl;
	{
		const char *qm = memchr(tgt, '?', tl);

		if (qm) {
			pl = (size_t)(qm - tgt);
			q = qm + 1;
			ql = tl - pl - 1;
		}
	}
	strip_version(&path, &pl);
	head = ml == 4 && memcmp(meth, "HEAD", 4) == 0;
	if (chunked) {
		c->body_chunked = 1;
		c->chunk_left = 0;
	} else {
		c->body_left = clen;
	}
	if (conn_close)
		c->close_after = true;

	if ((ml == 3 && memcmp(meth, "GET", 3) == 0) || head) {
		if (path_eq(path, pl, "/_ping")) {
			if (head)
				push(c, resp_ping_head, len_ping_head);
			else
				push(c, resp_ping, len_ping);
		} else if (path_eq(path, pl, "/containers/json") && !head) {
			push(c, resp_containers, len_containers);
		} else if (path_eq(path, pl, "/info") && !head) {
			push(c, resp_info, len_info);
		} else if (path_eq(path, pl, "/events") && !head) {
			uint64_t bytes = query_num(q, ql, "bench_bytes", 0);

			push(c, resp_events_head, len_events_head);
			if (bytes > 0) {
				uint64_t cut = query_num(q, ql, "cut", 0);

				c->stream = S_CHUNKED;
				c->stream_left = (bytes + CHUNK_PAYLOAD - 1) /
				    CHUNK_PAYLOAD;
				c->stream_off = 0;
				c->stream_end_pending = true;
				if (cut > 0 && cut < c->stream_left) {
					/* fault: cut chunks, then close
					 * without the last chunk */
					c->stream_left = cut;
					c->stream_end_pending = false;
					c->close_after = true;
				}
			} else {
				uint64_t iv = query_num(q, ql, "interval_ms",
				    1000);
				uint64_t cnt = query_num(q, ql, "count", 0);

				c->stream = S_EVENTS;
				c->ev_interval_ns = (iv ? iv : 1) * 1000000u;
				c->ev_next_ns = now_ns() + c->ev_interval_ns;
				c->ev_unlimited = cnt == 0;
				c->stream_left = cnt;
				c->ev_seq = 0;
				c->ev_prev = NULL;
				c->ev_nextc = wk->events;
				if (wk->events)
					wk->events->ev_prev = c;
				wk->events = c;
			}
		} else if (path_eq(path, pl, "/bigbody") && !head) {
			char h[256];
			uint64_t size = query_num(q, ql, "size", 1 << 20);
			uint64_t cut = query_num(q, ql, "cut", 0);
			int n = snprintf(h, sizeof(h), "HTTP/1.1 200 OK\r\n"
			    "Content-Type: application/octet-stream\r\n"
			    "Content-Length: %" PRIu64 "\r\n\r\n", size);

			push_copy(c, h, (size_t)n);
			c->stream = S_RAW;
			c->stream_left = size;
			c->stream_off = 0;
			if (cut > 0 && cut < size) {
				/* fault: only cut bytes, then close */
				c->stream_left = cut;
				c->close_after = true;
			}
		} else {
			push(c, resp_404, len_404);
		}
	} else if (ml == 4 && memcmp(meth, "POST", 4) == 0 && upgrade &&
	    (path_pat(path, pl, "/containers/", "/attach") ||
	    path_pat(path, pl, "/exec/", "/start"))) {
		uint64_t bytes = query_num(q, ql, "bench_bytes", 0);

		push(c, resp_101, len_101);
		c->body_chunked = 0;	/* body_left: skipped before echoing */
		if (bytes > 0) {
			c->stream = S_RAW;
			c->stream_left = bytes;
			c->stream_off = 0;
			c->shut_after = true;
			c->mode = M_SINK;
		} else {
			c->mode = M_ECHO;
		}
	} else if ((ml == 4 && memcmp(meth, "POST", 4) == 0) ||
	    (ml == 3 && memcmp(meth, "PUT", 3) == 0) ||
	    (ml == 6 && memcmp(meth, "DELETE", 6) == 0)) {
		push(c, resp_204, len_204);
	} else {
		push(c, resp_404, len_404);
	}
	return (ssize_t)hl;
}

/* skip request body bytes at c->in[off..]; returns consumed, -1 on error */
static ssize_t
skip_body(struct conn *c, size_t off)
{
	size_t i = off;

	if (c->body_left > 0) {
		size_t n = c->in_len - off;

		if (n > c->body_left)
			n = (size_t)c->body_left;
		c->body_left -= n;
		return (ssize_t)n;
	}
	/* chunked: 1 size, 2 ext, 3 LF after size, 4 data, 5 CR, 6 LF,
	 * 7 trailer line start, 8 trailer line, 9 final LF */
	while (i < c->in_len && c->body_chunked) {
		char ch = c->in[i];

		switch (c->body_chunked) {
		case 1:
			if (isxdigit((unsigned char)ch)) {
				c->chunk_left = c->chunk_left * 16 +
				    (uint64_t)(isdigit((unsigned char)ch) ?
				    ch - '0' : (tolower(ch) - 'a' + 10));
				i++;
			} else if (ch == '\r') {
				c->body_chunked = 3;
				i++;
			} else {
				c->body_chunked = 2;
			}
			break;
		case 2:
			if (ch == '\r')
				c->body_chunked = 3;
			i++;
			break;
		case 3:
			if (ch != '\n')
				return -1;
			i++;
			c->body_chunked = c->chunk_left ? 4 : 7;
			break;
		case 4: {
			size_t n = c->in_len - i;

			if (n > c->chunk_left)
				n = (size_t)c->chunk_left;
			i += n;
			c->chunk_left -= n;
			if (c->chunk_left == 0)
				c->body_chunked = 5;
			break;
		}
		case 5:
			if (ch != '\r')
				return -1;
			i++;
			c->body_chunked = 6;
			break;
		case 6:
			if (ch != '\n')
				return -1;
			i++;
			c->body_chunked = 1;
			c->chunk_left = 0;
			break;
		case 7:
			i++;
			c->body_chunked = ch == '\r' ? 9 : 8;
			break;
		case 8:
			if (ch == '\n')
				c->body_chunked = 7;
			i++;
			break;
		case 9:
			if (ch != '\n')
				return -1;
			i++;
			c->body_chunked = 0;
			break;
		}
	}
	return (ssize_t)(i - off);
}

/* parse and answer what is buffered; returns false when closed */
static bool
process(struct worker *wk, struct conn *c)
{
	for (;;) {
		size_t off = 0;

		while (off < c->in_len && c->mode == M_HTTP &&
		    c->stream == S_NONE && !c->close_after) {
			ssize_t n;

			if (c->body_left > 0 || c->body_chunked) {
				n = skip_body(c, off);
				if (n < 0) {
					conn_close(wk, c);
					return false;
				}
				off += (size_t)n;
				continue;
			}
			if (c->nseg >= MAXSEG - 2)
				break;
			n = handle_request(wk, c, off);
			if (n < 0) {
				conn_close(wk, c);
				return false;
			}
			if (n == 0)
				break;
			off += (size_t)n;
		}
		/* segments point into static data or scratch, never into
		 * c->in, so compacting here is safe */
		if (off > 0) {
			memmove(c->in, c->in + off, c->in_len - off);
			c->in_len -= off;
		}
		if (c->mode == M_ECHO && c->body_left > 0 && c->in_len > 0) {
			size_t n = c->in_len < c->body_left ? c->in_len :
			    (size_t)c->body_left;

			memmove(c->in, c->in + n, c->in_len - n);
			c->in_len -= n;
			c->body_left -= n;
		}
		if (c->mode == M_ECHO && c->in_len > 0) {
			/* bytes after the upgrade head: echo them; they stay
			 * valid in c->in until flushed (reads wait) */
			push(c, c->in, c->in_len);
			c->in_len = 0;
		} else if (c->mode == M_SINK) {
			c->in_len = 0;
		}
		if (!flush(wk, c))
			return false;
		if (c->want_out || off == 0 || c->in_len == 0 ||
		    c->mode != M_HTTP || c->stream != S_NONE)
			return true;
	}
}

static void
on_readable(struct worker *wk, struct conn *c)
{
	for (;;) {
		ssize_t r;

		if (c->want_out)
			return;	/* backpressure: flush first */
		if (c->in_len >= IN_CAP) {
			conn_close(wk, c);	/* head too large */
			return;
		}
		r = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				conn_close(wk, c);
			return;
		}
		if (r == 0) {
			c->peer_eof = true;
			if (c->mode == M_ECHO && out_pending(c)) {
				c->shut_after = true;
				flush(wk, c);
				return;
			}
			if (c->stream == S_EVENTS) {
				c->close_after = true;
				flush(wk, c);
				return;
			}
			if (!out_pending(c)) {
				conn_close(wk, c);
				return;
			}
			c->close_after = true;
			flush(wk, c);
			return;
		}
		if (c->mode == M_SINK)
			continue;
		c->in_len += (size_t)r;
		if (!process(wk, c))
			return;
		if ((size_t)r < 16384 && c->mode == M_HTTP)
			return;	/* short read: most likely drained */
	}
}

static void
on_writable(struct worker *wk, struct conn *c)
{
	if (!flush(wk, c))
		return;
	if (!c->want_out && c->mode == M_HTTP && c->in_len > 0)
		process(wk, c);
}

static int
next_timeout(struct worker *wk)
{
	struct conn *c;
	uint64_t now, best = UINT64_MAX;

	if (!wk->events)
		return -1;
	now = now_ns();
	for (c = wk->events; c; c = c->ev_nextc)
		if (c->ev_next_ns < best)
			best = c->ev_next_ns;
	if (best <= now)
		return 0;
	return (int)((best - now) / 1000000u) + 1;
}

static void
run_events(struct worker *wk)
{
	struct conn *c, *nx;
	uint64_t now = now_ns();

	for (c = wk->events; c; c = nx) {
		nx = c->ev_nextc;
		if (c->ev_next_ns > now || c->want_out)
			continue;
		c->ev_next_ns = now + c->ev_interval_ns;
		ev_emit(c);
		if (!c->ev_unlimited && --c->stream_left == 0) {
			push(c, CHUNK_END, 5);
			ev_unlink(wk, c);
		}
		flush(wk, c);
	}
}

static void *
worker_main(void *arg)
{
	struct worker *wk = arg;
	struct epoll_event evs[256];

	for (;;) {
		int n = epoll_wait(wk->ep, evs, 256, next_timeout(wk)), i;

		if (n < 0 && errno != EINTR) {
			perror("epoll_wait");
			exit(1);
		}
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c == NULL) {
				for (;;) {
					int fd = accept4(lfd, NULL, NULL,
					    SOCK_NONBLOCK | SOCK_CLOEXEC);
					struct epoll_event ev;

					if (fd < 0) {
						if (errno == EMFILE ||
						    errno == ENFILE)
							perror("accept");
						break;
					}
					/* the input buffer is not zeroed: a
					 * fresh connection per request (HAProxy
					 * http-server-close) stays cheap */
					c = malloc(sizeof(*c));
					if (c)
						memset(c, 0, offsetof(struct
						    conn, in));
					if (!c) {
						close(fd);
						continue;
					}
					c->fd = fd;
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					epoll_ctl(wk->ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			if (evs[i].events & EPOLLOUT)
				on_writable(wk, c);
			else if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_readable(wk, c);
		}
		if (wk->events)
			run_events(wk);
	}
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr, "usage: mockd -s SOCKET [-t THREADS] [-q]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *sock = NULL;
	struct sockaddr_un sa;
	struct rlimit rl;
	int threads = 1, opt, i;
	struct worker *wks;

	while ((opt = getopt(argc, argv, "s:t:qh")) != -1) {
		switch (opt) {
		case 's': sock = optarg; break;
		case 't': threads = atoi(optarg); break;
		case 'q': quiet = true; break;
		default: usage();
		}
	}
	if (!sock || threads < 1 || threads > 64)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	build_responses();
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		perror("socket");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "mockd: socket path too long\n");
		return 1;
	}
	strcpy(sa.sun_path, sock);
	unlink(sock);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 4096) < 0) {
		perror("mockd: bind/listen");
		return 1;
	}
	wks = calloc((size_t)threads, sizeof(*wks));
	for (i = 0; i < threads; i++) {
		struct epoll_event ev;

		wks[i].ep = epoll_create1(EPOLL_CLOEXEC);
		ev.events = EPOLLIN | (threads > 1 ? EPOLLEXCLUSIVE : 0);
		ev.data.ptr = NULL;
		epoll_ctl(wks[i].ep, EPOLL_CTL_ADD, lfd, &ev);
	}
	if (!quiet)
		fprintf(stderr, "mockd: listening on %s (%d thread%s)\n", sock,
		    threads, threads > 1 ? "s" : "");
	for (i = 1; i < threads; i++)
		pthread_create(&wks[i].th, NULL, worker_main, &wks[i]);
	worker_main(&wks[0]);
	return 0;
}
