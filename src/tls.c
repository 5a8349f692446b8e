/* SPDX-License-Identifier: MIT */
/*
 * tls.c: OpenSSL contexts and non-blocking TLS I/O. Owns no connection
 * state: callers keep the SSL object with their fd and track the
 * direction OpenSSL waits for (a read may need the socket writable and
 * a write may need it readable).
 */
#include <arpa/inet.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
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
	/* one read(2) per burst of records, not two per record (see
	 * sg_sock_read for what that asks of the readiness flags) */
	SSL_CTX_set_read_ahead(ctx, 1);
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

/* ---- server side (TLS listeners) ---- */

static int tls_sel_idx = -1;

static void
tls_hex(const unsigned char *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static bool
tls_list_has(const struct sg_ir_strlist *l, const char *s, size_t n,
    bool nocase)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strlen(l->v[i]) == n && (nocase ?
		    strncasecmp(l->v[i], s, n) == 0 :
		    memcmp(l->v[i], s, n) == 0))
			return true;
	return false;
}

void
sg_tls_cert_ident(X509 *leaf, char *cn, size_t cncap, char spki[65])
{
	X509_NAME *sub = X509_get_subject_name(leaf);
	int i = sub != NULL ? X509_NAME_get_index_by_NID(sub, NID_commonName,
	    -1) : -1;
	unsigned char *der = NULL, md[32];
	int len;

	cn[0] = '\0';
	spki[0] = '\0';
	if (i >= 0) {
		unsigned char *u = NULL;
		int ul = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(sub, i)));

		if (ul >= 0) {
			size_t a = 0, b = (size_t)ul;

			while (a < b && (u[a] == ' ' || u[a] == '\t'))
				a++;
			while (b > a && (u[b - 1] == ' ' || u[b - 1] == '\t'))
				b--;
			snprintf(cn, cncap, "%.*s", (int)(b - a),
			    (const char *)u + a);
			OPENSSL_free(u);
		}
	}
	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &der);
	if (len > 0) {
		unsigned int ml = 0;

		if (EVP_Digest(der, (size_t)len, md, &ml, EVP_sha256(), NULL) ==
		    1 && ml == 32)
			tls_hex(md, 32, spki);
		OPENSSL_free(der);
	}
}

bool
sg_tls_cert_match(X509 *leaf, const struct sg_ir_cert_sel *sel)
{
	GENERAL_NAMES *gens = NULL;
	bool dns = sel->dns_names.n == 0, ip = sel->ip_addresses.n == 0;
	bool uri = sel->uri_sans.n == 0, spiffe = sel->spiffe_ids.n == 0;
	char cn[256], spki[65];
	int i, n;

	if (sel->common_names.n > 0 || sel->public_key_sha256_pins.n > 0) {
		sg_tls_cert_ident(leaf, cn, sizeof(cn), spki);
		if (sel->common_names.n > 0 && (cn[0] == '\0' ||
		    !tls_list_has(&sel->common_names, cn, strlen(cn), false)))
			return false;
		if (sel->public_key_sha256_pins.n > 0) {
			size_t k;
			bool hit = false;

			/* constant time per comparison: no early exit on bytes */
			for (k = 0; k < sel->public_key_sha256_pins.n; k++)
				if (strlen(sel->public_key_sha256_pins.v[k]) ==
				    64 && CRYPTO_memcmp(
				    sel->public_key_sha256_pins.v[k], spki,
				    64) == 0)
					hit = true;
			if (!hit)
				return false;
		}
	}
	if (dns && ip && uri && spiffe)
		return true;
	gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	n = gens != NULL ? sk_GENERAL_NAME_num(gens) : 0;
	for (i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *d;
		int l;

		switch (g->type) {
		case GEN_DNS:
			d = ASN1_STRING_get0_data(g->d.dNSName);
			l = ASN1_STRING_length(g->d.dNSName);
			if (!dns && tls_list_has(&sel->dns_names,
			    (const char *)d, (size_t)l, true))
				dns = true;
			break;
		case GEN_URI:
			d = ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
			l = ASN1_STRING_length(g->d.uniformResourceIdentifier);
			if (!uri && tls_list_has(&sel->uri_sans,
			    (const char *)d, (size_t)l, false))
				uri = true;
			if (!spiffe && tls_list_has(&sel->spiffe_ids,
			    (const char *)d, (size_t)l, false))
				spiffe = true;
			break;
		case GEN_IPADD: {
			char t[64];

			d = ASN1_STRING_get0_data(g->d.iPAddress);
			l = ASN1_STRING_length(g->d.iPAddress);
			if (l == 16 && memcmp(d, "\0\0\0\0\0\0\0\0\0\0\xff\xff",
			    12) == 0) {
				d += 12;
				l = 4;
			}
			if ((l == 4 && inet_ntop(AF_INET, d, t, sizeof(t))) ||
			    (l == 16 && inet_ntop(AF_INET6, d, t, sizeof(t)))) {
				if (!ip && tls_list_has(&sel->ip_addresses, t,
				    strlen(t), false))
					ip = true;
			}
			break;
		}
		default:
			break;
		}
	}
	GENERAL_NAMES_free(gens);
	return dns && ip && uri && spiffe;
}

