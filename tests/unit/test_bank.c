/* SPDX-License-Identifier: MIT */
/* Unit tests for bank.c: aggregation over the chain's batteries. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- the incremental fold (#18) ------------------------------------------ */

/* A bank as the daemon keeps it: readings in place, each with the chain's
 * publication number; refresh() folds them as daemon.c does. */
#define FB 64
static struct {
	struct bms_reading r[FB];
	struct bank_input in[FB];
	uint64_t seq[FB];
	uint64_t publications;
	struct bank_fold f; /* static: 40 KB */
} F;

static void fold_setup(unsigned n)
{
	memset(&F, 0, sizeof(F));
	for (unsigned k = 0; k < n && k < FB; k++) {
		F.r[k] = batt(13.2, -2, 50, 100, 4, 3.3);
		F.r[k].ntemps = 1;
		F.r[k].temp_c[0] = 20;
		F.in[k] = (struct bank_input){.reading = &F.r[k],
					      .valid = true,
					      .last_good_us = 1000};
		F.seq[k] = ++F.publications;
	}
}

/* Battery k published a new reading. */
static void publish(unsigned k)
{
	F.seq[k] = ++F.publications;
	F.in[k].valid = true;
	F.in[k].stale = false;
	F.in[k].last_good_us += 100000;
}

/* The fold's bank; and it must be bank_compute()'s, to the bit. */
static void refresh(struct bank *b, unsigned n, unsigned series,
		    const struct bank_limits *lim)
{
	struct bank scratch;
	struct bank_input in[FB];

	bank_fold_begin(&F.f, n, series, lim);
	for (unsigned k = 0; k < n; k++)
		bank_fold_set(&F.f, k, &F.in[k], F.seq[k]);
	bank_fold_end(&F.f, b);
	for (unsigned k = 0; k < n; k++) {
		in[k] = F.in[k];
		bank_summarize(in[k].reading, &sums[k]);
		in[k].summary = &sums[k];
	}
	bank_compute(&scratch, in, n, series, lim);
	ck_assert_msg(memcmp(&scratch, b, sizeof(scratch)) == 0,
		      "the fold differs from bank_compute");
}

/* A battery that changed changes the bank at the refresh that follows,
 * whichever battery it is and whether it held the extreme or not. */
START_TEST(fold_changed_battery_changes_bank_at_once)
{
	struct bank b;
	struct guard_input gi;

	fold_setup(50);
	refresh(&b, 50, 1, NULL);
	ck_assert(b.complete);
	ck_assert_uint_eq(b.min_cell.battery, 1); /* the first of a tie */
	F.r[36].cell_v[2] = 2.80;
	publish(36);
	refresh(&b, 50, 1, NULL);
	ck_assert_double_eq_tol(b.min_cell_v, 2.80, EPS);
	ck_assert_uint_eq(b.min_cell.battery, 37);
	ck_assert_uint_eq(b.min_cell.index, 3);
	bank_guard_input(&b, 1, &gi);
	ck_assert_uint_eq(gi.min_cell_battery, 37);
	/* The holder of the extreme recovers: the extreme moves on. */
	F.r[36].cell_v[2] = 3.45;
	publish(36);
	refresh(&b, 50, 1, NULL);
	ck_assert_double_eq_tol(b.min_cell_v, 3.30, EPS);
	ck_assert_uint_eq(b.min_cell.battery, 1);
	ck_assert_double_eq_tol(b.max_cell_v, 3.45, EPS);
	ck_assert_uint_eq(b.max_cell.battery, 37);
	/* Flags, FETs, sensors and current, each seen at once. */
	F.r[48].charge_fet = false;
	F.r[12].protection = BMS_PROT_CELL_UV;
	F.r[5].temp_c[0] = 58;
	F.r[0].current = -40;
	F.r[30].ntemps = 0;
	publish(48);
	publish(12);
	publish(5);
	publish(0);
	publish(30);
	refresh(&b, 50, 1, NULL);
	ck_assert(!b.fets_allow_charge && !b.fets_allow_discharge);
	bank_guard_input(&b, 1, &gi);
	ck_assert_uint_eq(gi.charge_protection_battery, 49);
	ck_assert_uint_eq(gi.discharge_protection_battery, 13);
	ck_assert_uint_eq(gi.discharge_protection, BMS_PROT_CELL_UV);
	ck_assert(gi.charge_fet_off && !gi.discharge_fet_off);
	ck_assert_uint_eq(gi.max_temp_battery, 6);
	ck_assert_uint_eq(gi.no_temp_battery, 31);
	ck_assert_double_eq_tol(gi.current, -2 * 49 - 40, EPS);
}
END_TEST

