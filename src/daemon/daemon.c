/* SPDX-License-Identifier: MIT */
/*
 * daemon.c - the wiring of smallbmsd: every input (battery data, the
 * remote line, Mode, timers) ends in daemon_decide(), which runs the
 * protection rules and drives the outputs.
 */
#include <config.h>

#include "daemon.h"

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "capture.h"
#include "events.h"
#include "log.h"
#include "metrics.h"
#include "port_errors.h"
#include "status.h"
#include "wdog.h"

#define STATUS_NOTIFY_USEC 1000000ULL
#define NEVER              UINT64_MAX

uint64_t daemon_now(const struct daemon *d)
{
	uint64_t t = 0;
	sd_event_now(d->ev, CLOCK_MONOTONIC, &t);
	return t;
}

/* --- battery data -> bank ---------------------------------------------- */

/* Topology warnings are never silently accepted: each start and end is
 * logged. */
static void log_topology_start(uint32_t bit, const struct bank *b)
{
	const char *name = bank_warning_name(bit);

	if (bit == BANK_WARN_SERIES_COUNT)
		log_warn("topology: %s: %u batteries do not make strings of "
			 "%u: bank data not used until the missing batteries "
			 "answer",
			 name, b->nbatteries, b->series);
	else if (bit == BANK_WARN_TOO_MANY)
		log_warn("topology: %s: %u batteries in a 48 V bank; at most "
			 "%u are supported",
			 name, b->nbatteries, BANK_MAX_48V);
	else
		log_warn("topology: %s (string %u): check the wiring and the "
			 "series setting",
			 name, b->warn_string);
}

static void log_topology(uint32_t before, const struct bank *b)
{
	for (unsigned i = 0; i < BANK_WARN_COUNT; i++) {
		uint32_t bit = 1u << i;

		if ((b->warnings & bit) && !(before & bit))
			log_topology_start(bit, b);
		else if (!(b->warnings & bit) && (before & bit))
			log_notice("topology: %s ended",
				   bank_warning_name(bit));
	}
}

/* The fold's size holds the configuration's largest bank. */
_Static_assert(CFG_MAX_BATTERIES <= BANK_MAX_BATTERIES,
	       "the bank fold holds every battery");

/* Every battery's latest reading into the fold, port by port in the
 * chain's numbering: only those that changed are folded again. */
static void bank_inputs(struct daemon *d)
{
	unsigned k = 0;

	for (unsigned p = 0; p < chain_port_count(d->chain); p++) {
		unsigned m;
		const struct chain_battery *b =
			chain_port_batteries(d->chain, p, &m);

		for (unsigned j = 0; j < m; j++, k++) {
			struct bank_input in = {
				.reading = &b[j].reading,
				.valid = b[j].valid,
				.stale = b[j].stale,
				.last_good_us = b[j].last_good_us,
				.temp_optional =
					d->cfg->ports[b[j].port]
						.charge_without_temperature,
			};

			bank_fold_set(&d->fold, k, &in, b[j].seq);
		}
	}
}

/* The chain's batteries into the fold (not yet folded); true if the
 * bank may differ from the one made last. */
static bool bank_take(struct daemon *d)
{
	const struct bank_limits lim = {
		.string_current_abs = d->settings.string_current_tol,
		.string_current_rel = 0.10,
		.string_voltage = d->settings.string_voltage_tol,
		.parallel_voltage = d->settings.parallel_voltage_tol,
		.imbalance = d->settings.imbalance,
	};

	/* The configuration refuses more than CFG_MAX_BATTERIES; more
	 * would leave the bank incomplete (bank.h), never allowed. */
	bank_fold_begin(&d->fold, chain_count(d->chain), d->cfg->series, &lim);
	bank_inputs(d);
	return bank_fold_pending(&d->fold) ||
	       chain_ready(d->chain) != d->bank_ready;
}

