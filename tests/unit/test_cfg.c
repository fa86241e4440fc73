/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for config.c: defaults, valid files, and every error with its
 * exact message and line. Errors are captured with open_memstream().
 * Protocols come from the real driver registry (driver.c).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cfg.h"
#include "driver.h"

/* A valid port, for files that test something else. */
#define PORT_A "[port a]\ndevice = /dev/ttyUSB0\nprotocol = jbd\n"

struct result {
	int n;
	char *errs;
};

static struct result load(struct cfg *c, const char *text)
{
	struct result r = {0};
	size_t len;
	FILE *f = open_memstream(&r.errs, &len);

	ck_assert_ptr_nonnull(f);
	r.n = cfg_load_string(c, "t.conf", text, f);
	fclose(f);
	return r;
}

/* Load text and expect exactly these errors (n of them). */
static void expect_errors(const char *text, int n, const char *errs)
{
	struct cfg c;
	struct result r = load(&c, text);

	ck_assert_str_eq(r.errs, errs);
	ck_assert_int_eq(r.n, n);
	free(r.errs);
}

static void expect_valid(struct cfg *c, const char *text)
{
	struct result r = load(c, text);

	ck_assert_str_eq(r.errs, "");
	ck_assert_int_eq(r.n, 0);
	free(r.errs);
}

/* The first registered protocol with several batteries per port, if the
 * registry has one (the tests of multi-address lists need it). */
static const char *addressed_protocol(void)
{
	static char name[CFG_NAME_LEN];
	const char *p = drv_names();

	while (*p) {
		size_t n = strcspn(p, ", ");
		const struct bms_driver *d;

		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		d = drv_find(name);
		if (d && d->addressed)
			return name;
		p += n;
		p += strspn(p, ", ");
	}
	return NULL;
}

/*
 * Every field of struct guard_settings, compared exactly. A new guard
 * setting changes the size: give it a key in cfg.c and a line here.
 */
static void assert_guard_eq(const struct guard_settings *a,
			    const struct guard_settings *b)
{
	ck_assert_uint_eq(sizeof(struct guard_settings), 25 * 8);
	ck_assert_double_eq(a->cell_undervoltage, b->cell_undervoltage);
	ck_assert_double_eq(a->cell_undervoltage_hard,
			    b->cell_undervoltage_hard);
	ck_assert_double_eq(a->cell_recover, b->cell_recover);
	ck_assert_double_eq(a->undervoltage_hysteresis,
			    b->undervoltage_hysteresis);
	ck_assert_double_eq(a->charge_detect_current, b->charge_detect_current);
	ck_assert_uint_eq(a->charge_detect_us, b->charge_detect_us);
	ck_assert_double_eq(a->low_soc_warning, b->low_soc_warning);
	ck_assert_double_eq(a->discharge_floor, b->discharge_floor);
	ck_assert_uint_eq(a->max_cycles_per_hour, b->max_cycles_per_hour);
	ck_assert_uint_eq(a->prealarm_lead_us, b->prealarm_lead_us);
	ck_assert_double_eq(a->prealarm_cell, b->prealarm_cell);
	ck_assert_double_eq(a->prealarm_hysteresis, b->prealarm_hysteresis);
	ck_assert_double_eq(a->soc_warning_hysteresis,
			    b->soc_warning_hysteresis);
	ck_assert_int_eq(a->prealarm_mode, b->prealarm_mode);
	ck_assert_uint_eq(a->prealarm_on_us, b->prealarm_on_us);
	ck_assert_uint_eq(a->prealarm_off_us, b->prealarm_off_us);
	ck_assert_double_eq(a->floor_hysteresis, b->floor_hysteresis);
	ck_assert_double_eq(a->cell_overvoltage, b->cell_overvoltage);
	ck_assert_double_eq(a->cell_overvoltage_recover,
			    b->cell_overvoltage_recover);
	ck_assert_double_eq(a->charge_temp_low, b->charge_temp_low);
	ck_assert_double_eq(a->charge_temp_high, b->charge_temp_high);
	ck_assert_double_eq(a->temp_hysteresis, b->temp_hysteresis);
	ck_assert_uint_eq(a->comm_loss_charge_us, b->comm_loss_charge_us);
	ck_assert_uint_eq(a->comm_loss_load_us, b->comm_loss_load_us);
	ck_assert_uint_eq(a->restore_delay_us, b->restore_delay_us);
}

static void assert_guard_defaults(const struct guard_settings *s)
{
	struct guard_settings def;

	guard_settings_default(&def);
	assert_guard_eq(s, &def);
}

START_TEST(defaults)
{
	struct cfg c;

	memset(&c, 0x5a, sizeof(c));
	cfg_defaults(&c);
	ck_assert_uint_eq(c.poll_interval_ms, 1000);
	ck_assert_uint_eq(c.stale_after_ms, 10000);
	ck_assert_uint_eq(c.series, 1);
	ck_assert_str_eq(c.socket_path, RUNSTATEDIR "/smallbms/smallbms.sock");
	ck_assert_str_eq(c.state_dir, LOCALSTATEDIR "/lib/smallbms");
	ck_assert(!c.dry_run);
	ck_assert_int_eq(c.log_level, LOG_INFO);
	ck_assert_uint_eq(c.nports, 0);
	ck_assert_str_eq(c.dry_run_dir, "");
	ck_assert_uint_eq(c.noutputs, 0);
	ck_assert(!c.have_remote);
	ck_assert_str_eq(c.admin_group, "smallbms-admin");
	assert_guard_defaults(&c.protection);
}
END_TEST

START_TEST(minimal_file_gets_defaults)
{
	struct cfg c;

	expect_valid(&c, PORT_A);
	ck_assert_uint_eq(c.poll_interval_ms, 1000);
	ck_assert_uint_eq(c.series, 1);
	ck_assert_uint_eq(c.nports, 1);
	ck_assert_str_eq(c.ports[0].name, "a");
	ck_assert_str_eq(c.ports[0].device, "/dev/ttyUSB0");
	ck_assert_str_eq(c.ports[0].protocol, "jbd");
	/* 0 = the protocol's default */
	ck_assert_uint_eq(c.ports[0].baud, 0);
	ck_assert_uint_eq(c.ports[0].timeout_ms, 0);
	ck_assert_uint_eq(c.ports[0].naddrs, 0);
	ck_assert_str_eq(c.ports[0].usb_serial, "");
	ck_assert_int_eq(c.ports[0].line, 1);
	ck_assert_str_eq(c.admin_group, "smallbms-admin");
	assert_guard_defaults(&c.protection);
}
END_TEST

START_TEST(complete_file)
{
	static const char text[] =
		"\xEF\xBB\xBF# smallbms.conf\n"
		"[general]\r\n"
		"poll_interval = 2.5s ; inline comment\n"
		"stale_after = 1h\n"
		"  series = 2\n"
		"socket = /tmp/s.sock\n"
		"state_dir: /tmp/state\n"
		"dry_run = Yes\n"
		"log_level = debug\n"
		"\n"
		"; a comment\n"
		"[ port house-1 ]\n"
		"\tdevice = /dev/serial/by-id/usb-FTDI_A10K-if00-port0\n"
		"protocol = jbd\n"
		"baud = 115200\n"
		"timeout = 250ms\n"
		"addresses = 7\n"
		"[port  b_2.x]\n"
		"device = /dev/ttyUSB1\n"
		"protocol = jbd\n"
		"timeout = 2s\n";
	struct cfg c;

	expect_valid(&c, text);
	ck_assert_uint_eq(c.poll_interval_ms, 2500);
	ck_assert_uint_eq(c.stale_after_ms, 3600000);
	ck_assert_uint_eq(c.series, 2);
	ck_assert_str_eq(c.socket_path, "/tmp/s.sock");
	ck_assert_str_eq(c.state_dir, "/tmp/state");
	ck_assert(c.dry_run);
	ck_assert_int_eq(c.log_level, LOG_DEBUG);
	ck_assert_uint_eq(c.nports, 2);
	ck_assert_str_eq(c.ports[0].name, "house-1");
	ck_assert_str_eq(c.ports[0].device,
			 "/dev/serial/by-id/usb-FTDI_A10K-if00-port0");
	ck_assert_str_eq(c.ports[0].protocol, "jbd");
	ck_assert_uint_eq(c.ports[0].baud, 115200);
	ck_assert_uint_eq(c.ports[0].timeout_ms, 250);
	ck_assert_uint_eq(c.ports[0].naddrs, 1);
	ck_assert_uint_eq(c.ports[0].addrs[0], 7);
	ck_assert_int_eq(c.ports[0].line, 12);
	ck_assert_str_eq(c.ports[1].name, "b_2.x");
	ck_assert_str_eq(c.ports[1].device, "/dev/ttyUSB1");
	ck_assert_uint_eq(c.ports[1].baud, 0);
	ck_assert_uint_eq(c.ports[1].timeout_ms, 2000);
	ck_assert_int_eq(c.ports[1].line, 18);
}
END_TEST

/* One bad value for every key: exactly one error, on the right line. */
struct bad_value {
	const char *key;
	const char *value;
	const char *message;
};

#define GROUP_BAD(v)                                                           \
	"admin_group: '" v "' is not a group name (letters, digits, '-' and "  \
	"'_', starting with a letter or '_')"

static const struct bad_value bad_values[] = {
	{"poll_interval", "5x",
	 "poll_interval: '5x' is not a duration (e.g. 500ms, 2s, 1m)"},
	{"poll_interval", "5",
	 "poll_interval: '5' has no unit: add a unit: ms, s, m or h"},
	{"poll_interval", "",
	 "poll_interval: '' is not a duration (e.g. 500ms, 2s, 1m)"},
	{"poll_interval", "-1s",
	 "poll_interval: '-1s' is not a duration (e.g. 500ms, 2s, 1m)"},
	{"poll_interval", ".5s",
	 "poll_interval: '.5s' is not a duration (e.g. 500ms, 2s, 1m)"},
	{"poll_interval", "1.2345s",
	 "poll_interval: '1.2345s' is not a duration (e.g. 500ms, 2s, 1m)"},
	{"poll_interval", "1 s",
	 "poll_interval: '1 s' is not a duration (e.g. 500ms, 2s, 1m)"},
	{"poll_interval", "1.5ms",
	 "poll_interval: '1.5ms' is not a whole number of milliseconds"},
	{"poll_interval", "99ms",
	 "poll_interval: '99ms' is out of range (100ms..60s)"},
	{"poll_interval", "60.001s",
	 "poll_interval: '60.001s' is out of range (100ms..60s)"},
	{"poll_interval", "99999999999999999999999h",
	 "poll_interval: '99999999999999999999999h' is out of range "
	 "(100ms..60s)"},
	{"stale_after", "999ms",
	 "stale_after: '999ms' is out of range (1s..1h)"},
	{"stale_after", "61m", "stale_after: '61m' is out of range (1s..1h)"},
	{"series", "0", "series: '0' is out of range (1..50)"},
	{"series", "51", "series: '51' is out of range (1..50)"},
	{"series", "two", "series: 'two' is not a whole number"},
	{"series", "-1", "series: '-1' is not a whole number"},
	{"series", "1.0", "series: '1.0' is not a whole number"},
	{"series", "4294967297",
	 "series: '4294967297' is out of range (1..50)"},
	{"socket", "run/s.sock",
	 "socket: 'run/s.sock' is not an absolute path (it must start with /)"},
	{"state_dir", "",
	 "state_dir: '' is not an absolute path (it must start with /)"},
	{"dry_run", "maybe",
	 "dry_run: 'maybe' is not a boolean (yes/no, true/false, on/off, "
	 "1/0)"},
	{"dry_run_dir", "run/gpio",
	 "dry_run_dir: 'run/gpio' is not an absolute path (it must start "
	 "with /)"},
	{"log_level", "loud",
	 "log_level: 'loud' is not a log level (err, warning, notice, info, "
	 "debug)"},
	{"device", "ttyUSB0",
	 "device: 'ttyUSB0' is neither an absolute path (/dev/...) nor "
	 "tcp://HOST:PORT"},
	{"device", "",
	 "device: '' is neither an absolute path (/dev/...) nor "
	 "tcp://HOST:PORT"},
	{"device", "/dev/tty\x01",
	 "device: value contains a control character"},
	{"protocol", "modbus", NULL /* built from drv_names() */},
	{"current_sign", "negative",
	 "current_sign: 'negative' is not a current sign (normal, inverted)"},
	{"current_sign", "",
	 "current_sign: '' is not a current sign (normal, inverted)"},
	{"baud", "1199", "baud: '1199' is out of range (1200..921600)"},
	{"baud", "921601", "baud: '921601' is out of range (1200..921600)"},
	{"baud", "fast", "baud: 'fast' is not a whole number"},
	{"timeout", "19ms", "timeout: '19ms' is out of range (20ms..10s)"},
	{"timeout", "11s", "timeout: '11s' is out of range (20ms..10s)"},
	{"timeout", "1", "timeout: '1' has no unit: add a unit: ms, s, m or h"},
	{"addresses", "",
	 "addresses: '' is not an address list (e.g. 1, 1,2,5, 1-8, "
	 "1,3-5 or scan 1-16)"},
	{"addresses", "a",
	 "addresses: 'a' is not an address list (e.g. 1, 1,2,5, 1-8, "
	 "1,3-5 or scan 1-16)"},
	{"addresses", "1,,2",
	 "addresses: '1,,2' is not an address list (e.g. 1, 1,2,5, 1-8, "
	 "1,3-5 or scan 1-16)"},
	{"addresses", "1,",
	 "addresses: '1,' is not an address list (e.g. 1, 1,2,5, 1-8, "
	 "1,3-5 or scan 1-16)"},
	{"addresses", "1-",
	 "addresses: '1-' is not an address list (e.g. 1, 1,2,5, 1-8, "
	 "1,3-5 or scan 1-16)"},
	{"addresses", "1;2",
	 "addresses: '1;2' is not an address list (e.g. 1, 1,2,5, 1-8, "
	 "1,3-5 or scan 1-16)"},
	{"addresses", "255",
	 "addresses: '255': address 255 is out of range (0..254)"},
	{"addresses", "1-300",
	 "addresses: '1-300': address 300 is out of range (0..254)"},
	{"addresses", "5-3", "addresses: '5-3': range 5-3 is reversed"},
	{"addresses", "1,1", "addresses: '1,1': address 1 is listed twice"},
	{"addresses", "1,2-3,2",
	 "addresses: '1,2-3,2': address 2 is listed twice"},
	{"addresses", "0-64", "addresses: '0-64': more than 64 addresses"},
	{"usb_serial", "", "usb_serial: empty value"},
	{"usb_serial", "A1\x7f",
	 "usb_serial: value contains a control character"},
	{"usb_serial",
	 "S123456789012345678901234567890123456789012345678901234567890123",
	 "usb_serial: value is longer than 63 characters"},
	{"admin_group", "", GROUP_BAD("")},
	{"admin_group", "-admins", GROUP_BAD("-admins")},
	{"admin_group", "9admins", GROUP_BAD("9admins")},
	{"admin_group", "bms admin", GROUP_BAD("bms admin")},
	{"admin_group", "bms.admin", GROUP_BAD("bms.admin")},
	{"admin_group", "bms/admin", GROUP_BAD("bms/admin")},
	{"admin_group", "b\xc3\xa4r", GROUP_BAD("b\xc3\xa4r")},
	{"admin_group", "a23456789012345678901234567890123",
	 "admin_group: 'a23456789012345678901234567890123' is longer than 32 "
	 "characters"},
};

