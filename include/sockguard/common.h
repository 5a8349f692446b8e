/* SPDX-License-Identifier: MIT */
/*
 * common.h: small shared vocabulary (slices, strings, return codes).
 * Owns no state.
 */
#ifndef SOCKGUARD_COMMON_H
#define SOCKGUARD_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SG_UNUSED __attribute__((unused))

/* Runtime step results (nginx style). */
enum sg_rc {
	SG_OK = 0,
	SG_AGAIN,
	SG_DONE,
	SG_ERR,
};

/* A token inside a buffer that never moves: offset and length. */
struct sg_slice {
	uint32_t off;
	uint32_t len;
};

/* A config-time string (not necessarily NUL-terminated). */
struct sg_str {
	const char *p;
	size_t len;
};

/* Durations are kept in nanoseconds, as Go does. */
#define SG_NS_PER_MS 1000000LL
#define SG_NS_PER_SEC 1000000000LL

#endif
