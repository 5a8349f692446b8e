/* SPDX-License-Identifier: MIT */
/*
 * ir_check.c: semantic checks over a lowered IR (SPEC 2.4, 2.5, 2.6.1,
 * 2.6.7, 2.7.1, 2.9, 2.10.1). Every problem is reported at once, each at
 * the location its key came from (sg_ir_loc). Also finishes the IR from
 * the text values that need validating first (enums, socket mode,
 * minimum API version). Owns nothing; the read-exfiltration probe
 * compiles the rules into a scratch arena it frees before returning.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_int.h"
#include "sockguard/path.h"
#include "sockguard/policy.h"

#define CHECK_ID_MAX 4294967294LL /* (uid_t)-1 means "unchanged" */
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
	if (ir->upstream.socket[0] == '\0')
		sg_diag_error(d, check_loc(ir, "upstream.socket"),
		    "upstream.socket", "upstream requires either "
		    "upstream.socket or at least one upstream.endpoints entry");
	else if (ir->upstream.socket[0] != '/')
		sg_diag_error(d, check_loc(ir, "upstream.socket"),
		    "upstream.socket", "upstream.socket must be an absolute "
		    "path, got \"%s\"", ir->upstream.socket);
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
