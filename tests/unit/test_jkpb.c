/* SPDX-License-Identifier: MIT */
/*
 * test_jkpb.c - the JK-PB codec against the real captures
 * (tests/data/jkpb-*.cap and their .expect files): every expected value
 * exact, every single-byte corruption and every truncation rejected; the
 * acknowledgement as the proof of who answered, the master's unrequested
 * frames, the status and device-info fields, scanning.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "jkpb.h"
#include "reading.h"
#include "vec_assert.h"
#include "vec_reading.h"
#include "vectors.h"

#define MAX_ANSWER 320

static const struct drv_step *step_for(uint8_t reg)
{
	for (unsigned i = 0; i < jkpb_driver.nsteps; i++)
		if (jkpb_driver.steps[i].id == reg)
			return &jkpb_driver.steps[i];
	ck_abort_msg("no JK-PB step 0x%02x", reg);
	return NULL;
}

/* One request and everything answered after it, as one buffer. */
struct exchange {
	uint8_t req[64];
	size_t reqlen;
	uint8_t ans[MAX_ANSWER];
	size_t anslen;
	unsigned line;
};

static size_t exchanges(const struct vec_capture *cap, struct exchange *x,
			size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < cap->n; i++) {
		const struct vec_frame *f = &cap->frames[i];

		if (f->dir == VEC_HOST) {
			ck_assert_uint_lt(n, max);
			ck_assert_uint_le(f->len, sizeof(x[n].req));
			memset(&x[n], 0, sizeof(x[n]));
			memcpy(x[n].req, f->data, f->len);
			x[n].reqlen = f->len;
			x[n].line = f->line;
			n++;
			continue;
		}
		ck_assert_uint_gt(n, 0);
		ck_assert_uint_le(x[n - 1].anslen + f->len, MAX_ANSWER);
		memcpy(x[n - 1].ans + x[n - 1].anslen, f->data, f->len);
		x[n - 1].anslen += f->len;
	}
	return n;
}

/* The hex after "# unsolicited:" lines of a capture (the master's own). */
static size_t unsolicited(const char *name, uint8_t *out, size_t cap)
{
	FILE *f = fopen(vec_data_path(name), "r");
	char line[4096];
	size_t n = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		const char *p = line;
		char *end;

		if (strncmp(line, "# unsolicited:", 14) != 0)
			continue;
		p += 14;
		for (;;) {
			unsigned long v = strtoul(p, &end, 16);

			if (end == p)
				break;
			ck_assert_uint_lt(n, cap);
			out[n++] = (uint8_t)v;
			p = end;
		}
	}
	fclose(f);
	return n;
}

/* --- expectations: the shared keys (vec_reading.h) and JK-PB's own. --- */

/* The frame's balancer is idle in every capture: no cell named. */
static void check_balancing(const struct vec_expect *e, const struct vec_kv *kv,
			    const struct bms_reading *r, const void *ctx)
{
	(void)e;
	(void)ctx;
	ck_assert_str_eq(kv->value, "none");
	ck_assert_uint_eq(r->balancing, 0);
	ck_assert_uint_ne(r->have & BMS_HAVE_BALANCER, 0);
	ck_assert_uint_eq(r->balancer, BMS_BALANCER_IDLE);
}

static const struct vec_check jkpb_checks[] = {
	{"balancing", check_balancing},
};

static unsigned check_expectations(const struct vec_expect *e,
				   const struct bms_reading *r)
{
	return vec_check_reading(e, r, jkpb_checks,
				 sizeof(jkpb_checks) / sizeof(jkpb_checks[0]),
				 NULL);
}

/*
 * Every request of the capture is exactly ours (for the registers we
 * ask) and every answer decodes as the answer to it, at address 1. The
 * settings answer (0x161E, not asked by the driver) is well framed and
 * the answer to no step.
 */
