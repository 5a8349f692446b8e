/* SPDX-License-Identifier: MIT */
/*
 * sys.h: the event loop's per-request system calls, without glibc's
 * cancellation bookkeeping. Once a second thread exists (the access-log
 * writer), every cancellation point (recv, send, sendmsg, epoll_wait)
 * brackets its system call with two atomic updates of the thread's cancel
 * state; no sockguard thread is ever cancelled, so the loop calls the
 * kernel directly. Same arguments, result and errno as the libc functions.
 * Sanitizer builds keep the libc calls, whose interceptors check the
 * buffers.
 */
#ifndef SOCKGUARD_SYS_H
#define SOCKGUARD_SYS_H

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <unistd.h>

/* GCC says __SANITIZE_ADDRESS__, clang __has_feature(address_sanitizer) */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SG_SYS_LIBC 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SG_SYS_LIBC 1
#endif

#if defined(SG_SYS_LIBC)
#define sg_sys_recv recv
#define sg_sys_send send
#define sg_sys_sendmsg sendmsg
#define sg_sys_epoll_wait epoll_wait
#else
/* recv, not read: a socket read through the VFS costs more (about 1.5% of
 * the loop's CPU per request, side by side) for the same bytes */
static inline ssize_t
sg_sys_recv(int fd, void *p, size_t n, int flags)
{
	return (ssize_t)syscall(SYS_recvfrom, fd, p, n, flags, NULL, NULL);
}

static inline ssize_t
sg_sys_send(int fd, const void *p, size_t n, int flags)
{
	return (ssize_t)syscall(SYS_sendto, fd, p, n, flags, NULL, 0);
}

static inline ssize_t
sg_sys_sendmsg(int fd, const struct msghdr *mh, int flags)
{
	return (ssize_t)syscall(SYS_sendmsg, fd, mh, flags);
}

static inline int
sg_sys_epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout_ms)
{
	return (int)syscall(SYS_epoll_wait, epfd, ev, max, timeout_ms);
}
#endif

#endif
