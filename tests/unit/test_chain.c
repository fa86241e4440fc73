/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for chain.c: the scheduler against a JBD battery played by
 * this test on the master side of a pseudo-terminal. The answers are the
 * real frames of tests/data/jbd-doc-example.cap.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "chain.h"
#include "log.h"

static const uint8_t ans_basic[] = {
	0xDD, 0x03, 0x00, 0x1B, 0x17, 0x00, 0x00, 0x00, 0x02, 0xD0, 0x03, 0xE8,
	0x00, 0x00, 0x20, 0x78, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x48,
	0x03, 0x0F, 0x02, 0x0B, 0x76, 0x0B, 0x82, 0xFB, 0xFF, 0x77};
static const uint8_t ans_cells[] = {
	0xDD, 0x04, 0x00, 0x1E, 0x0F, 0x66, 0x0F, 0x63, 0x0F, 0x63,
	0x0F, 0x64, 0x0F, 0x3E, 0x0F, 0x63, 0x0F, 0x37, 0x0F, 0x5B,
	0x0F, 0x65, 0x0F, 0x3B, 0x0F, 0x63, 0x0F, 0x63, 0x0F, 0x3C,
	0x0F, 0x66, 0x0F, 0x3D, 0xF9, 0xF9, 0x77};

/* How the simulated battery behaves. */
struct battery_play {
	bool silent;
	bool echo;         /* RS485 adapter echoes our request */
	size_t garbage;    /* bytes of noise before each answer */
	bool corrupt_once; /* first basic answer has a bad checksum */
	bool impossible;   /* cells answered as 0xFFFF mV, checksum valid */
	unsigned requests;
};

struct fixture {
	int master;
	char slave[64];
	struct cfg cfg;
	sd_event *ev;
	struct chain *chain;
	unsigned updates;
	struct battery_play play;
};

static struct fixture fx;

static void on_update(struct chain *c, bool scan_done, void *userdata)
{
	fx.updates++;
}

static void setup(void)
{
	int slave;
	struct termios t;

	memset(&fx, 0, sizeof(fx));
	ck_assert_int_eq(openpty(&fx.master, &slave, fx.slave, NULL, NULL), 0);
	tcgetattr(fx.master, &t);
	cfmakeraw(&t);
	tcsetattr(fx.master, TCSANOW, &t);
	close(slave);
	fcntl(fx.master, F_SETFL, O_NONBLOCK);
	fx.cfg.poll_interval_ms = 200;
	fx.cfg.stale_after_ms = 600;
	fx.cfg.series = 1;
	fx.cfg.nports = 1;
	snprintf(fx.cfg.ports[0].name, CFG_NAME_LEN, "test");
	snprintf(fx.cfg.ports[0].device, CFG_PATH_LEN, "%s", fx.slave);
	snprintf(fx.cfg.ports[0].protocol, CFG_NAME_LEN, "jbd");
	fx.cfg.ports[0].timeout_ms = 60;
	log_init("test_chain", LOG_WARNING);
	ck_assert_int_ge(sd_event_new(&fx.ev), 0);
}

static void teardown(void)
{
	chain_free(fx.chain);
	sd_event_unref(fx.ev);
	close(fx.master);
}

static void start_chain(void)
{
	char err[256];

	fx.chain = chain_new(fx.ev, &fx.cfg, on_update, NULL, err, sizeof(err));
	ck_assert_msg(fx.chain != NULL, "chain_new: %s", err);
}

/* Every cell of a 0x04 answer at 0xFFFF mV (65.535 V), with the
 * checksum made right again: well-formed, and impossible. */
static void impossible_cells(uint8_t *f, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 4; i + 3 < n; i++)
		f[i] = 0xFF;
	for (size_t i = 2; i + 3 < n; i++)
		sum += f[i];
	sum = 0x10000u - (sum & 0xFFFFu);
	f[n - 3] = (uint8_t)(sum >> 8);
	f[n - 2] = (uint8_t)sum;
}

static void answer(const uint8_t *req, size_t n)
{
	static const uint8_t noise[] = {0x00, 0x77, 0xDD, 0x12, 0xFF, 0xA5};
	uint8_t out[128];
	size_t len = 0;

	if (fx.play.echo) {
		memcpy(out, req, n);
		len = n;
	}
	for (size_t k = 0; k < fx.play.garbage; k++)
		out[len++] = noise[k % sizeof(noise)];
	if (req[2] == 0x03) {
		memcpy(out + len, ans_basic, sizeof(ans_basic));
		if (fx.play.corrupt_once) {
			out[len + 5] ^= 0x01;
			fx.play.corrupt_once = false;
		}
		len += sizeof(ans_basic);
	} else if (req[2] == 0x04) {
		memcpy(out + len, ans_cells, sizeof(ans_cells));
		if (fx.play.impossible)
			impossible_cells(out + len, sizeof(ans_cells));
		len += sizeof(ans_cells);
	} else {
		return; /* 0x05 unsupported by this battery: silence */
	}
	ck_assert_int_eq(write(fx.master, out, len), (ssize_t)len);
}

