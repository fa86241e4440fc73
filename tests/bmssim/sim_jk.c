/* SPDX-License-Identifier: MIT */
/*
 * sim_jk.c - JK legacy responder (see sim_jk.h).
 *
 * The answer carries every item of a real "read all" answer, in the order
 * of the captures in tests/data (the document's table order):
 *   0x79 cells: count byte, then (cell number, mV) per cell
 *   0x80 MOSFET, 0x81 box (T1), 0x82 battery (T2) temperature: whole
 *        degrees C, 0..100, below zero 100 + |t| (101 = -1 C)
 *   0x83 pack voltage, 10 mV      0x84 current: protocol version 01
 *        (item 0xC0): 10 mA, bit 15 set while charging
 *   0x85 SoC %   0x86 battery temperature sensors   0x87 cycles
 *   0x89 cycle capacity   0x8A cells   0x8B warning bits   0x8C status
 *        (bit 0 charge MOSFET, bit 1 discharge MOSFET, bit 2 balancing)
 *   0x8E-0xA8 protection settings (fixed LiFePO4 values), 0xA9 cells,
 *   0xAA capacity Ah, 0xAB/0xAC MOSFET switches, ..., 0xB7 software
 *   version (15 characters, '_'-padded), 0xB9 actual capacity Ah, 0xBA
 *   manufacturer ID (24 characters: the model), 0xC0 protocol version 01.
 * The simulator's temperature sensor 1 is the MOSFET sensor, 2 and 3 the
 * battery sensors (0x86 = sensors - 1).
 */
#include "sim_jk.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STX0       0x4E
#define STX1       0x57
#define END_ID     0x68
#define TYPE_REQ   0x00
#define TYPE_ANS   0x01
#define SRC_BMS    0x00
#define RX_CAP     256
#define FW_LEN     15
#define ID_LEN     8
#define PASS_LEN   10
#define HDR_LEN    11
#define TAIL_LEN   9
#define STATUS_CHG 0x0001
#define STATUS_DSG 0x0002
#define STATUS_BAL 0x0004

/* The document's warning bits (0x8B) carrying the simulator's flags. */
static const struct {
	uint32_t flag;
	unsigned bit;
} warning_bits[] = {
	{SIM_PROT_PACK_OV, 2},  /* charging over-voltage */
	{SIM_PROT_PACK_UV, 3},  /* discharge under-voltage */
	{SIM_PROT_CHG_OT, 4},   /* battery over temperature */
	{SIM_PROT_DSG_OT, 4},   /* battery over temperature */
	{SIM_PROT_CHG_OC, 5},   /* charging overcurrent */
	{SIM_PROT_DSG_OC, 6},   /* discharge overcurrent */
	{SIM_PROT_CHG_UT, 9},   /* battery low temperature */
	{SIM_PROT_DSG_UT, 9},   /* battery low temperature */
	{SIM_PROT_CELL_OV, 10}, /* monomer overvoltage */
	{SIM_PROT_CELL_UV, 11}, /* monomer undervoltage */
	{SIM_PROT_AFE, 12},     /* 309_A protection (the front-end chip) */
};
#define NWARNING (sizeof(warning_bits) / sizeof(warning_bits[0]))

/* Settings 0x8E..0xA8 after the total-voltage pair: LiFePO4 values. */
static const struct {
	uint8_t code;
	int value;
} settings[] = {
	{0x90, 3650}, {0x91, 3400}, {0x92, 5},   {0x93, 2500}, {0x94, 2900},
	{0x95, 5},    {0x96, 300},  {0x97, 100}, {0x98, 3},    {0x99, 50},
	{0x9A, 5},    {0x9B, 3300}, {0x9C, 10},
};
static const struct {
	uint8_t code;
	int value;
} temp_settings[] = {
	{0x9E, 90},  {0x9F, 70},  {0xA0, 100}, {0xA1, 100},
	{0xA2, 20},  {0xA3, 70},  {0xA4, 70},  {0xA5, -20},
	{0xA6, -10}, {0xA7, -20}, {0xA8, -10},
};

struct jk_proto {
	struct sim_proto base; /* first: the line only sees this */
	uint8_t rx[RX_CAP];
	size_t rxlen;
};

uint16_t sim_jk_sum(const uint8_t *p, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += p[i];
	return (uint16_t)sum;
}

