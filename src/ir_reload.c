/* SPDX-License-Identifier: MIT */
/*
 * ir_reload.c: the difference between two config generations. Flattens
 * every effective value of an IR into (key, text) pairs and the rules
 * into DSL lines (a client profile's rules into one multi-line value,
 * clients.profiles[NAME].rules), then reports changed keys (with reload
 * immutability) and rule edits (added, removed, moved). Knows nothing
 * about files, signals or the running server.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sockguard/cfg.h"
#include "sockguard/reload.h"

struct flat {
	char **key;
	char **val;
	size_t n, cap;
};

static const char *const reload_immutable[] = {
	"listen.", "listeners", "upstream.socket", "upstream.endpoints",
	"upstream.failover", "log.", "reload.", "health.",
};

/*
 * SPEC 2.11.3: listeners are pinned at startup (every field, adding,
 * removing, switching between listen: and listeners:) except which
 * profiles each admits; clients.* is mutable like the rules.
 */
bool
sg_ir_key_immutable(const char *key)
{
	static const char ap[] = ".allowed_profiles";
	size_t i, n = strlen(key);

	if (strncmp(key, "listeners[", 10) == 0 && n > sizeof(ap) - 1 &&
	    strcmp(key + n - (sizeof(ap) - 1), ap) == 0 &&
	    memchr(key + 10, ']', n - 10) == key + n - sizeof(ap))
		return false;
	for (i = 0; i < SG_ARRAY_LEN(reload_immutable); i++)
		if (strncmp(key, reload_immutable[i],
		    strlen(reload_immutable[i])) == 0)
			return true;
	return false;
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s != NULL ? s : "");

	if (p == NULL) {
		fputs("sockguard: out of memory\n", stderr);
		abort();
	}
	return p;
}

static void
flat_add(struct flat *f, const char *key, const char *val)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;

		f->key = realloc(f->key, cap * sizeof(*f->key));
		f->val = realloc(f->val, cap * sizeof(*f->val));
		if (f->key == NULL || f->val == NULL) {
			fputs("sockguard: out of memory\n", stderr);
			abort();
		}
		f->cap = cap;
	}
	f->key[f->n] = xstrdup(key);
	f->val[f->n] = xstrdup(val);
	f->n++;
}

static void
flat_free(struct flat *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->key[i]);
		free(f->val[i]);
	}
	free(f->key);
	free(f->val);
}

static void
flat_bool(struct flat *f, const char *key, bool v)
{
	flat_add(f, key, v ? "true" : "false");
}

static void
flat_dur(struct flat *f, const char *key, int64_t ns, const char *zero)
{
	char b[64];

	if (ns == 0 && zero != NULL) {
		flat_add(f, key, zero);
		return;
	}
	sg_duration_format(ns, b, sizeof(b));
	flat_add(f, key, b);
}

static void
flat_int(struct flat *f, const char *key, long long v)
{
	char b[32];

	snprintf(b, sizeof(b), "%lld", v);
	flat_add(f, key, b);
}

/*
 * A string list as one value: items joined by ",", a comma or backslash
 * inside an item escaped with a backslash (so ["ops,dev"] and
 * ["ops","dev"] differ); "" when empty.
 */
static void
flat_list(struct flat *f, const char *key, const char *const *v, size_t n)
{
	size_t i, len = 1;
	const char *q;
	char *b, *p;

	for (i = 0; i < n; i++)
		len += 2 * strlen(v[i]) + 1;
	b = malloc(len);
	if (b == NULL)
		abort();
	p = b;
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		for (q = v[i]; *q != '\0'; q++) {
			if (*q == ',' || *q == '\\')
				*p++ = '\\';
			*p++ = *q;
		}
	}
	*p = '\0';
	flat_add(f, key, b);
	free(b);
}

static void
flat_ids(struct flat *f, const char *key, const int64_t *v, size_t n)
{
	char *b = malloc(n * 22 + 1), *p = b;
	size_t i;

	if (b == NULL)
		abort();
	*p = '\0';
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s%lld", i > 0 ? "," : "", (long long)v[i]);
	flat_add(f, key, b);
	free(b);
}

