/* SPDX-License-Identifier: MIT */
/*
 * sim_scenario.c - timed scenario scripts.
 *
 * Format: one step per line; '#' starts a comment (also after a step);
 * blank lines are ignored. Every step is
 *
 *     AT  TARGET  COMMAND  ARGS...
 *
 * AT      seconds from start on the simulated clock (--speed scales it),
 *         decimals allowed ("2.5"); never smaller than the previous step's.
 *         Steps with the same AT apply in file order; steps at 0 apply
 *         before the simulator prints READY.
 * TARGET  battery number (1-based) or "all".
 * COMMAND one of:
 *   current A             battery current in amperes, + = charging
 *   soc PERCENT           set the state of charge (0..100)
 *   temp C                every temperature sensor to C degrees Celsius
 *   temp N C              sensor N (1-based) to C
 *   cell N VOLTS          pin cell N at VOLTS (the model leaves it alone);
 *                         0..65.535, all a 16-bit mV field carries, so a
 *                         test can send an impossible value (0xFFFF)
 *   cells V1,V2,...       pin every cell (exactly one value per cell)
 *   unpin [N]             release cell N, or every cell
 *   protect TOKEN[,TOKEN...]|none
 *                         the protection flags the battery reports, e.g.
 *                         cell_undervoltage (names: sim_model.c); replaces
 *                         the previous set; "none" clears it
 *   fet charge on|off     charge MOSFET state as reported
 *   fet discharge on|off  discharge MOSFET state as reported
 *   silent                stop answering requests
 *   answer                answer again (also after sleep)
 *   sleep                 a sleeping pack on RS485: the adapter echoes
 *                         every request (even without --echo), nothing
 *                         answers (a Daly after its sleep timeout)
 *   garbage N             answer the next N requests with random bytes
 *   corrupt N             send the next N answers with a wrong checksum
 *   delay MS              answer MS real milliseconds after the request
 *   model TEXT            the model name the battery reports from now on
 *   serial TEXT           the serial number it reports (another battery
 *                         at the same address, for identity checks);
 *                         TEXT: 1..31 printable characters, no blanks
 *   end                   exit with status 0 at this time
 *
 * Example:
 *     0    all  current -2      # standby load
 *     10   1    cell 2 3.05     # a weak cell
 *     30.5 all  silent
 *     40   all  answer
 *     60   all  end
 */
#include "sim_scenario.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS   8
/* A pinned cell may be anything the protocols' 16-bit mV fields carry
 * (0xFFFF = 65.535 V), not only what a cell can be: the daemon must be
 * shown impossible values to prove it rejects them. */
#define CELL_V_MAX 65.535

struct parser {
	const char *name;
	unsigned lineno;
	const struct sim_limits *lim;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct parser *p,
						      const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%u: %s", p->name, p->lineno, msg);
	return -1;
}

static int parse_real(struct parser *p, const char *s, const char *what,
		      double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(v))
		return fail(p, "%s: '%s' is not a number", what, s);
	if (v < lo || v > hi)
		return fail(p, "%s %s out of range (%g to %g)", what, s, lo,
			    hi);
	*out = v;
	return 0;
}

static int parse_uint(struct parser *p, const char *s, const char *what,
		      unsigned lo, unsigned hi, unsigned *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (end == s || *end || errno || s[0] == '-' || s[0] == '+')
		return fail(p, "%s: '%s' is not a whole number", what, s);
	if (v < lo || v > hi)
		return fail(p, "%s %s out of range (%u to %u)", what, s, lo,
			    hi);
	*out = (unsigned)v;
	return 0;
}

static int nargs(struct parser *p, int argc, int lo, int hi, const char *use)
{
	if (argc < lo || argc > hi)
		return fail(p, "usage: AT TARGET %s", use);
	return 0;
}

static int parse_temp(struct parser *p, int argc, char **argv,
		      struct sim_step *s)
{
	if (nargs(p, argc, 1, 2, "temp [SENSOR] CELSIUS") < 0)
		return -1;
	if (p->lim->ntemps == 0)
		return fail(p, "temp: the batteries have no sensors (--temps)");
	s->index = SIM_ALL;
	if (argc == 2 && parse_uint(p, argv[0], "temp sensor", 1,
				    p->lim->ntemps, &s->index) < 0)
		return -1;
	return parse_real(p, argv[argc - 1], "temperature", -60, 150,
			  &s->value);
}

static int parse_cells(struct parser *p, int argc, char **argv,
		       struct sim_step *s)
{
	char *save = NULL, *tok;
	unsigned n = 0;

