/* SPDX-License-Identifier: MIT */
/*
 * ir_check.c: semantic checks over a lowered IR (SPEC 2.4, 2.5, 2.6.1,
 * 2.6.7, 2.7.1, 2.9, 2.10.1). Every problem is reported at once, each at
 * the location its key came from (sg_ir_loc). Also finishes the IR from
 * the text values that need validating first (enums, socket mode,
 * durations, minimum API version). Reads the upstream TLS files (PEM,
 * through OpenSSL) so `check` catches them. Owns nothing; the
 * read-exfiltration probe compiles the rules into a scratch arena it
 * frees before returning.
 */
#include <sys/socket.h>

#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cfg_int.h"
#include "sockguard/path.h"
#include "sockguard/policy.h"

#define CHECK_ID_MAX 4294967294LL /* (uid_t)-1 means "unchanged" */
#define CHECK_PEM_MAX (1u << 20)  /* certificate and key files */
/* SPEC 2.4.3, word for word (the dashes are U+2014). */
#define CHECK_PLAIN_TCP_MSG                                               \
	"non-loopback TCP listener \"%s\" requires listen.tls mutual TLS "  \
	"configuration, or \xe2\x80\x94 for legacy plaintext on a private " \
	"trusted network \xe2\x80\x94 both "                                \
	"listen.insecure_allow_plain_tcp=true and "                      \
	"listen.insecure_allow_unauthenticated_clients=true (one "       \
	"acknowledgment without the other is rejected)"

/* SPEC 2.6.7: the two ways out are both named. */
#define CHECK_EXFIL_MSG                                                   \
	"rules allow raw archive/export, log/attach streaming, or "      \
	"registry push endpoints (these can exfiltrate container files, " \
	"images, plugins, environment variables, and secrets); either "  \
	"tighten the allow rules to omit these paths or set "            \
	"insecure_allow_read_exfiltration: true to acknowledge the "     \
	"risk. Exposed endpoints: %s"

struct check_probe {
	const char *method;
	const char *path;
};

struct check_enum {
	const char *name;
	int value;
};

static void check_listener(struct sg_ir *ir, const struct sg_cfg_flat *raw,
    struct sg_diag *d);
static void check_id(const struct sg_ir *ir, const char *key, int64_t v,
    struct sg_diag *d);
static int check_hostport(const char *addr, char *host, size_t hcap);
static bool check_loopback(const char *host);
static void check_upstream(struct sg_ir *ir, const struct sg_cfg_flat *raw,
    struct sg_diag *d);
static void check_durations(struct sg_ir *ir, const struct sg_cfg_flat *raw,
    struct sg_diag *d);
static void check_endpoint(const struct sg_ir *ir, size_t i,
    const struct sg_cfg_ep_src *src, struct sg_diag *d);
static void check_endpoint_files(const struct sg_ir_endpoint *e,
    const struct sg_cfg_ep_src *src, struct sg_diag *d);
static void check_endpoint_dups(const struct sg_ir *ir,
    const struct sg_cfg_ep_src *srcs, struct sg_diag *d);
static X509 *check_pem_cert(const char *path, const char *what,
    const struct sg_loc *loc, const char *key, struct sg_diag *d);
static EVP_PKEY *check_pem_key(const char *path, const char *what,
    const struct sg_loc *loc, const char *key, struct sg_diag *d);
static char *check_slurp(const char *path, const char *what,
    const struct sg_loc *loc, const char *key, size_t *len,
    struct sg_diag *d);
static bool check_has_key_block(const char *buf);
static const char *check_ossl_reason(void);
static const struct sg_loc *check_at(const struct sg_loc *l,
    const struct sg_ir_endpoint *e);
static const char *check_locstr(const struct sg_loc *l, char *buf,
    size_t cap);
static void check_log(struct sg_ir *ir, const struct sg_cfg_flat *raw,
    struct sg_diag *d);
static bool check_log_output(const char *s);
static void check_misc(struct sg_ir *ir, const struct sg_cfg_flat *raw,
    struct sg_diag *d);
static void check_rules(const struct sg_ir *ir, struct sg_diag *d);
static void check_read_exfil(const struct sg_ir *ir, struct sg_diag *d);
static int check_enum(const struct check_enum *e, size_t n, const char *s,
    int *out);
static const struct sg_loc *check_loc(const struct sg_ir *ir,
    const char *key);

