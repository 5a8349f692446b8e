/* SPDX-License-Identifier: MIT */
/*
 * runtime.h: the serving side's shared types: server, listeners, upstream
 * endpoints and their keep-alive pool, client connections and the
 * per-exchange buffers. Internal to the daemon (src/server.c, listen.c,
 * upstream.c, conn.c, respond.c, reqid.c); nothing config-side includes it.
 */
#ifndef SOCKGUARD_RUNTIME_H
#define SOCKGUARD_RUNTIME_H

#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/types.h>

#include <netdb.h>

#include <openssl/ssl.h>

#include "sockguard/conf.h"
#include "sockguard/ev.h"
#include "sockguard/http.h"

#define SG_HEAD_MAX       (32 * 1024)  /* heads held in the exchange buffer */
/*
 * A request head over SG_HEAD_MAX (a build's X-Registry-Config covering
 * many registries) moves to a mapping of its own, up to SG_HEAD_BIG, the
 * daemon's own limit. At most SG_BIG_MAX exchanges may be reading one at
 * once (a slow sender holds it), and at most SG_BIG_TOTAL hold one at all
 * (a long stream keeps its head's mapping): the first bound cannot be
 * used up by streams that were allowed and go on for hours.
 */
#define SG_HEAD_BIG       (1024 * 1024)
#define SG_BIG_MAX        32
#define SG_BIG_TOTAL      256
#define SG_BODY_ROOM      (16 * 1024)  /* body relay room after a head */
#define SG_RESP_BUF       (256 * 1024)
#define SG_HB_BUF         (8 * 1024)   /* rewritten response head */
#define SG_OUT_BUF        (SG_HEAD_MAX + 4096)
#define SG_HEAD_TIMEOUT   (5 * SG_NS_PER_SEC)
#define SG_IDLE_TIMEOUT   (120 * SG_NS_PER_SEC)
#define SG_DRAIN_TIMEOUT  (30 * SG_NS_PER_SEC)
#define SG_DIAL_TIMEOUT   (5 * SG_NS_PER_SEC)
#define SG_POOL_MAX_IDLE  1024
#define SG_POOL_IDLE_NS   (90 * SG_NS_PER_SEC)
/*
 * A response body goes through a pipe (splice) once this much of it is
 * left (a Content-Length body: more than one buffer's worth) or the
 * current chunk still owes this much data; below that, copying through
 * the buffer costs less than the pipe's extra syscalls.
 */
#define SG_SPLICE_MIN       (256 * 1024)
#define SG_SPLICE_MIN_CHUNK (32 * 1024)
/* the splice pipe, and the client send buffer asked for once splicing */
#define SG_SPLICE_PIPE    (1024 * 1024)
#define SG_SPLICE_SNDBUF  (512 * 1024)
/* exchanges that may hold an enlarged pipe at once; others splice through
 * the kernel's default (64 KiB), so clients that stop reading pin at most
 * this many enlarged buffers */
#define SG_SPLICE_BIG_MAX 64
/* bytes peeked at a chunk boundary of a spliced chunked body */
#define SG_SPLICE_PEEK    512
/* released this recently: reused without a liveness peek */
#define SG_POOL_HOT_NS    (100 * SG_NS_PER_MS)
#define SG_DISCARD_MAX    (1024 * 1024) /* body bytes skipped after a deny */
#define SG_REQID_LEN      32

struct sg_server;
struct sg_conn;

enum sg_lst_state {
	SG_LST_BOUND = 0,
	SG_LST_SERVING,
	SG_LST_DRAINING,
	SG_LST_STOPPED,
	SG_LST_FAILED,
};