static unsigned decode_capture(const char *name, struct bms_reading *r)
{
	struct vec_capture cap;
	struct exchange x[8];
	size_t n;
	unsigned answers = 0;

	vec_load_capture(name, &cap);
	n = exchanges(&cap, x, 8);
	for (size_t i = 0; i < n; i++) {
		uint8_t req[16], reg = x[i].req[3];
		unsigned who = 99;
		uint8_t got_reg = 0;

		ck_assert_uint_eq(jkpb_build_request(1, reg, req, sizeof(req)),
				  x[i].reqlen);
		ck_assert_mem_eq(req, x[i].req, x[i].reqlen);
		ck_assert_int_eq(jkpb_check_answer(x[i].ans, x[i].anslen, &who,
						   &got_reg, NULL),
				 DRV_OK);
		ck_assert_uint_eq(who, 1);
		ck_assert_uint_eq(got_reg, reg);
		if (reg == JKPB_REG_SETTINGS) {
			for (unsigned s = 0; s < jkpb_driver.nsteps; s++)
				ck_assert_int_eq(jkpb_driver.decode(
							 &jkpb_driver.steps[s],
							 1, x[i].ans,
							 x[i].anslen, r),
						 DRV_ERR_UNEXPECTED);
			continue;
		}
		ck_assert_uint_eq(jkpb_driver.build_request(step_for(reg), 1,
							    req, sizeof(req)),
				  x[i].reqlen);
		ck_assert_msg(jkpb_driver.decode(step_for(reg), 1, x[i].ans,
						 x[i].anslen, r) == DRV_OK,
			      "%s:%u: answer rejected", name, x[i].line);
		answers++;
	}
	vec_capture_free(&cap);
	return answers;
}

START_TEST(test_capture_addr1)
{
	struct vec_expect e;
	struct bms_reading r;

	memset(&r, 0, sizeof(r));
	ck_assert_uint_eq(decode_capture("jkpb-pb2a16s15p-addr1.cap", &r), 2);
	vec_load_expect("jkpb-pb2a16s15p-addr1.expect", &e);
	ck_assert_uint_ge(check_expectations(&e, &r), 19);
	ck_assert_uint_eq(r.have, BMS_HAVE_BASIC | BMS_HAVE_CELLS |
					  BMS_HAVE_TEMPS | BMS_HAVE_PROTECTION |
					  BMS_HAVE_BALANCER | BMS_HAVE_MODEL |
					  BMS_HAVE_FIRMWARE | BMS_HAVE_SERIAL);
	/* not the user's device name @46 ("ATR BMS") */
	ck_assert_str_eq(r.serial, "31213480085");
	ck_assert_double_eq_tol(r.balance_current, 0, VEC_TOL);
	ck_assert_double_eq_tol(r.full_ah, 220, VEC_TOL);
	ck_assert_double_eq(r.design_ah, 0);
	ck_assert_int_eq(bms_reading_check(&r, NULL, 0), 0);
	vec_expect_free(&e);
}
END_TEST

START_TEST(test_capture_master_slave)
{
	struct vec_expect e;
	struct bms_reading r;

	memset(&r, 0, sizeof(r));
	ck_assert_uint_eq(decode_capture("jkpb-master-slave.cap", &r), 1);
	vec_load_expect("jkpb-master-slave.expect", &e);
	ck_assert_uint_ge(check_expectations(&e, &r), 16);
	ck_assert_int_eq(bms_reading_check(&r, NULL, 0), 0);
	vec_expect_free(&e);
}
END_TEST

/* The master's own status frame and acknowledgement (address 0). */
START_TEST(test_master_unsolicited)
{
	uint8_t f[2 * MAX_ANSWER];
	size_t n = unsolicited("jkpb-master-slave.cap", f, sizeof(f));
	struct bms_reading r;
	unsigned who = 99;
	static const double cells[16] = {
		3.346, 3.346, 3.346, 3.345, 3.345, 3.346, 3.345, 3.345,
		3.346, 3.345, 3.345, 3.345, 3.346, 3.346, 3.345, 3.345,
	};
	static const double temps[5] = {22.3, 20.0, 20.6, 20.1, 20.8};

	ck_assert_uint_eq(n, JKPB_ANSWER_MIN);
	ck_assert_int_eq(jkpb_check_answer(f, n, &who, NULL, NULL), DRV_OK);
	ck_assert_uint_eq(who, 0);
	/* proof of another master; never a reading for a pack we asked */
	ck_assert_ptr_nonnull(jkpb_foreign(f, n));
	ck_assert_ptr_nonnull(strstr(jkpb_foreign(f, n), "address 0"));
	memset(&r, 0, sizeof(r));
	for (unsigned a = 1; a <= JKPB_MAX_ADDR; a++)
		ck_assert_int_eq(jkpb_driver.decode(step_for(JKPB_REG_STATUS),
						    a, f, n, &r),
				 DRV_ERR_UNEXPECTED);
	ck_assert_uint_eq(r.have, 0);
	/* the values the .expect's comment gives for it */
	ck_assert_int_eq(
		jkpb_driver.decode(step_for(JKPB_REG_STATUS), 0, f, n, &r),
		DRV_OK);
	ck_assert_double_eq_tol(r.voltage, 53.529, VEC_TOL);
	ck_assert_double_eq_tol(r.current, 0, VEC_TOL);
	ck_assert_double_eq_tol(r.soc, 100, VEC_TOL);
	ck_assert_double_eq_tol(r.remaining_ah, 302.638, VEC_TOL);
	ck_assert_double_eq_tol(r.nominal_ah, 304, VEC_TOL);
	ck_assert_uint_eq(r.ncells, 16);
	for (unsigned i = 0; i < 16; i++)
		ck_assert_double_eq_tol(r.cell_v[i], cells[i], VEC_TOL);
	ck_assert_uint_eq(r.ntemps, 5);
	for (unsigned i = 0; i < 5; i++)
		ck_assert_double_eq_tol(r.temp_c[i], temps[i], VEC_TOL);
	/* its acknowledgement alone is proof too */
	ck_assert_ptr_nonnull(
		jkpb_foreign(f + JKPB_FRAME, n - JKPB_FRAME) ? f : NULL);
}
END_TEST

