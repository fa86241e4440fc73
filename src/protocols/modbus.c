/* SPDX-License-Identifier: MIT */
/*
 * modbus.c - the Modbus RTU codec (see modbus.h). Pure functions over
 * byte buffers: no I/O, no state.
 *
 * Source: "MODBUS Application Protocol Specification V1.1b3" (functions
 * 01, 03, 04, exceptions) and "MODBUS over Serial Line V1.02" (the RTU
 * frame and its CRC), modbus.org.
 */
#include "modbus.h"

#include <string.h>

uint16_t mb_crc16(const uint8_t *p, size_t n)
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

/* The CRC of the n - 2 bytes before it, low byte first. */
static bool crc_ok(const uint8_t *f, size_t n)
{
	uint16_t crc;

	if (n < 4)
		return false;
	crc = mb_crc16(f, n - 2);
	return f[n - 2] == (uint8_t)crc && f[n - 1] == (uint8_t)(crc >> 8);
}

static bool read_fc(uint8_t fc)
{
	return fc == MB_FC_COILS || fc == MB_FC_HOLDING || fc == MB_FC_INPUT;
}

size_t mb_data_len(const struct mb_read *rq)
{
	if (!rq || !read_fc(rq->fc) || rq->count == 0)
		return 0;
	if (rq->fc == MB_FC_COILS)
		return rq->count > MB_MAX_COILS ? 0 : (rq->count + 7u) / 8u;
	return rq->count > MB_MAX_REGS ? 0 : 2u * rq->count;
}

size_t mb_build_read(const struct mb_read *rq, uint8_t *buf, size_t cap)
{
	uint16_t crc;

	if (!buf || cap < MB_REQ_LEN || mb_data_len(rq) == 0 ||
	    rq->addr > MB_MAX_ADDR)
		return 0;
	buf[0] = rq->addr;
	buf[1] = rq->fc;
	buf[2] = (uint8_t)(rq->start >> 8);
	buf[3] = (uint8_t)rq->start;
	buf[4] = (uint8_t)(rq->count >> 8);
	buf[5] = (uint8_t)rq->count;
	crc = mb_crc16(buf, 6);
	buf[6] = (uint8_t)crc;
	buf[7] = (uint8_t)(crc >> 8);
	return MB_REQ_LEN;
}

bool mb_parse_read(const uint8_t *f, size_t len, struct mb_read *out)
{
	struct mb_read rq;

	if (!f || len != MB_REQ_LEN || f[0] > MB_MAX_ADDR || !crc_ok(f, len))
		return false;
	rq.addr = f[0];
	rq.fc = f[1];
	rq.start = (uint16_t)(f[2] << 8 | f[3]);
	rq.count = (uint16_t)(f[4] << 8 | f[5]);
	if (mb_data_len(&rq) == 0)
		return false;
	if (out)
		*out = rq;
	return true;
}

/* The length an answer with byte count bc to function fc has, 0 if no
 * answer has that count (odd for registers, more than the limits). */
static size_t answer_len(uint8_t fc, uint8_t bc)
{
	if (bc == 0)
		return 0;
	if (fc == MB_FC_COILS)
		return bc > (MB_MAX_COILS + 7) / 8 ? 0 : 5u + bc;
	return (bc & 1u) || bc > 2 * MB_MAX_REGS ? 0 : 5u + bc;
}

static bool may_start(const uint8_t *buf, size_t avail)
{
	if (buf[0] > MB_MAX_ADDR)
		return false;
	return avail < 2 || read_fc(buf[1] & (uint8_t)~MB_EXCEPTION);
}

/*
 * The size of the candidate at f, 0 if more bytes are needed. An answer
 * whose CRC holds wins; else a valid request (our echo, another
 * master's); else, once both could be complete, the answer's length (or
 * the request's), for decode to reject.
 */
static size_t frame_size(const uint8_t *f, size_t avail)
{
	size_t a;

	if (avail < 3)
		return 0;
	if (f[1] & MB_EXCEPTION)
		return avail < MB_EXC_LEN ? 0 : MB_EXC_LEN;
	a = answer_len(f[1], f[2]);
	if (a && avail >= a && crc_ok(f, a))
		return a;
	if (avail >= MB_REQ_LEN && mb_parse_read(f, MB_REQ_LEN, NULL))
		return MB_REQ_LEN;
	if (avail < MB_REQ_LEN || avail < a)
		return 0;
	return a ? a : MB_REQ_LEN;
}

enum drv_scan mb_scan(const uint8_t *buf, size_t len, size_t *skip,
		      size_t *flen)
{
	size_t i = 0, n;

	*skip = 0;
	*flen = 0;
	if (!buf)
		return DRV_SCAN_NEED_MORE;
	while (i < len && !may_start(buf + i, len - i))
		i++;
	*skip = i;
	n = frame_size(buf + i, len - i);
	if (n == 0)
		return DRV_SCAN_NEED_MORE;
	*flen = n;
	return DRV_SCAN_FRAME;
}

/* The spare bits of the last coil byte are zero (V1.1b3, 6.1). */
static bool coil_padding_ok(const struct mb_read *rq, const uint8_t *data,
			    size_t n)
{
	unsigned used = rq->count % 8u;

	return used == 0 || (data[n - 1] >> used) == 0;
}

enum drv_decode mb_check_answer(const struct mb_read *rq, const uint8_t *f,
				size_t len, const uint8_t **data, uint8_t *code)
{
	size_t n = mb_data_len(rq);

	if (!f || n == 0 || len < MB_EXC_LEN || !crc_ok(f, len))
		return DRV_ERR_FRAME;
	if (f[0] == rq->addr && f[1] == rq->fc && f[2] == n && len == 5 + n) {
		if (rq->fc == MB_FC_COILS && !coil_padding_ok(rq, f + 3, n))
			return DRV_ERR_FRAME;
		if (data)
			*data = f + 3;
		return DRV_OK;
	}
	if (mb_parse_read(f, len, NULL))
		return DRV_ERR_UNEXPECTED; /* a request: an echo, a master's */
	if (f[1] & MB_EXCEPTION) {
		if (len != MB_EXC_LEN)
			return DRV_ERR_FRAME;
		if (f[0] != rq->addr || f[1] != (rq->fc | MB_EXCEPTION))
			return DRV_ERR_UNEXPECTED;
		if (code)
			*code = f[2];
		return DRV_ERR_STATUS;
	}
	if (f[0] == rq->addr && f[1] == rq->fc)
		return DRV_ERR_FRAME; /* our answer with another length */
	/* someone else's answer, whole, or not a frame at all */
	return len == answer_len(f[1], f[2]) ? DRV_ERR_UNEXPECTED
					     : DRV_ERR_FRAME;
}

uint16_t mb_u16(const uint8_t *data, unsigned i)
{
	return (uint16_t)(data[2 * i] << 8 | data[2 * i + 1]);
}

int16_t mb_s16(const uint8_t *data, unsigned i)
{
	return (int16_t)mb_u16(data, i);
}

bool mb_bit(const uint8_t *data, unsigned i)
{
	return (data[i / 8] >> (i % 8)) & 1u;
}
