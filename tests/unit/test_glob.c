/* SPDX-License-Identifier: MIT */
/*
 * test_glob.c: the rule path glob dialect (SPEC 2.6.4): the spec's
 * examples, the fast paths, adversarial patterns, and a differential
 * test against a naive backtracking reading of the reference regex.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "sockguard/arena.h"
#include "sockguard/glob.h"

Suite *suite_glob(void);

struct glob_case {
	const char *pat;
	const char *s;
	bool match;
};

static const struct glob_case glob_cases[] = {
	/* no '*': exact */
	{"/_ping", "/_ping", true},
	{"/_ping", "/_pinG", false},
	{"/_ping", "/_ping/", false},
	{"/_ping", "/_pin", false},
	{"/_ping", "", false},
	{"", "", true},
	{"", "/", false},
	{"/a.b", "/a.b", true},
	{"/a.b", "/axb", false},
	{"/a?b[c]", "/a?b[c]", true},
	{"/a?b[c]", "/axbc", false},
	/* '*' within one segment */
	{"/containers/abc*", "/containers/abc", true},
	{"/containers/abc*", "/containers/abcdef", true},
	{"/containers/abc*", "/containers/abc/x", false},
	{"/containers/abc*", "/containers/ab", false},
	{"/images/*:latest", "/images/foo:latest", true},
	{"/images/*:latest", "/images/:latest", true},
	{"/images/*:latest", "/images/a/b:latest", false},
	{"/images/*:latest", "/images/foo:latest2", false},
	{"/containers/*/json", "/containers/abc/json", true},
	{"/containers/*/json", "/containers//json", true},
	{"/containers/*/json", "/containers/a/b/json", false},
	{"/containers/*/exec", "/containers/abc/exec", true},
	{"/a*b*c", "/abc", true},
	{"/a*b*c", "/aXbYc", true},
	{"/a*b*c", "/aXbY/c", false},
	{"/a*b*c", "/acb", false},
	{"*", "", true},
	{"*", "abc", true},
	{"*", "/a", false},
	{"/*", "/", true},
	{"/*", "/abc", true},
	{"/*", "/a/b", false},
	/* "/" "**": optional "/anything" group */
	{"/containers/**", "/containers", true},
	{"/containers/**", "/containers/", true},
	{"/containers/**", "/containers/anything/deeper", true},
	{"/containers/**", "/containersx", false},
	{"/containers/**", "/container", false},
	{"/containers/**", "/x/containers", false},
	{"/images/**/json", "/images/json", true},
	{"/images/**/json", "/images/a/json", true},
	{"/images/**/json", "/images/a/b/json", true},
	{"/images/**/json", "/images//json", true},
	{"/images/**/json", "/imagesjson", false},
	{"/images/**/json", "/images/jsonx", false},
	{"/images/**/json", "/images/a/b/json/x", false},
	{"/**", "/", true},
	{"/**", "", true},
	{"/**", "/anything/at/all", true},
	{"/**", "*", true},
	{"/a/**/b/**", "/a/b", true},
	{"/a/**/b/**", "/a/x/b", true},
	{"/a/**/b/**", "/a/x/b/y/z", true},
	{"/a/**/b/**", "/a/xb", false},
	{"/a/**/b/**", "/a/x/by", false},
	{"/**x", "x", true},
	{"/**x", "/ax", true},
	{"/**x", "/a/bx", true},
	{"/**x", "/a", false},
	{"/***", "abc", true},
	{"/***", "/x/y", true},
	{"/***", "a/b", false},
	/* "**" not after '/': any bytes */
	{"/foo**", "/foo/bar/baz", true},
	{"/foo**", "/foo", true},
	{"/foo**", "/foobar", true},
	{"/foo**", "/fo", false},
	{"**", "", true},
	{"**", "anything/at/all", true},
	{"a**b", "ab", true},
	{"a**b", "a/x/b", true},
	{"a**b", "a/x/bc", false},
	{"/a***", "/a/b/c", true},
	/* case-sensitive */
	{"/A*", "/a", false},
	{"/A*", "/Ab", true},
	/* literal bytes */
	{"/a b/#c", "/a b/#c", true},
	{"/exec/*/start", "/exec/abc/start", true},
	{"/exec/*/start", "/exec/abc/start/", false},
};

START_TEST(glob_table)
{
	const struct glob_case *c = &glob_cases[_i];
	struct sg_arena *a = sg_arena_new();
	struct sg_glob *g = sg_glob_compile(a, c->pat, strlen(c->pat));

	ck_assert_ptr_nonnull(g);
	ck_assert_msg(sg_glob_match(g, c->s, strlen(c->s)) == c->match,
	    "pattern \"%s\" vs \"%s\": expected %s", c->pat, c->s,
	    c->match ? "match" : "no match");
	sg_arena_free(a);
}
END_TEST

/* A naive backtracking reading of SPEC 2.6.4's regex construction. */
static bool
glob_ref(const char *p, size_t pl, const char *s, size_t sl)
{
	size_t k;

	if (pl == 0)
		return sl == 0;
	if (pl >= 3 && p[0] == '/' && p[1] == '*' && p[2] == '*') {
		if (glob_ref(p + 3, pl - 3, s, sl))
			return true;
		if (sl == 0 || s[0] != '/')
			return false;
		for (k = 1; k <= sl; k++)
			if (glob_ref(p + 3, pl - 3, s + k, sl - k))
				return true;
		return false;
	}
	if (pl >= 2 && p[0] == '*' && p[1] == '*') {
		for (k = 0; k <= sl; k++)
			if (glob_ref(p + 2, pl - 2, s + k, sl - k))
				return true;
		return false;
	}
	if (p[0] == '*') {
		for (k = 0; k <= sl; k++) {
			if (k > 0 && s[k - 1] == '/')
				break;
			if (glob_ref(p + 1, pl - 1, s + k, sl - k))
				return true;
		}
		return false;
	}
	return sl > 0 && s[0] == p[0] && glob_ref(p + 1, pl - 1, s + 1, sl - 1);
}

