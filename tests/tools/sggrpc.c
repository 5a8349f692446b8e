/* SPDX-License-Identifier: MIT */
/*
 * sggrpc: one gRPC unary call with an empty request message, through the
 * daemon's BuildKit endpoint: POST PREFIX/grpc upgrades the connection to
 * HTTP/2 (h2c), then the call goes over it (HTTP/2 framing by nghttp2).
 *
 *   sggrpc -u PATH [-P PREFIX] [-w MS] METHOD
 *   -P PREFIX  API version prefix, e.g. /v1.41 (default none)
 *   -w MS      give up after MS milliseconds (default 5000)
 *   METHOD     /package.Service/Method
 *
 * Prints "http=101 status=S grpc-status=G bytes=N" to stderr, then the
 * printable runs (4 bytes or more) of the response message, one a line.
 * Exit 0 when the call ended with grpc-status 0; 2 when the upgrade was
 * refused (the head goes to stderr); 1 otherwise.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "sgtool.h"

struct call {
	int fd;
	int status;
	char grpc_status[16];
	unsigned char msg[1 << 20];
	size_t mlen;
	bool closed;
	bool body_sent;
};

static int
on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
    size_t nl, const uint8_t *val, size_t vl, uint8_t flags, void *ud)
{
	struct call *c = ud;

	(void)s;
	(void)f;
	(void)flags;
	if (nl == 7 && memcmp(name, ":status", 7) == 0)
		c->status = atoi((const char *)val);
	else if (nl == 11 && memcmp(name, "grpc-status", 11) == 0)
		snprintf(c->grpc_status, sizeof(c->grpc_status), "%.*s",
		    (int)vl, (const char *)val);
	else if (nl == 12 && memcmp(name, "grpc-message", 12) == 0)
		fprintf(stderr, "grpc-message: %.*s\n", (int)vl,
		    (const char *)val);
	return 0;
}

static int
on_data(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *d,
    size_t len, void *ud)
{
	struct call *c = ud;

	(void)s;
	(void)flags;
	(void)sid;
	if (len > sizeof(c->msg) - c->mlen)
		len = sizeof(c->msg) - c->mlen;
	memcpy(c->msg + c->mlen, d, len);
	c->mlen += len;
	return 0;
}

static int
on_close(nghttp2_session *s, int32_t sid, uint32_t err, void *ud)
{
	struct call *c = ud;

	(void)s;
	(void)sid;
	if (err != 0)
		fprintf(stderr, "stream reset: error %u\n", err);
	c->closed = true;
	return 0;
}

/* the request body: one gRPC frame holding an empty message */
static ssize_t
body(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *ud)
{
	struct call *c = ud;

	(void)s;
	(void)sid;
	(void)src;
	*flags |= NGHTTP2_DATA_FLAG_EOF;
	if (c->body_sent || len < 5)
		return 0;
	memset(buf, 0, 5);
	c->body_sent = true;
	return 5;
}

static int
dial(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		return -1;
	return fd;
}

static bool
write_all(int fd, const void *p, size_t n)
{
	const char *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
	}
	return true;
}

static struct call call;

int
main(int argc, char **argv)
{
	const char *path = NULL, *prefix = "";
	char method[256];
	long long deadline;
	long wait_ms = 5000;
	char head[8192], req[512];
	size_t hl = 0, i, run;
	char *end = NULL;
	nghttp2_session_callbacks *cb;
	nghttp2_session *s;
	nghttp2_data_provider dp = {.read_callback = body};
	int opt;

	while ((opt = getopt(argc, argv, "u:P:w:")) != -1) {
		if (opt == 'u')
			path = optarg;
		else if (opt == 'P')
			prefix = optarg;
		else if (opt == 'w')
			wait_ms = atol(optarg);
		else
			return 64;
	}
	if (path == NULL || optind + 1 != argc) {
		fprintf(stderr, "usage: sggrpc -u PATH [-P PREFIX] [-w MS] "
		    "METHOD\n");
		return 64;
	}
	snprintf(method, sizeof(method), "%s", argv[optind]);
	deadline = sgt_now_ms() + wait_ms;
	call.fd = dial(path);
	if (call.fd == -1) {
		perror("sggrpc: connect");
		return 1;
	}
	snprintf(req, sizeof(req), "POST %s/grpc HTTP/1.1\r\nHost: docker\r\n"
	    "Connection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 0\r\n\r\n",
	    prefix);
	if (!write_all(call.fd, req, strlen(req)))
		return 1;
	/* the HTTP/1.1 answer; bytes after it are HTTP/2 already */
	while (end == NULL && hl < sizeof(head) - 1) {
		ssize_t n = read(call.fd, head + hl, sizeof(head) - 1 - hl);

		if (n <= 0)
			break;
		hl += (size_t)n;
		head[hl] = '\0';
		end = strstr(head, "\r\n\r\n");
	}
	if (end == NULL || strncmp(head, "HTTP/1.1 101 ", 13) != 0) {
		fprintf(stderr, "upgrade refused:\n%.*s\n", (int)hl, head);
		return 2;
	}
	end += 4;

	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
	nghttp2_session_client_new(&s, cb, &call);
	nghttp2_session_callbacks_del(cb);
	nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0);
	{
#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, \
	strlen(v), NGHTTP2_NV_FLAG_NONE}
		nghttp2_nv nva[] = {NV(":method", "POST"), NV(":scheme", "http"),
		    NV(":authority", "docker"), NV(":path", method),
		    NV("content-type", "application/grpc"),
		    NV("te", "trailers")};
#undef NV
		if (nghttp2_submit_request(s, NULL, nva, sizeof(nva) / sizeof(nva[0]), &dp,
		    NULL) < 0)
			return 1;
	}
	if (head + hl > end &&
	    nghttp2_session_mem_recv(s, (const uint8_t *)end,
	    (size_t)(head + hl - end)) < 0)
		return 1;
	while (!call.closed) {
		const uint8_t *out;
		ssize_t n;
		uint8_t buf[16384];
		struct pollfd p = {.fd = call.fd, .events = POLLIN};
		long long left = deadline - sgt_now_ms();

		while ((n = nghttp2_session_mem_send(s, &out)) > 0)
			if (!write_all(call.fd, out, (size_t)n))
				return 1;
		if (left <= 0) {
			fprintf(stderr, "sggrpc: no answer in time\n");
			break;
		}
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = read(call.fd, buf, sizeof(buf));
		if (n <= 0) {
			fprintf(stderr, "sggrpc: connection closed\n");
			break;
		}
		if (nghttp2_session_mem_recv(s, buf, (size_t)n) < 0)
			break;
	}
	nghttp2_session_del(s);
	close(call.fd);
	fprintf(stderr, "http=101 status=%d grpc-status=%s bytes=%zu\n",
	    call.status, call.grpc_status[0] ? call.grpc_status : "-",
	    call.mlen);
	/* the printable runs of the message, like strings(1) */
	for (i = 0, run = 0; i <= call.mlen; i++) {
		if (i < call.mlen && call.msg[i] >= 0x20 && call.msg[i] < 0x7f) {
			run++;
			continue;
		}
		if (run >= 4)
			printf("%.*s\n", (int)run, (const char *)call.msg + i - run);
		run = 0;
	}
	return call.closed && call.status == 200 &&
	    strcmp(call.grpc_status, "0") == 0 ? 0 : 1;
}
