/* SPDX-License-Identifier: MIT */
/*
 * smallbmsctl - ask smallbmsd over its control socket and show the answer,
 * readable or as the raw JSON line (--json). See doc/protocol.md.
 */
#ifdef HAVE_CONFIG_H
/* The build configuration (autoconf), for PACKAGE_VERSION. */
#include <config.h>
#endif

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "guard.h"

#ifndef PACKAGE_VERSION
#error "PACKAGE_VERSION is not defined: build with config.h"
#endif
#ifndef RUNSTATEDIR
#error "RUNSTATEDIR is not defined: the build passes -DRUNSTATEDIR"
#endif

#define PROG           "smallbmsctl"
#define DEFAULT_SOCKET RUNSTATEDIR "/smallbms/smallbms.sock"
#define TIMEOUT_MS     5000
#define MAX_ANSWER     CTL_MAX_OUTPUT /* the daemon never queues more */

enum exit_code {
	EX_OK = 0,
	EX_ANSWER = 1,     /* the daemon answered with an error */
	EX_USAGE = 2,      /* bad command line */
	EX_CONNECT = 3,    /* cannot connect: daemon not running */
	EX_PERMISSION = 4, /* EACCES, or a "permission-denied" answer */
	EX_PROTOCOL = 5,   /* bad or unexpected answer, timeout */
};

static bool use_color;

#define CTL_PORTS_MAX 16 /* CFG_MAX_PORTS */
#define RED           "\033[31m"
#define GREEN         "\033[32m"
#define BOLD          "\033[1m"
#define RESET         "\033[0m"

static int fail(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(int code, const char *fmt, ...)
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
		DEFAULT_SOCKET);
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
		fail(EX_USAGE, "unknown command '%s'", argv[0]);
		fputs("Try '" PROG " --help' for the commands.\n", stderr);
		return EX_USAGE;
	}
	if (argc - 1 < c->min_args || argc - 1 > c->max_args ||
	    (strcmp(c->name, "battery") == 0 && !all_digits(argv[1], 6)))
		return fail(EX_USAGE, "usage: " PROG " %s", c->usage);
	if (strcmp(c->name, "mode") == 0 && argc == 2 &&
	    strcmp(argv[1], "on") != 0 && strcmp(argv[1], "off") != 0)
		return fail(EX_USAGE, "usage: " PROG " mode [on|off]");
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

	o->socket = env && env[0] ? env : DEFAULT_SOCKET;
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
		return fail(EX_USAGE, "the socket path is empty");
	if (optind < argc) {
		o->argc = argc - optind;
		o->argv = argv + optind;
	} else {
		o->argc = 1;
		o->argv = status_argv;
	}
	if (reset) {
		if (o->argc != 1 || strcmp(o->argv[0], "history") != 0)
			return fail(EX_USAGE, "--reset goes with 'history'");
		o->argc = 2;
		o->argv = reset_argv;
	}
	if (check_command(o->argc, o->argv) != EX_OK)
		return EX_USAGE;
	return -1;
}

/* ---- the connection ------------------------------------------------ */

struct conn {
	const char *path;
	int fd;
	int64_t deadline_ms;
	char *buf;
	size_t len, cap;
	size_t consumed; /* the line handed out last */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(const struct conn *c)
{
	int64_t left;

	if (c->deadline_ms < 0)
		return -1; /* watching: no deadline */
	left = c->deadline_ms - now_ms();

	return left > 0 ? (int)left : 0;
}

static int timed_out(const struct conn *c)
{
	return fail(EX_PROTOCOL, "no answer from smallbmsd on %s within %d s",
		    c->path, TIMEOUT_MS / 1000);
}

/*
 * A blocking connect bounded by SO_SNDTIMEO (a Unix socket connect waits
 * only when the listener's backlog is full), then non-blocking I/O.
 */
static int conn_open(struct conn *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int ms = remaining_ms(c);
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	int e;

	if (strlen(c->path) >= sizeof(sa.sun_path))
		return fail(EX_USAGE, "socket path %s is too long", c->path);
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return fail(EX_CONNECT, "socket: %s", strerror(errno));
	if (setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return fail(EX_CONNECT, "socket: %s", strerror(errno));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return EX_OK;
	e = errno;
	if (e == EACCES || e == EPERM)
		return fail(EX_PERMISSION,
			    "permission denied on %s (only root and the "
			    "socket's group may connect)",
			    c->path);
	if (e == EAGAIN || e == EINPROGRESS || e == ETIMEDOUT || e == EINTR)
		return timed_out(c);
	return fail(EX_CONNECT,
		    "cannot connect to %s: %s (is smallbmsd running?)", c->path,
		    strerror(e));
}

static int conn_write(struct conn *c, const char *buf, size_t n)
{
	struct timeval tv = {0, 0};

	/* from here on: poll, not socket timeouts */
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (n > 0) {
		struct pollfd p = {c->fd, POLLOUT, 0};
		ssize_t r;

		if (poll(&p, 1, remaining_ms(c)) == 0)
			return timed_out(c);
		r = send(c->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0)
			return fail(EX_PROTOCOL, "sending to %s: %s", c->path,
				    strerror(errno));
		buf += r;
		n -= (size_t)r;
	}
	return EX_OK;
}

/* Read one line into *line (NUL-terminated, without the LF). The buffer
 * keeps what follows it. */
static int conn_read_line(struct conn *c, char **line)
{
	/* drop the previous line */
	if (c->consumed) {
		memmove(c->buf, c->buf + c->consumed, c->len - c->consumed);
		c->len -= c->consumed;
		c->consumed = 0;
	}
	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		struct pollfd p = {c->fd, POLLIN, 0};
		ssize_t r;

		if (nl) {
			*nl = '\0';
			*line = c->buf;
			c->consumed = (size_t)(nl - c->buf) + 1;
			return EX_OK;
		}
		if (c->len + 1 >= c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 4096;
			char *b;

			if (cap > MAX_ANSWER + 1)
				return fail(EX_PROTOCOL,
					    "answer longer than %d bytes",
					    MAX_ANSWER);
			b = realloc(c->buf, cap);
			if (!b)
				return fail(EX_PROTOCOL, "out of memory");
			c->buf = b;
			c->cap = cap;
		}
		if (poll(&p, 1, remaining_ms(c)) == 0)
			return timed_out(c);
		r = recv(c->fd, c->buf + c->len, c->cap - 1 - c->len,
			 MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0)
			return fail(EX_PROTOCOL, "reading from %s: %s", c->path,
				    strerror(errno));
		if (r == 0)
			return fail(EX_PROTOCOL,
				    "smallbmsd closed the connection on %s "
				    "without an answer",
				    c->path);
		c->len += (size_t)r;
	}
}

/* A JSON object with a string "type". */
static int parse_answer(const char *line, json_t **out, const char **type)
{
	json_error_t jerr;
	json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);

