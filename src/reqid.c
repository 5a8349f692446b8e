/* SPDX-License-Identifier: MIT */
/*
 * reqid.c: request ids and W3C trace context (SPEC 2.9.5). Owns a pool of
 * random bytes refilled from getrandom(2) so ids cost no syscall per
 * request; falls back to a clock + counter id if entropy is unavailable.
 */
#include <sys/random.h>

#include <string.h>

#include "sockguard/runtime.h"

static unsigned char rnd_pool[4096];
static size_t rnd_left;
static uint64_t rnd_counter;

static void
rnd_bytes(unsigned char *out, size_t n)
{
	while (n > 0) {
		size_t take;

		if (rnd_left == 0) {
			ssize_t r = getrandom(rnd_pool, sizeof(rnd_pool),
			    GRND_NONBLOCK);

			if (r != (ssize_t)sizeof(rnd_pool)) {
				/* fallback: monotonic time and a counter */
				uint64_t t = (uint64_t)sg_ev_clock();
				size_t i;

				for (i = 0; i < sizeof(rnd_pool); i += 16) {
					uint64_t k = ++rnd_counter;

					memcpy(rnd_pool + i, &t, 8);
					memcpy(rnd_pool + i + 8, &k, 8);
				}
			}
			rnd_left = sizeof(rnd_pool);
		}
		take = n < rnd_left ? n : rnd_left;
		memcpy(out, rnd_pool + sizeof(rnd_pool) - rnd_left, take);
		rnd_left -= take;
		out += take;
		n -= take;
	}
}

void
sg_random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[32];
	size_t i;
	int tries;

	if (nbytes > sizeof(b))
		nbytes = sizeof(b);
	for (tries = 0; tries < 3; tries++) {
		unsigned char any = 0;

		rnd_bytes(b, nbytes);
		for (i = 0; i < nbytes; i++)
			any |= b[i];
		if (any != 0)
			break;
		b[nbytes - 1] = 1; /* ids must not be all zeros */
	}
	for (i = 0; i < nbytes; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
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
