/* SPDX-License-Identifier: MIT */
/*
 * query.c: reads a boolean query flag the way the daemon could, for
 * guards that must not under-read one. The daemon takes a flag with
 * Go's form parsing (parameters split at '&', and at ';' in older Go;
 * keys and values percent-decoded, '+' a space) and Docker's BoolValue
 * (false only for "", "0", "no", "false", "none", any case, surrounding
 * spaces trimmed). Here every reading that could turn the flag on does.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "sockguard/common.h"
#include "sockguard/http.h"

#define QUERY_TOKEN_MAX 32 /* longer decoded values are never false */

/*
 * Percent-decodes s[0..n) into out (at most cap bytes), '+' as a space.
 * Returns the decoded length, cap + 1 when it does not fit, or -1 for a
 * broken escape.
 */
static long
query_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int h, l;

			if (i + 2 >= n)
				return -1;
			h = sg_hexval((unsigned char)s[i + 1]);
			l = sg_hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = (char)(h << 4 | l);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (o == cap)
			return (long)cap + 1;
		out[o++] = c;
	}
	return (long)o;
}

static bool
query_ieq(const char *a, size_t n, const char *lit)
{
	return n == strlen(lit) && strncasecmp(a, lit, n) == 0;
}

bool
sg_query_value_false(const char *v, size_t n)
{
	static const char *const no[] = {"", "0", "no", "false", "none"};
	size_t i, b = 0, e = n;

	if (n > QUERY_TOKEN_MAX)
		return false;
	while (b < e && (v[b] == ' ' || (v[b] >= '\t' && v[b] <= '\r')))
		b++;
	while (e > b && (v[e - 1] == ' ' ||
	    (v[e - 1] >= '\t' && v[e - 1] <= '\r')))
		e--;
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (query_ieq(v + b, e - b, no[i]))
			return true;
	return false;
}

bool
sg_query_flag_may_be_on(const char *q, size_t n, const char *key)
{
	const char *end = q + n;

	while (q < end) {
		const char *e = q, *eq;
		char k[QUERY_TOKEN_MAX], v[QUERY_TOKEN_MAX];
		long kl, vl;

		while (e < end && *e != '&' && *e != ';')
			e++;
		eq = memchr(q, '=', (size_t)(e - q));
		kl = query_decode(q, (size_t)((eq != NULL ? eq : e) - q), k,
		    sizeof(k));
		if (kl < 0)
			return true; /* a key that does not decode: suspect */
		if (kl <= (long)sizeof(k) && query_ieq(k, (size_t)kl, key)) {
			vl = eq != NULL ? query_decode(eq + 1,
			    (size_t)(e - eq - 1), v, sizeof(v)) : 0;
			if (vl < 0 || !sg_query_value_false(v, (size_t)vl))
				return true;
		}
		q = e < end ? e + 1 : e;
	}
	return false;
}