/* SPEC 2.6.7: endpoints that stream container data out of the daemon. */
static const struct check_probe check_exfil_probes[] = {
	{"GET", "/containers/sockguard-test/archive"},
	{"GET", "/containers/sockguard-test/export"},
	{"GET", "/containers/sockguard-test/logs"},
	{"GET", "/containers/sockguard-test/attach/ws"},
	{"GET", "/services/sockguard-test/logs"},
	{"GET", "/tasks/sockguard-test/logs"},
	{"POST", "/containers/sockguard-test/attach"},
	{"GET", "/images/get"},
	{"GET", "/images/sockguard-test/get"},
	{"POST", "/images/sockguard-test/push"},
	{"POST", "/plugins/sockguard-test/push"},
	{"GET", "/libpod/containers/sockguard-test/archive"},
	{"GET", "/libpod/containers/sockguard-test/export"},
	{"GET", "/libpod/containers/sockguard-test/logs"},
	{"POST", "/libpod/containers/sockguard-test/attach"},
	{"GET", "/libpod/images/export"},
	{"GET", "/libpod/images/sockguard-test/get"},
	{"POST", "/libpod/images/sockguard-test/push"},
	{"GET", "/libpod/generate/kube"},
	{"POST", "/libpod/manifests/sockguard-test/registry/sockguard-test"},
	{"POST", "/libpod/manifests/sockguard-test/push"},
};

static const struct check_enum check_levels[] = {
	{"debug", SG_LOG_DEBUG},
	{"info", SG_LOG_INFO},
	{"warn", SG_LOG_WARN},
	{"error", SG_LOG_ERROR},
};

static const struct check_enum check_formats[] = {
	{"json", SG_LOGFMT_JSON},
	{"text", SG_LOGFMT_TEXT},
};

static const struct check_enum check_verbosity[] = {
	{"minimal", SG_DENY_MINIMAL},
	{"verbose", SG_DENY_VERBOSE},
};

int
sg_ir_check(struct sg_ir *ir, const struct sg_cfg_flat *raw,
    struct sg_diag *d)
{
	size_t nerr = d->nerr;

	check_listener(ir, raw, d);
	check_upstream(ir, raw, d);
	check_log(ir, raw, d);
	check_misc(ir, raw, d);
	check_rules(ir, d);
	if (raw->rules_ok)
		check_read_exfil(ir, d);
	return d->nerr > nerr ? -1 : 0;
}

/* ---- listen (SPEC 2.4.1-2.4.3) ---- */

static void
check_listener(struct sg_ir *ir, const struct sg_cfg_flat *raw,
    struct sg_diag *d)
{
	struct sg_ir_listener *l = &ir->listeners[0];
	const char *m = raw->listen_socket_mode;
	const struct sg_loc *mloc = check_loc(ir, "listen.socket_mode");
	size_t ml;

	if (l->socket[0] == '\0' && l->address[0] == '\0') {
		const struct sg_loc *loc = check_loc(ir, "listen.socket");

		if (loc == NULL)
			loc = check_loc(ir, "listen.address");
		sg_diag_error(d, loc, "listen", "at least one listener is "
		    "required (listen.socket or listen.address)");
	}

	/* socket_mode, trimmed: "0600" or "0660" (+ socket_gid). */
	m += strspn(m, " \t\r\n");
	ml = strlen(m);
	while (ml > 0 && strchr(" \t\r\n", m[ml - 1]) != NULL)
		ml--;
	if (ml == 4 && strncmp(m, "0600", 4) == 0) {
		l->socket_mode = 0600;
	} else if (ml == 4 && strncmp(m, "0660", 4) == 0) {
		l->socket_mode = 0660;
		if (raw->listen_socket_gid == INT64_MIN)
			sg_diag_error(d, mloc, "listen.socket_mode",
			    "listen.socket_mode \"0660\" requires "
			    "listen.socket_gid to be set explicitly; omit "
			    "socket_gid and use \"0600\" for the default "
			    "owner-only mode");
	} else {
		sg_diag_error(d, mloc, "listen.socket_mode",
		    "listen.socket_mode must be \"0600\" or \"0660\" (the "
		    "latter requires listen.socket_gid), got \"%s\"",
		    raw->listen_socket_mode);
	}
	if (raw->listen_socket_uid != INT64_MIN)
		check_id(ir, "listen.socket_uid", raw->listen_socket_uid, d);
	if (raw->listen_socket_gid != INT64_MIN)
		check_id(ir, "listen.socket_gid", raw->listen_socket_gid, d);

	if (raw->listen_max_connections < 1 ||
	    raw->listen_max_connections > 1048576)
		sg_diag_error(d, check_loc(ir, "listen.max_connections"),
		    "listen.max_connections", "listen.max_connections must be "
		    "between 1 and 1048576, got %lld",
		    (long long)raw->listen_max_connections);
	else
		l->max_connections = (uint32_t)raw->listen_max_connections;

