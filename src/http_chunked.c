/* SPDX-License-Identifier: MIT */
/*
 * http_chunked.c: the chunked transfer coding validator (RFC 9112 7.1).
 * Owns the framing state of one chunked body: sizes, extensions, data
 * lengths, trailers and where the body ends. Resumable at every byte.
 * Does not own or copy the bytes (the caller relays them verbatim) and
 * does not interpret extensions or trailer fields.
 */
#include <string.h>

#include "sockguard/http.h"

/*
 * The limits are Go's (net/http/internal/chunked.go, the daemon's and the
 * docker CLI's parser), so that a body passed on is one the other side
 * reads: a size line shorter than 4096 bytes with its CRLF, a trailer
 * section of at most 4096 bytes with its final CRLF, and at most 16 KiB
 * of framing beyond 16 bytes per chunk plus twice the chunk's data.
 */
#define CHUNKED_MAX_DIGITS 16
#define CHUNKED_MAX_LINE 4095        /* a size line, CRLF included */
#define CHUNKED_MAX_TRAILERS 4096    /* whole trailer section */
#define CHUNKED_MAX_EXCESS 16384     /* framing beyond the allowance */

enum chunked_state {
	CHUNKED_SIZE0 = 0,  /* first hex digit of a chunk size */
	CHUNKED_SIZE,       /* more hex digits, ';' or CR */
	CHUNKED_EXT,        /* extension bytes up to CR */
	CHUNKED_SIZE_LF,    /* LF ending the size line */
	CHUNKED_DATA,       /* chunk data, left bytes to go */
	CHUNKED_DATA_CR,    /* CR after the data */
	CHUNKED_DATA_LF,    /* LF after the data */
	CHUNKED_TR_START,   /* a trailer field or the final CRLF */
	CHUNKED_TR_NAME,    /* trailer field name up to ':' */
	CHUNKED_TR_VALUE,   /* trailer field value up to CR */
	CHUNKED_TR_LF,      /* LF ending a trailer line */
	CHUNKED_LAST_LF,    /* LF ending the body */
	CHUNKED_DONE,
};

static bool chunked_tchar(unsigned char);
static bool chunked_ctl(unsigned char);
static bool chunked_excess(struct sg_chunked *c);

void
sg_chunked_init(struct sg_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = CHUNKED_SIZE0;
}

