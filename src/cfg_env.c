/* SPDX-License-Identifier: MIT */
/*
 * cfg_env.c: the SOCKGUARD_* environment overlay (SPEC 2.2, 2.12). For
 * each key table entry with an environment name, a non-empty value
 * overrides the file; every other SOCKGUARD_* variable is an error
 * (unknown, not supported yet, or YAML-only). Also the DOCKER_HOST /
 * DOCKER_TLS_VERIFY / DOCKER_CERT_PATH drop-in endpoint (SPEC 2.5.4).
 * Owns nothing; reads the environment through the load options so tests
 * can inject one. Does not convert SOCKGUARD_* values (cfg_lower does,
 * with the same rules as YAML).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cfg_int.h"

#define ENV_PREFIX "SOCKGUARD_"

extern char **environ;

/* What DOCKER_HOST names, by its scheme. */
enum env_dh_kind {
	ENV_DH_UNIX = 0,  /* unix:// or a bare path: the local socket */
	ENV_DH_TCP,       /* tcp:// */
	ENV_DH_HTTP,      /* http:// or https://: refused, as by the CLI */
	ENV_DH_NOSCHEME,  /* host:port and the like */
	ENV_DH_OTHER,     /* ssh://, fd://, npipe://, ... */
};

#define ENV_DH_ACCEPTED "DOCKER_HOST must be tcp://HOST:PORT (TLS from " \
	"DOCKER_TLS_VERIFY and DOCKER_CERT_PATH), or unix:///path or unset " \
	"for upstream.socket"

static void env_check_unknown(struct sg_cfg_ctx *c, const char *name,
    size_t nlen);
static enum env_dh_kind env_docker_kind(const char *host);
static void env_docker_refuse(struct sg_cfg_ctx *c, const char *host,
    const struct sg_loc *loc);
static const char *env_docker_port(struct sg_cfg_ctx *c, const char *host,
    bool tls, const struct sg_loc *loc);
static char *env_mechanical(struct sg_arena *a, const char *path);
static const char *env_trim(struct sg_arena *a, const char *s);
static void env_alias(struct sg_cfg_ctx *c, const char *path,
    const char *name);
static const char *env_join(struct sg_arena *a, const char *dir,
    const char *name);

int
sg_cfg_env_overlay(struct sg_cfg_ctx *c)
{
	const struct sg_load_opts *o = c->o;
	const struct sg_key *keys;
	char *const *ep;
	size_t nkeys, i, nerr = c->d->nerr;

	keys = sg_cfg_keys(&nkeys);
	for (i = 0; i < nkeys; i++) {
		const char *v;
		struct sg_loc loc;

		if (keys[i].env == NULL)
			continue;
		v = sg_cfg_getenv(o, keys[i].env);
		if (v == NULL || v[0] == '\0')
			continue; /* empty = unset (SPEC 2.2) */
		loc = (struct sg_loc){sg_arena_printf(c->a, "env:%s",
		    keys[i].env), 0, 0};
		if (keys[i].type == SG_KEY_UNSUPPORTED) {
			sg_diag_error(c->d, &loc, keys[i].path, "%s is not "
			    "supported yet by this version of sockguard",
			    keys[i].path);
			continue;
		}
		if ((keys[i].flags & SG_KEYF_ENV_WITH_YAML) &&
		    c->vals[i].src != SG_CFG_SRC_YAML) {
			sg_diag_error(c->d, &loc, keys[i].path, "%s can be set "
			    "from the environment only when the YAML config "
			    "file sets it too (the variable overrides that "
			    "value)", keys[i].path);
			continue;
		}
		c->vals[i].src = SG_CFG_SRC_ENV;
		c->vals[i].loc = loc;
		c->vals[i].node = NULL;
		c->vals[i].text = sg_arena_strdup(c->a, v);
	}

	/* Tecnativa's names, below SOCKGUARD_* and above the file */
	env_alias(c, "upstream.socket", "SOCKET_PATH");
	env_alias(c, "log.level", "LOG_LEVEL");

	/* Unknown variables: only when the environment can be listed. */
	ep = o->envp;
	if (ep == NULL && o->getenv == NULL)
		ep = environ;
	for (; ep != NULL && *ep != NULL; ep++) {
		const char *eq = strchr(*ep, '=');

		if (strncmp(*ep, ENV_PREFIX, strlen(ENV_PREFIX)) != 0 ||
		    eq == NULL || eq[1] == '\0')
			continue;
		env_check_unknown(c, *ep, (size_t)(eq - *ep));
	}
	return c->d->nerr > nerr ? -1 : 0;
}

