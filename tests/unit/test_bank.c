/* SPDX-License-Identifier: MIT */
/* Unit tests for bank.c: aggregation over the chain's batteries. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "bank.h"

#define EPS 1e-9

static struct bms_reading batt(double v, double i, double rem, double nom,
			       unsigned ncells, double cell0)
{
	struct bms_reading r = {0};

	r.have = BMS_HAVE_BASIC | BMS_HAVE_CELLS | BMS_HAVE_PROTECTION;
	r.voltage = v;
	r.current = i;
	r.remaining_ah = rem;
	r.nominal_ah = nom;
	r.ncells = ncells;
	for (unsigned k = 0; k < ncells; k++)
		r.cell_v[k] = cell0 + 0.001 * k;
	r.charge_fet = r.discharge_fet = true;
	return r;
}

/* The summaries of the readings as they are now: a test that changes a
 * reading afterwards calls inputs() again, as the daemon makes a new
 * summary for every new reading. */
static struct bank_summary sums[64];

static void inputs(struct bank_input *in, const struct bms_reading *r,
		   unsigned n)
{
	ck_assert_uint_le(n, sizeof(sums) / sizeof(sums[0]));
	for (unsigned k = 0; k < n; k++) {
		bank_summarize(&r[k], &sums[k]);
		in[k] = (struct bank_input){
			.reading = &r[k], .summary = &sums[k], .valid = true};
	}
}

START_TEST(parallel_batteries_add_current_and_capacity)
{
	struct bms_reading r[2] = {batt(13.2, -5, 50, 100, 4, 3.3),
				   batt(13.4, -7, 70, 100, 4, 3.2)};
	struct bank_input in[2];
	struct bank b;

	inputs(in, r, 2);
	bank_compute(&b, in, 2, 1, NULL);
	ck_assert_uint_eq(b.parallel, 2);
	ck_assert_uint_eq(b.series, 1);
	ck_assert(b.complete && !b.stale);
	ck_assert_double_eq_tol(b.voltage, 13.3, EPS);
	ck_assert_double_eq_tol(b.current, -12, EPS);
	ck_assert_double_eq_tol(b.power, 13.3 * -12, EPS);
	ck_assert_double_eq_tol(b.remaining_ah, 120, EPS);
	ck_assert_double_eq_tol(b.nominal_ah, 200, EPS);
	ck_assert_double_eq_tol(b.soc, 60, EPS);
	ck_assert_uint_eq(b.ncells, 8);
	ck_assert_double_eq_tol(b.min_cell_v, 3.2, EPS);
	ck_assert_uint_eq(b.min_cell.battery, 2);
	ck_assert_uint_eq(b.min_cell.index, 1);
	ck_assert_double_eq_tol(b.max_cell_v, 3.303, EPS);
	ck_assert_uint_eq(b.max_cell.battery, 1);
	ck_assert_uint_eq(b.max_cell.index, 4);
}
END_TEST

START_TEST(series_string_adds_voltage_shares_current)
{
	struct bms_reading r[4] = {batt(13.0, 10, 80, 100, 4, 3.25),
				   batt(13.1, 10, 60, 100, 4, 3.26),
				   batt(13.2, 11, 90, 100, 4, 3.27),
				   batt(13.3, 11, 95, 100, 4, 3.28)};
	struct bank_input in[4];
	struct bank b;

	inputs(in, r, 4);
	bank_compute(&b, in, 4, 2, NULL);
	ck_assert_uint_eq(b.series, 2);
	ck_assert_uint_eq(b.parallel, 2);
	/* string voltages 26.1 and 26.5: the bank voltage is their mean */
	ck_assert_double_eq_tol(b.voltage, 26.3, EPS);
	/* string currents 10 and 11 add */
	ck_assert_double_eq_tol(b.current, 21, EPS);
	/* each string is as full as its emptiest battery: 60 + 90 */
	ck_assert_double_eq_tol(b.remaining_ah, 150, EPS);
	ck_assert_double_eq_tol(b.nominal_ah, 200, EPS);
}
END_TEST

