/* SPDX-License-Identifier: MIT */
/*
 * http.c: HTTP/1.1 message heads (RFC 9112), strict. Owns the message
 * model built from the lexer's lines: start-line rules (origin-form only,
 * HTTP/1.1 requests), header counts and duplicates, Host, the framing
 * decision (Content-Length, Transfer-Encoding, RFC 9112 6.3 for
 * responses), Expect, Connection options and hop-by-hop marking, and
 * finding the end of a head in a growing buffer. Does not own buffers,
 * byte-level line syntax (grammar/http_lex.re), chunked bodies
 * (http_chunked.c), body relay, or path canonicalisation (path.c).
 */
#include <limits.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "sockguard/http.h"

#include "http_lex.h"

struct http_conn_opts {
	bool close;
	bool keep_alive;
	bool upgrade;
};

static int http_begin(const char *, size_t, struct sg_http_msg *,
    struct sg_http_lexer *, bool, const char **);
static int http_target(const char *, struct sg_http_msg *, const char **);
static int http_fields(const char *, struct sg_http_lexer *,
    struct sg_http_msg *, uint16_t *, bool, const char **);
static int http_connection(const char *, struct sg_http_msg *,
    struct http_conn_opts *, bool, const char **);
static int http_te_coding(const char *, struct sg_slice);
static bool http_clen(const char *, struct sg_slice, uint64_t *);
static bool http_is_token(const char *, struct sg_slice);
static bool http_is_hop_id(int);
static bool http_memieq(const char *, const char *, size_t);
static const char *http_line_why(const char *, uint32_t, const char *);

/* tchar (RFC 9110 5.6.2) */
static const char http_tchar_extra[] = "!#$%&'*+-.^_`|~";

/*
 * Registered transfer codings (IANA) that the proxy does not implement:
 * 501. Anything else that is not exactly "chunked" (lists, parameters,
 * "identity", unregistered names such as "xchunked") is garbage: 400.
 */
static const char *const http_known_codings[] = {
	"compress",
	"deflate",
	"gzip",
	"x-compress",
	"x-gzip",
};

/* The NULs, CRs and LFs among the eight bytes at p (see sg_first_hit). */
static inline uint64_t
http_special8(const unsigned char *p)
{
	uint64_t w = sg_word8(p);

	return sg_bytes_below(w, 1) | sg_bytes_eq(w, '\r') |
	    sg_bytes_eq(w, '\n');
}

/*
 * The first NUL, CR or LF in p[i..len), or len: sixteen bytes at a time
 * where SSE2 is there (every x86-64), then eight, then one.
 */
static inline size_t
http_next_special(const unsigned char *p, size_t i, size_t len)
{
#ifdef __SSE2__
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
	const __m128i nul = _mm_setzero_si128();

	while (len - i >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)
		    (p + i));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
		    _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf)),
		    _mm_cmpeq_epi8(v, nul)));

		if (m != 0)
			return i + (size_t)__builtin_ctz(m);
		i += 16;
	}
#endif
	while (len - i >= 8) {
		uint64_t m = http_special8(p + i);

		if (m != 0) {
			i += sg_first_hit(m);
			break;
		}
		i += 8;
	}
	while (i < len && p[i] != '\0' && p[i] != '\r' && p[i] != '\n')
		i++;
	return i;
}

/*
 * Leading empty lines: RFC 9112 2.2 says a server SHOULD ignore at least
 * one CRLF before the request line. We reject them instead (a CR at
 * offset 0 is -400 at once): it is simpler, and a proxy that skips bytes
 * the daemon might not skip is how desynchronisation starts.
 */