static void
flat_cidrs(struct flat *f, const char *key, const struct sg_ir_cidr *v,
    size_t n)
{
	char *b = malloc(n * (INET6_ADDRSTRLEN + 6) + 1), *p = b;
	size_t i;

	if (b == NULL)
		abort();
	*p = '\0';
	for (i = 0; i < n; i++) {
		char a[INET6_ADDRSTRLEN];

		if (inet_ntop(v[i].family, v[i].addr, a, sizeof(a)) == NULL)
			snprintf(a, sizeof(a), "?");
		p += sprintf(p, "%s%s/%u", i > 0 ? "," : "", a, v[i].prefix);
	}
	flat_add(f, key, b);
	free(b);
}

static void
flat_sel(struct flat *f, const char *prefix, const struct sg_ir_cert_sel *s,
    bool spiffe)
{
	char k[256];

#define SK(x) (snprintf(k, sizeof(k), "%s.%s", prefix, x), k)
	flat_list(f, SK("common_names"), s->common_names.v,
	    s->common_names.n);
	flat_list(f, SK("dns_names"), s->dns_names.v, s->dns_names.n);
	flat_list(f, SK("ip_addresses"), s->ip_addresses.v,
	    s->ip_addresses.n);
	flat_list(f, SK("uri_sans"), s->uri_sans.v, s->uri_sans.n);
	if (spiffe)
		flat_list(f, SK("spiffe_ids"), s->spiffe_ids.v,
		    s->spiffe_ids.n);
	flat_list(f, SK("public_key_sha256_pins"),
	    s->public_key_sha256_pins.v, s->public_key_sha256_pins.n);
#undef SK
}

/* A profile's rules as one value: their DSL lines, one per line. */
static void
flat_rules(struct flat *f, const char *key, const struct sg_ir_rule *r,
    size_t n)
{
	char line[8192], *b = NULL;
	size_t i, len = 0;

	for (i = 0; i < n; i++) {
		size_t l = sg_cfg_dsl_format(&r[i], line, sizeof(line));
		char *nb;

		if (l >= sizeof(line))
			l = sizeof(line) - 1;
		nb = realloc(b, len + l + 2);
		if (nb == NULL)
			abort();
		b = nb;
		if (i > 0)
			b[len++] = '\n';
		memcpy(b + len, line, l);
		len += l;
	}
	if (b == NULL) {
		flat_add(f, key, "");
		return;
	}
	b[len] = '\0';
	flat_add(f, key, b);
	free(b);
}

static void
ir_flatten_clients(const struct sg_ir_clients *cl, struct flat *f)
{
	static const char *const modes[] = {"enforce", "warn", "audit"};
	char k[256];
	size_t i;

	flat_cidrs(f, "clients.allowed_cidrs", cl->allowed_cidrs,
	    cl->nallowed_cidrs);
	flat_add(f, "clients.default_profile", cl->default_profile);
	for (i = 0; i < cl->nprofiles; i++) {
		const struct sg_ir_profile *p = &cl->profiles[i];

		snprintf(k, sizeof(k), "clients.profiles[%s].mode", p->name);
		flat_add(f, k, modes[p->mode]);
		snprintf(k, sizeof(k), "clients.profiles[%s].rules", p->name);
		flat_rules(f, k, p->rules, p->nrules);
	}
	for (i = 0; i < cl->nsource_ip; i++) {
		snprintf(k, sizeof(k), "clients.source_ip_profiles[%zu].profile",
		    i);
		flat_add(f, k, cl->source_ip[i].profile);
		snprintf(k, sizeof(k), "clients.source_ip_profiles[%zu].cidrs",
		    i);
		flat_cidrs(f, k, cl->source_ip[i].cidrs, cl->source_ip[i].ncidrs);
	}
	for (i = 0; i < cl->ncert; i++) {
		snprintf(k, sizeof(k),
		    "clients.client_certificate_profiles[%zu].profile", i);
		flat_add(f, k, cl->cert[i].profile);
		snprintf(k, sizeof(k),
		    "clients.client_certificate_profiles[%zu]", i);
		flat_sel(f, k, &cl->cert[i].sel, true);
	}
	for (i = 0; i < cl->nunix_peer; i++) {
		const struct sg_ir_peer_assign *a = &cl->unix_peer[i];

		snprintf(k, sizeof(k), "clients.unix_peer_profiles[%zu].profile",
		    i);
		flat_add(f, k, a->profile);
		snprintf(k, sizeof(k), "clients.unix_peer_profiles[%zu].uids",
		    i);
		flat_ids(f, k, a->uids, a->nuids);
		snprintf(k, sizeof(k), "clients.unix_peer_profiles[%zu].gids",
		    i);
		flat_ids(f, k, a->gids, a->ngids);
		snprintf(k, sizeof(k), "clients.unix_peer_profiles[%zu].pids",
		    i);
		flat_ids(f, k, a->pids, a->npids);
	}
}