/* Serve requests on the master side: every 7-byte JBD read request. */
static void serve(void)
{
	static uint8_t buf[256];
	static size_t have;
	ssize_t n = read(fx.master, buf + have, sizeof(buf) - have);

	if (n <= 0)
		return;
	have += (size_t)n;
	while (have >= 7) {
		if (buf[0] != 0xDD || buf[1] != 0xA5) {
			memmove(buf, buf + 1, --have);
			continue;
		}
		fx.play.requests++;
		if (!fx.play.silent)
			answer(buf, 7);
		memmove(buf, buf + 7, have - 7);
		have -= 7;
	}
}

/* Run the loop and the battery for ms milliseconds of real time. */
static void run_for(unsigned ms)
{
	uint64_t start, now;

	sd_event_now(fx.ev, CLOCK_MONOTONIC, &start);
	do {
		sd_event_run(fx.ev, 5000);
		serve();
		now = 0;
		sd_event_now(fx.ev, CLOCK_MONOTONIC, &now);
	} while (now - start < ms * 1000ULL);
}

static const struct chain_battery *bat0(void)
{
	return chain_battery(fx.chain, 0);
}

START_TEST(reads_a_jbd_battery)
{
	start_chain();
	ck_assert_uint_eq(chain_count(fx.chain), 1);
	ck_assert(bat0()->stale && !bat0()->valid);
	run_for(300);
	ck_assert(bat0()->valid);
	ck_assert(!bat0()->stale);
	ck_assert_double_eq_tol(bat0()->reading.voltage, 58.88, 1e-9);
	ck_assert_uint_eq(bat0()->reading.ncells, 15);
	ck_assert_double_eq_tol(bat0()->reading.cell_v[6], 3.895, 1e-9);
	ck_assert_uint_ge(bat0()->frames_good, 2);
	ck_assert_uint_eq(bat0()->frames_bad, 0);
	ck_assert_uint_gt(fx.updates, 0);
	ck_assert_uint_gt(chain_scans(fx.chain), 0);
}
END_TEST

START_TEST(skips_echo_and_garbage)
{
	fx.play.echo = true;
	fx.play.garbage = 5;
	start_chain();
	run_for(300);
	ck_assert(bat0()->valid);
	ck_assert_double_eq_tol(bat0()->reading.voltage, 58.88, 1e-9);
	ck_assert_double_eq_tol(bat0()->reading.cell_v[14], 3.901, 1e-9);
}
END_TEST

START_TEST(corrupt_answer_is_counted_and_retried)
{
	fx.play.corrupt_once = true;
	start_chain();
	run_for(400);
	ck_assert_uint_ge(bat0()->frames_bad, 1);
	ck_assert(bat0()->valid);
	ck_assert_double_eq_tol(bat0()->reading.voltage, 58.88, 1e-9);
}
END_TEST

START_TEST(silent_battery_times_out_then_goes_stale)
{
	start_chain();
	run_for(300);
	ck_assert(bat0()->valid && !bat0()->stale);
	fx.play.silent = true;
	run_for(1000);
	ck_assert(bat0()->stale);
	ck_assert(bat0()->valid); /* it had data once; the data is old */
	ck_assert_uint_ge(bat0()->timeouts, 1);
	/* It answers again: fresh data, not stale. */
	fx.play.silent = false;
	run_for(400);
	ck_assert(!bat0()->stale);
}
END_TEST

START_TEST(each_request_is_retried_once)
{
	fx.play.silent = true;
	fx.cfg.poll_interval_ms = 1000;
	start_chain();
	/* One scan: basic times out after 60 ms and is retried once, then the
	 * battery is given up for this scan. */
	run_for(300);
	ck_assert_uint_eq(fx.play.requests, 2);
	ck_assert_uint_eq(bat0()->timeouts, 1);
}
END_TEST

START_TEST(missing_device_is_retried_not_fatal)
{
	snprintf(fx.cfg.ports[0].device, CFG_PATH_LEN, "/dev/nonexistent-tty");
	start_chain();
	run_for(300);
	ck_assert(!bat0()->valid);
	ck_assert(bat0()->stale);
}
END_TEST

