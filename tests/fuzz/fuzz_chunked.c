/* SPDX-License-Identifier: MIT */
/*
 * fuzz_chunked.c: the chunked body validator (sg_chunked_init/scan).
 *
 * The input is the body bytes as they arrive after a request head.
 *  - One call over the whole buffer is compared with a straightforward
 *    non-resumable reference validator written here from RFC 9112 7.1 and
 *    Go's reader (no whitespace before ';', <= 16 hex digits and at most
 *    2^63-1, a size line < 4096 bytes with its CRLF, <= 4096 trailer
 *    bytes, Go's cap on framing beyond 16 bytes per chunk plus twice its
 *    data): same status, same bytes used, same done flag.
 *  - Feeding the same bytes in pieces (byte by byte, and at pseudo-random
 *    split points derived from the input) must give the same total used,
 *    done and status, and the same reason; every call has used <= n, and
 *    used == n unless the body ended or was refused inside the piece.
 *  - After done, further calls consume nothing and stay done.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sockguard/http.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REF_MAX_LINE 4095u
#define REF_MAX_TRAILERS 4096u
#define REF_MAX_EXCESS 16384

struct result {
	int rc;
	size_t used;
	bool done;
	const char *why;
};

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

static bool
tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

static bool
ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/*
 * Reference: chunk = size [';' ext] CRLF data CRLF; last-chunk is size
 * 0; then trailer lines "name:value" CRLF and a final CRLF. Returns the
 * result for the whole buffer at once: error at the first offending
 * byte, "need more" (rc 0, used n), or done at the final LF.
 */
#define NEED() do { if (i >= n) goto more; } while (0)
#define BAD() goto bad
static struct result
ref_scan(const unsigned char *p, size_t n)
{
	struct result r = {0, 0, false, NULL};
	size_t i = 0, tb;
	int64_t excess = 0; /* as Go counts it, signed */

	for (;;) {
		uint64_t v = 0;
		unsigned nd = 0;
		size_t linelen = 0;
		int d;

		/* chunk size */
		NEED();
		while (i < n && (d = hexval(p[i])) >= 0) {
			if (++nd > 16 || (nd == 16 && v > 0x7ffffffffffffffULL))
				BAD();
			v = v << 4 | (uint64_t)d;
			i++;
		}
		if (nd == 0)
			BAD();
		NEED();
		if (p[i] != '\r') {
			/* ';' ext */
			if (p[i] != ';')
				BAD();
			linelen = 1;
			i++;
			while (i < n && p[i] != '\r') {
				if (p[i] == '\n' ||
				    nd + ++linelen + 2 > REF_MAX_LINE || ctl(p[i]))
					BAD();
				i++;
			}
			NEED();
		}
		i++; /* CR */
		NEED();
		if (p[i] != '\n')
			BAD();
		if (v != 0) {
			excess += (int64_t)(nd + linelen + 2) + 2;
			excess = v > (uint64_t)INT64_MAX / 4 ? 0 :
			    excess - 16 - 2 * (int64_t)v;
			if (excess < 0)
				excess = 0;
			if (excess > REF_MAX_EXCESS)
				BAD(); /* at the LF */
		}
		i++;
		if (v == 0)
			break;
		/* data + CRLF */
		if (n - i <= v) {
			i = n;
			goto more;
		}
		i += (size_t)v;
		if (p[i] != '\r')
			BAD();
		i++;
		NEED();
		if (p[i] != '\n')
			BAD();
		i++;
	}
	/* trailers: every byte counts, the final CRLF too */
	tb = 0;
	for (;;) {
		NEED();
		if (p[i] == '\n' || ++tb > REF_MAX_TRAILERS)
			BAD();
		if (p[i] == '\r') {
			i++;
			NEED();
			if (p[i] != '\n' || ++tb > REF_MAX_TRAILERS)
				BAD();
			r.used = i + 1;
			r.done = true;
			return r;
		}
		if (!tchar(p[i]))
			BAD();
		i++;
		for (;;) {
			NEED();
			if (p[i] == '\n' || ++tb > REF_MAX_TRAILERS)
				BAD();
			if (p[i] == ':')
				break;
			if (!tchar(p[i]))
				BAD();
			i++;
		}
		i++;
		for (;;) {
			NEED();
			if (p[i] == '\n' || ++tb > REF_MAX_TRAILERS)
				BAD();
			if (p[i] == '\r')
				break;
			if (ctl(p[i]))
				BAD();
			i++;
		}
		i++;
		NEED();
		if (p[i] != '\n' || ++tb > REF_MAX_TRAILERS)
			BAD();
		i++;
	}
more:
	r.used = n;
	return r;
bad:
	r.rc = 400;
	r.used = i;
	return r;
}

