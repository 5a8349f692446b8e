/* SPDX-License-Identifier: MIT */
/*
 * main.c: the command line. Owns argument parsing, the subcommands
 * (run/serve, check/validate, match, version) and exit codes: 0 success
 * (including a deny decision from `match`), 1 any error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sockguard/cfg.h"
#include "sockguard/conf.h"
#include "sockguard/log.h"
#include "sockguard/path.h"
#include "sockguard/policy.h"
#include "sockguard/reload.h"
#include "sockguard/runtime.h"

#ifndef SG_COMMIT
#define SG_COMMIT "unknown"
#endif
#ifndef SG_BUILT
#define SG_BUILT "unknown"
#endif

enum {
	OPT_LISTEN_SOCKET = 256,
	OPT_UPSTREAM_SOCKET,
	OPT_LOG_LEVEL,
	OPT_LOG_FORMAT,
	OPT_DENY_VERBOSITY,
	OPT_RULES,
	OPT_PRINT_RULES,
	OPT_PATH,
};

static const char main_usage[] =
    "usage: sockguard [-c FILE] [COMMAND] [OPTIONS]\n"
    "\n"
    "A default-deny proxy for the Docker Engine API.\n"
    "\n"
    "Commands:\n"
    "  run        serve in the foreground (default; alias: serve)\n"
    "  check      load, validate and compile the config, print it "
    "(alias: validate)\n"
    "  match      show which rule decides a request\n"
    "  diff       what a reload from one config to another changes\n"
    "  version    print version information\n"
    "\n"
    "Global options:\n"
    "  -c, --config FILE   config file (default " SG_CFG_DEFAULT_PATH ";\n"
    "                      when that file is missing, built-in defaults\n"
    "                      plus SOCKGUARD_* environment are used)\n"
    "  -h, --help          this help; `sockguard COMMAND --help` for a "
    "command\n";

static const char run_usage[] =
    "usage: sockguard run [-c FILE] [OPTIONS]\n"
    "\n"
    "Serve in the foreground until SIGTERM/SIGINT (then drain for at most\n"
    "30 s). Flags override SOCKGUARD_* environment, which overrides the "
    "file.\n"
    "\n"
    "  -c, --config FILE           config file\n"
    "      --rules FILE            rule DSL file (replaces rules/rules_file)\n"
    "      --listen-socket PATH    listen.socket\n"
    "      --upstream-socket PATH  upstream.socket\n"
    "      --log-level LEVEL       log.level (debug|info|warn|error)\n"
    "      --log-format FORMAT     log.format (json|text)\n"
    "      --deny-verbosity V      response.deny_verbosity "
    "(minimal|verbose)\n"
    "  -h, --help                  this help\n";

static const char check_usage[] =
    "usage: sockguard check [-c FILE] [--rules FILE] [-q] [--print-rules]\n"
    "\n"
    "Load, validate and compile the config without contacting the daemon.\n"
    "Prints the compiled listener, upstream and rule table; on failure\n"
    "prints every error with file:line:column and exits 1.\n"
    "\n"
    "  -c, --config FILE   config file\n"
    "      --rules FILE    rule DSL file (replaces rules/rules_file)\n"
    "      --print-rules   print only the compiled rules, in DSL form\n"
    "  -q, --quiet         print nothing on success\n"
    "  -h, --help          this help\n";

static const char match_usage[] =
    "usage: sockguard match [-c FILE] -X METHOD --path PATH [-o text|json]\n"
    "\n"
    "Evaluate one request against the configured rules, offline. PATH is\n"
    "the decoded request path (query ignored); it is canonicalised as the\n"
    "proxy does. The config file must exist.\n"
    "\n"
    "  -c, --config FILE    config file\n"
    "      --rules FILE     rule DSL file\n"
    "  -X, --method METHOD  request method\n"
    "      --path PATH      request path, starting with /\n"
    "  -o, --output FORMAT  text (default) or json\n"
    "  -h, --help           this help\n";

static const char diff_usage[] =
    "usage: sockguard diff OLD NEW\n"
    "\n"
    "Print what a reload from config OLD to config NEW would change: keys\n"
    "with old -> new values (those that need a restart are marked) and\n"
    "rules added (+), removed (-) and moved (>), in DSL form.\n"
    "Exit 0: identical, 1: different, 2: a config is invalid.\n";

static const char version_usage[] =
    "usage: sockguard version [-o text|json]\n";

struct main_args {
	struct sg_load_opts lo;
	const char *cmd;
	bool quiet;
	bool print_rules;
	const char *method;
	const char *path;
	const char *output;
	const char *files[2];
	int nfiles;
};

static int main_run(struct main_args *a);
static int main_check(struct main_args *a);
static int main_match(struct main_args *a);
static int main_version(struct main_args *a);
static int main_diff(struct main_args *a);

static void
main_json_str(FILE *fp, const char *s)
{
	/* every byte may become \u00XX: six out per one in */
	size_t n = strlen(s), cap = 6 * n + 1;
	char *buf = malloc(cap);

	if (buf == NULL) {
		fputs("sockguard: out of memory\n", stderr);
		exit(1);
	}
	sg_log_escape(buf, cap, s, n, false);
	fprintf(fp, "\"%s\"", buf);
	free(buf);
}

