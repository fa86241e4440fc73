/* SPDX-License-Identifier: MIT */
/*
 * test_number.c - the one strict parser of numbers and durations (config,
 * run-time settings, socket commands): what it takes, what it refuses,
 * and that the values are exact.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "number.h"

START_TEST(decimals_exact)
{
	static const struct {
		const char *text;
		double v;
		unsigned decimals;
	} ok[] = {
		{"0", 0, 0},
		{"2.80", 2.80, 2},
		{"3.65", 3.65, 2},
		{"-5", -5, 0},
		{"-0", 0, 0},
		{"-0.0", 0, 1},
		{"100", 100, 0},
		{"0.1", 0.1, 1},
		{"123456789", 123456789, 0},
		{"1.000000001", 1.000000001, 9},
	};
	double v;
	unsigned d;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(num_decimal_all(ok[i].text, &v, &d), "%s",
			      ok[i].text);
		ck_assert_msg(v == ok[i].v, "%s: %.17g", ok[i].text, v);
		ck_assert_uint_eq(d, ok[i].decimals);
		ck_assert(!signbit(v) || ok[i].v < 0); /* never -0.0 */
	}
	/* too long for any range: huge, never wrapped */
	ck_assert(num_decimal_all("99999999999999999999", &v, &d));
	ck_assert(v >= NUM_HUGE);
	ck_assert(num_decimal_all("-99999999999999999999", &v, &d));
	ck_assert(v <= -NUM_HUGE);
}
END_TEST

START_TEST(decimals_refused)
{
	static const char *const bad[] = {
		"",   " 1", "1 ",  "+1",  "0x10", "1e3",  "inf",   "nan", "-",
		".5", "2.", "2,5", "--1", "1-",   "1..2", "1.2.3", "\t1", "١",
	};
	double v;
	unsigned d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!num_decimal_all(bad[i], &v, &d), "'%s' accepted",
			      bad[i]);
}
END_TEST

START_TEST(decimal_prefix_with_a_unit)
{
	const char *end;
	double v;
	unsigned d;

	ck_assert(num_decimal("2.80V", &v, &d, &end));
	ck_assert(v == 2.80);
	ck_assert_str_eq(end, "V");
	ck_assert(num_decimal("5\xC2\xB0"
			      "C",
			      &v, &d, &end));
	ck_assert_str_eq(end, "\xC2\xB0"
			      "C");
	ck_assert(!num_decimal("V", &v, &d, &end));
}
END_TEST

START_TEST(uints)
{
	uint64_t v;
	const char *p = "12-15";

	ck_assert(num_uint("0", &v) && v == 0);
	ck_assert(num_uint("65535", &v) && v == 65535);
	ck_assert(num_uint("99999999999999999999999", &v) &&
		  v >= UINT64_MAX / 100);
	ck_assert(!num_uint("", &v));
	ck_assert(!num_uint("-1", &v));
	ck_assert(!num_uint("+1", &v));
	ck_assert(!num_uint(" 1", &v));
	ck_assert(!num_uint("1.0", &v));
	ck_assert(!num_uint("0x1", &v));
	ck_assert_uint_eq(num_digits(&p, &v), 2);
	ck_assert_uint_eq(v, 12);
	ck_assert_str_eq(p, "-15");
}
END_TEST

START_TEST(durations)
{
	uint64_t ms;

	ck_assert_int_eq(num_duration_ms("250ms", &ms), NUM_DURATION_OK);
	ck_assert_uint_eq(ms, 250);
	ck_assert_int_eq(num_duration_ms("2.5s", &ms), NUM_DURATION_OK);
	ck_assert_uint_eq(ms, 2500);
	ck_assert_int_eq(num_duration_ms("2m", &ms), NUM_DURATION_OK);
	ck_assert_uint_eq(ms, 120000);
	ck_assert_int_eq(num_duration_ms("1h", &ms), NUM_DURATION_OK);
	ck_assert_uint_eq(ms, 3600000);
	ck_assert_int_eq(num_duration_ms("0.001s", &ms), NUM_DURATION_OK);
	ck_assert_uint_eq(ms, 1);
	ck_assert_int_eq(num_duration_ms("5", &ms), NUM_DURATION_NO_UNIT);
	ck_assert_int_eq(num_duration_ms("1.5ms", &ms), NUM_DURATION_FRACTION);
	ck_assert_int_eq(num_duration_ms("1.0001s", &ms), NUM_DURATION_NOT);
	ck_assert_int_eq(num_duration_ms("-1s", &ms), NUM_DURATION_NOT);
	ck_assert_int_eq(num_duration_ms("2 m", &ms), NUM_DURATION_NOT);
	ck_assert_int_eq(num_duration_ms("2d", &ms), NUM_DURATION_NOT);
	ck_assert_int_eq(num_duration_ms("s", &ms), NUM_DURATION_NOT);
	ck_assert_int_eq(num_duration_ms("99999999999999999999h", &ms),
			 NUM_DURATION_OK);
	ck_assert_uint_eq(ms, UINT64_MAX);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("number");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, decimals_exact);
	tcase_add_test(tc, decimals_refused);
	tcase_add_test(tc, decimal_prefix_with_a_unit);
	tcase_add_test(tc, uints);
	tcase_add_test(tc, durations);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
