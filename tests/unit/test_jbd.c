/* SPDX-License-Identifier: MIT */
/*
 * test_jbd.c - the JBD codec against the vendor's worked example
 * (tests/data/jbd-doc-example.*), corruption, truncation, framing errors,
 * scanning and resynchronisation; plus the reading helpers, the driver
 * registry and the test-vector reader.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"
#include "jbd.h"
#include "reading.h"
#include "vec_assert.h"
#include "vec_reading.h"
#include "vectors.h"

/* The vendor's 0x03 payload (27 bytes): 58.88 V, 0 A, 7.20/10.00 Ah... */
static const uint8_t doc_basic[] = {
	0x17, 0x00, 0x00, 0x00, 0x02, 0xD0, 0x03, 0xE8, 0x00,
	0x00, 0x20, 0x78, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x10, 0x48, 0x03, 0x0F, 0x02, 0x0B, 0x76, 0x0B, 0x82,
};

/* The vendor's 0x05 example answer: "0123456789" without a length prefix. */
static const uint8_t doc_model_frame[] = {
	0xDD, 0x05, 0x00, 0x0A, 0x30, 0x31, 0x32, 0x33, 0x34,
	0x35, 0x36, 0x37, 0x38, 0x39, 0xFD, 0xE9, 0x77,
};

static const struct drv_step *step_for(uint8_t reg)
{
	for (unsigned i = 0; i < jbd_driver.nsteps; i++)
		if (jbd_driver.steps[i].id == reg)
			return &jbd_driver.steps[i];
	ck_abort_msg("no JBD step for register 0x%02x", reg);
	return NULL;
}

/* A response frame with a correct checksum; returns its length. */
static size_t mkframe(uint8_t reg, uint8_t status, const uint8_t *d, size_t n,
		      uint8_t *out)
{
	uint16_t chk;

	ck_assert_uint_le(n, 255);
	out[0] = JBD_START;
	out[1] = reg;
	out[2] = status;
	out[3] = (uint8_t)n;
	if (n)
		memcpy(out + 4, d, n);
	chk = jbd_checksum(out + 2, n + 2);
	out[4 + n] = (uint8_t)(chk >> 8);
	out[5 + n] = (uint8_t)chk;
	out[6 + n] = JBD_END;
	return n + 7;
}

static enum drv_decode decode_as(uint8_t reg, const uint8_t *f, size_t len,
				 struct bms_reading *r)
{
	return jbd_driver.decode(step_for(reg), 0, f, len, r);
}

/*
 * Every ">>>" must be exactly what we would send, and the "<<<" after it
 * must decode as the answer to that request. Returns the number of answers.
 */
static unsigned decode_capture(const struct vec_capture *cap,
			       struct bms_reading *r)
{
	unsigned answers = 0;

	for (size_t i = 0; i < cap->n; i++) {
		const struct vec_frame *q = &cap->frames[i], *a;
		const struct drv_step *step;
		uint8_t req[16];
		size_t n;

		ck_assert_msg(q->dir == VEC_HOST, "%s:%u: expected a request",
			      cap->path, q->line);
		ck_assert_msg(q->len >= 3 && i + 1 < cap->n, "%s:%u: short",
			      cap->path, q->line);
		step = step_for(q->data[2]);
		n = jbd_driver.build_request(step, 0, req, sizeof(req));
		ck_assert_uint_eq(n, q->len);
		ck_assert_msg(memcmp(req, q->data, n) == 0,
			      "%s:%u: request differs", cap->path, q->line);
		a = &cap->frames[++i];
		ck_assert_msg(a->dir == VEC_BATTERY, "%s:%u: expected answer",
			      cap->path, a->line);
		ck_assert_msg(jbd_driver.decode(step, 0, a->data, a->len, r) ==
				      DRV_OK,
			      "%s:%u: answer rejected", cap->path, a->line);
		answers++;
	}
	return answers;
}

/* --- expectations: the shared keys (vec_reading.h) and JBD's own. --- */

/* JBD's 13 protection bits are the mapped flags, bit for bit. */
static void check_protection(const struct vec_expect *e,
			     const struct vec_kv *kv,
			     const struct bms_reading *r, const void *ctx)
{
	long v = vec_want_long(e, kv);

	(void)ctx;
	ck_assert_uint_eq(r->protection_raw, (uint32_t)v);
	ck_assert_uint_eq(r->protection, (uint32_t)v & 0x1fffu);
}

static void check_manufactured(const struct vec_expect *e,
			       const struct vec_kv *kv,
			       const struct bms_reading *r, const void *ctx)
{
	(void)e;
	(void)ctx;
	ck_assert_str_eq(r->manufactured, kv->value);
}

static const struct vec_check jbd_checks[] = {
	{"protection", check_protection},
	{"manufactured", check_manufactured},
};

static void check_expectations(const struct vec_expect *e,
			       const struct bms_reading *r)
{
	vec_check_reading(e, r, jbd_checks,
			  sizeof(jbd_checks) / sizeof(jbd_checks[0]), NULL);
}

/* ------------------------------------------------------------------ */

START_TEST(test_doc_example)
{
	struct vec_capture cap;
	struct vec_expect e;
	struct bms_reading r;

	memset(&r, 0, sizeof(r));
	vec_load_capture("jbd-doc-example.cap", &cap);
	vec_load_expect("jbd-doc-example.expect", &e);
	ck_assert_uint_eq(cap.n, 4);
	ck_assert_uint_eq(decode_capture(&cap, &r), 2);
	ck_assert_uint_ge(e.n, 14);
	check_expectations(&e, &r);
	ck_assert_uint_eq(r.have, BMS_HAVE_BASIC | BMS_HAVE_TEMPS |
					  BMS_HAVE_PROTECTION |
					  BMS_HAVE_FIRMWARE | BMS_HAVE_CELLS);
	ck_assert_uint_eq(r.balancing, 0);
	vec_capture_free(&cap);
	vec_expect_free(&e);
}
END_TEST

