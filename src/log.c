/* SPDX-License-Identifier: MIT */
/*
 * log.c: log records and their sinks. Owns the sink fds, the per-sink
 * ring buffers and the writer thread. The event loop only formats into a
 * caller-owned buffer and appends under a short mutex; the writer thread
 * does every write(2), so a slow or stuck log consumer can never stall
 * request handling (records are dropped and counted instead).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sockguard/log.h"

#define LOG_RING_CAP (1u << 20)
#define LOG_WRITE_MAX (256u * 1024) /* bytes per write(2) */
/* seconds between two reports of a log output that refuses writes */
#define LOG_ERR_REPORT_S 10
/* longest wait for ring room before a record is dropped (and counted) */
#define LOG_WAIT_MS 250
/* longest wait at exit for the writers to write what is queued */
#define LOG_STOP_S 5

/*
 * A writer thread and the sinks it writes. Sinks whose outputs are one
 * file or pipe (stdout and stderr joined by 2>&1, or one path twice)
 * share a writer, so their records never interleave; any other pair gets
 * a writer each, so an output that is stuck for good (a reader that
 * stopped) costs only its own records.
 */
struct log_writer {
	pthread_t t;
	pthread_cond_t cv;
	bool wake;         /* asked to look at its rings (cv) */
	unsigned sinks;    /* bit i: writes lg.sink[i] */
};

/*
 * Where an output stands after refused writes (a full disk): a record it
 * holds cut short gets its line ended before anything else is written,
 * and the rest of a record whose bytes were lost is not written at all,
 * so no record is ever glued onto a fragment or starts mid-line.
 */
struct log_out {
	bool mid;      /* the last byte written ended no line */
	bool need_nl;  /* it holds a record cut short: end its line first */
	bool skip;     /* the next bytes continue a lost record: drop them */
};

struct log_sink {
	int fd;
	struct log_out out;
	bool json;
	bool owned;     /* opened by us: close on stop */
	char *ring;     /* LOG_RING_CAP bytes, NULL: write directly */
	size_t head;    /* next byte to write out */
	size_t len;     /* bytes queued */
	uint64_t dropped;
	uint64_t reported; /* drops already reported */
	bool stalled;   /* a wait for room timed out: drop, don't wait, until
	                 * the writer has emptied the ring */
	struct log_writer *w;
};

static struct {
	enum sg_log_level level;
	struct log_sink sink[SG_SINK__COUNT];
	pthread_mutex_t mu;
	pthread_cond_t space; /* a writer took bytes out of a ring */
	struct log_writer w[SG_SINK__COUNT];
	size_t nw;            /* writer threads running */
	bool running;
	bool stopping;
	bool batch;           /* the event loop wakes the writers (sg_log_kick) */
	size_t own_fds;       /* writers that have set up their fd table */
	size_t unkicked;      /* bytes queued since the writers were woken */
	int64_t last_kick;
	/* writes the output refused (ENOSPC, EIO, EPIPE): their bytes are
	 * lost; any thread may count, the writer reports on stderr */
	_Atomic uint64_t write_errors;
	_Atomic int write_errno;
} lg = {
	.level = SG_LOG_INFO,
	.sink = {{.fd = 2, .json = true}, {.fd = 2, .json = true}},
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.space = PTHREAD_COND_INITIALIZER,
};

/* Asks a writer to look at its rings; lg.mu held. */
static void
log_wake(struct log_writer *w)
{
	w->wake = true;
	pthread_cond_signal(&w->cv);
}

/* Every writer with something queued; lg.mu held. */
static void
log_wake_busy(void)
{
	size_t i;

	for (i = 0; i < SG_SINK__COUNT; i++)
		if (lg.sink[i].w != NULL && (lg.sink[i].len > 0 ||
		    lg.stopping))
			log_wake(lg.sink[i].w);
}

static const char *const log_level_names[] = {"DEBUG", "INFO", "WARN",
    "ERROR"};

