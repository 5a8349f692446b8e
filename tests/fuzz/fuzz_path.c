/* SPDX-License-Identifier: MIT */
/*
 * fuzz_path.c: the canonical path (sg_path_decode, sg_path_canon,
 * sg_path_encode; SPEC 2.6.3).
 *
 * The input is the raw path part of a request-target.
 *  - decode is compared with a reference single percent-decode.
 *  - canon is compared with a reference Go path.Clean written here on
 *    segments (a stack), and a reference version-prefix recogniser; its
 *    output is clean (no "//", no "." or ".." segments except leading
 *    ".." in a relative path, no trailing '/' but root), no longer than
 *    the input, rooted when the input was, and a fixed point: canon of
 *    the cleaned path and of the NP (cleaned path minus the prefix) give
 *    the same bytes back.
 *  - encode produces only pchar bytes and %XX, exactly the expected
 *    length, refuses a buffer one byte too small without writing past it,
 *    and decode(encode(x)) == x.
 * Every buffer is exactly the size the contract promises, so an
 * off-by-one write is an ASan report.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sockguard/path.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static ssize_t
ref_decode(const unsigned char *in, size_t n, unsigned char *out)
{
	size_t i = 0, w = 0;

	while (i < n) {
		if (in[i] == '%') {
			if (i + 2 >= n || hexval(in[i + 1]) < 0 ||
			    hexval(in[i + 2]) < 0)
				return -1;
			out[w++] = (unsigned char)(hexval(in[i + 1]) * 16 +
			    hexval(in[i + 2]));
			i += 3;
		} else {
			out[w++] = in[i++];
		}
	}
	return (ssize_t)w;
}

/* Go path.Clean on segments; out has room for 2 * n + 2 bytes. */
static size_t
ref_clean(const char *in, size_t n, char *out)
{
	size_t *so = fz_malloc((n + 1) * sizeof(*so));
	size_t *sl = fz_malloc((n + 1) * sizeof(*sl));
	size_t ns = 0, i = 0, w = 0, k;
	bool rooted = n > 0 && in[0] == '/';

	while (i < n) {
		size_t s = i, l;

		while (i < n && in[i] != '/')
			i++;
		l = i - s;
		if (i < n)
			i++; /* the '/' */
		if (l == 0 || (l == 1 && in[s] == '.'))
			continue;
		if (l == 2 && in[s] == '.' && in[s + 1] == '.') {
			if (ns > 0 && !(sl[ns - 1] == 2 &&
			    memcmp(in + so[ns - 1], "..", 2) == 0)) {
				ns--;
				continue;
			}
			if (rooted)
				continue;
		}
		so[ns] = s;
		sl[ns] = l;
		ns++;
	}
	if (rooted)
		out[w++] = '/';
	for (k = 0; k < ns; k++) {
		if (k > 0)
			out[w++] = '/';
		memcpy(out + w, in + so[k], sl[k]);
		w += sl[k];
	}
	if (w == 0)
		out[w++] = '.';
	free(so);
	free(sl);
	return w;
}

/* "/v" 1*DIGIT ["." 1*DIGIT ["." 1*DIGIT]] "/" at the start. */
static bool
ref_version(const char *s, size_t n, size_t *len, unsigned *major,
    unsigned *minor)
{
	size_t i = 2, part;
	unsigned v[3] = {0, 0, 0};

	if (n < 3 || s[0] != '/' || s[1] != 'v')
		return false;
	for (part = 0; part < 3; part++) {
		size_t st = i;

		while (i < n && s[i] >= '0' && s[i] <= '9') {
			v[part] = v[part] * 10 + (unsigned)(s[i] - '0');
			if (v[part] > 999999u)
				v[part] = 999999u;
			i++;
		}
		if (i == st)
			return false;
		if (part < 2 && i < n && s[i] == '.') {
			i++;
			continue;
		}
		break;
	}
	if (i >= n || s[i] != '/')
		return false;
	*len = i;
	*major = v[0];
	*minor = v[1];
	return true;
}

static bool
pchar_keep(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != 0 && strchr("-._~!$&'()*+,;=:@/", c) != NULL);
}

static bool
has_seg(const char *p, size_t n, const char *seg)
{
	size_t m = strlen(seg), i;

	for (i = 0; i + m <= n; i++)
		if (memcmp(p + i, seg, m) == 0)
			return true;
	return false;
}

/* Canon into an exact len + 1 buffer; returns a heap copy of the output. */
static char *
canon(const char *in, size_t n, size_t *outlen, struct sg_path_ver *ver)
{
	char *src = fz_dup(in, n);
	char *out = fz_malloc(n + 1);

	memset(ver, 0xa5, sizeof(*ver));
	*outlen = sg_path_canon(src, n, out, ver);
	FZ_CHECK(*outlen <= n, "canon length %zu > input %zu", *outlen, n);
	FZ_CHECK(out[*outlen] == '\0', "canon output not NUL-terminated");
	free(src);
	return out;
}

