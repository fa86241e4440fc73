/* SPDX-License-Identifier: MIT */
/*
 * status.c - JSON views for the control socket.
 *
 * Unknown values are JSON null, never 0: a script must be able to tell
 * "0 A" from "no data". Numbers are rounded to the resolution the
 * protocols carry, so 58.88 is not sent as 58.880000000000003.
 */
#include "status.h"

#include <math.h>

static json_t *num(double v, int decimals)
{
	double scale = pow(10.0, decimals);

	if (!isfinite(v))
		return json_null();
	return json_real(round(v * scale) / scale);
}

static json_t *where(struct bank_where w, const char *what)
{
	if (w.battery == 0)
		return json_null();
	return json_pack("{s:I,s:I}", "battery", (json_int_t)w.battery, what,
			 (json_int_t)w.index);
}

static json_t *protection_list(uint32_t flags)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < BMS_PROT_COUNT; i++) {
		const char *name = bms_protection_name(1u << i);
		if ((flags & (1u << i)) && name)
			json_array_append_new(a, json_string(name));
	}
	return a;
}

static json_t *token_list(uint32_t flags, unsigned count,
			  const char *(*name)(uint32_t bit))
{
	json_t *a = json_array();

	for (unsigned i = 0; i < count; i++) {
		const char *t = name(1u << i);
		if ((flags & (1u << i)) && t)
			json_array_append_new(a, json_string(t));
	}
	return a;
}

static void bank_values(json_t *o, const struct bank *b)
{
	json_object_set_new(o, "voltage", num(b->voltage, 3));
	json_object_set_new(o, "current", num(b->current, 3));
	json_object_set_new(o, "power", num(b->power, 1));
	json_object_set_new(o, "soc", num(b->soc, 1));
	json_object_set_new(o, "remaining_ah", num(b->remaining_ah, 3));
	json_object_set_new(o, "nominal_ah", num(b->nominal_ah, 3));
	json_object_set_new(o, "batteries", json_integer(b->nbatteries));
	json_object_set_new(o, "series", json_integer(b->series));
	json_object_set_new(o, "parallel", json_integer(b->parallel));
	json_object_set_new(o, "cells", json_integer(b->ncells));
	json_object_set_new(o, "min_cell_voltage", num(b->min_cell_v, 3));
	json_object_set_new(o, "max_cell_voltage", num(b->max_cell_v, 3));
	json_object_set_new(o, "min_cell_at", where(b->min_cell, "cell"));
	json_object_set_new(o, "max_cell_at", where(b->max_cell, "cell"));
	json_object_set_new(o, "min_temperature", num(b->min_temp, 1));
	json_object_set_new(o, "max_temperature", num(b->max_temp, 1));
	json_object_set_new(o, "min_temperature_at",
			    where(b->min_temp_at, "sensor"));
	json_object_set_new(o, "max_temperature_at",
			    where(b->max_temp_at, "sensor"));
	json_object_set_new(o, "protection", protection_list(b->protection));
	json_object_set_new(o, "balancer",
			    json_string(bank_balancer_name(b->balancer)));
	json_object_set_new(
		o, "topology",
		token_list(b->warnings, BANK_WARN_COUNT, bank_warning_name));
	json_object_set_new(o, "topology_string",
			    b->warnings && b->warn_string
				    ? json_integer(b->warn_string)
				    : json_null());
	json_object_set_new(o, "stale", json_boolean(b->stale));
}

/* The decision and why. */
static void decision(json_t *o, const struct guard_output *g)
{
	json_object_set_new(o, "allowed_to_charge",
			    json_boolean(g->allow_charge));
	json_object_set_new(o, "allowed_to_discharge",
			    json_boolean(g->allow_discharge));
	json_object_set_new(o, "charge_reasons",
			    token_list(g->charge_reasons, GUARD_REASON_COUNT,
				       guard_reason_name));
	json_object_set_new(o, "discharge_reasons",
			    token_list(g->discharge_reasons, GUARD_REASON_COUNT,
				       guard_reason_name));
	json_object_set_new(o, "prealarm", json_boolean(g->prealarm));
	json_object_set_new(o, "warnings",
			    token_list(g->warnings, GUARD_WARNING_COUNT,
				       guard_warning_name));
	json_object_set_new(o, "alarm", json_boolean(g->alarm));
	json_object_set_new(o, "warning", json_boolean(g->warning));
	json_object_set_new(o, "charging", json_boolean(g->charging));
}