START_TEST(stale_battery_is_left_out_and_marks_bank)
{
	struct bms_reading r[2] = {batt(13.2, -5, 50, 100, 4, 3.3),
				   batt(13.4, -7, 70, 100, 4, 3.0)};
	struct bank_input in[2];
	struct bank b;

	inputs(in, r, 2);
	in[1].stale = true;
	bank_compute(&b, in, 2, 1, NULL);
	ck_assert(b.stale);
	ck_assert(!b.complete);
	ck_assert_double_eq_tol(b.voltage, 13.2, EPS);
	ck_assert_double_eq_tol(b.min_cell_v, 3.3, EPS); /* not 3.0 */
}
END_TEST

START_TEST(string_with_silent_battery_contributes_nothing)
{
	struct bms_reading r[2] = {batt(13.2, -5, 50, 100, 4, 3.3),
				   batt(13.4, -5, 70, 100, 4, 3.3)};
	struct bank_input in[2];
	struct bank b;

	inputs(in, r, 2);
	in[1].valid = false;
	bank_compute(&b, in, 2, 2, NULL);
	ck_assert(isnan(b.voltage));
	ck_assert(isnan(b.current));
	ck_assert(!b.fets_allow_charge && !b.fets_allow_discharge);
}
END_TEST

START_TEST(no_batteries_means_unknown_not_zero)
{
	struct bank b;

	bank_compute(&b, NULL, 0, 1, NULL);
	ck_assert(!b.complete);
	ck_assert(b.stale);
	ck_assert(isnan(b.voltage) && isnan(b.soc) && isnan(b.min_cell_v));
}
END_TEST

START_TEST(temperatures_min_max_with_location)
{
	struct bms_reading r[2] = {batt(13.2, 0, 50, 100, 4, 3.3),
				   batt(13.2, 0, 50, 100, 4, 3.3)};
	struct bank_input in[2];
	struct bank b;

	r[0].ntemps = 2;
	r[0].temp_c[0] = 20.5;
	r[0].temp_c[1] = 31.0;
	r[1].ntemps = 1;
	r[1].temp_c[0] = -4.5;
	inputs(in, r, 2);
	bank_compute(&b, in, 2, 1, NULL);
	ck_assert(b.have_temps);
	ck_assert_double_eq_tol(b.min_temp, -4.5, EPS);
	ck_assert_uint_eq(b.min_temp_at.battery, 2);
	ck_assert_double_eq_tol(b.max_temp, 31.0, EPS);
	ck_assert_uint_eq(b.max_temp_at.battery, 1);
	ck_assert_uint_eq(b.max_temp_at.index, 2);
}
END_TEST

START_TEST(fets_and_protection_flags)
{
	struct bms_reading r[2] = {batt(13.2, 0, 50, 100, 4, 3.3),
				   batt(13.2, 0, 50, 100, 4, 3.3)};
	struct bank_input in[2];
	struct bank b;

	inputs(in, r, 2);
	bank_compute(&b, in, 2, 1, NULL);
	ck_assert(b.fets_allow_charge && b.fets_allow_discharge);
	r[1].charge_fet = false;
	bank_compute(&b, in, 2, 1, NULL);
	ck_assert(!b.fets_allow_charge && b.fets_allow_discharge);
	r[1].charge_fet = true;
	r[0].protection = BMS_PROT_CELL_UV;
	bank_compute(&b, in, 2, 1, NULL);
	ck_assert(b.fets_allow_charge && !b.fets_allow_discharge);
	ck_assert_uint_eq(b.protection, BMS_PROT_CELL_UV);
	/* A poll without protection data (no alarm answer): its flags and
	 * FETs are unknown, not "off". */
	r[0].have &= ~(uint32_t)BMS_HAVE_PROTECTION;
	r[0].charge_fet = r[0].discharge_fet = false;
	bank_compute(&b, in, 2, 1, NULL);
	ck_assert(b.fets_allow_charge && b.fets_allow_discharge);
	ck_assert_uint_eq(b.protection, 0);
}
END_TEST