static struct sg_conf *
main_load(struct main_args *a)
{
	struct sg_diag d;
	struct sg_conf *c;

	sg_diag_init(&d);
	c = sg_conf_load(&a->lo, &d);
	if (c == NULL || d.nwarn > 0) {
		if (c == NULL && strcmp(a->cmd, "check") == 0)
			fprintf(stderr, "validation failed\n");
		sg_diag_print(&d, stderr);
		if (c == NULL)
			fprintf(stderr, "sockguard: %zu error(s) in the "
			    "configuration\n", d.nerr);
	}
	sg_diag_free(&d);
	return c;
}

static void
main_methods(const struct sg_ir_rule *r, char *buf, size_t cap)
{
	size_t i, o = 0;

	if (r->any_method) {
		snprintf(buf, cap, "*");
		return;
	}
	buf[0] = '\0';
	for (i = 0; i < r->nmethods && o < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? "," : "",
		    r->methods[i]);
}

static void
main_print_upstream(const struct sg_ir *ir)
{
	const struct sg_ir_upstream *up = &ir->upstream;
	static const char *const src[] = {"upstream.socket",
	    "upstream.endpoints", "DOCKER_HOST environment"};
	char d1[64], d2[64];
	size_t i;

	for (i = 0; i < up->nendpoints; i++) {
		const struct sg_ir_endpoint *e = &up->endpoints[i];

		printf("upstream %zu: %s", i + 1, e->address);
		if (e->kind == SG_EP_TCP && !e->tls)
			printf(" (plaintext TCP: INSECURE)");
		else if (e->kind == SG_EP_TCP) {
			printf(" (TLS");
			if (e->insecure_skip_tls_verify)
				printf(", server certificate NOT verified");
			else
				printf(", verify %s as %s",
				    e->ca_file != NULL && e->ca_file[0] ?
				    e->ca_file : "system roots",
				    e->server_name != NULL && e->server_name[0] ?
				    e->server_name : e->host);
			if (e->cert_file != NULL && e->cert_file[0])
				printf(", client certificate %s", e->cert_file);
			printf(")");
		}
		printf("\n");
	}
	printf("upstream from: %s\n", src[up->source]);
	if (up->request_timeout_ns > 0) {
		sg_duration_format(up->request_timeout_ns, d1, sizeof(d1));
		printf("request timeout: %s (streams exempt)\n", d1);
	} else {
		printf("request timeout: off\n");
	}
	if (up->nendpoints >= 2) {
		sg_duration_format(up->health_timeout_ns, d2, sizeof(d2));
		if (up->health_interval_ns > 0) {
			sg_duration_format(up->health_interval_ns, d1,
			    sizeof(d1));
			printf("failover: active/passive in list order, probes "
			    "every %s (timeout %s)\n", d1, d2);
		} else {
			printf("failover: active/passive in list order, startup "
			    "probe only (timeout %s); demotion on request "
			    "dial failure\n", d2);
		}
		printf("note: all %zu endpoints must front the same Docker "
		    "daemon or Swarm cluster. This is failover, not load "
		    "balancing: container IDs, exec sessions and volumes are "
		    "daemon-local, so a standby that is a different daemon "
		    "would hand clients dangling IDs. At startup sockguard "
		    "compares each endpoint's GET /info and warns when they "
		    "front different daemons; use one sockguard per daemon "
		    "otherwise.\n", up->nendpoints);
	}
}

