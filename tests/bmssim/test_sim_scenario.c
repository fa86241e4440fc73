/* SPDX-License-Identifier: MIT */
/*
 * test_sim_scenario.c - scenario parsing, timing and application.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_scenario.h"

static const struct sim_limits lim = {
	.nbatteries = 2, .ncells = 4, .ntemps = 2};

static int parse(const char *text, struct sim_scenario *sc, char *err,
		 size_t errlen)
{
	FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	int rc;

	ck_assert_ptr_nonnull(f);
	rc = sim_scenario_parse(f, "t.scn", &lim, sc, err, errlen);
	fclose(f);
	return rc;
}

/* The error message for a one-line script. */
static const char *error_of(const char *text)
{
	static char err[512];
	struct sim_scenario sc;

	err[0] = '\0';
	ck_assert_msg(parse(text, &sc, err, sizeof(err)) == -1, "accepted: %s",
		      text);
	ck_assert_uint_eq(sc.n, 0);
	return err;
}

START_TEST(parse_every_command)
{
	static const char text[] =
		"# header comment\n"
		"\n"
		"0 all current -40.5   # trailing comment\n"
		"0 1 soc 55\n"
		"1.5 2 temp -10\n"
		"1.5 all temp 2 45.5\n"
		"2 1 cell 3 3.05\n"
		"2 1 cells 3.1,3.2,3.3,3.4\n"
		"3 1 unpin\n"
		"3 1 unpin 2\n"
		"4 all protect cell_undervoltage,mosfet_lock\n"
		"4 all protect none\n"
		"5 all fet charge off\n"
		"5 all fet discharge on\n"
		"6 all silent\n"
		"\t7 all answer\n"
		"8 2 garbage 3\n"
		"8 2 corrupt 2\n"
		"9 all delay 250\n"
		"10 all end\n";
	struct sim_scenario sc;
	const struct sim_step *s;
	char err[256] = "";

	ck_assert_msg(parse(text, &sc, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(sc.n, 18);
	s = sc.steps;
	ck_assert_int_eq(s[0].cmd, SIM_CMD_CURRENT);
	ck_assert_double_eq(s[0].value, -40.5);
	ck_assert_uint_eq(s[0].target, SIM_ALL);
	ck_assert_uint_eq(s[0].lineno, 3);
	ck_assert_str_eq(s[0].text, "0 all current -40.5");
	ck_assert_int_eq(s[1].cmd, SIM_CMD_SOC);
	ck_assert_uint_eq(s[1].target, 1);
	ck_assert_int_eq(s[2].cmd, SIM_CMD_TEMP);
	ck_assert_double_eq(s[2].at, 1.5);
	ck_assert_uint_eq(s[2].index, SIM_ALL);
	ck_assert_uint_eq(s[3].index, 2);
	ck_assert_double_eq(s[3].value, 45.5);
	ck_assert_int_eq(s[4].cmd, SIM_CMD_CELL);
	ck_assert_uint_eq(s[4].index, 3);
	ck_assert_double_eq(s[4].value, 3.05);
	ck_assert_int_eq(s[5].cmd, SIM_CMD_CELLS);
	ck_assert_double_eq(s[5].cells[3], 3.4);
	ck_assert_uint_eq(s[6].index, SIM_ALL);
	ck_assert_uint_eq(s[7].index, 2);
	ck_assert_uint_eq(s[8].mask, SIM_PROT_CELL_UV | SIM_PROT_LOCK);
	ck_assert_uint_eq(s[9].mask, 0);
	ck_assert_int_eq(s[10].cmd, SIM_CMD_FET_CHARGE);
	ck_assert(!s[10].on);
	ck_assert_int_eq(s[11].cmd, SIM_CMD_FET_DISCHARGE);
	ck_assert(s[11].on);
	ck_assert_int_eq(s[12].cmd, SIM_CMD_SILENT);
	ck_assert_int_eq(s[13].cmd, SIM_CMD_ANSWER);
	ck_assert_int_eq(s[14].cmd, SIM_CMD_GARBAGE);
	ck_assert_uint_eq(s[14].count, 3);
	ck_assert_int_eq(s[15].cmd, SIM_CMD_CORRUPT);
	ck_assert_uint_eq(s[15].count, 2);
	ck_assert_int_eq(s[16].cmd, SIM_CMD_DELAY);
	ck_assert_uint_eq(s[16].count, 250);
	ck_assert_int_eq(s[17].cmd, SIM_CMD_END);
	ck_assert_uint_eq(s[17].lineno, 20);
	sim_scenario_free(&sc);
}
END_TEST

START_TEST(errors_name_file_and_line)
{
	ck_assert_str_eq(
		error_of("0 all current 1\n\n# c\n2 all bogus\n"),
		"t.scn:4: unknown command 'bogus' (known: current soc "
		"temp cell cells unpin protect fet silent answer sleep "
		"garbage corrupt delay model serial end)");
	ck_assert_str_eq(error_of("5 all silent\n4 all answer\n"),
			 "t.scn:2: time 4 is before the previous step's (5)");
	ck_assert_str_eq(error_of("x all silent\n"),
			 "t.scn:1: time: 'x' is not a number");
	ck_assert_str_eq(error_of("-1 all silent\n"),
			 "t.scn:1: time -1 out of range (0 to 1e+09)");
	ck_assert_str_eq(error_of("0 3 silent\n"),
			 "t.scn:1: target battery 3 out of range (1 to 2)");
	ck_assert_str_eq(error_of("0 0 silent\n"),
			 "t.scn:1: target battery 0 out of range (1 to 2)");
	ck_assert_str_eq(error_of("0 all\n"),
			 "t.scn:1: expected: AT TARGET COMMAND [ARGS...]");
	ck_assert_str_eq(error_of("0 all current\n"),
			 "t.scn:1: usage: AT TARGET current AMPERES");
	ck_assert_str_eq(error_of("0 all current 1A\n"),
			 "t.scn:1: current: '1A' is not a number");
	ck_assert_str_eq(error_of("0 all current nan\n"),
			 "t.scn:1: current: 'nan' is not a number");
	ck_assert_str_eq(error_of("0 all soc 101\n"),
			 "t.scn:1: soc 101 out of range (0 to 100)");
	ck_assert_str_eq(error_of("0 all cell 5 3.3\n"),
			 "t.scn:1: cell 5 out of range (1 to 4)");
	ck_assert_str_eq(error_of("0 all cell 1 65.536\n"),
			 "t.scn:1: cell voltage 65.536 out of range (0 to "
			 "65.535)");
	ck_assert_str_eq(error_of("0 all cells 3.3,3.3,3.3,-0.001\n"),
			 "t.scn:1: cell voltage -0.001 out of range (0 to "
			 "65.535)");
	ck_assert_str_eq(error_of("0 all cells 3.1,3.2,3.3\n"),
			 "t.scn:1: cells: 3 values for 4 cells");
	ck_assert_str_eq(error_of("0 all cells 3.1,3.2,3.3,3.3,3.3\n"),
			 "t.scn:1: cells: more than 4 values");
	ck_assert_str_eq(error_of("0 all temp 3 20\n"),
			 "t.scn:1: temp sensor 3 out of range (1 to 2)");
	ck_assert_str_eq(error_of("0 all protect cell_uv\n"),
			 "t.scn:1: protect: unknown token 'cell_uv' (e.g. "
			 "cell_undervoltage, see sim_model.c)");
	ck_assert_str_eq(error_of("0 all fet charge maybe\n"),
			 "t.scn:1: usage: AT TARGET fet charge|discharge "
			 "on|off");
	ck_assert_str_eq(error_of("0 all garbage -1\n"),
			 "t.scn:1: garbage: '-1' is not a whole number");
	ck_assert_str_eq(error_of("0 all delay 60001\n"),
			 "t.scn:1: delay 60001 out of range (0 to 60000)");
	ck_assert_str_eq(error_of("0 all end now\n"),
			 "t.scn:1: usage: AT TARGET end");
	ck_assert_str_eq(error_of("0 all silent 1\n"),
			 "t.scn:1: usage: AT TARGET silent");
}
END_TEST

/* Up to what a 16-bit mV field carries: a test sends impossible cells. */
START_TEST(cells_up_to_the_wire_limit)
{
	static const char text[] = "0 all cell 2 65.535\n"
				   "1 all cells 65.535,0,4.6,65.535\n";
	struct sim_scenario sc;
	char err[256] = "";

	ck_assert_msg(parse(text, &sc, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(sc.n, 2);
	ck_assert_double_eq(sc.steps[0].value, 65.535);
	ck_assert_double_eq(sc.steps[1].cells[0], 65.535);
	ck_assert_double_eq(sc.steps[1].cells[1], 0);
	ck_assert_double_eq(sc.steps[1].cells[2], 4.6);
	sim_scenario_free(&sc);
}
END_TEST

START_TEST(no_sensors_no_temp)
{
	static const struct sim_limits none = {.nbatteries = 1, .ncells = 4};
	FILE *f = fmemopen((void *)(uintptr_t) "0 all temp 20\n", 14, "r");
	struct sim_scenario sc;
	char err[256];

	ck_assert_int_eq(
		sim_scenario_parse(f, "n.scn", &none, &sc, err, sizeof(err)),
		-1);
	fclose(f);
	ck_assert_str_eq(err, "n.scn:1: temp: the batteries have no sensors "
			      "(--temps)");
}
END_TEST

START_TEST(load_missing_file)
{
	struct sim_scenario sc;
	char err[256];

	ck_assert_int_eq(sim_scenario_load("/nonexistent/x.scn", &lim, &sc, err,
					   sizeof(err)),
			 -1);
	ck_assert_str_eq(err, "/nonexistent/x.scn: No such file or directory");
}
END_TEST

START_TEST(take_in_time_order)
{
	struct sim_scenario sc;
	char err[256];
	double at;

	ck_assert_int_eq(parse("0 all silent\n2.5 all answer\n2.5 all end\n",
			       &sc, err, sizeof(err)),
			 0);
	ck_assert(sim_scenario_next_at(&sc, &at));
	ck_assert_double_eq(at, 0);
	ck_assert_int_eq(sim_scenario_take(&sc, 0)->cmd, SIM_CMD_SILENT);
	ck_assert_ptr_null(sim_scenario_take(&sc, 2.4));
	ck_assert(sim_scenario_next_at(&sc, &at));
	ck_assert_double_eq(at, 2.5);
	ck_assert_int_eq(sim_scenario_take(&sc, 3)->cmd, SIM_CMD_ANSWER);
	ck_assert_int_eq(sim_scenario_take(&sc, 3)->cmd, SIM_CMD_END);
	ck_assert_ptr_null(sim_scenario_take(&sc, 100));
	ck_assert(!sim_scenario_next_at(&sc, &at));
	sim_scenario_free(&sc);
}
END_TEST

START_TEST(apply_steps)
{
	static const char text[] = "0 all current 12\n"
				   "0 all soc 40\n"
				   "0 all temp 30\n"
				   "0 all temp 2 -4\n"
				   "0 all cell 2 3.01\n"
				   "0 all protect short_circuit\n"
				   "0 all fet charge off\n"
				   "0 all silent\n"
				   "0 all garbage 4\n"
				   "0 all corrupt 5\n"
				   "0 all delay 70\n"
				   "0 2 cells 3,3.1,3.2,3.3\n"
				   "0 2 unpin 1\n";
	struct sim_battery_cfg cfg = {
		.ncells = 4, .capacity_ah = 100, .soc = 80, .ntemps = 2};
	struct sim_battery b1, b2;
	struct sim_scenario sc;
	const struct sim_step *s;
	char err[256];

	sim_battery_init(&b1, 1, &cfg);
	sim_battery_init(&b2, 2, &cfg);
	ck_assert_int_eq(parse(text, &sc, err, sizeof(err)), 0);
	while ((s = sim_scenario_take(&sc, 0))) {
		if (sim_step_targets(s, 1))
			sim_step_apply(s, &b1);
		if (sim_step_targets(s, 2))
			sim_step_apply(s, &b2);
	}
	ck_assert_double_eq(b1.current_a, 12);
	ck_assert_double_eq(b1.soc, 40);
	ck_assert_double_eq(b1.temp_c[0], 30);
	ck_assert_double_eq(b1.temp_c[1], -4);
	ck_assert(b1.pinned[1] && !b1.pinned[0]);
	ck_assert_double_eq(sim_battery_cell_v(&b1, 1), 3.01);
	ck_assert_uint_eq(b1.protection, SIM_PROT_SHORT);
	ck_assert(!b1.charge_fet && b1.discharge_fet);
	ck_assert(b1.comm.silent);
	ck_assert_uint_eq(b1.comm.garbage_left, 4);
	ck_assert_uint_eq(b1.comm.corrupt_left, 5);
	ck_assert_uint_eq(b1.comm.delay_ms, 70);
	ck_assert(!b2.pinned[0] && b2.pinned[1] && b2.pinned[3]);
	ck_assert_double_eq(sim_battery_cell_v(&b2, 3), 3.3);
	ck_assert_double_eq(sim_battery_cell_v(&b2, 1),
			    3.1); /* later step wins */
	sim_scenario_free(&sc);
}
END_TEST

/* Another battery at the same address: what it says it is changes. */
START_TEST(model_and_serial)
{
	static const char text[] = "0 all model US3000C\n"
				   "1.5 2 serial PPTBH0299NEWPACK\n";
	struct sim_battery_cfg cfg = {
		.ncells = 4, .capacity_ah = 100, .soc = 80, .ntemps = 2};
	struct sim_battery b1, b2;
	struct sim_scenario sc;
	const struct sim_step *s;
	char err[256];
	char serial1[SIM_TEXT_LEN];

	sim_battery_init(&b1, 1, &cfg);
	sim_battery_init(&b2, 2, &cfg);
	memcpy(serial1, b1.serial, sizeof(serial1));
	ck_assert_msg(parse(text, &sc, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(sc.n, 2);
	ck_assert_int_eq(sc.steps[0].cmd, SIM_CMD_MODEL);
	ck_assert_str_eq(sc.steps[0].word, "US3000C");
	ck_assert_int_eq(sc.steps[1].cmd, SIM_CMD_SERIAL);
	ck_assert_uint_eq(sc.steps[1].target, 2);
	while ((s = sim_scenario_take(&sc, 2))) {
		if (sim_step_targets(s, 1))
			sim_step_apply(s, &b1);
		if (sim_step_targets(s, 2))
			sim_step_apply(s, &b2);
	}
	ck_assert_str_eq(b1.model, "US3000C");
	ck_assert_str_eq(b2.model, "US3000C");
	ck_assert_str_eq(b1.serial, serial1);
	ck_assert_str_eq(b2.serial, "PPTBH0299NEWPACK");
	sim_scenario_free(&sc);

	ck_assert_str_eq(error_of("0 all model\n"),
			 "t.scn:1: usage: AT TARGET model TEXT");
	ck_assert_str_eq(error_of("0 all serial A B\n"),
			 "t.scn:1: usage: AT TARGET serial TEXT");
	ck_assert_str_eq(
		error_of("0 all serial 0123456789012345678901234567890123\n"),
		"t.scn:1: serial: '0123456789012345678901234567890123' is "
		"longer than 31 characters");
	ck_assert_str_eq(error_of("0 all model caf\xc3\xa9\n"),
			 "t.scn:1: model: 'caf\xc3\xa9' is not printable text");
}
END_TEST

START_TEST(demo_scenario_parses)
{
	static const struct sim_limits demo = {
		.nbatteries = 1, .ncells = 4, .ntemps = 2};
	struct sim_scenario sc;
	char err[512] = "";
	double last = 0;

	ck_assert_msg(sim_scenario_load(TEST_DATA_DIR "/../scenarios/demo.scn",
					&demo, &sc, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_uint_gt(sc.n, 10);
	last = sc.steps[sc.n - 1].at;
	ck_assert_double_eq(last, 95);
	ck_assert_int_eq(sc.steps[sc.n - 1].cmd, SIM_CMD_END);
	sim_scenario_free(&sc);
}
END_TEST

START_TEST(stack_scenario_parses)
{
	static const struct sim_limits stack = {
		.nbatteries = 16, .ncells = 15, .ntemps = 5};
	struct sim_scenario sc;
	char err[512] = "";

	ck_assert_msg(sim_scenario_load(TEST_DATA_DIR
					"/../scenarios/pylon-stack.scn",
					&stack, &sc, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_uint_eq(sc.steps[2].target, 9);
	ck_assert_int_eq(sc.steps[2].cmd, SIM_CMD_DELAY);
	ck_assert_uint_eq(sc.steps[2].count, 400);
	ck_assert_int_eq(sc.steps[sc.n - 1].cmd, SIM_CMD_END);
	ck_assert_double_eq(sc.steps[sc.n - 1].at, 60);
	sim_scenario_free(&sc);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sim_scenario");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parse_every_command);
	tcase_add_test(tc, stack_scenario_parses);
	tcase_add_test(tc, errors_name_file_and_line);
	tcase_add_test(tc, cells_up_to_the_wire_limit);
	tcase_add_test(tc, no_sensors_no_temp);
	tcase_add_test(tc, load_missing_file);
	tcase_add_test(tc, take_in_time_order);
	tcase_add_test(tc, apply_steps);
	tcase_add_test(tc, model_and_serial);
	tcase_add_test(tc, demo_scenario_parses);
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
