/* SPDX-License-Identifier: MIT */
/*
 * guard.h - the protection rules: may the bank discharge (ATD, the Load
 * disconnect) and charge (ATC, the Charge disconnect), and is the pre-alarm
 * on. A pure state machine: (state, input, now) -> outputs, reasons, events.
 * No I/O, no clock (now is monotonic microseconds, passed in), no globals.
 *
 * Call guard_step() whenever the bank data, the mode or the remote input
 * change, and again at out->next_wakeup_us (timeouts, the pre-alarm lead,
 * the restore delay and the intermittent pre-alarm all fall due there).
 *
 * The rules (every number is a setting below):
 *
 *   ATD (discharge) is not allowed while
 *     - a cell is below cell_undervoltage, once the pre-alarm has been on
 *       for prealarm_lead (the user gets a warning before the loads drop);
 *       if ATD is already off for another reason there is nothing left to
 *       warn about and the rule applies at once; it does not apply while
 *       charging is detected (that is its recovery condition, so applying
 *       it would make the output chatter);
 *       recovery: every cell >= cell_recover, or charging detected (bank
 *       current > charge_detect_current);
 *     - SoC <= discharge_floor (floor > 0, SoC valid);
 *       recovery: SoC > floor + floor_hysteresis, or the floor set to 0
 *       (the NG manual once says the floor opens ATC: it is ATD, as its
 *       feature description and the physics say);
 *     - a battery reports discharge protection or has its discharge FET off;
 *     - Mode is Off, or the remote input is off;
 *     - no fresh data for comm_loss_load.
 *   ATC (charge) is not allowed while
 *     - a cell is >= cell_overvoltage; recovery: every cell <=
 *       cell_overvoltage_recover;
 *     - a temperature is < charge_temp_low or > charge_temp_high;
 *       recovery: temp_hysteresis inside the limits;
 *     - a battery reports charge protection or has its charge FET off;
 *     - Mode is Off, or the remote input is off;
 *     - no fresh data for comm_loss_charge.
 *   Before the first fresh data both are off with the reason "starting".
 *
 *   Pre-alarm: on while a warning is active (a cell below prealarm_cell, or
 *   SoC <= low_soc_warning) and ATD is allowed: it turns off when ATD opens,
 *   whatever the reason, and with Mode Off / remote off. Warnings end with
 *   hysteresis: every cell >= prealarm_cell + prealarm_hysteresis, SoC >
 *   low_soc_warning + soc_warning_hysteresis. Continuous or intermittent.
 *
 * No chatter: every threshold has hysteresis, and an output comes back on
 * only after all its reasons have been clear for restore_delay (a minimum
 * off time). There is deliberately no minimum ON time: a turn-off is a
 * protection, and delaying it would let a cell go further out of its safe
 * range; hysteresis and the minimum off time already bound the switching
 * rate.
 *
 * alarm: a protective reason is active (anything but starting, mode_off,
 * remote_off); warning: the pre-alarm is on or the low-SoC warning is
 * active. They drive the error LED (solid / blinking).
 *
 * Data: a step with fresh data (have_data and cell voltages known) decides
 * on the values; a step without keeps every value-based reason and warning
 * as it was (stale values never make a new decision), and comm_loss counts
 * from data_time_us.
 */
#ifndef SMALLBMS_GUARD_H
#define SMALLBMS_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUARD_NEVER      UINT64_MAX /* next_wakeup_us: nothing pending */
#define GUARD_MAX_EVENTS 24         /* enough for any single step */
#define GUARD_USEC       1000000ULL

/*
 * Why an output is not allowed. One bit each; the tokens (guard_reason_name)
 * are an API (status JSON, journal fields): never rename one. The order is
 * the order of importance used when one reason must be named.
 */
enum guard_reason {
	GUARD_R_STARTING = 1u << 0,           /* "starting" */
	GUARD_R_MODE_OFF = 1u << 1,           /* "mode_off" */
	GUARD_R_REMOTE_OFF = 1u << 2,         /* "remote_off" */
	GUARD_R_COMM_LOSS = 1u << 3,          /* "comm_loss" */
	GUARD_R_CELL_UNDERVOLTAGE = 1u << 4,  /* "cell_undervoltage" */
	GUARD_R_DISCHARGE_FLOOR = 1u << 5,    /* "discharge_floor" */
	GUARD_R_BATTERY_PROTECTION = 1u << 6, /* "battery_protection" */
	GUARD_R_CELL_OVERVOLTAGE = 1u << 7,   /* "cell_overvoltage" */
	GUARD_R_LOW_TEMPERATURE = 1u << 8,    /* "low_temperature" */
	GUARD_R_HIGH_TEMPERATURE = 1u << 9,   /* "high_temperature" */
};
#define GUARD_REASON_COUNT 10
/* Reasons that are not alarms: the daemon's own state or the user's. */
#define GUARD_R_NOT_ALARM                                                      \
	(GUARD_R_STARTING | GUARD_R_MODE_OFF | GUARD_R_REMOTE_OFF)

