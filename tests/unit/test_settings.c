/* SPDX-License-Identifier: MIT */
/*
 * test_settings.c - the run-time settings table: defaults, strict parsing
 * and its messages, reset-defaults (exactly five settings), JSON both
 * ways, the description for `smallbmsctl settings`.
 */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

#define EPS 1e-12

/* What settings_from_json() reported. */
struct problems {
	unsigned n;
	char first[320];
};

static void collect(void *userdata, const char *msg)
{
	struct problems *p = userdata;

	if (p->n++ == 0)
		snprintf(p->first, sizeof(p->first), "%s", msg);
}

/* The configuration's part of the rules: guard_settings_default(). */
static struct guard_settings base(void)
{
	struct guard_settings g;

	guard_settings_default(&g);
	return g;
}

static int from_json(struct settings *s, const json_t *o, struct problems *p,
		     bool *mode_read)
{
	struct guard_settings b = base();

	memset(p, 0, sizeof(*p));
	return settings_from_json(s, o, &b, collect, p, mode_read);
}

/* Every setting away from its default (and inside its range). */
static void set_all_non_default(struct settings *s)
{
	static const char *const v[][2] = {
		{"charged_voltage", "3.45"},
		{"tail_current", "2.5"},
		{"charged_detection_time", "600"},
		{"low_soc_warning", "35"},
		{"discharge_floor", "25"},
		{"charge_efficiency", "90"},
		{"current_threshold", "0.25"},
		{"ttg_averaging", "60"},
		{"prealarm_cell", "3.15"},
		{"imbalance", "0.08"},
		{"string_current_tolerance", "3.5"},
		{"string_voltage_tolerance", "0.7"},
		{"parallel_voltage_tolerance", "0.25"},
		{"state_save_interval", "300"},
		{"mode", "off"},
	};
	char err[256];
	size_t n;

	settings_keys(&n);
	ck_assert_uint_eq(n, sizeof(v) / sizeof(v[0]));
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(settings_set(s, v[i][0], v[i][1], err,
					   sizeof(err)) == 0,
			      "%s", err);
}

static bool same_settings(const struct settings *a, const struct settings *b)
{
	return a->charged_voltage == b->charged_voltage &&
	       a->tail_current == b->tail_current &&
	       a->charged_detection_time == b->charged_detection_time &&
	       a->low_soc_warning == b->low_soc_warning &&
	       a->discharge_floor == b->discharge_floor &&
	       a->charge_efficiency == b->charge_efficiency &&
	       a->current_threshold == b->current_threshold &&
	       a->ttg_averaging == b->ttg_averaging &&
	       a->prealarm_cell == b->prealarm_cell &&
	       a->imbalance == b->imbalance &&
	       a->string_current_tol == b->string_current_tol &&
	       a->string_voltage_tol == b->string_voltage_tol &&
	       a->parallel_voltage_tol == b->parallel_voltage_tol &&
	       a->state_save_interval == b->state_save_interval &&
	       a->mode_on == b->mode_on;
}

/* Set name=text must fail with exactly msg and leave s unchanged. */
static void assert_refused(const char *name, const char *text, const char *msg)
{
	struct settings s, before;
	char err[512] = "";

	settings_default(&s);
	before = s;
	ck_assert_int_eq(settings_set(&s, name, text, err, sizeof(err)), -1);
	ck_assert_str_eq(err, msg);
	ck_assert(same_settings(&s, &before));
}

START_TEST(defaults_are_the_documented_ones)
{
	struct settings s;

	settings_default(&s);
	ck_assert_double_eq_tol(s.charged_voltage, 3.50, EPS);
	ck_assert_double_eq_tol(s.tail_current, 4.0, EPS);
	ck_assert_uint_eq(s.charged_detection_time, 180);
	ck_assert_double_eq_tol(s.low_soc_warning, 20, EPS);
	ck_assert_double_eq_tol(s.discharge_floor, 10, EPS);
	ck_assert_double_eq_tol(s.charge_efficiency, 95, EPS);
	ck_assert_double_eq_tol(s.current_threshold, 0.10, EPS);
	ck_assert_uint_eq(s.ttg_averaging, 180);
	ck_assert_double_eq_tol(s.prealarm_cell, 3.10, EPS);
	ck_assert_uint_eq(s.state_save_interval, 60);
	ck_assert(s.mode_on);
}
END_TEST

