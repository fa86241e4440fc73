/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - smallbmsd's parts wired together on one sd-event loop:
 * chain -> bank -> decision -> status / control socket / sd_notify.
 */
#ifndef SMALLBMS_DAEMON_H
#define SMALLBMS_DAEMON_H

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "bank.h"
#include "cfg.h"
#include "chain.h"
#include "ctl.h"

struct daemon {
	const struct cfg *cfg;
	sd_event *ev;
	struct chain *chain;
	struct ctl_server *ctl;
	struct bank bank;
	bool allowed_to_charge;
	bool allowed_to_discharge;
	uint64_t last_status_us; /* last STATUS= sent to systemd */
	uint64_t watchdog_us;    /* WatchdogSec=, 0 = off */
	sd_event_source *watchdog;
};

/* Set up everything from a valid configuration; err gets the reason. */
int daemon_init(struct daemon *d, const struct cfg *cfg, char *err,
		size_t errlen);
/* Run until SIGTERM/SIGINT; returns the exit status for main(). */
int daemon_run(struct daemon *d);
void daemon_fini(struct daemon *d);

/* Answer one control request (exposed for tests). */
json_t *daemon_request(void *userdata, const struct ctl_peer *peer, int argc,
		       char **argv);

#endif
