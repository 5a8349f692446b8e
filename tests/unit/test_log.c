/* SPDX-License-Identifier: MIT */
/*
 * test_log.c: the log writer under pressure. A slow output must cost the
 * event loop waiting, not records; an output that is stuck for good must
 * cost records (counted), not the event loop. Each test runs in its own
 * process (Check's fork mode): the logger is process-wide, and stdout is
 * pointed at a pipe that the test drains or leaves full.
 */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sockguard/log.h"

#define REC_PAD 256

Suite *suite_log(void);

struct drain {
	int fd;
	unsigned long lines;
	unsigned long drops_reported;
};

/* Reads the pipe at a limited pace (a slow disk or collector), counting
 * records and drop notices. */
static void *
drain_slowly(void *arg)
{
	struct drain *d = arg;
	static char buf[64 * 1024];
	const struct timespec pause = {0, 2 * 1000 * 1000};
	char prev = '\n';
	ssize_t n, i;

	while ((n = read(d->fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n')
				d->lines++;
			/* a notice line starts with {"level":"WARN" */
			if (prev == '\n' && buf[i] == '{' && i + 16 < n &&
			    memcmp(buf + i, "{\"level\":\"WARN\"", 15) == 0)
				d->drops_reported++;
			prev = buf[i];
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
	log_to_stdout();
	log_records(20000);
	ck_assert_uint_gt(sg_log_dropped(), 0);
	close(p[0]); /* the stuck write fails: the writer can stop */
	sg_log_stop();
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
	suite_add_tcase(s, tc);
	return s;
}
