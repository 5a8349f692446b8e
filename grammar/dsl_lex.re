/* SPDX-License-Identifier: MIT */
/*
 * dsl_lex.re: tokens of the rule DSL (re2c). Owns splitting a complete,
 * NUL-terminated buffer into words, quoted strings (with their escapes),
 * comments and line ends, and the token locations. Reports byte-level
 * problems (control characters, bad escapes, unterminated strings)
 * itself and hands the parser SG_TOK_SG_DSL_UNDEF for them. Does not
 * own the syntax (dsl_parse.y) or the rules built from it (cfg_dsl.c).
 */
#include <string.h>

#include "dsl_parse.h"

static int dsl_lex_string(struct sg_dsl_lexer *lx, struct sg_str *out);
static int dsl_lex_done(struct sg_dsl_lexer *lx, SG_DSL_LTYPE *lloc, int t);
static enum sg_dsl_ctx dsl_lex_next_ctx(enum sg_dsl_ctx c, int t);

#define DSL_TOKEN(t) return dsl_lex_done(lx, lloc, (t))

/*!re2c
	re2c:api:style = free-form;
	re2c:define:YYCTYPE = "unsigned char";
	re2c:define:YYCURSOR = "lx->cur";
	re2c:define:YYMARKER = "lx->mar";
	re2c:define:YYLIMIT = "lx->lim";
	re2c:yyfill:enable = 0;
	re2c:eof = 0;

	nl    = "\r"? "\n";
	mchar = [-!$%&'+.^_`|~0-9A-Za-z];
	pchar = [^\x00-\x20\x7f#"];
	wchar = [^\x00-\x20\x7f#",];
*/

int
sg_dsl_lex(SG_DSL_STYPE *lval, SG_DSL_LTYPE *lloc, struct sg_dsl_lexer *lx)
{
	for (;;) {
		lx->tok = lx->cur;
		/*!re2c
		[ \t]+		{ continue; }
		"#" [^\n]*	{ continue; }
		nl		{ DSL_TOKEN(SG_TOK_NL); }
		"allow"		{ DSL_TOKEN(SG_TOK_ALLOW); }
		"deny"		{ DSL_TOKEN(SG_TOK_DENY); }
		"*"		{ DSL_TOKEN(SG_TOK_STAR); }
		","		{ DSL_TOKEN(SG_TOK_COMMA); }
		mchar+ {
			lval->SG_TOK_METHOD.p = lx->tok;
			lval->SG_TOK_METHOD.len = (size_t)(lx->cur - lx->tok);
			DSL_TOKEN(SG_TOK_METHOD);
		}
		"/" pchar* {
			lval->SG_TOK_PATH.p = lx->tok;
			lval->SG_TOK_PATH.len = (size_t)(lx->cur - lx->tok);
			DSL_TOKEN(SG_TOK_PATH);
		}
		"/" pchar* "\"" {
			/* a reason glued to its path would become part of it,
			 * and a rule whose path holds a quote never matches */
			sg_dsl_lex_error(lx, lx->cur - 1, "'\"' inside an "
			    "unquoted path; put a space before the reason, or "
			    "quote the whole path");
			while (lx->cur < lx->lim && *lx->cur != '\n' &&
			    *lx->cur != '\r')
				lx->cur++;
			DSL_TOKEN(SG_TOK_SG_DSL_UNDEF);
		}
		wchar+ {
			lval->SG_TOK_WORD.p = lx->tok;
			lval->SG_TOK_WORD.len = (size_t)(lx->cur - lx->tok);
			DSL_TOKEN(SG_TOK_WORD);
		}
		"\"" {
			DSL_TOKEN(dsl_lex_string(lx, &lval->SG_TOK_STRING));
		}
		$ {
			lx->at_eof = true;
			if (!lx->eof_nl) {
				/* a last line without its newline still ends */
				lx->eof_nl = true;
				DSL_TOKEN(SG_TOK_NL);
			}
			DSL_TOKEN(SG_TOK_YYEOF);
		}
		* {
			sg_dsl_lex_error(lx, lx->tok,
			    "unexpected control character 0x%02x",
			    (unsigned char)*lx->tok);
			DSL_TOKEN(SG_TOK_SG_DSL_UNDEF);
		}
		*/
	}
}

