/* SPDX-License-Identifier: MIT */
/*
 * policy.h: compiled first-match rules (SPEC 2.6). Compiled into the
 * config arena, immutable, evaluated without allocation.
 */
#ifndef SOCKGUARD_POLICY_H
#define SOCKGUARD_POLICY_H

#include "sockguard/arena.h"
#include "sockguard/diag.h"
#include "sockguard/ir.h"
#include "sockguard/path.h"

enum sg_reason_code {
	SG_REASON_MATCHED_ALLOW_RULE = 0, /* matched_allow_rule */
	SG_REASON_MATCHED_DENY_RULE,      /* matched_deny_rule */
	SG_REASON_NO_MATCHING_ALLOW_RULE, /* no_matching_allow_rule */
	SG_REASON_API_VERSION_MALFORMED,  /* refused before the rules */
	SG_REASON_ATTACH_STDIN_NOT_ALLOWED, /* attach_stdin_not_allowed */
	SG_REASON_API_VERSION_TOO_OLD,    /* below min_api_version */
};

struct sg_verdict {
	enum sg_action action;
	int rule;             /* 0-based index of the deciding rule, -1 none */
	const char *reason;   /* rule reason, "no matching allow rule", or "" */
	enum sg_reason_code code;
};

struct sg_policy;

/* Returns NULL (with diagnostics) when a rule cannot be compiled. */
struct sg_policy *sg_policy_compile(struct sg_arena *a,
    const struct sg_ir_rule *rules, size_t n, struct sg_diag *d);
/* method is matched case-insensitively; np is the canonical path. */
void sg_policy_eval(const struct sg_policy *p, const char *method,
    size_t mlen, const char *np, size_t nplen, struct sg_verdict *out);
const char *sg_reason_code_str(enum sg_reason_code c);
/*
 * Attach over a websocket with stdin writes to the container like
 * POST /containers/{id}/attach does, so it needs the rules to allow that
 * too. Docker reads the stdin flag of GET /containers/{id}/attach/ws only
 * from API 1.42 on; below that (and without a version prefix, when the
 * daemon may be older) stdin is always attached. Call after an allow
 * verdict: returns true, with *v turned into the refusal, when the
 * request is such an attach and that POST is not allowed. np is the
 * canonical path after the version prefix ver (NULL: none).
 */
bool sg_policy_attach_stdin(const struct sg_policy *p, const char *method,
    size_t mlen, const char *np, size_t n, const struct sg_path_ver *ver,
    const char *query, size_t qlen, struct sg_verdict *v);
/*
 * Whether canonical path np (after the version prefix) is the websocket
 * attach endpoint, [/libpod]/containers/{name}/attach/ws; *libpod says
 * which API. The name may hold '/' (link aliases).
 */
bool sg_np_is_ws_attach(const char *np, size_t n, bool *libpod);
/* Number of compiled rules. */
size_t sg_policy_nrules(const struct sg_policy *p);

/* The built-in default rule set (SPEC 2.3). */
extern const struct sg_ir_rule sg_policy_default_rules[];
extern const size_t sg_policy_ndefault_rules;

#endif
