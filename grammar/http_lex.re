/* SPDX-License-Identifier: MIT */
/*
 * http_lex.re: the HTTP/1.1 head lexer (RFC 9112 line syntax), re2c with
 * conditions. Owns the byte-level grammar of start lines and field lines
 * and the recognition of the header names the proxy understands. It does
 * not decide what a line means (versions, targets, duplicates, framing):
 * that is http.c.
 *
 * The caller hands over a complete head that ends with CRLF CRLF (http.c
 * checks that first). Every rule ends at a LF and none looks past one, so
 * the lexer never reads beyond the head even when the byte after it is
 * not a NUL sentinel; the eof rule is still there as a bounds check.
 * One call returns one line; tags give the slices.
 */
#include <stddef.h>

/*!include:re2c "../src/http_lex.h" */

#include "sockguard/http.h"

/*!conditions:re2c*/

static int http_lex_scan(struct sg_http_lexer *lx);
static struct sg_slice http_lex_slice(const struct sg_http_lexer *lx,
    const unsigned char *a, const unsigned char *b);

void
sg_http_lex_init(struct sg_http_lexer *lx, const char *buf, size_t len,
    bool response)
{
	lx->base = (const unsigned char *)buf;
	lx->cur = lx->base;
	lx->mar = lx->base;
	lx->lim = lx->base + len;
	lx->cond = response ? yycstatline : yycreqline;
	lx->tok.off = lx->tok.len = 0;
	lx->s0 = lx->s1 = lx->tok;
	lx->major = lx->minor = 0;
	lx->status = 0;
}

int
sg_http_lex_next(struct sg_http_lexer *lx)
{
	const unsigned char *start = lx->cur;
	int t;

	t = http_lex_scan(lx);
	if (t == SG_HL_NAME) {
		/* the value, in the <fvalue> condition the name rule set */
		t = http_lex_scan(lx) == SG_HL_VALUE ? SG_HL_FIELD : SG_HL_BAD;
		lx->cond = yycfield;
	}
	lx->tok = http_lex_slice(lx, start, lx->cur);
	return t;
}

/*
 * Returns a token. A field line takes two: SG_HL_NAME (the name and its
 * ':', with lx->hid set) and then, in the <fvalue> condition, SG_HL_VALUE;
 * so the name is read once and recognised on the way.
 */
static int
http_lex_scan(struct sg_http_lexer *lx)
{
	/* the cursor in locals: stores through lx could alias it */
	const unsigned char *cur = lx->cur, *mar = lx->mar;
	const unsigned char *const lim = lx->lim;
	const unsigned char *a, *b, *c, *d, *e, *s;
	int t;
	/*!stags:re2c format = 'const unsigned char *@@;\n'; */

#define HL_RET(tok) do { t = (tok); goto done; } while (0)
/* a field name: the bytes before the ':' just read */
#define HL_NAME(id) do { \
	lx->s0 = http_lex_slice(lx, lx->cur, cur - 1); \
	lx->hid = (uint8_t)(id); \
	HL_RET(SG_HL_NAME); \
} while (0)

