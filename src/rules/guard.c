/* SPDX-License-Identifier: MIT */
/*
 * guard.c - the protection rules as a pure state machine (see guard.h for
 * the rules and their defaults).
 *
 * Each value-based rule is a latch (latch()): it starts on its limit as
 * soon as any fresh data shows it, and ends on its recovery level only
 * with complete data; both comparisons are written so that a NaN compares
 * false and leaves the latch as it is.
 */
#include "guard.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Index = bit number. These tokens are an API: never rename one. */
static const char *const reason_names[GUARD_REASON_COUNT] = {
	"starting",
	"mode_off",
	"remote_off",
	"comm_loss",
	"cell_undervoltage",
	"discharge_floor",
	"battery_protection",
	"cell_overvoltage",
	"low_temperature",
	"high_temperature",
	"cell_undervoltage_hard",
	"no_temperature",
	"cycle_limit",
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
	"a cell voltage is below the hard cutoff",
	"a battery reports no temperature",
	"switched off too often within an hour",
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
		.cell_undervoltage_hard = 2.50,
		.cell_recover = 3.20,
		.undervoltage_hysteresis = 0.10,
		.charge_detect_current = 0.5,
		.charge_detect_us = 10 * GUARD_USEC,
		.prealarm_lead_us = 30 * GUARD_USEC,
		.prealarm_cell = 3.10,
		.prealarm_hysteresis = 0.05,
		.low_soc_warning = 20,
		.discharge_floor = 10,
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
		.max_cycles_per_hour = 10,
	};
}

/*
 * The rules between parameters, one row each: lo + margin must be below
 * (or, with or_equal, at most) hi. A row with optional set does not apply
 * while lo or hi is 0 (the feature is off).
 */
struct order_rule {
	const char *lo, *hi; /* names, as the user writes them */
	size_t lo_off, hi_off;
	double margin;
	bool or_equal;
	bool optional;
	const char *unit;
	const char *why; /* shown with the refusal */
};

#define F(m) offsetof(struct guard_settings, m)

static const struct order_rule order_rules[] = {
	{"cell_undervoltage_hard", "cell_undervoltage",
	 F(cell_undervoltage_hard), F(cell_undervoltage), 0, false, true, "V",
	 "the hard cutoff is the last resort below the ordinary one"},
	{"cell_undervoltage", "prealarm_cell", F(cell_undervoltage),
	 F(prealarm_cell), 0.10, true, false, "V",
	 "the pre-alarm must start before the low-cell cutoff, or the cutoff "
	 "would wait for a pre-alarm that never comes"},
	{"cell_recover", "cell_overvoltage_recover", F(cell_recover),
	 F(cell_overvoltage_recover), 0, false, false, "V", NULL},
	{"cell_overvoltage_recover", "cell_overvoltage",
	 F(cell_overvoltage_recover), F(cell_overvoltage), 0, false, false, "V",
	 NULL},
	{"prealarm_cell", "cell_overvoltage", F(prealarm_cell),
	 F(cell_overvoltage), 0, false, false, "V",
	 "the low-cell warning must be able to end below the high-cell limit"},
	{"discharge_floor", "low_soc_warning", F(discharge_floor),
	 F(low_soc_warning), 0, false, true, "%",
	 "the low-SoC warning must come before the discharge floor"},
};

/* Values that must stay below a fixed limit once their hysteresis is
 * added, or the reason could never end. */
struct sum_rule {
	const char *a, *b;
	size_t a_off, b_off;
	double limit;
	bool optional; /* not while a is 0 (off) */
	const char *unit;
};

static const struct sum_rule sum_rules[] = {
	{"discharge_floor", "floor_hysteresis", F(discharge_floor),
	 F(floor_hysteresis), 100, true, "%"},
	{"low_soc_warning", "soc_warning_hysteresis", F(low_soc_warning),
	 F(soc_warning_hysteresis), 100, true, "%"},
};

static double field_of(const struct guard_settings *s, size_t off)
{
	return *(const double *)(const void *)((const char *)s + off);
}

