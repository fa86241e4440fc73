/* SPDX-License-Identifier: MIT */
/*
 * test_ctl.c - the control socket server, driven in-process: the test owns
 * the sd-event loop and runs it (sd_event_run) between the steps of
 * non-blocking clients on the same socket. No sleeps: a wait is the event
 * loop waiting for its own sockets or timers.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "evprio.h"

#ifndef PACKAGE_VERSION
#error "PACKAGE_VERSION is not defined: build with config.h"
#endif

#define HELLO                                                                  \
	"{\"type\":\"hello\",\"protocol\":1,\"server\":\"smallbmsd\","         \
	"\"version\":\"" PACKAGE_VERSION "\"}"
#define BAD_REQUEST                                                            \
	"{\"type\":\"error\",\"error\":\"bad-request\",\"message\":\"a "       \
	"request is UTF-8 text without control characters or NUL bytes\"}"
#define TOO_LONG                                                               \
	"{\"type\":\"error\",\"error\":\"request-too-long\","                  \
	"\"message\":\"request longer than 4096 bytes\"}"

#define CLIENT_BUF (128 * 1024)
#define MAX_TRIES  400 /* loop iterations before a wait counts as failed */

static char tmpdir[64];
static char sock_path[128];
static sd_event *ev;
static struct ctl_server *srv;

struct client {
	int fd;
	size_t len;
	char buf[CLIENT_BUF];
};

/* ---- the handler ------------------------------------------------------ */

static json_t *argv_json(int argc, char **argv)
{
	json_t *a = json_array();

	for (int i = 0; i < argc; i++)
		json_array_append_new(a, json_string(argv[i]));
	return json_pack("{s:s,s:o}", "type", "echo", "argv", a);
}

static json_t *big_json(const char *arg)
{
	size_t n = strtoul(arg, NULL, 10);
	char *s = malloc(n + 1);
	json_t *o;

	memset(s, 'b', n);
	s[n] = '\0';
	o = json_pack("{s:s,s:s}", "type", "big", "data", s);
	free(s);
	return o;
}

/* Broadcast n messages from inside the handler (a "set" that notifies). */
static json_t *flood(const char *arg)
{
	unsigned long n = strtoul(arg, NULL, 10);
	json_t *m = json_pack("{s:s,s:s}", "type", "event", "pad",
			      "0123456789012345678901234567890123456789");

	for (unsigned long i = 0; i < n; i++)
		ctl_server_broadcast(srv, m);
	json_decref(m);
	return json_pack("{s:s}", "type", "flooded");
}

static json_t *handler(void *userdata, const struct ctl_peer *peer, int argc,
		       char **argv)
{
	int *calls = userdata;

	(*calls)++;
	if (strcmp(argv[0], "echo") == 0)
		return argv_json(argc, argv);
	if (strcmp(argv[0], "status") == 0)
		return json_pack("{s:s,s:f,s:f,s:b}", "type", "status",
				 "voltage", 53.25, "power", -664.1, "stale", 0);
	if (strcmp(argv[0], "whoami") == 0)
		return json_pack("{s:s,s:I,s:I,s:I}", "type", "peer", "pid",
				 (json_int_t)peer->pid, "uid",
				 (json_int_t)peer->uid, "gid",
				 (json_int_t)peer->gid);
	if (strcmp(argv[0], "admin") == 0)
		return json_pack("{s:s,s:b}", "type", "admin", "admin",
				 peer->admin);
	if (strcmp(argv[0], "subscribe") == 0) {
		ctl_client_subscribe(peer->client, true);
		return json_pack("{s:s,s:b}", "type", "subscribed", "on",
				 ctl_client_subscribed(peer->client));
	}
	if (strcmp(argv[0], "null") == 0)
		return NULL;
	if (strcmp(argv[0], "big") == 0 && argc == 2)
		return big_json(argv[1]);
	if (strcmp(argv[0], "flood") == 0 && argc == 2)
		return flood(argv[1]);
	return ctl_error("unknown-command", "unknown command '%s'", argv[0]);
}

static int calls;

/* ---- loop and client helpers ----------------------------------------- */

/* Dispatch everything that is ready now. */
static void pump(void)
{
	for (int i = 0; i < 100000; i++) {
		int r = sd_event_run(ev, 0);
		ck_assert_int_ge(r, 0);
		if (r == 0)
			return;
	}
	ck_abort_msg("event loop never settles");
}

/* Wait (in the loop) for something to happen, at most 20 ms. */
static void wait_loop(void)
{
	ck_assert_int_ge(sd_event_run(ev, 20000), 0);
	pump();
}

static void make_path(const char *name)
{
	static int n;

	snprintf(sock_path, sizeof(sock_path), "%s/%s-%d-%d.sock", tmpdir, name,
		 (int)getpid(), n++);
}

