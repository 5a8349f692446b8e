/*
 * loadgen: closed-loop keep-alive HTTP/1.1 load generator for the sockguard
 * benchmarks. One process, one epoll loop, many connections, over a unix
 * socket, TCP or TLS (OpenSSL). Prints one JSON line per run.
 *
 * Modes:
 *   http       (default) each connection sends a request, waits for the
 *              whole response (Content-Length, chunked or until EOF), sends
 *              the next; a server close is followed by a reconnect
 *   echo       hijack: POST with "Upgrade: tcp", expect 101, then
 *              round trips of --echo-size bytes over the raw stream
 *   stream     hijack: POST with "Upgrade: tcp", expect 101, read the raw
 *              stream until EOF (MB/s), reconnect, repeat
 *   handshake  TLS only: connect, handshake, close, repeat (handshakes/s;
 *              with TLS 1.3 the client finishes before the server has
 *              checked its certificate: use http with --new-conn to count
 *              only connections the server accepted)
 *
 * --new-conn makes http mode open a new connection for every request and
 * close it after the response (latency from connect() to the last byte:
 * TCP connect, the full TLS handshake, the request). --cert/--key present
 * a client certificate (mutual TLS), --cacert verifies the server's
 * certificate and its name or IP (the host of -a, or --sni). TLS offers
 * ALPN http/1.1; the JSON line reports the negotiated version, cipher
 * and ALPN.
 *
 * Run `loadgen -h` for the options.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define HB_CAP 8192
#define SCRATCH (256 * 1024)

/* ---- options ---- */

enum mode { MODE_HTTP, MODE_ECHO, MODE_STREAM, MODE_HANDSHAKE };

static struct {
	const char *unix_path, *tcp_addr, *sni;
	const char *cert, *key, *cacert;
	bool tls, new_conn;
	enum mode mode;
	int conns, idle;
	double duration, warmup, timeout, idle_settle;
	const char *method, *path, *idle_path, *body, *scenario, *target;
	const char *hdrs[32];
	int nhdrs;
	const char *expect;
	size_t echo_size;
	uint64_t expect_bytes;
	int rss_pid;
	bool fail_on_error, quiet;
} o = {
	.conns = 10, .duration = 5, .warmup = 0, .timeout = 10, .idle_settle = 0.2,
	.method = "GET", .path = "/_ping", .mode = MODE_HTTP,
	.echo_size = 64, .rss_pid = 0,
};

/* ---- time ---- */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- latency histogram (log-linear, <1% error) ---- */

#define SUB_BITS 7
#define SUB (1u << SUB_BITS)
#define NBUCKET ((64 - SUB_BITS + 1) * SUB)

struct hist {
	uint64_t b[NBUCKET];
	uint64_t n, max;
};