START_TEST(table_is_consistent)
{
	size_t n, nreset = 0;
	const struct settings_key *k = settings_keys(&n);

	for (size_t i = 0; i < n; i++) {
		double scale = pow(10.0, k[i].decimals);

		ck_assert_ptr_eq(settings_find(k[i].name), &k[i]);
		ck_assert_msg(k[i].def >= k[i].min && k[i].def <= k[i].max,
			      "%s: default out of range", k[i].name);
		ck_assert_msg(
			fabs(k[i].def * scale - round(k[i].def * scale)) < 1e-9,
			"%s: default finer than its resolution", k[i].name);
		ck_assert_msg(k[i].desc && strlen(k[i].desc) > 10, "%s",
			      k[i].name);
		nreset += k[i].reset;
	}
	ck_assert_uint_eq(nreset, 5);
	ck_assert(settings_find("charged_voltage")->reset);
	ck_assert(settings_find("tail_current")->reset);
	ck_assert(settings_find("charged_detection_time")->reset);
	ck_assert(settings_find("low_soc_warning")->reset);
	ck_assert(settings_find("discharge_floor")->reset);
	ck_assert_ptr_null(settings_find("no_such_setting"));
}
END_TEST

START_TEST(set_accepts_valid_values)
{
	struct settings s;
	char err[256];

	settings_default(&s);
	ck_assert_int_eq(
		settings_set(&s, "charged_voltage", "3.45", err, sizeof(err)),
		0);
	ck_assert_double_eq(s.charged_voltage, 3.45);
	ck_assert_int_eq(
		settings_set(&s, "discharge_floor", "0", err, sizeof(err)), 0);
	ck_assert_double_eq(s.discharge_floor, 0);
	ck_assert_int_eq(settings_set(&s, "charged_detection_time", "600", err,
				      sizeof(err)),
			 0);
	ck_assert_uint_eq(s.charged_detection_time, 600);
	ck_assert_int_eq(settings_set(&s, "mode", "off", err, sizeof(err)), 0);
	ck_assert(!s.mode_on);
	ck_assert_int_eq(settings_set(&s, "mode", "on", err, sizeof(err)), 0);
	ck_assert(s.mode_on);
	/* fewer decimals than allowed are fine */
	ck_assert_int_eq(
		settings_set(&s, "current_threshold", "1", err, sizeof(err)),
		0);
	ck_assert_double_eq(s.current_threshold, 1.0);
}
END_TEST

START_TEST(range_bounds_are_inclusive)
{
	struct settings s;
	char err[256];

	settings_default(&s);
	ck_assert_int_eq(
		settings_set(&s, "tail_current", "0.5", err, sizeof(err)), 0);
	ck_assert_int_eq(
		settings_set(&s, "tail_current", "10.0", err, sizeof(err)), 0);
	ck_assert_int_eq(
		settings_set(&s, "charged_voltage", "3.65", err, sizeof(err)),
		0);
	ck_assert_double_eq(s.charged_voltage, 3.65);
	ck_assert_int_eq(
		settings_set(&s, "ttg_averaging", "0", err, sizeof(err)), 0);
	assert_refused("tail_current", "0.4",
		       "tail_current: 0.4 is out of range (0.5..10 %)");
	assert_refused("tail_current", "10.1",
		       "tail_current: 10.1 is out of range (0.5..10 %)");
	assert_refused("charged_voltage", "3.66",
		       "charged_voltage: 3.66 is out of range (3.3..3.65 V)");
	assert_refused("charged_detection_time", "9",
		       "charged_detection_time: 9 is out of range "
		       "(10..3000 s)");
}
END_TEST

START_TEST(set_refuses_with_a_clear_message)
{
	assert_refused("discharge_floor", "120",
		       "discharge_floor: 120 is out of range (0..99 %)");
	assert_refused("discharge_floor", "-1",
		       "discharge_floor: -1 is out of range (0..99 %)");
	assert_refused("charged_voltage", "abc",
		       "charged_voltage: 'abc' is not a number");
	assert_refused("charged_voltage", "3.456",
		       "charged_voltage: '3.456' has more than 2 decimals");
	assert_refused("charged_detection_time", "3.5",
		       "charged_detection_time: '3.5' is not a whole number");
	assert_refused("charged_detection_time", "3m",
		       "charged_detection_time: '3m' is not a whole number");
	assert_refused("mode", "maybe", "mode: 'maybe' is not on or off");
	assert_refused("mode", "ON", "mode: 'ON' is not on or off");
	assert_refused("discharge_floor", "99999999999",
		       "discharge_floor: 99999999999 is out of range (0..99 "
		       "%)");
}
END_TEST