static bool is_port_key(const char *key)
{
	return strcmp(key, "device") == 0 || strcmp(key, "usb_serial") == 0 ||
	       strcmp(key, "protocol") == 0 || strcmp(key, "baud") == 0 ||
	       strcmp(key, "timeout") == 0 || strcmp(key, "addresses") == 0 ||
	       strcmp(key, "current_sign") == 0;
}

START_TEST(bad_value_one_error_on_its_line)
{
	const struct bad_value *b = &bad_values[_i];
	char text[512], want[512];

	/* The bad line is line 6 in both layouts. */
	if (is_port_key(b->key))
		snprintf(text, sizeof(text),
			 "[general]\nseries = 1\n[port a]\n%s\n%s\n%s = %s\n",
			 strcmp(b->key, "device") &&
					 strcmp(b->key, "usb_serial")
				 ? "device = /dev/ttyUSB0"
				 : "# device below",
			 strcmp(b->key, "protocol") ? "protocol = jbd"
						    : "# protocol below",
			 b->key, b->value);
	else
		snprintf(text, sizeof(text),
			 PORT_A "# general below\n[general]\n%s = %s\n", b->key,
			 b->value);
	if (b->message)
		snprintf(want, sizeof(want), "t.conf:6: %s\n", b->message);
	else
		snprintf(want, sizeof(want),
			 "t.conf:6: protocol: 'modbus' is not a known protocol "
			 "(known: %s)\n",
			 drv_names());
	expect_errors(text, 1, want);
}
END_TEST

START_TEST(durations)
{
	static const struct {
		const char *text;
		unsigned ms;
	} ok[] = {{"100ms", 100}, {"250ms", 250},  {"1s", 1000},
		  {"2.5s", 2500}, {"0.125s", 125}, {"1m", 60000},
		  {"60s", 60000}, {"0.5m", 30000}, {"0.01m", 600}};
	char text[256];
	struct cfg c;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text),
			 PORT_A "[general]\npoll_interval = %s\n", ok[i].text);
		expect_valid(&c, text);
		ck_assert_uint_eq(c.poll_interval_ms, ok[i].ms);
	}
	expect_valid(&c, PORT_A "[general]\nstale_after = 1h\n");
	ck_assert_uint_eq(c.stale_after_ms, 3600000);
}
END_TEST

START_TEST(booleans_and_levels)
{
	static const char *const yes[] = {"yes", "true", "on", "1", "YES"};
	static const char *const no[] = {"no", "false", "off", "0", "Off"};
	static const struct {
		const char *name;
		int level;
	} levels[] = {{"err", LOG_ERR},
		      {"warning", LOG_WARNING},
		      {"notice", LOG_NOTICE},
		      {"info", LOG_INFO},
		      {"debug", LOG_DEBUG}};
	char text[256];
	struct cfg c;

	for (size_t i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), PORT_A "[general]\ndry_run = %s\n",
			 yes[i]);
		expect_valid(&c, text);
		ck_assert(c.dry_run);
		snprintf(text, sizeof(text), PORT_A "[general]\ndry_run = %s\n",
			 no[i]);
		expect_valid(&c, text);
		ck_assert(!c.dry_run);
	}
	for (size_t i = 0; i < 5; i++) {
		snprintf(text, sizeof(text),
			 PORT_A "[general]\nlog_level = %s\n", levels[i].name);
		expect_valid(&c, text);
		ck_assert_int_eq(c.log_level, levels[i].level);
	}
	expect_valid(&c, PORT_A);
	ck_assert(!c.ports[0].current_inverted);
	expect_valid(&c, PORT_A "current_sign = inverted\n");
	ck_assert(c.ports[0].current_inverted);
	expect_valid(&c, PORT_A "current_sign = normal\n");
	ck_assert(!c.ports[0].current_inverted);
}
END_TEST

START_TEST(several_errors_all_reported)
{
	static const char text[] =
		"[general]\n"              /* 1 */
		"poll_interval = 5\n"      /* 2 */
		"series = 0\n"             /* 3 */
		"this is not a key\n"      /* 4 */
		"dry_run = perhaps\n"      /* 5 */
		"[port a]\n"               /* 6 */
		"device = /dev/ttyUSB0\n"  /* 7 */
		"protocol = nope\n"        /* 8 */
		"also no key\n"            /* 9 */
		"[port b\n"                /* 10 */
		"timeout = 5\n"            /* 11: ignored, bad section */
		"[port c]\n"               /* 12 */
		"protocol = jbd\n"         /* 13 */
		"device = /dev/ttyUSB0\n"; /* 14 */
	char want[2048];

	snprintf(want, sizeof(want),
		 "t.conf:2: poll_interval: '5' has no unit: add a unit: ms, s, "
		 "m or h\n"
		 "t.conf:3: series: '0' is out of range (1..50)\n"
		 "t.conf:4: syntax error: expected 'key = value' or "
		 "[section]\n"
		 "t.conf:5: dry_run: 'perhaps' is not a boolean (yes/no, "
		 "true/false, on/off, 1/0)\n"
		 "t.conf:8: protocol: 'nope' is not a known protocol (known: "
		 "%s)\n"
		 "t.conf:9: syntax error: expected 'key = value' or "
		 "[section]\n"
		 "t.conf:10: syntax error: missing ']'\n"
		 "t.conf:14: device: '/dev/ttyUSB0' is already used by [port "
		 "a]\n",
		 drv_names());
	expect_errors(text, 8, want);
}
END_TEST

START_TEST(unknown_key_and_section)
{
	expect_errors("[general]\n"
		      "pol_interval = 1s\n"
		      "[serial]\n"
		      "speed = 9600\n"
		      "[general extra]\n"
		      "[ports a]\n" PORT_A "bad = 1\n"
		      "device_ = /dev/x\n",
		      6,
		      "t.conf:2: unknown key 'pol_interval' in [general]\n"
		      "t.conf:3: unknown section [serial]\n"
		      "t.conf:5: unknown section [general extra]\n"
		      "t.conf:6: unknown section [ports a]\n"
		      "t.conf:10: unknown key 'bad' in [port a]\n"
		      "t.conf:11: unknown key 'device_' in [port a]\n");
}
END_TEST

START_TEST(key_outside_section_and_duplicate_key)
{
	expect_errors("poll_interval = 1s\n" PORT_A "baud = 9600\n"
		      "baud = 9600\n"
		      "[general]\nseries = 1\nseries = 1\n",
		      3,
		      "t.conf:1: 'poll_interval' is outside any section (put "
		      "it under [general] or [port NAME])\n"
		      "t.conf:6: baud: already set at line 5\n"
		      "t.conf:9: series: already set at line 8\n");
}
END_TEST

START_TEST(duplicate_port_name_and_device)
{
	expect_errors(PORT_A "[port a]\n"
			     "device = /dev/ttyUSB1\n"
			     "protocol = jbd\n"
			     "[port b]\n"
			     "protocol = jbd\n"
			     "device = /dev/ttyUSB0\n",
		      2,
		      "t.conf:4: duplicate port name 'a' (first at line 1)\n"
		      "t.conf:9: device: '/dev/ttyUSB0' is already used by "
		      "[port a]\n");
}
END_TEST

START_TEST(bad_port_sections)
{
	char text[4096];
	size_t n = 0;

	expect_errors("[port]\n[port a b]\n[port x/y]\n" PORT_A, 3,
		      "t.conf:1: [port] needs a name: [port NAME]\n"
		      "t.conf:2: port name 'a b' is not valid (use letters, "
		      "digits, '-', '_' and '.')\n"
		      "t.conf:3: port name 'x/y' is not valid (use letters, "
		      "digits, '-', '_' and '.')\n");
	for (int i = 0; i < CFG_MAX_PORTS + 1; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "[port p%d]\ndevice = /dev/ttyUSB%d\n"
				      "protocol = jbd\n",
				      i, i);
	expect_errors(text, 1, "t.conf:49: too many ports (at most 16)\n");
}
END_TEST

START_TEST(missing_required_keys)
{
	expect_errors(PORT_A "[port b]\n"
			     "baud = 9600\n"
			     "[port c]\n"
			     "device = /dev/ttyUSB2\n"
			     "[port d]\n",
		      5,
		      "t.conf:4: [port b] has no device and no usb_serial (one "
		      "is required)\n"
		      "t.conf:4: [port b] has no protocol (required)\n"
		      "t.conf:6: [port c] has no protocol (required)\n"
		      "t.conf:8: [port d] has no device and no usb_serial (one "
		      "is required)\n"
		      "t.conf:8: [port d] has no protocol (required)\n");
}
END_TEST

START_TEST(no_port)
{
	expect_errors("", 1,
		      "t.conf: no [port NAME] section: at least one battery "
		      "port is required\n");
	expect_errors("[general]\nseries = 1\n", 1,
		      "t.conf: no [port NAME] section: at least one battery "
		      "port is required\n");
}
END_TEST

START_TEST(addrlist_single_address)
{
	struct cfg c;

	expect_valid(&c, PORT_A "addresses = 0\n");
	ck_assert_uint_eq(c.ports[0].naddrs, 1);
	ck_assert_uint_eq(c.ports[0].addrs[0], 0);
	expect_valid(&c, PORT_A "addresses = 254\n");
	ck_assert_uint_eq(c.ports[0].addrs[0], 254);
	expect_valid(&c, PORT_A "addresses = 9-9\n");
	ck_assert_uint_eq(c.ports[0].naddrs, 1);
	ck_assert_uint_eq(c.ports[0].addrs[0], 9);
}
END_TEST

/* jbd has one battery per port: a valid list of several is refused, once. */
START_TEST(addrlist_unaddressed_protocol)
{
	static const char *const lists[] = {"1,2,5", "1-8", "1,3-5", "0-63"};
	char text[256];

	for (size_t i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), PORT_A "addresses = %s\n",
			 lists[i]);
		expect_errors(text, 1,
			      "t.conf:4: addresses: protocol 'jbd' has one "
			      "battery per port: give one address\n");
	}
}
END_TEST

