/* SPDX-License-Identifier: MIT */
/* test_duration.c: Go time.ParseDuration / Duration.String parity. */
#include <string.h>

#include <check.h>

#include "sockguard/cfg.h"

#define NS 1LL
#define US (1000 * NS)
#define MS (1000 * US)
#define SEC (1000 * MS)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

struct dur_ok {
	const char *in;
	int64_t ns;
};

/* Go's time package ParseDuration test table, plus the examples of 2.x. */
static const struct dur_ok dur_ok[] = {
	{"0", 0},
	{"-0", 0},
	{"+0", 0},
	{"5s", 5 * SEC},
	{"30s", 30 * SEC},
	{"1478s", 1478 * SEC},
	{"-5s", -5 * SEC},
	{"+5s", 5 * SEC},
	{"-0s", 0},
	{"5.0s", 5 * SEC},
	{"5.6s", 5 * SEC + 600 * MS},
	{"5.s", 5 * SEC},
	{".5s", 500 * MS},
	{"1.004s", 1 * SEC + 4 * MS},
	{"100.00100s", 100 * SEC + 1 * MS},
	{"10ns", 10 * NS},
	{"11us", 11 * US},
	{"12\xc2\xb5s", 12 * US},
	{"12\xce\xbcs", 12 * US},
	{"13ms", 13 * MS},
	{"15m", 15 * MIN},
	{"16h", 16 * HOUR},
	{"3h30m", 3 * HOUR + 30 * MIN},
	{"10.5s4m", 4 * MIN + 10 * SEC + 500 * MS},
	{"-2m3.4s", -(2 * MIN + 3 * SEC + 400 * MS)},
	{"1h2m3s4ms5us6ns", HOUR + 2 * MIN + 3 * SEC + 4 * MS + 5 * US + 6},
	{"39h9m14.425s", 39 * HOUR + 9 * MIN + 14 * SEC + 425 * MS},
	{"52763797000ns", 52763797000 * NS},
	{"0.3333333333333333333h", 20 * MIN},
	{"9007199254740993ns", (1LL << 53) + 1},
	{"9223372036854775807ns", INT64_MAX},
	{"9223372036854775.807us", INT64_MAX},
	{"9223372036s854ms775us807ns", INT64_MAX},
	{"-9223372036854775808ns", INT64_MIN},
	{"-9223372036854775.808us", INT64_MIN},
	{"0.100000000000000000000h", 6 * MIN},
	{"0.830103483285477580700h", 49 * MIN + 48 * SEC + 372539827 * NS},
	{"300ms", 300 * MS},
	{"-1.5h", -(HOUR + 30 * MIN)},
	{"2h45m", 2 * HOUR + 45 * MIN},
	{"1.5us", 1500 * NS},
	{"1\xc2\xb5s", 1 * US},
	{"250ms", 250 * MS},
	{"1m30s", 90 * SEC},
};

static const char *const dur_bad[] = {
	"",
	"1",
	"3",
	"-",
	"s",
	".",
	"-.",
	".s",
	"+.s",
	"1x",
	"1d",
	"1.5",
	"1s2",
	"\x85\x85",
	"\xff\xff",
	"hello \xff\xff world",
	"9223372036854775808ns",
	"9223372036854775.808us",
	"9223372036s854ms775us808ns",
	"-9223372036854775809ns",
	"99999999999999999999h",
	"3000000000h",
	"2562048h",
	"-2562048h",
	"1 s",
	" 1s",
	"off",
};

struct dur_fmt {
	int64_t ns;
	const char *out;
};

/* Go's Duration.String test table. */
static const struct dur_fmt dur_fmt[] = {
	{0, "0s"},
	{1, "1ns"},
	{1100, "1.1\xc2\xb5s"},
	{2200 * US, "2.2ms"},
	{3300 * MS, "3.3s"},
	{4 * MIN + 5 * SEC, "4m5s"},
	{4 * MIN + 5001 * MS, "4m5.001s"},
	{5 * HOUR + 6 * MIN + 7001 * MS, "5h6m7.001s"},
	{8 * MIN + 1, "8m0.000000001s"},
	{INT64_MAX, "2562047h47m16.854775807s"},
	{INT64_MIN, "-2562047h47m16.854775808s"},
	{-1500 * MS, "-1.5s"},
	{90 * SEC, "1m30s"},
	{HOUR, "1h0m0s"},
	{250 * MS, "250ms"},
};

