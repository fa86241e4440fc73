/* SPDX-License-Identifier: MIT */
/*
 * fuzz_jbd.c - libFuzzer target for the JBD codec (see fuzz/README.md).
 *
 * The input is a received byte stream. For every step of the driver it
 * runs the receive loop of the chain (scan; decode; on failure drop one
 * byte and rescan) and checks the driver's contract: frames stay inside
 * the buffer, decoded readings are within bounds and their strings are
 * terminated. Random bytes rarely get past the checksum, so the payload
 * decoders are also run on the raw input directly.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "fuzz_check.h"
#include "jbd.h"
#include "reading.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reading(const struct bms_reading *r)
{
	require(r->ncells <= BMS_MAX_CELLS);
	require(r->ntemps <= BMS_MAX_TEMPS);
	require(r->soc >= 0.0 && r->soc <= 100.0);
	check_text(r->manufactured, sizeof(r->manufactured));
	check_text(r->model, sizeof(r->model));
	check_text(r->serial, sizeof(r->serial));
	check_text(r->firmware, sizeof(r->firmware));
	for (size_t i = 0; r->model[i]; i++)
		require(r->model[i] >= 0x20 && r->model[i] < 0x7f);
}

/* The chain's loop over one buffer, as the answer to one step. */
static void receive_loop(const struct drv_step *step, const uint8_t *buf,
			 size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		struct bms_reading r, before;
		size_t skip = 0, flen = 0;
		enum drv_decode rc;

		if (jbd_driver.scan(buf + pos, len - pos, &skip, &flen) ==
		    DRV_SCAN_NEED_MORE) {
			require(skip <= len - pos);
			return;
		}
		require(skip < len - pos && flen >= JBD_MIN_FRAME);
		require(flen <= len - pos - skip && flen <= DRV_MAX_FRAME);
		memset(&r, 0, sizeof(r));
		memcpy(&before, &r, sizeof(r));
		rc = jbd_driver.decode(step, 0, buf + pos + skip, flen, &r);
		if (rc == DRV_OK) {
			check_reading(&r);
			pos += skip + flen;
		} else {
			/* a rejected frame leaves the reading untouched */
			require(memcmp(&r, &before, sizeof(r)) == 0);
			pos += skip + 1;
		}
	}
}

static void parse_payloads(const uint8_t *d, size_t n)
{
	struct bms_reading r;

	if (n > 255)
		n = 255; /* the length byte bounds every payload */
	memset(&r, 0, sizeof(r));
	if (jbd_parse_basic(d, n, &r) == DRV_OK)
		check_reading(&r);
	if (jbd_parse_cells(d, n, &r) == DRV_OK)
		check_reading(&r);
	if (jbd_parse_model(d, n, &r) == DRV_OK)
		check_reading(&r);
}

/* libFuzzer hands over an exact-size heap copy: ASan sees any overread. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (unsigned i = 0; i < jbd_driver.nsteps; i++)
		receive_loop(&jbd_driver.steps[i], data, size);
	parse_payloads(data, size);
	return 0;
}
