/* SPDX-License-Identifier: MIT */
/*
 * daemon_mqtt.c - what smallbmsd puts on MQTT ([mqtt], src/mqtt/): the
 * status answer's JSON (status.c, the same builders as smallbmsctl) on
 * PREFIX/bank, PREFIX/battery/N and PREFIX/history, the Venus OS feed on
 * PREFIX/venus, Home Assistant discovery (ha.c), and the two commands.
 *
 * Called after the lines were driven and the journal written
 * (on_chain_update), never before: MQTT is words, and the queue in mqtt.c
 * never waits for the broker.
 */
#include <config.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "ha.h"
#include "log.h"
#include "mqtt.h"
#include "status.h"

/* The batteries whose discovery was sent, to remove those that go. */
struct daemon_mqtt {
	struct mqtt *m;
	unsigned nids;
	char ids[CFG_MAX_BATTERIES][96];
	char sigs[CFG_MAX_BATTERIES][256]; /* what their device said */
	bool resend;                       /* connected: everything again */
};

static void emit_retained(void *userdata, const char *topic,
			  const json_t *config)
{
	struct mqtt *m = userdata;
	char *text = config ? json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS)
			    : NULL;

	mqtt_retained(m, topic, text ? text : "");
	free(text);
}

/* --- Venus OS: the JSON dbus-mqtt-battery reads ------------------------ */

static void venus_num(json_t *o, const char *key, const json_t *v)
{
	if (json_is_number(v))
		json_object_set_new(o, key, json_real(json_number_value(v)));
}

static void venus_cell_id(json_t *o, const char *key, const json_t *at)
{
	char buf[32];

	if (!json_is_object(at))
		return;
	snprintf(buf, sizeof(buf), "B%lldC%lld",
		 (long long)json_integer_value(json_object_get(at, "battery")),
		 (long long)json_integer_value(json_object_get(at, "cell")));
	json_object_set_new(o, key, json_string(buf));
}

/*
 * The keys of venus-os_dbus-mqtt-battery's README: Dc, Soc, capacities,
 * TimeToGo, System (cell and temperature extremes), Io (allowed). A value
 * this daemon does not have is left out, never 0; without voltage, power
 * and SoC (what the driver needs) nothing is sent, so the GX sees the
 * battery go silent rather than a made-up one. Info (MaxChargeVoltage,
 * MaxChargeCurrent, MaxDischargeCurrent) is the limit engine's output
 * when it runs ([limits] or [can]): DVCC then follows it; a limit the
 * engine does not have (no cells read yet) is left out.
 */
static json_t *venus_json(const json_t *st)
{
	json_t *o, *dc, *sys, *io;
	const json_t *v, *lim;

	if (!json_is_number(json_object_get(st, "voltage")) ||
	    !json_is_number(json_object_get(st, "power")) ||
	    !json_is_number(json_object_get(st, "soc")))
		return NULL;
	o = json_object();
	dc = json_object();
	venus_num(dc, "Voltage", json_object_get(st, "voltage"));
	venus_num(dc, "Current", json_object_get(st, "current"));
	venus_num(dc, "Power", json_object_get(st, "power"));
	venus_num(dc, "Temperature", json_object_get(st, "max_temperature"));
	json_object_set_new(o, "Dc", dc);
	venus_num(o, "Soc", json_object_get(st, "soc"));
	venus_num(o, "InstalledCapacity", json_object_get(st, "nominal_ah"));
	venus_num(o, "Capacity", json_object_get(st, "remaining_ah"));
	v = json_object_get(st, "consumed_ah");
	if (json_is_number(v)) /* ours is <= 0, the driver's positive */
		json_object_set_new(o, "ConsumedAmphours",
				    json_real(fabs(json_number_value(v))));
	venus_num(o, "TimeToGo", json_object_get(st, "time_remaining"));
	sys = json_object();
	venus_num(sys, "MinCellVoltage",
		  json_object_get(st, "min_cell_voltage"));
	venus_num(sys, "MaxCellVoltage",
		  json_object_get(st, "max_cell_voltage"));
	venus_cell_id(sys, "MinVoltageCellId",
		      json_object_get(st, "min_cell_at"));
	venus_cell_id(sys, "MaxVoltageCellId",
		      json_object_get(st, "max_cell_at"));
	venus_num(sys, "MinCellTemperature",
		  json_object_get(st, "min_temperature"));
	venus_num(sys, "MaxCellTemperature",
		  json_object_get(st, "max_temperature"));
	json_object_set_new(o, "System", sys);
	io = json_pack(
		"{s:i,s:i}", "AllowToCharge",
		json_is_true(json_object_get(st, "allowed_to_charge")),
		"AllowToDischarge",
		json_is_true(json_object_get(st, "allowed_to_discharge")));
	json_object_set_new(o, "Io", io);
	lim = json_object_get(st, "limits");
	if (json_is_object(lim)) {
		json_t *info = json_object();

		venus_num(info, "MaxChargeVoltage",
			  json_object_get(lim, "cvl"));
		venus_num(info, "MaxChargeCurrent",
			  json_object_get(lim, "ccl"));
		venus_num(info, "MaxDischargeCurrent",
			  json_object_get(lim, "dcl"));
		json_object_set_new(o, "Info", info);
	}
	return o;
}

