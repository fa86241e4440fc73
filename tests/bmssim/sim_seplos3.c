/* SPDX-License-Identifier: MIT */
/*
 * sim_seplos3.c - Seplos v3 responder (see sim_seplos3.h).
 *
 * Registers (big-endian, from the block's start):
 *   0x1000: voltage 10 mV, current s16 10 mA, remaining / total 10 mAh,
 *     discharged 10 Ah, SoC 0.1 %, SOH 0.1 %, cycles, mean cell mV, mean
 *     temperature 0.1 K, max / min cell mV, max / min temperature 0.1 K,
 *     reserved, max discharge / charge current A
 *   0x1100: 16 cells mV (0 past the pack's cells), T1-T4 0.1 K, four
 *     unused slots (2731), environment, power
 *   0x1700: factory (20 chars), model (20) @0x0A, firmware (2) @0x14,
 *     serial (30) @0x15
 *   coils 0x1200: TB02 voltage @0x48, TB03 cell temperature @0x50, TB04
 *     board temperature @0x58, TB05 current @0x60, TB07 FETs @0x78 (bit
 *     0 discharge, 1 charge), TB15 hard faults @0x88; in each event byte
 *     the even bit is the alarm, the odd bit the protection
 * The simulator's sensors 1-4 are T1-T4, 5 the environment, 6 the power.
 */
#include "sim_seplos3.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RX_CAP    64
#define FACTORY   "XZH-ElecTech Co.,Ltd"
#define UNUSED_T  2731
#define EXC_ADDR  0x02
#define PIA       0x1000
#define PIA_REGS  18
#define PIB       0x1100
#define PIB_REGS  26
#define PIC       0x1200
#define PIC_COILS 0x90
#define VIA       0x1700
#define VIA_REGS  51
#define EIA       0x2000
#define EIA_REGS  26
#define EIC       0x2200
#define EIC_COILS 0x50

/* The coil carrying each of the simulator's flags. */
static const struct {
	uint32_t flag;
	unsigned coil;
} prot_coils[] = {
	{SIM_PROT_CELL_OV, 0x49}, {SIM_PROT_CELL_UV, 0x4B},
	{SIM_PROT_PACK_OV, 0x4D}, {SIM_PROT_PACK_UV, 0x4F},
	{SIM_PROT_CHG_OT, 0x51},  {SIM_PROT_CHG_UT, 0x53},
	{SIM_PROT_DSG_OT, 0x55},  {SIM_PROT_DSG_UT, 0x57},
	{SIM_PROT_CHG_OC, 0x61},  {SIM_PROT_DSG_OC, 0x64},
	{SIM_PROT_AFE, 0x88}, /* TB15: a hard fault */
};
#define NPROT (sizeof(prot_coils) / sizeof(prot_coils[0]))

struct seplos3_proto {
	struct sim_proto base;
	uint8_t rx[RX_CAP];
	size_t rxlen;
};

uint16_t sim_seplos3_crc(const uint8_t *p, size_t n)
{
	unsigned crc = 0xFFFF;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (unsigned b = 0; b < 8; b++)
			crc = (crc & 1) ? (crc >> 1) ^ 0xA001 : crc >> 1;
	}
	return (uint16_t)crc;
}

static int crc_ok8(const uint8_t *b)
{
	uint16_t crc = sim_seplos3_crc(b, 6);

	return b[6] == (crc & 0xFF) && b[7] == crc >> 8;
}

size_t sim_seplos3_scan(const uint8_t *buf, size_t len, int *found,
			unsigned *addr, uint8_t *fc, unsigned *start)
{
	*found = 0;
	for (size_t i = 0; i < len; i++) {
		size_t have = len - i;

		if (buf[i] > 247 || (have > 1 && buf[i + 1] != 0x01 &&
				     buf[i + 1] != 0x03 && buf[i + 1] != 0x04))
			continue;
		if (have < SIM_SEPLOS3_REQ)
			return i; /* may still complete */
		if (crc_ok8(buf + i)) {
			*found = 1;
			*addr = buf[i];
			*fc = buf[i + 1];
			*start = (unsigned)buf[i + 2] << 8 | buf[i + 3];
			return i + SIM_SEPLOS3_REQ;
		}
	}
	return len;
}