const char *
sg_cfg_getenv(const struct sg_load_opts *o, const char *name)
{
	size_t n = strlen(name);
	char *const *ep;

	if (o->getenv != NULL)
		return o->getenv(name);
	if (o->envp == NULL)
		return getenv(name);
	for (ep = o->envp; *ep != NULL; ep++)
		if (strncmp(*ep, name, n) == 0 && (*ep)[n] == '=')
			return *ep + n + 1;
	return NULL;
}

size_t
sg_cfg_split_list(struct sg_arena *a, const char *s, const char ***items)
{
	const char *p;
	size_t n = 1, i = 0;
	const char **v;

	for (p = s; *p != '\0'; p++)
		if (*p == ',')
			n++;
	v = sg_arena_alloc(a, n * sizeof(*v));
	for (p = s;; p++) {
		const char *e = strchr(p, ',');

		if (e == NULL) {
			v[i++] = sg_arena_strdup(a, p);
			break;
		}
		v[i++] = sg_arena_strndup(a, p, (size_t)(e - p));
		p = e;
	}
	*items = v;
	return i;
}

bool
sg_cfg_env_docker(struct sg_cfg_ctx *c, struct sg_ir_endpoint *ep,
    struct sg_cfg_ep_src *src)
{
	const struct sg_loc hloc = {"env:DOCKER_HOST", 0, 0};
	const struct sg_loc cloc = {"env:DOCKER_CERT_PATH", 0, 0};
	const char *host = env_trim(c->a, sg_cfg_getenv(c->o, "DOCKER_HOST"));
	const char *verify = sg_cfg_getenv(c->o, "DOCKER_TLS_VERIFY");
	const char *certs = env_trim(c->a,
	    sg_cfg_getenv(c->o, "DOCKER_CERT_PATH"));
	bool v = verify != NULL && verify[0] != '\0'; /* even "0" */
	const char *why, *addr;

	if (host[0] == '\0')
		return false;
	memset(ep, 0, sizeof(ep[0]));
	memset(src, 0, sizeof(src[0]));
	switch (env_docker_kind(host)) {
	case ENV_DH_UNIX:
		/* The local-socket default stays (seed: unix:// and unset
		 * fall through); the path itself is never used. */
		if (sg_cfg_ep_address(c->a, host, ep, &why) == -1)
			sg_diag_warn(c->d, &hloc, NULL, "DOCKER_HOST \"%s\" is "
			    "ignored (%s); using upstream.socket", host, why);
		return false;
	case ENV_DH_TCP:
		break;
	default:
		env_docker_refuse(c, host, &hloc);
		return false;
	}

	addr = env_docker_port(c, host, v || certs[0] != '\0', &hloc);
	if (sg_cfg_ep_address(c->a, addr, ep, &why) == -1) {
		sg_diag_error(c->d, &hloc, NULL, "DOCKER_HOST \"%s\": %s; "
		    ENV_DH_ACCEPTED, host, why);
		return false;
	}

	ep->address = addr;
	ep->loc = hloc;
	src->address = hloc;
	src->addr_ok = true;
	if (certs[0] != '\0') {
		ep->cert_file = env_join(c->a, certs, "cert.pem");
		ep->key_file = env_join(c->a, certs, "key.pem");
		src->cert_file = src->key_file = cloc;
		if (v) {
			ep->ca_file = env_join(c->a, certs, "ca.pem");
			src->ca_file = cloc;
		} else {
			/* The CLI does not read ca.pem when not verifying. */
			ep->insecure_skip_tls_verify = true;
			src->skip_verify = hloc;
			sg_diag_warn(c->d, &hloc, NULL, "DOCKER_HOST %s: TLS "
			    "with the client certificate from "
			    "DOCKER_CERT_PATH, but the daemon's server "
			    "certificate is not verified because "
			    "DOCKER_TLS_VERIFY is not set (same as "
			    "insecure_skip_tls_verify); set DOCKER_TLS_VERIFY=1 "
			    "to verify it against %s", addr,
			    env_join(c->a, certs, "ca.pem"));
		}
		ep->tls = true;
	} else if (v) {
		/* Server-auth-only TLS against the system roots. */
		ep->tls = true;
	} else {
		ep->insecure_allow_plain_tcp = true;
		src->plain_tcp = hloc;
		sg_diag_warn(c->d, &hloc, NULL, "DOCKER_HOST %s: plaintext TCP "
		    "because neither DOCKER_TLS_VERIFY nor DOCKER_CERT_PATH is "
		    "set (same as insecure_allow_plain_tcp): the Docker API "
		    "crosses the network unencrypted and unauthenticated",
		    addr);
	}
	return true;
}