/* Warnings (they drive the pre-alarm). Tokens via guard_warning_name(). */
enum guard_warning {
	GUARD_W_LOW_CELL = 1u << 0, /* "low_cell": a cell below prealarm_cell */
	GUARD_W_LOW_SOC = 1u << 1,  /* "low_soc": SoC <= low_soc_warning */
};
#define GUARD_WARNING_COUNT 2

enum guard_which {
	GUARD_CHARGE = 0,    /* ATC, token "charge" */
	GUARD_DISCHARGE = 1, /* ATD, token "discharge" */
	GUARD_PREALARM = 2,  /* token "prealarm" (events only) */
};

enum guard_prealarm_mode {
	GUARD_PREALARM_CONTINUOUS,
	GUARD_PREALARM_INTERMITTENT,
};

struct guard_settings {
	/* Load disconnect on a low cell, V. Default 2.80. */
	double cell_undervoltage;
	/* ... and its recovery: every cell at or above this, V. Default 3.20
	 * (the smallBMS NG value: a rested LiFePO4 cell at 3.20 V holds a
	 * few percent of charge, so the load is not reconnected onto an empty
	 * bank). */
	double cell_recover;
	/* ... or charging: bank current above this, A. Default 0.5: above the
	 * current-sensor offset and the parasitic draw that remains with the
	 * loads off (tens of mA), yet far below what any real charger,
	 * alternator or panel delivers. */
	double charge_detect_current;
	/* The pre-alarm must have been on this long before a low cell opens
	 * ATD, us. Default 30 s. */
	uint64_t prealarm_lead_us;
	/* Pre-alarm on below this cell voltage, V. Default 3.10. */
	double prealarm_cell;
	/* ... off again at prealarm_cell + this, V. Default 0.05. */
	double prealarm_hysteresis;
	/* Low-SoC warning ends at low_soc_warning + this, %. Default 1. */
	double soc_warning_hysteresis;
	enum guard_prealarm_mode prealarm_mode; /* default continuous */
	/* Intermittent pre-alarm: line on / off times, us. Default 1 s/1 s. */
	uint64_t prealarm_on_us;
	uint64_t prealarm_off_us;
	/* Discharge-floor recovery: SoC above floor + this, %. Default 3. */
	double floor_hysteresis;
	/* Charge disconnect at or above this cell voltage, V. Default 3.75. */
	double cell_overvoltage;
	/* ... recovery when every cell is at or below this, V. Default 3.55:
	 * when charge current stops, a cell that reached 3.75 V relaxes
	 * towards 3.4-3.5 V within minutes, so a recovery level close to the
	 * limit would re-enable the charger at once and cycle it; 3.55 V is
	 * just above the usual absorption voltage per cell, so a normal
	 * charge can finish but a runaway cell cannot be charged again
	 * before it has settled. */
	double cell_overvoltage_recover;
	/* Charging only between these temperatures, degrees C. 5 and 50. */
	double charge_temp_low;
	double charge_temp_high;
	/* Temperature recovery: this far inside the limits, degrees C. 2. */
	double temp_hysteresis;
	/* No fresh data for this long: ATC off (default 10 s) and ATD off
	 * (default 120 s), us. */
	uint64_t comm_loss_charge_us;
	uint64_t comm_loss_load_us;
	/* An output comes back on only after all its reasons have been clear
	 * this long (minimum off time), us. Default 5 s. */
	uint64_t restore_delay_us;
};

struct guard_input {
	/* Every battery has fresh, complete data (bank.complete). */
	bool have_data;
	/* Monotonic time of the oldest battery's last good reading; 0 = never
	 * (comm_loss then counts from the first guard_step). Only used while
	 * have_data is false. */
	uint64_t data_time_us;
	/* Cell voltage extremes, V, with their 1-based battery and cell. A
	 * NaN here makes the step count as one without fresh data. */
	double min_cell_v, max_cell_v;
	unsigned min_cell_battery, min_cell_index;
	unsigned max_cell_battery, max_cell_index;
	/* Temperature extremes, degrees C (have_temps false: no sensors, the
	 * temperature rules keep their state). 1-based battery and sensor. */
	bool have_temps;
	double min_temp, max_temp;
	unsigned min_temp_battery, min_temp_sensor;
	unsigned max_temp_battery, max_temp_sensor;
	double current; /* bank current, A, + = charging; NaN = unknown */
	/* The batteries' own protection flags (enum bms_protection, already
	 * masked with BMS_PROT_CHARGE_MASK / BMS_PROT_DISCHARGE_MASK), whether
	 * some battery has switched its charge / discharge FET off, and the
	 * first (1-based) battery concerned, for the journal. */
	uint32_t charge_protection, discharge_protection;
	bool charge_fet_off, discharge_fet_off;
	unsigned charge_protection_battery, discharge_protection_battery;
	/* From the battery monitor. */
	bool soc_valid;
	double soc;             /* % */
	double discharge_floor; /* %, 0 = feature off */
	double low_soc_warning; /* %, 0 = off */
	bool mode_on;           /* Mode On (the user's master switch) */
	bool remote_on;         /* remote on/off input; absent = true */
};

