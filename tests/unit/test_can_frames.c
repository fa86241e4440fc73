/* SPDX-License-Identifier: MIT */
/*
 * test_can_frames.c - the CAN-bus BMS frames against a table computed by
 * hand (scaling, signedness, byte order of each field; can_frames.c has
 * the layouts).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <linux/can/error.h>

#include "can_errors.h"
#include "can_frames.h"
#include "can_keepalive.h"

/*
 * The state of the table: 16 cells x 2 batteries in series, 55.2 V / 100 A
 * / 150.5 A / 46.4 V, charge enabled, discharge not, SoC 57.4 %, 53.12 V,
 * -12.3 A (discharging), -5.5 C; a high-cell alarm and an internal one, a
 * low-temperature warning; cells 3.201 V (battery 2 cell 13) and 3.652 V
 * (battery 1 cell 4), temperatures -5.5 C (B1 T2) and 24.6 C (B2 T1).
 */
static struct can_state state(void)
{
	return (struct can_state){
		.cvl = 55.2,
		.ccl = 100,
		.dcl = 150.5,
		.dvl = 46.4,
		.charge_enable = true,
		.discharge_enable = false,
		.soc = 57.4,
		.soh = 100,
		.voltage = 53.12,
		.current = -12.3,
		.temp = -5.5,
		.alarms = CAN_A_HIGH_VOLTAGE | CAN_A_INTERNAL,
		.warnings = CAN_A_LOW_TEMP,
		.modules = 2,
		.modules_online = 1,
		.blocking_charge = 1,
		.blocking_discharge = 0,
		.capacity_ah = 280,
		.min_cell_v = 3.201,
		.max_cell_v = 3.652,
		.min_temp = -5.5,
		.max_temp = 24.6,
		.min_cell_battery = 2,
		.min_cell = 13,
		.max_cell_battery = 1,
		.max_cell = 4,
		.min_temp_battery = 1,
		.min_temp_sensor = 2,
		.max_temp_battery = 2,
		.max_temp_sensor = 1,
	};
}

/* By hand: 552 = 0x0228, 1000 = 0x03E8, 1505 = 0x05E1, 464 = 0x01D0;
 * 5312 = 0x14C0, -123 = 0xFF85, -55 = 0xFFC9; 5740 = 0x166C; 3201 mV =
 * 0x0C81, 3652 = 0x0E44, 267.65 K -> 268 = 0x010C, 297.75 K -> 298 =
 * 0x012A; 0x35A byte 0 = general 01 | high V 01<<2 | low V 10<<4 | high
 * T 10<<6 = 0xA5, ... */
static const char *const pylontech[] = {
	"351#2802E803E105D001", "355#39006400", "356#C01485FFC9FF",
	"359#0208100002504E",   "35C#8000",     "35E#50594C4F4E202020",
};
static const char *const victron[] = {
	"351#2802E803E105D001",
	"355#390064006C16",
	"356#C01485FFC9FF",
	"359#0208100002504E",
	"35C#8000",
	"35E#534D414C4C424D53",
	"35A#A52A4002A9198002",
	"35F#0000000018010000",
	"370#736D616C6C626D73",
	"371#0000000000000000",
	"372#0100010000000100",
	"373#810C440E0C012A01",
	"374#4232433133000000",
	"375#4231433400000000",
	"376#4231543200000000",
	"377#4232543100000000",
};
static const char *const sma[] = {
	"351#2802E803E105D001",
	"355#39006400",
	"356#C01485FFC9FF",
	"359#0208100002504E",
	"35C#8000",
	"35E#534D414C4C424D53",
	"35A#A52A4002A9198002",
	"35F#0000000018010000",
};

