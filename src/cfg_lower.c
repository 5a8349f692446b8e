/* SPDX-License-Identifier: MIT */
/*
 * cfg_lower.c: the front half of config loading. Picks the config file
 * (SPEC 2.1), walks the YAML tree against the key table (unknown and
 * not-yet-supported keys are errors), applies the environment overlay
 * and the command-line flags (flags > env > file > defaults, SPEC 2.2),
 * converts every value to its type, loads the rules (YAML, rules_file or
 * --rules) and builds struct sg_ir; then runs ir_check. Also lowers the
 * object lists (upstream.endpoints, listeners, clients.profiles and the
 * clients.*_profiles assignments) with nearest-key suggestions, and
 * normalises client-identity values (IPs, CIDRs, pins, URIs) so the IR
 * holds only canonical ones. Owns nothing beyond the arena it is given.
 * Does not compile the policy.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cfg_int.h"
#include "sockguard/policy.h"

#define LOWER_MAX_FILE (16u << 20)
#define LOWER_UNSET INT64_MIN
#define LOWER_WS " \t\r\n\v\f"

/* Where each in-scope key lands in struct sg_cfg_flat. */
struct lower_field {
	const char *path;
	size_t off;
};

/* A command-line flag and the key it sets. */
struct lower_flag {
	size_t off; /* in struct sg_load_opts */
	const char *path;
	const char *name;
};

static struct sg_ir *lower_run(struct sg_arena *a,
    const struct sg_load_opts *o, const char *name, const char *buf,
    size_t len, bool have_file, struct sg_diag *d);
static void lower_walk(struct sg_cfg_ctx *c, const struct sg_node *map,
    const char *prefix);
static void lower_dotted_key(struct sg_cfg_ctx *c, const struct sg_node *m,
    const char *path);
static void lower_flags(struct sg_cfg_ctx *c);
static void lower_flat(struct sg_cfg_ctx *c, struct sg_cfg_flat *f);
static void lower_value(struct sg_cfg_ctx *c, const struct sg_key *k,
    const struct sg_cfg_val *v, void *dst);
static void lower_build(struct sg_cfg_ctx *c, const struct sg_cfg_flat *f,
    struct sg_ir *ir);
static void lower_upstream(struct sg_cfg_ctx *c, struct sg_cfg_flat *f,
    struct sg_ir *ir);
static void lower_endpoint(struct sg_cfg_ctx *c, const struct sg_node *item,
    size_t i, struct sg_ir_endpoint *ep, struct sg_cfg_ep_src *src);
static void lower_endpoint_tls(struct sg_cfg_ctx *c,
    const struct sg_node *item, const struct sg_node *m, const char *mkey,
    struct sg_ir_endpoint *ep, struct sg_cfg_ep_src *src);
static void lower_endpoint_bool(struct sg_cfg_ctx *c, const struct sg_node *m,
    const char *key, bool *out, struct sg_loc *loc);
static const struct sg_node *lower_member(const struct sg_node *map,
    const char *key);
static int lower_tcp_address(struct sg_arena *a, const char *s,
    const char *auth, struct sg_ir_endpoint *ep, const char **why);
static void lower_rules(struct sg_cfg_ctx *c, struct sg_cfg_flat *f,
    struct sg_ir *ir);
static bool lower_yaml_rule(struct sg_cfg_ctx *c, const struct sg_node *item,
    const char *label, struct sg_ir_rule *r);
static void lower_legacy_tls(struct sg_cfg_ctx *c, const struct sg_cfg_flat *f,
    struct sg_ir_listener *l);
static void lower_listeners(struct sg_cfg_ctx *c, struct sg_cfg_flat *f,
    struct sg_ir *ir);
static void lower_listener(struct sg_cfg_ctx *c, const struct sg_node *item,
    size_t i, struct sg_ir_listener *l, struct sg_cfg_lst_src *s);
static void lower_listener_tls(struct sg_cfg_ctx *c, const struct sg_node *m,
    const char *label, const char *key, struct sg_ir_tls_server *t,
    struct sg_cfg_lst_src *s);
static void lower_clients(struct sg_cfg_ctx *c, struct sg_cfg_flat *f,
    struct sg_ir *ir);
static void lower_profile(struct sg_cfg_ctx *c, const struct sg_node *item,
    size_t i, struct sg_ir_profile *p, struct sg_cfg_prof_src *ps);
static void lower_ip_assign(struct sg_cfg_ctx *c, const struct sg_node *item,
    size_t i, struct sg_ir_ip_assign *as, struct sg_cfg_assign_src *src);
static void lower_cert_assign(struct sg_cfg_ctx *c, const struct sg_node *item,
    size_t i, struct sg_ir_cert_assign *as, struct sg_cfg_assign_src *src);
static void lower_peer_assign(struct sg_cfg_ctx *c, const struct sg_node *item,
    size_t i, struct sg_ir_peer_assign *as, struct sg_cfg_assign_src *src);
static const struct sg_node *lower_seq(struct sg_cfg_ctx *c, const char *path,
    const char *what);
static const char *lower_assign_profile(struct sg_cfg_ctx *c,
    const struct sg_node *m, const char *key, struct sg_cfg_assign_src *src);
static const char *lower_rule_str(struct sg_cfg_ctx *c,
    const struct sg_node *n, const char *key);
static bool lower_method_ok(const char *s);
static void lower_rule_unknown(struct sg_cfg_ctx *c, const char *prefix,
    const struct sg_node *m, const char *const *known, size_t nknown);
static int lower_dsl_file(struct sg_cfg_ctx *c, const char *path,
    const struct sg_loc *from, struct sg_ir *ir);
static void lower_keylocs(struct sg_cfg_ctx *c, struct sg_ir *ir);
static int lower_read_fd(int fd, char *p, size_t cap, size_t *n);
static int lower_read_stream(int fd, char **buf, size_t *len);
static bool lower_has_content(const char *buf, size_t len);
static bool lower_blank(const char *buf, size_t len);
static const char *lower_kind(const struct sg_node *n);
static const char *lower_locstr(struct sg_cfg_ctx *c, const struct sg_loc *l);
static const struct sg_cfg_val *lower_val(struct sg_cfg_ctx *c,
    const char *path);
static int lower_bool(const char *s, bool *out);
static int lower_int(const char *s, int64_t *out);
static const char *lower_int_hint(const char *s);

#define F(path, field) {path, offsetof(struct sg_cfg_flat, field)}
static const struct lower_field lower_fields[] = {
	F("listen.address", listen_address),
	F("listen.socket", listen_socket),
	F("listen.socket_mode", listen_socket_mode),
	F("listen.socket_uid", listen_socket_uid),
	F("listen.socket_gid", listen_socket_gid),
	F("listen.insecure_allow_plain_tcp", listen_insecure_allow_plain_tcp),
	F("listen.insecure_allow_unauthenticated_clients",
	    listen_insecure_allow_unauthenticated_clients),
	F("listen.max_connections", listen_max_connections),
	F("listen.tls.cert_file", listen_tls_cert_file),
	F("listen.tls.key_file", listen_tls_key_file),
	F("listen.tls.client_ca_file", listen_tls_client_ca_file),
	F("clients.default_profile", clients_default_profile),
	F("upstream.socket", upstream_socket),
	F("upstream.request_timeout", upstream_request_timeout),
	F("upstream.failover.health_interval", upstream_health_interval),
	F("upstream.failover.health_timeout", upstream_health_timeout),
	F("log.level", log_level),
	F("log.format", log_format),
	F("log.output", log_output),
	F("log.access_log", log_access_log),
	F("log.audit.enabled", log_audit_enabled),
	F("log.audit.format", log_audit_format),
	F("log.audit.output", log_audit_output),
	F("response.deny_verbosity", deny_verbosity),
	F("health.enabled", health_enabled),
	F("reload.enabled", reload_enabled),
	F("reload.debounce", reload_debounce),
	F("health.path", health_path),
	F("insecure_allow_read_exfiltration", insecure_allow_read_exfiltration),
	F("insecure_allow_browser_requests", insecure_allow_browser_requests),
	F("insecure_accept_opaque_buildkit_tunnels",
	    insecure_accept_opaque_buildkit_tunnels),
	F("rules_file", rules_file),
	F("min_api_version", min_api_version),
};
#undef F

#define FL(field, path, name) {offsetof(struct sg_load_opts, field), path, name}
static const struct lower_flag lower_flag_table[] = {
	FL(listen_socket, "listen.socket", "--listen-socket"),
	FL(upstream_socket, "upstream.socket", "--upstream-socket"),
	FL(log_level, "log.level", "--log-level"),
	FL(log_format, "log.format", "--log-format"),
	FL(deny_verbosity, "response.deny_verbosity", "--deny-verbosity"),
};
#undef FL

/* Go strconv.ParseBool (SPEC conventions). */
static const char *const lower_true[] = {"1", "t", "T", "TRUE", "true",
    "True"};
static const char *const lower_false[] = {"0", "f", "F", "FALSE", "false",
    "False"};

static const char *const lower_rule_keys[] = {"match", "action", "reason"};
static const char *const lower_ep_keys[] = {"address", "tls",
    "insecure_allow_plain_tcp", "insecure_skip_tls_verify"};
static const char *const lower_ep_tls_keys[] = {"ca_file", "cert_file",
    "key_file", "server_name"};
static const char *const lower_match_keys[] = {"method", "path"};
static const char *const lower_lst_keys[] = {"name", "socket", "address",
    "socket_mode", "socket_uid", "socket_gid", "insecure_allow_plain_tcp",
    "insecure_allow_unauthenticated_clients", "max_connections", "tls",
    "allowed_profiles"};
static const char *const lower_tls_keys[] = {"cert_file", "key_file",
    "client_ca_file", "common_names", "dns_names", "ip_addresses", "uri_sans",
    "public_key_sha256_pins"};
static const char *const lower_prof_keys[] = {"name", "mode", "rules",
    "response", "request_body", "limits"};
static const char *const lower_ip_keys[] = {"profile", "cidrs"};
static const char *const lower_cert_keys[] = {"profile", "common_names",
    "dns_names", "ip_addresses", "uri_sans", "spiffe_ids",
    "public_key_sha256_pins"};
static const char *const lower_peer_keys[] = {"profile", "uids", "gids",
    "pids"};

/* A list of strings as written, with where each item was. */
struct lower_strs {
	const char **v;
	struct sg_loc *locs;
	size_t n;
};

/* What a client-certificate selector list must hold (SPEC 2.4.4). */
enum lower_sel_kind {
	LOWER_SEL_NAME = 0,  /* common_names, dns_names: non-empty */
	LOWER_SEL_IP,
	LOWER_SEL_URI,
	LOWER_SEL_SPIFFE,
	LOWER_SEL_PIN,
};

static void lower_strs_node(struct sg_cfg_ctx *c, const struct sg_node *m,
    const char *key, struct lower_strs *out);
static void lower_strs_key(struct sg_cfg_ctx *c, const char *path,
    struct lower_strs *out);
static void lower_ints_node(struct sg_cfg_ctx *c, const struct sg_node *m,
    const char *key, int64_t **v, size_t *n);
static void lower_sel(struct sg_cfg_ctx *c, const struct lower_strs *in,
    enum lower_sel_kind kind, const char *label, const char *key,
    const char *field, struct sg_ir_strlist *out);
static void lower_sel_member(struct sg_cfg_ctx *c, const struct sg_node *m,
    const char *label, const char *key, struct sg_ir_cert_sel *sel);
static void lower_int_member(struct sg_cfg_ctx *c, const struct sg_node *m,
    const char *key, int64_t *out, struct sg_loc *loc);
