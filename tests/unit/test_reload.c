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

#define BASE_YAML \
    "response: { deny_verbosity: minimal }\n" \
    "rules:\n" \
    "  - { match: { method: GET, path: /a }, action: allow }\n" \
    "  - { match: { method: GET, path: /b }, action: allow }\n" \
    "  - { match: { method: GET, path: /c }, action: allow }\n" \
    "  - { match: { method: '*', path: '/**' }, action: deny }\n"

static const char base[] = BASE_YAML;

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

START_TEST(reload_refusals)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_ir *old, *blank, *dflt, *other;
	bool unreadable = true;
	const char *why;

	sg_diag_init(&d);
	old = load(a, base, &d);
	blank = load(a, " \n\t\n", &d);
	dflt = load(a, "# only a comment\n", &d);
	other = load(a, "rules:\n  - { match: { method: GET, path: /x }, "
	    "action: allow }\n", &d);
	ck_assert(old != NULL && blank != NULL && dflt != NULL &&
	    other != NULL);
	/* an emptied file: as if unreadable, whatever ran before */
	why = sg_ir_reload_refusal(old, blank, &unreadable);
	ck_assert_ptr_nonnull(why);
	ck_assert(unreadable);
	ck_assert_ptr_nonnull(strstr(why, "empty"));
	ck_assert_ptr_nonnull(sg_ir_reload_refusal(dflt, blank, &unreadable));
	/* explicit rules to the built-in ones: invalid */
	why = sg_ir_reload_refusal(old, dflt, &unreadable);
	ck_assert_ptr_nonnull(why);
	ck_assert(!unreadable);
	ck_assert_ptr_nonnull(strstr(why, "built-in default rules"));
	/* defaults to defaults, rules to other rules, defaults to rules */
	ck_assert_ptr_null(sg_ir_reload_refusal(dflt, dflt, &unreadable));
	ck_assert_ptr_null(sg_ir_reload_refusal(old, other, &unreadable));
	ck_assert_ptr_null(sg_ir_reload_refusal(dflt, old, &unreadable));
	sg_diag_free(&d);
	sg_arena_free(a);
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
	    "log: { level: debug }\n" BASE_YAML;
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

/* SPEC 2.11.3: listeners are pinned except allowed_profiles. */
static const char two_listeners[] =
    "listeners:\n"
    "  - {name: ci, socket: /tmp/sg-ci.sock, allowed_profiles: [ci]}\n"
    "  - {name: ops, socket: /tmp/sg-ops.sock, allowed_profiles: [ops]}\n"
    "clients:\n"
    "  unix_peer_profiles:\n"
    "    - {profile: ci, uids: [1000]}\n"
    "  profiles:\n"
    "    - name: ci\n"
    "      rules:\n"
    "        - {match: {method: GET, path: /_ping}, action: allow}\n"
    "    - name: ops\n"
    "      rules:\n"
    "        - {match: {method: GET, path: /version}, action: allow}\n";

START_TEST(listener_allowed_profiles_are_mutable)
{
	static const char b[] =
	    "listeners:\n"
	    "  - {name: ci, socket: /tmp/sg-ci.sock, allowed_profiles: "
	    "[ci, ops]}\n"
	    "  - {name: ops, socket: /tmp/sg-ops.sock, allowed_profiles: "
	    "[\"*\"]}\n"
	    "clients:\n"
	    "  unix_peer_profiles:\n"
	    "    - {profile: ci, uids: [1000]}\n"
	    "  profiles:\n"
	    "    - name: ci\n"
	    "      rules:\n"
	    "        - {match: {method: GET, path: /_ping}, action: allow}\n"
	    "    - name: ops\n"
	    "      rules:\n"
	    "        - {match: {method: GET, path: /version}, action: allow}\n";
	struct sg_ir_diff d;
	char text[4096] = "";

	diff_of(two_listeners, two_listeners, &d, text, sizeof(text));
	ck_assert_uint_eq(d.n + d.nrules, 0);
	sg_ir_diff_free(&d);

	diff_of(two_listeners, b, &d, text, sizeof(text));
	ck_assert_msg(d.n == 2, "%s", text);
	ck_assert_uint_eq(d.nimmutable, 0);
	ck_assert_msg(strstr(text, "~ listeners[ci].allowed_profiles: ci -> "
	    "ci,ops\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "~ listeners[ops].allowed_profiles: ops -> "
	    "*\n") != NULL, "%s", text);
	sg_ir_diff_free(&d);
}
END_TEST

