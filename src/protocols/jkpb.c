/* SPDX-License-Identifier: MIT */
/*
 * jkpb.c - the JK-PB codec (see jkpb.h for the frames) and its driver
 * table. Pure functions over byte buffers: no I/O, no state.
 *
 * Sources: JK's "BMS RS485 Modbus V1.0" (syssi/esphome-jk-bms
 * docs/pb2a16s20p), the frames of jblance/mpp-solar jkpb.py and the bus
 * logs of esphome-jk-bms issue #442 and mpp-solar issue #460 (tests/data),
 * and the decoders of esphome-jk-bms (jk_bms_ble.cpp, JK02_32S frames:
 * the same 300-byte layout) and dbus-serialbattery (bms/jkbms_pb.py).
 * Where they disagree, what we chose and why is said where it matters:
 *
 * - Byte 5 is a counter (05, 00, 8C, ...), not part of the type: only
 *   byte 4 is the type (a dbus-serialbattery version compared both and
 *   rejected every frame of tests/data).
 * - The 300-byte frame has no address: the acknowledgement after it is
 *   the only proof of who answered, so the two are one candidate and an
 *   answer without its acknowledgement is not taken. One capture has a
 *   00 byte between them (dbus-serialbattery: "some adapters add 0x00
 *   padding"); exactly one 00 is accepted there.
 * - Serial number: device info @86 (11 characters, esphome); dbus-
 *   serialbattery takes the device name @46, which the user sets in JK's
 *   app (often the same on every pack of a bank, "ATR BMS" in
 *   tests/data): useless to tell two packs apart.
 * - Extra temperature sensors: @254 repeats the MOSFET temperature in
 *   both captures (206 = 206, 300 = 300); the two more sensors are @256
 *   and @258. esphome's debug log names them sensors 3-5 from 254 up but
 *   publishes them in the reverse order; dbus-serialbattery reads 256 and
 *   258, present by bits 4 and 5 of @214. We take them in frame order,
 *   as the test vectors list them, each only when its bit is set.
 */
#include "jkpb.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define TEXT_BAD '?'

/* Offsets in the status frame (type 02). */
enum {
	ST_CELLS = 6,      /* 32 x u16 mV */
	ST_MASK = 70,      /* u32 cells present */
	ST_TEMP_MOS = 144, /* s16 0.1 C */
	ST_VOLTAGE = 150,  /* u32 mV */
	ST_CURRENT = 158,  /* s32 mA, + = charging */
	ST_TEMP_1 = 162,   /* s16 0.1 C */
	ST_TEMP_2 = 164,
	ST_ALARMS = 166,      /* u32 */
	ST_BAL_CURRENT = 170, /* s16 mA */
	ST_BALANCING = 172,   /* u8 */
	ST_SOC = 173,         /* u8 % */
	ST_REMAINING = 174,   /* s32 mAh */
	ST_FULL = 178,        /* u32 mAh */
	ST_CYCLES = 182,      /* u32 */
	ST_SOH = 190,         /* u8 % */
	ST_CHARGE_FET = 198,  /* u8 */
	ST_DISCHARGE_FET = 199,
	ST_SENSORS = 214, /* u8: bit 0 MOSFET, 1 T1, 2 T2, 3 (254), 4, 5 */
	ST_TEMP_4 = 256,  /* s16 0.1 C */
	ST_TEMP_5 = 258,
};

/* The sensors in reading order: offset and presence bit. */
static const struct {
	uint16_t at;
	uint8_t bit;
} sensors[JKPB_TEMPS] = {
	{ST_TEMP_MOS, 0}, {ST_TEMP_1, 1}, {ST_TEMP_2, 2},
	{ST_TEMP_4, 4},   {ST_TEMP_5, 5},
};
#define SENSORS_OF_CELLS 0x36 /* bits 1, 2, 4, 5: not the MOSFET's */

