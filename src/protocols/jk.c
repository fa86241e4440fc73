/* SPDX-License-Identifier: MIT */
/*
 * jk.c - the JK BMS "read all" codec of the B1A / B2A / BD boards (see
 * jk.h for the frame) and its driver table. Pure functions over byte
 * buffers: no I/O, no state.
 *
 * Sources: JK's "RS485 / UART communication protocol" V2.5 as translated
 * in github.com/syssi/esphome-jk-bms docs/protocol-design-uart-ttl-gps-
 * port.md (the item table and the warning bits), that repository's real
 * UART capture of a JK-B2A24S20P (tests/data/jk-b2a24s20p-13s.cap), and
 * the decoders of esphome-jk-bms (components/jk_bms) and dbus-serialbattery
 * (bms/jkbms.py). Where they disagree, what we chose and why is said at
 * the place it matters:
 *
 * - The item list is walked by code, each with the size the vendor's
 *   table gives it; esphome reads fixed offsets (a firmware that leaves
 *   out or adds one item would shift every value after it). An unknown
 *   code ends the walk: its size is unknown, so nothing after it can be
 *   trusted, and the frame is rejected.
 * - The current (0x84) depends on the protocol version (0xC0), which
 *   comes LAST in the frame: see jk_current().
 * - The checksum covers every byte before it, the two "unused" bytes of
 *   the 4-byte checksum field included (as esphome checks it): they are
 *   00 00 in every frame we have, and so a change of either is caught.
 * - Status 0x8C bit 2 is the balancer at work (see jk_reading()); bit 3
 *   ("battery dropped, 1 = normal") is 0 in both captures of packs that
 *   were working normally, so it is not used.
 */
#include "jk.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define JK_SIZE_CELLS 0 /* 0x79: one count byte, then count bytes */
#define TEXT_BAD      '?'

/* Item codes used here (the vendor's table names them all). */
enum {
	ITEM_CELLS = 0x79,
	ITEM_TEMP_MOS = 0x80,
	ITEM_TEMP_BOX = 0x81,
	ITEM_TEMP_BAT = 0x82,
	ITEM_VOLTAGE = 0x83,
	ITEM_CURRENT = 0x84,
	ITEM_SOC = 0x85,
	ITEM_NSENSORS = 0x86,
	ITEM_CYCLES = 0x87,
	ITEM_WARNINGS = 0x8B,
	ITEM_STATUS = 0x8C,
	ITEM_CAPACITY = 0xAA,
	ITEM_FIRMWARE = 0xB7,
	ITEM_ACTUAL_AH = 0xB9,
	ITEM_MAKER = 0xBA,
	ITEM_PROTOCOL = 0xC0,
};

/*
 * The size of every item of the vendor's table (0 = not an item; the
 * cells are sized by their count byte). 0x88 is not in the table. The
 * write-only items 0xBB-0xBF never come in an answer but have a size.
 */
static const uint8_t item_size[256] = {
	[0x79] = JK_SIZE_CELLS,
	[0x80] = 2,
	[0x81] = 2,
	[0x82] = 2,
	[0x83] = 2,
	[0x84] = 2,
	[0x85] = 1,
	[0x86] = 1,
	[0x87] = 2,
	[0x89] = 4,
	[0x8A] = 2,
	[0x8B] = 2,
	[0x8C] = 2,
	[0x8E] = 2,
	[0x8F] = 2,
	[0x90] = 2,
	[0x91] = 2,
	[0x92] = 2,
	[0x93] = 2,
	[0x94] = 2,
	[0x95] = 2,
	[0x96] = 2,
	[0x97] = 2,
	[0x98] = 2,
	[0x99] = 2,
	[0x9A] = 2,
	[0x9B] = 2,
	[0x9C] = 2,
	[0x9D] = 1,
	[0x9E] = 2,
	[0x9F] = 2,
	[0xA0] = 2,
	[0xA1] = 2,
	[0xA2] = 2,
	[0xA3] = 2,
	[0xA4] = 2,
	[0xA5] = 2,
	[0xA6] = 2,
	[0xA7] = 2,
	[0xA8] = 2,
	[0xA9] = 1,
	[0xAA] = 4,
	[0xAB] = 1,
	[0xAC] = 1,
	[0xAD] = 2,
	[0xAE] = 1,
	[0xAF] = 1,
	[0xB0] = 2,
	[0xB1] = 1,
	[0xB2] = 10,
	[0xB3] = 1,
	[0xB4] = 8,
	[0xB5] = 4,
	[0xB6] = 4,
	[0xB7] = JK_FIRMWARE_LEN,
	[0xB8] = 1,
	[0xB9] = 4,
	[0xBA] = JK_MAKER_LEN,
	[0xBB] = 1,
	[0xBC] = 1,
	[0xBD] = 1,
	[0xBE] = 2,
	[0xBF] = 2,
	[0xC0] = 1,
};

