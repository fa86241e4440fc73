/* SPDX-License-Identifier: MIT */
/*
 * settings.c - the run-time settings: one table, strict parsing, JSON.
 *
 * Defaults and ranges: the monitor's follow the BMV / SmartShunt (tail
 * current 0.5..10 %, charge efficiency 50..100 %, current threshold
 * 0..2 A, time-to-go averaging 0..12 min); charged voltage is per cell for
 * LiFePO4 (3.30..3.65 V). The charged detection time goes down to 10 s
 * (the BMV's minimum is 1 min) so a test bench does not wait minutes. The
 * smallBMS NG manual gives no defaults for the low-SoC warning and the
 * discharge floor; 20 % and 10 % are the usual choices for LiFePO4.
 *
 * Numbers go through the one strict parser (number.h), like the
 * configuration's and the socket commands'.
 */
#include "settings.h"

#include "number.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#define S(m) .off = offsetof(struct settings, m)

static const struct settings_key keys[] = {
	{"charged_voltage", SETTINGS_REAL, "V", 3.50, 3.30, 3.65, 2, true,
	 "charged voltage per cell: the bank is full at this voltage x cells "
	 "in series (with the tail current for the detection time)",
	 S(charged_voltage)},
	{"tail_current", SETTINGS_REAL, "%", 4.0, 0.5, 10.0, 1, true,
	 "tail current, % of the bank capacity: full when |current| is at or "
	 "below it (with the charged voltage for the detection time)",
	 S(tail_current)},
	{"charged_detection_time", SETTINGS_UINT, "s", 180, 10, 3000, 0, true,
	 "how long the charged voltage and tail current must hold before SoC "
	 "is synchronised to 100 %",
	 S(charged_detection_time)},
	{"low_soc_warning", SETTINGS_REAL, "%", 20, 0, 99, 0, true,
	 "low-SoC warning level: pre-alarm and a warning at or below it (0 = "
	 "off); above discharge_floor",
	 S(low_soc_warning)},
	{"discharge_floor", SETTINGS_REAL, "%", 10, 0, 99, 0, true,
	 "discharge floor: loads are disconnected (ATD) at or below this SoC; "
	 "time remaining counts down to it (0 = off); below low_soc_warning",
	 S(discharge_floor)},
	{"charge_efficiency", SETTINGS_REAL, "%", 95, 50, 100, 0, false,
	 "charge efficiency: the share of the charge current that is stored",
	 S(charge_efficiency)},
	{"current_threshold", SETTINGS_REAL, "A", 0.10, 0, 2.00, 2, false,
	 "currents smaller than this (either way) count as zero",
	 S(current_threshold)},
	{"ttg_averaging", SETTINGS_UINT, "s", 180, 0, 720, 0, false,
	 "averaging period of the discharge current for the time remaining (0 "
	 "= the latest current)",
	 S(ttg_averaging)},
	{"prealarm_cell", SETTINGS_REAL, "V", 3.10, 2.50, 3.40, 2, false,
	 "pre-alarm when any cell is below this voltage; at least "
	 "cell_undervoltage + 0.10 V",
	 S(prealarm_cell)},
	{"imbalance", SETTINGS_REAL, "V", 0.05, 0.01, 0.50, 2, false,
	 "balancer status: imbalanced when the cell spread is above this",
	 S(imbalance)},
	{"string_current_tolerance", SETTINGS_REAL, "A", 2.0, 0.1, 50.0, 1,
	 false,
	 "topology: batteries in one series string carry the same current "
	 "within this (or 10 % of it, whichever is more)",
	 S(string_current_tol)},
	{"string_voltage_tolerance", SETTINGS_REAL, "V", 1.0, 0.1, 10.0, 1,
	 false, "topology: batteries in one series string agree within this",
	 S(string_voltage_tol)},
	{"parallel_voltage_tolerance", SETTINGS_REAL, "V", 0.5, 0.05, 10.0, 2,
	 false, "topology: parallel strings agree within this",
	 S(parallel_voltage_tol)},
	{"state_save_interval", SETTINGS_UINT, "s", 60, 10, 3600, 0, false,
	 "the state (SoC, history) is written at most this often; settings "
	 "changes and a clean stop are written at once",
	 S(state_save_interval)},
	{"mode", SETTINGS_ONOFF, "", 1, 0, 1, 0, false,
	 "mode: off releases every output (loads and chargers off)",
	 S(mode_on)},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const type_names[] = {
	[SETTINGS_REAL] = "number",
	[SETTINGS_UINT] = "whole number",
	[SETTINGS_ONOFF] = "on/off",
};

const struct settings_key *settings_keys(size_t *n)
{
	*n = NKEYS;
	return keys;
}

const struct settings_key *settings_find(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static double *real_field(struct settings *s, const struct settings_key *k)
{
	return (double *)(void *)((char *)s + k->off);
}

static unsigned *uint_field(struct settings *s, const struct settings_key *k)
{
	return (unsigned *)(void *)((char *)s + k->off);
}

static bool *bool_field(struct settings *s, const struct settings_key *k)
{
	return (bool *)(void *)((char *)s + k->off);
}

static double get_value(const struct settings *s, const struct settings_key *k)
{
	const char *base = (const char *)s + k->off;

	switch (k->type) {
	case SETTINGS_REAL:
		return *(const double *)(const void *)base;
	case SETTINGS_UINT:
		return *(const unsigned *)(const void *)base;
	case SETTINGS_ONOFF:
		return *(const bool *)(const void *)base;
	}
	return NAN;
}

/* Store a value already checked against the key's type and range. */
static void put_value(struct settings *s, const struct settings_key *k,
		      double v)
{
	switch (k->type) {
	case SETTINGS_REAL:
		*real_field(s, k) = v;
		break;
	case SETTINGS_UINT:
		*uint_field(s, k) = (unsigned)v;
		break;
	case SETTINGS_ONOFF:
		*bool_field(s, k) = v != 0;
		break;
	}
}

void settings_default(struct settings *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < NKEYS; i++)
		put_value(s, &keys[i], keys[i].def);
}

void settings_reset_defaults(struct settings *s)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].reset)
			put_value(s, &keys[i], keys[i].def);
}

