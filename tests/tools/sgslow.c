/* SPDX-License-Identifier: MIT */
/*
 * sgslow: many slow clients at once (slowloris) for fault tests. Opens N
 * connections to a unix socket or TCP address, then trickles DATA into
 * every one of them, B bytes every I milliseconds, and records what each
 * receives and when the peer closes it. With -H it sends nothing and
 * holds the connections open (descriptor exhaustion).
 *
 *   sgslow (-u PATH | -t HOST:PORT) [-n N] [-i MS] [-b B] [-d MS]
 *          [-T SECONDS] [-H] [-v] [DATA]
 *   -n N    connections (default 1)
 *   -i MS   interval between trickled bytes (default 1000)
 *   -b B    bytes per interval (default 1)
 *   -d MS   wait before the first byte (default 0)
 *   -T S    give up after S seconds (default 60)
 *   -H      hold: send nothing, keep the connections open until killed
 *   -v      one line per connection at the end
 * DATA takes the escapes \r \n \t \0 \\ \xHH.
 *
 * Connections are made without blocking; a unix socket whose backlog is
 * full (EAGAIN) is retried until the deadline. Prints "connected N" once
 * every connection is established (or given up on), then at the end
 * (all closed by the peer, the deadline, or SIGTERM/SIGINT):
 *
 *   sgslow: conns=N connected=C failed=F closed=K status_408=A
 *   status_other=O no_response=R close_ms_min=X close_ms_max=Y
 *
 * close times are measured from each connection's establishment.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sgtool.h"

enum cstate { C_NEW, C_CONNECTING, C_OPEN, C_CLOSED, C_FAILED };

struct sconn {
	int fd;
	enum cstate st;
	size_t sent;
	long long t_open, t_close;
	char first[16];
	size_t nfirst;
	size_t nrecv;
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct target {
	int family;
	struct sockaddr_storage ss;
	socklen_t sl;
};

static int
resolve(const char *up, const char *tcp, struct target *t)
{
	memset(t, 0, sizeof(*t));
	if (up != NULL) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&t->ss;

		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", up);
		t->family = AF_UNIX;
		t->sl = sizeof(*sun);
		return 0;
	} else {
		char host[256];
		const char *c = strrchr(tcp, ':');
		struct addrinfo hints = {0}, *res;

		if (c == NULL)
			return -1;
		snprintf(host, sizeof(host), "%.*s", (int)(c - tcp), tcp);
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(host, c + 1, &hints, &res) != 0)
			return -1;
		t->family = res->ai_family;
		memcpy(&t->ss, res->ai_addr, res->ai_addrlen);
		t->sl = res->ai_addrlen;
		freeaddrinfo(res);
		return 0;
	}
}

/* One connect attempt; leaves the state NEW to retry later. */
static void
try_connect(struct sconn *c, const struct target *t)
{
	if (c->fd == -1) {
		c->fd = socket(t->family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (c->fd == -1) {
			c->st = C_FAILED;
			return;
		}
	}
	if (connect(c->fd, (const struct sockaddr *)&t->ss, t->sl) == 0) {
		c->st = C_OPEN;
		c->t_open = sgt_now_ms();
		return;
	}
	if (errno == EINPROGRESS) {
		c->st = C_CONNECTING;
		return;
	}
	if (errno == EAGAIN || errno == EINTR)
		return; /* unix backlog full: retry */
	close(c->fd);
	c->fd = -1;
	c->st = C_FAILED;
}

static void
mark_closed(struct sconn *c)
{
	c->st = C_CLOSED;
	c->t_close = sgt_now_ms();
	close(c->fd);
	c->fd = -1;
}

int
main(int argc, char **argv)
{
	const char *up = NULL, *tcp = NULL;
	int n = 1, interval = 1000, per = 1, delay = 0, limit = 60;
	int hold = 0, verbose = 0, ch, i;
	char *data;
	size_t dlen = 0;
	struct sconn *cs;
	struct pollfd *p;
	int *idx;
	struct target t;
	long long start, next_tick, deadline;
	int announced = 0;

	while ((ch = getopt(argc, argv, "u:t:n:i:b:d:T:Hv")) != -1) {
		switch (ch) {
		case 'u': up = optarg; break;
		case 't': tcp = optarg; break;
		case 'n': n = atoi(optarg); break;
		case 'i': interval = atoi(optarg); break;
		case 'b': per = atoi(optarg); break;
		case 'd': delay = atoi(optarg); break;
		case 'T': limit = atoi(optarg); break;
		case 'H': hold = 1; break;
		case 'v': verbose = 1; break;
		default: return 2;
		}
	}
	if ((up == NULL && tcp == NULL) || n < 1 || interval < 1 || per < 1) {
		fprintf(stderr, "usage: sgslow (-u PATH | -t HOST:PORT) [-n N] "
		    "[-i MS] [-b B] [-d MS] [-T S] [-H] [-v] [DATA]\n");
		return 2;
	}
	data = malloc(optind < argc ? strlen(argv[optind]) + 1 : 1);
	if (data == NULL)
		return 1;
	if (optind < argc)
		dlen = sgt_unescape(argv[optind], data);
	if (resolve(up, tcp, &t) == -1) {
		fprintf(stderr, "sgslow: cannot resolve the address\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	cs = calloc((size_t)n, sizeof(*cs));
	p = calloc((size_t)n, sizeof(*p));
	idx = calloc((size_t)n, sizeof(*idx));
	if (cs == NULL || p == NULL || idx == NULL)
		return 1;
	for (i = 0; i < n; i++)
		cs[i].fd = -1;
	start = sgt_now_ms();
	deadline = start + (long long)limit * 1000;
	next_tick = -1;

	while (!stop && sgt_now_ms() < deadline) {
		int np = 0, pending = 0, open = 0, timeout;
		long long now = sgt_now_ms();

		for (i = 0; i < n; i++) {
			if (cs[i].st == C_NEW)
				try_connect(&cs[i], &t);
			if (cs[i].st == C_NEW || cs[i].st == C_CONNECTING)
				pending++;
			if (cs[i].st == C_OPEN || cs[i].st == C_CONNECTING)
				open++;
		}
		if (!announced && pending == 0) {
			int ok = 0;

			for (i = 0; i < n; i++)
				ok += cs[i].st == C_OPEN || cs[i].st == C_CLOSED;
			printf("connected %d\n", ok);
			announced = 1;
			next_tick = now + delay;
		}
		if (announced && open == 0 && !hold)
			break;
		/* trickle */
		if (announced && !hold && now >= next_tick) {
			for (i = 0; i < n; i++) {
				struct sconn *c = &cs[i];
				size_t k = (size_t)per;
				ssize_t w;

				if (c->st != C_OPEN || c->sent >= dlen)
					continue;
				if (k > dlen - c->sent)
					k = dlen - c->sent;
				w = send(c->fd, data + c->sent, k, MSG_NOSIGNAL);
				if (w > 0)
					c->sent += (size_t)w;
				else if (w < 0 && errno != EAGAIN)
					mark_closed(c);
			}
			next_tick = now + interval;
		}
		for (i = 0; i < n; i++) {
			if (cs[i].st != C_OPEN && cs[i].st != C_CONNECTING)
				continue;
			p[np].fd = cs[i].fd;
			p[np].events = cs[i].st == C_CONNECTING ? POLLOUT :
			    POLLIN;
			p[np].revents = 0;
			idx[np++] = i;
		}
		timeout = pending > 0 ? 20 : 50;
		if (announced && !hold && next_tick - now < timeout)
			timeout = next_tick > now ? (int)(next_tick - now) : 0;
		if (poll(p, (nfds_t)np, timeout) < 0 && errno != EINTR)
			break;
		for (i = 0; i < np; i++) {
			struct sconn *c = &cs[idx[i]];
			char buf[4096];
			ssize_t r;

			if (p[i].revents == 0)
				continue;
			if (c->st == C_CONNECTING) {
				int err = 0;
				socklen_t el = sizeof(err);

				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err != 0) {
					close(c->fd);
					c->fd = -1;
					c->st = C_FAILED;
				} else {
					c->st = C_OPEN;
					c->t_open = sgt_now_ms();
				}
				continue;
			}
			r = read(c->fd, buf, sizeof(buf));
			if (r > 0) {
				size_t k = (size_t)r;

				if (k > sizeof(c->first) - 1 - c->nfirst)
					k = sizeof(c->first) - 1 - c->nfirst;
				memcpy(c->first + c->nfirst, buf, k);
				c->nfirst += k;
				c->nrecv += (size_t)r;
				continue;
			}
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			mark_closed(c);
		}
	}

	{
		int connected = 0, failed = 0, closed = 0, s408 = 0, other = 0;
		int none = 0;
		long long mn = -1, mx = -1;

		for (i = 0; i < n; i++) {
			struct sconn *c = &cs[i];

			if (c->st == C_FAILED || c->st == C_NEW ||
			    c->st == C_CONNECTING) {
				failed++;
				continue;
			}
			connected++;
			if (c->nrecv == 0)
				none++;
			else if (c->nfirst >= 12 &&
			    memcmp(c->first, "HTTP/1.1 408", 12) == 0)
				s408++;
			else
				other++;
			if (c->st == C_CLOSED) {
				long long d = c->t_close - c->t_open;

				closed++;
				if (mn < 0 || d < mn)
					mn = d;
				if (d > mx)
					mx = d;
			}
			if (verbose)
				printf("conn %d: %s after %lld ms, sent %zu, "
				    "received %zu: %.12s\n", i,
				    c->st == C_CLOSED ? "closed" : "open",
				    (c->st == C_CLOSED ? c->t_close : sgt_now_ms()) -
				    c->t_open, c->sent, c->nrecv,
				    c->nfirst ? c->first : "-");
		}
		printf("sgslow: conns=%d connected=%d failed=%d closed=%d "
		    "status_408=%d status_other=%d no_response=%d "
		    "close_ms_min=%lld close_ms_max=%lld\n", n, connected,
		    failed, closed, s408, other, none, mn, mx);
	}
	free(idx);
	free(p);
	free(cs);
	free(data);
	return 0;
}
