/* SPDX-License-Identifier: MIT */
/*
 * fuzz_http_req.c: the HTTP head framing (sg_http_head_end) and the head
 * parsers (sg_http_parse_request, sg_http_parse_response).
 *
 * The input is a byte stream as a client (or the daemon) would send it.
 *  - sg_http_head_end on the whole buffer is compared with a declarative
 *    reference and with resumed scans over growing prefixes (byte by byte
 *    and at pseudo-random split points derived from the input).
 *  - A head it finds is copied into an exact-size buffer (ASan catches any
 *    read past it) and parsed as a request and as a response; when the
 *    whole input itself ends in CRLF CRLF it is parsed directly too (the
 *    parsers must cope with heads head_end would have refused).
 *  - A successful parse must describe exactly the bytes it was given:
 *    slices inside the head, every line accounted for (no line the proxy
 *    did not see), framing consistent with the headers present.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sockguard/http.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

static bool
mem_ieq(const char *a, size_t n, const char *lit)
{
	size_t i, m = strlen(lit);

	if (n != m)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)lit[i];

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

static bool
mem_iprefix(const char *a, size_t n, const char *lit)
{
	size_t m = strlen(lit);

	return n >= m && mem_ieq(a, m, lit);
}

/* Reference for the header ids the lexer recognises (http.h). */
static int
ref_hdr_id(const char *p, size_t n)
{
	static const struct {
		const char *name;
		int id;
	} t[] = {
		{"content-length", SG_HDR_CONTENT_LENGTH},
		{"transfer-encoding", SG_HDR_TRANSFER_ENCODING},
		{"connection", SG_HDR_CONNECTION},
		{"upgrade", SG_HDR_UPGRADE},
		{"host", SG_HDR_HOST},
		{"keep-alive", SG_HDR_KEEP_ALIVE},
		{"te", SG_HDR_TE},
		{"trailer", SG_HDR_TRAILER},
		{"expect", SG_HDR_EXPECT},
		{"x-request-id", SG_HDR_X_REQUEST_ID},
		{"traceparent", SG_HDR_TRACEPARENT},
		{"tracestate", SG_HDR_TRACESTATE},
		{"forwarded", SG_HDR_FORWARDED},
		{"content-type", SG_HDR_CONTENT_TYPE},
	};
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(t); i++)
		if (mem_ieq(p, n, t[i].name))
			return t[i].id;
	if (mem_iprefix(p, n, "proxy-"))
		return SG_HDR_PROXY;
	if (mem_iprefix(p, n, "x-forwarded-"))
		return SG_HDR_FORWARDED;
	return SG_HDR_OTHER;
}

/*
 * Declarative reference for sg_http_head_end on a whole buffer: the end
 * of the first CRLF CRLF unless a bad byte (NUL, CR at 0, CR followed by
 * something other than LF, LF not after CR) comes before it.
 */
static int
ref_head_end(const unsigned char *p, size_t n)
{
	size_t i, h = 0, e = SIZE_MAX;

	for (i = 3; i < n; i++)
		if (p[i - 3] == '\r' && p[i - 2] == '\n' && p[i - 1] == '\r' &&
		    p[i] == '\n') {
			h = i + 1;
			break;
		}
	for (i = 0; i < n; i++) {
		bool bad = p[i] == 0 ||
		    (p[i] == '\r' && i == 0) ||
		    (p[i] == '\r' && i + 1 < n && p[i + 1] != '\n') ||
		    (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'));

		if (bad) {
			e = i;
			break;
		}
	}
	if (e != SIZE_MAX && (h == 0 || e < h))
		return -400;
	return (int)h;
}

/* Counts CRLF pairs in p[0..n). */
static size_t
count_lines(const char *p, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i + 1 < n; i++)
		if (p[i] == '\r' && p[i + 1] == '\n')
			k++;
	return k;
}

static void
check_slice(struct sg_slice s, size_t n, const char *what)
{
	FZ_CHECK((uint64_t)s.off + s.len <= n,
	    "%s slice [%u,+%u) outside head of %zu", what, s.off, s.len, n);
}

