/* SPDX-License-Identifier: MIT */
/*
 * sim_link_tcp.c - a line behind an RS485-to-TCP gateway (see sim_link.h).
 *
 * A gateway serves one TCP client; when a client connects while another
 * is connected, the new one wins (a restarted daemon must not wait for
 * the old connection to time out). Bytes are delivered as they arrive,
 * with no framing, exactly as from a pty.
 */
#include "sim_link.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct tcp_link {
	struct sim_link base; /* first */
	int listener;
	int client;
	sd_event *ev;
	sd_event_source *accept_io;
	sd_event_source *client_io;
};

static void drop_client(struct tcp_link *t)
{
	t->client_io = sd_event_source_disable_unref(t->client_io);
	if (t->client >= 0)
		close(t->client);
	t->client = -1;
}

static int client_io(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	struct tcp_link *t = data;
	uint8_t buf[512];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			t->base.rx(t->base.rx_ctx, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		break; /* end of file or a real error */
	}
	fprintf(stderr, "bmssim: %s: client gone\n", t->base.path);
	drop_client(t);
	return 0;
}

static int accept_io(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	struct tcp_link *t = data;
	int one = 1;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (c < 0)
		return 0; /* the client gave up already: keep listening */
	if (t->client >= 0)
		fprintf(stderr, "bmssim: %s: new client replaces the old\n",
			t->base.path);
	drop_client(t);
	/* Small frames go out at once, as on a serial line. */
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t->client = c;
	if (sd_event_add_io(t->ev, &t->client_io, c, EPOLLIN, client_io, t) <
	    0) {
		fprintf(stderr, "bmssim: %s: cannot watch the client\n",
			t->base.path);
		drop_client(t);
	}
	return 0;
}

static int tcp_start(struct sim_link *l, sd_event *ev)
{
	struct tcp_link *t = (struct tcp_link *)l;

	t->ev = ev;
	return sd_event_add_io(ev, &t->accept_io, t->listener, EPOLLIN,
			       accept_io, t);
}

static ssize_t tcp_send(struct sim_link *l, const uint8_t *buf, size_t len)
{
	struct tcp_link *t = (struct tcp_link *)l;
	ssize_t n;

	if (t->client < 0) {
		errno = ENOTCONN;
		return -1;
	}
	do
		n = send(t->client, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n;
}

static void tcp_close(struct sim_link *l)
{
	struct tcp_link *t = (struct tcp_link *)l;

	drop_client(t);
	t->accept_io = sd_event_source_disable_unref(t->accept_io);
	if (t->listener >= 0)
		close(t->listener);
	free(t);
}

static const struct sim_link_ops tcp_ops = {
	.kind = "tcp",
	.banner = "TCP",
	.start = tcp_start,
	.send = tcp_send,
	.close = tcp_close,
};

/* Split "HOST:PORT" or "[HOST]:PORT"; -1 if malformed. */
static int split(const char *hostport, char *host, size_t hostlen, char *port,
		 size_t portlen)
{
	const char *colon = strrchr(hostport, ':');
	size_t n;

	if (!colon || !colon[1] || strlen(colon + 1) >= portlen ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	strcpy(port, colon + 1);
	n = (size_t)(colon - hostport);
	if (n >= 2 && hostport[0] == '[' && hostport[n - 1] == ']') {
		hostport++;
		n -= 2;
	}
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, hostport, n);
	host[n] = '\0';
	return 0;
}

/* Bind and listen on the first address that works. */
static int listen_on(const char *host, const char *port, char *err,
		     size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res, *ai;
	int fd = -1, e = 0, one = 1;
	int r = getaddrinfo(host, port, &hints, &res);

	if (r != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
		    listen(fd, 4) < 0) {
			e = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errlen, "listen on %s:%s: %s", host, port,
			 strerror(e));
	return fd;
}

/* The numeric address actually bound, for the banner and the state file. */
static int bound_name(int fd, char *out, size_t outlen, char *err,
		      size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port,
			sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(err, errlen, "cannot name the listening socket");
		return -1;
	}
	snprintf(out, outlen, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
		 host, port);
	return 0;
}

struct sim_link *sim_link_tcp_open(const char *hostport, char *err,
				   size_t errlen)
{
	char host[256], port[8];
	struct tcp_link *t;

	if (split(hostport, host, sizeof(host), port, sizeof(port)) < 0 ||
	    atol(port) > 65535) {
		snprintf(err, errlen, "'%s' is not HOST:PORT", hostport);
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->base.ops = &tcp_ops;
	t->client = -1;
	t->listener = listen_on(host, port, err, errlen);
	if (t->listener < 0 ||
	    bound_name(t->listener, t->base.path, sizeof(t->base.path), err,
		       errlen) < 0) {
		tcp_close(&t->base);
		return NULL;
	}
	return &t->base;
}
