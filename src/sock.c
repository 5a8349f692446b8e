/* SPDX-License-Identifier: MIT */
/*
 * sock.c: non-blocking stream I/O over a plain or TLS socket, for both
 * sides of the proxy. Owns nothing: the caller keeps fd and SSL, and the
 * readiness flags (cleared when the socket would block or a read came
 * back short; TLS reads keep going while OpenSSL holds buffered bytes,
 * which poll cannot see).
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "sockguard/runtime.h"
#include "sockguard/sys.h"
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
		} else if (r > 0 && (size_t)r < n && !SSL_has_pending(u->ssl)) {
			/*
			 * Short, and OpenSSL holds nothing more (read-ahead
			 * takes what the socket had, up to its buffer): the
			 * rest, if any, is still in the socket, where
			 * level-triggered polling sees it. Saves the read
			 * that would only say EAGAIN.
			 */
			*rd = false;
		}
		return r;
	}
	do
		r = sg_sys_recv(u->fd, p, n, 0);
	while (r == -1 && errno == EINTR);
	if (r == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			*rd = false;
			return -1;
		}
		return -2;
	}
	/* drained: polling reports the next bytes; but an end of file that
	 * came with these bytes gets no edge of its own */
	if (r > 0 && (size_t)r < n && !u->peer_shut)
		*rd = false;
	return r;
}

/* One SSL_write; on WANT_* the readiness flags say which way to wait. */
static ssize_t
sock_tls_write(struct sg_sock *u, const void *p, size_t n, bool *rd,
    bool *wr)
{
	unsigned w = 0;
	ssize_t r = sg_tls_write(u->ssl, p, n, &w);

	if (r == -1) {
		*wr = false;
		if (w == SG_TLS_WANT_READ) {
			u->wr_wants_r = true;
			*rd = false;
		}
	}
	return r;
}

/*
 * The first cap bytes of the iovecs, copied together into a buffer of the
 * thread's; returns their count. A retry after a short write or
 * WANT_WRITE sees the same iovecs (or longer ones), so it joins the same
 * bytes again and at least as many, as OpenSSL requires.
 */
static size_t
sock_join(const struct iovec *iov, int cnt, char **out, size_t cap)
{
	static _Thread_local char buf[SG_TLS_COALESCE];
	size_t o = 0, k;
	int i;

	if (cap > sizeof(buf))
		cap = sizeof(buf);
	for (i = 0; i < cnt && o < cap; i++) {
		k = iov[i].iov_len;
		if (k > cap - o)
			k = cap - o;
		memcpy(buf + o, iov[i].iov_base, k);
		o += k;
	}
	*out = buf;
	return o;
}

ssize_t
sg_sock_writev(struct sg_sock *u, struct iovec *iov, int cnt, bool *rd,
    bool *wr)
{
	struct msghdr mh = {0};
	const void *one = NULL;
	char *joined;
	size_t want = 0;
	ssize_t r;
	int i;

	for (i = 0; i < cnt; i++)
		want += iov[i].iov_len;
	if (want == 0)
		return 0;
	/* a small head and what follows it: one TLS record, one write(2) */
	if (u->ssl != NULL && cnt > 1 && iov[0].iov_len > 0 &&
	    iov[0].iov_len < SG_TLS_COALESCE) {
		size_t n = sock_join(iov, cnt, &joined, SG_TLS_COALESCE);

		return sock_tls_write(u, joined, n, rd, wr);
	}
	if (u->ssl != NULL) {
		ssize_t total = 0;

		for (i = 0; i < cnt; i++) {
			if (iov[i].iov_len == 0)
				continue;
			r = sock_tls_write(u, iov[i].iov_base, iov[i].iov_len,
			    rd, wr);
			if (r == -1)
				return total > 0 ? total : -1;
			if (r < 0)
				return total > 0 ? total : -2;
			total += r;
			if ((size_t)r < iov[i].iov_len)
				break;
		}
		return total;
	}
	/* empty parts (a head with no body bytes yet) cost the kernel a
	 * step each: leave them out */
	while (iov[0].iov_len == 0) {
		iov++;
		cnt--;
	}
	while (iov[cnt - 1].iov_len == 0)
		cnt--;
	/*
	 * One part goes out with send(2), which spares the kernel the
	 * message header and iovec array that sendmsg(2) copies in and
	 * checks; a few small parts (a head and a short body) are cheaper
	 * copied together than handed over as such an array.
	 */
	if (cnt == 1) {
		one = iov[0].iov_base;
	} else if (want <= SG_SEND_JOIN) {
		(void)sock_join(iov, cnt, &joined, want);
		one = joined;
	}
	mh.msg_iov = iov;
	mh.msg_iovlen = (size_t)cnt;
	do
		r = one != NULL ? sg_sys_send(u->fd, one, want, MSG_NOSIGNAL) :
		    sg_sys_sendmsg(u->fd, &mh, MSG_NOSIGNAL);
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

