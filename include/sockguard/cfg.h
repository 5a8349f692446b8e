/* SPDX-License-Identifier: MIT */
/*
 * cfg.h: config front ends. YAML (libyaml) and the rule DSL (re2c+bison)
 * produce located data; SOCKGUARD_* / DOCKER_* environment and command
 * line flags overlay it; cfg_lower turns it into one struct sg_ir through
 * declarative key tables; ir_check validates the result. Every problem
 * is collected in struct sg_diag with file:line:col and the key path.
 */
#ifndef SOCKGUARD_CFG_H
#define SOCKGUARD_CFG_H

#include "sockguard/arena.h"
#include "sockguard/diag.h"
#include "sockguard/ir.h"

#define SG_CFG_DEFAULT_PATH "/etc/sockguard/sockguard.yaml"
#define SG_CFG_MAX_DEPTH 16

/* ---- located tree (cfg_yaml.c) ---- */

enum sg_node_kind {
	SG_NODE_SCALAR = 0,
	SG_NODE_MAP,
	SG_NODE_SEQ,
};

struct sg_node {
	enum sg_node_kind kind;
	struct sg_loc loc;       /* of the value */
	const char *key;         /* map members: the key; else NULL */
	struct sg_loc key_loc;
	const char *str;         /* scalars: NUL-terminated value */
	size_t len;
	bool quoted;             /* scalar was single/double quoted or block */
	bool null;               /* plain "~", "null" or empty */
	struct sg_node *child;   /* maps/sequences: first member */
	struct sg_node *next;    /* next sibling */
	uint32_t nchild;
};

/*
 * Strict YAML: one document, no anchors/aliases/tags, no duplicate keys,
 * only string keys, nesting at most SG_CFG_MAX_DEPTH. Returns the root
 * map (an empty one for an empty file); a rejected node is reported in d
 * and left out so the rest can still be checked. NULL (with diagnostics)
 * after a syntax error, a second document or a non-mapping root.
 */
struct sg_node *sg_cfg_yaml_parse(struct sg_arena *a, struct sg_diag *d,
    const char *file, const char *buf, size_t len);

/* ---- rule DSL (cfg_dsl.c, grammar/dsl_lex.re, grammar/dsl_parse.y) ---- */

/*
 * Text form of rules, one per line, '#' comments (examples below as line
 * comments: a glob's "/" "*" would end or nest a block comment).
 * Returns 0, or -1 with every error (file:line:col) in d.
 */
//   allow GET,HEAD /_ping
//   deny POST /containers/*/exec "exec is not allowed"
//   deny * /**
int sg_cfg_dsl_parse(struct sg_arena *a, struct sg_diag *d, const char *file,
    const char *buf, size_t len, struct sg_ir_rule **rules, size_t *nrules);
/* One rule in DSL form, no newline; snprintf semantics. */
size_t sg_cfg_dsl_format(const struct sg_ir_rule *r, char *buf, size_t cap);

/* ---- loading (cfg_lower.c) ---- */

typedef const char *(*sg_getenv_fn)(const char *name);

struct sg_load_opts {
	const char *config_path;  /* NULL: SG_CFG_DEFAULT_PATH */
	bool config_explicit;     /* -c given: the file must exist */
	bool require_file;        /* `match`: even the default must exist */
	const char *rules_path;   /* --rules FILE (DSL), overrides rules */
	bool regular_only;        /* reload: a rules file that is not a
	                           * regular file (a FIFO) is refused, not
	                           * waited on */
	/* command-line flags; NULL when not given (highest precedence) */
	const char *listen_socket;
	const char *upstream_socket;
	const char *log_level;
	const char *log_format;
	const char *deny_verbosity;
	sg_getenv_fn getenv;      /* NULL: envp, else getenv(3) */
	/*
	 * Environment to overlay ("NAME=value" strings, NULL-terminated):
	 * looked up when getenv is NULL and enumerated to find unknown
	 * SOCKGUARD_* variables. NULL: the process environment (enumerated
	 * only when getenv is NULL too).
	 */
	char *const *envp;
};

/*
 * The whole front half: read file (or defaults), env overlay, flags,
 * rules file, lower, check. Returns the IR in arena a, or NULL with
 * every error in d. Warnings may be present either way.
 */
struct sg_ir *sg_cfg_load(struct sg_arena *a, const struct sg_load_opts *o,
    struct sg_diag *d);

/* A whole file into the arena, NUL-terminated; -1 with errno (EFBIG past
 * 16 MiB; with regular_only, EINVAL for a FIFO or device, EISDIR). */
int sg_cfg_read(struct sg_arena *a, const char *path, bool regular_only,
    char **buf, size_t *len);

/* Same, from bytes already read (reload, fuzzing); no file access. */
struct sg_ir *sg_cfg_load_bytes(struct sg_arena *a,
    const struct sg_load_opts *o, const char *name, const char *buf,
    size_t len, struct sg_diag *d);

/* ---- declarative key table (cfg_keys.c) ---- */

enum sg_key_type {
	SG_KEY_SECTION = 0,  /* a map of further keys */
	SG_KEY_STR,
	SG_KEY_BOOL,
	SG_KEY_INT,
	SG_KEY_DURATION,
	SG_KEY_STRLIST,
	SG_KEY_OBJLIST,      /* list of maps (rules, endpoints, ...) */
	SG_KEY_UNSUPPORTED,  /* recognised schema key, "not supported yet" */
};

#define SG_KEYF_MUTABLE   0x1u  /* may change on hot reload */
#define SG_KEYF_YAML_ONLY 0x2u  /* no environment variable */
/* its variable only overrides a value the YAML file sets (SPEC 2.12.1) */
#define SG_KEYF_ENV_WITH_YAML 0x4u

struct sg_key {
	const char *path;     /* dotted, e.g. "listen.socket_mode" */
	enum sg_key_type type;
	const char *def;      /* default in text form, NULL: none */
	const char *env;      /* SOCKGUARD_* name, NULL: YAML only */
	unsigned flags;
};

const struct sg_key *sg_cfg_keys(size_t *n);
const struct sg_key *sg_cfg_key_find(const char *path);

/* ---- Go durations (duration.c) ---- */

/*
 * The longest duration a config key may hold: 10 years (87600h). Go's
 * limit (~292 years) would overflow once added to the monotonic clock;
 * with this cap no deadline computed from a config value can.
 */
#define SG_DURATION_MAX_NS (87600LL * 3600 * SG_NS_PER_SEC)
#define SG_DURATION_MAX_TEXT "87600h (10 years)"

/* Go time.ParseDuration syntax ("250ms", "1m30s", "-1s", "0"). */
int sg_duration_parse(const char *s, size_t len, int64_t *ns);
/* Shortest Go-style text for ns ("1m30s", "250ms", "0s"). */
size_t sg_duration_format(int64_t ns, char *buf, size_t cap);

#endif
