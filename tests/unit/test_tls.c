/* SPDX-License-Identifier: MIT */
/*
 * test_tls.c: the client-certificate selectors of SPEC 2.4.4 / 3.8 and
 * the identity logged for a leaf. Certificates are built in memory
 * (never signed: matching runs after chain verification), with subject
 * names the openssl CLI cannot write: NUL bytes, more than one CN, CNs
 * longer than any buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sockguard/ir.h"
#include "sockguard/tls.h"

#include "fixtures.h"

Suite *suite_tls(void);

/* One CN entry: bytes with their length, type, and whether it joins the
 * previous entry's RDN (a multi-valued RDN, "CN=a+CN=b"). */
struct cn_ent {
	const char *p;
	int len; /* -1: strlen */
	int type;
	int set;
};

static X509 *
leaf_with(const struct cn_ent *e, size_t n)
{
	X509 *x = X509_new();
	X509_NAME *nm = X509_get_subject_name(x);
	EVP_PKEY *k = pem_ec_key();
	size_t i;

	ck_assert_ptr_nonnull(x);
	for (i = 0; i < n; i++) {
		int len = e[i].len < 0 ? (int)strlen(e[i].p) : e[i].len;

		/* a plain ASN.1 type skips OpenSSL's ub-common-name check */
		ck_assert_int_eq(X509_NAME_add_entry_by_NID(nm, NID_commonName,
		    e[i].type ? e[i].type : V_ASN1_UTF8STRING,
		    (const unsigned char *)e[i].p, len, -1, e[i].set), 1);
	}
	ck_assert_int_eq(X509_set_pubkey(x, k), 1);
	EVP_PKEY_free(k);
	return x;
}

static X509 *
leaf_cn(const char *p, int len)
{
	struct cn_ent e = {p, len, 0, 0};

	return leaf_with(&e, 1);
}

static bool
cn_matches(X509 *x, const char *want)
{
	const char *v[1] = {want};
	struct sg_ir_cert_sel sel;

	memset(&sel, 0, sizeof(sel));
	sel.common_names.v = v;
	sel.common_names.n = 1;
	return sg_tls_cert_match(x, &sel);
}

static const char *
ident(X509 *x, size_t cap)
{
	static char cn[512];
	char spki[65];

	ck_assert(cap <= sizeof(cn));
	memset(cn, 'Z', sizeof(cn));
	sg_tls_cert_ident(x, cn, cap, spki);
	ck_assert_uint_eq(strlen(spki), 64);
	return cn;
}

START_TEST(cn_exact)
{
	X509 *x = leaf_cn("admin", -1);

	ck_assert(cn_matches(x, "admin"));
	ck_assert(!cn_matches(x, "Admin"));
	ck_assert(!cn_matches(x, "admi"));
	ck_assert(!cn_matches(x, "admin2"));
	ck_assert_str_eq(ident(x, 128), "admin");
	X509_free(x);
	/* trimmed on both sides (spaces and tabs), as before */
	x = leaf_cn(" \tadmin ", -1);
	ck_assert(cn_matches(x, "admin"));
	ck_assert_str_eq(ident(x, 128), "admin");
	X509_free(x);
}
END_TEST

/* A leaf whose subjectAltName holds one DNS name. */
static X509 *
leaf_dns(const char *name)
{
	X509 *x = leaf_cn("leaf", -1);
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	ck_assert(gens != NULL && g != NULL && s != NULL);
	ck_assert_int_eq(ASN1_STRING_set(s, name, (int)strlen(name)), 1);
	GENERAL_NAME_set0_value(g, GEN_DNS, s);
	ck_assert_int_gt(sk_GENERAL_NAME_push(gens, g), 0);
	ck_assert_int_eq(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT), 1);
	GENERAL_NAMES_free(gens);
	return x;
}

static bool
dns_matches(X509 *x, const char *want)
{
	const char *v[1] = {want};
	struct sg_ir_cert_sel sel;

	memset(&sel, 0, sizeof(sel));
	sel.dns_names.v = v;
	sel.dns_names.n = 1;
	return sg_tls_cert_match(x, &sel);
}

START_TEST(dns_san_exact)
{
	X509 *x = leaf_dns("admin.example");

	ck_assert(dns_matches(x, "admin.example"));
	/* byte for byte, as the reference compares: no case folding */
	ck_assert(!dns_matches(x, "ADMIN.EXAMPLE"));
	ck_assert(!dns_matches(x, "Admin.example"));
	ck_assert(!dns_matches(x, "admin.example."));
	ck_assert(!dns_matches(x, "admin.exampl"));
	X509_free(x);
	x = leaf_dns("ADMIN.EXAMPLE");
	ck_assert(!dns_matches(x, "admin.example"));
	X509_free(x);
}
END_TEST

START_TEST(cn_bmpstring)
{
	static const struct cn_ent e = {"\0a\0d\0m\0i\0n", 10,
	    V_ASN1_BMPSTRING, 0};
	X509 *x = leaf_with(&e, 1);

	/* converted to UTF-8 before the comparison */
	ck_assert(cn_matches(x, "admin"));
	ck_assert_str_eq(ident(x, 128), "admin");
	X509_free(x);
}
END_TEST