/* The requests of a master (or ours, echoed): proof only when not ours,
 * which the chain sorts out before asking. */
START_TEST(test_foreign)
{
	uint8_t q[16],
		ack[8] = {0x01, 0x10, 0x16, 0x20, 0x00, 0x01, 0x04, 0x4B};
	struct vec_capture cap;
	struct exchange x[4];

	ck_assert_uint_eq(jkpb_build_request(3, JKPB_REG_STATUS, q, sizeof(q)),
			  11);
	ck_assert_ptr_nonnull(jkpb_foreign(q, 11));
	ck_assert_uint_eq(jkpb_build_request(0, JKPB_REG_INFO, q, sizeof(q)),
			  11);
	ck_assert_ptr_nonnull(strstr(jkpb_foreign(q, 11), "address 0"));
	/* a pack's answer to an address we asked, its lone acknowledgement:
	 * no proof (a late answer to our own request looks the same) */
	vec_load_capture("jkpb-master-slave.cap", &cap);
	ck_assert_uint_eq(exchanges(&cap, x, 4), 1);
	ck_assert_ptr_null(jkpb_foreign(x[0].ans, x[0].anslen));
	ck_assert_ptr_null(jkpb_foreign(ack, 8));
	vec_capture_free(&cap);
	/* garbage, a bad checksum */
	ck_assert_ptr_null(jkpb_foreign((const uint8_t *)"\x00\x10\x16", 3));
	q[10] ^= 1;
	ck_assert_ptr_null(jkpb_foreign(q, 11));
	ck_assert_ptr_null(jkpb_foreign(NULL, 0));
}
END_TEST

/* ------------------------- corruption, truncation ------------------ */

static const struct {
	bool set;
	uint8_t v;
} mutations[] = {
	{false, 0x01}, {false, 0x80}, {false, 0xFF}, {true, 0x00},
	{true, 0x55},  {true, 0x10},  {true, 0x16},  {true, 0x01},
};

static void mutate_all(const uint8_t *a, size_t len)
{
	uint8_t f[MAX_ANSWER];

	for (size_t pos = 0; pos < len; pos++) {
		for (size_t k = 0; k < sizeof(mutations) / sizeof(*mutations);
		     k++) {
			memcpy(f, a, len);
			f[pos] = mutations[k].set
					 ? mutations[k].v
					 : (uint8_t)(f[pos] ^ mutations[k].v);
			if (f[pos] == a[pos])
				continue;
			for (unsigned s = 0; s < jkpb_driver.nsteps; s++) {
				for (unsigned addr = 0; addr <= 2; addr++) {
					struct bms_reading r, before;

					memset(&r, 0x5a, sizeof(r));
					memcpy(&before, &r, sizeof(r));
					ck_assert_msg(
						jkpb_driver.decode(
							&jkpb_driver.steps[s],
							addr, f, len,
							&r) != DRV_OK,
						"byte %zu = 0x%02x accepted",
						pos, f[pos]);
					ck_assert_mem_eq(&r, &before,
							 sizeof(r));
				}
			}
		}
	}
}

/* Every answer of both captures, and the same with a 00 between the
 * frame and its acknowledgement. */
static size_t all_answers(struct exchange *x, size_t max)
{
	struct vec_capture cap;
	size_t n = 0;

	vec_load_capture("jkpb-pb2a16s15p-addr1.cap", &cap);
	n += exchanges(&cap, x, max);
	vec_capture_free(&cap);
	vec_load_capture("jkpb-master-slave.cap", &cap);
	n += exchanges(&cap, x + n, max - n);
	vec_capture_free(&cap);
	for (size_t i = 0, m = n; i < m && n < max; i++) {
		x[n] = x[i];
		memmove(x[n].ans + JKPB_FRAME + 1, x[n].ans + JKPB_FRAME,
			JKPB_ACK_LEN);
		x[n].ans[JKPB_FRAME] = 0x00;
		x[n].anslen = JKPB_ANSWER_MAX;
		n++;
	}
	return n;
}

