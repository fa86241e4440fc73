/* SPDX-License-Identifier: MIT */
/*
 * test_sim_seplos3.c - the Seplos v3 responder's own encoder against the
 * real bus captures (tests/data/seplosv3-*.cap) byte for byte: the cell
 * block, the identity block, the refusals; and the coil bits of the
 * scenario's flags.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_seplos3.h"

#define CAP_ADDR1  TEST_DATA_DIR "/seplosv3-sg16s200a-addr1.cap"
#define CAP_MASTER TEST_DATA_DIR "/seplosv3-sg16s200a-master.cap"

struct frame {
	uint8_t b[256];
	size_t n;
};

/* The n-th (0-based) frame after marker in the capture at path. */
static struct frame cap_frame(const char *path, const char *marker, unsigned n)
{
	FILE *f = fopen(path, "r");
	struct frame fr = {.n = 0};
	char line[4096];

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 3, *end;

		if (strncmp(line, marker, 3) != 0 || n-- > 0)
			continue;
		for (;;) {
			unsigned long v = strtoul(p, &end, 16);

			if (end == p)
				break;
			ck_assert(fr.n < sizeof(fr.b) && v <= 0xFF);
			fr.b[fr.n++] = (uint8_t)v;
			p = end;
		}
		break;
	}
	fclose(f);
	ck_assert_msg(fr.n > 0, "no frame %s %u", marker, n);
	return fr;
}

/* The answer to the capture's request q, from v. */
static struct frame answer_to(const struct frame *q, const struct sim_view *v)
{
	struct frame a = {.n = 0};
	struct sim_view bank;

	memset(&bank, 0, sizeof(bank));
	a.n = sim_seplos3_answer(q->b[0], 0, q->b[1],
				 (unsigned)q->b[2] << 8 | q->b[3],
				 (unsigned)q->b[4] << 8 | q->b[5], v, &bank, 1,
				 a.b, sizeof(a.b));
	return a;
}

static void assert_same(const struct frame *got, const struct frame *want)
{
	ck_assert_uint_eq(got->n, want->n);
	for (size_t i = 0; i < want->n; i++)
		ck_assert_msg(got->b[i] == want->b[i],
			      "byte %zu: %02x, the capture %02x", i, got->b[i],
			      want->b[i]);
}

START_TEST(cells_block_matches_capture)
{
	static const unsigned mv[16] = {3327, 3327, 3327, 3328, 3328, 3328,
					3327, 3328, 3327, 3328, 3328, 3328,
					3327, 3328, 3327, 3328};
	static const unsigned k10[6] = {2946, 2943, 2945, 2941, 2956, 2943};
	struct frame q = cap_frame(CAP_ADDR1, ">>>", 1);
	struct frame want = cap_frame(CAP_ADDR1, "<<<", 1), got;
	struct sim_view v;

	memset(&v, 0, sizeof(v));
	v.ncells = 16;
	for (unsigned i = 0; i < 16; i++)
		v.cell_v[i] = mv[i] / 1000.0;
	v.ntemps = 6;
	for (unsigned i = 0; i < 6; i++)
		v.temp_c[i] = k10[i] / 10.0 - 273.15;
	got = answer_to(&q, &v);
	assert_same(&got, &want);
}
END_TEST

START_TEST(identity_block_matches_capture)
{
	struct frame q = cap_frame(CAP_MASTER, ">>>", 3);
	struct frame want = cap_frame(CAP_MASTER, "<<<", 3), got;
	struct sim_view v;

	memset(&v, 0, sizeof(v));
	snprintf(v.model, sizeof(v.model), "SG16S200A-SP57B-A");
	snprintf(v.serial, sizeof(v.serial), "SP57B-A2506120022");
	v.fw_major = 1;
	v.fw_minor = 5;
	ck_assert_uint_eq(q.b[2], 0x17);
	got = answer_to(&q, &v);
	assert_same(&got, &want);
}
END_TEST