	if (!o || !json_is_object(o) ||
	    !json_is_string(json_object_get(o, "type"))) {
		json_decref(o);
		return fail(EX_PROTOCOL, "not a protocol message: %.80s", line);
	}
	*out = o;
	*type = json_string_value(json_object_get(o, "type"));
	return EX_OK;
}

/* {"type":"error"}: say it; permission-denied has its own exit status. */
static int error_answer(const json_t *o)
{
	const char *code = json_string_value(json_object_get(o, "error"));
	const char *msg = json_string_value(json_object_get(o, "message"));

	fail(EX_ANSWER, "%s", msg ? msg : code ? code : "error");
	return code && strcmp(code, "permission-denied") == 0 ? EX_PERMISSION
							      : EX_ANSWER;
}

static int check_hello(struct conn *c)
{
	const char *type;
	json_t *o, *proto;
	char *line;
	int r;

	r = conn_read_line(c, &line);
	if (r == EX_OK)
		r = parse_answer(line, &o, &type);
	if (r != EX_OK)
		return r;
	proto = json_object_get(o, "protocol");
	if (strcmp(type, "error") == 0)
		r = error_answer(o); /* e.g. busy */
	else if (strcmp(type, "hello") != 0 || !json_is_integer(proto))
		r = fail(EX_PROTOCOL, "%s does not greet like smallbmsd",
			 c->path);
	else if (json_integer_value(proto) != CTL_PROTOCOL_VERSION)
		r = fail(EX_PROTOCOL,
			 "smallbmsd speaks protocol %lld, this " PROG
			 " speaks %d",
			 (long long)json_integer_value(proto),
			 CTL_PROTOCOL_VERSION);
	json_decref(o);
	return r;
}

static int send_request(struct conn *c, int argc, char **argv)
{
	char req[CTL_MAX_REQUEST + 2];
	size_t n = 0;

	for (int i = 0; i < argc; i++) {
		size_t w = strlen(argv[i]);

		if (n + w + 2 > sizeof(req))
			return fail(EX_USAGE, "the command is too long");
		if (i > 0)
			req[n++] = ' ';
		memcpy(req + n, argv[i], w);
		n += w;
	}
	req[n++] = '\n';
	return conn_write(c, req, n);
}

/* ---- readable output ----------------------------------------------- */

/* Columns on a terminal: UTF-8 continuation bytes take none. */
static int text_width(const char *s)
{
	int w = 0;

	for (; *s; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	}
	return w;
}

static void print_padded(const char *s, int width, bool right,
			 const char *color)
{
	int pad = width - text_width(s);

	if (right)
		printf("%*s", pad > 0 ? pad : 0, "");
	if (color && use_color)
		printf("%s%s%s", color, s, RESET);
	else
		fputs(s, stdout);
	if (!right)
		printf("%*s", pad > 0 ? pad : 0, "");
}

/* A key whose value has the wrong type: the answer cannot be trusted. */
static const char *bad_key;

/* A number with unit, "--" for null or absent. */
static void fmt_num(char *buf, size_t len, const json_t *v, int decimals,
		    const char *unit, const char *key)
{
	if (!v || json_is_null(v)) {
		snprintf(buf, len, "--");
	} else if (json_is_number(v)) {
		snprintf(buf, len, "%.*f%s%s", decimals, json_number_value(v),
			 unit[0] ? " " : "", unit);
	} else {
		snprintf(buf, len, "?");
		bad_key = key;
	}
}

static void fmt_key_num(char *buf, size_t len, const json_t *o, const char *key,
			int decimals, const char *unit)
{
	fmt_num(buf, len, json_object_get(o, key), decimals, unit, key);
}

/* "yes"/"no"; red when no. */
static const char *fmt_bool(char *buf, size_t len, const json_t *o,
			    const char *key, const char *yes, const char *no)
{
	const json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		snprintf(buf, len, "--");
		return NULL;
	}
	if (!json_is_boolean(v)) {
		bad_key = key;
		snprintf(buf, len, "?");
		return NULL;
	}
	snprintf(buf, len, "%s", json_is_true(v) ? yes : no);
	return json_is_true(v) ? NULL : RED;
}

/* A list of strings, "none" when empty. */
static const char *fmt_list(char *buf, size_t len, const json_t *o,
			    const char *key)
{
	const json_t *a = json_object_get(o, key);
	size_t i, n = 0;
	json_t *v;

	buf[0] = '\0';
	if (!a || json_is_null(a)) {
		snprintf(buf, len, "--");
		return NULL;
	}
	if (!json_is_array(a)) {
		bad_key = key;
		return NULL;
	}
	json_array_foreach(a, i, v)
	{
		const char *s = json_string_value(v);
		char num[24];

		if (!s && json_is_integer(v)) {
			snprintf(num, sizeof(num), "%lld",
				 (long long)json_integer_value(v));
			s = num;
		}
		if (!s) {
			bad_key = key;
			return NULL;
		}
		if (n >= len)
			break; /* truncated; still a valid string */
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "",
				      s);
	}
	if (json_array_size(a) == 0)
		snprintf(buf, len, "none");
	return json_array_size(a) ? RED : NULL;
}

/* " (battery B, cell C)" from {"battery":B,"cell":C}; empty if absent. */
static void fmt_where(char *buf, size_t len, const json_t *o, const char *key,
		      const char *what)
{
	const json_t *w = json_object_get(o, key);
	const json_t *b = json_object_get(w, "battery");
	const json_t *i = json_object_get(w, what);

	buf[0] = '\0';
	if (!w || json_is_null(w))
		return;
	if (!json_is_integer(b) || !json_is_integer(i)) {
		bad_key = key;
		return;
	}
	snprintf(buf, len, " (battery %lld, %s %lld)",
		 (long long)json_integer_value(b), what,
		 (long long)json_integer_value(i));
}

