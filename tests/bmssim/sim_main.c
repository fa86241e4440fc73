/* SPDX-License-Identifier: MIT */
/*
 * sim_main.c - bmssim: the battery-chain simulator.
 *
 * Options (sim_opts.c) and setup, then one sd-event loop: the lines' I/O,
 * the scenario timer, a once-a-second state-file timer and SIGTERM/SIGINT.
 * Two clocks: the simulated clock (scenario times, SoC integration) runs
 * at --speed times CLOCK_MONOTONIC from the moment READY is printed;
 * answer delays are real milliseconds, because the daemon's timeouts are
 * real.
 *
 * stdout carries only the start-up handshake ("PTY path" or "TCP
 * address:port", "LINK path", "READY"); everything else goes to stderr.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "sim_capture.h"
#include "sim_line.h"
#include "sim_link.h"
#include "sim_model.h"
#include "sim_opts.h"
#include "sim_proto.h"
#include "sim_replay.h"
#include "sim_scenario.h"
#include "sim_state.h"

#define EXIT_USAGE   2
#define STEP_EPSILON 1e-6 /* s: timer rounding must not delay a step */

struct sim {
	struct sim_opts opt;
	const struct sim_proto_ops *proto;
	const char *proto_name; /* for the state file */
	unsigned per_line;      /* batteries on one line */
	unsigned nbats;
	struct sim_battery *bats;
	struct sim_battery **batp;
	unsigned nlines;
	struct sim_line **lines;
	struct sim_state_battery *sbats;
	struct sim_scenario sc;
	struct sim_capture cap; /* --replay */
	unsigned replay_addr[SIM_MAX_BATTERIES];
	FILE *tx_log; /* --tx-log */
	sd_event *ev;
	sd_event_source *step_timer;
	sd_event_source *state_timer;
	uint64_t start_us;
	bool ended;
	int status;
};

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
		.protocol = s->proto_name,
		.ops = s->proto,
		.replay = s->opt.replay,
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

/* ---- setup: what to simulate -------------------------------------------- */

static int usage_error(const char *msg)
{
	fprintf(stderr, "bmssim: %s\n", msg);
	return -1;
}

/* Options that lay out batteries; the capture decides them in replay. */
static const char *layout_option(const struct sim_opts *o)
{
	return o->batteries          ? "--batteries"
	       : o->packs            ? "--packs"
	       : o->naddresses       ? "--addresses"
	       : o->address_base_set ? "--address-base"
	       : o->stack            ? "--stack"
				     : NULL;
}

static bool family_matches(enum sim_family f, const struct sim_proto_ops *p)
{
	return sim_family_of(p->name) == f;
}

static int resolve_replay(struct sim *s)
{
	const struct sim_proto_ops *named = NULL;
	char err[512];
	int n;

	if (layout_option(&s->opt)) {
		fprintf(stderr,
			"bmssim: --replay: the capture defines the "
			"batteries (drop %s)\n",
			layout_option(&s->opt));
		return -1;
	}
	if (s->opt.protocol && !(named = sim_proto_find(s->opt.protocol))) {
		fprintf(stderr, "bmssim: unknown protocol '%s' (known: %s)\n",
			s->opt.protocol, sim_proto_names());
		return -1;
	}
	if (sim_capture_load(s->opt.replay, &s->cap, err, sizeof(err)) < 0)
		return usage_error(err);
	if (named && !family_matches(s->cap.family, named)) {
		fprintf(stderr,
			"bmssim: --protocol %s does not match %s (a %s "
			"capture)\n",
			named->name, s->opt.replay,
			sim_family_name(s->cap.family));
		return -1;
	}
	n = sim_replay_addresses(&s->cap, s->replay_addr, SIM_MAX_BATTERIES,
				 err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "bmssim: %s:%s\n", s->opt.replay, err);
		return -1;
	}
	s->proto = &sim_replay_ops;
	s->proto_name = named ? named->name : sim_family_name(s->cap.family);
	s->nbats = s->per_line = (unsigned)n;
	return 0;
}

static int resolve_stack(struct sim *s)
{
	char msg[128];

	if (!s->opt.stack)
		return 0;
	if (s->proto->max_stack == 0) {
		snprintf(msg, sizeof(msg),
			 "--stack: %s packs do not answer stack reads",
			 s->proto->name);
		return usage_error(msg);
	}
	if (s->per_line > s->proto->max_stack) {
		snprintf(msg, sizeof(msg),
			 "--stack: a stack answer holds at most %u packs",
			 s->proto->max_stack);
		return usage_error(msg);
	}
	return 0;
}

