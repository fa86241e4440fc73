/* SPDX-License-Identifier: MIT */
/*
 * test_sim_jbd.c - the simulator's JBD responder, checked byte for byte
 * against the vendor document's worked example (tests/data).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_jbd.h"

#define CAP_FILE TEST_DATA_DIR "/jbd-doc-example.cap"

struct frame {
	uint8_t b[SIM_MAX_FRAME];
	size_t n;
};

/* The n-th (0-based) frame after marker (">>>" or "<<<") in the capture. */
static struct frame cap_frame(const char *marker, unsigned n)
{
	FILE *f = fopen(CAP_FILE, "r");
	struct frame fr = {.n = 0};
	char line[2048];

	ck_assert_msg(f != NULL, "cannot open %s", CAP_FILE);
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
	ck_assert_msg(fr.n > 0, "no frame %s in %s", marker, CAP_FILE);
	return fr;
}

/* The battery of the vendor example, as a view. */
static void doc_view(struct sim_view *v)
{
	static const double cells[15] = {3.942, 3.939, 3.939, 3.940, 3.902,
					 3.939, 3.895, 3.931, 3.941, 3.899,
					 3.939, 3.939, 3.900, 3.942, 3.901};

	memset(v, 0, sizeof(*v));
	v->voltage = 58.88;
	v->current = 0;
	v->remaining_ah = 7.2;
	v->nominal_ah = 10;
	v->soc = 72;
	v->ncells = 15;
	memcpy(v->cell_v, cells, sizeof(cells));
	v->ntemps = 2;
	v->temp_c[0] = 20.3;
	v->temp_c[1] = 21.5;
	v->charge_fet = v->discharge_fet = true;
	v->fw_major = 1;
	v->mfg_year = 2016;
	v->mfg_month = 3;
	v->mfg_day = 24;
	strcpy(v->model, "SIM");
}

