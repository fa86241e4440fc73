/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ctl.c - libFuzzer target for the control socket (see
 * fuzz/README.md).
 *
 * For every input a real daemon is set up in-process, as smallbmsd does
 * it (daemon_init() from a configuration: dry-run outputs in memory, one
 * JBD port whose device does not exist, the state and the socket in a
 * private temporary directory, our own group as the admin group so that
 * every command is allowed), and torn down afterwards (daemon_fini(), the
 * state file removed: every input starts from the same daemon). A client
 * connects to the control socket, sends the input as it comes (requests
 * are lines), then shuts its side down; the event loop runs until the
 * server has closed the connection. Contract (ctl.h, doc/protocol.md):
 *
 * - every line received is one JSON object with a string "type", the
 *   first is the hello of protocol 1, none is longer than CTL_MAX_OUTPUT;
 * - one answer per request: a line that, without its LF and one CR, has
 *   anything but blanks, until the first line longer than CTL_MAX_REQUEST
 *   (answered "request-too-long", then the connection is closed); a
 *   subscribed client may get status broadcasts in addition;
 * - the server closes the connection once the input is consumed, holds
 *   at most this one client meanwhile and none afterwards; it never
 *   crashes, hangs (libFuzzer's -timeout) or leaks (LeakSanitizer).
 *
 * Any violation calls abort(). FUZZ_CTL_VERBOSE=1 shows the daemon's log.
 */
#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl.h"
#include "daemon.h"
#include "fuzz_check.h"
#include "log.h"

/* Loop turns without progress before the server counts as hung. */
#define MAX_IDLE_TURNS 500 /* x 10 ms */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[160];
static struct cfg cfg;

static void rm_state(void)
{
	static const char *const names[] = {"state.json", "state.json.tmp"};
	char p[300];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/state/%s", dir, names[i]);
		unlink(p);
	}
}

static void cleanup(void)
{
	char p[300];

	rm_state();
	snprintf(p, sizeof(p), "%s/state", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/run", dir);
	rmdir(p);
	rmdir(dir);
}

/* The daemon's configuration, once: the checked loader makes it. */
static void setup(void)
{
	const char *base = getenv("TMPDIR");
	const struct group *g = getgrgid(getgid());
	char text[2048], errs[1024] = "";
	FILE *f = fmemopen(errs, sizeof(errs) - 1, "w");

	/* A RAM disk when there is one: commands save the state (fsync). */
	if (access("/dev/shm", W_OK) == 0)
		base = "/dev/shm";
	else if (!base || !base[0])
		base = "/tmp";
	snprintf(dir, sizeof(dir), "%s/fuzz_ctl.XXXXXX", base);
	require(mkdtemp(dir) != NULL);
	atexit(cleanup);
	snprintf(text, sizeof(text),
		 "[general]\n"
		 "socket = %s/run/smallbms.sock\n"
		 "state_dir = %s/state\n"
		 "dry_run = yes\n"
		 "poll_interval = 60s\n"
		 "%s%s\n"
		 "[port b1]\n"
		 "device = %s/no-such-adapter\n"
		 "protocol = jbd\n"
		 "[output load]\n"
		 "function = load\n"
		 "line = GPIO17\n"
		 "[output charge]\n"
		 "function = charge\n"
		 "line = GPIO27\n"
		 "[output prealarm]\n"
		 "function = prealarm\n"
		 "line = GPIO22\n",
		 dir, dir, g ? "admin_group = " : "", g ? g->gr_name : "", dir);
	require(f != NULL);
	if (cfg_load_string(&cfg, "fuzz_ctl.conf", text, f) != 0) {
		fclose(f);
		fprintf(stderr, "fuzz_ctl: configuration:\n%s", errs);
		abort();
	}
	fclose(f);
	log_init("fuzz_ctl", getenv("FUZZ_CTL_VERBOSE") ? LOG_DEBUG : LOG_CRIT);
}

/* The answers a well-behaved server gives this input (see above). */
static unsigned expected_answers(const uint8_t *data, size_t size)
{
	unsigned n = 0;
	size_t pos = 0;

	while (pos < size) {
		const uint8_t *line = data + pos;
		const uint8_t *nl = memchr(line, '\n', size - pos);
		size_t len = nl ? (size_t)(nl - line) : size - pos;

		pos += len + (nl ? 1 : 0);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > CTL_MAX_REQUEST)
			return n + 1; /* too long: answered, then closed */
		for (size_t i = 0; i < len; i++) {
			if (line[i] != ' ' && line[i] != '\t') {
				n++;
				break;
			}
		}
	}
	return n;
}