struct sg_listener {
	struct sg_server *srv;
	const struct sg_ir_listener *ir;
	int fd;
	bool is_unix;
	char *path;          /* unix socket path we created */
	dev_t dev;
	ino_t ino;
	enum sg_lst_state state;
	bool paused;         /* accept paused (fd limit, max_connections) */
	uint32_t nconns;     /* open connections accepted here */
	int64_t full_logged; /* when max_connections was last logged */
	SSL_CTX *tls;        /* TLS listener context, NULL: plaintext */
	char label[160];     /* "unix:/path" or "tcp:127.0.0.1:2375" */
};

enum sg_ep_health {
	SG_EP_UNKNOWN = 0,
	SG_EP_HEALTHY,
	SG_EP_UNHEALTHY,
};

struct sg_upc;
struct sg_probe;

struct sg_endpoint {
	struct sg_server *srv;
	const struct sg_ir_endpoint *ir;
	size_t idx;
	struct sockaddr_storage sa;
	socklen_t salen;
	bool have_addr;
	SSL_CTX *tls;             /* TLS client context, NULL for plaintext */
	enum sg_ep_health health;
	int64_t health_at;        /* when health was last decided */
	char error[512];          /* last probe/dial error */
	struct sg_probe *probe;   /* probe in flight */
	struct gaicb gai;         /* async re-resolution of a host name */
	struct addrinfo gai_hints;
	bool gai_busy;
	struct sg_upc *idle;      /* pooled connections, most recent first */
	unsigned nidle;
	char label[256];          /* the address as configured */
	char engine_id[128];      /* from GET /info at startup */
	char cluster_id[128];
};

/*
 * A stream socket, plain or TLS. TLS may need the other direction than
 * the one used (a read waiting for writability and the reverse): the
 * wants flags say so, and the owner polls for that direction too.
 */
struct sg_sock {
	int fd;
	SSL *ssl;
	bool rd_wants_w;      /* TLS read waits for writability */
	bool wr_wants_r;      /* TLS write waits for readability */
	bool peer_shut;       /* SG_EV_HUP came: a short read is no proof
	                       * that nothing is left (the EOF may be) */
	bool gone;            /* SG_EV_ERROR came: the peer hung up for good
	                       * (both directions) or the socket failed */
};

/* bytes of a TLS writev joined into one record (a head and what follows) */
#define SG_TLS_COALESCE   (16 * 1024)
#define SG_SEND_JOIN      (8 * 1024)   /* parts this small: one send(2) */
/* sock.c: n > 0, 0 EOF, -1 would block (ready flags cleared), -2 error */
ssize_t sg_sock_read(struct sg_sock *s, char *p, size_t n, bool *rd, bool *wr);
ssize_t sg_sock_writev(struct sg_sock *s, struct iovec *iov, int cnt,
    bool *rd, bool *wr);
void sg_sock_shutdown_write(struct sg_sock *s);
/*
 * SG_EV_EDGE for a plain socket, whose reads and writes above forget
 * readiness only on proof (a short read empties a plain socket's queue
 * of bytes; see peer_shut for its end of file);
 * 0 for TLS, where OpenSSL may leave records in the socket after a read
 * that returned what it had.
 */
static inline unsigned
sg_sock_edge(const struct sg_sock *s)
{
	return s->ssl == NULL ? SG_EV_EDGE : 0;
}

/* One upstream connection: pooled (idle) or owned by a client conn. */
struct sg_upc {
	struct sg_sock s;
	struct sg_endpoint *ep;
	struct sg_upc *next, *prev;
	int64_t idle_since;
	bool reused;          /* served an earlier request */
	bool connected;       /* TCP connect finished */
	bool hs_done;         /* TLS handshake finished (or no TLS) */
	bool unseen_tail;     /* the last body was spliced, or its last read
	                       * was not short: bytes after it were never
	                       * looked at, so peek before reuse */
};

/* Buffers for one request/response exchange; idle connections hold none. */
struct sg_xfer {
	struct sg_xfer *next_free;
	struct sg_conf *conf;          /* reference held for this request */
	int64_t start_ns;

