/* SPDX-License-Identifier: MIT */
/*
 * monitor.h - the battery monitor: state of charge by coulomb counting,
 * synchronisation to 100 %, consumed Ah, time remaining to the discharge
 * floor, and the bank's history. A pure state machine over (state, input,
 * now): no I/O, no clock, no globals. Definitions follow Victron's BMV /
 * SmartShunt and the smallBMS NG:
 *
 * - SoC: discharge counts fully, charge counts x charge_efficiency, a
 *   current smaller than current_threshold (either way) counts as zero.
 *   Each sample's current counts for the time since the previous sample
 *   (a reading stands for the poll interval it ends). Nothing is
 *   integrated across a step without valid data or a gap longer than
 *   MONITOR_MAX_GAP_US: the current in between is not known. SoC is
 *   clamped to 0..100 %.
 * - Until the first synchronisation SoC starts from the batteries' own
 *   SoC (taken once, at the first valid step without a SoC of our own) and
 *   `synchronised` is false; soc_source says where the SoC came from
 *   (the batteries, a synchronisation, the user).
 * - Synchronisation: SoC = 100 % when bank voltage >= charged_voltage x
 *   cells in series and |current| <= tail_current % x capacity have both
 *   held, on every step, for charged_detection_time. A step where either
 *   fails, or without valid data, restarts the timer. One synchronisation
 *   per charge: the condition must break before it can count again.
 * - Manual: monitor_sync() (SoC = 100 %, a full charge) and
 *   monitor_set_soc() (any value; the user's value counts as a
 *   synchronised SoC but not as a full charge).
 * - Consumed Ah: the charge taken out since the last full charge, counted
 *   like the SoC (discharge fully, charge x charge_efficiency), never above
 *   0; 0 at a synchronisation (automatic or by hand). A SoC set by hand
 *   does not change it: it is a count, not a view of the SoC. Without a
 *   count of its own (a first start) it starts from the SoC once, (SoC -
 *   100) / 100 x capacity, as the batteries' own SoC implies.
 * - Time remaining: the (thresholded) current averaged exponentially over
 *   ttg_averaging seconds; remaining = (SoC - floor) / 100 x capacity
 *   (floor 0: to empty); time = remaining / |average|. Infinite when the
 *   bank is not discharging (latest current or average not below
 *   -current_threshold).
 * - History: deepest discharge (most negative consumed Ah), cumulative Ah
 *   drawn (negative, like the BMV), discharged and charged energy (kWh,
 *   V x I over time, charge not reduced by the efficiency), automatic
 *   synchronisations, charge cycles (SoC below 65 % then above 90 % = one
 *   cycle), last full charge (wall clock: automatic or manual sync),
 *   min/max bank voltage, cell voltage and battery temperature.
 *
 * The state file keeps SoC, `synchronised`, the history and what the
 * balancer status needs (monitor_to_json); the synchronisation timer and
 * the current average restart with the daemon.
 *
 * ---- Wiring in the daemon -------------------------------------------------
 *
 * Start:
 *	settings_default(&d->settings);
 *	monitor_init(&d->monitor, &d->settings);   (keeps the pointer: settings
 *	                                            changes apply at once)
 *	store_load(state_dir, wall_s, &cfg->protection, &d->settings,
 *		   &d->monitor, &report);   (key by key; see store.h)
 *	store_policy_init(&d->save, now_us);
 *
 * After every bank refresh (each chain update), with b = &d->bank:
 *	struct monitor_input in = {
 *		.valid = b->complete, .voltage = b->voltage,
 *		.current = b->current, .capacity_ah = b->nominal_ah,
 *		.cells_series = b->parallel ? b->ncells / b->parallel : 0,
 *		.nbatteries = b->nbatteries, .battery_soc = b->soc,
 *		.min_cell_v = b->min_cell_v, .max_cell_v = b->max_cell_v,
 *		.min_temp = b->have_temps ? b->min_temp : NAN,
 *		.max_temp = b->have_temps ? b->max_temp : NAN,
 *		.wall_s = time(NULL)};
 *	ev = monitor_step(&d->monitor, &in, now_us);
 *	if (ev & MONITOR_CHANGED) store_policy_mark(&d->save, false);
 *	MONITOR_SYNCED / _SEEDED / _BATTERY_ADDED: worth a journal line.
 *	monitor_output(&d->monitor, &out);  -> guard input: soc_valid =
 *	    isfinite(out.soc), soc = out.soc (discharge_floor and
 *	    low_soc_warning reach the guard through settings_to_guard()).
 *	monitor_balancer_unknown(&d->monitor, wall_s) != 0 -> balancer
 *	    status "unknown" (whatever the cell spread says).
 *
 * Commands (each, on success, store_policy_mark(&d->save, true): saved
 * at once): set NAME VALUE / mode on|off -> settings_change();
 * reset-defaults -> settings_reset_checked(); soc P -> monitor_set_soc(); sync ->
 * monitor_sync(); history --reset -> monitor_history_reset().
 * Views: history -> monitor_history_json(); settings ->
 * settings_describe_json(); status gains monitor_status_json()'s keys.
 *
 * Saving: when store_policy_due(&d->save, now_us, interval) (interval =
 * d->settings.state_save_interval), store_save(state_dir,
 * store_state_json(...)) then store_policy_done(); arm a timer for
 * store_policy_next(). At a clean stop: save unconditionally.
 */