	if (nargs(p, argc, 1, 1, "cells V1,V2,...") < 0)
		return -1;
	for (tok = strtok_r(argv[0], ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == p->lim->ncells)
			return fail(p, "cells: more than %u values",
				    p->lim->ncells);
		if (parse_real(p, tok, "cell voltage", 0, CELL_V_MAX,
			       &s->cells[n]) < 0)
			return -1;
		n++;
	}
	if (n != p->lim->ncells)
		return fail(p, "cells: %u values for %u cells", n,
			    p->lim->ncells);
	return 0;
}

static int parse_protect(struct parser *p, int argc, char **argv,
			 struct sim_step *s)
{
	char *save = NULL, *tok;

	if (nargs(p, argc, 1, 1, "protect TOKEN[,TOKEN...]|none") < 0)
		return -1;
	s->mask = 0;
	if (strcmp(argv[0], "none") == 0)
		return 0;
	for (tok = strtok_r(argv[0], ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		uint32_t bit = sim_prot_from_name(tok);

		if (!bit)
			return fail(p,
				    "protect: unknown token '%s' (e.g. "
				    "cell_undervoltage, see sim_model.c)",
				    tok);
		s->mask |= bit;
	}
	return 0;
}

static int parse_fet(struct parser *p, int argc, char **argv,
		     struct sim_step *s)
{
	const char *use = "fet charge|discharge on|off";

	if (nargs(p, argc, 2, 2, use) < 0)
		return -1;
	if (strcmp(argv[0], "charge") == 0)
		s->cmd = SIM_CMD_FET_CHARGE;
	else if (strcmp(argv[0], "discharge") == 0)
		s->cmd = SIM_CMD_FET_DISCHARGE;
	else
		return fail(p, "usage: AT TARGET %s", use);
	if (strcmp(argv[1], "on") == 0)
		s->on = true;
	else if (strcmp(argv[1], "off") == 0)
		s->on = false;
	else
		return fail(p, "usage: AT TARGET %s", use);
	return 0;
}

/* Commands with one numeric argument. */
static int parse_number_cmd(struct parser *p, const char *cmd, int argc,
			    char **argv, struct sim_step *s)
{
	static const struct {
		const char *name, *use;
		enum sim_cmd cmd;
		bool integer;
		double lo, hi;
	} tab[] = {
		{"current", "current AMPERES", SIM_CMD_CURRENT, false, -10000,
		 10000},
		{"soc", "soc PERCENT", SIM_CMD_SOC, false, 0, 100},
		{"garbage", "garbage N", SIM_CMD_GARBAGE, true, 0, 1000000},
		{"corrupt", "corrupt N", SIM_CMD_CORRUPT, true, 0, 1000000},
		{"delay", "delay MS", SIM_CMD_DELAY, true, 0, 60000},
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (strcmp(cmd, tab[i].name) != 0)
			continue;
		s->cmd = tab[i].cmd;
		if (nargs(p, argc, 1, 1, tab[i].use) < 0)
			return -1;
		if (tab[i].integer)
			return parse_uint(p, argv[0], cmd, (unsigned)tab[i].lo,
					  (unsigned)tab[i].hi, &s->count);
		return parse_real(p, argv[0], cmd, tab[i].lo, tab[i].hi,
				  &s->value);
	}
	return 1; /* not one of these */
}

/* Commands without arguments. */
static int parse_bare_cmd(struct parser *p, const char *cmd, int argc,
			  struct sim_step *s)
{
	static const struct {
		const char *name;
		enum sim_cmd cmd;
	} tab[] = {
		{"silent", SIM_CMD_SILENT},
		{"answer", SIM_CMD_ANSWER},
		{"sleep", SIM_CMD_SLEEP},
		{"end", SIM_CMD_END},
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (strcmp(cmd, tab[i].name) != 0)
			continue;
		s->cmd = tab[i].cmd;
		return nargs(p, argc, 0, 0, cmd);
	}
	return 1;
}

/* model TEXT, serial TEXT: what the battery says it is. */
static int parse_word_cmd(struct parser *p, const char *cmd, int argc,
			  char **argv, struct sim_step *s)
{
	size_t n;

	if (strcmp(cmd, "model") == 0)
		s->cmd = SIM_CMD_MODEL;
	else if (strcmp(cmd, "serial") == 0)
		s->cmd = SIM_CMD_SERIAL;
	else
		return 1; /* not one of these */
	if (nargs(p, argc, 1, 1,
		  s->cmd == SIM_CMD_MODEL ? "model TEXT" : "serial TEXT") < 0)
		return -1;
	n = strlen(argv[0]);
	if (n >= sizeof(s->word))
		return fail(p, "%s: '%s' is longer than %zu characters", cmd,
			    argv[0], sizeof(s->word) - 1);
	for (size_t i = 0; i < n; i++)
		if (argv[0][i] < 0x21 || argv[0][i] > 0x7e)
			return fail(p, "%s: '%s' is not printable text", cmd,
				    argv[0]);
	memcpy(s->word, argv[0], n + 1);
	return 0;
}

static int parse_cell(struct parser *p, int argc, char **argv,
		      struct sim_step *s)
{
	if (nargs(p, argc, 2, 2, "cell N VOLTS") < 0 ||
	    parse_uint(p, argv[0], "cell", 1, p->lim->ncells, &s->index) < 0)
		return -1;
	return parse_real(p, argv[1], "cell voltage", 0, CELL_V_MAX, &s->value);
}

static int parse_unpin(struct parser *p, int argc, char **argv,
		       struct sim_step *s)
{
	s->index = SIM_ALL;
	if (nargs(p, argc, 0, 1, "unpin [CELL]") < 0)
		return -1;
	if (argc == 0)
		return 0;
	return parse_uint(p, argv[0], "cell", 1, p->lim->ncells, &s->index);
}

static int parse_command(struct parser *p, const char *cmd, int argc,
			 char **argv, struct sim_step *s)
{
	int rc;

	if (strcmp(cmd, "temp") == 0) {
		s->cmd = SIM_CMD_TEMP;
		return parse_temp(p, argc, argv, s);
	}
	if (strcmp(cmd, "cell") == 0) {
		s->cmd = SIM_CMD_CELL;
		return parse_cell(p, argc, argv, s);
	}
	if (strcmp(cmd, "cells") == 0) {
		s->cmd = SIM_CMD_CELLS;
		return parse_cells(p, argc, argv, s);
	}
	if (strcmp(cmd, "unpin") == 0) {
		s->cmd = SIM_CMD_UNPIN;
		return parse_unpin(p, argc, argv, s);
	}
	if (strcmp(cmd, "protect") == 0) {
		s->cmd = SIM_CMD_PROTECT;
		return parse_protect(p, argc, argv, s);
	}
	if (strcmp(cmd, "fet") == 0)
		return parse_fet(p, argc, argv, s);
	rc = parse_number_cmd(p, cmd, argc, argv, s);
	if (rc <= 0)
		return rc;
	rc = parse_bare_cmd(p, cmd, argc, s);
	if (rc <= 0)
		return rc;
	rc = parse_word_cmd(p, cmd, argc, argv, s);
	if (rc <= 0)
		return rc;
	return fail(
		p,
		"unknown command '%s' (known: current soc temp cell "
		"cells unpin protect fet silent answer sleep garbage corrupt "
		"delay model serial end)",
		cmd);
}

static int parse_target(struct parser *p, const char *tok, unsigned *target)
{
	if (strcmp(tok, "all") == 0) {
		*target = SIM_ALL;
		return 0;
	}
	return parse_uint(p, tok, "target battery", 1, p->lim->nbatteries,
			  target);
}

static int push(struct parser *p, struct sim_scenario *sc,
		const struct sim_step *s)
{
	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? 2 * sc->cap : 32;
		struct sim_step *n = realloc(sc->steps, cap * sizeof(*n));

		if (!n)
			return fail(p, "out of memory");
		sc->steps = n;
		sc->cap = cap;
	}
	sc->steps[sc->n++] = *s;
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && strchr(" \t\r\n", e[-1]))
		*--e = '\0';
	return s;
}