static void start_server(void)
{
	char err[256] = "";

	calls = 0;
	ck_assert_int_ge(sd_event_new(&ev), 0);
	make_path("ctl");
	srv = ctl_server_new(ev, sock_path, handler, &calls, err, sizeof(err));
	ck_assert_msg(srv != NULL, "ctl_server_new: %s", err);
}

static void stop_server(void)
{
	ctl_server_free(srv);
	srv = NULL;
	sd_event_unref(ev);
	ev = NULL;
}

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
		      "connect %s: %s", path, strerror(errno));
	return fd;
}

static struct client *client_open_raw(void)
{
	struct client *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	c->fd = raw_connect(sock_path);
	return c;
}

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

/* Take one line from what was received; false if none yet. */
static bool take_line(struct client *c, char *line, size_t cap)
{
	char *nl = memchr(c->buf, '\n', c->len);
	size_t n;

	if (!nl)
		return false;
	n = (size_t)(nl - c->buf);
	ck_assert_uint_lt(n, cap);
	memcpy(line, c->buf, n);
	line[n] = '\0';
	c->len -= n + 1;
	memmove(c->buf, nl + 1, c->len);
	return true;
}

/* Receive what is there: >0 bytes, 0 at EOF, -1 nothing now, -2 reset. */
static int client_recv(struct client *c)
{
	ssize_t n;

	ck_assert_uint_lt(c->len, sizeof(c->buf));
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -1;
	if (n < 0 && errno == ECONNRESET)
		return -2;
	ck_assert_msg(n >= 0, "recv: %s", strerror(errno));
	c->len += (size_t)n;
	return (int)n;
}

/* The next line, running the loop until it arrives. */
static void read_line(struct client *c, char *line, size_t cap)
{
	for (int i = 0; i < MAX_TRIES; i++) {
		int r;

		if (take_line(c, line, cap))
			return;
		r = client_recv(c);
		ck_assert_msg(r != 0 && r != -2, "connection closed");
		if (r < 0)
			wait_loop();
	}
	ck_abort_msg("no line from the server");
}

static void expect_line(struct client *c, const char *want)
{
	static char line[CLIENT_BUF];

	read_line(c, line, sizeof(line));
	ck_assert_str_eq(line, want);
}

/* The server closes the connection, with no further line. */
static void expect_closed(struct client *c)
{
	for (int i = 0; i < MAX_TRIES; i++) {
		int r = client_recv(c);

		ck_assert_msg(c->len == 0, "unexpected data: %.*s", (int)c->len,
			      c->buf);
		if (r == 0 || r == -2)
			return;
		wait_loop();
	}
	ck_abort_msg("the server did not close the connection");
}

static struct client *client_open(void)
{
	struct client *c = client_open_raw();

	expect_line(c, HELLO);
	return c;
}

/* Send all of buf, running the loop while the socket is full. Returns the
 * bytes sent, which is less when the server closed the connection. */
static size_t send_all(struct client *c, const char *buf, size_t n)
{
	size_t off = 0;
	int stuck = 0;

	while (off < n) {
		ssize_t r = send(c->fd, buf + off, n - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0 && (errno == EPIPE || errno == ECONNRESET))
			break;
		if (r < 0) {
			ck_assert_msg(errno == EAGAIN, "send: %s",
				      strerror(errno));
			ck_assert_int_lt(stuck++, MAX_TRIES);
			wait_loop();
			continue;
		}
		stuck = 0;
		off += (size_t)r;
	}
	pump();
	return off;
}

static void send_str(struct client *c, const char *s)
{
	ck_assert_uint_eq(send_all(c, s, strlen(s)), strlen(s));
}

/* ---- tests ------------------------------------------------------------ */

START_TEST(test_hello)
{
	struct client *c = client_open();

	ck_assert_uint_eq(ctl_server_clients(srv), 1);
	ck_assert_int_eq(calls, 0);
	client_close(c);
}
END_TEST

START_TEST(test_request_answer)
{
	struct client *c = client_open();

	send_str(c, "echo a b\n");
	expect_line(c, "{\"type\":\"echo\",\"argv\":[\"echo\",\"a\",\"b\"]}");
	send_str(c, "status\n");
	/* reals as written, not 17 digits (-664.10000000000002) */
	expect_line(c, "{\"type\":\"status\",\"voltage\":53.25,"
		       "\"power\":-664.1,\"stale\":false}");
	/* blanks: any run of spaces and tabs, leading and trailing too */
	send_str(c, " \t echo \t x   y \t\n");
	expect_line(c, "{\"type\":\"echo\",\"argv\":[\"echo\",\"x\",\"y\"]}");
	send_str(c, "nosuch\n");
	expect_line(c, "{\"type\":\"error\",\"error\":\"unknown-command\","
		       "\"message\":\"unknown command 'nosuch'\"}");
	ck_assert_int_eq(calls, 4);
	client_close(c);
}
END_TEST

