/* SPDX-License-Identifier: MIT */
/*
 * test_events.c - guard events as journal entries: MESSAGE_IDs, priorities,
 * the exact fields and messages (through a capturing sink), the stderr form
 * without journald, and the catalog's coverage of every MESSAGE_ID.
 */
#include <check.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "events.h"
#include "guard.h"
#include "log.h"
#include "mqtt.h"
#include "reading.h"

#define SEC(x) ((uint64_t)(x)*GUARD_USEC)

#define CATALOG TEST_DATA_DIR "/../../systemd/smallbms.catalog"

struct entry {
	int priority;
	char id[40];
	char fields[EVENTS_MAX_FIELDS][160];
	size_t nfields;
	char msg[512];
};

static struct entry got[64];
static size_t ngot;

static void capture(void *userdata, int priority, const char *message_id,
		    const char *const *fields, const char *message)
{
	struct entry *e;

	ck_assert_uint_lt(ngot, sizeof(got) / sizeof(got[0]));
	ck_assert_ptr_eq(userdata, &ngot);
	e = &got[ngot++];
	e->priority = priority;
	snprintf(e->id, sizeof(e->id), "%s", message_id);
	for (e->nfields = 0; fields[e->nfields]; e->nfields++) {
		ck_assert_uint_lt(e->nfields, EVENTS_MAX_FIELDS);
		snprintf(e->fields[e->nfields], sizeof(e->fields[0]), "%s",
			 fields[e->nfields]);
	}
	snprintf(e->msg, sizeof(e->msg), "%s", message);
}

static const struct entry *emit_one(const struct guard_event *ev)
{
	ngot = 0;
	events_emit(ev, 1, capture, &ngot);
	ck_assert_uint_eq(ngot, 1);
	return &got[0];
}

/* The entry's fields are exactly `want` (NULL-terminated), in order. */
static void assert_fields(const struct entry *e, const char *const *want)
{
	size_t n = 0;

	for (; want[n]; n++) {
		ck_assert_uint_lt(n, e->nfields);
		ck_assert_str_eq(e->fields[n], want[n]);
	}
	ck_assert_uint_eq(e->nfields, n);
}

static bool has_field(const struct entry *e, const char *kv)
{
	for (size_t i = 0; i < e->nfields; i++)
		if (strcmp(e->fields[i], kv) == 0)
			return true;
	return false;
}

static struct guard_event blank(enum guard_event_kind k, enum guard_which w,
				uint32_t reason)
{
	return (struct guard_event){.kind = k,
				    .output = w,
				    .reason = reason,
				    .value = (double)NAN,
				    .limit = (double)NAN};
}

START_TEST(message_ids_fixed_and_distinct)
{
	for (unsigned k = 0; k < GUARD_EV_KIND_COUNT; k++) {
		const char *id = events_message_id(k);
		ck_assert_ptr_nonnull(id);
		ck_assert_uint_eq(strlen(id), 32);
		for (unsigned i = 0; i < 32; i++)
			ck_assert_msg(isxdigit((unsigned char)id[i]) &&
					      !isupper((unsigned char)id[i]),
				      "%s: not lowercase hex", id);
		for (unsigned j = 0; j < k; j++)
			ck_assert_str_ne(id, events_message_id(j));
	}
	/* the catalog keys: they never change */
	ck_assert_str_eq(events_message_id(GUARD_EV_OUTPUT_OFF),
			 "58feaa459d2042ba891fb3585bc346b8");
	ck_assert_str_eq(events_message_id(GUARD_EV_WARNING_END),
			 "aceeeb21428b4301ba6d5519df058888");
	ck_assert_ptr_null(events_message_id(GUARD_EV_KIND_COUNT));
}
END_TEST