	/* TCP: the socket wins when both are set (SPEC 2.4.1). */
	if (l->socket[0] == '\0' && l->address[0] != '\0') {
		const struct sg_loc *aloc = check_loc(ir, "listen.address");
		char host[256];

		if (check_hostport(l->address, host, sizeof(host)) == -1) {
			sg_diag_error(d, aloc, "listen.address",
			    "listen.address must be host:port with a numeric "
			    "port 1-65535 (IPv6 hosts in brackets), got "
			    "\"%s\"", l->address);
		} else if (!check_loopback(host) &&
		    !(l->insecure_allow_plain_tcp &&
		    l->insecure_allow_unauthenticated_clients)) {
			sg_diag_error(d, aloc, "listen.address",
			    CHECK_PLAIN_TCP_MSG, l->address);
		}
	}
}

static void
check_id(const struct sg_ir *ir, const char *key, int64_t v,
    struct sg_diag *d)
{
	if (v < 0)
		sg_diag_error(d, check_loc(ir, key), key, "%s must be >= 0, "
		    "got %lld", key, (long long)v);
	else if (v > CHECK_ID_MAX)
		sg_diag_error(d, check_loc(ir, key), key, "%s must be <= %lld, "
		    "got %lld", key, CHECK_ID_MAX, (long long)v);
}

/* "host:port", "[v6]:port" or ":port"; numeric port 1-65535. */
static int
check_hostport(const char *addr, char *host, size_t hcap)
{
	const char *colon, *p;
	size_t hl;
	long port = 0;

	if (addr[0] == '[') {
		const char *rb = strchr(addr, ']');

		if (rb == NULL || rb[1] != ':')
			return -1;
		hl = (size_t)(rb - addr - 1);
		addr++;
		colon = rb + 1;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL)
			return -1;
		hl = (size_t)(colon - addr);
		if (memchr(addr, ':', hl) != NULL || memchr(addr, '[', hl) ||
		    memchr(addr, ']', hl))
			return -1; /* IPv6 without brackets */
	}
	if (hl >= hcap)
		return -1;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	p = colon + 1;
	if (*p == '\0' || strlen(p) > 5)
		return -1;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		port = port * 10 + (*p - '0');
	}
	return port >= 1 && port <= 65535 ? 0 : -1;
}

/* SPEC 2.4.3: "localhost", 127.0.0.0/8 or ::1 (also v4-mapped). */
static bool
check_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		    (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return false;
}

/* ---- upstream (SPEC 2.5, seed "Remote Upstreams & Failover") ---- */

static void
check_upstream(struct sg_ir *ir, const struct sg_cfg_flat *raw,
    struct sg_diag *d)
{
	const struct sg_ir_upstream *up = &ir->upstream;
	const struct sg_loc *sloc = check_loc(ir, "upstream.socket");
	char b1[512], b2[512];
	size_t i;

	check_durations(ir, raw, d);
	if (up->source == SG_EPSRC_SOCKET) {
		if (up->socket[0] == '\0')
			sg_diag_error(d, sloc, "upstream.socket", "upstream "
			    "requires either upstream.socket or at least one "
			    "upstream.endpoints entry");
		else if (up->socket[0] != '/')
			sg_diag_error(d, sloc, "upstream.socket",
			    "upstream.socket must be an absolute path, got "
			    "\"%s\"", up->socket);
		return;
	}

	/* An explicitly written socket loses: say so (SPEC 2.5.1). */
	if (sloc != NULL && up->socket[0] != '\0') {
		if (up->source == SG_EPSRC_ENDPOINTS)
			sg_diag_warn(d, sloc, "upstream.socket",
			    "upstream.socket (%s) is ignored because "
			    "upstream.endpoints (%s) is set; remove one of "
			    "them", check_locstr(sloc, b1, sizeof(b1)),
			    check_locstr(check_loc(ir, "upstream.endpoints"),
			    b2, sizeof(b2)));
		else
			sg_diag_warn(d, sloc, "upstream.socket",
			    "upstream.socket (%s) is ignored because "
			    "DOCKER_HOST (%s) names a TCP daemon; unset "
			    "DOCKER_HOST to use the socket",
			    check_locstr(sloc, b1, sizeof(b1)),
			    up->nendpoints > 0 ? up->endpoints[0].address :
			    "");
	}
	for (i = 0; i < up->nendpoints; i++) {
		struct sg_cfg_ep_src def;
		char key[48];

		if (raw->ep_src != NULL) {
			check_endpoint(ir, i, &raw->ep_src[i], d);
			continue;
		}
		/* Hand-built IR: only the endpoint's own location. */
		memset(&def, 0, sizeof(def));
		snprintf(key, sizeof(key), "upstream.endpoints[%zu]", i);
		def.key = key;
		def.addr_ok = true;
		check_endpoint(ir, i, &def, d);
	}
	if (up->source == SG_EPSRC_ENDPOINTS)
		check_endpoint_dups(ir, raw->ep_src, d);
}

