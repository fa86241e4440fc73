/* SPDX-License-Identifier: MIT */
/*
 * ha.c - Home Assistant discovery (see ha.h). The keys used are those of
 * HA's MQTT sensor and binary_sensor documentation; tests/data/
 * ha_discovery_keys.json lists the allowed ones and tests/e2e/mqtt.sh
 * checks every payload sent against it.
 */
#include <config.h>

#include "ha.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* One entity: a field of a JSON state topic. */
struct ha_entity {
	const char *component; /* "sensor" or "binary_sensor" */
	const char *object;    /* object id, the field's short name */
	const char *name;
	const char *field;        /* key in the state JSON */
	const char *device_class; /* NULL: none */
	const char *state_class;  /* sensors only; NULL: none */
	const char *unit;         /* NULL: none */
	const char *topic;        /* state sub-topic; NULL: the device's */
	const char *template_;    /* NULL: {{ value_json.FIELD }} */
	bool cells;               /* only with cells = yes */
};

#define SENSOR(o, n, f, dc, sc, u)                                             \
	{                                                                      \
		"sensor", o, n, f, dc, sc, u, NULL, NULL, false                \
	}
#define BINARY(o, n, f, dc)                                                    \
	{                                                                      \
		"binary_sensor", o, n, f, dc, NULL, NULL, NULL, NULL, false    \
	}

/* The limit engine's output is null without [limits] or [can]: its
 * sensors then show unknown. */
#define LIMIT(o, n, f, dc, u)                                                  \
	{                                                                      \
		"sensor", o, n, f, dc, "measurement", u, NULL,                 \
			"{{ value_json.limits." f                              \
			" if value_json.limits else None }}",                  \
			false                                                  \
	}

static const struct ha_entity bank_entities[] = {
	LIMIT("cvl", "Charge voltage limit", "cvl", "voltage", "V"),
	LIMIT("ccl", "Charge current limit", "ccl", "current", "A"),
	LIMIT("dcl", "Discharge current limit", "dcl", "current", "A"),
	SENSOR("voltage", "Voltage", "voltage", "voltage", "measurement", "V"),
	SENSOR("current", "Current", "current", "current", "measurement", "A"),
	SENSOR("power", "Power", "power", "power", "measurement", "W"),
	SENSOR("soc", "State of charge", "soc", "battery", "measurement", "%"),
	SENSOR("consumed_ah", "Consumed", "consumed_ah", NULL, "measurement",
	       "Ah"),
	SENSOR("time_remaining", "Time remaining", "time_remaining", "duration",
	       "measurement", "s"),
	SENSOR("min_cell_voltage", "Lowest cell", "min_cell_voltage", "voltage",
	       "measurement", "V"),
	SENSOR("max_cell_voltage", "Highest cell", "max_cell_voltage",
	       "voltage", "measurement", "V"),
	SENSOR("min_temperature", "Lowest temperature", "min_temperature",
	       "temperature", "measurement", "°C"),
	SENSOR("max_temperature", "Highest temperature", "max_temperature",
	       "temperature", "measurement", "°C"),
	{"sensor", "min_cell_at", "Lowest cell at", "min_cell_at", NULL, NULL,
	 NULL, NULL,
	 "{{ 'battery %s cell %s' % (value_json.min_cell_at.battery, "
	 "value_json.min_cell_at.cell) if value_json.min_cell_at else None }}",
	 false},
	{"sensor", "max_cell_at", "Highest cell at", "max_cell_at", NULL, NULL,
	 NULL, NULL,
	 "{{ 'battery %s cell %s' % (value_json.max_cell_at.battery, "
	 "value_json.max_cell_at.cell) if value_json.max_cell_at else None }}",
	 false},
	{"sensor", "charge_reasons", "Charge blocked by", "charge_reasons",
	 NULL, NULL, NULL, NULL, "{{ value_json.charge_reasons | join(', ') }}",
	 false},
	{"sensor", "discharge_reasons", "Discharge blocked by",
	 "discharge_reasons", NULL, NULL, NULL, NULL,
	 "{{ value_json.discharge_reasons | join(', ') }}", false},
	{"sensor", "mode", "Mode", "mode", NULL, NULL, NULL, NULL, NULL, false},
	BINARY("allowed_to_charge", "Allowed to charge", "allowed_to_charge",
	       NULL),
	BINARY("allowed_to_discharge", "Allowed to discharge",
	       "allowed_to_discharge", NULL),
	BINARY("prealarm", "Pre-alarm", "prealarm", "problem"),
	BINARY("alarm", "Alarm", "alarm", "problem"),
	BINARY("warning", "Warning", "warning", "problem"),
	{"sensor", "charged_energy", "Charged energy", "charged_energy_kwh",
	 "energy", "total_increasing", "kWh", "history", NULL, false},
	{"sensor", "discharged_energy", "Discharged energy",
	 "discharged_energy_kwh", "energy", "total_increasing", "kWh",
	 "history", NULL, false},
	{"sensor", "ah_drawn", "Ah drawn", "cumulative_ah_drawn", NULL,
	 "total_increasing", "Ah", "history", NULL, false},
	{"sensor", "cycles", "Cycles", "cycles", NULL, "total_increasing", NULL,
	 "history", NULL, false},
};

