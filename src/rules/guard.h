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
 *     - a cell is below cell_undervoltage_hard (0 = off): at once, no lead;
 *     - a cell is below cell_undervoltage, once the pre-alarm has been on
 *       for prealarm_lead (the user gets a warning before the loads drop);
 *       if ATD is already off for another reason there is nothing left to
 *       warn about and the rule applies at once;
 *       recovery (both rules): every cell >= cell_recover, or charging
 *       detected (bank current above charge_detect_current for
 *       charge_detect_time) AND every cell >= cell_undervoltage +
 *       undervoltage_hysteresis: loads never return onto a cell below the
 *       cutoff, however the current changes;
 *     - SoC <= discharge_floor (floor > 0, SoC valid);
 *       recovery: SoC > floor + floor_hysteresis, or the floor set to 0
 *       (the NG manual once says the floor opens ATC: it is ATD, as its
 *       feature description and the physics say);
 *     - a battery reports discharge protection or has its discharge FET off;
 *     - Mode is Off, or the remote input is off;
 *     - some battery has had no good reading for comm_loss_load.
 *   ATC (charge) is not allowed while
 *     - a cell is >= cell_overvoltage; recovery: every cell <=
 *       cell_overvoltage_recover;
 *     - a temperature is < charge_temp_low or > charge_temp_high;
 *       recovery: temp_hysteresis inside the limits;
 *     - a battery has no temperature sensor (no_temperature), unless its
 *       port says charge_without_temperature = yes;
 *     - a battery reports charge protection or has its charge FET off;
 *     - Mode is Off, or the remote input is off;
 *     - some battery has had no good reading for comm_loss_charge.
 *   Both: an output switched off for a protective reason more than
 *   max_cycles_per_hour times within an hour stays off (cycle_limit) until
 *   the oldest of those is an hour old.
 *   Before the first complete data both are off with the reason "starting".
 *
 *   Pre-alarm: on while a warning is active (a cell below prealarm_cell, or
 *   SoC <= low_soc_warning) and ATD is allowed: it turns off when ATD opens,
 *   whatever the reason, and with Mode Off / remote off. Warnings end with
 *   hysteresis: every cell >= prealarm_cell + prealarm_hysteresis, SoC >
 *   low_soc_warning + soc_warning_hysteresis. Continuous or intermittent.
 *
 * No chatter: every threshold has hysteresis, an output comes back on only
 * after all its reasons have been clear for restore_delay (a minimum off
 * time), and max_cycles_per_hour bounds the protective cycles. There is
 * deliberately no minimum ON time: a turn-off is a protection, and
 * delaying it would let a cell go further out of its safe range.
 *
 * alarm: a protective reason is active (anything but starting, mode_off,
 * remote_off); warning: the pre-alarm is on or the low-SoC warning is
 * active. They drive the error LED (solid / blinking).
 *
 * The invariants (HACKING.md lists the test that holds each):
 *
 *   I1 Restrictive decisions use whatever fresh data exists. The input's
 *      values are over the batteries that have fresh data, however few: a
 *      value that demands "not allowed" starts its reason within this
 *      step. Only ending a reason (a recovery) and switching an output
 *      back on need complete data (every battery fresh: in->complete).
 *   I2 Loads never reconnect while a fresh cell is below cell_undervoltage
 *      (+ undervoltage_hysteresis when recovering by charging); chargers
 *      never while a cell is at or above cell_overvoltage.
 *   I3 The settings passed guard_settings_check(): the one table of rules
 *      between parameters, whatever path they came from.
 *   I4 A battery without temperature never allows charging (unless its
 *      port opts out).
 *   I7 cell_undervoltage_hard opens ATD at once.
 *   Comm loss counts from the oldest battery's last good reading
 *   (data_time_us), never from a freshness flag, so no other setting
 *   extends it.
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
	GUARD_R_CELL_UNDERVOLTAGE_HARD = 1u
					 << 10, /* "cell_undervoltage_hard" */
	GUARD_R_NO_TEMPERATURE = 1u << 11,      /* "no_temperature" */
	GUARD_R_CYCLE_LIMIT = 1u << 12,         /* "cycle_limit" */
};
#define GUARD_REASON_COUNT 13
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

/*
 * Every parameter the rules read. Most come from [protection] in the
 * configuration (cfg.c's table owns their ranges); prealarm_cell,
 * low_soc_warning and discharge_floor are run-time settings (settings.c's
 * table owns their ranges; settings_to_guard() copies them in). The rules
 * BETWEEN parameters are guard_settings_check()'s, for every path.
 */
