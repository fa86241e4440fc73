/* SPDX-License-Identifier: MIT */
/*
 * test_metrics.c - the Prometheus text formatter and the atomic file
 * write (metrics.c): label values escaped, unknown values left out
 * (never 0, never NaN), each family's HELP and TYPE once before its
 * contiguous samples, numbers as the status has them.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"

/* The text for the given views; the caller frees it. */
static char *format(json_t *st, json_t *bats, json_t *ports)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(metrics_format(f, st, bats, ports), 0);
	fclose(f);
	json_decref(st);
	json_decref(bats);
	json_decref(ports);
	return buf;
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static json_t *battery(int index, const char *model, json_t *voltage,
		       json_t *cells)
{
	return json_pack("{s:i,s:s,s:s,s:i,s:s?,s:o,s:o,s:[f],s:b,s:i}",
			 "index", index, "port", "b1", "protocol", "jbd",
			 "address", index, "model", model, "voltage", voltage,
			 "cells", cells, "temperatures", 21.5, "stale", 0,
			 "frames_good", 42);
}

START_TEST(label_values_escaped)
{
	json_t *b = battery(1, "JK \"B2A\\24\"\nrev\x01", json_real(13.2),
			    json_array());
	char *t = format(NULL, json_pack("{s:[o]}", "batteries", b), NULL);

	ck_assert_ptr_nonnull(
		strstr(t, "model=\"JK \\\"B2A\\\\24\\\"\\nrev?\""));
	/* one sample stays one line: no raw newline inside the labels */
	ck_assert_ptr_null(strstr(t, "JK \"B2A"));
	ck_assert_ptr_null(strstr(t, "\nrev"));
	free(t);
}
END_TEST

START_TEST(unknown_values_left_out)
{
	json_t *cells = json_pack("[f,n,f]", 3.301, 3.25);
	json_t *b = battery(1, NULL, json_null(), cells);
	json_t *st = json_pack("{s:n,s:f,s:b,s:n,s:[],s:s,s:n}", "voltage",
			       "current", -12.5, "allowed_to_charge", 0,
			       "min_temperature", "charge_reasons", "mode",
			       "on", "remote");
	char *t = format(st, json_pack("{s:[o]}", "batteries", b), NULL);

	/* neither the sample nor its family's header */
	ck_assert_ptr_null(strstr(t, "smallbms_bank_voltage_volts"));
	ck_assert_ptr_null(strstr(t, "smallbms_bank_min_temperature"));
	ck_assert_ptr_null(strstr(t, "smallbms_battery_voltage_volts"));
	ck_assert_ptr_null(strstr(t, "smallbms_remote_on"));
	ck_assert_ptr_null(strstr(t, "model="));
	ck_assert_ptr_null(strstr(t, "cell=\"2\""));
	ck_assert_ptr_null(strstr(t, "NaN"));
	ck_assert_ptr_null(strstr(t, "nan"));
	ck_assert_ptr_nonnull(
		strstr(t, "\nsmallbms_bank_current_amperes -12.5\n"));
	ck_assert_ptr_nonnull(
		strstr(t, "\nsmallbms_bank_allowed_to_charge 0\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nsmallbms_mode_on 1\n"));
	ck_assert_ptr_nonnull(strstr(
		t, "\nsmallbms_cell_voltage_volts{battery=\"1\",cell=\"1\"} "
		   "3.301\n"));
	ck_assert_ptr_nonnull(strstr(
		t, "\nsmallbms_cell_voltage_volts{battery=\"1\",cell=\"3\"} "
		   "3.25\n"));
	free(t);
}
END_TEST

/* The exposition format: HELP and TYPE once per family, before all of
 * its samples, which are contiguous (two batteries' cells). */
