/* SPDX-License-Identifier: MIT */
/*
 * test_modbus.c - the Modbus RTU codec against real frames (the Seplos v3
 * bus captures of tests/data): CRC, requests byte for byte, answers and
 * exceptions, byte counts checked against the request, every single-byte
 * corruption and every truncation rejected, scanning, coil bit order.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "modbus.h"

/* Hex text to bytes ("01 04 10 00"). */
static size_t hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (*s) {
		char *end;
		unsigned long v;

		if (*s == ' ') {
			s++;
			continue;
		}
		v = strtoul(s, &end, 16);
		ck_assert_ptr_ne(end, s);
		ck_assert_uint_lt(n, cap);
		out[n++] = (uint8_t)v;
		s = end;
	}
	return n;
}

/* seplosv3-sg16s200a-addr1.cap and -master.cap */
static const char *const req_pia = "01 04 10 00 00 11 34 C6";
static const char *const ans_pia =
	"01 04 22 14 CC FF 77 6B 40 80 E8 01 22 03 40 03 E7 00 0A 0C FF 0B "
	"80 0D 00 0C FF 0B 82 0B 7E 00 00 00 B4 00 B4 15 5E";
static const char *const exc_coils = "01 81 02 C1 91";
static const char *const ans_eic =
	"00 01 0A 01 00 00 00 00 00 00 43 00 00 7F E1";
static const char *const exc_eib = "00 84 02 93 01";

static const struct mb_read rq_pia = {1, MB_FC_INPUT, 0x1000, 17};
/* (the capture's master asked for 0x0900 coils, more than a read may
 * ask: its request is not a valid read, the refusal is the same) */
static const struct mb_read rq_coils = {1, MB_FC_COILS, 0x1200, 0x90};
static const struct mb_read rq_eic = {0, MB_FC_COILS, 0x2200, 0x50};
static const struct mb_read rq_eib = {0, MB_FC_INPUT, 0x2100, 26};

START_TEST(crc_of_real_frames)
{
	static const char *const frames[] = {
		"01 04 10 00 00 11 34 C6", "01 04 11 00 00 1A 74 FD",
		"01 01 12 00 09 00 3F 22", "00 04 20 00 00 1A 7B D0",
		"00 01 22 00 00 50 37 9F", "01 81 02 C1 91",
		"00 84 02 93 01",
	};
	uint8_t f[64];

	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		size_t n = hex(frames[i], f, sizeof(f));
		uint16_t crc = mb_crc16(f, n - 2);

		ck_assert_uint_eq(f[n - 2], crc & 0xFF);
		ck_assert_uint_eq(f[n - 1], crc >> 8);
	}
	/* the standard's check value of "123456789" */
	ck_assert_uint_eq(mb_crc16((const uint8_t *)"123456789", 9), 0x4B37);
}
END_TEST

START_TEST(requests_byte_for_byte)
{
	static const struct {
		struct mb_read rq;
		const char *want;
	} t[] = {
		{{1, MB_FC_INPUT, 0x1000, 17}, "01 04 10 00 00 11 34 C6"},
		{{1, MB_FC_INPUT, 0x1100, 26}, "01 04 11 00 00 1A 74 FD"},
		{{0, MB_FC_INPUT, 0x1700, 51}, "00 04 17 00 00 33 B4 7A"},
		{{0, MB_FC_COILS, 0x2200, 0x50}, "00 01 22 00 00 50 37 9F"},
	};
	uint8_t want[16], buf[16];
	struct mb_read back;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t n = hex(t[i].want, want, sizeof(want));

		ck_assert_uint_eq(mb_build_read(&t[i].rq, buf, sizeof(buf)), n);
		ck_assert_mem_eq(buf, want, n);
		ck_assert(mb_parse_read(buf, n, &back));
		ck_assert_uint_eq(back.start, t[i].rq.start);
		ck_assert_uint_eq(back.count, t[i].rq.count);
		ck_assert_uint_eq(mb_build_read(&t[i].rq, buf, 7), 0);
	}
}
END_TEST

START_TEST(invalid_requests_not_built)
{
	uint8_t buf[16];
	struct mb_read rq = {1, MB_FC_INPUT, 0x1000, 0};

	ck_assert_uint_eq(mb_build_read(&rq, buf, sizeof(buf)), 0);
	rq.count = 126;
	ck_assert_uint_eq(mb_build_read(&rq, buf, sizeof(buf)), 0);
	rq = (struct mb_read){1, MB_FC_COILS, 0x1200, 2001};
	ck_assert_uint_eq(mb_build_read(&rq, buf, sizeof(buf)), 0);
	rq = (struct mb_read){248, MB_FC_INPUT, 0x1000, 1};
	ck_assert_uint_eq(mb_build_read(&rq, buf, sizeof(buf)), 0);
	rq = (struct mb_read){1, 0x06, 0x1000, 1};
	ck_assert_uint_eq(mb_build_read(&rq, buf, sizeof(buf)), 0);
}
END_TEST

