/* SPDX-License-Identifier: MIT */
/*
 * sim_main.c - bmssim: the battery-chain simulator.
 *
 * Options and setup, then one sd-event loop: the lines' I/O, the scenario
 * timer, a once-a-second state-file timer and SIGTERM/SIGINT. Two clocks:
 * the simulated clock (scenario times, SoC integration) runs at --speed
 * times CLOCK_MONOTONIC from the moment READY is printed; answer delays are
 * real milliseconds, because the daemon's timeouts are real.
 *
 * stdout carries only the start-up handshake ("PTY path", "LINK path",
 * "READY"); everything else goes to stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "sim_line.h"
#include "sim_link.h"
#include "sim_model.h"
#include "sim_proto.h"
#include "sim_scenario.h"
#include "sim_state.h"

#define EXIT_USAGE    2
#define MAX_BATTERIES 50
#define STEP_EPSILON  1e-6 /* s: timer rounding must not delay a step */

struct opts {
	const char *protocol;
	unsigned batteries;
	unsigned cells;
	unsigned temps;
	double capacity;
	double soc;
	double imbalance_mv;
	double speed;
	const char *link;
	const char *scenario;
	const char *state_file;
	unsigned long long seed;
	bool verbose;
};

struct sim {
	struct opts opt;
	const struct sim_proto_ops *proto;
	unsigned nbats;
	struct sim_battery *bats;
	struct sim_battery **batp;
	unsigned nlines;
	struct sim_line **lines;
	struct sim_state_battery *sbats;
	struct sim_scenario sc;
	sd_event *ev;
	sd_event_source *step_timer;
	sd_event_source *state_timer;
	uint64_t start_us;
	bool ended;
	int status;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bmssim [OPTION]...\n"
		"Simulate a chain of batteries speaking a BMS protocol on "
		"pseudo-terminals.\n\n"
		"  --protocol NAME    protocol: %s (default jbd)\n"
		"  --batteries N      number of batteries, 1..%u (default 1);\n"
		"                     jbd has no addressing: one pty each\n"
		"  --cells N          cells per battery, 1..%u (default 4)\n"
		"  --capacity AH      capacity per battery (default 100)\n"
		"  --soc P            initial state of charge, %% (default "
		"80)\n"
		"  --temps N          temperature sensors, 0..%u (default 2)\n"
		"  --imbalance MV     largest per-cell offset, mV (default 3)\n"
		"  --link PATH        symlink to the pty; with several ptys\n"
		"                     PATH.1, PATH.2, ...\n"
		"  --scenario FILE    run a timed scenario (format: "
		"README.md)\n"
		"  --state-file PATH  keep the simulated state there as JSON\n"
		"  --speed X          simulated clock multiplier (default 1)\n"
		"  --seed N           seed for injected garbage (default 1)\n"
		"  -v, --verbose      log requests and answers to stderr\n"
		"  -h, --help         show this help\n\n"
		"Prints 'PTY path' (and 'LINK path') per line, then 'READY'.\n"
		"Exit: 0 on SIGTERM/SIGINT or a scenario 'end', 1 on a "
		"run-time error,\n2 on a usage or scenario error.\n",
		sim_proto_names(), MAX_BATTERIES, SIM_MAX_CELLS, SIM_MAX_TEMPS);
}

static int bad_opt(const char *opt, const char *arg, const char *what)
{
	fprintf(stderr, "bmssim: --%s: '%s' %s\n", opt, arg, what);
	return -1;
}

static int opt_uint(const char *opt, const char *arg, unsigned long long lo,
		    unsigned long long hi, unsigned long long *out)
{
	char *end;
	char what[80];

	errno = 0;
	*out = strtoull(arg, &end, 10);
	snprintf(what, sizeof(what), "is not a whole number from %llu to %llu",
		 lo, hi);
	if (end == arg || *end || errno || arg[0] == '-' || *out < lo ||
	    *out > hi)
		return bad_opt(opt, arg, what);
	return 0;
}

