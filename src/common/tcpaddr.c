/* SPDX-License-Identifier: MIT */
/*
 * tcpaddr.c - "tcp://HOST:PORT", HOST an IP address (see tcpaddr.h for
 * why names are refused).
 */
#include "tcpaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "number.h"

#define NAMES_REFUSED                                                          \
	"host names are not looked up, so that no DNS query can stall the "    \
	"daemon: write the gateway's address, e.g. " TCPADDR_EXAMPLE

bool tcpaddr_is_tcp(const char *spec)
{
	return spec &&
	       strncmp(spec, TCPADDR_PREFIX, strlen(TCPADDR_PREFIX)) == 0;
}

/* snprintf into why, which may be NULL. */
#define WHY(...)                                                               \
	do {                                                                   \
		if (why && n)                                                  \
			snprintf(why, n, __VA_ARGS__);                         \
	} while (0)

/* Only digits and dots: meant as an IPv4 address, so it must be one. */
static bool looks_numeric(const char *h, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((h[i] < '0' || h[i] > '9') && h[i] != '.')
			return false;
	return true;
}

static int parse_host(const char *spec, const char *h, size_t len,
		      bool bracketed, struct tcpaddr *a, char *why, size_t n)
{
	int l = len > 200 ? 200 : (int)len; /* for messages */

	if (len == 0) {
		WHY("'%s' has no host (e.g. " TCPADDR_EXAMPLE ")", spec);
		return -1;
	}
	if (bracketed) {
		if (len < sizeof(a->host)) {
			memcpy(a->host, h, len);
			a->host[len] = '\0';
			if (inet_pton(AF_INET6, a->host, &a->addr.v6) == 1) {
				a->family = AF_INET6;
				return 0;
			}
		}
		WHY("'%s': '%.*s' is not an IPv6 address", spec, l, h);
		return -1;
	}
	if (looks_numeric(h, len)) {
		if (len < sizeof(a->host)) {
			memcpy(a->host, h, len);
			a->host[len] = '\0';
			if (inet_pton(AF_INET, a->host, &a->addr.v4) == 1) {
				a->family = AF_INET;
				return 0;
			}
		}
		WHY("'%s': '%.*s' is not an IPv4 address", spec, l, h);
		return -1;
	}
	WHY("'%s': '%.*s' is not an IP address (" NAMES_REFUSED ")", spec, l,
	    h);
	return -1;
}

static int parse_port(const char *spec, const char *port, struct tcpaddr *a,
		      char *why, size_t n)
{
	uint64_t v;

	if (*port == '\0') {
		WHY("'%s' has no port: write tcp://HOST:PORT "
		    "(e.g. " TCPADDR_EXAMPLE ")",
		    spec);
		return -1;
	}
	if (!num_uint(port, &v)) {
		WHY("'%s': the port '%s' is not a number", spec, port);
		return -1;
	}
	if (v < 1 || v > 65535) {
		WHY("'%s': port %s is out of range (1..65535)", spec, port);
		return -1;
	}
	a->port = (uint16_t)v;
	return 0;
}

int tcpaddr_parse(const char *spec, struct tcpaddr *a, char *why, size_t n)
{
	const char *h, *end, *colon;

	memset(a, 0, sizeof(*a));
	if (!tcpaddr_is_tcp(spec)) {
		WHY("'%s' is not tcp://HOST:PORT (e.g. " TCPADDR_EXAMPLE ")",
		    spec ? spec : "");
		return -1;
	}
	h = spec + strlen(TCPADDR_PREFIX);
	if (*h == '[') {
		end = strchr(h, ']');
		if (!end) {
			WHY("'%s': missing ']' after the IPv6 address", spec);
			return -1;
		}
		if (parse_host(spec, h + 1, (size_t)(end - h - 1), true, a, why,
			       n) < 0)
			return -1;
		if (end[1] != ':') {
			WHY("'%s' has no port: write tcp://[ADDRESS]:PORT",
			    spec);
			return -1;
		}
		return parse_port(spec, end + 2, a, why, n);
	}
	/* Two colons: an IPv6 address without its brackets, unless what
	 * comes before the first one has a dot (10.0.0.1:502:1 has a bad
	 * port, said as such). */
	colon = strchr(h, ':');
	if (colon && strchr(colon + 1, ':') &&
	    !memchr(h, '.', (size_t)(colon - h))) {
		WHY("'%s': write an IPv6 address in brackets: "
		    "tcp://[ADDRESS]:PORT",
		    spec);
		return -1;
	}
	if (parse_host(spec, h, colon ? (size_t)(colon - h) : strlen(h), false,
		       a, why, n) < 0)
		return -1;
	return parse_port(spec, colon ? colon + 1 : "", a, why, n);
}

socklen_t tcpaddr_sockaddr(const struct tcpaddr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		s6->sin6_addr = a->addr.v6;
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(a->port);
	s4->sin_addr = a->addr.v4;
	return sizeof(*s4);
}
