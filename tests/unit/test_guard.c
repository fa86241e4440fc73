/* SPDX-License-Identifier: MIT */
/*
 * test_guard.c - the protection rules, one test per rule, named after it.
 * Time is injected: every 10 s / 30 s / 120 s rule runs without sleeping.
 * Each test asserts the step just before a limit and the step at it, so it
 * fails if its rule is removed or its number changes.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "reading.h"

#define SEC(x) ((uint64_t)(x)*GUARD_USEC)
#define MS(x)  ((uint64_t)(x)*1000ULL)
#define T0     SEC(1000)
#define EPS    1e-9

#define R_START GUARD_R_STARTING
#define R_MODE  GUARD_R_MODE_OFF
#define R_REM   GUARD_R_REMOTE_OFF
#define R_COMM  GUARD_R_COMM_LOSS
#define R_UV    GUARD_R_CELL_UNDERVOLTAGE
#define R_FLOOR GUARD_R_DISCHARGE_FLOOR
#define R_BATT  GUARD_R_BATTERY_PROTECTION
#define R_OV    GUARD_R_CELL_OVERVOLTAGE
#define R_LOWT  GUARD_R_LOW_TEMPERATURE
#define R_HIGHT GUARD_R_HIGH_TEMPERATURE
#define R_HARD  GUARD_R_CELL_UNDERVOLTAGE_HARD
#define R_NOT   GUARD_R_NO_TEMPERATURE
#define R_CYCLE GUARD_R_CYCLE_LIMIT

/* The guard under test, its input and the last step's events. */
static struct guard g;
static struct guard_input in;
static uint64_t now;
static struct guard_event ev[GUARD_MAX_EVENTS];
static size_t nev;

/* Four healthy batteries: cells 3.30..3.35 V, 20..22 degrees C, idle. */
static struct guard_input healthy(void)
{
	return (struct guard_input){
		.complete = true,
		.min_cell_v = 3.30,
		.min_cell_battery = 2,
		.min_cell_index = 3,
		.max_cell_v = 3.35,
		.max_cell_battery = 1,
		.max_cell_index = 4,
		.have_temps = true,
		.min_temp = 20,
		.min_temp_battery = 3,
		.min_temp_sensor = 2,
		.max_temp = 22,
		.max_temp_battery = 4,
		.max_temp_sensor = 1,
		.current = 0,
		.soc_valid = false,
		.soc = (double)NAN,
		.mode_on = true,
		.remote_on = true,
	};
}

static void setup_with(const struct guard_settings *s)
{
	guard_init(&g, s);
	in = healthy();
	now = 0;
	nev = 0;
}

/* The defaults, with the SoC features off (the tests that need them
 * switch them on). */
static void setup(void)
{
	struct guard_settings s;

	guard_settings_default(&s);
	s.discharge_floor = s.low_soc_warning = 0;
	setup_with(&s);
}

/* A run-time setting changed between steps, as `set` does. */
static void set_floor(double v)
{
	struct guard_settings s = g.set;

	s.discharge_floor = v;
	guard_set_settings(&g, &s);
}

static void set_soc_warning(double v)
{
	struct guard_settings s = g.set;

	s.low_soc_warning = v;
	guard_set_settings(&g, &s);
}

static void set_comm_loss_charge(uint64_t us)
{
	struct guard_settings s = g.set;

	s.comm_loss_charge_us = us;
	guard_set_settings(&g, &s);
}

/* One step at time t; fresh data carries the time of the step. */
static const struct guard_output *at(uint64_t t)
{
	now = t;
	if (in.complete)
		in.data_time_us = t;
	guard_step(&g, &in, t, ev, GUARD_MAX_EVENTS, &nev);
	return guard_output(&g);
}

static const struct guard_output *after(uint64_t dt)
{
	return at(now + dt);
}

/* Steps every dt up to and including time t. */
static const struct guard_output *run_to(uint64_t t, uint64_t dt)
{
	while (now + dt < t)
		after(dt);
	return at(t);
}

/* Started, data seen, the restore delay over: everything allowed. */
static void ready(void)
{
	const struct guard_output *o;

	setup();
	at(T0);
	o = at(T0 + SEC(5));
	ck_assert(o->allow_charge && o->allow_discharge);
	ck_assert_uint_eq(o->charge_reasons, 0);
	ck_assert_uint_eq(o->discharge_reasons, 0);
	ck_assert(!o->prealarm && !o->alarm && !o->warning);
}

static const struct guard_event *find_ev(enum guard_event_kind k,
					 enum guard_which w, uint32_t reason)
{
	for (size_t i = 0; i < nev; i++)
		if (ev[i].kind == k && ev[i].output == w &&
		    (reason == 0 || ev[i].reason == reason ||
		     ev[i].warning == reason))
			return &ev[i];
	return NULL;
}

static unsigned count_ev(enum guard_event_kind k)
{
	unsigned n = 0;

	for (size_t i = 0; i < nev; i++)
		n += ev[i].kind == k;
	return n;
}

static void low_cell(double v)
{
	in.min_cell_v = v;
}

/* Cells below the cutoff long enough for the lead: ATD open. */
static void cut_low_cell(void)
{
	const struct guard_output *o;

	ready();
	low_cell(2.75);
	after(SEC(1));
	o = run_to(now + SEC(30), SEC(1));
	ck_assert(!o->allow_discharge);
	ck_assert_uint_eq(o->discharge_reasons, R_UV);
}

/* ---- starting ---------------------------------------------------------- */

START_TEST(starting_until_first_data)
{
	const struct guard_output *o;

	setup();
	o = guard_output(&g);
	ck_assert(!o->allow_charge && !o->allow_discharge);
	ck_assert_uint_eq(o->charge_reasons, R_START);
	ck_assert_uint_eq(o->discharge_reasons, R_START);
	in.complete = false;
	in.data_time_us = 0;
	at(T0);
	o = run_to(T0 + SEC(9), MS(500));
	ck_assert(!o->allow_charge && !o->allow_discharge);
	ck_assert_uint_eq(o->charge_reasons, R_START);
	ck_assert_uint_eq(o->discharge_reasons, R_START);
	ck_assert(!o->alarm);
	/* complete but without cell voltages is not a valid reading */
	in.complete = true;
	in.min_cell_v = (double)NAN;
	o = after(MS(100));
	ck_assert_uint_eq(o->charge_reasons, R_START);
	ck_assert_uint_eq(o->discharge_reasons, R_START);
	in = healthy();
	o = after(MS(100));
	ck_assert_uint_eq(o->charge_reasons, 0);
	ck_assert_uint_eq(o->discharge_reasons, 0);
	ck_assert(!o->allow_charge && !o->allow_discharge);
	ck_assert_uint_eq(o->next_wakeup_us, now + SEC(5));
	o = after(SEC(5));
	ck_assert(o->allow_charge && o->allow_discharge);
}
END_TEST

/* A battery that never answers: starting, then comm_loss counted from the
 * first step. */
START_TEST(starting_then_comm_loss_without_any_data)
{
	const struct guard_output *o;

	setup();
	in.complete = false;
	in.data_time_us = 0;
	at(T0);
	o = at(T0 + SEC(10) - 1);
	ck_assert_uint_eq(o->charge_reasons, R_START);
	o = at(T0 + SEC(10));
	ck_assert_uint_eq(o->charge_reasons, R_START | R_COMM);
	ck_assert_uint_eq(o->discharge_reasons, R_START);
	ck_assert(o->alarm);
	o = at(T0 + SEC(120));
	ck_assert_uint_eq(o->discharge_reasons, R_START | R_COMM);
}
END_TEST

