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
#include <ctype.h>
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
	"non-loopback TCP listener \"%s\" requires %s.tls mutual TLS "      \
	"configuration, or \xe2\x80\x94 for legacy plaintext on a private " \
	"trusted network \xe2\x80\x94 both "                                \
	"%s.insecure_allow_plain_tcp=true and "                          \
	"%s.insecure_allow_unauthenticated_clients=true (one "           \
	"acknowledgment without the other is rejected)"
#define CHECK_MAX_LISTENERS 32

/* SPEC 2.6.7, for a client profile: the flag is global. */
#define CHECK_EXFIL_PROFILE_MSG                                           \
	"client profile \"%s\" rules allow raw archive/export, log/attach " \
	"streaming, or registry push endpoints (these can exfiltrate "     \
	"container files, images, plugins, environment variables, and "    \
	"secrets); either tighten the profile's allow rules to omit these " \
	"paths or set insecure_allow_read_exfiltration: true to "          \
	"acknowledge the risk (a global setting: it acknowledges it for "   \
	"the top-level rules and every profile). Exposed endpoints: %s"

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

/* Where a client assignment was written, with room for the key a
 * hand-built IR (no sources) gets. */
struct check_asrc {
	struct sg_cfg_assign_src src;
	char key[96];
};

/* The values a duration key refuses besides text that does not parse. */
enum check_dur_rule {
	CHECK_DUR_NONNEG,   /* negative */
	CHECK_DUR_NONZERO,  /* zero (negative disables health probes) */
	CHECK_DUR_POSITIVE, /* zero and negative */
};

static void check_listeners(struct sg_ir *ir, const struct sg_cfg_flat *raw,
    struct sg_diag *d);
static void check_listener(struct sg_ir_listener *l,
    const struct sg_cfg_lst_src *s, struct sg_diag *d);
static void check_socket_mode(struct sg_ir_listener *l,
    const struct sg_cfg_lst_src *s, struct sg_diag *d);
static void check_id(const struct sg_cfg_lst_src *s, const char *field,
    int64_t v, const struct sg_loc *loc, struct sg_diag *d);
static void check_listener_tcp(const struct sg_ir_listener *l,
    const struct sg_cfg_lst_src *s, struct sg_diag *d);
static void check_listener_tls_files(const struct sg_ir_tls_server *t,
    const struct sg_cfg_lst_src *s, struct sg_diag *d);
static void check_named_listeners(struct sg_ir *ir,
    const struct sg_cfg_flat *raw, struct sg_diag *d);
static void check_allowed_profiles(const struct sg_ir *ir,
    const struct sg_ir_listener *l, const struct sg_cfg_lst_src *s,
    struct sg_diag *d);
static void check_bind_targets(const struct sg_ir *ir,
    const struct sg_cfg_lst_src *srcs, struct sg_diag *d);
static bool check_path_same(const char *a, const char *b);
static void check_bind_clash(const struct sg_cfg_lst_src *srcs, size_t i,
    size_t j, const char *field, const struct sg_loc *loc, const char *va,
    const char *vb, struct sg_diag *d);
static void check_clients(struct sg_ir *ir, const struct sg_cfg_flat *raw,
    struct sg_diag *d);
static void check_client_listeners(const struct sg_ir *ir,
    struct sg_diag *d);
static void check_default_admitted(const struct sg_ir *ir,
    struct sg_diag *d);
static char *check_read(const char *path, size_t *len, char *why,
    size_t whycap);
static int check_hostport(const char *addr, char *host, size_t hcap);
static bool check_loopback(const char *host);
static void check_upstream(struct sg_ir *ir, const struct sg_cfg_flat *raw,
    struct sg_diag *d);
static void check_durations(struct sg_ir *ir, const struct sg_cfg_flat *raw,
    struct sg_diag *d);
static void check_duration(const struct sg_ir *ir, const char *k,
    const char *s, int64_t def, enum check_dur_rule rule, int64_t *out,
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
static void check_rules(const struct sg_ir_rule *rules, size_t n,
    const char *prefix, struct sg_diag *d);
static void check_read_exfil(const struct sg_ir *ir,
    const struct sg_ir_rule *rules, size_t n, const char *prefix,
    const char *profile, struct sg_diag *d);
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

/* Writes whose request body decides what the daemon does. */
static const struct check_probe check_body_probes[] = {
	{"POST", "/containers/create"},
	{"POST", "/containers/sockguard-test/update"},
	{"POST", "/containers/sockguard-test/exec"},
	{"POST", "/exec/sockguard-test/start"},
	{"PUT", "/containers/sockguard-test/archive"},
	{"POST", "/images/create"},
	{"POST", "/images/load"},
	{"POST", "/build"},
	{"POST", "/plugins/pull"},
	{"POST", "/services/create"},
	{"POST", "/volumes/create"},
	{"POST", "/networks/create"},
	{"POST", "/swarm/init"},
};

/* BuildKit tunnels: h2c upgrades that carry a build's gRPC calls */
static const struct check_probe check_buildkit_probes[] = {
	{"POST", "/session"},
	{"POST", "/grpc"},
	{"POST", "/moby.buildkit.v1.Control/Solve"},
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
	size_t nerr = d->nerr, i;

	check_listeners(ir, raw, d);
	check_upstream(ir, raw, d);
	check_log(ir, raw, d);
	check_misc(ir, raw, d);
	check_clients(ir, raw, d);
	check_rules(ir->rules, ir->nrules, "rules", d);
	if (raw->rules_ok)
		check_read_exfil(ir, ir->rules, ir->nrules, "rules", NULL, d);
	/* SPEC 2.6.7: the probes run over each profile's rules too. */
	for (i = 0; i < ir->clients.nprofiles; i++) {
		const struct sg_ir_profile *p = &ir->clients.profiles[i];
		char key[64];

		snprintf(key, sizeof(key), "clients.profiles[%zu].rules", i);
		check_rules(p->rules, p->nrules, key, d);
		if ((raw->cl_src == NULL || raw->cl_src->profiles[i].rules_ok) &&
		    p->nrules > 0)
			check_read_exfil(ir, p->rules, p->nrules, key,
			    p->name, d);
	}
	return d->nerr > nerr ? -1 : 0;
}

/* ---- listeners (SPEC 2.4) ---- */

/* A location for l, or NULL when it was not recorded. */
static const struct sg_loc *
check_l(const struct sg_loc *l)
{
	return l != NULL && l->file != NULL ? l : NULL;
}

/* The recorded location of key, else the zero location. */
static struct sg_loc
check_kloc(const struct sg_ir *ir, const char *key)
{
	const struct sg_loc *l = check_loc(ir, key);
	struct sg_loc z = {NULL, 0, 0};

	return l != NULL ? *l : z;
}

/*
 * The legacy listen: block as a listener source: text values from the
 * flat values (authoritative for it), locations from the key table.
 */
static void
check_legacy_src(const struct sg_ir *ir, const struct sg_cfg_flat *raw,
    struct sg_cfg_lst_src *s)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	s->key = s->label = "listen";
	s->item = check_kloc(ir, "listen");
	s->socket = check_kloc(ir, "listen.socket");
	s->address = check_kloc(ir, "listen.address");
	s->socket_mode = check_kloc(ir, "listen.socket_mode");
	s->socket_uid = check_kloc(ir, "listen.socket_uid");
	s->socket_gid = check_kloc(ir, "listen.socket_gid");
	s->max_connections = check_kloc(ir, "listen.max_connections");
	s->plain_tcp = check_kloc(ir, "listen.insecure_allow_plain_tcp");
	s->unauth = check_kloc(ir,
	    "listen.insecure_allow_unauthenticated_clients");
	s->cert_file = check_kloc(ir, "listen.tls.cert_file");
	s->key_file = check_kloc(ir, "listen.tls.key_file");
	s->client_ca_file = check_kloc(ir, "listen.tls.client_ca_file");
	s->tls = check_kloc(ir, "listen.tls");
	for (i = 0; s->tls.file == NULL && i < ir->nkeylocs; i++)
		if (strncmp(ir->keylocs[i].key, "listen.tls.", 11) == 0)
			s->tls = ir->keylocs[i].loc; /* e.g. from the env */
	s->socket_mode_text = raw->listen_socket_mode;
	s->socket_uid_v = raw->listen_socket_uid;
	s->socket_gid_v = raw->listen_socket_gid;
	s->max_connections_v = raw->listen_max_connections;
}

