/* SPDX-License-Identifier: MIT */
/*
 * cfg_int.h: private glue between the config front-end files (cfg_keys,
 * cfg_env, cfg_lower, ir_check). Owns no state. Not installed, not used
 * outside src/ except by the unit tests of these files.
 */
#ifndef SOCKGUARD_CFG_INT_H
#define SOCKGUARD_CFG_INT_H

#include "sockguard/cfg.h"

/* Where a key's effective value came from (lowest precedence first). */
enum sg_cfg_src {
	SG_CFG_SRC_DEFAULT = 0,
	SG_CFG_SRC_YAML,
	SG_CFG_SRC_ENV,
	SG_CFG_SRC_FLAG,
};

/* The effective source of one key table entry. */
struct sg_cfg_val {
	enum sg_cfg_src src;
	struct sg_loc loc;
	const struct sg_node *node; /* SG_CFG_SRC_YAML */
	const char *text;           /* SG_CFG_SRC_ENV / SG_CFG_SRC_FLAG */
};

/* One load in progress. */
struct sg_cfg_ctx {
	struct sg_arena *a;
	struct sg_diag *d;
	const struct sg_load_opts *o;
	const char *file;         /* config file name, NULL: defaults */
	struct sg_cfg_val *vals;  /* indexed like sg_cfg_keys() */
	size_t nkeys;
};

/* Where the parts of one upstream endpoint were written. */
struct sg_cfg_ep_src {
	/* key path prefix for errors, "upstream.endpoints[0]"; NULL for the
	 * endpoint made from DOCKER_HOST (its locations name the variable) */
	const char *key;
	struct sg_loc address;      /* the address value, else the item */
	struct sg_loc tls;          /* the tls: key; file NULL: not written */
	struct sg_loc ca_file, cert_file, key_file, server_name;
	struct sg_loc plain_tcp;    /* insecure_allow_plain_tcp value */
	struct sg_loc skip_verify;  /* insecure_skip_tls_verify value */
	bool addr_ok;               /* kind/path/host/port are valid */
	bool partial;               /* the item had schema errors already */
};

/*
 * Where the parts of one listeners[] entry were written, with the values
 * that ir_check validates from their text (SPEC 2.4.2-2.4.5). The legacy
 * listen: block has none: ir_check reads it from the flat values and the
 * key locations.
 */
struct sg_cfg_lst_src {
	const char *key;       /* key path prefix, "listeners[0]" */
	const char *label;     /* message prefix, "listeners[ci]" (SPEC) */
	struct sg_loc item;    /* the entry */
	struct sg_loc name, socket, address, socket_mode, socket_uid,
	    socket_gid, max_connections, plain_tcp, unauth;
	struct sg_loc tls;     /* the tls: key */
	struct sg_loc cert_file, key_file, client_ca_file;
	struct sg_loc allowed_profiles;       /* the key, else the item */
	const struct sg_loc *allowed_items;   /* per allowed_profiles entry */
	const char *socket_mode_text;         /* as written, "0600" default */
	int64_t socket_uid_v, socket_gid_v;   /* INT64_MIN: unset */
	int64_t max_connections_v;            /* as written, 4096 default */
	bool not_map;          /* the entry was not a mapping (reported) */
};

/* Where one clients.profiles[] entry was written. */
struct sg_cfg_prof_src {
	const char *key;       /* "clients.profiles[0]" */
	struct sg_loc name;    /* the name value, else the entry */
	struct sg_loc rules;   /* the rules key, else the entry */
	bool rules_ok;         /* its rules lowered without errors */
	bool not_map;          /* the entry was not a mapping (reported) */
};

/* Where one clients.*_profiles[] assignment was written. */
struct sg_cfg_assign_src {
	const char *key;       /* "clients.source_ip_profiles[0]" */
	struct sg_loc profile; /* the profile value, else the entry */
	bool not_map;          /* the entry was not a mapping (reported) */
};

/* Parallel to the arrays of ir->clients; NULL: hand-built IR. */
struct sg_cfg_clients_src {
	const struct sg_cfg_prof_src *profiles;
	const struct sg_cfg_assign_src *source_ip;
	const struct sg_cfg_assign_src *cert;
	const struct sg_cfg_assign_src *unix_peer;
};

/*
 * Typed values of every key that is in scope, before semantic checks.
 * Strings that become enums or numbers in the IR stay text here so
 * ir_check can validate them with their original spelling.
 */
struct sg_cfg_flat {
	const char *listen_address;
	const char *listen_socket;
	const char *listen_socket_mode;
	int64_t listen_socket_uid;   /* -1: unset */
	int64_t listen_socket_gid;   /* -1: unset */
	bool listen_insecure_allow_plain_tcp;
	bool listen_insecure_allow_unauthenticated_clients;
	int64_t listen_max_connections;
	/* conduits for lowering only (ir_check reads the IR) */
	const char *listen_tls_cert_file;
	const char *listen_tls_key_file;
	const char *listen_tls_client_ca_file;
	const char *clients_default_profile;
	const char *upstream_socket;
	/* durations as written; NULL or "" = the default (checked later) */
	const char *upstream_request_timeout;
	const char *upstream_health_interval;
	const char *upstream_health_timeout;
	/*
	 * Where each effective endpoint's parts came from, parallel to
	 * ir->upstream.endpoints when the source is not upstream.socket;
	 * NULL: only the endpoint's own loc is known (hand-built IR).
	 */
	const struct sg_cfg_ep_src *ep_src;
	const char *log_level;
	const char *log_format;
	const char *log_output;
	bool log_access_log;
	bool log_audit_enabled;
	const char *log_audit_format;
	const char *log_audit_output;
	const char *deny_verbosity;
	bool health_enabled;
	bool reload_enabled;
	const char *reload_debounce;
	const char *health_path;
	bool insecure_allow_read_exfiltration;
	bool insecure_allow_browser_requests;
	bool insecure_accept_opaque_buildkit_tunnels;
	const char *rules_file;
	const char *min_api_version;
	/* false: the rules had errors, skip the checks that evaluate them */
	bool rules_ok;
	/*
	 * Parallel to ir->listeners when they came from listeners: (NULL
	 * for the legacy listen: listener and for hand-built IR).
	 */
	const struct sg_cfg_lst_src *lst_src;
	const struct sg_cfg_clients_src *cl_src;  /* NULL: hand-built IR */
};