/* Bring the bank up to date with the chain; returns the topology
 * warnings before, for log_topology() once the outputs are driven. */
static uint32_t bank_refresh(struct daemon *d)
{
	uint32_t warnings = d->bank.warnings;

	(void)bank_take(d);
	bank_fold_end(&d->fold, &d->bank);
	/* While discovery has not found every scanned port's batteries, the
	 * bank is not all there: never allow on a part of it. */
	d->bank_ready = chain_ready(d->chain);
	if (!d->bank_ready) {
		d->bank.complete = false;
		d->bank.stale = true;
	}
	if (d->bank.complete)
		d->last_complete_us = daemon_now(d);
	return warnings;
}

/* --- bank -> monitor, state file --------------------------------------- */

static void save_state(struct daemon *d, bool force)
{
	uint64_t now = daemon_now(d);
	char err[256];
	json_t *st;
	int r;

	if (!force &&
	    !store_policy_due(&d->save, now, d->settings.state_save_interval))
		return;
	st = store_state_json(&d->settings, &d->monitor);
	r = store_save(d->cfg->state_dir, st, err, sizeof(err));
	json_decref(st);
	if (r < 0)
		log_err("state file: %s", err);
	store_policy_done(&d->save, now, r == 0);
}

/* The monitor's step over the new bank (pure: no words, no file);
 * returns its events for monitor_report(). */
static unsigned monitor_update(struct daemon *d)
{
	const struct bank *b = &d->bank;
	int64_t wall = (int64_t)time(NULL);
	struct monitor_input in = {
		.valid = b->complete,
		.voltage = b->voltage,
		.current = b->current,
		.capacity_ah = b->nominal_ah,
		.cells_series = b->parallel ? b->ncells / b->parallel : 0,
		.nbatteries = b->nbatteries,
		.battery_soc = b->soc,
		.min_cell_v = b->min_cell_v,
		.max_cell_v = b->max_cell_v,
		.min_temp = b->min_temp, /* NaN without sensors */
		.max_temp = b->max_temp,
		.wall_s = wall,
	};
	unsigned ev = monitor_step(&d->monitor, &in, daemon_now(d));

	/* Cell spread says little without a recent full charge. */
	if (monitor_balancer_unknown(&d->monitor, wall))
		d->bank.balancer = BANK_BALANCER_UNKNOWN;
	return ev;
}

/* The words and the state file for the monitor's events: after the
 * outputs were driven. */
static void monitor_report(struct daemon *d, unsigned ev)
{
	if (ev & MONITOR_SYNCED)
		log_notice("state of charge synchronised to 100 %% (charged "
			   "voltage and tail current reached)");
	if (ev & MONITOR_SEEDED)
		log_notice("state of charge taken from the batteries "
			   "(unsynchronised until the first full charge)");
	if (ev & MONITOR_BATTERY_ADDED)
		log_notice("a battery was added: balancer status unknown "
			   "until the next full charge");
	if (ev & MONITOR_CHANGED)
		store_policy_mark(&d->save, false);
	save_state(d, false);
}

/* --- bank -> guard ----------------------------------------------------- */

static void guard_input_from_bank(struct daemon *d, struct guard_input *in)
{
	struct monitor_output mo;

	bank_guard_input(&d->bank, d->last_complete_us, in);
	monitor_output(&d->monitor, &mo);
	in->soc_valid = isfinite(mo.soc);
	in->soc = mo.soc;
	in->mode_on = d->settings.mode_on;
	in->remote_on = remote_on(d->remote);
}

/* --- guard -> outputs, timers ------------------------------------------ */

static void arm_decide_timer(struct daemon *d, uint64_t when)
{
	if (when == NEVER) {
		sd_event_source_set_enabled(d->decide_timer, SD_EVENT_OFF);
		return;
	}
	sd_event_source_set_time(d->decide_timer, when);
	sd_event_source_set_enabled(d->decide_timer, SD_EVENT_ONESHOT);
}

