/* SPDX-License-Identifier: MIT */
/*
 * driver.h - the interface between the chain scheduler and a protocol.
 *
 * A driver is a table of pure functions over byte buffers: it builds the
 * requests of one poll, finds frames in received bytes and decodes them.
 * It never does I/O and never keeps state, so it can be unit-tested and
 * fuzzed on its own. The chain (chain.c) owns timing and transports.
 */
#ifndef SMALLBMS_DRIVER_H
#define SMALLBMS_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reading.h"

/* Large enough for a 16-pack "~" stack answer (about 1.9 KB). */
#define DRV_MAX_FRAME 4112

enum drv_scan {
	DRV_SCAN_NEED_MORE, /* no complete frame yet (after *skip bytes) */
	DRV_SCAN_FRAME,     /* a candidate frame at *skip, *len bytes */
};

enum drv_decode {
	DRV_OK = 0,              /* decoded into the reading */
	DRV_ERR_FRAME = -1,      /* malformed: framing, length or checksum */
	DRV_ERR_STATUS = -2,     /* well-formed, but the battery said error */
	DRV_ERR_UNEXPECTED = -3, /* well-formed, but not an answer to this */
	/* A valid frame of an answer that comes in several frames (Daly's
	 * cells): taken into the reading, more of this answer to come. The
	 * chain keeps the reading and waits for the next frame; the step's
	 * timeout covers the whole answer. Only an accumulating driver
	 * (below) returns it. */
	DRV_MORE = 1,
};

/* One request of a poll. "once" requests (model, serial) are repeated
 * only until they succeed once. A poll publishes the battery when every
 * step that is neither once nor optional succeeded; an optional step's
 * data (alarm flags a pack may not report) is used when it comes, and
 * once a battery has answered it, it is required of that battery. List
 * the step that carries the cells before the optional ones: a known
 * battery is asked its optional steps first, so the cells come last and
 * act at once (chain.c, poll_order). */
struct drv_step {
	uint8_t id;
	bool once;
	bool optional;
	const char *what;
};

struct bms_driver {
	const char *name;
	unsigned default_baud;
	unsigned default_timeout_ms;
	bool addressed; /* several batteries per port */
	/* decode() of a step that is not "once" is given the poll's reading
	 * so far (the earlier steps' values, and the frames of this answer
	 * already taken) instead of a cleared one, adds its data to it, and
	 * may return DRV_MORE; the chain takes that reading as the poll's
	 * after DRV_OK. A step may then depend on an earlier one (Daly: the
	 * cell count of 0x94 says how many 0x95 frames make the answer).
	 * decode() must leave it unchanged unless it returns DRV_OK or
	 * DRV_MORE. */
	bool accumulates;
	/* The addresses the protocol has, min_addr..max_addr (max_addr 0:
	 * 0..254, the configuration's range), and why, for the error. */
	unsigned min_addr, max_addr;
	const char *addr_hint;
	const struct drv_step *steps;
	unsigned nsteps;

	/* Request for step into buf (cap bytes); returns length, 0 on error. */
	size_t (*build_request)(const struct drv_step *step, unsigned addr,
				uint8_t *buf, size_t cap);
	/* Find the next candidate frame: bytes before *skip are garbage. */
	enum drv_scan (*scan)(const uint8_t *buf, size_t len, size_t *skip,
			      size_t *flen);
	/* Decode a candidate frame as the answer to step for addr. */
	enum drv_decode (*decode)(const struct drv_step *step, unsigned addr,
				  const uint8_t *frame, size_t len,
				  struct bms_reading *out);

	/*
	 * Optional (NULL if the protocol has none): a stack read, one request
	 * to the master at addr that answers step `stack_step` for every pack
	 * on the bus; out[i] is the pack at addr + i, *npacks the count the
	 * master reported.
	 */
	uint8_t stack_step;
	size_t (*build_stack)(unsigned addr, uint8_t *buf, size_t cap);
	int (*decode_stack)(const uint8_t *frame, size_t len, unsigned addr,
			    struct bms_reading *out, unsigned max,
			    unsigned *npacks);

	/*
	 * Optional (NULL: the protocol cannot tell): another master on the
	 * bus. foreign() says why a candidate frame that is not the echo of
	 * our request proves that someone else polls the packs (a request
	 * we did not send, a pack's unrequested frame), else NULL. The chain
	 * then stops polling the port and says why, and foreign_hint (what
	 * to change). listen_ms: how long the port must be free of such
	 * frames before it polls, after it was opened and after the last.
	 */
	const char *(*foreign)(const uint8_t *frame, size_t len);
	const char *foreign_hint;
	unsigned listen_ms;

	/*
	 * smallbmsd --probe (src/daemon/probe.c) tries every driver of the
	 * table at default_baud, then at alt_baud (0: none), another rate
	 * packs of this protocol commonly ship with. An addressed protocol
	 * is asked at its usual first addresses, probe_addr ..
	 * probe_addr + probe_naddrs - 1 (probe_naddrs 0: the configuration's
	 * default address 1, or min_addr, and the next one), then upwards
	 * while packs answer. read_by_write: the protocol's read requests
	 * are, on the wire, a write function (JK-PB reads by a Modbus FC16
	 * write of 0000 to a trigger register): the probe says so and shows
	 * the bytes it sends. Nothing else ever sends a write.
	 */
	unsigned alt_baud;
	unsigned probe_addr, probe_naddrs;
	bool read_by_write;
};

/* Lookup by configuration name ("jbd", ...); NULL if unknown. */
const struct bms_driver *drv_find(const char *name);
/* Comma-separated list of known names, for error messages. */
const char *drv_names(void);
/* The i-th driver of the registry, NULL past the last (--probe). */
const struct bms_driver *drv_at(size_t i);

#endif