START_TEST(listener_fields_are_immutable)
{
	struct sg_arena *a = sg_arena_new(), *b = sg_arena_new();
	struct sg_ir *ia, *ib;
	struct sg_ir_diff d;
	struct sg_diag dg;
	static const char *cn[] = {"ci-runner"};
	char text[8192] = "";
	FILE *fp;

	/* A listener's socket (and one added) need a restart. */
	diff_of(two_listeners, "listeners:\n"
	    "  - {name: ci, socket: /tmp/sg-ci2.sock, allowed_profiles: [ci]}\n"
	    "  - {name: ops, socket: /tmp/sg-ops.sock, allowed_profiles: "
	    "[ops]}\n"
	    "  - {name: new, socket: /tmp/sg-new.sock, allowed_profiles: "
	    "[ops]}\n"
	    "clients:\n"
	    "  profiles:\n"
	    "    - name: ci\n"
	    "      rules:\n"
	    "        - {match: {method: GET, path: /_ping}, action: allow}\n"
	    "    - name: ops\n"
	    "      rules:\n"
	    "        - {match: {method: GET, path: /version}, action: allow}\n",
	    &d, text, sizeof(text));
	ck_assert_msg(strstr(text, "~ listeners[ci].socket: /tmp/sg-ci.sock -> "
	    "/tmp/sg-ci2.sock  (needs a restart)\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "~ listeners[new].socket: (unset) -> "
	    "/tmp/sg-new.sock  (needs a restart)\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "~ listeners[new].allowed_profiles: (unset) "
	    "-> ops\n") != NULL, "%s", text);
	/* the removed assignment is a mutable clients.* change */
	ck_assert_msg(strstr(text, "~ clients.unix_peer_profiles[0].uids: 1000 "
	    "-> (unset)\n") != NULL, "%s", text);
	ck_assert_uint_ge(d.nimmutable, 2);
	sg_ir_diff_free(&d);

	/* Every TLS field too (certificate files need a restart). */
	sg_diag_init(&dg);
	ia = load(a, two_listeners, &dg);
	ib = load(b, two_listeners, &dg);
	ck_assert_ptr_nonnull(ia);
	ck_assert_ptr_nonnull(ib);
	ib->listeners[1].tls.sel.common_names.v = cn;
	ib->listeners[1].tls.sel.common_names.n = 1;
	ib->listeners[1].tls.cert_file = "/etc/sg/cert.pem";
	sg_ir_diff(ia, ib, &d);
	fp = fmemopen(text, sizeof(text), "w");
	sg_ir_diff_print(&d, fp);
	fclose(fp);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_uint_eq(d.nimmutable, 2);
	ck_assert_msg(strstr(text, "~ listeners[ops].tls.common_names: \"\" -> "
	    "ci-runner  (needs a restart)\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "~ listeners[ops].tls.cert_file: \"\" -> "
	    "/etc/sg/cert.pem  (needs a restart)\n") != NULL, "%s", text);
	sg_ir_diff_free(&d);

	/* A list item with a comma is not two items. */
	{
		static const char *one[] = {"ops,dev"};
		static const char *two[] = {"ops", "dev"};

		ia->listeners[1].tls.sel.common_names.v = one;
		ia->listeners[1].tls.sel.common_names.n = 1;
		ib->listeners[1].tls.sel.common_names.v = two;
		ib->listeners[1].tls.sel.common_names.n = 2;
		ib->listeners[1].tls.cert_file = ia->listeners[1].tls.cert_file;
		sg_ir_diff(ia, ib, &d);
		ck_assert_uint_eq(d.n, 1);
		ck_assert_str_eq(d.v[0].old, "ops\\,dev");
		ck_assert_str_eq(d.v[0].new, "ops,dev");
		sg_ir_diff_free(&d);
	}

	/* listen: -> listeners: is a listener change as well. */
	sg_ir_diff(load(a, "", &dg), ia, &d);
	ck_assert_uint_gt(d.nimmutable, 0);
	sg_ir_diff_free(&d);
	sg_diag_free(&dg);
	sg_arena_free(a);
	sg_arena_free(b);
}
END_TEST

