/* SPDX-License-Identifier: MIT */
/*
 * view.c - smallbmsctl's readable answers: the status, the battery page,
 * the tables of batteries, ports and settings, the history, Mode, and the
 * one-line watch update. Every formatter takes the view (client.h): a
 * value of the wrong type is noted there and the answer is refused as a
 * whole, never shown in part.
 */
#include "view.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guard.h"
#include "table.h"
#include "view_can.h"

/* A number with unit, "--" for null or absent. */
static void fmt_num(struct view *vw, char *buf, size_t len, const json_t *v,
		    int decimals, const char *unit, const char *key)
{
	if (!v || json_is_null(v)) {
		snprintf(buf, len, "--");
	} else if (json_is_number(v)) {
		snprintf(buf, len, "%.*f%s%s", decimals, json_number_value(v),
			 unit[0] ? " " : "", unit);
	} else {
		snprintf(buf, len, "?");
		vw->bad_key = key;
	}
}

static void fmt_key_num(struct view *vw, char *buf, size_t len, const json_t *o,
			const char *key, int decimals, const char *unit)
{
	fmt_num(vw, buf, len, json_object_get(o, key), decimals, unit, key);
}

/* "yes"/"no"; red when no. */
static const char *fmt_bool(struct view *vw, char *buf, size_t len,
			    const json_t *o, const char *key, const char *yes,
			    const char *no)
{
	const json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		snprintf(buf, len, "--");
		return NULL;
	}
	if (!json_is_boolean(v)) {
		vw->bad_key = key;
		snprintf(buf, len, "?");
		return NULL;
	}
	snprintf(buf, len, "%s", json_is_true(v) ? yes : no);
	return json_is_true(v) ? NULL : RED;
}

/* A list of strings, "none" when empty. */
static const char *fmt_list(struct view *vw, char *buf, size_t len,
			    const json_t *o, const char *key)
{
	const json_t *a = json_object_get(o, key);
	size_t i, n = 0;
	json_t *v;

	buf[0] = '\0';
	if (!a || json_is_null(a)) {
		snprintf(buf, len, "--");
		return NULL;
	}
	if (!json_is_array(a)) {
		vw->bad_key = key;
		return NULL;
	}
	json_array_foreach(a, i, v)
	{
		const char *s = json_string_value(v);
		char num[24];

		if (!s && json_is_integer(v)) {
			snprintf(num, sizeof(num), "%lld",
				 (long long)json_integer_value(v));
			s = num;
		}
		if (!s) {
			vw->bad_key = key;
			return NULL;
		}
		if (n >= len)
			break; /* truncated; still a valid string */
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "",
				      s);
	}
	if (json_array_size(a) == 0)
		snprintf(buf, len, "none");
	return json_array_size(a) ? RED : NULL;
}

/* " (battery B, cell C)" from {"battery":B,"cell":C}; empty if absent. */
static void fmt_where(struct view *vw, char *buf, size_t len, const json_t *o,
		      const char *key, const char *what)
{
	const json_t *w = json_object_get(o, key);
	const json_t *b = json_object_get(w, "battery");
	const json_t *i = json_object_get(w, what);

	buf[0] = '\0';
	if (!w || json_is_null(w))
		return;
	if (!json_is_integer(b) || !json_is_integer(i)) {
		vw->bad_key = key;
		return;
	}
	snprintf(buf, len, " (battery %lld, %s %lld)",
		 (long long)json_integer_value(b), what,
		 (long long)json_integer_value(i));
}

static int untrusted(const struct view *vw)
{
	return client_fail(EX_PROTOCOL,
			   "unexpected answer: '%s' has the wrong type",
			   vw->bad_key);
}

/* "3.301 V (battery 2, cell 5)" */
static void fmt_extreme(struct view *vw, struct row *r, const json_t *o,
			const char *key, const char *at, const char *what,
			int decimals, const char *unit)
{
	char where[96];

	fmt_key_num(vw, r->value, sizeof(r->value), o, key, decimals, unit);
	fmt_where(vw, where, sizeof(where), o, at, what);
	if (strcmp(r->value, "--") != 0)
		strncat(r->value, where,
			sizeof(r->value) - strlen(r->value) - 1);
}

