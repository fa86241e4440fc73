/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - [metrics] textfile = PATH: the status as Prometheus text
 * exposition, written atomically every interval for node-exporter's
 * textfile collector.
 *
 * Two parts: metrics_format() turns the status views the control socket
 * serves (status, batteries, ports: the same JSON, so the file and
 * `smallbmsctl status --json` cannot disagree) into the text; pure, no
 * clock, no I/O but the stream it is given. struct metrics is the timer
 * on the daemon's loop that collects, formats and replaces the file.
 *
 * A value the daemon does not have (JSON null) is left out of the file,
 * never written as 0 nor as NaN: 0 would read as a real value, and NaN
 * breaks most dashboards' sums and alerts. An absent series is what
 * Prometheus means by "no data" (absent(), staleness).
 */
#ifndef SMALLBMS_METRICS_H
#define SMALLBMS_METRICS_H

#include <jansson.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "cfg.h"

/* Write the exposition of status (daemon_status()), batteries
 * (status_batteries_json()) and ports (status_ports_json()) to out; any
 * of them may be NULL. Returns 0, or -1 if out reported an error. */
int metrics_format(FILE *out, const json_t *status, const json_t *batteries,
		   const json_t *ports);

/* Write buf to path.tmp (same directory) and rename it over path, so a
 * reader sees the old file or the new one, never a part. 0, or -errno. */
int metrics_write_file(const char *path, const char *buf, size_t len);

/* The three views for one write; each returned reference is the
 * caller's (metrics.c decrefs them). */
typedef void (*metrics_collect_fn)(void *userdata, json_t **status,
				   json_t **batteries, json_t **ports);

struct metrics;

/* The writer on ev (idle priority: it never runs while a battery answer or
 * a decision is pending). Inactive until metrics_configure() gives it a
 * textfile. NULL if out of memory or the timer cannot be added. */
struct metrics *metrics_new(sd_event *ev, metrics_collect_fn collect,
			    void *userdata);
/* Apply [metrics] (at start and after a reload): a new textfile is
 * written at once and the old one removed; none stops the writes and
 * removes the file; a new interval applies from the next write. */
void metrics_configure(struct metrics *m, const struct cfg_metrics *c);
/* The writer's own figures for the status: textfile, interval, writes,
 * write_errors, last_error, last_write_duration. */
json_t *metrics_status_json(const struct metrics *m);
/* Stop and remove the file: a daemon that is not running must not leave
 * values that look current (node-exporter exports a file until it goes). */
void metrics_free(struct metrics *m);

#endif
