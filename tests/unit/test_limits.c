/* SPDX-License-Identifier: MIT */
/*
 * test_limits.c - the CAN limit engine (charge_limits.h): CVL reduction by a high
 * cell, float, CCL/DCL derating, the guard's not-allowed, ramps, unknown
 * data.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "charge_limits.h"

#define NCELLS 16
#define SEC    GUARD_USEC

static struct limits l;
static struct limits_settings set;
static struct bank b;
static struct guard_output g;
static struct limits_input in;
static uint64_t now;

/* One healthy 16-cell battery, charging 10 A at 25 C. */
static void setup(void)
{
	limits_settings_default(&set);
	set.charge_current = 100;
	set.discharge_current = 150;
	limits_init(&l, &set);
	b = (struct bank){
		.nbatteries = 1,
		.series = 1,
		.parallel = 1,
		.ncells = NCELLS,
		.complete = true,
		.voltage = NCELLS * 3.35,
		.current = 10,
		.soc = 50,
		.min_cell_v = 3.34,
		.max_cell_v = 3.36,
		.have_temps = true,
		.min_temp = 25,
		.max_temp = 25,
	};
	g = (struct guard_output){.allow_charge = true,
				  .allow_discharge = true};
	in = (struct limits_input){.bank = &b,
				   .guard = &g,
				   .charge_temp_low = 5,
				   .charge_temp_high = 50,
				   .soc = 50};
	now = 1000 * SEC;
}

static const struct limits_output *step(void)
{
	limits_step(&l, &in, now);
	now += SEC;
	return limits_output(&l);
}

/* Steps for s seconds, one a second; the last output. */
static const struct limits_output *run(unsigned s)
{
	const struct limits_output *o = limits_output(&l);

	for (unsigned i = 0; i < s; i++)
		o = step();
	return o;
}