int
sg_http_head_end(const char *buf, size_t len, size_t *scan)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i;

	if (len > INT_MAX)
		len = INT_MAX;
	/*
	 * From one NUL, CR or LF to the next. A CR must start a CRLF, which
	 * is taken whole, so an LF that is found on its own is a bare one.
	 */
	for (i = *scan; (i = http_next_special(p, i, len)) < len; i++) {
		switch (p[i]) {
		case '\r':
			if (i == 0)
				break;
			if (i + 1 == len) {
				*scan = i; /* decide when the next byte arrives */
				return 0;
			}
			if (p[i + 1] != '\n')
				break;
			if (i >= 2 && p[i - 1] == '\n' && p[i - 2] == '\r') {
				*scan = i + 2;
				return (int)(i + 2);
			}
			i++; /* the LF of this CRLF */
			continue;
		case '\n':
			if (i == 0 || p[i - 1] != '\r')
				break;
			/* only when *scan pointed between a CR and its LF */
			if (i >= 3 && p[i - 2] == '\n' && p[i - 3] == '\r') {
				*scan = i + 1;
				return (int)(i + 1);
			}
			continue;
		default: /* NUL */
			break;
		}
		*scan = i;
		return -400;
	}
	*scan = i;
	return 0;
}

int
sg_http_parse_request(const char *buf, size_t head_len,
    struct sg_http_msg *m, const char **why)
{
	struct sg_http_lexer lx;
	struct http_conn_opts co;
	uint16_t count[SG_HDR__COUNT];
	const char *dummy;
	uint16_t i;
	int rc;

	if (why == NULL)
		why = &dummy;
	if ((rc = http_begin(buf, head_len, m, &lx, false, why)) != 0)
		return rc;

	switch (sg_http_lex_next(&lx)) {
	case SG_HL_REQLINE:
		break;
	case SG_HL_EMPTY:
		*why = "empty line before the request line";
		return 400;
	case SG_HL_HTTP09:
		*why = "HTTP/0.9 is not supported; use HTTP/1.1";
		return 400;
	default:
		*why = http_line_why(buf, lx.tok.off, "malformed request line");
		return 400;
	}
	m->method = lx.s0;
	m->target = lx.s1;
	m->minor = lx.minor;
	if (lx.major == 1 && lx.minor == 0) {
		*why = "HTTP/1.0 is not supported; use HTTP/1.1";
		return 505;
	}
	if (lx.major != 1 || lx.minor != 1) {
		*why = "HTTP version not supported; use HTTP/1.1";
		return 505;
	}
	if ((rc = http_target(buf, m, why)) != 0)
		return rc;
	if ((rc = http_fields(buf, &lx, m, count, false, why)) != 0)
		return rc;

	if (count[SG_HDR_HOST] == 0) {
		*why = "missing Host header";
		return 400;
	}
	if (count[SG_HDR_HOST] > 1) {
		*why = "duplicate Host header";
		return 400;
	}
	if (count[SG_HDR_CONTENT_LENGTH] > 1) {
		*why = "duplicate Content-Length header";
		return 400;
	}
	if (count[SG_HDR_TRANSFER_ENCODING] > 1) {
		*why = "duplicate Transfer-Encoding header";
		return 400;
	}
	if (count[SG_HDR_CONTENT_LENGTH] && count[SG_HDR_TRANSFER_ENCODING]) {
		*why = "both Content-Length and Transfer-Encoding";
		return 400;
	}
	if (count[SG_HDR_CONTENT_LENGTH]) {
		i = (uint16_t)m->first[SG_HDR_CONTENT_LENGTH];
		if (!http_clen(buf, m->hdr[i].value, &m->content_length)) {
			*why = "invalid Content-Length";
			return 400;
		}
		m->body = SG_BODY_LENGTH;
	}
	if (count[SG_HDR_TRANSFER_ENCODING]) {
		i = (uint16_t)m->first[SG_HDR_TRANSFER_ENCODING];
		rc = http_te_coding(buf, m->hdr[i].value);
		if (rc == 501) {
			*why = "unsupported transfer coding; only chunked";
			return 501;
		}
		if (rc != 0) {
			*why = "invalid Transfer-Encoding; only chunked";
			return 400;
		}
		m->body = SG_BODY_CHUNKED;
	}
	if ((rc = http_connection(buf, m, &co, false, why)) != 0)
		return rc;
	m->conn_close = co.close;
	m->conn_upgrade = co.upgrade && count[SG_HDR_UPGRADE] > 0;