START_TEST(test_corruption)
{
	struct exchange x[16];
	size_t n = all_answers(x, 16);

	ck_assert_uint_eq(n, 8);
	for (size_t i = 0; i < n; i++) {
		struct bms_reading r;

		memset(&r, 0, sizeof(r));
		ck_assert_int_eq(jkpb_check_answer(x[i].ans, x[i].anslen, NULL,
						   NULL, NULL),
				 DRV_OK);
		mutate_all(x[i].ans, x[i].anslen);
	}
}
END_TEST

START_TEST(test_truncation)
{
	struct exchange x[16];
	size_t n = all_answers(x, 16);

	for (size_t i = 0; i < n; i++) {
		size_t skip = 99, flen = 0;

		for (size_t k = 0; k < x[i].anslen; k++) {
			struct bms_reading r, before;

			memset(&r, 0x33, sizeof(r));
			memcpy(&before, &r, sizeof(r));
			ck_assert_int_eq(jkpb_check_answer(x[i].ans, k, NULL,
							   NULL, NULL),
					 DRV_ERR_FRAME);
			for (unsigned s = 0; s < jkpb_driver.nsteps; s++)
				ck_assert_int_ne(jkpb_driver.decode(
							 &jkpb_driver.steps[s],
							 1, x[i].ans, k, &r),
						 DRV_OK);
			ck_assert_mem_eq(&r, &before, sizeof(r));
			skip = 99;
			ck_assert_int_eq(
				jkpb_driver.scan(x[i].ans, k, &skip, &flen),
				DRV_SCAN_NEED_MORE);
			ck_assert_uint_eq(skip, 0);
		}
		ck_assert_int_eq(
			jkpb_driver.scan(x[i].ans, x[i].anslen, &skip, &flen),
			DRV_SCAN_FRAME);
		ck_assert_uint_eq(skip, 0);
		ck_assert_uint_eq(flen, x[i].anslen);
	}
}
END_TEST

/* ------------------------------ fields ----------------------------- */

/* The status answer of the addr1 capture, to patch. */
static void status_frame(uint8_t *f)
{
	struct vec_capture cap;
	struct exchange x[4];

	vec_load_capture("jkpb-pb2a16s15p-addr1.cap", &cap);
	ck_assert_uint_eq(exchanges(&cap, x, 4), 3);
	ck_assert_uint_eq(x[2].req[3], JKPB_REG_STATUS);
	memcpy(f, x[2].ans, JKPB_ANSWER_MIN);
	vec_capture_free(&cap);
}

/* A 300-byte frame of type for reg (its sum set) acknowledged by addr. */
static size_t finish(uint8_t *f, unsigned addr, uint8_t reg)
{
	uint16_t crc;
	uint8_t *ack = f + JKPB_FRAME;

	f[JKPB_FRAME - 1] = jkpb_sum8(f, JKPB_FRAME - 1);
	ack[0] = (uint8_t)addr;
	ack[1] = 0x10;
	ack[2] = 0x16;
	ack[3] = reg;
	ack[4] = 0x00;
	ack[5] = 0x01;
	crc = jkpb_crc16(ack, 6);
	ack[6] = (uint8_t)crc;
	ack[7] = (uint8_t)(crc >> 8);
	return JKPB_ANSWER_MIN;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v & 0xFFFF);
	put16(p + 2, v >> 16);
}

static enum drv_decode decode_status(uint8_t *f, struct bms_reading *r)
{
	size_t n = finish(f, 1, JKPB_REG_STATUS);

	memset(r, 0, sizeof(*r));
	return jkpb_driver.decode(step_for(JKPB_REG_STATUS), 1, f, n, r);
}

