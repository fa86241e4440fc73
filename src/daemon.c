/* SPDX-License-Identifier: MIT */
/*
 * daemon.c - the wiring of smallbmsd.
 */
#include <config.h>

#include "daemon.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "cfg.h"
#include "log.h"
#include "status.h"

#define STATUS_NOTIFY_USEC 1000000ULL

static uint64_t now_us(const struct daemon *d)
{
	uint64_t t = 0;
	sd_event_now(d->ev, CLOCK_MONOTONIC, &t);
	return t;
}

/* Topology warnings are never silently accepted: each start and end is
 * logged. */
static void log_topology(uint32_t before, const struct bank *b)
{
	for (unsigned i = 0; i < BANK_WARN_COUNT; i++) {
		uint32_t bit = 1u << i;
		if ((b->warnings & bit) && !(before & bit))
			log_warn("topology: %s (string %u): check the wiring "
				 "and the series setting",
				 bank_warning_name(bit), b->warn_string);
		else if (!(b->warnings & bit) && (before & bit))
			log_notice("topology: %s ended",
				   bank_warning_name(bit));
	}
}

static void bank_refresh(struct daemon *d)
{
	uint32_t warnings = d->bank.warnings;

	struct bank_input in[CFG_MAX_BATTERIES];
	unsigned n = chain_count(d->chain);

	if (n > CFG_MAX_BATTERIES)
		n = CFG_MAX_BATTERIES; /* the configuration refuses more */
	for (unsigned i = 0; i < n; i++) {
		const struct chain_battery *b = chain_battery(d->chain, i);
		in[i] = (struct bank_input){&b->reading, b->valid, b->stale};
	}
	bank_compute(&d->bank, in, n, d->cfg->series, NULL);
	log_topology(warnings, &d->bank);
	/* Until the protection rules exist (guard), follow the batteries'
	 * own FETs and protection flags; no data means not allowed. */
	d->allowed_to_charge = d->bank.complete && d->bank.fets_allow_charge;
	d->allowed_to_discharge =
		d->bank.complete && d->bank.fets_allow_discharge;
}

static void fmt_value(char *buf, size_t len, double v, int decimals,
		      const char *unit)
{
	if (isfinite(v))
		snprintf(buf, len, "%.*f%s", decimals, v, unit);
	else
		snprintf(buf, len, "--");
}

/* The one-line readout for `systemctl status`. */
static void notify_status(struct daemon *d)
{
	char soc[16], volt[16], amp[16];
	uint64_t now = now_us(d);

	if (now - d->last_status_us < STATUS_NOTIFY_USEC)
		return;
	d->last_status_us = now;
	fmt_value(soc, sizeof(soc), d->bank.soc, 1, "%");
	fmt_value(volt, sizeof(volt), d->bank.voltage, 2, " V");
	fmt_value(amp, sizeof(amp), d->bank.current, 1, " A");
	sd_notifyf(0, "STATUS=SoC %s, %s, %s, %u batteries%s", soc, volt, amp,
		   d->bank.nbatteries, d->bank.stale ? ", STALE DATA" : "");
}

static json_t *status_now(struct daemon *d)
{
	return status_json(&d->bank, d->allowed_to_charge,
			   d->allowed_to_discharge);
}

static void on_chain_update(struct chain *c, bool scan_done, void *userdata)
{
	struct daemon *d = userdata;

	bank_refresh(d);
	notify_status(d);
	/* Subscribers get the bank's status after every completed scan. */
	if (scan_done && d->ctl && ctl_server_clients(d->ctl) > 0) {
		json_t *st = status_now(d);
		ctl_server_broadcast(d->ctl, st);
		json_decref(st);
	}
}

static json_t *cmd_subscribe(struct daemon *d, const struct ctl_peer *peer,
			     int argc, char **argv)
{
	bool on = argc == 1 || strcmp(argv[1], "on") == 0;

	if (argc > 2 || (argc == 2 && !on && strcmp(argv[1], "off") != 0))
		return ctl_error("invalid-argument",
				 "usage: subscribe [on|off]");
	ctl_client_subscribe(peer->client, on);
	return json_pack("{s:s,s:b}", "type", "subscribed", "subscribed", on);
}