#ifndef SMALLBMS_MONITOR_H
#define SMALLBMS_MONITOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settings.h"

/* Longest step integrated: 5 min (poll intervals are at most 60 s). */
#define MONITOR_MAX_GAP_US            (300ull * 1000000ull)
/* Balancer status is unknown without a full charge for this long. */
#define MONITOR_FULL_CHARGE_MAX_AGE_S (30ll * 24 * 3600)
/* Charge cycle: SoC below LOW %, then above HIGH %. */
#define MONITOR_CYCLE_LOW             65.0
#define MONITOR_CYCLE_HIGH            90.0

struct monitor_input {
	bool valid;         /* every battery has fresh data (bank.complete) */
	double voltage;     /* V, the bank */
	double current;     /* A, + = charging */
	double capacity_ah; /* Ah, the bank (from the topology) */
	unsigned cells_series; /* cells in series in one string */
	unsigned nbatteries;   /* batteries in the bank */
	double battery_soc;    /* %, the batteries' own; NaN = unknown */
	double min_cell_v;     /* V; NaN = unknown */
	double max_cell_v;
	double min_temp; /* degrees C; NaN = no sensor */
	double max_temp;
	int64_t wall_s; /* wall clock (CLOCK_REALTIME), seconds */
};

/* Where the SoC came from; tokens (monitor_soc_source_name) are an API. */
enum monitor_soc_source {
	MONITOR_SOC_NONE,      /* "none": no SoC yet */
	MONITOR_SOC_BATTERIES, /* "batteries": their own SoC, unsynchronised */
	MONITOR_SOC_FULL,      /* "full_charge": a synchronisation */
	MONITOR_SOC_USER,      /* "user": smallbmsctl soc */
};

struct monitor_history {
	double deepest_discharge_ah; /* <= 0: the lowest consumed Ah */
	double cumulative_ah_drawn;  /* <= 0: every Ah discharged */
	double discharged_kwh;       /* >= 0 */
	double charged_kwh;          /* >= 0 */
	unsigned synchronisations;   /* automatic ones */
	unsigned cycles;
	bool cycle_armed;         /* SoC went below 65 %: above 90 % counts */
	int64_t last_full_charge; /* wall s; 0 = none since the reset */
	double min_voltage, max_voltage; /* V, bank; NaN = none yet */
	double min_cell_v, max_cell_v;   /* V */
	double min_temp, max_temp;       /* degrees C */
};

struct monitor {
	const struct settings *s;

	/* Persisted. */
	double soc;        /* %, NaN = unknown */
	bool synchronised; /* SoC anchored by a sync or the user */
	enum monitor_soc_source soc_source; /* where soc came from */
	double consumed_ah;     /* Ah since the last full charge, <= 0;
				   NaN = not counted yet */
	unsigned nbatteries;    /* batteries at the last valid step */
	bool battery_added;     /* since the last full charge */
	int64_t last_full_wall; /* wall s of the last full charge, 0 = none;
				   not cleared by a history reset */
	struct monitor_history h;