/*
 * Alarm bit n (@166) -> enum bms_protection (0: shown raw only). Names
 * from JK's V1.0 table as esphome and dbus-serialbattery give them; they
 * differ only on bit 4 ("cell OVP" / "battery is fully charged": both
 * say a cell reached its limit, so charging must stop).
 * - 0 wire resistance, 18 GPS disconnected, 19 "modify password in
 *   time", 20 "discharge on failed", 23 PL module: warnings.
 * - 1 MOSFET over-temperature and 21 battery over-temperature do not say
 *   charge or discharge (JK has one MOSFET limit for both): both.
 * - 2 cell count not as set, 3 current sensor, 10 coprocessor link, 16 /
 *   17 charge / discharge MOSFET abnormal, 22 temperature sensor anomaly:
 *   the pack cannot measure or switch as it should: a front-end error
 *   (forbids both directions).
 * - 7 / 14 charge / discharge short circuit and 24 "SCP release failed":
 *   short circuit. 25 / 26 discharge over-current levels II and III.
 */
static const uint32_t alarm_map[32] = {
	[1] = BMS_PROT_CHG_OT | BMS_PROT_DSG_OT,
	[2] = BMS_PROT_AFE,
	[3] = BMS_PROT_AFE,
	[4] = BMS_PROT_CELL_OV,
	[5] = BMS_PROT_PACK_OV,
	[6] = BMS_PROT_CHG_OC,
	[7] = BMS_PROT_SHORT,
	[8] = BMS_PROT_CHG_OT,
	[9] = BMS_PROT_CHG_UT,
	[10] = BMS_PROT_AFE,
	[11] = BMS_PROT_CELL_UV,
	[12] = BMS_PROT_PACK_UV,
	[13] = BMS_PROT_DSG_OC,
	[14] = BMS_PROT_SHORT,
	[15] = BMS_PROT_DSG_OT,
	[16] = BMS_PROT_AFE,
	[17] = BMS_PROT_AFE,
	[21] = BMS_PROT_CHG_OT | BMS_PROT_DSG_OT,
	[22] = BMS_PROT_AFE,
	[24] = BMS_PROT_SHORT,
	[25] = BMS_PROT_DSG_OC,
	[26] = BMS_PROT_DSG_OC,
	[27] = BMS_PROT_DSG_UT,
	[28] = BMS_PROT_LOCK, /* GPS remote lock */
};

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16;
}

uint16_t jkpb_crc16(const uint8_t *p, size_t n)
{
	uint16_t crc = 0xFFFF;

	for (size_t i = 0; p && i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = crc & 1 ? (uint16_t)(crc >> 1 ^ 0xA001)
				      : (uint16_t)(crc >> 1);
	}
	return crc;
}

uint8_t jkpb_sum8(const uint8_t *p, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 0; p && i < n; i++)
		sum += p[i];
	return (uint8_t)sum;
}

static bool crc_ok(const uint8_t *f, size_t len)
{
	return le16(f + len - 2) == jkpb_crc16(f, len - 2);
}

size_t jkpb_build_request(unsigned addr, uint8_t reg, uint8_t *buf, size_t cap)
{
	static const uint8_t body[] = {JKPB_FC16, JKPB_REG_HI, 0,    0x00,
				       0x01,      0x02,        0x00, 0x00};
	uint16_t crc;

	if (!buf || cap < JKPB_REQ_LEN || addr > JKPB_MAX_ADDR)
		return 0;
	buf[0] = (uint8_t)addr;
	memcpy(buf + 1, body, sizeof(body));
	buf[3] = reg;
	crc = jkpb_crc16(buf, JKPB_REQ_LEN - 2);
	buf[9] = (uint8_t)crc;
	buf[10] = (uint8_t)(crc >> 8);
	return JKPB_REQ_LEN;
}

/* ADDR 10 16 REG: the head of every frame of a bus master. */
static bool fc16_head(const uint8_t *f, size_t len)
{
	return len >= 4 && f[0] <= JKPB_MAX_ADDR && f[1] == JKPB_FC16 &&
	       f[2] == JKPB_REG_HI;
}

bool jkpb_is_request(const uint8_t *f, size_t len, unsigned *addr, uint8_t *reg)
{
	unsigned qty;

	if (!f || !fc16_head(f, len) || len < 9)
		return false;
	qty = (unsigned)f[4] << 8 | f[5];
	if (qty < 1 || qty > 123 || f[6] != 2 * qty || len != 9 + 2 * qty ||
	    !crc_ok(f, len))
		return false;
	if (addr)
		*addr = f[0];
	if (reg)
		*reg = f[3];
	return true;
}