START_TEST(glob_differential)
{
	static const char palpha[] = "/a*b*/";
	static const char salpha[] = "/ab";
	struct sg_arena *a = sg_arena_new();
	unsigned seed = 777;
	char p[12], s[12];
	int iter, j;

	for (iter = 0; iter < 3000; iter++) {
		size_t pl = (size_t)(rand_r(&seed) % 10), i;
		struct sg_glob *g;

		for (i = 0; i < pl; i++)
			p[i] = palpha[rand_r(&seed) % (sizeof(palpha) - 1)];
		g = sg_glob_compile(a, p, pl);
		ck_assert_ptr_nonnull(g);
		for (j = 0; j < 40; j++) {
			size_t sl = (size_t)(rand_r(&seed) % 10);
			bool want;

			for (i = 0; i < sl; i++)
				s[i] = salpha[rand_r(&seed) %
				    (sizeof(salpha) - 1)];
			/* the catch-all alone is "always true" (fast path) */
			want = (pl == 3 && memcmp(p, "/**", 3) == 0) ||
			    glob_ref(p, pl, s, sl);
			ck_assert_msg(sg_glob_match(g, s, sl) == want,
			    "pattern \"%.*s\" vs \"%.*s\": expected %d",
			    (int)pl, p, (int)sl, s, want);
		}
	}
	sg_arena_free(a);
}
END_TEST

/* Patterns that blow up a backtracking matcher stay linear here. */
START_TEST(glob_adversarial)
{
	static const char *pats[] = {
		"/**/**/**/**/**/**/**/**/x",
		"/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/x",
		"**a**a**a**a**a**a**a**a**a**a**b",
		"/*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",
		"/**a/**a/**a/**a/**a/**a/**a/**b",
	};
	struct sg_arena *a = sg_arena_new();
	char *s = malloc(4097);
	size_t i, k;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < SG_ARRAY_LEN(pats); i++) {
		struct sg_glob *g;

		g = sg_glob_compile(a, pats[i], strlen(pats[i]));

		ck_assert_ptr_nonnull(g);
		/* "/a/a/a..." and "/aaaa...": no match, 4 KiB */
		for (k = 0; k < 4096; k++)
			s[k] = (k % 2 == 0) ? '/' : 'a';
		ck_assert(!sg_glob_match(g, s, 4096));
		s[0] = '/';
		for (k = 1; k < 4096; k++)
			s[k] = 'a';
		ck_assert(!sg_glob_match(g, s, 4096));
	}
	/* and they still match when they should */
	for (k = 0; k < 4094; k++)
		s[k] = (k % 2 == 0) ? '/' : 'a';
	s[4094] = '/';
	s[4095] = 'x';
	ck_assert(sg_glob_match(sg_glob_compile(a, pats[0], strlen(pats[0])),
	    s, 4096));
	ck_assert(sg_glob_match(sg_glob_compile(a, pats[1], strlen(pats[1])),
	    s, 4096));
	s[0] = '/';
	for (k = 1; k < 4095; k++)
		s[k] = 'a';
	s[4095] = 'b';
	ck_assert(sg_glob_match(sg_glob_compile(a, pats[2], strlen(pats[2])),
	    s + 1, 4095));
	ck_assert(sg_glob_match(sg_glob_compile(a, pats[3], strlen(pats[3])),
	    s, 4096));
	free(s);
	sg_arena_free(a);
}
END_TEST

START_TEST(glob_limits)
{
	struct sg_arena *a = sg_arena_new();
	size_t max = 4095;
	char *p = malloc(max + 2);
	struct sg_glob *g;

	ck_assert_ptr_nonnull(p);
	memset(p, 'a', max + 1);
	p[0] = '/';
	p[1] = '*';
	/* the longest pattern the NFA takes; one more byte is refused */
	g = sg_glob_compile(a, p, max);
	ck_assert_ptr_nonnull(g);
	ck_assert(sg_glob_match(g, p, max));
	ck_assert(!sg_glob_match(g, p, max - 1));
	ck_assert_ptr_null(sg_glob_compile(a, p, max + 1));
	/* embedded NUL and high bytes are ordinary literals */
	g = sg_glob_compile(a, "/a\0*\xff", 5);
	ck_assert(sg_glob_match(g, "/a\0xyz\xff", 7));
	ck_assert(!sg_glob_match(g, "/a\0x/z\xff", 7));
	/* literal prefix fast path */
	g = sg_glob_compile(a, "/v1.45/**", 9);
	ck_assert(sg_glob_match(g, "/v1.45", 6));
	ck_assert(sg_glob_match(g, "/v1.45/x", 8));
	ck_assert(!sg_glob_match(g, "/v1.455", 7));
	free(p);
	sg_arena_free(a);
}
END_TEST

Suite *
suite_glob(void)
{
	Suite *s = suite_create("glob");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, glob_table, 0, (int)SG_ARRAY_LEN(glob_cases));
	tcase_add_test(tc, glob_differential);
	tcase_add_test(tc, glob_adversarial);
	tcase_add_test(tc, glob_limits);
	suite_add_tcase(s, tc);
	return s;
}
