/* SPDX-License-Identifier: MIT */
/*
 * sim_pylon.c - the "~" family responder (see sim_pylon.h).
 *
 * Sources (all public): the Pylontech "RS485 protocol 3.3" as decoded by
 * github.com/Tomcat42/pylontech-python and the real US2000 frames in
 * tests/data/pylontech-us2000.cap; Pace v25 from
 * github.com/nkinnan/esphome-pace-bms and tests/data/pace-v25.cap; Seplos v2
 * from github.com/syssi/esphome-seplos-bms and
 * github.com/Louisvdw/dbus-serialbattery (bms/seplos.py).
 *
 * 0x42 INFO: DATAFLAG (00), command value, then per pack:
 *   pylontech  M, M cells (mV), N, N temperatures (0.1 K, offset 2731),
 *              current (signed, 100 mA), voltage (mV), remaining (mAh),
 *              UDI 02, total (mAh), cycles. Above 65.535 Ah: remaining
 *              and total are FFFF, UDI 04, and after the cycles come the
 *              remaining and total capacities again in 3 bytes (mAh).
 *   seplos     M, cells (mV), N, temperatures (0.1 K, offset 2731), current
 *              (signed, 10 mA), voltage (10 mV), remaining (10 mAh), 0A,
 *              full capacity (10 mAh), SoC (0.1 %), rated capacity
 *              (10 mAh), cycles, SoH (0.1 %), port voltage (10 mV), 4 x 0000.
 *   pace       M, cells (mV), N, temperatures (0.1 K, offset 2730), current
 *              (signed, 10 mA), voltage (mV), remaining (10 mAh), 03, full
 *              capacity (10 mAh), cycles, design capacity (10 mAh).
 * A stack answer (pylontech, pace) has DATAFLAG, the pack count, then the
 * per-pack part of every pack in address order.
 *
 * 0x44 INFO: DATAFLAG, command value, M, M cell alarm bytes, N, N
 * temperature alarm bytes (00 normal, 01 below the lower limit, 02 above
 * the upper limit), then
 *   pylontech  charge current, module voltage, discharge current alarm
 *              bytes, Status1..Status5;
 *   seplos     current alarm, voltage alarm, 14 (20 bytes follow), alarm
 *              events 1-6, on/off state, balancing 1-8 and 9-16, system
 *              state, disconnection 1-2, alarm events 7-8, 6 reserved;
 *   pace       charge current, total voltage, discharge current alarm
 *              bytes, protection 1, protection 2, system, configuration,
 *              fault, balancing (2 bytes, bit 0 = cell 1), warning 1, 2.
 * Which protection flag sets which bit is the table prot_map below; a flag
 * a variant cannot carry is dropped by quantize(), so the state file says
 * exactly what went out.
 */
#include "sim_pylon.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOI       '~'
#define EOI       '\r'
#define RX_CAP    256
#define MIN_FRAME 18 /* ~ + 12 header + 4 checksum + CR */
#define MAX_REQ   (MIN_FRAME + 2 * SIM_PYLON_REQ_INFO)
#define STACK_CMD 0xFF
#define DATAFLAG  0x00
#define RTN_OK    0x00
#define MAKER     "BMSSIM"

/* Where a protection flag goes in a variant's 0x44 answer. */
enum alarm_byte {
	AB_NONE,
	AB_STATUS1,
	AB_EVENT2,
	AB_EVENT3,
	AB_EVENT5,
	AB_PROT1,
	AB_PROT2
};

struct prot_bit {
	uint32_t flag;
	enum alarm_byte where;
	uint8_t bit;
};

struct variant {
	const char *name;
	uint8_t ver;
	double current_step;  /* A per count */
	double voltage_step;  /* V per count, pack voltage */
	double capacity_step; /* Ah per count */
	unsigned temp_offset; /* raw = 10 x degrees C + offset */
	bool balancing;       /* 0x44 carries the balancing bits */
	bool serial;          /* answers 0x93 */
	double max_ah;
	const struct prot_bit *prot; /* terminated by flag 0 */
};

/* Pylontech Status1; cell over-voltage is only in the cell alarm bytes. */
static const struct prot_bit pylontech_prot[] = {
	{SIM_PROT_PACK_OV, AB_STATUS1, 0},
	{SIM_PROT_CELL_UV, AB_STATUS1, 1},
	{SIM_PROT_CHG_OC, AB_STATUS1, 2},
	{SIM_PROT_DSG_OC, AB_STATUS1, 4},
	{SIM_PROT_DSG_OT, AB_STATUS1, 5},
	{SIM_PROT_CHG_OT, AB_STATUS1, 6},
	{SIM_PROT_PACK_UV, AB_STATUS1, 7},
	{SIM_PROT_CELL_OV, AB_NONE, 0},
	{0, AB_NONE, 0},
};

