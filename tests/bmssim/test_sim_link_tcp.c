/* SPDX-License-Identifier: MIT */
/*
 * test_sim_link_tcp.c - a simulated line behind an RS485-to-TCP gateway:
 * the test connects over loopback and plays the daemon.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sim_jbd.h"
#include "sim_line.h"
#include "sim_link.h"

#define WAIT_S 5

static const uint8_t req_basic[] = {0xDD, 0xA5, 0x03, 0x00, 0xFF, 0xFD, 0x77};

static sd_event *ev;
static struct sim_battery bat;
static struct sim_battery *bats[1] = {&bat};
static struct sim_line *line;
static unsigned syncs;

static void on_sync(void *ctx)
{
	syncs++;
}

static void on_change(void *ctx)
{
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
		.seed = 1,
		.hooks = {.sync = on_sync, .changed = on_change},
	};
	struct sim_link *link;
	char err[256];

	ck_assert_int_eq(sim_battery_init(&bat, 1, &cfg), 0);
	ck_assert_int_ge(sd_event_new(&ev), 0);
	link = sim_link_tcp_open("127.0.0.1:0", err, sizeof(err));
	ck_assert_msg(link != NULL, "%s", err);
	line = sim_line_new(&lc, link);
	ck_assert_ptr_nonnull(line);
	ck_assert_int_ge(sim_line_start(line, ev), 0);
	syncs = 0;
}

static void teardown(void)
{
	sim_line_free(line);
	line = NULL;
	ev = sd_event_unref(ev);
}

static unsigned port_of(const struct sim_link *l)
{
	const char *colon = strrchr(l->path, ':');

	ck_assert_ptr_nonnull(colon);
	return (unsigned)atoi(colon + 1);
}

static int connect_client(void)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons((uint16_t)port_of(sim_line_link(line)))};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
		      "connect: %s", strerror(errno));
	return fd;
}

/* Send a request and run the loop until the simulator has received it. */
static void send_req(int fd)
{
	unsigned was = syncs;

	ck_assert_int_eq(write(fd, req_basic, sizeof(req_basic)),
			 (ssize_t)sizeof(req_basic));
	for (int i = 0; i < 100 && syncs == was; i++)
		ck_assert_int_ge(sd_event_run(ev, WAIT_S * 1000000ull), 0);
	ck_assert_uint_gt(syncs, was);
}

static void read_exact(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		ck_assert_msg(poll(&p, 1, WAIT_S * 1000) == 1,
			      "only %zu of %zu bytes", got, n);
		r = read(fd, buf + got, n - got);
		ck_assert_int_gt(r, 0);
		got += (size_t)r;
	}
}

static size_t expected(uint8_t *buf)
{
	struct sim_view v;

	sim_proto_view(&sim_jbd_ops, &bat, &v);
	return sim_jbd_answer(0x03, &v, buf, SIM_MAX_FRAME);
}

START_TEST(listens_on_loopback)
{
	const struct sim_link *l = sim_line_link(line);
	uint8_t want[SIM_MAX_FRAME], got[SIM_MAX_FRAME];
	size_t n = expected(want);
	int fd;

	ck_assert_str_eq(l->ops->kind, "tcp");
	ck_assert_str_eq(l->ops->banner, "TCP");
	ck_assert_int_eq(strncmp(l->path, "127.0.0.1:", 10), 0);
	ck_assert_uint_gt(port_of(l), 0);
	fd = connect_client();
	send_req(fd);
	read_exact(fd, got, n);
	ck_assert_mem_eq(got, want, n);
	ck_assert_uint_eq(bat.comm.answered, 1);
	close(fd);
}
END_TEST

START_TEST(new_client_replaces_the_old)
{
	uint8_t want[SIM_MAX_FRAME], got[SIM_MAX_FRAME];
	size_t n = expected(want);
	int a = connect_client(), b;
	struct pollfd p;

	send_req(a);
	read_exact(a, got, n);
	b = connect_client();
	send_req(b);
	read_exact(b, got, n);
	ck_assert_mem_eq(got, want, n);
	/* The old connection was closed: end of file, nothing else. */
	p = (struct pollfd){.fd = a, .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, WAIT_S * 1000), 1);
	ck_assert_int_eq(read(a, got, sizeof(got)), 0);
	close(a);
	/* A client that leaves is forgotten; answers then have nowhere to
	 * go, and the next client is served. */
	close(b);
	ck_assert_int_ge(sd_event_run(ev, 100000), 0);
	a = connect_client();
	send_req(a);
	read_exact(a, got, n);
	ck_assert_mem_eq(got, want, n);
	close(a);
}
END_TEST

START_TEST(bad_addresses)
{
	static const char *const bad[] = {"nohost", "127.0.0.1:", ":80",
					  "127.0.0.1:70000", "127.0.0.1:8x"};
	char err[256], addr[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[64];

		ck_assert_ptr_null(sim_link_tcp_open(bad[i], err, sizeof(err)));
		snprintf(want, sizeof(want), "'%s' is not HOST:PORT", bad[i]);
		ck_assert_str_eq(err, want);
	}
	/* The port in use: the listener of this test's line. */
	snprintf(addr, sizeof(addr), "127.0.0.1:%u",
		 port_of(sim_line_link(line)));
	ck_assert_ptr_null(sim_link_tcp_open(addr, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "Address already in use"));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sim_link_tcp");
	TCase *tc = tcase_create("loopback");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, listens_on_loopback);
	tcase_add_test(tc, new_client_replaces_the_old);
	tcase_add_test(tc, bad_addresses);
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