static void
ir_flatten(const struct sg_ir *ir, struct flat *f)
{
	char k[256], b[64];
	size_t i;

	for (i = 0; i < ir->nlisteners; i++) {
		const struct sg_ir_listener *l = &ir->listeners[i];
		const struct sg_ir_tls_server *t = &l->tls;
		char p[96];

		if (!l->named)
			snprintf(p, sizeof(p), "listen");
		else
			snprintf(p, sizeof(p), "listeners[%s]", l->name);
#define LK(s) (snprintf(k, sizeof(k), "%s.%s", p, s), k)
		flat_add(f, LK("socket"), l->socket);
		flat_add(f, LK("address"), l->socket != NULL &&
		    l->socket[0] != '\0' ? "" : l->address);
		snprintf(b, sizeof(b), "%04o", l->socket_mode);
		flat_add(f, LK("socket_mode"), b);
		flat_int(f, LK("socket_uid"), (long long)l->socket_uid);
		flat_int(f, LK("socket_gid"), (long long)l->socket_gid);
		flat_bool(f, LK("insecure_allow_plain_tcp"),
		    l->insecure_allow_plain_tcp);
		flat_bool(f, LK("insecure_allow_unauthenticated_clients"),
		    l->insecure_allow_unauthenticated_clients);
		flat_int(f, LK("max_connections"), l->max_connections);
		flat_add(f, LK("tls.cert_file"), t->cert_file);
		flat_add(f, LK("tls.key_file"), t->key_file);
		flat_add(f, LK("tls.client_ca_file"), t->client_ca_file);
		flat_sel(f, LK("tls"), &t->sel, false);
		/* the only listener field that may change on reload */
		if (l->named)
			flat_list(f, LK("allowed_profiles"),
			    l->allowed_profiles.v, l->allowed_profiles.n);
#undef LK
	}
	flat_add(f, "upstream.socket", ir->upstream.socket);
	for (i = 0; i < ir->upstream.nendpoints && ir->upstream.source !=
	    SG_EPSRC_SOCKET; i++) {
		const struct sg_ir_endpoint *e = &ir->upstream.endpoints[i];

#define EK(s) (snprintf(k, sizeof(k), "upstream.endpoints[%zu].%s", i, s), k)
		flat_add(f, EK("address"), e->address);
		flat_add(f, EK("tls.ca_file"), e->ca_file);
		flat_add(f, EK("tls.cert_file"), e->cert_file);
		flat_add(f, EK("tls.key_file"), e->key_file);
		flat_add(f, EK("tls.server_name"), e->server_name);
		flat_bool(f, EK("insecure_allow_plain_tcp"),
		    e->insecure_allow_plain_tcp);
		flat_bool(f, EK("insecure_skip_tls_verify"),
		    e->insecure_skip_tls_verify);
#undef EK
	}
	flat_dur(f, "upstream.failover.health_interval",
	    ir->upstream.health_interval_ns, NULL);
	flat_dur(f, "upstream.failover.health_timeout",
	    ir->upstream.health_timeout_ns, NULL);
	flat_dur(f, "upstream.request_timeout", ir->upstream.request_timeout_ns,
	    "off");
	flat_add(f, "log.level", sg_ir_log_level_name(ir->log.level));
	flat_add(f, "log.format", ir->log.format == SG_LOGFMT_JSON ? "json" :
	    "text");
	flat_add(f, "log.output", ir->log.output);
	flat_bool(f, "log.access_log", ir->log.access_log);
	flat_bool(f, "log.audit.enabled", ir->log.audit_enabled);
	flat_add(f, "log.audit.output", ir->log.audit_output);
	flat_add(f, "response.deny_verbosity",
	    ir->deny_verbosity == SG_DENY_VERBOSE ? "verbose" : "minimal");
	flat_bool(f, "health.enabled", ir->health_enabled);
	flat_add(f, "health.path", ir->health_path);
	flat_bool(f, "insecure_allow_read_exfiltration",
	    ir->insecure_allow_read_exfiltration);
	flat_bool(f, "insecure_allow_browser_requests",
	    ir->insecure_allow_browser_requests);
	flat_bool(f, "insecure_accept_opaque_buildkit_tunnels",
	    ir->insecure_accept_opaque_buildkit_tunnels);
	snprintf(b, sizeof(b), "%u.%u", ir->min_api_major, ir->min_api_minor);
	flat_add(f, "min_api_version", b);
	flat_add(f, "rules_file", ir->rules_file);
	flat_bool(f, "reload.enabled", ir->reload_enabled);
	flat_dur(f, "reload.debounce", ir->reload_debounce_ns, NULL);
	ir_flatten_clients(&ir->clients, f);
}