/* ---- cfg_keys.c ---- */

/* Index of k in the table returned by sg_cfg_keys(). */
size_t sg_cfg_key_index(const struct sg_key *k);
/*
 * The nearest known key among the children of parent ("" for the top
 * level) to the unknown last component name, as a full dotted path; NULL
 * when nothing is close enough.
 */
const char *sg_cfg_key_suggest(const char *parent, const char *name);
/* The nearest known SOCKGUARD_* name to name, or NULL. */
const char *sg_cfg_env_suggest(const char *name);
/* The nearest of n candidates to word, or NULL when none is close. */
const char *sg_cfg_nearest(const char *word, const char *const *cands,
    size_t n);
/* True when the key has further keys below it in the table. */
bool sg_cfg_key_has_children(const struct sg_key *k);

/* ---- cfg_env.c ---- */

/* SOCKGUARD_* overlay onto c->vals, and unknown-variable detection. */
int sg_cfg_env_overlay(struct sg_cfg_ctx *c);
/* Looks a variable up through o->getenv, o->envp or getenv(3). */
const char *sg_cfg_getenv(const struct sg_load_opts *o, const char *name);
/*
 * Splits a comma-separated environment value (SPEC 2.2): items are not
 * trimmed, empty items are kept. Returns the number of items.
 */
size_t sg_cfg_split_list(struct sg_arena *a, const char *s,
    const char ***items);
/*
 * The DOCKER_* drop-in (SPEC 2.5.4 as amended by the seed document), for
 * when upstream.endpoints is not configured: a DOCKER_HOST (trimmed)
 * naming a tcp:// daemon fills ep and src from DOCKER_HOST,
 * DOCKER_TLS_VERIFY and DOCKER_CERT_PATH (warning for the skip-verify
 * and plaintext rows) and returns true. False when it does not apply:
 * unset, or unix:// / a bare path (the local socket stays). Any other
 * value (http://, https://, ssh://, no scheme, a bad tcp:// address) is
 * an error at env:DOCKER_HOST, and false.
 */
bool sg_cfg_env_docker(struct sg_cfg_ctx *c, struct sg_ir_endpoint *ep,
    struct sg_cfg_ep_src *src);

/* ---- cfg_compat.c ---- */

/*
 * Tecnativa compatibility (SPEC 2.8): while ir's rules are the built-in
 * defaults and a recognised variable (CONTAINERS, POST, ALLOW_START, ...)
 * is set, replaces them with the rules the variables describe and sets
 * ir->compat_env. Returns whether it did.
 */
bool sg_cfg_compat(struct sg_cfg_ctx *c, struct sg_ir *ir);

/* ---- cfg_lower.c ---- */

/*
 * Parses an upstream endpoint address (SPEC 2.5.2) into ep->kind, path
 * (unix) or host and port (TCP; IPv6 without brackets, port normalised
 * to decimal). ep->address is not touched. Returns 0, or -1 with *why
 * set to the message (arena text, no key prefix).
 */
int sg_cfg_ep_address(struct sg_arena *a, const char *s,
    struct sg_ir_endpoint *ep, const char **why);

/*
 * Client-identity values (SPEC 2.4.4, 3.8), used by lowering and tests.
 * Each takes the text trimmed of white space.
 *
 * A CIDR prefix "addr/len"; a bare address is a host route (/32, /128).
 * Host bits are cleared; an IPv4-mapped IPv6 prefix of /96 or longer
 * becomes the IPv4 prefix (peers are unmapped before matching). Returns
 * 0, or -1 for anything else (zones, leading zeros in len, ...).
 */
int sg_cfg_cidr_parse(const char *s, struct sg_ir_cidr *out);
/* An IP address in inet_ntop form, IPv4-mapped unmapped; NULL: invalid. */
const char *sg_cfg_ip_canon(struct sg_arena *a, const char *s);
/* A SHA-256 pin: optional "sha256:", 64 hex digits -> lowercase; or NULL. */
const char *sg_cfg_pin_norm(struct sg_arena *a, const char *s);
/* "scheme:rest" (RFC 3986 scheme, non-empty rest, no white space). */
bool sg_cfg_uri_ok(const char *s);

/* ---- ir_check.c ---- */

/*
 * Semantic checks over a lowered IR, every error at once, located with
 * sg_ir_loc(). Also finishes the IR from the flat text values that need
 * validation first (log level/format, deny verbosity, socket mode,
 * minimum API version). Returns 0 or -1.
 */
int sg_ir_check(struct sg_ir *ir, const struct sg_cfg_flat *raw,
    struct sg_diag *d);

#endif