struct guard_output {
	bool allow_charge, allow_discharge;
	uint32_t charge_reasons, discharge_reasons; /* enum guard_reason */
	bool prealarm;                              /* the pre-alarm is on */
	bool prealarm_line; /* ... the line now (intermittent: blinking) */
	uint32_t warnings;  /* enum guard_warning */
	bool alarm;         /* a protective reason (not starting/mode/remote) */
	bool warning;       /* pre-alarm on or low-SoC warning active */
	bool charging;      /* charging detected (last fresh data) */
	uint64_t next_wakeup_us; /* call guard_step by then; GUARD_NEVER */
};

enum guard_event_kind {
	GUARD_EV_OUTPUT_OFF,    /* ATC/ATD opened: reason = the main one */
	GUARD_EV_OUTPUT_ON,     /* ATC/ATD closed again */
	GUARD_EV_REASON_START,  /* a reason started to block an output */
	GUARD_EV_REASON_END,    /* ... and ended */
	GUARD_EV_PREALARM_ON,   /* warning = its cause */
	GUARD_EV_PREALARM_OFF,  /* reasons != 0: turned off because ATD is */
	GUARD_EV_WARNING_START, /* a warning condition started */
	GUARD_EV_WARNING_END,
};
#define GUARD_EV_KIND_COUNT 8

/*
 * One transition. Which fields apply depends on kind and reason; those that
 * do not are 0 / NaN.
 */
struct guard_event {
	enum guard_event_kind kind;
	enum guard_which output;
	uint32_t reason;      /* one enum guard_reason bit */
	uint32_t reasons;     /* output events: every active reason */
	uint32_t warning;     /* one enum guard_warning bit */
	unsigned battery;     /* 1-based, 0 = n/a */
	unsigned cell;        /* 1-based cell, or sensor for temperatures */
	double value;         /* V, degrees C, %, A (charging), s (comm loss) */
	double limit;         /* the threshold crossed, same unit; NaN at
				 the end of a feature switched off (0) */
	bool charging;        /* recovery by charge detection (value = A) */
	uint32_t protection;  /* battery_protection: enum bms_protection */
	bool fet_off;         /* battery_protection: a FET is off */
	uint64_t duration_us; /* low cell: how long the pre-alarm had been
				 on; output on: how long reasons were clear */
	uint64_t time_us;     /* now */
};

struct guard_line {
	bool allow;
	uint32_t reasons;
	uint64_t clear_since; /* reasons == 0 since (allow still false) */
};

/* The state. Callers allocate it; only guard_* functions touch it. */
struct guard {
	struct guard_settings set;
	struct guard_output out;
	struct guard_line line[2]; /* GUARD_CHARGE, GUARD_DISCHARGE */
	bool stepped;
	uint64_t first_step_us;
	bool seen_data; /* a fresh reading has been seen */
	uint32_t warnings;
	bool charging;
	bool prealarm;
	uint64_t prealarm_since;
};

void guard_settings_default(struct guard_settings *s);
/* 0 if the settings make sense; otherwise -1 and a message in err
 * ("cell_recover (3.10 V) must be above cell_undervoltage (3.20 V)"). */
int guard_settings_check(const struct guard_settings *s, char *err,
			 size_t errlen);

/* Both outputs off with reason "starting", pre-alarm off. The settings
 * must have passed guard_settings_check(). */
void guard_init(struct guard *g, const struct guard_settings *s);
/* New settings (e.g. prealarm_cell changed at run time); the state is
 * kept and the next step applies them. */
void guard_set_settings(struct guard *g, const struct guard_settings *s);

/*
 * One decision at time now (monotonic us, never decreasing). Up to max
 * events are stored in ev (pass GUARD_MAX_EVENTS; more are dropped), their
 * number in *nev.
 */
void guard_step(struct guard *g, const struct guard_input *in, uint64_t now,
		struct guard_event *ev, size_t max, size_t *nev);
const struct guard_output *guard_output(const struct guard *g);

/* Stable tokens; NULL for an unknown value. */
const char *guard_reason_name(uint32_t reason_bit);
const char *guard_warning_name(uint32_t warning_bit);
const char *guard_which_name(enum guard_which w);
const char *guard_event_kind_name(enum guard_event_kind k);
/* Words for people ("low cell voltage"); NULL for an unknown value. */
const char *guard_reason_text(uint32_t reason_bit);
const char *guard_warning_text(uint32_t warning_bit);
/* "continuous" / "intermittent"; parse returns -1 if unknown. */
const char *guard_prealarm_mode_name(enum guard_prealarm_mode m);
int guard_prealarm_mode_parse(const char *s);
/* The tokens of a reason mask, comma-separated ("mode_off,comm_loss"),
 * "" for none. Returns what snprintf would. */
int guard_reasons_format(uint32_t reasons, char *buf, size_t len);

#endif
