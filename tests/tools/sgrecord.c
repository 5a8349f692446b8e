/* SPDX-License-Identifier: MIT */
/*
 * sgrecord: a recording HTTP/1.1 upstream on a unix socket, for the
 * smuggling tests. It appends every request it receives, head and body
 * bytes exactly as they arrived (escaped), to a log file, one line per
 * request, and answers each with
 *
 *   HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK
 *
 * on a keep-alive connection (no body for HEAD). Framing is read the
 * way a lenient origin would: Transfer-Encoding containing "chunked"
 * (any case) wins, else Content-Length, else no body. Bytes left when a
 * connection closes, or that cannot be framed, are logged as "partial".
 *
 *   sgrecord -l SOCKET -o LOGFILE [-j DATA [-J MS]] [-r DATA [-k]] [-H]
 *            [-e MS [-a DATA]]
 *
 * -j DATA: after every response, DATA too (escapes \r \n \t \0 \\ \xHH), in the
 * same write: an upstream that sends more than it framed. -J MS: send
 * DATA MS milliseconds after the response instead, while the connection
 * sits idle.
 *
 * -r DATA: answer every request with DATA instead (same escapes), then
 * close the connection once it is written: an upstream that cuts its
 * response; with -k, keep it open instead: an upstream that stalls
 * mid-response. -H: hold every answer until SIGUSR1 arrives, so that a test
 * can decide what the proxy sees at once (say, the answer and the close
 * in one go while the proxy is stopped).
 *
 * -e MS: an upstream that answers before it read the request body. Heads
 * are read a byte at a time; once a head with a Content-Length body is
 * in (and not a byte of the body), it stops
 * reading that connection, answers MS milliseconds later ("early N" on
 * stdout), and reads again MS milliseconds after that; the request is
 * logged when its body is whole (and not answered again), or as partial
 * at the close. -a DATA: answer with DATA instead (a 101, say).
 *
 * Log lines:   conn=N head=ESCAPED body=ESCAPED
 *              conn=N partial=ESCAPED
 * Escapes: \r \n \\ and \xHH for every other byte outside 0x20..0x7e.
 * stdout (line-buffered): "listening", "accept N", "close N", and
 * "junk N" once DATA went out on connection N, "held N" when an answer
 * waits for SIGUSR1.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "sgtool.h"

#define MAXC 512
#define MAXBUF (8u << 20)

struct rconn {
	int fd;
	unsigned long id;
	char *buf;
	size_t len, cap;
	char *out;
	size_t out_off, out_len;
	long long junk_due; /* ms on the monotonic clock; 0: none pending */
	int close_after;    /* -r: close once the answer is written */
	long long answer_due; /* -e: the early answer's time; 0: none */
	long long paused_until; /* -e: no reads before then */
	int answered;         /* -e: the request in buf was answered */
};

static struct rconn conns[MAXC];
static int logfd = -1;
static char junk[4096];
static size_t junk_len;
static long junk_ms = -1; /* -1: in the response's write */
static char cut[4096];
static size_t cut_len; /* -r DATA */
static int hold;       /* -H: answers wait for SIGUSR1 */
static int keep_open;  /* -k: -r DATA, then the connection stays open */
static volatile sig_atomic_t released;
static long early_ms = -1; /* -e MS */
static char early_ans[4096];
static size_t early_ans_len; /* -a DATA */

static void
on_usr1(int sig)
{
	(void)sig;
	released = 1;
}

/* Appends the escaped form of p[0..n) to the growing string *s. */
static void
esc_append(char **s, size_t *len, size_t *cap, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		char tmp[5];
		size_t k;

		if (ch == '\r')
			k = (size_t)snprintf(tmp, sizeof(tmp), "\\r");
		else if (ch == '\n')
			k = (size_t)snprintf(tmp, sizeof(tmp), "\\n");
		else if (ch == '\\')
			k = (size_t)snprintf(tmp, sizeof(tmp), "\\\\");
		else if (ch < 0x20 || ch > 0x7e)
			k = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", ch);
		else {
			tmp[0] = (char)ch;
			k = 1;
		}
		if (*len + k + 1 > *cap) {
			*cap = (*cap + k + 1) * 2;
			*s = realloc(*s, *cap);
			if (*s == NULL)
				abort();
		}
		memcpy(*s + *len, tmp, k);
		*len += k;
	}
}

