/* SPDX-License-Identifier: MIT */
/*
 * test_dsl.c: the rule DSL: valid files, every error class with its
 * exact line:col, all errors of a file reported, and the
 * format -> parse round trip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "sockguard/arena.h"
#include "sockguard/cfg.h"
#include "sockguard/diag.h"

Suite *suite_dsl(void);

static int
parse(struct sg_arena *a, struct sg_diag *d, const char *text,
    struct sg_ir_rule **r, size_t *n)
{
	return sg_cfg_dsl_parse(a, d, "rules.dsl", text, strlen(text), r, n);
}

/* The one diagnostic of a one-error parse, formatted. */
static const char *
only_error(const char *text, char *buf, size_t cap)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_ir_rule *r;
	size_t n;

	sg_diag_init(&d);
	ck_assert_int_eq(parse(a, &d, text, &r, &n), -1);
	ck_assert_msg(d.n == 1, "%zu diagnostics for <%s>", d.n, text);
	sg_diag_format(&d.v[0], buf, cap);
	sg_diag_free(&d);
	sg_arena_free(a);
	return buf;
}

START_TEST(dsl_parses_valid_file)
{
	const char *text =
	    "# sockguard rules\n"
	    "allow GET,HEAD /_ping   # trailing comment\n"
	    "\n"
	    "   \t\n"
	    "  deny\tPOST  /containers/*/exec \"exec is not allowed\"\n"
	    "allow get , post,Purge /x,y\n"
	    "allow GET \"/a b/#c\" \"say \\\"no\\\" \\\\ \\t \\n\"#c\n"
	    "allow GET /x \"\"\n"
	    "deny * /**";
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_ir_rule *r;
	size_t n;

	sg_diag_init(&d);
	ck_assert_int_eq(parse(a, &d, text, &r, &n), 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_uint_eq(n, 6);

	ck_assert_int_eq(r[0].action, SG_ACTION_ALLOW);
	ck_assert(!r[0].any_method);
	ck_assert_uint_eq(r[0].nmethods, 2);
	ck_assert_str_eq(r[0].methods[0], "GET");
	ck_assert_str_eq(r[0].methods[1], "HEAD");
	ck_assert_str_eq(r[0].path, "/_ping");
	ck_assert_str_eq(r[0].reason, "");
	ck_assert_str_eq(r[0].loc.file, "rules.dsl");
	ck_assert_uint_eq(r[0].loc.line, 2);
	ck_assert_uint_eq(r[0].loc.col, 1);

	ck_assert_int_eq(r[1].action, SG_ACTION_DENY);
	ck_assert_uint_eq(r[1].nmethods, 1);
	ck_assert_str_eq(r[1].methods[0], "POST");
	ck_assert_str_eq(r[1].path, "/containers/*/exec");
	ck_assert_str_eq(r[1].reason, "exec is not allowed");
	ck_assert_uint_eq(r[1].loc.line, 5);
	ck_assert_uint_eq(r[1].loc.col, 3);

	ck_assert_uint_eq(r[2].nmethods, 3);
	ck_assert_str_eq(r[2].methods[0], "GET");
	ck_assert_str_eq(r[2].methods[1], "POST");
	ck_assert_str_eq(r[2].methods[2], "PURGE");
	ck_assert_str_eq(r[2].path, "/x,y");

	ck_assert_str_eq(r[3].path, "/a b/#c");
	ck_assert_str_eq(r[3].reason, "say \"no\" \\ \t \n");
	ck_assert_str_eq(r[4].reason, "");

	ck_assert_int_eq(r[5].action, SG_ACTION_DENY);
	ck_assert(r[5].any_method);
	ck_assert_uint_eq(r[5].nmethods, 0);
	ck_assert_str_eq(r[5].path, "/**");
	ck_assert_uint_eq(r[5].loc.line, 9);
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

START_TEST(dsl_crlf_and_no_final_newline)
{
	const char *text = "allow GET /_ping\r\n# c\r\ndeny * /** \"x\"\r\n";
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_ir_rule *r;
	size_t n;

	sg_diag_init(&d);
	ck_assert_int_eq(parse(a, &d, text, &r, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(r[0].path, "/_ping");
	ck_assert_str_eq(r[1].reason, "x");
	ck_assert_uint_eq(r[1].loc.line, 3);
	/* the buffer need not be NUL-terminated: only len bytes are read */
	ck_assert_int_eq(sg_cfg_dsl_parse(a, &d, "f", "allow GET /a/bXXXX", 14,
	    &r, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(r[0].path, "/a/b");
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

struct dsl_err {
	const char *text;
	const char *want; /* the formatted diagnostic */
};

static const struct dsl_err dsl_errs[] = {
	{"permit GET /x\n", "rules.dsl:1:1: error: expected \"allow\" or "
	    "\"deny\", got \"permit\""},
	{"Allow GET /x\n", "rules.dsl:1:1: error: expected \"allow\" or "
	    "\"deny\", got \"Allow\""},
	{"/x\n",
	    "rules.dsl:1:1: error: expected \"allow\" or \"deny\", got \"/x\""},
	{"\"allow\" GET /x\n", "rules.dsl:1:1: error: expected \"allow\" or "
	    "\"deny\", got \"allow\""},
	{"allow /x\n", "rules.dsl:1:7: error: expected a method list (\"*\" "
	    "or names such as GET,HEAD), got \"/x\""},
	{"allow, GET /x\n", "rules.dsl:1:6: error: expected a method list "
	    "(\"*\" or names such as GET,HEAD), got \",\""},
	{"allow G\xc3\x89T /x\n", "rules.dsl:1:7: error: expected a method "
	    "list (\"*\" or names such as GET,HEAD), got \"G\\xc3\\x89T\""},
	{"allow\n", "rules.dsl:1:6: error: expected a method list (\"*\" or "
	    "names such as GET,HEAD), got end of line"},
	{"allow GET foo\n", "rules.dsl:1:11: error: expected a path starting "
	    "with '/', got \"foo\""},
	{"allow foo\n", "rules.dsl:1:10: error: expected a path starting "
	    "with '/', got end of line"},
	{"deny * foo\n", "rules.dsl:1:8: error: expected a path starting "
	    "with '/', got \"foo\""},
	{"allow GET", "rules.dsl:1:10: error: expected a path starting with "
	    "'/', got end of file"},
	{"allow GET \"x\"\n", "rules.dsl:1:11: error: expected a path starting "
	    "with '/', got \"x\""},
	{"allow GET \"\"\n", "rules.dsl:1:11: error: expected a path starting "
	    "with '/', got \"\""},
	{"allow GET,* /x\n", "rules.dsl:1:11: error: '*' cannot be combined "
	    "with method names"},
	{"allow *,GET /x\n", "rules.dsl:1:8: error: '*' cannot be combined "
	    "with method names"},
	{"allow GET, /x\n", "rules.dsl:1:12: error: expected a method name "
	    "after ',', got \"/x\""},
	{"allow GET,,HEAD /x\n", "rules.dsl:1:11: error: expected a method "
	    "name after ',', got \",\""},
	{"allow ** /x\n", "rules.dsl:1:7: error: expected a method list "
	    "(\"*\" or names such as GET,HEAD), got \"**\""},
	{"allow GET /x reason\n", "rules.dsl:1:14: error: expected a quoted "
	    "reason or end of line, got \"reason\""},
	{"allow GET /x \"r\" extra\n", "rules.dsl:1:18: error: expected end "
	    "of line after the reason, got \"extra\""},
	{"allow GET /x \"r\" \"s\"\n", "rules.dsl:1:18: error: expected end "
	    "of line after the reason, got \"s\""},
	{"allow GET /x \"abc\n",
	    "rules.dsl:1:14: error: unterminated quoted string"},
	{"allow GET /x \"abc",
	    "rules.dsl:1:14: error: unterminated quoted string"},
	{"allow GET /x \"a\\qb\"\n", "rules.dsl:1:16: error: invalid escape "
	    "\"\\q\" in quoted string (use \\\", \\\\, \\n or \\t)"},
	{"allow GET /x \"a\\x41\"\n", "rules.dsl:1:16: error: invalid escape "
	    "\"\\x\" in quoted string (use \\\", \\\\, \\n or \\t)"},
	{"allow GET /x \"a\\\xc3\xa9\"\n", "rules.dsl:1:16: error: invalid "
	    "escape in quoted string (use \\\", \\\\, \\n or \\t)"},
	{"allow GET /x \"a\tb\"\n", "rules.dsl:1:16: error: control character "
	    "0x09 in quoted string (write \\n or \\t for newline and tab)"},
	{"allow GET /x \"a\x01\"\n", "rules.dsl:1:16: error: control "
	    "character 0x01 in quoted string (write \\n or \\t for newline "
	    "and tab)"},
	{"deny POST /containers/create\"no\"\nallow * /**\n",
	    "rules.dsl:1:29: error: '\"' inside an unquoted path; put a "
	    "space before the reason, or quote the whole path"},
	{"allow GET /a\"b\n", "rules.dsl:1:13: error: '\"' inside an "
	    "unquoted path; put a space before the reason, or quote the whole "
	    "path"},
	{"allow GET /x\x01\n",
	    "rules.dsl:1:13: error: unexpected control character 0x01"},
	{"allow GET /x\r \n",
	    "rules.dsl:1:13: error: unexpected control character 0x0d"},
	{"\x7f", "rules.dsl:1:1: error: unexpected control character 0x7f"},
	{"allow GET /x%2e\n", "rules.dsl:1:11: error: path \"/x%2e\" contains "
	    "a literal '%'; sockguard matches the path as the daemon routes it "
	    "(decoded once at the HTTP layer), so an escape here can never "
	    "match; write the decoded form"},
	{"allow GET \"/a%20b\"\n", "rules.dsl:1:11: error: path \"/a%20b\" "
	    "contains a literal '%'; sockguard matches the path as the daemon "
	    "routes it (decoded once at the HTTP layer), so an escape here can "
	    "never match; write the decoded form"},
	{"", "rules.dsl: error: no rules found (write at least one allow or "
	    "deny line)"},
	{"# only a comment\n\n", "rules.dsl: error: no rules found (write at "
	    "least one allow or deny line)"},
	{"\n\n  allow GET /x \"a\" b\n", "rules.dsl:3:20: error: expected end "
	    "of line after the reason, got \"b\""},
};

START_TEST(dsl_error_classes)
{
	const struct dsl_err *e = &dsl_errs[_i];
	char buf[512];

	ck_assert_str_eq(only_error(e->text, buf, sizeof(buf)), e->want);
}
END_TEST

START_TEST(dsl_embedded_nul)
{
	char buf[512];
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_ir_rule *r;
	size_t n;

	sg_diag_init(&d);
	ck_assert_int_eq(sg_cfg_dsl_parse(a, &d, "rules.dsl",
	    "allow GET /a\0b\nallow GET \"/\0\"\n", 30, &r, &n), -1);
	ck_assert_uint_eq(d.nerr, 2);
	sg_diag_format(&d.v[0], buf, sizeof(buf));
	ck_assert_str_eq(buf,
	    "rules.dsl:1:13: error: unexpected control character 0x00");
	sg_diag_format(&d.v[1], buf, sizeof(buf));
	ck_assert_str_eq(buf, "rules.dsl:2:13: error: control character 0x00 "
	    "in quoted string (write \\n or \\t for newline and tab)");
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

START_TEST(dsl_reports_every_error)
{
	const char *text =
	    "permit GET /x\n"                       /* 1 */
	    "allow GET /ok\n"                       /* 2 */
	    "allow GET foo\n"                       /* 3 */
	    "# fine\n"                              /* 4 */
	    "deny * /x \"unterminated\n"            /* 5 */
	    "allow GET,* /y\n"                      /* 6 */
	    "deny POST /z \"bad \\q\" trailing\n"   /* 7 */
	    "allow GET /x%41\n"                     /* 8 */
	    "deny * /**\n"                          /* 9 */
	    "allow GET /a \"r\" junk";              /* 10 */
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_ir_rule *r;
	size_t n;

	sg_diag_init(&d);
	ck_assert_int_eq(parse(a, &d, text, &r, &n), -1);
	ck_assert_uint_eq(d.nerr, 7);
	ck_assert_uint_eq(d.v[0].loc.line, 1);
	ck_assert_uint_eq(d.v[1].loc.line, 3);
	ck_assert_uint_eq(d.v[2].loc.line, 5);
	ck_assert_uint_eq(d.v[3].loc.line, 6);
	ck_assert_uint_eq(d.v[4].loc.line, 7);
	ck_assert_uint_eq(d.v[5].loc.line, 8);
	ck_assert_uint_eq(d.v[6].loc.line, 10);
	ck_assert(sg_diag_has(&d, "rules.dsl:5:11: error: unterminated"));
	ck_assert(sg_diag_has(&d, "rules.dsl:7:19: error: invalid escape"));
	ck_assert(sg_diag_has(&d, "rules.dsl:10:18: error: expected end of "
	    "line after the reason, got \"junk\""));
	/* the good lines still parsed */
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(r[0].path, "/ok");
	ck_assert_uint_eq(r[1].loc.line, 9);
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

START_TEST(dsl_format_exact)
{
	static const char *gh[] = {"GET", "HEAD"};
	static const char *post[] = {"POST"};
	const struct sg_ir_rule rules[] = {
		{gh, 2, false, "/_ping", SG_ACTION_ALLOW, "", {0}},
		{NULL, 0, true, "/**", SG_ACTION_DENY, "", {0}},
		{post, 1, false, "/containers/*/exec", SG_ACTION_DENY,
		    "exec is not allowed", {0}},
		{post, 1, false, "/a b/#c\"d", SG_ACTION_ALLOW,
		    "q\"b\\t\tn\n", {0}},
		{post, 1, false, "/a\\b,c", SG_ACTION_ALLOW, NULL, {0}},
	};
	const char *want[] = {
		"allow GET,HEAD /_ping",
		"deny * /**",
		"deny POST /containers/*/exec \"exec is not allowed\"",
		"allow POST \"/a b/#c\\\"d\" \"q\\\"b\\\\t\\tn\\n\"",
		"allow POST /a\\b,c",
	};
	char buf[256], small[8];
	size_t i, n;

	for (i = 0; i < SG_ARRAY_LEN(rules); i++) {
		n = sg_cfg_dsl_format(&rules[i], buf, sizeof(buf));
		ck_assert_str_eq(buf, want[i]);
		ck_assert_uint_eq(n, strlen(want[i]));
	}
	/* snprintf semantics */
	n = sg_cfg_dsl_format(&rules[2], small, sizeof(small));
	ck_assert_uint_eq(n, strlen(want[2]));
	ck_assert_str_eq(small, "deny PO");
	ck_assert_uint_eq(sg_cfg_dsl_format(&rules[2], NULL, 0),
	    strlen(want[2]));
}
END_TEST

/* Every rule formatted, joined with newlines, parsed back, compared. */
START_TEST(dsl_round_trip)
{
	static const char *gh[] = {"GET", "HEAD"};
	static const char *odd[] = {"PURGE", "M-SEARCH", "X_Y.Z~1"};
	static const char *one[] = {"DELETE"};
	const struct sg_ir_rule rules[] = {
		{gh, 2, false, "/_ping", SG_ACTION_ALLOW, "", {0}},
		{odd, 3, false, "/x/*/y/**", SG_ACTION_DENY, "nope", {0}},
		{NULL, 0, true, "/**", SG_ACTION_DENY,
		    "no matching allow rule", {0}},
		{one, 1, false, "/with space/and\ttab", SG_ACTION_ALLOW,
		    "quotes \" and \\ backslashes \\\" and\ttabs\nnewline",
		    {0}},
		{one, 1, false, "/hash#frag", SG_ACTION_DENY, "#not a comment",
		    {0}},
		{one, 1, false, "/q\"uote", SG_ACTION_DENY, "\\", {0}},
		{one, 1, false, "/back\\slash,comma;semi", SG_ACTION_ALLOW,
		    "\"", {0}},
		{one, 1, false, "/\xc3\xa9t\xc3\xa9", SG_ACTION_ALLOW,
		    "\xe2\x9c\x93 utf-8", {0}},
		{NULL, 0, true, "/", SG_ACTION_ALLOW, "", {0}},
	};
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_ir_rule *r, *r2;
	size_t n, n2, i, j, len = 0;
	char text[4096], again[4096];

	for (i = 0; i < SG_ARRAY_LEN(rules); i++) {
		len += sg_cfg_dsl_format(&rules[i], text + len,
		    sizeof(text) - len);
		text[len++] = '\n';
	}
	text[len] = '\0';
	sg_diag_init(&d);
	ck_assert_msg(sg_cfg_dsl_parse(a, &d, "rt", text, len, &r, &n) == 0,
	    "%s", d.n ? d.v[0].msg : text);
	ck_assert_uint_eq(n, SG_ARRAY_LEN(rules));
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(r[i].action, rules[i].action);
		ck_assert_int_eq(r[i].any_method, rules[i].any_method);
		ck_assert_uint_eq(r[i].nmethods, rules[i].nmethods);
		for (j = 0; j < r[i].nmethods; j++)
			ck_assert_str_eq(r[i].methods[j], rules[i].methods[j]);
		ck_assert_str_eq(r[i].path, rules[i].path);
		ck_assert_str_eq(r[i].reason, rules[i].reason);
		ck_assert_uint_eq(r[i].loc.line, i + 1);
		ck_assert_uint_eq(r[i].loc.col, 1);
	}
	/* and the printed form is a fixed point */
	for (i = 0, len = 0; i < n; i++) {
		len += sg_cfg_dsl_format(&r[i], again + len,
		    sizeof(again) - len);
		again[len++] = '\n';
	}
	again[len] = '\0';
	ck_assert_str_eq(again, text);
	ck_assert_int_eq(sg_cfg_dsl_parse(a, &d, "rt", again, len, &r2, &n2),
	    0);
	ck_assert_uint_eq(n2, n);
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

/* Random bytes never crash the parser and always end in rules or errors. */
START_TEST(dsl_random_input)
{
	static const char alpha[] = "allow deny GET,* /x/** \"\\#\n\t\r\x01q%";
	unsigned seed = 99;
	char text[80];
	int iter;

	for (iter = 0; iter < 5000; iter++) {
		struct sg_arena *a = sg_arena_new();
		struct sg_diag d;
		struct sg_ir_rule *r;
		size_t len = (size_t)(rand_r(&seed) % sizeof(text)), i, n;
		int rc;

		for (i = 0; i < len; i++)
			text[i] = alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
		sg_diag_init(&d);
		rc = sg_cfg_dsl_parse(a, &d, "fz", text, len, &r, &n);
		ck_assert(rc == 0 ? d.nerr == 0 && n > 0 : d.nerr > 0);
		for (i = 0; i < d.n; i++) {
			ck_assert(d.v[i].loc.line <= 80);
			ck_assert(d.v[i].loc.col <= 81);
		}
		sg_diag_free(&d);
		sg_arena_free(a);
	}
}
END_TEST

Suite *
suite_dsl(void)
{
	Suite *s = suite_create("dsl");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, dsl_parses_valid_file);
	tcase_add_test(tc, dsl_crlf_and_no_final_newline);
	tcase_add_loop_test(tc, dsl_error_classes, 0,
	    (int)SG_ARRAY_LEN(dsl_errs));
	tcase_add_test(tc, dsl_embedded_nul);
	tcase_add_test(tc, dsl_reports_every_error);
	tcase_add_test(tc, dsl_format_exact);
	tcase_add_test(tc, dsl_round_trip);
	tcase_add_test(tc, dsl_random_input);
	suite_add_tcase(s, tc);
	return s;
}
