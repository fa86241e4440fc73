/* SPDX-License-Identifier: MIT */
/*
 * test_sim_line.c - a line end to end on a real pseudo-terminal: the pty
 * link, the JBD responder behind it and the fault injection. The test plays
 * the daemon on the slave side and drives the event loop itself.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "sim_jbd.h"
#include "sim_line.h"
#include "sim_link.h"
#include "sim_pylon.h"

#define SEED   42
#define WAIT_S 5 /* deadline for an event that must happen */

static const uint8_t req_basic[] = {0xDD, 0xA5, 0x03, 0x00, 0xFF, 0xFD, 0x77};
static const uint8_t req_cells[] = {0xDD, 0xA5, 0x04, 0x00, 0xFF, 0xFC, 0x77};

static char dir[64];
static char linkpath[128];
static sd_event *ev;
static struct sim_battery bat;
static struct sim_battery *bats[1] = {&bat};
static struct sim_line *line;
static int client = -1;
static unsigned syncs, changes;

static void on_sync(void *ctx)
{
	syncs++;
}

static void on_change(void *ctx)
{
	changes++;
}

static int open_client(const char *path)
{
	struct termios tio;
	int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(tcgetattr(fd, &tio), 0);
	cfmakeraw(&tio);
	ck_assert_int_eq(tcsetattr(fd, TCSANOW, &tio), 0);
	return fd;
}

static void setup(void)
{
	struct sim_battery_cfg cfg = {
		.ncells = 4, .capacity_ah = 100, .soc = 80, .ntemps = 2};
	struct sim_line_cfg lc = {
		.number = 1,
		.proto = &sim_jbd_ops,
		.bats = bats,
		.nbats = 1,
		.seed = SEED,
		.hooks = {.sync = on_sync, .changed = on_change},
	};
	struct sim_link *link;
	char err[256];

	strcpy(dir, "/tmp/test_sim_line.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(linkpath, sizeof(linkpath), "%s/bat", dir);
	ck_assert_int_eq(sim_battery_init(&bat, 1, &cfg), 0);
	ck_assert_int_ge(sd_event_new(&ev), 0);
	link = sim_link_pty_open(linkpath, err, sizeof(err));
	ck_assert_msg(link != NULL, "%s", err);
	line = sim_line_new(&lc, link);
	ck_assert_ptr_nonnull(line);
	ck_assert_int_ge(sim_line_start(line, ev), 0);
	client = open_client(linkpath);
	syncs = changes = 0;
}

static void teardown(void)
{
	if (client >= 0)
		close(client);
	client = -1;
	sim_line_free(line);
	line = NULL;
	ev = sd_event_unref(ev);
	rmdir(dir);
}

/* Run the loop until *counter passes 'was' (rx handled, answer sent). */
static void run_until(const unsigned *counter, unsigned was)
{
	for (int i = 0; i < 100 && *counter == was; i++)
		ck_assert_int_ge(sd_event_run(ev, WAIT_S * 1000000ull), 0);
	ck_assert_uint_gt(*counter, was);
}

static void send_req(const uint8_t *req, size_t n)
{
	unsigned was = syncs;

	ck_assert_int_eq(write(client, req, n), (ssize_t)n);
	run_until(&syncs, was);
}

/* Read exactly n bytes the simulator sent, with a deadline. */
static void read_exact(uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = {.fd = client, .events = POLLIN};
		ssize_t r;

		ck_assert_msg(poll(&p, 1, WAIT_S * 1000) == 1,
			      "only %zu of %zu bytes", got, n);
		r = read(client, buf + got, n - got);
		ck_assert_int_gt(r, 0);
		got += (size_t)r;
	}
}

/* The answer the responder gives for reg right now. */
static size_t expected(uint8_t reg, uint8_t *buf)
{
	struct sim_view v;

	sim_proto_view(&sim_jbd_ops, &bat, &v);
	return sim_jbd_answer(reg, &v, buf, SIM_MAX_FRAME);
}

START_TEST(answers_a_request)
{
	uint8_t want[SIM_MAX_FRAME], got[SIM_MAX_FRAME];
	size_t n = expected(0x03, want);

	send_req(req_basic, sizeof(req_basic));
	read_exact(got, n);
	ck_assert_mem_eq(got, want, n);
	ck_assert_uint_eq(bat.comm.requests, 1);
	ck_assert_uint_eq(bat.comm.answered, 1);
	ck_assert_uint_eq(changes, 1);
	ck_assert_int_eq(strcmp(sim_line_link(line)->link, linkpath), 0);
}
END_TEST

