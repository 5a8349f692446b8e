/* SPDX-License-Identifier: MIT */
/*
 * policy.c: compiled first-match rules (SPEC 2.6.2, 2.6.5) and the
 * built-in default rule set (SPEC 2.3). Owns method matching, the
 * verdict and its reason code. Does not own path canonicalisation
 * (path.c), the glob dialect (glob.c) or semantic config warnings such
 * as version-prefixed patterns (config checks).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sockguard/glob.h"
#include "sockguard/http.h"
#include "sockguard/policy.h"

#define POLICY_NO_MATCH "no matching allow rule"

struct policy_rule {
	uint32_t mbits;        /* standard methods, bit per policy_methods[] */
	bool any_method;
	const char **other;    /* non-standard names, upper-cased */
	size_t nother;
	struct sg_glob *glob;
	enum sg_action action;
	const char *reason;
	enum sg_reason_code code;
};

struct sg_policy {
	struct policy_rule *rules;
	size_t n;
};

static int policy_method_bit(const char *m, size_t len);
static bool policy_ieq(const char *a, size_t alen, const char *b);
static bool policy_method_match(const struct policy_rule *r, int bit,
    const char *m, size_t len);
static int policy_compile_rule(struct sg_arena *a, const struct sg_ir_rule *ir,
    size_t idx, struct policy_rule *out, struct sg_diag *d);

static const char *const policy_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
};

static const char *policy_m_get[] = {"GET"};
static const char *policy_m_head[] = {"HEAD"};

const struct sg_ir_rule sg_policy_default_rules[] = {
	{policy_m_get, 1, false, "/_ping", SG_ACTION_ALLOW, "", {NULL, 0, 0}},
	{policy_m_head, 1, false, "/_ping", SG_ACTION_ALLOW, "", {NULL, 0, 0}},
	{policy_m_get, 1, false, "/version", SG_ACTION_ALLOW, "", {NULL, 0, 0}},
	{policy_m_get, 1, false, "/events", SG_ACTION_ALLOW, "", {NULL, 0, 0}},
	{NULL, 0, true, "/**", SG_ACTION_DENY, POLICY_NO_MATCH, {NULL, 0, 0}},
};
const size_t sg_policy_ndefault_rules = SG_ARRAY_LEN(sg_policy_default_rules);

struct sg_policy *
sg_policy_compile(struct sg_arena *a, const struct sg_ir_rule *rules, size_t n,
    struct sg_diag *d)
{
	struct sg_policy *p = sg_arena_alloc(a, sizeof(*p));
	size_t i;
	int rc = 0;

	p->rules = sg_arena_alloc(a, (n ? n : 1) * sizeof(*p->rules));
	p->n = n;
	for (i = 0; i < n; i++)
		if (policy_compile_rule(a, &rules[i], i, &p->rules[i], d) != 0)
			rc = -1;
	return rc == 0 ? p : NULL;
}

void
sg_policy_eval(const struct sg_policy *p, const char *method, size_t mlen,
    const char *np, size_t nplen, struct sg_verdict *out)
{
	int bit = policy_method_bit(method, mlen);
	size_t i;

	for (i = 0; i < p->n; i++) {
		const struct policy_rule *r = &p->rules[i];

		if (!policy_method_match(r, bit, method, mlen) ||
		    !sg_glob_match(r->glob, np, nplen))
			continue;
		out->action = r->action;
		out->rule = (int)i;
		out->reason = r->reason;
		out->code = r->code;
		return;
	}
	out->action = SG_ACTION_DENY;
	out->rule = -1;
	out->reason = POLICY_NO_MATCH;
	out->code = SG_REASON_NO_MATCHING_ALLOW_RULE;
}

const char *
sg_reason_code_str(enum sg_reason_code c)
{
	switch (c) {
	case SG_REASON_MATCHED_ALLOW_RULE:
		return "matched_allow_rule";
	case SG_REASON_MATCHED_DENY_RULE:
		return "matched_deny_rule";
	case SG_REASON_NO_MATCHING_ALLOW_RULE:
		return "no_matching_allow_rule";
	case SG_REASON_API_VERSION_MALFORMED:
		return "api_version_malformed";
	case SG_REASON_ATTACH_STDIN_NOT_ALLOWED:
		return "attach_stdin_not_allowed";
	case SG_REASON_API_VERSION_TOO_OLD:
		return "api_version_too_old";
	}
	return "unknown";
}

bool
sg_np_is_ws_attach(const char *np, size_t n, bool *libpod)
{
	static const char pre[] = "/containers/", lp[] = "/libpod",
	    suf[] = "/attach/ws";
	const size_t a = sizeof(pre) - 1, b = sizeof(suf) - 1;

	*libpod = n > sizeof(lp) - 1 && memcmp(np, lp, sizeof(lp) - 1) == 0;
	if (*libpod) {
		np += sizeof(lp) - 1;
		n -= sizeof(lp) - 1;
	}
	return n > a + b && memcmp(np, pre, a) == 0 &&
	    memcmp(np + n - b, suf, b) == 0;
}

