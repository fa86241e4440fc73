/* SPDX-License-Identifier: MIT */
/*
 * pylon.c - the "~" ASCII-hex family codec: framing, requests, the INFO
 * decoders of 0x42 / 0x44 / 0x51 / 0x93 / Pace 0xC1-0xC2, the Pylontech
 * stack read and the three driver tables. See pylon.h for the frame.
 *
 * One framing, one table per variant (struct variant below): units,
 * temperature offset, the user-defined items of 0x42, the shape of the
 * 0x44 tail and what its bits mean. Sources: Pylontech RS485 protocol
 * v3.3 and the frames of Tomcat42/pylontech-python and
 * Frankkkkk/python-pylontech; SEPLOS BMS Communication Protocol V2.0
 * (syssi/esphome-seplos-bms docs); Pace v25 as documented in
 * nkinnan/esphome-pace-bms. Pure functions: no I/O, no state.
 */
#include "pylon.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The scanner never lets a candidate grow past what the chain can hold. */
#define PYLON_FRAME_LIMIT                                                      \
	(DRV_MAX_FRAME < PYLON_PROTO_MAX_FRAME ? DRV_MAX_FRAME                 \
					       : PYLON_PROTO_MAX_FRAME)
#define HDR_CHARS 12 /* VER ADR CID1 CID2 LENGTH, after the '~' */
#define CHK_CHARS 4
#define NO_INDEX  0xFF
#define TEXT_BAD  '?'

/* Byte alarm values of 0x44 (per cell, per sensor, current, voltage). */
#define ALARM_LOW   0x01
#define ALARM_HIGH  0x02
#define ALARM_OTHER 0xF0

enum info_form {
	INFO_NONE,  /* LENID 0 */
	INFO_ADDR,  /* the address: the documented COMMAND byte */
	INFO_ADDR2, /* address twice (Pylontech capture, LENID 4) */
	INFO_ZERO2, /* 00 00 (Pylontech capture, system-wide requests) */
};

struct req_form {
	uint8_t cid2;
	enum info_form form;
};

/* status[idx] & mask set -> the battery's own protection prot. */
struct status_bit {
	uint8_t idx;
	uint8_t mask;
	uint32_t prot;
};

/* A bounded reader over INFO bytes: reads past the end set bad. */
struct cur {
	const uint8_t *p;
	size_t n;
	size_t pos;
	bool bad;
};

struct variant;
typedef bool (*udi_fn)(struct cur *c, unsigned remain16,
		       const struct variant *v, struct pylon_analog *a);

struct variant {
	uint8_t ver;
	unsigned volt_div;      /* counts per volt of the pack voltage */
	unsigned amp_div;       /* counts per ampere, signed */
	unsigned ah_div;        /* counts per ampere-hour */
	int kelvin;             /* 0 degrees C in 0.1 K */
	udi_fn udi;             /* the user-defined items of 0x42 */
	bool info_addr_checked; /* INFO's address byte must be ADR */
	const struct req_form *reqs;
	size_t nreqs;
	/* 0x44 */
	unsigned nalarms;         /* current / voltage alarm bytes */
	unsigned nstatus;         /* status bytes after them */
	bool status_counted;      /* preceded by their count */
	bool alarm_bytes_protect; /* byte alarms are the only protection */
	const struct status_bit *bits;
	size_t nbits;
	uint8_t fet_idx, fet_chg, fet_dsg; /* MOSFET states in status[] */
	uint8_t bal_lo, bal_hi;            /* balancing bytes, or NO_INDEX */
	uint8_t raw_idx[4]; /* status[] bytes of protection_raw, LSB first */
};

/* Every command code we know: a frame carrying one is a request. */
static const uint8_t commands[] = {
	PYLON_ANALOG,  PYLON_ALARM,        PYLON_SYSPARAM,
	PYLON_VERSION, PYLON_MANUFACTURER, PYLON_MANAGEMENT,
	PYLON_SERIAL,  PACE_HWVERSION,     PACE_SERIAL,
};

/* ---- hex, checksums, frames ------------------------------------------ */

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* lower case included: see pylon.h */
}

/* Two hex digits, already checked by the caller. */
static uint8_t hex2(const uint8_t *p)
{
	return (uint8_t)(hexval(p[0]) << 4 | hexval(p[1]));
}

static uint16_t hex4(const uint8_t *p)
{
	return (uint16_t)(hex2(p) << 8 | hex2(p + 2));
}

static void put_hex2(uint8_t v, uint8_t *out)
{
	static const char digits[] = "0123456789ABCDEF";

	out[0] = (uint8_t)digits[v >> 4];
	out[1] = (uint8_t)digits[v & 0x0f];
}

uint16_t pylon_checksum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; p && i < n; i++)
		sum += p[i];
	return (uint16_t)(0x10000u - (sum & 0xffffu));
}

uint16_t pylon_length(unsigned lenid)
{
	unsigned sum;

	lenid &= 0xfffu;
	sum = (lenid & 0xfu) + (lenid >> 4 & 0xfu) + (lenid >> 8 & 0xfu);
	return (uint16_t)(((16u - (sum & 0xfu)) & 0xfu) << 12 | lenid);
}

