/* SPDX-License-Identifier: MIT */
/*
 * jbd.c - JBD "general protocol" codec: read requests, frame validation,
 * the payload decoders of registers 0x03 / 0x04 / 0x05 and the driver
 * table. Pure functions over byte buffers: no I/O, no state.
 *
 * Frame layout (request and response share it):
 *   [0] 0xDD  [1] 0xA5 (request) or reg (response)  [2] reg or status
 *   [3] len   [4 .. 4+len) data  [4+len] chk_hi  [5+len] chk_lo  [6+len] 0x77
 * The checksum covers bytes [2 .. 4+len): the register and length in a
 * request, the status and length in a response (the response's register
 * byte is NOT covered: see the vendor's examples in tests/data). So the
 * echo of our own request is a well-formed frame with "register" 0xA5.
 */
#include "jbd.h"

#include <string.h>

#define JBD_WRITE   0x5A
#define JBD_HDR     4 /* DD reg status len */
#define JBD_TRAILER 3 /* chk_hi chk_lo 77 */

/* Offsets in the register 0x03 payload; 16-bit values are big-endian. */
enum {
	BASIC_VOLTAGE = 0,  /* 10 mV */
	BASIC_CURRENT = 2,  /* signed 10 mA, + = charging */
	BASIC_REMAIN = 4,   /* 10 mAh */
	BASIC_NOMINAL = 6,  /* 10 mAh */
	BASIC_CYCLES = 8,   /* count */
	BASIC_DATE = 10,    /* year-2000 << 9 | month << 5 | day */
	BASIC_BAL_LO = 12,  /* cells 1-16 balancing */
	BASIC_BAL_HI = 14,  /* cells 17-32 balancing */
	BASIC_PROT = 16,    /* protection word */
	BASIC_VERSION = 18, /* firmware, 0x10 = 1.0 */
	BASIC_RSOC = 19,    /* % */
	BASIC_FET = 20,     /* bit 0 charge, bit 1 discharge */
	BASIC_CELLS = 21,   /* cells in series */
	BASIC_NTC = 22,     /* NTC count, then 0.1 K values */
	BASIC_FIXED = 23,   /* bytes before the NTC values */
};

#define JBD_FET_CHARGE    0x01
#define JBD_FET_DISCHARGE 0x02
#define JBD_KELVIN_OFFSET 2731 /* 0.1 K */
#define JBD_MODEL_BADCHAR '?'

/* JBD protection bit n -> normalised flag; bits 13-15 stay raw only. */
static const uint32_t jbd_prot_map[] = {
	BMS_PROT_CELL_OV, BMS_PROT_CELL_UV, BMS_PROT_PACK_OV, BMS_PROT_PACK_UV,
	BMS_PROT_CHG_OT,  BMS_PROT_CHG_UT,  BMS_PROT_DSG_OT,  BMS_PROT_DSG_UT,
	BMS_PROT_CHG_OC,  BMS_PROT_DSG_OC,  BMS_PROT_SHORT,   BMS_PROT_AFE,
	BMS_PROT_LOCK,
};
#define JBD_PROT_BITS (sizeof(jbd_prot_map) / sizeof(jbd_prot_map[0]))

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

uint16_t jbd_checksum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += p[i];
	return (uint16_t)(0x10000u - (sum & 0xffffu));
}

size_t jbd_build_read(uint8_t reg, uint8_t *buf, size_t cap)
{
	uint16_t chk;

	if (!buf || cap < JBD_REQ_LEN)
		return 0;
	buf[0] = JBD_START;
	buf[1] = JBD_READ;
	buf[2] = reg;
	buf[3] = 0;
	chk = jbd_checksum(buf + 2, 2);
	buf[4] = (uint8_t)(chk >> 8);
	buf[5] = (uint8_t)(chk & 0xff);
	buf[6] = JBD_END;
	return JBD_REQ_LEN;
}

