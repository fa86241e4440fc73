/* SPDX-License-Identifier: MIT */
/*
 * cfg.c - /etc/smallbms/smallbms.conf: one table of keys, parsed with
 * inih.
 *
 * inih (r55, as Debian builds it) does not give the handler a line number
 * and returns only the first syntax error, so the file is fed to
 * ini_parse_stream() through our own reader. The reader counts lines,
 * rejects lines longer than inih's buffer, strips leading blanks (so inih
 * never joins an indented line to the previous value as a "continuation")
 * and follows the [section] headers itself: that gives the line of every
 * section, catches sections without any key (inih never calls the handler
 * for those) and reports every syntax error, not just the first.
 *
 * Why this reader rather than inih as it comes: the handler's line number
 * (INI_HANDLER_LINENO), the call on every new section
 * (INI_CALL_HANDLER_ON_NEW_SECTION) and no multi-line continuation
 * (INI_ALLOW_MULTILINE) are compile-time options of the library, and the
 * distributions build it without the first two and with the third. A
 * user's every error must name file and line, and an indented line must
 * not silently become part of the value above it: with the shared library
 * that takes this reader; the alternative, a private copy of inih built
 * our way, would no longer be the distribution's inih. inih still does
 * the lexing of every line: keys, values, comments, sections.
 *
 * The file is parsed into a scratch struct; the caller's struct is only
 * written when the whole file is valid, so a bad file is never half used.
 */
#include "cfg.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "can_frames.h"
#include "driver.h"
#include "number.h"
#include "settings.h"
#include "tcpaddr.h"
#include "wire.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

#define CFG_MAX_BATTERIES 50
#define CFG_MAX_ADDR      254

enum cfg_sect {
	SECT_GENERAL,
	SECT_PORT,
	SECT_OUTPUT,
	SECT_INPUT,
	SECT_PROTECTION,
	SECT_METRICS,
	SECT_CAN,
	SECT_LIMITS,
	SECT_MQTT,
};

enum cfg_type {
	T_DURATION, /* unsigned, milliseconds */
	T_UINT,     /* unsigned */
	T_BOOL,     /* bool */
	T_STRING,   /* char[size] */
	T_PATH,     /* char[size], absolute */
	T_LOGLEVEL, /* int, syslog priority */
	T_ADDRLIST, /* struct cfg_port naddrs + addrs */
	T_PROTOCOL, /* char[size], a name drv_find() knows */
	T_FUNCTION, /* enum cfg_output_function */
	T_LINENAME, /* char[size], a GPIO line name */
	T_CHIP,     /* char[size], a GPIO chip name or path */
	T_OFFSET,   /* int, a line offset on its chip */
	T_DRIVE,    /* enum gpio_drive */
	T_BIAS,     /* enum gpio_bias */
	T_DEBOUNCE, /* uint32_t microseconds, written as a duration */
	T_USEC,     /* uint64_t microseconds, written as a duration */
	T_DECIMAL,  /* double, in unit (an optional suffix of the value) */
	T_PREALARM, /* enum guard_prealarm_mode */
	T_GROUP,    /* char[size], a group name */
	T_DEVICE,   /* char[size], an absolute path or tcp://HOST:PORT */
	T_SIGN,     /* bool: current_sign, normal (false) or inverted */
};

struct cfg_key {
	enum cfg_sect sect;
	const char *key;
	enum cfg_type type;
	bool required;
	/* Default as it would be written in the file; NULL: required, or
	 * left 0 in the struct, which means "the protocol's default". */
	const char *def;
	/* For the documentation when def is NULL and the key is optional:
	 * what leaving it out means; NULL: "(protocol default)". */
	const char *unset;
	/* Inclusive range in the value's own syntax; NULL: none. */
	const char *min, *max;
	/* T_DECIMAL: "V", "A", "C" or "%", which the value may end with. */
	const char *unit;
	size_t off;  /* into struct cfg or struct cfg_port */
	size_t size; /* of that field, for the string types */
	const char *desc;
};

/* Key k of [general] stored in struct cfg member m; PORT: struct cfg_port;
 * OUTPUT: struct cfg_output; INPUT: struct cfg_input. */
#define GEN(k, m)                                                              \
	SECT_GENERAL, k, .off = offsetof(struct cfg, m),                       \
			 .size = sizeof(((struct cfg *)0)->m)
#define PORT(k, m)                                                             \
	SECT_PORT, k, .off = offsetof(struct cfg_port, m),                     \
		      .size = sizeof(((struct cfg_port *)0)->m)
#define OUTPUT(k, m)                                                           \
	SECT_OUTPUT, k, .off = offsetof(struct cfg_output, m),                 \
			.size = sizeof(((struct cfg_output *)0)->m)
#define INPUT(k, m)                                                            \
	SECT_INPUT, k, .off = offsetof(struct cfg_input, m),                   \
		       .size = sizeof(((struct cfg_input *)0)->m)
/* [protection]: struct guard_settings. */
#define PROT(k, m)                                                             \
	SECT_PROTECTION, k, .off = offsetof(struct guard_settings, m),         \
			    .size = sizeof(((struct guard_settings *)0)->m)
/* [metrics]: struct cfg_metrics. */
#define METRICS(k, m)                                                          \
	SECT_METRICS, k, .off = offsetof(struct cfg_metrics, m),               \
			 .size = sizeof(((struct cfg_metrics *)0)->m)
/* [can]: struct cfg; [limits]: struct limits_settings. */
#define CAN_(k, m)                                                             \
	SECT_CAN, k, .off = offsetof(struct cfg, m),                           \
		     .size = sizeof(((struct cfg *)0)->m)
#define LIM(k, m)                                                              \
	SECT_LIMITS, k, .off = offsetof(struct limits_settings, m),            \
			.size = sizeof(((struct limits_settings *)0)->m)
/* [mqtt]: struct cfg_mqtt. */
#define MQTT(k, m)                                                             \
	SECT_MQTT, k, .off = offsetof(struct cfg_mqtt, m),                     \
		      .size = sizeof(((struct cfg_mqtt *)0)->m)
/* Cell voltages: a LiFePO4 cell is empty well above 2 V and full below
 * 3.65 V; anything outside 2..4 V is a typing error. The keys whose
 * rules need tighter bounds for LiFePO4 (I6) have their own, with the
 * reason in smallbms.conf(5). */
#define CELL_V .type = T_DECIMAL, .unit = "V", .min = "2.00V", .max = "4.00V"
#define TEMP_C .type = T_DECIMAL, .unit = "C"

#define LINE_DESC                                                              \
	"GPIO line name, searched on every chip, e.g. GPIO17 (or give chip "   \
	"and offset)"
#define CHIP_DESC    "GPIO chip, e.g. gpiochip0 or /dev/gpiochip0 (with offset)"
#define OFFSET_DESC  "line offset on chip (with chip)"
#define ALOW_DESC    "the line is active (asserted) at the low level"
#define BIAS_DESC    "pull resistor inside the chip"
#define DEVICE_UNSET "(one of device and usb_serial is required)"

