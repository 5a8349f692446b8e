/* SPDX-License-Identifier: MIT */
/*
 * test_http.c: vectors for http.c, the re2c head lexer and
 * http_chunked.c. Every head is copied into a buffer of exactly its
 * length, so the sanitizers catch any read past the head.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "sockguard/http.h"

#define V(s) s, sizeof(s) - 1
#define HOST "Host: docker\r\n"
#define GET "GET / HTTP/1.1\r\n" HOST
#define POST "POST /v1.41/build HTTP/1.1\r\n" HOST

Suite *suite_http(void);

/* ------------------------------------------------------------------ */
/* helpers */

static char *
dup_exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, s, n);
	return p;
}

static int
parse_req(const char *s, size_t n, struct sg_http_msg *m, const char **why)
{
	char *p = dup_exact(s, n);
	int rc = sg_http_parse_request(p, n, m, why);

	free(p);
	return rc;
}

static int
parse_resp(const char *s, size_t n, bool head, struct sg_http_msg *m,
    const char **why)
{
	char *p = dup_exact(s, n);
	int rc = sg_http_parse_response(p, n, head, m, why);

	free(p);
	return rc;
}

static bool
slice_is(const char *buf, struct sg_slice s, const char *want)
{
	return s.len == strlen(want) && memcmp(buf + s.off, want, s.len) == 0;
}

/* start, then n copies of a header line, then CRLF; caller frees. */
static char *
many_headers(const char *start, size_t n, size_t *len)
{
	static const char line[] = "X-A: b\r\n";
	size_t cap = strlen(start) + n * (sizeof(line) - 1) + 3, off;
	char *p = malloc(cap);
	size_t i;

	ck_assert_ptr_nonnull(p);
	off = strlen(start);
	memcpy(p, start, off);
	for (i = 0; i < n; i++) {
		memcpy(p + off, line, sizeof(line) - 1);
		off += sizeof(line) - 1;
	}
	memcpy(p + off, "\r\n", 2);
	*len = off + 2;
	return p;
}

/* ------------------------------------------------------------------ */
/* requests that must be refused */

struct req_bad {
	const char *name;
	const char *head;
	size_t len;
	int status;
	const char *why; /* exact reason, or NULL */
};

