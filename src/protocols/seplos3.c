/* SPDX-License-Identifier: MIT */
/*
 * seplos3.c - the Seplos v3 driver (see seplos3.h): its register map on
 * the Modbus codec (modbus.c). Pure functions: no I/O, no state.
 *
 * Sources: the bus capture of syssi/esphome-seplos-bms
 * docs/pdus/v3/SG16S200A-SP57B-A-all-frames.txt (tests/data/seplosv3-*),
 * the decoders of dbus-serialbattery (mr-manuel, bms/seplosv3.py) and
 * esphome-seplos-bms (esp8266-seplos-v3-example.yaml), and the coil map of
 * shining-man/bsc_fw (include/devices/SeplosBmsV3.h, which names the
 * Seplos v3 protocol's event tables TB02-TB15 by their first coil).
 */
#include "seplos3.h"

#include <stdio.h>
#include <string.h>

#define TEXT_BAD '?'

/* PIA registers (0x1000 + i). */
enum {
	PIA_VOLTAGE = 0,   /* 10 mV */
	PIA_CURRENT = 1,   /* s16 10 mA, - = discharging */
	PIA_REMAINING = 2, /* 10 mAh */
	PIA_TOTAL = 3,     /* 10 mAh, full capacity */
	PIA_SOC = 5,       /* 0.1 % */
	PIA_CYCLES = 7,
};

/* PIB registers (0x1100 + i). */
enum {
	PIB_CELLS = 0x00,   /* 16 x mV */
	PIB_CELL_T = 0x10,  /* T1-T4, 0.1 K */
	PIB_SPARE_T = 0x14, /* four more slots, 2731 when unused */
	PIB_ENV_T = 0x18,   /* environment (board) */
	PIB_POWER_T = 0x19, /* power / MOSFET (board) */
};

/* VIA registers (0x1700 + i) and their length in characters. */
enum {
	VIA_MODEL = 0x0A,    /* 20 */
	VIA_FIRMWARE = 0x14, /* 2: "15" = 1.5 */
	VIA_SERIAL = 0x15,   /* 30 */
};

/*
 * Coil (bit from 0x1200) -> enum bms_protection. Only the protection
 * bits ("the pack stopped"), not the alarms before them. Where each is
 * from, and what is not verified:
 * - the event bytes' places (TB02 @0x48, TB03 @0x50, TB04 @0x58, TB05
 *   @0x60, TB07 FET @0x78, TB15 @0x88): bsc_fw SeplosBmsV3.h. The FET
 *   bits (0x78 discharge, 0x79 charge) agree with dbus-serialbattery
 *   (update_system_control) and with esphome-seplos-bms's coil capture
 *   (docs/pdus/v3/SP05B2312190075-coil-frames.txt: byte 15 = 03, both
 *   on, at rest; byte 8 = 10, TB09 "standby").
 * - the bits inside TB02-TB05 (even bit alarm, odd bit protection): as
 *   dbus-serialbattery update_alarms reads the same tables at 0x1400
 *   (0/1 cell high, 2/3 cell low, 4/5 pack high, 6/7 pack low; 8-15 cell
 *   temperature: charge high/low, discharge high/low; 0x14/0x15 power
 *   temperature; 0x20/0x21 charge current, 0x23/0x24 discharge current).
 * - TB04 bit 5 (power / MOSFET over-temperature) does not say a
 *   direction: both. The environment bits are not mapped (shown raw).
 * - TB15 (hard faults): any bit is a front-end error (both directions).
 * No capture verifies any alarm bit: the only pack capture has its coil
 * read refused (the bus master there asked for 0x0900 coils).
 */
static const struct {
	uint8_t bit;
	uint32_t prot;
} prot_map[] = {
	{SEPLOS3_PIC_VOLTAGE + 1, BMS_PROT_CELL_OV},
	{SEPLOS3_PIC_VOLTAGE + 3, BMS_PROT_CELL_UV},
	{SEPLOS3_PIC_VOLTAGE + 5, BMS_PROT_PACK_OV},
	{SEPLOS3_PIC_VOLTAGE + 7, BMS_PROT_PACK_UV},
	{SEPLOS3_PIC_CELL_T + 1, BMS_PROT_CHG_OT},
	{SEPLOS3_PIC_CELL_T + 3, BMS_PROT_CHG_UT},
	{SEPLOS3_PIC_CELL_T + 5, BMS_PROT_DSG_OT},
	{SEPLOS3_PIC_CELL_T + 7, BMS_PROT_DSG_UT},
	{SEPLOS3_PIC_BOARD_T + 5, BMS_PROT_CHG_OT | BMS_PROT_DSG_OT},
	{SEPLOS3_PIC_CURRENT + 1, BMS_PROT_CHG_OC},
	{SEPLOS3_PIC_CURRENT + 4, BMS_PROT_DSG_OC},
};

