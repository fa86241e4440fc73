/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pylon.c - libFuzzer target for the "~" family codec (pylontech,
 * seplos, pace; see fuzz/README.md).
 *
 * The first input byte is the battery address, the rest a received byte
 * stream. For every step of every driver it runs the chain's receive
 * loop (scan; decode; on failure drop one byte, or the whole frame if it
 * was well-formed but not ours) and checks the driver contract. Random
 * bytes rarely pass the checksum, so the rest of the input is also
 * wrapped as the INFO of a correctly framed answer for each variant and
 * decoded as every step and as a stack answer, and the INFO decoders run
 * on it directly.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "fuzz_check.h"
#include "pylon.h"
#include "reading.h"

#define MAX_STACK 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct bms_driver *const drivers[PYLON_NVARIANTS] = {
	[PYLON_V_PYLONTECH] = &pylontech_driver,
	[PYLON_V_SEPLOS] = &seplos_driver,
	[PYLON_V_PACE] = &pace_driver,
};

static const uint8_t vers[PYLON_NVARIANTS] = {0x20, 0x20, 0x25};

static void check_reading(const struct bms_reading *r)
{
	require(r->ncells <= BMS_MAX_CELLS);
	require(r->ntemps <= BMS_MAX_TEMPS);
	require(isnan(r->soc) || (r->soc >= 0.0 && r->soc <= 100.0));
	require(isfinite(r->voltage) && isfinite(r->current));
	check_text(r->model, sizeof(r->model));
	check_text(r->serial, sizeof(r->serial));
	check_text(r->firmware, sizeof(r->firmware));
}

static void check_scan(const uint8_t *buf, size_t len, size_t skip, size_t flen)
{
	require(skip < len && flen >= 2);
	require(flen <= len - skip && flen <= DRV_MAX_FRAME);
	require(buf[skip] == PYLON_SOI);
	require(buf[skip + flen - 1] == PYLON_EOI || flen == DRV_MAX_FRAME);
}

/* Decode one candidate; a rejection must leave the reading untouched. */
static enum drv_decode decode_checked(const struct bms_driver *d,
				      const struct drv_step *step,
				      unsigned addr, const uint8_t *f,
				      size_t len)
{
	struct bms_reading r, before;
	enum drv_decode rc;

	memset(&r, 0, sizeof(r));
	memcpy(&before, &r, sizeof(r));
	rc = d->decode(step, addr, f, len, &r);
	require(rc == DRV_OK || rc == DRV_ERR_FRAME || rc == DRV_ERR_STATUS ||
		rc == DRV_ERR_UNEXPECTED);
	if (rc == DRV_OK)
		check_reading(&r);
	else
		require(memcmp(&r, &before, sizeof(r)) == 0);
	return rc;
}

/* The chain's loop over one buffer, as the answer to one step. */
static void receive_loop(const struct bms_driver *d,
			 const struct drv_step *step, unsigned addr,
			 const uint8_t *buf, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		size_t skip = 0, flen = 0;
		enum drv_decode rc;

		if (d->scan(buf + pos, len - pos, &skip, &flen) ==
		    DRV_SCAN_NEED_MORE) {
			require(skip <= len - pos);
			return;
		}
		check_scan(buf + pos, len - pos, skip, flen);
		rc = decode_checked(d, step, addr, buf + pos + skip, flen);
		if (rc == DRV_OK)
			pos += skip + flen;
		else
			pos += skip + (rc == DRV_ERR_UNEXPECTED ? flen : 1);
	}
}

static void stack_checked(const uint8_t *f, size_t len, unsigned addr)
{
	static struct bms_reading out[MAX_STACK];
	unsigned n = 0;

	if (pylon_decode_stack(f, len, addr, out, MAX_STACK, &n) != DRV_OK)
		return;
	require(n >= 1);
	for (unsigned i = 0; i < n && i < MAX_STACK; i++)
		check_reading(&out[i]);
}

/* The input as the INFO of a well-framed normal answer from addr. */
static void framed_answers(const uint8_t *info, size_t n, unsigned addr)
{
	static uint8_t f[PYLON_PROTO_MAX_FRAME];

	for (int v = 0; v < PYLON_NVARIANTS; v++) {
		const struct bms_driver *d = drivers[v];
		size_t len =
			pylon_build_frame(vers[v], (uint8_t)addr, PYLON_CID1,
					  0x00, info, n, f, sizeof(f));

		if (len == 0)
			return; /* longer than any frame */
		for (unsigned s = 0; s < d->nsteps; s++)
			(void)decode_checked(d, &d->steps[s], addr, f, len);
		if (v == PYLON_V_PYLONTECH)
			stack_checked(f, len, addr);
	}
}

static void info_decoders(const uint8_t *d, size_t n, unsigned addr)
{
	struct pylon_analog a;
	struct pylon_status s;
	struct pylon_info in;
	struct bms_reading r;

	for (int v = 0; v < PYLON_NVARIANTS; v++) {
		memset(&r, 0, sizeof(r));
		if (pylon_parse_analog((enum pylon_variant)v, d, n, &a) ==
		    DRV_OK) {
			require(a.ncells >= 1 && a.ncells <= BMS_MAX_CELLS);
			pylon_analog_reading(&a, &r);
		}
		if (pylon_parse_alarm((enum pylon_variant)v, d, n, &s) ==
		    DRV_OK) {
			require(s.nstatus <= PYLON_MAX_STATUS);
			pylon_status_reading(&s, &r);
		}
		check_reading(&r);
	}
	memset(&r, 0, sizeof(r));
	if (pylon_parse_manufacturer(d, n, &in) == DRV_OK) {
		check_text(in.manufacturer, sizeof(in.manufacturer));
		pylon_info_reading(&in, &r);
	}
	if (pylon_parse_serial(d, n, addr, &in) == DRV_OK)
		pylon_info_reading(&in, &r);
	if (pace_parse_text(PACE_HWVERSION, d, n, &in) == DRV_OK)
		pylon_info_reading(&in, &r);
	check_reading(&r);
}

/* libFuzzer hands over an exact-size heap copy: ASan sees any overread. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned addr;

	if (size < 1)
		return 0;
	addr = data[0];
	data++;
	size--;
	for (int v = 0; v < PYLON_NVARIANTS; v++)
		for (unsigned s = 0; s < drivers[v]->nsteps; s++)
			receive_loop(drivers[v], &drivers[v]->steps[s], addr,
				     data, size);
	stack_checked(data, size, addr);
	framed_answers(data, size, addr);
	info_decoders(data, size, addr);
	return 0;
}
