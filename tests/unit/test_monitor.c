/* SPDX-License-Identifier: MIT */
/*
 * test_monitor.c - the battery monitor with synthetic current profiles and
 * an injected clock: coulomb counting, efficiency, the current threshold,
 * synchronisation and its timer, the batteries' SoC as a start, manual SoC
 * and sync, consumed Ah, time remaining, cycles, every history item and
 * its reset, the balancer-unknown conditions, JSON both ways.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor.h"
#include "settings.h"

#define EPS   1e-9
#define SEC   1000000ull
#define HOUR  (3600 * SEC)
#define WALL0 1700000000ll /* 2023-11-14T22:13:20Z */

static struct settings set;
static struct monitor mon;
static uint64_t now_t; /* the injected monotonic clock */

static void setup(void)
{
	settings_default(&set);
	monitor_init(&mon, &set);
	now_t = 0;
}

/* A healthy 12 V 100 Ah bank (4 cells in series) at rest, 13.2 V. */
static struct monitor_input bank(double current)
{
	return (struct monitor_input){
		.valid = true,
		.voltage = 13.2,
		.current = current,
		.capacity_ah = 100,
		.cells_series = 4,
		.nbatteries = 1,
		.battery_soc = NAN,
		.min_cell_v = 3.29,
		.max_cell_v = 3.31,
		.min_temp = 20,
		.max_temp = 22,
		.wall_s = 0,
	};
}

/* One sample now; the wall clock follows the monotonic one. */
static unsigned at(struct monitor_input in)
{
	in.wall_s = WALL0 + (int64_t)(now_t / SEC);
	return monitor_step(&mon, &in, now_t);
}

/* Samples every step_us for dur_us: the bank held `in` all that time.
 * Returns the OR of the events. */
static unsigned hold_every(struct monitor_input in, uint64_t dur_us,
			   uint64_t step_us)
{
	uint64_t end = now_t + dur_us;
	unsigned ev = 0;

	while (now_t < end) {
		now_t += step_us;
		ev |= at(in);
	}
	return ev;
}

static unsigned hold(struct monitor_input in, uint64_t dur_us)
{
	return hold_every(in, dur_us, SEC);
}

static void set_soc(double soc)
{
	char err[128];

	ck_assert_int_eq(monitor_set_soc(&mon, soc, err, sizeof(err)), 0);
}

static struct monitor_output out(void)
{
	struct monitor_output o;

	monitor_output(&mon, &o);
	return o;
}

/* ---- coulomb counting ---------------------------------------------------- */

START_TEST(discharge_10a_for_1h_removes_10_percent)
{
	set_soc(80);
	at(bank(-10));
	hold(bank(-10), HOUR);
	ck_assert_double_eq_tol(mon.soc, 70.0, 0.1);
	ck_assert_double_eq_tol(mon.soc, 70.0, 1e-6);
}
END_TEST

START_TEST(charge_counts_with_efficiency)
{
	set_soc(50);
	at(bank(10));
	hold(bank(10), HOUR); /* 10 Ah in, 95 % stored */
	ck_assert_double_eq_tol(mon.soc, 59.5, 1e-6);
	set.charge_efficiency = 100; /* a settings change applies at once */
	hold(bank(10), HOUR);
	ck_assert_double_eq_tol(mon.soc, 69.5, 1e-6);
}
END_TEST

START_TEST(below_current_threshold_counts_nothing)
{
	set_soc(80);
	at(bank(-0.09));
	hold_every(bank(-0.09), 10 * HOUR, 10 * SEC);
	hold_every(bank(0.09), 10 * HOUR, 10 * SEC);
	ck_assert_double_eq(mon.soc, 80);
	ck_assert_double_eq(mon.h.cumulative_ah_drawn, 0);
	ck_assert_double_eq(mon.h.discharged_kwh, 0);
	ck_assert_double_eq(mon.h.charged_kwh, 0);
	/* at the threshold it counts: 0.1 A x 10 h = 1 Ah */
	hold_every(bank(-0.1), 10 * HOUR, 10 * SEC);
	ck_assert_double_eq_tol(mon.soc, 79, 1e-6);
}
END_TEST

START_TEST(soc_is_clamped)
{
	set_soc(1);
	at(bank(-50));
	hold(bank(-50), HOUR);
	ck_assert_double_eq(mon.soc, 0);
	set_soc(99);
	hold(bank(50), HOUR);
	ck_assert_double_eq(mon.soc, 100);
}
END_TEST