int
sg_chunked_scan(struct sg_chunked *c, const char *buf, size_t n,
    size_t *used, bool *done, const char **why)
{
	const unsigned char *p = (const unsigned char *)buf;
	const char *dummy;
	uint64_t take;
	size_t i = 0;
	unsigned char ch;
	int d;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	*done = false;
	if (c->state == CHUNKED_DONE) {
		*used = 0;
		*done = true;
		return 0;
	}
	while (i < n) {
		if (c->state == CHUNKED_DATA) {
			take = n - i < c->left ? n - i : c->left;
			c->left -= take;
			i += (size_t)take;
			if (c->left == 0)
				c->state = CHUNKED_DATA_CR;
			continue;
		}
		ch = p[i];
		if (ch == '\n' && c->state != CHUNKED_SIZE_LF &&
		    c->state != CHUNKED_DATA_LF && c->state != CHUNKED_TR_LF &&
		    c->state != CHUNKED_LAST_LF) {
			*why = "bare LF in chunked body";
			goto bad;
		}
		if (c->state >= CHUNKED_TR_START &&
		    ++c->trailer_bytes > CHUNKED_MAX_TRAILERS) {
			*why = "chunked trailers too large";
			goto bad;
		}
		switch (c->state) {
		case CHUNKED_SIZE0:
			if ((d = sg_hexval(ch)) < 0) {
				*why = "invalid chunk size";
				goto bad;
			}
			c->left = (uint64_t)d;
			c->ndigits = 1;
			c->linelen = 0;
			c->state = CHUNKED_SIZE;
			break;
		case CHUNKED_SIZE:
			if ((d = sg_hexval(ch)) >= 0) {
				/* 16 digits hold 2^64-1; cap at 2^63-1. */
				if (++c->ndigits > CHUNKED_MAX_DIGITS ||
				    (c->ndigits == CHUNKED_MAX_DIGITS &&
				    c->left > 0x7ffffffffffffffULL)) {
					*why = "chunk size too large";
					goto bad;
				}
				c->left = c->left << 4 | (uint64_t)d;
				break;
			}
			if (ch == '\r') {
				c->state = CHUNKED_SIZE_LF;
			} else if (ch == ';') {
				c->linelen = 1;
				c->state = CHUNKED_EXT;
			} else if (ch == ' ' || ch == '\t') {
				/* RFC 9112 allows BWS before ';', Go does not */
				*why = "whitespace after chunk size";
				goto bad;
			} else {
				*why = "invalid chunk size line";
				goto bad;
			}
			break;
		case CHUNKED_EXT:
			if (ch == '\r') {
				c->state = CHUNKED_SIZE_LF;
				break;
			}
			if (c->ndigits + ++c->linelen + 2 > CHUNKED_MAX_LINE) {
				*why = "chunk extension too long";
				goto bad;
			}
			if (chunked_ctl(ch)) {
				*why = "control character in chunk extension";
				goto bad;
			}
			break;
		case CHUNKED_SIZE_LF:
			if (ch != '\n') {
				*why = "bare CR in chunked body";
				goto bad;
			}
			if (c->left != 0 && chunked_excess(c)) {
				*why = "chunked body with too much framing for "
				    "its data";
				goto bad;
			}
			c->state = c->left ? CHUNKED_DATA : CHUNKED_TR_START;
			break;
		case CHUNKED_DATA_CR:
			if (ch != '\r') {
				*why = "missing CRLF after chunk data";
				goto bad;
			}
			c->state = CHUNKED_DATA_LF;
			break;
		case CHUNKED_DATA_LF:
			if (ch != '\n') {
				*why = "missing CRLF after chunk data";
				goto bad;
			}
			c->state = CHUNKED_SIZE0;
			break;
		case CHUNKED_TR_START:
			if (ch == '\r') {
				c->state = CHUNKED_LAST_LF;
			} else if (chunked_tchar(ch)) {
				c->state = CHUNKED_TR_NAME;
			} else {
				*why = "malformed chunked trailer";
				goto bad;
			}
			break;
		case CHUNKED_TR_NAME:
			if (ch == ':') {
				c->state = CHUNKED_TR_VALUE;
			} else if (!chunked_tchar(ch)) {
				*why = "malformed chunked trailer";
				goto bad;
			}
			break;
		case CHUNKED_TR_VALUE:
			if (ch == '\r') {
				c->state = CHUNKED_TR_LF;
			} else if (chunked_ctl(ch)) {
				*why = "control character in chunked trailer";
				goto bad;
			}
			break;
		case CHUNKED_TR_LF:
			if (ch != '\n') {
				*why = "bare CR in chunked trailer";
				goto bad;
			}
			c->state = CHUNKED_TR_START;
			break;
		case CHUNKED_LAST_LF:
			if (ch != '\n') {
				*why = "bare CR in chunked trailer";
				goto bad;
			}
			c->state = CHUNKED_DONE;
			*used = i + 1;
			*done = true;
			return 0;
		default:
			*why = "chunked validator in a bad state";
			goto bad;
		}
		i++;
	}
	*used = i;
	return 0;
bad:
	*used = i;
	return 400;
}

uint64_t
sg_chunked_data_left(const struct sg_chunked *c)
{
	return c->state == CHUNKED_DATA ? c->left : 0;
}

void
sg_chunked_skip(struct sg_chunked *c, uint64_t n)
{
	if (c->state != CHUNKED_DATA || n > c->left)
		return; /* not data: nothing may be skipped */
	c->left -= n;
	if (c->left == 0)
		c->state = CHUNKED_DATA_CR;
}

/*
 * Accounts a size line that just ended (with the CRLF after its data)
 * against the allowance of 16 bytes plus twice the chunk's data; true
 * when the framing left over passes CHUNKED_MAX_EXCESS. Go checks this
 * for every chunk but the last, so a body of tiny chunks with long
 * extensions is refused by both sides alike.
 */
static bool
chunked_excess(struct sg_chunked *c)
{
	uint64_t e = c->excess + c->ndigits + c->linelen + 2 + 2;

	if (c->left >= e / 2)
		e = 0;
	else
		e -= 2 * c->left;
	e = e > 16 ? e - 16 : 0;
	c->excess = (uint32_t)(e < UINT32_MAX ? e : UINT32_MAX);
	return e > CHUNKED_MAX_EXCESS;
}

static bool
chunked_tchar(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= 'A' && ch <= 'Z') ||
	    (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* CTL other than HTAB; DEL included. CR and LF are handled by callers. */
static bool
chunked_ctl(unsigned char ch)
{
	return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}