static const struct cfg_key keys[] = {
	{GEN("poll_interval", poll_interval_ms), .type = T_DURATION,
	 .def = "1s", .min = "100ms", .max = "60s",
	 .desc = "how often each battery is polled"},
	{GEN("stale_after", stale_after_ms), .type = T_DURATION, .def = "10s",
	 .min = "1s", .max = "1h",
	 .desc = "a battery without a complete reading this long is stale "
		 "(its data is not used)"},
	{GEN("series", series), .type = T_UINT, .def = "1", .min = "1",
	 .max = "50",
	 .desc = "batteries per series string (1 = all in parallel)"},
	{GEN("rescan_interval", rescan_interval_ms), .type = T_DURATION,
	 .def = "10m", .min = "10s", .max = "24h",
	 .desc = "on ports with addresses = scan, how often the addresses "
		 "without a battery are probed again"},
	{GEN("socket", socket_path), .type = T_PATH, .def = WIRE_DEFAULT_SOCKET,
	 .desc = "control socket for smallbmsctl"},
	{GEN("state_dir", state_dir), .type = T_PATH,
	 .def = LOCALSTATEDIR "/lib/smallbms",
	 .desc = "state directory (settings, state of charge, history)"},
	{GEN("dry_run", dry_run), .type = T_BOOL, .def = "no",
	 .desc = "outputs are computed and shown, never driven"},
	{GEN("dry_run_dir", dry_run_dir), .type = T_PATH,
	 .unset = "(none: memory only)",
	 .desc = "in dry-run mode, show every output as a file DIR/LINE "
		 "holding its physical level (1 or 0), and read every input "
		 "from such a file"},
	{GEN("log_level", log_level), .type = T_LOGLEVEL, .def = "info",
	 .desc = "most verbose message priority logged"},
	{GEN("admin_group", admin_group), .type = T_GROUP,
	 .def = "smallbms-admin",
	 .desc = "members of this group may change the daemon's state through "
		 "smallbmsctl (root always may)"},
	/* device or usb_serial: exactly one (check_link), so neither is
	 * .required. */
	{PORT("device", device), .type = T_DEVICE, .unset = DEVICE_UNSET,
	 .desc = "serial device (a /dev/serial/by-id/... link is recommended), "
		 "or tcp://HOST:PORT for an RS485-to-TCP gateway"},
	{PORT("usb_serial", usb_serial), .type = T_STRING,
	 .unset = DEVICE_UNSET,
	 .desc = "find the serial adapter by its USB serial number instead of "
		 "giving device"},
	{PORT("protocol", protocol), .type = T_PROTOCOL, .required = true,
	 .desc = "protocol of the batteries on this port"},
	{PORT("baud", baud), .type = T_UINT, .min = "1200", .max = "921600",
	 .desc = "serial speed"},
	{PORT("timeout", timeout_ms), .type = T_DURATION, .min = "20ms",
	 .max = "10s", .desc = "per-request answer timeout"},
	{PORT("addresses", naddrs), .type = T_ADDRLIST,
	 .desc = "battery addresses on this port, e.g. 1 or 1,3-5 (several "
		 "only for addressed protocols); scan 1-16: the batteries are "
		 "those of these addresses that answer"},
	{PORT("expect", expect), .type = T_UINT, .min = "1", .max = "64",
	 .unset = "(at least one)",
	 .desc = "with addresses = scan: the bank is not used (nothing is "
		 "allowed) while fewer batteries than this are found"},
	{PORT("charge_without_temperature", charge_without_temperature),
	 .type = T_BOOL, .def = "no",
	 .desc = "charging is allowed although a battery on this port reports "
		 "no temperature (no sensor): the cold and heat charge limits "
		 "then cannot protect it; without this such a battery blocks "
		 "charging (no_temperature)"},
	{PORT("current_sign", current_inverted), .type = T_SIGN,
	 .def = "normal",
	 .desc = "inverted: the batteries on this port report the current "
		 "with the opposite sign to their protocol's documented one "
		 "(a Daly firmware that counts discharge as positive); the "
		 "sign is turned before anything uses it"},
	{OUTPUT("function", function), .type = T_FUNCTION, .required = true,
	 .desc = "what drives the output: load (allowed to discharge), charge "
		 "(allowed to charge), prealarm, load-and-charge (both "
		 "allowed), error-led, status-led"},
	{OUTPUT("line", line.name), .type = T_LINENAME, .unset = "(none)",
	 .desc = LINE_DESC},
	{OUTPUT("chip", line.chip), .type = T_CHIP, .unset = "(none)",
	 .desc = CHIP_DESC},
	{OUTPUT("offset", line.offset), .type = T_OFFSET, .unset = "(none)",
	 .min = "0", .max = "65535", .desc = OFFSET_DESC},
	{OUTPUT("drive", line.drive), .type = T_DRIVE, .def = "push-pull",
	 .desc = "electrical form; open-drain needs active_low = yes, "
		 "open-source active_low = no, so that not allowed is "
		 "released"},
	{OUTPUT("active_low", line.active_low), .type = T_BOOL, .def = "no",
	 .desc = ALOW_DESC},
	{OUTPUT("bias", line.bias), .type = T_BIAS, .def = "as-is",
	 .desc = BIAS_DESC},
	{INPUT("line", line.name), .type = T_LINENAME, .unset = "(none)",
	 .desc = LINE_DESC},
	{INPUT("chip", line.chip), .type = T_CHIP, .unset = "(none)",
	 .desc = CHIP_DESC},
	{INPUT("offset", line.offset), .type = T_OFFSET, .unset = "(none)",
	 .min = "0", .max = "65535", .desc = OFFSET_DESC},
	{INPUT("active_low", line.active_low), .type = T_BOOL, .def = "no",
	 .desc = ALOW_DESC},
	{INPUT("bias", line.bias), .type = T_BIAS, .def = "as-is",
	 .desc = BIAS_DESC},
	{INPUT("debounce", line.debounce_us), .type = T_DEBOUNCE, .def = "50ms",
	 .min = "0ms", .max = "1s",
	 .desc = "the input must be stable this long before a change counts"},
	/* The defaults are guard_settings_default()'s, written out for the
	 * documentation; test_cfg proves that they are equal. */
	{PROT("cell_undervoltage", cell_undervoltage), .type = T_DECIMAL,
	 .unit = "V", .def = "2.80V", .min = "2.00V", .max = "3.00V",
	 .desc = "a cell below this voltage (V) disconnects the loads, once "
		 "the pre-alarm has been on for prealarm_lead"},
	{PROT("cell_undervoltage_hard", cell_undervoltage_hard),
	 .type = T_DECIMAL, .unit = "V", .def = "2.50V", .min = "0V",
	 .max = "3.00V",
	 .desc = "a cell below this voltage (V) disconnects the loads at once, "
		 "without the pre-alarm lead (0 = off); below "
		 "cell_undervoltage"},
	{PROT("cell_recover", cell_recover), CELL_V, .def = "3.20V",
	 .desc = "after a low cell, the loads return when every cell is at or "
		 "above this voltage (V), or when charging with every cell "
		 "above cell_undervoltage + undervoltage_hysteresis"},
	{PROT("undervoltage_hysteresis", undervoltage_hysteresis),
	 .type = T_DECIMAL, .unit = "V", .def = "0.10V", .min = "0.05V",
	 .max = "0.40V",
	 .desc = "after a low cell, charging brings the loads back only when "
		 "every cell is at or above cell_undervoltage + this (V)"},
	{PROT("charge_detect_current", charge_detect_current),
	 .type = T_DECIMAL, .unit = "A", .def = "0.5A", .min = "0A",
	 .max = "100A",
	 .desc = "charging is detected when the bank current (A) is above "
		 "this for charge_detect_time"},
	{PROT("charge_detect_time", charge_detect_us), .type = T_USEC,
	 .def = "10s", .min = "1s", .max = "10m",
	 .desc = "how long the current must stay above charge_detect_current "
		 "to count as charging"},
	{PROT("prealarm_lead", prealarm_lead_us), .type = T_USEC, .def = "30s",
	 .min = "30s", .max = "10m",
	 .desc = "how long the pre-alarm is on before a low cell disconnects "
		 "the loads (at least 30 s)"},
	{PROT("prealarm_hysteresis", prealarm_hysteresis), .type = T_DECIMAL,
	 .unit = "V", .def = "0.05V", .min = "0V", .max = "0.50V",
	 .desc = "the low-cell pre-alarm ends when every cell is at or above "
		 "prealarm_cell + this (V)"},
	{PROT("soc_warning_hysteresis", soc_warning_hysteresis),
	 .type = T_DECIMAL, .unit = "%", .def = "1%", .min = "0%", .max = "20%",
	 .desc = "the low-SoC warning ends when the SoC is above the warning "
		 "level + this (%)"},
	{PROT("prealarm_mode", prealarm_mode), .type = T_PREALARM,
	 .def = "continuous",
	 .desc = "continuous: the pre-alarm output stays on; intermittent: it "
		 "blinks (prealarm_on, prealarm_off)"},
	{PROT("prealarm_on", prealarm_on_us), .type = T_USEC, .def = "1s",
	 .min = "100ms", .max = "60s",
	 .desc = "intermittent pre-alarm: how long the output is on"},
	{PROT("prealarm_off", prealarm_off_us), .type = T_USEC, .def = "1s",
	 .min = "100ms", .max = "60s",
	 .desc = "intermittent pre-alarm: how long the output is off"},
	{PROT("floor_hysteresis", floor_hysteresis), .type = T_DECIMAL,
	 .unit = "%", .def = "3%", .min = "0%", .max = "20%",
	 .desc = "after the discharge floor, the loads return when the SoC is "
		 "above the floor + this (%)"},
	{PROT("cell_overvoltage", cell_overvoltage), .type = T_DECIMAL,
	 .unit = "V", .def = "3.75V", .min = "3.40V", .max = "3.80V",
	 .desc = "a cell at or above this voltage (V) disconnects the "
		 "chargers (at most 3.80 V)"},
	{PROT("cell_overvoltage_recover", cell_overvoltage_recover), CELL_V,
	 .def = "3.55V",
	 .desc = "after a high cell, the chargers return when every cell is at "
		 "or below this voltage (V)"},
	{PROT("charge_temp_low", charge_temp_low), TEMP_C, .def = "5C",
	 .min = "0C", .max = "40C",
	 .desc = "no charging below this temperature (degrees C; at least 0)"},
	{PROT("charge_temp_high", charge_temp_high), TEMP_C, .def = "50C",
	 .min = "10C", .max = "60C",
	 .desc = "no charging above this temperature (degrees C; at most 60)"},
	{PROT("temp_hysteresis", temp_hysteresis), .type = T_DECIMAL,
	 .unit = "C", .def = "2C", .min = "0C", .max = "20C",
	 .desc = "charging returns when the temperature is this far (degrees "
		 "C) inside the limits"},
	{PROT("comm_loss_charge", comm_loss_charge_us), .type = T_USEC,
	 .def = "10s", .min = "1s", .max = "60s",
	 .desc = "a battery without a good reading this long disconnects the "
		 "chargers (at most 60 s)"},
	{PROT("comm_loss_load", comm_loss_load_us), .type = T_USEC,
	 .def = "120s", .min = "1s", .max = "300s",
	 .desc = "a battery without a good reading this long disconnects the "
		 "loads (at most 300 s)"},
	{PROT("restore_delay", restore_delay_us), .type = T_USEC, .def = "5s",
	 .min = "1s", .max = "10m",
	 .desc = "an output comes back on only when all its reasons have been "
		 "clear this long (minimum off time)"},
	{PROT("max_cycles_per_hour", max_cycles_per_hour), .type = T_UINT,
	 .def = "10", .min = "1", .max = "60",
	 .desc = "an output switched off for a protective reason more often "
		 "than this within an hour stays off until the hour is over "
		 "(cycle_limit)"},
	{METRICS("textfile", textfile), .type = T_PATH,
	 .unset = "(none: no metrics file)",
	 .desc = "write the Prometheus text exposition of the status to this "
		 "file (name ending in .prom), replaced atomically, for "
		 "node-exporter's textfile collector"},
	{METRICS("interval", interval_ms), .type = T_DURATION, .def = "15s",
	 .min = "1s", .max = "10m",
	 .desc = "how often the metrics file is written"},
	/* [can] and [limits]: charge_limits.h has the rules, smallbms.conf(5)
	 * the reasons for the defaults. */
	{CAN_("interface", can_interface), .type = T_STRING, .required = true,
	 .desc = "SocketCAN interface the frames are sent on, e.g. can0 (its "
		 "bit rate is the system's: systemd-networkd [CAN] BitRate=)"},
	{CAN_("profile", can_profile), .type = T_STRING, .def = "pylontech",
	 .desc = "which frames: pylontech (most inverters), victron (GX with "
		 "DVCC) or sma (Sunny Island)"},
	{LIM("charge_voltage", charge_voltage), .type = T_DECIMAL, .unit = "V",
	 .def = "3.45V", .min = "3.00V", .max = "3.65V",
	 .desc = "charge voltage limit per cell (bulk)"},
	{LIM("float_voltage", float_voltage), .type = T_DECIMAL, .unit = "V",
	 .def = "3.375V", .min = "3.00V", .max = "3.60V",
	 .desc = "charge voltage limit per cell once full and balanced"},
	{LIM("discharge_voltage", discharge_voltage), .type = T_DECIMAL,
	 .unit = "V", .def = "2.90V", .min = "2.50V", .max = "3.20V",
	 .desc = "discharge voltage limit per cell (sent, and the lowest CVL)"},
	{LIM("cell_target", cell_target), .type = T_DECIMAL, .unit = "V",
	 .def = "3.55V", .min = "3.40V", .max = "3.70V",
	 .desc = "a cell above this lowers the charge voltage limit (below "
		 "[protection] cell_overvoltage)"},
	{LIM("charge_current", charge_current), .type = T_DECIMAL, .unit = "A",
	 .def = "0A", .min = "0A", .max = "2000A",
	 .desc = "the bank's maximum charge current (0: no charging)"},
	{LIM("discharge_current", discharge_current), .type = T_DECIMAL,
	 .unit = "A", .def = "0A", .min = "0A", .max = "2000A",
	 .desc = "the bank's maximum discharge current (0: no discharging)"},
	{LIM("charge_derate_start", charge_derate_start), .type = T_DECIMAL,
	 .unit = "V", .def = "3.50V", .min = "3.40V", .max = "3.70V",
	 .desc = "the highest cell above this reduces the charge current ..."},
	{LIM("charge_derate_end", charge_derate_end), .type = T_DECIMAL,
	 .unit = "V", .def = "3.65V", .min = "3.40V", .max = "3.75V",
	 .desc = "... down to 0 A here"},
	{LIM("discharge_derate_start", discharge_derate_start),
	 .type = T_DECIMAL, .unit = "V", .def = "3.10V", .min = "2.60V",
	 .max = "3.30V",
	 .desc = "the lowest cell below this reduces the discharge current "
		 "..."},
	{LIM("discharge_derate_end", discharge_derate_end), .type = T_DECIMAL,
	 .unit = "V", .def = "2.95V", .min = "2.50V", .max = "3.20V",
	 .desc = "... down to 0 A here (above [protection] cell_undervoltage)"},
	{LIM("cold_span", cold_span), .type = T_DECIMAL, .unit = "C",
	 .def = "10C", .min = "1C", .max = "30C",
	 .desc = "charge current from 0 A at charge_temp_low to full this much "
		 "warmer"},
	{LIM("hot_span", hot_span), .type = T_DECIMAL, .unit = "C", .def = "5C",
	 .min = "1C", .max = "30C",
	 .desc = "charge current from full this much below charge_temp_high "
		 "to 0 A there"},
	{LIM("ramp_time", ramp_us), .type = T_USEC, .def = "30s", .min = "0s",
	 .max = "10m",
	 .desc = "a current limit rises from 0 to its maximum in no less than "
		 "this (it falls at once)"},
	{LIM("tail_current", tail_current), .type = T_DECIMAL, .unit = "A",
	 .def = "2A", .min = "0A", .max = "500A",
	 .desc = "full: at the charge voltage with at most this current"},
	{LIM("balanced_spread", balanced_spread), .type = T_DECIMAL,
	 .unit = "V", .def = "0.03V", .min = "0.005V", .max = "0.50V",
	 .desc = "balanced: cell spread at most this"},
	{LIM("float_after", float_after_us), .type = T_USEC, .def = "30m",
	 .min = "1m", .max = "24h",
	 .desc = "full and balanced this long: float voltage"},
	{LIM("rebulk_soc", rebulk_soc), .type = T_DECIMAL, .unit = "%",
	 .def = "90%", .min = "0%", .max = "100%",
	 .desc = "back to the charge voltage below this SoC ..."},
	{LIM("rebulk_spread", rebulk_spread), .type = T_DECIMAL, .unit = "V",
	 .def = "0.10V", .min = "0.01V", .max = "1.00V",
	 .desc = "... or with a cell spread above this"},
	{MQTT("broker", broker), .type = T_STRING, .unset = "(required)",
	 .desc = "mqtt://HOST:PORT, or mqtts://HOST:PORT for TLS; HOST is an "
		 "IP address (or localhost): a name would be resolved on the "
		 "event loop, which must never wait"},
	{MQTT("ca_file", ca_file), .type = T_PATH,
	 .unset = "(the system's CAs)",
	 .desc = "mqtts: the CA certificate(s) the broker's certificate is "
		 "checked against"},
	{MQTT("cert_file", cert_file), .type = T_PATH, .unset = "(none)",
	 .desc = "mqtts: this client's certificate (with key_file)"},
	{MQTT("key_file", key_file), .type = T_PATH, .unset = "(none)",
	 .desc = "mqtts: this client's private key (with cert_file)"},
	{MQTT("username", username), .type = T_STRING, .unset = "(none)",
	 .desc = "user name for the broker"},
	{MQTT("password_file", password_file), .type = T_PATH,
	 .unset = "($CREDENTIALS_DIRECTORY/mqtt-password if present)",
	 .desc = "file holding the broker password (first line); never put "
		 "the password in this file"},
	{MQTT("client_id", client_id), .type = T_STRING, .def = "smallbms",
	 .desc = "MQTT client identifier"},
	{MQTT("qos", qos), .type = T_UINT, .def = "0", .min = "0", .max = "2",
	 .desc = "quality of service of every message published"},
	{MQTT("topic_prefix", topic_prefix), .type = T_STRING,
	 .def = "smallbms",
	 .desc = "first level of every topic; PREFIX/status is online or "
		 "offline (the last will)"},
	{MQTT("min_interval", min_interval_ms), .type = T_DURATION, .def = "1s",
	 .min = "100ms", .max = "10m",
	 .desc = "a changed state is published at most this often per topic"},
	{MQTT("heartbeat", heartbeat_ms), .type = T_DURATION, .def = "60s",
	 .min = "1s", .max = "1h",
	 .desc = "an unchanged state is published again after this; Home "
		 "Assistant's expire_after is three times this"},
	{MQTT("max_queued", max_queued), .type = T_UINT, .def = "1000",
	 .min = "10", .max = "10000",
	 .desc = "outgoing messages kept while the broker is slow; beyond "
		 "this the oldest is dropped and counted (each connection "
		 "sends 24 + 8 per battery discovery configurations at once)"},
	{MQTT("cells", cells), .type = T_BOOL, .def = "no",
	 .desc = "include the cell voltages in the battery topics"},
	{MQTT("discovery", discovery), .type = T_BOOL, .def = "yes",
	 .desc = "publish Home Assistant discovery configurations (retained)"},
	{MQTT("discovery_prefix", discovery_prefix), .type = T_STRING,
	 .def = "homeassistant", .desc = "Home Assistant's discovery prefix"},
	{MQTT("allow_commands", allow_commands), .type = T_BOOL, .def = "no",
	 .desc = "accept Mode (PREFIX/set/mode on|off) and SoC sync "
		 "(PREFIX/set/sync) from anyone the broker lets publish there"},
	{MQTT("venus", venus), .type = T_BOOL, .def = "no",
	 .desc = "publish PREFIX/venus, the JSON the dbus-mqtt-battery driver "
		 "of a Victron GX reads"},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const sect_names[] = {"general", "port",       "output",
					 "input",   "protection", "metrics",
					 "can",     "limits",     "mqtt"};

static const char *const type_names[] = {
	[T_DURATION] = "duration", [T_UINT] = "uint",
	[T_BOOL] = "bool",         [T_STRING] = "string",
	[T_PATH] = "path",         [T_LOGLEVEL] = "loglevel",
	[T_ADDRLIST] = "addrlist", [T_PROTOCOL] = "protocol",
	[T_FUNCTION] = "function", [T_LINENAME] = "line",
	[T_CHIP] = "chip",         [T_OFFSET] = "uint",
	[T_DRIVE] = "drive",       [T_BIAS] = "bias",
	[T_DEBOUNCE] = "duration", [T_USEC] = "duration",
	[T_DECIMAL] = "number",    [T_PREALARM] = "prealarm-mode",
	[T_GROUP] = "group",       [T_DEVICE] = "device",
	[T_SIGN] = "sign",
};

struct name_value {
	const char *name;
	int value;
};

static const struct name_value bools[] = {
	{"yes", 1}, {"no", 0},  {"true", 1}, {"false", 0},
	{"on", 1},  {"off", 0}, {"1", 1},    {"0", 0},
};

static const struct name_value loglevels[] = {
	{"err", LOG_ERR},   {"warning", LOG_WARNING}, {"notice", LOG_NOTICE},
	{"info", LOG_INFO}, {"debug", LOG_DEBUG},
};

static const struct name_value signs[] = {
	{"normal", 0},
	{"inverted", 1},
};

static const struct name_value functions[] = {
	{"load", CFG_OUT_LOAD},
	{"charge", CFG_OUT_CHARGE},
	{"prealarm", CFG_OUT_PREALARM},
	{"load-and-charge", CFG_OUT_LOAD_AND_CHARGE},
	{"error-led", CFG_OUT_ERROR_LED},
	{"status-led", CFG_OUT_STATUS_LED},
};

#define BOOL_WORDS     "yes/no, true/false, on/off, 1/0"
#define LOGLEVEL_WORDS "err, warning, notice, info, debug"
#define FUNCTION_WORDS                                                         \
	"load, charge, prealarm, load-and-charge, error-led, status-led"
#define DRIVE_WORDS    "push-pull, open-drain, open-source"
#define BIAS_WORDS     "as-is, disabled, pull-up, pull-down"
#define PREALARM_WORDS "continuous, intermittent"
#define SIGN_WORDS     "normal, inverted"

const char *cfg_output_function_name(enum cfg_output_function f)
{
	for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++)
		if (functions[i].value == (int)f)
			return functions[i].name;
	return "unknown";
}

