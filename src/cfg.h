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

#define CFG_MAX_PORTS     16
#define CFG_MAX_ADDRS     64
#define CFG_MAX_BATTERIES 50 /* smallBMS NG limit for 12/24 V banks */
#define CFG_NAME_LEN      64
#define CFG_PATH_LEN      256

struct cfg_port {
	char name[CFG_NAME_LEN];     /* from the section: [port NAME] */
	char device[CFG_PATH_LEN];   /* /dev/..., /dev/serial/by-id/... */
	char protocol[CFG_NAME_LEN]; /* driver name, see drv_find() */
	unsigned baud;               /* 0 = protocol default */
	unsigned timeout_ms;         /* 0 = protocol default */
	unsigned naddrs;
	unsigned addrs[CFG_MAX_ADDRS];
	int line; /* where the section starts */
};

struct cfg {
	/* [general] */
	unsigned poll_interval_ms;
	unsigned stale_after_ms;
	unsigned series; /* batteries per series string */
	char socket_path[CFG_PATH_LEN];
	char state_dir[CFG_PATH_LEN];
	bool dry_run;
	int log_level; /* syslog priority: LOG_ERR .. LOG_DEBUG */

	unsigned nports;
	struct cfg_port ports[CFG_MAX_PORTS];
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

/* Print the key table (section, key, type, default, description) for the
 * documentation check. */
void cfg_print_keys(FILE *out);

#endif
