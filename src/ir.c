/* SPDX-License-Identifier: MIT */
/*
 * ir.c: helpers over the intermediate representation. Owns nothing (the
 * IR lives in its config arena); does not know where values came from
 * beyond the recorded key locations.
 */
#include <string.h>

#include "sockguard/ir.h"

const struct sg_loc *
sg_ir_loc(const struct sg_ir *ir, const char *key)
{
	size_t i;

	if (ir == NULL || key == NULL)
		return NULL;
	for (i = 0; i < ir->nkeylocs; i++)
		if (strcmp(ir->keylocs[i].key, key) == 0)
			return &ir->keylocs[i].loc;
	return NULL;
}

const char *
sg_ir_log_level_name(enum sg_log_level l)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};

	return (unsigned)l < sizeof(names) / sizeof(names[0]) ? names[l] : "?";
}
