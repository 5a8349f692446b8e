/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config.c: the config loader (sg_cfg_load_bytes: YAML, environment
 * overlay, flags, lowering, IR checks) and, when it yields an IR, the
 * compile step (sg_conf_compile -> sg_policy_compile) and a few policy
 * evaluations. Must never crash, hang or leak (LeakSanitizer is on).
 *
 * Input: YAML, optionally followed by sections that start with a marker
 * line (a YAML comment, so seed files stay valid YAML):
 *   #%env     then NAME=value lines: the whole injected environment
 *             (the process environment is never read), and
 *             --listen-socket=, --upstream-socket=, --log-level=,
 *             --log-format=, --deny-verbosity= lines: command-line flags
 *   #%rules   then the rest of the input: the content of whatever file
 *             rules_file names
 * Each input goes through two entry points:
 *   1. sg_cfg_load_bytes + sg_conf_compile (hot reload's path), and
 *   2. sg_conf_load (the CLI's path: `sockguard check -c FILE`), which
 *      reads the YAML itself.
 * Diagnostics are formatted afterwards, as main.c and reload.c print them.
 * No file is ever opened: the harness is linked with -Wl,--wrap=open so
 * the loader's open() lands in __wrap_open below, which serves the YAML
 * for "fuzz.yaml", the #%rules section for any other path (rules_file),
 * both from memfds, or fails with ENOENT.
 * Set FUZZ_CONFIG_SKIP_CONF_LOAD=1 in the environment to leave out step 2
 * (for instance while a bug in it is being fixed).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sockguard/arena.h"
#include "sockguard/cfg.h"
#include "sockguard/conf.h"
#include "sockguard/diag.h"
#include "sockguard/policy.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int __wrap_open(const char *path, int flags, ...);
int __wrap_open64(const char *path, int flags, ...);

#define MAX_ENV 64

#define CONFIG_NAME "fuzz.yaml"

static const char *yaml_buf, *rules_buf;
static size_t yaml_len, rules_len;
static bool have_rules;
static bool skip_conf_load;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *v = getenv("FUZZ_CONFIG_SKIP_CONF_LOAD");

	(void)argc;
	(void)argv;
	skip_conf_load = v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
	return 0;
}

/* The loader's only way to a file: the YAML or the #%rules section. */
int
__wrap_open(const char *path, int flags, ...)
{
	const char *buf = rules_buf;
	size_t len = rules_len, off = 0;
	int fd;

	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_CREAT)) {
		errno = EACCES;
		return -1;
	}
	if (strcmp(path, CONFIG_NAME) == 0) {
		buf = yaml_buf;
		len = yaml_len;
	} else if (!have_rules) {
		errno = ENOENT;
		return -1;
	}
	fd = memfd_create("fuzz-file", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

int
__wrap_open64(const char *path, int flags, ...)
{
	return __wrap_open(path, flags);
}

/* Finds a marker line ("#%env\n") starting at a line start in p[from..n). */
static size_t
find_marker(const char *p, size_t n, const char *mark)
{
	size_t m = strlen(mark), i;

	for (i = 0; i + m <= n; i++)
		if ((i == 0 || p[i - 1] == '\n') && memcmp(p + i, mark, m) == 0)
			return i;
	return SIZE_MAX;
}

static bool
flag_line(struct sg_load_opts *o, const char *line)
{
	static const struct {
		const char *name;
		size_t off;
	} flags[] = {
		{"--listen-socket=", offsetof(struct sg_load_opts,
		    listen_socket)},
		{"--upstream-socket=", offsetof(struct sg_load_opts,
		    upstream_socket)},
		{"--log-level=", offsetof(struct sg_load_opts, log_level)},
		{"--log-format=", offsetof(struct sg_load_opts, log_format)},
		{"--deny-verbosity=", offsetof(struct sg_load_opts,
		    deny_verbosity)},
	};
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(flags); i++) {
		size_t n = strlen(flags[i].name);

		if (strncmp(line, flags[i].name, n) == 0) {
			*(const char **)((char *)o + flags[i].off) = line + n;
			return true;
		}
	}
	return false;
}

