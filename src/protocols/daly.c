/* SPDX-License-Identifier: MIT */
/*
 * daly.c - the Daly "A5" codec (see daly.h for the frame) and its driver
 * table. Pure functions over byte buffers: no I/O, no state.
 *
 * Sources: Daly's "UART / RS485 communication protocol" as the public
 * clients read it (github.com/jblance/mpp-solar mppsolar/protocols/
 * daly.py, dbus-serialbattery bms/daly.py, softwarecrash/Daly2MQTT), and
 * the real 16-cell capture in tests/data/daly-16s-discharging.cap.
 * Choices where they differ, at the place they matter:
 *
 * - Only documented bytes are read: unused trailing bytes hold leftovers
 *   of an earlier answer (the capture's 0x91 / 0x92 end in 0x90's SoC).
 * - The current is (30000 - raw) / 10, + = charging: on the captured unit
 *   raw 30021 came with 0x93 state 2 (discharging). Some firmware is said
 *   to count the other way; the port's current_sign (the chain applies
 *   it) turns it, and the pack's own word (0x93 state) is kept in
 *   reading.direction so that a disagreement is said (chain.c).
 * - 0x91 / 0x92 (extreme cell voltages and temperatures) are not asked:
 *   the cells (0x95) and temperatures (0x96) give them, from the same
 *   poll, and the capture shows the extremes sampled at another instant.
 * - The driver accumulates (driver.h): each step's decoder sees the poll
 *   so far. 0x94 leaves the cell and sensor counts in the reading (cells
 *   and temperatures NaN, not yet "have"); 0x95 and 0x96 fill them frame
 *   by frame, in order, and the answer is complete when every counted
 *   cell / sensor has its value. The 0x95 padding frames past the count
 *   (the unit sends 16) come after that and are not waited for.
 */
#include "daly.h"

#include <math.h>
#include <string.h>

#define CELLS_PER_FRAME 3
#define TEMPS_PER_FRAME 7

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

uint8_t daly_sum(const uint8_t *p, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 0; p && i < n; i++)
		sum += p[i];
	return (uint8_t)sum;
}

size_t daly_build(uint8_t id, uint8_t *buf, size_t cap)
{
	if (!buf || cap < DALY_FRAME_LEN)
		return 0;
	memset(buf, 0, DALY_FRAME_LEN);
	buf[0] = DALY_START;
	buf[1] = DALY_HOST_ADDR;
	buf[2] = id;
	buf[3] = DALY_DATA_LEN;
	buf[12] = daly_sum(buf, 12);
	return DALY_FRAME_LEN;
}

enum drv_decode daly_check_frame(uint8_t id, const uint8_t *f, size_t len,
				 const uint8_t **data)
{
	if (!f || len != DALY_FRAME_LEN || f[0] != DALY_START ||
	    f[3] != DALY_DATA_LEN || f[12] != daly_sum(f, 12))
		return DRV_ERR_FRAME;
	/* A request (our own echoed by an RS485 adapter: address 0x40, or
	 * another host's) or an answer to another id is no answer to this. */
	if (f[1] != DALY_BMS_ADDR || f[2] != id)
		return DRV_ERR_UNEXPECTED;
	if (data)
		*data = f + 4;
	return DRV_OK;
}

/*
 * 0x98 failure bits -> enum bms_protection, by byte and bit (0 = shown
 * raw only). Daly has two levels per limit: level 1 is an alarm (the
 * pack only reports it), level 2 the protection (the pack opens its
 * MOSFET). This project has no warning flags in reading.h, so level-1
 * bits are not mapped: the guard's own limits and pre-alarm cover them.
 *
 * byte 0: cell high L1/L2 (bits 0/1), cell low (2/3), pack high (4/5),
 *         pack low (6/7)                  -> L2: CELL_OV, CELL_UV,
 *                                            PACK_OV, PACK_UV
 * byte 1: charge temp high (0/1), charge temp low (2/3), discharge temp
 *         high (4/5), discharge temp low (6/7) -> L2: CHG_OT, CHG_UT,
 *                                            DSG_OT, DSG_UT
 * byte 2: charge over-current (0/1), discharge over-current (2/3), SoC
 *         high / low (4-7)                 -> L2: CHG_OC, DSG_OC; the SoC
 *         bits are not protection (the monitor has its own SoC rules)
 * byte 3: cell voltage / temperature difference: alarms only.
 * byte 4: charge / discharge MOSFET over-temperature (0 / 1) -> CHG_OT /
 *         DSG_OT (the pack stops that direction); MOSFET sensor faults
 *         (2, 3) not mapped (the cell sensors still work); a welded
 *         ("adhesion") charge or discharge MOSFET (4, 5) -> AFE: the pack
 *         can no longer cut that direction itself, so the external
 *         outputs must, both ways; open MOSFET faults (6, 7) only stop
 *         current and are shown raw.
 * byte 5: the AFE (cell measuring chip) failed (0) or a cell sense wire
 *         dropped (1) -> AFE: the cell voltages cannot be trusted; the
 *         cell temperature sensor failed (2) -> CHG_OT | CHG_UT: charging
 *         without a trusted temperature is what I4 forbids, discharging
 *         stays (as JK's cold flag, the narrower side); EEPROM, clock,
 *         precharge and communication faults (3-7) shown raw.
 * byte 6: current sensor fault (0) -> AFE (over-current protection is
 *         blind); pack voltage sensor fault (1) -> AFE; "short circuit
 *         protect fault" (2) -> SHORT (the short-circuit trip); "low
 *         voltage forbids charging" (3) -> CELL_UV: a cell is so low
 *         that the pack refuses to charge (its charge MOSFET, which the
 *         guard sees, covers charging; the loads must go).
 * byte 7 is a fault code, not bits: not read.
 */