START_TEST(test_crlf)
{
	struct client *c = client_open();

	send_str(c, "echo x\r\n");
	expect_line(c, "{\"type\":\"echo\",\"argv\":[\"echo\",\"x\"]}");
	/* a CR anywhere else is a control character */
	send_str(c, "echo a\rb\n");
	expect_line(c, BAD_REQUEST);
	client_close(c);
}
END_TEST

START_TEST(test_empty_lines)
{
	struct client *c = client_open();

	send_str(c, "\n\r\n \t \n\n");
	send_str(c, "echo y\n");
	expect_line(c, "{\"type\":\"echo\",\"argv\":[\"echo\",\"y\"]}");
	ck_assert_int_eq(calls, 1);
	client_close(c);
}
END_TEST

START_TEST(test_pipelined_and_split)
{
	struct client *c = client_open();

	send_str(c, "echo 1\necho 2\r\necho 3\n");
	expect_line(c, "{\"type\":\"echo\",\"argv\":[\"echo\",\"1\"]}");
	expect_line(c, "{\"type\":\"echo\",\"argv\":[\"echo\",\"2\"]}");
	expect_line(c, "{\"type\":\"echo\",\"argv\":[\"echo\",\"3\"]}");
	send_str(c, "ec");
	ck_assert_int_eq(calls, 3);
	send_str(c, "ho z");
	ck_assert_int_eq(calls, 3);
	send_str(c, "\n");
	expect_line(c, "{\"type\":\"echo\",\"argv\":[\"echo\",\"z\"]}");
	client_close(c);
}
END_TEST

START_TEST(test_garbage)
{
	static const struct {
		const char *bytes;
		size_t len;
	} bad[] = {
		{"\xff\xfe\x80\n", 4},           {"echo a\0b\n", 9},
		{"echo \xc0\xaf\n", 8},          /* overlong '/' */
		{"echo \xed\xa0\x80\n", 9},      /* surrogate */
		{"echo \xf4\x90\x80\x80\n", 10}, /* above U+10FFFF */
		{"echo \xe2\x82\n", 8},          /* truncated */
		{"echo \x1b[2J\n", 10},          /* escape */
	};
	struct client *c = client_open();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_uint_eq(send_all(c, bad[i].bytes, bad[i].len),
				  bad[i].len);
		expect_line(c, BAD_REQUEST);
	}
	ck_assert_int_eq(calls, 0);
	/* still served, and real UTF-8 passes through untouched */
	send_str(c, "echo Grüße €\n");
	expect_line(c, "{\"type\":\"echo\",\"argv\":[\"echo\",\"Grüße\","
		       "\"€\"]}");
	client_close(c);
}
END_TEST

START_TEST(test_too_many_words)
{
	struct client *c = client_open();

	send_str(c, "echo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n");
	expect_line(c, "{\"type\":\"echo\",\"argv\":[\"echo\",\"1\",\"2\","
		       "\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\","
		       "\"11\",\"12\",\"13\",\"14\",\"15\"]}");
	send_str(c, "echo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n");
	expect_line(c, "{\"type\":\"error\",\"error\":\"bad-request\","
		       "\"message\":\"too many words in the request\"}");
	ck_assert_int_eq(calls, 1);
	client_close(c);
}
END_TEST

/* "echo " and x's up to exactly len bytes of request. */
static char *long_request(size_t len, const char *end)
{
	char *s = malloc(len + strlen(end) + 1);

	memcpy(s, "echo ", 5);
	memset(s + 5, 'x', len - 5);
	strcpy(s + len, end);
	return s;
}

START_TEST(test_request_limit)
{
	struct client *c = client_open();
	char *ok = long_request(CTL_MAX_REQUEST, "\r\n");
	char *over = long_request(CTL_MAX_REQUEST + 1, "\n");
	static char line[CLIENT_BUF];

	/* exactly CTL_MAX_REQUEST bytes, even with CR LF, is fine */
	send_str(c, ok);
	read_line(c, line, sizeof(line));
	ck_assert_uint_eq(strlen(line), CTL_MAX_REQUEST + 29);
	ck_assert_int_eq(strncmp(line,
				 "{\"type\":\"echo\",\"argv\":[\"echo\","
				 "\"xxx",
				 32),
			 0);
	/* one more byte is not */
	send_str(c, over);
	expect_line(c, TOO_LONG);
	expect_closed(c);
	free(ok);
	free(over);
	client_close(c);
}
END_TEST

