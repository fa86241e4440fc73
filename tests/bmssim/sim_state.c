/* SPDX-License-Identifier: MIT */
/*
 * sim_state.c - the state file (see sim_state.h).
 *
 * {"type": "bmssim-state", "version": 1, "protocol": "jbd", "replay": null,
 *  "time": 12.5, "speed": 1, "batteries": [{"id": 1, "line": 1,
 *  "kind": "pty", "pty": "/dev/pts/3", "link": "", "address": null,
 *  "model": ..., "serial": "", "firmware": "1.0", "manufactured": ...,
 *  "voltage": 13.2, "current": -40, "soc": 79, "soc_exact": 79.18,
 *  "remaining_ah": 79.18, "nominal_ah": 100, "full_ah": 100, "cycles": 0,
 *  "cell_v": [...], "cell_min_v": ..., "cell_max_v": ..., "pinned": [...],
 *  "temp_c": [...], "protection": ["cell_undervoltage"], "balancing": 0,
 *  "charge_fet": true, "discharge_fet": true, "silent": false,
 *  "garbage_left": 0, "corrupt_left": 0, "delay_ms": 0, "requests": 10,
 *  "answered": 9, "garbage_sent": 1, "corrupt_sent": 0}]}
 */
#include "sim_state.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Ten significant digits: 3.3 prints as 3.3, not 3.2999999999999998. */
#define DUMP_FLAGS (JSON_INDENT(1) | JSON_REAL_PRECISION(10))

static json_t *real_array(const double *v, unsigned n)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < n; i++)
		json_array_append_new(a, json_real(v[i]));
	return a;
}

static json_t *protection_array(uint32_t mask)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < SIM_PROT_COUNT; i++)
		if (mask & (1u << i))
			json_array_append_new(
				a, json_string(sim_prot_name(1u << i)));
	return a;
}

static void add_cells(json_t *o, const struct sim_battery *b,
		      const struct sim_view *v)
{
	json_t *pinned = json_array();
	double lo = v->cell_v[0], hi = v->cell_v[0];

	for (unsigned i = 0; i < v->ncells; i++) {
		lo = v->cell_v[i] < lo ? v->cell_v[i] : lo;
		hi = v->cell_v[i] > hi ? v->cell_v[i] : hi;
		json_array_append_new(pinned, json_boolean(b->pinned[i]));
	}
	json_object_set_new(o, "cell_v", real_array(v->cell_v, v->ncells));
	json_object_set_new(o, "cell_min_v", json_real(lo));
	json_object_set_new(o, "cell_max_v", json_real(hi));
	json_object_set_new(o, "pinned", pinned);
}

static void add_comm(json_t *o, const struct sim_comm *c)
{
	json_object_set_new(o, "silent", json_boolean(c->silent));
	json_object_set_new(o, "garbage_left", json_integer(c->garbage_left));
	json_object_set_new(o, "corrupt_left", json_integer(c->corrupt_left));
	json_object_set_new(o, "delay_ms", json_integer(c->delay_ms));
	json_object_set_new(o, "requests", json_integer(c->requests));
	json_object_set_new(o, "answered", json_integer(c->answered));
	json_object_set_new(o, "garbage_sent", json_integer(c->garbage_sent));
	json_object_set_new(o, "corrupt_sent", json_integer(c->corrupt_sent));
}

static void add_identity(json_t *o, const struct sim_state_battery *sb)
{
	json_object_set_new(o, "id", json_integer(sb->b->id));
	json_object_set_new(o, "line", json_integer(sb->line));
	json_object_set_new(o, "kind",
			    json_string(sb->kind ? sb->kind : "pty"));
	json_object_set_new(o, "pty", json_string(sb->pty));
	json_object_set_new(o, "link", json_string(sb->link));
	json_object_set_new(o, "address",
			    sb->addressed ? json_integer(sb->b->address)
					  : json_null());
}

static void add_values(json_t *o, const struct sim_state *st,
		       const struct sim_battery *b)
{
	struct sim_view v;
	char text[32];

	sim_proto_view(st->ops, b, &v);
	json_object_set_new(o, "model", json_string(v.model));
	json_object_set_new(o, "serial", json_string(v.serial));
	snprintf(text, sizeof(text), "%u.%u", v.fw_major, v.fw_minor);
	json_object_set_new(o, "firmware", json_string(text));
	text[0] = '\0'; /* "" when the protocol carries no date */
	if (v.mfg_year)
		snprintf(text, sizeof(text), "%04u-%02u-%02u",
			 v.mfg_year % 10000, v.mfg_month % 100,
			 v.mfg_day % 100);
	json_object_set_new(o, "manufactured", json_string(text));
	json_object_set_new(o, "voltage", json_real(v.voltage));
	json_object_set_new(o, "current", json_real(v.current));
	json_object_set_new(o, "soc", json_real(v.soc));
	json_object_set_new(o, "soc_exact", json_real(b->soc));
	json_object_set_new(o, "remaining_ah", json_real(v.remaining_ah));
	json_object_set_new(o, "nominal_ah", json_real(v.nominal_ah));
	json_object_set_new(o, "full_ah", json_real(v.full_ah));
	json_object_set_new(o, "cycles", json_integer(v.cycles));
	add_cells(o, b, &v);
	json_object_set_new(o, "temp_c", real_array(v.temp_c, v.ntemps));
	json_object_set_new(o, "protection", protection_array(v.protection));
	json_object_set_new(o, "balancing", json_integer(v.balancing));
	json_object_set_new(o, "charge_fet", json_boolean(v.charge_fet));
	json_object_set_new(o, "discharge_fet", json_boolean(v.discharge_fet));
}

static json_t *battery_json(const struct sim_state *st,
			    const struct sim_state_battery *sb)
{
	json_t *o = json_object();

	add_identity(o, sb);
	if (!st->replay)
		add_values(o, st, sb->b);
	add_comm(o, &sb->b->comm);
	return o;
}

char *sim_state_json(const struct sim_state *st)
{
	json_t *root = json_object();
	json_t *bats = json_array();
	char *text;

	json_object_set_new(root, "type", json_string("bmssim-state"));
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "protocol", json_string(st->protocol));
	json_object_set_new(root, "replay",
			    st->replay ? json_string(st->replay) : json_null());
	json_object_set_new(root, "time", json_real(st->time));
	json_object_set_new(root, "speed", json_real(st->speed));
	for (unsigned i = 0; i < st->nbats; i++)
		json_array_append_new(bats, battery_json(st, &st->bats[i]));
	json_object_set_new(root, "batteries", bats);
	text = json_dumps(root, DUMP_FLAGS);
	json_decref(root);
	return text;
}

static int write_all(FILE *f, const char *text)
{
	size_t n = strlen(text);

	if (fwrite(text, 1, n, f) != n || fputc('\n', f) == EOF)
		return -1;
	return 0;
}

int sim_state_write(const char *path, const struct sim_state *st, char *err,
		    size_t errlen)
{
	char tmp[4096];
	char *text = sim_state_json(st);
	FILE *f;
	int rc;

	if (!text) {
		snprintf(err, errlen, "state: out of memory");
		return -1;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		free(text);
		snprintf(err, errlen, "state: path too long: %s", path);
		return -1;
	}
	f = fopen(tmp, "we");
	if (!f) {
		snprintf(err, errlen, "state: %s: %s", tmp, strerror(errno));
		free(text);
		return -1;
	}
	rc = write_all(f, text);
	free(text);
	if (fclose(f) != 0 || rc < 0) {
		snprintf(err, errlen, "state: write %s: %s", tmp,
			 strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "state: rename %s: %s", tmp,
			 strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
