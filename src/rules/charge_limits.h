/* SPDX-License-Identifier: MIT */
/*
 * charge_limits.h - the charge and discharge limits an inverter/charger
 * takes from a CAN-bus BMS (#15): charge voltage limit (CVL), charge and discharge
 * current limits (CCL, DCL) and the charge/discharge request flags. Pure,
 * like the guard: (state, input, now) -> output; no I/O, no clock.
 *
 * The limits make the charger gentle; they are not the protection. The
 * guard and its GPIO disconnects stay the last line of defence, and the
 * limits follow the guard: whenever it does not allow charging
 * (discharging), CCL (DCL) is 0 A in the same step, flags and current both
 * (some inverters ignore the flags).
 *
 * The rules (every number is a setting below, [limits] in the
 * configuration):
 *
 *   CVL = series cells x charge_voltage (bulk) or x float_voltage (float).
 *     A high cell lowers it: while the highest cell is above cell_target,
 *     CVL is at most the measured bank voltage - cvl_gain x (max cell -
 *     cell_target), so a runaway cell is pulled back towards cell_target
 *     (a charger holding the bank at CVL pushes the excess into the high
 *     cell; taking it off the bank takes it off that cell). CVL falls at
 *     once and rises at most cvl_rise per cell per second (smooth).
 *     Float: after the bank has been full (bank voltage within 0.02 V per
 *     cell of the bulk CVL and |current| <= tail_current) and balanced
 *     (cell spread <= balanced_spread) for float_after; back to bulk when
 *     SoC < rebulk_soc or the spread > rebulk_spread.
 *   CCL = charge_current x derate(max cell: 1 at charge_derate_start, 0 at
 *     charge_derate_end) x derate(temperature: 0 at the guard's
 *     charge_temp_low, 1 at charge_temp_low + cold_span; 1 at
 *     charge_temp_high - hot_span, 0 at charge_temp_high).
 *   DCL = discharge_current x derate(min cell: 1 at discharge_derate_start,
 *     0 at discharge_derate_end).
 *   Unknown data never raises a limit: without cells or temperatures (or
 *     with the bank incomplete) CCL is 0; without cells DCL is 0.
 *   Ramps: CCL and DCL rise by at most their maximum / ramp_time per
 *     second (no step from 0 to full); they fall at once.
 */
#ifndef SMALLBMS_CHARGE_LIMITS_H
#define SMALLBMS_CHARGE_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bank.h"
#include "guard.h"

/* Why a limit is below its maximum. Tokens (limits_reason_name) are an
 * API (status JSON): never rename one. */
enum limits_reason {
	LIMITS_R_NOT_ALLOWED = 1u << 0, /* "not_allowed": the guard says no */
	LIMITS_R_NO_DATA = 1u << 1,     /* "no_data": cells/temps unknown */
	LIMITS_R_HIGH_CELL = 1u << 2,   /* "high_cell" */
	LIMITS_R_LOW_CELL = 1u << 3,    /* "low_cell" */
	LIMITS_R_COLD = 1u << 4,        /* "cold" */
	LIMITS_R_HOT = 1u << 5,         /* "hot" */
	LIMITS_R_RAMP = 1u << 6,        /* "ramp": still rising */
	LIMITS_R_FLOAT = 1u << 7,       /* "float": CVL at float voltage */
};
#define LIMITS_REASON_COUNT 8

struct limits_settings {
	double charge_voltage;    /* V per cell, bulk. 3.45 */
	double float_voltage;     /* V per cell. 3.375 */
	double discharge_voltage; /* V per cell, sent as the DVL. 2.90 */
	double cell_target;       /* V: CVL reduction above this. 3.55 */
	double cvl_gain;          /* V of bank per V of cell excess. 1.0 */
	double cvl_rise;          /* V per cell per second. 0.001 */
	double charge_current;    /* A, the bank's rating. 0 */
	double discharge_current; /* A. 0 */
	double charge_derate_start, charge_derate_end;       /* 3.50 3.65 */
	double discharge_derate_start, discharge_derate_end; /* 3.10 2.95 */
	double cold_span, hot_span; /* degrees C. 10, 5 */
	uint64_t ramp_us;           /* 0 to max. 30 s */
	double tail_current;        /* A. 2 */
	double balanced_spread;     /* V. 0.03 */
	uint64_t float_after_us;    /* 30 min */
	double rebulk_soc;          /* %. 90 */
	double rebulk_spread;       /* V. 0.10 */
};

/* One step's input: the bank, the guard's decision and the guard's
 * temperature limits (CCL is 0 where the guard stops charging). */
struct limits_input {
	const struct bank *bank;
	const struct guard_output *guard;
	double charge_temp_low, charge_temp_high; /* degrees C */
	double soc; /* % from the monitor; NaN unknown */
};

struct limits_output {
	unsigned series_cells; /* 0: not known yet */
	double cvl, ccl, dcl;  /* V, A, A */
	double dvl;            /* V: discharge voltage (series x setting) */
	bool charge_enable, discharge_enable;
	bool floating;
	uint32_t cvl_reasons, ccl_reasons, dcl_reasons;
};

struct limits {
	struct limits_settings set;
	struct limits_output out;
	bool stepped;
	uint64_t last_us;
	bool full;
	uint64_t full_since;
};

void limits_settings_default(struct limits_settings *s);
/* The order of the settings (float <= charge < target < derate end, ...):
 * 0, or -1 and a message naming the rule. */
int limits_settings_check(const struct limits_settings *s, char *err,
			  size_t errlen);
void limits_init(struct limits *l, const struct limits_settings *s);
void limits_set_settings(struct limits *l, const struct limits_settings *s);
void limits_step(struct limits *l, const struct limits_input *in, uint64_t now);
const struct limits_output *limits_output(const struct limits *l);

const char *limits_reason_name(uint32_t bit);
/* "high_cell,ramp"; "" for none. Returns what snprintf would. */
int limits_reasons_format(uint32_t reasons, char *buf, size_t len);

#endif
