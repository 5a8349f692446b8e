/* SPDX-License-Identifier: MIT */
/*
 * glob.c: the rule path glob dialect (SPEC 2.6.4). Owns compiling a
 * pattern once into the config arena and matching it without allocation
 * and without backtracking: the common shapes take a fast path (exact
 * string, the catch-all, a literal prefix followed by the optional
 * group); everything else runs a Thompson NFA over pattern positions
 * with two small bitsets on the stack, so a match costs O(pattern x
 * input) whatever the pattern. Patterns longer than 4095 bytes are
 * refused (NULL). Does not know about canonical paths or rules.
 */
#include <string.h>

#include "sockguard/glob.h"

/*
 * One NFA state per pattern byte (at most), plus the final state. Below,
 * "the group" is the optional "/anything" group SPEC 2.6.4 writes as a
 * slash and two stars; "the catch-all" is that group alone.
 */
#define GLOB_MAX_STATES 4096u
#define GLOB_WORDS (GLOB_MAX_STATES / 64u)

enum glob_kind {
	GLOB_EXACT = 0, /* no '*': byte equality */
	GLOB_ALL,       /* the catch-all pattern: everything */
	GLOB_PREFIX,    /* lit + group: s == lit || s starts with lit "/" */
	GLOB_NFA,
};

enum glob_op {
	GLOB_OP_BYTE = 0, /* consume ch, go to next state */
	GLOB_OP_SEG,      /* '*': consume any byte but '/', stay; or skip */
	GLOB_OP_ANY,      /* '**': consume any byte, stay; or skip */
	GLOB_OP_OPT,      /* start of the group: enter it or jump to alt */
	GLOB_OP_END,      /* accept */
};

struct glob_state {
	uint8_t op;
	uint8_t ch;
	uint16_t alt; /* GLOB_OP_OPT: state after the group */
};

struct sg_glob {
	enum glob_kind kind;
	const char *lit; /* EXACT, PREFIX */
	size_t litlen;
	const struct glob_state *st; /* NFA */
	size_t nst;
};

static bool glob_has_star(const char *p, size_t len);
static struct glob_state *glob_build(struct sg_arena *a, const char *p,
    size_t len, size_t *nst);
static bool glob_nfa(const struct sg_glob *g, const unsigned char *s,
    size_t len);
static void glob_close(const struct sg_glob *g, uint64_t *set);
static void glob_set(uint64_t *set, size_t k);

struct sg_glob *
sg_glob_compile(struct sg_arena *a, const char *pat, size_t len)
{
	struct sg_glob *g;

	if (len + 1 > GLOB_MAX_STATES)
		return NULL;
	g = sg_arena_alloc(a, sizeof(*g));
	if (!glob_has_star(pat, len)) {
		g->kind = GLOB_EXACT;
		g->lit = sg_arena_strndup(a, pat, len);
		g->litlen = len;
	} else if (len == 3 && memcmp(pat, "/**", 3) == 0) {
		g->kind = GLOB_ALL;
	} else if (len > 3 && memcmp(pat + len - 3, "/**", 3) == 0 &&
	    !glob_has_star(pat, len - 3)) {
		g->kind = GLOB_PREFIX;
		g->lit = sg_arena_strndup(a, pat, len - 3);
		g->litlen = len - 3;
	} else {
		g->kind = GLOB_NFA;
		g->st = glob_build(a, pat, len, &g->nst);
	}
	return g;
}

bool
sg_glob_match(const struct sg_glob *g, const char *s, size_t len)
{
	switch (g->kind) {
	case GLOB_EXACT:
		return len == g->litlen &&
		    (len == 0 || memcmp(s, g->lit, len) == 0);
	case GLOB_ALL:
		return true;
	case GLOB_PREFIX:
		if (len < g->litlen || memcmp(s, g->lit, g->litlen) != 0)
			return false;
		return len == g->litlen || s[g->litlen] == '/';
	case GLOB_NFA:
		return glob_nfa(g, (const unsigned char *)s, len);
	}
	return false;
}