static void log_put(struct sg_logrec *r, const char *s, size_t n);
static bool log_key(struct sg_logrec *r, const char *k, size_t kl,
    size_t vmin);
static void log_append(struct log_sink *s, const char *p, size_t n);
static void *log_writer(void *arg);
static bool log_same_output(int a, int b);
static void log_write_all(int fd, struct log_out *o, const char *p,
    size_t n);
static int log_open_output(const char *out, bool *owned, char *err,
    size_t errlen);

void
sg_log_early(void)
{
	lg.level = SG_LOG_INFO;
}

static int
log_open_output(const char *out, bool *owned, char *err, size_t errlen)
{
	int fd;

	*owned = false;
	if (strcmp(out, "stderr") == 0)
		return 2;
	if (strcmp(out, "stdout") == 0)
		return 1;
	fd = open(out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(err, errlen, "open log output \"%s\": %s", out,
		    strerror(errno));
		return -1;
	}
	*owned = true;
	return fd;
}

int
sg_log_start(const struct sg_ir_log *cfg, char *err, size_t errlen)
{
	struct log_sink *ops = &lg.sink[SG_SINK_OPS];
	struct log_sink *au = &lg.sink[SG_SINK_AUDIT];
	int i;

	ops->fd = log_open_output(cfg->output, &ops->owned, err, errlen);
	if (ops->fd == -1)
		return -1;
	ops->json = cfg->format == SG_LOGFMT_JSON;
	if (cfg->audit_enabled) {
		au->fd = log_open_output(cfg->audit_output, &au->owned, err,
		    errlen);
		if (au->fd == -1)
			return -1;
	}
	au->json = true;
	lg.level = cfg->level;
	lg.nw = 0;
	for (i = 0; i < SG_SINK__COUNT; i++) {
		struct log_sink *sk = &lg.sink[i];

		sk->w = NULL;
		sk->stalled = false;
		memset(&sk->out, 0, sizeof(sk->out));
		if (i == SG_SINK_AUDIT && !cfg->audit_enabled)
			continue; /* never written */
		sk->ring = malloc(LOG_RING_CAP);
		if (sk->ring == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		/* one output (the same file or pipe): one writer */
		if (i > 0 && log_same_output(sk->fd, lg.sink[0].fd)) {
			sk->w = lg.sink[0].w;
			sk->w->sinks |= 1u << i;
			continue;
		}
		sk->w = &lg.w[lg.nw++];
		memset(sk->w, 0, sizeof(*sk->w));
		pthread_cond_init(&sk->w->cv, NULL);
		sk->w->sinks = 1u << i;
	}
	lg.stopping = false; /* after an earlier sg_log_stop */
	lg.own_fds = 0;
	for (i = 0; i < (int)lg.nw; i++)
		if (pthread_create(&lg.w[i].t, NULL, log_writer,
		    &lg.w[i]) != 0) {
			snprintf(err, errlen, "cannot start the log writer "
			    "thread");
			return -1;
		}
	lg.running = true;
	/* nothing else is opened until the writers have their fd tables */
	pthread_mutex_lock(&lg.mu);
	while (lg.own_fds < lg.nw)
		pthread_cond_wait(&lg.space, &lg.mu);
	pthread_mutex_unlock(&lg.mu);
	return 0;
}

/* Whether a and b write to one file or pipe. */
static bool
log_same_output(int a, int b)
{
	struct stat sa, sb;

	if (a == b)
		return true;
	if (fstat(a, &sa) == -1 || fstat(b, &sb) == -1)
		return true; /* unknown: one writer is always safe */
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void
sg_log_stop(void)
{
	int i;

	struct timespec dl;
	size_t w;

	if (!lg.running)
		return;
	pthread_mutex_lock(&lg.mu);
	lg.stopping = true;
	lg.own_fds = 0;
	log_wake_busy();
	pthread_mutex_unlock(&lg.mu);
	/* an output stuck for good (a reader that stopped) must not keep
	 * the process from exiting: what it holds then is lost */
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += LOG_STOP_S;
	for (w = 0; w < lg.nw; w++)
		if (pthread_timedjoin_np(lg.w[w].t, NULL, &dl) != 0) {
			static const char m[] = "{\"level\":\"ERROR\",\"msg\":"
			    "\"log output stuck at exit: queued records "
			    "lost\"}\n";

			if (write(2, m, sizeof(m) - 1) < 0) {
				/* nothing is left to tell */
			}
			return; /* the rings stay: the stuck writer reads them */
		}
	for (w = 0; w < lg.nw; w++)
		pthread_cond_destroy(&lg.w[w].cv);
	lg.running = false;
	for (i = 0; i < SG_SINK__COUNT; i++) {
		free(lg.sink[i].ring);
		lg.sink[i].ring = NULL;
		if (lg.sink[i].owned)
			close(lg.sink[i].fd);
		lg.sink[i].fd = 2;
		lg.sink[i].owned = false;
	}
}

bool
sg_log_enabled(enum sg_log_level lvl)
{
	return lvl >= lg.level;
}

uint64_t
sg_log_dropped(void)
{
	uint64_t n;

	pthread_mutex_lock(&lg.mu);
	n = lg.sink[0].dropped + lg.sink[1].dropped;
	pthread_mutex_unlock(&lg.mu);
	return n;
}

/* Decimal digits of v; returns their count (at most 20). */
static size_t
log_utoa(char *out, unsigned long long v)
{
	char t[20];
	size_t n = 0, i;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		out[i] = t[n - 1 - i];
	return n;
}

/*
 * RFC 3339 local time with microseconds into out (at least 48 bytes);
 * returns the length. The part up to the seconds and the zone are
 * formatted once a second per thread.
 */
static size_t
log_time(char *out)
{
	static _Thread_local time_t tsec = -1;
	static _Thread_local char pre[40];
	static _Thread_local size_t prelen;
	static _Thread_local char zone[8];
	static _Thread_local size_t zonelen;
	struct timespec ts;
	long us;
	int i;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != tsec) {
		struct tm tm;
		long off;

		localtime_r(&ts.tv_sec, &tm);
		prelen = strftime(pre, sizeof(pre), "%Y-%m-%dT%H:%M:%S.", &tm);
		off = tm.tm_gmtoff / 60;
		if (off == 0)
			zonelen = (size_t)snprintf(zone, sizeof(zone), "Z");
		else
			zonelen = (size_t)snprintf(zone, sizeof(zone),
			    "%c%02ld:%02ld", off < 0 ? '-' : '+',
			    labs(off) / 60 % 100, labs(off) % 60);
		tsec = ts.tv_sec;
	}
	memcpy(out, pre, prelen);
	us = ts.tv_nsec / 1000;
	for (i = 5; i >= 0; i--) {
		out[prelen + (size_t)i] = (char)('0' + us % 10);
		us /= 10;
	}
	memcpy(out + prelen + 6, zone, zonelen);
	return prelen + 6 + zonelen;
}

void
sg_log_begin(struct sg_logrec *r, enum sg_log_level lvl, const char *msg)
{
	char t[64];
	size_t tl;

	r->sink = SG_SINK_OPS;
	r->json = lg.sink[SG_SINK_OPS].json;
	r->len = 0;
	r->truncated = false;
	r->skip = !sg_log_enabled(lvl);
	if (r->skip)
		return;
	tl = log_time(t);
	if (r->json) {
		log_put(r, "{\"time\":\"", 9);
		log_put(r, t, tl);
		log_put(r, "\",\"level\":\"", 11);
		log_put(r, log_level_names[lvl], strlen(log_level_names[lvl]));
		log_put(r, "\"", 1);
	} else {
		log_put(r, "time=", 5);
		log_put(r, t, tl);
		log_put(r, " level=", 7);
		log_put(r, log_level_names[lvl], strlen(log_level_names[lvl]));
	}
	sg_log_str(r, "msg", msg);
}

void
sg_log_begin_audit(struct sg_logrec *r)
{
	r->sink = SG_SINK_AUDIT;
	r->json = true;
	r->len = 0;
	r->truncated = false;
	r->skip = false;
	log_put(r, "{\"event_type\":\"http_request\"", 28);
}

/* printable ASCII that JSON and logfmt take as it is */
static inline bool
log_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/*
 * The bytes of the 8 in w that need escaping (a control, '"', '\\', DEL
 * or a byte >= 0x80); none is missed, see sg_bytes_below and sg_first_hit.
 */
static inline uint64_t
log_word_special(uint64_t w)
{
	return (sg_bytes_below(w, 0x20) | sg_bytes_eq(w, '"') |
	    sg_bytes_eq(w, '\\') | sg_bytes_eq(w, 0x7f) | w) & SG_BYTES_80;
}

/*
 * Escapes v[0..n) into out (at most cap bytes, no NUL); *all is set when
 * every input byte fit. Plain bytes are checked and copied a word at a
 * time (a word is stored whole and the part after a byte that needs
 * escaping is overwritten next): most values (paths, ids, names) need no
 * escaping at all.
 */
static size_t
log_escape_into(char *out, size_t cap, const char *v, size_t n,
    bool untrusted, bool *all)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i = 0;

	while (i < n) {
		unsigned char c;
		char e[8];
		size_t el;

		while (n - i >= 8 && cap - o >= 8) {
			uint64_t w = sg_word8(v + i);
			uint64_t m = log_word_special(w);

			memcpy(out + o, &w, 8);
			if (m != 0) {
				size_t k = sg_first_hit(m);

				i += k;
				o += k;
				break;
			}
			i += 8;
			o += 8;
		}
		while (i < n && o < cap && log_plain((unsigned char)v[i]))
			out[o++] = v[i++];
		if (i == n || o == cap)
			break;
		c = (unsigned char)v[i];
		if (untrusted && (c == '\r' || c == '\n')) {
			/* the two characters '\' 'r', then JSON-escaped */
			e[0] = '\\';
			e[1] = '\\';
			e[2] = c == '\r' ? 'r' : 'n';
			el = 3;
		} else if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			el = 2;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			e[0] = '\\';
			e[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			el = 2;
		} else {
			/* controls, DEL, and bytes >= 0x80 (not necessarily
			 * UTF-8): \u00XX keeps the JSON valid */
			e[0] = '\\';
			e[1] = 'u';
			e[2] = '0';
			e[3] = '0';
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			el = 6;
		}
		if (el > cap - o)
			break;
		memcpy(out + o, e, el);
		o += el;
		i++;
	}
	*all = i == n;
	return o;
}