START_TEST(test_status_fields)
{
	uint8_t f[MAX_ANSWER];
	struct bms_reading r;

	/* discharging, balancing while charging ... */
	status_frame(f);
	put32(f + 158, (uint32_t)-12345);
	put16(f + 170, (uint16_t)-250);
	f[172] = 2;
	f[198] = 0;
	f[199] = 2;
	ck_assert_int_eq(decode_status(f, &r), DRV_OK);
	ck_assert_double_eq_tol(r.current, -12.345, VEC_TOL);
	ck_assert_uint_eq(r.balancer, BMS_BALANCER_ACTIVE);
	ck_assert_double_eq_tol(r.balance_current, -0.25, VEC_TOL);
	ck_assert_uint_eq(r.balancing, 0);
	ck_assert(!r.charge_fet && r.discharge_fet);
	/* 32 cells */
	status_frame(f);
	put32(f + 70, 0xFFFFFFFFu);
	ck_assert_int_eq(decode_status(f, &r), DRV_OK);
	ck_assert_uint_eq(r.ncells, 32);
	/* cells not 1..n, none, SoC above 100, a negative remainder */
	status_frame(f);
	put32(f + 70, 0xFD);
	ck_assert_int_eq(decode_status(f, &r), DRV_ERR_FRAME);
	put32(f + 70, 0);
	ck_assert_int_eq(decode_status(f, &r), DRV_ERR_FRAME);
	ck_assert_uint_eq(r.have, 0);
	status_frame(f);
	f[173] = 101;
	ck_assert_int_eq(decode_status(f, &r), DRV_ERR_FRAME);
	f[173] = 100;
	ck_assert_int_eq(decode_status(f, &r), DRV_OK);
	put32(f + 174, (uint32_t)-1);
	ck_assert_int_eq(decode_status(f, &r), DRV_ERR_FRAME);
	/* a huge cycle count stays positive */
	status_frame(f);
	put32(f + 182, 0xFFFFFFFFu);
	ck_assert_int_eq(decode_status(f, &r), DRV_OK);
	ck_assert_int_gt(r.cycles, 0);
}
END_TEST

START_TEST(test_sensors)
{
	uint8_t f[MAX_ANSWER];
	struct bms_reading r;

	/* @254 (bit 3) is never a sensor of its own */
	status_frame(f);
	f[214] = 0x08 | 0x02;
	ck_assert_int_eq(decode_status(f, &r), DRV_OK);
	ck_assert_uint_eq(r.ntemps, 1);
	ck_assert_double_eq_tol(r.temp_c[0], 29.6, VEC_TOL);
	/* MOSFET and the sensor at 258 */
	f[214] = 0x21;
	ck_assert_int_eq(decode_status(f, &r), DRV_OK);
	ck_assert_uint_eq(r.ntemps, 2);
	ck_assert_double_eq_tol(r.temp_c[0], 30.0, VEC_TOL);
	ck_assert_double_eq_tol(r.temp_c[1], 28.6, VEC_TOL);
	/* the MOSFET sensor alone: no temperature (I4) */
	f[214] = 0x01;
	ck_assert_int_eq(decode_status(f, &r), DRV_OK);
	ck_assert_uint_eq(r.ntemps, 0);
	ck_assert_uint_ne(r.have & BMS_HAVE_TEMPS, 0);
	/* below zero, signed 0.1 C */
	f[214] = 0x03;
	put16(f + 162, (uint16_t)-125);
	ck_assert_int_eq(decode_status(f, &r), DRV_OK);
	ck_assert_double_eq_tol(r.temp_c[1], -12.5, VEC_TOL);
}
END_TEST

START_TEST(test_alarm_bits)
{
	static const uint32_t want[32] = {
		[1] = BMS_PROT_CHG_OT | BMS_PROT_DSG_OT,
		[2] = BMS_PROT_AFE,
		[3] = BMS_PROT_AFE,
		[4] = BMS_PROT_CELL_OV,
		[5] = BMS_PROT_PACK_OV,
		[6] = BMS_PROT_CHG_OC,
		[7] = BMS_PROT_SHORT,
		[8] = BMS_PROT_CHG_OT,
		[9] = BMS_PROT_CHG_UT,
		[10] = BMS_PROT_AFE,
		[11] = BMS_PROT_CELL_UV,
		[12] = BMS_PROT_PACK_UV,
		[13] = BMS_PROT_DSG_OC,
		[14] = BMS_PROT_SHORT,
		[15] = BMS_PROT_DSG_OT,
		[16] = BMS_PROT_AFE,
		[17] = BMS_PROT_AFE,
		[21] = BMS_PROT_CHG_OT | BMS_PROT_DSG_OT,
		[22] = BMS_PROT_AFE,
		[24] = BMS_PROT_SHORT,
		[25] = BMS_PROT_DSG_OC,
		[26] = BMS_PROT_DSG_OC,
		[27] = BMS_PROT_DSG_UT,
		[28] = BMS_PROT_LOCK,
	};
	uint8_t f[MAX_ANSWER];

	for (unsigned b = 0; b < 32; b++) {
		struct bms_reading r;

		ck_assert_uint_eq(jkpb_protection(1u << b), want[b]);
		status_frame(f);
		put32(f + 166, 1u << b);
		ck_assert_int_eq(decode_status(f, &r), DRV_OK);
		ck_assert_uint_eq(r.protection_raw, 1u << b);
		ck_assert_uint_eq(r.protection, want[b]);
	}
	/* as the guard sees them */
	ck_assert_uint_ne(jkpb_protection(1u << 11) & BMS_PROT_DISCHARGE_MASK,
			  0);
	ck_assert_uint_eq(jkpb_protection(1u << 11) & BMS_PROT_CHARGE_MASK, 0);
	ck_assert_uint_ne(jkpb_protection(1u << 4) & BMS_PROT_CHARGE_MASK, 0);
	ck_assert_uint_eq(jkpb_protection(1u << 4) & BMS_PROT_DISCHARGE_MASK,
			  0);
}
END_TEST