/* Items without which a "read all" answer is not a reading. */
static const uint8_t required[] = {
	ITEM_CELLS,    ITEM_VOLTAGE, ITEM_CURRENT,  ITEM_SOC,      ITEM_CYCLES,
	ITEM_WARNINGS, ITEM_STATUS,  ITEM_CAPACITY, ITEM_PROTOCOL,
};

/*
 * 0x8B warning bit n -> enum bms_protection (0: shown raw only).
 *
 * - bit 0 "low capacity" is a warning (the SoC alarm level 0xB1), not a
 *   protection: the monitor has its own SoC rules.
 * - bit 2 "charging over-voltage" and bit 3 "discharge under-voltage" are
 *   the pack's total-voltage limits (settings 0x8E / 0x8F): the cells
 *   have their own bits, 10 and 11.
 * - The over-temperature bits (1 MOSFET, 4 battery, 8 box) do not say
 *   charge or discharge: they map to both. JK has one MOSFET and one box
 *   limit for both directions, and its battery limits for charge and
 *   discharge (0xA3 / 0xA4) are the same 70 C by default (both captures).
 * - bit 9 "battery low temperature" maps to the charge limit only: the
 *   charge low-temperature limit (0xA5) is the one users raise to 0-5 C
 *   for LiFePO4, and mapping the discharge flag too would cut the loads
 *   every cold morning. Where the pack also stops discharging it opens
 *   its discharge MOSFET, and the guard acts on that (bank.c).
 * - bit 7 "cell pressure difference" is an alarm only (JK does not open
 *   a MOSFET for it): shown raw.
 * - bits 12 and 13 "309_A / 309_B protection" are the front-end chip's
 *   own protection (the SH367309): a front-end error.
 */
static const uint32_t warning_map[16] = {
	[1] = BMS_PROT_CHG_OT | BMS_PROT_DSG_OT,
	[2] = BMS_PROT_PACK_OV,
	[3] = BMS_PROT_PACK_UV,
	[4] = BMS_PROT_CHG_OT | BMS_PROT_DSG_OT,
	[5] = BMS_PROT_CHG_OC,
	[6] = BMS_PROT_DSG_OC,
	[8] = BMS_PROT_CHG_OT | BMS_PROT_DSG_OT,
	[9] = BMS_PROT_CHG_UT,
	[10] = BMS_PROT_CELL_OV,
	[11] = BMS_PROT_CELL_UV,
	[12] = BMS_PROT_AFE,
	[13] = BMS_PROT_AFE,
};

#define STATUS_CHARGE_FET    0x0001
#define STATUS_DISCHARGE_FET 0x0002
#define STATUS_BALANCING     0x0004

/* The factory's placeholder for the user's part of the 0xBA name: whole,
 * or cut to the user's 12 characters. */
static const char *const maker_placeholders[] = {"Input Userdata",
						 "Input Userda"};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

uint16_t jk_sum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; p && i < n; i++)
		sum += p[i];
	return (uint16_t)sum;
}

/*
 * The request of the vendor's document and of the capture, byte for
 * byte: terminal 00000000, command 06, source 03 (a computer), type 00
 * (a request), one data byte 00 ("every item"), record number 0.
 */
size_t jk_build_read_all(uint8_t *buf, size_t cap)
{
	if (!buf || cap < JK_REQ_LEN)
		return 0;
	memset(buf, 0, JK_REQ_LEN);
	buf[0] = JK_START0;
	buf[1] = JK_START1;
	put16(buf + 2, JK_REQ_LEN - 2);
	buf[8] = JK_CMD_READ_ALL;
	buf[9] = 0x03;
	buf[10] = JK_TYPE_REQUEST;
	buf[JK_REQ_LEN - 5] = JK_END;
	put16(buf + JK_REQ_LEN - 2, jk_sum(buf, JK_REQ_LEN - 2));
	return JK_REQ_LEN;
}