static void
str_append(char **s, size_t *len, size_t *cap, const char *lit)
{
	size_t n = strlen(lit);

	if (*len + n + 1 > *cap) {
		*cap = (*cap + n + 1) * 2;
		*s = realloc(*s, *cap);
		if (*s == NULL)
			abort();
	}
	memcpy(*s + *len, lit, n);
	*len += n;
}

static void
log_record(unsigned long id, const char *head, size_t hlen, const char *body,
    size_t blen, int partial)
{
	char *s = NULL, pre[64];
	size_t len = 0, cap = 0;

	snprintf(pre, sizeof(pre), "conn=%lu %s", id,
	    partial ? "partial=" : "head=");
	str_append(&s, &len, &cap, pre);
	esc_append(&s, &len, &cap, head, hlen);
	if (!partial) {
		str_append(&s, &len, &cap, " body=");
		esc_append(&s, &len, &cap, body, blen);
	}
	str_append(&s, &len, &cap, "\n");
	/* one write per record: readers never see half a line */
	if (write(logfd, s, len) != (ssize_t)len)
		perror("sgrecord: write log");
	free(s);
}

/* Case-insensitive search for needle in p[0..n). */
static const char *
memcasemem(const char *p, size_t n, const char *needle)
{
	size_t k = strlen(needle), i;

	for (i = 0; i + k <= n; i++)
		if (strncasecmp(p + i, needle, k) == 0)
			return p + i;
	return NULL;
}

/*
 * Header value of NAME (case-insensitive) in the head, or NULL. Only the
 * first occurrence; the value is trimmed of spaces and tabs.
 */
static const char *
header(const char *head, size_t hlen, const char *name, size_t *vlen)
{
	const char *line = memchr(head, '\n', hlen), *end = head + hlen;
	size_t nl = strlen(name);

	while (line != NULL && line + 1 < end) {
		const char *s = line + 1, *e = memchr(s, '\n', (size_t)(end - s));

		if (e == NULL)
			break;
		if ((size_t)(e - s) > nl && strncasecmp(s, name, nl) == 0 &&
		    s[nl] == ':') {
			const char *v = s + nl + 1, *w = e;

			while (v < w && (*v == ' ' || *v == '\t'))
				v++;
			while (w > v && (w[-1] == '\r' || w[-1] == ' ' ||
			    w[-1] == '\t'))
				w--;
			*vlen = (size_t)(w - v);
			return v;
		}
		line = e;
	}
	return NULL;
}

/*
 * Length of a complete chunked body at p[0..n), or 0 when more bytes are
 * needed, or -1 when it cannot be framed.
 */
static long
chunked_len(const char *p, size_t n)
{
	size_t i = 0;

	for (;;) {
		unsigned long long sz = 0;
		const char *lf;
		int digits = 0;

		while (i < n && ((p[i] >= '0' && p[i] <= '9') ||
		    (p[i] >= 'a' && p[i] <= 'f') || (p[i] >= 'A' && p[i] <= 'F'))) {
			int d = p[i] <= '9' ? p[i] - '0' :
			    (p[i] | 0x20) - 'a' + 10;

			if (++digits > 16)
				return -1;
			sz = sz << 4 | (unsigned long long)d;
			i++;
		}
		if (i >= n)
			return 0;
		if (digits == 0)
			return -1;
		lf = memchr(p + i, '\n', n - i);
		if (lf == NULL)
			return 0;
		i = (size_t)(lf - p) + 1;
		if (sz == 0)
			break;
		if (sz > MAXBUF)
			return -1;
		if (n - i < sz + 2)
			return 0;
		i += (size_t)sz + 2;
	}
	/* trailers up to an empty line */
	for (;;) {
		const char *lf = memchr(p + i, '\n', n - i);
		size_t start = i;

		if (lf == NULL)
			return 0;
		i = (size_t)(lf - p) + 1;
		if (i - start <= 2)
			return (long)i;
	}
}

