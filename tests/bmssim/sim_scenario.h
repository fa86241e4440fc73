/* SPDX-License-Identifier: MIT */
/*
 * sim_scenario.h - timed scenario scripts (format: sim_scenario.c).
 *
 * Parsing checks everything against the simulated chain (battery, cell and
 * sensor numbers) so a bad script fails at start with FILE:LINE, never
 * half-way through a test. Steps are applied in order as the simulated
 * clock passes their time; the caller owns the clock.
 */
#ifndef BMSSIM_SIM_SCENARIO_H
#define BMSSIM_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim_model.h"

#define SIM_ALL 0u /* target: every battery; index: every cell/sensor */

enum sim_cmd {
	SIM_CMD_CURRENT,
	SIM_CMD_SOC,
	SIM_CMD_TEMP,
	SIM_CMD_CELL,
	SIM_CMD_CELLS,
	SIM_CMD_UNPIN,
	SIM_CMD_PROTECT,
	SIM_CMD_FET_CHARGE,
	SIM_CMD_FET_DISCHARGE,
	SIM_CMD_SILENT,
	SIM_CMD_ANSWER,
	SIM_CMD_SLEEP,
	SIM_CMD_GARBAGE,
	SIM_CMD_CORRUPT,
	SIM_CMD_DELAY,
	SIM_CMD_MODEL,
	SIM_CMD_SERIAL,
	SIM_CMD_END,
};

struct sim_step {
	double at;       /* simulated seconds from start */
	unsigned target; /* battery, 1-based; SIM_ALL */
	enum sim_cmd cmd;
	unsigned index; /* cell / sensor, 1-based; SIM_ALL */
	unsigned count; /* garbage, corrupt: answers; delay: ms */
	double value;   /* A, %, degrees C, V */
	uint32_t mask;  /* protect: enum sim_prot */
	bool on;        /* fet */
	double cells[SIM_MAX_CELLS];
	char word[SIM_TEXT_LEN]; /* model, serial */
	unsigned lineno;
	char *text; /* the step as written, for logs */
};

struct sim_scenario {
	struct sim_step *steps;
	size_t n, cap;
	size_t next; /* first step not yet taken */
};

/* The chain a script is checked against. */
struct sim_limits {
	unsigned nbatteries;
	unsigned ncells;
	unsigned ntemps;
};

/*
 * Parse a whole script from f (name is used in messages). On error returns
 * -1 with "NAME:LINE: message" in err and sc empty.
 */
int sim_scenario_parse(FILE *f, const char *name, const struct sim_limits *lim,
		       struct sim_scenario *sc, char *err, size_t errlen);
int sim_scenario_load(const char *path, const struct sim_limits *lim,
		      struct sim_scenario *sc, char *err, size_t errlen);
void sim_scenario_free(struct sim_scenario *sc);

/* Time of the next step; false when none is left. */
bool sim_scenario_next_at(const struct sim_scenario *sc, double *at);
/* Take the next step if it is due at t (at <= t); NULL otherwise. */
const struct sim_step *sim_scenario_take(struct sim_scenario *sc, double t);

/* Apply one step to one battery (SIM_CMD_END does nothing here). */
void sim_step_apply(const struct sim_step *s, struct sim_battery *b);
/* Does step s concern battery id? */
bool sim_step_targets(const struct sim_step *s, unsigned id);

#endif
