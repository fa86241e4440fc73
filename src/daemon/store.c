/* SPDX-License-Identifier: MIT */
/*
 * store.c - the state file, written atomically (see store.h).
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TMP_SUFFIX     ".tmp"
#define CORRUPT_TRIES  100
#define STORE_PATH_LEN 4096

static int path_in(char *buf, size_t n, const char *dir, const char *name,
		   const char *suffix)
{
	int len = snprintf(buf, n, "%s/%s%s", dir, name, suffix);

	return len < 0 || (size_t)len >= n ? -1 : 0;
}

/* ---- loading ----------------------------------------------------------- */

const char *store_result_name(enum store_load_result r)
{
	switch (r) {
	case STORE_LOADED:
		return "loaded";
	case STORE_PARTIAL:
		return "partial";
	case STORE_MISSING:
		return "missing";
	case STORE_UNUSABLE:
		return "unusable";
	}
	return "unknown";
}

/* snprintf into a fixed buffer where cutting a long path is fine. */
__attribute__((format(printf, 3, 4))) static void text(char *buf, size_t n,
						       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
}

static void add_problem(void *userdata, const char *msg)
{
	struct store_report *rep = userdata;

	if (rep->nproblems < STORE_MAX_PROBLEMS)
		text(rep->problems[rep->nproblems], STORE_PROBLEM_LEN, "%s",
		     msg);
	rep->nproblems++;
}

/* What is there instead of a regular file, in words. */
static const char *file_kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	return "something else";
}

/*
 * The whole file into a NUL-terminated buffer; NULL with a reason in why.
 * Non-blocking and without following a link: a FIFO, a device or a
 * symbolic link put there is refused, never waited on.
 */