START_TEST(low_cell_load_disconnect_entry)
{
	struct guard_event ev = blank(GUARD_EV_OUTPUT_OFF, GUARD_DISCHARGE,
				      GUARD_R_CELL_UNDERVOLTAGE);
	static const char *const want[] = {
		"SMALLBMS_EVENT=output_off",
		"SMALLBMS_OUTPUT=discharge",
		"SMALLBMS_REASON=cell_undervoltage",
		"SMALLBMS_REASONS=cell_undervoltage",
		"SMALLBMS_BATTERY=2",
		"SMALLBMS_CELL=3",
		"SMALLBMS_VALUE=2.790",
		"SMALLBMS_LIMIT=2.800",
		"SMALLBMS_UNIT=V",
		"SMALLBMS_DURATION=31",
		NULL,
	};
	const struct entry *e;

	ev.reasons = GUARD_R_CELL_UNDERVOLTAGE;
	ev.battery = 2;
	ev.cell = 3;
	ev.value = 2.79;
	ev.limit = 2.80;
	ev.duration_us = SEC(31);
	e = emit_one(&ev);
	ck_assert_str_eq(e->msg, "Load disconnect: cell 3 of battery 2 at "
				 "2.790 V is below 2.80 V (pre-alarm has been "
				 "on for 31 s)");
	ck_assert_int_eq(e->priority, LOG_WARNING);
	ck_assert_str_eq(e->id, "58feaa459d2042ba891fb3585bc346b8");
	assert_fields(e, want);
}
END_TEST

START_TEST(priorities_per_kind)
{
	struct guard_event ev;

	ev = blank(GUARD_EV_REASON_START, GUARD_CHARGE,
		   GUARD_R_CELL_OVERVOLTAGE);
	ck_assert_int_eq(events_priority(&ev), LOG_ERR);
	ev.reason = GUARD_R_MODE_OFF;
	ck_assert_int_eq(events_priority(&ev), LOG_NOTICE);
	ev = blank(GUARD_EV_OUTPUT_OFF, GUARD_CHARGE, GUARD_R_COMM_LOSS);
	ck_assert_int_eq(events_priority(&ev), LOG_WARNING);
	ev.reason = GUARD_R_REMOTE_OFF;
	ck_assert_int_eq(events_priority(&ev), LOG_NOTICE);
	ev = blank(GUARD_EV_OUTPUT_ON, GUARD_CHARGE, 0);
	ck_assert_int_eq(events_priority(&ev), LOG_NOTICE);
	ev = blank(GUARD_EV_REASON_END, GUARD_CHARGE, GUARD_R_COMM_LOSS);
	ck_assert_int_eq(events_priority(&ev), LOG_NOTICE);
	ev = blank(GUARD_EV_PREALARM_ON, GUARD_PREALARM, 0);
	ck_assert_int_eq(events_priority(&ev), LOG_WARNING);
	ev = blank(GUARD_EV_WARNING_START, GUARD_PREALARM, 0);
	ck_assert_int_eq(events_priority(&ev), LOG_WARNING);
	ev = blank(GUARD_EV_PREALARM_OFF, GUARD_PREALARM, 0);
	ck_assert_int_eq(events_priority(&ev), LOG_INFO);
	ev = blank(GUARD_EV_WARNING_END, GUARD_PREALARM, 0);
	ck_assert_int_eq(events_priority(&ev), LOG_INFO);
}
END_TEST

START_TEST(temperature_entry_names_the_sensor)
{
	struct guard_event ev = blank(GUARD_EV_REASON_START, GUARD_CHARGE,
				      GUARD_R_LOW_TEMPERATURE);
	static const char *const want[] = {
		"SMALLBMS_EVENT=reason_start",
		"SMALLBMS_OUTPUT=charge",
		"SMALLBMS_REASON=low_temperature",
		"SMALLBMS_BATTERY=3",
		"SMALLBMS_SENSOR=2",
		"SMALLBMS_VALUE=4.0",
		"SMALLBMS_LIMIT=5.0",
		"SMALLBMS_UNIT=C",
		NULL,
	};
	const struct entry *e;

	ev.battery = 3;
	ev.cell = 2;
	ev.value = 4.0;
	ev.limit = 5.0;
	e = emit_one(&ev);
	ck_assert_str_eq(e->msg, "Low temperature blocks charging: sensor 2 "
				 "of battery 3 at 4.0 °C is below 5.0 °C");
	ck_assert_int_eq(e->priority, LOG_ERR);
	ck_assert_str_eq(e->id, "2b4bab50ef5c4cf1914a174b4f290520");
	assert_fields(e, want);
}
END_TEST