/* One port a with an addressed protocol and "addresses = ADDRS". */
static const char *addressed_port(const char *addrs)
{
	static char text[256];

	ck_assert_ptr_nonnull(addressed_protocol());
	snprintf(text, sizeof(text),
		 "[port a]\ndevice = /dev/ttyUSB0\nprotocol = %s\n"
		 "addresses = %s\n",
		 addressed_protocol(), addrs);
	return text;
}

START_TEST(addrlist_forms)
{
	struct cfg c;

	expect_valid(&c, addressed_port("1, 3 - 5,9"));
	ck_assert_uint_eq(c.ports[0].naddrs, 5);
	ck_assert_uint_eq(c.ports[0].addrs[0], 1);
	ck_assert_uint_eq(c.ports[0].addrs[1], 3);
	ck_assert_uint_eq(c.ports[0].addrs[2], 4);
	ck_assert_uint_eq(c.ports[0].addrs[3], 5);
	ck_assert_uint_eq(c.ports[0].addrs[4], 9);
	expect_valid(&c, addressed_port("0-49"));
	ck_assert_uint_eq(c.ports[0].naddrs, 50);
	ck_assert_uint_eq(c.ports[0].addrs[49], 49);
}
END_TEST

/* "scan LIST": the candidates to probe, marked as such. */
START_TEST(addrlist_scan)
{
	char text[512];
	struct cfg c;

	snprintf(text, sizeof(text),
		 "[general]\nrescan_interval = 1m\n%s"
		 "[port b]\ndevice = /dev/ttyUSB1\nprotocol = %s\n"
		 "addresses = 2-3\n",
		 addressed_port("scan 2-9, 12"), addressed_protocol());
	expect_valid(&c, text);
	ck_assert(c.ports[0].scan);
	ck_assert_uint_eq(c.ports[0].naddrs, 9);
	ck_assert_uint_eq(c.ports[0].addrs[0], 2);
	ck_assert_uint_eq(c.ports[0].addrs[8], 12);
	ck_assert(!c.ports[1].scan);
	ck_assert_uint_eq(c.rescan_interval_ms, 60000);
	/* The default: every 10 minutes. */
	expect_valid(&c, addressed_port("scan 1-16"));
	ck_assert_uint_eq(c.rescan_interval_ms, 600000);
	/* scan without addresses, a bad list after scan, a JBD port. */
	expect_errors(addressed_port("scan"), 1,
		      "t.conf:4: addresses: 'scan': give the addresses to "
		      "probe, e.g. scan 1-16\n");
	expect_errors(addressed_port("scan 5-3"), 1,
		      "t.conf:4: addresses: 'scan 5-3': range 5-3 is "
		      "reversed\n");
	expect_errors(PORT_A "addresses = scan 1-4\n", 1,
		      "t.conf:4: addresses: protocol 'jbd' has one battery "
		      "per port: there is nothing to scan for\n");
	expect_errors("[general]\nrescan_interval = 5s\n" PORT_A, 1,
		      "t.conf:2: rescan_interval: '5s' is out of range "
		      "(10s..24h)\n");
	/* expect: how many must be found; only with scan, at most the
	 * candidates. */
	snprintf(text, sizeof(text), "%sexpect = 4\n",
		 addressed_port("scan 1-8"));
	expect_valid(&c, text);
	ck_assert_uint_eq(c.ports[0].expect, 4);
	snprintf(text, sizeof(text), "%sexpect = 9\n",
		 addressed_port("scan 1-8"));
	expect_errors(text, 1,
		      "t.conf:5: expect: 9 batteries cannot be found at 8 "
		      "addresses\n");
	snprintf(text, sizeof(text), "%sexpect = 2\n", addressed_port("1-8"));
	expect_errors(text, 1,
		      "t.conf:5: expect: only with addresses = scan\n");
	expect_errors(PORT_A "expect = 0\n", 1,
		      "t.conf:4: expect: '0' is out of range (1..64)\n");
}
END_TEST

START_TEST(battery_limit)
{
	const char *proto = addressed_protocol();
	char text[512];
	struct cfg c;

	ck_assert_ptr_nonnull(proto);
	snprintf(text, sizeof(text),
		 "[port a]\ndevice = /dev/ttyUSB0\nprotocol = %s\n"
		 "addresses = 1-40\n"
		 "[port b]\ndevice = /dev/ttyUSB1\nprotocol = %s\n"
		 "addresses = 1-10\n",
		 proto, proto);
	expect_valid(&c, text);
	snprintf(text, sizeof(text),
		 "[port a]\ndevice = /dev/ttyUSB0\nprotocol = %s\n"
		 "addresses = 1-40\n"
		 "[port b]\ndevice = /dev/ttyUSB1\nprotocol = %s\n"
		 "addresses = 1-11\n",
		 proto, proto);
	expect_errors(text, 1,
		      "t.conf:8: [port b] brings the number of batteries to "
		      "51; at most 50 are supported\n");
	/* Scanned candidates count: every one of them may answer. */
	snprintf(text, sizeof(text),
		 "[port a]\ndevice = /dev/ttyUSB0\nprotocol = %s\n"
		 "addresses = scan 1-40\n"
		 "[port b]\ndevice = /dev/ttyUSB1\nprotocol = %s\n"
		 "addresses = 1-11\n",
		 proto, proto);
	expect_errors(text, 1,
		      "t.conf:8: [port b] brings the number of possible "
		      "batteries to 51; at most 50 are supported\n");
}
END_TEST

START_TEST(series_multiple)
{
	struct cfg c;

	expect_valid(&c, "[general]\nseries = 4\n" PORT_A
			 "[port b]\ndevice = /dev/ttyUSB1\nprotocol = jbd\n"
			 "[port c]\ndevice = /dev/ttyUSB2\nprotocol = jbd\n"
			 "[port d]\ndevice = /dev/ttyUSB3\nprotocol = jbd\n");
	ck_assert_uint_eq(c.series, 4);
	expect_valid(&c, "[general]\nseries = 2\n" PORT_A
			 "[port b]\ndevice = /dev/ttyUSB1\nprotocol = jbd\n");
	expect_errors(
		"# three batteries\n[general]\nseries = 2\n" PORT_A
		"[port b]\ndevice = /dev/ttyUSB1\nprotocol = jbd\n"
		"[port c]\ndevice = /dev/ttyUSB2\nprotocol = jbd\n",
		1,
		"t.conf:3: series: 3 batteries cannot form strings of 2 (the "
		"number of batteries must be a multiple of series)\n");
	/* With a scanned port the count is known only at run time. */
	{
		char text[256];
		snprintf(text, sizeof(text),
			 "[general]\nseries = 2\n[port a]\ndevice = "
			 "/dev/ttyUSB0\nprotocol = %s\naddresses = scan "
			 "1-3\n",
			 addressed_protocol());
		expect_valid(&c, text);
	}
	/* A port with an error makes the count meaningless: no more errors. */
	expect_errors("[general]\nseries = 2\n" PORT_A
		      "[port b]\ndevice = /dev/ttyUSB1\nprotocol = jbd\n"
		      "addresses = x\n",
		      1,
		      "t.conf:9: addresses: 'x' is not an address list (e.g. "
		      "1, 1,2,5, 1-8, 1,3-5 or scan 1-16)\n");
}
END_TEST

START_TEST(too_long_line)
{
	char text[1024], want[256];
	char big[301];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(text, sizeof(text),
		 "[general]\n# %s\nseries = 1\nnope = 1\n" PORT_A, big);
	snprintf(want, sizeof(want),
		 "t.conf:2: line is longer than 198 characters\n"
		 "t.conf:4: unknown key 'nope' in [general]\n");
	expect_errors(text, 2, want);

	/* 198 characters still fit. */
	memset(big, ' ', 198 - strlen("series = 1"));
	strcpy(big + 198 - strlen("series = 1"), "series = 1");
	snprintf(text, sizeof(text), "[general]\n%s\n" PORT_A, big);
	expect_errors(text, 0, "");
}
END_TEST

/* [mqtt]: defaults, a broker that needs no name resolution, the TLS and
 * password keys together, errors at their lines. */
START_TEST(mqtt_section)
{
	struct cfg c;

	expect_valid(&c, PORT_A);
	ck_assert_int_eq(c.mqtt.line, 0); /* no section: off */
	expect_valid(&c, PORT_A "[mqtt]\nbroker = mqtt://192.168.1.10:1883\n");
	ck_assert_str_eq(c.mqtt.topic_prefix, "smallbms");
	ck_assert_str_eq(c.mqtt.discovery_prefix, "homeassistant");
	ck_assert_str_eq(c.mqtt.client_id, "smallbms");
	ck_assert_uint_eq(c.mqtt.heartbeat_ms, 60000);
	ck_assert_uint_eq(c.mqtt.min_interval_ms, 1000);
	ck_assert_uint_eq(c.mqtt.max_queued, 1000);
	ck_assert(c.mqtt.discovery && !c.mqtt.allow_commands && !c.mqtt.cells);
	expect_valid(&c, PORT_A "[mqtt]\nbroker = mqtts://[fd00::5]:8883\n"
				"ca_file = /etc/ca.crt\n");
	expect_valid(&c, PORT_A "[mqtt]\nbroker = mqtt://localhost:1883\n");
	expect_errors(
		PORT_A "[mqtt]\nbroker = mqtt://1.2.3.4:1883\n"
		       "topic_prefix = bms/#\n",
		1,
		"t.conf:6: topic_prefix: 'bms/#' is not a topic prefix (no "
		"+ or #, no / at either end)\n");
	expect_errors(PORT_A "[mqtt]\nqos = 1\n", 1,
		      "t.conf:4: [mqtt] needs broker = mqtt://HOST:PORT\n");
	expect_errors(
		PORT_A "[mqtt]\nbroker = mqtt://broker.lan:1883\n", 1,
		"t.conf:5: broker: 'mqtt://broker.lan:1883': HOST must be "
		"an IP address (192.168.1.5, [fd00::5]) or localhost and "
		"PORT 1..65535: a host name would be resolved on the "
		"event loop, which must never wait\n");
	expect_errors(PORT_A "[mqtt]\nbroker = http://1.2.3.4:1\n", 1,
		      "t.conf:5: broker: 'http://1.2.3.4:1' is not "
		      "mqtt://HOST:PORT or mqtts://HOST:PORT\n");
	expect_errors(PORT_A "[mqtt]\nbroker = mqtts://1.2.3.4:8883\n"
			     "cert_file = /etc/c.crt\n",
		      1,
		      "t.conf:4: [mqtt] cert_file and key_file go together (a "
		      "client certificate needs its key)\n");
	expect_errors(PORT_A "[mqtt]\nbroker = mqtt://1.2.3.4:1883\n"
			     "ca_file = /etc/ca.crt\n",
		      1,
		      "t.conf:4: [mqtt] ca_file / cert_file need broker = "
		      "mqtts://\n");
	expect_errors(PORT_A "[mqtt]\nbroker = mqtt://1.2.3.4:1883\n"
			     "password_file = /etc/pw\n",
		      1,
		      "t.conf:6: password_file: a password needs a username\n");
	expect_errors(PORT_A "[mqtt]\nbroker = mqtt://1.2.3.4:1883\nqos = 3\n"
			     "[mqtt]\n",
		      2,
		      "t.conf:6: qos: '3' is out of range (0..2)\n"
		      "t.conf:7: duplicate [mqtt] (first at line 4)\n");
}
END_TEST

START_TEST(error_leaves_config_untouched)
{
	struct cfg c, before;

	memset(&c, 0x5a, sizeof(c));
	before = c;
	expect_errors(PORT_A "[general]\nseries = 0\n", 1,
		      "t.conf:5: series: '0' is out of range (1..50)\n");
	ck_assert_int_eq(cfg_load_string(&c, "t.conf", "[general]\n", NULL), 1);
	ck_assert_mem_eq(&c, &before, sizeof(c));
}
END_TEST

START_TEST(load_file)
{
	char path[] = "/tmp/test_config.XXXXXX";
	char *errs = NULL;
	size_t len;
	struct cfg c;
	FILE *f, *e;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(PORT_A "[general]\nseries = 1\npoll_interval = 500ms\n"
		     "series = 2\n",
	      f);
	fclose(f);
	e = open_memstream(&errs, &len);
	ck_assert_int_eq(cfg_load(&c, path, e), 1);
	fclose(e);
	unlink(path);
	ck_assert_ptr_nonnull(strstr(errs, ":7: series: already set at line "
					   "5\n"));
	ck_assert_int_eq(strncmp(errs, path, strlen(path)), 0);
	ck_assert_int_eq(strlen(errs), strlen(path) + strlen(":7: series: "
							     "already set at "
							     "line 5\n"));
	free(errs);
}
END_TEST

START_TEST(missing_file)
{
	char *errs = NULL;
	size_t len;
	struct cfg c;
	FILE *e = open_memstream(&errs, &len);

	ck_assert_int_eq(cfg_load(&c, "/nonexistent/smallbms.conf", e), 1);
	fclose(e);
	ck_assert_str_eq(errs, "/nonexistent/smallbms.conf: cannot open: No "
			       "such file or directory\n");
	free(errs);
}
END_TEST

