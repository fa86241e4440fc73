/* SPDX-License-Identifier: MIT */
/*
 * metrics.c - the Prometheus text file (metrics.h).
 *
 * Names follow Prometheus' conventions: the smallbms_ prefix, the unit in
 * the name (_volts, _amperes, _watts, _celsius, _seconds, _percent,
 * _amphours: the units a battery's user reads, as the status has them),
 * counters end in _total, 0/1 gauges for yes/no. Every family's HELP and
 * TYPE come once, before its samples, and a family's samples are
 * contiguous (the exposition format requires both): so the writer walks
 * family by family, and within each over the batteries or ports.
 *
 * Why the write may run on the protection loop: the timer has the idle
 * priority, so sd-event dispatches it only when no battery answer, timer
 * or request is pending, and a decision that becomes due meanwhile waits
 * for at most one write; the file is a few kilobytes written to the page
 * cache (or /run's tmpfs) and renamed, without fsync(): an fsync on an SD
 * card can take hundreds of milliseconds, and durability buys nothing for
 * a file made again every interval (after a power cut the next write
 * replaces whatever is left). Its duration is measured and shown in the
 * status (last_write_duration) and in the file.
 */
#include <config.h>

#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* ---- the exposition ------------------------------------------------- */

struct label {
	const char *key;
	const char *value; /* NULL: the label is left out */
};

struct family {
	const char *name;
	const char *type; /* "gauge" or "counter" */
	const char *help;
};

struct writer {
	FILE *out;
	const struct family *cur; /* whose HELP and TYPE are written */
};

/* HELP text: backslash and newline escaped (the format's rule). */
static void put_help(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

/* A label value: backslash, quote and newline escaped; other control
 * characters (a battery's model or serial is the battery's text) become
 * '?' so that one sample stays one line. */
static void put_label_value(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			fputs("\\\\", out);
		else if (c == '"')
			fputs("\\\"", out);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c < 0x20 || c == 0x7f)
			fputc('?', out);
		else
			fputc(c, out);
	}
}

/* The shortest decimal that reads back as the same double: 3.301, not
 * 3.3010000000000002, and equal to what the status JSON says. */
static void put_double(FILE *out, double v)
{
	char buf[40];

	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	fputs(buf, out);
}

/* A JSON value as a sample value; false if it has none (null: unknown,
 * a string, an object). */
static bool sample_value(const json_t *v, double *d, json_int_t *i,
			 bool *is_int)
{
	*is_int = false;
	if (json_is_true(v) || json_is_false(v)) {
		*is_int = true;
		*i = json_is_true(v);
		return true;
	}
	if (json_is_integer(v)) {
		*is_int = true;
		*i = json_integer_value(v);
		return true;
	}
	if (json_is_real(v) && isfinite(json_real_value(v))) {
		*d = json_real_value(v);
		return true;
	}
	return false;
}

static void start_family(struct writer *w, const struct family *f)
{
	if (w->cur == f)
		return;
	w->cur = f;
	fprintf(w->out, "# HELP %s ", f->name);
	put_help(w->out, f->help);
	fprintf(w->out, "\n# TYPE %s %s\n", f->name, f->type);
}

/* One sample of family f with labels l[0..n) and value v; nothing if v
 * is unknown. */
static void sample(struct writer *w, const struct family *f,
		   const struct label *l, size_t n, const json_t *v)
{
	double d = 0;
	json_int_t i = 0;
	bool is_int, first = true;

	if (!sample_value(v, &d, &i, &is_int))
		return;
	start_family(w, f);
	fputs(f->name, w->out);
	for (size_t k = 0; k < n; k++) {
		if (!l[k].value)
			continue;
		fprintf(w->out, "%s%s=\"", first ? "{" : ",", l[k].key);
		put_label_value(w->out, l[k].value);
		fputc('"', w->out);
		first = false;
	}
	if (!first)
		fputc('}', w->out);
	fputc(' ', w->out);
	if (is_int)
		fprintf(w->out, "%lld", (long long)i);
	else
		put_double(w->out, d);
	fputc('\n', w->out);
}

/* A status key and the family it becomes (name without the prefix). */
struct scalar {
	const char *key; /* "a" or "a.b" (a member of object a) */
	struct family fam;
};