static char **
rules_dsl(const struct sg_ir *ir)
{
	char **v = calloc(ir->nrules + 1, sizeof(*v));
	char line[8192];
	size_t i;

	if (v == NULL)
		abort();
	for (i = 0; i < ir->nrules; i++) {
		sg_cfg_dsl_format(&ir->rules[i], line, sizeof(line));
		v[i] = xstrdup(line);
	}
	return v;
}

static void
diff_add(struct sg_ir_diff *d, const char *key, const char *old,
    const char *new)
{
	struct sg_ir_change *c;
	void *p = realloc(d->v, (d->n + 1) * sizeof(*d->v));

	if (p == NULL)
		abort();
	d->v = p;
	c = &d->v[d->n++];
	c->key = xstrdup(key);
	c->old = old != NULL ? xstrdup(old) : NULL;
	c->new = new != NULL ? xstrdup(new) : NULL;
	c->immutable = sg_ir_key_immutable(key);
	if (c->immutable)
		d->nimmutable++;
}

static void
rule_add(struct sg_ir_diff *d, enum sg_rule_edit e, const char *rule,
    size_t from, size_t to)
{
	struct sg_rule_change *c;
	void *p = realloc(d->rules, (d->nrules + 1) * sizeof(*d->rules));

	if (p == NULL)
		abort();
	d->rules = p;
	c = &d->rules[d->nrules++];
	c->edit = e;
	c->rule = xstrdup(rule);
	c->from = from;
	c->to = to;
}

/*
 * Rule edits: a longest common subsequence keeps the rules that stayed in
 * order; of the rest, a rule present on both sides moved, others were
 * removed (old side) or added (new side).
 */
static void
diff_rules(char **a, size_t na, char **b, size_t nb, struct sg_ir_diff *d)
{
	size_t *L = calloc((na + 1) * (nb + 1), sizeof(*L));
	bool *ka = calloc(na + 1, sizeof(*ka)), *kb = calloc(nb + 1,
	    sizeof(*kb)), *used = calloc(nb + 1, sizeof(*used));
	size_t i, j;

	if (L == NULL || ka == NULL || kb == NULL || used == NULL)
		abort();
#define LL(x, y) L[(x) * (nb + 1) + (y)]
	for (i = na; i-- > 0;)
		for (j = nb; j-- > 0;)
			LL(i, j) = strcmp(a[i], b[j]) == 0 ? LL(i + 1, j + 1) +
			    1 : (LL(i + 1, j) > LL(i, j + 1) ? LL(i + 1, j) :
			    LL(i, j + 1));
	for (i = 0, j = 0; i < na && j < nb;) {
		if (strcmp(a[i], b[j]) == 0) {
			ka[i++] = true;
			kb[j++] = true;
		} else if (LL(i + 1, j) >= LL(i, j + 1)) {
			i++;
		} else {
			j++;
		}
	}
#undef LL
	for (i = 0; i < na; i++) {
		if (ka[i])
			continue;
		for (j = 0; j < nb; j++)
			if (!kb[j] && !used[j] && strcmp(a[i], b[j]) == 0)
				break;
		if (j < nb) {
			used[j] = true;
			rule_add(d, SG_RULE_MOVED, a[i], i + 1, j + 1);
		} else {
			rule_add(d, SG_RULE_REMOVED, a[i], i + 1, 0);
		}
	}
	for (j = 0; j < nb; j++)
		if (!kb[j] && !used[j])
			rule_add(d, SG_RULE_ADDED, b[j], 0, j + 1);
	free(L);
	free(ka);
	free(kb);
	free(used);
}