START_TEST(test_info_fields)
{
	uint8_t f[MAX_ANSWER];
	struct bms_reading r;
	size_t n;

	memset(f, 0, sizeof(f));
	memcpy(f, "\x55\xAA\xEB\x90\x03\x07", 6);
	memcpy(f + 6, "JK-PB\x01 XY   ", 12);
	memcpy(f + 30, "15.38", 5);
	memcpy(f + 46, "my bank", 7);
	memcpy(f + 86, "123456789012345", 15); /* 11 of them */
	n = finish(f, 7, JKPB_REG_INFO);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(
		jkpb_driver.decode(step_for(JKPB_REG_INFO), 7, f, n, &r),
		DRV_OK);
	ck_assert_uint_eq(r.have,
			  BMS_HAVE_MODEL | BMS_HAVE_FIRMWARE | BMS_HAVE_SERIAL);
	ck_assert_str_eq(r.model, "JK-PB? XY");
	ck_assert_str_eq(r.firmware, "15.38");
	ck_assert_str_eq(r.serial, "12345678901");
	/* empty fields are not said */
	memset(f + 6, 0, 100);
	n = finish(f, 7, JKPB_REG_INFO);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(
		jkpb_driver.decode(step_for(JKPB_REG_INFO), 7, f, n, &r),
		DRV_OK);
	ck_assert_uint_eq(r.have, 0);
}
END_TEST

START_TEST(test_who_answered)
{
	uint8_t f[MAX_ANSWER];
	struct bms_reading r;
	size_t n;

	memset(&r, 0, sizeof(r));
	/* another pack's status: not ours */
	status_frame(f);
	n = finish(f, 2, JKPB_REG_STATUS);
	ck_assert_int_eq(
		jkpb_driver.decode(step_for(JKPB_REG_STATUS), 1, f, n, &r),
		DRV_ERR_UNEXPECTED);
	ck_assert_int_eq(
		jkpb_driver.decode(step_for(JKPB_REG_STATUS), 2, f, n, &r),
		DRV_OK);
	/* a status answer to the device-info step */
	n = finish(f, 1, JKPB_REG_STATUS);
	ck_assert_int_eq(
		jkpb_driver.decode(step_for(JKPB_REG_INFO), 1, f, n, &r),
		DRV_ERR_UNEXPECTED);
	/* a frame whose acknowledgement is for another write */
	n = finish(f, 1, JKPB_REG_INFO);
	ck_assert_int_eq(jkpb_check_answer(f, n, NULL, NULL, NULL),
			 DRV_ERR_FRAME);
	/* an acknowledgement of two registers */
	n = finish(f, 1, JKPB_REG_STATUS);
	f[305] = 2;
	{
		uint16_t crc = jkpb_crc16(f + 300, 6);

		f[306] = (uint8_t)crc;
		f[307] = (uint8_t)(crc >> 8);
	}
	ck_assert_int_eq(jkpb_check_answer(f, n, NULL, NULL, NULL),
			 DRV_ERR_FRAME);
	/* no acknowledgement: no proof, no reading */
	status_frame(f);
	memset(f + 300, 0xEE, 9);
	ck_assert_int_eq(jkpb_check_answer(f, 308, NULL, NULL, NULL),
			 DRV_ERR_FRAME);
	ck_assert_int_eq(jkpb_check_answer(f, 300, NULL, NULL, NULL),
			 DRV_ERR_FRAME);
	/* bad steps, no reading */
	{
		struct drv_step settings = {.id = JKPB_REG_SETTINGS,
					    .what = "settings"};

		n = finish(f, 1, JKPB_REG_STATUS);
		ck_assert_int_eq(jkpb_driver.decode(&settings, 1, f, n, &r),
				 DRV_ERR_UNEXPECTED);
		ck_assert_int_eq(jkpb_driver.decode(NULL, 1, f, n, &r),
				 DRV_ERR_UNEXPECTED);
		ck_assert_int_eq(jkpb_driver.decode(step_for(JKPB_REG_STATUS),
						    1, f, n, NULL),
				 DRV_ERR_UNEXPECTED);
	}
	ck_assert_uint_eq(r.have & ~(uint32_t)(BMS_HAVE_BASIC | BMS_HAVE_CELLS |
					       BMS_HAVE_TEMPS |
					       BMS_HAVE_PROTECTION |
					       BMS_HAVE_BALANCER),
			  0);
}
END_TEST

