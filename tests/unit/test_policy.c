/* SPDX-License-Identifier: MIT */
/*
 * test_policy.c: first-match evaluation, method matching, reason codes,
 * the default rule set and compile diagnostics (SPEC 2.3, 2.6.2, 2.6.5).
 */
#include <string.h>

#include <check.h>

#include "sockguard/arena.h"
#include "sockguard/diag.h"
#include "sockguard/policy.h"

Suite *suite_policy(void);

static void
eval(const struct sg_policy *p, const char *m, const char *np,
    struct sg_verdict *v)
{
	memset(v, 0xa5, sizeof(*v));
	sg_policy_eval(p, m, strlen(m), np, strlen(np), v);
}

START_TEST(policy_default_rules)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_policy *p;
	struct sg_verdict v;
	size_t i;

	sg_diag_init(&d);
	ck_assert_uint_eq(sg_policy_ndefault_rules, 5);
	for (i = 0; i < sg_policy_ndefault_rules; i++) {
		ck_assert_ptr_null(sg_policy_default_rules[i].loc.file);
		ck_assert_ptr_nonnull(sg_policy_default_rules[i].reason);
	}
	ck_assert(sg_policy_default_rules[4].any_method);
	ck_assert_str_eq(sg_policy_default_rules[4].path, "/**");
	ck_assert_str_eq(sg_policy_default_rules[4].reason,
	    "no matching allow rule");
	p = sg_policy_compile(a, sg_policy_default_rules,
	    sg_policy_ndefault_rules, &d);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_uint_eq(sg_policy_nrules(p), 5);

	eval(p, "GET", "/_ping", &v);
	ck_assert_int_eq(v.action, SG_ACTION_ALLOW);
	ck_assert_int_eq(v.rule, 0);
	ck_assert_int_eq(v.code, SG_REASON_MATCHED_ALLOW_RULE);
	ck_assert_str_eq(v.reason, "");
	eval(p, "HEAD", "/_ping", &v);
	ck_assert_int_eq(v.action, SG_ACTION_ALLOW);
	ck_assert_int_eq(v.rule, 1);
	eval(p, "GET", "/version", &v);
	ck_assert_int_eq(v.rule, 2);
	eval(p, "GET", "/events", &v);
	ck_assert_int_eq(v.rule, 3);
	eval(p, "HEAD", "/version", &v);
	ck_assert_int_eq(v.action, SG_ACTION_DENY);
	ck_assert_int_eq(v.rule, 4);
	ck_assert_int_eq(v.code, SG_REASON_NO_MATCHING_ALLOW_RULE);
	ck_assert_str_eq(v.reason, "no matching allow rule");
	eval(p, "POST", "/_ping", &v);
	ck_assert_int_eq(v.rule, 4);
	eval(p, "GET", "/containers/json", &v);
	ck_assert_int_eq(v.action, SG_ACTION_DENY);
	ck_assert_int_eq(v.rule, 4);
	eval(p, "GET", "/_ping/", &v);
	ck_assert_int_eq(v.rule, 4);
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