/* A listeners[] entry of a hand-built IR: only its own location. */
static void
check_named_src(const struct sg_ir_listener *l, size_t i, char *key,
    char *label, char *mode, size_t cap, struct sg_cfg_lst_src *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(key, cap, "listeners[%zu]", i);
	if (l->name != NULL && l->name[0] != '\0')
		snprintf(label, cap, "listeners[%s]", l->name);
	else
		snprintf(label, cap, "%s", key);
	s->key = key;
	s->label = label;
	s->item = s->name = s->socket = s->address = s->socket_mode =
	    s->socket_uid = s->socket_gid = s->max_connections = s->tls =
	    s->cert_file = s->key_file = s->client_ca_file =
	    s->allowed_profiles = l->loc;
	snprintf(mode, cap, "%04o", l->socket_mode & 07777u);
	s->socket_mode_text = mode;
	s->socket_uid_v = l->socket_uid < 0 ? INT64_MIN : l->socket_uid;
	s->socket_gid_v = l->socket_gid < 0 ? INT64_MIN : l->socket_gid;
	s->max_connections_v = l->max_connections;
}

static void
check_listeners(struct sg_ir *ir, const struct sg_cfg_flat *raw,
    struct sg_diag *d)
{
	struct sg_cfg_lst_src s;

	if (ir->nlisteners == 0)
		return;
	if (ir->listeners[0].named) {
		check_named_listeners(ir, raw, d);
		return;
	}
	check_legacy_src(ir, raw, &s);
	check_listener(&ir->listeners[0], &s, d);
}

/* One listener: the legacy listen: block or a listeners[] entry. */
static void
check_listener(struct sg_ir_listener *l, const struct sg_cfg_lst_src *s,
    struct sg_diag *d)
{
	bool has_socket = l->socket[0] != '\0';
	bool has_addr = l->address[0] != '\0';
	char k[192];

#define KEY(f) (snprintf(k, sizeof(k), "%s.%s", s->key, f), k)
	if (!l->named) {
		if (!has_socket && !has_addr) {
			const struct sg_loc *loc = check_l(&s->socket);

			if (loc == NULL)
				loc = check_l(&s->address);
			sg_diag_error(d, loc, "listen", "at least one listener "
			    "is required (listen.socket or listen.address)");
		}
		/* The socket wins when both are set (SPEC 2.4.1). */
		has_addr = has_addr && !has_socket;
	} else if (has_socket == has_addr) {
		sg_diag_error(d, check_l(has_socket ? &s->address : &s->item),
		    s->key, "%s: exactly one of socket or address is "
		    "required%s", s->label, has_socket ? ", got both" : "");
		has_socket = has_addr = false;
	}

	/* The legacy block checks socket_mode even for TCP (as before). */
	if (!l->named || has_socket) {
		check_socket_mode(l, s, d);
		if (s->socket_uid_v != INT64_MIN)
			check_id(s, "socket_uid", s->socket_uid_v,
			    &s->socket_uid, d);
		if (s->socket_gid_v != INT64_MIN)
			check_id(s, "socket_gid", s->socket_gid_v,
			    &s->socket_gid, d);
	} else if (has_addr) {
		if (s->socket_uid_v != INT64_MIN)
			sg_diag_error(d, check_l(&s->socket_uid),
			    KEY("socket_uid"), "%s.socket_uid is only valid "
			    "for unix listeners", s->label);
		if (s->socket_gid_v != INT64_MIN)
			sg_diag_error(d, check_l(&s->socket_gid),
			    KEY("socket_gid"), "%s.socket_gid is only valid "
			    "for unix listeners", s->label);
	}

	if (s->max_connections_v < 1 || s->max_connections_v > 1048576)
		sg_diag_error(d, check_l(&s->max_connections),
		    KEY("max_connections"), "%s.max_connections must be "
		    "between 1 and 1048576, got %lld", s->label,
		    (long long)s->max_connections_v);
	else
		l->max_connections = (uint32_t)s->max_connections_v;

	if (has_socket && l->tls.enabled)
		sg_diag_error(d, check_l(&s->tls), KEY("tls"), "%s.tls is only "
		    "valid for TCP listeners", s->label);
	else if (has_addr)
		check_listener_tcp(l, s, d);
#undef KEY
}

