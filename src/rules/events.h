/* SPDX-License-Identifier: MIT */
/*
 * events.h - the journal trail: every guard event (src/rules/guard.h) becomes
 * one journal entry with a fixed MESSAGE_ID per event kind (the key of its
 * entry in systemd/smallbms.catalog, shown by `journalctl -x`), a PRIORITY
 * and structured fields. Without journald, log.c writes the same entries
 * as readable lines on stderr.
 *
 * Fields (only those that apply are present):
 *   SMALLBMS_EVENT       output_off, output_on, reason_start, reason_end,
 *                        prealarm_on, prealarm_off, warning_start,
 *                        warning_end
 *   SMALLBMS_OUTPUT      charge (ATC), discharge (ATD), prealarm
 *   SMALLBMS_REASON      a reason token (guard_reason_name); for
 *                        warning_* and prealarm_on a warning token
 *                        (low_cell, low_soc); for prealarm_off the reason
 *                        the load was disconnected, absent if the warnings
 *                        simply ended
 *   SMALLBMS_REASONS     output events: every active reason, comma-separated
 *   SMALLBMS_BATTERY     1-based battery
 *   SMALLBMS_CELL        1-based cell (cell voltage events)
 *   SMALLBMS_SENSOR      1-based temperature sensor (temperature events)
 *   SMALLBMS_VALUE       the measured value, a plain number ...
 *   SMALLBMS_LIMIT       ... the threshold it crossed ...
 *   SMALLBMS_UNIT        ... and their unit: V, C, %, A, s
 *   SMALLBMS_PROTECTION  the battery's own protection flags (tokens of
 *                        bms_protection_name), comma-separated
 *   SMALLBMS_DURATION    seconds: how long the pre-alarm had been on (low
 *                        cell) or how long the reasons were clear (on)
 *
 * Priorities:
 *   reason_start   err for an alarm (a protective reason), notice for
 *                  starting / mode_off / remote_off (the user's doing)
 *   output_off     warning when an alarm switches it, else notice
 *   prealarm_on, warning_start            warning
 *   reason_end, output_on                 notice
 *   prealarm_off, warning_end             info
 */
#ifndef SMALLBMS_EVENTS_H
#define SMALLBMS_EVENTS_H

#include <stddef.h>

#include "guard.h"

#define EVENTS_MAX_FIELDS 16

/*
 * The journal entries that are not guard events, with their own catalog
 * entries (fixed: never change one):
 *   reading_rejected  a battery's reading had a physically impossible
 *                     value and was not used (chain.c; SMALLBMS_BATTERY,
 *                     SMALLBMS_PORT); at most one a minute per battery
 *   state_file        the state file could not be used in full (daemon.c;
 *                     SMALLBMS_RESULT partial or unusable); err when Mode
 *                     could not be read and is therefore Off
 *   can_state         the CAN link's state changed (can_link.c)
 *   can_keepalive     the inverter's keep-alive (0x305) seen or missing
 *                     (can_link.c)
 * Every one has its catalog entry (test_events checks the catalog against
 * this list).
 */
#define EVENTS_MSG_READING_REJECTED "dac1cb4a05724734ae55c23b8f4847f6"
#define EVENTS_MSG_STATE_FILE       "ddcd8e93616848e38f46c7a567697bac"
#define EVENTS_MSG_CAN_STATE        "4c0f6a2e9b8d4f51a3e7c2d95b6a1f08"
#define EVENTS_MSG_CAN_KEEPALIVE    "b3d1e8f2a4c64e7d9f0a5b2c8e1d7a36"

/*
 * Where entries go. fields is a NULL-terminated list of "KEY=value"
 * strings, valid only during the call. events_log_sink() is the daemon's:
 * log_event() from src/common/log.h.
 */
typedef void (*events_sink_fn)(void *userdata, int priority,
			       const char *message_id,
			       const char *const *fields, const char *message);

void events_log_sink(void *userdata, int priority, const char *message_id,
		     const char *const *fields, const char *message);

/* One entry per event, in order. */
void events_emit(const struct guard_event *ev, size_t n, events_sink_fn sink,
		 void *userdata);
/* events_emit() into the log. */
void events_log(const struct guard_event *ev, size_t n);

/* The MESSAGE_ID of a kind: 32 lowercase hex digits; NULL if unknown. */
const char *events_message_id(enum guard_event_kind k);
int events_priority(const struct guard_event *ev);
/* The message for people. Returns what snprintf would. */
int events_format(const struct guard_event *ev, char *buf, size_t len);

#endif