/* ---- value parsers: text -> field, or a message in why ---------------- */

static bool lookup(const struct name_value *t, size_t n, const char *s,
		   int *value)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(t[i].name, s) == 0) {
			*value = t[i].value;
			return true;
		}
	}
	return false;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A duration in milliseconds (num_duration_ms), or a message. */
static bool parse_duration(const char *s, uint64_t *ms, char *why, size_t n)
{
	switch (num_duration_ms(s, ms)) {
	case NUM_DURATION_OK:
		return true;
	case NUM_DURATION_NO_UNIT:
		snprintf(why, n, "'%s' has no unit: add a unit: ms, s, m or h",
			 s);
		return false;
	case NUM_DURATION_FRACTION:
		snprintf(why, n, "'%s' is not a whole number of milliseconds",
			 s);
		return false;
	case NUM_DURATION_NOT:
		break;
	}
	snprintf(why, n, "'%s' is not a duration (e.g. 500ms, 2s, 1m)", s);
	return false;
}

static bool parse_uint(const char *s, uint64_t *v, char *why, size_t n)
{
	if (num_uint(s, v))
		return true;
	snprintf(why, n, "'%s' is not a whole number", s);
	return false;
}

/* Numeric value of a duration or uint, for the range check. */
static bool parse_number(const struct cfg_key *k, const char *s, uint64_t *v,
			 char *why, size_t n)
{
	if (k->type == T_DURATION || k->type == T_DEBOUNCE || k->type == T_USEC)
		return parse_duration(s, v, why, n);
	return parse_uint(s, v, why, n);
}

static bool check_range(const struct cfg_key *k, const char *s, uint64_t v,
			char *why, size_t n)
{
	uint64_t lo = 0, hi = UINT64_MAX;
	char dummy[8];

	/* The bounds are table text; the defaults test proves they parse. */
	if (k->min && !parse_number(k, k->min, &lo, dummy, sizeof(dummy)))
		lo = UINT64_MAX;
	if (k->max && !parse_number(k, k->max, &hi, dummy, sizeof(dummy)))
		hi = 0;
	if (v >= lo && v <= hi)
		return true;
	snprintf(why, n, "'%s' is out of range (%s..%s)", s,
		 k->min ? k->min : "0", k->max ? k->max : "");
	return false;
}

/* Decimals a [protection] value may have: far more than any needs. */
#define DEC_MAX_DECIMALS 6
#define DEGREE_SIGN      "\xC2\xB0" /* in UTF-8 */

/* The key's unit; temperatures also as "°C". */
static bool is_unit(const struct cfg_key *k, const char *u)
{
	if (strcmp(u, k->unit) == 0)
		return true;
	return strcmp(k->unit, "C") == 0 && strcmp(u, DEGREE_SIGN "C") == 0;
}