struct row {
	const char *label;
	char value[256];
	const char *color;
};

#define MAX_ROWS 64

static void print_rows(const struct row *rows, int n)
{
	int w = 0;

	for (int i = 0; i < n; i++) {
		if (text_width(rows[i].label) > w)
			w = text_width(rows[i].label);
	}
	for (int i = 0; i < n; i++) {
		printf("%s:%*s  ", rows[i].label, w - text_width(rows[i].label),
		       "");
		print_padded(rows[i].value, 0, false, rows[i].color);
		putchar('\n');
	}
}

static int untrusted(void)
{
	return fail(EX_PROTOCOL, "unexpected answer: '%s' has the wrong type",
		    bad_key);
}

/* "3.301 V (battery 2, cell 5)" */
static void fmt_extreme(struct row *r, const json_t *o, const char *key,
			const char *at, const char *what, int decimals,
			const char *unit)
{
	char where[96];

	fmt_key_num(r->value, sizeof(r->value), o, key, decimals, unit);
	fmt_where(where, sizeof(where), o, at, what);
	if (strcmp(r->value, "--") != 0)
		strncat(r->value, where,
			sizeof(r->value) - strlen(r->value) - 1);
}

/* "4 (2 in series, 2 in parallel)" */
static void fmt_batteries(char *buf, size_t len, const json_t *o)
{
	const json_t *n = json_object_get(o, "batteries");
	const json_t *ser = json_object_get(o, "series");
	const json_t *par = json_object_get(o, "parallel");

	snprintf(buf, len, "--");
	if (n && !json_is_null(n) && !json_is_integer(n))
		bad_key = "batteries";
	if (!json_is_integer(n))
		return;
	if (json_is_integer(ser) && json_is_integer(par) &&
	    json_integer_value(n) > 0)
		snprintf(buf, len, "%lld (%lld in series, %lld in parallel)",
			 (long long)json_integer_value(n),
			 (long long)json_integer_value(ser),
			 (long long)json_integer_value(par));
	else
		snprintf(buf, len, "%lld", (long long)json_integer_value(n));
}

static void fmt_text(char *buf, size_t len, const json_t *o, const char *key);

/* Reason or warning tokens in words ("low cell voltage, mode off"). */
static void fmt_words(char *buf, size_t len, const json_t *o, const char *key,
		      const char *(*name)(uint32_t),
		      const char *(*text)(uint32_t), unsigned count)
{
	const json_t *a = json_object_get(o, key);
	size_t i, used = 0;
	json_t *v;

	buf[0] = '\0';
	if (a && !json_is_array(a)) {
		bad_key = key;
		return;
	}
	json_array_foreach(a, i, v)
	{
		const char *tok = json_string_value(v), *words = tok;

		if (!tok) {
			bad_key = key;
			return;
		}
		for (unsigned b = 0; b < count; b++) {
			if (name(1u << b) && strcmp(name(1u << b), tok) == 0)
				words = text(1u << b);
		}
		used += (size_t)snprintf(buf + used,
					 used < len ? len - used : 0, "%s%s",
					 i ? ", " : "", words);
	}
}

/* "no (cell over-voltage)": the decision and, when not allowed, why. */
static const char *fmt_decision(struct row *r, const json_t *o, const char *key,
				const char *reasons_key)
{
	char why[160];
	const char *color =
		fmt_bool(r->value, sizeof(r->value), o, key, "yes", "no");

	fmt_words(why, sizeof(why), o, reasons_key, guard_reason_name,
		  guard_reason_text, GUARD_REASON_COUNT);
	if (json_is_false(json_object_get(o, key))) {
		size_t n = strlen(r->value);
		/* No reason left: the restore delay is running, or waits for
		 * fresh data from every battery (only that may allow). */
		snprintf(r->value + n, sizeof(r->value) - n, " (%s)",
			 why[0] ? why
			 : json_is_true(json_object_get(o, "stale"))
				 ? "waiting for fresh data from every battery"
				 : "reconnecting after the restore delay");
	}
	return color;
}

/* "load on, charge off": every output's state. */
static void fmt_outputs(char *buf, size_t len, const json_t *o)
{
	const json_t *a = json_object_get(o, "outputs");
	size_t i, used = 0;
	json_t *v;

	snprintf(buf, len, "none configured");
	if (a && !json_is_array(a))
		bad_key = "outputs";
	json_array_foreach(a, i, v)
	{
		const char *name =
			json_string_value(json_object_get(v, "name"));
		const json_t *act = json_object_get(v, "active");

		if (!name || !json_is_boolean(act)) {
			bad_key = "outputs";
			return;
		}
		used += (size_t)snprintf(
			buf + used, used < len ? len - used : 0, "%s%s %s",
			i ? ", " : "", name, json_is_true(act) ? "on" : "off");
	}
}

/* A state file that could not be used in full: said until the next
 * start, and loudly when Mode was switched off because of it. */
static void show_state_file(const json_t *sf)
{
	const char *res = json_string_value(json_object_get(sf, "result"));
	const json_t *problems = json_object_get(sf, "problems");
	char line[512];
	size_t i;
	json_t *p;

	if (!res || (strcmp(res, "partial") && strcmp(res, "unusable")))
		return;
	snprintf(line, sizeof(line), "STATE FILE %s at start%s",
		 strcmp(res, "partial") ? "NOT USED" : "PARTLY USED",
		 json_is_true(json_object_get(sf, "mode_forced_off"))
			 ? ": Mode could not be read and is Off (smallbmsctl "
			   "mode on)"
			 : "");
	print_padded(line, 0, false, RED);
	putchar('\n');
	json_array_foreach(problems, i, p)
	{
		if (json_is_string(p))
			printf("  %s\n", json_string_value(p));
	}
}

/* "80.0 % (from the batteries, not yet synchronised)". */
static void fmt_soc(char *buf, size_t len, const json_t *o)
{
	const char *src = json_string_value(json_object_get(o, "soc_source"));
	size_t n;

	fmt_key_num(buf, len, o, "soc", 1, "%");
	n = strlen(buf);
	if (src && strcmp(src, "batteries") == 0)
		snprintf(buf + n, len - n,
			 " (the batteries' own, not yet synchronised)");
	else if (src && strcmp(src, "user") == 0)
		snprintf(buf + n, len - n, " (set by hand)");
}

