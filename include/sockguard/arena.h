/* SPDX-License-Identifier: MIT */
/*
 * arena.h: bump allocator owning one config generation (IR + compiled
 * policy) or one scratch lifetime. Freed as a whole. Out of memory at
 * config time is fatal (the process has not started serving yet).
 */
#ifndef SOCKGUARD_ARENA_H
#define SOCKGUARD_ARENA_H

#include <stdarg.h>
#include <stddef.h>

#include "sockguard/common.h"

struct sg_arena;

struct sg_arena *sg_arena_new(void);
void sg_arena_free(struct sg_arena *a);
/* Zeroed, aligned to 16 bytes. Never returns NULL (aborts). */
void *sg_arena_alloc(struct sg_arena *a, size_t n);
char *sg_arena_strdup(struct sg_arena *a, const char *s);
char *sg_arena_strndup(struct sg_arena *a, const char *s, size_t n);
char *sg_arena_printf(struct sg_arena *a, const char *fmt, ...) SG_PRINTF(2, 3);
char *sg_arena_vprintf(struct sg_arena *a, const char *fmt, va_list ap);
/* Bytes handed out so far (for tests and `check`). */
size_t sg_arena_used(const struct sg_arena *a);

#endif
