/* SPDX-License-Identifier: MIT */
/*
 * cfg_lower.c: the front half of config loading. Picks the config file
 * (SPEC 2.1), walks the YAML tree against the key table (unknown and
 * not-yet-supported keys are errors), applies the environment overlay
 * and the command-line flags (flags > env > file > defaults, SPEC 2.2),
 * converts every value to its type, loads the rules (YAML, rules_file or
 * --rules) and builds struct sg_ir; then runs ir_check. Owns nothing
 * beyond the arena it is given. Does not compile the policy.
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
    size_t i, struct sg_ir_rule *r);
static const char *lower_rule_str(struct sg_cfg_ctx *c,
    const struct sg_node *n, const char *key);
static void lower_rule_unknown(struct sg_cfg_ctx *c, const char *prefix,
    const struct sg_node *m, const char *const *known, size_t nknown);
static int lower_dsl_file(struct sg_cfg_ctx *c, const char *path,
    const struct sg_loc *from, struct sg_ir *ir);
static void lower_keylocs(struct sg_cfg_ctx *c, struct sg_ir *ir);
static int lower_read(struct sg_arena *a, const char *path, char **buf,
    size_t *len);
static bool lower_has_content(const char *buf, size_t len);
static const char *lower_kind(const struct sg_node *n);
static const char *lower_locstr(struct sg_cfg_ctx *c, const struct sg_loc *l);
static const struct sg_cfg_val *lower_val(struct sg_cfg_ctx *c,
    const char *path);
static int lower_bool(const char *s, bool *out);
static int lower_int(const char *s, int64_t *out);

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
	if (lower_read(a, path, &buf, &len) == -1) {
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

	memset(&c, 0, sizeof(c));
	c.a = a;
	c.d = d;
	c.o = o;
	c.file = have_file ? sg_arena_strdup(a, name) : NULL;
	sg_cfg_keys(&c.nkeys);
	c.vals = sg_arena_alloc(a, c.nkeys * sizeof(*c.vals));

	if (have_file) {
		root = sg_cfg_yaml_parse(a, d, c.file, buf, len);
		if (root != NULL)
			lower_walk(&c, root, "");
	}
	sg_cfg_env_overlay(&c);
	lower_flags(&c);
	if (have_file && root == NULL)
		return NULL; /* syntax error: nothing sensible to check */

	memset(&flat, 0, sizeof(flat));
	flat.rules_ok = true;
	lower_flat(&c, &flat);
	ir = sg_arena_alloc(a, sizeof(*ir));
	ir->config_path = c.file;
	lower_build(&c, &flat, ir);
	lower_upstream(&c, &flat, ir);
	lower_rules(&c, &flat, ir);
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
		const struct sg_key *k = sg_cfg_key_find(path);
		struct sg_cfg_val *v;

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

		memcpy(dst, &p, sizeof(p));
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
			    "integer, got \"%s\"", s);
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
	v = lower_val(c, "listen");
	if (v->src != SG_CFG_SRC_DEFAULT)
		l->loc = v->loc;
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
			if (!lower_yaml_rule(c, item, i, &ir->rules[i]))
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

static bool
lower_yaml_rule(struct sg_cfg_ctx *c, const struct sg_node *item, size_t i,
    struct sg_ir_rule *r)
{
	const char *label = sg_arena_printf(c->a, "rules[%zu]", i);
	const char *method = NULL, *path = NULL, *action = NULL;
	const struct sg_node *m, *mm;
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

				if (strcmp(mm->key, "method") == 0)
					method = lower_rule_str(c, mm, k);
				else if (strcmp(mm->key, "path") == 0)
					path = lower_rule_str(c, mm, k);
				else
					lower_rule_unknown(c, mkey, mm,
					    lower_match_keys,
					    SG_ARRAY_LEN(lower_match_keys));
			}
		} else if (strcmp(m->key, "action") == 0) {
			action = lower_rule_str(c, m, mkey);
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
			v[k++] = s;
		}
		r->methods = v;
		r->nmethods = k;
	}
	if (r->nmethods == 0)
		sg_diag_error(c->d, &item->loc, label,
		    "match.method is required");
	if (path == NULL || path[strspn(path, " \t")] == '\0')
		sg_diag_error(c->d, &item->loc, label,
		    "match.path is required");
	r->path = path ? path : "";
	if (action != NULL && strcmp(action, "allow") == 0)
		r->action = SG_ACTION_ALLOW;
	else if (action != NULL && strcmp(action, "deny") == 0)
		r->action = SG_ACTION_DENY;
	else
		sg_diag_error(c->d, &item->loc, label, "action must be allow "
		    "or deny, got \"%s\"", action ? action : "");
	return c->d->nerr == nerr;
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
	const char *s = sg_cfg_nearest(m->key, known, nknown);

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

	if (lower_read(c->a, path, &buf, &len) == -1) {
		int err = errno;

		sg_diag_error(c->d, from, "rules_file", "cannot read rules "
		    "file %s: %s", path, err == EFBIG ? "file too large" :
		    strerror(err));
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

static int
lower_read(struct sg_arena *a, const char *path, char **buf, size_t *len)
{
	struct stat st;
	size_t n = 0;
	char *p;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	if (st.st_size > (off_t)LOWER_MAX_FILE) {
		errno = EFBIG;
		goto fail;
	}
	p = sg_arena_alloc(a, (size_t)st.st_size + 1);
	for (;;) {
		size_t cap = (size_t)st.st_size;
		ssize_t r;

		if (n == cap)
			break; /* the size read by fstat is the limit */
		r = read(fd, p + n, cap - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
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

static int
lower_int(const char *s, int64_t *out)
{
	const char *p = s;
	bool neg = false;
	uint64_t v = 0;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (*p == '\0')
		return -1;
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
