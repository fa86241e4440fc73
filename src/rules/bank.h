/* SPDX-License-Identifier: MIT */
/*
 * bank.h - the bank as a whole: aggregates over every battery's latest
 * reading. Pure: no I/O, no clock.
 */
#ifndef SMALLBMS_BANK_H
#define SMALLBMS_BANK_H

#include <stdbool.h>
#include <stdint.h>

#include "guard.h"
#include "reading.h"

/*
 * One battery's reading reduced to what the bank folds: its extremes and
 * counts. Made once per reading (bank_summarize), so that the bank, which
 * is recomputed at every battery's new reading, costs O(batteries) and
 * not O(cells of every battery) each time (#18).
 */
struct bank_summary {
	unsigned ncells;
	double min_cell_v, max_cell_v; /* V; the first cell of a tie */
	unsigned min_cell, max_cell;   /* 1-based cell */
	unsigned ntemps;
	double min_temp, max_temp;         /* degrees C */
	unsigned min_temp_at, max_temp_at; /* 1-based sensor */
};

void bank_summarize(const struct bms_reading *r, struct bank_summary *s);

struct bank_input {
	const struct bms_reading *reading;
	/* bank_summarize(reading), made when the reading was */
	const struct bank_summary *summary;
	bool valid;            /* the battery has had a complete reading */
	bool stale;            /* ... but not recently */
	uint64_t last_good_us; /* monotonic time of that reading */
	/* Its port says charge_without_temperature = yes: a reading without
	 * a temperature does not block charging. */
	bool temp_optional;
};

/* Where an extreme value comes from (1-based battery and cell/sensor). */
struct bank_where {
	unsigned battery;
	unsigned index;
};

/* Tolerances for the topology checks and the balancer status. */
struct bank_limits {
	double string_current_abs; /* A: batteries in one string ... */
	double string_current_rel; /* ... carry the same current, within
					   max(abs, rel x |mean|) */
	double string_voltage;     /* V: batteries of one string within */
	double parallel_voltage;   /* V: parallel strings within */
	double imbalance;          /* V: cell spread for "imbalanced" */
};

#define BANK_LIMITS_DEFAULT                                                    \
	{                                                                      \
		.string_current_abs = 2.0, .string_current_rel = 0.10,         \
		.string_voltage = 1.0, .parallel_voltage = 0.5,                \
		.imbalance = 0.05                                              \
	}

/* Topology warnings: a wiring or configuration fault, never ignored. */
enum bank_warning {
	BANK_WARN_STRING_CURRENT = 1u << 0,   /* a string's currents differ */
	BANK_WARN_STRING_VOLTAGE = 1u << 1,   /* a string's voltages differ */
	BANK_WARN_PARALLEL_VOLTAGE = 1u << 2, /* strings' voltages differ */
	/* The batteries found (addresses = scan) do not fill whole strings
	 * of `series`: the bank is not used (complete stays false). */
	BANK_WARN_SERIES_COUNT = 1u << 3,
	/* A 48 V bank of more than BANK_MAX_48V batteries (the smallBMS NG's
	 * limit; the configuration can check only the 50 of 12/24 V). */
	BANK_WARN_TOO_MANY = 1u << 4,
};
#define BANK_WARN_COUNT 5
#define BANK_MAX_48V    25
/* A string at or above this voltage is a 48 V system (a 24 V one is at
 * most 29.2 V, a 48 V LiFePO4 one at least 40 V). */
#define BANK_48V_MIN_V  36.0

enum bank_balancer {
	BANK_BALANCER_UNKNOWN,
	BANK_BALANCER_BALANCED,
	BANK_BALANCER_IMBALANCED,
	BANK_BALANCER_BALANCING,
};

struct bank {
	unsigned nbatteries;
	unsigned series;
	unsigned parallel;
	unsigned ncells; /* cells over all batteries */
	bool complete;   /* every battery valid and not stale */
	bool stale;      /* some battery has no current data */
	double voltage;  /* V */
	double current;  /* A, + = charging */
	double power;    /* W */
	double soc;      /* %, capacity-weighted battery SoC */
	double remaining_ah;
	double nominal_ah;
	double min_cell_v, max_cell_v; /* V */
	struct bank_where min_cell, max_cell;
	bool have_temps;
	double min_temp, max_temp; /* degrees C */
	struct bank_where min_temp_at, max_temp_at;
	uint32_t protection;       /* OR of the batteries' own flags */
	bool fets_allow_charge;    /* every battery's charge FET on */
	bool fets_allow_discharge; /* every battery's discharge FET on */
	uint32_t warnings;         /* enum bank_warning */
	unsigned warn_string;      /* 1-based string of the first warning */
	enum bank_balancer balancer;
};

/*
 * Aggregate n batteries in configuration order, grouped into strings of
 * `series` consecutive batteries (series = 1: all in parallel). Only valid,
 * non-stale batteries contribute values.
 */
void bank_compute(struct bank *b, const struct bank_input *in, unsigned n,
		  unsigned series, const struct bank_limits *lim);

/*
 * The battery half of a protection decision (guard.h): b as bank_compute()
 * left it (its extremes are over the fresh batteries, however few), every
 * fresh battery's own protection flags, FETs and missing sensors, whether
 * the data is complete, and the comm-loss reference: the oldest battery's
 * last good reading, or last_complete_us (the bank was last complete) if
 * that is older; 0 if either never was. The monitor's and the user's
 * fields (soc, mode_on, remote_on) are the caller's.
 */
void bank_guard_input(const struct bank *b, const struct bank_input *in,
		      unsigned n, uint64_t last_complete_us,
		      struct guard_input *gi);

/* Stable tokens: "string_current_mismatch", ...; "unknown", "balanced", ... */
const char *bank_warning_name(uint32_t bit);
const char *bank_balancer_name(enum bank_balancer b);

#endif