size_t
sg_log_escape(char *out, size_t cap, const char *v, size_t n, bool untrusted)
{
	bool all;
	size_t o;

	if (cap == 0)
		return 0;
	o = log_escape_into(out, cap - 1, v, n, untrusted, &all);
	out[o] = '\0';
	return o;
}

/*
 * A record is built whole: every key goes in with at least a few bytes of
 * its value or not at all, a value longer than LOG_VALUE_MAX bytes (once
 * escaped) is cut and ends in "...", and room is always kept for
 * LOG_TAIL, the closing ,"truncated":true}\n. So one long client-supplied
 * field can neither push the decision and identity fields out of a
 * record nor leave it unparseable.
 */
#define LOG_TAIL 20
#define LOG_VALUE_MAX 2048

/* Room for n more bytes and the tail. */
static inline bool
log_room(const struct sg_logrec *r, size_t n)
{
	return n + LOG_TAIL <= sizeof(r->buf) - r->len;
}

/* Appends s[0..n) whole, or nothing (the record is marked truncated). */
static void
log_put(struct sg_logrec *r, const char *s, size_t n)
{
	if (!log_room(r, n)) {
		r->truncated = true;
		return;
	}
	memcpy(r->buf + r->len, s, n);
	r->len += n;
}

/*
 * Writes the separator and key when they fit with vmin bytes of value;
 * else writes nothing, marks the record and returns false (the caller
 * then drops the value).
 */