static void check_table(const struct can_state *s, enum can_profile p,
			const char *const *want, size_t nwant)
{
	struct can_out_frame f[CAN_FRAMES_MAX];
	size_t n = can_frames_encode(s, p, f, CAN_FRAMES_MAX);
	char buf[64];

	ck_assert_uint_eq(n, nwant);
	for (size_t i = 0; i < n; i++) {
		can_frame_format(&f[i], buf, sizeof(buf));
		ck_assert_str_eq(buf, want[i]);
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

START_TEST(pylontech_table)
{
	struct can_state s = state();

	check_table(&s, CAN_PROFILE_PYLONTECH, pylontech, N(pylontech));
}
END_TEST

START_TEST(victron_table)
{
	struct can_state s = state();

	check_table(&s, CAN_PROFILE_VICTRON, victron, N(victron));
}
END_TEST

START_TEST(sma_table)
{
	struct can_state s = state();

	check_table(&s, CAN_PROFILE_SMA, sma, N(sma));
}
END_TEST

/* Unknown is 0 (never more than known), out of range is clamped, a
 * negative limit is 0, the flags follow the state. */
START_TEST(unknown_and_clamped)
{
	struct can_state s = state();
	struct can_out_frame f[CAN_FRAMES_MAX];
	char buf[64];

	s.cvl = s.dvl = s.soc = s.temp = NAN;
	s.ccl = -5;
	s.dcl = NAN;
	s.voltage = 400;   /* 40000 > 32767 */
	s.current = -5000; /* -50000 < -32768 */
	s.charge_enable = false;
	s.discharge_enable = true;
	s.alarms = s.warnings = 0;
	can_frames_encode(&s, CAN_PROFILE_PYLONTECH, f, CAN_FRAMES_MAX);
	can_frame_format(&f[0], buf, sizeof(buf));
	ck_assert_str_eq(buf, "351#0000000000000000");
	can_frame_format(&f[1], buf, sizeof(buf));
	ck_assert_str_eq(buf, "355#00006400");
	can_frame_format(&f[2], buf, sizeof(buf));
	ck_assert_str_eq(buf, "356#FF7F00800000");
	can_frame_format(&f[3], buf, sizeof(buf));
	ck_assert_str_eq(buf, "359#0000000002504E");
	can_frame_format(&f[4], buf, sizeof(buf));
	ck_assert_str_eq(buf, "35C#4000");
	/* never more frames than room */
	ck_assert_uint_eq(can_frames_encode(&s, CAN_PROFILE_VICTRON, f, 3), 3);
}
END_TEST

START_TEST(profile_names)
{
	ck_assert_int_eq(can_profile_parse("victron"), CAN_PROFILE_VICTRON);
	ck_assert_int_eq(can_profile_parse("sma"), CAN_PROFILE_SMA);
	ck_assert_int_eq(can_profile_parse("pylontech"), CAN_PROFILE_PYLONTECH);
	ck_assert_int_eq(can_profile_parse("Victron"), -1);
	ck_assert_str_eq(can_profile_name(CAN_PROFILE_SMA), "sma");
}
END_TEST

/* Error frames as the kernel sends them (linux/can/error.h): what each
 * says about the controller. */
static struct can_frame err_frame(canid_t flags, uint8_t len, uint8_t ctrl)
{
	struct can_frame f;

	memset(&f, 0, sizeof(f));
	f.can_id = CAN_ERR_FLAG | flags;
	f.len = len;
	f.data[1] = ctrl;
	return f;
}

START_TEST(error_frames)
{
	static const struct {
		canid_t flags;
		uint8_t len, ctrl;
		enum can_err_event want;
		bool bus_error;
	} cases[] = {
		{CAN_ERR_BUSOFF, 8, 0, CAN_ERR_EV_BUS_OFF, false},
		/* bus-off wins over what else the frame says */
		{CAN_ERR_BUSOFF | CAN_ERR_CRTL, 8, CAN_ERR_CRTL_TX_PASSIVE,
		 CAN_ERR_EV_BUS_OFF, false},
		{CAN_ERR_RESTARTED, 8, 0, CAN_ERR_EV_RESTARTED, false},
		{CAN_ERR_CRTL, 8, CAN_ERR_CRTL_TX_PASSIVE, CAN_ERR_EV_PASSIVE,
		 false},
		{CAN_ERR_CRTL, 8, CAN_ERR_CRTL_RX_PASSIVE, CAN_ERR_EV_PASSIVE,
		 false},
		{CAN_ERR_CRTL, 8, CAN_ERR_CRTL_ACTIVE, CAN_ERR_EV_ACTIVE,
		 false},
		/* warnings only: no change of state */
		{CAN_ERR_CRTL, 8, CAN_ERR_CRTL_TX_WARNING, CAN_ERR_EV_NONE,
		 false},
		/* data[1] is not there */
		{CAN_ERR_CRTL, 1, CAN_ERR_CRTL_TX_PASSIVE, CAN_ERR_EV_NONE,
		 false},
		{CAN_ERR_PROT, 8, 0, CAN_ERR_EV_NONE, true},
		{CAN_ERR_BUSERROR | CAN_ERR_CRTL, 8, CAN_ERR_CRTL_RX_PASSIVE,
		 CAN_ERR_EV_PASSIVE, true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct can_frame f =
			err_frame(cases[i].flags, cases[i].len, cases[i].ctrl);
		bool bus_error = !cases[i].bus_error;

		ck_assert_msg(can_error_event(&f, &bus_error) == cases[i].want,
			      "case %zu", i);
		ck_assert_msg(bus_error == cases[i].bus_error,
			      "case %zu: bus error", i);
	}
}
END_TEST

/* The keep-alive (0x305): seen, missing after 10 s without one, and never
 * "missing" from a check whose time is earlier than the last frame (the
 * 1 Hz tick passes its planned time; a frame read in the same loop turn
 * carries the turn's later time). */
START_TEST(keepalive)
{
	const uint64_t s = 1000000;
	struct can_keepalive k = {0};

	ck_assert(!can_keepalive_check(&k, 100 * s)); /* never seen */
	ck_assert(can_keepalive_age(&k, 100 * s) < 0);
	ck_assert(can_keepalive_seen(&k, 100 * s + s / 20));
	ck_assert(!can_keepalive_seen(&k, 100 * s + s / 10)); /* no news */
	ck_assert_uint_eq(k.count, 2);
	/* The tick planned for 100 s runs after both were read. */
	ck_assert_msg(!can_keepalive_check(&k, 100 * s),
		      "said missing 0.1 s before its last frame");
	ck_assert(k.ok);
	ck_assert(can_keepalive_age(&k, 100 * s) == 0.0);
	ck_assert(!can_keepalive_check(&k, 110 * s + s / 10)); /* 10 s */
	ck_assert(can_keepalive_check(&k, 110 * s + s / 10 + 1));
	ck_assert(!k.ok);
	ck_assert(!can_keepalive_check(&k, 120 * s)); /* said once */
	ck_assert(fabs(can_keepalive_age(&k, 120 * s) - 19.9) < 1e-9);
	ck_assert(can_keepalive_seen(&k, 121 * s)); /* seen again */
	ck_assert_uint_eq(k.count, 3);
}
END_TEST

static Suite *can_frames_suite(void)
{
	Suite *s = suite_create("can_frames");
	TCase *tc = tcase_create("can_frames");

	tcase_add_test(tc, pylontech_table);
	tcase_add_test(tc, victron_table);
	tcase_add_test(tc, sma_table);
	tcase_add_test(tc, unknown_and_clamped);
	tcase_add_test(tc, profile_names);
	tcase_add_test(tc, error_frames);
	tcase_add_test(tc, keepalive);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(can_frames_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
