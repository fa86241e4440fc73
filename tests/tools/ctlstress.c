/* SPDX-License-Identifier: MIT */
/*
 * ctlstress.c - a control-socket client that misbehaves on purpose, for
 * tests/e2e/socket_abuse.sh. Each mode is one kind of abuse, or (probe) one
 * well-behaved client that measures the daemon while others abuse it. A
 * mode checks every answer the server gives, prints its figures as
 * KEY=VALUE on one line of stdout and exits 0 when the server behaved as
 * doc/protocol.md says, 1 when it did not (the reasons on stderr), 2 on a
 * usage error.
 *
 *   ctlstress SOCKET garbage
 *   ctlstress SOCKET long-line [BYTES]
 *   ctlstress SOCKET flood CLIENTS [EXPECTED_GREETINGS]
 *   ctlstress SOCKET deaf-subscriber TIMEOUT_S
 *   ctlstress SOCKET probe SECONDS INTERVAL_MS DEADLINE_MS POLL_MS
 *   ctlstress SOCKET rate SECONDS RATE REQUEST
 *
 * The probe paces its requests (one round every INTERVAL_MS) and times,
 * through a subscription, the scan rounds of a daemon polling every
 * POLL_MS. Every wait is poll() on the sockets with a deadline.
 *
 * rate is load for bench/load.sh: one client sending REQUEST (e.g.
 * "batteries") RATE times a second, on a fixed schedule, each answer read
 * before the next request (a late answer delays the schedule: the figure
 * printed is the rate reached).
 */
#include <errno.h>
#include <jansson.h>
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

#define PROG       "ctlstress"
#define BUF_SIZE   (64 * 1024) /* larger than any answer we ask for */
#define IO_TIMEOUT 10000.0     /* ms: a server that stays silent this long */
#define MAX_PORTS  64
#define PREFILL    2000 /* requests a deaf subscriber pipelines */

struct conn {
	int fd;
	int err; /* errno of a failed recv (ECONNRESET), or 0 */
	bool eof;
	size_t len;
	char buf[BUF_SIZE];
};

static const char *mode = "";
static unsigned failures;

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG " %s: FAIL: ", mode);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int ms_left(double deadline)
{
	double left = deadline - now_ms();

	return left <= 0 ? 0 : (int)left + 1;
}

/* ---- connections ------------------------------------------------------- */

/* Connect (non-blocking); a full backlog (EAGAIN) is retried until the
 * deadline. NULL with errno set on failure. */
static struct conn *conn_open(const char *path, double deadline)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct conn *c;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	while (c->fd >= 0 &&
	       connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EAGAIN || ms_left(deadline) == 0) {
			int e = errno;
			close(c->fd);
			free(c);
			errno = e;
			return NULL;
		}
		poll(NULL, 0, 2); /* the server drains its backlog */
	}
	if (c->fd < 0) {
		free(c);
		return NULL;
	}
	return c;
}

static void conn_close(struct conn *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c);
}

/* Wait for and receive more: >0 bytes, 0 end of stream, -1 timeout. */
static int conn_fill(struct conn *c, double deadline)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	ssize_t n;

	if (c->eof)
		return 0;
	if (c->len == sizeof(c->buf)) {
		bad("a line longer than %zu bytes", sizeof(c->buf));
		return -1;
	}
	for (;;) {
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len,
			 MSG_DONTWAIT);
		if (n > 0) {
			c->len += (size_t)n;
			return (int)n;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			c->err = n < 0 ? errno : 0;
			c->eof = true; /* a reset ends the stream too */
			return 0;
		}
		if (poll(&p, 1, ms_left(deadline)) == 0)
			return -1;
	}
}

/* The next line (without LF): 1, 0 at the end of the stream, -1 timeout. */
static int conn_line(struct conn *c, char *line, size_t cap, double deadline)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		int r;

		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			if (n >= cap)
				n = cap - 1;
			memcpy(line, c->buf, n);
			line[n] = '\0';
			c->len -= (size_t)(nl - c->buf) + 1;
			memmove(c->buf, nl + 1, c->len);
			return 1;
		}
		r = conn_fill(c, deadline);
		if (r <= 0)
			return r;
	}
}

