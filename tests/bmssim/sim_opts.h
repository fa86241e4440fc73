/* SPDX-License-Identifier: MIT */
/*
 * sim_opts.h - bmssim's command line.
 *
 * Parsing checks each value's syntax and range; how options combine with
 * the protocol (addresses, stacks, replay) is checked by sim_main.c once
 * the protocol and the capture are known.
 */
#ifndef BMSSIM_SIM_OPTS_H
#define BMSSIM_SIM_OPTS_H

#include <stdbool.h>
#include <stdio.h>

#define SIM_MAX_BATTERIES 50
#define SIM_MAX_ADDRESS   254 /* 0xFF is the stack pseudo-address */

struct sim_opts {
	const char *protocol; /* NULL: jbd, or the capture's family */
	unsigned batteries;   /* 0: as many as one line's packs */
	unsigned packs;       /* packs per line; 0: not given */
	unsigned address_base;
	bool address_base_set;
	unsigned addresses[SIM_MAX_BATTERIES];
	unsigned naddresses; /* 0: not given */
	unsigned cells;
	unsigned temps;
	double capacity;
	double soc;
	double imbalance_mv;
	double speed;
	unsigned delay_ms;
	unsigned baud;      /* wire timing; 0 = none (a pty is instant) */
	unsigned line_baud; /* the packs' rate; 0 = hear any (pty only) */
	const char *link;
	const char *tcp;
	const char *replay;
	const char *scenario;
	const char *state_file;
	const char *tx_log;
	unsigned long long seed;
	bool echo;
	bool stack;
	bool verbose;
};

/* 0 to run, 1 to exit 0 (--help), -1 on a usage error (reported). */
int sim_opts_parse(int argc, char **argv, struct sim_opts *o);
void sim_opts_usage(FILE *f);

#endif
