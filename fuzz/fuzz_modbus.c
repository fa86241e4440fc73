/* SPDX-License-Identifier: MIT */
/*
 * fuzz_modbus.c - libFuzzer target for the Modbus RTU codec (see
 * fuzz/README.md).
 *
 * The first four input bytes are a read request (address, function,
 * count) to check answers against; the rest is a received byte stream,
 * walked as the chain walks it (scan; decode; drop one byte of a
 * malformed frame, all of a well-formed stray one). Checked: scan stays
 * in the buffer and makes progress; an accepted answer is the request's
 * address and function with exactly the data the request asks for, a
 * valid CRC, and its data inside the frame; a refusal is 5 bytes. The
 * input is also framed with a correct CRC, so the length and count checks
 * are reached.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "fuzz_check.h"
#include "modbus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_one(const struct mb_read *rq, const uint8_t *f, size_t len)
{
	const uint8_t *d = NULL;
	uint8_t code = 0;
	enum drv_decode rc = mb_check_answer(rq, f, len, &d, &code);
	size_t n = mb_data_len(rq);

	require(rc == DRV_OK || rc == DRV_ERR_FRAME || rc == DRV_ERR_STATUS ||
		rc == DRV_ERR_UNEXPECTED);
	if (rc == DRV_OK) {
		uint16_t crc = mb_crc16(f, len - 2);

		require(n > 0 && len == n + 5 && d == f + 3);
		require(f[0] == rq->addr && f[1] == rq->fc && f[2] == n);
		require(f[len - 2] == (uint8_t)crc &&
			f[len - 1] == (uint8_t)(crc >> 8));
		for (unsigned i = 0; rq->fc == MB_FC_COILS && i < rq->count;
		     i++)
			(void)mb_bit(d, i);
		for (unsigned i = 0; rq->fc != MB_FC_COILS && i < rq->count;
		     i++)
			(void)mb_s16(d, i);
	}
	if (rc == DRV_ERR_STATUS)
		require(len == MB_EXC_LEN && f[0] == rq->addr &&
			f[1] == (rq->fc | MB_EXCEPTION) && code == f[2]);
}

static void receive_loop(const struct mb_read *rq, const uint8_t *buf,
			 size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		size_t skip = 0, flen = 0;
		enum drv_decode rc;

		if (mb_scan(buf + pos, len - pos, &skip, &flen) ==
		    DRV_SCAN_NEED_MORE) {
			require(skip <= len - pos);
			return;
		}
		require(skip < len - pos && flen >= MB_EXC_LEN);
		require(flen <= len - pos - skip && flen <= DRV_MAX_FRAME);
		check_one(rq, buf + pos + skip, flen);
		rc = mb_check_answer(rq, buf + pos + skip, flen, NULL, NULL);
		if (rc == DRV_OK || rc == DRV_ERR_STATUS)
			pos += skip + flen;
		else
			pos += skip + (rc == DRV_ERR_UNEXPECTED ? flen : 1);
	}
}

/* The input after a head ADDR FC COUNT, with a valid CRC. */
static void framed(const struct mb_read *rq, const uint8_t *d, size_t n)
{
	uint8_t f[300];
	uint16_t crc;

	if (n > sizeof(f) - 5)
		n = sizeof(f) - 5;
	f[0] = rq->addr;
	f[1] = rq->fc;
	f[2] = (uint8_t)n;
	memcpy(f + 3, d, n);
	crc = mb_crc16(f, 3 + n);
	f[3 + n] = (uint8_t)crc;
	f[4 + n] = (uint8_t)(crc >> 8);
	check_one(rq, f, 5 + n);
	/* and as a request */
	if (n >= 4) {
		struct mb_read back;

		memcpy(f + 2, d, 4);
		crc = mb_crc16(f, 6);
		f[6] = (uint8_t)crc;
		f[7] = (uint8_t)(crc >> 8);
		if (mb_parse_read(f, MB_REQ_LEN, &back)) {
			uint8_t again[MB_REQ_LEN];

			require(mb_data_len(&back) > 0);
			require(mb_build_read(&back, again, sizeof(again)) ==
					MB_REQ_LEN ||
				back.addr > MB_MAX_ADDR);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t fcs[3] = {MB_FC_COILS, MB_FC_HOLDING, MB_FC_INPUT};
	struct mb_read rq;
	uint8_t req[MB_REQ_LEN];

	if (size < 4)
		return 0;
	rq.addr = data[0];
	rq.fc = fcs[data[1] % 3];
	rq.start = 0x1000;
	rq.count = (uint16_t)(data[2] << 8 | data[3]);
	if (mb_build_read(&rq, req, sizeof(req)) == 0) {
		require(mb_data_len(&rq) == 0 || rq.addr > MB_MAX_ADDR);
		rq.count = 1 + data[3] % 125;
		rq.addr = data[0] % (MB_MAX_ADDR + 1);
	}
	require(mb_build_read(&rq, req, sizeof(req)) == MB_REQ_LEN);
	require(mb_parse_read(req, sizeof(req), NULL));
	receive_loop(&rq, data + 4, size - 4);
	framed(&rq, data + 4, size - 4);
	return 0;
}