START_TEST(cn_with_nul_never_matches)
{
	X509 *x = leaf_cn("admin\0.evil", 11);

	ck_assert(!cn_matches(x, "admin"));
	ck_assert(!cn_matches(x, "admin.evil"));
	ck_assert_str_eq(ident(x, 128), "admin\\x00.evil");
	X509_free(x);
	/* a NUL as the last byte: trimming must not hide it */
	x = leaf_cn("admin\0", 6);
	ck_assert(!cn_matches(x, "admin"));
	ck_assert_str_eq(ident(x, 128), "admin\\x00");
	X509_free(x);
	/* a BMPString holding U+0000 */
	{
		struct cn_ent e = {"\0a\0d\0m\0i\0n\0\0\0x", 14,
		    V_ASN1_BMPSTRING, 0};

		x = leaf_with(&e, 1);
	}
	ck_assert(!cn_matches(x, "admin"));
	ck_assert_str_eq(ident(x, 128), "admin\\x00x");
	X509_free(x);
}
END_TEST

START_TEST(more_than_one_cn_never_matches)
{
	static const struct cn_ent two[] = {{"admin", -1, 0, 0},
	    {"low", -1, 0, 0}};
	static const struct cn_ent rev[] = {{"low", -1, 0, 0},
	    {"admin", -1, 0, 0}};
	static const struct cn_ent same[] = {{"admin", -1, 0, 0},
	    {"admin", -1, 0, 0}};
	static const struct cn_ent mv[] = {{"admin", -1, 0, 0},
	    {"low", -1, 0, 1}};
	X509 *x = leaf_with(two, 2);

	ck_assert(!cn_matches(x, "admin"));
	ck_assert(!cn_matches(x, "low"));
	ck_assert_str_eq(ident(x, 128), "admin\\,low");
	X509_free(x);
	x = leaf_with(rev, 2);
	ck_assert(!cn_matches(x, "admin"));
	ck_assert(!cn_matches(x, "low"));
	X509_free(x);
	x = leaf_with(same, 2);
	ck_assert(!cn_matches(x, "admin"));
	X509_free(x);
	/* one multi-valued RDN: CN=admin+CN=low */
	x = leaf_with(mv, 2);
	ck_assert_int_eq(X509_NAME_entry_count(X509_get_subject_name(x)), 2);
	ck_assert(!cn_matches(x, "admin"));
	ck_assert(!cn_matches(x, "low"));
	X509_free(x);
}
END_TEST

START_TEST(long_cn_whole_or_nothing)
{
	char big[1001], pre[1001];
	X509 *x;
	const char *id;
	size_t i;

	memset(big, 'a', 1000);
	big[1000] = '\0';
	x = leaf_cn(big, 1000);
	/* every prefix, notably those a fixed buffer would cut to */
	for (i = 1; i < 1000; i++) {
		memcpy(pre, big, i);
		pre[i] = '\0';
		ck_assert_msg(!cn_matches(x, pre), "prefix of %zu matched", i);
	}
	ck_assert(cn_matches(x, big));
	/* logged cut, and visibly so */
	id = ident(x, 128);
	ck_assert_uint_eq(strlen(id), 127);
	ck_assert_str_eq(id + 123, "\\...");
	X509_free(x);
	/* exactly the room there is: not cut */
	x = leaf_cn(big, 127);
	ck_assert_uint_eq(strlen(ident(x, 128)), 127);
	ck_assert_ptr_null(strstr(ident(x, 128), "\\..."));
	X509_free(x);
	x = leaf_cn(big, 128);
	ck_assert_str_eq(ident(x, 128) + 123, "\\...");
	X509_free(x);
}
END_TEST

START_TEST(ident_escapes)
{
	/* three "é", two UTF-8 bytes each: a cut never splits one */
	static const char cn[] = "\xc3\xa9\xc3\xa9\xc3\xa9";
	X509 *x = leaf_cn("a\\b\tc\x7f" "d\x01", -1);
	size_t cap;

	ck_assert_str_eq(ident(x, 128), "a\\\\b\\x09c\\x7fd\\x01");
	X509_free(x);
	x = leaf_cn(cn, -1);
	ck_assert_str_eq(ident(x, 128), cn);
	for (cap = 6; cap < 12; cap++) {
		const char *id = ident(x, cap);
		size_t n = strlen(id);

		ck_assert_uint_lt(n, cap);
		if (n >= 4 && strcmp(id + n - 4, "\\...") == 0)
			ck_assert_msg((n - 4) % 2 == 0, "cap %zu split a "
			    "UTF-8 sequence: %s", cap, id);
		else
			ck_assert_str_eq(id, cn);
	}
	X509_free(x);
	/* no CN at all */
	x = leaf_with(NULL, 0);
	ck_assert_str_eq(ident(x, 128), "");
	ck_assert(!cn_matches(x, "admin"));
	X509_free(x);
}
END_TEST

Suite *
suite_tls(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("cert_cn");

	tcase_add_test(tc, cn_exact);
	tcase_add_test(tc, dns_san_exact);
	tcase_add_test(tc, cn_bmpstring);
	tcase_add_test(tc, cn_with_nul_never_matches);
	tcase_add_test(tc, more_than_one_cn_never_matches);
	tcase_add_test(tc, long_cn_whole_or_nothing);
	tcase_add_test(tc, ident_escapes);
	suite_add_tcase(s, tc);
	return s;
}