START_TEST(print_keys_lists_every_key)
{
	static const char *const want[][2] = {
		{"general", "poll_interval"},
		{"general", "stale_after"},
		{"general", "series"},
		{"general", "rescan_interval"},
		{"general", "socket"},
		{"general", "state_dir"},
		{"general", "dry_run"},
		{"general", "dry_run_dir"},
		{"general", "log_level"},
		{"general", "admin_group"},
		{"port", "device"},
		{"port", "usb_serial"},
		{"port", "protocol"},
		{"port", "baud"},
		{"port", "timeout"},
		{"port", "addresses"},
		{"port", "expect"},
		{"port", "charge_without_temperature"},
		{"port", "current_sign"},
		{"output", "function"},
		{"output", "line"},
		{"output", "chip"},
		{"output", "offset"},
		{"output", "drive"},
		{"output", "active_low"},
		{"output", "bias"},
		{"input", "line"},
		{"input", "chip"},
		{"input", "offset"},
		{"input", "active_low"},
		{"input", "bias"},
		{"input", "debounce"},
		{"protection", "cell_undervoltage"},
		{"protection", "cell_undervoltage_hard"},
		{"protection", "cell_recover"},
		{"protection", "undervoltage_hysteresis"},
		{"protection", "charge_detect_current"},
		{"protection", "charge_detect_time"},
		{"protection", "prealarm_lead"},
		{"protection", "prealarm_hysteresis"},
		{"protection", "soc_warning_hysteresis"},
		{"protection", "prealarm_mode"},
		{"protection", "prealarm_on"},
		{"protection", "prealarm_off"},
		{"protection", "floor_hysteresis"},
		{"protection", "cell_overvoltage"},
		{"protection", "cell_overvoltage_recover"},
		{"protection", "charge_temp_low"},
		{"protection", "charge_temp_high"},
		{"protection", "temp_hysteresis"},
		{"protection", "comm_loss_charge"},
		{"protection", "comm_loss_load"},
		{"protection", "restore_delay"},
		{"protection", "max_cycles_per_hour"},
		{"metrics", "textfile"},
		{"metrics", "interval"},
		{"can", "interface"},
		{"can", "profile"},
		{"limits", "charge_voltage"},
		{"limits", "float_voltage"},
		{"limits", "discharge_voltage"},
		{"limits", "cell_target"},
		{"limits", "charge_current"},
		{"limits", "discharge_current"},
		{"limits", "charge_derate_start"},
		{"limits", "charge_derate_end"},
		{"limits", "discharge_derate_start"},
		{"limits", "discharge_derate_end"},
		{"limits", "cold_span"},
		{"limits", "hot_span"},
		{"limits", "ramp_time"},
		{"limits", "tail_current"},
		{"limits", "balanced_spread"},
		{"limits", "float_after"},
		{"limits", "rebulk_soc"},
		{"limits", "rebulk_spread"},
		{"mqtt", "broker"},
		{"mqtt", "ca_file"},
		{"mqtt", "cert_file"},
		{"mqtt", "key_file"},
		{"mqtt", "username"},
		{"mqtt", "password_file"},
		{"mqtt", "client_id"},
		{"mqtt", "qos"},
		{"mqtt", "topic_prefix"},
		{"mqtt", "min_interval"},
		{"mqtt", "heartbeat"},
		{"mqtt", "max_queued"},
		{"mqtt", "cells"},
		{"mqtt", "discovery"},
		{"mqtt", "discovery_prefix"},
		{"mqtt", "allow_commands"},
		{"mqtt", "venus"},
	};
	const size_t nwant = sizeof(want) / sizeof(want[0]);
	char *out = NULL, *line, *save = NULL;
	size_t len, n = 0;
	FILE *f = open_memstream(&out, &len);

	cfg_print_keys(f);
	fclose(f);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), n++) {
		char prefix[64];
		int tabs = 0;

		ck_assert_uint_lt(n, nwant);
		snprintf(prefix, sizeof(prefix), "%s\t%s\t", want[n][0],
			 want[n][1]);
		ck_assert_int_eq(strncmp(line, prefix, strlen(prefix)), 0);
		for (const char *p = line; *p; p++)
			tabs += *p == '\t';
		ck_assert_int_eq(tabs, 5);
		if (n == 0)
			ck_assert_str_eq(line,
					 "general\tpoll_interval\tduration\t1s"
					 "\t100ms..60s\thow often each battery "
					 "is polled");
		if (n == 7)
			ck_assert_str_eq(line,
					 "general\tdry_run_dir\tpath\t(none: "
					 "memory only)\t-\tin dry-run mode, "
					 "show every output as a file DIR/LINE "
					 "holding its physical level (1 or 0), "
					 "and read every input from such a "
					 "file");
		if (n == 9)
			ck_assert_str_eq(line,
					 "general\tadmin_group\tgroup\t"
					 "smallbms-admin\t-\tmembers of this "
					 "group may change the daemon's state "
					 "through smallbmsctl (root always "
					 "may)");
		if (n == 10)
			ck_assert_str_eq(line,
					 "port\tdevice\tdevice\t(one of device "
					 "and usb_serial is required)\t-\t"
					 "serial device (a /dev/serial/by-id/"
					 "... link is recommended), or "
					 "tcp://HOST:PORT for an RS485-to-TCP "
					 "gateway");
		if (n == 11)
			ck_assert_str_eq(
				line, "port\tusb_serial\tstring\t(one of "
				      "device and usb_serial is required)\t"
				      "-\tfind the serial adapter by its USB "
				      "serial number instead of giving "
				      "device");
		if (n == 13)
			ck_assert_str_eq(line,
					 "port\tbaud\tuint\t(protocol default)"
					 "\t1200..921600\tserial speed");
		if (n == 19)
			ck_assert_str_eq(line,
					 "output\tfunction\tfunction\t"
					 "(required)\tload, charge, prealarm, "
					 "load-and-charge, error-led, "
					 "status-led\twhat drives the output: "
					 "load (allowed to discharge), charge "
					 "(allowed to charge), prealarm, "
					 "load-and-charge (both allowed), "
					 "error-led, status-led");
		if (n == 22)
			ck_assert_str_eq(line,
					 "output\toffset\tuint\t(none)\t"
					 "0..65535\tline offset on chip (with "
					 "chip)");
		if (n == 25)
			ck_assert_str_eq(line,
					 "output\tbias\tbias\tas-is\tas-is, "
					 "disabled, pull-up, pull-down\tpull "
					 "resistor inside the chip");
		if (n == 31)
			ck_assert_str_eq(line,
					 "input\tdebounce\tduration\t50ms\t"
					 "0ms..1s\tthe input must be stable "
					 "this long before a change counts");
		if (n == 32)
			ck_assert_str_eq(line,
					 "protection\tcell_undervoltage\t"
					 "number\t2.80V\t2.00V..3.00V\ta cell "
					 "below this voltage (V) disconnects "
					 "the loads, once the pre-alarm has "
					 "been on for prealarm_lead");
		if (n == 38)
			ck_assert_str_eq(line,
					 "protection\tprealarm_lead\tduration"
					 "\t30s\t30s..10m\thow long the "
					 "pre-alarm is on before a low cell "
					 "disconnects the loads (at least 30 "
					 "s)");
		if (n == 41)
			ck_assert_str_eq(
				line, "protection\tprealarm_mode\t"
				      "prealarm-mode\tcontinuous\t"
				      "continuous, intermittent\tcontinuous: "
				      "the pre-alarm output stays on; "
				      "intermittent: it blinks (prealarm_on, "
				      "prealarm_off)");
		if (n == 47)
			ck_assert_str_eq(
				line, "protection\tcharge_temp_low\tnumber\t"
				      "5C\t0C..40C\tno charging below "
				      "this temperature (degrees C; at least "
				      "0)");
	}
	ck_assert_uint_eq(n, nwant);
	free(out);
}
END_TEST

/* ---- [output NAME], [input remote], dry_run_dir -------------------------- */

START_TEST(outputs_and_remote)
{
	static const char text[] = PORT_A       /* 1-3 */
		"[general]\n"                   /* 4 */
		"dry_run = yes\n"               /* 5 */
		"dry_run_dir = /run/smallbms\n" /* 6 */
		"[output load]\n"               /* 7 */
		"function = load\n"             /* 8 */
		"line = GPIO17\n"               /* 9 */
		"[output Charge-2]\n"           /* 10 */
		"function = Charge\n"           /* 11 */
		"chip = gpiochip0\n"            /* 12 */
		"offset = 27\n"                 /* 13 */
		"drive = open-source\n"         /* 14 */
		"bias = pull-down\n"            /* 15 */
		"[output mp]\n"                 /* 16 */
		"function = load-and-charge\n"  /* 17 */
		"line = P9_12 [GPIO1_28]\n"     /* 18 */
		"drive = OPEN-DRAIN\n"          /* 19 */
		"active_low = yes\n"            /* 20 */
		"[output a]\n"                  /* 21 */
		"function = prealarm\n"         /* 22 */
		"line = GPIO5\n"                /* 23 */
		"[output b]\n"                  /* 24 */
		"function = error-led\n"        /* 25 */
		"chip = /dev/gpiochip1\n"       /* 26 */
		"offset = 0\n"                  /* 27 */
		"[output c]\n"                  /* 28 */
		"function = status-led\n"       /* 29 */
		"chip = gpiochip1\n"            /* 30 */
		"offset = 65535\n"              /* 31 */
		"[input remote]\n"              /* 32 */
		"line = GPIO22\n"               /* 33 */
		"active_low = yes\n"            /* 34 */
		"bias = pull-up\n"              /* 35 */
		"debounce = 20ms\n";            /* 36 */
	struct cfg c;
	const struct cfg_output *o;

	expect_valid(&c, text);
	ck_assert(c.dry_run);
	ck_assert_str_eq(c.dry_run_dir, "/run/smallbms");
	ck_assert_uint_eq(c.noutputs, 6);

	o = &c.outputs[0];
	ck_assert_str_eq(o->name, "load");
	ck_assert_int_eq(o->function, CFG_OUT_LOAD);
	ck_assert_str_eq(o->line.name, "GPIO17");
	ck_assert_str_eq(o->line.chip, "");
	ck_assert_int_eq(o->line.offset, -1);
	ck_assert_int_eq(o->line.drive, GPIO_DRIVE_PUSH_PULL);
	ck_assert_int_eq(o->line.bias, GPIO_BIAS_AS_IS);
	ck_assert(!o->line.active_low);
	ck_assert_uint_eq(o->line.debounce_us, 0);
	ck_assert_int_eq(o->line_no, 7);

	o = &c.outputs[1];
	ck_assert_str_eq(o->name, "Charge-2");
	ck_assert_int_eq(o->function, CFG_OUT_CHARGE);
	ck_assert_str_eq(o->line.name, "");
	ck_assert_str_eq(o->line.chip, "gpiochip0");
	ck_assert_int_eq(o->line.offset, 27);
	ck_assert_int_eq(o->line.drive, GPIO_DRIVE_OPEN_SOURCE);
	ck_assert_int_eq(o->line.bias, GPIO_BIAS_PULL_DOWN);
	ck_assert_int_eq(o->line_no, 10);

	o = &c.outputs[2];
	ck_assert_int_eq(o->function, CFG_OUT_LOAD_AND_CHARGE);
	ck_assert_str_eq(o->line.name, "P9_12 [GPIO1_28]");
	ck_assert_int_eq(o->line.drive, GPIO_DRIVE_OPEN_DRAIN);
	ck_assert(o->line.active_low);

	ck_assert_int_eq(c.outputs[3].function, CFG_OUT_PREALARM);
	ck_assert_int_eq(c.outputs[4].function, CFG_OUT_ERROR_LED);
	ck_assert_str_eq(c.outputs[4].line.chip, "/dev/gpiochip1");
	ck_assert_int_eq(c.outputs[4].line.offset, 0);
	ck_assert_int_eq(c.outputs[5].function, CFG_OUT_STATUS_LED);
	ck_assert_int_eq(c.outputs[5].line.offset, 65535);

	ck_assert(c.have_remote);
	ck_assert_str_eq(c.remote.line.name, "GPIO22");
	ck_assert_int_eq(c.remote.line.offset, -1);
	ck_assert(c.remote.line.active_low);
	ck_assert_int_eq(c.remote.line.bias, GPIO_BIAS_PULL_UP);
	ck_assert_uint_eq(c.remote.line.debounce_us, 20000);
	ck_assert_int_eq(c.remote.line_no, 32);
}
END_TEST

