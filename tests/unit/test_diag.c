/* SPDX-License-Identifier: MIT */
#include <string.h>

#include <check.h>

#include "sockguard/arena.h"
#include "sockguard/diag.h"

START_TEST(diag_formats_location_and_key)
{
	struct sg_diag d;
	struct sg_loc loc = {"a.yaml", 3, 7};
	char buf[256];

	sg_diag_init(&d);
	ck_assert_int_eq(sg_diag_error(&d, &loc, "listen.socket", "bad %d", 1), -1);
	sg_diag_warn(&d, NULL, NULL, "just a warning");
	ck_assert_uint_eq(d.nerr, 1);
	ck_assert_uint_eq(d.nwarn, 1);
	sg_diag_format(&d.v[0], buf, sizeof(buf));
	ck_assert_str_eq(buf, "a.yaml:3:7: error: listen.socket: bad 1");
	sg_diag_format(&d.v[1], buf, sizeof(buf));
	ck_assert_str_eq(buf, "warning: just a warning");
	ck_assert(sg_diag_has(&d, "bad 1"));
	ck_assert(!sg_diag_has(&d, "bad 2"));
	sg_diag_free(&d);
}
END_TEST

START_TEST(arena_allocates_zeroed_and_aligned)
{
	struct sg_arena *a = sg_arena_new();
	unsigned char *p = sg_arena_alloc(a, 3);
	char *big = sg_arena_alloc(a, 100000);
	char *s = sg_arena_printf(a, "%s-%d", "x", 42);

	ck_assert_uint_eq((uintptr_t)p % 16, 0);
	ck_assert_uint_eq(p[0] | p[1] | p[2], 0);
	big[99999] = 1;
	ck_assert_str_eq(s, "x-42");
	ck_assert_str_eq(sg_arena_strndup(a, "abcdef", 3), "abc");
	ck_assert_uint_ge(sg_arena_used(a), 100000);
	sg_arena_free(a);
}
END_TEST

Suite *suite_diag(void);

Suite *
suite_diag(void)
{
	Suite *s = suite_create("diag");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, diag_formats_location_and_key);
	tcase_add_test(tc, arena_allocates_zeroed_and_aligned);
	suite_add_tcase(s, tc);
	return s;
}