/* Framing only: start, size from LEN, end marker, checksum. */
static bool frame_ok(const uint8_t *f, size_t len)
{
	if (!f || len < JK_MIN_FRAME || len > JK_MAX_FRAME)
		return false;
	if (f[0] != JK_START0 || f[1] != JK_START1)
		return false;
	if ((size_t)get16(f + 2) + 2 != len || f[len - 5] != JK_END)
		return false;
	return get16(f + len - 2) == jk_sum(f, len - 2);
}

enum drv_decode jk_check_frame(const uint8_t *f, size_t len,
			       const uint8_t **items, size_t *n)
{
	if (!frame_ok(f, len))
		return DRV_ERR_FRAME;
	/* A request (our own, echoed by an RS485 adapter) or another
	 * command's answer is not an answer to "read all". */
	if (f[8] != JK_CMD_READ_ALL || f[10] != JK_TYPE_ANSWER)
		return DRV_ERR_UNEXPECTED;
	if (items)
		*items = f + JK_HDR;
	if (n)
		*n = len - JK_HDR - JK_TRAILER;
	return DRV_OK;
}

static bool seen(const struct jk_items *it, uint8_t code)
{
	return (it->seen[code / 8] >> (code % 8)) & 1u;
}

/* 0x79: count, then (cell number, mV) triples. Numbers 1..n, each once,
 * in any order (both captures count up; nothing says they must). */
static bool take_cells(const uint8_t *v, size_t count, struct jk_items *it)
{
	uint32_t numbered = 0;

	if (count == 0 || count % 3 != 0 || count / 3 > BMS_MAX_CELLS)
		return false;
	it->ncells = (unsigned)(count / 3);
	for (size_t i = 0; i < count; i += 3) {
		unsigned no = v[i];

		if (no < 1 || no > it->ncells || (numbered >> (no - 1)) & 1u)
			return false;
		numbered |= 1u << (no - 1);
		it->cell_mv[no - 1] = get16(v + i + 1);
	}
	return true;
}

/* Printable text of a fixed-size item: NUL and blank padding dropped;
 * other bytes that are not printable are shown as '?' (the frame is
 * checksummed, the text is for display only). */
static void take_text(const uint8_t *v, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	while (n > 0 && (v[n - 1] == 0x00 || v[n - 1] == ' '))
		n--;
	for (size_t i = 0; i < n && o + 1 < cap; i++)
		out[o++] = v[i] >= 0x20 && v[i] < 0x7f ? (char)v[i] : TEXT_BAD;
	out[o] = '\0';
}

static void take_value(uint8_t code, const uint8_t *v, struct jk_items *it)
{
	switch (code) {
	case ITEM_TEMP_MOS:
	case ITEM_TEMP_BOX:
	case ITEM_TEMP_BAT:
		it->temp_raw[code - ITEM_TEMP_MOS] = get16(v);
		break;
	case ITEM_VOLTAGE:
		it->voltage = get16(v);
		break;
	case ITEM_CURRENT:
		it->current = get16(v);
		break;
	case ITEM_SOC:
		it->soc = v[0];
		break;
	case ITEM_NSENSORS:
		it->nsensors = v[0];
		break;
	case ITEM_CYCLES:
		it->cycles = get16(v);
		break;
	case ITEM_WARNINGS:
		it->warnings = get16(v);
		break;
	case ITEM_STATUS:
		it->status = get16(v);
		break;
	case ITEM_CAPACITY:
		it->capacity_ah = get32(v);
		break;
	case ITEM_ACTUAL_AH:
		it->actual_ah = get32(v);
		break;
	case ITEM_PROTOCOL:
		it->protocol = v[0];
		break;
	case ITEM_FIRMWARE:
		take_text(v, JK_FIRMWARE_LEN, it->firmware,
			  sizeof(it->firmware));
		break;
	case ITEM_MAKER:
		take_text(v, JK_MAKER_LEN, it->maker, sizeof(it->maker));
		break;
	default:
		break; /* settings and the like: not part of a reading */
	}
}

/* One item at d[*pos]: its value taken, *pos moved past it. */
static bool take_item(const uint8_t *d, size_t n, size_t *pos,
		      struct jk_items *it)
{
	uint8_t code = d[*pos];
	size_t size = item_size[code];
	const uint8_t *v = d + *pos + 1;