/* " V", " %", "" */
static const char *unit_sep(const struct settings_key *k)
{
	return k->unit[0] ? " " : "";
}

static int out_of_range(const struct settings_key *k, const char *shown,
			char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s is out of range (%g..%g%s%s)", k->name,
		 shown, k->min, k->max, unit_sep(k), k->unit);
	return -1;
}

static bool parse_onoff(const char *s, double *v)
{
	if (strcmp(s, "on") == 0)
		*v = 1;
	else if (strcmp(s, "off") == 0)
		*v = 0;
	else
		return false;
	return true;
}

/* Text -> value for key k, checked; -1 and a message on error. */
static int parse_text(const struct settings_key *k, const char *text, double *v,
		      char *err, size_t errlen)
{
	unsigned nd;

	if (k->type == SETTINGS_ONOFF) {
		if (parse_onoff(text, v))
			return 0;
		snprintf(err, errlen, "%s: '%s' is not on or off", k->name,
			 text);
		return -1;
	}
	if (!num_decimal_all(text, v, &nd)) {
		snprintf(err, errlen, "%s: '%s' is not a %s", k->name, text,
			 k->type == SETTINGS_UINT ? "whole number" : "number");
		return -1;
	}
	if (nd > (unsigned)k->decimals) {
		if (k->decimals == 0)
			snprintf(err, errlen, "%s: '%s' is not a whole number",
				 k->name, text);
		else
			snprintf(err, errlen,
				 "%s: '%s' has more than %d decimals", k->name,
				 text, k->decimals);
		return -1;
	}
	if (*v < k->min || *v > k->max)
		return out_of_range(k, text, err, errlen);
	return 0;
}

static void unknown_setting(const char *name, char *err, size_t errlen)
{
	size_t len;

	snprintf(err, errlen, "%s: unknown setting (known:", name);
	for (size_t i = 0; i < NKEYS; i++) {
		len = strlen(err);
		snprintf(err + len, errlen - len, "%s %s", i ? "," : "",
			 keys[i].name);
	}
	len = strlen(err);
	snprintf(err + len, errlen - len, ")");
}

int settings_set(struct settings *s, const char *name, const char *text,
		 char *err, size_t errlen)
{
	const struct settings_key *k = settings_find(name);
	double v;

	if (!k) {
		unknown_setting(name, err, errlen);
		return -1;
	}
	if (parse_text(k, text, &v, err, errlen) < 0)
		return -1;
	put_value(s, k, v);
	return 0;
}