/* ---- ATD --------------------------------------------------------------- */

START_TEST(atd_waits_for_30s_prealarm_lead)
{
	const struct guard_output *o;
	const struct guard_event *e;
	uint64_t t1;

	/* the cutoff is reached before the pre-alarm has run at all */
	ready();
	low_cell(2.75);
	t1 = now + SEC(1);
	o = at(t1);
	ck_assert(o->prealarm && o->allow_discharge);
	ck_assert_uint_eq(o->discharge_reasons, 0);
	/* comm loss is always watched: the charge timeout comes first */
	ck_assert_uint_eq(o->next_wakeup_us, t1 + SEC(10));
	set_comm_loss_charge(SEC(60));
	o = at(t1);
	ck_assert_uint_eq(o->next_wakeup_us, t1 + SEC(30));
	o = run_to(t1 + SEC(30) - 1, MS(250));
	ck_assert(o->prealarm && o->allow_discharge);
	o = at(t1 + SEC(30));
	ck_assert(!o->allow_discharge);
	ck_assert_uint_eq(o->discharge_reasons, R_UV);
	ck_assert(o->allow_charge);
	e = find_ev(GUARD_EV_OUTPUT_OFF, GUARD_DISCHARGE, R_UV);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->duration_us, SEC(30));
	ck_assert_double_eq_tol(e->value, 2.75, EPS);
	ck_assert_double_eq_tol(e->limit, 2.80, EPS);

	/* the pre-alarm has already run 20 s when the cutoff comes */
	ready();
	low_cell(3.05);
	t1 = now + SEC(1);
	at(t1);
	run_to(t1 + SEC(20), SEC(1));
	low_cell(2.79);
	o = run_to(t1 + SEC(30) - 1, MS(500));
	ck_assert(o->allow_discharge);
	o = at(t1 + SEC(30));
	ck_assert(!o->allow_discharge);
	ck_assert_uint_eq(o->discharge_reasons, R_UV);
}
END_TEST

START_TEST(atd_low_cell_at_once_when_already_off)
{
	const struct guard_output *o;

	/* first data with a cell below the cutoff: never switched on */
	setup();
	low_cell(2.70);
	o = at(T0);
	ck_assert_uint_eq(o->discharge_reasons, R_UV);
	o = at(T0 + SEC(60));
	ck_assert(!o->allow_discharge);
	ck_assert(o->allow_charge);
	/* Mode Off, the cell sinks, Mode On: no 30 s of load on it */
	ready();
	in.mode_on = false;
	after(SEC(1));
	low_cell(2.70);
	o = after(SEC(1));
	ck_assert_uint_eq(o->discharge_reasons, R_MODE | R_UV);
	in.mode_on = true;
	o = after(SEC(10));
	ck_assert(!o->allow_discharge);
	ck_assert_uint_eq(o->discharge_reasons, R_UV);
}
END_TEST

START_TEST(atd_low_cell_recovers_at_3v20)
{
	const struct guard_output *o;
	const struct guard_event *e;

	cut_low_cell();
	low_cell(3.19);
	o = run_to(now + SEC(600), SEC(10));
	ck_assert(!o->allow_discharge);
	ck_assert_uint_eq(o->discharge_reasons, R_UV);
	low_cell(3.20);
	o = after(SEC(1));
	ck_assert_uint_eq(o->discharge_reasons, 0);
	e = find_ev(GUARD_EV_REASON_END, GUARD_DISCHARGE, R_UV);
	ck_assert_ptr_nonnull(e);
	ck_assert(!e->charging);
	ck_assert_double_eq_tol(e->limit, 3.20, EPS);
	ck_assert(!o->allow_discharge);
	o = after(SEC(5));
	ck_assert(o->allow_discharge);
}
END_TEST

/* Charging brings the load back only when sustained for the detection
 * time AND every cell is above the cutoff + its hysteresis (I2). */
START_TEST(atd_low_cell_recovers_on_charging)
{
	const struct guard_output *o;
	const struct guard_event *e;
	uint64_t t1;

	cut_low_cell();
	low_cell(2.90);
	in.current = 0.5; /* not above the threshold */
	o = run_to(now + SEC(60), SEC(1));
	ck_assert(!o->allow_discharge && !o->charging);
	ck_assert_uint_eq(o->discharge_reasons, R_UV);
	in.current = 0.6;
	t1 = now + SEC(1);
	o = at(t1);
	ck_assert(!o->charging); /* not yet for charge_detect_time */
	ck_assert_uint_eq(o->discharge_reasons, R_UV);
	ck_assert_uint_eq(o->next_wakeup_us, t1 + SEC(10));
	o = run_to(t1 + SEC(10) - 1, MS(500));
	ck_assert(!o->charging);
	ck_assert_uint_eq(o->discharge_reasons, R_UV);
	o = at(t1 + SEC(10));
	ck_assert(o->charging);
	ck_assert_uint_eq(o->discharge_reasons, 0);
	e = find_ev(GUARD_EV_REASON_END, GUARD_DISCHARGE, R_UV);
	ck_assert_ptr_nonnull(e);
	ck_assert(e->charging);
	ck_assert_double_eq_tol(e->value, 0.6, EPS);
	ck_assert_uint_eq(e->duration_us, SEC(10));
	o = after(SEC(5));
	ck_assert(o->allow_discharge);
}
END_TEST

/* Charging onto a cell still below the cutoff + hysteresis: the load
 * stays off however long the charger runs. */
START_TEST(atd_low_cell_charging_needs_the_cells_above_the_cutoff)
{
	const struct guard_output *o;

	cut_low_cell();
	low_cell(2.89);
	in.current = 20;
	o = run_to(now + SEC(600), SEC(1));
	ck_assert(o->charging);
	ck_assert(!o->allow_discharge);
	ck_assert_uint_eq(o->discharge_reasons, R_UV);
	low_cell(2.90);
	o = after(SEC(1));
	ck_assert_uint_eq(o->discharge_reasons, 0);
}
END_TEST

/* The defect 3: a cell held at 2.70 V, the current changing
 * between charging and discharging: the load never comes back. */
START_TEST(atd_low_cell_load_stays_off_whatever_the_current)
{
	const struct guard_output *o;
	static const double currents[] = {1, -9, 1, 25, -9, 0.6, -20, 3};

	cut_low_cell();
	low_cell(2.70);
	for (size_t i = 0; i < sizeof(currents) / sizeof(currents[0]); i++) {
		in.current = currents[i];
		o = run_to(now + SEC(120), SEC(1));
		ck_assert_msg(!o->allow_discharge, "current %g", currents[i]);
		ck_assert_uint_eq(o->discharge_reasons, R_UV);
	}
}
END_TEST

/* I2: whatever kept the load off, it never comes back onto a cell below
 * the cutoff + its hysteresis (here Mode Off while the cell sank to
 * 2.85 V: not below the cutoff, but not above it enough either). */
