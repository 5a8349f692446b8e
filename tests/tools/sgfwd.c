/* SPDX-License-Identifier: MIT */
/*
 * sgfwd: a killable TCP forwarder for failover tests. Listens on
 * HOST:PORT and relays every connection, byte for byte with half-close,
 * to a unix socket (-u PATH) or a TCP address (-t HOST:PORT). Prints
 * "accept N" per connection to stdout (line-buffered) so tests can count
 * probe and request traffic.
 *
 *   sgfwd -l 127.0.0.1:PORT (-u PATH | -t HOST:PORT)
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXC 256

struct half {
	int from, to;
	char buf[65536];
	size_t off, len;
	int eof, shut;
};

struct pair {
	int used;
	struct half a, b; /* a: client->target, b: target->client */
};

static struct pair pairs[MAXC];

static int
dial(const char *up, const char *tcp)
{
	int fd;

	if (up != NULL) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};

		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", up);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
			close(fd);
			return -1;
		}
		return fd;
	}
	{
		char host[256];
		const char *c = strrchr(tcp, ':');
		struct addrinfo hints = {0}, *res;

		snprintf(host, sizeof(host), "%.*s", (int)(c - tcp), tcp);
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(host, c + 1, &hints, &res) != 0)
			return -1;
		fd = socket(res->ai_family, SOCK_STREAM, 0);
		if (connect(fd, res->ai_addr, res->ai_addrlen) == -1) {
			close(fd);
			freeaddrinfo(res);
			return -1;
		}
		freeaddrinfo(res);
		return fd;
	}
}

static void
pump(struct half *h)
{
	ssize_t r;

	if (!h->eof && h->len == 0) {
		r = read(h->from, h->buf, sizeof(h->buf));
		if (r < 0 && errno == EAGAIN)
			r = -2;
		if (r == -2)
			;
		else if (r <= 0)
			h->eof = 1;
		else {
			h->len = (size_t)r;
			h->off = 0;
		}
	}
	if (h->len > 0) {
		r = send(h->to, h->buf + h->off, h->len, MSG_NOSIGNAL);
		if (r > 0) {
			h->off += (size_t)r;
			h->len -= (size_t)r;
		} else if (r < 0 && errno == EAGAIN) {
			;
		} else {
			h->eof = 1;
			h->len = 0;
		}
	}
	if (h->eof && h->len == 0 && !h->shut) {
		shutdown(h->to, SHUT_WR);
		h->shut = 1;
	}
}

int
main(int argc, char **argv)
{
	const char *listen_at = NULL, *up = NULL, *tcp = NULL;
	struct addrinfo hints = {0}, *res;
	char host[256];
	const char *c;
	int ch, lfd, one = 1;
	unsigned long n = 0;

	while ((ch = getopt(argc, argv, "l:u:t:")) != -1) {
		switch (ch) {
		case 'l': listen_at = optarg; break;
		case 'u': up = optarg; break;
		case 't': tcp = optarg; break;
		default: return 2;
		}
	}
	if (listen_at == NULL || (up == NULL && tcp == NULL))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	c = strrchr(listen_at, ':');
	snprintf(host, sizeof(host), "%.*s", (int)(c - listen_at), listen_at);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if (getaddrinfo(host, c + 1, &hints, &res) != 0)
		return 2;
	lfd = socket(res->ai_family, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(lfd, 128) == -1) {
		perror("sgfwd: bind");
		return 1;
	}
	printf("listening %s\n", listen_at);
	for (;;) {
		struct pollfd p[1 + 2 * MAXC];
		int idx[1 + 2 * MAXC], np = 1, i;

		p[0].fd = lfd;
		p[0].events = POLLIN;
		for (i = 0; i < MAXC; i++) {
			struct pair *q = &pairs[i];

			if (!q->used)
				continue;
			if ((q->a.eof && q->a.len == 0 && q->b.eof &&
			    q->b.len == 0)) {
				close(q->a.from);
				close(q->a.to);
				q->used = 0;
				continue;
			}
			p[np].fd = q->a.from;
			p[np].events = (!q->a.eof && q->a.len == 0 ? POLLIN : 0) |
			    (q->b.len > 0 ? POLLOUT : 0);
			idx[np++] = i;
			p[np].fd = q->b.from;
			p[np].events = (!q->b.eof && q->b.len == 0 ? POLLIN : 0) |
			    (q->a.len > 0 ? POLLOUT : 0);
			idx[np++] = i;
		}
		if (poll(p, (nfds_t)np, -1) < 0)
			continue;
		if (p[0].revents & POLLIN) {
			int cfd = accept(lfd, NULL, NULL), tfd;

			if (cfd >= 0) {
				printf("accept %lu\n", ++n);
				tfd = dial(up, tcp);
				for (i = 0; i < MAXC && pairs[i].used; i++)
					;
				if (tfd < 0 || i == MAXC) {
					close(cfd);
					if (tfd >= 0)
						close(tfd);
				} else {
					memset(&pairs[i], 0, sizeof(pairs[i]));
					pairs[i].used = 1;
					pairs[i].a.from = cfd;
					pairs[i].a.to = tfd;
					pairs[i].b.from = tfd;
					pairs[i].b.to = cfd;
					fcntl(cfd, F_SETFL, O_NONBLOCK);
					fcntl(tfd, F_SETFL, O_NONBLOCK);
				}
			}
		}
		for (i = 1; i < np; i++) {
			if (p[i].revents == 0)
				continue;
			pump(&pairs[idx[i]].a);
			pump(&pairs[idx[i]].b);
		}
	}
}
