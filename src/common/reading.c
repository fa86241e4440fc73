/* SPDX-License-Identifier: MIT */
/*
 * reading.c - helpers over struct bms_reading: protection names, the
 * merge of partial readings (one per request of a poll) into one, and the
 * check that a reading is physically possible.
 */
#include "reading.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Index = bit number of enum bms_protection. These tokens are an API
 * (logs, journald fields, the control socket): never rename one. */
static const char *const prot_names[BMS_PROT_COUNT] = {
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

const char *bms_protection_name(uint32_t bit)
{
	for (unsigned i = 0; i < BMS_PROT_COUNT; i++)
		if (bit == 1u << i)
			return prot_names[i];
	return NULL;
}

static void merge_basic(struct bms_reading *dst, const struct bms_reading *src)
{
	dst->voltage = src->voltage;
	dst->current = src->current;
	dst->remaining_ah = src->remaining_ah;
	dst->nominal_ah = src->nominal_ah;
	dst->full_ah = src->full_ah;
	dst->design_ah = src->design_ah;
	dst->soc = src->soc;
	dst->cycles = src->cycles;
	memcpy(dst->manufactured, src->manufactured, sizeof(dst->manufactured));
}

static void merge_text(char *dst, const char *src)
{
	memcpy(dst, src, BMS_TEXT_LEN);
	dst[BMS_TEXT_LEN - 1] = '\0';
}

void bms_reading_merge(struct bms_reading *dst, const struct bms_reading *src)
{
	uint32_t h = src->have;

	if (h & BMS_HAVE_BASIC)
		merge_basic(dst, src);
	/* Both groups may carry the FET states and the balancing bits (JBD
	 * and JK with everything in one answer, the "~" family in its alarm
	 * answer). The protection group's word is the last, whatever the
	 * order of the steps: a basic-only answer (the "~" analog one) sets
	 * them only while no protection group was merged. */
	if ((h & BMS_HAVE_PROTECTION) ||
	    ((h & BMS_HAVE_BASIC) && !(dst->have & BMS_HAVE_PROTECTION))) {
		dst->charge_fet = src->charge_fet;
		dst->discharge_fet = src->discharge_fet;
		dst->balancing = src->balancing;
	}
	if (h & BMS_HAVE_PROTECTION) {
		dst->protection = src->protection;
		dst->protection_raw = src->protection_raw;
	}
	if (src->direction != BMS_DIR_UNKNOWN)
		dst->direction = src->direction;
	if (h & BMS_HAVE_CELLS) {
		dst->ncells = src->ncells;
		memcpy(dst->cell_v, src->cell_v, sizeof(dst->cell_v));
	}
	if (h & BMS_HAVE_TEMPS) {
		dst->ntemps = src->ntemps;
		memcpy(dst->temp_c, src->temp_c, sizeof(dst->temp_c));
	}
	if (h & BMS_HAVE_BALANCER) {
		dst->balancer = src->balancer;
		dst->balance_current = src->balance_current;
	}
	if (h & BMS_HAVE_MODEL)
		merge_text(dst->model, src->model);
	if (h & BMS_HAVE_SERIAL)
		merge_text(dst->serial, src->serial);
	if (h & BMS_HAVE_FIRMWARE)
		merge_text(dst->firmware, src->firmware);
	dst->have |= h;
}

static int cells_check(const struct bms_reading *r, char *why, size_t len)
{
	if (!(r->have & BMS_HAVE_CELLS) || r->ncells == 0 ||
	    r->ncells > BMS_MAX_CELLS) {
		snprintf(why, len, "cells: no cell voltages");
		return -1;
	}
	for (unsigned i = 0; i < r->ncells; i++) {
		double v = r->cell_v[i];

		if (isfinite(v) && v >= BMS_CELL_MIN_V && v <= BMS_CELL_MAX_V)
			continue;
		snprintf(why, len, "cell %u: %.3f V is outside %.1f..%.1f V",
			 i + 1, v, BMS_CELL_MIN_V, BMS_CELL_MAX_V);
		return -1;
	}
	return 0;
}

static int temps_check(const struct bms_reading *r, char *why, size_t len)
{
	if (r->ntemps > BMS_MAX_TEMPS) {
		snprintf(why, len, "temperatures: %u sensors", r->ntemps);
		return -1;
	}
	for (unsigned i = 0; i < r->ntemps; i++) {
		double t = r->temp_c[i];

		if (isfinite(t) && t >= BMS_TEMP_MIN_C && t <= BMS_TEMP_MAX_C)
			continue;
		snprintf(why, len,
			 "temperature %u: %.1f C is outside %.0f..%.0f C",
			 i + 1, t, BMS_TEMP_MIN_C, BMS_TEMP_MAX_C);
		return -1;
	}
	return 0;
}

/* SoC and pack voltage, where the reading has them (NaN: not reported). */
static int basic_check(const struct bms_reading *r, char *why, size_t len)
{
	double sum = 0;

	if (!(r->have & BMS_HAVE_BASIC))
		return 0;
	if (!isnan(r->soc) && !(r->soc >= 0 && r->soc <= 100)) {
		snprintf(why, len, "soc: %.1f %% is outside 0..100 %%", r->soc);
		return -1;
	}
	if (isnan(r->voltage))
		return 0;
	for (unsigned i = 0; i < r->ncells; i++)
		sum += r->cell_v[i];
	if (isfinite(r->voltage) &&
	    fabs(r->voltage - sum) <= BMS_PACK_SUM_FRAC * sum)
		return 0;
	snprintf(why, len,
		 "voltage: %.2f V is more than %.0f %% away from the sum of "
		 "the cells, %.2f V",
		 r->voltage, BMS_PACK_SUM_FRAC * 100, sum);
	return -1;
}

int bms_reading_check(const struct bms_reading *r, char *why, size_t len)
{
	if (cells_check(r, why, len) < 0 || temps_check(r, why, len) < 0 ||
	    basic_check(r, why, len) < 0)
		return -1;
	return 0;
}