	for (i = 0; i < m->nhdr; i++) {
		if (m->hdr[i].id != SG_HDR_EXPECT)
			continue;
		if (!sg_http_slice_ieq(buf, m->hdr[i].value, "100-continue")) {
			*why = "unsupported expectation; only 100-continue";
			return 417;
		}
		m->expect_continue = true;
	}
	*why = NULL;
	return 0;
}

int
sg_http_parse_response(const char *buf, size_t head_len, bool req_head,
    struct sg_http_msg *m, const char **why)
{
	struct sg_http_lexer lx;
	struct http_conn_opts co;
	uint16_t count[SG_HDR__COUNT];
	const char *dummy;
	uint64_t cl;
	bool have_cl = false;
	uint16_t i;
	int rc;

	if (why == NULL)
		why = &dummy;
	if ((rc = http_begin(buf, head_len, m, &lx, true, why)) != 0)
		return rc;

	if (sg_http_lex_next(&lx) != SG_HL_STATUS) {
		*why = http_line_why(buf, lx.tok.off, "malformed status line");
		return 502;
	}
	m->status = lx.status;
	m->reason = lx.s0;
	m->minor = lx.minor;
	if (lx.major != 1 || lx.minor > 1) {
		*why = "unsupported HTTP version from upstream";
		return 502;
	}
	if (m->status < 100 || m->status > 599) {
		*why = "invalid status code from upstream";
		return 502;
	}
	if ((rc = http_fields(buf, &lx, m, count, true, why)) != 0)
		return rc;

	/* Equal duplicates are one value (RFC 9110 8.6); relay only one. */
	for (i = 0; i < m->nhdr; i++) {
		if (m->hdr[i].id != SG_HDR_CONTENT_LENGTH)
			continue;
		if (!http_clen(buf, m->hdr[i].value, &cl)) {
			*why = "invalid Content-Length from upstream";
			return 502;
		}
		if (!have_cl) {
			m->content_length = cl;
			have_cl = true;
		} else if (cl != m->content_length) {
			*why = "conflicting Content-Length from upstream";
			return 502;
		} else {
			m->hdr[i].hop = true;
		}
	}
	if (count[SG_HDR_TRANSFER_ENCODING] > 1) {
		*why = "duplicate Transfer-Encoding from upstream";
		return 502;
	}
	if (count[SG_HDR_TRANSFER_ENCODING]) {
		i = (uint16_t)m->first[SG_HDR_TRANSFER_ENCODING];
		if (m->minor == 0) {
			*why = "Transfer-Encoding in an HTTP/1.0 response";
			return 502;
		}
		if (!sg_http_slice_ieq(buf, m->hdr[i].value, "chunked")) {
			*why = "unsupported Transfer-Encoding from upstream";
			return 502;
		}
		/* RFC 9112 6.3: chunked wins; the length is dropped. */
		for (i = 0; i < m->nhdr; i++)
			if (m->hdr[i].id == SG_HDR_CONTENT_LENGTH)
				m->hdr[i].hop = true;
	}
	if ((rc = http_connection(buf, m, &co, true, why)) != 0)
		return rc;
	m->conn_close = co.close || (m->minor == 0 && !co.keep_alive);
	m->conn_upgrade = co.upgrade && count[SG_HDR_UPGRADE] > 0;

	if (req_head || m->status < 200 || m->status == 204 ||
	    m->status == 304) {
		m->body = SG_BODY_NONE;
		m->content_length = 0;
	} else if (count[SG_HDR_TRANSFER_ENCODING]) {
		m->body = SG_BODY_CHUNKED;
		m->content_length = 0;
	} else if (have_cl) {
		m->body = SG_BODY_LENGTH;
	} else {
		/* Delimited by close: the connection cannot be reused. */
		m->body = SG_BODY_EOF;
		m->conn_close = true;
	}
	*why = NULL;
	return 0;
}

bool
sg_http_slice_ieq(const char *buf, struct sg_slice s, const char *lit)
{
	size_t n = strlen(lit);

	return n == s.len && http_memieq(buf + s.off, lit, n);
}

