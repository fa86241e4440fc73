/* SPDX-License-Identifier: MIT */
/*
 * test_probe.c - smallbmsd --probe on a pseudo-terminal nobody answers:
 * every driver of the registry is tried, the run ends within the time it
 * announces, and that time stays under 20 s with each protocol's own
 * timeouts; a line another process holds is refused before any request.
 * (Lines that answer: tests/e2e/probe.sh, against bmssim and the real
 * captures.)
 */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"
#include "probe.h"

static int master = -1;
static char slave[64];

static void open_pty(void)
{
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(master, 0);
	ck_assert_int_eq(grantpt(master), 0);
	ck_assert_int_eq(unlockpt(master), 0);
	ck_assert_int_eq(ptsname_r(master, slave, sizeof(slave)), 0);
}

static void close_pty(void)
{
	if (master >= 0)
		close(master);
	master = -1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Run the probe into a string; returns its status. */
static int probe(const char *dev, unsigned timeout_ms, char **text)
{
	struct probe_opts o = {.device = dev, .timeout_ms = timeout_ms};
	size_t len;
	FILE *out = open_memstream(text, &len);
	int rc;

	ck_assert_ptr_nonnull(out);
	rc = probe_run(&o, out);
	fclose(out);
	return rc;
}

/* Every driver is tried at least once, so the bound is at least the sum
 * of their timeouts; a driver added with too many attempts (or a long
 * timeout) must not push a silent line past 20 s. */
START_TEST(silent_bound_covers_every_driver_under_20s)
{
	const struct bms_driver *drv;
	uint64_t sum = 0, bound = probe_silent_ms(false, 0);

	for (size_t i = 0; (drv = drv_at(i)) != NULL; i++)
		sum += drv->default_timeout_ms;
	ck_assert_uint_ge(bound, sum);
	ck_assert_uint_lt(bound, 20000);
	/* A gateway's baud rate is its own: no alternative rates. */
	ck_assert_uint_le(probe_silent_ms(true, 0), bound);
	ck_assert_uint_lt(probe_silent_ms(false, 20), bound);
}
END_TEST

/* Nothing answers: exit 1 within the announced time (plus the time to
 * open the line at each rate), every driver named in what was tried.
 * 100 ms per request: a second request per address (a retry) or a
 * longer wait would add more than the 500 ms of slack. */
START_TEST(silent_line_tries_everything_in_time)
{
	const struct bms_driver *drv;
	uint64_t t0, took, bound = probe_silent_ms(false, 100);
	char *text = NULL;
	int rc;

	open_pty();
	t0 = now_ms();
	rc = probe(slave, 100, &text);
	took = now_ms() - t0;
	ck_assert_int_eq(rc, PROBE_NOTHING);
	ck_assert_uint_ge(took, bound);
	ck_assert_uint_lt(took, bound + 500);
	ck_assert_ptr_nonnull(strstr(text, "Nothing answered. Tried:"));
	for (size_t i = 0; (drv = drv_at(i)) != NULL; i++) {
		char what[64];

		snprintf(what, sizeof(what), " %s at %u", drv->name,
			 drv->default_baud);
		ck_assert_msg(strstr(text, what), "%s not tried:\n%s", what,
			      text);
		if (!drv->alt_baud)
			continue;
		snprintf(what, sizeof(what), " %s at %u", drv->name,
			 drv->alt_baud);
		ck_assert_msg(strstr(text, what), "%s not tried:\n%s", what,
			      text);
	}
	free(text);
	close_pty();
}
END_TEST

/* Another process holds the line (the daemon's flock): refused, nothing
 * sent, nothing waited for. */
START_TEST(held_line_refused)
{
	char *text = NULL;
	int fd, rc;

	open_pty();
	fd = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
	rc = probe(slave, 20, &text);
	ck_assert_int_eq(rc, PROBE_DEVICE);
	ck_assert_ptr_nonnull(strstr(text, "in use by another process"));
	ck_assert_ptr_null(strstr(text, " baud: "));
	free(text);
	close(fd);
	close_pty();
}
END_TEST

START_TEST(missing_device_refused)
{
	char *text = NULL;

	ck_assert_int_eq(probe("/nonexistent/tty", 20, &text), PROBE_DEVICE);
	ck_assert_ptr_nonnull(strstr(text, "no such device"));
	free(text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("probe");
	TCase *tc = tcase_create("probe");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, silent_bound_covers_every_driver_under_20s);
	tcase_add_test(tc, silent_line_tries_everything_in_time);
	tcase_add_test(tc, held_line_refused);
	tcase_add_test(tc, missing_device_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