static int check_order_rule(const struct guard_settings *s,
			    const struct order_rule *r, char *err,
			    size_t errlen)
{
	double lo = field_of(s, r->lo_off), hi = field_of(s, r->hi_off);
	double need = lo + r->margin;
	bool ok;

	if (r->optional && (lo == 0 || hi == 0))
		return 0;
	/* Values are entered with at most a few decimals: compare at a
	 * resolution far below that, so 2.80 + 0.10 <= 2.90 holds. */
	ok = isfinite(lo) && isfinite(hi) &&
	     (r->or_equal ? need <= hi + 1e-9 : need < hi - 1e-9);
	if (ok)
		return 0;
	if (r->margin > 0)
		snprintf(err, errlen,
			 "%s (%.2f %s) must be at least %s (%.2f %s) + %.2f %s",
			 r->hi, hi, r->unit, r->lo, lo, r->unit, r->margin,
			 r->unit);
	else
		snprintf(err, errlen, "%s (%.2f %s) must be %s %s (%.2f %s)",
			 r->lo, lo, r->unit, r->or_equal ? "at most" : "below",
			 r->hi, hi, r->unit);
	if (r->why) {
		size_t n = strlen(err);
		snprintf(err + n, errlen > n ? errlen - n : 0, ": %s", r->why);
	}
	return -1;
}

static int check_sum_rule(const struct guard_settings *s,
			  const struct sum_rule *r, char *err, size_t errlen)
{
	double a = field_of(s, r->a_off), b = field_of(s, r->b_off);

	if (r->optional && a == 0)
		return 0;
	if (isfinite(a) && isfinite(b) && a + b < r->limit)
		return 0;
	snprintf(err, errlen,
		 "%s (%.2f %s) + %s (%.2f %s) must be below %.0f %s, or it "
		 "could never end",
		 r->a, a, r->unit, r->b, b, r->unit, r->limit, r->unit);
	return -1;
}

static int check_nonneg(double v, const char *name, char *err, size_t errlen)
{
	if (isfinite(v) && v >= 0)
		return 0;
	snprintf(err, errlen, "%s (%g) must be zero or more", name, v);
	return -1;
}

/* undervoltage_hysteresis joins cell_undervoltage in the row above; its
 * own sum must stay at or below cell_recover. */
static int check_uv_hysteresis(const struct guard_settings *s, char *err,
			       size_t errlen)
{
	double need = s->cell_undervoltage + s->undervoltage_hysteresis;

	if (isfinite(need) && need <= s->cell_recover + 1e-9)
		return 0;
	snprintf(err, errlen,
		 "cell_undervoltage (%.2f V) + undervoltage_hysteresis "
		 "(%.2f V) must be at most cell_recover (%.2f V)",
		 s->cell_undervoltage, s->undervoltage_hysteresis,
		 s->cell_recover);
	return -1;
}

static int check_prealarm(const struct guard_settings *s, char *err,
			  size_t errlen)
{
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
	if (s->max_cycles_per_hour < 1 ||
	    s->max_cycles_per_hour > GUARD_MAX_CYCLES) {
		snprintf(err, errlen, "max_cycles_per_hour (%u) must be 1..%d",
			 s->max_cycles_per_hour, GUARD_MAX_CYCLES);
		return -1;
	}
	return 0;
}