/* "A", "mV", "%", "°F": what follows the number looks like a unit. */
static bool unit_like(const char *u)
{
	for (; *u; u++)
		if (!((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') ||
		      *u == '%' || (unsigned char)*u >= 0x80))
			return false;
	return true;
}

static void not_a_number(const struct cfg_key *k, const char *s, char *why,
			 size_t n)
{
	size_t len = strlen(k->def) - strlen(k->unit);

	snprintf(why, n, "'%s' is not a number (e.g. %.*s or %s)", s, (int)len,
		 k->def, k->def);
}

/*
 * "-5", "2.80", "2.80V", "5C", "5°C": a strict number (num_decimal: no
 * blanks, "inf", hex or exponents; "2.80" is exactly the literal 2.80 of
 * guard_settings_default(); "-0" is 0), then the key's unit or none.
 */
static bool parse_decimal(const struct cfg_key *k, const char *s, double *v,
			  char *why, size_t n)
{
	const char *p;
	unsigned nf;

	if (!num_decimal(s, v, &nf, &p)) {
		not_a_number(k, s, why, n);
		return false;
	}
	if (nf > DEC_MAX_DECIMALS) {
		snprintf(why, n, "'%s' has more than %d decimals", s,
			 DEC_MAX_DECIMALS);
		return false;
	}
	if (*p && !is_unit(k, p)) {
		if (unit_like(p))
			snprintf(why, n,
				 "'%s': the unit is %s (or leave the unit out)",
				 s, k->unit);
		else
			not_a_number(k, s, why, n);
		return false;
	}
	return true;
}

static bool check_decimal_range(const struct cfg_key *k, const char *s,
				double v, char *why, size_t n)
{
	double lo = -INFINITY, hi = INFINITY;
	char dummy[80];

	/* The bounds are table text; the tests prove they parse. */
	if (k->min && !parse_decimal(k, k->min, &lo, dummy, sizeof(dummy)))
		lo = INFINITY;
	if (k->max && !parse_decimal(k, k->max, &hi, dummy, sizeof(dummy)))
		hi = -INFINITY;
	if (v >= lo && v <= hi)
		return true;
	snprintf(why, n, "'%s' is out of range (%s..%s)", s,
		 k->min ? k->min : "", k->max ? k->max : "");
	return false;
}

static bool store_string(const struct cfg_key *k, const char *s, char *field,
			 char *why, size_t n)
{
	size_t len = strlen(s);

	if (len == 0) {
		snprintf(why, n, "empty value");
		return false;
	}
	if (len >= k->size) {
		snprintf(why, n, "value is longer than %zu characters",
			 k->size - 1);
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			snprintf(why, n, "value contains a control character");
			return false;
		}
	}
	memcpy(field, s, len + 1);
	return true;
}

static bool parse_path(const struct cfg_key *k, const char *s, char *field,
		       char *why, size_t n)
{
	if (s[0] != '/') {
		snprintf(why, n,
			 "'%s' is not an absolute path (it must start "
			 "with /)",
			 s);
		return false;
	}
	return store_string(k, s, field, why, n);
}

static bool parse_protocol(const struct cfg_key *k, const char *s, char *field,
			   char *why, size_t n)
{
	if (!drv_find(s)) {
		snprintf(why, n, "'%s' is not a known protocol (known: %s)", s,
			 drv_names());
		return false;
	}
	return store_string(k, s, field, why, n);
}

/* Any printable name, but usable as a file name by the dry-run backend. */
static bool parse_linename(const struct cfg_key *k, const char *s, char *field,
			   char *why, size_t n)
{
	if (strchr(s, '/') || s[0] == '.') {
		snprintf(why, n,
			 "'%s' is not a line name (no '/', and not starting "
			 "with '.')",
			 s);
		return false;
	}
	return store_string(k, s, field, why, n);
}

/* "gpiochip0" (under /dev) or an absolute path. */
static bool parse_chip(const struct cfg_key *k, const char *s, char *field,
		       char *why, size_t n)
{
	if ((s[0] != '/' && strchr(s, '/')) || s[0] == '.') {
		snprintf(why, n,
			 "'%s' is not a chip (e.g. gpiochip0 or "
			 "/dev/gpiochip0)",
			 s);
		return false;
	}
	return store_string(k, s, field, why, n);
}

/* Longest group name the shadow tools create. */
#define GROUP_NAME_MAX 32

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Letters, digits, '-' and '_', not starting with '-' or a digit (as
 * groupadd wants: such a name could be taken for an option or a GID). */
static bool parse_group(const struct cfg_key *k, const char *s, char *field,
			char *why, size_t n)
{
	size_t len = strlen(s);
	bool ok = len > 0 && (is_alpha(s[0]) || s[0] == '_');

	for (size_t i = 1; ok && i < len; i++)
		ok = is_alpha(s[i]) || is_digit(s[i]) || s[i] == '-' ||
		     s[i] == '_';
	if (!ok) {
		snprintf(why, n,
			 "'%s' is not a group name (letters, digits, '-' and "
			 "'_', starting with a letter or '_')",
			 s);
		return false;
	}
	if (len > GROUP_NAME_MAX) {
		snprintf(why, n, "'%.40s' is longer than %d characters", s,
			 GROUP_NAME_MAX);
		return false;
	}
	return store_string(k, s, field, why, n);
}

/* ---- device = tcp://ADDRESS:PORT --------------------------------------- */

/* An absolute device path, or tcp://ADDRESS:PORT, checked by tcpaddr.c, the
 * parser the transport connects with (an IP address: host names are
 * refused, see tcpaddr.h). Duplicates are compared as text: two spellings
 * of one gateway are not caught. */
static bool parse_device(const struct cfg_key *k, const char *s, char *field,
			 char *why, size_t n)
{
	struct tcpaddr a;

	if (tcpaddr_is_tcp(s)) {
		/* Too long: store_string() says so. */
		if (strlen(s) < k->size && tcpaddr_parse(s, &a, why, n) < 0)
			return false;
	} else if (s[0] != '/') {
		snprintf(why, n,
			 "'%s' is neither an absolute path (/dev/...) nor "
			 "tcp://HOST:PORT",
			 s);
		return false;
	}
	return store_string(k, s, field, why, n);
}

/* "continuous" or "intermittent", in any case like the other words. */
static bool parse_prealarm(const char *s, enum guard_prealarm_mode *mode,
			   char *why, size_t n)
{
	char lower[16];
	size_t len = strlen(s);
	int m = -1;

	if (len < sizeof(lower)) {
		for (size_t i = 0; i <= len; i++)
			lower[i] = (s[i] >= 'A' && s[i] <= 'Z')
					   ? (char)(s[i] - 'A' + 'a')
					   : s[i];
		m = guard_prealarm_mode_parse(lower);
	}
	if (m < 0) {
		snprintf(why, n,
			 "'%s' is not a pre-alarm mode (" PREALARM_WORDS ")",
			 s);
		return false;
	}
	*mode = (enum guard_prealarm_mode)m;
	return true;
}

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* One address at *p: 0..254. */
static bool scan_addr(const char **p, const char *s, unsigned *a, char *why,
		      size_t n)
{
	uint64_t v;

	if (num_digits(p, &v) == 0)
		return false;
	if (v > CFG_MAX_ADDR) {
		snprintf(why, n, "'%s': address %llu is out of range (0..%d)",
			 s, (unsigned long long)v, CFG_MAX_ADDR);
		return false;
	}
	*a = (unsigned)v;
	return true;
}

static bool add_addrs(unsigned *addrs, unsigned *count, unsigned lo,
		      unsigned hi, const char *s, char *why, size_t n)
{
	for (unsigned a = lo; a <= hi; a++) {
		for (unsigned i = 0; i < *count; i++) {
			if (addrs[i] == a) {
				snprintf(why, n,
					 "'%s': address %u is listed twice", s,
					 a);
				return false;
			}
		}
		if (*count == CFG_MAX_ADDRS) {
			snprintf(why, n, "'%s': more than %d addresses", s,
				 CFG_MAX_ADDRS);
			return false;
		}
		addrs[(*count)++] = a;
	}
	return true;
}

/* "1", "1,2,5", "1-8", "1,3-5": comma-separated addresses and ranges;
 * "scan 1-16": the same list, of candidates to probe. */
static bool parse_addrlist(const char *s, struct cfg_port *port, char *why,
			   size_t n)
{
	unsigned addrs[CFG_MAX_ADDRS], count = 0;
	const char *p = skip_blanks(s);
	bool scan = false;

	why[0] = '\0';
	if (strncmp(p, "scan", 4) == 0 && (p[4] == ' ' || p[4] == '\t')) {
		scan = true;
		p += 4;
	} else if (strcmp(p, "scan") == 0) {
		snprintf(why, n,
			 "'%s': give the addresses to probe, e.g. scan 1-16",
			 s);
		return false;
	}
	for (;;) {
		unsigned lo, hi;

		p = skip_blanks(p);
		if (!scan_addr(&p, s, &lo, why, n))
			goto bad;
		hi = lo;
		p = skip_blanks(p);
		if (*p == '-') {
			p = skip_blanks(p + 1);
			if (!scan_addr(&p, s, &hi, why, n))
				goto bad;
			if (hi < lo) {
				snprintf(why, n,
					 "'%s': range %u-%u is reversed", s, lo,
					 hi);
				return false;
			}
			p = skip_blanks(p);
		}
		if (!add_addrs(addrs, &count, lo, hi, s, why, n))
			return false;
		if (*p == '\0')
			break;
		if (*p++ != ',')
			goto bad;
	}
	memcpy(port->addrs, addrs, count * sizeof(addrs[0]));
	port->naddrs = count;
	port->scan = scan;
	return true;
bad:
	if (!why[0])
		snprintf(why, n,
			 "'%s' is not an address list (e.g. 1, 1,2,5, 1-8, "
			 "1,3-5 or scan 1-16)",
			 s);
	return false;
}

/*
 * Parse s as key k into the struct at base (struct cfg for [general],
 * struct cfg_port for [port], struct cfg_output for [output], struct
 * cfg_input for [input]). Nothing is written unless s is valid.
 */