bool jkpb_is_ack(const uint8_t *f, size_t len, unsigned *addr, uint8_t *reg)
{
	if (!f || len != JKPB_ACK_LEN || !fc16_head(f, len) || !crc_ok(f, len))
		return false;
	if ((f[4] << 8 | f[5]) == 0)
		return false;
	if (addr)
		*addr = f[0];
	if (reg)
		*reg = f[3];
	return true;
}

static uint8_t type_of_reg(uint8_t reg)
{
	switch (reg) {
	case JKPB_REG_INFO:
		return JKPB_TYPE_INFO;
	case JKPB_REG_SETTINGS:
		return JKPB_TYPE_SETTINGS;
	case JKPB_REG_STATUS:
		return JKPB_TYPE_STATUS;
	default:
		return 0;
	}
}

enum drv_decode jkpb_check_answer(const uint8_t *f, size_t len, unsigned *addr,
				  uint8_t *reg, const uint8_t **frame)
{
	const uint8_t *ack;
	unsigned a;
	uint8_t r;

	if (!f || (len != JKPB_ANSWER_MIN && len != JKPB_ANSWER_MAX))
		return DRV_ERR_FRAME;
	if (memcmp(f, "\x55\xAA\xEB\x90", 4) != 0 ||
	    jkpb_sum8(f, JKPB_FRAME - 1) != f[JKPB_FRAME - 1])
		return DRV_ERR_FRAME;
	if (len == JKPB_ANSWER_MAX && f[JKPB_FRAME] != 0x00)
		return DRV_ERR_FRAME;
	ack = f + len - JKPB_ACK_LEN;
	if (!jkpb_is_ack(ack, JKPB_ACK_LEN, &a, &r) || ack[4] != 0 ||
	    ack[5] != 1)
		return DRV_ERR_FRAME;
	/* the acknowledged write is the one this frame answers */
	if (type_of_reg(r) == 0 || type_of_reg(r) != f[4])
		return DRV_ERR_FRAME;
	if (addr)
		*addr = a;
	if (reg)
		*reg = r;
	if (frame)
		*frame = f;
	return DRV_OK;
}

/* Cells present: 2^n - 1 for n cells from cell 1 (the pack's setting). */
static unsigned cells_of_mask(uint32_t mask)
{
	unsigned n = 0;

	if (mask == 0 || (mask & (mask + 1u)) != 0)
		return 0; /* not cells 1..n */
	while (n < 32 && (mask >> n) & 1u)
		n++;
	return n;
}

enum drv_decode jkpb_parse_status(const uint8_t *f, struct jkpb_status *out)
{
	struct jkpb_status s;

	if (!f || !out)
		return DRV_ERR_FRAME;
	memset(&s, 0, sizeof(s));
	s.ncells = cells_of_mask(le32(f + ST_MASK));
	if (s.ncells == 0 || s.ncells > BMS_MAX_CELLS)
		return DRV_ERR_FRAME;
	s.soc = f[ST_SOC];
	s.remaining_mah = (int32_t)le32(f + ST_REMAINING);
	if (s.soc > 100 || s.remaining_mah < 0)
		return DRV_ERR_FRAME; /* no real pack reports these */
	for (unsigned i = 0; i < s.ncells; i++)
		s.cell_mv[i] = le16(f + ST_CELLS + 2 * i);
	s.sensors = f[ST_SENSORS];
	for (unsigned i = 0; i < JKPB_TEMPS; i++)
		s.temp[i] = (int16_t)le16(f + sensors[i].at);
	s.voltage_mv = le32(f + ST_VOLTAGE);
	s.current_ma = (int32_t)le32(f + ST_CURRENT);
	s.alarms = le32(f + ST_ALARMS);
	s.balance_ma = (int16_t)le16(f + ST_BAL_CURRENT);
	s.balancing = f[ST_BALANCING];
	s.full_mah = le32(f + ST_FULL);
	s.cycles = le32(f + ST_CYCLES);
	s.soh = f[ST_SOH];
	s.charge_fet = f[ST_CHARGE_FET];
	s.discharge_fet = f[ST_DISCHARGE_FET];
	*out = s;
	return DRV_OK;
}

