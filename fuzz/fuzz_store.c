/* SPDX-License-Identifier: MIT */
/*
 * fuzz_store.c - libFuzzer target for the state-file loader (see
 * fuzz/README.md).
 *
 * The input is written as DIR/state.json in a private temporary directory
 * and loaded with store_load() against guard_settings_default(), as the
 * daemon does at start. Contract (store.h, I8):
 *
 * - the file existed, so the result is loaded, partial or unusable, and
 *   the report agrees with it (problems exactly when not "loaded", every
 *   text terminated); a file not loaded whole is renamed aside;
 * - the settings always pass settings_check() with the base (I3);
 * - Mode is on only if the input is a version 1 state file whose
 *   "settings" object has "mode": "on" (read here with jansson on its
 *   own); an unusable file means Mode off, reported as forced off;
 * - the monitor points at the settings, its SoC is NaN or 0..100, a
 *   synchronised SoC is known, consumed Ah and the history keep their
 *   signs (monitor.h) and no history minimum is above its maximum;
 * - what was loaded, saved with store_save() as the daemon writes it
 *   back, loads again whole ("loaded", no problem) into the same state.
 *
 * Any violation calls abort(); leaks are found by LeakSanitizer.
 */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_check.h"
#include "guard.h"
#include "monitor.h"
#include "settings.h"
#include "store.h"

#define WALL 1704164645ll /* 2024-01-02T03:04:05Z: names the file aside */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256];
static char path[300];

/* Remove everything in dir (state.json, .tmp, files kept aside). */
static void empty_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	require(d != NULL);
	while ((e = readdir(d)) != NULL) {
		char p[600];

		if (e->d_name[0] == '.' &&
		    (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		require(unlink(p) == 0);
	}
	closedir(d);
}

static void setup(void)
{
	const char *base = getenv("TMPDIR");

	/* A RAM disk when there is one: store_save() fsyncs. */
	if (access("/dev/shm", W_OK) == 0)
		base = "/dev/shm";
	else if (!base || !base[0])
		base = "/tmp";
	snprintf(dir, sizeof(dir), "%s/fuzz_store.XXXXXX", base);
	require(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_FILE);
}

static void cleanup(void)
{
	if (dir[0]) {
		empty_dir();
		rmdir(dir);
	}
}

static void write_file(const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	require(fd >= 0);
	require(write(fd, data, size) == (ssize_t)size);
	require(close(fd) == 0);
}

/* Does the input itself say "mode": "on", readably? */
static int input_says_mode_on(const uint8_t *data, size_t size)
{
	json_t *root = json_loadb((const char *)data, size,
				  JSON_REJECT_DUPLICATES, NULL);
	json_t *ver = json_object_get(root, "version");
	json_t *mode =
		json_object_get(json_object_get(root, "settings"), "mode");
	int on = json_is_object(root) && json_is_integer(ver) &&
		 json_integer_value(ver) == STORE_VERSION &&
		 json_is_string(mode) &&
		 strcmp(json_string_value(mode), "on") == 0;

	json_decref(root);
	return on;
}

static int terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static void check_report(const struct store_report *rep,
			 enum store_load_result r)
{
	require(rep->result == r);
	require(r == STORE_LOADED || r == STORE_PARTIAL || r == STORE_UNUSABLE);
	require((r == STORE_LOADED) == (rep->nproblems == 0));
	require(terminated(rep->message, sizeof(rep->message)));
	require(rep->message[0] != '\0');
	for (unsigned i = 0; i < rep->nproblems && i < STORE_MAX_PROBLEMS; i++)
		require(terminated(rep->problems[i], STORE_PROBLEM_LEN));
	if (r == STORE_UNUSABLE)
		require(rep->mode_forced_off);
	/* Not loaded whole: kept aside, so the name is free. */
	require((r == STORE_LOADED) == (access(path, F_OK) == 0));
}

/* a <= b unless either is unknown. */
static int le(double a, double b)
{
	return isnan(a) || isnan(b) || a <= b;
}

static void check_monitor(const struct monitor *m, const struct settings *s)
{
	const struct monitor_history *h = &m->h;

	require(m->s == s);
	require(isnan(m->soc) || (m->soc >= 0.0 && m->soc <= 100.0));
	require(!m->synchronised || !isnan(m->soc));
	require(monitor_soc_source_name(m->soc_source) != NULL);
	require(isnan(m->consumed_ah) || m->consumed_ah <= 0.0);
	require(!(h->deepest_discharge_ah > 0.0));
	require(!(h->cumulative_ah_drawn > 0.0));
	require(!(h->discharged_kwh < 0.0));
	require(!(h->charged_kwh < 0.0));
	require(le(h->min_voltage, h->max_voltage));
	require(le(h->min_cell_v, h->max_cell_v));
	require(le(h->min_temp, h->max_temp));
}

/* The state as the file holds it. */
static char *dump(const struct settings *s, const struct monitor *m)
{
	json_t *j = store_state_json(s, m);
	char *t = json_dumps(j, JSON_SORT_KEYS | JSON_REAL_PRECISION(15));

	json_decref(j);
	require(t != NULL);
	return t;
}

/* Saved as the daemon writes it back, it loads whole, unchanged. */
static void check_round_trip(const struct guard_settings *base,
			     const struct settings *s, const struct monitor *m)
{
	static struct store_report rep;
	struct settings s2;
	struct monitor m2;
	json_t *state = store_state_json(s, m);
	char err[512], *a, *b;

	require(store_save(dir, state, err, sizeof(err)) == 0);
	json_decref(state);
	require(store_load(dir, WALL, base, &s2, &m2, &rep) == STORE_LOADED);
	require(rep.nproblems == 0 && !rep.mode_forced_off);
	require(s2.mode_on == s->mode_on);
	a = dump(s, m);
	b = dump(&s2, &m2);
	require(strcmp(a, b) == 0);
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct store_report rep;
	struct guard_settings base;
	struct settings s;
	struct monitor m;
	enum store_load_result r;
	char err[512];

	if (!dir[0]) {
		setup();
		atexit(cleanup);
	}
	write_file(data, size);
	guard_settings_default(&base);
	r = store_load(dir, WALL, &base, &s, &m, &rep);
	check_report(&rep, r);
	require(settings_check(&s, &base, err, sizeof(err)) == 0);
	if (r == STORE_UNUSABLE)
		require(!s.mode_on);
	if (s.mode_on)
		require(input_says_mode_on(data, size));
	else
		require(!input_says_mode_on(data, size) || r != STORE_LOADED);
	check_monitor(&m, &s);
	check_round_trip(&base, &s, &m);
	empty_dir();
	return 0;
}