struct guard_settings {
	/* Load disconnect on a low cell, V. Default 2.80. */
	double cell_undervoltage;
	/* Load disconnect at once, no pre-alarm lead, V; 0 = off. Default
	 * 2.50: a LiFePO4 cell there under load is empty, and another 30 s of
	 * a large current can take it below the 2.0-2.5 V where copper
	 * dissolves. (The smallBMS NG has no such cutoff.) */
	double cell_undervoltage_hard;
	/* ... recovery: every cell at or above this, V. Default 3.20
	 * (the smallBMS NG value: a rested LiFePO4 cell at 3.20 V holds a
	 * few percent of charge, so the load is not reconnected onto an empty
	 * bank). */
	double cell_recover;
	/* ... or charging with every cell at or above cell_undervoltage +
	 * this, V. Default 0.10: a cell that only just crossed the cutoff
	 * under charge falls back below it as soon as a load returns. */
	double undervoltage_hysteresis;
	/* Charging: bank current above this, A. Default 0.5: above the
	 * current-sensor offset and the parasitic draw that remains with the
	 * loads off (tens of mA), yet far below what any real charger,
	 * alternator or panel delivers. */
	double charge_detect_current;
	/* ... for this long, us. Default 10 s: a short pulse (a regenerating
	 * motor, a passing cloud on a panel at its threshold) is not a
	 * charger. */
	uint64_t charge_detect_us;
	/* The pre-alarm must have been on this long before a low cell opens
	 * ATD, us. Default 30 s (the smallBMS NG's; at least 30 s). */
	uint64_t prealarm_lead_us;
	/* Pre-alarm on below this cell voltage, V. Default 3.10. A run-time
	 * setting. */
	double prealarm_cell;
	/* ... off again at prealarm_cell + this, V. Default 0.05. */
	double prealarm_hysteresis;
	/* Low-SoC warning level and discharge floor, %; 0 = off. Run-time
	 * settings (the battery monitor's). */
	double low_soc_warning;
	double discharge_floor;
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
	/* A battery without a good reading this long: ATC off (default 10 s)
	 * and ATD off (default 120 s), us. */
	uint64_t comm_loss_charge_us;
	uint64_t comm_loss_load_us;
	/* An output comes back on only after all its reasons have been clear
	 * this long (minimum off time), us. Default 5 s. */
	uint64_t restore_delay_us;
	/* At most this many protective turn-offs of one output per hour;
	 * more hold it off (cycle_limit). Default 10. */
	unsigned max_cycles_per_hour;
};

/* The largest max_cycles_per_hour (the size of the history kept). */
#define GUARD_MAX_CYCLES 60
#define GUARD_HOUR_US    (3600 * GUARD_USEC)

/*
 * One decision's input. Every value is over the batteries whose data is
 * fresh now, however few (NaN / false / 0 when none is): a restrictive
 * rule acts on them at once (I1). complete says that every battery is
 * among them: only then may a reason end or an output come back on.
 */
struct guard_input {
	/* Every battery has fresh, complete, plausible data. */
	bool complete;
	/* Monotonic time of the oldest battery's last good reading; 0 = some
	 * battery never had one (comm_loss then counts from the first
	 * guard_step). Comm loss always counts from here. */
	uint64_t data_time_us;
	/* Cell voltage extremes, V, with their 1-based battery and cell; NaN
	 * when no battery has fresh data. */
	double min_cell_v, max_cell_v;
	unsigned min_cell_battery, min_cell_index;
	unsigned max_cell_battery, max_cell_index;
	/* Temperature extremes, degrees C (have_temps false: no fresh battery
	 * has a sensor). 1-based battery and sensor. */
	bool have_temps;
	double min_temp, max_temp;
	unsigned min_temp_battery, min_temp_sensor;
	unsigned max_temp_battery, max_temp_sensor;
	/* The first (1-based) fresh battery that reports no temperature and
	 * whose port does not opt out (charge_without_temperature); 0: none. */
	unsigned no_temp_battery;
	/* Bank current, A, + = charging; NaN = unknown (it needs every
	 * battery: only complete data has one). */
	double current;
	/* The batteries' own protection flags (enum bms_protection, already
	 * masked with BMS_PROT_CHARGE_MASK / BMS_PROT_DISCHARGE_MASK), whether
	 * some battery has switched its charge / discharge FET off, and the
	 * first (1-based) battery concerned, for the journal. */
	uint32_t charge_protection, discharge_protection;
	bool charge_fet_off, discharge_fet_off;
	unsigned charge_protection_battery, discharge_protection_battery;
	/* From the battery monitor. */
	bool soc_valid;
	double soc;     /* % */
	bool mode_on;   /* Mode On (the user's master switch) */
	bool remote_on; /* remote on/off input; absent = true */
};

struct guard_output {
	bool allow_charge, allow_discharge;
	uint32_t charge_reasons, discharge_reasons; /* enum guard_reason */
	bool prealarm;                              /* the pre-alarm is on */
	bool prealarm_line; /* ... the line now (intermittent: blinking) */
	uint32_t warnings;  /* enum guard_warning */
	bool alarm;         /* a protective reason (not starting/mode/remote) */
	bool warning;       /* pre-alarm on or low-SoC warning active */
	bool charging;      /* charging detected (sustained, complete data) */
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
	uint64_t clear_since; /* reasons == 0 and data complete since */
	/* Times of the protective turn-offs, oldest first (cycle_limit). */
	uint64_t offs[GUARD_MAX_CYCLES];
	unsigned noffs;
};

/* The state. Callers allocate it; only guard_* functions touch it. */
struct guard {
	struct guard_settings set;
	struct guard_output out;
	struct guard_line line[2]; /* GUARD_CHARGE, GUARD_DISCHARGE */
	bool stepped;
	uint64_t first_step_us;
	bool seen_data; /* complete data has been seen */
	uint32_t warnings;
	bool charge_current;   /* the current was above the threshold ... */
	uint64_t charge_since; /* ... since */
	bool charging;         /* ... for charge_detect_us */
	bool prealarm;
	uint64_t prealarm_since;
};

void guard_settings_default(struct guard_settings *s);
/*
 * The rules between parameters (their order and margins: prealarm_cell at
 * least cell_undervoltage + 0.10 V, low_soc_warning above discharge_floor,
 * ...): 0 if every one holds; otherwise -1 and a message in err that names
 * the rule ("prealarm_cell (2.50 V) must be at least cell_undervoltage
 * (2.80 V) + 0.10 V"). The one check of every path a parameter comes from:
 * the configuration, `set`, reset-defaults, the state file.
 */
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