START_TEST(test_build_read)
{
	static const uint8_t want3[] = {0xDD, 0xA5, 0x03, 0x00,
					0xFF, 0xFD, 0x77};
	static const uint8_t want5[] = {0xDD, 0xA5, 0x05, 0x00,
					0xFF, 0xFB, 0x77};
	uint8_t buf[8];

	ck_assert_uint_eq(jbd_build_read(3, buf, sizeof(buf)), 7);
	ck_assert_mem_eq(buf, want3, 7);
	ck_assert_uint_eq(jbd_build_read(5, buf, 7), 7);
	ck_assert_mem_eq(buf, want5, 7);
	ck_assert_uint_eq(jbd_build_read(3, buf, 6), 0);
	ck_assert_uint_eq(jbd_driver.build_request(step_for(4), 0, buf, 6), 0);
	ck_assert_uint_eq(jbd_checksum(NULL, 0), 0);
	ck_assert_uint_eq(jbd_checksum((const uint8_t *)"\x01", 1), 0xFFFF);
}
END_TEST

START_TEST(test_doc_model_frame)
{
	struct bms_reading r;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(
		decode_as(5, doc_model_frame, sizeof(doc_model_frame), &r),
		DRV_OK);
	ck_assert_str_eq(r.model, "0123456789");
	ck_assert_uint_eq(r.have, BMS_HAVE_MODEL);
}
END_TEST

/*
 * Every single-byte change of every answer is rejected, reading intact.
 * (The response's register byte is outside the checksum, but a changed
 * register no longer matches the step, so it is rejected too.)
 */
static const struct {
	bool set; /* set the byte to v, else xor it with v */
	uint8_t v;
} mutations[] = {
	{false, 0x01}, {false, 0x80}, {false, 0xFF}, {true, 0x00},
	{true, 0xDD},  {true, 0x77},  {true, 0xA5},  {true, 0x05},
};

static void mutate_all(const struct vec_frame *a)
{
	uint8_t f[300];

	for (size_t pos = 0; pos < a->len; pos++) {
		for (size_t k = 0; k < sizeof(mutations) / sizeof(*mutations);
		     k++) {
			struct bms_reading r, before;

			memcpy(f, a->data, a->len);
			f[pos] = mutations[k].set
					 ? mutations[k].v
					 : (uint8_t)(f[pos] ^ mutations[k].v);
			if (f[pos] == a->data[pos])
				continue;
			memset(&r, 0x5a, sizeof(r));
			memcpy(&before, &r, sizeof(r));
			ck_assert_msg(decode_as(a->data[1], f, a->len, &r) !=
					      DRV_OK,
				      "line %u: byte %zu = 0x%02x accepted",
				      a->line, pos, f[pos]);
			ck_assert_mem_eq(&r, &before, sizeof(r));
			/* As the answer to any step: must not crash. (A
			 * register byte changed into another step's register
			 * is a valid answer to that step.) */
			for (unsigned s = 0; s < jbd_driver.nsteps; s++)
				(void)jbd_driver.decode(&jbd_driver.steps[s], 0,
							f, a->len, &r);
		}
	}
}

START_TEST(test_corruption)
{
	struct vec_capture cap;
	unsigned answers = 0;

	vec_load_capture("jbd-doc-example.cap", &cap);
	for (size_t i = 0; i < cap.n; i++) {
		if (cap.frames[i].dir != VEC_BATTERY)
			continue;
		mutate_all(&cap.frames[i]);
		answers++;
	}
	ck_assert_uint_eq(answers, 2);
	vec_capture_free(&cap);
}
END_TEST

START_TEST(test_truncation)
{
	struct vec_capture cap;

	vec_load_capture("jbd-doc-example.cap", &cap);
	for (size_t i = 0; i < cap.n; i++) {
		const struct vec_frame *a = &cap.frames[i];

		for (size_t n = 0; n < a->len; n++) {
			const uint8_t *d = NULL;
			size_t dl = 0, skip = 99, flen = 99;
			uint8_t reg = 0;

			ck_assert_int_eq(
				jbd_check_frame(a->data, n, &reg, &d, &dl),
				DRV_ERR_FRAME);
			ck_assert_int_eq(
				jbd_driver.scan(a->data, n, &skip, &flen),
				DRV_SCAN_NEED_MORE);
			ck_assert_uint_eq(skip, 0);
		}
		/* And the whole frame scans as exactly one frame. */
		{
			size_t skip = 99, flen = 0;

			ck_assert_int_eq(
				jbd_driver.scan(a->data, a->len, &skip, &flen),
				DRV_SCAN_FRAME);
			ck_assert_uint_eq(skip, 0);
			ck_assert_uint_eq(flen, a->len);
		}
	}
	vec_capture_free(&cap);
}
END_TEST

