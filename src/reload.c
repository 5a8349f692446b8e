/* SPDX-License-Identifier: MIT */
/*
 * reload.c: hot reload. Owns the triggers (SIGHUP via server.c, inotify
 * on the directories of the config and rules files so editors that write
 * a new file and rename it are caught, a debounce timer) and the pipeline:
 * read -> parse and validate -> compare with the running generation ->
 * compile -> swap one pointer. Requests in flight keep the generation
 * they started with; a refused reload leaves the old one serving and
 * says why, never falling back to defaults.
 */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sockguard/log.h"
#include "sockguard/reload.h"
#include "sockguard/runtime.h"

/* not IN_CREATE: a file being written is read once it is closed */
#define RELOAD_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | \
	IN_DELETE | IN_ATTRIB)
#define RELOAD_REWATCH_NS (1000 * 1000 * 1000LL)

struct sg_reload {
	struct sg_server *srv;
	struct sg_load_opts opts;
	int ifd;
	char *cfg_path;
	char *cfg_dir, *cfg_base;
	char *rules_dir, *rules_base;
	int wd_cfg, wd_rules;
	uint64_t timer;
	uint64_t rewatch;      /* a watched directory went away: retry */
	bool cfg_link, rules_link; /* symlinks: any change beside them counts */
	char why[64];
};

static const char *const reload_names[] = {"applied", "unchanged",
    "rejected_invalid", "rejected_immutable", "rejected_unreadable"};

static void reload_run(struct sg_ev *ev, void *arg);
static void reload_rewatch(struct sg_ev *ev, void *arg);
static void reload_rewatch_later(struct sg_reload *rl);

const char *
sg_reload_outcome_name(enum sg_reload_outcome o)
{
	return reload_names[o];
}

static void
sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int l = 0;
	size_t i;

	out[0] = '\0';
	if (EVP_Digest(p, n, md, &l, EVP_sha256(), NULL) != 1 || l != 32)
		return;
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void
sg_sha256_file(const char *path, char out[65])
{
	struct sg_arena *t;
	size_t n = 0;
	char *b;

	out[0] = '\0';
	if (path == NULL)
		return;
	t = sg_arena_new();
	if (sg_cfg_read(t, path, true, &b, &n) == 0)
		sha256_hex(b, n, out);
	sg_arena_free(t);
}

/* A symlink (as a mounted ConfigMap's files are)? */
static bool
reload_is_link(const char *path)
{
	struct stat st;

	return path != NULL && path[0] != '\0' && lstat(path, &st) == 0 &&
	    S_ISLNK(st.st_mode);
}

static void
reload_dirbase(const char *path, char **dir, char **base)
{
	char *a = strdup(path), *b = strdup(path);

	*dir = strdup(dirname(a));
	*base = strdup(basename(b));
	free(a);
	free(b);
}

static void
reload_on_inotify(struct sg_ev *ev, int fd, unsigned events, void *arg)
{
	struct sg_reload *rl = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	(void)ev;
	(void)events;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (p < buf + n) {
			struct inotify_event *e = (struct inotify_event *)p;

			if (e->mask & IN_Q_OVERFLOW)
				sg_reload_trigger(rl->srv, "file change (the "
				    "watcher's queue overflowed)");
			if (e->mask & IN_IGNORED) {
				/* the directory went away (or was replaced):
				 * watched again once it is back */
				if (e->wd == rl->wd_cfg)
					rl->wd_cfg = -1;
				if (e->wd == rl->wd_rules)
					rl->wd_rules = -1;
				reload_rewatch_later(rl);
			}
			/*
			 * The file itself, or, when it is a symlink, any
			 * name beside it: a Kubernetes ConfigMap swaps a
			 * "..data" link, not the file's own name.
			 */
			if (e->len > 0 &&
			    ((e->wd == rl->wd_cfg && (rl->cfg_link ||
			    strcmp(e->name, rl->cfg_base) == 0)) ||
			    (e->wd == rl->wd_rules && rl->rules_base != NULL &&
			    (rl->rules_link ||
			    strcmp(e->name, rl->rules_base) == 0))))
				sg_reload_trigger(rl->srv, "file change");
			p += sizeof(*e) + e->len;
		}
	}
}

/*
 * A watched directory went away: watches it again once it is back (a
 * rules directory removed and made anew, say) and reloads then, since the
 * files in it may have changed unseen; tries again every second.
 */
