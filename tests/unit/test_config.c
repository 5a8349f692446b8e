/* SPDX-License-Identifier: MIT */
/*
 * test_config.c: YAML tree, key table, environment overlay, flags and
 * lowering (sg_cfg_load / sg_cfg_load_bytes) with an injected
 * environment. Every error class is checked with its file:line:col and
 * key path.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "../../src/cfg_int.h"
#include "sockguard/cfg.h"
#include "sockguard/policy.h"

#include "fixtures.h"

/* ---- defaults and the config path (SPEC 2.1) ---- */

static void
assert_defaults(const struct sg_ir *ir)
{
	const struct sg_ir_listener *l = &ir->listeners[0];

	ck_assert_uint_eq(ir->nlisteners, 1);
	ck_assert_str_eq(l->name, "default");
	ck_assert_str_eq(l->address, "127.0.0.1:2375");
	ck_assert_str_eq(l->socket, "");
	ck_assert_uint_eq(l->socket_mode, 0600);
	ck_assert_int_eq(l->socket_uid, -1);
	ck_assert_int_eq(l->socket_gid, -1);
	ck_assert(!l->insecure_allow_plain_tcp);
	ck_assert(!l->insecure_allow_unauthenticated_clients);
	ck_assert_uint_eq(l->max_connections, 4096);
	ck_assert_str_eq(ir->upstream.socket, "/var/run/docker.sock");
	ck_assert_uint_eq(ir->upstream.nendpoints, 1);
	ck_assert_int_eq(ir->upstream.endpoints[0].kind, SG_EP_UNIX);
	ck_assert_str_eq(ir->upstream.endpoints[0].path,
	    "/var/run/docker.sock");
	ck_assert_str_eq(ir->upstream.endpoints[0].address,
	    "unix:///var/run/docker.sock");
	ck_assert(!ir->upstream.endpoints_configured);
	ck_assert(ir->upstream.request_timeout_ns == 0);
	ck_assert(ir->upstream.health_interval_ns == 5 * SG_NS_PER_SEC);
	ck_assert(ir->upstream.health_timeout_ns == 2 * SG_NS_PER_SEC);
	ck_assert_int_eq(ir->log.level, SG_LOG_INFO);
	ck_assert_int_eq(ir->log.format, SG_LOGFMT_JSON);
	ck_assert_str_eq(ir->log.output, "stderr");
	ck_assert(ir->log.access_log);
	ck_assert(!ir->log.audit_enabled);
	ck_assert_str_eq(ir->log.audit_output, "stderr");
	ck_assert_int_eq(ir->deny_verbosity, SG_DENY_MINIMAL);
	ck_assert(ir->health_enabled);
	ck_assert_str_eq(ir->health_path, "/health");
	ck_assert(!ir->insecure_allow_read_exfiltration);
	ck_assert_uint_eq(ir->min_api_major, 1);
	ck_assert_uint_eq(ir->min_api_minor, 24);
	ck_assert(ir->rules_are_default);
	ck_assert_uint_eq(ir->nrules, sg_policy_ndefault_rules);
	ck_assert_str_eq(ir->rules[0].path, sg_policy_default_rules[0].path);
	ck_assert_str_eq(ir->rules_file, "");
}

START_TEST(defaults_when_default_file_is_missing)
{
	struct ld l;

	tmp_setup("cfg");
	ld_init(&l, NULL);
	l.o.config_path = sg_arena_printf(l.a, "%s/absent.yaml", tmpdir);
	l.ir = sg_cfg_load(l.a, &l.o, &l.d);
	ck_ok(&l);
	assert_defaults(l.ir);
	ck_assert_ptr_null(l.ir->config_path);
	ck_assert_uint_eq(l.ir->nkeylocs, 0);
	ck_assert_ptr_null(sg_ir_loc(l.ir, "listen.address"));
	ck_assert_uint_eq(l.d.n, 0);
	ld_free(&l);
	tmp_cleanup();
}
END_TEST

START_TEST(defaults_from_empty_yaml)
{
	static const char *const empties[] = {"", "\n", "# nothing\n", "---\n",
	    "~\n", "{}\n"};
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(empties); i++) {
		struct ld l;

		ld_run(&l, empties[i], NULL);
		ck_ok(&l);
		assert_defaults(l.ir);
		ck_assert_str_eq(l.ir->config_path, "t.yaml");
		ld_free(&l);
	}
}
END_TEST

START_TEST(config_path_rules)
{
	struct ld l;

	/* Explicit -c "": error. */
	ld_init(&l, NULL);
	l.o.config_path = "";
	l.o.config_explicit = true;
	l.ir = sg_cfg_load(l.a, &l.o, &l.d);
	ck_fail(&l);
	ck_diag(&l, "error: config file path cannot be empty");
	ld_free(&l);

	/* Explicit missing file: error naming the path and errno text. */
	tmp_setup("cfg");
	ld_init(&l, NULL);
	l.o.config_path = sg_arena_printf(l.a, "%s/nope.yaml", tmpdir);
	l.o.config_explicit = true;
	l.ir = sg_cfg_load(l.a, &l.o, &l.d);
	ck_fail(&l);
	ck_diag(&l, sg_arena_printf(l.a, "%s: error: config file: %s: No such "
	    "file or directory", l.o.config_path, l.o.config_path));
	ld_free(&l);

	/* match: even the default path must exist. */
	ld_init(&l, NULL);
	l.o.config_path = sg_arena_printf(l.a, "%s/nope.yaml", tmpdir);
	l.o.require_file = true;
	l.ir = sg_cfg_load(l.a, &l.o, &l.d);
	ck_fail(&l);
	ck_diag(&l, "No such file or directory");
	ld_free(&l);

	/* A directory is not a config file, even as the default. */
	ld_init(&l, NULL);
	l.o.config_path = tmpdir;
	l.ir = sg_cfg_load(l.a, &l.o, &l.d);
	ck_fail(&l);
	ck_diag(&l, "Is a directory");
	ld_free(&l);

	/* An explicit file that exists is read and located. */
	ld_init(&l, NULL);
	l.o.config_path = tmp_write("c.yaml", "log:\n  level: debug\n");
	l.o.config_explicit = true;
	l.ir = sg_cfg_load(l.a, &l.o, &l.d);
	ck_ok(&l);
	ck_assert_int_eq(l.ir->log.level, SG_LOG_DEBUG);
	ck_assert_str_eq(l.ir->config_path, l.o.config_path);
	ck_assert_str_eq(sg_ir_loc(l.ir, "log.level")->file, l.o.config_path);
	ck_assert_uint_eq(sg_ir_loc(l.ir, "log.level")->line, 2);
	ck_assert_uint_eq(sg_ir_loc(l.ir, "log.level")->col, 10);
	ld_free(&l);
	tmp_cleanup();
}
END_TEST

/* ---- configs and rules files that are not regular files ---- */

/*
 * A child writing pad bytes of '#' comment lines, then text, into a pipe
 * (or, when fifo is set, into that FIFO); returns the read end (-1 for a
 * FIFO) and the child's pid in *pid.
 */
static int
pipe_writer(const char *fifo, size_t pad, const char *text, pid_t *pid)
{
	int p[2] = {-1, -1};

	if (fifo == NULL)
		ck_assert_int_eq(pipe(p), 0);
	*pid = fork();
	ck_assert_int_ne(*pid, -1);
	if (*pid == 0) {
		static char line[4096];
		int fd = fifo != NULL ? open(fifo, O_WRONLY) : p[1];
		size_t n;

		if (fifo == NULL)
			close(p[0]);
		memset(line, ' ', sizeof(line));
		line[0] = '#';
		line[sizeof(line) - 1] = '\n';
		for (; pad > 0; pad -= n) {
			n = pad < sizeof(line) ? pad : sizeof(line);
			if (n < sizeof(line))
				line[n - 1] = '\n';
			if (write(fd, line, n) != (ssize_t)n)
				_exit(1);
		}
		n = strlen(text);
		_exit(write(fd, text, n) == (ssize_t)n ? 0 : 1);
	}
	if (fifo != NULL)
		return -1;
	close(p[1]);
	return p[0];
}

