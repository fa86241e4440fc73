/* SPDX-License-Identifier: MIT */
/*
 * events.c - guard events as journal entries: the MESSAGE_ID per kind, the
 * priority, the structured fields and a message a boat owner can read
 * ("Load disconnect: cell 3 of battery 2 at 2.790 V is below 2.80 V
 * (pre-alarm has been on for 31 s)").
 */
#include "events.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "reading.h"

#define FIELD_LEN   160
#define MESSAGE_LEN 512

/*
 * Index = enum guard_event_kind. Generated once with `systemd-id128 new`;
 * they are the keys of systemd/smallbms.catalog: never change one.
 */
static const char *const message_ids[GUARD_EV_KIND_COUNT] = {
	"58feaa459d2042ba891fb3585bc346b8", /* output_off */
	"b94cf959a79d45b2ac09874e7f3afa40", /* output_on */
	"2b4bab50ef5c4cf1914a174b4f290520", /* reason_start */
	"30a9aa6e60b54883a2188f2fe98cb54f", /* reason_end */
	"e93cb66ad04d49bdb3ba26da4ccb12d7", /* prealarm_on */
	"87e8cb983e7b40699a0a2c9e616d379f", /* prealarm_off */
	"e2fc915b0e174c79b4afe74e117fc1b0", /* warning_start */
	"aceeeb21428b4301ba6d5519df058888", /* warning_end */
};

/* Index = bit number of enum guard_reason: "<noun> blocks charging". */
static const char *const reason_nouns[GUARD_REASON_COUNT] = {
	"Start-up",
	"Mode Off",
	"Remote off",
	"Lost communication",
	"Low cell voltage",
	"The discharge floor",
	"Battery protection",
	"High cell voltage",
	"Low temperature",
	"High temperature",
	"Very low cell voltage",
	"No temperature",
	"The cycle limit",
};

const char *events_message_id(enum guard_event_kind k)
{
	if ((unsigned)k >= GUARD_EV_KIND_COUNT)
		return NULL;
	return message_ids[k];
}

static bool is_alarm(uint32_t reason)
{
	return reason && !(reason & GUARD_R_NOT_ALARM);
}

int events_priority(const struct guard_event *ev)
{
	switch (ev->kind) {
	case GUARD_EV_REASON_START:
		return is_alarm(ev->reason) ? LOG_ERR : LOG_NOTICE;
	case GUARD_EV_OUTPUT_OFF:
		return is_alarm(ev->reason) ? LOG_WARNING : LOG_NOTICE;
	case GUARD_EV_PREALARM_ON:
	case GUARD_EV_WARNING_START:
		return LOG_WARNING;
	case GUARD_EV_REASON_END:
	case GUARD_EV_OUTPUT_ON:
		return LOG_NOTICE;
	case GUARD_EV_PREALARM_OFF:
	case GUARD_EV_WARNING_END:
		return LOG_INFO;
	}
	return LOG_INFO;
}

/* ---- text -------------------------------------------------------------- */

/* snprintf that appends, and keeps counting past the end like snprintf. */
struct text {
	char *buf;
	size_t len;
	size_t n;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t,
						      const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(t->n < t->len ? t->buf + t->n : NULL,
		      t->n < t->len ? t->len - t->n : 0, fmt, ap);
	va_end(ap);
	if (k > 0)
		t->n += (size_t)k;
}

static int bit_index(uint32_t bit, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		if (bit == 1u << i)
			return (int)i;
	return -1;
}

static const char *noun(uint32_t reason)
{
	int i = bit_index(reason, GUARD_REASON_COUNT);
	return i < 0 ? "An unknown reason" : reason_nouns[i];
}

static const char *verb(enum guard_which w)
{
	return w == GUARD_CHARGE ? "charging" : "discharging";
}

static void put_protection(struct text *t, uint32_t prot, const char *sep)
{
	bool first = true;

	for (unsigned i = 0; i < BMS_PROT_COUNT; i++) {
		const char *name = bms_protection_name(1u << i);
		if (!(prot & (1u << i)) || !name)
			continue;
		put(t, "%s%s", first ? "" : sep, name);
		first = false;
	}
}

static void put_cell(struct text *t, const struct guard_event *e)
{
	put(t, "cell %u of battery %u at %.3f V", e->cell, e->battery,
	    e->value);
}

static void put_sensor(struct text *t, const struct guard_event *e)
{
	put(t, "sensor %u of battery %u at %.1f °C", e->cell, e->battery,
	    e->value);
}