static void put_crc(uint8_t *p, size_t n)
{
	uint16_t crc = sim_seplos3_crc(p, n);

	p[n] = (uint8_t)(crc & 0xFF);
	p[n + 1] = (uint8_t)(crc >> 8);
}

static void be16(uint8_t *p, long v)
{
	p[0] = (uint8_t)((unsigned long)v >> 8);
	p[1] = (uint8_t)v;
}

static long clamp16(long v)
{
	return v < 0 ? 0 : v > 0xFFFF ? 0xFFFF : v;
}

static long kelvin10(double c)
{
	return clamp16(lround((c + 273.15) * 10.0));
}

void sim_seplos3_coils(const struct sim_view *v, uint8_t coils[18])
{
	memset(coils, 0, 18);
	for (size_t i = 0; i < NPROT; i++)
		if (v->protection & prot_coils[i].flag)
			coils[prot_coils[i].coil / 8] |=
				(uint8_t)(1u << (prot_coils[i].coil % 8));
	if (v->discharge_fet)
		coils[0x78 / 8] |= 0x01;
	if (v->charge_fet)
		coils[0x78 / 8] |= 0x02;
	/* TB09 system state @0x40: bit 0 discharging, 1 charging, 4 standby */
	coils[0x40 / 8] |= v->current < 0 ? 0x01 : v->current > 0 ? 0x02 : 0x10;
}

static void pia(const struct sim_view *v, uint8_t *r)
{
	long sum = 0, mx = 0, mn = 0xFFFF, tmx = 0, tmn = 0xFFFF, tsum = 0;

	for (unsigned i = 0; i < v->ncells; i++) {
		long mv = clamp16(lround(v->cell_v[i] * 1000.0));

		sum += mv;
		mx = mv > mx ? mv : mx;
		mn = mv < mn ? mv : mn;
	}
	for (unsigned i = 0; i < v->ntemps && i < 4; i++) {
		long t = kelvin10(v->temp_c[i]);

		tsum += t;
		tmx = t > tmx ? t : tmx;
		tmn = t < tmn ? t : tmn;
	}
	be16(r + 0, clamp16(lround(v->voltage * 100.0)));
	be16(r + 2, lround(v->current * 100.0) & 0xFFFF);
	be16(r + 4, clamp16(lround(v->remaining_ah * 100.0)));
	be16(r + 6, clamp16(lround(v->full_ah * 100.0)));
	be16(r + 8, clamp16(lround(v->cycles * v->full_ah / 10.0)));
	be16(r + 10, clamp16(lround(v->soc * 10.0)));
	be16(r + 12, 1000);
	be16(r + 14, clamp16(v->cycles));
	be16(r + 16, v->ncells ? sum / v->ncells : 0);
	be16(r + 18, v->ntemps ? tsum / (v->ntemps < 4 ? v->ntemps : 4) : 0);
	be16(r + 20, mx);
	be16(r + 22, v->ncells ? mn : 0);
	be16(r + 24, tmx);
	be16(r + 26, v->ntemps ? tmn : 0);
	be16(r + 28, 0);
	be16(r + 30, 180);
	be16(r + 32, 180);
	be16(r + 34, 0);
}

static void pib(const struct sim_view *v, uint8_t *r)
{
	for (unsigned i = 0; i < v->ncells && i < SIM_SEPLOS3_CELLS; i++)
		be16(r + 2 * i, clamp16(lround(v->cell_v[i] * 1000.0)));
	for (unsigned i = 0; i < 4; i++)
		be16(r + 2 * (0x10 + i),
		     i < v->ntemps ? kelvin10(v->temp_c[i]) : UNUSED_T);
	for (unsigned i = 0; i < 4; i++)
		be16(r + 2 * (0x14 + i), UNUSED_T);
	be16(r + 2 * 0x18, v->ntemps > 4 ? kelvin10(v->temp_c[4]) : UNUSED_T);
	be16(r + 2 * 0x19, v->ntemps > 5 ? kelvin10(v->temp_c[5]) : UNUSED_T);
}