struct client {
	int fd;
	char *buf;
	size_t len, cap;
	unsigned lines;
	bool subscribed;
	bool eof;
};

static void check_line(struct client *c, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *o, *type;

	require(len <= CTL_MAX_OUTPUT);
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		fprintf(stderr, "fuzz_ctl: not JSON (%s): %.*s\n", jerr.text,
			(int)(len < 400 ? len : 400), line);
		abort();
	}
	type = json_object_get(o, "type");
	require(json_is_object(o) && json_is_string(type));
	if (c->lines == 0) {
		require(strcmp(json_string_value(type), "hello") == 0);
		require(json_integer_value(json_object_get(o, "protocol")) ==
			CTL_PROTOCOL_VERSION);
	}
	if (strcmp(json_string_value(type), "subscribed") == 0 &&
	    json_is_true(json_object_get(o, "subscribed")))
		c->subscribed = true;
	c->lines++;
	json_decref(o);
}

/* Read what is there; true if anything came (or the end). */
static bool client_recv(struct client *c)
{
	bool progress = false;

	for (;;) {
		ssize_t n;
		char *nl;

		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 131072;
			c->buf = realloc(c->buf, c->cap);
			require(c->buf != NULL);
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return progress;
		if (n < 0 && errno == EINTR)
			continue;
		/* A reset after the server closed with input unread. */
		if (n <= 0) {
			require(n == 0 || errno == ECONNRESET);
			c->eof = true;
			return true;
		}
		progress = true;
		c->len += (size_t)n;
		while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			size_t k = (size_t)(nl - c->buf);

			check_line(c, c->buf, k);
			c->len -= k + 1;
			memmove(c->buf, nl + 1, c->len);
		}
		require(c->len <= CTL_MAX_OUTPUT);
	}
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	require(fd >= 0 && strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	require(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	return fd;
}

/* Send the input, shut down, run the loop until the server closes. */
static void converse(struct daemon *d, const uint8_t *data, size_t size)
{
	struct client c = {.fd = connect_to(cfg.socket_path)};
	size_t sent = 0;
	bool shut = false;
	unsigned idle = 0;

	while (!c.eof) {
		bool progress = false;
		int r;

		if (!shut && sent < size) {
			ssize_t n = send(c.fd, data + sent, size - sent,
					 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				sent += (size_t)n;
				progress = true;
			} else if (n < 0 && errno != EAGAIN &&
				   errno != EWOULDBLOCK && errno != EINTR) {
				/* closed after a request that was too long */
				require(errno == EPIPE || errno == ECONNRESET);
				shut = true;
			}
		}
		if (!shut && sent == size) {
			require(shutdown(c.fd, SHUT_WR) == 0);
			shut = true;
		}
		progress = client_recv(&c) || progress;
		require(ctl_server_clients(d->ctl) <= 1);
		r = sd_event_run(d->ev, progress ? 0 : 10000);
		require(r >= 0);
		if (progress || r > 0)
			idle = 0;
		else if (++idle > MAX_IDLE_TURNS) {
			fprintf(stderr,
				"fuzz_ctl: the server neither answers nor "
				"closes (%zu of %zu bytes sent, %u lines)\n",
				sent, size, c.lines);
			abort();
		}
	}
	require(c.len == 0); /* no unterminated line */
	/* Closed: the server let go of the client. */
	require(ctl_server_clients(d->ctl) == 0);
	if (c.subscribed)
		require(c.lines >= 1 + expected_answers(data, size));
	else if (c.lines != 1 + expected_answers(data, size)) {
		fprintf(stderr, "fuzz_ctl: %u lines received, expected %u\n",
			c.lines, 1 + expected_answers(data, size));
		abort();
	}
	close(c.fd);
	free(c.buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	struct daemon d;
	char err[512];
	sigset_t mask;

	if (!dir[0])
		setup();
	if (daemon_init(&d, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_ctl: daemon_init: %s\n", err);
		abort();
	}
	/* daemon_init blocked these for its signalfd; libFuzzer needs them
	 * (a SIGTERM or Ctrl-C must still stop a run). */
	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&mask, sigs[i]);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
	converse(&d, data, size);
	daemon_fini(&d);
	rm_state();
	return 0;
}