START_TEST(remote_defaults)
{
	struct cfg c;

	expect_valid(&c, PORT_A "[input remote]\nchip = gpiochip0\n"
				"offset = 22\n");
	ck_assert(c.have_remote);
	ck_assert_str_eq(c.remote.line.name, "");
	ck_assert_str_eq(c.remote.line.chip, "gpiochip0");
	ck_assert_int_eq(c.remote.line.offset, 22);
	ck_assert(!c.remote.line.active_low);
	ck_assert_int_eq(c.remote.line.bias, GPIO_BIAS_AS_IS);
	ck_assert_uint_eq(c.remote.line.debounce_us, 50000);
	expect_valid(&c, PORT_A "[input remote]\nline = GPIO22\n"
				"debounce = 0ms\n");
	ck_assert_uint_eq(c.remote.line.debounce_us, 0);
	expect_valid(&c, PORT_A "[input remote]\nline = GPIO22\n"
				"debounce = 1s\n");
	ck_assert_uint_eq(c.remote.line.debounce_us, 1000000);
	expect_valid(&c, PORT_A "[output x]\nfunction = status-led\n"
				"line = LED\n");
	ck_assert(!c.have_remote);
	ck_assert_int_eq(c.outputs[0].function, CFG_OUT_STATUS_LED);
}
END_TEST

START_TEST(function_names)
{
	static const struct {
		const char *name;
		enum cfg_output_function f;
	} fn[] = {
		{"load", CFG_OUT_LOAD},
		{"charge", CFG_OUT_CHARGE},
		{"prealarm", CFG_OUT_PREALARM},
		{"load-and-charge", CFG_OUT_LOAD_AND_CHARGE},
		{"error-led", CFG_OUT_ERROR_LED},
		{"status-led", CFG_OUT_STATUS_LED},
	};
	char text[256];
	struct cfg c;

	for (size_t i = 0; i < sizeof(fn) / sizeof(fn[0]); i++) {
		snprintf(text, sizeof(text),
			 PORT_A "[output o]\nfunction = %s\nline = X\n",
			 fn[i].name);
		expect_valid(&c, text);
		ck_assert_int_eq(c.outputs[0].function, fn[i].f);
		ck_assert_str_eq(cfg_output_function_name(fn[i].f), fn[i].name);
	}
	ck_assert_str_eq(cfg_output_function_name((enum cfg_output_function)99),
			 "unknown");
}
END_TEST

/* One bad value in [output x] or [input remote]: one error, line 7. */
struct bad_line_value {
	bool input;
	const char *key;
	const char *value;
	const char *message;
};

static const struct bad_line_value bad_line_values[] = {
	{false, "function", "blink",
	 "function: 'blink' is not an output function (load, charge, "
	 "prealarm, load-and-charge, error-led, status-led)"},
	{false, "function", "",
	 "function: '' is not an output function (load, charge, prealarm, "
	 "load-and-charge, error-led, status-led)"},
	{false, "line", "gpio/17",
	 "line: 'gpio/17' is not a line name (no '/', and not starting with "
	 "'.')"},
	{false, "line", "..",
	 "line: '..' is not a line name (no '/', and not starting with '.')"},
	{false, "line", "", "line: empty value"},
	{false, "line",
	 "L123456789012345678901234567890123456789012345678901234567890123",
	 "line: value is longer than 63 characters"},
	{false, "chip", "dev/gpiochip0",
	 "chip: 'dev/gpiochip0' is not a chip (e.g. gpiochip0 or "
	 "/dev/gpiochip0)"},
	{false, "chip", ".gpiochip0",
	 "chip: '.gpiochip0' is not a chip (e.g. gpiochip0 or "
	 "/dev/gpiochip0)"},
	{false, "offset", "-1", "offset: '-1' is not a whole number"},
	{false, "offset", "x", "offset: 'x' is not a whole number"},
	{false, "offset", "65536",
	 "offset: '65536' is out of range (0..65535)"},
	{false, "drive", "open",
	 "drive: 'open' is not a drive (push-pull, open-drain, open-source)"},
	{false, "active_low", "low",
	 "active_low: 'low' is not a boolean (yes/no, true/false, on/off, "
	 "1/0)"},
	{false, "bias", "up",
	 "bias: 'up' is not a bias (as-is, disabled, pull-up, pull-down)"},
	{true, "line", "a/b",
	 "line: 'a/b' is not a line name (no '/', and not starting with "
	 "'.')"},
	{true, "offset", "99999", "offset: '99999' is out of range (0..65535)"},
	{true, "bias", "pullup",
	 "bias: 'pullup' is not a bias (as-is, disabled, pull-up, "
	 "pull-down)"},
	{true, "active_low", "2",
	 "active_low: '2' is not a boolean (yes/no, true/false, on/off, "
	 "1/0)"},
	{true, "debounce", "5",
	 "debounce: '5' has no unit: add a unit: ms, s, m or h"},
	{true, "debounce", "1001ms",
	 "debounce: '1001ms' is out of range (0ms..1s)"},
	{true, "debounce", "2s", "debounce: '2s' is out of range (0ms..1s)"},
};

/* Two lines before the bad one, chosen so that nothing else is wrong. */
static void line_fillers(const struct bad_line_value *b, const char **f1,
			 const char **f2)
{
	*f1 = b->input ? "# no function in [input remote]" : "function = load";
	if (strcmp(b->key, "function") == 0)
		*f1 = "# function below";
	if (strcmp(b->key, "line") == 0)
		*f2 = "# line below";
	else if (strcmp(b->key, "chip") == 0)
		*f2 = "offset = 1";
	else if (strcmp(b->key, "offset") == 0)
		*f2 = "chip = gpiochip0";
	else
		*f2 = "line = GPIO5";
	if (strcmp(b->key, "function") == 0)
		*f2 = "line = GPIO5";
}

START_TEST(bad_line_value_one_error_on_its_line)
{
	const struct bad_line_value *b = &bad_line_values[_i];
	const char *f1, *f2;
	char text[512], want[512];

	line_fillers(b, &f1, &f2);
	snprintf(text, sizeof(text), PORT_A "%s\n%s\n%s\n%s = %s\n",
		 b->input ? "[input remote]" : "[output x]", f1, f2, b->key,
		 b->value);
	snprintf(want, sizeof(want), "t.conf:7: %s\n", b->message);
	expect_errors(text, 1, want);
}
END_TEST

START_TEST(bad_output_and_input_sections)
{
	char text[2048];
	size_t n;

	expect_errors(PORT_A "[output]\n"
			     "function = load\n"
			     "[output a b]\n"
			     "[output x/y]\n"
			     "[input]\n"
			     "line = GPIO22\n"
			     "[input remote2]\n"
			     "[input  remote]\n"
			     "line = GPIO22\n"
			     "speed = 1\n"
			     "[input remote]\n"
			     "line = GPIO23\n"
			     "[output o]\n"
			     "function = load\n"
			     "line = GPIO5\n"
			     "delay = 1s\n"
			     "[output o]\n"
			     "[outputs x]\n",
		      10,
		      "t.conf:4: [output] needs a name: [output NAME]\n"
		      "t.conf:6: output name 'a b' is not valid (use letters, "
		      "digits, '-', '_' and '.')\n"
		      "t.conf:7: output name 'x/y' is not valid (use letters, "
		      "digits, '-', '_' and '.')\n"
		      "t.conf:8: [input] needs a name: [input remote]\n"
		      "t.conf:10: unknown input 'remote2' (the only input is "
		      "[input remote])\n"
		      "t.conf:13: unknown key 'speed' in [input remote]\n"
		      "t.conf:14: duplicate [input remote] (first at line 11)\n"
		      "t.conf:19: unknown key 'delay' in [output o]\n"
		      "t.conf:20: duplicate output name 'o' (first at line "
		      "16)\n"
		      "t.conf:21: unknown section [outputs x]\n");
	n = (size_t)snprintf(text, sizeof(text), PORT_A);
	for (int i = 0; i < CFG_MAX_OUTPUTS + 1; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "[output o%d]\nfunction = load\n"
				      "line = GPIO%d\n",
				      i, i);
	expect_errors(text, 1, "t.conf:28: too many outputs (at most 8)\n");
}
END_TEST

START_TEST(line_forms)
{
	expect_errors(
		PORT_A "[output a]\n"        /* 4 */
		       "function = load\n"   /* 5 */
		       "[output b]\n"        /* 6 */
		       "function = load\n"   /* 7 */
		       "line = GPIO5\n"      /* 8 */
		       "chip = gpiochip0\n"  /* 9 */
		       "offset = 5\n"        /* 10 */
		       "[output c]\n"        /* 11 */
		       "function = load\n"   /* 12 */
		       "offset = 6\n"        /* 13 */
		       "line = GPIO6\n"      /* 14 */
		       "[output d]\n"        /* 15 */
		       "function = charge\n" /* 16 */
		       "chip = gpiochip0\n"  /* 17 */
		       "[output e]\n"        /* 18 */
		       "offset = 7\n"        /* 19 */
		       "function = charge\n" /* 20 */
		       "[output f]\n"        /* 21 */
		       "line = GPIO8\n"      /* 22 */
		       "[input remote]\n"    /* 23 */
		       "debounce = 10ms\n",  /* 24 */
		7,
		"t.conf:4: [output a] has no line (required): give line = "
		"NAME, or chip = CHIP and offset = N\n"
		"t.conf:8: line: [output b] also has chip: give either "
		"line, or chip and offset\n"
		"t.conf:14: line: [output c] also has offset: give either "
		"line, or chip and offset\n"
		"t.conf:17: chip: [output d] has no offset (give both)\n"
		"t.conf:19: offset: [output e] has no chip (give both)\n"
		"t.conf:21: [output f] has no function (required)\n"
		"t.conf:23: [input remote] has no line (required): give "
		"line = NAME, or chip = CHIP and offset = N\n");
}
END_TEST

/* Not allowed must release an open-drain or open-source line. */
START_TEST(drive_and_active_low)
{
	struct cfg c;

	expect_errors(PORT_A "[output a]\n"
			     "function = load\n"
			     "line = GPIO5\n"
			     "drive = open-drain\n" /* 7 */
			     "[output b]\n"
			     "function = charge\n"
			     "drive = open-source\n" /* 10 */
			     "line = GPIO6\n"
			     "active_low = yes\n",
		      2,
		      "t.conf:7: drive: an open-drain line is released only at "
		      "the high level: set active_low = yes, or [output a] "
		      "would be driven low when not active\n"
		      "t.conf:10: drive: an open-source line is released only "
		      "at the low level: set active_low = no, or [output b] "
		      "would be driven high when not active\n");
	expect_valid(&c, PORT_A "[output a]\nfunction = load\nline = GPIO5\n"
				"drive = open-drain\nactive_low = yes\n"
				"[output b]\nfunction = charge\nline = GPIO6\n"
				"drive = open-source\nactive_low = no\n"
				"[output c]\nfunction = prealarm\n"
				"line = GPIO7\nactive_low = yes\n");
	ck_assert_int_eq(c.outputs[0].line.drive, GPIO_DRIVE_OPEN_DRAIN);
	ck_assert_int_eq(c.outputs[1].line.drive, GPIO_DRIVE_OPEN_SOURCE);
	ck_assert_int_eq(c.outputs[2].line.drive, GPIO_DRIVE_PUSH_PULL);
	ck_assert(c.outputs[2].line.active_low);
}
END_TEST

START_TEST(line_used_twice)
{
	struct cfg c;

	expect_errors(
		PORT_A "[output a]\n"            /* 4 */
		       "function = load\n"       /* 5 */
		       "line = GPIO17\n"         /* 6 */
		       "[output b]\n"            /* 7 */
		       "function = charge\n"     /* 8 */
		       "line = GPIO17\n"         /* 9 */
		       "[output c]\n"            /* 10 */
		       "function = prealarm\n"   /* 11 */
		       "offset = 4\n"            /* 12 */
		       "chip = /dev/gpiochip0\n" /* 13 */
		       "[output d]\n"            /* 14 */
		       "function = error-led\n"  /* 15 */
		       "chip = gpiochip0\n"      /* 16 */
		       "offset = 4\n"            /* 17 */
		       "[input remote]\n"        /* 18 */
		       "line = GPIO17\n",        /* 19 */
		3,
		"t.conf:9: line: GPIO17 is already used by [output a]\n"
		"t.conf:16: chip: gpiochip0 offset 4 is already used by "
		"[output c]\n"
		"t.conf:19: line: GPIO17 is already used by [output a]\n");
	/* Other offsets, other chips, names that differ only in case. */
	expect_valid(&c,
		     PORT_A "[output a]\nfunction = load\nline = GPIO17\n"
			    "[output b]\nfunction = load\nline = gpio17\n"
			    "[output c]\nfunction = load\nchip = gpiochip0\n"
			    "offset = 4\n"
			    "[output d]\nfunction = load\nchip = gpiochip1\n"
			    "offset = 4\n"
			    "[input remote]\nchip = gpiochip0\noffset = 5\n");
	ck_assert_uint_eq(c.noutputs, 4);
}
END_TEST