static unsigned
hbucket(uint64_t v)
{
	unsigned msb;

	if (v < SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	return (msb - SUB_BITS + 1) * SUB + (unsigned)((v >> (msb - SUB_BITS)) - SUB);
}

static uint64_t
hvalue(unsigned idx)	/* upper edge of a bucket */
{
	unsigned g = idx / SUB, s = idx % SUB;

	if (g == 0)
		return idx;
	return ((uint64_t)(s + SUB + 1) << (g - 1)) - 1;
}

static void
hadd(struct hist *h, uint64_t v)
{
	h->b[hbucket(v)]++;
	h->n++;
	if (v > h->max)
		h->max = v;
}

static uint64_t
hpct(const struct hist *h, double p)
{
	uint64_t want, acc = 0;
	unsigned i;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(p * (double)h->n + 0.999999);
	if (want < 1)
		want = 1;
	for (i = 0; i < NBUCKET; i++) {
		acc += h->b[i];
		if (acc >= want) {
			uint64_t v = hvalue(i);

			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}

/* ---- stats ---- */

enum err {
	E_CONNECT, E_READ, E_WRITE, E_EOF_MID, E_EOF_NONE, E_PARSE,
	E_STATUS, E_TIMEOUT, E_TLS, E_SHORT, E_UNEXPECTED, E__N
};
static const char *const err_name[E__N] = {
	"connect", "read", "write", "eof_mid_response", "eof_no_response",
	"parse", "unexpected_status", "timeout", "tls", "short_stream",
	"unexpected_data",
};

struct stats {
	uint64_t ok, errors, err[E__N], status[600], bytes;
	uint64_t connects, server_closes, upgrades;
	struct hist h;
};

static struct stats st;		/* current window */
static uint64_t setup_err[E__N], setup_errors;

static void
count_err(enum err e)
{
	st.err[e]++;
	st.errors++;
}

/* ---- connections ---- */

enum cst { C_CONNECTING, C_RETRY, C_TLS_HS, C_ACTIVE, C_HOLD, C_DEAD };
enum rst {
	R_HEAD, R_CL, R_CHUNK_SIZE, R_CHUNK_EXT, R_CHUNK_SIZE_LF, R_CHUNK_DATA,
	R_CHUNK_CR, R_CHUNK_LF, R_TRAILER_START, R_TRAILER, R_TRAILER_LF,
	R_EOF, R_ECHO, R_STREAM, R_NONE
};

struct conn {
	int fd;
	SSL *ssl;
	enum cst st;
	enum rst rs;
	bool idle;		/* idle-type: one request, then hold */
	unsigned ev;		/* registered epoll events */
	const char *wbuf;
	size_t wlen, woff;
	uint64_t t_start, t_conn, retry_at;
	uint64_t left, echo_got, stream_bytes, responses;
	int status;
	bool resp_close, got_bytes, head_req, tls_want_write;
	size_t hlen;
	char hb[HB_CAP];
};

static int ep;
static struct conn **conns;
static int nconns;
static char *req_main, *req_idle, *echo_msg;
static size_t req_main_len, req_idle_len;
static char scratch[SCRATCH];
static SSL_CTX *ssl_ctx;
static struct sockaddr_storage taddr;
static socklen_t taddr_len;
static bool running = true, measuring;
static int idle_pending;
static uint64_t idle_ok, idle_closed;
static uint64_t retry_pending;
static char tls_version[32], tls_cipher[64], tls_alpn[32];
static uint64_t tls_handshakes;

static void conn_start(struct conn *c);
static void send_request(struct conn *c);

static void
want(struct conn *c, unsigned ev)
{
	struct epoll_event e;

	if (c->ev == ev)
		return;
	e.events = ev;
	e.data.ptr = c;
	if (c->ev == 0)
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
	else
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
	c->ev = ev;
}

static void
conn_drop(struct conn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);	/* also removes it from the epoll set */
		c->fd = -1;
	}
	c->ev = 0;
}

/* close and, while running, reconnect (idle connections stay closed) */
static void
conn_recycle(struct conn *c)
{
	bool was_idle_setup = c->idle && c->st != C_HOLD;

	conn_drop(c);
	if (c->idle) {
		c->st = C_DEAD;
		if (was_idle_setup && idle_pending > 0)
			idle_pending--;
		return;
	}
	if (!running) {
		c->st = C_DEAD;
		return;
	}
	conn_start(c);
}

static void
fail(struct conn *c, enum err e)
{
	count_err(e);
	conn_recycle(c);
}

static void
conn_start(struct conn *c)
{
	int fd, r;

	c->st = C_CONNECTING;
	c->responses = 0;
	c->t_conn = now_ns();
	fd = socket(o.unix_path ? AF_UNIX : taddr.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("socket");
		exit(2);
	}
	c->fd = fd;
	c->ev = 0;
	if (!o.unix_path) {
		int one = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	r = connect(fd, (struct sockaddr *)&taddr, taddr_len);
	if (r == 0) {
		want(c, EPOLLOUT);	/* handled as "connected" */
		return;
	}
	if (errno == EINPROGRESS) {
		want(c, EPOLLOUT);
		return;
	}
	if (errno == EAGAIN && o.unix_path) {
		/* listen backlog full: retry shortly, not an error */
		close(fd);
		c->fd = -1;
		c->st = C_RETRY;
		c->retry_at = now_ns() + 1000000;
		retry_pending++;
		return;
	}
	close(fd);
	c->fd = -1;
	count_err(E_CONNECT);
	/* back off 10 ms before trying again */
	c->st = C_RETRY;
	c->retry_at = now_ns() + 10000000;
	retry_pending++;
}

/* ---- I/O wrappers: >0 bytes, 0 EOF, -1 would block, -2 error ---- */

static ssize_t
io_read(struct conn *c, char *buf, size_t n)
{
	ssize_t r;

	if (c->ssl) {
		int k;

		ERR_clear_error();
		k = SSL_read(c->ssl, buf, (int)n);
		if (k > 0)
			return k;
		switch (SSL_get_error(c->ssl, k)) {
		case SSL_ERROR_WANT_READ:
			return -1;
		case SSL_ERROR_WANT_WRITE:
			c->tls_want_write = true;
			return -1;
		case SSL_ERROR_ZERO_RETURN:
			return 0;
		case SSL_ERROR_SYSCALL:
			if (errno == 0 || errno == ECONNRESET)
				return 0;
			return -2;
		default:
			return -2;
		}
	}
	for (;;) {
		r = read(c->fd, buf, n);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return -1;
		if (errno == ECONNRESET)
			return 0;	/* treated like EOF (who closed matters) */
		return -2;
	}
}

static ssize_t
io_write(struct conn *c, const char *buf, size_t n)
{
	ssize_t r;

	if (c->ssl) {
		int k;

		ERR_clear_error();
		k = SSL_write(c->ssl, buf, (int)n);
		if (k > 0)
			return k;
		switch (SSL_get_error(c->ssl, k)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			return -1;
		default:
			return -2;
		}
	}
	for (;;) {
		r = write(c->fd, buf, n);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return -1;
		return -2;
	}
}

/* ---- writing ---- */

/* returns false when the connection was recycled */
static bool
do_write(struct conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t w = io_write(c, c->wbuf + c->woff, c->wlen - c->woff);

		if (w == -1) {
			want(c, EPOLLIN | EPOLLOUT);
			return true;
		}
		if (w < 0) {
			/* the peer may have closed after its last response:
			 * the read side tells which (EOF is handled there) */
			if (c->got_bytes || c->responses == 0) {
				fail(c, E_WRITE);
				return false;
			}
			if (measuring)
				st.server_closes++;
			conn_recycle(c);
			return false;
		}
		c->woff += (size_t)w;
	}
	want(c, EPOLLIN);
	return true;
}

static void
start_write(struct conn *c, const char *buf, size_t len)
{
	c->wbuf = buf;
	c->wlen = len;
	c->woff = 0;
	do_write(c);
}

static void
send_request(struct conn *c)
{
	c->st = C_ACTIVE;
	c->rs = R_HEAD;
	c->hlen = 0;
	c->got_bytes = false;
	c->resp_close = false;
	c->status = 0;
	c->stream_bytes = 0;
	/* --new-conn: the request's latency includes connect + handshake */
	c->t_start = o.new_conn && !c->idle && c->responses == 0 ?
	    c->t_conn : now_ns();
	if (c->idle)
		start_write(c, req_idle, req_idle_len);
	else
		start_write(c, req_main, req_main_len);
}

/* ---- responses ---- */

static bool
status_expected(int status)
{
	const char *e = o.expect;

	if (!e || strcmp(e, "any") == 0)
		return true;
	while (*e) {
		/* comma list of "2xx" or "403" */
		if (strlen(e) >= 3) {
			if (e[1] == 'x' && e[2] == 'x') {
				if (status / 100 == e[0] - '0')
					return true;
			} else if (atoi(e) == status) {
				return true;
			}
		}
		e = strchr(e, ',');
		if (!e)
			break;
		e++;
	}
	return false;
}

static void
record(struct conn *c, bool ok)
{
	uint64_t t = now_ns();

	if (ok) {
		st.ok++;
		hadd(&st.h, t - c->t_start);
	}
}

/* a complete HTTP response; returns false when recycled */
static bool
response_done(struct conn *c)
{
	bool ok = status_expected(c->status);

	c->responses++;
	if (c->status >= 100 && c->status < 600)
		st.status[c->status]++;
	if (!ok)
		count_err(E_STATUS);
	if (c->idle) {
		if (c->st != C_HOLD) {
			c->st = C_HOLD;
			c->rs = R_NONE;
			if (idle_pending > 0)
				idle_pending--;
			idle_ok++;
		}
		if (c->resp_close) {
			idle_closed++;
			conn_drop(c);
			c->st = C_DEAD;
			return false;
		}
		return true;
	}
	record(c, ok);
	if (o.new_conn) {
		/* one request per connection: the client closes */
		conn_recycle(c);
		return false;
	}
	if (c->resp_close || !running) {
		if (c->resp_close && measuring)
			st.server_closes++;
		conn_recycle(c);
		return false;
	}
	send_request(c);
	return c->fd >= 0;
}

static int
parse_head(struct conn *c, size_t hl)
{
	char *p = c->hb, *end = c->hb + hl, *line;
	bool chunked = false, has_cl = false;
	uint64_t cl = 0;

	if (hl < 12 || memcmp(p, "HTTP/1.", 7) != 0)
		return -1;
	c->status = atoi(p + 9);
	if (c->status < 100 || c->status > 599)
		return -1;
	c->resp_close = p[7] == '0';
	line = memchr(p, '\n', hl);
	while (line && ++line < end) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n;

		if (!nl)
			break;
		n = (size_t)(nl - line);
		if (n > 15 && strncasecmp(line, "content-length:", 15) == 0) {
			has_cl = true;
			cl = strtoull(line + 15, NULL, 10);
		} else if (n > 18 &&
		    strncasecmp(line, "transfer-encoding:", 18) == 0) {
			chunked = memmem(line, n, "chunked", 7) != NULL;
		} else if (n > 11 && strncasecmp(line, "connection:", 11) == 0) {
			char *v = line + 11;
			size_t vl = n - 11, i;

			for (i = 0; i + 5 <= vl; i++)
				if (strncasecmp(v + i, "close", 5) == 0)
					c->resp_close = true;
		}
		line = nl;
	}
	if (c->status == 101) {
		c->rs = o.mode == MODE_ECHO ? R_ECHO : R_STREAM;
		return 0;
	}
	if (c->head_req || c->status == 204 || c->status == 304 ||
	    c->status < 200) {
		c->rs = R_NONE;
		return 1;
	}
	if (chunked) {
		c->rs = R_CHUNK_SIZE;
		c->left = 0;
		return 0;
	}
	if (has_cl) {
		c->left = cl;
		c->rs = R_CL;
		return cl == 0 ? 1 : 0;
	}
	c->rs = R_EOF;
	c->resp_close = true;
	return 0;
}