START_TEST(silent_sends_nothing)
{
	uint8_t want[SIM_MAX_FRAME], got[SIM_MAX_FRAME];
	size_t n;

	bat.comm.silent = true;
	send_req(req_basic, sizeof(req_basic));
	ck_assert_uint_eq(bat.comm.requests, 1);
	ck_assert_uint_eq(bat.comm.answered, 0);
	bat.comm.silent = false;
	/* The first bytes on the wire are the answer to the second request,
	 * so nothing was sent for the first. */
	n = expected(0x04, want);
	send_req(req_cells, sizeof(req_cells));
	read_exact(got, n);
	ck_assert_mem_eq(got, want, n);
	ck_assert_uint_eq(bat.comm.requests, 2);
	ck_assert_uint_eq(bat.comm.answered, 1);
}
END_TEST

START_TEST(garbage_is_seeded_noise)
{
	uint8_t ans[SIM_MAX_FRAME], noise[SIM_MAX_FRAME],
		got[2 * SIM_MAX_FRAME];
	size_t n = expected(0x03, ans), gn;
	uint64_t rng = sim_rand_seed(SEED ^ (1ull << 32));

	/* The same seed makes the same noise: length, then the bytes. */
	gn = 1 + (size_t)(sim_rand_next(&rng) % n);
	for (size_t i = 0; i < gn; i++)
		noise[i] = (uint8_t)(sim_rand_next(&rng) >> 56);
	bat.comm.garbage_left = 1;
	send_req(req_basic, sizeof(req_basic));
	send_req(req_basic, sizeof(req_basic));
	read_exact(got, gn + n);
	ck_assert_mem_eq(got, noise, gn);
	ck_assert_mem_eq(got + gn, ans, n);
	ck_assert_uint_eq(bat.comm.garbage_left, 0);
	ck_assert_uint_eq(bat.comm.garbage_sent, 1);
	ck_assert_uint_eq(bat.comm.answered, 1);
}
END_TEST

START_TEST(corrupt_spoils_the_checksum)
{
	uint8_t want[SIM_MAX_FRAME], got[SIM_MAX_FRAME];
	size_t n = expected(0x03, want);

	bat.comm.corrupt_left = 2;
	send_req(req_basic, sizeof(req_basic));
	read_exact(got, n);
	ck_assert_mem_eq(got, want, n - 2);
	ck_assert_uint_eq(got[n - 2], want[n - 2] ^ 0xFF);
	ck_assert_uint_eq(got[n - 1], 0x77);
	ck_assert_uint_eq(bat.comm.corrupt_left, 1);
	ck_assert_uint_eq(bat.comm.corrupt_sent, 1);
	ck_assert_uint_eq(bat.comm.answered, 0);
}
END_TEST

START_TEST(delay_queues_the_answer)
{
	uint8_t want[SIM_MAX_FRAME], got[SIM_MAX_FRAME];
	size_t n = expected(0x03, want);

	bat.comm.delay_ms = 20;
	send_req(req_basic, sizeof(req_basic));
	ck_assert_uint_eq(bat.comm.requests, 1);
	ck_assert_uint_eq(bat.comm.answered, 0); /* not yet: queued */
	run_until(&changes, 0);                  /* the timer sends it */
	ck_assert_uint_eq(bat.comm.answered, 1);
	read_exact(got, n);
	ck_assert_mem_eq(got, want, n);
}
END_TEST

START_TEST(client_may_close_and_reopen)
{
	uint8_t want[SIM_MAX_FRAME], got[SIM_MAX_FRAME];
	size_t n = expected(0x03, want);

	close(client);
	/* No hang-up storm on the master while no client has it open. */
	ck_assert_int_eq(sd_event_run(ev, 0), 0);
	client = open_client(linkpath);
	send_req(req_basic, sizeof(req_basic));
	read_exact(got, n);
	ck_assert_mem_eq(got, want, n);
}
END_TEST

