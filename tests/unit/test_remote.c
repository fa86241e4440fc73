/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for remote.c: the Remote on/off input on a real sd-event
 * loop, through the dry-run backend in file mode (the test flips the
 * level by writing DIR/GPIO22). Waits are the loop running until a
 * condition holds, with a deadline; nothing sleeps.
 */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "remote.h"

#define MS       1000ULL
#define DEADLINE (3000 * MS)

static char dir[64];
static char err[512];
static struct cfg cfg;
static sd_event *ev;
static struct remote *rem;

static struct {
	unsigned calls;
	bool last;
	uint64_t at_us; /* CLOCK_MONOTONIC of the last call */
} cb;

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void on_change(bool on, void *userdata)
{
	ck_assert_ptr_eq(userdata, &cb);
	cb.calls++;
	cb.last = on;
	cb.at_us = mono_us();
}

static void file_write(const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/GPIO22", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void file_remove(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/GPIO22", dir);
	ck_assert_int_eq(unlink(path), 0);
}

static void setup(void)
{
	memset(&cb, 0, sizeof(cb));
	snprintf(dir, sizeof(dir), "/tmp/test_remote.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(gpio_dryrun_set_dir(dir), 0);
	log_init("test_remote", LOG_CRIT);
	ck_assert_int_ge(sd_event_new(&ev), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.have_remote = true;
	snprintf(cfg.remote.line.name, GPIO_NAME_LEN, "GPIO22");
	cfg.remote.line.offset = -1;
	cfg.remote.line.debounce_us = 20 * MS;
	rem = NULL;
}

static void teardown(void)
{
	char path[PATH_MAX];

	remote_free(rem);
	sd_event_unref(ev);
	snprintf(path, sizeof(path), "%s/GPIO22", dir);
	unlink(path);
	rmdir(dir);
	gpio_dryrun_set_dir(NULL);
}

static void start(void)
{
	rem = remote_new(ev, &gpio_dryrun_ops, &cfg, on_change, &cb, err,
			 sizeof(err));
	ck_assert_msg(rem != NULL, "%s", err);
}

typedef bool (*cond_fn)(void);

/* Run the loop until cond() holds or the deadline passes. */
static bool run_until(cond_fn cond)
{
	uint64_t end = mono_us() + DEADLINE;

	while (!cond() && mono_us() < end)
		ck_assert_int_ge(sd_event_run(ev, 10 * MS), 0);
	return cond();
}

static unsigned want_calls;
static unsigned long want_count;

static bool calls_reached(void)
{
	return cb.calls >= want_calls;
}

static bool edges_reached(void)
{
	return remote_stats(rem).edges >= want_count;
}

static bool bounces_reached(void)
{
	return remote_stats(rem).bounces >= want_count;
}

static bool errors_reached(void)
{
	return remote_stats(rem).errors >= want_count;
}

static void wait_calls(unsigned n)
{
	want_calls = n;
	ck_assert_msg(run_until(calls_reached), "%u callbacks, want %u",
		      cb.calls, n);
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(absent_is_on)
{
	json_t *j;
	char *text;

	cfg.have_remote = false;
	start();
	ck_assert(remote_on(rem));
	ck_assert(!remote_configured(rem));
	ck_assert(remote_on(NULL));
	ck_assert(!remote_configured(NULL));
	j = remote_json(rem);
	text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	ck_assert_str_eq(text, "{\"configured\":false,\"on\":true}");
	free(text);
	json_decref(j);
	/* Nothing requested: the line is free. */
	cfg.have_remote = true;
	remote_free(rem);
	start();
	ck_assert(remote_configured(rem));
}
END_TEST

START_TEST(initial_value)
{
	file_write("1\n");
	start();
	ck_assert(remote_on(rem));
	remote_free(rem);
	file_write("0\n");
	start();
	ck_assert(!remote_on(rem));
	remote_free(rem);
	/* No file: an inactive line, so off. */
	file_remove();
	start();
	ck_assert(!remote_on(rem));
	ck_assert_uint_eq(cb.calls, 0); /* the initial value is no change */
}
END_TEST

START_TEST(edges_are_reported_after_debounce)
{
	uint64_t t0;

	file_write("0\n");
	start();
	ck_assert(!remote_on(rem));

	t0 = mono_us();
	file_write("1\n");
	wait_calls(1);
	ck_assert(cb.last);
	ck_assert(remote_on(rem));
	/* Not before the level was stable for the debounce time. */
	ck_assert_uint_ge(cb.at_us - t0, 20 * MS);

	t0 = mono_us();
	file_write("0\n");
	wait_calls(2);
	ck_assert(!cb.last);
	ck_assert(!remote_on(rem));
	ck_assert_uint_ge(cb.at_us - t0, 20 * MS);
	ck_assert_uint_eq(remote_stats(rem).edges, 2);
	ck_assert_uint_eq(remote_stats(rem).changes, 2);
	ck_assert_uint_eq(remote_stats(rem).bounces, 0);
}
END_TEST

/* A bounce shorter than the debounce time changes nothing. A longer
 * debounce than the other tests use, so that the test itself is always
 * faster than the timer. */
START_TEST(short_bounce_is_ignored)
{
	cfg.remote.line.debounce_us = 200 * MS;
	file_write("0\n");
	start();

	file_write("1\n");
	want_count = 1;
	ck_assert(run_until(edges_reached));
	file_write("0\n"); /* back within the debounce time */
	want_count = 1;
	ck_assert(run_until(bounces_reached));
	ck_assert_uint_eq(remote_stats(rem).edges, 2);
	ck_assert_uint_eq(remote_stats(rem).changes, 0);
	ck_assert_uint_eq(cb.calls, 0);
	ck_assert(!remote_on(rem));

	/* A real change still comes through. */
	file_write("1\n");
	wait_calls(1);
	ck_assert(cb.last);
	ck_assert_uint_eq(remote_stats(rem).bounces, 1);
}
END_TEST

START_TEST(active_low)
{
	cfg.remote.line.active_low = true;
	cfg.remote.line.bias = GPIO_BIAS_PULL_UP;
	file_write("1\n"); /* pulled up, switch open: off */
	start();
	ck_assert(!remote_on(rem));
	file_write("0\n"); /* switch closed to GND: on */
	wait_calls(1);
	ck_assert(cb.last);
	ck_assert(remote_on(rem));
	file_write("1\n");
	wait_calls(2);
	ck_assert(!cb.last);
}
END_TEST

START_TEST(unreadable_line_is_off)
{
	file_write("1\n");
	start();
	ck_assert(remote_on(rem));
	file_write("garbage\n");
	wait_calls(1);
	ck_assert(!cb.last);
	ck_assert(!remote_on(rem));
	want_count = 1;
	ck_assert(run_until(errors_reached));
	/* Readable again. */
	file_write("1\n");
	wait_calls(2);
	ck_assert(cb.last);
}
END_TEST

START_TEST(no_debounce)
{
	cfg.remote.line.debounce_us = 0;
	file_write("0\n");
	start();
	file_write("1\n");
	wait_calls(1);
	ck_assert(cb.last);
	file_write("0\n");
	wait_calls(2);
	ck_assert(!cb.last);
}
END_TEST

START_TEST(json_view)
{
	json_t *j;
	char *text;

	file_write("0\n");
	start();
	file_write("1\n");
	wait_calls(1);
	j = remote_json(rem);
	text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	ck_assert_str_eq(text, "{\"configured\":true,\"line\":\"GPIO22\","
			       "\"on\":true,\"edges\":1,\"changes\":1,"
			       "\"bounces\":0,\"errors\":0}");
	free(text);
	json_decref(j);
}
END_TEST

START_TEST(request_errors)
{
	struct gpio_line_spec s = {.name = "GPIO22", .offset = -1};
	struct gpio_line *held;
	char want[600];

	held = gpio_dryrun_ops.request_output(&s, "other", false, err,
					      sizeof(err));
	ck_assert_ptr_nonnull(held);
	rem = remote_new(ev, &gpio_dryrun_ops, &cfg, on_change, &cb, err,
			 sizeof(err));
	ck_assert_ptr_null(rem);
	ck_assert_str_eq(err, "remote input: dry-run: line GPIO22 is busy "
			      "(already requested)");
	gpio_dryrun_ops.release(held);

	file_write("on\n");
	rem = remote_new(ev, &gpio_dryrun_ops, &cfg, on_change, &cb, err,
			 sizeof(err));
	ck_assert_ptr_null(rem);
	snprintf(want, sizeof(want),
		 "remote input: dry-run: cannot read %s/GPIO22: not \"0\" or "
		 "\"1\"",
		 dir);
	ck_assert_str_eq(err, want);
}
END_TEST

static Suite *remote_suite(void)
{
	Suite *s = suite_create("remote");
	TCase *tc = tcase_create("remote");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, absent_is_on);
	tcase_add_test(tc, initial_value);
	tcase_add_test(tc, edges_are_reported_after_debounce);
	tcase_add_test(tc, short_bounce_is_ignored);
	tcase_add_test(tc, active_low);
	tcase_add_test(tc, unreadable_line_is_off);
	tcase_add_test(tc, no_debounce);
	tcase_add_test(tc, json_view);
	tcase_add_test(tc, request_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(remote_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