	if (seen(it, code))
		return false; /* twice: which one would be meant? */
	if (code == ITEM_CELLS) {
		if (n - *pos < 2)
			return false;
		size = 1u + d[*pos + 1];
	} else if (size == 0) {
		return false; /* not an item of the table */
	}
	if (n - *pos - 1 < size)
		return false;
	if (code == ITEM_CELLS) {
		if (!take_cells(v + 1, size - 1, it))
			return false;
	} else {
		take_value(code, v, it);
	}
	it->seen[code / 8] |= (uint8_t)(1u << (code % 8));
	*pos += 1 + size;
	return true;
}

enum drv_decode jk_parse_items(const uint8_t *d, size_t n, struct jk_items *out)
{
	struct jk_items it;
	size_t pos = 0;
	double amps;

	if (!d || !out)
		return DRV_ERR_FRAME;
	memset(&it, 0, sizeof(it));
	while (pos < n)
		if (!take_item(d, n, &pos, &it))
			return DRV_ERR_FRAME;
	for (size_t i = 0; i < sizeof(required); i++)
		if (!seen(&it, required[i]))
			return DRV_ERR_FRAME;
	if (it.soc > 100)
		return DRV_ERR_FRAME; /* no real pack reports this */
	if (!jk_current(it.current, it.protocol, &amps))
		return DRV_ERR_FRAME;
	*out = it;
	return DRV_OK;
}

/*
 * 0x84 by the protocol version 0xC0 (the vendor's table):
 * - 0x01: 10 mA units, bit 15 set = charging, clear = discharging
 *   ("charging 20 A is 0x87D0, discharging 20 A 0x07D0"); both captures.
 * - 0x00 (the default of older firmware): 10000 - raw, in 10 mA, +
 *   charging ("(10000 - 9500) x 0.01 = 5.00 A charging").
 * Decoders in the wild differ here: esphome applies the 0xC0 rule but
 * reads 0xC0 at a fixed offset; dbus-serialbattery always uses the bit-15
 * rule, which reads an old firmware's 5 A charge (9500) as -95 A. Any
 * other version is refused: nobody documented what its current means.
 */
bool jk_current(uint16_t raw, uint8_t protocol, double *amps)
{
	switch (protocol) {
	case 0x01:
		*amps = (raw & 0x8000u ? 1.0 : -1.0) * (raw & 0x7FFFu) / 100.0;
		return true;
	case 0x00:
		*amps = (10000.0 - raw) / 100.0;
		return true;
	default:
		return false;
	}
}

/* "0-140 (-40 to 100): the part exceeding 100 is negative temperature,
 * such as 101 is negative 1 degree" (the vendor's table). Values past
 * 140 come out below -40 C and the plausibility check refuses them. */
double jk_temperature(uint16_t raw)
{
	return raw > 100 ? -(double)(raw - 100) : (double)raw;
}

uint32_t jk_protection(uint16_t warnings)
{
	uint32_t p = 0;

	for (unsigned i = 0; i < 16; i++)
		if (warnings & (1u << i))
			p |= warning_map[i];
	return p;
}

/*
 * Temperatures: the MOSFET sensor first, then the battery sensors (0x81
 * "in the battery box" = T1, 0x82 "battery" = T2), as the test vectors
 * list them. 0x86 says how many battery sensors the pack has: sensors
 * past it are not reported. A pack without a battery sensor reports no
 * temperature at all: the MOSFET sensor alone must not stand for the
 * cells (the guard then blocks charging, no_temperature, I4).
 */
static void reading_temps(const struct jk_items *it, struct bms_reading *r)
{
	unsigned nbat = 0;

	for (unsigned i = 1; i < JK_TEMP_SENSORS; i++)
		if (seen(it, (uint8_t)(ITEM_TEMP_MOS + i)) &&
		    (!seen(it, ITEM_NSENSORS) || i <= it->nsensors))
			nbat++;
	r->ntemps = 0;
	memset(r->temp_c, 0, sizeof(r->temp_c));
	for (unsigned i = 0; nbat > 0 && i < JK_TEMP_SENSORS; i++) {
		if (!seen(it, (uint8_t)(ITEM_TEMP_MOS + i)))
			continue;
		if (i > 0 && seen(it, ITEM_NSENSORS) && i > it->nsensors)
			continue;
		r->temp_c[r->ntemps++] = jk_temperature(it->temp_raw[i]);
	}
	r->have |= BMS_HAVE_TEMPS;
}

