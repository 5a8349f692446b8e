/* SPDX-License-Identifier: MIT */
/*
 * log.h: operational log, access log and audit log. Records are built in
 * a caller-owned fixed buffer (no allocation) as JSON or logfmt, then
 * appended whole to a sink's ring buffer that a writer thread drains, so
 * logging never blocks the event loop: a full ring drops the record and
 * counts it. Every attacker-influenced string goes through the *_u
 * functions, which also turn CR and LF into the two characters \r / \n
 * before the normal escaping (SPEC 2.9.2).
 */
#ifndef SOCKGUARD_LOG_H
#define SOCKGUARD_LOG_H

#include "sockguard/common.h"
#include "sockguard/ir.h"

#define SG_LOGREC_CAP 16384

enum sg_log_sink {
	SG_SINK_OPS = 0, /* operational + access records (log.output) */
	SG_SINK_AUDIT,   /* log.audit.output */
	SG_SINK__COUNT,
};

struct sg_logrec {
	enum sg_log_sink sink;
	bool json;
	bool skip;      /* level filtered out: calls are no-ops */
	bool truncated;
	size_t len;
	char buf[SG_LOGREC_CAP];
};

/* Before configuration: JSON at info level to stderr, written directly. */
void sg_log_early(void);
/*
 * Opens the sinks of cfg and starts the writer thread. Returns 0, or -1
 * with a message in err.
 */
int sg_log_start(const struct sg_ir_log *cfg, char *err, size_t errlen);
/* Drains every ring and stops the writer (exit path). */
void sg_log_stop(void);
bool sg_log_enabled(enum sg_log_level lvl);
uint64_t sg_log_dropped(void);
/* Writes the log output refused (their records are lost). */
uint64_t sg_log_write_errors(void);

/* Record builder. */
void sg_log_begin(struct sg_logrec *r, enum sg_log_level lvl, const char *msg);
void sg_log_begin_audit(struct sg_logrec *r);
/*
 * Fields: k is a string literal (the macros take its length at compile
 * time; anything else does not compile).
 */
#define SG_LOG_KEY(k) (k ""), (sizeof(k "") - 1)
#define sg_log_str(r, k, v) sg_log_str_k(r, SG_LOG_KEY(k), v)
#define sg_log_strn(r, k, v, n) sg_log_strn_k(r, SG_LOG_KEY(k), v, n)
/* Untrusted strings (method, paths, client values, error texts). */
#define sg_log_ustr(r, k, v, n) sg_log_ustr_k(r, SG_LOG_KEY(k), v, n)
#define sg_log_int(r, k, v) sg_log_int_k(r, SG_LOG_KEY(k), v)
#define sg_log_bool(r, k, v) sg_log_bool_k(r, SG_LOG_KEY(k), v)
#define sg_log_ms(r, k, ns) sg_log_ms_k(r, SG_LOG_KEY(k), ns)
/* Appends raw JSON for a value (JSON sinks only; text sinks quote it). */
#define sg_log_raw(r, k, json) sg_log_raw_k(r, SG_LOG_KEY(k), json)
void sg_log_str_k(struct sg_logrec *r, const char *k, size_t kl,
    const char *v);
void sg_log_strn_k(struct sg_logrec *r, const char *k, size_t kl,
    const char *v, size_t n);
void sg_log_ustr_k(struct sg_logrec *r, const char *k, size_t kl,
    const char *v, size_t n);
void sg_log_int_k(struct sg_logrec *r, const char *k, size_t kl,
    long long v);
void sg_log_bool_k(struct sg_logrec *r, const char *k, size_t kl, bool v);
void sg_log_ms_k(struct sg_logrec *r, const char *k, size_t kl, int64_t ns);
void sg_log_raw_k(struct sg_logrec *r, const char *k, size_t kl,
    const char *json);
void sg_log_end(struct sg_logrec *r);
/*
 * Batching for the event loop: records are queued without waking the
 * writer; sg_log_kick() after each round wakes it when enough is queued
 * or the oldest record waited SG_LOG_FLUSH_NS, and says when to call
 * again (ns, -1: nothing queued).
 */
#define SG_LOG_FLUSH_NS (100 * 1000 * 1000LL)
void sg_log_batch(bool on);
int64_t sg_log_kick(int64_t now);

/* One-line conveniences for operational messages. */
void sg_log_msg(enum sg_log_level lvl, const char *fmt, ...) SG_PRINTF(2, 3);
#define sg_debug(...) sg_log_msg(SG_LOG_DEBUG, __VA_ARGS__)
#define sg_info(...)  sg_log_msg(SG_LOG_INFO, __VA_ARGS__)
#define sg_warnx(...) sg_log_msg(SG_LOG_WARN, __VA_ARGS__)
#define sg_errx(...)  sg_log_msg(SG_LOG_ERROR, __VA_ARGS__)

/*
 * JSON-escapes v[0..n) into out (cap bytes, NUL-terminated); untrusted
 * adds the CR/LF rule. Returns the bytes written (truncates safely).
 */
size_t sg_log_escape(char *out, size_t cap, const char *v, size_t n,
    bool untrusted);

#endif