static const struct ha_entity battery_entities[] = {
	SENSOR("voltage", "Voltage", "voltage", "voltage", "measurement", "V"),
	SENSOR("current", "Current", "current", "current", "measurement", "A"),
	SENSOR("soc", "State of charge", "soc", "battery", "measurement", "%"),
	SENSOR("remaining_ah", "Remaining", "remaining_ah", NULL, "measurement",
	       "Ah"),
	{"sensor", "cycles", "Cycles", "cycles", NULL, "total_increasing", NULL,
	 NULL, NULL, false},
	{"sensor", "min_cell_voltage", "Lowest cell", "cells", "voltage",
	 "measurement", "V", NULL,
	 "{{ value_json.cells | reject('none') | min "
	 "if value_json.cells else None }}",
	 true},
	{"sensor", "max_cell_voltage", "Highest cell", "cells", "voltage",
	 "measurement", "V", NULL,
	 "{{ value_json.cells | reject('none') | max "
	 "if value_json.cells else None }}",
	 true},
	BINARY("stale", "Stale", "stale", "problem"),
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static json_t *availability(const struct cfg_mqtt *c)
{
	char topic[CFG_NAME_LEN + 16];

	snprintf(topic, sizeof(topic), "%s/status", c->topic_prefix);
	return json_pack("[{s:s,s:s,s:s}]", "topic", topic, "payload_available",
			 "online", "payload_not_available", "offline");
}

static json_t *entity_config(const struct cfg_mqtt *c, const char *node,
			     const struct ha_entity *e, const char *state,
			     const json_t *device)
{
	char buf[512], uid[200];
	json_t *o = json_object();
	bool binary = strcmp(e->component, "binary_sensor") == 0;

	snprintf(uid, sizeof(uid), "%s_%s", node, e->object);
	json_object_set_new(o, "unique_id", json_string(uid));
	json_object_set_new(o, "name", json_string(e->name));
	json_object_set_new(o, "state_topic", json_string(state));
	if (e->template_)
		snprintf(buf, sizeof(buf), "%s", e->template_);
	else if (binary)
		snprintf(buf, sizeof(buf),
			 "{{ 'ON' if value_json.%s else 'OFF' }}", e->field);
	else
		snprintf(buf, sizeof(buf), "{{ value_json.%s }}", e->field);
	json_object_set_new(o, "value_template", json_string(buf));
	if (binary) {
		json_object_set_new(o, "payload_on", json_string("ON"));
		json_object_set_new(o, "payload_off", json_string("OFF"));
	}
	if (e->device_class)
		json_object_set_new(o, "device_class",
				    json_string(e->device_class));
	if (e->state_class)
		json_object_set_new(o, "state_class",
				    json_string(e->state_class));
	if (e->unit)
		json_object_set_new(o, "unit_of_measurement",
				    json_string(e->unit));
	json_object_set_new(o, "availability", availability(c));
	/* Three heartbeats without a state: the value is not current. */
	json_object_set_new(o, "expire_after",
			    json_integer(3 * ((c->heartbeat_ms + 999) / 1000)));
	json_object_set_new(o, "device", json_deep_copy(device));
	return o;
}

static void emit_all(const struct cfg_mqtt *c, const char *node,
		     const struct ha_entity *tab, size_t n,
		     const char *device_topic, const json_t *device,
		     ha_emit_fn emit, void *userdata)
{
	char topic[CFG_NAME_LEN * 2 + 256], state[CFG_NAME_LEN + 80];

	for (size_t i = 0; i < n; i++) {
		const struct ha_entity *e = &tab[i];
		json_t *cfg;

		snprintf(topic, sizeof(topic), "%s/%s/%s/%s/config",
			 c->discovery_prefix, e->component, node, e->object);
		if (!device || (e->cells && !c->cells)) {
			emit(userdata, topic, NULL);
			continue;
		}
		snprintf(state, sizeof(state), "%s/%s", c->topic_prefix,
			 e->topic ? e->topic : device_topic);
		cfg = entity_config(c, node, e, state, device);
		emit(userdata, topic, cfg);
		json_decref(cfg);
	}
}

void ha_bank(const struct cfg_mqtt *c, const char *version, ha_emit_fn emit,
	     void *userdata)
{
	char node[CFG_NAME_LEN + 8];
	json_t *dev;

	snprintf(node, sizeof(node), "%s_bank", c->topic_prefix);
	dev = json_pack("{s:[s],s:s,s:s,s:s,s:s}", "identifiers", node, "name",
			"Battery bank", "manufacturer", "smallbms", "model",
			"smallbms bank", "sw_version", version);
	emit_all(c, node, bank_entities, N(bank_entities), "bank", dev, emit,
		 userdata);
	json_decref(dev);
}

static void sanitize(char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			*s = '_';
}

void ha_battery_id(const struct cfg_mqtt *c, const json_t *battery, char *id,
		   size_t len)
{
	const char *serial =
		json_string_value(json_object_get(battery, "serial"));
	const char *port = json_string_value(json_object_get(battery, "port"));

	if (serial && *serial)
		snprintf(id, len, "%s_%s", c->topic_prefix, serial);
	else
		snprintf(id, len, "%s_%s_%lld", c->topic_prefix,
			 port ? port : "port",
			 (long long)json_integer_value(
				 json_object_get(battery, "address")));
	sanitize(id);
}

/* "manufacturer" is the protocol: what the battery page says of it. */
static json_t *battery_device(const char *id, const json_t *b)
{
	const char *model = json_string_value(json_object_get(b, "model"));
	const char *serial = json_string_value(json_object_get(b, "serial"));
	const char *fw = json_string_value(json_object_get(b, "firmware"));
	const char *proto = json_string_value(json_object_get(b, "protocol"));
	char name[96];
	json_t *d;

	snprintf(name, sizeof(name), "Battery %lld",
		 (long long)json_integer_value(json_object_get(b, "index")));
	d = json_pack("{s:[s],s:s,s:s,s:s}", "identifiers", id, "name", name,
		      "manufacturer", proto ? proto : "unknown", "model",
		      model ? model : (proto ? proto : "unknown"));
	if (serial)
		json_object_set_new(d, "serial_number", json_string(serial));
	if (fw)
		json_object_set_new(d, "sw_version", json_string(fw));
	return d;
}

void ha_battery(const struct cfg_mqtt *c, const char *id, const json_t *battery,
		ha_emit_fn emit, void *userdata)
{
	char topic[64];
	json_t *dev = NULL;

	if (battery) {
		char via[CFG_NAME_LEN + 8];

		dev = battery_device(id, battery);
		snprintf(via, sizeof(via), "%s_bank", c->topic_prefix);
		json_object_set_new(dev, "via_device", json_string(via));
		snprintf(topic, sizeof(topic), "battery/%lld",
			 (long long)json_integer_value(
				 json_object_get(battery, "index")));
	} else {
		topic[0] = '\0';
	}
	emit_all(c, id, battery_entities, N(battery_entities), topic, dev, emit,
		 userdata);
	json_decref(dev);
}