START_TEST(atd_never_reconnects_below_cutoff_plus_hysteresis)
{
	const struct guard_output *o;
	const struct guard_event *e;

	ready();
	in.mode_on = false;
	after(SEC(1));
	low_cell(2.85);
	o = after(SEC(1));
	ck_assert_uint_eq(o->discharge_reasons, R_MODE | R_UV);
	e = find_ev(GUARD_EV_REASON_START, GUARD_DISCHARGE, R_UV);
	ck_assert_ptr_nonnull(e);
	ck_assert_double_eq_tol(e->limit, 2.90, EPS);
	in.mode_on = true;
	o = run_to(now + SEC(60), SEC(1));
	ck_assert(!o->allow_discharge);
	ck_assert_uint_eq(o->discharge_reasons, R_UV);
	/* with the load on, 2.85 V is only a pre-alarm */
	ready();
	low_cell(2.85);
	o = run_to(now + SEC(120), SEC(1));
	ck_assert(o->allow_discharge && o->prealarm);
}
END_TEST

/* The cutoff applies while charging too: its recovery needs the cells
 * above it, so it cannot chatter. */
START_TEST(atd_low_cell_applies_while_charging)
{
	const struct guard_output *o;
	uint64_t t1;

	ready();
	low_cell(2.75);
	in.current = 3.0;
	t1 = now + SEC(1);
	o = at(t1);
	ck_assert(o->allow_discharge && o->prealarm);
	o = run_to(t1 + SEC(30) - 1, SEC(1));
	ck_assert(o->allow_discharge && o->charging);
	o = at(t1 + SEC(30));
	ck_assert(!o->allow_discharge);
	ck_assert_uint_eq(o->discharge_reasons, R_UV);
}
END_TEST

/* I7: the hard cutoff opens ATD within the step that shows the cell, no
 * lead; it recovers like the low-cell rule; 0 switches it off. */
START_TEST(atd_hard_cutoff_at_once)
{
	const struct guard_output *o;
	const struct guard_event *e;
	struct guard_settings s;

	ready();
	low_cell(2.49);
	in.current = -100;
	o = after(MS(100));
	ck_assert(!o->allow_discharge);
	ck_assert_uint_eq(o->discharge_reasons, R_HARD | R_UV);
	ck_assert(o->allow_charge);
	e = find_ev(GUARD_EV_OUTPUT_OFF, GUARD_DISCHARGE, 0);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->reason, R_HARD);
	ck_assert_double_eq_tol(e->value, 2.49, EPS);
	ck_assert_double_eq_tol(e->limit, 2.50, EPS);
	/* just above: the ordinary rule, with its lead */
	ready();
	low_cell(2.50);
	o = after(MS(100));
	ck_assert(o->allow_discharge && o->prealarm);
	ck_assert_uint_eq(o->discharge_reasons, 0);
	/* recovery as for the low cell: charging alone is not enough */
	ready();
	low_cell(2.40);
	after(SEC(1));
	in.current = 5;
	low_cell(2.85);
	o = run_to(now + SEC(60), SEC(1));
	ck_assert_uint_eq(o->discharge_reasons, R_HARD | R_UV);
	low_cell(3.20);
	in.current = 0;
	o = after(SEC(1));
	ck_assert_uint_eq(o->discharge_reasons, 0);
	/* switched off: only the ordinary rule */
	guard_settings_default(&s);
	s.cell_undervoltage_hard = 0;
	s.discharge_floor = s.low_soc_warning = 0;
	setup_with(&s);
	at(T0);
	at(T0 + SEC(5));
	low_cell(2.0);
	o = after(SEC(1));
	ck_assert(o->allow_discharge);
	ck_assert_uint_eq(o->discharge_reasons, 0);
}
END_TEST

START_TEST(atd_discharge_floor_with_hysteresis)
{
	const struct guard_output *o;
	const struct guard_event *e;

	ready();
	in.soc_valid = true;
	set_floor(20);
	in.soc = 20.1;
	o = after(SEC(1));
	ck_assert(o->allow_discharge);
	in.soc = 20.0;
	o = after(SEC(1));
	ck_assert(!o->allow_discharge && o->allow_charge);
	ck_assert_uint_eq(o->discharge_reasons, R_FLOOR);
	e = find_ev(GUARD_EV_OUTPUT_OFF, GUARD_DISCHARGE, R_FLOOR);
	ck_assert_ptr_nonnull(e);
	ck_assert_double_eq_tol(e->value, 20.0, EPS);
	ck_assert_double_eq_tol(e->limit, 20.0, EPS);
	in.soc = 22.9;
	o = after(SEC(30));
	ck_assert_uint_eq(o->discharge_reasons, R_FLOOR);
	in.soc = 23.0; /* floor + 3 %: must be above */
	o = after(SEC(30));
	ck_assert_uint_eq(o->discharge_reasons, R_FLOOR);
	/* an unknown SoC decides nothing */
	in.soc_valid = false;
	in.soc = 50;
	o = after(SEC(30));
	ck_assert_uint_eq(o->discharge_reasons, R_FLOOR);
	in.soc_valid = true;
	in.soc = 23.1;
	o = after(SEC(1));
	ck_assert_uint_eq(o->discharge_reasons, 0);
	o = after(SEC(5));
	ck_assert(o->allow_discharge);
}
END_TEST

START_TEST(atd_floor_zero_disables)
{
	const struct guard_output *o;

	ready();
	in.soc_valid = true;
	in.soc = 0;
	set_floor(0);
	o = after(SEC(60));
	ck_assert(o->allow_discharge);
	ck_assert_uint_eq(o->discharge_reasons, 0);
	/* switching the feature off ends an active floor at once */
	in.soc = 5;
	set_floor(10);
	o = after(SEC(1));
	ck_assert_uint_eq(o->discharge_reasons, R_FLOOR);
	set_floor(0);
	o = after(SEC(1));
	ck_assert_uint_eq(o->discharge_reasons, 0);
	o = after(SEC(5));
	ck_assert(o->allow_discharge);
}
END_TEST

START_TEST(atd_battery_discharge_protection)
{
	const struct guard_output *o;
	const struct guard_event *e;

	ready();
	in.discharge_protection = BMS_PROT_CELL_UV;
	in.discharge_protection_battery = 3;
	o = after(SEC(1));
	ck_assert(!o->allow_discharge && o->allow_charge);
	ck_assert_uint_eq(o->discharge_reasons, R_BATT);
	ck_assert_uint_eq(o->charge_reasons, 0);
	ck_assert(o->alarm);
	e = find_ev(GUARD_EV_OUTPUT_OFF, GUARD_DISCHARGE, R_BATT);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->battery, 3);
	ck_assert_uint_eq(e->protection, BMS_PROT_CELL_UV);
	in.discharge_protection = 0;
	in.discharge_fet_off = true; /* a FET off alone is enough */
	o = after(SEC(10));
	ck_assert_uint_eq(o->discharge_reasons, R_BATT);
	in.discharge_fet_off = false;
	o = after(SEC(1));
	ck_assert_uint_eq(o->discharge_reasons, 0);
	o = after(SEC(5));
	ck_assert(o->allow_discharge);
}
END_TEST

/* ---- ATC --------------------------------------------------------------- */