static bool set_value(const struct cfg_key *k, const char *s, void *base,
		      char *why, size_t n)
{
	char *field = (char *)base + k->off;
	uint64_t v;
	double d;
	int iv;

	switch (k->type) {
	case T_DURATION:
	case T_UINT:
		if (!parse_number(k, s, &v, why, n) ||
		    !check_range(k, s, v, why, n))
			return false;
		*(unsigned *)(void *)field = (unsigned)v;
		return true;
	case T_OFFSET:
		if (!parse_number(k, s, &v, why, n) ||
		    !check_range(k, s, v, why, n))
			return false;
		*(int *)(void *)field = (int)v;
		return true;
	case T_DEBOUNCE:
		if (!parse_number(k, s, &v, why, n) ||
		    !check_range(k, s, v, why, n))
			return false;
		*(uint32_t *)(void *)field = (uint32_t)(v * 1000);
		return true;
	case T_USEC:
		/* The range (at most hours) keeps v * 1000 far from overflow. */
		if (!parse_number(k, s, &v, why, n) ||
		    !check_range(k, s, v, why, n))
			return false;
		*(uint64_t *)(void *)field = v * 1000;
		return true;
	case T_DECIMAL:
		if (!parse_decimal(k, s, &d, why, n) ||
		    !check_decimal_range(k, s, d, why, n))
			return false;
		*(double *)(void *)field = d;
		return true;
	case T_PREALARM:
		return parse_prealarm(
			s, (enum guard_prealarm_mode *)(void *)field, why, n);
	case T_GROUP:
		return parse_group(k, s, field, why, n);
	case T_DEVICE:
		return parse_device(k, s, field, why, n);
	case T_BOOL:
		if (!lookup(bools, sizeof(bools) / sizeof(bools[0]), s, &iv)) {
			snprintf(why, n,
				 "'%s' is not a boolean (" BOOL_WORDS ")", s);
			return false;
		}
		*(bool *)(void *)field = iv;
		return true;
	case T_SIGN:
		if (!lookup(signs, sizeof(signs) / sizeof(signs[0]), s, &iv)) {
			snprintf(why, n,
				 "'%s' is not a current sign (" SIGN_WORDS ")",
				 s);
			return false;
		}
		*(bool *)(void *)field = iv;
		return true;
	case T_LOGLEVEL:
		if (!lookup(loglevels, sizeof(loglevels) / sizeof(loglevels[0]),
			    s, &iv)) {
			snprintf(why, n,
				 "'%s' is not a log level (" LOGLEVEL_WORDS ")",
				 s);
			return false;
		}
		*(int *)(void *)field = iv;
		return true;
	case T_FUNCTION:
		if (!lookup(functions, sizeof(functions) / sizeof(functions[0]),
			    s, &iv)) {
			snprintf(why, n,
				 "'%s' is not an output function "
				 "(" FUNCTION_WORDS ")",
				 s);
			return false;
		}
		*(enum cfg_output_function *)(void *)field = iv;
		return true;
	case T_DRIVE:
		iv = gpio_drive_parse(s);
		if (iv < 0) {
			snprintf(why, n,
				 "'%s' is not a drive (" DRIVE_WORDS ")", s);
			return false;
		}
		*(enum gpio_drive *)(void *)field = iv;
		return true;
	case T_BIAS:
		iv = gpio_bias_parse(s);
		if (iv < 0) {
			snprintf(why, n, "'%s' is not a bias (" BIAS_WORDS ")",
				 s);
			return false;
		}
		*(enum gpio_bias *)(void *)field = iv;
		return true;
	case T_LINENAME:
		return parse_linename(k, s, field, why, n);
	case T_CHIP:
		return parse_chip(k, s, field, why, n);
	case T_STRING:
		return store_string(k, s, field, why, n);
	case T_PATH:
		return parse_path(k, s, field, why, n);
	case T_PROTOCOL:
		return parse_protocol(k, s, field, why, n);
	case T_ADDRLIST:
		/* Only a [port] key: base is its struct cfg_port. */
		return parse_addrlist(s, base, why, n);
	}
	snprintf(why, n, "internal error: bad key type");
	return false;
}

static void apply_defaults(enum cfg_sect sect, void *base)
{
	char why[160];

	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].sect == sect && keys[i].def)
			(void)set_value(&keys[i], keys[i].def, base, why,
					sizeof(why));
}

void cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	apply_defaults(SECT_GENERAL, c);
	/* Not from the table's texts: guard.c owns these numbers (the tests
	 * check that the table documents the same ones). */
	guard_settings_default(&c->protection);
	apply_defaults(SECT_METRICS, &c->metrics);
	apply_defaults(SECT_CAN, c);
	/* charge_limits.c owns these numbers too (test_cfg checks that the
	 * table documents the same ones). */
	limits_settings_default(&c->limits);
}

/* ---- the parse: reader, sections, keys, whole-file checks -------------- */

enum cur_sect {
	CUR_NONE,       /* before the first section */
	CUR_GENERAL,    /* [general] */
	CUR_PORT,       /* [port NAME], cur_port */
	CUR_OUTPUT,     /* [output NAME], cur_output */
	CUR_INPUT,      /* [input remote] */
	CUR_PROTECTION, /* [protection] */
	CUR_METRICS,    /* [metrics] */
	CUR_CAN,        /* [can] */
	CUR_LIMITS,     /* [limits] */
	CUR_MQTT,       /* [mqtt] */
	CUR_IGNORE,     /* a bad section, already reported: skip its keys */
};

/* Rows of cfg_parse.seen: one per section instance. */
#define SLOT_GENERAL    0
#define SLOT_PORT(i)    (1 + (i))
#define SLOT_OUTPUT(i)  (1 + CFG_MAX_PORTS + (i))
#define SLOT_INPUT      (1 + CFG_MAX_PORTS + CFG_MAX_OUTPUTS)
#define SLOT_PROTECTION (SLOT_INPUT + 1)
#define SLOT_METRICS    (SLOT_PROTECTION + 1)
#define SLOT_CAN        (SLOT_METRICS + 1)
#define SLOT_LIMITS     (SLOT_CAN + 1)
#define SLOT_MQTT       (SLOT_LIMITS + 1)
#define NSLOTS          (SLOT_MQTT + 1)

struct cfg_parse {
	struct cfg *c; /* scratch copy being filled */
	const char *name;
	FILE *errs;
	int nerr;

	FILE *f;         /* source: a stream ... */
	const char *str; /* ... or a string */
	int line;
	int first_syntax_line;

	enum cur_sect cur;
	unsigned cur_port;
	unsigned cur_output;
	bool any_port_section;
	int protection_line; /* of the [protection] section; 0: none */
	bool protection_bad; /* a [protection] key was refused or lost */
	int metrics_line;    /* of the [metrics] section; 0: none */
	int can_line;        /* of the [can] section; 0: none */
	int limits_line;     /* of the [limits] section; 0: none */
	bool limits_bad;     /* a [limits] key was refused or lost */

	/* Line where each key was set, per SLOT_*. */
	int seen[NSLOTS][NKEYS];
	bool port_bad[CFG_MAX_PORTS];
};

__attribute__((format(printf, 3, 4))) static void
report(struct cfg_parse *p, int line, const char *fmt, ...)
{
	va_list ap;

	p->nerr++;
	if (!p->errs)
		return;
	if (line > 0)
		fprintf(p->errs, "%s:%d: ", p->name, line);
	else
		fprintf(p->errs, "%s: ", p->name);
	va_start(ap, fmt);
	vfprintf(p->errs, fmt, ap);
	va_end(ap);
	fputc('\n', p->errs);
}

static int src_getc(struct cfg_parse *p)
{
	if (p->f)
		return getc(p->f);
	if (*p->str == '\0')
		return EOF;
	return (unsigned char)*p->str++;
}

/* Like inih: index of the first of chars in s, or of an inline ';'
 * comment (a ';' after a blank), or of the terminating NUL. */
static size_t find_chars_or_comment(const char *s, const char *chars)
{
	bool was_space = false;
	size_t i;

	for (i = 0; s[i] && !strchr(chars, s[i]); i++) {
		if (was_space && s[i] == ';')
			break;
		was_space = s[i] == ' ' || s[i] == '\t' || s[i] == '\r';
	}
	return i;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool valid_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       is_digit(c) || c == '-' || c == '_' || c == '.';
}

static bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!valid_name_char(*s))
			return false;
	return true;
}

static void start_port(struct cfg_parse *p, const char *name)
{
	struct cfg_port *port;

	p->any_port_section = true;
	p->cur = CUR_IGNORE;
	if (!valid_name(name)) {
		report(p, p->line,
		       "port name '%s' is not valid (use letters, digits, "
		       "'-', '_' and '.')",
		       name);
		return;
	}
	if (strlen(name) >= CFG_NAME_LEN) {
		report(p, p->line, "port name is longer than %d characters",
		       CFG_NAME_LEN - 1);
		return;
	}
	for (unsigned i = 0; i < p->c->nports; i++) {
		if (strcmp(p->c->ports[i].name, name) == 0) {
			report(p, p->line,
			       "duplicate port name '%s' (first at line %d)",
			       name, p->c->ports[i].line);
			return;
		}
	}
	if (p->c->nports == CFG_MAX_PORTS) {
		report(p, p->line, "too many ports (at most %d)",
		       CFG_MAX_PORTS);
		return;
	}
	p->cur_port = p->c->nports++;
	port = &p->c->ports[p->cur_port];
	memset(port, 0, sizeof(*port));
	strcpy(port->name, name); /* length checked above */
	port->line = p->line;
	apply_defaults(SECT_PORT, port);
	p->cur = CUR_PORT;
}

static void start_output(struct cfg_parse *p, const char *name)
{
	struct cfg_output *out;

	p->cur = CUR_IGNORE;
	if (!valid_name(name)) {
		report(p, p->line,
		       "output name '%s' is not valid (use letters, digits, "
		       "'-', '_' and '.')",
		       name);
		return;
	}
	if (strlen(name) >= CFG_NAME_LEN) {
		report(p, p->line, "output name is longer than %d characters",
		       CFG_NAME_LEN - 1);
		return;
	}
	for (unsigned i = 0; i < p->c->noutputs; i++) {
		if (strcmp(p->c->outputs[i].name, name) == 0) {
			report(p, p->line,
			       "duplicate output name '%s' (first at line %d)",
			       name, p->c->outputs[i].line_no);
			return;
		}
	}
	if (p->c->noutputs == CFG_MAX_OUTPUTS) {
		report(p, p->line, "too many outputs (at most %d)",
		       CFG_MAX_OUTPUTS);
		return;
	}
	p->cur_output = p->c->noutputs++;
	out = &p->c->outputs[p->cur_output];
	memset(out, 0, sizeof(*out));
	strcpy(out->name, name); /* length checked above */
	out->line_no = p->line;
	out->line.offset = -1;
	apply_defaults(SECT_OUTPUT, out);
	p->cur = CUR_OUTPUT;
}

static void start_input(struct cfg_parse *p, const char *name)
{
	struct cfg_input *in = &p->c->remote;

	p->cur = CUR_IGNORE;
	if (strcmp(name, "remote") != 0) {
		report(p, p->line,
		       "unknown input '%s' (the only input is [input remote])",
		       name);
		return;
	}
	if (p->c->have_remote) {
		report(p, p->line,
		       "duplicate [input remote] (first at line %d)",
		       in->line_no);
		return;
	}
	p->c->have_remote = true;
	memset(in, 0, sizeof(*in));
	in->line_no = p->line;
	in->line.offset = -1;
	apply_defaults(SECT_INPUT, in);
	p->cur = CUR_INPUT;
}

/* A section that may appear once ([protection], [metrics], [can],
 * [limits], [mqtt]); line: where it was first seen, 0 before. */
