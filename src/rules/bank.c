/* SPDX-License-Identifier: MIT */
/*
 * bank.c - aggregate the batteries of the chain into one bank.
 *
 * Batteries are grouped into strings of `series` consecutive batteries in
 * configuration order. A string counts only when all its batteries have
 * current data: a string with a silent battery would otherwise report a
 * voltage that is wrong by a whole battery.
 */
#include "bank.h"

#include <math.h>
#include <string.h>

static bool usable(const struct bank_input *in)
{
	return in->valid && !in->stale && in->reading != NULL &&
	       in->summary != NULL;
}

void bank_summarize(const struct bms_reading *r, struct bank_summary *s)
{
	memset(s, 0, sizeof(*s));
	s->min_cell_v = s->max_cell_v = s->min_temp = s->max_temp = NAN;
	s->ncells = r->ncells;
	for (unsigned i = 0; i < r->ncells; i++) {
		double v = r->cell_v[i];

		if (i == 0 || v < s->min_cell_v) {
			s->min_cell_v = v;
			s->min_cell = i + 1;
		}
		if (i == 0 || v > s->max_cell_v) {
			s->max_cell_v = v;
			s->max_cell = i + 1;
		}
	}
	s->ntemps = r->ntemps;
	for (unsigned i = 0; i < r->ntemps; i++) {
		double t = r->temp_c[i];

		if (i == 0 || t < s->min_temp) {
			s->min_temp = t;
			s->min_temp_at = i + 1;
		}
		if (i == 0 || t > s->max_temp) {
			s->max_temp = t;
			s->max_temp_at = i + 1;
		}
	}
}

/*
 * The bank is folded over runs of consecutive batteries (struct
 * bank_part): a leaf is one string (or one battery when the batteries do
 * not make strings), two adjacent runs join into one (part_join), and the
 * root, the run of every battery, becomes the bank (part_finish). Every
 * "first" (of a tie, of a battery with a flag, of a string with a
 * warning) is the first in battery order: a join takes the left run's
 * unless it has none. bank_compute() and the incremental fold share this
 * code, so they give the same bank.
 */

static const struct bank_part empty_part = {
	.min_cell_v = NAN,
	.max_cell_v = NAN,
	.min_temp = NAN,
	.max_temp = NAN,
	.oldest_good_us = UINT64_MAX,
	.vmin = INFINITY,
	.vmax = -INFINITY,
};

/* One battery's extremes into the run's: the first battery of a tie, as
 * a walk over every cell in battery order would find. */
static void take_extremes(struct bank_part *p, const struct bank_summary *s,
			  unsigned batt)
{
	if (s->ncells) {
		if (isnan(p->min_cell_v) || s->min_cell_v < p->min_cell_v) {
			p->min_cell_v = s->min_cell_v;
			p->min_cell = (struct bank_where){batt, s->min_cell};
		}
		if (isnan(p->max_cell_v) || s->max_cell_v > p->max_cell_v) {
			p->max_cell_v = s->max_cell_v;
			p->max_cell = (struct bank_where){batt, s->max_cell};
		}
	}
	if (s->ntemps) {
		if (!p->have_temps || s->min_temp < p->min_temp) {
			p->min_temp = s->min_temp;
			p->min_temp_at =
				(struct bank_where){batt, s->min_temp_at};
		}
		if (!p->have_temps || s->max_temp > p->max_temp) {
			p->max_temp = s->max_temp;
			p->max_temp_at =
				(struct bank_where){batt, s->max_temp_at};
		}
		p->have_temps = true;
	}
}

/* One fresh battery (batt: 1-based) into the run: cells, extremes, its
 * own flags and FETs, its sensors, its balancer. */
static void take_battery(struct bank_part *p, const struct bank_input *in,
			 unsigned batt)
{
	const struct bms_reading *r = in->reading;
	uint32_t c = r->protection & BMS_PROT_CHARGE_MASK;
	uint32_t x = r->protection & BMS_PROT_DISCHARGE_MASK;

	p->ncells += in->summary->ncells;
	take_extremes(p, in->summary, batt);
	p->balancing = p->balancing || r->balancing != 0 ||
		       ((r->have & BMS_HAVE_BALANCER) &&
			r->balancer == BMS_BALANCER_ACTIVE);
	if (r->ntemps == 0 && !in->temp_optional && !p->no_temp_battery)
		p->no_temp_battery = batt;
	/* Without protection data this poll (a pack that did not answer its
	 * alarm query) its flags and FETs are unknown. */
	if (!(r->have & BMS_HAVE_PROTECTION))
		return;
	p->protection |= r->protection;
	if ((c || !r->charge_fet) && !p->charge_protection_battery)
		p->charge_protection_battery = batt;
	if ((x || !r->discharge_fet) && !p->discharge_protection_battery)
		p->discharge_protection_battery = batt;
	p->charge_fet_off = p->charge_fet_off || !r->charge_fet;
	p->discharge_fet_off = p->discharge_fet_off || !r->discharge_fet;
}

