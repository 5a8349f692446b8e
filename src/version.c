/* SPDX-License-Identifier: MIT */
/* version.c: build stamps (set by the GNUmakefile). */
#include "sockguard/runtime.h"

#ifndef SG_VERSION
#define SG_VERSION "dev"
#endif

const char sg_version[] = SG_VERSION;
