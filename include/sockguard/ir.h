/* SPDX-License-Identifier: MIT */
/*
 * ir.h: the one intermediate representation every config front end
 * (YAML, environment, flags, rule DSL) lowers into. Plain data owned by
 * the config arena; checked by ir_check, compiled into struct sg_conf.
 * Nothing here knows about YAML or sockets.
 */
#ifndef SOCKGUARD_IR_H
#define SOCKGUARD_IR_H

#include "sockguard/common.h"
#include "sockguard/diag.h"

enum sg_action {
	SG_ACTION_DENY = 0,
	SG_ACTION_ALLOW,
};

struct sg_ir_rule {
	const char **methods; /* upper-cased, trimmed, no empties */
	size_t nmethods;
	bool any_method;      /* "*" was one of the entries */
	const char *path;     /* glob (SPEC 2.6.4) */
	enum sg_action action;
	const char *reason;   /* "" when absent */
	struct sg_loc loc;    /* where the rule starts */
};

enum sg_log_level {
	SG_LOG_DEBUG = 0,
	SG_LOG_INFO,
	SG_LOG_WARN,
	SG_LOG_ERROR,
};

enum sg_log_format {
	SG_LOGFMT_JSON = 0,
	SG_LOGFMT_TEXT,
};

enum sg_deny_verbosity {
	SG_DENY_MINIMAL = 0,
	SG_DENY_VERBOSE,
};

struct sg_ir_listener {
	const char *name;     /* "default" for the legacy listen: block */
	const char *socket;   /* non-empty: unix listener */
	const char *address;  /* host:port, used when socket is empty */
	unsigned socket_mode; /* 0600 or 0660 */
	int64_t socket_uid;   /* -1: unset */
	int64_t socket_gid;   /* -1: unset */
	bool insecure_allow_plain_tcp;
	bool insecure_allow_unauthenticated_clients;
	uint32_t max_connections;
	struct sg_loc loc;
};

enum sg_ep_kind {
	SG_EP_UNIX = 0,
	SG_EP_TCP,
};

/* Where the effective endpoint list came from (seed precedence). */
enum sg_ep_source {
	SG_EPSRC_SOCKET = 0,   /* upstream.socket (default) */
	SG_EPSRC_ENDPOINTS,    /* upstream.endpoints in YAML */
	SG_EPSRC_DOCKER_HOST,  /* DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH */
};

/* One upstream endpoint; upstream.socket becomes a single unix endpoint. */
struct sg_ir_endpoint {
	const char *address; /* as written */
	enum sg_ep_kind kind;
	const char *path;    /* unix */
	const char *host;    /* tcp */
	const char *port;    /* tcp */
	const char *ca_file, *cert_file, *key_file, *server_name;
	bool insecure_allow_plain_tcp;
	bool insecure_skip_tls_verify;
	bool tls;            /* TLS on this hop (any TLS material or skip-verify) */
	struct sg_loc loc;
};

struct sg_ir_upstream {
	const char *socket;                /* upstream.socket */
	struct sg_ir_endpoint *endpoints;  /* effective list, >= 1 entry */
	size_t nendpoints;
	bool endpoints_configured;         /* upstream.endpoints was set */
	enum sg_ep_source source;
	int64_t request_timeout_ns;        /* 0: disabled */
	int64_t health_interval_ns;        /* < 0: no recurring probes */
	int64_t health_timeout_ns;
};

struct sg_ir_log {
	enum sg_log_level level;
	enum sg_log_format format;
	const char *output;      /* "stderr", "stdout" or a file path */
	bool access_log;
	bool audit_enabled;
	const char *audit_output;
};

/* Where each key's effective value came from, for diagnostics and diffs. */
struct sg_ir_keyloc {
	const char *key;  /* dotted path, e.g. "listen.socket" */
	struct sg_loc loc;
};

struct sg_ir {
	const char *config_path;  /* NULL: built-in defaults + environment */

	struct sg_ir_listener *listeners;
	size_t nlisteners;

	struct sg_ir_upstream upstream;
	struct sg_ir_log log;

	enum sg_deny_verbosity deny_verbosity;
	bool health_enabled;
	const char *health_path;
	bool insecure_allow_read_exfiltration;
	unsigned min_api_major, min_api_minor; /* default 1.24 */

	bool reload_enabled;
	int64_t reload_debounce_ns;

	struct sg_ir_rule *rules;
	size_t nrules;
	bool rules_are_default;
	const char *rules_file;  /* "" when rules came from YAML/defaults */

	struct sg_ir_keyloc *keylocs;
	size_t nkeylocs;
};

/* Location a key's value came from; NULL when it is a built-in default. */
const struct sg_loc *sg_ir_loc(const struct sg_ir *ir, const char *key);

#endif