START_TEST(stall_detection_for_the_watchdog)
{
	uint64_t now;

	fx.play.silent = true; /* requests time out: still progress */
	start_chain();
	run_for(500);
	sd_event_now(fx.ev, CLOCK_MONOTONIC, &now);
	ck_assert(!chain_stalled(fx.chain, now));
	/* Seen from 5 s later without a tick in between: stuck. */
	ck_assert(chain_stalled(fx.chain, now + 5000000));
}
END_TEST

/* I5: a well-formed answer with impossible cells is not published. */
START_TEST(impossible_reading_is_rejected_and_counted)
{
	start_chain();
	run_for(300);
	ck_assert(bat0()->valid);
	ck_assert_double_eq_tol(bat0()->reading.cell_v[0], 3.942, 1e-9);
	fx.play.impossible = true;
	run_for(1000);
	ck_assert_uint_ge(bat0()->rejected, 2);
	ck_assert_uint_eq(bat0()->frames_bad, 0); /* the frames were fine */
	ck_assert_ptr_nonnull(strstr(bat0()->last_rejection, "65.535 V"));
	/* the last good reading stays, and it went stale */
	ck_assert_double_eq_tol(bat0()->reading.cell_v[0], 3.942, 1e-9);
	ck_assert(bat0()->stale);
}
END_TEST

/* A reload with the same [port]: the transport is kept (not reopened),
 * and the battery with its reading. */
START_TEST(reconfigure_keeps_an_unchanged_port)
{
	static struct cfg same;
	struct chain_port_stats st;
	uint64_t good;
	char err[256];

	start_chain();
	run_for(300);
	ck_assert(bat0()->valid && !bat0()->stale);
	good = bat0()->last_good_us;
	chain_port_stats(fx.chain, 0, &st);
	ck_assert_uint_eq(st.opens, 1);
	same = fx.cfg;
	same.ports[0].line = 42; /* moved in the file: still the same */
	fx.chain = chain_reconfigure(fx.chain, &same, err, sizeof(err));
	ck_assert_msg(fx.chain != NULL, "%s", err);
	ck_assert(bat0()->valid && !bat0()->stale);
	ck_assert_uint_eq(bat0()->last_good_us, good);
	ck_assert_double_eq_tol(bat0()->reading.voltage, 58.88, 1e-9);
	run_for(400);
	chain_port_stats(fx.chain, 0, &st);
	ck_assert(st.open);
	ck_assert_uint_eq(st.opens, 1); /* the transport was kept */
	ck_assert_uint_gt(bat0()->last_good_us, good);
}
END_TEST

/* A changed [port] is reopened; its battery keeps when it last answered
 * (comm loss goes on counting) but is stale until it answers again. */
START_TEST(reconfigure_reopens_a_changed_port)
{
	static struct cfg changed;
	struct chain_port_stats st;
	uint64_t good;
	char err[256];

	start_chain();
	run_for(300);
	good = bat0()->last_good_us;
	changed = fx.cfg;
	changed.ports[0].timeout_ms = 80;
	fx.chain = chain_reconfigure(fx.chain, &changed, err, sizeof(err));
	ck_assert_msg(fx.chain != NULL, "%s", err);
	ck_assert(bat0()->valid && bat0()->stale);
	ck_assert_uint_eq(bat0()->last_good_us, good);
	chain_port_stats(fx.chain, 0, &st);
	ck_assert(!st.open);
	ck_assert_uint_eq(st.timeout_us, 80000);
	run_for(400);
	chain_port_stats(fx.chain, 0, &st);
	ck_assert(st.open);
	ck_assert_uint_eq(st.opens, 1);
	ck_assert(!bat0()->stale);
	ck_assert(chain_port_cfg_equal(&changed.ports[0], &changed.ports[0]));
	ck_assert(!chain_port_cfg_equal(&fx.cfg.ports[0], &changed.ports[0]));
}
END_TEST

static Suite *chain_suite(void)
{
	Suite *s = suite_create("chain");
	TCase *tc = tcase_create("jbd-on-pty");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, reads_a_jbd_battery);
	tcase_add_test(tc, skips_echo_and_garbage);
	tcase_add_test(tc, corrupt_answer_is_counted_and_retried);
	tcase_add_test(tc, silent_battery_times_out_then_goes_stale);
	tcase_add_test(tc, each_request_is_retried_once);
	tcase_add_test(tc, missing_device_is_retried_not_fatal);
	tcase_add_test(tc, stall_detection_for_the_watchdog);
	tcase_add_test(tc, impossible_reading_is_rejected_and_counted);
	tcase_add_test(tc, reconfigure_keeps_an_unchanged_port);
	tcase_add_test(tc, reconfigure_reopens_a_changed_port);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(chain_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
