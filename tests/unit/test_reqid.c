/* SPDX-License-Identifier: MIT */
/* test_reqid.c: request and trace ids (reqid.c). */
#include <string.h>

#include <check.h>

#include "sockguard/runtime.h"

START_TEST(random_hex_is_lowercase_hex_and_varies)
{
	char a[33], b[33];
	size_t i;

	sg_random_hex(a, 16);
	sg_random_hex(b, 16);
	ck_assert_uint_eq(strlen(a), 32);
	for (i = 0; i < 32; i++)
		ck_assert(strchr("0123456789abcdef", a[i]) != NULL);
	ck_assert_str_ne(a, b);
	ck_assert(strspn(a, "0") < 32);
}
END_TEST

/*
 * Ids of every size a request takes, many times over: the pool of random
 * bytes is refilled again and again with a few bytes left in it, and
 * every id still has its length, its digits and bytes of its own.
 */
START_TEST(ids_stay_whole_across_pool_refills)
{
	static const size_t sizes[] = {16, 16, 8, 3, 32, 1};
	char prev[6][65], cur[65];
	size_t i, k, same = 0;

	memset(prev, 0, sizeof(prev));
	for (i = 0; i < 3000; i++) {
		size_t n = sizes[i % 6];

		memset(cur, 'x', sizeof(cur));
		sg_random_hex(cur, n);
		ck_assert_uint_eq(strlen(cur), 2 * n);
		for (k = 0; k < 2 * n; k++)
			ck_assert(strchr("0123456789abcdef", cur[k]) != NULL);
		if (n >= 8) {
			ck_assert(strspn(cur, "0") < 2 * n);
			same += strcmp(cur, prev[i % 6]) == 0;
		}
		memcpy(prev[i % 6], cur, sizeof(cur));
	}
	ck_assert_uint_eq(same, 0);
}
END_TEST

START_TEST(trace_begin_takes_a_valid_traceparent)
{
	struct sg_xfer x;
	const char *tp =
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

	memset(&x, 0, offsetof(struct sg_xfer, in));
	sg_trace_begin(&x, tp, strlen(tp));
	ck_assert_str_eq(x.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
	ck_assert_str_eq(x.parent_id, "00f067aa0ba902b7");
	ck_assert_str_eq(x.flags, "01");
	ck_assert_uint_eq(strlen(x.span_id), 16);
	ck_assert_str_ne(x.span_id, "00f067aa0ba902b7");
	/* an all-zero trace id is invalid: a new one is made */
	tp = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
	sg_trace_begin(&x, tp, strlen(tp));
	ck_assert_uint_eq(strlen(x.trace_id), 32);
	ck_assert_str_ne(x.trace_id, "00000000000000000000000000000000");
	ck_assert_str_eq(x.parent_id, "");
	ck_assert_str_eq(x.flags, "00");
}
END_TEST

Suite *suite_reqid(void);

Suite *
suite_reqid(void)
{
	Suite *s = suite_create("reqid");
	TCase *tc = tcase_create("ids");

	tcase_add_test(tc, random_hex_is_lowercase_hex_and_varies);
	tcase_add_test(tc, ids_stay_whole_across_pool_refills);
	tcase_add_test(tc, trace_begin_takes_a_valid_traceparent);
	suite_add_tcase(s, tc);
	return s;
}