/* Invariants shared by requests and responses once parsing succeeded. */
static void
check_fields(const char *b, size_t n, const struct sg_http_msg *m)
{
	int16_t first[SG_HDR__COUNT];
	uint16_t i;
	size_t k;

	FZ_CHECK(m->head_len == n, "head_len %u != %zu", m->head_len, n);
	FZ_CHECK(m->nhdr <= SG_HTTP_MAX_HEADERS, "nhdr %u", m->nhdr);
	/* start line + one line per header + the empty line: nothing unseen */
	FZ_CHECK(count_lines(b, n) == (size_t)m->nhdr + 2,
	    "%zu CRLF lines but %u headers", count_lines(b, n), m->nhdr);
	for (k = 0; k < SG_HDR__COUNT; k++)
		first[k] = -1;
	for (i = 0; i < m->nhdr; i++) {
		const struct sg_http_hdr *h = &m->hdr[i];
		uint32_t j;

		check_slice(h->name, n, "header name");
		check_slice(h->value, n, "header value");
		FZ_CHECK(h->name.len > 0, "empty header name");
		for (j = 0; j < h->name.len; j++)
			FZ_CHECK(is_tchar((unsigned char)b[h->name.off + j]),
			    "header %u name byte 0x%02x", i,
			    (unsigned char)b[h->name.off + j]);
		FZ_CHECK(h->name.off + h->name.len < n &&
		    b[h->name.off + h->name.len] == ':', "no ':' after name");
		FZ_CHECK(h->value.off >= h->name.off + h->name.len + 1,
		    "value before the colon");
		for (j = 0; j < h->value.len; j++) {
			unsigned char c = (unsigned char)b[h->value.off + j];

			FZ_CHECK(c == '\t' || (c >= 0x20 && c != 0x7f),
			    "header %u value byte 0x%02x", i, c);
		}
		if (h->value.len > 0) {
			unsigned char c0 = (unsigned char)b[h->value.off];
			unsigned char c1 = (unsigned char)b[h->value.off +
			    h->value.len - 1];

			FZ_CHECK(c0 != ' ' && c0 != '\t' && c1 != ' ' &&
			    c1 != '\t', "header %u value not trimmed", i);
		}
		FZ_CHECK(h->id < SG_HDR__COUNT, "id %u", h->id);
		FZ_CHECK(h->id == ref_hdr_id(b + h->name.off, h->name.len),
		    "header %u \"%.*s\" id %u, reference %d", i,
		    (int)h->name.len, b + h->name.off, h->id,
		    ref_hdr_id(b + h->name.off, h->name.len));
		if (first[h->id] < 0)
			first[h->id] = (int16_t)i;
		switch (h->id) {
		case SG_HDR_CONNECTION:
		case SG_HDR_UPGRADE:
		case SG_HDR_KEEP_ALIVE:
		case SG_HDR_PROXY:
		case SG_HDR_TE:
		case SG_HDR_TRAILER:
		case SG_HDR_X_REQUEST_ID:
		case SG_HDR_TRACEPARENT:
		case SG_HDR_TRACESTATE:
		case SG_HDR_FORWARDED:
			FZ_CHECK(h->hop, "header %u id %u must be hop", i,
			    h->id);
			break;
		case SG_HDR_HOST:
		case SG_HDR_TRANSFER_ENCODING:
			FZ_CHECK(!h->hop, "header %u id %u must be relayed", i,
			    h->id);
			break;
		default:
			break;
		}
	}
	for (k = 0; k < SG_HDR__COUNT; k++)
		FZ_CHECK(m->first[k] == first[k], "first[%zu] %d != %d", k,
		    m->first[k], first[k]);
}

static unsigned
count_id(const struct sg_http_msg *m, int id)
{
	unsigned c = 0;
	uint16_t i;

	for (i = 0; i < m->nhdr; i++)
		c += m->hdr[i].id == id;
	return c;
}

/* Decimal 1*19DIGIT <= INT64_MAX. */
static bool
ref_clen(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 19)
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v > INT64_MAX)
		return false;
	*out = v;
	return true;
}

