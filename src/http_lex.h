/* SPDX-License-Identifier: MIT */
/*
 * http_lex.h: private interface between the re2c head lexer
 * (grammar/http_lex.re, generated into build/gen/http_lex.c, which gets
 * this file pasted in by re2c's include directive because src/ is not on
 * the include path) and http.c. Owns no state; the lexer decides line
 * syntax only, http.c decides what the lines mean.
 */
#ifndef SOCKGUARD_HTTP_LEX_H
#define SOCKGUARD_HTTP_LEX_H

#include "sockguard/common.h"

enum sg_hl_tok {
	SG_HL_END = 0,   /* the limit was reached */
	SG_HL_BAD,       /* no rule matched at tok.off */
	SG_HL_REQLINE,   /* s0 method, s1 target, major.minor */
	SG_HL_STATUS,    /* major.minor, status, s0 reason */
	SG_HL_FIELD,     /* s0 name, s1 value (OWS trimmed), hid */
	SG_HL_EOH,       /* the empty line that ends the head */
	SG_HL_EMPTY,     /* CRLF where the start line was expected */
	SG_HL_HTTP09,    /* "METHOD target CRLF": no version */
	SG_HL_FOLD,      /* field line starting with SP/HTAB (obs-fold) */
	SG_HL_WSCOLON,   /* whitespace between field name and ':' */
	SG_HL_NAME,      /* internal: a field name and its ':' (s0, hid) */
	SG_HL_VALUE,     /* internal: the value after it (s1) */
};

struct sg_http_lexer {
	const unsigned char *base; /* slices are offsets from here */
	const unsigned char *cur;  /* YYCURSOR */
	const unsigned char *mar;  /* YYMARKER */
	const unsigned char *lim;  /* YYLIMIT */
	int cond;                  /* re2c condition */
	struct sg_slice tok;       /* the whole token (line with its CRLF) */
	struct sg_slice s0, s1;
	uint8_t major, minor;
	uint16_t status;
	uint8_t hid;               /* enum sg_hdr_id of the field's name */
};

/* Lexes head buf[0..len), a request head or a response head. */
void sg_http_lex_init(struct sg_http_lexer *lx, const char *buf, size_t len,
    bool response);
/* Returns the next token (enum sg_hl_tok) and fills lx. */
int sg_http_lex_next(struct sg_http_lexer *lx);

#endif
