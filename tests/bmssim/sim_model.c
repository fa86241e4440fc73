/* SPDX-License-Identifier: MIT */
/*
 * sim_model.c - one simulated LiFePO4 battery (see sim_model.h).
 */
#include "sim_model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/*
 * Protection tokens. They are the daemon's names (src/common/reading.c) so a test
 * can compare the state file with `smallbmsctl` output word for word; the
 * table is the simulator's own copy on purpose (independent implementation).
 */
static const char *const prot_names[SIM_PROT_COUNT] = {
	"cell_overvoltage",
	"cell_undervoltage",
	"pack_overvoltage",
	"pack_undervoltage",
	"charge_overtemperature",
	"charge_undertemperature",
	"discharge_overtemperature",
	"discharge_undertemperature",
	"charge_overcurrent",
	"discharge_overcurrent",
	"short_circuit",
	"frontend_error",
	"mosfet_lock",
};

const char *sim_prot_name(uint32_t bit)
{
	for (unsigned i = 0; i < SIM_PROT_COUNT; i++)
		if (bit == 1u << i)
			return prot_names[i];
	return NULL;
}

uint32_t sim_prot_from_name(const char *token)
{
	for (unsigned i = 0; i < SIM_PROT_COUNT; i++)
		if (strcmp(token, prot_names[i]) == 0)
			return 1u << i;
	return 0;
}

/*
 * Resting LiFePO4 cell: steep below 10 %, a flat plateau around 3.2-3.3 V,
 * steep again above 95 %. Typical published curves, rounded.
 */
static const struct {
	double soc, v;
} ocv_table[] = {
	{0, 2.500},  {2, 2.800},  {5, 3.000},  {10, 3.150},
	{20, 3.220}, {30, 3.250}, {40, 3.270}, {50, 3.290},
	{60, 3.300}, {70, 3.310}, {80, 3.320}, {90, 3.340},
	{95, 3.370}, {98, 3.410}, {99, 3.450}, {100, 3.500},
};
#define OCV_POINTS (sizeof(ocv_table) / sizeof(ocv_table[0]))

double sim_ocv(double soc)
{
	if (!(soc > ocv_table[0].soc))
		return ocv_table[0].v;
	for (unsigned i = 1; i < OCV_POINTS; i++) {
		if (soc <= ocv_table[i].soc) {
			double s0 = ocv_table[i - 1].soc,
			       v0 = ocv_table[i - 1].v;
			double s1 = ocv_table[i].soc, v1 = ocv_table[i].v;

			return v0 + (v1 - v0) * (soc - s0) / (s1 - s0);
		}
	}
	return ocv_table[OCV_POINTS - 1].v;
}

/* Imbalance pattern in thirds of the largest offset: varied but fixed, so
 * every run reports the same cells. */
static const int offset_thirds[8] = {0, 3, -2, 1, -1, 2, -3, 0};

/* A 100 Ah cell with its links: about 2.5 mOhm, 0.1 V sag at 40 A. */
#define R_CELL_OHM_AH 0.25

static double clamp_soc(double soc)
{
	if (!(soc > 0.0))
		return 0.0;
	return soc > 100.0 ? 100.0 : soc;
}

int sim_battery_init(struct sim_battery *b, unsigned id,
		     const struct sim_battery_cfg *cfg)
{
	if (cfg->ncells < 1 || cfg->ncells > SIM_MAX_CELLS ||
	    cfg->ntemps > SIM_MAX_TEMPS || !(cfg->capacity_ah > 0.0) ||
	    !(cfg->soc >= 0.0 && cfg->soc <= 100.0) ||
	    !(cfg->imbalance_mv >= 0.0 && cfg->imbalance_mv <= 500.0))
		return -1;

	memset(b, 0, sizeof(*b));
	b->id = id;
	b->ncells = cfg->ncells;
	b->capacity_ah = cfg->capacity_ah;
	b->soc = cfg->soc;
	b->r_cell = R_CELL_OHM_AH / cfg->capacity_ah;
	for (unsigned i = 0; i < b->ncells; i++)
		b->cell_offset[i] =
			cfg->imbalance_mv * offset_thirds[i % 8] / 3000.0;
	b->ntemps = cfg->ntemps;
	for (unsigned i = 0; i < b->ntemps; i++)
		b->temp_c[i] = 25.0;
	b->charge_fet = true;
	b->discharge_fet = true;
	snprintf(b->model, sizeof(b->model), "BMSSIM-%uS-%.0fAH", b->ncells,
		 b->capacity_ah);
	/* 16 characters: the longest serial field of the protocols */
	snprintf(b->serial, sizeof(b->serial), "BMSSIM%010u", id);
	b->fw_major = 1;
	b->fw_minor = 0;
	b->mfg_year = 2024;
	b->mfg_month = 1;
	b->mfg_day = 15;
	return 0;
}

