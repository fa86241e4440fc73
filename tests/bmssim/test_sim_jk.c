/* SPDX-License-Identifier: MIT */
/*
 * test_sim_jk.c - the simulator's JK legacy responder: requests, the
 * answer's layout against the real captures in tests/data (the same items
 * in the same order, the values of the 14-cell capture byte for byte),
 * the warning bits, quantisation and the responder.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_jk.h"
#include "sim_model.h"

#define CAP_14S TEST_DATA_DIR "/jk-14s-doc-charging.cap"
#define CAP_13S TEST_DATA_DIR "/jk-b2a24s20p-13s.cap"

struct frame {
	uint8_t b[SIM_MAX_FRAME];
	size_t n;
};

/* The first frame after marker (">>>" or "<<<") in a capture. */
static struct frame cap_frame(const char *path, const char *marker)
{
	FILE *f = fopen(path, "r");
	struct frame fr = {.n = 0};
	char line[4096];

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 3, *end;

		if (strncmp(line, marker, 3) != 0)
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
	ck_assert_msg(fr.n > 0, "no frame %s in %s", marker, path);
	return fr;
}

/* Item walk by the document's sizes: the codes and where each starts. */
struct items {
	unsigned n;
	uint8_t code[128];
	size_t at[128];
};

static size_t doc_size(const uint8_t *p)
{
	static const struct {
		uint8_t code, size;
	} odd[] = {
		{0x85, 1}, {0x86, 1},  {0x89, 4}, {0x9D, 1}, {0xA9, 1},
		{0xAA, 4}, {0xAB, 1},  {0xAC, 1}, {0xAE, 1}, {0xAF, 1},
		{0xB1, 1}, {0xB2, 10}, {0xB3, 1}, {0xB4, 8}, {0xB5, 4},
		{0xB6, 4}, {0xB7, 15}, {0xB8, 1}, {0xB9, 4}, {0xBA, 24},
		{0xC0, 1},
	};

	if (p[0] == 0x79)
		return 1u + p[1];
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		if (odd[i].code == p[0])
			return odd[i].size;
	return 2;
}

static struct items walk(const struct frame *f)
{
	struct items it = {.n = 0};
	size_t end = f->n - 9;

	for (size_t pos = 11; pos < end; pos += 1 + doc_size(f->b + pos)) {
		ck_assert_uint_lt(it.n, 128);
		it.code[it.n] = f->b[pos];
		it.at[it.n++] = pos;
	}
	return it;
}

/* The battery of the 14-cell capture, as a view. */
static void view_14s(struct sim_view *v)
{
	static const double cells[14] = {3.821, 3.834, 3.831, 3.820, 3.832,
					 3.834, 3.825, 3.832, 3.811, 3.834,
					 3.825, 3.835, 3.835, 3.826};

	memset(v, 0, sizeof(*v));
	v->ncells = 14;
	memcpy(v->cell_v, cells, sizeof(cells));
	v->voltage = 53.59;
	v->current = 2.08;
	v->soc = 15;
	v->cycles = 4;
	v->nominal_ah = 14;
	v->ntemps = 3;
	v->temp_c[0] = 29;
	v->temp_c[1] = 30;
	v->temp_c[2] = 28;
	v->charge_fet = v->discharge_fet = true;
	v->balancing = 0x10;
	v->fw_major = 1;
	strcpy(v->model, "SIM");
}

START_TEST(request_matches_capture)
{
	struct frame req = cap_frame(CAP_14S, ">>>");
	int found = 0;
	uint8_t cmd = 0;

	ck_assert_uint_eq(req.n, 21);
	ck_assert_uint_eq(sim_jk_scan(req.b, req.n, &found, &cmd), 21);
	ck_assert_int_eq(found, 1);
	ck_assert_uint_eq(cmd, SIM_JK_READ_ALL);
	/* the document's checksum: STX .. end identity */
	ck_assert_uint_eq(sim_jk_sum(req.b, 17), 0x0129);
}
END_TEST

START_TEST(answer_has_the_captures_layout)
{
	const char *caps[] = {CAP_14S, CAP_13S};
	struct sim_view v;
	struct frame mine;
	struct items want, got;

	view_14s(&v);
	mine.n = sim_jk_answer(&v, mine.b, sizeof(mine.b));
	ck_assert_uint_gt(mine.n, 0);
	got = walk(&mine);
	for (size_t c = 0; c < 2; c++) {
		struct frame real = cap_frame(caps[c], "<<<");

		want = walk(&real);
		ck_assert_uint_eq(got.n, want.n);
		for (unsigned i = 0; i < got.n; i++)
			ck_assert_msg(got.code[i] == want.code[i],
				      "item %u: 0x%02X, the capture 0x%02X", i,
				      got.code[i], want.code[i]);
		/* header: command 06, source 00 (BMS), type 01 (answer) */
		ck_assert_mem_eq(mine.b + 8, real.b + 8, 3);
		ck_assert_mem_eq(mine.b + mine.n - 9, real.b + real.n - 9, 7);
	}
	ck_assert_uint_eq(mine.n, cap_frame(CAP_14S, "<<<").n);
}
END_TEST

