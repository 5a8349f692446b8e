/* SPDX-License-Identifier: MIT */
/*
 * fuzz_util.h: shared helpers for the libFuzzer harnesses: an invariant
 * check that aborts with a message (libFuzzer then saves the input), a
 * deterministic PRNG seeded from the input (split points, modes) so every
 * crash reproduces from its file alone, and exact-size heap copies so
 * AddressSanitizer sees any read past the bytes a function was given.
 */
#ifndef SOCKGUARD_FUZZ_UTIL_H
#define SOCKGUARD_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_CHECK(cond, ...)                                                   \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "\nfuzz invariant failed: %s\n  at %s:%d: ", \
			    #cond, __FILE__, __LINE__);                        \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
			abort();                                              \
		}                                                             \
	} while (0)

/* FNV-1a over the input: the PRNG seed. */
static inline uint64_t
fz_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* splitmix64 */
static inline uint64_t
fz_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform-ish in [0, n); n > 0. */
static inline size_t
fz_below(uint64_t *s, size_t n)
{
	return (size_t)(fz_next(s) % n);
}

/* malloc that never returns NULL for n == 0 and aborts on failure. */
static inline void *
fz_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		abort();
	return p;
}

/* Exact-size heap copy (no terminator): overreads are ASan reports. */
static inline char *
fz_dup(const void *p, size_t n)
{
	char *c = fz_malloc(n);

	if (n > 0)
		memcpy(c, p, n);
	return c;
}

/* Hex dump for failure messages (first 256 bytes). */
static inline void
fz_hexdump(const char *what, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	fprintf(stderr, "%s (%zu bytes):", what, n);
	for (i = 0; i < n && i < 256; i++)
		fprintf(stderr, "%s%02x", i % 32 ? "" : "\n  ", b[i]);
	fprintf(stderr, "%s\n", n > 256 ? " ..." : "");
}

#endif