START_TEST(no_integration_across_invalid_data_or_long_gaps)
{
	struct monitor_input bad = bank(-10);
	double expect = 80 - 10.0 * 10 / 3600;

	set_soc(80);
	at(bank(-10));
	hold(bank(-10), 10 * SEC); /* 10 s counted */
	bad.valid = false;
	hold(bad, 10 * SEC);
	/* 10 s without data, then a sample: the current then is unknown */
	hold(bank(-10), SEC);
	ck_assert_double_eq_tol(mon.soc, expect, 1e-9);
	hold(bad, SEC);
	/* an hour without data */
	now_t += HOUR;
	at(bank(-10));
	ck_assert_double_eq_tol(mon.soc, expect, 1e-9);
	/* a gap longer than MONITOR_MAX_GAP_US between valid samples */
	now_t += MONITOR_MAX_GAP_US + 1;
	at(bank(-10));
	ck_assert_double_eq_tol(mon.soc, expect, 1e-9);
	/* the longest gap still counts */
	now_t += MONITOR_MAX_GAP_US;
	at(bank(-10));
	ck_assert_double_eq_tol(mon.soc, expect - 10.0 * 300 / 3600, 1e-9);
	/* a repeated sample at the same time counts nothing */
	at(bank(-10));
	ck_assert_double_eq_tol(mon.soc, expect - 10.0 * 300 / 3600, 1e-9);
}
END_TEST

/* ---- synchronisation ---------------------------------------------------- */

/* 14.0 V = 3.50 V x 4; the tail current is 4 % of 100 Ah = 4 A. */
static struct monitor_input charged(double current)
{
	struct monitor_input in = bank(current);

	in.voltage = 14.0;
	return in;
}

START_TEST(sync_after_detection_time_not_one_step_before)
{
	unsigned ev;

	set_soc(90);
	mon.synchronised = false;
	ev = at(charged(4.0)); /* the timer starts */
	ev |= hold(charged(4.0), 179 * SEC);
	ck_assert(!(ev & MONITOR_SYNCED));
	ck_assert(!mon.synchronised);
	ck_assert_double_lt(mon.soc, 100);
	ck_assert_double_eq_tol(out().charged_for_s, 179, EPS);
	ev = hold(charged(4.0), SEC);
	ck_assert(ev & MONITOR_SYNCED);
	ck_assert(ev & MONITOR_CHANGED);
	ck_assert_double_eq(mon.soc, 100);
	ck_assert(mon.synchronised);
	ck_assert_uint_eq(mon.h.synchronisations, 1);
	ck_assert_int_eq(mon.h.last_full_charge, WALL0 + 180);
	/* the condition holds on: one synchronisation per charge */
	ev = hold(charged(-4.0), HOUR);
	ck_assert(!(ev & MONITOR_SYNCED));
	ck_assert_uint_eq(mon.h.synchronisations, 1);
}
END_TEST

START_TEST(sync_timer_restarts_when_current_rises)
{
	set_soc(90);
	at(charged(2.0));
	hold(charged(2.0), 100 * SEC);
	hold(charged(4.1), SEC);       /* above the tail current */
	hold(charged(2.0), 180 * SEC); /* 179 s since it came back */
	ck_assert_uint_eq(mon.h.synchronisations, 0);
	ck_assert_double_lt(mon.soc, 100);
	hold(charged(2.0), SEC);
	ck_assert_uint_eq(mon.h.synchronisations, 1);
	ck_assert_double_eq(mon.soc, 100);
	/* discharging as hard counts as much as charging */
	hold(charged(-4.1), SEC);
	hold(charged(-2.0), 180 * SEC);
	ck_assert_uint_eq(mon.h.synchronisations, 1);
	hold(charged(-2.0), SEC);
	ck_assert_uint_eq(mon.h.synchronisations, 2);
}
END_TEST

START_TEST(sync_timer_restarts_when_voltage_drops_or_data_is_lost)
{
	struct monitor_input low = charged(1.0), lost = charged(1.0);

	low.voltage = 13.99;
	lost.valid = false;
	set_soc(90);
	at(charged(1.0));
	hold(charged(1.0), 170 * SEC);
	hold(low, SEC);
	hold(charged(1.0), 180 * SEC);
	ck_assert_uint_eq(mon.h.synchronisations, 0);
	hold(lost, SEC);
	hold(charged(1.0), 180 * SEC);
	ck_assert_uint_eq(mon.h.synchronisations, 0);
	hold(charged(1.0), SEC);
	ck_assert_uint_eq(mon.h.synchronisations, 1);
}
END_TEST