/* Framing only: start, exact size from the length byte, checksum, end. */
static bool jbd_frame_ok(const uint8_t *f, size_t len)
{
	size_t dlen;

	if (!f || len < JBD_MIN_FRAME || f[0] != JBD_START)
		return false;
	dlen = f[3];
	if (len != JBD_HDR + dlen + JBD_TRAILER || f[len - 1] != JBD_END)
		return false;
	return get16(f + JBD_HDR + dlen) == jbd_checksum(f + 2, 2 + dlen);
}

/*
 * *reg is set whenever the framing is valid (even for a status error), so
 * the caller can tell an error answer to its request from a stray frame.
 */
enum drv_decode jbd_check_frame(const uint8_t *f, size_t len, uint8_t *reg,
				const uint8_t **data, size_t *dlen)
{
	if (!jbd_frame_ok(f, len))
		return DRV_ERR_FRAME;
	if (reg)
		*reg = f[1];
	if (f[1] == JBD_READ || f[1] == JBD_WRITE)
		return DRV_ERR_UNEXPECTED; /* our own request, echoed by RS485 */
	if (f[2] != 0x00)
		return DRV_ERR_STATUS;
	if (data)
		*data = f + JBD_HDR;
	if (dlen)
		*dlen = f[3];
	return DRV_OK;
}

static bool is_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* v in decimal at p, zero-padded to width; returns the end. Not snprintf:
 * this runs on every basic-info answer, where formatting was most of the
 * codec's cost (#18). */
static char *put_decimal(char *p, unsigned v, unsigned width)
{
	char tmp[10];
	unsigned n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10u);
		v /= 10u;
	} while (v && n < sizeof(tmp));
	while (n < width && n < sizeof(tmp))
		tmp[n++] = '0';
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* "YYYY-MM-DD", or "" when the packed date is not a real calendar day. */
static void jbd_date(uint16_t v, char out[11])
{
	static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30,
						31, 31, 30, 31, 30, 31};
	unsigned y = 2000u + (v >> 9);
	unsigned m = (v >> 5) & 0x0fu;
	unsigned d = v & 0x1fu;

	out[0] = '\0';
	if (m < 1 || m > 12 || d < 1)
		return;
	if (d > mdays[m - 1] + (m == 2 && is_leap(y) ? 1u : 0u))
		return;
	/* y <= 2127, m <= 12, d <= 31: always exactly 10 characters. */
	out = put_decimal(out, y, 4);
	*out++ = '-';
	out = put_decimal(out, m, 2);
	*out++ = '-';
	out = put_decimal(out, d, 2);
	*out = '\0';
}

static uint32_t jbd_protection(uint16_t raw)
{
	uint32_t p = 0;

	for (size_t i = 0; i < JBD_PROT_BITS; i++)
		if (raw & (1u << i))
			p |= jbd_prot_map[i];
	return p;
}

static void basic_values(const uint8_t *d, struct bms_reading *r)
{
	r->voltage = get16(d + BASIC_VOLTAGE) / 100.0;
	r->current = (int16_t)get16(d + BASIC_CURRENT) / 100.0;
	r->remaining_ah = get16(d + BASIC_REMAIN) / 100.0;
	r->nominal_ah = get16(d + BASIC_NOMINAL) / 100.0;
	r->cycles = get16(d + BASIC_CYCLES);
	r->soc = d[BASIC_RSOC];
	jbd_date(get16(d + BASIC_DATE), r->manufactured);
	r->balancing = (uint32_t)get16(d + BASIC_BAL_HI) << 16 |
		       get16(d + BASIC_BAL_LO);
}

static void basic_status(const uint8_t *d, struct bms_reading *r)
{
	uint8_t v = d[BASIC_VERSION];
	char *p = r->firmware;

	r->protection_raw = get16(d + BASIC_PROT);
	r->protection = jbd_protection(get16(d + BASIC_PROT));
	r->charge_fet = (d[BASIC_FET] & JBD_FET_CHARGE) != 0;
	r->discharge_fet = (d[BASIC_FET] & JBD_FET_DISCHARGE) != 0;
	/* "15.15" at the most: 6 bytes with its NUL. */
	_Static_assert(sizeof(r->firmware) >= 6, "firmware field too small");
	p = put_decimal(p, v >> 4u, 1);
	*p++ = '.';
	p = put_decimal(p, v & 0x0fu, 1);
	*p = '\0';
}

