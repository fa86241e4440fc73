/* SPDX-License-Identifier: MIT */
/*
 * sim_replay.h - a responder that answers from captured traffic.
 *
 * Requests are matched by their identity, never by their bytes: JBD by
 * register; the "~" family by address and CID2, and a stack read (0x42
 * whose command value is 0xFF) by CID2 alone, under the pseudo-address
 * 0xFF. So a request the daemon forms differently from the capture (LENID
 * 2 where the capture has LENID 4, another command value) still gets the
 * captured answer. A request is only taken when it is valid (checksums).
 *
 * Captured answers go out verbatim. When one identity was captured
 * several times, its outcomes are replayed in capture order and the last
 * one repeats; a request with nothing captured gets silence, like a
 * captured request that was not answered.
 *
 * The batteries of a replay line are the addresses the capture's requests
 * go to (sim_replay_addresses); their models are not used, only their
 * communication faults (silent, delay...) and counters.
 */
#ifndef BMSSIM_SIM_REPLAY_H
#define BMSSIM_SIM_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "sim_capture.h"
#include "sim_proto.h"

#define SIM_REPLAY_STACK 0xFF /* pseudo-address of stack reads */

extern const struct sim_proto_ops sim_replay_ops;

/* What a request asks, whatever its bytes. */
struct sim_replay_id {
	unsigned address; /* "~": ADR, or SIM_REPLAY_STACK; JBD: 0 */
	uint8_t command;  /* "~": CID2; JBD: the register */
};

/*
 * Identity of one complete request of family f; 0, or -1 when the bytes
 * are not exactly one valid request.
 */
int sim_replay_identify(enum sim_family f, const uint8_t *req, size_t len,
			unsigned *header_address, struct sim_replay_id *id);

/*
 * The addresses the capture's requests are sent to, ascending and
 * distinct (JBD: one battery, address 0). Returns how many, or -1 with
 * "LINE: why" in err when a captured request is not valid or there are
 * more than max.
 */
int sim_replay_addresses(const struct sim_capture *c, unsigned *addr,
			 unsigned max, char *err, size_t errlen);

#endif
