/* SPDX-License-Identifier: MIT */
/*
 * reading.c - helpers over struct bms_reading: protection names and the
 * merge of partial readings (one per request of a poll) into one.
 */
#include "reading.h"

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
	/* Both groups carry the FET states and the balancing bits (JBD in
	 * its basic info, the "~" family in its alarm answer, which comes
	 * after the analog one and so has the last word). */
	if (h & (BMS_HAVE_BASIC | BMS_HAVE_PROTECTION)) {
		dst->charge_fet = src->charge_fet;
		dst->discharge_fet = src->discharge_fet;
		dst->balancing = src->balancing;
	}
	if (h & BMS_HAVE_PROTECTION) {
		dst->protection = src->protection;
		dst->protection_raw = src->protection_raw;
	}
	if (h & BMS_HAVE_CELLS) {
		dst->ncells = src->ncells;
		memcpy(dst->cell_v, src->cell_v, sizeof(dst->cell_v));
	}
	if (h & BMS_HAVE_TEMPS) {
		dst->ntemps = src->ntemps;
		memcpy(dst->temp_c, src->temp_c, sizeof(dst->temp_c));
	}
	if (h & BMS_HAVE_MODEL)
		merge_text(dst->model, src->model);
	if (h & BMS_HAVE_SERIAL)
		merge_text(dst->serial, src->serial);
	if (h & BMS_HAVE_FIRMWARE)
		merge_text(dst->firmware, src->firmware);
	dst->have |= h;
}