/* Resets m and checks that the head is complete. */
static int
http_begin(const char *buf, size_t head_len, struct sg_http_msg *m,
    struct sg_http_lexer *lx, bool response, const char **why)
{
	sg_http_msg_clear(m);
	*why = NULL;
	if (head_len < 4 || (uint64_t)head_len > UINT32_MAX ||
	    memcmp(buf + head_len - 4, "\r\n\r\n", 4) != 0) {
		*why = "incomplete head";
		return response ? 502 : 400;
	}
	m->head_len = (uint32_t)head_len;
	sg_http_lex_init(lx, buf, head_len, response);
	return 0;
}

/* Origin-form only; splits path and query at the first '?'. */
static int
http_target(const char *buf, struct sg_http_msg *m, const char **why)
{
	const char *t = buf + m->target.off;
	uint32_t n = m->target.len, i;

	if (t[0] != '/') {
		if (n == 1 && t[0] == '*')
			*why = "asterisk-form request-target is not allowed";
		else if (memchr(t, '/', n) != NULL && memchr(t, ':', n) != NULL)
			*why = "absolute-form request-target is not allowed";
		else
			*why = "request-target must be origin-form";
		return 400;
	}
	if (memchr(t, '#', n) != NULL) {
		*why = "fragment in request-target";
		return 400;
	}
	for (i = 0; i < n && t[i] != '?'; i++)
		;
	m->path.off = m->target.off;
	m->path.len = i;
	if (i < n) {
		m->has_query = true;
		m->query.off = m->target.off + i + 1;
		m->query.len = n - i - 1;
	} else {
		m->query.off = m->target.off + n;
		m->query.len = 0;
	}
	return 0;
}

/* Lexes the field lines up to the empty line; ids, first[], hop. */
static int
http_fields(const char *buf, struct sg_http_lexer *lx, struct sg_http_msg *m,
    uint16_t *count, bool response, const char **why)
{
	int bad = response ? 502 : 400;
	struct sg_http_hdr *h;
	int id;

	memset(count, 0, SG_HDR__COUNT * sizeof(*count));
	for (;;) {
		switch (sg_http_lex_next(lx)) {
		case SG_HL_FIELD:
			if (m->nhdr == SG_HTTP_MAX_HEADERS) {
				*why = "too many header fields";
				return response ? 502 : 431;
			}
			id = lx->hid;
			h = &m->hdr[m->nhdr];
			h->name = lx->s0;
			h->value = lx->s1;
			h->id = (uint8_t)id;
			h->hop = http_is_hop_id(id);
			if (m->first[id] < 0)
				m->first[id] = (int16_t)m->nhdr;
			count[id]++;
			m->nhdr++;
			break;
		case SG_HL_EOH:
			if (lx->tok.off + lx->tok.len != m->head_len) {
				*why = "bytes after the end of the head";
				return bad;
			}
			return 0;
		case SG_HL_FOLD:
			*why = "obs-fold (line folding) is not allowed";
			return bad;
		case SG_HL_WSCOLON:
			*why = "whitespace between header name and colon";
			return bad;
		default:
			*why = http_line_why(buf, lx->tok.off,
			    "malformed header field");
			return bad;
		}
	}
}

/* Header names one message's Connection may list (beyond close,
 * keep-alive and upgrade); real ones list one or two. */
#define HTTP_CONN_NAMED_MAX 64

/*
 * Connection options (RFC 9110 7.6.1): a comma list of tokens, empty
 * elements allowed. Headers it names become hop-by-hop, except that
 * naming Host or a framing header is refused: dropping those would make
 * the proxy and the daemon disagree about the message.
 */
static int
http_connection(const char *buf, struct sg_http_msg *m,
    struct http_conn_opts *co, bool response, const char **why)
{
	struct sg_slice v, tok;
	uint32_t p, e, a, b, named = 0;
	uint16_t i, j;