static int
tls_verify_cb(int ok, X509_STORE_CTX *x)
{
	SSL *ssl;
	const struct sg_ir_cert_sel *sel;

	if (!ok || X509_STORE_CTX_get_error_depth(x) != 0)
		return ok;
	ssl = X509_STORE_CTX_get_ex_data(x,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	sel = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tls_sel_idx);
	if (sel != NULL && !sg_tls_cert_match(X509_STORE_CTX_get_current_cert(x),
	    sel)) {
		/* a verified certificate outside the listener's selectors */
		X509_STORE_CTX_set_error(x, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	return 1;
}

/* HTTP/1.1 only: refuse a client that offers ALPN without http/1.1. */
static int
tls_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned int i = 0;

	(void)ssl;
	(void)arg;
	while (i < inlen) {
		unsigned int l = in[i];

		if (i + 1 + l > inlen)
			break;
		if (l == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
			*out = in + i + 1;
			*outlen = 8;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + l;
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

SSL_CTX *
sg_tls_server_ctx(const struct sg_ir_tls_server *t, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char m[512];

	if (ctx == NULL) {
		sg_tls_errstr(NULL, err, errlen);
		return NULL;
	}
	if (tls_sel_idx == -1)
		tls_sel_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_read_ahead(ctx, 1);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_cb, NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, t->cert_file) != 1) {
		sg_tls_errstr(NULL, m, sizeof(m));
		snprintf(err, errlen, "load tls cert_file %s: %s", t->cert_file,
		    m);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, t->key_file, SSL_FILETYPE_PEM) !=
	    1 || SSL_CTX_check_private_key(ctx) != 1) {
		sg_tls_errstr(NULL, m, sizeof(m));
		snprintf(err, errlen, "load tls key_file %s: %s", t->key_file, m);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (t->client_ca_file != NULL && t->client_ca_file[0] != '\0') {
		STACK_OF(X509_NAME) *names;

		if (SSL_CTX_load_verify_locations(ctx, t->client_ca_file,
		    NULL) != 1) {
			sg_tls_errstr(NULL, m, sizeof(m));
			snprintf(err, errlen, "load tls client_ca_file %s: %s",
			    t->client_ca_file, m);
			SSL_CTX_free(ctx);
			return NULL;
		}
		names = SSL_load_client_CA_file(t->client_ca_file);
		if (names != NULL)
			SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
		    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, tls_verify_cb);
		SSL_CTX_set_ex_data(ctx, tls_sel_idx, (void *)(uintptr_t)&t->sel);
	}
	return ctx;
}
