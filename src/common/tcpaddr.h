/* SPDX-License-Identifier: MIT */
/*
 * tcpaddr.h - the one parser of "tcp://HOST:PORT" (an RS485-to-TCP
 * gateway), for the configuration (which refuses a bad one with this
 * message) and for the TCP transport (which connects to what it returns).
 *
 * HOST is an IP address: IPv4 in dotted decimal (192.168.1.50) or IPv6 in
 * brackets ([fd00::5]). Host names are refused on purpose: getaddrinfo()
 * blocks, and a slow or absent DNS server would stall the one event loop
 * that makes every protection decision. libsystemd's asynchronous resolver
 * (sd-resolve) is not part of its public API in Debian bookworm (252) or
 * trixie (257), and a resolver thread would be the daemon's only one. A
 * gateway on a LAN has a fixed address (a DHCP reservation), and the
 * systemd drop-in for tcp:// ports allows exactly that address
 * (IPAddressAllow=), which a name would not fit anyway.
 *
 * PORT is 1..65535 in decimal digits. Pure: no I/O, no globals.
 */
#ifndef SMALLBMS_TCPADDR_H
#define SMALLBMS_TCPADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define TCPADDR_PREFIX  "tcp://"
#define TCPADDR_EXAMPLE "tcp://192.168.1.50:8899"

struct tcpaddr {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
	uint16_t port;               /* host byte order */
	char host[INET6_ADDRSTRLEN]; /* as written, without brackets */
};

/* Does spec start with "tcp://" (exactly: "TCP://" is not a gateway)? */
bool tcpaddr_is_tcp(const char *spec);

/*
 * Parse "tcp://HOST:PORT" into *a. Returns 0, or -1 with a message in why
 * (NULL-safe, truncated to n) that quotes spec and says what is wrong and
 * how to write it.
 */
int tcpaddr_parse(const char *spec, struct tcpaddr *a, char *why, size_t n);

/* The address as a socket address for connect(); its length. */
socklen_t tcpaddr_sockaddr(const struct tcpaddr *a,
			   struct sockaddr_storage *ss);

#endif