START_TEST(test_frame_errors)
{
	uint8_t f[64], g[64];
	const uint8_t *d = NULL;
	size_t n, dl = 0;
	uint8_t reg = 0;
	struct bms_reading r;

	memset(&r, 0, sizeof(r));
	n = mkframe(3, 0, doc_basic, sizeof(doc_basic), f);
	ck_assert_int_eq(jbd_check_frame(f, n, &reg, &d, &dl), DRV_OK);
	ck_assert_uint_eq(reg, 3);
	ck_assert_ptr_eq(d, f + 4);
	ck_assert_uint_eq(dl, sizeof(doc_basic));

	memcpy(g, f, n); /* bad checksum */
	g[n - 2] ^= 0x01;
	ck_assert_int_eq(jbd_check_frame(g, n, &reg, &d, &dl), DRV_ERR_FRAME);
	memcpy(g, f, n); /* bad start */
	g[0] = 0xDC;
	ck_assert_int_eq(jbd_check_frame(g, n, &reg, &d, &dl), DRV_ERR_FRAME);
	memcpy(g, f, n); /* bad end */
	g[n - 1] = 0x78;
	ck_assert_int_eq(jbd_check_frame(g, n, &reg, &d, &dl), DRV_ERR_FRAME);
	/* length byte one off, checksum recomputed: size mismatch */
	memcpy(g, f, n);
	g[3]++;
	{
		uint16_t c = jbd_checksum(g + 2, sizeof(doc_basic) + 2);

		g[n - 3] = (uint8_t)(c >> 8);
		g[n - 2] = (uint8_t)c;
	}
	ck_assert_int_eq(jbd_check_frame(g, n, &reg, &d, &dl), DRV_ERR_FRAME);
	/* frame longer than the length byte says */
	memcpy(g, f, n);
	g[n] = 0x00;
	ck_assert_int_eq(jbd_check_frame(g, n + 1, &reg, &d, &dl),
			 DRV_ERR_FRAME);

	/* error status: the battery's refusal, for our register */
	n = mkframe(3, 0x80, NULL, 0, g);
	reg = 0;
	ck_assert_int_eq(jbd_check_frame(g, n, &reg, &d, &dl), DRV_ERR_STATUS);
	ck_assert_uint_eq(reg, 3);
	ck_assert_int_eq(decode_as(3, g, n, &r), DRV_ERR_STATUS);
	/* ... but an error for another register is not ours */
	ck_assert_int_eq(decode_as(4, g, n, &r), DRV_ERR_UNEXPECTED);

	/* our own request, echoed */
	n = jbd_build_read(3, g, sizeof(g));
	ck_assert_int_eq(jbd_check_frame(g, n, &reg, &d, &dl),
			 DRV_ERR_UNEXPECTED);
	ck_assert_int_eq(decode_as(3, g, n, &r), DRV_ERR_UNEXPECTED);

	/* a good frame for another register */
	n = mkframe(4, 0, doc_basic, 4, g);
	ck_assert_int_eq(decode_as(3, g, n, &r), DRV_ERR_UNEXPECTED);
	ck_assert_int_eq(jbd_driver.decode(NULL, 0, g, n, &r),
			 DRV_ERR_UNEXPECTED);
	ck_assert_int_eq(jbd_check_frame(NULL, 0, NULL, NULL, NULL),
			 DRV_ERR_FRAME);
	ck_assert_uint_eq(r.have, 0);
}
END_TEST

START_TEST(test_basic_trailing_data)
{
	uint8_t p[sizeof(doc_basic) + 3], f[64];
	struct bms_reading a, b;
	size_t n;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	n = mkframe(3, 0, doc_basic, sizeof(doc_basic), f);
	ck_assert_int_eq(decode_as(3, f, n, &a), DRV_OK);
	/* as in the vendor's V13 document: "... 0B 82 AA BB CC" */
	memcpy(p, doc_basic, sizeof(doc_basic));
	memcpy(p + sizeof(doc_basic), "\xAA\xBB\xCC", 3);
	n = mkframe(3, 0, p, sizeof(p), f);
	ck_assert_uint_eq(f[3], 0x1E);
	ck_assert_int_eq(decode_as(3, f, n, &b), DRV_OK);
	ck_assert_mem_eq(&a, &b, sizeof(a));
	ck_assert_uint_eq(a.ntemps, 2);
}
END_TEST

static enum drv_decode parse_basic_patch(size_t off, uint8_t v,
					 struct bms_reading *r)
{
	uint8_t p[sizeof(doc_basic)];

	memcpy(p, doc_basic, sizeof(p));
	p[off] = v;
	return jbd_parse_basic(p, sizeof(p), r);
}

START_TEST(test_basic_fields)
{
	uint8_t p[23 + 16];
	struct bms_reading r, before;

	/* voltage, signed current, capacities, cycles, soc, fets, balance */
	memset(p, 0, sizeof(p));
	memcpy(p, "\x14\xD2\xFC\x18\x27\x10\x4E\x20\x01\x2C", 10);
	memcpy(p + 12, "\x80\x01\x00\x02", 4);
	p[18] = 0x16;
	p[19] = 50;
	p[20] = 0x02;
	p[21] = 32;
	p[22] = 8;
	for (int i = 0; i < 8; i++) {
		p[23 + 2 * i] = (uint8_t)((2731 - 150 + 10 * i) >> 8);
		p[24 + 2 * i] = (uint8_t)((2731 - 150 + 10 * i) & 0xff);
	}
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(jbd_parse_basic(p, sizeof(p), &r), DRV_OK);
	ck_assert_uint_eq(r.have, BMS_HAVE_BASIC | BMS_HAVE_TEMPS |
					  BMS_HAVE_PROTECTION |
					  BMS_HAVE_FIRMWARE);
	ck_assert_double_eq_tol(r.voltage, 53.30, VEC_TOL);
	ck_assert_double_eq_tol(r.current, -10.00, VEC_TOL);
	ck_assert_double_eq_tol(r.remaining_ah, 100.00, VEC_TOL);
	ck_assert_double_eq_tol(r.nominal_ah, 200.00, VEC_TOL);
	ck_assert_int_eq(r.cycles, 300);
	ck_assert_double_eq_tol(r.soc, 50, VEC_TOL);
	ck_assert_int_eq(r.charge_fet, 0);
	ck_assert_int_eq(r.discharge_fet, 1);
	ck_assert_uint_eq(r.balancing, 0x00028001u); /* cells 1, 16, 18 */
	ck_assert_str_eq(r.firmware, "1.6");
	ck_assert_str_eq(r.manufactured, ""); /* date 0 */
	ck_assert_uint_eq(r.ntemps, 8);
	for (int i = 0; i < 8; i++)
		ck_assert_double_eq_tol(r.temp_c[i], -15.0 + i, VEC_TOL);
	ck_assert_uint_eq(r.ncells, 0); /* cells come from 0x04 only */

	/* rejections leave the reading untouched */
	memcpy(&before, &r, sizeof(r));
	ck_assert_int_eq(jbd_parse_basic(p, 22, &r), DRV_ERR_FRAME);
	ck_assert_int_eq(jbd_parse_basic(p, 23 + 15, &r), DRV_ERR_FRAME);
	ck_assert_int_eq(parse_basic_patch(21, 33, &r), DRV_ERR_FRAME);
	ck_assert_int_eq(parse_basic_patch(22, 3, &r), DRV_ERR_FRAME);
	ck_assert_int_eq(parse_basic_patch(19, 101, &r), DRV_ERR_FRAME);
	p[22] = 9;
	ck_assert_int_eq(jbd_parse_basic(p, sizeof(p), &r), DRV_ERR_FRAME);
	ck_assert_int_eq(jbd_parse_basic(NULL, 0, &r), DRV_ERR_FRAME);
	ck_assert_mem_eq(&r, &before, sizeof(r));
	/* 100 % and no NTC at all are fine */
	ck_assert_int_eq(parse_basic_patch(19, 100, &r), DRV_OK);
	p[22] = 0;
	ck_assert_int_eq(jbd_parse_basic(p, 23, &r), DRV_OK);
	ck_assert_uint_eq(r.ntemps, 0);
	ck_assert_double_eq(r.temp_c[0], 0);
}
END_TEST

