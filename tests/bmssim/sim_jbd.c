/* SPDX-License-Identifier: MIT */
/*
 * sim_jbd.c - JBD responder (see sim_jbd.h).
 *
 * Register 0x03 payload, as in the vendor document's worked example
 * (big-endian 16-bit fields unless noted):
 *   0 total voltage, 10 mV        2 current, signed 10 mA, + = charging
 *   4 remaining capacity, 10 mAh  6 nominal capacity, 10 mAh
 *   8 cycles                     10 date: (year-2000)<<9 | month<<5 | day
 *  12 balance bits cells 1-16    14 balance bits cells 17-32
 *  16 protection bits            18 version byte (0x10 = 1.0)
 *  19 RSOC % (byte)              20 FETs (bit0 charge, bit1 discharge)
 *  21 cell count (byte)          22 NTC count (byte)
 *  23 NTCs, 0.1 K, offset 2731 (2 bytes each)
 * Register 0x04: one 16-bit mV value per cell. Register 0x05: ASCII model.
 */
#include "sim_jbd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define START    0xDD
#define END      0x77
#define READ     0xA5
#define RX_CAP   64
#define REG_INFO 0x03
#define REG_CELL 0x04
#define REG_NAME 0x05

struct jbd_proto {
	struct sim_proto base; /* first: the line only sees this */
	uint8_t rx[RX_CAP];
	size_t rxlen;
};

uint16_t sim_jbd_sum(const uint8_t *p, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += p[i];
	return (uint16_t)(0x10000u - (sum & 0xFFFFu));
}

/* Could buf[0..n) (n < 7, buf[0] == START) still grow into a request? */
static int plausible_prefix(const uint8_t *b, size_t n)
{
	return (n < 2 || b[1] == READ) && (n < 4 || b[3] == 0);
}

static int valid_request(const uint8_t *b)
{
	uint16_t chk = sim_jbd_sum(b + 2, 2);

	return b[0] == START && b[1] == READ && b[3] == 0 &&
	       b[4] == (chk >> 8) && b[5] == (chk & 0xFF) && b[6] == END;
}

size_t sim_jbd_scan(const uint8_t *buf, size_t len, int *found, uint8_t *reg)
{
	*found = 0;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != START)
			continue;
		if (len - i < SIM_JBD_REQ_LEN) {
			if (plausible_prefix(buf + i, len - i))
				return i;
			continue;
		}
		if (valid_request(buf + i)) {
			*found = 1;
			*reg = buf[i + 2];
			return i + SIM_JBD_REQ_LEN;
		}
	}
	return len;
}

static uint8_t *put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

/* Wrap data into DD reg 00 len data chk chk 77. */
static size_t frame(uint8_t reg, const uint8_t *data, size_t n, uint8_t *buf,
		    size_t cap)
{
	uint16_t chk;

	if (n > 255 || cap < n + 7)
		return 0;
	buf[0] = START;
	buf[1] = reg;
	buf[2] = 0x00; /* status: OK */
	buf[3] = (uint8_t)n;
	memcpy(buf + 4, data, n);
	/* The checksum covers status, length and data, not the register. */
	chk = sim_jbd_sum(buf + 2, n + 2);
	put16(buf + 4 + n, chk);
	buf[6 + n] = END;
	return n + 7;
}

static unsigned raw_u16(double v, double scale)
{
	long r = lround(v * scale);

	return r < 0 ? 0 : r > 0xFFFF ? 0xFFFF : (unsigned)r;
}

static unsigned raw_temp(double c)
{
	return raw_u16(c + 273.1, 10.0);
}

static size_t basic_payload(const struct sim_view *v, uint8_t *d)
{
	uint8_t *p = d;
	unsigned date =
		(v->mfg_year - 2000) << 9 | v->mfg_month << 5 | v->mfg_day;
	long current = lround(v->current * 100.0);

	p = put16(p, raw_u16(v->voltage, 100.0));
	p = put16(p, (unsigned)(current & 0xFFFF)); /* two's complement */
	p = put16(p, raw_u16(v->remaining_ah, 100.0));
	p = put16(p, raw_u16(v->nominal_ah, 100.0));
	p = put16(p, v->cycles);
	p = put16(p, date);
	p = put16(p, v->balancing & 0xFFFF);
	p = put16(p, v->balancing >> 16);
	p = put16(p, v->protection & 0xFFFF);
	*p++ = (uint8_t)(v->fw_major << 4 | (v->fw_minor & 0x0F));
	*p++ = (uint8_t)lround(v->soc);
	*p++ = (uint8_t)((v->charge_fet ? 1 : 0) | (v->discharge_fet ? 2 : 0));
	*p++ = (uint8_t)v->ncells;
	*p++ = (uint8_t)v->ntemps;
	for (unsigned i = 0; i < v->ntemps; i++)
		p = put16(p, raw_temp(v->temp_c[i]));
	return (size_t)(p - d);
}