/* ---------------------------- requests ----------------------------- */

START_TEST(test_requests)
{
	static const uint8_t info[] = {0x01, 0x10, 0x16, 0x1C, 0x00, 0x01,
				       0x02, 0x00, 0x00, 0xD3, 0xCD};
	uint8_t q[16];
	unsigned a = 99;
	uint8_t reg = 0;
	struct bms_reading r;

	ck_assert_uint_eq(jkpb_build_request(1, 0x1C, q, sizeof(q)), 11);
	ck_assert_mem_eq(q, info, 11);
	ck_assert(jkpb_is_request(q, 11, &a, &reg));
	ck_assert_uint_eq(a, 1);
	ck_assert_uint_eq(reg, 0x1C);
	ck_assert(!jkpb_is_ack(q, 11, NULL, NULL));
	ck_assert_uint_eq(jkpb_build_request(15, 0x20, q, sizeof(q)), 11);
	ck_assert_uint_eq(jkpb_build_request(16, 0x20, q, sizeof(q)), 0);
	ck_assert_uint_eq(jkpb_build_request(1, 0x20, q, 10), 0);
	ck_assert_uint_eq(jkpb_build_request(1, 0x20, NULL, 64), 0);
	/* the echo of a request is no answer */
	memset(&r, 0, sizeof(r));
	ck_assert_uint_eq(jkpb_build_request(1, 0x20, q, sizeof(q)), 11);
	ck_assert_int_eq(
		jkpb_driver.decode(step_for(JKPB_REG_STATUS), 1, q, 11, &r),
		DRV_ERR_UNEXPECTED);
	ck_assert_uint_eq(
		jkpb_crc16((const uint8_t *)"\x01\x10\x16\x20\x00\x01", 6),
		0x4B04);
	ck_assert_uint_eq(jkpb_sum8((const uint8_t *)"\xFF\x02", 2), 1);
}
END_TEST

/* ---------------------------- scanning ----------------------------- */

static long find_answer(const uint8_t *buf, size_t len, unsigned addr,
			struct bms_reading *r)
{
	size_t pos = 0;

	while (pos < len) {
		size_t skip = 0, flen = 0;
		enum drv_decode rc;

		if (jkpb_driver.scan(buf + pos, len - pos, &skip, &flen) ==
		    DRV_SCAN_NEED_MORE)
			return -1;
		ck_assert_uint_le(skip + flen, len - pos);
		rc = jkpb_driver.decode(step_for(JKPB_REG_STATUS), addr,
					buf + pos + skip, flen, r);
		if (rc == DRV_OK)
			return (long)(pos + skip);
		pos += skip + (rc == DRV_ERR_UNEXPECTED ? flen : 1);
	}
	return -1;
}

