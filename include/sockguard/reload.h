/* SPDX-License-Identifier: MIT */
/*
 * reload.h: comparing two config generations (ir_reload.c) and applying
 * a new one at runtime (reload.c).
 *
 * Every effective value of an IR is flattened to (key, text) pairs, the
 * rules to their DSL lines; two flattenings are compared key by key, and
 * the rule lists as sequences (added, removed, moved). A change to a
 * reload-immutable key (listeners, upstream.socket/endpoints/failover,
 * log.*, reload.*) refuses the reload, naming the key, both values and
 * "needs a restart".
 */
#ifndef SOCKGUARD_RELOAD_H
#define SOCKGUARD_RELOAD_H

#include <stdio.h>

#include "sockguard/ir.h"

struct sg_ir_change {
	char *key;
	char *old;        /* NULL: key absent before */
	char *new;        /* NULL: key absent now */
	bool immutable;
};

enum sg_rule_edit {
	SG_RULE_ADDED = 0,
	SG_RULE_REMOVED,
	SG_RULE_MOVED,
};

struct sg_rule_change {
	enum sg_rule_edit edit;
	char *rule;       /* DSL form */
	size_t from, to;  /* 1-based positions; 0 when not applicable */
};

struct sg_ir_diff {
	struct sg_ir_change *v;
	size_t n;
	size_t nimmutable;
	struct sg_rule_change *rules;
	size_t nrules;
};

/* Compares a (old) and b (new); returns the number of differences. */
size_t sg_ir_diff(const struct sg_ir *a, const struct sg_ir *b,
    struct sg_ir_diff *d);
void sg_ir_diff_free(struct sg_ir_diff *d);
/* Human-readable, one change per line ("- ", "+ ", "~ " prefixes). */
void sg_ir_diff_print(const struct sg_ir_diff *d, FILE *fp);
/* Why a reload from a to b is refused although b is a valid config (an
 * emptied file, or one that would fall back to the built-in rules), or
 * NULL; *unreadable tells the first kind from the second. */
const char *sg_ir_reload_refusal(const struct sg_ir *a,
    const struct sg_ir *b, bool *unreadable);
/* True when key (dotted, maybe with [i]) cannot change on reload. */
bool sg_ir_key_immutable(const char *key);

#endif
