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
 * counts. Made once per reading (bank_summarize; the fold below keeps its
 * own), not at every bank refresh over every cell of every battery (#18).
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
	/* The battery half of the guard's input (bank_guard_input), over
	 * the fresh batteries: the first (1-based) without a temperature
	 * whose port does not opt out, the first whose charge / discharge is
	 * blocked by its own flags or FET (0: none), whether some FET is
	 * off; and the oldest last good reading of a battery that had one
	 * (UINT64_MAX: none had). */
	unsigned no_temp_battery;
	unsigned charge_protection_battery, discharge_protection_battery;
	bool charge_fet_off, discharge_fet_off;
	uint64_t oldest_good_us;
};

/*
 * Aggregate n batteries in configuration order, grouped into strings of
 * `series` consecutive batteries (series = 1: all in parallel). Only valid,
 * non-stale batteries contribute values. n is at most BANK_MAX_BATTERIES
 * (more: the bank is incomplete and allows nothing). From scratch; the
 * daemon uses the fold below, which gives the same bank.
 */
void bank_compute(struct bank *b, const struct bank_input *in, unsigned n,
		  unsigned series, const struct bank_limits *lim);

/*
 * The battery half of a protection decision (guard.h): b as bank_compute()
 * or bank_fold_end() left it (its extremes are over the fresh batteries,
 * however few), every fresh battery's own protection flags, FETs and
 * missing sensors, whether the data is complete, and the comm-loss
 * reference: the oldest battery's last good reading, or last_complete_us
 * (the bank was last complete) if that is older; 0 if either never was.
 * The monitor's and the user's fields (soc, mode_on, remote_on) are the
 * caller's.
 */
void bank_guard_input(const struct bank *b, uint64_t last_complete_us,
		      struct guard_input *gi);

/*
 * The bank kept up to date incrementally (#18): at a refresh only the
 * batteries whose input changed are folded again, with the strings they
 * are in and, above them, log2(strings) joins; every battery is read only
 * to see whether it changed. The result is the one bank_compute() gives
 * for the same inputs, to the bit (the same leaves and joins).
 *
 * A refresh: bank_fold_begin(), bank_fold_set() for every battery 0..n-1,
 * bank_fold_end(). A battery counts as changed when anything of its input
 * differs from what was folded (reading pointer, valid, stale,
 * last_good_us, temp_optional) or its seq does: seq names the reading's
 * content (the chain's publication number), so the same seq must mean the
 * same content; 0 means unknown: that battery is folded again every time.
 * A new count, series or limits folds everything again, as does
 * bank_fold_reset(). A zeroed bank_fold is a reset one.
 */
#define BANK_MAX_BATTERIES 64

/* The fold of a run of consecutive batteries (internal to bank.c). */
struct bank_part {
	unsigned nbat; /* batteries in the run; 0: an empty slot of the tree */
	bool incomplete; /* some battery of the run has no fresh data */
	unsigned ncells;
	double min_cell_v, max_cell_v; /* NaN: no cells */
	struct bank_where min_cell, max_cell;
	bool have_temps;
	double min_temp, max_temp;
	struct bank_where min_temp_at, max_temp_at;
	uint32_t protection;
	bool balancing;
	unsigned no_temp_battery;
	unsigned charge_protection_battery, discharge_protection_battery;
	bool charge_fet_off, discharge_fet_off;
	uint64_t oldest_good_us;
	/* whole strings of the run */
	unsigned strings;
	double vmin, vmax, voltage, current, remaining, nominal;
	uint32_t warnings;
	unsigned warn_string;
};

struct bank_fold {
	bool shaped;    /* false: fold everything at the next refresh */
	unsigned given; /* batteries given */
	unsigned n;     /* ... of them in the fold (at most the maximum) */
	unsigned series;
	unsigned group;   /* batteries per leaf: series, or 1 without strings */
	bool strings;     /* n is a whole number of strings, not overflow */
	bool overflow;    /* more than BANK_MAX_BATTERIES were given */
	unsigned nleaves; /* ceil(n / group) */
	unsigned size;    /* leaves of the tree: a power of 2 >= nleaves */
	struct bank_limits lim;
	struct bank_input in[BANK_MAX_BATTERIES]; /* as folded */
	uint64_t seq[BANK_MAX_BATTERIES];
	bool known[BANK_MAX_BATTERIES];      /* in[k] and seq[k] were set */
	bool summarized[BANK_MAX_BATTERIES]; /* sum[k] is of in[k].reading */
	struct bank_summary sum[BANK_MAX_BATTERIES];
	uint64_t dirty; /* leaves to fold again */
	bool changed;   /* a battery or the shape changed since the last end */
	/* node[1] the root, node[i]'s halves node[2i] and node[2i+1], the
	 * leaves node[size ...]. */
	struct bank_part node[2 * BANK_MAX_BATTERIES];
};

void bank_fold_reset(struct bank_fold *f);
void bank_fold_begin(struct bank_fold *f, unsigned n, unsigned series,
		     const struct bank_limits *lim);
/* bank_fold_set() for a battery that changed. */
void bank_fold_take(struct bank_fold *f, unsigned k,
		    const struct bank_input *in, uint64_t seq);

/* Battery k's input now (in->summary is not used: the fold summarizes
 * in->reading itself, once per seq). Inline: most batteries did not
 * change, and every one is looked at. */
static inline void bank_fold_set(struct bank_fold *f, unsigned k,
				 const struct bank_input *in, uint64_t seq)
{
	const struct bank_input *had;

	if (k >= f->n)
		return; /* past the fold's maximum: the bank is not used */
	had = &f->in[k];
	if (f->known[k] && seq != 0 && seq == f->seq[k] &&
	    in->reading == had->reading && in->valid == had->valid &&
	    in->stale == had->stale && in->last_good_us == had->last_good_us &&
	    in->temp_optional == had->temp_optional)
		return; /* as folded */
	bank_fold_take(f, k, in, seq);
}

/* Something changed since the last bank_fold_end(): the bank it gives
 * may differ. */
static inline bool bank_fold_pending(const struct bank_fold *f)
{
	return f->changed;
}

void bank_fold_end(struct bank_fold *f, struct bank *b);

/* Stable tokens: "string_current_mismatch", ...; "unknown", "balanced", ... */
const char *bank_warning_name(uint32_t bit);
const char *bank_balancer_name(enum bank_balancer b);

#endif