/* Packs per line and their addresses. */
static int resolve_addresses(struct sim *s)
{
	const struct sim_opts *o = &s->opt;
	char msg[160];

	if (!s->proto->addressed) {
		if (o->packs > 1 || o->naddresses || o->address_base_set ||
		    o->stack) {
			snprintf(msg, sizeof(msg),
				 "%s has no addressing: one battery per line "
				 "(use --batteries)",
				 s->proto->name);
			return usage_error(msg);
		}
		s->per_line = 1;
		return 0;
	}
	if (o->packs && o->naddresses && o->packs != o->naddresses) {
		snprintf(msg, sizeof(msg),
			 "--packs %u but --addresses names %u", o->packs,
			 o->naddresses);
		return usage_error(msg);
	}
	if (o->naddresses && o->address_base_set)
		return usage_error("--addresses and --address-base exclude "
				   "each other");
	s->per_line = o->naddresses ? o->naddresses : o->packs ? o->packs : 1;
	if (s->per_line > s->proto->max_per_line)
		return usage_error("--packs: too many packs for one line");
	if (!o->naddresses &&
	    o->address_base + s->per_line - 1 > SIM_MAX_ADDRESS) {
		snprintf(msg, sizeof(msg),
			 "--address-base: addresses %u..%u go past %u",
			 o->address_base, o->address_base + s->per_line - 1,
			 SIM_MAX_ADDRESS);
		return usage_error(msg);
	}
	return resolve_stack(s);
}

static int resolve_model(struct sim *s)
{
	const char *name = s->opt.protocol ? s->opt.protocol : "jbd";

	s->proto = sim_proto_find(name);
	if (!s->proto) {
		fprintf(stderr, "bmssim: unknown protocol '%s' (known: %s)\n",
			name, sim_proto_names());
		return -1;
	}
	s->proto_name = s->proto->name;
	if (resolve_addresses(s) < 0)
		return -1;
	s->nbats = s->opt.batteries ? s->opt.batteries : s->per_line;
	return 0;
}

/* HOST:PORT with a non-empty host and a port 0..65535. */
static bool tcp_syntax_ok(const char *hostport)
{
	const char *colon = strrchr(hostport, ':');

	return colon && colon > hostport && colon[1] &&
	       strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
	       strlen(colon + 1) <= 5 && atol(colon + 1) <= 65535;
}

static int resolve(struct sim *s)
{
	char msg[160];

	if (s->opt.tcp && s->opt.link)
		return usage_error("--link and --tcp exclude each other");
	/* A TCP client has no rate to check: never silently ignored. */
	if (s->opt.tcp && s->opt.line_baud)
		return usage_error("--line-baud and --tcp exclude each other");
	if (s->opt.tcp && !tcp_syntax_ok(s->opt.tcp)) {
		snprintf(msg, sizeof(msg), "--tcp: '%s' is not HOST:PORT",
			 s->opt.tcp);
		return usage_error(msg);
	}
	return s->opt.replay ? resolve_replay(s) : resolve_model(s);
}

/* ---- setup: batteries, lines, loop -------------------------------------- */

static unsigned address_of(const struct sim *s, unsigned k)
{
	unsigned j = k % s->per_line;

	if (s->opt.replay)
		return s->replay_addr[k];
	if (!s->proto->addressed)
		return 0;
	return s->opt.naddresses ? s->opt.addresses[j]
				 : s->opt.address_base + j;
}

static int init_battery(struct sim *s, unsigned k)
{
	struct sim_battery_cfg cfg = {
		.ncells = s->opt.cells,
		.capacity_ah = s->opt.capacity,
		.soc = s->opt.soc,
		.ntemps = s->opt.temps,
		.imbalance_mv = s->opt.imbalance_mv,
	};
	struct sim_battery *b = &s->bats[k];
	char err[256];

	if (sim_battery_init(b, k + 1, &cfg) < 0)
		return usage_error("bad battery settings");
	if (s->proto->identify)
		s->proto->identify(b);
	b->address = address_of(s, k);
	b->comm.delay_ms = s->opt.delay_ms;
	if (s->proto->check(b, err, sizeof(err)) < 0)
		return usage_error(err);
	s->batp[k] = b;
	return 0;
}