/* "4 (2 in series, 2 in parallel)" */
static void fmt_batteries(struct view *vw, char *buf, size_t len,
			  const json_t *o)
{
	const json_t *n = json_object_get(o, "batteries");
	const json_t *ser = json_object_get(o, "series");
	const json_t *par = json_object_get(o, "parallel");

	snprintf(buf, len, "--");
	if (n && !json_is_null(n) && !json_is_integer(n))
		vw->bad_key = "batteries";
	if (!json_is_integer(n))
		return;
	if (json_is_integer(ser) && json_is_integer(par) &&
	    json_integer_value(n) > 0)
		snprintf(buf, len, "%lld (%lld in series, %lld in parallel)",
			 (long long)json_integer_value(n),
			 (long long)json_integer_value(ser),
			 (long long)json_integer_value(par));
	else
		snprintf(buf, len, "%lld", (long long)json_integer_value(n));
}

static void fmt_text(struct view *vw, char *buf, size_t len, const json_t *o,
		     const char *key);

/* Reason or warning tokens in words ("low cell voltage, mode off"). */
static void fmt_words(struct view *vw, char *buf, size_t len, const json_t *o,
		      const char *key, const char *(*name)(uint32_t),
		      const char *(*text)(uint32_t), unsigned count)
{
	const json_t *a = json_object_get(o, key);
	size_t i, used = 0;
	json_t *v;

	buf[0] = '\0';
	if (a && !json_is_array(a)) {
		vw->bad_key = key;
		return;
	}
	json_array_foreach(a, i, v)
	{
		const char *tok = json_string_value(v), *words = tok;

		if (!tok) {
			vw->bad_key = key;
			return;
		}
		for (unsigned b = 0; b < count; b++) {
			if (name(1u << b) && strcmp(name(1u << b), tok) == 0)
				words = text(1u << b);
		}
		used += (size_t)snprintf(buf + used,
					 used < len ? len - used : 0, "%s%s",
					 i ? ", " : "", words);
	}
}

/* "no (cell over-voltage)": the decision and, when not allowed, why. */
static const char *fmt_decision(struct view *vw, struct row *r, const json_t *o,
				const char *key, const char *reasons_key)
{
	char why[160];
	const char *color =
		fmt_bool(vw, r->value, sizeof(r->value), o, key, "yes", "no");

	fmt_words(vw, why, sizeof(why), o, reasons_key, guard_reason_name,
		  guard_reason_text, GUARD_REASON_COUNT);
	if (json_is_false(json_object_get(o, key))) {
		size_t n = strlen(r->value);
		/* No reason left: the restore delay is running, or waits for
		 * fresh data from every battery (only that may allow). */
		snprintf(r->value + n, sizeof(r->value) - n, " (%s)",
			 why[0] ? why
			 : json_is_true(json_object_get(o, "stale"))
				 ? "waiting for fresh data from every battery"
				 : "reconnecting after the restore delay");
	}
	return color;
}

/* "load on, charge off": every output's state. */
static void fmt_outputs(struct view *vw, char *buf, size_t len, const json_t *o)
{
	const json_t *a = json_object_get(o, "outputs");
	size_t i, used = 0;
	json_t *v;

	snprintf(buf, len, "none configured");
	if (a && !json_is_array(a))
		vw->bad_key = "outputs";
	json_array_foreach(a, i, v)
	{
		const char *name =
			json_string_value(json_object_get(v, "name"));
		const json_t *act = json_object_get(v, "active");

		if (!name || !json_is_boolean(act)) {
			vw->bad_key = "outputs";
			return;
		}
		used += (size_t)snprintf(
			buf + used, used < len ? len - used : 0, "%s%s %s",
			i ? ", " : "", name, json_is_true(act) ? "on" : "off");
	}
}

/* A state file that could not be used in full: said until the next
 * start, and loudly when Mode was switched off because of it. */
static void show_state_file(struct view *vw, const json_t *sf)
{
	const char *res = json_string_value(json_object_get(sf, "result"));
	const json_t *problems = json_object_get(sf, "problems");
	char line[512];
	size_t i;
	json_t *p;

	if (!res || (strcmp(res, "partial") && strcmp(res, "unusable")))
		return;
	snprintf(line, sizeof(line), "STATE FILE %s at start%s",
		 strcmp(res, "partial") ? "NOT USED" : "PARTLY USED",
		 json_is_true(json_object_get(sf, "mode_forced_off"))
			 ? ": Mode could not be read and is Off (smallbmsctl "
			   "mode on)"
			 : "");
	table_padded(vw, line, 0, false, RED);
	putchar('\n');
	json_array_foreach(problems, i, p)
	{
		if (json_is_string(p))
			printf("  %s\n", json_string_value(p));
	}
}

