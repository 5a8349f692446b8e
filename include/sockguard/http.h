/* SPDX-License-Identifier: MIT */
/*
 * http.h: HTTP/1.1 message heads and body framing (RFC 9112), strict.
 *
 * The caller buffers bytes until sg_http_head_end() finds the end of the
 * head, then lexes the complete, fixed head once (re2c, grammar/http_lex.re)
 * with sg_http_parse_request() / sg_http_parse_response(). Tokens are
 * slices into the caller's buffer, which must not move while they are used.
 * Validators return 0 or the HTTP status to answer (400, 431, 501, 505),
 * with a short static reason for the client and the log.
 */
#ifndef SOCKGUARD_HTTP_H
#define SOCKGUARD_HTTP_H

#include "sockguard/common.h"

#define SG_HTTP_MAX_HEADERS 100

/* Headers the proxy has to understand; everything else is SG_HDR_OTHER. */
enum sg_hdr_id {
	SG_HDR_OTHER = 0,
	SG_HDR_CONTENT_LENGTH,
	SG_HDR_TRANSFER_ENCODING,
	SG_HDR_CONNECTION,
	SG_HDR_UPGRADE,
	SG_HDR_HOST,
	SG_HDR_KEEP_ALIVE,
	SG_HDR_PROXY,            /* any Proxy-* header (Proxy-Connection, ...) */
	SG_HDR_TE,
	SG_HDR_TRAILER,
	SG_HDR_EXPECT,
	SG_HDR_X_REQUEST_ID,
	SG_HDR_TRACEPARENT,
	SG_HDR_TRACESTATE,
	SG_HDR_FORWARDED,        /* Forwarded and X-Forwarded-* */
	SG_HDR_CONTENT_TYPE,
	SG_HDR_ORIGIN,           /* sent by web browsers */
	SG_HDR_SEC_FETCH,        /* any Sec-Fetch-* header (web browsers) */
	SG_HDR__COUNT,
};

struct sg_http_hdr {
	struct sg_slice name;
	struct sg_slice value;   /* without surrounding whitespace */
	uint8_t id;              /* enum sg_hdr_id */
	bool hop;                /* hop-by-hop: never forwarded as-is */
};

enum sg_body_kind {
	SG_BODY_NONE = 0,
	SG_BODY_LENGTH,          /* Content-Length bytes */
	SG_BODY_CHUNKED,         /* Transfer-Encoding: chunked */
	SG_BODY_EOF,             /* response delimited by close */
};

struct sg_http_msg {
	/* request line */
	struct sg_slice method;
	struct sg_slice target;  /* whole request-target (origin-form) */
	struct sg_slice path;    /* raw path part of the target */
	struct sg_slice query;   /* after '?', excluding it */
	bool has_query;
	/* status line */
	uint16_t status;
	struct sg_slice reason;

	uint8_t minor;           /* HTTP/1.<minor> */
	uint16_t nhdr;
	int16_t first[SG_HDR__COUNT]; /* index of first header by id, -1 */

	enum sg_body_kind body;
	uint64_t content_length;
	bool conn_close;         /* Connection: close (or HTTP/1.0 without keep-alive) */
	bool conn_upgrade;       /* Connection lists "upgrade" and Upgrade is present */
	bool expect_continue;    /* Expect: 100-continue */
	uint32_t head_len;       /* bytes of the head including the final CRLF */
	/* last: a parse clears what is before it, and hdr[0..nhdr) is set */
	struct sg_http_hdr hdr[SG_HTTP_MAX_HEADERS];
};

/*
 * Empties m: no header (nhdr 0, every first[] -1), the rest zero. The
 * header slots keep their old bytes, so hdr[] is read only below nhdr
 * and through a first[] that is >= 0.
 */
static inline void
sg_http_msg_clear(struct sg_http_msg *m)
{
	size_t i;

	memset(m, 0, offsetof(struct sg_http_msg, hdr));
	for (i = 0; i < SG_HDR__COUNT; i++)
		m->first[i] = -1;
}