uint16_t sim_jk_warnings(uint32_t protection)
{
	uint16_t w = 0;

	for (size_t i = 0; i < NWARNING; i++)
		if (protection & warning_bits[i].flag)
			w |= (uint16_t)(1u << warning_bits[i].bit);
	return w;
}

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* A complete request at b, len bytes: every field checked. */
static int valid_request(const uint8_t *b, size_t len)
{
	return len >= SIM_JK_MIN_FRAME && b[0] == STX0 && b[1] == STX1 &&
	       be16(b + 2) + 2 == len && b[10] == TYPE_REQ &&
	       b[len - 5] == END_ID && b[len - 4] == 0 && b[len - 3] == 0 &&
	       be16(b + len - 2) == sim_jk_sum(b, len - 4);
}

size_t sim_jk_scan(const uint8_t *buf, size_t len, int *found, uint8_t *cmd)
{
	*found = 0;
	for (size_t i = 0; i < len; i++) {
		size_t n;

		if (buf[i] != STX0 || (i + 1 < len && buf[i + 1] != STX1))
			continue;
		if (len - i < 4)
			return i; /* the length is still to come */
		n = be16(buf + i + 2) + 2u;
		if (n < SIM_JK_MIN_FRAME || n > SIM_JK_MAX_REQ)
			continue;
		if (len - i < n)
			return i;
		if (valid_request(buf + i, n)) {
			*found = 1;
			*cmd = buf[i + 8];
			return i + n;
		}
	}
	return len;
}

/* ---- the answer ------------------------------------------------------- */

struct out {
	uint8_t *p;
	size_t n, cap;
	int bad;
};

static void put(struct out *o, const void *src, size_t n)
{
	if (o->bad || o->cap - o->n < n) {
		o->bad = 1;
		return;
	}
	memcpy(o->p + o->n, src, n);
	o->n += n;
}

static void put8(struct out *o, unsigned v)
{
	uint8_t b = (uint8_t)v;

	put(o, &b, 1);
}

static void put16(struct out *o, unsigned v)
{
	put8(o, v >> 8);
	put8(o, v);
}

static void put32(struct out *o, unsigned long v)
{
	put16(o, (unsigned)(v >> 16) & 0xFFFF);
	put16(o, (unsigned)v & 0xFFFF);
}

/* A text item: code, then exactly n bytes (pad after the text). */
static void put_text(struct out *o, uint8_t code, const char *s, size_t n,
		     char pad)
{
	size_t len = strnlen(s, n);

	put8(o, code);
	put(o, s, len);
	for (; len < n; len++)
		put8(o, (uint8_t)pad);
}

static unsigned raw_temp(double c)
{
	long t = lround(c);

	if (t > 100)
		t = 100;
	if (t < -40)
		t = -40;
	return t < 0 ? (unsigned)(100 - t) : (unsigned)t;
}

static unsigned raw_current(double a)
{
	long r = lround(fabs(a) * 100.0);

	if (r > 0x7FFF)
		r = 0x7FFF;
	return (unsigned)r | (a > 0 ? 0x8000u : 0u);
}

static unsigned clamp16(long v)
{
	return v < 0 ? 0 : v > 0xFFFF ? 0xFFFF : (unsigned)v;
}

static void put_cells_and_temps(struct out *o, const struct sim_view *v)
{
	put8(o, 0x79);
	put8(o, 3 * v->ncells);
	for (unsigned i = 0; i < v->ncells; i++) {
		put8(o, i + 1);
		put16(o, clamp16(lround(v->cell_v[i] * 1000.0)));
	}
	/* sensor i + 1 of the view; a missing battery sensor reads as the
	 * last one (0x86 says it is not there) */
	for (unsigned i = 0; i < SIM_JK_MAX_TEMPS; i++) {
		unsigned k = i < v->ntemps ? i : v->ntemps - 1;

		put8(o, 0x80 + i);
		put16(o, raw_temp(v->temp_c[k]));
	}
}

static void put_values(struct out *o, const struct sim_view *v)
{
	unsigned status = (v->charge_fet ? STATUS_CHG : 0) |
			  (v->discharge_fet ? STATUS_DSG : 0) |
			  (v->balancing ? STATUS_BAL : 0);

	put8(o, 0x83);
	put16(o, clamp16(lround(v->voltage * 100.0)));
	put8(o, 0x84);
	put16(o, raw_current(v->current));
	put8(o, 0x85);
	put8(o, (unsigned)lround(v->soc));
	put8(o, 0x86);
	put8(o, v->ntemps - 1);
	put8(o, 0x87);
	put16(o, v->cycles > 0xFFFF ? 0xFFFF : v->cycles);
	put8(o, 0x89);
	put32(o, 0);
	put8(o, 0x8A);
	put16(o, v->ncells);
	put8(o, 0x8B);
	put16(o, sim_jk_warnings(v->protection));
	put8(o, 0x8C);
	put16(o, status);
}