START_TEST(atc_high_cell_and_recovery)
{
	const struct guard_output *o;
	const struct guard_event *e;

	ready();
	in.max_cell_v = 3.749;
	o = after(SEC(1));
	ck_assert(o->allow_charge);
	in.max_cell_v = 3.75;
	o = after(SEC(1));
	ck_assert(!o->allow_charge && o->allow_discharge);
	ck_assert_uint_eq(o->charge_reasons, R_OV);
	e = find_ev(GUARD_EV_OUTPUT_OFF, GUARD_CHARGE, R_OV);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->battery, 1);
	ck_assert_uint_eq(e->cell, 4);
	in.max_cell_v = 3.56;
	o = after(SEC(60));
	ck_assert_uint_eq(o->charge_reasons, R_OV);
	in.max_cell_v = 3.55;
	o = after(SEC(1));
	ck_assert_uint_eq(o->charge_reasons, 0);
	o = after(SEC(5));
	ck_assert(o->allow_charge);
}
END_TEST

START_TEST(atc_low_temperature)
{
	const struct guard_output *o;
	const struct guard_event *e;

	ready();
	in.min_temp = 5.0;
	o = after(SEC(1));
	ck_assert(o->allow_charge);
	in.min_temp = 4.9;
	o = after(SEC(1));
	ck_assert(!o->allow_charge && o->allow_discharge);
	ck_assert_uint_eq(o->charge_reasons, R_LOWT);
	e = find_ev(GUARD_EV_REASON_START, GUARD_CHARGE, R_LOWT);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->battery, 3);
	ck_assert_uint_eq(e->cell, 2);
	ck_assert_double_eq_tol(e->value, 4.9, EPS);
	in.min_temp = 6.9;
	o = after(SEC(60));
	ck_assert_uint_eq(o->charge_reasons, R_LOWT);
	in.min_temp = 7.0;
	o = after(SEC(1));
	ck_assert_uint_eq(o->charge_reasons, 0);
	o = after(SEC(5));
	ck_assert(o->allow_charge);
}
END_TEST

START_TEST(atc_high_temperature)
{
	const struct guard_output *o;

	ready();
	in.max_temp = 50.0;
	o = after(SEC(1));
	ck_assert(o->allow_charge);
	in.max_temp = 50.1;
	o = after(SEC(1));
	ck_assert(!o->allow_charge && o->allow_discharge);
	ck_assert_uint_eq(o->charge_reasons, R_HIGHT);
	in.max_temp = 48.1;
	o = after(SEC(60));
	ck_assert_uint_eq(o->charge_reasons, R_HIGHT);
	in.max_temp = 48.0;
	o = after(SEC(1));
	ck_assert_uint_eq(o->charge_reasons, 0);
	o = after(SEC(5));
	ck_assert(o->allow_charge);
}
END_TEST

START_TEST(atc_battery_charge_protection)
{
	const struct guard_output *o;

	ready();
	in.charge_protection = BMS_PROT_CHG_OT;
	in.charge_protection_battery = 2;
	o = after(SEC(1));
	ck_assert(!o->allow_charge && o->allow_discharge);
	ck_assert_uint_eq(o->charge_reasons, R_BATT);
	ck_assert_uint_eq(o->discharge_reasons, 0);
	in.charge_protection = 0;
	in.charge_fet_off = true;
	o = after(SEC(10));
	ck_assert_uint_eq(o->charge_reasons, R_BATT);
	in.charge_fet_off = false;
	o = after(SEC(1));
	ck_assert_uint_eq(o->charge_reasons, 0);
	o = after(SEC(5));
	ck_assert(o->allow_charge);
}
END_TEST

/* ---- data loss --------------------------------------------------------- */

/* Data stops after `last`; the step right after says so. */
static void lose_data(uint64_t *last)
{
	ready();
	*last = now;
	in.complete = false;
	in.data_time_us = *last;
}

START_TEST(comm_loss_charge_after_10s)
{
	const struct guard_output *o;
	const struct guard_event *e;
	uint64_t last;

	lose_data(&last);
	o = after(SEC(1));
	ck_assert_uint_eq(o->next_wakeup_us, last + SEC(10));
	o = run_to(last + SEC(10) - 1, MS(500));
	ck_assert(o->allow_charge && o->allow_discharge);
	o = at(last + SEC(10));
	ck_assert(!o->allow_charge && o->allow_discharge);
	ck_assert_uint_eq(o->charge_reasons, R_COMM);
	ck_assert(o->alarm);
	e = find_ev(GUARD_EV_OUTPUT_OFF, GUARD_CHARGE, R_COMM);
	ck_assert_ptr_nonnull(e);
	ck_assert_double_eq_tol(e->value, 10, EPS);
	ck_assert_uint_eq(o->next_wakeup_us, last + SEC(120));
	/* data back: the reason ends at once, the output after the delay */
	in.complete = true;
	o = after(SEC(1));
	ck_assert_uint_eq(o->charge_reasons, 0);
	o = after(SEC(5));
	ck_assert(o->allow_charge);
}
END_TEST

START_TEST(comm_loss_load_after_120s)
{
	const struct guard_output *o;
	uint64_t last;

	lose_data(&last);
	o = run_to(last + SEC(120) - 1, SEC(1));
	ck_assert(o->allow_discharge && !o->allow_charge);
	ck_assert_uint_eq(o->discharge_reasons, 0);
	o = at(last + SEC(120));
	ck_assert(!o->allow_discharge);
	ck_assert_uint_eq(o->discharge_reasons, R_COMM);
	ck_assert_uint_eq(o->charge_reasons, R_COMM);
	in.complete = true;
	o = after(SEC(1));
	ck_assert_uint_eq(o->discharge_reasons, 0);
	ck_assert_uint_eq(o->charge_reasons, 0);
	o = after(SEC(5));
	ck_assert(o->allow_discharge && o->allow_charge);
}
END_TEST

/* I1: the values of the batteries that are fresh act at once, however
 * few they are (complete false: another battery is silent). */
START_TEST(partial_data_restricts_at_once)
{
	const struct guard_output *o;
	uint64_t last;

	lose_data(&last);
	in.min_cell_v = 2.40; /* below the hard cutoff */
	o = after(MS(100));
	ck_assert(!o->allow_discharge);
	ck_assert_uint_eq(o->discharge_reasons, R_HARD | R_UV);
	lose_data(&last);
	in.max_cell_v = 3.80;
	o = after(MS(100));
	ck_assert(!o->allow_charge && o->allow_discharge);
	ck_assert_uint_eq(o->charge_reasons, R_OV);
	lose_data(&last);
	in.min_temp = -1;
	o = after(MS(100));
	ck_assert_uint_eq(o->charge_reasons, R_LOWT);
	lose_data(&last);
	in.discharge_protection = BMS_PROT_CELL_UV;
	in.discharge_protection_battery = 1;
	o = after(MS(100));
	ck_assert(!o->allow_discharge && o->allow_charge);
	ck_assert_uint_eq(o->discharge_reasons, R_BATT);
	lose_data(&last);
	in.discharge_fet_off = true;
	o = after(MS(100));
	ck_assert_uint_eq(o->discharge_reasons, R_BATT);
	lose_data(&last);
	in.no_temp_battery = 1;
	o = after(MS(100));
	ck_assert_uint_eq(o->charge_reasons, R_NOT);
	/* a low cell on partial data starts the pre-alarm and the lead */
	lose_data(&last);
	in.min_cell_v = 2.70;
	set_comm_loss_charge(SEC(60));
	o = after(MS(100));
	ck_assert(o->prealarm && o->allow_discharge);
	o = run_to(last + SEC(30), MS(500));
	ck_assert(o->prealarm && o->allow_discharge);
	o = run_to(last + SEC(31), MS(100));
	ck_assert(!o->allow_discharge);
	ck_assert_uint_eq(o->discharge_reasons, R_UV);
}
END_TEST