static uint64_t drive_outputs(struct daemon *d, uint64_t now)
{
	const struct guard_output *g = guard_output(&d->guard);
	struct outputs_state st = {
		.enabled = !(g->charge_reasons & GUARD_R_STARTING),
		.allow_charge = g->allow_charge,
		.allow_discharge = g->allow_discharge,
		.prealarm_line = g->prealarm_line,
		.alarm = g->alarm,
		.warning = g->warning,
		.healthy = d->bank.complete && !g->alarm,
	};

	return outputs_apply(d->outputs, &st, now);
}

void daemon_decide(struct daemon *d)
{
	struct guard_event ev[GUARD_MAX_EVENTS];
	struct guard_input in;
	uint64_t now = daemon_now(d), wake, led;
	size_t n = 0;

	guard_input_from_bank(d, &in);
	guard_step(&d->guard, &in, now, ev, GUARD_MAX_EVENTS, &n);
	/* Outputs first, words after: a journal write may block for
	 * milliseconds, a disconnect must not wait for it. */
	led = drive_outputs(d, now);
	daemon_can_decide(d, now); /* after the lines: advice, not protection */
	events_log(ev, n);
	wake = guard_output(&d->guard)->next_wakeup_us;
	arm_decide_timer(d, led < wake ? led : wake);
}

void daemon_state_changed(struct daemon *d)
{
	uint32_t warnings;

	settings_to_guard(&d->settings, &d->cfg->protection,
			  &d->guard_settings);
	guard_set_settings(&d->guard, &d->guard_settings);
	/* tolerances, or after a reload the chain itself: all of it folded
	 * again, whatever changed */
	bank_fold_reset(&d->fold);
	warnings = bank_refresh(d);

	daemon_decide(d);
	log_topology(warnings, &d->bank);
	store_policy_mark(&d->save, true);
	save_state(d, false);
}

static int on_decide_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	daemon_decide(userdata);
	return 0;
}

static void on_remote_change(bool on, void *userdata)
{
	struct daemon *d = userdata;

	log_notice("remote input: %s", on ? "on" : "off");
	daemon_decide(d);
}

/* --- status ------------------------------------------------------------ */

json_t *daemon_status(struct daemon *d)
{
	json_t *outs = outputs_json(d->outputs);
	json_t *mon = monitor_status_json(&d->monitor);
	struct status_view v = {
		.bank = &d->bank,
		.guard = guard_output(&d->guard),
		.monitor = mon,
		.mode_on = d->settings.mode_on,
		.remote = remote_configured(d->remote) ? remote_on(d->remote)
						       : -1,
		.outputs = outs,
		.discovering = !chain_ready(d->chain),
		.state_report = &d->state_report,
		.cfg = d->cfg,
	};
	json_t *o = status_json(&v);

	daemon_can_status(d, o);
	json_object_set_new(o, "port_errors", port_errors_json(d->chain));

	json_decref(outs);
	json_decref(mon);
	if (d->metrics)
		json_object_set_new(o, "metrics",
				    metrics_status_json(d->metrics));
	daemon_mqtt_status(d, o);
	return o;
}

/* The views the metrics file is made of: the socket's own (metrics.h). */
static void metrics_collect(void *userdata, json_t **status, json_t **bats,
			    json_t **ports)
{
	struct daemon *d = userdata;
	uint64_t now = daemon_now(d);

	*status = daemon_status(d);
	*bats = status_batteries_json(d->chain, now);
	*ports = status_ports_json(d->chain, now);
}

static void fmt_value(char *buf, size_t len, double v, int decimals,
		      const char *unit)
{
	if (isfinite(v))
		snprintf(buf, len, "%.*f%s", decimals, v, unit);
	else
		snprintf(buf, len, "--");
}

