/* SPDX-License-Identifier: MIT */
/*
 * outputs.h - the output functions: turn the protection decision into GPIO
 * line levels, through the gpio seam (gpio.h).
 *
 * Every [output NAME] of the configuration has a function; its line is
 * ACTIVE (logically asserted, i.e. driven) when:
 *
 *   load             discharge is allowed (ATD)
 *   charge           charge is allowed (ATC)
 *   prealarm         the pre-alarm line is on
 *   load-and-charge  charge AND discharge are allowed (a MultiPlus on its
 *                    remote on/off cable: both wires must allow)
 *   error-led        an alarm: solid; a warning only: blinking at 1 Hz
 *                    (0.5 s on, 0.5 s off); neither: off
 *   status-led       running with valid data and everything allowed
 *                    (enabled, healthy, charge and discharge allowed): solid;
 *                    anything else (starting, stale data, a disconnect):
 *                    slow blink at 0.5 Hz (1 s on, 1 s off)
 *
 * Until outputs_state.enabled (a complete valid reading of every battery),
 * load, charge, prealarm and load-and-charge stay inactive; the LEDs
 * follow their inputs, so a starting daemon is visible.
 *
 * Blinking is a function of the monotonic time only (on while
 * now / half-period is even), so two LEDs with the same rhythm blink
 * together and a test can give the exact phase.
 *
 * "Not allowed" is INACTIVE. How an inactive line looks electrically is
 * configuration: push-pull drives the inactive level; open-source (with
 * active_low = no) and open-drain (with active_low = yes) leave the line
 * released, free-floating like the smallBMS NG's outputs (the
 * configuration refuses the other two combinations).
 *
 * WHAT HAPPENS TO A LINE WHEN THE PROCESS EXITS. smallbmsd sets every line
 * inactive before releasing it (SIGTERM, SIGINT, outputs_free). When the
 * process dies without that (a crash, SIGKILL, the OOM killer), the kernel
 * releases the line by itself; then, and after any release, the kernel
 * does not promise a level: most GPIO drivers (the Raspberry Pi's
 * included) leave the last value driven, some switch the pin back to an
 * input, and a reboot or a power cut leaves the pin as an input with the
 * SoC's default pull until something requests it again. So:
 *   - the hardware must have a pull resistor (or the driver stage must be
 *     built) so that an undriven pin means NOT ALLOWED, e.g. a pull-down
 *     on the base of the transistor that switches a remote input;
 *   - the unit runs `smallbmsd --safe-state` as ExecStopPost= (see
 *     outputs_safe_state): after a crash, every configured line is
 *     requested inactive and released again.
 */
#ifndef SMALLBMS_OUTPUTS_H
#define SMALLBMS_OUTPUTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cfg.h"
#include "gpio.h"

/* Blink half-periods (on time = off time). */
#define OUTPUTS_ERROR_BLINK_US  500000ULL  /* 1 Hz */
#define OUTPUTS_STATUS_BLINK_US 1000000ULL /* 0.5 Hz */

/* No blinking LED: nothing to wake up for. */
#define OUTPUTS_NO_WAKEUP UINT64_MAX

struct outputs;

/* The logical inputs of the output functions (from the guard and the
 * daemon; no protection logic lives here). */
struct outputs_state {
	bool enabled;         /* a complete valid reading of every battery */
	bool allow_charge;    /* ATC */
	bool allow_discharge; /* ATD */
	bool prealarm_line;   /* the pre-alarm output is on now */
	bool alarm;           /* any alarm: error-led solid */
	bool warning;         /* any warning: error-led blinks */
	bool healthy;         /* running with valid, fresh data */
};

/*
 * Request every configured output through ops, INACTIVE from the first
 * instant (the safe state). NULL on failure, with the reason in err (the
 * output's name and the backend's message); lines already requested are
 * released again.
 */
struct outputs *outputs_new(const struct gpio_ops *ops, const struct cfg *cfg,
			    char *err, size_t errlen);

/*
 * Set every line for state at time now_us (CLOCK_MONOTONIC). A line is
 * written only when its value changes. A failed write is logged once
 * (until a write succeeds again) and retried at the next call. Returns
 * the time the next blink change is due, OUTPUTS_NO_WAKEUP if no LED is
 * blinking: call again then.
 */
uint64_t outputs_apply(struct outputs *o, const struct outputs_state *s,
		       uint64_t now_us);

/* Every line inactive now (not allowed, LEDs off); before a release. */
void outputs_safe(struct outputs *o);

/* [{"name":"load","function":"load","line":"GPIO17","active":true},...]
 * in configuration order; "line" as gpio_spec_label(). */
json_t *outputs_json(const struct outputs *o);

/* Number of outputs, and the logical value of output i (tests, status). */
unsigned outputs_count(const struct outputs *o);
bool outputs_active(const struct outputs *o, unsigned i);

/* outputs_safe(), then release every line. NULL is fine. */
void outputs_free(struct outputs *o);

/*
 * For `smallbmsd --safe-state` (ExecStopPost=, after a crash): request
 * every configured output inactive, release it, and report one line per
 * output to out ("output NAME (LINE): inactive" or the error). Every
 * output is tried even after a failure. Returns 0 if all succeeded, -1
 * otherwise.
 */
int outputs_safe_state(const struct gpio_ops *ops, const struct cfg *cfg,
		       FILE *out);

#endif