/* One non-empty, comment-free line into s. */
static int parse_step(struct parser *p, char *line, double prev,
		      struct sim_step *s)
{
	char *argv[MAX_ARGS + 3], *save = NULL, *tok;
	int argc = 0;

	for (tok = strtok_r(line, " \t", &save); tok;
	     tok = strtok_r(NULL, " \t", &save)) {
		if (argc == MAX_ARGS + 3)
			return fail(p, "too many words");
		argv[argc++] = tok;
	}
	if (argc < 3)
		return fail(p, "expected: AT TARGET COMMAND [ARGS...]");
	if (parse_real(p, argv[0], "time", 0, 1e9, &s->at) < 0 ||
	    parse_target(p, argv[1], &s->target) < 0)
		return -1;
	if (s->at < prev)
		return fail(p, "time %s is before the previous step's (%g)",
			    argv[0], prev);
	return parse_command(p, argv[2], argc - 3, argv + 3, s);
}

static int parse_line(struct parser *p, char *raw, struct sim_scenario *sc)
{
	struct sim_step s;
	char *hash = strchr(raw, '#');
	char *line;
	double prev = sc->n ? sc->steps[sc->n - 1].at : 0.0;

	if (hash)
		*hash = '\0';
	line = trim(raw);
	if (!*line)
		return 0;
	memset(&s, 0, sizeof(s));
	s.lineno = p->lineno;
	s.text = strdup(line);
	if (!s.text)
		return fail(p, "out of memory");
	if (parse_step(p, line, prev, &s) < 0 || push(p, sc, &s) < 0) {
		free(s.text);
		return -1;
	}
	return 0;
}