int seplos3_request(const struct drv_step *step, unsigned addr,
		    struct mb_read *rq)
{
	if (!step || !rq || addr > MB_MAX_ADDR)
		return -1;
	rq->addr = (uint8_t)addr;
	rq->start = (uint16_t)(step->id << 8);
	rq->fc = MB_FC_INPUT;
	switch (step->id) {
	case SEPLOS3_PIA:
		rq->count = SEPLOS3_PIA_REGS;
		return 0;
	case SEPLOS3_PIB:
		rq->count = SEPLOS3_PIB_REGS;
		return 0;
	case SEPLOS3_VIA:
		rq->count = SEPLOS3_VIA_REGS;
		return 0;
	case SEPLOS3_PIC:
		rq->fc = MB_FC_COILS;
		rq->count = SEPLOS3_PIC_COILS;
		return 0;
	default:
		return -1;
	}
}

uint32_t seplos3_protection(const uint8_t *coils, uint32_t *raw)
{
	uint32_t p = 0;

	if (!coils)
		return 0;
	for (size_t i = 0; i < sizeof(prot_map) / sizeof(prot_map[0]); i++)
		if (mb_bit(coils, prot_map[i].bit))
			p |= prot_map[i].prot;
	if (coils[SEPLOS3_PIC_FAULT / 8])
		p |= BMS_PROT_AFE;
	if (raw)
		*raw = (uint32_t)coils[SEPLOS3_PIC_VOLTAGE / 8] |
		       (uint32_t)coils[SEPLOS3_PIC_CELL_T / 8] << 8 |
		       (uint32_t)coils[SEPLOS3_PIC_CURRENT / 8] << 16 |
		       (uint32_t)coils[SEPLOS3_PIC_FAULT / 8] << 24;
	return p;
}

static double kelvin10_to_c(uint16_t raw)
{
	return raw / 10.0 - 273.15;
}

static enum drv_decode pia_reading(const uint8_t *d, struct bms_reading *r)
{
	uint16_t soc = mb_u16(d, PIA_SOC);

	if (soc > 1000)
		return DRV_ERR_FRAME; /* no pack reports these */
	r->voltage = mb_u16(d, PIA_VOLTAGE) / 100.0;
	r->current = mb_s16(d, PIA_CURRENT) / 100.0;
	r->remaining_ah = mb_u16(d, PIA_REMAINING) / 100.0;
	/* the block's total is the pack's full capacity; the rated one is
	 * a setting (0x1300 block), not read */
	r->full_ah = mb_u16(d, PIA_TOTAL) / 100.0;
	r->nominal_ah = r->full_ah;
	r->design_ah = 0;
	r->soc = soc / 10.0;
	r->cycles = mb_u16(d, PIA_CYCLES);
	r->have |= BMS_HAVE_BASIC;
	return DRV_OK;
}

/*
 * Cells: 16 registers; a pack of fewer cells reads 0 after its last one
 * (a 0 between two cells stays, and the plausibility check refuses it).
 * Temperatures: T1-T4 (cell sensors) and the four spare slots, each
 * unless it reads 2731 (0 C exactly: what an unused slot reads; the
 * number of NTCs is a setting of the pack, 0x1300, so T3/T4 can be unused
 * too, and taken as 0 C they would block charging for good; a real
 * sensor at exactly 0.0 C is left out for that poll), then the
 * environment and the power (MOSFET) sensors, only beside a cell sensor:
 * the board sensors never stand for the cells (I4: a pack without a cell
 * sensor has no temperature). At most BMS_MAX_TEMPS, cell sensors first.
 */
static enum drv_decode pib_reading(const uint8_t *d, struct bms_reading *r)
{
	unsigned n = SEPLOS3_CELLS, t = 0;

	while (n > 0 && mb_u16(d, PIB_CELLS + n - 1) == 0)
		n--;
	if (n == 0)
		return DRV_ERR_FRAME;
	r->ncells = n;
	for (unsigned i = 0; i < BMS_MAX_CELLS; i++)
		r->cell_v[i] = i < n ? mb_u16(d, PIB_CELLS + i) / 1000.0 : 0.0;
	memset(r->temp_c, 0, sizeof(r->temp_c));
	for (unsigned i = 0; i < 4; i++)
		if (mb_u16(d, PIB_CELL_T + i) != SEPLOS3_UNUSED_T)
			r->temp_c[t++] =
				kelvin10_to_c(mb_u16(d, PIB_CELL_T + i));
	for (unsigned i = 0; i < 4; i++)
		if (mb_u16(d, PIB_SPARE_T + i) != SEPLOS3_UNUSED_T)
			r->temp_c[t++] =
				kelvin10_to_c(mb_u16(d, PIB_SPARE_T + i));
	if (t > 0 && t < BMS_MAX_TEMPS)
		r->temp_c[t++] = kelvin10_to_c(mb_u16(d, PIB_ENV_T));
	if (t > 0 && t < BMS_MAX_TEMPS)
		r->temp_c[t++] = kelvin10_to_c(mb_u16(d, PIB_POWER_T));
	r->ntemps = t;
	r->have |= BMS_HAVE_CELLS | BMS_HAVE_TEMPS;
	return DRV_OK;
}

