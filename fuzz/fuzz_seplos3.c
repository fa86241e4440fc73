/* SPDX-License-Identifier: MIT */
/*
 * fuzz_seplos3.c - libFuzzer target for the Seplos v3 driver (see
 * fuzz/README.md).
 *
 * The first input byte is the address asked (taken mod 16); the rest is a
 * received byte stream, decoded as the answer to every step of the driver
 * in the chain's loop (scan; our echo dropped; decode; drop one byte of a
 * malformed frame, all of a well-formed stray one). Random bytes almost
 * never pass the CRC, so the input is also made the data of a correctly
 * framed answer to each step. Checked: the result codes, a refused or
 * rejected frame leaves the reading untouched, an accepted one keeps the
 * reading's bounds (cells 1-16, temperatures none or 3 to 8 and within
 * what 16 bits of 0.1 K can say, SoC 0-100, printable text).
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "fuzz_check.h"
#include "modbus.h"
#include "reading.h"
#include "seplos3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reading(const struct bms_reading *r)
{
	require(r->ncells <= SEPLOS3_CELLS);
	require(r->ntemps <= BMS_MAX_TEMPS);
	require((r->have & BMS_HAVE_CELLS) == 0 || r->ncells >= 1);
	/* No cell sensor: no temperature at all (the board sensors never
	 * stand for the cells); else the cell sensors, the environment and
	 * the power sensor: at least 3. */
	require((r->have & BMS_HAVE_TEMPS) == 0 || r->ntemps == 0 ||
		r->ntemps >= 3);
	require((r->have & BMS_HAVE_BASIC) == 0 ||
		(r->soc >= 0.0 && r->soc <= 100.0 && r->remaining_ah >= 0.0 &&
		 r->cycles >= 0));
	require(isfinite(r->voltage) && isfinite(r->current));
	for (unsigned i = 0; i < r->ntemps; i++)
		require(r->temp_c[i] >= -273.15 && r->temp_c[i] <= 6280.5);
	require((r->protection & ~((1u << BMS_PROT_COUNT) - 1)) == 0);
	check_text(r->model, sizeof(r->model));
	check_text(r->serial, sizeof(r->serial));
	check_text(r->firmware, sizeof(r->firmware));
}

static enum drv_decode decode_one(const struct drv_step *step, unsigned addr,
				  const uint8_t *f, size_t len)
{
	struct bms_reading r, before;
	enum drv_decode rc;

	memset(&r, 0, sizeof(r));
	memcpy(&before, &r, sizeof(r));
	rc = seplos3_driver.decode(step, addr, f, len, &r);
	require(rc == DRV_OK || rc == DRV_ERR_FRAME || rc == DRV_ERR_STATUS ||
		rc == DRV_ERR_UNEXPECTED);
	if (rc == DRV_OK)
		check_reading(&r);
	else
		require(memcmp(&r, &before, sizeof(r)) == 0);
	return rc;
}

static void receive_loop(const struct drv_step *step, unsigned addr,
			 const uint8_t *buf, size_t len)
{
	uint8_t req[MB_REQ_LEN];
	size_t reqlen =
		seplos3_driver.build_request(step, addr, req, sizeof(req));
	size_t pos = 0;

	require(reqlen == MB_REQ_LEN);
	while (pos < len) {
		size_t skip = 0, flen = 0;
		enum drv_decode rc;

		if (seplos3_driver.scan(buf + pos, len - pos, &skip, &flen) ==
		    DRV_SCAN_NEED_MORE) {
			require(skip <= len - pos);
			return;
		}
		require(skip < len - pos && flen >= MB_EXC_LEN);
		require(flen <= len - pos - skip && flen <= DRV_MAX_FRAME);
		if (flen == reqlen && !memcmp(buf + pos + skip, req, reqlen)) {
			pos += skip + flen; /* our echo */
			continue;
		}
		rc = decode_one(step, addr, buf + pos + skip, flen);
		if (rc == DRV_OK || rc == DRV_ERR_STATUS)
			pos += skip + flen;
		else
			pos += skip + (rc == DRV_ERR_UNEXPECTED ? flen : 1);
	}
}

/* The input as the data of a well-framed answer to step. */
static void wrapped(const struct drv_step *step, unsigned addr,
		    const uint8_t *d, size_t n)
{
	struct mb_read rq;
	uint8_t f[5 + 2 * MB_MAX_REGS];
	size_t want;
	uint16_t crc;

	require(seplos3_request(step, addr, &rq) == 0);
	want = mb_data_len(&rq);
	memset(f, 0, sizeof(f));
	f[0] = (uint8_t)addr;
	f[1] = rq.fc;
	f[2] = (uint8_t)want;
	memcpy(f + 3, d, n < want ? n : want);
	crc = mb_crc16(f, 3 + want);
	f[3 + want] = (uint8_t)crc;
	f[4 + want] = (uint8_t)(crc >> 8);
	decode_one(step, addr, f, 5 + want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned addr;

	if (size < 1)
		return 0;
	addr = data[0] % (SEPLOS3_MAX_ADDR + 1);
	for (unsigned i = 0; i < seplos3_driver.nsteps; i++) {
		receive_loop(&seplos3_driver.steps[i], addr, data + 1,
			     size - 1);
		wrapped(&seplos3_driver.steps[i], addr, data + 1, size - 1);
	}
	return 0;
}
