/* SPDX-License-Identifier: MIT */
/*
 * nocred.so: an LD_PRELOAD shim for tests. getsockopt(SO_PEERCRED) fails
 * with EINVAL, so the daemon meets a unix client whose credentials it
 * cannot read (something Linux itself does not produce on demand); every
 * other call goes to the C library.
 */
#define _GNU_SOURCE
#include <sys/socket.h>

#include <dlfcn.h>
#include <errno.h>

int getsockopt(int fd, int level, int name, void *val, socklen_t *len);

int
getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	int (*real)(int, int, int, void *, socklen_t *);

	if (level == SOL_SOCKET && name == SO_PEERCRED) {
		errno = EINVAL;
		return -1;
	}
	*(void **)&real = dlsym(RTLD_NEXT, "getsockopt");
	return real(fd, level, name, val, len);
}
