/* SPDX-License-Identifier: MIT */
/*
 * test_capture.c - recording a port's traffic (src/daemon/capture.c): the
 * lines, the bounds (time, bytes, text), and that the result reads back
 * as a capture file (tests/unit/vectors.h, the format of tests/data).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "vectors.h"

#define S 1000000ULL /* µs */

static const uint8_t req[] = {0x01, 0x10, 0x16, 0x20, 0x00, 0x01,
			      0x02, 0x00, 0x00, 0xD6, 0xF1};
static const uint8_t ans[] = {0x55, 0xAA, 0xEB, 0x90, 0x02, 0x05, 0x12};

static struct capture *cp;

static void setup(void)
{
	cp = capture_new();
	ck_assert_ptr_nonnull(cp);
}

static void teardown(void)
{
	capture_free(cp);
}

static void start(uint64_t max_us, size_t max_bytes)
{
	char err[160] = "";

	ck_assert_msg(capture_start(cp, "b1", "/dev/ttyUSB0, protocol jk-pb",
				    1000 * S, max_us, max_bytes, err,
				    sizeof(err)) == 0,
		      "%s", err);
}

/* The text, read back by the test-vector reader. */
static void read_back(struct vec_capture *cap)
{
	char path[] = "/tmp/test_capture.XXXXXX", err[512] = "";
	const char *text = capture_text(cp);
	int fd = mkstemp(path);

	ck_assert_ptr_nonnull(text);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ck_assert_msg(vec_capture_load(path, cap, err, sizeof(err)) == 0, "%s",
		      err);
	unlink(path);
}

START_TEST(lines_and_read_back)
{
	struct vec_capture cap;

	ck_assert_int_eq(capture_state(cp), CAPTURE_NONE);
	ck_assert_ptr_null(capture_text(cp));
	ck_assert_str_eq(capture_port(cp), "");
	start(10 * S, 1000);
	ck_assert_int_eq(capture_state(cp), CAPTURE_RECORDING);
	ck_assert_str_eq(capture_port(cp), "b1");
	/* before any request: a comment; another port: nothing */
	capture_rx(cp, "b1", (const uint8_t *)"\x77\x77", 2, 1000 * S + 1000);
	capture_tx(cp, "b2", req, sizeof(req), 1000 * S + 2000);
	/* a request, its answer in three pieces, our next request */
	capture_tx(cp, "b1", req, sizeof(req), 1000 * S + 250000);
	capture_rx(cp, "b1", ans, 2, 1000 * S + 290000);
	capture_rx(cp, "b1", ans + 2, 3, 1000 * S + 291000);
	capture_rx(cp, "b1", ans + 5, 2, 1000 * S + 292000);
	capture_tx(cp, "b1", req, sizeof(req), 1000 * S + 500000);
	ck_assert_uint_eq(capture_bytes(cp), 2 + 11 + 7 + 11);
	ck_assert_uint_eq(capture_elapsed_us(cp, 1001 * S), S);
	ck_assert(!capture_tick(cp, 1009 * S));
	ck_assert_ptr_null(capture_text(cp)); /* not before the end */
	ck_assert(capture_tick(cp, 1010 * S));
	ck_assert_int_eq(capture_state(cp), CAPTURE_DONE);
	ck_assert_uint_eq(capture_elapsed_us(cp, 1011 * S), 0);
	ck_assert_ptr_nonnull(strstr(capture_text(cp),
				     "# smallbms capture of port b1: "
				     "/dev/ttyUSB0, protocol jk-pb\n"));
	ck_assert_ptr_nonnull(strstr(capture_text(cp),
				     "# before the first request: 77 77\n"));
	ck_assert_ptr_nonnull(strstr(capture_text(cp),
				     ">>> 01 10 16 20 00 01 02 00 00 D6 F1  "
				     "# +0.250 s\n<<< 55 AA EB 90 02 05 12  "
				     "# +0.290 s\n>>> "));
	ck_assert_ptr_nonnull(strstr(capture_text(cp),
				     "# ended: the time asked for is over; 31 "
				     "bytes\n"));
	read_back(&cap);
	ck_assert_uint_eq(cap.n, 3);
	ck_assert_int_eq(cap.frames[0].dir, VEC_HOST);
	ck_assert_mem_eq(cap.frames[0].data, req, sizeof(req));
	ck_assert_int_eq(cap.frames[1].dir, VEC_BATTERY);
	ck_assert_uint_eq(cap.frames[1].len, sizeof(ans));
	ck_assert_mem_eq(cap.frames[1].data, ans, sizeof(ans));
	ck_assert_int_eq(cap.frames[2].dir, VEC_HOST);
	vec_capture_free(&cap);
	/* later traffic is not recorded; a new recording starts afresh */
	capture_tx(cp, "b1", req, sizeof(req), 1012 * S);
	ck_assert_uint_eq(capture_bytes(cp), 31);
	start(5 * S, 100);
	ck_assert_uint_eq(capture_bytes(cp), 0);
	ck_assert_ptr_null(capture_text(cp));
}
END_TEST