	/* client input: head, then body bytes, then pipelined bytes */
	uint32_t in_len;
	uint32_t head_len;
	size_t scan;                   /* request head end search */
	size_t rscan;                  /* response head end search */
	uint32_t b_off, b_end;         /* body bytes to send upstream */
	uint64_t req_left;             /* Content-Length bytes still to come */
	struct sg_chunked req_ck;
	bool req_done;                 /* request body fully read */
	uint64_t discarded;

	/* outbound head */
	uint32_t o_off, o_len;

	/* response from upstream */
	uint32_t r_len, r_off, r_end;
	uint32_t resp_head_len;
	uint8_t ninterim;        /* 1xx heads from the daemon so far */
	bool resp_head_done;
	uint64_t resp_left;
	struct sg_chunked resp_ck;
	bool resp_done;                /* body fully received */
	uint64_t resp_bytes;           /* body bytes relayed to the client */
	bool upstream_reusable;

	/* pending bytes to the client (response head or a local answer) */
	uint32_t h_off, h_len;
	/* hijacked stream between two plain sockets: splice through a pipe */
	bool piped;
	bool big_pipe;           /* ... enlarged (srv->nbig_pipes) */
	bool pipe_full;  /* a splice into it would block: wait for a drain */
	bool nosplice;   /* chunk framing invalid: copy the rest (it fails) */
	uint32_t ck_copy; /* a size line not yet whole: read these bytes */
	int pfd[2];
	uint32_t pipe_len, pipe_cap;

	/* decisions */
	int status;
	int rule;
	const char *decision;          /* "allow", "deny", "" */
	const char *reason_code;
	const char *reason;
	bool hijack;                   /* attach / exec start */
	bool tunnel;                   /* raw relay in progress */
	bool close_after;              /* close the client connection when done */
	bool retried;
	bool local;                    /* answered without the upstream */
	int profile;                   /* index in conf clients.profiles, -1 */
	int mode;                      /* enum sg_mode of the profile */
	char reqid[SG_REQID_LEN + 1];
	char trace_id[33];
	char span_id[17];
	char parent_id[17];
	char flags[3];
	uint32_t np_off, np_len;       /* canonical path in np[] */
	uint32_t dpath_off, dpath_len; /* decoded path inside in[] */

	struct sg_http_msg req;
	struct sg_http_msg resp;
	/*
	 * From here on nothing is cleared between exchanges. in, np and
	 * out point at the arrays below, or into big for a head over
	 * SG_HEAD_MAX; in_cap and out_cap are their sizes (np's is
	 * in_cap - SG_BODY_ROOM + 1, never less than a target's length).
	 */
	char *in, *np, *out;
	uint32_t in_cap, out_cap;
	char *big;               /* NULL, or the mapping in, np and out use */
	bool big_reading;        /* ... whose head is still coming in */
	char in_buf[SG_HEAD_MAX + SG_BODY_ROOM];
	char np_buf[SG_HEAD_MAX + 1];
	char out_buf[SG_OUT_BUF];
	char r[SG_RESP_BUF];
	char hb[SG_HB_BUF];
};

enum sg_conn_state {
	SG_CS_IDLE = 0,   /* keep-alive, no request */
	SG_CS_HANDSHAKE,  /* TLS listener: handshake before the first head */
	SG_CS_HEAD,       /* reading a request head */
	SG_CS_DIAL,       /* waiting for the upstream connect */
	SG_CS_EXCHANGE,   /* relaying request and response */
	SG_CS_TUNNEL,     /* hijacked raw bidirectional relay */
	SG_CS_LOCAL,      /* writing a response made here */
	SG_CS_CLOSED,
};

enum sg_tlist {
	SG_TL_NONE = 0,
	SG_TL_HEAD,      /* head timeout, also upstream dial */
	SG_TL_IDLE,      /* keep-alive idle */
	SG_TL_REQ,       /* upstream.request_timeout (sorted by deadline) */
	SG_TL__COUNT,
};