static void basic_temps(const uint8_t *d, unsigned ntc, struct bms_reading *r)
{
	r->ntemps = ntc;
	for (unsigned i = 0; i < BMS_MAX_TEMPS; i++) {
		int raw = i < ntc ? get16(d + BASIC_FIXED + 2 * i) : 0;

		r->temp_c[i] = i < ntc ? (raw - JBD_KELVIN_OFFSET) / 10.0 : 0.0;
	}
}

/*
 * Everything is validated before the reading is touched, so a rejected
 * payload never leaves half-updated data behind. The basic-info cell count
 * is only range-checked: the cells themselves come from register 0x04.
 */
enum drv_decode jbd_parse_basic(const uint8_t *d, size_t n,
				struct bms_reading *r)
{
	unsigned ntc;

	if (!d || !r || n < BASIC_FIXED)
		return DRV_ERR_FRAME;
	ntc = d[BASIC_NTC];
	if (d[BASIC_CELLS] > BMS_MAX_CELLS || ntc > BMS_MAX_TEMPS)
		return DRV_ERR_FRAME;
	if (n < BASIC_FIXED + 2u * ntc)
		return DRV_ERR_FRAME;
	if (d[BASIC_RSOC] > 100)
		return DRV_ERR_FRAME; /* no real pack reports this */
	basic_values(d, r);
	basic_status(d, r);
	basic_temps(d, ntc, r);
	r->have |= BMS_HAVE_BASIC | BMS_HAVE_TEMPS | BMS_HAVE_PROTECTION |
		   BMS_HAVE_FIRMWARE;
	return DRV_OK;
}

enum drv_decode jbd_parse_cells(const uint8_t *d, size_t n,
				struct bms_reading *r)
{
	unsigned ncells;

	if (!d || !r || n < 2 || n % 2 != 0 || n > 2 * BMS_MAX_CELLS)
		return DRV_ERR_FRAME;
	ncells = (unsigned)(n / 2);
	r->ncells = ncells;
	for (unsigned i = 0; i < BMS_MAX_CELLS; i++)
		r->cell_v[i] = i < ncells ? get16(d + 2 * i) / 1000.0 : 0.0;
	r->have |= BMS_HAVE_CELLS;
	return DRV_OK;
}

/*
 * Register 0x05 is a plain ASCII string in the vendor's protocol document
 * ("DD 05 00 0A 30 31 ... 39") and in esphome-jbd-bms; bms-tools documents
 * a leading length byte instead. A first byte equal to the number of bytes
 * after it is taken as that length prefix (a plain name would need 33+
 * characters starting with the matching character to be misread).
 * Trailing NUL / space padding is dropped. Any other non-printable byte is
 * replaced by '?', not rejected: the frame is checksummed, the name is for
 * display only, and rejecting it would fail the battery's poll forever.
 * The result is truncated to BMS_TEXT_LEN - 1 characters.
 */
enum drv_decode jbd_parse_model(const uint8_t *d, size_t n,
				struct bms_reading *r)
{
	size_t out = 0;

	if (!r || (!d && n > 0))
		return DRV_ERR_FRAME;
	if (n >= 1 && d[0] == n - 1) {
		d++;
		n--;
	}
	while (n > 0 && (d[n - 1] == 0x00 || d[n - 1] == ' '))
		n--;
	for (size_t i = 0; i < n && out < BMS_TEXT_LEN - 1; i++) {
		uint8_t c = d[i];

		r->model[out++] =
			c >= 0x20 && c < 0x7f ? (char)c : JBD_MODEL_BADCHAR;
	}
	r->model[out] = '\0';
	r->have |= BMS_HAVE_MODEL;
	return DRV_OK;
}

static size_t jbd_build_request(const struct drv_step *step, unsigned addr,
				uint8_t *buf, size_t cap)
{
	if (!step)
		return 0;
	return jbd_build_read(step->id, buf, cap);
}