START_TEST(defaults_and_check)
{
	char err[160];
	const struct limits_output *o;

	ck_assert_int_eq(limits_settings_check(&set, err, sizeof(err)), 0);
	set.float_voltage = 3.50;
	ck_assert_int_eq(limits_settings_check(&set, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "float_voltage (3.500) must be below "
			      "charge_voltage (3.450)");
	o = run(60);
	ck_assert_uint_eq(o->series_cells, NCELLS);
	ck_assert_double_eq_tol(o->cvl, NCELLS * 3.45, 1e-9);
	ck_assert_double_eq_tol(o->dvl, NCELLS * 2.90, 1e-9);
	ck_assert_double_eq_tol(o->ccl, 100, 1e-9);
	ck_assert_double_eq_tol(o->dcl, 150, 1e-9);
	ck_assert(o->charge_enable && o->discharge_enable);
	ck_assert_uint_eq(o->cvl_reasons | o->ccl_reasons | o->dcl_reasons, 0);
}
END_TEST

/*
 * The plant: a charger holds the bank at CVL; 15 cells stay at 3.35 V and
 * one full cell takes everything above them. Left alone that cell rises
 * at 5 mV/s (its open-circuit voltage); the charger caps it at CVL - the
 * others. Bulk CVL (55.2 V) alone would let it reach 4.95 V.
 */
START_TEST(high_cell_lowers_cvl_before_overvoltage)
{
	const double others = (NCELLS - 1) * 3.35, overvoltage = 3.75;
	double open = 3.40, cell = open, highest = 0;
	bool reduced = false;
	const struct limits_output *o = limits_output(&l);

	for (unsigned i = 0; i < 1200; i++) {
		double pack;

		b.max_cell_v = cell;
		b.voltage = others + cell;
		o = step();
		if (o->cvl_reasons & LIMITS_R_HIGH_CELL) {
			/* the reduction starts before the disconnect */
			if (!reduced)
				ck_assert_double_lt(cell, overvoltage);
			reduced = true;
		}
		open += 0.005;
		pack = others + open;
		if (pack > o->cvl)
			pack = o->cvl;
		cell = pack - others;
		if (cell > highest)
			highest = cell;
	}
	ck_assert(reduced);
	ck_assert_double_lt(highest, overvoltage);
	/* settled: around cell_target, within the CVL rise of one step */
	ck_assert_double_lt(cell, set.cell_target + 0.02);
	ck_assert_double_gt(cell, set.cell_target - 0.05);
	ck_assert_double_lt(o->cvl, NCELLS * 3.45);
}
END_TEST

START_TEST(cold_ccl_zero_at_charge_temp_low)
{
	const struct limits_output *o;

	b.min_temp = 5; /* == charge_temp_low */
	o = run(60);
	ck_assert_double_eq(o->ccl, 0);
	ck_assert(!o->charge_enable);
	ck_assert(o->ccl_reasons & LIMITS_R_COLD);
	b.min_temp = 10; /* half way to charge_temp_low + cold_span */
	o = run(60);
	ck_assert_double_eq_tol(o->ccl, 50, 1e-9);
	ck_assert(o->ccl_reasons & LIMITS_R_COLD);
	b.min_temp = 15;
	o = run(60);
	ck_assert_double_eq_tol(o->ccl, 100, 1e-9);
	ck_assert_uint_eq(o->ccl_reasons, 0);
	b.max_temp = 50; /* == charge_temp_high */
	o = step();
	ck_assert_double_eq(o->ccl, 0);
	ck_assert(o->ccl_reasons & LIMITS_R_HOT);
	/* the discharge limit does not depend on temperature */
	ck_assert_double_eq_tol(o->dcl, 150, 1e-9);
}
END_TEST

START_TEST(guard_not_allowed_zero_within_one_step)
{
	const struct limits_output *o = run(60);

	ck_assert_double_eq_tol(o->ccl, 100, 1e-9);
	g.allow_charge = false;
	o = step();
	ck_assert_double_eq(o->ccl, 0);
	ck_assert(!o->charge_enable);
	ck_assert(o->ccl_reasons & LIMITS_R_NOT_ALLOWED);
	ck_assert_double_eq_tol(o->dcl, 150, 1e-9);
	g.allow_discharge = false;
	o = step();
	ck_assert_double_eq(o->dcl, 0);
	ck_assert(!o->discharge_enable);
	ck_assert(o->dcl_reasons & LIMITS_R_NOT_ALLOWED);
	/* ... also when decided in the same microsecond (no time passed) */
	g.allow_charge = g.allow_discharge = true;
	o = run(60);
	g.allow_charge = false;
	now -= SEC;
	o = step();
	ck_assert_double_eq(o->ccl, 0);
}
END_TEST

START_TEST(ramps_bounded)
{
	const struct limits_output *o;
	double prev_c = 0, prev_d = 0;

	for (unsigned i = 0; i < 40; i++) {
		o = step();
		ck_assert_double_le(o->ccl - prev_c, 100.0 / 30 + 1e-9);
		ck_assert_double_le(o->dcl - prev_d, 150.0 / 30 + 1e-9);
		if (o->ccl < 100)
			ck_assert(o->ccl_reasons & LIMITS_R_RAMP);
		prev_c = o->ccl;
		prev_d = o->dcl;
	}
	ck_assert_double_eq_tol(o->ccl, 100, 1e-9);
	ck_assert_double_eq_tol(o->dcl, 150, 1e-9);
	/* after an interruption, up again by the ramp, not in one step */
	g.allow_charge = false;
	step();
	g.allow_charge = true;
	o = step();
	ck_assert_double_le(o->ccl, 100.0 / 30 + 1e-9);
	/* a long gap between steps does not allow more than the maximum */
	now += 3600 * SEC;
	o = step();
	ck_assert_double_eq_tol(o->ccl, 100, 1e-9);
}
END_TEST

START_TEST(cell_derating)
{
	const struct limits_output *o;

	run(60);
	b.max_cell_v = 3.575; /* half way 3.50 -> 3.65 */
	o = step();
	ck_assert_double_eq_tol(o->ccl, 50, 1e-9);
	ck_assert(o->ccl_reasons & LIMITS_R_HIGH_CELL);
	b.min_cell_v = 2.95;
	o = step();
	ck_assert_double_eq(o->dcl, 0);
	ck_assert(o->dcl_reasons & LIMITS_R_LOW_CELL);
	ck_assert(!o->discharge_enable);
}
END_TEST

START_TEST(unknown_never_raises)
{
	const struct limits_output *o;

	/* never any data: nothing */
	b.complete = false;
	b.min_cell_v = b.max_cell_v = NAN;
	o = run(5);
	ck_assert_uint_eq(o->series_cells, 0);
	ck_assert(isnan(o->cvl));
	ck_assert_double_eq(o->ccl, 0);
	ck_assert_double_eq(o->dcl, 0);
	ck_assert(o->ccl_reasons & LIMITS_R_NO_DATA);
	ck_assert(o->dcl_reasons & LIMITS_R_NO_DATA);
	setup();
	o = run(60);
	/* no temperature: no charge current */
	b.have_temps = false;
	b.min_temp = b.max_temp = NAN;
	o = step();
	ck_assert_double_eq(o->ccl, 0);
	ck_assert(o->ccl_reasons & LIMITS_R_NO_DATA);
	ck_assert_double_eq_tol(o->dcl, 150, 1e-9);
	/* the bank incomplete: both 0, CVL held (never raised) */
	b.have_temps = true;
	b.min_temp = b.max_temp = 25;
	b.max_cell_v = 3.60;
	b.voltage = NCELLS * 3.40;
	o = step();
	double cvl = o->cvl;
	ck_assert_double_lt(cvl, NCELLS * 3.45);
	b.complete = false;
	b.max_cell_v = 3.40;
	o = run(30);
	ck_assert_double_eq(o->ccl, 0);
	ck_assert_double_eq(o->dcl, 0);
	ck_assert_double_le(o->cvl, cvl);
	ck_assert(o->cvl_reasons & LIMITS_R_NO_DATA);
}
END_TEST

START_TEST(float_after_full_and_balanced)
{
	const struct limits_output *o;

	b.voltage = NCELLS * 3.445;
	b.current = 1;
	in.soc = 100;
	b.min_cell_v = 3.43;
	b.max_cell_v = 3.45;
	o = run(29 * 60);
	ck_assert(!o->floating);
	o = run(2 * 60);
	ck_assert(o->floating);
	ck_assert_double_eq_tol(o->cvl, NCELLS * 3.375, 1e-9);
	ck_assert(o->cvl_reasons & LIMITS_R_FLOAT);
	/* full but not balanced does not count */
	setup();
	b.voltage = NCELLS * 3.445;
	b.current = 1;
	in.soc = 100;
	b.min_cell_v = 3.40;
	b.max_cell_v = 3.45;
	o = run(40 * 60);
	ck_assert(!o->floating);
	/* back to bulk below rebulk_soc, CVL rising smoothly */
	b.min_cell_v = 3.43;
	o = run(31 * 60);
	ck_assert(o->floating);
	in.soc = 89;
	o = step();
	ck_assert(!o->floating);
	ck_assert(o->cvl_reasons & LIMITS_R_RAMP);
	ck_assert_double_lt(o->cvl, NCELLS * 3.375 + 0.02);
	o = run(600);
	ck_assert_double_eq_tol(o->cvl, NCELLS * 3.45, 1e-9);
}
END_TEST

START_TEST(reason_tokens)
{
	char buf[128];

	ck_assert_str_eq(limits_reason_name(LIMITS_R_NOT_ALLOWED),
			 "not_allowed");
	ck_assert_ptr_null(limits_reason_name(3));
	limits_reasons_format(LIMITS_R_COLD | LIMITS_R_RAMP, buf, sizeof(buf));
	ck_assert_str_eq(buf, "cold,ramp");
	limits_reasons_format(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
}
END_TEST

static Suite *limits_suite(void)
{
	Suite *s = suite_create("limits");
	TCase *tc = tcase_create("limits");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, defaults_and_check);
	tcase_add_test(tc, high_cell_lowers_cvl_before_overvoltage);
	tcase_add_test(tc, cold_ccl_zero_at_charge_temp_low);
	tcase_add_test(tc, guard_not_allowed_zero_within_one_step);
	tcase_add_test(tc, ramps_bounded);
	tcase_add_test(tc, cell_derating);
	tcase_add_test(tc, unknown_never_raises);
	tcase_add_test(tc, float_after_full_and_balanced);
	tcase_add_test(tc, reason_tokens);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(limits_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