/*!re2c
	re2c:api:style = free-form;
	re2c:define:YYCTYPE = "unsigned char";
	re2c:define:YYCURSOR = "cur";
	re2c:define:YYMARKER = "mar";
	re2c:define:YYLIMIT = "lim";
	re2c:define:YYGETCONDITION = "lx->cond";
	re2c:define:YYSETCONDITION = "lx->cond = @@;";
	re2c:yyfill:enable = 0;
	re2c:eof = 0;
	re2c:tags = 1;

	crlf   = "\r\n";
	digit  = [0-9];
	tchar  = [!#$%&'*+.^_`|~0-9A-Za-z-];
	vchar  = [\x21-\x7e];
	fvchar = [\x21-\x7e\x80-\xff];
	ows    = [ \t]*;
	reason = [\t \x21-\x7e\x80-\xff];

	<reqline> @a tchar+ @b " " @c vchar+ @d " HTTP/" @e digit "." digit crlf
	    => field {
		lx->s0 = http_lex_slice(lx, a, b);
		lx->s1 = http_lex_slice(lx, c, d);
		lx->major = (uint8_t)(e[0] - '0');
		lx->minor = (uint8_t)(e[2] - '0');
		HL_RET(SG_HL_REQLINE);
	}
	<reqline> tchar+ " " vchar+ crlf { HL_RET(SG_HL_HTTP09); }
	<reqline> crlf { HL_RET(SG_HL_EMPTY); }

	<statline> "HTTP/" @e digit "." digit " " @s digit{3} @c crlf => field {
		lx->major = (uint8_t)(e[0] - '0');
		lx->minor = (uint8_t)(e[2] - '0');
		lx->status = (uint16_t)((s[0] - '0') * 100 + (s[1] - '0') * 10 +
		    (s[2] - '0'));
		lx->s0 = http_lex_slice(lx, c, c);
		HL_RET(SG_HL_STATUS);
	}
	<statline> "HTTP/" @e digit "." digit " " @s digit{3} " " @c reason* @d
	    crlf => field {
		lx->major = (uint8_t)(e[0] - '0');
		lx->minor = (uint8_t)(e[2] - '0');
		lx->status = (uint16_t)((s[0] - '0') * 100 + (s[1] - '0') * 10 +
		    (s[2] - '0'));
		lx->s0 = http_lex_slice(lx, c, d);
		HL_RET(SG_HL_STATUS);
	}

	<field> crlf { HL_RET(SG_HL_EOH); }
	<field> [ \t] { HL_RET(SG_HL_FOLD); }
	<field> tchar+ [ \t]+ ":" { HL_RET(SG_HL_WSCOLON); }
	<field> 'content-length' ":" => fvalue { HL_NAME(SG_HDR_CONTENT_LENGTH); }
	<field> 'transfer-encoding' ":" => fvalue {
		HL_NAME(SG_HDR_TRANSFER_ENCODING);
	}
	<field> 'connection' ":" => fvalue { HL_NAME(SG_HDR_CONNECTION); }
	<field> 'upgrade' ":" => fvalue { HL_NAME(SG_HDR_UPGRADE); }
	<field> 'host' ":" => fvalue { HL_NAME(SG_HDR_HOST); }
	<field> 'keep-alive' ":" => fvalue { HL_NAME(SG_HDR_KEEP_ALIVE); }
	<field> 'proxy-' tchar* ":" => fvalue { HL_NAME(SG_HDR_PROXY); }
	<field> 'te' ":" => fvalue { HL_NAME(SG_HDR_TE); }
	<field> 'trailer' ":" => fvalue { HL_NAME(SG_HDR_TRAILER); }
	<field> 'expect' ":" => fvalue { HL_NAME(SG_HDR_EXPECT); }
	<field> 'x-request-id' ":" => fvalue { HL_NAME(SG_HDR_X_REQUEST_ID); }
	<field> 'traceparent' ":" => fvalue { HL_NAME(SG_HDR_TRACEPARENT); }
	<field> 'tracestate' ":" => fvalue { HL_NAME(SG_HDR_TRACESTATE); }
	<field> 'forwarded' ":" => fvalue { HL_NAME(SG_HDR_FORWARDED); }
	<field> 'x-forwarded-' tchar* ":" => fvalue {
		HL_NAME(SG_HDR_FORWARDED);
	}
	<field> 'content-type' ":" => fvalue { HL_NAME(SG_HDR_CONTENT_TYPE); }
	<field> 'origin' ":" => fvalue { HL_NAME(SG_HDR_ORIGIN); }
	<field> 'sec-fetch-' tchar* ":" => fvalue { HL_NAME(SG_HDR_SEC_FETCH); }
	<field> tchar+ ":" => fvalue { HL_NAME(SG_HDR_OTHER); }

	<fvalue> ows @c fvchar ([ \t]* fvchar)* @d ows crlf {
		lx->s1 = http_lex_slice(lx, c, d);
		HL_RET(SG_HL_VALUE);
	}
	<fvalue> ows @c crlf {
		lx->s1 = http_lex_slice(lx, c, c);
		HL_RET(SG_HL_VALUE);
	}

	<*> $ { HL_RET(SG_HL_END); }
	<*> * { HL_RET(SG_HL_BAD); }
*/
#undef HL_NAME
#undef HL_RET
done:
	lx->cur = cur;
	lx->mar = mar;
	return t;
}

static struct sg_slice
http_lex_slice(const struct sg_http_lexer *lx, const unsigned char *a,
    const unsigned char *b)
{
	struct sg_slice s;

	s.off = (uint32_t)(a - lx->base);
	s.len = (uint32_t)(b - a);
	return s;
}