static const json_t *get_path(const json_t *o, const char *path)
{
	const char *dot = strchr(path, '.');
	char first[64];

	if (!dot)
		return json_object_get(o, path);
	snprintf(first, sizeof(first), "%.*s", (int)(dot - path), path);
	return json_object_get(json_object_get(o, first), dot + 1);
}

#define G(key, name, help)                                                     \
	{                                                                      \
		key,                                                           \
		{                                                              \
			"smallbms_" name, "gauge", help                        \
		}                                                              \
	}
#define C(key, name, help)                                                     \
	{                                                                      \
		key,                                                           \
		{                                                              \
			"smallbms_" name, "counter", help                      \
		}                                                              \
	}
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct scalar bank_scalars[] = {
	G("voltage", "bank_voltage_volts", "Bank voltage."),
	G("current", "bank_current_amperes",
	  "Bank current (positive: charging)."),
	G("power", "bank_power_watts", "Bank power (positive: charging)."),
	G("soc", "bank_soc_percent",
	  "State of charge by the daemon's battery monitor."),
	G("battery_soc", "bank_battery_soc_percent",
	  "State of charge as the batteries report it."),
	G("synchronised", "bank_soc_synchronised",
	  "1 once the monitor synchronised to a full charge."),
	G("remaining_ah", "bank_remaining_amphours",
	  "Remaining capacity as the batteries report it."),
	G("nominal_ah", "bank_nominal_amphours", "Nominal capacity."),
	G("consumed_ah", "bank_consumed_amphours",
	  "Consumed amp-hours since the last full charge (negative)."),
	G("time_remaining", "bank_time_remaining_seconds",
	  "Time until the discharge floor at the average current."),
	G("average_current", "bank_average_current_amperes",
	  "Current averaged over the time-to-go window."),
	G("batteries", "bank_batteries", "Number of batteries."),
	G("series", "bank_series", "Batteries in series per string."),
	G("parallel", "bank_parallel", "Strings in parallel."),
	G("cells", "bank_cells", "Number of cells."),
	G("min_cell_voltage", "bank_min_cell_voltage_volts",
	  "Lowest fresh cell voltage."),
	G("max_cell_voltage", "bank_max_cell_voltage_volts",
	  "Highest fresh cell voltage."),
	G("min_cell_at.battery", "bank_min_cell_battery",
	  "Battery (index) of the lowest cell."),
	G("min_cell_at.cell", "bank_min_cell_number",
	  "Cell number (from 1) of the lowest cell."),
	G("max_cell_at.battery", "bank_max_cell_battery",
	  "Battery (index) of the highest cell."),
	G("max_cell_at.cell", "bank_max_cell_number",
	  "Cell number (from 1) of the highest cell."),
	G("min_temperature", "bank_min_temperature_celsius",
	  "Lowest fresh cell temperature."),
	G("max_temperature", "bank_max_temperature_celsius",
	  "Highest fresh cell temperature."),
	G("stale", "bank_stale",
	  "1 while the bank's data is not complete and fresh."),
	G("allowed_to_charge", "bank_allowed_to_charge",
	  "1 while charging is allowed (the charge output driven)."),
	G("allowed_to_discharge", "bank_allowed_to_discharge",
	  "1 while discharging is allowed (the load output driven)."),
	G("prealarm", "bank_prealarm", "1 while the pre-alarm is on."),
	G("alarm", "bank_alarm", "1 while an alarm is active."),
	G("warning", "bank_warning", "1 while a warning is active."),
	G("charging", "bank_charging", "1 while charging is detected."),
	G("discovering", "bank_discovering",
	  "1 until discovery has found every scanned port's batteries."),
};

/* The writer's own figures (from the status' "metrics" object). */
static const struct scalar self_scalars[] = {
	C("metrics.writes", "metrics_writes_total",
	  "Metrics file writes that succeeded before this one."),
	C("metrics.write_errors", "metrics_write_errors_total",
	  "Metrics file writes that failed before this one."),
	G("metrics.last_write_duration", "metrics_last_write_duration_seconds",
	  "Time the previous metrics file write took."),
};