START_TEST(duration_parses_go_syntax)
{
	const struct dur_ok *t = &dur_ok[_i];
	int64_t ns = 42;

	ck_assert_msg(sg_duration_parse(t->in, strlen(t->in), &ns) == 0,
	    "parse \"%s\" failed", t->in);
	ck_assert_msg(ns == t->ns, "\"%s\": got %lld, want %lld", t->in,
	    (long long)ns, (long long)t->ns);
}
END_TEST

START_TEST(duration_rejects_bad_input)
{
	const char *in = dur_bad[_i];
	int64_t ns = 42;

	ck_assert_msg(sg_duration_parse(in, strlen(in), &ns) == -1,
	    "\"%s\" was accepted as %lld", in, (long long)ns);
}
END_TEST

START_TEST(duration_formats_like_go)
{
	const struct dur_fmt *t = &dur_fmt[_i];
	char buf[64];
	int64_t back;
	size_t n = sg_duration_format(t->ns, buf, sizeof(buf));

	ck_assert_str_eq(buf, t->out);
	ck_assert_uint_eq(n, strlen(t->out));
	/* Round trip through the parser. */
	ck_assert_int_eq(sg_duration_parse(buf, n, &back), 0);
	ck_assert(back == t->ns);
}
END_TEST

START_TEST(duration_format_truncates_like_snprintf)
{
	char buf[4];

	ck_assert_uint_eq(sg_duration_format(90 * SEC, buf, sizeof(buf)), 5);
	ck_assert_str_eq(buf, "1m3");
	ck_assert_uint_eq(sg_duration_format(90 * SEC, NULL, 0), 5);
}
END_TEST

START_TEST(duration_parse_uses_length_not_nul)
{
	int64_t ns = 0;

	/* Only the first 3 bytes count: "15m" of "15ms". */
	ck_assert_int_eq(sg_duration_parse("15ms", 3, &ns), 0);
	ck_assert(ns == 15 * MIN);
}
END_TEST

/* The config cap (cfg_lower.c) and the text its error message gives. */
START_TEST(duration_config_cap)
{
	char buf[32];
	int64_t ns = 0;

	ck_assert_int_eq(sg_duration_parse("87600h", 6, &ns), 0);
	ck_assert(ns == SG_DURATION_MAX_NS);
	ck_assert(strncmp(SG_DURATION_MAX_TEXT, "87600h ", 7) == 0);
	sg_duration_format(SG_DURATION_MAX_NS, buf, sizeof(buf));
	ck_assert_str_eq(buf, "87600h0m0s");
	ck_assert(SG_DURATION_MAX_NS == 10 * 8760 * HOUR);
	/* A deadline of a monotonic clock up to 250 years since boot plus
	 * the longest duration cannot overflow. */
	ck_assert(INT64_MAX - SG_DURATION_MAX_NS > 250 * 8766 * HOUR);
}
END_TEST

Suite *suite_duration(void);

Suite *
suite_duration(void)
{
	Suite *s = suite_create("duration");
	TCase *tc = tcase_create("go");

	tcase_add_loop_test(tc, duration_parses_go_syntax, 0,
	    (int)(sizeof(dur_ok) / sizeof(dur_ok[0])));
	tcase_add_loop_test(tc, duration_rejects_bad_input, 0,
	    (int)(sizeof(dur_bad) / sizeof(dur_bad[0])));
	tcase_add_loop_test(tc, duration_formats_like_go, 0,
	    (int)(sizeof(dur_fmt) / sizeof(dur_fmt[0])));
	tcase_add_test(tc, duration_format_truncates_like_snprintf);
	tcase_add_test(tc, duration_parse_uses_length_not_nul);
	tcase_add_test(tc, duration_config_cap);
	suite_add_tcase(s, tc);
	return s;
}
