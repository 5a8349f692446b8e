/* SPDX-License-Identifier: MIT */
/*
 * sgchunks: an upstream whose chunked responses arrive with their framing
 * torn across writes, for the splice tests. Serves each connection on a
 * unix socket in a process of its own; every request (its head is read up to the blank
 * line, a body is not expected) gets
 *
 *   HTTP/1.1 200 OK, Transfer-Encoding: chunked
 *
 * and N chunks of S bytes (a byte pattern that depends on the offset),
 * then the last chunk. Each write ends inside the next size line, or
 * inside the CRLF before it, and the rest follows after a pause of W
 * milliseconds, so a reader that is keeping up sees the framing in two
 * pieces. The connection is kept alive.
 *
 *   sgchunks -l SOCKET [-n N] [-s S] [-w MS]
 *   (defaults: 64 chunks of 262144 bytes, 5 ms)
 *
 * stdout (line-buffered): "listening", then "served" per response.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Reads one request head; 0 at EOF or on an error. */
static int
read_head(int fd)
{
	char b[8192];
	size_t len = 0;

	for (;;) {
		ssize_t r = read(fd, b + len, sizeof(b) - 1 - len);

		if (r <= 0)
			return 0;
		len += (size_t)r;
		b[len] = '\0';
		if (strstr(b, "\r\n\r\n") != NULL)
			return 1;
		if (len == sizeof(b) - 1)
			return 0;
	}
}

/*
 * One response. The bytes go out as: head, then per chunk its data, the
 * CRLF after it and the next size line, cut at a point that moves from
 * chunk to chunk (inside the size line or inside the CRLF).
 */
static int
serve(int fd, long n, size_t s, long wait_ms)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
	char *buf = malloc(s + 64);
	char line[32];
	size_t off = 0, len, cut;
	long i;
	int ll, rc = -1;

	if (buf == NULL)
		return -1;
	ll = snprintf(line, sizeof(line), "%zx\r\n", s);
	if (write_all(fd, head, sizeof(head) - 1) == -1 ||
	    write_all(fd, line, (size_t)ll) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		size_t k;
		const char *next = i + 1 < n ? line : "0\r\n\r\n";
		size_t nlen = i + 1 < n ? (size_t)ll : 5;

		for (k = 0; k < s; k++)
			buf[k] = (char)('a' + (off + k) % 26);
		off += s;
		memcpy(buf + s, "\r\n", 2);
		memcpy(buf + s + 2, next, nlen);
		len = s + 2 + nlen;
		/* cut 1 .. 2 + nlen - 1 bytes after the data */
		cut = s + 1 + (size_t)i % (1 + nlen);
		if (write_all(fd, buf, cut) == -1)
			goto out;
		pause_ms(wait_ms);
		if (write_all(fd, buf + cut, len - cut) == -1)
			goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	long n = 64, wait_ms = 5;
	size_t s = 262144;
	int ch, lfd;

	while ((ch = getopt(argc, argv, "l:n:s:w:")) != -1) {
		switch (ch) {
		case 'l': path = optarg; break;
		case 'n': n = strtol(optarg, NULL, 10); break;
		case 's': s = strtoul(optarg, NULL, 10); break;
		case 'w': wait_ms = strtol(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (path == NULL || n < 1 || s < 1 || wait_ms < 0) {
		fprintf(stderr, "usage: sgchunks -l SOCKET [-n N] [-s S] "
		    "[-w MS]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN); /* no zombies */
	setvbuf(stdout, NULL, _IOLBF, 0);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	if (lfd == -1 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) ==
	    -1 || listen(lfd, 16) == -1) {
		perror("sgchunks: bind");
		return 1;
	}
	printf("listening %s\n", path);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd == -1) {
			if (errno == EINTR)
				continue;
			perror("sgchunks: accept");
			return 1;
		}
		if (fork() == 0) {
			close(lfd);
			while (read_head(fd) && serve(fd, n, s, wait_ms) == 0)
				printf("served\n");
			_exit(0);
		}
		close(fd);
	}
}
