/* SPDX-License-Identifier: MIT */
/*
 * settings.h - the settings a user changes at run time (`smallbmsctl set
 * NAME VALUE`), kept in the state file, not in the configuration file.
 *
 * One table (settings.c) holds every setting: name, type, unit, default,
 * range, resolution, whether `reset-defaults` restores it, and a
 * description. Parsing, validation, the defaults, JSON and the docs all
 * read that table; settings_keys() exposes it.
 *
 * The battery monitor's definitions and defaults follow Victron's
 * smallBMS NG / BMV / SmartShunt. reset-defaults restores exactly:
 * charged_voltage, tail_current, charged_detection_time, low_soc_warning
 * and discharge_floor (as the smallBMS NG does); every other setting keeps
 * its value.
 *
 * Mode (on/off) is a setting too ("mode"), so `smallbmsctl mode off` is
 * `set mode off`: one validation path, persisted like every setting, and
 * not restored by reset-defaults.
 */
#ifndef SMALLBMS_SETTINGS_H
#define SMALLBMS_SETTINGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "guard.h"

struct settings {
	/* Battery monitor */
	double charged_voltage;          /* V per cell (x cells in series) */
	double tail_current;             /* % of the bank capacity */
	unsigned charged_detection_time; /* s */
	double low_soc_warning;          /* %, 0 = off */
	double discharge_floor;          /* %, 0 = off */
	double charge_efficiency;        /* % */
	double current_threshold;        /* A: |I| below counts as 0 */
	unsigned ttg_averaging;          /* s, 0 = no averaging */
	/* Protection (the guard reads these; the config file has the rest) */
	double prealarm_cell; /* V: pre-alarm below this cell voltage */
	/* Battery page and topology checks */
	double imbalance;            /* V: cell spread for "imbalanced" */
	double string_current_tol;   /* A: one string's currents agree within */
	double string_voltage_tol;   /* V: one string's voltages agree within */
	double parallel_voltage_tol; /* V: parallel strings agree within */
	/* Daemon */
	unsigned state_save_interval; /* s: at most one state save per */
	bool mode_on;                 /* Mode On/Off */
};

enum settings_type {
	SETTINGS_REAL,  /* double, `decimals` digits after the point */
	SETTINGS_UINT,  /* unsigned, whole numbers */
	SETTINGS_ONOFF, /* bool, "on" / "off" */
};

/* One row of the table. min/max/def are in the value's unit; for ONOFF
 * def is 1 (on) or 0 (off) and min/max are unused. */
struct settings_key {
	const char *name;
	enum settings_type type;
	const char *unit; /* "V", "%", "s", "A", "" */
	double def, min, max;
	int decimals; /* resolution for REAL: 10^-decimals */
	bool reset;   /* restored by reset-defaults */
	const char *desc;
	size_t off; /* into struct settings */
};

/* The table, in display order; *n gets its length. */
const struct settings_key *settings_keys(size_t *n);
const struct settings_key *settings_find(const char *name);

/* Every setting at its default. */
void settings_default(struct settings *s);

/*
 * Set one setting from text, as typed by a user: "3.45", "180", "on".
 * Strict: a plain decimal number (no exponent, hex, blanks or units), at
 * most the setting's decimals, inside its range. On error returns -1,
 * leaves *s unchanged and writes e.g. "discharge_floor: 120 is out of
 * range (0..99 %)" to err.
 */
int settings_set(struct settings *s, const char *name, const char *text,
		 char *err, size_t errlen);

/* Restore the five settings marked `reset` (see above); nothing else. */
void settings_reset_defaults(struct settings *s);

/* Value of one setting as text, in its resolution ("3.50", "180", "on"). */
void settings_format(const struct settings *s, const struct settings_key *k,
		     char *buf, size_t n);

/* {"charged_voltage":3.5,...,"mode":"on"}: every setting, by name. */
json_t *settings_to_json(const struct settings *s);

/*
 * The guard's whole settings: base (the configuration's [protection])
 * with the run-time settings the rules read (prealarm_cell,
 * low_soc_warning, discharge_floor) copied in from s.
 */
void settings_to_guard(const struct settings *s,
		       const struct guard_settings *base,
		       struct guard_settings *out);

/*
 * The one check of every path a run-time setting comes by (`set`,
 * reset-defaults, the state file; the configuration checks itself against
 * settings_default()): s with base must pass guard_settings_check(). 0, or
 * -1 with the rule it breaks in err.
 */
int settings_check(const struct settings *s, const struct guard_settings *base,
		   char *err, size_t errlen);

/*
 * `smallbmsctl set NAME VALUE` (and `mode`): settings_set() on a copy,
 * then settings_check() with base; *s changes only when both pass. -1
 * with err: the parse error, or "refused: " and the rule broken.
 */
int settings_change(struct settings *s, const char *name, const char *text,
		    const struct guard_settings *base, char *err,
		    size_t errlen);

/* reset-defaults, through the same check (it cannot fail with a valid
 * configuration; if it did, *s would stay as it was). */
int settings_reset_checked(struct settings *s,
			   const struct guard_settings *base, char *err,
			   size_t errlen);

/* A problem found while loading, for the caller to log: one per key. */
typedef void (*settings_problem_fn)(void *userdata, const char *message);

/*
 * The reverse, key by key (a state file): every valid key is taken; an
 * unknown key, a wrong type, a value out of range or with too many
 * decimals is dropped (the setting keeps its default) and reported by
 * name through problem. Then the whole must pass settings_check() with
 * base: a saved value that breaks a rule with the configuration is
 * dropped the same way. *s is always written (defaults + what was valid);
 * *mode_read says whether "mode" itself was read. Returns the number of
 * problems reported (-1 with nothing reported when o is not an object).
 */
int settings_from_json(struct settings *s, const json_t *o,
		       const struct guard_settings *base,
		       settings_problem_fn problem, void *userdata,
		       bool *mode_read);

/*
 * For `smallbmsctl settings`: [{"name","value","unit","default","min",
 * "max","reset_default","description"}, ...] in table order.
 */
json_t *settings_describe_json(const struct settings *s);

/* The table as tab-separated lines (name, type, unit, default, range,
 * reset, description) for the documentation check. */
void settings_print_keys(FILE *out);

#endif