static void warn(struct bank *b, uint32_t w, unsigned string)
{
	if (!b->warnings)
		b->warn_string = string;
	b->warnings |= w;
}

/* Batteries in one series string carry one current and, being alike,
 * similar voltages. A difference means a wiring or configuration fault
 * (a battery in the wrong string, a loose link, a wrong `series`). */
static void check_string(struct bank_part *p, const struct bank_input *in,
			 unsigned series, unsigned string,
			 const struct bank_limits *lim)
{
	double imin = INFINITY, imax = -INFINITY, vmin = INFINITY,
	       vmax = -INFINITY, isum = 0;

	for (unsigned k = 0; k < series; k++) {
		const struct bms_reading *r = in[k].reading;
		imin = fmin(imin, r->current);
		imax = fmax(imax, r->current);
		vmin = fmin(vmin, r->voltage);
		vmax = fmax(vmax, r->voltage);
		isum += r->current;
	}
	if (imax - imin > fmax(lim->string_current_abs,
			       lim->string_current_rel * fabs(isum / series)))
		p->warnings |= BANK_WARN_STRING_CURRENT;
	if (vmax - vmin > lim->string_voltage)
		p->warnings |= BANK_WARN_STRING_VOLTAGE;
	if (p->warnings)
		p->warn_string = string;
}

/* The smaller of two capacities, unknown if either is: fmin() would take
 * the known one, and a battery whose capacity is unknown (a Daly below
 * 1 % SoC) would make its string's capacity infinite and the bank's SoC
 * 0 %. */
static double known_min(double a, double b)
{
	return isnan(a) || isnan(b) ? (double)NAN : fmin(a, b);
}

/* One series string, every battery of it fresh: voltages add, the current
 * is common (averaged over the string's batteries), capacity is that of
 * the weakest battery. */
static void take_string(struct bank_part *p, const struct bank_input *in,
			unsigned series)
{
	double v = 0, i = 0, rem = INFINITY, nom = INFINITY;

	for (unsigned k = 0; k < series; k++) {
		const struct bms_reading *r = in[k].reading;
		v += r->voltage;
		i += r->current;
		double cap = r->full_ah > 0 ? r->full_ah : r->nominal_ah;

		rem = known_min(rem, r->remaining_ah);
		/* SoC is against what the battery holds when full now; the
		 * design capacity only where that is not reported. */
		nom = known_min(nom, cap > 0 ? cap : (double)NAN);
	}
	p->strings = 1;
	p->vmin = fmin(INFINITY, v);
	p->vmax = fmax(-INFINITY, v);
	p->voltage = v;
	p->current = i / series;
	p->remaining = rem;
	p->nominal = nom;
}

/* Leaf j: its batteries, and its string if it is one and all fresh. */
static void leaf_build(const struct bank_fold *f, unsigned j,
		       struct bank_part *p)
{
	unsigned first = j * f->group;
	unsigned last = first + f->group < f->n ? first + f->group : f->n;

	*p = empty_part;
	p->nbat = last - first;
	for (unsigned k = first; k < last; k++) {
		const struct bank_input *in = &f->in[k];

		if (in->valid && in->last_good_us < p->oldest_good_us)
			p->oldest_good_us = in->last_good_us;
		if (!usable(in)) {
			p->incomplete = true;
			continue;
		}
		take_battery(p, in, k + 1);
	}
	if (!f->strings || p->incomplete)
		return;
	take_string(p, &f->in[first], f->series);
	if (f->series > 1)
		check_string(p, &f->in[first], f->series, j + 1, &f->lim);
}