void settings_format(const struct settings *s, const struct settings_key *k,
		     char *buf, size_t n)
{
	double v = get_value(s, k);

	if (k->type == SETTINGS_ONOFF)
		snprintf(buf, n, "%s", v != 0 ? "on" : "off");
	else
		snprintf(buf, n, "%.*f", k->decimals, v);
}

static double round_to(double v, int decimals)
{
	double scale = pow(10.0, decimals);

	return round(v * scale) / scale;
}

static json_t *value_json(const struct settings_key *k, double v)
{
	switch (k->type) {
	case SETTINGS_REAL:
		return json_real(round_to(v, k->decimals));
	case SETTINGS_UINT:
		return json_integer((json_int_t)v);
	case SETTINGS_ONOFF:
		return json_string(v != 0 ? "on" : "off");
	}
	return json_null();
}

json_t *settings_to_json(const struct settings *s)
{
	json_t *o = json_object();

	for (size_t i = 0; i < NKEYS; i++)
		json_object_set_new(
			o, keys[i].name,
			value_json(&keys[i], get_value(s, &keys[i])));
	return o;
}

/* A JSON number for a REAL key: in range and on its resolution. */
static int real_from_json(const struct settings_key *k, const json_t *j,
			  double *v, char *err, size_t errlen)
{
	double scaled;
	char shown[32];

	if (!json_is_number(j)) {
		snprintf(err, errlen, "%s: not a number", k->name);
		return -1;
	}
	*v = json_number_value(j);
	snprintf(shown, sizeof(shown), "%g", *v);
	if (!isfinite(*v) || *v < k->min || *v > k->max)
		return out_of_range(k, shown, err, errlen);
	/* 3.5 written with 15 significant digits reads back within 1e-15. */
	scaled = *v * pow(10.0, k->decimals);
	if (fabs(scaled - round(scaled)) > 1e-6) {
		snprintf(err, errlen, "%s: %s has more than %d decimals",
			 k->name, shown, k->decimals);
		return -1;
	}
	*v = round_to(*v, k->decimals);
	return 0;
}

static int uint_from_json(const struct settings_key *k, const json_t *j,
			  double *v, char *err, size_t errlen)
{
	json_int_t i;
	char shown[32];

	if (!json_is_integer(j)) {
		snprintf(err, errlen, "%s: not a whole number", k->name);
		return -1;
	}
	i = json_integer_value(j);
	snprintf(shown, sizeof(shown), "%lld", (long long)i);
	if (i < (json_int_t)k->min || i > (json_int_t)k->max)
		return out_of_range(k, shown, err, errlen);
	*v = (double)i;
	return 0;
}

static int onoff_from_json(const struct settings_key *k, const json_t *j,
			   double *v, char *err, size_t errlen)
{
	if (json_is_string(j) && parse_onoff(json_string_value(j), v))
		return 0;
	snprintf(err, errlen, "%s: not \"on\" or \"off\"", k->name);
	return -1;
}

static int key_from_json(const struct settings_key *k, const json_t *j,
			 double *v, char *err, size_t errlen)
{
	switch (k->type) {
	case SETTINGS_REAL:
		return real_from_json(k, j, v, err, errlen);
	case SETTINGS_UINT:
		return uint_from_json(k, j, v, err, errlen);
	case SETTINGS_ONOFF:
		return onoff_from_json(k, j, v, err, errlen);
	}
	return -1;
}

void settings_to_guard(const struct settings *s,
		       const struct guard_settings *base,
		       struct guard_settings *out)
{
	*out = *base;
	out->prealarm_cell = s->prealarm_cell;
	out->low_soc_warning = s->low_soc_warning;
	out->discharge_floor = s->discharge_floor;
}

int settings_check(const struct settings *s, const struct guard_settings *base,
		   char *err, size_t errlen)
{
	struct guard_settings g;

	settings_to_guard(s, base, &g);
	return guard_settings_check(&g, err, errlen);
}

/* A candidate becomes the settings only if it passes the rules. */
static int commit(struct settings *s, const struct settings *cand,
		  const struct guard_settings *base, char *err, size_t errlen)
{
	char why[320];

	if (settings_check(cand, base, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "refused: %s", why);
		return -1;
	}
	*s = *cand;
	return 0;
}

int settings_change(struct settings *s, const char *name, const char *text,
		    const struct guard_settings *base, char *err, size_t errlen)
{
	struct settings cand = *s;

	if (settings_set(&cand, name, text, err, errlen) < 0)
		return -1;
	return commit(s, &cand, base, err, errlen);
}

