/* SPDX-License-Identifier: MIT */
/*
 * diag.h: config-time diagnostics. Every front end and check appends
 * errors and warnings with a location and keeps going, so one run
 * reports every problem (relayd/HAProxy style).
 *
 * Printed form: "FILE:LINE:COL: error: KEY: MESSAGE". Environment
 * values use the file name "env:NAME" and no line; flags "flag:--name".
 */
#ifndef SOCKGUARD_DIAG_H
#define SOCKGUARD_DIAG_H

#include <stdarg.h>
#include <stdio.h>

#include "sockguard/common.h"

struct sg_loc {
	const char *file; /* NULL: no location (built-in default) */
	uint32_t line;    /* 1-based; 0: none */
	uint32_t col;     /* 1-based; 0: none */
};

enum sg_diag_sev {
	SG_DIAG_ERROR = 0,
	SG_DIAG_WARN,
};

struct sg_diag_entry {
	enum sg_diag_sev sev;
	struct sg_loc loc;
	char *key; /* dotted key path, or NULL */
	char *msg;
};

struct sg_diag {
	struct sg_diag_entry *v;
	size_t n, cap;
	size_t nerr, nwarn;
	size_t nunreadable; /* errors that are a file that could not be read */
};

void sg_diag_init(struct sg_diag *d);
void sg_diag_free(struct sg_diag *d);
void sg_diag_reset(struct sg_diag *d);
/* Appends an error; always returns -1 so callers can `return sg_diag_error(..)`. */
int sg_diag_error(struct sg_diag *d, const struct sg_loc *loc, const char *key,
    const char *fmt, ...) SG_PRINTF(4, 5);
void sg_diag_warn(struct sg_diag *d, const struct sg_loc *loc, const char *key,
    const char *fmt, ...) SG_PRINTF(4, 5);
void sg_diag_vadd(struct sg_diag *d, enum sg_diag_sev sev,
    const struct sg_loc *loc, const char *key, const char *fmt, va_list ap);
/* One line per entry, in the order they were added. */
void sg_diag_print(const struct sg_diag *d, FILE *fp);
/* Formats one entry ("file:line:col: error: key: msg") into buf. */
size_t sg_diag_format(const struct sg_diag_entry *e, char *buf, size_t cap);
/* True when some entry's formatted text contains needle (tests). */
bool sg_diag_has(const struct sg_diag *d, const char *needle);

#endif