/* The bytes of item code in f, value only. */
static const uint8_t *value_of(const struct frame *f, uint8_t code)
{
	struct items it = walk(f);

	for (unsigned i = 0; i < it.n; i++)
		if (it.code[i] == code)
			return f->b + it.at[i] + 1;
	ck_abort_msg("no item 0x%02X", code);
	return NULL;
}

START_TEST(values_match_capture)
{
	static const struct {
		uint8_t code;
		size_t n;
	} same[] = {
		{0x79, 43}, {0x80, 2}, {0x81, 2}, {0x82, 2}, {0x83, 2},
		{0x84, 2},  {0x85, 1}, {0x86, 1}, {0x87, 2}, {0x8A, 2},
		{0x8B, 2},  {0x8C, 2}, {0xAA, 4}, {0xC0, 1},
	};
	struct frame real = cap_frame(CAP_14S, "<<<"), mine;
	struct sim_view v;

	view_14s(&v);
	mine.n = sim_jk_answer(&v, mine.b, sizeof(mine.b));
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		ck_assert_msg(
			memcmp(value_of(&mine, same[i].code),
			       value_of(&real, same[i].code), same[i].n) == 0,
			"item 0x%02X differs from the capture", same[i].code);
	/* and the checksum of the whole answer is the document's */
	ck_assert_uint_eq(mine.b[mine.n - 2] << 8 | mine.b[mine.n - 1],
			  sim_jk_sum(mine.b, mine.n - 4));
	ck_assert_uint_eq((unsigned)(mine.b[2] << 8 | mine.b[3]), mine.n - 2);
}
END_TEST

START_TEST(current_temperature_and_identity)
{
	struct sim_view v;
	struct frame f;
	const uint8_t *p;

	view_14s(&v);
	v.current = -20.0; /* the document's example: 0x07D0 */
	v.temp_c[1] = -5;
	v.temp_c[2] = 101; /* past the range: 100 */
	v.ntemps = 2;
	v.charge_fet = false;
	v.balancing = 0;
	v.fw_major = 10;
	v.fw_minor = 7;
	strcpy(v.model, "JK-B2A24S15P");
	f.n = sim_jk_answer(&v, f.b, sizeof(f.b));
	p = value_of(&f, 0x84);
	ck_assert_uint_eq(p[0] << 8 | p[1], 0x07D0);
	p = value_of(&f, 0x81);
	ck_assert_uint_eq(p[0] << 8 | p[1], 105);
	ck_assert_uint_eq(value_of(&f, 0x86)[0], 1);
	p = value_of(&f, 0x8C);
	ck_assert_uint_eq(p[1], 0x02);
	ck_assert_mem_eq(value_of(&f, 0xB7), "10.7___________", 15);
	ck_assert_mem_eq(value_of(&f, 0xBA), "JK-B2A24S15P\0\0\0\0", 16);
	v.current = 20.0;
	f.n = sim_jk_answer(&v, f.b, sizeof(f.b));
	p = value_of(&f, 0x84);
	ck_assert_uint_eq(p[0] << 8 | p[1], 0x87D0);
	/* no sensor at all, no cells: nothing to send */
	v.ntemps = 0;
	ck_assert_uint_eq(sim_jk_answer(&v, f.b, sizeof(f.b)), 0);
	view_14s(&v);
	ck_assert_uint_eq(sim_jk_answer(&v, f.b, 100), 0);
}
END_TEST

START_TEST(warning_bits)
{
	ck_assert_uint_eq(sim_jk_warnings(0), 0);
	ck_assert_uint_eq(sim_jk_warnings(SIM_PROT_CELL_UV), 1u << 11);
	ck_assert_uint_eq(sim_jk_warnings(SIM_PROT_CELL_OV), 1u << 10);
	ck_assert_uint_eq(sim_jk_warnings(SIM_PROT_PACK_OV), 1u << 2);
	ck_assert_uint_eq(sim_jk_warnings(SIM_PROT_CHG_OT), 1u << 4);
	ck_assert_uint_eq(sim_jk_warnings(SIM_PROT_DSG_OT), 1u << 4);
	ck_assert_uint_eq(sim_jk_warnings(SIM_PROT_CHG_UT), 1u << 9);
	ck_assert_uint_eq(sim_jk_warnings(SIM_PROT_DSG_OC), 1u << 6);
	ck_assert_uint_eq(sim_jk_warnings(SIM_PROT_AFE), 1u << 12);
	ck_assert_uint_eq(sim_jk_warnings(SIM_PROT_SHORT | SIM_PROT_LOCK), 0);
}
END_TEST