/* A NUL-terminated field of at most n bytes: up to the first NUL, blanks
 * at the end dropped, bytes that are not printable shown as '?' (the
 * frame is checksummed; the text is for display only). */
static void text_at(const uint8_t *p, size_t n, char *out)
{
	size_t len = 0;

	while (len < n && p[len] != 0)
		len++;
	while (len > 0 && p[len - 1] == ' ')
		len--;
	for (size_t i = 0; i < len; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : TEXT_BAD;
	out[len] = '\0';
}

void jkpb_parse_info(const uint8_t *f, struct jkpb_info *out)
{
	if (!f || !out)
		return;
	text_at(f + 6, 16, out->model);
	text_at(f + 22, 8, out->hardware);
	text_at(f + 30, 8, out->firmware);
	text_at(f + 46, 16, out->name);
	text_at(f + 86, 11, out->serial);
}

uint32_t jkpb_protection(uint32_t alarms)
{
	uint32_t p = 0;

	for (unsigned i = 0; i < 32; i++)
		if (alarms & (1u << i))
			p |= alarm_map[i];
	return p;
}

/*
 * The MOSFET temperature first, then the cell sensors, each only when
 * @214 says it is there. Without any cell sensor there is no temperature
 * at all: the MOSFET sensor alone must not stand for the cells (the
 * guard then blocks charging, no_temperature, I4).
 */
static void status_temps(const struct jkpb_status *s, struct bms_reading *r)
{
	r->ntemps = 0;
	memset(r->temp_c, 0, sizeof(r->temp_c));
	if (s->sensors & SENSORS_OF_CELLS)
		for (unsigned i = 0; i < JKPB_TEMPS; i++)
			if ((s->sensors >> sensors[i].bit) & 1u)
				r->temp_c[r->ntemps++] = s->temp[i] / 10.0;
	r->have |= BMS_HAVE_TEMPS;
}

void jkpb_status_reading(const struct jkpb_status *s, struct bms_reading *r)
{
	if (!s || !r)
		return;
	r->voltage = s->voltage_mv / 1000.0;
	r->current = s->current_ma / 1000.0;
	r->soc = s->soc;
	r->remaining_ah = s->remaining_mah / 1000.0;
	/* The status frame's capacity is the pack's full capacity; the
	 * design capacity is a setting (frame type 01), not read. */
	r->nominal_ah = s->full_mah / 1000.0;
	r->full_ah = s->full_mah / 1000.0;
	r->design_ah = 0;
	r->cycles = s->cycles > INT_MAX ? INT_MAX : (int)s->cycles;
	r->manufactured[0] = '\0';
	r->ncells = s->ncells;
	for (unsigned i = 0; i < BMS_MAX_CELLS; i++)
		r->cell_v[i] = i < s->ncells ? s->cell_mv[i] / 1000.0 : 0.0;
	status_temps(s, r);
	r->protection_raw = s->alarms;
	r->protection = jkpb_protection(s->alarms);
	r->charge_fet = s->charge_fet != 0;
	r->discharge_fet = s->discharge_fet != 0;
	/* @172: 0 off, 1 charging balancer, 2 discharging balancer; no
	 * cell named, so the per-cell bits stay 0 */
	r->balancing = 0;
	r->balancer = s->balancing ? BMS_BALANCER_ACTIVE : BMS_BALANCER_IDLE;
	r->balance_current = s->balance_ma / 1000.0;
	r->have |= BMS_HAVE_BASIC | BMS_HAVE_CELLS | BMS_HAVE_PROTECTION |
		   BMS_HAVE_BALANCER;
}

/* The firmware is the software version (@30); the hardware version
 * (@22) is not part of it. */
void jkpb_info_reading(const struct jkpb_info *in, struct bms_reading *r)
{
	if (!in || !r)
		return;
	if (in->model[0]) {
		snprintf(r->model, sizeof(r->model), "%s", in->model);
		r->have |= BMS_HAVE_MODEL;
	}
	if (in->firmware[0]) {
		snprintf(r->firmware, sizeof(r->firmware), "%s", in->firmware);
		r->have |= BMS_HAVE_FIRMWARE;
	}
	if (in->serial[0]) {
		snprintf(r->serial, sizeof(r->serial), "%s", in->serial);
		r->have |= BMS_HAVE_SERIAL;
	}
}

/*
 * Another master's traffic: a request (to any address: ours, echoed,
 * never gets here), or a frame the pack at address 0 sends on its own.
 * An answer from another address than the one asked is not such proof:
 * it may be a slow pack's late answer to our own earlier request.
 */
const char *jkpb_foreign(const uint8_t *f, size_t len)
{
	unsigned addr = 0;

	if (jkpb_is_request(f, len, &addr, NULL))
		return addr == 0 ? "a request to address 0 that this daemon "
				   "did not send"
				 : "a request to a pack that this daemon did "
				   "not send";
	if (jkpb_check_answer(f, len, &addr, NULL, NULL) == DRV_OK && addr == 0)
		return "the pack at address 0 sent its status unrequested";
	if (jkpb_is_ack(f, len, &addr, NULL) && addr == 0)
		return "the pack at address 0 acknowledged a write unrequested";
	return NULL;
}

static size_t jkpb_build(const struct drv_step *step, unsigned addr,
			 uint8_t *buf, size_t cap)
{
	if (!step)
		return 0;
	return jkpb_build_request(addr, step->id, buf, cap);
}

/* ---- scanning ------------------------------------------------------- */

static const uint8_t magic[4] = {0x55, 0xAA, 0xEB, 0x90};

/* Could a frame start at buf[i] (the bytes there so far agree)? */
static bool may_start(const uint8_t *buf, size_t len, size_t i)
{
	size_t n = len - i < 4 ? len - i : 4;

	if (memcmp(buf + i, magic, n) == 0)
		return true;
	if (buf[i] > JKPB_MAX_ADDR)
		return false;
	return (n < 2 || buf[i + 1] == JKPB_FC16) &&
	       (n < 3 || buf[i + 2] == JKPB_REG_HI);
}

/* The size of the FC16 frame at f (4 bytes there at least): an
 * acknowledgement (8) or a request (9 + 2 x quantity); 0: not known yet
 * (need more); an impossible head is 8, for decode to reject. */
static size_t fc16_size(const uint8_t *f, size_t avail)
{
	unsigned qty;

	if (avail < JKPB_ACK_LEN)
		return 0;
	if (crc_ok(f, JKPB_ACK_LEN))
		return JKPB_ACK_LEN;
	qty = (unsigned)f[4] << 8 | f[5];
	if (qty >= 1 && qty <= 123 && f[6] == 2 * qty)
		return 9 + 2 * qty;
	return JKPB_ACK_LEN;
}

/* The size of the answer at f (300 bytes there at least): with its
 * acknowledgement, straight after or after one 00; 0: need more; 300:
 * none there (decode rejects it). */
static size_t answer_size(const uint8_t *f, size_t avail)
{
	if (avail < JKPB_ANSWER_MIN)
		return 0;
	if (jkpb_is_ack(f + JKPB_FRAME, JKPB_ACK_LEN, NULL, NULL))
		return JKPB_ANSWER_MIN;
	if (f[JKPB_FRAME] != 0x00)
		return JKPB_FRAME;
	if (avail < JKPB_ANSWER_MAX)
		return 0;
	if (jkpb_is_ack(f + JKPB_FRAME + 1, JKPB_ACK_LEN, NULL, NULL))
		return JKPB_ANSWER_MAX;
	return JKPB_FRAME;
}

/*
 * Candidates: the 300-byte frame with its acknowledgement, and FC16
 * frames (our request's RS485 echo, which the chain drops; another
 * master's requests; a lone acknowledgement). Bytes that cannot start
 * one are garbage; a start cut by the end of the buffer is kept.
 */
static enum drv_scan jkpb_scan(const uint8_t *buf, size_t len, size_t *skip,
			       size_t *flen)
{
	size_t i = 0, n;

	*skip = 0;
	*flen = 0;
	if (!buf)
		return DRV_SCAN_NEED_MORE;
	while (i < len && !may_start(buf, len, i))
		i++;
	*skip = i;
	if (len - i < 4)
		return DRV_SCAN_NEED_MORE;
	if (memcmp(buf + i, magic, 4) == 0)
		n = len - i < JKPB_FRAME ? 0 : answer_size(buf + i, len - i);
	else
		n = fc16_size(buf + i, len - i);
	if (n == 0 || n > len - i)
		return DRV_SCAN_NEED_MORE;
	*flen = n;
	return DRV_SCAN_FRAME;
}

/* ---- decoding ------------------------------------------------------- */

static enum drv_decode jkpb_decode(const struct drv_step *step, unsigned addr,
				   const uint8_t *f, size_t len,
				   struct bms_reading *out)
{
	const uint8_t *frame = NULL;
	unsigned who = 0;
	uint8_t reg = 0;
	struct jkpb_status st;
	struct jkpb_info in;

	if (!step || !out || !type_of_reg(step->id))
		return DRV_ERR_UNEXPECTED;
	/* a request (an echo, a master's) or a lone acknowledgement */
	if (jkpb_is_request(f, len, NULL, NULL) ||
	    jkpb_is_ack(f, len, NULL, NULL))
		return DRV_ERR_UNEXPECTED;
	if (jkpb_check_answer(f, len, &who, &reg, &frame) != DRV_OK)
		return DRV_ERR_FRAME;
	if (who != addr || reg != step->id)
		return DRV_ERR_UNEXPECTED; /* another pack, another request */
	switch (reg) {
	case JKPB_REG_STATUS:
		if (jkpb_parse_status(frame, &st) != DRV_OK)
			return DRV_ERR_FRAME;
		jkpb_status_reading(&st, out);
		return DRV_OK;
	case JKPB_REG_INFO:
		memset(&in, 0, sizeof(in));
		jkpb_parse_info(frame, &in);
		jkpb_info_reading(&in, out);
		return DRV_OK;
	default:
		return DRV_ERR_UNEXPECTED; /* settings: not asked */
	}
}

/*
 * The status frame carries everything a reading needs (cells, sensors,
 * voltage, current, SoC, capacities, FETs, alarms, balancer); the device
 * info (model, firmware, serial number) is asked once per battery. The
 * settings frame (type 01: limits, the design capacity) is not asked: it
 * adds nothing the rules use, and each frame costs 27 ms of the bus.
 */
static const struct drv_step jkpb_steps[] = {
	{.id = JKPB_REG_STATUS, .what = "status"},
	{.id = JKPB_REG_INFO, .once = true, .what = "device info"},
};

/*
 * 115200 baud: an answer (308 bytes) takes 27 ms on the wire; packs
 * answer within 50-100 ms (dbus-serialbattery reads for 0.5 s, the JK
 * master leaves about 180 ms between requests). 500 ms leaves room for a
 * slow adapter; an absent address costs two of them in the first scan.
 * A JK master is heard within 2 s (it polls every 200 ms or so): the
 * port listens that long after opening before its first request, and
 * after the last frame of another master before polling again.
 */
const struct bms_driver jkpb_driver = {
	.name = "jk-pb",
	.default_baud = 115200,
	.default_timeout_ms = 500,
	.addressed = true,
	.min_addr = 1,
	.max_addr = JKPB_MAX_ADDR,
	.addr_hint = "the DIP-switch address of a JK-PB pack is 1-15; a pack "
		     "at 0 is the bus master",
	.steps = jkpb_steps,
	.nsteps = sizeof(jkpb_steps) / sizeof(jkpb_steps[0]),
	.build_request = jkpb_build,
	.scan = jkpb_scan,
	.decode = jkpb_decode,
	.foreign = jkpb_foreign,
	.foreign_hint = "A JK-PB pack at DIP address 0 is the bus master and "
			"polls the others itself: give every pack a DIP "
			"address from 1 to 15, power-cycle them, list them "
			"here.",
	.listen_ms = 2000,
	/* Its read command is FC16 writing 0000 to 0x161C / 0x1620. */
	.read_by_write = true,
};