bool
sg_policy_attach_stdin(const struct sg_policy *p, const char *method,
    size_t mlen, const char *np, size_t n, const struct sg_path_ver *ver,
    const char *query, size_t qlen, struct sg_verdict *v)
{
	bool libpod, by_query;
	struct sg_verdict w;

	if (mlen != 3 || strncasecmp(method, "GET", 3) != 0 ||
	    !sg_np_is_ws_attach(np, n, &libpod))
		return false;
	/* the query decides only where the daemon reads it: API >= 1.42 */
	by_query = !libpod && ver != NULL && ver->present &&
	    (ver->major > 1 || (ver->major == 1 && ver->minor >= 42));
	if (by_query && (query == NULL ||
	    !sg_query_flag_may_be_on(query, qlen, "stdin")))
		return false;
	sg_policy_eval(p, "POST", 4, np, n - 3, &w); /* without "/ws" */
	if (w.action == SG_ACTION_ALLOW)
		return false;
	v->action = SG_ACTION_DENY;
	v->rule = w.rule;
	v->reason = by_query ? "attach over a websocket with stdin writes "
	    "to the container: the rules must also allow POST "
	    "/containers/{id}/attach" : "attach over a websocket writes to "
	    "the container's stdin below API v1.42 (and without a version "
	    "prefix) whatever the query says: the rules must also allow POST "
	    "/containers/{id}/attach, or request /v1.42/ or later with "
	    "stdin=0";
	v->code = SG_REASON_ATTACH_STDIN_NOT_ALLOWED;
	return true;
}

size_t
sg_policy_nrules(const struct sg_policy *p)
{
	return p->n;
}

/* Index into policy_methods[] (ASCII case-insensitive), or -1. */
static int
policy_method_bit(const char *m, size_t len)
{
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(policy_methods); i++)
		if (policy_ieq(m, len, policy_methods[i]))
			return (int)i;
	return -1;
}

/* a (len alen, any case) equals upper-case NUL-terminated b. */
static bool
policy_ieq(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c >= 'a' && c <= 'z')
			c = (unsigned char)(c - 'a' + 'A');
		if (b[i] == '\0' || (unsigned char)b[i] != c)
			return false;
	}
	return b[alen] == '\0';
}

static bool
policy_method_match(const struct policy_rule *r, int bit, const char *m,
    size_t len)
{
	size_t i;

	if (r->any_method)
		return true;
	if (bit >= 0)
		return (r->mbits >> bit) & 1;
	for (i = 0; i < r->nother; i++)
		if (policy_ieq(m, len, r->other[i]))
			return true;
	return false;
}

static int
policy_compile_rule(struct sg_arena *a, const struct sg_ir_rule *ir,
    size_t idx, struct policy_rule *out, struct sg_diag *d)
{
	char key[64];
	size_t i;
	int rc = 0;

	out->any_method = ir->any_method;
	out->action = ir->action;
	out->reason = ir->reason != NULL ? ir->reason : "";
	if (ir->action == SG_ACTION_ALLOW)
		out->code = SG_REASON_MATCHED_ALLOW_RULE;
	else if (strcmp(out->reason, POLICY_NO_MATCH) == 0)
		out->code = SG_REASON_NO_MATCHING_ALLOW_RULE;
	else
		out->code = SG_REASON_MATCHED_DENY_RULE;

	snprintf(key, sizeof(key), "rules[%zu].match.method", idx);
	if (!ir->any_method && ir->nmethods == 0)
		rc = sg_diag_error(d, &ir->loc, key,
		    "match.method is required");
	out->other = sg_arena_alloc(a, (ir->nmethods + 1) * sizeof(char *));
	for (i = 0; i < ir->nmethods && !ir->any_method; i++) {
		const char *m = ir->methods[i];
		size_t len = m != NULL ? strlen(m) : 0, j;
		char *u;
		int bit;

		if (len == 0) {
			rc = sg_diag_error(d, &ir->loc, key,
			    "empty method name in entry %zu", i + 1);
			continue;
		}
		bit = policy_method_bit(m, len);
		if (bit >= 0) {
			out->mbits |= (uint32_t)1 << bit;
			continue;
		}
		u = sg_arena_strndup(a, m, len);
		for (j = 0; j < len; j++)
			if (u[j] >= 'a' && u[j] <= 'z')
				u[j] = (char)(u[j] - 'a' + 'A');
		out->other[out->nother++] = u;
	}

	snprintf(key, sizeof(key), "rules[%zu].match.path", idx);
	if (ir->path == NULL)
		return sg_diag_error(d, &ir->loc, key,
		    "match.path is required");
	out->glob = sg_glob_compile(a, ir->path, strlen(ir->path));
	if (out->glob == NULL)
		rc = sg_diag_error(d, &ir->loc, key,
		    "pattern is too long to compile (%zu bytes)",
		    strlen(ir->path));
	return rc;
}
