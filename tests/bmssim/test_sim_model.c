/* SPDX-License-Identifier: MIT */
/*
 * test_sim_model.c - the simulator's battery model.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "sim_model.h"

static const struct sim_battery_cfg cfg4 = {
	.ncells = 4,
	.capacity_ah = 100,
	.soc = 80,
	.ntemps = 2,
	.imbalance_mv = 3,
};

START_TEST(ocv_curve)
{
	ck_assert_double_eq_tol(sim_ocv(0), 2.5, 1e-12);
	ck_assert_double_eq_tol(sim_ocv(-5), 2.5, 1e-12);
	ck_assert_double_eq_tol(sim_ocv(50), 3.29, 1e-12);
	ck_assert_double_eq_tol(sim_ocv(55), 3.295, 1e-12); /* interpolated */
	ck_assert_double_eq_tol(sim_ocv(99), 3.45, 1e-12);
	ck_assert_double_eq_tol(sim_ocv(100), 3.5, 1e-12);
	ck_assert_double_eq_tol(sim_ocv(120), 3.5, 1e-12);
	ck_assert_double_eq_tol(sim_ocv(NAN), 2.5, 1e-12);
	for (double s = 0; s < 100; s += 0.5)
		ck_assert(sim_ocv(s + 0.5) > sim_ocv(s));
}
END_TEST

START_TEST(init_defaults)
{
	struct sim_battery b;

	ck_assert_int_eq(sim_battery_init(&b, 3, &cfg4), 0);
	ck_assert_uint_eq(b.id, 3);
	ck_assert_uint_eq(b.ncells, 4);
	ck_assert_double_eq(b.soc, 80);
	ck_assert_double_eq_tol(b.r_cell, 0.0025, 1e-12);
	ck_assert_double_eq_tol(b.cell_offset[0], 0.0, 1e-12);
	ck_assert_double_eq_tol(b.cell_offset[1], 0.003, 1e-12);
	ck_assert_double_eq_tol(b.cell_offset[2], -0.002, 1e-12);
	ck_assert_double_eq_tol(b.cell_offset[3], 0.001, 1e-12);
	ck_assert_uint_eq(b.ntemps, 2);
	ck_assert_double_eq(b.temp_c[1], 25.0);
	ck_assert(b.charge_fet && b.discharge_fet);
	ck_assert_str_eq(b.model, "BMSSIM-4S-100AH");
}
END_TEST

START_TEST(init_rejects_bad_config)
{
	struct sim_battery b;
	struct sim_battery_cfg c = cfg4;

	c.ncells = 0;
	ck_assert_int_eq(sim_battery_init(&b, 1, &c), -1);
	c = cfg4;
	c.ncells = SIM_MAX_CELLS + 1;
	ck_assert_int_eq(sim_battery_init(&b, 1, &c), -1);
	c = cfg4;
	c.capacity_ah = 0;
	ck_assert_int_eq(sim_battery_init(&b, 1, &c), -1);
	c = cfg4;
	c.soc = 100.5;
	ck_assert_int_eq(sim_battery_init(&b, 1, &c), -1);
	c = cfg4;
	c.ntemps = SIM_MAX_TEMPS + 1;
	ck_assert_int_eq(sim_battery_init(&b, 1, &c), -1);
}
END_TEST

START_TEST(coulomb_counting)
{
	struct sim_battery b;

	sim_battery_init(&b, 1, &cfg4);
	b.current_a = -40;
	sim_battery_advance(&b, 900); /* 10 Ah out of 100 */
	ck_assert_double_eq_tol(b.soc, 70.0, 1e-9);
	ck_assert_double_eq_tol(b.discharged_ah, 10.0, 1e-9);
	sim_battery_advance(&b, 800); /* the past: ignored */
	ck_assert_double_eq_tol(b.soc, 70.0, 1e-9);
	b.current_a = 20;
	sim_battery_advance(&b, 900 + 1800); /* +10 Ah */
	ck_assert_double_eq_tol(b.soc, 80.0, 1e-9);
	ck_assert_double_eq_tol(b.discharged_ah, 10.0, 1e-9);
	sim_battery_advance(&b, 900 + 1800 + 36000); /* clamps at 100 */
	ck_assert_double_eq(b.soc, 100.0);
	b.current_a = -1000;
	sim_battery_advance(&b, 900 + 1800 + 36000 + 3600);
	ck_assert_double_eq(b.soc, 0.0);
}
END_TEST