START_TEST(string_currents_disagree_is_a_warning)
{
	struct bms_reading r[4] = {batt(13.2, -10, 80, 100, 4, 3.3),
				   batt(13.2, -10, 80, 100, 4, 3.3),
				   batt(13.2, -10, 80, 100, 4, 3.3),
				   batt(13.2, -4, 80, 100, 4, 3.3)};
	struct bank_input in[4];
	struct bank b;

	inputs(in, r, 4);
	bank_compute(&b, in, 4, 2, NULL);
	ck_assert_uint_eq(b.warnings, BANK_WARN_STRING_CURRENT);
	ck_assert_uint_eq(b.warn_string, 2);
	ck_assert_str_eq(bank_warning_name(BANK_WARN_STRING_CURRENT),
			 "string_current_mismatch");
	/* Within tolerance (2 A or 10 %): no warning. */
	r[3].current = -8.5;
	bank_compute(&b, in, 4, 2, NULL);
	ck_assert_uint_eq(b.warnings, 0);
}
END_TEST

START_TEST(string_and_parallel_voltages_disagree)
{
	struct bms_reading r[4] = {batt(13.2, -5, 80, 100, 4, 3.3),
				   batt(11.9, -5, 80, 100, 4, 3.3),
				   batt(13.2, -5, 80, 100, 4, 3.3),
				   batt(13.2, -5, 80, 100, 4, 3.3)};
	struct bank_input in[4];
	struct bank b;

	inputs(in, r, 4);
	bank_compute(&b, in, 4, 2, NULL);
	/* string 1: 13.2 vs 11.9; strings: 25.1 vs 26.4 */
	ck_assert(b.warnings & BANK_WARN_STRING_VOLTAGE);
	ck_assert(b.warnings & BANK_WARN_PARALLEL_VOLTAGE);
	ck_assert_uint_eq(b.warn_string, 1);
	/* In parallel only (series 1) the same batteries are not checked as
	 * a string. */
	bank_compute(&b, in, 4, 4, NULL);
	ck_assert(b.warnings & BANK_WARN_STRING_VOLTAGE);
}
END_TEST

/* Discovered batteries that do not fill whole strings: a string is
 * missing a battery, so the bank's voltage would be wrong. */
START_TEST(count_not_a_multiple_of_series_is_not_used)
{
	struct bms_reading r[3] = {batt(13.2, -5, 50, 100, 4, 3.3),
				   batt(13.2, -5, 50, 100, 4, 3.3),
				   batt(13.2, -5, 50, 100, 4, 3.3)};
	struct bank_input in[3];
	struct bank b;

	inputs(in, r, 3);
	bank_compute(&b, in, 3, 2, NULL);
	ck_assert(!b.complete && b.stale);
	ck_assert_uint_eq(b.warnings, BANK_WARN_SERIES_COUNT);
	ck_assert(isnan(b.voltage));
	ck_assert(!b.fets_allow_charge && !b.fets_allow_discharge);
	ck_assert_str_eq(bank_warning_name(BANK_WARN_SERIES_COUNT),
			 "series_count_mismatch");
	bank_compute(&b, in, 2, 2, NULL);
	ck_assert(b.complete);
	ck_assert_uint_eq(b.warnings, 0);
}
END_TEST

/* 25 batteries at most in a 48 V bank; 50 in a 12/24 V one. */
START_TEST(too_many_batteries_for_48v)
{
	struct bms_reading r[26];
	struct bank_input in[26];
	struct bank b;

	for (unsigned k = 0; k < 26; k++)
		r[k] = batt(52.8, -1, 50, 100, 16, 3.3);
	inputs(in, r, 26);
	bank_compute(&b, in, 25, 1, NULL);
	ck_assert_uint_eq(b.warnings, 0);
	bank_compute(&b, in, 26, 1, NULL);
	ck_assert_uint_eq(b.warnings, BANK_WARN_TOO_MANY);
	ck_assert(b.complete); /* a warning, the data is right */
	ck_assert_str_eq(bank_warning_name(BANK_WARN_TOO_MANY),
			 "too_many_batteries");
	/* 26 12 V batteries are fine in parallel and as 24 V strings of
	 * 2; 24 of them as 48 V strings of 4 too, but not 28. */
	for (unsigned k = 0; k < 26; k++)
		r[k] = batt(13.2, -1, 50, 100, 4, 3.3);
	bank_compute(&b, in, 26, 1, NULL);
	ck_assert_uint_eq(b.warnings, 0);
	bank_compute(&b, in, 26, 2, NULL);
	ck_assert_uint_eq(b.warnings, 0);
	bank_compute(&b, in, 24, 4, NULL);
	ck_assert_uint_eq(b.warnings, 0);
}
END_TEST

