/* SPDX-License-Identifier: MIT */
/*
 * test_path.c: percent-decode, canonical path, version prefix and
 * re-encoding (SPEC 2.6.3), including the whole normative evasion table
 * run through decode -> canon -> policy.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "sockguard/arena.h"
#include "sockguard/diag.h"
#include "sockguard/path.h"
#include "sockguard/policy.h"

Suite *suite_path(void);

/* ---- SPEC 2.6.3 evasion table ---- */

struct evasion {
	const char *method;
	const char *target;
	bool allowed;
};

static const struct evasion evasions[] = {
	/* version stripped */
	{"GET", "/containers/json", true},
	{"GET", "/v1.45/containers/json", true},
	{"GET", "/v1/containers/json", true},
	{"GET", "/v9.99/containers/json", true},
	{"GET", "/v01.45/containers/json", true},
	{"GET", "/v0/containers/json", true},
	{"GET", "/v1.45.99/containers/json", true},
	/* not a version prefix / one strip only */
	{"GET", "/V1.45/containers/json", false},
	{"GET", "/v/containers/json", false},
	{"GET", "/v1.45.99.1/containers/json", false},
	{"GET", "/v1.45/v1.46/containers/json", false},
	/* clean */
	{"GET", "/containers/json/", true},
	{"GET", "//containers/json", true},
	{"GET", "///containers/json", true},
	{"GET", "/containers//json", true},
	{"GET", "/containers////json", true},
	{"GET", "/containers/./json", true},
	{"GET", "/./containers/json", true},
	/* '..' resolved, never above root */
	{"GET", "/containers/json/../json", true},
	{"GET", "/containers/create/../json", true},
	{"GET", "/containers/json/../../../containers/json", true},
	/* resolves elsewhere */
	{"GET", "/containers/json/../create", false},
	{"POST", "/containers/json/../create", false},
	{"GET", "/containers/json/../../exec/abc/start", false},
	/* case-sensitive */
	{"GET", "/Containers/json", false},
	{"GET", "/containers/JSON", false},
	/* literal bytes in a segment */
	{"GET", "/containers/json;ignore=1", false},
	{"GET", "/containers;x/json", false},
	{"GET", "/containers/json%00", false},
	{"GET", "/containers/json%20", false},
	{"GET", "/containers/json%09", false},
	{"GET", "/containers/json%0a", false},
	{"GET", "/containers/json%0d", false},
	{"GET", "/containers%5cjson", false},
	/* single decode */
	{"GET", "/containers/%6a%73%6f%6e", true},
	{"GET", "/containers%2Fjson", true},
	/* double-encoded stays literal */
	{"GET", "/containers/%256a%2573%256f%256e", false},
	{"GET", "/containers/%252e/json", false},
	/* decoded dot-dot */
	{"POST", "/containers/json/%2e%2e/create", false},
	{"GET", "/containers/create/%2e%2e/json", true},
	/* query ignored */
	{"GET", "/containers/json?all=1", true},
	/* method */
	{"POST", "/containers/json", false},
};

/* What the HTTP layer does with an origin-form target before policy. */
static bool
path_test_allowed(const struct sg_policy *p, const char *method,
    const char *target)
{
	const char *q = strchr(target, '?');
	size_t len = q != NULL ? (size_t)(q - target) : strlen(target);
	char dec[256], canon[256];
	struct sg_path_ver ver;
	struct sg_verdict v;
	ssize_t n;
	size_t cn;

	ck_assert_uint_lt(len, sizeof(dec));
	n = sg_path_decode(target, len, dec);
	ck_assert_int_ge(n, 0);
	cn = sg_path_canon(dec, (size_t)n, canon, &ver);
	sg_policy_eval(p, method, strlen(method), canon + ver.len,
	    cn - ver.len, &v);
	if (v.action == SG_ACTION_ALLOW) {
		ck_assert_int_eq(v.rule, 0);
		ck_assert_int_eq(v.code, SG_REASON_MATCHED_ALLOW_RULE);
	} else {
		ck_assert_int_eq(v.code, SG_REASON_NO_MATCHING_ALLOW_RULE);
		ck_assert_str_eq(v.reason, "no matching allow rule");
	}
	return v.action == SG_ACTION_ALLOW && !ver.odd; /* odd: 400 */
}

