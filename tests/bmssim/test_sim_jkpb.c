/* SPDX-License-Identifier: MIT */
/*
 * test_sim_jkpb.c - the simulator's JK-PB responder: the requests and
 * acknowledgements byte for byte against the real captures in tests/data,
 * every field of the status and device-info frames at the capture's
 * offsets, the alarm bits, addressing, and the address-0 master's own
 * traffic.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_jkpb.h"
#include "sim_model.h"

#define CAP_ADDR1 TEST_DATA_DIR "/jkpb-pb2a16s15p-addr1.cap"

struct frame {
	uint8_t b[1024];
	size_t n;
};

/* The n-th (0-based) frame after marker in the capture. */
static struct frame cap_frame(const char *marker, unsigned n)
{
	FILE *f = fopen(CAP_ADDR1, "r");
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

/* The capture's pack (8 cells, charging 17.841 A), as a view. */
static void view_addr1(struct sim_view *v)
{
	static const double cells[8] = {3.357, 3.357, 3.357, 3.356,
					3.356, 3.357, 3.356, 3.356};

	memset(v, 0, sizeof(*v));
	v->ncells = 8;
	memcpy(v->cell_v, cells, sizeof(cells));
	v->voltage = 26.852;
	v->current = 17.841;
	v->soc = 88;
	v->remaining_ah = 193.465;
	v->full_ah = v->nominal_ah = 220;
	v->cycles = 101;
	v->ntemps = 5;
	v->temp_c[0] = 30.0;
	v->temp_c[1] = 29.6;
	v->temp_c[2] = 29.4;
	v->temp_c[3] = 28.6;
	v->temp_c[4] = 28.6;
	v->charge_fet = v->discharge_fet = true;
	v->fw_major = 15;
	v->fw_minor = 10;
	strcpy(v->model, "JK_PB2A16S15P");
	strcpy(v->serial, "31213480085");
}

START_TEST(requests_match_capture)
{
	static const uint8_t regs[3] = {0x1C, 0x1E, 0x20};
	uint8_t q[SIM_JKPB_REQ];

	for (unsigned i = 0; i < 3; i++) {
		struct frame want = cap_frame(">>>", i);
		int found = 0;
		unsigned a = 99;
		uint8_t reg = 0;

		ck_assert_uint_eq(sim_jkpb_request(1, regs[i], q), 11);
		ck_assert_uint_eq(want.n, 11);
		ck_assert_mem_eq(q, want.b, 11);
		ck_assert_uint_eq(sim_jkpb_scan(q, 11, &found, &a, &reg), 11);
		ck_assert_int_eq(found, 1);
		ck_assert_uint_eq(a, 1);
		ck_assert_uint_eq(reg, regs[i]);
	}
}
END_TEST

static uint32_t le(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

START_TEST(status_matches_capture)
{
	/* offset, size: the fields the simulator models */
	static const struct {
		unsigned at, n;
	} fields[] = {
		{6, 16},  {70, 4},  {144, 2}, {150, 4}, {158, 4}, {162, 2},
		{164, 2}, {166, 4}, {170, 2}, {172, 1}, {173, 1}, {174, 4},
		{178, 4}, {182, 4}, {190, 1}, {198, 1}, {199, 1}, {214, 1},
		{254, 2}, {256, 2}, {258, 2},
	};
	struct frame real = cap_frame("<<<", 4), ack = cap_frame("<<<", 5);
	struct sim_view v;
	uint8_t mine[SIM_JKPB_FRAME + SIM_JKPB_ACK];
	unsigned sum = 0;

	view_addr1(&v);
	ck_assert_uint_eq(real.n, 300);
	ck_assert_uint_eq(
		sim_jkpb_answer(1, 0x20, real.b[5], &v, mine, sizeof(mine)),
		308);
	ck_assert_mem_eq(mine, real.b, 6); /* header, type, counter */
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		ck_assert_msg(memcmp(mine + fields[i].at, real.b + fields[i].at,
				     fields[i].n) == 0,
			      "@%u: %08x, the capture %08x", fields[i].at,
			      le(mine + fields[i].at, fields[i].n),
			      le(real.b + fields[i].at, fields[i].n));
	for (unsigned i = 0; i < 299; i++)
		sum += mine[i];
	ck_assert_uint_eq(mine[299], sum & 0xFF);
	ck_assert_mem_eq(mine + 300, ack.b, 8); /* 01 10 16 20 00 01 04 4B */
}
END_TEST

START_TEST(info_matches_capture)
{
	static const struct {
		unsigned at, n;
	} fields[] = {{6, 16}, {30, 8}, {86, 11}};
	struct frame real = cap_frame("<<<", 0), ack = cap_frame("<<<", 1);
	struct sim_view v;
	uint8_t mine[SIM_JKPB_FRAME + SIM_JKPB_ACK];

	view_addr1(&v);
	ck_assert_uint_eq(
		sim_jkpb_answer(1, 0x1C, real.b[5], &v, mine, sizeof(mine)),
		308);
	ck_assert_mem_eq(mine, real.b, 6);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		ck_assert_mem_eq(mine + fields[i].at, real.b + fields[i].at,
				 fields[i].n);
	ck_assert_mem_eq(mine + 300, ack.b, 8); /* ... C4 47 */
	/* settings: the cell count and the design capacity */
	real = cap_frame("<<<", 2);
	ck_assert_uint_eq(
		sim_jkpb_answer(1, 0x1E, real.b[5], &v, mine, sizeof(mine)),
		308);
	ck_assert_mem_eq(mine + 114, real.b + 114, 4);
	ck_assert_mem_eq(mine + 130, real.b + 130, 4);
	ck_assert_mem_eq(mine + 300, cap_frame("<<<", 3).b, 8);
	ck_assert_uint_eq(sim_jkpb_answer(1, 0x21, 0, &v, mine, sizeof(mine)),
			  0);
}
END_TEST

START_TEST(alarm_bits)
{
	ck_assert_uint_eq(sim_jkpb_alarms(0), 0);
	ck_assert_uint_eq(sim_jkpb_alarms(SIM_PROT_CELL_UV), 1u << 11);
	ck_assert_uint_eq(sim_jkpb_alarms(SIM_PROT_CELL_OV), 1u << 4);
	ck_assert_uint_eq(sim_jkpb_alarms(SIM_PROT_CHG_OC), 1u << 6);
	ck_assert_uint_eq(sim_jkpb_alarms(SIM_PROT_DSG_UT), 1u << 27);
	ck_assert_uint_eq(sim_jkpb_alarms(SIM_PROT_LOCK), 1u << 28);
	ck_assert_uint_eq(sim_jkpb_alarms(SIM_PROT_SHORT | SIM_PROT_PACK_UV),
			  1u << 14 | 1u << 12);
}
END_TEST

/* ---- the responder on a bus ------------------------------------------ */

static struct {
	unsigned count;
	unsigned battery[64];
	struct frame f[64];
} out;

static void on_emit(void *ctx, unsigned battery, const uint8_t *f, size_t n)
{
	ck_assert_uint_lt(out.count, 64);
	out.battery[out.count] = battery;
	memcpy(out.f[out.count].b, f, n);
	out.f[out.count++].n = n;
}

static struct sim_battery bats[3];
static struct sim_battery *batp[3];

static struct sim_proto *bus(const unsigned *addrs, unsigned n)
{
	struct sim_battery_cfg cfg = {.ncells = 4,
				      .capacity_ah = 100,
				      .soc = 50,
				      .ntemps = 3,
				      .imbalance_mv = 0};

	for (unsigned i = 0; i < n; i++) {
		ck_assert_int_eq(sim_battery_init(&bats[i], i + 1, &cfg), 0);
		sim_jkpb_ops.identify(&bats[i]);
		bats[i].address = addrs[i];
		batp[i] = &bats[i];
	}
	memset(&out, 0, sizeof(out));
	return sim_jkpb_ops.create(
		&(struct sim_proto_cfg){.bats = batp, .nbats = n});
}

START_TEST(addressing)
{
	static const unsigned addrs[] = {1, 2};
	struct sim_proto *p = bus(addrs, 2);
	uint8_t q[SIM_JKPB_REQ];

	/* to 2, split in two, after noise */
	sim_jkpb_request(2, 0x20, q);
	sim_jkpb_ops.feed(p, (const uint8_t *)"\x55\x02", 2, on_emit, NULL);
	sim_jkpb_ops.feed(p, q, 5, on_emit, NULL);
	ck_assert_uint_eq(out.count, 0);
	sim_jkpb_ops.feed(p, q + 5, 6, on_emit, NULL);
	ck_assert_uint_eq(out.count, 1);
	ck_assert_uint_eq(out.battery[0], 1);
	ck_assert_uint_eq(out.f[0].n, 308);
	ck_assert_uint_eq(out.f[0].b[300], 2); /* the acknowledgement */
	/* the counter moves on */
	sim_jkpb_ops.feed(p, q, 11, on_emit, NULL);
	ck_assert_uint_ne(out.f[1].b[5], out.f[0].b[5]);
	/* nobody at 3, a bad CRC: silence */
	sim_jkpb_request(3, 0x20, q);
	sim_jkpb_ops.feed(p, q, 11, on_emit, NULL);
	sim_jkpb_request(1, 0x20, q);
	q[10] ^= 1;
	sim_jkpb_ops.feed(p, q, 11, on_emit, NULL);
	ck_assert_uint_eq(out.count, 2);
	/* the device info names the pack */
	sim_jkpb_request(1, 0x1C, q);
	sim_jkpb_ops.feed(p, q, 11, on_emit, NULL);
	ck_assert_uint_eq(out.count, 3);
	ck_assert_mem_eq(out.f[2].b + 86, "SIM00000001", 11);
	ck_assert_mem_eq(out.f[2].b + 6, "BMSSIM-4S-100AH", 15);
	sim_jkpb_ops.destroy(p);
}
END_TEST

START_TEST(master_polls_and_broadcasts)
{
	static const unsigned addrs[] = {0, 1, 3};
	struct sim_proto *p = bus(addrs, 3);
	uint8_t q[SIM_JKPB_REQ];

	/* the master answers no host */
	sim_jkpb_request(0, 0x20, q);
	sim_jkpb_ops.feed(p, q, 11, on_emit, NULL);
	ck_assert_uint_eq(out.count, 0);
	/* tick 1: its request to 1, and 1's answer */
	sim_jkpb_ops.tick(p, on_emit, NULL);
	ck_assert_uint_eq(out.count, 2);
	ck_assert_uint_eq(out.battery[0], 0);
	sim_jkpb_request(1, 0x20, q);
	ck_assert_uint_eq(out.f[0].n, 11);
	ck_assert_mem_eq(out.f[0].b, q, 11);
	ck_assert_uint_eq(out.battery[1], 1);
	ck_assert_uint_eq(out.f[1].b[300], 1);
	/* ticks 2-15: a request each, an answer from 3 only */
	for (unsigned a = 2; a <= 15; a++)
		sim_jkpb_ops.tick(p, on_emit, NULL);
	ck_assert_uint_eq(out.count, 2 + 14 + 1);
	/* tick 16: its own status, acknowledged as address 0 */
	sim_jkpb_ops.tick(p, on_emit, NULL);
	ck_assert_uint_eq(out.count, 18);
	ck_assert_uint_eq(out.battery[17], 0);
	ck_assert_uint_eq(out.f[17].n, 308);
	ck_assert_uint_eq(out.f[17].b[4], 0x02);
	ck_assert_mem_eq(out.f[17].b + 300, "\x00\x10\x16\x20\x00\x01", 6);
	/* switched off: nothing */
	bats[0].comm.silent = true;
	sim_jkpb_ops.tick(p, on_emit, NULL);
	ck_assert_uint_eq(out.count, 18);
	sim_jkpb_ops.destroy(p);
	/* no master: ticks are quiet */
	p = bus(addrs + 1, 2);
	sim_jkpb_ops.tick(p, on_emit, NULL);
	ck_assert_uint_eq(out.count, 0);
	sim_jkpb_ops.destroy(p);
}
END_TEST

START_TEST(quantize_and_check)
{
	struct sim_battery_cfg cfg = {.ncells = 4,
				      .capacity_ah = 100.4,
				      .soc = 55.5,
				      .ntemps = 6,
				      .imbalance_mv = 0};
	struct sim_battery b;
	struct sim_view v;
	char err[256];

	ck_assert_int_eq(sim_battery_init(&b, 7, &cfg), 0);
	sim_jkpb_ops.identify(&b);
	ck_assert_str_eq(b.serial, "SIM00000007");
	ck_assert_int_eq(sim_jkpb_ops.check(&b, err, sizeof(err)), -1);
	b.ntemps = 5;
	b.address = 16;
	ck_assert_int_eq(sim_jkpb_ops.check(&b, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "0-15"));
	b.address = 0;
	ck_assert_int_eq(sim_jkpb_ops.check(&b, err, sizeof(err)), 0);
	b.current_a = -1.2345;
	b.temp_c[0] = -3.66;
	sim_proto_view(&sim_jkpb_ops, &b, &v);
	ck_assert_double_eq_tol(v.current, -1.235, 1e-9);
	ck_assert_double_eq(v.soc, 56);
	ck_assert_double_eq_tol(v.nominal_ah, 100.4, 1e-9);
	ck_assert_double_eq_tol(v.temp_c[0], -3.7, 1e-9);
	ck_assert_double_eq_tol(v.voltage, 4 * v.cell_v[0], 1e-9);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sim_jkpb");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, requests_match_capture);
	tcase_add_test(tc, status_matches_capture);
	tcase_add_test(tc, info_matches_capture);
	tcase_add_test(tc, alarm_bits);
	tcase_add_test(tc, addressing);
	tcase_add_test(tc, master_polls_and_broadcasts);
	tcase_add_test(tc, quantize_and_check);
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
