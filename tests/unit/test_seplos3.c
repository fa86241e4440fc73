/* SPDX-License-Identifier: MIT */
/*
 * test_seplos3.c - the Seplos v3 driver against the real bus captures
 * (tests/data/seplosv3-*.cap and their .expect files): our requests are
 * the captured ones, every expected value exact, every single-byte
 * corruption and every truncation rejected, refusals are DRV_ERR_STATUS
 * (never data), coil bits to FETs and protection, the unused 2731 slots.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "modbus.h"
#include "reading.h"
#include "seplos3.h"
#include "vec_assert.h"
#include "vec_reading.h"
#include "vectors.h"

static const struct drv_step *step_for(uint8_t id)
{
	for (unsigned i = 0; i < seplos3_driver.nsteps; i++)
		if (seplos3_driver.steps[i].id == id)
			return &seplos3_driver.steps[i];
	ck_abort_msg("no Seplos v3 step 0x%02x", id);
	return NULL;
}

/* The step whose request (at addr) is exactly req, or NULL. */
static const struct drv_step *step_of_request(const uint8_t *req, size_t n,
					      unsigned addr)
{
	uint8_t buf[16];

	for (unsigned i = 0; i < seplos3_driver.nsteps; i++) {
		const struct drv_step *s = &seplos3_driver.steps[i];
		size_t m =
			seplos3_driver.build_request(s, addr, buf, sizeof(buf));

		if (m == n && memcmp(buf, req, n) == 0)
			return s;
	}
	return NULL;
}

/*
 * Decode every answer of a capture whose request is one of ours (at
 * addr) into r; returns how many. Requests that are not ours (the other
 * master's coil count, the system blocks) are skipped.
 */
static unsigned decode_capture(const struct vec_capture *cap, unsigned addr,
			       struct bms_reading *r)
{
	unsigned n = 0;

	for (size_t i = 0; i + 1 < cap->n; i++) {
		const struct vec_frame *q = &cap->frames[i];
		const struct vec_frame *a = &cap->frames[i + 1];
		const struct drv_step *s;
		struct bms_reading part;

		if (q->dir != VEC_HOST || a->dir != VEC_BATTERY)
			continue;
		s = step_of_request(q->data, q->len, addr);
		if (!s)
			continue;
		memset(&part, 0, sizeof(part));
		ck_assert_msg(seplos3_driver.decode(s, addr, a->data, a->len,
						    &part) == DRV_OK,
			      "%s:%u: answer rejected", cap->path, a->line);
		bms_reading_merge(r, &part);
		n++;
	}
	return n;
}

static void check_full(const struct vec_expect *e, const struct vec_kv *kv,
		       const struct bms_reading *r, const void *ctx)
{
	(void)ctx;
	vec_assert_near(kv, r->full_ah, vec_want_double(e, kv));
}

static const struct vec_check seplos3_checks[] = {
	{"full_ah", check_full},
};

START_TEST(pack_capture_exact)
{
	struct vec_capture cap;
	struct vec_expect e;
	struct bms_reading r;
	char why[128];

	memset(&r, 0, sizeof(r));
	vec_load_capture("seplosv3-sg16s200a-addr1.cap", &cap);
	vec_load_expect("seplosv3-sg16s200a-addr1.expect", &e);
	/* 0x1000 x 17 and 0x1100 x 26 are ours byte for byte */
	ck_assert_uint_eq(decode_capture(&cap, 1, &r), 2);
	ck_assert_uint_eq(vec_check_reading(&e, &r, seplos3_checks, 1, NULL),
			  11);
	ck_assert_uint_eq(r.have,
			  BMS_HAVE_BASIC | BMS_HAVE_CELLS | BMS_HAVE_TEMPS);
	ck_assert_int_eq(bms_reading_check(&r, why, sizeof(why)), 0);
	vec_capture_free(&cap);
	vec_expect_free(&e);
}
END_TEST

START_TEST(master_capture_identity)
{
	struct vec_capture cap;
	struct vec_expect e;
	struct bms_reading r;

	memset(&r, 0, sizeof(r));
	vec_load_capture("seplosv3-sg16s200a-master.cap", &cap);
	vec_load_expect("seplosv3-sg16s200a-master.expect", &e);
	/* only 0x1700 x 51 is ours; asked at the master's address 0 */
	ck_assert_uint_eq(decode_capture(&cap, 0, &r), 1);
	ck_assert_uint_eq(vec_check_reading(&e, &r, NULL, 0, NULL), 3);
	ck_assert_uint_eq(r.have,
			  BMS_HAVE_MODEL | BMS_HAVE_SERIAL | BMS_HAVE_FIRMWARE);
	vec_capture_free(&cap);
	vec_expect_free(&e);
}
END_TEST