static json_t *cmd_battery(struct daemon *d, int argc, char **argv)
{
	char *end;
	long n;

	if (argc != 2)
		return ctl_error("invalid-argument", "usage: battery N");
	errno = 0;
	n = strtol(argv[1], &end, 10);
	if (errno || *end || n < 1 || n > (long)chain_count(d->chain))
		return ctl_error("invalid-argument",
				 "no battery '%s' (there are %u)", argv[1],
				 chain_count(d->chain));
	json_t *o = status_battery_json(d->chain, (unsigned)n - 1, now_us(d));
	json_object_set_new(o, "type", json_string("battery"));
	return o;
}

json_t *daemon_request(void *userdata, const struct ctl_peer *peer, int argc,
		       char **argv)
{
	struct daemon *d = userdata;

	if (strcmp(argv[0], "status") == 0 && argc == 1)
		return status_now(d);
	if (strcmp(argv[0], "subscribe") == 0)
		return cmd_subscribe(d, peer, argc, argv);
	if (strcmp(argv[0], "batteries") == 0 && argc == 1)
		return status_batteries_json(d->chain, now_us(d));
	if (strcmp(argv[0], "ports") == 0 && argc == 1)
		return status_ports_json(d->chain);
	if (strcmp(argv[0], "battery") == 0)
		return cmd_battery(d, argc, argv);
	if (strcmp(argv[0], "version") == 0 && argc == 1)
		return json_pack("{s:s,s:s,s:i}", "type", "version", "version",
				 PACKAGE_VERSION, "protocol",
				 CTL_PROTOCOL_VERSION);
	return ctl_error("unknown-command", "unknown command '%s'", argv[0]);
}

/*
 * The watchdog is fed only while the battery scans make progress: a loop
 * that still turns but whose scans are stuck must let systemd restart us
 * (ExecStopPost= then puts the lines in the safe state).
 */
static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	if (!chain_stalled(d->chain, now_us(d)))
		sd_notify(0, "WATCHDOG=1");
	else
		log_err("battery scans are stuck: not feeding the watchdog");
	sd_event_source_set_time(s, usec + d->watchdog_us / 2);
	return 0;
}

static int add_watchdog(struct daemon *d, char *err, size_t errlen)
{
	int r;

	if (sd_watchdog_enabled(0, &d->watchdog_us) <= 0)
		return 0;
	r = sd_event_add_time(d->ev, &d->watchdog, CLOCK_MONOTONIC,
			      now_us(d) + d->watchdog_us / 2, 0, on_watchdog,
			      d);
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

static int add_signals(struct daemon *d, char *err, size_t errlen)
{
	static const int sigs[] = {SIGTERM, SIGINT};
	sigset_t mask;

	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&mask, sigs[i]);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		int r = sd_event_add_signal(d->ev, NULL, sigs[i], on_signal, d);
		if (r < 0) {
			snprintf(err, errlen, "cannot watch signal %d: %s",
				 sigs[i], strerror(-r));
			return -1;
		}
	}
	return 0;
}

int daemon_init(struct daemon *d, const struct cfg *cfg, char *err,
		size_t errlen)
{
	int r;

	memset(d, 0, sizeof(*d));
	d->cfg = cfg;
	r = sd_event_default(&d->ev);
	if (r < 0) {
		snprintf(err, errlen, "cannot create event loop: %s",
			 strerror(-r));
		return -1;
	}
	if (add_signals(d, err, errlen) < 0)
		return -1;
	d->chain = chain_new(d->ev, cfg, on_chain_update, d, err, errlen);
	if (!d->chain)
		return -1;
	bank_refresh(d);
	ensure_socket_dir(cfg->socket_path);
	d->ctl = ctl_server_new(d->ev, cfg->socket_path, daemon_request, d, err,
				errlen);
	if (!d->ctl)
		return -1;
	return add_watchdog(d, err, errlen);
}

int daemon_run(struct daemon *d)
{
	int r;

	sd_notify(0, "READY=1\nSTATUS=Starting: reading the batteries");
	log_notice("started: %u batteries on %u ports, socket %s",
		   chain_count(d->chain), d->cfg->nports, d->cfg->socket_path);
	r = sd_event_loop(d->ev);
	if (r < 0) {
		log_err("event loop failed: %s", strerror(-r));
		return EXIT_FAILURE;
	}
	return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void daemon_fini(struct daemon *d)
{
	ctl_server_free(d->ctl);
	chain_free(d->chain);
	sd_event_source_disable_unref(d->watchdog);
	sd_event_unref(d->ev);
	memset(d, 0, sizeof(*d));
}
