/* SPDX-License-Identifier: MIT */
/*
 * transport_tcp.c - RS485-to-TCP gateways ("tcp://HOST:PORT").
 *
 * The connection is made without blocking the event loop: connect()
 * returns at once and the socket becomes writable when it is up. Until
 * then writes report EAGAIN, so the chain's request times out and is
 * retried like an unanswered one; a refused or dropped connection is a
 * read or write error, which makes the chain close the port and open it
 * again later with back-off.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport.h"

#define TCP_PREFIX "tcp://"

struct tcp_transport {
	struct transport t;
	bool connected;
};

/* Has the non-blocking connect finished? 1 yes, 0 not yet, -1 failed. */
static int tcp_check_connected(struct tcp_transport *tt)
{
	struct pollfd p = {.fd = tt->t.fd, .events = POLLOUT};
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (tt->connected)
		return 1;
	if (poll(&p, 1, 0) <= 0)
		return 0;
	if (getsockopt(tt->t.fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return -1;
	if (soerr) {
		errno = soerr;
		return -1;
	}
	tt->connected = true;
	return 1;
}

static ssize_t tcp_read(struct transport *t, void *buf, size_t len)
{
	ssize_t n = recv(t->fd, buf, len, MSG_DONTWAIT);

	/* A refused connect shows up as readable with ECONNREFUSED. */
	return n;
}

static ssize_t tcp_write(struct transport *t, const void *buf, size_t len)
{
	struct tcp_transport *tt = (struct tcp_transport *)t;
	int c = tcp_check_connected(tt);

	if (c < 0)
		return -1;
	if (c == 0) {
		errno = EAGAIN;
		return -1;
	}
	return send(t->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Drop whatever the gateway already sent: a late answer to an earlier
 * request must not be taken for the answer to the next one. */
static void tcp_flush(struct transport *t)
{
	char buf[256];

	while (recv(t->fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void tcp_close(struct transport *t)
{
	close(t->fd);
	free(t);
}

static const struct transport_ops tcp_ops = {
	.kind = "tcp",
	.read = tcp_read,
	.write = tcp_write,
	.flush = tcp_flush,
	.close = tcp_close,
};

bool transport_is_tcp(const char *spec)
{
	return spec && strncmp(spec, TCP_PREFIX, strlen(TCP_PREFIX)) == 0;
}

/* Split "tcp://HOST:PORT" (HOST may be "[v6]"). */
static int split_spec(const char *spec, char *host, size_t hostlen, char *port,
		      size_t portlen)
{
	const char *h = spec + strlen(TCP_PREFIX);
	const char *colon;
	size_t n;

	if (*h == '[') {
		const char *end = strchr(h, ']');
		if (!end || end[1] != ':')
			return -1;
		n = (size_t)(end - h - 1);
		h++;
		colon = end + 1;
	} else {
		colon = strrchr(h, ':');
		if (!colon)
			return -1;
		n = (size_t)(colon - h);
	}
	if (n == 0 || n >= hostlen || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= portlen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	snprintf(port, portlen, "%s", colon + 1);
	return strspn(port, "0123456789") == strlen(port) ? 0 : -1;
}

static int tcp_connect(const struct addrinfo *ai)
{
	int one = 1;
	int fd = socket(ai->ai_family,
			ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);

	if (fd < 0)
		return -1;
	/* Requests are small and latency matters more than throughput. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
	    errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

struct transport *transport_tcp_open(const char *spec, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	struct tcp_transport *tt;
	char host[256], port[16];
	int r, fd;

	if (split_spec(spec, host, sizeof(host), port, sizeof(port)) < 0) {
		transport_errf(err, errlen,
			       "%s: not tcp://HOST:PORT (e.g. "
			       "tcp://192.168.1.50:8899)",
			       spec);
		return NULL;
	}
	/* An IP address never blocks; a name may wait for DNS, which the
	 * documentation warns about (use an address on a boat's LAN). */
	r = getaddrinfo(host, port, &hints, &res);
	if (r != 0) {
		transport_errf(err, errlen, "%s: %s", spec, gai_strerror(r));
		return NULL;
	}
	fd = tcp_connect(res);
	if (fd < 0) {
		transport_errf(err, errlen, "%s: %s", spec, strerror(errno));
		freeaddrinfo(res);
		return NULL;
	}
	freeaddrinfo(res);
	tt = calloc(1, sizeof(*tt));
	if (!tt) {
		close(fd);
		transport_errf(err, errlen, "out of memory");
		return NULL;
	}
	tt->t.ops = &tcp_ops;
	tt->t.fd = fd;
	snprintf(tt->t.path, sizeof(tt->t.path), "%s", spec);
	return &tt->t;
}