/* Seed: request_timeout ""/"off" = disabled; interval ""->5s, <0 = no
 * recurring probes, 0 invalid; timeout ""->2s, positive. */
static void
check_durations(struct sg_ir *ir, const struct sg_cfg_flat *raw,
    struct sg_diag *d)
{
	struct sg_ir_upstream *up = &ir->upstream;
	const char *s;
	int64_t ns;

	s = raw->upstream_request_timeout;
	up->request_timeout_ns = 0;
	if (s != NULL && s[0] != '\0' && strcmp(s, "off") != 0) {
		if (sg_duration_parse(s, strlen(s), &ns) == 0 && ns > 0)
			up->request_timeout_ns = ns;
		else
			sg_diag_error(d, check_loc(ir,
			    "upstream.request_timeout"),
			    "upstream.request_timeout",
			    "upstream.request_timeout must be a positive "
			    "duration or \"off\" to disable, got \"%s\"", s);
	}

	s = raw->reload_debounce;
	ir->reload_debounce_ns = 250 * SG_NS_PER_MS;
	if (s != NULL && s[0] != '\0') {
		const char *k = "reload.debounce";

		if (sg_duration_parse(s, strlen(s), &ns) == -1)
			sg_diag_error(d, check_loc(ir, k), k, "reload.debounce "
			    "must be a valid Go duration string, got \"%s\"", s);
		else if (ns < 0)
			sg_diag_error(d, check_loc(ir, k), k, "reload.debounce "
			    "must be >= 0, got \"%s\"", s);
		else
			ir->reload_debounce_ns = ns;
	}

	s = raw->upstream_health_interval;
	up->health_interval_ns = 5 * SG_NS_PER_SEC;
	if (s != NULL && s[0] != '\0') {
		const char *k = "upstream.failover.health_interval";

		if (sg_duration_parse(s, strlen(s), &ns) == -1)
			sg_diag_error(d, check_loc(ir, k), k, "%s must be a Go "
			    "duration, got \"%s\"", k, s);
		else if (ns == 0)
			sg_diag_error(d, check_loc(ir, k), k, "%s must be "
			    "non-zero: use a negative duration to disable "
			    "probing, or omit it for the 5s default", k);
		else
			up->health_interval_ns = ns;
	}

	s = raw->upstream_health_timeout;
	up->health_timeout_ns = 2 * SG_NS_PER_SEC;
	if (s != NULL && s[0] != '\0') {
		const char *k = "upstream.failover.health_timeout";

		if (sg_duration_parse(s, strlen(s), &ns) == -1)
			sg_diag_error(d, check_loc(ir, k), k, "%s must be a Go "
			    "duration, got \"%s\"", k, s);
		else if (ns <= 0)
			sg_diag_error(d, check_loc(ir, k), k, "%s must be a "
			    "positive duration, got \"%s\"", k, s);
		else
			up->health_timeout_ns = ns;
	}
}