static void start_once(struct cfg_parse *p, int *line, enum cur_sect cur,
		       const char *name)
{
	p->cur = CUR_IGNORE;
	if (*line) {
		report(p, p->line, "duplicate [%s] (first at line %d)", name,
		       *line);
		return;
	}
	*line = p->line;
	p->cur = cur;
}

/* "WORD NAME" -> NAME, blanks skipped; NULL if s is not WORD + blank(s). */
static const char *section_arg(const char *s, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(s, word, n) != 0 || !is_blank(s[n]))
		return NULL;
	s += n;
	while (is_blank(*s))
		s++;
	return s;
}

/* A line inih cannot use: a key of the current port may be lost with it,
 * so that port's count is not trusted for the whole-file checks. */
static void line_lost(struct cfg_parse *p)
{
	if (p->cur == CUR_PORT)
		p->port_bad[p->cur_port] = true;
	else if (p->cur == CUR_PROTECTION)
		p->protection_bad = true;
	else if (p->cur == CUR_LIMITS)
		p->limits_bad = true;
}

static void syntax_error(struct cfg_parse *p, const char *what)
{
	line_lost(p);
	if (!p->first_syntax_line)
		p->first_syntax_line = p->line;
	report(p, p->line, "syntax error: %s", what);
}

/* A "[...]" line (leading blanks already removed); the line is inih's
 * buffer, which it parses after us, so it is only read here. */
static void start_section(struct cfg_parse *p, const char *line)
{
	size_t end = find_chars_or_comment(line + 1, "]") + 1;
	const char *s = line + 1;
	char name[256];

	if (line[end] != ']') {
		p->cur = CUR_IGNORE; /* inih keeps the old one: do not guess */
		syntax_error(p, "missing ']'");
		return;
	}
	while (s < line + end && is_blank(*s))
		s++;
	while (line + end > s && is_blank(line[end - 1]))
		end--;
	/* Longer than any valid name: truncating it harms no message. */
	snprintf(name, sizeof(name), "%.*s", (int)(line + end - s), s);
	if (strcmp(name, "general") == 0) {
		p->cur = CUR_GENERAL;
	} else if (strcmp(name, "port") == 0) {
		p->any_port_section = true;
		p->cur = CUR_IGNORE;
		report(p, p->line, "[port] needs a name: [port NAME]");
	} else if ((s = section_arg(name, "port"))) {
		start_port(p, s);
	} else if (strcmp(name, "output") == 0) {
		p->cur = CUR_IGNORE;
		report(p, p->line, "[output] needs a name: [output NAME]");
	} else if ((s = section_arg(name, "output"))) {
		start_output(p, s);
	} else if (strcmp(name, "input") == 0) {
		p->cur = CUR_IGNORE;
		report(p, p->line, "[input] needs a name: [input remote]");
	} else if ((s = section_arg(name, "input"))) {
		start_input(p, s);
	} else if (strcmp(name, "protection") == 0) {
		start_once(p, &p->protection_line, CUR_PROTECTION,
			   "protection");
	} else if (strcmp(name, "metrics") == 0) {
		start_once(p, &p->metrics_line, CUR_METRICS, "metrics");
	} else if (strcmp(name, "can") == 0) {
		start_once(p, &p->can_line, CUR_CAN, "can");
		p->c->have_can = true;
	} else if (strcmp(name, "limits") == 0) {
		start_once(p, &p->limits_line, CUR_LIMITS, "limits");
		p->c->have_limits = true;
	} else if (strcmp(name, "mqtt") == 0) {
		start_once(p, &p->c->mqtt.line, CUR_MQTT, "mqtt");
		if (p->cur == CUR_MQTT)
			apply_defaults(SECT_MQTT, &p->c->mqtt);
	} else {
		p->cur = CUR_IGNORE;
		report(p, p->line, "unknown section [%s]", name);
	}
}

/* Check a line the way inih will see it; report what it would refuse. */
static void classify_line(struct cfg_parse *p, const char *line)
{
	size_t end;

	if (*line == '\0' || is_blank(*line) || *line == ';' || *line == '#')
		return;
	if (*line == '[') {
		start_section(p, line);
		return;
	}
	end = find_chars_or_comment(line, "=:");
	if (line[end] != '=' && line[end] != ':')
		syntax_error(p, "expected 'key = value' or [section]");
}

/*
 * The ini_reader: one line per call (so p->line is the line of every
 * handler call that follows), at most num - 2 characters plus '\n'.
 */
static char *read_line(char *str, int num, void *stream)
{
	struct cfg_parse *p = stream;
	int c, len = 0, max = num - 2;
	bool too_long = false, nul = false;
	char *start;

	if (num < 3)
		return NULL; /* cannot happen: inih's buffer is 200 bytes */
	for (;;) {
		c = src_getc(p);
		if (c == EOF) {
			if (len == 0 && !too_long)
				return NULL;
			break;
		}
		if (c == '\n')
			break;
		if (c == '\0')
			nul = true;
		if (len < max)
			str[len++] = (char)c;
		else
			too_long = true;
	}
	str[len++] = '\n';
	str[len] = '\0';
	p->line++;
	if (too_long || nul) {
		line_lost(p);
		if (too_long)
			report(p, p->line, "line is longer than %d characters",
			       max);
		else
			report(p, p->line, "line contains a NUL byte");
		strcpy(str, "\n"); /* inih sees an empty line */
		return str;
	}
	start = str;
	if (p->line == 1 && strncmp(start, "\xEF\xBB\xBF", 3) == 0)
		start += 3; /* UTF-8 byte order mark */
	while (*start == ' ' || *start == '\t')
		start++;
	memmove(str, start, strlen(start) + 1);
	classify_line(p, str);
	return str;
}

static const struct cfg_key *find_key(enum cfg_sect sect, const char *name,
				      size_t *idx)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].sect == sect && strcmp(keys[i].key, name) == 0) {
			*idx = i;
			return &keys[i];
		}
	}
	return NULL;
}

/* The section being read: its key set, seen[] row, struct and title. */
struct cur_target {
	enum cfg_sect sect;
	unsigned slot;
	void *base;
	char title[CFG_NAME_LEN + 16]; /* "port a", "output load", ... */
};

static void cur_target(struct cfg_parse *p, struct cur_target *t)
{
	switch (p->cur) {
	case CUR_PORT:
		t->sect = SECT_PORT;
		t->slot = SLOT_PORT(p->cur_port);
		t->base = &p->c->ports[p->cur_port];
		snprintf(t->title, sizeof(t->title), "port %s",
			 p->c->ports[p->cur_port].name);
		return;
	case CUR_OUTPUT:
		t->sect = SECT_OUTPUT;
		t->slot = SLOT_OUTPUT(p->cur_output);
		t->base = &p->c->outputs[p->cur_output];
		snprintf(t->title, sizeof(t->title), "output %s",
			 p->c->outputs[p->cur_output].name);
		return;
	case CUR_INPUT:
		t->sect = SECT_INPUT;
		t->slot = SLOT_INPUT;
		t->base = &p->c->remote;
		snprintf(t->title, sizeof(t->title), "input remote");
		return;
	case CUR_MQTT:
		t->sect = SECT_MQTT;
		t->slot = SLOT_MQTT;
		t->base = &p->c->mqtt;
		snprintf(t->title, sizeof(t->title), "mqtt");
		return;
	case CUR_PROTECTION:
		t->sect = SECT_PROTECTION;
		t->slot = SLOT_PROTECTION;
		t->base = &p->c->protection;
		snprintf(t->title, sizeof(t->title), "protection");
		return;
	case CUR_METRICS:
		t->sect = SECT_METRICS;
		t->slot = SLOT_METRICS;
		t->base = &p->c->metrics;
		snprintf(t->title, sizeof(t->title), "metrics");
		return;
	case CUR_CAN:
		t->sect = SECT_CAN;
		t->slot = SLOT_CAN;
		t->base = p->c;
		snprintf(t->title, sizeof(t->title), "can");
		return;
	case CUR_LIMITS:
		t->sect = SECT_LIMITS;
		t->slot = SLOT_LIMITS;
		t->base = &p->c->limits;
		snprintf(t->title, sizeof(t->title), "limits");
		return;
	default:
		t->sect = SECT_GENERAL;
		t->slot = SLOT_GENERAL;
		t->base = p->c;
		snprintf(t->title, sizeof(t->title), "general");
		return;
	}
}

/* The ini_handler. Always returns 1: errors are reported here, so inih's
 * return value only ever means a syntax error. */
static int on_key(void *user, const char *section, const char *name,
		  const char *value)
{
	struct cfg_parse *p = user;
	const struct cfg_key *k;
	struct cur_target t;
	char why[CFG_PATH_LEN + 128];
	size_t i;

	(void)section; /* ours is exact; inih truncates long names */
	if (p->cur == CUR_IGNORE)
		return 1;
	if (p->cur == CUR_NONE) {
		report(p, p->line,
		       "'%s' is outside any section (put it under [general] "
		       "or [port NAME])",
		       name);
		return 1;
	}
	cur_target(p, &t);
	k = find_key(t.sect, name, &i);
	if (!k && t.sect == SECT_PROTECTION && settings_find(name)) {
		/* One owner per parameter: the run-time settings own these. */
		report(p, p->line,
		       "%s is a run-time setting, not a [protection] key: "
		       "smallbmsctl set %s VALUE",
		       name, name);
		goto bad;
	}
	if (!k) {
		report(p, p->line, "unknown key '%s' in [%s]", name, t.title);
		goto bad;
	}
	if (p->seen[t.slot][i]) {
		report(p, p->line, "%s: already set at line %d", name,
		       p->seen[t.slot][i]);
		goto bad;
	}
	p->seen[t.slot][i] = p->line;
	if (!set_value(k, value, t.base, why, sizeof(why))) {
		report(p, p->line, "%s: %s", name, why);
		goto bad;
	}
	return 1;
bad:
	if (t.sect == SECT_PORT)
		p->port_bad[p->cur_port] = true;
	else if (t.sect == SECT_PROTECTION)
		p->protection_bad = true;
	else if (t.sect == SECT_LIMITS)
		p->limits_bad = true;
	return 1;
}

/* Line where key of section sect was set in row slot; 0: not set. */
static int slot_key_line(const struct cfg_parse *p, enum cfg_sect sect,
			 unsigned slot, const char *key)
{
	size_t i;

	if (!find_key(sect, key, &i))
		return 0;
	return p->seen[slot][i];
}

static int key_line(const struct cfg_parse *p, unsigned port, const char *key)
{
	return slot_key_line(p, SECT_PORT, SLOT_PORT(port), key);
}

static void check_required(struct cfg_parse *p, unsigned i)
{
	const struct cfg_port *port = &p->c->ports[i];

	for (size_t k = 0; k < NKEYS; k++) {
		if (keys[k].sect != SECT_PORT || !keys[k].required ||
		    p->seen[1 + i][k])
			continue;
		report(p, port->line, "[port %s] has no %s (required)",
		       port->name, keys[k].key);
		p->port_bad[i] = true;
	}
}

