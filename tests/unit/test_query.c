/* SPDX-License-Identifier: MIT */
/* test_query.c: reading a boolean query flag the way the daemon could. */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "sockguard/http.h"

struct q_case {
	const char *q;
	bool on;
};

static const struct q_case q_cases[] = {
	/* off: absent, or a value Docker's BoolValue reads as false */
	{"", false},
	{"stream=1&stdout=1", false},
	{"stdin", false},
	{"stdin=", false},
	{"stdin=0", false},
	{"stdin=no", false},
	{"stdin=NO", false},
	{"stdin=false", false},
	{"stdin=False", false},
	{"stdin=none", false},
	{"stdin=+0+", false},
	{"stdin=%200%09", false},
	{"stdin=%46alse", false},
	{"stdinx=1", false},
	{"xstdin=1", false},
	{"stdin_=1", false},
	{"a=stdin", false},
	{"logs=1&stream=1&stdout=1&stderr=1&stdin=0", false},
	/* on: any value BoolValue reads as true */
	{"stdin=1", true},
	{"stdin=true", true},
	{"stdin=yes", true},
	{"stdin=2", true},
	{"stdin=00", true},
	{"stdin=0x", true},
	{"stdout=1&stdin=1", true},
	/* on: however it is spelled on the wire */
	{"STDIN=1", true},
	{"Stdin=1", true},
	{"std%69n=1", true},
	{"%73%74%64%69%6E=1", true},
	{"stdin=%31", true},
	{"stdin=+1+", true},
	{"stdin=%201", true},
	/* on: any occurrence counts, and ';' separates too (older Go) */
	{"stdin=0&stdin=1", true},
	{"stdin=1&stdin=0", true},
	{"a=0;stdin=1", true},
	{"stdin=1;a=0", true},
	/* on: what does not decode is suspect */
	{"stdin=%zz", true},
	{"stdin=%3", true},
	{"std%6=1", true},
	{"%=1", true},
	/* a value too long to be one of the false words */
	{"stdin=                                        0", true},
};

START_TEST(query_flag_cases)
{
	const struct q_case *c = &q_cases[_i];
	size_t n = strlen(c->q);
	/* an exact-size copy: reading past the end shows under ASan */
	char *q = malloc(n + 1);

	ck_assert_ptr_nonnull(q);
	memcpy(q, c->q, n);
	if (sg_query_flag_may_be_on(q, n, "stdin") != c->on)
		ck_abort_msg("query \"%s\": expected %s", c->q,
		    c->on ? "on" : "off");
	free(q);
}
END_TEST

START_TEST(query_flag_uses_length_not_nul)
{
	/* the bytes after n are not part of the query */
	ck_assert(!sg_query_flag_may_be_on("stdin=0stdin=1", 7, "stdin"));
	ck_assert(sg_query_flag_may_be_on("stdin=1&x", 7, "stdin"));
	ck_assert(!sg_query_flag_may_be_on("stdin=1", 0, "stdin"));
}
END_TEST

Suite *suite_query(void);

Suite *
suite_query(void)
{
	Suite *s = suite_create("query");
	TCase *tc = tcase_create("flag");

	tcase_add_loop_test(tc, query_flag_cases, 0,
	    (int)(sizeof(q_cases) / sizeof(q_cases[0])));
	tcase_add_test(tc, query_flag_uses_length_not_nul);
	suite_add_tcase(s, tc);
	return s;
}