/* "80.0 % (from the batteries, not yet synchronised)". */
static void fmt_soc(struct view *vw, char *buf, size_t len, const json_t *o)
{
	const char *src = json_string_value(json_object_get(o, "soc_source"));
	size_t n;

	fmt_key_num(vw, buf, len, o, "soc", 1, "%");
	n = strlen(buf);
	if (src && strcmp(src, "batteries") == 0)
		snprintf(buf + n, len - n,
			 " (the batteries' own, not yet synchronised)");
	else if (src && strcmp(src, "user") == 0)
		snprintf(buf + n, len - n, " (set by hand)");
}

/* "21h12m to the discharge floor", "not discharging", "--". */
static void fmt_time_remaining(struct view *vw, char *buf, size_t len,
			       const json_t *o)
{
	const json_t *t = json_object_get(o, "time_remaining");
	const json_t *i = json_object_get(o, "average_current");
	long s;

	if (json_is_integer(t)) {
		s = (long)json_integer_value(t);
		snprintf(buf, len, "%ldh%02ldm to the discharge floor",
			 s / 3600, s / 60 % 60);
		return;
	}
	if (t && !json_is_null(t))
		vw->bad_key = "time_remaining";
	if (json_is_number(i) && json_number_value(i) >= 0)
		snprintf(buf, len, "-- (not discharging)");
	else
		snprintf(buf, len, "--");
}

int view_status(struct view *vw, const json_t *o)
{
	struct row rows[MAX_ROWS] = {0};
	const json_t *stale = json_object_get(o, "stale");
	int k = 0;

	rows[k].label = "Voltage";
	fmt_key_num(vw, rows[k++].value, sizeof(rows[0].value), o, "voltage", 2,
		    "V");
	rows[k].label = "Current";
	fmt_key_num(vw, rows[k++].value, sizeof(rows[0].value), o, "current", 2,
		    "A");
	rows[k].label = "Power";
	fmt_key_num(vw, rows[k++].value, sizeof(rows[0].value), o, "power", 0,
		    "W");
	rows[k].label = "State of charge";
	fmt_soc(vw, rows[k++].value, sizeof(rows[0].value), o);
	rows[k].label = "Consumed";
	fmt_key_num(vw, rows[k++].value, sizeof(rows[0].value), o,
		    "consumed_ah", 1, "Ah");
	rows[k].label = "Time remaining";
	fmt_time_remaining(vw, rows[k++].value, sizeof(rows[0].value), o);
	rows[k].label = "Batteries";
	fmt_batteries(vw, rows[k++].value, sizeof(rows[0].value), o);
	rows[k].label = "Min cell voltage";
	fmt_extreme(vw, &rows[k++], o, "min_cell_voltage", "min_cell_at",
		    "cell", 3, "V");
	rows[k].label = "Max cell voltage";
	fmt_extreme(vw, &rows[k++], o, "max_cell_voltage", "max_cell_at",
		    "cell", 3, "V");
	rows[k].label = "Min temperature";
	fmt_extreme(vw, &rows[k++], o, "min_temperature", "min_temperature_at",
		    "sensor", 1, "°C");
	rows[k].label = "Max temperature";
	fmt_extreme(vw, &rows[k++], o, "max_temperature", "max_temperature_at",
		    "sensor", 1, "°C");
	rows[k].label = "Allowed to charge";
	rows[k].color = fmt_decision(vw, &rows[k], o, "allowed_to_charge",
				     "charge_reasons");
	k++;
	rows[k].label = "Allowed to discharge";
	rows[k].color = fmt_decision(vw, &rows[k], o, "allowed_to_discharge",
				     "discharge_reasons");
	k++;
	if (json_object_get(o, "prealarm")) {
		char w[160];
		rows[k].label = "Pre-alarm";
		rows[k].color =
			fmt_bool(vw, rows[k].value, sizeof(rows[0].value), o,
				 "prealarm", "ON", "off");
		rows[k].color = json_is_true(json_object_get(o, "prealarm"))
					? RED
					: NULL;
		fmt_words(vw, w, sizeof(w), o, "warnings", guard_warning_name,
			  guard_warning_text, GUARD_WARNING_COUNT);
		if (w[0]) {
			size_t n = strlen(rows[k].value);
			snprintf(rows[k].value + n, sizeof(rows[0].value) - n,
				 " (warning: %s)", w);
		}
		k++;
	}
	if (json_is_string(json_object_get(o, "mode"))) {
		rows[k].label = "Mode";
		fmt_text(vw, rows[k++].value, sizeof(rows[0].value), o, "mode");
	}
	if (json_object_get(o, "remote")) {
		rows[k].label = "Remote input";
		fmt_text(vw, rows[k].value, sizeof(rows[0].value), o, "remote");
		if (json_is_null(json_object_get(o, "remote")))
			snprintf(rows[k].value, sizeof(rows[0].value),
				 "not configured");
		k++;
	}
	if (json_object_get(o, "outputs")) {
		rows[k].label = "Outputs";
		fmt_outputs(vw, rows[k++].value, sizeof(rows[0].value), o);
	}
	if (json_is_string(json_object_get(o, "balancer"))) {
		rows[k].label = "Balancer";
		fmt_text(vw, rows[k++].value, sizeof(rows[0].value), o,
			 "balancer");
	}
	if (json_array_size(json_object_get(o, "topology")) > 0) {
		rows[k].label = "Topology warning";
		rows[k].color = fmt_list(vw, rows[k].value,
					 sizeof(rows[0].value), o, "topology");
		k++;
	}
	if (json_object_get(o, "protection")) {
		rows[k].label = "Battery protection";
		rows[k].color =
			fmt_list(vw, rows[k].value, sizeof(rows[0].value), o,
				 "protection");
		k++;
	}
	if (json_array_size(json_object_get(o, "port_errors")) > 0) {
		rows[k].label = "Port errors";
		fmt_list(vw, rows[k].value, sizeof(rows[0].value), o,
			 "port_errors");
		rows[k++].color = RED;
	}
	if (json_array_size(json_object_get(o, "charge_without_temperature"))) {
		rows[k].label = "Charging without temperature";
		fmt_list(vw, rows[k].value, sizeof(rows[0].value), o,
			 "charge_without_temperature");
		rows[k++].color = RED;
	}
	k = view_can_rows(vw, o, rows, k, MAX_ROWS);
	if (stale && !json_is_boolean(stale))
		vw->bad_key = "stale";
	if (vw->bad_key)
		return untrusted(vw);
	table_rows(vw, rows, k);
	show_state_file(vw, json_object_get(o, "state_file"));
	if (json_is_true(json_object_get(o, "discovering"))) {
		table_padded(vw,
			     "FINDING BATTERIES: a port with addresses = scan "
			     "has not found its batteries yet",
			     0, false, RED);
		putchar('\n');
	} else if (json_is_true(stale)) {
		table_padded(vw, "STALE: no current data from some batteries",
			     0, false, RED);
		putchar('\n');
	}
	return EX_OK;
}