START_TEST(policy_methods)
{
	static const char *get[] = {"GET"};
	static const char *getpost[] = {"GET", "POST"};
	static const char *purge[] = {"PURGE", "PROPFIND"};
	static const char *lower[] = {"get", "purge"};
	const struct sg_ir_rule rules[] = {
		{get, 1, false, "/get", SG_ACTION_ALLOW, "", {0}},
		{getpost, 2, false, "/getpost", SG_ACTION_ALLOW, "", {0}},
		{purge, 2, false, "/purge", SG_ACTION_ALLOW, "", {0}},
		{NULL, 0, true, "/any", SG_ACTION_ALLOW, "", {0}},
		{lower, 2, false, "/lower", SG_ACTION_ALLOW, "", {0}},
	};
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_policy *p;
	struct sg_verdict v;

	sg_diag_init(&d);
	p = sg_policy_compile(a, rules, SG_ARRAY_LEN(rules), &d);
	ck_assert_ptr_nonnull(p);

	/* request method upper-cased (ASCII) before comparing */
	eval(p, "get", "/get", &v);
	ck_assert_int_eq(v.action, SG_ACTION_ALLOW);
	eval(p, "GeT", "/get", &v);
	ck_assert_int_eq(v.action, SG_ACTION_ALLOW);
	/* no implicit HEAD from GET, no prefix/suffix matches */
	eval(p, "HEAD", "/get", &v);
	ck_assert_int_eq(v.action, SG_ACTION_DENY);
	ck_assert_int_eq(v.rule, -1);
	eval(p, "GE", "/get", &v);
	ck_assert_int_eq(v.rule, -1);
	eval(p, "GETS", "/get", &v);
	ck_assert_int_eq(v.rule, -1);
	eval(p, "", "/get", &v);
	ck_assert_int_eq(v.rule, -1);
	eval(p, "post", "/getpost", &v);
	ck_assert_int_eq(v.rule, 1);
	eval(p, "PUT", "/getpost", &v);
	ck_assert_int_eq(v.rule, -1);
	/* non-standard methods match only rules naming them, or '*' */
	eval(p, "purge", "/purge", &v);
	ck_assert_int_eq(v.rule, 2);
	eval(p, "PROPFIND", "/purge", &v);
	ck_assert_int_eq(v.rule, 2);
	eval(p, "PURGEX", "/purge", &v);
	ck_assert_int_eq(v.rule, -1);
	eval(p, "GET", "/purge", &v);
	ck_assert_int_eq(v.rule, -1);
	eval(p, "PURGE", "/get", &v);
	ck_assert_int_eq(v.rule, -1);
	eval(p, "BREW", "/any", &v);
	ck_assert_int_eq(v.rule, 3);
	eval(p, "delete", "/any", &v);
	ck_assert_int_eq(v.rule, 3);
	/* IR names are upper-cased defensively at compile time */
	eval(p, "GET", "/lower", &v);
	ck_assert_int_eq(v.rule, 4);
	eval(p, "PURGE", "/lower", &v);
	ck_assert_int_eq(v.rule, 4);
	/* a method with a NUL or high byte is just a non-matching name */
	sg_policy_eval(p, "GET\0", 4, "/get", 4, &v);
	ck_assert_int_eq(v.rule, -1);
	eval(p, "G\xc9T", "/get", &v);
	ck_assert_int_eq(v.rule, -1);
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

START_TEST(policy_first_match_and_codes)
{
	static const char *post[] = {"POST"};
	static const char *del[] = {"DELETE"};
	const struct sg_ir_rule rules[] = {
		{post, 1, false, "/containers/*/exec", SG_ACTION_DENY,
		    "exec is not allowed", {0}},
		{del, 1, false, "/containers/**", SG_ACTION_DENY, NULL, {0}},
		{NULL, 0, true, "/containers/**", SG_ACTION_ALLOW, "ok", {0}},
		{NULL, 0, true, "/secrets/**", SG_ACTION_DENY,
		    "no matching allow rule", {0}},
	};
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_policy *p;
	struct sg_verdict v;

	sg_diag_init(&d);
	p = sg_policy_compile(a, rules, SG_ARRAY_LEN(rules), &d);
	ck_assert_ptr_nonnull(p);
	eval(p, "POST", "/containers/abc/exec", &v);
	ck_assert_int_eq(v.action, SG_ACTION_DENY);
	ck_assert_int_eq(v.rule, 0);
	ck_assert_str_eq(v.reason, "exec is not allowed");
	ck_assert_int_eq(v.code, SG_REASON_MATCHED_DENY_RULE);
	eval(p, "GET", "/containers/abc/exec", &v);
	ck_assert_int_eq(v.action, SG_ACTION_ALLOW);
	ck_assert_int_eq(v.rule, 2);
	ck_assert_str_eq(v.reason, "ok");
	ck_assert_int_eq(v.code, SG_REASON_MATCHED_ALLOW_RULE);
	eval(p, "DELETE", "/containers/abc", &v);
	ck_assert_int_eq(v.rule, 1);
	ck_assert_str_eq(v.reason, "");
	ck_assert_int_eq(v.code, SG_REASON_MATCHED_DENY_RULE);
	eval(p, "GET", "/secrets/x", &v);
	ck_assert_int_eq(v.rule, 3);
	ck_assert_int_eq(v.code, SG_REASON_NO_MATCHING_ALLOW_RULE);
	eval(p, "GET", "/images/json", &v);
	ck_assert_int_eq(v.action, SG_ACTION_DENY);
	ck_assert_int_eq(v.rule, -1);
	ck_assert_str_eq(v.reason, "no matching allow rule");
	ck_assert_int_eq(v.code, SG_REASON_NO_MATCHING_ALLOW_RULE);

	ck_assert_str_eq(sg_reason_code_str(SG_REASON_MATCHED_ALLOW_RULE),
	    "matched_allow_rule");
	ck_assert_str_eq(sg_reason_code_str(SG_REASON_MATCHED_DENY_RULE),
	    "matched_deny_rule");
	ck_assert_str_eq(sg_reason_code_str(SG_REASON_NO_MATCHING_ALLOW_RULE),
	    "no_matching_allow_rule");
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

START_TEST(policy_empty)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_policy *p;
	struct sg_verdict v;
	size_t used;

	sg_diag_init(&d);
	p = sg_policy_compile(a, NULL, 0, &d);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(sg_policy_nrules(p), 0);
	used = sg_arena_used(a);
	eval(p, "GET", "/_ping", &v);
	ck_assert_int_eq(v.action, SG_ACTION_DENY);
	ck_assert_int_eq(v.rule, -1);
	ck_assert_int_eq(v.code, SG_REASON_NO_MATCHING_ALLOW_RULE);
	ck_assert_uint_eq(sg_arena_used(a), used);
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

/* attach over a websocket with stdin needs POST .../attach allowed too */
START_TEST(policy_attach_stdin)
{
	static const char *get[] = {"GET"};
	static const char *post[] = {"POST"};
	const struct sg_ir_rule ro[] = {
		{get, 1, false, "/containers/**", SG_ACTION_ALLOW, NULL, {0}},
	};
	const struct sg_ir_rule rw[] = {
		{get, 1, false, "/containers/**", SG_ACTION_ALLOW, NULL, {0}},
		{post, 1, false, "/containers/web/attach", SG_ACTION_ALLOW,
		    NULL, {0}},
	};
	static const char ws[] = "/containers/web/attach/ws";
	static const char ws2[] = "/containers/a/b/attach/ws";
	static const char lws[] = "/libpod/containers/web/attach/ws";
	const struct sg_path_ver v142 = {true, 6, 1, 42, false};
	const struct sg_path_ver v150 = {true, 6, 1, 50, false};
	const struct sg_path_ver v2 = {true, 3, 2, 0, false};
	const struct sg_path_ver v141 = {true, 6, 1, 41, false};
	const struct sg_path_ver v1 = {true, 3, 1, 0, false};
	const struct sg_path_ver none = {false, 0, 0, 0, false};
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_policy *pro, *prw;
	struct sg_verdict v;

	sg_diag_init(&d);
	pro = sg_policy_compile(a, ro, SG_ARRAY_LEN(ro), &d);
	prw = sg_policy_compile(a, rw, SG_ARRAY_LEN(rw), &d);
	ck_assert_ptr_nonnull(pro);
	ck_assert_ptr_nonnull(prw);
	/* from API 1.42 on the query decides */
	eval(pro, "GET", ws, &v);
	ck_assert_int_eq(v.action, SG_ACTION_ALLOW);
	ck_assert(sg_policy_attach_stdin(pro, "GET", 3, ws, strlen(ws), &v142,
	    "stream=1&stdin=1", 16, &v));
	ck_assert_int_eq(v.action, SG_ACTION_DENY);
	ck_assert_int_eq(v.rule, -1);
	ck_assert_int_eq(v.code, SG_REASON_ATTACH_STDIN_NOT_ALLOWED);
	ck_assert_str_eq(sg_reason_code_str(v.code), "attach_stdin_not_allowed");
	ck_assert_ptr_nonnull(strstr(v.reason, "POST /containers/{id}/attach"));
	ck_assert(sg_policy_attach_stdin(pro, "get", 3, ws, strlen(ws), &v150,
	    "stdin=1", 7, &v));
	ck_assert(sg_policy_attach_stdin(pro, "GET", 3, ws2, strlen(ws2), &v2,
	    "stdin=1", 7, &v));
	ck_assert(!sg_policy_attach_stdin(pro, "GET", 3, ws, strlen(ws), &v142,
	    "stdin=0", 7, &v));
	ck_assert(!sg_policy_attach_stdin(pro, "GET", 3, ws, strlen(ws), &v142,
	    NULL, 0, &v));
	/* below 1.42, without a version, and under /libpod: always stdin */
	ck_assert(sg_policy_attach_stdin(pro, "GET", 3, ws, strlen(ws), &v141,
	    "stdin=0", 7, &v));
	ck_assert_ptr_nonnull(strstr(v.reason, "v1.42"));
	ck_assert(sg_policy_attach_stdin(pro, "GET", 3, ws, strlen(ws), &v1,
	    NULL, 0, &v));
	ck_assert(sg_policy_attach_stdin(pro, "GET", 3, ws, strlen(ws), &none,
	    "stdin=0", 7, &v));
	ck_assert(sg_policy_attach_stdin(pro, "GET", 3, ws, strlen(ws), NULL,
	    NULL, 0, &v));
	ck_assert(sg_policy_attach_stdin(pro, "GET", 3, lws, strlen(lws),
	    &v150, "stdin=0", 7, &v));
	/* not this guard's business */
	ck_assert(!sg_policy_attach_stdin(pro, "POST", 4, ws, strlen(ws),
	    &v141, "stdin=1", 7, &v));
	ck_assert(!sg_policy_attach_stdin(pro, "GET", 3, "/containers/attach/ws",
	    21, &v141, "stdin=1", 7, &v));
	ck_assert(!sg_policy_attach_stdin(pro, "GET", 3, "/containers/web/logs",
	    20, &v141, "stdin=1", 7, &v));
	/* allowed: the rules also allow POST .../attach for that container */
	ck_assert(!sg_policy_attach_stdin(prw, "GET", 3, ws, strlen(ws), &v141,
	    "stdin=1", 7, &v));
	ck_assert(sg_policy_attach_stdin(prw, "GET", 3, ws2, strlen(ws2),
	    &v141, "stdin=1", 7, &v));
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

START_TEST(policy_compile_errors)
{
	static const char *get[] = {"GET"};
	static const char *empty[] = {"GET", ""};
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	char *longpat = sg_arena_alloc(a, 5001);
	struct sg_ir_rule rules[] = {
		{get, 1, false, "/ok", SG_ACTION_ALLOW, "", {"r.yaml", 3, 5}},
		{get, 1, false, NULL, SG_ACTION_ALLOW, "", {"r.yaml", 7, 5}},
		{NULL, 0, false, "/x", SG_ACTION_ALLOW, "", {"r.yaml", 9, 5}},
		{empty, 2, false, "/x", SG_ACTION_ALLOW, "", {"r.yaml", 11, 5}},
		{get, 1, false, longpat, SG_ACTION_ALLOW, "",
		    {"r.yaml", 13, 5}},
	};

	memset(longpat, 'a', 5000);
	longpat[0] = '/';
	longpat[1] = '*';
	sg_diag_init(&d);
	ck_assert_ptr_null(sg_policy_compile(a, rules, SG_ARRAY_LEN(rules),
	    &d));
	ck_assert_uint_eq(d.nerr, 4);
	ck_assert(sg_diag_has(&d,
	    "r.yaml:7:5: error: rules[1].match.path: match.path is required"));
	ck_assert(sg_diag_has(&d, "r.yaml:9:5: error: rules[2].match.method: "
	    "match.method is required"));
	ck_assert(sg_diag_has(&d, "r.yaml:11:5: error: rules[3].match.method: "
	    "empty method name in entry 2"));
	ck_assert(sg_diag_has(&d, "r.yaml:13:5: error: rules[4].match.path: "
	    "pattern is too long to compile (5000 bytes)"));
	/* the good rule alone compiles */
	sg_diag_reset(&d);
	ck_assert_ptr_nonnull(sg_policy_compile(a, rules, 1, &d));
	ck_assert_uint_eq(d.n, 0);
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

Suite *
suite_policy(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, policy_default_rules);
	tcase_add_test(tc, policy_methods);
	tcase_add_test(tc, policy_first_match_and_codes);
	tcase_add_test(tc, policy_empty);
	tcase_add_test(tc, policy_compile_errors);
	tcase_add_test(tc, policy_attach_stdin);
	suite_add_tcase(s, tc);
	return s;
}
