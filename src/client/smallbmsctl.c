/* SPDX-License-Identifier: MIT */
/*
 * smallbmsctl - ask smallbmsd over its control socket and show the answer,
 * readable or as the raw JSON line (--json). See doc/protocol.md.
 *
 * This file: the command line and the run of one command. The
 * connection is conn.c, the readable answers view.c (with table.c).
 */
#ifdef HAVE_CONFIG_H
/* The build configuration (autoconf), for PACKAGE_VERSION. */
#include <config.h>
#endif

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "conn.h"
#include "view.h"
#include "wire.h"

#ifndef PACKAGE_VERSION
#error "PACKAGE_VERSION is not defined: build with config.h"
#endif
#ifndef RUNSTATEDIR
#error "RUNSTATEDIR is not defined: the build passes -DRUNSTATEDIR"
#endif

static bool use_color;

int client_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [OPTION]... [COMMAND [ARG]]\n"
		"Show the state of smallbmsd, the battery-management daemon.\n"
		"\n"
		"Commands:\n"
		"  status        the bank: voltage, current, SoC, cell and\n"
		"                temperature extremes, charge/discharge\n"
		"                permission (the default)\n"
		"  batteries     one line per battery\n"
		"  battery N     everything about battery N (1 = the first)\n"
		"  ports         one line per port: transport, scans, errors\n"
		"  watch         follow the status live (one update per scan;\n"
		"                refreshed in place on a terminal)\n"
		"  history [--reset]  the bank's history (reset: root/admin)\n"
		"  settings      the run-time settings with defaults and "
		"ranges\n"
		"\n"
		"Commands that change state (root or the admin group):\n"
		"  mode on|off   Mode: off releases both outputs\n"
		"  set NAME VALUE  change a run-time setting (saved)\n"
		"  reset-defaults  charged voltage, tail current, charged\n"
		"                detection time, low-SoC warning, discharge "
		"floor\n"
		"  soc PERCENT   set the state of charge by hand\n"
		"  sync          synchronise the state of charge to 100 %%\n"
		"  capture PORT [SECONDS [BYTES]]  record the raw traffic of\n"
		"                PORT (both directions) for SECONDS (30, at "
		"most\n"
		"                600) or BYTES (32768, at most 65536), then\n"
		"                write it to standard output in the capture\n"
		"                format bmssim --replay plays back; alone: "
		"the\n"
		"                state of the last capture\n"
		"\n"
		"Options:\n"
		"  -s, --socket=PATH  the daemon's control socket\n"
		"                     (default $SMALLBMS_SOCKET, else %s)\n"
		"  -j, --json         print the daemon's answer as received:\n"
		"                     one JSON object on one line\n"
		"  -h, --help         show this help and exit\n"
		"  -V, --version      show the version and exit\n"
		"\n"
		"Colour is used when standard output is a terminal and "
		"NO_COLOR\n"
		"is not set.\n"
		"\n"
		"Exit status:\n"
		"  0  ok\n"
		"  1  the daemon answered with an error\n"
		"  2  usage error\n"
		"  3  cannot connect (the daemon is not running)\n"
		"  4  permission denied\n"
		"  5  protocol error: bad or unexpected answer, or no answer\n"
		"     within 5 seconds\n",
		WIRE_DEFAULT_SOCKET);
}

/* ---- the command line ---------------------------------------------- */

struct opts {
	const char *socket;
	bool json;
	int argc; /* the command and its arguments */
	char **argv;
};

static bool all_digits(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return true;
}

/* Every command: arguments (not counting the word), the answer's type. */
struct command {
	const char *name;
	int min_args, max_args;
	const char *answer;
	const char *usage;
};

