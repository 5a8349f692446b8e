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

struct sg_ir_strlist {
	const char **v;
	size_t n;
};

/*
 * Selectors over a verified client certificate's leaf: AND across the
 * non-empty fields, OR within one. Pins are lowercase hex SHA-256 of the
 * DER SubjectPublicKeyInfo (normalised at load time); IPs are in
 * canonical text form (inet_ntop), IPv4-mapped IPv6 unmapped.
 */
struct sg_ir_cert_sel {
	struct sg_ir_strlist common_names;
	struct sg_ir_strlist dns_names;
	struct sg_ir_strlist ip_addresses;
	struct sg_ir_strlist uri_sans;
	struct sg_ir_strlist spiffe_ids;    /* profiles only: URI SANs */
	struct sg_ir_strlist public_key_sha256_pins;
};

struct sg_ir_tls_server {
	bool enabled;                       /* any tls.* key was set */
	const char *cert_file, *key_file, *client_ca_file;
	struct sg_ir_cert_sel sel;          /* spiffe_ids unused */
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
	struct sg_ir_tls_server tls;
	/* listeners[]: profiles admitted; admit_all for ["*"] and listen: */
	struct sg_ir_strlist allowed_profiles;
	bool admit_all;
	bool named;           /* came from listeners: (not listen:) */
	struct sg_loc loc;
};

/* Rollout mode of a client profile (SPEC 3.15). */
enum sg_mode {
	SG_MODE_ENFORCE = 0,
	SG_MODE_WARN,
	SG_MODE_AUDIT,
};

struct sg_ir_cidr {
	int family;           /* AF_INET or AF_INET6 */
	uint8_t addr[16];     /* network address, host bits zero */
	unsigned prefix;
	const char *text;     /* as written */
};

struct sg_ir_profile {
	const char *name;
	enum sg_mode mode;
	struct sg_ir_rule *rules;
	size_t nrules;
	struct sg_loc loc;
};

struct sg_ir_ip_assign {
	const char *profile;
	struct sg_ir_cidr *cidrs;
	size_t ncidrs;
	struct sg_loc loc;
};

struct sg_ir_peer_assign {
	const char *profile;
	int64_t *uids;
	size_t nuids;
	int64_t *gids;
	size_t ngids;
	int64_t *pids;
	size_t npids;
	struct sg_loc loc;
};

struct sg_ir_cert_assign {
	const char *profile;
	struct sg_ir_cert_sel sel;
	struct sg_loc loc;
};

/* Client identity -> profile (SPEC 3.8); empty means top-level rules. */
struct sg_ir_clients {
	struct sg_ir_cidr *allowed_cidrs;
	size_t nallowed_cidrs;
	const char *default_profile;          /* "" or NULL: none */
	struct sg_ir_cert_assign *cert;       /* client_certificate_profiles */
	size_t ncert;
	struct sg_ir_peer_assign *unix_peer;  /* unix_peer_profiles */
	size_t nunix_peer;
	struct sg_ir_ip_assign *source_ip;    /* source_ip_profiles */
	size_t nsource_ip;
	struct sg_ir_profile *profiles;
	size_t nprofiles;
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
	bool insecure_allow_browser_requests; /* Origin / Sec-Fetch-* pass */
	/* POST /session and /grpc upgrade to h2c and are relayed unseen */
	bool insecure_accept_opaque_buildkit_tunnels;
	bool buildkit_by_compat;  /* ... turned on by GRPC/SESSION (SPEC 2.8) */
	unsigned min_api_major, min_api_minor; /* default 1.24 */

	bool reload_enabled;
	int64_t reload_debounce_ns;

	struct sg_ir_clients clients;

	struct sg_ir_rule *rules;
	size_t nrules;
	bool rules_are_default;
	bool config_blank;       /* the config file held only whitespace */
	const char *rules_file;  /* "" when rules came from YAML/defaults */
	/* Tecnativa variables that made the rules ("CONTAINERS=on ..."),
	 * NULL when their compatibility mode is off (SPEC 2.8) */
	const char *compat_env;

	struct sg_ir_keyloc *keylocs;
	size_t nkeylocs;
};

/* Location a key's value came from; NULL when it is a built-in default. */
const struct sg_loc *sg_ir_loc(const struct sg_ir *ir, const char *key);
/* A log level as the config spells it ("info"). */
const char *sg_ir_log_level_name(enum sg_log_level l);

#endif
