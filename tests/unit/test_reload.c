/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "sockguard/cfg.h"
#include "sockguard/conf.h"
#include "sockguard/reload.h"

static const char *
no_env(const char *name)
{
	(void)name;
	return NULL;
}

static char *const empty_env[] = {NULL};

static struct sg_ir *
load(struct sg_arena *a, const char *yaml, struct sg_diag *d)
{
	struct sg_load_opts o;

	memset(&o, 0, sizeof(o));
	o.getenv = no_env;
	o.envp = empty_env;
	return sg_cfg_load_bytes(a, &o, "t.yaml", yaml, strlen(yaml), d);
}

static const char base[] =
    "response: { deny_verbosity: minimal }\n"
    "rules:\n"
    "  - { match: { method: GET, path: /a }, action: allow }\n"
    "  - { match: { method: GET, path: /b }, action: allow }\n"
    "  - { match: { method: GET, path: /c }, action: allow }\n"
    "  - { match: { method: '*', path: '/**' }, action: deny }\n";

static void
diff_of(const char *a_yaml, const char *b_yaml, struct sg_ir_diff *out,
    char *text, size_t cap)
{
	struct sg_arena *a = sg_arena_new(), *b = sg_arena_new();
	struct sg_diag d;
	struct sg_ir *ia, *ib;
	FILE *fp;

	sg_diag_init(&d);
	ia = load(a, a_yaml, &d);
	ib = load(b, b_yaml, &d);
	ck_assert_msg(ia != NULL && ib != NULL, "load failed");
	sg_ir_diff(ia, ib, out);
	fp = fmemopen(text, cap, "w");
	sg_ir_diff_print(out, fp);
	fclose(fp);
	sg_diag_free(&d);
	sg_arena_free(a);
	sg_arena_free(b);
}

START_TEST(identical_configs_have_no_diff)
{
	struct sg_ir_diff d;
	char text[4096] = "";

	diff_of(base, base, &d, text, sizeof(text));
	ck_assert_uint_eq(d.n + d.nrules, 0);
	ck_assert_str_eq(text, "");
	sg_ir_diff_free(&d);
}
END_TEST

START_TEST(rules_insert_delete_move)
{
	static const char b[] =
	    "response: { deny_verbosity: verbose }\n"
	    "rules:\n"
	    "  - { match: { method: GET, path: /c }, action: allow }\n"
	    "  - { match: { method: GET, path: /a }, action: allow }\n"
	    "  - { match: { method: POST, path: /d }, action: allow, "
	    "reason: \"new one\" }\n"
	    "  - { match: { method: '*', path: '/**' }, action: deny }\n";
	struct sg_ir_diff d;
	char text[4096] = "";

	diff_of(base, b, &d, text, sizeof(text));
	ck_assert_uint_eq(d.n, 1);
	ck_assert_uint_eq(d.nimmutable, 0);
	ck_assert_msg(strstr(text, "~ response.deny_verbosity: minimal -> "
	    "verbose\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "- rule 2: allow GET /b\n") != NULL, "%s",
	    text);
	ck_assert_msg(strstr(text, "+ rule 3: allow POST /d \"new one\"\n") !=
	    NULL, "%s", text);
	ck_assert_msg(strstr(text, "> rule ") != NULL, "%s", text);
	sg_ir_diff_free(&d);
}
END_TEST

START_TEST(immutable_changes_are_marked)
{
	static const char b[] =
	    "listen: { socket: /tmp/other.sock }\n"
	    "upstream:\n"
	    "  socket: /run/other-docker.sock\n"
	    "  request_timeout: 30s\n"
	    "log: { level: debug }\n"
	    "response: { deny_verbosity: minimal }\n"
	    "rules:\n"
	    "  - { match: { method: GET, path: /a }, action: allow }\n"
	    "  - { match: { method: GET, path: /b }, action: allow }\n"
	    "  - { match: { method: GET, path: /c }, action: allow }\n"
	    "  - { match: { method: '*', path: '/**' }, action: deny }\n";
	struct sg_ir_diff d;
	char text[4096] = "";

	diff_of(base, b, &d, text, sizeof(text));
	ck_assert_msg(strstr(text, "~ listen.socket: \"\" -> /tmp/other.sock  "
	    "(needs a restart)") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "~ upstream.socket: /var/run/docker.sock -> "
	    "/run/other-docker.sock  (needs a restart)") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "~ log.level: info -> debug  (needs a "
	    "restart)") != NULL, "%s", text);
	/* request_timeout is mutable (seed) */
	ck_assert_msg(strstr(text, "~ upstream.request_timeout: off -> 30s\n") !=
	    NULL, "%s", text);
	ck_assert_uint_ge(d.nimmutable, 4);
	sg_ir_diff_free(&d);
}
END_TEST

START_TEST(immutability_table)
{
	ck_assert(sg_ir_key_immutable("listen.socket"));
	ck_assert(sg_ir_key_immutable("upstream.endpoints[1].tls.ca_file"));
	ck_assert(sg_ir_key_immutable("upstream.failover.health_interval"));
	ck_assert(sg_ir_key_immutable("reload.debounce"));
	ck_assert(sg_ir_key_immutable("log.audit.output"));
	ck_assert(!sg_ir_key_immutable("upstream.request_timeout"));
	ck_assert(!sg_ir_key_immutable("rules_file"));
	ck_assert(!sg_ir_key_immutable("response.deny_verbosity"));
	ck_assert(!sg_ir_key_immutable("health.path"));
}
END_TEST

START_TEST(reload_keys)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_ir *ir;

	sg_diag_init(&d);
	ir = load(a, "reload: { enabled: true, debounce: 1s }\n", &d);
	ck_assert_ptr_nonnull(ir);
	ck_assert(ir->reload_enabled);
	ck_assert_int_eq(ir->reload_debounce_ns, 1000000000LL);
	ir = load(a, "", &d);
	ck_assert(!ir->reload_enabled);
	ck_assert_int_eq(ir->reload_debounce_ns, 250000000LL);
	ir = load(a, "reload:\n  debounce: -1s\n", &d);
	ck_assert_ptr_null(ir);
	ck_assert(sg_diag_has(&d, "t.yaml:2:13: error: reload.debounce: "
	    "reload.debounce must be >= 0"));
	sg_diag_reset(&d);
	ir = load(a, "reload:\n  debounce: soon\n", &d);
	ck_assert_ptr_null(ir);
	ck_assert(sg_diag_has(&d, "reload.debounce must be a valid Go "
	    "duration string, got \"soon\""));
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

Suite *suite_reload(void);

Suite *
suite_reload(void)
{
	Suite *s = suite_create("reload");
	TCase *tc = tcase_create("diff");

	tcase_add_test(tc, identical_configs_have_no_diff);
	tcase_add_test(tc, rules_insert_delete_move);
	tcase_add_test(tc, immutable_changes_are_marked);
	tcase_add_test(tc, immutability_table);
	tcase_add_test(tc, reload_keys);
	suite_add_tcase(s, tc);
	return s;
}