static char *lower_trim(struct sg_arena *a, const char *s);
static struct sg_loc lower_vloc(const struct sg_node *m);

struct sg_ir *
sg_cfg_load(struct sg_arena *a, const struct sg_load_opts *o,
    struct sg_diag *d)
{
	const char *path = o->config_path ? o->config_path :
	    SG_CFG_DEFAULT_PATH;
	struct sg_loc loc = {path, 0, 0};
	char *buf;
	size_t len;

	if (o->config_explicit && path[0] == '\0') {
		sg_diag_error(d, NULL, NULL,
		    "config file path cannot be empty");
		return NULL;
	}
	if (sg_cfg_read(a, path, false, &buf, &len) == -1) {
		int err = errno;

		if (err == ENOENT && !o->config_explicit && !o->require_file)
			return lower_run(a, o, NULL, "", 0, false, d);
		if (err == EFBIG)
			sg_diag_error(d, &loc, NULL, "config file: %s: larger "
			    "than %u bytes", path, LOWER_MAX_FILE);
		else
			sg_diag_error(d, &loc, NULL, "config file: %s: %s",
			    path, strerror(err));
		return NULL;
	}
	return lower_run(a, o, path, buf, len, true, d);
}

struct sg_ir *
sg_cfg_load_bytes(struct sg_arena *a, const struct sg_load_opts *o,
    const char *name, const char *buf, size_t len, struct sg_diag *d)
{
	return lower_run(a, o, sg_arena_strdup(a, name ? name : "<config>"),
	    buf, len, true, d);
}

static struct sg_ir *
lower_run(struct sg_arena *a, const struct sg_load_opts *o, const char *name,
    const char *buf, size_t len, bool have_file, struct sg_diag *d)
{
	struct sg_cfg_ctx c;
	struct sg_cfg_flat flat;
	struct sg_node *root = NULL;
	struct sg_ir *ir;
	size_t nerr = d->nerr;
	bool blank;

	memset(&c, 0, sizeof(c));
	c.a = a;
	c.d = d;
	c.o = o;
	c.file = have_file ? sg_arena_strdup(a, name) : NULL;
	sg_cfg_keys(&c.nkeys);
	c.vals = sg_arena_alloc(a, c.nkeys * sizeof(*c.vals));

	/* a blank file sets nothing (YAML would refuse a tab in it) */
	blank = have_file && lower_blank(buf, len);
	if (have_file && !blank) {
		root = sg_cfg_yaml_parse(a, d, c.file, buf, len);
		if (root != NULL)
			lower_walk(&c, root, "");
	}
	sg_cfg_env_overlay(&c);
	lower_flags(&c);
	if (have_file && !blank && root == NULL)
		return NULL; /* syntax error: nothing sensible to check */

	memset(&flat, 0, sizeof(flat));
	flat.rules_ok = true;
	lower_flat(&c, &flat);
	ir = sg_arena_alloc(a, sizeof(*ir));
	ir->config_path = c.file;
	ir->config_blank = blank;
	lower_build(&c, &flat, ir);
	lower_listeners(&c, &flat, ir);
	lower_upstream(&c, &flat, ir);
	lower_rules(&c, &flat, ir);
	if (flat.rules_ok)
		(void)sg_cfg_compat(&c, ir);
	lower_clients(&c, &flat, ir);
	lower_keylocs(&c, ir);
	/* Values that failed to convert kept their defaults: go on and
	 * report the semantic problems of the rest too. */
	sg_ir_check(ir, &flat, d);
	return d->nerr > nerr ? NULL : ir;
}

/* ---- YAML tree against the key table ---- */

static void
lower_walk(struct sg_cfg_ctx *c, const struct sg_node *map, const char *prefix)
{
	const struct sg_node *m;

	for (m = map->child; m != NULL; m = m->next) {
		const char *path = prefix[0] ? sg_arena_printf(c->a, "%s.%s",
		    prefix, m->key) : m->key;
		const struct sg_key *k;
		struct sg_cfg_val *v;

		/* "listen.address" as one key would bypass the duplicate
		 * check against a nested listen: address: */
		if (strchr(m->key, '.') != NULL) {
			lower_dotted_key(c, m, path);
			continue;
		}
		k = sg_cfg_key_find(path);
		if (k == NULL) {
			const char *s = sg_cfg_key_suggest(prefix, m->key);

			if (s != NULL)
				sg_diag_error(c->d, &m->key_loc, path,
				    "unknown key \"%s\"; did you mean \"%s\"?",
				    path, s);
			else
				sg_diag_error(c->d, &m->key_loc, path,
				    "unknown key \"%s\"", path);
			continue;
		}
		if (k->type == SG_KEY_UNSUPPORTED) {
			sg_diag_error(c->d, &m->key_loc, path, "%s is not "
			    "supported yet by this version of sockguard", path);
			continue;
		}
		v = &c->vals[sg_cfg_key_index(k)];
		v->src = SG_CFG_SRC_YAML;
		v->node = m;
		v->loc = m->kind == SG_NODE_SCALAR && !m->null ? m->loc :
		    m->key_loc;
		if (k->type != SG_KEY_SECTION)
			continue;
		if (m->kind == SG_NODE_MAP)
			lower_walk(c, m, path);
		else if (!m->null)
			sg_diag_error(c->d, &m->loc, path, "expected a "
			    "mapping, got %s", lower_kind(m));
	}
}

/*
 * A mapping key with a '.' in it: keys are one level each, so say how to
 * write it nested ("listen.address: x" -> "listen: {address: x}").
 */
static void
lower_dotted_key(struct sg_cfg_ctx *c, const struct sg_node *m,
    const char *path)
{
	const char *k = m->key, *dot;
	char *nested = sg_arena_strdup(c->a, "");
	size_t depth = 0;

	for (; (dot = strchr(k, '.')) != NULL; k = dot + 1, depth++)
		nested = sg_arena_printf(c->a, "%s%.*s: {", nested,
		    (int)(dot - k), k);
	nested = sg_arena_printf(c->a, "%s%s: ...", nested, k);
	while (depth-- > 0)
		nested = sg_arena_printf(c->a, "%s}", nested);
	sg_diag_error(c->d, &m->key_loc, path, "key \"%s\" contains '.': "
	    "mapping keys cannot be dotted paths, each level must be nested "
	    "(write %s)", m->key, nested);
}

static void
lower_flags(struct sg_cfg_ctx *c)
{
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(lower_flag_table); i++) {
		const struct lower_flag *fl = &lower_flag_table[i];
		const char *v;
		struct sg_cfg_val *cv;

		memcpy(&v, (const char *)c->o + fl->off, sizeof(v));
		if (v == NULL)
			continue;
		cv = &c->vals[sg_cfg_key_index(sg_cfg_key_find(fl->path))];
		cv->src = SG_CFG_SRC_FLAG;
		cv->node = NULL;
		cv->text = v;
		cv->loc = (struct sg_loc){sg_arena_printf(c->a, "flag:%s",
		    fl->name), 0, 0};
	}
}

/* ---- typed values ---- */

static void
lower_flat(struct sg_cfg_ctx *c, struct sg_cfg_flat *f)
{
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(lower_fields); i++) {
		const struct sg_key *k = sg_cfg_key_find(lower_fields[i].path);
		const struct sg_cfg_val *v = &c->vals[sg_cfg_key_index(k)];
		struct sg_cfg_val def = {SG_CFG_SRC_DEFAULT, {NULL, 0, 0},
		    NULL, k->def};
		void *dst = (char *)f + lower_fields[i].off;

		/* The default first, so an unusable value leaves it. */
		if (k->type == SG_KEY_INT && k->def == NULL) {
			int64_t unset = LOWER_UNSET;

			memcpy(dst, &unset, sizeof(unset));
		} else {
			lower_value(c, k, &def, dst);
		}
		if (v->src != SG_CFG_SRC_DEFAULT)
			lower_value(c, k, v, dst);
	}
}

static void
lower_value(struct sg_cfg_ctx *c, const struct sg_key *k,
    const struct sg_cfg_val *v, void *dst)
{
	const struct sg_node *n = v->node;
	const char *s = v->text;

	if (n != NULL) {
		if (n->kind != SG_NODE_SCALAR) {
			const char *want = k->type == SG_KEY_STR ?
			    "a string" : k->type == SG_KEY_BOOL ?
			    "a boolean (true or false)" :
			    k->type == SG_KEY_DURATION ?
			    "a duration string (e.g. \"30s\")" : "an integer";

			sg_diag_error(c->d, &n->loc, k->path,
			    "expected %s, got %s", want, lower_kind(n));
			return;
		}
		if (n->null && k->type != SG_KEY_STR)
			return; /* null: keep the default */
		s = n->null ? "" : n->str;
	}
	switch (k->type) {
	case SG_KEY_STR:
	case SG_KEY_DURATION: {
		/* durations stay text: ir_check knows their special values */
		const char *p = sg_arena_strdup(c->a, s);
		int64_t ns;

		memcpy(dst, &p, sizeof(p));
		/* Only the upper bound here: the rest is ir_check's. */
		if (k->type == SG_KEY_DURATION &&
		    sg_duration_parse(s, strlen(s), &ns) == 0 &&
		    ns > SG_DURATION_MAX_NS)
			sg_diag_error(c->d, &v->loc, k->path, "%s must be at "
			    "most " SG_DURATION_MAX_TEXT ", got \"%s\"",
			    k->path, s);
		break;
	}
	case SG_KEY_BOOL: {
		bool b;

		if (lower_bool(s, &b) == -1)
			sg_diag_error(c->d, &v->loc, k->path, "expected a "
			    "boolean (true or false), got \"%s\"", s);
		else
			memcpy(dst, &b, sizeof(b));
		break;
	}
	case SG_KEY_INT: {
		int64_t x;

		if (lower_int(s, &x) == -1)
			sg_diag_error(c->d, &v->loc, k->path, "expected an "
			    "integer, got \"%s\"%s", s, lower_int_hint(s));
		else
			memcpy(dst, &x, sizeof(x));
		break;
	}
	default:
		break;
	}
}

/* ---- the IR ---- */

static void
lower_build(struct sg_cfg_ctx *c, const struct sg_cfg_flat *f,
    struct sg_ir *ir)
{
	struct sg_ir_listener *l = sg_arena_alloc(c->a, sizeof(*l));
	struct sg_ir_endpoint *ep = sg_arena_alloc(c->a, sizeof(*ep));
	const struct sg_cfg_val *v;

	l->name = "default";
	l->socket = f->listen_socket;
	l->address = f->listen_address;
	l->socket_mode = 0600;
	l->socket_uid = f->listen_socket_uid == LOWER_UNSET ? -1 :
	    f->listen_socket_uid;
	l->socket_gid = f->listen_socket_gid == LOWER_UNSET ? -1 :
	    f->listen_socket_gid;
	l->insecure_allow_plain_tcp = f->listen_insecure_allow_plain_tcp;
	l->insecure_allow_unauthenticated_clients =
	    f->listen_insecure_allow_unauthenticated_clients;
	l->max_connections = 4096;
	l->admit_all = true;  /* SPEC 2.4.1: allowed_profiles ["*"] */
	l->named = false;
	v = lower_val(c, "listen");
	if (v->src != SG_CFG_SRC_DEFAULT)
		l->loc = v->loc;
	lower_legacy_tls(c, f, l);
	ir->listeners = l;
	ir->nlisteners = 1;