static size_t cells_payload(const struct sim_view *v, uint8_t *d)
{
	for (unsigned i = 0; i < v->ncells; i++)
		put16(d + 2 * i, raw_u16(v->cell_v[i], 1000.0));
	return 2 * (size_t)v->ncells;
}

size_t sim_jbd_answer(uint8_t reg, const struct sim_view *v, uint8_t *buf,
		      size_t cap)
{
	uint8_t data[256];
	size_t n;

	switch (reg) {
	case REG_INFO:
		n = basic_payload(v, data);
		break;
	case REG_CELL:
		n = cells_payload(v, data);
		break;
	case REG_NAME:
		n = strnlen(v->model, sizeof(v->model));
		memcpy(data, v->model, n);
		break;
	default:
		return 0;
	}
	return frame(reg, data, n, buf, cap);
}

/* Round to a step, then clamp to what a 16-bit field of that step holds. */
static double q16(double v, double scale)
{
	return raw_u16(v, scale) / scale;
}

static double clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static void jbd_quantize(struct sim_view *v)
{
	long mv_sum = 0;

	for (unsigned i = 0; i < v->ncells; i++) {
		v->cell_v[i] = q16(v->cell_v[i], 1000.0);
		mv_sum += lround(v->cell_v[i] * 1000.0);
	}
	/* The pack voltage is the sum of the cells as reported, in 10 mV. */
	v->voltage = q16(mv_sum / 1000.0, 100.0);
	v->current =
		lround(clampd(v->current, -327.68, 327.67) * 100.0) / 100.0;
	v->remaining_ah = q16(v->remaining_ah, 100.0);
	v->nominal_ah = q16(v->nominal_ah, 100.0);
	v->full_ah = v->nominal_ah; /* JBD has one capacity field */
	v->soc = (double)lround(clampd(v->soc, 0.0, 100.0));
	if (v->cycles > 0xFFFF)
		v->cycles = 0xFFFF;
	for (unsigned i = 0; i < v->ntemps; i++)
		v->temp_c[i] = ((double)raw_temp(v->temp_c[i]) - 2731.0) / 10.0;
	v->protection &= 0x1FFF;
	v->mfg_year = (unsigned)clampd(v->mfg_year, 2000, 2127);
	v->serial[0] = '\0'; /* registers 0x03-0x05 carry no serial */
}

static int jbd_check(const struct sim_battery *b, char *err, size_t errlen)
{
	if (b->capacity_ah > 655.35) {
		snprintf(err, errlen,
			 "jbd: capacity %.2f Ah does not fit the protocol's "
			 "16-bit 10 mAh field (at most 655.35)",
			 b->capacity_ah);
		return -1;
	}
	return 0;
}

static struct sim_proto *jbd_create(const struct sim_proto_cfg *cfg)
{
	struct jbd_proto *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->base.ops = &sim_jbd_ops;
	j->base.bats = cfg->bats;
	j->base.nbats = cfg->nbats;
	return &j->base;
}

static void jbd_destroy(struct sim_proto *p)
{
	free(p);
}

static void answer(struct sim_proto *p, uint8_t reg, sim_emit_fn emit,
		   void *ctx)
{
	struct sim_view v;
	uint8_t out[SIM_MAX_FRAME];
	size_t n;

	sim_proto_view(&sim_jbd_ops, p->bats[0], &v);
	n = sim_jbd_answer(reg, &v, out, sizeof(out));
	if (n)
		emit(ctx, 0, out, n);
}

static void jbd_feed(struct sim_proto *p, const uint8_t *buf, size_t len,
		     sim_emit_fn emit, void *ctx)
{
	struct jbd_proto *j = (struct jbd_proto *)p;

	while (len) {
		size_t take = RX_CAP - j->rxlen;
		size_t drop;
		int found;
		uint8_t reg;

		if (take > len)
			take = len;
		memcpy(j->rx + j->rxlen, buf, take);
		j->rxlen += take;
		buf += take;
		len -= take;
		do {
			drop = sim_jbd_scan(j->rx, j->rxlen, &found, &reg);
			memmove(j->rx, j->rx + drop, j->rxlen - drop);
			j->rxlen -= drop;
			if (found)
				answer(p, reg, emit, ctx);
		} while (found);
	}
}

static void jbd_corrupt(uint8_t *f, size_t len)
{
	if (len >= 3)
		f[len - 2] ^= 0xFF; /* low checksum byte */
}

const struct sim_proto_ops sim_jbd_ops = {
	.name = "jbd",
	.max_per_line = 1,
	.addressed = false,
	.check = jbd_check,
	.create = jbd_create,
	.destroy = jbd_destroy,
	.feed = jbd_feed,
	.quantize = jbd_quantize,
	.corrupt = jbd_corrupt,
};