START_TEST(pack_block_fields_match_capture)
{
	struct frame q = cap_frame(CAP_ADDR1, ">>>", 0);
	struct frame want = cap_frame(CAP_ADDR1, "<<<", 0), got;
	struct sim_view v;

	memset(&v, 0, sizeof(v));
	v.voltage = 53.24;
	v.current = -1.37;
	v.remaining_ah = 274.56;
	v.full_ah = 330.0;
	v.soc = 83.2;
	v.cycles = 10;
	got = answer_to(&q, &v);
	ck_assert_uint_eq(got.n, want.n);
	/* head, voltage, current, remaining, total */
	ck_assert_mem_eq(got.b, want.b, 3 + 8);
	/* SoC, SOH 0.1 % (the model's 100 %: 1000, the capture 999) */
	ck_assert_mem_eq(got.b + 3 + 10, want.b + 3 + 10, 2);
	/* cycles */
	ck_assert_mem_eq(got.b + 3 + 14, want.b + 3 + 14, 2);
	/* max discharge / charge current */
	ck_assert_mem_eq(got.b + 3 + 30, want.b + 3 + 30, 4);
}
END_TEST

START_TEST(refusals_match_capture)
{
	/* the pack refuses 0x0900 coils (more than a read may ask) */
	struct frame q = cap_frame(CAP_ADDR1, ">>>", 2);
	struct frame want = cap_frame(CAP_ADDR1, "<<<", 2), got;
	struct sim_view v, bank;

	memset(&v, 0, sizeof(v));
	got = answer_to(&q, &v);
	assert_same(&got, &want);
	/* the master refuses 0x2100 (not a system block it serves) */
	q = cap_frame(CAP_MASTER, ">>>", 1);
	want = cap_frame(CAP_MASTER, "<<<", 1);
	memset(&bank, 0, sizeof(bank));
	got.n = sim_seplos3_answer(0, 1, q.b[1], (unsigned)q.b[2] << 8 | q.b[3],
				   (unsigned)q.b[4] << 8 | q.b[5], &v, &bank, 1,
				   got.b, sizeof(got.b));
	assert_same(&got, &want);
	/* and a pack block asked of the master */
	got.n = sim_seplos3_answer(0, 1, 0x04, 0x1000, 17, &v, &bank, 1, got.b,
				   sizeof(got.b));
	ck_assert_uint_eq(got.n, 5);
	ck_assert_uint_eq(got.b[1], 0x84);
	ck_assert_uint_eq(got.b[2], 0x02);
}
END_TEST

START_TEST(flags_to_coils)
{
	struct sim_view v;
	uint8_t c[18];

	memset(&v, 0, sizeof(v));
	v.charge_fet = true;
	v.discharge_fet = true;
	sim_seplos3_coils(&v, c);
	ck_assert_uint_eq(c[15], 0x03);
	ck_assert_uint_eq(c[8], 0x10); /* standby at 0 A */
	v.protection = SIM_PROT_CELL_UV;
	v.charge_fet = false;
	sim_seplos3_coils(&v, c);
	ck_assert_uint_eq(c[9], 0x08); /* TB02 bit 3 */
	ck_assert_uint_eq(c[15], 0x01);
	v.protection = SIM_PROT_DSG_OC | SIM_PROT_AFE;
	sim_seplos3_coils(&v, c);
	ck_assert_uint_eq(c[12], 0x10); /* TB05 bit 4 */
	ck_assert_uint_eq(c[17], 0x01); /* TB15 */
}
END_TEST

START_TEST(scan_finds_requests)
{
	static const uint8_t buf[] = {0xFF, 0x01, 0x04, 0x10, 0x00,
				      0x00, 0x11, 0x34, 0xC6};
	int found = 0;
	unsigned addr = 9, start = 0;
	uint8_t fc = 0;

	ck_assert_uint_eq(
		sim_seplos3_scan(buf, sizeof(buf), &found, &addr, &fc, &start),
		sizeof(buf));
	ck_assert(found);
	ck_assert_uint_eq(addr, 1);
	ck_assert_uint_eq(fc, 4);
	ck_assert_uint_eq(start, 0x1000);
	ck_assert_uint_eq(sim_seplos3_scan(buf, 5, &found, &addr, &fc, &start),
			  1);
	ck_assert(!found);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sim_seplos3");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, cells_block_matches_capture);
	tcase_add_test(tc, identity_block_matches_capture);
	tcase_add_test(tc, pack_block_fields_match_capture);
	tcase_add_test(tc, refusals_match_capture);
	tcase_add_test(tc, flags_to_coils);
	tcase_add_test(tc, scan_finds_requests);
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