/* Output errors are found with or without a port section. */
START_TEST(outputs_checked_without_port)
{
	expect_errors(
		"[output a]\nfunction = load\n", 2,
		"t.conf: no [port NAME] section: at least one battery "
		"port is required\n"
		"t.conf:1: [output a] has no line (required): give line = "
		"NAME, or chip = CHIP and offset = N\n");
}
END_TEST

/* ---- [protection] --------------------------------------------------------- */

/* The protection rows of cfg_print_keys(): key, default, range. */
struct prot_row {
	char key[64], def[32], min[32], max[32];
};

static size_t section_rows(const char *want, struct prot_row *rows, size_t max)
{
	char *out = NULL, *line, *save = NULL;
	size_t len, n = 0;
	FILE *f = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(f);
	cfg_print_keys(f);
	fclose(f);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char sect[32], type[32], range[64], *dots;

		ck_assert_int_eq(sscanf(line, "%31[^\t]\t", sect), 1);
		if (strcmp(sect, want) != 0)
			continue;
		ck_assert_uint_lt(n, max);
		ck_assert_int_eq(sscanf(line,
					"%31[^\t]\t%63[^\t]\t%31[^\t]\t%31[^\t]"
					"\t%63[^\t]\t",
					sect, rows[n].key, type, rows[n].def,
					range),
				 5);
		rows[n].min[0] = rows[n].max[0] = '\0';
		dots = strstr(range, "..");
		if (dots) {
			snprintf(rows[n].min, sizeof(rows[n].min), "%.*s",
				 (int)(dots - range), range);
			snprintf(rows[n].max, sizeof(rows[n].max), "%s",
				 dots + 2);
		}
		n++;
	}
	free(out);
	return n;
}

static size_t protection_rows(struct prot_row *rows, size_t max)
{
	return section_rows("protection", rows, max);
}

/*
 * [limits]: the documented defaults are limits_settings_default()'s, and a
 * [can] section needs an interface and a known profile; the limits must act
 * inside the [protection] cell limits.
 */
START_TEST(limits_documented_defaults_are_engine_defaults)
{
	struct prot_row rows[32];
	size_t nrows = section_rows("limits", rows, 32), n;
	struct limits_settings def;
	char text[4096];
	struct cfg c;

	ck_assert_uint_eq(nrows, 18);
	n = (size_t)snprintf(text, sizeof(text), PORT_A "[limits]\n");
	for (size_t i = 0; i < nrows; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s = %s\n",
				      rows[i].key, rows[i].def);
	ck_assert_uint_lt(n, sizeof(text));
	expect_valid(&c, text);
	limits_settings_default(&def);
	ck_assert_mem_eq(&c.limits, &def, sizeof(def));
	ck_assert(!c.have_can);
}
END_TEST

START_TEST(can_section_checked)
{
	struct cfg c;
	struct result r;

	expect_valid(&c,
		     PORT_A "[can]\ninterface = vcan0\nprofile = victron\n");
	ck_assert(c.have_can);
	ck_assert_str_eq(c.can_interface, "vcan0");
	ck_assert_str_eq(c.can_profile, "victron");
	r = load(&c, PORT_A "[can]\nprofile = sma\n");
	ck_assert_str_eq(r.errs,
			 "t.conf:4: [can] has no interface (required)\n");
	free(r.errs);
	r = load(&c, PORT_A "[can]\ninterface = can0\nprofile = deye\n");
	ck_assert_str_eq(r.errs, "t.conf:6: profile: unknown 'deye' "
				 "(pylontech, victron or sma)\n");
	free(r.errs);
	r = load(&c, PORT_A "[limits]\ncell_target = 3.70V\n"
			    "[protection]\ncell_overvoltage = 3.65V\n"
			    "cell_overvoltage_recover = 3.50V\n");
	ck_assert_str_eq(r.errs,
			 "t.conf:4: [limits] cell_target (3.700 V) must be "
			 "below [protection] cell_overvoltage (3.650 V)\n");
	free(r.errs);
	r = load(&c, PORT_A "[limits]\nfloat_voltage = 3.50V\n");
	ck_assert_str_eq(r.errs, "t.conf:4: [limits] float_voltage (3.500) "
				 "must be below charge_voltage (3.450)\n");
	free(r.errs);
	r = load(&c, PORT_A "[can]\ninterface = can0\n[can]\n");
	ck_assert_str_eq(r.errs,
			 "t.conf:6: duplicate [can] (first at line 4)\n");
	free(r.errs);
}
END_TEST

/*
 * The defaults the documentation shows are guard_settings_default()'s:
 * every documented default, written into a file, gives exactly them.
 */
START_TEST(protection_documented_defaults_are_guard_defaults)
{
	struct prot_row rows[32];
	size_t nrows = protection_rows(rows, 32), n;
	char text[4096];
	struct cfg c;

	/* one per field of guard_settings but the three run-time settings */
	ck_assert_uint_eq(nrows, 22);
	n = (size_t)snprintf(text, sizeof(text), PORT_A "[protection]\n");
	for (size_t i = 0; i < nrows; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s = %s\n",
				      rows[i].key, rows[i].def);
	ck_assert_uint_lt(n, sizeof(text));
	expect_valid(&c, text);
	assert_guard_defaults(&c.protection);
}
END_TEST

/*
 * Both ends of every documented range are accepted as values of the key
 * (ranges are inclusive); the combination may still be refused as a whole,
 * at the section line -- never as a bad value.
 */
START_TEST(protection_range_bounds_accepted)
{
	struct prot_row rows[32];
	size_t nrows = protection_rows(rows, 32);
	char text[256];
	struct cfg c;

	for (size_t i = 0; i < nrows; i++) {
		const char *bound[2] = {rows[i].min, rows[i].max};

		if (!rows[i].min[0])
			continue; /* prealarm_mode: words */
		for (int b = 0; b < 2; b++) {
			struct result r;

			snprintf(text, sizeof(text),
				 PORT_A "[protection]\n%.63s = %.31s\n",
				 rows[i].key, bound[b]);
			r = load(&c, text);
			/* a rule between keys: at the key's line */
			if (r.n)
				ck_assert_msg(strncmp(r.errs,
						      "t.conf:5: [protection] ",
						      23) == 0 &&
						      r.n == 1,
					      "%s = %s: %s", rows[i].key,
					      bound[b], r.errs);
			free(r.errs);
		}
	}
}
END_TEST

START_TEST(protection_values)
{
	static const char text[] = PORT_A /* 1-3 */
		"[protection]\n"          /* 4 */
		"cell_undervoltage = 2.9\n"
		"cell_recover = 3.25V\n"
		"charge_detect_current = 1.25A\n"
		"prealarm_lead = 45s\n"
		"cell_undervoltage_hard = 2.6V\n"
		"prealarm_hysteresis = 0.1V\n"
		"soc_warning_hysteresis = 2.5%\n"
		"prealarm_mode = intermittent\n"
		"prealarm_on = 500ms\n"
		"prealarm_off = 1.5s\n"
		"floor_hysteresis = 5\n"
		"cell_overvoltage = 3.65V\n"
		"cell_overvoltage_recover = 3.45\n"
		"charge_temp_low = 2\xC2\xB0"
		"C\n"
		"charge_temp_high = 45C\n"
		"temp_hysteresis = 3.5\n"
		"comm_loss_charge = 3s\n"
		"comm_loss_load = 2m\n"
		"restore_delay = 1s\n"
		"undervoltage_hysteresis = 0.15\n"
		"charge_detect_time = 30s\n"
		"max_cycles_per_hour = 4\n";
	struct cfg c;
	const struct guard_settings *g = &c.protection;

	expect_valid(&c, text);
	ck_assert_double_eq(g->cell_undervoltage, 2.9);
	ck_assert_double_eq(g->cell_recover, 3.25);
	ck_assert_double_eq(g->charge_detect_current, 1.25);
	ck_assert_uint_eq(g->prealarm_lead_us, 45000000);
	ck_assert_double_eq(g->cell_undervoltage_hard, 2.6);
	ck_assert_double_eq(g->prealarm_cell, 3.10); /* a run-time setting */
	ck_assert_double_eq(g->prealarm_hysteresis, 0.1);
	ck_assert_double_eq(g->soc_warning_hysteresis, 2.5);
	ck_assert_int_eq(g->prealarm_mode, GUARD_PREALARM_INTERMITTENT);
	ck_assert_uint_eq(g->prealarm_on_us, 500000);
	ck_assert_uint_eq(g->prealarm_off_us, 1500000);
	ck_assert_double_eq(g->floor_hysteresis, 5.0);
	ck_assert_double_eq(g->cell_overvoltage, 3.65);
	ck_assert_double_eq(g->cell_overvoltage_recover, 3.45);
	ck_assert_double_eq(g->charge_temp_low, 2.0);
	ck_assert_double_eq(g->charge_temp_high, 45.0);
	ck_assert_double_eq(g->temp_hysteresis, 3.5);
	ck_assert_uint_eq(g->comm_loss_charge_us, 3000000);
	ck_assert_uint_eq(g->comm_loss_load_us, 120000000);
	ck_assert_uint_eq(g->restore_delay_us, 1000000);
	ck_assert_double_eq(g->undervoltage_hysteresis, 0.15);
	ck_assert_uint_eq(g->charge_detect_us, 30000000);
	ck_assert_uint_eq(g->max_cycles_per_hour, 4);

	/* A few keys: the others keep their defaults. "-0" is plain 0. */
	expect_valid(&c, PORT_A "[protection]\ncharge_temp_low = -0\n"
				"comm_loss_load = 5m\n");
	ck_assert_double_eq(g->charge_temp_low, 0.0);
	ck_assert(!signbit(g->charge_temp_low));
	ck_assert_uint_eq(g->comm_loss_load_us, 300000000ULL);
	ck_assert_double_eq(g->cell_undervoltage, 2.80);
	ck_assert_uint_eq(g->restore_delay_us, 5000000);
}
END_TEST

START_TEST(prealarm_modes)
{
	static const struct {
		const char *word;
		enum guard_prealarm_mode mode;
	} ok[] = {
		{"continuous", GUARD_PREALARM_CONTINUOUS},
		{"intermittent", GUARD_PREALARM_INTERMITTENT},
		{"Intermittent", GUARD_PREALARM_INTERMITTENT},
		{"CONTINUOUS", GUARD_PREALARM_CONTINUOUS},
	};
	static const char *const bad[] = {"blink", "", "intermittent2",
					  "continuous-intermittent"};
	char text[256], want[256];
	struct cfg c;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text),
			 PORT_A "[protection]\nprealarm_mode = %s\n",
			 ok[i].word);
		expect_valid(&c, text);
		ck_assert_int_eq(c.protection.prealarm_mode, ok[i].mode);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
			 PORT_A "[protection]\nprealarm_mode = %s\n", bad[i]);
		snprintf(want, sizeof(want),
			 "t.conf:5: prealarm_mode: '%s' is not a pre-alarm "
			 "mode (continuous, intermittent)\n",
			 bad[i]);
		expect_errors(text, 1, want);
	}
}
END_TEST

/* One bad [protection] value: one error on its line (6), and no
 * whole-section complaint about the default standing in for it. */
