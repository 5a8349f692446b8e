/* SPDX-License-Identifier: MIT */
/*
 * cfg_env.c: the SOCKGUARD_* environment overlay (SPEC 2.2, 2.12). For
 * each key table entry with an environment name, a non-empty value
 * overrides the file; every other SOCKGUARD_* variable is an error
 * (unknown, not supported yet, or YAML-only). Owns nothing; reads the
 * environment through the load options so tests can inject one. Does
 * not convert values (cfg_lower does, with the same rules as YAML).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_int.h"

#define ENV_PREFIX "SOCKGUARD_"

extern char **environ;

static void env_check_unknown(struct sg_cfg_ctx *c, const char *name,
    size_t nlen);
static char *env_mechanical(struct sg_arena *a, const char *path);

int
sg_cfg_env_overlay(struct sg_cfg_ctx *c)
{
	const struct sg_load_opts *o = c->o;
	const struct sg_key *keys;
	char *const *ep;
	size_t nkeys, i, nerr = c->d->nerr;

	keys = sg_cfg_keys(&nkeys);
	for (i = 0; i < nkeys; i++) {
		const char *v;
		struct sg_loc loc;

		if (keys[i].env == NULL)
			continue;
		v = sg_cfg_getenv(o, keys[i].env);
		if (v == NULL || v[0] == '\0')
			continue; /* empty = unset (SPEC 2.2) */
		loc = (struct sg_loc){sg_arena_printf(c->a, "env:%s",
		    keys[i].env), 0, 0};
		if (keys[i].type == SG_KEY_UNSUPPORTED) {
			sg_diag_error(c->d, &loc, keys[i].path, "%s is not "
			    "supported yet by this version of sockguard",
			    keys[i].path);
			continue;
		}
		c->vals[i].src = SG_CFG_SRC_ENV;
		c->vals[i].loc = loc;
		c->vals[i].node = NULL;
		c->vals[i].text = sg_arena_strdup(c->a, v);
	}

	/* Unknown variables: only when the environment can be listed. */
	ep = o->envp;
	if (ep == NULL && o->getenv == NULL)
		ep = environ;
	for (; ep != NULL && *ep != NULL; ep++) {
		const char *eq = strchr(*ep, '=');

		if (strncmp(*ep, ENV_PREFIX, strlen(ENV_PREFIX)) != 0 ||
		    eq == NULL || eq[1] == '\0')
			continue;
		env_check_unknown(c, *ep, (size_t)(eq - *ep));
	}
	return c->d->nerr > nerr ? -1 : 0;
}

const char *
sg_cfg_getenv(const struct sg_load_opts *o, const char *name)
{
	size_t n = strlen(name);
	char *const *ep;

	if (o->getenv != NULL)
		return o->getenv(name);
	if (o->envp == NULL)
		return getenv(name);
	for (ep = o->envp; *ep != NULL; ep++)
		if (strncmp(*ep, name, n) == 0 && (*ep)[n] == '=')
			return *ep + n + 1;
	return NULL;
}

size_t
sg_cfg_split_list(struct sg_arena *a, const char *s, const char ***items)
{
	const char *p;
	size_t n = 1, i = 0;
	const char **v;

	for (p = s; *p != '\0'; p++)
		if (*p == ',')
			n++;
	v = sg_arena_alloc(a, n * sizeof(*v));
	for (p = s;; p++) {
		const char *e = strchr(p, ',');

		if (e == NULL) {
			v[i++] = sg_arena_strdup(a, p);
			break;
		}
		v[i++] = sg_arena_strndup(a, p, (size_t)(e - p));
		p = e;
	}
	*items = v;
	return i;
}

static void
env_check_unknown(struct sg_cfg_ctx *c, const char *var, size_t nlen)
{
	const struct sg_key *keys;
	char *name = sg_arena_strndup(c->a, var, nlen);
	struct sg_loc loc = {sg_arena_printf(c->a, "env:%s", name), 0, 0};
	const char *best;
	size_t nkeys, i;

	keys = sg_cfg_keys(&nkeys);
	for (i = 0; i < nkeys; i++)
		if (keys[i].env != NULL && strcmp(keys[i].env, name) == 0)
			return;
	for (i = 0; i < nkeys; i++) {
		const struct sg_key *k = &keys[i];
		char *mech;
		size_t ml;

		if (k->env != NULL)
			continue;
		mech = env_mechanical(c->a, k->path);
		ml = strlen(mech);
		if (k->type == SG_KEY_UNSUPPORTED && (strcmp(mech, name) == 0 ||
		    (strncmp(mech, name, ml) == 0 && name[ml] == '_' &&
		    !sg_cfg_key_has_children(k)))) {
			/* e.g. SOCKGUARD_REQUEST_BODY_EXEC_ALLOW_PRIVILEGED */
			sg_diag_error(c->d, &loc, k->path, "%s is not "
			    "supported yet by this version of sockguard",
			    k->path);
			return;
		}
		if ((k->flags & SG_KEYF_YAML_ONLY) && strcmp(mech, name) == 0) {
			sg_diag_error(c->d, &loc, k->path, "%s can only be set "
			    "in the YAML config file, not from the environment",
			    k->path);
			return;
		}
	}
	best = sg_cfg_env_suggest(name);
	if (best != NULL)
		sg_diag_error(c->d, &loc, NULL, "unknown environment variable "
		    "%s; did you mean %s?", name, best);
	else
		sg_diag_error(c->d, &loc, NULL, "unknown environment variable "
		    "%s", name);
}

/* SOCKGUARD_ + upper-case path with '.' -> '_' (SPEC 2.2). */
static char *
env_mechanical(struct sg_arena *a, const char *path)
{
	char *s = sg_arena_printf(a, ENV_PREFIX "%s", path), *p;

	for (p = s; *p != '\0'; p++)
		*p = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
	return s;
}