static bool
log_key(struct sg_logrec *r, const char *k, size_t kl, size_t vmin)
{
	char *p;

	if (!log_room(r, kl + 4 + vmin)) {
		r->truncated = true;
		return false;
	}
	/* one record holds a few dozen keys: no call per separator */
	p = r->buf + r->len;
	if (r->json) {
		*p++ = ',';
		*p++ = '"';
		memcpy(p, k, kl);
		p += kl;
		*p++ = '"';
		*p++ = ':';
	} else {
		*p++ = ' ';
		memcpy(p, k, kl);
		p += kl;
		*p++ = '=';
	}
	r->len = (size_t)(p - r->buf);
	return true;
}

/* A few bytes (a number, a quote) without a library call. */
static inline void
log_put_small(struct sg_logrec *r, const char *s, size_t n)
{
	char *p = r->buf + r->len;
	size_t i;

	if (!log_room(r, n)) {
		log_put(r, s, n);
		return;
	}
	for (i = 0; i < n; i++)
		p[i] = s[i];
	r->len += n;
}

/* the least a string value takes after its key: quotes and "..." */
#define LOG_VALUE_MIN 5

static void
log_value(struct sg_logrec *r, const char *v, size_t n, bool untrusted)
{
	size_t i, room;
	bool quote = r->json || n == 0, all;

	for (i = 0; i < n && !quote; i++)
		quote = v[i] == ' ' || v[i] == '"' || v[i] == '=' ||
		    (unsigned char)v[i] < 0x21 || v[i] == '\\';
	if (quote)
		log_put_small(r, "\"", 1);
	/* room for "...", the closing quote and the tail (log_key kept it) */
	room = sizeof(r->buf) - r->len - LOG_TAIL - 4;
	if (room > LOG_VALUE_MAX)
		room = LOG_VALUE_MAX;
	r->len += log_escape_into(r->buf + r->len, room, v, n, untrusted,
	    &all);
	if (!all) {
		memcpy(r->buf + r->len, "...", 3);
		r->len += 3;
		r->truncated = true;
	}
	if (quote)
		r->buf[r->len++] = '"';
}

