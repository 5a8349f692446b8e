/* SPDX-License-Identifier: MIT */
/*
 * conf.h: one compiled config generation. Built from the IR (rules
 * compiled, derived values computed), immutable once built, refcounted:
 * the runtime holds one reference, each in-flight request holds one, and
 * the last unref frees the arena that owns IR and compiled policy.
 */
#ifndef SOCKGUARD_CONF_H
#define SOCKGUARD_CONF_H

#include "sockguard/arena.h"
#include "sockguard/cfg.h"
#include "sockguard/ir.h"
#include "sockguard/policy.h"

struct sg_conf {
	unsigned refcnt;
	struct sg_arena *arena;
	const struct sg_ir *ir;
	const struct sg_policy *policy;
	/* one compiled policy per ir->clients.profiles[i] */
	const struct sg_policy **profile_policy;
	uint64_t generation;       /* policy generation, 1 at startup */
	int64_t loaded_at;         /* wall clock, seconds */
	char sha256[65];           /* of the config file bytes, "" if none */
};

/* Load, check and compile. NULL with every error in d. */
struct sg_conf *sg_conf_load(const struct sg_load_opts *o, struct sg_diag *d);
/* Compile an IR already in arena a (takes ownership of a). */
struct sg_conf *sg_conf_compile(struct sg_arena *a, const struct sg_ir *ir,
    struct sg_diag *d);
struct sg_conf *sg_conf_ref(struct sg_conf *c);
void sg_conf_unref(struct sg_conf *c);

#endif
