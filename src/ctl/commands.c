/* SPDX-License-Identifier: MIT */
/*
 * commands.c - the control socket's requests, answered from the daemon's
 * state. One table: name, arguments, whether the request changes state
 * (then the peer must be root or in the admin group), handler.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture.h"
#include "daemon.h"
#include "log.h"
#include "number.h"
#include "status.h"

struct command {
	const char *name;
	int min_args, max_args; /* not counting the command word */
	bool changes_state;
	json_t *(*fn)(struct daemon *d, const struct ctl_peer *peer, int argc,
		      char **argv);
	const char *usage;
};

static json_t *cmd_status(struct daemon *d, const struct ctl_peer *peer,
			  int argc, char **argv)
{
	return daemon_status(d);
}

/*
 * The "batteries" answer is the same for every client: it is built at most
 * every ANSWER_MAX_AGE_US (the ages in it are shown to 0.1 s) and shared,
 * so that readers cannot make the daemon build 30 KB of JSON at every
 * request (#18); a reload drops it (daemon_reload).
 */
#define ANSWER_MAX_AGE_US 100000

static json_t *cmd_batteries(struct daemon *d, const struct ctl_peer *peer,
			     int argc, char **argv)
{
	uint64_t now = daemon_now(d);

	if (!d->batteries_answer ||
	    now - d->batteries_at >= ANSWER_MAX_AGE_US) {
		json_decref(d->batteries_answer);
		d->batteries_answer = status_batteries_json(d->chain, now);
		d->batteries_at = now;
	}
	/* Shared: never changed once built (ctl.c keeps its text for the
	 * next request that returns it). */
	return json_incref(d->batteries_answer);
}

static json_t *cmd_battery(struct daemon *d, const struct ctl_peer *peer,
			   int argc, char **argv)
{
	uint64_t n;
	json_t *o;

	if (!num_uint(argv[1], &n) || n < 1 || n > chain_count(d->chain))
		return ctl_error("invalid-argument",
				 "no battery '%s' (there are %u)", argv[1],
				 chain_count(d->chain));
	o = status_battery_json(d->chain, (unsigned)n - 1, daemon_now(d));
	json_object_set_new(o, "type", json_string("battery"));
	return o;
}

static json_t *cmd_ports(struct daemon *d, const struct ctl_peer *peer,
			 int argc, char **argv)
{
	return status_ports_json(d->chain, daemon_now(d));
}

static json_t *cmd_subscribe(struct daemon *d, const struct ctl_peer *peer,
			     int argc, char **argv)
{
	bool on = argc == 1 || strcmp(argv[1], "on") == 0;

	if (argc == 2 && !on && strcmp(argv[1], "off") != 0)
		return ctl_error("invalid-argument",
				 "usage: subscribe [on|off]");
	ctl_client_subscribe(peer->client, on);
	return json_pack("{s:s,s:b}", "type", "subscribed", "subscribed", on);
}

static json_t *cmd_version(struct daemon *d, const struct ctl_peer *peer,
			   int argc, char **argv)
{
	return json_pack("{s:s,s:s,s:i}", "type", "version", "version",
			 PACKAGE_VERSION, "protocol", CTL_PROTOCOL_VERSION);
}

/* An answer that shows what a changing command did. */
static json_t *settings_answer(struct daemon *d)
{
	return json_pack("{s:s,s:o}", "type", "settings", "settings",
			 settings_describe_json(&d->settings));
}

static json_t *cmd_mode(struct daemon *d, const struct ctl_peer *peer, int argc,
			char **argv)
{
	char err[400];

	/* Every run-time change passes the same check as the configuration
	 * and the state file (settings_change: I3), or nothing changes and
	 * the answer names the rule. */
	if (argc == 2) {
		if (settings_change(&d->settings, "mode", argv[1],
				    &d->cfg->protection, err, sizeof(err)) < 0)
			return ctl_error("invalid-argument", "%s", err);
		log_notice("mode %s (by uid %u)", argv[1], (unsigned)peer->uid);
		daemon_state_changed(d);
	}
	return json_pack("{s:s,s:s}", "type", "mode", "mode",
			 d->settings.mode_on ? "on" : "off");
}

static json_t *cmd_settings(struct daemon *d, const struct ctl_peer *peer,
			    int argc, char **argv)
{
	return settings_answer(d);
}

