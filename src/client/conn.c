/* SPDX-License-Identifier: MIT */
/*
 * conn.c - smallbmsctl's side of the control socket: connect with a
 * deadline, check the daemon's greeting, send one request line, read
 * answer lines (doc/protocol.md). Every failure is said on stderr and
 * comes back as an exit status (client.h).
 */
#include "conn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "wire.h"

int64_t conn_now_ms(void)
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
	left = c->deadline_ms - conn_now_ms();

	return left > 0 ? (int)left : 0;
}

static int timed_out(const struct conn *c)
{
	return client_fail(EX_PROTOCOL,
			   "no answer from smallbmsd on %s within %d s",
			   c->path, CONN_TIMEOUT_MS / 1000);
}

/*
 * A blocking connect bounded by SO_SNDTIMEO (a Unix socket connect waits
 * only when the listener's backlog is full), then non-blocking I/O.
 */
int conn_open(struct conn *c)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int ms = remaining_ms(c);
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	int e;

	if (strlen(c->path) >= sizeof(sa.sun_path))
		return client_fail(EX_USAGE, "socket path %s is too long",
				   c->path);
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return client_fail(EX_CONNECT, "socket: %s", strerror(errno));
	if (setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return client_fail(EX_CONNECT, "socket: %s", strerror(errno));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return EX_OK;
	e = errno;
	if (e == EACCES || e == EPERM)
		return client_fail(EX_PERMISSION,
				   "permission denied on %s (only root and the "
				   "socket's group may connect)",
				   c->path);
	if (e == EAGAIN || e == EINPROGRESS || e == ETIMEDOUT || e == EINTR)
		return timed_out(c);
	return client_fail(EX_CONNECT,
			   "cannot connect to %s: %s (is smallbmsd running?)",
			   c->path, strerror(e));
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
			return client_fail(EX_PROTOCOL, "sending to %s: %s",
					   c->path, strerror(errno));
		buf += r;
		n -= (size_t)r;
	}
	return EX_OK;
}

/* Read one line into *line (NUL-terminated, without the LF). The buffer
 * keeps what follows it. */
int conn_read_line(struct conn *c, char **line)
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

			if (cap > CTL_MAX_OUTPUT + 1)
				return client_fail(
					EX_PROTOCOL,
					"answer longer than %d bytes",
					CTL_MAX_OUTPUT);
			b = realloc(c->buf, cap);
			if (!b)
				return client_fail(EX_PROTOCOL,
						   "out of memory");
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
			return client_fail(EX_PROTOCOL, "reading from %s: %s",
					   c->path, strerror(errno));
		if (r == 0)
			return client_fail(
				EX_PROTOCOL,
				"smallbmsd closed the connection on %s "
				"without an answer",
				c->path);
		c->len += (size_t)r;
	}
}

/* A JSON object with a string "type". */
int conn_parse_answer(const char *line, json_t **out, const char **type)
{
	json_error_t jerr;
	json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);

	if (!o || !json_is_object(o) ||
	    !json_is_string(json_object_get(o, "type"))) {
		json_decref(o);
		return client_fail(EX_PROTOCOL, "not a protocol message: %.80s",
				   line);
	}
	*out = o;
	*type = json_string_value(json_object_get(o, "type"));
	return EX_OK;
}

/* {"type":"error"}: say it; permission-denied has its own exit status. */
int conn_error_answer(const json_t *o)
{
	const char *code = json_string_value(json_object_get(o, "error"));
	const char *msg = json_string_value(json_object_get(o, "message"));

	client_fail(EX_ANSWER, "%s", msg ? msg : code ? code : "error");
	return code && strcmp(code, "permission-denied") == 0 ? EX_PERMISSION
							      : EX_ANSWER;
}

int conn_hello(struct conn *c)
{
	const char *type;
	json_t *o, *proto;
	char *line;
	int r;

	r = conn_read_line(c, &line);
	if (r == EX_OK)
		r = conn_parse_answer(line, &o, &type);
	if (r != EX_OK)
		return r;
	proto = json_object_get(o, "protocol");
	if (strcmp(type, "error") == 0)
		r = conn_error_answer(o); /* e.g. busy */
	else if (strcmp(type, "hello") != 0 || !json_is_integer(proto))
		r = client_fail(EX_PROTOCOL, "%s does not greet like smallbmsd",
				c->path);
	else if (json_integer_value(proto) != CTL_PROTOCOL_VERSION)
		r = client_fail(EX_PROTOCOL,
				"smallbmsd speaks protocol %lld, this " PROG
				" speaks %d",
				(long long)json_integer_value(proto),
				CTL_PROTOCOL_VERSION);
	json_decref(o);
	return r;
}

int conn_request(struct conn *c, int argc, char **argv)
{
	char req[CTL_MAX_REQUEST + 2];
	size_t n = 0;

	for (int i = 0; i < argc; i++) {
		size_t w = strlen(argv[i]);

		if (n + w + 2 > sizeof(req))
			return client_fail(EX_USAGE, "the command is too long");
		if (i > 0)
			req[n++] = ' ';
		memcpy(req + n, argv[i], w);
		n += w;
	}
	req[n++] = '\n';
	return conn_write(c, req, n);
}

void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}