START_TEST(quantize_as_the_wire)
{
	struct sim_battery_cfg cfg = {.ncells = 4,
				      .capacity_ah = 100.4,
				      .soc = 55.5,
				      .ntemps = 3,
				      .imbalance_mv = 0};
	struct sim_battery b;
	struct sim_view v;

	ck_assert_int_eq(sim_battery_init(&b, 1, &cfg), 0);
	b.current_a = -1.234;
	b.temp_c[0] = -3.6;
	b.protection = SIM_PROT_SHORT | SIM_PROT_CELL_UV;
	sim_proto_view(&sim_jk_ops, &b, &v);
	ck_assert_double_eq_tol(v.current, -1.23, 1e-9);
	ck_assert_double_eq(v.soc, 56);
	ck_assert_double_eq(v.nominal_ah, 100);
	ck_assert_double_eq_tol(v.remaining_ah, 56.0, 1e-9);
	ck_assert_double_eq(v.temp_c[0], -4);
	ck_assert_uint_eq(v.protection, SIM_PROT_CELL_UV);
	ck_assert_str_eq(v.serial, "");
	ck_assert_uint_eq(v.mfg_year, 0);
	/* the sum of the cells as sent, in 10 mV */
	ck_assert_double_eq_tol(v.voltage, round(400 * v.cell_v[0]) / 100,
				1e-9);
}
END_TEST

START_TEST(check_sensors)
{
	struct sim_battery_cfg cfg = {.ncells = 4,
				      .capacity_ah = 100,
				      .soc = 50,
				      .ntemps = 0,
				      .imbalance_mv = 0};
	struct sim_battery b;
	char err[256];

	ck_assert_int_eq(sim_battery_init(&b, 1, &cfg), 0);
	ck_assert_int_eq(sim_jk_ops.check(&b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "--temps 1..3"));
	b.ntemps = 4;
	ck_assert_int_eq(sim_jk_ops.check(&b, err, sizeof(err)), -1);
	b.ntemps = 2;
	ck_assert_int_eq(sim_jk_ops.check(&b, err, sizeof(err)), 0);
}
END_TEST

/* ---- the responder ---------------------------------------------------- */

static struct {
	unsigned count;
	struct frame last;
} emitted;

static void on_emit(void *ctx, unsigned battery, const uint8_t *f, size_t n)
{
	ck_assert_uint_eq(battery, 0);
	emitted.count++;
	memcpy(emitted.last.b, f, n);
	emitted.last.n = n;
}

START_TEST(feed_split_garbled_and_corrupt)
{
	struct sim_battery_cfg cfg = {.ncells = 4,
				      .capacity_ah = 100,
				      .soc = 50,
				      .ntemps = 2,
				      .imbalance_mv = 0};
	struct sim_battery b, *bp = &b;
	struct sim_proto *p;
	struct frame req = cap_frame(CAP_14S, ">>>");
	uint8_t bad[21];

	ck_assert_int_eq(sim_battery_init(&b, 1, &cfg), 0);
	p = sim_jk_ops.create(&(struct sim_proto_cfg){.bats = &bp, .nbats = 1});
	memset(&emitted, 0, sizeof(emitted));
	/* noise, then the request in two pieces */
	sim_jk_ops.feed(p, (const uint8_t *)"\x00\x4E\x11", 3, on_emit, NULL);
	sim_jk_ops.feed(p, req.b, 7, on_emit, NULL);
	ck_assert_uint_eq(emitted.count, 0);
	sim_jk_ops.feed(p, req.b + 7, req.n - 7, on_emit, NULL);
	ck_assert_uint_eq(emitted.count, 1);
	ck_assert_uint_eq(emitted.last.b[0], 0x4E);
	/* a bad checksum, another command: no answer */
	memcpy(bad, req.b, 21);
	bad[20] ^= 1;
	sim_jk_ops.feed(p, bad, 21, on_emit, NULL);
	memcpy(bad, req.b, 21);
	bad[8] = 0x03;
	bad[20] = (uint8_t)(req.b[20] - 3);
	sim_jk_ops.feed(p, bad, 21, on_emit, NULL);
	ck_assert_uint_eq(emitted.count, 1);
	/* and the next good one is answered */
	sim_jk_ops.feed(p, req.b, req.n, on_emit, NULL);
	ck_assert_uint_eq(emitted.count, 2);
	/* corrupt() spoils only the checksum */
	{
		struct frame f = emitted.last;

		sim_jk_ops.corrupt(f.b, f.n);
		ck_assert_mem_eq(f.b, emitted.last.b, f.n - 1);
		ck_assert_uint_ne(f.b[f.n - 1], emitted.last.b[f.n - 1]);
	}
	sim_jk_ops.destroy(p);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sim_jk");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, request_matches_capture);
	tcase_add_test(tc, answer_has_the_captures_layout);
	tcase_add_test(tc, values_match_capture);
	tcase_add_test(tc, current_temperature_and_identity);
	tcase_add_test(tc, warning_bits);
	tcase_add_test(tc, quantize_as_the_wire);
	tcase_add_test(tc, check_sensors);
	tcase_add_test(tc, feed_split_garbled_and_corrupt);
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
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