void
sg_log_strn_k(struct sg_logrec *r, const char *k, size_t kl, const char *v,
    size_t n)
{
	if (r->skip || !log_key(r, k, kl, LOG_VALUE_MIN))
		return;
	log_value(r, v, n, false);
}

void
sg_log_str_k(struct sg_logrec *r, const char *k, size_t kl, const char *v)
{
	sg_log_strn_k(r, k, kl, v != NULL ? v : "", v != NULL ? strlen(v) : 0);
}

void
sg_log_ustr_k(struct sg_logrec *r, const char *k, size_t kl, const char *v,
    size_t n)
{
	if (r->skip || !log_key(r, k, kl, LOG_VALUE_MIN))
		return;
	log_value(r, v, n, true);
}

void
sg_log_int_k(struct sg_logrec *r, const char *k, size_t kl, long long v)
{
	char b[24];
	size_t n = 0;

	if (r->skip)
		return;
	if (v < 0) {
		b[n++] = '-';
		n += log_utoa(b + n, 0ULL - (unsigned long long)v);
	} else {
		n = log_utoa(b, (unsigned long long)v);
	}
	if (log_key(r, k, kl, n))
		log_put_small(r, b, n);
}

void
sg_log_bool_k(struct sg_logrec *r, const char *k, size_t kl, bool v)
{
	if (r->skip || !log_key(r, k, kl, 5))
		return;
	log_put(r, v ? "true" : "false", v ? 4 : 5);
}

