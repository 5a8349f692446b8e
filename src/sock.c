/* SPDX-License-Identifier: MIT */
/*
 * sock.c: non-blocking stream I/O over a plain or TLS socket, for both
 * sides of the proxy. Owns nothing: the caller keeps fd and SSL, and the
 * readiness flags (cleared when the socket would block; TLS reads keep
 * going while OpenSSL holds buffered bytes, which poll cannot see).
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <unistd.h>

#include <openssl/err.h>

#include "sockguard/runtime.h"
#include "sockguard/tls.h"

ssize_t
sg_sock_read(struct sg_sock *u, char *p, size_t n, bool *rd, bool *wr)
{
	ssize_t r;

	if (u->ssl != NULL) {
		unsigned want = 0;

		r = sg_tls_read(u->ssl, p, n, &want);
		if (r == -1) {
			*rd = false;
			if (want == SG_TLS_WANT_WRITE) {
				u->rd_wants_w = true;
				*wr = false;
			}
		}
		return r;
	}
	do
		r = read(u->fd, p, n);
	while (r == -1 && errno == EINTR);
	if (r == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			*rd = false;
			return -1;
		}
		return -2;
	}
	if (r > 0 && (size_t)r < n)
		*rd = false; /* drained: level-triggered polling says when */
	return r;
}

ssize_t
sg_sock_writev(struct sg_sock *u, struct iovec *iov, int cnt, bool *rd,
    bool *wr)
{
	struct msghdr mh = {0};
	size_t want = 0;
	ssize_t r;
	int i;

	for (i = 0; i < cnt; i++)
		want += iov[i].iov_len;
	if (want == 0)
		return 0;
	if (u->ssl != NULL) {
		ssize_t total = 0;

		for (i = 0; i < cnt; i++) {
			unsigned w = 0;

			if (iov[i].iov_len == 0)
				continue;
			r = sg_tls_write(u->ssl, iov[i].iov_base,
			    iov[i].iov_len, &w);
			if (r == -1) {
				*wr = false;
				if (w == SG_TLS_WANT_READ) {
					u->wr_wants_r = true;
					*rd = false;
				}
				return total > 0 ? total : -1;
			}
			if (r < 0)
				return total > 0 ? total : -2;
			total += r;
			if ((size_t)r < iov[i].iov_len)
				break;
		}
		return total;
	}
	mh.msg_iov = iov;
	mh.msg_iovlen = (size_t)cnt;
	do
		r = sendmsg(u->fd, &mh, MSG_NOSIGNAL);
	while (r == -1 && errno == EINTR);
	if (r == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			*wr = false;
			return -1;
		}
		return -2;
	}
	if ((size_t)r < want)
		*wr = false;
	return r;
}

void
sg_sock_shutdown_write(struct sg_sock *u)
{
	if (u->ssl != NULL) {
		/* close_notify: the daemon reads EOF on the hijacked stream */
		ERR_clear_error();
		SSL_shutdown(u->ssl);
		return;
	}
	shutdown(u->fd, SHUT_WR);
}