static void text(uint8_t *r, unsigned reg, size_t n, const char *s)
{
	memcpy(r + 2 * reg, s, strnlen(s, n));
}

static void via(const struct sim_view *v, uint8_t *r)
{
	char fw[8];

	text(r, 0x00, 20, FACTORY);
	text(r, 0x0A, 20, v->model);
	snprintf(fw, sizeof(fw), "%u%u", v->fw_major % 10, v->fw_minor % 10);
	text(r, 0x14, 2, fw);
	text(r, 0x15, 30, v->serial);
}

/* 32-bit values low word first (the master's system block). */
static void lo_hi(uint8_t *r, unsigned reg, long v)
{
	be16(r + 2 * reg, v & 0xFFFF);
	be16(r + 2 * reg + 2, (v >> 16) & 0xFFFF);
}

static void eia(const struct sim_view *b, unsigned npacks, uint8_t *r)
{
	lo_hi(r, 0x00, lround(b->voltage * 100.0));
	lo_hi(r, 0x02, lround(b->current * 10.0));
	lo_hi(r, 0x04, lround(b->remaining_ah * 100.0));
	lo_hi(r, 0x06, lround(b->full_ah * 100.0));
	lo_hi(r, 0x0A, lround(b->full_ah * 100.0));
	be16(r + 2 * 0x0C, npacks >= 16 ? 0xFFFF : (1l << npacks) - 1);
	be16(r + 2 * 0x16, npacks);
	be16(r + 2 * 0x17, b->cycles);
	be16(r + 2 * 0x18, lround(b->soc * 10.0));
	be16(r + 2 * 0x19, 1000);
}

static size_t exception(unsigned addr, uint8_t fc, uint8_t *buf)
{
	buf[0] = (uint8_t)addr;
	buf[1] = fc | 0x80;
	buf[2] = EXC_ADDR;
	put_crc(buf, 3);
	return 5;
}

/* Data of a read inside [base, base + n) of block (registers), or -1. */
static int slice(unsigned start, unsigned count, unsigned base, unsigned n)
{
	if (start < base || count == 0 || start - base + count > n)
		return -1;
	return (int)(start - base);
}

size_t sim_seplos3_answer(unsigned addr, int master, uint8_t fc, unsigned start,
			  unsigned count, const struct sim_view *v,
			  const struct sim_view *bank, unsigned npacks,
			  uint8_t *buf, size_t cap)
{
	uint8_t block[2 * VIA_REGS];
	unsigned base = 0, n = 0;
	int at;

	if (cap < 5 + 2 * VIA_REGS)
		return 0;
	memset(block, 0, sizeof(block));
	if (fc == 0x01) {
		uint8_t coils[18];

		base = master ? EIC : PIC;
		n = master ? EIC_COILS : PIC_COILS;
		at = slice(start, count, base, n);
		if (at < 0)
			return exception(addr, fc, buf);
		if (master) {
			memset(coils, 0, sizeof(coils));
			coils[0] = bank->current < 0 ? 0x01 : 0x02;
			coils[7] = (bank->discharge_fet ? 1 : 0) |
				   (bank->charge_fet ? 2 : 0);
		} else {
			sim_seplos3_coils(v, coils);
		}
		buf[0] = (uint8_t)addr;
		buf[1] = fc;
		buf[2] = (uint8_t)((count + 7) / 8);
		memset(buf + 3, 0, buf[2]);
		for (unsigned i = 0; i < count; i++) {
			unsigned c = (unsigned)at + i;

			if ((coils[c / 8] >> (c % 8)) & 1u)
				buf[3 + i / 8] |= (uint8_t)(1u << (i % 8));
		}
		put_crc(buf, 3u + buf[2]);
		return 5u + buf[2];
	}
	if (fc != 0x04)
		return exception(addr, fc, buf);
	if (master) {
		base = EIA;
		n = EIA_REGS;
		eia(bank, npacks, block);
	} else if (start >= PIA && start < PIA + PIA_REGS) {
		base = PIA;
		n = PIA_REGS;
		pia(v, block);
	} else if (start >= PIB && start < PIB + PIB_REGS) {
		base = PIB;
		n = PIB_REGS;
		pib(v, block);
	} else if (start >= VIA && start < VIA + VIA_REGS) {
		base = VIA;
		n = VIA_REGS;
		via(v, block);
	}
	at = n ? slice(start, count, base, n) : -1;
	if (at < 0)
		return exception(addr, fc, buf);
	buf[0] = (uint8_t)addr;
	buf[1] = fc;
	buf[2] = (uint8_t)(2 * count);
	memcpy(buf + 3, block + 2 * at, 2 * count);
	put_crc(buf, 3 + 2 * count);
	return 5 + 2 * count;
}