START_TEST(bounds)
{
	char err[160];

	/* out of range, or one already running */
	ck_assert_int_eq(
		capture_start(cp, "b1", "x", 0, S - 1, 10, err, sizeof(err)),
		-1);
	ck_assert_int_eq(capture_start(cp, "b1", "x", 0, CAPTURE_MAX_US + 1, 10,
				       err, sizeof(err)),
			 -1);
	ck_assert_int_eq(
		capture_start(cp, "b1", "x", 0, S, 0, err, sizeof(err)), -1);
	ck_assert_int_eq(capture_start(cp, "b1", "x", 0, S,
				       CAPTURE_MAX_BYTES + 1, err, sizeof(err)),
			 -1);
	ck_assert_int_eq(capture_state(cp), CAPTURE_NONE);
	start(10 * S, 30);
	ck_assert_int_eq(
		capture_start(cp, "b2", "x", 0, S, 10, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "b1"));
	/* the bytes: the chunk that reaches them ends it, cut to them */
	capture_tx(cp, "b1", req, sizeof(req), 1000 * S);
	capture_rx(cp, "b1", req, sizeof(req), 1000 * S + 1);
	capture_rx(cp, "b1", req, sizeof(req), 1000 * S + 2);
	ck_assert_int_eq(capture_state(cp), CAPTURE_DONE);
	ck_assert_uint_eq(capture_bytes(cp), 30);
	ck_assert_ptr_nonnull(strstr(capture_text(cp),
				     "<<< 01 10 16 20 00 01 02 00 00 D6 F1 01 "
				     "10 16 20 00 01 02 00  # +0.000 s\n"));
	ck_assert_ptr_nonnull(
		strstr(capture_text(cp), "# ended: the bytes asked for"));
}
END_TEST

/* Small requests without answers fill the text before the bytes or the
 * time: it ends, whole lines only, within its size. */
START_TEST(text_full)
{
	uint64_t t = 1000 * S;

	start(600 * S, CAPTURE_MAX_BYTES);
	while (capture_state(cp) == CAPTURE_RECORDING)
		capture_tx(cp, "b1", req, 1, t += 1000);
	ck_assert_uint_le(strlen(capture_text(cp)), CAPTURE_MAX_TEXT);
	ck_assert_ptr_nonnull(
		strstr(capture_text(cp), "# ended: the text is full"));
	ck_assert_uint_lt(capture_bytes(cp), CAPTURE_MAX_BYTES);
	/* the last frame line is whole */
	ck_assert_ptr_nonnull(strstr(capture_text(cp), "s\n# ended"));
}
END_TEST

static Suite *capture_suite(void)
{
	Suite *s = suite_create("capture");
	TCase *tc = tcase_create("recording");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, lines_and_read_back);
	tcase_add_test(tc, bounds);
	tcase_add_test(tc, text_full);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(capture_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