static const struct scalar battery_scalars[] = {
	G("voltage", "battery_voltage_volts", "Battery voltage."),
	G("current", "battery_current_amperes",
	  "Battery current (positive: charging)."),
	G("soc", "battery_soc_percent", "The battery's own state of charge."),
	G("remaining_ah", "battery_remaining_amphours",
	  "The battery's remaining capacity."),
	G("nominal_ah", "battery_nominal_amphours",
	  "The battery's nominal capacity."),
	G("full_ah", "battery_full_amphours",
	  "The battery's full-charge capacity."),
	G("design_ah", "battery_design_amphours",
	  "The battery's design capacity."),
	G("cycles", "battery_cycles", "Cycle count as the battery reports it."),
	G("balance_current", "battery_balance_current_amperes",
	  "Balancer current."),
	G("charge_fet", "battery_charge_fet_on",
	  "1 while the battery's charge MOSFET is on (absent: unknown)."),
	G("discharge_fet", "battery_discharge_fet_on",
	  "1 while the battery's discharge MOSFET is on (absent: unknown)."),
	G("valid", "battery_valid", "1 once the battery was read completely."),
	G("stale", "battery_stale",
	  "1 while the battery has no recent complete reading."),
	G("age", "battery_age_seconds",
	  "Time since the battery's last good reading."),
	C("frames_good", "battery_frames_good_total",
	  "Answers decoded from the battery."),
	C("frames_bad", "battery_frames_bad_total",
	  "Answers from the battery that failed validation."),
	C("timeouts", "battery_timeouts_total",
	  "Requests to the battery that timed out."),
	C("readings_rejected", "battery_readings_rejected_total",
	  "Readings rejected as physically impossible."),
};

static const struct scalar port_scalars[] = {
	G("open", "port_open", "1 while the port is open."),
	G("batteries", "port_batteries", "Batteries on the port."),
	C("opens", "port_opens_total", "Times the port was opened."),
	C("scans", "port_scans_total", "Completed scans of the port."),
	C("requests", "port_requests_total", "Requests sent."),
	C("tx_bytes", "port_transmit_bytes_total", "Bytes sent."),
	C("rx_bytes", "port_receive_bytes_total", "Bytes received."),
	C("rx_pauses", "port_receive_pauses_total",
	  "Times reading paused: the port was readable too often (a flood)."),
	C("scan_time_total", "port_scan_seconds_total",
	  "Time spent in completed scans."),
	G("last_scan", "port_last_scan_seconds",
	  "Duration of the last complete scan."),
	G("last_scan_requests", "port_last_scan_requests",
	  "Requests in the last complete scan."),
	G("last_scan_bytes", "port_last_scan_bytes",
	  "Bytes on the wire in the last complete scan."),
};

static const struct family f_mode = {"smallbms_mode_on", "gauge",
				     "1 while Mode is on (smallbmsctl mode)."};
static const struct family f_remote = {
	"smallbms_remote_on", "gauge",
	"1 while the remote input is on (absent: no remote input)."};
static const struct family f_reason = {
	"smallbms_guard_reason", "gauge",
	"1 for each active reason why an output is not allowed."};
static const struct family f_warning = {"smallbms_guard_warning", "gauge",
					"1 for each active guard warning."};
static const struct family f_bank_prot = {
	"smallbms_bank_protection", "gauge",
	"1 for each protection flag a fresh battery reports."};
static const struct family f_topology = {"smallbms_bank_topology_warning",
					 "gauge",
					 "1 for each active topology warning."};
static const struct family f_soc_source = {
	"smallbms_bank_soc_source", "gauge",
	"1 for where the monitor's state of charge comes from."};
static const struct family f_output = {
	"smallbms_output_active", "gauge",
	"1 while the output line is driven (allowed)."};
static const struct family f_info = {
	"smallbms_battery_info", "gauge",
	"Always 1: what each battery index is (port, address, identity)."};
static const struct family f_cell = {"smallbms_cell_voltage_volts", "gauge",
				     "Cell voltage."};
static const struct family f_temp = {"smallbms_battery_temperature_celsius",
				     "gauge", "Battery temperature sensor."};
