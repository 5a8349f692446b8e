/* SPDX-License-Identifier: MIT */
/*
 * cfg_dsl.c: the rule DSL front end (cfg.h). Owns driving the pure
 * parser over one buffer, the checks on values (path shape, '%', the
 * method list), turning lines into struct sg_ir_rule in the arena, the
 * wording of every DSL diagnostic, and printing a rule back in DSL form.
 * Does not own tokens (grammar/dsl_lex.re), the syntax
 * (grammar/dsl_parse.y) or what the rules mean (policy.c, ir checks).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sockguard/cfg.h"

#include "dsl_parse.h"

#define DSL_SHOW_MAX 48 /* bytes of an offending token quoted in messages */

/* snprintf-style writer for sg_cfg_dsl_format. */
struct dsl_out {
	char *buf;
	size_t cap;
	size_t n;
};

static void dsl_show(char *dst, size_t cap, const char *p, size_t n,
    bool quote);
static void dsl_got(const struct sg_dsl_lexer *lx, char *dst, size_t cap);
static const char *dsl_upper(struct sg_arena *a, struct sg_str s);
static void dsl_put(struct dsl_out *o, const char *p, size_t n);
static void dsl_puts(struct dsl_out *o, const char *s);
static void dsl_put_quoted(struct dsl_out *o, const char *s);
static bool dsl_path_needs_quotes(const char *s);

int
sg_cfg_dsl_parse(struct sg_arena *a, struct sg_diag *d, const char *file,
    const char *buf, size_t len, struct sg_ir_rule **rules, size_t *nrules)
{
	struct sg_dsl_lexer lx;
	size_t nerr = d->nerr;
	char *copy = sg_arena_alloc(a, len + 1);
	int rc;

	if (len > 0)
		memcpy(copy, buf, len);
	memset(&lx, 0, sizeof(lx));
	lx.buf = lx.cur = lx.mar = lx.tok = lx.line_start = copy;
	lx.lim = copy + len;
	lx.line = 1;
	lx.arena = a;
	lx.diag = d;
	lx.file = file;
	lx.rule_file = file != NULL ? sg_arena_strdup(a, file) : NULL;

	rc = sg_dsl_parse(&lx);
	if (rc != 0 && d->nerr == nerr) {
		struct sg_loc loc = {file, 0, 0};

		sg_diag_error(d, &loc, NULL, "%s", rc == 2 ?
		    "rules file is too deeply nested to parse" :
		    "rules file could not be parsed");
	}
	if (d->nerr == nerr && lx.nrules == 0) {
		struct sg_loc loc = {file, 0, 0};

		sg_diag_error(d, &loc, NULL,
		    "no rules found (write at least one allow or deny line)");
	}
	*rules = lx.rules;
	*nrules = lx.nrules;
	return d->nerr == nerr ? 0 : -1;
}

size_t
sg_cfg_dsl_format(const struct sg_ir_rule *r, char *buf, size_t cap)
{
	struct dsl_out o = {buf, cap, 0};
	size_t i;

	dsl_puts(&o, r->action == SG_ACTION_ALLOW ? "allow " : "deny ");
	if (r->any_method) {
		dsl_puts(&o, "*");
	} else {
		for (i = 0; i < r->nmethods; i++) {
			if (i > 0)
				dsl_puts(&o, ",");
			dsl_puts(&o, r->methods[i]);
		}
	}
	dsl_puts(&o, " ");
	if (r->path == NULL)
		dsl_puts(&o, "\"\"");
	else if (dsl_path_needs_quotes(r->path))
		dsl_put_quoted(&o, r->path);
	else
		dsl_puts(&o, r->path);
	if (r->reason != NULL && r->reason[0] != '\0') {
		dsl_puts(&o, " ");
		dsl_put_quoted(&o, r->reason);
	}
	if (cap > 0)
		buf[o.n < cap ? o.n : cap - 1] = '\0';
	return o.n;
}

/*
 * Called by bison for a syntax error on the lookahead, which is always
 * the last token lexed; lx->ctx_before says what the line needed there.
 */
