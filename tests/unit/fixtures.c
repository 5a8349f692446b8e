/* SPDX-License-Identifier: MIT */
/*
 * fixtures.c: helpers shared by the config suites; see fixtures.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fixtures.h"

/* ---- one load ---- */

char *const ld_no_env[] = {NULL};

void
ld_init(struct ld *l, char *const *env)
{
	memset(l, 0, sizeof(*l));
	l->a = sg_arena_new();
	sg_diag_init(&l->d);
	l->o.envp = env != NULL ? env : ld_no_env;
}

struct sg_ir *
ld_yaml(struct ld *l, const char *yaml)
{
	l->ir = sg_cfg_load_bytes(l->a, &l->o, "t.yaml", yaml, strlen(yaml),
	    &l->d);
	return l->ir;
}

struct sg_ir *
ld_run(struct ld *l, const char *yaml, char *const *env)
{
	ld_init(l, env);
	return ld_yaml(l, yaml);
}

void
ld_free(struct ld *l)
{
	sg_diag_free(&l->d);
	sg_arena_free(l->a);
}

struct sg_ir *
ld_defaults(struct sg_arena *a, struct sg_diag *d)
{
	struct sg_load_opts o;
	struct sg_ir *ir;

	memset(&o, 0, sizeof(o));
	o.envp = ld_no_env;
	ir = sg_cfg_load_bytes(a, &o, "d.yaml", "", 0, d);
	ck_assert_ptr_nonnull(ir);
	return ir;
}

/* ---- diagnostics ---- */

static char dump_buf[32768];

const char *
diag_dump(const struct sg_diag *d)
{
	size_t i, n = 0;

	dump_buf[0] = '\0';
	for (i = 0; i < d->n && n < sizeof(dump_buf) - 1; i++) {
		n += sg_diag_format(&d->v[i], dump_buf + n,
		    sizeof(dump_buf) - n);
		if (n < sizeof(dump_buf) - 1)
			dump_buf[n++] = '\n';
		dump_buf[n] = '\0';
	}
	return dump_buf;
}

/* Some entry formats exactly as want or, with at_end, ends with it. */
static bool
diag_match(const struct sg_diag *d, const char *want, bool at_end)
{
	char buf[4096];
	size_t i, wl = strlen(want);

	for (i = 0; i < d->n; i++) {
		size_t n = sg_diag_format(&d->v[i], buf, sizeof(buf));

		if (at_end ? n >= wl && strcmp(buf + n - wl, want) == 0 :
		    strcmp(buf, want) == 0)
			return true;
	}
	return false;
}

bool
diag_has_exact(const struct sg_diag *d, const char *want)
{
	return diag_match(d, want, false);
}

bool
diag_has_end(const struct sg_diag *d, const char *suffix)
{
	return diag_match(d, suffix, true);
}

char *
fmt(const char *f, ...)
{
	static char ring[8][8192];
	static unsigned k;
	char *p = ring[k++ % 8];
	va_list ap;

	va_start(ap, f);
	vsnprintf(p, sizeof(ring[0]), f, ap);
	va_end(ap);
	return p;
}

/* ---- a scratch directory ---- */

char tmpdir[64];

void
tmp_setup(const char *tag)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sg_test_%sXXXXXX", tag);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

FILE *
tmp_open(char *path, const char *name)
{
	FILE *fp;

	snprintf(path, TMP_PATH_MAX, "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	return fp;
}

void
tmp_text(char *path, const char *name, const char *text)
{
	FILE *fp = tmp_open(path, name);

	fputs(text, fp);
	fclose(fp);
}

const char *
tmp_write(const char *name, const char *text)
{
	static char path[4][TMP_PATH_MAX];
	static unsigned k;
	char *p = path[k++ % 4];

	tmp_text(p, name, text);
	return p;
}

void
tmp_cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* ---- PEM files ---- */

EVP_PKEY *
pem_ec_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	ck_assert_ptr_nonnull(k);
	return k;
}

X509 *
pem_selfsigned(EVP_PKEY *k, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *n;

	ck_assert_ptr_nonnull(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, n);
	ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
	return x;
}

void
pem_cert(char *path, const char *name, X509 *x)
{
	FILE *fp = tmp_open(path, name);

	ck_assert_int_eq(PEM_write_X509(fp, x), 1);
	fclose(fp);
}

void
pem_key(char *path, const char *name, EVP_PKEY *k)
{
	FILE *fp = tmp_open(path, name);

	ck_assert_int_eq(PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(fp);
}
