/* SPDX-License-Identifier: MIT */
/*
 * path.h: the one canonical-path function every layer uses (SPEC 2.6.3).
 * decode once -> lexical clean -> strip one API version prefix.
 * Two layers disagreeing about a path is a bypass, so nothing else in the
 * tree may clean or decode paths.
 */
#ifndef SOCKGUARD_PATH_H
#define SOCKGUARD_PATH_H

#include <sys/types.h>

#include "sockguard/common.h"

/*
 * Percent-decodes exactly once (%XX for every byte, including %2F and
 * %2E). out must have room for len bytes. Returns the decoded length, or
 * -1 when an escape is malformed (%zz, truncated): the HTTP layer answers
 * 400 before any policy runs.
 */
ssize_t sg_path_decode(const char *in, size_t len, char *out);

/* The API version prefix found in a cleaned path. */
struct sg_path_ver {
	bool present;
	uint32_t len;    /* bytes of "/v1.41" at the start of the cleaned path */
	unsigned major;
	unsigned minor;  /* 0 when absent ("/v1/") */
	/*
	 * The first segment is one a daemon routes as an API version ("v",
	 * then a digit or '.', then digits, letters, '.' or '-': Docker
	 * routes v[0-9.]+, Podman v[0-9][0-9A-Za-z.-]*) but not the form
	 * stripped here ("/v1.40.0.1/", "/v1.40./", "/v1..41/"). The daemon
	 * would strip it where the rules did not: such a request is refused.
	 */
	bool odd;
};

/* Whether the path named an API version below major.minor. */
static inline bool
sg_path_ver_below(const struct sg_path_ver *v, unsigned major,
    unsigned minor)
{
	return v->present && (v->major < major ||
	    (v->major == major && v->minor < minor));
}

/*
 * Canonicalises an already-decoded path: POSIX path.Clean semantics
 * (collapse '/', drop '.', resolve '..' never above root, drop a trailing
 * '/' except for root), then strip one leading version prefix
 * ("/v" digits ["." digits ["." digits]] followed by '/'; lower-case v),
 * or set ver->odd for a version-like first segment of any other form.
 * Writes the cleaned path to out (room for len + 1 bytes; NUL-terminated)
 * and returns its length. The canonical path (NP) is out + ver->len,
 * the stripped prefix is out[0 .. ver->len). An empty input yields "".
 */
size_t sg_path_canon(const char *in, size_t len, char *out,
    struct sg_path_ver *ver);

/*
 * Percent-encodes a decoded path for the request line sent upstream, so
 * the daemon's single decode yields exactly the bytes the policy judged:
 * everything but unreserved, sub-delims, ':' '@' and '/' becomes %XX.
 * Returns the encoded length, or 0 when it does not fit in cap.
 */
size_t sg_path_encode(const char *in, size_t len, char *out, size_t cap);

#endif