static const char *const prot_tokens[] = {
	"cell_overvoltage",
	"cell_undervoltage",
	"pack_overvoltage",
	"pack_undervoltage",
	"charge_overtemperature",
	"charge_undertemperature",
	"discharge_overtemperature",
	"discharge_undertemperature",
	"charge_overcurrent",
	"discharge_overcurrent",
	"short_circuit",
	"frontend_error",
	"mosfet_lock",
};

START_TEST(test_protection_bits)
{
	static const uint32_t want[13] = {
		BMS_PROT_CELL_OV, BMS_PROT_CELL_UV, BMS_PROT_PACK_OV,
		BMS_PROT_PACK_UV, BMS_PROT_CHG_OT,  BMS_PROT_CHG_UT,
		BMS_PROT_DSG_OT,  BMS_PROT_DSG_UT,  BMS_PROT_CHG_OC,
		BMS_PROT_DSG_OC,  BMS_PROT_SHORT,   BMS_PROT_AFE,
		BMS_PROT_LOCK,
	};

	for (unsigned b = 0; b < 16; b++) {
		uint8_t p[sizeof(doc_basic)];
		struct bms_reading r;

		memset(&r, 0, sizeof(r));
		memcpy(p, doc_basic, sizeof(p));
		p[16] = (uint8_t)((1u << b) >> 8);
		p[17] = (uint8_t)((1u << b) & 0xff);
		ck_assert_int_eq(jbd_parse_basic(p, sizeof(p), &r), DRV_OK);
		ck_assert_uint_eq(r.protection_raw, 1u << b);
		ck_assert_uint_eq(r.protection, b < 13 ? want[b] : 0);
		ck_assert_uint_eq(r.have & BMS_HAVE_PROTECTION,
				  BMS_HAVE_PROTECTION);
	}
}
END_TEST

START_TEST(test_protection_names)
{
	ck_assert_int_eq(BMS_PROT_COUNT, 13);
	for (unsigned b = 0; b < 32; b++) {
		const char *name = bms_protection_name(1u << b);

		if (b < 13)
			ck_assert_str_eq(name, prot_tokens[b]);
		else
			ck_assert_ptr_null(name);
	}
	ck_assert_ptr_null(bms_protection_name(0));
	ck_assert_ptr_null(
		bms_protection_name(BMS_PROT_CELL_OV | BMS_PROT_CELL_UV));
}
END_TEST

static const char *date_of(uint16_t v)
{
	static struct bms_reading r;
	uint8_t p[sizeof(doc_basic)];

	memset(&r, 0, sizeof(r));
	memcpy(p, doc_basic, sizeof(p));
	p[10] = (uint8_t)(v >> 8);
	p[11] = (uint8_t)(v & 0xff);
	ck_assert_int_eq(jbd_parse_basic(p, sizeof(p), &r), DRV_OK);
	return r.manufactured;
}

#define DATE(y, m, d) ((uint16_t)(((y)-2000) << 9 | (m) << 5 | (d)))

START_TEST(test_dates)
{
	ck_assert_str_eq(date_of(0x2078), "2016-03-24");
	ck_assert_str_eq(date_of(DATE(2000, 1, 1)), "2000-01-01");
	ck_assert_str_eq(date_of(DATE(2127, 12, 31)), "2127-12-31");
	ck_assert_str_eq(date_of(DATE(2024, 2, 29)), "2024-02-29");
	ck_assert_str_eq(date_of(DATE(2000, 2, 29)), "2000-02-29");
	ck_assert_str_eq(date_of(DATE(2023, 2, 29)), "");
	ck_assert_str_eq(date_of(DATE(2100, 2, 29)), "");
	ck_assert_str_eq(date_of(DATE(2023, 4, 31)), "");
	ck_assert_str_eq(date_of(DATE(2023, 4, 30)), "2023-04-30");
	ck_assert_str_eq(date_of(DATE(2023, 0, 10)), "");
	ck_assert_str_eq(date_of(DATE(2023, 13, 10)), "");
	ck_assert_str_eq(date_of(DATE(2023, 15, 31)), "");
	ck_assert_str_eq(date_of(DATE(2023, 5, 0)), "");
	ck_assert_str_eq(date_of(0), "");
	ck_assert_str_eq(date_of(0xFFFF), "");
}
END_TEST

static const char *firmware_of(uint8_t v)
{
	static struct bms_reading r;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(parse_basic_patch(18, v, &r), DRV_OK);
	ck_assert_uint_eq(r.have & BMS_HAVE_FIRMWARE, BMS_HAVE_FIRMWARE);
	return r.firmware;
}