size_t pylon_build_frame(uint8_t ver, uint8_t adr, uint8_t cid1, uint8_t cid2,
			 const uint8_t *info, size_t ninfo, uint8_t *buf,
			 size_t cap)
{
	size_t len = PYLON_MIN_FRAME + 2 * ninfo;
	uint16_t length, chk;

	if (!buf || ninfo > PYLON_MAX_INFO || (ninfo && !info) || cap < len)
		return 0;
	length = pylon_length((unsigned)(2 * ninfo));
	buf[0] = PYLON_SOI;
	put_hex2(ver, buf + 1);
	put_hex2(adr, buf + 3);
	put_hex2(cid1, buf + 5);
	put_hex2(cid2, buf + 7);
	put_hex2((uint8_t)(length >> 8), buf + 9);
	put_hex2((uint8_t)(length & 0xff), buf + 11);
	for (size_t i = 0; i < ninfo; i++)
		put_hex2(info[i], buf + 1 + HDR_CHARS + 2 * i);
	chk = pylon_checksum(buf + 1, len - 2 - CHK_CHARS);
	put_hex2((uint8_t)(chk >> 8), buf + len - 5);
	put_hex2((uint8_t)(chk & 0xff), buf + len - 3);
	buf[len - 1] = PYLON_EOI;
	return len;
}

static bool all_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hexval(p[i]) < 0)
			return false;
	return true;
}

/* Everything is checked before out is touched. */
enum drv_decode pylon_parse_frame(const uint8_t *f, size_t len,
				  struct pylon_frame *out)
{
	uint16_t length;
	size_t lenid;

	if (!f || !out || len < PYLON_MIN_FRAME || len > PYLON_PROTO_MAX_FRAME)
		return DRV_ERR_FRAME;
	if (f[0] != PYLON_SOI || f[len - 1] != PYLON_EOI)
		return DRV_ERR_FRAME;
	if (!all_hex(f + 1, len - 2))
		return DRV_ERR_FRAME;
	length = hex4(f + 9);
	lenid = length & 0xfffu;
	if (pylon_length((unsigned)lenid) != length)
		return DRV_ERR_FRAME; /* LCHKSUM */
	if (lenid != len - PYLON_MIN_FRAME || lenid % 2 != 0)
		return DRV_ERR_FRAME; /* LENID against the actual INFO */
	if (hex4(f + len - 5) != pylon_checksum(f + 1, len - 2 - CHK_CHARS))
		return DRV_ERR_FRAME;
	out->ver = hex2(f + 1);
	out->adr = hex2(f + 3);
	out->cid1 = hex2(f + 5);
	out->cid2 = hex2(f + 7);
	out->ninfo = lenid / 2;
	for (size_t i = 0; i < out->ninfo; i++)
		out->info[i] = hex2(f + 1 + HDR_CHARS + 2 * i);
	return DRV_OK;
}

/* ---- the variants ---------------------------------------------------- */

static bool udi_pylontech(struct cur *c, unsigned remain16,
			  const struct variant *v, struct pylon_analog *a);
static bool udi_seplos(struct cur *c, unsigned remain16,
		       const struct variant *v, struct pylon_analog *a);
static bool udi_pace(struct cur *c, unsigned remain16, const struct variant *v,
		     struct pylon_analog *a);

/* The capture's form (tests/data/pylontech-us2000.cap): the pack reads
 * the first INFO byte as the address and ignores the second (the same
 * answer came back for "0201" and "0202" in the same session). */
static const struct req_form pylontech_reqs[] = {
	{PYLON_ANALOG, INFO_ADDR2},     {PYLON_ALARM, INFO_ADDR2},
	{PYLON_SYSPARAM, INFO_ZERO2},   {PYLON_MANUFACTURER, INFO_ZERO2},
	{PYLON_MANAGEMENT, INFO_ADDR2}, {PYLON_SERIAL, INFO_ADDR2},
};

static const struct req_form seplos_reqs[] = {
	{PYLON_ANALOG, INFO_ADDR},
	{PYLON_ALARM, INFO_ADDR},
	{PYLON_SYSPARAM, INFO_ADDR},
	{PYLON_MANUFACTURER, INFO_ADDR},
};

static const struct req_form pace_reqs[] = {
	{PYLON_ANALOG, INFO_ADDR},
	{PYLON_ALARM, INFO_ADDR},
	{PACE_HWVERSION, INFO_NONE},
	{PACE_SERIAL, INFO_NONE},
};

#define OT_BOTH (BMS_PROT_CHG_OT | BMS_PROT_DSG_OT)
#define UT_BOTH (BMS_PROT_CHG_UT | BMS_PROT_DSG_UT)

/* Status1 (protections), Status4/5 (cell faults). Cell over-voltage has
 * no bit: it is the cells' byte alarms (alarm_bytes_protect). */
static const struct status_bit pylontech_bits[] = {
	{0, 0x01, BMS_PROT_PACK_OV}, {0, 0x02, BMS_PROT_CELL_UV},
	{0, 0x04, BMS_PROT_CHG_OC},  {0, 0x10, BMS_PROT_DSG_OC},
	{0, 0x20, BMS_PROT_DSG_OT},  {0, 0x40, BMS_PROT_CHG_OT},
	{0, 0x80, BMS_PROT_PACK_UV}, {3, 0xFF, BMS_PROT_AFE},
	{4, 0xFF, BMS_PROT_AFE},
};

/* Alarm events 1-6: only the "protection" bits, not the warnings. A
 * MOSFET ("power") or ambient over/under temperature protection stops
 * both directions. Event 4 bit 4 is "power over temperature protection"
 * in the vendor document. */