	ir->upstream.socket = f->upstream_socket;
	ep->kind = SG_EP_UNIX;
	ep->path = f->upstream_socket;
	ep->address = sg_arena_printf(c->a, "unix://%s", f->upstream_socket);
	v = lower_val(c, "upstream.socket");
	if (v->src != SG_CFG_SRC_DEFAULT)
		ep->loc = v->loc;
	ir->upstream.endpoints = ep;
	ir->upstream.nendpoints = 1;
	ir->upstream.endpoints_configured = false;
	ir->upstream.source = SG_EPSRC_SOCKET;
	ir->upstream.request_timeout_ns = 0;
	ir->upstream.health_interval_ns = 5 * SG_NS_PER_SEC;
	ir->upstream.health_timeout_ns = 2 * SG_NS_PER_SEC;

	ir->log.level = SG_LOG_INFO;
	ir->log.format = SG_LOGFMT_JSON;
	ir->log.output = f->log_output;
	ir->log.access_log = f->log_access_log;
	ir->log.audit_enabled = f->log_audit_enabled;
	ir->log.audit_output = f->log_audit_output;

	ir->deny_verbosity = SG_DENY_MINIMAL;
	ir->health_enabled = f->health_enabled;
	ir->reload_enabled = f->reload_enabled;
	ir->health_path = f->health_path;
	ir->insecure_allow_read_exfiltration =
	    f->insecure_allow_read_exfiltration;
	ir->insecure_allow_browser_requests =
	    f->insecure_allow_browser_requests;
	ir->insecure_accept_opaque_buildkit_tunnels =
	    f->insecure_accept_opaque_buildkit_tunnels;
	ir->min_api_major = 1;
	ir->min_api_minor = 24;
	ir->rules_file = "";
}

/* ---- upstream endpoints (SPEC 2.5.1-2.5.4) ---- */

/*
 * Precedence: a non-empty upstream.endpoints list, else a TCP
 * DOCKER_HOST, else the single upstream.socket endpoint lower_build made.
 * Only structure and addresses here; ir_check does the TLS rules, the
 * certificate files and the warnings.
 */
static void
lower_upstream(struct sg_cfg_ctx *c, struct sg_cfg_flat *f, struct sg_ir *ir)
{
	const struct sg_cfg_val *v = lower_val(c, "upstream.endpoints");
	struct sg_ir_upstream *up = &ir->upstream;
	const struct sg_node *item;
	struct sg_ir_endpoint *ep;
	struct sg_cfg_ep_src *src;
	size_t i;

	if (v->src == SG_CFG_SRC_YAML && !v->node->null) {
		const struct sg_node *seq = v->node;

		if (seq->kind != SG_NODE_SEQ) {
			sg_diag_error(c->d, &seq->loc, "upstream.endpoints",
			    "expected a sequence of endpoints, got %s",
			    lower_kind(seq));
			return;
		}
		if (seq->nchild > 0) {
			ep = sg_arena_alloc(c->a, seq->nchild * sizeof(*ep));
			src = sg_arena_alloc(c->a, seq->nchild * sizeof(*src));
			for (item = seq->child, i = 0; item != NULL;
			    item = item->next, i++)
				lower_endpoint(c, item, i, &ep[i], &src[i]);
			up->endpoints = ep;
			up->nendpoints = seq->nchild;
			up->endpoints_configured = true;
			up->source = SG_EPSRC_ENDPOINTS;
			f->ep_src = src;
			return;
		}
		/* endpoints: [] is "not configured" */
	}
	ep = sg_arena_alloc(c->a, sizeof(*ep));
	src = sg_arena_alloc(c->a, sizeof(*src));
	if (sg_cfg_env_docker(c, ep, src)) {
		up->endpoints = ep;
		up->nendpoints = 1;
		up->source = SG_EPSRC_DOCKER_HOST;
		f->ep_src = src;
	}
}

static void
lower_endpoint(struct sg_cfg_ctx *c, const struct sg_node *item, size_t i,
    struct sg_ir_endpoint *ep, struct sg_cfg_ep_src *src)
{
	const char *label = sg_arena_printf(c->a, "upstream.endpoints[%zu]", i);
	const struct sg_node *m, *an = NULL;
	const char *addr = NULL, *why;
	size_t nerr = c->d->nerr;

	ep->loc = item->loc;
	ep->address = "";
	src->key = label;
	src->address = item->loc;
	if (item->kind != SG_NODE_MAP) {
		if (item->kind == SG_NODE_SCALAR && !item->null)
			sg_diag_error(c->d, &item->loc, label, "expected a "
			    "mapping with address, tls, "
			    "insecure_allow_plain_tcp and "
			    "insecure_skip_tls_verify, got a scalar; write it "
			    "as \"- address: %s\"", item->str);
		else
			sg_diag_error(c->d, &item->loc, label, "expected a "
			    "mapping with address, tls, "
			    "insecure_allow_plain_tcp and "
			    "insecure_skip_tls_verify, got %s",
			    item->null ? "null" : lower_kind(item));
		src->partial = true;
		return;
	}
	for (m = item->child; m != NULL; m = m->next) {
		const char *mkey = sg_arena_printf(c->a, "%s.%s", label,
		    m->key);

		if (strcmp(m->key, "address") == 0) {
			an = m;
			addr = lower_rule_str(c, m, mkey);
			src->address = m->kind == SG_NODE_SCALAR && !m->null ?
			    m->loc : m->key_loc;
		} else if (strcmp(m->key, "tls") == 0) {
			lower_endpoint_tls(c, item, m, mkey, ep, src);
		} else if (strcmp(m->key, "insecure_allow_plain_tcp") == 0) {
			lower_endpoint_bool(c, m, mkey,
			    &ep->insecure_allow_plain_tcp, &src->plain_tcp);
		} else if (strcmp(m->key, "insecure_skip_tls_verify") == 0) {
			lower_endpoint_bool(c, m, mkey,
			    &ep->insecure_skip_tls_verify, &src->skip_verify);
		} else {
			lower_rule_unknown(c, label, m, lower_ep_keys,
			    SG_ARRAY_LEN(lower_ep_keys));
		}
	}
	src->partial = c->d->nerr > nerr;
	ep->tls = ep->ca_file != NULL || ep->cert_file != NULL ||
	    ep->key_file != NULL || ep->insecure_skip_tls_verify;

	if (an == NULL) {
		sg_diag_error(c->d, &item->loc, label, "address is required "
		    "(e.g. tcp://dockerd:2376 or unix:///var/run/docker.sock)");
		return;
	}
	if (an->kind != SG_NODE_SCALAR)
		return; /* reported by lower_rule_str */
	if (addr == NULL || addr[0] == '\0') {
		sg_diag_error(c->d, &src->address, label, "address is empty "
		    "(e.g. tcp://dockerd:2376 or unix:///var/run/docker.sock)");
		return;
	}
	ep->address = addr;
	if (sg_cfg_ep_address(c->a, addr, ep, &why) == -1) {
		sg_diag_error(c->d, &src->address, label, "%s", why);
		return;
	}
	src->addr_ok = true;
}

static void
lower_endpoint_tls(struct sg_cfg_ctx *c, const struct sg_node *item,
    const struct sg_node *m, const char *mkey, struct sg_ir_endpoint *ep,
    struct sg_cfg_ep_src *src)
{
	const struct sg_node *t;

	if (m->kind != SG_NODE_MAP) {
		if (!m->null)
			sg_diag_error(c->d, &m->loc, mkey, "expected a mapping "
			    "with ca_file, cert_file, key_file and "
			    "server_name, got %s", lower_kind(m));
		return;
	}
	src->tls = m->key_loc;
	for (t = m->child; t != NULL; t = t->next) {
		const char *tkey = sg_arena_printf(c->a, "%s.%s", mkey,
		    t->key);
		const char **dst;
		struct sg_loc *dl;
		const char *v;

		if (strcmp(t->key, "ca_file") == 0) {
			dst = &ep->ca_file;
			dl = &src->ca_file;
		} else if (strcmp(t->key, "cert_file") == 0) {
			dst = &ep->cert_file;
			dl = &src->cert_file;
		} else if (strcmp(t->key, "key_file") == 0) {
			dst = &ep->key_file;
			dl = &src->key_file;
		} else if (strcmp(t->key, "server_name") == 0) {
			dst = &ep->server_name;
			dl = &src->server_name;
		} else if (strcmp(t->key, "insecure_skip_tls_verify") == 0) {
			/* A common slip: show where it belongs. */
			const struct sg_node *an = lower_member(item,
			    "address"), *o;
			const char *shown = "", *addr = "tcp://dockerd:2376";

			if (an != NULL && an->kind == SG_NODE_SCALAR &&
			    !an->null)
				addr = an->str;
			for (o = m->child; o != NULL; o = o->next)
				if (o != t && o->kind == SG_NODE_SCALAR &&
				    !o->null)
					shown = sg_arena_printf(c->a, "%s%s%s: "
					    "%s", shown, shown[0] ? ", " : "",
					    o->key, o->str);
			sg_diag_error(c->d, &t->key_loc, tkey,
			    "insecure_skip_tls_verify is an endpoint-level "
			    "field, a sibling of tls (next to address and "
			    "insecure_allow_plain_tcp), not a key inside the "
			    "tls block; write the endpoint as {address: %s, "
			    "tls: {%s}, insecure_skip_tls_verify: %s}", addr,
			    shown, t->kind == SG_NODE_SCALAR && !t->null ?
			    t->str : "true");
			continue;
		} else {
			lower_rule_unknown(c, mkey, t, lower_ep_tls_keys,
			    SG_ARRAY_LEN(lower_ep_tls_keys));
			continue;
		}
		v = lower_rule_str(c, t, tkey);
		if (v != NULL && v[0] != '\0') {
			*dst = v;
			*dl = t->loc;
		}
	}
}

static void
lower_endpoint_bool(struct sg_cfg_ctx *c, const struct sg_node *m,
    const char *key, bool *out, struct sg_loc *loc)
{
	if (m->kind != SG_NODE_SCALAR)
		sg_diag_error(c->d, &m->loc, key, "expected a boolean (true "
		    "or false), got %s", lower_kind(m));
	else if (m->null)
		return; /* the default, false */
	else if (lower_bool(m->str, out) == -1)
		sg_diag_error(c->d, &m->loc, key, "expected a boolean (true "
		    "or false), got \"%s\"", m->str);
	else
		*loc = m->loc;
}

static const struct sg_node *
lower_member(const struct sg_node *map, const char *key)
{
	const struct sg_node *m;

	for (m = map->child; m != NULL; m = m->next)
		if (strcmp(m->key, key) == 0)
			return m;
	return NULL;
}

#define LOWER_EG_ADDR "(e.g. tcp://host:2376 or unix:///var/run/docker.sock)"

