/* SPDX-License-Identifier: MIT */
/*
 * test_sim_replay.c - the replay responder answers by request identity,
 * whatever the request's bytes, and is silent for anything not captured.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_pylon.h"
#include "sim_replay.h"

#define MAX_OUT 8

static struct sim_capture cap;
static struct sim_battery bats[4];
static struct sim_battery *batp[4] = {&bats[0], &bats[1], &bats[2], &bats[3]};
static struct sim_proto *proto;
static struct {
	unsigned battery;
	uint8_t b[SIM_MAX_FRAME];
	size_t n;
} out[MAX_OUT];
static unsigned nout;

static void collect(void *ctx, unsigned battery, const uint8_t *frame,
		    size_t len)
{
	ck_assert(nout < MAX_OUT);
	out[nout].battery = battery;
	memcpy(out[nout].b, frame, len);
	out[nout].n = len;
	nout++;
}

/* Load a capture (a file, or text when path is NULL) and start a replay
 * responder on the batteries it names. */
static void start(const char *path, const char *text)
{
	unsigned addr[4];
	char err[256];
	int n, rc;

	if (path) {
		rc = sim_capture_load(path, &cap, err, sizeof(err));
	} else {
		FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");

		ck_assert_ptr_nonnull(f);
		rc = sim_capture_parse(f, "t.cap", &cap, err, sizeof(err));
		fclose(f);
	}
	ck_assert_msg(rc == 0, "%s", err);
	n = sim_replay_addresses(&cap, addr, 4, err, sizeof(err));
	ck_assert_msg(n > 0, "%s", err);
	for (int i = 0; i < n; i++) {
		struct sim_battery_cfg cfg = {.ncells = 4, .capacity_ah = 50};

		ck_assert_int_eq(
			sim_battery_init(&bats[i], (unsigned)i + 1, &cfg), 0);
		bats[i].address = addr[i];
	}
	proto = sim_replay_ops.create(&(struct sim_proto_cfg){
		.bats = batp, .nbats = (unsigned)n, .capture = &cap});
	ck_assert_ptr_nonnull(proto);
	nout = 0;
}

static void teardown(void)
{
	if (proto)
		proto->ops->destroy(proto);
	proto = NULL;
	sim_capture_free(&cap);
}

static void send_text(const char *req)
{
	proto->ops->feed(proto, (const uint8_t *)req, strlen(req), collect,
			 NULL);
}

/* A "~" request with a correct checksum. */
static void send_req(uint8_t ver, uint8_t adr, uint8_t cid2,
		     const uint8_t *info, size_t n)
{
	uint8_t req[128];
	size_t len = sim_pylon_frame(ver, adr, cid2, info, n, req, sizeof(req));

	proto->ops->feed(proto, req, len, collect, NULL);
}

static void assert_answer(unsigned i, unsigned battery, const uint8_t *want,
			  size_t n)
{
	ck_assert_uint_gt(nout, i);
	ck_assert_uint_eq(out[i].battery, battery);
	ck_assert_uint_eq(out[i].n, n);
	ck_assert_mem_eq(out[i].b, want, n);
}

START_TEST(identity_not_bytes)
{
	const struct sim_capture_pair *analog;

	start(TEST_DATA_DIR "/pylontech-us2000.cap", NULL);
	analog = &cap.pairs[2]; /* 0x42, captured with LENID 4 "0202" */
	ck_assert_uint_eq(bats[0].address, 2);
	send_text("~20024642E00202FD33\r"); /* the spec's LENID 2 form */
	proto->ops->feed(proto, analog->req, analog->reqlen, collect, NULL);
	send_req(0x20, 0x02, 0x42, (const uint8_t *)"\x02\x01", 2);
	send_req(0x20, 0x02, 0x42, NULL, 0);
	ck_assert_uint_eq(nout, 4);
	for (unsigned i = 0; i < 4; i++)
		assert_answer(i, 0, analog->ans, analog->anslen);
}
END_TEST

