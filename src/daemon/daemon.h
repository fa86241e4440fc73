/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - smallbmsd's parts wired together on one sd-event loop:
 * chain -> bank -> guard (the protection rules) -> outputs (GPIO lines),
 * with the remote input and Mode feeding the guard, the control socket
 * answering from all of it, and every transition in the journal.
 */
#ifndef SMALLBMS_DAEMON_H
#define SMALLBMS_DAEMON_H

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "bank.h"
#include "cfg.h"
#include "chain.h"
#include "charge_limits.h"
#include "ctl.h"
#include "gpio.h"
#include "guard.h"
#include "monitor.h"
#include "outputs.h"
#include "remote.h"
#include "settings.h"
#include "store.h"

struct daemon {
	/* The configuration in force. The one the daemon started with stays
	 * alive for what cannot change live (the outputs point into it);
	 * after a reload cfg is a copy this daemon owns (cfg_owned). */
	const struct cfg *cfg;
	struct cfg *cfg_owned;
	const char *config_path; /* re-read on SIGHUP; NULL: no reload */
	bool debug;              /* -d: log_level stays debug across reloads */
	bool dry_run_forced;     /* -n: dry-run whatever the file says */
	sd_event *ev;
	struct chain *chain;
	struct ctl_server *ctl;
	const struct gpio_ops *gpio; /* hardware, or dry-run */
	struct outputs *outputs;
	struct remote *remote;
	struct bank bank;
	/* The bank, folded again at a refresh only where a battery changed
	 * (by the chain's seq and flags), and each reading summarized once
	 * (#18); reset by daemon_state_changed() (a command, a reload). */
	struct bank_fold fold;
	bool bank_ready; /* chain_ready() when the bank was made */
	/* The sd-event iteration that last took the chain's batteries
	 * (on_chain_update); UINT64_MAX: none. */
	uint64_t chain_iteration;
	struct guard_settings guard_settings;
	struct guard guard;
	struct settings settings; /* run-time settings, Mode; persisted */
	struct monitor monitor;   /* SoC, history; persisted */
	struct store_policy save; /* when to write the state file */
	struct store_report state_report; /* what the start found in it */
	sd_event_source *decide_timer;    /* guard / LED wake-ups */
	uint64_t last_status_us;          /* last STATUS= sent to systemd */
	bool notify_socket; /* $NOTIFY_SOCKET: systemd listens for STATUS= */
	uint64_t last_complete_us; /* the bank was last complete; 0 never */
	uint64_t watchdog_us;      /* in force (wdog.h), 0 = off */
	uint64_t watchdog_unit_us; /* WatchdogSec= ($WATCHDOG_USEC) */
	sd_event_source *watchdog;
	struct capture *capture; /* smallbmsctl capture */
	/* The "batteries" answer, built at most every 0.1 s and shared by
	 * every client (commands.c), and when it was built. */
	json_t *batteries_answer;
	uint64_t batteries_at;
	struct metrics *metrics; /* [metrics] textfile (metrics.c) */
	/* The CAN-bus BMS output (daemon_can.c): the limits and the link
	 * (NULL: no [can], or not open); what it was opened with. */
	struct limits limits;
	struct can_link *can;
	bool can_on;
	char can_key[2 * CFG_PATH_LEN];
	struct daemon_mqtt *mq; /* [mqtt]; NULL without (daemon_mqtt.c) */
};

/* Set up everything from a valid configuration; err gets the reason. On
 * success every output line is requested in the not-allowed state. */
int daemon_init(struct daemon *d, const struct cfg *cfg, char *err,
		size_t errlen);
/* Run until SIGTERM/SIGINT; returns the exit status for main(). */
int daemon_run(struct daemon *d);
/* Lines not-allowed, then released; everything freed. */
void daemon_fini(struct daemon *d);

/*
 * Reload the configuration from config_path (SIGHUP, systemctl reload)
 * without releasing a line: a file with an error, or whose [protection]
 * breaks a rule with the run-time settings, is refused whole (the errors
 * in the journal) and the running configuration stays. Otherwise unchanged
 * ports keep running, changed ones are reopened, protection settings apply
 * at the next decision. What cannot change live (outputs, the remote
 * input, dry_run, the socket, the state directory) keeps its running value
 * and the journal says so. 0 if applied, -1 if refused.
 */
int daemon_reload(struct daemon *d);

/* daemon_can.c: the limits and the [can] link. */
int daemon_can_init(struct daemon *d, char *err, size_t errlen);
void daemon_can_reload(struct daemon *d);
void daemon_can_decide(struct daemon *d, uint64_t now);
void daemon_can_status(struct daemon *d, json_t *status);
void daemon_can_fini(struct daemon *d);

/* Decide again now (after new data, a mode or remote change). */
void daemon_decide(struct daemon *d);
/* A setting, SoC or history changed by a command: apply it to the rules,
 * save the state file now, decide again. */
void daemon_state_changed(struct daemon *d);
/* The status answer as of now. */
json_t *daemon_status(struct daemon *d);
uint64_t daemon_now(const struct daemon *d);

/* [mqtt] (daemon_mqtt.c): connect if configured (0 without); publish the
 * states after a scan (after the lines and the journal); add "mqtt" to a
 * status answer; on reload, keep the running [mqtt] in c (restart only);
 * stop. */
int daemon_mqtt_start(struct daemon *d, char *err, size_t errlen);
/* status: the status answer if the caller has built it (it loses its
 * "mqtt" key), else NULL. */
void daemon_mqtt_publish(struct daemon *d, json_t *status);
void daemon_mqtt_status(struct daemon *d, json_t *status);
void daemon_mqtt_reload(const struct cfg *run, struct cfg *c);
void daemon_mqtt_stop(struct daemon *d);

/* Answer one control request (commands.c). */
json_t *daemon_request(void *userdata, const struct ctl_peer *peer, int argc,
		       char **argv);

#endif