/* ---- the responder ----------------------------------------------------- */

static int battery_at(const struct sim_proto *p, unsigned addr)
{
	for (unsigned i = 0; i < p->nbats; i++)
		if (p->bats[i]->address == addr)
			return (int)i;
	return -1;
}

/* The bank the master reports: the packs at 1-15 together. */
static unsigned bank_view(const struct sim_proto *p, struct sim_view *bank)
{
	unsigned n = 0;

	memset(bank, 0, sizeof(*bank));
	bank->charge_fet = bank->discharge_fet = true;
	for (unsigned i = 0; i < p->nbats; i++) {
		struct sim_view v;

		if (p->bats[i]->address == 0)
			continue;
		sim_proto_view(&sim_seplos3_ops, p->bats[i], &v);
		bank->voltage += v.voltage;
		bank->current += v.current;
		bank->remaining_ah += v.remaining_ah;
		bank->full_ah += v.full_ah;
		bank->soc += v.soc;
		bank->cycles =
			v.cycles > bank->cycles ? v.cycles : bank->cycles;
		bank->charge_fet = bank->charge_fet && v.charge_fet;
		bank->discharge_fet = bank->discharge_fet && v.discharge_fet;
		n++;
	}
	if (n) {
		bank->voltage /= n;
		bank->soc /= n;
	}
	return n;
}

static void request(struct seplos3_proto *s, const uint8_t *q, sim_emit_fn emit,
		    void *ctx)
{
	int k = battery_at(&s->base, q[0]);
	uint8_t out[5 + 2 * VIA_REGS];
	struct sim_view v, bank;
	unsigned npacks;
	size_t n;

	if (k < 0)
		return; /* nobody there */
	sim_proto_view(&sim_seplos3_ops, s->base.bats[k], &v);
	npacks = bank_view(&s->base, &bank);
	n = sim_seplos3_answer(q[0], q[0] == 0, q[1],
			       (unsigned)q[2] << 8 | q[3],
			       (unsigned)q[4] << 8 | q[5], &v, &bank, npacks,
			       out, sizeof(out));
	if (n)
		emit(ctx, (unsigned)k, out, n);
}

/* ADDR 01|04 START COUNT CRC; a count beyond what one answer can carry
 * is a request nobody answers with data (exception 02 below). */
static int valid_request(const uint8_t *b)
{
	uint16_t crc = sim_seplos3_crc(b, 6);

	return b[0] <= SIM_SEPLOS3_MAX_ADDR && (b[1] == 0x01 || b[1] == 0x04) &&
	       b[6] == (crc & 0xFF) && b[7] == crc >> 8;
}

static void seplos3_feed(struct sim_proto *p, const uint8_t *buf, size_t len,
			 sim_emit_fn emit, void *ctx)
{
	struct seplos3_proto *s = (struct seplos3_proto *)p;

	for (size_t i = 0; i < len; i++) {
		if (s->rxlen == RX_CAP)
			s->rxlen = 0;
		s->rx[s->rxlen++] = buf[i];
		while (s->rxlen >= SIM_SEPLOS3_REQ) {
			if (valid_request(s->rx)) {
				uint8_t q[SIM_SEPLOS3_REQ];

				memcpy(q, s->rx, sizeof(q));
				s->rxlen = 0;
				/* counts too large for one answer: refused */
				if ((q[1] == 0x04 &&
				     (q[4] << 8 | q[5]) > 125) ||
				    (q[1] == 0x01 && (q[4] << 8 | q[5]) > 2000))
					q[4] = q[5] = 0xFF;
				request(s, q, emit, ctx);
				break;
			}
			memmove(s->rx, s->rx + 1, --s->rxlen);
		}
	}
}

