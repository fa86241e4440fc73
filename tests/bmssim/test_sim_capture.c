/* SPDX-License-Identifier: MIT */
/*
 * test_sim_capture.c - reading captured traffic (.cap files).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_capture.h"

static struct sim_capture cap;
static char err[512];

/* Parse text as a capture named "t.cap". */
static int parse(const char *text)
{
	FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	int rc;

	ck_assert_ptr_nonnull(f);
	err[0] = '\0';
	rc = sim_capture_parse(f, "t.cap", &cap, err, sizeof(err));
	fclose(f);
	return rc;
}

static void teardown(void)
{
	sim_capture_free(&cap);
}

START_TEST(reads_the_shared_captures)
{
	static const uint8_t jbd_req[] = {0xDD, 0xA5, 0x04, 0x00,
					  0xFF, 0xFC, 0x77};

	ck_assert_msg(sim_capture_load(TEST_DATA_DIR "/jbd-doc-example.cap",
				       &cap, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_int_eq(cap.family, SIM_FAMILY_JBD);
	ck_assert_uint_eq(cap.n, 2);
	ck_assert_uint_eq(cap.pairs[1].line, 4);
	ck_assert_uint_eq(cap.pairs[1].reqlen, sizeof(jbd_req));
	ck_assert_mem_eq(cap.pairs[1].req, jbd_req, sizeof(jbd_req));
	ck_assert_uint_eq(cap.pairs[1].anslen, 4 + 30 + 3);
	ck_assert_uint_eq(cap.pairs[1].ans[3], 0x1E);
	sim_capture_free(&cap);

	ck_assert_msg(sim_capture_load(TEST_DATA_DIR "/pylontech-us2000.cap",
				       &cap, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_int_eq(cap.family, SIM_FAMILY_PYLON);
	ck_assert_uint_eq(cap.n, 6);
	ck_assert_uint_eq(cap.pairs[0].reqlen, 22);
	ck_assert_mem_eq(cap.pairs[0].req, "~2002464FC0048520FCB2\r", 22);
	ck_assert_uint_eq(cap.pairs[0].anslen, 18);
	ck_assert_mem_eq(cap.pairs[0].ans, "~200246000000FDB2\r", 18);
	sim_capture_free(&cap);
	ck_assert_int_eq(sim_capture_load(TEST_DATA_DIR
					  "/daly-16s-discharging.cap",
					  &cap, err, sizeof(err)),
			 0);
	ck_assert_int_eq(cap.family, SIM_FAMILY_DALY);
	/* the 16 cell frames are one answer */
	for (size_t i = 0; i < cap.n; i++)
		if (cap.pairs[i].req[2] == 0x95)
			ck_assert_uint_eq(cap.pairs[i].anslen, 16 * 13);
}
END_TEST

START_TEST(formats_and_comments)
{
	ck_assert_msg(
		parse("# head\n"
		      "\n"
		      "  >>> dd:a5:03:00:ff:fd:77   # colons, lower case\n"
		      ">>> DD A5 05 00 FF FB 77\n"
		      "<<< DD 05 00 01 41 FF BE 77\n"
		      "<<< DD 05 00 01 42 FF BD 77\n") == 0,
		"%s", err);
	ck_assert_uint_eq(cap.n, 2);
	ck_assert_ptr_null(cap.pairs[0].ans);       /* not answered */
	ck_assert_uint_eq(cap.pairs[1].anslen, 16); /* both answers */
	ck_assert_uint_eq(cap.pairs[1].ans[12], 0x42);
	ck_assert_uint_eq(cap.pairs[1].line, 4);
}
END_TEST

START_TEST(errors_name_the_line)
{
	static const struct {
		const char *text, *err;
	} bad[] = {
		{"<<< DD 03 00 77\n", "t.cap:1: an answer before any request"},
		{"# x\n>>> DD A5 0\n", "t.cap:2: '0' is not a hex byte"},
		{">>> DD A5 03 00 FF FD 77 78 9\n",
		 "t.cap:1: '9' is not a hex byte"},
		{">>> DDA5\n", "t.cap:1: 'DDA5' is not a hex byte"},
		{">>> ~20014642E00201FD35 junk\n",
		 "t.cap:1: text after the frame"},
		{">>> ~20014642E00201FD35\n>>> DD A5 03 00 FF FD 77\n",
		 "t.cap:2: a jbd frame in a ~ capture"},
		{">>> 41 42\n", "t.cap:1: a frame starts with 0xDD (jbd), '~', "
				"0x4E (jk), 0xA5 (daly) or is "
				"a jk-pb or Modbus RTU frame"},
		{">>>\n", "t.cap:1: empty frame"},
		{"DD A5 03 00 FF FD 77\n",
		 "t.cap:1: expected '>>> FRAME', '<<< FRAME' or a comment"},
		{"# nothing\n", "t.cap: no request in the capture"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(parse(bad[i].text), -1);
		ck_assert_str_eq(err, bad[i].err);
		ck_assert_uint_eq(cap.n, 0); /* nothing half-loaded */
		ck_assert_ptr_null(cap.pairs);
	}
	ck_assert_int_eq(
		sim_capture_load("/nonexistent.cap", &cap, err, sizeof(err)),
		-1);
	ck_assert_str_eq(err, "/nonexistent.cap: No such file or directory");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sim_capture");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, reads_the_shared_captures);
	tcase_add_test(tc, formats_and_comments);
	tcase_add_test(tc, errors_name_the_line);
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
