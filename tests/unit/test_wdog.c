/* SPDX-License-Identifier: MIT */
/*
 * test_wdog.c - the systemd watchdog interval derived from the charge
 * comm-loss limit (wdog.h): a hung daemon is killed, and its lines fall,
 * within comm_loss_charge of the hang, whatever WatchdogSec= says.
 */
#include <check.h>
#include <stdlib.h>

#include "wdog.h"

#define S 1000000ULL

/* The default limit (10 s) under the unit's WatchdogSec=30s: 5 s. */
START_TEST(half_of_comm_loss_charge)
{
	ck_assert_uint_eq(wdog_interval_us(30 * S, 10 * S), 5 * S);
	ck_assert_uint_eq(wdog_interval_us(30 * S, 60 * S), 30 * S);
	ck_assert_uint_eq(wdog_interval_us(30 * S, 1 * S), S / 2);
}
END_TEST

/* Systemd acts at most one interval after the last keep-alive, sent at
 * most half an interval before the hang: for every limit the config
 * allows (1-60 s), that and the margin left for the kill and
 * ExecStopPost= (at least half the limit) fit inside the limit. */
START_TEST(fires_within_the_limit_for_every_allowed_value)
{
	for (uint64_t cl = 1 * S; cl <= 60 * S; cl += S / 4) {
		uint64_t w = wdog_interval_us(30 * S, cl);

		ck_assert_uint_gt(w, 0);
		ck_assert_uint_le(w, cl / 2);
	}
}
END_TEST

/* A stricter WatchdogSec= (a drop-in) is kept; none means no watchdog. */
START_TEST(unit_value_is_a_ceiling_and_zero_is_off)
{
	ck_assert_uint_eq(wdog_interval_us(2 * S, 10 * S), 2 * S);
	ck_assert_uint_eq(wdog_interval_us(0, 10 * S), 0);
	ck_assert_uint_eq(wdog_interval_us(30 * S, 0), 30 * S);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wdog");
	TCase *tc = tcase_create("wdog");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, half_of_comm_loss_charge);
	tcase_add_test(tc, fires_within_the_limit_for_every_allowed_value);
	tcase_add_test(tc, unit_value_is_a_ceiling_and_zero_is_off);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