static void
pipe_reap(pid_t pid, int fd)
{
	if (fd != -1)
		close(fd);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

#define PIPED_YAML "listen:\n  socket: /run/piped.sock\nrules:\n" \
	"  - match: {method: GET, path: /_ping}\n    action: allow\n"

/*
 * `sockguard check -c <(cat x.yaml)`: a pipe, a FIFO or /dev/stdin has
 * no size, and must be read to its end, not taken as an empty file
 * (which would load the built-in defaults, a TCP listener).
 */
START_TEST(socket_owner_env_overrides_only_yaml)
{
	struct ld l;
	char *env[] = {"SOCKGUARD_LISTEN_SOCKET_GID=5", NULL};

	/* the YAML sets it: the variable overrides it (SPEC 2.12.1) */
	ld_run(&l, "listen:\n  socket: /run/o.sock\n  socket_mode: \"0660\"\n"
	    "  socket_uid: 1000\n  socket_gid: 1000\n", env);
	ck_clean(&l);
	ck_assert_int_eq(l.ir->listeners[0].socket_gid, 5);
	ck_assert_int_eq(l.ir->listeners[0].socket_uid, 1000);
	ld_free(&l);
	/* it does not: refused, naming why */
	ld_run(&l, "listen:\n  socket: /run/o.sock\n", env);
	ck_fail(&l);
	ck_diag(&l, "env:SOCKGUARD_LISTEN_SOCKET_GID: error: "
	    "listen.socket_gid: listen.socket_gid can be set from the "
	    "environment only when the YAML config file sets it too");
	ld_free(&l);
}
END_TEST

START_TEST(config_from_pipe_and_fifo)
{
	struct ld l;
	pid_t pid;
	int fd;
	char fifo[TMP_PATH_MAX];

	/* A pipe, through /dev/fd; small enough for the pipe buffer. */
	fd = pipe_writer(NULL, 0, PIPED_YAML, &pid);
	ld_init(&l, NULL);
	l.o.config_path = sg_arena_printf(l.a, "/dev/fd/%d", fd);
	l.o.config_explicit = true;
	l.ir = sg_cfg_load(l.a, &l.o, &l.d);
	ck_clean(&l);
	ck_assert_str_eq(l.ir->listeners[0].socket, "/run/piped.sock");
	ck_assert(!l.ir->rules_are_default);
	ck_assert_uint_eq(l.ir->nrules, 1);
	ck_assert_uint_eq(l.ir->rules[0].loc.line, 4);
	ld_free(&l);
	pipe_reap(pid, fd);

	/* Larger than a pipe buffer and the first read chunk. */
	fd = pipe_writer(NULL, 300 * 1024, PIPED_YAML, &pid);
	ld_init(&l, NULL);
	l.o.config_path = sg_arena_printf(l.a, "/dev/fd/%d", fd);
	l.ir = sg_cfg_load(l.a, &l.o, &l.d);
	ck_clean(&l);
	ck_assert_str_eq(l.ir->listeners[0].socket, "/run/piped.sock");
	ck_assert_uint_eq(l.ir->nrules, 1);
	ld_free(&l);
	pipe_reap(pid, fd);

	/* A FIFO. */
	tmp_setup("cfg");
	snprintf(fifo, sizeof(fifo), "%s/c.fifo", tmpdir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	pipe_writer(fifo, 100 * 1024, PIPED_YAML, &pid);
	ld_init(&l, NULL);
	l.o.config_path = fifo;
	l.o.config_explicit = true;
	l.ir = sg_cfg_load(l.a, &l.o, &l.d);
	ck_clean(&l);
	ck_assert_str_eq(l.ir->listeners[0].socket, "/run/piped.sock");
	ld_free(&l);
	pipe_reap(pid, -1);
	tmp_cleanup();

	/* The 16 MiB cap holds for a stream too. */
	fd = pipe_writer(NULL, (16u << 20) - 10, PIPED_YAML, &pid);
	ld_init(&l, NULL);
	l.o.config_path = sg_arena_printf(l.a, "/dev/fd/%d", fd);
	l.ir = sg_cfg_load(l.a, &l.o, &l.d);
	ck_fail(&l);
	ck_exact(&l, sg_arena_printf(l.a, "%s: error: config file: %s: "
	    "larger than 16777216 bytes", l.o.config_path, l.o.config_path));
	ck_nerr(&l, 1);
	ld_free(&l);
	pipe_reap(pid, fd);

	/* Exactly at the cap is fine (all but the YAML is comments). */
	fd = pipe_writer(NULL, (16u << 20) - strlen(PIPED_YAML), PIPED_YAML,
	    &pid);
	ld_init(&l, NULL);
	l.o.config_path = sg_arena_printf(l.a, "/dev/fd/%d", fd);
	l.ir = sg_cfg_load(l.a, &l.o, &l.d);
	ck_clean(&l);
	ck_assert_str_eq(l.ir->listeners[0].socket, "/run/piped.sock");
	ld_free(&l);
	pipe_reap(pid, fd);
}
END_TEST

START_TEST(rules_file_from_pipe)
{
	struct ld l;
	pid_t pid;
	int fd = pipe_writer(NULL, 0, "allow GET /_ping\ndeny * /**\n", &pid);

	ld_init(&l, NULL);
	ld_yaml(&l, sg_arena_printf(l.a, "rules_file: /dev/fd/%d\n", fd));
	ck_clean(&l);
	ck_assert(!l.ir->rules_are_default);
	ck_assert_uint_eq(l.ir->nrules, 2);
	ck_assert_str_eq(l.ir->rules[0].path, "/_ping");
	ld_free(&l);
	pipe_reap(pid, fd);
}
END_TEST

/* ---- strict YAML (cfg_yaml.c) ---- */

START_TEST(yaml_duplicate_key)
{
	struct ld l;

	ld_run(&l, "listen:\n  socket: /a.sock\n  socket: /b.sock\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:3:3: error: listen.socket: duplicate key "
	    "\"socket\" (first defined at line 2)");
	ck_assert_uint_eq(l.d.nerr, 1);
	ld_free(&l);

	ld_run(&l, "log: {}\nhealth: {}\nlog: {}\n", NULL);
	ck_diag(&l, "t.yaml:3:1: error: log: duplicate key \"log\" (first "
	    "defined at line 1)");
	ld_free(&l);

	/* Inside a rule. */
	ld_run(&l, "rules:\n  - match: {method: GET, path: /a, path: /b}\n"
	    "    action: allow\n", NULL);
	ck_diag(&l, "t.yaml:2:36: error: rules[0].match.path: duplicate key "
	    "\"path\" (first defined at line 2)");
	ld_free(&l);
}
END_TEST

START_TEST(yaml_anchor_and_alias)
{
	struct ld l;

	ld_run(&l, "listen: &l\n  socket: /a.sock\nhealth:\n  path: &p /h\n"
	    "upstream:\n  socket: *p\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:1:9: error: listen: YAML anchors and aliases are "
	    "not supported");
	ck_diag(&l, "t.yaml:4:9: error: health.path: YAML anchors and aliases "
	    "are not supported");
	ck_diag(&l, "t.yaml:6:11: error: upstream.socket: YAML anchors and "
	    "aliases are not supported");
	ck_assert_uint_eq(l.d.nerr, 3);
	ld_free(&l);

	/* An alias used as a key is rejected and its value skipped. */
	ld_run(&l, "log:\n  *k : debug\n  format: text\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:2:3: error: log: YAML anchors and aliases are not "
	    "supported");
	ld_free(&l);
}
END_TEST

START_TEST(yaml_depth_cap)
{
	struct ld l;
	char yaml[2048];
	size_t n = 0;
	int i;

	/* 17 nested mappings below the root: one too many. */
	for (i = 0; i < SG_CFG_MAX_DEPTH + 1; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%*sk%d:\n",
		    2 * i, "", i);
	snprintf(yaml + n, sizeof(yaml) - n, "%*sx: 1\n", 2 * i, "");
	ld_run(&l, yaml, NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:17:33: error: "
	    "k0.k1.k2.k3.k4.k5.k6.k7.k8.k9.k10.k11.k12.k13.k14.k15: nesting "
	    "deeper than 16 levels is not supported");
	ld_free(&l);

	/* Flow style counts the same. */
	ld_run(&l, "a: [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "nesting deeper than 16 levels is not supported");
	ld_free(&l);

	/*
	 * 200,000 levels: the reading stops 64 levels past the limit (the
	 * YAML scanner's time grows with the depth on every token; the
	 * whole file would take minutes, and this test would time out).
	 */
	{
		size_t d = 200000, k = 0, j;
		char *deep = malloc(3 + 2 * d + 2);

		memcpy(deep, "a: ", 3);
		k = 3;
		for (j = 0; j < d; j++)
			deep[k++] = '[';
		for (j = 0; j < d; j++)
			deep[k++] = ']';
		deep[k++] = '\n';
		deep[k] = '\0';
		ld_run(&l, deep, NULL);
		free(deep);
		ck_fail(&l);
		ck_diag(&l, "nesting deeper than 16 levels is not supported");
		ck_diag(&l, "t.yaml:1:83: error: nesting over 80 levels deep: "
		    "the rest of the file is not read");
		ld_free(&l);
	}
}
END_TEST

START_TEST(yaml_structure_errors)
{
	struct ld l;

	/* A syntax error stops parsing and is located. */
	ld_run(&l, "listen:\n  socket: [a\nlog: {}\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:3:4: error: YAML syntax error: did not find "
	    "expected ',' or ']' while parsing a flow sequence");
	ld_free(&l);

	ld_run(&l, "log: {}\n---\nlog: {}\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:2:1: error: multiple YAML documents are not "
	    "supported");
	ld_free(&l);

	ld_run(&l, "- a\n- b\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:1:1: error: the top level of the config must be "
	    "a mapping of keys, got a sequence");
	ld_free(&l);

	ld_run(&l, "hello\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "got a scalar");
	ld_free(&l);

	ld_run(&l, "log:\n  ? [a, b]\n  : x\n  level: debug\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:2:5: error: log: mapping keys must be plain "
	    "strings, got a sequence");
	ck_assert_uint_eq(l.d.nerr, 1);
	ld_free(&l);

	ld_run(&l, "log:\n  level: !custom debug\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:2:10: error: log.level: YAML tag \"!custom\" is "
	    "not supported");
	ld_free(&l);

	/* Standard tags only restate the type. */
	ld_run(&l, "listen:\n  socket: /s.sock\n  socket_mode: !!str 0660\n"
	    "  socket_gid: !!int 5\n", NULL);
	ck_ok(&l);
	ck_assert_uint_eq(l.ir->listeners[0].socket_mode, 0660);
	ck_assert_int_eq(l.ir->listeners[0].socket_gid, 5);
	ld_free(&l);

	ld_run(&l, "health:\n  path: \"/a\\0b\"\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:2:9: error: health.path: NUL characters are not "
	    "allowed");
	ld_free(&l);
}
END_TEST

START_TEST(yaml_tree_locations)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	const struct sg_node *root, *n, *m;
	const char *text = "a: 1\nb:\n  - 'q'\n  - ~\n  - \nc: Null\n";

	sg_diag_init(&d);
	root = sg_cfg_yaml_parse(a, &d, "x.yaml", text, strlen(text));
	ck_assert_ptr_nonnull(root);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_int_eq(root->kind, SG_NODE_MAP);
	ck_assert_uint_eq(root->nchild, 3);
	n = root->child;
	ck_assert_str_eq(n->key, "a");
	ck_assert_str_eq(n->str, "1");
	ck_assert_uint_eq(n->key_loc.line, 1);
	ck_assert_uint_eq(n->key_loc.col, 1);
	ck_assert_uint_eq(n->loc.col, 4);
	ck_assert(!n->quoted && !n->null);
	n = n->next;
	ck_assert_int_eq(n->kind, SG_NODE_SEQ);
	ck_assert_uint_eq(n->nchild, 3);
	m = n->child;
	ck_assert(m->quoted && !m->null);
	ck_assert_str_eq(m->str, "q");
	ck_assert_uint_eq(m->loc.line, 3);
	ck_assert_uint_eq(m->loc.col, 5);
	ck_assert(m->next->null && m->next->next->null);
	ck_assert(n->next->null);
	ck_assert_str_eq(n->next->key, "c");
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

/* ---- the key table (cfg_keys.c) ---- */

START_TEST(key_table_is_consistent)
{
	size_t n, i, j;
	const struct sg_key *k = sg_cfg_keys(&n);
	static const char *const in_scope[] = {"listen.address",
	    "listen.socket", "listen.socket_mode", "listen.socket_uid",
	    "listen.socket_gid", "listen.insecure_allow_plain_tcp",
	    "listen.insecure_allow_unauthenticated_clients",
	    "listen.max_connections", "upstream.socket",
	    "upstream.request_timeout", "upstream.endpoints",
	    "upstream.failover", "upstream.failover.health_interval",
	    "upstream.failover.health_timeout", "log.level",
	    "log.format", "log.output", "log.access_log", "log.audit.enabled",
	    "log.audit.format", "log.audit.output", "response.deny_verbosity",
	    "health.enabled", "health.path", "insecure_allow_read_exfiltration",
	    "insecure_allow_browser_requests",
	    "insecure_accept_opaque_buildkit_tunnels", "rules", "rules_file", "min_api_version", "reload",
	    "reload.enabled", "reload.debounce", "listen.tls",
	    "listen.tls.cert_file", "listen.tls.key_file",
	    "listen.tls.client_ca_file", "listen.tls.common_names",
	    "listen.tls.dns_names", "listen.tls.ip_addresses",
	    "listen.tls.uri_sans", "listen.tls.public_key_sha256_pins",
	    "listeners", "clients", "clients.allowed_cidrs",
	    "clients.default_profile", "clients.source_ip_profiles",
	    "clients.client_certificate_profiles", "clients.unix_peer_profiles",
	    "clients.profiles"};
	static const char *const unsupported[] = {
	    "response.redact_container_env", "insecure_allow_body_blind_writes",
	    "request_body", "clients.container_labels", "clients.container_labels.enabled",
	    "clients.global_concurrency",
	    "ownership", "health.watchdog", "health.readiness", "metrics",
	    "admin", "reload.poll_interval", "policy_bundle", "mutations"};

	ck_assert_uint_gt(n, 50);
	for (i = 0; i < n; i++) {
		const char *dot = strrchr(k[i].path, '.');

		/* Parents come first. */
		if (dot != NULL) {
			char parent[128];
			const struct sg_key *p;

			snprintf(parent, sizeof(parent), "%.*s",
			    (int)(dot - k[i].path), k[i].path);
			p = sg_cfg_key_find(parent);
			ck_assert_msg(p != NULL && p < &k[i], "%s before %s",
			    parent, k[i].path);
		}
		/* Env name = SOCKGUARD_ + upper-case path, '.' -> '_'. */
		if (k[i].env != NULL) {
			char want[160], *w;

			snprintf(want, sizeof(want), "SOCKGUARD_%s", k[i].path);
			for (w = want; *w; w++)
				*w = *w == '.' ? '_' :
				    (char)toupper((unsigned char)*w);
			ck_assert_str_eq(k[i].env, want);
			ck_assert(!(k[i].flags & SG_KEYF_YAML_ONLY));
		}
		for (j = i + 1; j < n; j++)
			ck_assert_str_ne(k[i].path, k[j].path);
		ck_assert_ptr_eq(sg_cfg_key_find(k[i].path), &k[i]);
	}
	for (i = 0; i < SG_ARRAY_LEN(in_scope); i++) {
		const struct sg_key *e = sg_cfg_key_find(in_scope[i]);

		ck_assert_msg(e != NULL && e->type != SG_KEY_UNSUPPORTED,
		    "%s", in_scope[i]);
	}
	for (i = 0; i < SG_ARRAY_LEN(unsupported); i++) {
		const struct sg_key *e = sg_cfg_key_find(unsupported[i]);

		ck_assert_msg(e != NULL && e->type == SG_KEY_UNSUPPORTED,
		    "%s", unsupported[i]);
	}
	ck_assert_str_eq(sg_cfg_key_find("upstream.request_timeout")->env,
	    "SOCKGUARD_UPSTREAM_REQUEST_TIMEOUT");
	/* Seed: the transport is pinned, the request deadline is not. */
	ck_assert(sg_cfg_key_find("upstream.request_timeout")->flags &
	    SG_KEYF_MUTABLE);
	ck_assert_str_eq(sg_cfg_key_find("upstream.request_timeout")->def, "");
	ck_assert_int_eq(sg_cfg_key_find("upstream.request_timeout")->type,
	    SG_KEY_DURATION);
	ck_assert(!(sg_cfg_key_find("upstream.socket")->flags &
	    SG_KEYF_MUTABLE));
	ck_assert(!(sg_cfg_key_find("upstream.endpoints")->flags &
	    SG_KEYF_MUTABLE));
	ck_assert(sg_cfg_key_find("upstream.endpoints")->flags &
	    SG_KEYF_YAML_ONLY);
	ck_assert_int_eq(sg_cfg_key_find("upstream.endpoints")->type,
	    SG_KEY_OBJLIST);
	ck_assert_ptr_null(sg_cfg_key_find("upstream.endpoints")->env);
	ck_assert(!(sg_cfg_key_find("upstream.failover")->flags &
	    SG_KEYF_MUTABLE));
	ck_assert(!(sg_cfg_key_find("upstream.failover.health_interval")->flags
	    & SG_KEYF_MUTABLE));
	ck_assert(!(sg_cfg_key_find("upstream.failover.health_timeout")->flags
	    & SG_KEYF_MUTABLE));
	ck_assert_str_eq(sg_cfg_key_find("upstream.failover.health_timeout")->env,
	    "SOCKGUARD_UPSTREAM_FAILOVER_HEALTH_TIMEOUT");
	ck_assert(sg_cfg_key_find("rules")->flags & SG_KEYF_MUTABLE);
	ck_assert(sg_cfg_key_find("rules")->flags & SG_KEYF_YAML_ONLY);
	ck_assert(sg_cfg_key_find("min_api_version")->flags & SG_KEYF_MUTABLE);
	ck_assert(!(sg_cfg_key_find("listen.socket")->flags &
	    SG_KEYF_MUTABLE));
	ck_assert_str_eq(sg_cfg_key_find("listen.max_connections")->def,
	    "4096");
	ck_assert_ptr_null(sg_cfg_key_find("listen.sokcet"));
	ck_assert_ptr_null(sg_cfg_key_find(""));
	/* SPEC 2.3, 2.11.3, 2.12: listeners and clients */
	ck_assert_int_eq(sg_cfg_key_find("listen.tls")->type, SG_KEY_SECTION);
	ck_assert_int_eq(sg_cfg_key_find("listen.tls.key_file")->type,
	    SG_KEY_STR);
	ck_assert_int_eq(sg_cfg_key_find("listen.tls.uri_sans")->type,
	    SG_KEY_STRLIST);
	ck_assert_str_eq(sg_cfg_key_find("listen.tls.public_key_sha256_pins")->
	    env, "SOCKGUARD_LISTEN_TLS_PUBLIC_KEY_SHA256_PINS");
	ck_assert(!(sg_cfg_key_find("listen.tls.cert_file")->flags &
	    SG_KEYF_MUTABLE));
	ck_assert_int_eq(sg_cfg_key_find("listeners")->type, SG_KEY_OBJLIST);
	ck_assert(sg_cfg_key_find("listeners")->flags & SG_KEYF_YAML_ONLY);
	ck_assert(!(sg_cfg_key_find("listeners")->flags & SG_KEYF_MUTABLE));
	ck_assert_ptr_null(sg_cfg_key_find("listeners")->env);
	ck_assert_int_eq(sg_cfg_key_find("clients")->type, SG_KEY_SECTION);
	for (i = 0; i < n; i++)
		if (strncmp(k[i].path, "clients", 7) == 0)
			ck_assert_msg(k[i].flags & SG_KEYF_MUTABLE, "%s",
			    k[i].path);
	ck_assert_int_eq(sg_cfg_key_find("clients.allowed_cidrs")->type,
	    SG_KEY_STRLIST);
	ck_assert_str_eq(sg_cfg_key_find("clients.allowed_cidrs")->env,
	    "SOCKGUARD_CLIENTS_ALLOWED_CIDRS");
	ck_assert_str_eq(sg_cfg_key_find("clients.default_profile")->env,
	    "SOCKGUARD_CLIENTS_DEFAULT_PROFILE");
	ck_assert_int_eq(sg_cfg_key_find("clients.profiles")->type,
	    SG_KEY_OBJLIST);
	ck_assert(sg_cfg_key_find("clients.unix_peer_profiles")->flags &
	    SG_KEYF_YAML_ONLY);
}
END_TEST

START_TEST(key_suggestions)
{
	ck_assert_str_eq(sg_cfg_key_suggest("listen", "sokcet"),
	    "listen.socket");
	ck_assert_str_eq(sg_cfg_key_suggest("", "lisen"), "listen");
	ck_assert_str_eq(sg_cfg_key_suggest("log.audit", "enabeld"),
	    "log.audit.enabled");
	ck_assert_ptr_null(sg_cfg_key_suggest("listen", "zzzzzzzz"));
	ck_assert_ptr_null(sg_cfg_key_suggest("log", "socket"));
	ck_assert_str_eq(sg_cfg_env_suggest("SOCKGUARD_LISTEN_SOKET"),
	    "SOCKGUARD_LISTEN_SOCKET");
	ck_assert_ptr_null(sg_cfg_env_suggest("SOCKGUARD_WHATEVER_ELSE"));
}
END_TEST

/* ---- schema errors (cfg_lower.c) ---- */

START_TEST(unknown_key_with_suggestion)
{
	struct ld l;

	ld_run(&l, "listen:\n  sokcet: /x.sock\n  zzzzzzzzz: 1\nlgo: {}\n",
	    NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:2:3: error: listen.sokcet: unknown key "
	    "\"listen.sokcet\"; did you mean \"listen.socket\"?");
	ck_diag_end(&l, "t.yaml:3:3: error: listen.zzzzzzzzz: unknown key "
	    "\"listen.zzzzzzzzz\"");
	ck_diag(&l, "t.yaml:4:1: error: lgo: unknown key \"lgo\"; did you "
	    "mean \"log\"?");
	ck_assert_uint_eq(l.d.nerr, 3);
	ld_free(&l);
}
END_TEST

START_TEST(unknown_rule_keys)
{
	struct ld l;

	ld_run(&l, "rules:\n"
	    "  - match: {method: GET, path: /_ping}\n"
	    "    action: allow\n"
	    "  - match: {method: GET, path: /version}\n"
	    "    action: allow\n"
	    "  - match: {mehtod: GET, path: /info}\n"
	    "    actoin: allow\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:6:13: error: rules[2].match.mehtod: unknown key "
	    "\"rules[2].match.mehtod\"; did you mean "
	    "\"rules[2].match.method\"?");
	ck_diag(&l, "t.yaml:7:5: error: rules[2].actoin: unknown key "
	    "\"rules[2].actoin\"; did you mean \"rules[2].action\"?");
	ck_diag(&l, "t.yaml:6:5: error: rules[2]: match.method is required");
	ck_diag(&l, "t.yaml:6:5: error: rules[2]: action must be allow or "
	    "deny, got \"\"");
	ld_free(&l);
}
END_TEST

START_TEST(not_supported_keys)
{
	struct ld l;

	ld_run(&l, "metrics:\n  enabled: true\n  path: /m\n"
	    "admin:\n  enabled: true\n  path: /a\n"
	    "clients:\n  container_labels:\n    enabled: true\n"
	    "  global_concurrency: {max_inflight: 3}\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:1:1: error: metrics: metrics is not supported yet "
	    "by this version of sockguard");
	ck_diag(&l, "t.yaml:4:1: error: admin: admin is not supported yet by "
	    "this version of sockguard");
	ck_diag(&l, "t.yaml:8:3: error: clients.container_labels: "
	    "clients.container_labels is not supported yet");
	ck_diag(&l, "t.yaml:10:3: error: clients.global_concurrency: "
	    "clients.global_concurrency is not supported yet");
	/* One error per section, none for its children. */
	ck_assert_uint_eq(l.d.nerr, 4);
	ld_free(&l);
}
END_TEST

START_TEST(wrong_types)
{
	struct ld l;

	ld_run(&l, "listen:\n  socket_mode: {a: 1}\n"
	    "  max_connections: lots\n"
	    "health:\n  enabled: [true]\n"
	    "log: debug\n"
	    "rules: {match: x}\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:2:16: error: listen.socket_mode: expected a "
	    "string, got a mapping");
	ck_diag(&l, "t.yaml:3:20: error: listen.max_connections: expected an "
	    "integer, got \"lots\"");
	ck_diag(&l, "t.yaml:5:12: error: health.enabled: expected a boolean "
	    "(true or false), got a sequence");
	ck_diag(&l, "t.yaml:6:6: error: log: expected a mapping, got a scalar");
	ck_diag(&l, "t.yaml:7:8: error: rules: expected a sequence of rules, "
	    "got a mapping");
	ld_free(&l);
}
END_TEST

static const char *const bool_true[] = {"1", "t", "T", "TRUE", "true",
    "True"};
static const char *const bool_false[] = {"0", "f", "F", "FALSE", "false",
    "False"};
static const char *const bool_bad[] = {"yes", "no", "on", "off", "y", "n",
    "Yes", "ON", "tRUE", "2", "\"\""};

START_TEST(bool_go_parsebool_set)
{
	struct ld l;
	char yaml[128];

	snprintf(yaml, sizeof(yaml), "log:\n  access_log: %s\n"
	    "  audit:\n    enabled: %s\n", bool_false[_i], bool_true[_i]);
	ld_run(&l, yaml, NULL);
	ck_ok(&l);
	ck_assert(!l.ir->log.access_log);
	ck_assert(l.ir->log.audit_enabled);
	ld_free(&l);

	/* Quoted spellings of the same set are accepted too. */
	snprintf(yaml, sizeof(yaml), "health:\n  enabled: \"%s\"\n",
	    bool_false[_i]);
	ld_run(&l, yaml, NULL);
	ck_ok(&l);
	ck_assert(!l.ir->health_enabled);
	ld_free(&l);
}
END_TEST

START_TEST(bool_yaml11_spellings_rejected)
{
	struct ld l;
	char yaml[128], want[160];
	const char *v = bool_bad[_i];

	snprintf(yaml, sizeof(yaml), "log:\n  access_log: %s\n", v);
	ld_run(&l, yaml, NULL);
	ck_fail(&l);
	snprintf(want, sizeof(want), "t.yaml:2:15: error: log.access_log: "
	    "expected a boolean (true or false), got \"%s\"",
	    strcmp(v, "\"\"") == 0 ? "" : v);
	ck_diag(&l, want);
	ld_free(&l);
}
END_TEST

START_TEST(null_values)
{
	struct ld l;

	/* null string -> ""; null bool/int -> default; null section ok. */
	ld_run(&l, "listen:\n  socket: ~\n  socket_uid: null\n"
	    "  insecure_allow_plain_tcp:\nhealth:\nlog:\n  access_log: NULL\n",
	    NULL);
	ck_ok(&l);
	ck_assert_str_eq(l.ir->listeners[0].socket, "");
	ck_assert_int_eq(l.ir->listeners[0].socket_uid, -1);
	ck_assert(l.ir->log.access_log);
	ck_assert(l.ir->health_enabled);
	ld_free(&l);

	ld_run(&l, "upstream:\n  socket:\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:2:3: error: upstream.socket: upstream requires "
	    "either upstream.socket or at least one upstream.endpoints entry");
	ld_free(&l);
}
END_TEST

/* ---- semantic checks (ir_check.c) through the loader ---- */

START_TEST(socket_mode_rules)
{
	struct ld l;

	ld_run(&l, "listen:\n  socket: /run/sg.sock\n  socket_mode: \"0777\"\n",
	    NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:3:16: error: listen.socket_mode: "
	    "listen.socket_mode must be \"0600\" or \"0660\" (the latter "
	    "requires listen.socket_gid), got \"0777\"");
	ld_free(&l);

	ld_run(&l, "listen:\n  socket: /run/sg.sock\n  socket_mode: \"0660\"\n",
	    NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:3:16: error: listen.socket_mode: "
	    "listen.socket_mode \"0660\" requires listen.socket_gid to be set "
	    "explicitly; omit socket_gid and use \"0600\" for the default "
	    "owner-only mode");
	ld_free(&l);

	ld_run(&l, "listen:\n  socket: /run/sg.sock\n"
	    "  socket_mode: \" 0660 \"\n  socket_gid: 0\n  socket_uid: 1000\n",
	    NULL);
	ck_ok(&l);
	ck_assert_uint_eq(l.ir->listeners[0].socket_mode, 0660);
	ck_assert_int_eq(l.ir->listeners[0].socket_gid, 0);
	ck_assert_int_eq(l.ir->listeners[0].socket_uid, 1000);
	ck_assert_str_eq(l.ir->listeners[0].socket, "/run/sg.sock");
	ld_free(&l);

	ld_run(&l, "listen:\n  socket: /run/sg.sock\n  socket_uid: -1\n"
	    "  socket_gid: 4294967295\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:3:15: error: listen.socket_uid: listen.socket_uid "
	    "must be >= 0, got -1");
	ck_diag(&l, "t.yaml:4:15: error: listen.socket_gid: listen.socket_gid "
	    "must be <= 4294967294, got 4294967295");
	ld_free(&l);
}
END_TEST

#define PLAIN_TCP_ERR "non-loopback TCP listener \"%s\" requires listen.tls " \
	"mutual TLS configuration, or \xe2\x80\x94 for legacy plaintext on " \
	"a private trusted network \xe2\x80\x94 both " \
	"listen.insecure_allow_plain_tcp=true and " \
	"listen.insecure_allow_unauthenticated_clients=true (one " \
	"acknowledgment without the other is rejected)"

struct addr_case {
	const char *addr;
	int acks;        /* 0, 1 (plain only), 2 (both) */
	bool ok;
	bool bad_syntax;
};

static const struct addr_case addr_cases[] = {
	{"127.0.0.1:2375", 0, true, false},
	{"127.9.8.7:1", 0, true, false},
	{"localhost:2375", 0, true, false},
	{"[::1]:2375", 0, true, false},
	{"[::ffff:127.0.0.1]:2375", 0, true, false},
	{"0.0.0.0:2375", 0, false, false},
	{":2375", 0, false, false},
	{"example.com:2375", 0, false, false},
	{"LOCALHOST:2375", 0, false, false},
	{"[::]:2375", 0, false, false},
	{"10.0.0.1:2375", 1, false, false},
	{"10.0.0.1:2375", 2, true, false},
	{":2375", 2, true, false},
	{"127.0.0.1", 0, false, true},
	{"::1:2375", 0, false, true},
	{"[::1]2375", 0, false, true},
	{"127.0.0.1:0", 0, false, true},
	{"127.0.0.1:65536", 0, false, true},
	{"127.0.0.1:http", 0, false, true},
	{"127.0.0.1:", 0, false, true},
};

START_TEST(listen_address_rules)
{
	const struct addr_case *t = &addr_cases[_i];
	struct ld l;
	char yaml[256], want[1024];

	snprintf(yaml, sizeof(yaml), "listen:\n  address: \"%s\"\n%s%s",
	    t->addr, t->acks >= 1 ? "  insecure_allow_plain_tcp: true\n" : "",
	    t->acks >= 2 ? "  insecure_allow_unauthenticated_clients: true\n" :
	    "");
	ld_run(&l, yaml, NULL);
	if (t->ok) {
		ck_ok(&l);
		ck_assert_str_eq(l.ir->listeners[0].address, t->addr);
	} else if (t->bad_syntax) {
		ck_fail(&l);
		snprintf(want, sizeof(want), "t.yaml:2:12: error: "
		    "listen.address: listen.address must be host:port with a "
		    "numeric port 1-65535 (IPv6 hosts in brackets), got \"%s\"",
		    t->addr);
		ck_diag(&l, want);
	} else {
		ck_fail(&l);
		snprintf(want, sizeof(want), "t.yaml:2:12: error: "
		    "listen.address: " PLAIN_TCP_ERR, t->addr);
		ck_diag(&l, want);
	}
	ld_free(&l);
}
END_TEST

START_TEST(listen_socket_wins_and_needs_one)
{
	struct ld l;

	/* The socket wins: a non-loopback address is then ignored. */
	ld_run(&l, "listen:\n  socket: /run/s.sock\n  address: 0.0.0.0:1\n",
	    NULL);
	ck_ok(&l);
	ck_assert_uint_eq(l.ir->nlisteners, 1);
	ck_assert_str_eq(l.ir->listeners[0].name, "default");
	ck_assert_uint_eq(l.ir->listeners[0].loc.line, 1);
	ld_free(&l);

	ld_run(&l, "listen:\n  socket: \"\"\n  address: \"\"\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:2:11: error: listen: at least one listener is "
	    "required (listen.socket or listen.address)");
	ld_free(&l);

	ld_run(&l, "listen:\n  max_connections: 0\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:2:20: error: listen.max_connections: "
	    "listen.max_connections must be between 1 and 1048576, got 0");
	ld_free(&l);

	ld_run(&l, "listen:\n  max_connections: 1048577\n", NULL);
	ck_diag(&l, "got 1048577");
	ld_free(&l);

	ld_run(&l, "listen:\n  max_connections: 1048576\n", NULL);
	ck_ok(&l);
	ck_assert_uint_eq(l.ir->listeners[0].max_connections, 1048576);
	ld_free(&l);
}
END_TEST

START_TEST(log_checks)
{
	struct ld l;

	ld_run(&l, "log:\n  level: verbose\n  format: xml\n  output: \"\"\n"
	    "  audit:\n    format: text\n    output: ../up.log\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:2:10: error: log.level: log.level must be debug, "
	    "info, warn, or error, got \"verbose\"");
	ck_diag(&l, "t.yaml:3:11: error: log.format: log.format must be json "
	    "or text, got \"xml\"");
	ck_diag(&l, "t.yaml:4:11: error: log.output: invalid log output \"\" "
	    "(must be stderr, stdout, or a local file path)");
	ck_diag(&l, "t.yaml:6:13: error: log.audit.format: log.audit.format "
	    "must be json, got \"text\"");
	ck_diag(&l, "t.yaml:7:13: error: log.audit.output: log.audit.output: "
	    "invalid log output \"../up.log\"");
	ck_assert_uint_eq(l.d.nerr, 5);
	ld_free(&l);

	ld_run(&l, "log:\n  level: warn\n  format: text\n"
	    "  output: /var/log/sg.log\n  audit:\n    enabled: true\n"
	    "    output: logs/./audit.log\n", NULL);
	ck_ok(&l);
	ck_assert_int_eq(l.ir->log.level, SG_LOG_WARN);
	ck_assert_int_eq(l.ir->log.format, SG_LOGFMT_TEXT);
	ck_assert_str_eq(l.ir->log.output, "/var/log/sg.log");
	ck_assert_str_eq(l.ir->log.audit_output, "logs/./audit.log");
	ld_free(&l);

	static const char *const bad_out[] = {"/", ".", "a/../..", "./",
	    "..", "x/../../y"};
	for (size_t i = 0; i < SG_ARRAY_LEN(bad_out); i++) {
		char yaml[128];

		snprintf(yaml, sizeof(yaml), "log:\n  output: \"%s\"\n",
		    bad_out[i]);
		ld_run(&l, yaml, NULL);
		ck_fail(&l);
		ck_diag(&l, "invalid log output");
		ld_free(&l);
	}
}
END_TEST

START_TEST(response_health_api_upstream_checks)
{
	struct ld l;

	ld_run(&l, "response:\n  deny_verbosity: loud\n"
	    "health:\n  path: health\n"
	    "min_api_version: v1.40\nupstream:\n  socket: docker.sock\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:2:19: error: response.deny_verbosity: "
	    "response.deny_verbosity must be minimal or verbose, got \"loud\"");
	ck_diag(&l, "t.yaml:4:9: error: health.path: health.path must start "
	    "with /, got \"health\"");
	ck_diag(&l, "t.yaml:5:18: error: min_api_version: min_api_version must "
	    "be MAJOR.MINOR (for example \"1.24\"), got \"v1.40\"");
	ck_diag(&l, "t.yaml:7:11: error: upstream.socket: upstream.socket must "
	    "be an absolute path, got \"docker.sock\"");
	ck_assert_uint_eq(l.d.nerr, 4);
	ld_free(&l);

	ld_run(&l, "response:\n  deny_verbosity: verbose\nmin_api_version: "
	    "\"1.41\"\nupstream:\n  socket: /run/d.sock\n", NULL);
	ck_ok(&l);
	ck_assert_int_eq(l.ir->deny_verbosity, SG_DENY_VERBOSE);
	ck_assert_uint_eq(l.ir->min_api_major, 1);
	ck_assert_uint_eq(l.ir->min_api_minor, 41);
	ck_assert_str_eq(l.ir->upstream.endpoints[0].address,
	    "unix:///run/d.sock");
	ck_assert_uint_eq(l.ir->upstream.endpoints[0].loc.line, 5);
	ld_free(&l);

	static const char *const bad_api[] = {"1", "1.", ".24", "1.2.3",
	    "a.b", "12345.1", "1.-2"};
	for (size_t i = 0; i < SG_ARRAY_LEN(bad_api); i++) {
		char yaml[64];

		snprintf(yaml, sizeof(yaml), "min_api_version: \"%s\"\n",
		    bad_api[i]);
		ld_run(&l, yaml, NULL);
		ck_fail(&l);
		ck_diag(&l, "min_api_version must be MAJOR.MINOR");
		ld_free(&l);
	}
}
END_TEST

/* ---- rules ---- */

START_TEST(yaml_rules_lowered)
{
	struct ld l;
	const struct sg_ir_rule *r;

	ld_run(&l, "rules:\n"
	    "  - match: {method: \"get, HEAD,,post \", path: /_ping}\n"
	    "    action: allow\n"
	    "  - match:\n      method: \"*\"\n      path: /**\n"
	    "    action: deny\n    reason: nope\n", NULL);
	ck_ok(&l);
	ck_assert(!l.ir->rules_are_default);
	ck_assert_uint_eq(l.ir->nrules, 2);
	r = &l.ir->rules[0];
	ck_assert_uint_eq(r->nmethods, 3);
	ck_assert_str_eq(r->methods[0], "GET");
	ck_assert_str_eq(r->methods[1], "HEAD");
	ck_assert_str_eq(r->methods[2], "POST");
	ck_assert(!r->any_method);
	ck_assert_str_eq(r->path, "/_ping");
	ck_assert_int_eq(r->action, SG_ACTION_ALLOW);
	ck_assert_str_eq(r->reason, "");
	ck_assert_str_eq(r->loc.file, "t.yaml");
	ck_assert_uint_eq(r->loc.line, 2);
	ck_assert_uint_eq(r->loc.col, 5);
	r = &l.ir->rules[1];
	ck_assert(r->any_method);
	ck_assert_int_eq(r->action, SG_ACTION_DENY);
	ck_assert_str_eq(r->reason, "nope");
	ck_assert_uint_eq(r->loc.line, 4);
	ck_assert_uint_eq(sg_ir_loc(l.ir, "rules")->line, 1);
	ld_free(&l);

	/* rules: [] falls back to the defaults. */
	ld_run(&l, "rules: []\n", NULL);
	ck_ok(&l);
	ck_assert(l.ir->rules_are_default);
	ld_free(&l);
}
END_TEST

START_TEST(yaml_rule_errors)
{
	struct ld l;

	ld_run(&l, "rules:\n"
	    "  - match: {method: ' , ', path: /a}\n    action: allow\n"
	    "  - match: {method: GET}\n    action: permit\n"
	    "  - action: deny\n"
	    "  - just a string\n"
	    "  - match: {method: GET, path: \"/containers/%2e%2e/x\"}\n"
	    "    action: deny\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:2:5: error: rules[0]: match.method is required");
	ck_diag(&l, "t.yaml:4:5: error: rules[1]: match.path is required");
	/* at the value, not the item */
	ck_diag(&l, "t.yaml:5:13: error: rules[1]: action must be allow or "
	    "deny, got \"permit\"");
	ck_diag(&l, "t.yaml:6:5: error: rules[2]: match.method is required");
	ck_diag(&l, "t.yaml:6:5: error: rules[2]: match.path is required");
	ck_diag(&l, "t.yaml:7:5: error: rules[3]: expected a mapping with "
	    "match, action and reason, got a scalar");
	ck_diag(&l, "t.yaml:8:5: error: rules[4]: match.path "
	    "\"/containers/%2e%2e/x\" contains a literal '%'; sockguard "
	    "matches the path as the daemon routes it (decoded once at the "
	    "HTTP layer)");
	ck_assert_uint_eq(l.d.nerr, 7);
	ld_free(&l);
}
END_TEST

START_TEST(rule_path_warnings)
{
	struct ld l;

	ld_run(&l, "rules:\n"
	    "  - match: {method: GET, path: /v1.45/containers/json}\n"
	    "    action: allow\n"
	    "  - match: {method: GET, path: containers/json}\n"
	    "    action: allow\n"
	    "  - match: {method: POST, path: /v1.40.0.1/containers/*/exec}\n"
	    "    action: deny\n"
	    "  - match: {method: POST, path: /containers/*/exec/}\n"
	    "    action: deny\n"
	    "  - match: {method: POST, path: /containers//x/./y/../z}\n"
	    "    action: deny\n"
	    "  - match: {method: GET, path: /containers/*/json}\n"
	    "    action: allow\n"
	    "  - match: {method: POST, path: /images/*/push}\n"
	    "    action: deny\n"
	    "  - match: {method: DELETE, path: /plugins/vieux*}\n"
	    "    action: deny\n"
	    "  - match: {method: POST, path: /containers/**/exec}\n"
	    "    action: deny\n"
	    "  - match: {method: POST, path: /exec/*/start}\n"
	    "    action: deny\n", NULL);
	ck_ok(&l);
	ck_assert_uint_eq(l.d.nwarn, 7);
	ck_diag(&l, "t.yaml:14:5: warning: rules[6]: match.path "
	    "\"/images/*/push\" denies with '*' where the daemon takes a name "
	    "that may contain '/' (/images/{name:.*}...");
	ck_diag(&l, "so such names are not denied; write \"/images/**/push\"");
	ck_diag(&l, "t.yaml:16:5: warning: rules[7]: match.path "
	    "\"/plugins/vieux*\" denies with '*'");
	ck_diag(&l, "write \"/plugins/vieux**\"");
	ck_diag(&l, "t.yaml:6:5: warning: rules[2]: match.path "
	    "\"/v1.40.0.1/containers/*/exec\" begins with a malformed API "
	    "version prefix; requests with one are refused (400)");
	ck_diag(&l, "t.yaml:8:5: warning: rules[3]: match.path "
	    "\"/containers/*/exec/\" is not a canonical path; request paths "
	    "are cleaned before matching (no empty, '.' or '..' segments, no "
	    "trailing '/'), so this pattern never matches what it names; "
	    "write it as \"/containers/*/exec\"");
	ck_diag(&l, "t.yaml:10:5: warning: rules[4]: match.path "
	    "\"/containers//x/./y/../z\" is not a canonical path");
	ck_diag(&l, "t.yaml:2:5: warning: rules[0]: match.path "
	    "\"/v1.45/containers/json\" begins with an API version prefix");
	ck_diag(&l, "t.yaml:4:5: warning: rules[1]: match.path "
	    "\"containers/json\" does not start with '/'");
	ld_free(&l);
}
END_TEST

#define EXFIL_ERR "rules allow raw archive/export, log/attach streaming, " \
	"or registry push endpoints (these can exfiltrate container files, " \
	"images, plugins, environment variables, and secrets); either " \
	"tighten the allow rules to omit these paths or set " \
	"insecure_allow_read_exfiltration: true to acknowledge the risk. " \
	"Exposed endpoints: "

START_TEST(read_exfiltration_probe)
{
	struct ld l;
	static const char *rules = "rules:\n"
	    "  - match: {method: GET, path: /_ping}\n    action: allow\n"
	    "  - match: {method: GET, path: /containers/**}\n"
	    "    action: allow\n"
	    "  - match: {method: POST, path: /images/*/push}\n"
	    "    action: allow\n";

	ld_run(&l, rules, NULL);
	ck_fail(&l);
	ck_diag_end(&l, "t.yaml:4:5: error: rules[1]: " EXFIL_ERR
	    "GET /containers/sockguard-test/archive, "
	    "GET /containers/sockguard-test/export, "
	    "GET /containers/sockguard-test/logs, "
	    "GET /containers/sockguard-test/attach/ws, "
	    "POST /images/sockguard-test/push");
	ck_assert_uint_eq(l.d.nerr, 1);
	ld_free(&l);

	/* With the acknowledgement: a warning naming them, no error. */
	ld_init(&l, NULL);
	l.ir = ld_yaml(&l, sg_arena_printf(l.a, "%s"
	    "insecure_allow_read_exfiltration: true\n", rules));
	ck_ok(&l);
	ck_assert(l.ir->insecure_allow_read_exfiltration);
	ck_diag(&l, "t.yaml:8:35: warning: insecure_allow_read_exfiltration: "
	    "insecure_allow_read_exfiltration is enabled and the rules allow: "
	    "GET /containers/sockguard-test/archive");
	ld_free(&l);

	/* The same acknowledgement from the environment. */
	char *env[] = {"SOCKGUARD_INSECURE_ALLOW_READ_EXFILTRATION=1", NULL};
	ld_run(&l, rules, env);
	ck_ok(&l);
	ld_free(&l);

	/* Tight rules and the defaults expose nothing. */
	ld_run(&l, "rules:\n  - match: {method: GET, path: /containers/json}\n"
	    "    action: allow\n  - match: {method: '*', path: /**}\n"
	    "    action: deny\n", NULL);
	ck_ok(&l);
	ck_assert_uint_eq(l.d.n, 0);
	ld_free(&l);

	/* A catch-all allow exposes the whole catalogue, libpod included. */
	ld_run(&l, "rules:\n  - match: {method: '*', path: /**}\n"
	    "    action: allow\n", NULL);
	ck_fail(&l);
	ck_diag_end(&l, "POST /libpod/manifests/sockguard-test/push");
	ck_diag(&l, "GET /libpod/generate/kube, ");
	ld_free(&l);
}
END_TEST

/*
 * A dotted key would be taken as the nested one and escape the
 * duplicate-key check (the later of the two forms silently winning).
 */
START_TEST(dotted_keys_rejected)
{
	struct ld l;

	ld_run(&l, "listen.address: 0.0.0.0:2375\nlisten:\n"
	    "  socket: /a.sock\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:1:1: error: listen.address: key "
	    "\"listen.address\" contains '.': mapping keys cannot be dotted "
	    "paths, each level must be nested (write listen: {address: ...})");
	ck_nerr(&l, 1);
	ld_free(&l);

	/* Either order, any depth. */
	ld_run(&l, "listen:\n  socket: /a.sock\nlisten.socket: /b.sock\n",
	    NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:3:1: error: listen.socket: key \"listen.socket\" "
	    "contains '.'");
	ld_free(&l);

	ld_run(&l, "listen:\n  tls.cert_file: /c.pem\n"
	    "upstream.failover.health_interval: 1s\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:2:3: error: listen.tls.cert_file: key "
	    "\"tls.cert_file\" contains '.': mapping keys cannot be dotted "
	    "paths, each level must be nested (write tls: {cert_file: ...})");
	ck_exact(&l, "t.yaml:3:1: error: upstream.failover.health_interval: "
	    "key \"upstream.failover.health_interval\" contains '.': mapping "
	    "keys cannot be dotted paths, each level must be nested (write "
	    "upstream: {failover: {health_interval: ...}})");
	ck_nerr(&l, 2);
	ld_free(&l);

	/* In list items too (rules, endpoints). */
	ld_run(&l, "rules:\n  - match.method: GET\n    match: {path: /a}\n"
	    "    action: allow\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:2:5: error: rules[0].match.method: key "
	    "\"match.method\" contains '.': mapping keys cannot be dotted "
	    "paths, each level must be nested (write match: {method: ...})");
	ld_free(&l);

	ld_run(&l, "upstream:\n  endpoints:\n    - address: /d.sock\n"
	    "      tls.ca_file: /ca.pem\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:4:7: error: upstream.endpoints[0].tls.ca_file: "
	    "key \"tls.ca_file\" contains '.'");
	ld_free(&l);

	/* Dots in values are fine. */
	ld_run(&l, "listen:\n  address: 127.0.0.1:2375\n", NULL);
	ck_ok(&l);
	ld_free(&l);
}
END_TEST

/* The DSL's method rule: RFC 9110 tokens (or "*"), comma-separated. */
static const struct {
	const char *method;
	const char *bad; /* the offending entry, NULL: valid */
} yaml_methods[] = {
	{"POST PUT", "POST PUT"},
	{"DELETE;PATCH", "DELETE;PATCH"},
	{"GET, POST PUT", "POST PUT"},
	{"GET/HEAD", "GET/HEAD"},
	{"GET|HEAD:x", "GET|HEAD:x"},
	{"\\\"GET\\\"", "\"GET\""},
	{"GET\\u00e9", "GET\xc3\xa9"},
	{"GET,HEAD", NULL},
	{" get , head ,", NULL},
	{"M-SEARCH", NULL},
	{"PROPFIND,MKCOL", NULL},
	{"*", NULL},
	{"!#$%&'*+-.^_`|~09az", NULL},
};

START_TEST(yaml_rule_method_tokens)
{
	struct ld l;
	const char *m = yaml_methods[_i].method, *bad = yaml_methods[_i].bad;

	ld_run(&l, fmt("rules:\n  - match: {method: \"%s\", path: /a/**}\n"
	    "    action: deny\n", m), NULL);
	if (bad == NULL) {
		ck_clean(&l);
		ld_free(&l);
		return;
	}
	ck_fail(&l);
	ck_nerr(&l, 1);
	ck_diag(&l, fmt("t.yaml:2:21: error: rules[0].match.method: "
	    "match.method \""));
	ck_diag(&l, fmt("\": \"%s\" is not an HTTP method name (letters, "
	    "digits and !#$%%&'*+-.^_`|~ only); separate methods with ',' "
	    "(e.g. \"GET,HEAD\") or use \"*\" for any method", bad));
	ld_free(&l);
}
END_TEST

START_TEST(yaml_rule_method_in_profile)
{
	struct ld l;

	ld_run(&l, "clients:\n  profiles:\n    - name: p\n      rules:\n"
	    "        - match: {method: \"POST PUT\", path: /x}\n"
	    "          action: deny\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:5:27: error: clients.profiles[0].rules[0].match."
	    "method: match.method \"POST PUT\": \"POST PUT\" is not an HTTP "
	    "method name");
	ld_free(&l);
}
END_TEST

START_TEST(yaml_rule_path_whitespace)
{
	struct ld l;

	ld_run(&l, "rules:\n"
	    "  - match: {method: POST, path: \" /containers/**\"}\n"
	    "    action: deny\n"
	    "  - match: {method: POST, path: \"/exec/** \"}\n"
	    "    action: deny\n"
	    "  - match: {method: GET, path: \"\\t/_ping\\n\"}\n"
	    "    action: allow\n"
	    "  - match: {method: GET, path: \"/a b\"}\n"
	    "    action: allow\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:2:33: error: rules[0].match.path: match.path "
	    "\" /containers/**\" has leading or trailing white space, so the "
	    "rule never matches the path it names; remove it (write "
	    "\"/containers/**\")");
	ck_exact(&l, "t.yaml:4:33: error: rules[1].match.path: match.path "
	    "\"/exec/** \" has leading or trailing white space, so the rule "
	    "never matches the path it names; remove it (write \"/exec/**\")");
	ck_diag(&l, "t.yaml:6:32: error: rules[2].match.path: match.path");
	ck_diag(&l, "remove it (write \"/_ping\")");
	ck_nerr(&l, 3);
	/* Not the old advice to put a '/' in front of the space. */
	ck_no_diag(&l, "does not start with '/'");
	ck_nwarn(&l, 0);
	ld_free(&l);
}
END_TEST

/* Deadlines are the monotonic clock plus a config duration. */
START_TEST(duration_upper_bound)
{
	struct ld l;
	char *env[] = {"SOCKGUARD_RELOAD_DEBOUNCE=2562047h", NULL};

	ld_run(&l, "reload:\n  debounce: 87600h\n", NULL);
	ck_clean(&l);
	ck_assert(l.ir->reload_debounce_ns == SG_DURATION_MAX_NS);
	ld_free(&l);

	ld_run(&l, "reload:\n  debounce: 87600h1s\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:2:13: error: reload.debounce: reload.debounce "
	    "must be at most 87600h (10 years), got \"87600h1s\"");
	ck_nerr(&l, 1);
	ld_free(&l);

	ld_run(&l, "", env);
	ck_fail(&l);
	ck_exact(&l, "env:SOCKGUARD_RELOAD_DEBOUNCE: error: reload.debounce: "
	    "reload.debounce must be at most 87600h (10 years), got "
	    "\"2562047h\"");
	ld_free(&l);
}
END_TEST

START_TEST(rules_file_relative_to_config)
{
	struct ld l;
	const char *cfg;

	char sub[128];

	tmp_setup("cfg");
	snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	tmp_write("sub/policy.rules", "# comment\nallow GET /_ping\n"
	    "deny * /** \"no\"\n");
	cfg = tmp_write("sub/c.yaml", "rules_file: policy.rules\n");
	ld_init(&l, NULL);
	l.o.config_path = cfg;
	l.o.config_explicit = true;
	l.ir = sg_cfg_load(l.a, &l.o, &l.d);
	ck_ok(&l);
	ck_assert_uint_eq(l.ir->nrules, 2);
	ck_assert(!l.ir->rules_are_default);
	ck_assert_str_eq(l.ir->rules_file, sg_arena_printf(l.a,
	    "%s/sub/policy.rules", tmpdir));
	ck_assert_str_eq(l.ir->rules[0].path, "/_ping");
	ck_assert_str_eq(l.ir->rules[0].loc.file, l.ir->rules_file);
	ck_assert_uint_eq(l.ir->rules[0].loc.line, 2);
	ck_assert_uint_eq(sg_ir_loc(l.ir, "rules_file")->line, 1);
	ld_free(&l);

	/* --rules overrides both rules: and rules_file. */
	ld_init(&l, NULL);
	l.o.rules_path = tmp_write("other.rules", "allow HEAD /_ping\n");
	l.o.config_path = tmp_write("sub/c2.yaml", "rules_file: missing.rules\n"
	    "rules:\n  - match: {method: GET, path: /x}\n    action: allow\n");
	l.ir = sg_cfg_load(l.a, &l.o, &l.d);
	ck_ok(&l);
	ck_assert_uint_eq(l.ir->nrules, 1);
	ck_assert_str_eq(l.ir->rules[0].methods[0], "HEAD");
	ck_assert_str_eq(l.ir->rules_file, l.o.rules_path);
	ck_assert_str_eq(sg_ir_loc(l.ir, "rules_file")->file, "flag:--rules");
	ld_free(&l);

	/* An empty rules file, and a missing one. */
	ld_init(&l, NULL);
	l.o.config_path = tmp_write("sub/c3.yaml", "rules_file: empty.rules\n");
	tmp_write("sub/empty.rules", "# only a comment\n\n");
	l.ir = sg_cfg_load(l.a, &l.o, &l.d);
	ck_fail(&l);
	ck_diag(&l, sg_arena_printf(l.a, "%s/sub/empty.rules: error: "
	    "rules_file: rules file has no rules", tmpdir));
	ld_free(&l);

	ld_init(&l, NULL);
	l.o.config_path = tmp_write("sub/c4.yaml",
	    "log: {}\nrules_file: gone.rules\n");
	l.ir = sg_cfg_load(l.a, &l.o, &l.d);
	ck_fail(&l);
	ck_diag(&l, sg_arena_printf(l.a, "c4.yaml:2:13: error: rules_file: "
	    "cannot read rules file %s/sub/gone.rules: No such file or "
	    "directory", tmpdir));
	ld_free(&l);

	/* Rules-file errors come back with their own locations. */
	ld_init(&l, NULL);
	l.o.config_path = tmp_write("sub/c5.yaml", "rules_file: bad.rules\n");
	tmp_write("sub/bad.rules", "allow GET /a\nallow GET /containers/**\n");
	l.ir = sg_cfg_load(l.a, &l.o, &l.d);
	ck_fail(&l);
	ck_diag(&l, sg_arena_printf(l.a, "%s/sub/bad.rules:2:", tmpdir));
	ck_diag(&l, "GET /containers/sockguard-test/archive");
	ld_free(&l);
	tmp_cleanup();
}
END_TEST

START_TEST(rules_and_rules_file_conflict)
{
	struct ld l;

	ld_run(&l, "rules:\n  - match: {method: GET, path: /a}\n"
	    "    action: allow\nrules_file: x.rules\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:4:13: error: rules_file: rules_file "
	    "(t.yaml:4:13) and a non-empty rules list (t.yaml:1:1) are "
	    "mutually exclusive");
	ck_assert_uint_eq(l.d.nerr, 1);
	ld_free(&l);

	/* An empty rules: list does not conflict (file then unreadable). */
	ld_run(&l, "rules: []\nrules_file: /nonexistent/x.rules\n", NULL);
	ck_fail(&l);
	ck_no_diag(&l, "mutually exclusive");
	ck_diag(&l, "t.yaml:2:13: error: rules_file: cannot read rules file "
	    "/nonexistent/x.rules");
	ld_free(&l);
}
END_TEST

/* ---- many errors from one file ---- */

START_TEST(multiple_errors_at_once)
{
	struct ld l;

	ld_run(&l,
	    "listen:\n"
	    "  sokcet: /x.sock\n"
	    "  socket_mode: \"0644\"\n"
	    "  socket_mode: \"0600\"\n"
	    "log:\n"
	    "  level: loud\n"
	    "  access_log: yes\n"
	    "response:\n"
	    "  deny_verbosity: chatty\n"
	    "health:\n"
	    "  path: health\n"
	    "metrics: {enabled: true}\n"
	    "rules:\n"
	    "  - match: {method: GET, path: \"/a%20b\"}\n"
	    "    action: allow\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "t.yaml:2:3: error: listen.sokcet: unknown key");
	ck_diag(&l, "t.yaml:4:3: error: listen.socket_mode: duplicate key");
	ck_diag(&l, "t.yaml:3:16: error: listen.socket_mode: "
	    "listen.socket_mode must be");
	ck_diag(&l, "t.yaml:6:10: error: log.level:");
	ck_diag(&l, "t.yaml:7:15: error: log.access_log: expected a boolean");
	ck_diag(&l, "t.yaml:9:19: error: response.deny_verbosity:");
	ck_diag(&l, "t.yaml:11:9: error: health.path:");
	ck_diag(&l, "t.yaml:12:1: error: metrics: metrics is not supported");
	ck_diag(&l, "t.yaml:14:5: error: rules[0]: match.path \"/a%20b\" "
	    "contains a literal '%'");
	ck_assert_uint_eq(l.d.nerr, 9);
	ld_free(&l);
}
END_TEST

/* ---- environment overlay (cfg_env.c) ---- */

START_TEST(env_overlay_types)
{
	struct ld l;
	char *env[] = {
	    "SOCKGUARD_LISTEN_SOCKET=/run/env.sock",
	    "SOCKGUARD_HEALTH_ENABLED=0",
	    "SOCKGUARD_LISTEN_INSECURE_ALLOW_PLAIN_TCP=T",
	    "SOCKGUARD_LISTEN_MAX_CONNECTIONS=10",
	    "SOCKGUARD_LOG_LEVEL=",
	    "SOCKGUARD_MIN_API_VERSION=1.41",
	    "PATH=/bin",
	    "DOCKER_HOST=tcp://x:1",
	    NULL,
	};
	const struct sg_loc *loc;

	ld_run(&l, "listen:\n  socket: /run/file.sock\nlog:\n  level: debug\n",
	    env);
	ck_ok(&l);
	ck_assert_str_eq(l.ir->listeners[0].socket, "/run/env.sock");
	ck_assert(!l.ir->health_enabled);
	ck_assert(l.ir->listeners[0].insecure_allow_plain_tcp);
	ck_assert_uint_eq(l.ir->listeners[0].max_connections, 10);
	ck_assert_uint_eq(l.ir->min_api_minor, 41);
	/* Empty value = unset: the file's debug stays. */
	ck_assert_int_eq(l.ir->log.level, SG_LOG_DEBUG);
	loc = sg_ir_loc(l.ir, "listen.socket");
	ck_assert_str_eq(loc->file, "env:SOCKGUARD_LISTEN_SOCKET");
	ck_assert_uint_eq(loc->line, 0);
	ck_assert_str_eq(sg_ir_loc(l.ir, "log.level")->file, "t.yaml");
	ld_free(&l);
}
END_TEST

START_TEST(env_list_split)
{
	struct sg_arena *a = sg_arena_new();
	const char **v;
	size_t n;

	n = sg_cfg_split_list(a, "a,b, c", &v);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(v[0], "a");
	ck_assert_str_eq(v[1], "b");
	ck_assert_str_eq(v[2], " c"); /* items are not trimmed (SPEC 2.2) */
	n = sg_cfg_split_list(a, "single", &v);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0], "single");
	n = sg_cfg_split_list(a, "x,,y,", &v);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(v[1], "");
	ck_assert_str_eq(v[3], "");
	sg_arena_free(a);
}
END_TEST

START_TEST(env_errors)
{
	struct ld l;
	char *env[] = {
	    "SOCKGUARD_LISTEN_SOKET=/x",
	    "SOCKGUARD_TOTALLY_UNRELATED_THING=1",
	    "SOCKGUARD_METRICS_ENABLED=true",
	    "SOCKGUARD_UPSTREAM_REQUEST_TIMEOUT=soon",
	    "SOCKGUARD_REQUEST_BODY_EXEC_ALLOW_PRIVILEGED=true",
	    "SOCKGUARD_LISTEN_SOCKET_UID=5",
	    "SOCKGUARD_HEALTH_ENABLED=yes",
	    "SOCKGUARD_LISTEN_MAX_CONNECTIONS=12abc",
	    "SOCKGUARD_UNKNOWN_BUT_EMPTY=",
	    NULL,
	};

	ld_run(&l, "", env);
	ck_fail(&l);
	ck_diag(&l, "env:SOCKGUARD_LISTEN_SOKET: error: unknown environment "
	    "variable SOCKGUARD_LISTEN_SOKET; did you mean "
	    "SOCKGUARD_LISTEN_SOCKET?");
	ck_diag_end(&l, "env:SOCKGUARD_TOTALLY_UNRELATED_THING: error: unknown "
	    "environment variable SOCKGUARD_TOTALLY_UNRELATED_THING");
	ck_diag(&l, "env:SOCKGUARD_METRICS_ENABLED: error: metrics.enabled: "
	    "metrics.enabled is not supported yet by this version of "
	    "sockguard");
	ck_diag(&l, "env:SOCKGUARD_UPSTREAM_REQUEST_TIMEOUT: error: "
	    "upstream.request_timeout: upstream.request_timeout must be a "
	    "positive duration or \"off\" to disable, got \"soon\"");
	ck_diag(&l, "env:SOCKGUARD_REQUEST_BODY_EXEC_ALLOW_PRIVILEGED: error: "
	    "request_body: request_body is not supported yet");
	ck_diag(&l, "env:SOCKGUARD_LISTEN_SOCKET_UID: error: "
	    "listen.socket_uid: listen.socket_uid can be set from the "
	    "environment only when the YAML config file sets it too");
	ck_diag(&l, "env:SOCKGUARD_HEALTH_ENABLED: error: health.enabled: "
	    "expected a boolean (true or false), got \"yes\"");
	ck_diag(&l, "env:SOCKGUARD_LISTEN_MAX_CONNECTIONS: error: "
	    "listen.max_connections: expected an integer, got \"12abc\"");
	ck_no_diag(&l, "SOCKGUARD_UNKNOWN_BUT_EMPTY");
	ck_assert_uint_eq(l.d.nerr, 8);
	ld_free(&l);
}
END_TEST

static const char *env_fake_value;

static const char *
env_fake_getenv(const char *name)
{
	return strcmp(name, "SOCKGUARD_LOG_FORMAT") == 0 ? env_fake_value :
	    NULL;
}

START_TEST(env_through_getenv_hook)
{
	struct ld l;

	env_fake_value = "text";
	ld_init(&l, NULL);
	l.o.envp = NULL;
	l.o.getenv = env_fake_getenv;
	ld_yaml(&l, "log:\n  format: json\n");
	ck_ok(&l);
	ck_assert_int_eq(l.ir->log.format, SG_LOGFMT_TEXT);
	ck_assert_str_eq(sg_ir_loc(l.ir, "log.format")->file,
	    "env:SOCKGUARD_LOG_FORMAT");
	ld_free(&l);
}
END_TEST

/* ---- precedence: flag > env > file > default (SPEC 2.2) ---- */

struct prec_case {
	bool file, env, flag;
	enum sg_log_level want;
	const char *want_file;
};

static const struct prec_case prec_cases[] = {
	{false, false, false, SG_LOG_INFO, NULL},
	{true, false, false, SG_LOG_WARN, "t.yaml"},
	{true, true, false, SG_LOG_ERROR, "env:SOCKGUARD_LOG_LEVEL"},
	{false, true, false, SG_LOG_ERROR, "env:SOCKGUARD_LOG_LEVEL"},
	{true, true, true, SG_LOG_DEBUG, "flag:--log-level"},
	{true, false, true, SG_LOG_DEBUG, "flag:--log-level"},
	{false, false, true, SG_LOG_DEBUG, "flag:--log-level"},
};

START_TEST(precedence_flag_env_file_default)
{
	const struct prec_case *t = &prec_cases[_i];
	char *env_on[] = {"SOCKGUARD_LOG_LEVEL=error", NULL};
	struct ld l;
	const struct sg_loc *loc;

	ld_init(&l, t->env ? env_on : NULL);
	if (t->flag)
		l.o.log_level = "debug";
	ld_yaml(&l, t->file ? "log:\n  level: warn\n" : "log: {}\n");
	ck_ok(&l);
	ck_assert_int_eq(l.ir->log.level, t->want);
	loc = sg_ir_loc(l.ir, "log.level");
	if (t->want_file == NULL)
		ck_assert_ptr_null(loc);
	else
		ck_assert_str_eq(loc->file, t->want_file);
	ld_free(&l);
}
END_TEST

START_TEST(flags_override_and_are_checked)
{
	struct ld l;
	char *env[] = {"SOCKGUARD_UPSTREAM_SOCKET=/env/d.sock", NULL};

	ld_init(&l, env);
	l.o.listen_socket = "/run/flag.sock";
	l.o.upstream_socket = "/flag/d.sock";
	l.o.log_format = "text";
	l.o.deny_verbosity = "verbose";
	ld_yaml(&l, "listen:\n  socket: /run/file.sock\n");
	ck_ok(&l);
	ck_assert_str_eq(l.ir->listeners[0].socket, "/run/flag.sock");
	ck_assert_str_eq(l.ir->upstream.socket, "/flag/d.sock");
	ck_assert_str_eq(l.ir->upstream.endpoints[0].address,
	    "unix:///flag/d.sock");
	ck_assert_int_eq(l.ir->log.format, SG_LOGFMT_TEXT);
	ck_assert_int_eq(l.ir->deny_verbosity, SG_DENY_VERBOSE);
	ck_assert_str_eq(sg_ir_loc(l.ir, "upstream.socket")->file,
	    "flag:--upstream-socket");
	ld_free(&l);

	ld_init(&l, NULL);
	l.o.deny_verbosity = "everything";
	ld_yaml(&l, "");
	ck_fail(&l);
	ck_diag(&l, "flag:--deny-verbosity: error: response.deny_verbosity: "
	    "response.deny_verbosity must be minimal or verbose, got "
	    "\"everything\"");
	ld_free(&l);
}
END_TEST

Suite *suite_config(void);

Suite *
suite_config(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("yaml");
	TCase *tl = tcase_create("lower");
	TCase *te = tcase_create("env");

	tcase_add_test(tc, yaml_duplicate_key);
	tcase_add_test(tc, socket_owner_env_overrides_only_yaml);
	tcase_add_test(tc, yaml_anchor_and_alias);
	tcase_add_test(tc, yaml_depth_cap);
	tcase_add_test(tc, yaml_structure_errors);
	tcase_add_test(tc, yaml_tree_locations);
	suite_add_tcase(s, tc);

	tcase_add_test(tl, defaults_when_default_file_is_missing);
	tcase_add_test(tl, defaults_from_empty_yaml);
	tcase_add_test(tl, config_path_rules);
	tcase_add_test(tl, config_from_pipe_and_fifo);
	tcase_add_test(tl, rules_file_from_pipe);
	tcase_add_test(tl, dotted_keys_rejected);
	tcase_add_loop_test(tl, yaml_rule_method_tokens, 0,
	    SG_ARRAY_LEN(yaml_methods));
	tcase_add_test(tl, yaml_rule_method_in_profile);
	tcase_add_test(tl, yaml_rule_path_whitespace);
	tcase_add_test(tl, duration_upper_bound);
	tcase_add_test(tl, key_table_is_consistent);
	tcase_add_test(tl, key_suggestions);
	tcase_add_test(tl, unknown_key_with_suggestion);
	tcase_add_test(tl, unknown_rule_keys);
	tcase_add_test(tl, not_supported_keys);
	tcase_add_test(tl, wrong_types);
	tcase_add_loop_test(tl, bool_go_parsebool_set, 0,
	    (int)SG_ARRAY_LEN(bool_true));
	tcase_add_loop_test(tl, bool_yaml11_spellings_rejected, 0,
	    (int)SG_ARRAY_LEN(bool_bad));
	tcase_add_test(tl, null_values);
	tcase_add_test(tl, socket_mode_rules);
	tcase_add_loop_test(tl, listen_address_rules, 0,
	    (int)SG_ARRAY_LEN(addr_cases));
	tcase_add_test(tl, listen_socket_wins_and_needs_one);
	tcase_add_test(tl, log_checks);
	tcase_add_test(tl, response_health_api_upstream_checks);
	tcase_add_test(tl, yaml_rules_lowered);
	tcase_add_test(tl, yaml_rule_errors);
	tcase_add_test(tl, rule_path_warnings);
	tcase_add_test(tl, read_exfiltration_probe);
	tcase_add_test(tl, rules_file_relative_to_config);
	tcase_add_test(tl, rules_and_rules_file_conflict);
	tcase_add_test(tl, multiple_errors_at_once);
	tcase_add_loop_test(tl, precedence_flag_env_file_default, 0,
	    (int)SG_ARRAY_LEN(prec_cases));
	tcase_add_test(tl, flags_override_and_are_checked);
	suite_add_tcase(s, tl);

	tcase_add_test(te, env_overlay_types);
	tcase_add_test(te, env_list_split);
	tcase_add_test(te, env_errors);
	tcase_add_test(te, env_through_getenv_hook);
	suite_add_tcase(s, te);
	return s;
}
