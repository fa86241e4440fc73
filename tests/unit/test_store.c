/* SPDX-License-Identifier: MIT */
/*
 * test_store.c - the state file: save and load, the atomic write (the old
 * file survives a failed write), missing / unusable / wrong-version files
 * (defaults and Mode Off, the file kept aside), bad keys dropped one by
 * one with the rest kept (I8), a FIFO or a link in the file's place,
 * every truncation of a good file, and the save policy.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monitor.h"
#include "settings.h"
#include "store.h"

#define SEC        1000000ull
#define WALL       1704164645ll /* 2024-01-02T03:04:05Z */
#define CORRUPT_AS "state.json.corrupt-20240102T030405"
#define PATH_LEN   512

static char dir[PATH_LEN];
static struct settings set;
static struct monitor mon;

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	settings_default(&set);
	monitor_init(&mon, &set);
}

static void teardown(void)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* dir/name; a few results may be used at once (rotating buffers). */
static const char *in_dir(const char *name)
{
	static char path[4][PATH_LEN + 64];
	static unsigned next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	return p;
}

/* The state as the file holds it: 15 significant digits. */
static char *dump_state(const struct settings *s, const struct monitor *m)
{
	json_t *j = store_state_json(s, m);
	char *text = json_dumps(j, JSON_SORT_KEYS | JSON_REAL_PRECISION(15));

	json_decref(j);
	return text;
}

static void write_text(const char *name, const char *text, size_t len)
{
	FILE *f = fopen(in_dir(name), "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* The whole file (NUL-terminated); *len its size. */
static char *read_text(const char *name, size_t *len)
{
	FILE *f = fopen(in_dir(name), "r");
	char *buf = malloc(STORE_MAX_BYTES + 1);
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, STORE_MAX_BYTES, f);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static bool exists(const char *name)
{
	return access(in_dir(name), F_OK) == 0;
}

/* A life worth keeping: changed settings, SoC, history. */
static void interesting_state(void)
{
	struct monitor_input in = {
		.valid = true,
		.voltage = 13.1,
		.current = -12.5,
		.capacity_ah = 280,
		.cells_series = 4,
		.nbatteries = 2,
		.battery_soc = 88.8,
		.min_cell_v = 3.27,
		.max_cell_v = 3.30,
		.min_temp = 18.5,
		.max_temp = 19.5,
		.wall_s = WALL,
	};
	char err[256];

	ck_assert_int_eq(
		settings_set(&set, "discharge_floor", "15", err, sizeof(err)),
		0);
	ck_assert_int_eq(settings_set(&set, "mode", "off", err, sizeof(err)),
			 0);
	for (uint64_t t = 0; t <= 600 * SEC; t += SEC)
		monitor_step(&mon, &in, t);
	monitor_sync(&mon, WALL - 3600);
	mon.h.cycles = 7;
}

static void save_ok(void)
{
	json_t *state = store_state_json(&set, &mon);
	char err[512] = "";

	ck_assert_msg(store_save(dir, state, err, sizeof(err)) == 0, "%s", err);
	json_decref(state);
}

/* The loaded settings and monitor are the defaults (Mode as given). */
static void assert_defaults_mode(const struct settings *s,
				 const struct monitor *m, bool mode_on)
{
	struct settings def;
	json_t *a, *b;

	settings_default(&def);
	def.mode_on = mode_on;
	a = settings_to_json(&def);
	b = settings_to_json(s);
	ck_assert(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	ck_assert(isnan(m->soc));
	ck_assert(!m->synchronised);
	ck_assert_uint_eq(m->h.cycles, 0);
	ck_assert_ptr_eq(m->s, s);
}

static void assert_defaults(const struct settings *s, const struct monitor *m)
{
	assert_defaults_mode(s, m, true);
}

static struct store_report rep;

/* Load into a fresh pair; returns the result, rep what was found. */
static enum store_load_result load(struct settings *s, struct monitor *m)
{
	struct guard_settings base;

	guard_settings_default(&base);
	settings_default(s);
	monitor_init(m, s);
	/* Make the defaults visible: not what the file could hold. */
	s->discharge_floor = 42;
	m->soc = 42;
	return store_load(dir, WALL, &base, s, m, &rep);
}

/* ---- save and load ------------------------------------------------------ */

START_TEST(missing_file_means_defaults)
{
	struct settings s;
	struct monitor m;
	char expect[PATH_LEN + 64];

	ck_assert_int_eq(load(&s, &m), STORE_MISSING);
	assert_defaults(&s, &m);
	snprintf(expect, sizeof(expect), "%s: no saved state; using defaults",
		 in_dir("state.json"));
	ck_assert_str_eq(rep.message, expect);
	ck_assert(!rep.mode_forced_off);
}
END_TEST

START_TEST(save_then_load_restores_everything)
{
	struct settings s;
	struct monitor m;
	char *a, *b;

	interesting_state();
	save_ok();
	ck_assert_int_eq(load(&s, &m), STORE_LOADED);
	ck_assert_uint_eq(rep.nproblems, 0);
	ck_assert(exists("state.json"));
	a = dump_state(&set, &mon);
	b = dump_state(&s, &m);
	ck_assert_str_eq(a, b);
	ck_assert_double_eq(s.discharge_floor, 15);
	ck_assert(!s.mode_on);
	ck_assert_double_eq_tol(m.soc, 100, 1e-12);
	ck_assert_uint_eq(m.h.cycles, 7);
	ck_assert_ptr_eq(m.s, &s);
	free(a);
	free(b);
}
END_TEST

START_TEST(saved_file_is_versioned_json_with_a_newline)
{
	size_t len;
	char *text;
	json_t *j;

	interesting_state();
	save_ok();
	text = read_text("state.json", &len);
	ck_assert_uint_gt(len, 10);
	ck_assert_int_eq(text[len - 1], '\n');
	j = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "version")), 1);
	ck_assert(json_is_object(json_object_get(j, "settings")));
	ck_assert(json_is_object(json_object_get(j, "monitor")));
	ck_assert_uint_eq(json_object_size(j), 3);
	ck_assert(!exists("state.json.tmp"));
	json_decref(j);
	free(text);
}
END_TEST

