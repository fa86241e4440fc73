/* SPDX-License-Identifier: MIT */
/*
 * charge_limits.c - CVL, CCL, DCL and the request flags (the rules:
 * charge_limits.h).
 */
#include "charge_limits.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Full: the bank within this of the bulk CVL, per cell (V). */
#define FULL_MARGIN 0.02

void limits_settings_default(struct limits_settings *s)
{
	*s = (struct limits_settings){
		.charge_voltage = 3.45,
		.float_voltage = 3.375,
		.discharge_voltage = 2.90,
		.cell_target = 3.55,
		.cvl_gain = 1.0,
		.cvl_rise = 0.001,
		.charge_current = 0,
		.discharge_current = 0,
		.charge_derate_start = 3.50,
		.charge_derate_end = 3.65,
		.discharge_derate_start = 3.10,
		.discharge_derate_end = 2.95,
		.cold_span = 10,
		.hot_span = 5,
		.ramp_us = 30 * GUARD_USEC,
		.tail_current = 2,
		.balanced_spread = 0.03,
		.float_after_us = 30 * 60 * GUARD_USEC,
		.rebulk_soc = 90,
		.rebulk_spread = 0.10,
	};
}

struct order_rule {
	size_t lo, hi; /* offsetof: lo must be below hi */
	const char *lo_name, *hi_name;
};

#define R(a, b)                                                                \
	{                                                                      \
		offsetof(struct limits_settings, a),                           \
			offsetof(struct limits_settings, b), #a, #b            \
	}
static const struct order_rule order_rules[] = {
	R(discharge_voltage, float_voltage),
	R(discharge_derate_end, discharge_derate_start),
	R(float_voltage, charge_voltage),
	R(charge_voltage, cell_target),
	R(charge_voltage, charge_derate_start),
	R(charge_derate_start, charge_derate_end),
	R(balanced_spread, rebulk_spread),
};
#undef R

/* Copied out: a cast of the byte pointer to double * is an alignment the
 * compiler cannot see (ARM: -Wcast-align=strict). */
static double field(const struct limits_settings *s, size_t off)
{
	double v;

	memcpy(&v, (const char *)s + off, sizeof(v));
	return v;
}

int limits_settings_check(const struct limits_settings *s, char *err,
			  size_t errlen)
{
	for (size_t i = 0; i < sizeof(order_rules) / sizeof(order_rules[0]);
	     i++) {
		const struct order_rule *r = &order_rules[i];
		double lo = field(s, r->lo), hi = field(s, r->hi);

		if (!(lo < hi)) {
			snprintf(err, errlen,
				 "%s (%.3f) must be below %s (%.3f)",
				 r->lo_name, lo, r->hi_name, hi);
			return -1;
		}
	}
	return 0;
}

void limits_init(struct limits *l, const struct limits_settings *s)
{
	memset(l, 0, sizeof(*l));
	l->set = *s;
	l->out.cvl = l->out.dvl = NAN;
	l->out.ccl_reasons = l->out.dcl_reasons = LIMITS_R_NO_DATA;
	l->out.cvl_reasons = LIMITS_R_NO_DATA;
}

void limits_set_settings(struct limits *l, const struct limits_settings *s)
{
	l->set = *s;
}

const struct limits_output *limits_output(const struct limits *l)
{
	return &l->out;
}

/* 1 at `one`, 0 at `zero`, linear between (either order), clamped. */
static double derate(double x, double one, double zero)
{
	double f = (x - zero) / (one - zero);

	if (f >= 1)
		return 1;
	return f > 0 ? f : 0;
}

static bool cells_known(const struct bank *b)
{
	return b->complete && isfinite(b->min_cell_v) &&
	       isfinite(b->max_cell_v) && b->ncells > 0 && b->parallel > 0;
}

/* Full and balanced for float_after -> float; SoC or spread -> bulk. */
static void update_float(struct limits *l, const struct limits_input *in,
			 double bulk_cvl, uint64_t now)
{
	const struct limits_settings *s = &l->set;
	const struct bank *b = in->bank;
	double spread = b->max_cell_v - b->min_cell_v;
	unsigned n = l->out.series_cells;
	bool full = isfinite(b->voltage) && isfinite(b->current) &&
		    b->voltage >= bulk_cvl - n * FULL_MARGIN &&
		    fabs(b->current) <= s->tail_current &&
		    spread <= s->balanced_spread;

	if (l->out.floating) {
		if ((isfinite(in->soc) && in->soc < s->rebulk_soc) ||
		    spread > s->rebulk_spread)
			l->out.floating = false;
		l->full = false;
		return;
	}
	if (!full) {
		l->full = false;
		return;
	}
	if (!l->full) {
		l->full = true;
		l->full_since = now;
	}
	if (now - l->full_since >= s->float_after_us)
		l->out.floating = true;
}

static void step_cvl(struct limits *l, const struct limits_input *in,
		     double dt_s)
{
	const struct limits_settings *s = &l->set;
	const struct bank *b = in->bank;
	struct limits_output *o = &l->out;
	unsigned n = o->series_cells;
	double bulk = n * s->charge_voltage, want, prev = o->cvl;

	o->cvl_reasons = 0;
	want = bulk;
	if (o->floating) {
		want = n * s->float_voltage;
		o->cvl_reasons |= LIMITS_R_FLOAT;
	}
	if (isfinite(b->max_cell_v) && b->max_cell_v > s->cell_target &&
	    isfinite(b->voltage)) {
		double cap = b->voltage -
			     s->cvl_gain * (b->max_cell_v - s->cell_target);
		if (cap < want) {
			want = cap;
			o->cvl_reasons |= LIMITS_R_HIGH_CELL;
		}
	}
	/* Never below the discharge voltage: an inverter may take a CVL
	 * under its own minimum as an error; CCL stops the charge anyway. */
	if (want < n * s->discharge_voltage)
		want = n * s->discharge_voltage;
	/* Down at once, up smoothly. */
	if (isfinite(prev) && want > prev) {
		double up = prev + n * s->cvl_rise * dt_s;
		if (up < want) {
			want = up;
			o->cvl_reasons |= LIMITS_R_RAMP;
		}
	}
	o->cvl = want;
}