/* The word that tells the state at a glance in `systemctl status`. */
static const char *status_word(const struct daemon *d)
{
	const struct guard_output *g = guard_output(&d->guard);

	if (g->charge_reasons & GUARD_R_STARTING)
		return " · STARTING";
	if (g->alarm)
		return " · ALARM";
	if (g->prealarm)
		return " · PRE-ALARM";
	if (g->warning || d->bank.warnings)
		return " · WARNING";
	if (!d->settings.mode_on)
		return " · MODE OFF";
	return "";
}

/* "21h12m to floor", "∞ to floor" (not discharging), "--" (unknown). */
static void fmt_remaining(char *buf, size_t len, double s)
{
	if (isnan(s))
		snprintf(buf, len, "-- to floor");
	else if (isinf(s))
		snprintf(buf, len, "∞ to floor");
	else
		snprintf(buf, len, "%dh%02dm to floor", (int)(s / 3600),
			 (int)fmod(s / 60, 60));
}

/* The one-line readout for `systemctl status` (at most once a second):
 * SoC 87.5% · 13.21 V · -4.2 A · -35.0 Ah · 21h12m to floor · 24 °C
 * [· ALARM]. */
static void notify_status(struct daemon *d)
{
	char soc[16], volt[16], amp[16], temp[16], ttg[32], used[24];
	char port[320] = " · ";
	struct monitor_output mo;
	uint64_t now = daemon_now(d);

	/* Not under systemd: nobody to tell (the words cost a poll's worth
	 * of formatting). */
	if (!d->notify_socket || now - d->last_status_us < STATUS_NOTIFY_USEC)
		return;
	d->last_status_us = now;
	monitor_output(&d->monitor, &mo);
	fmt_value(soc, sizeof(soc), mo.soc, 1, "%");
	fmt_value(volt, sizeof(volt), d->bank.voltage, 2, " V");
	fmt_value(amp, sizeof(amp), d->bank.current, 1, " A");
	fmt_value(temp, sizeof(temp), d->bank.max_temp, 0, " °C");
	fmt_value(used, sizeof(used), mo.consumed_ah, 1, " Ah");
	fmt_remaining(ttg, sizeof(ttg), mo.time_remaining_s);
	size_t sep = strlen(port);

	if (!port_errors_first(d->chain, port + sep, sizeof(port) - sep))
		port[0] = '\0';
	sd_notifyf(0, "STATUS=SoC %s · %s · %s · %s · %s · %s%s%s", soc, volt,
		   amp, used, ttg, temp, status_word(d), port);
}

/* This loop turn already took the chain's batteries into the bank, the
 * monitor and the lines (on_chain_update), and none changed since. */
static bool chain_taken(struct daemon *d)
{
	uint64_t it = 0;

	return sd_event_get_iteration(d->ev, &it) >= 0 &&
	       it == d->chain_iteration && !bank_take(d);
}

static void on_chain_update(struct chain *c, bool scan_done, void *userdata)
{
	struct daemon *d = userdata;

	/* A scan ends right after its last battery's reading was taken, in
	 * the same loop turn: the bank, the monitor and the lines are then
	 * already what they would be made again from the same data at the
	 * same time. Anything that changed is taken, as always. */
	if (!scan_done || !chain_taken(d)) {
		uint32_t warnings = bank_refresh(d);
		unsigned ev = monitor_update(d);

		/* The lines first; then the journal, the state file, the
		 * rest. */
		daemon_decide(d);
		log_topology(warnings, &d->bank);
		monitor_report(d, ev);
		notify_status(d);
		(void)sd_event_get_iteration(d->ev, &d->chain_iteration);
	}
	/* Subscribers and MQTT get the bank's status after every completed
	 * scan: built once for both, and for subscribers only if there are
	 * any (a client that only asks something does not get it). */
	if (scan_done) {
		json_t *st = NULL;

		if (d->ctl && ctl_server_subscribers(d->ctl) > 0) {
			st = daemon_status(d);
			ctl_server_broadcast(d->ctl, st);
		}
		daemon_mqtt_publish(d, st);
		json_decref(st);
	}
}