START_TEST(path_evasion_table)
{
	static const char *get[] = {"GET"};
	const struct sg_ir_rule rules[] = {
		{get, 1, false, "/containers/json", SG_ACTION_ALLOW, "", {0}},
		{NULL, 0, true, "/**", SG_ACTION_DENY,
		    "no matching allow rule", {0}},
	};
	const struct evasion *e = &evasions[_i];
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_policy *implicit, *explicit;

	sg_diag_init(&d);
	/* "default deny" both ways: no match, and an explicit catch-all */
	implicit = sg_policy_compile(a, rules, 1, &d);
	explicit = sg_policy_compile(a, rules, 2, &d);
	ck_assert_ptr_nonnull(implicit);
	ck_assert_ptr_nonnull(explicit);
	ck_assert_msg(path_test_allowed(implicit, e->method, e->target) ==
	    e->allowed, "%s %s: expected %s", e->method, e->target,
	    e->allowed ? "allow" : "deny");
	ck_assert_msg(path_test_allowed(explicit, e->method, e->target) ==
	    e->allowed, "%s %s: expected %s (catch-all)", e->method,
	    e->target, e->allowed ? "allow" : "deny");
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

/* ---- decode ---- */

START_TEST(path_decode_once)
{
	char out[64];
	ssize_t n;

	n = sg_path_decode("%41%4a%6b%2F%2e%2E", 18, out);
	ck_assert_int_eq(n, 6);
	ck_assert_mem_eq(out, "AJk/..", 6);
	n = sg_path_decode("%2541", 5, out);
	ck_assert_int_eq(n, 3);
	ck_assert_mem_eq(out, "%41", 3);
	n = sg_path_decode("/a%00b", 6, out);
	ck_assert_int_eq(n, 4);
	ck_assert_mem_eq(out, "/a\0b", 4);
	n = sg_path_decode("%ff%FF", 6, out);
	ck_assert_int_eq(n, 2);
	ck_assert_mem_eq(out, "\xff\xff", 2);
	ck_assert_int_eq(sg_path_decode("", 0, out), 0);
	ck_assert_int_eq(sg_path_decode("plain;x\\y", 9, out), 9);
	ck_assert_mem_eq(out, "plain;x\\y", 9);
}
END_TEST

START_TEST(path_decode_malformed)
{
	static const char *bad[] = {
		"%zz", "%4", "%", "/a%", "/a%4", "%g0", "%0g", "%%41", "/x%2",
		"% 1", "%-1", "%+1",
	};
	char out[16];
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(bad); i++)
		ck_assert_msg(sg_path_decode(bad[i], strlen(bad[i]), out) == -1,
		    "%s should be malformed", bad[i]);
	/* the length bounds the input, not a NUL */
	ck_assert_int_eq(sg_path_decode("%41", 2, out), -1);
}
END_TEST

/* ---- canon ---- */

struct canon_case {
	const char *in;
	const char *cleaned; /* full cleaned path, prefix included */
	unsigned verlen;     /* 0: no version prefix */
	unsigned major, minor;
};

static const struct canon_case canon_cases[] = {
	{"", "", 0, 0, 0},
	{"/", "/", 0, 0, 0},
	{"/..", "/", 0, 0, 0},
	{"/../..", "/", 0, 0, 0},
	{"/../a", "/a", 0, 0, 0},
	{"//", "/", 0, 0, 0},
	{"/.", "/", 0, 0, 0},
	{"/./", "/", 0, 0, 0},
	{"//a//b/", "/a/b", 0, 0, 0},
	{"/a/./b/../c", "/a/c", 0, 0, 0},
	{"/a/b/../../..", "/", 0, 0, 0},
	{"/a/...", "/a/...", 0, 0, 0},
	{"/a/..b/.c", "/a/..b/.c", 0, 0, 0},
	{"a/b/..", "a", 0, 0, 0},
	{"a/..", ".", 0, 0, 0},
	{"../a", "../a", 0, 0, 0},
	{"../../a/..", "../..", 0, 0, 0},
	{".", ".", 0, 0, 0},
	{"*", "*", 0, 0, 0},
	{"/v1.45/containers/json", "/v1.45/containers/json", 6, 1, 45},
	{"/v1/x", "/v1/x", 3, 1, 0},
	{"/v01.45/x", "/v01.45/x", 7, 1, 45},
	{"/v0/x", "/v0/x", 3, 0, 0},
	{"/v1.45.99/x", "/v1.45.99/x", 9, 1, 45},
	{"/v9.99/x/", "/v9.99/x", 6, 9, 99},
	{"/v1.45/v1.46/x", "/v1.45/v1.46/x", 6, 1, 45},
	{"//v1.45//x", "/v1.45/x", 6, 1, 45},
	{"/x/../v1.45/y", "/v1.45/y", 6, 1, 45},
	{"/v1.45/../v1.44/y", "/v1.44/y", 6, 1, 44},
	{"/v1.45/..", "/", 0, 0, 0},
	{"/V1.45/x", "/V1.45/x", 0, 0, 0},
	{"/v/x", "/v/x", 0, 0, 0},
	{"/v1.45.99.1/x", "/v1.45.99.1/x", 0, 0, 0},
	{"/v1.45", "/v1.45", 0, 0, 0},
	{"/v1.45/", "/v1.45", 0, 0, 0},
	{"/v1./x", "/v1./x", 0, 0, 0},
	{"/v1.45./x", "/v1.45./x", 0, 0, 0},
	{"/v.1/x", "/v.1/x", 0, 0, 0},
	{"/vx/x", "/vx/x", 0, 0, 0},
	{"/v1x/y", "/v1x/y", 0, 0, 0},
	{"/v1,45/y", "/v1,45/y", 0, 0, 0},
	{"v1.45/x", "v1.45/x", 0, 0, 0},
	{"/v99999999999999999999.5/x", "/v99999999999999999999.5/x", 24,
	    999999, 5},
	{"/v1.99999999999999999999/x", "/v1.99999999999999999999/x", 24, 1,
	    999999},
	{"/containers/json;x=1", "/containers/json;x=1", 0, 0, 0},
	{"/a\\b/ c", "/a\\b/ c", 0, 0, 0},
};