/* socket_mode, trimmed: "0600" or "0660" (+ socket_gid), SPEC 2.4.2. */
static void
check_socket_mode(struct sg_ir_listener *l, const struct sg_cfg_lst_src *s,
    struct sg_diag *d)
{
	const char *m = s->socket_mode_text;
	char k[192];
	size_t ml;

	snprintf(k, sizeof(k), "%s.socket_mode", s->key);
	m += strspn(m, " \t\r\n");
	ml = strlen(m);
	while (ml > 0 && strchr(" \t\r\n", m[ml - 1]) != NULL)
		ml--;
	if (ml == 4 && strncmp(m, "0600", 4) == 0) {
		l->socket_mode = 0600;
	} else if (ml == 4 && strncmp(m, "0660", 4) == 0) {
		l->socket_mode = 0660;
		if (s->socket_gid_v == INT64_MIN)
			sg_diag_error(d, check_l(&s->socket_mode), k,
			    "%s.socket_mode \"0660\" requires %s.socket_gid to "
			    "be set explicitly; omit socket_gid and use "
			    "\"0600\" for the default owner-only mode",
			    s->label, s->label);
	} else {
		sg_diag_error(d, check_l(&s->socket_mode), k, "%s.socket_mode "
		    "must be \"0600\" or \"0660\" (the latter requires "
		    "%s.socket_gid), got \"%s\"", s->label, s->label,
		    s->socket_mode_text);
	}
}

static void
check_id(const struct sg_cfg_lst_src *s, const char *field, int64_t v,
    const struct sg_loc *loc, struct sg_diag *d)
{
	char k[192];

	snprintf(k, sizeof(k), "%s.%s", s->key, field);
	if (v < 0)
		sg_diag_error(d, check_l(loc), k, "%s.%s must be >= 0, got "
		    "%lld", s->label, field, (long long)v);
	else if (v > CHECK_ID_MAX)
		sg_diag_error(d, check_l(loc), k, "%s.%s must be <= %lld, got "
		    "%lld", s->label, field, CHECK_ID_MAX, (long long)v);
}

/* TCP: address form, TLS completeness and files, plaintext rules. */
static void
check_listener_tcp(const struct sg_ir_listener *l,
    const struct sg_cfg_lst_src *s, struct sg_diag *d)
{
	const struct sg_ir_tls_server *t = &l->tls;
	bool complete = t->cert_file != NULL && t->key_file != NULL &&
	    t->client_ca_file != NULL;
	char host[256], k[192];
	bool addr_ok;

	snprintf(k, sizeof(k), "%s.address", s->key);
	addr_ok = check_hostport(l->address, host, sizeof(host)) == 0;
	if (!addr_ok)
		sg_diag_error(d, check_l(&s->address), k, "%s.address must be "
		    "host:port with a numeric port 1-65535 (IPv6 hosts in "
		    "brackets), got \"%s\"", s->label, l->address);
	if (t->enabled && !complete) {
		/* SPEC 2.4.4; the plaintext rule does not apply then. */
		snprintf(k, sizeof(k), "%s.tls", s->key);
		sg_diag_error(d, check_l(&s->tls), k, "%s.tls requires "
		    "cert_file, key_file, and client_ca_file together",
		    s->label);
		return;
	}
	if (complete)
		check_listener_tls_files(t, s, d);
	if (addr_ok && !complete && !check_loopback(host) &&
	    !(l->insecure_allow_plain_tcp &&
	    l->insecure_allow_unauthenticated_clients))
		sg_diag_error(d, check_l(&s->address), k, CHECK_PLAIN_TCP_MSG,
		    l->address, s->label, s->label, s->label);
	else if (addr_ok && !complete && !check_loopback(host))
		sg_diag_warn(d, check_l(&s->address), k, "%s serves the Docker "
		    "API over plaintext TCP on %s without authenticating "
		    "clients (insecure_allow_plain_tcp and "
		    "insecure_allow_unauthenticated_clients): anyone who can "
		    "reach it gets what the rules allow, unencrypted; use it "
		    "only on a private, trusted network, or configure %s.tls",
		    s->label, l->address, s->label);
	if (complete && l->insecure_allow_plain_tcp) {
		snprintf(k, sizeof(k), "%s.insecure_allow_plain_tcp", s->key);
		sg_diag_warn(d, check_l(&s->plain_tcp), k, "%s."
		    "insecure_allow_plain_tcp has no effect: TLS is configured",
		    s->label);
	}
	if (complete && l->insecure_allow_unauthenticated_clients) {
		snprintf(k, sizeof(k), "%s.insecure_allow_unauthenticated_clients",
		    s->key);
		sg_diag_warn(d, check_l(&s->unauth), k, "%s."
		    "insecure_allow_unauthenticated_clients has no effect: TLS "
		    "is configured, and it requires client certificates",
		    s->label);
	}
}

/*
 * Constructive validation of a complete listener TLS block (SPEC 2.4.4),
 * at config time: the key pair loads and matches, and the client CA
 * file holds at least one certificate.
 */
static void
check_listener_tls_files(const struct sg_ir_tls_server *t,
    const struct sg_cfg_lst_src *s, struct sg_diag *d)
{
	struct sg_diag tmp;
	char kc[192], kk[192], ka[192], why[256];
	X509 *x;
	EVP_PKEY *k;
	size_t i, len, n = 0;
	char *buf;
	BIO *b;

	snprintf(kc, sizeof(kc), "%s.tls.cert_file", s->key);
	snprintf(kk, sizeof(kk), "%s.tls.key_file", s->key);
	snprintf(ka, sizeof(ka), "%s.tls.client_ca_file", s->key);

	/* The endpoint helpers' messages, under the SPEC's prefix. */
	sg_diag_init(&tmp);
	x = check_pem_cert(t->cert_file, "cert_file", check_l(&s->cert_file),
	    kc, &tmp);
	k = check_pem_key(t->key_file, "key_file", check_l(&s->key_file), kk,
	    &tmp);
	if (x != NULL && k != NULL && X509_check_private_key(x, k) != 1)
		sg_diag_error(&tmp, check_l(&s->key_file), kk, "key_file "
		    "\"%s\" does not match cert_file \"%s\": the private key "
		    "is not the certificate's key", t->key_file, t->cert_file);
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(k);
	for (i = 0; i < tmp.n; i++)
		sg_diag_error(d, &tmp.v[i].loc, tmp.v[i].key, "load %s.tls "
		    "cert/key pair: %s", s->label, tmp.v[i].msg);
	sg_diag_free(&tmp);

	buf = check_read(t->client_ca_file, &len, why, sizeof(why));
	if (buf == NULL) {
		sg_diag_error(d, check_l(&s->client_ca_file), ka, "read %s.tls "
		    "client_ca_file: %s: %s", s->label, t->client_ca_file, why);
		return;
	}
	/* Like a certificate pool: unusable blocks are skipped. */
	b = BIO_new_mem_buf(buf, (int)len);
	for (;;) {
		char *name = NULL, *hdr = NULL;
		unsigned char *data = NULL;
		long dl = 0;

		if (b == NULL || PEM_read_bio(b, &name, &hdr, &data, &dl) != 1)
			break;
		if (strcmp(name, "CERTIFICATE") == 0 ||
		    strcmp(name, "TRUSTED CERTIFICATE") == 0 ||
		    strcmp(name, "X509 CERTIFICATE") == 0) {
			const unsigned char *p = data;
			X509 *c = d2i_X509(NULL, &p, dl);

			if (c != NULL)
				n++;
			X509_free(c);
		}
		OPENSSL_free(name);
		OPENSSL_free(hdr);
		OPENSSL_free(data);
	}
	ERR_clear_error();
	BIO_free(b);
	free(buf);
	if (n == 0)
		sg_diag_error(d, check_l(&s->client_ca_file), ka, "parse %s.tls "
		    "client_ca_file: no PEM certificates found", s->label);
}