static const struct status_bit seplos_bits[] = {
	{0, 0x77, BMS_PROT_AFE}, /* sensor, dropout and switch faults */
	{1, 0x02, BMS_PROT_CELL_OV}, {1, 0x08, BMS_PROT_CELL_UV},
	{1, 0x20, BMS_PROT_PACK_OV}, {1, 0x80, BMS_PROT_PACK_UV},
	{2, 0x02, BMS_PROT_CHG_OT},  {2, 0x08, BMS_PROT_CHG_UT},
	{2, 0x20, BMS_PROT_DSG_OT},  {2, 0x80, BMS_PROT_DSG_UT},
	{3, 0x02, OT_BOTH},          {3, 0x08, UT_BOTH},
	{3, 0x10, OT_BOTH},          {4, 0x02, BMS_PROT_CHG_OC},
	{4, 0x08, BMS_PROT_DSG_OC},  {4, 0x10, BMS_PROT_DSG_OC},
	{4, 0x20, BMS_PROT_SHORT},   {4, 0x40, BMS_PROT_DSG_OC},
	{4, 0x80, BMS_PROT_SHORT},   {5, 0x01, BMS_PROT_PACK_OV},
};

/* Protection 1, protection 2, fault status. */
static const struct status_bit pace_bits[] = {
	{0, 0x01, BMS_PROT_CELL_OV}, {0, 0x02, BMS_PROT_CELL_UV},
	{0, 0x04, BMS_PROT_PACK_OV}, {0, 0x08, BMS_PROT_PACK_UV},
	{0, 0x10, BMS_PROT_CHG_OC},  {0, 0x20, BMS_PROT_DSG_OC},
	{0, 0x40, BMS_PROT_SHORT},   {1, 0x01, BMS_PROT_CHG_OT},
	{1, 0x02, BMS_PROT_DSG_OT},  {1, 0x04, BMS_PROT_CHG_UT},
	{1, 0x08, BMS_PROT_DSG_UT},  {1, 0x10, OT_BOTH},
	{1, 0x20, OT_BOTH},          {1, 0x40, UT_BOTH},
	{4, 0x37, BMS_PROT_AFE}, /* MOSFET, NTC, cell, sampling faults */
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct variant variants[PYLON_NVARIANTS] = {
	[PYLON_V_PYLONTECH] =
		{
			.ver = 0x20,
			.volt_div = 1000,
			.amp_div = 10,
			.ah_div = 1000,
			.kelvin = 2731,
			.udi = udi_pylontech,
			.info_addr_checked = true,
			.reqs = pylontech_reqs,
			.nreqs = N(pylontech_reqs),
			.nalarms = 3,
			.nstatus = 5,
			.status_counted = false,
			.alarm_bytes_protect = true,
			.bits = pylontech_bits,
			.nbits = N(pylontech_bits),
			.fet_idx = 1,
			.fet_chg = 0x02,
			.fet_dsg = 0x04,
			.bal_lo = NO_INDEX,
			.bal_hi = NO_INDEX,
			.raw_idx = {0, 3, 4, NO_INDEX},
		},
	/* The INFO group byte is not the address on real Seplos packs
	 * (syssi/esphome-seplos-bms: ADR 0, group 1), so it is not checked. */
	[PYLON_V_SEPLOS] =
		{
			.ver = 0x20,
			.volt_div = 100,
			.amp_div = 100,
			.ah_div = 100,
			.kelvin = 2731,
			.udi = udi_seplos,
			.info_addr_checked = false,
			.reqs = seplos_reqs,
			.nreqs = N(seplos_reqs),
			.nalarms = 2,
			.nstatus = 20,
			.status_counted = true,
			.alarm_bytes_protect = false,
			.bits = seplos_bits,
			.nbits = N(seplos_bits),
			.fet_idx = 6,
			.fet_chg = 0x02,
			.fet_dsg = 0x01,
			.bal_lo = 7,
			.bal_hi = 8,
			.raw_idx = {1, 2, 4, 0},
		},
	[PYLON_V_PACE] =
		{
			.ver = 0x25,
			.volt_div = 1000,
			.amp_div = 100,
			.ah_div = 100,
			.kelvin = 2730,
			.udi = udi_pace,
			.info_addr_checked = true,
			.reqs = pace_reqs,
			.nreqs = N(pace_reqs),
			.nalarms = 3,
			.nstatus = 9,
			.status_counted = false,
			.alarm_bytes_protect = false,
			.bits = pace_bits,
			.nbits = N(pace_bits),
			.fet_idx = 2,
			.fet_chg = 0x02,
			.fet_dsg = 0x04,
			.bal_lo = 6,
			.bal_hi = 5,
			.raw_idx = {0, 1, 4, NO_INDEX},
		},
};

static const struct variant *variant_of(enum pylon_variant v)
{
	return (unsigned)v < PYLON_NVARIANTS ? &variants[v] : NULL;
}

/* ---- requests -------------------------------------------------------- */

static const struct req_form *find_req(const struct variant *v, uint8_t cid2)
{
	for (size_t i = 0; i < v->nreqs; i++)
		if (v->reqs[i].cid2 == cid2)
			return &v->reqs[i];
	return NULL;
}

size_t pylon_build_request(enum pylon_variant vid, uint8_t cid2, unsigned addr,
			   uint8_t *buf, size_t cap)
{
	const struct variant *v = variant_of(vid);
	const struct req_form *r = v ? find_req(v, cid2) : NULL;
	uint8_t info[2];
	size_t n = 0;

	if (!r || addr > 0xFF)
		return 0;
	switch (r->form) {
	case INFO_NONE:
		break;
	case INFO_ADDR:
		info[n++] = (uint8_t)addr;
		break;
	case INFO_ADDR2:
		info[n++] = (uint8_t)addr;
		info[n++] = (uint8_t)addr;
		break;
	case INFO_ZERO2:
		info[n++] = 0;
		info[n++] = 0;
		break;
	}
	return pylon_build_frame(v->ver, (uint8_t)addr, PYLON_CID1, cid2, info,
				 n, buf, cap);
}

/* The form python-pylontech sends ("~20024642E002FFFD09"), answered by
 * real US2000 and US3000 stacks in that project's recorded frames. */
size_t pylon_build_stack_request(unsigned addr, uint8_t *buf, size_t cap)
{
	static const uint8_t all[] = {PYLON_ADDR_ALL};

	if (addr > 0xFF)
		return 0;
	return pylon_build_frame(variants[PYLON_V_PYLONTECH].ver, (uint8_t)addr,
				 PYLON_CID1, PYLON_ANALOG, all, 1, buf, cap);
}

/* ---- INFO readers ---------------------------------------------------- */

static unsigned get8(struct cur *c)
{
	if (c->bad || c->n - c->pos < 1) {
		c->bad = true;
		return 0;
	}
	return c->p[c->pos++];
}

static unsigned get16(struct cur *c)
{
	unsigned hi = get8(c);

	return hi << 8 | get8(c);
}

static unsigned get24(struct cur *c)
{
	unsigned hi = get8(c);

	return hi << 16 | get16(c);
}

static double ah(unsigned raw, const struct variant *v)
{
	return (double)raw / v->ah_div;
}

/*
 * Pylontech: 2 items (total capacity, cycles), or 4: the same two, then
 * 3-byte remaining and total capacities (packs above 65 Ah; the 2-byte
 * fields then carry 0xFFFF placeholders, so the 3-byte ones are used).
 */
static bool udi_pylontech(struct cur *c, unsigned remain16,
			  const struct variant *v, struct pylon_analog *a)
{
	unsigned full16 = get16(c);

	a->cycles = (int)get16(c);
	if (a->udi == 2) {
		a->remaining_ah = ah(remain16, v);
		a->full_ah = ah(full16, v);
		return true;
	}
	if (a->udi != 4)
		return false; /* an unknown layout: nothing is trusted */
	a->remaining_ah = ah(get24(c), v);
	a->full_ah = ah(get24(c), v);
	return true;
}

/* Seplos: capacity, SOC (0.1 %), rated capacity, cycles, SOH (0.1 %),
 * port voltage, four reserved words. */
static bool udi_seplos(struct cur *c, unsigned remain16,
		       const struct variant *v, struct pylon_analog *a)
{
	unsigned soc, soh;

	if (a->udi != 10)
		return false;
	a->remaining_ah = ah(remain16, v);
	a->full_ah = ah(get16(c), v);
	soc = get16(c);
	a->design_ah = ah(get16(c), v);
	a->cycles = (int)get16(c);
	soh = get16(c);
	a->port_v = (double)get16(c) / v->volt_div;
	for (int i = 0; i < 4; i++)
		(void)get16(c);
	if (soc > 1000 || soh > 1000)
		return false; /* no real pack reports this */
	a->soc = soc / 10.0;
	a->soh = soh / 10.0;
	return true;
}

/* Pace: full capacity, cycles, design capacity. */
static bool udi_pace(struct cur *c, unsigned remain16, const struct variant *v,
		     struct pylon_analog *a)
{
	if (a->udi != 3)
		return false;
	a->remaining_ah = ah(remain16, v);
	a->full_ah = ah(get16(c), v);
	a->cycles = (int)get16(c);
	a->design_ah = ah(get16(c), v);
	return true;
}

/* The pack's own share; a little above 100 % is clipped, not trusted. */
static double soc_of(const struct pylon_analog *a)
{
	double soc;

	if (!(a->full_ah > 0))
		return NAN;
	soc = 100.0 * a->remaining_ah / a->full_ah;
	return soc > 100.0 ? 100.0 : soc;
}

static void analog_clear(const struct variant *v, struct pylon_analog *a)
{
	memset(a, 0, sizeof(*a));
	a->variant = (enum pylon_variant)(v - variants);
	a->design_ah = a->soc = a->soh = a->port_v = NAN;
}

/* One pack's block: cells ... cycles (and the variant's extras). */
static bool parse_block(const struct variant *v, struct cur *c,
			struct pylon_analog *a)
{
	unsigned remain16;

	a->ncells = get8(c);
	if (c->bad || a->ncells == 0 || a->ncells > BMS_MAX_CELLS)
		return false;
	for (unsigned i = 0; i < a->ncells; i++)
		a->cell_v[i] = get16(c) / 1000.0;
	a->ntemps = get8(c);
	if (c->bad || a->ntemps > BMS_MAX_TEMPS)
		return false;
	for (unsigned i = 0; i < a->ntemps; i++)
		a->temp_c[i] = ((int)get16(c) - v->kelvin) / 10.0;
	a->current = (int16_t)get16(c) / (double)v->amp_div;
	a->voltage = (double)get16(c) / v->volt_div;
	remain16 = get16(c);
	a->udi = get8(c);
	if (c->bad || !v->udi(c, remain16, v, a) || c->bad)
		return false;
	if (isnan(a->soc))
		a->soc = soc_of(a);
	return true;
}

enum drv_decode pylon_parse_analog(enum pylon_variant vid, const uint8_t *info,
				   size_t n, struct pylon_analog *a)
{
	const struct variant *v = variant_of(vid);
	struct cur c = {.p = info, .n = info ? n : 0};
	struct pylon_analog tmp;

	if (!v || !a)
		return DRV_ERR_FRAME;
	analog_clear(v, &tmp);
	tmp.dataflag = (uint8_t)get8(&c);
	tmp.info_addr = (uint8_t)get8(&c);
	if (c.bad || !parse_block(v, &c, &tmp) || c.pos != c.n)
		return DRV_ERR_FRAME;
	*a = tmp;
	return DRV_OK;
}

static bool parse_alarm_body(const struct variant *v, struct cur *c,
			     struct pylon_status *s)
{
	unsigned n;

	s->dataflag = (uint8_t)get8(c);
	s->info_addr = (uint8_t)get8(c);
	s->ncells = get8(c);
	if (c->bad || s->ncells == 0 || s->ncells > BMS_MAX_CELLS)
		return false;
	for (unsigned i = 0; i < s->ncells; i++)
		s->cell[i] = (uint8_t)get8(c);
	s->ntemps = get8(c);
	if (c->bad || s->ntemps > BMS_MAX_TEMPS)
		return false;
	for (unsigned i = 0; i < s->ntemps; i++)
		s->temp[i] = (uint8_t)get8(c);
	s->nalarms = v->nalarms;
	for (unsigned i = 0; i < s->nalarms; i++)
		s->alarm[i] = (uint8_t)get8(c);
	n = v->status_counted ? get8(c) : v->nstatus;
	if (c->bad || n != v->nstatus)
		return false;
	s->nstatus = n;
	for (unsigned i = 0; i < n; i++)
		s->status[i] = (uint8_t)get8(c);
	return !c->bad && c->pos == c->n;
}

enum drv_decode pylon_parse_alarm(enum pylon_variant vid, const uint8_t *info,
				  size_t n, struct pylon_status *s)
{
	const struct variant *v = variant_of(vid);
	struct cur c = {.p = info, .n = info ? n : 0};
	struct pylon_status tmp;

	if (!v || !s)
		return DRV_ERR_FRAME;
	memset(&tmp, 0, sizeof(tmp));
	tmp.variant = vid;
	if (!parse_alarm_body(v, &c, &tmp))
		return DRV_ERR_FRAME;
	*s = tmp;
	return DRV_OK;
}

/*
 * A display string: trailing NUL, blank (and, for the Pylontech vendor
 * name, '-') padding dropped; other non-printable bytes shown as '?'
 * rather than rejected (the frame is checksummed; the text is for
 * display only). Truncated to BMS_TEXT_LEN - 1 characters.
 */
static void text_field(const uint8_t *d, size_t n, bool dash_pad,
		       char out[BMS_TEXT_LEN])
{
	size_t o = 0;

	while (n > 0 && (d[n - 1] == 0 || d[n - 1] == ' ' ||
			 (dash_pad && d[n - 1] == '-')))
		n--;
	for (size_t i = 0; i < n && o < BMS_TEXT_LEN - 1; i++)
		out[o++] = d[i] >= 0x20 && d[i] < 0x7f ? (char)d[i] : TEXT_BAD;
	out[o] = '\0';
}

#define MFR_NAME      10
#define MFR_VERSION   2
#define MFR_VENDOR    20
#define SERIAL_LEN    16
#define PACE_TEXT_MAX 40

enum drv_decode pylon_parse_manufacturer(const uint8_t *info, size_t n,
					 struct pylon_info *out)
{
	const uint8_t *ver = info + MFR_NAME;

	if (!info || !out || n != MFR_NAME + MFR_VERSION + MFR_VENDOR)
		return DRV_ERR_FRAME;
	memset(out, 0, sizeof(*out));
	text_field(info, MFR_NAME, false, out->model);
	snprintf(out->firmware, sizeof(out->firmware), "%u.%u", ver[0], ver[1]);
	text_field(info + MFR_NAME + MFR_VERSION, MFR_VENDOR, true,
		   out->manufacturer);
	out->have = BMS_HAVE_MODEL | BMS_HAVE_FIRMWARE;
	return DRV_OK;
}

enum drv_decode pylon_parse_serial(const uint8_t *info, size_t n, unsigned addr,
				   struct pylon_info *out)
{
	if (!info || !out || n != 1 + SERIAL_LEN)
		return DRV_ERR_FRAME;
	if (info[0] != addr)
		return DRV_ERR_UNEXPECTED; /* another pack's serial */
	memset(out, 0, sizeof(*out));
	text_field(info + 1, SERIAL_LEN, false, out->serial);
	out->have = BMS_HAVE_SERIAL;
	return DRV_OK;
}

enum drv_decode pace_parse_text(uint8_t cid2, const uint8_t *info, size_t n,
				struct pylon_info *out)
{
	if (!info || !out || n == 0 || n > PACE_TEXT_MAX)
		return DRV_ERR_FRAME;
	if (cid2 != PACE_HWVERSION && cid2 != PACE_SERIAL)
		return DRV_ERR_UNEXPECTED;
	memset(out, 0, sizeof(*out));
	if (cid2 == PACE_HWVERSION) {
		text_field(info, n, false, out->model);
		out->have = BMS_HAVE_MODEL;
	} else {
		text_field(info, n, false, out->serial);
		out->have = BMS_HAVE_SERIAL;
	}
	return DRV_OK;
}

/* ---- into struct bms_reading ---------------------------------------- */

void pylon_analog_reading(const struct pylon_analog *a, struct bms_reading *r)
{
	if (!a || !r)
		return;
	r->voltage = a->voltage;
	r->current = a->current;
	r->remaining_ah = a->remaining_ah;
	/* "Nominal" is the design capacity where the pack reports one;
	 * Pylontech only has its total capacity. */
	r->nominal_ah = isnan(a->design_ah) ? a->full_ah : a->design_ah;
	r->full_ah = a->full_ah;
	r->design_ah = a->design_ah;
	r->soc = a->soc;
	r->cycles = a->cycles;
	r->ncells = a->ncells;
	for (unsigned i = 0; i < BMS_MAX_CELLS; i++)
		r->cell_v[i] = i < a->ncells ? a->cell_v[i] : 0.0;
	r->ntemps = a->ntemps;
	for (unsigned i = 0; i < BMS_MAX_TEMPS; i++)
		r->temp_c[i] = i < a->ntemps ? a->temp_c[i] : 0.0;
	r->have |= BMS_HAVE_BASIC | BMS_HAVE_CELLS | BMS_HAVE_TEMPS;
}

/* 0x01 below the lower limit, 0x02 above the upper one, 0xF0 other. */
static uint32_t byte_alarm(uint8_t b, uint32_t low, uint32_t high,
			   uint32_t other)
{
	switch (b) {
	case ALARM_LOW:
		return low;
	case ALARM_HIGH:
		return high;
	case ALARM_OTHER:
		return other;
	default:
		return 0;
	}
}

/*
 * Pylontech has no status bit for cell over-voltage: the cells' byte
 * alarms are its protection signal, so they are mapped. A temperature
 * alarm does not say charge or discharge: it maps to the charge
 * protections (the narrower window); the discharge ones come from
 * Status1. Sensor "other" faults are front-end errors.
 */
static uint32_t byte_alarms(const struct pylon_status *s)
{
	uint32_t p = 0;

	for (unsigned i = 0; i < s->ncells && i < BMS_MAX_CELLS; i++)
		p |= byte_alarm(s->cell[i], BMS_PROT_CELL_UV, BMS_PROT_CELL_OV,
				BMS_PROT_AFE);
	for (unsigned i = 0; i < s->ntemps && i < BMS_MAX_TEMPS; i++)
		p |= byte_alarm(s->temp[i], BMS_PROT_CHG_UT, BMS_PROT_CHG_OT,
				BMS_PROT_AFE);
	if (s->nalarms == 3) {
		p |= byte_alarm(s->alarm[0], 0, BMS_PROT_CHG_OC, 0);
		p |= byte_alarm(s->alarm[1], BMS_PROT_PACK_UV, BMS_PROT_PACK_OV,
				0);
		p |= byte_alarm(s->alarm[2], 0, BMS_PROT_DSG_OC, 0);
	}
	return p;
}

static uint8_t status_byte(const struct pylon_status *s, unsigned idx)
{
	return idx < s->nstatus && idx < PYLON_MAX_STATUS ? s->status[idx] : 0;
}

void pylon_status_reading(const struct pylon_status *s, struct bms_reading *r)
{
	const struct variant *v = s ? variant_of(s->variant) : NULL;
	uint32_t prot = 0, raw = 0;

	if (!v || !r)
		return;
	for (size_t i = 0; i < v->nbits; i++)
		if (status_byte(s, v->bits[i].idx) & v->bits[i].mask)
			prot |= v->bits[i].prot;
	if (v->alarm_bytes_protect)
		prot |= byte_alarms(s);
	for (unsigned i = 0; i < 4; i++)
		raw |= (uint32_t)status_byte(s, v->raw_idx[i]) << (8 * i);
	r->protection = prot;
	r->protection_raw = raw;
	r->charge_fet = (status_byte(s, v->fet_idx) & v->fet_chg) != 0;
	r->discharge_fet = (status_byte(s, v->fet_idx) & v->fet_dsg) != 0;
	r->balancing = (uint32_t)status_byte(s, v->bal_hi) << 8 |
		       status_byte(s, v->bal_lo);
	r->have |= BMS_HAVE_PROTECTION;
}

static void copy_text(char *dst, const char *src)
{
	memcpy(dst, src, BMS_TEXT_LEN);
	dst[BMS_TEXT_LEN - 1] = '\0';
}

void pylon_info_reading(const struct pylon_info *in, struct bms_reading *r)
{
	if (!in || !r)
		return;
	if (in->have & BMS_HAVE_MODEL)
		copy_text(r->model, in->model);
	if (in->have & BMS_HAVE_FIRMWARE)
		copy_text(r->firmware, in->firmware);
	if (in->have & BMS_HAVE_SERIAL)
		copy_text(r->serial, in->serial);
	r->have |= in->have &
		   (BMS_HAVE_MODEL | BMS_HAVE_FIRMWARE | BMS_HAVE_SERIAL);
}

/* ---- answers --------------------------------------------------------- */

static bool is_command(uint8_t cid2)
{
	for (size_t i = 0; i < N(commands); i++)
		if (commands[i] == cid2)
			return true;
	return false;
}

/*
 * Is fr an answer from addr in this variant? A frame that carries a
 * command code is a request (our RS485 echo, or another master's); the
 * return codes (0x01 VER error, 0x02 CHKSUM error, ...) never collide.
 */
static enum drv_decode check_answer(const struct variant *v,
				    const struct pylon_frame *fr, unsigned addr)
{
	if (fr->cid1 != PYLON_CID1 || fr->ver != v->ver || fr->adr != addr)
		return DRV_ERR_UNEXPECTED;
	if (is_command(fr->cid2))
		return DRV_ERR_UNEXPECTED;
	return fr->cid2 == 0x00 ? DRV_OK : DRV_ERR_STATUS;
}

static enum drv_decode decode_analog(enum pylon_variant vid,
				     const struct pylon_frame *fr,
				     unsigned addr, struct bms_reading *out)
{
	struct pylon_analog a;

	if (pylon_parse_analog(vid, fr->info, fr->ninfo, &a) != DRV_OK)
		return DRV_ERR_FRAME;
	if (variants[vid].info_addr_checked && a.info_addr != addr)
		return DRV_ERR_UNEXPECTED; /* another pack's values */
	pylon_analog_reading(&a, out);
	return DRV_OK;
}

static enum drv_decode decode_alarm(enum pylon_variant vid,
				    const struct pylon_frame *fr, unsigned addr,
				    struct bms_reading *out)
{
	struct pylon_status s;

	if (pylon_parse_alarm(vid, fr->info, fr->ninfo, &s) != DRV_OK)
		return DRV_ERR_FRAME;
	if (variants[vid].info_addr_checked && s.info_addr != addr)
		return DRV_ERR_UNEXPECTED;
	pylon_status_reading(&s, out);
	return DRV_OK;
}

static enum drv_decode decode_info(uint8_t cid2, const struct pylon_frame *fr,
				   unsigned addr, struct bms_reading *out)
{
	struct pylon_info in;
	enum drv_decode rc;

	switch (cid2) {
	case PYLON_MANUFACTURER:
		rc = pylon_parse_manufacturer(fr->info, fr->ninfo, &in);
		break;
	case PYLON_SERIAL:
		rc = pylon_parse_serial(fr->info, fr->ninfo, addr, &in);
		break;
	case PACE_HWVERSION:
	case PACE_SERIAL:
		rc = pace_parse_text(cid2, fr->info, fr->ninfo, &in);
		break;
	default:
		return DRV_ERR_UNEXPECTED;
	}
	if (rc == DRV_OK)
		pylon_info_reading(&in, out);
	return rc;
}

static enum drv_decode decode_step(enum pylon_variant vid,
				   const struct drv_step *step, unsigned addr,
				   const uint8_t *f, size_t len,
				   struct bms_reading *out)
{
	struct pylon_frame fr;
	enum drv_decode rc;

	if (!step || !out)
		return DRV_ERR_UNEXPECTED;
	if (pylon_parse_frame(f, len, &fr) != DRV_OK)
		return DRV_ERR_FRAME;
	rc = check_answer(&variants[vid], &fr, addr);
	if (rc != DRV_OK)
		return rc;
	switch (step->id) {
	case PYLON_ANALOG:
		return decode_analog(vid, &fr, addr, out);
	case PYLON_ALARM:
		return decode_alarm(vid, &fr, addr, out);
	default:
		return decode_info(step->id, &fr, addr, out);
	}
}

/* ---- the stack read -------------------------------------------------- */

/* Walk every block; with out, also write the first max readings. */
static bool stack_blocks(const struct pylon_frame *fr, unsigned count,
			 struct bms_reading *out, unsigned max)
{
	const struct variant *v = &variants[PYLON_V_PYLONTECH];
	struct cur c = {.p = fr->info, .n = fr->ninfo, .pos = 2};
	struct pylon_analog a;

	for (unsigned i = 0; i < count; i++) {
		analog_clear(v, &a);
		if (!parse_block(v, &c, &a))
			return false;
		if (out && i < max) {
			memset(&out[i], 0, sizeof(out[i]));
			pylon_analog_reading(&a, &out[i]);
		}
	}
	return c.pos == c.n;
}

int pylon_decode_stack(const uint8_t *f, size_t len, unsigned addr,
		       struct bms_reading *out, unsigned max, unsigned *npacks)
{
	struct pylon_frame fr;
	enum drv_decode rc;
	unsigned count;

	if (!npacks || (max > 0 && !out))
		return DRV_ERR_UNEXPECTED;
	if (pylon_parse_frame(f, len, &fr) != DRV_OK)
		return DRV_ERR_FRAME;
	rc = check_answer(&variants[PYLON_V_PYLONTECH], &fr, addr);
	if (rc != DRV_OK)
		return rc;
	/* DATAFLAG, then the pack count (not an address as in one pack's) */
	if (fr.ninfo < 2 || fr.info[1] == 0)
		return DRV_ERR_FRAME;
	count = fr.info[1];
	if (!stack_blocks(&fr, count, NULL, 0))
		return DRV_ERR_FRAME;
	(void)stack_blocks(&fr, count, out, max);
	*npacks = count;
	return DRV_OK;
}

/* ---- the drivers ----------------------------------------------------- */

/*
 * A frame runs from '~' to the next CR. A '~' before that CR starts over
 * (the earlier one was a fragment), so garbage never hides a frame. A
 * candidate that reaches PYLON_FRAME_LIMIT without a CR is returned at
 * that size: decode() rejects it and the chain drops one byte.
 */
static enum drv_scan pylon_scan(const uint8_t *buf, size_t len, size_t *skip,
				size_t *flen)
{
	size_t start = len;

	*skip = 0;
	*flen = 0;
	if (!buf)
		return DRV_SCAN_NEED_MORE;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == PYLON_SOI) {
			start = i;
			continue;
		}
		if (start == len)
			continue; /* garbage before any frame start */
		if (buf[i] == PYLON_EOI || i - start + 1 >= PYLON_FRAME_LIMIT) {
			*skip = start;
			*flen = i - start + 1;
			return DRV_SCAN_FRAME;
		}
	}
	*skip = start;
	return DRV_SCAN_NEED_MORE;
}