/* The address-1 pack refused the other master's coil read: the same
 * refusal is a refusal of ours (STATUS, no data), and nothing else. */
START_TEST(refusals_are_status)
{
	static const uint8_t coil_exc[] = {0x01, 0x81, 0x02, 0xC1, 0x91};
	static const uint8_t input_exc_0[] = {0x00, 0x84, 0x02, 0x93, 0x01};
	struct bms_reading r;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(seplos3_driver.decode(step_for(SEPLOS3_PIC), 1,
					       coil_exc, sizeof(coil_exc), &r),
			 DRV_ERR_STATUS);
	ck_assert_int_eq(seplos3_driver.decode(step_for(SEPLOS3_PIA), 1,
					       coil_exc, sizeof(coil_exc), &r),
			 DRV_ERR_UNEXPECTED);
	/* the master at 0 refusing function 04: a pack block refused */
	ck_assert_int_eq(seplos3_driver.decode(step_for(SEPLOS3_PIA), 0,
					       input_exc_0, sizeof(input_exc_0),
					       &r),
			 DRV_ERR_STATUS);
	ck_assert_int_eq(seplos3_driver.decode(step_for(SEPLOS3_PIB), 0,
					       input_exc_0, sizeof(input_exc_0),
					       &r),
			 DRV_ERR_STATUS);
	ck_assert_uint_eq(r.have, 0);
}
END_TEST

/* Every answer of both captures that a step of ours decodes. */
static void each_answer(void (*fn)(const struct drv_step *, unsigned,
				   const struct vec_frame *))
{
	static const struct {
		const char *name;
		unsigned addr;
	} caps[] = {{"seplosv3-sg16s200a-addr1.cap", 1},
		    {"seplosv3-sg16s200a-master.cap", 0}};
	unsigned seen = 0;

	for (size_t c = 0; c < 2; c++) {
		struct vec_capture cap;

		vec_load_capture(caps[c].name, &cap);
		for (size_t i = 0; i + 1 < cap.n; i++) {
			const struct drv_step *s = step_of_request(
				cap.frames[i].data, cap.frames[i].len,
				caps[c].addr);

			if (s && cap.frames[i + 1].dir == VEC_BATTERY) {
				fn(s, caps[c].addr, &cap.frames[i + 1]);
				seen++;
			}
		}
		vec_capture_free(&cap);
	}
	ck_assert_uint_eq(seen, 3);
}

static void corrupt_each_byte(const struct drv_step *s, unsigned addr,
			      const struct vec_frame *a)
{
	uint8_t g[256];

	ck_assert_uint_le(a->len, sizeof(g));
	for (size_t i = 0; i < a->len; i++)
		for (unsigned v = 0; v < 256; v++) {
			struct bms_reading r;
			enum drv_decode d;

			if (v == a->data[i])
				continue;
			memcpy(g, a->data, a->len);
			g[i] = (uint8_t)v;
			memset(&r, 0, sizeof(r));
			d = seplos3_driver.decode(s, addr, g, a->len, &r);
			ck_assert_msg(d == DRV_ERR_FRAME ||
					      d == DRV_ERR_UNEXPECTED,
				      "line %u: byte %zu = %02x accepted (%d)",
				      a->line, i, v, d);
		}
}

static void truncate_each(const struct drv_step *s, unsigned addr,
			  const struct vec_frame *a)
{
	for (size_t k = 0; k < a->len; k++) {
		struct bms_reading r;
		enum drv_decode d;

		memset(&r, 0, sizeof(r));
		d = seplos3_driver.decode(s, addr, a->data, k, &r);
		ck_assert_msg(d == DRV_ERR_FRAME || d == DRV_ERR_UNEXPECTED,
			      "line %u: %zu bytes accepted", a->line, k);
	}
}

START_TEST(corruption_rejected)
{
	each_answer(corrupt_each_byte);
}
END_TEST

START_TEST(truncation_rejected)
{
	each_answer(truncate_each);
}
END_TEST

/* A frame for step at addr with data bytes d (n of them), CRC added. */
static size_t answer(uint8_t fc, unsigned addr, const uint8_t *d, size_t n,
		     uint8_t *f)
{
	uint16_t crc;

	f[0] = (uint8_t)addr;
	f[1] = fc;
	f[2] = (uint8_t)n;
	memcpy(f + 3, d, n);
	crc = mb_crc16(f, 3 + n);
	f[3 + n] = (uint8_t)crc;
	f[4 + n] = (uint8_t)(crc >> 8);
	return 5 + n;
}