/*
 * What a trimmed, non-empty DOCKER_HOST names, by its scheme alone. A
 * bare path is a unix socket, as for upstream.endpoints and the CLI.
 */
static enum env_dh_kind
env_docker_kind(const char *host)
{
	const char *sep = strstr(host, "://");
	size_t sl = sep != NULL ? (size_t)(sep - host) : 0;

	if (host[0] == '/' || strncmp(host, "./", 2) == 0 ||
	    strncmp(host, "../", 3) == 0)
		return ENV_DH_UNIX;
	if (sep == NULL)
		return ENV_DH_NOSCHEME;
	if (sl == 4 && strncasecmp(host, "unix", 4) == 0)
		return ENV_DH_UNIX;
	if (sl == 3 && strncasecmp(host, "tcp", 3) == 0)
		return ENV_DH_TCP;
	if ((sl == 4 && strncasecmp(host, "http", 4) == 0) ||
	    (sl == 5 && strncasecmp(host, "https", 5) == 0))
		return ENV_DH_HTTP;
	return ENV_DH_OTHER;
}

/*
 * An error for a DOCKER_HOST that is neither tcp:// nor unix://: it is
 * set, so it names the daemon the operator means; falling back to the
 * local socket would proxy a different one.
 */
static void
env_docker_refuse(struct sg_cfg_ctx *c, const char *host,
    const struct sg_loc *loc)
{
	const char *sep = strstr(host, "://");

	switch (env_docker_kind(host)) {
	case ENV_DH_HTTP:
		/* Nor does the Docker CLI: "invalid bind address format". */
		sg_diag_error(c->d, loc, NULL, "DOCKER_HOST \"%s\": the "
		    "%.*s:// scheme is not accepted (the Docker CLI refuses it "
		    "too); write tcp://%s and choose TLS with "
		    "DOCKER_TLS_VERIFY and DOCKER_CERT_PATH; " ENV_DH_ACCEPTED,
		    host, (int)(sep - host), host, sep + 3);
		break;
	case ENV_DH_NOSCHEME:
		sg_diag_error(c->d, loc, NULL, "DOCKER_HOST \"%s\" has no "
		    "scheme; write tcp://%s for a TCP daemon; " ENV_DH_ACCEPTED,
		    host, host);
		break;
	default:
		sg_diag_error(c->d, loc, NULL, "DOCKER_HOST \"%s\": the "
		    "%.*s:// scheme is not supported by sockguard; "
		    ENV_DH_ACCEPTED, host, (int)(sep - host), host);
		break;
	}
}

/*
 * tcp://host without a port gets the Docker CLI's default. The CLI
 * (docker/cli opts.ParseTCPAddr, checked against docker 28) uses 2375
 * for it whether or not DOCKER_TLS_VERIFY is set; 2376 is only its
 * default for an empty DOCKER_HOST under TLS, which here falls through
 * to the local socket. So 2375, with a warning when TLS is in use
 * (TLS daemons usually listen on 2376). Anything else is returned as
 * is, for sg_cfg_ep_address to judge.
 */
static const char *
env_docker_port(struct sg_cfg_ctx *c, const char *host, bool tls,
    const struct sg_loc *loc)
{
	const char *auth = host + strlen("tcp://");
	size_t alen = strcspn(auth, "/?#");
	const char *rb, *with;

	if (alen == 0 || memchr(auth, '@', alen) != NULL)
		return host;
	if (auth[0] == '[') {
		rb = memchr(auth, ']', alen);
		if (rb == NULL || rb + 1 != auth + alen)
			return host; /* has ":port", or is malformed */
	} else if (memchr(auth, ':', alen) != NULL) {
		return host;
	}
	with = sg_arena_printf(c->a, "tcp://%.*s:2375%s", (int)alen, auth,
	    auth + alen);
	if (tls)
		sg_diag_warn(c->d, loc, NULL, "DOCKER_HOST \"%s\" has no "
		    "port: using %s, the Docker CLI's default port, although "
		    "TLS daemons usually listen on 2376; write the port to "
		    "be sure", host, with);
	return with;
}

