/* SPDX-License-Identifier: MIT */
/*
 * test_sim_daly.c - the simulator's Daly responder: from the values of
 * the real capture (tests/data/daly-16s-discharging.cap) it sends that
 * capture's answers byte for byte (0x95 as all 16 frames); requests are
 * checked; the 0x98 bits of the protection flags; sleep is silent.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_daly.h"
#include "sim_model.h"

#define CAP TEST_DATA_DIR "/daly-16s-discharging.cap"

/* Every answer ("<<<") of the capture to data id, concatenated. */
static size_t cap_answer(uint8_t id, uint8_t *out, size_t cap)
{
	FILE *f = fopen(CAP, "r");
	char line[512];
	size_t n = 0;

	ck_assert_msg(f != NULL, "cannot open %s", CAP);
	while (fgets(line, sizeof(line), f)) {
		uint8_t b[13];
		size_t k = 0;
		char *p = line + 3, *end;

		if (strncmp(line, "<<<", 3) != 0)
			continue;
		for (;;) {
			unsigned long v = strtoul(p, &end, 16);

			if (end == p || k == sizeof(b))
				break;
			b[k++] = (uint8_t)v;
			p = end;
		}
		ck_assert_uint_eq(k, 13);
		if (b[2] != id)
			continue;
		ck_assert(n + 13 <= cap);
		memcpy(out + n, b, 13);
		n += 13;
	}
	fclose(f);
	return n;
}

/* The capture's values as a view. */
static void capture_view(struct sim_view *v)
{
	static const double cells[16] = {
		3.325, 3.326, 3.326, 3.326, 3.326, 3.326, 3.326, 3.326,
		3.326, 3.326, 3.324, 3.326, 3.326, 3.327, 3.326, 3.324};

	memset(v, 0, sizeof(*v));
	v->voltage = 53.2;
	v->current = -2.1;
	v->soc = 88.8;
	v->remaining_ah = 248.64;
	v->cycles = 3;
	v->ncells = 16;
	memcpy(v->cell_v, cells, sizeof(cells));
	v->ntemps = 1;
	v->temp_c[0] = 15;
	v->charge_fet = v->discharge_fet = true;
}

START_TEST(answers_are_the_capture)
{
	static const uint8_t ids[] = {0x90, 0x93, 0x94, 0x95, 0x96};
	struct sim_view v;
	uint8_t last[8] = {0};

	capture_view(&v);
	for (size_t i = 0; i < sizeof(ids); i++) {
		uint8_t got[16 * 13], want[16 * 13];
		size_t n = sim_daly_answer(&v, ids[i], last, got, sizeof(got));
		size_t w = cap_answer(ids[i], want, sizeof(want));

		ck_assert_uint_eq(n, w);
		if (ids[i] == 0x93) {
			/* byte 3 is the unit's life counter (120), which
			 * the model does not have: the cycles stand in */
			ck_assert_uint_eq(got[7], 3);
			got[7] = want[7];
			got[12] = sim_daly_sum(got, 12);
		}
		ck_assert_mem_eq(got, want, n);
	}
}
END_TEST

START_TEST(failure_bits)
{
	uint8_t d[8];

	sim_daly_failures(SIM_PROT_CELL_UV, d);
	ck_assert_uint_eq(d[0], 0x08);
	sim_daly_failures(SIM_PROT_CHG_OC | SIM_PROT_CELL_OV, d);
	ck_assert_uint_eq(d[0], 0x02);
	ck_assert_uint_eq(d[2], 0x02);
	sim_daly_failures(SIM_PROT_SHORT, d);
	ck_assert_uint_eq(d[6], 0x04);
	sim_daly_failures(SIM_PROT_LOCK, d); /* not carried */
	for (unsigned i = 0; i < 8; i++)
		ck_assert_uint_eq(d[i], 0);
}
END_TEST

static unsigned emitted;
static size_t emitted_len;

static void on_emit(void *ctx, unsigned battery, const uint8_t *frame,
		    size_t len)
{
	(void)ctx;
	(void)battery;
	(void)frame;
	emitted++;
	emitted_len = len;
}

START_TEST(requests)
{
	struct sim_battery b, *bats[1] = {&b};
	struct sim_battery_cfg bc = {
		.ncells = 4, .capacity_ah = 100, .soc = 50, .ntemps = 1};
	struct sim_proto_cfg pc = {.bats = bats, .nbats = 1};
	struct sim_proto *p;
	uint8_t req[13] = {0xA5, 0x40, 0x95, 0x08};

	ck_assert_int_eq(sim_battery_init(&b, 1, &bc), 0);
	p = sim_daly_ops.create(&pc);
	ck_assert_ptr_nonnull(p);
	req[12] = sim_daly_sum(req, 12);
	emitted = 0;
	sim_daly_ops.feed(p, (const uint8_t *)"\x01\xA5", 2, on_emit, NULL);
	sim_daly_ops.feed(p, req, sizeof(req), on_emit, NULL);
	ck_assert_uint_eq(emitted, 1);
	ck_assert_uint_eq(emitted_len, 16 * 13); /* every cell frame */
	req[12] ^= 1;                            /* bad checksum: no answer */
	sim_daly_ops.feed(p, req, sizeof(req), on_emit, NULL);
	req[12] ^= 1;
	req[1] = 0x01; /* an answer, not a request */
	req[12] = sim_daly_sum(req, 12);
	sim_daly_ops.feed(p, req, sizeof(req), on_emit, NULL);
	ck_assert_uint_eq(emitted, 1);
	sim_daly_ops.destroy(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sim_daly");
	TCase *tc = tcase_create("daly");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, answers_are_the_capture);
	tcase_add_test(tc, failure_bits);
	tcase_add_test(tc, requests);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