static const struct req_bad req_bad[] = {
	/* request line: target form */
	{"absolute-form", V("GET http://x/ HTTP/1.1\r\n" HOST "\r\n"), 400,
	    "absolute-form request-target is not allowed"},
	{"absolute-form https", V("GET https://docker/v1.41/info HTTP/1.1\r\n"
	    HOST "\r\n"), 400, NULL},
	{"authority-form", V("CONNECT docker:2375 HTTP/1.1\r\n" HOST "\r\n"),
	    400, "request-target must be origin-form"},
	{"asterisk-form", V("OPTIONS * HTTP/1.1\r\n" HOST "\r\n"), 400,
	    "asterisk-form request-target is not allowed"},
	{"relative target", V("GET a/b HTTP/1.1\r\n" HOST "\r\n"), 400, NULL},
	{"fragment", V("GET /a#b HTTP/1.1\r\n" HOST "\r\n"), 400,
	    "fragment in request-target"},
	{"fragment in query", V("GET /a?x#b HTTP/1.1\r\n" HOST "\r\n"), 400,
	    NULL},
	/* request line: target bytes */
	{"space in target", V("GET /a b HTTP/1.1\r\n" HOST "\r\n"), 400, NULL},
	{"HTAB in target", V("GET /a\tb HTTP/1.1\r\n" HOST "\r\n"), 400, NULL},
	{"CTL in target", V("GET /a\x01" "b HTTP/1.1\r\n" HOST "\r\n"), 400,
	    "control character in head"},
	{"NUL in target", V("GET /a\0b HTTP/1.1\r\n" HOST "\r\n"), 400,
	    "NUL byte in head"},
	{"DEL in target", V("GET /a\x7f" "b HTTP/1.1\r\n" HOST "\r\n"), 400,
	    NULL},
	{"0x80 in target", V("GET /a\x80" "b HTTP/1.1\r\n" HOST "\r\n"), 400,
	    NULL},
	{"0xff in target", V("GET /\xff HTTP/1.1\r\n" HOST "\r\n"), 400, NULL},
	{"UTF-8 in target", V("GET /caf\xc3\xa9 HTTP/1.1\r\n" HOST "\r\n"),
	    400, NULL},
	{"ESC in target", V("GET /\x1b[0m HTTP/1.1\r\n" HOST "\r\n"), 400,
	    NULL},
	/* request line: version */
	{"HTTP/1.0", V("GET / HTTP/1.0\r\n" HOST "\r\n"), 505,
	    "HTTP/1.0 is not supported; use HTTP/1.1"},
	{"HTTP/0.9", V("GET /\r\n\r\n"), 400,
	    "HTTP/0.9 is not supported; use HTTP/1.1"},
	{"HTTP/2.0", V("GET / HTTP/2.0\r\n" HOST "\r\n"), 505, NULL},
	{"HTTP/1.2", V("GET / HTTP/1.2\r\n" HOST "\r\n"), 505, NULL},
	{"HTTP/0.9 versioned", V("GET / HTTP/0.9\r\n" HOST "\r\n"), 505, NULL},
	{"HTTP/1.10", V("GET / HTTP/1.10\r\n" HOST "\r\n"), 400, NULL},
	{"HTTP/11", V("GET / HTTP/11\r\n" HOST "\r\n"), 400, NULL},
	{"HTTP/1", V("GET / HTTP/1\r\n" HOST "\r\n"), 400, NULL},
	{"lower-case http", V("GET / http/1.1\r\n" HOST "\r\n"), 400, NULL},
	{"HTTP/2 preface", V("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505, NULL},
	/* request line: shape */
	{"double space", V("GET  / HTTP/1.1\r\n" HOST "\r\n"), 400, NULL},
	{"trailing space", V("GET / HTTP/1.1 \r\n" HOST "\r\n"), 400, NULL},
	{"leading space", V(" GET / HTTP/1.1\r\n" HOST "\r\n"), 400, NULL},
	{"HTAB separator", V("GET\t/ HTTP/1.1\r\n" HOST "\r\n"), 400, NULL},
	{"leading CRLF", V("\r\nGET / HTTP/1.1\r\n" HOST "\r\n"), 400,
	    "empty line before the request line"},
	{"method not a token", V("G(T / HTTP/1.1\r\n" HOST "\r\n"), 400,
	    NULL},
	{"empty method", V(" / HTTP/1.1\r\n" HOST "\r\n"), 400, NULL},
	{"bare LF after request line", V("GET / HTTP/1.1\n" HOST "\r\n"), 400,
	    "bare LF in head"},
	{"bare CR after request line", V("GET / HTTP/1.1\r" HOST "\r\n"), 400,
	    "bare CR in head"},
	{"bare CR in request line", V("GET /\r HTTP/1.1\r\n" HOST "\r\n"), 400,
	    "bare CR in head"},
	/* head framing */
	{"not ending in CRLFCRLF", V("GET / HTTP/1.1\r\n" HOST), 400,
	    "incomplete head"},
	{"empty", V(""), 400, "incomplete head"},
	{"bytes after the empty line", V(GET "\r\n\r\n"), 400,
	    "bytes after the end of the head"},
	{"only CRLFCRLF", V("\r\n\r\n"), 400, NULL},
	/* field syntax */
	{"space before colon", V(GET "X-A : b\r\n\r\n"), 400,
	    "whitespace between header name and colon"},
	{"HTAB before colon", V(GET "X-A\t: b\r\n\r\n"), 400,
	    "whitespace between header name and colon"},
	{"Host with space before colon",
	    V("GET / HTTP/1.1\r\nHost : docker\r\n\r\n"), 400, NULL},
	{"obs-fold SP", V(GET "X-A: a\r\n b\r\n\r\n"), 400,
	    "obs-fold (line folding) is not allowed"},
	{"obs-fold HTAB", V(GET "X-A: a\r\n\tb\r\n\r\n"), 400, NULL},
	{"fold as first field", V("GET / HTTP/1.1\r\n " HOST "\r\n"), 400,
	    NULL},
	{"CTL in value", V(GET "X-A: a\x01" "b\r\n\r\n"), 400,
	    "control character in head"},
	{"VT in value", V(GET "X-A: a\x0b" "b\r\n\r\n"), 400, NULL},
	{"ESC in value", V(GET "X-A: \x1b[31m\r\n\r\n"), 400, NULL},
	{"NUL in value", V(GET "X-A: a\0b\r\n\r\n"), 400, "NUL byte in head"},
	{"NUL as value", V(GET "X-A: \0\r\n\r\n"), 400, NULL},
	{"DEL in value", V(GET "X-A: a\x7f" "b\r\n\r\n"), 400, NULL},
	{"bare CR in value", V(GET "X-A: a\rb\r\n\r\n"), 400,
	    "bare CR in head"},
	{"bare CR ending a field", V(GET "X-A: a\rX-B: b\r\n\r\n"), 400, NULL},
	{"bare LF in value", V(GET "X-A: a\nb\r\n\r\n"), 400,
	    "bare LF in head"},
	{"bare LF ending a field", V(GET "X-A: a\nX-B: b\r\n\r\n"), 400, NULL},
	{"bare LF as the empty line", V(GET "X-A: a\r\n\n\r\n\r\n"), 400,
	    NULL},
	{"NUL in name", V(GET "X\0A: b\r\n\r\n"), 400, NULL},
	{"CTL in name", V(GET "X\x01" "A: b\r\n\r\n"), 400, NULL},
	{"empty name", V(GET ": b\r\n\r\n"), 400, "malformed header field"},
	{"name not a token", V(GET "X(A): b\r\n\r\n"), 400, NULL},
	{"space in name", V(GET "X A: b\r\n\r\n"), 400, NULL},
	{"0x80 in name", V(GET "X\x80: b\r\n\r\n"), 400, NULL},
	{"no colon", V(GET "X-A\r\n\r\n"), 400, NULL},
	/* counts */
	{"101 headers", NULL, 0, 431, "too many header fields"},
	{"10000 headers", NULL, 0, 431, NULL},
	/* Host */
	{"missing Host", V("GET / HTTP/1.1\r\nX-A: b\r\n\r\n"), 400,
	    "missing Host header"},
	{"duplicate Host", V(GET "Host: other\r\n\r\n"), 400,
	    "duplicate Host header"},
	{"duplicate equal Host", V(GET HOST "\r\n"), 400, NULL},
	{"duplicate Host other case", V(GET "HOST: docker\r\n\r\n"), 400,
	    NULL},
	/* Content-Length */
	{"CL duplicate equal", V(POST "Content-Length: 5\r\n"
	    "Content-Length: 5\r\n\r\n"), 400, "duplicate Content-Length header"},
	{"CL duplicate differing", V(POST "Content-Length: 5\r\n"
	    "Content-Length: 6\r\n\r\n"), 400, NULL},
	{"CL duplicate other case", V(POST "Content-Length: 5\r\n"
	    "content-length: 5\r\n\r\n"), 400, NULL},
	{"CL list", V(POST "Content-Length: 5,5\r\n\r\n"), 400,
	    "invalid Content-Length"},
	{"CL list with space", V(POST "Content-Length: 5, 5\r\n\r\n"), 400,
	    NULL},
	{"CL plus sign", V(POST "Content-Length: +5\r\n\r\n"), 400, NULL},
	{"CL minus sign", V(POST "Content-Length: -5\r\n\r\n"), 400, NULL},
	{"CL minus zero", V(POST "Content-Length: -0\r\n\r\n"), 400, NULL},
	{"CL space inside", V(POST "Content-Length: 1 2\r\n\r\n"), 400, NULL},
	{"CL hex", V(POST "Content-Length: 0x10\r\n\r\n"), 400, NULL},
	{"CL exponent", V(POST "Content-Length: 1e3\r\n\r\n"), 400, NULL},
	{"CL decimal point", V(POST "Content-Length: 1.0\r\n\r\n"), 400, NULL},
	{"CL empty", V(POST "Content-Length:\r\n\r\n"), 400, NULL},
	{"CL letters", V(POST "Content-Length: five\r\n\r\n"), 400, NULL},
	{"CL 2^63", V(POST "Content-Length: 9223372036854775808\r\n\r\n"), 400,
	    NULL},
	{"CL 2^64", V(POST "Content-Length: 18446744073709551616\r\n\r\n"),
	    400, NULL},
	{"CL 19 nines", V(POST "Content-Length: 9999999999999999999\r\n\r\n"),
	    400, NULL},
	{"CL 20 digits zeros", V(POST
	    "Content-Length: 00000000000000000001\r\n\r\n"), 400, NULL},
	{"CL huge", V(POST "Content-Length: "
	    "123456789012345678901234567890\r\n\r\n"), 400, NULL},
	/* CL.TE / TE.CL */
	{"CL then TE", V(POST "Content-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), 400,
	    "both Content-Length and Transfer-Encoding"},
	{"TE then CL", V(POST "Transfer-Encoding: chunked\r\n"
	    "Content-Length: 5\r\n\r\n"), 400, NULL},
	{"TE then CL 0", V(POST "Transfer-Encoding: chunked\r\n"
	    "Content-Length: 0\r\n\r\n"), 400, NULL},
	/* TE.TE obfuscations */
	{"TE chunked, identity", V(POST
	    "Transfer-Encoding: chunked, identity\r\n\r\n"), 400,
	    "invalid Transfer-Encoding; only chunked"},
	{"TE identity", V(POST "Transfer-Encoding: identity\r\n\r\n"), 400,
	    NULL},
	{"TE gzip, chunked", V(POST "Transfer-Encoding: gzip, chunked\r\n\r\n"),
	    400, NULL},
	{"TE chunked, chunked", V(POST
	    "Transfer-Encoding: chunked, chunked\r\n\r\n"), 400, NULL},
	{"TE xchunked", V(POST "Transfer-Encoding: xchunked\r\n\r\n"), 400,
	    NULL},
	{"TE chunkedx", V(POST "Transfer-Encoding: chunkedx\r\n\r\n"), 400,
	    NULL},
	{"TE chunk ed", V(POST "Transfer-Encoding: chunk ed\r\n\r\n"), 400,
	    NULL},
	{"TE trailing comma", V(POST "Transfer-Encoding: chunked,\r\n\r\n"),
	    400, NULL},
	{"TE leading comma", V(POST "Transfer-Encoding: ,chunked\r\n\r\n"), 400,
	    NULL},
	{"TE parameter", V(POST "Transfer-Encoding: chunked;q=1\r\n\r\n"), 400,
	    NULL},
	{"TE quoted", V(POST "Transfer-Encoding: \"chunked\"\r\n\r\n"), 400,
	    NULL},
	{"TE empty", V(POST "Transfer-Encoding:\r\n\r\n"), 400, NULL},
	{"TE VT before", V(POST "Transfer-Encoding: \x0b" "chunked\r\n\r\n"),
	    400, NULL},
	{"TE VT after", V(POST "Transfer-Encoding: chunked\x0b\r\n\r\n"), 400,
	    NULL},
	{"TE NUL after", V(POST "Transfer-Encoding: chunked\0\r\n\r\n"), 400,
	    NULL},
	{"TE obs-text", V(POST "Transfer-Encoding: ch\xc3\xbcnked\r\n\r\n"),
	    400, NULL},
	{"TE twice", V(POST "Transfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), 400,
	    "duplicate Transfer-Encoding header"},
	{"TE twice identity", V(POST "Transfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: identity\r\n\r\n"), 400, NULL},
	{"TE space before colon", V(POST
	    "Transfer-Encoding : chunked\r\n\r\n"), 400,
	    "whitespace between header name and colon"},
	{"TE folded value", V(POST "Transfer-Encoding:\r\n chunked\r\n\r\n"),
	    400, "obs-fold (line folding) is not allowed"},
	{"TE folded list", V(POST "Transfer-Encoding: identity\r\n"
	    " chunked\r\n\r\n"), 400, NULL},
	{"TE bare LF before", V(POST "X-A: b\nTransfer-Encoding: chunked\r\n"
	    "\r\n"), 400, NULL},
	/* unknown single registered codings: 501 (documented choice) */
	{"TE gzip", V(POST "Transfer-Encoding: gzip\r\n\r\n"), 501,
	    "unsupported transfer coding; only chunked"},
	{"TE deflate", V(POST "Transfer-Encoding: deflate\r\n\r\n"), 501, NULL},
	{"TE compress", V(POST "Transfer-Encoding: compress\r\n\r\n"), 501,
	    NULL},
	{"TE x-gzip", V(POST "Transfer-Encoding: X-GZIP\r\n\r\n"), 501, NULL},
	/* Expect */
	{"Expect other", V(POST "Expect: 200-ok\r\n\r\n"), 417,
	    "unsupported expectation; only 100-continue"},
	{"Expect list", V(POST "Expect: 100-continue, foo\r\n\r\n"), 417, NULL},
	{"Expect empty", V(POST "Expect:\r\n\r\n"), 417, NULL},
	{"Expect second", V(POST "Expect: 100-continue\r\n"
	    "Expect: x\r\n\r\n"), 417, NULL},
	/* Connection */
	{"Connection not tokens", V(GET "Connection: clo se\r\n\r\n"), 400,
	    "malformed Connection header"},
	{"Connection quoted", V(GET "Connection: \"close\"\r\n\r\n"), 400,
	    NULL},
	{"Connection names Content-Length", V(POST "Content-Length: 5\r\n"
	    "Connection: Content-Length\r\n\r\n"), 400,
	    "Connection names an end-to-end header"},
	{"Connection names Transfer-Encoding", V(POST
	    "Transfer-Encoding: chunked\r\n"
	    "Connection: keep-alive, transfer-encoding\r\n\r\n"), 400, NULL},
	{"Connection names Host", V(GET "Connection: host\r\n\r\n"), 400,
	    NULL},
	{"Connection names 65 headers", V(GET "Connection: x-0,x-1,x-2,x-3,x-4,x-5,x-6,x-7,x-8,x-9,x-10,x-11,x-12,x-13,x-14,x-15,x-16,x-17,x-18,x-19,x-20,x-21,x-22,x-23,x-24,x-25,x-26,x-27,x-28,x-29,x-30,x-31,x-32,x-33,x-34,x-35,x-36,x-37,x-38,x-39,x-40,x-41,x-42,x-43,x-44,x-45,x-46,x-47,x-48,x-49,x-50,x-51,x-52,x-53,x-54,x-55,x-56,x-57,x-58,x-59,x-60,x-61,x-62,x-63,x-64\r\n\r\n"), 400,
	    "too many header names in Connection"},
	/* order: syntax before semantics */
	{"400 beats 417", V(POST "Expect: x\r\nX-A : b\r\n\r\n"), 400, NULL},
	{"505 beats 400", V("GET / HTTP/1.0\r\n\r\n"), 505, NULL},
};

/* 64 header names in Connection are still a request; 65 are not (above) */
START_TEST(connection_names_up_to_64)
{
	static const char head[] = GET "Connection: x-0,x-1,x-2,x-3,x-4,x-5,x-6,x-7,x-8,x-9,x-10,x-11,x-12,x-13,x-14,x-15,x-16,x-17,x-18,x-19,x-20,x-21,x-22,x-23,x-24,x-25,x-26,x-27,x-28,x-29,x-30,x-31,x-32,x-33,x-34,x-35,x-36,x-37,x-38,x-39,x-40,x-41,x-42,x-43,x-44,x-45,x-46,x-47,x-48,x-49,x-50,x-51,x-52,x-53,x-54,x-55,x-56,x-57,x-58,x-59,x-60,x-61,x-62,x-63\r\n\r\n";
	struct sg_http_msg m;
	const char *why = NULL;

	ck_assert_int_eq(parse_req(head, sizeof(head) - 1, &m, &why), 0);
}
END_TEST

START_TEST(request_refused)
{
	const struct req_bad *v = &req_bad[_i];
	struct sg_http_msg m;
	const char *why = NULL;
	size_t len = v->len;
	char *owned = NULL;
	int rc;

	if (v->head == NULL) {
		/* GET has Host: 1 + n headers */
		owned = many_headers(GET,
		    strstr(v->name, "10000") ? 10000 : SG_HTTP_MAX_HEADERS, &len);
		rc = parse_req(owned, len, &m, &why);
		free(owned);
	} else {
		rc = parse_req(v->head, len, &m, &why);
	}
	ck_assert_msg(rc == v->status, "%s: got %d want %d (%s)", v->name, rc,
	    v->status, why ? why : "-");
	ck_assert_msg(why != NULL, "%s: no reason", v->name);
	if (v->why != NULL)
		ck_assert_msg(strcmp(why, v->why) == 0, "%s: why \"%s\"",
		    v->name, why);
}
END_TEST

/* ------------------------------------------------------------------ */
/* requests that must pass */

struct req_ok {
	const char *head;
	size_t len;
	const char *method;
	const char *path;
	const char *query; /* NULL: no '?' */
	enum sg_body_kind body;
	uint64_t cl;
	bool close, upgrade, expect;
	uint16_t nhdr;
};

static const struct req_ok req_ok[] = {
	{V("GET /v1.41/containers/json?all=1&filters=%7B%7D HTTP/1.1\r\n"
	    "Host: docker\r\nUser-Agent: Docker-Client/24.0.7 (linux)\r\n\r\n"),
	    "GET", "/v1.41/containers/json", "all=1&filters=%7B%7D",
	    SG_BODY_NONE, 0, false, false, false, 2},
	{V("POST /v1.41/exec/abc/start HTTP/1.1\r\nHost: docker\r\n"
	    "Connection: Upgrade\r\nUpgrade: tcp\r\n"
	    "Content-Type: application/json\r\nContent-Length: 27\r\n\r\n"),
	    "POST", "/v1.41/exec/abc/start", NULL, SG_BODY_LENGTH, 27, false,
	    true, false, 5},
	{V("POST /v1.41/containers/c1/attach?stream=1&stdin=1 HTTP/1.1\r\n"
	    "Host: api.moby.localhost\r\nConnection: Upgrade\r\n"
	    "Upgrade: tcp\r\n\r\n"), "POST", "/v1.41/containers/c1/attach",
	    "stream=1&stdin=1", SG_BODY_NONE, 0, false, true, false, 3},
	{V(POST "Transfer-Encoding: chunked\r\n\r\n"), "POST", "/v1.41/build",
	    NULL, SG_BODY_CHUNKED, 0, false, false, false, 2},
	{V(POST "Transfer-Encoding: CHUNKED\r\n\r\n"), "POST", "/v1.41/build",
	    NULL, SG_BODY_CHUNKED, 0, false, false, false, 2},
	{V(POST "transfer-encoding:\t Chunked \t\r\n\r\n"), "POST",
	    "/v1.41/build", NULL, SG_BODY_CHUNKED, 0, false, false, false, 2},
	{V(POST "Content-Length: 0\r\n\r\n"), "POST", "/v1.41/build", NULL,
	    SG_BODY_LENGTH, 0, false, false, false, 2},
	{V(POST "Content-Length: 9223372036854775807\r\n\r\n"), "POST",
	    "/v1.41/build", NULL, SG_BODY_LENGTH, 9223372036854775807ULL,
	    false, false, false, 2},
	{V(POST "Content-Length: 0000000000000000042\r\n\r\n"), "POST",
	    "/v1.41/build", NULL, SG_BODY_LENGTH, 42, false, false, false, 2},
	{V(POST "content-length:   12  \r\n\r\n"), "POST", "/v1.41/build",
	    NULL, SG_BODY_LENGTH, 12, false, false, false, 2},
	{V("GET /? HTTP/1.1\r\n" HOST "\r\n"), "GET", "/", "", SG_BODY_NONE, 0,
	    false, false, false, 1},
	{V("GET /a?b?c=/d HTTP/1.1\r\n" HOST "\r\n"), "GET", "/a", "b?c=/d",
	    SG_BODY_NONE, 0, false, false, false, 1},
	{V("GET //x/../%2e%2E/%00 HTTP/1.1\r\n" HOST "\r\n"), "GET",
	    "//x/../%2e%2E/%00", NULL, SG_BODY_NONE, 0, false, false, false, 1},
	{V("M-SEARCH /_ping HTTP/1.1\r\n" HOST "\r\n"), "M-SEARCH", "/_ping",
	    NULL, SG_BODY_NONE, 0, false, false, false, 1},
	{V("HEAD /_ping HTTP/1.1\r\nHost:\r\n\r\n"), "HEAD", "/_ping", NULL,
	    SG_BODY_NONE, 0, false, false, false, 1},
	{V(GET "X-Empty:\r\nX-Blank: \t \r\n\r\n"), "GET", "/", NULL,
	    SG_BODY_NONE, 0, false, false, false, 3},
	{V(GET "X-Utf8: caf\xc3\xa9\xff\r\n\r\n"), "GET", "/", NULL,
	    SG_BODY_NONE, 0, false, false, false, 2},
	{V(GET "Connection: close\r\n\r\n"), "GET", "/", NULL, SG_BODY_NONE, 0,
	    true, false, false, 2},
	{V(GET "Connection: , Keep-Alive ,,CLOSE,\r\n\r\n"), "GET", "/", NULL,
	    SG_BODY_NONE, 0, true, false, false, 2},
	{V(GET "Connection: upgrade\r\n\r\n"), "GET", "/", NULL, SG_BODY_NONE,
	    0, false, false, false, 2},
	{V(GET "Upgrade: tcp\r\n\r\n"), "GET", "/", NULL, SG_BODY_NONE, 0,
	    false, false, false, 2},
	{V(GET "Connection: keep-alive\r\nConnection: Upgrade\r\n"
	    "Upgrade: tcp\r\n\r\n"), "GET", "/", NULL, SG_BODY_NONE, 0, false,
	    true, false, 4},
	{V(POST "Expect: 100-continue\r\nContent-Length: 3\r\n\r\n"), "POST",
	    "/v1.41/build", NULL, SG_BODY_LENGTH, 3, false, false, true, 3},
	{V(POST "Expect: 100-Continue\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    "POST", "/v1.41/build", NULL, SG_BODY_CHUNKED, 0, false, false,
	    true, 3},
	{V(GET "Transfer_Encoding: gzip\r\nContent_Length: x\r\n\r\n"), "GET",
	    "/", NULL, SG_BODY_NONE, 0, false, false, false, 3},
	{V(GET "X-A: a: b :c\r\n\r\n"), "GET", "/", NULL, SG_BODY_NONE, 0,
	    false, false, false, 2},
	{NULL, 0, "GET", "/", NULL, SG_BODY_NONE, 0, false, false, false,
	    SG_HTTP_MAX_HEADERS},
};

START_TEST(request_accepted)
{
	const struct req_ok *v = &req_ok[_i];
	struct sg_http_msg m;
	const char *why = "unset";
	const char *head = v->head;
	size_t len = v->len;
	char *owned = NULL;
	int rc;

	if (head == NULL)
		head = owned = many_headers(GET, SG_HTTP_MAX_HEADERS - 1, &len);
	rc = parse_req(head, len, &m, &why);
	ck_assert_msg(rc == 0, "vector %d: %d (%s)", _i, rc, why ? why : "-");
	ck_assert_ptr_null(why);
	ck_assert(slice_is(head, m.method, v->method));
	ck_assert_msg(slice_is(head, m.path, v->path), "vector %d: path", _i);
	ck_assert_int_eq(m.has_query, v->query != NULL);
	if (v->query != NULL)
		ck_assert(slice_is(head, m.query, v->query));
	else
		ck_assert_uint_eq(m.query.len, 0);
	ck_assert_uint_eq(m.target.off, m.path.off);
	ck_assert_uint_eq(m.target.len,
	    m.path.len + (m.has_query ? 1 + m.query.len : 0));
	ck_assert_int_eq(m.body, v->body);
	ck_assert_uint_eq(m.content_length, v->cl);
	ck_assert_int_eq(m.conn_close, v->close);
	ck_assert_int_eq(m.conn_upgrade, v->upgrade);
	ck_assert_int_eq(m.expect_continue, v->expect);
	ck_assert_uint_eq(m.nhdr, v->nhdr);
	ck_assert_uint_eq(m.minor, 1);
	ck_assert_uint_eq(m.head_len, len);
	ck_assert_int_ge(m.first[SG_HDR_HOST], 0);
	free(owned);
}
END_TEST

/* ------------------------------------------------------------------ */
/* header ids, slices, hop-by-hop marking, first[] */

struct hdr_vec {
	const char *line; /* as sent */
	const char *name, *value;
	enum sg_hdr_id id;
	bool hop;
};

static const struct hdr_vec hdr_vec[] = {
	{"Host: docker\r\n", "Host", "docker", SG_HDR_HOST, false},
	{"Content-Type:application/json\r\n", "Content-Type",
	    "application/json", SG_HDR_CONTENT_TYPE, false},
	{"content-length: 3 \r\n", "content-length", "3",
	    SG_HDR_CONTENT_LENGTH, false},
	{"Connection: keep-alive, X-Drop, upgrade\r\n", "Connection",
	    "keep-alive, X-Drop, upgrade", SG_HDR_CONNECTION, true},
	{"Upgrade: tcp\r\n", "Upgrade", "tcp", SG_HDR_UPGRADE, true},
	{"Keep-Alive: timeout=5\r\n", "Keep-Alive", "timeout=5",
	    SG_HDR_KEEP_ALIVE, true},
	{"Proxy-Connection: close\r\n", "Proxy-Connection", "close",
	    SG_HDR_PROXY, true},
	{"proxy-authorization: Basic x\r\n", "proxy-authorization", "Basic x",
	    SG_HDR_PROXY, true},
	{"TE: trailers\r\n", "TE", "trailers", SG_HDR_TE, true},
	{"Trailer: X-T\r\n", "Trailer", "X-T", SG_HDR_TRAILER, true},
	{"Expect: 100-continue\r\n", "Expect", "100-continue", SG_HDR_EXPECT,
	    false},
	{"X-Request-Id: abc\r\n", "X-Request-Id", "abc", SG_HDR_X_REQUEST_ID,
	    true},
	{"traceparent: 00-ab-cd-01\r\n", "traceparent", "00-ab-cd-01",
	    SG_HDR_TRACEPARENT, true},
	{"TraceState: k=v\r\n", "TraceState", "k=v", SG_HDR_TRACESTATE, true},
	{"Forwarded: for=1.2.3.4\r\n", "Forwarded", "for=1.2.3.4",
	    SG_HDR_FORWARDED, true},
	{"X-Forwarded-For: 1.2.3.4\r\n", "X-Forwarded-For", "1.2.3.4",
	    SG_HDR_FORWARDED, true},
	{"x-forwarded-proto: https\r\n", "x-forwarded-proto", "https",
	    SG_HDR_FORWARDED, true},
	{"X-Drop: 1\r\n", "X-Drop", "1", SG_HDR_OTHER, true},
	{"x-drop: 2\r\n", "x-drop", "2", SG_HDR_OTHER, true},
	{"X-Drops: 3\r\n", "X-Drops", "3", SG_HDR_OTHER, false},
	{"X-Registry-Auth: e30=\r\n", "X-Registry-Auth", "e30=", SG_HDR_OTHER,
	    false},
	{"Hostname: h\r\n", "Hostname", "h", SG_HDR_OTHER, false},
	{"Proxy: p\r\n", "Proxy", "p", SG_HDR_OTHER, false},
	{"TEx: t\r\n", "TEx", "t", SG_HDR_OTHER, false},
	{"X-Forwarded: f\r\n", "X-Forwarded", "f", SG_HDR_OTHER, false},
	{"Content-Length2: 9\r\n", "Content-Length2", "9", SG_HDR_OTHER,
	    false},
	{"Forwarded: second\r\n", "Forwarded", "second", SG_HDR_FORWARDED,
	    true},
	{"Origin: http://evil.example\r\n", "Origin", "http://evil.example",
	    SG_HDR_ORIGIN, false},
	{"sec-fetch-mode: navigate\r\n", "sec-fetch-mode", "navigate",
	    SG_HDR_SEC_FETCH, false},
	{"Sec-Fetch-Site: cross-site\r\n", "Sec-Fetch-Site", "cross-site",
	    SG_HDR_SEC_FETCH, false},
	{"Origins: x\r\n", "Origins", "x", SG_HDR_OTHER, false},
	{"Sec-Fetch: x\r\n", "Sec-Fetch", "x", SG_HDR_OTHER, false},
};

START_TEST(request_headers_marked)
{
	char head[2048];
	struct sg_http_msg m;
	const char *why;
	size_t len, i;
	int16_t want_first[SG_HDR__COUNT];
	int rc;

	for (i = 0; i < SG_HDR__COUNT; i++)
		want_first[i] = -1;
	len = (size_t)snprintf(head, sizeof(head), "PUT /x HTTP/1.1\r\n");
	for (i = 0; i < SG_ARRAY_LEN(hdr_vec); i++) {
		len += (size_t)snprintf(head + len, sizeof(head) - len, "%s",
		    hdr_vec[i].line);
		if (want_first[hdr_vec[i].id] < 0)
			want_first[hdr_vec[i].id] = (int16_t)i;
	}
	len += (size_t)snprintf(head + len, sizeof(head) - len, "\r\n");
	ck_assert_uint_lt(len, sizeof(head));

	rc = parse_req(head, len, &m, &why);
	ck_assert_msg(rc == 0, "%d %s", rc, why);
	ck_assert_uint_eq(m.nhdr, SG_ARRAY_LEN(hdr_vec));
	for (i = 0; i < SG_ARRAY_LEN(hdr_vec); i++) {
		ck_assert_msg(slice_is(head, m.hdr[i].name, hdr_vec[i].name),
		    "name %zu", i);
		ck_assert_msg(slice_is(head, m.hdr[i].value, hdr_vec[i].value),
		    "value %zu", i);
		ck_assert_msg(m.hdr[i].id == hdr_vec[i].id, "id of %s: %d",
		    hdr_vec[i].name, m.hdr[i].id);
		ck_assert_msg(m.hdr[i].hop == hdr_vec[i].hop, "hop of %s: %d",
		    hdr_vec[i].name, m.hdr[i].hop);
	}
	for (i = 0; i < SG_HDR__COUNT; i++)
		ck_assert_msg(m.first[i] == want_first[i], "first[%zu] %d", i,
		    m.first[i]);
	ck_assert_int_eq(m.body, SG_BODY_LENGTH);
	ck_assert_uint_eq(m.content_length, 3);
	ck_assert(m.conn_upgrade);
	ck_assert(m.expect_continue);
	ck_assert(!m.conn_close);
}
END_TEST

START_TEST(request_minimal_first)
{
	static const char head[] = "GET /_ping HTTP/1.1\r\nX-A: 1\r\n"
	    "host: d\r\n\r\n";
	struct sg_http_msg m;
	const char *why;
	size_t i;

	ck_assert_int_eq(parse_req(V(head), &m, &why), 0);
	for (i = 0; i < SG_HDR__COUNT; i++)
		ck_assert_int_eq(m.first[i],
		    i == SG_HDR_HOST ? 1 : i == SG_HDR_OTHER ? 0 : -1);
	ck_assert_int_eq(m.hdr[0].hop, false);
	ck_assert_uint_eq(m.head_len, sizeof(head) - 1);
	/* A reused message is reset. */
	ck_assert_int_eq(parse_req(V(POST "Content-Length: 1\r\n\r\n"), &m,
	    &why), 0);
	ck_assert_int_eq(parse_req(V(head), &m, &why), 0);
	ck_assert_int_eq(m.body, SG_BODY_NONE);
	ck_assert_uint_eq(m.content_length, 0);
	ck_assert_int_eq(m.first[SG_HDR_CONTENT_LENGTH], -1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* responses */

struct resp_vec {
	const char *name;
	const char *head;
	size_t len;
	bool req_head;
	int rc;
	uint16_t status;
	const char *reason;
	enum sg_body_kind body;
	uint64_t cl;
	bool close, upgrade;
	uint8_t minor;
};

#define R_OK(n, h, hd, st, rs, b, cl, c, u, mi) \
	{n, V(h), hd, 0, st, rs, b, cl, c, u, mi}
#define R_BAD(n, h) {n, V(h), false, 502, 0, NULL, 0, 0, 0, 0, 0}

static const struct resp_vec resp_vec[] = {
	R_OK("docker 101 hijack", "HTTP/1.1 101 UPGRADED\r\n"
	    "Content-Type: application/vnd.docker.raw-stream\r\n"
	    "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n", false, 101,
	    "UPGRADED", SG_BODY_NONE, 0, false, true, 1),
	R_OK("101 without Upgrade", "HTTP/1.1 101 UPGRADED\r\n"
	    "Connection: Upgrade\r\n\r\n", false, 101, "UPGRADED",
	    SG_BODY_NONE, 0, false, false, 1),
	R_OK("chunked", "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\n"
	    "Content-Type: application/json\r\nDocker-Experimental: false\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", false, 200, "OK",
	    SG_BODY_CHUNKED, 0, false, false, 1),
	R_OK("chunked upper case", "HTTP/1.1 200 OK\r\n"
	    "transfer-encoding: Chunked\r\n\r\n", false, 200, "OK",
	    SG_BODY_CHUNKED, 0, false, false, 1),
	R_OK("content-length", "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n", false, 200, "OK",
	    SG_BODY_LENGTH, 12, false, false, 1),
	R_OK("content-length 0", "HTTP/1.1 201 Created\r\n"
	    "Content-Length: 0\r\n\r\n", false, 201, "Created",
	    SG_BODY_LENGTH, 0, false, false, 1),
	R_OK("204", "HTTP/1.1 204 No Content\r\nServer: Docker/24.0.7\r\n\r\n",
	    false, 204, "No Content", SG_BODY_NONE, 0, false, false, 1),
	R_OK("204 with CL", "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n"
	    "\r\n", false, 204, "No Content", SG_BODY_NONE, 0, false, false, 1),
	R_OK("304", "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n",
	    false, 304, "Not Modified", SG_BODY_NONE, 0, false, false, 1),
	R_OK("100", "HTTP/1.1 100 Continue\r\n\r\n", false, 100, "Continue",
	    SG_BODY_NONE, 0, false, false, 1),
	R_OK("HEAD with CL", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
	    true, 200, "OK", SG_BODY_NONE, 0, false, false, 1),
	R_OK("HEAD with chunked", "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", true, 200, "OK", SG_BODY_NONE,
	    0, false, false, 1),
	R_OK("EOF delimited", "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/vnd.docker.raw-stream\r\n\r\n", false,
	    200, "OK", SG_BODY_EOF, 0, true, false, 1),
	R_OK("empty reason", "HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\n",
	    false, 200, "", SG_BODY_LENGTH, 1, false, false, 1),
	R_OK("no reason", "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n", false,
	    200, "", SG_BODY_LENGTH, 1, false, false, 1),
	R_OK("reason with tab and obs-text", "HTTP/1.1 404 Not\tFound \xe2\x9c\x97"
	    "\r\nContent-Length: 2\r\n\r\n", false, 404,
	    "Not\tFound \xe2\x9c\x97", SG_BODY_LENGTH, 2, false, false, 1),
	R_OK("HTTP/1.0 close", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n",
	    false, 200, "OK", SG_BODY_LENGTH, 2, true, false, 0),
	R_OK("HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n"
	    "Connection: Keep-Alive\r\n\r\n", false, 200, "OK", SG_BODY_LENGTH,
	    2, false, false, 0),
	R_OK("HTTP/1.0 EOF", "HTTP/1.0 500 Internal Server Error\r\n\r\n",
	    false, 500, "Internal Server Error", SG_BODY_EOF, 0, true, false,
	    0),
	R_OK("Connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\n"
	    "Content-Length: 2\r\n\r\n", false, 200, "OK", SG_BODY_LENGTH, 2,
	    true, false, 1),
	R_OK("TE and CL: chunked wins", "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n", false,
	    200, "OK", SG_BODY_CHUNKED, 0, false, false, 1),
	R_OK("duplicate equal CL", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n"
	    "Content-Length: 4\r\n\r\n", false, 200, "OK", SG_BODY_LENGTH, 4,
	    false, false, 1),
	R_OK("599", "HTTP/1.1 599 x\r\n\r\n", false, 599, "x", SG_BODY_EOF, 0,
	    true, false, 1),
	R_BAD("duplicate differing CL", "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 4\r\nContent-Length: 5\r\n\r\n"),
	R_BAD("CL list", "HTTP/1.1 200 OK\r\nContent-Length: 4, 4\r\n\r\n"),
	R_BAD("CL sign", "HTTP/1.1 200 OK\r\nContent-Length: +4\r\n\r\n"),
	R_BAD("CL overflow", "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 9223372036854775808\r\n\r\n"),
	R_BAD("TE list", "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: gzip, chunked\r\n\r\n"),
	R_BAD("TE gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
	R_BAD("TE twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"),
	R_BAD("TE in HTTP/1.0", "HTTP/1.0 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"),
	R_BAD("HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n"),
	R_BAD("HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n"),
	R_BAD("four digit status", "HTTP/1.1 2000 OK\r\n\r\n"),
	R_BAD("two digit status", "HTTP/1.1 20 OK\r\n\r\n"),
	R_BAD("status 099", "HTTP/1.1 099 x\r\n\r\n"),
	R_BAD("status 600", "HTTP/1.1 600 x\r\n\r\n"),
	R_BAD("not HTTP", "ICY 200 OK\r\n\r\n"),
	R_BAD("lower-case http", "http/1.1 200 OK\r\n\r\n"),
	R_BAD("two spaces", "HTTP/1.1  200 OK\r\n\r\n"),
	R_BAD("CTL in reason", "HTTP/1.1 200 O\x01K\r\n\r\n"),
	R_BAD("NUL in reason", "HTTP/1.1 200 O\0K\r\n\r\n"),
	R_BAD("bare LF status line", "HTTP/1.1 200 OK\nContent-Length: 0\r\n"
	    "\r\n"),
	R_BAD("bare LF field", "HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n"),
	R_BAD("bare CR field", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"),
	R_BAD("obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"),
	R_BAD("space before colon", "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding : chunked\r\n\r\n"),
	R_BAD("NUL in value", "HTTP/1.1 200 OK\r\nX: \0\r\n\r\n"),
	R_BAD("leading CRLF", "\r\nHTTP/1.1 200 OK\r\n\r\n"),
	R_BAD("incomplete", "HTTP/1.1 200 OK\r\n"),
	R_BAD("Connection names CL", "HTTP/1.1 200 OK\r\n"
	    "Connection: Content-Length\r\nContent-Length: 3\r\n\r\n"),
	R_BAD("Connection garbage", "HTTP/1.1 200 OK\r\n"
	    "Connection: a b\r\n\r\n"),
	{"101 headers", NULL, 0, false, 502, 0, NULL, 0, 0, 0, 0, 0},
};

START_TEST(response_vectors)
{
	const struct resp_vec *v = &resp_vec[_i];
	struct sg_http_msg m;
	const char *why = "unset";
	const char *head = v->head;
	size_t len = v->len;
	char *owned = NULL;
	int rc;

	if (head == NULL)
		head = owned = many_headers("HTTP/1.1 200 OK\r\n",
		    SG_HTTP_MAX_HEADERS + 1, &len);
	rc = parse_resp(head, len, v->req_head, &m, &why);
	ck_assert_msg(rc == v->rc, "%s: got %d (%s)", v->name, rc,
	    why ? why : "-");
	if (rc != 0) {
		ck_assert_ptr_nonnull(why);
		free(owned);
		return;
	}
	ck_assert_ptr_null(why);
	ck_assert_uint_eq(m.status, v->status);
	ck_assert_msg(slice_is(head, m.reason, v->reason), "%s: reason",
	    v->name);
	ck_assert_msg(m.body == v->body, "%s: body %d", v->name, m.body);
	ck_assert_uint_eq(m.content_length, v->cl);
	ck_assert_msg(m.conn_close == v->close, "%s: close", v->name);
	ck_assert_msg(m.conn_upgrade == v->upgrade, "%s: upgrade", v->name);
	ck_assert_uint_eq(m.minor, v->minor);
	ck_assert_uint_eq(m.head_len, len);
	free(owned);
}
END_TEST

START_TEST(response_hop_marking)
{
	static const char hijack[] = "HTTP/1.1 101 UPGRADED\r\n"
	    "Content-Type: application/vnd.docker.raw-stream\r\n"
	    "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
	static const char tecl[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n"
	    "Transfer-Encoding: chunked\r\nContent-Length: 10\r\n\r\n";
	static const char dup[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n"
	    "content-length: 4\r\nConnection: X-Secret\r\nX-Secret: s\r\n\r\n";
	struct sg_http_msg m;
	const char *why;

	ck_assert_int_eq(parse_resp(V(hijack), false, &m, &why), 0);
	ck_assert_uint_eq(m.nhdr, 3);
	ck_assert(!m.hdr[0].hop);
	ck_assert_int_eq(m.hdr[0].id, SG_HDR_CONTENT_TYPE);
	ck_assert(m.hdr[1].hop);
	ck_assert(m.hdr[2].hop);
	ck_assert_int_eq(m.first[SG_HDR_UPGRADE], 2);
	ck_assert(slice_is(hijack, m.hdr[2].value, "tcp"));

	ck_assert_int_eq(parse_resp(V(tecl), false, &m, &why), 0);
	ck_assert_int_eq(m.body, SG_BODY_CHUNKED);
	ck_assert(m.hdr[0].hop);
	ck_assert(!m.hdr[1].hop);
	ck_assert(m.hdr[2].hop);

	ck_assert_int_eq(parse_resp(V(dup), false, &m, &why), 0);
	ck_assert_int_eq(m.body, SG_BODY_LENGTH);
	ck_assert(!m.hdr[0].hop);
	ck_assert(m.hdr[1].hop);
	ck_assert(m.hdr[2].hop);
	ck_assert(m.hdr[3].hop);
	ck_assert_uint_eq(m.content_length, 4);
}
END_TEST

/* ------------------------------------------------------------------ */
/* sg_http_head_end */

struct end_vec {
	const char *name;
	const char *buf;
	size_t len;
	int want; /* after feeding everything at once */
};

static const struct end_vec end_vec[] = {
	{"request", V(GET "\r\n"), (int)sizeof(GET "\r\n") - 1},
	{"with body after", V(POST "Content-Length: 4\r\n\r\nbody"),
	    (int)sizeof(POST "Content-Length: 4\r\n\r\n") - 1},
	{"pipelined", V(GET "\r\n" GET "\r\n"), (int)sizeof(GET "\r\n") - 1},
	{"response", V("HTTP/1.1 204 No Content\r\n\r\n"), 27},
	{"incomplete", V(GET), 0},
	{"ends in CR", V(GET "\r"), 0},
	{"ends in CRLFCR", V("GET / HTTP/1.1\r\n\r"), 0},
	{"empty", V(""), 0},
	{"bare LF", V("GET / HTTP/1.1\n\n"), -400},
	{"bare LF in field", V(GET "X: a\nb\r\n\r\n"), -400},
	{"LF LF", V(GET "\n\r\n"), -400},
	{"bare CR", V("GET /\rx HTTP/1.1\r\n\r\n"), -400},
	{"CR CR LF", V(GET "\r\r\n"), -400},
	{"NUL", V("GET /\0 HTTP/1.1\r\n\r\n"), -400},
	{"NUL in field", V(GET "X: \0\r\n\r\n"), -400},
	{"leading CRLF", V("\r\n" GET "\r\n"), -400},
	{"leading CR only", V("\r"), -400},
	{"leading LF", V("\n" GET "\r\n"), -400},
	{"obs-text is fine here", V(GET "X: \xff\r\n\r\n"),
	    (int)sizeof(GET "X: \xff\r\n\r\n") - 1},
};

START_TEST(head_end_vectors)
{
	const struct end_vec *v = &end_vec[_i];
	char *p = dup_exact(v->buf, v->len);
	size_t scan = 0, n, first_scan = 0;
	int rc = 0, got;

	/* all at once */
	got = sg_http_head_end(p, v->len, &scan);
	ck_assert_msg(got == v->want, "%s: %d", v->name, got);

	/* byte by byte: same answer, at the same byte */
	scan = 0;
	for (n = 0; n <= v->len; n++) {
		rc = sg_http_head_end(p, n, &scan);
		ck_assert_uint_le(scan, n);
		if (rc != 0)
			break;
		/* the stored position only ever advances */
		ck_assert_uint_ge(scan, first_scan);
		first_scan = scan;
	}
	ck_assert_msg(rc == v->want, "%s: byte by byte %d", v->name, rc);
	if (v->want > 0)
		ck_assert_uint_eq(n, (size_t)v->want);
	free(p);
}
END_TEST

START_TEST(head_end_resumes)
{
	static const char head[] = GET "X-A: b\r\n\r\n";
	size_t scan = 0;

	/* stops before a trailing CR, then resumes there */
	ck_assert_int_eq(sg_http_head_end(head, 15, &scan), 0);
	ck_assert_uint_eq(scan, 14);
	ck_assert_int_eq(sg_http_head_end(head, 16, &scan), 0);
	ck_assert_uint_eq(scan, 16);
	/* resumes past bytes already seen */
	ck_assert_int_eq(sg_http_head_end(head, sizeof(head) - 2, &scan), 0);
	ck_assert_uint_eq(scan, sizeof(head) - 3);
	ck_assert_int_eq(sg_http_head_end(head, sizeof(head) - 1, &scan),
	    (int)sizeof(head) - 1);
	/* a CR that waited, then got a non-LF */
	scan = 0;
	ck_assert_int_eq(sg_http_head_end("GET\r", 4, &scan), 0);
	ck_assert_int_eq(sg_http_head_end("GET\rX", 5, &scan), -400);
	ck_assert_uint_eq(scan, 3);
}
END_TEST

/* What sg_http_head_end must answer, one byte at a time. */
static int
end_oracle(const unsigned char *p, size_t len, size_t *scan)
{
	size_t i;

	for (i = *scan; i < len; i++) {
		if (p[i] == '\0' || (p[i] == '\r' && i == 0) ||
		    (p[i] == '\r' && i + 1 < len && p[i + 1] != '\n') ||
		    (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))) {
			*scan = i;
			return -400;
		}
		if (p[i] == '\r' && i + 1 == len) {
			*scan = i;
			return 0;
		}
		if (p[i] == '\n' && i >= 3 && p[i - 2] == '\n' &&
		    p[i - 3] == '\r') {
			*scan = i + 1;
			return (int)(i + 1);
		}
	}
	*scan = i;
	return 0;
}

/*
 * Random heads made of plain bytes, line ends, stray CR / LF / NUL and
 * obs-text, at every length up to 100, whole and fed in two parts: the
 * word-at-a-time scan gives the oracle's answer and position.
 */
START_TEST(head_end_matches_a_bytewise_scan)
{
	static const char *const parts[] = {"abcdefgh", "Host: x", "\r\n",
	    "\r\n\r\n", "\r", "\n", "\0", "\xff\x80", "0123456789abcdefg"};
	static const size_t plain[] = {0, 1, 8}; /* parts without framing */
	unsigned char b[128];
	uint32_t rnd = 2463534242u;
	size_t len, cut, s1, s2, k;
	int iter, r1, r2;

	for (iter = 0; iter < 200000; iter++) {
		size_t want = (size_t)iter % 101;

		for (len = 0; len < want;) {
			const char *pt;
			size_t pl;

			rnd ^= rnd << 13;
			rnd ^= rnd >> 17;
			rnd ^= rnd << 5;
			/* plain runs most of the time, framing bytes less */
			k = rnd % 16 < 10 ? plain[(rnd >> 8) % 3] :
			    2 + (rnd >> 8) % 6;
			pt = parts[k];
			pl = pt[0] == '\0' ? 1 : strlen(pt);
			if (pl > want - len)
				pl = want - len;
			memcpy(b + len, pt, pl);
			len += pl;
		}
		/* an assertion costs Check a message to the parent: only
		 * when something is wrong */
		s1 = s2 = 0;
		r1 = sg_http_head_end((const char *)b, len, &s1);
		r2 = end_oracle(b, len, &s2);
		if (r1 != r2 || s1 != s2)
			ck_abort_msg("iter %d len %zu: got %d at %zu, want %d "
			    "at %zu", iter, len, r1, s1, r2, s2);
		cut = len > 0 ? (rnd >> 4) % len : 0;
		s1 = s2 = 0;
		r1 = sg_http_head_end((const char *)b, cut, &s1);
		r2 = end_oracle(b, cut, &s2);
		if (r1 != r2)
			ck_abort_msg("iter %d cut %zu: got %d, want %d", iter,
			    cut, r1, r2);
		if (r1 == 0) {
			r1 = sg_http_head_end((const char *)b, len, &s1);
			r2 = end_oracle(b, len, &s2);
		}
		if (r1 != r2 || s1 != s2)
			ck_abort_msg("iter %d len %zu cut %zu: got %d at %zu, "
			    "want %d at %zu", iter, len, cut, r1, s1, r2, s2);
	}
}
END_TEST

START_TEST(head_then_parse)
{
	static const char in[] = "POST /v1.41/exec/abc/start HTTP/1.1\r\n"
	    "Host: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
	    "Content-Type: application/json\r\nContent-Length: 27\r\n\r\n"
	    "{\"Detach\":false,\"Tty\":true}";
	struct sg_http_msg m;
	const char *why;
	size_t scan = 0;
	int end;

	end = sg_http_head_end(in, sizeof(in) - 1, &scan);
	ck_assert_int_eq(end, (int)sizeof(in) - 1 - 27);
	ck_assert_int_eq(sg_http_parse_request(in, (size_t)end, &m, &why), 0);
	ck_assert_int_eq(m.body, SG_BODY_LENGTH);
	ck_assert_uint_eq(m.content_length, 27);
	ck_assert(m.conn_upgrade);
	ck_assert(m.hdr[1].hop && m.hdr[2].hop);
	ck_assert(!m.hdr[3].hop && !m.hdr[4].hop);
	ck_assert_uint_eq(m.head_len + m.content_length, sizeof(in) - 1);
}
END_TEST

START_TEST(slice_ieq)
{
	static const char b[] = "Content-LENGTH:chunkeD\xc3";
	struct sg_slice s = {0, 14}, t = {15, 7}, u = {15, 8};

	ck_assert(sg_http_slice_ieq(b, s, "content-length"));
	ck_assert(sg_http_slice_ieq(b, s, "CONTENT-LENGTH"));
	ck_assert(!sg_http_slice_ieq(b, s, "content-lengt"));
	ck_assert(!sg_http_slice_ieq(b, s, "content-length:"));
	ck_assert(sg_http_slice_ieq(b, t, "chunked"));
	ck_assert(!sg_http_slice_ieq(b, t, "chunkec"));
	ck_assert(!sg_http_slice_ieq(b, u, "chunked\xe3"));
	ck_assert(sg_http_slice_ieq(b, (struct sg_slice){3, 0}, ""));
	/* ASCII only: '@' and '`' are not 'A'/'a' neighbours in disguise */
	ck_assert(!sg_http_slice_ieq("@", (struct sg_slice){0, 1}, "`"));
	ck_assert(!sg_http_slice_ieq("[", (struct sg_slice){0, 1}, "{"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* chunked bodies */

struct chunk_ok {
	const char *body;
	size_t len;
};

static const struct chunk_ok chunk_ok[] = {
	{V("0\r\n\r\n")},
	{V("5\r\nhello\r\n0\r\n\r\n")},
	{V("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")},
	{V("A\r\n0123456789\r\na\r\n0123456789\r\n00\r\n\r\n")},
	{V("5;name=value\r\nhello\r\n0;last\r\n\r\n")},
	{V("5; a=1 ;b=\"x y\"\t\r\nhello\r\n0;z \r\n\r\n")},
	{V("5;ext=\xc3\xa9\tx\r\nhello\r\n0\r\n\r\n")},
	{V("3\r\nabc\r\n4\r\ndefg\r\n0\r\nTrailer-A: v\r\nB:\r\n"
	    "X-Sum: sha256 \xff\t!\r\n\r\n")},
	{V("0000000000000003\r\nabc\r\n0\r\n\r\n")},
	{V("4\r\n\r\n\0\n\r\n0\r\n\r\n")},
	{V("2\r\n\r\n\r\n1\r\n0\r\n0\r\n\r\n")},
	{V("1\r\n\x80\r\n0\r\nx:y\r\n\r\n")},
};

/*
 * Feeds s[0..n) in pieces of at most step bytes (0: whole), split at cut
 * as well (0: no cut); each piece in a buffer of exactly its size.
 * Returns the status; *end is where the body ended (or the error was).
 */
static int
chunk_run(const char *s, size_t n, size_t step, size_t cut, size_t *end,
    bool *done)
{
	struct sg_chunked c;
	size_t off = 0, len, used;
	const char *why;
	char *piece;
	int rc;

	sg_chunked_init(&c);
	*done = false;
	while (off < n && !*done) {
		len = n - off;
		if (step != 0 && len > step)
			len = step;
		if (cut != 0 && off < cut && off + len > cut)
			len = cut - off;
		piece = dup_exact(s + off, len);
		used = (size_t)-1;
		why = "unset";
		rc = sg_chunked_scan(&c, piece, len, &used, done, &why);
		free(piece);
		ck_assert_uint_le(used, len);
		if (rc != 0) {
			ck_assert_ptr_nonnull(why);
			ck_assert(!*done);
			*end = off + used;
			return rc;
		}
		ck_assert_ptr_null(why);
		if (!*done)
			ck_assert_uint_eq(used, len);
		off += used;
	}
	*end = off;
	return 0;
}

START_TEST(chunked_valid)
{
	static const char next[] = "GET / HTTP/1.1\r\n";
	const struct chunk_ok *v = &chunk_ok[_i];
	size_t n = v->len + sizeof(next) - 1, end, k;
	char *s = malloc(n);
	bool done;

	memcpy(s, v->body, v->len);
	memcpy(s + v->len, next, sizeof(next) - 1);

	/* whole, with a pipelined request behind it */
	ck_assert_int_eq(chunk_run(s, n, 0, 0, &end, &done), 0);
	ck_assert_msg(done, "vector %d not done", _i);
	ck_assert_uint_eq(end, v->len);
	/* exactly the body */
	ck_assert_int_eq(chunk_run(s, v->len, 0, 0, &end, &done), 0);
	ck_assert(done);
	ck_assert_uint_eq(end, v->len);
	/* one byte at a time */
	ck_assert_int_eq(chunk_run(s, n, 1, 0, &end, &done), 0);
	ck_assert(done);
	ck_assert_uint_eq(end, v->len);
	/* every split point */
	for (k = 1; k < n; k++) {
		ck_assert_int_eq(chunk_run(s, n, 0, k, &end, &done), 0);
		ck_assert(done);
		ck_assert_uint_eq(end, v->len);
	}
	/* any prefix is fine but not done */
	for (k = 0; k < v->len; k++) {
		ck_assert_int_eq(chunk_run(s, k, 0, 0, &end, &done), 0);
		ck_assert(!done);
		ck_assert_uint_eq(end, k);
	}
	free(s);
}
END_TEST

struct chunk_bad {
	const char *name;
	const char *body;
	size_t len;
	size_t at; /* offset of the offending byte */
};

static const struct chunk_bad chunk_bad[] = {
	{"no digits", V("\r\n0\r\n\r\n"), 0},
	{"extension without size", V(";x\r\n0\r\n\r\n"), 0},
	{"non-hex size", V("g\r\n"), 0},
	{"size then junk", V("5x\r\nhello\r\n0\r\n\r\n"), 1},
	{"minus", V("-1\r\n"), 0},
	{"plus", V("+1\r\n"), 0},
	{"0x prefix", V("0x5\r\nhello\r\n0\r\n\r\n"), 1},
	{"leading space", V(" 5\r\nhello\r\n0\r\n\r\n"), 0},
	{"BWS without extension", V("5 \r\nhello\r\n0\r\n\r\n"), 1},
	/* RFC 9112 allows BWS before ';'; Go's reader (the daemon's) not */
	{"space before extension", V("5 ;a=1\r\nhello\r\n0\r\n\r\n"), 1},
	{"tab before extension", V("5\r\nhello\r\n0\t;z\r\n\r\n"), 11},
	{"17 digits", V("10000000000000000\r\n"), 16},
	{"17 digits leading zeros", V("00000000000000001\r\n"), 16},
	{"2^63", V("8000000000000000\r\n"), 15},
	{"2^64-1", V("ffffffffffffffff\r\n"), 15},
	{"bare LF after size", V("5\nhello\r\n0\r\n\r\n"), 1},
	{"bare CR after size", V("5\rhello\r\n0\r\n\r\n"), 2},
	{"bare LF after extension", V("5;a\nhello\r\n0\r\n\r\n"), 3},
	{"CTL in extension", V("5;a\x01" "b\r\nhello\r\n0\r\n\r\n"), 3},
	{"NUL in extension", V("5;a\0\r\nhello\r\n0\r\n\r\n"), 3},
	{"DEL in extension", V("5;\x7f\r\nhello\r\n0\r\n\r\n"), 2},
	{"missing CRLF after data", V("5\r\nhello0\r\n\r\n"), 8},
	{"data longer than size", V("5\r\nhello!\r\n0\r\n\r\n"), 8},
	{"data shorter than size", V("5\r\nhell\r\n0\r\n\r\n"), 8},
	{"bare LF after data", V("5\r\nhello\n0\r\n\r\n"), 8},
	{"bare CR after data", V("5\r\nhello\r0\r\n\r\n"), 9},
	{"LF CR after data", V("5\r\nhello\n\r0\r\n\r\n"), 8},
	{"bare LF as last line", V("0\r\n\n"), 3},
	{"bare CR as last line", V("0\r\n\rx"), 4},
	{"last chunk bare LF", V("0\n\r\n"), 1},
	{"trailer without colon", V("0\r\nX\r\n\r\n"), 4},
	{"trailer empty name", V("0\r\n: v\r\n\r\n"), 3},
	{"trailer space before colon", V("0\r\nX : v\r\n\r\n"), 4},
	{"trailer obs-fold", V("0\r\nX: a\r\n b\r\n\r\n"), 9},
	{"trailer leading space", V("0\r\n X: a\r\n\r\n"), 3},
	{"trailer CTL", V("0\r\nX: a\x01\r\n\r\n"), 7},
	{"trailer NUL", V("0\r\nX: \0\r\n\r\n"), 6},
	{"trailer bare LF", V("0\r\nX: a\nY: b\r\n\r\n"), 7},
	{"trailer bare CR", V("0\r\nX: a\rY: b\r\n\r\n"), 8},
	/* the size line with its CRLF stays under 4096 bytes, as in Go */
	{"extension too long", NULL, 0, 4093},
	{"trailers too large", NULL, 0, 3 + 4096},
};

START_TEST(chunked_invalid)
{
	const struct chunk_bad *v = &chunk_bad[_i];
	const char *s = v->body;
	size_t n = v->len, end, i;
	char *owned = NULL;
	bool done;

	if (s == NULL && strstr(v->name, "extension")) {
		/* "5;" then 4091 ext bytes is fine (4095 with the CRLF),
		 * the 4092nd is not */
		n = 1 + 4097 + 2;
		s = owned = malloc(n);
		owned[0] = '5';
		owned[1] = ';';
		memset(owned + 2, 'e', 4096);
		memcpy(owned + 1 + 4097, "\r\n", 2);
	} else if (s == NULL) {
		/* 0 CRLF, then trailer lines until over 4 KiB */
		n = 3 + 4096 + 64;
		s = owned = malloc(n);
		memcpy(owned, "0\r\n", 3);
		for (i = 3; i + 8 <= n; i += 8)
			memcpy(owned + i, "X-T: v\r\n", 8);
		memset(owned + i, 'x', n - i);
	}
	ck_assert_msg(chunk_run(s, n, 0, 0, &end, &done) == 400, "%s",
	    v->name);
	ck_assert_msg(end == v->at, "%s: at %zu", v->name, end);
	ck_assert_msg(chunk_run(s, n, 1, 0, &end, &done) == 400,
	    "%s: byte by byte", v->name);
	ck_assert_msg(end == v->at, "%s: byte by byte at %zu", v->name, end);
	free(owned);
}
END_TEST

START_TEST(chunked_limits_ok)
{
	/* a 4095-byte size line and 4 KiB of trailers are still fine */
	size_t n = 4095 + 5 + 2 + 5, end, i, t;
	char *s = malloc(n);
	bool done;

	s[0] = '5';
	s[1] = ';';
	memset(s + 2, 'e', 4091);
	memcpy(s + 4093, "\r\nhello\r\n0\r\n\r\n", 14);
	ck_assert_int_eq(chunk_run(s, n, 0, 0, &end, &done), 0);
	ck_assert(done);
	ck_assert_uint_eq(end, n);
	free(s);

	t = 4096;
	n = 3 + t;
	s = malloc(n);
	memcpy(s, "0\r\n", 3);
	for (i = 3; i + 8 <= n - 2; i += 8)
		memcpy(s + i, "X-T: v\r\n", 8);
	/* pad the last line so the section is exactly t bytes */
	memcpy(s + i, "X:", 2);
	memset(s + i + 2, 'v', n - 4 - i - 2);
	memcpy(s + n - 4, "\r\n\r\n", 4);
	ck_assert_int_eq(chunk_run(s, n, 0, 0, &end, &done), 0);
	ck_assert(done);
	ck_assert_uint_eq(end, n);
	free(s);
}
END_TEST

/*
 * Builds k chunks of d data bytes, each size line carrying e extension
 * bytes, then the last chunk; *each is the bytes one chunk takes.
 */
static char *
chunk_series(size_t k, size_t d, size_t e, size_t *n, size_t *each)
{
	char sz[24], *s, *p;
	size_t i, zl = (size_t)snprintf(sz, sizeof(sz), "%zx", d);

	*each = zl + 1 + e + 2 + d + 2;
	*n = k * *each + 5;
	s = p = malloc(*n);
	for (i = 0; i < k; i++) {
		memcpy(p, sz, zl);
		p += zl;
		*p++ = ';';
		memset(p, 'e', e);
		p += e;
		memcpy(p, "\r\n", 2);
		p += 2;
		memset(p, 'd', d);
		p += d;
		memcpy(p, "\r\n", 2);
		p += 2;
	}
	memcpy(p, "0\r\n\r\n", 5);
	return s;
}

/*
 * Framing beyond 16 bytes per chunk plus twice its data may add up to
 * 16 KiB (Go's rule): 1-byte chunks with 100-byte extensions leave 88
 * bytes each over, so 186 chunks pass and the size line of the 187th is
 * refused at its LF. Plain 1-byte chunks, and long extensions on large
 * chunks, never add up.
 */
START_TEST(chunked_framing_allowance)
{
	size_t n, each, end;
	bool done;
	char *s;

	s = chunk_series(186, 1, 100, &n, &each);
	ck_assert_int_eq(chunk_run(s, n, 0, 0, &end, &done), 0);
	ck_assert(done);
	ck_assert_uint_eq(end, n);
	free(s);

	s = chunk_series(187, 1, 100, &n, &each);
	ck_assert_int_eq(chunk_run(s, n, 0, 0, &end, &done), 400);
	ck_assert_uint_eq(end, 186 * each + 1 + 1 + 100 + 1);
	ck_assert_int_eq(chunk_run(s, n, 7, 0, &end, &done), 400);
	ck_assert_uint_eq(end, 186 * each + 1 + 1 + 100 + 1);
	free(s);

	s = chunk_series(20000, 1, 0, &n, &each);
	ck_assert_int_eq(chunk_run(s, n, 0, 0, &end, &done), 0);
	ck_assert(done);
	free(s);

	s = chunk_series(64, 2048, 4000, &n, &each);
	ck_assert_int_eq(chunk_run(s, n, 0, 0, &end, &done), 0);
	ck_assert(done);
	free(s);
}
END_TEST

START_TEST(chunked_big_chunk_one_step)
{
	/* a 1 MiB chunk is consumed in one call, and the largest size
	 * parses */
	size_t data = 1 << 20, used;
	char *s = malloc(8 + data + 7);
	struct sg_chunked c;
	const char *why;
	bool done;

	memcpy(s, "100000\r\n", 8);
	memset(s + 8, 'd', data);
	memcpy(s + 8 + data, "\r\n0\r\n\r\n", 7);
	sg_chunked_init(&c);
	ck_assert_int_eq(sg_chunked_scan(&c, s, 8 + data - 1, &used, &done,
	    &why), 0);
	ck_assert_uint_eq(used, 8 + data - 1);
	ck_assert_uint_eq(c.left, 1);
	ck_assert_int_eq(sg_chunked_scan(&c, s + 8 + data - 1, 8, &used, &done,
	    &why), 0);
	ck_assert(done);
	ck_assert_uint_eq(used, 8);
	/* after done: nothing more belongs to the body */
	ck_assert_int_eq(sg_chunked_scan(&c, "GET", 3, &used, &done, &why), 0);
	ck_assert(done);
	ck_assert_uint_eq(used, 0);
	free(s);

	sg_chunked_init(&c);
	ck_assert_int_eq(sg_chunked_scan(&c, "7fffffffffffffff;x\r\n", 20, &used,
	    &done, &why), 0);
	ck_assert(!done);
	ck_assert_uint_eq(used, 20);
	ck_assert_uint_eq(c.left, 0x7fffffffffffffffULL);
	sg_chunked_init(&c);
	ck_assert_int_eq(sg_chunked_scan(&c, "7FFFFFFFFFFFFFFF\r\n", 18, &used,
	    &done, &why), 0);
	ck_assert_uint_eq(c.left, 0x7fffffffffffffffULL);
}
END_TEST

START_TEST(chunked_skip_data)
{
	/* data moved unseen (spliced) is accounted for by skip; framing
	 * after it is still checked */
	struct sg_chunked c;
	const char *why;
	size_t used;
	bool done;

	sg_chunked_init(&c);
	ck_assert_uint_eq(sg_chunked_data_left(&c), 0);
	ck_assert_int_eq(sg_chunked_scan(&c, "a;x=1\r\nab", 9, &used, &done,
	    &why), 0);
	ck_assert_uint_eq(sg_chunked_data_left(&c), 8);
	sg_chunked_skip(&c, 9); /* more than owed: refused, nothing changes */
	ck_assert_uint_eq(sg_chunked_data_left(&c), 8);
	sg_chunked_skip(&c, 5);
	ck_assert_uint_eq(sg_chunked_data_left(&c), 3);
	sg_chunked_skip(&c, 3);
	ck_assert_uint_eq(sg_chunked_data_left(&c), 0);
	/* the CRLF after the data is still required */
	ck_assert_int_eq(sg_chunked_scan(&c, "x\r\n", 3, &used, &done, &why),
	    400);
	sg_chunked_init(&c);
	ck_assert_int_eq(sg_chunked_scan(&c, "4\r\n", 3, &used, &done, &why),
	    0);
	sg_chunked_skip(&c, 4);
	ck_assert_int_eq(sg_chunked_scan(&c, "\r\n0\r\n\r\n", 7, &used,
	    &done, &why), 0);
	ck_assert(done);
	ck_assert_uint_eq(used, 7);
	/* outside data, skip does nothing */
	sg_chunked_skip(&c, 1);
	ck_assert_uint_eq(sg_chunked_data_left(&c), 0);
}
END_TEST

/* Host values a plain TCP listener answers (addresses, localhost) */
struct host_case {
	const char *v;
	bool local;
};

static const struct host_case host_cases[] = {
	{"", true},
	{"127.0.0.1", true},
	{"127.0.0.1:2375", true},
	{"10.1.2.3:65535", true},
	{"[::1]", true},
	{"[::1]:2375", true},
	{"[fe80::1]:1", true},
	{"localhost", true},
	{"LOCALHOST:2375", true},
	{"localhost.:2375", true},
	{"api.localhost:2375", true},
	{"docker", false},
	{"d", false},
	{"evil.example", false},
	{"evil.example:2375", false},
	{"127.0.0.1.nip.io:2375", false},
	{"localhost.evil.example", false},
	{"evillocalhost", false},
	{".localhost", false},
	{"127.1:2375", false},
	{"127.0.0.1:", false},
	{"127.0.0.1:123456", false},
	{"127.0.0.1:80x", false},
	{"127.0.0.1:2375:1", false},
	{"[::1", false},
	{"[::1]x", false},
	{"[::1]:", false},
	{"[evil.example]", false},
	{"::1", false},
	{":2375", false},
	{".", false},
};

START_TEST(host_is_local)
{
	const struct host_case *c = &host_cases[_i];
	size_t n = strlen(c->v);
	char *v = malloc(n + 1); /* exact size: overreads show under ASan */

	ck_assert_ptr_nonnull(v);
	memcpy(v, c->v, n);
	if (sg_http_host_is_local(v, n) != c->local)
		ck_abort_msg("Host \"%s\": expected %s", c->v,
		    c->local ? "local" : "refused");
	free(v);
}
END_TEST

Suite *
suite_http(void)
{
	Suite *s = suite_create("http");
	TCase *tc;

	tc = tcase_create("request");
	tcase_add_loop_test(tc, request_refused, 0, SG_ARRAY_LEN(req_bad));
	tcase_add_loop_test(tc, request_accepted, 0, SG_ARRAY_LEN(req_ok));
	tcase_add_test(tc, request_headers_marked);
	tcase_add_test(tc, connection_names_up_to_64);
	tcase_add_loop_test(tc, host_is_local, 0, SG_ARRAY_LEN(host_cases));
	tcase_add_test(tc, request_minimal_first);
	suite_add_tcase(s, tc);

	tc = tcase_create("response");
	tcase_add_loop_test(tc, response_vectors, 0, SG_ARRAY_LEN(resp_vec));
	tcase_add_test(tc, response_hop_marking);
	suite_add_tcase(s, tc);

	tc = tcase_create("head_end");
	tcase_add_loop_test(tc, head_end_vectors, 0, SG_ARRAY_LEN(end_vec));
	tcase_add_test(tc, head_end_resumes);
	tcase_add_test(tc, head_end_matches_a_bytewise_scan);
	tcase_add_test(tc, head_then_parse);
	tcase_add_test(tc, slice_ieq);
	suite_add_tcase(s, tc);

	tc = tcase_create("chunked");
	tcase_add_loop_test(tc, chunked_valid, 0, SG_ARRAY_LEN(chunk_ok));
	tcase_add_loop_test(tc, chunked_invalid, 0, SG_ARRAY_LEN(chunk_bad));
	tcase_add_test(tc, chunked_limits_ok);
	tcase_add_test(tc, chunked_framing_allowance);
	tcase_add_test(tc, chunked_big_chunk_one_step);
	tcase_add_test(tc, chunked_skip_data);
	suite_add_tcase(s, tc);
	return s;
}
