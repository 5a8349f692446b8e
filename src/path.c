/* SPDX-License-Identifier: MIT */
/*
 * path.c: the canonical request path (SPEC 2.6.3). Owns the one
 * percent-decode, the lexical clean (Go path.Clean), the API version
 * prefix strip and the re-encoding for the upstream request line.
 * Does not own request-target parsing (query split, absolute-form
 * rejection: http.c) nor matching (glob.c, policy.c).
 */
#include <string.h>

#include "sockguard/path.h"

#define PATH_VER_MAX 999999u

static bool path_keep(unsigned char c);
static size_t path_clean(const char *in, size_t len, char *out);
static void path_version(const char *s, size_t n, struct sg_path_ver *ver);
static size_t path_digits(const char *s, size_t n, size_t i, unsigned *v);

static const char path_hex[] = "0123456789ABCDEF";

ssize_t
sg_path_decode(const char *in, size_t len, char *out)
{
	size_t r, w = 0;

	for (r = 0; r < len; r++) {
		int hi, lo;

		if (in[r] != '%') {
			out[w++] = in[r];
			continue;
		}
		if (len - r < 3)
			return -1;
		hi = sg_hexval((unsigned char)in[r + 1]);
		lo = sg_hexval((unsigned char)in[r + 2]);
		if (hi < 0 || lo < 0)
			return -1;
		out[w++] = (char)(hi << 4 | lo);
		r += 2;
	}
	return (ssize_t)w;
}

size_t
sg_path_canon(const char *in, size_t len, char *out, struct sg_path_ver *ver)
{
	size_t n;

	memset(ver, 0, sizeof(*ver));
	if (len == 0) {
		out[0] = '\0';
		return 0;
	}
	n = path_clean(in, len, out);
	out[n] = '\0';
	path_version(out, n, ver);
	return n;
}

size_t
sg_path_encode(const char *in, size_t len, char *out, size_t cap)
{
	size_t r, w = 0;

	for (r = 0; r < len; r++) {
		unsigned char c = (unsigned char)in[r];

		if (path_keep(c)) {
			if (w + 1 > cap)
				return 0;
			out[w++] = (char)c;
		} else {
			if (w + 3 > cap)
				return 0;
			out[w++] = '%';
			out[w++] = path_hex[c >> 4];
			out[w++] = path_hex[c & 0xf];
		}
	}
	if (w < cap)
		out[w] = '\0';
	return w;
}

/* RFC 3986 pchar minus '%': unreserved, sub-delims, ':' '@', plus '/'. */
static bool
path_keep(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("-._~!$&'()*+,;=:@/", c) != NULL;
}

/*
 * Go's path.Clean, byte for byte, except that the caller handles the
 * empty input. The write index never passes the read index, so out may
 * equal in. A relative path that cleans to nothing becomes ".".
 */
static size_t
path_clean(const char *in, size_t n, char *out)
{
	bool rooted = in[0] == '/';
	size_t r = 0, w = 0, dotdot = 0;

	if (rooted) {
		out[w++] = '/';
		r = dotdot = 1;
	}
	while (r < n) {
		if (in[r] == '/') {
			r++;
		} else if (in[r] == '.' && (r + 1 == n || in[r + 1] == '/')) {
			r++;
		} else if (in[r] == '.' && in[r + 1] == '.' &&
		    (r + 2 == n || in[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			while (r < n && in[r] != '/')
				out[w++] = in[r++];
		}
	}
	if (w == 0)
		out[w++] = '.';
	return w;
}

/*
 * A first segment that a daemon's router takes for an API version: "v",
 * a digit or '.', then digits, letters, '.' or '-' up to the next '/'.
 */
static bool
path_version_like(const char *s, size_t n)
{
	size_t i;

	if (n < 3 || s[0] != '/' || s[1] != 'v' ||
	    !((s[2] >= '0' && s[2] <= '9') || s[2] == '.'))
		return false;
	for (i = 3; i < n && s[i] != '/'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/*
 * "/v" digits ["." digits ["." digits]] "/" at the start of s; any other
 * version-like first segment is odd (a bare "/v1.45" is neither).
 */
static void
path_version(const char *s, size_t n, struct sg_path_ver *ver)
{
	unsigned major, minor = 0, patch;
	size_t i;

	if (n < 3 || s[0] != '/' || s[1] != 'v')
		return;
	ver->odd = path_version_like(s, n);
	i = path_digits(s, n, 2, &major);
	if (i == 2)
		return;
	if (i < n && s[i] == '.') {
		size_t j = path_digits(s, n, i + 1, &minor);

		if (j == i + 1)
			return;
		i = j;
		if (i < n && s[i] == '.') {
			j = path_digits(s, n, i + 1, &patch);
			if (j == i + 1)
				return;
			i = j;
		}
	}
	if (i < n && s[i] != '/')
		return;
	ver->odd = false;
	if (i >= n)
		return;
	ver->present = true;
	ver->len = (uint32_t)i;
	ver->major = major;
	ver->minor = minor;
}

/* Saturating decimal parse from s[i]; returns the index after the digits. */
static size_t
path_digits(const char *s, size_t n, size_t i, unsigned *v)
{
	unsigned x = 0;

	while (i < n && s[i] >= '0' && s[i] <= '9') {
		x = x * 10 + (unsigned)(s[i] - '0');
		if (x > PATH_VER_MAX)
			x = PATH_VER_MAX;
		i++;
	}
	*v = x;
	return i;
}