enum {
	COL_INDEX,
	COL_PORT,
	COL_ADDR,
	COL_MODEL,
	COL_VOLT,
	COL_CURR,
	COL_SOC,
	COL_CELLS,
	COL_MIN,
	COL_MAX,
	COL_TEMP,
	COL_STATE,
	NCOLS
};

static const char *const col_names[NCOLS] = {
	"#",   "port",  "addr",     "model",    "voltage", "current",
	"soc", "cells", "min cell", "max cell", "temp",    "state",
};
static const bool col_right[NCOLS] = {
	true, false, true, false, true, true,
	true, true,  true, true,  true, false,
};

/* Lowest and highest number in an array; false if it has none. */
static bool array_range(struct view *vw, const json_t *a, const char *key,
			double *lo, double *hi)
{
	bool any = false;
	size_t i;
	json_t *v;

	if (a && !json_is_array(a) && !json_is_null(a))
		vw->bad_key = key;
	json_array_foreach(a, i, v)
	{
		double x;

		if (json_is_null(v))
			continue;
		if (!json_is_number(v)) {
			vw->bad_key = key;
			return false;
		}
		x = json_number_value(v);
		if (!any || x < *lo)
			*lo = x;
		if (!any || x > *hi)
			*hi = x;
		any = true;
	}
	return any;
}

static void fmt_text(struct view *vw, char *buf, size_t len, const json_t *o,
		     const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (!v || json_is_null(v))
		snprintf(buf, len, "--");
	else
		vw->bad_key = key;
}

