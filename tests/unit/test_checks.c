/* SPDX-License-Identifier: MIT */
/*
 * Policy-level checks of ir_check: uninspected request bodies (warnings),
 * BuildKit tunnels (an error unless acknowledged).
 */
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

/* Whether loading YAML reports NEEDLE; *loaded: the IR came out. */
static bool
reports(const char *yaml, const char *needle, bool *loaded)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_load_opts o;
	struct sg_diag d;
	bool hit;

	memset(&o, 0, sizeof(o));
	o.getenv = no_env;
	o.envp = empty_env;
	sg_diag_init(&d);
	*loaded = sg_cfg_load_bytes(a, &o, "t.yaml", yaml, strlen(yaml), &d) !=
	    NULL;
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

START_TEST(buildkit_tunnels_need_the_acknowledgement)
{
	static const char broad[] =
	    "insecure_allow_read_exfiltration: true\n"
	    "rules:\n"
	    "  - { match: { method: GET, path: /_ping }, action: allow }\n"
	    "  - { match: { method: '*', path: '/**' }, action: allow }\n";
	bool loaded;

	ck_assert(reports(broad, "t.yaml:4:5: error: rules[1]: the rules "
	    "allow BuildKit tunnels (POST /session, POST /grpc, POST "
	    "/moby.buildkit.v1.Control/Solve)", &loaded));
	ck_assert(!loaded);
	ck_assert(reports(broad, "insecure_accept_opaque_buildkit_tunnels: "
	    "true to relay them anyway", &loaded));
	/* the solve call alone needs it too (SPEC 2.6.7) */
	ck_assert(reports("rules:\n"
	    "  - { match: { method: POST, path: '/moby.buildkit.v1.Control/**' }, "
	    "action: allow }\n",
	    "allow BuildKit tunnels (POST /moby.buildkit.v1.Control/Solve)",
	    &loaded));
	ck_assert(!loaded);
	/* one of the others is enough */
	ck_assert(reports("rules:\n"
	    "  - { match: { method: POST, path: /grpc }, action: allow }\n",
	    "allow BuildKit tunnels (POST /grpc)", &loaded));
	ck_assert(!loaded);
	/* a profile's rules are probed too, and named */
	ck_assert(reports("clients:\n"
	    "  default_profile: ci\n"
	    "  profiles:\n"
	    "    - name: ci\n"
	    "      rules:\n"
	    "        - { match: { method: POST, path: /session }, "
	    "action: allow }\n",
	    "error: clients.profiles[0].rules[0]: the client profile \"ci\" "
	    "rules allow BuildKit tunnels (POST /session)", &loaded));
	ck_assert(!loaded);
	/* denied ahead of a broad allow: no error */
	ck_assert(!reports("insecure_allow_read_exfiltration: true\n"
	    "rules:\n"
	    "  - { match: { method: POST, path: /session }, action: deny }\n"
	    "  - { match: { method: POST, path: /grpc }, action: deny }\n"
	    "  - { match: { method: POST, path: '/moby.buildkit.v1.*/**' }, "
	    "action: deny }\n"
	    "  - { match: { method: '*', path: '/**' }, action: allow }\n",
	    "BuildKit", &loaded));
	ck_assert(loaded);
}
END_TEST

START_TEST(buildkit_acknowledgement_warns)
{
	bool loaded;

	ck_assert(reports("insecure_accept_opaque_buildkit_tunnels: true\n"
	    "rules:\n"
	    "  - { match: { method: POST, path: /session }, action: allow }\n",
	    "t.yaml:1:42: warning: insecure_accept_opaque_buildkit_tunnels: "
	    "insecure_accept_opaque_buildkit_tunnels is enabled (deprecated)",
	    &loaded));
	ck_assert(loaded);
	ck_assert(!reports("insecure_accept_opaque_buildkit_tunnels: true\n"
	    "rules:\n"
	    "  - { match: { method: POST, path: /session }, action: allow }\n",
	    "error", &loaded));
	ck_assert(!reports("log: { level: info }\n", "buildkit", &loaded));
	ck_assert(loaded);
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
	tc = tcase_create("buildkit");
	tcase_add_test(tc, buildkit_tunnels_need_the_acknowledgement);
	tcase_add_test(tc, buildkit_acknowledgement_warns);
	suite_add_tcase(s, tc);
	return s;
}