static void
check_endpoint(const struct sg_ir *ir, size_t i,
    const struct sg_cfg_ep_src *src, struct sg_diag *d)
{
	const struct sg_ir_endpoint *e = &ir->upstream.endpoints[i];
	const char *key = src->key;  /* NULL: from DOCKER_HOST */
	bool env = key == NULL;

	if (src->addr_ok && e->kind == SG_EP_UNIX) {
		const struct sg_loc *tl = src->tls.file != NULL ? &src->tls :
		    src->ca_file.file != NULL ? &src->ca_file :
		    src->cert_file.file != NULL ? &src->cert_file :
		    src->key_file.file != NULL ? &src->key_file :
		    &src->server_name;

		if (e->ca_file != NULL || e->cert_file != NULL ||
		    e->key_file != NULL || e->server_name != NULL)
			sg_diag_error(d, check_at(tl, e), key, "TLS settings "
			    "are not valid for a unix socket (remove tls from "
			    "this endpoint)");
		if (e->insecure_skip_tls_verify)
			sg_diag_error(d, check_at(&src->skip_verify, e), key,
			    "TLS settings are not valid for a unix socket: "
			    "insecure_skip_tls_verify only applies to TCP "
			    "endpoints");
		if (e->insecure_allow_plain_tcp)
			sg_diag_error(d, check_at(&src->plain_tcp, e), key,
			    "insecure_allow_plain_tcp is not valid for a unix "
			    "socket: it only applies to tcp:// endpoints");
		return;
	}

	if (src->addr_ok && !e->tls && !e->insecure_allow_plain_tcp &&
	    !src->partial)
		sg_diag_error(d, &e->loc, key, "TCP requires TLS (set "
		    "tls.ca_file/cert_file/key_file) or "
		    "insecure_allow_plain_tcp: true");
	if (e->cert_file != NULL && e->key_file == NULL)
		sg_diag_error(d, check_at(&src->cert_file, e), key,
		    "tls.cert_file is set without tls.key_file: the client "
		    "certificate and its private key must be set together");
	if (e->key_file != NULL && e->cert_file == NULL)
		sg_diag_error(d, check_at(&src->key_file, e), key,
		    "tls.key_file is set without tls.cert_file: the client "
		    "certificate and its private key must be set together");

	/* DOCKER_* rows were warned about where they were read. */
	if (src->addr_ok && !env) {
		if (e->insecure_allow_plain_tcp && !e->tls)
			sg_diag_warn(d, check_at(&src->plain_tcp, e), key,
			    "%s uses plaintext TCP (insecure_allow_plain_tcp): "
			    "the Docker API crosses the network unencrypted "
			    "and unauthenticated; use it only on a private, "
			    "trusted network", e->address);
		else if (e->insecure_allow_plain_tcp)
			sg_diag_warn(d, check_at(&src->plain_tcp, e), key,
			    "insecure_allow_plain_tcp has no effect: TLS is "
			    "configured for %s", e->address);
		if (e->insecure_skip_tls_verify)
			sg_diag_warn(d, check_at(&src->skip_verify, e), key,
			    "%s: insecure_skip_tls_verify: the daemon's server "
			    "certificate is not verified, so anyone on the path "
			    "can impersonate it; prefer tls.ca_file",
			    e->address);
		if (e->insecure_skip_tls_verify && e->ca_file != NULL)
			sg_diag_warn(d, check_at(&src->ca_file, e), key,
			    "tls.ca_file is not used because "
			    "insecure_skip_tls_verify is true");
		if (e->server_name != NULL && !e->tls)
			sg_diag_warn(d, check_at(&src->server_name, e), key,
			    "tls.server_name has no effect on a plaintext "
			    "endpoint");
	}
	check_endpoint_files(e, src, d);
}

/* At config time, so `sockguard check` catches them. */
static void
check_endpoint_files(const struct sg_ir_endpoint *e,
    const struct sg_cfg_ep_src *src, struct sg_diag *d)
{
	bool env = src->key == NULL;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;

	if (e->ca_file != NULL) {
		x = check_pem_cert(e->ca_file, env ? "ca.pem from "
		    "DOCKER_CERT_PATH" : "tls.ca_file",
		    check_at(&src->ca_file, e), src->key, d);
		X509_free(x);
		x = NULL;
	}
	if (e->cert_file != NULL)
		x = check_pem_cert(e->cert_file, env ? "cert.pem from "
		    "DOCKER_CERT_PATH" : "tls.cert_file",
		    check_at(&src->cert_file, e), src->key, d);
	if (e->key_file != NULL)
		k = check_pem_key(e->key_file, env ? "key.pem from "
		    "DOCKER_CERT_PATH" : "tls.key_file",
		    check_at(&src->key_file, e), src->key, d);
	if (x != NULL && k != NULL && X509_check_private_key(x, k) != 1)
		sg_diag_error(d, check_at(&src->key_file, e), src->key,
		    "%s \"%s\" does not match %s \"%s\": the private key is "
		    "not the certificate's key", env ? "key.pem" :
		    "tls.key_file", e->key_file, env ? "cert.pem" :
		    "tls.cert_file", e->cert_file);
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(k);
}

/* The same daemon listed twice is harmless but gains nothing. */
static void
check_endpoint_dups(const struct sg_ir *ir, const struct sg_cfg_ep_src *srcs,
    struct sg_diag *d)
{
	const struct sg_ir_upstream *up = &ir->upstream;
	size_t i, j;