/* ... but never end a reason or switch an output back on. */
START_TEST(partial_data_never_allows)
{
	const struct guard_output *o;

	ready();
	in.max_cell_v = 3.80;
	after(SEC(1));
	in.complete = false;
	in.max_cell_v = 3.30;
	o = after(SEC(5));
	ck_assert_uint_eq(o->charge_reasons, R_OV);
	in.complete = true;
	o = after(SEC(1));
	ck_assert_uint_eq(o->charge_reasons, 0);
	/* Mode On with a battery silent: nothing against it, but nothing
	 * comes back until every battery is there again */
	ready();
	in.mode_on = false;
	after(SEC(1));
	in.complete = false;
	in.mode_on = true;
	o = run_to(now + SEC(9), SEC(1));
	ck_assert_uint_eq(o->discharge_reasons, 0);
	ck_assert(!o->allow_discharge);
	in.complete = true;
	o = after(SEC(1));
	ck_assert(!o->allow_discharge); /* the restore delay counts now */
	o = after(SEC(5));
	ck_assert(o->allow_discharge && o->allow_charge);
	/* no charging without the bank current of every battery */
	ready();
	cut_low_cell();
	low_cell(3.0);
	in.current = 50;
	in.complete = false;
	o = run_to(now + SEC(60), SEC(1));
	ck_assert(!o->charging);
}
END_TEST

/* I6: comm loss counts from the oldest battery's last good reading, even
 * while the batteries still count as fresh (a long stale_after). */
START_TEST(comm_loss_counts_from_the_last_good_reading)
{
	const struct guard_output *o;
	uint64_t last;

	ready();
	last = now;
	in.data_time_us = last;
	o = guard_output(&g);
	for (uint64_t t = now + SEC(1); t < last + SEC(10); t += SEC(1)) {
		now = t;
		guard_step(&g, &in, t, ev, GUARD_MAX_EVENTS, &nev);
	}
	ck_assert(o->allow_charge);
	now = last + SEC(10);
	guard_step(&g, &in, now, ev, GUARD_MAX_EVENTS, &nev);
	ck_assert(!o->allow_charge);
	ck_assert_uint_eq(o->charge_reasons, R_COMM);
}
END_TEST

/* I4: a battery without temperature blocks charging until every battery
 * reports one; discharging is not its business. */
START_TEST(atc_no_temperature)
{
	const struct guard_output *o;
	const struct guard_event *e;

	ready();
	in.no_temp_battery = 2;
	in.have_temps = false;
	in.min_temp = in.max_temp = (double)NAN;
	o = after(SEC(1));
	ck_assert(!o->allow_charge && o->allow_discharge);
	ck_assert_uint_eq(o->charge_reasons, R_NOT);
	ck_assert(o->alarm);
	e = find_ev(GUARD_EV_REASON_START, GUARD_CHARGE, R_NOT);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->battery, 2);
	/* from the start, too */
	setup();
	in.no_temp_battery = 1;
	at(T0);
	o = at(T0 + SEC(30));
	ck_assert(!o->allow_charge && o->allow_discharge);
	ck_assert_uint_eq(o->charge_reasons, R_NOT);
	/* an opted-out port: the daemon leaves no_temp_battery 0 */
	in.no_temp_battery = 0;
	o = after(SEC(1));
	ck_assert_uint_eq(o->charge_reasons, 0);
	o = after(SEC(5));
	ck_assert(o->allow_charge);
}
END_TEST

/* I2: at most max_cycles_per_hour protective turn-offs an hour; then the
 * output stays off until the oldest is an hour old. */
START_TEST(cycle_limit_per_hour)
{
	const struct guard_output *o;
	uint64_t first = 0;

	ready();
	for (unsigned i = 0; i < 10; i++) {
		in.charge_protection = BMS_PROT_CELL_OV;
		o = after(SEC(1));
		ck_assert(!o->allow_charge);
		if (i == 0)
			first = now;
		in.charge_protection = 0;
		o = after(SEC(1));
		if (i < 9) {
			ck_assert_uint_eq(o->charge_reasons, 0);
			o = after(SEC(5));
			ck_assert_msg(o->allow_charge, "cycle %u", i);
		}
	}
	ck_assert(!o->allow_charge);
	ck_assert_uint_eq(o->charge_reasons, R_CYCLE);
	ck_assert(o->alarm);
	ck_assert_uint_le(o->next_wakeup_us, first + GUARD_HOUR_US);
	/* Mode and remote turn-offs are the user's: they do not count */
	ck_assert(o->allow_discharge);
	o = at(first + GUARD_HOUR_US - 1);
	ck_assert_uint_eq(o->charge_reasons, R_CYCLE);
	o = at(first + GUARD_HOUR_US);
	ck_assert_uint_eq(o->charge_reasons, 0);
	o = after(SEC(5));
	ck_assert(o->allow_charge);
	/* the user's own switching never counts */
	ready();
	for (unsigned i = 0; i < 30; i++) {
		in.mode_on = false;
		after(SEC(1));
		in.mode_on = true;
		after(SEC(1));
		o = after(SEC(5));
		ck_assert(o->allow_charge && o->allow_discharge);
	}
}
END_TEST

/* ---- mode and remote --------------------------------------------------- */

static void everything_off_by(bool *flag, uint32_t reason)
{
	const struct guard_output *o;

	ready();
	low_cell(3.05);
	o = after(SEC(1));
	ck_assert(o->prealarm && o->prealarm_line);
	*flag = false;
	o = after(SEC(1));
	ck_assert(!o->allow_charge && !o->allow_discharge);
	ck_assert(!o->prealarm && !o->prealarm_line);
	ck_assert_uint_eq(o->charge_reasons, reason);
	ck_assert_uint_eq(o->discharge_reasons, reason);
	ck_assert(!o->alarm);
	ck_assert_ptr_nonnull(
		find_ev(GUARD_EV_PREALARM_OFF, GUARD_PREALARM, 0));
	o = after(SEC(60));
	ck_assert(!o->allow_charge && !o->allow_discharge && !o->prealarm);
	*flag = true;
	o = after(SEC(1));
	ck_assert_uint_eq(o->charge_reasons, 0);
	ck_assert(!o->allow_charge && !o->prealarm);
	o = after(SEC(5));
	ck_assert(o->allow_charge && o->allow_discharge && o->prealarm);
}

START_TEST(mode_off_everything_off)
{
	everything_off_by(&in.mode_on, R_MODE);
}
END_TEST

START_TEST(remote_off_everything_off)
{
	everything_off_by(&in.remote_on, R_REM);
}
END_TEST

/* ---- pre-alarm --------------------------------------------------------- */

