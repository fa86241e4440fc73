/* SPDX-License-Identifier: MIT */
/*
 * sim_jkpb.c - JK-PB responder (see sim_jkpb.h).
 *
 * Frames (offsets from the 55, little-endian):
 *   status (type 02): cells u16 mV @6 (32 of them), cells present u32
 *     @70, MOSFET temperature s16 0.1 C @144, pack voltage u32 mV @150,
 *     power u32 mW @154, current s32 mA @158 (+ charging), T1 / T2 @162 /
 *     @164, alarm bits u32 @166, balancing current s16 mA @170, balancing
 *     u8 @172 (0 off, 1 while charging), SoC u8 @173, remaining s32 mAh
 *     @174, full capacity u32 mAh @178, cycles u32 @182, SOH u8 @190,
 *     charge / discharge MOSFET u8 @198 / @199, sensors present u8 @214
 *     (bit 0 MOSFET, 1 T1, 2 T2, 3 the MOSFET again @254, 4 @256, 5 @258;
 *     6 and 7 are set on the real packs, meaning unknown: set here too)
 *   device info (type 03): model @6 (16), hardware @22 (8), software
 *     @30 (8), device name @46 (16, the user's), manufacturing date @78
 *     (8), serial number @86 (11)
 *   settings (type 01): cell count u32 @114, design capacity u32 mAh @130
 * The simulator's sensor 1 is the MOSFET, 2 and 3 are T1 and T2, 4 and 5
 * the sensors at 256 and 258.
 */
#include "sim_jkpb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RX_CAP        256
#define BAL_CURRENT   120           /* mA while balancing */
#define DEVICE_NAME   "BMSSIM BANK" /* set by the user: the same on all */
#define TYPE_SETTINGS 0x01
#define TYPE_STATUS   0x02
#define TYPE_INFO     0x03

/* The V1.0 alarm bits carrying the simulator's flags. */
static const struct {
	uint32_t flag;
	unsigned bit;
} alarm_bits[] = {
	{SIM_PROT_CELL_OV, 4},  /* cell OVP */
	{SIM_PROT_PACK_OV, 5},  /* battery OVP */
	{SIM_PROT_CHG_OC, 6},   /* charge over-current */
	{SIM_PROT_CHG_OT, 8},   /* charge OTP */
	{SIM_PROT_CHG_UT, 9},   /* charge UTP */
	{SIM_PROT_AFE, 10},     /* coprocessor communication */
	{SIM_PROT_CELL_UV, 11}, /* cell UVP */
	{SIM_PROT_PACK_UV, 12}, /* battery UVP */
	{SIM_PROT_DSG_OC, 13},  /* discharge over-current */
	{SIM_PROT_SHORT, 14},   /* discharge short circuit */
	{SIM_PROT_DSG_OT, 15},  /* discharge OTP */
	{SIM_PROT_DSG_UT, 27},  /* discharge under-temperature */
	{SIM_PROT_LOCK, 28},    /* GPS remote lock */
};
#define NALARM (sizeof(alarm_bits) / sizeof(alarm_bits[0]))

struct jkpb_proto {
	struct sim_proto base; /* first: the line only sees this */
	uint8_t rx[RX_CAP];
	size_t rxlen;
	uint8_t counter; /* byte 5 of the frames sent */
	unsigned next;   /* the master's next address to poll, 1..15 */
	int master;      /* battery index of the pack at 0, or -1 */
};

uint16_t sim_jkpb_crc(const uint8_t *p, size_t n)
{
	unsigned crc = 0xFFFF;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (unsigned b = 0; b < 8; b++)
			crc = (crc & 1) ? (crc >> 1) ^ 0xA001 : crc >> 1;
	}
	return (uint16_t)crc;
}

uint32_t sim_jkpb_alarms(uint32_t protection)
{
	uint32_t a = 0;

	for (size_t i = 0; i < NALARM; i++)
		if (protection & alarm_bits[i].flag)
			a |= 1u << alarm_bits[i].bit;
	return a;
}

static void put_crc(uint8_t *p, size_t n)
{
	uint16_t crc = sim_jkpb_crc(p, n);

	p[n] = (uint8_t)(crc & 0xFF);
	p[n + 1] = (uint8_t)(crc >> 8);
}

size_t sim_jkpb_request(unsigned addr, uint8_t reg, uint8_t *buf)
{
	const uint8_t head[] = {(uint8_t)addr, 0x10, 0x16, reg, 0x00,
				0x01,          0x02, 0x00, 0x00};

	memcpy(buf, head, sizeof(head));
	put_crc(buf, sizeof(head));
	return SIM_JKPB_REQ;
}