	for (i = 1; i < up->nendpoints; i++) {
		const struct sg_ir_endpoint *a = &up->endpoints[i];

		if (srcs != NULL && !srcs[i].addr_ok)
			continue;
		for (j = 0; j < i; j++) {
			const struct sg_ir_endpoint *b = &up->endpoints[j];
			bool same;

			if ((srcs != NULL && !srcs[j].addr_ok) ||
			    a->kind != b->kind)
				continue;
			same = a->kind == SG_EP_UNIX ?
			    strcmp(a->path, b->path) == 0 :
			    strcasecmp(a->host, b->host) == 0 &&
			    strcmp(a->port, b->port) == 0;
			if (!same)
				continue;
			sg_diag_warn(d, srcs != NULL ? &srcs[i].address :
			    &a->loc, srcs != NULL ? srcs[i].key : NULL,
			    "%s is the same endpoint as "
			    "upstream.endpoints[%zu]; failing over to it gains "
			    "nothing", a->address, j);
			break;
		}
	}
}

/* The first certificate of a PEM file with at least one (caller frees). */
static X509 *
check_pem_cert(const char *path, const char *what, const struct sg_loc *loc,
    const char *key, struct sg_diag *d)
{
	X509 *first = NULL, *x;
	unsigned long err;
	size_t len, n = 0;
	char *buf = check_slurp(path, what, loc, key, &len, d);
	BIO *b;

	if (buf == NULL)
		return NULL;
	b = BIO_new_mem_buf(buf, (int)len);
	ERR_clear_error();
	while (b != NULL && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) !=
	    NULL) {
		if (first == NULL)
			first = x;
		else
			X509_free(x);
		n++;
	}
	/* Reading stops at the end of the data with "no start line". */
	err = ERR_peek_last_error();
	if (b == NULL || (err != 0 && !(ERR_GET_LIB(err) == ERR_LIB_PEM &&
	    ERR_GET_REASON(err) == PEM_R_NO_START_LINE))) {
		sg_diag_error(d, loc, key, "%s \"%s\": invalid PEM "
		    "certificate: %s", what, path, check_ossl_reason());
		X509_free(first);
		first = NULL;
	} else if (n == 0) {
		sg_diag_error(d, loc, key, "%s \"%s\" contains no PEM "
		    "certificate (expected at least one -----BEGIN "
		    "CERTIFICATE----- block)", what, path);
	}
	ERR_clear_error();
	BIO_free(b);
	free(buf);
	return first;
}

/* Never prompt for a passphrase. */
static int
check_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* A "-----BEGIN ...PRIVATE KEY-----" line (PKCS#8, RSA, EC, ...). */
static bool
check_has_key_block(const char *buf)
{
	const char *p = buf;

	while ((p = strstr(p, "-----BEGIN ")) != NULL) {
		size_t n = strcspn(p, "\r\n");

		if (n >= 22 && strncmp(p + n - 16, "PRIVATE KEY-----", 16) ==
		    0)
			return true;
		p += n;
	}
	return false;
}

static EVP_PKEY *
check_pem_key(const char *path, const char *what, const struct sg_loc *loc,
    const char *key, struct sg_diag *d)
{
	EVP_PKEY *k = NULL;
	size_t len;
	char *buf = check_slurp(path, what, loc, key, &len, d);
	BIO *b;

	if (buf == NULL)
		return NULL;
	b = BIO_new_mem_buf(buf, (int)len);
	ERR_clear_error();
	if (b != NULL)
		k = PEM_read_bio_PrivateKey(b, NULL, check_no_passphrase,
		    NULL);
	if (k == NULL) {
		if (strstr(buf, "ENCRYPTED") != NULL)
			sg_diag_error(d, loc, key, "%s \"%s\" is an encrypted "
			    "private key; sockguard cannot ask for a "
			    "passphrase, so store it unencrypted (openssl "
			    "pkey -in KEY -out PLAIN)", what, path);
		else if (!check_has_key_block(buf))
			sg_diag_error(d, loc, key, "%s \"%s\" contains no PEM "
			    "private key (expected a -----BEGIN PRIVATE "
			    "KEY----- block)", what, path);
		else
			sg_diag_error(d, loc, key, "%s \"%s\": invalid PEM "
			    "private key: %s", what, path,
			    strcmp(check_ossl_reason(), "unsupported") == 0 ?
			    "malformed or unsupported key data" :
			    check_ossl_reason());
	}
	ERR_clear_error();
	BIO_free(b);
	free(buf);
	return k;
}

/* The whole (small) file, NUL-terminated; NULL after reporting why. */
static char *
check_slurp(const char *path, const char *what, const struct sg_loc *loc,
    const char *key, size_t *len, struct sg_diag *d)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1)
		goto fail;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		sg_diag_error(d, loc, key, "cannot read %s \"%s\": not a "
		    "regular file", what, path);
		close(fd);
		return NULL;
	}
	if (st.st_size > (off_t)CHECK_PEM_MAX) {
		sg_diag_error(d, loc, key, "cannot read %s \"%s\": larger "
		    "than %u bytes", what, path, CHECK_PEM_MAX);
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		goto fail;
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	err = errno;
	if (fd != -1)
		close(fd);
	free(buf);
	sg_diag_error(d, loc, key, "cannot read %s \"%s\": %s", what, path,
	    strerror(err));
	return NULL;
}

