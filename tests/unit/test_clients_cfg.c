/* SPDX-License-Identifier: MIT */
/*
 * test_clients_cfg.c: listeners and client profiles in the config
 * loader (SPEC 2.4, 3.8, 3.15): the listen.tls keys and their mutual-TLS
 * checks (PEM files generated here with OpenSSL), listeners: with names,
 * bind targets and allowed_profiles, listen/listeners exclusivity,
 * client identity values (CIDRs, IPs, pins, URIs), clients.profiles and
 * the three assignment lists, the per-profile read-exfiltration probe,
 * and the per-profile policies of a compiled generation. Every load goes
 * through sg_cfg_load_bytes with an injected environment.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
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
#include "sockguard/conf.h"
#include "sockguard/policy.h"

#include "fixtures.h"

/* A profile named n that allows GET /_ping, as YAML list items at
 * indentation 4 (under clients: profiles:). */
#define PROFILE(n)                                                      \
	"    - name: " n "\n"                                             \
	"      rules:\n"                                                  \
	"        - match: {method: GET, path: /_ping}\n"                  \
	"          action: allow\n"

/* ---- PEM fixtures ---- */

static char p_ca[TMP_PATH_MAX], p_cert[TMP_PATH_MAX], p_key[TMP_PATH_MAX];
static char p_key2[TMP_PATH_MAX], p_text[TMP_PATH_MAX];
static char p_keyonly_ca[TMP_PATH_MAX], p_badfirst[TMP_PATH_MAX];

static void
pem_setup(void)
{
	EVP_PKEY *k = pem_ec_key(), *k2 = pem_ec_key();
	X509 *ca, *srv;
	FILE *fp;

	tmp_setup("cl");
	ca = pem_selfsigned(k2, "clients-ca");
	srv = pem_selfsigned(k, "sockguard.internal");

	pem_cert(p_ca, "ca.pem", ca);
	pem_cert(p_cert, "server.pem", srv);
	pem_key(p_key, "server-key.pem", k);
	pem_key(p_key2, "other-key.pem", k2);
	tmp_text(p_text, "notpem.txt", "this is not a certificate\n");
	/* A private key where the CA bundle belongs. */
	pem_key(p_keyonly_ca, "key-as-ca.pem", k2);
	/* An unusable block before a good one: skipped, like a cert pool. */
	fp = tmp_open(p_badfirst, "bad-then-good.pem");
	fputs("-----BEGIN CERTIFICATE-----\nAAAAbm90IGEgY2VydA==\n"
	    "-----END CERTIFICATE-----\n", fp);
	ck_assert_int_eq(PEM_write_X509(fp, ca), 1);
	fclose(fp);

	X509_free(ca);
	X509_free(srv);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
}

/* A complete tls: block with the fixture files, at indentation ind. */
static const char *
tls_block(int ind)
{
	return fmt("%*stls:\n"
	    "%*s  cert_file: %s\n"
	    "%*s  key_file: %s\n"
	    "%*s  client_ca_file: %s\n", ind, "", ind, "", p_cert, ind, "",
	    p_key, ind, "", p_ca);
}

/* ---- the legacy listen: block ---- */

START_TEST(legacy_listener_lowered)
{
	struct ld l;
	const struct sg_ir_listener *ls;

	ld_run(&l, "", NULL);
	ck_clean(&l);
	ck_assert_uint_eq(l.ir->nlisteners, 1);
	ls = &l.ir->listeners[0];
	ck_assert_str_eq(ls->name, "default");
	ck_assert(!ls->named);
	ck_assert(ls->admit_all);
	ck_assert_uint_eq(ls->allowed_profiles.n, 0);
	ck_assert(!ls->tls.enabled);
	ck_assert_ptr_null(ls->tls.cert_file);
	ck_assert_ptr_null(ls->tls.key_file);
	ck_assert_ptr_null(ls->tls.client_ca_file);
	ck_assert_uint_eq(ls->tls.sel.common_names.n, 0);
	ck_assert_uint_eq(l.ir->clients.nprofiles, 0);
	ck_assert_uint_eq(l.ir->clients.nallowed_cidrs, 0);
	ck_assert_str_eq(l.ir->clients.default_profile, "");
	ld_free(&l);
}
END_TEST