static char *read_file(const char *path, size_t *len, char *why, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;

	if (fd < 0) {
		snprintf(why, n, "cannot open: %s",
			 errno == ELOOP ? "it is a symbolic link"
					: strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(why, n, "cannot stat: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, n, "not a regular file but %s",
			 file_kind(st.st_mode));
		goto fail;
	}
	if (st.st_size > STORE_MAX_BYTES) {
		snprintf(why, n, "larger than %d bytes", STORE_MAX_BYTES);
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(why, n, "out of memory");
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(why, n, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break; /* shrank meanwhile: what we have is checked */
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

/* The file as a JSON object of our version; NULL with a reason. */
static json_t *parse_root(const char *path, char *why, size_t n)
{
	json_error_t jerr;
	size_t len = 0;
	char *text = read_file(path, &len, why, n);
	json_t *root, *ver;

	if (!text)
		return NULL;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!root) {
		snprintf(why, n, "not valid JSON (line %d, column %d: %s)",
			 jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	ver = json_object_get(root, "version");
	if (!json_is_object(root) || !json_is_integer(ver)) {
		snprintf(why, n, "not a state file (no version number)");
	} else if (json_integer_value(ver) != STORE_VERSION) {
		snprintf(why, n,
			 "version %lld is not supported (this smallbmsd reads "
			 "version %d)",
			 (long long)json_integer_value(ver), STORE_VERSION);
	} else {
		return root;
	}
	json_decref(root);
	return NULL;
}

/* Every part of a parsed file that can be used, key by key. */
static void apply_state(const json_t *root, const struct guard_settings *base,
			struct settings *s, struct monitor *m,
			struct store_report *rep)
{
	const json_t *js = json_object_get(root, "settings");
	const json_t *jm = json_object_get(root, "monitor");
	bool mode_read = false;
	const char *key;
	json_t *v;
	char msg[STORE_PROBLEM_LEN];

	json_object_foreach((json_t *)(uintptr_t)root, key, v)
	{
		if (strcmp(key, "version") && strcmp(key, "settings") &&
		    strcmp(key, "monitor")) {
			snprintf(msg, sizeof(msg), "%s: unknown key, dropped",
				 key);
			add_problem(rep, msg);
		}
	}
	if (settings_from_json(s, js, base, add_problem, rep, &mode_read) < 0)
		add_problem(rep, "settings: missing or not an object; using "
				 "the defaults");
	/* The monitor keeps pointing at the caller's settings. */
	monitor_init(m, s);
	if (monitor_from_json(m, jm, add_problem, rep) < 0)
		add_problem(rep, "monitor: missing or not an object; SoC and "
				 "history start afresh");
	if (!mode_read) {
		rep->mode_forced_off = true;
		s->mode_on = false;
		add_problem(rep, "mode: could not be read: Mode is Off until "
				 "set again (smallbmsctl mode on)");
	}
}

/* Rename path aside as path.corrupt-YYYYmmddTHHMMSS[-N]; aside gets it. */
static int keep_aside(const char *path, int64_t wall_s, char *aside, size_t n)
{
	time_t t = (time_t)wall_s;
	struct tm tm;
	char stamp[32];

	if (!gmtime_r(&t, &tm) ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm) == 0)
		snprintf(stamp, sizeof(stamp), "%lld", (long long)wall_s);
	for (int i = 1; i <= CORRUPT_TRIES; i++) {
		int len = i == 1 ? snprintf(aside, n, "%s.corrupt-%s", path,
					    stamp)
				 : snprintf(aside, n, "%s.corrupt-%s-%d", path,
					    stamp, i);

		if (len < 0 || (size_t)len >= n) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (access(aside, F_OK) == 0)
			continue; /* one from the same second: keep both */
		return rename(path, aside);
	}
	errno = EEXIST;
	return -1;
}

static void use_defaults(struct settings *s, struct monitor *m)
{
	settings_default(s);
	monitor_init(m, s);
}

/* Unusable as a whole: defaults, and Mode Off (it could not be read). */
static void unusable(const char *why, struct settings *s, struct monitor *m,
		     struct store_report *rep)
{
	use_defaults(s, m);
	s->mode_on = false;
	rep->mode_forced_off = true;
	rep->result = STORE_UNUSABLE;
	add_problem(rep, why);
}

enum store_load_result store_load(const char *dir, int64_t wall_s,
				  const struct guard_settings *base,
				  struct settings *s, struct monitor *m,
				  struct store_report *rep)
{
	char path[STORE_PATH_LEN], aside[STORE_PATH_LEN + 64], why[512];
	struct stat st;
	json_t *root;

	memset(rep, 0, sizeof(*rep));
	if (path_in(path, sizeof(path), dir, STORE_FILE, "") < 0) {
		unusable("path too long", s, m, rep);
		text(rep->message, sizeof(rep->message),
		     "%s/%s: path too long; using defaults, Mode Off", dir,
		     STORE_FILE);
		return rep->result;
	}
	if (lstat(path, &st) < 0 && errno == ENOENT) {
		use_defaults(s, m);
		rep->result = STORE_MISSING;
		text(rep->message, sizeof(rep->message),
		     "%s: no saved state; using defaults", path);
		return rep->result;
	}
	root = parse_root(path, why, sizeof(why));
	if (root) {
		apply_state(root, base, s, m, rep);
		json_decref(root);
		rep->result = rep->nproblems ? STORE_PARTIAL : STORE_LOADED;
		if (!rep->nproblems) {
			text(rep->message, sizeof(rep->message), "%s: loaded",
			     path);
			return rep->result;
		}
	} else {
		unusable(why, s, m, rep);
	}
	if (keep_aside(path, wall_s, aside, sizeof(aside)) == 0)
		text(rep->message, sizeof(rep->message), "%s: %s%s; kept as %s",
		     path,
		     rep->result == STORE_PARTIAL ? "partly used: "
						  : "not used: ",
		     rep->problems[0], aside);
	else
		text(rep->message, sizeof(rep->message),
		     "%s: %s%s (could not keep it aside: %s)", path,
		     rep->result == STORE_PARTIAL ? "partly used: "
						  : "not used: ",
		     rep->problems[0], strerror(errno));
	if (rep->nproblems > 1) {
		size_t k = strlen(rep->message);
		text(rep->message + k, sizeof(rep->message) - k,
		     " (%u problems)", rep->nproblems);
	}
	return rep->result;
}

/* ---- saving ------------------------------------------------------------ */

json_t *store_state_json(const struct settings *s, const struct monitor *m)
{
	json_t *o = json_object();

	json_object_set_new(o, "version", json_integer(STORE_VERSION));
	json_object_set_new(o, "settings", settings_to_json(s));
	json_object_set_new(o, "monitor", monitor_to_json(m));
	return o;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* text -> tmp, on disk; -1 with errno and *what. */
static int write_tmp(const char *tmp, const char *text, const char **what)
{
	/* O_NONBLOCK: a FIFO put in its place fails at once (ENXIO) rather
	 * than hanging the daemon; anything but a regular file is refused. */
	int fd = open(tmp,
		      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW |
			      O_NONBLOCK,
		      0644);
	struct stat st;
	int saved;

	*what = "cannot create";
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	*what = "cannot write";
	/* json_dumps() leaves no final newline; the file gets one. */
	if (write_all(fd, text, strlen(text)) < 0 || write_all(fd, "\n", 1) < 0)
		goto fail;
	*what = "cannot sync";
	if (fsync(fd) < 0)
		goto fail;
	*what = "cannot close";
	return close(fd);
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r, saved;

	if (fd < 0)
		return -1;
	r = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int store_save(const char *dir, const json_t *state, char *err, size_t errlen)
{
	char path[STORE_PATH_LEN], tmp[STORE_PATH_LEN];
	const char *what;
	char *text;
	int r;

	if (path_in(path, sizeof(path), dir, STORE_FILE, "") < 0 ||
	    path_in(tmp, sizeof(tmp), dir, STORE_FILE, TMP_SUFFIX) < 0) {
		snprintf(err, errlen, "%s/%s: path too long", dir, STORE_FILE);
		return -1;
	}
	text = json_dumps(state, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
	if (!text) {
		snprintf(err, errlen, "%s: cannot encode the state", path);
		return -1;
	}
	r = write_tmp(tmp, text, &what);
	free(text);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s: %s", tmp, what, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: cannot rename to %s: %s", tmp,
			 STORE_FILE, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (sync_dir(dir) < 0) {
		snprintf(err, errlen, "%s: cannot sync the directory: %s", dir,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- when to save ------------------------------------------------------- */

void store_policy_init(struct store_policy *p, uint64_t now_us)
{
	p->dirty = p->urgent = false;
	p->last_us = now_us;
}

void store_policy_mark(struct store_policy *p, bool urgent)
{
	p->dirty = true;
	p->urgent = p->urgent || urgent;
}

static uint64_t interval_us(unsigned interval_s)
{
	return (uint64_t)interval_s * 1000000u;
}

bool store_policy_due(const struct store_policy *p, uint64_t now_us,
		      unsigned interval_s)
{
	if (!p->dirty)
		return false;
	return p->urgent || now_us - p->last_us >= interval_us(interval_s);
}

uint64_t store_policy_next(const struct store_policy *p, uint64_t now_us,
			   unsigned interval_s)
{
	if (!p->dirty)
		return UINT64_MAX;
	if (store_policy_due(p, now_us, interval_s))
		return now_us;
	return p->last_us + interval_us(interval_s);
}

void store_policy_done(struct store_policy *p, uint64_t now_us, bool ok)
{
	p->last_us = now_us;
	p->urgent = false;
	if (ok)
		p->dirty = false;
}