START_TEST(test_firmware)
{
	ck_assert_str_eq(firmware_of(0x10), "1.0");
	ck_assert_str_eq(firmware_of(0x16), "1.6");
	ck_assert_str_eq(firmware_of(0x00), "0.0");
	ck_assert_str_eq(firmware_of(0x2A), "2.10");
	ck_assert_str_eq(firmware_of(0xFF), "15.15");
}
END_TEST

START_TEST(test_cells)
{
	uint8_t p[2 * BMS_MAX_CELLS + 2];
	struct bms_reading r, before;

	for (unsigned i = 0; i < sizeof(p) / 2; i++) {
		p[2 * i] = (uint8_t)((3000 + i) >> 8);
		p[2 * i + 1] = (uint8_t)((3000 + i) & 0xff);
	}
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(jbd_parse_cells(p, 2 * BMS_MAX_CELLS, &r), DRV_OK);
	ck_assert_uint_eq(r.ncells, BMS_MAX_CELLS);
	ck_assert_double_eq_tol(r.cell_v[0], 3.000, VEC_TOL);
	ck_assert_double_eq_tol(r.cell_v[31], 3.031, VEC_TOL);
	ck_assert_int_eq(jbd_parse_cells(p, 2, &r), DRV_OK);
	ck_assert_uint_eq(r.ncells, 1);
	ck_assert_double_eq(r.cell_v[1], 0); /* no stale cells left */
	ck_assert_uint_eq(r.have, BMS_HAVE_CELLS);
	memcpy(&before, &r, sizeof(r));
	ck_assert_int_eq(jbd_parse_cells(p, 0, &r), DRV_ERR_FRAME);
	ck_assert_int_eq(jbd_parse_cells(p, 3, &r), DRV_ERR_FRAME);
	ck_assert_int_eq(jbd_parse_cells(p, sizeof(p), &r), DRV_ERR_FRAME);
	ck_assert_mem_eq(&r, &before, sizeof(r));
}
END_TEST

static const char *model_of(const void *d, size_t n)
{
	static struct bms_reading r;

	memset(&r, 0x11, sizeof(r));
	r.have = 0;
	ck_assert_int_eq(jbd_parse_model(d, n, &r), DRV_OK);
	ck_assert_uint_eq(r.have, BMS_HAVE_MODEL);
	ck_assert_uint_lt(strlen(r.model), BMS_TEXT_LEN);
	return r.model;
}

START_TEST(test_model)
{
	static const char esphome[] = "JBD-SP04S034-L4S-200A-B-U";
	char long_name[70];

	/* plain (vendor document, esphome-jbd-bms) */
	ck_assert_str_eq(model_of(esphome, 25), esphome);
	/* length-prefixed (bms-tools register map) */
	ck_assert_str_eq(model_of("\x0bSP04S034-AB", 12), "SP04S034-AB");
	ck_assert_str_eq(model_of("\x00", 1), "");
	/* a first byte that does not match the length is text */
	ck_assert_str_eq(model_of("\x05"
				  "ABC",
				  4),
			 "?ABC");
	/* padding dropped, other control bytes replaced */
	ck_assert_str_eq(model_of("ABC\0\0  \0", 8), "ABC");
	ck_assert_str_eq(model_of("A\tB\x80"
				  "C\x7f",
				  6),
			 "A?B?C?");
	ck_assert_str_eq(model_of("A\0B", 3), "A?B");
	ck_assert_str_eq(model_of("", 0), "");
	/* truncated to BMS_TEXT_LEN - 1 */
	memset(long_name, 'x', sizeof(long_name));
	ck_assert_uint_eq(strlen(model_of(long_name, sizeof(long_name))),
			  BMS_TEXT_LEN - 1);
	/* 255-byte payload through the whole driver */
	{
		uint8_t p[255], f[300];
		struct bms_reading r;
		size_t n;

		memset(p, 'M', sizeof(p));
		memset(&r, 0, sizeof(r));
		n = mkframe(5, 0, p, sizeof(p), f);
		ck_assert_int_eq(decode_as(5, f, n, &r), DRV_OK);
		ck_assert_uint_eq(strlen(r.model), BMS_TEXT_LEN - 1);
	}
}
END_TEST

/* ---------------------------- scanning ---------------------------- */

/*
 * The chain's receive loop: scan, decode; on failure drop ONE byte and
 * rescan. Returns the offset of the frame that decoded, or -1.
 */
static long find_answer(const uint8_t *buf, size_t len,
			const struct drv_step *step, struct bms_reading *r)
{
	size_t pos = 0;

	while (pos < len) {
		size_t skip = 0, flen = 0;

		if (jbd_driver.scan(buf + pos, len - pos, &skip, &flen) ==
		    DRV_SCAN_NEED_MORE)
			return -1;
		ck_assert_uint_le(skip + flen, len - pos);
		ck_assert_uint_ge(flen, JBD_MIN_FRAME);
		if (jbd_driver.decode(step, 0, buf + pos + skip, flen, r) ==
		    DRV_OK)
			return (long)(pos + skip);
		pos += skip + 1;
	}
	return -1;
}

static size_t doc_basic_frame(uint8_t *f)
{
	return mkframe(3, 0, doc_basic, sizeof(doc_basic), f);
}

START_TEST(test_scan_garbage)
{
	uint8_t buf[128];
	size_t n, skip, flen;

	memcpy(buf, "\x00\x11\x77\xFF\xA5", 5);
	n = 5 + doc_basic_frame(buf + 5);
	ck_assert_int_eq(jbd_driver.scan(buf, n, &skip, &flen), DRV_SCAN_FRAME);
	ck_assert_uint_eq(skip, 5);
	ck_assert_uint_eq(flen, 34);
	/* garbage only: all of it may be dropped */
	ck_assert_int_eq(jbd_driver.scan(buf, 5, &skip, &flen),
			 DRV_SCAN_NEED_MORE);
	ck_assert_uint_eq(skip, 5);
	ck_assert_int_eq(jbd_driver.scan(buf, 0, &skip, &flen),
			 DRV_SCAN_NEED_MORE);
	ck_assert_uint_eq(skip, 0);
}
END_TEST