/* --- process plumbing -------------------------------------------------- */

/* The interval in force follows [protection] comm_loss_charge (wdog.h), so
 * a hung daemon lets the lines fall within that limit; a reload may change
 * it, so it is derived again at every keep-alive. */
static void watchdog_derive(struct daemon *d)
{
	uint64_t w = wdog_interval_us(d->watchdog_unit_us,
				      d->guard_settings.comm_loss_charge_us);

	if (w == d->watchdog_us)
		return;
	d->watchdog_us = w;
	sd_notifyf(0, "WATCHDOG_USEC=%llu", (unsigned long long)w);
	log_info("watchdog: %.3g s (half of comm_loss_charge, at most "
		 "WatchdogSec=)",
		 (double)w / 1e6);
}

/*
 * The watchdog is fed only while the battery scans make progress: a loop
 * that still turns but whose scans are stuck must let systemd restart us
 * (ExecStopPost= then puts the lines in the safe state).
 */
static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	watchdog_derive(d);
	if (!chain_stalled(d->chain, daemon_now(d)))
		sd_notify(0, "WATCHDOG=1");
	else
		log_err("battery scans are stuck: not feeding the watchdog");
	notify_status(d); /* also without data: a port that cannot open */
	sd_event_source_set_time(s, usec + d->watchdog_us / 2);
	return 0;
}

static int add_watchdog(struct daemon *d, char *err, size_t errlen)
{
	int r;

	if (sd_watchdog_enabled(0, &d->watchdog_unit_us) <= 0)
		return 0;
	watchdog_derive(d);
	/* 1 ms accuracy: the default (0: 250 ms) is half of the shortest
	 * interval (comm_loss_charge = 1 s gives 0.5 s), enough to miss it
	 * and be restarted for nothing. */
	r = sd_event_add_time(d->ev, &d->watchdog, CLOCK_MONOTONIC,
			      daemon_now(d) + d->watchdog_us / 2, 1000,
			      on_watchdog, d);
	if (r >= 0)
		r = sd_event_source_set_enabled(d->watchdog, SD_EVENT_ON);
	if (r < 0) {
		snprintf(err, errlen, "cannot arm the watchdog: %s",
			 strerror(-r));
		return -1;
	}
	return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si,
		     void *userdata)
{
	struct daemon *d = userdata;

	log_notice("signal %s: stopping", strsignal((int)si->ssi_signo));
	sd_notify(0, "STOPPING=1");
	return sd_event_exit(d->ev, 0);
}

/* The socket's directory: systemd's RuntimeDirectory= makes it for the
 * service; for a hand-started daemon make the last component. */
static void ensure_socket_dir(const char *path)
{
	char tmp[CFG_PATH_LEN];

	snprintf(tmp, sizeof(tmp), "%s", path);
	if (mkdir(dirname(tmp), 0750) < 0 && errno != EEXIST)
		log_warn("cannot create %s: %s", tmp, strerror(errno));
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si,
		     void *userdata)
{
	struct daemon *d = userdata;

	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)daemon_now(d));
	(void)daemon_reload(d);
	sd_notify(0, "READY=1");
	d->last_status_us = 0; /* the readout again at once */
	notify_status(d);
	return 0;
}

static int add_signals(struct daemon *d, char *err, size_t errlen)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	sigset_t mask;

	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&mask, sigs[i]);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		int r = sd_event_add_signal(
			d->ev, NULL, sigs[i],
			sigs[i] == SIGHUP ? on_sighup : on_signal, d);
		if (r < 0) {
			snprintf(err, errlen, "cannot watch signal %d: %s",
				 sigs[i], strerror(-r));
			return -1;
		}
	}
	return 0;
}