static const uint32_t failure_map[7][8] = {
	[0] = {[1] = BMS_PROT_CELL_OV,
	       [3] = BMS_PROT_CELL_UV,
	       [5] = BMS_PROT_PACK_OV,
	       [7] = BMS_PROT_PACK_UV},
	[1] = {[1] = BMS_PROT_CHG_OT,
	       [3] = BMS_PROT_CHG_UT,
	       [5] = BMS_PROT_DSG_OT,
	       [7] = BMS_PROT_DSG_UT},
	[2] = {[1] = BMS_PROT_CHG_OC, [3] = BMS_PROT_DSG_OC},
	[4] = {[0] = BMS_PROT_CHG_OT,
	       [1] = BMS_PROT_DSG_OT,
	       [4] = BMS_PROT_AFE,
	       [5] = BMS_PROT_AFE},
	[5] = {[0] = BMS_PROT_AFE,
	       [1] = BMS_PROT_AFE,
	       [2] = BMS_PROT_CHG_OT | BMS_PROT_CHG_UT},
	[6] = {[0] = BMS_PROT_AFE,
	       [1] = BMS_PROT_AFE,
	       [2] = BMS_PROT_SHORT,
	       [3] = BMS_PROT_CELL_UV},
};

uint32_t daly_protection(const uint8_t *data)
{
	uint32_t p = 0;

	for (unsigned b = 0; data && b < 7; b++)
		for (unsigned i = 0; i < 8; i++)
			if (data[b] & (1u << i))
				p |= failure_map[b][i];
	return p;
}

/* 0x90: pack voltage 0.1 V (0-1), acquired voltage (2-3, unused), current
 * raw 0.1 A offset 30000 (4-5), SoC 0.1 % (6-7). A raw current of 0
 * (-3000 A) is the unit's "no reading" (mpp-solar drops it): the pack
 * says it has no value, so the step fails, nothing is guessed. */
static enum drv_decode take_soc(const uint8_t *d, struct bms_reading *r)
{
	uint16_t raw = get16(d + 4), soc = get16(d + 6);

	if (raw == 0)
		return DRV_ERR_STATUS;
	if (soc > 1000)
		return DRV_ERR_FRAME;
	r->voltage = get16(d) / 10.0;
	r->current = ((double)DALY_I_OFFSET - raw) / 10.0;
	r->soc = soc / 10.0;
	r->have |= BMS_HAVE_BASIC;
	return DRV_OK;
}

/* 0x93: state (0 idle, 1 charging, 2 discharging), charge MOSFET,
 * discharge MOSFET (0/1), life counter (3: 0-255, not cycles: not read),
 * remaining mAh (4-7). Daly sends no capacity in these answers: the
 * nominal capacity is what the pack's own SoC and remaining say it is. */
static enum drv_decode take_state(const uint8_t *d, struct bms_reading *r)
{
	static const uint8_t dir[] = {BMS_DIR_IDLE, BMS_DIR_CHARGING,
				      BMS_DIR_DISCHARGING};