/* What the start found in the state file: a user must see that Mode was
 * switched off because the file could not be read. */
static json_t *state_file_json(const struct store_report *r)
{
	json_t *problems = json_array();

	if (!r)
		return json_null();
	for (unsigned i = 0; i < r->nproblems && i < STORE_MAX_PROBLEMS; i++)
		json_array_append_new(problems, json_string(r->problems[i]));
	return json_pack("{s:s,s:b,s:I,s:o,s:s}", "result",
			 store_result_name(r->result), "mode_forced_off",
			 r->mode_forced_off, "nproblems",
			 (json_int_t)r->nproblems, "problems", problems,
			 "message", r->message);
}

/* The ports whose batteries may charge without a temperature. */
static json_t *opt_out_json(const struct cfg *cfg)
{
	json_t *a = json_array();

	for (unsigned i = 0; cfg && i < cfg->nports; i++)
		if (cfg->ports[i].charge_without_temperature)
			json_array_append_new(a,
					      json_string(cfg->ports[i].name));
	return a;
}

json_t *status_json(const struct status_view *v)
{
	json_t *o = json_object();

	json_object_set_new(o, "type", json_string("status"));
	bank_values(o, v->bank);
	/* The batteries' own SoC stays visible; "soc" is the monitor's. */
	json_object_set_new(o, "battery_soc", num(v->bank->soc, 1));
	if (v->monitor)
		json_object_update(o, v->monitor);
	decision(o, v->guard);
	json_object_set_new(o, "mode", json_string(v->mode_on ? "on" : "off"));
	json_object_set_new(o, "remote",
			    v->remote < 0
				    ? json_null()
				    : json_string(v->remote ? "on" : "off"));
	json_object_set_new(o, "outputs",
			    v->outputs ? json_incref(v->outputs)
				       : json_array());
	json_object_set_new(o, "discovering", json_boolean(v->discovering));
	json_object_set_new(o, "state_file", state_file_json(v->state_report));
	json_object_set_new(o, "charge_without_temperature",
			    opt_out_json(v->cfg));
	return o;
}

static json_t *num_array(const double *v, unsigned n, int decimals)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < n; i++)
		json_array_append_new(a, num(v[i], decimals));
	return a;
}

static json_t *balancing_list(uint32_t bits, unsigned ncells)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < ncells && i < 32; i++) {
		if (bits & (1u << i))
			json_array_append_new(a, json_integer(i + 1));
	}
	return a;
}

static json_t *text_or_null(const char *s, bool have)
{
	return have && s[0] ? json_string(s) : json_null();
}

/* The pack's own word on its balancer ("idle", "active"), where its
 * protocol has one without naming cells; else null. */
static json_t *balancer_state(const struct bms_reading *r)
{
	if (!(r->have & BMS_HAVE_BALANCER))
		return json_null();
	switch (r->balancer) {
	case BMS_BALANCER_IDLE:
		return json_string("idle");
	case BMS_BALANCER_ACTIVE:
		return json_string("active");
	default:
		return json_null();
	}
}