START_TEST(test_one_mib_line)
{
	size_t big = 1024 * 1024;
	char *junk = malloc(big);
	struct client *a = client_open(), *b = client_open();
	size_t sent;

	memset(junk, 'x', big);
	sent = send_all(a, junk, big);
	/* the server read no more than a line's worth, then hung up */
	ck_assert_uint_lt(sent, big);
	expect_line(a, TOO_LONG);
	expect_closed(a);
	ck_assert_uint_eq(ctl_server_clients(srv), 1);
	send_str(b, "echo still\n");
	expect_line(b, "{\"type\":\"echo\",\"argv\":[\"echo\",\"still\"]}");
	ck_assert_int_eq(calls, 1);
	free(junk);
	client_close(a);
	client_close(b);
}
END_TEST

START_TEST(test_busy)
{
	struct client *c[CTL_MAX_CLIENTS + 1];

	/* These clients are admins, so the reserved slots take them too. */
	ctl_server_set_admin_group(srv, getegid());
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		c[i] = client_open();
	ck_assert_uint_eq(ctl_server_clients(srv), CTL_MAX_CLIENTS);
	c[CTL_MAX_CLIENTS] = client_open_raw();
	expect_line(c[CTL_MAX_CLIENTS],
		    "{\"type\":\"error\",\"error\":\"busy\",\"message\":"
		    "\"too many clients (64); try again later\"}");
	expect_closed(c[CTL_MAX_CLIENTS]);
	ck_assert_uint_eq(ctl_server_clients(srv), CTL_MAX_CLIENTS);
	/* the others are unaffected; a freed slot can be taken again */
	send_str(c[0], "echo 0\n");
	expect_line(c[0], "{\"type\":\"echo\",\"argv\":[\"echo\",\"0\"]}");
	client_close(c[1]);
	pump();
	ck_assert_uint_eq(ctl_server_clients(srv), CTL_MAX_CLIENTS - 1);
	c[1] = client_open();
	for (int i = 0; i <= CTL_MAX_CLIENTS; i++)
		client_close(c[i]);
}
END_TEST

/* Read every complete line available now; count the broadcasts. */
static unsigned drain_events(struct client *c)
{
	static char line[CLIENT_BUF];
	unsigned n = 0;

	for (;;) {
		while (take_line(c, line, sizeof(line))) {
			ck_assert_str_eq(line, "{\"type\":\"event\",\"n\":1}");
			n++;
		}
		if (client_recv(c) <= 0)
			return n;
	}
}

START_TEST(test_slow_subscriber_dropped)
{
	struct client *slow = client_open(), *fast = client_open();
	struct client *plain = client_open();
	json_t *ev_msg = json_pack("{s:s,s:i}", "type", "event", "n", 1);
	unsigned sent = 0, got = 0;

	send_str(slow, "subscribe\n");
	expect_line(slow, "{\"type\":\"subscribed\",\"on\":true}");
	send_str(fast, "subscribe\n");
	expect_line(fast, "{\"type\":\"subscribed\",\"on\":true}");
	ck_assert_uint_eq(ctl_server_subscribers(srv), 2);
	/* slow never reads again; 23 bytes a line, 256 KiB queue */
	while (ctl_server_clients(srv) == 3) {
		ck_assert_uint_lt(sent, 200000);
		ctl_server_broadcast(srv, ev_msg);
		sent++;
		pump();
		got += drain_events(fast);
	}
	/* dropped only once its queue was really full */
	ck_assert_uint_gt(sent * 23, CTL_MAX_OUTPUT);
	ck_assert_uint_eq(ctl_server_subscribers(srv), 1);
	got += drain_events(fast);
	ck_assert_uint_eq(got, sent);
	/* slow was the one dropped: it sees only broadcasts, then the end */
	for (;;) {
		int r;

		slow->len = 0; /* only the end matters */
		r = client_recv(slow);
		if (r <= 0) {
			ck_assert_int_ne(r, -1);
			break;
		}
	}
	/* the unsubscribed client got none of it and is still served */
	send_str(plain, "echo p\n");
	expect_line(plain, "{\"type\":\"echo\",\"argv\":[\"echo\",\"p\"]}");
	send_str(fast, "echo f\n");
	expect_line(fast, "{\"type\":\"echo\",\"argv\":[\"echo\",\"f\"]}");
	json_decref(ev_msg);
	client_close(slow);
	client_close(fast);
	client_close(plain);
}
END_TEST

START_TEST(test_broadcast_from_handler)
{
	struct client *c = client_open(), *other = client_open();

	send_str(c, "subscribe\n");
	expect_line(c, "{\"type\":\"subscribed\",\"on\":true}");
	send_str(c, "flood 2\n");
	/* broadcasts made while answering come before the answer */
	expect_line(c, "{\"type\":\"event\",\"pad\":"
		       "\"0123456789012345678901234567890123456789\"}");
	expect_line(c, "{\"type\":\"event\",\"pad\":"
		       "\"0123456789012345678901234567890123456789\"}");
	expect_line(c, "{\"type\":\"flooded\"}");
	/* a flood that overflows the requester's own queue drops it safely */
	send_str(c, "flood 100000\n");
	ck_assert_uint_eq(ctl_server_clients(srv), 1);
	send_str(other, "echo o\n");
	expect_line(other, "{\"type\":\"echo\",\"argv\":[\"echo\",\"o\"]}");
	client_close(c);
	client_close(other);
}
END_TEST