/* Does some Connection header list token tok? */
static bool
conn_lists(const char *b, const struct sg_http_msg *m, const char *tok)
{
	uint16_t i;

	for (i = 0; i < m->nhdr; i++) {
		const char *v = b + m->hdr[i].value.off;
		size_t n = m->hdr[i].value.len, s = 0, e, a, z;

		if (m->hdr[i].id != SG_HDR_CONNECTION)
			continue;
		while (s <= n) {
			for (e = s; e < n && v[e] != ','; e++)
				;
			for (a = s; a < e && (v[a] == ' ' || v[a] == '\t'); a++)
				;
			for (z = e; z > a && (v[z - 1] == ' ' ||
			    v[z - 1] == '\t'); z--)
				;
			if (mem_ieq(v + a, z - a, tok))
				return true;
			s = e + 1;
		}
	}
	return false;
}

static void
check_request(const char *b, size_t n, int rc, const struct sg_http_msg *m,
    const char *why)
{
	unsigned ncl, nte;
	uint32_t j;
	uint16_t i;
	uint64_t cl;

	if (rc != 0) {
		FZ_CHECK(rc == 400 || rc == 417 || rc == 431 || rc == 501 ||
		    rc == 505, "request status %d", rc);
		FZ_CHECK(why != NULL && why[0] != '\0', "status %d, no why", rc);
		return;
	}
	FZ_CHECK(why == NULL, "success with why \"%s\"", why);
	check_fields(b, n, m);

	/* request line: METHOD SP target SP HTTP/1.1 CRLF */
	check_slice(m->method, n, "method");
	check_slice(m->target, n, "target");
	FZ_CHECK(m->method.off == 0 && m->method.len > 0, "method slice");
	for (j = 0; j < m->method.len; j++)
		FZ_CHECK(is_tchar((unsigned char)b[j]), "method byte");
	FZ_CHECK(m->target.off == m->method.len + 1 && b[m->method.len] == ' ',
	    "target does not follow the method");
	FZ_CHECK(m->target.len > 0 && b[m->target.off] == '/',
	    "target not origin-form");
	for (j = 0; j < m->target.len; j++) {
		unsigned char c = (unsigned char)b[m->target.off + j];

		FZ_CHECK(c > 0x20 && c < 0x7f && c != '#',
		    "target byte 0x%02x", c);
	}
	FZ_CHECK(m->target.off + m->target.len + 11 <= n &&
	    memcmp(b + m->target.off + m->target.len, " HTTP/1.1\r\n", 11) == 0,
	    "request line does not end in HTTP/1.1");
	FZ_CHECK(m->minor == 1, "minor %u", m->minor);
	FZ_CHECK(m->path.off == m->target.off && m->path.len <= m->target.len,
	    "path slice");
	FZ_CHECK(memchr(b + m->path.off, '?', m->path.len) == NULL,
	    "'?' inside the path");
	if (m->has_query) {
		FZ_CHECK(m->path.len < m->target.len &&
		    b[m->path.off + m->path.len] == '?' &&
		    m->query.off == m->path.off + m->path.len + 1 &&
		    m->query.off + m->query.len ==
		    m->target.off + m->target.len, "query slice");
	} else {
		FZ_CHECK(m->path.len == m->target.len && m->query.len == 0,
		    "no query but path != target");
	}

	FZ_CHECK(count_id(m, SG_HDR_HOST) == 1, "Host count %u",
	    count_id(m, SG_HDR_HOST));
	ncl = count_id(m, SG_HDR_CONTENT_LENGTH);
	nte = count_id(m, SG_HDR_TRANSFER_ENCODING);
	FZ_CHECK(ncl <= 1 && nte <= 1 && !(ncl && nte),
	    "accepted %u Content-Length and %u Transfer-Encoding", ncl, nte);
	switch (m->body) {
	case SG_BODY_NONE:
		FZ_CHECK(ncl == 0 && nte == 0, "NONE with framing headers");
		FZ_CHECK(m->content_length == 0, "NONE with a length");
		break;
	case SG_BODY_LENGTH:
		FZ_CHECK(ncl == 1 && nte == 0, "LENGTH without one CL");
		i = (uint16_t)m->first[SG_HDR_CONTENT_LENGTH];
		FZ_CHECK(ref_clen(b + m->hdr[i].value.off, m->hdr[i].value.len,
		    &cl) && cl == m->content_length,
		    "content_length %llu does not match the header",
		    (unsigned long long)m->content_length);
		FZ_CHECK(!m->hdr[i].hop, "Content-Length marked hop");
		break;
	case SG_BODY_CHUNKED:
		FZ_CHECK(nte == 1 && ncl == 0, "CHUNKED without one TE");
		i = (uint16_t)m->first[SG_HDR_TRANSFER_ENCODING];
		FZ_CHECK(mem_ieq(b + m->hdr[i].value.off, m->hdr[i].value.len,
		    "chunked"), "CHUNKED but TE is not \"chunked\"");
		FZ_CHECK(m->content_length == 0, "CHUNKED with a length");
		break;
	default:
		FZ_CHECK(0, "request body kind %d", (int)m->body);
	}
	FZ_CHECK(!conn_lists(b, m, "host") &&
	    !conn_lists(b, m, "content-length") &&
	    !conn_lists(b, m, "transfer-encoding"),
	    "Connection names an end-to-end header");
	FZ_CHECK(m->conn_close == conn_lists(b, m, "close"), "conn_close");
	FZ_CHECK(m->conn_upgrade == (conn_lists(b, m, "upgrade") &&
	    count_id(m, SG_HDR_UPGRADE) > 0), "conn_upgrade");
	FZ_CHECK(m->expect_continue == (count_id(m, SG_HDR_EXPECT) > 0),
	    "expect_continue");
	for (i = 0; i < m->nhdr; i++)
		if (m->hdr[i].id == SG_HDR_EXPECT)
			FZ_CHECK(mem_ieq(b + m->hdr[i].value.off,
			    m->hdr[i].value.len, "100-continue"),
			    "accepted Expect other than 100-continue");
}

