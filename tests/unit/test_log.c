/* SPDX-License-Identifier: MIT */
/*
 * test_log.c: the log writer under pressure. A slow output must cost the
 * event loop waiting, not records; an output that is stuck for good must
 * cost records (counted), not the event loop. Each test runs in its own
 * process (Check's fork mode): the logger is process-wide, and stdout is
 * pointed at a pipe that the test drains or leaves full.
 */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "sockguard/log.h"

#define REC_PAD 256

Suite *suite_log(void);

struct drain {
	int fd;
	unsigned long lines;
	unsigned long drops_reported;
	unsigned long misplaced; /* records not the next one, or garbled */
};

/*
 * Checks one record line of log_records: JSON with the msg, its number
 * (the next expected) and then the whole pad.
 */
static bool
drain_line_ok(const char *l, size_t n, unsigned long want)
{
	char head[64];
	int hl = snprintf(head, sizeof(head),
	    "\",\"msg\":\"request\",\"i\":%lu,\"pad\":\"", want);
	const char *pad = l + n - REC_PAD - 2;
	size_t i;

	if (n < (size_t)hl + REC_PAD + 2 || memcmp(l, "{\"time\":\"", 9) != 0 ||
	    memcmp(pad - hl, head, (size_t)hl) != 0 ||
	    memcmp(l + n - 2, "\"}", 2) != 0)
		return false;
	for (i = 0; i < REC_PAD; i++)
		if (pad[i] != 'x')
			return false;
	return true;
}

/* Reads the pipe at a limited pace (a slow disk or collector), counting
 * records and drop notices and checking each record. */