static int crc_ok(const uint8_t *p, size_t n)
{
	uint16_t crc = sim_jkpb_crc(p, n - 2);

	return p[n - 2] == (crc & 0xFF) && p[n - 1] == crc >> 8;
}

/* ADDR 10 16 REG 00 01 02 00 00 CRC: a write of one register, 0000. */
static int valid_request(const uint8_t *b)
{
	return b[0] <= SIM_JKPB_MAX_ADDR && b[1] == 0x10 && b[2] == 0x16 &&
	       b[4] == 0x00 && b[5] == 0x01 && b[6] == 0x02 &&
	       crc_ok(b, SIM_JKPB_REQ);
}

size_t sim_jkpb_scan(const uint8_t *buf, size_t len, int *found, unsigned *addr,
		     uint8_t *reg)
{
	*found = 0;
	for (size_t i = 0; i < len; i++) {
		size_t have = len - i;

		if (buf[i] > SIM_JKPB_MAX_ADDR ||
		    (have > 1 && buf[i + 1] != 0x10) ||
		    (have > 2 && buf[i + 2] != 0x16))
			continue;
		if (have < SIM_JKPB_REQ)
			return i; /* may still complete */
		if (valid_request(buf + i)) {
			*found = 1;
			*addr = buf[i];
			*reg = buf[i + 3];
			return i + SIM_JKPB_REQ;
		}
	}
	return len;
}

/* ---- the frames -------------------------------------------------------- */

static void le16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
	le16(p, v & 0xFFFF);
	le16(p + 2, v >> 16);
}

static unsigned temp_raw(double c)
{
	long t = lround(c * 10.0);

	t = t < -32768 ? -32768 : t > 32767 ? 32767 : t;
	return (unsigned)t & 0xFFFF;
}

static uint32_t u32_of(double v)
{
	long long r = llround(v);

	return r < 0 ? 0 : r > 0xFFFFFFFFLL ? 0xFFFFFFFFu : (uint32_t)r;
}

static void status_frame(const struct sim_view *v, uint8_t *f)
{
	static const uint16_t sensor_at[SIM_JKPB_MAX_TEMPS] = {144, 162, 164,
							       256, 258};
	static const uint8_t sensor_bit[SIM_JKPB_MAX_TEMPS] = {0x01, 0x02, 0x04,
							       0x10, 0x20};
	uint32_t mask = v->ncells >= 32 ? 0xFFFFFFFFu : (1u << v->ncells) - 1;
	long mv = 0;
	uint8_t present = 0;

	for (unsigned i = 0; i < v->ncells && i < 32; i++) {
		long c = lround(v->cell_v[i] * 1000.0);

		c = c < 0 ? 0 : c > 0xFFFF ? 0xFFFF : c;
		le16(f + 6 + 2 * i, (unsigned)c);
		mv += c;
	}
	le32(f + 70, mask);
	for (unsigned i = 0; i < v->ntemps && i < SIM_JKPB_MAX_TEMPS; i++) {
		le16(f + sensor_at[i], temp_raw(v->temp_c[i]));
		present |= sensor_bit[i];
	}
	if (v->ntemps >= 1) { /* the MOSFET again at 254, as real packs do */
		le16(f + 254, temp_raw(v->temp_c[0]));
		present |= 0x08;
	}
	le32(f + 150, u32_of(v->voltage * 1000.0));
	le32(f + 154, u32_of(fabs(v->voltage * v->current) * 1000.0));
	le32(f + 158, (uint32_t)(int32_t)lround(v->current * 1000.0));
	le32(f + 166, sim_jkpb_alarms(v->protection));
	if (v->balancing) {
		le16(f + 170, BAL_CURRENT);
		f[172] = 1;
	}
	f[173] = (uint8_t)lround(v->soc);
	le32(f + 174, u32_of(v->remaining_ah * 1000.0));
	le32(f + 178, u32_of(v->full_ah * 1000.0));
	le32(f + 182, v->cycles);
	f[190] = 100;
	f[198] = v->charge_fet;
	f[199] = v->discharge_fet;
	f[214] = present | 0xC0; /* bits 6 and 7: set on real packs, unknown */
}

static void text(uint8_t *f, size_t at, size_t n, const char *s)
{
	memcpy(f + at, s, strnlen(s, n));
}