static const struct bad_value bad_protection_values[] = {
	{"cell_undervoltage", "abc",
	 "cell_undervoltage: 'abc' is not a number (e.g. 2.80 or 2.80V)"},
	{"cell_undervoltage", "",
	 "cell_undervoltage: '' is not a number (e.g. 2.80 or 2.80V)"},
	{"cell_undervoltage", "2,80",
	 "cell_undervoltage: '2,80' is not a number (e.g. 2.80 or 2.80V)"},
	{"cell_undervoltage", "2.80 V",
	 "cell_undervoltage: '2.80 V' is not a number (e.g. 2.80 or 2.80V)"},
	{"cell_undervoltage", ".8",
	 "cell_undervoltage: '.8' is not a number (e.g. 2.80 or 2.80V)"},
	{"cell_undervoltage", "2.",
	 "cell_undervoltage: '2.' is not a number (e.g. 2.80 or 2.80V)"},
	{"cell_undervoltage", "+2.8",
	 "cell_undervoltage: '+2.8' is not a number (e.g. 2.80 or 2.80V)"},
	{"cell_undervoltage", "2e0",
	 "cell_undervoltage: '2e0' is not a number (e.g. 2.80 or 2.80V)"},
	{"cell_undervoltage", "nan",
	 "cell_undervoltage: 'nan' is not a number (e.g. 2.80 or 2.80V)"},
	{"cell_undervoltage", "2.8.1",
	 "cell_undervoltage: '2.8.1' is not a number (e.g. 2.80 or 2.80V)"},
	{"cell_undervoltage", "2.8A",
	 "cell_undervoltage: '2.8A': the unit is V (or leave the unit out)"},
	{"cell_undervoltage", "2800mV",
	 "cell_undervoltage: '2800mV': the unit is V (or leave the unit out)"},
	{"cell_undervoltage", "2.8v",
	 "cell_undervoltage: '2.8v': the unit is V (or leave the unit out)"},
	{"cell_undervoltage", "2.8VV",
	 "cell_undervoltage: '2.8VV': the unit is V (or leave the unit out)"},
	{"cell_undervoltage", "1.99",
	 "cell_undervoltage: '1.99' is out of range (2.00V..3.00V)"},
	{"cell_undervoltage", "4.001V",
	 "cell_undervoltage: '4.001V' is out of range (2.00V..3.00V)"},
	{"cell_undervoltage", "3.01",
	 "cell_undervoltage: '3.01' is out of range (2.00V..3.00V)"},
	{"cell_undervoltage", "-3",
	 "cell_undervoltage: '-3' is out of range (2.00V..3.00V)"},
	{"cell_undervoltage", "99999999999999999999",
	 "cell_undervoltage: '99999999999999999999' is out of range "
	 "(2.00V..3.00V)"},
	{"cell_undervoltage", "2.8000001",
	 "cell_undervoltage: '2.8000001' has more than 6 decimals"},
	{"cell_recover", "4.5",
	 "cell_recover: '4.5' is out of range "
	 "(2.00V..4.00V)"},
	{"charge_detect_current", "-0.1A",
	 "charge_detect_current: '-0.1A' is out of range (0A..100A)"},
	{"charge_detect_current", "100.5",
	 "charge_detect_current: '100.5' is out of range (0A..100A)"},
	{"charge_detect_current", "0.5V",
	 "charge_detect_current: '0.5V': the unit is A (or leave the unit "
	 "out)"},
	{"prealarm_lead", "30",
	 "prealarm_lead: '30' has no unit: add a unit: ms, s, m or h"},
	{"prealarm_lead", "11m",
	 "prealarm_lead: '11m' is out of range (30s..10m)"},
	{"prealarm_lead", "0s",
	 "prealarm_lead: '0s' is out of range (30s..10m)"},
	{"prealarm_lead", "29.999s",
	 "prealarm_lead: '29.999s' is out of range (30s..10m)"},
	{"prealarm_lead", "-1s",
	 "prealarm_lead: '-1s' is not a duration (e.g. 500ms, 2s, 1m)"},
	{"prealarm_cell", "3.10V",
	 "prealarm_cell is a run-time setting, not a [protection] key: "
	 "smallbmsctl set prealarm_cell VALUE"},
	{"cell_undervoltage_hard", "3.01",
	 "cell_undervoltage_hard: '3.01' is out of range (0V..3.00V)"},
	{"undervoltage_hysteresis", "0.04",
	 "undervoltage_hysteresis: '0.04' is out of range (0.05V..0.40V)"},
	{"charge_detect_time", "0s",
	 "charge_detect_time: '0s' is out of range (1s..10m)"},
	{"max_cycles_per_hour", "0",
	 "max_cycles_per_hour: '0' is out of range (1..60)"},
	{"max_cycles_per_hour", "61",
	 "max_cycles_per_hour: '61' is out of range (1..60)"},
	{"prealarm_hysteresis", "0.51",
	 "prealarm_hysteresis: '0.51' is out of range (0V..0.50V)"},
	{"prealarm_hysteresis", "-0.01",
	 "prealarm_hysteresis: '-0.01' is out of range (0V..0.50V)"},
	{"soc_warning_hysteresis", "21%",
	 "soc_warning_hysteresis: '21%' is out of range (0%..20%)"},
	{"soc_warning_hysteresis", "1 %",
	 "soc_warning_hysteresis: '1 %' is not a number (e.g. 1 or 1%)"},
	{"prealarm_mode", "on",
	 "prealarm_mode: 'on' is not a pre-alarm mode (continuous, "
	 "intermittent)"},
	{"prealarm_on", "99ms",
	 "prealarm_on: '99ms' is out of range (100ms..60s)"},
	{"prealarm_on", "0s", "prealarm_on: '0s' is out of range (100ms..60s)"},
	{"prealarm_off", "61s",
	 "prealarm_off: '61s' is out of range (100ms..60s)"},
	{"prealarm_off", "1",
	 "prealarm_off: '1' has no unit: add a unit: ms, "
	 "s, m or h"},
	{"floor_hysteresis", "20.5",
	 "floor_hysteresis: '20.5' is out of range (0%..20%)"},
	{"floor_hysteresis", "3A",
	 "floor_hysteresis: '3A': the unit is % (or leave the unit out)"},
	{"cell_overvoltage", "4.00V",
	 "cell_overvoltage: '4.00V' is out of range (3.40V..3.80V)"},
	{"cell_overvoltage", "3.81",
	 "cell_overvoltage: '3.81' is out of range (3.40V..3.80V)"},
	{"cell_overvoltage_recover", "x",
	 "cell_overvoltage_recover: 'x' is not a number (e.g. 3.55 or "
	 "3.55V)"},
	{"charge_temp_low", "-40C",
	 "charge_temp_low: '-40C' is out of range (0C..40C)"},
	{"charge_temp_low", "-0.1",
	 "charge_temp_low: '-0.1' is out of range (0C..40C)"},
	{"charge_temp_low", "5F",
	 "charge_temp_low: '5F': the unit is C (or leave the unit out)"},
	{"charge_temp_low",
	 "5\xC2\xB0"
	 "F",
	 "charge_temp_low: '5\xC2\xB0"
	 "F': the unit is C (or leave the unit out)"},
	{"charge_temp_low", "--5",
	 "charge_temp_low: '--5' is not a number (e.g. 5 or 5C)"},
	{"charge_temp_high", "60.1",
	 "charge_temp_high: '60.1' is out of range (10C..60C)"},
	{"temp_hysteresis", "-1",
	 "temp_hysteresis: '-1' is out of range (0C..20C)"},
	{"comm_loss_charge", "999ms",
	 "comm_loss_charge: '999ms' is out of range (1s..60s)"},
	{"comm_loss_charge", "0s",
	 "comm_loss_charge: '0s' is out of range (1s..60s)"},
	{"comm_loss_charge", "1h",
	 "comm_loss_charge: '1h' is out of range (1s..60s)"},
	{"comm_loss_load", "301s",
	 "comm_loss_load: '301s' is out of range (1s..300s)"},
	{"comm_loss_load", "2 m",
	 "comm_loss_load: '2 m' is not a duration (e.g. 500ms, 2s, 1m)"},
	{"restore_delay", "1.5ms",
	 "restore_delay: '1.5ms' is not a whole number of milliseconds"},
	{"restore_delay", "601s",
	 "restore_delay: '601s' is out of range (1s..10m)"},
	{"restore_delay", "0s",
	 "restore_delay: '0s' is out of range (1s..10m)"},
};

START_TEST(bad_protection_value_one_error_on_its_line)
{
	const struct bad_value *b = &bad_protection_values[_i];
	char text[512], want[512];

	/* cell_recover = 2.90 with cell_undervoltage refused would make a
	 * whole-section error if the default stood in for the bad value. */
	snprintf(text, sizeof(text), PORT_A "[protection]\n%s\n%s = %s\n",
		 strcmp(b->key, "cell_recover") ? "cell_recover = 2.90"
						: "# cell_recover below",
		 b->key, b->value);
	snprintf(want, sizeof(want), "t.conf:6: %s\n", b->message);
	expect_errors(text, 1, want);
}
END_TEST

/* The rules between keys (guard_settings_check with the run-time
 * settings' defaults), at the line of the key the rule names last. */
START_TEST(protection_checked_as_a_whole)
{
	struct cfg c;

	expect_errors("[general]\nseries = 1\n" PORT_A "[protection]\n"
		      "cell_undervoltage = 3.0\n"
		      "cell_recover = 2.9V\n",
		      1,
		      "t.conf:8: [protection] cell_undervoltage (3.00 V) + "
		      "undervoltage_hysteresis (0.10 V) must be at most "
		      "cell_recover (2.90 V)\n");
	/* the run-time pre-alarm level (3.10 V by default) must stay at
	 * least 0.10 V above the cutoff: the bound of cell_undervoltage
	 * (3.00 V) keeps it so */
	expect_valid(&c, PORT_A "[protection]\n"
				"cell_undervoltage = 3.00\n");
	expect_errors(PORT_A "[protection]\n"
			     "cell_overvoltage = 3.50V\n",
		      1,
		      "t.conf:5: [protection] cell_overvoltage_recover (3.55 "
		      "V) must be below cell_overvoltage (3.50 V)\n");
	expect_errors(PORT_A "[protection]\n"
			     "charge_temp_low = 30C\n"
			     "charge_temp_high = 33C\n",
		      1,
		      "t.conf:6: [protection] charge_temp_low + "
		      "temp_hysteresis (32.00 C) must be below "
		      "charge_temp_high - temp_hysteresis (31.00 C)\n");
	expect_errors(PORT_A "[protection]\n"
			     "cell_undervoltage = 2.40\n",
		      1,
		      "t.conf:5: [protection] cell_undervoltage_hard (2.50 V) "
		      "must be below cell_undervoltage (2.40 V): the hard "
		      "cutoff is the last resort below the ordinary one\n");
	expect_valid(&c, PORT_A "[protection]\n"
				"cell_undervoltage = 2.40\n"
				"cell_undervoltage_hard = 0\n");
	/* The order across keys does not matter, only the final values. */
	expect_valid(&c, PORT_A "[protection]\n"
				"cell_overvoltage_recover = 3.30\n"
				"cell_recover = 3.00\n"
				"cell_overvoltage = 3.40\n"
				"cell_undervoltage_hard = 2.2\n"
				"cell_undervoltage = 2.5\n");
	ck_assert_double_eq(c.protection.cell_overvoltage_recover, 3.30);
	/* A refused key: its own error only, none for the section. */
	expect_errors(PORT_A "[protection]\n"
			     "cell_undervoltage = 3.0\n"
			     "cell_recover = 3.0X\n",
		      1,
		      "t.conf:6: cell_recover: '3.0X': the unit is V (or "
		      "leave the unit out)\n");
	/* So does a line lost to a syntax error. */
	expect_errors(PORT_A "[protection]\n"
			     "cell_undervoltage = 3.0\n"
			     "cell_recover 3.5\n",
		      1,
		      "t.conf:6: syntax error: expected 'key = value' or "
		      "[section]\n");
}
END_TEST

START_TEST(protection_section_errors)
{
	expect_errors(PORT_A "[protection]\n" /* 4 */
			     "restore_delay = 2s\n"
			     "restore_delay = 3s\n" /* 6 */
			     "prealarm = 3.1\n"     /* 7 */
			     "[protection]\n"       /* 8 */
			     "cell_recover = 2.0\n" /* 9: ignored */
			     "[protection x]\n"     /* 10 */
			     "[general]\n"
			     "cell_recover = 3.3\n", /* 12 */
		      5,
		      "t.conf:6: restore_delay: already set at line 5\n"
		      "t.conf:7: unknown key 'prealarm' in [protection]\n"
		      "t.conf:8: duplicate [protection] (first at line 4)\n"
		      "t.conf:10: unknown section [protection x]\n"
		      "t.conf:12: unknown key 'cell_recover' in [general]\n");
}
END_TEST

/* ---- [metrics] ---------------------------------------------------------- */

START_TEST(metrics_section)
{
	struct cfg c;

	expect_valid(&c, PORT_A);
	ck_assert_str_eq(c.metrics.textfile, "");
	ck_assert_uint_eq(c.metrics.interval_ms, 15000);
	expect_valid(&c, PORT_A "[metrics]\n"
				"textfile = /run/smallbms/smallbms.prom\n"
				"interval = 5s\n");
	ck_assert_str_eq(c.metrics.textfile, "/run/smallbms/smallbms.prom");
	ck_assert_uint_eq(c.metrics.interval_ms, 5000);
	expect_errors(PORT_A "[metrics]\n"                /* 4 */
			     "textfile = /run/x.txt\n"    /* 5 */
			     "interval = 500ms\n"         /* 6 */
			     "[metrics]\n"                /* 7 */
			     "textfile = relative.prom\n" /* 8: ignored */
			     "[general]\n"
			     "[metrics]\n" /* 10 */,
		      4,
		      "t.conf:6: interval: '500ms' is out of range (1s..10m)\n"
		      "t.conf:7: duplicate [metrics] (first at line 4)\n"
		      "t.conf:10: duplicate [metrics] (first at line 4)\n"
		      "t.conf:5: textfile: /run/x.txt does not end in .prom "
		      "(node-exporter's textfile collector reads only *.prom "
		      "files)\n");
	expect_errors(PORT_A "[metrics]\ntextfile = x.prom\n", 1,
		      "t.conf:5: textfile: 'x.prom' is not an absolute path "
		      "(it must start with /)\n");
}
END_TEST