static void put_battery_protection(struct text *t, const struct guard_event *e)
{
	if (e->protection) {
		put(t, "battery %u reports its own protection (", e->battery);
		put_protection(t, e->protection, ", ");
		put(t, ")");
	} else {
		put(t, "battery %u has switched its %s MOSFET off", e->battery,
		    e->output == GUARD_CHARGE ? "charge" : "discharge");
	}
}

/* What a reason's start looks like. */
static void put_start(struct text *t, const struct guard_event *e)
{
	switch (e->reason) {
	case GUARD_R_STARTING:
		put(t, "no complete reading of every battery yet");
		break;
	case GUARD_R_MODE_OFF:
		put(t, "Mode is Off");
		break;
	case GUARD_R_REMOTE_OFF:
		put(t, "the remote on/off input is off");
		break;
	case GUARD_R_COMM_LOSS:
		put(t,
		    "a battery has had no good reading for %.0f s "
		    "(limit %.0f s)",
		    e->value, e->limit);
		break;
	case GUARD_R_CELL_UNDERVOLTAGE:
		put_cell(t, e);
		put(t, " is below %.2f V", e->limit);
		if (e->duration_us)
			put(t, " (pre-alarm has been on for %.0f s)",
			    (double)e->duration_us / (double)GUARD_USEC);
		break;
	case GUARD_R_DISCHARGE_FLOOR:
		put(t,
		    "state of charge %.1f %% has reached the discharge "
		    "floor of %.1f %%",
		    e->value, e->limit);
		break;
	case GUARD_R_BATTERY_PROTECTION:
		put_battery_protection(t, e);
		break;
	case GUARD_R_CELL_OVERVOLTAGE:
		put_cell(t, e);
		put(t, " is at or above %.2f V", e->limit);
		break;
	case GUARD_R_LOW_TEMPERATURE:
		put_sensor(t, e);
		put(t, " is below %.1f °C", e->limit);
		break;
	case GUARD_R_HIGH_TEMPERATURE:
		put_sensor(t, e);
		put(t, " is above %.1f °C", e->limit);
		break;
	case GUARD_R_CELL_UNDERVOLTAGE_HARD:
		put_cell(t, e);
		put(t,
		    " is below the hard cutoff of %.2f V (no pre-alarm lead)",
		    e->limit);
		break;
	case GUARD_R_NO_TEMPERATURE:
		put(t,
		    "battery %u reports no temperature, so the cold and heat "
		    "limits cannot protect it (charge_without_temperature = "
		    "yes on its port allows charging anyway)",
		    e->battery);
		break;
	case GUARD_R_CYCLE_LIMIT:
		put(t,
		    "switched off %.0f times within an hour (limit %.0f): held "
		    "off for another %.0f s",
		    e->value, e->limit,
		    (double)e->duration_us / (double)GUARD_USEC);
		break;
	}
}

/* The end of a low-cell rule (either cutoff). */
static void put_low_cell_end(struct text *t, const struct guard_event *e)
{
	if (e->charging) {
		put(t,
		    "charging detected (%.2f A, above %.2f A, for %.0f s) and "
		    "every cell above the cutoff (lowest: ",
		    e->value, e->limit,
		    (double)e->duration_us / (double)GUARD_USEC);
		put(t, "cell %u of battery %u)", e->cell, e->battery);
		return;
	}
	if (isnan(e->limit)) {
		put(t, "the hard cutoff was switched off");
		return;
	}
	put(t, "every cell is at or above %.2f V (lowest: ", e->limit);
	put_cell(t, e);
	put(t, ")");
}

/* ... and its end. */
static void put_end(struct text *t, const struct guard_event *e)
{
	switch (e->reason) {
	case GUARD_R_STARTING:
		put(t, "every battery has answered");
		break;
	case GUARD_R_MODE_OFF:
		put(t, "Mode is On");
		break;
	case GUARD_R_REMOTE_OFF:
		put(t, "the remote on/off input is on");
		break;
	case GUARD_R_COMM_LOSS:
		put(t, "complete data from every battery again");
		break;
	case GUARD_R_CELL_UNDERVOLTAGE:
	case GUARD_R_CELL_UNDERVOLTAGE_HARD:
		put_low_cell_end(t, e);
		break;
	case GUARD_R_DISCHARGE_FLOOR:
		if (isnan(e->limit))
			put(t, "the discharge floor was switched off");
		else
			put(t, "state of charge %.1f %% is above %.1f %%",
			    e->value, e->limit);
		break;
	case GUARD_R_BATTERY_PROTECTION:
		put(t, "no battery reports it any more");
		break;
	case GUARD_R_CELL_OVERVOLTAGE:
		put(t, "every cell is at or below %.2f V (highest: ", e->limit);
		put_cell(t, e);
		put(t, ")");
		break;
	case GUARD_R_LOW_TEMPERATURE:
		put(t,
		    "every sensor is at or above %.1f °C (coldest: ", e->limit);
		put_sensor(t, e);
		put(t, ")");
		break;
	case GUARD_R_HIGH_TEMPERATURE:
		put(t,
		    "every sensor is at or below %.1f °C (hottest: ", e->limit);
		put_sensor(t, e);
		put(t, ")");
		break;
	case GUARD_R_NO_TEMPERATURE:
		put(t, "every battery reports a temperature (or may charge "
		       "without one)");
		break;
	case GUARD_R_CYCLE_LIMIT:
		put(t, "fewer than %.0f turn-offs within the last hour",
		    e->limit);
		break;
	}
}