/* Unknown is never present: a battery that goes stale, loses its data or
 * whose slot holds another reading is taken out at once, though its seq
 * did not change; a seq of 0 (unknown) is folded again every time. */
START_TEST(fold_missing_battery_is_missing_at_once)
{
	struct bank b;
	struct guard_input gi;

	fold_setup(50);
	F.r[19].cell_v[0] = 2.90;
	F.seq[19] = ++F.publications;
	refresh(&b, 50, 1, NULL);
	ck_assert_uint_eq(b.min_cell.battery, 20);
	F.in[19].stale = true; /* no new reading: only the flag */
	refresh(&b, 50, 1, NULL);
	ck_assert(!b.complete && b.stale);
	ck_assert_double_eq_tol(b.min_cell_v, 3.30, EPS);
	ck_assert_uint_eq(b.min_cell.battery, 1);
	bank_guard_input(&b, 1, &gi);
	ck_assert(!gi.complete);
	ck_assert(isnan(gi.current));
	F.in[19].stale = false;
	refresh(&b, 50, 1, NULL);
	ck_assert(b.complete);
	ck_assert_uint_eq(b.min_cell.battery, 20);
	/* Another battery answers in its place: no data, seq 0. */
	F.in[19].valid = false;
	F.in[19].stale = true;
	F.seq[19] = 0;
	refresh(&b, 50, 1, NULL);
	ck_assert(!b.complete);
	ck_assert_uint_eq(b.min_cell.battery, 1);
	/* The comm-loss reference follows last_good_us without a reading. */
	F.in[19] = (struct bank_input){.reading = &F.r[19],
				       .valid = true,
				       .stale = true,
				       .last_good_us = 7};
	F.seq[19] = ++F.publications;
	refresh(&b, 50, 1, NULL);
	bank_guard_input(&b, 1000, &gi);
	ck_assert_uint_eq(gi.data_time_us, 7);
	/* The same seq at another place is another reading (a chain
	 * replaced by a reload). */
	F.r[60] = F.r[19];
	F.r[60].cell_v[0] = 2.85;
	F.in[19] = (struct bank_input){
		.reading = &F.r[60], .valid = true, .last_good_us = 8};
	refresh(&b, 50, 1, NULL);
	ck_assert(b.complete);
	ck_assert_double_eq_tol(b.min_cell_v, 2.85, EPS);
	ck_assert_uint_eq(b.min_cell.battery, 20);
	/* seq 0: the content is all there is to go by. */
	F.in[19].reading = &F.r[19];
	F.seq[19] = 0;
	refresh(&b, 50, 1, NULL);
	F.r[19].cell_v[0] = 3.6;
	refresh(&b, 50, 1, NULL);
	ck_assert_uint_eq(b.min_cell.battery, 1);
	ck_assert_uint_eq(b.max_cell.battery, 20);
}
END_TEST

/* A new count, series or tolerance folds everything again. */
START_TEST(fold_new_shape_or_limits)
{
	struct bank_limits lim = BANK_LIMITS_DEFAULT;
	struct bank b;

	fold_setup(12);
	refresh(&b, 12, 4, &lim);
	ck_assert(b.complete);
	ck_assert_uint_eq(b.parallel, 3);
	refresh(&b, 11, 4, &lim); /* a battery less: a string is short */
	ck_assert_uint_eq(b.warnings, BANK_WARN_SERIES_COUNT);
	ck_assert(!b.complete);
	refresh(&b, 12, 2, &lim);
	ck_assert(b.complete);
	ck_assert_uint_eq(b.parallel, 6);
	F.r[2].voltage = 12.8; /* string 2: 26.4 V like the others */
	F.r[3].voltage = 13.6;
	publish(2);
	publish(3);
	refresh(&b, 12, 2, &lim);
	ck_assert_uint_eq(b.warnings, 0);
	lim.string_voltage = 0.5;
	refresh(&b, 12, 2, &lim);
	ck_assert_uint_eq(b.warnings, BANK_WARN_STRING_VOLTAGE);
	ck_assert_uint_eq(b.warn_string, 2);
	bank_fold_reset(&F.f);
	refresh(&b, 12, 2, &lim);
	ck_assert_uint_eq(b.warn_string, 2);
}
END_TEST

