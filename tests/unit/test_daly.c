/* SPDX-License-Identifier: MIT */
/*
 * test_daly.c - the Daly "A5" codec against the real capture
 * (tests/data/daly-16s-discharging.cap and its .expect): every expected
 * value exact, the poll decoded as the chain does it (one accumulating
 * reading, 0x95 in several frames, the padding frames ignored), every
 * single-byte corruption and every truncation of every frame rejected,
 * the RS485 echo no answer, the 0x98 bits as protection names.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daly.h"
#include "driver.h"
#include "reading.h"
#include "vec_assert.h"
#include "vec_reading.h"
#include "vectors.h"

#define CAPTURE "daly-16s-discharging"

static const struct drv_step *step_for(uint8_t id)
{
	for (unsigned i = 0; i < daly_driver.nsteps; i++)
		if (daly_driver.steps[i].id == id)
			return &daly_driver.steps[i];
	return NULL;
}

/* The step of id, which must exist. */
static const struct drv_step *must_step(uint8_t id)
{
	const struct drv_step *st = step_for(id);

	if (!st)
		ck_abort_msg("no Daly step 0x%02x", id);
	return st ? st : &daly_driver.steps[0];
}

static enum drv_decode decode(uint8_t id, const uint8_t *f, size_t len,
			      struct bms_reading *r)
{
	return daly_driver.decode(must_step(id), 0, f, len, r);
}

/* An answer frame: A5 01 id 08 data checksum. */
static void make_answer(uint8_t id, const uint8_t data[8], uint8_t f[13])
{
	f[0] = DALY_START;
	f[1] = DALY_BMS_ADDR;
	f[2] = id;
	f[3] = 8;
	memcpy(f + 4, data, 8);
	f[12] = daly_sum(f, 12);
}

/*
 * Every answer of the capture, with the reading as it was before it
 * (the context the chain gives an accumulating driver) and what decode
 * must say. 0x91 / 0x92 are not asked (daly.c): skipped.
 */
struct seen_frame {
	const struct vec_frame *f;
	uint8_t id;
	struct bms_reading before;
	enum drv_decode want;
};

static struct seen_frame seen[32];
static unsigned nseen;

/* Decode the capture's poll like the chain: requests must be ours; the
 * answers to each request in order; after a step's DRV_OK, its further
 * frames (0x95 padding) are not part of any answer. */
static void walk(const struct vec_capture *cap, struct bms_reading *r)
{
	uint8_t id = 0, req[16];
	bool done = true, asked = false;

	nseen = 0;
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < cap->n; i++) {
		const struct vec_frame *f = &cap->frames[i];
		enum drv_decode rc;

		if (f->dir == VEC_HOST) {
			id = f->data[2];
			asked = step_for(id) != NULL;
			done = false;
			if (!asked)
				continue;
			ck_assert_uint_eq(
				daly_driver.build_request(must_step(id), 0, req,
							  sizeof(req)),
				f->len);
			ck_assert_mem_eq(req, f->data, f->len);
			continue;
		}
		if (!asked)
			continue;
		ck_assert_uint_lt(nseen, 32);
		seen[nseen].f = f;
		seen[nseen].id = id;
		seen[nseen].before = *r;
		rc = decode(id, f->data, f->len, r);
		if (done) {
			/* padding after the answer was complete */
			ck_assert_msg(rc == DRV_ERR_UNEXPECTED,
				      "line %u: padding frame taken", f->line);
			ck_assert_mem_eq(r, &seen[nseen].before, sizeof(*r));
			continue; /* not mutated: already no answer */
		}
		ck_assert_msg(rc == DRV_OK || rc == DRV_MORE,
			      "line %u: rejected (%d)", f->line, rc);
		seen[nseen++].want = rc;
		done = rc == DRV_OK;
	}
}

