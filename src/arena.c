/* SPDX-License-Identifier: MIT */
/*
 * arena.c: bump allocator for one config generation or scratch lifetime.
 * Owns its chunks; frees them all at once. Does not know what it holds.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sockguard/arena.h"

#define ARENA_CHUNK 16384u
#define ARENA_ALIGN 16u

struct arena_chunk {
	struct arena_chunk *next;
	size_t cap;
	size_t used;
	_Alignas(16) unsigned char data[];
};

struct sg_arena {
	struct arena_chunk *head;
	size_t total;
};

static void *
arena_oom(void)
{
	fputs("sockguard: out of memory\n", stderr);
	abort();
}

struct sg_arena *
sg_arena_new(void)
{
	struct sg_arena *a = calloc(1, sizeof(*a));

	if (a == NULL)
		arena_oom();
	return a;
}

void
sg_arena_free(struct sg_arena *a)
{
	struct arena_chunk *c, *n;

	if (a == NULL)
		return;
	for (c = a->head; c != NULL; c = n) {
		n = c->next;
		free(c);
	}
	free(a);
}

void *
sg_arena_alloc(struct sg_arena *a, size_t n)
{
	struct arena_chunk *c = a->head;
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	void *p;

	if (need == 0)
		need = ARENA_ALIGN;
	if (c == NULL || c->cap - c->used < need) {
		size_t cap = need > ARENA_CHUNK ? need : ARENA_CHUNK;

		c = malloc(sizeof(*c) + cap);
		if (c == NULL)
			arena_oom();
		c->cap = cap;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	p = c->data + c->used;
	c->used += need;
	a->total += need;
	memset(p, 0, need);
	return p;
}

char *
sg_arena_strndup(struct sg_arena *a, const char *s, size_t n)
{
	char *p = sg_arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
sg_arena_strdup(struct sg_arena *a, const char *s)
{
	return sg_arena_strndup(a, s, strlen(s));
}

char *
sg_arena_vprintf(struct sg_arena *a, const char *fmt, va_list ap)
{
	va_list cp;
	int n;
	char *p;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		n = 0;
	p = sg_arena_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
sg_arena_printf(struct sg_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = sg_arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

size_t
sg_arena_used(const struct sg_arena *a)
{
	return a->total;
}