static size_t build_step(enum pylon_variant vid, const struct drv_step *step,
			 unsigned addr, uint8_t *buf, size_t cap)
{
	return step ? pylon_build_request(vid, step->id, addr, buf, cap) : 0;
}

static size_t pylontech_build(const struct drv_step *step, unsigned addr,
			      uint8_t *buf, size_t cap)
{
	return build_step(PYLON_V_PYLONTECH, step, addr, buf, cap);
}

static size_t seplos_build(const struct drv_step *step, unsigned addr,
			   uint8_t *buf, size_t cap)
{
	return build_step(PYLON_V_SEPLOS, step, addr, buf, cap);
}

static size_t pace_build(const struct drv_step *step, unsigned addr,
			 uint8_t *buf, size_t cap)
{
	return build_step(PYLON_V_PACE, step, addr, buf, cap);
}

static enum drv_decode pylontech_decode(const struct drv_step *step,
					unsigned addr, const uint8_t *f,
					size_t len, struct bms_reading *out)
{
	return decode_step(PYLON_V_PYLONTECH, step, addr, f, len, out);
}

static enum drv_decode seplos_decode(const struct drv_step *step, unsigned addr,
				     const uint8_t *f, size_t len,
				     struct bms_reading *out)
{
	return decode_step(PYLON_V_SEPLOS, step, addr, f, len, out);
}