START_TEST(test_capture)
{
	struct vec_capture cap;
	struct vec_expect e;
	struct bms_reading r;
	char why[96];
	unsigned more = 0;

	vec_load_capture(CAPTURE ".cap", &cap);
	vec_load_expect(CAPTURE ".expect", &e);
	walk(&cap, &r);
	ck_assert_uint_ge(vec_check_reading(&e, &r, NULL, 0, NULL), 12);
	ck_assert_uint_eq(r.have, BMS_HAVE_BASIC | BMS_HAVE_CELLS |
					  BMS_HAVE_TEMPS | BMS_HAVE_PROTECTION);
	ck_assert_int_eq(r.direction, BMS_DIR_DISCHARGING);
	ck_assert_double_lt(r.current, 0); /* agrees with the direction */
	ck_assert_uint_eq(r.protection, 0);
	/* nominal from the pack's own SoC and remaining: 248.64 / 0.888 */
	ck_assert_double_eq_tol(r.nominal_ah, 280.0, 0.01);
	ck_assert_int_eq(bms_reading_check(&r, why, sizeof(why)), 0);
	/* 0x95: frames 1-5 more, frame 6 completes; 7-16 are padding */
	for (unsigned i = 0; i < nseen; i++)
		if (seen[i].id == DALY_ID_CELLS && seen[i].want == DRV_MORE)
			more++;
	ck_assert_uint_eq(more, 5);
	vec_expect_free(&e);
	vec_capture_free(&cap);
}
END_TEST

/* The capture in the driver's own step order (0x96 before 0x95). */
START_TEST(test_driver_order)
{
	struct vec_capture cap;
	struct bms_reading r, want;

	vec_load_capture(CAPTURE ".cap", &cap);
	walk(&cap, &want);
	memset(&r, 0, sizeof(r));
	for (unsigned s = 0; s < daly_driver.nsteps; s++) {
		uint8_t id = daly_driver.steps[s].id;

		for (unsigned i = 0; i < nseen; i++) {
			if (seen[i].id != id)
				continue;
			ck_assert_int_eq(
				decode(id, seen[i].f->data, seen[i].f->len, &r),
				seen[i].want);
		}
	}
	ck_assert_mem_eq(&r, &want, sizeof(r));
	vec_capture_free(&cap);
}
END_TEST

/* Every single-byte change of every answer frame rejected, the reading
 * untouched (the 8-bit sum catches any change of one byte). */
START_TEST(test_corruption)
{
	struct vec_capture cap;
	struct bms_reading r;

	vec_load_capture(CAPTURE ".cap", &cap);
	walk(&cap, &r);
	for (unsigned i = 0; i < nseen; i++) {
		const struct vec_frame *a = seen[i].f;

		for (size_t pos = 0; pos < a->len; pos++) {
			for (unsigned v = 1; v < 256; v++) {
				uint8_t f[DALY_FRAME_LEN];
				struct bms_reading x = seen[i].before;
				enum drv_decode rc;

				memcpy(f, a->data, a->len);
				f[pos] ^= (uint8_t)v;
				rc = decode(seen[i].id, f, a->len, &x);
				ck_assert_msg(rc != DRV_OK && rc != DRV_MORE,
					      "line %u: byte %zu ^ 0x%02x "
					      "accepted",
					      a->line, pos, v);
				ck_assert_mem_eq(&x, &seen[i].before,
						 sizeof(x));
			}
		}
	}
	vec_capture_free(&cap);
}
END_TEST

START_TEST(test_truncation)
{
	struct vec_capture cap;
	struct bms_reading r;

	vec_load_capture(CAPTURE ".cap", &cap);
	walk(&cap, &r);
	for (unsigned i = 0; i < nseen; i++) {
		const struct vec_frame *a = seen[i].f;
		size_t skip, flen;

		for (size_t n = 0; n < a->len; n++) {
			struct bms_reading x = seen[i].before;

			ck_assert_int_eq(decode(seen[i].id, a->data, n, &x),
					 DRV_ERR_FRAME);
			ck_assert_mem_eq(&x, &seen[i].before, sizeof(x));
			ck_assert_int_eq(
				daly_driver.scan(a->data, n, &skip, &flen),
				DRV_SCAN_NEED_MORE);
			ck_assert_uint_eq(skip, 0);
		}
		ck_assert_int_eq(
			daly_driver.scan(a->data, a->len, &skip, &flen),
			DRV_SCAN_FRAME);
		ck_assert_uint_eq(skip, 0);
		ck_assert_uint_eq(flen, DALY_FRAME_LEN);
	}
	vec_capture_free(&cap);
}
END_TEST

/* A sleeping unit's RS485 echo (A5 40 ...) is no answer to any step; an
 * answer to another id neither. */