static int make_batteries(struct sim *s)
{
	s->bats = calloc(s->nbats, sizeof(*s->bats));
	s->batp = calloc(s->nbats, sizeof(*s->batp));
	s->sbats = calloc(s->nbats, sizeof(*s->sbats));
	if (!s->bats || !s->batp || !s->sbats)
		return usage_error("out of memory");
	for (unsigned k = 0; k < s->nbats; k++)
		if (init_battery(s, k) < 0)
			return -1;
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

/* Line n listens on PORT+n-1 (port 0: each line gets a free port). */
static int tcp_address(const char *hostport, unsigned number, char *out,
		       size_t outlen)
{
	const char *colon = strrchr(hostport, ':');
	long port;

	if (!colon)
		return -1;
	port = strtol(colon + 1, NULL, 10);
	if (port > 0)
		port += number - 1;
	if (port > 65535)
		return -1;
	snprintf(out, outlen, "%.*s:%ld", (int)(colon - hostport), hostport,
		 port);
	return 0;
}

static struct sim_link *open_link(struct sim *s, unsigned number)
{
	char path[PATH_MAX], err[512];
	const char *link = NULL;
	struct sim_link *l;

	if (s->opt.tcp) {
		if (tcp_address(s->opt.tcp, number, path, sizeof(path)) < 0) {
			fprintf(stderr,
				"bmssim: --tcp %s: no port for line %u\n",
				s->opt.tcp, number);
			return NULL;
		}
		l = sim_link_tcp_open(path, err, sizeof(err));
	} else {
		if (s->opt.link && s->nlines == 1) {
			link = s->opt.link;
		} else if (s->opt.link) {
			snprintf(path, sizeof(path), "%s.%u", s->opt.link,
				 number);
			link = path;
		}
		l = sim_link_pty_open(link, err, sizeof(err));
	}
	if (!l)
		fprintf(stderr, "bmssim: line %u: %s\n", number, err);
	return l;
}

static void describe(struct sim *s, unsigned line, unsigned first, unsigned n)
{
	const struct sim_link *l = sim_line_link(s->lines[line]);

	for (unsigned k = first; k < first + n; k++)
		s->sbats[k] = (struct sim_state_battery){
			.b = &s->bats[k],
			.line = line + 1,
			.kind = l->ops->kind,
			.pty = l->path,
			.link = l->link,
			.addressed =
				s->opt.replay
					? s->cap.family == SIM_FAMILY_PYLON ||
						  s->cap.family ==
							  SIM_FAMILY_JKPB ||
						  s->cap.family ==
							  SIM_FAMILY_MODBUS
					: s->proto->addressed,
		};
}

/* Batteries fill lines in order, per_line on each. */
static int make_lines(struct sim *s)
{
	unsigned per = s->per_line;

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
			.stack = s->opt.stack,
			.capture = s->opt.replay ? &s->cap : NULL,
			.echo = s->opt.echo,
			.baud = s->opt.baud,
			.line_baud = s->opt.line_baud,
			.seed = s->opt.seed,
			.verbose = s->opt.verbose,
			.tx_log = s->tx_log,
			.hooks = {.sync = sync_models,
				  .changed = state_changed,
				  .ctx = s},
		};
		struct sim_link *link = open_link(s, i + 1);

		if (!link)
			return -1;
		s->lines[i] = sim_line_new(&cfg, link);
		if (!s->lines[i] || sim_line_start(s->lines[i], s->ev) < 0) {
			fprintf(stderr, "bmssim: line %u: cannot start\n",
				i + 1);
			return -1;
		}
		describe(s, i, first, n);
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

static void announce(struct sim *s)
{
	for (unsigned i = 0; i < s->nlines; i++) {
		const struct sim_link *l = sim_line_link(s->lines[i]);

		printf("%s %s\n", l->ops->banner, l->path);
		if (l->link[0])
			printf("LINK %s\n", l->link);
	}
	printf("READY\n");
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
	announce(s);
	if (fflush(stdout) != 0) {
		perror("bmssim: stdout");
		return -1;
	}
	if (s->opt.replay)
		fprintf(stderr,
			"bmssim: replaying %s (%zu requests, %u "
			"battery(ies))\n",
			s->opt.replay, s->cap.n, s->nbats);
	else
		fprintf(stderr,
			"bmssim: %s, %u battery(ies) x %u cells, %.1f Ah, "
			"soc %.1f %%, %u per line, delay %u ms, speed %g\n",
			s->proto->name, s->nbats, s->opt.cells, s->opt.capacity,
			s->opt.soc, s->per_line, s->opt.delay_ms, s->opt.speed);
	return 0;
}

static void cleanup(struct sim *s)
{
	for (unsigned i = 0; s->lines && i < s->nlines; i++)
		sim_line_free(s->lines[i]);
	free(s->lines);
	if (s->tx_log)
		fclose(s->tx_log);
	s->step_timer = sd_event_source_disable_unref(s->step_timer);
	s->state_timer = sd_event_source_disable_unref(s->state_timer);
	sd_event_unref(s->ev);
	sim_scenario_free(&s->sc);
	sim_capture_free(&s->cap);
	free(s->sbats);
	free(s->batp);
	free(s->bats);
}

static int setup(struct sim *s)
{
	if (resolve(s) < 0 || make_batteries(s) < 0 || load_scenario(s) < 0)
		return EXIT_USAGE;
	if (s->opt.tx_log && !(s->tx_log = fopen(s->opt.tx_log, "we"))) {
		fprintf(stderr, "bmssim: %s: %s\n", s->opt.tx_log,
			strerror(errno));
		return EXIT_FAILURE;
	}
	if (make_loop(s) < 0 || make_lines(s) < 0)
		return EXIT_FAILURE;
	return 0;
}

int main(int argc, char **argv)
{
	struct sim s = {.status = EXIT_SUCCESS};
	int rc;

	rc = sim_opts_parse(argc, argv, &s.opt);
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