/* ^[a-z][a-z0-9-]{0,62}$ */
static bool
check_listener_name(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 63 && s[0] >= 'a' && s[0] <= 'z' &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* SPEC 2.4.5: listeners: entries, their names, profiles and targets. */
static void
check_named_listeners(struct sg_ir *ir, const struct sg_cfg_flat *raw,
    struct sg_diag *d)
{
	struct sg_cfg_lst_src *srcs;
	char (*keys)[3][80];  /* key, label, socket mode of hand-built IR */
	size_t i, j;

	/* Any listen.* written (YAML, SOCKGUARD_LISTEN_*, --listen-socket);
	 * key locations are in key table order, the section first. */
	for (i = 0; i < ir->nkeylocs; i++) {
		const char *k = ir->keylocs[i].key;

		if (strcmp(k, "listen") == 0 || strncmp(k, "listen.", 7) == 0) {
			sg_diag_error(d, check_l(&ir->keylocs[i].loc), k,
			    "listen and listeners are mutually exclusive; "
			    "migrate the listen: block into a single-entry "
			    "listeners: list");
			break;
		}
	}
	if (ir->nlisteners > CHECK_MAX_LISTENERS)
		sg_diag_error(d, check_loc(ir, "listeners"), "listeners",
		    "listeners must contain at most %d entries, got %zu",
		    CHECK_MAX_LISTENERS, ir->nlisteners);

	srcs = calloc(ir->nlisteners, sizeof(*srcs));
	keys = calloc(ir->nlisteners, sizeof(*keys));
	if (srcs == NULL || keys == NULL)
		abort();
	for (i = 0; i < ir->nlisteners; i++) {
		struct sg_ir_listener *l = &ir->listeners[i];
		const struct sg_cfg_lst_src *s;
		char k[192];

		if (raw->lst_src != NULL)
			srcs[i] = raw->lst_src[i];
		else
			check_named_src(l, i, keys[i][0], keys[i][1],
			    keys[i][2], sizeof(keys[i][0]), &srcs[i]);
		s = &srcs[i];
		if (s->not_map)
			continue;
		snprintf(k, sizeof(k), "%s.name", s->key);
		if (l->name[0] == '\0') {
			sg_diag_error(d, check_l(&s->name), k, "%s.name is "
			    "required", s->key);
		} else if (!check_listener_name(l->name)) {
			sg_diag_error(d, check_l(&s->name), k, "%s.name \"%s\" "
			    "must match ^[a-z][a-z0-9-]{0,62}$", s->key,
			    l->name);
		} else if (strcmp(l->name, "admin") == 0) {
			sg_diag_error(d, check_l(&s->name), k, "%s.name must "
			    "not be \"admin\" (reserved for the dedicated admin "
			    "listener)", s->key);
		} else {
			for (j = 0; j < i; j++)
				if (strcmp(ir->listeners[j].name, l->name) == 0)
					break;
			if (j < i)
				sg_diag_error(d, check_l(&s->name), k,
				    "listeners[*].name must be unique, got "
				    "duplicate \"%s\"", l->name);
		}
		check_listener(l, s, d);
		check_allowed_profiles(ir, l, s, d);
	}
	check_bind_targets(ir, srcs, d);
	free(srcs);
	free(keys);
}

static bool
check_profile_exists(const struct sg_ir *ir, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < ir->clients.nprofiles; i++)
		if (ir->clients.profiles[i].name[0] != '\0' &&
		    strcmp(ir->clients.profiles[i].name, name) == 0)
			return true;
	return false;
}

static void
check_allowed_profiles(const struct sg_ir *ir, const struct sg_ir_listener *l,
    const struct sg_cfg_lst_src *s, struct sg_diag *d)
{
	const struct sg_ir_strlist *ap = &l->allowed_profiles;
	char k[192];
	size_t i, j;

	snprintf(k, sizeof(k), "%s.allowed_profiles", s->key);
	if (ap->n == 0) {
		sg_diag_error(d, check_l(&s->allowed_profiles), k, "%s."
		    "allowed_profiles must contain at least one profile name "
		    "(or the wildcard \"*\")", s->label);
		return;
	}
	if (l->admit_all) {
		if (ap->n > 1)
			sg_diag_error(d, check_l(&s->allowed_profiles), k,
			    "%s.allowed_profiles: \"*\" cannot be combined "
			    "with concrete profile names", s->label);
		return;
	}
	for (i = 0; i < ap->n; i++) {
		const struct sg_loc *loc = s->allowed_items != NULL ?
		    &s->allowed_items[i] : &s->allowed_profiles;

		for (j = 0; j < i; j++)
			if (strcmp(ap->v[j], ap->v[i]) == 0)
				break;
		if (j < i)
			sg_diag_error(d, check_l(loc), k, "%s.allowed_profiles "
			    "must be unique, got duplicate \"%s\"", s->label,
			    ap->v[i]);
		else if (!check_profile_exists(ir, ap->v[i]))
			sg_diag_error(d, check_l(loc), k, "%s.allowed_profiles "
			    "must match a configured client profile, got "
			    "\"%s\"", s->label, ap->v[i]);
	}
}