static const char *
check_ossl_reason(void)
{
	/* The earliest error is the specific one ("wrong tag"); later
	 * ones only say which layer gave up ("ASN1 lib"). */
	unsigned long e = ERR_peek_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	return r != NULL ? r : "malformed data";
}

/* l when it was recorded, else the endpoint's own location. */
static const struct sg_loc *
check_at(const struct sg_loc *l, const struct sg_ir_endpoint *e)
{
	return l->file != NULL ? l : &e->loc;
}

static const char *
check_locstr(const struct sg_loc *l, char *buf, size_t cap)
{
	if (l == NULL || l->file == NULL)
		snprintf(buf, cap, "default");
	else if (l->line == 0)
		snprintf(buf, cap, "%s", l->file);
	else
		snprintf(buf, cap, "%s:%u:%u", l->file, l->line,
		    l->col ? l->col : 1);
	return buf;
}

/* ---- log (SPEC 2.9.1, 2.9.4) ---- */

static void
check_log(struct sg_ir *ir, const struct sg_cfg_flat *raw, struct sg_diag *d)
{
	int v;

	if (check_enum(check_levels, SG_ARRAY_LEN(check_levels),
	    raw->log_level, &v) == 0)
		ir->log.level = (enum sg_log_level)v;
	else
		sg_diag_error(d, check_loc(ir, "log.level"), "log.level",
		    "log.level must be debug, info, warn, or error, got \"%s\"",
		    raw->log_level);
	if (check_enum(check_formats, SG_ARRAY_LEN(check_formats),
	    raw->log_format, &v) == 0)
		ir->log.format = (enum sg_log_format)v;
	else
		sg_diag_error(d, check_loc(ir, "log.format"), "log.format",
		    "log.format must be json or text, got \"%s\"",
		    raw->log_format);
	if (!check_log_output(ir->log.output))
		sg_diag_error(d, check_loc(ir, "log.output"), "log.output",
		    "invalid log output \"%s\" (must be stderr, stdout, or a "
		    "local file path)", ir->log.output);
	if (strcmp(raw->log_audit_format, "json") != 0)
		sg_diag_error(d, check_loc(ir, "log.audit.format"),
		    "log.audit.format", "log.audit.format must be json, got "
		    "\"%s\"", raw->log_audit_format);
	if (!check_log_output(ir->log.audit_output))
		sg_diag_error(d, check_loc(ir, "log.audit.output"),
		    "log.audit.output", "log.audit.output: invalid log output "
		    "\"%s\" (must be stderr, stdout, or a local file path)",
		    ir->log.audit_output);
}

/*
 * stderr, stdout, or a file path: absolute, or relative and not leaving
 * the working directory after a lexical clean (SPEC 2.9.1, 9.3).
 */
static bool
check_log_output(const char *s)
{
	const char *p = s;
	long depth = 0;

	if (strcmp(s, "stderr") == 0 || strcmp(s, "stdout") == 0)
		return true;
	while (*p != '\0') {
		size_t n;

		p += strspn(p, "/");
		n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (depth == 0 && s[0] != '/')
				return false; /* escapes the directory */
			if (depth > 0)
				depth--;
		} else if (!(n == 1 && p[0] == '.')) {
			depth++;
		}
		p += n;
	}
	return depth > 0;
}

/* ---- response, health, min_api_version ---- */

static void
check_misc(struct sg_ir *ir, const struct sg_cfg_flat *raw, struct sg_diag *d)
{
	const char *s = raw->min_api_version, *dot;
	int v;

	if (check_enum(check_verbosity, SG_ARRAY_LEN(check_verbosity),
	    raw->deny_verbosity, &v) == 0)
		ir->deny_verbosity = (enum sg_deny_verbosity)v;
	else
		sg_diag_error(d, check_loc(ir, "response.deny_verbosity"),
		    "response.deny_verbosity", "response.deny_verbosity must "
		    "be minimal or verbose, got \"%s\"", raw->deny_verbosity);

	if (ir->health_path[0] != '/')
		sg_diag_error(d, check_loc(ir, "health.path"), "health.path",
		    "health.path must start with /, got \"%s\"",
		    ir->health_path);

	dot = strchr(s, '.');
	if (dot != NULL && dot > s && dot - s <= 4 && dot[1] != '\0' &&
	    strlen(dot + 1) <= 4 && strspn(s, "0123456789") == (size_t)(dot - s)
	    && strspn(dot + 1, "0123456789") == strlen(dot + 1)) {
		ir->min_api_major = (unsigned)strtoul(s, NULL, 10);
		ir->min_api_minor = (unsigned)strtoul(dot + 1, NULL, 10);
	} else {
		sg_diag_error(d, check_loc(ir, "min_api_version"),
		    "min_api_version", "min_api_version must be MAJOR.MINOR "
		    "(for example \"1.24\"), got \"%s\"", s);
	}
}

