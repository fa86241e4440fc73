/* SPDX-License-Identifier: MIT */
/*
 * bank.h - the bank as a whole: aggregates over every battery's latest
 * reading. Pure: no I/O, no clock.
 */
#ifndef SMALLBMS_BANK_H
#define SMALLBMS_BANK_H

#include <stdbool.h>

#include "reading.h"

struct bank_input {
	const struct bms_reading *reading;
	bool valid; /* the battery has had a complete reading */
	bool stale; /* ... but not recently */
};

/* Where an extreme value comes from (1-based battery and cell/sensor). */
struct bank_where {
	unsigned battery;
	unsigned index;
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
};

/*
 * Aggregate n batteries in configuration order, grouped into strings of
 * `series` consecutive batteries (series = 1: all in parallel). Only valid,
 * non-stale batteries contribute values.
 */
void bank_compute(struct bank *b, const struct bank_input *in, unsigned n,
		  unsigned series);

#endif