/* --- discovery ----------------------------------------------------------- */

static void battery_signature(const json_t *b, char *sig, size_t len)
{
	const char *model = json_string_value(json_object_get(b, "model"));
	const char *serial = json_string_value(json_object_get(b, "serial"));
	const char *fw = json_string_value(json_object_get(b, "firmware"));

	snprintf(sig, len, "%lld|%s|%s|%s",
		 (long long)json_integer_value(json_object_get(b, "index")),
		 model ? model : "", serial ? serial : "", fw ? fw : "");
}

/* New or changed batteries get their entities, gone ones an empty
 * retained config each (Home Assistant removes them). */
static void discover_batteries(struct daemon *d, json_t *const *bat, unsigned n)
{
	struct daemon_mqtt *q = d->mq;
	const struct cfg_mqtt *c = mqtt_cfg(q->m);
	char ids[CFG_MAX_BATTERIES][96], sigs[CFG_MAX_BATTERIES][256];

	for (unsigned i = 0; i < n; i++) {
		unsigned j;

		ha_battery_id(c, bat[i], ids[i], sizeof(ids[i]));
		battery_signature(bat[i], sigs[i], sizeof(sigs[i]));
		for (j = 0; j < q->nids; j++)
			if (!strcmp(q->ids[j], ids[i]))
				break;
		if (q->resend || j == q->nids || strcmp(q->sigs[j], sigs[i]))
			ha_battery(c, ids[i], bat[i], emit_retained, q->m);
	}
	for (unsigned j = 0; j < q->nids; j++) {
		unsigned i;

		for (i = 0; i < n; i++)
			if (!strcmp(q->ids[j], ids[i]))
				break;
		if (i == n) {
			log_notice("mqtt: battery %s is gone: its Home "
				   "Assistant entities are removed",
				   q->ids[j]);
			ha_battery(c, q->ids[j], NULL, emit_retained, q->m);
		}
	}
	memcpy(q->ids, ids, sizeof(ids[0]) * n);
	memcpy(q->sigs, sigs, sizeof(sigs[0]) * n);
	q->nids = n;
}

/* --- states ---------------------------------------------------------------- */

static json_t *battery_state(struct daemon *d, unsigned i, uint64_t now)
{
	json_t *b = status_battery_json(d->chain, i, now);

	if (!b)
		return NULL;
	/* age changes at every scan: expire_after covers staleness. */
	json_object_del(b, "age");
	if (!mqtt_cfg(d->mq->m)->cells) {
		json_object_del(b, "cells");
		json_object_del(b, "balancing");
	}
	return b;
}