void
sg_log_ms_k(struct sg_logrec *r, const char *k, size_t kl, int64_t ns)
{
	char b[32];
	size_t n = 0;
	unsigned long long us;

	if (r->skip)
		return;
	if (ns < 0) {
		b[n++] = '-';
		us = (0ULL - (unsigned long long)ns) / 1000;
	} else {
		us = (unsigned long long)ns / 1000;
	}
	n += log_utoa(b + n, us / 1000);
	b[n++] = '.';
	b[n++] = (char)('0' + us / 100 % 10);
	b[n++] = (char)('0' + us / 10 % 10);
	b[n++] = (char)('0' + us % 10);
	if (log_key(r, k, kl, n))
		log_put_small(r, b, n);
}

void
sg_log_raw_k(struct sg_logrec *r, const char *k, size_t kl,
    const char *json)
{
	size_t n = strlen(json);

	if (r->skip || !log_key(r, k, kl, r->json ? n : LOG_VALUE_MIN))
		return;
	if (r->json)
		log_put(r, json, n);
	else
		log_value(r, json, n, false);
}

/* Closes a record: the truncation mark, '}' and the newline. */
static void
log_finish(struct sg_logrec *r)
{
	/* the tail's room is always kept (LOG_TAIL) */
	if (r->truncated && r->json) {
		memcpy(r->buf + r->len, ",\"truncated\":true", 17);
		r->len += 17;
	} else if (r->truncated) {
		memcpy(r->buf + r->len, " truncated=true", 15);
		r->len += 15;
	}
	if (r->json)
		r->buf[r->len++] = '}';
	r->buf[r->len++] = '\n';
}

void
sg_log_end(struct sg_logrec *r)
{
	struct log_sink *s = &lg.sink[r->sink];

	if (r->skip)
		return;
	log_finish(r);
	if (s->ring == NULL) {
		log_write_all(s->fd, &s->out, r->buf, r->len);
		return;
	}
	pthread_mutex_lock(&lg.mu);
	if (r->len > LOG_RING_CAP - s->len && !lg.stopping && !s->stalled) {
		/*
		 * The writer fell behind (on a busy machine it may not get a
		 * CPU): wake it and wait for room rather than lose the record.
		 * The wait is bounded, so an output that is stuck for good (a
		 * blocked pipe) costs records, counted and reported, and not
		 * the proxy.
		 */
		struct timespec dl;

		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += LOG_WAIT_MS * 1000000L;
		dl.tv_sec += dl.tv_nsec / 1000000000L;
		dl.tv_nsec %= 1000000000L;
		log_wake(s->w);
		while (r->len > LOG_RING_CAP - s->len) {
			if (pthread_cond_timedwait(&lg.space, &lg.mu, &dl) ==
			    ETIMEDOUT) {
				s->stalled = true;
				break;
			}
		}
	}
	log_append(s, r->buf, r->len);
	if (lg.batch)
		lg.unkicked += r->len;
	else
		log_wake(s->w);
	pthread_mutex_unlock(&lg.mu);
}

void
sg_log_batch(bool on)
{
	pthread_mutex_lock(&lg.mu);
	lg.batch = on;
	log_wake_busy();
	pthread_mutex_unlock(&lg.mu);
}

/*
 * Called by the event loop after each round: wakes the writer when 64 KiB
 * are queued or the oldest queued record waited SG_LOG_FLUSH_NS, so a busy
 * proxy hands over big batches instead of waking a thread per request.
 * Returns the nanoseconds until the next flush is due (-1: nothing queued).
 */
