/* SPDX-License-Identifier: MIT */
/*
 * reqid.c: request ids and W3C trace context (SPEC 2.9.5). Owns a pool of
 * random bytes refilled from getrandom(2) so ids cost no syscall per
 * request; falls back to OpenSSL's generator, then to a counter from the
 * clock, if the kernel's entropy is unavailable.
 */
#include <sys/random.h>

#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "sockguard/runtime.h"

static unsigned char rnd_pool[4096];
static size_t rnd_left;
static uint64_t rnd_counter;

/*
 * n (at most 32) random bytes, straight from the pool: a pool with fewer
 * left is refilled first (the rest of it is dropped).
 */
static const unsigned char *
rnd_take(size_t n)
{
	const unsigned char *p;

	if (rnd_left < n) {
		ssize_t r = getrandom(rnd_pool, sizeof(rnd_pool),
		    GRND_NONBLOCK);

		if (r != (ssize_t)sizeof(rnd_pool) &&
		    RAND_bytes(rnd_pool, (int)sizeof(rnd_pool)) != 1) {
			/*
			 * No entropy: every 8-byte word is a step of a
			 * counter started from the clock, through
			 * splitmix64's mixing (a bijection), so no two ids
			 * or spans (taken 8 bytes at a time) repeat.
			 */
			size_t i;

			if (rnd_counter == 0)
				rnd_counter = (uint64_t)sg_ev_clock() ^
				    ((uint64_t)getpid() << 32);
			for (i = 0; i < sizeof(rnd_pool); i += 8) {
				uint64_t z = (rnd_counter +=
				    0x9e3779b97f4a7c15ULL);

				z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
				z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
				z ^= z >> 31;
				memcpy(rnd_pool + i, &z, 8);
			}
		}
		rnd_left = sizeof(rnd_pool);
	}
	p = rnd_pool + sizeof(rnd_pool) - rnd_left;
	rnd_left -= n;
	return p;
}

/* The two hex digits of every byte value, in order. */
static const char hex_pairs[512 + 1] =
	"000102030405060708090a0b0c0d0e0f"
	"101112131415161718191a1b1c1d1e1f"
	"202122232425262728292a2b2c2d2e2f"
	"303132333435363738393a3b3c3d3e3f"
	"404142434445464748494a4b4c4d4e4f"
	"505152535455565758595a5b5c5d5e5f"
	"606162636465666768696a6b6c6d6e6f"
	"707172737475767778797a7b7c7d7e7f"
	"808182838485868788898a8b8c8d8e8f"
	"909192939495969798999a9b9c9d9e9f"
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
	"b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
	"d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	"e0e1e2e3e4e5e6e7e8e9eaebecedeeef"
	"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

void
sg_random_hex(char *out, size_t nbytes)
{
	const unsigned char *b;
	unsigned char any;
	size_t i;
	int tries = 0;

	if (nbytes > 32)
		nbytes = 32;
	if (nbytes == 0) {
		out[0] = '\0';
		return;
	}
	do {
		b = rnd_take(nbytes);
		any = 0;
		for (i = 0; i < nbytes; i++) {
			any |= b[i];
			memcpy(out + 2 * i, hex_pairs + 2 * b[i], 2);
		}
	} while (any == 0 && ++tries < 3);
	if (any == 0)
		out[2 * nbytes - 1] = '1'; /* ids must not be all zeros */
	out[2 * nbytes] = '\0';
}

void
sg_reqid_new(char out[SG_REQID_LEN + 1])
{
	sg_random_hex(out, SG_REQID_LEN / 2);
}

static bool
lowhex(const char *p, size_t n, bool nonzero)
{
	bool any = false;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' &&
		    p[i] <= 'f')))
			return false;
		if (p[i] != '0')
			any = true;
	}
	return !nonzero || any;
}

void
sg_trace_begin(struct sg_xfer *x, const char *tp, size_t len)
{
	if (tp != NULL && len == 55 && tp[2] == '-' && tp[35] == '-' &&
	    tp[52] == '-' && tp[0] == '0' && tp[1] == '0' &&
	    lowhex(tp + 3, 32, true) && lowhex(tp + 36, 16, true) &&
	    lowhex(tp + 53, 2, false)) {
		memcpy(x->trace_id, tp + 3, 32);
		x->trace_id[32] = '\0';
		memcpy(x->parent_id, tp + 36, 16);
		x->parent_id[16] = '\0';
		memcpy(x->flags, tp + 53, 2);
		x->flags[2] = '\0';
	} else {
		sg_random_hex(x->trace_id, 16);
		x->parent_id[0] = '\0';
		memcpy(x->flags, "00", 3);
	}
	sg_random_hex(x->span_id, 8);
}

bool
sg_trace_headers(char *dst, size_t *o, size_t cap, const struct sg_xfer *x)
{
	size_t start = *o;

	if (SG_PUT_LIT(dst, o, cap, "X-Request-Id: ") &&
	    sg_put(dst, o, cap, x->reqid, strlen(x->reqid)) &&
	    SG_PUT_LIT(dst, o, cap, "\r\ntraceparent: 00-") &&
	    sg_put(dst, o, cap, x->trace_id, strlen(x->trace_id)) &&
	    SG_PUT_LIT(dst, o, cap, "-") &&
	    sg_put(dst, o, cap, x->span_id, strlen(x->span_id)) &&
	    SG_PUT_LIT(dst, o, cap, "-") &&
	    sg_put(dst, o, cap, x->flags, strlen(x->flags)) &&
	    SG_PUT_LIT(dst, o, cap, "\r\n"))
		return true;
	*o = start;
	return false;
}