void sim_battery_advance(struct sim_battery *b, double t)
{
	double dt = t - b->t;
	double ah;

	if (!(dt > 0.0))
		return;
	ah = b->current_a * dt / 3600.0;
	b->soc = clamp_soc(b->soc + 100.0 * ah / b->capacity_ah);
	if (ah < 0.0)
		b->discharged_ah -= ah;
	b->t = t;
}

double sim_battery_cell_v(const struct sim_battery *b, unsigned i)
{
	double v;

	if (b->pinned[i])
		return b->pinned_v[i];
	v = sim_ocv(b->soc) + b->cell_offset[i] + b->current_a * b->r_cell;
	return v > 0.0 ? v : 0.0;
}

void sim_battery_set_soc(struct sim_battery *b, double soc)
{
	b->soc = clamp_soc(soc);
}

void sim_battery_pin(struct sim_battery *b, unsigned i, double v)
{
	b->pinned[i] = true;
	b->pinned_v[i] = v;
}

void sim_battery_unpin(struct sim_battery *b, unsigned i)
{
	b->pinned[i] = false;
}

void sim_battery_unpin_all(struct sim_battery *b)
{
	for (unsigned i = 0; i < SIM_MAX_CELLS; i++)
		b->pinned[i] = false;
}

/* Compared in whole millivolts, as a BMS sees its cells, so a cell exactly
 * at a threshold behaves the same on every machine. */
static uint32_t balancing_bits(const struct sim_view *v, double current)
{
	long mv[SIM_MAX_CELLS], mv_min;
	uint32_t bits = 0;

	if (!(current > 0.0))
		return 0;
	for (unsigned i = 0; i < v->ncells; i++)
		mv[i] = lround(v->cell_v[i] * 1000.0);
	mv_min = mv[0];
	for (unsigned i = 1; i < v->ncells; i++)
		if (mv[i] < mv_min)
			mv_min = mv[i];
	for (unsigned i = 0; i < v->ncells; i++)
		if (mv[i] >= SIM_BALANCE_START_MV &&
		    mv[i] - mv_min >= SIM_BALANCE_DELTA_MV)
			bits |= 1u << i;
	return bits;
}

void sim_battery_view(const struct sim_battery *b, struct sim_view *v)
{
	memset(v, 0, sizeof(*v));
	v->ncells = b->ncells;
	for (unsigned i = 0; i < b->ncells; i++) {
		v->cell_v[i] = sim_battery_cell_v(b, i);
		v->voltage += v->cell_v[i];
	}
	v->current = b->current_a;
	v->nominal_ah = b->capacity_ah;
	v->full_ah = b->capacity_ah;
	v->remaining_ah = b->capacity_ah * b->soc / 100.0;
	v->soc = b->soc;
	v->cycles = (unsigned)floor(b->discharged_ah / b->capacity_ah);
	v->ntemps = b->ntemps;
	for (unsigned i = 0; i < b->ntemps; i++)
		v->temp_c[i] = b->temp_c[i];
	v->protection = b->protection;
	v->balancing = balancing_bits(v, b->current_a);
	v->charge_fet = b->charge_fet;
	v->discharge_fet = b->discharge_fet;
	snprintf(v->model, sizeof(v->model), "%s", b->model);
	snprintf(v->serial, sizeof(v->serial), "%s", b->serial);
	v->fw_major = b->fw_major;
	v->fw_minor = b->fw_minor;
	v->mfg_year = b->mfg_year;
	v->mfg_month = b->mfg_month;
	v->mfg_day = b->mfg_day;
}
