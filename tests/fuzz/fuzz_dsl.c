/* SPDX-License-Identifier: MIT */
/*
 * fuzz_dsl.c: the rule DSL (sg_cfg_dsl_parse, sg_cfg_dsl_format).
 *
 * The input is a rules file. When it parses:
 *  - every rule is well formed (path starts with '/', no '%', methods
 *    upper-case and non-empty, '*' exclusive with names);
 *  - sg_cfg_dsl_format has snprintf semantics (same length whatever the
 *    capacity, truncated output is a NUL-terminated prefix);
 *  - the formatted rules, one per line, parse again to the same rules
 *    (action, methods, path, reason) and format to the same text.
 * Inputs whose paths or reasons hold control characters other than tab
 * and newline are not round-tripped (the DSL cannot write them); the
 * lexer refuses those, so this is only a guard.
 * Failed parses must still leave diagnostics, and never crash or leak.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sockguard/arena.h"
#include "sockguard/cfg.h"
#include "sockguard/diag.h"
#include "sockguard/policy.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
representable(const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
			return false;
	}
	return true;
}

static void
check_rule(const struct sg_ir_rule *r, size_t i)
{
	size_t k;

	FZ_CHECK(r->action == SG_ACTION_ALLOW || r->action == SG_ACTION_DENY,
	    "rule %zu action %d", i, (int)r->action);
	FZ_CHECK(r->path != NULL && r->path[0] == '/',
	    "rule %zu path does not start with '/'", i);
	FZ_CHECK(strchr(r->path, '%') == NULL, "rule %zu path has '%%'", i);
	FZ_CHECK(r->reason != NULL, "rule %zu reason NULL", i);
	if (r->any_method) {
		FZ_CHECK(r->nmethods == 0, "rule %zu: '*' and %zu names", i,
		    r->nmethods);
	} else {
		FZ_CHECK(r->nmethods > 0 && r->methods != NULL,
		    "rule %zu has no methods", i);
		for (k = 0; k < r->nmethods; k++) {
			const char *m = r->methods[k];

			FZ_CHECK(m != NULL && m[0] != '\0',
			    "rule %zu method %zu empty", i, k);
			for (; *m != '\0'; m++)
				FZ_CHECK(!(*m >= 'a' && *m <= 'z') &&
				    (unsigned char)*m > 0x20 && *m != ',' &&
				    *m != '#', "rule %zu method %zu byte "
				    "0x%02x", i, k, (unsigned char)*m);
		}
	}
}

static bool
rule_eq(const struct sg_ir_rule *x, const struct sg_ir_rule *y)
{
	size_t k;

	if (x->action != y->action || x->any_method != y->any_method ||
	    x->nmethods != y->nmethods || strcmp(x->path, y->path) != 0 ||
	    strcmp(x->reason, y->reason) != 0)
		return false;
	for (k = 0; k < x->nmethods; k++)
		if (strcmp(x->methods[k], y->methods[k]) != 0)
			return false;
	return true;
}

/* Formats r into a fresh heap string, checking snprintf semantics. */
static char *
format(const struct sg_ir_rule *r, size_t *len, uint64_t *rng)
{
	size_t n = sg_cfg_dsl_format(r, NULL, 0), cap, m;
	char *buf = fz_malloc(n + 1), *small;

	m = sg_cfg_dsl_format(r, buf, n + 1);
	FZ_CHECK(m == n && buf[n] == '\0' && strlen(buf) == n,
	    "format length %zu / %zu", m, n);
	FZ_CHECK(memchr(buf, '\n', n) == NULL, "newline in a formatted rule");
	/* truncated: same length returned, a NUL-terminated prefix */
	cap = 1 + fz_below(rng, n + 1);
	small = fz_malloc(cap);
	m = sg_cfg_dsl_format(r, small, cap);
	FZ_CHECK(m == n && strlen(small) == cap - 1 &&
	    memcmp(small, buf, cap - 1) == 0, "truncated format at %zu", cap);
	free(small);
	*len = n;
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t rng = fz_hash(data, size);
	struct sg_arena *a = sg_arena_new(), *b = NULL;
	struct sg_ir_rule *rules = NULL, *again = NULL;
	size_t nrules = 0, nagain = 0, i, tlen = 0;
	char *text = NULL, *text2 = NULL, **lines = NULL;
	size_t *llen = NULL;
	struct sg_diag d, d2;
	char *in = fz_dup(data, size);
	int rc;

	sg_diag_init(&d);
	sg_diag_init(&d2);
	rc = sg_cfg_dsl_parse(a, &d, "fuzz.rules", in, size, &rules, &nrules);
	free(in); /* the rules must not point into the caller's buffer */
	FZ_CHECK(rc == 0 || rc == -1, "rc %d", rc);
	if (rc != 0) {
		FZ_CHECK(d.nerr > 0, "failure without a diagnostic");
		goto out;
	}
	FZ_CHECK(d.nerr == 0 && nrules > 0 && rules != NULL,
	    "success with %zu errors, %zu rules", d.nerr, nrules);
	for (i = 0; i < nrules; i++) {
		check_rule(&rules[i], i);
		if (!representable(rules[i].path) ||
		    !representable(rules[i].reason))
			goto out;
	}

	/* format every rule, one per line */
	lines = fz_malloc(nrules * sizeof(*lines));
	llen = fz_malloc(nrules * sizeof(*llen));
	for (i = 0; i < nrules; i++) {
		lines[i] = format(&rules[i], &llen[i], &rng);
		tlen += llen[i] + 1;
	}
	text = fz_malloc(tlen);
	for (tlen = 0, i = 0; i < nrules; i++) {
		memcpy(text + tlen, lines[i], llen[i]);
		tlen += llen[i];
		text[tlen++] = '\n';
	}

	/* re-parse: the same rules */
	b = sg_arena_new();
	rc = sg_cfg_dsl_parse(b, &d2, "again.rules", text, tlen, &again,
	    &nagain);
	if (rc != 0) {
		fz_hexdump("formatted", text, tlen);
		sg_diag_print(&d2, stderr);
	}
	FZ_CHECK(rc == 0, "formatted rules do not parse");
	FZ_CHECK(nagain == nrules, "%zu rules became %zu", nrules, nagain);
	for (i = 0; i < nrules; i++) {
		size_t n2;

		if (!rule_eq(&rules[i], &again[i]))
			fz_hexdump("line", lines[i], llen[i]);
		FZ_CHECK(rule_eq(&rules[i], &again[i]),
		    "rule %zu changed in the round trip: %s", i, lines[i]);
		FZ_CHECK(again[i].loc.line == i + 1, "rule %zu on line %u",
		    i, again[i].loc.line);
		text2 = format(&again[i], &n2, &rng);
		FZ_CHECK(n2 == llen[i] && memcmp(text2, lines[i], n2) == 0,
		    "format not a fixed point: %s / %s", lines[i], text2);
		free(text2);
	}

	/* the rules compile (or are refused with a diagnostic) */
	{
		size_t nerr = d2.nerr;

		if (sg_policy_compile(b, again, nagain, &d2) == NULL)
			FZ_CHECK(d2.nerr > nerr, "policy refused silently");
	}
out:
	if (lines != NULL)
		for (i = 0; i < nrules; i++)
			free(lines[i]);
	free(lines);
	free(llen);
	free(text);
	sg_diag_free(&d);
	sg_diag_free(&d2);
	sg_arena_free(a);
	if (b != NULL)
		sg_arena_free(b);
	return 0;
}