static void put_settings(struct out *o, const struct sim_view *v)
{
	put8(o, 0x8E);
	put16(o, v->ncells * 365); /* total over-voltage, 10 mV */
	put8(o, 0x8F);
	put16(o, v->ncells * 250);
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		put8(o, settings[i].code);
		put16(o, (unsigned)settings[i].value);
	}
	put8(o, 0x9D); /* active balance switch */
	put8(o, 1);
	for (size_t i = 0; i < sizeof(temp_settings) / sizeof(temp_settings[0]);
	     i++) {
		put8(o, temp_settings[i].code);
		put16(o, (unsigned)temp_settings[i].value & 0xFFFF);
	}
	put8(o, 0xA9);
	put8(o, v->ncells);
	put8(o, 0xAA);
	put32(o, (unsigned long)lround(v->nominal_ah));
	put8(o, 0xAB); /* charge MOSFET switch (setting): on */
	put8(o, 1);
	put8(o, 0xAC);
	put8(o, 1);
	put8(o, 0xAD);
	put16(o, 1041); /* current calibration, mA */
	put8(o, 0xAE);
	put8(o, 1);
	put8(o, 0xAF); /* battery type: lithium iron phosphate */
	put8(o, 0);
	put8(o, 0xB0);
	put16(o, 10);
	put8(o, 0xB1);
	put8(o, 20);
}

static void put_identity(struct out *o, const struct sim_view *v)
{
	char fw[32], date[8];

	put_text(o, 0xB2, "123456", PASS_LEN, '\0');
	put8(o, 0xB3);
	put8(o, 0);
	put_text(o, 0xB4, "Input Us", ID_LEN, '\0');
	snprintf(date, sizeof(date), "%02u%02u", v->mfg_year % 100,
		 v->mfg_month % 100);
	put_text(o, 0xB5, date, 4, '0');
	put8(o, 0xB6);
	put32(o, 0);
	snprintf(fw, sizeof(fw), "%u.%u", v->fw_major, v->fw_minor);
	put_text(o, 0xB7, fw, FW_LEN, '_');
	put8(o, 0xB8);
	put8(o, 0);
	put8(o, 0xB9);
	put32(o, (unsigned long)lround(v->full_ah));
	put_text(o, 0xBA, v->model, SIM_JK_MAKER_LEN, '\0');
	put8(o, 0xC0);
	put8(o, 0x01);
}

size_t sim_jk_answer(const struct sim_view *v, uint8_t *buf, size_t cap)
{
	struct out o = {.p = buf, .cap = cap};
	uint16_t sum;

	if (v->ntemps < 1 || v->ncells < 1)
		return 0;
	put(&o, "\x4E\x57\x00\x00\x00\x00\x00\x00", 8); /* length later */
	put8(&o, SIM_JK_READ_ALL);
	put8(&o, SRC_BMS);
	put8(&o, TYPE_ANS);
	put_cells_and_temps(&o, v);
	put_values(&o, v);
	put_settings(&o, v);
	put_identity(&o, v);
	put(&o, "\x00\x00\x00\x00\x68\x00\x00", 7); /* record, end, unused */
	if (o.bad || o.cap - o.n < 2)
		return 0;
	buf[2] = (uint8_t)((o.n + 2 - 2) >> 8);
	buf[3] = (uint8_t)(o.n + 2 - 2);
	sum = sim_jk_sum(buf, o.n - 2);
	put16(&o, sum);
	return o.bad ? 0 : o.n;
}

/* ---- the responder ---------------------------------------------------- */

static double whole(double v)
{
	return (double)lround(v);
}