START_TEST(set_refuses_anything_but_a_plain_number)
{
	static const char *const bad[] = {
		"",    " 3.4", "3.4 ", "3,4", "1e1",  "0x10", "inf",
		"nan", "3.",   ".5",   "+3",  "3.4V", "--1",  "3..4",
	};
	char msg[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(msg, sizeof(msg), "tail_current: '%s' is not a number",
			 bad[i]);
		assert_refused("tail_current", bad[i], msg);
	}
}
END_TEST

START_TEST(unknown_setting_lists_the_known_ones)
{
	assert_refused("floor", "10",
		       "floor: unknown setting (known: charged_voltage, "
		       "tail_current, charged_detection_time, low_soc_warning, "
		       "discharge_floor, charge_efficiency, current_threshold, "
		       "ttg_averaging, prealarm_cell, imbalance, "
		       "string_current_tolerance, string_voltage_tolerance, "
		       "parallel_voltage_tolerance, state_save_interval, "
		       "mode)");
}
END_TEST

START_TEST(reset_defaults_touches_exactly_its_five)
{
	struct settings s, def;

	settings_default(&def);
	settings_default(&s);
	set_all_non_default(&s);
	settings_reset_defaults(&s);
	/* restored */
	ck_assert_double_eq(s.charged_voltage, def.charged_voltage);
	ck_assert_double_eq(s.tail_current, def.tail_current);
	ck_assert_uint_eq(s.charged_detection_time, def.charged_detection_time);
	ck_assert_double_eq(s.low_soc_warning, def.low_soc_warning);
	ck_assert_double_eq(s.discharge_floor, def.discharge_floor);
	/* kept */
	ck_assert_double_eq(s.charge_efficiency, 90);
	ck_assert_double_eq(s.current_threshold, 0.25);
	ck_assert_uint_eq(s.ttg_averaging, 60);
	ck_assert_double_eq(s.prealarm_cell, 3.15);
	ck_assert_uint_eq(s.state_save_interval, 300);
	ck_assert(!s.mode_on);
}
END_TEST