static void info_frame(const struct sim_view *v, uint8_t *f)
{
	char sw[16], date[16];

	text(f, 6, 16, v->model);
	text(f, 22, 8, "SIM.A");
	snprintf(sw, sizeof(sw), "%u.%u", v->fw_major, v->fw_minor);
	text(f, 30, 8, sw);
	text(f, 46, 16, DEVICE_NAME);
	snprintf(date, sizeof(date), "240115");
	text(f, 78, 8, date);
	text(f, 86, SIM_JKPB_SERIAL, v->serial);
}

static void settings_frame(const struct sim_view *v, uint8_t *f)
{
	le32(f + 18, 3650); /* cell over-voltage, mV */
	le32(f + 10, 2500); /* cell under-voltage, mV */
	le32(f + 114, v->ncells);
	le32(f + 130, u32_of(v->nominal_ah * 1000.0));
}

size_t sim_jkpb_answer(unsigned addr, uint8_t reg, uint8_t counter,
		       const struct sim_view *v, uint8_t *buf, size_t cap)
{
	uint8_t *ack = buf + SIM_JKPB_FRAME;
	unsigned sum = 0;

	if (cap < SIM_JKPB_FRAME + SIM_JKPB_ACK)
		return 0;
	memset(buf, 0, SIM_JKPB_FRAME);
	memcpy(buf, "\x55\xAA\xEB\x90", 4);
	buf[5] = counter;
	switch (reg) {
	case SIM_JKPB_STATUS:
		buf[4] = TYPE_STATUS;
		status_frame(v, buf);
		break;
	case SIM_JKPB_INFO:
		buf[4] = TYPE_INFO;
		info_frame(v, buf);
		break;
	case SIM_JKPB_SETTINGS:
		buf[4] = TYPE_SETTINGS;
		settings_frame(v, buf);
		break;
	default:
		return 0;
	}
	for (size_t i = 0; i < SIM_JKPB_FRAME - 1; i++)
		sum += buf[i];
	buf[SIM_JKPB_FRAME - 1] = (uint8_t)sum;
	memcpy(ack,
	       (const uint8_t[]){(uint8_t)addr, 0x10, 0x16, reg, 0x00, 0x01},
	       6);
	put_crc(ack, 6);
	return SIM_JKPB_FRAME + SIM_JKPB_ACK;
}

/* ---- the responder ----------------------------------------------------- */

static int battery_at(const struct sim_proto *p, unsigned addr)
{
	for (unsigned i = 0; i < p->nbats; i++)
		if (p->bats[i]->address == addr)
			return (int)i;
	return -1;
}

static void answer(struct jkpb_proto *j, int k, uint8_t reg, sim_emit_fn emit,
		   void *ctx)
{
	struct sim_view v;
	uint8_t out[SIM_JKPB_FRAME + SIM_JKPB_ACK];
	size_t n;

	sim_proto_view(&sim_jkpb_ops, j->base.bats[k], &v);
	n = sim_jkpb_answer(j->base.bats[k]->address, reg, j->counter++, &v,
			    out, sizeof(out));
	if (n)
		emit(ctx, (unsigned)k, out, n);
}

/* A host's request: the pack at its address answers, but the master. */
static void request(struct jkpb_proto *j, unsigned addr, uint8_t reg,
		    sim_emit_fn emit, void *ctx)
{
	int k = battery_at(&j->base, addr);

	if (k < 0 || addr == 0)
		return; /* no pack there; the master answers nobody */
	answer(j, k, reg, emit, ctx);
}

static void jkpb_feed(struct sim_proto *p, const uint8_t *buf, size_t len,
		      sim_emit_fn emit, void *ctx)
{
	struct jkpb_proto *j = (struct jkpb_proto *)p;

	while (len) {
		size_t take = RX_CAP - j->rxlen, drop;
		int found;
		unsigned addr = 0;
		uint8_t reg = 0;

		if (take > len)
			take = len;
		memcpy(j->rx + j->rxlen, buf, take);
		j->rxlen += take;
		buf += take;
		len -= take;
		do {
			drop = sim_jkpb_scan(j->rx, j->rxlen, &found, &addr,
					     &reg);
			memmove(j->rx, j->rx + drop, j->rxlen - drop);
			j->rxlen -= drop;
			if (found)
				request(j, addr, reg, emit, ctx);
		} while (found);
	}
}

/*
 * The master's pace: one status request a tick to the next address of
 * 1-15 (the pack there answers it), and after 15 its own status with an
 * acknowledgement from address 0, which nobody asked for. A silent
 * master (scenario "silent") is a master switched off: nothing at all.
 */