START_TEST(battery_protection_entry)
{
	struct guard_event ev = blank(GUARD_EV_OUTPUT_OFF, GUARD_CHARGE,
				      GUARD_R_BATTERY_PROTECTION);
	const struct entry *e;

	ev.reasons = GUARD_R_BATTERY_PROTECTION | GUARD_R_MODE_OFF;
	ev.battery = 4;
	ev.protection = BMS_PROT_CELL_OV | BMS_PROT_CHG_OT;
	e = emit_one(&ev);
	ck_assert_str_eq(e->msg, "Charge disconnect: battery 4 reports its own "
				 "protection (cell_overvoltage, "
				 "charge_overtemperature) (also: Mode is Off)");
	ck_assert(has_field(e, "SMALLBMS_PROTECTION=cell_overvoltage,"
			       "charge_overtemperature"));
	ck_assert(has_field(e, "SMALLBMS_REASONS=mode_off,battery_protection"));
	ck_assert(has_field(e, "SMALLBMS_BATTERY=4"));
	ck_assert(!has_field(e, "SMALLBMS_UNIT=V"));

	ev.protection = 0;
	ev.fet_off = true;
	ev.reasons = GUARD_R_BATTERY_PROTECTION;
	e = emit_one(&ev);
	ck_assert_str_eq(e->msg, "Charge disconnect: battery 4 has switched "
				 "its charge MOSFET off");
}
END_TEST

/* The reasons added for the invariants, in words and fields. */
START_TEST(invariant_reason_entries)
{
	struct guard_event ev = blank(GUARD_EV_OUTPUT_OFF, GUARD_DISCHARGE,
				      GUARD_R_CELL_UNDERVOLTAGE_HARD);
	const struct entry *e;

	ev.reasons = GUARD_R_CELL_UNDERVOLTAGE_HARD | GUARD_R_CELL_UNDERVOLTAGE;
	ev.battery = 1;
	ev.cell = 4;
	ev.value = 2.40;
	ev.limit = 2.50;
	e = emit_one(&ev);
	ck_assert_str_eq(e->msg, "Load disconnect: cell 4 of battery 1 at "
				 "2.400 V is below the hard cutoff of 2.50 V "
				 "(no pre-alarm lead) (also: a cell voltage is "
				 "too low)");
	ck_assert(has_field(e, "SMALLBMS_REASON=cell_undervoltage_hard"));
	ck_assert(has_field(e, "SMALLBMS_UNIT=V"));
	ck_assert_int_eq(e->priority, LOG_WARNING);
	ev = blank(GUARD_EV_REASON_START, GUARD_CHARGE, GUARD_R_NO_TEMPERATURE);
	ev.battery = 2;
	e = emit_one(&ev);
	ck_assert_ptr_nonnull(strstr(e->msg, "No temperature blocks charging: "
					     "battery 2 reports no "
					     "temperature"));
	ck_assert(has_field(e, "SMALLBMS_REASON=no_temperature"));
	ck_assert(has_field(e, "SMALLBMS_BATTERY=2"));
	ck_assert_int_eq(e->priority, LOG_ERR);
	ev = blank(GUARD_EV_REASON_START, GUARD_CHARGE, GUARD_R_CYCLE_LIMIT);
	ev.value = 10;
	ev.limit = 10;
	ev.duration_us = SEC(1200);
	e = emit_one(&ev);
	ck_assert_str_eq(e->msg, "The cycle limit blocks charging: switched "
				 "off 10 times within an hour (limit 10): held "
				 "off for another 1200 s");
}
END_TEST

START_TEST(recovery_entries)
{
	struct guard_event ev = blank(GUARD_EV_REASON_END, GUARD_DISCHARGE,
				      GUARD_R_CELL_UNDERVOLTAGE);
	const struct entry *e;

	ev.charging = true;
	ev.value = 2.5;
	ev.limit = 0.5;
	ev.battery = 2;
	ev.cell = 3;
	ev.duration_us = 10 * GUARD_USEC;
	e = emit_one(&ev);
	ck_assert_str_eq(e->msg, "Low cell voltage no longer blocks "
				 "discharging: charging detected (2.50 A, "
				 "above 0.50 A, for 10 s) and every cell "
				 "above the cutoff (lowest: cell 3 of battery "
				 "2)");
	ck_assert(has_field(e, "SMALLBMS_UNIT=A"));
	ck_assert(has_field(e, "SMALLBMS_VALUE=2.50"));
	ck_assert_int_eq(e->priority, LOG_NOTICE);
	ck_assert_str_eq(e->id, "30a9aa6e60b54883a2188f2fe98cb54f");

	ev = blank(GUARD_EV_REASON_END, GUARD_DISCHARGE,
		   GUARD_R_DISCHARGE_FLOOR);
	ev.value = 12;
	e = emit_one(&ev);
	ck_assert_str_eq(e->msg, "The discharge floor no longer blocks "
				 "discharging: the discharge floor was "
				 "switched off");

	ev = blank(GUARD_EV_OUTPUT_ON, GUARD_CHARGE, 0);
	ev.duration_us = SEC(5);
	e = emit_one(&ev);
	ck_assert_str_eq(e->msg, "Chargers reconnected: charging is allowed "
				 "again (nothing against it for 5 s)");
	static const char *const want[] = {
		"SMALLBMS_EVENT=output_on",
		"SMALLBMS_OUTPUT=charge",
		"SMALLBMS_DURATION=5",
		NULL,
	};
	assert_fields(e, want);
}
END_TEST