int64_t
sg_log_kick(int64_t now)
{
	size_t n = lg.unkicked; /* only the loop thread writes it */

	if (n == 0) {
		lg.last_kick = now;
		return -1;
	}
	if (n < 64 * 1024 && now - lg.last_kick < SG_LOG_FLUSH_NS)
		return SG_LOG_FLUSH_NS - (now - lg.last_kick);
	pthread_mutex_lock(&lg.mu);
	lg.unkicked = 0;
	log_wake_busy();
	pthread_mutex_unlock(&lg.mu);
	lg.last_kick = now;
	return -1;
}

void
sg_log_msg(enum sg_log_level lvl, const char *fmt, ...)
{
	struct sg_logrec *r;
	char msg[4096];
	va_list ap;
	static _Thread_local struct sg_logrec rec;

	if (!sg_log_enabled(lvl))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r = &rec;
	sg_log_begin(r, lvl, msg);
	sg_log_end(r);
}

/* Appends a whole record or drops it; called with lg.mu held. */
static void
log_append(struct log_sink *s, const char *p, size_t n)
{
	size_t tail, first;

	if (n > LOG_RING_CAP - s->len) {
		s->dropped++;
		return;
	}
	tail = (s->head + s->len) % LOG_RING_CAP;
	first = LOG_RING_CAP - tail;
	if (first > n)
		first = n;
	memcpy(s->ring + tail, p, first);
	memcpy(s->ring, p + first, n - first);
	s->len += n;
}

static void
log_write_all(int fd, struct log_out *o, const char *p, size_t n)
{
	if (o->skip) {
		const char *e = memchr(p, '\n', n);

		if (e == NULL)
			return;
		n -= (size_t)(e + 1 - p);
		p = e + 1;
		o->skip = false;
	}
	while (n > 0) {
		ssize_t w = o->need_nl ? write(fd, "\n", 1) : write(fd, p, n);

		if (w == 0)
			errno = EIO; /* no progress: as refused */
		if (w <= 0) {
			if (w == -1 && errno == EINTR)
				continue;
			/* counted; the writer says so on stderr */
			atomic_store(&lg.write_errno, errno);
			atomic_fetch_add(&lg.write_errors, 1);
			o->need_nl = o->mid;
			o->skip = p[n - 1] != '\n';
			return;
		}
		if (o->need_nl) {
			o->need_nl = o->mid = false;
			continue;
		}
		o->mid = p[w - 1] != '\n';
		p += w;
		n -= (size_t)w;
	}
}

uint64_t
sg_log_write_errors(void)
{
	return atomic_load(&lg.write_errors);
}

/*
 * Says on stderr that the log output refuses writes (the output itself
 * may be what fails): once, then at most every LOG_ERR_REPORT_S seconds
 * while it goes on.
 */
static void
log_report_write_errors(uint64_t *reported, time_t *last)
{
	uint64_t n = atomic_load(&lg.write_errors);
	struct timespec now;
	char b[256];
	int m;

	if (n == *reported)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (*reported != 0 && now.tv_sec - *last < LOG_ERR_REPORT_S)
		return;
	*reported = n;
	*last = now.tv_sec;
	m = snprintf(b, sizeof(b), "{\"level\":\"ERROR\",\"msg\":\"log "
	    "output write failed: records lost\",\"error\":\"%s\","
	    "\"failed_writes_total\":%llu}\n",
	    strerror(atomic_load(&lg.write_errno)), (unsigned long long)n);
	if (write(2, b, (size_t)m) < 0) {
		/* stderr is gone too: nothing is left to tell */
	}
}

/*
 * The writer takes a private copy of the fd table holding only what it
 * writes to: stderr and the sinks. The event loop thread then owns its
 * table alone, and the kernel looks up its fds without taking a reference
 * (a shared table costs two atomic operations per socket call). Closing
 * the copies here leaves no socket or pipe end held open behind the
 * loop's back. Without unshare(2) the table stays shared, which works.
 */