START_TEST(test_echo_is_no_answer)
{
	for (unsigned s = 0; s < daly_driver.nsteps; s++) {
		uint8_t req[DALY_FRAME_LEN];
		struct bms_reading r, before;

		memset(&r, 0, sizeof(r));
		r.ncells = 16; /* a context where 0x95 / 0x96 could decode */
		for (unsigned i = 0; i < 16; i++)
			r.cell_v[i] = NAN;
		before = r;
		ck_assert_uint_eq(
			daly_driver.build_request(&daly_driver.steps[s], 0, req,
						  sizeof(req)),
			DALY_FRAME_LEN);
		ck_assert_uint_eq(req[1], DALY_HOST_ADDR);
		for (unsigned t = 0; t < daly_driver.nsteps; t++)
			ck_assert_int_eq(
				daly_driver.decode(&daly_driver.steps[t], 0,
						   req, sizeof(req), &r),
				DRV_ERR_UNEXPECTED);
		ck_assert_mem_eq(&r, &before, sizeof(r));
	}
}
END_TEST

START_TEST(test_answer_to_other_id)
{
	static const uint8_t d[8] = {0x02, 0x14, 0, 0, 0x75, 0x45, 0x03, 0x78};
	uint8_t f[13];
	struct bms_reading r;

	make_answer(DALY_ID_SOC, d, f);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(decode(DALY_ID_STATE, f, 13, &r), DRV_ERR_UNEXPECTED);
	ck_assert_int_eq(decode(DALY_ID_SOC, f, 13, &r), DRV_OK);
	ck_assert_double_eq_tol(r.current, -2.1, VEC_TOL);
}
END_TEST

/* 0x90 values: the sign rule, raw 0 = no reading, SoC past 100 %. */
START_TEST(test_soc_frame)
{
	uint8_t d[8] = {0x02, 0x14, 0, 0, 0x74, 0xDB, 0x03, 0xE8};
	uint8_t f[13];
	struct bms_reading r;

	memset(&r, 0, sizeof(r));
	make_answer(DALY_ID_SOC, d, f); /* raw 29915: +8.5 A, 100 % */
	ck_assert_int_eq(decode(DALY_ID_SOC, f, 13, &r), DRV_OK);
	ck_assert_double_eq_tol(r.current, 8.5, VEC_TOL);
	ck_assert_double_eq_tol(r.soc, 100.0, VEC_TOL);
	d[4] = d[5] = 0; /* raw current 0: the unit has no reading */
	make_answer(DALY_ID_SOC, d, f);
	ck_assert_int_eq(decode(DALY_ID_SOC, f, 13, &r), DRV_ERR_STATUS);
	d[4] = 0x75;
	d[7] = 0xE9; /* 100.1 % */
	make_answer(DALY_ID_SOC, d, f);
	ck_assert_int_eq(decode(DALY_ID_SOC, f, 13, &r), DRV_ERR_FRAME);
}
END_TEST

/* The pack's direction word is kept beside the sign; a contradiction is
 * the chain's to say (current_sign): the codec reports both as sent. */
START_TEST(test_sign_disagreement)
{
	static const uint8_t soc[8] = {0x02, 0x14, 0,    0,
				       0x75, 0x45, 0x03, 0x78};
	uint8_t st[8] = {0x01, 1, 1, 0x78, 0x00, 0x03, 0xCB, 0x40};
	uint8_t f[13];
	struct bms_reading r;

	memset(&r, 0, sizeof(r));
	make_answer(DALY_ID_SOC, soc, f);
	ck_assert_int_eq(decode(DALY_ID_SOC, f, 13, &r), DRV_OK);
	make_answer(DALY_ID_STATE, st, f); /* "charging" */
	ck_assert_int_eq(decode(DALY_ID_STATE, f, 13, &r), DRV_OK);
	ck_assert_int_eq(r.direction, BMS_DIR_CHARGING);
	ck_assert_double_eq_tol(r.current, -2.1, VEC_TOL);
	st[0] = 0; /* idle */
	make_answer(DALY_ID_STATE, st, f);
	ck_assert_int_eq(decode(DALY_ID_STATE, f, 13, &r), DRV_OK);
	ck_assert_int_eq(r.direction, BMS_DIR_IDLE);
	st[0] = 3; /* no such state */
	make_answer(DALY_ID_STATE, st, f);
	ck_assert_int_eq(decode(DALY_ID_STATE, f, 13, &r), DRV_ERR_FRAME);
	st[0] = 2;
	st[1] = 2; /* a MOSFET is on or off */
	make_answer(DALY_ID_STATE, st, f);
	ck_assert_int_eq(decode(DALY_ID_STATE, f, 13, &r), DRV_ERR_FRAME);
}
END_TEST

/* 0x98: every level-2 and fault bit to its protection name, level-1
 * alarms to none. */