START_TEST(test_throttle_not_drop)
{
	/* 20 answers of 32 KiB: 640 KiB, far over CTL_MAX_OUTPUT, asked
	 * for at once by a client that reads only afterwards */
	struct client *c = client_open();
	static char line[CLIENT_BUF];
	char req[20 * 10 + 1] = "";

	for (int i = 0; i < 20; i++)
		strcat(req, "big 32768\n");
	send_str(c, req);
	ck_assert_int_lt(calls, 20); /* it stopped reading requests */
	for (int i = 0; i < 20; i++) {
		read_line(c, line, sizeof(line));
		ck_assert_uint_eq(strlen(line), 32768 + 24);
	}
	ck_assert_int_eq(calls, 20);
	ck_assert_uint_eq(ctl_server_clients(srv), 1);
	client_close(c);
}
END_TEST

START_TEST(test_peer_credentials)
{
	struct client *c = client_open();
	char want[160];

	snprintf(want, sizeof(want),
		 "{\"type\":\"peer\",\"pid\":%d,\"uid\":%u,\"gid\":%u}",
		 (int)getpid(), (unsigned)getuid(), (unsigned)getgid());
	send_str(c, "whoami\n");
	expect_line(c, want);
	client_close(c);
}
END_TEST

/* ---- who may change state ------------------------------------------- */

#define ADMIN_GID 4242  /* the admin group in these tests */
#define OTHER_GID 4243  /* a group that is not */
#define NOBODY    65534 /* an unprivileged uid and gid */
#define MANY      300   /* more groups than a small buffer holds */
#define ADMIN_YES "{\"type\":\"admin\",\"admin\":true}"
#define ADMIN_NO  "{\"type\":\"admin\",\"admin\":false}"

/* Ask the server whether this connection may change state. */
static void expect_admin(struct client *c, bool want)
{
	send_str(c, "admin\n");
	expect_line(c, want ? ADMIN_YES : ADMIN_NO);
}

/*
 * Connect with other credentials (needs root): effective uid and gid and
 * the supplementary groups are switched for the connect() only, which is
 * when the kernel records them for SO_PEERCRED and SO_PEERGROUPS.
 */
static struct client *client_open_as_raw(uid_t uid, gid_t gid,
					 const gid_t *groups, size_t n)
{
	gid_t saved[256];
	int nsaved = getgroups(256, saved);
	gid_t egid = getegid();
	struct client *c = calloc(1, sizeof(*c));
	int r;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_ge(nsaved, 0);
	/* the unprivileged uid must reach the socket */
	ck_assert_int_eq(chmod(tmpdir, 0711), 0);
	ck_assert_int_eq(chmod(sock_path, 0666), 0);
	ck_assert_int_eq(setgroups(n, groups), 0);
	ck_assert_int_eq(setegid(gid), 0);
	ck_assert_int_eq(seteuid(uid), 0);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	{
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
		r = connect(c->fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	ck_assert_int_eq(seteuid(0), 0);
	ck_assert_int_eq(setegid(egid), 0);
	ck_assert_int_eq(setgroups((size_t)nsaved, saved), 0);
	ck_assert_int_eq(chmod(tmpdir, 0700), 0);
	ck_assert_msg(r == 0, "connect as uid %u: %s", (unsigned)uid,
		      strerror(errno));
	return c;
}

static struct client *client_open_as(uid_t uid, gid_t gid, const gid_t *groups,
				     size_t n)
{
	struct client *c = client_open_as_raw(uid, gid, groups, n);

	expect_line(c, HELLO);
	return c;
}

/*
 * SO_PEERGROUPS (Linux 4.13) is what the server reads supplementary groups
 * with; qemu-user (the ARM test legs) does not translate it, and the
 * server then fails safe (not an admin). Tests of supplementary groups
 * need it from the kernel they run on.
 */
static bool peergroups_supported(const char *test)
{
	gid_t got[256], want[256];
	socklen_t len = sizeof(got);
	int sv[2], r, n = getgroups(256, want);
	bool ok;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	r = getsockopt(sv[0], SOL_SOCKET, SO_PEERGROUPS, got, &len);
	close(sv[0]);
	close(sv[1]);
	/* It must work and give back exactly our own groups; and under
	 * qemu-user (the ARM legs say so) groups set for a connect() do not
	 * reach the peer's SO_PEERGROUPS at all. */
	ok = r == 0 && n >= 0 && len == (socklen_t)n * sizeof(gid_t) &&
	     !getenv("SMALLBMS_QEMU_USER");
	for (int i = 0; ok && i < n; i++)
		ok = got[i] == want[i];
	if (!ok)
		fprintf(stderr,
			"test_ctl: %s: SO_PEERGROUPS does not work here "
			"(qemu-user?), skipped\n",
			test);
	return ok;
}

/* The parts that switch credentials run as root (as in CI) only. */
static bool need_root(const char *test)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr,
		"test_ctl: %s: needs root to switch credentials, skipped\n",
		test);
	return false;
}

