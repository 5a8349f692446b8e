/* SPDX-License-Identifier: MIT */
/*
 * cfg_compat.c: the environment of Tecnativa's docker-socket-proxy
 * (CONTAINERS=1, POST=0, ALLOW_START=1, ...), SPEC 2.8, so sockguard can
 * take its place with the same variables. It applies only while the rules
 * are the built-in defaults and at least one of the variables is set; it
 * then replaces them with rules built from the variables, each located at
 * its variable (env:CONTAINERS), so the startup probes that follow name it.
 */
#include <string.h>
#include <strings.h>

#include "cfg_int.h"
#include "sockguard/policy.h"

/* Sections: one allow rule each (two for EXEC), in this order. */
static const struct compat_section {
	const char *var;
	bool on;               /* default when unset */
	const char *path, *path2;
} compat_sections[] = {
	{"PING", true, "/_ping", NULL},
	{"VERSION", true, "/version", NULL},
	{"EVENTS", true, "/events", NULL},
	{"AUTH", false, "/auth/**", NULL},
	{"BUILD", false, "/build/**", NULL},
	{"COMMIT", false, "/commit/**", NULL},
	{"CONFIGS", false, "/configs/**", NULL},
	{"CONTAINERS", false, "/containers/**", NULL},
	{"DISTRIBUTION", false, "/distribution/**", NULL},
	{"EXEC", false, "/exec/**", "/containers/*/exec"},
	{"GRPC", false, "/grpc/**", NULL},
	{"IMAGES", false, "/images/**", NULL},
	{"INFO", false, "/info", NULL},
	{"NETWORKS", false, "/networks/**", NULL},
	{"NODES", false, "/nodes/**", NULL},
	{"PLUGINS", false, "/plugins/**", NULL},
	{"SECRETS", false, "/secrets/**", NULL},
	{"SERVICES", false, "/services/**", NULL},
	{"SESSION", false, "/session/**", NULL},
	{"SWARM", false, "/swarm/**", NULL},
	{"SYSTEM", false, "/system/**", NULL},
	{"TASKS", false, "/tasks/**", NULL},
	{"VOLUMES", false, "/volumes/**", NULL},
};

/* Granular writes, independent of POST: the rule is in if any var is on. */
static const struct compat_grant {
	const char *vars[3];
	const char *method, *path;
} compat_grants[] = {
	{{"ALLOW_CREATE"}, "POST", "/containers/create"},
	{{"ALLOW_DELETE"}, "DELETE", "/containers/*"},
	{{"ALLOW_EXEC"}, "POST", "/containers/*/exec"},
	{{"ALLOW_KILL", "ALLOW_RESTARTS", "ALLOW_RESTART"}, "POST",
	    "/containers/*/kill"},
	{{"ALLOW_PAUSE"}, "POST", "/containers/*/pause"},
	{{"ALLOW_PRUNE"}, "POST", "/containers/prune"},
	{{"ALLOW_RESTARTS", "ALLOW_RESTART"}, "POST", "/containers/*/restart"},
	{{"ALLOW_START"}, "POST", "/containers/*/start"},
	{{"ALLOW_STOP", "ALLOW_RESTARTS", "ALLOW_RESTART"}, "POST",
	    "/containers/*/stop"},
	{{"ALLOW_UNPAUSE"}, "POST", "/containers/*/unpause"},
};

/* The other recognised names (the sections' come from their table). */
static const char *const compat_other[] = {
	"POST", "ALLOW_START", "ALLOW_STOP", "ALLOW_RESTART", "ALLOW_RESTARTS",
	"ALLOW_PAUSE", "ALLOW_UNPAUSE", "ALLOW_CREATE", "ALLOW_EXEC",
	"ALLOW_KILL", "ALLOW_DELETE", "ALLOW_PRUNE",
};

#define COMPAT_NVARS \
	(SG_ARRAY_LEN(compat_sections) + SG_ARRAY_LEN(compat_other))

