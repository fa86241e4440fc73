/* SPDX-License-Identifier: MIT */
/*
 * guard.c - the protection rules as a pure state machine (see guard.h for
 * the rules and their defaults).
 *
 * Each value-based rule is a latch: it starts on its limit and ends on its
 * recovery level, and both comparisons are written so that a NaN compares
 * false and leaves the latch as it is. A step without fresh data does not
 * evaluate them at all.
 */
#include "guard.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Index = bit number. These tokens are an API: never rename one. */
static const char *const reason_names[GUARD_REASON_COUNT] = {
	"starting",           "mode_off",          "remote_off",
	"comm_loss",          "cell_undervoltage", "discharge_floor",
	"battery_protection", "cell_overvoltage",  "low_temperature",
	"high_temperature",
};

static const char *const reason_texts[GUARD_REASON_COUNT] = {
	"starting up, no complete data yet",
	"Mode is Off",
	"remote on/off input is off",
	"no data from the batteries",
	"a cell voltage is too low",
	"the discharge floor is reached",
	"a battery protects itself",
	"a cell voltage is too high",
	"too cold to charge",
	"too hot to charge",
};

static const char *const warning_names[GUARD_WARNING_COUNT] = {
	"low_cell",
	"low_soc",
};

static const char *const warning_texts[GUARD_WARNING_COUNT] = {
	"a cell voltage is low",
	"the state of charge is low",
};

static const char *const kind_names[GUARD_EV_KIND_COUNT] = {
	"output_off",  "output_on",    "reason_start",  "reason_end",
	"prealarm_on", "prealarm_off", "warning_start", "warning_end",
};

static int bit_index(uint32_t bit, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		if (bit == 1u << i)
			return (int)i;
	return -1;
}

const char *guard_reason_name(uint32_t reason_bit)
{
	int i = bit_index(reason_bit, GUARD_REASON_COUNT);
	return i < 0 ? NULL : reason_names[i];
}

const char *guard_reason_text(uint32_t reason_bit)
{
	int i = bit_index(reason_bit, GUARD_REASON_COUNT);
	return i < 0 ? NULL : reason_texts[i];
}

const char *guard_warning_name(uint32_t warning_bit)
{
	int i = bit_index(warning_bit, GUARD_WARNING_COUNT);
	return i < 0 ? NULL : warning_names[i];
}

const char *guard_warning_text(uint32_t warning_bit)
{
	int i = bit_index(warning_bit, GUARD_WARNING_COUNT);
	return i < 0 ? NULL : warning_texts[i];
}

const char *guard_which_name(enum guard_which w)
{
	switch (w) {
	case GUARD_CHARGE:
		return "charge";
	case GUARD_DISCHARGE:
		return "discharge";
	case GUARD_PREALARM:
		return "prealarm";
	}
	return NULL;
}

const char *guard_event_kind_name(enum guard_event_kind k)
{
	if ((unsigned)k >= GUARD_EV_KIND_COUNT)
		return NULL;
	return kind_names[k];
}

const char *guard_prealarm_mode_name(enum guard_prealarm_mode m)
{
	switch (m) {
	case GUARD_PREALARM_CONTINUOUS:
		return "continuous";
	case GUARD_PREALARM_INTERMITTENT:
		return "intermittent";
	}
	return NULL;
}

int guard_prealarm_mode_parse(const char *s)
{
	if (s && strcmp(s, "continuous") == 0)
		return GUARD_PREALARM_CONTINUOUS;
	if (s && strcmp(s, "intermittent") == 0)
		return GUARD_PREALARM_INTERMITTENT;
	return -1;
}

int guard_reasons_format(uint32_t reasons, char *buf, size_t len)
{
	size_t n = 0;
	int total = 0;

	if (len)
		buf[0] = '\0';
	for (unsigned i = 0; i < GUARD_REASON_COUNT; i++) {
		int k;
		if (!(reasons & (1u << i)))
			continue;
		k = snprintf(len > n ? buf + n : NULL, len > n ? len - n : 0,
			     "%s%s", total ? "," : "", reason_names[i]);
		total += k;
		n += (size_t)k;
	}
	return total;
}

