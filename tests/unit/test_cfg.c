/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for config.c: defaults, valid files, and every error with its
 * exact message and line. Errors are captured with open_memstream().
 * Protocols come from the real driver registry (driver.c).
 */
#include <check.h>
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
	ck_assert_int_eq(c.ports[0].line, 1);
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
	{"log_level", "loud",
	 "log_level: 'loud' is not a log level (err, warning, notice, info, "
	 "debug)"},
	{"device", "ttyUSB0",
	 "device: 'ttyUSB0' is not an absolute path (it must start with /)"},
	{"device", "/dev/tty\x01",
	 "device: value contains a control character"},
	{"protocol", "modbus", NULL /* built from drv_names() */},
	{"baud", "1199", "baud: '1199' is out of range (1200..921600)"},
	{"baud", "921601", "baud: '921601' is out of range (1200..921600)"},
	{"baud", "fast", "baud: 'fast' is not a whole number"},
	{"timeout", "19ms", "timeout: '19ms' is out of range (20ms..10s)"},
	{"timeout", "11s", "timeout: '11s' is out of range (20ms..10s)"},
	{"timeout", "1", "timeout: '1' has no unit: add a unit: ms, s, m or h"},
	{"addresses", "",
	 "addresses: '' is not an address list (e.g. 1, 1,2,5, 1-8 or "
	 "1,3-5)"},
	{"addresses", "a",
	 "addresses: 'a' is not an address list (e.g. 1, 1,2,5, 1-8 or "
	 "1,3-5)"},
	{"addresses", "1,,2",
	 "addresses: '1,,2' is not an address list (e.g. 1, 1,2,5, 1-8 or "
	 "1,3-5)"},
	{"addresses", "1,",
	 "addresses: '1,' is not an address list (e.g. 1, 1,2,5, 1-8 or "
	 "1,3-5)"},
	{"addresses", "1-",
	 "addresses: '1-' is not an address list (e.g. 1, 1,2,5, 1-8 or "
	 "1,3-5)"},
	{"addresses", "1;2",
	 "addresses: '1;2' is not an address list (e.g. 1, 1,2,5, 1-8 or "
	 "1,3-5)"},
	{"addresses", "255",
	 "addresses: '255': address 255 is out of range (0..254)"},
	{"addresses", "1-300",
	 "addresses: '1-300': address 300 is out of range (0..254)"},
	{"addresses", "5-3", "addresses: '5-3': range 5-3 is reversed"},
	{"addresses", "1,1", "addresses: '1,1': address 1 is listed twice"},
	{"addresses", "1,2-3,2",
	 "addresses: '1,2-3,2': address 2 is listed twice"},
	{"addresses", "0-64", "addresses: '0-64': more than 64 addresses"},
};

static bool is_port_key(const char *key)
{
	return strcmp(key, "device") == 0 || strcmp(key, "protocol") == 0 ||
	       strcmp(key, "baud") == 0 || strcmp(key, "timeout") == 0 ||
	       strcmp(key, "addresses") == 0;
}

START_TEST(bad_value_one_error_on_its_line)
{
	const struct bad_value *b = &bad_values[_i];
	char text[512], want[512];

	/* The bad line is line 6 in both layouts. */
	if (is_port_key(b->key))
		snprintf(text, sizeof(text),
			 "[general]\nseries = 1\n[port a]\n%s\n%s\n%s = %s\n",
			 strcmp(b->key, "device") ? "device = /dev/ttyUSB0"
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
		      "t.conf:4: [port b] has no device (required)\n"
		      "t.conf:4: [port b] has no protocol (required)\n"
		      "t.conf:6: [port c] has no protocol (required)\n"
		      "t.conf:8: [port d] has no device (required)\n"
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

START_TEST(addrlist_forms)
{
	const char *proto = addressed_protocol();
	char text[256];
	struct cfg c;

	ck_assert_ptr_nonnull(proto);
	snprintf(text, sizeof(text),
		 "[port a]\ndevice = /dev/ttyUSB0\nprotocol = %s\n"
		 "addresses = 1, 3 - 5,9\n",
		 proto);
	expect_valid(&c, text);
	ck_assert_uint_eq(c.ports[0].naddrs, 5);
	ck_assert_uint_eq(c.ports[0].addrs[0], 1);
	ck_assert_uint_eq(c.ports[0].addrs[1], 3);
	ck_assert_uint_eq(c.ports[0].addrs[2], 4);
	ck_assert_uint_eq(c.ports[0].addrs[3], 5);
	ck_assert_uint_eq(c.ports[0].addrs[4], 9);
	snprintf(text, sizeof(text),
		 "[port a]\ndevice = /dev/ttyUSB0\nprotocol = %s\n"
		 "addresses = 0-49\n",
		 proto);
	expect_valid(&c, text);
	ck_assert_uint_eq(c.ports[0].naddrs, 50);
	ck_assert_uint_eq(c.ports[0].addrs[49], 49);
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
	/* A port with an error makes the count meaningless: no more errors. */
	expect_errors("[general]\nseries = 2\n" PORT_A
		      "[port b]\ndevice = /dev/ttyUSB1\nprotocol = jbd\n"
		      "addresses = x\n",
		      1,
		      "t.conf:9: addresses: 'x' is not an address list (e.g. "
		      "1, 1,2,5, 1-8 or 1,3-5)\n");
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
		{"general", "poll_interval"}, {"general", "stale_after"},
		{"general", "series"},        {"general", "socket"},
		{"general", "state_dir"},     {"general", "dry_run"},
		{"general", "log_level"},     {"port", "device"},
		{"port", "protocol"},         {"port", "baud"},
		{"port", "timeout"},          {"port", "addresses"},
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
					 "port\tdevice\tpath\t(required)\t-\t"
					 "serial device; a /dev/serial/by-id/"
					 "... link is recommended");
		if (n == 9)
			ck_assert_str_eq(line,
					 "port\tbaud\tuint\t(protocol default)"
					 "\t1200..921600\tserial speed");
	}
	ck_assert_uint_eq(n, nwant);
	free(out);
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
	/* These need a protocol with several batteries per port. */
	if (addressed_protocol()) {
		tcase_add_test(tc, addrlist_forms);
		tcase_add_test(tc, battery_limit);
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