	if (d[0] > 2 || d[1] > 1 || d[2] > 1)
		return DRV_ERR_FRAME;
	r->direction = dir[d[0]];
	r->charge_fet = d[1] != 0;
	r->discharge_fet = d[2] != 0;
	r->remaining_ah = get32(d + 4) / 1000.0;
	r->full_ah = 0;
	r->design_ah = NAN;
	r->nominal_ah =
		r->soc >= 1.0 ? r->remaining_ah * 100.0 / r->soc : (double)NAN;
	r->have |= BMS_HAVE_PROTECTION;
	return DRV_OK;
}

/* 0x94: cells (0), sensors (1), charger (2), load (3), DI/DO (4), cycles
 * (5-6). The counts are left for 0x95 / 0x96 (values NaN). More cells
 * than a reading holds cannot be watched: refused. More sensors than it
 * holds: the first BMS_MAX_TEMPS are read. */
static enum drv_decode take_info(const uint8_t *d, struct bms_reading *r)
{
	unsigned cells = d[0], sensors = d[1];

	if (cells == 0 || cells > BMS_MAX_CELLS)
		return DRV_ERR_FRAME;
	if (sensors > BMS_MAX_TEMPS)
		sensors = BMS_MAX_TEMPS;
	r->cycles = get16(d + 5);
	r->ncells = cells;
	for (unsigned i = 0; i < BMS_MAX_CELLS; i++)
		r->cell_v[i] = i < cells ? (double)NAN : 0.0;
	r->ntemps = sensors;
	for (unsigned i = 0; i < BMS_MAX_TEMPS; i++)
		r->temp_c[i] = i < sensors ? (double)NAN : 0.0;
	r->have &= ~(uint32_t)(BMS_HAVE_CELLS | BMS_HAVE_TEMPS);
	return DRV_OK;
}

/* The first of n values still NaN, or n. */
static unsigned first_missing(const double *v, unsigned n)
{
	unsigned i = 0;

	while (i < n && !isnan(v[i]))
		i++;
	return i;
}

/*
 * One frame of a multi-frame answer: per values per frame (3 cells of
 * 2 bytes, or 7 temperatures of 1 byte) into v[0..n). Frames come in
 * order from 1; the frame expected is the one holding the first value
 * still missing, anything else (a repeat, one after a lost frame, a
 * padding frame) is no part of this answer. Complete when none is
 * missing.
 */
static enum drv_decode take_series(const uint8_t *d, double *v, unsigned n,
				   unsigned per, bool cells)
{
	unsigned at = first_missing(v, n);

	if (n == 0 && d[0] == 1)
		return DRV_OK; /* no sensor: the first frame says nothing */
	if (at >= n || d[0] != at / per + 1)
		return DRV_ERR_UNEXPECTED;
	for (unsigned k = 0; k < per && at + k < n; k++)
		v[at + k] = cells ? get16(d + 1 + 2 * k) / 1000.0
				  : (double)d[1 + k] - DALY_TEMP_OFF;
	return first_missing(v, n) >= n ? DRV_OK : DRV_MORE;
}

static enum drv_decode take_cells(const uint8_t *d, struct bms_reading *r)
{
	enum drv_decode rc;

	if (r->ncells == 0 || r->ncells > BMS_MAX_CELLS || d[0] == 0 ||
	    d[0] > DALY_MAX_FRAMES)
		return DRV_ERR_UNEXPECTED; /* no 0x94 count: cannot place it */
	rc = take_series(d, r->cell_v, r->ncells, CELLS_PER_FRAME, true);
	if (rc == DRV_OK)
		r->have |= BMS_HAVE_CELLS;
	return rc;
}

static enum drv_decode take_temps(const uint8_t *d, struct bms_reading *r)
{
	enum drv_decode rc;

	if (r->ncells == 0 || r->ntemps > BMS_MAX_TEMPS || d[0] == 0)
		return DRV_ERR_UNEXPECTED; /* no 0x94 before it */
	rc = take_series(d, r->temp_c, r->ntemps, TEMPS_PER_FRAME, false);
	if (rc == DRV_OK)
		r->have |= BMS_HAVE_TEMPS;
	return rc;
}

/* 0x97: bytes 0-5 one bit per cell, byte 0 bit 0 = cell 1 (Daly's
 * table: "0 closed, 1 open"); the reading holds cells 1-32. */
static enum drv_decode take_balance(const uint8_t *d, struct bms_reading *r)
{
	r->balancing = (uint32_t)d[0] | (uint32_t)d[1] << 8 |
		       (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
	return DRV_OK;
}

static enum drv_decode take_failures(const uint8_t *d, struct bms_reading *r)
{
	r->protection = daly_protection(d);
	/* Bytes 0-3 (the levelled limits) for display. */
	r->protection_raw = get32(d);
	r->have |= BMS_HAVE_PROTECTION;
	return DRV_OK;
}

enum drv_decode daly_decode_frame(uint8_t id, const uint8_t *f, size_t len,
				  struct bms_reading *r)
{
	const uint8_t *d = NULL;
	struct bms_reading out;
	enum drv_decode rc = daly_check_frame(id, f, len, &d);