START_TEST(silence_for_the_unknown)
{
	start(TEST_DATA_DIR "/pylontech-us2000.cap", NULL);
	send_req(0x20, 0x02, 0x93, (const uint8_t *)"\x02",
		 1); /* not captured */
	send_req(0x20, 0x03, 0x42, (const uint8_t *)"\x03",
		 1); /* no such pack */
	send_req(0x20, 0x02, 0x42, (const uint8_t *)"\xFF",
		 1);                        /* no stack read */
	send_text("~20024642E00202FD34\r"); /* checksum */
	send_text("~20024642F00202FD32\r"); /* LCHKSUM */
	ck_assert_uint_eq(nout, 0);
	send_text("~20024644C0040202FCCF\r");
	ck_assert_uint_eq(nout, 1);
	assert_answer(0, 0, cap.pairs[4].ans, cap.pairs[4].anslen);
}
END_TEST

START_TEST(stack_read_identity)
{
	char text[256];
	uint8_t req[64];
	size_t n;

	/* A stack read captured in pylontech-python's form: ADR 2, "02ff". */
	n = sim_pylon_frame(0x20, 0x02, 0x42, (const uint8_t *)"\x02\xFF", 2,
			    req, sizeof(req));
	snprintf(text, sizeof(text),
		 ">>> %.*s\n<<< ~20024600E00201FD3A\n"
		 ">>> ~20024642E00202FD33\n<<< ~20024600E00202FD39\n",
		 (int)n - 1, req);
	start(NULL, text);
	send_req(0x20, 0x02, 0x42, (const uint8_t *)"\xFF", 1);
	send_req(0x20, 0x02, 0x42, (const uint8_t *)"\x02", 1);
	ck_assert_uint_eq(nout, 2);
	assert_answer(0, 0, (const uint8_t *)"~20024600E00201FD3A\r", 20);
	assert_answer(1, 0, (const uint8_t *)"~20024600E00202FD39\r", 20);
}
END_TEST

START_TEST(jbd_register_identity)
{
	static const uint8_t r3[] = {0xDD, 0xA5, 0x03, 0x00, 0xFF, 0xFD, 0x77};
	static const uint8_t r4[] = {0xDD, 0xA5, 0x04, 0x00, 0xFF, 0xFC, 0x77};
	static const uint8_t r5[] = {0xDD, 0xA5, 0x05, 0x00, 0xFF, 0xFB, 0x77};

	start(TEST_DATA_DIR "/jbd-doc-example.cap", NULL);
	ck_assert_uint_eq(proto->nbats, 1);
	ck_assert_uint_eq(bats[0].address, 0);
	proto->ops->feed(proto, r4, sizeof(r4), collect, NULL);
	proto->ops->feed(proto, r5, sizeof(r5), collect, NULL); /* no 0x05 */
	for (size_t i = 0; i < sizeof(r3); i++) /* byte by byte */
		proto->ops->feed(proto, r3 + i, 1, collect, NULL);
	ck_assert_uint_eq(nout, 2);
	assert_answer(0, 0, cap.pairs[1].ans, cap.pairs[1].anslen);
	assert_answer(1, 0, cap.pairs[0].ans, cap.pairs[0].anslen);
}
END_TEST

START_TEST(outcomes_in_capture_order)
{
	static const uint8_t r3[] = {0xDD, 0xA5, 0x03, 0x00, 0xFF, 0xFD, 0x77};
	static const uint8_t r4[] = {0xDD, 0xA5, 0x04, 0x00, 0xFF, 0xFC, 0x77};

	start(NULL, ">>> DD A5 03 00 FF FD 77\n"
		    "<<< DD 03 00 01 0A FF F5 77\n"
		    ">>> DD A5 04 00 FF FC 77\n" /* not answered */
		    ">>> DD A5 03 00 FF FD 77\n"
		    "<<< DD 03 00 01 0B FF F4 77\n");
	for (int i = 0; i < 3; i++)
		proto->ops->feed(proto, r3, sizeof(r3), collect, NULL);
	proto->ops->feed(proto, r4, sizeof(r4), collect, NULL);
	ck_assert_uint_eq(nout, 3);
	ck_assert_uint_eq(out[0].b[4], 0x0A);
	ck_assert_uint_eq(out[1].b[4], 0x0B);
	ck_assert_uint_eq(out[2].b[4], 0x0B); /* the last one repeats */
}
END_TEST

