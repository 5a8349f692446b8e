/* SPDX-License-Identifier: MIT */
/*
 * diag.c: collected config-time errors and warnings with locations.
 * Owns the entries' strings. Does not decide what is an error.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sockguard/diag.h"

static char *
diag_vfmt(const char *fmt, va_list ap)
{
	va_list cp;
	int n;
	char *p;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		n = 0;
	p = malloc((size_t)n + 1);
	if (p == NULL) {
		fputs("sockguard: out of memory\n", stderr);
		abort();
	}
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

void
sg_diag_init(struct sg_diag *d)
{
	memset(d, 0, sizeof(*d));
}

void
sg_diag_reset(struct sg_diag *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].key);
		free(d->v[i].msg);
		free((void *)(uintptr_t)d->v[i].loc.file);
	}
	d->n = d->nerr = d->nwarn = d->nunreadable = 0;
}

void
sg_diag_free(struct sg_diag *d)
{
	sg_diag_reset(d);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

void
sg_diag_vadd(struct sg_diag *d, enum sg_diag_sev sev, const struct sg_loc *loc,
    const char *key, const char *fmt, va_list ap)
{
	struct sg_diag_entry *e;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		void *v = realloc(d->v, cap * sizeof(*d->v));

		if (v == NULL) {
			fputs("sockguard: out of memory\n", stderr);
			abort();
		}
		d->v = v;
		d->cap = cap;
	}
	e = &d->v[d->n++];
	memset(e, 0, sizeof(*e));
	e->sev = sev;
	if (loc != NULL) {
		/* the entry outlives the arena the location came from */
		e->loc = *loc;
		e->loc.file = loc->file != NULL ? strdup(loc->file) : NULL;
	}
	e->key = key != NULL ? strdup(key) : NULL;
	e->msg = diag_vfmt(fmt, ap);
	if (sev == SG_DIAG_ERROR)
		d->nerr++;
	else
		d->nwarn++;
}

int
sg_diag_error(struct sg_diag *d, const struct sg_loc *loc, const char *key,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sg_diag_vadd(d, SG_DIAG_ERROR, loc, key, fmt, ap);
	va_end(ap);
	return -1;
}

void
sg_diag_warn(struct sg_diag *d, const struct sg_loc *loc, const char *key,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sg_diag_vadd(d, SG_DIAG_WARN, loc, key, fmt, ap);
	va_end(ap);
}

size_t
sg_diag_format(const struct sg_diag_entry *e, char *buf, size_t cap)
{
	char where[512] = "";
	const char *sev = e->sev == SG_DIAG_ERROR ? "error" : "warning";
	int n;

	if (e->loc.file != NULL && e->loc.line > 0)
		snprintf(where, sizeof(where), "%s:%u:%u: ", e->loc.file,
		    e->loc.line, e->loc.col ? e->loc.col : 1);
	else if (e->loc.file != NULL)
		snprintf(where, sizeof(where), "%s: ", e->loc.file);
	if (e->key != NULL && e->key[0] != '\0')
		n = snprintf(buf, cap, "%s%s: %s: %s", where, sev, e->key,
		    e->msg);
	else
		n = snprintf(buf, cap, "%s%s: %s", where, sev, e->msg);
	return n < 0 ? 0 : (size_t)n;
}

void
sg_diag_print(const struct sg_diag *d, FILE *fp)
{
	char buf[4096];
	size_t i;

	for (i = 0; i < d->n; i++) {
		sg_diag_format(&d->v[i], buf, sizeof(buf));
		fprintf(fp, "%s\n", buf);
	}
}

bool
sg_diag_has(const struct sg_diag *d, const char *needle)
{
	char buf[4096];
	size_t i;

	for (i = 0; i < d->n; i++) {
		sg_diag_format(&d->v[i], buf, sizeof(buf));
		if (strstr(buf, needle) != NULL)
			return true;
	}
	return false;
}
