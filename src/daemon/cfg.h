/* SPDX-License-Identifier: MIT */
/*
 * cfg.h - /etc/smallbms/smallbms.conf, parsed with inih.
 *
 * Every key is described once, in the table in cfg.c (name, type,
 * default, range, meaning); the parser, the defaults and the
 * documentation check all read that table. Every error is reported as
 * "FILE:LINE: message"; unknown sections and keys are errors.
 */
#ifndef SMALLBMS_CONFIG_H
#define SMALLBMS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "charge_limits.h"
#include "gpio.h"
#include "guard.h"

#define CFG_MAX_PORTS     16
#define CFG_MAX_ADDRS     64
#define CFG_MAX_BATTERIES 50 /* smallBMS NG limit for 12/24 V banks */
#define CFG_NAME_LEN      64
#define CFG_PATH_LEN      256
#define CFG_MAX_OUTPUTS   8

struct cfg_port {
	char name[CFG_NAME_LEN]; /* from the section: [port NAME] */
	/* Exactly one of device and usb_serial is set (the other is ""). */
	char device[CFG_PATH_LEN];     /* /dev/..., /dev/serial/by-id/..., or
				      tcp://HOST:PORT (an RS485 gateway) */
	char usb_serial[CFG_NAME_LEN]; /* the adapter's USB serial number */
	char protocol[CFG_NAME_LEN];   /* driver name, see drv_find() */
	unsigned baud;                 /* 0 = protocol default */
	unsigned timeout_ms;           /* 0 = protocol default */
	unsigned naddrs;
	unsigned addrs[CFG_MAX_ADDRS];
	/* "addresses = scan LIST": addrs are candidates, probed at start and
	 * every rescan_interval; only those that answer are batteries. */
	bool scan;
	unsigned expect; /* with scan: fewer found is an incomplete bank */
	/* A battery here without temperature does not block charging. */
	bool charge_without_temperature;
	/* current_sign = inverted: the batteries here count the current the
	 * other way round (the chain turns it: + = charging inside). */
	bool current_inverted;
	int line; /* where the section starts */
};

/* What an [output NAME] does; "active" is the logical (driven) state. */
enum cfg_output_function {
	CFG_OUT_LOAD,            /* ATD: active = discharge allowed */
	CFG_OUT_CHARGE,          /* ATC: active = charge allowed */
	CFG_OUT_PREALARM,        /* active = pre-alarm on */
	CFG_OUT_LOAD_AND_CHARGE, /* active only while both are allowed */
	CFG_OUT_ERROR_LED,       /* solid on alarm, blinking on warning */
	CFG_OUT_STATUS_LED,      /* solid when all is well, else slow blink */
};

struct cfg_output {
	char name[CFG_NAME_LEN]; /* from the section: [output NAME] */
	enum cfg_output_function function;
	/* line: name, or chip + offset; drive, bias, active_low */
	struct gpio_line_spec line;
	int line_no; /* where the section starts */
};

/* [input remote]: the Remote on/off input. */
struct cfg_input {
	/* line: name, or chip + offset; bias, active_low, debounce_us */
	struct gpio_line_spec line;
	int line_no; /* where the section starts */
};

/* [metrics] */
struct cfg_metrics {
	char textfile[CFG_PATH_LEN]; /* "" = no metrics file */
	unsigned interval_ms;        /* how often it is written */
};