static void
check_response(const char *b, size_t n, bool req_head, int rc,
    const struct sg_http_msg *m, const char *why)
{
	unsigned ncl, nte, relayed_cl = 0;
	uint16_t i;
	uint64_t cl;

	if (rc != 0) {
		FZ_CHECK(rc == 502, "response status %d", rc);
		FZ_CHECK(why != NULL && why[0] != '\0', "502 without why");
		return;
	}
	FZ_CHECK(why == NULL, "success with why \"%s\"", why);
	check_fields(b, n, m);
	FZ_CHECK(n >= 14 && memcmp(b, "HTTP/1.", 7) == 0, "status line");
	FZ_CHECK(m->minor <= 1 && b[7] == (char)('0' + m->minor), "minor");
	FZ_CHECK(m->status >= 100 && m->status <= 599, "status %u", m->status);
	check_slice(m->reason, n, "reason");
	ncl = count_id(m, SG_HDR_CONTENT_LENGTH);
	nte = count_id(m, SG_HDR_TRANSFER_ENCODING);
	FZ_CHECK(nte <= 1, "accepted %u Transfer-Encoding", nte);
	for (i = 0; i < m->nhdr; i++) {
		if (m->hdr[i].id != SG_HDR_CONTENT_LENGTH)
			continue;
		FZ_CHECK(ref_clen(b + m->hdr[i].value.off, m->hdr[i].value.len,
		    &cl), "accepted an invalid Content-Length");
		relayed_cl += !m->hdr[i].hop;
	}
	if (nte) {
		FZ_CHECK(m->minor == 1, "TE in HTTP/1.0 accepted");
		FZ_CHECK(relayed_cl == 0, "CL relayed next to TE");
	}
	if (ncl && !nte)
		FZ_CHECK(relayed_cl == 1, "%u Content-Length relayed",
		    relayed_cl);
	switch (m->body) {
	case SG_BODY_NONE:
		FZ_CHECK(req_head || m->status < 200 || m->status == 204 ||
		    m->status == 304, "NONE for status %u", m->status);
		FZ_CHECK(m->content_length == 0, "NONE with a length");
		break;
	case SG_BODY_CHUNKED:
		FZ_CHECK(nte == 1 && !req_head, "CHUNKED without TE");
		i = (uint16_t)m->first[SG_HDR_TRANSFER_ENCODING];
		FZ_CHECK(mem_ieq(b + m->hdr[i].value.off, m->hdr[i].value.len,
		    "chunked"), "CHUNKED but TE is not \"chunked\"");
		break;
	case SG_BODY_LENGTH:
		FZ_CHECK(ncl >= 1 && nte == 0 && !req_head, "LENGTH framing");
		for (i = 0; i < m->nhdr; i++)
			if (m->hdr[i].id == SG_HDR_CONTENT_LENGTH)
				FZ_CHECK(ref_clen(b + m->hdr[i].value.off,
				    m->hdr[i].value.len, &cl) &&
				    cl == m->content_length,
				    "conflicting Content-Length accepted");
		break;
	case SG_BODY_EOF:
		FZ_CHECK(ncl == 0 && nte == 0 && !req_head,
		    "EOF framing with headers");
		FZ_CHECK(m->conn_close, "EOF framing but reusable");
		break;
	default:
		FZ_CHECK(0, "response body kind %d", (int)m->body);
	}
	if (m->body != SG_BODY_NONE && m->status >= 200)
		FZ_CHECK(!(m->status == 204 || m->status == 304),
		    "body for %u", m->status);
}