int sim_scenario_parse(FILE *f, const char *name, const struct sim_limits *lim,
		       struct sim_scenario *sc, char *err, size_t errlen)
{
	struct parser p = {
		.name = name, .lim = lim, .err = err, .errlen = errlen};
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	memset(sc, 0, sizeof(*sc));
	while (rc == 0 && getline(&line, &cap, f) >= 0) {
		p.lineno++;
		rc = parse_line(&p, line, sc);
	}
	if (rc == 0 && ferror(f))
		rc = fail(&p, "read error: %s", strerror(errno));
	free(line);
	if (rc < 0)
		sim_scenario_free(sc);
	return rc;
}

int sim_scenario_load(const char *path, const struct sim_limits *lim,
		      struct sim_scenario *sc, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	int rc;

	if (!f) {
		memset(sc, 0, sizeof(*sc));
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = sim_scenario_parse(f, path, lim, sc, err, errlen);
	fclose(f);
	return rc;
}

void sim_scenario_free(struct sim_scenario *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		free(sc->steps[i].text);
	free(sc->steps);
	memset(sc, 0, sizeof(*sc));
}

bool sim_scenario_next_at(const struct sim_scenario *sc, double *at)
{
	if (sc->next >= sc->n)
		return false;
	*at = sc->steps[sc->next].at;
	return true;
}

const struct sim_step *sim_scenario_take(struct sim_scenario *sc, double t)
{
	if (sc->next >= sc->n || sc->steps[sc->next].at > t)
		return NULL;
	return &sc->steps[sc->next++];
}

bool sim_step_targets(const struct sim_step *s, unsigned id)
{
	return s->target == SIM_ALL || s->target == id;
}

static void apply_temp(const struct sim_step *s, struct sim_battery *b)
{
	if (s->index != SIM_ALL) {
		if (s->index <= b->ntemps)
			b->temp_c[s->index - 1] = s->value;
		return;
	}
	for (unsigned i = 0; i < b->ntemps; i++)
		b->temp_c[i] = s->value;
}

static void apply_cells(const struct sim_step *s, struct sim_battery *b)
{
	switch (s->cmd) {
	case SIM_CMD_CELL:
		if (s->index >= 1 && s->index <= b->ncells)
			sim_battery_pin(b, s->index - 1, s->value);
		break;
	case SIM_CMD_CELLS:
		for (unsigned i = 0; i < b->ncells; i++)
			sim_battery_pin(b, i, s->cells[i]);
		break;
	default: /* SIM_CMD_UNPIN */
		if (s->index == SIM_ALL)
			sim_battery_unpin_all(b);
		else if (s->index <= b->ncells)
			sim_battery_unpin(b, s->index - 1);
		break;
	}
}

void sim_step_apply(const struct sim_step *s, struct sim_battery *b)
{
	switch (s->cmd) {
	case SIM_CMD_CURRENT:
		b->current_a = s->value;
		break;
	case SIM_CMD_SOC:
		sim_battery_set_soc(b, s->value);
		break;
	case SIM_CMD_TEMP:
		apply_temp(s, b);
		break;
	case SIM_CMD_CELL:
	case SIM_CMD_CELLS:
	case SIM_CMD_UNPIN:
		apply_cells(s, b);
		break;
	case SIM_CMD_PROTECT:
		b->protection = s->mask;
		break;
	case SIM_CMD_FET_CHARGE:
		b->charge_fet = s->on;
		break;
	case SIM_CMD_FET_DISCHARGE:
		b->discharge_fet = s->on;
		break;
	case SIM_CMD_SILENT:
	case SIM_CMD_ANSWER:
	case SIM_CMD_SLEEP:
		b->comm.silent = s->cmd != SIM_CMD_ANSWER;
		b->comm.asleep = s->cmd == SIM_CMD_SLEEP;
		break;
	case SIM_CMD_GARBAGE:
		b->comm.garbage_left = s->count;
		break;
	case SIM_CMD_CORRUPT:
		b->comm.corrupt_left = s->count;
		break;
	case SIM_CMD_DELAY:
		b->comm.delay_ms = s->count;
		break;
	case SIM_CMD_MODEL:
		memcpy(b->model, s->word, sizeof(b->model));
		break;
	case SIM_CMD_SERIAL:
		memcpy(b->serial, s->word, sizeof(b->serial));
		break;
	case SIM_CMD_END:
		break;
	}
}