int guard_settings_check(const struct guard_settings *s, char *err,
			 size_t errlen)
{
	static const struct {
		const char *name;
		size_t off;
	} nonneg[] = {
		{"cell_undervoltage_hard", F(cell_undervoltage_hard)},
		{"undervoltage_hysteresis", F(undervoltage_hysteresis)},
		{"charge_detect_current", F(charge_detect_current)},
		{"prealarm_hysteresis", F(prealarm_hysteresis)},
		{"low_soc_warning", F(low_soc_warning)},
		{"discharge_floor", F(discharge_floor)},
		{"soc_warning_hysteresis", F(soc_warning_hysteresis)},
		{"floor_hysteresis", F(floor_hysteresis)},
		{"temp_hysteresis", F(temp_hysteresis)},
	};

	for (size_t i = 0; i < sizeof(nonneg) / sizeof(nonneg[0]); i++)
		if (check_nonneg(field_of(s, nonneg[i].off), nonneg[i].name,
				 err, errlen))
			return -1;
	for (size_t i = 0; i < sizeof(order_rules) / sizeof(order_rules[0]);
	     i++)
		if (check_order_rule(s, &order_rules[i], err, errlen))
			return -1;
	for (size_t i = 0; i < sizeof(sum_rules) / sizeof(sum_rules[0]); i++)
		if (check_sum_rule(s, &sum_rules[i], err, errlen))
			return -1;
	if (check_uv_hysteresis(s, err, errlen))
		return -1;
	if (!(s->charge_temp_low + s->temp_hysteresis <
	      s->charge_temp_high - s->temp_hysteresis)) {
		snprintf(err, errlen,
			 "charge_temp_low + temp_hysteresis (%.2f C) must be "
			 "below charge_temp_high - temp_hysteresis (%.2f C)",
			 s->charge_temp_low + s->temp_hysteresis,
			 s->charge_temp_high - s->temp_hysteresis);
		return -1;
	}
	return check_prealarm(s, err, errlen);
}

#undef F

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
	bool have;          /* some battery has fresh cell data */
	bool complete;      /* ... every battery */
	uint64_t data_ref;  /* comm_loss counts from here */
	double uv_limit;    /* where the low-cell rule starts this step */
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

/* Recovery from a low cell (both cutoffs): complete data, and every cell
 * back at cell_recover, or charging with every cell above the cutoff and
 * its hysteresis. Loads never return onto a cell below the cutoff. */
static bool low_cell_recovered(const struct step *st, bool *by_charging)
{
	const struct guard_settings *s = st->s;
	double v = st->in->min_cell_v;

	*by_charging = false;
	if (!st->complete)
		return false;
	if (v >= s->cell_recover)
		return true;
	*by_charging = st->g->charging &&
		       v >= s->cell_undervoltage + s->undervoltage_hysteresis;
	return *by_charging;
}

/* Where the low-cell rule starts: the cutoff while the load is on; with
 * the load off, the cutoff plus its hysteresis, so that whatever else
 * kept the load off, it never reconnects onto a cell below that (I2). */
static double low_cell_limit(const struct step *st)
{
	const struct guard_settings *s = st->s;

	if (st->g->line[GUARD_DISCHARGE].allow)
		return s->cell_undervoltage;
	return s->cell_undervoltage + s->undervoltage_hysteresis;
}

/* The low-cell events' figures: where, and the level crossed. */
static void low_cell_detail(const struct step *st, double start_limit,
			    bool start, struct guard_event *e)
{
	const struct guard_input *in = st->in;
	const struct guard_settings *s = st->s;
	bool by_charging;

	where_min_cell(in, e);
	if (start) {
		e->limit = start_limit;
		if (st->lead_on && start_limit == s->cell_undervoltage)
			e->duration_us = elapsed(st->now, st->lead_from);
		return;
	}
	e->limit = s->cell_recover;
	if (low_cell_recovered(st, &by_charging) && by_charging) {
		e->charging = true;
		e->value = in->current;
		e->limit = s->charge_detect_current;
		e->duration_us = elapsed(st->now, st->g->charge_since);
	}
}

static void temp_detail(const struct guard_input *in, bool low,
			struct guard_event *e)
{
	e->battery = low ? in->min_temp_battery : in->max_temp_battery;
	e->cell = low ? in->min_temp_sensor : in->max_temp_sensor;
	e->value = low ? in->min_temp : in->max_temp;
}

