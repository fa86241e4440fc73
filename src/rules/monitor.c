/* SPDX-License-Identifier: MIT */
/*
 * monitor.c - state of charge, synchronisation, time remaining and history
 * (definitions in monitor.h).
 */
#include "monitor.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define US_PER_S    1000000.0
#define MAX_BATTERY 1000 /* sanity bound for the state file */

static void history_clear(struct monitor_history *h)
{
	memset(h, 0, sizeof(*h));
	h->min_voltage = h->max_voltage = NAN;
	h->min_cell_v = h->max_cell_v = NAN;
	h->min_temp = h->max_temp = NAN;
}

void monitor_init(struct monitor *m, const struct settings *s)
{
	memset(m, 0, sizeof(*m));
	m->s = s;
	m->soc = NAN;
	m->consumed_ah = NAN;
	m->capacity_ah = NAN;
	m->avg_i = NAN;
	history_clear(&m->h);
}

static bool known(double v)
{
	return isfinite(v);
}

static double clamp_soc(double soc)
{
	return fmin(100.0, fmax(0.0, soc));
}

/* Below the threshold, either way, a current counts as zero. */
static double thresholded(const struct monitor *m, double i)
{
	return fabs(i) < m->s->current_threshold ? 0.0 : i;
}

/* Without a count of its own, consumed Ah starts from the SoC, once. */
static void seed_consumed(struct monitor *m)
{
	if (known(m->consumed_ah) || !known(m->soc) || !known(m->capacity_ah))
		return;
	m->consumed_ah = (m->soc - 100.0) / 100.0 * m->capacity_ah;
}

/* Track a minimum and a maximum; NaN = nothing yet. */
static void track(double v, double *lo, double *hi)
{
	if (!known(v))
		return;
	if (!known(*lo) || v < *lo)
		*lo = v;
	if (!known(*hi) || v > *hi)
		*hi = v;
}

/*
 * This sample's current i (after the threshold) and voltage v over the
 * dt_s since the previous one: SoC (when known, with the capacity),
 * cumulative Ah and energy.
 */
static void integrate(struct monitor *m, double i, double v, double dt_s)
{
	double hours = dt_s / 3600.0, ah = i * hours;
	double kwh = known(v) ? fabs(v * i) * hours / 1000.0 : 0.0;

	if (i == 0.0 || dt_s <= 0)
		return;
	if (i < 0) {
		m->h.cumulative_ah_drawn += ah;
		m->h.discharged_kwh += kwh;
	} else {
		ah *= m->s->charge_efficiency / 100.0;
		m->h.charged_kwh += kwh;
	}
	if (known(m->soc) && known(m->capacity_ah))
		m->soc = clamp_soc(m->soc + ah / m->capacity_ah * 100.0);
	if (known(m->consumed_ah))
		m->consumed_ah = fmin(0.0, m->consumed_ah + ah);
}

static void full_charge(struct monitor *m, int64_t wall_s)
{
	m->soc = 100.0;
	m->consumed_ah = 0.0;
	m->soc_source = MONITOR_SOC_FULL;
	m->synchronised = true;
	m->battery_added = false;
	m->last_full_wall = wall_s;
	m->h.last_full_charge = wall_s;
}

static bool charged_condition(const struct monitor *m,
			      const struct monitor_input *in)
{
	double vfull = m->s->charged_voltage * in->cells_series;
	double tail = m->s->tail_current / 100.0 * m->capacity_ah;

	if (in->cells_series == 0 || !known(in->voltage) ||
	    !known(in->current) || !known(m->capacity_ah))
		return false;
	return in->voltage >= vfull && fabs(in->current) <= tail;
}

/* The charged condition must hold on every step for the detection time. */
static unsigned detect_charged(struct monitor *m,
			       const struct monitor_input *in, uint64_t now_us)
{
	uint64_t need = (uint64_t)m->s->charged_detection_time * 1000000u;

	if (!charged_condition(m, in)) {
		m->charged = m->charged_counted = false;
		return 0;
	}
	if (!m->charged) {
		m->charged = true;
		m->charged_since_us = now_us;
	}
	if (m->charged_counted || now_us - m->charged_since_us < need)
		return 0;
	m->charged_counted = true;
	full_charge(m, in->wall_s);
	m->h.synchronisations++;
	return MONITOR_SYNCED;
}