/* [mqtt]: the state on an MQTT broker (src/mqtt/). Off when broker is "". */
struct cfg_mqtt {
	char broker[CFG_PATH_LEN]; /* mqtt://HOST:PORT or mqtts://HOST:PORT */
	char ca_file[CFG_PATH_LEN];
	char cert_file[CFG_PATH_LEN];
	char key_file[CFG_PATH_LEN];
	char username[CFG_NAME_LEN];
	char password_file[CFG_PATH_LEN]; /* "": $CREDENTIALS_DIRECTORY */
	char client_id[CFG_NAME_LEN];
	unsigned qos;
	char topic_prefix[CFG_NAME_LEN];
	unsigned min_interval_ms; /* a changed state at most this often */
	unsigned heartbeat_ms;    /* an unchanged state again after this */
	unsigned max_queued;      /* outgoing messages kept, drop-oldest */
	bool cells;               /* cell voltages in the battery topics */
	bool discovery;           /* Home Assistant discovery */
	char discovery_prefix[CFG_NAME_LEN];
	bool allow_commands; /* PREFIX/set/mode, PREFIX/set/sync */
	bool venus;          /* PREFIX/venus for dbus-mqtt-battery */
	int line;            /* of the [mqtt] section; 0: none */
};

struct cfg {
	/* [general] */
	unsigned poll_interval_ms;
	unsigned stale_after_ms;
	unsigned series;             /* batteries per series string */
	unsigned rescan_interval_ms; /* "addresses = scan": probe again */
	char socket_path[CFG_PATH_LEN];
	char state_dir[CFG_PATH_LEN];
	bool dry_run;
	char dry_run_dir[CFG_PATH_LEN]; /* "" = dry-run lines in memory only */
	int log_level; /* syslog priority: LOG_ERR .. LOG_DEBUG */
	/* Members may change the daemon's state (root always may); only the
	 * name: the daemon resolves it. */
	char admin_group[CFG_NAME_LEN];

	unsigned nports;
	struct cfg_port ports[CFG_MAX_PORTS];

	unsigned noutputs;
	struct cfg_output outputs[CFG_MAX_OUTPUTS];
	bool have_remote; /* false: no remote input, i.e. always on */
	struct cfg_input remote;

	/* [protection]: every key is the field of the same name (without
	 * _us); what is not set keeps guard_settings_default(). The run-time
	 * settings' fields (prealarm_cell, low_soc_warning, discharge_floor)
	 * stay at their defaults here: settings_to_guard() sets them. Valid:
	 * it passed settings_check() with settings_default(). */
	struct guard_settings protection;

	/* [metrics]: the Prometheus text file (metrics.c); "" = none. */
	struct cfg_metrics metrics;
	/* [can] (have_can: the section is there): the CAN-bus BMS output.
	 * [limits]: what it sends (charge_limits.h); limits_settings_check()
	 * holds, and cell_target / discharge_derate_end are inside the
	 * [protection] cell limits. */
	bool have_can;
	/* [limits] is there: the limit engine runs (status, MQTT) even
	 * without a [can] link. */
	bool have_limits;
	char can_interface[CFG_NAME_LEN];
	char can_profile[CFG_NAME_LEN]; /* can_profile_parse() knows it */
	struct limits_settings limits;
	struct cfg_mqtt mqtt;
};

/* Defaults for every key (what an empty file gives). */
void cfg_defaults(struct cfg *c);

/*
 * Parse a file. Every error is written to errs as "FILE:LINE: message\n";
 * returns the number of errors (0 = valid). A file that cannot be opened is
 * one error naming the file.
 */
int cfg_load(struct cfg *c, const char *path, FILE *errs);

/* Same, from a string (tests); name is used in messages. */
int cfg_load_string(struct cfg *c, const char *name, const char *text,
		    FILE *errs);

/* "load", "charge", "prealarm", "load-and-charge", "error-led",
 * "status-led". */
const char *cfg_output_function_name(enum cfg_output_function f);

/* Print the key table (section, key, type, default, description) for the
 * documentation check. */
void cfg_print_keys(FILE *out);

/* broker = mqtt[s]://HOST:PORT split; false (why set) if malformed. The
 * host must be an IP literal or "localhost": resolving a name would
 * block the event loop (getaddrinfo) where protection decisions run. */
bool cfg_mqtt_broker_parse(const char *url, bool *tls, char *host,
			   size_t hostlen, unsigned *port, char *why,
			   size_t whylen);

#endif