START_TEST(sync_follows_the_settings)
{
	struct monitor_input in = charged(1.0);

	set.charged_voltage = 3.55; /* 14.2 V now needed */
	set.charged_detection_time = 60;
	set_soc(95);
	at(in);
	hold(in, 600 * SEC);
	ck_assert_uint_eq(mon.h.synchronisations, 0);
	in.voltage = 14.2;
	hold(in, 60 * SEC);
	ck_assert_uint_eq(mon.h.synchronisations, 0);
	hold(in, SEC);
	ck_assert_uint_eq(mon.h.synchronisations, 1);
}
END_TEST

START_TEST(starts_from_batteries_soc_unsynchronised)
{
	struct monitor_input in = bank(-10);
	unsigned ev;

	ck_assert(isnan(out().soc));
	in.battery_soc = 63.4;
	ev = at(in);
	ck_assert(ev & MONITOR_SEEDED);
	ck_assert_double_eq(out().soc, 63.4);
	ck_assert(!out().synchronised);
	/* taken once: from then on, counted */
	in.battery_soc = 20;
	ev = hold(in, HOUR);
	ck_assert(!(ev & MONITOR_SEEDED));
	ck_assert_double_eq_tol(out().soc, 53.4, 1e-6);
	ck_assert(!out().synchronised);
	/* until a synchronisation */
	hold(charged(0), 181 * SEC);
	ck_assert(out().synchronised);
	ck_assert_double_eq(out().soc, 100);
}
END_TEST

START_TEST(without_any_soc_nothing_is_made_up)
{
	at(bank(-10));
	hold(bank(-10), HOUR);
	ck_assert(isnan(out().soc));
	ck_assert(isnan(out().consumed_ah));
	ck_assert(isnan(out().time_remaining_s));
	ck_assert(!out().low_soc && !out().floor_reached);
	ck_assert(!out().synchronised);
	/* the history still counts what went out */
	ck_assert_double_eq_tol(mon.h.cumulative_ah_drawn, -10, 1e-9);
}
END_TEST

