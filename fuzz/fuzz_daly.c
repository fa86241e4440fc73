/* SPDX-License-Identifier: MIT */
/*
 * fuzz_daly.c - libFuzzer target for the Daly ("A5") codec (see
 * fuzz/README.md).
 *
 * The input is a received byte stream. It runs one poll as the chain does
 * for an accumulating driver: the steps in the driver's order, each
 * decoded with the poll's reading so far (scan; decode; on a malformed
 * frame drop one byte, on a well-formed stray one all of it; DRV_MORE
 * keeps the reading and goes on with the next frame), and checks the
 * driver's contract after every frame: a rejected frame leaves the
 * reading as it was, a taken one leaves a reading within bounds, and a
 * step is complete only when every counted cell / sensor has its value.
 * The input is also cut into 9-byte pieces (a data id chosen by the first
 * byte, then 8 data bytes) framed with a correct checksum, so that the
 * decoders behind the checksum are reached on every run.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daly.h"
#include "driver.h"
#include "fuzz_check.h"
#include "reading.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reading(const struct bms_reading *r)
{
	require(r->ncells <= BMS_MAX_CELLS && r->ntemps <= BMS_MAX_TEMPS);
	require((r->have & BMS_HAVE_BASIC) == 0 ||
		(r->soc >= 0.0 && r->soc <= 100.0 && isfinite(r->voltage) &&
		 isfinite(r->current)));
	require(r->remaining_ah >= 0.0);
	require(isnan(r->nominal_ah) || r->nominal_ah >= 0.0);
	if (r->have & BMS_HAVE_CELLS) {
		require(r->ncells >= 1);
		for (unsigned i = 0; i < r->ncells; i++)
			require(r->cell_v[i] >= 0.0 && r->cell_v[i] <= 65.535);
	}
	if (r->have & BMS_HAVE_TEMPS)
		for (unsigned i = 0; i < r->ntemps; i++)
			require(r->temp_c[i] >= -40.0 && r->temp_c[i] <= 215.0);
	require(r->direction <= BMS_DIR_DISCHARGING);
	require((r->protection & ~((1u << BMS_PROT_COUNT) - 1)) == 0);
}

/* One frame as the answer to step, with the poll so far in *r. */
static enum drv_decode decode_one(const struct drv_step *step, const uint8_t *f,
				  size_t len, struct bms_reading *r)
{
	struct bms_reading before = *r;
	enum drv_decode rc = daly_driver.decode(step, 0, f, len, r);

	require(rc == DRV_OK || rc == DRV_MORE || rc == DRV_ERR_FRAME ||
		rc == DRV_ERR_STATUS || rc == DRV_ERR_UNEXPECTED);
	if (rc == DRV_OK || rc == DRV_MORE)
		check_reading(r);
	else
		require(memcmp(r, &before, sizeof(*r)) == 0);
	/* 0x95 / 0x96 are complete only with every value */
	if (rc == DRV_OK && step->id == DALY_ID_CELLS)
		for (unsigned i = 0; i < r->ncells; i++)
			require(!isnan(r->cell_v[i]));
	if (rc == DRV_OK && step->id == DALY_ID_TEMPS)
		for (unsigned i = 0; i < r->ntemps; i++)
			require(!isnan(r->temp_c[i]));
	if (rc == DRV_MORE)
		require(step->id == DALY_ID_CELLS || step->id == DALY_ID_TEMPS);
	return rc;
}

/* The chain's loop: the bytes as the answers of one poll, in order. */
static void receive_poll(const uint8_t *buf, size_t len)
{
	struct bms_reading r;
	unsigned s = 0;
	size_t pos = 0;

	memset(&r, 0, sizeof(r));
	while (pos < len && s < daly_driver.nsteps) {
		size_t skip = 0, flen = 0;
		enum drv_decode rc;

		if (daly_driver.scan(buf + pos, len - pos, &skip, &flen) ==
		    DRV_SCAN_NEED_MORE) {
			require(skip <= len - pos);
			return;
		}
		require(flen == DALY_FRAME_LEN && skip + flen <= len - pos);
		require(buf[pos + skip] == DALY_START);
		rc = decode_one(&daly_driver.steps[s], buf + pos + skip, flen,
				&r);
		if (rc == DRV_OK || rc == DRV_ERR_STATUS)
			s++; /* the next step (a refused one fails) */
		pos += skip + (rc == DRV_ERR_FRAME ? 1 : flen);
	}
}

/* 9-byte pieces framed with a correct checksum: the id is the step the
 * first byte selects, so the poll's steps are answered in any order. */
static void framed(const uint8_t *d, size_t n)
{
	struct bms_reading r;

	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i + 9 <= n; i += 9) {
		const struct drv_step *st =
			&daly_driver.steps[d[i] % daly_driver.nsteps];
		uint8_t f[DALY_FRAME_LEN];

		f[0] = DALY_START;
		f[1] = DALY_BMS_ADDR;
		f[2] = st->id;
		f[3] = 8;
		memcpy(f + 4, d + i + 1, 8);
		f[12] = daly_sum(f, 12);
		(void)decode_one(st, f, sizeof(f), &r);
	}
}

/* libFuzzer hands over an exact-size heap copy: ASan sees any overread. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	receive_poll(data, size);
	framed(data, size);
	return 0;
}
