/* SPDX-License-Identifier: MIT */
/* Tecnativa compatibility variables (cfg_compat.c, SPEC 2.8) and aliases. */
#include <string.h>

#include <check.h>

#include "sockguard/cfg.h"
#include "sockguard/ir.h"

/* the environment of the load under test: "NAME=value" entries */
static const char *const *test_env;

static const char *
table_env(const char *name)
{
	size_t n = strlen(name);
	const char *const *e;

	for (e = test_env; e != NULL && *e != NULL; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

static char *const empty_envp[] = {NULL};

struct loaded {
	struct sg_arena *a;
	struct sg_diag d;
	struct sg_ir *ir;
};

static void
load(struct loaded *l, const char *yaml, const char *const *env)
{
	struct sg_load_opts o;

	memset(&o, 0, sizeof(o));
	test_env = env;
	o.getenv = table_env;
	o.envp = empty_envp;
	l->a = sg_arena_new();
	sg_diag_init(&l->d);
	l->ir = sg_cfg_load_bytes(l->a, &o, "t.yaml", yaml, strlen(yaml),
	    &l->d);
}

static void
unload(struct loaded *l)
{
	sg_diag_free(&l->d);
	sg_arena_free(l->a);
}

/* rule i as "METHODS PATH ACTION", methods joined with ',' ("*": any) */
static const char *
rule(const struct sg_ir *ir, size_t i)
{
	static char b[256];
	const struct sg_ir_rule *r = &ir->rules[i];
	size_t j, o = 0;

	if (r->any_method)
		o += (size_t)snprintf(b, sizeof(b), "*");
	for (j = 0; j < r->nmethods; j++)
		o += (size_t)snprintf(b + o, sizeof(b) - o, "%s%s", j ? "," : "",
		    r->methods[j]);
	snprintf(b + o, sizeof(b) - o, " %s %s", r->path,
	    r->action == SG_ACTION_ALLOW ? "allow" : "deny");
	return b;
}

START_TEST(off_without_variables)
{
	struct loaded l;

	load(&l, "log: { level: info }\n", NULL);
	ck_assert_ptr_nonnull(l.ir);
	ck_assert_ptr_null(l.ir->compat_env);
	ck_assert(l.ir->rules_are_default);
	unload(&l);
}
END_TEST

START_TEST(sections_and_grants_in_order)
{
	static const char *const env[] = {"CONTAINERS=1", "ALLOW_START=yes",
	    "ALLOW_RESTARTS=TRUE", "EVENTS=0", "INFO=true",
	    "SOCKGUARD_INSECURE_ALLOW_READ_EXFILTRATION=true", NULL};
	static const char *const want[] = {"GET,HEAD /_ping allow",
	    "GET,HEAD /version allow", "GET,HEAD /containers/** allow",
	    "GET,HEAD /info allow", "POST /containers/*/kill allow",
	    "POST /containers/*/restart allow",
	    "POST /containers/*/start allow", "POST /containers/*/stop allow",
	    "* /** deny"};
	struct loaded l;
	size_t i;

	load(&l, "log: { level: info }\n", env);
	ck_assert_ptr_nonnull(l.ir);
	ck_assert_uint_eq(l.ir->nrules, SG_ARRAY_LEN(want));
	for (i = 0; i < SG_ARRAY_LEN(want); i++)
		ck_assert_str_eq(rule(l.ir, i), want[i]);
	ck_assert_str_eq(l.ir->rules[2].loc.file, "env:CONTAINERS");
	ck_assert_str_eq(l.ir->rules[0].loc.file, "tecnativa default PING");
	ck_assert_str_eq(l.ir->rules[8].reason, "no matching allow rule");
	ck_assert_str_eq(l.ir->compat_env, "EVENTS=off CONTAINERS=on "
	    "INFO=on ALLOW_START=on ALLOW_RESTARTS=on");
	ck_assert(!l.ir->rules_are_default);
	unload(&l);
}
END_TEST

START_TEST(post_opens_every_method_of_a_section)
{
	static const char *const env[] = {"POST=1", "EXEC=1", "PING=0",
	    "VERSION=no", "EVENTS=false", NULL};
	struct loaded l;

	load(&l, "", env);
	ck_assert_ptr_nonnull(l.ir);
	ck_assert_uint_eq(l.ir->nrules, 3);
	ck_assert_str_eq(rule(l.ir, 0), "* /exec/** allow");
	ck_assert_str_eq(rule(l.ir, 1), "* /containers/*/exec allow");
	ck_assert_str_eq(rule(l.ir, 2), "* /** deny");
	unload(&l);
}
END_TEST

START_TEST(only_while_the_rules_are_the_defaults)
{
	static const char *const env[] = {"CONTAINERS=1", NULL};
	struct loaded l;

	/* rules of one's own win: the variables are ignored */
	load(&l, "rules:\n"
	    "  - { match: { method: GET, path: /info }, action: allow }\n",
	    env);
	ck_assert_ptr_nonnull(l.ir);
	ck_assert_ptr_null(l.ir->compat_env);
	ck_assert_uint_eq(l.ir->nrules, 1);
	unload(&l);
	/* the defaults written out count as the defaults */
	load(&l, "insecure_allow_read_exfiltration: true\n"
	    "rules:\n"
	    "  - { match: { method: GET, path: /_ping }, action: allow }\n"
	    "  - { match: { method: HEAD, path: /_ping }, action: allow }\n"
	    "  - { match: { method: GET, path: /version }, action: allow }\n"
	    "  - { match: { method: GET, path: /events }, action: allow }\n"
	    "  - { match: { method: '*', path: '/**' }, action: deny, "
	    "reason: no matching allow rule }\n", env);
	ck_assert_ptr_nonnull(l.ir);
	ck_assert_ptr_nonnull(l.ir->compat_env);
	ck_assert_str_eq(rule(l.ir, 3), "GET,HEAD /containers/** allow");
	unload(&l);
}
END_TEST

START_TEST(probes_name_the_variable)
{
	static const char *const env[] = {"CONTAINERS=1", NULL};
	struct loaded l;

	load(&l, "", env);
	ck_assert_ptr_null(l.ir);
	ck_assert(sg_diag_has(&l.d, "env:CONTAINERS: error: rule 4: rules "
	    "allow raw archive/export"));
	unload(&l);
}
END_TEST

START_TEST(unparseable_values_count_as_off)
{
	static const char *const env[] = {"PING=maybe", "VERSION=0", NULL};
	struct loaded l;

	load(&l, "", env);
	ck_assert_ptr_nonnull(l.ir);
	ck_assert(sg_diag_has(&l.d, "env:PING: warning: PING: ignoring compat "
	    "env var with unparseable boolean value \"maybe\""));
	ck_assert_uint_eq(l.ir->nrules, 2);
	ck_assert_str_eq(rule(l.ir, 0), "GET,HEAD /events allow");
	unload(&l);
}
END_TEST

START_TEST(an_empty_value_is_present_and_off)
{
	/* PING= alone turns compat on, and PING is off (with the warning) */
	static const char *const env[] = {"PING=", NULL};
	struct loaded l;

	load(&l, "", env);
	ck_assert_ptr_nonnull(l.ir);
	ck_assert_ptr_nonnull(l.ir->compat_env);
	ck_assert(sg_diag_has(&l.d, "env:PING: warning: PING: ignoring compat "
	    "env var with unparseable boolean value \"\""));
	ck_assert_uint_eq(l.ir->nrules, 3);
	ck_assert_str_eq(rule(l.ir, 0), "GET,HEAD /version allow");
	ck_assert_str_eq(rule(l.ir, 1), "GET,HEAD /events allow");
	unload(&l);
}
END_TEST

START_TEST(grpc_implies_the_tunnel_acknowledgement)
{
	static const char *const env[] = {"GRPC=1", NULL};
	struct loaded l;

	load(&l, "", env);
	ck_assert_ptr_nonnull(l.ir);
	ck_assert(l.ir->insecure_accept_opaque_buildkit_tunnels);
	ck_assert(sg_diag_has(&l.d, "env:GRPC: warning: "
	    "insecure_accept_opaque_buildkit_tunnels: GRPC or SESSION turns "
	    "on"));
	/* one warning, not a second one from the setting itself */
	ck_assert(!sg_diag_has(&l.d, "is enabled (deprecated)"));
	unload(&l);
}
END_TEST

START_TEST(socket_path_and_log_level_aliases)
{
	static const char *const env[] = {"SOCKET_PATH= /run/d.sock ",
	    "LOG_LEVEL=Warning", NULL};
	static const char *const env2[] = {"SOCKET_PATH=/run/d.sock",
	    "SOCKGUARD_UPSTREAM_SOCKET=/run/sg.sock", "LOG_LEVEL=crit",
	    "SOCKGUARD_LOG_LEVEL=debug", NULL};
	static const char *const env3[] = {"LOG_LEVEL=loud", NULL};
	struct loaded l;

	load(&l, "upstream: { socket: /run/file.sock }\n"
	    "log: { level: error }\n", env);
	ck_assert_ptr_nonnull(l.ir);
	ck_assert_str_eq(l.ir->upstream.socket, "/run/d.sock");
	ck_assert_int_eq(l.ir->log.level, SG_LOG_WARN);
	unload(&l);
	/* SOCKGUARD_* wins over the aliases */
	load(&l, "", env2);
	ck_assert_ptr_nonnull(l.ir);
	ck_assert_str_eq(l.ir->upstream.socket, "/run/sg.sock");
	ck_assert_int_eq(l.ir->log.level, SG_LOG_DEBUG);
	unload(&l);
	load(&l, "", env3);
	ck_assert_ptr_null(l.ir);
	ck_assert(sg_diag_has(&l.d, "env:LOG_LEVEL: error: log.level"));
	unload(&l);
}
END_TEST

Suite *suite_compat(void);

Suite *
suite_compat(void)
{
	Suite *s = suite_create("compat");
	TCase *tc = tcase_create("tecnativa");

	tcase_add_test(tc, off_without_variables);
	tcase_add_test(tc, sections_and_grants_in_order);
	tcase_add_test(tc, post_opens_every_method_of_a_section);
	tcase_add_test(tc, only_while_the_rules_are_the_defaults);
	tcase_add_test(tc, probes_name_the_variable);
	tcase_add_test(tc, unparseable_values_count_as_off);
	tcase_add_test(tc, an_empty_value_is_present_and_off);
	tcase_add_test(tc, grpc_implies_the_tunnel_acknowledgement);
	tcase_add_test(tc, socket_path_and_log_level_aliases);
	suite_add_tcase(s, tc);
	return s;
}