/* "21h12m to the discharge floor", "not discharging", "--". */
static void fmt_time_remaining(char *buf, size_t len, const json_t *o)
{
	const json_t *t = json_object_get(o, "time_remaining");
	const json_t *i = json_object_get(o, "average_current");
	long s;

	if (json_is_integer(t)) {
		s = (long)json_integer_value(t);
		snprintf(buf, len, "%ldh%02ldm to the discharge floor",
			 s / 3600, s / 60 % 60);
		return;
	}
	if (t && !json_is_null(t))
		bad_key = "time_remaining";
	if (json_is_number(i) && json_number_value(i) >= 0)
		snprintf(buf, len, "-- (not discharging)");
	else
		snprintf(buf, len, "--");
}

static int show_status(const json_t *o)
{
	struct row rows[MAX_ROWS] = {0};
	const json_t *stale = json_object_get(o, "stale");
	int k = 0;

	rows[k].label = "Voltage";
	fmt_key_num(rows[k++].value, sizeof(rows[0].value), o, "voltage", 2,
		    "V");
	rows[k].label = "Current";
	fmt_key_num(rows[k++].value, sizeof(rows[0].value), o, "current", 2,
		    "A");
	rows[k].label = "Power";
	fmt_key_num(rows[k++].value, sizeof(rows[0].value), o, "power", 0, "W");
	rows[k].label = "State of charge";
	fmt_soc(rows[k++].value, sizeof(rows[0].value), o);
	rows[k].label = "Consumed";
	fmt_key_num(rows[k++].value, sizeof(rows[0].value), o, "consumed_ah", 1,
		    "Ah");
	rows[k].label = "Time remaining";
	fmt_time_remaining(rows[k++].value, sizeof(rows[0].value), o);
	rows[k].label = "Batteries";
	fmt_batteries(rows[k++].value, sizeof(rows[0].value), o);
	rows[k].label = "Min cell voltage";
	fmt_extreme(&rows[k++], o, "min_cell_voltage", "min_cell_at", "cell", 3,
		    "V");
	rows[k].label = "Max cell voltage";
	fmt_extreme(&rows[k++], o, "max_cell_voltage", "max_cell_at", "cell", 3,
		    "V");
	rows[k].label = "Min temperature";
	fmt_extreme(&rows[k++], o, "min_temperature", "min_temperature_at",
		    "sensor", 1, "°C");
	rows[k].label = "Max temperature";
	fmt_extreme(&rows[k++], o, "max_temperature", "max_temperature_at",
		    "sensor", 1, "°C");
	rows[k].label = "Allowed to charge";
	rows[k].color = fmt_decision(&rows[k], o, "allowed_to_charge",
				     "charge_reasons");
	k++;
	rows[k].label = "Allowed to discharge";
	rows[k].color = fmt_decision(&rows[k], o, "allowed_to_discharge",
				     "discharge_reasons");
	k++;
	if (json_object_get(o, "prealarm")) {
		char w[160];
		rows[k].label = "Pre-alarm";
		rows[k].color = fmt_bool(rows[k].value, sizeof(rows[0].value),
					 o, "prealarm", "ON", "off");
		rows[k].color = json_is_true(json_object_get(o, "prealarm"))
					? RED
					: NULL;
		fmt_words(w, sizeof(w), o, "warnings", guard_warning_name,
			  guard_warning_text, GUARD_WARNING_COUNT);
		if (w[0]) {
			size_t n = strlen(rows[k].value);
			snprintf(rows[k].value + n, sizeof(rows[0].value) - n,
				 " (warning: %s)", w);
		}
		k++;
	}
	if (json_is_string(json_object_get(o, "mode"))) {
		rows[k].label = "Mode";
		fmt_text(rows[k++].value, sizeof(rows[0].value), o, "mode");
	}
	if (json_object_get(o, "remote")) {
		rows[k].label = "Remote input";
		fmt_text(rows[k].value, sizeof(rows[0].value), o, "remote");
		if (json_is_null(json_object_get(o, "remote")))
			snprintf(rows[k].value, sizeof(rows[0].value),
				 "not configured");
		k++;
	}
	if (json_object_get(o, "outputs")) {
		rows[k].label = "Outputs";
		fmt_outputs(rows[k++].value, sizeof(rows[0].value), o);
	}
	if (json_is_string(json_object_get(o, "balancer"))) {
		rows[k].label = "Balancer";
		fmt_text(rows[k++].value, sizeof(rows[0].value), o, "balancer");
	}
	if (json_array_size(json_object_get(o, "topology")) > 0) {
		rows[k].label = "Topology warning";
		rows[k].color = fmt_list(rows[k].value, sizeof(rows[0].value),
					 o, "topology");
		k++;
	}
	if (json_object_get(o, "protection")) {
		rows[k].label = "Battery protection";
		rows[k].color = fmt_list(rows[k].value, sizeof(rows[0].value),
					 o, "protection");
		k++;
	}
	if (json_array_size(json_object_get(o, "charge_without_temperature"))) {
		rows[k].label = "Charging without temperature";
		fmt_list(rows[k].value, sizeof(rows[0].value), o,
			 "charge_without_temperature");
		rows[k++].color = RED;
	}
	if (stale && !json_is_boolean(stale))
		bad_key = "stale";
	if (bad_key)
		return untrusted();
	print_rows(rows, k);
	show_state_file(json_object_get(o, "state_file"));
	if (json_is_true(json_object_get(o, "discovering"))) {
		print_padded("FINDING BATTERIES: a port with addresses = scan "
			     "has not found its batteries yet",
			     0, false, RED);
		putchar('\n');
	} else if (json_is_true(stale)) {
		print_padded("STALE: no current data from some batteries", 0,
			     false, RED);
		putchar('\n');
	}
	return EX_OK;
}

/* ---- the batteries table ------------------------------------------- */

enum {
	COL_INDEX,
	COL_PORT,
	COL_ADDR,
	COL_MODEL,
	COL_VOLT,
	COL_CURR,
	COL_SOC,
	COL_CELLS,
	COL_MIN,
	COL_MAX,
	COL_TEMP,
	COL_STATE,
	NCOLS
};