/*
 * The body of a quoted string, after the opening quote. Unescapes into
 * the arena. Every problem is reported once, at its byte; the string
 * still runs to its closing quote (or the end of the line) so the rest
 * of the line lexes as written.
 */
static int
dsl_lex_string(struct sg_dsl_lexer *lx, struct sg_str *out)
{
	const char *open = lx->tok, *eol, *s;
	char *buf, *w;
	bool bad = false;

	eol = memchr(lx->cur, '\n', (size_t)(lx->lim - lx->cur));
	if (eol == NULL)
		eol = lx->lim;
	buf = sg_arena_alloc(lx->arena, (size_t)(eol - lx->cur) + 1);
	w = buf;
	for (;;) {
		s = lx->cur;
		/*!re2c
		"\"" {
			*w = '\0';
			out->p = buf;
			out->len = (size_t)(w - buf);
			return bad ? SG_TOK_SG_DSL_UNDEF : SG_TOK_STRING;
		}
		"\\\""	{ *w++ = '"'; continue; }
		"\\\\"	{ *w++ = '\\'; continue; }
		"\\n"	{ *w++ = '\n'; continue; }
		"\\t"	{ *w++ = '\t'; continue; }
		"\\" [\x20-\x7e] {
			if (!bad)
				sg_dsl_lex_error(lx, s,
				    "invalid escape \"\\%c\" in quoted string "
				    "(use \\\", \\\\, \\n or \\t)", s[1]);
			bad = true;
			continue;
		}
		"\\" {
			if (!bad)
				sg_dsl_lex_error(lx, s,
				    "invalid escape in quoted string "
				    "(use \\\", \\\\, \\n or \\t)");
			bad = true;
			continue;
		}
		nl	{ lx->cur = s; goto unterminated; }
		$	{ goto unterminated; }
		[\x00-\x1f\x7f] {
			if (!bad)
				sg_dsl_lex_error(lx, s, "control character "
				    "0x%02x in quoted string (write \\n or "
				    "\\t for newline and tab)",
				    (unsigned char)*s);
			bad = true;
			continue;
		}
		[^] { *w++ = *s; continue; }
		*/
	}
unterminated:
	sg_dsl_lex_error(lx, open, "unterminated quoted string");
	return SG_TOK_SG_DSL_UNDEF;
}

static int
dsl_lex_done(struct sg_dsl_lexer *lx, SG_DSL_LTYPE *lloc, int t)
{
	lloc->first_line = lloc->last_line = (int)lx->line;
	lloc->first_column = (int)(lx->tok - lx->line_start) + 1;
	lloc->last_column = (int)(lx->cur - lx->line_start) + 1;
	lx->last = t;
	lx->ctx_before = lx->ctx;
	lx->ctx = dsl_lex_next_ctx(lx->ctx, t);
	if (t == SG_TOK_NL && !lx->at_eof) {
		lx->line++;
		lx->line_start = lx->cur;
	}
	return t;
}

/* Mirrors the grammar, only to say what was expected in messages. */
static enum sg_dsl_ctx
dsl_lex_next_ctx(enum sg_dsl_ctx c, int t)
{
	if (t == SG_TOK_NL)
		return SG_DSL_CTX_ACTION;
	switch (c) {
	case SG_DSL_CTX_ACTION:
		if (t == SG_TOK_ALLOW || t == SG_TOK_DENY)
			return SG_DSL_CTX_METHODS;
		break;
	case SG_DSL_CTX_METHODS:
		if (t == SG_TOK_STAR)
			return SG_DSL_CTX_STAR;
		if (t == SG_TOK_METHOD)
			return SG_DSL_CTX_MNAME;
		break;
	case SG_DSL_CTX_MNAME:
		if (t == SG_TOK_COMMA)
			return SG_DSL_CTX_MCOMMA;
		/* FALLTHROUGH */
	case SG_DSL_CTX_STAR:
		if (t == SG_TOK_PATH || t == SG_TOK_STRING)
			return SG_DSL_CTX_PATH;
		break;
	case SG_DSL_CTX_MCOMMA:
		if (t == SG_TOK_METHOD)
			return SG_DSL_CTX_MNAME;
		break;
	case SG_DSL_CTX_PATH:
		if (t == SG_TOK_STRING)
			return SG_DSL_CTX_REASON;
		break;
	case SG_DSL_CTX_REASON:
	case SG_DSL_CTX_JUNK:
		break;
	}
	return SG_DSL_CTX_JUNK;
}
