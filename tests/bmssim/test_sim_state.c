/* SPDX-License-Identifier: MIT */
/*
 * test_sim_state.c - the state file reports what is on the wire.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_jbd.h"
#include "sim_pylon.h"
#include "sim_replay.h"
#include "sim_state.h"

static struct sim_battery bat;
static struct sim_state_battery sb;
static struct sim_state st;

static void setup(void)
{
	struct sim_battery_cfg cfg = {
		.ncells = 4, .capacity_ah = 100, .soc = 80, .ntemps = 2};

	ck_assert_int_eq(sim_battery_init(&bat, 1, &cfg), 0);
	sb = (struct sim_state_battery){
		.b = &bat, .line = 1, .pty = "/dev/pts/9", .link = "/tmp/x"};
	st = (struct sim_state){.protocol = "jbd",
				.ops = &sim_jbd_ops,
				.time = 12.5,
				.speed = 2,
				.nbats = 1,
				.bats = &sb};
}

static json_t *load(void)
{
	char *text = sim_state_json(&st);
	json_error_t e;
	json_t *j;

	ck_assert_ptr_nonnull(text);
	j = json_loads(text, 0, &e);
	ck_assert_msg(j != NULL, "%s: %s", e.text, text);
	free(text);
	return j;
}

static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_number(v), "%s is not a number", key);
	return json_number_value(v);
}

START_TEST(values_as_sent)
{
	json_t *j, *b;

	sim_battery_pin(&bat, 0, 3.3004);
	sim_battery_pin(&bat, 1, 3.2996);
	sim_battery_pin(&bat, 2, 3.0123);
	sim_battery_pin(&bat, 3, 3.456);
	sim_battery_set_soc(&bat, 79.6);
	bat.current_a = -12.346;
	bat.temp_c[0] = 21.46;
	bat.temp_c[1] = -4.0;
	bat.protection = SIM_PROT_CELL_UV | SIM_PROT_SHORT;
	bat.discharge_fet = false;
	bat.comm.requests = 7;
	bat.comm.answered = 5;
	bat.comm.silent = true;
	j = load();
	ck_assert_str_eq(json_string_value(json_object_get(j, "type")),
			 "bmssim-state");
	ck_assert_double_eq(num(j, "time"), 12.5);
	ck_assert_double_eq(num(j, "speed"), 2);
	b = json_array_get(json_object_get(j, "batteries"), 0);
	ck_assert_ptr_nonnull(b);
	ck_assert_double_eq(num(b, "id"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(b, "pty")),
			 "/dev/pts/9");
	/* 3.300 + 3.300 + 3.012 + 3.456 = 13.068 -> 13.07 in 10 mV */
	ck_assert_double_eq_tol(num(b, "voltage"), 13.07, 1e-12);
	ck_assert_double_eq_tol(num(b, "current"), -12.35, 1e-12);
	ck_assert_double_eq(num(b, "soc"), 80);
	ck_assert_double_eq_tol(num(b, "soc_exact"), 79.6, 1e-12);
	ck_assert_double_eq_tol(num(b, "remaining_ah"), 79.6, 1e-12);
	ck_assert_double_eq_tol(num(b, "cell_min_v"), 3.012, 1e-12);
	ck_assert_double_eq_tol(num(b, "cell_max_v"), 3.456, 1e-12);
	ck_assert_double_eq_tol(json_real_value(json_array_get(
					json_object_get(b, "cell_v"), 1)),
				3.3, 1e-12);
	ck_assert_double_eq_tol(json_real_value(json_array_get(
					json_object_get(b, "temp_c"), 0)),
				21.5, 1e-12);
	ck_assert_str_eq(json_string_value(json_array_get(
				 json_object_get(b, "protection"), 1)),
			 "short_circuit");
	ck_assert_uint_eq(json_array_size(json_object_get(b, "protection")), 2);
	ck_assert(json_is_false(json_object_get(b, "discharge_fet")));
	ck_assert(json_is_true(json_object_get(b, "silent")));
	ck_assert_double_eq(num(b, "requests"), 7);
	ck_assert_double_eq(num(b, "answered"), 5);
	ck_assert_str_eq(json_string_value(json_object_get(b, "firmware")),
			 "1.0");
	ck_assert_str_eq(json_string_value(json_object_get(b, "manufactured")),
			 "2024-01-15");
	ck_assert_str_eq(json_string_value(json_object_get(b, "serial")), "");
	ck_assert(json_is_null(json_object_get(b, "address")));
	ck_assert_str_eq(json_string_value(json_object_get(b, "kind")), "pty");
	ck_assert_double_eq_tol(num(b, "full_ah"), 100, 1e-12);
	ck_assert(json_is_null(json_object_get(j, "replay")));
	json_decref(j);
}
END_TEST

