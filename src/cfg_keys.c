/* SPDX-License-Identifier: MIT */
/*
 * cfg_keys.c: the declarative key table. One flat entry per schema key
 * (SPEC 2.3), with its type, default in text form, SOCKGUARD_* name and
 * flags, plus nearest-name suggestions for unknown keys and variables.
 * Owns no state; does not know how values are converted or checked.
 *
 * Keys this version does not implement yet are listed with type
 * SG_KEY_UNSUPPORTED so a config using them fails with "not supported
 * yet" instead of "unknown key"; the comment beside each one gives the
 * type it will have. Sections come before their children.
 */
#include <string.h>

#include "cfg_int.h"

#define ENV(k) "SOCKGUARD_" k
#define M SG_KEYF_MUTABLE
#define Y SG_KEYF_YAML_ONLY
#define W SG_KEYF_ENV_WITH_YAML
#define UNS SG_KEY_UNSUPPORTED

static size_t keys_osa(const char *a, const char *b);

static const struct sg_key keys_table[] = {
	/* listen: the legacy single listener (SPEC 2.4.1-2.4.3) */
	{"listen", SG_KEY_SECTION, NULL, NULL, 0},
	{"listen.address", SG_KEY_STR, "127.0.0.1:2375",
	    ENV("LISTEN_ADDRESS"), 0},
	{"listen.socket", SG_KEY_STR, "", ENV("LISTEN_SOCKET"), 0},
	{"listen.socket_mode", SG_KEY_STR, "0600", ENV("LISTEN_SOCKET_MODE"),
	    0},
	{"listen.socket_uid", SG_KEY_INT, NULL, ENV("LISTEN_SOCKET_UID"), W},
	{"listen.socket_gid", SG_KEY_INT, NULL, ENV("LISTEN_SOCKET_GID"), W},
	{"listen.insecure_allow_plain_tcp", SG_KEY_BOOL, "false",
	    ENV("LISTEN_INSECURE_ALLOW_PLAIN_TCP"), 0},
	{"listen.insecure_allow_unauthenticated_clients", SG_KEY_BOOL, "false",
	    ENV("LISTEN_INSECURE_ALLOW_UNAUTHENTICATED_CLIENTS"), 0},
	{"listen.max_connections", SG_KEY_INT, "4096",
	    ENV("LISTEN_MAX_CONNECTIONS"), 0},
	/* mutual TLS (SPEC 2.4.4): "enabled" when any of these is set */
	{"listen.tls", SG_KEY_SECTION, NULL, NULL, 0},
	{"listen.tls.cert_file", SG_KEY_STR, "", ENV("LISTEN_TLS_CERT_FILE"), 0},
	{"listen.tls.key_file", SG_KEY_STR, "", ENV("LISTEN_TLS_KEY_FILE"), 0},
	{"listen.tls.client_ca_file", SG_KEY_STR, "",
	    ENV("LISTEN_TLS_CLIENT_CA_FILE"), 0},
	/* leaf selectors: AND across lists, OR within one */
	{"listen.tls.common_names", SG_KEY_STRLIST, "",
	    ENV("LISTEN_TLS_COMMON_NAMES"), 0},
	{"listen.tls.dns_names", SG_KEY_STRLIST, "", ENV("LISTEN_TLS_DNS_NAMES"),
	    0},
	{"listen.tls.ip_addresses", SG_KEY_STRLIST, "",
	    ENV("LISTEN_TLS_IP_ADDRESSES"), 0},
	{"listen.tls.uri_sans", SG_KEY_STRLIST, "", ENV("LISTEN_TLS_URI_SANS"),
	    0},
	{"listen.tls.public_key_sha256_pins", SG_KEY_STRLIST, "",
	    ENV("LISTEN_TLS_PUBLIC_KEY_SHA256_PINS"), 0},

	/*
	 * [{name, socket, address, socket_mode, socket_uid, socket_gid,
	 * insecure_allow_plain_tcp, insecure_allow_unauthenticated_clients,
	 * max_connections, tls: {the listen.tls keys}, allowed_profiles}];
	 * exclusive with listen (SPEC 2.4.5). Pinned at startup except
	 * listeners[*].allowed_profiles (SPEC 2.11.3, see ir_reload.c).
	 */
	{"listeners", SG_KEY_OBJLIST, NULL, NULL, Y},

	/* upstream (SPEC 2.5; seed: request_timeout "" = disabled). The
	 * transport (socket, endpoints, failover) is pinned at startup. */
	{"upstream", SG_KEY_SECTION, NULL, NULL, 0},
	{"upstream.socket", SG_KEY_STR, "/var/run/docker.sock",
	    ENV("UPSTREAM_SOCKET"), 0},
	/* "" or "off": disabled; else a positive Go duration */
	{"upstream.request_timeout", SG_KEY_DURATION, "",
	    ENV("UPSTREAM_REQUEST_TIMEOUT"), M},
	/* [{address, tls:{ca_file, cert_file, key_file, server_name},
	 * insecure_allow_plain_tcp, insecure_skip_tls_verify}] */
	{"upstream.endpoints", SG_KEY_OBJLIST, NULL, NULL, Y},
	{"upstream.failover", SG_KEY_SECTION, NULL, NULL, 0},
	/* "" -> 5s; negative: no recurring probes; 0 invalid */
	{"upstream.failover.health_interval", SG_KEY_DURATION, "",
	    ENV("UPSTREAM_FAILOVER_HEALTH_INTERVAL"), 0},
	/* "" -> 2s; positive */
	{"upstream.failover.health_timeout", SG_KEY_DURATION, "",
	    ENV("UPSTREAM_FAILOVER_HEALTH_TIMEOUT"), 0},

	/* log (SPEC 2.9) */
	{"log", SG_KEY_SECTION, NULL, NULL, 0},
	{"log.level", SG_KEY_STR, "info", ENV("LOG_LEVEL"), 0},
	{"log.format", SG_KEY_STR, "json", ENV("LOG_FORMAT"), 0},
	{"log.output", SG_KEY_STR, "stderr", ENV("LOG_OUTPUT"), 0},
	{"log.access_log", SG_KEY_BOOL, "true", ENV("LOG_ACCESS_LOG"), 0},
	{"log.audit", SG_KEY_SECTION, NULL, NULL, 0},
	{"log.audit.enabled", SG_KEY_BOOL, "false", ENV("LOG_AUDIT_ENABLED"),
	    0},
	{"log.audit.format", SG_KEY_STR, "json", ENV("LOG_AUDIT_FORMAT"), 0},
	{"log.audit.output", SG_KEY_STR, "stderr", ENV("LOG_AUDIT_OUTPUT"), 0},

	/* response (SPEC 2.7.1, 3.10, 3.11) */
	{"response", SG_KEY_SECTION, NULL, NULL, M},
	{"response.deny_verbosity", SG_KEY_STR, "minimal",
	    ENV("RESPONSE_DENY_VERBOSITY"), M},
	/* BOOL true */
	{"response.redact_container_env", UNS, "true",
	    ENV("RESPONSE_REDACT_CONTAINER_ENV"), M},
	/* BOOL true */
	{"response.redact_mount_paths", UNS, "true",
	    ENV("RESPONSE_REDACT_MOUNT_PATHS"), M},
	/* BOOL true */
	{"response.redact_network_topology", UNS, "true",
	    ENV("RESPONSE_REDACT_NETWORK_TOPOLOGY"), M},
	/* BOOL true */
	{"response.redact_sensitive_data", UNS, "true",
	    ENV("RESPONSE_REDACT_SENSITIVE_DATA"), M},
	/* BOOL false */
	{"response.redact_host_topology", UNS, "false",
	    ENV("RESPONSE_REDACT_HOST_TOPOLOGY"), M},
	/* BOOL false */
	{"response.allow_attestation_statements", UNS, "false",
	    ENV("RESPONSE_ALLOW_ATTESTATION_STATEMENTS"), M},
	/* STRLIST [] */
	{"response.visible_resource_labels", UNS, "",
	    ENV("RESPONSE_VISIBLE_RESOURCE_LABELS"), M},
	/* STRLIST [] */
	{"response.name_patterns", UNS, "", ENV("RESPONSE_NAME_PATTERNS"), M},
	/* STRLIST [] */
	{"response.image_patterns", UNS, "", ENV("RESPONSE_IMAGE_PATTERNS"),
	    M},

	/* acknowledgements (SPEC 2.6.7) */
	/* BOOL false */
	{"insecure_allow_body_blind_writes", UNS, "false",
	    ENV("INSECURE_ALLOW_BODY_BLIND_WRITES"), M},
	{"insecure_allow_read_exfiltration", SG_KEY_BOOL, "false",
	    ENV("INSECURE_ALLOW_READ_EXFILTRATION"), M},
	{"insecure_allow_browser_requests", SG_KEY_BOOL, "false",
	    ENV("INSECURE_ALLOW_BROWSER_REQUESTS"), M},
	/* BOOL false (deprecated) */
	{"insecure_accept_opaque_buildkit_tunnels", SG_KEY_BOOL, "false",
	    ENV("INSECURE_ACCEPT_OPAQUE_BUILDKIT_TUNNELS"), M},

	/* SECTION (SPEC 3.1-3.7, env names SPEC 2.12.2). Its children are
	 * not listed yet: every SOCKGUARD_REQUEST_BODY_* variable is
	 * reported as not supported. */
	{"request_body", UNS, NULL, NULL, M},

	/* clients (SPEC 3.8): who is calling, and which profile applies.
	 * Everything here may change on reload. */
	{"clients", SG_KEY_SECTION, NULL, NULL, M},
	/* CIDR prefixes (a bare IP is a host route) */
	{"clients.allowed_cidrs", SG_KEY_STRLIST, "", ENV("CLIENTS_ALLOWED_CIDRS"),
	    M},
	/* SECTION */
	{"clients.container_labels", UNS, NULL, NULL, M},
	/* BOOL false */
	{"clients.container_labels.enabled", UNS, "false",
	    ENV("CLIENTS_CONTAINER_LABELS_ENABLED"), M},
	/* STR "com.sockguard.allow." */
	{"clients.container_labels.label_prefix", UNS, "com.sockguard.allow.",
	    ENV("CLIENTS_CONTAINER_LABELS_LABEL_PREFIX"), M},
	{"clients.default_profile", SG_KEY_STR, "", ENV("CLIENTS_DEFAULT_PROFILE"),
	    M},
	/* [{profile, cidrs}] */
	{"clients.source_ip_profiles", SG_KEY_OBJLIST, NULL, NULL, M | Y},
	/* [{profile, common_names, dns_names, ip_addresses, uri_sans,
	 * spiffe_ids, public_key_sha256_pins}] */
	{"clients.client_certificate_profiles", SG_KEY_OBJLIST, NULL, NULL,
	    M | Y},
	/* [{profile, uids, gids, pids}] */
	{"clients.unix_peer_profiles", SG_KEY_OBJLIST, NULL, NULL, M | Y},
	/* SECTION {max_inflight} or null */
	{"clients.global_concurrency", UNS, NULL, NULL, M | Y},
	/* [{name, mode, rules}]; response, request_body and limits are
	 * recognised but not supported yet (cfg_lower.c) */
	{"clients.profiles", SG_KEY_OBJLIST, NULL, NULL, M | Y},

	/* ownership (SPEC 3.9): SECTION */
	{"ownership", UNS, NULL, NULL, M},
	/* STR "" */
	{"ownership.owner", UNS, "", ENV("OWNERSHIP_OWNER"), M},
	/* STR "com.sockguard.owner" */
	{"ownership.label_key", UNS, "com.sockguard.owner",
	    ENV("OWNERSHIP_LABEL_KEY"), M},
	/* BOOL true */
	{"ownership.allow_unowned_images", UNS, "true",
	    ENV("OWNERSHIP_ALLOW_UNOWNED_IMAGES"), M},
	/* BOOL false */
	{"ownership.allow_cross_owner_namespace_sharing", UNS, "false",
	    ENV("OWNERSHIP_ALLOW_CROSS_OWNER_NAMESPACE_SHARING"), M},

	/* health (SPEC 2.10) */
	{"health", SG_KEY_SECTION, NULL, NULL, 0},
	{"health.enabled", SG_KEY_BOOL, "true", ENV("HEALTH_ENABLED"), 0},
	{"health.path", SG_KEY_STR, "/health", ENV("HEALTH_PATH"), 0},
	/* SECTION */
	{"health.watchdog", UNS, NULL, NULL, 0},
	/* BOOL false */
	{"health.watchdog.enabled", UNS, "false",
	    ENV("HEALTH_WATCHDOG_ENABLED"), 0},
	/* DURATION "5s" */
	{"health.watchdog.interval", UNS, "5s", ENV("HEALTH_WATCHDOG_INTERVAL"),
	    0},
	/* SECTION */
	{"health.readiness", UNS, NULL, NULL, 0},
	/* BOOL false */
	{"health.readiness.enabled", UNS, "false",
	    ENV("HEALTH_READINESS_ENABLED"), 0},
	/* STR "/ready" */
	{"health.readiness.path", UNS, "/ready", ENV("HEALTH_READINESS_PATH"),
	    0},
	/* DURATION "10s" */
	{"health.readiness.interval", UNS, "10s",
	    ENV("HEALTH_READINESS_INTERVAL"), 0},
	/* DURATION "5s" */
	{"health.readiness.timeout", UNS, "5s", ENV("HEALTH_READINESS_TIMEOUT"),
	    0},

	/* metrics (SPEC 3.13): SECTION */
	{"metrics", UNS, NULL, NULL, 0},
	/* BOOL false */
	{"metrics.enabled", UNS, "false", ENV("METRICS_ENABLED"), 0},
	/* STR "/metrics" */
	{"metrics.path", UNS, "/metrics", ENV("METRICS_PATH"), 0},

	/* admin (SPEC 3.14): SECTION */
	{"admin", UNS, NULL, NULL, 0},
	/* BOOL false */
	{"admin.enabled", UNS, "false", ENV("ADMIN_ENABLED"), 0},
	/* STR "/admin/validate" */
	{"admin.path", UNS, "/admin/validate", ENV("ADMIN_PATH"), 0},
	/* STR "/admin/policy/version" */
	{"admin.policy_version_path", UNS, "/admin/policy/version",
	    ENV("ADMIN_POLICY_VERSION_PATH"), 0},
	/* INT 524288 */
	{"admin.max_request_bytes", UNS, "524288",
	    ENV("ADMIN_MAX_REQUEST_BYTES"), 0},
	/* STR "" */
	{"admin.mount_on", UNS, "", ENV("ADMIN_MOUNT_ON"), 0},
	/* SECTION: the listen.* keys plus insecure_allow_wide_open */
	{"admin.listen", UNS, NULL, NULL, 0},
	/* STR "" */
	{"admin.listen.socket", UNS, "", ENV("ADMIN_LISTEN_SOCKET"), 0},
	/* STR "" */
	{"admin.listen.address", UNS, "", ENV("ADMIN_LISTEN_ADDRESS"), 0},
	/* STR "0600" */
	{"admin.listen.socket_mode", UNS, "0600",
	    ENV("ADMIN_LISTEN_SOCKET_MODE"), 0},
	/* INT, YAML only */
	{"admin.listen.socket_uid", UNS, NULL, NULL, Y},
	/* INT, YAML only */
	{"admin.listen.socket_gid", UNS, NULL, NULL, Y},
	/* BOOL false */
	{"admin.listen.insecure_allow_plain_tcp", UNS, "false",
	    ENV("ADMIN_LISTEN_INSECURE_ALLOW_PLAIN_TCP"), 0},
	/* BOOL false */
	{"admin.listen.insecure_allow_unauthenticated_clients", UNS, "false",
	    ENV("ADMIN_LISTEN_INSECURE_ALLOW_UNAUTHENTICATED_CLIENTS"), 0},
	/* BOOL false */
	{"admin.listen.insecure_allow_wide_open", UNS, "false",
	    ENV("ADMIN_LISTEN_INSECURE_ALLOW_WIDE_OPEN"), 0},
	/* SECTION */
	{"admin.listen.tls", UNS, NULL, NULL, 0},
	/* STR "" */
	{"admin.listen.tls.cert_file", UNS, "",
	    ENV("ADMIN_LISTEN_TLS_CERT_FILE"), 0},
	/* STR "" */
	{"admin.listen.tls.key_file", UNS, "", ENV("ADMIN_LISTEN_TLS_KEY_FILE"),
	    0},
	/* STR "" */
	{"admin.listen.tls.client_ca_file", UNS, "",
	    ENV("ADMIN_LISTEN_TLS_CLIENT_CA_FILE"), 0},
	/* STRLIST [] */
	{"admin.listen.tls.common_names", UNS, "",
	    ENV("ADMIN_LISTEN_TLS_COMMON_NAMES"), 0},
	/* STRLIST [] */
	{"admin.listen.tls.dns_names", UNS, "",
	    ENV("ADMIN_LISTEN_TLS_DNS_NAMES"), 0},
	/* STRLIST [] */
	{"admin.listen.tls.ip_addresses", UNS, "",
	    ENV("ADMIN_LISTEN_TLS_IP_ADDRESSES"), 0},
	/* STRLIST [] */
	{"admin.listen.tls.uri_sans", UNS, "",
	    ENV("ADMIN_LISTEN_TLS_URI_SANS"), 0},
	/* STRLIST [] */
	{"admin.listen.tls.public_key_sha256_pins", UNS, "",
	    ENV("ADMIN_LISTEN_TLS_PUBLIC_KEY_SHA256_PINS"), 0},

	/* reload (SPEC 2.11): pinned at startup */
	{"reload", SG_KEY_SECTION, NULL, NULL, 0},
	{"reload.enabled", SG_KEY_BOOL, "false", ENV("RELOAD_ENABLED"), 0},
	/* >= 0; each trigger restarts the timer */
	{"reload.debounce", SG_KEY_DURATION, "250ms", ENV("RELOAD_DEBOUNCE"),
	    0},
	/* DURATION "" (off) */
	{"reload.poll_interval", UNS, "", ENV("RELOAD_POLL_INTERVAL"), 0},

	/* policy_bundle (Tier 2): SECTION */
	{"policy_bundle", UNS, NULL, NULL, 0},
	/* BOOL false */
	{"policy_bundle.enabled", UNS, "false", ENV("POLICY_BUNDLE_ENABLED"),
	    0},
	/* STR "", reload-mutable */
	{"policy_bundle.signature_path", UNS, "",
	    ENV("POLICY_BUNDLE_SIGNATURE_PATH"), M},
	/* OBJLIST [] of {pem} */
	{"policy_bundle.allowed_signing_keys", UNS, NULL, NULL, Y},
	/* OBJLIST [] of {issuer, subject_pattern} */
	{"policy_bundle.allowed_keyless", UNS, NULL, NULL, Y},
	/* BOOL true */
	{"policy_bundle.require_rekor_inclusion", UNS, "true",
	    ENV("POLICY_BUNDLE_REQUIRE_REKOR_INCLUSION"), 0},
	/* DURATION "" (-> 10s) */
	{"policy_bundle.verify_timeout", UNS, "",
	    ENV("POLICY_BUNDLE_VERIFY_TIMEOUT"), 0},

	/* mutations (SPEC 3.17): SECTION */
	{"mutations", UNS, NULL, NULL, M},
	/* OBJLIST [] */
	{"mutations.rules", UNS, NULL, NULL, M | Y},

	/* rules (SPEC 2.6) */
	{"rules", SG_KEY_OBJLIST, NULL, NULL, M | Y},
	/* a rule-DSL file; exclusive with a non-empty rules: list */
	{"rules_file", SG_KEY_STR, "", ENV("RULES_FILE"), M},
	/* lowest API version accepted, MAJOR.MINOR */
	{"min_api_version", SG_KEY_STR, "1.24", ENV("MIN_API_VERSION"), M},
};