int
sg_cfg_ep_address(struct sg_arena *a, const char *s, struct sg_ir_endpoint *ep,
    const char **why)
{
	const char *sep;
	size_t sl, i;

	/* Bare paths are unix sockets (SPEC 2.5.2). */
	if (s[0] == '/' || strncmp(s, "./", 2) == 0 ||
	    strncmp(s, "../", 3) == 0) {
		ep->kind = SG_EP_UNIX;
		ep->path = sg_arena_strdup(a, s);
		return 0;
	}
	sep = strstr(s, "://");
	sl = sep != NULL ? (size_t)(sep - s) : 0;
	for (i = 0; i < sl; i++)
		if (!isalpha((unsigned char)s[i]) && (i == 0 ||
		    (!isdigit((unsigned char)s[i]) &&
		    strchr("+-.", s[i]) == NULL)))
			break;
	if (sep == NULL || sl == 0 || i < sl) {
		*why = s[0] == '\0' ? "address is empty " LOWER_EG_ADDR :
		    sg_arena_printf(a, "address must be a unix path or a "
		    "unix://, tcp:// URL " LOWER_EG_ADDR ", got \"%s\"", s);
		return -1;
	}
	if (sl == 4 && strncasecmp(s, "unix", 4) == 0) {
		const char *p = sep + 3;

		if (p[0] == '\0') {
			*why = "unix:// address needs a socket path (e.g. "
			    "unix:///var/run/docker.sock)";
			return -1;
		}
		if (p[0] != '/') {
			*why = sg_arena_printf(a, "unix:// address must have "
			    "an empty host and an absolute path (three "
			    "slashes, e.g. unix:///var/run/docker.sock), got "
			    "\"%s\"", s);
			return -1;
		}
		ep->kind = SG_EP_UNIX;
		ep->path = sg_arena_strdup(a, p);
		return 0;
	}
	if ((sl == 3 && strncasecmp(s, "tcp", 3) == 0) ||
	    (sl == 4 && strncasecmp(s, "http", 4) == 0) ||
	    (sl == 5 && strncasecmp(s, "https", 5) == 0))
		return lower_tcp_address(a, s, sep + 3, ep, why);
	*why = sg_arena_printf(a, "unsupported scheme \"%.*s\" (use unix:// or "
	    "tcp://)", (int)sl, s);
	return -1;
}

#define LOWER_NEED_PORT "TCP address must include a port (e.g. tcp://host:2376)"

/* host:port after "tcp://"; IPv6 literals in brackets (SPEC 2.5.2). */
static int
lower_tcp_address(struct sg_arena *a, const char *s, const char *auth,
    struct sg_ir_endpoint *ep, const char **why)
{
	size_t alen = strcspn(auth, "/?#");
	const char *end = auth + alen, *host, *hend, *port, *p;
	long pn = 0;

	if (*end != '\0' && strcmp(end, "/") != 0) {
		*why = sg_arena_printf(a, "TCP address must be "
		    "tcp://host:port with no path, query or fragment, got "
		    "\"%s\"", s);
		return -1;
	}
	if (memchr(auth, '@', alen) != NULL) {
		*why = sg_arena_printf(a, "TCP address must not contain user "
		    "information, got \"%s\"", s);
		return -1;
	}
	if (auth[0] == '[') {
		const char *rb = memchr(auth, ']', alen);
		char buf[INET6_ADDRSTRLEN + 64];
		struct in6_addr a6;
		size_t hl;

		host = auth + 1;
		hend = rb;
		hl = rb != NULL ? (size_t)(rb - host) : 0;
		if (rb != NULL && hl < sizeof(buf)) {
			memcpy(buf, host, hl);
			buf[hl] = '\0';
			buf[strcspn(buf, "%")] = '\0'; /* zone: fe80::1%eth0 */
		}
		if (rb == NULL || hl == 0 || hl >= sizeof(buf) ||
		    inet_pton(AF_INET6, buf, &a6) != 1) {
			*why = sg_arena_printf(a, "invalid IPv6 address in "
			    "TCP address \"%s\" (write it as "
			    "tcp://[::1]:2376)", s);
			return -1;
		}
		if (rb + 1 != end && rb[1] != ':') {
			*why = sg_arena_printf(a, "invalid TCP address \"%s\": "
			    "expected :port after ]", s);
			return -1;
		}
		port = rb + 1 == end ? end : rb + 2;
	} else {
		const char *colon = NULL;

		for (p = auth; p < end; p++)
			if (*p == ':')
				colon = p;
		host = auth;
		hend = colon != NULL ? colon : end;
		if (hend == host) {
			*why = "TCP address must include a host (e.g. "
			    "tcp://host:2376)";
			return -1;
		}
		if (memchr(host, ':', (size_t)(hend - host)) != NULL) {
			*why = sg_arena_printf(a, "IPv6 addresses must be in "
			    "brackets (e.g. tcp://[::1]:2376), got \"%s\"", s);
			return -1;
		}
		for (p = host; p < hend; p++)
			if (!isalnum((unsigned char)*p) &&
			    strchr("-._", *p) == NULL) {
				*why = sg_arena_printf(a, "invalid host "
				    "\"%.*s\" in TCP address \"%s\"",
				    (int)(hend - host), host, s);
				return -1;
			}
		port = colon != NULL ? colon + 1 : end;
	}
	if (port == end) {
		*why = LOWER_NEED_PORT;
		return -1;
	}
	for (p = port; p < end; p++) {
		if (*p < '0' || *p > '9' || pn > 65535) {
			pn = 0;
			break;
		}
		pn = pn * 10 + (*p - '0');
	}
	if (pn < 1 || pn > 65535) {
		*why = sg_arena_printf(a, LOWER_NEED_PORT "; \"%.*s\" is not a "
		    "port number 1-65535", (int)(end - port), port);
		return -1;
	}
	ep->kind = SG_EP_TCP;
	ep->host = sg_arena_strndup(a, host, (size_t)(hend - host));
	ep->port = sg_arena_printf(a, "%ld", pn);
	return 0;
}

/* ---- listeners (SPEC 2.4.1-2.4.5) ---- */

/* Offsets of the selector lists in struct sg_ir_cert_sel. */
#define LOWER_SEL(f) offsetof(struct sg_ir_cert_sel, f)

static const struct lower_sel_field {
	const char *field;
	enum lower_sel_kind kind;
	size_t off;
} lower_sel_fields[] = {
	{"common_names", LOWER_SEL_NAME, LOWER_SEL(common_names)},
	{"dns_names", LOWER_SEL_NAME, LOWER_SEL(dns_names)},
	{"ip_addresses", LOWER_SEL_IP, LOWER_SEL(ip_addresses)},
	{"uri_sans", LOWER_SEL_URI, LOWER_SEL(uri_sans)},
	{"spiffe_ids", LOWER_SEL_SPIFFE, LOWER_SEL(spiffe_ids)},
	{"public_key_sha256_pins", LOWER_SEL_PIN,
	    LOWER_SEL(public_key_sha256_pins)},
};
#undef LOWER_SEL

static struct sg_ir_strlist *
lower_sel_at(struct sg_ir_cert_sel *sel, const struct lower_sel_field *f)
{
	return (struct sg_ir_strlist *)(void *)((char *)sel + f->off);
}

static bool
lower_tls_enabled(const struct sg_ir_tls_server *t)
{
	return t->cert_file != NULL || t->key_file != NULL ||
	    t->client_ca_file != NULL || t->sel.common_names.n > 0 ||
	    t->sel.dns_names.n > 0 || t->sel.ip_addresses.n > 0 ||
	    t->sel.uri_sans.n > 0 || t->sel.public_key_sha256_pins.n > 0;
}

/* listen.tls: the files from the flat values, the selector lists here. */
static void
lower_legacy_tls(struct sg_cfg_ctx *c, const struct sg_cfg_flat *f,
    struct sg_ir_listener *l)
{
	struct sg_ir_tls_server *t = &l->tls;
	size_t i;

	t->cert_file = f->listen_tls_cert_file[0] != '\0' ?
	    f->listen_tls_cert_file : NULL;
	t->key_file = f->listen_tls_key_file[0] != '\0' ?
	    f->listen_tls_key_file : NULL;
	t->client_ca_file = f->listen_tls_client_ca_file[0] != '\0' ?
	    f->listen_tls_client_ca_file : NULL;
	for (i = 0; i < SG_ARRAY_LEN(lower_sel_fields); i++) {
		const struct lower_sel_field *sf = &lower_sel_fields[i];
		struct lower_strs in;

		if (sf->kind == LOWER_SEL_SPIFFE)
			continue; /* profiles only */
		lower_strs_key(c, sg_arena_printf(c->a, "listen.tls.%s",
		    sf->field), &in);
		lower_sel(c, &in, sf->kind, "listen.tls", "listen.tls",
		    sf->field, lower_sel_at(&t->sel, sf));
	}
	t->enabled = lower_tls_enabled(t);
}

/*
 * A non-empty listeners: list replaces the legacy listener lower_build
 * made; ir_check reports a listen: key set next to it (SPEC 2.4.5).
 */
static void
lower_listeners(struct sg_cfg_ctx *c, struct sg_cfg_flat *f, struct sg_ir *ir)
{
	const struct sg_node *seq = lower_seq(c, "listeners", "listeners"),
	    *item;
	struct sg_ir_listener *ls;
	struct sg_cfg_lst_src *src;
	size_t i;

	if (seq == NULL)
		return;
	ls = sg_arena_alloc(c->a, seq->nchild * sizeof(*ls));
	src = sg_arena_alloc(c->a, seq->nchild * sizeof(*src));
	for (item = seq->child, i = 0; item != NULL; item = item->next, i++)
		lower_listener(c, item, i, &ls[i], &src[i]);
	ir->listeners = ls;
	ir->nlisteners = seq->nchild;
	f->lst_src = src;
}

static void
lower_listener(struct sg_cfg_ctx *c, const struct sg_node *item, size_t i,
    struct sg_ir_listener *l, struct sg_cfg_lst_src *s)
{
	const char *key = sg_arena_printf(c->a, "listeners[%zu]", i);
	const struct sg_node *m, *nm;
	size_t j;

	l->name = "";
	l->socket = "";
	l->address = "";
	l->socket_mode = 0600;
	l->socket_uid = -1;
	l->socket_gid = -1;
	l->max_connections = 4096;
	l->named = true;
	l->loc = item->loc;
	s->key = key;
	s->label = key;
	s->item = s->name = s->socket = s->address = s->socket_mode =
	    s->socket_uid = s->socket_gid = s->max_connections = s->plain_tcp =
	    s->unauth = s->tls = s->cert_file = s->key_file =
	    s->client_ca_file = s->allowed_profiles = item->loc;
	/* Omitted: the hardened owner-only mode, as for listen.socket_mode. */
	s->socket_mode_text = "0600";
	s->socket_uid_v = s->socket_gid_v = LOWER_UNSET;
	s->max_connections_v = 4096;
	if (item->kind != SG_NODE_MAP) {
		sg_diag_error(c->d, &item->loc, key, "expected a mapping with "
		    "name, socket or address, and allowed_profiles, got %s",
		    item->null ? "null" : lower_kind(item));
		s->not_map = true;
		return;
	}
	nm = lower_member(item, "name");
	if (nm != NULL) {
		const char *v = lower_rule_str(c, nm, sg_arena_printf(c->a,
		    "%s.name", key));

		l->name = v != NULL ? v : "";
		s->name = lower_vloc(nm);
		if (l->name[0] != '\0')
			s->label = sg_arena_printf(c->a, "listeners[%s]",
			    l->name);
	}
	for (m = item->child; m != NULL; m = m->next) {
		const char *mkey = sg_arena_printf(c->a, "%s.%s", key, m->key);
		const char *v;

		if (strcmp(m->key, "name") == 0) {
			continue;
		} else if (strcmp(m->key, "socket") == 0) {
			v = lower_rule_str(c, m, mkey);
			l->socket = v != NULL ? v : "";
			s->socket = lower_vloc(m);
		} else if (strcmp(m->key, "address") == 0) {
			v = lower_rule_str(c, m, mkey);
			l->address = v != NULL ? v : "";
			s->address = lower_vloc(m);
		} else if (strcmp(m->key, "socket_mode") == 0) {
			v = lower_rule_str(c, m, mkey);
			s->socket_mode_text = v != NULL ? v : "";
			s->socket_mode = lower_vloc(m);
		} else if (strcmp(m->key, "socket_uid") == 0) {
			lower_int_member(c, m, mkey, &s->socket_uid_v,
			    &s->socket_uid);
		} else if (strcmp(m->key, "socket_gid") == 0) {
			lower_int_member(c, m, mkey, &s->socket_gid_v,
			    &s->socket_gid);
		} else if (strcmp(m->key, "max_connections") == 0) {
			lower_int_member(c, m, mkey, &s->max_connections_v,
			    &s->max_connections);
		} else if (strcmp(m->key, "insecure_allow_plain_tcp") == 0) {
			lower_endpoint_bool(c, m, mkey,
			    &l->insecure_allow_plain_tcp, &s->plain_tcp);
		} else if (strcmp(m->key,
		    "insecure_allow_unauthenticated_clients") == 0) {
			lower_endpoint_bool(c, m, mkey,
			    &l->insecure_allow_unauthenticated_clients,
			    &s->unauth);
		} else if (strcmp(m->key, "tls") == 0) {
			lower_listener_tls(c, m, sg_arena_printf(c->a,
			    "%s.tls", s->label), mkey, &l->tls, s);
		} else if (strcmp(m->key, "allowed_profiles") == 0) {
			struct lower_strs in;

			lower_strs_node(c, m, mkey, &in);
			l->allowed_profiles.v = in.v;
			l->allowed_profiles.n = in.n;
			s->allowed_items = in.locs;
			s->allowed_profiles = m->key_loc;
		} else {
			lower_rule_unknown(c, key, m, lower_lst_keys,
			    SG_ARRAY_LEN(lower_lst_keys));
		}
	}
	/* ["*"] admits everything; "*" with names is an ir_check error. */
	for (j = 0; j < l->allowed_profiles.n; j++)
		if (strcmp(l->allowed_profiles.v[j], "*") == 0)
			l->admit_all = true;
	/* Values ir_check validates; the IR keeps -1 for "unset". */
	if (s->socket_uid_v != LOWER_UNSET)
		l->socket_uid = s->socket_uid_v;
	if (s->socket_gid_v != LOWER_UNSET)
		l->socket_gid = s->socket_gid_v;
}