static void battery_cells(struct view *vw, char (*cells)[CELL_LEN],
			  const char **color, const json_t *b)
{
	const json_t *cv = json_object_get(b, "cells");
	double lo = 0, hi = 0;

	fmt_text(vw, cells[COL_INDEX], CELL_LEN, b, "index");
	fmt_text(vw, cells[COL_PORT], CELL_LEN, b, "port");
	fmt_text(vw, cells[COL_ADDR], CELL_LEN, b, "address");
	fmt_text(vw, cells[COL_MODEL], CELL_LEN, b, "model");
	fmt_key_num(vw, cells[COL_VOLT], CELL_LEN, b, "voltage", 2, "V");
	fmt_key_num(vw, cells[COL_CURR], CELL_LEN, b, "current", 2, "A");
	fmt_key_num(vw, cells[COL_SOC], CELL_LEN, b, "soc", 1, "%");
	snprintf(cells[COL_CELLS], CELL_LEN, "%zu", json_array_size(cv));
	snprintf(cells[COL_MIN], CELL_LEN, "--");
	snprintf(cells[COL_MAX], CELL_LEN, "--");
	if (array_range(vw, cv, "cells", &lo, &hi)) {
		snprintf(cells[COL_MIN], CELL_LEN, "%.3f V", lo);
		snprintf(cells[COL_MAX], CELL_LEN, "%.3f V", hi);
	}
	snprintf(cells[COL_TEMP], CELL_LEN, "--");
	if (array_range(vw, json_object_get(b, "temperatures"), "temperatures",
			&lo, &hi)) {
		if (lo == hi)
			snprintf(cells[COL_TEMP], CELL_LEN, "%.1f °C", hi);
		else
			snprintf(cells[COL_TEMP], CELL_LEN, "%.1f-%.1f °C", lo,
				 hi);
	}
	fmt_bool(vw, cells[COL_STATE], CELL_LEN, b, "stale", "stale", "ok");
	*color = json_is_true(json_object_get(b, "stale"))    ? RED
		 : json_is_false(json_object_get(b, "stale")) ? GREEN
							      : NULL;
}

int view_batteries(struct view *vw, const json_t *o)
{
	static const struct table_def def = {
		.ncols = NCOLS,
		.names = col_names,
		.right = col_right,
		.color_col = COL_STATE,
		.list_key = "batteries",
		.empty = "No batteries configured.",
		.fill = battery_cells,
	};

	return table_show(vw, &def, json_object_get(o, "batteries"));
}

/* ---- one battery --------------------------------------------------- */

enum kind { K_TEXT, K_NUM, K_BOOL, K_LIST, K_HEX, K_STALE, K_SKIP };

struct field {
	const char *key;
	const char *label;
	enum kind kind;
	int decimals;
	const char *unit;
};

static const struct field fields[] = {
	{"type", NULL, K_SKIP, 0, ""},
	{"cells", NULL, K_SKIP, 0, ""},
	{"temperatures", NULL, K_SKIP, 0, ""},
	{"index", "Battery", K_TEXT, 0, ""},
	{"protocol", "Protocol", K_TEXT, 0, ""},
	{"port", "Port", K_TEXT, 0, ""},
	{"device", "Device", K_TEXT, 0, ""},
	{"address", "Address", K_TEXT, 0, ""},
	{"model", "Model", K_TEXT, 0, ""},
	{"serial", "Serial number", K_TEXT, 0, ""},
	{"firmware", "Firmware", K_TEXT, 0, ""},
	{"manufactured", "Manufactured", K_TEXT, 0, ""},
	{"voltage", "Voltage", K_NUM, 3, "V"},
	{"current", "Current", K_NUM, 3, "A"},
	{"soc", "State of charge", K_NUM, 1, "%"},
	{"remaining_ah", "Remaining", K_NUM, 3, "Ah"},
	{"nominal_ah", "Nominal capacity", K_NUM, 3, "Ah"},
	{"full_ah", "Full-charge capacity", K_NUM, 3, "Ah"},
	{"design_ah", "Design capacity", K_NUM, 3, "Ah"},
	{"cycles", "Cycles", K_NUM, 0, ""},
	{"protection", "Protection", K_LIST, 0, ""},
	{"protection_raw", "Protection (raw)", K_HEX, 0, ""},
	{"balancing", "Balancing cells", K_LIST, 0, ""},
	{"balancer", "Balancer", K_TEXT, 0, ""},
	{"balance_current", "Balancing current", K_NUM, 3, "A"},
	{"charge_fet", "Charge FET", K_BOOL, 0, ""},
	{"discharge_fet", "Discharge FET", K_BOOL, 0, ""},
	{"valid", "Has data", K_BOOL, 0, ""},
	{"stale", "State", K_STALE, 0, ""},
	{"age", "Data age", K_NUM, 1, "s"},
	{"frames_good", "Good frames", K_NUM, 0, ""},
	{"frames_bad", "Bad frames", K_NUM, 0, ""},
	{"timeouts", "Timeouts", K_NUM, 0, ""},
	{"readings_rejected", "Rejected readings", K_NUM, 0, ""},
	{"last_rejection", "Last rejected", K_TEXT, 0, ""},
};

