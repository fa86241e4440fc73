/* SPDX-License-Identifier: MIT */
/*
 * daemon_can.c - the daemon's wiring of the CAN-bus BMS output (#15): the
 * limit engine stepped at every decision, after the lines are driven, and
 * the [can] link fed with the result; the status's "limits" and "can".
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "can_link.h"
#include "daemon.h"
#include "log.h"
#include "status.h"

/* What the link was opened with: a reload that changes one reopens it. */
static void link_key(const struct cfg *c, bool *on, char *buf, size_t len)
{
	*on = c->have_can;
	snprintf(buf, len, "%s|%s|%d|%s", c->can_interface, c->can_profile,
		 c->dry_run, c->dry_run_dir);
}

static int open_link(struct daemon *d, char *err, size_t errlen)
{
	const struct cfg *c = d->cfg;
	int p = can_profile_parse(c->can_profile);

	if (!c->have_can || p < 0)
		return 0;
	/* Dry run without a directory: nothing to show the frames in, and
	 * no bus may be touched. */
	if (c->dry_run && !c->dry_run_dir[0]) {
		log_notice("CAN %s: dry run without dry_run_dir: no frames",
			   c->can_interface);
		return 0;
	}
	d->can = canlink_new(d->ev, c->can_interface, (enum can_profile)p,
			     c->dry_run ? c->dry_run_dir : NULL, err, errlen);
	if (!d->can)
		return -1;
	log_notice("CAN %s: %s frames every second%s", c->can_interface,
		   c->can_profile, c->dry_run ? " (dry run: to a file)" : "");
	return 0;
}

/* The limit engine runs with a [can] link to feed, or with [limits] alone
 * (its output in the status and on MQTT, the Venus OS feed's Info). */
static bool engine_on(const struct cfg *c)
{
	return c->have_can || c->have_limits;
}

int daemon_can_init(struct daemon *d, char *err, size_t errlen)
{
	limits_init(&d->limits, &d->cfg->limits);
	link_key(d->cfg, &d->can_on, d->can_key, sizeof(d->can_key));
	return open_link(d, err, errlen);
}

void daemon_can_reload(struct daemon *d)
{
	char key[sizeof(d->can_key)], err[256];
	bool on;

	limits_set_settings(&d->limits, &d->cfg->limits);
	link_key(d->cfg, &on, key, sizeof(key));
	if (on == d->can_on && strcmp(key, d->can_key) == 0)
		return;
	canlink_free(d->can);
	d->can = NULL;
	d->can_on = on;
	snprintf(d->can_key, sizeof(d->can_key), "%s", key);
	if (open_link(d, err, sizeof(err)) < 0)
		log_err("CAN: %s", err);
}

void daemon_can_decide(struct daemon *d, uint64_t now)
{
	struct monitor_output mo;
	struct limits_input in;
	struct can_state st;

	if (!engine_on(d->cfg))
		return;
	monitor_output(&d->monitor, &mo);
	in = (struct limits_input){
		.bank = &d->bank,
		.guard = guard_output(&d->guard),
		.charge_temp_low = d->guard_settings.charge_temp_low,
		.charge_temp_high = d->guard_settings.charge_temp_high,
		.soc = mo.soc,
	};
	limits_step(&d->limits, &in, now);
	if (!d->can)
		return;
	canlink_state(&d->bank, in.guard, limits_output(&d->limits), mo.soc,
		      &st);
	canlink_update(d->can, &st);
}

void daemon_can_status(struct daemon *d, json_t *status)
{
	if (!status)
		return;
	if (!engine_on(d->cfg)) {
		json_object_set_new(status, "limits", json_null());
		json_object_set_new(status, "can", json_null());
		return;
	}
	json_object_set_new(
		status, "limits",
		status_limits_json(limits_output(&d->limits), &d->cfg->limits));
	if (!d->cfg->have_can) {
		json_object_set_new(status, "can", json_null());
		return;
	}
	json_object_set_new(status, "can",
			    d->can ? canlink_json(d->can, daemon_now(d))
				   : json_null());
}

void daemon_can_fini(struct daemon *d)
{
	canlink_free(d->can);
	d->can = NULL;
}
