/* SPDX-License-Identifier: MIT */
/*
 * sim_daly.c - Daly responder (see sim_daly.h).
 *
 * Data ids answered:
 *   0x90 pack voltage 0.1 V, 00 00 (acquired voltage), current 0.1 A
 *        with offset 30000 (raw above 30000 = discharging, as the
 *        captured unit), SoC 0.1 %
 *   0x91 / 0x92 highest / lowest cell (mV, number) and temperature
 *   0x93 state (0 idle, 1 charging, 2 discharging), charge MOSFET,
 *        discharge MOSFET, life counter, remaining mAh (32 bits)
 *   0x94 cells, sensors, charger 0, load 0, DI/DO, cycles (16 bits), then a
 *        byte left over from the previous answer (as the unit does)
 *   0x95 16 frames: number from 1, 3 cells mV, reserved 0x40
 *   0x96 frames of 7 temperatures (degrees C + 40), number from 1
 *   0x97 balancing: one bit per cell, byte 0 bit 0 = cell 1
 *   0x98 failure bits: level-2 limits and faults (failure_bits[])
 * A request with another address or length, or a bad checksum, is not
 * answered.
 */
#include "sim_daly.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define START     0xA5
#define HOST      0x40
#define BMS       0x01
#define LEN       0x08
#define T_OFFSET  40
#define I_OFFSET  30000
#define RX_CAP    64
#define PER_CELLS 3
#define PER_TEMPS 7

/* byte, bit of 0x98 for each of the simulator's flags (level 2). */
static const struct {
	uint32_t flag;
	unsigned byte, bit;
} failure_bits[] = {
	{SIM_PROT_CELL_OV, 0, 1}, /* cell voltage high, level 2 */
	{SIM_PROT_CELL_UV, 0, 3}, /* cell voltage low, level 2 */
	{SIM_PROT_PACK_OV, 0, 5}, /* sum voltage high, level 2 */
	{SIM_PROT_PACK_UV, 0, 7}, /* sum voltage low, level 2 */
	{SIM_PROT_CHG_OT, 1, 1},  /* charge temperature high, level 2 */
	{SIM_PROT_CHG_UT, 1, 3},  /* charge temperature low, level 2 */
	{SIM_PROT_DSG_OT, 1, 5},  /* discharge temperature high, level 2 */
	{SIM_PROT_DSG_UT, 1, 7},  /* discharge temperature low, level 2 */
	{SIM_PROT_CHG_OC, 2, 1},  /* charge over-current, level 2 */
	{SIM_PROT_DSG_OC, 2, 3},  /* discharge over-current, level 2 */
	{SIM_PROT_AFE, 5, 0},     /* AFE acquisition chip fault */
	{SIM_PROT_SHORT, 6, 2},   /* short circuit protection */
};
#define NFAILURE (sizeof(failure_bits) / sizeof(failure_bits[0]))

struct daly_proto {
	struct sim_proto base; /* first: the line only sees this */
	uint8_t rx[RX_CAP];
	size_t rxlen;
	uint8_t last[8];
};

uint8_t sim_daly_sum(const uint8_t *p, size_t n)
{
	unsigned s = 0;

	for (size_t i = 0; i < n; i++)
		s += p[i];
	return (uint8_t)s;
}

void sim_daly_failures(uint32_t protection, uint8_t out[8])
{
	memset(out, 0, 8);
	for (size_t i = 0; i < NFAILURE; i++)
		if (protection & failure_bits[i].flag)
			out[failure_bits[i].byte] |=
				(uint8_t)(1u << failure_bits[i].bit);
}

static unsigned clamp(long v, long hi)
{
	return v < 0 ? 0 : v > hi ? (unsigned)hi : (unsigned)v;
}

static void be16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned raw_current(double a)
{
	/* 1..65535: raw 0 is the unit's "no reading" */
	unsigned raw = clamp(I_OFFSET - lround(a * 10.0), 65535);

	return raw ? raw : 1;
}

static unsigned raw_temp(double c)
{
	return clamp(lround(c) + T_OFFSET, 255);
}

/* One frame of id with data d into buf (13 bytes). */
static void frame(uint8_t id, const uint8_t d[8], uint8_t *buf)
{
	buf[0] = START;
	buf[1] = BMS;
	buf[2] = id;
	buf[3] = LEN;
	memcpy(buf + 4, d, 8);
	buf[12] = sim_daly_sum(buf, 12);
}

static int state_of(const struct sim_view *v)
{
	return v->current > 0 ? 1 : v->current < 0 ? 2 : 0;
}

/* The extremes: cell mV and number (0x91), temperature and sensor
 * (0x92), highest first. */
