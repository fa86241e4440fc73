/* SPDX-License-Identifier: MIT */
/*
 * remote.h - the Remote on/off input ([input remote]) on the sd-event
 * loop: edge events, software debounce, a callback on every change.
 *
 * The remote is ON while its line is ACTIVE (logically asserted, after
 * active_low). Remote off makes the guard disallow charge and discharge.
 * Without an [input remote] section the remote is always on.
 *
 * Edges are read as events from the line's descriptor, never polled. Every
 * edge (re)starts a debounce timer (debounce, default 50 ms); when it
 * expires, the line is read and a change is reported. So a new level
 * counts only once it has been stable for the whole debounce time, and a
 * bounce shorter than that is ignored. libgpiod v1 has no kernel debounce,
 * so this is done the same way for every backend. If the line cannot be
 * read, the remote is taken as OFF (the safe side) and the error logged.
 *
 * Wiring (a Raspberry Pi pin takes 0..3.3 V only: never connect it to a
 * 12-48 V remote terminal directly):
 *   - switch or relay contact to GND: bias = pull-up, active_low = yes;
 *     contact closed = on. A wire broken or unplugged reads off. This is
 *     the usual form, with the switch at the Pi.
 *   - switch to 3.3 V: bias = pull-down, active_low = no; closed = on.
 *   - an opto-coupler driven from the 12-48 V side (the LED through a
 *     resistor sized for the bank voltage), its transistor from the pin to
 *     GND: bias = pull-up, active_low = yes; voltage present = on.
 *     This isolates the Pi from the bank's remote wiring.
 *   - a long cable picks up noise: prefer an external 4.7-10 kOhm pull-up
 *     to 3.3 V (bias = disabled) over the SoC's weak internal one, and
 *     keep debounce at 50 ms or more.
 */
#ifndef SMALLBMS_REMOTE_H
#define SMALLBMS_REMOTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "cfg.h"
#include "gpio.h"

struct remote;

/* Called after a debounced change (never for the initial value). */
typedef void (*remote_change_fn)(bool on, void *userdata);

struct remote_stats {
	unsigned long edges;   /* edge events read */
	unsigned long changes; /* debounced changes reported */
	unsigned long bounces; /* debounce expiries without a change */
	unsigned long errors;  /* failed event reads or line reads */
};

/*
 * Request the [input remote] line through ops (when the configuration
 * has one) and watch it on ev. The initial value is read at once:
 * remote_on() is valid right away. NULL on failure with the reason in err.
 * Without an [input remote], returns a remote that is always on.
 */
struct remote *remote_new(sd_event *ev, const struct gpio_ops *ops,
			  const struct cfg *cfg, remote_change_fn on_change,
			  void *userdata, char *err, size_t errlen);

/* The debounced state; true when not configured. NULL counts as absent. */
bool remote_on(const struct remote *r);

/* Whether an [input remote] is configured. */
bool remote_configured(const struct remote *r);

struct remote_stats remote_stats(const struct remote *r);

/* {"configured":true,"line":"GPIO22","on":true,"edges":3,...}; without a
 * remote {"configured":false,"on":true}. */
json_t *remote_json(const struct remote *r);

void remote_free(struct remote *r);

#endif