static void
log_own_fds(void)
{
	int keep[SG_SINK__COUNT + 1], n = 0, i, j, lo = 0;

	if (unshare(CLONE_FILES) == -1)
		return;
	keep[n++] = 2;
	for (i = 0; i < SG_SINK__COUNT; i++)
		keep[n++] = lg.sink[i].fd;
	/* sorted: close every fd but the ones kept */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (i = 0; i < n; i++) {
		if (keep[i] > lo)
			(void)close_range((unsigned)lo, (unsigned)keep[i] - 1,
			    0);
		if (keep[i] + 1 > lo)
			lo = keep[i] + 1;
	}
	(void)close_range((unsigned)lo, ~0U, 0);
}

static void *
log_writer(void *arg)
{
	struct log_writer *w = arg;
	bool ops = (w->sinks & (1u << SG_SINK_OPS)) != 0;
	uint64_t err_reported = 0;
	time_t err_last = 0;

	log_own_fds();
	pthread_mutex_lock(&lg.mu);
	lg.own_fds++;
	pthread_cond_broadcast(&lg.space);
	for (;;) {
		bool any = false;
		uint64_t dropped = 0, reported = 0;
		int i;

		w->wake = false; /* what is queued now is looked at below */
		for (i = 0; i < SG_SINK__COUNT; i++) {
			struct log_sink *s = &lg.sink[i];
			size_t n = s->len, head = s->head;
			int fd = s->fd;

			if ((w->sinks & (1u << i)) == 0 || n == 0)
				continue;
			any = true;
			/*
			 * Straight from the ring, one contiguous part at a
			 * time: the bytes stay queued (producers only fill
			 * the free part) until they are written.
			 */
			if (n > LOG_RING_CAP - head)
				n = LOG_RING_CAP - head;
			if (n > LOG_WRITE_MAX)
				n = LOG_WRITE_MAX;
			pthread_mutex_unlock(&lg.mu);
			log_write_all(fd, &s->out, s->ring + head, n);
			pthread_mutex_lock(&lg.mu);
			s->head = (head + n) % LOG_RING_CAP;
			s->len -= n;
			if (s->len == 0)
				s->stalled = false;
			pthread_cond_broadcast(&lg.space);
		}
		if (any)
			continue;
		if (ops) {
			/* the ops log's writer tells of every sink's losses,
			 * a stuck audit output's too */
			pthread_mutex_unlock(&lg.mu);
			log_report_write_errors(&err_reported, &err_last);
			pthread_mutex_lock(&lg.mu);
			for (i = 0; i < SG_SINK__COUNT; i++) {
				dropped += lg.sink[i].dropped;
				reported += lg.sink[i].reported;
			}
		}
		/* its rings drained: a notice now cannot split a record */
		if (dropped != reported) {
			static _Thread_local struct sg_logrec rec;
			uint64_t au = lg.sink[SG_SINK_AUDIT].dropped;

			for (i = 0; i < SG_SINK__COUNT; i++)
				lg.sink[i].reported = lg.sink[i].dropped;
			pthread_mutex_unlock(&lg.mu);
			sg_log_begin(&rec, SG_LOG_WARN, "log records dropped "
			    "(log output too slow)");
			sg_log_int(&rec, "dropped_total", (long long)dropped);
			if (au > 0)
				sg_log_int(&rec, "audit_dropped_total",
				    (long long)au);
			pthread_mutex_lock(&lg.mu);
			if (!rec.skip) {
				/* into its own ring, written next round */
				log_finish(&rec);
				log_append(&lg.sink[SG_SINK_OPS], rec.buf,
				    rec.len);
			}
			continue;
		}
		/* asked to look while the lock was let go (the signal found
		 * no waiter): look again rather than wait for the next ask */
		if (w->wake)
			continue;
		if (lg.stopping)
			break; /* its rings are drained */
		pthread_cond_wait(&w->cv, &lg.mu);
	}
	pthread_mutex_unlock(&lg.mu);
	return NULL;
}
