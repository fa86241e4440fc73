/* SPDX-License-Identifier: MIT */
/*
 * sim_line.h - one simulated line: a link, a protocol responder and the
 * batteries behind it.
 *
 * The line glues the three together and applies each battery's
 * communication faults to the responder's answers, the same way for every
 * protocol: silent (drop), garbage (random bytes instead), corrupt (the
 * protocol spoils its checksum) and delay (answers are queued and sent
 * later, in real time). It also plays the RS485 echo when asked to. Randomness comes from a seeded generator, so a run
 * with the same --seed sends the same noise.
 */
#ifndef BMSSIM_SIM_LINE_H
#define BMSSIM_SIM_LINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "sim_link.h"
#include "sim_model.h"
#include "sim_proto.h"

struct sim_line;

struct sim_line_hooks {
	/* Bring every model up to the current simulated time. */
	void (*sync)(void *ctx);
	/* Something visible in the state file changed (an answer went out). */
	void (*changed)(void *ctx);
	void *ctx;
};

struct sim_line_cfg {
	unsigned number; /* 1-based, for messages */
	const struct sim_proto_ops *proto;
	struct sim_battery **bats; /* owned by the caller */
	unsigned nbats;
	bool stack; /* "~": the lowest address answers stack reads */
	const struct sim_capture *capture; /* replay; owned by the caller */
	/* RS485 echo: every received byte goes straight back, as a
	 * half-duplex adapter shows the host its own request. */
	bool echo;
	/* Wire timing: an answer also waits (request + answer bytes) x 10 /
	 * baud, as on a real line; 0 = none (a pty delivers at once). */
	unsigned baud;
	/* The packs' UART rate: bytes the host sends with its end of the
	 * line at another rate are not heard (a UART at the wrong rate reads
	 * framing errors only); 0 = any rate. */
	unsigned line_baud;
	uint64_t seed;
	bool verbose; /* log traffic to stderr */
	/* Every frame sent, with the CLOCK_MONOTONIC time after its write
	 * (bench/react.sh); NULL = none. */
	FILE *tx_log;
	struct sim_line_hooks hooks;
};

/* Takes ownership of link (closed by sim_line_free, also on failure). */
struct sim_line *sim_line_new(const struct sim_line_cfg *cfg,
			      struct sim_link *link);
int sim_line_start(struct sim_line *l, sd_event *ev);
const struct sim_link *sim_line_link(const struct sim_line *l);
void sim_line_free(struct sim_line *l);

/* xorshift64*: small, seedable, the same everywhere (not libc rand()). */
uint64_t sim_rand_next(uint64_t *state);
uint64_t sim_rand_seed(uint64_t seed);

#endif