static bool
start_echo(struct conn *c)
{
	c->echo_got = 0;
	c->t_start = now_ns();
	start_write(c, echo_msg, o.echo_size);
	return c->fd >= 0;
}

/*
 * the body bytes still owed (c->left, of a Content-Length body or a
 * chunk) among the n - *i left of this read: counts and skips them;
 * true when none are owed any more
 */
static bool
take_body(struct conn *c, size_t n, size_t *i)
{
	size_t take = n - *i;

	if (take > c->left)
		take = (size_t)c->left;
	*i += take;
	c->left -= take;
	if (measuring)
		st.bytes += take;
	return c->left == 0;
}

/* the last byte of a response was read: bytes after it in the same read
 * (more) are an error, as the client has not sent its next request yet;
 * returns false when the connection was recycled */
static bool
response_end(struct conn *c, bool more)
{
	if (more) {
		fail(c, E_UNEXPECTED);
		return false;
	}
	return response_done(c);
}

/* a CR or LF of the chunked framing: anything else is a parse error;
 * returns false when the connection was recycled */
static bool
framing(struct conn *c, char got, char want)
{
	if (got == want)
		return true;
	fail(c, E_PARSE);
	return false;
}

/* feed received bytes; returns false when the connection was recycled */
static bool
feed(struct conn *c, const char *b, size_t n)
{
	size_t i = 0;

	c->got_bytes = true;
	while (i < n) {
		switch (c->rs) {
		case R_HEAD: {
			size_t room = HB_CAP - c->hlen, take = n - i, from;
			char *e;

			if (take > room)
				take = room;
			memcpy(c->hb + c->hlen, b + i, take);
			from = c->hlen > 3 ? c->hlen - 3 : 0;
			c->hlen += take;
			e = memmem(c->hb + from, c->hlen - from, "\r\n\r\n", 4);
			if (!e) {
				if (c->hlen == HB_CAP) {
					fail(c, E_PARSE);
					return false;
				}
				i += take;
				break;
			}
			{
				size_t hl = (size_t)(e - c->hb) + 4;
				int r;

				i += take - (c->hlen - hl);
				r = parse_head(c, hl);
				if (r < 0) {
					fail(c, E_PARSE);
					return false;
				}
				if (c->status != 101 && c->status < 200) {
					/* interim: parse the next head */
					c->hlen = 0;
					c->rs = R_HEAD;
					break;
				}
				if (c->status == 101) {
					c->responses++;
					st.status[101]++;
					st.upgrades++;
					if (o.mode != MODE_ECHO &&
					    o.mode != MODE_STREAM) {
						fail(c, E_STATUS);
						return false;
					}
					if (o.mode == MODE_ECHO &&
					    !start_echo(c))
						return false;
					break;
				}
				if (o.mode == MODE_ECHO ||
				    o.mode == MODE_STREAM) {
					/* no upgrade: count, then recycle */
					st.status[c->status]++;
					count_err(E_STATUS);
					conn_recycle(c);
					return false;
				}
				if (r == 1)
					return response_end(c, i < n);
			}
			break;
		}
		case R_CL:
			if (take_body(c, n, &i))
				return response_end(c, i < n);
			break;
		case R_CHUNK_SIZE: {
			char ch = b[i];
			int d = -1;

			if (ch >= '0' && ch <= '9')
				d = ch - '0';
			else if (ch >= 'a' && ch <= 'f')
				d = ch - 'a' + 10;
			else if (ch >= 'A' && ch <= 'F')
				d = ch - 'A' + 10;
			if (d >= 0) {
				c->left = c->left * 16 + (uint64_t)d;
			} else if (ch == '\r') {
				c->rs = R_CHUNK_SIZE_LF;
			} else if (ch == ';' || ch == ' ' || ch == '\t') {
				c->rs = R_CHUNK_EXT;
			} else {
				fail(c, E_PARSE);
				return false;
			}
			i++;
			break;
		}
		case R_CHUNK_EXT:
			if (b[i] == '\r')
				c->rs = R_CHUNK_SIZE_LF;
			i++;
			break;
		case R_CHUNK_SIZE_LF:
			if (!framing(c, b[i++], '\n'))
				return false;
			c->rs = c->left ? R_CHUNK_DATA : R_TRAILER_START;
			break;
		case R_CHUNK_DATA:
			if (take_body(c, n, &i))
				c->rs = R_CHUNK_CR;
			break;
		case R_CHUNK_CR:
			if (!framing(c, b[i++], '\r'))
				return false;
			c->rs = R_CHUNK_LF;
			break;
		case R_CHUNK_LF:
			if (!framing(c, b[i++], '\n'))
				return false;
			c->rs = R_CHUNK_SIZE;
			c->left = 0;
			break;
		case R_TRAILER_START:
			c->rs = b[i] == '\r' ? R_TRAILER_LF : R_TRAILER;
			i++;
			break;
		case R_TRAILER:
			if (b[i] == '\n')
				c->rs = R_TRAILER_START;
			i++;
			break;
		case R_TRAILER_LF:
			if (!framing(c, b[i++], '\n'))
				return false;
			return response_end(c, i < n);
		case R_EOF:
		case R_STREAM:
			if (measuring)
				st.bytes += n - i;
			c->stream_bytes += n - i;
			i = n;
			break;
		case R_ECHO: {
			size_t take = n - i;

			if (measuring)
				st.bytes += take;
			c->echo_got += take;
			i = n;
			if (c->echo_got > o.echo_size) {
				fail(c, E_UNEXPECTED);
				return false;
			}
			if (c->echo_got == o.echo_size) {
				record(c, true);
				if (!running) {
					conn_recycle(c);
					return false;
				}
				if (!start_echo(c))
					return false;
			}
			break;
		}
		case R_NONE:
			fail(c, E_UNEXPECTED);
			return false;
		}
	}
	return true;
}