	if (rc != DRV_OK || !r)
		return rc != DRV_OK ? rc : DRV_ERR_UNEXPECTED;
	out = *r; /* written back only if the frame is taken */
	switch (id) {
	case DALY_ID_SOC:
		rc = take_soc(d, &out);
		break;
	case DALY_ID_STATE:
		rc = take_state(d, &out);
		break;
	case DALY_ID_INFO:
		rc = take_info(d, &out);
		break;
	case DALY_ID_CELLS:
		rc = take_cells(d, &out);
		break;
	case DALY_ID_TEMPS:
		rc = take_temps(d, &out);
		break;
	case DALY_ID_BALANCE:
		rc = take_balance(d, &out);
		break;
	case DALY_ID_FAILURES:
		rc = take_failures(d, &out);
		break;
	default:
		return DRV_ERR_UNEXPECTED;
	}
	if (rc == DRV_OK || rc == DRV_MORE)
		*r = out;
	return rc;
}

static size_t daly_build_request(const struct drv_step *step, unsigned addr,
				 uint8_t *buf, size_t cap)
{
	(void)addr; /* one pack per port (daly_driver) */
	return step ? daly_build(step->id, buf, cap) : 0;
}

/* Every frame is 13 bytes from an A5. A stray A5 in garbage makes a bad
 * candidate that decode rejects; the chain then drops one byte. */
static enum drv_scan daly_scan(const uint8_t *buf, size_t len, size_t *skip,
			       size_t *flen)
{
	size_t i = 0;

	while (buf && i < len && buf[i] != DALY_START)
		i++;
	*skip = i;
	*flen = 0;
	if (!buf || len - i < DALY_FRAME_LEN)
		return DRV_SCAN_NEED_MORE;
	*flen = DALY_FRAME_LEN;
	return DRV_SCAN_FRAME;
}

static enum drv_decode daly_decode(const struct drv_step *step, unsigned addr,
				   const uint8_t *frame, size_t len,
				   struct bms_reading *out)
{
	(void)addr;
	if (!step || !out)
		return DRV_ERR_UNEXPECTED;
	return daly_decode_frame(step->id, frame, len, out);
}

/*
 * The poll. 0x94 before 0x96 and 0x95 (they need its counts); 0x95, the
 * cells, LAST (a known battery is asked the optional steps it answered
 * first, chain.c poll_order): its last needed frame completes the poll.
 * 0x97 and 0x98 are optional: not every unit answers them (the capture's
 * poll has neither); once answered, the chain requires them.
 */
static const struct drv_step daly_steps[] = {
	{.id = DALY_ID_SOC, .what = "voltage, current and SoC (0x90)"},
	{.id = DALY_ID_STATE, .what = "MOSFETs and remaining (0x93)"},
	{.id = DALY_ID_INFO, .what = "counts and cycles (0x94)"},
	{.id = DALY_ID_TEMPS, .what = "temperatures (0x96)"},
	{.id = DALY_ID_BALANCE, .optional = true, .what = "balancing (0x97)"},
	{.id = DALY_ID_FAILURES, .optional = true, .what = "failures (0x98)"},
	{.id = DALY_ID_CELLS, .what = "cell voltages (0x95)"},
};

/*
 * 9600 baud is the UART's fixed rate. One frame is 13.5 ms on the wire;
 * a 16-cell answer needs 6 frames (81 ms) and the unit sends 16 (216 ms)
 * after its own delay. 500 ms covers the whole answer of a step
 * (the chain's timeout is per step, not per frame).
 *
 * Not addressed: Daly's RS485 boards can be given board numbers, but how
 * a number appears in the frame is not documented consistently (some
 * clients put it in the host address byte, 0x40 + n, others not), and
 * nothing public shows two packs on one bus. One pack per port.
 */
const struct bms_driver daly_driver = {
	.name = "daly",
	.default_baud = 9600,
	.default_timeout_ms = 500,
	.addressed = false,
	.accumulates = true,
	.steps = daly_steps,
	.nsteps = sizeof(daly_steps) / sizeof(daly_steps[0]),
	.build_request = daly_build_request,
	.scan = daly_scan,
	.decode = daly_decode,
};