START_TEST(too_many_12v_batteries_in_48v_strings)
{
	struct bms_reading r[28];
	struct bank_input in[28];
	struct bank b;

	for (unsigned k = 0; k < 28; k++)
		r[k] = batt(13.2, -1, 50, 100, 4, 3.3);
	inputs(in, r, 28);
	bank_compute(&b, in, 28, 4, NULL);
	ck_assert_uint_eq(b.warnings, BANK_WARN_TOO_MANY);
}
END_TEST

START_TEST(balancer_status)
{
	struct bms_reading r[2] = {batt(13.2, 0, 50, 100, 4, 3.30),
				   batt(13.2, 0, 50, 100, 4, 3.30)};
	struct bank_input in[2];
	struct bank b;

	inputs(in, r, 2);
	bank_compute(&b, in, 2, 1, NULL);
	ck_assert_str_eq(bank_balancer_name(b.balancer), "balanced");
	r[1].cell_v[2] = 3.40; /* spread 0.1 V > 0.05 V */
	inputs(in, r, 2);      /* a new reading, a new summary */
	bank_compute(&b, in, 2, 1, NULL);
	ck_assert_str_eq(bank_balancer_name(b.balancer), "imbalanced");
	r[1].balancing = 1u << 2;
	bank_compute(&b, in, 2, 1, NULL);
	ck_assert_str_eq(bank_balancer_name(b.balancer), "balancing");
	in[0].stale = true;
	bank_compute(&b, in, 2, 1, NULL);
	ck_assert_str_eq(bank_balancer_name(b.balancer), "unknown");
}
END_TEST

/* A battery whose capacity is unknown (a Daly below 1 % SoC: NaN) makes
 * the bank's capacity and SoC unknown, not infinite and 0 %. */
START_TEST(unknown_capacity_is_unknown)
{
	struct bms_reading r[2] = {batt(13.2, 0, 50, 100, 4, 3.30),
				   batt(13.2, 0, 0, NAN, 4, 3.30)};
	struct bank_input in[2];
	struct bank b;

	inputs(in, r, 2);
	bank_compute(&b, in, 2, 1, NULL);
	ck_assert(b.complete);
	ck_assert(isnan(b.nominal_ah));
	ck_assert(isnan(b.soc));
	r[1].nominal_ah = 0; /* no capacity reported */
	inputs(in, r, 2);
	bank_compute(&b, in, 2, 1, NULL);
	ck_assert(isnan(b.soc));
	r[1].nominal_ah = 100;
	inputs(in, r, 2);
	bank_compute(&b, in, 2, 1, NULL);
	ck_assert_double_eq_tol(b.soc, 25, EPS);
}
END_TEST

static Suite *bank_suite(void)
{
	Suite *s = suite_create("bank");
	TCase *tc = tcase_create("aggregate");

	tcase_add_test(tc, parallel_batteries_add_current_and_capacity);
	tcase_add_test(tc, unknown_capacity_is_unknown);
	tcase_add_test(tc, series_string_adds_voltage_shares_current);
	tcase_add_test(tc, stale_battery_is_left_out_and_marks_bank);
	tcase_add_test(tc, string_with_silent_battery_contributes_nothing);
	tcase_add_test(tc, no_batteries_means_unknown_not_zero);
	tcase_add_test(tc, temperatures_min_max_with_location);
	tcase_add_test(tc, fets_and_protection_flags);
	tcase_add_test(tc, string_currents_disagree_is_a_warning);
	tcase_add_test(tc, string_and_parallel_voltages_disagree);
	tcase_add_test(tc, count_not_a_multiple_of_series_is_not_used);
	tcase_add_test(tc, too_many_batteries_for_48v);
	tcase_add_test(tc, too_many_12v_batteries_in_48v_strings);
	tcase_add_test(tc, balancer_status);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(bank_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
