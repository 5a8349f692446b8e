/* SPDX-License-Identifier: MIT */
/*
 * dsl_parse.y: grammar of the rule DSL, one rule per line:
 *
 *   file   := { [rule] [comment] end-of-line }
 *   rule   := ("allow" | "deny") methods path [reason]
 *   methods:= "*" | NAME { "," NAME }
 *   path   := bare word starting with '/' | quoted string
 *   reason := quoted string
 *
 * Owns the syntax and line-granular error recovery (a bad line is
 * reported and skipped, parsing resumes on the next one). Does not own
 * tokens (dsl_lex.re), the checks on values, building the IR or the
 * wording of messages (cfg_dsl.c). Pure parser: all state lives in the
 * lexer struct (declared here, in %code requires) passed as %param.
 * Semantic values point into the arena, so no value owns heap memory
 * and no %destructor is needed.
 */
%require "3.8"
%define api.pure full
%define api.prefix {sg_dsl_}
%define api.token.prefix {SG_TOK_}
%define api.value.type union
%define parse.error detailed
%locations
%param {struct sg_dsl_lexer *lx}
%expect 0

%code requires {
/*
 * This header (build/gen/dsl_parse.h) is the DSL's private interface
 * shared by the lexer, the parser and cfg_dsl.c: the lexer struct,
 * which is the whole parse state, and the semantic actions.
 */
#include "sockguard/arena.h"
#include "sockguard/common.h"
#include "sockguard/diag.h"
#include "sockguard/ir.h"

/*
 * Where the line stands, as far as error messages need it (the grammar
 * itself decides what is valid; this only names what was expected).
 */
enum sg_dsl_ctx {
	SG_DSL_CTX_ACTION = 0, /* start of a line */
	SG_DSL_CTX_METHODS,    /* after allow/deny */
	SG_DSL_CTX_MNAME,      /* after a method name */
	SG_DSL_CTX_MCOMMA,     /* after ',' in the method list */
	SG_DSL_CTX_STAR,       /* after the '*' method list */
	SG_DSL_CTX_PATH,       /* after the path */
	SG_DSL_CTX_REASON,     /* after the reason */
	SG_DSL_CTX_JUNK,       /* the line is already wrong */
};

/* Method names of one rule, newest first (arena). */
struct sg_dsl_mlist {
	struct sg_str name;
	struct sg_dsl_mlist *next;
	size_t n;
};

struct sg_dsl_lexer {
	/* re2c: buf[len] is a NUL sentinel, lim points at it */
	const char *buf;
	const char *cur;
	const char *mar;
	const char *lim;
	const char *tok;         /* start of the last token */
	const char *line_start;
	uint32_t line;
	bool eof_nl;             /* the synthetic end of line was sent */
	bool at_eof;

	int last;                /* kind of the last token (the lookahead) */
	enum sg_dsl_ctx ctx;     /* after the last token */
	enum sg_dsl_ctx ctx_before; /* before it: what the parser expected */

	struct sg_arena *arena;
	struct sg_diag *diag;
	const char *file;        /* caller's name, used in diagnostics */
	const char *rule_file;   /* arena copy, used in rule locations */

	struct sg_ir_rule *rules;
	size_t nrules, cap;
};
}

%code provides {
int sg_dsl_lex(SG_DSL_STYPE *lval, SG_DSL_LTYPE *lloc, struct sg_dsl_lexer *lx);
void sg_dsl_error(SG_DSL_LTYPE *lloc, struct sg_dsl_lexer *lx, const char *msg);

/* Semantic actions (cfg_dsl.c). */
struct sg_dsl_mlist *sg_dsl_mlist_push(struct sg_dsl_lexer *lx,
    struct sg_dsl_mlist *l, struct sg_str name);
/* NULL (reported) when a value is wrong. */
struct sg_ir_rule *sg_dsl_rule_new(struct sg_dsl_lexer *lx,
    const SG_DSL_LTYPE *at, enum sg_action action,
    const struct sg_dsl_mlist *methods, struct sg_str path,
    const SG_DSL_LTYPE *path_at, struct sg_str reason);
/* Appends r (when not NULL) once its line has ended cleanly. */
void sg_dsl_rule_add(struct sg_dsl_lexer *lx, const struct sg_ir_rule *r);
/* Reports a problem found by the lexer at byte p of the current line. */
void sg_dsl_lex_error(struct sg_dsl_lexer *lx, const char *p,
    const char *fmt, ...) SG_PRINTF(3, 4);
}

%token ALLOW "allow"
%token DENY "deny"
%token STAR "'*'"
%token COMMA "','"
%token NL "end of line"
%token <struct sg_str> METHOD "method name"
%token <struct sg_str> PATH "path"
%token <struct sg_str> STRING "quoted string"
%token <struct sg_str> WORD "word"

%nterm <struct sg_ir_rule *> rule
%nterm <enum sg_action> action
%nterm <struct sg_dsl_mlist *> methods mlist
%nterm <struct sg_str> path reason

%%

file
	: %empty
	| file line
	;

/*
 * A rule joins the list only when its whole line parsed: with default
 * reductions `rule` may be reduced before a bad token after it is seen.
 */
line
	: NL
	| rule NL	{ sg_dsl_rule_add(lx, $1); }
	| error NL	{ yyerrok; }
	;

rule
	: action methods path reason
		{ $$ = sg_dsl_rule_new(lx, &@1, $1, $2, $3, &@3, $4); }
	;

action
	: ALLOW	{ $$ = SG_ACTION_ALLOW; }
	| DENY	{ $$ = SG_ACTION_DENY; }
	;

methods
	: STAR	{ $$ = NULL; }
	| mlist
	;

mlist
	: METHOD	{ $$ = sg_dsl_mlist_push(lx, NULL, $1); }
	| mlist COMMA METHOD
		{ $$ = sg_dsl_mlist_push(lx, $1, $3); }
	;

path
	: PATH
	| STRING
	;

reason
	: %empty	{ $$ = (struct sg_str){"", 0}; }
	| STRING
	;

%%