/* Rise at most max/ramp per second; fall at once. */
static double ramp(double prev, double want, double max, uint64_t ramp_us,
		   double dt_s, uint32_t *reasons)
{
	double up;

	if (!isfinite(prev) || want <= prev || ramp_us == 0)
		return want;
	up = prev + max * dt_s / ((double)ramp_us / GUARD_USEC);
	if (up < want) {
		*reasons |= LIMITS_R_RAMP;
		return up;
	}
	return want;
}

static void step_ccl(struct limits *l, const struct limits_input *in,
		     double dt_s, bool known)
{
	const struct limits_settings *s = &l->set;
	const struct bank *b = in->bank;
	struct limits_output *o = &l->out;
	uint32_t r = 0;
	double f = 1, fc, want;

	if (!in->guard->allow_charge)
		r |= LIMITS_R_NOT_ALLOWED;
	if (!known || !b->have_temps || !isfinite(b->min_temp) ||
	    !isfinite(b->max_temp)) {
		r |= LIMITS_R_NO_DATA;
		f = 0;
	} else {
		fc = derate(b->max_cell_v, s->charge_derate_start,
			    s->charge_derate_end);
		if (fc < 1)
			r |= LIMITS_R_HIGH_CELL;
		f *= fc;
		fc = derate(b->min_temp, in->charge_temp_low + s->cold_span,
			    in->charge_temp_low);
		if (fc < 1)
			r |= LIMITS_R_COLD;
		f *= fc;
		fc = derate(b->max_temp, in->charge_temp_high - s->hot_span,
			    in->charge_temp_high);
		if (fc < 1)
			r |= LIMITS_R_HOT;
		f *= fc;
	}
	if (r & LIMITS_R_NOT_ALLOWED)
		f = 0;
	want = s->charge_current * f;
	o->ccl = ramp(o->ccl, want, s->charge_current, s->ramp_us, dt_s, &r);
	o->ccl_reasons = r;
	o->charge_enable = in->guard->allow_charge && o->ccl > 0;
}

static void step_dcl(struct limits *l, const struct limits_input *in,
		     double dt_s, bool known)
{
	const struct limits_settings *s = &l->set;
	struct limits_output *o = &l->out;
	uint32_t r = 0;
	double f = 0, want;

	if (!in->guard->allow_discharge)
		r |= LIMITS_R_NOT_ALLOWED;
	if (!known) {
		r |= LIMITS_R_NO_DATA;
	} else {
		f = derate(in->bank->min_cell_v, s->discharge_derate_start,
			   s->discharge_derate_end);
		if (f < 1)
			r |= LIMITS_R_LOW_CELL;
	}
	if (r & LIMITS_R_NOT_ALLOWED)
		f = 0;
	want = s->discharge_current * f;
	o->dcl = ramp(o->dcl, want, s->discharge_current, s->ramp_us, dt_s, &r);
	o->dcl_reasons = r;
	o->discharge_enable = in->guard->allow_discharge && o->dcl > 0;
}

void limits_step(struct limits *l, const struct limits_input *in, uint64_t now)
{
	const struct bank *b = in->bank;
	struct limits_output *o = &l->out;
	bool known = cells_known(b);
	double dt_s = l->stepped && now > l->last_us
			      ? (double)(now - l->last_us) / GUARD_USEC
			      : 0;

	l->stepped = true;
	l->last_us = now;
	if (known)
		o->series_cells = b->ncells / b->parallel;
	if (o->series_cells > 0) {
		if (known)
			update_float(l, in,
				     o->series_cells * l->set.charge_voltage,
				     now);
		double prev = o->cvl;

		step_cvl(l, in, dt_s);
		if (!known) {
			/* Unknown never raises a limit: hold the last CVL. */
			if (isfinite(prev) && o->cvl > prev)
				o->cvl = prev;
			o->cvl_reasons |= LIMITS_R_NO_DATA;
		}
		o->dvl = o->series_cells * l->set.discharge_voltage;
	} else {
		o->cvl = o->dvl = NAN;
		o->cvl_reasons = LIMITS_R_NO_DATA;
	}
	step_ccl(l, in, dt_s, known);
	step_dcl(l, in, dt_s, known);
}

static const char *const reason_names[LIMITS_REASON_COUNT] = {
	"not_allowed", "no_data", "high_cell", "low_cell",
	"cold",        "hot",     "ramp",      "float",
};

const char *limits_reason_name(uint32_t bit)
{
	for (unsigned i = 0; i < LIMITS_REASON_COUNT; i++)
		if (bit == 1u << i)
			return reason_names[i];
	return NULL;
}

int limits_reasons_format(uint32_t reasons, char *buf, size_t len)
{
	int n = 0;

	if (len)
		buf[0] = '\0';
	for (unsigned i = 0; i < LIMITS_REASON_COUNT; i++) {
		if (!(reasons & (1u << i)))
			continue;
		n += snprintf(buf + (n < (int)len ? n : (int)len),
			      n < (int)len ? len - n : 0, "%s%s", n ? "," : "",
			      reason_names[i]);
	}
	return n;
}
