/* SPDX-License-Identifier: MIT */
/*
 * test_store.c - the state file: save and load, the atomic write (the old
 * file survives a failed write), missing / corrupt / wrong-version /
 * invalid files (defaults, the file kept aside), every truncation of a
 * good file, and the save policy.
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

/* The loaded settings and monitor are the defaults. */
static void assert_defaults(const struct settings *s, const struct monitor *m)
{
	struct settings def;
	json_t *a, *b;

	settings_default(&def);
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

/* Load into a fresh pair; returns the result, err the message. */
static enum store_load_result load(struct settings *s, struct monitor *m,
				   char *err, size_t n)
{
	settings_default(s);
	monitor_init(m, s);
	/* Make the defaults visible: not what the file could hold. */
	s->discharge_floor = 42;
	m->soc = 42;
	return store_load(dir, WALL, s, m, err, n);
}

/* ---- save and load ------------------------------------------------------ */

START_TEST(missing_file_means_defaults)
{
	struct settings s;
	struct monitor m;
	char err[512] = "", expect[PATH_LEN + 64];

	ck_assert_int_eq(load(&s, &m, err, sizeof(err)), STORE_MISSING);
	assert_defaults(&s, &m);
	snprintf(expect, sizeof(expect), "%s: no saved state; using defaults",
		 in_dir("state.json"));
	ck_assert_str_eq(err, expect);
}
END_TEST

START_TEST(save_then_load_restores_everything)
{
	struct settings s;
	struct monitor m;
	char err[512] = "", *a, *b;

	interesting_state();
	save_ok();
	ck_assert_int_eq(load(&s, &m, err, sizeof(err)), STORE_LOADED);
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
	char err[512] = "";

	save_ok();
	interesting_state();
	save_ok();
	ck_assert_int_eq(load(&s, &m, err, sizeof(err)), STORE_LOADED);
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
	char err[512] = "";

	/* left by a power cut during a write */
	write_text("state.json.tmp", "{\"version\": 1, \"sett", 20);
	interesting_state();
	save_ok();
	ck_assert(!exists("state.json.tmp"));
	ck_assert_int_eq(load(&s, &m, err, sizeof(err)), STORE_LOADED);
}
END_TEST

/* ---- files that cannot be used ------------------------------------------ */

/* Loading gives STORE_CORRUPT, the defaults, the error "PATH: WHY; kept
 * as PATH.corrupt-...; using defaults" where WHY starts with why (the
 * whole of it but for jansson's own words), and the file moved to
 * CORRUPT_AS with its content. */
static void assert_corrupt(const char *text, size_t len, const char *why)
{
	struct settings s;
	struct monitor m;
	char err[1024] = "", head[PATH_LEN + 512], tail[PATH_LEN + 128];
	char *kept;
	size_t klen;

	write_text("state.json", text, len);
	ck_assert_int_eq(load(&s, &m, err, sizeof(err)), STORE_CORRUPT);
	assert_defaults(&s, &m);
	snprintf(head, sizeof(head), "%s: %s", in_dir("state.json"), why);
	snprintf(tail, sizeof(tail), "; kept as %s; using defaults",
		 in_dir(CORRUPT_AS));
	ck_assert_msg(strncmp(err, head, strlen(head)) == 0 &&
			      strlen(err) >= strlen(tail) &&
			      strcmp(err + strlen(err) - strlen(tail), tail) ==
				      0,
		      "%s", err);
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

	assert_corrupt(garbage, sizeof(garbage) - 1,
		       "not valid JSON (line 1, column ");
	assert_corrupt("", 0, "not valid JSON (line 1, column ");
	assert_corrupt("{\"version\": 1,", 14,
		       "not valid JSON (line 1, column 14: ");
	assert_corrupt("{\"version\": 1}\n{}", 17,
		       "not valid JSON (line 2, column ");
	assert_corrupt("[]", 2, "not a JSON object; kept");
	assert_corrupt("{\"version\":1,\"version\":1}", 25,
		       "not valid JSON (line 1, column 22: duplicate object "
		       "key");
}
END_TEST

START_TEST(wrong_version_is_kept_aside)
{
	const char *v2 = "{\"version\": 2, \"settings\": {}, \"monitor\": {}}";
	const char *v0 = "{\"version\": \"1\", \"settings\": {}, "
			 "\"monitor\": {}}";

	assert_corrupt(v2, strlen(v2),
		       "version 2 is not supported (this smallbmsd reads "
		       "version 1); kept");
	assert_corrupt(v0, strlen(v0), "no version number; kept");
}
END_TEST

START_TEST(invalid_values_are_kept_aside)
{
	const char *floor = "{\"version\": 1, \"settings\": "
			    "{\"discharge_floor\": 120}, \"monitor\": {}}";
	const char *soc = "{\"version\": 1, \"settings\": {}, "
			  "\"monitor\": {\"soc\": 250}}";
	const char *extra = "{\"version\": 1, \"settings\": {}, "
			    "\"monitor\": {}, \"more\": 1}";
	const char *none = "{\"version\": 1, \"settings\": {}}";

	assert_corrupt(floor, strlen(floor),
		       "discharge_floor: 120 is out of range (0..99 %); kept");
	assert_corrupt(soc, strlen(soc),
		       "soc: 250 is out of range (0..100); kept");
	assert_corrupt(extra, strlen(extra), "unknown key 'more'; kept");
	assert_corrupt(none, strlen(none),
		       "\"settings\" or \"monitor\" is missing; kept");
}
END_TEST

START_TEST(two_corrupt_files_in_one_second_are_both_kept)
{
	struct settings s;
	struct monitor m;
	char err[1024];

	write_text("state.json", "one", 3);
	ck_assert_int_eq(load(&s, &m, err, sizeof(err)), STORE_CORRUPT);
	write_text("state.json", "two", 3);
	ck_assert_int_eq(load(&s, &m, err, sizeof(err)), STORE_CORRUPT);
	ck_assert(exists(CORRUPT_AS));
	ck_assert(exists(CORRUPT_AS "-2"));
	ck_assert_ptr_nonnull(strstr(err, CORRUPT_AS "-2; using defaults"));
}
END_TEST

START_TEST(a_directory_in_place_of_the_file)
{
	struct settings s;
	struct monitor m;
	char err[1024];

	ck_assert_int_eq(mkdir(in_dir("state.json"), 0755), 0);
	ck_assert_int_eq(load(&s, &m, err, sizeof(err)), STORE_CORRUPT);
	assert_defaults(&s, &m);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
	ck_assert(exists(CORRUPT_AS));
}
END_TEST

/* A torn write cannot happen (rename), but if a file were cut short by
 * anything else, no prefix of it may load as something else or crash. */
START_TEST(every_truncation_is_refused)
{
	struct settings s;
	struct monitor m;
	char err[1024], *text;
	size_t len;

	interesting_state();
	save_ok();
	text = read_text("state.json", &len);
	for (size_t cut = 0; cut < len - 1; cut++) {
		write_text("state.json", text, cut);
		ck_assert_msg(load(&s, &m, err, sizeof(err)) == STORE_CORRUPT,
			      "cut at %zu loaded", cut);
		assert_defaults(&s, &m);
		ck_assert_int_eq(unlink(in_dir(CORRUPT_AS)), 0);
	}
	/* without only the final newline it is still the same JSON */
	write_text("state.json", text, len - 1);
	ck_assert_int_eq(load(&s, &m, err, sizeof(err)), STORE_LOADED);
	free(text);
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
	tcase_add_test(tc, garbage_is_kept_aside);
	tcase_add_test(tc, wrong_version_is_kept_aside);
	tcase_add_test(tc, invalid_values_are_kept_aside);
	tcase_add_test(tc, two_corrupt_files_in_one_second_are_both_kept);
	tcase_add_test(tc, a_directory_in_place_of_the_file);
	tcase_add_test(tc, every_truncation_is_refused);
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