START_TEST(path_canon_cases)
{
	const struct canon_case *c = &canon_cases[_i];
	char out[128];
	struct sg_path_ver ver;
	size_t n;

	memset(out, 'X', sizeof(out));
	n = sg_path_canon(c->in, strlen(c->in), out, &ver);
	ck_assert_uint_eq(n, strlen(c->cleaned));
	ck_assert_str_eq(out, c->cleaned);
	ck_assert_msg(ver.present == (c->verlen != 0), "%s: present", c->in);
	ck_assert_uint_eq(ver.len, c->verlen);
	ck_assert_uint_eq(ver.major, c->major);
	ck_assert_uint_eq(ver.minor, c->minor);
	if (ver.present)
		ck_assert_int_eq(out[ver.len], '/');
}
END_TEST

/* Version-like first segments that are not stripped are flagged odd. */
struct odd_case {
	const char *in;
	bool odd;
};

static const struct odd_case odd_cases[] = {
	{"/v1.45.99.1/x", true},
	{"/v1.40.0.1/containers/x/exec", true},
	{"/v1./x", true},
	{"/v1.45./x", true},
	{"/v1..41/x", true},
	{"/v.1/x", true},
	{"/v./x", true},
	{"/v1x/y", true},
	{"/v4.0.0-dev/libpod/info", true},
	{"/v1.45.99.1", true},
	{"//v1.40.0.1//x", true},
	{"/a/../v1.40.0.1/x", true},
	{"/v1.45/x", false},
	{"/v1.45.99/x", false},
	{"/v1/x", false},
	{"/v1.45", false},
	{"/v1.45/", false},
	{"/v1.45/v1.46.0.1/x", false},
	{"/V1.45.0.1/x", false},
	{"/v/x", false},
	{"/vx/x", false},
	{"/v1,45/y", false},
	{"/v1.4_5/y", false},
	{"/containers/v1.40.0.1", false},
	{"v1.40.0.1/x", false},
	{"", false},
};

START_TEST(path_version_odd)
{
	const struct odd_case *c = &odd_cases[_i];
	char out[64];
	struct sg_path_ver ver;

	(void)sg_path_canon(c->in, strlen(c->in), out, &ver);
	ck_assert_msg(ver.odd == c->odd, "%s: odd %d", c->in, ver.odd);
	ck_assert_msg(!(ver.odd && ver.present), "%s: odd and present",
	    c->in);
}
END_TEST

START_TEST(path_canon_keeps_bytes)
{
	const char in[] = "/containers/json\0/../x";
	char out[64];
	struct sg_path_ver ver;
	size_t n;

	/* NUL is an ordinary byte inside its segment */
	n = sg_path_canon(in, sizeof(in) - 1, out, &ver);
	ck_assert_uint_eq(n, 13);
	ck_assert_mem_eq(out, "/containers/x", 14);
	n = sg_path_canon("/a\0b", 4, out, &ver);
	ck_assert_uint_eq(n, 4);
	ck_assert_mem_eq(out, "/a\0b", 5);
}
END_TEST