static int opt_unsigned(const char *opt, const char *arg, unsigned lo,
			unsigned hi, unsigned *out)
{
	unsigned long long v;

	if (opt_uint(opt, arg, lo, hi, &v) < 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int opt_real(const char *opt, const char *arg, double lo, double hi,
		    double *out)
{
	char *end;
	char what[80];

	errno = 0;
	*out = strtod(arg, &end);
	snprintf(what, sizeof(what), "is not a number from %g to %g", lo, hi);
	if (end == arg || *end || errno || !isfinite(*out) || *out < lo ||
	    *out > hi)
		return bad_opt(opt, arg, what);
	return 0;
}

enum {
	OPT_PROTOCOL = 256,
	OPT_BATTERIES,
	OPT_CELLS,
	OPT_CAPACITY,
	OPT_SOC,
	OPT_TEMPS,
	OPT_IMBALANCE,
	OPT_LINK,
	OPT_SCENARIO,
	OPT_STATE_FILE,
	OPT_SPEED,
	OPT_SEED,
};

static const struct option long_opts[] = {
	{"protocol", required_argument, NULL, OPT_PROTOCOL},
	{"batteries", required_argument, NULL, OPT_BATTERIES},
	{"cells", required_argument, NULL, OPT_CELLS},
	{"capacity", required_argument, NULL, OPT_CAPACITY},
	{"soc", required_argument, NULL, OPT_SOC},
	{"temps", required_argument, NULL, OPT_TEMPS},
	{"imbalance", required_argument, NULL, OPT_IMBALANCE},
	{"link", required_argument, NULL, OPT_LINK},
	{"scenario", required_argument, NULL, OPT_SCENARIO},
	{"state-file", required_argument, NULL, OPT_STATE_FILE},
	{"speed", required_argument, NULL, OPT_SPEED},
	{"seed", required_argument, NULL, OPT_SEED},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* One option with an argument; -1 on a bad value. The OPT_ codes follow
 * the order of long_opts[], which gives the option's name for messages. */
static int set_opt(struct opts *o, int c, const char *arg)
{
	const char *name = long_opts[c - OPT_PROTOCOL].name;

	switch (c) {
	case OPT_PROTOCOL:
		o->protocol = arg;
		return 0;
	case OPT_BATTERIES:
		return opt_unsigned(name, arg, 1, MAX_BATTERIES, &o->batteries);
	case OPT_CELLS:
		return opt_unsigned(name, arg, 1, SIM_MAX_CELLS, &o->cells);
	case OPT_CAPACITY:
		return opt_real(name, arg, 0.1, 10000, &o->capacity);
	case OPT_SOC:
		return opt_real(name, arg, 0, 100, &o->soc);
	case OPT_TEMPS:
		return opt_unsigned(name, arg, 0, SIM_MAX_TEMPS, &o->temps);
	case OPT_IMBALANCE:
		return opt_real(name, arg, 0, 500, &o->imbalance_mv);
	case OPT_LINK:
		o->link = arg;
		return 0;
	case OPT_SCENARIO:
		o->scenario = arg;
		return 0;
	case OPT_STATE_FILE:
		o->state_file = arg;
		return 0;
	case OPT_SPEED:
		return opt_real(name, arg, 0.001, 10000, &o->speed);
	default: /* OPT_SEED */
		return opt_uint(name, arg, 0, UINT64_MAX, &o->seed);
	}
}

/* 0 to run, 1 to exit 0 (--help), -1 on a usage error. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){.protocol = "jbd",
			   .batteries = 1,
			   .cells = 4,
			   .temps = 2,
			   .capacity = 100,
			   .soc = 80,
			   .imbalance_mv = 3,
			   .speed = 1,
			   .seed = 1};
	while ((c = getopt_long(argc, argv, "vh", long_opts, NULL)) != -1) {
		if (c == 'v') {
			o->verbose = true;
		} else if (c == 'h') {
			usage(stdout);
			return 1;
		} else if (c >= OPT_PROTOCOL && c <= OPT_SEED) {
			if (set_opt(o, c, optarg) < 0)
				return -1;
		} else {
			fprintf(stderr, "Try 'bmssim --help'.\n");
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bmssim: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	return 0;
}

/* ---- clock and state ---------------------------------------------------- */

static double sim_now(struct sim *s)
{
	uint64_t now = 0;

	sd_event_now(s->ev, CLOCK_MONOTONIC, &now);
	if (now <= s->start_us)
		return 0.0;
	return (double)(now - s->start_us) / 1e6 * s->opt.speed;
}

static void advance_all(struct sim *s, double t)
{
	for (unsigned i = 0; i < s->nbats; i++)
		sim_battery_advance(&s->bats[i], t);
}

static void sync_models(void *ctx)
{
	struct sim *s = ctx;

	advance_all(s, sim_now(s));
}

static void fail_run(struct sim *s)
{
	s->status = EXIT_FAILURE;
	s->ended = true;
	sd_event_exit(s->ev, EXIT_FAILURE);
}

static int write_state(struct sim *s)
{
	struct sim_state st = {
		.protocol = s->proto->name,
		.ops = s->proto,
		.speed = s->opt.speed,
		.nbats = s->nbats,
		.bats = s->sbats,
	};
	char err[512];

	if (!s->opt.state_file)
		return 0;
	st.time = sim_now(s);
	advance_all(s, st.time);
	if (sim_state_write(s->opt.state_file, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "bmssim: %s\n", err);
		fail_run(s);
		return -1;
	}
	return 0;
}

static void state_changed(void *ctx)
{
	write_state(ctx);
}

static int on_state_timer(sd_event_source *es, uint64_t usec, void *data)
{
	struct sim *s = data;

	write_state(s);
	sd_event_source_set_time(es, usec + 1000000);
	return 0;
}

/* ---- scenario ----------------------------------------------------------- */

static void apply_step(struct sim *s, const struct sim_step *st)
{
	fprintf(stderr, "bmssim: t=%.3f %s:%u: %s\n", st->at, s->opt.scenario,
		st->lineno, st->text);
	if (st->cmd == SIM_CMD_END) {
		s->ended = true;
		return;
	}
	for (unsigned i = 0; i < s->nbats; i++)
		if (sim_step_targets(st, s->bats[i].id))
			sim_step_apply(st, &s->bats[i]);
}

/* Apply every step due at t, each at its own time so the coulomb count
 * sees current changes exactly when the script says. */
static void run_due(struct sim *s, double t)
{
	const struct sim_step *st;

	while (!s->ended &&
	       (st = sim_scenario_take(&s->sc, t + STEP_EPSILON))) {
		advance_all(s, st->at);
		apply_step(s, st);
	}
	advance_all(s, t);
}

static void arm_step_timer(struct sim *s)
{
	double at;
	uint64_t due;

	if (s->ended || !sim_scenario_next_at(&s->sc, &at)) {
		sd_event_source_set_enabled(s->step_timer, SD_EVENT_OFF);
		return;
	}
	due = s->start_us + (uint64_t)ceil(at / s->opt.speed * 1e6);
	sd_event_source_set_time(s->step_timer, due);
	sd_event_source_set_enabled(s->step_timer, SD_EVENT_ONESHOT);
}

static int on_step_timer(sd_event_source *es, uint64_t usec, void *data)
{
	struct sim *s = data;

	run_due(s, sim_now(s));
	if (write_state(s) < 0)
		return 0;
	if (s->ended) {
		sd_event_exit(s->ev, s->status);
		return 0;
	}
	arm_step_timer(s);
	return 0;
}

static int on_signal(sd_event_source *es, const struct signalfd_siginfo *si,
		     void *data)
{
	struct sim *s = data;

	fprintf(stderr, "bmssim: signal %u, exiting\n", si->ssi_signo);
	s->ended = true;
	sd_event_exit(s->ev, s->status);
	return 0;
}

/* ---- setup -------------------------------------------------------------- */

static int make_batteries(struct sim *s)
{
	struct sim_battery_cfg cfg = {
		.ncells = s->opt.cells,
		.capacity_ah = s->opt.capacity,
		.soc = s->opt.soc,
		.ntemps = s->opt.temps,
		.imbalance_mv = s->opt.imbalance_mv,
	};
	char err[256];

	s->nbats = s->opt.batteries;
	s->bats = calloc(s->nbats, sizeof(*s->bats));
	s->batp = calloc(s->nbats, sizeof(*s->batp));
	s->sbats = calloc(s->nbats, sizeof(*s->sbats));
	if (!s->bats || !s->batp || !s->sbats) {
		fprintf(stderr, "bmssim: out of memory\n");
		return -1;
	}
	for (unsigned i = 0; i < s->nbats; i++) {
		if (sim_battery_init(&s->bats[i], i + 1, &cfg) < 0) {
			fprintf(stderr, "bmssim: bad battery settings\n");
			return -1;
		}
		if (s->proto->check(&s->bats[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "bmssim: %s\n", err);
			return -1;
		}
		s->batp[i] = &s->bats[i];
	}
	return 0;
}

static int load_scenario(struct sim *s)
{
	struct sim_limits lim = {
		.nbatteries = s->nbats,
		.ncells = s->opt.cells,
		.ntemps = s->opt.temps,
	};
	char err[512];

	if (!s->opt.scenario)
		return 0;
	if (sim_scenario_load(s->opt.scenario, &lim, &s->sc, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static struct sim_link *open_link(struct sim *s, unsigned number)
{
	char path[PATH_MAX], err[512];
	const char *link = NULL;
	struct sim_link *l;

	if (s->opt.link && s->nlines == 1) {
		link = s->opt.link;
	} else if (s->opt.link) {
		snprintf(path, sizeof(path), "%s.%u", s->opt.link, number);
		link = path;
	}
	l = sim_link_pty_open(link, err, sizeof(err));
	if (!l)
		fprintf(stderr, "bmssim: line %u: %s\n", number, err);
	return l;
}

/* Batteries fill lines in order, as many per line as the protocol takes. */
static int make_lines(struct sim *s)
{
	unsigned per = s->proto->max_per_line;

	s->nlines = (s->nbats + per - 1) / per;
	s->lines = calloc(s->nlines, sizeof(*s->lines));
	if (!s->lines)
		return -1;
	for (unsigned i = 0; i < s->nlines; i++) {
		unsigned first = i * per;
		unsigned n = s->nbats - first < per ? s->nbats - first : per;
		struct sim_line_cfg cfg = {
			.number = i + 1,
			.proto = s->proto,
			.bats = s->batp + first,
			.nbats = n,
			.seed = s->opt.seed,
			.verbose = s->opt.verbose,
			.hooks = {.sync = sync_models,
				  .changed = state_changed,
				  .ctx = s},
		};
		struct sim_link *link = open_link(s, i + 1);
		const struct sim_link *l;

		if (!link)
			return -1;
		s->lines[i] = sim_line_new(&cfg, link);
		if (!s->lines[i] || sim_line_start(s->lines[i], s->ev) < 0) {
			fprintf(stderr, "bmssim: line %u: cannot start\n",
				i + 1);
			return -1;
		}
		l = sim_line_link(s->lines[i]);
		for (unsigned k = first; k < first + n; k++)
			s->sbats[k] = (struct sim_state_battery){
				.b = &s->bats[k],
				.line = i + 1,
				.pty = l->path,
				.link = l->link,
			};
	}
	return 0;
}

static int make_loop(struct sim *s)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    sd_event_new(&s->ev) < 0 ||
	    sd_event_add_signal(s->ev, NULL, SIGTERM, on_signal, s) < 0 ||
	    sd_event_add_signal(s->ev, NULL, SIGINT, on_signal, s) < 0 ||
	    sd_event_add_time(s->ev, &s->step_timer, CLOCK_MONOTONIC, 0, 1000,
			      on_step_timer, s) < 0 ||
	    sd_event_source_set_enabled(s->step_timer, SD_EVENT_OFF) < 0) {
		fprintf(stderr, "bmssim: cannot set up the event loop\n");
		return -1;
	}
	return 0;
}

/* Start the clock, apply the steps at 0, announce the lines. */
static int go(struct sim *s)
{
	sd_event_now(s->ev, CLOCK_MONOTONIC, &s->start_us);
	run_due(s, 0.0);
	if (write_state(s) < 0)
		return -1;
	if (s->opt.state_file &&
	    sd_event_add_time(s->ev, &s->state_timer, CLOCK_MONOTONIC,
			      s->start_us + 1000000, 1000, on_state_timer,
			      s) < 0)
		return -1;
	if (s->state_timer)
		sd_event_source_set_enabled(s->state_timer, SD_EVENT_ON);
	arm_step_timer(s);
	for (unsigned i = 0; i < s->nlines; i++) {
		const struct sim_link *l = sim_line_link(s->lines[i]);

		printf("PTY %s\n", l->path);
		if (l->link[0])
			printf("LINK %s\n", l->link);
	}
	printf("READY\n");
	if (fflush(stdout) != 0) {
		perror("bmssim: stdout");
		return -1;
	}
	fprintf(stderr,
		"bmssim: %s, %u battery(ies) x %u cells, %.1f Ah, soc %.1f %%, "
		"speed %g\n",
		s->proto->name, s->nbats, s->opt.cells, s->opt.capacity,
		s->opt.soc, s->opt.speed);
	return 0;
}

static void cleanup(struct sim *s)
{
	for (unsigned i = 0; s->lines && i < s->nlines; i++)
		sim_line_free(s->lines[i]);
	free(s->lines);
	s->step_timer = sd_event_source_disable_unref(s->step_timer);
	s->state_timer = sd_event_source_disable_unref(s->state_timer);
	sd_event_unref(s->ev);
	sim_scenario_free(&s->sc);
	free(s->sbats);
	free(s->batp);
	free(s->bats);
}

static int setup(struct sim *s)
{
	s->proto = sim_proto_find(s->opt.protocol);
	if (!s->proto) {
		fprintf(stderr, "bmssim: unknown protocol '%s' (known: %s)\n",
			s->opt.protocol, sim_proto_names());
		return EXIT_USAGE;
	}
	if (make_batteries(s) < 0)
		return EXIT_USAGE;
	if (load_scenario(s) < 0)
		return EXIT_USAGE;
	if (make_loop(s) < 0 || make_lines(s) < 0)
		return EXIT_FAILURE;
	return 0;
}

int main(int argc, char **argv)
{
	struct sim s = {.status = EXIT_SUCCESS};
	int rc;

	rc = parse_args(argc, argv, &s.opt);
	if (rc != 0)
		return rc > 0 ? EXIT_SUCCESS : EXIT_USAGE;
	rc = setup(&s);
	if (rc == 0 && go(&s) < 0)
		rc = EXIT_FAILURE;
	if (rc == 0 && !s.ended)
		rc = sd_event_loop(s.ev) < 0 ? EXIT_FAILURE : s.status;
	else if (rc == 0)
		rc = s.status;
	if (rc == EXIT_SUCCESS && s.opt.state_file)
		write_state(&s);
	cleanup(&s);
	return rc;
}