START_TEST(profile_changes_are_mutable)
{
	static const char b[] =
	    "listeners:\n"
	    "  - {name: ci, socket: /tmp/sg-ci.sock, allowed_profiles: [ci]}\n"
	    "  - {name: ops, socket: /tmp/sg-ops.sock, allowed_profiles: [ops]}\n"
	    "clients:\n"
	    "  default_profile: ops\n"
	    "  unix_peer_profiles:\n"
	    "    - {profile: ci, uids: [1000, 1001]}\n"
	    "  profiles:\n"
	    "    - name: ci\n"
	    "      mode: warn\n"
	    "      rules:\n"
	    "        - {match: {method: GET, path: /_ping}, action: allow}\n"
	    "        - {match: {method: '*', path: '/**'}, action: deny, "
	    "reason: \"not for ci\"}\n"
	    "    - name: ops\n"
	    "      rules:\n"
	    "        - {match: {method: GET, path: /version}, action: allow}\n";
	struct sg_ir_diff d;
	char text[4096] = "";
	size_t i;

	diff_of(two_listeners, b, &d, text, sizeof(text));
	ck_assert_uint_eq(d.nimmutable, 0);
	ck_assert_msg(d.n == 4, "%s", text);
	ck_assert_msg(strstr(text, "~ clients.profiles[ci].rules: allow GET "
	    "/_ping -> allow GET /_ping; deny * /** \"not for ci\"\n") != NULL,
	    "%s", text);
	ck_assert_msg(strstr(text, "~ clients.profiles[ci].mode: enforce -> "
	    "warn\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "~ clients.default_profile: \"\" -> ops\n")
	    != NULL, "%s", text);
	ck_assert_msg(strstr(text, "~ clients.unix_peer_profiles[0].uids: 1000 "
	    "-> 1000,1001\n") != NULL, "%s", text);
	for (i = 0; i < d.n; i++)
		if (strcmp(d.v[i].key, "clients.profiles[ci].rules") == 0)
			ck_assert_str_eq(d.v[i].new, "allow GET /_ping\n"
			    "deny * /** \"not for ci\"");
	/* the top-level rules did not change */
	ck_assert_uint_eq(d.nrules, 0);
	sg_ir_diff_free(&d);
}
END_TEST

START_TEST(acknowledgements_are_mutable_and_shown)
{
	static const char b[] =
	    "insecure_accept_opaque_buildkit_tunnels: true\n"
	    "insecure_allow_browser_requests: true\n" BASE_YAML;
	struct sg_ir_diff d;
	char text[4096] = "";

	diff_of(base, b, &d, text, sizeof(text));
	ck_assert_uint_eq(d.nimmutable, 0);
	ck_assert_msg(d.n == 2, "%s", text);
	ck_assert_msg(strstr(text, "~ insecure_accept_opaque_buildkit_tunnels: "
	    "false -> true\n") != NULL, "%s", text);
	ck_assert_msg(strstr(text, "~ insecure_allow_browser_requests: "
	    "false -> true\n") != NULL, "%s", text);
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
	/* SPEC 2.11.3: the whole health block */
	ck_assert(sg_ir_key_immutable("health.path"));
	ck_assert(sg_ir_key_immutable("health.enabled"));
	/* SPEC 2.11.3: listeners (and listen.tls), except allowed_profiles */
	ck_assert(sg_ir_key_immutable("listen.tls.cert_file"));
	ck_assert(sg_ir_key_immutable("listeners"));
	ck_assert(sg_ir_key_immutable("listeners[ci].socket"));
	ck_assert(sg_ir_key_immutable("listeners[ci].tls.uri_sans"));
	ck_assert(sg_ir_key_immutable("listeners[ci].max_connections"));
	ck_assert(!sg_ir_key_immutable("listeners[ci].allowed_profiles"));
	ck_assert(!sg_ir_key_immutable("listeners[a-b].allowed_profiles"));
	ck_assert(sg_ir_key_immutable("listeners[ci].tls.allowed_profiles"));
	ck_assert(sg_ir_key_immutable("listeners[ci.allowed_profiles"));
	ck_assert(sg_ir_key_immutable("listen.allowed_profiles"));
	ck_assert(!sg_ir_key_immutable("clients.allowed_cidrs"));
	ck_assert(!sg_ir_key_immutable("clients.profiles[ci].rules"));
	ck_assert(!sg_ir_key_immutable("clients.source_ip_profiles[0].cidrs"));
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
	tcase_add_test(tc, reload_refusals);
	tcase_add_test(tc, immutable_changes_are_marked);
	tcase_add_test(tc, immutability_table);
	tcase_add_test(tc, listener_allowed_profiles_are_mutable);
	tcase_add_test(tc, listener_fields_are_immutable);
	tcase_add_test(tc, profile_changes_are_mutable);
	tcase_add_test(tc, acknowledgements_are_mutable_and_shown);
	tcase_add_test(tc, reload_keys);
	suite_add_tcase(s, tc);
	return s;
}
