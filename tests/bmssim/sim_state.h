/* SPDX-License-Identifier: MIT */
/*
 * sim_state.h - the state file: what the simulator is reporting, as JSON.
 *
 * End-to-end tests compare the daemon's status with this file, so every
 * value is the one sent on the wire (rounded by the protocol), not the
 * model's exact figure (which is given separately where useful, e.g.
 * soc_exact). The file is replaced atomically (temp file + rename), so a
 * reader never sees half of it.
 */
#ifndef BMSSIM_SIM_STATE_H
#define BMSSIM_SIM_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "sim_model.h"
#include "sim_proto.h"

struct sim_state_battery {
	const struct sim_battery *b;
	unsigned line;    /* 1-based */
	const char *kind; /* the line's link: "pty" or "tcp" */
	const char *pty;  /* the line's device (tcp: ADDRESS:PORT) */
	const char *link; /* its symlink, "" if none */
	bool addressed;   /* b->address is on the wire */
};

struct sim_state {
	const char *protocol;
	const struct sim_proto_ops *ops;
	/* Replay: the capture's path; the batteries then carry no values
	 * (the captured bytes are what is sent), only comm state. */
	const char *replay;
	double time;  /* simulated seconds since READY */
	double speed; /* --speed */
	unsigned nbats;
	const struct sim_state_battery *bats;
};

/* JSON text of st (caller frees), NULL on ENOMEM. */
char *sim_state_json(const struct sim_state *st);
/* Write it to path atomically; -1 with a message in err on failure. */
int sim_state_write(const char *path, const struct sim_state *st, char *err,
		    size_t errlen);

#endif
