/* SPDX-License-Identifier: MIT */
/*
 * sgraw: send raw bytes to a unix or TCP socket and print what comes
 * back, for tests that need byte-exact requests (pipelining, smuggling,
 * malformed heads). Escapes in DATA: \r \n \t \0 \\ \xHH.
 *
 *   sgraw (-u PATH | -t HOST:PORT) [-w MS] [-s] [-m] [-p MS] [-P MS] DATA...
 *   -w MS   stop after MS milliseconds without data (default 2000)
 *   -s      shut down the write side after sending
 *   -p MS   pause MS milliseconds between DATA arguments
 *   -P MS   pause MS milliseconds before the last DATA only
 *   -m      print "sent" to stderr once everything is sent (and shut)
 * Exit 0 when the peer closed, 3 when the idle wait ended first.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sgtool.h"

static int
dial(const char *unix_path, const char *tcp)
{
	int fd;

	if (unix_path != NULL) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};

		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", unix_path);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			return -1;
		return fd;
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
		fd = socket(res->ai_family, SOCK_STREAM, 0);
		if (connect(fd, res->ai_addr, res->ai_addrlen) == -1)
			return -1;
		freeaddrinfo(res);
		return fd;
	}
}

int
main(int argc, char **argv)
{
	const char *up = NULL, *tcp = NULL;
	int wait_ms = 2000, pause_ms = 0, last_ms = 0, ch, fd, i;
	int shut = 0, mark = 0;
	static char buf[1 << 20];

	while ((ch = getopt(argc, argv, "u:t:w:smp:P:")) != -1) {
		switch (ch) {
		case 'u': up = optarg; break;
		case 't': tcp = optarg; break;
		case 'w': wait_ms = atoi(optarg); break;
		case 's': shut = 1; break;
		case 'm': mark = 1; break;
		case 'p': pause_ms = atoi(optarg); break;
		case 'P': last_ms = atoi(optarg); break;
		default: return 2;
		}
	}
	fd = dial(up, tcp);
	if (fd == -1) {
		perror("sgraw: connect");
		return 2;
	}
	for (i = optind; i < argc; i++) {
		size_t n;
		char *d;

		if (i > optind && (pause_ms > 0 ||
		    (i == argc - 1 && last_ms > 0))) {
			int ms = i == argc - 1 && last_ms > 0 ? last_ms : pause_ms;
			struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

			nanosleep(&ts, NULL);
		}
		if (strncmp(argv[i], "@", 1) == 0) {
			/* @N:C -> N copies of byte C */
			long cnt = strtol(argv[i] + 1, &d, 10);

			memset(buf, d[1], (size_t)cnt);
			n = (size_t)cnt;
		} else {
			n = sgt_unescape(argv[i], buf);
		}
		if (send(fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n)
			break;
	}
	if (shut)
		shutdown(fd, SHUT_WR);
	if (mark)
		fprintf(stderr, "sent\n");
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, wait_ms) != 1)
			return 3;
		r = read(fd, buf, sizeof(buf));
		if (r <= 0)
			return 0;
		fwrite(buf, 1, (size_t)r, stdout);
		fflush(stdout);
	}
}