START_TEST(symlink_lifecycle)
{
	char target[256], other[160];
	struct sim_link *l;
	char err[256];
	ssize_t n;

	n = readlink(linkpath, target, sizeof(target) - 1);
	ck_assert_int_gt(n, 0);
	target[n] = '\0';
	ck_assert_str_eq(target, sim_line_link(line)->path);
	ck_assert_int_eq(strncmp(target, "/dev/pts/", 9), 0);

	/* A stale symlink is replaced; a regular file is never clobbered. */
	snprintf(other, sizeof(other), "%s/other", dir);
	ck_assert_int_eq(symlink("/nonexistent", other), 0);
	l = sim_link_pty_open(other, err, sizeof(err));
	ck_assert_msg(l != NULL, "%s", err);
	sim_link_close(l);
	ck_assert_int_eq(access(other, F_OK), -1);
	ck_assert_int_eq(close(open(other, O_CREAT | O_WRONLY, 0600)), 0);
	ck_assert_ptr_null(sim_link_pty_open(other, err, sizeof(err)));
	ck_assert_str_eq(err + strlen(dir) + 1,
			 "other exists and is not a symlink");
	unlink(other);

	sim_line_free(line);
	line = NULL;
	ck_assert_int_eq(access(linkpath, F_OK), -1);
}
END_TEST

START_TEST(rand_is_fixed)
{
	uint64_t a = sim_rand_seed(1), b = sim_rand_seed(1);
	uint64_t c = sim_rand_seed(2);

	for (int i = 0; i < 10; i++)
		ck_assert(sim_rand_next(&a) == sim_rand_next(&b));
	ck_assert(sim_rand_next(&a) != sim_rand_next(&c));
	ck_assert(sim_rand_seed(0) != 0);
}
END_TEST

/* ---- several "~" packs on one line ------------------------------------- */

#define NPACKS 3
static struct sim_battery packs[NPACKS];
static struct sim_battery *packp[NPACKS] = {&packs[0], &packs[1], &packs[2]};

static void bus_setup(void)
{
	struct sim_battery_cfg cfg = {
		.ncells = 4, .capacity_ah = 50, .soc = 70, .ntemps = 2};
	struct sim_line_cfg lc = {
		.number = 1,
		.proto = &sim_pylontech_ops,
		.bats = packp,
		.nbats = NPACKS,
		.stack = true,
		.echo = true,
		.seed = SEED,
		.hooks = {.sync = on_sync, .changed = on_change},
	};
	struct sim_link *link;
	char err[256];

	for (unsigned i = 0; i < NPACKS; i++) {
		ck_assert_int_eq(sim_battery_init(&packs[i], i + 1, &cfg), 0);
		sim_pylontech_ops.identify(&packs[i]);
		packs[i].address = 2 + i;
		packs[i].current_a = -1.0 * i;
	}
	ck_assert_int_ge(sd_event_new(&ev), 0);
	link = sim_link_pty_open(NULL, err, sizeof(err));
	ck_assert_msg(link != NULL, "%s", err);
	line = sim_line_new(&lc, link);
	ck_assert_ptr_nonnull(line);
	ck_assert_int_ge(sim_line_start(line, ev), 0);
	client = open_client(sim_line_link(line)->path);
	syncs = changes = 0;
}

static void bus_teardown(void)
{
	if (client >= 0)
		close(client);
	client = -1;
	sim_line_free(line);
	line = NULL;
	ev = sd_event_unref(ev);
}

/* A 0x42 request to adr (LENID 2), and pack i's answer to it. */
static size_t analog_req(uint8_t adr, uint8_t *req)
{
	return sim_pylon_frame(0x20, adr, 0x42, &adr, 1, req, 64);
}

static size_t analog_answer(unsigned i, uint8_t *buf)
{
	uint8_t info[SIM_PYLON_MAX_INFO];
	uint8_t adr = (uint8_t)packs[i].address;
	struct sim_view v;
	size_t n;

	sim_proto_view(&sim_pylontech_ops, &packs[i], &v);
	n = sim_pylon_analog(SIM_PYLON_PYLONTECH, adr, &v, info, sizeof(info));
	return sim_pylon_frame(0x20, adr, 0, info, n, buf, SIM_MAX_FRAME);
}