static struct bms_reading decode_coils(const uint8_t *coils)
{
	uint8_t f[64];
	size_t n = answer(MB_FC_COILS, 3, coils, SEPLOS3_PIC_COILS / 8, f);
	struct bms_reading r;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(
		seplos3_driver.decode(step_for(SEPLOS3_PIC), 3, f, n, &r),
		DRV_OK);
	ck_assert_uint_eq(r.have, BMS_HAVE_PROTECTION);
	return r;
}

START_TEST(coil_bits_to_fets_and_protection)
{
	static const struct {
		unsigned bit;
		uint32_t prot;
	} t[] = {
		{0x49, BMS_PROT_CELL_OV},
		{0x4B, BMS_PROT_CELL_UV},
		{0x4D, BMS_PROT_PACK_OV},
		{0x4F, BMS_PROT_PACK_UV},
		{0x51, BMS_PROT_CHG_OT},
		{0x53, BMS_PROT_CHG_UT},
		{0x55, BMS_PROT_DSG_OT},
		{0x57, BMS_PROT_DSG_UT},
		{0x5D, BMS_PROT_CHG_OT | BMS_PROT_DSG_OT},
		{0x61, BMS_PROT_CHG_OC},
		{0x64, BMS_PROT_DSG_OC},
		{0x88, BMS_PROT_AFE},
		{0x8F, BMS_PROT_AFE},
		/* alarms (even bits) are not protections */
		{0x48, 0},
		{0x4A, 0},
		{0x60, 0},
	};
	uint8_t coils[SEPLOS3_PIC_COILS / 8];
	struct bms_reading r;

	/* the SP05B pack at rest (esphome-seplos-bms coil capture) */
	memset(coils, 0, sizeof(coils));
	coils[8] = 0x10;
	coils[15] = 0x03;
	r = decode_coils(coils);
	ck_assert(r.charge_fet);
	ck_assert(r.discharge_fet);
	ck_assert_uint_eq(r.protection, 0);
	coils[15] = 0x01; /* discharge FET only */
	r = decode_coils(coils);
	ck_assert(!r.charge_fet);
	ck_assert(r.discharge_fet);
	coils[15] = 0x02;
	r = decode_coils(coils);
	ck_assert(r.charge_fet);
	ck_assert(!r.discharge_fet);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(coils, 0, sizeof(coils));
		coils[t[i].bit / 8] = (uint8_t)(1u << (t[i].bit % 8));
		r = decode_coils(coils);
		ck_assert_msg(r.protection == t[i].prot,
			      "coil 0x%02x: 0x%x, want 0x%x", t[i].bit,
			      r.protection, t[i].prot);
	}
}
END_TEST

/* The captured PIB answer's data, to be changed and framed again. */
static void pib_data(uint8_t *d)
{
	struct vec_capture cap;

	vec_load_capture("seplosv3-sg16s200a-addr1.cap", &cap);
	ck_assert_uint_eq(cap.frames[3].len, 5 + 2 * SEPLOS3_PIB_REGS);
	memcpy(d, cap.frames[3].data + 3, 2 * SEPLOS3_PIB_REGS);
	vec_capture_free(&cap);
}

static struct bms_reading decode_pib(const uint8_t *d)
{
	uint8_t f[80];
	size_t n = answer(MB_FC_INPUT, 1, d, 2 * SEPLOS3_PIB_REGS, f);
	struct bms_reading r;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(
		seplos3_driver.decode(step_for(SEPLOS3_PIB), 1, f, n, &r),
		DRV_OK);
	return r;
}

START_TEST(unused_slots_and_board_sensors)
{
	uint8_t d[2 * SEPLOS3_PIB_REGS];
	struct bms_reading r;

	pib_data(d);
	r = decode_pib(d);
	/* T1-T4, environment, power: the four 2731 slots left out */
	ck_assert_uint_eq(r.ntemps, 6);
	ck_assert_double_eq_tol(r.temp_c[4], 22.45, VEC_TOL);
	ck_assert_double_eq_tol(r.temp_c[5], 21.15, VEC_TOL);
	/* slot 6 (0x1115) in use: after T1-T4, before the board sensors */
	d[2 * 0x15] = 0x0B;
	d[2 * 0x15 + 1] = 0x90; /* 2960 = 22.85 C */
	r = decode_pib(d);
	ck_assert_uint_eq(r.ntemps, 7);
	ck_assert_double_eq_tol(r.temp_c[4], 22.85, VEC_TOL);
	ck_assert_double_eq_tol(r.temp_c[5], 22.45, VEC_TOL);
	/* all four slots in use: the board sensors do not fit (8 max) */
	for (unsigned i = 0x14; i < 0x18; i++) {
		d[2 * i] = 0x0B;
		d[2 * i + 1] = 0x90;
	}
	r = decode_pib(d);
	ck_assert_uint_eq(r.ntemps, 8);
	ck_assert_double_eq_tol(r.temp_c[7], 22.85, VEC_TOL);
}
END_TEST