START_TEST(families_once_and_contiguous)
{
	json_t *b1 =
		battery(1, "A", json_real(13.2), json_pack("[f,f]", 3.3, 3.31));
	json_t *b2 = battery(2, "B", json_real(13.3),
			     json_pack("[f,f]", 3.32, 3.33));
	json_t *st = json_pack("{s:[s,s],s:[s]}", "charge_reasons", "mode_off",
			       "high_cell", "discharge_reasons", "mode_off");
	char *t = format(st, json_pack("{s:[o,o]}", "batteries", b1, b2),
			 json_pack("{s:[{s:s,s:i,s:b}]}", "ports", "name", "b1",
				   "scans", 7, "open", 1));
	const char *type =
		strstr(t, "# TYPE smallbms_cell_voltage_volts gauge\n");
	const char *end;

	ck_assert_uint_eq(count(t, "# TYPE smallbms_cell_voltage_volts "), 1);
	ck_assert_uint_eq(count(t, "# HELP smallbms_cell_voltage_volts "), 1);
	ck_assert_ptr_nonnull(type);
	/* the four cells follow the TYPE line, nothing else between */
	end = type + strlen("# TYPE smallbms_cell_voltage_volts gauge\n");
	for (int i = 0; i < 4; i++) {
		ck_assert(strncmp(end, "smallbms_cell_voltage_volts{", 28) ==
			  0);
		end = strchr(end, '\n') + 1;
	}
	ck_assert_uint_eq(count(t, "# TYPE smallbms_guard_reason gauge"), 1);
	ck_assert_ptr_nonnull(strstr(
		t,
		"smallbms_guard_reason{output=\"charge\",reason=\"mode_off\"} "
		"1\nsmallbms_guard_reason{output=\"charge\",reason=\"high_"
		"cell\"} 1\nsmallbms_guard_reason{output=\"discharge\","
		"reason=\"mode_off\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(
		t, "# TYPE smallbms_battery_frames_good_total counter\n"
		   "smallbms_battery_frames_good_total{battery=\"1\"} 42\n"
		   "smallbms_battery_frames_good_total{battery=\"2\"} "
		   "42\n"));
	ck_assert_ptr_nonnull(
		strstr(t, "smallbms_port_scans_total{port=\"b1\"} 7\n"));
	ck_assert_ptr_nonnull(
		strstr(t, "smallbms_battery_stale{battery=\"2\"} 0\n"));
	free(t);
}
END_TEST

/* 3.31, not 3.3100000000000001: what the status JSON says. */
START_TEST(numbers_shortest)
{
	char *t = format(json_pack("{s:f,s:f,s:I}", "voltage", 3.31, "power",
				   1e-7, "batteries", (json_int_t)50),
			 NULL, NULL);

	ck_assert_ptr_nonnull(
		strstr(t, "\nsmallbms_bank_voltage_volts 3.31\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nsmallbms_bank_power_watts 1e-07\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nsmallbms_bank_batteries 50\n"));
	free(t);
}
END_TEST

START_TEST(file_replaced_whole)
{
	char dir[] = "/tmp/test_metrics.XXXXXX";
	char path[256], tmp[260], buf[64] = "";
	struct stat sb;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	umask(077); /* the unit's UMask= */
	ck_assert_int_eq(metrics_write_file(path, "a 1\nb 2\n", 8), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0777, 0644); /* node-exporter reads it */
	ck_assert_int_eq(metrics_write_file(path, "a 3\n", 4), 0);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(buf, 1, sizeof(buf) - 1, f), 4);
	fclose(f);
	ck_assert_str_eq(buf, "a 3\n");
	ck_assert_int_eq(access(tmp, F_OK), -1);
	/* the path is a directory: the rename fails, nothing is left */
	unlink(path);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_lt(metrics_write_file(path, "a 1\n", 4), 0);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	rmdir(path);
	/* no such directory */
	snprintf(path, sizeof(path), "%s/none/x.prom", dir);
	ck_assert_int_eq(metrics_write_file(path, "a 1\n", 4), -ENOENT);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("format");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, label_values_escaped);
	tcase_add_test(tc, unknown_values_left_out);
	tcase_add_test(tc, families_once_and_contiguous);
	tcase_add_test(tc, numbers_shortest);
	tcase_add_test(tc, file_replaced_whole);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