/* ---- rules (SPEC 2.6.1) ---- */

static void
check_rules(const struct sg_ir *ir, struct sg_diag *d)
{
	size_t i;

	for (i = 0; i < ir->nrules; i++) {
		const struct sg_ir_rule *r = &ir->rules[i];
		size_t len = strlen(r->path);
		struct sg_path_ver ver;
		char key[32], *out;

		snprintf(key, sizeof(key), "rules[%zu]", i);
		if (strchr(r->path, '%') != NULL) {
			sg_diag_error(d, &r->loc, key, "match.path \"%s\" "
			    "contains a literal '%%'; sockguard matches the "
			    "path as the daemon routes it (decoded once at the "
			    "HTTP layer), so a '%%XX' here matches only a "
			    "doubly-encoded request and never normal traffic; "
			    "write the decoded form", r->path);
			continue;
		}
		if (len > 0 && r->path[0] != '/') {
			sg_diag_warn(d, &r->loc, key, "match.path \"%s\" does "
			    "not start with '/' and never matches a request "
			    "path; write it as \"/%s\"", r->path, r->path);
			continue;
		}
		out = malloc(len + 1);
		if (out == NULL)
			continue;
		memset(&ver, 0, sizeof(ver));
		sg_path_canon(r->path, len, out, &ver);
		if (ver.present)
			sg_diag_warn(d, &r->loc, key, "match.path \"%s\" "
			    "begins with an API version prefix; sockguard "
			    "strips one version prefix from the request path "
			    "before matching, so this pattern never matches "
			    "real traffic; write it without the /vN... prefix",
			    r->path);
		free(out);
	}
}

/* ---- SPEC 2.6.7: read-exfiltration startup probe ---- */

static void
check_read_exfil(const struct sg_ir *ir, struct sg_diag *d)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_policy *p;
	const char *list = NULL;
	int first = -1;
	size_t i;

	p = sg_policy_compile(a, ir->rules, ir->nrules, d);
	if (p == NULL) {
		sg_arena_free(a);
		return;
	}
	for (i = 0; i < SG_ARRAY_LEN(check_exfil_probes); i++) {
		const struct check_probe *pr = &check_exfil_probes[i];
		struct sg_verdict v;

		sg_policy_eval(p, pr->method, strlen(pr->method), pr->path,
		    strlen(pr->path), &v);
		if (v.action != SG_ACTION_ALLOW)
			continue;
		if (first == -1)
			first = v.rule;
		list = list == NULL ? sg_arena_printf(a, "%s %s", pr->method,
		    pr->path) : sg_arena_printf(a, "%s, %s %s", list,
		    pr->method, pr->path);
	}
	if (list != NULL) {
		char key[32];
		const struct sg_loc *loc = first >= 0 &&
		    (size_t)first < ir->nrules ? &ir->rules[first].loc :
		    check_loc(ir, "rules");

		if (first >= 0)
			snprintf(key, sizeof(key), "rules[%d]", first);
		else
			snprintf(key, sizeof(key), "rules");
		if (!ir->insecure_allow_read_exfiltration)
			sg_diag_error(d, loc, key, CHECK_EXFIL_MSG, list);
		else
			sg_diag_warn(d, check_loc(ir,
			    "insecure_allow_read_exfiltration"),
			    "insecure_allow_read_exfiltration",
			    "insecure_allow_read_exfiltration is enabled and "
			    "the rules allow: %s", list);
	}
	sg_arena_free(a);
}

/* ---- helpers ---- */

static int
check_enum(const struct check_enum *e, size_t n, const char *s, int *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(e[i].name, s) == 0) {
			*out = e[i].value;
			return 0;
		}
	}
	return -1;
}

static const struct sg_loc *
check_loc(const struct sg_ir *ir, const char *key)
{
	return sg_ir_loc(ir, key);
}