static bool kind_seen[GUARD_EV_KIND_COUNT];

/* One step with data fresh at t (comm loss counts from the last good
 * reading). */
static void step_and_emit(struct guard *g, struct guard_input *in, uint64_t t)
{
	struct guard_event ev[GUARD_MAX_EVENTS];
	size_t n;

	in->data_time_us = t;
	guard_step(g, in, t, ev, GUARD_MAX_EVENTS, &n);
	ngot = 0;
	events_emit(ev, n, capture, &ngot);
	ck_assert_uint_eq(ngot, n);
	for (size_t i = 0; i < n; i++) {
		char want[64];
		snprintf(want, sizeof(want), "SMALLBMS_EVENT=%s",
			 guard_event_kind_name(ev[i].kind));
		ck_assert_str_eq(got[i].fields[0], want);
		ck_assert_str_eq(got[i].id, events_message_id(ev[i].kind));
		ck_assert_uint_gt(strlen(got[i].msg), 20);
		ck_assert_ptr_null(strstr(got[i].msg, "nan"));
		kind_seen[ev[i].kind] = true;
	}
}

/* A discharge to the cutoff and back, from the real guard. */
START_TEST(every_kind_from_a_guard_run)
{
	struct guard_settings s;
	struct guard g;
	struct guard_input in = {
		.complete = true,
		.min_cell_v = 3.30,
		.min_cell_battery = 1,
		.min_cell_index = 2,
		.max_cell_v = 3.32,
		.max_cell_battery = 1,
		.max_cell_index = 1,
		.current = -20,
		.mode_on = true,
		.remote_on = true,
	};
	uint64_t t = SEC(100);

	guard_settings_default(&s);
	guard_init(&g, &s);
	memset(kind_seen, 0, sizeof(kind_seen));
	step_and_emit(&g, &in, t);
	step_and_emit(&g, &in, t += SEC(5));
	in.min_cell_v = 3.0;
	step_and_emit(&g, &in, t += SEC(1));
	ck_assert_str_eq(got[1].msg, "Pre-alarm on: cell 2 of battery 1 at "
				     "3.000 V is below the pre-alarm level of "
				     "3.10 V");
	in.min_cell_v = 2.75;
	step_and_emit(&g, &in, t += SEC(31));
	ck_assert_uint_eq(ngot, 3);
	ck_assert_str_eq(got[1].msg, "Load disconnect: cell 2 of battery 1 at "
				     "2.750 V is below 2.80 V (pre-alarm has "
				     "been on for 31 s)");
	ck_assert_str_eq(got[2].msg, "Pre-alarm off: the load is "
				     "disconnected (a cell voltage is too "
				     "low)");
	in.min_cell_v = 3.25;
	in.current = 0;
	step_and_emit(&g, &in, t += SEC(60));
	ck_assert_str_eq(got[0].msg, "Warning over, low cell voltage: every "
				     "cell is at or above 3.15 V (lowest: "
				     "cell 2 of battery 1 at 3.250 V)");
	step_and_emit(&g, &in, t += SEC(5));
	ck_assert_str_eq(got[0].msg, "Loads reconnected: discharging is "
				     "allowed again (nothing against it for "
				     "5 s)");
	in.min_cell_v = 3.05;
	step_and_emit(&g, &in, t += SEC(1));
	in.min_cell_v = 3.30;
	step_and_emit(&g, &in, t += SEC(1));
	ck_assert_str_eq(got[1].msg, "Pre-alarm off: no warning any more");
	for (unsigned k = 0; k < GUARD_EV_KIND_COUNT; k++)
		ck_assert_msg(kind_seen[k], "no %s event",
			      guard_event_kind_name(k));
}
END_TEST

