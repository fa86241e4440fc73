/* SPDX-License-Identifier: MIT */
/*
 * view_can.c - the status rows of the CAN-bus BMS output: the limits and
 * why each is below its maximum, and the link (#15).
 */
#include "view_can.h"

#include <stdio.h>
#include <string.h>

/* "55.20 V (max 55.20; high_cell, ramp)"; "--" without a value. */
static void limit_row(struct view *vw, struct row *r, const json_t *lim,
		      const char *key, const char *max_key,
		      const char *reasons_key, const char *unit)
{
	const json_t *v = json_object_get(lim, key);
	const json_t *m = json_object_get(lim, max_key);
	const json_t *rs = json_object_get(lim, reasons_key);
	size_t n, i;
	json_t *e;

	if (json_is_null(v) || !v) {
		snprintf(r->value, sizeof(r->value), "--");
	} else if (!json_is_number(v)) {
		vw->bad_key = key;
		return;
	} else {
		snprintf(r->value, sizeof(r->value), "%.*f %s",
			 unit[0] == 'V' ? 2 : 1, json_number_value(v), unit);
	}
	n = strlen(r->value);
	if (json_is_number(m))
		n += (size_t)snprintf(r->value + n, sizeof(r->value) - n,
				      " of %.*f", unit[0] == 'V' ? 2 : 1,
				      json_number_value(m));
	if (!json_is_array(rs)) {
		vw->bad_key = reasons_key;
		return;
	}
	json_array_foreach(rs, i, e)
	{
		if (!json_is_string(e) || n >= sizeof(r->value)) {
			vw->bad_key = reasons_key;
			return;
		}
		n += (size_t)snprintf(r->value + n, sizeof(r->value) - n,
				      "%s%s", i ? ", " : " (",
				      json_string_value(e));
	}
	if (json_array_size(rs) && n < sizeof(r->value) - 1)
		snprintf(r->value + n, sizeof(r->value) - n, ")");
	if (json_array_size(rs))
		r->color = RED;
}

/* "can0 victron, active, 1234 frames (0 dropped), keep-alive seen" */
static void link_row(struct view *vw, struct row *r, const json_t *c)
{
	const char *ifn = json_string_value(json_object_get(c, "interface"));
	const char *prof = json_string_value(json_object_get(c, "profile"));
	const char *st = json_string_value(json_object_get(c, "state"));
	const char *be = json_string_value(json_object_get(c, "backend"));
	const json_t *ka = json_object_get(c, "keepalive");
	json_int_t sent = json_integer_value(json_object_get(c, "frames_sent"));
	json_int_t drop = json_integer_value(json_object_get(c, "dropped"));
	json_int_t boff = json_integer_value(json_object_get(c, "bus_off"));
	const char *err = json_string_value(json_object_get(c, "last_error"));

	if (!ifn || !prof || !st || !be || !json_is_object(ka)) {
		vw->bad_key = "can";
		return;
	}
	snprintf(r->value, sizeof(r->value),
		 "%s %s%s, %s, %lld frames (%lld dropped), bus-off %lld, "
		 "keep-alive %s%s%s",
		 ifn, prof, strcmp(be, "dry-run") == 0 ? " (dry run)" : "", st,
		 (long long)sent, (long long)drop, (long long)boff,
		 json_is_true(json_object_get(ka, "seen")) ? "seen" : "missing",
		 err ? "; " : "", err ? err : "");
	if (strcmp(st, "active") != 0)
		r->color = RED;
}

int view_can_rows(struct view *vw, const json_t *o, struct row *rows, int k,
		  int max)
{
	const json_t *lim = json_object_get(o, "limits");
	const json_t *can = json_object_get(o, "can");

	if (!json_is_object(lim) || k + 4 > max)
		return k;
	rows[k].label = "Charge voltage limit";
	limit_row(vw, &rows[k++], lim, "cvl", "cvl_max", "cvl_reasons", "V");
	rows[k].label = "Charge current limit";
	limit_row(vw, &rows[k++], lim, "ccl", "ccl_max", "ccl_reasons", "A");
	rows[k].label = "Discharge current limit";
	limit_row(vw, &rows[k++], lim, "dcl", "dcl_max", "dcl_reasons", "A");
	if (json_is_object(can)) {
		rows[k].label = "CAN";
		link_row(vw, &rows[k++], can);
	}
	return k;
}