/* The echo of req, then want. */
static void expect_echo_then(const uint8_t *req, size_t rn, const uint8_t *want,
			     size_t wn)
{
	uint8_t got[SIM_MAX_FRAME];

	read_exact(got, rn);
	ck_assert_mem_eq(got, req, rn);
	read_exact(got, wn);
	ck_assert_mem_eq(got, want, wn);
}

START_TEST(packs_answer_their_address)
{
	uint8_t req[64], want[SIM_MAX_FRAME];
	size_t rn, wn;

	/* Nobody at address 9: the echo only. The next bytes after it are
	 * the next request's echo and answer, so nothing else was sent. */
	rn = analog_req(9, req);
	send_req(req, rn);
	read_exact(want, rn);
	ck_assert_mem_eq(want, req, rn);
	for (unsigned i = 0; i < NPACKS; i++) {
		rn = analog_req((uint8_t)(2 + i), req);
		wn = analog_answer(i, want);
		send_req(req, rn);
		expect_echo_then(req, rn, want, wn);
		ck_assert_uint_eq(packs[i].comm.requests, 1);
		ck_assert_uint_eq(packs[i].comm.answered, 1);
	}
}
END_TEST

START_TEST(master_answers_the_stack)
{
	uint8_t req[64], want[SIM_MAX_FRAME], info[SIM_PYLON_MAX_INFO];
	const uint8_t ff = 0xFF;
	struct sim_view v[NPACKS];
	size_t rn, wn;

	for (unsigned i = 0; i < NPACKS; i++)
		sim_proto_view(&sim_pylontech_ops, &packs[i], &v[i]);
	wn = sim_pylon_frame(0x20, 2, 0, info,
			     sim_pylon_stack(SIM_PYLON_PYLONTECH, v, NPACKS,
					     info, sizeof(info)),
			     want, sizeof(want));
	rn = sim_pylon_frame(0x20, 2, 0x42, &ff, 1, req, sizeof(req));
	send_req(req, rn);
	expect_echo_then(req, rn, want, wn);
	ck_assert_uint_eq(packs[0].comm.answered, 1);
}
END_TEST

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Each pack waits its own delay; a quick pack is not held up by a slow
 * one's queued answer. */
START_TEST(delays_per_pack)
{
	uint8_t r2[64], r3[64], a2[SIM_MAX_FRAME], a3[SIM_MAX_FRAME];
	uint8_t got[SIM_MAX_FRAME];
	size_t n2 = analog_req(2, r2), n3 = analog_req(3, r3);
	size_t w2 = analog_answer(0, a2), w3 = analog_answer(1, a3);
	uint64_t t0 = mono_us();

	packs[0].comm.delay_ms = 60;
	packs[1].comm.delay_ms = 20;
	send_req(r2, n2);
	send_req(r3, n3);
	ck_assert_uint_eq(packs[0].comm.answered + packs[1].comm.answered, 0);
	read_exact(got, n2); /* the echoes come at once */
	ck_assert_mem_eq(got, r2, n2);
	read_exact(got, n3);
	ck_assert_mem_eq(got, r3, n3);
	run_until(&changes, 0);
	ck_assert_uint_eq(packs[1].comm.answered, 1); /* 20 ms: first */
	ck_assert_uint_ge(mono_us() - t0, 20000);
	read_exact(got, w3);
	ck_assert_mem_eq(got, a3, w3);
	run_until(&changes, 1);
	ck_assert_uint_eq(packs[0].comm.answered, 1);
	ck_assert_uint_ge(mono_us() - t0, 60000);
	read_exact(got, w2);
	ck_assert_mem_eq(got, a2, w2);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sim_line");
	TCase *tc = tcase_create("pty");
	TCase *bus = tcase_create("bus");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, answers_a_request);
	tcase_add_test(tc, silent_sends_nothing);
	tcase_add_test(tc, garbage_is_seeded_noise);
	tcase_add_test(tc, corrupt_spoils_the_checksum);
	tcase_add_test(tc, delay_queues_the_answer);
	tcase_add_test(tc, client_may_close_and_reopen);
	tcase_add_test(tc, symlink_lifecycle);
	tcase_add_test(tc, rand_is_fixed);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(bus, bus_setup, bus_teardown);
	tcase_add_test(bus, packs_answer_their_address);
	tcase_add_test(bus, master_answers_the_stack);
	tcase_add_test(bus, delays_per_pack);
	suite_add_tcase(s, bus);
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