START_TEST(batteries_are_the_addresses)
{
	static const char text[] = ">>> ~20034642E00203FD31\n"
				   "<<< ~200346000000FDB1\n"
				   ">>> ~20024642E00202FD33\n"
				   ">>> ~20074642E00207FD29\n"
				   "<<< ~200746000000FDAD\n"
				   ">>> ~2002464F0000FD98\n";

	start(NULL, text);
	ck_assert_uint_eq(proto->nbats, 3);
	ck_assert_uint_eq(bats[0].address, 2);
	ck_assert_uint_eq(bats[1].address, 3);
	ck_assert_uint_eq(bats[2].address, 7);
	send_req(0x20, 0x07, 0x42, NULL, 0);
	send_req(0x20, 0x03, 0x42, NULL, 0);
	ck_assert_uint_eq(nout, 2);
	assert_answer(0, 2, (const uint8_t *)"~200746000000FDAD\r", 18);
	assert_answer(1, 1, (const uint8_t *)"~200346000000FDB1\r", 18);
}
END_TEST

static void load_text(const char *text)
{
	FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	char err[256];

	ck_assert_ptr_nonnull(f);
	ck_assert_msg(sim_capture_parse(f, "t.cap", &cap, err, sizeof(err)) ==
			      0,
		      "%s", err);
	fclose(f);
}

START_TEST(invalid_captures)
{
	unsigned addr[2];
	char err[256];

	load_text(">>> ~20034642E00203FD31\n"
		  ">>> ~20024642E00202FD34\n");
	ck_assert_int_eq(sim_replay_addresses(&cap, addr, 2, err, sizeof(err)),
			 -1);
	ck_assert_str_eq(err, "2: not a valid ~ request (checksum, length?)");
	sim_capture_free(&cap);

	load_text(">>> DD A5 03 00 FF FD 77 77\n");
	ck_assert_int_eq(sim_replay_addresses(&cap, addr, 2, err, sizeof(err)),
			 -1);
	ck_assert_str_eq(err, "1: not a valid jbd request (checksum, length?)");
	sim_capture_free(&cap);

	load_text(">>> ~20034642E00203FD31\n"
		  ">>> ~20024642E00202FD33\n"
		  ">>> ~20074642E00207FD29\n");
	ck_assert_int_eq(sim_replay_addresses(&cap, addr, 2, err, sizeof(err)),
			 -1);
	ck_assert_str_eq(err, "3: more than 2 addresses");
}
END_TEST

START_TEST(corrupt_per_family)
{
	uint8_t jbd[] = {0xDD, 0x05, 0x00, 0x01, 0x41, 0xFF, 0xBE, 0x77};
	uint8_t pylon[] = "~200246000000FDB2\r";

	sim_replay_ops.corrupt(jbd, sizeof(jbd));
	ck_assert_uint_eq(jbd[6], 0xBE ^ 0xFF);
	sim_replay_ops.corrupt(pylon, sizeof(pylon) - 1);
	ck_assert_mem_eq(pylon, "~200246000000FDB0\r", 18);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sim_replay");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, identity_not_bytes);
	tcase_add_test(tc, silence_for_the_unknown);
	tcase_add_test(tc, stack_read_identity);
	tcase_add_test(tc, jbd_register_identity);
	tcase_add_test(tc, outcomes_in_capture_order);
	tcase_add_test(tc, batteries_are_the_addresses);
	tcase_add_test(tc, invalid_captures);
	tcase_add_test(tc, corrupt_per_family);
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
