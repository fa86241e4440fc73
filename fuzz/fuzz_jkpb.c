/* SPDX-License-Identifier: MIT */
/*
 * fuzz_jkpb.c - libFuzzer target for the JK-PB codec (see fuzz/README.md).
 *
 * The first input byte is the address asked (taken mod 16); the rest is a
 * received byte stream. For both steps of the driver it runs the chain's
 * receive loop (scan; our echo dropped; foreign(); decode; on a malformed
 * frame drop one byte, on a well-formed stray one all of it) and checks
 * the driver's contract. Random bytes almost never pass the sum and the
 * CRC, so the input is also made the body of a correctly framed answer
 * of each type, acknowledged by the address, and decoded as both steps;
 * and the frame parsers run on it directly.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "fuzz_check.h"
#include "jkpb.h"
#include "reading.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reading(const struct bms_reading *r)
{
	require(r->ncells <= BMS_MAX_CELLS);
	require(r->ntemps <= JKPB_TEMPS);
	require((r->have & BMS_HAVE_CELLS) == 0 || r->ncells >= 1);
	require((r->have & BMS_HAVE_BASIC) == 0 ||
		(r->soc >= 0.0 && r->soc <= 100.0 && r->remaining_ah >= 0.0 &&
		 r->cycles >= 0));
	require(isfinite(r->voltage) && isfinite(r->current));
	for (unsigned i = 0; i < r->ntemps; i++)
		require(r->temp_c[i] >= -3276.8 && r->temp_c[i] <= 3276.7);
	require(r->balancer <= BMS_BALANCER_ACTIVE);
	require(r->balancing == 0);
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
	rc = jkpb_driver.decode(step, addr, f, len, &r);
	require(rc == DRV_OK || rc == DRV_ERR_FRAME || rc == DRV_ERR_STATUS ||
		rc == DRV_ERR_UNEXPECTED);
	if (rc == DRV_OK)
		check_reading(&r);
	else
		require(memcmp(&r, &before, sizeof(r)) == 0);
	return rc;
}

/* The chain's loop over one buffer, as the answer to one step. */
static void receive_loop(const struct drv_step *step, unsigned addr,
			 const uint8_t *buf, size_t len)
{
	uint8_t req[JKPB_REQ_LEN];
	size_t reqlen = jkpb_driver.build_request(step, addr, req, sizeof(req));
	size_t pos = 0;

	require(reqlen == JKPB_REQ_LEN);
	while (pos < len) {
		size_t skip = 0, flen = 0;
		enum drv_decode rc;
		const char *why;

		if (jkpb_driver.scan(buf + pos, len - pos, &skip, &flen) ==
		    DRV_SCAN_NEED_MORE) {
			require(skip <= len - pos);
			return;
		}
		require(skip < len - pos && flen >= JKPB_ACK_LEN);
		require(flen <= len - pos - skip && flen <= DRV_MAX_FRAME);
		if (flen == reqlen && !memcmp(buf + pos + skip, req, reqlen)) {
			pos += skip + flen; /* our echo */
			continue;
		}
		why = jkpb_driver.foreign(buf + pos + skip, flen);
		require(!why || strlen(why) > 0);
		rc = decode_one(step, addr, buf + pos + skip, flen);
		/* another master's frame is never a reading */
		require(!why || rc != DRV_OK || addr == 0);
		if (rc == DRV_OK)
			pos += skip + flen;
		else
			pos += skip + (rc == DRV_ERR_UNEXPECTED ? flen : 1);
	}
}

/* The input as the body of a well-framed answer of every type. */
static void wrapped(unsigned addr, const uint8_t *d, size_t n)
{
	static const uint8_t regs[3] = {JKPB_REG_SETTINGS, JKPB_REG_STATUS,
					JKPB_REG_INFO};
	uint8_t f[JKPB_ANSWER_MAX];
	struct jkpb_status st;
	struct jkpb_info in;

	for (unsigned t = 0; t < 3; t++) {
		uint16_t crc;

		memset(f, 0, sizeof(f));
		memcpy(f + 4, d, n < JKPB_FRAME - 5 ? n : JKPB_FRAME - 5);
		memcpy(f, "\x55\xAA\xEB\x90", 4);
		f[4] = (uint8_t)(t + 1);
		f[JKPB_FRAME - 1] = jkpb_sum8(f, JKPB_FRAME - 1);
		memcpy(f + JKPB_FRAME,
		       (const uint8_t[]){(uint8_t)addr, 0x10, 0x16, regs[t],
					 0x00, 0x01},
		       6);
		crc = jkpb_crc16(f + JKPB_FRAME, 6);
		f[JKPB_FRAME + 6] = (uint8_t)crc;
		f[JKPB_FRAME + 7] = (uint8_t)(crc >> 8);
		for (unsigned s = 0; s < jkpb_driver.nsteps; s++)
			decode_one(&jkpb_driver.steps[s], addr, f,
				   JKPB_ANSWER_MIN);
		if (jkpb_parse_status(f, &st) == DRV_OK) {
			struct bms_reading r;

			require(st.ncells >= 1 && st.ncells <= BMS_MAX_CELLS);
			memset(&r, 0, sizeof(r));
			jkpb_status_reading(&st, &r);
			check_reading(&r);
		}
		memset(&in, 0, sizeof(in));
		jkpb_parse_info(f, &in);
		check_text(in.model, sizeof(in.model));
		check_text(in.serial, sizeof(in.serial));
	}
}

/* libFuzzer hands over an exact-size heap copy: ASan sees any overread. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned addr;

	if (size < 1)
		return 0;
	addr = data[0] % (JKPB_MAX_ADDR + 1);
	for (unsigned i = 0; i < jkpb_driver.nsteps; i++)
		receive_loop(&jkpb_driver.steps[i], addr, data + 1, size - 1);
	wrapped(addr, data + 1, size - 1);
	return 0;
}