static void
on_eof(struct conn *c)
{
	if (c->st == C_HOLD) {
		idle_closed++;
		conn_drop(c);
		c->st = C_DEAD;
		return;
	}
	switch (c->rs) {
	case R_EOF:
		response_done(c);	/* resp_close is set: recycles */
		return;
	case R_STREAM:
		if (o.expect_bytes && c->stream_bytes < o.expect_bytes) {
			fail(c, E_SHORT);
			return;
		}
		record(c, true);
		conn_recycle(c);
		return;
	case R_HEAD:
		if (!c->got_bytes) {
			if (c->responses > 0 && !c->idle) {
				/* keep-alive connection closed by the server
				 * after its last response: reconnect and
				 * resend, like a real client does */
				if (measuring)
					st.server_closes++;
				conn_recycle(c);
				return;
			}
			fail(c, E_EOF_NONE);
			return;
		}
		fail(c, E_EOF_MID);
		return;
	default:
		fail(c, E_EOF_MID);
		return;
	}
}

static void
do_read(struct conn *c)
{
	for (;;) {
		ssize_t r = io_read(c, scratch, SCRATCH);

		if (r == -1) {
			if (c->tls_want_write) {
				c->tls_want_write = false;
				want(c, EPOLLIN | EPOLLOUT);
			}
			return;
		}
		if (r == -2) {
			fail(c, c->ssl ? E_TLS : E_READ);
			return;
		}
		if (r == 0) {
			on_eof(c);
			return;
		}
		if (c->st == C_HOLD) {
			fail(c, E_UNEXPECTED);
			return;
		}
		if (!feed(c, scratch, (size_t)r))
			return;
		if (c->fd < 0 || c->st != C_ACTIVE)
			return;
		/* a small read almost certainly drained the socket; the next
		 * response cannot be there yet (closed loop) */
		if ((size_t)r < SCRATCH && !(c->ssl && SSL_pending(c->ssl)))
			return;
	}
}

/* ---- connect / TLS ---- */

static void
after_connect(struct conn *c)
{
	if (measuring)
		st.connects++;
	if (o.tls) {
		c->ssl = SSL_new(ssl_ctx);
		SSL_set_fd(c->ssl, c->fd);
		if (o.sni)
			SSL_set_tlsext_host_name(c->ssl, o.sni);
		SSL_set_connect_state(c->ssl);
		c->st = C_TLS_HS;
		want(c, EPOLLIN | EPOLLOUT);
		return;
	}
	send_request(c);
}

static void
do_handshake(struct conn *c)
{
	int k;

	ERR_clear_error();
	k = SSL_do_handshake(c->ssl);
	if (k == 1) {
		if (measuring)
			tls_handshakes++;
		if (!tls_version[0]) {
			const unsigned char *a = NULL;
			unsigned al = 0;

			snprintf(tls_version, sizeof(tls_version), "%s",
			    SSL_get_version(c->ssl));
			snprintf(tls_cipher, sizeof(tls_cipher), "%s",
			    SSL_get_cipher_name(c->ssl));
			SSL_get0_alpn_selected(c->ssl, &a, &al);
			snprintf(tls_alpn, sizeof(tls_alpn), "%.*s",
			    (int)(al < sizeof(tls_alpn) ? al : 0),
			    a ? (const char *)a : "");
		}
		if (o.mode == MODE_HANDSHAKE) {
			c->t_start = c->t_conn;
			record(c, true);
			st.status[200]++;	/* "handshake ok" */
			conn_recycle(c);
			return;
		}
		send_request(c);
		return;
	}
	switch (SSL_get_error(c->ssl, k)) {
	case SSL_ERROR_WANT_READ:
		want(c, EPOLLIN);
		return;
	case SSL_ERROR_WANT_WRITE:
		want(c, EPOLLOUT);
		return;
	default:
		if (!o.quiet) {
			unsigned long e = ERR_peek_error();

			if (e)
				fprintf(stderr, "loadgen: TLS: %s\n",
				    ERR_error_string(e, NULL));
		}
		fail(c, E_TLS);
	}
}