static void
main_strlist(const char *label, const struct sg_ir_strlist *l)
{
	size_t i;

	if (l->n == 0)
		return;
	printf(" %s=", label);
	for (i = 0; i < l->n; i++)
		printf("%s%s", i ? "," : "", l->v[i]);
}

static void
main_print_listener(const struct sg_ir_listener *l)
{
	size_t i;

	if (l->socket != NULL && l->socket[0] != '\0')
		printf("listener %s: unix %s (mode %04o)", l->name, l->socket,
		    l->socket_mode);
	else
		printf("listener %s: tcp %s", l->name, l->address);
	if (l->tls.enabled) {
		printf(" TLS 1.3, client certificates from %s",
		    l->tls.client_ca_file != NULL ? l->tls.client_ca_file : "?");
		main_strlist("cn", &l->tls.sel.common_names);
		main_strlist("dns", &l->tls.sel.dns_names);
		main_strlist("ip", &l->tls.sel.ip_addresses);
		main_strlist("uri", &l->tls.sel.uri_sans);
		main_strlist("pins", &l->tls.sel.public_key_sha256_pins);
	} else if (l->socket == NULL || l->socket[0] == '\0') {
		printf(" plaintext");
	}
	if (l->named) {
		printf(", admits ");
		if (l->admit_all)
			printf("every profile");
		for (i = 0; !l->admit_all && i < l->allowed_profiles.n; i++)
			printf("%s%s", i ? "," : "", l->allowed_profiles.v[i]);
	}
	printf("\n");
}

static void
main_print_rules(const struct sg_ir_rule *rules, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct sg_ir_rule *r = &rules[i];
		char m[256];

		main_methods(r, m, sizeof(m));
		printf("  %3zu  %-5s %-12s %s", i + 1,
		    r->action == SG_ACTION_ALLOW ? "allow" : "deny", m, r->path);
		if (r->reason != NULL && r->reason[0] != '\0')
			printf("  \"%s\"", r->reason);
		if (r->loc.file != NULL && r->loc.line > 0)
			printf("  (%s:%u)", r->loc.file, r->loc.line);
		else if (r->loc.file != NULL)
			printf("  (%s)", r->loc.file);
		printf("\n");
	}
}

static void
main_print_clients(const struct sg_ir_clients *cl)
{
	static const char *const modes[] = {"enforce", "warn", "audit"};
	size_t i, j;

	if (cl->nallowed_cidrs > 0) {
		printf("clients allowed from:");
		for (i = 0; i < cl->nallowed_cidrs; i++)
			printf(" %s", cl->allowed_cidrs[i].text);
		printf("\n");
	}
	for (i = 0; i < cl->ncert; i++) {
		printf("profile by client certificate -> %s:",
		    cl->cert[i].profile);
		main_strlist("cn", &cl->cert[i].sel.common_names);
		main_strlist("dns", &cl->cert[i].sel.dns_names);
		main_strlist("ip", &cl->cert[i].sel.ip_addresses);
		main_strlist("uri", &cl->cert[i].sel.uri_sans);
		main_strlist("spiffe", &cl->cert[i].sel.spiffe_ids);
		main_strlist("pins", &cl->cert[i].sel.public_key_sha256_pins);
		printf("\n");
	}
	for (i = 0; i < cl->nunix_peer; i++) {
		const struct sg_ir_peer_assign *a = &cl->unix_peer[i];

		printf("profile by unix peer -> %s:", a->profile);
		for (j = 0; j < a->nuids; j++)
			printf("%s%lld", j ? "," : " uid=", (long long)a->uids[j]);
		for (j = 0; j < a->ngids; j++)
			printf("%s%lld", j ? "," : " gid=", (long long)a->gids[j]);
		for (j = 0; j < a->npids; j++)
			printf("%s%lld", j ? "," : " pid=", (long long)a->pids[j]);
		printf("\n");
	}
	for (i = 0; i < cl->nsource_ip; i++) {
		printf("profile by source address -> %s:",
		    cl->source_ip[i].profile);
		for (j = 0; j < cl->source_ip[i].ncidrs; j++)
			printf(" %s", cl->source_ip[i].cidrs[j].text);
		printf("\n");
	}
	if (cl->default_profile != NULL && cl->default_profile[0] != '\0')
		printf("default profile: %s\n", cl->default_profile);
	for (i = 0; i < cl->nprofiles; i++) {
		const struct sg_ir_profile *p = &cl->profiles[i];

		printf("profile %s (%s), rules (%zu):\n", p->name, modes[p->mode],
		    p->nrules);
		main_print_rules(p->rules, p->nrules);
	}
}

