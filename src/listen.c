/* SPDX-License-Identifier: MIT */
/*
 * listen.c: listening sockets. Owns binding (all listeners or none),
 * unix socket files (mode, ownership, stale-file replacement only when
 * nothing listens, unlink on exit when the inode is still ours) and the
 * accept loop (EMFILE handled with a reserve fd so it neither spins nor
 * crashes; accepting pauses at max_connections).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sockguard/log.h"
#include "sockguard/runtime.h"
#include "sockguard/tls.h"

#define LISTEN_BACKLOG 4096
#define ACCEPT_BATCH 64

static int listen_unix(struct sg_listener *l, char *err, size_t errlen);
static int listen_tcp(struct sg_listener *l, char *err, size_t errlen);
static void listen_on_accept(struct sg_ev *ev, int fd, unsigned events,
    void *arg);
static void listen_resume(struct sg_ev *ev, void *arg);

const char *
sg_listen_state_name(enum sg_lst_state s)
{
	static const char *const names[] = {"bound", "serving", "draining",
	    "stopped", "failed"};

	return names[s];
}

int
sg_listen_open_all(struct sg_server *srv, char *err, size_t errlen)
{
	const struct sg_ir *ir = srv->conf->ir;
	size_t i;

	srv->nlst = ir->nlisteners;
	srv->lst = calloc(srv->nlst, sizeof(*srv->lst));
	if (srv->lst == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* none holds fd 0: an undo after a failed bind closes only ours */
	for (i = 0; i < srv->nlst; i++)
		srv->lst[i].fd = -1;
	for (i = 0; i < srv->nlst; i++) {
		struct sg_listener *l = &srv->lst[i];
		int rc;

		l->srv = srv;
		l->ir = &ir->listeners[i];
		l->fd = -1;
		if (l->ir->socket != NULL && l->ir->socket[0] != '\0')
			rc = listen_unix(l, err, errlen);
		else
			rc = listen_tcp(l, err, errlen);
		if (rc == 0 && l->ir->tls.enabled) {
			char m[512];

			l->tls = sg_tls_server_ctx(&l->ir->tls, m, sizeof(m));
			if (l->tls == NULL) {
				snprintf(err, errlen, "listener %s: %s",
				    l->ir->name, m);
				rc = -1;
			} else {
				snprintf(l->label, sizeof(l->label), "tls:%s",
				    l->ir->address);
			}
		}
		if (rc == -1) {
			/* all or nothing: undo the ones already bound */
			sg_listen_close_all(srv);
			return -1;
		}
		l->state = SG_LST_BOUND;
	}
	srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return 0;
}

static int
listen_probe_live(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd, rc, e;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS)
		return 1;
	errno = e;
	return e == ECONNREFUSED ? 0 : -1;
}

/* Checks the file at path is the socket just bound and sets its owner. */
static int
listen_own_socket(const struct sg_listener *l, const char *path,
    struct stat *st, char *err, size_t errlen)
{
	int pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (pfd == -1 || fstat(pfd, st) == -1) {
		snprintf(err, errlen, "socket \"%s\" gone after bind: %s", path,
		    strerror(errno));
		if (pfd != -1)
			close(pfd);
		return -1;
	}
	if (!S_ISSOCK(st->st_mode) || st->st_uid != geteuid() ||
	    (st->st_mode & 07777) != (mode_t)l->ir->socket_mode) {
		snprintf(err, errlen, "socket path \"%s\" changed after bind "
		    "(now a %s, mode %04o, owner %u): refusing to set its "
		    "owner; is another process writing to that directory?",
		    path, S_ISSOCK(st->st_mode) ? "socket" : S_ISLNK(st->st_mode) ?
		    "symlink" : "file", (unsigned)(st->st_mode & 07777),
		    (unsigned)st->st_uid);
		close(pfd);
		return -1; /* not ours: left in place */
	}
	if ((l->ir->socket_uid >= 0 || l->ir->socket_gid >= 0) &&
	    fchownat(pfd, "", (uid_t)l->ir->socket_uid,
	    (gid_t)l->ir->socket_gid, AT_EMPTY_PATH) == -1) {
		snprintf(err, errlen, "chown socket \"%s\": %s", path,
		    strerror(errno));
		close(pfd);
		unlink(path);
		return -1;
	}
	close(pfd);
	return 0;
}