	/* Volatile (restart with the daemon). */
	bool valid;                /* the last step had valid data */
	uint64_t prev_us;          /* time of the last valid step */
	double last_i;             /* its current after the threshold, A */
	double capacity_ah;        /* last valid capacity; NaN = unknown */
	bool charged;              /* the charged condition holds ... */
	uint64_t charged_since_us; /* ... since */
	bool charged_counted;      /* ... and has synchronised already */
	double avg_i;              /* averaged current, A; NaN = none */
};

/* What monitor_step() reports (bits). */
enum monitor_event {
	MONITOR_CHANGED = 1u << 0,       /* persisted state changed: save */
	MONITOR_SYNCED = 1u << 1,        /* automatic synchronisation */
	MONITOR_SEEDED = 1u << 2,        /* SoC taken from the batteries */
	MONITOR_BATTERY_ADDED = 1u << 3, /* more batteries than before */
};

/* Why the balancer status is unknown (bits; 0 = it can be judged). */
enum monitor_balancer_unknown {
	MONITOR_BAL_NO_FULL_CHARGE = 1u << 0, /* none, or none in 30 days */
	MONITOR_BAL_BATTERY_ADDED = 1u << 1,  /* not fully charged since */
	MONITOR_BAL_SOC_UNKNOWN = 1u << 2,    /* no SoC, or unsynchronised */
};

struct monitor_output {
	double soc;              /* %, NaN = unknown */
	bool synchronised;       /* false: copied from the batteries */
	double consumed_ah;      /* <= 0, NaN = unknown */
	double average_current;  /* A, NaN = unknown */
	double time_remaining_s; /* NaN = unknown, INFINITY = not discharging */
	bool low_soc;            /* warning level > 0 and SoC <= it */
	bool floor_reached;      /* floor > 0 and SoC <= it */
	double charged_for_s;    /* how long the charged condition holds */
};

/* A monitor without SoC or history; s must outlive it. */
void monitor_init(struct monitor *m, const struct settings *s);

/* One sample; now_us is monotonic. Returns enum monitor_event bits. */
unsigned monitor_step(struct monitor *m, const struct monitor_input *in,
		      uint64_t now_us);

void monitor_output(const struct monitor *m, struct monitor_output *o);

/* Manual synchronisation to 100 %: counts as a full charge at wall_s. */
void monitor_sync(struct monitor *m, int64_t wall_s);

/* Manual SoC, 0..100 %; -1 and a message in err otherwise. */
int monitor_set_soc(struct monitor *m, double soc, char *err, size_t errlen);

/* Every history item back to "nothing yet". */
void monitor_history_reset(struct monitor *m);

/* enum monitor_balancer_unknown bits at wall time wall_s. */
unsigned monitor_balancer_unknown(const struct monitor *m, int64_t wall_s);

/* "none", "batteries", "full_charge", "user"; NULL for another value. */
const char *monitor_soc_source_name(enum monitor_soc_source s);

/* Stable tokens for the bits above: "no_full_charge", ... */
const char *monitor_balancer_unknown_name(unsigned bit);

/*
 * {"deepest_discharge_ah", "cumulative_ah_drawn", "discharged_energy_kwh",
 *  "charged_energy_kwh", "synchronisations", "cycles", "last_full_charge"
 *  (seconds since the epoch, null = none), "min_voltage", "max_voltage",
 *  "min_cell_voltage", "max_cell_voltage", "min_temperature",
 *  "max_temperature"}; unknown values are null.
 */
json_t *monitor_history_json(const struct monitor *m);

/* {"soc", "synchronised", "consumed_ah", "time_remaining" (s, null when
 * infinite or unknown), "average_current"} for the status. */
json_t *monitor_status_json(const struct monitor *m);

/* The persisted state: {"soc", "synchronised", "nbatteries",
 * "battery_added", "last_full_charge", "cycle_armed", "history":{...}}. */
json_t *monitor_to_json(const struct monitor *m);

/*
 * Restore what monitor_to_json() wrote into an initialised monitor, key by
 * key: a wrong type, a value out of range or an unknown key is dropped
 * (that value keeps what monitor_init() gives) and reported by name
 * through problem; so are values that contradict each other (a history
 * minimum above its maximum: both dropped; "synchronised" without a SoC:
 * unsynchronised). A missing key keeps its initial value. Returns the
 * number of problems, or -1 (nothing restored) when o is not an object.
 */
int monitor_from_json(struct monitor *m, const json_t *o,
		      settings_problem_fn problem, void *userdata);

#endif
