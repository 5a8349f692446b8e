/* SPDX-License-Identifier: MIT */
/*
 * host.c: tells a Host value that names the server by address (or as
 * localhost) from one that carries a DNS name, for plain TCP listeners,
 * where a DNS name may be a web page's rebinding one.
 */
#include <arpa/inet.h>

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "sockguard/http.h"

#define HOST_MAX 64 /* longer than any address or localhost name taken */

static bool
host_port_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > 5)
		return false;
	for (i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

bool
sg_http_host_is_local(const char *v, size_t n)
{
	char h[HOST_MAX + 1];
	const char *colon;
	size_t hl;
	unsigned char addr[16];

	if (n == 0)
		return true;
	if (v[0] == '[') {
		const char *rb = memchr(v, ']', n);

		if (rb == NULL)
			return false;
		hl = (size_t)(rb - v - 1);
		if (hl > HOST_MAX || (rb + 1 < v + n && (rb[1] != ':' ||
		    !host_port_ok(rb + 2, (size_t)(v + n - rb - 2)))))
			return false;
		memcpy(h, v + 1, hl);
		h[hl] = '\0';
		return inet_pton(AF_INET6, h, addr) == 1;
	}
	colon = memchr(v, ':', n);
	hl = colon != NULL ? (size_t)(colon - v) : n;
	if (hl == 0 || hl > HOST_MAX || (colon != NULL &&
	    !host_port_ok(colon + 1, (size_t)(v + n - colon - 1))))
		return false;
	memcpy(h, v, hl);
	h[hl] = '\0';
	if (h[hl - 1] == '.') /* the root label: "localhost." */
		h[--hl] = '\0';
	if (hl == 0)
		return false;
	if (inet_pton(AF_INET, h, addr) == 1)
		return true;
	return strcasecmp(h, "localhost") == 0 || (hl > 10 &&
	    strcasecmp(h + hl - 10, ".localhost") == 0);
}