/*
 * TCP bind targets in comparable form: IP spelling canonical, host names
 * lower case, port without leading zeros (SPEC 2.4.5).
 */
static void
check_bind_canon(const char *addr, char *out, size_t cap)
{
	char host[256], buf[INET6_ADDRSTRLEN];
	const char *port = strrchr(addr, ':');
	uint8_t a[16];
	size_t i;

	if (port == NULL || check_hostport(addr, host, sizeof(host)) == -1) {
		snprintf(out, cap, "%s", addr);
		return;
	}
	if (inet_pton(AF_INET, host, a) == 1)
		inet_ntop(AF_INET, a, host, sizeof(host));
	else if (inet_pton(AF_INET6, host, a) == 1 &&
	    inet_ntop(AF_INET6, a, buf, sizeof(buf)) != NULL)
		snprintf(host, sizeof(host), "%s", buf);
	else
		for (i = 0; host[i] != '\0'; i++)
			host[i] = (char)tolower((unsigned char)host[i]);
	snprintf(out, cap, "[%s]:%lu", host, strtoul(port + 1, NULL, 10));
}

static void
check_bind_targets(const struct sg_ir *ir, const struct sg_cfg_lst_src *srcs,
    struct sg_diag *d)
{
	size_t i, j;

	for (j = 1; j < ir->nlisteners; j++) {
		const struct sg_ir_listener *b = &ir->listeners[j];

		for (i = 0; i < j; i++) {
			const struct sg_ir_listener *a = &ir->listeners[i];
			char ca[300], cb[300];

			if (b->socket[0] != '\0' && a->socket[0] != '\0' &&
			    check_path_same(a->socket, b->socket)) {
				check_bind_clash(srcs, i, j, "socket",
				    &srcs[j].socket, a->socket, b->socket, d);
				break;
			}
			if (a->address[0] == '\0' || b->address[0] == '\0')
				continue;
			check_bind_canon(a->address, ca, sizeof(ca));
			check_bind_canon(b->address, cb, sizeof(cb));
			if (strcmp(ca, cb) == 0) {
				check_bind_clash(srcs, i, j, "address",
				    &srcs[j].address, a->address, a->address, d);
				break;
			}
		}
	}
}

/*
 * Whether two socket paths name one file as written: equal once empty and
 * "." segments and repeated slashes are gone ("/run/./x.sock" is
 * "/run/x.sock"). ".." is left alone: through a symlink it need not undo
 * the segment before it.
 */
static const char *
check_path_skip(const char *p)
{
	/* at a segment start: past repeated slashes, "./" and a final "." */
	for (;;) {
		if (*p == '/' && (p[1] == '/' || (p[1] == '.' &&
		    (p[2] == '/' || p[2] == '\0'))))
			p += p[1] == '/' ? 1 : 2;
		else if (*p == '.' && p[1] == '/')
			p += 2;
		else
			return p;
	}
}

static bool
check_path_same(const char *a, const char *b)
{
	bool seg = true; /* at the start, or at a '/': a segment starts */

	for (;;) {
		if (seg || *a == '/' || *b == '/') {
			a = check_path_skip(a);
			b = check_path_skip(b);
		}
		seg = false;
		if (*a != *b)
			return false;
		if (*a == '\0')
			return true;
		a++;
		b++;
	}
}

/* Listeners i < j bind the same field ("socket" or "address"): the
 * error goes to the later one, at loc. */
static void
check_bind_clash(const struct sg_cfg_lst_src *srcs, size_t i, size_t j,
    const char *field, const struct sg_loc *loc, const char *va,
    const char *vb, struct sg_diag *d)
{
	char k[192];

	snprintf(k, sizeof(k), "%s.%s", srcs[j].key, field);
	if (strcmp(va, vb) == 0)
		sg_diag_error(d, check_l(loc), k, "%s.%s and %s.%s must be "
		    "distinct, both are \"%s\"", srcs[i].label, field,
		    srcs[j].label, field, va);
	else
		sg_diag_error(d, check_l(loc), k, "%s.%s and %s.%s must be "
		    "distinct, \"%s\" and \"%s\" name one file",
		    srcs[i].label, field, srcs[j].label, field, va, vb);
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

	check_duration(ir, "reload.debounce", raw->reload_debounce,
	    250 * SG_NS_PER_MS, CHECK_DUR_NONNEG, &ir->reload_debounce_ns, d);
	check_duration(ir, "upstream.failover.health_interval",
	    raw->upstream_health_interval, 5 * SG_NS_PER_SEC,
	    CHECK_DUR_NONZERO, &up->health_interval_ns, d);
	check_duration(ir, "upstream.failover.health_timeout",
	    raw->upstream_health_timeout, 2 * SG_NS_PER_SEC,
	    CHECK_DUR_POSITIVE, &up->health_timeout_ns, d);
}

/*
 * Key k's Go duration text s into *out: def when s is unset or "", and
 * also (after an error at k) when s does not parse or rule refuses it.
 */
static void
check_duration(const struct sg_ir *ir, const char *k, const char *s,
    int64_t def, enum check_dur_rule rule, int64_t *out, struct sg_diag *d)
{
	const struct sg_loc *loc = check_loc(ir, k);
	int64_t ns;

	*out = def;
	if (s == NULL || s[0] == '\0')
		return;
	/* reload.debounce words its syntax error unlike the others: kept. */
	if (sg_duration_parse(s, strlen(s), &ns) == -1)
		sg_diag_error(d, loc, k, "%s must be %s, got \"%s\"", k,
		    rule == CHECK_DUR_NONNEG ? "a valid Go duration string" :
		    "a Go duration", s);
	else if (rule == CHECK_DUR_NONNEG && ns < 0)
		sg_diag_error(d, loc, k, "%s must be >= 0, got \"%s\"", k, s);
	else if (rule == CHECK_DUR_NONZERO && ns == 0)
		sg_diag_error(d, loc, k, "%s must be non-zero: use a negative "
		    "duration to disable probing, or omit it for the 5s "
		    "default", k);
	else if (rule == CHECK_DUR_POSITIVE && ns <= 0)
		sg_diag_error(d, loc, k, "%s must be a positive duration, got "
		    "\"%s\"", k, s);
	else
		*out = ns;
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
	char why[256];
	char *buf = check_read(path, len, why, sizeof(why));

	if (buf == NULL)
		sg_diag_error(d, loc, key, "cannot read %s \"%s\": %s", what,
		    path, why);
	return buf;
}