static void jk_quantize(struct sim_view *v)
{
	long mv_sum = 0;

	for (unsigned i = 0; i < v->ncells; i++) {
		v->cell_v[i] = clamp16(lround(v->cell_v[i] * 1000.0)) / 1000.0;
		mv_sum += lround(v->cell_v[i] * 1000.0);
	}
	/* the pack voltage is the sum of the cells as sent, in 10 mV */
	v->voltage = clamp16(lround(mv_sum / 10.0)) / 100.0;
	v->current = (v->current > 0 ? 1 : -1) *
		     (double)(raw_current(v->current) & 0x7FFF) / 100.0;
	v->soc = whole(v->soc < 0 ? 0 : v->soc > 100 ? 100 : v->soc);
	v->nominal_ah = whole(v->nominal_ah);
	v->full_ah = whole(v->full_ah);
	/* JK sends no remaining capacity: the daemon takes SoC x capacity */
	v->remaining_ah = v->soc * v->nominal_ah / 100.0;
	if (v->cycles > 0xFFFF)
		v->cycles = 0xFFFF;
	if (v->ntemps > SIM_JK_MAX_TEMPS)
		v->ntemps = SIM_JK_MAX_TEMPS;
	for (unsigned i = 0; i < v->ntemps; i++) {
		unsigned raw = raw_temp(v->temp_c[i]);

		v->temp_c[i] = raw > 100 ? -(double)(raw - 100) : (double)raw;
	}
	{
		uint32_t carried = 0;

		for (size_t i = 0; i < NWARNING; i++)
			carried |= warning_bits[i].flag;
		v->protection &= carried;
	}
	v->model[SIM_JK_MAKER_LEN] = '\0';
	v->serial[0] = '\0'; /* no serial number in the frame */
	v->mfg_day = 0;      /* 0xB5 has year and month only ... */
	v->mfg_year = 0;     /* ... and the daemon does not show it */
	v->mfg_month = 0;
}

static int jk_check(const struct sim_battery *b, char *err, size_t errlen)
{
	if (b->ntemps < 1 || b->ntemps > SIM_JK_MAX_TEMPS) {
		snprintf(err, errlen,
			 "jk: %u temperature sensors: a JK pack has its "
			 "MOSFET sensor and up to two battery sensors "
			 "(--temps 1..3)",
			 b->ntemps);
		return -1;
	}
	if (b->ncells * 3 > 255) {
		snprintf(err, errlen, "jk: %u cells do not fit item 0x79",
			 b->ncells);
		return -1;
	}
	return 0;
}

static void jk_identify(struct sim_battery *b)
{
	/* The firmware is what 0xB7 carries; the model fits 0xBA. */
	b->model[SIM_JK_MAKER_LEN] = '\0';
}

static struct sim_proto *jk_create(const struct sim_proto_cfg *cfg)
{
	struct jk_proto *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->base.ops = &sim_jk_ops;
	j->base.bats = cfg->bats;
	j->base.nbats = cfg->nbats;
	return &j->base;
}

static void jk_destroy(struct sim_proto *p)
{
	free(p);
}

static void answer(struct sim_proto *p, uint8_t cmd, sim_emit_fn emit,
		   void *ctx)
{
	struct sim_view v;
	uint8_t out[SIM_MAX_FRAME];
	size_t n;

	if (cmd != SIM_JK_READ_ALL)
		return; /* reads of one item, writes: not simulated */
	sim_proto_view(&sim_jk_ops, p->bats[0], &v);
	n = sim_jk_answer(&v, out, sizeof(out));
	if (n)
		emit(ctx, 0, out, n);
}

static void jk_feed(struct sim_proto *p, const uint8_t *buf, size_t len,
		    sim_emit_fn emit, void *ctx)
{
	struct jk_proto *j = (struct jk_proto *)p;

	while (len) {
		size_t take = RX_CAP - j->rxlen;
		size_t drop;
		int found;
		uint8_t cmd = 0;

		if (take > len)
			take = len;
		memcpy(j->rx + j->rxlen, buf, take);
		j->rxlen += take;
		buf += take;
		len -= take;
		do {
			drop = sim_jk_scan(j->rx, j->rxlen, &found, &cmd);
			memmove(j->rx, j->rx + drop, j->rxlen - drop);
			j->rxlen -= drop;
			if (found)
				answer(p, cmd, emit, ctx);
		} while (found);
		if (j->rxlen == RX_CAP)
			j->rxlen = 0; /* a start that never completes */
	}
}

static void jk_corrupt(uint8_t *f, size_t len)
{
	if (len >= 2)
		f[len - 1] ^= 0xFF; /* low checksum byte */
}

const struct sim_proto_ops sim_jk_ops = {
	.name = "jk",
	.max_per_line = 1,
	.addressed = false,
	.identify = jk_identify,
	.check = jk_check,
	.create = jk_create,
	.destroy = jk_destroy,
	.feed = jk_feed,
	.quantize = jk_quantize,
	.corrupt = jk_corrupt,
};
