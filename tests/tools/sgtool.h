/* SPDX-License-Identifier: MIT */
/*
 * sgtool.h: what the test tools share: the escapes their DATA arguments
 * take, and a millisecond clock.
 */
#ifndef SGTOOL_H
#define SGTOOL_H

#include <stdlib.h>
#include <time.h>

/*
 * Decodes \r \n \t \0 \\ \xHH in s into out (at least strlen(s) bytes);
 * returns the length. A backslash before anything else stays as it is.
 */
static inline size_t
sgt_unescape(const char *s, char *out)
{
	size_t o = 0;

	while (*s) {
		if (*s != '\\') {
			out[o++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'r': out[o++] = '\r'; s++; break;
		case 'n': out[o++] = '\n'; s++; break;
		case 't': out[o++] = '\t'; s++; break;
		case '0': out[o++] = '\0'; s++; break;
		case '\\': out[o++] = '\\'; s++; break;
		case 'x': {
			char h[3] = {0, 0, 0};

			if (s[1] != '\0') {
				h[0] = s[1];
				h[1] = s[2];
			}
			out[o++] = (char)strtol(h, NULL, 16);
			s += s[1] != '\0' && s[2] != '\0' ? 3 : 1;
			break;
		}
		default: out[o++] = '\\'; break;
		}
	}
	return o;
}

/* Milliseconds on the monotonic clock. */
static inline long long
sgt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