/* Seplos alarm events 2, 3 and 5: the "protection" bit of each pair. */
static const struct prot_bit seplos_prot[] = {
	{SIM_PROT_CELL_OV, AB_EVENT2, 1}, {SIM_PROT_CELL_UV, AB_EVENT2, 3},
	{SIM_PROT_PACK_OV, AB_EVENT2, 5}, {SIM_PROT_PACK_UV, AB_EVENT2, 7},
	{SIM_PROT_CHG_OT, AB_EVENT3, 1},  {SIM_PROT_CHG_UT, AB_EVENT3, 3},
	{SIM_PROT_DSG_OT, AB_EVENT3, 5},  {SIM_PROT_DSG_UT, AB_EVENT3, 7},
	{SIM_PROT_CHG_OC, AB_EVENT5, 1},  {SIM_PROT_DSG_OC, AB_EVENT5, 3},
	{SIM_PROT_SHORT, AB_EVENT5, 5},   {0, AB_NONE, 0},
};

/* Pace protection status 1 and 2. */
static const struct prot_bit pace_prot[] = {
	{SIM_PROT_CELL_OV, AB_PROT1, 0}, {SIM_PROT_CELL_UV, AB_PROT1, 1},
	{SIM_PROT_PACK_OV, AB_PROT1, 2}, {SIM_PROT_PACK_UV, AB_PROT1, 3},
	{SIM_PROT_CHG_OC, AB_PROT1, 4},  {SIM_PROT_DSG_OC, AB_PROT1, 5},
	{SIM_PROT_SHORT, AB_PROT1, 6},   {SIM_PROT_CHG_OT, AB_PROT2, 0},
	{SIM_PROT_DSG_OT, AB_PROT2, 1},  {SIM_PROT_CHG_UT, AB_PROT2, 2},
	{SIM_PROT_DSG_UT, AB_PROT2, 3},  {0, AB_NONE, 0},
};

static const struct variant variants[] = {
	[SIM_PYLON_PYLONTECH] = {"pylontech", 0x20, 0.1, 0.001, 0.001, 2731,
				 false, true, 16777.215, pylontech_prot},
	[SIM_PYLON_SEPLOS] = {"seplos", 0x20, 0.01, 0.01, 0.01, 2731, true,
			      false, 655.35, seplos_prot},
	[SIM_PYLON_PACE] = {"pace", 0x25, 0.01, 0.001, 0.01, 2730, true, false,
			    655.35, pace_prot},
};

uint8_t sim_pylon_ver(enum sim_pylon_variant var)
{
	return variants[var].ver;
}

/* ---- framing ------------------------------------------------------------ */

static const char hexdig[] = "0123456789ABCDEF";

uint16_t sim_pylon_length(unsigned lenid)
{
	unsigned sum = (lenid & 0xF) + (lenid >> 4 & 0xF) + (lenid >> 8 & 0xF);

	return (uint16_t)(((0x10u - (sum & 0xF)) & 0xF) << 12 |
			  (lenid & 0xFFF));
}

uint16_t sim_pylon_chksum(const uint8_t *ascii, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += ascii[i];
	return (uint16_t)(0x10000u - (sum & 0xFFFFu));
}

static uint8_t *hex8(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)hexdig[v >> 4 & 0xF];
	p[1] = (uint8_t)hexdig[v & 0xF];
	return p + 2;
}

static uint8_t *hex16(uint8_t *p, unsigned v)
{
	return hex8(hex8(p, v >> 8 & 0xFF), v & 0xFF);
}

size_t sim_pylon_frame(uint8_t ver, uint8_t adr, uint8_t cid2,
		       const uint8_t *info, size_t n, uint8_t *buf, size_t cap)
{
	size_t total = MIN_FRAME + 2 * n;
	uint8_t *p = buf;

	if (2 * n > 0xFFF || cap < total)
		return 0;
	*p++ = SOI;
	p = hex8(p, ver);
	p = hex8(p, adr);
	p = hex8(p, SIM_PYLON_CID1);
	p = hex8(p, cid2);
	p = hex16(p, sim_pylon_length((unsigned)(2 * n)));
	for (size_t i = 0; i < n; i++)
		p = hex8(p, info[i]);
	p = hex16(p, sim_pylon_chksum(buf + 1, (size_t)(p - buf - 1)));
	*p++ = EOI;
	return total;
}