static int
main_check(struct main_args *a)
{
	struct sg_conf *c = main_load(a);
	const struct sg_ir *ir;
	char line[8192];
	size_t i;

	if (c == NULL)
		return 1;
	ir = c->ir;
	if (a->print_rules) {
		for (i = 0; i < ir->nrules; i++) {
			sg_cfg_dsl_format(&ir->rules[i], line, sizeof(line));
			printf("%s\n", line);
		}
		sg_conf_unref(c);
		return 0;
	}
	if (a->quiet) {
		sg_conf_unref(c);
		return 0;
	}
	printf("config: %s\n", ir->config_path != NULL ? ir->config_path :
	    "(built-in defaults + environment)");
	for (i = 0; i < ir->nlisteners; i++)
		main_print_listener(&ir->listeners[i]);
	main_print_upstream(ir);
	printf("minimum API version: %u.%u\n", ir->min_api_major,
	    ir->min_api_minor);
	if (ir->compat_env != NULL)
		printf("tecnativa compatibility mode active: %s\n",
		    ir->compat_env);
	printf("rules (%zu)%s%s:\n", ir->nrules,
	    ir->rules_are_default ? " [built-in defaults]" : "",
	    ir->rules_file != NULL && ir->rules_file[0] ? " from rules_file" :
	    "");
	main_print_rules(ir->rules, ir->nrules);
	main_print_clients(&ir->clients);
	printf("validation passed\n");
	sg_conf_unref(c);
	return 0;
}

