/* SPDX-License-Identifier: MIT */
/*
 * duration.c: Go time.ParseDuration / Duration.String compatible text
 * form of nanosecond durations. Owns no state; pure functions.
 */
#include <stdio.h>
#include <string.h>

#include "sockguard/cfg.h"

#define DUR_MAX ((uint64_t)1 << 63)

struct dur_unit {
	const char *name;
	uint64_t ns;
};

static int dur_leading_int(const char **s, const char *end, uint64_t *x);
static void dur_leading_fraction(const char **s, const char *end,
    uint64_t *x, double *scale);
static size_t dur_fmt_frac(char *buf, size_t w, uint64_t *v, int prec);
static size_t dur_fmt_int(char *buf, size_t w, uint64_t v);

static const struct dur_unit dur_units[] = {
	{"ns", 1},
	{"us", 1000},
	{"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
	{"\xce\xbcs", 1000}, /* U+03BC Greek mu */
	{"ms", 1000000},
	{"s", 1000000000},
	{"m", 60ULL * 1000000000},
	{"h", 3600ULL * 1000000000},
};

int
sg_duration_parse(const char *s, size_t len, int64_t *ns)
{
	const char *p = s, *end = s + len;
	uint64_t d = 0;
	bool neg = false;

	if (p < end && (*p == '-' || *p == '+')) {
		neg = *p == '-';
		p++;
	}
	if (end - p == 1 && *p == '0') {
		*ns = 0;
		return 0;
	}
	if (p == end)
		return -1;
	while (p < end) {
		uint64_t v = 0, f = 0, unit = 0;
		double scale = 1;
		const char *u;
		bool pre, post = false;
		size_t i, ul;

		if (!(*p == '.' || (*p >= '0' && *p <= '9')))
			return -1;
		u = p;
		if (dur_leading_int(&p, end, &v) == -1)
			return -1;
		pre = p != u;
		if (p < end && *p == '.') {
			p++;
			u = p;
			dur_leading_fraction(&p, end, &f, &scale);
			post = p != u;
		}
		if (!pre && !post)
			return -1;
		u = p;
		while (p < end && *p != '.' && !(*p >= '0' && *p <= '9'))
			p++;
		ul = (size_t)(p - u);
		if (ul == 0)
			return -1;
		for (i = 0; i < SG_ARRAY_LEN(dur_units); i++)
			if (strlen(dur_units[i].name) == ul &&
			    memcmp(dur_units[i].name, u, ul) == 0)
				unit = dur_units[i].ns;
		if (unit == 0)
			return -1;
		if (v > DUR_MAX / unit)
			return -1;
		v *= unit;
		if (f > 0) {
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > DUR_MAX)
				return -1;
		}
		d += v;
		if (d > DUR_MAX)
			return -1;
	}
	if (neg) {
		*ns = d == DUR_MAX ? INT64_MIN : -(int64_t)d;
		return 0;
	}
	if (d > DUR_MAX - 1)
		return -1;
	*ns = (int64_t)d;
	return 0;
}

size_t
sg_duration_format(int64_t ns, char *out, size_t cap)
{
	char buf[32];
	size_t w = sizeof(buf), n;
	bool neg = ns < 0;
	uint64_t u = neg ? -(uint64_t)ns : (uint64_t)ns;

	if (u < 1000000000ULL) {
		int prec = 0;

		buf[--w] = 's';
		if (u == 0) {
			buf[--w] = '0';
			goto done;
		} else if (u < 1000) {
			buf[--w] = 'n';
		} else if (u < 1000000) {
			prec = 3;
			buf[--w] = '\xb5';
			buf[--w] = '\xc2';
		} else {
			prec = 6;
			buf[--w] = 'm';
		}
		w = dur_fmt_frac(buf, w, &u, prec);
		w = dur_fmt_int(buf, w, u);
	} else {
		buf[--w] = 's';
		w = dur_fmt_frac(buf, w, &u, 9);
		w = dur_fmt_int(buf, w, u % 60);
		u /= 60;
		if (u > 0) {
			buf[--w] = 'm';
			w = dur_fmt_int(buf, w, u % 60);
			u /= 60;
			if (u > 0) {
				buf[--w] = 'h';
				w = dur_fmt_int(buf, w, u);
			}
		}
	}
done:
	if (neg)
		buf[--w] = '-';
	n = sizeof(buf) - w;
	if (cap > 0) {
		size_t c = n < cap ? n : cap - 1;

		memcpy(out, buf + w, c);
		out[c] = '\0';
	}
	return n;
}

static int
dur_leading_int(const char **s, const char *end, uint64_t *x)
{
	const char *p = *s;
	uint64_t v = 0;

	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > DUR_MAX / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > DUR_MAX)
			return -1;
	}
	*s = p;
	*x = v;
	return 0;
}

static void
dur_leading_fraction(const char **s, const char *end, uint64_t *x,
    double *scale)
{
	const char *p = *s;
	uint64_t v = 0;
	double sc = 1;
	bool overflow = false;

	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		uint64_t y;

		if (overflow)
			continue;
		if (v > (DUR_MAX - 1) / 10) {
			overflow = true;
			continue;
		}
		y = v * 10 + (uint64_t)(*p - '0');
		if (y > DUR_MAX) {
			overflow = true;
			continue;
		}
		v = y;
		sc *= 10;
	}
	*s = p;
	*x = v;
	*scale = sc;
}

static size_t
dur_fmt_frac(char *buf, size_t w, uint64_t *v, int prec)
{
	bool print = false;
	int i;

	for (i = 0; i < prec; i++) {
		unsigned digit = (unsigned)(*v % 10);

		print = print || digit != 0;
		if (print)
			buf[--w] = (char)('0' + digit);
		*v /= 10;
	}
	if (print)
		buf[--w] = '.';
	return w;
}

static size_t
dur_fmt_int(char *buf, size_t w, uint64_t v)
{
	if (v == 0) {
		buf[--w] = '0';
		return w;
	}
	for (; v > 0; v /= 10)
		buf[--w] = (char)('0' + v % 10);
	return w;
}