static enum drv_decode pic_reading(const uint8_t *d, struct bms_reading *r)
{
	r->protection = seplos3_protection(d, &r->protection_raw);
	r->discharge_fet = mb_bit(d, SEPLOS3_PIC_FET);
	r->charge_fet = mb_bit(d, SEPLOS3_PIC_FET + 1);
	/* balancing: the sources disagree on its coils (bsc_fw 0x30/0x38,
	 * dbus-serialbattery 0x28/0x30): not read */
	r->have |= BMS_HAVE_PROTECTION;
	return DRV_OK;
}

/* Text of n characters at register reg: up to the first NUL, blanks at
 * the end dropped, unprintable bytes shown as '?' (display only). */
static void text_at(const uint8_t *d, unsigned reg, size_t n, char *out,
		    size_t cap)
{
	const uint8_t *p = d + 2 * reg;
	size_t len = 0;

	while (len < n && len + 1 < cap && p[len] != 0)
		len++;
	while (len > 0 && p[len - 1] == ' ')
		len--;
	for (size_t i = 0; i < len; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : TEXT_BAD;
	out[len] = '\0';
}

static enum drv_decode via_reading(const uint8_t *d, struct bms_reading *r)
{
	char fw[3];

	text_at(d, VIA_MODEL, 20, r->model, sizeof(r->model));
	text_at(d, VIA_SERIAL, 30, r->serial, sizeof(r->serial));
	text_at(d, VIA_FIRMWARE, 2, fw, sizeof(fw));
	/* "15" is shown by Seplos's software as 1.5 */
	if (strlen(fw) == 2 && fw[0] >= '0' && fw[0] <= '9' && fw[1] >= '0' &&
	    fw[1] <= '9')
		snprintf(r->firmware, sizeof(r->firmware), "%c.%c", fw[0],
			 fw[1]);
	else
		snprintf(r->firmware, sizeof(r->firmware), "%s", fw);
	if (r->model[0])
		r->have |= BMS_HAVE_MODEL;
	if (r->serial[0])
		r->have |= BMS_HAVE_SERIAL;
	if (r->firmware[0])
		r->have |= BMS_HAVE_FIRMWARE;
	return DRV_OK;
}

static size_t seplos3_build(const struct drv_step *step, unsigned addr,
			    uint8_t *buf, size_t cap)
{
	struct mb_read rq;

	if (seplos3_request(step, addr, &rq) != 0)
		return 0;
	return mb_build_read(&rq, buf, cap);
}

/* A refusal (exception 02 from a master, a pack without the coil block)
 * is DRV_ERR_STATUS: well-formed, never data. */
static enum drv_decode seplos3_decode(const struct drv_step *step,
				      unsigned addr, const uint8_t *f,
				      size_t len, struct bms_reading *out)
{
	struct mb_read rq;
	const uint8_t *d = NULL;
	enum drv_decode rc;

	if (!out || seplos3_request(step, addr, &rq) != 0)
		return DRV_ERR_UNEXPECTED;
	rc = mb_check_answer(&rq, f, len, &d, NULL);
	if (rc != DRV_OK)
		return rc;
	switch (step->id) {
	case SEPLOS3_PIA:
		return pia_reading(d, out);
	case SEPLOS3_PIB:
		return pib_reading(d, out);
	case SEPLOS3_PIC:
		return pic_reading(d, out);
	default:
		return via_reading(d, out);
	}
}

/*
 * The pack block first (an empty address costs one timeout in a scan, a
 * master at 0 refuses it at once), the coils (optional: a pack may
 * refuse them) and the identity (once) before the cells, which come last
 * and complete the poll.
 */
static const struct drv_step seplos3_steps[] = {
	{.id = SEPLOS3_PIA, .what = "pack values (0x1000)"},
	{.id = SEPLOS3_PIC,
	 .optional = true,
	 .what = "alarms and FETs (0x1200)"},
	{.id = SEPLOS3_VIA, .once = true, .what = "identity (0x1700)"},
	{.id = SEPLOS3_PIB, .what = "cells (0x1100)"},
};

/*
 * 19200 baud: the longest answer (0x1700, 107 bytes) takes 56 ms on the
 * wire; dbus-serialbattery waits 0.4 s. 500 ms leaves room for a slow
 * RS485-to-TCP gateway.
 */
const struct bms_driver seplos3_driver = {
	.name = "seplos-v3",
	.default_baud = 19200,
	.default_timeout_ms = 500,
	.addressed = true,
	.min_addr = 1,
	.max_addr = SEPLOS3_MAX_ADDR,
	.addr_hint = "the DIP-switch address of a Seplos v3 pack is 1-15; the "
		     "pack at 0 is the bus master, which answers the bank's "
		     "totals and refuses the pack blocks",
	.steps = seplos3_steps,
	.nsteps = sizeof(seplos3_steps) / sizeof(seplos3_steps[0]),
	.build_request = seplos3_build,
	.scan = mb_scan,
	.decode = seplos3_decode,
};