static void
on_event(struct conn *c, unsigned ev)
{
	switch (c->st) {
	case C_CONNECTING: {
		int err = 0;
		socklen_t l = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			fail(c, E_CONNECT);
			return;
		}
		after_connect(c);
		return;
	}
	case C_TLS_HS:
		do_handshake(c);
		return;
	case C_ACTIVE:
		if ((ev & EPOLLOUT) && c->woff < c->wlen) {
			if (!do_write(c))
				return;
		} else if ((ev & EPOLLOUT) && !(ev & EPOLLIN)) {
			want(c, EPOLLIN);	/* TLS wanted write on read */
			do_read(c);
			return;
		}
		if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
			do_read(c);
		return;
	case C_HOLD:
		do_read(c);
		return;
	default:
		return;
	}
}

/* ---- RSS sampling ---- */

static long
proc_kb(int pid, const char *key)
{
	char fn[64], line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f;

	if (pid <= 0)
		return -1;
	snprintf(fn, sizeof(fn), "/proc/%d/status", pid);
	f = fopen(fn, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* ---- setup ---- */

static char *
build_request(const char *path, bool upgrade)
{
	char *buf;
	size_t cap = 4096 + (o.body ? strlen(o.body) : 0), n;
	int i;

	buf = malloc(cap);
	if (!buf)
		exit(2);
	n = (size_t)snprintf(buf, cap, "%s %s HTTP/1.1\r\nHost: docker\r\n"
	    "User-Agent: sockguard-bench/1\r\n", upgrade ? "POST" : o.method,
	    path);
	for (i = 0; i < o.nhdrs; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s\r\n", o.hdrs[i]);
	if (upgrade)
		n += (size_t)snprintf(buf + n, cap - n,
		    "Connection: Upgrade\r\nUpgrade: tcp\r\n");
	if (o.body) {
		n += (size_t)snprintf(buf + n, cap - n,
		    "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n%s", strlen(o.body), o.body);
	} else if (upgrade || strcmp(o.method, "POST") == 0 ||
	    strcmp(o.method, "PUT") == 0) {
		n += (size_t)snprintf(buf + n, cap - n,
		    "Content-Length: 0\r\n\r\n");
	} else {
		n += (size_t)snprintf(buf + n, cap - n, "\r\n");
	}
	return buf;
}

static void
resolve(void)
{
	if (o.unix_path) {
		struct sockaddr_un *sa = (struct sockaddr_un *)&taddr;

		memset(&taddr, 0, sizeof(taddr));
		sa->sun_family = AF_UNIX;
		if (strlen(o.unix_path) >= sizeof(sa->sun_path)) {
			fprintf(stderr, "loadgen: socket path too long\n");
			exit(2);
		}
		strcpy(sa->sun_path, o.unix_path);
		taddr_len = sizeof(*sa);
	} else {
		char host[256], *port;
		struct addrinfo hints, *res;
		int r;

		snprintf(host, sizeof(host), "%s", o.tcp_addr);
		port = strrchr(host, ':');
		if (!port) {
			fprintf(stderr, "loadgen: -a wants HOST:PORT\n");
			exit(2);
		}
		*port++ = 0;
		if (host[0] == '[') {
			memmove(host, host + 1, strlen(host));
			host[strlen(host) - 1] = 0;
		}
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		r = getaddrinfo(host, port, &hints, &res);
		if (r != 0) {
			fprintf(stderr, "loadgen: %s: %s\n", o.tcp_addr,
			    gai_strerror(r));
			exit(2);
		}
		memcpy(&taddr, res->ai_addr, res->ai_addrlen);
		taddr_len = res->ai_addrlen;
		freeaddrinfo(res);
	}
}

static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void
usage(int code)
{
	fprintf(code ? stderr : stdout,
"usage: loadgen (-u SOCKET | -a HOST:PORT [--tls]) [options]\n"
"  -u, --unix PATH         unix socket to connect to\n"
"  -a, --addr HOST:PORT    TCP address\n"
"      --tls               TLS over TCP (OpenSSL; ALPN http/1.1; the server\n"
"                          is not verified unless --cacert)\n"
"      --sni NAME          TLS server name (also the name --cacert checks)\n"
"      --cert FILE         TLS client certificate (PEM chain), with --key\n"
"      --key FILE          its private key (PEM)\n"
"      --cacert FILE       verify the server against this CA, and its\n"
"                          name or IP (--sni, else the host of -a)\n"
"      --new-conn          http mode: a new connection per request, closed\n"
"                          by the client after the response; latency from\n"
"                          connect() (includes the TLS handshake)\n"
"  -M, --mode MODE         http (default), echo, stream, handshake\n"
"  -c, --conns N           active closed-loop connections (10)\n"
"  -i, --idle N            idle connections: opened first, one request\n"
"                          each, then kept open and silent (0)\n"
"      --idle-path PATH    request path of the idle connections (-p)\n"
"      --idle-settle S     sample RSS 0.2 s and S s after the idle\n"
"                          connections were answered (0.2)\n"
"  -d, --duration S        measured seconds (5)\n"
"  -w, --warmup S          unmeasured seconds before (0)\n"
"  -X, --method M          request method (GET)\n"
"  -p, --path PATH         request target (/_ping)\n"
"  -H, --header 'K: V'     extra request header (repeatable)\n"
"  -b, --body STRING       request body (JSON content type)\n"
"  -e, --expect LIST       expected statuses: 2xx,403,any (2xx; 101 for\n"
"                          echo/stream)\n"
"      --echo-size N       echo mode: bytes per round trip (64)\n"
"      --expect-bytes N    stream mode: a shorter stream is an error\n"
"  -t, --timeout S         per-request timeout, 0 = none (10)\n"
"      --rss-pid PID       sample VmRSS/VmHWM of PID (start, idle, max, end)\n"
"  -s, --scenario NAME     label in the JSON line\n"
"  -T, --target NAME       label in the JSON line\n"
"      --fail-on-error     exit 1 on any error or no completed request\n"
"  -q, --quiet             no diagnostics on stderr\n");
	exit(code);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"unix", 1, 0, 'u'}, {"addr", 1, 0, 'a'}, {"tls", 0, 0, 1},
		{"sni", 1, 0, 2}, {"mode", 1, 0, 'M'}, {"conns", 1, 0, 'c'},
		{"idle", 1, 0, 'i'}, {"idle-path", 1, 0, 3},
		{"duration", 1, 0, 'd'}, {"warmup", 1, 0, 'w'},
		{"method", 1, 0, 'X'}, {"path", 1, 0, 'p'},
		{"header", 1, 0, 'H'}, {"body", 1, 0, 'b'},
		{"expect", 1, 0, 'e'}, {"echo-size", 1, 0, 4},
		{"expect-bytes", 1, 0, 5}, {"timeout", 1, 0, 't'},
		{"rss-pid", 1, 0, 6}, {"scenario", 1, 0, 's'},
		{"target", 1, 0, 'T'}, {"fail-on-error", 0, 0, 7},
		{"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'},
		{"cert", 1, 0, 8}, {"key", 1, 0, 9}, {"cacert", 1, 0, 10},
		{"new-conn", 0, 0, 11}, {"idle-settle", 1, 0, 12}, {0, 0, 0, 0},
	};
	struct epoll_event evs[512];
	struct rlimit rl;
	uint64_t t0, t_measure = 0, t_end = 0, next_tick = 0, idle_deadline;
	uint64_t t_start0;
	long rss_start, rss_idle = -1, rss_idle_early = -1, rss_max = -1, rss_end, hwm;
	int opt, i;
	size_t u;

	while ((opt = getopt_long(argc, argv, "u:a:M:c:i:d:w:X:p:H:b:e:t:s:T:qh",
	    lo, NULL)) != -1) {
		switch (opt) {
		case 'u': o.unix_path = optarg; break;
		case 'a': o.tcp_addr = optarg; break;
		case 1: o.tls = true; break;
		case 2: o.sni = optarg; break;
		case 'M':
			if (strcmp(optarg, "http") == 0)
				o.mode = MODE_HTTP;
			else if (strcmp(optarg, "echo") == 0)
				o.mode = MODE_ECHO;
			else if (strcmp(optarg, "stream") == 0)
				o.mode = MODE_STREAM;
			else if (strcmp(optarg, "handshake") == 0)
				o.mode = MODE_HANDSHAKE;
			else
				usage(2);
			break;
		case 'c': o.conns = atoi(optarg); break;
		case 'i': o.idle = atoi(optarg); break;
		case 3: o.idle_path = optarg; break;
		case 'd': o.duration = atof(optarg); break;
		case 'w': o.warmup = atof(optarg); break;
		case 'X': o.method = optarg; break;
		case 'p': o.path = optarg; break;
		case 'H':
			if (o.nhdrs == 32)
				usage(2);
			o.hdrs[o.nhdrs++] = optarg;
			break;
		case 'b': o.body = optarg; break;
		case 'e': o.expect = optarg; break;
		case 4: o.echo_size = strtoul(optarg, NULL, 10); break;
		case 5: o.expect_bytes = strtoull(optarg, NULL, 10); break;
		case 't': o.timeout = atof(optarg); break;
		case 6: o.rss_pid = atoi(optarg); break;
		case 's': o.scenario = optarg; break;
		case 'T': o.target = optarg; break;
		case 7: o.fail_on_error = true; break;
		case 8: o.cert = optarg; break;
		case 9: o.key = optarg; break;
		case 10: o.cacert = optarg; break;
		case 11: o.new_conn = true; break;
		case 12: o.idle_settle = atof(optarg); break;
		case 'q': o.quiet = true; break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	if (!o.unix_path == !o.tcp_addr || o.conns < 1 || o.idle < 0 ||
	    o.duration <= 0 || o.echo_size < 1 ||
	    (o.tls && !o.tcp_addr) || (o.mode == MODE_HANDSHAKE && !o.tls) ||
	    (!o.cert != !o.key) || ((o.cert || o.cacert) && !o.tls) ||
	    (o.new_conn && o.mode != MODE_HTTP))
		usage(2);
	if (!o.expect)
		o.expect = (o.mode == MODE_ECHO || o.mode == MODE_STREAM) ?
		    "101" : o.mode == MODE_HANDSHAKE ? "any" : "2xx";
	if (!o.idle_path)
		o.idle_path = o.mode == MODE_HTTP ? o.path : "/_ping";
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rlim_t need = (rlim_t)(o.conns + o.idle) + 64;

		if (rl.rlim_cur < need) {
			rl.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
			if (rl.rlim_cur < need)
				fprintf(stderr, "loadgen: warning: RLIMIT_NOFILE "
				    "%lu < %lu connections\n",
				    (unsigned long)rl.rlim_cur,
				    (unsigned long)need);
		}
	}
	resolve();
	if (o.tls) {
		ssl_ctx = SSL_CTX_new(TLS_client_method());
		if (!ssl_ctx) {
			fprintf(stderr, "loadgen: SSL_CTX_new failed\n");
			return 2;
		}
		SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_mode(ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
		    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
		/* every handshake is a full one */
		SSL_CTX_set_session_cache_mode(ssl_ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_options(ssl_ctx, SSL_OP_NO_TICKET);
		if (SSL_CTX_set_alpn_protos(ssl_ctx,
		    (const unsigned char *)"\x08http/1.1", 9) != 0) {
			fprintf(stderr, "loadgen: ALPN setup failed\n");
			return 2;
		}
		if (o.cert && (SSL_CTX_use_certificate_chain_file(ssl_ctx,
		    o.cert) != 1 || SSL_CTX_use_PrivateKey_file(ssl_ctx, o.key,
		    SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ssl_ctx) != 1)) {
			fprintf(stderr, "loadgen: client certificate %s / %s: "
			    "%s\n", o.cert, o.key,
			    ERR_error_string(ERR_get_error(), NULL));
			return 2;
		}
		if (o.cacert) {
			X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(ssl_ctx);
			char host[256], *colon;
			int ok;

			if (SSL_CTX_load_verify_locations(ssl_ctx, o.cacert,
			    NULL) != 1) {
				fprintf(stderr, "loadgen: --cacert %s: %s\n",
				    o.cacert,
				    ERR_error_string(ERR_get_error(), NULL));
				return 2;
			}
			SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER, NULL);
			snprintf(host, sizeof(host), "%s",
			    o.sni ? o.sni : o.tcp_addr);
			if (!o.sni && (colon = strrchr(host, ':')) != NULL)
				*colon = 0;
			if (host[0] == '[') {
				memmove(host, host + 1, strlen(host));
				host[strlen(host) - 1] = 0;
			}
			/* an IP literal is checked against the IP SANs */
			ok = X509_VERIFY_PARAM_set1_ip_asc(vp, host);
			if (!ok)
				ok = X509_VERIFY_PARAM_set1_host(vp, host, 0);
			if (!ok) {
				fprintf(stderr, "loadgen: --cacert: bad name "
				    "%s\n", host);
				return 2;
			}
		}
	}
	req_main = build_request(o.path, o.mode == MODE_ECHO ||
	    o.mode == MODE_STREAM);
	req_main_len = strlen(req_main);
	{
		const char *saved = o.method, *body = o.body;

		if (o.mode != MODE_HTTP) {
			o.method = "GET";
			o.body = NULL;
		}
		req_idle = build_request(o.idle_path, false);
		req_idle_len = strlen(req_idle);
		o.method = saved;
		o.body = body;
	}
	echo_msg = malloc(o.echo_size);
	for (u = 0; u < o.echo_size; u++)
		echo_msg[u] = (char)('A' + u % 26);

	ep = epoll_create1(EPOLL_CLOEXEC);
	nconns = o.conns + o.idle;
	conns = calloc((size_t)nconns, sizeof(*conns));
	for (i = 0; i < nconns; i++) {
		conns[i] = calloc(1, sizeof(struct conn));
		conns[i]->fd = -1;
		conns[i]->idle = i < o.idle;
		conns[i]->st = C_DEAD;
		conns[i]->head_req = strcmp(conns[i]->idle ? "GET" : o.method,
		    "HEAD") == 0;
	}
	rss_start = proc_kb(o.rss_pid, "VmRSS");
	t_start0 = now_ns();

	/* phase 1: idle connections */
	t0 = now_ns();
	idle_pending = o.idle;
	for (i = 0; i < o.idle; i++)
		conn_start(conns[i]);
	idle_deadline = t0 + 60000000000ull;
	for (;;) {
		int n, k;
		uint64_t now;

		if (idle_pending <= 0)
			break;
		n = epoll_wait(ep, evs, 512, retry_pending ? 1 : 50);
		for (k = 0; k < n; k++)
			on_event(evs[k].data.ptr, evs[k].events);
		now = now_ns();
		if (retry_pending) {
			retry_pending = 0;
			for (i = 0; i < o.idle; i++)
				if (conns[i]->st == C_RETRY) {
					if (conns[i]->retry_at <= now)
						conn_start(conns[i]);
					else
						retry_pending++;
				}
		}
		if (now > idle_deadline) {
			fprintf(stderr, "loadgen: %d idle connections still "
			    "not answered after 60 s\n", idle_pending);
			break;
		}
	}
	if (o.idle > 0) {
		/* let the server settle, then measure its idle footprint:
		 * 0.2 s after the idle connections' requests, and again after
		 * --idle-settle (a server may keep per-request buffers around
		 * for a while after a burst) */
		usleep(200000);
		rss_idle_early = rss_idle = proc_kb(o.rss_pid, "VmRSS");
		if (o.idle_settle > 0.2) {
			usleep((useconds_t)((o.idle_settle - 0.2) * 1e6));
			rss_idle = proc_kb(o.rss_pid, "VmRSS");
		}
	}
	for (u = 0; u < E__N; u++) {
		setup_err[u] += st.err[u];
	}
	setup_errors += st.errors;
	memset(&st, 0, sizeof(st));

	/* phase 2: active load */
	t0 = now_ns();
	t_measure = t0 + (uint64_t)(o.warmup * 1e9);
	t_end = t_measure + (uint64_t)(o.duration * 1e9);
	measuring = o.warmup <= 0;
	for (i = o.idle; i < nconns; i++)
		conn_start(conns[i]);
	next_tick = t0 + 100000000;
	for (;;) {
		int n, k, tmo = retry_pending ? 1 : 10;
		uint64_t now;

		n = epoll_wait(ep, evs, 512, tmo);
		if (n < 0 && errno != EINTR) {
			perror("epoll_wait");
			return 2;
		}
		for (k = 0; k < n; k++)
			on_event(evs[k].data.ptr, evs[k].events);
		now = now_ns();
		if (!measuring && now >= t_measure) {
			for (u = 0; u < E__N; u++)
				setup_err[u] += st.err[u];
			setup_errors += st.errors;
			memset(&st, 0, sizeof(st));
			measuring = true;
		}
		if (now >= t_end)
			break;
		if (retry_pending) {
			retry_pending = 0;
			for (i = o.idle; i < nconns; i++)
				if (conns[i]->st == C_RETRY) {
					if (conns[i]->retry_at <= now)
						conn_start(conns[i]);
					else
						retry_pending++;
				}
		}
		if (now >= next_tick) {
			long r = proc_kb(o.rss_pid, "VmRSS");

			if (r > rss_max)
				rss_max = r;
			next_tick = now + 100000000;
			if (o.timeout > 0) {
				uint64_t lim = (uint64_t)(o.timeout * 1e9);

				for (i = o.idle; i < nconns; i++) {
					struct conn *c = conns[i];

					if (c->fd >= 0 && now - (c->st ==
					    C_ACTIVE ? c->t_start : c->t_conn) >
					    lim && (c->st == C_ACTIVE ||
					    c->st == C_CONNECTING ||
					    c->st == C_TLS_HS) &&
					    c->rs != R_STREAM) {
						fail(c, E_TIMEOUT);
					}
				}
			}
		}
	}
	running = false;
	rss_end = proc_kb(o.rss_pid, "VmRSS");
	hwm = proc_kb(o.rss_pid, "VmHWM");
	if (rss_end > rss_max)
		rss_max = rss_end;
	{
		double secs = (double)(t_end - t_measure) / 1e9;
		uint64_t total = st.ok + st.errors, still_idle = 0;
		FILE *f = stdout;
		bool first;

		for (i = 0; i < o.idle; i++)
			if (conns[i]->st == C_HOLD && conns[i]->fd >= 0) {
				char b;
				ssize_t r = recv(conns[i]->fd, &b, 1,
				    MSG_PEEK | MSG_DONTWAIT);

				if (r < 0 && errno == EAGAIN)
					still_idle++;
			}
		fprintf(f, "{\"scenario\":");
		json_str(f, o.scenario ? o.scenario : "");
		fprintf(f, ",\"target\":");
		json_str(f, o.target ? o.target : "");
		fprintf(f, ",\"socket\":");
		json_str(f, o.unix_path ? o.unix_path : o.tcp_addr);
		fprintf(f, ",\"transport\":\"%s\"", o.unix_path ? "unix" :
		    o.tls ? "tls" : "tcp");
		fprintf(f, ",\"mode\":\"%s\"", (const char *[]){"http", "echo",
		    "stream", "handshake"}[o.mode]);
		fprintf(f, ",\"method\":");
		json_str(f, o.mode == MODE_HTTP ? o.method :
		    o.mode == MODE_HANDSHAKE ? "" : "POST");
		fprintf(f, ",\"path\":");
		json_str(f, o.path);
		fprintf(f, ",\"concurrency\":%d,\"idle_connections\":%d"
		    ",\"idle_ok\":%" PRIu64 ",\"idle_closed\":%" PRIu64
		    ",\"idle_open_at_end\":%" PRIu64
		    ",\"duration_seconds\":%.3f,\"warmup_seconds\":%.3f"
		    ",\"total_requests\":%" PRIu64 ",\"ok_requests\":%" PRIu64
		    ",\"error_requests\":%" PRIu64 ",\"setup_errors\":%" PRIu64,
		    o.conns, o.idle, idle_ok, idle_closed, still_idle, secs,
		    o.warmup, total, st.ok, st.errors, setup_errors);
		fprintf(f, ",\"error_counts\":{");
		first = true;
		for (u = 0; u < E__N; u++)
			if (st.err[u] + setup_err[u]) {
				fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",",
				    err_name[u], st.err[u] + setup_err[u]);
				first = false;
			}
		fprintf(f, "},\"status_code_counts\":{");
		first = true;
		for (u = 0; u < 600; u++)
			if (st.status[u]) {
				fprintf(f, "%s\"%zu\":%" PRIu64, first ? "" : ",",
				    u, st.status[u]);
				first = false;
			}
		fprintf(f, "},\"rps\":%.1f,\"bytes_received\":%" PRIu64
		    ",\"mb_per_s\":%.2f",
		    (double)st.ok / secs, st.bytes,
		    (double)st.bytes / secs / 1e6);
		fprintf(f, ",\"latency_p50_us\":%.1f,\"latency_p90_us\":%.1f"
		    ",\"latency_p99_us\":%.1f,\"latency_max_us\":%.1f",
		    (double)hpct(&st.h, 0.50) / 1e3,
		    (double)hpct(&st.h, 0.90) / 1e3,
		    (double)hpct(&st.h, 0.99) / 1e3,
		    (double)st.h.max / 1e3);
		fprintf(f, ",\"connects\":%" PRIu64 ",\"server_closes\":%" PRIu64
		    ",\"upgrades\":%" PRIu64, st.connects, st.server_closes,
		    st.upgrades);
		fprintf(f, ",\"new_conn\":%s", o.new_conn ? "true" : "false");
		{
			/* the load generator's own CPU (whole process, warm-up
			 * and idle setup included) over its wall time */
			struct rusage ru;

			getrusage(RUSAGE_SELF, &ru);
			fprintf(f, ",\"lg_cpu_s\":%.3f,\"lg_wall_s\":%.3f",
			    (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
			    (double)(now_ns() - t_start0) / 1e9);
		}
		if (o.tls) {
			fprintf(f, ",\"tls_handshakes\":%" PRIu64
			    ",\"tls_client_cert\":%s,\"tls_server_verified\":%s"
			    ",\"tls_version\":", tls_handshakes,
			    o.cert ? "true" : "false",
			    o.cacert ? "true" : "false");
			json_str(f, tls_version);
			fprintf(f, ",\"tls_cipher\":");
			json_str(f, tls_cipher);
			fprintf(f, ",\"tls_alpn\":");
			json_str(f, tls_alpn);
		}
		fprintf(f, ",\"rss_pid\":%d,\"rss_start_kb\":%ld"
		    ",\"rss_idle_early_kb\":%ld,\"rss_idle_kb\":%ld"
		    ",\"idle_settle_seconds\":%.1f"
		    ",\"rss_max_kb\":%ld,\"rss_end_kb\":%ld"
		    ",\"hwm_kb\":%ld}\n", o.rss_pid, rss_start, rss_idle_early,
		    rss_idle, o.idle_settle, rss_max, rss_end, hwm);
		fflush(f);
		if (o.fail_on_error && (st.errors || setup_errors ||
		    st.ok == 0 || (o.idle && idle_ok < (uint64_t)o.idle))) {
			if (!o.quiet)
				fprintf(stderr, "loadgen: %" PRIu64 " errors "
				    "(+%" PRIu64 " before the measurement), "
				    "%" PRIu64 " ok\n", st.errors,
				    setup_errors, st.ok);
			return 1;
		}
		(void)total;
	}
	return 0;
}