START_TEST(prealarm_low_cell_with_hysteresis)
{
	const struct guard_output *o;
	const struct guard_event *e;

	ready();
	low_cell(3.10);
	o = after(SEC(1));
	ck_assert(!o->prealarm);
	low_cell(3.099);
	o = after(SEC(1));
	ck_assert(o->prealarm && o->prealarm_line && o->warning);
	ck_assert_uint_eq(o->warnings, GUARD_W_LOW_CELL);
	e = find_ev(GUARD_EV_PREALARM_ON, GUARD_PREALARM, GUARD_W_LOW_CELL);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->battery, 2);
	ck_assert_uint_eq(e->cell, 3);
	low_cell(3.149);
	o = after(SEC(60));
	ck_assert(o->prealarm);
	low_cell(3.15);
	o = after(SEC(1));
	ck_assert(!o->prealarm && !o->warning);
	ck_assert_uint_eq(o->warnings, 0);
	ck_assert(o->allow_discharge);
}
END_TEST

START_TEST(prealarm_low_soc)
{
	const struct guard_output *o;

	ready();
	in.soc_valid = true;
	set_soc_warning(20);
	in.soc = 20.5;
	o = after(SEC(1));
	ck_assert(!o->prealarm);
	in.soc = 20.0;
	o = after(SEC(1));
	ck_assert(o->prealarm && o->warning);
	ck_assert_uint_eq(o->warnings, GUARD_W_LOW_SOC);
	ck_assert(o->allow_discharge);
	in.soc = 21.0; /* warning + 1 %: must be above */
	o = after(SEC(10));
	ck_assert(o->prealarm);
	in.soc = 21.1;
	o = after(SEC(1));
	ck_assert(!o->prealarm && !o->warning);
	/* 0 = off */
	set_soc_warning(0);
	in.soc = 0;
	o = after(SEC(1));
	ck_assert(!o->prealarm);
	ck_assert_uint_eq(o->warnings, 0);
}
END_TEST

START_TEST(prealarm_off_when_atd_opens)
{
	const struct guard_output *o;
	const struct guard_event *e;

	/* ATD opens on the floor while the pre-alarm is on for a low cell */
	ready();
	low_cell(3.05);
	o = after(SEC(1));
	ck_assert(o->prealarm);
	in.soc_valid = true;
	in.soc = 9;
	set_floor(10);
	o = after(SEC(1));
	ck_assert(!o->allow_discharge);
	ck_assert(!o->prealarm && !o->prealarm_line);
	ck_assert_uint_eq(o->warnings, GUARD_W_LOW_CELL);
	e = find_ev(GUARD_EV_PREALARM_OFF, GUARD_PREALARM, 0);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->reasons, R_FLOOR);
	/* ... and on the low cell itself */
	cut_low_cell();
	o = guard_output(&g);
	ck_assert(!o->prealarm);
	ck_assert_ptr_nonnull(
		find_ev(GUARD_EV_PREALARM_OFF, GUARD_PREALARM, 0));
}
END_TEST

START_TEST(prealarm_intermittent_blinks)
{
	struct guard_settings s;
	const struct guard_output *o;
	uint64_t t1;

	guard_settings_default(&s);
	s.prealarm_mode = GUARD_PREALARM_INTERMITTENT;
	s.prealarm_on_us = SEC(1);
	s.prealarm_off_us = SEC(2);
	setup_with(&s);
	at(T0);
	at(T0 + SEC(5));
	low_cell(3.05);
	t1 = T0 + SEC(6);
	o = at(t1);
	ck_assert(o->prealarm && o->prealarm_line);
	ck_assert_uint_eq(o->next_wakeup_us, t1 + SEC(1));
	o = at(t1 + SEC(1) - 1);
	ck_assert(o->prealarm && o->prealarm_line);
	o = at(t1 + SEC(1));
	ck_assert(o->prealarm && !o->prealarm_line);
	ck_assert_uint_eq(o->next_wakeup_us, t1 + SEC(3));
	o = at(t1 + SEC(3) - 1);
	ck_assert(!o->prealarm_line);
	o = at(t1 + SEC(3));
	ck_assert(o->prealarm_line);
	ck_assert_uint_eq(o->next_wakeup_us, t1 + SEC(4));
	o = at(t1 + SEC(4) + MS(500));
	ck_assert(!o->prealarm_line);
	/* continuous: the line just follows, nothing to wake up for but
	 * the comm-loss watch */
	ready();
	low_cell(3.05);
	o = after(SEC(1));
	ck_assert(o->prealarm_line);
	ck_assert_uint_eq(o->next_wakeup_us, now + SEC(10));
}
END_TEST

/* ---- no chatter -------------------------------------------------------- */

START_TEST(no_chatter_restore_delay)
{
	const struct guard_output *o;
	uint64_t t1;

	ready();
	in.max_cell_v = 3.80;
	after(SEC(1));
	in.max_cell_v = 3.50;
	t1 = now + SEC(1);
	o = at(t1);
	ck_assert_uint_eq(o->charge_reasons, 0);
	ck_assert_uint_eq(o->next_wakeup_us, t1 + SEC(5));
	o = at(t1 + SEC(5) - 1);
	ck_assert(!o->allow_charge);
	/* the reason comes back: the minimum off time starts again */
	in.max_cell_v = 3.80;
	o = at(t1 + SEC(5) - 1 + MS(1));
	ck_assert_uint_eq(o->charge_reasons, R_OV);
	in.max_cell_v = 3.50;
	t1 = now + SEC(1);
	o = at(t1);
	ck_assert_uint_eq(o->charge_reasons, 0);
	o = run_to(t1 + SEC(5) - 1, SEC(1));
	ck_assert(!o->allow_charge);
	o = at(t1 + SEC(5));
	ck_assert(o->allow_charge);
	/* there is no minimum on time: protection is immediate */
	in.max_cell_v = 3.80;
	o = after(1);
	ck_assert(!o->allow_charge);
}
END_TEST

START_TEST(no_chatter_hysteresis)
{
	const struct guard_output *o;
	unsigned offs = 0, ons = 0, pre = 0;

	ready();
	for (unsigned i = 0; i < 40; i++) {
		bool up = i % 2;
		in.max_cell_v = up ? 3.76 : 3.70;
		in.min_temp = up ? 4.9 : 6.5;
		in.max_temp = up ? 50.5 : 48.5;
		in.min_cell_v = up ? 3.09 : 3.14;
		o = after(SEC(3));
		offs += count_ev(GUARD_EV_OUTPUT_OFF);
		ons += count_ev(GUARD_EV_OUTPUT_ON);
		pre += count_ev(GUARD_EV_PREALARM_ON) +
		       count_ev(GUARD_EV_PREALARM_OFF);
	}
	ck_assert(!o->allow_charge && o->allow_discharge && o->prealarm);
	ck_assert_uint_eq(o->charge_reasons, R_OV | R_LOWT | R_HIGHT);
	ck_assert_uint_eq(offs, 1);
	ck_assert_uint_eq(ons, 0);
	ck_assert_uint_eq(pre, 1);
}
END_TEST

/* ---- events ------------------------------------------------------------ */

static void expect_ev(size_t i, enum guard_event_kind k, enum guard_which w,
		      uint32_t reason)
{
	ck_assert_uint_gt(nev, i);
	ck_assert_msg(
		ev[i].kind == k && ev[i].output == w &&
			(ev[i].reason == reason || ev[i].warning == reason),
		"event %zu: %s %s %u/%u, expected %s %s %u", i,
		guard_event_kind_name(ev[i].kind),
		guard_which_name(ev[i].output), ev[i].reason, ev[i].warning,
		guard_event_kind_name(k), guard_which_name(w), reason);
}