static const struct field *find_field(const char *key)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (strcmp(fields[i].key, key) == 0)
			return &fields[i];
	}
	return NULL;
}

/* A key this version does not know: shown as it came. */
static void fmt_unknown(struct view *vw, struct row *r, const char *key,
			const json_t *v)
{
	char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	r->label = key;
	if (json_is_string(v))
		snprintf(r->value, sizeof(r->value), "%s",
			 json_string_value(v));
	else if (json_is_boolean(v))
		snprintf(r->value, sizeof(r->value), "%s",
			 json_is_true(v) ? "yes" : "no");
	else if (json_is_null(v))
		snprintf(r->value, sizeof(r->value), "--");
	else
		snprintf(r->value, sizeof(r->value), "%s", txt ? txt : "?");
	free(txt);
}

static void fmt_field(struct view *vw, struct row *r, const struct field *f,
		      const json_t *o, const json_t *v)
{
	r->label = f->label;
	switch (f->kind) {
	case K_TEXT:
		fmt_text(vw, r->value, sizeof(r->value), o, f->key);
		break;
	case K_NUM:
		fmt_num(vw, r->value, sizeof(r->value), v, f->decimals, f->unit,
			f->key);
		break;
	case K_BOOL: {
		bool yes_no = strcmp(f->key, "valid") == 0; /* not a switch */

		r->color =
			fmt_bool(vw, r->value, sizeof(r->value), o, f->key,
				 yes_no ? "yes" : "on", yes_no ? "no" : "off");
		break;
	}
	case K_LIST:
		r->color = fmt_list(vw, r->value, sizeof(r->value), o, f->key);
		break;
	case K_HEX:
		if (json_is_integer(v))
			snprintf(r->value, sizeof(r->value), "0x%04llx",
				 (unsigned long long)json_integer_value(v));
		else if (json_is_null(v))
			snprintf(r->value, sizeof(r->value), "--");
		else
			vw->bad_key = f->key;
		break;
	case K_STALE:
		fmt_bool(vw, r->value, sizeof(r->value), o, f->key,
			 "STALE: no current data", "ok");
		r->color = json_is_true(v) ? RED : NULL;
		break;
	case K_SKIP:
		break;
	}
}

/* "Cells:" then one numbered line each, the extremes marked. */
static void print_series(struct view *vw, const json_t *o, const char *key,
			 const char *title, const char *what, int decimals,
			 const char *unit)
{
	const json_t *a = json_object_get(o, key);
	double lo = 0, hi = 0;
	bool range = array_range(vw, a, key, &lo, &hi) && lo != hi;
	size_t i;
	json_t *v;

	if (json_array_size(a) == 0)
		return;
	printf("%s:\n", title);
	json_array_foreach(a, i, v)
	{
		char val[48];
		double x = json_number_value(v);

		fmt_num(vw, val, sizeof(val), v, decimals, unit, key);
		printf("  %s %2zu  %s%s\n", what, i + 1, val,
		       !range || json_is_null(v) ? ""
		       : x == lo                 ? "  (min)"
		       : x == hi                 ? "  (max)"
						 : "");
	}
}

int view_battery(struct view *vw, json_t *o)
{
	/* accept {"type":"battery","battery":{...}} as well as flat */
	json_t *inner = json_object_get(o, "battery");
	struct row rows[MAX_ROWS] = {0};
	const char *key;
	json_t *v;
	int k = 0;
	double lo, hi;

	if (json_is_object(inner))
		o = inner;
	json_object_foreach(o, key, v)
	{
		const struct field *f = find_field(key);

		if (k == MAX_ROWS)
			break;
		if (f && f->kind == K_SKIP)
			continue;
		if (f)
			fmt_field(vw, &rows[k++], f, o, v);
		else
			fmt_unknown(vw, &rows[k++], key, v);
	}
	/* validate the arrays before printing anything */
	array_range(vw, json_object_get(o, "cells"), "cells", &lo, &hi);
	array_range(vw, json_object_get(o, "temperatures"), "temperatures", &lo,
		    &hi);
	if (vw->bad_key)
		return untrusted(vw);
	table_rows(vw, rows, k);
	print_series(vw, o, "cells", "Cells", "cell", 3, "V");
	print_series(vw, o, "temperatures", "Temperatures", "sensor", 1, "°C");
	return EX_OK;
}