struct sg_conn {
	uint32_t magic;
	struct sg_server *srv;
	struct sg_listener *lst;
	struct sg_sock cs;   /* the client socket (TLS on TLS listeners) */
	struct sg_upc *up;
	struct sg_xfer *x;
	enum sg_conn_state st;
	/* timeout list (same duration per list, so FIFO order is deadline order) */
	enum sg_tlist tl;
	int64_t deadline;
	struct sg_conn *tprev, *tnext;
	/* all connections */
	struct sg_conn *prev, *next;
	bool client_eof;     /* read side saw EOF */
	bool client_wr_shut; /* we shut down our write side (tunnel) */
	bool up_eof;
	bool up_wr_shut;
	bool big_sndbuf;     /* client send buffer enlarged for splicing */
	unsigned nreq;
	char peer[64];
	/* client identity, read once per connection */
	bool has_cred;            /* unix: SO_PEERCRED worked */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int ip_family;            /* TCP: AF_INET / AF_INET6 (v4-mapped unmapped) */
	uint8_t ip[16];
	char cert_cn[128];        /* TLS: verified leaf subject CN */
	char cert_spki[65];       /* TLS: SHA-256 of the leaf's public key */
	/* profile cache: resolved per config generation */
	uint64_t prof_gen;
	int prof_idx;
};

struct sg_tlist_head {
	struct sg_conn *first, *last;
	int64_t timeout;
};

struct sg_server {
	struct sg_ev *ev;
	struct sg_conf *conf;          /* current generation */
	struct sg_conf *boot;          /* startup generation (listeners, endpoints) */
	struct sg_listener *lst;
	size_t nlst;
	struct sg_endpoint *ep;
	size_t nep;
	size_t active_ep;
	bool choose_later;             /* startup probes: pick once at the end */
	struct sg_conn *conns;         /* all open client connections */
	size_t nconns;
	struct sg_tlist_head tl[SG_TL__COUNT];
	struct sg_xfer *xfree;         /* free exchange buffers */
	size_t nxfree;
	size_t xfree_low;              /* fewest free buffers this second */
	size_t nxfer_busy;             /* buffers held by exchanges */
	unsigned nbig;                 /* of them holding a large head */
	unsigned nbig_reading;         /* ... still reading it */
	unsigned nbig_pipes;           /* exchanges with an enlarged pipe */
	int reserve_fd;                /* spare fd for EMFILE handling */
	bool draining;
	int64_t drain_deadline;
	int64_t started_ns;
	time_t started_wall;
	bool stop;
	uint64_t probe_timer;          /* recurring health probes */
	struct sg_reload *reload;      /* hot reload state, NULL: disabled */
	uint64_t reloads[5];           /* outcomes, enum sg_reload_outcome */
	/* /health upstream check cache */
	int64_t health_until;
	bool health_ok;
	uint64_t requests;
};

/* listen.c */
int sg_listen_open_all(struct sg_server *srv, char *err, size_t errlen);
void sg_listen_start(struct sg_server *srv);
void sg_listen_pause(struct sg_server *srv, bool pause);
void sg_listen_close_all(struct sg_server *srv);
const char *sg_listen_state_name(enum sg_lst_state s);

/* upstream.c */
int sg_upstream_init(struct sg_server *srv, char *err, size_t errlen);
void sg_upstream_fini(struct sg_server *srv);
struct sg_endpoint *sg_upstream_active(struct sg_server *srv);
/*
 * Returns a connection to the active endpoint: a pooled one that is still
 * alive, or a new non-blocking one (*connecting set when the TCP connect
 * or the TLS handshake is still to finish: see sg_upc_advance). NULL with
 * errno (and ep->error) on failure.
 */
struct sg_upc *sg_upstream_acquire(struct sg_server *srv, bool *connecting);
/* A new connection to ep (never pooled yet); NULL with ep->error set. */
struct sg_upc *sg_upstream_open(struct sg_endpoint *ep, bool *connecting);
/* Drives connect + handshake: SG_OK ready, SG_AGAIN (*want), SG_ERR. */
enum sg_rc sg_upc_advance(struct sg_upc *u, unsigned *want, char *err,
    size_t errlen);