START_TEST(legacy_tls_complete)
{
	struct ld l;
	const struct sg_ir_tls_server *t;

	ld_run(&l, fmt("listen:\n  address: 10.1.2.3:2376\n%s"
	    "    common_names: [\" ci-runner \", ops]\n"
	    "    ip_addresses: [\"::ffff:10.0.0.1\", 2001:DB8:0:0::1]\n"
	    "    uri_sans: [\"SPIFFE://corp/ci\"]\n"
	    "    public_key_sha256_pins:\n"
	    "      - \"sha256:%s\"\n", tls_block(2),
	    "ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789"),
	    NULL);
	ck_clean(&l);
	t = &l.ir->listeners[0].tls;
	ck_assert(t->enabled);
	ck_assert_str_eq(t->cert_file, p_cert);
	ck_assert_str_eq(t->key_file, p_key);
	ck_assert_str_eq(t->client_ca_file, p_ca);
	ck_assert_uint_eq(t->sel.common_names.n, 2);
	ck_assert_str_eq(t->sel.common_names.v[0], "ci-runner");
	ck_assert_str_eq(t->sel.common_names.v[1], "ops");
	ck_assert_uint_eq(t->sel.ip_addresses.n, 2);
	ck_assert_str_eq(t->sel.ip_addresses.v[0], "10.0.0.1");
	ck_assert_str_eq(t->sel.ip_addresses.v[1], "2001:db8::1");
	ck_assert_str_eq(t->sel.uri_sans.v[0], "spiffe://corp/ci");
	ck_assert_str_eq(t->sel.public_key_sha256_pins.v[0],
	    "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	ck_assert_uint_eq(t->sel.spiffe_ids.n, 0);
	ld_free(&l);
}
END_TEST

START_TEST(legacy_tls_incomplete)
{
	struct ld l;
	char *env[] = {"SOCKGUARD_LISTEN_TLS_DNS_NAMES=a.example,b.example",
	    NULL};

	/* Any tls key enables TLS; the three files go together. */
	ld_run(&l, "listen:\n  address: 127.0.0.1:2376\n  tls:\n"
	    "    cert_file: /etc/sg/cert.pem\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:3:3: error: listen.tls: listen.tls requires "
	    "cert_file, key_file, and client_ca_file together");
	ck_nerr(&l, 1);
	ld_free(&l);

	ld_run(&l, "", env);
	ck_fail(&l);
	ck_exact(&l, "env:SOCKGUARD_LISTEN_TLS_DNS_NAMES: error: listen.tls: "
	    "listen.tls requires cert_file, key_file, and client_ca_file "
	    "together");
	ck_nerr(&l, 1);
	ld_free(&l);

	/* Empty TLS strings are "not set". */
	ld_run(&l, "listen:\n  tls:\n    cert_file: \"\"\n    uri_sans: []\n",
	    NULL);
	ck_clean(&l);
	ck_assert(!l.ir->listeners[0].tls.enabled);
	ld_free(&l);
}
END_TEST

START_TEST(legacy_tls_on_unix)
{
	struct ld l;

	ld_run(&l, fmt("listen:\n  socket: /run/sg.sock\n%s", tls_block(2)),
	    NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:3:3: error: listen.tls: listen.tls is only valid "
	    "for TCP listeners");
	ck_nerr(&l, 1);
	ld_free(&l);
}
END_TEST

/* SPEC 2.4.3: beyond loopback, complete mTLS or both acknowledgments. */
START_TEST(loopback_rule_honours_tls)
{
	static const char *const msg = "requires listen.tls mutual TLS "
	    "configuration, or \xe2\x80\x94 for legacy plaintext on a private "
	    "trusted network \xe2\x80\x94 both "
	    "listen.insecure_allow_plain_tcp=true and "
	    "listen.insecure_allow_unauthenticated_clients=true (one "
	    "acknowledgment without the other is rejected)";
	struct ld l;

	ld_run(&l, "listen:\n  address: 0.0.0.0:2376\n"
	    "  insecure_allow_plain_tcp: true\n", NULL);
	ck_fail(&l);
	ck_exact(&l, fmt("t.yaml:2:12: error: listen.address: non-loopback "
	    "TCP listener \"0.0.0.0:2376\" %s", msg));
	ld_free(&l);

	ld_run(&l, fmt("listen:\n  address: 0.0.0.0:2376\n%s", tls_block(2)),
	    NULL);
	ck_clean(&l);
	ld_free(&l);

	/* both acknowledgments: accepted, and said out loud */
	ld_run(&l, "listen:\n  address: 0.0.0.0:2376\n"
	    "  insecure_allow_plain_tcp: true\n"
	    "  insecure_allow_unauthenticated_clients: true\n", NULL);
	ck_ok(&l);
	ck_exact(&l, "t.yaml:2:12: warning: listen.address: listen serves the "
	    "Docker API over plaintext TCP on 0.0.0.0:2376 without "
	    "authenticating clients (insecure_allow_plain_tcp and "
	    "insecure_allow_unauthenticated_clients): anyone who can reach it "
	    "gets what the rules allow, unencrypted; use it only on a "
	    "private, trusted network, or configure listen.tls");
	ld_free(&l);

	/* next to complete TLS they change nothing: said too */
	ld_run(&l, fmt("listen:\n  address: 0.0.0.0:2376\n"
	    "  insecure_allow_plain_tcp: true\n"
	    "  insecure_allow_unauthenticated_clients: true\n%s",
	    tls_block(2)), NULL);
	ck_ok(&l);
	ck_exact(&l, "t.yaml:3:29: warning: listen.insecure_allow_plain_tcp: "
	    "listen.insecure_allow_plain_tcp has no effect: TLS is configured");
	ck_exact(&l, "t.yaml:4:43: warning: "
	    "listen.insecure_allow_unauthenticated_clients: "
	    "listen.insecure_allow_unauthenticated_clients has no effect: TLS "
	    "is configured, and it requires client certificates");
	ld_free(&l);

	/* on loopback, plaintext needs no acknowledgment and gets no warning */
	ld_run(&l, "listen:\n  address: 127.0.0.1:2376\n", NULL);
	ck_clean(&l);
	ld_free(&l);

	/* Per listener, named by its label. */
	ld_run(&l, "listeners:\n"
	    "  - name: remote\n"
	    "    address: 192.0.2.10:2376\n"
	    "    insecure_allow_unauthenticated_clients: true\n"
	    "    allowed_profiles: [\"*\"]\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:3:14: error: listeners[0].address: non-loopback "
	    "TCP listener \"192.0.2.10:2376\" requires listeners[remote].tls "
	    "mutual TLS configuration, or \xe2\x80\x94 for legacy plaintext "
	    "on a private trusted network \xe2\x80\x94 both "
	    "listeners[remote].insecure_allow_plain_tcp=true and "
	    "listeners[remote].insecure_allow_unauthenticated_clients=true "
	    "(one acknowledgment without the other is rejected)");
	ck_nerr(&l, 1);
	ld_free(&l);

	ld_run(&l, fmt("listeners:\n"
	    "  - name: remote\n"
	    "    address: 192.0.2.10:2376\n"
	    "%s"
	    "    allowed_profiles: [\"*\"]\n", tls_block(4)), NULL);
	ck_clean(&l);
	ck_assert(l.ir->listeners[0].tls.enabled);
	ld_free(&l);
}
END_TEST

/* ---- mutual TLS files, at config time (SPEC 2.4.4) ---- */

START_TEST(tls_constructive_errors)
{
	struct ld l;

	ld_run(&l, fmt("listen:\n  address: 127.0.0.1:2376\n  tls:\n"
	    "    cert_file: %s/missing.pem\n"
	    "    key_file: %s\n"
	    "    client_ca_file: %s/missing-ca.pem\n", tmpdir, p_text,
	    tmpdir), NULL);
	ck_fail(&l);
	ck_exact(&l, fmt("t.yaml:4:16: error: listen.tls.cert_file: load "
	    "listen.tls cert/key pair: cannot read cert_file "
	    "\"%s/missing.pem\": No such file or directory", tmpdir));
	ck_exact(&l, fmt("t.yaml:5:15: error: listen.tls.key_file: load "
	    "listen.tls cert/key pair: key_file \"%s\" contains no PEM "
	    "private key (expected a -----BEGIN PRIVATE KEY----- block)",
	    p_text));
	ck_exact(&l, fmt("t.yaml:6:21: error: listen.tls.client_ca_file: read "
	    "listen.tls client_ca_file: %s/missing-ca.pem: No such file or "
	    "directory", tmpdir));
	ck_nerr(&l, 3);
	ld_free(&l);

	/* A key that is not the certificate's; a CA file without certs. */
	ld_run(&l, fmt("listen:\n  address: 127.0.0.1:2376\n  tls:\n"
	    "    cert_file: %s\n"
	    "    key_file: %s\n"
	    "    client_ca_file: %s\n", p_cert, p_key2, p_keyonly_ca), NULL);
	ck_fail(&l);
	ck_exact(&l, fmt("t.yaml:5:15: error: listen.tls.key_file: load "
	    "listen.tls cert/key pair: key_file \"%s\" does not match "
	    "cert_file \"%s\": the private key is not the certificate's key",
	    p_key2, p_cert));
	ck_exact(&l, "t.yaml:6:21: error: listen.tls.client_ca_file: parse "
	    "listen.tls client_ca_file: no PEM certificates found");
	ck_nerr(&l, 2);
	ld_free(&l);

	/* Per listener: the label in the prefix, the index in the key. */
	ld_run(&l, fmt("listeners:\n"
	    "  - name: ops\n"
	    "    address: 127.0.0.1:2376\n"
	    "    tls:\n"
	    "      cert_file: %s\n"
	    "      key_file: %s\n"
	    "      client_ca_file: %s\n"
	    "    allowed_profiles: [\"*\"]\n", p_text, p_key, p_text), NULL);
	ck_fail(&l);
	ck_exact(&l, fmt("t.yaml:5:18: error: listeners[0].tls.cert_file: load "
	    "listeners[ops].tls cert/key pair: cert_file \"%s\" contains no "
	    "PEM certificate (expected at least one -----BEGIN "
	    "CERTIFICATE----- block)", p_text));
	ck_exact(&l, "t.yaml:7:23: error: listeners[0].tls.client_ca_file: "
	    "parse listeners[ops].tls client_ca_file: no PEM certificates "
	    "found");
	ck_nerr(&l, 2);
	ld_free(&l);

	/* An unusable block is skipped when a good certificate follows. */
	ld_run(&l, fmt("listen:\n  address: 127.0.0.1:2376\n  tls:\n"
	    "    cert_file: %s\n"
	    "    key_file: %s\n"
	    "    client_ca_file: %s\n", p_cert, p_key, p_badfirst), NULL);
	ck_clean(&l);
	ld_free(&l);
}
END_TEST

/* ---- certificate selectors (SPEC 2.4.4) ---- */

START_TEST(tls_selector_errors)
{
	struct ld l;
	char *env[] = {"SOCKGUARD_LISTEN_TLS_COMMON_NAMES=a,,b",
	    "SOCKGUARD_LISTEN_TLS_IP_ADDRESSES=10.0.0.1, 10.0.0.300", NULL};

	ld_run(&l, fmt("listen:\n  address: 127.0.0.1:2376\n%s"
	    "    dns_names: [\"  \"]\n"
	    "    ip_addresses: [\"fe80::1%%eth0\", 1.2.3]\n"
	    "    uri_sans: [\"no scheme\", \"x:\", \"1ab:c\", urn:ok]\n"
	    "    public_key_sha256_pins: [abc, \"sha256:%s\", \"%s\"]\n",
	    tls_block(2),
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"),
	    NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:7:17: error: listen.tls.dns_names: "
	    "listen.tls.dns_names entries must be non-empty");
	ck_exact(&l, "t.yaml:8:20: error: listen.tls.ip_addresses: "
	    "listen.tls.ip_addresses entries must be valid IP addresses, got "
	    "\"fe80::1%eth0\"");
	ck_exact(&l, "t.yaml:8:36: error: listen.tls.ip_addresses: "
	    "listen.tls.ip_addresses entries must be valid IP addresses, got "
	    "\"1.2.3\"");
	ck_exact(&l, "t.yaml:9:16: error: listen.tls.uri_sans: "
	    "listen.tls.uri_sans entries must be valid URIs, got \"no "
	    "scheme\"");
	ck_diag(&l, "t.yaml:9:29: error: listen.tls.uri_sans: "
	    "listen.tls.uri_sans entries must be valid URIs, got \"x:\"");
	ck_diag(&l, "t.yaml:9:35: error: listen.tls.uri_sans: "
	    "listen.tls.uri_sans entries must be valid URIs, got \"1ab:c\"");
	ck_diag(&l, "t.yaml:10:30: error: listen.tls.public_key_sha256_pins: "
	    "listen.tls.public_key_sha256_pins entries must be hex SHA-256 "
	    "digests of the certificate's public key (64 hex digits, optional "
	    "sha256: prefix), got \"abc\"");
	ck_diag(&l, "listen.tls.public_key_sha256_pins entries must be hex "
	    "SHA-256 digests of the certificate's public key (64 hex digits, "
	    "optional sha256: prefix), got \"sha256:0123");
	ck_diag(&l, "got \"0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0\"");
	ck_nerr(&l, 9);
	ld_free(&l);

	/* Environment lists: items are trimmed, empty ones rejected. */
	ld_run(&l, fmt("listen:\n  address: 127.0.0.1:2376\n%s", tls_block(2)),
	    env);
	ck_fail(&l);
	ck_exact(&l, "env:SOCKGUARD_LISTEN_TLS_COMMON_NAMES: error: "
	    "listen.tls.common_names: listen.tls.common_names entries must be "
	    "non-empty");
	ck_exact(&l, "env:SOCKGUARD_LISTEN_TLS_IP_ADDRESSES: error: "
	    "listen.tls.ip_addresses: listen.tls.ip_addresses entries must be "
	    "valid IP addresses, got \" 10.0.0.300\"");
	ck_nerr(&l, 2);
	ld_free(&l);
}
END_TEST

START_TEST(tls_selectors_from_env)
{
	struct ld l;
	char *env[] = {"SOCKGUARD_LISTEN_TLS_IP_ADDRESSES=10.0.0.1, ::1 ",
	    "SOCKGUARD_LISTEN_TLS_URI_SANS=spiffe://corp/a,urn:x:y",
	    "SOCKGUARD_LISTEN_TLS_PUBLIC_KEY_SHA256_PINS=SHA256:"
	    "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF",
	    NULL};
	const struct sg_ir_cert_sel *s;

	ld_run(&l, fmt("listen:\n  address: 127.0.0.1:2376\n%s", tls_block(2)),
	    env);
	ck_clean(&l);
	s = &l.ir->listeners[0].tls.sel;
	ck_assert_uint_eq(s->ip_addresses.n, 2);
	ck_assert_str_eq(s->ip_addresses.v[0], "10.0.0.1");
	ck_assert_str_eq(s->ip_addresses.v[1], "::1");
	ck_assert_uint_eq(s->uri_sans.n, 2);
	ck_assert_str_eq(s->uri_sans.v[1], "urn:x:y");
	ck_assert_str_eq(s->public_key_sha256_pins.v[0],
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
	ck_assert_str_eq(sg_ir_loc(l.ir, "listen.tls.ip_addresses")->file,
	    "env:SOCKGUARD_LISTEN_TLS_IP_ADDRESSES");
	ld_free(&l);
}
END_TEST

/* ---- client identity values (direct) ---- */

struct cidr_case {
	const char *in;
	int family;          /* 0: rejected */
	const char *addr;    /* network address, inet_ntop form */
	unsigned prefix;
};

static const struct cidr_case cidr_cases[] = {
	{"10.0.0.0/8", AF_INET, "10.0.0.0", 8},
	{"10.1.2.3/8", AF_INET, "10.0.0.0", 8},        /* host bits cleared */
	{"192.168.1.77/26", AF_INET, "192.168.1.64", 26},
	{"10.0.0.1", AF_INET, "10.0.0.1", 32},         /* bare IP: host */
	{"0.0.0.0/0", AF_INET, "0.0.0.0", 0},
	{"2001:db8::/32", AF_INET6, "2001:db8::", 32},
	{"2001:db8:ffff::1/33", AF_INET6, "2001:db8:8000::", 33},
	{"::1", AF_INET6, "::1", 128},
	{"::/0", AF_INET6, "::", 0},
	{"::ffff:10.0.0.0/104", AF_INET, "10.0.0.0", 8}, /* unmapped */
	{"::ffff:10.0.0.7", AF_INET, "10.0.0.7", 32},
	{"10.0.0.0/33", 0, NULL, 0},
	{"2001:db8::/129", 0, NULL, 0},
	{"10.0.0.0/08", 0, NULL, 0},
	{"10.0.0.0/", 0, NULL, 0},
	{"10.0.0.0/-1", 0, NULL, 0},
	{"10.0.0.0/8/8", 0, NULL, 0},
	{"10.0.0.0/ 8", 0, NULL, 0},
	{"/8", 0, NULL, 0},
	{"1.2.3/24", 0, NULL, 0},
	{"1.2.3.04/32", 0, NULL, 0},
	{"256.0.0.0/8", 0, NULL, 0},
	{"fe80::1%eth0/64", 0, NULL, 0},
	{"example.com/8", 0, NULL, 0},
	{"", 0, NULL, 0},
};

START_TEST(cidr_parse)
{
	const struct cidr_case *t = &cidr_cases[_i];
	struct sg_ir_cidr r;
	char buf[INET6_ADDRSTRLEN];
	int rc;

	memset(&r, 0xee, sizeof(r));
	rc = sg_cfg_cidr_parse(t->in, &r);
	if (t->family == 0) {
		ck_assert_msg(rc == -1, "%s accepted", t->in);
		return;
	}
	ck_assert_msg(rc == 0, "%s rejected", t->in);
	ck_assert_int_eq(r.family, t->family);
	ck_assert_uint_eq(r.prefix, t->prefix);
	ck_assert_ptr_nonnull(inet_ntop(r.family, r.addr, buf, sizeof(buf)));
	ck_assert_str_eq(buf, t->addr);
	if (r.family == AF_INET) {
		static const uint8_t zero[12];

		ck_assert_int_eq(memcmp(r.addr + 4, zero, 12), 0);
	}
}
END_TEST

START_TEST(ip_pin_uri_values)
{
	struct sg_arena *a = sg_arena_new();

	ck_assert_str_eq(sg_cfg_ip_canon(a, "10.0.0.1"), "10.0.0.1");
	ck_assert_str_eq(sg_cfg_ip_canon(a, "::ffff:192.0.2.1"), "192.0.2.1");
	ck_assert_str_eq(sg_cfg_ip_canon(a, "2001:0DB8:0000::0001"),
	    "2001:db8::1");
	ck_assert_str_eq(sg_cfg_ip_canon(a, "0:0:0:0:0:0:0:1"), "::1");
	ck_assert_ptr_null(sg_cfg_ip_canon(a, "10.0.0.256"));
	ck_assert_ptr_null(sg_cfg_ip_canon(a, "010.0.0.1"));
	ck_assert_ptr_null(sg_cfg_ip_canon(a, "fe80::1%lo"));
	ck_assert_ptr_null(sg_cfg_ip_canon(a, "host.example"));
	ck_assert_ptr_null(sg_cfg_ip_canon(a, ""));

	ck_assert_str_eq(sg_cfg_pin_norm(a, "sha256:ABCDEF0123456789ABCDEF0123"
	    "456789ABCDEF0123456789ABCDEF0123456789"),
	    "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	ck_assert_str_eq(sg_cfg_pin_norm(a, "SHA256:abcdef0123456789abcdef0123"
	    "456789abcdef0123456789abcdef0123456789"),
	    "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	ck_assert_ptr_null(sg_cfg_pin_norm(a, "abcdef"));
	ck_assert_ptr_null(sg_cfg_pin_norm(a, "sha1:abcdef0123456789abcdef0123"
	    "456789abcdef0123456789abcdef0123456789"));
	ck_assert_ptr_null(sg_cfg_pin_norm(a, "ab:cd:ef:01:23:45:67:89:ab:cd:"
	    "ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:"
	    "89"));
	ck_assert_ptr_null(sg_cfg_pin_norm(a, "zbcdef0123456789abcdef0123"
	    "456789abcdef0123456789abcdef0123456789"));

	ck_assert(sg_cfg_uri_ok("spiffe://corp/ci"));
	ck_assert(sg_cfg_uri_ok("urn:uuid:1234"));
	ck_assert(sg_cfg_uri_ok("a+b-c.d:x"));
	ck_assert(!sg_cfg_uri_ok("/just/a/path"));
	ck_assert(!sg_cfg_uri_ok("x:"));
	ck_assert(!sg_cfg_uri_ok("9p:x"));
	ck_assert(!sg_cfg_uri_ok("http://a b"));
	ck_assert(!sg_cfg_uri_ok(""));
	sg_arena_free(a);
}
END_TEST

/* ---- listeners: (SPEC 2.4.5) ---- */

START_TEST(listeners_lowered)
{
	struct ld l;
	const struct sg_ir_listener *a, *b;

	ld_run(&l, "listeners:\n"
	    "  - name: ci\n"
	    "    socket: /run/sg/ci.sock\n"
	    "    socket_mode: \"0660\"\n"
	    "    socket_uid: 0\n"
	    "    socket_gid: 1000\n"
	    "    allowed_profiles: [ci, ops]\n"
	    "  - name: local-ops\n"
	    "    address: 127.0.0.1:2376\n"
	    "    max_connections: 10\n"
	    "    allowed_profiles: [\"*\"]\n"
	    "clients:\n"
	    "  profiles:\n"
	    PROFILE("ci")
	    PROFILE("ops"), NULL);
	ck_clean(&l);
	ck_assert_uint_eq(l.ir->nlisteners, 2);
	a = &l.ir->listeners[0];
	b = &l.ir->listeners[1];
	ck_assert_str_eq(a->name, "ci");
	ck_assert(a->named);
	ck_assert_str_eq(a->socket, "/run/sg/ci.sock");
	ck_assert_str_eq(a->address, "");
	ck_assert_uint_eq(a->socket_mode, 0660);
	ck_assert_int_eq(a->socket_uid, 0);
	ck_assert_int_eq(a->socket_gid, 1000);
	ck_assert_uint_eq(a->max_connections, 4096);
	ck_assert(!a->admit_all);
	ck_assert_uint_eq(a->allowed_profiles.n, 2);
	ck_assert_str_eq(a->allowed_profiles.v[1], "ops");
	ck_assert_uint_eq(a->loc.line, 2);
	ck_assert_str_eq(b->name, "local-ops");
	ck_assert(b->named);
	ck_assert_str_eq(b->socket, "");
	ck_assert_str_eq(b->address, "127.0.0.1:2376");
	ck_assert_uint_eq(b->socket_mode, 0600);
	ck_assert_int_eq(b->socket_uid, -1);
	ck_assert_uint_eq(b->max_connections, 10);
	ck_assert(b->admit_all);
	ck_assert(!b->tls.enabled);
	ck_assert_uint_eq(sg_ir_loc(l.ir, "listeners")->line, 1);
	ld_free(&l);
}
END_TEST

START_TEST(listeners_schema_errors)
{
	struct ld l;

	ld_run(&l, "listeners:\n"
	    "  - just-a-name\n"
	    "  - name: b\n"
	    "    sokcet: /run/b.sock\n"
	    "    socket_uid: root\n"
	    "    insecure_allow_plain_tcp: maybe\n"
	    "    allowed_profiles: b\n"
	    "    tls: yes\n"
	    "    max_connections: [1]\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:2:5: error: listeners[0]: expected a mapping "
	    "with name, socket or address, and allowed_profiles, got a "
	    "scalar");
	ck_exact(&l, "t.yaml:4:5: error: listeners[1].sokcet: unknown key "
	    "\"listeners[1].sokcet\"; did you mean \"listeners[1].socket\"?");
	ck_exact(&l, "t.yaml:5:17: error: listeners[1].socket_uid: expected "
	    "an integer, got \"root\"");
	ck_exact(&l, "t.yaml:6:31: error: listeners[1].insecure_allow_plain_"
	    "tcp: expected a boolean (true or false), got \"maybe\"");
	ck_exact(&l, "t.yaml:7:23: error: listeners[1].allowed_profiles: "
	    "expected a list of strings, got a scalar; write it as [b]");
	ck_exact(&l, "t.yaml:8:10: error: listeners[1].tls: expected a "
	    "mapping with cert_file, key_file, client_ca_file and the client "
	    "certificate selectors, got a scalar");
	ck_exact(&l, "t.yaml:9:22: error: listeners[1].max_connections: "
	    "expected an integer, got a sequence");
	/* the entry itself: neither socket nor address, no profiles */
	ck_exact(&l, "t.yaml:3:5: error: listeners[1]: listeners[b]: exactly "
	    "one of socket or address is required");
	ck_exact(&l, "t.yaml:7:5: error: listeners[1].allowed_profiles: "
	    "listeners[b].allowed_profiles must contain at least one profile "
	    "name (or the wildcard \"*\")");
	/* nothing more about an entry that is not a mapping */
	ck_nerr(&l, 9);
	ld_free(&l);

	ld_run(&l, "listeners: {name: a}\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:1:12: error: listeners: expected a sequence of "
	    "listeners, got a mapping");
	ld_free(&l);

	/* An empty list is "not configured": the listen: block applies. */
	ld_run(&l, "listeners: []\nlisten:\n  socket: /run/x.sock\n", NULL);
	ck_clean(&l);
	ck_assert(!l.ir->listeners[0].named);
	ck_assert_str_eq(l.ir->listeners[0].socket, "/run/x.sock");
	ld_free(&l);
}
END_TEST

#define EXCL "listen and listeners are mutually exclusive; migrate the " \
	"listen: block into a single-entry listeners: list"
#define ONE_LISTENER "listeners:\n  - name: a\n    socket: /run/a.sock\n" \
	"    allowed_profiles: [\"*\"]\n"

START_TEST(listen_listeners_exclusive_yaml)
{
	struct ld l;

	ld_run(&l, "upstream: {socket: /run/d.sock}\n"
	    "listen:\n  socket_mode: \"0600\"\n" ONE_LISTENER, NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:2:1: error: listen: " EXCL);
	ck_nerr(&l, 1);
	ld_free(&l);

	/* Even an empty listen: block was written. */
	ld_run(&l, "listen: {}\n" ONE_LISTENER, NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:1:1: error: listen: " EXCL);
	ld_free(&l);

	ld_run(&l, ONE_LISTENER, NULL);
	ck_clean(&l);
	ld_free(&l);
}
END_TEST

START_TEST(listen_listeners_exclusive_env)
{
	struct ld l;
	char *env[] = {"SOCKGUARD_LISTEN_ADDRESS=127.0.0.1:9999", NULL};
	char *empty[] = {"SOCKGUARD_LISTEN_ADDRESS=", NULL};
	char *tls[] = {"SOCKGUARD_LISTEN_TLS_COMMON_NAMES=x", NULL};

	ld_run(&l, ONE_LISTENER, env);
	ck_fail(&l);
	ck_exact(&l, "env:SOCKGUARD_LISTEN_ADDRESS: error: listen.address: "
	    EXCL);
	ck_nerr(&l, 1);
	ld_free(&l);

	ld_run(&l, ONE_LISTENER, tls);
	ck_fail(&l);
	ck_exact(&l, "env:SOCKGUARD_LISTEN_TLS_COMMON_NAMES: error: "
	    "listen.tls.common_names: " EXCL);
	ld_free(&l);

	/* Empty = unset (SPEC 2.2). */
	ld_run(&l, ONE_LISTENER, empty);
	ck_clean(&l);
	ld_free(&l);

	/* The --listen-socket flag counts too. */
	ld_init(&l, NULL);
	l.o.listen_socket = "/run/flag.sock";
	ld_yaml(&l, ONE_LISTENER);
	ck_fail(&l);
	ck_exact(&l, "flag:--listen-socket: error: listen.socket: " EXCL);
	ld_free(&l);
}
END_TEST

struct name_case {
	const char *name;   /* YAML scalar */
	const char *want;   /* NULL: accepted */
};

static const struct name_case name_cases[] = {
	{"ci", NULL},
	{"a-1-b", NULL},
	{"z", NULL},
	{"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk",
	    NULL}, /* 63 */
	{"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl",
	    "t.yaml:2:11: error: listeners[0].name: listeners[0].name "
	    "\"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"
	    "\" must match ^[a-z][a-z0-9-]{0,62}$"},
	{"CI", "t.yaml:2:11: error: listeners[0].name: listeners[0].name "
	    "\"CI\" must match ^[a-z][a-z0-9-]{0,62}$"},
	{"1ci", "t.yaml:2:11: error: listeners[0].name: listeners[0].name "
	    "\"1ci\" must match ^[a-z][a-z0-9-]{0,62}$"},
	{"c_i", "t.yaml:2:11: error: listeners[0].name: listeners[0].name "
	    "\"c_i\" must match ^[a-z][a-z0-9-]{0,62}$"},
	{"admin", "t.yaml:2:11: error: listeners[0].name: listeners[0].name "
	    "must not be \"admin\" (reserved for the dedicated admin "
	    "listener)"},
	{"\"\"", "t.yaml:2:11: error: listeners[0].name: listeners[0].name "
	    "is required"},
};

START_TEST(listener_names)
{
	const struct name_case *t = &name_cases[_i];
	struct ld l;

	ld_run(&l, fmt("listeners:\n  - name: %s\n    socket: /run/a.sock\n"
	    "    allowed_profiles: [\"*\"]\n", t->name), NULL);
	if (t->want == NULL) {
		ck_clean(&l);
	} else {
		ck_fail(&l);
		ck_exact(&l, t->want);
		ck_nerr(&l, 1);
	}
	ld_free(&l);
}
END_TEST

START_TEST(listener_name_missing_and_duplicate)
{
	struct ld l;

	ld_run(&l, "listeners:\n"
	    "  - socket: /run/a.sock\n"
	    "    allowed_profiles: [\"*\"]\n"
	    "  - name: b\n"
	    "    socket: /run/b.sock\n"
	    "    allowed_profiles: [\"*\"]\n"
	    "  - name: b\n"
	    "    socket: /run/c.sock\n"
	    "    allowed_profiles: [\"*\"]\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:2:5: error: listeners[0].name: listeners[0].name "
	    "is required");
	ck_exact(&l, "t.yaml:7:11: error: listeners[2].name: "
	    "listeners[*].name must be unique, got duplicate \"b\"");
	ck_nerr(&l, 2);
	ld_free(&l);
}
END_TEST

START_TEST(listener_count_cap)
{
	struct ld l;
	char yaml[8192];
	size_t n = 0;
	int i;

	n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "listeners:\n");
	for (i = 0; i < 33; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
		    "  - {name: l%d, socket: /run/l%d.sock, "
		    "allowed_profiles: [\"*\"]}\n", i, i);
	ld_run(&l, yaml, NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:1:1: error: listeners: listeners must contain at "
	    "most 32 entries, got 33");
	ck_nerr(&l, 1);
	ld_free(&l);

	/* 32 is fine. */
	yaml[strlen(yaml) - 1] = '\0';
	*strrchr(yaml, '\n') = '\0';
	ld_run(&l, yaml, NULL);
	ck_clean(&l);
	ck_assert_uint_eq(l.ir->nlisteners, 32);
	ld_free(&l);
}
END_TEST

START_TEST(listener_socket_address_rules)
{
	struct ld l;

	ld_run(&l, "listeners:\n"
	    "  - name: both\n"
	    "    socket: /run/a.sock\n"
	    "    address: 127.0.0.1:1\n"
	    "    allowed_profiles: [\"*\"]\n"
	    "  - name: neither\n"
	    "    allowed_profiles: [\"*\"]\n"
	    "  - name: tcp\n"
	    "    address: 127.0.0.1:2\n"
	    "    socket_uid: 0\n"
	    "    socket_gid: 5\n"
	    "    allowed_profiles: [\"*\"]\n"
	    "  - name: unix\n"
	    "    socket: /run/u.sock\n"
	    "    socket_mode: \"0644\"\n"
	    "    socket_uid: -1\n"
	    "    tls: {client_ca_file: /x}\n"
	    "    allowed_profiles: [\"*\"]\n"
	    "  - name: group\n"
	    "    socket: /run/g.sock\n"
	    "    socket_mode: \"0660\"\n"
	    "    allowed_profiles: [\"*\"]\n"
	    "  - name: badaddr\n"
	    "    address: \"::1:2375\"\n"
	    "    max_connections: 0\n"
	    "    allowed_profiles: [\"*\"]\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:4:14: error: listeners[0]: listeners[both]: "
	    "exactly one of socket or address is required, got both");
	ck_exact(&l, "t.yaml:6:5: error: listeners[1]: listeners[neither]: "
	    "exactly one of socket or address is required");
	ck_exact(&l, "t.yaml:10:17: error: listeners[2].socket_uid: "
	    "listeners[tcp].socket_uid is only valid for unix listeners");
	ck_exact(&l, "t.yaml:11:17: error: listeners[2].socket_gid: "
	    "listeners[tcp].socket_gid is only valid for unix listeners");
	ck_exact(&l, "t.yaml:15:18: error: listeners[3].socket_mode: "
	    "listeners[unix].socket_mode must be \"0600\" or \"0660\" (the "
	    "latter requires listeners[unix].socket_gid), got \"0644\"");
	ck_exact(&l, "t.yaml:16:17: error: listeners[3].socket_uid: "
	    "listeners[unix].socket_uid must be >= 0, got -1");
	ck_exact(&l, "t.yaml:17:5: error: listeners[3].tls: listeners[unix].tls "
	    "is only valid for TCP listeners");
	ck_exact(&l, "t.yaml:21:18: error: listeners[4].socket_mode: "
	    "listeners[group].socket_mode \"0660\" requires "
	    "listeners[group].socket_gid to be set explicitly; omit socket_gid "
	    "and use \"0600\" for the default owner-only mode");
	ck_exact(&l, "t.yaml:24:14: error: listeners[5].address: "
	    "listeners[badaddr].address must be host:port with a numeric port "
	    "1-65535 (IPv6 hosts in brackets), got \"::1:2375\"");
	ck_exact(&l, "t.yaml:25:22: error: listeners[5].max_connections: "
	    "listeners[badaddr].max_connections must be between 1 and 1048576, "
	    "got 0");
	ck_nerr(&l, 10);
	ld_free(&l);
}
END_TEST

START_TEST(allowed_profiles_rules)
{
	struct ld l;

	ld_run(&l, "listeners:\n"
	    "  - name: a\n"
	    "    socket: /run/a.sock\n"
	    "  - name: b\n"
	    "    socket: /run/b.sock\n"
	    "    allowed_profiles: []\n"
	    "  - name: c\n"
	    "    socket: /run/c.sock\n"
	    "    allowed_profiles: [ci, \"*\"]\n"
	    "  - name: d\n"
	    "    socket: /run/d.sock\n"
	    "    allowed_profiles: [ci, ci, x, \" ci\"]\n"
	    "clients:\n"
	    "  profiles:\n"
	    PROFILE("ci"), NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:2:5: error: listeners[0].allowed_profiles: "
	    "listeners[a].allowed_profiles must contain at least one profile "
	    "name (or the wildcard \"*\")");
	ck_exact(&l, "t.yaml:6:5: error: listeners[1].allowed_profiles: "
	    "listeners[b].allowed_profiles must contain at least one profile "
	    "name (or the wildcard \"*\")");
	ck_exact(&l, "t.yaml:9:5: error: listeners[2].allowed_profiles: "
	    "listeners[c].allowed_profiles: \"*\" cannot be combined with "
	    "concrete profile names");
	ck_exact(&l, "t.yaml:12:28: error: listeners[3].allowed_profiles: "
	    "listeners[d].allowed_profiles must be unique, got duplicate "
	    "\"ci\"");
	ck_exact(&l, "t.yaml:12:32: error: listeners[3].allowed_profiles: "
	    "listeners[d].allowed_profiles must match a configured client "
	    "profile, got \"x\"");
	ck_exact(&l, "t.yaml:12:35: error: listeners[3].allowed_profiles: "
	    "listeners[d].allowed_profiles must match a configured client "
	    "profile, got \" ci\"");
	ck_nerr(&l, 6);
	ld_free(&l);
}
END_TEST

START_TEST(bind_targets_distinct)
{
	struct ld l;

	ld_run(&l, "listeners:\n"
	    "  - {name: a, socket: /run/a.sock, allowed_profiles: [\"*\"]}\n"
	    "  - {name: b, socket: /run/a.sock, allowed_profiles: [\"*\"]}\n"
	    "  - {name: c, address: \"127.0.0.1:2375\", "
	    "allowed_profiles: [\"*\"]}\n"
	    "  - {name: d, address: \"127.0.0.1:02375\", "
	    "allowed_profiles: [\"*\"]}\n"
	    "  - {name: e, address: \"[::1]:2375\", allowed_profiles: [\"*\"]}\n"
	    "  - {name: f, address: \"[0:0::0001]:2375\", "
	    "allowed_profiles: [\"*\"]}\n"
	    "  - {name: g, address: \"Sock.Example:1\", allowed_profiles: [a],\n"
	    "     insecure_allow_plain_tcp: true,\n"
	    "     insecure_allow_unauthenticated_clients: true}\n"
	    "  - {name: h, address: \"sock.example:1\", allowed_profiles: [a],\n"
	    "     insecure_allow_plain_tcp: true,\n"
	    "     insecure_allow_unauthenticated_clients: true}\n"
	    "  - {name: i, address: \"127.0.0.2:2375\", "
	    "allowed_profiles: [\"*\"]}\n"
	    "  - {name: j, socket: /run/j.sock, allowed_profiles: [\"*\"]}\n"
	    "  - {name: k, socket: /run/.//k.sock, allowed_profiles: [\"*\"]}\n"
	    "  - {name: l, socket: /run/k.sock, allowed_profiles: [\"*\"]}\n"
	    "  - {name: m, socket: /run/../k.sock, allowed_profiles: [\"*\"]}\n"
	    "  - {name: n, socket: /run/.k.sock, allowed_profiles: [\"*\"]}\n"
	    "  - {name: o, socket: k.sock, allowed_profiles: [\"*\"]}\n"
	    "  - {name: p, socket: ./k.sock, allowed_profiles: [\"*\"]}\n"
	    "clients:\n  profiles:\n" PROFILE("a"), NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:17:23: error: listeners[11].socket: "
	    "listeners[k].socket and listeners[l].socket must be distinct, "
	    "\"/run/.//k.sock\" and \"/run/k.sock\" name one file");
	ck_exact(&l, "t.yaml:21:23: error: listeners[15].socket: "
	    "listeners[o].socket and listeners[p].socket must be distinct, "
	    "\"k.sock\" and \"./k.sock\" name one file");
	ck_exact(&l, "t.yaml:3:23: error: listeners[1].socket: "
	    "listeners[a].socket and listeners[b].socket must be distinct, "
	    "both are \"/run/a.sock\"");
	ck_exact(&l, "t.yaml:5:24: error: listeners[3].address: "
	    "listeners[c].address and listeners[d].address must be distinct, "
	    "both are \"127.0.0.1:2375\"");
	ck_exact(&l, "t.yaml:7:24: error: listeners[5].address: "
	    "listeners[e].address and listeners[f].address must be distinct, "
	    "both are \"[::1]:2375\"");
	ck_exact(&l, "t.yaml:11:24: error: listeners[7].address: "
	    "listeners[g].address and listeners[h].address must be distinct, "
	    "both are \"Sock.Example:1\"");
	ck_nerr(&l, 6);
	ld_free(&l);
}
END_TEST

START_TEST(default_profile_not_admitted_warns)
{
	struct ld l;

	ld_run(&l, "listeners:\n"
	    "  - {name: ci, socket: /run/ci.sock, allowed_profiles: [ci]}\n"
	    "  - {name: ops, socket: /run/ops.sock, allowed_profiles: [ops]}\n"
	    "  - {name: all, socket: /run/all.sock, allowed_profiles: [\"*\"]}\n"
	    "clients:\n"
	    "  default_profile: ci\n"
	    "  profiles:\n"
	    PROFILE("ci")
	    PROFILE("ops"), NULL);
	ck_ok(&l);
	ck_exact(&l, "t.yaml:6:20: warning: clients.default_profile: "
	    "clients.default_profile \"ci\" is not admitted by listeners[ops] "
	    "(not in its allowed_profiles): clients there that fall back to it "
	    "are refused with 403");
	ck_nwarn(&l, 1);
	ld_free(&l);
}
END_TEST

/* ---- clients (SPEC 3.8, 3.15) ---- */

START_TEST(clients_lowered)
{
	struct ld l;
	const struct sg_ir_clients *cl;
	char buf[INET6_ADDRSTRLEN];

	ld_run(&l, fmt("listeners:\n"
	    "  - name: tcp\n"
	    "    address: 127.0.0.1:2376\n"
	    "%s"
	    "    allowed_profiles: [\"*\"]\n"
	    "  - name: unix\n"
	    "    socket: /run/u.sock\n"
	    "    allowed_profiles: [ci, ops]\n"
	    "clients:\n"
	    "  allowed_cidrs: [127.0.0.0/8, \" ::1 \"]\n"
	    "  default_profile: ops\n"
	    "  source_ip_profiles:\n"
	    "    - profile: ci\n"
	    "      cidrs: [10.9.8.7/16]\n"
	    "  client_certificate_profiles:\n"
	    "    - profile: ops\n"
	    "      common_names: [ops-cli]\n"
	    "      spiffe_ids: [\"spiffe://corp/ops\"]\n"
	    "      ip_addresses: [\"::FFFF:10.0.0.1\"]\n"
	    "  unix_peer_profiles:\n"
	    "    - profile: ci\n"
	    "      uids: [1000, 1001]\n"
	    "      gids: [0]\n"
	    "      pids: [42]\n"
	    "  profiles:\n"
	    "    - name: \" ci \"\n"
	    "      mode: WARN\n"
	    "      rules:\n"
	    "        - match: {method: \"get, head\", path: /_ping}\n"
	    "          action: allow\n"
	    "        - match: {method: \"*\", path: \"/**\"}\n"
	    "          action: deny\n"
	    "          reason: ci only\n"
	    "    - name: ops\n"
	    "      mode: \"\"\n"
	    "      rules:\n"
	    "        - match: {method: GET, path: /version}\n"
	    "          action: allow\n"
	    "    - name: audit\n"
	    "      mode: audit\n"
	    "      rules:\n"
	    "        - match: {method: GET, path: /info}\n"
	    "          action: allow\n", tls_block(4)), NULL);
	ck_clean(&l);
	cl = &l.ir->clients;
	ck_assert_uint_eq(cl->nallowed_cidrs, 2);
	ck_assert_int_eq(cl->allowed_cidrs[0].family, AF_INET);
	ck_assert_uint_eq(cl->allowed_cidrs[0].prefix, 8);
	ck_assert_str_eq(cl->allowed_cidrs[0].text, "127.0.0.0/8");
	ck_assert_int_eq(cl->allowed_cidrs[1].family, AF_INET6);
	ck_assert_uint_eq(cl->allowed_cidrs[1].prefix, 128);
	ck_assert_str_eq(cl->allowed_cidrs[1].text, "::1");
	ck_assert_str_eq(cl->default_profile, "ops");

	ck_assert_uint_eq(cl->nsource_ip, 1);
	ck_assert_str_eq(cl->source_ip[0].profile, "ci");
	ck_assert_uint_eq(cl->source_ip[0].ncidrs, 1);
	inet_ntop(AF_INET, cl->source_ip[0].cidrs[0].addr, buf, sizeof(buf));
	ck_assert_str_eq(buf, "10.9.0.0");
	ck_assert_uint_eq(cl->source_ip[0].cidrs[0].prefix, 16);
	ck_assert_uint_eq(cl->source_ip[0].loc.line, 16);

	ck_assert_uint_eq(cl->ncert, 1);
	ck_assert_str_eq(cl->cert[0].profile, "ops");
	ck_assert_str_eq(cl->cert[0].sel.common_names.v[0], "ops-cli");
	ck_assert_str_eq(cl->cert[0].sel.spiffe_ids.v[0], "spiffe://corp/ops");
	ck_assert_str_eq(cl->cert[0].sel.ip_addresses.v[0], "10.0.0.1");
	ck_assert_uint_eq(cl->cert[0].sel.dns_names.n, 0);

	ck_assert_uint_eq(cl->nunix_peer, 1);
	ck_assert_str_eq(cl->unix_peer[0].profile, "ci");
	ck_assert_uint_eq(cl->unix_peer[0].nuids, 2);
	ck_assert_int_eq(cl->unix_peer[0].uids[1], 1001);
	ck_assert_uint_eq(cl->unix_peer[0].ngids, 1);
	ck_assert_int_eq(cl->unix_peer[0].gids[0], 0);
	ck_assert_uint_eq(cl->unix_peer[0].npids, 1);
	ck_assert_int_eq(cl->unix_peer[0].pids[0], 42);

	ck_assert_uint_eq(cl->nprofiles, 3);
	ck_assert_str_eq(cl->profiles[0].name, "ci");
	ck_assert_int_eq(cl->profiles[0].mode, SG_MODE_WARN);
	ck_assert_uint_eq(cl->profiles[0].nrules, 2);
	ck_assert_uint_eq(cl->profiles[0].rules[0].nmethods, 2);
	ck_assert_str_eq(cl->profiles[0].rules[0].methods[1], "HEAD");
	ck_assert_str_eq(cl->profiles[0].rules[1].reason, "ci only");
	ck_assert(cl->profiles[0].rules[1].any_method);
	ck_assert_int_eq(cl->profiles[0].rules[1].action, SG_ACTION_DENY);
	ck_assert_uint_eq(cl->profiles[0].rules[0].loc.line, 32);
	ck_assert_int_eq(cl->profiles[1].mode, SG_MODE_ENFORCE);
	ck_assert_int_eq(cl->profiles[2].mode, SG_MODE_AUDIT);
	ck_assert_str_eq(cl->profiles[2].rules[0].path, "/info");
	/* the top-level rules are still the defaults */
	ck_assert(l.ir->rules_are_default);
	ld_free(&l);
}
END_TEST

START_TEST(clients_env)
{
	struct ld l;
	char *env[] = {"SOCKGUARD_CLIENTS_ALLOWED_CIDRS=10.0.0.0/8, 192.0.2.1",
	    "SOCKGUARD_CLIENTS_DEFAULT_PROFILE=ci", NULL};
	char *bad[] = {"SOCKGUARD_CLIENTS_ALLOWED_CIDRS=10.0.0.0/8,,x",
	    "SOCKGUARD_CLIENTS_PROFILES=ci",
	    "SOCKGUARD_CLIENTS_CONTAINER_LABELS_ENABLED=true",
	    "SOCKGUARD_CLIENTS_GLOBAL_CONCURRENCY_MAX_INFLIGHT=4", NULL};

	ld_run(&l, "clients:\n  profiles:\n" PROFILE("ci"), env);
	ck_clean(&l);
	ck_assert_uint_eq(l.ir->clients.nallowed_cidrs, 2);
	ck_assert_uint_eq(l.ir->clients.allowed_cidrs[1].prefix, 32);
	ck_assert_str_eq(l.ir->clients.default_profile, "ci");
	ck_assert_str_eq(sg_ir_loc(l.ir, "clients.default_profile")->file,
	    "env:SOCKGUARD_CLIENTS_DEFAULT_PROFILE");
	ld_free(&l);

	ld_run(&l, "", bad);
	ck_fail(&l);
	ck_exact(&l, "env:SOCKGUARD_CLIENTS_ALLOWED_CIDRS: error: "
	    "clients.allowed_cidrs: clients.allowed_cidrs entries must be "
	    "valid CIDR prefixes, got \"\"");
	ck_exact(&l, "env:SOCKGUARD_CLIENTS_ALLOWED_CIDRS: error: "
	    "clients.allowed_cidrs: clients.allowed_cidrs entries must be "
	    "valid CIDR prefixes, got \"x\"");
	ck_exact(&l, "env:SOCKGUARD_CLIENTS_PROFILES: error: clients.profiles: "
	    "clients.profiles can only be set in the YAML config file, not "
	    "from the environment");
	ck_exact(&l, "env:SOCKGUARD_CLIENTS_CONTAINER_LABELS_ENABLED: error: "
	    "clients.container_labels.enabled: clients.container_labels.enabled "
	    "is not supported yet by this version of sockguard");
	ck_diag(&l, "env:SOCKGUARD_CLIENTS_GLOBAL_CONCURRENCY_MAX_INFLIGHT: "
	    "error: clients.global_concurrency: clients.global_concurrency is "
	    "not supported yet");
	ck_nerr(&l, 5);
	ld_free(&l);
}
END_TEST

START_TEST(profile_errors)
{
	struct ld l;

	ld_run(&l, "clients:\n"
	    "  profiles:\n"
	    "    - rules:\n"
	    "        - match: {method: GET, path: /a}\n"
	    "          action: allow\n"
	    "    - name: \"*\"\n"
	    "      rules:\n"
	    "        - match: {method: GET, path: /a}\n"
	    "          action: allow\n"
	    "    - name: ci\n"
	    "      mode: loud\n"
	    "      rules: []\n"
	    "    - name: \" ci\"\n"
	    "      response: {visible_resource_labels: [a]}\n"
	    "      request_body: {}\n"
	    "      limits: {concurrency: {max_inflight: 1}}\n"
	    "      rulse: []\n"
	    "    - name: rules-broken\n"
	    "      rules:\n"
	    "        - match: {method: GET, path: /a}\n"
	    "          action: allow\n"
	    "        - match: {path: /b}\n"
	    "          action: maybe\n"
	    "    - name: no-seq\n"
	    "      rules: {match: x}\n"
	    "    - not-a-map\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:3:7: error: clients.profiles[0].name: "
	    "clients.profiles[0].name is required");
	ck_exact(&l, "t.yaml:6:13: error: clients.profiles[1].name: "
	    "clients.profiles[1].name must not be \"*\" (reserved as the "
	    "listener allowed_profiles wildcard)");
	ck_exact(&l, "t.yaml:11:13: error: clients.profiles[2].mode: "
	    "clients.profiles[2].mode must be one of enforce|warn|audit, got "
	    "\"loud\"");
	ck_exact(&l, "t.yaml:12:7: error: clients.profiles[2].rules: "
	    "clients.profiles[2].rules must contain at least one rule");
	ck_exact(&l, "t.yaml:13:13: error: clients.profiles[3].name: "
	    "clients.profiles[3].name must be unique, got duplicate \"ci\"");
	ck_exact(&l, "t.yaml:14:7: error: clients.profiles[3].response: "
	    "clients.profiles[3].response is not supported yet by this version "
	    "of sockguard");
	ck_exact(&l, "t.yaml:15:7: error: clients.profiles[3].request_body: "
	    "clients.profiles[3].request_body is not supported yet by this "
	    "version of sockguard");
	ck_exact(&l, "t.yaml:16:7: error: clients.profiles[3].limits: "
	    "clients.profiles[3].limits is not supported yet by this version "
	    "of sockguard");
	ck_exact(&l, "t.yaml:17:7: error: clients.profiles[3].rulse: unknown "
	    "key \"clients.profiles[3].rulse\"; did you mean "
	    "\"clients.profiles[3].rules\"?");
	ck_exact(&l, "t.yaml:13:7: error: clients.profiles[3].rules: "
	    "clients.profiles[3].rules must contain at least one rule");
	ck_exact(&l, "t.yaml:22:11: error: clients.profiles[4].rules[1]: "
	    "match.method is required");
	ck_exact(&l, "t.yaml:23:19: error: clients.profiles[4].rules[1]: "
	    "action must be allow or deny, got \"maybe\"");
	ck_exact(&l, "t.yaml:25:14: error: clients.profiles[5].rules: "
	    "expected a sequence of rules, got a mapping");
	ck_exact(&l, "t.yaml:26:7: error: clients.profiles[6]: expected a "
	    "mapping with name, mode and rules, got a scalar");
	ck_nerr(&l, 14);
	ld_free(&l);

	ld_run(&l, "clients:\n  profiles: {name: x}\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:2:13: error: clients.profiles: expected a "
	    "sequence of client profiles, got a mapping");
	ld_free(&l);
}
END_TEST

START_TEST(profile_rule_path_checks)
{
	struct ld l;

	ld_run(&l, "clients:\n"
	    "  profiles:\n"
	    "    - name: a\n"
	    "      rules:\n"
	    "        - match: {method: GET, path: _ping}\n"
	    "          action: allow\n"
	    "        - match: {method: GET, path: \"/a%2fb\"}\n"
	    "          action: allow\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:5:11: warning: clients.profiles[0].rules[0]: "
	    "match.path \"_ping\" does not start with '/' and never matches a "
	    "request path; write it as \"/_ping\"");
	ck_diag(&l, "t.yaml:7:11: error: clients.profiles[0].rules[1]: "
	    "match.path \"/a%2fb\" contains a literal '%'");
	ck_nerr(&l, 1);
	ld_free(&l);
}
END_TEST

START_TEST(assignment_errors)
{
	struct ld l;

	ld_run(&l, "listeners:\n"
	    "  - {name: tcp, address: \"127.0.0.1:1\", allowed_profiles: "
	    "[\"*\"]}\n"
	    "  - {name: unix, socket: /run/u.sock, allowed_profiles: [\"*\"]}\n"
	    "clients:\n"
	    "  source_ip_profiles:\n"
	    "    - cidrs: [10.0.0.0/8]\n"
	    "    - profile: nope\n"
	    "      cidrs: [10.0.0.0/33, 10.0.0.1/32]\n"
	    "    - profile: ci\n"
	    "    - profile: ci\n"
	    "      cidrs: [x]\n"
	    "      cidr: []\n"
	    "  unix_peer_profiles:\n"
	    "    - profile: ci\n"
	    "    - profile: ci\n"
	    "      pids: [7]\n"
	    "    - profile: ci\n"
	    "      uids: [-1, x, 4294967295]\n"
	    "      gids: [4294967295]\n"
	    "      pids: [0, 5]\n"
	    "    - 12\n"
	    "  profiles:\n"
	    PROFILE("ci"), NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:6:7: error: clients.source_ip_profiles[0].profile: "
	    "clients.source_ip_profiles[0].profile is required");
	ck_exact(&l, "t.yaml:7:16: error: clients.source_ip_profiles[1].profile: "
	    "clients.source_ip_profiles[1].profile must match a configured "
	    "client profile, got \"nope\"");
	ck_exact(&l, "t.yaml:8:15: error: clients.source_ip_profiles[1].cidrs: "
	    "clients.source_ip_profiles[1].cidrs entries must be valid CIDR "
	    "prefixes, got \"10.0.0.0/33\"");
	ck_exact(&l, "t.yaml:9:7: error: clients.source_ip_profiles[2]: "
	    "clients.source_ip_profiles[2].cidrs must contain at least one "
	    "CIDR");
	ck_exact(&l, "t.yaml:11:15: error: clients.source_ip_profiles[3].cidrs: "
	    "clients.source_ip_profiles[3].cidrs entries must be valid CIDR "
	    "prefixes, got \"x\"");
	/* no valid CIDR left */
	ck_exact(&l, "t.yaml:10:7: error: clients.source_ip_profiles[3]: "
	    "clients.source_ip_profiles[3].cidrs must contain at least one "
	    "CIDR");
	ck_exact(&l, "t.yaml:12:7: error: clients.source_ip_profiles[3].cidr: "
	    "unknown key \"clients.source_ip_profiles[3].cidr\"; did you mean "
	    "\"clients.source_ip_profiles[3].cidrs\"?");
	ck_exact(&l, "t.yaml:14:7: error: clients.unix_peer_profiles[0]: "
	    "clients.unix_peer_profiles[0] must contain at least one unix peer "
	    "credential selector");
	ck_exact(&l, "t.yaml:15:7: error: clients.unix_peer_profiles[1]: "
	    "clients.unix_peer_profiles[1] must not select by pid alone: "
	    "process IDs are recycled by the kernel and are not a stable "
	    "identity; add a uid and/or gid selector");
	ck_exact(&l, "t.yaml:18:14: error: clients.unix_peer_profiles[2].uids: "
	    "clients.unix_peer_profiles[2].uids entries must be user IDs from "
	    "0 to 4294967294, got -1");
	ck_exact(&l, "t.yaml:18:18: error: clients.unix_peer_profiles[2].uids: "
	    "expected an integer, got \"x\"");
	ck_exact(&l, "t.yaml:18:21: error: clients.unix_peer_profiles[2].uids: "
	    "clients.unix_peer_profiles[2].uids entries must be user IDs from "
	    "0 to 4294967294, got 4294967295");
	ck_exact(&l, "t.yaml:19:14: error: clients.unix_peer_profiles[2].gids: "
	    "clients.unix_peer_profiles[2].gids entries must be group IDs from "
	    "0 to 4294967294, got 4294967295");
	ck_exact(&l, "t.yaml:20:14: error: clients.unix_peer_profiles[2].pids: "
	    "clients.unix_peer_profiles[2].pids entries must be positive "
	    "process IDs, got 0");
	/* all its uids and gids were invalid: pid 5 alone is left */
	ck_exact(&l, "t.yaml:17:7: error: clients.unix_peer_profiles[2]: "
	    "clients.unix_peer_profiles[2] must not select by pid alone: "
	    "process IDs are recycled by the kernel and are not a stable "
	    "identity; add a uid and/or gid selector");
	ck_exact(&l, "t.yaml:21:7: error: clients.unix_peer_profiles[3]: "
	    "expected a mapping with profile and uids, gids or pids, got a "
	    "scalar");
	/* nothing else about an entry that is not a mapping */
	ck_no_diag(&l, "clients.unix_peer_profiles[3] must");
	ck_nerr(&l, 16);
	ld_free(&l);
}
END_TEST

START_TEST(cert_assignment_errors)
{
	struct ld l;

	ld_run(&l, fmt("listen:\n  address: 127.0.0.1:2376\n%s"
	    "clients:\n"
	    "  client_certificate_profiles:\n"
	    "    - profile: ci\n"
	    "    - profile: ci\n"
	    "      common_names: [\"\"]\n"
	    "      spiffe_ids: [\"http://corp/ci\", \"spiffe://\", "
	    "\"spiffe:///x\"]\n"
	    "      public_key_sha256_pins: [nothex]\n"
	    "      ip_address: [10.0.0.1]\n"
	    "    - profile: ci\n"
	    "      dns_names: [ci.corp]\n"
	    "  profiles:\n"
	    PROFILE("ci"), tls_block(2)), NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:9:7: error: clients.client_certificate_profiles[0]: "
	    "clients.client_certificate_profiles[0] must contain at least one "
	    "client certificate identity selector");
	ck_exact(&l, "t.yaml:11:22: error: "
	    "clients.client_certificate_profiles[1].common_names: "
	    "clients.client_certificate_profiles[1].common_names entries must "
	    "be non-empty");
	ck_exact(&l, "t.yaml:12:20: error: "
	    "clients.client_certificate_profiles[1].spiffe_ids: "
	    "clients.client_certificate_profiles[1].spiffe_ids entries must be "
	    "valid SPIFFE IDs (spiffe://trust-domain/path), got "
	    "\"http://corp/ci\"");
	ck_diag(&l, "got \"spiffe://\"");
	ck_diag(&l, "got \"spiffe:///x\"");
	ck_diag(&l, "t.yaml:13:32: error: "
	    "clients.client_certificate_profiles[1].public_key_sha256_pins: "
	    "clients.client_certificate_profiles[1].public_key_sha256_pins "
	    "entries must be hex SHA-256 digests");
	ck_exact(&l, "t.yaml:14:7: error: "
	    "clients.client_certificate_profiles[1].ip_address: unknown key "
	    "\"clients.client_certificate_profiles[1].ip_address\"; did you "
	    "mean \"clients.client_certificate_profiles[1].ip_addresses\"?");
	ck_exact(&l, "t.yaml:10:7: error: clients.client_certificate_profiles[1]: "
	    "clients.client_certificate_profiles[1] must contain at least one "
	    "client certificate identity selector");
	ck_nerr(&l, 8);
	ld_free(&l);
}
END_TEST

START_TEST(listener_kind_requirements)
{
	struct ld l;

	/* Only a unix listener: the TCP-only features are errors. */
	ld_run(&l, "listen:\n  socket: /run/sg.sock\n"
	    "clients:\n"
	    "  allowed_cidrs: [10.0.0.0/8]\n"
	    "  source_ip_profiles:\n"
	    "    - {profile: ci, cidrs: [10.0.0.0/8]}\n"
	    "  client_certificate_profiles:\n"
	    "    - {profile: ci, common_names: [x]}\n"
	    "  unix_peer_profiles:\n"
	    "    - {profile: ci, uids: [0]}\n"
	    "  profiles:\n"
	    PROFILE("ci"), NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:4:3: error: clients.allowed_cidrs: "
	    "clients.allowed_cidrs requires a TCP listener; configure a TCP "
	    "listen/listeners[*] entry or clear clients.allowed_cidrs");
	ck_exact(&l, "t.yaml:5:3: error: clients.source_ip_profiles: "
	    "clients.source_ip_profiles requires a TCP listener; configure a "
	    "TCP listen/listeners[*] entry or clear "
	    "clients.source_ip_profiles");
	ck_exact(&l, "t.yaml:7:3: error: clients.client_certificate_profiles: "
	    "clients.client_certificate_profiles requires a TCP listener; "
	    "configure a TCP listen/listeners[*] entry or clear "
	    "clients.client_certificate_profiles");
	ck_nerr(&l, 3);
	ld_free(&l);

	/* Only a plaintext TCP listener: no mTLS, no unix peers. */
	ld_run(&l, "clients:\n"
	    "  client_certificate_profiles:\n"
	    "    - {profile: ci, common_names: [x]}\n"
	    "  unix_peer_profiles:\n"
	    "    - {profile: ci, uids: [0]}\n"
	    "  profiles:\n"
	    PROFILE("ci"), NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:2:3: error: clients.client_certificate_profiles: "
	    "clients.client_certificate_profiles requires a "
	    "listen/listeners[*] entry with mutual TLS configured");
	ck_exact(&l, "t.yaml:4:3: error: clients.unix_peer_profiles: "
	    "clients.unix_peer_profiles requires a unix listener; configure a "
	    "unix listen/listeners[*] entry or clear "
	    "clients.unix_peer_profiles");
	ck_nerr(&l, 2);
	ld_free(&l);

	/* The legacy socket wins over the address: that is not TCP. */
	ld_run(&l, "listen:\n  socket: /run/sg.sock\n  address: 127.0.0.1:1\n"
	    "clients:\n  allowed_cidrs: [10.0.0.0/8]\n", NULL);
	ck_fail(&l);
	ck_diag(&l, "clients.allowed_cidrs requires a TCP listener");
	ld_free(&l);

	/* Mixed listeners satisfy both kinds. */
	ld_run(&l, fmt("listeners:\n"
	    "  - name: tcp\n"
	    "    address: 127.0.0.1:2376\n"
	    "%s"
	    "    allowed_profiles: [\"*\"]\n"
	    "  - {name: unix, socket: /run/u.sock, allowed_profiles: [\"*\"]}\n"
	    "clients:\n"
	    "  allowed_cidrs: [127.0.0.1]\n"
	    "  source_ip_profiles:\n"
	    "    - {profile: ci, cidrs: [10.0.0.0/8]}\n"
	    "  client_certificate_profiles:\n"
	    "    - {profile: ci, common_names: [x]}\n"
	    "  unix_peer_profiles:\n"
	    "    - {profile: ci, gids: [0]}\n"
	    "  profiles:\n"
	    PROFILE("ci"), tls_block(4)), NULL);
	ck_clean(&l);
	ld_free(&l);
}
END_TEST

START_TEST(default_profile_must_exist)
{
	struct ld l;

	ld_run(&l, "clients:\n  default_profile: ghost\n  profiles:\n"
	    PROFILE("ci"), NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:2:20: error: clients.default_profile: "
	    "clients.default_profile must match a configured client profile, "
	    "got \"ghost\"");
	ck_nerr(&l, 1);
	ld_free(&l);
}
END_TEST

/* SPEC 2.6.7: the read-exfiltration probe runs over each profile. */
START_TEST(profile_exfil_probe)
{
	static const char yaml[] =
	    "clients:\n"
	    "  profiles:\n"
	    PROFILE("ok")
	    "    - name: dash\n"
	    "      rules:\n"
	    "        - match: {method: GET, path: /_ping}\n"
	    "          action: allow\n"
	    "        - match: {method: GET, path: \"/containers/**\"}\n"
	    "          action: allow\n";
	struct ld l;

	ld_run(&l, yaml, NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:11:11: error: clients.profiles[1].rules[1]: "
	    "client profile \"dash\" rules allow raw archive/export, log/attach "
	    "streaming, or registry push endpoints (these can exfiltrate "
	    "container files, images, plugins, environment variables, and "
	    "secrets); either tighten the profile's allow rules to omit these "
	    "paths or set insecure_allow_read_exfiltration: true to "
	    "acknowledge the risk (a global setting: it acknowledges it for "
	    "the top-level rules and every profile). Exposed endpoints: GET "
	    "/containers/sockguard-test/archive, GET "
	    "/containers/sockguard-test/export, GET "
	    "/containers/sockguard-test/logs, GET "
	    "/containers/sockguard-test/attach/ws");
	ck_nerr(&l, 1);
	ld_free(&l);

	ld_run(&l, fmt("insecure_allow_read_exfiltration: true\n%s", yaml),
	    NULL);
	ck_ok(&l);
	ck_exact(&l, "t.yaml:1:35: warning: insecure_allow_read_exfiltration: "
	    "insecure_allow_read_exfiltration is enabled and the client "
	    "profile \"dash\" rules allow: GET "
	    "/containers/sockguard-test/archive, GET "
	    "/containers/sockguard-test/export, GET "
	    "/containers/sockguard-test/logs, GET "
	    "/containers/sockguard-test/attach/ws");
	ck_nwarn(&l, 1);
	ld_free(&l);

	/* A profile whose rules failed to lower is not probed. */
	ld_run(&l, "clients:\n  profiles:\n    - name: x\n      rules:\n"
	    "        - match: {method: GET, path: \"/**\"}\n"
	    "          action: allow\n"
	    "        - match: {method: GET}\n"
	    "          action: deny\n", NULL);
	ck_fail(&l);
	ck_no_diag(&l, "client profile \"x\" rules allow");
	ck_nerr(&l, 1);
	ld_free(&l);
}
END_TEST

/*
 * A leading zero is refused: YAML 1.1 readers (the reference's) take
 * 01000 as octal 512, so a uid selector would match another user there.
 */
START_TEST(leading_zero_integers_refused)
{
	static const char hint[] = " (a leading zero is refused: YAML 1.1 "
	    "reads 0100 as octal 64; write the decimal number without it)";
	struct ld l;

	ld_run(&l, "listen:\n"
	    "  socket: /tmp/x.sock\n"
	    "  max_connections: 0100\n"
	    "clients:\n"
	    "  unix_peer_profiles:\n"
	    "    - {profile: ci, uids: [01000, 0, 1000]}\n"
	    "  profiles:\n"
	    PROFILE("ci"), NULL);
	ck_fail(&l);
	ck_exact(&l, fmt("t.yaml:3:20: error: listen.max_connections: "
	    "expected an integer, got \"0100\"%s", hint));
	ck_exact(&l, fmt("t.yaml:6:28: error: clients.unix_peer_profiles[0]."
	    "uids: expected an integer, got \"01000\"%s", hint));
	ck_nerr(&l, 2);
	ld_free(&l);
}
END_TEST

START_TEST(multiple_errors_at_once)
{
	struct ld l;

	ld_run(&l, "listen:\n  socket: /run/a.sock\n"
	    "listeners:\n"
	    "  - name: Bad\n"
	    "    socket: /run/a.sock\n"
	    "    allowed_profiles: [ghost]\n"
	    "clients:\n"
	    "  allowed_cidrs: [nope]\n"
	    "  default_profile: ghost\n"
	    "  profiles:\n"
	    "    - name: ci\n"
	    "      mode: strict\n", NULL);
	ck_fail(&l);
	ck_exact(&l, "t.yaml:1:1: error: listen: " EXCL);
	ck_diag(&l, "t.yaml:4:11: error: listeners[0].name: listeners[0].name "
	    "\"Bad\" must match");
	ck_diag(&l, "t.yaml:6:24: error: listeners[0].allowed_profiles: "
	    "listeners[Bad].allowed_profiles must match a configured client "
	    "profile, got \"ghost\"");
	ck_diag(&l, "t.yaml:8:19: error: clients.allowed_cidrs: "
	    "clients.allowed_cidrs entries must be valid CIDR prefixes");
	ck_diag(&l, "t.yaml:9:20: error: clients.default_profile: "
	    "clients.default_profile must match a configured client profile");
	ck_diag(&l, "t.yaml:12:13: error: clients.profiles[0].mode:");
	ck_diag(&l, "t.yaml:11:7: error: clients.profiles[0].rules: "
	    "clients.profiles[0].rules must contain at least one rule");
	ck_nerr(&l, 7);
	ld_free(&l);
}
END_TEST

/* ---- hand-built IR (no recorded locations) ---- */

START_TEST(ir_check_hand_built)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_cfg_flat f;
	struct sg_ir *ir;
	struct sg_ir_listener ls[2];
	struct sg_ir_profile pr[1];
	struct sg_ir_peer_assign pa[1];
	static const char *get[] = {"GET"};
	static const char *names[] = {"ci", "nope"};
	struct sg_ir_rule r[] = {
		{get, 1, false, "/_ping", SG_ACTION_ALLOW, "", {"h.yaml", 7, 3}},
	};
	int64_t pid = 5;
	char buf[4096];
	size_t i;

	sg_diag_init(&d);
	ir = ld_defaults(a, &d);
	memset(&f, 0, sizeof(f));
	f.listen_address = f.listen_socket = "";
	f.listen_socket_mode = "0600";
	f.log_level = "info";
	f.log_format = "json";
	f.log_audit_format = "json";
	f.deny_verbosity = "minimal";
	f.min_api_version = "1.24";
	f.rules_ok = true;

	memset(ls, 0, sizeof(ls));
	for (i = 0; i < 2; i++) {
		ls[i].name = i == 0 ? "ci" : "ops";
		ls[i].socket = "/run/same.sock";
		ls[i].address = "";
		ls[i].socket_mode = 0600;
		ls[i].socket_uid = ls[i].socket_gid = -1;
		ls[i].max_connections = 16;
		ls[i].named = true;
		ls[i].loc = (struct sg_loc){"h.yaml", (uint32_t)(2 + i), 5};
	}
	ls[0].allowed_profiles.v = names;
	ls[0].allowed_profiles.n = 2;
	ls[1].admit_all = true;
	ls[1].allowed_profiles.v = names;
	ls[1].allowed_profiles.n = 1;
	ls[1].allowed_profiles.v = (const char *[]){"*"};
	ir->listeners = ls;
	ir->nlisteners = 2;
	memset(pr, 0, sizeof(pr));
	pr[0].name = "ci";
	pr[0].rules = r;
	pr[0].nrules = 1;
	pr[0].loc = (struct sg_loc){"h.yaml", 6, 5};
	memset(pa, 0, sizeof(pa));
	pa[0].profile = "ci";
	pa[0].pids = &pid;
	pa[0].npids = 1;
	pa[0].loc = (struct sg_loc){"h.yaml", 9, 5};
	ir->clients.profiles = pr;
	ir->clients.nprofiles = 1;
	ir->clients.unix_peer = pa;
	ir->clients.nunix_peer = 1;

	ck_assert_int_eq(sg_ir_check(ir, &f, &d), -1);
	for (i = 0, buf[0] = '\0'; i < d.n; i++) {
		char line[1024];

		sg_diag_format(&d.v[i], line, sizeof(line));
		strcat(buf, line);
		strcat(buf, "\n");
	}
	ck_assert_msg(d.nerr == 3, "%s", buf);
	ck_assert_msg(strstr(buf, "h.yaml:2:5: error: "
	    "listeners[0].allowed_profiles: listeners[ci].allowed_profiles "
	    "must match a configured client profile, got \"nope\"\n") != NULL,
	    "%s", buf);
	ck_assert_msg(strstr(buf, "h.yaml:3:5: error: listeners[1].socket: "
	    "listeners[ci].socket and listeners[ops].socket must be distinct, "
	    "both are \"/run/same.sock\"\n") != NULL, "%s", buf);
	ck_assert_msg(strstr(buf, "h.yaml:9:5: error: "
	    "clients.unix_peer_profiles[0]: clients.unix_peer_profiles[0] must "
	    "not select by pid alone") != NULL, "%s", buf);
	ck_assert_uint_eq(ls[0].max_connections, 16);
	sg_diag_free(&d);
	sg_arena_free(a);
}
END_TEST

/* ---- compiled generation: one policy per profile ---- */

static enum sg_action
eval(const struct sg_policy *p, const char *m, const char *path)
{
	struct sg_verdict v;

	sg_policy_eval(p, m, strlen(m), path, strlen(path), &v);
	return v.action;
}

START_TEST(conf_compiles_profile_policies)
{
	static const char yaml[] =
	    "rules:\n"
	    "  - {match: {method: GET, path: /top}, action: allow}\n"
	    "  - {match: {method: \"*\", path: \"/**\"}, action: deny}\n"
	    "clients:\n"
	    "  profiles:\n"
	    "    - name: a\n"
	    "      rules:\n"
	    "        - {match: {method: GET, path: /a}, action: allow}\n"
	    "        - {match: {method: \"*\", path: \"/**\"}, action: deny}\n"
	    "    - name: b\n"
	    "      mode: audit\n"
	    "      rules:\n"
	    "        - {match: {method: POST, path: \"/b/*\"}, action: allow}\n";
	struct sg_arena *a = sg_arena_new();
	struct sg_load_opts o;
	struct sg_diag d;
	struct sg_ir *ir;
	struct sg_conf *c;
	struct sg_verdict v;

	memset(&o, 0, sizeof(o));
	o.envp = ld_no_env;
	sg_diag_init(&d);
	ir = sg_cfg_load_bytes(a, &o, "t.yaml", yaml, strlen(yaml), &d);
	ck_assert_msg(ir != NULL, "%s", diag_dump(&d));
	c = sg_conf_compile(a, ir, &d);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(c->profile_policy);
	ck_assert_ptr_nonnull(c->profile_policy[0]);
	ck_assert_ptr_nonnull(c->profile_policy[1]);
	ck_assert_uint_eq(sg_policy_nrules(c->profile_policy[0]), 2);
	ck_assert_uint_eq(sg_policy_nrules(c->profile_policy[1]), 1);
	/* top level */
	ck_assert_int_eq(eval(c->policy, "GET", "/top"), SG_ACTION_ALLOW);
	ck_assert_int_eq(eval(c->policy, "GET", "/a"), SG_ACTION_DENY);
	/* profile a: its own rules replace the top-level ones */
	ck_assert_int_eq(eval(c->profile_policy[0], "GET", "/a"),
	    SG_ACTION_ALLOW);
	ck_assert_int_eq(eval(c->profile_policy[0], "GET", "/top"),
	    SG_ACTION_DENY);
	ck_assert_int_eq(eval(c->profile_policy[0], "POST", "/b/x"),
	    SG_ACTION_DENY);
	/* profile b */
	ck_assert_int_eq(eval(c->profile_policy[1], "POST", "/b/x"),
	    SG_ACTION_ALLOW);
	sg_policy_eval(c->profile_policy[1], "GET", 3, "/a", 2, &v);
	ck_assert_int_eq(v.action, SG_ACTION_DENY);
	ck_assert_int_eq(v.rule, -1);
	ck_assert_int_eq(c->ir->clients.profiles[1].mode, SG_MODE_AUDIT);
	sg_conf_unref(c); /* frees a */
	sg_diag_free(&d);
}
END_TEST

START_TEST(conf_compile_profile_failure)
{
	struct sg_arena *a = sg_arena_new();
	struct sg_diag d;
	struct sg_ir *ir;
	struct sg_ir_profile p;
	struct sg_ir_rule bad = {NULL, 0, false, "/x", SG_ACTION_ALLOW, "",
	    {"b.yaml", 4, 1}};
	struct sg_conf *c;

	sg_diag_init(&d);
	ir = ld_defaults(a, &d);
	c = sg_conf_compile(sg_arena_new(), ir, &d);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(c->profile_policy); /* empty, not NULL */
	sg_conf_unref(c);
	memset(&p, 0, sizeof(p));
	p.name = "broken";
	p.rules = &bad;
	p.nrules = 1;
	ir->clients.profiles = &p;
	ir->clients.nprofiles = 1;
	/* Takes ownership of a: freed on failure (ASan checks). */
	ck_assert_ptr_null(sg_conf_compile(a, ir, &d));
	ck_assert_uint_gt(d.nerr, 0);
	sg_diag_free(&d);
}
END_TEST

Suite *suite_clients_cfg(void);

Suite *
suite_clients_cfg(void)
{
	Suite *s = suite_create("clients_cfg");
	TCase *tt = tcase_create("tls");
	TCase *tv = tcase_create("values");
	TCase *tl = tcase_create("listeners");
	TCase *tc = tcase_create("clients");
	TCase *tk = tcase_create("compile");

	tcase_add_checked_fixture(tt, pem_setup, tmp_cleanup);
	tcase_add_test(tt, legacy_listener_lowered);
	tcase_add_test(tt, legacy_tls_complete);
	tcase_add_test(tt, legacy_tls_incomplete);
	tcase_add_test(tt, legacy_tls_on_unix);
	tcase_add_test(tt, loopback_rule_honours_tls);
	tcase_add_test(tt, tls_constructive_errors);
	tcase_add_test(tt, tls_selector_errors);
	tcase_add_test(tt, tls_selectors_from_env);
	suite_add_tcase(s, tt);

	tcase_add_loop_test(tv, cidr_parse, 0, (int)SG_ARRAY_LEN(cidr_cases));
	tcase_add_test(tv, ip_pin_uri_values);
	suite_add_tcase(s, tv);

	tcase_add_test(tl, listeners_lowered);
	tcase_add_test(tl, listeners_schema_errors);
	tcase_add_test(tl, listen_listeners_exclusive_yaml);
	tcase_add_test(tl, listen_listeners_exclusive_env);
	tcase_add_loop_test(tl, listener_names, 0,
	    (int)SG_ARRAY_LEN(name_cases));
	tcase_add_test(tl, listener_name_missing_and_duplicate);
	tcase_add_test(tl, listener_count_cap);
	tcase_add_test(tl, listener_socket_address_rules);
	tcase_add_test(tl, allowed_profiles_rules);
	tcase_add_test(tl, bind_targets_distinct);
	tcase_add_test(tl, default_profile_not_admitted_warns);
	tcase_add_test(tl, ir_check_hand_built);
	suite_add_tcase(s, tl);

	tcase_add_checked_fixture(tc, pem_setup, tmp_cleanup);
	tcase_add_test(tc, clients_lowered);
	tcase_add_test(tc, clients_env);
	tcase_add_test(tc, profile_errors);
	tcase_add_test(tc, profile_rule_path_checks);
	tcase_add_test(tc, assignment_errors);
	tcase_add_test(tc, cert_assignment_errors);
	tcase_add_test(tc, listener_kind_requirements);
	tcase_add_test(tc, default_profile_must_exist);
	tcase_add_test(tc, profile_exfil_probe);
	tcase_add_test(tc, multiple_errors_at_once);
	tcase_add_test(tc, leading_zero_integers_refused);
	suite_add_tcase(s, tc);

	tcase_add_test(tk, conf_compiles_profile_policies);
	tcase_add_test(tk, conf_compile_profile_failure);
	suite_add_tcase(s, tk);
	return s;
}