/* A pack set to 2 NTCs reads 2731 in T3/T4: unused, not 0 C (which would
 * block charging for good); a pack with no cell sensor at all has no
 * temperature (I4), its board sensors do not stand for the cells. */
START_TEST(unused_cell_sensors_and_no_cell_sensor)
{
	uint8_t d[2 * SEPLOS3_PIB_REGS];
	struct bms_reading r;

	pib_data(d);
	for (unsigned i = 0x12; i < 0x14; i++) { /* T3, T4 */
		d[2 * i] = 0x0A;
		d[2 * i + 1] = 0xAB; /* 2731 */
	}
	r = decode_pib(d);
	/* T1, T2, environment, power */
	ck_assert_uint_eq(r.ntemps, 4);
	ck_assert_double_eq_tol(r.temp_c[2], 22.45, VEC_TOL);
	for (unsigned i = 0x10; i < 0x12; i++) { /* T1, T2 too */
		d[2 * i] = 0x0A;
		d[2 * i + 1] = 0xAB;
	}
	r = decode_pib(d);
	ck_assert_uint_eq(r.ntemps, 0);
}
END_TEST

START_TEST(fewer_cells_and_no_cells)
{
	uint8_t d[2 * SEPLOS3_PIB_REGS], f[80];
	struct bms_reading r;
	size_t n;

	pib_data(d);
	d[30] = d[31] = 0; /* cell 16 absent: a 15-cell pack */
	r = decode_pib(d);
	ck_assert_uint_eq(r.ncells, 15);
	d[2] = d[3] = 0; /* cell 2 reads 0: kept, and not possible */
	r = decode_pib(d);
	ck_assert_uint_eq(r.ncells, 15);
	ck_assert_double_eq(r.cell_v[1], 0.0);
	memset(d, 0, 32);
	n = answer(MB_FC_INPUT, 1, d, sizeof(d), f);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(
		seplos3_driver.decode(step_for(SEPLOS3_PIB), 1, f, n, &r),
		DRV_ERR_FRAME);
}
END_TEST

START_TEST(soc_above_100_rejected)
{
	struct vec_capture cap;
	uint8_t d[2 * SEPLOS3_PIA_REGS], f[64];
	struct bms_reading r;
	size_t n;

	vec_load_capture("seplosv3-sg16s200a-addr1.cap", &cap);
	memcpy(d, cap.frames[1].data + 3, sizeof(d));
	vec_capture_free(&cap);
	d[10] = 0x03;
	d[11] = 0xE9; /* 1001 */
	n = answer(MB_FC_INPUT, 1, d, sizeof(d), f);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(
		seplos3_driver.decode(step_for(SEPLOS3_PIA), 1, f, n, &r),
		DRV_ERR_FRAME);
	d[11] = 0xE8; /* 1000 */
	n = answer(MB_FC_INPUT, 1, d, sizeof(d), f);
	ck_assert_int_eq(
		seplos3_driver.decode(step_for(SEPLOS3_PIA), 1, f, n, &r),
		DRV_OK);
	ck_assert_double_eq_tol(r.soc, 100.0, VEC_TOL);
}
END_TEST

START_TEST(driver_table)
{
	const struct bms_driver *d = drv_find("seplos-v3");
	const struct drv_step *last;

	ck_assert_ptr_eq(d, &seplos3_driver);
	ck_assert_uint_eq(d->default_baud, 19200);
	ck_assert(d->addressed);
	ck_assert_uint_eq(d->min_addr, 1);
	ck_assert_uint_eq(d->max_addr, 15);
	/* the cells come last, the coils are optional, identity once */
	last = &d->steps[d->nsteps - 1];
	ck_assert_uint_eq(last->id, SEPLOS3_PIB);
	ck_assert(!last->optional && !last->once);
	ck_assert(step_for(SEPLOS3_PIC)->optional);
	ck_assert(step_for(SEPLOS3_VIA)->once);
	ck_assert(!step_for(SEPLOS3_PIA)->optional);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("seplos3");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, pack_capture_exact);
	tcase_add_test(tc, master_capture_identity);
	tcase_add_test(tc, refusals_are_status);
	tcase_add_test(tc, corruption_rejected);
	tcase_add_test(tc, truncation_rejected);
	tcase_add_test(tc, coil_bits_to_fets_and_protection);
	tcase_add_test(tc, unused_slots_and_board_sensors);
	tcase_add_test(tc, unused_cell_sensors_and_no_cell_sensor);
	tcase_add_test(tc, fewer_cells_and_no_cells);
	tcase_add_test(tc, soc_above_100_rejected);
	tcase_add_test(tc, driver_table);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
