/* SPDX-License-Identifier: MIT */
/*
 * sim_opts.c - bmssim's command line (see sim_opts.h).
 */
#include "sim_opts.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim_model.h"
#include "sim_proto.h"

void sim_opts_usage(FILE *f)
{
	fprintf(f,
		"Usage: bmssim [OPTION]...\n"
		"Simulate a chain of batteries speaking a BMS protocol on "
		"pseudo-terminals\n(or TCP), or replay captured traffic.\n\n"
		"  --protocol NAME    protocol: %s (default jbd)\n"
		"  --batteries N      number of batteries, 1..%u (default: one "
		"line's packs);\n"
		"                     they fill lines of --packs each\n"
		"  --packs N          packs per line at distinct addresses "
		"(addressed\n"
		"                     protocols; default 1)\n"
		"  --address-base A   address of a line's first pack (default "
		"1): A..A+N-1\n"
		"  --addresses A,B,.. the addresses of a line's packs, in "
		"order\n"
		"  --stack            the lowest address answers stack reads "
		"(0x42 INFO FF)\n"
		"  --cells N          cells per battery, 1..%u (default 4)\n"
		"  --capacity AH      capacity per battery (default 100)\n"
		"  --soc P            initial state of charge, %% (default "
		"80)\n"
		"  --temps N          temperature sensors, 0..%u (default 2)\n"
		"  --imbalance MV     largest per-cell offset, mV (default 3)\n"
		"  --baud N           time the line like a real one: an "
		"answer\n"
		"                     also waits for the request and itself "
		"to\n"
		"                     cross the wire at N baud, 8N1 (default: "
		"none)\n"
		"  --line-baud N      the packs' rate: requests sent with the "
		"pty\n"
		"                     at another rate are not heard (default:\n"
		"                     any rate)\n"
		"  --delay MS         answer delay, real ms (default 0; the "
		"scenario's\n"
		"                     'delay' overrides it per battery)\n"
		"  --echo             send every received byte back (RS485 "
		"echo)\n"
		"  --replay FILE      answer from a capture (.cap) instead of "
		"the model\n"
		"  --tcp HOST:PORT    listen on TCP instead of a pty (line N: "
		"PORT+N-1;\n"
		"                     port 0 picks free ports)\n"
		"  --link PATH        symlink to the pty; with several ptys\n"
		"                     PATH.1, PATH.2, ...\n"
		"  --scenario FILE    run a timed scenario (format: "
		"README.md)\n"
		"  --state-file PATH  keep the simulated state there as JSON\n"
		"  --speed X          simulated clock multiplier (default 1)\n"
		"  --seed N           seed for injected garbage (default 1)\n"
		"  --tx-log FILE      log every frame sent: CLOCK_MONOTONIC "
		"ns\n"
		"                     after the write, line, battery, hex\n"
		"  -v, --verbose      log requests and answers to stderr\n"
		"  -h, --help         show this help\n\n"
		"Prints 'PTY path' or 'TCP address:port' (and 'LINK path') per "
		"line, then\n'READY'. Exit: 0 on SIGTERM/SIGINT or a scenario "
		"'end', 1 on a run-time\nerror, 2 on a usage, scenario or "
		"capture error.\n",
		sim_proto_names(), SIM_MAX_BATTERIES, SIM_MAX_CELLS,
		SIM_MAX_TEMPS);
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

/* "2,3,7": distinct addresses, at most SIM_MAX_BATTERIES. */
static int opt_addresses(const char *opt, const char *arg, struct sim_opts *o)
{
	char buf[512], *save = NULL, *tok;

	if (strlen(arg) >= sizeof(buf))
		return bad_opt(opt, arg, "is too long");
	strcpy(buf, arg);
	o->naddresses = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned a;

		if (o->naddresses == SIM_MAX_BATTERIES)
			return bad_opt(opt, arg, "has too many addresses");
		if (opt_unsigned(opt, tok, 0, SIM_MAX_ADDRESS, &a) < 0)
			return -1;
		for (unsigned i = 0; i < o->naddresses; i++)
			if (o->addresses[i] == a)
				return bad_opt(opt, arg,
					       "names an address twice");
		o->addresses[o->naddresses++] = a;
	}
	if (o->naddresses == 0 || arg[strlen(arg) - 1] == ',' ||
	    arg[0] == ',' || strstr(arg, ",,"))
		return bad_opt(opt, arg, "is not a list like 2,3,7");
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
	OPT_PACKS,
	OPT_ADDRESS_BASE,
	OPT_ADDRESSES,
	OPT_DELAY,
	OPT_BAUD,
	OPT_LINE_BAUD,
	OPT_TCP,
	OPT_REPLAY,
	OPT_TX_LOG,
	OPT_ECHO,
	OPT_STACK,
};