static void
reload_rewatch(struct sg_ev *ev, void *arg)
{
	struct sg_reload *rl = arg;
	bool back = false;

	(void)ev;
	rl->rewatch = 0;
	if (rl->ifd == -1)
		return;
	if (rl->wd_cfg == -1 && rl->cfg_dir != NULL &&
	    (rl->wd_cfg = inotify_add_watch(rl->ifd, rl->cfg_dir,
	    RELOAD_MASK)) != -1)
		back = true;
	if (rl->wd_rules == -1 && rl->rules_dir != NULL &&
	    (rl->wd_rules = inotify_add_watch(rl->ifd, rl->rules_dir,
	    RELOAD_MASK)) != -1)
		back = true;
	if (back)
		sg_reload_trigger(rl->srv, "watched directory back");
	if ((rl->wd_cfg == -1 && rl->cfg_dir != NULL) ||
	    (rl->wd_rules == -1 && rl->rules_dir != NULL))
		reload_rewatch_later(rl);
}

/* reload_rewatch in a second, unless it is already due. */
static void
reload_rewatch_later(struct sg_reload *rl)
{
	if (rl->rewatch == 0)
		rl->rewatch = sg_ev_timer_add(rl->srv->ev,
		    sg_ev_now(rl->srv->ev) + RELOAD_REWATCH_NS, reload_rewatch,
		    rl);
}

/*
 * Watches the directory of the rules file that the running config loaded,
 * by the path it was opened with (relative to the working directory, as
 * the loader resolved it), replacing the watch of an earlier one. Called
 * at start and after every applied reload, which may name another file.
 */
static void
reload_watch_rules(struct sg_reload *rl, const char *rules_file)
{
	char *dir = NULL, *base = NULL;

	if (rules_file != NULL && rules_file[0] != '\0')
		reload_dirbase(rules_file, &dir, &base);
	rl->rules_link = reload_is_link(rules_file);
	if (dir != NULL && rl->rules_dir != NULL &&
	    strcmp(dir, rl->rules_dir) == 0 && rl->wd_rules != -1) {
		free(rl->rules_base); /* same directory: only the name */
		rl->rules_base = base;
		free(dir);
		return;
	}
	/* a directory the config file shares keeps its one watch */
	if (rl->wd_rules != -1 && rl->wd_rules != rl->wd_cfg)
		inotify_rm_watch(rl->ifd, rl->wd_rules);
	rl->wd_rules = -1;
	free(rl->rules_dir);
	free(rl->rules_base);
	rl->rules_dir = dir;
	rl->rules_base = base;
	if (dir == NULL || rl->ifd == -1)
		return;
	rl->wd_rules = inotify_add_watch(rl->ifd, dir, RELOAD_MASK);
	if (rl->wd_rules == -1)
		sg_errx("config hot-reload: cannot watch %s (%s); SIGHUP still "
		    "reloads", dir, strerror(errno));
}

int
sg_reload_start(struct sg_server *srv, const struct sg_load_opts *o)
{
	const struct sg_ir *ir = srv->conf->ir;
	struct sg_reload *rl;
	if (!ir->reload_enabled)
		return 0;
	rl = calloc(1, sizeof(*rl));
	if (rl == NULL)
		return -1;
	rl->srv = srv;
	rl->opts = *o;
	rl->opts.regular_only = true; /* nothing may stop the event loop */
	rl->ifd = -1;
	rl->wd_cfg = rl->wd_rules = -1;
	srv->reload = rl;
	if (ir->config_path == NULL) {
		sg_warnx("reload.enabled without a config file: only SIGHUP "
		    "triggers a reload, and it is refused (nothing to re-read)");
		return 0;
	}
	rl->cfg_path = strdup(ir->config_path);
	reload_dirbase(ir->config_path, &rl->cfg_dir, &rl->cfg_base);
	rl->cfg_link = reload_is_link(ir->config_path);
	rl->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (rl->ifd == -1) {
		sg_errx("config hot-reload: cannot start the file watcher "
		    "(%s); SIGHUP still reloads", strerror(errno));
		return 0;
	}
	rl->wd_cfg = inotify_add_watch(rl->ifd, rl->cfg_dir, RELOAD_MASK);
	reload_watch_rules(rl, ir->rules_file);
	if (rl->wd_cfg == -1)
		sg_errx("config hot-reload: cannot watch %s (%s); SIGHUP still "
		    "reloads", rl->cfg_dir, strerror(errno));
	sg_ev_set(srv->ev, rl->ifd, SG_EV_READ, reload_on_inotify, rl);
	sg_info("config hot-reload enabled: watching %s%s%s",
	    ir->config_path, rl->rules_base != NULL ? " and " : "",
	    rl->rules_base != NULL ? rl->rules_base : "");
	return 0;
}