/* o = the run of l followed by the run of r (o may be l). */
static void part_join(struct bank_part *o, const struct bank_part *l,
		      const struct bank_part *r)
{
	if (o != l)
		*o = *l;
	if (r->nbat == 0)
		return;
	if (o->nbat == 0) {
		*o = *r;
		return;
	}
	o->nbat += r->nbat;
	o->incomplete = o->incomplete || r->incomplete;
	o->ncells += r->ncells;
	if (!isnan(r->min_cell_v) &&
	    (isnan(o->min_cell_v) || r->min_cell_v < o->min_cell_v)) {
		o->min_cell_v = r->min_cell_v;
		o->min_cell = r->min_cell;
	}
	if (!isnan(r->max_cell_v) &&
	    (isnan(o->max_cell_v) || r->max_cell_v > o->max_cell_v)) {
		o->max_cell_v = r->max_cell_v;
		o->max_cell = r->max_cell;
	}
	if (r->have_temps) {
		if (!o->have_temps || r->min_temp < o->min_temp) {
			o->min_temp = r->min_temp;
			o->min_temp_at = r->min_temp_at;
		}
		if (!o->have_temps || r->max_temp > o->max_temp) {
			o->max_temp = r->max_temp;
			o->max_temp_at = r->max_temp_at;
		}
		o->have_temps = true;
	}
	o->protection |= r->protection;
	o->balancing = o->balancing || r->balancing;
	if (!o->no_temp_battery)
		o->no_temp_battery = r->no_temp_battery;
	if (!o->charge_protection_battery)
		o->charge_protection_battery = r->charge_protection_battery;
	if (!o->discharge_protection_battery)
		o->discharge_protection_battery =
			r->discharge_protection_battery;
	o->charge_fet_off = o->charge_fet_off || r->charge_fet_off;
	o->discharge_fet_off = o->discharge_fet_off || r->discharge_fet_off;
	if (r->oldest_good_us < o->oldest_good_us)
		o->oldest_good_us = r->oldest_good_us;
	o->strings += r->strings;
	o->vmin = fmin(o->vmin, r->vmin);
	o->vmax = fmax(o->vmax, r->vmax);
	o->voltage += r->voltage;
	o->current += r->current;
	o->remaining += r->remaining;
	o->nominal += r->nominal;
	if (!o->warnings)
		o->warn_string = r->warn_string;
	o->warnings |= r->warnings;
}

static void bank_reset(struct bank *b, unsigned n, unsigned series)
{
	memset(b, 0, sizeof(*b));
	b->nbatteries = n;
	b->series = series;
	b->parallel = n / series;
	b->voltage = b->current = b->power = b->soc = NAN;
	b->remaining_ah = b->nominal_ah = NAN;
	b->min_cell_v = b->max_cell_v = NAN;
	b->min_temp = b->max_temp = NAN;
	b->fets_allow_charge = b->fets_allow_discharge = true;
	b->complete = n > 0;
	b->oldest_good_us = UINT64_MAX;
}

static void take_balancer(struct bank *b, bool balancing,
			  const struct bank_limits *lim)
{
	if (!b->complete || b->ncells == 0)
		b->balancer = BANK_BALANCER_UNKNOWN;
	else if (balancing)
		b->balancer = BANK_BALANCER_BALANCING;
	else if (b->max_cell_v - b->min_cell_v > lim->imbalance)
		b->balancer = BANK_BALANCER_IMBALANCED;
	else
		b->balancer = BANK_BALANCER_BALANCED;
}

/* The bank from the run of every battery. */
static void part_finish(const struct bank_fold *f, const struct bank_part *p,
			struct bank *b)
{
	bank_reset(b, f->given, f->series);
	/* Every fresh battery's extremes and flags, whole strings or not: a
	 * restrictive rule acts on whatever data there is. */
	b->ncells = p->ncells;
	b->min_cell_v = p->min_cell_v;
	b->max_cell_v = p->max_cell_v;
	b->min_cell = p->min_cell;
	b->max_cell = p->max_cell;
	b->have_temps = p->have_temps;
	if (p->have_temps) {
		b->min_temp = p->min_temp;
		b->max_temp = p->max_temp;
		b->min_temp_at = p->min_temp_at;
		b->max_temp_at = p->max_temp_at;
	}
	b->protection = p->protection;
	b->no_temp_battery = p->no_temp_battery;
	b->charge_protection_battery = p->charge_protection_battery;
	b->discharge_protection_battery = p->discharge_protection_battery;
	b->charge_fet_off = p->charge_fet_off;
	b->discharge_fet_off = p->discharge_fet_off;
	b->oldest_good_us = p->oldest_good_us;
	/* A fresh battery's own flags or FET block that direction. */
	b->fets_allow_charge = !p->charge_protection_battery;
	b->fets_allow_discharge = !p->discharge_protection_battery;
	if (!f->strings) {
		/* No strings: a string is missing a battery (only with
		 * discovered batteries: the configuration checks its own
		 * count), or there are more batteries than a bank can have
		 * (the configuration refuses that too). */
		warn(b,
		     f->overflow ? BANK_WARN_TOO_MANY : BANK_WARN_SERIES_COUNT,
		     0);
		b->complete = false;
		b->stale = true;
		b->fets_allow_charge = b->fets_allow_discharge = false;
		return;
	}
	b->complete = f->given > 0 && !p->incomplete;
	b->stale = !b->complete;
	b->warnings = p->warnings;
	b->warn_string = p->warn_string;
	if (p->strings == 0) {
		b->fets_allow_charge = b->fets_allow_discharge = false;
		return;
	}
	if (p->vmax - p->vmin > f->lim.parallel_voltage)
		warn(b, BANK_WARN_PARALLEL_VOLTAGE, 0);
	take_balancer(b, p->balancing, &f->lim);
	b->voltage = p->voltage / p->strings;
	if (f->given > BANK_MAX_48V && b->voltage >= BANK_48V_MIN_V)
		warn(b, BANK_WARN_TOO_MANY, 0);
	b->current = p->current;
	b->power = b->voltage * b->current;
	b->remaining_ah = p->remaining;
	b->nominal_ah = p->nominal;
	if (p->nominal > 0)
		b->soc = 100.0 * p->remaining / p->nominal;
}