void daemon_mqtt_publish(struct daemon *d, json_t *status)
{
	struct daemon_mqtt *q = d->mq;
	json_t *bat[CFG_MAX_BATTERIES] = {0}, *st, *h, *v;
	uint64_t now = daemon_now(d);
	unsigned n = chain_count(d->chain);
	bool force;
	char sub[32];

	if (!q || !mqtt_connected(q->m))
		return;
	force = q->resend;
	if (n > CFG_MAX_BATTERIES)
		n = CFG_MAX_BATTERIES;
	/* Every topic sent within min_interval: mqtt_state() would drop all
	 * of them, so nothing is built (this runs at every port's scan). */
	if (!force && !mqtt_any_due(q->m, now, n + 2 + mqtt_cfg(q->m)->venus))
		return;
	/* A shallow copy: the socket's subscribers share the status. Without
	 * the diagnostics whose counters change every second (MQTT's own at
	 * every send, the CAN link's and the metrics writer's), or "publish on
	 * change" would send the bank every second; they are in the status
	 * and the metrics file. */
	st = status ? json_copy(status) : daemon_status(d);
	json_object_del(st, "mqtt");
	json_object_del(st, "can");
	json_object_del(st, "metrics");
	if (force && mqtt_cfg(q->m)->discovery)
		ha_bank(mqtt_cfg(q->m), PACKAGE_VERSION, emit_retained, q->m);
	mqtt_state(q->m, "bank", st, now, force);
	for (unsigned i = 0; i < n; i++) {
		bat[i] = battery_state(d, i, now);
		if (!bat[i])
			bat[i] = json_object();
		snprintf(sub, sizeof(sub), "battery/%u", i + 1);
		mqtt_state(q->m, sub, bat[i], now, force);
	}
	if (mqtt_cfg(q->m)->discovery)
		discover_batteries(d, bat, n);
	for (unsigned i = 0; i < n; i++)
		json_decref(bat[i]);
	h = monitor_history_json(&d->monitor);
	mqtt_state(q->m, "history", h, now, force);
	json_decref(h);
	if (mqtt_cfg(q->m)->venus && (v = venus_json(st))) {
		mqtt_state(q->m, "venus", v, now, force);
		json_decref(v);
	}
	json_decref(st);
	q->resend = false;
}

/* --- connection and commands ---------------------------------------------- */

static void on_connected(void *userdata)
{
	struct daemon *d = userdata;

	/* The next scan sends every state and discovery config (not from
	 * inside the library's callback). */
	d->mq->resend = true;
}

/* Only Mode and sync, logged with who sent it (a claim: see
 * smallbms.conf(5), allow_commands). */
static void on_command(void *userdata, const char *what, const char *arg,
		       const char *who)
{
	struct daemon *d = userdata;
	char err[400];

	if (strcmp(what, "mode") == 0) {
		if (settings_change(&d->settings, "mode", arg,
				    &d->cfg->protection, err,
				    sizeof(err)) < 0) {
			log_warn("mqtt: mode '%s' from client %s refused: %s",
				 arg, who, err);
			return;
		}
		log_notice("mode %s (by MQTT client %s)", arg, who);
		daemon_state_changed(d);
	} else if (strcmp(what, "sync") == 0) {
		monitor_sync(&d->monitor, (int64_t)time(NULL));
		log_notice("state of charge synchronised to 100 %% by hand (by "
			   "MQTT client %s)",
			   who);
		daemon_state_changed(d);
	} else {
		log_warn("mqtt: command '%s' from client %s ignored (only mode "
			 "and sync)",
			 what, who);
	}
}

static const struct mqtt_ops daemon_mqtt_ops = {
	.connected = on_connected,
	.command = on_command,
};

int daemon_mqtt_start(struct daemon *d, char *err, size_t errlen)
{
	if (!d->cfg->mqtt.line)
		return 0;
	d->mq = calloc(1, sizeof(*d->mq));
	if (!d->mq) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->mq->m = mqtt_new(d->ev, &d->cfg->mqtt, &daemon_mqtt_ops, d, err,
			    errlen);
	if (!d->mq->m) {
		free(d->mq);
		d->mq = NULL;
		return -1;
	}
	return 0;
}

void daemon_mqtt_status(struct daemon *d, json_t *status)
{
	if (d->mq)
		json_object_set_new(status, "mqtt", mqtt_status_json(d->mq->m));
}

void daemon_mqtt_reload(const struct cfg *run, struct cfg *c)
{
	struct cfg_mqtt x = run->mqtt, y = c->mqtt;

	x.line = y.line = 0;
	if (memcmp(&x, &y, sizeof(x)) != 0) {
		log_warn("reload: [mqtt] changed: not applied (it needs a "
			 "restart: systemctl restart smallbmsd)");
		c->mqtt = run->mqtt;
	}
}

void daemon_mqtt_stop(struct daemon *d)
{
	if (!d->mq)
		return;
	mqtt_free(d->mq->m);
	free(d->mq);
	d->mq = NULL;
}
