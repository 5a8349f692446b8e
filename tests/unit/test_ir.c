/* SPDX-License-Identifier: MIT */
/*
 * test_ir.c: IR helpers (sg_ir_loc), the semantic checker on hand-built
 * IR, and the refcounted config generation (sg_conf_*).
 */
#include <string.h>

#include <check.h>

#include "../../src/cfg_int.h"
#include "sockguard/conf.h"
#include "sockguard/ir.h"
#include "sockguard/policy.h"

#include "fixtures.h"

/* Formatted entry i equals want exactly. */
#define ck_entry(d, i, want)                                            \
	do {                                                            \
		char buf_[2048];                                        \
		ck_assert_uint_gt((d)->n, (i));                         \
		sg_diag_format(&(d)->v[(i)], buf_, sizeof(buf_));       \
		ck_assert_str_eq(buf_, want);                           \
	} while (0)

/* A flat value set equal to the built-in defaults. */
static void
flat_defaults(struct sg_cfg_flat *f)
{
	memset(f, 0, sizeof(*f));
	f->listen_address = "127.0.0.1:2375";
	f->listen_socket = "";
	f->listen_socket_mode = "0600";
	f->listen_socket_uid = INT64_MIN;
	f->listen_socket_gid = INT64_MIN;
	f->listen_max_connections = 4096;
	f->upstream_socket = "/var/run/docker.sock";
	f->log_level = "info";
	f->log_format = "json";
	f->log_output = "stderr";
	f->log_access_log = true;
	f->log_audit_format = "json";
	f->log_audit_output = "stderr";
	f->deny_verbosity = "minimal";
	f->health_enabled = true;
	f->health_path = "/health";
	f->rules_file = "";
	f->min_api_version = "1.24";
	f->rules_ok = true;
}

START_TEST(ir_loc_finds_recorded_keys)
{
	struct sg_ir_keyloc kl[] = {
		{"listen.socket", {"a.yaml", 3, 5}},
		{"log.level", {"env:SOCKGUARD_LOG_LEVEL", 0, 0}},
	};
	struct sg_ir ir;
	const struct sg_loc *loc;

	memset(&ir, 0, sizeof(ir));
	ck_assert_ptr_null(sg_ir_loc(&ir, "listen.socket"));
	ir.keylocs = kl;
	ir.nkeylocs = 2;
	loc = sg_ir_loc(&ir, "listen.socket");
	ck_assert_ptr_eq(loc, &kl[0].loc);
	ck_assert_uint_eq(loc->line, 3);
	ck_assert_str_eq(sg_ir_loc(&ir, "log.level")->file,
	    "env:SOCKGUARD_LOG_LEVEL");
	ck_assert_ptr_null(sg_ir_loc(&ir, "listen"));
	ck_assert_ptr_null(sg_ir_loc(&ir, "listen.socket_mode"));
	ck_assert_ptr_null(sg_ir_loc(NULL, "listen.socket"));
	ck_assert_ptr_null(sg_ir_loc(&ir, NULL));
}
END_TEST

