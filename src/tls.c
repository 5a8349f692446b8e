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
			/* DNS SANs only, as Go: a subject CN never names
			 * the server, also without a SAN extension */
			X509_VERIFY_PARAM_set_hostflags(vp,
			    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
			    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
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

/* Whether s[0..n) equals an entry, byte for byte (as the reference). */
static bool
tls_list_has(const struct sg_ir_strlist *l, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strlen(l->v[i]) == n && memcmp(l->v[i], s, n) == 0)
			return true;
	return false;
}

static void
tls_cn_trim(const unsigned char *u, size_t n, size_t *a, size_t *b)
{
	*a = 0;
	*b = n;
	while (*a < *b && (u[*a] == ' ' || u[*a] == '\t'))
		(*a)++;
	while (*b > *a && (u[*b - 1] == ' ' || u[*b - 1] == '\t'))
		(*b)--;
}

/*
 * The trimmed subject CN for common_names, as UTF-8 bytes with their
 * length in *u (freed by the caller) from *a to *b. False, so that no
 * selector matches, unless the subject has exactly one CN, it converts,
 * it holds no NUL byte and it is not empty.
 */
static bool
tls_cn_one(X509 *leaf, unsigned char **u, size_t *a, size_t *b)
{
	X509_NAME *sub = X509_get_subject_name(leaf);
	int i, ul;

	*u = NULL;
	if (sub == NULL ||
	    (i = X509_NAME_get_index_by_NID(sub, NID_commonName, -1)) < 0 ||
	    X509_NAME_get_index_by_NID(sub, NID_commonName, i) >= 0)
		return false;
	ul = ASN1_STRING_to_UTF8(u, X509_NAME_ENTRY_get_data(
	    X509_NAME_get_entry(sub, i)));
	if (ul < 0) {
		*u = NULL;
		return false;
	}
	if (memchr(*u, '\0', (size_t)ul) != NULL)
		return false;
	tls_cn_trim(*u, (size_t)ul, a, b);
	return *a < *b;
}

static void
tls_spki(X509 *leaf, char spki[65])
{
	unsigned char *der = NULL, md[32];
	int len;

	spki[0] = '\0';
	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &der);
	if (len > 0) {
		unsigned int ml = 0;

		if (EVP_Digest(der, (size_t)len, md, &ml, EVP_sha256(), NULL) ==
		    1 && ml == 32)
			tls_hex(md, 32, spki);
		OPENSSL_free(der);
	}
}

/* Escaped text of the subject CNs for logs; pass 1 only counts. */
struct tls_esc {
	char *p;    /* NULL: count only */
	size_t lim; /* bytes p may take, the NUL excluded */
	size_t o;   /* bytes written (or counted) */
	size_t seq; /* where the last UTF-8 sequence started */
	bool full;
};

static void
tls_esc_put(struct tls_esc *w, const char *u, size_t n, bool cont)
{
	if (w->full)
		return;
	if (w->o + n > w->lim) {
		w->full = true;
		if (cont)
			w->o = w->seq; /* no half UTF-8 sequence */
		return;
	}
	if (!cont)
		w->seq = w->o;
	if (w->p != NULL)
		memcpy(w->p + w->o, u, n);
	w->o += n;
}

/*
 * Every CN of the subject, trimmed, in order: "\\" for a backslash,
 * "\xNN" for control bytes (NUL included), "\," between two CNs and
 * "\?" for a CN that does not convert to UTF-8.
 */
static void
tls_esc_cns(X509_NAME *sub, struct tls_esc *w)
{
	static const char hex[] = "0123456789abcdef";
	int i = -1, k = 0;

	while ((i = X509_NAME_get_index_by_NID(sub, NID_commonName, i)) >= 0) {
		unsigned char *u = NULL;
		int ul = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(sub, i)));
		size_t a = 0, b;

		if (k++ > 0)
			tls_esc_put(w, "\\,", 2, false);
		if (ul < 0) {
			tls_esc_put(w, "\\?", 2, false);
			continue;
		}
		tls_cn_trim(u, (size_t)ul, &a, &b);
		for (; a < b; a++) {
			unsigned char c = u[a];
			char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};

			if (c == '\\')
				tls_esc_put(w, "\\\\", 2, false);
			else if (c < 0x20 || c == 0x7f)
				tls_esc_put(w, e, 4, false);
			else
				tls_esc_put(w, (const char *)&u[a], 1,
				    (c & 0xc0) == 0x80);
		}
		OPENSSL_free(u);
	}
}

void
sg_tls_cert_ident(X509 *leaf, char *cn, size_t cncap, char spki[65])
{
	static const char cut[] = "\\...";
	X509_NAME *sub = X509_get_subject_name(leaf);
	struct tls_esc w = {NULL, SIZE_MAX, 0, 0, false};

	cn[0] = '\0';
	if (sub != NULL && cncap > sizeof(cut)) {
		tls_esc_cns(sub, &w);
		if (w.o < cncap) {
			w = (struct tls_esc){cn, cncap - 1, 0, 0, false};
			tls_esc_cns(sub, &w);
		} else {
			/* too long: cut visibly, never a plausible CN */
			w = (struct tls_esc){cn, cncap - sizeof(cut), 0, 0,
			    false};
			tls_esc_cns(sub, &w);
			memcpy(cn + w.o, cut, sizeof(cut) - 1);
			w.o += sizeof(cut) - 1;
		}
		cn[w.o] = '\0';
	}
	tls_spki(leaf, spki);
}

bool
sg_tls_cert_match(X509 *leaf, const struct sg_ir_cert_sel *sel)
{
	GENERAL_NAMES *gens = NULL;
	bool dns = sel->dns_names.n == 0, ip = sel->ip_addresses.n == 0;
	bool uri = sel->uri_sans.n == 0, spiffe = sel->spiffe_ids.n == 0;
	char spki[65];
	int i, n;

	if (sel->common_names.n > 0) {
		unsigned char *u;
		size_t a, b;
		bool hit = tls_cn_one(leaf, &u, &a, &b) &&
		    tls_list_has(&sel->common_names, (const char *)u + a, b - a);

		OPENSSL_free(u);
		if (!hit)
			return false;
	}
	if (sel->public_key_sha256_pins.n > 0) {
		size_t k;
		bool hit = false;

		tls_spki(leaf, spki);
		/* constant time per comparison: no early exit on bytes */
		for (k = 0; k < sel->public_key_sha256_pins.n; k++)
			if (strlen(sel->public_key_sha256_pins.v[k]) == 64 &&
			    CRYPTO_memcmp(sel->public_key_sha256_pins.v[k], spki,
			    64) == 0)
				hit = true;
		if (!hit)
			return false;
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
			    (const char *)d, (size_t)l))
				dns = true;
			break;
		case GEN_URI:
			d = ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
			l = ASN1_STRING_length(g->d.uniformResourceIdentifier);
			if (!uri && tls_list_has(&sel->uri_sans,
			    (const char *)d, (size_t)l))
				uri = true;
			if (!spiffe && tls_list_has(&sel->spiffe_ids,
			    (const char *)d, (size_t)l))
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
				    strlen(t)))
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
	/*
	 * No resumption: no tickets and no session cache, so every
	 * connection is a full handshake that verifies the client
	 * certificate against the current CA and selectors (a resumed
	 * session would also need a session id context).
	 */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
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
