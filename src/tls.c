/* SPDX-License-Identifier: MIT */
/*
 * tls.c: OpenSSL contexts and non-blocking TLS I/O. Owns no connection
 * state: callers keep the SSL object with their fd and track the
 * direction OpenSSL waits for (a read may need the socket writable and
 * a write may need it readable).
 */
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "sockguard/tls.h"

void
sg_tls_errstr(SSL *ssl, char *buf, size_t cap)
{
	unsigned long e;
	size_t o = 0;

	buf[0] = '\0';
	if (ssl != NULL && (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER)) {
		long v = SSL_get_verify_result(ssl);

		if (v != X509_V_OK)
			o += (size_t)snprintf(buf + o, cap - o,
			    "certificate verify failed: %s",
			    X509_verify_cert_error_string(v));
	}
	while ((e = ERR_get_error()) != 0 && o + 2 < cap) {
		char one[256];

		ERR_error_string_n(e, one, sizeof(one));
		if (o == 0 || strstr(buf, one) == NULL)
			o += (size_t)snprintf(buf + o, cap - o, "%s%s",
			    o ? "; " : "", one);
	}
	if (o == 0)
		snprintf(buf, cap, "%s", errno ? strerror(errno) :
		    "TLS connection closed during handshake");
	ERR_clear_error();
}

SSL_CTX *
sg_tls_client_ctx(const struct sg_ir_endpoint *e, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		sg_tls_errstr(NULL, err, errlen);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	if (e->insecure_skip_tls_verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (e->ca_file != NULL && e->ca_file[0] != '\0') {
			if (SSL_CTX_load_verify_locations(ctx, e->ca_file,
			    NULL) != 1) {
				char m[512];

				sg_tls_errstr(NULL, m, sizeof(m));
				snprintf(err, errlen, "load ca_file %s: %s",
				    e->ca_file, m);
				SSL_CTX_free(ctx);
				return NULL;
			}
		} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			snprintf(err, errlen, "cannot load the system CA roots");
			SSL_CTX_free(ctx);
			return NULL;
		}
	}
	if (e->cert_file != NULL && e->cert_file[0] != '\0') {
		char m[512];

		if (SSL_CTX_use_certificate_chain_file(ctx, e->cert_file) !=
		    1) {
			sg_tls_errstr(NULL, m, sizeof(m));
			snprintf(err, errlen, "load cert_file %s: %s",
			    e->cert_file, m);
			SSL_CTX_free(ctx);
			return NULL;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, e->key_file,
		    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) !=
		    1) {
			sg_tls_errstr(NULL, m, sizeof(m));
			snprintf(err, errlen, "load key_file %s: %s",
			    e->key_file, m);
			SSL_CTX_free(ctx);
			return NULL;
		}
	}
	return ctx;
}

SSL *
sg_tls_client_new(SSL_CTX *ctx, int fd, const struct sg_ir_endpoint *e,
    char *err, size_t errlen)
{
	const char *name = e->server_name != NULL && e->server_name[0] ?
	    e->server_name : e->host;
	unsigned char ipbuf[16];
	bool is_ip = inet_pton(AF_INET, name, ipbuf) == 1 ||
	    inet_pton(AF_INET6, name, ipbuf) == 1;
	SSL *ssl = SSL_new(ctx);

	if (ssl == NULL) {
		sg_tls_errstr(NULL, err, errlen);
		return NULL;
	}
	SSL_set_fd(ssl, fd);
	SSL_set_connect_state(ssl);
	if (!is_ip)
		SSL_set_tlsext_host_name(ssl, name);
	if (!e->insecure_skip_tls_verify) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
		int ok;

		if (is_ip) {
			ok = X509_VERIFY_PARAM_set1_ip_asc(vp, name);
		} else {
			X509_VERIFY_PARAM_set_hostflags(vp,
			    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			ok = SSL_set1_host(ssl, name);
		}
		if (ok != 1) {
			snprintf(err, errlen, "cannot set the name to verify "
			    "(%s)", name);
			SSL_free(ssl);
			return NULL;
		}
	}
	return ssl;
}

static enum sg_rc
tls_want(SSL *ssl, int r, unsigned *want)
{
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*want = SG_TLS_WANT_READ;
		return SG_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		*want = SG_TLS_WANT_WRITE;
		return SG_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return SG_DONE;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0 && (r == 0 || errno == 0))
			return SG_DONE; /* EOF without close_notify */
		return SG_ERR;
	default:
		return SG_ERR;
	}
}

enum sg_rc
sg_tls_handshake(SSL *ssl, unsigned *want, char *err, size_t errlen)
{
	int r;
	enum sg_rc rc;

	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(ssl);
	if (r == 1)
		return SG_OK;
	rc = tls_want(ssl, r, want);
	if (rc == SG_AGAIN)
		return SG_AGAIN;
	sg_tls_errstr(ssl, err, errlen);
	return SG_ERR;
}

ssize_t
sg_tls_read(SSL *ssl, void *p, size_t n, unsigned *want)
{
	size_t got = 0;
	int r;

	ERR_clear_error();
	errno = 0;
	r = SSL_read_ex(ssl, p, n, &got);
	if (r == 1)
		return (ssize_t)got;
	switch (tls_want(ssl, r, want)) {
	case SG_AGAIN:
		return -1;
	case SG_DONE:
		return 0;
	default:
		if (errno == 0)
			errno = EPROTO;
		return -2;
	}
}

ssize_t
sg_tls_write(SSL *ssl, const void *p, size_t n, unsigned *want)
{
	size_t put = 0;
	int r;

	ERR_clear_error();
	errno = 0;
	r = SSL_write_ex(ssl, p, n, &put);
	if (r == 1)
		return (ssize_t)put;
	switch (tls_want(ssl, r, want)) {
	case SG_AGAIN:
		return -1;
	default:
		if (errno == 0)
			errno = EPIPE;
		return -2;
	}
}