void
sg_reload_trigger(struct sg_server *srv, const char *why)
{
	struct sg_reload *rl = srv->reload;

	if (rl == NULL || srv->draining)
		return;
	if (rl->timer != 0)
		sg_ev_timer_del(srv->ev, rl->timer);
	snprintf(rl->why, sizeof(rl->why), "%s", why);
	rl->timer = sg_ev_timer_add(srv->ev, sg_ev_now(srv->ev) +
	    srv->conf->ir->reload_debounce_ns, reload_run, rl);
}

void
sg_reload_stop(struct sg_server *srv)
{
	struct sg_reload *rl = srv->reload;

	if (rl == NULL)
		return;
	if (rl->timer != 0)
		sg_ev_timer_del(srv->ev, rl->timer);
	if (rl->rewatch != 0)
		sg_ev_timer_del(srv->ev, rl->rewatch);
	if (rl->ifd != -1) {
		sg_ev_del(srv->ev, rl->ifd);
		close(rl->ifd);
	}
	free(rl->cfg_path);
	free(rl->cfg_dir);
	free(rl->cfg_base);
	free(rl->rules_dir);
	free(rl->rules_base);
	free(rl);
	srv->reload = NULL;
}

static void
reload_outcome(struct sg_server *srv, enum sg_reload_outcome o,
    const char *why)
{
	static struct sg_logrec r;
	bool bad = o >= SG_RELOAD_REJECTED_INVALID;

	srv->reloads[o]++;
	sg_log_begin(&r, bad ? SG_LOG_WARN : SG_LOG_INFO,
	    o == SG_RELOAD_APPLIED ? "config reload applied" :
	    o == SG_RELOAD_UNCHANGED ? "config reload: nothing changed" :
	    "config reload rejected; the previous config keeps serving");
	sg_log_str(&r, "result", reload_names[o]);
	sg_log_int(&r, "generation", (long long)srv->conf->generation);
	if (why != NULL && why[0] != '\0')
		sg_log_ustr(&r, "reason", why, strlen(why));
	sg_log_int(&r, "rules", (long long)srv->conf->ir->nrules);
	sg_log_str(&r, "config_sha256", srv->conf->sha256);
	sg_log_end(&r);
}

static void
reload_log_line(enum sg_log_level lvl, const char *msg, const char *line)
{
	static struct sg_logrec r;

	sg_log_begin(&r, lvl, msg);
	sg_log_ustr(&r, "change", line, strlen(line));
	sg_log_end(&r);
}