START_TEST(ir_check_accepts_defaults_and_finishes_ir)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_cfg_flat f;
	struct sg_ir *ir;

	sg_diag_init(&d);
	ir = ld_defaults(a, &d);
	flat_defaults(&f);
	f.log_level = "debug";
	f.log_format = "text";
	f.deny_verbosity = "verbose";
	f.min_api_version = "1.44";
	f.listen_max_connections = 7;
	ck_assert_int_eq(sg_ir_check(ir, &f, &d), 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_int_eq(ir->log.level, SG_LOG_DEBUG);
	ck_assert_int_eq(ir->log.format, SG_LOGFMT_TEXT);
	ck_assert_int_eq(ir->deny_verbosity, SG_DENY_VERBOSE);
	ck_assert_uint_eq(ir->min_api_minor, 44);
	ck_assert_uint_eq(ir->listeners[0].max_connections, 7);
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

START_TEST(ir_check_locates_errors_through_keylocs)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_cfg_flat f;
	struct sg_ir *ir;
	struct sg_ir_keyloc kl[] = {
		{"upstream.socket", {"u.yaml", 9, 11}},
	};

	sg_diag_init(&d);
	ir = ld_defaults(a, &d);
	flat_defaults(&f);
	/* Located through keylocs, and unlocated for a built-in default. */
	ir->upstream.socket = "relative.sock";
	ir->health_path = "nope";
	ir->keylocs = kl;
	ir->nkeylocs = 1;
	ck_assert_int_eq(sg_ir_check(ir, &f, &d), -1);
	ck_assert_msg(d.nerr == 2, "%s", diag_dump(&d));
	ck_entry(&d, 0, "u.yaml:9:11: error: upstream.socket: upstream.socket "
	    "must be an absolute path, got \"relative.sock\"");
	ck_entry(&d, 1, "error: health.path: health.path must start with /, "
	    "got \"nope\"");
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

START_TEST(ir_check_reports_everything_at_once)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_cfg_flat f;
	struct sg_ir *ir;

	sg_diag_init(&d);
	ir = ld_defaults(a, &d);
	flat_defaults(&f);
	f.log_level = "trace";
	f.log_format = "yaml";
	f.log_audit_format = "text";
	f.deny_verbosity = "loud";
	f.min_api_version = "one";
	f.listen_socket_mode = "0644";
	f.listen_socket_uid = -5;
	f.listen_max_connections = 0;
	ir->log.output = "../escape.log";
	ir->listeners[0].address = "";
	ck_assert_int_eq(sg_ir_check(ir, &f, &d), -1);
	ck_assert_msg(d.nerr == 10, "%s", diag_dump(&d));
	ck_assert(sg_diag_has(&d, "at least one listener is required"));
	ck_assert(sg_diag_has(&d, "socket_mode must be"));
	ck_assert(sg_diag_has(&d, "listen.socket_uid must be >= 0, got -5"));
	ck_assert(sg_diag_has(&d, "between 1 and 1048576, got 0"));
	ck_assert(sg_diag_has(&d, "got \"trace\""));
	ck_assert(sg_diag_has(&d, "got \"yaml\""));
	ck_assert(sg_diag_has(&d, "invalid log output \"../escape.log\""));
	ck_assert(sg_diag_has(&d, "log.audit.format must be json"));
	ck_assert(sg_diag_has(&d, "got \"loud\""));
	ck_assert(sg_diag_has(&d, "got \"one\""));
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

START_TEST(ir_check_probe_skipped_when_rules_broken)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_cfg_flat f;
	struct sg_ir *ir;
	static const char *any[] = {"GET"};
	struct sg_ir_rule r[] = {
		{any, 1, false, "/containers/**", SG_ACTION_ALLOW, "",
		    {"r.rules", 1, 1}},
	};

	sg_diag_init(&d);
	ir = ld_defaults(a, &d);
	flat_defaults(&f);
	ir->rules = r;
	ir->nrules = 1;
	ir->rules_are_default = false;
	ck_assert_int_eq(sg_ir_check(ir, &f, &d), -1);
	ck_assert(sg_diag_has(&d, "r.rules:1:1: error: rules[0]: rules allow "
	    "raw archive/export"));
	sg_diag_reset(&d);
	f.rules_ok = false;
	ck_assert_int_eq(sg_ir_check(ir, &f, &d), 0);
	ck_assert_uint_eq(d.n, 0);
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

START_TEST(conf_load_refcount)
{
	struct sg_load_opts o;
	struct sg_diag d;
	struct sg_conf *c;
	struct sg_verdict v;

	memset(&o, 0, sizeof(o));
	o.envp = ld_no_env;
	o.config_path = "/nonexistent/sockguard-test/sockguard.yaml";
	sg_diag_init(&d);
	c = sg_conf_load(&o, &d);
	ck_assert_msg(c != NULL, "%s", diag_dump(&d));
	ck_assert_uint_eq(c->refcnt, 1);
	ck_assert_uint_eq(c->generation, 1);
	ck_assert_ptr_nonnull(c->arena);
	ck_assert_ptr_nonnull(c->ir);
	ck_assert_ptr_nonnull(c->policy);
	ck_assert(c->ir->rules_are_default);
	sg_policy_eval(c->policy, "GET", 3, "/_ping", 6, &v);
	ck_assert_int_eq(v.action, SG_ACTION_ALLOW);
	sg_policy_eval(c->policy, "POST", 4, "/containers/create", 18, &v);
	ck_assert_int_eq(v.action, SG_ACTION_DENY);
	ck_assert_ptr_eq(sg_conf_ref(c), c);
	ck_assert_uint_eq(c->refcnt, 2);
	sg_conf_unref(c);
	ck_assert_uint_eq(c->refcnt, 1);
	sg_conf_unref(c); /* frees; ASan reports a leak or double free */
	sg_conf_unref(NULL);
	sg_diag_free(&d);
}
END_TEST

START_TEST(conf_load_failure_returns_null)
{
	struct sg_load_opts o;
	struct sg_diag d;

	memset(&o, 0, sizeof(o));
	o.envp = ld_no_env;
	o.config_path = "/nonexistent/sockguard-test/sockguard.yaml";
	o.config_explicit = true;
	sg_diag_init(&d);
	ck_assert_ptr_null(sg_conf_load(&o, &d));
	ck_assert_uint_eq(d.nerr, 1);
	ck_assert(sg_diag_has(&d, "config file: /nonexistent/sockguard-test/"
	    "sockguard.yaml: No such file or directory"));
	sg_diag_free(&d);
}
END_TEST

START_TEST(conf_compile_failure_frees_arena)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_ir *ir;
	struct sg_ir_rule bad = {NULL, 0, false, "/x", SG_ACTION_ALLOW, "",
	    {"b.rules", 2, 1}};

	sg_diag_init(&d);
	ir = ld_defaults(a, &d);
	ir->rules = &bad;
	ir->nrules = 1;
	/* Takes ownership of a: freed on failure (ASan checks). */
	ck_assert_ptr_null(sg_conf_compile(a, ir, &d));
	ck_assert_uint_gt(d.nerr, 0);
	sg_diag_free(&d);
}
END_TEST

Suite *suite_ir(void);

Suite *
suite_ir(void)
{
	Suite *s = suite_create("ir");
	TCase *tc = tcase_create("ir");
	TCase *tf = tcase_create("conf");

	tcase_add_test(tc, ir_loc_finds_recorded_keys);
	tcase_add_test(tc, ir_check_accepts_defaults_and_finishes_ir);
	tcase_add_test(tc, ir_check_locates_errors_through_keylocs);
	tcase_add_test(tc, ir_check_reports_everything_at_once);
	tcase_add_test(tc, ir_check_probe_skipped_when_rules_broken);
	suite_add_tcase(s, tc);
	tcase_add_test(tf, conf_load_refcount);
	tcase_add_test(tf, conf_load_failure_returns_null);
	tcase_add_test(tf, conf_compile_failure_frees_arena);
	suite_add_tcase(s, tf);
	return s;
}