size_t
sg_ir_diff(const struct sg_ir *a, const struct sg_ir *b, struct sg_ir_diff *d)
{
	struct flat fa = {0}, fb = {0};
	char **ra, **rb;
	size_t i, j;

	memset(d, 0, sizeof(*d));
	ir_flatten(a, &fa);
	ir_flatten(b, &fb);
	for (i = 0; i < fa.n; i++) {
		for (j = 0; j < fb.n; j++)
			if (strcmp(fa.key[i], fb.key[j]) == 0)
				break;
		if (j == fb.n)
			diff_add(d, fa.key[i], fa.val[i], NULL);
		else if (strcmp(fa.val[i], fb.val[j]) != 0)
			diff_add(d, fa.key[i], fa.val[i], fb.val[j]);
	}
	for (j = 0; j < fb.n; j++) {
		for (i = 0; i < fa.n; i++)
			if (strcmp(fa.key[i], fb.key[j]) == 0)
				break;
		if (i == fa.n)
			diff_add(d, fb.key[j], NULL, fb.val[j]);
	}
	ra = rules_dsl(a);
	rb = rules_dsl(b);
	diff_rules(ra, a->nrules, rb, b->nrules, d);
	for (i = 0; i < a->nrules; i++)
		free(ra[i]);
	for (i = 0; i < b->nrules; i++)
		free(rb[i]);
	free(ra);
	free(rb);
	flat_free(&fa);
	flat_free(&fb);
	return d->n + d->nrules;
}

void
sg_ir_diff_free(struct sg_ir_diff *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].key);
		free(d->v[i].old);
		free(d->v[i].new);
	}
	for (i = 0; i < d->nrules; i++)
		free(d->rules[i].rule);
	free(d->v);
	free(d->rules);
	memset(d, 0, sizeof(*d));
}

/* One value on one line: multi-line values (rule lists) as "a; b". */
static void
show(FILE *fp, const char *v)
{
	if (v == NULL) {
		fputs("(unset)", fp);
		return;
	}
	if (v[0] == '\0') {
		fputs("\"\"", fp);
		return;
	}
	for (; *v != '\0'; v++) {
		if (*v == '\n')
			fputs("; ", fp);
		else
			fputc(*v, fp);
	}
}

void
sg_ir_diff_print(const struct sg_ir_diff *d, FILE *fp)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		fprintf(fp, "~ %s: ", d->v[i].key);
		show(fp, d->v[i].old);
		fputs(" -> ", fp);
		show(fp, d->v[i].new);
		fprintf(fp, "%s\n", d->v[i].immutable ?
		    "  (needs a restart)" : "");
	}
	for (i = 0; i < d->nrules; i++) {
		const struct sg_rule_change *r = &d->rules[i];

		switch (r->edit) {
		case SG_RULE_ADDED:
			fprintf(fp, "+ rule %zu: %s\n", r->to, r->rule);
			break;
		case SG_RULE_REMOVED:
			fprintf(fp, "- rule %zu: %s\n", r->from, r->rule);
			break;
		case SG_RULE_MOVED:
			fprintf(fp, "> rule %zu -> %zu: %s\n", r->from, r->to,
			    r->rule);
			break;
		}
	}
}

const char *
sg_ir_reload_refusal(const struct sg_ir *a, const struct sg_ir *b,
    bool *unreadable)
{
	*unreadable = b->config_blank;
	if (b->config_blank)
		return "the new config file is empty; an empty config would "
		    "mean the built-in defaults, which a reload does not "
		    "apply (restart to run on defaults)";
	if (b->rules_are_default && !a->rules_are_default)
		return "the new config sets no rules (rules: or rules_file:), "
		    "which means the built-in default rules; a reload does "
		    "not replace the running rules with them (restart to run "
		    "on the defaults)";
	return NULL;
}