static int unhex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* n (even) hex characters into n/2 bytes; -1 on a non-hex character. */
static int unhex_bytes(const uint8_t *s, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i += 2) {
		int hi = unhex(s[i]), lo = unhex(s[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int sim_pylon_parse(const uint8_t *buf, size_t len, struct sim_pylon_req *r)
{
	uint8_t head[6], chk[2];
	size_t lenid;

	if (len < MIN_FRAME || buf[0] != SOI || buf[len - 1] != EOI ||
	    (len - MIN_FRAME) % 2 != 0 ||
	    (len - MIN_FRAME) / 2 > SIM_PYLON_REQ_INFO)
		return -1;
	if (unhex_bytes(buf + 1, 12, head) < 0 ||
	    unhex_bytes(buf + len - 5, 4, chk) < 0)
		return -1;
	lenid = (size_t)((head[4] & 0x0F) << 8 | head[5]);
	if (lenid != len - MIN_FRAME ||
	    sim_pylon_length((unsigned)lenid) != (head[4] << 8 | head[5]))
		return -1;
	if ((chk[0] << 8 | chk[1]) != sim_pylon_chksum(buf + 1, len - 6))
		return -1;
	r->ver = head[0];
	r->adr = head[1];
	r->cid1 = head[2];
	r->cid2 = head[3];
	r->ninfo = lenid / 2;
	return unhex_bytes(buf + 13, lenid, r->info);
}

size_t sim_pylon_scan(const uint8_t *buf, size_t len, int *found,
		      struct sim_pylon_req *r)
{
	*found = 0;
	for (size_t i = 0; i < len; i++) {
		size_t j;

		if (buf[i] != SOI)
			continue;
		/* The frame ends at the first CR; a '~' before it means this
		 * start was noise. */
		for (j = i + 1; j < len && buf[j] != EOI && buf[j] != SOI; j++)
			;
		if (j == len) {
			if (len - i < MAX_REQ)
				return i; /* may still complete */
			continue;
		}
		if (buf[j] == EOI &&
		    sim_pylon_parse(buf + i, j + 1 - i, r) == 0) {
			*found = 1;
			return j + 1;
		}
	}
	return len;
}

bool sim_pylon_is_stack(const struct sim_pylon_req *r)
{
	return r->cid2 == SIM_PYLON_ANALOG && r->ninfo > 0 &&
	       r->info[r->ninfo - 1] == STACK_CMD;
}

/* ---- INFO encoders ------------------------------------------------------ */

/* A bounded byte writer: overflow is remembered, never written past. */
struct out {
	uint8_t *p;
	size_t n, cap;
	bool full;
};

static void put8(struct out *o, unsigned v)
{
	if (o->n >= o->cap) {
		o->full = true;
		return;
	}
	o->p[o->n++] = (uint8_t)v;
}

static void put16(struct out *o, unsigned v)
{
	put8(o, v >> 8 & 0xFF);
	put8(o, v & 0xFF);
}

static void put24(struct out *o, unsigned long v)
{
	put8(o, (unsigned)(v >> 16 & 0xFF));
	put16(o, (unsigned)(v & 0xFFFF));
}

static void put_text(struct out *o, const char *s, size_t width)
{
	size_t n = strnlen(s, width);

	for (size_t i = 0; i < width; i++)
		put8(o, i < n ? (uint8_t)s[i] : 0);
}

static size_t done(const struct out *o)
{
	return o->full ? 0 : o->n;
}

static unsigned long raw_u(double v, double step, unsigned long max)
{
	double r = round(v / step);

	return r < 0 ? 0 : r > (double)max ? max : (unsigned long)r;
}

static unsigned raw_s16(double v, double step)
{
	double r = round(v / step);
	long s = r < -32768.0 ? -32768 : r > 32767.0 ? 32767 : (long)r;

	return (unsigned)(s & 0xFFFF); /* two's complement */
}

static unsigned raw_temp(const struct variant *var, double c)
{
	return (unsigned)raw_u(c * 10.0 + var->temp_offset, 1.0, 0xFFFF);
}

static void put_cells_temps(struct out *o, const struct variant *var,
			    const struct sim_view *v)
{
	put8(o, v->ncells);
	for (unsigned i = 0; i < v->ncells; i++)
		put16(o, (unsigned)raw_u(v->cell_v[i], 0.001, 0xFFFF));
	put8(o, v->ntemps);
	for (unsigned i = 0; i < v->ntemps; i++)
		put16(o, raw_temp(var, v->temp_c[i]));
}

static void pylontech_capacity(struct out *o, const struct sim_view *v)
{
	unsigned long rem = raw_u(v->remaining_ah, 0.001, 0xFFFFFF);
	unsigned long tot = raw_u(v->nominal_ah, 0.001, 0xFFFFFF);
	bool wide = tot > 0xFFFF || rem > 0xFFFF;

	put16(o, wide ? 0xFFFF : (unsigned)rem);
	put8(o, wide ? 4 : 2); /* UDI */
	put16(o, wide ? 0xFFFF : (unsigned)tot);
	put16(o, v->cycles > 0xFFFF ? 0xFFFF : v->cycles);
	if (wide) {
		put24(o, rem);
		put24(o, tot);
	}
}

static void seplos_capacity(struct out *o, const struct sim_view *v)
{
	unsigned soc = (unsigned)raw_u(v->soc, 0.1, 1000);

	put16(o, (unsigned)raw_u(v->remaining_ah, 0.01, 0xFFFF));
	put8(o, 10); /* user-defined items that follow */
	put16(o, (unsigned)raw_u(v->full_ah, 0.01, 0xFFFF));
	put16(o, soc);
	put16(o, (unsigned)raw_u(v->nominal_ah, 0.01, 0xFFFF));
	put16(o, v->cycles > 0xFFFF ? 0xFFFF : v->cycles);
	put16(o, 1000); /* SoH: the model does not age */
	put16(o, (unsigned)raw_u(v->voltage, 0.01, 0xFFFF)); /* port */
	for (int i = 0; i < 4; i++)
		put16(o, 0); /* reserved */
}

static void pace_capacity(struct out *o, const struct sim_view *v)
{
	put16(o, (unsigned)raw_u(v->remaining_ah, 0.01, 0xFFFF));
	put8(o, 3); /* user-defined items: full, cycles, design */
	put16(o, (unsigned)raw_u(v->full_ah, 0.01, 0xFFFF));
	put16(o, v->cycles > 0xFFFF ? 0xFFFF : v->cycles);
	put16(o, (unsigned)raw_u(v->nominal_ah, 0.01, 0xFFFF));
}

/* The per-pack part of 0x42 (after DATAFLAG and the command value). */
static void put_pack(struct out *o, enum sim_pylon_variant var,
		     const struct sim_view *v)
{
	const struct variant *vr = &variants[var];

	put_cells_temps(o, vr, v);
	put16(o, raw_s16(v->current, vr->current_step));
	put16(o, (unsigned)raw_u(v->voltage, vr->voltage_step, 0xFFFF));
	if (var == SIM_PYLON_PYLONTECH)
		pylontech_capacity(o, v);
	else if (var == SIM_PYLON_SEPLOS)
		seplos_capacity(o, v);
	else
		pace_capacity(o, v);
}

size_t sim_pylon_analog(enum sim_pylon_variant var, uint8_t cmd,
			const struct sim_view *v, uint8_t *info, size_t cap)
{
	struct out o = {.p = info, .cap = cap};

	put8(&o, DATAFLAG);
	put8(&o, cmd);
	put_pack(&o, var, v);
	return done(&o);
}

size_t sim_pylon_stack(enum sim_pylon_variant var, const struct sim_view *v,
		       unsigned n, uint8_t *info, size_t cap)
{
	struct out o = {.p = info, .cap = cap};

	put8(&o, DATAFLAG);
	put8(&o, n);
	for (unsigned i = 0; i < n; i++)
		put_pack(&o, var, &v[i]);
	return done(&o);
}

/* Index of the lowest (sign -1) or highest (+1) of n values, -1 if none. */
static int extreme(const double *x, unsigned n, int sign)
{
	int best = n ? 0 : -1;

	for (unsigned i = 1; i < n; i++)
		if (sign * (x[i] - x[best]) > 0)
			best = (int)i;
	return best;
}

/* The alarm bytes every variant has: cells, temperatures (the extreme
 * cell or sensor carries the flag) and the pack voltage. */
static void put_level_alarms(struct out *o, const struct sim_view *v,
			     uint32_t prot)
{
	int hi = extreme(v->cell_v, v->ncells, 1);
	int lo = extreme(v->cell_v, v->ncells, -1);
	int hot = extreme(v->temp_c, v->ntemps, 1);
	int cold = extreme(v->temp_c, v->ntemps, -1);

	put8(o, v->ncells);
	for (int i = 0; i < (int)v->ncells; i++)
		put8(o, i == hi && (prot & SIM_PROT_CELL_OV)   ? 0x02
			: i == lo && (prot & SIM_PROT_CELL_UV) ? 0x01
							       : 0x00);
	put8(o, v->ntemps);
	for (int i = 0; i < (int)v->ntemps; i++)
		put8(o,
		     i == hot && (prot & (SIM_PROT_CHG_OT | SIM_PROT_DSG_OT))
			     ? 0x02
		     : i == cold && (prot & (SIM_PROT_CHG_UT | SIM_PROT_DSG_UT))
			     ? 0x01
			     : 0x00);
}

static unsigned level(uint32_t prot, uint32_t above, uint32_t below)
{
	return prot & above ? 0x02 : prot & below ? 0x01 : 0x00;
}

static uint32_t carried(const struct variant *vr)
{
	uint32_t m = 0;

	for (const struct prot_bit *b = vr->prot; b->flag; b++)
		m |= b->flag;
	return m;
}

static unsigned bits_for(const struct variant *vr, uint32_t prot,
			 enum alarm_byte where)
{
	unsigned byte = 0;

	for (const struct prot_bit *b = vr->prot; b->flag; b++)
		if (b->where == where && (prot & b->flag))
			byte |= 1u << b->bit;
	return byte;
}

/* Current in whole counts of the variant's step: what "charging" means. */
static long current_counts(const struct variant *vr, const struct sim_view *v)
{
	return lround(v->current / vr->current_step);
}

static void pylontech_status(struct out *o, const struct variant *vr,
			     const struct sim_view *v, uint32_t prot)
{
	long cur = current_counts(vr, v);
	unsigned long tot = raw_u(v->nominal_ah, 0.001, 0xFFFFFF);
	bool full = tot > 0 && raw_u(v->remaining_ah, 0.001, 0xFFFFFF) >= tot;

	put8(o, level(prot, SIM_PROT_CHG_OC, 0));
	put8(o, level(prot, SIM_PROT_PACK_OV, SIM_PROT_PACK_UV));
	put8(o, level(prot, SIM_PROT_DSG_OC, 0));
	put8(o, bits_for(vr, prot, AB_STATUS1));
	/* Status2: using battery power, discharge and charge MOSFETs */
	put8(o, (v->discharge_fet ? 0x0C : 0) | (v->charge_fet ? 0x02 : 0));
	/* Status3: effective charge / discharge current, fully charged */
	put8(o,
	     (cur > 0 ? 0x80 : 0) | (cur < 0 ? 0x40 : 0) | (full ? 0x08 : 0));
	put8(o, 0); /* Status4, Status5: cell failures */
	put8(o, 0);
}

static void seplos_status(struct out *o, const struct variant *vr,
			  const struct sim_view *v, uint32_t prot)
{
	long cur = current_counts(vr, v);

	put8(o, level(prot, SIM_PROT_CHG_OC | SIM_PROT_DSG_OC, 0));
	put8(o, level(prot, SIM_PROT_PACK_OV, SIM_PROT_PACK_UV));
	put8(o, 20); /* bytes that follow */
	put8(o, 0);  /* event 1: sensor and switch faults */
	put8(o, bits_for(vr, prot, AB_EVENT2));
	put8(o, bits_for(vr, prot, AB_EVENT3));
	put8(o, 0); /* event 4: environment and power temperatures */
	put8(o, bits_for(vr, prot, AB_EVENT5));
	put8(o, 0); /* event 6 */
	put8(o, (v->discharge_fet ? 0x01 : 0) | (v->charge_fet ? 0x02 : 0));
	put8(o, v->balancing & 0xFF);
	put8(o, v->balancing >> 8 & 0xFF);
	/* system state: discharging, charging, or standby */
	put8(o, cur < 0 ? 0x01 : cur > 0 ? 0x02 : 0x10);
	for (int i = 0; i < 4 + 6; i++)
		put8(o, 0); /* disconnection 1-2, events 7-8, reserved */
}

static void pace_status(struct out *o, const struct variant *vr,
			const struct sim_view *v, uint32_t prot)
{
	long cur = current_counts(vr, v);

	put8(o, level(prot, SIM_PROT_CHG_OC, 0));
	put8(o, level(prot, SIM_PROT_PACK_OV, SIM_PROT_PACK_UV));
	put8(o, level(prot, SIM_PROT_DSG_OC, 0));
	put8(o, bits_for(vr, prot, AB_PROT1));
	put8(o, bits_for(vr, prot, AB_PROT2));
	/* system: charge / discharge MOSFET on, discharging, charging */
	put8(o, (v->charge_fet ? 0x02 : 0) | (v->discharge_fet ? 0x04 : 0) |
			(cur < 0 ? 0x08 : 0) | (cur > 0 ? 0x20 : 0));
	/* configuration: charge / discharge MOSFET turned off */
	put8(o, (v->charge_fet ? 0 : 0x02) | (v->discharge_fet ? 0 : 0x04));
	put8(o, 0); /* fault */
	put16(o, v->balancing & 0xFFFF);
	put8(o, 0); /* warning 1, 2 */
	put8(o, 0);
}

size_t sim_pylon_alarm(enum sim_pylon_variant var, uint8_t cmd,
		       const struct sim_view *v, uint8_t *info, size_t cap)
{
	const struct variant *vr = &variants[var];
	uint32_t prot = v->protection & carried(vr);
	struct out o = {.p = info, .cap = cap};

	put8(&o, DATAFLAG);
	put8(&o, cmd);
	put_level_alarms(&o, v, prot);
	if (var == SIM_PYLON_PYLONTECH)
		pylontech_status(&o, vr, v, prot);
	else if (var == SIM_PYLON_SEPLOS)
		seplos_status(&o, vr, v, prot);
	else
		pace_status(&o, vr, v, prot);
	return done(&o);
}

size_t sim_pylon_vendor(const struct sim_view *v, const char *manufacturer,
			uint8_t *info, size_t cap)
{
	struct out o = {.p = info, .cap = cap};

	put_text(&o, v->model, SIM_PYLON_NAME_LEN);
	put8(&o, v->fw_major > 0xFF ? 0xFF : v->fw_major);
	put8(&o, v->fw_minor > 0xFF ? 0xFF : v->fw_minor);
	put_text(&o, manufacturer, SIM_PYLON_MAKER_LEN);
	return done(&o);
}

size_t sim_pylon_serial(uint8_t cmd, const struct sim_view *v, uint8_t *info,
			size_t cap)
{
	struct out o = {.p = info, .cap = cap};

	put8(&o, cmd);
	put_text(&o, v->serial, SIM_PYLON_SERIAL_LEN);
	return done(&o);
}

/* ---- wire rounding ------------------------------------------------------ */

static double q(double v, double step, unsigned long max)
{
	return (double)raw_u(v, step, max) * step;
}

static void truncate_text(char *s, size_t width)
{
	if (strlen(s) > width)
		s[width] = '\0';
}

static void quantize_capacity(const struct variant *vr, struct sim_view *v)
{
	unsigned long max = vr->max_ah > 655.35 ? 0xFFFFFF : 0xFFFF;

	v->remaining_ah = q(v->remaining_ah, vr->capacity_step, max);
	v->nominal_ah = q(v->nominal_ah, vr->capacity_step, max);
	v->full_ah = q(v->full_ah, vr->capacity_step, max);
}

static void quantize(enum sim_pylon_variant var, struct sim_view *v)
{
	const struct variant *vr = &variants[var];
	double cur = round(v->current / vr->current_step);
	long mv_sum = 0;

	for (unsigned i = 0; i < v->ncells; i++) {
		v->cell_v[i] = q(v->cell_v[i], 0.001, 0xFFFF);
		mv_sum += lround(v->cell_v[i] * 1000.0);
	}
	/* The pack voltage is the sum of the cells as reported. */
	v->voltage = q(mv_sum / 1000.0, vr->voltage_step, 0xFFFF);
	cur = cur < -32768.0 ? -32768.0 : cur > 32767.0 ? 32767.0 : cur;
	v->current = cur * vr->current_step;
	quantize_capacity(vr, v);
	if (var == SIM_PYLON_PYLONTECH)
		v->full_ah = v->nominal_ah; /* one capacity field */
	if (var == SIM_PYLON_SEPLOS)
		v->soc = q(v->soc, 0.1, 1000);
	else /* no SoC field: what remaining / full capacity says */
		v->soc = v->full_ah > 0 ? 100.0 * v->remaining_ah / v->full_ah
					: 0.0;
	if (v->cycles > 0xFFFF)
		v->cycles = 0xFFFF;
	for (unsigned i = 0; i < v->ntemps; i++)
		v->temp_c[i] =
			((double)raw_temp(vr, v->temp_c[i]) - vr->temp_offset) /
			10.0;
	v->protection &= carried(vr);
	v->balancing = vr->balancing ? v->balancing & 0xFFFF : 0;
	truncate_text(v->model, SIM_PYLON_NAME_LEN);
	if (vr->serial)
		truncate_text(v->serial, SIM_PYLON_SERIAL_LEN);
	else
		v->serial[0] = '\0';
	v->fw_major = v->fw_major > 0xFF ? 0xFF : v->fw_major;
	v->fw_minor = v->fw_minor > 0xFF ? 0xFF : v->fw_minor;
	v->mfg_year = v->mfg_month = v->mfg_day = 0; /* not carried */
}

static void pylontech_quantize(struct sim_view *v)
{
	quantize(SIM_PYLON_PYLONTECH, v);
}

static void seplos_quantize(struct sim_view *v)
{
	quantize(SIM_PYLON_SEPLOS, v);
}

static void pace_quantize(struct sim_view *v)
{
	quantize(SIM_PYLON_PACE, v);
}

/* ---- the responder ------------------------------------------------------ */

struct pylon_proto {
	struct sim_proto base; /* first: the line only sees this */
	enum sim_pylon_variant var;
	bool stack;
	uint8_t rx[RX_CAP];
	size_t rxlen;
};

static enum sim_pylon_variant variant_of(const struct sim_proto_ops *ops)
{
	return ops == &sim_seplos_ops ? SIM_PYLON_SEPLOS
	       : ops == &sim_pace_ops ? SIM_PYLON_PACE
				      : SIM_PYLON_PYLONTECH;
}

/* A model name that fits the 10-character 0x51 field. */
static void pylon_identify(struct sim_battery *b)
{
	char name[SIM_TEXT_LEN];

	snprintf(name, sizeof(name), "SIM%uS%.0fAH", b->ncells, b->capacity_ah);
	if (strlen(name) > SIM_PYLON_NAME_LEN)
		snprintf(name, sizeof(name), "SIM%uS", b->ncells);
	memcpy(b->model, name, sizeof(b->model));
}

static int check_variant(enum sim_pylon_variant var,
			 const struct sim_battery *b, char *err, size_t errlen)
{
	const struct variant *vr = &variants[var];

	if (b->ncells > SIM_PYLON_MAX_CELLS) {
		snprintf(err, errlen,
			 "%s: %u cells; the protocol's status "
			 "words describe at most %u",
			 vr->name, b->ncells, SIM_PYLON_MAX_CELLS);
		return -1;
	}
	if (b->capacity_ah > vr->max_ah) {
		snprintf(err, errlen,
			 "%s: capacity %.2f Ah does not fit the "
			 "protocol's capacity field (at most %.3f)",
			 vr->name, b->capacity_ah, vr->max_ah);
		return -1;
	}
	return 0;
}

static int pylontech_check(const struct sim_battery *b, char *err,
			   size_t errlen)
{
	return check_variant(SIM_PYLON_PYLONTECH, b, err, errlen);
}

static int seplos_check(const struct sim_battery *b, char *err, size_t errlen)
{
	return check_variant(SIM_PYLON_SEPLOS, b, err, errlen);
}

static int pace_check(const struct sim_battery *b, char *err, size_t errlen)
{
	return check_variant(SIM_PYLON_PACE, b, err, errlen);
}

static struct sim_proto *pylon_create_var(const struct sim_proto_ops *ops,
					  const struct sim_proto_cfg *cfg)
{
	struct pylon_proto *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base.ops = ops;
	p->base.bats = cfg->bats;
	p->base.nbats = cfg->nbats;
	p->var = variant_of(ops);
	p->stack = cfg->stack && ops->max_stack > 0;
	return &p->base;
}

static struct sim_proto *pylontech_create(const struct sim_proto_cfg *cfg)
{
	return pylon_create_var(&sim_pylontech_ops, cfg);
}

static struct sim_proto *seplos_create(const struct sim_proto_cfg *cfg)
{
	return pylon_create_var(&sim_seplos_ops, cfg);
}

static struct sim_proto *pace_create(const struct sim_proto_cfg *cfg)
{
	return pylon_create_var(&sim_pace_ops, cfg);
}

static void pylon_destroy(struct sim_proto *p)
{
	free(p);
}

static int find_address(const struct sim_proto *p, unsigned adr)
{
	for (unsigned i = 0; i < p->nbats; i++)
		if (p->bats[i]->address == adr)
			return (int)i;
	return -1;
}

static void send_info(struct pylon_proto *p, unsigned battery, uint8_t adr,
		      const uint8_t *info, size_t n, sim_emit_fn emit,
		      void *ctx)
{
	uint8_t frame[SIM_MAX_FRAME];
	size_t len = sim_pylon_frame(variants[p->var].ver, adr, RTN_OK, info, n,
				     frame, sizeof(frame));

	if (len)
		emit(ctx, battery, frame, len);
}

/* The master (lowest address) answers for every pack, in address order. */
static void answer_stack(struct pylon_proto *p, const struct sim_pylon_req *r,
			 sim_emit_fn emit, void *ctx)
{
	struct sim_view v[SIM_PYLON_MAX_STACK];
	uint8_t info[SIM_PYLON_MAX_INFO];
	unsigned order[SIM_PYLON_MAX_STACK], n = p->base.nbats;
	size_t len;

	if (!p->stack || n == 0 || n > SIM_PYLON_MAX_STACK)
		return;
	for (unsigned i = 0; i < n; i++) {
		unsigned k = i;

		/* insertion sort by address: n is small */
		for (; k > 0 && p->base.bats[order[k - 1]]->address >
					p->base.bats[i]->address;
		     k--)
			order[k] = order[k - 1];
		order[k] = i;
	}
	if (r->adr != p->base.bats[order[0]]->address)
		return;
	for (unsigned i = 0; i < n; i++)
		sim_proto_view(p->base.ops, p->base.bats[order[i]], &v[i]);
	len = sim_pylon_stack(p->var, v, n, info, sizeof(info));
	if (len)
		send_info(p, order[0], r->adr, info, len, emit, ctx);
}

static size_t answer_info(struct pylon_proto *p, const struct sim_pylon_req *r,
			  const struct sim_view *v, uint8_t *info, size_t cap,
			  bool *known)
{
	uint8_t cmd = r->ninfo ? r->info[0] : r->adr;

	*known = true;
	switch (r->cid2) {
	case SIM_PYLON_ANALOG:
		return sim_pylon_analog(p->var, cmd, v, info, cap);
	case SIM_PYLON_ALARM:
		return sim_pylon_alarm(p->var, cmd, v, info, cap);
	case SIM_PYLON_VENDOR:
		return sim_pylon_vendor(v, MAKER, info, cap);
	case SIM_PYLON_VERSION:
		return 0; /* the version is the answer's VER */
	case SIM_PYLON_SERIAL:
		if (variants[p->var].serial)
			return sim_pylon_serial(cmd, v, info, cap);
		break;
	default:
		break;
	}
	*known = false;
	return 0;
}

static void answer(struct pylon_proto *p, const struct sim_pylon_req *r,
		   sim_emit_fn emit, void *ctx)
{
	uint8_t info[SIM_PYLON_MAX_INFO];
	struct sim_view v;
	bool known;
	size_t n;
	int b;

	if (r->cid1 != SIM_PYLON_CID1 || r->ver != variants[p->var].ver)
		return;
	if (sim_pylon_is_stack(r)) {
		answer_stack(p, r, emit, ctx);
		return;
	}
	b = find_address(&p->base, r->adr);
	if (b < 0)
		return; /* another pack's request */
	sim_proto_view(p->base.ops, p->base.bats[b], &v);
	n = answer_info(p, r, &v, info, sizeof(info), &known);
	if (known)
		send_info(p, (unsigned)b, r->adr, info, n, emit, ctx);
}

static void pylon_feed(struct sim_proto *sp, const uint8_t *buf, size_t len,
		       sim_emit_fn emit, void *ctx)
{
	struct pylon_proto *p = (struct pylon_proto *)sp;

	while (len) {
		size_t take = RX_CAP - p->rxlen;
		struct sim_pylon_req r;
		size_t drop;
		int found;

		if (take > len)
			take = len;
		memcpy(p->rx + p->rxlen, buf, take);
		p->rxlen += take;
		buf += take;
		len -= take;
		do {
			drop = sim_pylon_scan(p->rx, p->rxlen, &found, &r);
			memmove(p->rx, p->rx + drop, p->rxlen - drop);
			p->rxlen -= drop;
			if (found)
				answer(p, &r, emit, ctx);
		} while (found);
	}
}

/* Another hex digit in the last checksum character: still a well-formed
 * frame, so only the checksum check can reject it. */
static void pylon_corrupt(uint8_t *f, size_t len)
{
	if (len >= MIN_FRAME && f[len - 1] == EOI)
		f[len - 2] = f[len - 2] == '0' ? '1' : '0';
}

#define PYLON_OPS(var, nm)                                                     \
	{                                                                      \
		.name = nm, .max_per_line = 255, .addressed = true,            \
		.max_stack = var##_MAX_STACK, .identify = pylon_identify,      \
		.check = var##_check, .create = var##_create,                  \
		.destroy = pylon_destroy, .feed = pylon_feed,                  \
		.quantize = var##_quantize, .corrupt = pylon_corrupt,          \
	}

#define pylontech_MAX_STACK SIM_PYLON_MAX_STACK
#define seplos_MAX_STACK    0 /* no known stack answer */
#define pace_MAX_STACK      SIM_PYLON_MAX_STACK

const struct sim_proto_ops sim_pylontech_ops =
	PYLON_OPS(pylontech, "pylontech");
const struct sim_proto_ops sim_seplos_ops = PYLON_OPS(seplos, "seplos");
const struct sim_proto_ops sim_pace_ops = PYLON_OPS(pace, "pace");