static int
listen_unix(struct sg_listener *l, char *err, size_t errlen)
{
	const char *path = l->ir->socket;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old;
	int fd, rc, tries;

	l->is_unix = true;
	snprintf(l->label, sizeof(l->label), "unix:%s", path);
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "listen socket path too long (max %zu "
		    "bytes): %s", sizeof(sun.sun_path) - 1, path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	for (tries = 0;; tries++) {
		old = umask(0777 & ~l->ir->socket_mode);
		rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
		umask(old);
		if (rc == 0)
			break;
		if (errno != EADDRINUSE || tries > 0) {
			snprintf(err, errlen, "bind unix socket \"%s\": %s",
			    path, strerror(errno));
			close(fd);
			return -1;
		}
		/* stale socket file? only replace it if nothing listens */
		if (lstat(path, &st) == -1 || !S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "socket path \"%s\" exists and "
			    "is not a socket", path);
			close(fd);
			return -1;
		}
		rc = listen_probe_live(path);
		if (rc != 0) {
			if (rc == 1)
				snprintf(err, errlen, "socket path \"%s\" is "
				    "actively serving another process; "
				    "refusing to steal a live listener", path);
			else
				snprintf(err, errlen, "socket path \"%s\": "
				    "cannot tell whether it is in use: %s",
				    path, strerror(errno));
			close(fd);
			return -1;
		}
		{
			struct stat st2;

			if (lstat(path, &st2) == -1 || st2.st_ino != st.st_ino ||
			    st2.st_dev != st.st_dev) {
				snprintf(err, errlen, "socket path \"%s\" "
				    "changed while replacing a stale socket",
				    path);
				close(fd);
				return -1;
			}
		}
		sg_warnx("replacing stale socket file %s", path);
		unlink(path);
	}
	/*
	 * The umask gave the socket its mode at bind. Its owner is set on
	 * the file found at the path only after checking it is the one
	 * bind made: a socket of ours with that mode, reached without
	 * following a symlink. Someone who can write to the directory could
	 * otherwise swap in a link to another file and have it chowned.
	 */
	if (listen_own_socket(l, path, &st, err, errlen) == -1) {
		close(fd);
		return -1;
	}
	if (listen(fd, LISTEN_BACKLOG) == -1) {
		snprintf(err, errlen, "listen on \"%s\": %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->path = strdup(path);
	l->fd = fd;
	return 0;
}

static int
listen_tcp(struct sg_listener *l, char *err, size_t errlen)
{
	const char *addr = l->ir->address;
	struct addrinfo hints = {0}, *res = NULL, *ai;
	char host[256], *port;
	const char *colon;
	int fd = -1, one = 1, rc;
	size_t hl;

	snprintf(l->label, sizeof(l->label), "tcp:%s", addr);
	colon = strrchr(addr, ':');
	if (colon == NULL) {
		snprintf(err, errlen, "listen address \"%s\" has no port",
		    addr);
		return -1;
	}
	hl = (size_t)(colon - addr);
	if (hl >= sizeof(host)) {
		snprintf(err, errlen, "listen address too long");
		return -1;
	}
	memcpy(host, addr, hl);
	host[hl] = '\0';
	port = host + hl; /* reuse tail for the port string below */
	(void)port;
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "listen address \"%s\": %s", addr,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, LISTEN_BACKLOG) == 0)
			break;
		rc = errno;
		close(fd);
		fd = -1;
		errno = rc;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(err, errlen, "bind %s: %s", addr, strerror(errno));
		return -1;
	}
	l->fd = fd;
	return 0;
}