static const struct family f_bat_prot = {
	"smallbms_battery_protection", "gauge",
	"1 for each protection flag the battery reports."};

static void scalars(struct writer *w, const json_t *o, const struct scalar *s,
		    size_t n)
{
	for (size_t i = 0; i < n; i++)
		sample(w, &s[i].fam, NULL, 0, get_path(o, s[i].key));
}

/* One 1-sample per string of array a, labelled key=string (plus extra). */
static void tokens(struct writer *w, const struct family *f, const json_t *a,
		   const char *key, const struct label *extra)
{
	json_t *one = json_integer(1);
	struct label l[2] = {{"", NULL}, {key, NULL}};
	size_t i;
	json_t *t;

	if (extra)
		l[0] = *extra;
	json_array_foreach(a, i, t)
	{
		l[1].value = json_string_value(t);
		if (l[1].value)
			sample(w, f, l, 2, one);
	}
	json_decref(one);
}

static void bank(struct writer *w, const json_t *st)
{
	const char *mode = json_string_value(json_object_get(st, "mode"));
	const char *remote = json_string_value(json_object_get(st, "remote"));
	const char *src = json_string_value(json_object_get(st, "soc_source"));
	struct label l[3];
	json_t *one = json_integer(1);
	size_t i;
	json_t *o;

	scalars(w, st, bank_scalars, NELEM(bank_scalars));
	if (mode)
		sample(w, &f_mode, NULL, 0,
		       json_boolean(strcmp(mode, "on") == 0));
	if (remote)
		sample(w, &f_remote, NULL, 0,
		       json_boolean(strcmp(remote, "on") == 0));
	l[0] = (struct label){"output", "charge"};
	tokens(w, &f_reason, json_object_get(st, "charge_reasons"), "reason",
	       &l[0]);
	l[0] = (struct label){"output", "discharge"};
	tokens(w, &f_reason, json_object_get(st, "discharge_reasons"), "reason",
	       &l[0]);
	tokens(w, &f_warning, json_object_get(st, "warnings"), "warning", NULL);
	tokens(w, &f_bank_prot, json_object_get(st, "protection"), "flag",
	       NULL);
	tokens(w, &f_topology, json_object_get(st, "topology"), "warning",
	       NULL);
	if (src) {
		l[0] = (struct label){"source", src};
		sample(w, &f_soc_source, l, 1, one);
	}
	json_array_foreach(json_object_get(st, "outputs"), i, o)
	{
		l[0] = (struct label){
			"output",
			json_string_value(json_object_get(o, "name"))};
		l[1] = (struct label){
			"function",
			json_string_value(json_object_get(o, "function"))};
		l[2] = (struct label){
			"line", json_string_value(json_object_get(o, "line"))};
		sample(w, &f_output, l, 3, json_object_get(o, "active"));
	}
	json_decref(one);
}

/* The battery label: its index, as `smallbmsctl battery N` and the bank's
 * min_cell_at name it; smallbms_battery_info says which battery it is. */
static void battery_label(const json_t *b, char *buf, size_t n)
{
	snprintf(buf, n, "%lld",
		 (long long)json_integer_value(json_object_get(b, "index")));
}

static void battery_info(struct writer *w, const json_t *list)
{
	static const char *const keys[] = {"port", "protocol", "model",
					   "serial", "firmware"};
	json_t *one = json_integer(1);
	size_t i;
	json_t *b;

	json_array_foreach(list, i, b)
	{
		char idx[24], addr[24];
		struct label l[2 + NELEM(keys)];

		battery_label(b, idx, sizeof(idx));
		snprintf(addr, sizeof(addr), "%lld",
			 (long long)json_integer_value(
				 json_object_get(b, "address")));
		l[0] = (struct label){"battery", idx};
		l[1] = (struct label){"address", addr};
		for (size_t k = 0; k < NELEM(keys); k++)
			l[2 + k] = (struct label){
				keys[k],
				json_string_value(json_object_get(b, keys[k]))};
		sample(w, &f_info, l, NELEM(l), one);
	}
	json_decref(one);
}

/* smallbms_cell_voltage_volts{battery,cell} or the temperatures: one
 * sample per element of each battery's array key; null elements left out. */