START_TEST(save_replaces_the_old_state)
{
	struct settings s;
	struct monitor m;

	save_ok();
	interesting_state();
	save_ok();
	ck_assert_int_eq(load(&s, &m), STORE_LOADED);
	ck_assert_double_eq(s.discharge_floor, 15);
}
END_TEST

/* ---- the atomic write --------------------------------------------------- */

START_TEST(failed_temp_create_keeps_the_old_file)
{
	char err[512] = "", expect[PATH_LEN + 128], *before, *after;
	json_t *state;

	save_ok();
	before = read_text("state.json", NULL);
	/* a directory where the temporary file goes: open() fails even for
	 * root, unlike a read-only directory */
	ck_assert_int_eq(mkdir(in_dir("state.json.tmp"), 0755), 0);
	interesting_state();
	state = store_state_json(&set, &mon);
	ck_assert_int_eq(store_save(dir, state, err, sizeof(err)), -1);
	snprintf(expect, sizeof(expect), "%s: cannot create: Is a directory",
		 in_dir("state.json.tmp"));
	ck_assert_str_eq(err, expect);
	after = read_text("state.json", NULL);
	ck_assert_str_eq(after, before);
	json_decref(state);
	free(before);
	free(after);
}
END_TEST

START_TEST(failed_write_keeps_the_old_file)
{
	struct rlimit old, small = {.rlim_cur = 64, .rlim_max = RLIM_INFINITY};
	char err[512] = "", expect[PATH_LEN + 128], *before, *after;
	json_t *state;

	save_ok();
	before = read_text("state.json", NULL);
	interesting_state();
	state = store_state_json(&set, &mon);
	/* Files may not grow beyond 64 bytes: the write fails half way. */
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
	ck_assert_int_eq(store_save(dir, state, err, sizeof(err)), -1);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	snprintf(expect, sizeof(expect), "%s: cannot write: File too large",
		 in_dir("state.json.tmp"));
	ck_assert_str_eq(err, expect);
	after = read_text("state.json", NULL);
	ck_assert_str_eq(after, before);
	ck_assert(!exists("state.json.tmp"));
	json_decref(state);
	free(before);
	free(after);
}
END_TEST