static json_t *cmd_set(struct daemon *d, const struct ctl_peer *peer, int argc,
		       char **argv)
{
	char err[400];

	if (!settings_find(argv[1]))
		return ctl_error("invalid-argument",
				 "no setting '%s' (see: smallbmsctl settings)",
				 argv[1]);
	if (settings_change(&d->settings, argv[1], argv[2], &d->cfg->protection,
			    err, sizeof(err)) < 0)
		return ctl_error("invalid-argument", "%s", err);
	log_notice("setting %s = %s (by uid %u)", argv[1], argv[2],
		   (unsigned)peer->uid);
	daemon_state_changed(d);
	return settings_answer(d);
}

static json_t *cmd_reset_defaults(struct daemon *d, const struct ctl_peer *peer,
				  int argc, char **argv)
{
	char err[400];

	if (settings_reset_checked(&d->settings, &d->cfg->protection, err,
				   sizeof(err)) < 0)
		return ctl_error("invalid-argument", "reset-defaults: %s", err);
	log_notice("settings reset to defaults (by uid %u)",
		   (unsigned)peer->uid);
	daemon_state_changed(d);
	return settings_answer(d);
}

/* The SoC as a user types it: the strict number of `set` (no hex, no
 * exponent, no blanks), at most one decimal, 0..100 %. */
static json_t *cmd_soc(struct daemon *d, const struct ctl_peer *peer, int argc,
		       char **argv)
{
	char err[160];
	unsigned decimals;
	double v;

	if (!num_decimal_all(argv[1], &v, &decimals) || decimals > 1)
		return ctl_error("invalid-argument",
				 "'%s' is not a percentage (0..100, at most "
				 "one decimal)",
				 argv[1]);
	if (monitor_set_soc(&d->monitor, v, err, sizeof(err)) < 0)
		return ctl_error("invalid-argument", "%s", err);
	log_notice("state of charge set to %.1f %% (by uid %u)", v,
		   (unsigned)peer->uid);
	daemon_state_changed(d);
	return daemon_status(d);
}

static json_t *cmd_sync(struct daemon *d, const struct ctl_peer *peer, int argc,
			char **argv)
{
	monitor_sync(&d->monitor, (int64_t)time(NULL));
	log_notice("state of charge synchronised to 100 %% by hand (by uid "
		   "%u)",
		   (unsigned)peer->uid);
	daemon_state_changed(d);
	return daemon_status(d);
}

static json_t *cmd_history(struct daemon *d, const struct ctl_peer *peer,
			   int argc, char **argv)
{
	json_t *h;

	if (argc == 2 && strcmp(argv[1], "--reset") != 0 &&
	    strcmp(argv[1], "reset") != 0)
		return ctl_error("invalid-argument", "usage: history [reset]");
	if (argc == 2) {
		monitor_history_reset(&d->monitor);
		log_notice("history reset (by uid %u)", (unsigned)peer->uid);
		daemon_state_changed(d);
	}
	h = monitor_history_json(&d->monitor);
	json_object_set_new(h, "type", json_string("history"));
	return h;
}

/* ---- capture: one port's raw traffic, for a driver's tests ---------- */

static const char *const capture_states[] = {
	[CAPTURE_NONE] = "none",
	[CAPTURE_RECORDING] = "recording",
	[CAPTURE_DONE] = "done",
};

static json_t *capture_answer(struct daemon *d)
{
	const struct capture *cp = d->capture;
	const char *text = capture_text(cp);
	enum capture_state st = capture_state(cp);

	return json_pack("{s:s,s:s,s:s?,s:f,s:I,s:I,s:f,s:s?}", "type",
			 "capture", "state", capture_states[st], "port",
			 st == CAPTURE_NONE ? NULL : capture_port(cp),
			 "seconds", (double)capture_max_us(cp) / 1e6,
			 "max_bytes", (json_int_t)capture_max_bytes(cp),
			 "bytes", (json_int_t)capture_bytes(cp), "elapsed",
			 (double)capture_elapsed_us(cp, daemon_now(d)) / 1e6,
			 "text", text);
}

/* "capture": the state, and the text of a recording that ended.
 * "capture PORT [SECONDS [BYTES]]": record PORT from now. */