static const struct command commands[] = {
	{"status", 0, 0, "status", "status"},
	{"batteries", 0, 0, "batteries", "batteries"},
	{"battery", 1, 1, "battery", "battery N (a battery number)"},
	{"ports", 0, 0, "ports", "ports"},
	{"watch", 0, 0, "status", "watch"},
	{"mode", 0, 1, "mode", "mode [on|off]"},
	{"history", 0, 1, "history", "history [--reset]"},
	{"settings", 0, 0, "settings", "settings"},
	{"set", 2, 2, "settings", "set NAME VALUE"},
	{"reset-defaults", 0, 0, "settings", "reset-defaults"},
	{"soc", 1, 1, "status", "soc PERCENT"},
	{"sync", 0, 0, "status", "sync"},
	{"capture", 0, 3, "capture", "capture [PORT [SECONDS [BYTES]]]"},
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

static int check_command(int argc, char **argv)
{
	const struct command *c = find_command(argv[0]);

	if (!c) {
		client_fail(EX_USAGE, "unknown command '%s'", argv[0]);
		fputs("Try '" PROG " --help' for the commands.\n", stderr);
		return EX_USAGE;
	}
	if (argc - 1 < c->min_args || argc - 1 > c->max_args ||
	    (strcmp(c->name, "battery") == 0 && !all_digits(argv[1], 6)))
		return client_fail(EX_USAGE, "usage: " PROG " %s", c->usage);
	if (strcmp(c->name, "capture") == 0 &&
	    ((argc > 2 && !all_digits(argv[2], 4)) ||
	     (argc > 3 && !all_digits(argv[3], 6))))
		return client_fail(EX_USAGE, "usage: " PROG " %s", c->usage);
	if (strcmp(c->name, "mode") == 0 && argc == 2 &&
	    strcmp(argv[1], "on") != 0 && strcmp(argv[1], "off") != 0)
		return client_fail(EX_USAGE, "usage: " PROG " mode [on|off]");
	return EX_OK;
}

/* Returns -1 to go on, otherwise the exit status. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"reset", no_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	static char status_word[] = "status", history_word[] = "history",
		    reset_word[] = "reset";
	static char *status_argv[] = {status_word, NULL};
	static char *reset_argv[] = {history_word, reset_word, NULL};
	bool reset = false;
	const char *env = getenv("SMALLBMS_SOCKET");
	int c;

	o->socket = env && env[0] ? env : WIRE_DEFAULT_SOCKET;
	/* Options may come before or after the command (GNU permutation). */
	while ((c = getopt_long(argc, argv, "s:jhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->socket = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'r':
			reset = true;
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		case 'V':
			printf(PROG " (smallbms) %s, control protocol %d\n",
			       PACKAGE_VERSION, CTL_PROTOCOL_VERSION);
			return EX_OK;
		default:
			fputs("Try '" PROG " --help' for more information.\n",
			      stderr);
			return EX_USAGE;
		}
	}
	if (!o->socket[0])
		return client_fail(EX_USAGE, "the socket path is empty");
	if (optind < argc) {
		o->argc = argc - optind;
		o->argv = argv + optind;
	} else {
		o->argc = 1;
		o->argv = status_argv;
	}
	if (reset) {
		if (o->argc != 1 || strcmp(o->argv[0], "history") != 0)
			return client_fail(EX_USAGE,
					   "--reset goes with 'history'");
		o->argc = 2;
		o->argv = reset_argv;
	}
	if (check_command(o->argc, o->argv) != EX_OK)
		return EX_USAGE;
	return -1;
}

/* ---- watch ---------------------------------------------------------- */

static int watch_update(const struct opts *opt, const char *line,
			const json_t *o)
{
	struct view vw = {.color = use_color};

	if (opt->json) {
		puts(line);
	} else if (isatty(STDOUT_FILENO)) {
		/* Home, clear to the end: the view refreshes in place. */
		fputs("\033[H\033[J", stdout);
		if (view_status(&vw, o) != EX_OK)
			return EX_PROTOCOL;
		puts("\n(watching: Ctrl-C to stop)");
	} else {
		view_watch_line(o);
	}
	fflush(stdout);
	return EX_OK;
}

/* After "subscribe" was answered: every status the daemon pushes, until it
 * goes away or we are interrupted. */
static int watch(const struct opts *opt, struct conn *c)
{
	const char *type;
	json_t *o;
	char *line;
	int r;

	c->deadline_ms = -1;
	for (;;) {
		r = conn_read_line(c, &line);
		if (r != EX_OK)
			return r;
		r = conn_parse_answer(line, &o, &type);
		if (r != EX_OK)
			return r;
		if (strcmp(type, "status") == 0)
			r = watch_update(opt, line, o);
		json_decref(o);
		if (r != EX_OK)
			return r;
	}
}

/* ---- capture ------------------------------------------------------- */

/* One request on the open connection and its answer (an error answer is
 * said and its status returned). */
static int ask(struct conn *c, int argc, char **argv, char **line, json_t **o,
	       const char **type)
{
	int r;

	c->deadline_ms = conn_now_ms() + CONN_TIMEOUT_MS;
	r = conn_request(c, argc, argv);
	if (r == EX_OK)
		r = conn_read_line(c, line);
	if (r == EX_OK)
		r = conn_parse_answer(*line, o, type);
	if (r == EX_OK && strcmp(*type, "error") == 0) {
		r = conn_error_answer(*o);
		json_decref(*o);
		*o = NULL;
	} else if (r == EX_OK && strcmp(*type, "capture") != 0) {
		r = client_fail(EX_PROTOCOL,
				"asked 'capture', got a '%s' "
				"answer",
				*type);
		json_decref(*o);
		*o = NULL;
	}
	return r;
}

static const char *state_of(const json_t *o)
{
	const char *s = json_string_value(json_object_get(o, "state"));

	return s ? s : "";
}

/* The capture file (or, with --json, the last answer) on stdout. */
static int capture_out(const struct opts *opt, const char *line, json_t *o)
{
	const char *text = json_string_value(json_object_get(o, "text"));

	if (opt->json) {
		puts(line);
		return EX_OK;
	}
	if (!text)
		return client_fail(EX_PROTOCOL, "the capture has no text");
	fputs(text, stdout);
	return EX_OK;
}

/* Start recording, wait for the daemon to end it, write it out. */
static int capture(const struct opts *opt, struct conn *c)
{
	static char word[] = "capture";
	char *again[] = {word, NULL};
	json_t *o = NULL;
	const char *type;
	char *line;
	int r;

	r = ask(c, opt->argc, opt->argv, &line, &o, &type);
	if (r != EX_OK)
		return r;
	fprintf(stderr,
		PROG ": recording port %s for %.0f s or %lld bytes ...\n",
		opt->argv[1], json_real_value(json_object_get(o, "seconds")),
		(long long)json_integer_value(json_object_get(o, "max_bytes")));
	while (strcmp(state_of(o), "recording") == 0) {
		json_decref(o);
		o = NULL;
		usleep(200000);
		r = ask(c, 1, again, &line, &o, &type);
		if (r != EX_OK)
			return r;
	}
	if (strcmp(state_of(o), "done") != 0)
		r = client_fail(EX_PROTOCOL, "the capture ended as '%s'",
				state_of(o));
	else
		r = capture_out(opt, line, o);
	json_decref(o);
	return r;
}

/* ---- one command ---------------------------------------------------- */

static int show(const char *cmd, json_t *o, const char *type)
{
	const struct command *c = find_command(cmd);
	struct view vw = {.color = use_color};

	if (strcmp(type, c->answer) != 0)
		return client_fail(EX_PROTOCOL, "asked '%s', got a '%s' answer",
				   cmd, type);
	if (strcmp(type, "status") == 0)
		return view_status(&vw, o);
	if (strcmp(type, "batteries") == 0)
		return view_batteries(&vw, o);
	if (strcmp(type, "ports") == 0)
		return view_ports(&vw, o);
	if (strcmp(type, "mode") == 0)
		return view_mode(&vw, o);
	if (strcmp(type, "settings") == 0)
		return view_settings(&vw, o);
	if (strcmp(type, "history") == 0)
		return view_history(&vw, o);
	if (strcmp(type, "capture") == 0) {
		const char *text =
			json_string_value(json_object_get(o, "text"));

		printf("Capture: %s", state_of(o));
		if (json_string_value(json_object_get(o, "port")))
			printf(", port %s, %lld bytes",
			       json_string_value(json_object_get(o, "port")),
			       (long long)json_integer_value(
				       json_object_get(o, "bytes")));
		putchar('\n');
		if (text)
			fputs(text, stdout);
		return EX_OK;
	}
	return view_battery(&vw, o);
}

static int run(const struct opts *opt)
{
	struct conn c = {.path = opt->socket,
			 .fd = -1,
			 .deadline_ms = conn_now_ms() + CONN_TIMEOUT_MS};
	const char *type;
	json_t *ans = NULL;
	char *line;
	int r;

	r = conn_open(&c);
	if (r == EX_OK)
		r = conn_hello(&c);
	if (r == EX_OK && strcmp(opt->argv[0], "watch") == 0) {
		static char sub[] = "subscribe";
		char *argv[] = {sub, NULL};
		r = conn_request(&c, 1, argv);
		if (r == EX_OK)
			r = conn_read_line(&c, &line);
		if (r == EX_OK)
			r = conn_parse_answer(line, &ans, &type);
		if (r == EX_OK && strcmp(type, "error") == 0)
			r = conn_error_answer(ans);
		else if (r == EX_OK)
			r = watch(opt, &c);
		json_decref(ans);
		conn_close(&c);
		return r;
	}
	if (r == EX_OK && strcmp(opt->argv[0], "capture") == 0 &&
	    opt->argc > 1) {
		r = capture(opt, &c);
		conn_close(&c);
		return r;
	}
	if (r == EX_OK)
		r = conn_request(&c, opt->argc, opt->argv);
	if (r == EX_OK)
		r = conn_read_line(&c, &line);
	if (r == EX_OK)
		r = conn_parse_answer(line, &ans, &type);
	if (r == EX_OK && opt->json) {
		fputs(line, stdout);
		putchar('\n');
	}
	if (r == EX_OK && strcmp(type, "error") == 0)
		r = conn_error_answer(ans);
	else if (r == EX_OK && !opt->json)
		r = show(opt->argv[0], ans, type);
	json_decref(ans);
	conn_close(&c);
	return r;
}

int main(int argc, char **argv)
{
	struct opts opt = {0};
	const char *term = getenv("TERM");
	int r;

	r = parse_args(argc, argv, &opt);
	if (r >= 0)
		return r;
	use_color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") &&
		    !(term && strcmp(term, "dumb") == 0);
	r = run(&opt);
	if (fflush(stdout) != 0 && r == EX_OK)
		r = client_fail(EX_ANSWER, "cannot write the output: %s",
				strerror(errno));
	return r;
}