START_TEST(save_to_a_missing_directory_fails_clearly)
{
	json_t *state = store_state_json(&set, &mon);
	char err[512] = "";

	ck_assert_int_eq(
		store_save("/nonexistent/smallbms", state, err, sizeof(err)),
		-1);
	ck_assert_str_eq(err, "/nonexistent/smallbms/state.json.tmp: cannot "
			      "create: No such file or directory");
	json_decref(state);
}
END_TEST

START_TEST(stale_temp_file_is_replaced)
{
	struct settings s;
	struct monitor m;

	/* left by a power cut during a write */
	write_text("state.json.tmp", "{\"version\": 1, \"sett", 20);
	interesting_state();
	save_ok();
	ck_assert(!exists("state.json.tmp"));
	ck_assert_int_eq(load(&s, &m), STORE_LOADED);
}
END_TEST

/* A FIFO where the temporary file goes never hangs a save. */
START_TEST(a_fifo_in_place_of_the_temp_file_fails_at_once)
{
	json_t *state = store_state_json(&set, &mon);
	char err[512] = "";

	ck_assert_int_eq(mkfifo(in_dir("state.json.tmp"), 0600), 0);
	ck_assert_int_eq(store_save(dir, state, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot create"));
	json_decref(state);
}
END_TEST

/* ---- files that cannot be used at all ------------------------------------ */

/* Loading gives STORE_UNUSABLE, the defaults with Mode Off (it could not
 * be read), the message "PATH: not used: WHY; kept as PATH.corrupt-..."
 * where WHY starts with why (the whole of it but for jansson's own
 * words), and the file moved aside with its content. */
static void assert_unusable(const char *text, size_t len, const char *why)
{
	struct settings s;
	struct monitor m;
	char head[PATH_LEN + 512], tail[PATH_LEN + 128];
	char *kept;
	size_t klen;

	write_text("state.json", text, len);
	ck_assert_int_eq(load(&s, &m), STORE_UNUSABLE);
	assert_defaults_mode(&s, &m, false);
	ck_assert(rep.mode_forced_off);
	snprintf(head, sizeof(head), "%s: not used: %s", in_dir("state.json"),
		 why);
	snprintf(tail, sizeof(tail), "; kept as %s", in_dir(CORRUPT_AS));
	ck_assert_msg(
		strncmp(rep.message, head, strlen(head)) == 0 &&
			strlen(rep.message) >= strlen(tail) &&
			strcmp(rep.message + strlen(rep.message) - strlen(tail),
			       tail) == 0,
		"%s", rep.message);
	ck_assert(!exists("state.json"));
	kept = read_text(CORRUPT_AS, &klen);
	ck_assert_uint_eq(klen, len);
	ck_assert_mem_eq(kept, text, len);
	free(kept);
	ck_assert_int_eq(unlink(in_dir(CORRUPT_AS)), 0);
}

START_TEST(garbage_is_kept_aside)
{
	static const char garbage[] = "\x00\xff garbage {";

	assert_unusable(garbage, sizeof(garbage) - 1,
			"not valid JSON (line 1, column ");
	assert_unusable("", 0, "not valid JSON (line 1, column ");
	assert_unusable("{\"version\": 1,", 14,
			"not valid JSON (line 1, column 14: ");
	assert_unusable("{\"version\": 1}\n{}", 17,
			"not valid JSON (line 2, column ");
	assert_unusable("[]", 2, "not a state file (no version number); kept");
	assert_unusable("{\"version\":1,\"version\":1}", 25,
			"not valid JSON (line 1, column 22: duplicate object "
			"key");
}
END_TEST

START_TEST(wrong_version_is_kept_aside)
{
	const char *v2 = "{\"version\": 2, \"settings\": {}, \"monitor\": {}}";
	const char *v0 = "{\"version\": \"1\", \"settings\": {}, "
			 "\"monitor\": {}}";

	assert_unusable(v2, strlen(v2),
			"version 2 is not supported (this smallbmsd reads "
			"version 1); kept");
	assert_unusable(v0, strlen(v0),
			"not a state file (no version number); kept");
}
END_TEST

START_TEST(two_unusable_files_in_one_second_are_both_kept)
{
	struct settings s;
	struct monitor m;

	write_text("state.json", "one", 3);
	ck_assert_int_eq(load(&s, &m), STORE_UNUSABLE);
	write_text("state.json", "two", 3);
	ck_assert_int_eq(load(&s, &m), STORE_UNUSABLE);
	ck_assert(exists(CORRUPT_AS));
	ck_assert(exists(CORRUPT_AS "-2"));
	ck_assert_ptr_nonnull(strstr(rep.message, CORRUPT_AS "-2"));
}
END_TEST

START_TEST(a_directory_in_place_of_the_file)
{
	struct settings s;
	struct monitor m;

	ck_assert_int_eq(mkdir(in_dir("state.json"), 0755), 0);
	ck_assert_int_eq(load(&s, &m), STORE_UNUSABLE);
	assert_defaults_mode(&s, &m, false);
	ck_assert_ptr_nonnull(
		strstr(rep.message, "not a regular file but a directory"));
	ck_assert(exists(CORRUPT_AS));
}
END_TEST

/* A FIFO in the file's place: the load must not wait for a writer (the
 * test would hang, and the Check timeout fail it). */
START_TEST(a_fifo_in_place_of_the_file_does_not_hang)
{
	struct settings s;
	struct monitor m;

	ck_assert_int_eq(mkfifo(in_dir("state.json"), 0600), 0);
	ck_assert_int_eq(load(&s, &m), STORE_UNUSABLE);
	assert_defaults_mode(&s, &m, false);
	ck_assert_ptr_nonnull(
		strstr(rep.message, "not a regular file but a FIFO"));
	ck_assert(!exists("state.json"));
	ck_assert(exists(CORRUPT_AS));
}
END_TEST

/* A symbolic link is not followed, even to a good file. */
START_TEST(a_link_in_place_of_the_file_is_not_followed)
{
	struct settings s;
	struct monitor m;

	interesting_state();
	save_ok();
	ck_assert_int_eq(rename(in_dir("state.json"), in_dir("elsewhere")), 0);
	ck_assert_int_eq(symlink(in_dir("elsewhere"), in_dir("state.json")), 0);
	ck_assert_int_eq(load(&s, &m), STORE_UNUSABLE);
	ck_assert_ptr_nonnull(strstr(rep.message, "symbolic link"));
	ck_assert(!s.mode_on);
	ck_assert(exists("elsewhere"));
}
END_TEST

/* A torn write cannot happen (rename), but if a file were cut short by
 * anything else, no prefix of it may load as something else or crash. */
START_TEST(every_truncation_is_refused)
{
	struct settings s;
	struct monitor m;
	char *text;
	size_t len;

	interesting_state();
	save_ok();
	text = read_text("state.json", &len);
	for (size_t cut = 0; cut < len - 1; cut++) {
		write_text("state.json", text, cut);
		ck_assert_msg(load(&s, &m) == STORE_UNUSABLE,
			      "cut at %zu loaded", cut);
		assert_defaults_mode(&s, &m, false);
		ck_assert_int_eq(unlink(in_dir(CORRUPT_AS)), 0);
	}
	/* without only the final newline it is still the same JSON */
	write_text("state.json", text, len - 1);
	ck_assert_int_eq(load(&s, &m), STORE_LOADED);
	free(text);
}
END_TEST

/* ---- files with bad keys: the rest is kept (I8) ---------------------------- */

/* The case: Mode Off, SoC 42, one bad and one unknown key (a
 * downgrade): both dropped by name, Mode and SoC survive. */
START_TEST(bad_and_unknown_keys_are_dropped_the_rest_kept)
{
	const char *text = "{\"version\": 1, \"settings\": {\"mode\": \"off\", "
			   "\"prealarm_cell\": 3.5, \"tail_current\": 5.0, "
			   "\"from_a_newer_version\": 7}, \"monitor\": "
			   "{\"soc\": 42.5, \"history\": {\"cycles\": 3}}}";
	struct settings s;
	struct monitor m;

	write_text("state.json", text, strlen(text));
	ck_assert_int_eq(load(&s, &m), STORE_PARTIAL);
	ck_assert(!s.mode_on);
	ck_assert(!rep.mode_forced_off);
	ck_assert_double_eq(m.soc, 42.5);
	ck_assert_uint_eq(m.h.cycles, 3);
	ck_assert_double_eq(s.tail_current, 5.0);
	ck_assert_double_eq_tol(s.prealarm_cell, 3.10, 1e-12);
	ck_assert_uint_eq(rep.nproblems, 2);
	ck_assert_str_eq(rep.problems[0],
			 "prealarm_cell: 3.5 is out of range (2.5..3.4 V); "
			 "using the default");
	ck_assert_str_eq(rep.problems[1],
			 "from_a_newer_version: unknown setting, dropped");
	ck_assert_ptr_nonnull(strstr(rep.message, "partly used: "));
	/* the file as it was is kept for inspection */
	ck_assert(exists(CORRUPT_AS));
}
END_TEST

/* Mode cannot be read from a file that existed: Mode Off, loudly. */
START_TEST(unreadable_mode_means_mode_off)
{
	const char *bad = "{\"version\": 1, \"settings\": {\"mode\": 1}, "
			  "\"monitor\": {\"soc\": 60}}";
	const char *missing = "{\"version\": 1, \"settings\": {}, "
			      "\"monitor\": {\"soc\": 60}}";
	const char *nosettings = "{\"version\": 1, \"monitor\": {\"soc\": 60}}";
	const char *cases[] = {bad, missing, nosettings};
	struct settings s;
	struct monitor m;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_text("state.json", cases[i], strlen(cases[i]));
		ck_assert_int_eq(load(&s, &m), STORE_PARTIAL);
		ck_assert_msg(!s.mode_on, "%s", cases[i]);
		ck_assert(rep.mode_forced_off);
		ck_assert_double_eq(m.soc, 60);
		ck_assert_int_eq(unlink(in_dir(CORRUPT_AS)), 0);
	}
}
END_TEST

/* Values in range but breaking a rule with the configuration (I3) are
 * dropped like bad ones. */
START_TEST(saved_values_that_break_a_rule_are_dropped)
{
	const char *text = "{\"version\": 1, \"settings\": {\"mode\": \"on\", "
			   "\"low_soc_warning\": 5, \"discharge_floor\": 10}, "
			   "\"monitor\": {}}";
	struct settings s;
	struct monitor m;

	write_text("state.json", text, strlen(text));
	ck_assert_int_eq(load(&s, &m), STORE_PARTIAL);
	ck_assert(s.mode_on);
	ck_assert_double_eq(s.low_soc_warning, 20);
	ck_assert_double_eq(s.discharge_floor, 10);
	ck_assert_ptr_nonnull(strstr(rep.problems[0], "low_soc_warning: 5 % "
						      "breaks a rule"));
}
END_TEST

START_TEST(unknown_top_level_keys_are_dropped)
{
	const char *text =
		"{\"version\": 1, \"settings\": {\"mode\": \"off\"}, "
		"\"monitor\": {\"soc\": 70}, \"more\": 1}";
	struct settings s;
	struct monitor m;

	write_text("state.json", text, strlen(text));
	ck_assert_int_eq(load(&s, &m), STORE_PARTIAL);
	ck_assert(!s.mode_on);
	ck_assert_double_eq(m.soc, 70);
	ck_assert_str_eq(rep.problems[0], "more: unknown key, dropped");
}
END_TEST

/* ---- the save policy ---------------------------------------------------- */

START_TEST(policy_saves_changes_at_most_every_interval)
{
	struct store_policy p;
	const uint64_t t0 = 1000 * SEC;

	store_policy_init(&p, t0);
	ck_assert(!store_policy_due(&p, t0 + 3600 * SEC, 60));
	ck_assert_uint_eq(store_policy_next(&p, t0, 60), UINT64_MAX);
	store_policy_mark(&p, false);
	ck_assert(!store_policy_due(&p, t0 + 59 * SEC, 60));
	ck_assert_uint_eq(store_policy_next(&p, t0 + 10 * SEC, 60),
			  t0 + 60 * SEC);
	ck_assert(store_policy_due(&p, t0 + 60 * SEC, 60));
	store_policy_done(&p, t0 + 60 * SEC, true);
	ck_assert(!store_policy_due(&p, t0 + 600 * SEC, 60));
	store_policy_mark(&p, false);
	ck_assert(!store_policy_due(&p, t0 + 119 * SEC, 60));
	ck_assert(store_policy_due(&p, t0 + 120 * SEC, 60));
	/* the interval is read at each call: a settings change applies */
	ck_assert(!store_policy_due(&p, t0 + 120 * SEC, 300));
}
END_TEST

START_TEST(policy_saves_settings_changes_at_once)
{
	struct store_policy p;
	const uint64_t t0 = 1000 * SEC;

	store_policy_init(&p, t0);
	store_policy_mark(&p, false);
	store_policy_mark(&p, true);
	ck_assert(store_policy_due(&p, t0 + 1, 60));
	ck_assert_uint_eq(store_policy_next(&p, t0 + 1, 60), t0 + 1);
	store_policy_done(&p, t0 + 1, true);
	ck_assert(!store_policy_due(&p, t0 + 2, 60));
	/* a later non-urgent change does not make it urgent */
	store_policy_mark(&p, false);
	ck_assert(!store_policy_due(&p, t0 + 2, 60));
}
END_TEST

START_TEST(policy_retries_a_failed_save_after_the_interval)
{
	struct store_policy p;
	const uint64_t t0 = 1000 * SEC;

	store_policy_init(&p, t0);
	store_policy_mark(&p, true);
	store_policy_done(&p, t0 + SEC, false);
	ck_assert(p.dirty);
	ck_assert(!store_policy_due(&p, t0 + 2 * SEC, 60));
	ck_assert(store_policy_due(&p, t0 + 61 * SEC, 60));
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("file");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, missing_file_means_defaults);
	tcase_add_test(tc, save_then_load_restores_everything);
	tcase_add_test(tc, saved_file_is_versioned_json_with_a_newline);
	tcase_add_test(tc, save_replaces_the_old_state);
	tcase_add_test(tc, failed_temp_create_keeps_the_old_file);
	tcase_add_test(tc, failed_write_keeps_the_old_file);
	tcase_add_test(tc, save_to_a_missing_directory_fails_clearly);
	tcase_add_test(tc, stale_temp_file_is_replaced);
	tcase_add_test(tc, a_fifo_in_place_of_the_temp_file_fails_at_once);
	tcase_add_test(tc, garbage_is_kept_aside);
	tcase_add_test(tc, wrong_version_is_kept_aside);
	tcase_add_test(tc, two_unusable_files_in_one_second_are_both_kept);
	tcase_add_test(tc, a_directory_in_place_of_the_file);
	tcase_add_test(tc, a_fifo_in_place_of_the_file_does_not_hang);
	tcase_add_test(tc, a_link_in_place_of_the_file_is_not_followed);
	tcase_add_test(tc, every_truncation_is_refused);
	tcase_add_test(tc, bad_and_unknown_keys_are_dropped_the_rest_kept);
	tcase_add_test(tc, unreadable_mode_means_mode_off);
	tcase_add_test(tc, saved_values_that_break_a_rule_are_dropped);
	tcase_add_test(tc, unknown_top_level_keys_are_dropped);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_add_test(tc, policy_saves_changes_at_most_every_interval);
	tcase_add_test(tc, policy_saves_settings_changes_at_once);
	tcase_add_test(tc, policy_retries_a_failed_save_after_the_interval);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