/* Parses head b[0..n) (exact-size copy) both ways and checks the results. */
static void
parse_head(const char *head, size_t n, bool req_head)
{
	static struct sg_http_msg m; /* large: keep it off the stack */
	char *b = fz_dup(head, n);
	const char *why = "unset";
	int rc;

	rc = sg_http_parse_request(b, n, &m, &why);
	check_request(b, n, rc, &m, why);
	why = "unset";
	rc = sg_http_parse_response(b, n, req_head, &m, &why);
	check_response(b, n, req_head, rc, &m, why);
	/* why may be NULL */
	(void)sg_http_parse_request(b, n, &m, NULL);
	free(b);
}

/* Resumed scans over growing prefixes must reach the whole-buffer answer. */
static void
check_resume(const char *b, size_t n, int want, size_t want_scan,
    uint64_t *rng, bool bytewise)
{
	size_t scan = 0, len = 0;
	int r = 0;

	while (len < n) {
		size_t step = bytewise ? 1 : 1 + fz_below(rng, 1 +
		    (fz_below(rng, 4) == 0 ? 512 : 16));

		len = len + step > n ? n : len + step;
		r = sg_http_head_end(b, len, &scan);
		FZ_CHECK(scan <= len, "scan %zu past len %zu", scan, len);
		if (r != 0)
			break;
	}
	FZ_CHECK(r == want, "resumed head_end %d, whole buffer %d (split %s)",
	    r, want, bytewise ? "bytewise" : "random");
	FZ_CHECK(scan == want_scan, "resumed scan %zu, whole %zu", scan,
	    want_scan);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t rng = fz_hash(data, size);
	char *b = fz_dup(data, size);
	size_t scan = 0;
	int r, ref;

	r = sg_http_head_end(b, size, &scan);
	ref = ref_head_end(data, size);
	if (r != ref)
		fz_hexdump("input", data, size);
	FZ_CHECK(r == ref, "head_end %d, reference %d", r, ref);
	FZ_CHECK(scan <= size, "scan %zu > %zu", scan, size);
	if (r > 0)
		FZ_CHECK(scan == (size_t)r, "scan %zu after head %d", scan, r);

	check_resume(b, size, r, scan, &rng, true);
	check_resume(b, size, r, scan, &rng, false);

	if (r > 0)
		parse_head(b, (size_t)r, rng & 1);
	/* The parsers on their own, whatever head_end thinks of the bytes. */
	if (size >= 4 && memcmp(data + size - 4, "\r\n\r\n", 4) == 0 &&
	    (size_t)r != size)
		parse_head(b, size, (rng >> 1) & 1);
	free(b);
	return 0;
}