static void
lower_listener_tls(struct sg_cfg_ctx *c, const struct sg_node *m,
    const char *label, const char *key, struct sg_ir_tls_server *t,
    struct sg_cfg_lst_src *s)
{
	const struct sg_node *k;

	s->tls = m->key_loc;
	if (m->kind != SG_NODE_MAP) {
		if (!m->null)
			sg_diag_error(c->d, &m->loc, key, "expected a mapping "
			    "with cert_file, key_file, client_ca_file and the "
			    "client certificate selectors, got %s",
			    lower_kind(m));
		return;
	}
	for (k = m->child; k != NULL; k = k->next) {
		const char *kkey = sg_arena_printf(c->a, "%s.%s", key, k->key);
		const char **dst = NULL, *v;
		struct sg_loc *dl = NULL;
		size_t i;

		if (strcmp(k->key, "cert_file") == 0) {
			dst = &t->cert_file;
			dl = &s->cert_file;
		} else if (strcmp(k->key, "key_file") == 0) {
			dst = &t->key_file;
			dl = &s->key_file;
		} else if (strcmp(k->key, "client_ca_file") == 0) {
			dst = &t->client_ca_file;
			dl = &s->client_ca_file;
		}
		if (dst != NULL) {
			v = lower_rule_str(c, k, kkey);
			if (v != NULL && v[0] != '\0') {
				*dst = v;
				*dl = k->loc;
			}
			continue;
		}
		for (i = 0; i < SG_ARRAY_LEN(lower_sel_fields); i++) {
			const struct lower_sel_field *sf = &lower_sel_fields[i];
			struct lower_strs in;

			if (sf->kind == LOWER_SEL_SPIFFE ||
			    strcmp(k->key, sf->field) != 0)
				continue;
			lower_strs_node(c, k, kkey, &in);
			lower_sel(c, &in, sf->kind, label, key, sf->field,
			    lower_sel_at(&t->sel, sf));
			break;
		}
		if (i == SG_ARRAY_LEN(lower_sel_fields))
			lower_rule_unknown(c, key, k, lower_tls_keys,
			    SG_ARRAY_LEN(lower_tls_keys));
	}
	t->enabled = lower_tls_enabled(t);
}

/* ---- clients (SPEC 3.8, 3.15) ---- */

static void
lower_clients(struct sg_cfg_ctx *c, struct sg_cfg_flat *f, struct sg_ir *ir)
{
	struct sg_ir_clients *cl = &ir->clients;
	struct sg_cfg_clients_src *cs = sg_arena_alloc(c->a, sizeof(*cs));
	const struct sg_node *seq, *item;
	struct lower_strs in;
	size_t i;

	lower_strs_key(c, "clients.allowed_cidrs", &in);
	cl->allowed_cidrs = sg_arena_alloc(c->a, (in.n + 1) *
	    sizeof(*cl->allowed_cidrs));
	for (i = 0; i < in.n; i++) {
		struct sg_ir_cidr *r = &cl->allowed_cidrs[cl->nallowed_cidrs];

		r->text = lower_trim(c->a, in.v[i]);
		if (sg_cfg_cidr_parse(r->text, r) == 0)
			cl->nallowed_cidrs++;
		else
			sg_diag_error(c->d, &in.locs[i],
			    "clients.allowed_cidrs", "clients.allowed_cidrs "
			    "entries must be valid CIDR prefixes, got \"%s\"",
			    in.v[i]);
	}
	cl->default_profile = f->clients_default_profile;

	seq = lower_seq(c, "clients.profiles", "client profiles");
	if (seq != NULL) {
		struct sg_cfg_prof_src *ps = sg_arena_alloc(c->a,
		    seq->nchild * sizeof(*ps));

		cl->profiles = sg_arena_alloc(c->a, seq->nchild *
		    sizeof(*cl->profiles));
		for (item = seq->child, i = 0; item != NULL;
		    item = item->next, i++)
			lower_profile(c, item, i, &cl->profiles[i], &ps[i]);
		cl->nprofiles = seq->nchild;
		cs->profiles = ps;
	}
	seq = lower_seq(c, "clients.source_ip_profiles",
	    "source IP assignments");
	if (seq != NULL) {
		struct sg_cfg_assign_src *as = sg_arena_alloc(c->a,
		    seq->nchild * sizeof(*as));

		cl->source_ip = sg_arena_alloc(c->a, seq->nchild *
		    sizeof(*cl->source_ip));
		for (item = seq->child, i = 0; item != NULL;
		    item = item->next, i++)
			lower_ip_assign(c, item, i, &cl->source_ip[i], &as[i]);
		cl->nsource_ip = seq->nchild;
		cs->source_ip = as;
	}
	seq = lower_seq(c, "clients.client_certificate_profiles",
	    "client certificate assignments");
	if (seq != NULL) {
		struct sg_cfg_assign_src *as = sg_arena_alloc(c->a,
		    seq->nchild * sizeof(*as));

		cl->cert = sg_arena_alloc(c->a, seq->nchild *
		    sizeof(*cl->cert));
		for (item = seq->child, i = 0; item != NULL;
		    item = item->next, i++)
			lower_cert_assign(c, item, i, &cl->cert[i], &as[i]);
		cl->ncert = seq->nchild;
		cs->cert = as;
	}
	seq = lower_seq(c, "clients.unix_peer_profiles",
	    "unix peer assignments");
	if (seq != NULL) {
		struct sg_cfg_assign_src *as = sg_arena_alloc(c->a,
		    seq->nchild * sizeof(*as));

		cl->unix_peer = sg_arena_alloc(c->a, seq->nchild *
		    sizeof(*cl->unix_peer));
		for (item = seq->child, i = 0; item != NULL;
		    item = item->next, i++)
			lower_peer_assign(c, item, i, &cl->unix_peer[i],
			    &as[i]);
		cl->nunix_peer = seq->nchild;
		cs->unix_peer = as;
	}
	f->cl_src = cs;
}

/*
 * One clients.profiles[] entry: name (trimmed), mode (SPEC 3.15, ""
 * is enforce) and rules lowered exactly like the top-level list. The
 * other profile keys of SPEC 2.3 are recognised but not supported yet.
 */
static void
lower_profile(struct sg_cfg_ctx *c, const struct sg_node *item, size_t i,
    struct sg_ir_profile *p, struct sg_cfg_prof_src *ps)
{
	const char *key = sg_arena_printf(c->a, "clients.profiles[%zu]", i);
	const struct sg_node *m;

	p->name = "";
	p->mode = SG_MODE_ENFORCE;
	p->loc = item->loc;
	ps->key = key;
	ps->name = ps->rules = item->loc;
	ps->rules_ok = true;
	if (item->kind != SG_NODE_MAP) {
		sg_diag_error(c->d, &item->loc, key, "expected a mapping with "
		    "name, mode and rules, got %s", item->null ? "null" :
		    lower_kind(item));
		ps->rules_ok = false;
		ps->not_map = true;
		return;
	}
	for (m = item->child; m != NULL; m = m->next) {
		const char *mkey = sg_arena_printf(c->a, "%s.%s", key, m->key);
		const char *v;

		if (strcmp(m->key, "name") == 0) {
			v = lower_rule_str(c, m, mkey);
			p->name = v != NULL ? lower_trim(c->a, v) : "";
			ps->name = lower_vloc(m);
		} else if (strcmp(m->key, "mode") == 0) {
			char *t;

			v = lower_rule_str(c, m, mkey);
			if (v == NULL)
				continue;
			t = lower_trim(c->a, v);
			for (v = t; *t != '\0'; t++)
				*t = (char)tolower((unsigned char)*t);
			if (v[0] == '\0' || strcmp(v, "enforce") == 0)
				p->mode = SG_MODE_ENFORCE;
			else if (strcmp(v, "warn") == 0)
				p->mode = SG_MODE_WARN;
			else if (strcmp(v, "audit") == 0)
				p->mode = SG_MODE_AUDIT;
			else
				sg_diag_error(c->d, &m->loc, mkey, "%s must be "
				    "one of enforce|warn|audit, got \"%s\"",
				    mkey, m->str);
		} else if (strcmp(m->key, "rules") == 0) {
			const struct sg_node *r;
			size_t j;

			ps->rules = m->key_loc;
			if (m->null)
				continue;
			if (m->kind != SG_NODE_SEQ) {
				sg_diag_error(c->d, &m->loc, mkey, "expected a "
				    "sequence of rules, got %s", lower_kind(m));
				ps->rules_ok = false;
				continue;
			}
			p->rules = sg_arena_alloc(c->a, (m->nchild + 1) *
			    sizeof(*p->rules));
			for (r = m->child, j = 0; r != NULL; r = r->next, j++)
				if (!lower_yaml_rule(c, r, sg_arena_printf(c->a,
				    "%s[%zu]", mkey, j), &p->rules[j]))
					ps->rules_ok = false;
			p->nrules = m->nchild;
		} else if (strcmp(m->key, "response") == 0 ||
		    strcmp(m->key, "request_body") == 0 ||
		    strcmp(m->key, "limits") == 0) {
			sg_diag_error(c->d, &m->key_loc, mkey, "%s is not "
			    "supported yet by this version of sockguard", mkey);
		} else {
			lower_rule_unknown(c, key, m, lower_prof_keys,
			    SG_ARRAY_LEN(lower_prof_keys));
		}
	}
}