#undef ENV
#undef M
#undef Y
#undef UNS

const struct sg_key *
sg_cfg_keys(size_t *n)
{
	if (n != NULL)
		*n = SG_ARRAY_LEN(keys_table);
	return keys_table;
}

const struct sg_key *
sg_cfg_key_find(const char *path)
{
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(keys_table); i++)
		if (strcmp(keys_table[i].path, path) == 0)
			return &keys_table[i];
	return NULL;
}

size_t
sg_cfg_key_index(const struct sg_key *k)
{
	return (size_t)(k - keys_table);
}

bool
sg_cfg_key_has_children(const struct sg_key *k)
{
	size_t n = strlen(k->path), i;

	for (i = 0; i < SG_ARRAY_LEN(keys_table); i++)
		if (strncmp(keys_table[i].path, k->path, n) == 0 &&
		    keys_table[i].path[n] == '.')
			return true;
	return false;
}

const char *
sg_cfg_nearest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1, wl = strlen(word), i;

	for (i = 0; i < n; i++) {
		size_t d = keys_osa(word, cands[i]);
		size_t cl = strlen(cands[i]);
		size_t lim = (cl > wl ? cl : wl) / 2;

		if (lim > 3)
			lim = 3;
		if (lim == 0)
			lim = 1;
		if (d <= lim && d < bestd) {
			best = cands[i];
			bestd = d;
		}
	}
	return best;
}