static void
check_canon(const char *dec, size_t d)
{
	struct sg_path_ver ver, ver2;
	char *out, *out2, *ref;
	size_t len, len2, rlen, vlen = 0;
	unsigned major = 0, minor = 0;
	bool vp;

	out = canon(dec, d, &len, &ver);
	if (d == 0) {
		FZ_CHECK(len == 0 && !ver.present && ver.len == 0,
		    "empty input");
		free(out);
		return;
	}

	ref = fz_malloc(2 * d + 2);
	rlen = ref_clean(dec, d, ref);
	if (rlen != len || memcmp(ref, out, len) != 0) {
		fz_hexdump("decoded", dec, d);
		fz_hexdump("canon", out, len);
		fz_hexdump("reference", ref, rlen);
	}
	FZ_CHECK(rlen == len && memcmp(ref, out, len) == 0,
	    "canon differs from path.Clean reference");
	free(ref);

	/* shape */
	if (dec[0] == '/') {
		FZ_CHECK(len >= 1 && out[0] == '/', "rooted input lost '/'");
		FZ_CHECK(!has_seg(out, len, "//") && !has_seg(out, len, "/./") &&
		    !has_seg(out, len, "/../"), "unclean segment");
		FZ_CHECK(len == 1 || out[len - 1] != '/', "trailing '/'");
		FZ_CHECK(!(len >= 2 && memcmp(out + len - 2, "/.", 2) == 0) &&
		    !(len >= 3 && memcmp(out + len - 3, "/..", 3) == 0),
		    "trailing dot segment");
	} else {
		FZ_CHECK(len >= 1 && out[0] != '/', "relative became rooted");
		FZ_CHECK(!has_seg(out, len, "//") && !has_seg(out, len, "/./"),
		    "unclean relative path");
	}

	/* version prefix */
	vp = ref_version(out, len, &vlen, &major, &minor);
	FZ_CHECK(ver.present == vp, "version present %d, reference %d",
	    ver.present, vp);
	if (vp)
		FZ_CHECK(ver.len == vlen && ver.major == major &&
		    ver.minor == minor, "version %u.%u len %u, reference "
		    "%u.%u len %zu", ver.major, ver.minor, ver.len, major,
		    minor, vlen);
	else
		FZ_CHECK(ver.len == 0, "no version but len %u", ver.len);
	if (ver.present)
		FZ_CHECK(ver.len < len && out[ver.len] == '/',
		    "NP does not start with '/'");

	/* idempotent: the cleaned path, and the NP, are fixed points */
	out2 = canon(out, len, &len2, &ver2);
	FZ_CHECK(len2 == len && memcmp(out2, out, len) == 0 &&
	    ver2.present == ver.present && ver2.len == ver.len,
	    "canon not idempotent");
	free(out2);
	if (ver.present) {
		out2 = canon(out + ver.len, len - ver.len, &len2, &ver2);
		FZ_CHECK(len2 == len - ver.len &&
		    memcmp(out2, out + ver.len, len2) == 0,
		    "canon(NP) != NP");
		free(out2);
	}
	free(out);
}

static void
check_encode(const char *dec, size_t d)
{
	size_t want = 0, i, e, cap;
	char *enc, *small, *back;
	ssize_t b;

	for (i = 0; i < d; i++)
		want += pchar_keep((unsigned char)dec[i]) ? 1 : 3;
	cap = want;
	enc = fz_malloc(cap);
	e = sg_path_encode(dec, d, enc, cap);
	FZ_CHECK(e == want, "encode %zu, expected %zu", e, want);
	for (i = 0; i < e; i++) {
		unsigned char c = (unsigned char)enc[i];

		if (c == '%') {
			FZ_CHECK(i + 2 < e && strchr("0123456789ABCDEF",
			    enc[i + 1]) && strchr("0123456789ABCDEF",
			    enc[i + 2]), "bad escape in encoding");
			i += 2;
			continue;
		}
		FZ_CHECK(pchar_keep(c) && c != '?' && c != '#',
		    "byte 0x%02x left unencoded", c);
	}
	back = fz_malloc(e);
	b = sg_path_decode(enc, e, back);
	FZ_CHECK(b == (ssize_t)d && (d == 0 || memcmp(back, dec, d) == 0),
	    "decode(encode(x)) != x");
	free(back);
	free(enc);

	if (want > 0) {
		/* one byte short: refused, nothing written past cap */
		small = fz_malloc(want - 1);
		FZ_CHECK(sg_path_encode(dec, d, small, want - 1) == 0,
		    "encode fit in %zu bytes", want - 1);
		free(small);
		/* one byte spare: NUL-terminated */
		enc = fz_malloc(want + 1);
		FZ_CHECK(sg_path_encode(dec, d, enc, want + 1) == want &&
		    enc[want] == '\0', "encode with room: no NUL");
		free(enc);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fz_dup(data, size);
	char *dec = fz_malloc(size);
	unsigned char *rdec = fz_malloc(size);
	ssize_t d, rd;

	d = sg_path_decode(in, size, dec);
	rd = ref_decode(data, size, rdec);
	FZ_CHECK(d == rd, "decode %zd, reference %zd", d, rd);
	if (d >= 0) {
		FZ_CHECK((size_t)d <= size, "decode grew");
		FZ_CHECK(d == 0 || memcmp(dec, rdec, (size_t)d) == 0,
		    "decode bytes differ");
		check_canon(dec, (size_t)d);
		check_encode(dec, (size_t)d);
	}
	/* the raw bytes as an already-decoded path too */
	check_canon(in, size);
	free(rdec);
	free(dec);
	free(in);
	return 0;
}