static int
main_match(struct main_args *a)
{
	struct sg_conf *c;
	struct sg_verdict v;
	struct sg_path_ver ver;
	char method[64], *np;
	const char *cfg;
	size_t n, i, plen;
	bool json;

	if (a->method == NULL || a->path == NULL) {
		fprintf(stderr, "sockguard match: -X/--method and --path are "
		    "required\n%s", match_usage);
		return 1;
	}
	if (a->path[0] != '/') {
		fprintf(stderr, "sockguard match: path must start with \"/\"\n");
		return 1;
	}
	if (a->output == NULL)
		a->output = "text";
	if (strcasecmp(a->output, "text") != 0 &&
	    strcasecmp(a->output, "json") != 0) {
		fprintf(stderr, "sockguard match: -o must be text or json\n");
		return 1;
	}
	json = strcasecmp(a->output, "json") == 0;
	/* trim and upper-case the method */
	while (*a->method == ' ' || *a->method == '\t')
		a->method++;
	n = strlen(a->method);
	while (n > 0 && (a->method[n - 1] == ' ' || a->method[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(method)) {
		fprintf(stderr, "sockguard match: invalid method\n");
		return 1;
	}
	for (i = 0; i < n; i++)
		method[i] = (char)(a->method[i] >= 'a' && a->method[i] <= 'z' ?
		    a->method[i] - 32 : a->method[i]);
	method[n] = '\0';
	a->lo.require_file = true;
	c = main_load(a);
	if (c == NULL)
		return 1;
	plen = strcspn(a->path, "?");
	np = malloc(plen + 1);
	if (np == NULL) {
		sg_conf_unref(c);
		return 1;
	}
	n = sg_path_canon(a->path, plen, np, &ver);
	sg_policy_eval(c->policy, method, strlen(method), np + ver.len,
	    n - ver.len, &v);
	if (v.action == SG_ACTION_ALLOW)
		(void)sg_policy_attach_stdin(c->policy, method, strlen(method),
		    np + ver.len, n - ver.len, &ver, a->path[plen] == '?' ?
		    a->path + plen + 1 : NULL, a->path[plen] == '?' ?
		    strlen(a->path + plen + 1) : 0, &v);
	if (ver.odd) {
		/* as the proxy does: refused (400) before the rules */
		v.action = SG_ACTION_DENY;
		v.rule = -1;
		v.reason = "malformed API version prefix (refused with 400 "
		    "before the rules)";
		v.code = SG_REASON_API_VERSION_MALFORMED;
	} else if (v.action == SG_ACTION_ALLOW && sg_path_ver_below(&ver,
	    c->ir->min_api_major, c->ir->min_api_minor)) {
		/* as the proxy does: an allowed request refused with 400 */
		v.action = SG_ACTION_DENY;
		v.rule = -1;
		v.reason = "API version below the configured minimum "
		    "(refused with 400 after the rules)";
		v.code = SG_REASON_API_VERSION_TOO_OLD;
	}
	cfg = c->ir->config_path != NULL ? c->ir->config_path : "";
	if (json) {
		printf("{\"config\":");
		main_json_str(stdout, cfg);
		printf(",\"method\":");
		main_json_str(stdout, method);
		printf(",\"path\":");
		main_json_str(stdout, a->path);
		printf(",\"normalized_path\":");
		main_json_str(stdout, np + ver.len);
		if (c->ir->compat_env != NULL) {
			printf(",\"compat_mode\":true,\"compat_env\":");
			main_json_str(stdout, c->ir->compat_env);
		}
		printf(",\"decision\":\"%s\"",
		    v.action == SG_ACTION_ALLOW ? "allow" : "deny");
		if (v.reason != NULL && v.reason[0] != '\0') {
			printf(",\"reason\":");
			main_json_str(stdout, v.reason);
		}
		printf(",\"reason_code\":\"%s\"", sg_reason_code_str(v.code));
		if (v.rule >= 0) {
			const struct sg_ir_rule *r = &c->ir->rules[v.rule];
			char m[256];

			main_methods(r, m, sizeof(m));
			printf(",\"matched_rule\":{\"index\":%d,\"method\":",
			    v.rule + 1);
			main_json_str(stdout, m);
			printf(",\"path\":");
			main_json_str(stdout, r->path);
			printf(",\"action\":\"%s\"",
			    r->action == SG_ACTION_ALLOW ? "allow" : "deny");
			if (r->reason != NULL && r->reason[0] != '\0') {
				printf(",\"reason\":");
				main_json_str(stdout, r->reason);
			}
			printf("}");
		}
		printf("}\n");
	} else {
		printf("Config:          %s\n", cfg);
		printf("Method:          %s\n", method);
		printf("Path:            %s\n", a->path);
		printf("Normalized path: %s\n", np + ver.len);
		if (c->ir->compat_env != NULL)
			printf("Mode:            tecnativa compatibility (%s)\n",
			    c->ir->compat_env);
		printf("Decision:        %s\n",
		    v.action == SG_ACTION_ALLOW ? "allow" : "deny");
		if (v.rule >= 0) {
			const struct sg_ir_rule *r = &c->ir->rules[v.rule];
			char line[8192];

			sg_cfg_dsl_format(r, line, sizeof(line));
			printf("Matched rule:    #%d\n", v.rule + 1);
			printf("Rule:            %s\n", line);
		} else {
			printf("Matched rule:    none\n");
		}
		if (v.reason != NULL && v.reason[0] != '\0')
			printf("Reason:          %s\n", v.reason);
	}
	free(np);
	sg_conf_unref(c);
	return 0;
}

static int
main_version(struct main_args *a)
{
	const char *o = a->output != NULL ? a->output : "text";
	char commit[8];

	snprintf(commit, sizeof(commit), "%s", SG_COMMIT);
	if (strcasecmp(o, "json") == 0) {
		printf("{\"version\":\"%s\",\"commit\":\"%s\",\"built\":\"%s\","
		    "\"go\":\"%s\",\"compiler\":\"%s\",\"event_backend\":\"%s\"}\n",
		    sg_version, commit, SG_BUILT, "n/a (C11)", __VERSION__,
		    sg_evb_name());
		return 0;
	}
	if (strcasecmp(o, "text") != 0) {
		fprintf(stderr, "sockguard version: unknown output format "
		    "\"%s\" (use text or json)\n", o);
		return 1;
	}
	printf("sockguard %s\ncommit: %s\nbuilt: %s\ncompiler: %s\n"
	    "event backend: %s\n", sg_version, commit, SG_BUILT, __VERSION__,
	    sg_evb_name());
	return 0;
}

static int
main_diff(struct main_args *a)
{
	struct sg_conf *c[2] = {NULL, NULL};
	struct sg_ir_diff d;
	const char *why;
	bool unreadable;
	int i, rc;

	if (a->nfiles != 2) {
		fputs(diff_usage, stderr);
		return 2;
	}
	for (i = 0; i < 2; i++) {
		struct sg_diag dg;

		a->lo.config_path = a->files[i];
		a->lo.config_explicit = true;
		sg_diag_init(&dg);
		c[i] = sg_conf_load(&a->lo, &dg);
		if (c[i] == NULL) {
			fprintf(stderr, "sockguard diff: %s is invalid:\n",
			    a->files[i]);
			sg_diag_print(&dg, stderr);
		}
		sg_diag_free(&dg);
	}
	if (c[0] == NULL || c[1] == NULL) {
		for (i = 0; i < 2; i++)
			if (c[i] != NULL)
				sg_conf_unref(c[i]);
		return 2;
	}
	rc = sg_ir_diff(c[0]->ir, c[1]->ir, &d) > 0 ? 1 : 0;
	sg_ir_diff_print(&d, stdout);
	why = sg_ir_reload_refusal(c[0]->ir, c[1]->ir, &unreadable);
	if (why != NULL) {
		printf("a reload would be refused: %s\n", why);
		rc = 1;
	} else if (rc == 0)
		printf("no differences\n");
	else if (d.nimmutable > 0)
		printf("%zu change(s) need a restart; a reload would be "
		    "refused\n", d.nimmutable);
	sg_ir_diff_free(&d);
	sg_conf_unref(c[0]);
	sg_conf_unref(c[1]);
	return rc;
}

static int
main_run(struct main_args *a)
{
	struct sg_conf *c;
	int rc;

	sg_log_early();
	c = main_load(a);
	if (c == NULL)
		return 1;
	rc = sg_server_run(c, &a->lo);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"quiet", no_argument, NULL, 'q'},
		{"method", required_argument, NULL, 'X'},
		{"output", required_argument, NULL, 'o'},
		{"path", required_argument, NULL, OPT_PATH},
		{"rules", required_argument, NULL, OPT_RULES},
		{"print-rules", no_argument, NULL, OPT_PRINT_RULES},
		{"listen-socket", required_argument, NULL, OPT_LISTEN_SOCKET},
		{"upstream-socket", required_argument, NULL,
		    OPT_UPSTREAM_SOCKET},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		{"log-format", required_argument, NULL, OPT_LOG_FORMAT},
		{"deny-verbosity", required_argument, NULL, OPT_DENY_VERBOSITY},
		{NULL, 0, NULL, 0},
	};
	static const struct {
		const char *name, *cmd;
		const char *usage;
	} cmds[] = {
		{"run", "run", run_usage},
		{"serve", "run", run_usage},
		{"check", "check", check_usage},
		{"validate", "check", check_usage},
		{"match", "match", match_usage},
		{"version", "version", version_usage},
		{"diff", "diff", diff_usage},
	};
	struct main_args a;
	const char *usage = main_usage;
	int i, ch, sub = -1;
	bool help = false;

	memset(&a, 0, sizeof(a));
	a.cmd = "run";
	/* the command is the first word that is not an option's value */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 ||
		    strcmp(argv[i], "--config") == 0) {
			i++;
			continue;
		}
		if (argv[i][0] == '-')
			continue;
		sub = i;
		break;
	}
	if (sub > 0) {
		size_t k;

		for (k = 0; k < SG_ARRAY_LEN(cmds); k++)
			if (strcmp(argv[sub], cmds[k].name) == 0)
				break;
		if (k == SG_ARRAY_LEN(cmds)) {
			fprintf(stderr, "sockguard: unknown command \"%s\"\n\n%s",
			    argv[sub], main_usage);
			return 1;
		}
		a.cmd = cmds[k].cmd;
		usage = cmds[k].usage;
		for (i = sub; i < argc - 1; i++)
			argv[i] = argv[i + 1];
		argc--;
	}
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:hqX:o:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			a.lo.config_path = optarg;
			a.lo.config_explicit = true;
			break;
		case 'h':
			help = true;
			break;
		case 'q':
			a.quiet = true;
			break;
		case 'X':
			a.method = optarg;
			break;
		case 'o':
			a.output = optarg;
			break;
		case OPT_PATH:
			a.path = optarg;
			break;
		case OPT_RULES:
			a.lo.rules_path = optarg;
			break;
		case OPT_PRINT_RULES:
			a.print_rules = true;
			break;
		case OPT_LISTEN_SOCKET:
			a.lo.listen_socket = optarg;
			break;
		case OPT_UPSTREAM_SOCKET:
			a.lo.upstream_socket = optarg;
			break;
		case OPT_LOG_LEVEL:
			a.lo.log_level = optarg;
			break;
		case OPT_LOG_FORMAT:
			a.lo.log_format = optarg;
			break;
		case OPT_DENY_VERBOSITY:
			a.lo.deny_verbosity = optarg;
			break;
		case ':':
			fprintf(stderr, "sockguard: option %s needs a value\n\n%s",
			    argv[optind - 1], usage);
			return 1;
		default:
			fprintf(stderr, "sockguard: unknown option %s\n\n%s",
			    argv[optind - 1], usage);
			return 1;
		}
	}
	while (strcmp(a.cmd, "diff") == 0 && optind < argc && a.nfiles < 2)
		a.files[a.nfiles++] = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "sockguard: unexpected argument \"%s\"\n\n%s",
		    argv[optind], usage);
		return 1;
	}
	if (help) {
		fputs(usage, stdout);
		return 0;
	}
	/* options that belong to another command are errors, not ignored */
	if ((a.quiet || a.print_rules) && strcmp(a.cmd, "check") != 0) {
		fprintf(stderr, "sockguard: -q/--print-rules belong to check\n");
		return 1;
	}
	if ((a.method || a.path) && strcmp(a.cmd, "match") != 0) {
		fprintf(stderr, "sockguard: -X/--path belong to match\n");
		return 1;
	}
	if ((a.lo.listen_socket || a.lo.upstream_socket || a.lo.log_level ||
	    a.lo.log_format || a.lo.deny_verbosity) &&
	    strcmp(a.cmd, "run") != 0) {
		fprintf(stderr, "sockguard: --listen-socket, --upstream-socket, "
		    "--log-level, --log-format and --deny-verbosity belong to "
		    "run\n");
		return 1;
	}
	if (a.output != NULL && strcmp(a.cmd, "match") != 0 &&
	    strcmp(a.cmd, "version") != 0) {
		fprintf(stderr, "sockguard: -o belongs to match and version\n");
		return 1;
	}
	if (strcmp(a.cmd, "check") == 0)
		return main_check(&a);
	if (strcmp(a.cmd, "match") == 0)
		return main_match(&a);
	if (strcmp(a.cmd, "version") == 0)
		return main_version(&a);
	if (strcmp(a.cmd, "diff") == 0)
		return main_diff(&a);
	return main_run(&a);
}