static const char *const col_names[NCOLS] = {
	"#",   "port",  "addr",     "model",    "voltage", "current",
	"soc", "cells", "min cell", "max cell", "temp",    "state",
};
static const bool col_right[NCOLS] = {
	true, false, true, false, true, true,
	true, true,  true, true,  true, false,
};

#define CELL_LEN 64

/* Lowest and highest number in an array; false if it has none. */
static bool array_range(const json_t *a, const char *key, double *lo,
			double *hi)
{
	bool any = false;
	size_t i;
	json_t *v;

	if (a && !json_is_array(a) && !json_is_null(a))
		bad_key = key;
	json_array_foreach(a, i, v)
	{
		double x;

		if (json_is_null(v))
			continue;
		if (!json_is_number(v)) {
			bad_key = key;
			return false;
		}
		x = json_number_value(v);
		if (!any || x < *lo)
			*lo = x;
		if (!any || x > *hi)
			*hi = x;
		any = true;
	}
	return any;
}

static void fmt_text(char *buf, size_t len, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (!v || json_is_null(v))
		snprintf(buf, len, "--");
	else
		bad_key = key;
}

static void battery_cells(char cells[NCOLS][CELL_LEN], const char **color,
			  const json_t *b)
{
	const json_t *cv = json_object_get(b, "cells");
	double lo = 0, hi = 0;

	fmt_text(cells[COL_INDEX], CELL_LEN, b, "index");
	fmt_text(cells[COL_PORT], CELL_LEN, b, "port");
	fmt_text(cells[COL_ADDR], CELL_LEN, b, "address");
	fmt_text(cells[COL_MODEL], CELL_LEN, b, "model");
	fmt_key_num(cells[COL_VOLT], CELL_LEN, b, "voltage", 2, "V");
	fmt_key_num(cells[COL_CURR], CELL_LEN, b, "current", 2, "A");
	fmt_key_num(cells[COL_SOC], CELL_LEN, b, "soc", 1, "%");
	snprintf(cells[COL_CELLS], CELL_LEN, "%zu", json_array_size(cv));
	snprintf(cells[COL_MIN], CELL_LEN, "--");
	snprintf(cells[COL_MAX], CELL_LEN, "--");
	if (array_range(cv, "cells", &lo, &hi)) {
		snprintf(cells[COL_MIN], CELL_LEN, "%.3f V", lo);
		snprintf(cells[COL_MAX], CELL_LEN, "%.3f V", hi);
	}
	snprintf(cells[COL_TEMP], CELL_LEN, "--");
	if (array_range(json_object_get(b, "temperatures"), "temperatures", &lo,
			&hi)) {
		if (lo == hi)
			snprintf(cells[COL_TEMP], CELL_LEN, "%.1f °C", hi);
		else
			snprintf(cells[COL_TEMP], CELL_LEN, "%.1f-%.1f °C", lo,
				 hi);
	}
	fmt_bool(cells[COL_STATE], CELL_LEN, b, "stale", "stale", "ok");
	*color = json_is_true(json_object_get(b, "stale"))    ? RED
		 : json_is_false(json_object_get(b, "stale")) ? GREEN
							      : NULL;
}

static int show_batteries(const json_t *o)
{
	const json_t *list = json_object_get(o, "batteries");
	size_t n = json_array_size(list), i;
	char(*cells)[NCOLS][CELL_LEN];
	const char **colors;
	int width[NCOLS];
	json_t *b;

	if (!json_is_array(list))
		return fail(EX_PROTOCOL, "unexpected answer: no battery list");
	if (n == 0) {
		printf("No batteries configured.\n");
		return EX_OK;
	}
	cells = calloc(n, sizeof(*cells));
	colors = calloc(n, sizeof(*colors));
	if (!cells || !colors) {
		free(cells);
		free(colors);
		return fail(EX_PROTOCOL, "out of memory");
	}
	json_array_foreach(list, i, b)
	{
		if (!json_is_object(b))
			bad_key = "batteries";
		else
			battery_cells(cells[i], &colors[i], b);
	}
	for (int k = 0; k < NCOLS; k++) {
		width[k] = text_width(col_names[k]);
		for (i = 0; i < n; i++) {
			if (text_width(cells[i][k]) > width[k])
				width[k] = text_width(cells[i][k]);
		}
	}
	if (bad_key) {
		free(cells);
		free(colors);
		return untrusted();
	}
	for (int k = 0; k < NCOLS; k++) {
		print_padded(col_names[k], k == NCOLS - 1 ? 0 : width[k],
			     col_right[k], use_color ? BOLD : NULL);
		fputs(k == NCOLS - 1 ? "\n" : "  ", stdout);
	}
	for (i = 0; i < n; i++) {
		for (int k = 0; k < NCOLS; k++) {
			print_padded(cells[i][k], k == NCOLS - 1 ? 0 : width[k],
				     col_right[k],
				     k == COL_STATE ? colors[i] : NULL);
			fputs(k == NCOLS - 1 ? "\n" : "  ", stdout);
		}
	}
	free(cells);
	free(colors);
	return EX_OK;
}

/* ---- one battery --------------------------------------------------- */

enum kind { K_TEXT, K_NUM, K_BOOL, K_LIST, K_HEX, K_STALE, K_SKIP };

struct field {
	const char *key;
	const char *label;
	enum kind kind;
	int decimals;
	const char *unit;
};

