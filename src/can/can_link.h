/* SPDX-License-Identifier: MIT */
/*
 * can_link.h - the [can] output: the frames of can_frames.h sent every
 * second on a SocketCAN interface (PF_CAN, SOCK_RAW, non-blocking, in the
 * daemon's sd-event loop), or, in dry-run mode with dry_run_dir, appended
 * to DIR/can-NAME.log in candump -l format.
 *
 * A write never blocks the loop: a full queue (EAGAIN, ENOBUFS) drops the
 * rest of that cycle's frames, counted. Error frames are read: bus-off and
 * error-passive are counted, shown in status and said in the journal, and
 * the return to error-active (the kernel's restart after bus-off:
 * systemd-networkd [CAN] RestartSec=) likewise. An inverter's keep-alive
 * (0x305) is watched: seen, or missing for 10 s (can_keepalive.h).
 *
 * The limits and the flags are advice to the inverter; the GPIO lines
 * stay the protection and never wait for this output.
 */
#ifndef SMALLBMS_CAN_LINK_H
#define SMALLBMS_CAN_LINK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "bank.h"
#include "can_frames.h"
#include "charge_limits.h"
#include "guard.h"

#define CANLINK_PERIOD_US 1000000ULL

struct can_link;

/*
 * interface (e.g. "can0"), profile; dry_run_dir non-NULL: the log file
 * instead of a socket. NULL with err set if the socket cannot be opened
 * (an interface that does not exist yet is not an error: it is retried
 * every 10 s, and status says "down").
 */
struct can_link *canlink_new(sd_event *ev, const char *interface,
			     enum can_profile profile, const char *dry_run_dir,
			     char *err, size_t errlen);
void canlink_free(struct can_link *l);

/* The state to send from now on. A charge or discharge enable that turns
 * off is sent at once (the inverter stops within this decision); the rest
 * at the next 1 s tick. */
void canlink_update(struct can_link *l, const struct can_state *s);

/* The state the frames carry, from the bank, the guard and the limits. */
void canlink_state(const struct bank *b, const struct guard_output *g,
		   const struct limits_output *lim, double soc,
		   struct can_state *s);

/* {"interface", "profile", "backend", "state", "frames_sent", ...} */
json_t *canlink_json(const struct can_link *l, uint64_t now);

#endif