/* Hardware lines, or the dry-run backend (optionally mirrored to files). */
static int choose_gpio(struct daemon *d, char *err, size_t errlen)
{
	if (!d->cfg->dry_run) {
		d->gpio = &gpio_hw_ops;
		return 0;
	}
	d->gpio = &gpio_dryrun_ops;
	if (gpio_dryrun_set_dir(d->cfg->dry_run_dir[0] ? d->cfg->dry_run_dir
						       : NULL) < 0) {
		snprintf(err, errlen, "dry_run_dir %s: %s", d->cfg->dry_run_dir,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static void log_state_problem(void *userdata, const char *msg)
{
	(void)userdata;
	log_warn("state file: %s", msg);
}

/* Settings, SoC and history from the state file, key by key; what cannot
 * be read keeps its default, and a Mode that cannot be read is Off. */
static void load_state(struct daemon *d)
{
	struct store_report *rep = &d->state_report;
	enum store_load_result r;
	const char *fields[] = {"SMALLBMS_EVENT=state_file", NULL, NULL};
	char fres[48];

	if (mkdir(d->cfg->state_dir, 0750) < 0 && errno != EEXIST)
		log_warn("cannot create %s: %s", d->cfg->state_dir,
			 strerror(errno));
	r = store_load(d->cfg->state_dir, (int64_t)time(NULL),
		       &d->cfg->protection, &d->settings, &d->monitor, rep);
	for (unsigned i = 0; i < rep->nproblems && i < STORE_MAX_PROBLEMS; i++)
		log_state_problem(d, rep->problems[i]);
	snprintf(fres, sizeof(fres), "SMALLBMS_RESULT=%s",
		 store_result_name(r));
	fields[1] = fres;
	if (r == STORE_MISSING || r == STORE_LOADED)
		log_notice("state file: %s", rep->message);
	else
		log_event(rep->mode_forced_off ? LOG_ERR : LOG_WARNING,
			  EVENTS_MSG_STATE_FILE, fields, "state file: %s%s",
			  rep->message,
			  rep->mode_forced_off
				  ? "; Mode could not be read: Mode is Off "
				    "(smallbmsctl mode on to switch it on)"
				  : "");
	store_policy_init(&d->save, daemon_now(d));
	/* What was read is written back at once, under a sound file. */
	if (r == STORE_PARTIAL || r == STORE_UNUSABLE)
		store_policy_mark(&d->save, true);
	settings_to_guard(&d->settings, &d->cfg->protection,
			  &d->guard_settings);
	guard_set_settings(&d->guard, &d->guard_settings);
}

/* Ports that opted out of the temperature rule: said at every start. */
static void warn_temperature_opt_out(const struct cfg *cfg)
{
	for (unsigned i = 0; i < cfg->nports; i++)
		if (cfg->ports[i].charge_without_temperature)
			log_warn("port %s: charge_without_temperature = yes: "
				 "a battery there without a temperature "
				 "sensor does not block charging, and the "
				 "cold and heat charge limits cannot protect "
				 "it",
				 cfg->ports[i].name);
}

/* Outputs first, in the not-allowed state, before anything can decide. */
static int init_lines(struct daemon *d, char *err, size_t errlen)
{
	int r;

	if (choose_gpio(d, err, errlen) < 0)
		return -1;
	d->outputs = outputs_new(d->gpio, d->cfg, err, errlen);
	if (!d->outputs)
		return -1;
	d->remote = remote_new(d->ev, d->gpio, d->cfg, on_remote_change, d, err,
			       errlen);
	if (!d->remote)
		return -1;
	r = sd_event_add_time(d->ev, &d->decide_timer, CLOCK_MONOTONIC, NEVER,
			      0, on_decide_timer, d);
	if (r >= 0)
		r = sd_event_source_set_enabled(d->decide_timer, SD_EVENT_OFF);
	if (r < 0) {
		snprintf(err, errlen, "cannot add a timer: %s", strerror(-r));
		return -1;
	}
	return 0;
}

/* Who may change state through the socket: root and this group. */
static void set_admin_group(struct daemon *d)
{
	const struct group *g = getgrnam(d->cfg->admin_group);

	if (!g) {
		log_notice("admin group '%s' does not exist: only root may "
			   "change settings through the socket",
			   d->cfg->admin_group);
		return;
	}
	ctl_server_set_admin_group(d->ctl, g->gr_gid);
}

int daemon_init(struct daemon *d, const struct cfg *cfg, char *err,
		size_t errlen)
{
	int r;

	struct settings def;

	memset(d, 0, sizeof(*d));
	d->cfg = cfg;
	d->notify_socket = getenv("NOTIFY_SOCKET") != NULL;
	d->chain_iteration = UINT64_MAX;
	settings_default(&def);
	settings_to_guard(&def, &cfg->protection, &d->guard_settings);
	if (guard_settings_check(&d->guard_settings, err, errlen) < 0)
		return -1;
	guard_init(&d->guard, &d->guard_settings);
	warn_temperature_opt_out(cfg);
	r = sd_event_default(&d->ev);
	if (r < 0) {
		snprintf(err, errlen, "cannot create event loop: %s",
			 strerror(-r));
		return -1;
	}
	if (add_signals(d, err, errlen) < 0 || init_lines(d, err, errlen) < 0)
		return -1;
	load_state(d);
	d->chain = chain_new(d->ev, cfg, on_chain_update, d, err, errlen);
	if (!d->chain)
		return -1;
	d->capture = capture_new();
	if (!d->capture) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	chain_set_capture(d->chain, d->capture);
	log_topology(bank_refresh(d), &d->bank);
	ensure_socket_dir(cfg->socket_path);
	d->ctl = ctl_server_new(d->ev, cfg->socket_path, daemon_request, d, err,
				errlen);
	if (!d->ctl)
		return -1;
	set_admin_group(d);
	d->metrics = metrics_new(d->ev, metrics_collect, d);
	if (!d->metrics) {
		snprintf(err, errlen, "cannot set up the metrics writer");
		return -1;
	}
	metrics_configure(d->metrics, &cfg->metrics);
	if (daemon_can_init(d, err, errlen) < 0)
		return -1;
	daemon_decide(d);
	if (daemon_mqtt_start(d, err, errlen) < 0)
		return -1;
	return add_watchdog(d, err, errlen);
}

int daemon_run(struct daemon *d)
{
	int r;

	sd_notify(0, "READY=1\nSTATUS=Starting: reading the batteries");
	log_notice("started: %u batteries%s on %u ports, %u outputs (%s), "
		   "socket %s",
		   chain_count(d->chain),
		   chain_ready(d->chain) ? "" : " (more to find by scanning)",
		   d->cfg->nports, outputs_count(d->outputs), d->gpio->name,
		   d->cfg->socket_path);
	r = sd_event_loop(d->ev);
	if (r < 0) {
		log_err("event loop failed: %s", strerror(-r));
		return EXIT_FAILURE;
	}
	return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void daemon_fini(struct daemon *d)
{
	/* The lines first: not allowed, then released (outputs_free). */
	outputs_free(d->outputs);
	metrics_free(d->metrics); /* no file that looks current */
	daemon_can_fini(d);
	if (d->cfg && d->chain)
		save_state(d, true); /* a clean stop keeps everything */
	daemon_mqtt_stop(d);
	remote_free(d->remote);
	ctl_server_free(d->ctl);
	chain_free(d->chain);
	capture_free(d->capture);
	json_decref(d->batteries_answer);
	d->batteries_answer = NULL;
	sd_event_source_disable_unref(d->decide_timer);
	sd_event_source_disable_unref(d->watchdog);
	sd_event_unref(d->ev);
	free(d->cfg_owned);
	memset(d, 0, sizeof(*d));
}