/* The whole (small) file, NUL-terminated (free it); NULL with why. */
static char *
check_read(const char *path, size_t *len, char *why, size_t whycap)
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
		snprintf(why, whycap, "not a regular file");
		close(fd);
		return NULL;
	}
	if (st.st_size > (off_t)CHECK_PEM_MAX) {
		snprintf(why, whycap, "larger than %u bytes", CHECK_PEM_MAX);
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
	snprintf(why, whycap, "%s", strerror(err));
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

/* ---- clients (SPEC 3.8) ---- */

/* The assignment's profile: required, and one of clients.profiles. */
static void
check_assign_profile(const struct sg_ir *ir, const char *profile,
    const struct sg_cfg_assign_src *s, struct sg_diag *d)
{
	char k[192];

	snprintf(k, sizeof(k), "%s.profile", s->key);
	if (profile == NULL || profile[0] == '\0')
		sg_diag_error(d, check_l(&s->profile), k, "%s.profile is "
		    "required", s->key);
	else if (!check_profile_exists(ir, profile))
		sg_diag_error(d, check_l(&s->profile), k, "%s.profile must "
		    "match a configured client profile, got \"%s\"", s->key,
		    profile);
}

/*
 * Assignment i of clients.<kind>: where it was written (a hand-built IR:
 * its own location, own) and its profile. False for an entry that was
 * not a mapping (reported when it was read): nothing more to check.
 */
static bool
check_assign(const struct sg_ir *ir, const struct sg_cfg_assign_src *srcs,
    const char *kind, size_t i, const struct sg_loc *own,
    const char *profile, struct check_asrc *as, struct sg_diag *d)
{
	if (srcs != NULL) {
		as->src = srcs[i];
	} else {
		snprintf(as->key, sizeof(as->key), "clients.%s[%zu]", kind, i);
		as->src.key = as->key;
		as->src.profile = *own;
		as->src.not_map = false;
	}
	if (as->src.not_map)
		return false;
	check_assign_profile(ir, profile, &as->src, d);
	return true;
}

/* Each assignment list needs a listener its clients can arrive on. */
static void
check_client_listeners(const struct sg_ir *ir, struct sg_diag *d)
{
	const struct sg_ir_clients *cl = &ir->clients;
	bool has_tcp = false, has_unix = false, has_mtls = false;
	const struct {
		const char *key;  /* the list */
		size_t n;         /* its entries */
		const bool *has;  /* a listener of the kind exists */
		const char *kind;
		bool mtls;        /* and one must verify client certificates */
	} need[] = {
		{"clients.allowed_cidrs", cl->nallowed_cidrs, &has_tcp, "TCP",
		    false},
		{"clients.source_ip_profiles", cl->nsource_ip, &has_tcp, "TCP",
		    false},
		{"clients.client_certificate_profiles", cl->ncert, &has_tcp,
		    "TCP", true},
		{"clients.unix_peer_profiles", cl->nunix_peer, &has_unix,
		    "unix", false},
	};
	size_t i;

	/* What the effective listeners offer (the legacy socket wins). */
	for (i = 0; i < ir->nlisteners; i++) {
		const struct sg_ir_listener *l = &ir->listeners[i];
		const struct sg_ir_tls_server *t = &l->tls;

		if (l->socket[0] != '\0') {
			has_unix = true;
			if (l->named && l->address[0] != '\0')
				has_tcp = true;
			continue;
		}
		if (l->address[0] == '\0')
			continue;
		has_tcp = true;
		if (t->cert_file != NULL && t->key_file != NULL &&
		    t->client_ca_file != NULL)
			has_mtls = true;
	}
	for (i = 0; i < SG_ARRAY_LEN(need); i++) {
		const char *k = need[i].key;

		if (need[i].n == 0)
			continue;
		if (!*need[i].has)
			sg_diag_error(d, check_loc(ir, k), k, "%s requires a "
			    "%s listener; configure a %s listen/listeners[*] "
			    "entry or clear %s", k, need[i].kind, need[i].kind,
			    k);
		else if (need[i].mtls && !has_mtls)
			sg_diag_error(d, check_loc(ir, k), k, "%s requires a "
			    "listen/listeners[*] entry with mutual TLS "
			    "configured", k);
	}
}

static void
check_clients(struct sg_ir *ir, const struct sg_cfg_flat *raw,
    struct sg_diag *d)
{
	const struct sg_ir_clients *cl = &ir->clients;
	const struct sg_cfg_clients_src *cs = raw->cl_src;
	struct check_asrc as;
	char key[96];
	size_t i, j;

	check_client_listeners(ir, d);

	/* Profiles: names required, unique, not the wildcard; rules. */
	for (i = 0; i < cl->nprofiles; i++) {
		const struct sg_ir_profile *p = &cl->profiles[i];
		struct sg_cfg_prof_src ps;
		char k[192];

		if (cs != NULL) {
			ps = cs->profiles[i];
		} else {
			snprintf(key, sizeof(key), "clients.profiles[%zu]", i);
			ps.key = key;
			ps.name = ps.rules = p->loc;
			ps.rules_ok = true;
			ps.not_map = false;
		}
		if (ps.not_map)
			continue;
		snprintf(k, sizeof(k), "%s.name", ps.key);
		if (p->name[0] == '\0') {
			sg_diag_error(d, check_l(&ps.name), k, "%s.name is "
			    "required", ps.key);
		} else if (strcmp(p->name, "*") == 0) {
			sg_diag_error(d, check_l(&ps.name), k, "%s.name must "
			    "not be \"*\" (reserved as the listener "
			    "allowed_profiles wildcard)", ps.key);
		} else {
			for (j = 0; j < i; j++)
				if (strcmp(cl->profiles[j].name, p->name) == 0)
					break;
			if (j < i)
				sg_diag_error(d, check_l(&ps.name), k, "%s.name "
				    "must be unique, got duplicate \"%s\"",
				    ps.key, p->name);
		}
		snprintf(k, sizeof(k), "%s.rules", ps.key);
		if (p->nrules == 0 && ps.rules_ok)
			sg_diag_error(d, check_l(&ps.rules), k, "%s.rules must "
			    "contain at least one rule", ps.key);
	}

	if (cl->default_profile != NULL && cl->default_profile[0] != '\0' &&
	    !check_profile_exists(ir, cl->default_profile))
		sg_diag_error(d, check_loc(ir, "clients.default_profile"),
		    "clients.default_profile", "clients.default_profile must "
		    "match a configured client profile, got \"%s\"",
		    cl->default_profile);
	else if (cl->default_profile != NULL && cl->default_profile[0] != '\0')
		check_default_admitted(ir, d);

	for (i = 0; i < cl->nsource_ip; i++) {
		const struct sg_ir_ip_assign *a = &cl->source_ip[i];

		if (!check_assign(ir, cs != NULL ? cs->source_ip : NULL,
		    "source_ip_profiles", i, &a->loc, a->profile, &as, d))
			continue;
		if (a->ncidrs == 0)
			sg_diag_error(d, &a->loc, as.src.key, "%s.cidrs must "
			    "contain at least one CIDR", as.src.key);
	}
	for (i = 0; i < cl->ncert; i++) {
		const struct sg_ir_cert_assign *a = &cl->cert[i];
		const struct sg_ir_cert_sel *sel = &a->sel;

		if (!check_assign(ir, cs != NULL ? cs->cert : NULL,
		    "client_certificate_profiles", i, &a->loc, a->profile, &as,
		    d))
			continue;
		if (sel->common_names.n + sel->dns_names.n +
		    sel->ip_addresses.n + sel->uri_sans.n + sel->spiffe_ids.n +
		    sel->public_key_sha256_pins.n == 0)
			sg_diag_error(d, &a->loc, as.src.key, "%s must contain "
			    "at least one client certificate identity selector",
			    as.src.key);
	}
	for (i = 0; i < cl->nunix_peer; i++) {
		const struct sg_ir_peer_assign *a = &cl->unix_peer[i];

		if (!check_assign(ir, cs != NULL ? cs->unix_peer : NULL,
		    "unix_peer_profiles", i, &a->loc, a->profile, &as, d))
			continue;
		if (a->nuids + a->ngids + a->npids == 0)
			sg_diag_error(d, &a->loc, as.src.key, "%s must contain "
			    "at least one unix peer credential selector",
			    as.src.key);
		else if (a->nuids + a->ngids == 0)
			/* PIDs are recycled: they only narrow a uid/gid. */
			sg_diag_error(d, &a->loc, as.src.key, "%s must not "
			    "select by pid alone: process IDs are recycled by "
			    "the kernel and are not a stable identity; add a "
			    "uid and/or gid selector", as.src.key);
	}
}

/* SPEC 2.4.5: a warning per listener that refuses the default profile. */
static void
check_default_admitted(const struct sg_ir *ir, struct sg_diag *d)
{
	const char *dp = ir->clients.default_profile;
	size_t i, j;

	for (i = 0; i < ir->nlisteners; i++) {
		const struct sg_ir_listener *l = &ir->listeners[i];

		if (!l->named || l->admit_all)
			continue;
		for (j = 0; j < l->allowed_profiles.n; j++)
			if (strcmp(l->allowed_profiles.v[j], dp) == 0)
				break;
		if (j < l->allowed_profiles.n)
			continue;
		sg_diag_warn(d, check_loc(ir, "clients.default_profile"),
		    "clients.default_profile", "clients.default_profile \"%s\" "
		    "is not admitted by listeners[%s] (not in its "
		    "allowed_profiles): clients there that fall back to it are "
		    "refused with 403", dp, l->name);
	}
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

	if (ir->insecure_allow_browser_requests)
		sg_diag_warn(d, check_loc(ir, "insecure_allow_browser_requests"),
		    "insecure_allow_browser_requests",
		    "insecure_allow_browser_requests is enabled: requests "
		    "from web browsers (Origin or Sec-Fetch-* headers, a DNS "
		    "name as Host on a plain TCP listener) are judged like "
		    "any other, so a web page open on a machine that reaches "
		    "a TCP listener can drive the Docker API within the "
		    "rules");
	/* (when GRPC/SESSION turned it on, that warning said so) */
	if (ir->insecure_accept_opaque_buildkit_tunnels &&
	    !ir->buildkit_by_compat)
		sg_diag_warn(d, check_loc(ir,
		    "insecure_accept_opaque_buildkit_tunnels"),
		    "insecure_accept_opaque_buildkit_tunnels",
		    "insecure_accept_opaque_buildkit_tunnels is enabled "
		    "(deprecated): BuildKit sessions the rules allow (POST "
		    "/session, /grpc) are relayed as opaque HTTP/2 tunnels, "
		    "and sockguard sees none of the build's calls (solves, "
		    "registry credentials, secrets, SSH agent, files)");
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

/*
 * Docker routes these resources as /<prefix>{name:.*}/..., and their names
 * do contain '/' (image and plugin references such as registry/team/app,
 * container link aliases such as web/db). A deny rule whose name segment
 * uses '*', which stops at '/', misses those names: warns and suggests
 * the segment with '**'.
 */
static void
check_rule_name_glob(const struct sg_ir_rule *r, const char *key,
    struct sg_diag *d)
{
	static const char *const multi[] = {
		"/containers/", "/images/", "/plugins/", "/distribution/",
		"/libpod/images/",
	};
	const char *p = r->path, *seg, *end;
	char fix[512];
	size_t i, o, pl;

	if (r->action != SG_ACTION_DENY)
		return;
	for (i = 0; i < SG_ARRAY_LEN(multi); i++) {
		pl = strlen(multi[i]);
		if (strncmp(p, multi[i], pl) == 0)
			break;
	}
	if (i == SG_ARRAY_LEN(multi))
		return;
	seg = p + pl;
	end = strchr(seg, '/');
	if (end == NULL)
		end = seg + strlen(seg);
	if (memchr(seg, '*', (size_t)(end - seg)) == NULL ||
	    strstr(seg, "**") != NULL)
		return;
	/* the suggestion: every '*' of that segment doubled */
	o = 0;
	for (i = 0; p[i] != '\0' && o + 3 < sizeof(fix); i++) {
		if (p[i] == '*' && p + i >= seg && p + i < end)
			fix[o++] = '*';
		fix[o++] = p[i];
	}
	fix[o] = '\0';
	sg_diag_warn(d, &r->loc, key, "match.path \"%s\" denies with '*' "
	    "where the daemon takes a name that may contain '/' (%.*s{name:.*}"
	    "...: image and plugin references such as registry/team/app, "
	    "container link aliases such as web/db); '*' stops at '/', so "
	    "such names are not denied; write \"%s\"", p, (int)pl, p, fix);
}

static void
check_rules(const struct sg_ir_rule *rules, size_t n, const char *prefix,
    struct sg_diag *d)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct sg_ir_rule *r = &rules[i];
		size_t len = strlen(r->path);
		struct sg_path_ver ver;
		char key[96], *out;

		snprintf(key, sizeof(key), "%s[%zu]", prefix, i);
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
		else if (ver.odd)
			sg_diag_warn(d, &r->loc, key, "match.path \"%s\" "
			    "begins with a malformed API version prefix; "
			    "requests with one are refused (400) before the "
			    "rules, so this pattern never matches; write it "
			    "without the prefix", r->path);
		else if (strcmp(out, r->path) != 0)
			sg_diag_warn(d, &r->loc, key, "match.path \"%s\" is "
			    "not a canonical path; request paths are cleaned "
			    "before matching (no empty, '.' or '..' segments, "
			    "no trailing '/'), so this pattern never matches "
			    "what it names; write it as \"%s\"", r->path, out);
		else
			check_rule_name_glob(r, key, d);
		free(out);
	}
}