static const struct field fields[] = {
	{"type", NULL, K_SKIP, 0, ""},
	{"cells", NULL, K_SKIP, 0, ""},
	{"temperatures", NULL, K_SKIP, 0, ""},
	{"index", "Battery", K_TEXT, 0, ""},
	{"protocol", "Protocol", K_TEXT, 0, ""},
	{"port", "Port", K_TEXT, 0, ""},
	{"device", "Device", K_TEXT, 0, ""},
	{"address", "Address", K_TEXT, 0, ""},
	{"model", "Model", K_TEXT, 0, ""},
	{"serial", "Serial number", K_TEXT, 0, ""},
	{"firmware", "Firmware", K_TEXT, 0, ""},
	{"manufactured", "Manufactured", K_TEXT, 0, ""},
	{"voltage", "Voltage", K_NUM, 3, "V"},
	{"current", "Current", K_NUM, 3, "A"},
	{"soc", "State of charge", K_NUM, 1, "%"},
	{"remaining_ah", "Remaining", K_NUM, 3, "Ah"},
	{"nominal_ah", "Nominal capacity", K_NUM, 3, "Ah"},
	{"cycles", "Cycles", K_NUM, 0, ""},
	{"protection", "Protection", K_LIST, 0, ""},
	{"protection_raw", "Protection (raw)", K_HEX, 0, ""},
	{"balancing", "Balancing cells", K_LIST, 0, ""},
	{"charge_fet", "Charge FET", K_BOOL, 0, ""},
	{"discharge_fet", "Discharge FET", K_BOOL, 0, ""},
	{"valid", "Has data", K_BOOL, 0, ""},
	{"stale", "State", K_STALE, 0, ""},
	{"age", "Data age", K_NUM, 1, "s"},
	{"frames_good", "Good frames", K_NUM, 0, ""},
	{"frames_bad", "Bad frames", K_NUM, 0, ""},
	{"timeouts", "Timeouts", K_NUM, 0, ""},
	{"readings_rejected", "Rejected readings", K_NUM, 0, ""},
	{"last_rejection", "Last rejected", K_TEXT, 0, ""},
};

static const struct field *find_field(const char *key)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (strcmp(fields[i].key, key) == 0)
			return &fields[i];
	}
	return NULL;
}

/* A key this version does not know: shown as it came. */
static void fmt_unknown(struct row *r, const char *key, const json_t *v)
{
	char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	r->label = key;
	if (json_is_string(v))
		snprintf(r->value, sizeof(r->value), "%s",
			 json_string_value(v));
	else if (json_is_boolean(v))
		snprintf(r->value, sizeof(r->value), "%s",
			 json_is_true(v) ? "yes" : "no");
	else if (json_is_null(v))
		snprintf(r->value, sizeof(r->value), "--");
	else
		snprintf(r->value, sizeof(r->value), "%s", txt ? txt : "?");
	free(txt);
}

static void fmt_field(struct row *r, const struct field *f, const json_t *o,
		      const json_t *v)
{
	r->label = f->label;
	switch (f->kind) {
	case K_TEXT:
		fmt_text(r->value, sizeof(r->value), o, f->key);
		break;
	case K_NUM:
		fmt_num(r->value, sizeof(r->value), v, f->decimals, f->unit,
			f->key);
		break;
	case K_BOOL: {
		bool yes_no = strcmp(f->key, "valid") == 0; /* not a switch */

		r->color =
			fmt_bool(r->value, sizeof(r->value), o, f->key,
				 yes_no ? "yes" : "on", yes_no ? "no" : "off");
		break;
	}
	case K_LIST:
		r->color = fmt_list(r->value, sizeof(r->value), o, f->key);
		break;
	case K_HEX:
		if (json_is_integer(v))
			snprintf(r->value, sizeof(r->value), "0x%04llx",
				 (unsigned long long)json_integer_value(v));
		else if (json_is_null(v))
			snprintf(r->value, sizeof(r->value), "--");
		else
			bad_key = f->key;
		break;
	case K_STALE:
		fmt_bool(r->value, sizeof(r->value), o, f->key,
			 "STALE: no current data", "ok");
		r->color = json_is_true(v) ? RED : NULL;
		break;
	case K_SKIP:
		break;
	}
}

/* "Cells:" then one numbered line each, the extremes marked. */
static void print_series(const json_t *o, const char *key, const char *title,
			 const char *what, int decimals, const char *unit)
{
	const json_t *a = json_object_get(o, key);
	double lo = 0, hi = 0;
	bool range = array_range(a, key, &lo, &hi) && lo != hi;
	size_t i;
	json_t *v;

	if (json_array_size(a) == 0)
		return;
	printf("%s:\n", title);
	json_array_foreach(a, i, v)
	{
		char val[48];
		double x = json_number_value(v);

		fmt_num(val, sizeof(val), v, decimals, unit, key);
		printf("  %s %2zu  %s%s\n", what, i + 1, val,
		       !range || json_is_null(v) ? ""
		       : x == lo                 ? "  (min)"
		       : x == hi                 ? "  (max)"
						 : "");
	}
}

static int show_battery(json_t *o)
{
	/* accept {"type":"battery","battery":{...}} as well as flat */
	json_t *inner = json_object_get(o, "battery");
	struct row rows[MAX_ROWS] = {0};
	const char *key;
	json_t *v;
	int k = 0;
	double lo, hi;

	if (json_is_object(inner))
		o = inner;
	json_object_foreach(o, key, v)
	{
		const struct field *f = find_field(key);

		if (k == MAX_ROWS)
			break;
		if (f && f->kind == K_SKIP)
			continue;
		if (f)
			fmt_field(&rows[k++], f, o, v);
		else
			fmt_unknown(&rows[k++], key, v);
	}
	/* validate the arrays before printing anything */
	array_range(json_object_get(o, "cells"), "cells", &lo, &hi);
	array_range(json_object_get(o, "temperatures"), "temperatures", &lo,
		    &hi);
	if (bad_key)
		return untrusted();
	print_rows(rows, k);
	print_series(o, "cells", "Cells", "cell", 3, "V");
	print_series(o, "temperatures", "Temperatures", "sensor", 1, "°C");
	return EX_OK;
}

/* ---- the ports table ----------------------------------------------- */

enum {
	PCOL_NAME,
	PCOL_DEVICE,
	PCOL_PROTO,
	PCOL_STATE,
	PCOL_BATS,
	PCOL_SCANS,
	PCOL_SCAN,
	PCOL_ERROR,
	NPCOLS
};

static const char *const pcol_names[NPCOLS] = {
	"port",      "device", "protocol",  "state",
	"batteries", "scans",  "last scan", "error",
};

/* "4", or on a scanned port "4 of 16 (scanning)". */
static void port_batteries_cell(char *cell, const json_t *p)
{
	const json_t *scan = json_object_get(p, "scan");
	const json_t *n = json_object_get(p, "batteries");
	const json_t *cand = json_object_get(scan, "candidates");

	if (!json_is_integer(n)) {
		bad_key = "batteries";
		return;
	}
	if (!json_is_object(scan)) {
		snprintf(cell, CELL_LEN, "%lld",
			 (long long)json_integer_value(n));
		return;
	}
	if (!json_is_integer(cand)) {
		bad_key = "scan";
		return;
	}
	snprintf(cell, CELL_LEN, "%lld of %lld%s",
		 (long long)json_integer_value(n),
		 (long long)json_integer_value(cand),
		 json_is_true(json_object_get(scan, "discovering"))
			 ? " (scanning)"
			 : "");
}