START_TEST(manual_set_soc_and_sync)
{
	char err[128] = "";

	ck_assert_int_eq(monitor_set_soc(&mon, 42.5, err, sizeof(err)), 0);
	ck_assert_double_eq(out().soc, 42.5);
	ck_assert(out().synchronised);
	ck_assert_int_eq(monitor_set_soc(&mon, 100.5, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "soc: 100.5 is out of range (0..100 %)");
	ck_assert_int_eq(monitor_set_soc(&mon, -1, err, sizeof(err)), -1);
	ck_assert_int_eq(monitor_set_soc(&mon, NAN, err, sizeof(err)), -1);
	ck_assert_double_eq(out().soc, 42.5);
	/* not a full charge */
	ck_assert_int_eq(mon.h.last_full_charge, 0);

	monitor_sync(&mon, WALL0 + 5);
	ck_assert_double_eq(out().soc, 100);
	ck_assert(out().synchronised);
	ck_assert_int_eq(mon.h.last_full_charge, WALL0 + 5);
	ck_assert_int_eq(mon.last_full_wall, WALL0 + 5);
	ck_assert_uint_eq(mon.h.synchronisations, 0); /* automatic only */
}
END_TEST

/* Consumed Ah is a count of charge since the last full charge, like a
 * BMV's: a SoC set by hand does not move it (it once made the deepest
 * discharge -45 Ah that nobody drew). */
START_TEST(consumed_ah_is_counted)
{
	struct monitor_input in = bank(0);

	in.capacity_ah = 200;
	at(in);
	ck_assert(isnan(out().consumed_ah));
	ck_assert_int_eq(mon.soc_source, MONITOR_SOC_NONE);
	set_soc(75);
	ck_assert_int_eq(mon.soc_source, MONITOR_SOC_USER);
	at(in); /* no count yet: it starts from the SoC, once */
	ck_assert_double_eq(out().consumed_ah, -50);
	set_soc(55);
	at(in);
	ck_assert_double_eq(out().consumed_ah, -50);
	ck_assert_double_eq(mon.h.deepest_discharge_ah, -50);
	monitor_sync(&mon, WALL0);
	ck_assert_double_eq(out().consumed_ah, 0);
	ck_assert_int_eq(mon.soc_source, MONITOR_SOC_FULL);
	in.current = -20;
	hold(in, HOUR);
	ck_assert_double_eq_tol(out().consumed_ah, -20, 1e-6);
	set_soc(30);     /* the user's SoC: not charge */
	in.current = 10; /* charge counts x 95 % */
	hold(in, HOUR);
	ck_assert_double_eq_tol(out().consumed_ah, -10.5, 1e-6);
	hold(in, 2 * HOUR); /* never above full */
	ck_assert_double_eq(out().consumed_ah, 0);
	ck_assert_double_eq(mon.h.deepest_discharge_ah, -50);
}
END_TEST

/* A first start takes the batteries' SoC, and says so. */
START_TEST(first_start_soc_from_the_batteries)
{
	struct monitor_input in = bank(-5);
	json_t *o;

	in.battery_soc = 64;
	ck_assert_uint_eq(at(in) & MONITOR_SEEDED, MONITOR_SEEDED);
	ck_assert_double_eq(out().soc, 64);
	ck_assert(!out().synchronised);
	o = monitor_status_json(&mon);
	ck_assert_str_eq(json_string_value(json_object_get(o, "soc_source")),
			 "batteries");
	json_decref(o);
}
END_TEST

/* ---- time remaining ---------------------------------------------------- */

START_TEST(time_remaining_to_the_floor)
{
	set.discharge_floor = 10;
	set_soc(60); /* 50 Ah above the floor */
	at(bank(-10));
	ck_assert_double_eq_tol(out().time_remaining_s, 5 * 3600, 1e-6);
	set.discharge_floor = 0; /* to empty */
	ck_assert_double_eq_tol(out().time_remaining_s, 6 * 3600, 1e-6);
	set.discharge_floor = 60; /* at the floor */
	ck_assert_double_eq(out().time_remaining_s, 0);
	set.discharge_floor = 70; /* below it */
	ck_assert_double_eq(out().time_remaining_s, 0);
}
END_TEST

START_TEST(time_remaining_infinite_when_not_discharging)
{
	set_soc(60);
	at(bank(5));
	ck_assert(isinf(out().time_remaining_s));
	hold(bank(0), SEC);
	ck_assert(isinf(out().time_remaining_s));
	hold(bank(-0.05), SEC);
	ck_assert(isinf(out().time_remaining_s));
	/* charging right after a long discharge: the average is still
	 * negative, but the bank is not discharging */
	hold(bank(-10), 600 * SEC);
	ck_assert(isfinite(out().time_remaining_s));
	hold(bank(3), SEC);
	ck_assert(isinf(out().time_remaining_s));
	ck_assert_double_lt(out().average_current, 0);
}
END_TEST

START_TEST(time_remaining_uses_the_averaged_current)
{
	double expect = -10 - 10 * (1 - exp(-1.0));

	set_soc(90);
	at(bank(-10));
	hold(bank(-10), 600 * SEC); /* settled at -10 A */
	ck_assert_double_eq_tol(out().average_current, -10, 1e-9);
	/* one averaging period (180 s) after a step to -20 A */
	hold(bank(-20), 180 * SEC);
	ck_assert_double_eq_tol(out().average_current, expect, 1e-6);
	ck_assert_double_eq_tol(out().time_remaining_s,
				(mon.soc - 10) / 100 * 100 / -expect * 3600,
				1e-3);
	/* no averaging: the latest current */
	set.ttg_averaging = 0;
	hold(bank(-25), SEC);
	ck_assert_double_eq(out().average_current, -25);
}
END_TEST

START_TEST(time_remaining_unknown_without_data)
{
	struct monitor_input in = bank(-10);

	set_soc(60);
	at(in);
	in.valid = false;
	hold(in, SEC);
	ck_assert(isnan(out().time_remaining_s));
	ck_assert(isnan(out().average_current));
}
END_TEST

/* ---- floor and warning for the guard ---------------------------------- */

START_TEST(low_soc_and_floor_flags)
{
	set.low_soc_warning = 20;
	set.discharge_floor = 10;
	set_soc(20.5);
	ck_assert(!out().low_soc && !out().floor_reached);
	set_soc(20);
	ck_assert(out().low_soc && !out().floor_reached);
	set_soc(10);
	ck_assert(out().low_soc && out().floor_reached);
	set.discharge_floor = 0; /* off */
	set.low_soc_warning = 0;
	set_soc(0);
	ck_assert(!out().low_soc && !out().floor_reached);
}
END_TEST

/* ---- history ------------------------------------------------------------ */

START_TEST(cycles_below_65_then_above_90)
{
	set_soc(95);
	at(bank(-20));
	hold(bank(-20), 5760 * SEC); /* 32 Ah: 95 -> 63 % */
	ck_assert_double_eq_tol(mon.soc, 63, 1e-6);
	ck_assert_uint_eq(mon.h.cycles, 0);
	hold(bank(20), 5400 * SEC); /* 30 Ah x 95 %: 63 -> 91.5 % */
	ck_assert_double_eq_tol(mon.soc, 91.5, 1e-6);
	ck_assert_uint_eq(mon.h.cycles, 1);
	/* 70 -> 95 % without going below 65: no cycle */
	set_soc(70);
	hold(bank(0), SEC);
	set_soc(95);
	hold(bank(0), SEC);
	ck_assert_uint_eq(mon.h.cycles, 1);
}
END_TEST

START_TEST(cycle_thresholds_are_strict)
{
	set_soc(65); /* not below 65 */
	at(bank(0));
	set_soc(95);
	hold(bank(0), SEC);
	ck_assert_uint_eq(mon.h.cycles, 0);
	set_soc(64.9);
	hold(bank(0), SEC);
	set_soc(90); /* not above 90 */
	hold(bank(0), SEC);
	ck_assert_uint_eq(mon.h.cycles, 0);
	set_soc(90.1);
	hold(bank(0), SEC);
	ck_assert_uint_eq(mon.h.cycles, 1);
}
END_TEST

START_TEST(deepest_discharge)
{
	monitor_sync(&mon, WALL0);
	at(bank(-30));
	hold(bank(-30), HOUR); /* -30 Ah */
	ck_assert_double_eq_tol(mon.h.deepest_discharge_ah, -30, 1e-6);
	hold(bank(20), HOUR); /* +19 Ah: -11 */
	ck_assert_double_eq_tol(mon.h.deepest_discharge_ah, -30, 1e-6);
	hold(bank(-19), HOUR); /* -30 again */
	ck_assert_double_eq_tol(mon.h.deepest_discharge_ah, -30, 1e-6);
	hold(bank(-5), HOUR);
	ck_assert_double_eq_tol(mon.h.deepest_discharge_ah, -35, 1e-6);
}
END_TEST

START_TEST(every_history_item_and_reset)
{
	struct monitor_input in = bank(-10);
	json_t *h;

	in.voltage = 13.0;
	set_soc(100);
	at(in);
	hold(in, HOUR); /* 10 Ah, 130 Wh out */
	in.voltage = 13.5;
	in.current = 10;
	in.min_cell_v = 3.05;
	in.max_cell_v = 3.52;
	in.min_temp = -3.5;
	in.max_temp = 41;
	hold(in, HOUR);              /* 10 Ah, 135 Wh in */
	hold(charged(1), 181 * SEC); /* synchronised at the last step */

	ck_assert_double_eq_tol(mon.h.deepest_discharge_ah, -10, 1e-6);
	ck_assert_double_eq_tol(mon.h.cumulative_ah_drawn, -10, 1e-6);
	ck_assert_double_eq_tol(mon.h.discharged_kwh, 0.130, 1e-9);
	ck_assert_double_eq_tol(mon.h.charged_kwh,
				0.135 + 14.0 * 1 * 181 / 3600 / 1000, 1e-9);
	ck_assert_uint_eq(mon.h.synchronisations, 1);
	ck_assert_int_eq(mon.h.last_full_charge, WALL0 + 2 * 3600 + 181);
	ck_assert_double_eq(mon.h.min_voltage, 13.0);
	ck_assert_double_eq(mon.h.max_voltage, 14.0);
	ck_assert_double_eq(mon.h.min_cell_v, 3.05);
	ck_assert_double_eq(mon.h.max_cell_v, 3.52);
	ck_assert_double_eq(mon.h.min_temp, -3.5);
	ck_assert_double_eq(mon.h.max_temp, 41);

	h = monitor_history_json(&mon);
	ck_assert_double_eq(
		json_real_value(json_object_get(h, "deepest_discharge_ah")),
		-10);
	ck_assert_double_eq(
		json_real_value(json_object_get(h, "discharged_energy_kwh")),
		0.13);
	ck_assert_int_eq(
		json_integer_value(json_object_get(h, "last_full_charge")),
		WALL0 + 2 * 3600 + 181);
	ck_assert_double_eq(
		json_real_value(json_object_get(h, "min_temperature")), -3.5);
	ck_assert_uint_eq(json_object_size(h), 13);
	json_decref(h);

	mon.h.cycles = 3;
	mon.h.cycle_armed = true;
	monitor_history_reset(&mon);
	ck_assert_double_eq(mon.h.deepest_discharge_ah, 0);
	ck_assert_double_eq(mon.h.cumulative_ah_drawn, 0);
	ck_assert_double_eq(mon.h.discharged_kwh, 0);
	ck_assert_double_eq(mon.h.charged_kwh, 0);
	ck_assert_uint_eq(mon.h.synchronisations, 0);
	ck_assert_uint_eq(mon.h.cycles, 0);
	ck_assert(!mon.h.cycle_armed);
	ck_assert_int_eq(mon.h.last_full_charge, 0);
	ck_assert(isnan(mon.h.min_voltage) && isnan(mon.h.max_voltage));
	ck_assert(isnan(mon.h.min_cell_v) && isnan(mon.h.max_cell_v));
	ck_assert(isnan(mon.h.min_temp) && isnan(mon.h.max_temp));
	h = monitor_history_json(&mon);
	ck_assert(json_is_null(json_object_get(h, "last_full_charge")));
	ck_assert(json_is_null(json_object_get(h, "max_voltage")));
	json_decref(h);
	/* the SoC and the balancer's last full charge are not history */
	ck_assert_double_eq(mon.soc, 100);
	ck_assert_int_eq(mon.last_full_wall, WALL0 + 2 * 3600 + 181);
}
END_TEST

START_TEST(changed_only_when_persisted_state_changes)
{
	unsigned ev;

	set_soc(80);
	ck_assert(at(bank(0)) & MONITOR_CHANGED); /* first min/max */
	ev = hold(bank(0), 100 * SEC);
	ck_assert(!(ev & MONITOR_CHANGED));
	ev = hold(bank(-5), 2 * SEC);
	ck_assert(ev & MONITOR_CHANGED);
}
END_TEST

/* ---- balancer status unknown ------------------------------------------ */

START_TEST(balancer_unknown_conditions)
{
	const int64_t day = 24 * 3600;
	struct monitor_input two = bank(0), three = bank(0);

	ck_assert_uint_eq(monitor_balancer_unknown(&mon, WALL0),
			  MONITOR_BAL_NO_FULL_CHARGE | MONITOR_BAL_SOC_UNKNOWN);
	monitor_sync(&mon, WALL0);
	ck_assert_uint_eq(monitor_balancer_unknown(&mon, WALL0), 0);
	ck_assert_uint_eq(monitor_balancer_unknown(&mon, WALL0 + 30 * day), 0);
	ck_assert_uint_eq(monitor_balancer_unknown(&mon, WALL0 + 30 * day + 1),
			  MONITOR_BAL_NO_FULL_CHARGE);

	two.nbatteries = 2;
	three.nbatteries = 3;
	ck_assert(!(at(two) & MONITOR_BATTERY_ADDED));
	ck_assert(hold(three, SEC) & MONITOR_BATTERY_ADDED);
	ck_assert_uint_eq(monitor_balancer_unknown(&mon, WALL0),
			  MONITOR_BAL_BATTERY_ADDED);
	hold(two, SEC); /* one removed: still unknown, no new event */
	ck_assert_uint_eq(monitor_balancer_unknown(&mon, WALL0),
			  MONITOR_BAL_BATTERY_ADDED);
	monitor_sync(&mon, WALL0 + 10);
	ck_assert_uint_eq(monitor_balancer_unknown(&mon, WALL0 + 10), 0);

	mon.synchronised = false; /* a SoC copied from the batteries */
	ck_assert_uint_eq(monitor_balancer_unknown(&mon, WALL0 + 10),
			  MONITOR_BAL_SOC_UNKNOWN);

	ck_assert_str_eq(
		monitor_balancer_unknown_name(MONITOR_BAL_NO_FULL_CHARGE),
		"no_full_charge");
	ck_assert_str_eq(
		monitor_balancer_unknown_name(MONITOR_BAL_BATTERY_ADDED),
		"battery_added");
	ck_assert_str_eq(monitor_balancer_unknown_name(MONITOR_BAL_SOC_UNKNOWN),
			 "soc_unknown");
	ck_assert_ptr_null(monitor_balancer_unknown_name(1u << 7));
}
END_TEST

/* ---- JSON --------------------------------------------------------------- */

static void busy_life(void)
{
	struct monitor_input in = bank(-10);

	in.nbatteries = 2;
	in.battery_soc = 77.7;
	at(in);
	hold_every(in, HOUR, 7 * SEC);
	hold(charged(2), 200 * SEC);
	hold_every(bank(-33.3), HOUR, 3 * SEC);
	mon.h.cycle_armed = true;
	mon.battery_added = true;
}

START_TEST(json_round_trip_is_exact)
{
	struct monitor back;
	char *text;
	json_t *j, *k, *j2;

	busy_life();
	j = monitor_to_json(&mon);
	text = json_dumps(j, JSON_REAL_PRECISION(15));
	k = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(k);
	monitor_init(&back, &set);
	ck_assert_int_eq(monitor_from_json(&back, k, NULL, NULL), 0);
	j2 = monitor_to_json(&back);
	ck_assert_msg(json_equal(k, j2), "%s", text);
	ck_assert_double_eq_tol(back.soc, mon.soc, 1e-12);
	ck_assert(back.synchronised && back.battery_added &&
		  back.h.cycle_armed);
	ck_assert_uint_eq(back.nbatteries, 1);
	ck_assert_uint_eq(back.h.synchronisations, 1);
	ck_assert_int_eq(back.last_full_wall, mon.last_full_wall);
	ck_assert_int_eq(back.h.last_full_charge, mon.h.last_full_charge);
	ck_assert_double_eq_tol(back.h.discharged_kwh, mon.h.discharged_kwh,
				1e-12);
	ck_assert_double_eq_tol(back.h.min_cell_v, 3.29, 1e-12);
	ck_assert_ptr_eq(back.s, &set);
	free(text);
	json_decref(j);
	json_decref(j2);
	json_decref(k);
}
END_TEST

START_TEST(json_of_a_new_monitor_round_trips)
{
	struct monitor back;
	json_t *j = monitor_to_json(&mon);

	ck_assert(json_is_null(json_object_get(j, "soc")));
	monitor_init(&back, &set);
	back.soc = 50;
	back.synchronised = true;
	ck_assert_int_eq(monitor_from_json(&back, j, NULL, NULL), 0);
	ck_assert(isnan(back.soc));
	ck_assert(!back.synchronised);
	json_decref(j);
}
END_TEST

/* What monitor_from_json() reported. */
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

/* from_json(text) drops the one bad key with msg; the monitor keeps
 * every other value (a state file is read key by key). */
static void assert_json_dropped(const char *text, const char *msg)
{
	json_t *j = json_loads(text, 0, NULL), *before, *after;
	struct problems pr = {0};

	ck_assert_msg(j != NULL, "%s", text);
	before = monitor_to_json(&mon);
	ck_assert_int_eq(monitor_from_json(&mon, j, collect, &pr), 1);
	ck_assert_str_eq(pr.first, msg);
	after = monitor_to_json(&mon);
	ck_assert(json_equal(before, after));
	json_decref(j);
	json_decref(before);
	json_decref(after);
}

START_TEST(json_drops_invalid_keys)
{
	busy_life();
	assert_json_dropped("{\"soc\": 101}",
			    "monitor: soc: 101 is out of range (0..100); "
			    "dropped");
	assert_json_dropped("{\"soc\": \"50\"}",
			    "monitor: soc: not a number or null; dropped");
	assert_json_dropped("{\"cycle_armed\": true, \"soc\": -0.5}",
			    "monitor: soc: -0.5 is out of range (0..100); "
			    "dropped");
	assert_json_dropped("{\"synchronised\": 1}",
			    "monitor: synchronised: not true or false; "
			    "dropped");
	assert_json_dropped("{\"nbatteries\": -1}",
			    "monitor: nbatteries: -1 is out of range "
			    "(0..1000); dropped");
	assert_json_dropped("{\"last_full_charge\": -5}",
			    "monitor: last_full_charge: not a time (seconds "
			    "since 1970) or null; dropped");
	assert_json_dropped("{\"socc\": 5}",
			    "monitor: unknown key 'socc'; dropped");
	assert_json_dropped("{\"history\": {\"cycles\": 1.5}}",
			    "history: cycles: not a whole number; dropped");
	assert_json_dropped("{\"history\": {\"deepest_discharge_ah\": 5}}",
			    "history: deepest_discharge_ah: 5 is out of range "
			    "(-1e+09..0); dropped");
	assert_json_dropped("{\"history\": {\"x\": 1}}",
			    "history: unknown key 'x'; dropped");
	assert_json_dropped("{\"history\": []}",
			    "history: not a JSON object; dropped");
}
END_TEST

/* Values that contradict each other are dropped together; the SoC beside
 * them survives. */
START_TEST(json_drops_contradictions_keeps_the_rest)
{
	struct problems pr = {0};
	json_t *j;

	busy_life();
	j = json_loads("{\"soc\": 42, \"history\": {\"min_voltage\": 12, "
		       "\"max_voltage\": null, \"min_temperature\": 30, "
		       "\"max_temperature\": 20, \"cycles\": 7}}",
		       0, NULL);
	ck_assert_int_eq(monitor_from_json(&mon, j, collect, &pr), 2);
	ck_assert_str_eq(pr.first, "history: min_voltage and max_voltage "
				   "disagree; dropped");
	ck_assert_double_eq(mon.soc, 42);
	ck_assert_uint_eq(mon.h.cycles, 7);
	ck_assert(isnan(mon.h.min_voltage) && isnan(mon.h.max_voltage));
	ck_assert(isnan(mon.h.min_temp) && isnan(mon.h.max_temp));
	json_decref(j);
	memset(&pr, 0, sizeof(pr));
	j = json_loads("{\"soc\": null, \"synchronised\": true}", 0, NULL);
	ck_assert_int_eq(monitor_from_json(&mon, j, collect, &pr), 1);
	ck_assert_str_eq(pr.first, "monitor: synchronised without a soc: "
				   "unsynchronised; dropped");
	ck_assert(!mon.synchronised);
	json_decref(j);
	j = json_loads("[1]", 0, NULL);
	ck_assert_int_eq(monitor_from_json(&mon, j, collect, &pr), -1);
	json_decref(j);
}
END_TEST

START_TEST(status_json_keys)
{
	json_t *o;

	set_soc(60);
	at(bank(-10));
	o = monitor_status_json(&mon);
	ck_assert_double_eq(json_real_value(json_object_get(o, "soc")), 60);
	ck_assert(json_is_true(json_object_get(o, "synchronised")));
	ck_assert_double_eq(json_real_value(json_object_get(o, "consumed_ah")),
			    -40);
	ck_assert_int_eq(
		json_integer_value(json_object_get(o, "time_remaining")),
		18000);
	ck_assert_double_eq(
		json_real_value(json_object_get(o, "average_current")), -10);
	json_decref(o);
	hold(bank(1), SEC);
	o = monitor_status_json(&mon);
	ck_assert(json_is_null(json_object_get(o, "time_remaining")));
	json_decref(o);
}
END_TEST

static Suite *monitor_suite(void)
{
	Suite *s = suite_create("monitor");
	TCase *tc = tcase_create("counting");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, discharge_10a_for_1h_removes_10_percent);
	tcase_add_test(tc, charge_counts_with_efficiency);
	tcase_add_test(tc, below_current_threshold_counts_nothing);
	tcase_add_test(tc, soc_is_clamped);
	tcase_add_test(tc, no_integration_across_invalid_data_or_long_gaps);
	tcase_add_test(tc, starts_from_batteries_soc_unsynchronised);
	tcase_add_test(tc, without_any_soc_nothing_is_made_up);
	tcase_add_test(tc, manual_set_soc_and_sync);
	tcase_add_test(tc, consumed_ah_is_counted);
	tcase_add_test(tc, first_start_soc_from_the_batteries);
	suite_add_tcase(s, tc);

	tc = tcase_create("sync");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, sync_after_detection_time_not_one_step_before);
	tcase_add_test(tc, sync_timer_restarts_when_current_rises);
	tcase_add_test(tc,
		       sync_timer_restarts_when_voltage_drops_or_data_is_lost);
	tcase_add_test(tc, sync_follows_the_settings);
	suite_add_tcase(s, tc);

	tc = tcase_create("ttg");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, time_remaining_to_the_floor);
	tcase_add_test(tc, time_remaining_infinite_when_not_discharging);
	tcase_add_test(tc, time_remaining_uses_the_averaged_current);
	tcase_add_test(tc, time_remaining_unknown_without_data);
	tcase_add_test(tc, low_soc_and_floor_flags);
	suite_add_tcase(s, tc);

	tc = tcase_create("history");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, cycles_below_65_then_above_90);
	tcase_add_test(tc, cycle_thresholds_are_strict);
	tcase_add_test(tc, deepest_discharge);
	tcase_add_test(tc, every_history_item_and_reset);
	tcase_add_test(tc, changed_only_when_persisted_state_changes);
	tcase_add_test(tc, balancer_unknown_conditions);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, json_round_trip_is_exact);
	tcase_add_test(tc, json_of_a_new_monitor_round_trips);
	tcase_add_test(tc, json_drops_invalid_keys);
	tcase_add_test(tc, json_drops_contradictions_keeps_the_rest);
	tcase_add_test(tc, status_json_keys);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(monitor_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