void sg_upstream_release(struct sg_server *srv, struct sg_upc *u, bool reuse);
void sg_upstream_drop_pool(struct sg_server *srv, struct sg_endpoint *ep);
void sg_upstream_reap(struct sg_server *srv);
void sg_upstream_close_all(struct sg_server *srv);
bool sg_upstream_check(struct sg_server *srv);
/* Opens a connection and finishes connect + TLS, blocking up to ms. */
int sg_upstream_dial_blocking(struct sg_endpoint *ep, int ms, int *fd,
    SSL **ssl, char *err, size_t errlen);

/* failover.c */
/* Startup probe of every endpoint; -1 when none is reachable (err). */
int sg_failover_startup(struct sg_server *srv, char *err, size_t errlen);
void sg_failover_arm(struct sg_server *srv);
void sg_failover_set(struct sg_endpoint *ep, enum sg_ep_health h,
    const char *error);
/* A request could not dial the active endpoint: demote it now. */
void sg_failover_demote(struct sg_server *srv, struct sg_endpoint *ep,
    const char *error);
void sg_failover_probe(struct sg_endpoint *ep);
void sg_failover_stop(struct sg_server *srv);

/* conn.c */
void sg_conn_accept(struct sg_server *srv, struct sg_listener *l, int fd,
    const struct sockaddr *sa, socklen_t salen);
void sg_conn_expire(struct sg_server *srv);
void sg_conn_drain(struct sg_server *srv);
void sg_conn_trim(struct sg_server *srv);
void sg_conn_close_all(struct sg_server *srv);
int64_t sg_conn_next_deadline(struct sg_server *srv);

/* respond.c: local answers written into x->hb */
void sg_respond_json(struct sg_conn *c, int status, const char *body,
    size_t blen, bool close);
void sg_respond_error(struct sg_conn *c, int status, const char *message,
    bool close);
void sg_respond_deny(struct sg_conn *c, const char *method, size_t mlen);
void sg_respond_health(struct sg_conn *c);
const char *sg_status_text(int status);

/* reqid.c */
void sg_reqid_new(char out[SG_REQID_LEN + 1]);
void sg_random_hex(char *out, size_t nbytes);
/* Parses an inbound traceparent and fills the exchange's trace fields. */
void sg_trace_begin(struct sg_xfer *x, const char *tp, size_t len);
/*
 * Appends the "X-Request-Id" and "traceparent" header lines every head
 * carries (forwarded requests, relayed and local responses) at dst + *o;
 * false, with nothing written, when they do not fit in cap.
 */
bool sg_trace_headers(char *dst, size_t *o, size_t cap,
    const struct sg_xfer *x);

/* reload.c */
enum sg_reload_outcome {
	SG_RELOAD_APPLIED = 0,
	SG_RELOAD_UNCHANGED,
	SG_RELOAD_REJECTED_INVALID,
	SG_RELOAD_REJECTED_IMMUTABLE,
	SG_RELOAD_REJECTED_UNREADABLE,
};
struct sg_reload;
const char *sg_reload_outcome_name(enum sg_reload_outcome o);
/* Starts the file watcher when reload.enabled; -1 only on hard errors. */
int sg_reload_start(struct sg_server *srv, const struct sg_load_opts *o);
/* SIGHUP or a file change: (re)arms the debounce timer. */
void sg_reload_trigger(struct sg_server *srv, const char *why);
void sg_reload_stop(struct sg_server *srv);
/* SHA-256 of a file's bytes as hex ("" when unreadable). */
void sg_sha256_file(const char *path, char out[65]);

/* server.c: takes over the reference to conf */
int sg_server_run(struct sg_conf *conf, const struct sg_load_opts *o);
extern const char sg_version[];

#endif