/* A connection with these credentials is (or is not) an admin. */
static void expect_admin_as(uid_t uid, gid_t gid, const gid_t *groups, size_t n,
			    bool want)
{
	struct client *c = client_open_as(uid, gid, groups, n);

	expect_admin(c, want);
	client_close(c);
}

START_TEST(test_admin_default)
{
	/* without an admin group, root only */
	struct client *c = client_open();

	expect_admin(c, geteuid() == 0);
	client_close(c);
	if (need_root(__func__)) {
		gid_t g[] = {ADMIN_GID};
		expect_admin_as(NOBODY, NOBODY, g, 1, false);
	}
}
END_TEST

START_TEST(test_admin_primary_group)
{
	struct client *c;

	ctl_server_set_admin_group(srv, getegid());
	c = client_open();
	expect_admin(c, true);
	client_close(c);
	if (need_root(__func__)) {
		ctl_server_set_admin_group(srv, ADMIN_GID);
		expect_admin_as(NOBODY, ADMIN_GID, NULL, 0, true);
		expect_admin_as(NOBODY, OTHER_GID, NULL, 0, false);
	}
}
END_TEST

START_TEST(test_admin_supplementary_group)
{
	gid_t member[] = {OTHER_GID, ADMIN_GID}, stranger[] = {OTHER_GID};
	struct client *c;

	if (!need_root(__func__) || !peergroups_supported(__func__))
		return;
	ctl_server_set_admin_group(srv, ADMIN_GID);
	expect_admin_as(NOBODY, NOBODY, member, 2, true);
	c = client_open_as(NOBODY, NOBODY, stranger, 1);
	expect_admin(c, false);
	/* a new admin group applies to connections accepted afterwards */
	ctl_server_set_admin_group(srv, OTHER_GID);
	expect_admin(c, false);
	client_close(c);
	expect_admin_as(NOBODY, NOBODY, stranger, 1, true);
}
END_TEST

START_TEST(test_admin_many_groups)
{
	/* A member of the admin group who is also in 300 others (a
	 * directory service): the kernel cannot fit that many into a small
	 * buffer and says ERANGE; the member must still be recognised. */
	static gid_t g[MANY];

	if (!need_root(__func__) || !peergroups_supported(__func__))
		return;
	for (unsigned i = 0; i < MANY; i++)
		g[i] = 100000 + i;
	ctl_server_set_admin_group(srv, ADMIN_GID);
	expect_admin_as(NOBODY, NOBODY, g, MANY, false);
	g[MANY - 1] = ADMIN_GID;
	expect_admin_as(NOBODY, NOBODY, g, MANY, true);
}
END_TEST

START_TEST(test_admin_slots_reserved)
{
	/* Readers filling the socket cannot lock an administrator out: the
	 * last CTL_ADMIN_RESERVED slots take root and the admin group only. */
	struct client *c[CTL_MAX_CLIENTS + 1];
	gid_t stranger[] = {OTHER_GID};
	int n = CTL_MAX_CLIENTS - CTL_ADMIN_RESERVED;

	if (!need_root(__func__))
		return;
	ctl_server_set_admin_group(srv, ADMIN_GID);
	for (int i = 0; i < n - 1; i++)
		c[i] = client_open();
	c[n - 1] = client_open_as(NOBODY, NOBODY, stranger, 1); /* fits */
	c[n] = client_open_as_raw(NOBODY, NOBODY, stranger, 1);
	expect_line(c[n], "{\"type\":\"error\",\"error\":\"busy\",\"message\":"
			  "\"too many clients (64); try again later\"}");
	expect_closed(c[n]);
	client_close(c[n]);
	c[n] = client_open_as(NOBODY, ADMIN_GID, NULL, 0); /* an admin: in */
	expect_admin(c[n], true);
	ck_assert_uint_eq(ctl_server_clients(srv), (unsigned)n + 1);
	for (int i = 0; i <= n; i++)
		client_close(c[i]);
}
END_TEST

START_TEST(test_null_answer)
{
	struct client *c = client_open();

	send_str(c, "null\n");
	expect_line(c, "{\"type\":\"error\",\"error\":\"internal\","
		       "\"message\":\"internal error answering 'null'\"}");
	send_str(c, "echo after\n");
	expect_line(c, "{\"type\":\"echo\",\"argv\":[\"echo\",\"after\"]}");
	client_close(c);
}
END_TEST

