/* SPDX-License-Identifier: MIT */
/*
 * evprio.h - the event loop's priorities: what protection needs first.
 *
 * sd-event dispatches one pending source per loop turn, the lowest
 * priority value first and, among equals, the one pending longest. With
 * every source at the same priority, a battery's answer that arrives
 * while a control request is already pending waits for that request to
 * be answered: the reaction to a bad cell would depend on how busy the
 * clients keep the loop (#18).
 *
 *   EVPRIO_PROTECT  the batteries' ports and the chain's tick, the
 *                   decision timer, the remote input, the watchdog and
 *                   the signals: everything a decision or the safe state
 *                   needs. sd-event's default, so a source nobody thought
 *                   about is never put behind the services.
 *   EVPRIO_SERVICE  the control socket, MQTT, CAN: served once nothing
 *                   of the above is pending.
 *   (the metrics file: SD_EVENT_PRIORITY_IDLE, metrics.c)
 *
 * The order is strict: a source of the first group that is pending at
 * every turn would starve the second. Only a port flooded faster than the
 * loop drains it can do that (a pty or a TCP gateway; a serial line at
 * 115200 baud brings a byte per 87 us at most, in chunks), so a port that
 * was readable RX_BURST times in RX_WINDOW_US rests for the rest of that
 * window (chain.c; test_chain's flood case) and the control socket gets
 * its turn. The other way round, the clients could hold back a
 * disconnect.
 */
#ifndef SMALLBMS_EVPRIO_H
#define SMALLBMS_EVPRIO_H

#include <systemd/sd-event.h>

enum {
	EVPRIO_PROTECT = SD_EVENT_PRIORITY_NORMAL,
	EVPRIO_SERVICE = SD_EVENT_PRIORITY_NORMAL + 10,
};

#endif
