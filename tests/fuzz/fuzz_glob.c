/* SPDX-License-Identifier: MIT */
/*
 * fuzz_glob.c: the path glob dialect (sg_glob_compile, sg_glob_match;
 * SPEC 2.6.4), differential against a reference matcher written here.
 *
 * Input: "PATTERN\nSUBJECT\nSUBJECT..." (the first line is the pattern,
 * every further line a subject; a pattern cannot contain '\n' here).
 * The reference follows the SPEC's regex construction literally: scan
 * left to right, "/" "**" -> (/.*)?, "**" -> .*, "*" -> [^/]*, any other
 * byte literal, anchored; the whole pattern "/" "**" matches everything.
 * It is a memoised backtracking matcher over (token, offset), so pattern
 * and subjects are bounded to keep it fast. Longer inputs are still
 * compiled and matched (no reference) to exercise the size limit.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sockguard/arena.h"
#include "sockguard/glob.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REF_MAX_PAT 96
#define REF_MAX_SUBJ 384
#define GLOB_LIMIT 4095 /* longest pattern sg_glob_compile accepts */

enum { T_LIT, T_SEG, T_ANY, T_GROUP };

struct tok {
	int kind;
	unsigned char ch;
};

struct ref {
	const struct tok *t;
	size_t nt;
	const unsigned char *s;
	size_t n;
	signed char *memo; /* (nt + 1) x (n + 1): -1 unknown */
};

static size_t
ref_tokens(const char *p, size_t len, struct tok *t)
{
	size_t i = 0, n = 0;

	while (i < len) {
		if (p[i] == '/' && i + 2 < len && p[i + 1] == '*' &&
		    p[i + 2] == '*') {
			t[n++].kind = T_GROUP;
			i += 3;
		} else if (p[i] == '*' && i + 1 < len && p[i + 1] == '*') {
			t[n++].kind = T_ANY;
			i += 2;
		} else if (p[i] == '*') {
			t[n++].kind = T_SEG;
			i++;
		} else {
			t[n].kind = T_LIT;
			t[n++].ch = (unsigned char)p[i++];
		}
	}
	return n;
}

static bool
ref_at(struct ref *r, size_t ti, size_t si)
{
	signed char *m = &r->memo[ti * (r->n + 1) + si];
	bool ok = false;
	size_t k;

	if (*m >= 0)
		return *m;
	if (ti == r->nt) {
		ok = si == r->n;
	} else {
		switch (r->t[ti].kind) {
		case T_LIT:
			ok = si < r->n && r->s[si] == r->t[ti].ch &&
			    ref_at(r, ti + 1, si + 1);
			break;
		case T_SEG: /* [^/]* */
			for (k = si;; k++) {
				if (ref_at(r, ti + 1, k)) {
					ok = true;
					break;
				}
				if (k == r->n || r->s[k] == '/')
					break;
			}
			break;
		case T_ANY: /* .* */
			for (k = si; k <= r->n && !ok; k++)
				ok = ref_at(r, ti + 1, k);
			break;
		case T_GROUP: /* (/.*)? */
			ok = ref_at(r, ti + 1, si);
			if (!ok && si < r->n && r->s[si] == '/')
				for (k = si + 1; k <= r->n && !ok; k++)
					ok = ref_at(r, ti + 1, k);
			break;
		}
	}
	*m = ok;
	return ok;
}

static bool
ref_match(const char *pat, size_t plen, const char *s, size_t n)
{
	struct tok t[REF_MAX_PAT];
	struct ref r;
	bool ok;

	if (plen == 3 && memcmp(pat, "/**", 3) == 0)
		return true; /* the catch-all: everything */
	r.t = t;
	r.nt = ref_tokens(pat, plen, t);
	r.s = (const unsigned char *)s;
	r.n = n;
	r.memo = fz_malloc((r.nt + 1) * (n + 1));
	memset(r.memo, -1, (r.nt + 1) * (n + 1));
	ok = ref_at(&r, 0, 0);
	free(r.memo);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *nl = memchr(in, '\n', size);
	size_t plen = nl ? (size_t)(nl - in) : size;
	struct sg_arena *a = sg_arena_new();
	struct sg_glob *g;
	char *pat = fz_dup(in, plen);
	size_t off;

	g = sg_glob_compile(a, pat, plen);
	FZ_CHECK((g == NULL) == (plen > GLOB_LIMIT),
	    "compile of a %zu-byte pattern returned %p", plen, (void *)g);
	if (g == NULL)
		goto out;
	free(pat); /* the compiled glob must not point into the caller's copy */
	pat = NULL;

	off = nl ? plen + 1 : size;
	do {
		const char *e = memchr(in + off, '\n', size - off);
		size_t n = e ? (size_t)(e - (in + off)) : size - off;
		char *s = fz_dup(in + off, n);
		bool got = sg_glob_match(g, s, n);

		if (plen <= REF_MAX_PAT && n <= REF_MAX_SUBJ) {
			bool want = ref_match(in, plen, s, n);

			if (got != want) {
				fz_hexdump("pattern", in, plen);
				fz_hexdump("subject", s, n);
			}
			FZ_CHECK(got == want, "glob \"%.*s\" on \"%.*s\": %d, "
			    "reference %d", (int)plen, in, (int)n, s, got, want);
		}
		free(s);
		off += n + 1;
	} while (off <= size);
out:
	free(pat);
	sg_arena_free(a);
	return 0;
}