START_TEST(test_scan_back_to_back)
{
	uint8_t buf[128];
	size_t n1, n2, skip, flen;
	struct bms_reading r;

	memset(&r, 0, sizeof(r));
	n1 = doc_basic_frame(buf);
	n2 = mkframe(4, 0, (const uint8_t *)"\x0c\xe4\x0c\xe5", 4, buf + n1);
	ck_assert_int_eq(jbd_driver.scan(buf, n1 + n2, &skip, &flen),
			 DRV_SCAN_FRAME);
	ck_assert_uint_eq(skip, 0);
	ck_assert_uint_eq(flen, n1);
	ck_assert_int_eq(decode_as(3, buf, flen, &r), DRV_OK);
	ck_assert_int_eq(jbd_driver.scan(buf + n1, n2, &skip, &flen),
			 DRV_SCAN_FRAME);
	ck_assert_uint_eq(skip, 0);
	ck_assert_uint_eq(flen, n2);
	ck_assert_int_eq(decode_as(4, buf + n1, flen, &r), DRV_OK);
	ck_assert_uint_eq(r.ncells, 2);
	ck_assert_double_eq_tol(r.cell_v[1], 3.301, VEC_TOL);
}
END_TEST

START_TEST(test_scan_echo)
{
	uint8_t buf[128];
	size_t n, skip, flen;
	struct bms_reading r;

	memset(&r, 0, sizeof(r));
	n = jbd_build_read(3, buf, sizeof(buf));
	n += doc_basic_frame(buf + n);
	ck_assert_int_eq(jbd_driver.scan(buf, n, &skip, &flen), DRV_SCAN_FRAME);
	ck_assert_uint_eq(skip, 0);
	ck_assert_uint_eq(flen, 7); /* the echo is a frame of its own */
	ck_assert_int_eq(decode_as(3, buf, flen, &r), DRV_ERR_UNEXPECTED);
	ck_assert_int_eq(find_answer(buf, n, step_for(3), &r), 7);
	ck_assert_double_eq_tol(r.voltage, 58.88, VEC_TOL);
}
END_TEST

START_TEST(test_scan_resync)
{
	uint8_t buf[256];
	size_t n1, n;
	struct bms_reading r;

	/* bad checksum, then the good frame */
	memset(&r, 0, sizeof(r));
	n1 = doc_basic_frame(buf);
	buf[10] ^= 0x40;
	n = n1 + doc_basic_frame(buf + n1);
	ck_assert_int_eq(find_answer(buf, n, step_for(3), &r), (long)n1);
	ck_assert_double_eq_tol(r.voltage, 58.88, VEC_TOL);

	/* a 0xDD in the payload of the damaged frame is a false start */
	n1 = doc_basic_frame(buf);
	buf[8] = 0xDD;
	buf[11] = 0x02; /* "length" of the false frame: reaches into next */
	n = n1 + doc_basic_frame(buf + n1);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(find_answer(buf, n, step_for(3), &r), (long)n1);
	ck_assert_int_eq(r.cycles, 0);

	/* wrong length byte (too long): the good frame is found without
	 * waiting for the 255 bytes the bad header promises */
	n1 = doc_basic_frame(buf);
	buf[3] = 0xFF;
	n = n1 + doc_basic_frame(buf + n1);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(find_answer(buf, n, step_for(3), &r), (long)n1);
	ck_assert_double_eq_tol(r.remaining_ah, 7.2, VEC_TOL);

	/* wrong length byte (too short) */
	n1 = doc_basic_frame(buf);
	buf[3] = 0x05;
	n = n1 + doc_basic_frame(buf + n1);
	ck_assert_int_eq(find_answer(buf, n, step_for(3), &r), (long)n1);

	/* a stray start byte and a truncated frame before the answer */
	buf[0] = 0xDD;
	n1 = 1 + doc_basic_frame(buf + 1) - 10;
	n = n1 + doc_basic_frame(buf + n1);
	ck_assert_int_eq(find_answer(buf, n, step_for(3), &r), (long)n1);

	/* only an incomplete frame after a false start: wait for more */
	{
		size_t skip = 0, flen = 0;

		buf[0] = 0xDD;
		buf[1] = 0x03;
		buf[2] = 0x00;
		buf[3] = 0xFF;
		n = 4 + doc_basic_frame(buf + 4) - 1;
		ck_assert_int_eq(jbd_driver.scan(buf, n, &skip, &flen),
				 DRV_SCAN_NEED_MORE);
		ck_assert_uint_eq(skip, 0);
	}
}
END_TEST

/* --------------------- driver table and registry -------------------- */