START_TEST(test_scan)
{
	static uint8_t buf[4096];
	uint8_t f[MAX_ANSWER];
	struct bms_reading r;
	size_t n, skip, flen;

	status_frame(f);
	/* noise, our echo, then the answer */
	memcpy(buf, "\xFF\x20\x10", 3);
	n = 3 + jkpb_build_request(1, JKPB_REG_STATUS, buf + 3, 11);
	memcpy(buf + n, f, JKPB_ANSWER_MIN);
	ck_assert_int_eq(
		jkpb_driver.scan(buf, n + JKPB_ANSWER_MIN, &skip, &flen),
		DRV_SCAN_FRAME);
	ck_assert_uint_eq(skip, 3);
	ck_assert_uint_eq(flen, 11);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(find_answer(buf, n + JKPB_ANSWER_MIN, 1, &r), (long)n);
	ck_assert_double_eq_tol(r.voltage, 26.852, VEC_TOL);
	/* noise only: dropped, but a possible start at the end is kept */
	ck_assert_int_eq(jkpb_driver.scan(buf, 3, &skip, &flen),
			 DRV_SCAN_NEED_MORE);
	ck_assert_uint_eq(skip, 3);
	ck_assert_int_eq(jkpb_driver.scan((const uint8_t *)"\xFF\x55\xAA", 3,
					  &skip, &flen),
			 DRV_SCAN_NEED_MORE);
	ck_assert_uint_eq(skip, 1);
	ck_assert_int_eq(jkpb_driver.scan((const uint8_t *)"\xFF\x05\x10", 3,
					  &skip, &flen),
			 DRV_SCAN_NEED_MORE);
	ck_assert_uint_eq(skip, 1);
	/* a lone acknowledgement is a frame of its own */
	memcpy(buf, f + 300, 8);
	ck_assert_int_eq(jkpb_driver.scan(buf, 8, &skip, &flen),
			 DRV_SCAN_FRAME);
	ck_assert_uint_eq(flen, 8);
	/* a frame without its acknowledgement: 300 bytes, rejected, and the
	 * next answer is found */
	memcpy(buf, f, 300);
	memset(buf + 300, 0x77, 9);
	memcpy(buf + 309, f, JKPB_ANSWER_MIN);
	ck_assert_int_eq(
		jkpb_driver.scan(buf, 309 + JKPB_ANSWER_MIN, &skip, &flen),
		DRV_SCAN_FRAME);
	ck_assert_uint_eq(flen, 300);
	ck_assert_int_eq(find_answer(buf, 309 + JKPB_ANSWER_MIN, 1, &r), 309);
	/* a damaged answer, then a good one */
	memcpy(buf, f, JKPB_ANSWER_MIN);
	buf[100] ^= 4;
	memcpy(buf + JKPB_ANSWER_MIN, f, JKPB_ANSWER_MIN);
	ck_assert_int_eq(find_answer(buf, 2 * JKPB_ANSWER_MIN, 1, &r),
			 JKPB_ANSWER_MIN);
	/* the 00 between frame and acknowledgement: wait for it */
	memcpy(buf, f, 300);
	buf[300] = 0x00;
	memcpy(buf + 301, f + 300, 8);
	ck_assert_int_eq(jkpb_driver.scan(buf, 308, &skip, &flen),
			 DRV_SCAN_NEED_MORE);
	ck_assert_int_eq(jkpb_driver.scan(buf, 309, &skip, &flen),
			 DRV_SCAN_FRAME);
	ck_assert_uint_eq(flen, 309);
	/* an impossible FC16 head: 8 bytes, rejected */
	memcpy(buf, "\x01\x10\x16\x20\x00\x00\x00\x00\x00", 9);
	ck_assert_int_eq(jkpb_driver.scan(buf, 9, &skip, &flen),
			 DRV_SCAN_FRAME);
	ck_assert_uint_eq(flen, 8);
	ck_assert_int_eq(jkpb_driver.scan(NULL, 0, &skip, &flen),
			 DRV_SCAN_NEED_MORE);
}
END_TEST

START_TEST(test_driver_table)
{
	ck_assert_ptr_eq(drv_find("jk-pb"), &jkpb_driver);
	ck_assert_str_eq(jkpb_driver.name, "jk-pb");
	ck_assert_uint_eq(jkpb_driver.default_baud, 115200);
	ck_assert_uint_le(jkpb_driver.default_timeout_ms, 1000);
	ck_assert(jkpb_driver.addressed);
	ck_assert_uint_eq(jkpb_driver.min_addr, 1);
	ck_assert_uint_eq(jkpb_driver.max_addr, 15);
	ck_assert_ptr_nonnull(jkpb_driver.addr_hint);
	ck_assert_ptr_eq(jkpb_driver.foreign, jkpb_foreign);
	ck_assert_ptr_nonnull(strstr(jkpb_driver.foreign_hint, "DIP"));
	ck_assert_uint_ge(jkpb_driver.listen_ms, 1000);
	ck_assert_uint_eq(jkpb_driver.nsteps, 2);
	ck_assert_uint_eq(jkpb_driver.steps[0].id, JKPB_REG_STATUS);
	ck_assert(!jkpb_driver.steps[0].once && !jkpb_driver.steps[0].optional);
	ck_assert_uint_eq(jkpb_driver.steps[1].id, JKPB_REG_INFO);
	ck_assert(jkpb_driver.steps[1].once);
	ck_assert_ptr_null(jkpb_driver.build_stack);
}
END_TEST

static Suite *jkpb_suite(void)
{
	Suite *s = suite_create("jkpb");
	TCase *tc = tcase_create("captures");

	tcase_add_test(tc, test_capture_addr1);
	tcase_add_test(tc, test_capture_master_slave);
	tcase_add_test(tc, test_master_unsolicited);
	tcase_add_test(tc, test_foreign);
	tcase_add_test(tc, test_corruption);
	tcase_add_test(tc, test_truncation);
	suite_add_tcase(s, tc);

	tc = tcase_create("codec");
	tcase_add_test(tc, test_status_fields);
	tcase_add_test(tc, test_sensors);
	tcase_add_test(tc, test_alarm_bits);
	tcase_add_test(tc, test_info_fields);
	tcase_add_test(tc, test_who_answered);
	tcase_add_test(tc, test_requests);
	tcase_add_test(tc, test_scan);
	tcase_add_test(tc, test_driver_table);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jkpb_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