START_TEST(events_for_every_transition)
{
	const struct guard_event *e;

	setup();
	at(T0);
	ck_assert_uint_eq(nev, 2);
	expect_ev(0, GUARD_EV_REASON_END, GUARD_CHARGE, R_START);
	expect_ev(1, GUARD_EV_REASON_END, GUARD_DISCHARGE, R_START);
	at(T0 + SEC(5));
	ck_assert_uint_eq(nev, 2);
	expect_ev(0, GUARD_EV_OUTPUT_ON, GUARD_CHARGE, 0);
	expect_ev(1, GUARD_EV_OUTPUT_ON, GUARD_DISCHARGE, 0);
	ck_assert_uint_eq(ev[0].duration_us, SEC(5));
	/* a quiet step says nothing */
	after(SEC(1));
	ck_assert_uint_eq(nev, 0);
	/* the cell falls below the pre-alarm level */
	low_cell(2.79);
	after(SEC(1));
	ck_assert_uint_eq(nev, 2);
	expect_ev(0, GUARD_EV_WARNING_START, GUARD_PREALARM, GUARD_W_LOW_CELL);
	expect_ev(1, GUARD_EV_PREALARM_ON, GUARD_PREALARM, GUARD_W_LOW_CELL);
	ck_assert_double_eq_tol(ev[1].value, 2.79, EPS);
	ck_assert_double_eq_tol(ev[1].limit, 3.10, EPS);
	/* 30 s later: the load is disconnected */
	after(SEC(30));
	ck_assert_uint_eq(nev, 3);
	expect_ev(0, GUARD_EV_REASON_START, GUARD_DISCHARGE, R_UV);
	expect_ev(1, GUARD_EV_OUTPUT_OFF, GUARD_DISCHARGE, R_UV);
	expect_ev(2, GUARD_EV_PREALARM_OFF, GUARD_PREALARM, R_UV);
	e = &ev[1];
	ck_assert_uint_eq(e->battery, 2);
	ck_assert_uint_eq(e->cell, 3);
	ck_assert_uint_eq(e->duration_us, SEC(30));
	ck_assert_uint_eq(e->reasons, R_UV);
	ck_assert_uint_eq(e->time_us, now);
	/* cold and Mode Off at once: every start, then the outputs */
	in.min_temp = 0;
	in.mode_on = false;
	after(SEC(1));
	ck_assert_uint_eq(nev, 4);
	expect_ev(0, GUARD_EV_REASON_START, GUARD_CHARGE, R_MODE);
	expect_ev(1, GUARD_EV_REASON_START, GUARD_CHARGE, R_LOWT);
	expect_ev(2, GUARD_EV_OUTPUT_OFF, GUARD_CHARGE, R_MODE);
	expect_ev(3, GUARD_EV_REASON_START, GUARD_DISCHARGE, R_MODE);
	ck_assert_uint_eq(ev[2].reasons, R_MODE | R_LOWT);
	/* everything recovers */
	in = healthy();
	after(SEC(1));
	ck_assert_uint_eq(nev, 5);
	expect_ev(0, GUARD_EV_WARNING_END, GUARD_PREALARM, GUARD_W_LOW_CELL);
	expect_ev(1, GUARD_EV_REASON_END, GUARD_CHARGE, R_MODE);
	expect_ev(2, GUARD_EV_REASON_END, GUARD_CHARGE, R_LOWT);
	expect_ev(3, GUARD_EV_REASON_END, GUARD_DISCHARGE, R_MODE);
	expect_ev(4, GUARD_EV_REASON_END, GUARD_DISCHARGE, R_UV);
	after(SEC(5));
	ck_assert_uint_eq(nev, 2);
	expect_ev(0, GUARD_EV_OUTPUT_ON, GUARD_CHARGE, 0);
	expect_ev(1, GUARD_EV_OUTPUT_ON, GUARD_DISCHARGE, 0);
}
END_TEST