/* Offset of the first start byte at or after from, or len. */
static size_t next_start(const uint8_t *buf, size_t len, size_t from)
{
	while (from < len && buf[from] != JBD_START)
		from++;
	return from;
}

/*
 * A start byte in garbage followed by a large length byte would make us
 * wait for up to 262 bytes while the real answer sits behind it. So while
 * the first candidate is incomplete, a later candidate that is complete
 * and passes the framing and checksum checks is returned instead.
 */
static bool later_frame(const uint8_t *buf, size_t len, size_t from,
			size_t *skip, size_t *flen)
{
	for (size_t i = next_start(buf, len, from + 1); i < len;
	     i = next_start(buf, len, i + 1)) {
		size_t n;

		if (len - i < JBD_HDR)
			return false;
		n = JBD_HDR + (size_t)buf[i + 3] + JBD_TRAILER;
		if (n <= len - i && jbd_frame_ok(buf + i, n)) {
			*skip = i;
			*flen = n;
			return true;
		}
	}
	return false;
}

static enum drv_scan jbd_scan(const uint8_t *buf, size_t len, size_t *skip,
			      size_t *flen)
{
	size_t i = buf ? next_start(buf, len, 0) : 0;
	size_t n;

	*skip = i;
	*flen = 0;
	if (!buf || len - i < JBD_HDR)
		return DRV_SCAN_NEED_MORE;
	n = JBD_HDR + (size_t)buf[i + 3] + JBD_TRAILER;
	if (n <= len - i) {
		*flen = n;
		return DRV_SCAN_FRAME;
	}
	if (later_frame(buf, len, i, skip, flen))
		return DRV_SCAN_FRAME;
	return DRV_SCAN_NEED_MORE;
}

static enum drv_decode jbd_decode(const struct drv_step *step, unsigned addr,
				  const uint8_t *frame, size_t len,
				  struct bms_reading *out)
{
	const uint8_t *data = NULL;
	size_t dlen = 0;
	uint8_t reg = 0;
	enum drv_decode rc;

	if (!step || !out)
		return DRV_ERR_UNEXPECTED;
	rc = jbd_check_frame(frame, len, &reg, &data, &dlen);
	if (rc == DRV_ERR_FRAME || rc == DRV_ERR_UNEXPECTED)
		return rc;
	/* An error answer to another request is not ours to report. */
	if (reg != step->id)
		return DRV_ERR_UNEXPECTED;
	if (rc != DRV_OK)
		return rc;
	switch (reg) {
	case JBD_REG_BASIC:
		return jbd_parse_basic(data, dlen, out);
	case JBD_REG_CELLS:
		return jbd_parse_cells(data, dlen, out);
	case JBD_REG_MODEL:
		return jbd_parse_model(data, dlen, out);
	default:
		return DRV_ERR_UNEXPECTED;
	}
}

static const struct drv_step jbd_steps[] = {
	{.id = JBD_REG_BASIC, .once = false, .what = "basic info"},
	{.id = JBD_REG_CELLS, .once = false, .what = "cell voltages"},
	{.id = JBD_REG_MODEL, .once = true, .what = "model"},
};

/*
 * Timeout: slow packs answer after 0.2-0.5 s; the longest answer (0x03 with
 * 8 NTCs and vendor extras, or 0x04 with 32 cells, ~75 bytes) takes ~80 ms
 * at 9600 baud, and USB-serial adapters add up to ~16 ms of latency timer.
 * 750 ms covers the slowest pack with margin while a dead pack is still
 * noticed (and retried once by the chain) well within a second.
 */
const struct bms_driver jbd_driver = {
	.name = "jbd",
	.default_baud = 9600,
	.default_timeout_ms = 750,
	.addressed = false,
	.steps = jbd_steps,
	.nsteps = sizeof(jbd_steps) / sizeof(jbd_steps[0]),
	.build_request = jbd_build_request,
	.scan = jbd_scan,
	.decode = jbd_decode,
};