/* Send all of it: 0, -1 timeout, -2 the server closed the connection. */
static int conn_send(struct conn *c, const void *buf, size_t n, double deadline,
		     size_t *sent)
{
	struct pollfd p = {.fd = c->fd, .events = POLLOUT};
	size_t off = 0;
	int ret = 0;

	while (off < n) {
		ssize_t r = send(c->fd, (const char *)buf + off, n - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r >= 0) {
			off += (size_t)r;
			continue;
		}
		if (errno == EPIPE || errno == ECONNRESET) {
			ret = -2;
			break;
		}
		if (errno != EAGAIN && errno != EINTR) {
			bad("send: %s", strerror(errno));
			ret = -2;
			break;
		}
		if (poll(&p, 1, ms_left(deadline)) == 0) {
			ret = -1;
			break;
		}
	}
	if (sent)
		*sent = off;
	return ret;
}

static int conn_send_str(struct conn *c, const char *s)
{
	return conn_send(c, s, strlen(s), now_ms() + IO_TIMEOUT, NULL);
}

/* ---- messages ---------------------------------------------------------- */

/* A protocol message: a JSON object with a string "type"; NULL if not. */
static json_t *msg_parse(const char *line)
{
	json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, NULL);

	if (!json_is_object(o) || !json_is_string(json_object_get(o, "type"))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Is the line a message of this type (and, for "error", this code, with
 * a message text)? */
static bool msg_is(const char *line, const char *type, const char *error)
{
	json_t *o = msg_parse(line);
	bool ok = o && strcmp(json_string_value(json_object_get(o, "type")),
			      type) == 0;

	if (ok && error) {
		const char *e = json_string_value(json_object_get(o, "error"));
		ok = e && strcmp(e, error) == 0 &&
		     json_is_string(json_object_get(o, "message"));
	}
	json_decref(o);
	return ok;
}

/* Read one line and check it; false (and a failure) otherwise. */
static bool expect_msg(struct conn *c, const char *type, const char *error,
		       const char *what)
{
	static char line[BUF_SIZE];
	int r = conn_line(c, line, sizeof(line), now_ms() + IO_TIMEOUT);

	if (r < 0) {
		bad("%s: no answer within %.0f s", what, IO_TIMEOUT / 1e3);
		return false;
	}
	if (r == 0) {
		bad("%s: the server closed the connection (%s)", what,
		    c->err ? strerror(c->err) : "EOF");
		return false;
	}
	if (!msg_is(line, type, error)) {
		bad("%s: expected %s%s%s, got: %.200s", what, type,
		    error ? " " : "", error ? error : "", line);
		return false;
	}
	return true;
}

/* The server closes the connection without sending anything more. */
static bool expect_closed(struct conn *c, const char *what)
{
	char line[256];
	int r = conn_line(c, line, sizeof(line), now_ms() + IO_TIMEOUT);

	if (r == 0 && c->len == 0)
		return true;
	if (r < 0)
		bad("%s: the server did not close the connection", what);
	else
		bad("%s: more after the last answer: %.100s", what,
		    r > 0 ? line : c->buf);
	return false;
}

/*
 * A greeted connection. "busy" is the server's documented answer while
 * all its slots are taken ("try again later"): right after a flood the
 * server may not have seen every hang-up yet, so a well-behaved client
 * tries again, for at most IO_TIMEOUT.
 */
static struct conn *open_greeted(const char *path)
{
	double deadline = now_ms() + IO_TIMEOUT;
	static char line[BUF_SIZE];

	for (;;) {
		struct conn *c = conn_open(path, deadline);
		int r;

		if (!c) {
			bad("connect %s: %s", path, strerror(errno));
			return NULL;
		}
		r = conn_line(c, line, sizeof(line), deadline);
		if (r > 0 && msg_is(line, "hello", NULL))
			return c;
		conn_close(c);
		if (r <= 0 || !msg_is(line, "error", "busy") ||
		    now_ms() >= deadline) {
			bad("greeting: expected hello, got: %.200s",
			    r > 0 ? line : "nothing");
			return NULL;
		}
		usleep(20000);
	}
}

/* ---- garbage ----------------------------------------------------------- */

struct garbage_case {
	const char *what;
	const char *bytes; /* one line, LF included */
	size_t len;
	const char *error;
};

#define CASE(w, s, e)                                                          \
	{                                                                      \
		w, s, sizeof(s) - 1, e                                         \
	}

static const struct garbage_case garbage_cases[] = {
	CASE("invalid UTF-8", "\xff\xfe status\n", "bad-request"),
	CASE("NUL byte", "sta\0tus\n", "bad-request"),
	CASE("only a NUL byte", "\0\n", "bad-request"),
	CASE("escape sequence", "\x1b[2Jstatus\n", "bad-request"),
	CASE("DEL", "status\x7f\n", "bad-request"),
	CASE("overlong UTF-8 '/'", "\xc0\xaf\n", "bad-request"),
	CASE("UTF-16 surrogate", "\xed\xa0\x80\n", "bad-request"),
	CASE("above U+10FFFF", "\xf4\x90\x80\x80\n", "bad-request"),
	CASE("truncated sequence", "status \xe2\x82\n", "bad-request"),
	CASE("17 words", "a b c d e f g h i j k l m n o p q\n", "bad-request"),
	CASE("unknown command in UTF-8", "st\xc3\xa5tus\n", "unknown-command"),
	CASE("no such battery", "battery 999\n", "invalid-argument"),
	CASE("battery without N", "battery\n", "invalid-argument"),
	CASE("status with an argument", "status now\n", "invalid-argument"),
};

#define NOISE_LEN 4000 /* random bytes: one line within CTL_MAX_REQUEST */

/* Random bytes (a fixed seed: the same noise every run), made one line
 * that cannot be valid text. */
static void noise_line(char *buf, size_t n)
{
	uint32_t x = 0x2545f491;

	for (size_t i = 0; i < n - 1; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (char)(x & 0xff);
		if (buf[i] == '\n')
			buf[i] = '\xff';
	}
	buf[0] = '\xff';
	buf[n - 1] = '\n';
}

static int run_garbage(const char *path)
{
	size_t ncases = sizeof(garbage_cases) / sizeof(garbage_cases[0]);
	static char noise[NOISE_LEN + 1];
	struct conn *c = open_greeted(path);
	char all[1024];
	size_t len = 0;

	if (!c)
		return 1;
	/* every case in one write: pipelined, answered in order */
	for (size_t i = 0; i < ncases; i++) {
		memcpy(all + len, garbage_cases[i].bytes, garbage_cases[i].len);
		len += garbage_cases[i].len;
	}
	noise_line(noise, sizeof(noise));
	if (conn_send(c, all, len, now_ms() + IO_TIMEOUT, NULL) < 0 ||
	    conn_send(c, noise, sizeof(noise), now_ms() + IO_TIMEOUT, NULL) < 0)
		bad("the server did not take the requests");
	for (size_t i = 0; i < ncases && !failures; i++)
		expect_msg(c, "error", garbage_cases[i].error,
			   garbage_cases[i].what);
	if (!failures)
		expect_msg(c, "error", "bad-request", "4000 random bytes");
	/* the connection is still good */
	if (!failures && conn_send_str(c, "version\n") == 0)
		expect_msg(c, "version", NULL, "version after the garbage");
	printf("garbage_cases=%zu failures=%u\n", ncases + 1, failures);
	conn_close(c);
	return failures ? 1 : 0;
}

/* ---- one long line ----------------------------------------------------- */

static int run_long_line(const char *path, size_t bytes)
{
	struct conn *c = open_greeted(path);
	char *big;
	size_t sent = 0;
	int r;

	if (!c)
		return 1;
	big = malloc(bytes);
	if (!big) {
		conn_close(c);
		return 1;
	}
	memset(big, 'x', bytes);
	big[bytes - 1] = '\n';
	r = conn_send(c, big, bytes, now_ms() + IO_TIMEOUT, &sent);
	free(big);
	/* The server reads a line's worth, answers and hangs up: the client
	 * cannot have got the whole megabyte through. */
	if (r == -1)
		bad("the server neither read nor closed within %.0f s",
		    IO_TIMEOUT / 1e3);
	else if (r == 0 && bytes >= 1024 * 1024)
		bad("the server took all %zu bytes", bytes);
	if (expect_msg(c, "error", "request-too-long", "long line"))
		expect_closed(c, "after request-too-long");
	printf("line_bytes=%zu sent_before_close=%zu failures=%u\n", bytes,
	       sent, failures);
	conn_close(c);
	return failures ? 1 : 0;
}

/* ---- many clients at once ---------------------------------------------- */

/* The first line of a new connection: 1 greeting, 0 busy, -1 other. */
static int first_line(struct conn *c, unsigned i)
{
	static char line[BUF_SIZE];
	int r = conn_line(c, line, sizeof(line), now_ms() + IO_TIMEOUT);

	if (r <= 0) {
		bad("client %u: no first line (%s)", i,
		    r < 0 ? "timeout" : "closed");
		return -1;
	}
	if (msg_is(line, "hello", NULL))
		return 1;
	if (msg_is(line, "error", "busy"))
		return 0;
	bad("client %u: neither a greeting nor busy: %.200s", i, line);
	return -1;
}

static int run_flood(const char *path, unsigned n, int expect)
{
	struct conn **c = calloc(n, sizeof(*c));
	bool *greeted = calloc(n, sizeof(*greeted));
	unsigned hello = 0, busy = 0, answered = 0;

	if (!c || !greeted)
		return 1;
	/* all connected before any is read: 200 clients at once */
	for (unsigned i = 0; i < n && !failures; i++) {
		c[i] = conn_open(path, now_ms() + IO_TIMEOUT);
		if (!c[i])
			bad("client %u: connect: %s", i, strerror(errno));
	}
	for (unsigned i = 0; i < n && !failures; i++) {
		int r = first_line(c[i], i);

		greeted[i] = r == 1;
		hello += r == 1;
		busy += r == 0;
		if (r == 0)
			expect_closed(c[i], "a busy client");
	}
	/* every admitted client is served, all at once */
	for (unsigned i = 0; i < n && !failures; i++) {
		if (greeted[i] && conn_send_str(c[i], "status\n") < 0)
			bad("client %u: cannot send", i);
	}
	for (unsigned i = 0; i < n && !failures; i++) {
		if (greeted[i] && expect_msg(c[i], "status", NULL, "status"))
			answered++;
	}
	if (!failures && hello > CTL_MAX_CLIENTS)
		bad("%u clients admitted, the limit is %d", hello,
		    CTL_MAX_CLIENTS);
	if (!failures && expect >= 0 && hello != (unsigned)expect)
		bad("%u clients admitted, expected %d", hello, expect);
	if (!failures && hello + busy != n)
		bad("%u greetings + %u busy != %u clients", hello, busy, n);
	printf("clients=%u greeted=%u busy=%u answered=%u failures=%u\n", n,
	       hello, busy, answered, failures);
	for (unsigned i = 0; i < n; i++)
		conn_close(c[i]);
	free(c);
	free(greeted);
	return failures ? 1 : 0;
}

/* ---- a subscriber that never reads ------------------------------------- */

/* Subscribe, ask for answers it will never read, then wait (without
 * reading) until the server hangs up. */
static int run_deaf(const char *path, double timeout_s)
{
	static const char req[] = "settings\n";
	struct conn *c = open_greeted(path);
	struct pollfd p = {.events = POLLRDHUP};
	double start, dropped = -1;
	char *reqs;
	size_t unread = 0;
	unsigned statuses = 0;

	if (!c)
		return 1;
	p.fd = c->fd;
	reqs = malloc(PREFILL * (sizeof(req) - 1));
	for (size_t i = 0; reqs && i < PREFILL; i++)
		memcpy(reqs + i * (sizeof(req) - 1), req, sizeof(req) - 1);
	start = now_ms();
	if (!reqs || conn_send_str(c, "subscribe\n") < 0 ||
	    conn_send(c, reqs, PREFILL * (sizeof(req) - 1), start + IO_TIMEOUT,
		      NULL) < 0)
		bad("cannot send the requests");
	free(reqs);
	fprintf(stdout, "SUBSCRIBED\n");
	fflush(stdout);
	while (!failures && dropped < 0) {
		int r = poll(&p, 1, ms_left(start + timeout_s * 1e3));

		if (r == 0)
			bad("still connected after %.0f s", timeout_s);
		else if (p.revents & (POLLHUP | POLLRDHUP | POLLERR))
			dropped = now_ms() - start;
	}
	/* what the server had sent before it gave up: now read it */
	while (!failures) {
		char line[BUF_SIZE];
		int r = conn_line(c, line, sizeof(line), now_ms() + IO_TIMEOUT);

		if (r <= 0)
			break;
		unread += strlen(line) + 1;
		statuses += msg_is(line, "status", NULL);
	}
	unread += c->len; /* a last, cut line */
	printf("dropped_after_ms=%.0f unread_bytes=%zu broadcasts=%u "
	       "failures=%u\n",
	       dropped, unread, statuses, failures);
	conn_close(c);
	return failures ? 1 : 0;
}

/* ---- a well-behaved client that measures ------------------------------- */

/*
 * Two connections: one asks (status and ports, timed), one is subscribed
 * and reads every pushed status as it comes. The daemon scans all ports on
 * one timer and pushes a status after each port's scan, so the pushes come
 * in rounds, one per poll interval; the time between the starts of two
 * rounds is the scan period as a client sees it.
 */
struct probe {
	struct conn *sub;
	double poll_ms;
	unsigned requests, late;
	double max_ms, sum_ms, deadline_ms;
	double max_scan_s; /* longest scan any port reported */
	unsigned nports;
	double t_scans; /* when the ports answer was read */
	/* pushed statuses */
	unsigned pushes, periods;
	double last_push, round_start, max_period, min_period;
};

/* A pushed status arrived at t: a new round when the previous push is
 * more than half a poll interval ago. */
static void probe_pushed(struct probe *pr, double t)
{
	pr->pushes++;
	if (pr->round_start > 0 && t - pr->last_push > pr->poll_ms / 2) {
		double period = t - pr->round_start;

		if (period > pr->max_period)
			pr->max_period = period;
		if (pr->periods == 0 || period < pr->min_period)
			pr->min_period = period;
		pr->periods++;
		pr->round_start = t;
	} else if (pr->round_start == 0) {
		pr->round_start = t;
	}
	pr->last_push = t;
}

/* Read what the subscription has now. */
static void probe_drain(struct probe *pr)
{
	static char line[BUF_SIZE];
	int r;

	while ((r = conn_line(pr->sub, line, sizeof(line), now_ms())) == 1) {
		if (msg_is(line, "status", NULL))
			probe_pushed(pr, now_ms());
		else if (!msg_is(line, "subscribed", NULL))
			bad("subscription: unexpected %.200s", line);
	}
	if (r == 0 && !failures)
		bad("the server closed the subscription (%s)",
		    pr->sub->err ? strerror(pr->sub->err) : "EOF");
}

/* Until c has a line (1), ends (0) or the deadline (-1), reading the
 * subscription as it comes. c may be NULL: just wait. */
static int probe_wait(struct probe *pr, struct conn *c, char *line, size_t cap,
		      double deadline)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = pr->sub->fd, .events = POLLIN},
				      {.fd = c ? c->fd : -1, .events = POLLIN}};
		int r;

		probe_drain(pr);
		if (c && (r = conn_line(c, line, cap, now_ms())) >= 0)
			return r;
		if (ms_left(deadline) == 0 || failures)
			return -1;
		poll(p, 2, ms_left(deadline));
	}
}