static void extremes(const struct sim_view *v, uint8_t id, uint8_t d[8])
{
	unsigned hi = 0, lo = 0;

	if (id == 0x91) {
		for (unsigned i = 1; i < v->ncells; i++) {
			if (v->cell_v[i] > v->cell_v[hi])
				hi = i;
			if (v->cell_v[i] < v->cell_v[lo])
				lo = i;
		}
		be16(d, clamp(lround(v->cell_v[hi] * 1000.0), 65535));
		d[2] = (uint8_t)(hi + 1);
		be16(d + 3, clamp(lround(v->cell_v[lo] * 1000.0), 65535));
		d[5] = (uint8_t)(lo + 1);
		return;
	}
	for (unsigned i = 1; i < v->ntemps; i++) {
		if (v->temp_c[i] > v->temp_c[hi])
			hi = i;
		if (v->temp_c[i] < v->temp_c[lo])
			lo = i;
	}
	if (v->ntemps == 0)
		return;
	d[0] = (uint8_t)raw_temp(v->temp_c[hi]);
	d[1] = (uint8_t)(hi + 1);
	d[2] = (uint8_t)raw_temp(v->temp_c[lo]);
	d[3] = (uint8_t)(lo + 1);
}

/* A one-frame answer's data; false if id is not one. */
static bool single(const struct sim_view *v, uint8_t id, const uint8_t *last,
		   uint8_t d[8])
{
	unsigned long mah = (unsigned long)lround(v->remaining_ah * 1000.0);
	int st = state_of(v);

	memset(d, 0, 8);
	switch (id) {
	case 0x90:
		be16(d, clamp(lround(v->voltage * 10.0), 65535));
		be16(d + 4, raw_current(v->current));
		be16(d + 6, clamp(lround(v->soc * 10.0), 1000));
		return true;
	case 0x91:
	case 0x92:
		memcpy(d, last, 8); /* the unit's leftovers in unused bytes */
		memset(d, 0, id == 0x91 ? 6 : 4);
		extremes(v, id, d);
		return true;
	case 0x93:
		d[0] = (uint8_t)st;
		d[1] = v->charge_fet;
		d[2] = v->discharge_fet;
		d[3] = (uint8_t)v->cycles; /* a life counter, 0-255 */
		be16(d + 4, (unsigned)(mah >> 16) & 0xFFFF);
		be16(d + 6, (unsigned)mah & 0xFFFF);
		return true;
	case 0x94:
		d[0] = (uint8_t)v->ncells;
		d[1] = (uint8_t)v->ntemps;
		/* charger / load detected (2, 3): 0, as the captured unit
		 * reports while discharging; the model has no such inputs */
		be16(d + 5, clamp(v->cycles, 65535));
		d[7] = last[7]; /* a leftover */
		return true;
	case 0x97:
		for (unsigned i = 0; i < v->ncells && i < 32; i++)
			if (v->balancing & (1u << i))
				d[i / 8] |= (uint8_t)(1u << (i % 8));
		return true;
	case 0x98:
		sim_daly_failures(v->protection, d);
		return true;
	default:
		return false;
	}
}

size_t sim_daly_answer(const struct sim_view *v, uint8_t id, uint8_t last[8],
		       uint8_t *buf, size_t cap)
{
	uint8_t d[8];
	size_t n = 0;

	if (id == 0x95 || id == 0x96) {
		unsigned per = id == 0x95 ? PER_CELLS : PER_TEMPS;
		unsigned count = id == 0x95 ? v->ncells : v->ntemps;
		unsigned frames = id == 0x95 ? SIM_DALY_CELL_FRAMES
					     : (count + per - 1) / per;

		if (frames == 0)
			frames = 1;
		if (cap < frames * SIM_DALY_FRAME)
			return 0;
		for (unsigned k = 0; k < frames; k++) {
			memset(d, 0, 8);
			d[0] = (uint8_t)(k + 1);
			for (unsigned j = 0; j < per; j++) {
				unsigned i = k * per + j;

				if (i >= count)
					break;
				if (id == 0x95)
					be16(d + 1 + 2 * j,
					     clamp(lround(v->cell_v[i] *
							  1000.0),
						   65535));
				else
					d[1 + j] =
						(uint8_t)raw_temp(v->temp_c[i]);
			}
			if (id == 0x95)
				d[7] = 0x40; /* reserved, as the unit */
			frame(id, d, buf + n);
			n += SIM_DALY_FRAME;
		}
		memcpy(last, d, 8);
		return n;
	}
	if (cap < SIM_DALY_FRAME || !single(v, id, last, d))
		return 0;
	frame(id, d, buf);
	memcpy(last, d, 8);
	return SIM_DALY_FRAME;
}

/* ---- the responder ---------------------------------------------------- */