static void put_warning(struct text *t, const struct guard_event *e, bool start)
{
	if (e->warning == GUARD_W_LOW_CELL) {
		if (start) {
			put_cell(t, e);
			put(t, " is below the pre-alarm level of %.2f V",
			    e->limit);
		} else {
			put(t, "every cell is at or above %.2f V (lowest: ",
			    e->limit);
			put_cell(t, e);
			put(t, ")");
		}
	} else if (isnan(e->limit)) {
		put(t, "the low-SoC warning was switched off");
	} else if (start) {
		put(t,
		    "state of charge %.1f %% is at or below the low-SoC "
		    "warning level of %.1f %%",
		    e->value, e->limit);
	} else {
		put(t, "state of charge %.1f %% is above %.1f %%", e->value,
		    e->limit);
	}
}

static const char *warning_noun(uint32_t warning)
{
	return warning == GUARD_W_LOW_CELL ? "low cell voltage"
					   : "low state of charge";
}

/* Output off: the main reason in full, the others in a few words. */
static void put_output_off(struct text *t, const struct guard_event *e)
{
	uint32_t others = e->reasons & ~e->reason;
	const char *sep = " (also: ";

	put(t, "%s: ",
	    e->output == GUARD_CHARGE ? "Charge disconnect"
				      : "Load disconnect");
	put_start(t, e);
	for (unsigned i = 0; i < GUARD_REASON_COUNT; i++) {
		if (!(others & (1u << i)))
			continue;
		put(t, "%s%s", sep, guard_reason_text(1u << i));
		sep = "; ";
	}
	if (others)
		put(t, ")");
}

int events_format(const struct guard_event *e, char *buf, size_t len)
{
	struct text t = {buf, len, 0};

	if (len)
		buf[0] = '\0';
	switch (e->kind) {
	case GUARD_EV_OUTPUT_OFF:
		put_output_off(&t, e);
		break;
	case GUARD_EV_OUTPUT_ON:
		put(&t,
		    "%s reconnected: %s is allowed again (nothing against "
		    "it for %.0f s)",
		    e->output == GUARD_CHARGE ? "Chargers" : "Loads",
		    verb(e->output),
		    (double)e->duration_us / (double)GUARD_USEC);
		break;
	case GUARD_EV_REASON_START:
		put(&t, "%s blocks %s: ", noun(e->reason), verb(e->output));
		put_start(&t, e);
		break;
	case GUARD_EV_REASON_END:
		put(&t, "%s no longer blocks %s: ", noun(e->reason),
		    verb(e->output));
		put_end(&t, e);
		break;
	case GUARD_EV_PREALARM_ON:
		put(&t, "Pre-alarm on: ");
		put_warning(&t, e, true);
		break;
	case GUARD_EV_PREALARM_OFF:
		if (e->reasons)
			put(&t, "Pre-alarm off: the load is disconnected (%s)",
			    guard_reason_text(e->reason));
		else
			put(&t, "Pre-alarm off: no warning any more");
		break;
	case GUARD_EV_WARNING_START:
		put(&t, "Warning, %s: ", warning_noun(e->warning));
		put_warning(&t, e, true);
		break;
	case GUARD_EV_WARNING_END:
		put(&t, "Warning over, %s: ", warning_noun(e->warning));
		put_warning(&t, e, false);
		break;
	}
	return (int)t.n;
}

/* ---- fields ------------------------------------------------------------ */

struct fields {
	char buf[EVENTS_MAX_FIELDS][FIELD_LEN];
	const char *list[EVENTS_MAX_FIELDS + 1];
	size_t n;
};

__attribute__((format(printf, 3, 4))) static void
field(struct fields *f, const char *key, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (f->n >= EVENTS_MAX_FIELDS)
		return; /* cannot happen: there are fewer keys than that */
	k = snprintf(f->buf[f->n], FIELD_LEN, "%s=", key);
	va_start(ap, fmt);
	vsnprintf(f->buf[f->n] + k, FIELD_LEN - (size_t)k, fmt, ap);
	va_end(ap);
	f->list[f->n] = f->buf[f->n];
	f->list[++f->n] = NULL;
}