/* One request, its answer checked and timed; the answer (or NULL). */
static json_t *probe_ask(struct probe *pr, struct conn *c, const char *req,
			 const char *type)
{
	static char line[BUF_SIZE];
	double t0 = now_ms(), dt;
	json_t *o;
	int r;

	if (conn_send_str(c, req) < 0) {
		bad("cannot send %s", req);
		return NULL;
	}
	r = probe_wait(pr, c, line, sizeof(line), t0 + IO_TIMEOUT);
	dt = now_ms() - t0;
	pr->requests++;
	pr->sum_ms += dt;
	if (dt > pr->max_ms)
		pr->max_ms = dt;
	if (dt > pr->deadline_ms)
		pr->late++;
	if (r <= 0) {
		bad("no answer to %.*s (%s)", (int)strlen(req) - 1, req,
		    r < 0 ? "timeout" : "closed");
		return NULL;
	}
	o = msg_parse(line);
	if (!o ||
	    strcmp(json_string_value(json_object_get(o, "type")), type) != 0) {
		bad("expected %s, got: %.200s", type, line);
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Ports: the scan counters (into scans, unless NULL) and the longest scan
 * duration seen so far. */
static void probe_ports(struct probe *pr, struct conn *c, json_int_t *scans)
{
	json_t *o = probe_ask(pr, c, "ports\n", "ports");
	json_t *ports = json_object_get(o, "ports"), *p;
	size_t i;

	pr->t_scans = now_ms();
	json_array_foreach(ports, i, p)
	{
		json_t *last = json_object_get(p, "last_scan");

		if (i >= MAX_PORTS)
			break;
		if (scans)
			scans[i] =
				json_integer_value(json_object_get(p, "scans"));
		if (json_is_number(last) &&
		    json_number_value(last) > pr->max_scan_s)
			pr->max_scan_s = json_number_value(last);
	}
	pr->nports = (unsigned)(json_array_size(ports) < MAX_PORTS
					? json_array_size(ports)
					: MAX_PORTS);
	json_decref(o);
}

static void probe_status(struct probe *pr, struct conn *c)
{
	json_t *o = probe_ask(pr, c, "status\n", "status");

	if (o && !json_is_false(json_object_get(o, "stale")))
		bad("the bank is stale: the scans fell behind");
	json_decref(o);
}

static double probe_min_rate(const struct probe *pr, const json_int_t *first,
			     const json_int_t *last, double t_first)
{
	double min_rate = -1;

	for (unsigned i = 0; i < pr->nports; i++) {
		double rate = (double)(last[i] - first[i]) * 1e3 /
			      (pr->t_scans - t_first);
		if (min_rate < 0 || rate < min_rate)
			min_rate = rate;
	}
	return min_rate;
}

static void probe_report(const struct probe *pr, double min_rate)
{
	printf("requests=%u max_ms=%.1f mean_ms=%.2f late=%u "
	       "max_scan_ms=%.1f ports=%u min_scans_per_s=%.2f pushes=%u "
	       "periods=%u min_period_ms=%.1f max_period_ms=%.1f "
	       "failures=%u\n",
	       pr->requests, pr->max_ms,
	       pr->requests ? pr->sum_ms / pr->requests : 0.0, pr->late,
	       pr->max_scan_s * 1e3, pr->nports, min_rate, pr->pushes,
	       pr->periods, pr->min_period, pr->max_period, failures);
	/* the figures are out before the connections close: a script that
	 * has not seen them knows the probe is still connected */
	fflush(stdout);
}

static int run_probe(const char *path, double seconds, double interval_ms,
		     double deadline_ms, double poll_ms)
{
	struct probe pr = {.deadline_ms = deadline_ms, .poll_ms = poll_ms};
	json_int_t first[MAX_PORTS] = {0}, last[MAX_PORTS] = {0};
	double t_first, end, next;
	struct conn *c = open_greeted(path);

	pr.sub = c ? open_greeted(path) : NULL;
	if (!pr.sub) {
		conn_close(c);
		return 1;
	}
	if (conn_send_str(pr.sub, "subscribe\n") < 0)
		bad("cannot subscribe");
	probe_ports(&pr, c, first);
	t_first = pr.t_scans;
	printf("READY\n");
	fflush(stdout);
	end = now_ms() + seconds * 1e3;
	for (next = now_ms(); !failures && now_ms() < end;
	     next += interval_ms) {
		probe_status(&pr, c);
		probe_ports(&pr, c, NULL);
		probe_wait(&pr, NULL, NULL, 0, next + interval_ms);
	}
	probe_ports(&pr, c, last);
	if (pr.late)
		bad("%u of %u answers took longer than %.0f ms (max %.1f ms)",
		    pr.late, pr.requests, deadline_ms, pr.max_ms);
	if (pr.periods < 2)
		bad("only %u scan rounds seen through the subscription",
		    pr.periods);
	probe_report(&pr, probe_min_rate(&pr, first, last, t_first));
	conn_close(pr.sub);
	conn_close(c);
	return failures ? 1 : 0;
}

/* ---- rate ------------------------------------------------------------ */

static int run_rate(const char *path, double seconds, double rate,
		    const char *req)
{
	static char line[BUF_SIZE];
	struct conn *c = open_greeted(path);
	char msg[256];
	double t0, next, end;
	unsigned long n = 0, errors = 0;

	if (!c)
		return 1;
	snprintf(msg, sizeof(msg), "%s\n", req);
	t0 = now_ms();
	end = t0 + seconds * 1e3;
	for (next = t0; now_ms() < end; next += 1e3 / rate) {
		int r;

		if (next > now_ms())
			poll(NULL, 0, ms_left(next));
		if (conn_send_str(c, msg) < 0) {
			bad("cannot send %s", req);
			break;
		}
		r = conn_line(c, line, sizeof(line), now_ms() + IO_TIMEOUT);
		if (r <= 0) {
			bad("no answer to %s (%s)", req,
			    r < 0 ? "timeout" : "closed");
			break;
		}
		n++;
		if (strncmp(line, "{\"type\":\"error\"", 16) == 0)
			errors++;
	}
	printf("requests=%lu rate=%.0f errors=%lu\n", n,
	       (double)n * 1e3 / (now_ms() - t0), errors);
	conn_close(c);
	if (errors)
		bad("%lu error answers to %s", errors, req);
	return failures ? 1 : 0;
}

/* ---- main -------------------------------------------------------------- */

static int usage(void)
{
	fprintf(stderr,
		"usage: " PROG " SOCKET garbage\n"
		"       " PROG " SOCKET long-line [BYTES]\n"
		"       " PROG " SOCKET flood CLIENTS [EXPECTED_GREETINGS]\n"
		"       " PROG " SOCKET deaf-subscriber TIMEOUT_S\n"
		"       " PROG
		" SOCKET probe SECONDS INTERVAL_MS DEADLINE_MS POLL_MS\n"
		"       " PROG " SOCKET rate SECONDS RATE REQUEST\n");
	return 2;
}

/* A positive number, or -1. */
static double number(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	return errno || end == s || *end || !(v > 0) ? -1 : v;
}

int main(int argc, char **argv)
{
	const char *path;
	double a, b, c, d;

	if (argc < 3)
		return usage();
	path = argv[1];
	mode = argv[2];
	if (strcmp(mode, "garbage") == 0 && argc == 3)
		return run_garbage(path);
	if (strcmp(mode, "long-line") == 0 && argc <= 4) {
		a = argc == 4 ? number(argv[3]) : 1024 * 1024;
		return a >= 2 ? run_long_line(path, (size_t)a) : usage();
	}
	if (strcmp(mode, "flood") == 0 && (argc == 4 || argc == 5)) {
		a = number(argv[3]);
		b = argc == 5 ? number(argv[4]) : -1;
		if (a < 1 || a > 10000 || (argc == 5 && b < 1))
			return usage();
		return run_flood(path, (unsigned)a, argc == 5 ? (int)b : -1);
	}
	if (strcmp(mode, "deaf-subscriber") == 0 && argc == 4) {
		a = number(argv[3]);
		return a > 0 ? run_deaf(path, a) : usage();
	}
	if (strcmp(mode, "probe") == 0 && argc == 7) {
		a = number(argv[3]);
		b = number(argv[4]);
		c = number(argv[5]);
		d = number(argv[6]);
		if (a < 0 || b < 0 || c < 0 || d < 0)
			return usage();
		return run_probe(path, a, b, c, d);
	}
	if (strcmp(mode, "rate") == 0 && argc == 6) {
		a = number(argv[3]);
		b = number(argv[4]);
		if (a < 0 || b < 0 || strlen(argv[5]) > 200)
			return usage();
		return run_rate(path, a, b, argv[5]);
	}
	return usage();
}