START_TEST(register_answer)
{
	uint8_t f[64];
	size_t n = hex(ans_pia, f, sizeof(f));
	const uint8_t *d = NULL;

	ck_assert_int_eq(mb_check_answer(&rq_pia, f, n, &d, NULL), DRV_OK);
	ck_assert_ptr_eq(d, f + 3);
	ck_assert_uint_eq(mb_u16(d, 0), 5324);
	ck_assert_int_eq(mb_s16(d, 1), -137);
	ck_assert_uint_eq(mb_u16(d, 3), 33000);
	ck_assert_uint_eq(mb_u16(d, 16), 180);
}
END_TEST

START_TEST(exceptions_are_status)
{
	uint8_t f[16];
	size_t n = hex(exc_coils, f, sizeof(f));
	uint8_t code = 0;

	ck_assert_int_eq(mb_check_answer(&rq_coils, f, n, NULL, &code),
			 DRV_ERR_STATUS);
	ck_assert_uint_eq(code, 2);
	/* the same refusal is not an answer to another function or address */
	ck_assert_int_eq(mb_check_answer(&rq_pia, f, n, NULL, NULL),
			 DRV_ERR_UNEXPECTED);
	ck_assert_int_eq(mb_check_answer(&rq_eic, f, n, NULL, NULL),
			 DRV_ERR_UNEXPECTED);
	n = hex(exc_eib, f, sizeof(f));
	code = 0;
	ck_assert_int_eq(mb_check_answer(&rq_eib, f, n, NULL, &code),
			 DRV_ERR_STATUS);
	ck_assert_uint_eq(code, 2);
}
END_TEST

/* Rebuild f with a new CRC (for frames a real pack never sent). */
static void recrc(uint8_t *f, size_t n)
{
	uint16_t crc = mb_crc16(f, n - 2);

	f[n - 2] = (uint8_t)crc;
	f[n - 1] = (uint8_t)(crc >> 8);
}

START_TEST(byte_count_checked_against_the_request)
{
	uint8_t f[64];
	size_t n = hex(ans_pia, f, sizeof(f));
	struct mb_read rq = rq_pia;

	rq.count = 18; /* 36 bytes asked, 34 came */
	ck_assert_int_eq(mb_check_answer(&rq, f, n, NULL, NULL), DRV_ERR_FRAME);
	rq.count = 16;
	ck_assert_int_eq(mb_check_answer(&rq, f, n, NULL, NULL), DRV_ERR_FRAME);
	/* a count that says 32 on a frame of 34 data bytes, CRC valid */
	f[2] = 32;
	recrc(f, n);
	ck_assert_int_eq(mb_check_answer(&rq_pia, f, n, NULL, NULL),
			 DRV_ERR_FRAME);
	/* coils: 0x50 coils are 10 bytes, not 9 */
	n = hex(ans_eic, f, sizeof(f));
	rq = rq_eic;
	rq.count = 0x48;
	ck_assert_int_eq(mb_check_answer(&rq, f, n, NULL, NULL), DRV_ERR_FRAME);
	rq.count = 0x4F; /* 10 bytes, the last bit spare: must be 0 */
	ck_assert_int_eq(mb_check_answer(&rq, f, n, NULL, NULL), DRV_OK);
	f[12] = 0x80;
	recrc(f, n);
	ck_assert_int_eq(mb_check_answer(&rq, f, n, NULL, NULL), DRV_ERR_FRAME);
}
END_TEST

START_TEST(echo_and_other_answers_unexpected)
{
	uint8_t f[64];
	size_t n = hex(req_pia, f, sizeof(f));
	struct mb_read rq = rq_pia;

	ck_assert_int_eq(mb_check_answer(&rq_pia, f, n, NULL, NULL),
			 DRV_ERR_UNEXPECTED);
	n = hex(ans_pia, f, sizeof(f));
	rq.addr = 2;
	ck_assert_int_eq(mb_check_answer(&rq, f, n, NULL, NULL),
			 DRV_ERR_UNEXPECTED);
	rq = rq_pia;
	rq.fc = MB_FC_HOLDING;
	ck_assert_int_eq(mb_check_answer(&rq, f, n, NULL, NULL),
			 DRV_ERR_UNEXPECTED);
}
END_TEST

/* Every single-byte change and every truncation of a real frame is
 * refused (not OK, and not a refusal either). */
static void every_corruption(const char *text, const struct mb_read *rq,
			     enum drv_decode good)
{
	uint8_t f[64], g[64];
	size_t n = hex(text, f, sizeof(f));