START_TEST(test_failure_bits)
{
	static const struct {
		unsigned byte, bit;
		const char *name; /* NULL: not a protection */
	} map[] = {
		{0, 0, NULL},
		{0, 1, "cell_overvoltage"},
		{0, 2, NULL},
		{0, 3, "cell_undervoltage"},
		{0, 4, NULL},
		{0, 5, "pack_overvoltage"},
		{0, 6, NULL},
		{0, 7, "pack_undervoltage"},
		{1, 0, NULL},
		{1, 1, "charge_overtemperature"},
		{1, 3, "charge_undertemperature"},
		{1, 5, "discharge_overtemperature"},
		{1, 7, "discharge_undertemperature"},
		{2, 0, NULL},
		{2, 1, "charge_overcurrent"},
		{2, 2, NULL},
		{2, 3, "discharge_overcurrent"},
		{2, 5, NULL},
		{2, 7, NULL},
		{3, 1, NULL},
		{4, 0, "charge_overtemperature"},
		{4, 1, "discharge_overtemperature"},
		{4, 4, "frontend_error"},
		{4, 5, "frontend_error"},
		{5, 0, "frontend_error"},
		{5, 1, "frontend_error"},
		{5, 3, NULL},
		{6, 0, "frontend_error"},
		{6, 2, "short_circuit"},
		{6, 3, "cell_undervoltage"},
	};
	uint8_t d[8], f[13];

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		struct bms_reading r;

		memset(d, 0, sizeof(d));
		d[map[i].byte] = (uint8_t)(1u << map[i].bit);
		make_answer(DALY_ID_FAILURES, d, f);
		memset(&r, 0, sizeof(r));
		ck_assert_int_eq(decode(DALY_ID_FAILURES, f, 13, &r), DRV_OK);
		ck_assert(r.have & BMS_HAVE_PROTECTION);
		if (!map[i].name) {
			ck_assert_msg(r.protection == 0, "byte %u bit %u",
				      map[i].byte, map[i].bit);
			continue;
		}
		ck_assert_msg(r.protection != 0 &&
				      !strcmp(bms_protection_name(r.protection),
					      map[i].name),
			      "byte %u bit %u: want %s", map[i].byte,
			      map[i].bit, map[i].name);
	}
	/* the cold-sensor fault blocks charging only */
	memset(d, 0, sizeof(d));
	d[5] = 0x04;
	ck_assert_uint_eq(daly_protection(d),
			  BMS_PROT_CHG_OT | BMS_PROT_CHG_UT);
	/* byte 7 is a fault code, never bits */
	memset(d, 0, sizeof(d));
	d[7] = 0xFF;
	ck_assert_uint_eq(daly_protection(d), 0);
}
END_TEST

/* 0x94 counts: cells beyond what a reading holds refused; 0x95 without
 * a count cannot be placed; frames out of order are no part of it. */