static void
evaluate(const struct sg_conf *c)
{
	static const struct {
		const char *m, *p;
	} probes[] = {
		{"GET", "/_ping"},
		{"HEAD", "/_ping"},
		{"GET", "/containers/json"},
		{"POST", "/containers/create"},
		{"POST", "/containers/abc/exec"},
		{"DELETE", "/images/x"},
		{"get", "/"},
		{"BREW", ""},
	};
	size_t i, n = sg_policy_nrules(c->policy);

	FZ_CHECK(n == c->ir->nrules, "policy has %zu rules, IR %zu", n,
	    c->ir->nrules);
	for (i = 0; i < SG_ARRAY_LEN(probes); i++) {
		struct sg_verdict v;

		sg_policy_eval(c->policy, probes[i].m, strlen(probes[i].m),
		    probes[i].p, strlen(probes[i].p), &v);
		FZ_CHECK(v.rule >= -1 && v.rule < (int)n, "verdict rule %d",
		    v.rule);
		FZ_CHECK(v.reason != NULL, "verdict without reason");
		FZ_CHECK(v.action == SG_ACTION_DENY || v.rule >= 0,
		    "allowed without a rule");
		(void)sg_reason_code_str(v.code);
	}
}

static void
format_diags(const struct sg_diag *d)
{
	char line[512];
	size_t i;

	for (i = 0; i < d->n; i++)
		(void)sg_diag_format(&d->v[i], line, sizeof(line));
}

/* Step 1: bytes -> IR -> compiled conf (the reload path). */
static void
load_bytes(const struct sg_load_opts *o, const char *yaml, size_t len)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_conf *c = NULL;
	struct sg_diag d;
	struct sg_ir *ir;
	char line[512];
	size_t i;

	sg_diag_init(&d);
	ir = sg_cfg_load_bytes(a, o, CONFIG_NAME, yaml, len, &d);
	FZ_CHECK(ir != NULL || d.nerr > 0, "NULL IR without an error");
	if (ir != NULL) {
		FZ_CHECK(d.nerr == 0, "IR returned with %zu errors", d.nerr);
		FZ_CHECK(ir->upstream.nendpoints >= 1, "no upstream endpoint");
		for (i = 0; i < ir->nrules; i++)
			(void)sg_cfg_dsl_format(&ir->rules[i], line,
			    sizeof(line));
		c = sg_conf_compile(a, ir, &d); /* owns a from here */
		a = NULL;
		if (c != NULL)
			evaluate(c);
		else
			FZ_CHECK(d.nerr > 0, "compile failed silently");
	}
	/* diagnostics are read while the generation is alive */
	format_diags(&d);
	sg_conf_unref(c);
	if (a != NULL)
		sg_arena_free(a);
	sg_diag_free(&d);
}

/* Step 2: the CLI's sg_conf_load, then print as main.c does. */
static void
conf_load(const struct sg_load_opts *lo)
{
	struct sg_load_opts o = *lo;
	struct sg_conf *c;
	struct sg_diag d;

	o.config_path = CONFIG_NAME;
	o.config_explicit = true;
	sg_diag_init(&d);
	c = sg_conf_load(&o, &d);
	FZ_CHECK(c != NULL || d.nerr > 0, "NULL conf without an error");
	if (c != NULL)
		evaluate(c);
	format_diags(&d);
	sg_conf_unref(c);
	sg_diag_free(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t env_at = find_marker(in, size, "#%env\n");
	size_t rules_at = find_marker(in, size, "#%rules\n");
	size_t ylen = size;
	char *yaml, *envtext = NULL;
	char *envp[MAX_ENV + 1];
	size_t nenv = 0;
	struct sg_load_opts o;

	if (env_at < ylen)
		ylen = env_at;
	if (rules_at < ylen)
		ylen = rules_at;

	memset(&o, 0, sizeof(o));
	o.envp = envp;
	o.getenv = NULL;

	/* environment and flags: NUL-terminated copies of each line */
	if (env_at != SIZE_MAX) {
		size_t s = env_at + 6;
		size_t e = rules_at > env_at && rules_at != SIZE_MAX ?
		    rules_at : size;
		char *p, *save = NULL;

		envtext = fz_malloc(e - s + 1);
		memcpy(envtext, in + s, e - s);
		envtext[e - s] = '\0';
		for (p = strtok_r(envtext, "\n", &save); p != NULL;
		    p = strtok_r(NULL, "\n", &save)) {
			if (flag_line(&o, p))
				continue;
			if (strchr(p, '=') != NULL && nenv < MAX_ENV)
				envp[nenv++] = p;
		}
	}
	envp[nenv] = NULL;

	have_rules = rules_at != SIZE_MAX;
	if (have_rules) {
		rules_buf = in + rules_at + 8;
		rules_len = size - rules_at - 8;
	}
	/* the YAML as the loader gets it from read(): exact size */
	yaml = fz_dup(in, ylen);
	yaml_buf = yaml;
	yaml_len = ylen;

	load_bytes(&o, yaml, ylen);
	if (!skip_conf_load)
		conf_load(&o);

	free(yaml);
	free(envtext);
	yaml_buf = rules_buf = NULL;
	yaml_len = rules_len = 0;
	have_rules = false;
	return 0;
}