/*
 * Finds the end of a head in buf[0..len), resuming at *scan (start at 0;
 * the function stores where to resume). Returns the head length (> 0) once
 * "\r\n\r\n" is seen, 0 when more bytes are needed, or -400 at the first
 * byte that can never be part of a valid head (bare LF, bare CR, NUL).
 * Callers answer 431 themselves when the buffer fills without an end.
 */
int sg_http_head_end(const char *buf, size_t len, size_t *scan);

/*
 * Parses a complete request head buf[0..head_len). Enforces: method token,
 * origin-form target only (absolute-form, authority-form and '*' get 400),
 * HTTP/1.1 (HTTP/1.0 is 505), header syntax (no obs-fold, no whitespace
 * before ':', no CTL/NUL), at most SG_HTTP_MAX_HEADERS (431), exactly one
 * Host, at most one Content-Length (400 for duplicates even when equal,
 * signs, leading junk, overflow), no Content-Length with
 * Transfer-Encoding, Transfer-Encoding exactly "chunked" (anything else
 * 501 for unknown codings, 400 for lists/garbage), Expect only
 * 100-continue (417). Returns 0 or the status; *why names the problem.
 */
int sg_http_parse_request(const char *buf, size_t head_len,
    struct sg_http_msg *m, const char **why);

/*
 * Parses a complete response head. req_head: the request was HEAD (no
 * body). Decides framing per RFC 9112 6.3 (1xx/204/304/HEAD: none;
 * chunked; Content-Length; otherwise until close). Returns 0 or 502 for
 * a head the proxy must not relay.
 */
int sg_http_parse_response(const char *buf, size_t head_len, bool req_head,
    struct sg_http_msg *m, const char **why);

/* Case-insensitive compare of a slice against a NUL-terminated string. */
bool sg_http_slice_ieq(const char *buf, struct sg_slice s, const char *lit);

/*
 * Whether a Host value names the server by address or as localhost: an
 * IPv4 literal, a bracketed IPv6 literal, "localhost" or a name under
 * ".localhost", each with an optional port; or empty. Any other name
 * could be one that a web page rebound to this machine's address.
 */
bool sg_http_host_is_local(const char *v, size_t n);

/*
 * Whether a query value v[0..n), already decoded, is false to Docker's
 * BoolValue: "", "0", "no", "false" or "none", any case, surrounding
 * spaces trimmed.
 */
bool sg_query_value_false(const char *v, size_t n);

/*
 * Whether the query string q[0..n) (without '?') could turn the daemon's
 * boolean flag key on: true when any parameter that is, or may decode
 * to, key (any case) has a value Docker would not read as false. Errs
 * towards true (see query.c).
 */
bool sg_query_flag_may_be_on(const char *q, size_t n, const char *key);

/*
 * Chunked body validator. Bytes are relayed verbatim by the caller; this
 * only checks framing and finds where the body ends.
 */
struct sg_chunked {
	uint8_t state;
	uint8_t ndigits;
	uint64_t left;           /* data bytes left in the current chunk */
	uint32_t linelen;        /* ';' and extension bytes of a size line */
	uint32_t trailer_bytes;  /* total trailer bytes */
	uint32_t excess;         /* framing beyond the data's allowance */
};

void sg_chunked_init(struct sg_chunked *c);
/*
 * Scans p[0..n). Sets *used to the bytes that belong to the body (all of
 * n unless the body ends inside it) and *done when the terminating CRLF
 * after the last chunk and trailers was consumed. Returns 0, or 400 with
 * *why for bad framing (non-hex or overflowing sizes, missing CRLF, bare
 * LF, CTL in extensions, oversized extensions/trailers).
 */
int sg_chunked_scan(struct sg_chunked *c, const char *p, size_t n,
    size_t *used, bool *done, const char **why);
/*
 * Data bytes the current chunk still owes: non-zero only inside chunk
 * data, where the caller may move up to that many bytes without scanning
 * them (splice) and account for them with sg_chunked_skip.
 */
uint64_t sg_chunked_data_left(const struct sg_chunked *c);
/* Consumes n <= sg_chunked_data_left(c) data bytes unseen. */
void sg_chunked_skip(struct sg_chunked *c, uint64_t n);

#endif