START_TEST(addressed_packs)
{
	json_t *j, *b;

	sim_pylontech_ops.identify(&bat);
	bat.address = 7;
	bat.current_a = 2.149;
	bat.protection = SIM_PROT_CELL_UV | SIM_PROT_SHORT;
	sb.addressed = true;
	sb.kind = "tcp";
	sb.pty = "127.0.0.1:4000";
	st.protocol = "pylontech";
	st.ops = &sim_pylontech_ops;
	j = load();
	b = json_array_get(json_object_get(j, "batteries"), 0);
	ck_assert_double_eq(num(b, "address"), 7);
	ck_assert_str_eq(json_string_value(json_object_get(b, "kind")), "tcp");
	ck_assert_str_eq(json_string_value(json_object_get(b, "pty")),
			 "127.0.0.1:4000");
	ck_assert_str_eq(json_string_value(json_object_get(b, "model")),
			 "SIM4S100AH");
	ck_assert_str_eq(json_string_value(json_object_get(b, "serial")),
			 "BMSSIM0000000001");
	ck_assert_str_eq(json_string_value(json_object_get(b, "manufactured")),
			 "");
	ck_assert_double_eq_tol(num(b, "current"), 2.1, 1e-12);
	ck_assert_double_eq_tol(num(b, "soc"), 80, 1e-12);
	/* short circuit has no bit in a Pylontech answer */
	ck_assert_uint_eq(json_array_size(json_object_get(b, "protection")), 1);
	json_decref(j);
}
END_TEST

START_TEST(replay_has_no_values)
{
	json_t *j, *b;

	st.ops = &sim_replay_ops;
	st.replay = "tests/data/x.cap";
	bat.comm.answered = 3;
	j = load();
	ck_assert_str_eq(json_string_value(json_object_get(j, "replay")),
			 "tests/data/x.cap");
	b = json_array_get(json_object_get(j, "batteries"), 0);
	ck_assert_ptr_null(json_object_get(b, "voltage"));
	ck_assert_ptr_null(json_object_get(b, "model"));
	ck_assert_double_eq(num(b, "answered"), 3);
	ck_assert_double_eq(num(b, "id"), 1);
	json_decref(j);
}
END_TEST

START_TEST(short_decimals)
{
	char *text;

	sim_battery_pin(&bat, 0, 3.3);
	text = sim_state_json(&st);
	ck_assert_ptr_nonnull(text);
	/* A reader comparing with jq sees 3.3, not 3.2999999999999998. */
	ck_assert_ptr_nonnull(strstr(text, "3.3,"));
	ck_assert_ptr_null(strstr(text, "99999"));
	free(text);
}
END_TEST

START_TEST(written_atomically)
{
	char dir[] = "/tmp/test_sim_state.XXXXXX";
	char path[64], tmp[80], err[256];
	json_error_t e;
	json_t *j;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_eq(sim_state_write(path, &st, err, sizeof(err)), 0);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	j = json_load_file(path, 0, &e);
	ck_assert_msg(j != NULL, "%s", e.text);
	json_decref(j);
	unlink(path);
	rmdir(dir);
	ck_assert_int_eq(sim_state_write(path, &st, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "No such file or directory"));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sim_state");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, values_as_sent);
	tcase_add_test(tc, addressed_packs);
	tcase_add_test(tc, replay_has_no_values);
	tcase_add_test(tc, short_decimals);
	tcase_add_test(tc, written_atomically);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
