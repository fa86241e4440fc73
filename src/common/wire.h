/* SPDX-License-Identifier: MIT */
/*
 * wire.h - what smallbmsd and smallbmsctl agree on about the control
 * socket (doc/protocol.md): where it is by default, the protocol version
 * the daemon's greeting carries, and the sizes each side may rely on.
 * One header for both programs, so they cannot drift apart.
 */
#ifndef SMALLBMS_WIRE_H
#define SMALLBMS_WIRE_H

#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif

/* The socket's default path (the configuration's [general] socket). */
#define WIRE_DEFAULT_SOCKET RUNSTATEDIR "/smallbms/smallbms.sock"

/* {"type":"hello","protocol":N}: bumped only on incompatible changes. */
#define CTL_PROTOCOL_VERSION 1
/* Longest request line, newline excluded; longer is an error. */
#define CTL_MAX_REQUEST      4096
/* Most words in a request (the command and its arguments). */
#define CTL_MAX_ARGS         16
/* Most bytes the daemon queues for one client: no single answer is
 * longer, so a client may size its buffer by it. */
#define CTL_MAX_OUTPUT       (256 * 1024)

#endif