static void assert_frame(const uint8_t *got, size_t n, const struct frame *w)
{
	ck_assert_uint_eq(n, w->n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(got[i] == w->b[i], "byte %zu: %02X, want %02X", i,
			      got[i], w->b[i]);
}

START_TEST(basic_matches_document)
{
	struct frame want = cap_frame("<<<", 0);
	struct sim_view v;
	uint8_t out[SIM_MAX_FRAME];

	doc_view(&v);
	assert_frame(out, sim_jbd_answer(0x03, &v, out, sizeof(out)), &want);
}
END_TEST

START_TEST(cells_match_document)
{
	struct frame want = cap_frame("<<<", 1);
	struct sim_view v;
	uint8_t out[SIM_MAX_FRAME];

	doc_view(&v);
	assert_frame(out, sim_jbd_answer(0x04, &v, out, sizeof(out)), &want);
}
END_TEST

START_TEST(model_and_unknown_registers)
{
	static const uint8_t want[] = {0xDD, 0x05, 0x00, 0x03, 'S',
				       'I',  'M',  0xFF, 0x14, 0x77};
	struct sim_view v;
	uint8_t out[SIM_MAX_FRAME];
	size_t n;

	doc_view(&v);
	n = sim_jbd_answer(0x05, &v, out, sizeof(out));
	ck_assert_uint_eq(n, sizeof(want));
	ck_assert_mem_eq(out, want, n);
	ck_assert_uint_eq(sim_jbd_answer(0x06, &v, out, sizeof(out)), 0);
	ck_assert_uint_eq(sim_jbd_answer(0x03, &v, out, 20), 0); /* short */
}
END_TEST

START_TEST(negative_current_and_balance_words)
{
	struct sim_view v;
	uint8_t out[SIM_MAX_FRAME];

	doc_view(&v);
	v.current = -40.25;
	v.balancing = 0x00030001;
	v.protection = 0x0802;
	v.charge_fet = false;
	ck_assert_uint_gt(sim_jbd_answer(0x03, &v, out, sizeof(out)), 0);
	ck_assert_uint_eq(out[4 + 2], 0xF0); /* -4025 = 0xF047 */
	ck_assert_uint_eq(out[4 + 3], 0x47);
	ck_assert_uint_eq(out[4 + 12], 0x00);
	ck_assert_uint_eq(out[4 + 13], 0x01);
	ck_assert_uint_eq(out[4 + 14], 0x00);
	ck_assert_uint_eq(out[4 + 15], 0x03);
	ck_assert_uint_eq(out[4 + 16], 0x08);
	ck_assert_uint_eq(out[4 + 17], 0x02);
	ck_assert_uint_eq(out[4 + 20], 0x02); /* discharge FET only */
}
END_TEST

START_TEST(checksum)
{
	static const uint8_t req[] = {0x03, 0x00};

	ck_assert_uint_eq(sim_jbd_sum(req, 2), 0xFFFD);
	ck_assert_uint_eq(sim_jbd_sum(req, 0), 0x0000);
}
END_TEST

START_TEST(scan_requests)
{
	struct frame r3 = cap_frame(">>>", 0), r4 = cap_frame(">>>", 1);
	uint8_t buf[32];
	uint8_t reg = 0;
	int found;

	ck_assert_uint_eq(sim_jbd_scan(r3.b, r3.n, &found, &reg), 7);
	ck_assert(found);
	ck_assert_uint_eq(reg, 0x03);
	ck_assert_uint_eq(sim_jbd_scan(r4.b, r4.n, &found, &reg), 7);
	ck_assert(found);
	ck_assert_uint_eq(reg, 0x04);

	/* Noise before a request, and a false start inside the noise. */
	memcpy(buf, (const uint8_t[]){0x00, 0xDD, 0x11, 0xDD, 0xA5}, 5);
	memcpy(buf + 5, r3.b, 7);
	ck_assert_uint_eq(sim_jbd_scan(buf, 12, &found, &reg), 12);
	ck_assert(found);

	/* A partial request is kept; noise before it is dropped. */
	ck_assert_uint_eq(sim_jbd_scan(buf, 7, &found, &reg), 5);
	ck_assert(!found);
	ck_assert_uint_eq(sim_jbd_scan(r3.b, 4, &found, &reg), 0);
	ck_assert(!found);

	/* Bad checksum, bad end byte, non-zero length, write command. */
	memcpy(buf, r3.b, 7);
	buf[5] ^= 1;
	ck_assert_uint_eq(sim_jbd_scan(buf, 7, &found, &reg), 7);
	ck_assert(!found);
	memcpy(buf, r3.b, 7);
	buf[6] = 0x78;
	ck_assert_uint_eq(sim_jbd_scan(buf, 7, &found, &reg), 7);
	ck_assert(!found);
	memcpy(buf, (const uint8_t[]){0xDD, 0xA5, 0x03, 0x01}, 4);
	ck_assert_uint_eq(sim_jbd_scan(buf, 4, &found, &reg), 4);
	memcpy(buf, (const uint8_t[]){0xDD, 0x5A, 0x00}, 3);
	ck_assert_uint_eq(sim_jbd_scan(buf, 3, &found, &reg), 3);
}
END_TEST

struct sink {
	unsigned count;
	unsigned battery;
	struct frame last;
};

static void collect(void *ctx, unsigned battery, const uint8_t *f, size_t n)
{
	struct sink *s = ctx;

	s->count++;
	s->battery = battery;
	memcpy(s->last.b, f, n);
	s->last.n = n;
}

static struct sim_battery bat;
static struct sim_battery *bats[1] = {&bat};

static void setup(void)
{
	struct sim_battery_cfg cfg = {.ncells = 4,
				      .capacity_ah = 100,
				      .soc = 80,
				      .ntemps = 2,
				      .imbalance_mv = 3};

	ck_assert_int_eq(sim_battery_init(&bat, 1, &cfg), 0);
}

START_TEST(feed_split_and_garbled)
{
	static const uint8_t stream[] = {
		0xDD, 0xA5, 0x03, 0x00, 0xFF, 0xFD, 0x77,       /* basic */
		0x42, 0xDD, 0xA5, 0x03, 0x00, 0xFF, 0xFE, 0x77, /* bad chk */
		0xDD, 0xA5, 0x06, 0x00, 0xFF, 0xFA, 0x77, /* unknown reg */
		0xDD, 0xA5, 0x04, 0x00, 0xFF, 0xFC, 0x77, /* cells */
	};
	struct sim_proto *p = sim_jbd_ops.create(
		&(struct sim_proto_cfg){.bats = bats, .nbats = 1});
	struct sink s = {0};

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < sizeof(stream); i++) /* one byte at a time */
		sim_jbd_ops.feed(p, stream + i, 1, collect, &s);
	ck_assert_uint_eq(s.count, 2);
	ck_assert_uint_eq(s.battery, 0);
	ck_assert_uint_eq(s.last.n, 7 + 8);
	ck_assert_uint_eq(s.last.b[1], 0x04);
	sim_jbd_ops.feed(p, stream, sizeof(stream), collect, &s); /* at once */
	ck_assert_uint_eq(s.count, 4);
	sim_jbd_ops.destroy(p);
}
END_TEST

START_TEST(answer_reflects_model)
{
	static const uint8_t req[] = {0xDD, 0xA5, 0x03, 0x00, 0xFF, 0xFD, 0x77};
	struct sim_proto *p = sim_jbd_ops.create(
		&(struct sim_proto_cfg){.bats = bats, .nbats = 1});
	struct sink s = {0};
	const uint8_t *d = s.last.b + 4;

	for (unsigned i = 0; i < 4; i++)
		sim_battery_pin(&bat, i, 3.3 + 0.001 * i);
	bat.current_a = -12.5;
	bat.temp_c[0] = 21.5;
	bat.temp_c[1] = -3.2;
	bat.protection = SIM_PROT_CELL_UV;
	sim_jbd_ops.feed(p, req, sizeof(req), collect, &s);
	ck_assert_uint_eq(s.count, 1);
	ck_assert_uint_eq(s.last.n, 7 + 23 + 4);
	ck_assert_uint_eq(d[0] << 8 | d[1], 1321); /* 13.206 V -> 13.21 */
	ck_assert_uint_eq(d[2] << 8 | d[3], 0x10000 - 1250);
	ck_assert_uint_eq(d[4] << 8 | d[5], 8000);
	ck_assert_uint_eq(d[6] << 8 | d[7], 10000);
	ck_assert_uint_eq(d[16] << 8 | d[17], 0x0002);
	ck_assert_uint_eq(d[19], 80);
	ck_assert_uint_eq(d[20], 0x03);
	ck_assert_uint_eq(d[21], 4);
	ck_assert_uint_eq(d[22], 2);
	ck_assert_uint_eq(d[23] << 8 | d[24], 2946);
	ck_assert_uint_eq(d[25] << 8 | d[26], 2699);
	sim_jbd_ops.destroy(p);
}
END_TEST

