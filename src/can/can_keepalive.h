/* SPDX-License-Identifier: MIT */
/*
 * can_keepalive.h - the inverter's keep-alive (0x305) seen or missing:
 * pure, with the time passed in, so that the edge cases are tested
 * without a bus.
 *
 * The check runs from the 1 Hz send timer, whose time argument is the
 * tick's planned time; a frame read in the same loop turn is stamped with
 * the turn's time, which can be later. "Missing" is therefore only ever
 * concluded from a time after the last frame (an unsigned difference of a
 * later frame once read as 584,000 years and said "missing" 1 s after it
 * was seen; found in the VM, tests/vm/scenarios/15-can.sh).
 */
#ifndef SMALLBMS_CAN_KEEPALIVE_H
#define SMALLBMS_CAN_KEEPALIVE_H

#include <stdbool.h>
#include <stdint.h>

/* How long without a keep-alive before it is said missing. */
#define CAN_KEEPALIVE_LIMIT_US (10ULL * 1000000ULL)

struct can_keepalive {
	uint64_t last_us; /* when the last one was read; 0: never */
	uint64_t count;
	bool ok; /* seen, and not missing since */
};

/* A keep-alive read at now_us; true when that changes it to seen. */
bool can_keepalive_seen(struct can_keepalive *k, uint64_t now_us);

/* The check at now_us (which may be earlier than the last frame's
 * stamp); true when that changes it to missing. Never seen is not
 * "missing": nothing was expected. */
bool can_keepalive_check(struct can_keepalive *k, uint64_t now_us);

/* Seconds since the last one as of now_us; < 0: none yet. */
double can_keepalive_age(const struct can_keepalive *k, uint64_t now_us);

#endif