void
sg_dsl_error(SG_DSL_LTYPE *lloc, struct sg_dsl_lexer *lx, const char *msg)
{
	struct sg_loc loc = {lx->file, (uint32_t)lloc->first_line,
	    (uint32_t)lloc->first_column};
	char got[4 * DSL_SHOW_MAX + 32];
	const char *path = "expected a path starting with '/'";

	if (lx->last == SG_TOK_SG_DSL_UNDEF)
		return; /* the lexer said why */
	dsl_got(lx, got, sizeof(got));
	switch (lx->ctx_before) {
	case SG_DSL_CTX_ACTION:
		sg_diag_error(lx->diag, &loc, NULL,
		    "expected \"allow\" or \"deny\", got %s", got);
		break;
	case SG_DSL_CTX_METHODS:
		sg_diag_error(lx->diag, &loc, NULL, "expected a method list "
		    "(\"*\" or names such as GET,HEAD), got %s", got);
		break;
	case SG_DSL_CTX_MCOMMA:
		if (lx->last == SG_TOK_STAR)
			sg_diag_error(lx->diag, &loc, NULL,
			    "'*' cannot be combined with method names");
		else
			sg_diag_error(lx->diag, &loc, NULL,
			    "expected a method name after ',', got %s", got);
		break;
	case SG_DSL_CTX_STAR:
		if (lx->last == SG_TOK_COMMA) {
			sg_diag_error(lx->diag, &loc, NULL,
			    "'*' cannot be combined with method names");
			break;
		}
		/* FALLTHROUGH */
	case SG_DSL_CTX_MNAME:
		sg_diag_error(lx->diag, &loc, NULL, "%s, got %s", path, got);
		break;
	case SG_DSL_CTX_PATH:
		sg_diag_error(lx->diag, &loc, NULL,
		    "expected a quoted reason or end of line, got %s", got);
		break;
	case SG_DSL_CTX_REASON:
		sg_diag_error(lx->diag, &loc, NULL,
		    "expected end of line after the reason, got %s", got);
		break;
	case SG_DSL_CTX_JUNK:
		sg_diag_error(lx->diag, &loc, NULL, "%s", msg);
		break;
	}
}

void
sg_dsl_lex_error(struct sg_dsl_lexer *lx, const char *p, const char *fmt, ...)
{
	struct sg_loc loc = {lx->file, lx->line,
	    (uint32_t)(p - lx->line_start) + 1};
	va_list ap;

	va_start(ap, fmt);
	sg_diag_vadd(lx->diag, SG_DIAG_ERROR, &loc, NULL, fmt, ap);
	va_end(ap);
}

struct sg_dsl_mlist *
sg_dsl_mlist_push(struct sg_dsl_lexer *lx, struct sg_dsl_mlist *l,
    struct sg_str name)
{
	struct sg_dsl_mlist *m = sg_arena_alloc(lx->arena, sizeof(*m));

	m->name = name;
	m->next = l;
	m->n = l != NULL ? l->n + 1 : 1;
	return m;
}

struct sg_ir_rule *
sg_dsl_rule_new(struct sg_dsl_lexer *lx, const SG_DSL_LTYPE *at,
    enum sg_action action, const struct sg_dsl_mlist *methods,
    struct sg_str path, const SG_DSL_LTYPE *path_at, struct sg_str reason)
{
	struct sg_loc ploc = {lx->file, (uint32_t)path_at->first_line,
	    (uint32_t)path_at->first_column};
	struct sg_ir_rule *r;
	char show[4 * DSL_SHOW_MAX + 32];
	const struct sg_dsl_mlist *m;
	size_t i;

	if (path.len == 0 || path.p[0] != '/') {
		dsl_show(show, sizeof(show), path.p, path.len, true);
		sg_diag_error(lx->diag, &ploc, NULL,
		    "expected a path starting with '/', got %s", show);
		return NULL;
	}
	if (memchr(path.p, '%', path.len) != NULL) {
		dsl_show(show, sizeof(show), path.p, path.len, true);
		sg_diag_error(lx->diag, &ploc, NULL,
		    "path %s contains a literal '%%'; sockguard matches the "
		    "path as the daemon routes it (decoded once at the HTTP "
		    "layer), so an escape here can never match; write the "
		    "decoded form", show);
		return NULL;
	}
	r = sg_arena_alloc(lx->arena, sizeof(*r));
	r->action = action;
	r->any_method = methods == NULL;
	if (methods != NULL) {
		r->nmethods = methods->n;
		r->methods = sg_arena_alloc(lx->arena,
		    methods->n * sizeof(*r->methods));
		for (m = methods, i = methods->n; m != NULL; m = m->next)
			r->methods[--i] = dsl_upper(lx->arena, m->name);
	}
	r->path = sg_arena_strndup(lx->arena, path.p, path.len);
	r->reason = sg_arena_strndup(lx->arena, reason.p, reason.len);
	r->loc.file = lx->rule_file;
	r->loc.line = (uint32_t)at->first_line;
	r->loc.col = (uint32_t)at->first_column;
	return r;
}