/* Feeds b[0..n) in pieces chosen by mode; returns the combined result. */
static struct result
run_split(const char *b, size_t n, uint64_t *rng, int mode)
{
	struct result r = {0, 0, false, NULL};
	struct sg_chunked c;
	size_t off = 0;

	sg_chunked_init(&c);
	do {
		size_t k, used = SIZE_MAX;
		bool done = true;
		const char *why = "unset";
		char *piece;
		int rc;

		switch (mode) {
		case 0: /* whole */
			k = n - off;
			break;
		case 1: /* byte by byte */
			k = n - off ? 1 : 0;
			break;
		default: /* random, small and large pieces */
			k = fz_below(rng, 4) == 0 ?
			    fz_below(rng, 2048) : fz_below(rng, 9);
			if (k > n - off)
				k = n - off;
			break;
		}
		/* exact-size piece: ASan sees any read past it */
		piece = fz_dup(b + off, k);
		rc = sg_chunked_scan(&c, piece, k, &used, &done, &why);
		free(piece);
		FZ_CHECK(used <= k, "used %zu > n %zu", used, k);
		FZ_CHECK(rc == 0 || rc == 400, "rc %d", rc);
		FZ_CHECK((rc != 0) == (why != NULL), "rc %d why %s", rc,
		    why ? why : "(null)");
		FZ_CHECK(rc == 0 || !done, "error and done");
		if (rc == 0 && !done)
			FZ_CHECK(used == k, "used %zu of %zu without end", used,
			    k);
		r.used = off + used;
		if (rc != 0 || done) {
			r.rc = rc;
			r.done = done;
			r.why = why;
			break;
		}
		off += k;
	} while (off < n);

	if (r.done) {
		/* stays done, consumes nothing */
		size_t used = SIZE_MAX;
		bool done = false;
		int rc = sg_chunked_scan(&c, "0\r\n\r\n", 5, &used, &done,
		    NULL);

		FZ_CHECK(rc == 0 && used == 0 && done, "not done after done");
	}
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t rng = fz_hash(data, size);
	const char *b = (const char *)data;
	struct result ref, whole, bytes, rnd;

	ref = ref_scan(data, size);
	whole = run_split(b, size, &rng, 0);
	if (whole.rc != ref.rc || whole.used != ref.used ||
	    whole.done != ref.done)
		fz_hexdump("input", data, size);
	FZ_CHECK(whole.rc == ref.rc && whole.used == ref.used &&
	    whole.done == ref.done,
	    "scan rc %d used %zu done %d (%s); reference rc %d used %zu "
	    "done %d", whole.rc, whole.used, whole.done,
	    whole.why ? whole.why : "-", ref.rc, ref.used, ref.done);

	bytes = run_split(b, size, &rng, 1);
	rnd = run_split(b, size, &rng, 2);
	FZ_CHECK(bytes.rc == whole.rc && bytes.used == whole.used &&
	    bytes.done == whole.done,
	    "bytewise rc %d used %zu done %d; whole rc %d used %zu done %d",
	    bytes.rc, bytes.used, bytes.done, whole.rc, whole.used,
	    whole.done);
	FZ_CHECK(rnd.rc == whole.rc && rnd.used == whole.used &&
	    rnd.done == whole.done,
	    "split rc %d used %zu done %d; whole rc %d used %zu done %d",
	    rnd.rc, rnd.used, rnd.done, whole.rc, whole.used, whole.done);
	if (whole.rc != 0)
		FZ_CHECK(strcmp(bytes.why, whole.why) == 0 &&
		    strcmp(rnd.why, whole.why) == 0,
		    "reason depends on the split: \"%s\" / \"%s\" / \"%s\"",
		    whole.why, bytes.why, rnd.why);
	return 0;
}