static void port_cells(char cells[NPCOLS][CELL_LEN], const json_t *p)
{
	const json_t *open = json_object_get(p, "open");
	const json_t *scan = json_object_get(p, "last_scan");

	fmt_text(cells[PCOL_NAME], CELL_LEN, p, "name");
	fmt_text(cells[PCOL_DEVICE], CELL_LEN, p, "device");
	fmt_text(cells[PCOL_PROTO], CELL_LEN, p, "protocol");
	if (!json_is_boolean(open))
		bad_key = "open";
	snprintf(cells[PCOL_STATE], CELL_LEN, "%s",
		 json_is_true(open) ? "open" : "closed");
	port_batteries_cell(cells[PCOL_BATS], p);
	fmt_text(cells[PCOL_SCANS], CELL_LEN, p, "scans");
	if (json_is_number(scan))
		snprintf(cells[PCOL_SCAN], CELL_LEN, "%.0f ms",
			 json_number_value(scan) * 1000.0);
	else
		snprintf(cells[PCOL_SCAN], CELL_LEN, "--");
	fmt_text(cells[PCOL_ERROR], CELL_LEN, p, "error");
}

static int show_ports(const json_t *o)
{
	const json_t *list = json_object_get(o, "ports");
	char cells[CTL_PORTS_MAX][NPCOLS][CELL_LEN];
	size_t n = json_array_size(list), i;
	int width[NPCOLS];
	json_t *p;

	if (!json_is_array(list) || n > CTL_PORTS_MAX)
		return fail(EX_PROTOCOL, "unexpected answer: bad port list");
	json_array_foreach(list, i, p)
	{
		if (!json_is_object(p))
			bad_key = "ports";
		else
			port_cells(cells[i], p);
	}
	if (bad_key)
		return untrusted();
	for (int k = 0; k < NPCOLS; k++) {
		width[k] = text_width(pcol_names[k]);
		for (i = 0; i < n; i++) {
			if (text_width(cells[i][k]) > width[k])
				width[k] = text_width(cells[i][k]);
		}
	}
	for (int k = 0; k < NPCOLS; k++) {
		print_padded(pcol_names[k], k == NPCOLS - 1 ? 0 : width[k],
			     false, use_color ? BOLD : NULL);
		fputs(k == NPCOLS - 1 ? "\n" : "  ", stdout);
	}
	for (i = 0; i < n; i++) {
		for (int k = 0; k < NPCOLS; k++) {
			print_padded(cells[i][k],
				     k == NPCOLS - 1 ? 0 : width[k], false,
				     NULL);
			fputs(k == NPCOLS - 1 ? "\n" : "  ", stdout);
		}
	}
	return EX_OK;
}

/* ---- watch ---------------------------------------------------------- */

static double num_or_nan(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

static const char *yes_no(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_true(v) ? "yes" : json_is_false(v) ? "no" : "--";
}

/* One line per update when the output is not a terminal (a log, a pipe). */
static void watch_line(const json_t *o)
{
	char t[16];
	time_t now = time(NULL);

	strftime(t, sizeof(t), "%H:%M:%S", localtime(&now));
	printf("%s  SoC %.1f %%  %.2f V  %+.2f A  %.0f W  cells %.3f-%.3f V  "
	       "charge %s  discharge %s%s\n",
	       t, num_or_nan(o, "soc"), num_or_nan(o, "voltage"),
	       num_or_nan(o, "current"), num_or_nan(o, "power"),
	       num_or_nan(o, "min_cell_voltage"),
	       num_or_nan(o, "max_cell_voltage"),
	       yes_no(o, "allowed_to_charge"),
	       yes_no(o, "allowed_to_discharge"),
	       json_is_true(json_object_get(o, "stale")) ? "  STALE" : "");
}

static int watch_update(const struct opts *opt, const char *line,
			const json_t *o)
{
	if (opt->json) {
		puts(line);
	} else if (isatty(STDOUT_FILENO)) {
		/* Home, clear to the end: the view refreshes in place. */
		fputs("\033[H\033[J", stdout);
		if (show_status(o) != EX_OK)
			return EX_PROTOCOL;
		puts("\n(watching: Ctrl-C to stop)");
	} else {
		watch_line(o);
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
		r = parse_answer(line, &o, &type);
		if (r != EX_OK)
			return r;
		if (strcmp(type, "status") == 0)
			r = watch_update(opt, line, o);
		json_decref(o);
		if (r != EX_OK)
			return r;
	}
}

/* ---- main ---------------------------------------------------------- */

/* ---- mode, settings, history -------------------------------------- */

static int show_mode(const json_t *o)
{
	const char *m = json_string_value(json_object_get(o, "mode"));

	if (!m)
		return fail(EX_PROTOCOL, "unexpected answer: no mode");
	printf("Mode: %s\n", m);
	return EX_OK;
}

enum { SCOL_NAME, SCOL_VALUE, SCOL_DEFAULT, SCOL_RANGE, SCOL_RESET, NSCOLS };

static const char *const scol_names[NSCOLS] = {"setting", "value", "default",
					       "range", "reset-defaults"};

static void json_text(char *buf, size_t len, const json_t *v, const char *unit)
{
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_number(v))
		snprintf(buf, len, "%g%s%s", json_number_value(v),
			 unit && *unit ? " " : "", unit ? unit : "");
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "on" : "off");
	else
		snprintf(buf, len, "--");
}

static void setting_cells(char cells[NSCOLS][CELL_LEN], const json_t *e)
{
	const char *unit = json_string_value(json_object_get(e, "unit"));
	char lo[24], hi[24];

	fmt_text(cells[SCOL_NAME], CELL_LEN, e, "name");
	json_text(cells[SCOL_VALUE], CELL_LEN, json_object_get(e, "value"),
		  unit);
	json_text(cells[SCOL_DEFAULT], CELL_LEN, json_object_get(e, "default"),
		  unit);
	json_text(lo, sizeof(lo), json_object_get(e, "min"), NULL);
	json_text(hi, sizeof(hi), json_object_get(e, "max"), NULL);
	if (strcmp(lo, "--") == 0)
		snprintf(cells[SCOL_RANGE], CELL_LEN, "on/off");
	else
		snprintf(cells[SCOL_RANGE], CELL_LEN, "%s..%s", lo, hi);
	snprintf(cells[SCOL_RESET], CELL_LEN, "%s",
		 json_is_true(json_object_get(e, "reset_default")) ? "yes"
								   : "");
}