/* ---- the loop's priorities (evprio.h) ---------------------------------- */

/* Stands for a battery port: what the handler had been called for when
 * the port's data was dispatched. */
static int calls_at_port = -1;

static int on_port(sd_event_source *s, int fd, uint32_t revents, void *u)
{
	eventfd_t v;

	(void)eventfd_read(fd, &v);
	calls_at_port = calls;
	return 0;
}

/* Makes the port readable, one turn after the client's request became
 * pending: with equal priorities the request, pending longer, would go
 * first. */
static int on_kick(sd_event_source *s, int fd, uint32_t revents, void *u)
{
	eventfd_t v;

	(void)eventfd_read(fd, &v);
	ck_assert_int_eq(eventfd_write(*(int *)u, 1), 0);
	return 0;
}

/* A battery's answer is handled before a control request that was
 * already waiting: clients cannot hold back a decision (#18). */
START_TEST(test_protection_before_clients)
{
	struct client *c = client_open();
	int port = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	sd_event_source *ps = NULL, *ks = NULL;

	ck_assert_int_ge(port, 0);
	ck_assert_int_ge(kick, 0);
	ck_assert_int_ge(sd_event_add_io(ev, &ps, port, EPOLLIN, on_port, NULL),
			 0);
	ck_assert_int_ge(sd_event_source_set_priority(ps, EVPRIO_PROTECT), 0);
	ck_assert_int_ge(
		sd_event_add_io(ev, &ks, kick, EPOLLIN, on_kick, &port), 0);
	ck_assert_int_ge(
		sd_event_source_set_priority(ks, SD_EVENT_PRIORITY_IMPORTANT),
		0);
	calls = 0;
	calls_at_port = -1;
	ck_assert_int_eq(send(c->fd, "echo x\n", 7, MSG_NOSIGNAL), 7);
	ck_assert_int_eq(eventfd_write(kick, 1), 0);
	pump();
	ck_assert_int_eq(calls, 1); /* the request was answered... */
	ck_assert_msg(calls_at_port == 0,
		      "the port's data waited for a client's request");
	expect_line(c, "{\"type\":\"echo\",\"argv\":[\"echo\",\"x\"]}");
	sd_event_source_disable_unref(ps);
	sd_event_source_disable_unref(ks);
	close(port);
	close(kick);
	client_close(c);
}
END_TEST

START_TEST(test_half_close)
{
	struct client *c = client_open();

	/* printf 'echo last' | socat - UNIX-CONNECT:... */
	send_str(c, "echo 1\necho last");
	ck_assert_int_eq(shutdown(c->fd, SHUT_WR), 0);
	pump();
	expect_line(c, "{\"type\":\"echo\",\"argv\":[\"echo\",\"1\"]}");
	expect_line(c, "{\"type\":\"echo\",\"argv\":[\"echo\",\"last\"]}");
	expect_closed(c);
	ck_assert_uint_eq(ctl_server_clients(srv), 0);
	client_close(c);
}
END_TEST

START_TEST(test_idle_timeout)
{
	struct client *sub = client_open();
	struct client *idle;

	ck_assert_uint_eq(ctl_server_subscribers(srv), 0); /* connected */
	send_str(sub, "subscribe\n");
	expect_line(sub, "{\"type\":\"subscribed\",\"on\":true}");
	ck_assert_uint_eq(ctl_server_subscribers(srv), 1);
	ctl_server_set_idle_timeout(srv, 1000);
	idle = client_open();
	expect_closed(idle);
	for (int i = 0; i < 5; i++)
		wait_loop();
	/* subscribers wait for broadcasts: they are never idle */
	ck_assert_uint_eq(ctl_server_clients(srv), 1);
	send_str(sub, "echo s\n");
	expect_line(sub, "{\"type\":\"echo\",\"argv\":[\"echo\",\"s\"]}");
	client_close(sub);
	client_close(idle);
}
END_TEST