static json_t *cmd_capture(struct daemon *d, const struct ctl_peer *peer,
			   int argc, char **argv)
{
	uint64_t secs = CAPTURE_DEFAULT_US / 1000000,
		 bytes = CAPTURE_DEFAULT_BYTE;
	char header[512], err[160], when[32];
	const struct chain *c = d->chain;
	time_t now = time(NULL);
	struct chain_port_stats st;
	unsigned port = 0;

	if (argc == 1)
		return capture_answer(d);
	while (port < chain_port_count(c) &&
	       strcmp(chain_port_name(c, port), argv[1]) != 0)
		port++;
	if (port == chain_port_count(c))
		return ctl_error("invalid-argument", "no port '%s'", argv[1]);
	if ((argc > 2 && !num_uint(argv[2], &secs)) ||
	    (argc > 3 && !num_uint(argv[3], &bytes)) ||
	    secs > CAPTURE_MAX_US / 1000000 || bytes > CAPTURE_MAX_BYTES)
		return ctl_error("invalid-argument",
				 "usage: capture PORT [SECONDS (1-%llu) [BYTES "
				 "(1-%d)]]",
				 (unsigned long long)(CAPTURE_MAX_US / 1000000),
				 CAPTURE_MAX_BYTES);
	chain_port_stats(c, port, &st);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	snprintf(header, sizeof(header),
		 "%s, protocol %s, %u baud, smallbms %s, started %s",
		 chain_port_device(c, port), chain_protocol(c, port), st.baud,
		 PACKAGE_VERSION, when);
	if (capture_start(d->capture, argv[1], header, daemon_now(d),
			  secs * 1000000, (size_t)bytes, err, sizeof(err)) < 0)
		return ctl_error("invalid-argument", "%s", err);
	/* The identity steps are asked again, so the capture holds them. */
	chain_port_recheck_identity(d->chain, port);
	log_notice("capture of port %s for %llu s or %llu bytes (by uid %u)",
		   argv[1], (unsigned long long)secs, (unsigned long long)bytes,
		   (unsigned)peer->uid);
	return capture_answer(d);
}

static const struct command commands[] = {
	{"status", 0, 0, false, cmd_status, "status"},
	{"batteries", 0, 0, false, cmd_batteries, "batteries"},
	{"battery", 1, 1, false, cmd_battery, "battery N"},
	{"ports", 0, 0, false, cmd_ports, "ports"},
	{"subscribe", 0, 1, false, cmd_subscribe, "subscribe [on|off]"},
	{"version", 0, 0, false, cmd_version, "version"},
	/* Alone they read; with an argument they change state. */
	{"mode", 0, 1, false, cmd_mode, "mode [on|off]"},
	{"history", 0, 1, false, cmd_history, "history [reset]"},
	{"settings", 0, 0, false, cmd_settings, "settings"},
	{"set", 2, 2, true, cmd_set, "set NAME VALUE"},
	{"reset-defaults", 0, 0, true, cmd_reset_defaults, "reset-defaults"},
	{"soc", 1, 1, true, cmd_soc, "soc PERCENT"},
	{"sync", 0, 0, true, cmd_sync, "sync"},
	/* Raw traffic: battery data and what the adapter sees. */
	{"capture", 0, 3, true, cmd_capture,
	 "capture [PORT [SECONDS [BYTES]]]"},
};

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

/* Does this request change the daemon's state? */
static bool changes_state(const struct command *c, int argc)
{
	if (strcmp(c->name, "mode") == 0 || strcmp(c->name, "history") == 0)
		return argc > 1;
	return c->changes_state;
}

json_t *daemon_request(void *userdata, const struct ctl_peer *peer, int argc,
		       char **argv)
{
	struct daemon *d = userdata;
	const struct command *c = find(argv[0]);

	if (!c)
		return ctl_error("unknown-command", "unknown command '%s'",
				 argv[0]);
	if (argc - 1 < c->min_args || argc - 1 > c->max_args)
		return ctl_error("invalid-argument", "usage: %s", c->usage);
	if (changes_state(c, argc) && !ctl_peer_is_admin(peer))
		return ctl_error("permission-denied",
				 "'%s' changes the daemon's state: it needs "
				 "root or the admin group",
				 c->name);
	return c->fn(d, peer, argc, argv);
}