/* A port is found by its device or by its adapter's USB serial number:
 * exactly one of the two. */
static void check_link(struct cfg_parse *p, unsigned i)
{
	const struct cfg_port *port = &p->c->ports[i];
	int l_dev = key_line(p, i, "device");
	int l_usb = key_line(p, i, "usb_serial");

	if (l_dev && l_usb)
		report(p, port->line,
		       "[port %s] has both device and usb_serial: give only "
		       "one",
		       port->name);
	else if (!l_dev && !l_usb)
		report(p, port->line,
		       "[port %s] has no device and no usb_serial (one is "
		       "required)",
		       port->name);
	else
		return;
	p->port_bad[i] = true;
}

/* Field of struct cfg_port at off, as a string. */
static const char *port_text(const struct cfg_port *port, size_t off)
{
	return (const char *)port + off;
}

/* No two ports on one device (paths and tcp:// specs compared as text) or
 * one adapter. */
static void check_devices(struct cfg_parse *p, unsigned i)
{
	static const struct {
		const char *key;
		size_t off;
	} ids[] = {
		{"device", offsetof(struct cfg_port, device)},
		{"usb_serial", offsetof(struct cfg_port, usb_serial)},
	};
	const struct cfg_port *port = &p->c->ports[i];

	for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
		const char *id = port_text(port, ids[k].off);

		if (!id[0])
			continue;
		for (unsigned j = 0; j < i; j++) {
			if (strcmp(port_text(&p->c->ports[j], ids[k].off),
				   id) != 0)
				continue;
			report(p, key_line(p, i, ids[k].key),
			       "%s: '%s' is already used by [port %s]",
			       ids[k].key, id, p->c->ports[j].name);
			p->port_bad[i] = true;
			return;
		}
	}
}

static void check_addressing(struct cfg_parse *p, unsigned i)
{
	const struct cfg_port *port = &p->c->ports[i];
	const struct bms_driver *drv = drv_find(port->protocol);

	if (port->expect && !port->scan) {
		report(p, key_line(p, i, "expect"),
		       "expect: only with addresses = scan");
		p->port_bad[i] = true;
		return;
	}
	if (port->expect > port->naddrs) {
		report(p, key_line(p, i, "expect"),
		       "expect: %u batteries cannot be found at %u addresses",
		       port->expect, port->naddrs);
		p->port_bad[i] = true;
		return;
	}

	for (unsigned k = 0; drv && drv->max_addr && k < port->naddrs; k++) {
		unsigned a = port->addrs[k];

		if (a >= drv->min_addr && a <= drv->max_addr)
			continue;
		report(p, key_line(p, i, "addresses"),
		       "addresses: %u is not an address of protocol '%s' "
		       "(%u-%u: %s)",
		       a, port->protocol, drv->min_addr, drv->max_addr,
		       drv->addr_hint ? drv->addr_hint : "its range");
		p->port_bad[i] = true;
		return;
	}
	if (!drv || drv->addressed || (port->naddrs <= 1 && !port->scan))
		return;
	report(p, key_line(p, i, "addresses"),
	       port->scan ? "addresses: protocol '%s' has one battery per "
			    "port: there is nothing to scan for"
			  : "addresses: protocol '%s' has one battery per "
			    "port: give one address",
	       port->protocol);
	p->port_bad[i] = true;
}

/* Battery count limits; only meaningful when every port is valid. */
static void check_counts(struct cfg_parse *p)
{
	unsigned total = 0;
	bool scan = false;
	size_t si = 0;

	for (unsigned i = 0; i < p->c->nports; i++)
		if (p->port_bad[i])
			return;
	/* A scanned port counts with every candidate: all may answer. */
	for (unsigned i = 0; i < p->c->nports; i++) {
		const struct cfg_port *port = &p->c->ports[i];
		int line = key_line(p, i, "addresses");

		total += port->naddrs ? port->naddrs : 1;
		scan = scan || port->scan;
		if (total > CFG_MAX_BATTERIES) {
			report(p, line ? line : port->line,
			       "[port %s] brings the number of %sbatteries to "
			       "%u; at most %d are supported",
			       port->name, scan ? "possible " : "", total,
			       CFG_MAX_BATTERIES);
			return;
		}
	}
	/* With scanned ports the count is known only at run time: the bank
	 * then warns (series_count_mismatch) and is not used. */
	if (!scan && total % p->c->series) {
		find_key(SECT_GENERAL, "series", &si);
		report(p, p->seen[0][si],
		       "series: %u batteries cannot form strings of %u (the "
		       "number of batteries must be a multiple of series)",
		       total, p->c->series);
	}
}

/* An [output NAME] or the [input remote], for the checks of its line. */
struct line_sect {
	enum cfg_sect sect;
	unsigned slot;
	char title[CFG_NAME_LEN + 16]; /* "[output load]" */
	const struct gpio_line_spec *spec;
	int line_no;
	bool form_ok; /* exactly one complete, valid way to name the line */
};

static int ls_key_line(const struct cfg_parse *p, const struct line_sect *ls,
		       const char *key)
{
	return slot_key_line(p, ls->sect, ls->slot, key);
}

/* line = NAME, or chip = CHIP + offset = N: exactly one of the two. */
static bool check_line_form(struct cfg_parse *p, const struct line_sect *ls)
{
	int l_name = ls_key_line(p, ls, "line");
	int l_chip = ls_key_line(p, ls, "chip");
	int l_off = ls_key_line(p, ls, "offset");

	if (l_name && (l_chip || l_off)) {
		report(p, l_name,
		       "line: %s also has %s: give either line, or chip and "
		       "offset",
		       ls->title, l_chip ? "chip" : "offset");
		return false;
	}
	if (!l_name && !l_chip && !l_off) {
		report(p, ls->line_no,
		       "%s has no line (required): give line = NAME, or chip = "
		       "CHIP and offset = N",
		       ls->title);
		return false;
	}
	if (l_chip && !l_off) {
		report(p, l_chip, "chip: %s has no offset (give both)",
		       ls->title);
		return false;
	}
	if (l_off && !l_chip) {
		report(p, l_off, "offset: %s has no chip (give both)",
		       ls->title);
		return false;
	}
	/* A bad value was reported where it was read: nothing to compare. */
	return ls->spec->name[0] ||
	       (ls->spec->chip[0] && ls->spec->offset >= 0);
}

/*
 * "Not allowed" must leave an open-drain or open-source line released
 * (DESIGN: not allowed = free-floating). An open-drain line is released
 * at the high level, so its inactive state must be high: active_low.
 * Open-source is the mirror image.
 */
static void check_drive(struct cfg_parse *p, const struct line_sect *ls)
{
	const struct gpio_line_spec *l = ls->spec;
	int line = ls_key_line(p, ls, "drive");

	if (l->drive == GPIO_DRIVE_OPEN_DRAIN && !l->active_low)
		report(p, line,
		       "drive: an open-drain line is released only at the high "
		       "level: set active_low = yes, or %s would be driven low "
		       "when not active",
		       ls->title);
	else if (l->drive == GPIO_DRIVE_OPEN_SOURCE && l->active_low)
		report(p, line,
		       "drive: an open-source line is released only at the low "
		       "level: set active_low = no, or %s would be driven high "
		       "when not active",
		       ls->title);
}

/* What names the line, for comparisons and messages. */
static void line_identity(const struct gpio_line_spec *l, char *buf, size_t n)
{
	const char *chip = l->chip;

	if (l->name[0]) {
		snprintf(buf, n, "%s", l->name);
		return;
	}
	if (strncmp(chip, "/dev/", 5) == 0)
		chip += 5;
	snprintf(buf, n, "%s offset %d", chip, l->offset);
}

/* No line serves two purposes (as far as names tell: a name and the
 * chip + offset of the same line are caught when requesting it). */
static void check_line_reuse(struct cfg_parse *p, const struct line_sect *ls,
			     unsigned n)
{
	char a[2 * GPIO_NAME_LEN + 16], b[sizeof(a)];

	for (unsigned i = 1; i < n; i++) {
		if (!ls[i].form_ok)
			continue;
		line_identity(ls[i].spec, a, sizeof(a));
		for (unsigned j = 0; j < i; j++) {
			if (!ls[j].form_ok)
				continue;
			line_identity(ls[j].spec, b, sizeof(b));
			if (strcmp(a, b) != 0)
				continue;
			report(p,
			       ls_key_line(p, &ls[i],
					   ls[i].spec->name[0] ? "line"
							       : "chip"),
			       "%s: %s is already used by %s",
			       ls[i].spec->name[0] ? "line" : "chip", a,
			       ls[j].title);
			break;
		}
	}
}

static void check_output_required(struct cfg_parse *p, unsigned i)
{
	const struct cfg_output *o = &p->c->outputs[i];

	for (size_t k = 0; k < NKEYS; k++) {
		if (keys[k].sect != SECT_OUTPUT || !keys[k].required ||
		    p->seen[SLOT_OUTPUT(i)][k])
			continue;
		report(p, o->line_no, "[output %s] has no %s (required)",
		       o->name, keys[k].key);
	}
}

static void check_lines(struct cfg_parse *p)
{
	struct line_sect ls[CFG_MAX_OUTPUTS + 1];
	unsigned n = 0;

	for (unsigned i = 0; i < p->c->noutputs; i++, n++) {
		const struct cfg_output *o = &p->c->outputs[i];

		ls[n].sect = SECT_OUTPUT;
		ls[n].slot = SLOT_OUTPUT(i);
		snprintf(ls[n].title, sizeof(ls[n].title), "[output %s]",
			 o->name);
		ls[n].spec = &o->line;
		ls[n].line_no = o->line_no;
		check_output_required(p, i);
		ls[n].form_ok = check_line_form(p, &ls[n]);
		check_drive(p, &ls[n]);
	}
	if (p->c->have_remote) {
		ls[n].sect = SECT_INPUT;
		ls[n].slot = SLOT_INPUT;
		snprintf(ls[n].title, sizeof(ls[n].title), "[input remote]");
		ls[n].spec = &p->c->remote.line;
		ls[n].line_no = p->c->remote.line_no;
		ls[n].form_ok = check_line_form(p, &ls[n]);
		n++;
	}
	check_line_reuse(p, ls, n);
}

/* The line of the last [protection] key the message names (a rule
 * between keys is reported where the user last wrote one of them), or the
 * section's line. */
static int rule_line(const struct cfg_parse *p, const char *msg)
{
	int line = 0;

	for (size_t i = 0; i < NKEYS; i++) {
		const char *at = msg;
		size_t len = strlen(keys[i].key);

		if (keys[i].sect != SECT_PROTECTION ||
		    !p->seen[SLOT_PROTECTION][i])
			continue;
		while ((at = strstr(at, keys[i].key))) {
			bool word = (at == msg || !valid_name_char(at[-1])) &&
				    !valid_name_char(at[len]);
			if (word && p->seen[SLOT_PROTECTION][i] > line)
				line = p->seen[SLOT_PROTECTION][i];
			at += len;
		}
	}
	return line ? line : p->protection_line;
}