START_TEST(test_socket_file)
{
	struct stat st;

	ck_assert_int_eq(stat(sock_path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	ctl_server_free(srv);
	srv = NULL;
	ck_assert_int_eq(stat(sock_path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_live_socket_refuses)
{
	char err[256] = "", want[256];
	struct ctl_server *second;
	struct client *c;

	second = ctl_server_new(ev, sock_path, handler, &calls, err,
				sizeof(err));
	ck_assert_ptr_null(second);
	snprintf(want, sizeof(want), "another smallbmsd is listening on %s",
		 sock_path);
	ck_assert_str_eq(err, want);
	/* the first server still owns its socket */
	c = client_open();
	client_close(c);
}
END_TEST

/* ---- socket files without a running server ---------------------------- */

static void no_server_setup(void)
{
	ck_assert_int_ge(sd_event_new(&ev), 0);
	calls = 0;
}

static void no_server_teardown(void)
{
	ctl_server_free(srv);
	srv = NULL;
	sd_event_unref(ev);
	ev = NULL;
}

START_TEST(test_stale_socket_replaced)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char err[256] = "";
	struct client *c;
	int fd;

	make_path("stale");
	ck_assert_uint_lt(strlen(sock_path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd); /* a crashed daemon: the file stays, nobody listens */
	srv = ctl_server_new(ev, sock_path, handler, &calls, err, sizeof(err));
	ck_assert_msg(srv != NULL, "ctl_server_new: %s", err);
	c = client_open();
	client_close(c);
}
END_TEST

START_TEST(test_not_a_socket)
{
	char err[256] = "", want[256];
	struct stat st;
	FILE *f;

	make_path("file");
	f = fopen(sock_path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("precious\n", f);
	fclose(f);
	srv = ctl_server_new(ev, sock_path, handler, &calls, err, sizeof(err));
	ck_assert_ptr_null(srv);
	snprintf(want, sizeof(want), "%s exists and is not a socket",
		 sock_path);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(stat(sock_path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_size, 9);
}
END_TEST

START_TEST(test_missing_directory)
{
	char err[256] = "", want[256];

	snprintf(sock_path, sizeof(sock_path), "%s/nodir/x.sock", tmpdir);
	srv = ctl_server_new(ev, sock_path, handler, &calls, err, sizeof(err));
	ck_assert_ptr_null(srv);
	snprintf(want, sizeof(want), "cannot bind %s: %s", sock_path,
		 strerror(ENOENT));
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_path_too_long)
{
	char err[256] = "", path[200];

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	srv = ctl_server_new(ev, path, handler, &calls, err, sizeof(err));
	ck_assert_ptr_null(srv);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "too long (at most 107 bytes)"));
}
END_TEST

START_TEST(test_ctl_error)
{
	json_t *e =
		ctl_error("invalid-argument", "no battery '%s' (%d)", "9", 3);
	char *s = json_dumps(e, JSON_COMPACT);

	ck_assert_str_eq(s,
			 "{\"type\":\"error\",\"error\":\"invalid-argument\","
			 "\"message\":\"no battery '9' (3)\"}");
	free(s);
	json_decref(e);
	/* bytes from a battery that are not UTF-8 never break the answer */
	e = ctl_error("x", "model %s", "A\xff\xc3.B");
	ck_assert_str_eq(json_string_value(json_object_get(e, "message")),
			 "model A??.B");
	json_decref(e);
	/* no connection: subscribing is a no-op */
	ctl_client_subscribe(NULL, true);
	ck_assert(!ctl_client_subscribed(NULL));
}
END_TEST

static Suite *ctl_suite(void)
{
	Suite *s = suite_create("ctl");
	TCase *tc = tcase_create("protocol");
	TCase *files = tcase_create("socket-file");

	tcase_add_checked_fixture(tc, start_server, stop_server);
	tcase_add_test(tc, test_hello);
	tcase_add_test(tc, test_request_answer);
	tcase_add_test(tc, test_crlf);
	tcase_add_test(tc, test_empty_lines);
	tcase_add_test(tc, test_pipelined_and_split);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_too_many_words);
	tcase_add_test(tc, test_request_limit);
	tcase_add_test(tc, test_one_mib_line);
	tcase_add_test(tc, test_busy);
	tcase_add_test(tc, test_slow_subscriber_dropped);
	tcase_add_test(tc, test_broadcast_from_handler);
	tcase_add_test(tc, test_throttle_not_drop);
	tcase_add_test(tc, test_peer_credentials);
	tcase_add_test(tc, test_admin_default);
	tcase_add_test(tc, test_admin_primary_group);
	tcase_add_test(tc, test_admin_supplementary_group);
	tcase_add_test(tc, test_admin_many_groups);
	tcase_add_test(tc, test_admin_slots_reserved);
	tcase_add_test(tc, test_null_answer);
	tcase_add_test(tc, test_half_close);
	tcase_add_test(tc, test_protection_before_clients);
	tcase_add_test(tc, test_idle_timeout);
	tcase_add_test(tc, test_socket_file);
	tcase_add_test(tc, test_live_socket_refuses);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(files, no_server_setup, no_server_teardown);
	tcase_add_test(files, test_stale_socket_replaced);
	tcase_add_test(files, test_not_a_socket);
	tcase_add_test(files, test_missing_directory);
	tcase_add_test(files, test_path_too_long);
	tcase_add_test(files, test_ctl_error);
	suite_add_tcase(s, files);
	return s;
}

static void remove_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char p[512];
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(tmpdir);
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	SRunner *sr;
	int failed;

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_ctl.XXXXXX",
		 base && base[0] && strlen(base) < 40 ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	sr = srunner_create(ctl_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_tmpdir();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