int settings_reset_checked(struct settings *s,
			   const struct guard_settings *base, char *err,
			   size_t errlen)
{
	struct settings cand = *s;

	settings_reset_defaults(&cand);
	return commit(s, &cand, base, err, errlen);
}

__attribute__((format(printf, 3, 4))) static void
report(settings_problem_fn fn, void *ud, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (fn)
		fn(ud, msg);
}

/* The run-time settings the rules read, in the order they are given up
 * when a saved combination breaks a rule with the configuration. */
static const char *const guard_keys[] = {"prealarm_cell", "low_soc_warning",
					 "discharge_floor"};
#define NGUARD_KEYS (sizeof(guard_keys) / sizeof(guard_keys[0]))

/* Back to the default, one guard key after the other, until the rules
 * hold (the defaults hold with any valid configuration: cfg.c checks). */
static int drop_conflicts(struct settings *s, const struct guard_settings *base,
			  settings_problem_fn fn, void *ud)
{
	char err[256], was[32], def[32];
	int n = 0;

	for (size_t i = 0; i < NGUARD_KEYS; i++) {
		const struct settings_key *k = settings_find(guard_keys[i]);
		struct settings d;

		if (settings_check(s, base, err, sizeof(err)) == 0)
			break;
		settings_default(&d);
		settings_format(s, k, was, sizeof(was));
		settings_format(&d, k, def, sizeof(def));
		if (strcmp(was, def) == 0)
			continue;
		report(fn, ud,
		       "%s: %s %s breaks a rule with the configuration (%s): "
		       "using the default %s %s",
		       k->name, was, k->unit, err, def, k->unit);
		put_value(s, k, get_value(&d, k));
		n++;
	}
	return n;
}

int settings_from_json(struct settings *s, const json_t *o,
		       const struct guard_settings *base,
		       settings_problem_fn problem, void *userdata,
		       bool *mode_read)
{
	const char *name;
	json_t *j;
	int n = 0;

	*mode_read = false;
	settings_default(s);
	if (!json_is_object(o))
		return -1;
	/* jansson's iteration macro casts away const; the object is only
	 * read. */
	json_object_foreach((json_t *)(uintptr_t)o, name, j)
	{
		const struct settings_key *k = settings_find(name);
		char err[160];
		double v;

		if (!k) {
			report(problem, userdata,
			       "%s: unknown setting, dropped", name);
			n++;
			continue;
		}
		if (key_from_json(k, j, &v, err, sizeof(err)) < 0) {
			report(problem, userdata, "%s; using the default", err);
			n++;
			continue;
		}
		put_value(s, k, v);
		if (k->off == offsetof(struct settings, mode_on))
			*mode_read = true;
	}
	return n + drop_conflicts(s, base, problem, userdata);
}

json_t *settings_describe_json(const struct settings *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < NKEYS; i++) {
		const struct settings_key *k = &keys[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(k->name));
		json_object_set_new(o, "type",
				    json_string(type_names[k->type]));
		json_object_set_new(o, "value", value_json(k, get_value(s, k)));
		json_object_set_new(o, "unit", json_string(k->unit));
		json_object_set_new(o, "default", value_json(k, k->def));
		if (k->type == SETTINGS_ONOFF) {
			json_object_set_new(o, "min", json_null());
			json_object_set_new(o, "max", json_null());
		} else {
			json_object_set_new(o, "min", value_json(k, k->min));
			json_object_set_new(o, "max", value_json(k, k->max));
		}
		json_object_set_new(o, "reset_default", json_boolean(k->reset));
		json_object_set_new(o, "description", json_string(k->desc));
		json_array_append_new(a, o);
	}
	return a;
}

void settings_print_keys(FILE *out)
{
	struct settings def;
	char value[32];

	settings_default(&def);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct settings_key *k = &keys[i];

		settings_format(&def, k, value, sizeof(value));
		fprintf(out, "%s\t%s\t%s\t%s\t", k->name, type_names[k->type],
			k->unit[0] ? k->unit : "-", value);
		if (k->type == SETTINGS_ONOFF)
			fprintf(out, "on, off");
		else
			fprintf(out, "%.*f..%.*f", k->decimals, k->min,
				k->decimals, k->max);
		fprintf(out, "\t%s\t%s\n", k->reset ? "reset" : "kept",
			k->desc);
	}
}