START_TEST(cell_voltage_and_pins)
{
	struct sim_battery b;

	sim_battery_init(&b, 1, &cfg4);
	sim_battery_set_soc(&b, 50);
	b.current_a = -40; /* 40 A x 2.5 mOhm = 0.1 V sag */
	ck_assert_double_eq_tol(sim_battery_cell_v(&b, 0), 3.19, 1e-9);
	ck_assert_double_eq_tol(sim_battery_cell_v(&b, 1), 3.193, 1e-9);
	sim_battery_pin(&b, 1, 3.05);
	ck_assert_double_eq(sim_battery_cell_v(&b, 1), 3.05);
	b.current_a = 10; /* a pinned cell ignores load and SoC */
	sim_battery_set_soc(&b, 90);
	ck_assert_double_eq(sim_battery_cell_v(&b, 1), 3.05);
	ck_assert_double_eq_tol(sim_battery_cell_v(&b, 0), 3.365, 1e-9);
	sim_battery_unpin(&b, 1);
	ck_assert_double_eq_tol(sim_battery_cell_v(&b, 1), 3.368, 1e-9);
	sim_battery_pin(&b, 0, 3.0);
	sim_battery_pin(&b, 3, 3.6);
	sim_battery_unpin_all(&b);
	ck_assert_double_eq_tol(sim_battery_cell_v(&b, 3), 3.366, 1e-9);
	sim_battery_set_soc(&b, 150);
	ck_assert_double_eq(b.soc, 100.0);
}
END_TEST

START_TEST(view_and_balancing)
{
	struct sim_battery b;
	struct sim_view v;

	sim_battery_init(&b, 1, &cfg4);
	sim_battery_pin(&b, 0, 3.40);
	sim_battery_pin(&b, 1, 3.45);
	sim_battery_pin(&b, 2, 3.39);
	sim_battery_pin(&b, 3, 3.395);
	b.current_a = 5;
	b.discharged_ah = 250;
	b.protection = SIM_PROT_CELL_OV | SIM_PROT_LOCK;
	b.charge_fet = false;
	sim_battery_view(&b, &v);
	ck_assert_double_eq_tol(v.voltage, 13.635, 1e-9);
	ck_assert_double_eq_tol(v.remaining_ah, 80.0, 1e-9);
	ck_assert_double_eq(v.nominal_ah, 100.0);
	ck_assert_uint_eq(v.cycles, 2);
	ck_assert_uint_eq(v.balancing, 0x3); /* >= 3.40 V and 10 mV above */
	ck_assert_uint_eq(v.protection, SIM_PROT_CELL_OV | SIM_PROT_LOCK);
	ck_assert(!v.charge_fet && v.discharge_fet);
	ck_assert_uint_eq(v.mfg_year, 2024);
	b.current_a = 0; /* no balancing at rest */
	sim_battery_view(&b, &v);
	ck_assert_uint_eq(v.balancing, 0);
}
END_TEST

START_TEST(protection_tokens)
{
	ck_assert_str_eq(sim_prot_name(SIM_PROT_CELL_UV), "cell_undervoltage");
	ck_assert_str_eq(sim_prot_name(SIM_PROT_AFE), "frontend_error");
	ck_assert_str_eq(sim_prot_name(SIM_PROT_LOCK), "mosfet_lock");
	ck_assert_ptr_null(sim_prot_name(3));
	ck_assert_ptr_null(sim_prot_name(1u << SIM_PROT_COUNT));
	for (unsigned i = 0; i < SIM_PROT_COUNT; i++)
		ck_assert_uint_eq(sim_prot_from_name(sim_prot_name(1u << i)),
				  1u << i);
	ck_assert_uint_eq(sim_prot_from_name("cell_under"), 0);
	ck_assert_uint_eq(sim_prot_from_name(""), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sim_model");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, ocv_curve);
	tcase_add_test(tc, init_defaults);
	tcase_add_test(tc, init_rejects_bad_config);
	tcase_add_test(tc, coulomb_counting);
	tcase_add_test(tc, cell_voltage_and_pins);
	tcase_add_test(tc, view_and_balancing);
	tcase_add_test(tc, protection_tokens);
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