static void jkpb_tick(struct sim_proto *p, sim_emit_fn emit, void *ctx)
{
	struct jkpb_proto *j = (struct jkpb_proto *)p;
	uint8_t req[SIM_JKPB_REQ];
	int k;

	if (j->master < 0 || p->bats[j->master]->comm.silent)
		return;
	if (j->next > SIM_JKPB_MAX_ADDR) {
		j->next = 1;
		answer(j, j->master, SIM_JKPB_STATUS, emit, ctx);
		return;
	}
	sim_jkpb_request(j->next, SIM_JKPB_STATUS, req);
	emit(ctx, (unsigned)j->master, req, sizeof(req));
	k = battery_at(p, j->next);
	if (k >= 0)
		answer(j, k, SIM_JKPB_STATUS, emit, ctx);
	j->next++;
}

static struct sim_proto *jkpb_create(const struct sim_proto_cfg *cfg)
{
	struct jkpb_proto *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->base.ops = &sim_jkpb_ops;
	j->base.bats = cfg->bats;
	j->base.nbats = cfg->nbats;
	j->next = 1;
	j->master = battery_at(&j->base, 0);
	return &j->base;
}

static void jkpb_destroy(struct sim_proto *p)
{
	free(p);
}

static void jkpb_quantize(struct sim_view *v)
{
	long mv_sum = 0;

	for (unsigned i = 0; i < v->ncells; i++) {
		long c = lround(v->cell_v[i] * 1000.0);

		c = c < 0 ? 0 : c > 0xFFFF ? 0xFFFF : c;
		v->cell_v[i] = c / 1000.0;
		mv_sum += c;
	}
	/* the pack voltage is the sum of the cells as sent, in mV */
	v->voltage = mv_sum / 1000.0;
	v->current = lround(v->current * 1000.0) / 1000.0;
	v->soc = (double)lround(v->soc < 0 ? 0 : v->soc > 100 ? 100 : v->soc);
	v->remaining_ah = llround(v->remaining_ah * 1000.0) / 1000.0;
	v->nominal_ah = llround(v->nominal_ah * 1000.0) / 1000.0;
	v->full_ah = llround(v->full_ah * 1000.0) / 1000.0;
	if (v->ntemps > SIM_JKPB_MAX_TEMPS)
		v->ntemps = SIM_JKPB_MAX_TEMPS;
	for (unsigned i = 0; i < v->ntemps; i++)
		v->temp_c[i] = (int16_t)temp_raw(v->temp_c[i]) / 10.0;
	v->model[16] = '\0';
	v->serial[SIM_JKPB_SERIAL] = '\0';
	v->mfg_year = v->mfg_month = v->mfg_day = 0; /* not decoded */
}

static int jkpb_check(const struct sim_battery *b, char *err, size_t errlen)
{
	if (b->address > SIM_JKPB_MAX_ADDR) {
		snprintf(err, errlen,
			 "jk-pb: address %u: the DIP switch has 0-15 (0 is "
			 "the bus master)",
			 b->address);
		return -1;
	}
	if (b->ntemps < 1 || b->ntemps > SIM_JKPB_MAX_TEMPS) {
		snprintf(err, errlen,
			 "jk-pb: %u temperature sensors: a pack has its "
			 "MOSFET sensor and up to four more (--temps 1..5)",
			 b->ntemps);
		return -1;
	}
	return 0;
}

/* The model fits the 16 characters at 6, the serial number the 11 at
 * 86: "SIM" and the battery number. */
static void jkpb_identify(struct sim_battery *b)
{
	b->model[16] = '\0';
	snprintf(b->serial, sizeof(b->serial), "SIM%08u", b->id % 100000000u);
}

static void jkpb_corrupt(uint8_t *f, size_t len)
{
	if (len >= SIM_JKPB_FRAME)
		f[SIM_JKPB_FRAME - 1] ^= 0xFF; /* the frame's sum */
	else if (len)
		f[len - 1] ^= 0xFF;
}

const struct sim_proto_ops sim_jkpb_ops = {
	.name = "jk-pb",
	.max_per_line = SIM_JKPB_MAX_ADDR + 1,
	.addressed = true,
	.identify = jkpb_identify,
	.check = jkpb_check,
	.create = jkpb_create,
	.destroy = jkpb_destroy,
	.feed = jkpb_feed,
	.quantize = jkpb_quantize,
	.corrupt = jkpb_corrupt,
	.tick = jkpb_tick,
	.tick_ms = SIM_JKPB_TICK_MS,
};