START_TEST(test_driver_table)
{
	ck_assert_str_eq(jbd_driver.name, "jbd");
	ck_assert_uint_eq(jbd_driver.default_baud, 9600);
	ck_assert_uint_ge(jbd_driver.default_timeout_ms, 500);
	ck_assert_uint_le(jbd_driver.default_timeout_ms, 1000);
	ck_assert_int_eq(jbd_driver.addressed, 0);
	ck_assert_uint_eq(jbd_driver.nsteps, 3);
	ck_assert_uint_eq(jbd_driver.steps[0].id, JBD_REG_BASIC);
	ck_assert_int_eq(jbd_driver.steps[0].once, 0);
	ck_assert_uint_eq(jbd_driver.steps[1].id, JBD_REG_CELLS);
	ck_assert_int_eq(jbd_driver.steps[1].once, 0);
	ck_assert_uint_eq(jbd_driver.steps[2].id, JBD_REG_MODEL);
	ck_assert_int_eq(jbd_driver.steps[2].once, 1);
	for (unsigned i = 0; i < jbd_driver.nsteps; i++)
		ck_assert_ptr_nonnull(jbd_driver.steps[i].what);
	ck_assert_ptr_eq(drv_find("jbd"), &jbd_driver);
	ck_assert_ptr_null(drv_find("JBD"));
	ck_assert_ptr_null(drv_find("nope"));
	ck_assert_ptr_null(drv_find(""));
	ck_assert_ptr_null(drv_find(NULL));
	/* The registry lists jbd first; other protocols follow. */
	ck_assert_int_eq(strncmp(drv_names(), "jbd", 3), 0);
	ck_assert(drv_names()[3] == '\0' || drv_names()[3] == ',');
	ck_assert_str_eq(drv_names(), drv_names()); /* stable */
}
END_TEST

/* ---------------------------- reading.c ---------------------------- */

START_TEST(test_merge)
{
	struct bms_reading dst, src;

	memset(&dst, 0, sizeof(dst));
	dst.have = BMS_HAVE_MODEL;
	strcpy(dst.model, "keep");
	dst.voltage = 1.0;

	memset(&src, 0, sizeof(src));
	src.have = BMS_HAVE_CELLS;
	src.ncells = 2;
	src.cell_v[0] = 3.3;
	src.cell_v[1] = 3.4;
	src.voltage = 99.0;              /* not had: must not be copied */
	strcpy(src.model, "other");      /* not had */
	src.protection = BMS_PROT_SHORT; /* not had */
	bms_reading_merge(&dst, &src);
	ck_assert_uint_eq(dst.have, BMS_HAVE_MODEL | BMS_HAVE_CELLS);
	ck_assert_uint_eq(dst.ncells, 2);
	ck_assert_double_eq(dst.cell_v[1], 3.4);
	ck_assert_double_eq(dst.voltage, 1.0);
	ck_assert_str_eq(dst.model, "keep");
	ck_assert_uint_eq(dst.protection, 0);

	memset(&src, 0, sizeof(src));
	src.have = BMS_HAVE_BASIC | BMS_HAVE_PROTECTION | BMS_HAVE_TEMPS |
		   BMS_HAVE_FIRMWARE | BMS_HAVE_SERIAL;
	src.voltage = 52.1;
	src.current = -3.5;
	src.remaining_ah = 50;
	src.nominal_ah = 100;
	src.soc = 50;
	src.cycles = 7;
	src.balancing = 5;
	strcpy(src.manufactured, "2020-01-02");
	src.protection = BMS_PROT_CELL_UV;
	src.protection_raw = 2;
	src.charge_fet = true;
	src.ntemps = 1;
	src.temp_c[0] = 21.5;
	strcpy(src.firmware, "1.0");
	strcpy(src.serial, "SN1");
	src.ncells = 9; /* cells not had */
	bms_reading_merge(&dst, &src);
	ck_assert_uint_eq(dst.have, BMS_HAVE_MODEL | BMS_HAVE_CELLS | src.have);
	ck_assert_double_eq(dst.voltage, 52.1);
	ck_assert_double_eq(dst.current, -3.5);
	ck_assert_double_eq(dst.remaining_ah, 50);
	ck_assert_double_eq(dst.nominal_ah, 100);
	ck_assert_double_eq(dst.soc, 50);
	ck_assert_int_eq(dst.cycles, 7);
	ck_assert_uint_eq(dst.balancing, 5);
	ck_assert_str_eq(dst.manufactured, "2020-01-02");
	ck_assert_uint_eq(dst.protection, BMS_PROT_CELL_UV);
	ck_assert_uint_eq(dst.protection_raw, 2);
	ck_assert_int_eq(dst.charge_fet, 1);
	ck_assert_int_eq(dst.discharge_fet, 0);
	ck_assert_uint_eq(dst.ntemps, 1);
	ck_assert_double_eq(dst.temp_c[0], 21.5);
	ck_assert_str_eq(dst.firmware, "1.0");
	ck_assert_str_eq(dst.serial, "SN1");
	ck_assert_str_eq(dst.model, "keep");
	ck_assert_uint_eq(dst.ncells, 2);
}
END_TEST

/* ------------------------- the vector reader ------------------------ */

START_TEST(test_vectors_frames)
{
	uint8_t buf[16];
	char err[128];

	ck_assert_int_eq(vec_parse_frame("dd:A5:03", buf, 16, err, 128), 3);
	ck_assert_mem_eq(buf, "\xDD\xA5\x03", 3);
	ck_assert_int_eq(
		vec_parse_frame("  DD  A5\t03  # c", buf, 16, err, 128), 3);
	ck_assert_int_eq(vec_parse_frame("~2001\t# c", buf, 16, err, 128), 6);
	ck_assert_mem_eq(buf, "~2001\r", 6);
	ck_assert_int_eq(vec_parse_frame("DD A", buf, 16, err, 128), -1);
	ck_assert_int_eq(vec_parse_frame("DDA5", buf, 16, err, 128), -1);
	ck_assert_int_eq(vec_parse_frame("DD::A5", buf, 16, err, 128), -1);
	ck_assert_int_eq(vec_parse_frame("DD G5", buf, 16, err, 128), -1);
	ck_assert_int_eq(vec_parse_frame("", buf, 16, err, 128), -1);
	ck_assert_int_eq(vec_parse_frame("~20 x", buf, 16, err, 128), -1);
	ck_assert_int_eq(vec_parse_frame("01 02 03", buf, 2, err, 128), -1);
}
END_TEST