const char *
sg_cfg_key_suggest(const char *parent, const char *name)
{
	const char *cands[SG_ARRAY_LEN(keys_table)];
	const char *paths[SG_ARRAY_LEN(keys_table)];
	const char *best;
	size_t pl = strlen(parent), n = 0, i;

	for (i = 0; i < SG_ARRAY_LEN(keys_table); i++) {
		const char *p = keys_table[i].path, *last;

		if (pl > 0 && (strncmp(p, parent, pl) != 0 || p[pl] != '.'))
			continue;
		last = pl > 0 ? p + pl + 1 : p;
		if (strchr(last, '.') != NULL)
			continue;
		paths[n] = p;
		cands[n++] = last;
	}
	best = sg_cfg_nearest(name, cands, n);
	for (i = 0; best != NULL && i < n; i++)
		if (cands[i] == best)
			return paths[i];
	return NULL;
}

const char *
sg_cfg_env_suggest(const char *name)
{
	const char *cands[SG_ARRAY_LEN(keys_table)];
	size_t n = 0, i;

	for (i = 0; i < SG_ARRAY_LEN(keys_table); i++)
		if (keys_table[i].env != NULL)
			cands[n++] = keys_table[i].env;
	return sg_cfg_nearest(name, cands, n);
}

/* Optimal string alignment distance (edits plus adjacent swaps). */
static size_t
keys_osa(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row0[128], row1[128], row2[128];
	size_t *pp = row0, *p = row1, *c = row2, *t;

	if (la >= 127 || lb >= 127)
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		p[j] = j;
	for (i = 1; i <= la; i++) {
		c[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t v = p[j] + 1;

			if (c[j - 1] + 1 < v)
				v = c[j - 1] + 1;
			if (p[j - 1] + cost < v)
				v = p[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			c[j] = v;
		}
		t = pp;
		pp = p;
		p = c;
		c = t;
	}
	return p[lb];
}
