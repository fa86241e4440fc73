/* SPDX-License-Identifier: MIT */
/*
 * ha.h - Home Assistant MQTT discovery configurations for the bank and
 * each battery (pure: JSON in, JSON out, no I/O). One HA device per bank
 * and per battery; every entity reads a JSON state topic with a
 * value_template, is unavailable while PREFIX/status is "offline" and
 * expires after three heartbeats without a state.
 *
 * Unknown stays unknown: a null value renders as "None", which Home
 * Assistant shows as unknown, never as 0.
 */
#ifndef SMALLBMS_HA_H
#define SMALLBMS_HA_H

#include <jansson.h>
#include <stddef.h>

#include "cfg.h"

/* Called with each discovery topic and its config (NULL: remove it,
 * i.e. publish an empty retained payload). */
typedef void (*ha_emit_fn)(void *userdata, const char *topic,
			   const json_t *config);

/* The bank's device and entities (state topic PREFIX/bank, history
 * PREFIX/history). */
void ha_bank(const struct cfg_mqtt *c, const char *version, ha_emit_fn emit,
	     void *userdata);

/* A battery's id for unique_id and topics: "PREFIX_SERIAL" when the
 * battery says its serial number, else "PREFIX_PORT_ADDRESS"; only
 * [A-Za-z0-9_-]. battery is status_battery_json()'s object. */
void ha_battery_id(const struct cfg_mqtt *c, const json_t *battery, char *id,
		   size_t len);

/* The battery's device and entities (state topic PREFIX/battery/INDEX);
 * with battery NULL, the removal (empty config) of every entity of id. */
void ha_battery(const struct cfg_mqtt *c, const char *id, const json_t *battery,
		ha_emit_fn emit, void *userdata);

#endif