/* The measured values; all null until the battery was read once. */
static void battery_values(json_t *o, const struct chain_battery *b)
{
	const struct bms_reading *r = &b->reading;
	bool basic = b->valid && (r->have & BMS_HAVE_BASIC);
	bool prot = b->valid && (r->have & BMS_HAVE_PROTECTION);

	json_object_set_new(o, "voltage",
			    basic ? num(r->voltage, 3) : json_null());
	json_object_set_new(o, "current",
			    basic ? num(r->current, 3) : json_null());
	json_object_set_new(o, "soc", basic ? num(r->soc, 1) : json_null());
	json_object_set_new(o, "remaining_ah",
			    basic ? num(r->remaining_ah, 3) : json_null());
	json_object_set_new(o, "nominal_ah",
			    basic ? num(r->nominal_ah, 3) : json_null());
	json_object_set_new(o, "full_ah",
			    basic && r->full_ah > 0 ? num(r->full_ah, 3)
						    : json_null());
	json_object_set_new(o, "design_ah",
			    basic && r->design_ah > 0 ? num(r->design_ah, 3)
						      : json_null());
	json_object_set_new(o, "cycles",
			    basic ? json_integer(r->cycles) : json_null());
	json_object_set_new(o, "cells", num_array(r->cell_v, r->ncells, 3));
	json_object_set_new(o, "temperatures",
			    num_array(r->temp_c, r->ntemps, 1));
	/* Flags and FETs the battery did not report this poll (a "~" pack
	 * without its alarm answer, a Seplos v3 pack that refuses its
	 * coils) are unknown, not "none" and "off". */
	json_object_set_new(o, "protection",
			    prot ? protection_list(r->protection)
				 : json_null());
	json_object_set_new(o, "protection_raw",
			    prot ? json_integer(r->protection_raw)
				 : json_null());
	json_object_set_new(o, "balancing",
			    balancing_list(r->balancing, r->ncells));
	json_object_set_new(o, "balancer", balancer_state(r));
	json_object_set_new(o, "balance_current",
			    (r->have & BMS_HAVE_BALANCER) &&
					    isfinite(r->balance_current)
				    ? num(r->balance_current, 3)
				    : json_null());
	json_object_set_new(o, "charge_fet",
			    prot ? json_boolean(r->charge_fet) : json_null());
	json_object_set_new(o, "discharge_fet",
			    prot ? json_boolean(r->discharge_fet)
				 : json_null());
}

json_t *status_battery_json(const struct chain *c, unsigned i, uint64_t now_us)
{
	const struct chain_battery *b = chain_battery(c, i);
	const struct bms_reading *r;
	json_t *o;

	if (!b)
		return NULL;
	r = &b->reading;
	o = json_object();
	json_object_set_new(o, "index", json_integer(b->index + 1));
	json_object_set_new(o, "protocol",
			    json_string(chain_protocol(c, b->port)));
	json_object_set_new(o, "port",
			    json_string(chain_port_name(c, b->port)));
	json_object_set_new(o, "device",
			    json_string(chain_port_device(c, b->port)));
	json_object_set_new(o, "address", json_integer(b->addr));
	json_object_set_new(o, "model",
			    text_or_null(r->model, r->have & BMS_HAVE_MODEL));
	json_object_set_new(o, "serial",
			    text_or_null(r->serial, r->have & BMS_HAVE_SERIAL));
	json_object_set_new(
		o, "firmware",
		text_or_null(r->firmware, r->have & BMS_HAVE_FIRMWARE));
	json_object_set_new(o, "manufactured",
			    text_or_null(r->manufactured, b->valid));
	battery_values(o, b);
	json_object_set_new(o, "valid", json_boolean(b->valid));
	json_object_set_new(o, "stale", json_boolean(b->stale));
	json_object_set_new(
		o, "age",
		b->valid ? num((double)(now_us - b->last_good_us) / 1e6, 1)
			 : json_null());
	json_object_set_new(o, "frames_good", json_integer(b->frames_good));
	json_object_set_new(o, "frames_bad", json_integer(b->frames_bad));
	json_object_set_new(o, "timeouts", json_integer(b->timeouts));
	json_object_set_new(o, "readings_rejected",
			    json_integer((json_int_t)b->rejected));
	json_object_set_new(o, "last_rejection",
			    b->last_rejection[0]
				    ? json_string(b->last_rejection)
				    : json_null());
	return o;
}

json_t *status_batteries_json(const struct chain *c, uint64_t now_us)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < chain_count(c); i++)
		json_array_append_new(a, status_battery_json(c, i, now_us));
	return json_pack("{s:s,s:o}", "type", "batteries", "batteries", a);
}

