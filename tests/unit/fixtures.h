/* SPDX-License-Identifier: MIT */
/*
 * fixtures.h: helpers shared by the config suites (test_config.c,
 * test_upstream_cfg.c, test_clients_cfg.c, test_ir.c): one config load
 * with an injected environment and its diagnostics, assertions that
 * print every diagnostic on failure, a printf ring for YAML texts, a
 * scratch directory for config, rules and PEM files, and PEM writers
 * (EC keys, self-signed certificates) for the TLS checks.
 *
 * Not named test_*.c, so no suite is generated for fixtures.c; the
 * GNUmakefile links it into the runner.
 */
#ifndef SOCKGUARD_TEST_FIXTURES_H
#define SOCKGUARD_TEST_FIXTURES_H

#include <stdbool.h>
#include <stdio.h>

#include <check.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sockguard/cfg.h"

/* ---- one load: arena, diagnostics, result ---- */

struct ld {
	struct sg_arena *a;
	struct sg_diag d;
	struct sg_ir *ir;
	struct sg_load_opts o;
};

/* An empty environment: loads never see the real one. */
extern char *const ld_no_env[];

/* Fresh arena and diagnostics; env NULL means ld_no_env. */
void ld_init(struct ld *l, char *const *env);
/* Loads in-memory YAML named "t.yaml" with the options already in l->o. */
struct sg_ir *ld_yaml(struct ld *l, const char *yaml);
/* ld_init then ld_yaml. */
struct sg_ir *ld_run(struct ld *l, const char *yaml, char *const *env);
void ld_free(struct ld *l);
/* The IR the loader makes from nothing (defaults, no file), in a; for
 * tests that hand-build parts of an IR and run sg_ir_check on it. */
struct sg_ir *ld_defaults(struct sg_arena *a, struct sg_diag *d);

/* Every entry of d, one a line, in a static buffer (failure messages). */
const char *diag_dump(const struct sg_diag *d);
/* Some entry formats exactly as want. */
bool diag_has_exact(const struct sg_diag *d, const char *want);
/* Some entry's formatted text ends with suffix. */
bool diag_has_end(const struct sg_diag *d, const char *suffix);

#define ck_diag(l, needle)                                              \
	ck_assert_msg(sg_diag_has(&(l)->d, needle),                     \
	    "missing diagnostic:\n  %s\ngot:\n%s", needle,              \
	    diag_dump(&(l)->d))
#define ck_exact(l, want)                                               \
	ck_assert_msg(diag_has_exact(&(l)->d, want),                    \
	    "missing diagnostic (exact):\n  %s\ngot:\n%s", want,        \
	    diag_dump(&(l)->d))
#define ck_diag_end(l, suffix)                                          \
	ck_assert_msg(diag_has_end(&(l)->d, suffix),                    \
	    "missing diagnostic ending:\n  %s\ngot:\n%s", suffix,       \
	    diag_dump(&(l)->d))
#define ck_no_diag(l, needle)                                           \
	ck_assert_msg(!sg_diag_has(&(l)->d, needle),                    \
	    "unexpected diagnostic:\n  %s\ngot:\n%s", needle,           \
	    diag_dump(&(l)->d))
#define ck_ok(l)                                                        \
	ck_assert_msg((l)->ir != NULL && (l)->d.nerr == 0,              \
	    "load failed:\n%s", diag_dump(&(l)->d))
#define ck_clean(l)                                                     \
	ck_assert_msg((l)->ir != NULL && (l)->d.n == 0,                 \
	    "expected no diagnostics:\n%s", diag_dump(&(l)->d))
#define ck_fail(l)                                                      \
	ck_assert_msg((l)->ir == NULL && (l)->d.nerr > 0,               \
	    "load did not fail:\n%s", diag_dump(&(l)->d))
#define ck_nerr(l, n)                                                   \
	ck_assert_msg((l)->d.nerr == (n), "want %d errors, got:\n%s",   \
	    (int)(n), diag_dump(&(l)->d))
#define ck_nwarn(l, n)                                                  \
	ck_assert_msg((l)->d.nwarn == (n), "want %d warnings, got:\n%s", \
	    (int)(n), diag_dump(&(l)->d))

/* printf into a static ring of 8 buffers (YAML texts, paths, messages):
 * a few results can be live at once, e.g. as arguments of one call. */
char *fmt(const char *f, ...) SG_PRINTF(1, 2);

/* ---- a scratch directory ---- */

/* Paths of files in tmpdir fit in this many bytes. */
#define TMP_PATH_MAX 256

extern char tmpdir[64];

/* Creates tmpdir as /tmp/sg_test_<tag>XXXXXX. */
void tmp_setup(const char *tag);
/* Opens tmpdir/name for writing; its path goes to path (TMP_PATH_MAX). */
FILE *tmp_open(char *path, const char *name);
/* Writes text to tmpdir/name; its path goes to path (TMP_PATH_MAX). */
void tmp_text(char *path, const char *name, const char *text);
/* tmp_text with the path in a static ring of 4 buffers. */
const char *tmp_write(const char *name, const char *text);
/* Removes tmpdir and everything in it. */
void tmp_cleanup(void);

/* ---- PEM files ---- */

/* A fresh P-256 key. */
EVP_PKEY *pem_ec_key(void);
/* A certificate for cn, self-signed with k, valid for an hour. */
X509 *pem_selfsigned(EVP_PKEY *k, const char *cn);
/* Writes x, or k unencrypted, to tmpdir/name; its path goes to path. */
void pem_cert(char *path, const char *name, X509 *x);
void pem_key(char *path, const char *name, EVP_PKEY *k);

#endif
