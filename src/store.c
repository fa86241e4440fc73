/* SPDX-License-Identifier: MIT */
/*
 * store.c - the state file, written atomically (see store.h).
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
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

/* The whole file into a NUL-terminated buffer; -1 and errno on error. */
static char *read_file(const char *path, size_t *len, bool *too_big)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int saved;

	*too_big = false;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode) || st.st_size > STORE_MAX_BYTES) {
		*too_big = true;
		errno = EFBIG;
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto fail;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break; /* shrank meanwhile: what we have is checked */
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
fail:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return NULL;
}

/* The parsed file's content into s and m; -1 and a message otherwise. */
static int apply_state(const json_t *root, struct settings *s,
		       struct monitor *m, char *err, size_t errlen)
{
	struct settings ns;
	struct monitor nm;
	const char *key;
	json_t *v, *ver;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "not a JSON object");
		return -1;
	}
	ver = json_object_get(root, "version");
	if (!json_is_integer(ver)) {
		snprintf(err, errlen, "no version number");
		return -1;
	}
	if (json_integer_value(ver) != STORE_VERSION) {
		snprintf(err, errlen,
			 "version %lld is not supported (this smallbmsd "
			 "reads version %d)",
			 (long long)json_integer_value(ver), STORE_VERSION);
		return -1;
	}
	json_object_foreach((json_t *)(uintptr_t)root, key, v)
	{
		if (strcmp(key, "version") && strcmp(key, "settings") &&
		    strcmp(key, "monitor")) {
			snprintf(err, errlen, "unknown key '%s'", key);
			return -1;
		}
	}
	if (!json_object_get(root, "settings") ||
	    !json_object_get(root, "monitor")) {
		snprintf(err, errlen, "\"settings\" or \"monitor\" is missing");
		return -1;
	}
	if (settings_from_json(&ns, json_object_get(root, "settings"), err,
			       errlen) < 0)
		return -1;
	/* The monitor keeps pointing at the caller's settings. */
	monitor_init(&nm, s);
	if (monitor_from_json(&nm, json_object_get(root, "monitor"), err,
			      errlen) < 0)
		return -1;
	*s = ns;
	*m = nm;
	return 0;
}

static int parse_state(const char *path, struct settings *s, struct monitor *m,
		       char *why, size_t n)
{
	json_error_t jerr;
	size_t len = 0;
	bool too_big;
	char *text = read_file(path, &len, &too_big);
	json_t *root;
	int r;

	if (!text) {
		if (too_big)
			snprintf(why, n,
				 "not a regular file of at most %d "
				 "bytes",
				 STORE_MAX_BYTES);
		else
			snprintf(why, n, "cannot read: %s", strerror(errno));
		return -1;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!root) {
		snprintf(why, n, "not valid JSON (line %d, column %d: %s)",
			 jerr.line, jerr.column, jerr.text);
		return -1;
	}
	r = apply_state(root, s, m, why, n);
	json_decref(root);
	return r;
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

enum store_load_result store_load(const char *dir, int64_t wall_s,
				  struct settings *s, struct monitor *m,
				  char *err, size_t errlen)
{
	char path[STORE_PATH_LEN], aside[STORE_PATH_LEN + 64], why[512];
	struct stat st;

	if (path_in(path, sizeof(path), dir, STORE_FILE, "") < 0) {
		use_defaults(s, m);
		snprintf(err, errlen, "%s/%s: path too long; using defaults",
			 dir, STORE_FILE);
		return STORE_CORRUPT;
	}
	if (lstat(path, &st) < 0 && errno == ENOENT) {
		use_defaults(s, m);
		snprintf(err, errlen, "%s: no saved state; using defaults",
			 path);
		return STORE_MISSING;
	}
	if (parse_state(path, s, m, why, sizeof(why)) == 0)
		return STORE_LOADED;
	use_defaults(s, m);
	if (keep_aside(path, wall_s, aside, sizeof(aside)) == 0)
		snprintf(err, errlen, "%s: %s; kept as %s; using defaults",
			 path, why, aside);
	else
		snprintf(err, errlen,
			 "%s: %s; using defaults (could not keep it aside: "
			 "%s)",
			 path, why, strerror(errno));
	return STORE_CORRUPT;
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
	int fd =
		open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		     0644);
	int saved;

	*what = "cannot create";
	if (fd < 0)
		return -1;
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
