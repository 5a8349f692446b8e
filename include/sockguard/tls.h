/* SPDX-License-Identifier: MIT */
/*
 * tls.h: OpenSSL glue for TLS hops. Client contexts for upstream
 * endpoints (TLS >= 1.2, verification against ca_file or the system
 * roots, optional client certificate, hostname/IP verification, SNI) and
 * non-blocking I/O helpers that report which direction OpenSSL waits for,
 * so the event loop can track TLS readiness separately from the socket's.
 */
#ifndef SOCKGUARD_TLS_H
#define SOCKGUARD_TLS_H

#include <sys/types.h>

#include <openssl/ssl.h>

#include "sockguard/common.h"
#include "sockguard/ir.h"

/* OpenSSL's error queue (and a verify result) as one line. */
void sg_tls_errstr(SSL *ssl, char *buf, size_t cap);

/* A client context for one endpoint; NULL with err on failure. */
SSL_CTX *sg_tls_client_ctx(const struct sg_ir_endpoint *e, char *err,
    size_t errlen);

/*
 * A client session on a connected (or connecting) fd: SNI and the name
 * to verify are `server_name`, else the address host (IP SAN for IPs).
 */
SSL *sg_tls_client_new(SSL_CTX *ctx, int fd, const struct sg_ir_endpoint *e,
    char *err, size_t errlen);

/* What OpenSSL waits for after an SG_AGAIN. */
#define SG_TLS_WANT_READ  0x1u
#define SG_TLS_WANT_WRITE 0x2u

/* SG_OK done, SG_AGAIN (see *want), SG_ERR (err filled). */
enum sg_rc sg_tls_handshake(SSL *ssl, unsigned *want, char *err,
    size_t errlen);

/* n > 0 bytes, 0 clean EOF, -1 would block (*want), -2 error. */
ssize_t sg_tls_read(SSL *ssl, void *p, size_t n, unsigned *want);
ssize_t sg_tls_write(SSL *ssl, const void *p, size_t n, unsigned *want);

/* ---- server side ---- */

/*
 * A TLS listener context: TLS 1.3 minimum, ALPN http/1.1 only, no
 * renegotiation, no session resumption (no tickets, no cache: every
 * connection is a full handshake); with client_ca_file a verified
 * client certificate is required and must match the listener's
 * selectors (else the handshake fails: no HTTP response, nothing
 * reaches the daemon).
 */
SSL_CTX *sg_tls_server_ctx(const struct sg_ir_tls_server *t, char *err,
    size_t errlen);
/*
 * Selectors of SPEC 2.4.4 / 3.8 over a leaf: AND across, OR within.
 * common_names compare the whole trimmed CN, bytes and length; a subject
 * with more than one CN, or a CN holding a NUL byte, matches none.
 */
bool sg_tls_cert_match(X509 *leaf, const struct sg_ir_cert_sel *sel);
/*
 * For logs: the subject CNs (trimmed; "\\", "\xNN" for control bytes,
 * "\," between CNs, ending "\..." when cut to cncap) and the SHA-256
 * of the SubjectPublicKeyInfo in hex.
 */
void sg_tls_cert_ident(X509 *leaf, char *cn, size_t cncap, char spki[65]);

#endif