START_TEST(format_uses_the_resolution)
{
	struct settings s;
	char buf[32];

	settings_default(&s);
	settings_format(&s, settings_find("charged_voltage"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "3.50");
	settings_format(&s, settings_find("charged_detection_time"), buf,
			sizeof(buf));
	ck_assert_str_eq(buf, "180");
	settings_format(&s, settings_find("tail_current"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "4.0");
	settings_format(&s, settings_find("mode"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "on");
}
END_TEST

START_TEST(json_round_trip)
{
	struct settings s, back;
	struct problems pr;
	bool mode_read;
	char *text;
	json_t *j, *k;

	settings_default(&s);
	set_all_non_default(&s);
	j = settings_to_json(&s);
	ck_assert_double_eq(
		json_real_value(json_object_get(j, "charged_voltage")), 3.45);
	ck_assert_int_eq(json_integer_value(
				 json_object_get(j, "charged_detection_time")),
			 600);
	ck_assert_str_eq(json_string_value(json_object_get(j, "mode")), "off");
	text = json_dumps(j, JSON_REAL_PRECISION(15));
	k = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(from_json(&back, k, &pr, &mode_read), 0);
	ck_assert(mode_read);
	ck_assert(same_settings(&back, &s));
	free(text);
	json_decref(j);
	json_decref(k);
}
END_TEST

/* One bad key in text: dropped with msg, its setting at the default, the
 * valid keys beside it kept (a state file is read key by key). */
static void assert_json_dropped(const char *text, const char *msg)
{
	struct settings s, def;
	json_t *j = json_loads(text, 0, NULL);
	struct problems pr;
	bool mode_read;

	ck_assert_ptr_nonnull(j);
	settings_default(&def);
	ck_assert_int_eq(from_json(&s, j, &pr, &mode_read), 1);
	ck_assert_str_eq(pr.first, msg);
	ck_assert_double_eq(s.tail_current, 5.0); /* the valid key beside */
	s.tail_current = def.tail_current;
	ck_assert(same_settings(&s, &def));
	json_decref(j);
}

START_TEST(json_drops_bad_keys_and_keeps_the_rest)
{
	assert_json_dropped("{\"tail_current\": 5.0, \"discharge_floor\": 120}",
			    "discharge_floor: 120 is out of range (0..99 %); "
			    "using the default");
	assert_json_dropped("{\"tail_current\": 5.0, \"charged_voltage\": "
			    "\"3.5\"}",
			    "charged_voltage: not a number; using the default");
	assert_json_dropped("{\"charged_voltage\": 3.456, \"tail_current\": 5}",
			    "charged_voltage: 3.456 has more than 2 decimals; "
			    "using the default");
	assert_json_dropped("{\"tail_current\": 5.0, "
			    "\"charged_detection_time\": 180.0}",
			    "charged_detection_time: not a whole number; using "
			    "the default");
	assert_json_dropped("{\"tail_current\": 5.0, \"mode\": true}",
			    "mode: not \"on\" or \"off\"; using the default");
	assert_json_dropped("{\"nope\": 1, \"tail_current\": 5.0}",
			    "nope: unknown setting, dropped");
}
END_TEST

/* A mode that is dropped or missing is not read: the caller decides. */
START_TEST(json_says_whether_mode_was_read)
{
	struct settings s;
	struct problems pr;
	bool mode_read = true;
	json_t *j = json_pack("{s:s}", "mode", "off");

	ck_assert_int_eq(from_json(&s, j, &pr, &mode_read), 0);
	ck_assert(mode_read && !s.mode_on);
	json_decref(j);
	j = json_pack("{s:i}", "mode", 0);
	ck_assert_int_eq(from_json(&s, j, &pr, &mode_read), 1);
	ck_assert(!mode_read);
	json_decref(j);
	j = json_pack("{s:f}", "tail_current", 5.0);
	ck_assert_int_eq(from_json(&s, j, &pr, &mode_read), 0);
	ck_assert(!mode_read);
	json_decref(j);
	j = json_pack("[]");
	ck_assert_int_eq(from_json(&s, j, &pr, &mode_read), -1);
	ck_assert(!mode_read);
	json_decref(j);
}
END_TEST

/* A saved value that breaks a rule with the configuration (I3) is dropped
 * back to its default, naming the rule; the others stay. */
START_TEST(json_drops_values_that_break_a_rule)
{
	struct settings s;
	struct problems pr;
	bool mode_read;
	json_t *j = json_pack("{s:f,s:f,s:s}", "prealarm_cell", 2.85,
			      "discharge_floor", 15.0, "mode", "off");

	ck_assert_int_eq(from_json(&s, j, &pr, &mode_read), 1);
	ck_assert_double_eq_tol(s.prealarm_cell, 3.10, EPS);
	ck_assert_double_eq(s.discharge_floor, 15);
	ck_assert(mode_read && !s.mode_on);
	ck_assert_str_eq(pr.first,
			 "prealarm_cell: 2.85 V breaks a rule with the "
			 "configuration (prealarm_cell (2.85 V) must be at "
			 "least cell_undervoltage (2.80 V) + 0.10 V: the "
			 "pre-alarm must start before the low-cell cutoff, or "
			 "the cutoff would wait for a pre-alarm that never "
			 "comes): using the default 3.10 V");
	json_decref(j);
	/* low_soc_warning at or below the floor: the warning goes back */
	j = json_pack("{s:f,s:f}", "low_soc_warning", 15.0, "discharge_floor",
		      15.0);
	ck_assert_int_eq(from_json(&s, j, &pr, &mode_read), 1);
	ck_assert_double_eq(s.low_soc_warning, 20);
	ck_assert_double_eq(s.discharge_floor, 15);
	json_decref(j);
}
END_TEST

/* The check `set` and reset-defaults run: the rule is named. */
START_TEST(check_names_the_rule)
{
	struct guard_settings b = base();
	struct settings s;
	char err[320] = "";

	settings_default(&s);
	ck_assert_int_eq(settings_check(&s, &b, err, sizeof(err)), 0);
	ck_assert_int_eq(
		settings_set(&s, "prealarm_cell", "2.50", err, sizeof(err)), 0);
	ck_assert_int_eq(settings_check(&s, &b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "prealarm_cell (2.50 V) must be at "
					  "least cell_undervoltage (2.80 V) + "
					  "0.10 V"));
	settings_default(&s);
	ck_assert_int_eq(
		settings_set(&s, "low_soc_warning", "5", err, sizeof(err)), 0);
	ck_assert_int_eq(settings_check(&s, &b, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "discharge_floor (10.00 %) must be below "
			      "low_soc_warning (5.00 %): the low-SoC warning "
			      "must come before the discharge floor");
	/* 0 = off: no order to keep */
	ck_assert_int_eq(
		settings_set(&s, "low_soc_warning", "0", err, sizeof(err)), 0);
	ck_assert_int_eq(settings_check(&s, &b, err, sizeof(err)), 0);
	/* the floor and its hysteresis must stay below 100 % */
	settings_default(&s);
	ck_assert_int_eq(
		settings_set(&s, "discharge_floor", "98", err, sizeof(err)), 0);
	ck_assert_int_eq(
		settings_set(&s, "low_soc_warning", "99", err, sizeof(err)), 0);
	ck_assert_int_eq(settings_check(&s, &b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "could never end"));
}
END_TEST

START_TEST(json_missing_keys_take_defaults)
{
	struct settings s, def;
	json_t *j = json_pack("{s:f}", "discharge_floor", 15.0);
	struct problems pr;
	bool mode_read;

	settings_default(&def);
	set_all_non_default(&s);
	ck_assert_int_eq(from_json(&s, j, &pr, &mode_read), 0);
	ck_assert_double_eq(s.discharge_floor, 15);
	s.discharge_floor = def.discharge_floor;
	ck_assert(same_settings(&s, &def));
	json_decref(j);
}
END_TEST

START_TEST(json_accepts_integers_for_numbers)
{
	struct settings s;
	json_t *j = json_pack("{s:i}", "charge_efficiency", 97);
	struct problems pr;
	bool mode_read;

	ck_assert_int_eq(from_json(&s, j, &pr, &mode_read), 0);
	ck_assert_double_eq(s.charge_efficiency, 97);
	json_decref(j);
}
END_TEST

START_TEST(describe_lists_every_setting)
{
	struct settings s;
	size_t n;
	json_t *a, *row;

	settings_default(&s);
	settings_keys(&n);
	a = settings_describe_json(&s);
	ck_assert_uint_eq(json_array_size(a), n);
	row = json_array_get(a, 4);
	ck_assert_str_eq(json_string_value(json_object_get(row, "name")),
			 "discharge_floor");
	ck_assert_double_eq(json_real_value(json_object_get(row, "value")), 10);
	ck_assert_double_eq(json_real_value(json_object_get(row, "default")),
			    10);
	ck_assert_double_eq(json_real_value(json_object_get(row, "max")), 99);
	ck_assert_str_eq(json_string_value(json_object_get(row, "unit")), "%");
	ck_assert(json_is_true(json_object_get(row, "reset_default")));
	row = json_array_get(a, n - 1);
	ck_assert_str_eq(json_string_value(json_object_get(row, "name")),
			 "mode");
	ck_assert_str_eq(json_string_value(json_object_get(row, "value")),
			 "on");
	ck_assert(json_is_null(json_object_get(row, "min")));
	ck_assert(json_is_false(json_object_get(row, "reset_default")));
	json_decref(a);
}
END_TEST

START_TEST(print_keys_one_line_each)
{
	char *buf = NULL;
	const char *first =
		"charged_voltage\tnumber\tV\t3.50\t3.30..3.65\treset\t";
	size_t len = 0, n, lines = 0;
	FILE *f = open_memstream(&buf, &len);

	settings_keys(&n);
	settings_print_keys(f);
	fclose(f);
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	ck_assert_uint_eq(lines, n);
	ck_assert_msg(strncmp(buf, first, strlen(first)) == 0, "%s", buf);
	free(buf);
}
END_TEST

static Suite *settings_suite(void)
{
	Suite *s = suite_create("settings");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, defaults_are_the_documented_ones);
	tcase_add_test(tc, table_is_consistent);
	tcase_add_test(tc, format_uses_the_resolution);
	tcase_add_test(tc, print_keys_one_line_each);
	tcase_add_test(tc, describe_lists_every_setting);
	suite_add_tcase(s, tc);

	tc = tcase_create("set");
	tcase_add_test(tc, set_accepts_valid_values);
	tcase_add_test(tc, range_bounds_are_inclusive);
	tcase_add_test(tc, set_refuses_with_a_clear_message);
	tcase_add_test(tc, set_refuses_anything_but_a_plain_number);
	tcase_add_test(tc, unknown_setting_lists_the_known_ones);
	tcase_add_test(tc, reset_defaults_touches_exactly_its_five);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, json_round_trip);
	tcase_add_test(tc, json_drops_bad_keys_and_keeps_the_rest);
	tcase_add_test(tc, json_says_whether_mode_was_read);
	tcase_add_test(tc, json_drops_values_that_break_a_rule);
	tcase_add_test(tc, check_names_the_rule);
	tcase_add_test(tc, json_missing_keys_take_defaults);
	tcase_add_test(tc, json_accepts_integers_for_numbers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(settings_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
