/* SPDX-License-Identifier: MIT */
/*
 * glob.h: the rule path glob dialect (SPEC 2.6.4), compiled once at config
 * time, matched without allocation. Anchored, case-sensitive:
 *   *    any run of bytes except '/'
 *   "/" "**" (written together) optional "/anything" group, anywhere
 *   **   (not after '/') any run of bytes including '/'
 */
#ifndef SOCKGUARD_GLOB_H
#define SOCKGUARD_GLOB_H

#include "sockguard/arena.h"
#include "sockguard/common.h"

struct sg_glob;

struct sg_glob *sg_glob_compile(struct sg_arena *a, const char *pat, size_t len);
bool sg_glob_match(const struct sg_glob *g, const char *s, size_t len);

#endif
