/* SPDX-License-Identifier: MIT */
/* test_reqid.c: request and trace ids (reqid.c). */
#include <sys/syscall.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "sockguard/runtime.h"

/*
 * The kernel's and OpenSSL's generators, as reqid.c calls them, made to
 * fail on demand (each test runs in a process of its own).
 */
static bool no_entropy;

ssize_t getrandom(void *buf, size_t n, unsigned int flags);
int RAND_bytes(unsigned char *buf, int n);

ssize_t
getrandom(void *buf, size_t n, unsigned int flags)
{
	if (no_entropy) {
		errno = ENOSYS;
		return -1;
	}
	return syscall(SYS_getrandom, buf, n, flags);
}

int
RAND_bytes(unsigned char *buf, int n)
{
	int (*real)(unsigned char *, int);

	if (no_entropy)
		return 0;
	*(void **)&real = dlsym(RTLD_NEXT, "RAND_bytes");
	return real != NULL ? real(buf, n) : 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* With no entropy anywhere, ids and spans still never repeat. */
START_TEST(ids_never_repeat_without_entropy)
{
	enum { N = 3000 };
	static char spans[N][17], ids[N][33];
	char junk[65];
	size_t i;

	no_entropy = true;
	for (i = 0; i < 300; i++)
		sg_random_hex(junk, 32); /* past a refill from the fallback */
	for (i = 0; i < N; i++) {
		sg_reqid_new(ids[i]);
		sg_random_hex(spans[i], 8);
		ck_assert(strspn(spans[i], "0") < 16);
		ck_assert(strspn(ids[i], "0") < 32);
	}
	qsort(spans, N, sizeof(spans[0]), cmp_str);
	qsort(ids, N, sizeof(ids[0]), cmp_str);
	for (i = 1; i < N; i++) {
		ck_assert_str_ne(spans[i - 1], spans[i]);
		ck_assert_str_ne(ids[i - 1], ids[i]);
	}
}
END_TEST

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
	tcase_add_test(tc, ids_never_repeat_without_entropy);
	tcase_add_test(tc, trace_begin_takes_a_valid_traceparent);
	suite_add_tcase(s, tc);
	return s;
}