static struct sim_proto *seplos3_create(const struct sim_proto_cfg *cfg)
{
	struct seplos3_proto *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->base.ops = &sim_seplos3_ops;
	s->base.bats = cfg->bats;
	s->base.nbats = cfg->nbats;
	return &s->base;
}

static void seplos3_destroy(struct sim_proto *p)
{
	free(p);
}

/* Flags the coils can carry (short circuit and lock are not among them). */
static uint32_t carried(void)
{
	uint32_t m = 0;

	for (size_t i = 0; i < NPROT; i++)
		m |= prot_coils[i].flag;
	return m;
}

static void seplos3_quantize(struct sim_view *v)
{
	for (unsigned i = 0; i < v->ncells; i++)
		v->cell_v[i] = clamp16(lround(v->cell_v[i] * 1000.0)) / 1000.0;
	v->voltage = clamp16(lround(v->voltage * 100.0)) / 100.0;
	v->current = lround(v->current * 100.0) / 100.0;
	v->soc = lround((v->soc < 0     ? 0
			 : v->soc > 100 ? 100
					: v->soc) *
			10.0) /
		 10.0;
	v->remaining_ah = clamp16(lround(v->remaining_ah * 100.0)) / 100.0;
	v->full_ah = clamp16(lround(v->full_ah * 100.0)) / 100.0;
	v->nominal_ah = v->full_ah;
	for (unsigned i = 0; i < v->ntemps; i++)
		v->temp_c[i] = kelvin10(v->temp_c[i]) / 10.0 - 273.15;
	v->protection &= carried();
	v->balancing = 0; /* not sent */
	v->model[20] = '\0';
	v->mfg_year = v->mfg_month = v->mfg_day = 0;
}

static int seplos3_check(const struct sim_battery *b, char *err, size_t errlen)
{
	if (b->address > SIM_SEPLOS3_MAX_ADDR) {
		snprintf(err, errlen,
			 "seplos-v3: address %u: the DIP switch has 0-15 (0 is "
			 "the bus master)",
			 b->address);
		return -1;
	}
	if (b->ncells > SIM_SEPLOS3_CELLS) {
		snprintf(err, errlen, "seplos-v3: %u cells: a pack has 1-16",
			 b->ncells);
		return -1;
	}
	if (b->ntemps != SIM_SEPLOS3_TEMPS) {
		snprintf(err, errlen,
			 "seplos-v3: %u temperature sensors: a pack has T1-T4, "
			 "environment and power (--temps 6)",
			 b->ntemps);
		return -1;
	}
	if (b->fw_major > 9 || b->fw_minor > 9) {
		snprintf(err, errlen,
			 "seplos-v3: firmware %u.%u: two digits are sent",
			 b->fw_major, b->fw_minor);
		return -1;
	}
	return 0;
}

static void seplos3_identify(struct sim_battery *b)
{
	snprintf(b->serial, sizeof(b->serial), "SIMSP%08u", b->id % 100000000u);
}

static void seplos3_corrupt(uint8_t *f, size_t len)
{
	if (len)
		f[len - 1] ^= 0xFF; /* the CRC's high byte */
}

const struct sim_proto_ops sim_seplos3_ops = {
	.name = "seplos-v3",
	.max_per_line = SIM_SEPLOS3_MAX_ADDR + 1,
	.addressed = true,
	.identify = seplos3_identify,
	.check = seplos3_check,
	.create = seplos3_create,
	.destroy = seplos3_destroy,
	.feed = seplos3_feed,
	.quantize = seplos3_quantize,
	.corrupt = seplos3_corrupt,
};