/* ---- SPEC 2.6.7: read-exfiltration startup probe ---- */

/*
 * Evaluates probes through compiled rules; returns "METHOD path, ..." of
 * the allowed ones (in arena a) or NULL, and the first deciding rule.
 */
static const char *
check_probe_list(struct sg_arena *a, const struct sg_policy *p,
    const struct check_probe *probes, size_t np, int *first)
{
	const char *list = NULL;
	size_t i;

	*first = -1;
	for (i = 0; i < np; i++) {
		struct sg_verdict v;

		sg_policy_eval(p, probes[i].method, strlen(probes[i].method),
		    probes[i].path, strlen(probes[i].path), &v);
		if (v.action != SG_ACTION_ALLOW)
			continue;
		if (*first == -1)
			*first = v.rule;
		list = list == NULL ? sg_arena_printf(a, "%s %s",
		    probes[i].method, probes[i].path) : sg_arena_printf(a,
		    "%s, %s %s", list, probes[i].method, probes[i].path);
	}
	return list;
}

/* Where rule first was written, or the rules key when none decided. */
static const struct sg_loc *
check_rule_loc(const struct sg_ir *ir, const struct sg_ir_rule *rules,
    size_t n, const char *prefix, int first)
{
	return first >= 0 && (size_t)first < n ? &rules[first].loc :
	    check_loc(ir, prefix);
}