static void daly_quantize(struct sim_view *v)
{
	uint32_t carried = 0;
	unsigned long mah;

	for (unsigned i = 0; i < v->ncells; i++)
		v->cell_v[i] =
			clamp(lround(v->cell_v[i] * 1000.0), 65535) / 1000.0;
	v->voltage = clamp(lround(v->voltage * 10.0), 65535) / 10.0;
	v->current = ((double)I_OFFSET - raw_current(v->current)) / 10.0;
	v->soc = clamp(lround(v->soc * 10.0), 1000) / 10.0;
	mah = (unsigned long)lround(v->remaining_ah * 1000.0);
	v->remaining_ah = mah / 1000.0;
	/* Daly sends no capacity: the daemon takes what the pack's SoC
	 * and remaining say it is. */
	v->nominal_ah = v->soc >= 1.0 ? v->remaining_ah * 100.0 / v->soc : 0;
	v->full_ah = 0;
	if (v->cycles > 0xFFFF)
		v->cycles = 0xFFFF;
	for (unsigned i = 0; i < v->ntemps; i++)
		v->temp_c[i] = (double)raw_temp(v->temp_c[i]) - T_OFFSET;
	for (size_t i = 0; i < NFAILURE; i++)
		carried |= failure_bits[i].flag;
	v->protection &= carried;
	v->model[0] = '\0'; /* no identity in the answers asked */
	v->serial[0] = '\0';
	v->fw_major = v->fw_minor = 0;
	v->mfg_year = v->mfg_month = v->mfg_day = 0;
}

static int daly_check(const struct sim_battery *b, char *err, size_t errlen)
{
	if (b->ncells > SIM_DALY_CELL_FRAMES * PER_CELLS) {
		snprintf(err, errlen, "daly: %u cells: 0x95 carries 48",
			 b->ncells);
		return -1;
	}
	return 0;
}

static struct sim_proto *daly_create(const struct sim_proto_cfg *cfg)
{
	struct daly_proto *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->base.ops = &sim_daly_ops;
	d->base.bats = cfg->bats;
	d->base.nbats = cfg->nbats;
	return &d->base;
}

static void daly_destroy(struct sim_proto *p)
{
	free(p);
}

/* A complete valid request at b (13 bytes). */
static bool is_request(const uint8_t *b)
{
	if (b[0] != START || b[1] != HOST || b[3] != LEN ||
	    b[12] != sim_daly_sum(b, 12))
		return false;
	for (unsigned i = 4; i < 12; i++)
		if (b[i] != 0)
			return false;
	return true;
}

size_t sim_daly_scan(const uint8_t *buf, size_t len, int *found, uint8_t *id)
{
	*found = 0;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != START)
			continue;
		if (len - i < SIM_DALY_FRAME)
			return i; /* may still complete */
		if (is_request(buf + i)) {
			*found = 1;
			*id = buf[i + 2];
			return i + SIM_DALY_FRAME;
		}
	}
	return len;
}

static void daly_feed(struct sim_proto *p, const uint8_t *buf, size_t len,
		      sim_emit_fn emit, void *ctx)
{
	struct daly_proto *d = (struct daly_proto *)p;

	while (len) {
		size_t take = RX_CAP - d->rxlen, drop;
		int found;
		uint8_t id = 0;

		if (take > len)
			take = len;
		memcpy(d->rx + d->rxlen, buf, take);
		d->rxlen += take;
		buf += take;
		len -= take;
		do {
			struct sim_view v;
			uint8_t out[SIM_DALY_CELL_FRAMES * SIM_DALY_FRAME];
			size_t n;

			drop = sim_daly_scan(d->rx, d->rxlen, &found, &id);
			memmove(d->rx, d->rx + drop, d->rxlen - drop);
			d->rxlen -= drop;
			if (!found)
				break;
			sim_proto_view(&sim_daly_ops, p->bats[0], &v);
			n = sim_daly_answer(&v, id, d->last, out, sizeof(out));
			/* Every frame of an answer as one: the line's delay
			 * and wire time then keep them in order. */
			if (n)
				emit(ctx, 0, out, n);
		} while (found);
		if (d->rxlen == RX_CAP)
			d->rxlen = 0;
	}
}

/* The first frame's checksum: the one the daemon needs. */
static void daly_corrupt(uint8_t *f, size_t len)
{
	if (len >= SIM_DALY_FRAME)
		f[SIM_DALY_FRAME - 1] ^= 0xFF;
}

const struct sim_proto_ops sim_daly_ops = {
	.name = "daly",
	.max_per_line = 1,
	.addressed = false,
	.check = daly_check,
	.create = daly_create,
	.destroy = daly_destroy,
	.feed = daly_feed,
	.quantize = daly_quantize,
	.corrupt = daly_corrupt,
};