START_TEST(quantize_as_the_wire)
{
	struct sim_view v;

	memset(&v, 0, sizeof(v));
	v.ncells = 2;
	v.cell_v[0] = 3.3004;
	v.cell_v[1] = 3.2996;
	v.current = -0.004;
	v.remaining_ah = 700; /* beyond 655.35: clamped */
	v.soc = 79.5;
	v.ntemps = 1;
	v.temp_c[0] = -5.04;
	v.protection = 0xFFFFFFFF;
	sim_jbd_ops.quantize(&v);
	ck_assert_double_eq_tol(v.cell_v[0], 3.300, 1e-12);
	ck_assert_double_eq_tol(v.cell_v[1], 3.300, 1e-12);
	ck_assert_double_eq_tol(v.voltage, 6.60, 1e-12);
	ck_assert_double_eq_tol(v.current, 0.0, 1e-12);
	ck_assert_double_eq_tol(v.remaining_ah, 655.35, 1e-12);
	ck_assert_double_eq(v.soc, 80.0);
	ck_assert_double_eq_tol(v.temp_c[0], -5.0, 1e-12);
	ck_assert_uint_eq(v.protection, 0x1FFF);
	v.current = 400;
	sim_jbd_ops.quantize(&v);
	ck_assert_double_eq_tol(v.current, 327.67, 1e-12);
}
END_TEST

/* A pinned 65.535 V goes out as 0xFFFF in a frame with a valid checksum,
 * the pack voltage the sum of the cells: only the cell is impossible
 * (what tests/e2e/invariant_impossible_frame.sh sends the daemon). */
START_TEST(cells_at_the_wire_limit)
{
	struct sim_view v;
	uint8_t out[SIM_MAX_FRAME];
	size_t n;

	memset(&v, 0, sizeof(v));
	v.ncells = 2;
	v.cell_v[0] = v.cell_v[1] = 65.535;
	sim_jbd_ops.quantize(&v);
	ck_assert_double_eq_tol(v.cell_v[0], 65.535, 1e-12);
	ck_assert_double_eq_tol(v.voltage, 131.07, 1e-12);
	n = sim_jbd_answer(0x04, &v, out, sizeof(out));
	ck_assert_uint_eq(n, 4 + 4 + 3);
	for (unsigned i = 4; i < 8; i++)
		ck_assert_uint_eq(out[i], 0xFF);
	ck_assert_uint_eq(out[8] << 8 | out[9], sim_jbd_sum(out + 2, 6));
	ck_assert_uint_eq(out[10], 0x77);
}
END_TEST

START_TEST(corrupt_spoils_only_the_checksum)
{
	struct frame good = cap_frame("<<<", 0);
	struct frame bad = good;

	sim_jbd_ops.corrupt(bad.b, bad.n);
	ck_assert_mem_eq(bad.b, good.b, good.n - 2);
	ck_assert_uint_ne(bad.b[good.n - 2], good.b[good.n - 2]);
	ck_assert_uint_eq(bad.b[good.n - 1], 0x77);
}
END_TEST

START_TEST(check_capacity_fits)
{
	char err[200];

	bat.capacity_ah = 655.35;
	ck_assert_int_eq(sim_jbd_ops.check(&bat, err, sizeof(err)), 0);
	bat.capacity_ah = 700;
	ck_assert_int_eq(sim_jbd_ops.check(&bat, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "700.00 Ah"));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sim_jbd");
	TCase *codec = tcase_create("codec");
	TCase *resp = tcase_create("responder");

	tcase_add_test(codec, basic_matches_document);
	tcase_add_test(codec, cells_match_document);
	tcase_add_test(codec, model_and_unknown_registers);
	tcase_add_test(codec, negative_current_and_balance_words);
	tcase_add_test(codec, checksum);
	tcase_add_test(codec, scan_requests);
	tcase_add_test(codec, quantize_as_the_wire);
	tcase_add_test(codec, cells_at_the_wire_limit);
	tcase_add_test(codec, corrupt_spoils_only_the_checksum);
	suite_add_tcase(s, codec);
	tcase_add_checked_fixture(resp, setup, NULL);
	tcase_add_test(resp, feed_split_and_garbled);
	tcase_add_test(resp, answer_reflects_model);
	tcase_add_test(resp, check_capacity_fits);
	suite_add_tcase(s, resp);
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