/* The key that names rule first: its YAML path, or, for rules no file
 * holds (the Tecnativa variables made them), its number in `check`. */
static const char *
check_rule_key(struct sg_arena *a, const struct sg_ir_rule *rules,
    size_t n, const char *prefix, int first)
{
	const char *f;

	if (first < 0 || (size_t)first >= n)
		return prefix;
	f = rules[first].loc.file;
	if (f != NULL && (strncmp(f, "env:", 4) == 0 ||
	    strcmp(f, "tecnativa compat") == 0))
		return sg_arena_printf(a, "rule %d", first + 1);
	return sg_arena_printf(a, "%s[%d]", prefix, first);
}

/* Over rules (the top-level ones, or profile's); key prefix "rules". */
static void
check_read_exfil(const struct sg_ir *ir, const struct sg_ir_rule *rules,
    size_t n, const char *prefix, const char *profile, struct sg_diag *d)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_policy *p;
	const char *list, *who;
	int first;

	p = sg_policy_compile(a, rules, n, d);
	if (p == NULL) {
		sg_arena_free(a);
		return;
	}
	who = profile != NULL ? sg_arena_printf(a, "client profile \"%s\" ",
	    profile) : "";
	list = check_probe_list(a, p, check_exfil_probes,
	    SG_ARRAY_LEN(check_exfil_probes), &first);
	if (list != NULL) {
		const struct sg_loc *loc = check_rule_loc(ir, rules, n, prefix,
		    first);
		const char *key = check_rule_key(a, rules, n, prefix, first);

		if (ir->insecure_allow_read_exfiltration)
			sg_diag_warn(d, check_loc(ir,
			    "insecure_allow_read_exfiltration"),
			    "insecure_allow_read_exfiltration",
			    "insecure_allow_read_exfiltration is enabled and "
			    "the %srules allow: %s", who, list);
		else if (profile != NULL)
			sg_diag_error(d, loc, key, CHECK_EXFIL_PROFILE_MSG,
			    profile, list);
		else
			sg_diag_error(d, loc, key, CHECK_EXFIL_MSG, list);
	}
	/*
	 * BuildKit tunnels are relayed only unseen, so allowing them needs
	 * the acknowledgement (without it they would fail at the daemon,
	 * their upgrade stripped, which no rule should pretend to allow)
	 */
	list = check_probe_list(a, p, check_buildkit_probes,
	    SG_ARRAY_LEN(check_buildkit_probes), &first);
	if (list != NULL && !ir->insecure_accept_opaque_buildkit_tunnels)
		sg_diag_error(d, check_rule_loc(ir, rules, n, prefix, first),
		    check_rule_key(a, rules, n, prefix, first),
		    "the %srules allow BuildKit tunnels (%s): a build "
		    "session is an HTTP/2 tunnel that sockguard relays unseen "
		    "(the build's solves, registry credentials, secrets, SSH "
		    "agent and files); deny these paths (builds then use the "
		    "classic builder, DOCKER_BUILDKIT=0), or set "
		    "insecure_accept_opaque_buildkit_tunnels: true to relay "
		    "them anyway", who, list);
	/*
	 * Request bodies are not inspected yet: say so for every allowed
	 * write whose body decides what the daemon does.
	 */
	list = check_probe_list(a, p, check_body_probes,
	    SG_ARRAY_LEN(check_body_probes), &first);
	if (list != NULL)
		sg_diag_warn(d, check_rule_loc(ir, rules, n, prefix, first),
		    check_rule_key(a, rules, n, prefix, first),
		    "request bodies are not inspected by this version: the "
		    "%srules allow %s, and whatever body is sent there "
		    "reaches the daemon unchecked (POST /containers/create "
		    "can start a privileged container with host mounts, "
		    "which is root on the host); allow these only to "
		    "trusted clients (client profiles) or deny them", who,
		    list);
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
