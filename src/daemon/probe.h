/* SPDX-License-Identifier: MIT */
/*
 * probe.h - smallbmsd --probe DEVICE: which protocol the batteries on a
 * line speak, at which baud rate and addresses, and the [port] section
 * that reads them.
 *
 * Every driver of the registry is tried at its usual baud rates and
 * addresses with read requests only (the driver's own steps), one at a
 * time, each bounded by a deadline. Synchronous: the daemon's loop does
 * not run in probe mode.
 */
#ifndef SMALLBMS_PROBE_H
#define SMALLBMS_PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The exit status of smallbmsd --probe (documented in smallbmsd(8)). */
enum probe_status {
	PROBE_FOUND = 0,   /* a protocol answered: the section is printed */
	PROBE_NOTHING = 1, /* nothing answered any protocol */
	PROBE_USAGE = 2,   /* bad option */
	PROBE_DEVICE = 3,  /* cannot open, or another process holds it */
	PROBE_MASTER = 4,  /* another master polls the bus (JK-PB at 0) */
};

#define PROBE_TIMEOUT_MIN_MS 20
#define PROBE_TIMEOUT_MAX_MS 5000

struct probe_opts {
	const char *device;  /* a device path or tcp://HOST:PORT */
	unsigned timeout_ms; /* per request; 0: each protocol's own */
};

/* Probe o->device, report to out; returns an enum probe_status. */
int probe_run(const struct probe_opts *o, FILE *out);

/*
 * The longest a probe of a line where nothing answers takes, in ms: the
 * timeout of every first address of every plan entry and every listen
 * (timeout_ms 0: each protocol's own). Printed before the first request;
 * kept under about 20 s with each protocol's own timeouts.
 */
uint64_t probe_silent_ms(bool tcp, unsigned timeout_ms);

#endif