/* The protection settings as a whole (their order, mostly). Skipped when
 * a [protection] key was refused: its default would stand in for it and
 * the message would be about a value the user did not write. */
static void check_protection(struct cfg_parse *p)
{
	struct settings rt;
	char err[256];

	/* With the run-time settings' defaults: they must hold with any
	 * valid file, so a saved value that does not is dropped back to a
	 * default that does (settings_from_json). */
	settings_default(&rt);
	if (p->protection_bad ||
	    settings_check(&rt, &p->c->protection, err, sizeof(err)) == 0)
		return;
	report(p, rule_line(p, err), "[protection] %s", err);
}

/* node-exporter's textfile collector reads *.prom only: another name
 * would be written and never scraped. PATH.tmp (metrics.c) is not read. */
static void check_metrics(struct cfg_parse *p)
{
	const char *f = p->c->metrics.textfile;
	size_t n = strlen(f);

	if (n && (n < 6 || strcmp(f + n - 5, ".prom") != 0))
		report(p,
		       slot_key_line(p, SECT_METRICS, SLOT_METRICS, "textfile"),
		       "textfile: %s does not end in .prom (node-exporter's "
		       "textfile collector reads only *.prom files)",
		       f);
}

/* [can]: an interface the kernel could name, a known profile. */
static void check_can(struct cfg_parse *p)
{
	int line = slot_key_line(p, SECT_CAN, SLOT_CAN, "profile");

	if (!p->c->have_can)
		return;
	if (!p->c->can_interface[0])
		report(p, p->can_line, "[can] has no interface (required)");
	else if (strlen(p->c->can_interface) >= 16 ||
		 strpbrk(p->c->can_interface, "/ "))
		report(p, slot_key_line(p, SECT_CAN, SLOT_CAN, "interface"),
		       "interface: '%s' is not a network interface name",
		       p->c->can_interface);
	if (can_profile_parse(p->c->can_profile) < 0)
		report(p, line ? line : p->can_line,
		       "profile: unknown '%s' (pylontech, victron or sma)",
		       p->c->can_profile);
}

/* [limits] as a whole, and against [protection]: the limits act before
 * the disconnects. Skipped when a key was refused (its default would be
 * blamed). */
static void check_limits(struct cfg_parse *p)
{
	const struct limits_settings *l = &p->c->limits;
	const struct guard_settings *g = &p->c->protection;
	int line = p->limits_line ? p->limits_line : p->can_line;
	char err[256];

	/* Only where they are used: a [protection] of its own must not
	 * fail on [limits] defaults nobody asked for. */
	if (p->limits_bad || p->protection_bad ||
	    !(p->c->have_can || p->limits_line))
		return;
	if (limits_settings_check(l, err, sizeof(err)) < 0)
		report(p, line, "[limits] %s", err);
	else if (l->cell_target >= g->cell_overvoltage)
		report(p, line,
		       "[limits] cell_target (%.3f V) must be below "
		       "[protection] cell_overvoltage (%.3f V)",
		       l->cell_target, g->cell_overvoltage);
	else if (l->discharge_derate_end <= g->cell_undervoltage)
		report(p, line,
		       "[limits] discharge_derate_end (%.3f V) must be above "
		       "[protection] cell_undervoltage (%.3f V)",
		       l->discharge_derate_end, g->cell_undervoltage);
}

bool cfg_mqtt_broker_parse(const char *url, bool *tls, char *host,
			   size_t hostlen, unsigned *port, char *why,
			   size_t whylen)
{
	char spec[CFG_PATH_LEN + 8];
	struct tcpaddr a;
	const char *rest;

	*tls = strncmp(url, "mqtts://", 8) == 0;
	if (*tls)
		rest = url + 8;
	else if (strncmp(url, "mqtt://", 7) == 0)
		rest = url + 7;
	else {
		snprintf(why, whylen,
			 "'%s' is not mqtt://HOST:PORT or mqtts://HOST:PORT",
			 url);
		return false;
	}
	if (strncmp(rest, "localhost:", 10) == 0) {
		snprintf(spec, sizeof(spec), "tcp://127.0.0.1:%s", rest + 10);
	} else {
		snprintf(spec, sizeof(spec), "tcp://%s", rest);
	}
	if (tcpaddr_parse(spec, &a, NULL, 0) < 0) {
		snprintf(why, whylen,
			 "'%s': HOST must be an IP address (192.168.1.5, "
			 "[fd00::5]) or localhost and PORT 1..65535: a host "
			 "name would be resolved on the event loop, which "
			 "must never wait",
			 url);
		return false;
	}
	snprintf(host, hostlen, "%s", a.host);
	*port = a.port;
	return true;
}

/* A topic level prefix: no wildcard, no empty level at either end. */
static void check_topic_prefix(struct cfg_parse *p, const char *key,
			       const char *v)
{
	size_t n = strlen(v);

	if (strpbrk(v, "+#") || v[0] == '/' || v[n - 1] == '/')
		report(p, slot_key_line(p, SECT_MQTT, SLOT_MQTT, key),
		       "%s: '%s' is not a topic prefix (no + or #, no / at "
		       "either end)",
		       key, v);
}

/* [mqtt] as a whole: a broker that can be reached without resolving a
 * name, a client certificate with its key, TLS files only with TLS. */
static void check_mqtt(struct cfg_parse *p)
{
	struct cfg_mqtt *m = &p->c->mqtt;
	char host[64], why[CFG_PATH_LEN + 200];
	unsigned port;
	bool tls;
	int l;

	if (!m->line)
		return;
	l = slot_key_line(p, SECT_MQTT, SLOT_MQTT, "broker");
	if (!l) {
		report(p, m->line, "[mqtt] needs broker = mqtt://HOST:PORT");
		return;
	}
	if (!cfg_mqtt_broker_parse(m->broker, &tls, host, sizeof(host), &port,
				   why, sizeof(why))) {
		report(p, l, "broker: %s", why);
		return;
	}
	if (!m->cert_file[0] != !m->key_file[0])
		report(p, m->line,
		       "[mqtt] cert_file and key_file go together (a client "
		       "certificate needs its key)");
	if (!tls && (m->ca_file[0] || m->cert_file[0]))
		report(p, m->line,
		       "[mqtt] ca_file / cert_file need broker = mqtts://");
	check_topic_prefix(p, "topic_prefix", m->topic_prefix);
	check_topic_prefix(p, "discovery_prefix", m->discovery_prefix);
	if (m->password_file[0] && !m->username[0])
		report(p,
		       slot_key_line(p, SECT_MQTT, SLOT_MQTT, "password_file"),
		       "password_file: a password needs a username");
}

static void check_file(struct cfg_parse *p)
{
	int nerr;

	if (!p->any_port_section) {
		report(p, 0,
		       "no [port NAME] section: at least one battery port is "
		       "required");
	} else {
		for (unsigned i = 0; i < p->c->nports; i++) {
			check_link(p, i);
			check_required(p, i);
			check_devices(p, i);
			check_addressing(p, i);
		}
		if (p->c->nports)
			check_counts(p);
	}
	check_lines(p);
	nerr = p->nerr;
	check_protection(p);
	check_metrics(p);
	check_can(p);
	if (p->nerr == nerr) /* against a valid [protection] only */
		check_limits(p);
	check_mqtt(p);
}

static int parse(struct cfg *c, const char *name, FILE *f, const char *str,
		 FILE *errs)
{
	struct cfg_parse *p = calloc(1, sizeof(*p));
	struct cfg *tmp = malloc(sizeof(*tmp));
	int r, nerr;

	if (!p || !tmp) {
		free(p);
		free(tmp);
		if (errs)
			fprintf(errs, "%s: out of memory\n", name);
		return 1;
	}
	cfg_defaults(tmp);
	p->c = tmp;
	p->name = name;
	p->errs = errs;
	p->f = f;
	p->str = str;
	r = ini_parse_stream(read_line, p, on_key, p);
	if (r > 0 && r != p->first_syntax_line)
		report(p, r, "syntax error"); /* one we did not foresee */
	else if (r < 0)
		report(p, 0, "cannot parse (inih error %d)", r);
	if (f && ferror(f))
		report(p, 0, "read error: %s", strerror(errno));
	else
		check_file(p);
	nerr = p->nerr;
	if (nerr == 0)
		*c = *tmp;
	free(p);
	free(tmp);
	return nerr;
}

int cfg_load(struct cfg *c, const char *path, FILE *errs)
{
	FILE *f = fopen(path, "re");
	int n;

	if (!f) {
		if (errs)
			fprintf(errs, "%s: cannot open: %s\n", path,
				strerror(errno));
		return 1;
	}
	n = parse(c, path, f, NULL, errs);
	fclose(f);
	return n;
}

int cfg_load_string(struct cfg *c, const char *name, const char *text,
		    FILE *errs)
{
	return parse(c, name, NULL, text, errs);
}

/* ---- documentation ------------------------------------------------------ */

static const char *default_text(const struct cfg_key *k)
{
	if (k->def)
		return k->def;
	if (k->required)
		return "(required)";
	return k->unset ? k->unset : "(protocol default)";
}

static void range_text(const struct cfg_key *k, char *buf, size_t n)
{
	if (k->min || k->max)
		snprintf(buf, n, "%s..%s", k->min ? k->min : "0",
			 k->max ? k->max : "");
	else if (k->type == T_BOOL)
		snprintf(buf, n, "%s", BOOL_WORDS);
	else if (k->type == T_LOGLEVEL)
		snprintf(buf, n, "%s", LOGLEVEL_WORDS);
	else if (k->type == T_PROTOCOL)
		snprintf(buf, n, "%s", drv_names());
	else if (k->type == T_ADDRLIST)
		snprintf(buf, n, "0..%d, at most %d", CFG_MAX_ADDR,
			 CFG_MAX_ADDRS);
	else if (k->type == T_FUNCTION)
		snprintf(buf, n, "%s", FUNCTION_WORDS);
	else if (k->type == T_DRIVE)
		snprintf(buf, n, "%s", DRIVE_WORDS);
	else if (k->type == T_BIAS)
		snprintf(buf, n, "%s", BIAS_WORDS);
	else if (k->type == T_PREALARM)
		snprintf(buf, n, "%s", PREALARM_WORDS);
	else if (k->type == T_SIGN)
		snprintf(buf, n, "%s", SIGN_WORDS);
	else
		snprintf(buf, n, "-");
}

void cfg_print_keys(FILE *out)
{
	char range[256];

	for (size_t i = 0; i < NKEYS; i++) {
		range_text(&keys[i], range, sizeof(range));
		fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\n",
			sect_names[keys[i].sect], keys[i].key,
			type_names[keys[i].type], default_text(&keys[i]), range,
			keys[i].desc);
	}
}