	memset(co, 0, sizeof(*co));
	for (i = 0; i < m->nhdr; i++) {
		if (m->hdr[i].id != SG_HDR_CONNECTION)
			continue;
		v = m->hdr[i].value;
		for (p = 0; p <= v.len; p = e + 1) {
			for (e = p; e < v.len && buf[v.off + e] != ','; e++)
				;
			for (a = p; a < e && (buf[v.off + a] == ' ' ||
			    buf[v.off + a] == '\t'); a++)
				;
			for (b = e; b > a && (buf[v.off + b - 1] == ' ' ||
			    buf[v.off + b - 1] == '\t'); b--)
				;
			tok.off = v.off + a;
			tok.len = b - a;
			if (tok.len == 0)
				continue;
			if (!http_is_token(buf, tok)) {
				*why = "malformed Connection header";
				return response ? 502 : 400;
			}
			if (sg_http_slice_ieq(buf, tok, "close")) {
				co->close = true;
				continue;
			}
			if (sg_http_slice_ieq(buf, tok, "keep-alive")) {
				co->keep_alive = true;
				continue;
			}
			if (sg_http_slice_ieq(buf, tok, "upgrade")) {
				co->upgrade = true;
				continue;
			}
			if (sg_http_slice_ieq(buf, tok, "host") ||
			    sg_http_slice_ieq(buf, tok, "content-length") ||
			    sg_http_slice_ieq(buf, tok, "transfer-encoding")) {
				*why = "Connection names an end-to-end header";
				return response ? 502 : 400;
			}
			/* each named header costs a pass over the head: a
			 * bound keeps a head of a million names linear */
			if (++named > HTTP_CONN_NAMED_MAX) {
				*why = "too many header names in Connection";
				return response ? 502 : 400;
			}
			for (j = 0; j < m->nhdr; j++)
				if (m->hdr[j].name.len == tok.len &&
				    http_memieq(buf + m->hdr[j].name.off,
				    buf + tok.off, tok.len))
					m->hdr[j].hop = true;
		}
	}
	return 0;
}

/* 0 for "chunked", 501 for a registered coding, 400 for anything else. */
static int
http_te_coding(const char *buf, struct sg_slice v)
{
	size_t i;

	if (sg_http_slice_ieq(buf, v, "chunked"))
		return 0;
	for (i = 0; i < SG_ARRAY_LEN(http_known_codings); i++)
		if (sg_http_slice_ieq(buf, v, http_known_codings[i]))
			return 501;
	return 400;
}

/* 1*19DIGIT, at most 2^63-1. */
static bool
http_clen(const char *buf, struct sg_slice v, uint64_t *out)
{
	const char *p = buf + v.off;
	uint64_t n = 0;
	uint32_t i;

	if (v.len == 0 || v.len > 19)
		return false;
	for (i = 0; i < v.len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		n = n * 10 + (uint64_t)(p[i] - '0'); /* < 10^19 < 2^64 */
	}
	if (n > (uint64_t)INT64_MAX)
		return false;
	*out = n;
	return true;
}

static bool
http_is_token(const char *buf, struct sg_slice s)
{
	uint32_t i;
	char c;

	if (s.len == 0)
		return false;
	for (i = 0; i < s.len; i++) {
		c = buf[s.off + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') ||
		    (c != '\0' && strchr(http_tchar_extra, c) != NULL)))
			return false;
	}
	return true;
}

static bool
http_is_hop_id(int id)
{
	switch (id) {
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
		return true;
	default:
		/* Content-Length and Transfer-Encoding go through as-is. */
		return false;
	}
}

static bool
http_memieq(const char *a, const char *b, size_t n)
{
	unsigned char x, y;
	size_t i;

	for (i = 0; i < n; i++) {
		x = (unsigned char)a[i];
		y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 'a' - 'A');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y + 'a' - 'A');
		if (x != y)
			return false;
	}
	return true;
}

/*
 * Names the first byte that made the line at off unlexable. The head ends
 * with CRLF CRLF, so the scan stops inside it.
 */
static const char *
http_line_why(const char *buf, uint32_t off, const char *dflt)
{
	const unsigned char *p = (const unsigned char *)buf + off;

	for (;; p++) {
		if (*p == '\r')
			return p[1] == '\n' ? dflt : "bare CR in head";
		if (*p == '\n')
			return "bare LF in head";
		if (*p == '\0')
			return "NUL byte in head";
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return "control character in head";
	}
}