/* Random paths over a hostile alphabet: canon(canon(x)) == canon(x). */
START_TEST(path_canon_idempotent)
{
	static const char alpha[] = "/./v1.a";
	char in[40], once[48], twice[48];
	struct sg_path_ver v1, v2;
	unsigned seed = 12345;
	int iter;

	for (iter = 0; iter < 20000; iter++) {
		size_t len = (size_t)(rand_r(&seed) % 32), i, n1, n2;

		for (i = 0; i < len; i++)
			in[i] = alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
		n1 = sg_path_canon(in, len, once, &v1);
		ck_assert_uint_le(n1, len);
		n2 = sg_path_canon(once, n1, twice, &v2);
		ck_assert_uint_eq(n1, n2);
		ck_assert_mem_eq(once, twice, n1);
		ck_assert(v1.present == v2.present && v1.len == v2.len);
		if (len > 0 && in[0] == '/') {
			ck_assert_int_eq(once[0], '/');
			ck_assert(strstr(once, "//") == NULL);
			ck_assert(strstr(once, "/./") == NULL);
			ck_assert(strstr(once, "/../") == NULL);
			ck_assert(n1 == 1 || once[n1 - 1] != '/');
		}
	}
}
END_TEST

/* ---- encode ---- */

START_TEST(path_encode_cases)
{
	char out[64];
	size_t n;

	n = sg_path_encode("/containers/json", 16, out, sizeof(out));
	ck_assert_uint_eq(n, 16);
	ck_assert_str_eq(out, "/containers/json");
	n = sg_path_encode("/a b%c\0?#", 9, out, sizeof(out));
	ck_assert_str_eq(out, "/a%20b%25c%00%3F%23");
	ck_assert_uint_eq(n, strlen(out));
	n = sg_path_encode("/-._~!$&'()*+,;=:@", 18, out, sizeof(out));
	ck_assert_str_eq(out, "/-._~!$&'()*+,;=:@");
	n = sg_path_encode("\"<>[]\\^`{|}\x7f\xc3\xa9", 14, out, sizeof(out));
	ck_assert_str_eq(out,
	    "%22%3C%3E%5B%5D%5C%5E%60%7B%7C%7D%7F%C3%A9");
	/* does not fit */
	ck_assert_uint_eq(sg_path_encode("/a b", 4, out, 5), 0);
	ck_assert_uint_eq(sg_path_encode("/abc", 4, out, 3), 0);
	/* exact fit: length returned, no room for a NUL needed */
	memset(out, 'X', sizeof(out));
	ck_assert_uint_eq(sg_path_encode("/a b", 4, out, 6), 6);
	ck_assert_mem_eq(out, "/a%20b", 6);
	ck_assert_int_eq(out[6], 'X');
}
END_TEST

/* decode(encode(x)) == x for random byte strings. */
START_TEST(path_encode_round_trip)
{
	unsigned char in[64];
	char enc[3 * 64 + 1], dec[3 * 64];
	unsigned seed = 4242;
	int iter;

	for (iter = 0; iter < 20000; iter++) {
		size_t len = (size_t)(rand_r(&seed) % 64), i, n;
		ssize_t m;

		for (i = 0; i < len; i++)
			in[i] = (unsigned char)(rand_r(&seed) & 0xff);
		n = sg_path_encode((const char *)in, len, enc, sizeof(enc));
		/* checked without an assertion per byte (each one costs
		 * Check a message to the parent): reported when wrong */
		if (len > 0 && n < len)
			ck_abort_msg("iter %d: %zu bytes encoded to %zu", iter,
			    len, n);
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)enc[i];

			if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' ||
			    (c == '%' && (i + 2 >= n ||
			    !strchr("0123456789ABCDEF", enc[i + 1]) ||
			    !strchr("0123456789ABCDEF", enc[i + 2]))))
				ck_abort_msg("iter %d: byte %zu of the encoding "
				    "(0x%02x) may not appear there", iter, i, c);
		}
		m = sg_path_decode(enc, n, dec);
		if (m != (ssize_t)len || memcmp(dec, in, len) != 0)
			ck_abort_msg("iter %d: decode(encode(x)) != x", iter);
	}
}
END_TEST

Suite *
suite_path(void)
{
	Suite *s = suite_create("path");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, path_evasion_table, 0,
	    (int)SG_ARRAY_LEN(evasions));
	tcase_add_test(tc, path_decode_once);
	tcase_add_test(tc, path_decode_malformed);
	tcase_add_loop_test(tc, path_canon_cases, 0,
	    (int)SG_ARRAY_LEN(canon_cases));
	tcase_add_loop_test(tc, path_version_odd, 0,
	    (int)SG_ARRAY_LEN(odd_cases));
	tcase_add_test(tc, path_canon_keeps_bytes);
	tcase_add_test(tc, path_canon_idempotent);
	tcase_add_test(tc, path_encode_cases);
	tcase_add_test(tc, path_encode_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