/* The figures behind a reason, for its events. */
static void reason_detail(const struct step *st, enum guard_which w,
			  uint32_t reason, bool start, struct guard_event *e)
{
	const struct guard_input *in = st->in;
	const struct guard_settings *s = st->s;
	const struct guard_line *l = &st->g->line[w];

	e->reason = reason;
	switch (reason) {
	case GUARD_R_COMM_LOSS:
		e->value = seconds(elapsed(st->now, st->data_ref));
		e->limit = seconds(comm_timeout(s, w));
		break;
	case GUARD_R_CELL_UNDERVOLTAGE:
		low_cell_detail(st, st->uv_limit, start, e);
		break;
	case GUARD_R_CELL_UNDERVOLTAGE_HARD:
		low_cell_detail(st, s->cell_undervoltage_hard, start, e);
		if (!start && !(s->cell_undervoltage_hard > 0))
			e->limit = (double)NAN; /* switched off */
		break;
	case GUARD_R_DISCHARGE_FLOOR:
		e->value = in->soc_valid ? in->soc : (double)NAN;
		if (!(s->discharge_floor > 0))
			break; /* ended because the feature was switched off */
		e->limit = start ? s->discharge_floor
				 : s->discharge_floor + s->floor_hysteresis;
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
		temp_detail(in, true, e);
		e->limit = start ? s->charge_temp_low
				 : s->charge_temp_low + s->temp_hysteresis;
		break;
	case GUARD_R_HIGH_TEMPERATURE:
		temp_detail(in, false, e);
		e->limit = start ? s->charge_temp_high
				 : s->charge_temp_high - s->temp_hysteresis;
		break;
	case GUARD_R_NO_TEMPERATURE:
		if (start)
			e->battery = in->no_temp_battery;
		break;
	case GUARD_R_CYCLE_LIMIT:
		e->value = l->noffs;
		e->limit = s->max_cycles_per_hour;
		if (start && l->noffs)
			e->duration_us =
				elapsed(l->offs[0] + GUARD_HOUR_US, st->now);
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
	if (!(s->low_soc_warning > 0))
		return; /* ended because the feature was switched off */
	e->limit = start ? s->low_soc_warning
			 : s->low_soc_warning + s->soc_warning_hysteresis;
}

/*
 * Every value-based rule: start on whatever fresh data shows (I1), end
 * only on complete data. start and end are computed by the caller with
 * comparisons that are false for NaN.
 */
static bool latch(const struct step *st, bool active, bool start, bool end)
{
	if (!active)
		return st->have && start;
	return !(st->complete && end);
}

/* ---- warnings ---------------------------------------------------------- */

static bool warn_low_cell(const struct step *st, bool active)
{
	const struct guard_settings *s = st->s;
	double v = st->in->min_cell_v;

	return latch(st, active, v < s->prealarm_cell,
		     v >= s->prealarm_cell + s->prealarm_hysteresis);
}

/* The SoC is the monitor's own count: it starts the warning whenever it
 * is known; the end, like every end, waits for complete data. */
static bool warn_low_soc(const struct step *st, bool active)
{
	const struct guard_input *in = st->in;
	double level = st->s->low_soc_warning;

	if (!(level > 0))
		return false; /* the feature is off */
	if (!active)
		return in->soc_valid && in->soc <= level;
	return !(st->complete && in->soc_valid &&
		 in->soc > level + st->s->soc_warning_hysteresis);
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

/* Always from the oldest battery's last good reading: fresh or not, no
 * freshness setting can stretch it. */
static bool comm_lost(const struct step *st, enum guard_which w)
{
	return elapsed(st->now, st->data_ref) >= comm_timeout(st->s, w);
}

/* The hard cutoff: no lead, whatever the other batteries say. */
static bool rule_hard_cutoff(const struct step *st, bool active)
{
	double hard = st->s->cell_undervoltage_hard;
	bool by_charging;

	if (!(hard > 0))
		return false; /* the feature is off */
	if (!active)
		return st->have && st->in->min_cell_v < hard;
	return !low_cell_recovered(st, &by_charging);
}

/*
 * The low-cell cutoff. With ATD on it waits for the pre-alarm lead; with
 * ATD already off (or the hard cutoff opening it now) there is no load
 * left to warn about, and switching the pre-alarm on just to count the
 * lead would load an empty cell again. It applies whether or not the bank
 * is charging: its recovery needs the cells above the cutoff, so it
 * cannot chatter.
 */
static bool rule_cell_undervoltage(const struct step *st, bool active,
				   bool hard)
{
	const struct guard_settings *s = st->s;
	const struct guard *g = st->g;
	bool lead_done, by_charging;

	if (active)
		return !low_cell_recovered(st, &by_charging);
	if (!st->have || !(st->in->min_cell_v < st->uv_limit))
		return false;
	lead_done = st->lead_on &&
		    elapsed(st->now, st->lead_from) >= s->prealarm_lead_us;
	return !g->line[GUARD_DISCHARGE].allow || hard || lead_done;
}

static bool rule_discharge_floor(const struct step *st, bool active)
{
	const struct guard_input *in = st->in;
	double floor = st->s->discharge_floor;

	if (!(floor > 0))
		return false; /* the feature is off */
	if (!active)
		return in->soc_valid && in->soc <= floor;
	return !(st->complete && in->soc_valid &&
		 in->soc > floor + st->s->floor_hysteresis);
}

/* The battery's own decision: no hysteresis of ours on top of its own. */
static bool rule_battery(const struct step *st, bool active, uint32_t prot,
			 bool fet_off)
{
	bool on = prot != 0 || fet_off;

	return latch(st, active, on, !on);
}

static bool rule_cell_overvoltage(const struct step *st, bool active)
{
	const struct guard_settings *s = st->s;
	double v = st->in->max_cell_v;

	return latch(st, active, v >= s->cell_overvoltage,
		     v <= s->cell_overvoltage_recover);
}

/* Without any sensor the temperature rules end (the no_temperature rule,
 * or the user's opt-out, then decide); with one they need it in range. */
static bool rule_low_temperature(const struct step *st, bool active)
{
	const struct guard_input *in = st->in;
	const struct guard_settings *s = st->s;

	return latch(
		st, active, in->have_temps && in->min_temp < s->charge_temp_low,
		!in->have_temps || in->min_temp >= s->charge_temp_low +
							   s->temp_hysteresis);
}

static bool rule_high_temperature(const struct step *st, bool active)
{
	const struct guard_input *in = st->in;
	const struct guard_settings *s = st->s;

	return latch(st, active,
		     in->have_temps && in->max_temp > s->charge_temp_high,
		     !in->have_temps ||
			     in->max_temp <=
				     s->charge_temp_high - s->temp_hysteresis);
}

static bool rule_no_temperature(const struct step *st, bool active)
{
	bool missing = st->in->no_temp_battery != 0;

	return latch(st, active, missing, !missing);
}

/* Drop the turn-offs older than an hour; how many are left. */
static unsigned recent_offs(struct guard_line *l, uint64_t now)
{
	unsigned k = 0;

	while (k < l->noffs && elapsed(now, l->offs[k]) >= GUARD_HOUR_US)
		k++;
	if (k) {
		memmove(l->offs, l->offs + k,
			(l->noffs - k) * sizeof(*l->offs));
		l->noffs -= k;
	}
	return l->noffs;
}

/* Holds an output that is off; it never switches one off. */
static bool rule_cycle_limit(const struct step *st, enum guard_which w)
{
	struct guard_line *l = &st->g->line[w];

	return !l->allow &&
	       recent_offs(l, st->now) >= st->s->max_cycles_per_hour;
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
	if (rule_cycle_limit(st, w))
		r |= GUARD_R_CYCLE_LIMIT;
	return r;
}

static uint32_t discharge_reasons(const struct step *st)
{
	const struct guard_input *in = st->in;
	uint32_t old = st->g->line[GUARD_DISCHARGE].reasons;
	uint32_t r = common_reasons(st, GUARD_DISCHARGE);
	bool hard = rule_hard_cutoff(st, old & GUARD_R_CELL_UNDERVOLTAGE_HARD);

	if (hard)
		r |= GUARD_R_CELL_UNDERVOLTAGE_HARD;
	if (rule_cell_undervoltage(st, old & GUARD_R_CELL_UNDERVOLTAGE, hard))
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
	if (rule_no_temperature(st, old & GUARD_R_NO_TEMPERATURE))
		r |= GUARD_R_NO_TEMPERATURE;
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

/* The reason an output_off names: the most important of those that
 * started now, in bit order, but the hard cutoff before the ordinary one
 * that starts with it. */
static uint32_t main_reason(uint32_t started)
{
	if (started & GUARD_R_CELL_UNDERVOLTAGE_HARD)
		return GUARD_R_CELL_UNDERVOLTAGE_HARD;
	return lowest_bit(started);
}

/* A protective turn-off, for cycle_limit (the oldest is forgotten when
 * the history is full: it cannot matter any more). */
static void count_off(struct guard_line *l, uint64_t now)
{
	if (l->noffs == GUARD_MAX_CYCLES) {
		memmove(l->offs, l->offs + 1,
			(GUARD_MAX_CYCLES - 1) * sizeof(*l->offs));
		l->noffs--;
	}
	l->offs[l->noffs++] = now;
}

/*
 * Off at once on any reason; on again only after every reason has been
 * clear, with complete data, for restore_delay (I1: only allowing needs
 * every battery).
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
		if (reasons & ~GUARD_R_NOT_ALARM)
			count_off(l, st->now);
		e = event(st, GUARD_EV_OUTPUT_OFF, w);
		reason_detail(st, w, main_reason(reasons & ~old), true, &e);
		e.reasons = reasons;
		push(st, &e);
		return;
	}
	if (old || !st->complete)
		l->clear_since = st->now;
	if (l->allow ||
	    elapsed(st->now, l->clear_since) < st->s->restore_delay_us ||
	    !st->complete)
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

/* ---- charging ---------------------------------------------------------- */

/* Charging is a current above the threshold, sustained, on complete data
 * (the bank current needs every battery; unknown is not charging). */
static void update_charging(struct step *st)
{
	struct guard *g = st->g;
	bool above =
		st->complete && st->in->current > st->s->charge_detect_current;

	if (!above) {
		g->charge_current = g->charging = false;
		return;
	}
	if (!g->charge_current) {
		g->charge_current = true;
		g->charge_since = st->now;
	}
	g->charging =
		elapsed(st->now, g->charge_since) >= st->s->charge_detect_us;
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
	if (!(l->reasons & GUARD_R_COMM_LOSS))
		t = earliest(t, st->data_ref + comm_timeout(st->s, w));
	if ((l->reasons & GUARD_R_CYCLE_LIMIT) && l->noffs)
		t = earliest(t, l->offs[0] + GUARD_HOUR_US);
	return t;
}

/* A low cell waiting for the pre-alarm lead; a charge current waiting to
 * count as charging. */
static uint64_t lead_wakeup(const struct step *st)
{
	const struct guard *g = st->g;
	const struct guard_line *l = &g->line[GUARD_DISCHARGE];
	uint64_t t = GUARD_NEVER;

	if (g->charge_current && !g->charging)
		t = g->charge_since + st->s->charge_detect_us;
	if (!st->have || !g->prealarm || !l->allow ||
	    !(st->in->min_cell_v < st->s->cell_undervoltage))
		return t;
	return earliest(t, g->prealarm_since + st->s->prealarm_lead_us);
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
	st.have = !isnan(in->min_cell_v) && !isnan(in->max_cell_v);
	st.complete = in->complete && st.have;
	st.data_ref = in->data_time_us ? in->data_time_us : g->first_step_us;
	if (st.complete)
		g->seen_data = true;
	update_charging(&st);
	update_warnings(&st);
	prealarm_lead(&st);
	st.uv_limit = low_cell_limit(&st);
	update_line(&st, GUARD_CHARGE, charge_reasons(&st));
	update_line(&st, GUARD_DISCHARGE, discharge_reasons(&st));
	update_prealarm(&st);
	finish_output(&st);
	if (nev)
		*nev = st.n < max ? st.n : max;
}
