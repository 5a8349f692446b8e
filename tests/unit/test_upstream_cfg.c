/* SPDX-License-Identifier: MIT */
/*
 * test_upstream_cfg.c: the upstream part of config loading (seed
 * "Remote Upstreams & Failover", SPEC 2.5): upstream.endpoints schema
 * and address grammar, TLS rules and certificate files (PEM, generated
 * here with OpenSSL), failover and request durations with their
 * environment variables, and the DOCKER_* drop-in with its precedence.
 * Every load goes through sg_cfg_load_bytes with an injected environment.
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../../src/cfg_int.h"
#include "sockguard/cfg.h"

#include "fixtures.h"

/* ---- PEM fixtures: a self-signed EC certificate and friends ---- */

static char p_ca[TMP_PATH_MAX], p_cert[TMP_PATH_MAX], p_key[TMP_PATH_MAX];
static char p_key2[TMP_PATH_MAX], p_text[TMP_PATH_MAX];
static char p_badcert[TMP_PATH_MAX], p_enc[TMP_PATH_MAX];
static char p_certdir[TMP_PATH_MAX];

static void
pem_setup(void)
{
	EVP_PKEY *k = pem_ec_key(), *k2 = pem_ec_key();
	X509 *x;
	FILE *fp;

	tmp_setup("up");
	x = pem_selfsigned(k, "dockerd.internal");

	/* The DOCKER_CERT_PATH names: ca.pem, cert.pem, key.pem. */
	pem_cert(p_ca, "ca.pem", x);
	pem_cert(p_cert, "cert.pem", x);
	pem_key(p_key, "key.pem", k);
	pem_key(p_key2, "other-key.pem", k2);
	fp = tmp_open(p_enc, "encrypted-key.pem");
	ck_assert_int_eq(PEM_write_PrivateKey(fp, k, EVP_aes_128_cbc(),
	    (const unsigned char *)"secret", 6, NULL, NULL), 1);
	fclose(fp);
	tmp_text(p_text, "notpem.txt", "this is not a certificate\n");
	tmp_text(p_badcert, "bad.pem", "-----BEGIN CERTIFICATE-----\n"
	    "AAAAbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
	snprintf(p_certdir, sizeof(p_certdir), "%s/sub", tmpdir);
	ck_assert_int_eq(mkdir(p_certdir, 0700), 0);

	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

/* An mTLS endpoint item with the fixture files, at indentation 4. */
static const char *
mtls_item(const char *addr)
{
	return fmt("    - address: %s\n"
	    "      tls:\n"
	    "        ca_file: %s\n"
	    "        cert_file: %s\n"
	    "        key_file: %s\n", addr, p_ca, p_cert, p_key);
}

/* ---- defaults, schema, lowering ---- */

START_TEST(defaults_single_socket)
{
	struct ld l;
	const struct sg_ir_upstream *up;

	ld_run(&l, "", NULL);
	ck_clean(&l);
	up = &l.ir->upstream;
	ck_assert_int_eq(up->source, SG_EPSRC_SOCKET);
	ck_assert(!up->endpoints_configured);
	ck_assert_uint_eq(up->nendpoints, 1);
	ck_assert_int_eq(up->endpoints[0].kind, SG_EP_UNIX);
	ck_assert_str_eq(up->endpoints[0].path, "/var/run/docker.sock");
	ck_assert(!up->endpoints[0].tls);
	/* Seed: request_timeout "" = disabled; 5s / 2s failover. */
	ck_assert(up->request_timeout_ns == 0);
	ck_assert(up->health_interval_ns == 5 * SG_NS_PER_SEC);
	ck_assert(up->health_timeout_ns == 2 * SG_NS_PER_SEC);
	ld_free(&l);

	/* endpoints: [] (or null) is "not configured". */
	ld_run(&l, "upstream:\n  endpoints: []\n  socket: /run/d.sock\n", NULL);
	ck_clean(&l);
	ck_assert_int_eq(l.ir->upstream.source, SG_EPSRC_SOCKET);
	ck_assert(!l.ir->upstream.endpoints_configured);
	ck_assert_str_eq(l.ir->upstream.endpoints[0].path, "/run/d.sock");
	ld_free(&l);
	ld_run(&l, "upstream:\n  endpoints:\n  failover:\n", NULL);
	ck_clean(&l);
	ck_assert_int_eq(l.ir->upstream.source, SG_EPSRC_SOCKET);
	ld_free(&l);
}
END_TEST

START_TEST(endpoints_lowered)
{
	struct ld l;
	const struct sg_ir_upstream *up;
	const struct sg_ir_endpoint *e;

	ld_run(&l, fmt("upstream:\n"
	    "  endpoints:\n"
	    "%s"
	    "        server_name: dockerd.internal\n"
	    "    - address: unix:///var/run/docker.sock\n"
	    "    - address: /var/run/docker-secondary.sock\n"
	    "    - address: tcp://[::1]:2376\n"
	    "      insecure_allow_plain_tcp: true\n"
	    "  failover:\n"
	    "    health_interval: \"-1s\"\n"
	    "    health_timeout: 750ms\n"
	    "  request_timeout: 1m30s\n",
	    mtls_item("tcp://10.0.1.5:2376")), NULL);
	ck_ok(&l);
	/* The plaintext endpoint is warned about, nothing else. */
	ck_nwarn(&l, 1);
	ck_exact(&l, "t.yaml:12:33: warning: upstream.endpoints[3]: "
	    "tcp://[::1]:2376 uses plaintext TCP (insecure_allow_plain_tcp): "
	    "the Docker API crosses the network unencrypted and "
	    "unauthenticated; use it only on a private, trusted network");
	up = &l.ir->upstream;
	ck_assert_int_eq(up->source, SG_EPSRC_ENDPOINTS);
	ck_assert(up->endpoints_configured);
	ck_assert_uint_eq(up->nendpoints, 4);
	ck_assert(up->health_interval_ns == -SG_NS_PER_SEC);
	ck_assert(up->health_timeout_ns == 750 * SG_NS_PER_MS);
	ck_assert(up->request_timeout_ns == 90 * SG_NS_PER_SEC);
	/* upstream.socket keeps its (default) value but is not used. */
	ck_assert_str_eq(up->socket, "/var/run/docker.sock");

	e = &up->endpoints[0];
	ck_assert_int_eq(e->kind, SG_EP_TCP);
	ck_assert_str_eq(e->address, "tcp://10.0.1.5:2376");
	ck_assert_str_eq(e->host, "10.0.1.5");
	ck_assert_str_eq(e->port, "2376");
	ck_assert_ptr_null(e->path);
	ck_assert_str_eq(e->ca_file, p_ca);
	ck_assert_str_eq(e->cert_file, p_cert);
	ck_assert_str_eq(e->key_file, p_key);
	ck_assert_str_eq(e->server_name, "dockerd.internal");
	ck_assert(e->tls);
	ck_assert(!e->insecure_allow_plain_tcp);
	ck_assert(!e->insecure_skip_tls_verify);
	ck_assert_str_eq(e->loc.file, "t.yaml");
	ck_assert_uint_eq(e->loc.line, 3);
	ck_assert_uint_eq(e->loc.col, 7);

	e = &up->endpoints[1];
	ck_assert_int_eq(e->kind, SG_EP_UNIX);
	ck_assert_str_eq(e->address, "unix:///var/run/docker.sock");
	ck_assert_str_eq(e->path, "/var/run/docker.sock");
	ck_assert_ptr_null(e->host);
	ck_assert_ptr_null(e->ca_file);
	ck_assert_ptr_null(e->server_name);
	ck_assert(!e->tls);
	ck_assert_uint_eq(e->loc.line, 9);

	e = &up->endpoints[2];
	ck_assert_int_eq(e->kind, SG_EP_UNIX);
	ck_assert_str_eq(e->address, "/var/run/docker-secondary.sock");
	ck_assert_str_eq(e->path, "/var/run/docker-secondary.sock");

	e = &up->endpoints[3];
	ck_assert_int_eq(e->kind, SG_EP_TCP);
	ck_assert_str_eq(e->host, "::1");
	ck_assert_str_eq(e->port, "2376");
	ck_assert(e->insecure_allow_plain_tcp);
	ck_assert(!e->tls);
	ck_assert_uint_eq(e->loc.line, 11);

	ck_assert_str_eq(sg_ir_loc(l.ir, "upstream.endpoints")->file,
	    "t.yaml");
	ck_assert_uint_eq(sg_ir_loc(l.ir, "upstream.endpoints")->line, 2);
	ld_free(&l);

	/* Flow style works the same; skip-verify alone is TLS. */
	ld_run(&l, "upstream:\n  endpoints: [{address: \"tcp://d:2376\", "
	    "insecure_skip_tls_verify: true}]\n", NULL);
	ck_ok(&l);
	e = &l.ir->upstream.endpoints[0];
	ck_assert(e->tls);
	ck_assert(e->insecure_skip_tls_verify);
	ck_assert_ptr_null(e->ca_file);
	ck_exact(&l, "t.yaml:2:67: warning: upstream.endpoints[0]: "
	    "tcp://d:2376: insecure_skip_tls_verify: the daemon's server "
	    "certificate is not verified, so anyone on the path can "
	    "impersonate it; prefer tls.ca_file");
	ld_free(&l);
}
END_TEST

START_TEST(endpoint_schema_errors)
{
	struct ld l;

	ld_run(&l, "upstream:\n"
	    "  endpoints:\n"
	    "    - adress: tcp://a:2376\n"
	    "      tls:\n"
	    "        ca_flie: /x\n"
	    "        zzzzzzzzzz: 1\n"
	    "      insecure_skip_tls_verfy: true\n"
	    "    - tcp://b:2376\n"
	    "    - address: [tcp://c:2376]\n"
	    "      tls: /certs\n"
	    "      insecure_allow_plain_tcp: yes\n"
	    "    - address: tcp://d:2376\n"
	    "      insecure_skip_tls_verify: {a: 1}\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:3:7: error: upstream.endpoints[0].adress: "
	    "unknown key \"upstream.endpoints[0].adress\"; did you mean "
	    "\"upstream.endpoints[0].address\"?");
	ck_exact(&l, "t.yaml:5:9: error: upstream.endpoints[0].tls.ca_flie: "
	    "unknown key \"upstream.endpoints[0].tls.ca_flie\"; did you mean "
	    "\"upstream.endpoints[0].tls.ca_file\"?");
	ck_exact(&l, "t.yaml:6:9: error: "
	    "upstream.endpoints[0].tls.zzzzzzzzzz: unknown key "
	    "\"upstream.endpoints[0].tls.zzzzzzzzzz\"");
	ck_exact(&l, "t.yaml:7:7: error: "
	    "upstream.endpoints[0].insecure_skip_tls_verfy: unknown key "
	    "\"upstream.endpoints[0].insecure_skip_tls_verfy\"; did you mean "
	    "\"upstream.endpoints[0].insecure_skip_tls_verify\"?");
	ck_exact(&l, "t.yaml:3:7: error: upstream.endpoints[0]: address is "
	    "required (e.g. tcp://dockerd:2376 or "
	    "unix:///var/run/docker.sock)");
	ck_exact(&l, "t.yaml:8:7: error: upstream.endpoints[1]: expected a "
	    "mapping with address, tls, insecure_allow_plain_tcp and "
	    "insecure_skip_tls_verify, got a scalar; write it as \"- address: "
	    "tcp://b:2376\"");
	ck_exact(&l, "t.yaml:9:16: error: upstream.endpoints[2].address: "
	    "expected a string, got a sequence");
	ck_exact(&l, "t.yaml:10:12: error: upstream.endpoints[2].tls: "
	    "expected a mapping with ca_file, cert_file, key_file and "
	    "server_name, got a scalar");
	ck_exact(&l, "t.yaml:11:33: error: "
	    "upstream.endpoints[2].insecure_allow_plain_tcp: expected a "
	    "boolean (true or false), got \"yes\"");
	ck_exact(&l, "t.yaml:13:33: error: "
	    "upstream.endpoints[3].insecure_skip_tls_verify: expected a "
	    "boolean (true or false), got a mapping");
	/* No cascade: broken items do not also fail "TCP requires TLS". */
	ck_no_diag(&l, "TCP requires TLS");
	ck_nerr(&l, 10);
	ld_free(&l);

	ld_run(&l, "upstream:\n  endpoints: {address: tcp://a:1}\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:2:14: error: upstream.endpoints: expected a "
	    "sequence of endpoints, got a mapping");
	ck_nerr(&l, 1);
	ld_free(&l);

	ld_run(&l, "upstream:\n  endpoints:\n    - address:\n"
	    "    - address: \"\"\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:3:7: error: upstream.endpoints[0]: address is "
	    "empty (e.g. tcp://dockerd:2376 or unix:///var/run/docker.sock)");
	ck_exact(&l, "t.yaml:4:16: error: upstream.endpoints[1]: address is "
	    "empty (e.g. tcp://dockerd:2376 or unix:///var/run/docker.sock)");
	ck_nerr(&l, 2);
	ld_free(&l);

	/* Per-endpoint fields are YAML-only. */
	{
		char *env[] = {"SOCKGUARD_UPSTREAM_ENDPOINTS=tcp://a:2376",
		    "SOCKGUARD_UPSTREAM_FAILOVER=x", NULL};

		ld_run(&l, "", env);
		ck_fail(&l);
		ck_exact(&l, "env:SOCKGUARD_UPSTREAM_ENDPOINTS: error: "
		    "upstream.endpoints: upstream.endpoints can only be set "
		    "in the YAML config file, not from the environment");
		ck_diag(&l, "env:SOCKGUARD_UPSTREAM_FAILOVER: error: unknown "
		    "environment variable SOCKGUARD_UPSTREAM_FAILOVER");
		ld_free(&l);
	}
}
END_TEST

START_TEST(skip_verify_inside_tls)
{
	struct ld l;

	ld_run(&l, fmt("upstream:\n"
	    "  endpoints:\n"
	    "    - address: tcp://dockerd.internal:2376\n"
	    "      tls:\n"
	    "        cert_file: %s\n"
	    "        key_file: %s\n"
	    "        insecure_skip_tls_verify: true\n", p_cert, p_key), NULL);
	ck_fail(&l);
	ck_exact(&l, fmt("t.yaml:7:9: error: "
	    "upstream.endpoints[0].tls.insecure_skip_tls_verify: "
	    "insecure_skip_tls_verify is an endpoint-level field, a sibling "
	    "of tls (next to address and insecure_allow_plain_tcp), not a key "
	    "inside the tls block; write the endpoint as {address: "
	    "tcp://dockerd.internal:2376, tls: {cert_file: %s, key_file: %s}, "
	    "insecure_skip_tls_verify: true}", p_cert, p_key));
	ck_nerr(&l, 1);
	ld_free(&l);

	/* Misplaced and nothing else: still only the one error. */
	ld_run(&l, "upstream:\n  endpoints:\n    - tls:\n"
	    "        insecure_skip_tls_verify: false\n"
	    "      address: tcp://d:2376\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:4:9: error: "
	    "upstream.endpoints[0].tls.insecure_skip_tls_verify: "
	    "insecure_skip_tls_verify is an endpoint-level field, a sibling "
	    "of tls (next to address and insecure_allow_plain_tcp), not a key "
	    "inside the tls block; write the endpoint as {address: "
	    "tcp://d:2376, tls: {}, insecure_skip_tls_verify: false}");
	ck_nerr(&l, 1);
	ld_free(&l);
}
END_TEST

/* ---- address grammar (SPEC 2.5.2) ---- */

struct addr_case {
	const char *addr;
	int kind;          /* -1: invalid */
	const char *host;  /* tcp host, or unix path */
	const char *port;
	const char *err;   /* exact message after "upstream.endpoints[0]: " */
};

static const struct addr_case addr_cases[] = {
	{"tcp://dockerd.internal:2376", SG_EP_TCP, "dockerd.internal", "2376",
	    NULL},
	{"tcp://10.0.1.5:2376", SG_EP_TCP, "10.0.1.5", "2376", NULL},
	{"tcp://[::1]:2376", SG_EP_TCP, "::1", "2376", NULL},
	{"tcp://[fe80::1%eth0]:2376", SG_EP_TCP, "fe80::1%eth0", "2376", NULL},
	{"tcp://[2001:db8::5]:1", SG_EP_TCP, "2001:db8::5", "1", NULL},
	{"http://dockerd:2375", SG_EP_TCP, "dockerd", "2375", NULL},
	{"https://dockerd:2376", SG_EP_TCP, "dockerd", "2376", NULL},
	{"TCP://Dockerd:65535", SG_EP_TCP, "Dockerd", "65535", NULL},
	{"tcp://d-1.example_x.org:02376", SG_EP_TCP, "d-1.example_x.org",
	    "2376", NULL},
	{"tcp://dockerd:2376/", SG_EP_TCP, "dockerd", "2376", NULL},
	{"unix:///var/run/docker.sock", SG_EP_UNIX, "/var/run/docker.sock",
	    NULL, NULL},
	{"/var/run/docker.sock", SG_EP_UNIX, "/var/run/docker.sock", NULL,
	    NULL},
	{"./docker.sock", SG_EP_UNIX, "./docker.sock", NULL, NULL},
	{"../run/docker.sock", SG_EP_UNIX, "../run/docker.sock", NULL, NULL},
	{"ftp://files:21", -1, NULL, NULL,
	    "unsupported scheme \"ftp\" (use unix:// or tcp://)"},
	{"ssh://me@dockerd", -1, NULL, NULL,
	    "unsupported scheme \"ssh\" (use unix:// or tcp://)"},
	{"npipe:////./pipe/docker_engine", -1, NULL, NULL,
	    "unsupported scheme \"npipe\" (use unix:// or tcp://)"},
	{"tcp://dockerd", -1, NULL, NULL,
	    "TCP address must include a port (e.g. tcp://host:2376)"},
	{"tcp://dockerd:", -1, NULL, NULL,
	    "TCP address must include a port (e.g. tcp://host:2376)"},
	{"tcp://[::1]", -1, NULL, NULL,
	    "TCP address must include a port (e.g. tcp://host:2376)"},
	{"tcp://dockerd:0", -1, NULL, NULL,
	    "TCP address must include a port (e.g. tcp://host:2376); \"0\" is "
	    "not a port number 1-65535"},
	{"tcp://dockerd:65536", -1, NULL, NULL,
	    "TCP address must include a port (e.g. tcp://host:2376); "
	    "\"65536\" is not a port number 1-65535"},
	{"tcp://dockerd:23a", -1, NULL, NULL,
	    "TCP address must include a port (e.g. tcp://host:2376); \"23a\" "
	    "is not a port number 1-65535"},
	{"tcp://:2376", -1, NULL, NULL,
	    "TCP address must include a host (e.g. tcp://host:2376)"},
	{"tcp://", -1, NULL, NULL,
	    "TCP address must include a host (e.g. tcp://host:2376)"},
	{"tcp://::1:2376", -1, NULL, NULL,
	    "IPv6 addresses must be in brackets (e.g. tcp://[::1]:2376), got "
	    "\"tcp://::1:2376\""},
	{"tcp://[dockerd]:2376", -1, NULL, NULL,
	    "invalid IPv6 address in TCP address \"tcp://[dockerd]:2376\" "
	    "(write it as tcp://[::1]:2376)"},
	{"tcp://[::1]x:2376", -1, NULL, NULL,
	    "invalid TCP address \"tcp://[::1]x:2376\": expected :port after ]"},
	{"tcp://dockerd:2376/v1.41", -1, NULL, NULL,
	    "TCP address must be tcp://host:port with no path, query or "
	    "fragment, got \"tcp://dockerd:2376/v1.41\""},
	{"tcp://me@dockerd:2376", -1, NULL, NULL,
	    "TCP address must not contain user information, got "
	    "\"tcp://me@dockerd:2376\""},
	{"tcp://dock erd:2376", -1, NULL, NULL,
	    "invalid host \"dock erd\" in TCP address \"tcp://dock erd:2376\""},
	{"unix://var/run/docker.sock", -1, NULL, NULL,
	    "unix:// address must have an empty host and an absolute path "
	    "(three slashes, e.g. unix:///var/run/docker.sock), got "
	    "\"unix://var/run/docker.sock\""},
	{"unix://", -1, NULL, NULL,
	    "unix:// address needs a socket path (e.g. "
	    "unix:///var/run/docker.sock)"},
	{"docker.sock", -1, NULL, NULL,
	    "address must be a unix path or a unix://, tcp:// URL (e.g. "
	    "tcp://host:2376 or unix:///var/run/docker.sock), got "
	    "\"docker.sock\""},
	{"dockerd:2376", -1, NULL, NULL,
	    "address must be a unix path or a unix://, tcp:// URL (e.g. "
	    "tcp://host:2376 or unix:///var/run/docker.sock), got "
	    "\"dockerd:2376\""},
	{"://x", -1, NULL, NULL,
	    "address must be a unix path or a unix://, tcp:// URL (e.g. "
	    "tcp://host:2376 or unix:///var/run/docker.sock), got \"://x\""},
};

START_TEST(address_grammar)
{
	const struct addr_case *t = &addr_cases[_i];
	struct ld l;
	const struct sg_ir_endpoint *e;
	bool tcp = t->kind == SG_EP_TCP;

	/* Quoted, so the value starts at column 16 on line 3. */
	ld_run(&l, fmt("upstream:\n  endpoints:\n    - address: \"%s\"\n%s",
	    t->addr, tcp ? "      insecure_allow_plain_tcp: true\n" : ""),
	    NULL);
	if (t->kind < 0) {
		ck_fail(&l);
		ck_exact(&l, fmt("t.yaml:3:16: error: upstream.endpoints[0]: "
		    "%s", t->err));
		ck_nerr(&l, 1);
		ld_free(&l);
		return;
	}
	ck_ok(&l);
	e = &l.ir->upstream.endpoints[0];
	ck_assert_int_eq(e->kind, t->kind);
	ck_assert_str_eq(e->address, t->addr);
	if (tcp) {
		ck_assert_str_eq(e->host, t->host);
		ck_assert_str_eq(e->port, t->port);
		ck_assert_ptr_null(e->path);
	} else {
		ck_assert_str_eq(e->path, t->host);
		ck_assert_ptr_null(e->host);
	}
	ld_free(&l);
}
END_TEST

START_TEST(address_parser_direct)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_ir_endpoint ep;
	const char *why = NULL;

	memset(&ep, 0, sizeof(ep));
	ck_assert_int_eq(sg_cfg_ep_address(a, "tcp://h:2376", &ep, &why), 0);
	ck_assert_int_eq(ep.kind, SG_EP_TCP);
	ck_assert_ptr_null(ep.address); /* not touched */
	memset(&ep, 0, sizeof(ep));
	ck_assert_int_eq(sg_cfg_ep_address(a, "", &ep, &why), -1);
	ck_assert_str_eq(why, "address is empty (e.g. tcp://host:2376 or "
	    "unix:///var/run/docker.sock)");
	sg_arena_free(a);
}
END_TEST

/* ---- TLS rules (SPEC 2.5.3) ---- */

START_TEST(tcp_requires_tls)
{
	struct ld l;

	ld_run(&l, "upstream:\n  endpoints:\n"
	    "    - address: tcp://dockerd:2376\n"
	    "    - address: tcp://dockerd-b:2376\n"
	    "      tls:\n        server_name: dockerd\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:3:7: error: upstream.endpoints[0]: TCP requires "
	    "TLS (set tls.ca_file/cert_file/key_file) or "
	    "insecure_allow_plain_tcp: true");
	/* server_name alone is not TLS material. */
	ck_exact(&l, "t.yaml:4:7: error: upstream.endpoints[1]: TCP requires "
	    "TLS (set tls.ca_file/cert_file/key_file) or "
	    "insecure_allow_plain_tcp: true");
	ck_nerr(&l, 2);
	ld_free(&l);

	/* Each kind of TLS material is enough. */
	ld_run(&l, fmt("upstream:\n  endpoints:\n"
	    "    - address: tcp://a:2376\n      tls: {ca_file: %s}\n"
	    "    - address: tcp://b:2376\n"
	    "      tls: {cert_file: %s, key_file: %s}\n",
	    p_ca, p_cert, p_key), NULL);
	ck_clean(&l);
	ck_assert(l.ir->upstream.endpoints[0].tls);
	ck_assert(l.ir->upstream.endpoints[1].tls);
	ck_assert_ptr_null(l.ir->upstream.endpoints[1].ca_file);
	ld_free(&l);

	/* Empty strings are "not set". */
	ld_run(&l, "upstream:\n  endpoints:\n    - address: tcp://a:2376\n"
	    "      tls: {ca_file: \"\", cert_file: ~}\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "upstream.endpoints[0]: TCP requires TLS");
	ld_free(&l);
}
END_TEST

START_TEST(cert_key_pairing)
{
	struct ld l;

	ld_run(&l, fmt("upstream:\n  endpoints:\n"
	    "    - address: tcp://a:2376\n"
	    "      tls:\n        cert_file: %s\n"
	    "    - address: tcp://b:2376\n"
	    "      tls:\n        key_file: %s\n", p_cert, p_key), NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:5:20: error: upstream.endpoints[0]: "
	    "tls.cert_file is set without tls.key_file: the client "
	    "certificate and its private key must be set together");
	ck_exact(&l, "t.yaml:8:19: error: upstream.endpoints[1]: "
	    "tls.key_file is set without tls.cert_file: the client "
	    "certificate and its private key must be set together");
	ck_nerr(&l, 2);
	ld_free(&l);
}
END_TEST

START_TEST(unix_rejects_tls)
{
	struct ld l;

	ld_run(&l, fmt("upstream:\n  endpoints:\n"
	    "    - address: /var/run/docker.sock\n"
	    "      tls:\n        ca_file: %s\n"
	    "    - address: unix:///run/d.sock\n"
	    "      insecure_skip_tls_verify: true\n"
	    "      insecure_allow_plain_tcp: true\n"
	    "    - address: ./d.sock\n"
	    "      tls: {server_name: x}\n"
	    "    - address: /ok.sock\n"
	    "      tls: {}\n"
	    "      insecure_allow_plain_tcp: false\n", p_ca), NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:4:7: error: upstream.endpoints[0]: TLS settings "
	    "are not valid for a unix socket (remove tls from this endpoint)");
	ck_exact(&l, "t.yaml:7:33: error: upstream.endpoints[1]: TLS settings "
	    "are not valid for a unix socket: insecure_skip_tls_verify only "
	    "applies to TCP endpoints");
	ck_exact(&l, "t.yaml:8:33: error: upstream.endpoints[1]: "
	    "insecure_allow_plain_tcp is not valid for a unix socket: it only "
	    "applies to tcp:// endpoints");
	ck_exact(&l, "t.yaml:10:7: error: upstream.endpoints[2]: TLS settings "
	    "are not valid for a unix socket (remove tls from this endpoint)");
	ck_nerr(&l, 4);
	ck_nwarn(&l, 0);
	ld_free(&l);
}
END_TEST

START_TEST(insecure_warnings)
{
	struct ld l;

	ld_run(&l, fmt("upstream:\n  endpoints:\n"
	    "    - address: tcp://plain:2375\n"
	    "      insecure_allow_plain_tcp: true\n"
	    "    - address: tcp://skip:2376\n"
	    "      tls: {ca_file: %s, cert_file: %s, key_file: %s}\n"
	    "      insecure_skip_tls_verify: true\n"
	    "    - address: tcp://both:2376\n"
	    "      tls: {ca_file: %s}\n"
	    "      insecure_allow_plain_tcp: true\n"
	    "    - address: tcp://sni:2375\n"
	    "      tls: {server_name: x}\n"
	    "      insecure_allow_plain_tcp: true\n",
	    p_ca, p_cert, p_key, p_ca), NULL);
	ck_ok(&l);
	ck_exact(&l, "t.yaml:4:33: warning: upstream.endpoints[0]: "
	    "tcp://plain:2375 uses plaintext TCP (insecure_allow_plain_tcp): "
	    "the Docker API crosses the network unencrypted and "
	    "unauthenticated; use it only on a private, trusted network");
	ck_exact(&l, "t.yaml:7:33: warning: upstream.endpoints[1]: "
	    "tcp://skip:2376: insecure_skip_tls_verify: the daemon's server "
	    "certificate is not verified, so anyone on the path can "
	    "impersonate it; prefer tls.ca_file");
	ck_exact(&l, "t.yaml:6:22: warning: upstream.endpoints[1]: "
	    "tls.ca_file is not used because insecure_skip_tls_verify is "
	    "true");
	ck_exact(&l, "t.yaml:10:33: warning: upstream.endpoints[2]: "
	    "insecure_allow_plain_tcp has no effect: TLS is configured for "
	    "tcp://both:2376");
	ck_exact(&l, "t.yaml:12:26: warning: upstream.endpoints[3]: "
	    "tls.server_name has no effect on a plaintext endpoint");
	ck_diag(&l, "warning: upstream.endpoints[3]: tcp://sni:2375 uses "
	    "plaintext TCP");
	ck_nwarn(&l, 6);
	ck_assert(!l.ir->upstream.endpoints[2].insecure_skip_tls_verify);
	ck_assert(l.ir->upstream.endpoints[2].tls);
	ld_free(&l);
}
END_TEST

START_TEST(duplicate_endpoint_warns)
{
	struct ld l;

	ld_run(&l, "upstream:\n  endpoints:\n"
	    "    - address: /var/run/docker.sock\n"
	    "    - address: unix:///var/run/docker.sock\n"
	    "    - address: /other.sock\n", NULL);
	ck_ok(&l);
	ck_exact(&l, "t.yaml:4:16: warning: upstream.endpoints[1]: "
	    "unix:///var/run/docker.sock is the same endpoint as "
	    "upstream.endpoints[0]; failing over to it gains nothing");
	ck_nwarn(&l, 1);
	ld_free(&l);
}
END_TEST

/* ---- certificate files (checked at config time) ---- */

START_TEST(pem_file_errors)
{
	struct ld l;

	ld_run(&l, fmt("upstream:\n  endpoints:\n"
	    "    - address: tcp://a:2376\n"
	    "      tls:\n"
	    "        ca_file: %s/missing.pem\n"
	    "        cert_file: %s\n"
	    "        key_file: %s\n"
	    "    - address: tcp://b:2376\n"
	    "      tls:\n"
	    "        ca_file: %s\n"
	    "        cert_file: %s\n"
	    "        key_file: %s\n"
	    "    - address: tcp://c:2376\n"
	    "      tls:\n"
	    "        ca_file: %s\n"
	    "        cert_file: %s\n"
	    "        key_file: %s\n",
	    tmpdir, p_text, p_text,
	    p_key, p_badcert, p_ca,
	    p_certdir, p_cert, p_enc), NULL);
	ck_fail(&l);
	ck_exact(&l, fmt("t.yaml:5:18: error: upstream.endpoints[0]: cannot "
	    "read tls.ca_file \"%s/missing.pem\": No such file or directory",
	    tmpdir));
	ck_exact(&l, fmt("t.yaml:6:20: error: upstream.endpoints[0]: "
	    "tls.cert_file \"%s\" contains no PEM certificate (expected at "
	    "least one -----BEGIN CERTIFICATE----- block)", p_text));
	ck_exact(&l, fmt("t.yaml:7:19: error: upstream.endpoints[0]: "
	    "tls.key_file \"%s\" contains no PEM private key (expected a "
	    "-----BEGIN PRIVATE KEY----- block)", p_text));
	/* A key where a CA bundle belongs has no certificate in it. */
	ck_exact(&l, fmt("t.yaml:10:18: error: upstream.endpoints[1]: "
	    "tls.ca_file \"%s\" contains no PEM certificate (expected at "
	    "least one -----BEGIN CERTIFICATE----- block)", p_key));
	ck_diag(&l, fmt("t.yaml:11:20: error: upstream.endpoints[1]: "
	    "tls.cert_file \"%s\": invalid PEM certificate: ", p_badcert));
	ck_exact(&l, fmt("t.yaml:12:19: error: upstream.endpoints[1]: "
	    "tls.key_file \"%s\" contains no PEM private key (expected a "
	    "-----BEGIN PRIVATE KEY----- block)", p_ca));
	ck_exact(&l, fmt("t.yaml:15:18: error: upstream.endpoints[2]: cannot "
	    "read tls.ca_file \"%s\": Is a directory", p_certdir));
	ck_exact(&l, fmt("t.yaml:17:19: error: upstream.endpoints[2]: "
	    "tls.key_file \"%s\" is an encrypted private key; sockguard "
	    "cannot ask for a passphrase, so store it unencrypted (openssl "
	    "pkey -in KEY -out PLAIN)", p_enc));
	ck_nerr(&l, 8);
	ld_free(&l);
}
END_TEST

START_TEST(pem_key_mismatch)
{
	struct ld l;

	ld_run(&l, fmt("upstream:\n  endpoints:\n"
	    "    - address: tcp://a:2376\n"
	    "      tls:\n"
	    "        cert_file: %s\n"
	    "        key_file: %s\n", p_cert, p_key2), NULL);
	ck_fail(&l);
	ck_exact(&l, fmt("t.yaml:6:19: error: upstream.endpoints[0]: "
	    "tls.key_file \"%s\" does not match tls.cert_file \"%s\": the "
	    "private key is not the certificate's key", p_key2, p_cert));
	ck_nerr(&l, 1);
	ld_free(&l);

	/* The matching pair is accepted, CA bundles may hold several. */
	{
		char bundle[300];
		FILE *out, *in;
		int ch, k;

		snprintf(bundle, sizeof(bundle), "%s/bundle.pem", tmpdir);
		out = fopen(bundle, "w");
		ck_assert_ptr_nonnull(out);
		for (k = 0; k < 3; k++) {
			in = fopen(p_ca, "r");
			ck_assert_ptr_nonnull(in);
			while ((ch = fgetc(in)) != EOF)
				fputc(ch, out);
			fclose(in);
			fputs("# comment between blocks\n", out);
		}
		fclose(out);
		ld_run(&l, fmt("upstream:\n  endpoints:\n"
		    "    - address: tcp://a:2376\n"
		    "      tls: {ca_file: %s, cert_file: %s, key_file: %s}\n",
		    bundle, p_cert, p_key), NULL);
		ck_clean(&l);
		ld_free(&l);
	}
}
END_TEST

START_TEST(many_errors_at_once)
{
	struct ld l;

	ld_run(&l, fmt("upstream:\n"
	    "  socket: /var/run/docker.sock\n"
	    "  request_timeout: 0\n"
	    "  endpoints:\n"
	    "    - address: ftp://a:21\n"
	    "    - address: tcp://b:2376\n"
	    "    - address: tcp://c:2376\n"
	    "      tls:\n"
	    "        cert_file: %s\n"
	    "    - address: /run/d.sock\n"
	    "      tls:\n"
	    "        ca_file: %s\n"
	    "    - address: tcp://e:2376\n"
	    "      tls:\n"
	    "        ca_file: /nonexistent/ca.pem\n"
	    "  failover:\n"
	    "    health_interval: 0s\n"
	    "    health_timeout: -1s\n", p_cert, p_ca), NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:3:20: error: upstream.request_timeout: "
	    "upstream.request_timeout must be a positive duration or \"off\" "
	    "to disable, got \"0\"");
	ck_exact(&l, "t.yaml:5:16: error: upstream.endpoints[0]: "
	    "unsupported scheme \"ftp\" (use unix:// or tcp://)");
	ck_exact(&l, "t.yaml:6:7: error: upstream.endpoints[1]: TCP requires "
	    "TLS (set tls.ca_file/cert_file/key_file) or "
	    "insecure_allow_plain_tcp: true");
	ck_exact(&l, "t.yaml:9:20: error: upstream.endpoints[2]: "
	    "tls.cert_file is set without tls.key_file: the client "
	    "certificate and its private key must be set together");
	ck_exact(&l, "t.yaml:11:7: error: upstream.endpoints[3]: TLS settings "
	    "are not valid for a unix socket (remove tls from this endpoint)");
	ck_exact(&l, "t.yaml:15:18: error: upstream.endpoints[4]: cannot read "
	    "tls.ca_file \"/nonexistent/ca.pem\": No such file or directory");
	ck_exact(&l, "t.yaml:17:22: error: upstream.failover.health_interval: "
	    "upstream.failover.health_interval must be non-zero: use a "
	    "negative duration to disable probing, or omit it for the 5s "
	    "default");
	ck_exact(&l, "t.yaml:18:21: error: upstream.failover.health_timeout: "
	    "upstream.failover.health_timeout must be a positive duration, "
	    "got \"-1s\"");
	ck_nerr(&l, 8);
	ck_exact(&l, "t.yaml:2:11: warning: upstream.socket: upstream.socket "
	    "(t.yaml:2:11) is ignored because upstream.endpoints (t.yaml:4:3) "
	    "is set; remove one of them");
	ld_free(&l);
}
END_TEST

/* ---- upstream.socket next to endpoints ---- */

START_TEST(socket_ignored_with_endpoints)
{
	struct ld l;
	char *env[] = {"SOCKGUARD_UPSTREAM_SOCKET=/env/d.sock", NULL};
	const char *yaml = "upstream:\n  endpoints:\n    - address: /a.sock\n";

	/* Default socket: nothing to say. */
	ld_run(&l, yaml, NULL);
	ck_clean(&l);
	ld_free(&l);

	ld_run(&l, yaml, env);
	ck_ok(&l);
	ck_exact(&l, "env:SOCKGUARD_UPSTREAM_SOCKET: warning: upstream.socket: "
	    "upstream.socket (env:SOCKGUARD_UPSTREAM_SOCKET) is ignored "
	    "because upstream.endpoints (t.yaml:2:3) is set; remove one of "
	    "them");
	ck_assert_str_eq(l.ir->upstream.endpoints[0].path, "/a.sock");
	ck_assert_uint_eq(l.ir->upstream.nendpoints, 1);
	ld_free(&l);

	ld_init(&l, NULL);
	l.o.upstream_socket = "/flag/d.sock";
	ld_yaml(&l, yaml);
	ck_ok(&l);
	ck_exact(&l, "flag:--upstream-socket: warning: upstream.socket: "
	    "upstream.socket (flag:--upstream-socket) is ignored because "
	    "upstream.endpoints (t.yaml:2:3) is set; remove one of them");
	ld_free(&l);

	/* An ignored socket is not validated; an empty one is not news. */
	ld_run(&l, "upstream:\n  socket: relative.sock\n  endpoints:\n"
	    "    - address: /a.sock\n", NULL);
	ck_ok(&l);
	ck_nwarn(&l, 1);
	ld_free(&l);
	ld_run(&l, "upstream:\n  socket:\n  endpoints:\n"
	    "    - address: /a.sock\n", NULL);
	ck_clean(&l);
	ld_free(&l);
}
END_TEST

/* ---- durations ---- */

struct dur_case {
	const char *v;   /* YAML value as written */
	int64_t want;
	const char *err; /* exact message, NULL: valid */
};

#define HI "upstream.failover.health_interval"
#define HT "upstream.failover.health_timeout"
#define RT "upstream.request_timeout"

static const struct dur_case interval_cases[] = {
	{"\"\"", 5 * SG_NS_PER_SEC, NULL},
	{"~", 5 * SG_NS_PER_SEC, NULL},
	{"10s", 10 * SG_NS_PER_SEC, NULL},
	{"1.5m", 90 * SG_NS_PER_SEC, NULL},
	{"-1s", -SG_NS_PER_SEC, NULL},
	{"-1h", -3600 * SG_NS_PER_SEC, NULL},
	{"0", 0, HI " must be non-zero: use a negative duration to disable "
	    "probing, or omit it for the 5s default"},
	{"0s", 0, HI " must be non-zero: use a negative duration to disable "
	    "probing, or omit it for the 5s default"},
	{"-0ms", 0, HI " must be non-zero: use a negative duration to "
	    "disable probing, or omit it for the 5s default"},
	{"x", 0, HI " must be a Go duration, got \"x\""},
	{"5", 0, HI " must be a Go duration, got \"5\""},
	{"off", 0, HI " must be a Go duration, got \"off\""},
	/* at most 10 years, so no deadline can overflow; any negative
	 * value only disables probing */
	{"87600h", SG_DURATION_MAX_NS, NULL},
	{"-2562047h", -2562047LL * 3600 * SG_NS_PER_SEC, NULL},
	{"87600h0.000000001s", 0, HI " must be at most 87600h (10 years), "
	    "got \"87600h0.000000001s\""},
	{"2562047h", 0, HI " must be at most 87600h (10 years), got "
	    "\"2562047h\""},
};

static const struct dur_case timeout_cases[] = {
	{"\"\"", 2 * SG_NS_PER_SEC, NULL},
	{"500ms", 500 * SG_NS_PER_MS, NULL},
	{"1m", 60 * SG_NS_PER_SEC, NULL},
	{"0s", 0, HT " must be a positive duration, got \"0s\""},
	{"-2s", 0, HT " must be a positive duration, got \"-2s\""},
	{"abc", 0, HT " must be a Go duration, got \"abc\""},
	{"87600h", SG_DURATION_MAX_NS, NULL},
	{"87601h", 0, HT " must be at most 87600h (10 years), got "
	    "\"87601h\""},
};

static const struct dur_case request_cases[] = {
	{"\"\"", 0, NULL},
	{"~", 0, NULL},
	{"\"off\"", 0, NULL},
	{"off", 0, NULL},
	{"30s", 30 * SG_NS_PER_SEC, NULL},
	{"2h45m", (2 * 3600 + 45 * 60) * SG_NS_PER_SEC, NULL},
	{"0", 0, RT " must be a positive duration or \"off\" to disable, got "
	    "\"0\""},
	{"-1s", 0, RT " must be a positive duration or \"off\" to disable, "
	    "got \"-1s\""},
	{"garbage", 0, RT " must be a positive duration or \"off\" to "
	    "disable, got \"garbage\""},
	{"OFF", 0, RT " must be a positive duration or \"off\" to disable, "
	    "got \"OFF\""},
	{"30", 0, RT " must be a positive duration or \"off\" to disable, got "
	    "\"30\""},
	{"87600h", SG_DURATION_MAX_NS, NULL},
	{"2562047h", 0, RT " must be at most 87600h (10 years), got "
	    "\"2562047h\""},
	{"2562047h47m16.854775807s", 0, RT " must be at most 87600h (10 "
	    "years), got \"2562047h47m16.854775807s\""},
};

START_TEST(health_interval_values)
{
	const struct dur_case *t = &interval_cases[_i];
	struct ld l;

	ld_run(&l, fmt("upstream:\n  failover:\n    health_interval: %s\n",
	    t->v), NULL);
	if (t->err != NULL) {
		ck_fail(&l);
		ck_exact(&l, fmt("t.yaml:3:22: error: " HI ": %s", t->err));
		ck_nerr(&l, 1);
	} else {
		ck_clean(&l);
		ck_assert_msg(l.ir->upstream.health_interval_ns == t->want,
		    "%s: got %lld", t->v,
		    (long long)l.ir->upstream.health_interval_ns);
	}
	ld_free(&l);
}
END_TEST

START_TEST(health_timeout_values)
{
	const struct dur_case *t = &timeout_cases[_i];
	struct ld l;

	ld_run(&l, fmt("upstream:\n  failover:\n    health_timeout: %s\n",
	    t->v), NULL);
	if (t->err != NULL) {
		ck_fail(&l);
		ck_exact(&l, fmt("t.yaml:3:21: error: " HT ": %s", t->err));
		ck_nerr(&l, 1);
	} else {
		ck_clean(&l);
		ck_assert(l.ir->upstream.health_timeout_ns == t->want);
	}
	ld_free(&l);
}
END_TEST

START_TEST(request_timeout_values)
{
	const struct dur_case *t = &request_cases[_i];
	struct ld l;

	ld_run(&l, fmt("upstream:\n  request_timeout: %s\n", t->v), NULL);
	if (t->err != NULL) {
		ck_fail(&l);
		ck_exact(&l, fmt("t.yaml:2:20: error: " RT ": %s", t->err));
		ck_nerr(&l, 1);
	} else {
		ck_clean(&l);
		ck_assert(l.ir->upstream.request_timeout_ns == t->want);
	}
	ld_free(&l);
}
END_TEST

START_TEST(duration_env_overlay)
{
	struct ld l;
	const char *yaml = "upstream:\n  request_timeout: 10s\n"
	    "  failover:\n    health_interval: 7s\n    health_timeout: 3s\n";
	char *env[] = {"SOCKGUARD_UPSTREAM_REQUEST_TIMEOUT=20s",
	    "SOCKGUARD_UPSTREAM_FAILOVER_HEALTH_INTERVAL=-1s",
	    "SOCKGUARD_UPSTREAM_FAILOVER_HEALTH_TIMEOUT=250ms", NULL};
	char *env_off[] = {"SOCKGUARD_UPSTREAM_REQUEST_TIMEOUT=off", NULL};
	/* Empty = unset: it does not disable the timeout (SPEC 2.2). */
	char *env_empty[] = {"SOCKGUARD_UPSTREAM_REQUEST_TIMEOUT=",
	    "SOCKGUARD_UPSTREAM_FAILOVER_HEALTH_INTERVAL=",
	    "SOCKGUARD_UPSTREAM_FAILOVER_HEALTH_TIMEOUT=", NULL};
	char *env_bad[] = {"SOCKGUARD_UPSTREAM_REQUEST_TIMEOUT=-5s",
	    "SOCKGUARD_UPSTREAM_FAILOVER_HEALTH_INTERVAL=0",
	    "SOCKGUARD_UPSTREAM_FAILOVER_HEALTH_TIMEOUT=soon", NULL};

	ld_run(&l, yaml, NULL);
	ck_clean(&l);
	ck_assert(l.ir->upstream.request_timeout_ns == 10 * SG_NS_PER_SEC);
	ck_assert(l.ir->upstream.health_interval_ns == 7 * SG_NS_PER_SEC);
	ck_assert(l.ir->upstream.health_timeout_ns == 3 * SG_NS_PER_SEC);
	ld_free(&l);

	ld_run(&l, yaml, env);
	ck_clean(&l);
	ck_assert(l.ir->upstream.request_timeout_ns == 20 * SG_NS_PER_SEC);
	ck_assert(l.ir->upstream.health_interval_ns == -SG_NS_PER_SEC);
	ck_assert(l.ir->upstream.health_timeout_ns == 250 * SG_NS_PER_MS);
	ck_assert_str_eq(sg_ir_loc(l.ir, RT)->file,
	    "env:SOCKGUARD_UPSTREAM_REQUEST_TIMEOUT");
	ld_free(&l);

	ld_run(&l, yaml, env_off);
	ck_clean(&l);
	ck_assert(l.ir->upstream.request_timeout_ns == 0);
	ld_free(&l);

	ld_run(&l, yaml, env_empty);
	ck_clean(&l);
	ck_assert(l.ir->upstream.request_timeout_ns == 10 * SG_NS_PER_SEC);
	ck_assert(l.ir->upstream.health_interval_ns == 7 * SG_NS_PER_SEC);
	ck_assert(l.ir->upstream.health_timeout_ns == 3 * SG_NS_PER_SEC);
	ck_assert_str_eq(sg_ir_loc(l.ir, RT)->file, "t.yaml");
	ld_free(&l);

	ld_run(&l, "", env_bad);
	ck_fail(&l);
	ck_exact(&l, "env:SOCKGUARD_UPSTREAM_REQUEST_TIMEOUT: error: " RT ": "
	    RT " must be a positive duration or \"off\" to disable, got "
	    "\"-5s\"");
	ck_exact(&l, "env:SOCKGUARD_UPSTREAM_FAILOVER_HEALTH_INTERVAL: error: "
	    HI ": " HI " must be non-zero: use a negative duration to disable "
	    "probing, or omit it for the 5s default");
	ck_exact(&l, "env:SOCKGUARD_UPSTREAM_FAILOVER_HEALTH_TIMEOUT: error: "
	    HT ": " HT " must be a Go duration, got \"soon\"");
	ck_nerr(&l, 3);
	ld_free(&l);

	/* The upper bound holds for the environment too. */
	{
		char *env_big[] = {
		    "SOCKGUARD_UPSTREAM_REQUEST_TIMEOUT=100000h",
		    "SOCKGUARD_UPSTREAM_FAILOVER_HEALTH_INTERVAL=2562047h",
		    NULL};

		ld_run(&l, yaml, env_big);
		ck_fail(&l);
		ck_exact(&l, "env:SOCKGUARD_UPSTREAM_REQUEST_TIMEOUT: error: "
		    RT ": " RT " must be at most 87600h (10 years), got "
		    "\"100000h\"");
		ck_exact(&l, "env:SOCKGUARD_UPSTREAM_FAILOVER_HEALTH_INTERVAL: "
		    "error: " HI ": " HI " must be at most 87600h (10 years), "
		    "got \"2562047h\"");
		ck_nerr(&l, 2);
		ld_free(&l);
	}

	/* Wrong YAML types. */
	ld_run(&l, "upstream:\n  request_timeout: [1s]\n  failover: 5s\n",
	    NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:2:20: error: " RT ": expected a duration string "
	    "(e.g. \"30s\"), got a sequence");
	ck_exact(&l, "t.yaml:3:13: error: upstream.failover: expected a "
	    "mapping, got a scalar");
	ld_free(&l);
}
END_TEST

/* ---- DOCKER_* drop-in (SPEC 2.5.4, seed table) ---- */

START_TEST(docker_verify_and_cert_path)
{
	struct ld l;
	const struct sg_ir_endpoint *e;
	char *env[] = {"DOCKER_HOST=tcp://dockerd.internal:2376",
	    "DOCKER_TLS_VERIFY=1", fmt("DOCKER_CERT_PATH=%s", tmpdir),
	    NULL};

	ld_run(&l, "", env);
	ck_clean(&l);
	ck_assert_int_eq(l.ir->upstream.source, SG_EPSRC_DOCKER_HOST);
	ck_assert(!l.ir->upstream.endpoints_configured);
	ck_assert_uint_eq(l.ir->upstream.nendpoints, 1);
	e = &l.ir->upstream.endpoints[0];
	ck_assert_int_eq(e->kind, SG_EP_TCP);
	ck_assert_str_eq(e->address, "tcp://dockerd.internal:2376");
	ck_assert_str_eq(e->host, "dockerd.internal");
	ck_assert_str_eq(e->port, "2376");
	ck_assert_str_eq(e->ca_file, p_ca);
	ck_assert_str_eq(e->cert_file, p_cert);
	ck_assert_str_eq(e->key_file, p_key);
	ck_assert_ptr_null(e->server_name);
	ck_assert(e->tls);
	ck_assert(!e->insecure_skip_tls_verify);
	ck_assert(!e->insecure_allow_plain_tcp);
	ck_assert_str_eq(e->loc.file, "env:DOCKER_HOST");
	ck_assert_uint_eq(e->loc.line, 0);
	ld_free(&l);
}
END_TEST

START_TEST(docker_verify_without_cert_path)
{
	struct ld l;
	const struct sg_ir_endpoint *e;
	/* Any non-empty value counts as set, even "0". */
	char *env[] = {"DOCKER_HOST=tcp://dockerd:2376", "DOCKER_TLS_VERIFY=0",
	    "DOCKER_CERT_PATH=  ", NULL};

	ld_run(&l, "", env);
	ck_clean(&l);
	ck_assert_int_eq(l.ir->upstream.source, SG_EPSRC_DOCKER_HOST);
	e = &l.ir->upstream.endpoints[0];
	/* Verified against the system roots, no client certificate. */
	ck_assert(e->tls);
	ck_assert_ptr_null(e->ca_file);
	ck_assert_ptr_null(e->cert_file);
	ck_assert_ptr_null(e->key_file);
	ck_assert(!e->insecure_skip_tls_verify);
	ck_assert(!e->insecure_allow_plain_tcp);
	ld_free(&l);
}
END_TEST

START_TEST(docker_cert_path_without_verify)
{
	struct ld l;
	const struct sg_ir_endpoint *e;
	/* Empty = unset; the cert path is trimmed, a trailing / is fine. */
	char *env[] = {"DOCKER_HOST=tcp://dockerd:2376", "DOCKER_TLS_VERIFY=",
	    fmt("DOCKER_CERT_PATH= %s/ ", tmpdir), NULL};

	ld_run(&l, "", env);
	ck_ok(&l);
	e = &l.ir->upstream.endpoints[0];
	ck_assert(e->tls);
	ck_assert(e->insecure_skip_tls_verify);
	ck_assert(!e->insecure_allow_plain_tcp);
	ck_assert_ptr_null(e->ca_file); /* not read when not verifying */
	ck_assert_str_eq(e->cert_file, p_cert);
	ck_assert_str_eq(e->key_file, p_key);
	ck_exact(&l, fmt("env:DOCKER_HOST: warning: DOCKER_HOST "
	    "tcp://dockerd:2376: TLS with the client certificate from "
	    "DOCKER_CERT_PATH, but the daemon's server certificate is not "
	    "verified because DOCKER_TLS_VERIFY is not set (same as "
	    "insecure_skip_tls_verify); set DOCKER_TLS_VERIFY=1 to verify it "
	    "against %s", p_ca));
	ck_nwarn(&l, 1);
	ld_free(&l);
}
END_TEST

START_TEST(docker_plaintext)
{
	struct ld l;
	const struct sg_ir_endpoint *e;
	char *env[] = {"DOCKER_HOST=\t tcp://10.0.0.7:2375\n", NULL};

	ld_run(&l, "", env);
	ck_ok(&l);
	ck_assert_int_eq(l.ir->upstream.source, SG_EPSRC_DOCKER_HOST);
	e = &l.ir->upstream.endpoints[0];
	ck_assert_str_eq(e->address, "tcp://10.0.0.7:2375");
	ck_assert(!e->tls);
	ck_assert(e->insecure_allow_plain_tcp);
	ck_assert(!e->insecure_skip_tls_verify);
	ck_exact(&l, "env:DOCKER_HOST: warning: DOCKER_HOST "
	    "tcp://10.0.0.7:2375: plaintext TCP because neither "
	    "DOCKER_TLS_VERIFY nor DOCKER_CERT_PATH is set (same as "
	    "insecure_allow_plain_tcp): the Docker API crosses the network "
	    "unencrypted and unauthenticated");
	ck_nwarn(&l, 1);
	ld_free(&l);
}
END_TEST

START_TEST(docker_host_falls_through)
{
	static const char *const quiet[] = {"unix:///var/run/other.sock",
	    "/var/run/other.sock", "   "};
	struct ld l;
	size_t i;

	for (i = 0; i < SG_ARRAY_LEN(quiet); i++) {
		char *env[] = {fmt("DOCKER_HOST=%s", quiet[i]),
		    "DOCKER_TLS_VERIFY=1", NULL};

		ld_run(&l, "upstream:\n  socket: /run/mine.sock\n", env);
		ck_clean(&l);
		/* unix:// does not change upstream.socket. */
		ck_assert_int_eq(l.ir->upstream.source, SG_EPSRC_SOCKET);
		ck_assert_uint_eq(l.ir->upstream.nendpoints, 1);
		ck_assert_str_eq(l.ir->upstream.endpoints[0].path,
		    "/run/mine.sock");
		ld_free(&l);
	}
}
END_TEST

/*
 * Seed: only an unset or unix:// DOCKER_HOST falls through to the local
 * socket. Any other value names a daemon sockguard cannot reach as
 * written: an error, never a silent fallback (nor, for https://, a
 * silent plaintext connection).
 */
#define DH_ACCEPTED "DOCKER_HOST must be tcp://HOST:PORT (TLS from " \
	"DOCKER_TLS_VERIFY and DOCKER_CERT_PATH), or unix:///path or unset " \
	"for upstream.socket"

static const struct {
	const char *host;
	const char *err; /* the exact error */
} docker_bad_hosts[] = {
	{"https://d:2376", "DOCKER_HOST \"https://d:2376\": the https:// "
	    "scheme is not accepted (the Docker CLI refuses it too); write "
	    "tcp://d:2376 and choose TLS with DOCKER_TLS_VERIFY and "
	    "DOCKER_CERT_PATH; " DH_ACCEPTED},
	{"http://d:2375", "DOCKER_HOST \"http://d:2375\": the http:// scheme "
	    "is not accepted (the Docker CLI refuses it too); write "
	    "tcp://d:2375 and choose TLS with DOCKER_TLS_VERIFY and "
	    "DOCKER_CERT_PATH; " DH_ACCEPTED},
	{"HTTPS://d:2376", NULL},
	{"ssh://me@build-host", "DOCKER_HOST \"ssh://me@build-host\": the "
	    "ssh:// scheme is not supported by sockguard; " DH_ACCEPTED},
	{"fd://", NULL},
	{"npipe:////./pipe/docker_engine", NULL},
	{"dockerd:2376", "DOCKER_HOST \"dockerd:2376\" has no scheme; write "
	    "tcp://dockerd:2376 for a TCP daemon; " DH_ACCEPTED},
	{"tcp://user@d:1", "DOCKER_HOST \"tcp://user@d:1\": TCP address must "
	    "not contain user information, got \"tcp://user@d:1\"; "
	    DH_ACCEPTED},
	{"tcp://d:2376/v1.41", NULL},
	{"tcp://d:0", NULL},
	{"tcp://d:", NULL},
	{"tcp://", NULL},
	{"tcp://:2376", NULL},
	{"tcp://::1:2376", NULL},
	{"garbage", NULL},
};

START_TEST(docker_host_unusable_is_error)
{
	struct ld l;
	char *env[] = {fmt("DOCKER_HOST=%s", docker_bad_hosts[_i].host),
	    NULL};
	char *env_tls[] = {env[0], "DOCKER_TLS_VERIFY=1", NULL};

	ld_run(&l, "", env);
	ck_fail(&l);
	ck_nerr(&l, 1);
	if (docker_bad_hosts[_i].err != NULL)
		ck_exact(&l, fmt("env:DOCKER_HOST: error: %s",
		    docker_bad_hosts[_i].err));
	else
		ck_diag_end(&l, "; " DH_ACCEPTED);
	ck_diag(&l, "env:DOCKER_HOST: error: ");
	ck_nwarn(&l, 0);
	ld_free(&l);

	/* TLS settings do not make it usable, nor an upstream.socket. */
	ld_run(&l, "upstream:\n  socket: /run/mine.sock\n", env_tls);
	ck_fail(&l);
	ck_nerr(&l, 1);
	ld_free(&l);
}
END_TEST

START_TEST(docker_host_without_port)
{
	struct ld l;
	const struct sg_ir_endpoint *e;
	char *env[] = {"DOCKER_HOST=tcp://dockerd", NULL};
	char *env_tls[] = {"DOCKER_HOST=tcp://dockerd/", "DOCKER_TLS_VERIFY=1",
	    NULL};
	char *env_v6[] = {"DOCKER_HOST=tcp://[2001:db8::1]", NULL};

	/* The Docker CLI's default port, 2375, as the CLI takes it. */
	ld_run(&l, "", env);
	ck_ok(&l);
	ck_assert_int_eq(l.ir->upstream.source, SG_EPSRC_DOCKER_HOST);
	e = &l.ir->upstream.endpoints[0];
	ck_assert_str_eq(e->address, "tcp://dockerd:2375");
	ck_assert_str_eq(e->host, "dockerd");
	ck_assert_str_eq(e->port, "2375");
	ck_assert(e->insecure_allow_plain_tcp);
	ck_nwarn(&l, 1); /* the plaintext row only */
	ld_free(&l);

	/* 2375 even with TLS, as the CLI; said, since 2376 is usual. */
	ld_run(&l, "", env_tls);
	ck_ok(&l);
	e = &l.ir->upstream.endpoints[0];
	ck_assert_str_eq(e->address, "tcp://dockerd:2375/");
	ck_assert_str_eq(e->port, "2375");
	ck_assert(e->tls);
	ck_exact(&l, "env:DOCKER_HOST: warning: DOCKER_HOST "
	    "\"tcp://dockerd/\" has no port: using tcp://dockerd:2375/, the "
	    "Docker CLI's default port, although TLS daemons usually listen "
	    "on 2376; write the port to be sure");
	ck_nwarn(&l, 1);
	ld_free(&l);

	ld_run(&l, "", env_v6);
	ck_ok(&l);
	e = &l.ir->upstream.endpoints[0];
	ck_assert_str_eq(e->host, "2001:db8::1");
	ck_assert_str_eq(e->port, "2375");
	ld_free(&l);
}
END_TEST

START_TEST(docker_host_bad_unix_warns)
{
	struct ld l;
	char *env[] = {"DOCKER_HOST=unix://relative.sock", NULL};

	/* unix:// falls through whatever its path: never used here. */
	ld_run(&l, "", env);
	ck_ok(&l);
	ck_exact(&l, "env:DOCKER_HOST: warning: DOCKER_HOST "
	    "\"unix://relative.sock\" is ignored (unix:// address must have an "
	    "empty host and an absolute path (three slashes, e.g. "
	    "unix:///var/run/docker.sock), got \"unix://relative.sock\"); "
	    "using upstream.socket");
	ck_assert_int_eq(l.ir->upstream.source, SG_EPSRC_SOCKET);
	ld_free(&l);
}
END_TEST

START_TEST(docker_precedence)
{
	struct ld l;
	char *env[] = {"DOCKER_HOST=tcp://remote:2375", NULL};

	/* upstream.endpoints beats DOCKER_HOST: no drop-in, no warning. */
	ld_run(&l, "upstream:\n  endpoints:\n    - address: /a.sock\n", env);
	ck_clean(&l);
	ck_assert_int_eq(l.ir->upstream.source, SG_EPSRC_ENDPOINTS);
	ck_assert_str_eq(l.ir->upstream.endpoints[0].path, "/a.sock");
	ld_free(&l);

	/* An empty list is not configured: DOCKER_HOST applies. */
	ld_run(&l, "upstream:\n  endpoints: []\n", env);
	ck_ok(&l);
	ck_assert_int_eq(l.ir->upstream.source, SG_EPSRC_DOCKER_HOST);
	ld_free(&l);

	/* DOCKER_HOST beats upstream.socket, which is said to be ignored. */
	ld_run(&l, "upstream:\n  socket: /run/mine.sock\n", env);
	ck_ok(&l);
	ck_assert_int_eq(l.ir->upstream.source, SG_EPSRC_DOCKER_HOST);
	ck_assert_str_eq(l.ir->upstream.endpoints[0].host, "remote");
	ck_assert_str_eq(l.ir->upstream.socket, "/run/mine.sock");
	ck_exact(&l, "t.yaml:2:11: warning: upstream.socket: upstream.socket "
	    "(t.yaml:2:11) is ignored because DOCKER_HOST "
	    "(tcp://remote:2375) names a TCP daemon; unset DOCKER_HOST to use "
	    "the socket");
	ck_nwarn(&l, 2); /* and the plaintext row */
	ld_free(&l);
}
END_TEST

START_TEST(docker_cert_path_errors)
{
	struct ld l;
	char *env[] = {"DOCKER_HOST=tcp://d:2376", "DOCKER_TLS_VERIFY=1",
	    fmt("DOCKER_CERT_PATH=%s", p_certdir), NULL};

	ld_run(&l, "", env);
	ck_fail(&l);
	ck_exact(&l, fmt("env:DOCKER_CERT_PATH: error: cannot read ca.pem from "
	    "DOCKER_CERT_PATH \"%s/ca.pem\": No such file or directory",
	    p_certdir));
	ck_exact(&l, fmt("env:DOCKER_CERT_PATH: error: cannot read cert.pem "
	    "from DOCKER_CERT_PATH \"%s/cert.pem\": No such file or directory",
	    p_certdir));
	ck_exact(&l, fmt("env:DOCKER_CERT_PATH: error: cannot read key.pem "
	    "from DOCKER_CERT_PATH \"%s/key.pem\": No such file or directory",
	    p_certdir));
	ck_nerr(&l, 3);
	ld_free(&l);
}
END_TEST

static const char *docker_fake_host;

static const char *
docker_fake_getenv(const char *name)
{
	if (strcmp(name, "DOCKER_HOST") == 0)
		return docker_fake_host;
	if (strcmp(name, "DOCKER_TLS_VERIFY") == 0)
		return "1";
	return NULL;
}

START_TEST(docker_through_getenv_hook)
{
	struct ld l;

	docker_fake_host = "tcp://[2001:db8::1]:2376";
	ld_init(&l, NULL);
	l.o.envp = NULL;
	l.o.getenv = docker_fake_getenv;
	ld_yaml(&l, "");
	ck_clean(&l);
	ck_assert_int_eq(l.ir->upstream.source, SG_EPSRC_DOCKER_HOST);
	ck_assert_str_eq(l.ir->upstream.endpoints[0].host, "2001:db8::1");
	ck_assert(l.ir->upstream.endpoints[0].tls);
	ld_free(&l);
}
END_TEST

/* ---- sg_ir_check on a hand-built IR (no per-field locations) ---- */

START_TEST(ir_check_hand_built_endpoints)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_cfg_flat f;
	struct sg_ir *ir;
	struct sg_ir_endpoint ep[2];
	char buf[1024];

	sg_diag_init(&d);
	ir = ld_defaults(a, &d);

	memset(&f, 0, sizeof(f));
	f.listen_address = "127.0.0.1:2375";
	f.listen_socket = "";
	f.listen_socket_mode = "0600";
	f.listen_socket_uid = INT64_MIN;
	f.listen_socket_gid = INT64_MIN;
	f.listen_max_connections = 4096;
	f.upstream_socket = "/var/run/docker.sock";
	f.log_level = "info";
	f.log_format = "json";
	f.log_output = "stderr";
	f.log_audit_format = "json";
	f.log_audit_output = "stderr";
	f.deny_verbosity = "minimal";
	f.health_path = "/health";
	f.rules_file = "";
	f.min_api_version = "1.24";
	f.rules_ok = true;
	f.upstream_health_interval = "-5s";

	memset(ep, 0, sizeof(ep));
	ep[0].kind = SG_EP_TCP;
	ep[0].address = "tcp://h:2376";
	ep[0].host = "h";
	ep[0].port = "2376";
	ep[0].loc = (struct sg_loc){"h.yaml", 4, 7};
	ep[1].kind = SG_EP_UNIX;
	ep[1].address = "/x.sock";
	ep[1].path = "/x.sock";
	ep[1].cert_file = p_cert;
	ep[1].loc = (struct sg_loc){"h.yaml", 6, 7};
	ir->upstream.endpoints = ep;
	ir->upstream.nendpoints = 2;
	ir->upstream.source = SG_EPSRC_ENDPOINTS;
	ir->upstream.endpoints_configured = true;

	ck_assert_int_eq(sg_ir_check(ir, &f, &d), -1);
	ck_assert_msg(d.nerr == 2, "%s", diag_dump(&d));
	sg_diag_format(&d.v[0], buf, sizeof(buf));
	ck_assert_str_eq(buf, "h.yaml:4:7: error: upstream.endpoints[0]: TCP "
	    "requires TLS (set tls.ca_file/cert_file/key_file) or "
	    "insecure_allow_plain_tcp: true");
	sg_diag_format(&d.v[1], buf, sizeof(buf));
	ck_assert_str_eq(buf, "h.yaml:6:7: error: upstream.endpoints[1]: TLS "
	    "settings are not valid for a unix socket (remove tls from this "
	    "endpoint)");
	ck_assert(ir->upstream.health_interval_ns == -5 * SG_NS_PER_SEC);
	ck_assert(ir->upstream.health_timeout_ns == 2 * SG_NS_PER_SEC);
	ck_assert(ir->upstream.request_timeout_ns == 0);
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

Suite *suite_upstream_cfg(void);

Suite *
suite_upstream_cfg(void)
{
	Suite *s = suite_create("upstream_cfg");
	TCase *te = tcase_create("endpoints");
	TCase *td = tcase_create("durations");
	TCase *tk = tcase_create("docker_env");

	tcase_add_checked_fixture(te, pem_setup, tmp_cleanup);
	tcase_add_test(te, defaults_single_socket);
	tcase_add_test(te, endpoints_lowered);
	tcase_add_test(te, endpoint_schema_errors);
	tcase_add_test(te, skip_verify_inside_tls);
	tcase_add_loop_test(te, address_grammar, 0,
	    (int)SG_ARRAY_LEN(addr_cases));
	tcase_add_test(te, address_parser_direct);
	tcase_add_test(te, tcp_requires_tls);
	tcase_add_test(te, cert_key_pairing);
	tcase_add_test(te, unix_rejects_tls);
	tcase_add_test(te, insecure_warnings);
	tcase_add_test(te, duplicate_endpoint_warns);
	tcase_add_test(te, pem_file_errors);
	tcase_add_test(te, pem_key_mismatch);
	tcase_add_test(te, many_errors_at_once);
	tcase_add_test(te, socket_ignored_with_endpoints);
	tcase_add_test(te, ir_check_hand_built_endpoints);
	suite_add_tcase(s, te);

	tcase_add_loop_test(td, health_interval_values, 0,
	    (int)SG_ARRAY_LEN(interval_cases));
	tcase_add_loop_test(td, health_timeout_values, 0,
	    (int)SG_ARRAY_LEN(timeout_cases));
	tcase_add_loop_test(td, request_timeout_values, 0,
	    (int)SG_ARRAY_LEN(request_cases));
	tcase_add_test(td, duration_env_overlay);
	suite_add_tcase(s, td);

	tcase_add_checked_fixture(tk, pem_setup, tmp_cleanup);
	tcase_add_test(tk, docker_verify_and_cert_path);
	tcase_add_test(tk, docker_verify_without_cert_path);
	tcase_add_test(tk, docker_cert_path_without_verify);
	tcase_add_test(tk, docker_plaintext);
	tcase_add_test(tk, docker_host_falls_through);
	tcase_add_loop_test(tk, docker_host_unusable_is_error, 0,
	    SG_ARRAY_LEN(docker_bad_hosts));
	tcase_add_test(tk, docker_host_without_port);
	tcase_add_test(tk, docker_host_bad_unix_warns);
	tcase_add_test(tk, docker_precedence);
	tcase_add_test(tk, docker_cert_path_errors);
	tcase_add_test(tk, docker_through_getenv_hook);
	suite_add_tcase(s, tk);
	return s;
}
