/* SPDX-License-Identifier: MIT */
/*
 * fuzz_jk.c - libFuzzer target for the JK legacy ("4E 57") codec (see
 * fuzz/README.md).
 *
 * The input is a received byte stream. For both steps of the driver it
 * runs the chain's receive loop (scan; decode; on a malformed frame drop
 * one byte, on a well-formed stray one all of it) and checks the driver's
 * contract. Random bytes almost never pass the 16-bit sum, so the input
 * is also wrapped as the item list of a correctly framed answer and
 * decoded as both steps, and the item walk runs on it directly.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "fuzz_check.h"
#include "jk.h"
#include "reading.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reading(const struct bms_reading *r)
{
	require(r->ncells <= BMS_MAX_CELLS);
	require(r->ntemps <= JK_TEMP_SENSORS);
	require((r->have & BMS_HAVE_BASIC) == 0 ||
		(r->soc >= 0.0 && r->soc <= 100.0));
	require(isfinite(r->voltage) && isfinite(r->current));
	require(r->remaining_ah >= 0.0 && r->nominal_ah >= 0.0);
	require((r->have & BMS_HAVE_CELLS) == 0 || r->ncells >= 1);
	for (unsigned i = 0; i < r->ncells; i++)
		require(r->cell_v[i] >= 0.0 && r->cell_v[i] <= 65.535);
	for (unsigned i = 0; i < r->ntemps; i++)
		require(r->temp_c[i] >= -65435.0 && r->temp_c[i] <= 100.0);
	require(r->balancer <= BMS_BALANCER_ACTIVE);
	require(r->balancing == 0);
	require((r->protection & ~((1u << BMS_PROT_COUNT) - 1)) == 0);
	check_text(r->model, sizeof(r->model));
	check_text(r->serial, sizeof(r->serial));
	check_text(r->firmware, sizeof(r->firmware));
}

static void decode_one(const struct drv_step *step, const uint8_t *f,
		       size_t len, enum drv_decode *out)
{
	struct bms_reading r, before;
	enum drv_decode rc;

	memset(&r, 0, sizeof(r));
	memcpy(&before, &r, sizeof(r));
	rc = jk_driver.decode(step, 0, f, len, &r);
	require(rc == DRV_OK || rc == DRV_ERR_FRAME || rc == DRV_ERR_STATUS ||
		rc == DRV_ERR_UNEXPECTED);
	if (rc == DRV_OK)
		check_reading(&r);
	else
		require(memcmp(&r, &before, sizeof(r)) == 0);
	if (out)
		*out = rc;
}

/* The chain's loop over one buffer, as the answer to one step. */
static void receive_loop(const struct drv_step *step, const uint8_t *buf,
			 size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		size_t skip = 0, flen = 0;
		enum drv_decode rc;

		if (jk_driver.scan(buf + pos, len - pos, &skip, &flen) ==
		    DRV_SCAN_NEED_MORE) {
			require(skip <= len - pos);
			return;
		}
		require(skip < len - pos && flen >= 4);
		require(flen <= len - pos - skip && flen <= DRV_MAX_FRAME);
		require(buf[pos + skip] == JK_START0);
		decode_one(step, buf + pos + skip, flen, &rc);
		if (rc == DRV_OK)
			pos += skip + flen;
		else
			pos += skip + (rc == DRV_ERR_UNEXPECTED ? flen : 1);
	}
}

/* The input as the items of a well-framed answer. */
static void wrapped(const uint8_t *d, size_t n)
{
	static uint8_t f[JK_MAX_FRAME];
	size_t len;
	uint16_t sum;

	if (n > JK_MAX_FRAME - JK_MIN_FRAME)
		n = JK_MAX_FRAME - JK_MIN_FRAME;
	len = JK_HDR + n + JK_TRAILER;
	memset(f, 0, len);
	f[0] = JK_START0;
	f[1] = JK_START1;
	f[2] = (uint8_t)((len - 2) >> 8);
	f[3] = (uint8_t)(len - 2);
	f[8] = JK_CMD_READ_ALL;
	f[10] = JK_TYPE_ANSWER;
	memcpy(f + JK_HDR, d, n);
	f[len - 5] = JK_END;
	sum = jk_sum(f, len - 2);
	f[len - 2] = (uint8_t)(sum >> 8);
	f[len - 1] = (uint8_t)sum;
	for (unsigned i = 0; i < jk_driver.nsteps; i++)
		decode_one(&jk_driver.steps[i], f, len, NULL);
}

static void items_direct(const uint8_t *d, size_t n)
{
	struct jk_items it, before;
	struct bms_reading r;

	memset(&it, 0x5a, sizeof(it));
	memcpy(&before, &it, sizeof(it));
	if (jk_parse_items(d, n, &it) != DRV_OK) {
		require(memcmp(&it, &before, sizeof(it)) == 0);
		return;
	}
	require(it.ncells >= 1 && it.ncells <= BMS_MAX_CELLS);
	require(it.soc <= 100 && it.protocol <= 1);
	require(memchr(it.firmware, '\0', sizeof(it.firmware)) != NULL);
	require(memchr(it.maker, '\0', sizeof(it.maker)) != NULL);
	memset(&r, 0, sizeof(r));
	jk_reading(&it, false, &r);
	jk_reading(&it, true, &r);
	check_reading(&r);
}

/* libFuzzer hands over an exact-size heap copy: ASan sees any overread. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (unsigned i = 0; i < jk_driver.nsteps; i++)
		receive_loop(&jk_driver.steps[i], data, size);
	wrapped(data, size);
	items_direct(data, size);
	return 0;
}