START_TEST(test_counts_and_order)
{
	uint8_t d[8] = {33, 1, 0, 0, 0, 0, 3, 0x40};
	uint8_t f[13];
	struct bms_reading r;

	memset(&r, 0, sizeof(r));
	make_answer(DALY_ID_INFO, d, f);
	ck_assert_int_eq(decode(DALY_ID_INFO, f, 13, &r), DRV_ERR_FRAME);
	d[0] = 0;
	make_answer(DALY_ID_INFO, d, f);
	ck_assert_int_eq(decode(DALY_ID_INFO, f, 13, &r), DRV_ERR_FRAME);
	/* no 0x94 yet: a cell frame has no place */
	memcpy(d,
	       (const uint8_t[8]){1, 0x0C, 0xFD, 0x0C, 0xFE, 0x0C, 0xFE, 0x40},
	       8);
	make_answer(DALY_ID_CELLS, d, f);
	ck_assert_int_eq(decode(DALY_ID_CELLS, f, 13, &r), DRV_ERR_UNEXPECTED);
	/* 4 cells: frame 1 more, frame 3 out of order, frame 2 completes */
	memcpy(d, (const uint8_t[8]){4, 9, 0, 0, 0, 0, 0, 0}, 8);
	make_answer(DALY_ID_INFO, d, f);
	ck_assert_int_eq(decode(DALY_ID_INFO, f, 13, &r), DRV_OK);
	ck_assert_uint_eq(r.ntemps, BMS_MAX_TEMPS); /* 9 sensors: 8 read */
	memcpy(d,
	       (const uint8_t[8]){1, 0x0C, 0xFD, 0x0C, 0xFE, 0x0C, 0xFE, 0x40},
	       8);
	make_answer(DALY_ID_CELLS, d, f);
	ck_assert_int_eq(decode(DALY_ID_CELLS, f, 13, &r), DRV_MORE);
	ck_assert_int_eq(decode(DALY_ID_CELLS, f, 13, &r), DRV_ERR_UNEXPECTED);
	d[0] = 3;
	make_answer(DALY_ID_CELLS, d, f);
	ck_assert_int_eq(decode(DALY_ID_CELLS, f, 13, &r), DRV_ERR_UNEXPECTED);
	ck_assert_uint_eq(r.have & BMS_HAVE_CELLS, 0);
	d[0] = 2;
	make_answer(DALY_ID_CELLS, d, f);
	ck_assert_int_eq(decode(DALY_ID_CELLS, f, 13, &r), DRV_OK);
	ck_assert(r.have & BMS_HAVE_CELLS);
	ck_assert_double_eq_tol(r.cell_v[3], 3.325, VEC_TOL);
	ck_assert_double_eq(r.cell_v[4], 0.0); /* past the count */
	/* 8 sensors: two 0x96 frames */
	memcpy(d, (const uint8_t[8]){1, 55, 56, 57, 58, 59, 60, 61}, 8);
	make_answer(DALY_ID_TEMPS, d, f);
	ck_assert_int_eq(decode(DALY_ID_TEMPS, f, 13, &r), DRV_MORE);
	memcpy(d, (const uint8_t[8]){2, 30, 0, 0, 0, 0, 0, 0}, 8);
	make_answer(DALY_ID_TEMPS, d, f);
	ck_assert_int_eq(decode(DALY_ID_TEMPS, f, 13, &r), DRV_OK);
	ck_assert(r.have & BMS_HAVE_TEMPS);
	ck_assert_double_eq_tol(r.temp_c[0], 15.0, VEC_TOL);
	ck_assert_double_eq_tol(r.temp_c[7], -10.0, VEC_TOL);
}
END_TEST

START_TEST(test_scan_garbage)
{
	uint8_t buf[40];
	size_t skip, flen;
	static const uint8_t d[8] = {0x02, 0x14, 0, 0, 0x75, 0x45, 0x03, 0x78};

	memset(buf, 0x11, sizeof(buf));
	make_answer(DALY_ID_SOC, d, buf + 5);
	ck_assert_int_eq(daly_driver.scan(buf, 18, &skip, &flen),
			 DRV_SCAN_FRAME);
	ck_assert_uint_eq(skip, 5);
	ck_assert_uint_eq(flen, 13);
	ck_assert_int_eq(daly_driver.scan(buf, 5, &skip, &flen),
			 DRV_SCAN_NEED_MORE);
	ck_assert_uint_eq(skip, 5);
}
END_TEST

START_TEST(test_driver_table)
{
	ck_assert_ptr_eq(drv_find("daly"), &daly_driver);
	ck_assert_uint_eq(daly_driver.default_baud, 9600);
	ck_assert(daly_driver.accumulates);
	ck_assert(!daly_driver.addressed);
	/* the cells last; 0x94 before 0x95 and 0x96 */
	ck_assert_uint_eq(daly_driver.steps[daly_driver.nsteps - 1].id,
			  DALY_ID_CELLS);
	ck_assert_uint_eq(daly_driver.steps[2].id, DALY_ID_INFO);
	ck_assert(must_step(DALY_ID_BALANCE)->optional);
	ck_assert(must_step(DALY_ID_FAILURES)->optional);
	ck_assert(!must_step(DALY_ID_CELLS)->optional);
	ck_assert_ptr_nonnull(strstr(drv_names(), "daly"));
}
END_TEST

static Suite *daly_suite(void)
{
	Suite *s = suite_create("daly");
	TCase *tc = tcase_create("capture");

	tcase_add_test(tc, test_capture);
	tcase_add_test(tc, test_driver_order);
	tcase_add_test(tc, test_corruption);
	tcase_add_test(tc, test_truncation);
	suite_add_tcase(s, tc);

	tc = tcase_create("codec");
	tcase_add_test(tc, test_echo_is_no_answer);
	tcase_add_test(tc, test_answer_to_other_id);
	tcase_add_test(tc, test_soc_frame);
	tcase_add_test(tc, test_sign_disagreement);
	tcase_add_test(tc, test_failure_bits);
	tcase_add_test(tc, test_counts_and_order);
	tcase_add_test(tc, test_scan_garbage);
	tcase_add_test(tc, test_driver_table);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(daly_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