/* --- the fold ------------------------------------------------------------ */

void bank_fold_reset(struct bank_fold *f)
{
	f->shaped = false;
}

static bool same_limits(const struct bank_limits *a,
			const struct bank_limits *b)
{
	return a->string_current_abs == b->string_current_abs &&
	       a->string_current_rel == b->string_current_rel &&
	       a->string_voltage == b->string_voltage &&
	       a->parallel_voltage == b->parallel_voltage &&
	       a->imbalance == b->imbalance;
}

static void fold_shape(struct bank_fold *f, unsigned n, unsigned series,
		       const struct bank_limits *lim)
{
	f->shaped = true;
	f->given = n;
	f->overflow = n > BANK_MAX_BATTERIES;
	f->n = f->overflow ? BANK_MAX_BATTERIES : n;
	f->series = series;
	f->lim = *lim;
	f->strings = !f->overflow && n % series == 0;
	f->group = f->strings ? series : 1;
	f->nleaves = (f->n + f->group - 1) / f->group;
	for (f->size = 1; f->size < f->nleaves; f->size *= 2)
		;
	/* Nothing is known of any battery: each one is taken anew. */
	memset(f->in, 0, sizeof(f->in));
	memset(f->known, 0, sizeof(f->known));
	memset(f->summarized, 0, sizeof(f->summarized));
	for (unsigned i = 1; i < 2 * f->size; i++)
		f->node[i] = empty_part;
	f->dirty =
		f->nleaves == 64 ? UINT64_MAX : (UINT64_C(1) << f->nleaves) - 1;
	f->changed = true;
}

void bank_fold_begin(struct bank_fold *f, unsigned n, unsigned series,
		     const struct bank_limits *lim)
{
	static const struct bank_limits defaults = BANK_LIMITS_DEFAULT;

	if (!lim)
		lim = &defaults;
	if (series == 0)
		series = 1;
	if (!f->shaped || n != f->given || series != f->series ||
	    !same_limits(lim, &f->lim))
		fold_shape(f, n, series, lim);
}

void bank_fold_take(struct bank_fold *f, unsigned k,
		    const struct bank_input *in, uint64_t seq)
{
	struct bank_input *had = &f->in[k];
	bool same_reading;

	if (k >= f->n)
		return;
	same_reading = f->known[k] && seq != 0 && seq == f->seq[k] &&
		       in->reading == had->reading;
	if (same_reading && in->valid == had->valid &&
	    in->stale == had->stale && in->last_good_us == had->last_good_us &&
	    in->temp_optional == had->temp_optional)
		return; /* as folded */
	/* What the reading is reduced to, once per reading; a battery that
	 * never had one has nothing to reduce. */
	if (!in->valid || !in->reading)
		f->summarized[k] = false;
	else if (!same_reading || !f->summarized[k]) {
		bank_summarize(in->reading, &f->sum[k]);
		f->summarized[k] = true;
	}
	*had = *in;
	had->summary = f->summarized[k] ? &f->sum[k] : NULL;
	f->seq[k] = seq;
	f->known[k] = true;
	f->dirty |= UINT64_C(1) << (k / f->group);
	f->changed = true;
}

/* The dirty leaves built again, then every node above them, level by
 * level, each once. */