static void
reload_run(struct sg_ev *ev, void *arg)
{
	struct sg_reload *rl = arg;
	struct sg_server *srv = rl->srv;
	struct sg_conf *old = srv->conf, *nc;
	struct sg_arena *a, *t;
	struct sg_ir *ir;
	struct sg_diag d;
	struct sg_ir_diff diff;
	char sha[65], line[8192];
	size_t len = 0, i;
	const char *why;
	bool unreadable;
	char *buf;

	(void)ev;
	rl->timer = 0;
	sg_info("config reload triggered (%s)", rl->why);
	if (rl->cfg_path == NULL) {
		reload_outcome(srv, SG_RELOAD_REJECTED_UNREADABLE,
		    "no config file to re-read (started on built-in defaults)");
		return;
	}
	/* a temporary arena: the file's bytes need not outlive the load;
	 * regular files only, so a FIFO does not stop the event loop */
	t = sg_arena_new();
	if (sg_cfg_read(t, rl->cfg_path, true, &buf, &len) == -1) {
		snprintf(line, sizeof(line), "cannot read %s: %s", rl->cfg_path,
		    errno == EINVAL ? "not a regular file" : errno == EFBIG ?
		    "file too large" : strerror(errno));
		reload_outcome(srv, SG_RELOAD_REJECTED_UNREADABLE, line);
		sg_arena_free(t);
		return;
	}
	sha256_hex(buf, len, sha);
	sg_diag_init(&d);
	a = sg_arena_new();
	ir = sg_cfg_load_bytes(a, &rl->opts, rl->cfg_path, buf, len, &d);
	sg_arena_free(t);
	if (ir != NULL && ir->config_blank) {
		/* caught mid-write, or emptied: never fall back to defaults;
		 * said before any warning about what defaults would do */
		why = sg_ir_reload_refusal(old->ir, ir, &unreadable);
		snprintf(line, sizeof(line), "%s: %s", rl->cfg_path, why);
		reload_outcome(srv, SG_RELOAD_REJECTED_UNREADABLE, line);
		sg_arena_free(a);
		sg_diag_free(&d);
		return;
	}
	nc = ir != NULL ? sg_conf_compile(a, ir, &d) : NULL;
	/* warnings count on every outcome, as they do at startup */
	for (i = 0; i < d.n; i++) {
		if (d.v[i].sev != SG_DIAG_WARN && nc != NULL)
			continue;
		sg_diag_format(&d.v[i], line, sizeof(line));
		reload_log_line(SG_LOG_WARN, d.v[i].sev == SG_DIAG_WARN ?
		    "config reload: warning" : "config reload: invalid config",
		    line);
	}
	if (nc == NULL) {
		snprintf(line, sizeof(line), "%zu error(s) in the new config",
		    d.nerr);
		/* only a rules file that is missing or unreadable: the
		 * config itself may be fine, the load was not */
		reload_outcome(srv, d.nunreadable > 0 &&
		    d.nunreadable == d.nerr ? SG_RELOAD_REJECTED_UNREADABLE :
		    SG_RELOAD_REJECTED_INVALID, line);
		if (ir == NULL)
			sg_arena_free(a);
		sg_diag_free(&d);
		return;
	}
	sg_diag_free(&d);
	if ((why = sg_ir_reload_refusal(old->ir, nc->ir, &unreadable)) !=
	    NULL) {
		reload_outcome(srv, unreadable ? SG_RELOAD_REJECTED_UNREADABLE :
		    SG_RELOAD_REJECTED_INVALID, why);
		sg_conf_unref(nc);
		return;
	}
	sg_ir_diff(old->ir, nc->ir, &diff);
	if (diff.nimmutable > 0) {
		for (i = 0; i < diff.n; i++) {
			if (!diff.v[i].immutable)
				continue;
			snprintf(line, sizeof(line), "%s: %s -> %s needs a "
			    "restart", diff.v[i].key,
			    diff.v[i].old ? diff.v[i].old : "(unset)",
			    diff.v[i].new ? diff.v[i].new : "(unset)");
			reload_log_line(SG_LOG_WARN, "config reload: "
			    "reload-immutable field changed", line);
		}
		snprintf(line, sizeof(line), "%zu reload-immutable field(s) "
		    "changed; restart sockguard to apply them", diff.nimmutable);
		reload_outcome(srv, SG_RELOAD_REJECTED_IMMUTABLE, line);
		sg_ir_diff_free(&diff);
		sg_conf_unref(nc);
		return;
	}
	if (diff.n == 0 && diff.nrules == 0) {
		if (memcmp(old->sha256, sha, sizeof(old->sha256)) != 0) {
			/* the same config in other bytes (a comment, say):
			 * the generation stays, /health shows the file's hash */
			nc->generation = old->generation;
			nc->loaded_at = old->loaded_at;
			memcpy(nc->sha256, sha, sizeof(nc->sha256));
			srv->conf = nc;
			sg_conf_unref(old);
		} else {
			sg_conf_unref(nc);
		}
		reload_outcome(srv, SG_RELOAD_UNCHANGED, rl->why);
		sg_ir_diff_free(&diff);
		return;
	}
	/* the swap: in-flight requests keep their reference to old */
	nc->generation = old->generation + 1;
	nc->loaded_at = (int64_t)time(NULL);
	memcpy(nc->sha256, sha, sizeof(nc->sha256));
	srv->conf = nc;
	sg_conf_unref(old);
	{
		FILE *m = fmemopen(line, sizeof(line), "w");

		if (m != NULL) {
			char *s, *save = NULL;

			setvbuf(m, NULL, _IONBF, 0);
			sg_ir_diff_print(&diff, m);
			fputc('\0', m);
			fclose(m);
			line[sizeof(line) - 1] = '\0';
			for (s = strtok_r(line, "\n", &save); s != NULL;
			    s = strtok_r(NULL, "\n", &save))
				reload_log_line(SG_LOG_INFO, "config change", s);
		}
	}
	reload_outcome(srv, SG_RELOAD_APPLIED, rl->why);
	sg_ir_diff_free(&diff);
	reload_watch_rules(rl, srv->conf->ir->rules_file);
}