static void reading_values(const struct jk_items *it, struct bms_reading *r)
{
	double amps = 0;

	(void)jk_current(it->current, it->protocol, &amps); /* checked */
	r->voltage = it->voltage / 100.0;
	r->current = amps;
	r->soc = it->soc;
	r->cycles = it->cycles;
	/* The capacity is the pack's setting; JK sends no remaining Ah, so
	 * it is SoC x capacity, as the pack's own display computes it.
	 * 0xB9, the measured capacity, is 0 until the pack measured it. */
	r->nominal_ah = it->capacity_ah;
	r->design_ah = it->capacity_ah;
	r->full_ah = it->actual_ah;
	r->remaining_ah = it->soc * (double)it->capacity_ah / 100.0;
	r->manufactured[0] = '\0';
	r->ncells = it->ncells;
	for (unsigned i = 0; i < BMS_MAX_CELLS; i++)
		r->cell_v[i] = i < it->ncells ? it->cell_mv[i] / 1000.0 : 0.0;
	r->have |= BMS_HAVE_BASIC | BMS_HAVE_CELLS;
}

/*
 * 0x8C: bit 0 charge MOSFET, bit 1 discharge MOSFET, bit 2 "balance
 * switch state ... for upload prompts" (the vendor's table). esphome
 * labels bit 2 "balancer enabled" in one place and publishes it as
 * "balancing" in another. It is not the balancer setting: that is item
 * 0x9D, sent beside it. So bit 2 is taken as the balancer at work; it
 * does not say which cells, so the per-cell bits stay 0.
 */
static void reading_status(const struct jk_items *it, struct bms_reading *r)
{
	r->protection_raw = it->warnings;
	r->protection = jk_protection(it->warnings);
	r->charge_fet = (it->status & STATUS_CHARGE_FET) != 0;
	r->discharge_fet = (it->status & STATUS_DISCHARGE_FET) != 0;
	r->balancing = 0;
	r->balancer = it->status & STATUS_BALANCING ? BMS_BALANCER_ACTIVE
						    : BMS_BALANCER_IDLE;
	r->balance_current = NAN;
	r->have |= BMS_HAVE_PROTECTION | BMS_HAVE_BALANCER;
}

/*
 * Identity: 0xB7 is the firmware ("H6.X__S6.1.3S__": hardware and
 * software, '_'-padded; the padding is dropped). The model comes from
 * 0xBA, "manufacturer ID naming", 24 characters: the user's 12 and the
 * model's 12 ("Input UserdaJK-B2A24S15P" with the factory's placeholder
 * left in the user's half), or a maker's own name over all 24
 * ("BT3072020120000200521001"). The placeholder is dropped. Nothing in
 * the frame is a serial number (0xB4 "device ID code" is set by the
 * user), so none is reported.
 */
static void reading_identity(const struct jk_items *it, struct bms_reading *r)
{
	const char *m = it->maker;
	size_t n = strlen(it->firmware);

	if (seen(it, ITEM_FIRMWARE)) {
		while (n > 0 && it->firmware[n - 1] == '_')
			n--;
		snprintf(r->firmware, sizeof(r->firmware), "%.*s", (int)n,
			 it->firmware);
		r->have |= BMS_HAVE_FIRMWARE;
	}
	for (size_t i = 0; i < 2; i++) {
		size_t len = strlen(maker_placeholders[i]);

		if (strncmp(m, maker_placeholders[i], len) == 0) {
			m += len;
			break;
		}
	}
	if (seen(it, ITEM_MAKER) && m[0]) {
		snprintf(r->model, sizeof(r->model), "%s", m);
		r->have |= BMS_HAVE_MODEL;
	}
}

void jk_reading(const struct jk_items *it, bool identity, struct bms_reading *r)
{
	if (!it || !r)
		return;
	if (identity) {
		reading_identity(it, r);
		return;
	}
	reading_values(it, r);
	reading_temps(it, r);
	reading_status(it, r);
}

static size_t jk_build_request(const struct drv_step *step, unsigned addr,
			       uint8_t *buf, size_t cap)
{
	(void)addr; /* one pack per port: the frame has no address */
	if (!step)
		return 0;
	return jk_build_read_all(buf, cap);
}