static const char *compat_m_read[] = {"GET", "HEAD"};
static const char *compat_m_post[] = {"POST"};
static const char *compat_m_delete[] = {"DELETE"};

enum compat_val { COMPAT_UNSET = 0, COMPAT_ON, COMPAT_OFF };

struct compat {
	struct sg_cfg_ctx *c;
	enum compat_val val[COMPAT_NVARS]; /* by compat_name() index */
};

static bool compat_rules_default(const struct sg_ir *ir);
static bool compat_read(struct compat *k);
static const char *compat_name(size_t i);
static enum compat_val compat_val(const struct compat *k, const char *var);
static bool compat_on(const struct compat *k, const char *var, bool def);
static void compat_add(struct compat *k, struct sg_ir *ir, const char **m,
    size_t nm, bool any, const char *path, const char *var);

bool
sg_cfg_compat(struct sg_cfg_ctx *c, struct sg_ir *ir)
{
	struct compat k;
	bool post, tunnels = false;
	size_t i, j, cap;

	if (!compat_rules_default(ir))
		return false;
	memset(&k, 0, sizeof(k));
	k.c = c;
	if (!compat_read(&k))
		return false;

	cap = 2 * SG_ARRAY_LEN(compat_sections) + SG_ARRAY_LEN(compat_grants) +
	    1;
	ir->rules = sg_arena_alloc(c->a, cap * sizeof(*ir->rules));
	ir->nrules = 0;
	post = compat_on(&k, "POST", false);
	for (i = 0; i < SG_ARRAY_LEN(compat_sections); i++) {
		const struct compat_section *s = &compat_sections[i];

		if (!compat_on(&k, s->var, s->on))
			continue;
		compat_add(&k, ir, post ? NULL : compat_m_read, post ? 0 : 2,
		    post, s->path, s->var);
		if (s->path2 != NULL)
			compat_add(&k, ir, post ? NULL : compat_m_read,
			    post ? 0 : 2, post, s->path2, s->var);
		if (strcmp(s->var, "GRPC") == 0 ||
		    strcmp(s->var, "SESSION") == 0)
			tunnels = true;
	}
	for (i = 0; i < SG_ARRAY_LEN(compat_grants); i++) {
		const struct compat_grant *g = &compat_grants[i];
		const char *by = NULL;

		for (j = 0; j < 3 && g->vars[j] != NULL && by == NULL; j++)
			if (compat_on(&k, g->vars[j], false))
				by = g->vars[j];
		if (by != NULL)
			compat_add(&k, ir, strcmp(g->method, "DELETE") == 0 ?
			    compat_m_delete : compat_m_post, 1, false, g->path,
			    by);
	}
	ir->rules[ir->nrules] =
	    sg_policy_default_rules[sg_policy_ndefault_rules - 1];
	ir->rules[ir->nrules++].loc = (struct sg_loc){"tecnativa compat", 0, 0};
	ir->rules_are_default = false;
	ir->compat_env = "";
	for (i = 0; i < COMPAT_NVARS; i++)
		if (k.val[i] != COMPAT_UNSET)
			ir->compat_env = sg_arena_printf(c->a, "%s%s%s=%s",
			    ir->compat_env, ir->compat_env[0] ? " " : "",
			    compat_name(i), k.val[i] == COMPAT_ON ? "on" : "off");
	if (tunnels && !ir->insecure_accept_opaque_buildkit_tunnels) {
		struct sg_loc loc = {compat_on(&k, "GRPC", false) ?
		    "env:GRPC" : "env:SESSION", 0, 0};

		/* SPEC 2.8: these sections imply the acknowledgement */
		ir->insecure_accept_opaque_buildkit_tunnels = true;
		ir->buildkit_by_compat = true;
		sg_diag_warn(c->d, &loc, "insecure_accept_opaque_buildkit_tunnels",
		    "GRPC or SESSION turns on "
		    "insecure_accept_opaque_buildkit_tunnels (deprecated): "
		    "BuildKit sessions are relayed as tunnels that sockguard "
		    "cannot see into");
	}
	return true;
}