/* The entry's profile: value, recorded where it was written. */
static const char *
lower_assign_profile(struct sg_cfg_ctx *c, const struct sg_node *m,
    const char *key, struct sg_cfg_assign_src *src)
{
	const char *v = lower_rule_str(c, m, key);

	src->profile = lower_vloc(m);
	return v != NULL ? v : "";
}

/* Common start of the three assignment kinds; false: not a mapping. */
static bool
lower_assign_item(struct sg_cfg_ctx *c, const struct sg_node *item,
    const char *key, const char *want, struct sg_loc *loc,
    const char **profile, struct sg_cfg_assign_src *src)
{
	*loc = item->loc;
	*profile = "";
	src->key = key;
	src->profile = item->loc;
	if (item->kind == SG_NODE_MAP)
		return true;
	sg_diag_error(c->d, &item->loc, key, "expected a mapping with %s, got "
	    "%s", want, item->null ? "null" : lower_kind(item));
	src->not_map = true;
	return false;
}

static void
lower_ip_assign(struct sg_cfg_ctx *c, const struct sg_node *item, size_t i,
    struct sg_ir_ip_assign *as, struct sg_cfg_assign_src *src)
{
	const char *key = sg_arena_printf(c->a,
	    "clients.source_ip_profiles[%zu]", i);
	const struct sg_node *m;

	if (!lower_assign_item(c, item, key, "profile and cidrs", &as->loc,
	    &as->profile, src))
		return;
	for (m = item->child; m != NULL; m = m->next) {
		const char *mkey = sg_arena_printf(c->a, "%s.%s", key, m->key);

		if (strcmp(m->key, "profile") == 0) {
			as->profile = lower_assign_profile(c, m, mkey, src);
		} else if (strcmp(m->key, "cidrs") == 0) {
			struct lower_strs in;
			size_t j;

			lower_strs_node(c, m, mkey, &in);
			as->cidrs = sg_arena_alloc(c->a, (in.n + 1) *
			    sizeof(*as->cidrs));
			as->ncidrs = 0;
			for (j = 0; j < in.n; j++) {
				struct sg_ir_cidr *r = &as->cidrs[as->ncidrs];

				r->text = lower_trim(c->a, in.v[j]);
				if (sg_cfg_cidr_parse(r->text, r) == 0)
					as->ncidrs++;
				else
					sg_diag_error(c->d, &in.locs[j], mkey,
					    "%s entries must be valid CIDR "
					    "prefixes, got \"%s\"", mkey,
					    in.v[j]);
			}
		} else {
			lower_rule_unknown(c, key, m, lower_ip_keys,
			    SG_ARRAY_LEN(lower_ip_keys));
		}
	}
}

static void
lower_cert_assign(struct sg_cfg_ctx *c, const struct sg_node *item, size_t i,
    struct sg_ir_cert_assign *as, struct sg_cfg_assign_src *src)
{
	const char *key = sg_arena_printf(c->a,
	    "clients.client_certificate_profiles[%zu]", i);
	const struct sg_node *m;

	if (!lower_assign_item(c, item, key, "profile and client certificate "
	    "selectors", &as->loc, &as->profile, src))
		return;
	for (m = item->child; m != NULL; m = m->next) {
		if (strcmp(m->key, "profile") == 0)
			as->profile = lower_assign_profile(c, m,
			    sg_arena_printf(c->a, "%s.profile", key), src);
		else
			lower_sel_member(c, m, key, key, &as->sel);
	}
}

/* A selector list member of a mapping (else an unknown key). */
static void
lower_sel_member(struct sg_cfg_ctx *c, const struct sg_node *m,
    const char *label, const char *key, struct sg_ir_cert_sel *sel)
{
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(lower_sel_fields); i++) {
		const struct lower_sel_field *sf = &lower_sel_fields[i];
		struct lower_strs in;

		if (strcmp(m->key, sf->field) != 0)
			continue;
		lower_strs_node(c, m, sg_arena_printf(c->a, "%s.%s", key,
		    m->key), &in);
		lower_sel(c, &in, sf->kind, label, key, sf->field,
		    lower_sel_at(sel, sf));
		return;
	}
	lower_rule_unknown(c, key, m, lower_cert_keys,
	    SG_ARRAY_LEN(lower_cert_keys));
}

static void
lower_peer_assign(struct sg_cfg_ctx *c, const struct sg_node *item, size_t i,
    struct sg_ir_peer_assign *as, struct sg_cfg_assign_src *src)
{
	const char *key = sg_arena_printf(c->a,
	    "clients.unix_peer_profiles[%zu]", i);
	const struct sg_node *m;

	if (!lower_assign_item(c, item, key, "profile and uids, gids or pids",
	    &as->loc, &as->profile, src))
		return;
	for (m = item->child; m != NULL; m = m->next) {
		const char *mkey = sg_arena_printf(c->a, "%s.%s", key, m->key);
		int64_t **v = NULL;
		size_t *n = NULL, j, k = 0;
		const struct sg_node *e;

		if (strcmp(m->key, "profile") == 0) {
			as->profile = lower_assign_profile(c, m, mkey, src);
			continue;
		} else if (strcmp(m->key, "uids") == 0) {
			v = &as->uids;
			n = &as->nuids;
		} else if (strcmp(m->key, "gids") == 0) {
			v = &as->gids;
			n = &as->ngids;
		} else if (strcmp(m->key, "pids") == 0) {
			v = &as->pids;
			n = &as->npids;
		} else {
			lower_rule_unknown(c, key, m, lower_peer_keys,
			    SG_ARRAY_LEN(lower_peer_keys));
			continue;
		}
		lower_ints_node(c, m, mkey, v, n);
		/* Ranges; entries that failed to convert were dropped, so
		 * find each value's item again for its location. */
		for (j = 0, e = m->kind == SG_NODE_SEQ ? m->child : NULL;
		    j < *n && e != NULL; e = e->next) {
			int64_t x;

			if (e->kind != SG_NODE_SCALAR || e->null ||
			    lower_int(e->str, &x) == -1)
				continue;
			if (m->key[0] == 'p' ? x < 1 || x > INT32_MAX :
			    x < 0 || x > 4294967294LL)
				sg_diag_error(c->d, &e->loc, mkey, m->key[0] ==
				    'p' ? "%s entries must be positive process "
				    "IDs, got %lld" : m->key[0] == 'u' ?
				    "%s entries must be user IDs from 0 to "
				    "4294967294, got %lld" : "%s entries must be "
				    "group IDs from 0 to 4294967294, got %lld",
				    mkey, (long long)x);
			else
				(*v)[k++] = x;
			j++;
		}
		*n = k;
	}
}

/* ---- value lists ---- */

/* A YAML sequence (or null) of strings; other items are reported. */
static void
lower_strs_node(struct sg_cfg_ctx *c, const struct sg_node *m,
    const char *key, struct lower_strs *out)
{
	const struct sg_node *e;

	memset(out, 0, sizeof(*out));
	if (m->null)
		return;
	if (m->kind != SG_NODE_SEQ) {
		if (m->kind == SG_NODE_SCALAR)
			sg_diag_error(c->d, &m->loc, key, "expected a list of "
			    "strings, got a scalar; write it as [%s]", m->str);
		else
			sg_diag_error(c->d, &m->loc, key, "expected a list of "
			    "strings, got %s", lower_kind(m));
		return;
	}
	out->v = sg_arena_alloc(c->a, (m->nchild + 1) * sizeof(*out->v));
	out->locs = sg_arena_alloc(c->a, (m->nchild + 1) *
	    sizeof(*out->locs));
	for (e = m->child; e != NULL; e = e->next) {
		if (e->kind != SG_NODE_SCALAR) {
			sg_diag_error(c->d, &e->loc, key, "expected a string, "
			    "got %s", lower_kind(e));
			continue;
		}
		out->v[out->n] = e->null ? "" : e->str;
		out->locs[out->n++] = e->loc;
	}
}

/* A list key of the table: YAML, or a comma-separated env/flag value. */
static void
lower_strs_key(struct sg_cfg_ctx *c, const char *path, struct lower_strs *out)
{
	const struct sg_cfg_val *v = lower_val(c, path);
	size_t i;

	memset(out, 0, sizeof(*out));
	if (v->src == SG_CFG_SRC_DEFAULT)
		return;
	if (v->node != NULL) {
		lower_strs_node(c, v->node, path, out);
		return;
	}
	/* Items are not trimmed here (SPEC 2.2); the consumers trim. */
	out->n = sg_cfg_split_list(c->a, v->text, &out->v);
	out->locs = sg_arena_alloc(c->a, out->n * sizeof(*out->locs));
	for (i = 0; i < out->n; i++)
		out->locs[i] = v->loc;
}

/* A YAML sequence (or null) of integers; other items are reported. */
static void
lower_ints_node(struct sg_cfg_ctx *c, const struct sg_node *m,
    const char *key, int64_t **v, size_t *n)
{
	const struct sg_node *e;

	*v = NULL;
	*n = 0;
	if (m->null)
		return;
	if (m->kind != SG_NODE_SEQ) {
		sg_diag_error(c->d, &m->loc, key, "expected a list of integers, "
		    "got %s", lower_kind(m));
		return;
	}
	*v = sg_arena_alloc(c->a, (m->nchild + 1) * sizeof(**v));
	for (e = m->child; e != NULL; e = e->next) {
		if (e->kind != SG_NODE_SCALAR || e->null)
			sg_diag_error(c->d, &e->loc, key, "expected an integer, "
			    "got %s", e->null ? "null" : lower_kind(e));
		else if (lower_int(e->str, &(*v)[*n]) == -1)
			sg_diag_error(c->d, &e->loc, key, "expected an integer, "
			    "got \"%s\"%s", e->str, lower_int_hint(e->str));
		else
			(*n)++;
	}
}

static void
lower_int_member(struct sg_cfg_ctx *c, const struct sg_node *m,
    const char *key, int64_t *out, struct sg_loc *loc)
{
	*loc = lower_vloc(m);
	if (m->kind != SG_NODE_SCALAR)
		sg_diag_error(c->d, &m->loc, key, "expected an integer, got %s",
		    lower_kind(m));
	else if (m->null)
		return; /* the default */
	else if (lower_int(m->str, out) == -1)
		sg_diag_error(c->d, &m->loc, key, "expected an integer, got "
		    "\"%s\"%s", m->str, lower_int_hint(m->str));
}

/*
 * Client-certificate selector entries (SPEC 2.4.4): trimmed, non-empty,
 * and normalised (IPs canonical, pins lowercase hex, URI schemes lower
 * case). Invalid entries are reported and left out of the IR.
 */