void guard_settings_default(struct guard_settings *s)
{
	*s = (struct guard_settings){
		.cell_undervoltage = 2.80,
		.cell_recover = 3.20,
		.charge_detect_current = 0.5,
		.prealarm_lead_us = 30 * GUARD_USEC,
		.prealarm_cell = 3.10,
		.prealarm_hysteresis = 0.05,
		.soc_warning_hysteresis = 1.0,
		.prealarm_mode = GUARD_PREALARM_CONTINUOUS,
		.prealarm_on_us = 1 * GUARD_USEC,
		.prealarm_off_us = 1 * GUARD_USEC,
		.floor_hysteresis = 3.0,
		.cell_overvoltage = 3.75,
		.cell_overvoltage_recover = 3.55,
		.charge_temp_low = 5.0,
		.charge_temp_high = 50.0,
		.temp_hysteresis = 2.0,
		.comm_loss_charge_us = 10 * GUARD_USEC,
		.comm_loss_load_us = 120 * GUARD_USEC,
		.restore_delay_us = 5 * GUARD_USEC,
	};
}

static int check_order(double lo, const char *lo_name, double hi,
		       const char *hi_name, const char *unit, char *err,
		       size_t errlen)
{
	if (isfinite(lo) && isfinite(hi) && lo < hi)
		return 0;
	snprintf(err, errlen, "%s (%.2f %s) must be below %s (%.2f %s)",
		 lo_name, lo, unit, hi_name, hi, unit);
	return -1;
}

static int check_nonneg(double v, const char *name, char *err, size_t errlen)
{
	if (isfinite(v) && v >= 0)
		return 0;
	snprintf(err, errlen, "%s (%g) must be zero or more", name, v);
	return -1;
}

int guard_settings_check(const struct guard_settings *s, char *err,
			 size_t errlen)
{
	if (check_order(s->cell_undervoltage, "cell_undervoltage",
			s->prealarm_cell, "prealarm_cell", "V", err, errlen) ||
	    check_order(s->cell_undervoltage, "cell_undervoltage",
			s->cell_recover, "cell_recover", "V", err, errlen) ||
	    check_order(s->cell_recover, "cell_recover",
			s->cell_overvoltage_recover, "cell_overvoltage_recover",
			"V", err, errlen) ||
	    check_order(s->cell_overvoltage_recover, "cell_overvoltage_recover",
			s->cell_overvoltage, "cell_overvoltage", "V", err,
			errlen) ||
	    check_order(s->charge_temp_low + s->temp_hysteresis,
			"charge_temp_low + temp_hysteresis",
			s->charge_temp_high - s->temp_hysteresis,
			"charge_temp_high - temp_hysteresis", "C", err,
			errlen) ||
	    check_nonneg(s->charge_detect_current, "charge_detect_current", err,
			 errlen) ||
	    check_nonneg(s->prealarm_hysteresis, "prealarm_hysteresis", err,
			 errlen) ||
	    check_nonneg(s->soc_warning_hysteresis, "soc_warning_hysteresis",
			 err, errlen) ||
	    check_nonneg(s->floor_hysteresis, "floor_hysteresis", err,
			 errlen) ||
	    check_nonneg(s->temp_hysteresis, "temp_hysteresis", err, errlen))
		return -1;
	if (s->prealarm_mode != GUARD_PREALARM_CONTINUOUS &&
	    s->prealarm_mode != GUARD_PREALARM_INTERMITTENT) {
		snprintf(err, errlen, "prealarm_mode: unknown mode %d",
			 (int)s->prealarm_mode);
		return -1;
	}
	if (s->prealarm_mode == GUARD_PREALARM_INTERMITTENT &&
	    (s->prealarm_on_us == 0 || s->prealarm_off_us == 0)) {
		snprintf(err, errlen,
			 "intermittent pre-alarm: the on and off "
			 "times must both be above zero");
		return -1;
	}
	return 0;
}