/* Exponential average with time constant ttg_averaging (0: none). */
static void average_current(struct monitor *m, double i, double dt_s)
{
	double tau = m->s->ttg_averaging;

	if (!known(m->avg_i) || tau == 0) {
		m->avg_i = i;
		return;
	}
	m->avg_i += (i - m->avg_i) * (1.0 - exp(-dt_s / tau));
}

static void count_cycle(struct monitor *m)
{
	if (!known(m->soc))
		return;
	if (m->soc < MONITOR_CYCLE_LOW) {
		m->h.cycle_armed = true;
	} else if (m->h.cycle_armed && m->soc > MONITOR_CYCLE_HIGH) {
		m->h.cycle_armed = false;
		m->h.cycles++;
	}
}

static void track_history(struct monitor *m, const struct monitor_input *in)
{
	double consumed = m->consumed_ah;

	if (known(consumed) && consumed < m->h.deepest_discharge_ah)
		m->h.deepest_discharge_ah = consumed;
	count_cycle(m);
	track(in->voltage, &m->h.min_voltage, &m->h.max_voltage);
	track(in->min_cell_v, &m->h.min_cell_v, &m->h.max_cell_v);
	track(in->max_cell_v, &m->h.min_cell_v, &m->h.max_cell_v);
	track(in->min_temp, &m->h.min_temp, &m->h.max_temp);
	track(in->max_temp, &m->h.min_temp, &m->h.max_temp);
}

static unsigned note_batteries(struct monitor *m, unsigned n)
{
	unsigned ev = 0;

	if (m->nbatteries && n > m->nbatteries) {
		m->battery_added = true;
		ev = MONITOR_BATTERY_ADDED;
	}
	m->nbatteries = n;
	return ev;
}