static void *
drain_slowly(void *arg)
{
	struct drain *d = arg;
	static char buf[64 * 1024], l[4096];
	const struct timespec pause = {0, 2 * 1000 * 1000};
	size_t ll = 0;
	ssize_t n, i;

	while ((n = read(d->fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (ll < sizeof(l))
					l[ll++] = buf[i];
				continue;
			}
			/* a notice line starts with {"level":"WARN" */
			if (ll > 15 && memcmp(l, "{\"level\":\"WARN\"", 15) == 0)
				d->drops_reported++;
			else if (!drain_line_ok(l, ll, d->lines))
				d->misplaced++;
			d->lines++;
			ll = 0;
		}
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static void
log_to_stdout(void)
{
	struct sg_ir_log cfg = {
		.level = SG_LOG_INFO,
		.format = SG_LOGFMT_JSON,
		.output = "stdout",
	};
	char err[256];

	ck_assert_int_eq(sg_log_start(&cfg, err, sizeof(err)), 0);
	sg_log_batch(true); /* as the event loop runs it */
}

static void
log_records(unsigned long n)
{
	static struct sg_logrec r;
	char pad[REC_PAD + 1];
	unsigned long i;

	memset(pad, 'x', REC_PAD);
	pad[REC_PAD] = '\0';
	for (i = 0; i < n; i++) {
		sg_log_begin(&r, SG_LOG_INFO, "request");
		sg_log_int(&r, "i", (long long)i);
		sg_log_str(&r, "pad", pad);
		sg_log_end(&r);
	}
}

START_TEST(slow_output_loses_nothing)
{
	/* ~9 MB of records, nine times the ring, into a reader that takes
	 * about 30 MB/s: the logger waits for room instead of dropping */
	const unsigned long n = 30000;
	struct drain d = {0};
	pthread_t t;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(dup2(p[1], 1), 1);
	close(p[1]);
	d.fd = p[0];
	ck_assert_int_eq(pthread_create(&t, NULL, drain_slowly, &d), 0);
	log_to_stdout();
	log_records(n);
	sg_log_stop(); /* drains the ring */
	ck_assert_uint_eq(sg_log_dropped(), 0);
	close(1);
	pthread_join(t, NULL);
	ck_assert_uint_eq(d.drops_reported, 0);
	ck_assert_uint_eq(d.lines, n);
	/* whole and in order, through a ring that wrapped many times */
	ck_assert_uint_eq(d.misplaced, 0);
}
END_TEST

START_TEST(stuck_output_costs_records_not_the_loop)
{
	/* nobody reads: after one bounded wait the logger drops and counts
	 * (without the bound, this test would outlive its timeout) */
	int p[2];

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(dup2(p[1], 1), 1);
	close(p[1]);
	/* the stuck write will fail (EPIPE): the writer can stop, and says
	 * so on stderr, which this test does not need to see */
	ck_assert_int_eq(dup2(open("/dev/null", O_WRONLY), 2), 2);
	log_to_stdout();
	log_records(20000);
	ck_assert_uint_gt(sg_log_dropped(), 0);
	/* the writer holds no copy of the read end: closing it here is
	 * what unblocks the writer (else sg_log_stop would hang) */
	close(p[0]);
	sg_log_stop();
}
END_TEST

/* The whole file at path (NUL-terminated, at most 64 MiB), removed. */
static char *
slurp_and_remove(const char *path, size_t *got)
{
	size_t cap = 64 << 20;
	char *buf = malloc(cap);
	FILE *f = fopen(path, "r");

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(f);
	*got = fread(buf, 1, cap - 1, f);
	fclose(f);
	unlink(path);
	buf[*got] = '\0';
	return buf;
}

/*
 * Two outputs, and the audit one stuck for good (a pipe nobody reads): the
 * access records still reach their file whole, the audit losses are told
 * there, and stopping gives up on the stuck writer in bounded time.
 */
START_TEST(a_stuck_audit_output_costs_only_audit_records)
{
	char path[] = "/tmp/sg-logtest.XXXXXX", err[256], *buf;
	struct sg_ir_log cfg = {
		.level = SG_LOG_INFO,
		.format = SG_LOGFMT_JSON,
		.audit_enabled = true,
		.audit_output = "stdout",
	};
	static struct sg_logrec r;
	struct timespec t0, t1;
	unsigned long i, lines = 0;
	const unsigned long n = 20000;
	size_t got;
	int p[2], fd;

	signal(SIGPIPE, SIG_IGN);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	cfg.output = path;
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(dup2(p[1], 1), 1);
	close(p[1]);
	ck_assert_int_eq(sg_log_start(&cfg, err, sizeof(err)), 0);
	sg_log_batch(true);
	for (i = 0; i < n; i++) {
		sg_log_begin_audit(&r);
		sg_log_int(&r, "i", (long long)i);
		sg_log_str(&r, "pad", "................................"
		    "................................................");
		sg_log_end(&r);
		sg_log_begin(&r, SG_LOG_INFO, "request");
		sg_log_int(&r, "i", (long long)i);
		sg_log_end(&r);
		(void)sg_log_kick(0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sg_log_stop(); /* the audit pipe is still full */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_le(t1.tv_sec - t0.tv_sec, 7);
	ck_assert_uint_gt(sg_log_dropped(), 0);
	buf = slurp_and_remove(path, &got);
	for (i = 0; i < got; i++)
		lines += buf[i] == '\n';
	/* every access record, and the notice naming the audit losses */
	ck_assert_ptr_nonnull(strstr(buf, "\"msg\":\"request\",\"i\":19999}"));
	ck_assert_ptr_nonnull(strstr(buf, "\"msg\":\"log records dropped "
	    "(log output too slow)\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"audit_dropped_total\":"));
	ck_assert_uint_ge(lines, n + 1);
	free(buf);
	close(p[0]);
}
END_TEST

/*
 * A file that fills up (here a file size limit: writes are cut short, then
 * refused) and frees room again: the record cut short ends its own line,
 * the rest of a lost record is never written, and every later record is
 * whole on a line of its own.
 */
START_TEST(a_full_disk_never_glues_records)
{
	char path[] = "/tmp/sg-logtest.XXXXXX", err[256], *buf, *l, *e;
	struct sg_ir_log cfg = {
		.level = SG_LOG_INFO,
		.format = SG_LOGFMT_JSON,
	};
	struct rlimit rl;
	static struct sg_logrec r;
	char pad[REC_PAD + 1];
	unsigned long i, whole = 0, cut = 0, last = 0;
	size_t got;
	int fd;

	signal(SIGXFSZ, SIG_IGN);
	memset(pad, 'x', REC_PAD);
	pad[REC_PAD] = '\0';
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	cfg.output = path;
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
	ck_assert_int_eq(sg_log_start(&cfg, err, sizeof(err)), 0);
	for (i = 0; i < 400; i++) {
		struct rlimit lim = rl;

		/* full from record 100 to 299, at a byte inside a record */
		if (i == 100) {
			lim.rlim_cur = 100 * 340 + 123;
			ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
		} else if (i == 300) {
			while (sg_log_write_errors() == 0)
				sched_yield();
			ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
		}
		sg_log_begin(&r, SG_LOG_INFO, "request");
		sg_log_int(&r, "i", (long long)i);
		sg_log_str(&r, "pad", pad);
		sg_log_end(&r);
		if (i == 299) {
			/* let the writer meet the limit before it goes */
			struct timespec t = {0, 200 * 1000 * 1000};

			nanosleep(&t, NULL);
		}
	}
	sg_log_stop();
	buf = slurp_and_remove(path, &got);
	ck_assert_int_eq(buf[got - 1], '\n');
	for (l = buf; *l != '\0'; l = e + 1) {
		char *rec;

		e = strchr(l, '\n');
		ck_assert_ptr_nonnull(e);
		*e = '\0';
		/* no record starts anywhere but at a line's start */
		rec = strstr(l + 1, "{\"time\":");
		ck_assert_msg(rec == NULL, "a record glued on: %.80s", l);
		ck_assert_msg(strncmp(l, "{\"time\":", 8) == 0,
		    "a line that starts mid-record: %.80s", l);
		if (e - l > 2 && strcmp(e - 2, "\"}") == 0) {
			char *ip = strstr(l, "\"i\":");

			ck_assert_ptr_nonnull(ip);
			last = strtoul(ip + 4, NULL, 10);
			whole++;
		} else {
			cut++;
		}
	}
	ck_assert_uint_le(cut, 1);       /* the one the limit cut */
	ck_assert_uint_eq(last, 399);    /* records after the room came back */
	ck_assert_uint_lt(whole, 400);   /* some were lost meanwhile */
	ck_assert_uint_gt(whole, 150);
	free(buf);
}
END_TEST

/*
 * Outside the event loop's batching every record is written at once:
 * none waits in the ring for a later one to wake the writer, however it
 * falls among the writer's own steps. The first record after a start
 * comes while the writer is still starting; later ones right after the
 * writer wrote the one before.
 */
START_TEST(each_record_is_written_without_waiting_for_the_next)
{
	struct sg_ir_log cfg = {
		.level = SG_LOG_INFO,
		.format = SG_LOGFMT_JSON,
		.output = "stdout",
	};
	static struct sg_logrec r;
	char err[256], buf[4096];
	int p[2], round, i;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(dup2(p[1], 1), 1);
	close(p[1]);
	for (round = 0; round < 500; round++) {
		ck_assert_int_eq(sg_log_start(&cfg, err, sizeof(err)), 0);
		for (i = 0; i < 20; i++) {
			struct pollfd pf = {.fd = p[0], .events = POLLIN};
			ssize_t n;

			sg_log_begin(&r, SG_LOG_INFO, "one");
			sg_log_int(&r, "i", i);
			sg_log_end(&r);
			ck_assert_msg(poll(&pf, 1, 2000) == 1,
			    "round %d: record %d unwritten after 2 s", round,
			    i);
			n = read(p[0], buf, sizeof(buf));
			ck_assert_int_gt(n, 0);
			ck_assert_int_eq(buf[n - 1], '\n');
		}
		sg_log_stop();
	}
	close(1);
	close(p[0]);
}
END_TEST

START_TEST(refused_writes_are_counted_and_reported)
{
	/* an output that refuses every write (ENOSPC): the records are
	 * lost, but counted and reported on stderr */
	struct sg_ir_log cfg = {
		.level = SG_LOG_INFO,
		.format = SG_LOGFMT_JSON,
		.output = "/dev/full",
	};
	char err[256], out[4096];
	ssize_t n;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(dup2(p[1], 2), 2);
	close(p[1]);
	ck_assert_int_eq(sg_log_start(&cfg, err, sizeof(err)), 0);
	log_records(10);
	sg_log_stop();
	ck_assert_uint_gt(sg_log_write_errors(), 0);
	close(2);
	n = read(p[0], out, sizeof(out) - 1);
	ck_assert_int_gt(n, 0);
	out[n] = '\0';
	ck_assert_msg(strstr(out, "\"msg\":\"log output write failed: "
	    "records lost\",\"error\":\"No space left on device\"") != NULL,
	    "stderr: %s", out);
}
END_TEST

/* A record with only the fields the test adds: the time, level and msg
 * that sg_log_begin writes are cut off. */
static void
rec_start(struct sg_logrec *r, bool json)
{
	sg_log_begin(r, SG_LOG_ERROR, "x");
	ck_assert(!r->skip);
	r->len = 0;
	r->json = json;
	r->truncated = false;
}

static void
rec_is(const struct sg_logrec *r, const char *want)
{
	ck_assert_uint_eq(r->len, strlen(want));
	ck_assert_msg(memcmp(r->buf, want, r->len) == 0, "got <%.*s> want <%s>",
	    (int)r->len, r->buf, want);
}

START_TEST(json_fields)
{
	static struct sg_logrec r;

	rec_start(&r, true);
	sg_log_str(&r, "method", "GET");
	sg_log_str(&r, "empty", "");
	sg_log_str(&r, "null", NULL);
	sg_log_int(&r, "rule", -1);
	sg_log_int(&r, "zero", 0);
	sg_log_int(&r, "big", 18446744073709551LL);
	sg_log_int(&r, "min", -9223372036854775807LL - 1);
	sg_log_bool(&r, "t", true);
	sg_log_bool(&r, "f", false);
	sg_log_ms(&r, "ms", 1234567);
	sg_log_ms(&r, "ms0", 999);
	sg_log_ms(&r, "neg", -2500000);
	sg_log_raw(&r, "raw", "{\"a\":1}");
	rec_is(&r, ",\"method\":\"GET\",\"empty\":\"\",\"null\":\"\","
	    "\"rule\":-1,\"zero\":0,\"big\":18446744073709551,"
	    "\"min\":-9223372036854775808,\"t\":true,\"f\":false,"
	    "\"ms\":1.234,\"ms0\":0.000,\"neg\":-2.500,\"raw\":{\"a\":1}");
	ck_assert(!r.truncated);
}
END_TEST

START_TEST(json_escaping)
{
	static struct sg_logrec r;
	const char bin[] = {'a', 0x01, 0x7f, (char)0xc3, (char)0xa9, 'z'};

	rec_start(&r, true);
	sg_log_str(&r, "q", "say \"hi\" \\ there");
	sg_log_str(&r, "ctl", "a\tb\nc\rd");
	sg_log_ustr(&r, "u", "GET /x\r\nX-Evil: 1", 17);
	sg_log_strn(&r, "bin", bin, sizeof(bin));
	sg_log_ustr(&r, "nul", "a\0b", 3);
	rec_is(&r, ",\"q\":\"say \\\"hi\\\" \\\\ there\","
	    "\"ctl\":\"a\\tb\\nc\\rd\","
	    "\"u\":\"GET /x\\\\r\\\\nX-Evil: 1\","
	    "\"bin\":\"a\\u0001\\u007f\\u00c3\\u00a9z\","
	    "\"nul\":\"a\\u0000b\"");
}
END_TEST

START_TEST(logfmt_fields)
{
	static struct sg_logrec r;

	rec_start(&r, false);
	sg_log_str(&r, "method", "GET");
	sg_log_str(&r, "empty", "");
	sg_log_str(&r, "sp", "a b");
	sg_log_str(&r, "eq", "a=b");
	sg_log_str(&r, "q", "a\"b");
	sg_log_ustr(&r, "u", "x\ny", 3);
	sg_log_int(&r, "n", 42);
	sg_log_bool(&r, "b", true);
	sg_log_ms(&r, "ms", 5000);
	sg_log_raw(&r, "raw", "{\"a\":1}");
	rec_is(&r, " method=GET empty=\"\" sp=\"a b\" eq=\"a=b\" q=\"a\\\"b\""
	    " u=\"x\\\\ny\" n=42 b=true ms=0.005 raw=\"{\\\"a\\\":1}\"");
}
END_TEST

/*
 * A long client-supplied value is cut (and ends in "..."), and fields
 * after it are still there; once the record is full, keys go in whole
 * with a value or not at all.
 */
static bool
rec_has(const struct sg_logrec *r, const char *want)
{
	return memmem(r->buf, r->len, want, strlen(want)) != NULL;
}

START_TEST(long_values_leave_room_for_later_fields)
{
	static struct sg_logrec r;
	static char big[SG_LOGREC_CAP];
	const char *p;
	int i;

	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rec_start(&r, true);
	sg_log_ustr(&r, "path", big, strlen(big));
	sg_log_ustr(&r, "client_request_id", big, strlen(big));
	sg_log_str(&r, "decision", "deny");
	sg_log_int(&r, "status", 403);
	ck_assert(r.truncated);
	ck_assert_msg(rec_has(&r, "yyy...\",\"client_request_id\":"),
	    "the cut value ends in ...");
	ck_assert_msg(rec_has(&r, ",\"decision\":\"deny\",\"status\":403"),
	    "later fields are kept");
	/* a full record: the last pair is whole, never a dangling key */
	for (i = 0; i < 1000; i++) {
		sg_log_ustr(&r, "more", "\n\n\n\n", 4);
		sg_log_int(&r, "n", 123456789);
	}
	ck_assert_uint_le(r.len, SG_LOGREC_CAP - 20);
	p = r.buf + r.len;
	ck_assert_msg(p[-1] == '"' || (p[-1] >= '0' && p[-1] <= '9'),
	    "ends in <%.*s>", 20, p - 20);
	ck_assert_msg(p[-1] != ':' && !(p[-2] == ',' && p[-1] == '"'),
	    "a key without its value");
	/* logfmt too */
	rec_start(&r, false);
	sg_log_ustr(&r, "path", big, strlen(big));
	sg_log_str(&r, "decision", "deny");
	ck_assert(r.truncated);
	ck_assert_msg(rec_has(&r, "yyy... decision=deny"), "logfmt: <%.*s>",
	    40, r.buf + r.len - 40);
}
END_TEST

START_TEST(truncation_keeps_the_record_whole)
{
	static struct sg_logrec r;
	static char big[SG_LOGREC_CAP * 2];
	int i, n;

	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rec_start(&r, true);
	sg_log_str(&r, "a", "b");
	sg_log_str(&r, "big", big);
	ck_assert(r.truncated);
	/* room is kept for the closing quote and "}\n" */
	ck_assert_uint_le(r.len, SG_LOGREC_CAP - 2);
	ck_assert_int_eq(r.buf[r.len - 1], '"');
	for (i = 0; i < 100; i++)
		sg_log_int(&r, "more", i);
	ck_assert_uint_le(r.len, SG_LOGREC_CAP - 2);
	/* an escape is never cut in half */
	rec_start(&r, true);
	for (i = 0; i < 10000; i++)
		sg_log_ustr(&r, "e", "\r\n\"", 3);
	ck_assert(r.truncated);
	ck_assert_uint_le(r.len, SG_LOGREC_CAP - 2);
	/* the value is closed, and not by an escaped quote */
	ck_assert_int_eq(r.buf[r.len - 1], '"');
	for (n = 0, i = (int)r.len - 2; i >= 0 && r.buf[i] == '\\'; i--)
		n++;
	ck_assert_msg(n % 2 == 0, "ends inside an escape");
}
END_TEST

/* The escaping rules spelled out byte by byte: the oracle for the
 * word-at-a-time scan. */
static size_t
ref_escape(char *out, const unsigned char *v, size_t n, bool untrusted)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	for (i = 0; i < n; i++) {
		unsigned char c = v[i];

		if (untrusted && (c == '\r' || c == '\n')) {
			o += (size_t)sprintf(out + o, "\\\\%c",
			    c == '\r' ? 'r' : 'n');
		} else if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			out[o++] = '\\';
			out[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)sprintf(out + o, "\\u00%c%c", hex[c >> 4],
			    hex[c & 15]);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return o;
}

START_TEST(escaping_every_byte_at_every_offset)
{
	unsigned char v[24];
	char got[24 * 6 + 1], want[24 * 6 + 1];
	size_t gl, wl;
	unsigned b, pos, len;
	unsigned seed = 12345;
	int k;

	/* one special byte anywhere in a plain string: the word scan must
	 * stop exactly there, whatever the alignment */
	for (b = 0; b < 256; b++) {
		for (len = 1; len <= sizeof(v); len++) {
			for (pos = 0; pos < len; pos++) {
				memset(v, 'a', sizeof(v));
				v[pos] = (unsigned char)b;
				gl = sg_log_escape(got, sizeof(got),
				    (const char *)v, len, true);
				wl = ref_escape(want, v, len, true);
				/* an assertion costs Check a message to the
				 * parent: only when something is wrong */
				if (gl != wl || memcmp(got, want, wl) != 0)
					ck_abort_msg("byte %u at %u of %u", b,
					    pos, len);
			}
		}
	}
	/* random mixtures, most bytes plain */
	for (k = 0; k < 20000; k++) {
		for (len = 0; len < sizeof(v); len++) {
			seed = seed * 1103515245u + 12345u;
			v[len] = (seed >> 16) % 8 == 0 ?
			    (unsigned char)(seed >> 8) :
			    (unsigned char)(0x20 + (seed >> 9) % 95);
		}
		gl = sg_log_escape(got, sizeof(got), (const char *)v,
		    sizeof(v), k % 2 == 0);
		wl = ref_escape(want, v, sizeof(v), k % 2 == 0);
		if (gl != wl || memcmp(got, want, wl) != 0)
			ck_abort_msg("mixture %d: got %zu bytes, want %zu", k,
			    gl, wl);
	}
}
END_TEST

/*
 * Every output size: the result is the longest run of whole escapes that
 * fits, NUL-terminated, and nothing is written past the buffer (each one
 * is a heap block of exactly that size, which the sanitizer build
 * watches).
 */
START_TEST(escaping_into_every_size)
{
	unsigned char v[40];
	char want[40 * 6 + 1], one[8];
	size_t bound[41], wl, cap, j, n;
	unsigned seed = 777;
	int k;

	for (k = 0; k < 400; k++) {
		n = (size_t)k % (sizeof(v) + 1);
		for (j = 0; j < n; j++) {
			seed = seed * 1103515245u + 12345u;
			v[j] = (seed >> 16) % 6 == 0 ?
			    (unsigned char)(seed >> 8) :
			    (unsigned char)(0x20 + (seed >> 9) % 95);
		}
		/* where each input byte's escape ends in the full output */
		bound[0] = 0;
		for (j = 0; j < n; j++)
			bound[j + 1] = bound[j] + ref_escape(one, v + j, 1,
			    k % 2 == 0);
		wl = ref_escape(want, v, n, k % 2 == 0);
		ck_assert_uint_eq(wl, bound[n]);
		for (cap = 1; cap <= wl + 1; cap++) {
			char *got = malloc(cap);
			size_t gl, fit = 0;

			ck_assert_ptr_nonnull(got);
			gl = sg_log_escape(got, cap, (const char *)v, n,
			    k % 2 == 0);
			while (fit < n && bound[fit + 1] <= cap - 1)
				fit++;
			if (gl != bound[fit] || got[gl] != '\0' ||
			    memcmp(got, want, gl) != 0)
				ck_abort_msg("input %d, %zu bytes of room: got "
				    "%zu, want %zu", k, cap, gl, bound[fit]);
			free(got);
		}
	}
}
END_TEST

Suite *
suite_log(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("pressure");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, slow_output_loses_nothing);
	tcase_add_test(tc, stuck_output_costs_records_not_the_loop);
	tcase_add_test(tc, a_stuck_audit_output_costs_only_audit_records);
	tcase_add_test(tc, a_full_disk_never_glues_records);
	suite_add_tcase(s, tc);
	tc = tcase_create("format");
	tcase_add_test(tc, json_fields);
	tcase_add_test(tc, json_escaping);
	tcase_add_test(tc, logfmt_fields);
	tcase_add_test(tc, refused_writes_are_counted_and_reported);
	tcase_add_test(tc, each_record_is_written_without_waiting_for_the_next);
	tcase_add_test(tc, long_values_leave_room_for_later_fields);
	tcase_add_test(tc, truncation_keeps_the_record_whole);
	tcase_add_test(tc, escaping_every_byte_at_every_offset);
	tcase_add_test(tc, escaping_into_every_size);
	suite_add_tcase(s, tc);
	return s;
}
