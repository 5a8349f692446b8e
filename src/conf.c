/* SPDX-License-Identifier: MIT */
/*
 * conf.c: one compiled config generation (include/sockguard/conf.h).
 * Owns the arena holding the IR and the compiled policies (top-level and
 * one per client profile); refcounted so in-flight requests keep the
 * generation they started with. Does not parse or check anything itself.
 */
#include <stdlib.h>

#include "sockguard/conf.h"

struct sg_conf *
sg_conf_load(const struct sg_load_opts *o, struct sg_diag *d)
{
	struct sg_arena *a = sg_arena_new();
	const struct sg_ir *ir = sg_cfg_load(a, o, d);

	if (ir == NULL) {
		sg_arena_free(a);
		return NULL;
	}
	return sg_conf_compile(a, ir, d);
}

struct sg_conf *
sg_conf_compile(struct sg_arena *a, const struct sg_ir *ir,
    struct sg_diag *d)
{
	const struct sg_ir_clients *cl = &ir->clients;
	const struct sg_policy *p, **pp;
	struct sg_conf *c;
	size_t i;

	p = sg_policy_compile(a, ir->rules, ir->nrules, d);
	if (p == NULL) {
		sg_arena_free(a);
		return NULL;
	}
	/* Parallel to ir->clients.profiles; a profile's rules replace the
	 * top-level ones for its requests (SPEC 3.8). */
	pp = sg_arena_alloc(a, (cl->nprofiles + 1) * sizeof(*pp));
	for (i = 0; i < cl->nprofiles; i++) {
		pp[i] = sg_policy_compile(a, cl->profiles[i].rules,
		    cl->profiles[i].nrules, d);
		if (pp[i] == NULL) {
			sg_arena_free(a);
			return NULL;
		}
	}
	c = sg_arena_alloc(a, sizeof(*c));
	c->refcnt = 1;
	c->arena = a;
	c->ir = ir;
	c->policy = p;
	c->profile_policy = pp;
	c->generation = 1;
	return c;
}

struct sg_conf *
sg_conf_ref(struct sg_conf *c)
{
	__atomic_add_fetch(&c->refcnt, 1, __ATOMIC_RELAXED);
	return c;
}

void
sg_conf_unref(struct sg_conf *c)
{
	if (c == NULL)
		return;
	/* The conf lives in its own arena: free that last. */
	if (__atomic_sub_fetch(&c->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
		sg_arena_free(c->arena);
}