static enum drv_decode pace_decode(const struct drv_step *step, unsigned addr,
				   const uint8_t *f, size_t len,
				   struct bms_reading *out)
{
	return decode_step(PYLON_V_PACE, step, addr, f, len, out);
}

static const struct drv_step pylontech_steps[] = {
	{.id = PYLON_ANALOG, .once = false, .what = "analog values"},
	{.id = PYLON_ALARM, .optional = true, .what = "alarm info"},
	{.id = PYLON_MANUFACTURER, .once = true, .what = "manufacturer info"},
	{.id = PYLON_SERIAL, .once = true, .what = "serial number"},
};

/* The alarm query is optional: a pack that does not answer it is still
 * read (its cells and temperatures are what the protection rules use);
 * its own protection flags are then unknown for that poll. */

/* Seplos v2 has no serial-number command. */
static const struct drv_step seplos_steps[] = {
	{.id = PYLON_ANALOG, .once = false, .what = "analog values"},
	{.id = PYLON_ALARM, .optional = true, .what = "alarm info"},
	{.id = PYLON_MANUFACTURER, .once = true, .what = "manufacturer info"},
};

/* Pace v25 identifies itself by 0xC1 / 0xC2, not 0x51 / 0x93. */
static const struct drv_step pace_steps[] = {
	{.id = PYLON_ANALOG, .once = false, .what = "analog values"},
	{.id = PYLON_ALARM, .optional = true, .what = "status info"},
	{.id = PACE_HWVERSION, .once = true, .what = "hardware version"},
	{.id = PACE_SERIAL, .once = true, .what = "serial number"},
};