static bool same_double(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

static bool history_equal(const struct monitor_history *a,
			  const struct monitor_history *b)
{
	return same_double(a->deepest_discharge_ah, b->deepest_discharge_ah) &&
	       same_double(a->cumulative_ah_drawn, b->cumulative_ah_drawn) &&
	       same_double(a->discharged_kwh, b->discharged_kwh) &&
	       same_double(a->charged_kwh, b->charged_kwh) &&
	       a->synchronisations == b->synchronisations &&
	       a->cycles == b->cycles && a->cycle_armed == b->cycle_armed &&
	       a->last_full_charge == b->last_full_charge &&
	       same_double(a->min_voltage, b->min_voltage) &&
	       same_double(a->max_voltage, b->max_voltage) &&
	       same_double(a->min_cell_v, b->min_cell_v) &&
	       same_double(a->max_cell_v, b->max_cell_v) &&
	       same_double(a->min_temp, b->min_temp) &&
	       same_double(a->max_temp, b->max_temp);
}

/* Did anything monitor_to_json() writes change? */
static bool persisted_equal(const struct monitor *a, const struct monitor *b)
{
	return same_double(a->soc, b->soc) &&
	       same_double(a->consumed_ah, b->consumed_ah) &&
	       a->soc_source == b->soc_source &&
	       a->synchronised == b->synchronised &&
	       a->nbatteries == b->nbatteries &&
	       a->battery_added == b->battery_added &&
	       a->last_full_wall == b->last_full_wall &&
	       history_equal(&a->h, &b->h);
}

static void invalid_step(struct monitor *m)
{
	/* Nothing is known about the time until the next valid sample. */
	m->valid = false;
	m->charged = m->charged_counted = false;
	m->avg_i = NAN;
}

unsigned monitor_step(struct monitor *m, const struct monitor_input *in,
		      uint64_t now_us)
{
	struct monitor before = *m;
	double i = thresholded(m, in->current);
	double dt_s = 0;
	unsigned ev = 0;

	if (!in->valid || !known(in->current)) {
		invalid_step(m);
		return 0;
	}
	if (m->valid && now_us >= m->prev_us &&
	    now_us - m->prev_us <= MONITOR_MAX_GAP_US) {
		dt_s = (double)(now_us - m->prev_us) / US_PER_S;
		integrate(m, i, in->voltage, dt_s);
	} else {
		m->avg_i = NAN; /* a fresh start for the average too */
	}
	/* The capacity in effect for the interval just integrated was the
	 * previous one; from now on, this one. */
	m->capacity_ah = NAN;
	if (known(in->capacity_ah) && in->capacity_ah > 0)
		m->capacity_ah = in->capacity_ah;
	if (!known(m->soc) && known(in->battery_soc)) {
		m->soc = clamp_soc(in->battery_soc);
		m->synchronised = false;
		m->soc_source = MONITOR_SOC_BATTERIES;
		ev |= MONITOR_SEEDED;
	}
	seed_consumed(m);
	ev |= note_batteries(m, in->nbatteries);
	ev |= detect_charged(m, in, now_us);
	average_current(m, i, dt_s);
	track_history(m, in);

	m->valid = true;
	m->prev_us = now_us;
	m->last_i = i;
	if (!persisted_equal(&before, m))
		ev |= MONITOR_CHANGED;
	return ev;
}

static double time_remaining(const struct monitor *m)
{
	double floor = m->s->discharge_floor, avg = m->avg_i, ah;

	if (!m->valid || !known(m->soc) || !known(m->capacity_ah) ||
	    !known(avg))
		return NAN;
	if (m->last_i >= 0 || avg > -m->s->current_threshold)
		return INFINITY;
	ah = (m->soc - floor) / 100.0 * m->capacity_ah;
	if (ah <= 0)
		return 0;
	return ah / -avg * 3600.0;
}

void monitor_output(const struct monitor *m, struct monitor_output *o)
{
	const struct settings *s = m->s;
	bool soc = known(m->soc);

	o->soc = m->soc;
	o->synchronised = soc && m->synchronised;
	o->consumed_ah = m->consumed_ah;
	o->average_current = NAN;
	if (m->valid)
		o->average_current = m->avg_i;
	o->time_remaining_s = time_remaining(m);
	o->low_soc =
		soc && s->low_soc_warning > 0 && m->soc <= s->low_soc_warning;
	o->floor_reached =
		soc && s->discharge_floor > 0 && m->soc <= s->discharge_floor;
	o->charged_for_s = 0;
	if (m->valid && m->charged)
		o->charged_for_s =
			(double)(m->prev_us - m->charged_since_us) / US_PER_S;
}

void monitor_sync(struct monitor *m, int64_t wall_s)
{
	full_charge(m, wall_s);
}

int monitor_set_soc(struct monitor *m, double soc, char *err, size_t errlen)
{
	if (!known(soc) || soc < 0 || soc > 100) {
		snprintf(err, errlen, "soc: %g is out of range (0..100 %%)",
			 soc);
		return -1;
	}
	m->soc = soc;
	m->synchronised = true;
	m->soc_source = MONITOR_SOC_USER;
	return 0;
}

void monitor_history_reset(struct monitor *m)
{
	history_clear(&m->h);
}

unsigned monitor_balancer_unknown(const struct monitor *m, int64_t wall_s)
{
	unsigned why = 0;

	if (m->last_full_wall == 0 ||
	    wall_s - m->last_full_wall > MONITOR_FULL_CHARGE_MAX_AGE_S)
		why |= MONITOR_BAL_NO_FULL_CHARGE;
	if (m->battery_added)
		why |= MONITOR_BAL_BATTERY_ADDED;
	if (!known(m->soc) || !m->synchronised)
		why |= MONITOR_BAL_SOC_UNKNOWN;
	return why;
}

const char *monitor_soc_source_name(enum monitor_soc_source s)
{
	switch (s) {
	case MONITOR_SOC_NONE:
		return "none";
	case MONITOR_SOC_BATTERIES:
		return "batteries";
	case MONITOR_SOC_FULL:
		return "full_charge";
	case MONITOR_SOC_USER:
		return "user";
	}
	return NULL;
}

static int soc_source_parse(const char *t)
{
	for (int i = MONITOR_SOC_NONE; i <= MONITOR_SOC_USER; i++)
		if (t && strcmp(t, monitor_soc_source_name(i)) == 0)
			return i;
	return -1;
}

const char *monitor_balancer_unknown_name(unsigned bit)
{
	switch (bit) {
	case MONITOR_BAL_NO_FULL_CHARGE:
		return "no_full_charge";
	case MONITOR_BAL_BATTERY_ADDED:
		return "battery_added";
	case MONITOR_BAL_SOC_UNKNOWN:
		return "soc_unknown";
	}
	return NULL;
}

/* ---- JSON ---------------------------------------------------------------- */

static json_t *num(double v)
{
	return known(v) ? json_real(v) : json_null();
}

/* Display rounding: the values carry no more resolution than this. */
static json_t *num_rounded(double v, int decimals)
{
	double scale = pow(10.0, decimals);

	return known(v) ? json_real(round(v * scale) / scale) : json_null();
}

static json_t *wall_time(int64_t t)
{
	return t ? json_integer((json_int_t)t) : json_null();
}

static void history_set(json_t *o, const struct monitor_history *h, bool exact)
{
	static const int dec[] = {3, 3, 3, 3, 3, 3, 3, 3, 1, 1};
	const double v[] = {
		h->deepest_discharge_ah,
		h->cumulative_ah_drawn,
		h->discharged_kwh,
		h->charged_kwh,
		h->min_voltage,
		h->max_voltage,
		h->min_cell_v,
		h->max_cell_v,
		h->min_temp,
		h->max_temp,
	};
	static const char *const name[] = {
		"deepest_discharge_ah",  "cumulative_ah_drawn",
		"discharged_energy_kwh", "charged_energy_kwh",
		"min_voltage",           "max_voltage",
		"min_cell_voltage",      "max_cell_voltage",
		"min_temperature",       "max_temperature",
	};

	for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
		json_object_set_new(o, name[k],
				    exact ? num(v[k])
					  : num_rounded(v[k], dec[k]));
	json_object_set_new(o, "synchronisations",
			    json_integer(h->synchronisations));
	json_object_set_new(o, "cycles", json_integer(h->cycles));
	json_object_set_new(o, "last_full_charge",
			    wall_time(h->last_full_charge));
}

json_t *monitor_history_json(const struct monitor *m)
{
	json_t *o = json_object();

	history_set(o, &m->h, false);
	return o;
}

json_t *monitor_status_json(const struct monitor *m)
{
	struct monitor_output out;
	json_t *o = json_object();

	monitor_output(m, &out);
	json_object_set_new(o, "soc", num_rounded(out.soc, 1));
	json_object_set_new(o, "synchronised", json_boolean(out.synchronised));
	json_object_set_new(
		o, "soc_source",
		json_string(monitor_soc_source_name(m->soc_source)));
	json_object_set_new(o, "consumed_ah", num_rounded(out.consumed_ah, 3));
	json_object_set_new(
		o, "time_remaining",
		known(out.time_remaining_s)
			? json_integer((json_int_t)lround(out.time_remaining_s))
			: json_null());
	json_object_set_new(o, "average_current",
			    num_rounded(out.average_current, 3));
	return o;
}

json_t *monitor_to_json(const struct monitor *m)
{
	json_t *o = json_object(), *h = json_object();

	json_object_set_new(o, "soc", num(m->soc));
	json_object_set_new(o, "synchronised", json_boolean(m->synchronised));
	json_object_set_new(
		o, "soc_source",
		json_string(monitor_soc_source_name(m->soc_source)));
	json_object_set_new(o, "consumed_ah", num(m->consumed_ah));
	json_object_set_new(o, "nbatteries", json_integer(m->nbatteries));
	json_object_set_new(o, "battery_added", json_boolean(m->battery_added));
	json_object_set_new(o, "last_full_charge",
			    wall_time(m->last_full_wall));
	json_object_set_new(o, "cycle_armed", json_boolean(m->h.cycle_armed));
	history_set(h, &m->h, true);
	json_object_set_new(o, "history", h);
	return o;
}

/* ---- restore: every key checked, nothing half-applied -------------------- */

/* What a key may hold. */
enum field_kind {
	F_NUMBER,   /* double, lo..hi */
	F_OPTIONAL, /* double or null (NaN), lo..hi */
	F_COUNT,    /* unsigned, 0..hi */
	F_BOOL,     /* bool */
	F_WALL,     /* int64 seconds > 0, or null (0) */
	F_SOURCE,   /* enum monitor_soc_source, by token */
	F_SKIP,     /* known, parsed elsewhere */
};

struct field {
	const char *name;
	enum field_kind kind;
	double lo, hi;
	void *p;
};

static int field_error(const struct field *f, const char *what, char *err,
		       size_t errlen)
{
	snprintf(err, errlen, "%s: %s", f->name, what);
	return -1;
}

static int number_field(const struct field *f, const json_t *j, char *err,
			size_t errlen)
{
	double v;

	if (f->kind == F_OPTIONAL && json_is_null(j)) {
		*(double *)f->p = NAN;
		return 0;
	}
	if (!json_is_number(j))
		return field_error(f,
				   f->kind == F_OPTIONAL
					   ? "not a number or null"
					   : "not a number",
				   err, errlen);
	v = json_number_value(j);
	if (!known(v) || v < f->lo || v > f->hi) {
		snprintf(err, errlen, "%s: %g is out of range (%g..%g)",
			 f->name, v, f->lo, f->hi);
		return -1;
	}
	*(double *)f->p = v;
	return 0;
}

static int count_field(const struct field *f, const json_t *j, char *err,
		       size_t errlen)
{
	json_int_t v;

	if (!json_is_integer(j))
		return field_error(f, "not a whole number", err, errlen);
	v = json_integer_value(j);
	if (v < 0 || v > (json_int_t)f->hi) {
		snprintf(err, errlen, "%s: %lld is out of range (0..%.0f)",
			 f->name, (long long)v, f->hi);
		return -1;
	}
	*(unsigned *)f->p = (unsigned)v;
	return 0;
}

static int wall_field(const struct field *f, const json_t *j, char *err,
		      size_t errlen)
{
	if (json_is_null(j)) {
		*(int64_t *)f->p = 0;
		return 0;
	}
	if (!json_is_integer(j) || json_integer_value(j) <= 0)
		return field_error(f, "not a time (seconds since 1970) or null",
				   err, errlen);
	*(int64_t *)f->p = json_integer_value(j);
	return 0;
}

static int field_from_json(const struct field *f, const json_t *j, char *err,
			   size_t errlen)
{
	switch (f->kind) {
	case F_NUMBER:
	case F_OPTIONAL:
		return number_field(f, j, err, errlen);
	case F_COUNT:
		return count_field(f, j, err, errlen);
	case F_BOOL:
		if (!json_is_boolean(j))
			return field_error(f, "not true or false", err, errlen);
		*(bool *)f->p = json_is_true(j);
		return 0;
	case F_WALL:
		return wall_field(f, j, err, errlen);
	case F_SOURCE: {
		int v = soc_source_parse(json_string_value(j));
		if (v < 0)
			return field_error(f, "not a SoC source", err, errlen);
		*(enum monitor_soc_source *)f->p = (enum monitor_soc_source)v;
		return 0;
	}
	case F_SKIP:
		return 0;
	}
	return -1;
}

static void problem(settings_problem_fn fn, void *ud, const char *what,
		    const char *msg)
{
	char buf[320];

	snprintf(buf, sizeof(buf), "%s: %s; dropped", what, msg);
	if (fn)
		fn(ud, buf);
}

/* Every key of o that is one of fields[] and valid is taken; the others
 * are reported and dropped. Missing keys keep their value. */
static int fields_from_json(const struct field *fields, size_t n,
			    const json_t *o, const char *what,
			    settings_problem_fn fn, void *ud)
{
	const char *key;
	json_t *j;
	int bad = 0;

	/* jansson's iteration macro casts away const; o is only read. */
	json_object_foreach((json_t *)(uintptr_t)o, key, j)
	{
		char err[160];
		size_t k;

		for (k = 0; k < n; k++)
			if (strcmp(fields[k].name, key) == 0)
				break;
		if (k == n) {
			snprintf(err, sizeof(err), "unknown key '%s'", key);
			problem(fn, ud, what, err);
			bad++;
		} else if (field_from_json(&fields[k], j, err, sizeof(err)) <
			   0) {
			problem(fn, ud, what, err);
			bad++;
		}
	}
	return bad;
}

/* A minimum above its maximum, or one without the other: both go. */
static int min_max_ok(const char *name, double *lo, double *hi,
		      settings_problem_fn fn, void *ud)
{
	char err[160];

	if (known(*lo) == known(*hi) && !(known(*lo) && *lo > *hi))
		return 0;
	snprintf(err, sizeof(err), "min_%s and max_%s disagree", name, name);
	problem(fn, ud, "history", err);
	*lo = *hi = NAN;
	return 1;
}

static int history_from_json(struct monitor_history *h, const json_t *o,
			     settings_problem_fn fn, void *ud)
{
	const struct field f[] = {
		{"deepest_discharge_ah", F_NUMBER, -1e9, 0,
		 &h->deepest_discharge_ah},
		{"cumulative_ah_drawn", F_NUMBER, -1e12, 0,
		 &h->cumulative_ah_drawn},
		{"discharged_energy_kwh", F_NUMBER, 0, 1e12,
		 &h->discharged_kwh},
		{"charged_energy_kwh", F_NUMBER, 0, 1e12, &h->charged_kwh},
		{"synchronisations", F_COUNT, 0, UINT_MAX,
		 &h->synchronisations},
		{"cycles", F_COUNT, 0, UINT_MAX, &h->cycles},
		{"last_full_charge", F_WALL, 0, 0, &h->last_full_charge},
		{"min_voltage", F_OPTIONAL, 0, 1000, &h->min_voltage},
		{"max_voltage", F_OPTIONAL, 0, 1000, &h->max_voltage},
		{"min_cell_voltage", F_OPTIONAL, 0, 10, &h->min_cell_v},
		{"max_cell_voltage", F_OPTIONAL, 0, 10, &h->max_cell_v},
		{"min_temperature", F_OPTIONAL, -100, 200, &h->min_temp},
		{"max_temperature", F_OPTIONAL, -100, 200, &h->max_temp},
	};
	int bad;

	if (!json_is_object(o)) {
		problem(fn, ud, "history", "not a JSON object");
		return 1;
	}
	bad = fields_from_json(f, sizeof(f) / sizeof(f[0]), o, "history", fn,
			       ud);
	bad += min_max_ok("voltage", &h->min_voltage, &h->max_voltage, fn, ud);
	bad += min_max_ok("cell_voltage", &h->min_cell_v, &h->max_cell_v, fn,
			  ud);
	bad += min_max_ok("temperature", &h->min_temp, &h->max_temp, fn, ud);
	return bad;
}

int monitor_from_json(struct monitor *m, const json_t *o,
		      settings_problem_fn fn, void *ud)
{
	const json_t *h;
	int bad;
	const struct field f[] = {
		{"soc", F_OPTIONAL, 0, 100, &m->soc},
		{"synchronised", F_BOOL, 0, 0, &m->synchronised},
		{"soc_source", F_SOURCE, 0, 0, &m->soc_source},
		{"consumed_ah", F_OPTIONAL, -1e9, 0, &m->consumed_ah},
		{"nbatteries", F_COUNT, 0, MAX_BATTERY, &m->nbatteries},
		{"battery_added", F_BOOL, 0, 0, &m->battery_added},
		{"last_full_charge", F_WALL, 0, 0, &m->last_full_wall},
		{"cycle_armed", F_BOOL, 0, 0, &m->h.cycle_armed},
		{"history", F_SKIP, 0, 0, NULL},
	};

	if (!json_is_object(o))
		return -1;
	bad = fields_from_json(f, sizeof(f) / sizeof(f[0]), o, "monitor", fn,
			       ud);
	h = json_object_get(o, "history");
	if (h)
		bad += history_from_json(&m->h, h, fn, ud);
	if (m->synchronised && !known(m->soc)) {
		problem(fn, ud, "monitor",
			"synchronised without a soc: unsynchronised");
		m->synchronised = false;
		bad++;
	}
	return bad;
}