/* Offset of the next "4E 57" at or after from (a lone 4E at the end of
 * the buffer counts: its 57 may still come), or len. */
static size_t next_start(const uint8_t *buf, size_t len, size_t from)
{
	for (; from < len; from++)
		if (buf[from] == JK_START0 &&
		    (from + 1 == len || buf[from + 1] == JK_START1))
			return from;
	return len;
}

/* The size LEN says for a candidate at buf (4 bytes there). A size no
 * frame can have is returned as 4: decode rejects those 4 bytes and the
 * chain moves on by one, instead of waiting for 64 KiB that never come. */
static size_t candidate_size(const uint8_t *buf)
{
	size_t n = (size_t)get16(buf + 2) + 2;

	return n < JK_MIN_FRAME || n > JK_MAX_FRAME ? 4 : n;
}

/* A "4E 57" in garbage with a plausible LEN would make us wait while the
 * real answer sits behind it: a later complete frame that passes the
 * framing checks is returned instead. */
static bool later_frame(const uint8_t *buf, size_t len, size_t from,
			size_t *skip, size_t *flen)
{
	for (size_t i = next_start(buf, len, from + 1); i + 4 <= len;
	     i = next_start(buf, len, i + 1)) {
		size_t n = candidate_size(buf + i);

		if (n <= len - i && frame_ok(buf + i, n)) {
			*skip = i;
			*flen = n;
			return true;
		}
	}
	return false;
}

static enum drv_scan jk_scan(const uint8_t *buf, size_t len, size_t *skip,
			     size_t *flen)
{
	size_t i = buf ? next_start(buf, len, 0) : 0;
	size_t n;

	*skip = i;
	*flen = 0;
	if (!buf || len - i < 4)
		return DRV_SCAN_NEED_MORE;
	n = candidate_size(buf + i);
	if (n <= len - i) {
		*flen = n;
		return DRV_SCAN_FRAME;
	}
	if (later_frame(buf, len, i, skip, flen))
		return DRV_SCAN_FRAME;
	return DRV_SCAN_NEED_MORE;
}

static enum drv_decode jk_decode(const struct drv_step *step, unsigned addr,
				 const uint8_t *frame, size_t len,
				 struct bms_reading *out)
{
	struct jk_items it;
	const uint8_t *items = NULL;
	size_t n = 0;
	enum drv_decode rc;

	(void)addr;
	if (!step || !out)
		return DRV_ERR_UNEXPECTED;
	if (step->id != JK_STEP_VALUES && step->id != JK_STEP_IDENTITY)
		return DRV_ERR_UNEXPECTED;
	rc = jk_check_frame(frame, len, &items, &n);
	if (rc != DRV_OK)
		return rc;
	if (jk_parse_items(items, n, &it) != DRV_OK)
		return DRV_ERR_FRAME;
	jk_reading(&it, step->id == JK_STEP_IDENTITY, out);
	return DRV_OK;
}

/*
 * One request answers everything. It is asked twice: every poll for the
 * values, and once per battery (again after a reopen or a loss) for who
 * it is, so that the chain can tell another pack on the same adapter
 * (chain.c, "the same adapter, the same battery"): the model stays out
 * of the values, where a change would go unnoticed.
 */
static const struct drv_step jk_steps[] = {
	{.id = JK_STEP_VALUES, .what = "read all"},
	{.id = JK_STEP_IDENTITY, .once = true, .what = "model and firmware"},
};

/*
 * 115200 baud is the UART-TTL port's fixed rate. The answer (about 285
 * bytes for 14 cells, 370 for 32) takes 25-32 ms on the wire; the packs
 * answer within about 100 ms (esphome waits 50 ms between bytes, its
 * users poll every few seconds). 500 ms leaves room for a slow USB
 * adapter; a dead pack is still noticed (and retried once) within a
 * second.
 */
const struct bms_driver jk_driver = {
	.name = "jk",
	.default_baud = 115200,
	.default_timeout_ms = 500,
	.addressed = false,
	.steps = jk_steps,
	.nsteps = sizeof(jk_steps) / sizeof(jk_steps[0]),
	.build_request = jk_build_request,
	.scan = jk_scan,
	.decode = jk_decode,
};