/*
 * Timeout: packs answer after 70-500 ms (Seplos documents 500 ms as the
 * limit); the longest single-pack answer (0x42, ~170 characters) takes
 * ~180 ms at 9600 baud, plus up to ~16 ms of USB latency timer. One
 * second covers the slowest pack with margin; the chain retries once.
 * Baud rates are the packs' RS485 defaults (Seplos v2 packs ship at
 * 19200; the 9600 of the EMU10xx document is the older boards').
 */
const struct bms_driver pylontech_driver = {
	.name = "pylontech",
	.default_baud = 9600,
	.default_timeout_ms = 1000,
	.addressed = true,
	.steps = pylontech_steps,
	.nsteps = N(pylontech_steps),
	.build_request = pylontech_build,
	.scan = pylon_scan,
	.decode = pylontech_decode,
	.probe_addr = 1, /* 1 or 2: the capture's US2000 is at 2 */
	.probe_naddrs = 2,
	.stack_step = PYLON_ANALOG,
	.build_stack = pylon_build_stack_request,
	.decode_stack = pylon_decode_stack,
};

const struct bms_driver seplos_driver = {
	.name = "seplos",
	.default_baud = 19200,
	.default_timeout_ms = 1000,
	.addressed = true,
	.steps = seplos_steps,
	.nsteps = N(seplos_steps),
	.build_request = seplos_build,
	.scan = pylon_scan,
	.decode = seplos_decode,
	.alt_baud = 9600, /* the older boards (the EMU10xx document) */
	.probe_addr = 0,  /* a single pack's DIP default */
	.probe_naddrs = 2,
};

const struct bms_driver pace_driver = {
	.name = "pace",
	.default_baud = 9600,
	.default_timeout_ms = 1000,
	.addressed = true,
	.steps = pace_steps,
	.nsteps = N(pace_steps),
	.build_request = pace_build,
	.scan = pylon_scan,
	.decode = pace_decode,
	.probe_addr = 0, /* 0 or 1: the capture's pack is at 1 */
	.probe_naddrs = 2,
};
