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
#include <string.h>

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

/*
 * Appends s[0..n) at dst + *o when it fits in cap (dst's size); false,
 * with nothing written, when it does not. For heads built by hand on the
 * hot path, where printf costs more than the rest of the formatting.
 */
static inline bool
sg_put(char *dst, size_t *o, size_t cap, const char *s, size_t n)
{
	if (n > cap - *o)
		return false;
	memcpy(dst + *o, s, n);
	*o += n;
	return true;
}

#define SG_PUT_LIT(dst, o, cap, lit) sg_put(dst, o, cap, lit, sizeof(lit) - 1)

/*
 * Eight bytes at a time (the scans of heads and log values): the 8 bytes
 * at p as one word; and the high bit set in the bytes of w below lim, for
 * lim <= 0x80 (surely in the first such byte: borrows only add hits above
 * a real one, so "is any byte below lim" is answered exactly).
 */
#define SG_BYTES_1 0x0101010101010101ULL
#define SG_BYTES_80 0x8080808080808080ULL

static inline uint64_t
sg_word8(const void *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

static inline uint64_t
sg_bytes_below(uint64_t w, unsigned char lim)
{
	return (w - SG_BYTES_1 * lim) & ~w & SG_BYTES_80;
}

/* Likewise for the bytes of w equal to c. */
static inline uint64_t
sg_bytes_eq(uint64_t w, unsigned char c)
{
	return sg_bytes_below(w ^ (SG_BYTES_1 * c), 1);
}

/*
 * Where in memory order the first flagged byte of such a mask is, for a
 * word read with sg_word8: exact on little-endian machines, where borrows
 * only run towards later bytes. Elsewhere 0: the caller then steps a byte
 * at a time from the start of the word.
 */
static inline size_t
sg_first_hit(uint64_t m)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (size_t)__builtin_ctzll(m) / 8;
#else
	(void)m;
	return 0;
#endif
}

/* The value of a hex digit, or -1. */
static inline int
sg_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Durations are kept in nanoseconds, as Go does. */
#define SG_NS_PER_MS 1000000LL
#define SG_NS_PER_SEC 1000000000LL

#endif