void
sg_listen_start(struct sg_server *srv)
{
	size_t i;

	for (i = 0; i < srv->nlst; i++) {
		struct sg_listener *l = &srv->lst[i];

		sg_ev_set(srv->ev, l->fd, SG_EV_READ, listen_on_accept, l);
		l->state = SG_LST_SERVING;
	}
}

/* A listener at its own max_connections stays paused. */
static void
listen_pause_one(struct sg_listener *l, bool pause)
{
	if (l->fd == -1 || l->paused == pause || l->state != SG_LST_SERVING)
		return;
	if (!pause && l->nconns >= l->ir->max_connections)
		return;
	l->paused = pause;
	sg_ev_set(l->srv->ev, l->fd, pause ? 0 : SG_EV_READ, listen_on_accept,
	    l);
}

void
sg_listen_pause(struct sg_server *srv, bool pause)
{
	size_t i;

	for (i = 0; i < srv->nlst; i++)
		listen_pause_one(&srv->lst[i], pause);
}

static void
listen_resume(struct sg_ev *ev, void *arg)
{
	struct sg_server *srv = arg;

	(void)ev;
	if (!srv->draining)
		sg_listen_pause(srv, false);
}

static void
listen_on_accept(struct sg_ev *ev, int fd, unsigned events, void *arg)
{
	struct sg_listener *l = arg;
	struct sg_server *srv = l->srv;
	int i;

	(void)events;
	for (i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int cfd;

		if (l->nconns >= l->ir->max_connections) {
			/* this listener's bound: the others go on */
			if (l->full_logged == 0 ||
			    sg_ev_now(ev) - l->full_logged > 10 * SG_NS_PER_SEC) {
				sg_warnx("max_connections (%u) reached on %s; "
				    "accepting there paused",
				    l->ir->max_connections, l->label);
				l->full_logged = sg_ev_now(ev);
			}
			listen_pause_one(l, true);
			return;
		}
		cfd = accept4(fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EMFILE || errno == ENFILE) {
				/*
				 * Out of descriptors: use the reserve to take
				 * the connection off the queue and close it,
				 * then pause accepting briefly instead of
				 * spinning on a queue we cannot drain.
				 */
				static int64_t last_emfile;

				if (sg_ev_now(ev) - last_emfile >
				    10 * SG_NS_PER_SEC) {
					sg_errx("accept: %s; refusing connections "
					    "for 100ms at a time until "
					    "descriptors free up", strerror(errno));
					last_emfile = sg_ev_now(ev);
				}
				if (srv->reserve_fd != -1) {
					close(srv->reserve_fd);
					cfd = accept(fd, NULL, NULL);
					if (cfd != -1)
						close(cfd);
					srv->reserve_fd = open("/dev/null",
					    O_RDONLY | O_CLOEXEC);
				}
				sg_listen_pause(srv, true);
				sg_ev_timer_add(ev, sg_ev_now(ev) +
				    100 * SG_NS_PER_MS, listen_resume, srv);
				return;
			}
			sg_errx("accept on %s: %s", l->label, strerror(errno));
			return;
		}
		if (!l->is_unix) {
			int one = 1;

			setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
		}
		sg_conn_accept(srv, l, cfd, (struct sockaddr *)&ss, sl);
	}
}

void
sg_listen_close_all(struct sg_server *srv)
{
	size_t i;

	for (i = srv->nlst; i-- > 0;) {
		struct sg_listener *l = &srv->lst[i];
		struct stat st;

		if (l->fd != -1) {
			sg_ev_del(srv->ev, l->fd);
			close(l->fd);
			l->fd = -1;
		}
		if (l->path != NULL) {
			/* unlink only the socket file we created */
			if (lstat(l->path, &st) == 0 && st.st_ino == l->ino &&
			    st.st_dev == l->dev)
				unlink(l->path);
			free(l->path);
			l->path = NULL;
		}
		if (l->tls != NULL) {
			SSL_CTX_free(l->tls);
			l->tls = NULL;
		}
		l->state = SG_LST_STOPPED;
	}
}