/* ---- the ports table ----------------------------------------------- */

enum {
	PCOL_NAME,
	PCOL_DEVICE,
	PCOL_PROTO,
	PCOL_STATE,
	PCOL_BATS,
	PCOL_SCANS,
	PCOL_SCAN,
	PCOL_ERROR,
	NPCOLS
};

static const char *const pcol_names[NPCOLS] = {
	"port",      "device", "protocol",  "state",
	"batteries", "scans",  "last scan", "error",
};

/* "4", or on a scanned port "4 of 16 (scanning)". */
static void port_batteries_cell(struct view *vw, char *cell, const json_t *p)
{
	const json_t *scan = json_object_get(p, "scan");
	const json_t *n = json_object_get(p, "batteries");
	const json_t *cand = json_object_get(scan, "candidates");

	if (!json_is_integer(n)) {
		vw->bad_key = "batteries";
		return;
	}
	if (!json_is_object(scan)) {
		snprintf(cell, CELL_LEN, "%lld",
			 (long long)json_integer_value(n));
		return;
	}
	if (!json_is_integer(cand)) {
		vw->bad_key = "scan";
		return;
	}
	snprintf(cell, CELL_LEN, "%lld of %lld%s",
		 (long long)json_integer_value(n),
		 (long long)json_integer_value(cand),
		 json_is_true(json_object_get(scan, "discovering"))
			 ? " (scanning)"
			 : "");
}

static void port_cells(struct view *vw, char (*cells)[CELL_LEN],
		       const char **color, const json_t *p)
{
	const json_t *open = json_object_get(p, "open");
	const json_t *scan = json_object_get(p, "last_scan");

	fmt_text(vw, cells[PCOL_NAME], CELL_LEN, p, "name");
	fmt_text(vw, cells[PCOL_DEVICE], CELL_LEN, p, "device");
	fmt_text(vw, cells[PCOL_PROTO], CELL_LEN, p, "protocol");
	if (!json_is_boolean(open))
		vw->bad_key = "open";
	snprintf(cells[PCOL_STATE], CELL_LEN, "%s",
		 json_is_true(open) ? "open" : "closed");
	port_batteries_cell(vw, cells[PCOL_BATS], p);
	fmt_text(vw, cells[PCOL_SCANS], CELL_LEN, p, "scans");
	if (json_is_number(scan))
		snprintf(cells[PCOL_SCAN], CELL_LEN, "%.0f ms",
			 json_number_value(scan) * 1000.0);
	else
		snprintf(cells[PCOL_SCAN], CELL_LEN, "--");
	fmt_text(vw, cells[PCOL_ERROR], CELL_LEN, p, "error");
}

int view_ports(struct view *vw, const json_t *o)
{
	static const struct table_def def = {
		.ncols = NPCOLS,
		.names = pcol_names,
		.color_col = -1,
		.list_key = "ports",
		.empty = "No ports configured.",
		.fill = port_cells,
	};

	return table_show(vw, &def, json_object_get(o, "ports"));
}

/* ---- watch ---------------------------------------------------------- */