void guard_init(struct guard *g, const struct guard_settings *s)
{
	memset(g, 0, sizeof(*g));
	g->set = *s;
	for (unsigned w = 0; w < 2; w++)
		g->line[w].reasons = GUARD_R_STARTING;
	g->out.charge_reasons = g->out.discharge_reasons = GUARD_R_STARTING;
	g->out.next_wakeup_us = GUARD_NEVER;
}

void guard_set_settings(struct guard *g, const struct guard_settings *s)
{
	g->set = *s;
}

const struct guard_output *guard_output(const struct guard *g)
{
	return &g->out;
}

/* ---- one step ---------------------------------------------------------- */

struct step {
	struct guard *g;
	const struct guard_settings *s;
	const struct guard_input *in;
	uint64_t now;
	bool fresh;
	uint64_t data_ref;  /* comm_loss counts from here */
	bool lead_on;       /* the pre-alarm is (or is now becoming) on */
	uint64_t lead_from; /* ... since */
	struct guard_event *ev;
	size_t max, n;
};

static uint64_t elapsed(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static double seconds(uint64_t us)
{
	return (double)us / (double)GUARD_USEC;
}

static uint32_t lowest_bit(uint32_t mask)
{
	return mask & (~mask + 1u);
}

static struct guard_event event(const struct step *st,
				enum guard_event_kind kind,
				enum guard_which output)
{
	return (struct guard_event){.kind = kind,
				    .output = output,
				    .value = (double)NAN,
				    .limit = (double)NAN,
				    .time_us = st->now};
}

static void push(struct step *st, const struct guard_event *e)
{
	if (st->n < st->max)
		st->ev[st->n] = *e;
	st->n++;
}

static bool fresh_data(const struct guard_input *in)
{
	return in->have_data && !isnan(in->min_cell_v) &&
	       !isnan(in->max_cell_v);
}

static uint64_t comm_timeout(const struct guard_settings *s, enum guard_which w)
{
	return w == GUARD_CHARGE ? s->comm_loss_charge_us
				 : s->comm_loss_load_us;
}

static void where_min_cell(const struct guard_input *in, struct guard_event *e)
{
	e->battery = in->min_cell_battery;
	e->cell = in->min_cell_index;
	e->value = in->min_cell_v;
}

/* The figures behind a reason, for its events. */
static void reason_detail(const struct step *st, enum guard_which w,
			  uint32_t reason, bool start, struct guard_event *e)
{
	const struct guard_input *in = st->in;
	const struct guard_settings *s = st->s;

	e->reason = reason;
	switch (reason) {
	case GUARD_R_COMM_LOSS:
		e->value = seconds(elapsed(st->now, st->data_ref));
		e->limit = seconds(comm_timeout(s, w));
		break;
	case GUARD_R_CELL_UNDERVOLTAGE:
		where_min_cell(in, e);
		e->limit = start ? s->cell_undervoltage : s->cell_recover;
		if (start && st->lead_on)
			e->duration_us = elapsed(st->now, st->lead_from);
		if (!start && !(in->min_cell_v >= s->cell_recover)) {
			e->charging = true;
			e->value = in->current;
			e->limit = s->charge_detect_current;
		}
		break;
	case GUARD_R_DISCHARGE_FLOOR:
		e->value = in->soc_valid ? in->soc : (double)NAN;
		if (!(in->discharge_floor > 0))
			break; /* ended because the feature was switched off */
		e->limit = start ? in->discharge_floor
				 : in->discharge_floor + s->floor_hysteresis;
		break;
	case GUARD_R_BATTERY_PROTECTION:
		if (!start)
			break;
		e->battery = w == GUARD_CHARGE
				     ? in->charge_protection_battery
				     : in->discharge_protection_battery;
		e->protection = w == GUARD_CHARGE ? in->charge_protection
						  : in->discharge_protection;
		e->fet_off = w == GUARD_CHARGE ? in->charge_fet_off
					       : in->discharge_fet_off;
		break;
	case GUARD_R_CELL_OVERVOLTAGE:
		e->battery = in->max_cell_battery;
		e->cell = in->max_cell_index;
		e->value = in->max_cell_v;
		e->limit = start ? s->cell_overvoltage
				 : s->cell_overvoltage_recover;
		break;
	case GUARD_R_LOW_TEMPERATURE:
		e->battery = in->min_temp_battery;
		e->cell = in->min_temp_sensor;
		e->value = in->min_temp;
		e->limit = start ? s->charge_temp_low
				 : s->charge_temp_low + s->temp_hysteresis;
		break;
	case GUARD_R_HIGH_TEMPERATURE:
		e->battery = in->max_temp_battery;
		e->cell = in->max_temp_sensor;
		e->value = in->max_temp;
		e->limit = start ? s->charge_temp_high
				 : s->charge_temp_high - s->temp_hysteresis;
		break;
	default: /* starting, mode_off, remote_off: nothing to measure */
		break;
	}
}

static void warning_detail(const struct step *st, uint32_t warning, bool start,
			   struct guard_event *e)
{
	const struct guard_input *in = st->in;
	const struct guard_settings *s = st->s;

	e->warning = warning;
	if (warning == GUARD_W_LOW_CELL) {
		where_min_cell(in, e);
		e->limit = start ? s->prealarm_cell
				 : s->prealarm_cell + s->prealarm_hysteresis;
		return;
	}
	e->value = in->soc_valid ? in->soc : (double)NAN;
	if (!(in->low_soc_warning > 0))
		return; /* ended because the feature was switched off */
	e->limit = start ? in->low_soc_warning
			 : in->low_soc_warning + s->soc_warning_hysteresis;
}

/* ---- warnings ---------------------------------------------------------- */

static bool warn_low_cell(const struct step *st, bool active)
{
	const struct guard_settings *s = st->s;
	double v = st->in->min_cell_v;

	if (!st->fresh)
		return active;
	if (active)
		return !(v >= s->prealarm_cell + s->prealarm_hysteresis);
	return v < s->prealarm_cell;
}

static bool warn_low_soc(const struct step *st, bool active)
{
	const struct guard_input *in = st->in;
	double level = in->low_soc_warning;

	if (!(level > 0))
		return false; /* the feature is off */
	if (!st->fresh || !in->soc_valid)
		return active;
	if (active)
		return !(in->soc > level + st->s->soc_warning_hysteresis);
	return in->soc <= level;
}

static void update_warnings(struct step *st)
{
	struct guard *g = st->g;
	uint32_t old = g->warnings, now = 0;

	if (warn_low_cell(st, old & GUARD_W_LOW_CELL))
		now |= GUARD_W_LOW_CELL;
	if (warn_low_soc(st, old & GUARD_W_LOW_SOC))
		now |= GUARD_W_LOW_SOC;
	for (unsigned i = 0; i < GUARD_WARNING_COUNT; i++) {
		uint32_t bit = 1u << i;
		struct guard_event e;
		if ((old ^ now) & bit) {
			bool start = now & bit;
			e = event(st,
				  start ? GUARD_EV_WARNING_START
					: GUARD_EV_WARNING_END,
				  GUARD_PREALARM);
			warning_detail(st, bit, start, &e);
			push(st, &e);
		}
	}
	g->warnings = now;
}

/* ---- reasons ----------------------------------------------------------- */

static bool comm_lost(const struct step *st, enum guard_which w)
{
	if (st->fresh)
		return false;
	return elapsed(st->now, st->data_ref) >= comm_timeout(st->s, w);
}

/*
 * The low-cell cutoff. Charging detected is its recovery, so it never
 * starts while charging (else: on by charging, off by the low cell, on...).
 * With ATD on it waits for the pre-alarm lead; with ATD already off there
 * is no load left to warn about, and switching it on just to count the
 * lead would load an empty cell again.
 */
static bool rule_cell_undervoltage(const struct step *st, bool active)
{
	const struct guard_settings *s = st->s;
	const struct guard *g = st->g;
	double v = st->in->min_cell_v;
	bool lead_done;

	if (!st->fresh)
		return active;
	if (active)
		return !(v >= s->cell_recover || g->charging);
	if (!(v < s->cell_undervoltage) || g->charging)
		return false;
	lead_done = st->lead_on &&
		    elapsed(st->now, st->lead_from) >= s->prealarm_lead_us;
	return !g->line[GUARD_DISCHARGE].allow || lead_done;
}

static bool rule_discharge_floor(const struct step *st, bool active)
{
	const struct guard_input *in = st->in;
	double floor = in->discharge_floor;

	if (!(floor > 0))
		return false; /* the feature is off */
	if (!st->fresh || !in->soc_valid)
		return active;
	if (active)
		return !(in->soc > floor + st->s->floor_hysteresis);
	return in->soc <= floor;
}

/* The battery's own decision: no hysteresis of ours on top of its own. */
static bool rule_battery(const struct step *st, bool active, uint32_t prot,
			 bool fet_off)
{
	if (!st->fresh)
		return active;
	return prot != 0 || fet_off;
}

static bool rule_cell_overvoltage(const struct step *st, bool active)
{
	const struct guard_settings *s = st->s;
	double v = st->in->max_cell_v;

	if (!st->fresh)
		return active;
	if (active)
		return !(v <= s->cell_overvoltage_recover);
	return v >= s->cell_overvoltage;
}

static bool rule_low_temperature(const struct step *st, bool active)
{
	const struct guard_settings *s = st->s;
	double t = st->in->min_temp;

	if (!st->fresh || !st->in->have_temps)
		return active;
	if (active)
		return !(t >= s->charge_temp_low + s->temp_hysteresis);
	return t < s->charge_temp_low;
}

static bool rule_high_temperature(const struct step *st, bool active)
{
	const struct guard_settings *s = st->s;
	double t = st->in->max_temp;

	if (!st->fresh || !st->in->have_temps)
		return active;
	if (active)
		return !(t <= s->charge_temp_high - s->temp_hysteresis);
	return t > s->charge_temp_high;
}

static uint32_t common_reasons(const struct step *st, enum guard_which w)
{
	uint32_t r = 0;

	if (!st->g->seen_data)
		r |= GUARD_R_STARTING;
	if (!st->in->mode_on)
		r |= GUARD_R_MODE_OFF;
	if (!st->in->remote_on)
		r |= GUARD_R_REMOTE_OFF;
	if (comm_lost(st, w))
		r |= GUARD_R_COMM_LOSS;
	return r;
}

static uint32_t discharge_reasons(const struct step *st)
{
	const struct guard_input *in = st->in;
	uint32_t old = st->g->line[GUARD_DISCHARGE].reasons;
	uint32_t r = common_reasons(st, GUARD_DISCHARGE);

	if (rule_cell_undervoltage(st, old & GUARD_R_CELL_UNDERVOLTAGE))
		r |= GUARD_R_CELL_UNDERVOLTAGE;
	if (rule_discharge_floor(st, old & GUARD_R_DISCHARGE_FLOOR))
		r |= GUARD_R_DISCHARGE_FLOOR;
	if (rule_battery(st, old & GUARD_R_BATTERY_PROTECTION,
			 in->discharge_protection, in->discharge_fet_off))
		r |= GUARD_R_BATTERY_PROTECTION;
	return r;
}

static uint32_t charge_reasons(const struct step *st)
{
	const struct guard_input *in = st->in;
	uint32_t old = st->g->line[GUARD_CHARGE].reasons;
	uint32_t r = common_reasons(st, GUARD_CHARGE);

	if (rule_battery(st, old & GUARD_R_BATTERY_PROTECTION,
			 in->charge_protection, in->charge_fet_off))
		r |= GUARD_R_BATTERY_PROTECTION;
	if (rule_cell_overvoltage(st, old & GUARD_R_CELL_OVERVOLTAGE))
		r |= GUARD_R_CELL_OVERVOLTAGE;
	if (rule_low_temperature(st, old & GUARD_R_LOW_TEMPERATURE))
		r |= GUARD_R_LOW_TEMPERATURE;
	if (rule_high_temperature(st, old & GUARD_R_HIGH_TEMPERATURE))
		r |= GUARD_R_HIGH_TEMPERATURE;
	return r;
}

/* ---- outputs ----------------------------------------------------------- */

static void reason_events(struct step *st, enum guard_which w, uint32_t old,
			  uint32_t now)
{
	for (unsigned i = 0; i < GUARD_REASON_COUNT; i++) {
		uint32_t bit = 1u << i;
		struct guard_event e;
		if (!((old ^ now) & bit))
			continue;
		e = event(st,
			  (now & bit) ? GUARD_EV_REASON_START
				      : GUARD_EV_REASON_END,
			  w);
		reason_detail(st, w, bit, now & bit, &e);
		e.reasons = now;
		push(st, &e);
	}
}

/*
 * Off at once on any reason; on again only after every reason has been
 * clear for restore_delay.
 */
static void update_line(struct step *st, enum guard_which w, uint32_t reasons)
{
	struct guard_line *l = &st->g->line[w];
	uint32_t old = l->reasons;
	struct guard_event e;

	reason_events(st, w, old, reasons);
	l->reasons = reasons;
	if (reasons) {
		if (!l->allow)
			return;
		l->allow = false;
		e = event(st, GUARD_EV_OUTPUT_OFF, w);
		reason_detail(st, w, lowest_bit(reasons & ~old), true, &e);
		e.reasons = reasons;
		push(st, &e);
		return;
	}
	if (old)
		l->clear_since = st->now;
	if (l->allow ||
	    elapsed(st->now, l->clear_since) < st->s->restore_delay_us)
		return;
	l->allow = true;
	e = event(st, GUARD_EV_OUTPUT_ON, w);
	e.duration_us = elapsed(st->now, l->clear_since);
	push(st, &e);
}

/* ---- pre-alarm --------------------------------------------------------- */

/* Off whenever ATD is off, whatever the reason (Mode Off and remote off
 * included: they open ATD). */
static bool prealarm_wanted(const struct step *st, bool allow_discharge)
{
	return st->g->warnings && allow_discharge;
}

/* Before the rules run: is the pre-alarm on (or turning on now), since? */
static void prealarm_lead(struct step *st)
{
	struct guard *g = st->g;

	st->lead_on = prealarm_wanted(st, g->line[GUARD_DISCHARGE].allow);
	st->lead_from = g->prealarm ? g->prealarm_since : st->now;
}

static void update_prealarm(struct step *st)
{
	struct guard *g = st->g;
	bool on = prealarm_wanted(st, g->line[GUARD_DISCHARGE].allow);
	struct guard_event e;

	if (on == g->prealarm)
		return;
	g->prealarm = on;
	if (on) {
		g->prealarm_since = st->now;
		e = event(st, GUARD_EV_PREALARM_ON, GUARD_PREALARM);
		warning_detail(st, lowest_bit(g->warnings), true, &e);
	} else {
		e = event(st, GUARD_EV_PREALARM_OFF, GUARD_PREALARM);
		e.reasons = g->line[GUARD_DISCHARGE].allow
				    ? 0
				    : g->line[GUARD_DISCHARGE].reasons;
		e.reason = lowest_bit(e.reasons);
		e.warning = lowest_bit(g->warnings);
	}
	push(st, &e);
}

/* The line, and when an intermittent pre-alarm next changes it. */
static bool prealarm_line(const struct guard *g, uint64_t now, uint64_t *next)
{
	const struct guard_settings *s = &g->set;
	uint64_t period = s->prealarm_on_us + s->prealarm_off_us, phase;

	*next = GUARD_NEVER;
	if (!g->prealarm)
		return false;
	if (s->prealarm_mode != GUARD_PREALARM_INTERMITTENT || period == 0)
		return true;
	phase = elapsed(now, g->prealarm_since) % period;
	if (phase < s->prealarm_on_us) {
		*next = now + (s->prealarm_on_us - phase);
		return true;
	}
	*next = now + (period - phase);
	return false;
}

/* ---- when to look again ------------------------------------------------ */

static uint64_t earliest(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t line_wakeup(const struct step *st, enum guard_which w)
{
	const struct guard_line *l = &st->g->line[w];
	uint64_t t = GUARD_NEVER;

	if (!l->allow && l->reasons == 0)
		t = l->clear_since + st->s->restore_delay_us;
	if (!st->fresh && !(l->reasons & GUARD_R_COMM_LOSS))
		t = earliest(t, st->data_ref + comm_timeout(st->s, w));
	return t;
}

/* A low cell waiting for the pre-alarm lead. */
static uint64_t lead_wakeup(const struct step *st)
{
	const struct guard *g = st->g;
	const struct guard_line *l = &g->line[GUARD_DISCHARGE];

	if (!st->fresh || !g->prealarm || !l->allow || g->charging ||
	    !(st->in->min_cell_v < st->s->cell_undervoltage))
		return GUARD_NEVER;
	return g->prealarm_since + st->s->prealarm_lead_us;
}

static void finish_output(struct step *st)
{
	struct guard *g = st->g;
	struct guard_output *o = &g->out;
	uint64_t blink;

	o->allow_charge = g->line[GUARD_CHARGE].allow;
	o->allow_discharge = g->line[GUARD_DISCHARGE].allow;
	o->charge_reasons = g->line[GUARD_CHARGE].reasons;
	o->discharge_reasons = g->line[GUARD_DISCHARGE].reasons;
	o->prealarm = g->prealarm;
	o->prealarm_line = prealarm_line(g, st->now, &blink);
	o->warnings = g->warnings;
	o->alarm = ((o->charge_reasons | o->discharge_reasons) &
		    ~GUARD_R_NOT_ALARM) != 0;
	o->warning = g->prealarm || (g->warnings & GUARD_W_LOW_SOC);
	o->charging = g->charging;
	o->next_wakeup_us = earliest(earliest(line_wakeup(st, GUARD_CHARGE),
					      line_wakeup(st, GUARD_DISCHARGE)),
				     earliest(lead_wakeup(st), blink));
}

void guard_step(struct guard *g, const struct guard_input *in, uint64_t now,
		struct guard_event *ev, size_t max, size_t *nev)
{
	struct step st = {.g = g,
			  .s = &g->set,
			  .in = in,
			  .now = now,
			  .ev = ev,
			  .max = max};

	if (!g->stepped) {
		g->stepped = true;
		g->first_step_us = now;
	}
	st.fresh = fresh_data(in);
	st.data_ref = in->data_time_us ? in->data_time_us : g->first_step_us;
	if (st.fresh) {
		g->seen_data = true;
		/* NaN compares false: unknown current is not charging. */
		g->charging = in->current > g->set.charge_detect_current;
	}
	update_warnings(&st);
	prealarm_lead(&st);
	update_line(&st, GUARD_CHARGE, charge_reasons(&st));
	update_line(&st, GUARD_DISCHARGE, discharge_reasons(&st));
	update_prealarm(&st);
	finish_output(&st);
	if (nev)
		*nev = st.n < max ? st.n : max;
}