/* Without journald: one readable line per event on stderr. */
START_TEST(stderr_without_journal)
{
	struct guard_event ev =
		blank(GUARD_EV_REASON_START, GUARD_CHARGE, GUARD_R_COMM_LOSS);
	char path[] = "/tmp/test_events_XXXXXX";
	char line[1024] = "";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	FILE *f;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	unsetenv("JOURNAL_STREAM");
	log_init("smallbmsd", LOG_INFO);
	ev.value = 10;
	ev.limit = 10;
	dup2(fd, STDERR_FILENO);
	events_log(&ev, 1);
	dup2(saved, STDERR_FILENO);
	close(saved);
	f = fdopen(fd, "r");
	ck_assert_ptr_nonnull(f);
	rewind(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	ck_assert_str_eq(line, "smallbmsd: err: Lost communication blocks "
			       "charging: a battery has had no good reading "
			       "for 10 s (limit 10 s) [SMALLBMS_EVENT="
			       "reason_start SMALLBMS_OUTPUT=charge "
			       "SMALLBMS_REASON=comm_loss SMALLBMS_VALUE=10.0 "
			       "SMALLBMS_LIMIT=10.0 SMALLBMS_UNIT=s]\n");
}
END_TEST

/* Every MESSAGE_ID has its catalog entry, and the catalog no other. */
START_TEST(catalog_has_every_message_id)
{
	static const char *const others[] = {EVENTS_MSG_READING_REJECTED,
					     EVENTS_MSG_STATE_FILE,
					     EVENTS_MSG_CAN_STATE,
					     EVENTS_MSG_CAN_KEEPALIVE,
					     MQTT_MSG_CONNECTED,
					     MQTT_MSG_DISCONNECTED,
					     MQTT_MSG_REFUSED};
	enum { NOTHERS = sizeof(others) / sizeof(others[0]) };
	FILE *f = fopen(CATALOG, "r");
	char line[512];
	unsigned seen[GUARD_EV_KIND_COUNT] = {0}, headers = 0;
	unsigned other_seen[NOTHERS] = {0};

	ck_assert_msg(f != NULL, "%s: cannot open", CATALOG);
	while (fgets(line, sizeof(line), f)) {
		bool known = false;
		if (strncmp(line, "-- ", 3) != 0)
			continue;
		headers++;
		for (unsigned k = 0; k < GUARD_EV_KIND_COUNT; k++) {
			const char *id = events_message_id(k);
			if (strncmp(line + 3, id, 32) == 0 &&
			    line[35] == '\n') {
				seen[k]++;
				known = true;
			}
		}
		for (unsigned k = 0; k < NOTHERS; k++) {
			if (strncmp(line + 3, others[k], 32) == 0 &&
			    line[35] == '\n') {
				other_seen[k]++;
				known = true;
			}
		}
		ck_assert_msg(known, "catalog: unknown entry %s", line);
	}
	fclose(f);
	for (unsigned k = 0; k < GUARD_EV_KIND_COUNT; k++)
		ck_assert_msg(seen[k] == 1, "catalog: %s appears %u times",
			      guard_event_kind_name(k), seen[k]);
	for (unsigned k = 0; k < NOTHERS; k++)
		ck_assert_msg(other_seen[k] == 1,
			      "catalog: %s appears %u times", others[k],
			      other_seen[k]);
	ck_assert_uint_eq(headers, GUARD_EV_KIND_COUNT + NOTHERS);
}
END_TEST

static Suite *events_suite(void)
{
	Suite *s = suite_create("events");
	TCase *tc = tcase_create("journal");

	tcase_add_test(tc, message_ids_fixed_and_distinct);
	tcase_add_test(tc, low_cell_load_disconnect_entry);
	tcase_add_test(tc, priorities_per_kind);
	tcase_add_test(tc, temperature_entry_names_the_sensor);
	tcase_add_test(tc, battery_protection_entry);
	tcase_add_test(tc, invariant_reason_entries);
	tcase_add_test(tc, recovery_entries);
	tcase_add_test(tc, every_kind_from_a_guard_run);
	tcase_add_test(tc, stderr_without_journal);
	tcase_add_test(tc, catalog_has_every_message_id);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(events_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