static void
lower_sel(struct sg_cfg_ctx *c, const struct lower_strs *in,
    enum lower_sel_kind kind, const char *label, const char *key,
    const char *field, struct sg_ir_strlist *out)
{
	const char *dkey = sg_arena_printf(c->a, "%s.%s", key, field);
	size_t i;

	out->v = sg_arena_alloc(c->a, (in->n + 1) * sizeof(*out->v));
	out->n = 0;
	for (i = 0; i < in->n; i++) {
		const char *t = lower_trim(c->a, in->v[i]), *v = t, *why = "";
		const struct sg_loc *loc = &in->locs[i];

		if (t[0] == '\0') {
			sg_diag_error(c->d, loc, dkey, "%s.%s entries must be "
			    "non-empty", label, field);
			continue;
		}
		switch (kind) {
		case LOWER_SEL_NAME:
			break;
		case LOWER_SEL_IP:
			v = sg_cfg_ip_canon(c->a, t);
			why = "valid IP addresses";
			break;
		case LOWER_SEL_URI:
		case LOWER_SEL_SPIFFE:
			if (!sg_cfg_uri_ok(t) || (kind == LOWER_SEL_SPIFFE &&
			    (strncasecmp(t, "spiffe://", 9) != 0 ||
			    t[9] == '\0' || t[9] == '/'))) {
				v = NULL;
			} else {
				/* the scheme is case-insensitive */
				char *p = sg_arena_strdup(c->a, t), *q;

				for (q = p; *q != ':'; q++)
					*q = (char)tolower((unsigned char)*q);
				v = p;
			}
			why = kind == LOWER_SEL_URI ? "valid URIs" :
			    "valid SPIFFE IDs (spiffe://trust-domain/path)";
			break;
		case LOWER_SEL_PIN:
			v = sg_cfg_pin_norm(c->a, t);
			why = "hex SHA-256 digests of the certificate's "
			    "public key (64 hex digits, optional sha256: "
			    "prefix)";
			break;
		}
		if (v == NULL) {
			sg_diag_error(c->d, loc, dkey, "%s.%s entries must be "
			    "%s, got \"%s\"", label, field, why, in->v[i]);
			continue;
		}
		out->v[out->n++] = v;
	}
}

/* ---- client-identity values ---- */

int
sg_cfg_cidr_parse(const char *s, struct sg_ir_cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t al = slash != NULL ? (size_t)(slash - s) : strlen(s), i;
	unsigned max, prefix;
	uint8_t addr[16];
	int family;

	if (al == 0 || al >= sizeof(buf))
		return -1;
	memcpy(buf, s, al);
	buf[al] = '\0';
	memset(addr, 0, sizeof(addr));
	if (inet_pton(AF_INET, buf, addr) == 1) {
		family = AF_INET;
		max = 32;
	} else if (strchr(buf, ':') != NULL &&
	    inet_pton(AF_INET6, buf, addr) == 1) {
		family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	/* No prefix length: a host route (one address). */
	prefix = max;
	if (slash != NULL) {
		const char *p = slash + 1;
		size_t n = strlen(p);

		if (n == 0 || n > 3 || strspn(p, "0123456789") != n ||
		    (n > 1 && p[0] == '0'))
			return -1;
		prefix = (unsigned)strtoul(p, NULL, 10);
		if (prefix > max)
			return -1;
	}
	/* ::ffff:a.b.c.d/96+ : the IPv4 prefix (peers are unmapped). */
	if (family == AF_INET6 && prefix >= 96 &&
	    IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(void *)addr)) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		family = AF_INET;
		max = 32;
		prefix -= 96;
	}
	for (i = 0; i < max / 8; i++) {
		unsigned lo = (unsigned)i * 8;

		if (prefix <= lo)
			addr[i] = 0;
		else if (prefix < lo + 8)
			addr[i] &= (uint8_t)(0xff00u >> (prefix - lo));
	}
	out->family = family;
	memcpy(out->addr, addr, sizeof(out->addr));
	out->prefix = prefix;
	return 0;
}

const char *
sg_cfg_ip_canon(struct sg_arena *a, const char *s)
{
	char buf[INET6_ADDRSTRLEN];
	uint8_t addr[16];

	if (inet_pton(AF_INET, s, addr) == 1) {
		inet_ntop(AF_INET, addr, buf, sizeof(buf));
		return sg_arena_strdup(a, buf);
	}
	if (strchr(s, ':') == NULL || inet_pton(AF_INET6, s, addr) != 1)
		return NULL;
	if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(void *)addr))
		inet_ntop(AF_INET, addr + 12, buf, sizeof(buf));
	else
		inet_ntop(AF_INET6, addr, buf, sizeof(buf));
	return sg_arena_strdup(a, buf);
}

const char *
sg_cfg_pin_norm(struct sg_arena *a, const char *s)
{
	char *p;
	size_t i;

	if (strncasecmp(s, "sha256:", 7) == 0)
		s += 7;
	if (strlen(s) != 64 || strspn(s, "0123456789abcdefABCDEF") != 64)
		return NULL;
	p = sg_arena_strdup(a, s);
	for (i = 0; i < 64; i++)
		p[i] = (char)tolower((unsigned char)p[i]);
	return p;
}

bool
sg_cfg_uri_ok(const char *s)
{
	const char *p;

	if (!isalpha((unsigned char)s[0]))
		return false;
	for (p = s + 1; isalnum((unsigned char)*p) || *p == '+' || *p == '-' ||
	    *p == '.'; p++)
		continue;
	if (*p != ':' || p[1] == '\0')
		return false;
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* ---- object lists ---- */

/* A non-empty YAML sequence at path, or NULL (reported if malformed). */
static const struct sg_node *
lower_seq(struct sg_cfg_ctx *c, const char *path, const char *what)
{
	const struct sg_cfg_val *v = lower_val(c, path);

	if (v->src != SG_CFG_SRC_YAML || v->node->null)
		return NULL;
	if (v->node->kind != SG_NODE_SEQ) {
		sg_diag_error(c->d, &v->node->loc, path, "expected a sequence "
		    "of %s, got %s", what, lower_kind(v->node));
		return NULL;
	}
	return v->node->nchild > 0 ? v->node : NULL;
}

/* s without leading and trailing white space (arena copy). */
static char *
lower_trim(struct sg_arena *a, const char *s)
{
	size_t n;

	s += strspn(s, LOWER_WS);
	n = strlen(s);
	while (n > 0 && strchr(LOWER_WS, s[n - 1]) != NULL)
		n--;
	return sg_arena_strndup(a, s, n);
}

/* Where a member's value is: the scalar, else its key. */
static struct sg_loc
lower_vloc(const struct sg_node *m)
{
	return m->kind == SG_NODE_SCALAR && !m->null ? m->loc : m->key_loc;
}

/* ---- rules ---- */

static void
lower_rules(struct sg_cfg_ctx *c, struct sg_cfg_flat *f, struct sg_ir *ir)
{
	const struct sg_cfg_val *rv = lower_val(c, "rules");
	const struct sg_cfg_val *fv = lower_val(c, "rules_file");
	const struct sg_node *seq = NULL;
	size_t i;

	if (rv->src == SG_CFG_SRC_YAML && !rv->node->null) {
		if (rv->node->kind != SG_NODE_SEQ)
			sg_diag_error(c->d, &rv->node->loc, "rules", "expected "
			    "a sequence of rules, got %s",
			    lower_kind(rv->node));
		else if (rv->node->nchild > 0)
			seq = rv->node;
	}

	if (c->o->rules_path != NULL) {
		/* --rules replaces both rules: and rules_file. */
		struct sg_loc from = {"flag:--rules", 0, 0};

		if (lower_dsl_file(c, c->o->rules_path, &from, ir) == 0)
			ir->rules_file = sg_arena_strdup(c->a,
			    c->o->rules_path);
		else
			f->rules_ok = false;
		return;
	}
	if (f->rules_file[0] != '\0') {
		const char *path = f->rules_file;

		if (seq != NULL) {
			sg_diag_error(c->d, &fv->loc, "rules_file",
			    "rules_file (%s) and a non-empty rules list (%s) "
			    "are mutually exclusive; keep one of them",
			    lower_locstr(c, &fv->loc),
			    lower_locstr(c, &rv->loc));
			f->rules_ok = false;
			return;
		}
		/* Relative to the config file that names it. */
		if (path[0] != '/' && fv->src == SG_CFG_SRC_YAML &&
		    strchr(c->file, '/') != NULL) {
			const char *slash = strrchr(c->file, '/');

			path = sg_arena_printf(c->a, "%.*s/%s",
			    (int)(slash - c->file), c->file, path);
		}
		if (lower_dsl_file(c, path, &fv->loc, ir) == 0)
			ir->rules_file = path;
		else
			f->rules_ok = false;
		return;
	}
	if (seq != NULL) {
		const struct sg_node *item;

		ir->rules = sg_arena_alloc(c->a, seq->nchild *
		    sizeof(*ir->rules));
		for (item = seq->child, i = 0; item != NULL;
		    item = item->next, i++)
			if (!lower_yaml_rule(c, item, sg_arena_printf(c->a,
			    "rules[%zu]", i), &ir->rules[i]))
				f->rules_ok = false;
		ir->nrules = seq->nchild;
		return;
	}
	/* Absent or empty: the built-in default rules (SPEC 2.2). */
	ir->rules = sg_arena_alloc(c->a, sg_policy_ndefault_rules *
	    sizeof(*ir->rules));
	memcpy(ir->rules, sg_policy_default_rules, sg_policy_ndefault_rules *
	    sizeof(*ir->rules));
	ir->nrules = sg_policy_ndefault_rules;
	ir->rules_are_default = true;
}

/* One rule of a rules: list (top level or a profile's); label is its key. */
static bool
lower_yaml_rule(struct sg_cfg_ctx *c, const struct sg_node *item,
    const char *label, struct sg_ir_rule *r)
{
	const char *method = NULL, *path = NULL, *action = NULL;
	const char *mkey_method = NULL, *mkey_path = NULL;
	const struct sg_node *m, *mm, *mnode = NULL, *pnode = NULL;
	const struct sg_node *anode = NULL;
	size_t nerr = c->d->nerr;

	r->loc = item->loc;
	r->reason = "";
	r->path = "";
	if (item->kind != SG_NODE_MAP) {
		sg_diag_error(c->d, &item->loc, label, "expected a mapping "
		    "with match, action and reason, got %s", lower_kind(item));
		return false;
	}
	for (m = item->child; m != NULL; m = m->next) {
		const char *mkey = sg_arena_printf(c->a, "%s.%s", label,
		    m->key);

		if (strcmp(m->key, "match") == 0) {
			if (m->kind != SG_NODE_MAP) {
				if (!m->null)
					sg_diag_error(c->d, &m->loc, mkey,
					    "expected a mapping, got %s",
					    lower_kind(m));
				continue;
			}
			for (mm = m->child; mm != NULL; mm = mm->next) {
				const char *k = sg_arena_printf(c->a, "%s.%s",
				    mkey, mm->key);

				if (strcmp(mm->key, "method") == 0) {
					method = lower_rule_str(c, mm, k);
					mnode = mm;
					mkey_method = k;
				} else if (strcmp(mm->key, "path") == 0) {
					path = lower_rule_str(c, mm, k);
					pnode = mm;
					mkey_path = k;
				} else {
					lower_rule_unknown(c, mkey, mm,
					    lower_match_keys,
					    SG_ARRAY_LEN(lower_match_keys));
				}
			}
		} else if (strcmp(m->key, "action") == 0) {
			action = lower_rule_str(c, m, mkey);
			anode = m;
		} else if (strcmp(m->key, "reason") == 0) {
			const char *s = lower_rule_str(c, m, mkey);

			r->reason = s ? s : "";
		} else {
			lower_rule_unknown(c, label, m, lower_rule_keys,
			    SG_ARRAY_LEN(lower_rule_keys));
		}
	}

	/* Methods: split on ',', trim, drop empties, upper-case (2.6.2). */
	if (method != NULL) {
		const char *bad = NULL;
		const char **v;
		size_t n = sg_cfg_split_list(c->a, method, &v), j, k = 0;

		for (j = 0; j < n; j++) {
			const char *b = v[j], *e;
			char *s, *p;

			while (isspace((unsigned char)*b))
				b++;
			e = b + strlen(b);
			while (e > b && isspace((unsigned char)e[-1]))
				e--;
			if (e == b)
				continue;
			s = sg_arena_strndup(c->a, b, (size_t)(e - b));
			for (p = s; *p != '\0'; p++)
				*p = (char)toupper((unsigned char)*p);
			if (strcmp(s, "*") == 0)
				r->any_method = true;
			else if (!lower_method_ok(s))
				bad = bad ? bad : sg_arena_strndup(c->a, b,
				    (size_t)(e - b));
			v[k++] = s;
		}
		r->methods = v;
		r->nmethods = k;
		/* As the DSL: a method that can never be a request's method
		 * would make a deny rule silently match nothing. */
		if (bad != NULL)
			sg_diag_error(c->d, &mnode->loc, mkey_method,
			    "match.method \"%s\": \"%s\" is not an HTTP "
			    "method name (letters, digits and "
			    "!#$%%&'*+-.^_`|~ only); separate methods with "
			    "',' (e.g. \"GET,HEAD\") or use \"*\" for any "
			    "method", method, bad);
	}
	if (r->nmethods == 0)
		sg_diag_error(c->d, &item->loc, label,
		    "match.method is required");
	if (path == NULL || path[strspn(path, LOWER_WS)] == '\0') {
		sg_diag_error(c->d, &item->loc, label,
		    "match.path is required");
	} else if (strchr(LOWER_WS, path[0]) != NULL ||
	    strchr(LOWER_WS, path[strlen(path) - 1]) != NULL) {
		/* Request paths never start with white space, and one that
		 * ends with it only matches a literal (%20) suffix. */
		const char *t = lower_trim(c->a, path);

		sg_diag_error(c->d, &pnode->loc, mkey_path, "match.path "
		    "\"%s\" has leading or trailing white space, so the rule "
		    "never matches the path it names; remove it (write "
		    "\"%s\")", path, t);
		path = t; /* ir_check then judges the path itself */
	}
	r->path = path ? path : "";
	if (action != NULL && strcmp(action, "allow") == 0)
		r->action = SG_ACTION_ALLOW;
	else if (action != NULL && strcmp(action, "deny") == 0)
		r->action = SG_ACTION_DENY;
	else if (anode == NULL)
		sg_diag_error(c->d, &item->loc, label, "action must be allow "
		    "or deny, got \"\"");
	else if (action != NULL) {
		/* at the value that is wrong (a non-string was reported) */
		struct sg_loc al = lower_vloc(anode);

		sg_diag_error(c->d, &al, label, "action must be allow or "
		    "deny, got \"%s\"", action);
	}
	return c->d->nerr == nerr;
}

/* An RFC 9110 method token: one or more tchar. */
static bool
lower_method_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) &&
		    strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return false;
	return true;
}