/* "addresses = scan": what discovery did; null on other ports. */
static json_t *scan_json(const struct chain_port_stats *st, uint64_t now_us)
{
	json_t *next = json_null(); /* while a pass runs, or before the first */

	if (!st->scan)
		return json_null();
	if (st->next_rescan_us && !st->discovering)
		next = num(st->next_rescan_us > now_us
				   ? (double)(st->next_rescan_us - now_us) / 1e6
				   : 0.0,
			   0);
	return json_pack("{s:I,s:I,s:I,s:b,s:o}", "candidates",
			 (json_int_t)st->candidates, "passes",
			 (json_int_t)st->discovery_passes, "probes",
			 (json_int_t)st->probes, "discovering", st->discovering,
			 "next_rescan", next);
}

static json_t *port_json(const struct chain *c, unsigned i, uint64_t now_us)
{
	struct chain_port_stats st;

	chain_port_stats(c, i, &st);
	json_t *o = json_pack(
		"{s:I,s:s,s:s,s:s,s:b,s:s?,s:I,s:f,s:I,s:I,s:I,s:o,s:s?}",
		"index", (json_int_t)i + 1, "name", chain_port_name(c, i),
		"device", chain_port_device(c, i), "protocol",
		chain_protocol(c, i), "open", st.open, "transport", st.kind,
		"baud", (json_int_t)st.baud, "timeout",
		(double)st.timeout_us / 1e6, "batteries",
		(json_int_t)st.nbatteries, "opens", (json_int_t)st.opens,
		"scans", (json_int_t)st.scans, "last_scan",
		st.scans ? num((double)st.last_scan_us / 1e6, 4) : json_null(),
		"error", st.last_error[0] ? st.last_error : NULL);

	json_object_set_new(o, "scan_time_total",
			    num((double)st.scan_us_total / 1e6, 4));
	json_object_set_new(o, "requests",
			    json_integer((json_int_t)st.requests));
	json_object_set_new(o, "tx_bytes",
			    json_integer((json_int_t)st.tx_bytes));
	json_object_set_new(o, "rx_bytes",
			    json_integer((json_int_t)st.rx_bytes));
	json_object_set_new(o, "rx_pauses",
			    json_integer((json_int_t)st.rx_pauses));
	json_object_set_new(o, "last_scan_requests",
			    json_integer((json_int_t)st.last_scan_requests));
	json_object_set_new(o, "last_scan_bytes",
			    json_integer((json_int_t)st.last_scan_bytes));
	json_object_set_new(o, "scan", scan_json(&st, now_us));
	return o;
}

json_t *status_ports_json(const struct chain *c, uint64_t now_us)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < chain_port_count(c); i++)
		json_array_append_new(a, port_json(c, i, now_us));
	return json_pack("{s:s,s:o}", "type", "ports", "ports", a);
}

json_t *status_limits_json(const struct limits_output *l,
			   const struct limits_settings *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "cvl", num(l->cvl, 3));
	json_object_set_new(o, "ccl", num(l->ccl, 3));
	json_object_set_new(o, "dcl", num(l->dcl, 3));
	json_object_set_new(o, "dvl", num(l->dvl, 3));
	json_object_set_new(
		o, "cvl_max",
		l->series_cells ? num(l->series_cells * s->charge_voltage, 3)
				: json_null());
	json_object_set_new(o, "ccl_max", num(s->charge_current, 3));
	json_object_set_new(o, "dcl_max", num(s->discharge_current, 3));
	json_object_set_new(o, "cvl_reasons",
			    token_list(l->cvl_reasons, LIMITS_REASON_COUNT,
				       limits_reason_name));
	json_object_set_new(o, "ccl_reasons",
			    token_list(l->ccl_reasons, LIMITS_REASON_COUNT,
				       limits_reason_name));
	json_object_set_new(o, "dcl_reasons",
			    token_list(l->dcl_reasons, LIMITS_REASON_COUNT,
				       limits_reason_name));
	json_object_set_new(o, "charge_enable", json_boolean(l->charge_enable));
	json_object_set_new(o, "discharge_enable",
			    json_boolean(l->discharge_enable));
	json_object_set_new(o, "float", json_boolean(l->floating));
	json_object_set_new(o, "series_cells",
			    json_integer((json_int_t)l->series_cells));
	return o;
}