static int show_settings(const json_t *o)
{
	const json_t *list = json_object_get(o, "settings");
	char cells[64][NSCOLS][CELL_LEN];
	size_t n = json_array_size(list), i;
	int width[NSCOLS];
	json_t *e;

	if (!json_is_array(list) || n > 64)
		return fail(EX_PROTOCOL, "unexpected answer: no settings");
	json_array_foreach(list, i, e)
	{
		if (!json_is_object(e))
			bad_key = "settings";
		else
			setting_cells(cells[i], e);
	}
	if (bad_key)
		return untrusted();
	for (int k = 0; k < NSCOLS; k++) {
		width[k] = text_width(scol_names[k]);
		for (i = 0; i < n; i++) {
			if (text_width(cells[i][k]) > width[k])
				width[k] = text_width(cells[i][k]);
		}
	}
	for (int k = 0; k < NSCOLS; k++) {
		print_padded(scol_names[k], k == NSCOLS - 1 ? 0 : width[k],
			     false, use_color ? BOLD : NULL);
		fputs(k == NSCOLS - 1 ? "\n" : "  ", stdout);
	}
	for (i = 0; i < n; i++) {
		for (int k = 0; k < NSCOLS; k++) {
			print_padded(cells[i][k],
				     k == NSCOLS - 1 ? 0 : width[k], false,
				     NULL);
			fputs(k == NSCOLS - 1 ? "\n" : "  ", stdout);
		}
	}
	return EX_OK;
}

/* History items: the key in words, the value with its unit. */
static const struct {
	const char *key, *label, *unit;
} history_items[] = {
	{"deepest_discharge_ah", "Deepest discharge", "Ah"},
	{"cumulative_ah_drawn", "Cumulative Ah drawn", "Ah"},
	{"discharged_energy_kwh", "Discharged energy", "kWh"},
	{"charged_energy_kwh", "Charged energy", "kWh"},
	{"synchronisations", "Synchronisations", ""},
	{"cycles", "Charge cycles", ""},
	{"last_full_charge", "Last full charge", NULL},
	{"min_voltage", "Min battery voltage", "V"},
	{"max_voltage", "Max battery voltage", "V"},
	{"min_cell_voltage", "Min cell voltage", "V"},
	{"max_cell_voltage", "Max cell voltage", "V"},
	{"min_temperature", "Min battery temperature", "°C"},
	{"max_temperature", "Max battery temperature", "°C"},
};

static int show_history(const json_t *o)
{
	struct row rows[MAX_ROWS] = {0};
	int k = 0;

	for (size_t i = 0; i < sizeof(history_items) / sizeof(history_items[0]);
	     i++) {
		const json_t *v = json_object_get(o, history_items[i].key);

		rows[k].label = history_items[i].label;
		if (!history_items[i].unit && json_is_integer(v)) {
			time_t t = (time_t)json_integer_value(v);
			strftime(rows[k].value, sizeof(rows[k].value),
				 "%Y-%m-%d %H:%M", localtime(&t));
		} else if (v && !json_is_null(v) && !json_is_number(v)) {
			bad_key = history_items[i].key;
		} else {
			json_text(rows[k].value, sizeof(rows[k].value), v,
				  history_items[i].unit);
		}
		k++;
	}
	if (bad_key)
		return untrusted();
	print_rows(rows, k);
	return EX_OK;
}

static int show(const char *cmd, json_t *o, const char *type)
{
	const struct command *c = find_command(cmd);

	if (strcmp(type, c->answer) != 0)
		return fail(EX_PROTOCOL, "asked '%s', got a '%s' answer", cmd,
			    type);
	if (strcmp(type, "status") == 0)
		return show_status(o);
	if (strcmp(type, "batteries") == 0)
		return show_batteries(o);
	if (strcmp(type, "ports") == 0)
		return show_ports(o);
	if (strcmp(type, "mode") == 0)
		return show_mode(o);
	if (strcmp(type, "settings") == 0)
		return show_settings(o);
	if (strcmp(type, "history") == 0)
		return show_history(o);
	return show_battery(o);
}

static int run(const struct opts *opt)
{
	struct conn c = {.path = opt->socket,
			 .fd = -1,
			 .deadline_ms = now_ms() + TIMEOUT_MS};
	const char *type;
	json_t *ans = NULL;
	char *line;
	int r;

	r = conn_open(&c);
	if (r == EX_OK)
		r = check_hello(&c);
	if (r == EX_OK && strcmp(opt->argv[0], "watch") == 0) {
		static char sub[] = "subscribe";
		char *argv[] = {sub, NULL};
		r = send_request(&c, 1, argv);
		if (r == EX_OK)
			r = conn_read_line(&c, &line);
		if (r == EX_OK)
			r = parse_answer(line, &ans, &type);
		if (r == EX_OK && strcmp(type, "error") == 0)
			r = error_answer(ans);
		else if (r == EX_OK)
			r = watch(opt, &c);
		json_decref(ans);
		close(c.fd);
		free(c.buf);
		return r;
	}
	if (r == EX_OK)
		r = send_request(&c, opt->argc, opt->argv);
	if (r == EX_OK)
		r = conn_read_line(&c, &line);
	if (r == EX_OK)
		r = parse_answer(line, &ans, &type);
	if (r == EX_OK && opt->json) {
		fputs(line, stdout);
		putchar('\n');
	}
	if (r == EX_OK && strcmp(type, "error") == 0)
		r = error_answer(ans);
	else if (r == EX_OK && !opt->json)
		r = show(opt->argv[0], ans, type);
	json_decref(ans);
	if (c.fd >= 0)
		close(c.fd);
	free(c.buf);
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
		r = fail(EX_ANSWER, "cannot write the output: %s",
			 strerror(errno));
	return r;
}