static const char *
lower_rule_str(struct sg_cfg_ctx *c, const struct sg_node *n, const char *key)
{
	if (n->kind != SG_NODE_SCALAR) {
		sg_diag_error(c->d, &n->loc, key, "expected a string, got %s",
		    lower_kind(n));
		return NULL;
	}
	return n->null ? NULL : n->str;
}

static void
lower_rule_unknown(struct sg_cfg_ctx *c, const char *prefix,
    const struct sg_node *m, const char *const *known, size_t nknown)
{
	const char *s;

	if (strchr(m->key, '.') != NULL) {
		lower_dotted_key(c, m, sg_arena_printf(c->a, "%s.%s", prefix,
		    m->key));
		return;
	}
	s = sg_cfg_nearest(m->key, known, nknown);
	if (s != NULL)
		sg_diag_error(c->d, &m->key_loc, sg_arena_printf(c->a, "%s.%s",
		    prefix, m->key), "unknown key \"%s.%s\"; did you mean "
		    "\"%s.%s\"?", prefix, m->key, prefix, s);
	else
		sg_diag_error(c->d, &m->key_loc, sg_arena_printf(c->a, "%s.%s",
		    prefix, m->key), "unknown key \"%s.%s\"", prefix, m->key);
}

static int
lower_dsl_file(struct sg_cfg_ctx *c, const char *path,
    const struct sg_loc *from, struct sg_ir *ir)
{
	struct sg_loc loc = {sg_arena_strdup(c->a, path), 0, 0};
	struct sg_ir_rule *rules = NULL;
	size_t n = 0;
	char *buf;
	size_t len;

	if (sg_cfg_read(c->a, path, c->o->regular_only, &buf, &len) == -1) {
		int err = errno;

		sg_diag_error(c->d, from, "rules_file", "cannot read rules "
		    "file %s: %s", path, err == EFBIG ? "file too large" :
		    err == EINVAL && c->o->regular_only ? "not a regular file "
		    "(a FIFO is read at startup only)" : strerror(err));
		c->d->nunreadable++;
		return -1;
	}
	if (!lower_has_content(buf, len) ||
	    (sg_cfg_dsl_parse(c->a, c->d, loc.file, buf, len, &rules, &n) == 0
	    && n == 0)) {
		sg_diag_error(c->d, &loc, "rules_file",
		    "rules file has no rules");
		return -1;
	}
	if (n == 0)
		return -1; /* the DSL reported why */
	ir->rules = rules;
	ir->nrules = n;
	return 0;
}

/* Every key whose value came from YAML, the environment or a flag. */
static void
lower_keylocs(struct sg_cfg_ctx *c, struct sg_ir *ir)
{
	const struct sg_key *keys = sg_cfg_keys(NULL);
	size_t i, n = 0;

	ir->keylocs = sg_arena_alloc(c->a, (c->nkeys + 1) *
	    sizeof(*ir->keylocs));
	if (c->o->rules_path != NULL) {
		/* --rules decided the rules: point there, not at the file. */
		ir->keylocs[n].key = "rules_file";
		ir->keylocs[n++].loc = (struct sg_loc){"flag:--rules", 0, 0};
	}
	for (i = 0; i < c->nkeys; i++) {
		if (c->vals[i].src == SG_CFG_SRC_DEFAULT ||
		    (c->o->rules_path != NULL &&
		    strcmp(keys[i].path, "rules_file") == 0))
			continue;
		ir->keylocs[n].key = keys[i].path;
		ir->keylocs[n++].loc = c->vals[i].loc;
	}
	ir->nkeylocs = n;
}

/* ---- helpers ---- */

/*
 * Reads a whole file into the arena (NUL-terminated). A regular file is
 * read up to the size fstat gives; anything else that is not a
 * directory (a pipe, a FIFO, /dev/stdin, a character device) has no
 * usable size, so it is read until end of file. Either way more than
 * LOWER_MAX_FILE bytes is EFBIG. regular_only: anything but a regular
 * file is EINVAL (EISDIR for a directory), and a FIFO is never waited on.
 */
int
sg_cfg_read(struct sg_arena *a, const char *path, bool regular_only,
    char **buf, size_t *len)
{
	struct stat st;
	size_t n = 0, cap;
	char *p;
	int fd, err;

	/* O_NONBLOCK: opening a FIFO would wait for a writer */
	fd = open(path, O_RDONLY | O_CLOEXEC | (regular_only ? O_NONBLOCK : 0));
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	if (regular_only && !S_ISREG(st.st_mode)) {
		errno = EINVAL; /* "Invalid argument": not a regular file */
		goto fail;
	}
	if (S_ISREG(st.st_mode)) {
		if (st.st_size > (off_t)LOWER_MAX_FILE) {
			errno = EFBIG;
			goto fail;
		}
		/* the size read by fstat is the limit */
		cap = (size_t)st.st_size;
		p = sg_arena_alloc(a, cap + 1);
		if (lower_read_fd(fd, p, cap, &n) == -1)
			goto fail;
	} else {
		char *tmp = NULL;

		if (lower_read_stream(fd, &tmp, &n) == -1) {
			err = errno;
			free(tmp);
			errno = err;
			goto fail;
		}
		p = sg_arena_alloc(a, n + 1);
		if (n > 0)
			memcpy(p, tmp, n);
		free(tmp);
	}
	close(fd);
	p[n] = '\0';
	*buf = p;
	*len = n;
	return 0;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/* Up to cap bytes from fd into p; *n: how many (fewer at end of file). */
static int
lower_read_fd(int fd, char *p, size_t cap, size_t *n)
{
	*n = 0;
	while (*n < cap) {
		ssize_t r = read(fd, p + *n, cap - *n);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		*n += (size_t)r;
	}
	return 0;
}

/*
 * fd until end of file into a malloc'd *buf (the caller frees it, also
 * after an error); EFBIG past LOWER_MAX_FILE bytes.
 */
static int
lower_read_stream(int fd, char **buf, size_t *len)
{
	size_t cap = 0, n = 0;

	for (;;) {
		size_t got;

		if (n == cap) {
			/* one byte past the limit tells "too large" apart */
			size_t ncap = cap == 0 ? 64u << 10 : cap * 2;
			char *nb;

			if (cap == LOWER_MAX_FILE + 1) {
				errno = EFBIG;
				return -1;
			}
			if (ncap > LOWER_MAX_FILE + 1)
				ncap = LOWER_MAX_FILE + 1;
			nb = realloc(*buf, ncap);
			if (nb == NULL)
				return -1;
			*buf = nb;
			cap = ncap;
		}
		if (lower_read_fd(fd, *buf + n, cap - n, &got) == -1)
			return -1;
		n += got;
		if (n < cap)
			break; /* end of file */
	}
	if (n > LOWER_MAX_FILE) {
		errno = EFBIG;
		return -1;
	}
	*len = n;
	return 0;
}

/* True when buf holds only whitespace (a file emptied, or caught
 * before its first write). */
static bool
lower_blank(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (strchr(" \t\r\n", buf[i]) == NULL || buf[i] == '\0')
			return false;
	return true;
}

/* False when every line is blank or a '#' comment. */
static bool
lower_has_content(const char *buf, size_t len)
{
	bool comment = false;
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] == '\n')
			comment = false;
		else if (comment || strchr(" \t\r", buf[i]) != NULL)
			continue;
		else if (buf[i] == '#')
			comment = true;
		else
			return true;
	}
	return false;
}

static const char *
lower_kind(const struct sg_node *n)
{
	if (n->kind == SG_NODE_MAP)
		return "a mapping";
	if (n->kind == SG_NODE_SEQ)
		return "a sequence";
	return "a scalar";
}

static const char *
lower_locstr(struct sg_cfg_ctx *c, const struct sg_loc *l)
{
	if (l->file == NULL)
		return "default";
	if (l->line == 0)
		return l->file;
	return sg_arena_printf(c->a, "%s:%u:%u", l->file, l->line,
	    l->col ? l->col : 1);
}

static const struct sg_cfg_val *
lower_val(struct sg_cfg_ctx *c, const char *path)
{
	return &c->vals[sg_cfg_key_index(sg_cfg_key_find(path))];
}

static int
lower_bool(const char *s, bool *out)
{
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(lower_true); i++) {
		if (strcmp(s, lower_true[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, lower_false[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/*
 * Why an integer was refused, when it is not plain: a leading zero, which
 * YAML 1.1 readers (the Go reference's among them) take as octal, so 0100
 * would be 64 there and 100 here.
 */
static bool
lower_leading_zero(const char *digits)
{
	return digits[0] == '0' && digits[1] >= '0' && digits[1] <= '9';
}

static const char *
lower_int_hint(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	if (lower_leading_zero(s))
		return " (a leading zero is refused: YAML 1.1 reads 0100 as "
		    "octal 64; write the decimal number without it)";
	return "";
}

static int
lower_int(const char *s, int64_t *out)
{
	const char *p = s;
	bool neg = false;
	uint64_t v = 0;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (*p == '\0' || lower_leading_zero(p))
		return -1; /* see lower_int_hint */
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (uint64_t)INT64_MAX / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > (uint64_t)INT64_MAX)
			return -1;
	}
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}