static double num_or_nan(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

static const char *yes_no(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_true(v) ? "yes" : json_is_false(v) ? "no" : "--";
}

/* One line per update when the output is not a terminal (a log, a pipe). */
void view_watch_line(const json_t *o)
{
	char t[16];
	time_t now = time(NULL);

	strftime(t, sizeof(t), "%H:%M:%S", localtime(&now));
	printf("%s  SoC %.1f %%  %.2f V  %+.2f A  %.0f W  cells %.3f-%.3f V  "
	       "charge %s  discharge %s%s\n",
	       t, num_or_nan(o, "soc"), num_or_nan(o, "voltage"),
	       num_or_nan(o, "current"), num_or_nan(o, "power"),
	       num_or_nan(o, "min_cell_voltage"),
	       num_or_nan(o, "max_cell_voltage"),
	       yes_no(o, "allowed_to_charge"),
	       yes_no(o, "allowed_to_discharge"),
	       json_is_true(json_object_get(o, "stale")) ? "  STALE" : "");
}

int view_mode(struct view *vw, const json_t *o)
{
	const char *m = json_string_value(json_object_get(o, "mode"));

	if (!m)
		return client_fail(EX_PROTOCOL, "unexpected answer: no mode");
	printf("Mode: %s\n", m);
	return EX_OK;
}

enum { SCOL_NAME, SCOL_VALUE, SCOL_DEFAULT, SCOL_RANGE, SCOL_RESET, NSCOLS };

static const char *const scol_names[NSCOLS] = {"setting", "value", "default",
					       "range", "reset-defaults"};

static void json_text(struct view *vw, char *buf, size_t len, const json_t *v,
		      const char *unit)
{
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_number(v))
		snprintf(buf, len, "%g%s%s", json_number_value(v),
			 unit && *unit ? " " : "", unit ? unit : "");
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "on" : "off");
	else
		snprintf(buf, len, "--");
}

static void setting_cells(struct view *vw, char (*cells)[CELL_LEN],
			  const char **color, const json_t *e)
{
	const char *unit = json_string_value(json_object_get(e, "unit"));
	char lo[24], hi[24];

	fmt_text(vw, cells[SCOL_NAME], CELL_LEN, e, "name");
	json_text(vw, cells[SCOL_VALUE], CELL_LEN, json_object_get(e, "value"),
		  unit);
	json_text(vw, cells[SCOL_DEFAULT], CELL_LEN,
		  json_object_get(e, "default"), unit);
	json_text(vw, lo, sizeof(lo), json_object_get(e, "min"), NULL);
	json_text(vw, hi, sizeof(hi), json_object_get(e, "max"), NULL);
	if (strcmp(lo, "--") == 0)
		snprintf(cells[SCOL_RANGE], CELL_LEN, "on/off");
	else
		snprintf(cells[SCOL_RANGE], CELL_LEN, "%s..%s", lo, hi);
	snprintf(cells[SCOL_RESET], CELL_LEN, "%s",
		 json_is_true(json_object_get(e, "reset_default")) ? "yes"
								   : "");
}

int view_settings(struct view *vw, const json_t *o)
{
	static const struct table_def def = {
		.ncols = NSCOLS,
		.names = scol_names,
		.color_col = -1,
		.list_key = "settings",
		.empty = "No settings.",
		.fill = setting_cells,
	};

	return table_show(vw, &def, json_object_get(o, "settings"));
}

/* History items: the key in words, the value with its unit. */
static const struct {
	const char *key, *label, *unit;
} history_items[] = {
	{"deepest_discharge_ah", "Deepest discharge", "Ah"},
	{"cumulative_ah_drawn", "Cumulative Ah drawn", "Ah"},
	{"discharged_energy_kwh", "Discharged energy", "kWh"},
	{"charged_energy_kwh", "Charged energy", "kWh"},
	{"synchronisations", "Synchronisations", ""},
	{"cycles", "Charge cycles", ""},
	{"last_full_charge", "Last full charge", NULL},
	{"min_voltage", "Min battery voltage", "V"},
	{"max_voltage", "Max battery voltage", "V"},
	{"min_cell_voltage", "Min cell voltage", "V"},
	{"max_cell_voltage", "Max cell voltage", "V"},
	{"min_temperature", "Min battery temperature", "°C"},
	{"max_temperature", "Max battery temperature", "°C"},
};

int view_history(struct view *vw, const json_t *o)
{
	struct row rows[MAX_ROWS] = {0};
	int k = 0;

	for (size_t i = 0; i < sizeof(history_items) / sizeof(history_items[0]);
	     i++) {
		const json_t *v = json_object_get(o, history_items[i].key);

		rows[k].label = history_items[i].label;
		if (!history_items[i].unit && json_is_integer(v)) {
			time_t t = (time_t)json_integer_value(v);
			strftime(rows[k].value, sizeof(rows[k].value),
				 "%Y-%m-%d %H:%M", localtime(&t));
		} else if (v && !json_is_null(v) && !json_is_number(v)) {
			vw->bad_key = history_items[i].key;
		} else {
			json_text(vw, rows[k].value, sizeof(rows[k].value), v,
				  history_items[i].unit);
		}
		k++;
	}
	if (vw->bad_key)
		return untrusted(vw);
	table_rows(vw, rows, k);
	return EX_OK;
}