/* The rules are the built-in defaults, by fallback or written out. */
static bool
compat_rules_default(const struct sg_ir *ir)
{
	size_t i, j;

	if (ir->rules_are_default)
		return true;
	if (ir->nrules != sg_policy_ndefault_rules)
		return false;
	for (i = 0; i < ir->nrules; i++) {
		const struct sg_ir_rule *a = &ir->rules[i];
		const struct sg_ir_rule *b = &sg_policy_default_rules[i];

		if (a->any_method != b->any_method || a->action != b->action ||
		    strcmp(a->path, b->path) != 0 ||
		    strcmp(a->reason, b->reason) != 0)
			return false;
		if (a->any_method)
			continue; /* "*" stands for every method */
		if (a->nmethods != b->nmethods)
			return false;
		for (j = 0; j < a->nmethods; j++)
			if (strcmp(a->methods[j], b->methods[j]) != 0)
				return false;
	}
	return true;
}

/*
 * Reads every recognised variable once: 1/true/yes on, 0/false/no off
 * (any case), unset or empty unset; anything else is off, with a warning
 * (SPEC 2.8). Returns whether any is set.
 */
static bool
compat_read(struct compat *k)
{
	bool any = false;
	size_t i;

	for (i = 0; i < COMPAT_NVARS; i++) {
		const char *var = compat_name(i);
		const char *v = sg_cfg_getenv(k->c->o, var);

		/* present, even empty, is set (SPEC 2.8.1): "" is off */
		if (v == NULL)
			continue;
		any = true;
		if (strcasecmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
		    strcasecmp(v, "yes") == 0) {
			k->val[i] = COMPAT_ON;
		} else if (strcasecmp(v, "0") == 0 ||
		    strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0) {
			k->val[i] = COMPAT_OFF;
		} else {
			struct sg_loc loc = {sg_arena_printf(k->c->a, "env:%s",
			    var), 0, 0};

			k->val[i] = COMPAT_OFF;
			sg_diag_warn(k->c->d, &loc, var, "ignoring compat env "
			    "var with unparseable boolean value \"%s\" (use "
			    "1/true/yes or 0/false/no): %s counts as off",
			    v, var);
		}
	}
	return any;
}

/* The i-th recognised name: the sections' in order, then the others. */
static const char *
compat_name(size_t i)
{
	return i < SG_ARRAY_LEN(compat_sections) ? compat_sections[i].var :
	    compat_other[i - SG_ARRAY_LEN(compat_sections)];
}

static enum compat_val
compat_val(const struct compat *k, const char *var)
{
	size_t i;

	for (i = 0; i < COMPAT_NVARS; i++)
		if (strcmp(compat_name(i), var) == 0)
			return k->val[i];
	return COMPAT_UNSET;
}

static bool
compat_on(const struct compat *k, const char *var, bool def)
{
	enum compat_val v = compat_val(k, var);

	return v == COMPAT_UNSET ? def : v == COMPAT_ON;
}

/* One allow rule, located at the variable that made it (or its default). */
static void
compat_add(struct compat *k, struct sg_ir *ir, const char **m, size_t nm,
    bool any, const char *path, const char *var)
{
	struct sg_ir_rule *r = &ir->rules[ir->nrules++];

	memset(r, 0, sizeof(*r));
	r->methods = m;
	r->nmethods = nm;
	r->any_method = any;
	r->path = path;
	r->action = SG_ACTION_ALLOW;
	r->reason = "";
	r->loc = (struct sg_loc){sg_arena_printf(k->c->a, "%s%s",
	    compat_val(k, var) != COMPAT_UNSET ? "env:" : "tecnativa default ",
	    var), 0, 0};
}
