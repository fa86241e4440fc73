/* SPDX-License-Identifier: MIT */
/*
 * mqtt.h - the connection to an MQTT broker ([mqtt]), on the daemon's
 * sd-event loop: libmosquitto's socket is watched by an IO source (EPOLLOUT
 * only while the library has bytes to write), mosquitto_loop_misc() runs
 * from a 1 s timer, and the connection is asynchronous
 * (mosquitto_connect_async() to an IP address: no name is resolved, see
 * cfg_mqtt_broker_parse()). Nothing here ever waits for the broker: a slow
 * or dead broker costs the loop one non-blocking read or write per event.
 *
 * What is sent goes through a bounded queue (max_queued, drop-oldest,
 * counted) and is handed to libmosquitto only while fewer than
 * MQTT_INFLIGHT of our messages are not yet written, so the library's own
 * queue (unbounded) stays small. While the broker is away nothing is
 * queued: every state is a latest value, and all of them (and the
 * discovery configurations) are sent again at each connection.
 */
#ifndef SMALLBMS_MQTT_H
#define SMALLBMS_MQTT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "cfg.h"

/* Journal MESSAGE_IDs (systemd/smallbms.catalog). */
#define MQTT_MSG_CONNECTED    "2c1eca925048481096036e7238973d32"
#define MQTT_MSG_DISCONNECTED "032a19a33ee84ddcabb6cb2cc8fbb24b"
#define MQTT_MSG_REFUSED      "55e18a0342024afa8cef4a78ff1f5b76"

/* Our messages handed to libmosquitto and not yet written. */
#define MQTT_INFLIGHT       20
/* Reconnection back-off: 1 s, doubled after each failure, at most 60 s. */
#define MQTT_BACKOFF_MIN_US 1000000ULL
#define MQTT_BACKOFF_MAX_US 60000000ULL

struct mqtt;

struct mqtt_ops {
	/* Connected (again): everything retained is to be sent again. */
	void (*connected)(void *userdata);
	/* allow_commands: PREFIX/set/WHAT with payload ARG, by WHO (the
	 * MQTT v5 user property "client", else "unidentified"). */
	void (*command)(void *userdata, const char *what, const char *arg,
			const char *who);
};

/* Reads the password (password_file or the systemd credential) now and
 * starts connecting; NULL with err on a configuration it cannot use. */
struct mqtt *mqtt_new(sd_event *ev, const struct cfg_mqtt *cfg,
		      const struct mqtt_ops *ops, void *userdata, char *err,
		      size_t errlen);
/* "offline" is sent (a clean stop: the will is not), then freed. */
void mqtt_free(struct mqtt *m);

bool mqtt_connected(const struct mqtt *m);
/* Would mqtt_state() send anything now (without force)? False when every
 * one of the expected topics was sent less than min_interval (and the
 * heartbeat) ago: the caller need not build their payloads at all. */
bool mqtt_any_due(const struct mqtt *m, uint64_t now, unsigned expected);
const struct cfg_mqtt *mqtt_cfg(const struct mqtt *m);

/*
 * A state under the prefix (PREFIX/SUB), not retained: queued when it
 * differs from the last one sent and min_interval has passed since, or
 * when heartbeat has passed; with force, whenever connected. The payload
 * is compact JSON (jansson's JSON_COMPACT | JSON_SORT_KEYS).
 */
void mqtt_state(struct mqtt *m, const char *sub, const json_t *payload,
		uint64_t now_us, bool force);
/* A retained message at a full topic ("" removes it); only connected. */
void mqtt_retained(struct mqtt *m, const char *topic, const char *payload);

/* {"connected", "broker", "published", "dropped", "connections",
 *  "failures", "last_error"} for the status answer. */
json_t *mqtt_status_json(const struct mqtt *m);

#endif