/* In the order of the OPT_ codes: set_opt() names options from it. */
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
	{"packs", required_argument, NULL, OPT_PACKS},
	{"address-base", required_argument, NULL, OPT_ADDRESS_BASE},
	{"addresses", required_argument, NULL, OPT_ADDRESSES},
	{"delay", required_argument, NULL, OPT_DELAY},
	{"baud", required_argument, NULL, OPT_BAUD},
	{"line-baud", required_argument, NULL, OPT_LINE_BAUD},
	{"tcp", required_argument, NULL, OPT_TCP},
	{"replay", required_argument, NULL, OPT_REPLAY},
	{"tx-log", required_argument, NULL, OPT_TX_LOG},
	{"echo", no_argument, NULL, OPT_ECHO},
	{"stack", no_argument, NULL, OPT_STACK},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* Options that are a plain string. */
static const char **string_opt(struct sim_opts *o, int c)
{
	switch (c) {
	case OPT_PROTOCOL:
		return &o->protocol;
	case OPT_LINK:
		return &o->link;
	case OPT_SCENARIO:
		return &o->scenario;
	case OPT_STATE_FILE:
		return &o->state_file;
	case OPT_TCP:
		return &o->tcp;
	case OPT_REPLAY:
		return &o->replay;
	case OPT_TX_LOG:
		return &o->tx_log;
	default:
		return NULL;
	}
}

/* One option with an argument; -1 on a bad value. */
static int set_opt(struct sim_opts *o, int c, const char *arg)
{
	const char *name = long_opts[c - OPT_PROTOCOL].name;
	const char **str = string_opt(o, c);

	if (str) {
		*str = arg;
		return 0;
	}
	switch (c) {
	case OPT_BATTERIES:
		return opt_unsigned(name, arg, 1, SIM_MAX_BATTERIES,
				    &o->batteries);
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
	case OPT_SPEED:
		return opt_real(name, arg, 0.001, 10000, &o->speed);
	case OPT_SEED:
		return opt_uint(name, arg, 0, UINT64_MAX, &o->seed);
	case OPT_PACKS:
		return opt_unsigned(name, arg, 1, SIM_MAX_BATTERIES, &o->packs);
	case OPT_ADDRESS_BASE:
		o->address_base_set = true;
		return opt_unsigned(name, arg, 0, SIM_MAX_ADDRESS,
				    &o->address_base);
	case OPT_ADDRESSES:
		return opt_addresses(name, arg, o);
	case OPT_BAUD:
		return opt_unsigned(name, arg, 300, 921600, &o->baud);
	case OPT_LINE_BAUD:
		return opt_unsigned(name, arg, 1200, 921600, &o->line_baud);
	default: /* OPT_DELAY */
		return opt_unsigned(name, arg, 0, 60000, &o->delay_ms);
	}
}

int sim_opts_parse(int argc, char **argv, struct sim_opts *o)
{
	int c;

	*o = (struct sim_opts){.cells = 4,
			       .temps = 2,
			       .capacity = 100,
			       .soc = 80,
			       .imbalance_mv = 3,
			       .speed = 1,
			       .address_base = 1,
			       .seed = 1};
	while ((c = getopt_long(argc, argv, "vh", long_opts, NULL)) != -1) {
		if (c == 'v') {
			o->verbose = true;
		} else if (c == 'h') {
			sim_opts_usage(stdout);
			return 1;
		} else if (c == OPT_ECHO) {
			o->echo = true;
		} else if (c == OPT_STACK) {
			o->stack = true;
		} else if (c >= OPT_PROTOCOL && c <= OPT_TX_LOG) {
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