static void per_element(struct writer *w, const struct family *f,
			const json_t *list, const char *key, const char *lkey)
{
	size_t i, k;
	json_t *b, *v;

	json_array_foreach(list, i, b)
	{
		char idx[24], num[24];
		struct label l[2] = {{"battery", idx}, {lkey, num}};

		battery_label(b, idx, sizeof(idx));
		json_array_foreach(json_object_get(b, key), k, v)
		{
			snprintf(num, sizeof(num), "%zu", k + 1);
			sample(w, f, l, 2, v);
		}
	}
}

static void batteries(struct writer *w, const json_t *list)
{
	size_t i;
	json_t *b;

	battery_info(w, list);
	for (size_t s = 0; s < NELEM(battery_scalars); s++) {
		json_array_foreach(list, i, b)
		{
			char idx[24];
			struct label l = {"battery", idx};

			battery_label(b, idx, sizeof(idx));
			sample(w, &battery_scalars[s].fam, &l, 1,
			       json_object_get(b, battery_scalars[s].key));
		}
	}
	per_element(w, &f_cell, list, "cells", "cell");
	per_element(w, &f_temp, list, "temperatures", "sensor");
	json_array_foreach(list, i, b)
	{
		char idx[24];
		struct label l = {"battery", idx};

		battery_label(b, idx, sizeof(idx));
		tokens(w, &f_bat_prot, json_object_get(b, "protection"), "flag",
		       &l);
	}
}

static void ports(struct writer *w, const json_t *list)
{
	size_t i;
	json_t *p;

	for (size_t s = 0; s < NELEM(port_scalars); s++) {
		json_array_foreach(list, i, p)
		{
			struct label l = {
				"port",
				json_string_value(json_object_get(p, "name"))};

			sample(w, &port_scalars[s].fam, &l, 1,
			       json_object_get(p, port_scalars[s].key));
		}
	}
}

int metrics_format(FILE *out, const json_t *status, const json_t *bats,
		   const json_t *prts)
{
	struct writer w = {.out = out};

	if (status) {
		bank(&w, status);
		scalars(&w, status, self_scalars, NELEM(self_scalars));
	}
	if (bats)
		batteries(&w, json_object_get(bats, "batteries"));
	if (prts)
		ports(&w, json_object_get(prts, "ports"));
	return ferror(out) ? -1 : 0;
}

