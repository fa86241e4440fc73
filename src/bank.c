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
	return in->valid && !in->stale && in->reading != NULL;
}

static void take_cells(struct bank *b, const struct bms_reading *r,
		       unsigned batt)
{
	for (unsigned i = 0; i < r->ncells; i++) {
		double v = r->cell_v[i];
		if (isnan(b->min_cell_v) || v < b->min_cell_v) {
			b->min_cell_v = v;
			b->min_cell = (struct bank_where){batt, i + 1};
		}
		if (isnan(b->max_cell_v) || v > b->max_cell_v) {
			b->max_cell_v = v;
			b->max_cell = (struct bank_where){batt, i + 1};
		}
	}
}

static void take_temps(struct bank *b, const struct bms_reading *r,
		       unsigned batt)
{
	for (unsigned i = 0; i < r->ntemps; i++) {
		double t = r->temp_c[i];
		if (!b->have_temps || t < b->min_temp) {
			b->min_temp = t;
			b->min_temp_at = (struct bank_where){batt, i + 1};
		}
		if (!b->have_temps || t > b->max_temp) {
			b->max_temp = t;
			b->max_temp_at = (struct bank_where){batt, i + 1};
		}
		b->have_temps = true;
	}
}

/* Per-battery extremes and flags, over every usable battery. */
static void take_battery(struct bank *b, const struct bank_input *in,
			 unsigned batt)
{
	const struct bms_reading *r = in->reading;

	b->ncells += r->ncells;
	take_cells(b, r, batt);
	take_temps(b, r, batt);
	b->protection |= r->protection;
	if (!r->charge_fet || (r->protection & BMS_PROT_CHARGE_MASK))
		b->fets_allow_charge = false;
	if (!r->discharge_fet || (r->protection & BMS_PROT_DISCHARGE_MASK))
		b->fets_allow_discharge = false;
}

struct string_sum {
	unsigned strings;
	double voltage, current, remaining, nominal;
};

/* One series string: voltages add, the current is common (averaged over
 * the string's batteries), capacity is that of the weakest battery. */
static void take_string(struct string_sum *s, const struct bank_input *in,
			unsigned series)
{
	double v = 0, i = 0, rem = INFINITY, nom = INFINITY;

	for (unsigned k = 0; k < series; k++) {
		if (!usable(&in[k]))
			return;
	}
	for (unsigned k = 0; k < series; k++) {
		const struct bms_reading *r = in[k].reading;
		v += r->voltage;
		i += r->current;
		rem = fmin(rem, r->remaining_ah);
		nom = fmin(nom, r->nominal_ah);
	}
	s->strings++;
	s->voltage += v;
	s->current += i / series;
	s->remaining += rem;
	s->nominal += nom;
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
		  unsigned series)
{
	struct string_sum s = {0};

	if (series == 0 || n % series != 0)
		series = 1;
	bank_reset(b, n, series);
	for (unsigned k = 0; k < n; k++) {
		if (!usable(&in[k])) {
			b->complete = false;
			continue;
		}
		take_battery(b, &in[k], k + 1);
	}
	b->stale = !b->complete;
	for (unsigned k = 0; k + series <= n; k += series)
		take_string(&s, &in[k], series);
	if (s.strings == 0) {
		b->fets_allow_charge = b->fets_allow_discharge = false;
		return;
	}
	b->voltage = s.voltage / s.strings;
	b->current = s.current;
	b->power = b->voltage * b->current;
	b->remaining_ah = s.remaining;
	b->nominal_ah = s.nominal;
	if (s.nominal > 0)
		b->soc = 100.0 * s.remaining / s.nominal;
	if (!b->have_temps)
		b->min_temp = b->max_temp = NAN;
}