static void fold_update(struct bank_fold *f)
{
	uint64_t m = f->dirty;

	f->dirty = 0;
	for (uint64_t t = m; t; t &= t - 1) {
		unsigned j = (unsigned)__builtin_ctzll(t);

		leaf_build(f, j, &f->node[f->size + j]);
	}
	for (unsigned width = f->size; width > 1; width /= 2) {
		uint64_t up = 0;

		for (uint64_t t = m; t; t &= t - 1)
			up |= UINT64_C(1) << (__builtin_ctzll(t) / 2);
		for (uint64_t t = up; t; t &= t - 1) {
			unsigned i = width / 2 + (unsigned)__builtin_ctzll(t);

			part_join(&f->node[i], &f->node[2 * i],
				  &f->node[2 * i + 1]);
		}
		m = up;
	}
}

void bank_fold_end(struct bank_fold *f, struct bank *b)
{
	fold_update(f);
	f->changed = false;
	part_finish(f, &f->node[1], b);
}

void bank_compute(struct bank *b, const struct bank_input *in, unsigned n,
		  unsigned series, const struct bank_limits *lim)
{
	struct bank_fold f;

	bank_fold_reset(&f);
	bank_fold_begin(&f, n, series, lim);
	/* The caller's summaries, as they are: every leaf is built anew. */
	for (unsigned k = 0; k < f.n; k++)
		f.in[k] = in[k];
	bank_fold_end(&f, b);
}

void bank_guard_input(const struct bank *b, uint64_t last_complete_us,
		      struct guard_input *gi)
{
	memset(gi, 0, sizeof(*gi));
	gi->complete = b->complete;
	/* The bank can be incomplete while every battery answers (a string
	 * missing a battery found later, series_count_mismatch): comm loss
	 * must run then too, or the lines would stay as they were,
	 * unwatched. A battery that never answered (one added by a reload)
	 * counts from the last complete bank: it has been missing since then
	 * at the most. */
	gi->data_time_us = last_complete_us == 0 ? 0
			   : b->oldest_good_us < last_complete_us
				   ? b->oldest_good_us
				   : last_complete_us;
	gi->min_cell_v = b->min_cell_v;
	gi->max_cell_v = b->max_cell_v;
	gi->min_cell_battery = b->min_cell.battery;
	gi->min_cell_index = b->min_cell.index;
	gi->max_cell_battery = b->max_cell.battery;
	gi->max_cell_index = b->max_cell.index;
	gi->have_temps = b->have_temps;
	gi->min_temp = b->min_temp;
	gi->max_temp = b->max_temp;
	gi->min_temp_battery = b->min_temp_at.battery;
	gi->min_temp_sensor = b->min_temp_at.index;
	gi->max_temp_battery = b->max_temp_at.battery;
	gi->max_temp_sensor = b->max_temp_at.index;
	/* The bank current needs every battery of every string. */
	gi->current = b->complete ? b->current : (double)NAN;
	gi->no_temp_battery = b->no_temp_battery;
	gi->charge_protection = b->protection & BMS_PROT_CHARGE_MASK;
	gi->discharge_protection = b->protection & BMS_PROT_DISCHARGE_MASK;
	gi->charge_fet_off = b->charge_fet_off;
	gi->discharge_fet_off = b->discharge_fet_off;
	gi->charge_protection_battery = b->charge_protection_battery;
	gi->discharge_protection_battery = b->discharge_protection_battery;
	gi->soc = (double)NAN;
}

const char *bank_warning_name(uint32_t bit)
{
	switch (bit) {
	case BANK_WARN_STRING_CURRENT:
		return "string_current_mismatch";
	case BANK_WARN_STRING_VOLTAGE:
		return "string_voltage_mismatch";
	case BANK_WARN_PARALLEL_VOLTAGE:
		return "parallel_voltage_mismatch";
	case BANK_WARN_SERIES_COUNT:
		return "series_count_mismatch";
	case BANK_WARN_TOO_MANY:
		return "too_many_batteries";
	default:
		return NULL;
	}
}

const char *bank_balancer_name(enum bank_balancer b)
{
	static const char *const names[] = {
		[BANK_BALANCER_UNKNOWN] = "unknown",
		[BANK_BALANCER_BALANCED] = "balanced",
		[BANK_BALANCER_IMBALANCED] = "imbalanced",
		[BANK_BALANCER_BALANCING] = "balancing",
	};

	return (unsigned)b < sizeof(names) / sizeof(names[0]) ? names[b]
							      : "unknown";
}