	ck_assert_int_eq(mb_check_answer(rq, f, n, NULL, NULL), good);
	for (size_t i = 0; i < n; i++)
		for (unsigned v = 0; v < 256; v++) {
			enum drv_decode d;

			if (v == f[i])
				continue;
			memcpy(g, f, n);
			g[i] = (uint8_t)v;
			d = mb_check_answer(rq, g, n, NULL, NULL);
			ck_assert_msg(d == DRV_ERR_FRAME ||
					      d == DRV_ERR_UNEXPECTED,
				      "byte %zu = %02x accepted (%d)", i, v, d);
		}
	for (size_t k = 0; k < n; k++) {
		enum drv_decode d = mb_check_answer(rq, f, k, NULL, NULL);

		ck_assert_msg(d == DRV_ERR_FRAME || d == DRV_ERR_UNEXPECTED,
			      "truncated to %zu accepted (%d)", k, d);
	}
}

START_TEST(corruption_and_truncation_rejected)
{
	every_corruption(ans_pia, &rq_pia, DRV_OK);
	every_corruption(ans_eic, &rq_eic, DRV_OK);
	every_corruption(exc_coils, &rq_coils, DRV_ERR_STATUS);
	every_corruption(exc_eib, &rq_eib, DRV_ERR_STATUS);
}
END_TEST

START_TEST(coil_bits_lsb_first)
{
	uint8_t f[64];
	size_t n = hex(ans_eic, f, sizeof(f));
	const uint8_t *d = NULL;

	ck_assert_int_eq(mb_check_answer(&rq_eic, f, n, &d, NULL), DRV_OK);
	ck_assert(mb_bit(d, 0));
	ck_assert(!mb_bit(d, 1));
	ck_assert(!mb_bit(d, 7));
	/* byte 7 = 0x43: bits 56, 57 and 62 */
	ck_assert(mb_bit(d, 56));
	ck_assert(mb_bit(d, 57));
	ck_assert(!mb_bit(d, 58));
	ck_assert(mb_bit(d, 62));
	ck_assert(!mb_bit(d, 63));
}
END_TEST

START_TEST(scan_echo_then_answer)
{
	uint8_t buf[128];
	size_t n = hex("FF FE "                   /* garbage: no addresses */
		       "01 04 10 00 00 11 34 C6 " /* the echo */
		       "01 04 22 14 CC FF 77 6B 40 80 E8 01 22 03 40 03 E7 00 "
		       "0A 0C FF 0B 80 0D 00 0C FF 0B 82 0B 7E 00 00 00 B4 00 "
		       "B4 15 5E 01 81 02 C1 91",
		       buf, sizeof(buf));
	size_t skip, flen, at = 0;

	ck_assert_int_eq(mb_scan(buf, n, &skip, &flen), DRV_SCAN_FRAME);
	ck_assert_uint_eq(skip, 2);
	ck_assert_uint_eq(flen, 8);
	at = skip + flen;
	ck_assert_int_eq(mb_scan(buf + at, n - at, &skip, &flen),
			 DRV_SCAN_FRAME);
	ck_assert_uint_eq(skip, 0);
	ck_assert_uint_eq(flen, 39);
	at += flen;
	ck_assert_int_eq(mb_scan(buf + at, n - at, &skip, &flen),
			 DRV_SCAN_FRAME);
	ck_assert_uint_eq(flen, 5);
	/* every prefix of the answer alone needs more */
	for (size_t k = 0; k < 39; k++)
		ck_assert_int_eq(mb_scan(buf + 10, k, &skip, &flen),
				 DRV_SCAN_NEED_MORE);
}
END_TEST

START_TEST(scan_bad_crc_gives_a_candidate)
{
	uint8_t buf[64];
	size_t n = hex(ans_pia, buf, sizeof(buf));
	size_t skip, flen;

	buf[10] ^= 1;
	ck_assert_int_eq(mb_scan(buf, n, &skip, &flen), DRV_SCAN_FRAME);
	ck_assert_uint_eq(flen, 39);
	ck_assert_int_eq(mb_check_answer(&rq_pia, buf, flen, NULL, NULL),
			 DRV_ERR_FRAME);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("modbus");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, crc_of_real_frames);
	tcase_add_test(tc, requests_byte_for_byte);
	tcase_add_test(tc, invalid_requests_not_built);
	tcase_add_test(tc, register_answer);
	tcase_add_test(tc, exceptions_are_status);
	tcase_add_test(tc, byte_count_checked_against_the_request);
	tcase_add_test(tc, echo_and_other_answers_unexpected);
	tcase_add_test(tc, corruption_and_truncation_rejected);
	tcase_add_test(tc, coil_bits_lsb_first);
	tcase_add_test(tc, scan_echo_then_answer);
	tcase_add_test(tc, scan_bad_crc_gives_a_candidate);
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