static void
conn_close(struct rconn *c)
{
	if (c->len > 0)
		log_record(c->id, c->buf, c->len, NULL, 0, 1);
	printf("close %lu\n", c->id);
	close(c->fd);
	free(c->buf);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void
queue(struct rconn *c, const char *s, size_t n)
{
	c->out = realloc(c->out, c->out_len + n);
	if (c->out == NULL)
		abort();
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
}

/* Takes every complete request off the front of the buffer. */
static int
conn_parse(struct rconn *c)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK";
	static const char okh[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";

	for (;;) {
		const char *end = NULL, *v;
		size_t hlen, blen = 0, vl, i;
		int head_req;

		for (i = 0; i + 3 < c->len; i++)
			if (memcmp(c->buf + i, "\r\n\r\n", 4) == 0) {
				end = c->buf + i + 4;
				break;
			}
		if (end == NULL)
			return c->len >= MAXBUF ? -1 : 0;
		hlen = (size_t)(end - c->buf);
		v = header(c->buf, hlen, "Transfer-Encoding", &vl);
		if (v != NULL && memcasemem(v, vl, "chunked") != NULL) {
			long r = chunked_len(end, c->len - hlen);

			if (r < 0)
				return -1;
			if (r == 0)
				return c->len >= MAXBUF ? -1 : 0;
			blen = (size_t)r;
		} else if ((v = header(c->buf, hlen, "Content-Length", &vl)) !=
		    NULL) {
			char num[32];
			char *ep;
			unsigned long long n;

			if (vl == 0 || vl >= sizeof(num))
				return -1;
			memcpy(num, v, vl);
			num[vl] = '\0';
			n = strtoull(num, &ep, 10);
			if (*ep != '\0' || n > MAXBUF)
				return -1;
			if (c->len - hlen < n) {
				if (early_ms >= 0 && !c->answered) {
					long long now = sgt_now_ms();

					c->answered = 1;
					c->answer_due = now + early_ms;
					c->paused_until = now + 2 * early_ms;
				}
				return 0;
			}
			blen = (size_t)n;
		}
		log_record(c->id, c->buf, hlen, end, blen, 0);
		if (c->answered) {
			/* answered early: the body is in now, nothing more */
			c->answered = 0;
			memmove(c->buf, c->buf + hlen + blen,
			    c->len - hlen - blen);
			c->len -= hlen + blen;
			continue;
		}
		head_req = c->len >= 5 && memcmp(c->buf, "HEAD ", 5) == 0;
		if (hold && !released)
			printf("held %lu\n", c->id);
		if (cut_len > 0) {
			queue(c, cut, cut_len);
			c->close_after = !keep_open;
			c->len = 0; /* nothing after it is answered */
			return 0;
		}
		if (head_req)
			queue(c, okh, sizeof(okh) - 1);
		else
			queue(c, ok, sizeof(ok) - 1);
		if (junk_len > 0 && junk_ms < 0) {
			queue(c, junk, junk_len);
			printf("junk %lu\n", c->id);
		} else if (junk_len > 0) {
			c->junk_due = sgt_now_ms() + junk_ms;
		}
		memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
		c->len -= hlen + blen;
	}
}

/* Decodes an option's DATA (escapes) into buf; -1 when it cannot fit. */
static int
data_arg(const char *opt, const char *arg, char *buf, size_t cap,
    size_t *len)
{
	if (strlen(arg) > cap) {
		fprintf(stderr, "sgrecord: %s DATA too long\n", opt);
		return -1;
	}
	*len = sgt_unescape(arg, buf);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = NULL, *out = NULL;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	unsigned long nid = 0;
	int ch, lfd, i;

	while ((ch = getopt(argc, argv, "l:o:j:J:r:kHe:a:")) != -1) {
		switch (ch) {
		case 'l': path = optarg; break;
		case 'o': out = optarg; break;
		case 'j':
			if (data_arg("-j", optarg, junk, sizeof(junk),
			    &junk_len) == -1)
				return 2;
			break;
		case 'J': junk_ms = atol(optarg); break;
		case 'r':
			if (data_arg("-r", optarg, cut, sizeof(cut),
			    &cut_len) == -1)
				return 2;
			break;
		case 'H': hold = 1; break;
		case 'k': keep_open = 1; break;
		case 'e': early_ms = atol(optarg); break;
		case 'a':
			if (data_arg("-a", optarg, early_ans, sizeof(early_ans),
			    &early_ans_len) == -1)
				return 2;
			break;
		default: return 2;
		}
	}
	if (path == NULL || out == NULL) {
		fprintf(stderr, "usage: sgrecord -l SOCKET -o LOGFILE "
		    "[-j DATA [-J MS]] [-r DATA [-k]] [-H] [-e MS [-a DATA]]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, on_usr1);
	setvbuf(stdout, NULL, _IOLBF, 0);
	logfd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd == -1) {
		perror("sgrecord: open log");
		return 1;
	}
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	if (bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(lfd, 512) == -1) {
		perror("sgrecord: bind");
		return 1;
	}
	for (i = 0; i < MAXC; i++)
		conns[i].fd = -1;
	printf("listening %s\n", path);
	for (;;) {
		struct pollfd p[1 + MAXC];
		int idx[1 + MAXC], np = 1, timeout = -1;
		long long now = sgt_now_ms();

		p[0].fd = lfd;
		p[0].events = POLLIN;
		for (i = 0; i < MAXC; i++) {
			if (conns[i].fd == -1)
				continue;
			if (conns[i].answer_due != 0 &&
			    conns[i].answer_due <= now) {
				static const char ok[] = "HTTP/1.1 200 OK\r\n"
				    "Content-Length: 2\r\n\r\nOK";

				conns[i].answer_due = 0;
				if (early_ans_len > 0)
					queue(&conns[i], early_ans, early_ans_len);
				else
					queue(&conns[i], ok, sizeof(ok) - 1);
				printf("early %lu\n", conns[i].id);
			}
			if (conns[i].answer_due != 0 && (timeout < 0 ||
			    conns[i].answer_due - now < timeout))
				timeout = (int)(conns[i].answer_due - now);
			if (conns[i].paused_until > now && (timeout < 0 ||
			    conns[i].paused_until - now < timeout))
				timeout = (int)(conns[i].paused_until - now);
			if (conns[i].junk_due != 0 && conns[i].junk_due <= now &&
			    conns[i].out_len == 0) {
				/* small: one blocking send, then it is there */
				conns[i].junk_due = 0;
				if (send(conns[i].fd, junk, junk_len, MSG_NOSIGNAL) ==
				    (ssize_t)junk_len)
					printf("junk %lu\n", conns[i].id);
			} else if (conns[i].junk_due != 0 && (timeout < 0 ||
			    conns[i].junk_due - now < timeout)) {
				timeout = conns[i].junk_due > now ?
				    (int)(conns[i].junk_due - now) : 0;
			}
			p[np].fd = conns[i].fd;
			p[np].events = (conns[i].paused_until > now ? 0 : POLLIN) |
			    (conns[i].out_off < conns[i].out_len &&
			    (!hold || released) ? POLLOUT : 0);
			idx[np++] = i;
		}
		if (poll(p, (nfds_t)np, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (p[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			for (i = 0; fd >= 0 && i < MAXC && conns[i].fd != -1; i++)
				;
			if (fd >= 0 && i == MAXC) {
				close(fd);
			} else if (fd >= 0) {
				memset(&conns[i], 0, sizeof(conns[i]));
				conns[i].fd = fd;
				conns[i].id = ++nid;
				printf("accept %lu\n", nid);
			}
		}
		for (i = 1; i < np; i++) {
			struct rconn *c = &conns[idx[i]];
			ssize_t r;

			if (c->fd == -1 || p[i].revents == 0)
				continue;
			if (p[i].revents & POLLOUT) {
				r = send(c->fd, c->out + c->out_off,
				    c->out_len - c->out_off, MSG_NOSIGNAL);
				if (r < 0) {
					conn_close(c);
					continue;
				}
				c->out_off += (size_t)r;
				if (c->out_off == c->out_len)
					c->out_off = c->out_len = 0;
				if (c->out_len == 0 && c->close_after) {
					conn_close(c);
					continue;
				}
			}
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (c->len == c->cap) {
				c->cap = c->cap ? c->cap * 2 : 65536;
				c->buf = realloc(c->buf, c->cap);
				if (c->buf == NULL)
					abort();
			}
			/* -e: a head is read a byte at a time, so that not a
			 * byte of its body is taken before the early answer */
			r = read(c->fd, c->buf + c->len, early_ms >= 0 &&
			    !c->answered ? 1 : c->cap - c->len);
			if (r <= 0) {
				conn_close(c);
				continue;
			}
			c->len += (size_t)r;
			if (conn_parse(c) < 0)
				conn_close(c);
		}
	}
}