void
sg_dsl_rule_add(struct sg_dsl_lexer *lx, const struct sg_ir_rule *r)
{
	if (r == NULL)
		return;
	if (lx->nrules == lx->cap) {
		size_t cap = lx->cap ? lx->cap * 2 : 16;
		struct sg_ir_rule *v = sg_arena_alloc(lx->arena,
		    cap * sizeof(*v));

		if (lx->nrules > 0)
			memcpy(v, lx->rules, lx->nrules * sizeof(*v));
		lx->rules = v;
		lx->cap = cap;
	}
	lx->rules[lx->nrules++] = *r;
}

/*
 * Quotes n bytes of p for a message: printable ASCII as is (with '"'
 * and '\' escaped when quote is set), anything else as \xHH, cut at
 * DSL_SHOW_MAX bytes.
 */
static void
dsl_show(char *dst, size_t cap, const char *p, size_t n, bool quote)
{
	size_t i, w = 0;

	if (quote)
		dst[w++] = '"';
	for (i = 0; i < n && i < DSL_SHOW_MAX; i++) {
		unsigned char c = (unsigned char)p[i];

		if (w + 8 >= cap)
			break;
		if (c < 0x20 || c >= 0x7f) {
			w += (size_t)snprintf(dst + w, cap - w, "\\x%02x", c);
			continue;
		}
		if (quote && (c == '"' || c == '\\'))
			dst[w++] = '\\';
		dst[w++] = (char)c;
	}
	if (i < n && w + 4 < cap) {
		memcpy(dst + w, "...", 3);
		w += 3;
	}
	if (quote)
		dst[w++] = '"';
	dst[w] = '\0';
}

/* The lookahead as the user wrote it. */
static void
dsl_got(const struct sg_dsl_lexer *lx, char *dst, size_t cap)
{
	size_t n = (size_t)(lx->cur - lx->tok);

	if (lx->last == SG_TOK_YYEOF || (lx->last == SG_TOK_NL && lx->at_eof))
		snprintf(dst, cap, "end of file");
	else if (lx->last == SG_TOK_NL)
		snprintf(dst, cap, "end of line");
	else if (lx->last == SG_TOK_STRING)
		dsl_show(dst, cap, lx->tok, n, false);
	else
		dsl_show(dst, cap, lx->tok, n, true);
}

static const char *
dsl_upper(struct sg_arena *a, struct sg_str s)
{
	char *u = sg_arena_strndup(a, s.p, s.len);
	size_t i;

	for (i = 0; i < s.len; i++)
		if (u[i] >= 'a' && u[i] <= 'z')
			u[i] = (char)(u[i] - 'a' + 'A');
	return u;
}

static void
dsl_put(struct dsl_out *o, const char *p, size_t n)
{
	if (o->n < o->cap) {
		size_t k = o->cap - o->n;

		memcpy(o->buf + o->n, p, n < k ? n : k);
	}
	o->n += n;
}

static void
dsl_puts(struct dsl_out *o, const char *s)
{
	dsl_put(o, s, strlen(s));
}

static void
dsl_put_quoted(struct dsl_out *o, const char *s)
{
	dsl_put(o, "\"", 1);
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '"':
			dsl_put(o, "\\\"", 2);
			break;
		case '\\':
			dsl_put(o, "\\\\", 2);
			break;
		case '\n':
			dsl_put(o, "\\n", 2);
			break;
		case '\t':
			dsl_put(o, "\\t", 2);
			break;
		default:
			dsl_put(o, s, 1);
			break;
		}
	}
	dsl_put(o, "\"", 1);
}

/* A bare path is "/" followed by bytes that are not space, '#' or control. */
static bool
dsl_path_needs_quotes(const char *s)
{
	if (s[0] != '/')
		return true;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c == 0x7f || c == '#' || c == '"')
			return true;
	}
	return false;
}
