/* SPDX-License-Identifier: MIT */
/* Policy-level warnings of ir_check: uninspected request bodies. */
#include <string.h>

#include <check.h>

#include "sockguard/cfg.h"

static const char *
no_env(const char *name)
{
	(void)name;
	return NULL;
}

static char *const empty_env[] = {NULL};

static bool
warns(const char *yaml, const char *needle)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_load_opts o;
	struct sg_diag d;
	struct sg_ir *ir;
	bool hit;

	memset(&o, 0, sizeof(o));
	o.getenv = no_env;
	o.envp = empty_env;
	sg_diag_init(&d);
	ir = sg_cfg_load_bytes(a, &o, "t.yaml", yaml, strlen(yaml), &d);
	ck_assert_msg(ir != NULL, "load failed");
	hit = sg_diag_has(&d, needle);
	sg_diag_free(&d);
	sg_arena_free(a);
	return hit;
}

START_TEST(allowed_create_warns_about_uninspected_bodies)
{
	ck_assert(warns("rules:\n"
	    "  - { match: { method: POST, path: /containers/create }, "
	    "action: allow }\n"
	    "  - { match: { method: '*', path: '/**' }, action: deny }\n",
	    "t.yaml:2:5: warning: rules[0]: request bodies are not inspected "
	    "by this version: the rules allow POST /containers/create"));
}
END_TEST

START_TEST(default_rules_do_not_warn)
{
	ck_assert(!warns("log: { level: info }\n", "not inspected"));
	ck_assert(!warns("rules:\n"
	    "  - { match: { method: GET, path: '/containers/json' }, "
	    "action: allow }\n"
	    "  - { match: { method: '*', path: '/**' }, action: deny }\n",
	    "not inspected"));
}
END_TEST

Suite *suite_checks(void);

Suite *
suite_checks(void)
{
	Suite *s = suite_create("checks");
	TCase *tc = tcase_create("bodies");

	tcase_add_test(tc, allowed_create_warns_about_uninspected_bodies);
	tcase_add_test(tc, default_rules_do_not_warn);
	suite_add_tcase(s, tc);
	return s;
}