/* ---- the file ------------------------------------------------------- */

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int metrics_write_file(const char *path, const char *buf, size_t len)
{
	char tmp[CFG_PATH_LEN + 8];
	int fd, r;

	/* PATH.tmp: the same directory (rename is atomic only within one
	 * file system), a name the collector does not read (*.prom only). */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	/* A new regular file, never what is there: a FIFO (or a device)
	 * put at PATH.tmp would block the open or the write, and with them
	 * the loop and every protection decision. O_NONBLOCK as well, in
	 * case one appears between the unlink and the open (O_EXCL then
	 * fails). */
	if (unlink(tmp) < 0 && errno != ENOENT)
		return -errno;
	fd = open(tmp,
		  O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW |
			  O_NONBLOCK,
		  0644);
	if (fd < 0)
		return -errno;
	/* Readable by node-exporter's user: the unit's UMask=0077 would make
	 * it 0600. Battery figures are no secret (smallbmsctl shows them to
	 * anyone who may use the socket). */
	r = fchmod(fd, 0644) < 0 ? -errno : write_all(fd, buf, len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

/* ---- the timer ------------------------------------------------------ */

struct metrics {
	sd_event *ev;
	sd_event_source *timer;
	metrics_collect_fn collect;
	void *userdata;
	char path[CFG_PATH_LEN]; /* "" = off */
	uint64_t interval_us;
	uint64_t writes, errors;
	int last_errno; /* of the last failed write; 0 after a success */
	char last_error[CFG_PATH_LEN + 64];
	double last_duration_s; /* NaN before the first write */
};

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A failed write is said once per errno, not every interval; a success
 * after failures once. Protection never depends on it. */
static void note_result(struct metrics *m, int r)
{
	if (r == 0) {
		m->writes++;
		if (m->last_errno)
			log_notice("metrics: %s written again", m->path);
		m->last_errno = 0;
		m->last_error[0] = '\0';
		return;
	}
	m->errors++;
	snprintf(m->last_error, sizeof(m->last_error), "%s: %s", m->path,
		 strerror(-r));
	if (m->last_errno != -r)
		log_warn("metrics: cannot write %s: %s (said again only if the "
			 "error changes; protection is not affected)",
			 m->path, strerror(-r));
	m->last_errno = -r;
}

static void write_now(struct metrics *m)
{
	json_t *st = NULL, *bats = NULL, *prts = NULL;
	char *buf = NULL;
	size_t len = 0;
	double t0 = mono_s();
	FILE *f;
	int r = -ENOMEM;

	m->collect(m->userdata, &st, &bats, &prts);
	f = open_memstream(&buf, &len);
	if (f) {
		r = metrics_format(f, st, bats, prts) < 0 ? -EIO : 0;
		if (fclose(f) != 0 && r == 0)
			r = -ENOMEM;
	}
	if (r == 0)
		r = metrics_write_file(m->path, buf, len);
	free(buf);
	json_decref(st);
	json_decref(bats);
	json_decref(prts);
	m->last_duration_s = mono_s() - t0;
	note_result(m, r);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct metrics *m = userdata;
	uint64_t now = 0, next = usec + m->interval_us;

	write_now(m);
	/* On the interval's grid, but never a burst of writes to catch up
	 * after the loop was busy. */
	sd_event_now(m->ev, CLOCK_MONOTONIC, &now);
	if (next <= now)
		next = now + m->interval_us;
	sd_event_source_set_time(s, next);
	return 0;
}

struct metrics *metrics_new(sd_event *ev, metrics_collect_fn collect,
			    void *userdata)
{
	struct metrics *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return NULL;
	m->ev = ev;
	m->collect = collect;
	m->userdata = userdata;
	m->last_duration_s = NAN;
	r = sd_event_add_time(ev, &m->timer, CLOCK_MONOTONIC, UINT64_MAX, 0,
			      on_timer, m);
	if (r >= 0)
		r = sd_event_source_set_priority(m->timer,
						 SD_EVENT_PRIORITY_IDLE);
	if (r >= 0)
		r = sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
	if (r < 0) {
		sd_event_source_disable_unref(m->timer);
		free(m);
		return NULL;
	}
	return m;
}

static void remove_file(const char *path)
{
	if (path[0] && unlink(path) < 0 && errno != ENOENT)
		log_warn("metrics: cannot remove %s: %s", path,
			 strerror(errno));
}

void metrics_configure(struct metrics *m, const struct cfg_metrics *c)
{
	uint64_t now = 0;

	m->interval_us = (uint64_t)c->interval_ms * 1000;
	if (strcmp(m->path, c->textfile) == 0)
		return; /* the new interval counts from the next write */
	remove_file(m->path);
	snprintf(m->path, sizeof(m->path), "%s", c->textfile);
	m->last_errno = 0;
	m->last_error[0] = '\0';
	if (!m->path[0]) {
		sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
		return;
	}
	/* the first write as soon as the loop is idle */
	sd_event_now(m->ev, CLOCK_MONOTONIC, &now);
	sd_event_source_set_time(m->timer, now);
	sd_event_source_set_enabled(m->timer, SD_EVENT_ON);
}

json_t *metrics_status_json(const struct metrics *m)
{
	json_t *o = json_object();

	json_object_set_new(o, "textfile",
			    m->path[0] ? json_string(m->path) : json_null());
	json_object_set_new(o, "interval",
			    json_real((double)m->interval_us / 1e6));
	json_object_set_new(o, "writes", json_integer((json_int_t)m->writes));
	json_object_set_new(o, "write_errors",
			    json_integer((json_int_t)m->errors));
	json_object_set_new(o, "last_error",
			    m->last_error[0] ? json_string(m->last_error)
					     : json_null());
	json_object_set_new(o, "last_write_duration",
			    isfinite(m->last_duration_s)
				    ? json_real(m->last_duration_s)
				    : json_null());
	return o;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	sd_event_source_disable_unref(m->timer);
	remove_file(m->path);
	free(m);
}
