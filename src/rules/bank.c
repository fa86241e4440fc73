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

/* One battery's extremes into the bank's: the first battery of a tie, as
 * a walk over every cell in battery order would find. */
static void take_extremes(struct bank *b, const struct bank_summary *s,
			  unsigned batt)
{
	if (s->ncells) {
		if (isnan(b->min_cell_v) || s->min_cell_v < b->min_cell_v) {
			b->min_cell_v = s->min_cell_v;
			b->min_cell = (struct bank_where){batt, s->min_cell};
		}
		if (isnan(b->max_cell_v) || s->max_cell_v > b->max_cell_v) {
			b->max_cell_v = s->max_cell_v;
			b->max_cell = (struct bank_where){batt, s->max_cell};
		}
	}
	if (s->ntemps) {
		if (!b->have_temps || s->min_temp < b->min_temp) {
			b->min_temp = s->min_temp;
			b->min_temp_at =
				(struct bank_where){batt, s->min_temp_at};
		}
		if (!b->have_temps || s->max_temp > b->max_temp) {
			b->max_temp = s->max_temp;
			b->max_temp_at =
				(struct bank_where){batt, s->max_temp_at};
		}
		b->have_temps = true;
	}
}

/* Per-battery extremes and flags, over every usable battery. */
static void take_battery(struct bank *b, const struct bank_input *in,
			 unsigned batt)
{
	const struct bms_reading *r = in->reading;

	b->ncells += in->summary->ncells;
	take_extremes(b, in->summary, batt);
	if (!(r->have & BMS_HAVE_PROTECTION))
		return; /* flags and FETs unknown for this poll */
	b->protection |= r->protection;
	if (!r->charge_fet || (r->protection & BMS_PROT_CHARGE_MASK))
		b->fets_allow_charge = false;
	if (!r->discharge_fet || (r->protection & BMS_PROT_DISCHARGE_MASK))
		b->fets_allow_discharge = false;
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
static void check_string(struct bank *b, const struct bank_input *in,
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
		warn(b, BANK_WARN_STRING_CURRENT, string);
	if (vmax - vmin > lim->string_voltage)
		warn(b, BANK_WARN_STRING_VOLTAGE, string);
}

static void take_balancer(struct bank *b, const struct bank_input *in,
			  unsigned n, const struct bank_limits *lim)
{
	bool balancing = false;

	if (!b->complete || b->ncells == 0) {
		b->balancer = BANK_BALANCER_UNKNOWN;
		return;
	}
	for (unsigned k = 0; k < n; k++) {
		const struct bms_reading *r = in[k].reading;

		balancing = balancing || r->balancing != 0 ||
			    ((r->have & BMS_HAVE_BALANCER) &&
			     r->balancer == BMS_BALANCER_ACTIVE);
	}
	if (balancing)
		b->balancer = BANK_BALANCER_BALANCING;
	else if (b->max_cell_v - b->min_cell_v > lim->imbalance)
		b->balancer = BANK_BALANCER_IMBALANCED;
	else
		b->balancer = BANK_BALANCER_BALANCED;
}

struct string_sum {
	unsigned strings;
	double voltage, current, remaining, nominal;
	double vmin, vmax;
};

/* The smaller of two capacities, unknown if either is: fmin() would take
 * the known one, and a battery whose capacity is unknown (a Daly below
 * 1 % SoC) would make its string's capacity infinite and the bank's SoC
 * 0 %. */
static double known_min(double a, double b)
{
	return isnan(a) || isnan(b) ? (double)NAN : fmin(a, b);
}

/* One series string: voltages add, the current is common (averaged over
 * the string's batteries), capacity is that of the weakest battery. */
static bool take_string(struct string_sum *s, const struct bank_input *in,
			unsigned series)
{
	double v = 0, i = 0, rem = INFINITY, nom = INFINITY;

	for (unsigned k = 0; k < series; k++) {
		if (!usable(&in[k]))
			return false;
	}
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
	s->strings++;
	s->vmin = fmin(s->vmin, v);
	s->vmax = fmax(s->vmax, v);
	s->voltage += v;
	s->current += i / series;
	s->remaining += rem;
	s->nominal += nom;
	return true;
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
}

void bank_compute(struct bank *b, const struct bank_input *in, unsigned n,
		  unsigned series, const struct bank_limits *lim)
{
	static const struct bank_limits defaults = BANK_LIMITS_DEFAULT;
	struct string_sum s = {.vmin = INFINITY, .vmax = -INFINITY};

	if (!lim)
		lim = &defaults;
	if (series == 0)
		series = 1;
	if (n % series != 0) {
		/* Only with discovered batteries (the configuration checks
		 * its own count): a string is missing a battery. */
		bank_reset(b, n, 1);
		b->series = series;
		b->parallel = n / series;
		warn(b, BANK_WARN_SERIES_COUNT, 0);
		/* No strings, but every fresh battery's extremes: a
		 * restrictive rule acts on whatever data there is. */
		for (unsigned k = 0; k < n; k++)
			if (usable(&in[k]))
				take_battery(b, &in[k], k + 1);
		b->complete = false;
		b->stale = true;
		b->fets_allow_charge = b->fets_allow_discharge = false;
		return;
	}
	bank_reset(b, n, series);
	for (unsigned k = 0; k < n; k++) {
		if (!usable(&in[k])) {
			b->complete = false;
			continue;
		}
		take_battery(b, &in[k], k + 1);
	}
	b->stale = !b->complete;
	for (unsigned k = 0; k + series <= n; k += series) {
		if (take_string(&s, &in[k], series) && series > 1)
			check_string(b, &in[k], series, k / series + 1, lim);
	}
	if (s.strings == 0) {
		b->fets_allow_charge = b->fets_allow_discharge = false;
		return;
	}
	if (s.vmax - s.vmin > lim->parallel_voltage)
		warn(b, BANK_WARN_PARALLEL_VOLTAGE, 0);
	take_balancer(b, in, n, lim);
	b->voltage = s.voltage / s.strings;
	if (n > BANK_MAX_48V && b->voltage >= BANK_48V_MIN_V)
		warn(b, BANK_WARN_TOO_MANY, 0);
	b->current = s.current;
	b->power = b->voltage * b->current;
	b->remaining_ah = s.remaining;
	b->nominal_ah = s.nominal;
	if (s.nominal > 0)
		b->soc = 100.0 * s.remaining / s.nominal;
	if (!b->have_temps)
		b->min_temp = b->max_temp = NAN;
}

/* The bank can be incomplete while every battery answers (a string
 * missing a battery found later, series_count_mismatch): comm loss must
 * run then too, or the lines would stay as they were, unwatched. A
 * battery that never answered (one added by a reload) counts from the
 * last complete bank: it has been missing since then at the most. */
static uint64_t oldest_data(const struct bank_input *in, unsigned n,
			    uint64_t last_complete_us)
{
	uint64_t t = last_complete_us;

	if (t == 0)
		return 0;
	for (unsigned i = 0; i < n; i++)
		if (in[i].valid && in[i].last_good_us < t)
			t = in[i].last_good_us;
	return t;
}

/* One fresh battery's flags, FETs and sensors into gi; k is 1-based. */
static void guard_battery(const struct bank_input *in, unsigned k,
			  struct guard_input *gi)
{
	const struct bms_reading *r = in->reading;
	uint32_t c = r->protection & BMS_PROT_CHARGE_MASK;
	uint32_t x = r->protection & BMS_PROT_DISCHARGE_MASK;

	if (r->ntemps == 0 && !in->temp_optional && !gi->no_temp_battery)
		gi->no_temp_battery = k;
	/* Without protection data this poll (a pack that did not answer its
	 * alarm query) its flags and FETs are unknown. */
	if (!(r->have & BMS_HAVE_PROTECTION))
		return;
	if ((c || !r->charge_fet) && !gi->charge_protection_battery)
		gi->charge_protection_battery = k;
	if ((x || !r->discharge_fet) && !gi->discharge_protection_battery)
		gi->discharge_protection_battery = k;
	gi->charge_protection |= c;
	gi->discharge_protection |= x;
	gi->charge_fet_off = gi->charge_fet_off || !r->charge_fet;
	gi->discharge_fet_off = gi->discharge_fet_off || !r->discharge_fet;
}

void bank_guard_input(const struct bank *b, const struct bank_input *in,
		      unsigned n, uint64_t last_complete_us,
		      struct guard_input *gi)
{
	memset(gi, 0, sizeof(*gi));
	gi->complete = b->complete;
	gi->data_time_us = oldest_data(in, n, last_complete_us);
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
	for (unsigned k = 0; k < n; k++)
		if (usable(&in[k]))
			guard_battery(&in[k], k + 1, gi);
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