/* More batteries than a fold holds: the bank is never complete. */
START_TEST(fold_too_many_batteries_is_not_used)
{
	static struct bms_reading r[BANK_MAX_BATTERIES + 1];
	static struct bank_input in[BANK_MAX_BATTERIES + 1];
	static struct bank_summary s[BANK_MAX_BATTERIES + 1];
	struct bank b;

	for (unsigned k = 0; k <= BANK_MAX_BATTERIES; k++) {
		r[k] = batt(13.2, -1, 50, 100, 4, 3.3);
		bank_summarize(&r[k], &s[k]);
		in[k] = (struct bank_input){
			.reading = &r[k], .summary = &s[k], .valid = true};
	}
	bank_compute(&b, in, BANK_MAX_BATTERIES + 1, 1, NULL);
	ck_assert(!b.complete && b.stale);
	ck_assert(!b.fets_allow_charge && !b.fets_allow_discharge);
	ck_assert(b.warnings & BANK_WARN_TOO_MANY);
	ck_assert_uint_eq(b.nbatteries, BANK_MAX_BATTERIES + 1);
}
END_TEST

static uint64_t rng = 88172645463325252ULL;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void random_reading(struct bms_reading *r)
{
	*r = batt(12.0 + rnd(300) / 100.0, (double)rnd(41) - 20, rnd(100),
		  rnd(10) ? 100.0 : (double)NAN, 1 + rnd(16),
		  2.9 + rnd(60) / 100.0);
	for (unsigned c = 0; c < r->ncells; c++)
		r->cell_v[c] = 2.9 + rnd(60) / 100.0;
	r->ntemps = rnd(4);
	for (unsigned t = 0; t < r->ntemps; t++)
		r->temp_c[t] = (double)rnd(70) - 20;
	if (!rnd(8))
		r->have &= ~(uint32_t)BMS_HAVE_PROTECTION;
	r->protection = rnd(6) ? 0 : 1u << rnd(12);
	r->charge_fet = rnd(8);
	r->discharge_fet = rnd(8);
	r->balancing = rnd(6) ? 0 : 1;
	r->full_ah = rnd(3) ? 0 : 90;
}

/* Random refreshes, a few batteries changed in every way between them:
 * the fold is bank_compute() at every one (refresh() checks). */
START_TEST(fold_is_compute_on_random_changes)
{
	static const unsigned series_of[] = {1, 1, 2, 3, 4};
	struct bank_limits lim = BANK_LIMITS_DEFAULT;
	unsigned n = 50, series = 1;
	struct bank b;
	struct guard_input gi;

	fold_setup(FB);
	for (unsigned k = 0; k < FB; k++)
		random_reading(&F.r[k]);
	for (unsigned turn = 0; turn < 20000; turn++) {
		unsigned changes = rnd(4);

		if (!rnd(200))
			n = 1 + rnd(50);
		if (!rnd(200))
			series = series_of[rnd(5)];
		if (!rnd(300))
			lim.imbalance = rnd(2) ? 0.05 : 0.2;
		if (!rnd(50))
			changes = n; /* a stack answer: all at once */
		for (unsigned c = 0; c < changes; c++) {
			unsigned k = rnd(n);

			switch (rnd(6)) {
			case 0:
			case 1:
				random_reading(&F.r[k]);
				publish(k);
				break;
			case 2:
				F.in[k].stale = !F.in[k].stale;
				break;
			case 3:
				F.in[k].valid = rnd(4) != 0;
				if (!F.in[k].valid && rnd(2))
					F.seq[k] = 0; /* as a replaced one */
				break;
			case 4:
				F.in[k].temp_optional = !F.in[k].temp_optional;
				break;
			default:
				F.in[k].last_good_us = rnd(5000);
				break;
			}
		}
		refresh(&b, n, series, &lim);
		bank_guard_input(&b, 2000, &gi);
		ck_assert(!gi.complete || b.complete);
	}
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
	tc = tcase_create("fold");
	tcase_add_test(tc, fold_changed_battery_changes_bank_at_once);
	tcase_add_test(tc, fold_missing_battery_is_missing_at_once);
	tcase_add_test(tc, fold_new_shape_or_limits);
	tcase_add_test(tc, fold_too_many_batteries_is_not_used);
	tcase_add_test(tc, fold_is_compute_on_random_changes);
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