START_TEST(test_vectors_files)
{
	struct vec_capture cap;
	struct vec_expect e;
	const struct vec_kv *kv;
	double v[8];
	size_t n = 0;
	char err[256];

	vec_load_capture("pace-v25.cap", &cap);
	ck_assert_uint_eq(cap.n, 2);
	ck_assert_int_eq(cap.frames[0].dir, VEC_HOST);
	ck_assert_int_eq(cap.frames[1].dir, VEC_BATTERY);
	ck_assert_uint_eq(cap.frames[0].len, 20);
	ck_assert_mem_eq(cap.frames[0].data, "~25014642E00201FD30\r", 20);
	vec_capture_free(&cap);
	vec_load_capture("pylontech-us2000.cap", &cap);
	ck_assert_uint_eq(cap.n, 12);
	vec_capture_free(&cap);

	vec_load_expect("pylontech-us2000.expect", &e);
	kv = vec_expect_find(&e, "temperatures");
	ck_assert_ptr_nonnull(kv);
	ck_assert_int_eq(vec_kv_doubles(&e, kv, v, 8, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_double_eq(v[0], 29.0);
	ck_assert_double_eq(v[4], 26.0);
	ck_assert_int_eq(vec_kv_doubles(&e, kv, v, 4, &n, err, sizeof(err)),
			 -1);
	kv = vec_expect_find(&e, "current");
	ck_assert_int_eq(vec_kv_double(&e, kv, v, err, sizeof(err)), 0);
	ck_assert_double_eq(v[0], 2.1);
	ck_assert_ptr_null(vec_expect_find(&e, "nope"));
	vec_expect_free(&e);
}
END_TEST

/* Writes text to a temporary file; returns its path (static buffer). */
static const char *tmp_file(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_jbd.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (long)strlen(text));
	close(fd);
	return path;
}

static void expect_error(const char *text, const char *want_suffix, int capture)
{
	struct vec_capture cap;
	struct vec_expect e;
	char err[512] = "", want[600];
	const char *path = tmp_file(text);
	int rc = capture ? vec_capture_load(path, &cap, err, sizeof(err))
			 : vec_expect_load(path, &e, err, sizeof(err));

	unlink(path);
	snprintf(want, sizeof(want), "%s:%s", path, want_suffix);
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(err, want);
}

START_TEST(test_vectors_errors)
{
	struct vec_expect e;
	char err[512] = "";
	double d;
	long l;
	double list[4];
	size_t n;
	const char *path;

	expect_error("# ok\n>>> DD A5\n<<< DD X5\n",
		     "3: bad hex byte at "
		     "\"X5\"",
		     1);
	expect_error("\n\n=== DD\n", "3: expected \">>>\", \"<<<\" or \"#\"",
		     1);
	expect_error(">>>DD\n", "1: expected a blank after the direction", 1);
	expect_error("a = 1\nb\n", "2: expected \"key = value\"", 0);
	expect_error("a = 1\na = 2\n", "2: duplicate key \"a\"", 0);
	expect_error(" = 2\n", "1: bad key \"\"", 0);

	path = tmp_file("# c\nv = 1.5 # trailing\nbad = 1.5x\nhex = 0x1F\n"
			"list = 1, ,2\nempty =\nhash = a#b\n");
	ck_assert_int_eq(vec_expect_load(path, &e, err, sizeof(err)), 0);
	ck_assert_uint_eq(e.n, 6);
	ck_assert_int_eq(vec_kv_double(&e, &e.kv[0], &d, err, sizeof(err)), 0);
	ck_assert_double_eq(d, 1.5);
	ck_assert_int_eq(vec_kv_double(&e, &e.kv[1], &d, err, sizeof(err)), -1);
	{
		char want[600];

		snprintf(want, sizeof(want),
			 "%s:3: bad: not a number: \"1.5x\"", path);
		ck_assert_str_eq(err, want);
	}
	ck_assert_int_eq(vec_kv_long(&e, &e.kv[2], &l, err, sizeof(err)), 0);
	ck_assert_int_eq(l, 31);
	ck_assert_int_eq(vec_kv_long(&e, &e.kv[0], &l, err, sizeof(err)), -1);
	ck_assert_int_eq(
		vec_kv_doubles(&e, &e.kv[3], list, 4, &n, err, sizeof(err)),
		-1);
	ck_assert_str_eq(e.kv[4].value, "");
	ck_assert_str_eq(e.kv[5].value, "a#b");
	vec_expect_free(&e);
	unlink(path);
	ck_assert_int_eq(
		vec_expect_load("/nonexistent/x.expect", &e, err, sizeof(err)),
		-1);
}
END_TEST

static Suite *jbd_suite(void)
{
	Suite *s = suite_create("jbd");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, test_doc_example);
	tcase_add_test(tc, test_build_read);
	tcase_add_test(tc, test_doc_model_frame);
	tcase_add_test(tc, test_corruption);
	tcase_add_test(tc, test_truncation);
	tcase_add_test(tc, test_frame_errors);
	tcase_add_test(tc, test_basic_trailing_data);
	tcase_add_test(tc, test_basic_fields);
	tcase_add_test(tc, test_protection_bits);
	tcase_add_test(tc, test_dates);
	tcase_add_test(tc, test_firmware);
	tcase_add_test(tc, test_cells);
	tcase_add_test(tc, test_model);
	suite_add_tcase(s, tc);

	tc = tcase_create("scan");
	tcase_add_test(tc, test_scan_garbage);
	tcase_add_test(tc, test_scan_back_to_back);
	tcase_add_test(tc, test_scan_echo);
	tcase_add_test(tc, test_scan_resync);
	suite_add_tcase(s, tc);

	tc = tcase_create("registry");
	tcase_add_test(tc, test_driver_table);
	tcase_add_test(tc, test_protection_names);
	tcase_add_test(tc, test_merge);
	suite_add_tcase(s, tc);

	tc = tcase_create("vectors");
	tcase_add_test(tc, test_vectors_frames);
	tcase_add_test(tc, test_vectors_files);
	tcase_add_test(tc, test_vectors_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(jbd_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