/* A caller with a small buffer gets what fits, never an overrun. */
START_TEST(events_bounded_by_max)
{
	struct guard_event small[2];
	size_t n = 99;

	setup();
	in.min_cell_v = 2.0;
	in.max_cell_v = 3.9;
	in.min_temp = -5;
	in.charge_protection = BMS_PROT_CHG_UT;
	in.discharge_protection = BMS_PROT_CELL_UV;
	in.mode_on = in.remote_on = false;
	guard_step(&g, &in, T0, small, 2, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert(small[0].kind == GUARD_EV_WARNING_START);
	guard_step(&g, &in, T0 + 1, NULL, 0, &n);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(reasons_tokens)
{
	static const char *const tokens[GUARD_REASON_COUNT] = {
		"starting",
		"mode_off",
		"remote_off",
		"comm_loss",
		"cell_undervoltage",
		"discharge_floor",
		"battery_protection",
		"cell_overvoltage",
		"low_temperature",
		"high_temperature",
		"cell_undervoltage_hard",
		"no_temperature",
		"cycle_limit",
	};
	char buf[256];

	for (unsigned i = 0; i < GUARD_REASON_COUNT; i++) {
		ck_assert_str_eq(guard_reason_name(1u << i), tokens[i]);
		ck_assert_ptr_nonnull(guard_reason_text(1u << i));
	}
	ck_assert_ptr_null(guard_reason_name(1u << GUARD_REASON_COUNT));
	ck_assert_ptr_null(guard_reason_name(3));
	ck_assert_ptr_null(guard_reason_name(0));
	ck_assert_str_eq(guard_warning_name(GUARD_W_LOW_CELL), "low_cell");
	ck_assert_str_eq(guard_warning_name(GUARD_W_LOW_SOC), "low_soc");
	ck_assert_ptr_null(guard_warning_name(4));
	ck_assert_str_eq(guard_which_name(GUARD_CHARGE), "charge");
	ck_assert_str_eq(guard_which_name(GUARD_DISCHARGE), "discharge");
	ck_assert_str_eq(guard_which_name(GUARD_PREALARM), "prealarm");
	ck_assert_str_eq(guard_event_kind_name(GUARD_EV_OUTPUT_OFF),
			 "output_off");
	ck_assert_str_eq(guard_event_kind_name(GUARD_EV_WARNING_END),
			 "warning_end");
	ck_assert_ptr_null(guard_event_kind_name(GUARD_EV_KIND_COUNT));
	ck_assert_int_eq(guard_prealarm_mode_parse("intermittent"),
			 GUARD_PREALARM_INTERMITTENT);
	ck_assert_int_eq(guard_prealarm_mode_parse("continuous"),
			 GUARD_PREALARM_CONTINUOUS);
	ck_assert_int_eq(guard_prealarm_mode_parse("blink"), -1);
	ck_assert_str_eq(guard_prealarm_mode_name(GUARD_PREALARM_INTERMITTENT),
			 "intermittent");

	ck_assert_int_eq(guard_reasons_format(0, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(guard_reasons_format(R_MODE | R_COMM | R_HIGHT, buf,
					      sizeof(buf)),
			 35);
	ck_assert_str_eq(buf, "mode_off,comm_loss,high_temperature");
	/* truncation: what fits, NUL-terminated, the full length returned */
	ck_assert_int_eq(guard_reasons_format(R_MODE | R_COMM, buf, 6), 18);
	ck_assert_str_eq(buf, "mode_");
}
END_TEST

START_TEST(alarm_and_warning_flags)
{
	const struct guard_output *o;

	ready();
	in.soc_valid = true;
	set_soc_warning(30);
	in.soc = 25;
	set_floor(26);
	o = after(SEC(1));
	/* ATD open on the floor: pre-alarm off, the low-SoC warning stays */
	ck_assert(!o->allow_discharge && !o->prealarm);
	ck_assert(o->alarm && o->warning);
	ck_assert_uint_eq(o->warnings, GUARD_W_LOW_SOC);
	set_floor(0);
	in.remote_on = false;
	o = after(SEC(1));
	ck_assert(!o->alarm && o->warning);
}
END_TEST

START_TEST(settings_defaults_and_check)
{
	struct guard_settings s;
	char err[160] = "";

	guard_settings_default(&s);
	ck_assert_double_eq_tol(s.cell_undervoltage, 2.80, EPS);
	ck_assert_double_eq_tol(s.cell_recover, 3.20, EPS);
	ck_assert_double_eq_tol(s.prealarm_cell, 3.10, EPS);
	ck_assert_double_eq_tol(s.cell_overvoltage, 3.75, EPS);
	ck_assert_double_eq_tol(s.cell_overvoltage_recover, 3.55, EPS);
	ck_assert_double_eq_tol(s.charge_temp_low, 5, EPS);
	ck_assert_double_eq_tol(s.charge_temp_high, 50, EPS);
	ck_assert_uint_eq(s.prealarm_lead_us, SEC(30));
	ck_assert_uint_eq(s.comm_loss_charge_us, SEC(10));
	ck_assert_uint_eq(s.comm_loss_load_us, SEC(120));
	ck_assert_uint_eq(s.restore_delay_us, SEC(5));
	ck_assert_int_eq(guard_settings_check(&s, err, sizeof(err)), 0);

	ck_assert_double_eq_tol(s.cell_undervoltage_hard, 2.50, EPS);
	ck_assert_double_eq_tol(s.undervoltage_hysteresis, 0.10, EPS);
	ck_assert_uint_eq(s.charge_detect_us, SEC(10));
	ck_assert_uint_eq(s.max_cycles_per_hour, 10);

	s.cell_recover = 2.70;
	ck_assert_int_eq(guard_settings_check(&s, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "cell_undervoltage (2.80 V) + "
			      "undervoltage_hysteresis (0.10 V) must be at "
			      "most cell_recover (2.70 V)");
	/* every rule between parameters, each named */
	guard_settings_default(&s);
	s.prealarm_cell = 2.89;
	ck_assert_int_eq(guard_settings_check(&s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "prealarm_cell (2.89 V) must be at "
					  "least cell_undervoltage (2.80 V) + "
					  "0.10 V"));
	s.prealarm_cell = 2.90;
	ck_assert_int_eq(guard_settings_check(&s, err, sizeof(err)), 0);
	guard_settings_default(&s);
	s.cell_undervoltage_hard = 2.80;
	ck_assert_int_eq(guard_settings_check(&s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "cell_undervoltage_hard (2.80 V) "
					  "must be below cell_undervoltage"));
	s.cell_undervoltage_hard = 0;
	ck_assert_int_eq(guard_settings_check(&s, err, sizeof(err)), 0);
	guard_settings_default(&s);
	s.low_soc_warning = 10;
	ck_assert_int_eq(guard_settings_check(&s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "discharge_floor (10.00 %) must be "
					  "below low_soc_warning"));
	guard_settings_default(&s);
	s.discharge_floor = 98;
	s.low_soc_warning = 0;
	ck_assert_int_eq(guard_settings_check(&s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "could never end"));
	guard_settings_default(&s);
	s.prealarm_cell = 3.40;
	s.prealarm_hysteresis = 0.0;
	s.cell_overvoltage = 3.40;
	ck_assert_int_eq(guard_settings_check(&s, err, sizeof(err)), -1);
	guard_settings_default(&s);
	s.max_cycles_per_hour = 0;
	ck_assert_int_eq(guard_settings_check(&s, err, sizeof(err)), -1);
	guard_settings_default(&s);
	s.temp_hysteresis = (double)NAN;
	ck_assert_int_eq(guard_settings_check(&s, err, sizeof(err)), -1);
	guard_settings_default(&s);
	s.prealarm_mode = GUARD_PREALARM_INTERMITTENT;
	s.prealarm_off_us = 0;
	ck_assert_int_eq(guard_settings_check(&s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "intermittent"));
}
END_TEST

static Suite *guard_suite(void)
{
	Suite *s = suite_create("guard");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, starting_until_first_data);
	tcase_add_test(tc, starting_then_comm_loss_without_any_data);
	tcase_add_test(tc, atd_waits_for_30s_prealarm_lead);
	tcase_add_test(tc, atd_low_cell_at_once_when_already_off);
	tcase_add_test(tc, atd_low_cell_recovers_at_3v20);
	tcase_add_test(tc, atd_low_cell_recovers_on_charging);
	tcase_add_test(tc,
		       atd_low_cell_charging_needs_the_cells_above_the_cutoff);
	tcase_add_test(tc, atd_low_cell_load_stays_off_whatever_the_current);
	tcase_add_test(tc, atd_low_cell_applies_while_charging);
	tcase_add_test(tc, atd_never_reconnects_below_cutoff_plus_hysteresis);
	tcase_add_test(tc, atd_hard_cutoff_at_once);
	tcase_add_test(tc, atd_discharge_floor_with_hysteresis);
	tcase_add_test(tc, atd_floor_zero_disables);
	tcase_add_test(tc, atd_battery_discharge_protection);
	tcase_add_test(tc, atc_high_cell_and_recovery);
	tcase_add_test(tc, atc_low_temperature);
	tcase_add_test(tc, atc_high_temperature);
	tcase_add_test(tc, atc_battery_charge_protection);
	tcase_add_test(tc, comm_loss_charge_after_10s);
	tcase_add_test(tc, comm_loss_load_after_120s);
	tcase_add_test(tc, partial_data_restricts_at_once);
	tcase_add_test(tc, partial_data_never_allows);
	tcase_add_test(tc, comm_loss_counts_from_the_last_good_reading);
	tcase_add_test(tc, atc_no_temperature);
	tcase_add_test(tc, cycle_limit_per_hour);
	tcase_add_test(tc, mode_off_everything_off);
	tcase_add_test(tc, remote_off_everything_off);
	tcase_add_test(tc, prealarm_low_cell_with_hysteresis);
	tcase_add_test(tc, prealarm_low_soc);
	tcase_add_test(tc, prealarm_off_when_atd_opens);
	tcase_add_test(tc, prealarm_intermittent_blinks);
	tcase_add_test(tc, no_chatter_restore_delay);
	tcase_add_test(tc, no_chatter_hysteresis);
	tcase_add_test(tc, events_for_every_transition);
	tcase_add_test(tc, events_bounded_by_max);
	tcase_add_test(tc, reasons_tokens);
	tcase_add_test(tc, alarm_and_warning_flags);
	tcase_add_test(tc, settings_defaults_and_check);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(guard_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