/* ---- [general] admin_group ------------------------------------------------ */

START_TEST(admin_group)
{
	static const char *const ok[] = {"wheel", "_bms", "BMS-Admins_2",
					 "a2345678901234567890123456789012"};
	char text[256];
	struct cfg c;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text),
			 PORT_A "[general]\nadmin_group = %s\n", ok[i]);
		expect_valid(&c, text);
		ck_assert_str_eq(c.admin_group, ok[i]);
	}
}
END_TEST

/* ---- [port] usb_serial, device = tcp://HOST:PORT ------------------------- */

START_TEST(usb_serial)
{
	struct cfg c;

	expect_valid(&c, "[port a]\nusb_serial = A10K2B3C\nprotocol = jbd\n"
			 "[port b]\nprotocol = jbd\n"
			 "usb_serial = FT 232 #2\n"
			 "[port c]\ndevice = /dev/ttyUSB0\nprotocol = jbd\n");
	ck_assert_uint_eq(c.nports, 3);
	ck_assert_str_eq(c.ports[0].usb_serial, "A10K2B3C");
	ck_assert_str_eq(c.ports[0].device, "");
	ck_assert_str_eq(c.ports[1].usb_serial, "FT 232 #2");
	ck_assert_str_eq(c.ports[2].usb_serial, "");
	ck_assert_str_eq(c.ports[2].device, "/dev/ttyUSB0");
}
END_TEST

START_TEST(usb_serial_or_device)
{
	expect_errors(
		"[general]\n"                    /* 1 */
		"series = 1\n"                   /* 2 */
		"[port a]\n"                     /* 3 */
		"device = /dev/ttyUSB0\n"        /* 4 */
		"protocol = jbd\n"               /* 5 */
		"usb_serial = A10K2B3C\n"        /* 6 */
		"[port b]\n"                     /* 7 */
		"protocol = jbd\n"               /* 8 */
		"[port c]\n"                     /* 9 */
		"usb_serial = A10K2B3C\n"        /* 10 */
		"protocol = jbd\n"               /* 11 */
		"[port d]\n"                     /* 12 */
		"usb_serial = B7\n"              /* 13 */
		"device = tcp://10.0.0.5:4196\n" /* 14 */
		"protocol = jbd\n",              /* 15 */
		4,
		"t.conf:3: [port a] has both device and usb_serial: give "
		"only one\n"
		"t.conf:7: [port b] has no device and no usb_serial (one "
		"is required)\n"
		"t.conf:10: usb_serial: 'A10K2B3C' is already used by "
		"[port a]\n"
		"t.conf:12: [port d] has both device and usb_serial: give "
		"only one\n");
	/* A refused value still counts as given: no second error. */
	expect_errors("[port a]\nprotocol = jbd\ndevice = dev/ttyUSB0\n", 1,
		      "t.conf:3: device: 'dev/ttyUSB0' is neither an absolute "
		      "path (/dev/...) nor tcp://HOST:PORT\n");
}
END_TEST

START_TEST(tcp_devices)
{
	static const char *const ok[] = {
		"tcp://192.168.1.50:8899",
		"tcp://10.0.0.1:1",
		"tcp://[::1]:502",
		"tcp://[2001:db8::5]:65535",
		"tcp://[::ffff:192.168.1.2]:4196",
		"tcp://10.0.0.5:08899",
	};
	char text[512];
	struct cfg c;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text),
			 "[port a]\nprotocol = jbd\ndevice = %s\n", ok[i]);
		expect_valid(&c, text);
		ck_assert_str_eq(c.ports[0].device, ok[i]);
	}
	/* Duplicates are compared as text. */
	expect_errors("[port a]\ndevice = tcp://10.0.0.5:4196\nprotocol = jbd\n"
		      "[port b]\ndevice = tcp://10.0.0.5:4197\nprotocol = jbd\n"
		      "[port c]\ndevice = tcp://10.0.0.5:4196\nprotocol = "
		      "jbd\n",
		      1,
		      "t.conf:8: device: 'tcp://10.0.0.5:4196' is already used "
		      "by [port a]\n");
}
END_TEST

#define NAMES                                                                  \
	"' is not an IP address (host names are not looked up, so that no "    \
	"DNS query can stall the daemon: write the gateway's address, e.g. "   \
	"tcp://192.168.1.50:8899)"

struct bad_spec {
	const char *spec;
	const char *message; /* after "device: " */
};

static const struct bad_spec bad_tcp[] = {
	{"tcp://", "'tcp://' has no host (e.g. tcp://192.168.1.50:8899)"},
	{"tcp://:502",
	 "'tcp://:502' has no host (e.g. tcp://192.168.1.50:8899)"},
	{"tcp://10.0.0.1",
	 "'tcp://10.0.0.1' has no port: write tcp://HOST:PORT "
	 "(e.g. tcp://192.168.1.50:8899)"},
	{"tcp://10.0.0.1:", "'tcp://10.0.0.1:' has no port: write "
			    "tcp://HOST:PORT (e.g. tcp://192.168.1.50:8899)"},
	{"tcp://10.0.0.1:0", "'tcp://10.0.0.1:0': port 0 is out of range "
			     "(1..65535)"},
	{"tcp://10.0.0.1:65536", "'tcp://10.0.0.1:65536': port 65536 is out "
				 "of range (1..65535)"},
	{"tcp://10.0.0.1:99999999999999999999999",
	 "'tcp://10.0.0.1:99999999999999999999999': port "
	 "99999999999999999999999 is out of range (1..65535)"},
	{"tcp://10.0.0.1:http", "'tcp://10.0.0.1:http': the port 'http' is "
				"not a number"},
	{"tcp://10.0.0.1:-1", "'tcp://10.0.0.1:-1': the port '-1' is not a "
			      "number"},
	{"tcp://10.0.0.1:502/x", "'tcp://10.0.0.1:502/x': the port '502/x' is "
				 "not a number"},
	{"tcp://::1:502", "'tcp://::1:502': write an IPv6 address in brackets: "
			  "tcp://[ADDRESS]:PORT"},
	{"tcp://[::1:502", "'tcp://[::1:502': missing ']' after the IPv6 "
			   "address"},
	{"tcp://[::1]", "'tcp://[::1]' has no port: write "
			"tcp://[ADDRESS]:PORT"},
	{"tcp://[::1]502", "'tcp://[::1]502' has no port: write "
			   "tcp://[ADDRESS]:PORT"},
	{"tcp://[]:502", "'tcp://[]:502' has no host (e.g. "
			 "tcp://192.168.1.50:8899)"},
	{"tcp://[zz]:502", "'tcp://[zz]:502': 'zz' is not an IPv6 address"},
	{"tcp://[10.0.0.1]:502", "'tcp://[10.0.0.1]:502': '10.0.0.1' is not "
				 "an IPv6 address"},
	{"tcp://256.1.1.1:502", "'tcp://256.1.1.1:502': '256.1.1.1' is not an "
				"IPv4 address"},
	{"tcp://10.0.0:502", "'tcp://10.0.0:502': '10.0.0' is not an IPv4 "
			     "address"},
	{"tcp://10.0.0.1.:502", "'tcp://10.0.0.1.:502': '10.0.0.1.' is not an "
				"IPv4 address"},
	/* Names, well formed or not, are refused: nothing is looked up. */
	{"tcp://gw_1:502", "'tcp://gw_1:502': 'gw_1" NAMES},
	{"tcp://-gw:502", "'tcp://-gw:502': '-gw" NAMES},
	{"tcp://gw-.lan:502", "'tcp://gw-.lan:502': 'gw-.lan" NAMES},
	{"tcp://gw..lan:502", "'tcp://gw..lan:502': 'gw..lan" NAMES},
	{"tcp://.gw:502", "'tcp://.gw:502': '.gw" NAMES},
	{"tcp://gw lan:502", "'tcp://gw lan:502': 'gw lan" NAMES},
	{"tcp://gateway:4196", "'tcp://gateway:4196': 'gateway" NAMES},
	{"tcp://rs485-gw.local:8899", "'tcp://rs485-gw.local:8899': "
				      "'rs485-gw.local" NAMES},
	{"tcp://gw", "'tcp://gw': 'gw" NAMES},
	{"TCP://gw:502", "'TCP://gw:502' is neither an absolute path "
			 "(/dev/...) nor tcp://HOST:PORT"},
	{"udp://gw:502", "'udp://gw:502' is neither an absolute path "
			 "(/dev/...) nor tcp://HOST:PORT"},
};

START_TEST(bad_tcp_device_one_error_on_its_line)
{
	const struct bad_spec *b = &bad_tcp[_i];
	char text[512], want[512];

	snprintf(text, sizeof(text),
		 "[general]\nseries = 1\n[port a]\nprotocol = jbd\ndevice = "
		 "%s\n",
		 b->spec);
	snprintf(want, sizeof(want), "t.conf:5: device: %s\n", b->message);
	expect_errors(text, 1, want);
}
END_TEST

/* A host name is refused however well formed (a 63-character label) and
 * however not (64): the parser never looks a name up. */
START_TEST(tcp_host_names_refused)
{
	char label[80], text[256], want[512];

	for (size_t len = 63; len <= 64; len++) {
		memset(label, 'a', len);
		label[len] = '\0';
		snprintf(text, sizeof(text),
			 "[port a]\nprotocol = jbd\ndevice = tcp://%s.lan:1\n",
			 label);
		snprintf(want, sizeof(want),
			 "t.conf:3: device: 'tcp://%s.lan:1': '%s.lan" NAMES
			 "\n",
			 label, label);
		expect_errors(text, 1, want);
	}
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, minimal_file_gets_defaults);
	tcase_add_test(tc, complete_file);
	tcase_add_loop_test(tc, bad_value_one_error_on_its_line, 0,
			    sizeof(bad_values) / sizeof(bad_values[0]));
	tcase_add_test(tc, durations);
	tcase_add_test(tc, booleans_and_levels);
	tcase_add_test(tc, several_errors_all_reported);
	tcase_add_test(tc, unknown_key_and_section);
	tcase_add_test(tc, key_outside_section_and_duplicate_key);
	tcase_add_test(tc, duplicate_port_name_and_device);
	tcase_add_test(tc, bad_port_sections);
	tcase_add_test(tc, missing_required_keys);
	tcase_add_test(tc, no_port);
	tcase_add_test(tc, addrlist_single_address);
	tcase_add_test(tc, addrlist_unaddressed_protocol);
	tcase_add_test(tc, series_multiple);
	tcase_add_test(tc, too_long_line);
	tcase_add_test(tc, error_leaves_config_untouched);
	tcase_add_test(tc, load_file);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, print_keys_lists_every_key);
	tcase_add_test(tc, outputs_and_remote);
	tcase_add_test(tc, remote_defaults);
	tcase_add_test(tc, function_names);
	tcase_add_loop_test(tc, bad_line_value_one_error_on_its_line, 0,
			    sizeof(bad_line_values) /
				    sizeof(bad_line_values[0]));
	tcase_add_test(tc, bad_output_and_input_sections);
	tcase_add_test(tc, line_forms);
	tcase_add_test(tc, drive_and_active_low);
	tcase_add_test(tc, line_used_twice);
	tcase_add_test(tc, outputs_checked_without_port);
	tcase_add_test(tc, protection_documented_defaults_are_guard_defaults);
	tcase_add_test(tc, limits_documented_defaults_are_engine_defaults);
	tcase_add_test(tc, can_section_checked);
	tcase_add_test(tc, protection_range_bounds_accepted);
	tcase_add_test(tc, protection_values);
	tcase_add_test(tc, prealarm_modes);
	tcase_add_loop_test(tc, bad_protection_value_one_error_on_its_line, 0,
			    sizeof(bad_protection_values) /
				    sizeof(bad_protection_values[0]));
	tcase_add_test(tc, protection_checked_as_a_whole);
	tcase_add_test(tc, protection_section_errors);
	tcase_add_test(tc, admin_group);
	tcase_add_test(tc, metrics_section);
	tcase_add_test(tc, usb_serial);
	tcase_add_test(tc, usb_serial_or_device);
	tcase_add_test(tc, tcp_devices);
	tcase_add_loop_test(tc, bad_tcp_device_one_error_on_its_line, 0,
			    sizeof(bad_tcp) / sizeof(bad_tcp[0]));
	tcase_add_test(tc, tcp_host_names_refused);
	/* These need a protocol with several batteries per port. */
	if (addressed_protocol()) {
		tcase_add_test(tc, addrlist_forms);
		tcase_add_test(tc, addrlist_scan);
		tcase_add_test(tc, battery_limit);
		tcase_add_test(tc, mqtt_section);
	} else {
		fprintf(stderr, "test_config: no addressed protocol is "
				"registered yet: addrlist_forms and "
				"battery_limit not run\n");
	}
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
