/* SPDX-License-Identifier: MIT */
/*
 * transport_tcp.c - RS485-to-TCP gateways ("tcp://ADDRESS:PORT").
 *
 * Nothing here blocks the event loop. The spec is parsed by tcpaddr.c,
 * the parser the configuration checked it with, and names an IP address:
 * there is no name lookup at all (getaddrinfo() on the loop would stall
 * every protection decision while a DNS server is slow; tcpaddr.h says
 * why names are refused rather than resolved). The connection is made
 * without blocking too: connect() returns at once and the socket becomes
 * writable when it is up. Until then writes report EAGAIN, so the chain's
 * request times out and is retried like an unanswered one; a refused or
 * dropped connection is a read or write error, which makes the chain
 * close the port and open it again later with back-off.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcpaddr.h"
#include "transport.h"

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
	return tcpaddr_is_tcp(spec);
}

static int tcp_connect(const struct tcpaddr *a)
{
	struct sockaddr_storage ss;
	socklen_t sslen = tcpaddr_sockaddr(a, &ss);
	int one = 1;
	int fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			IPPROTO_TCP);

	if (fd < 0)
		return -1;
	/* Requests are small and latency matters more than throughput. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&ss, sslen) < 0 &&
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
	struct tcpaddr a;
	struct tcp_transport *tt;
	int fd;

	/* The configuration was checked with the same parser: this only
	 * fails for a spec that did not come from it. */
	if (tcpaddr_parse(spec, &a, err, errlen) < 0)
		return NULL;
	fd = tcp_connect(&a);
	if (fd < 0) {
		transport_errf(err, errlen, "%s: %s", spec, strerror(errno));
		return NULL;
	}
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