static void
env_check_unknown(struct sg_cfg_ctx *c, const char *var, size_t nlen)
{
	const struct sg_key *keys;
	char *name = sg_arena_strndup(c->a, var, nlen);
	struct sg_loc loc = {sg_arena_printf(c->a, "env:%s", name), 0, 0};
	const char *best;
	size_t nkeys, i;

	keys = sg_cfg_keys(&nkeys);
	for (i = 0; i < nkeys; i++)
		if (keys[i].env != NULL && strcmp(keys[i].env, name) == 0)
			return;
	for (i = 0; i < nkeys; i++) {
		const struct sg_key *k = &keys[i];
		char *mech;
		size_t ml;

		if (k->env != NULL)
			continue;
		mech = env_mechanical(c->a, k->path);
		ml = strlen(mech);
		if (k->type == SG_KEY_UNSUPPORTED && (strcmp(mech, name) == 0 ||
		    (strncmp(mech, name, ml) == 0 && name[ml] == '_' &&
		    !sg_cfg_key_has_children(k)))) {
			/* e.g. SOCKGUARD_REQUEST_BODY_EXEC_ALLOW_PRIVILEGED */
			sg_diag_error(c->d, &loc, k->path, "%s is not "
			    "supported yet by this version of sockguard",
			    k->path);
			return;
		}
		if ((k->flags & SG_KEYF_YAML_ONLY) && strcmp(mech, name) == 0) {
			sg_diag_error(c->d, &loc, k->path, "%s can only be set "
			    "in the YAML config file, not from the environment",
			    k->path);
			return;
		}
	}
	best = sg_cfg_env_suggest(name);
	if (best != NULL)
		sg_diag_error(c->d, &loc, NULL, "unknown environment variable "
		    "%s; did you mean %s?", name, best);
	else
		sg_diag_error(c->d, &loc, NULL, "unknown environment variable "
		    "%s", name);
}

/* SOCKGUARD_ + upper-case path with '.' -> '_' (SPEC 2.2). */
static char *
env_mechanical(struct sg_arena *a, const char *path)
{
	char *s = sg_arena_printf(a, ENV_PREFIX "%s", path), *p;

	for (p = s; *p != '\0'; p++)
		*p = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
	return s;
}

/* s without leading and trailing white space; "" for NULL. */
static const char *
env_trim(struct sg_arena *a, const char *s)
{
	size_t n;

	if (s == NULL)
		return "";
	s += strspn(s, " \t\r\n");
	n = strlen(s);
	while (n > 0 && strchr(" \t\r\n", s[n - 1]) != NULL)
		n--;
	return sg_arena_strndup(a, s, n);
}

static const char *
env_join(struct sg_arena *a, const char *dir, const char *name)
{
	size_t n = strlen(dir);

	return sg_arena_printf(a, "%s%s%s", dir, n > 0 && dir[n - 1] == '/' ?
	    "" : "/", name);
}

/*
 * SOCKET_PATH and LOG_LEVEL, as Tecnativa's proxy reads them (SPEC 2.2):
 * they set their key unless its SOCKGUARD_* variable did. LOG_LEVEL takes
 * syslog's names too (notice, warning, err, crit, alert, emerg).
 */
static void
env_alias(struct sg_cfg_ctx *c, const char *path, const char *name)
{
	static const struct {
		const char *in, *out;
	} levels[] = {
		{"debug", "debug"}, {"info", "info"}, {"notice", "info"},
		{"warn", "warn"}, {"warning", "warn"}, {"error", "error"},
		{"err", "error"}, {"crit", "error"}, {"alert", "error"},
		{"emerg", "error"},
	};
	const struct sg_key *k = sg_cfg_key_find(path);
	const char *v = env_trim(c->a, sg_cfg_getenv(c->o, name));
	struct sg_cfg_val *val;
	size_t i;

	if (k == NULL || v[0] == '\0')
		return;
	val = &c->vals[sg_cfg_key_index(k)];
	if (val->src == SG_CFG_SRC_ENV)
		return;
	if (strcmp(name, "LOG_LEVEL") == 0) {
		char *low = sg_arena_strdup(c->a, v), *p;

		for (p = low; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		v = low;
		for (i = 0; i < SG_ARRAY_LEN(levels); i++)
			if (strcmp(low, levels[i].in) == 0)
				v = levels[i].out;
	}
	val->src = SG_CFG_SRC_ENV;
	val->loc = (struct sg_loc){sg_arena_printf(c->a, "env:%s", name), 0,
	    0};
	val->node = NULL;
	val->text = v;
}