static const char *unit_of(const struct guard_event *e)
{
	if (e->kind == GUARD_EV_WARNING_START ||
	    e->kind == GUARD_EV_WARNING_END || e->kind == GUARD_EV_PREALARM_ON)
		return e->warning == GUARD_W_LOW_CELL ? "V" : "%";
	if (e->charging)
		return "A";
	switch (e->reason) {
	case GUARD_R_COMM_LOSS:
		return "s";
	case GUARD_R_CELL_UNDERVOLTAGE:
	case GUARD_R_CELL_UNDERVOLTAGE_HARD:
	case GUARD_R_CELL_OVERVOLTAGE:
		return "V";
	case GUARD_R_DISCHARGE_FLOOR:
		return "%";
	case GUARD_R_LOW_TEMPERATURE:
	case GUARD_R_HIGH_TEMPERATURE:
		return "C";
	}
	return NULL;
}

static bool is_warning_kind(enum guard_event_kind k)
{
	return k == GUARD_EV_WARNING_START || k == GUARD_EV_WARNING_END ||
	       k == GUARD_EV_PREALARM_ON;
}

/* Cell voltages to the mV, as the batteries report them. */
static int decimals_of(const char *unit)
{
	if (unit && !strcmp(unit, "V"))
		return 3;
	if (unit && !strcmp(unit, "A"))
		return 2;
	return 1;
}

static void value_fields(struct fields *f, const struct guard_event *e)
{
	const char *unit = unit_of(e);
	int decimals = decimals_of(unit);

	if (isfinite(e->value))
		field(f, "SMALLBMS_VALUE", "%.*f", decimals, e->value);
	if (isfinite(e->limit))
		field(f, "SMALLBMS_LIMIT", "%.*f", decimals, e->limit);
	if (unit && (isfinite(e->value) || isfinite(e->limit)))
		field(f, "SMALLBMS_UNIT", "%s", unit);
}

static void where_fields(struct fields *f, const struct guard_event *e)
{
	const char *unit = unit_of(e);

	if (e->battery)
		field(f, "SMALLBMS_BATTERY", "%u", e->battery);
	if (e->cell)
		field(f,
		      unit && !strcmp(unit, "C") ? "SMALLBMS_SENSOR"
						 : "SMALLBMS_CELL",
		      "%u", e->cell);
}

static void build_fields(struct fields *f, const struct guard_event *e)
{
	const char *why;
	char list[FIELD_LEN];
	struct text t = {list, sizeof(list), 0};

	f->n = 0;
	f->list[0] = NULL;
	field(f, "SMALLBMS_EVENT", "%s", guard_event_kind_name(e->kind));
	if (e->kind != GUARD_EV_WARNING_START &&
	    e->kind != GUARD_EV_WARNING_END)
		field(f, "SMALLBMS_OUTPUT", "%s", guard_which_name(e->output));
	why = is_warning_kind(e->kind) ? guard_warning_name(e->warning)
				       : guard_reason_name(e->reason);
	if (why)
		field(f, "SMALLBMS_REASON", "%s", why);
	if (e->kind == GUARD_EV_OUTPUT_OFF) {
		guard_reasons_format(e->reasons, list, sizeof(list));
		field(f, "SMALLBMS_REASONS", "%s", list);
	}
	where_fields(f, e);
	value_fields(f, e);
	if (e->protection) {
		put_protection(&t, e->protection, ",");
		field(f, "SMALLBMS_PROTECTION", "%s", list);
	}
	if (e->duration_us)
		field(f, "SMALLBMS_DURATION", "%.0f",
		      (double)e->duration_us / (double)GUARD_USEC);
}

/* ---- emit -------------------------------------------------------------- */

void events_log_sink(void *userdata, int priority, const char *message_id,
		     const char *const *fields, const char *message)
{
	log_event(priority, message_id, fields, "%s", message);
}

void events_emit(const struct guard_event *ev, size_t n, events_sink_fn sink,
		 void *userdata)
{
	struct fields f;
	char msg[MESSAGE_LEN];

	for (size_t i = 0; i < n; i++) {
		const char *id = events_message_id(ev[i].kind);
		if (!id)
			continue; /* not a guard event: nothing to say */
		build_fields(&f, &ev[i]);
		events_format(&ev[i], msg, sizeof(msg));
		sink(userdata, events_priority(&ev[i]), id, f.list, msg);
	}
}

void events_log(const struct guard_event *ev, size_t n)
{
	events_emit(ev, n, events_log_sink, NULL);
}
