/* SPDX-License-Identifier: MIT */
/*
 * status.h - JSON views of the bank and its batteries for the control
 * socket. The key names here are an API: scripts rely on them. Keys are
 * added, never renamed or removed.
 */
#ifndef SMALLBMS_STATUS_H
#define SMALLBMS_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "bank.h"
#include "cfg.h"
#include "chain.h"
#include "charge_limits.h"
#include "guard.h"
#include "store.h"

/* Everything the status answer is made of; pointers are borrowed. */
struct status_view {
	const struct bank *bank;
	const struct guard_output *guard;
	json_t *monitor; /* monitor_status_json(): soc, consumed_ah, ... */
	bool mode_on;
	int remote;       /* 1 on, 0 off, -1 not configured */
	json_t *outputs;  /* array from outputs_json(), or NULL */
	bool discovering; /* !chain_ready(): batteries still being found */
	/* What the start found in the state file; NULL: not shown. */
	const struct store_report *state_report;
	const struct cfg *cfg; /* ports with charge_without_temperature */
};

/* {"type":"status", voltage, current, power, soc, batteries, ...} */
json_t *status_json(const struct status_view *v);

/* One battery object (keys fixed: index, protocol, port, address, ...). */
json_t *status_battery_json(const struct chain *c, unsigned i, uint64_t now_us);

/* {"type":"batteries","batteries":[...]} */
json_t *status_batteries_json(const struct chain *c, uint64_t now_us);

/* {"type":"ports","ports":[...]}: per-port transport and scan figures. */
json_t *status_ports_json(const struct chain *c, uint64_t now_us);

/* The limit engine's output (status "limits"): each limit, its maximum
 * and why it is below it. */
json_t *status_limits_json(const struct limits_output *l,
			   const struct limits_settings *s);

#endif