static bool
glob_has_star(const char *p, size_t len)
{
	return len > 0 && memchr(p, '*', len) != NULL;
}

/*
 * Left to right, as the reference regex is built: '/' followed by "**"
 * becomes OPT('/' ANY), any other "**" ANY, "*" SEG, anything else one
 * BYTE.
 */
static struct glob_state *
glob_build(struct sg_arena *a, const char *p, size_t len, size_t *nst)
{
	struct glob_state *st = sg_arena_alloc(a, (len + 1) * sizeof(*st));
	size_t i = 0, n = 0;

	while (i < len) {
		if (p[i] == '/' && len - i >= 3 && p[i + 1] == '*' &&
		    p[i + 2] == '*') {
			st[n].op = GLOB_OP_OPT;
			st[n].alt = (uint16_t)(n + 3);
			st[n + 1].op = GLOB_OP_BYTE;
			st[n + 1].ch = '/';
			st[n + 2].op = GLOB_OP_ANY;
			n += 3;
			i += 3;
		} else if (p[i] == '*' && len - i >= 2 && p[i + 1] == '*') {
			st[n++].op = GLOB_OP_ANY;
			i += 2;
		} else if (p[i] == '*') {
			st[n++].op = GLOB_OP_SEG;
			i++;
		} else {
			st[n].op = GLOB_OP_BYTE;
			st[n++].ch = (uint8_t)p[i++];
		}
	}
	st[n++].op = GLOB_OP_END;
	*nst = n;
	return st;
}

static bool
glob_nfa(const struct sg_glob *g, const unsigned char *s, size_t len)
{
	uint64_t a[GLOB_WORDS], b[GLOB_WORDS];
	uint64_t *cur = a, *nxt = b, *t;
	size_t nw = (g->nst + 63) / 64, i, w;

	memset(cur, 0, nw * sizeof(*cur));
	cur[0] = 1;
	glob_close(g, cur);
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];
		uint64_t any = 0;

		memset(nxt, 0, nw * sizeof(*nxt));
		for (w = 0; w < nw; w++) {
			uint64_t bits = cur[w];

			while (bits != 0) {
				unsigned bit = (unsigned)__builtin_ctzll(bits);
				size_t k = w * 64 + bit;
				const struct glob_state *q = &g->st[k];

				bits &= bits - 1;
				if ((q->op == GLOB_OP_BYTE && q->ch == c) ||
				    (q->op == GLOB_OP_SEG && c != '/') ||
				    q->op == GLOB_OP_ANY) {
					glob_set(nxt, q->op == GLOB_OP_BYTE ?
					    k + 1 : k);
					any = 1;
				}
			}
		}
		if (!any)
			return false;
		glob_close(g, nxt);
		t = cur;
		cur = nxt;
		nxt = t;
	}
	w = g->nst - 1;
	return (cur[w / 64] >> (w % 64)) & 1;
}

/*
 * Epsilon closure. Every epsilon edge points forward, so one ascending
 * sweep that also visits the bits it sets is enough.
 */
static void
glob_close(const struct sg_glob *g, uint64_t *set)
{
	size_t nw = (g->nst + 63) / 64, w;

	for (w = 0; w < nw; w++) {
		uint64_t done = 0, pend;

		while ((pend = set[w] & ~done) != 0) {
			unsigned bit = (unsigned)__builtin_ctzll(pend);
			size_t k = w * 64 + bit;
			const struct glob_state *q = &g->st[k];

			done |= (uint64_t)1 << bit;
			switch (q->op) {
			case GLOB_OP_OPT:
				glob_set(set, k + 1);
				glob_set(set, q->alt);
				break;
			case GLOB_OP_SEG:
			case GLOB_OP_ANY:
				glob_set(set, k + 1);
				break;
			default:
				break;
			}
		}
	}
}

static void
glob_set(uint64_t *set, size_t k)
{
	set[k / 64] |= (uint64_t)1 << (k % 64);
}
