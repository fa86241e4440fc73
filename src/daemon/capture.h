/* SPDX-License-Identifier: MIT */
/*
 * capture.h - recording one port's raw traffic (smallbmsctl capture), in
 * the capture format of tests/data (SOURCES.md), so that bmssim --replay
 * plays it back and a driver's tests can use it:
 *
 *   # comments: the port, the device, protocol and baud rate, the date
 *   >>> 01 10 16 20 00 01 02 00 00 D6 F1  # +0.000 s
 *   <<< 55 AA EB 90 02 ...  # +0.041 s
 *
 * Every request is one ">>>" line; everything received after it, until
 * the next request, one "<<<" line (timestamped at its first byte), so an
 * answer read in pieces is one frame line. Bytes received before the
 * first request are kept as a comment. A recording ends after its time
 * or once it holds its bytes (both directions), whichever comes first.
 *
 * Pure: no I/O, no clock (time is passed in, monotonic µs). One recording
 * at a time; its text is kept until the next one starts.
 */
#ifndef SMALLBMS_CAPTURE_H
#define SMALLBMS_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAPTURE_MAX_US       (600ULL * 1000000) /* 10 minutes */
#define CAPTURE_MAX_BYTES    65536              /* of traffic */
#define CAPTURE_DEFAULT_US   (30ULL * 1000000)
#define CAPTURE_DEFAULT_BYTE 32768
/* The text: 3 characters a byte, a line's marker and timestamp; within
 * what one control-socket answer may carry (wire.h CTL_MAX_OUTPUT). */
#define CAPTURE_MAX_TEXT     (200 * 1024)

enum capture_state {
	CAPTURE_NONE,      /* nothing recorded yet */
	CAPTURE_RECORDING, /* in progress */
	CAPTURE_DONE,      /* ended: the text is there */
};

struct capture;

struct capture *capture_new(void);
void capture_free(struct capture *cp);

/*
 * Start recording port (its name as configured); header is the comment
 * describing it (one line, no '#'). max_us 1 s .. CAPTURE_MAX_US, max_bytes
 * 1 .. CAPTURE_MAX_BYTES. -1 with why when a recording is in progress or
 * a bound is out of range.
 */
int capture_start(struct capture *cp, const char *port, const char *header,
		  uint64_t now_us, uint64_t max_us, size_t max_bytes, char *err,
		  size_t errlen);

/* Bytes sent (a request) or received on port; ignored unless that port
 * is being recorded. */
void capture_tx(struct capture *cp, const char *port, const uint8_t *b,
		size_t n, uint64_t now_us);
void capture_rx(struct capture *cp, const char *port, const uint8_t *b,
		size_t n, uint64_t now_us);

/* End a recording whose time is up; true when it ended now. */
bool capture_tick(struct capture *cp, uint64_t now_us);

enum capture_state capture_state(const struct capture *cp);
const char *capture_port(const struct capture *cp); /* "" if none */
size_t capture_bytes(const struct capture *cp);     /* recorded so far */
size_t capture_max_bytes(const struct capture *cp);
uint64_t capture_max_us(const struct capture *cp);
uint64_t capture_elapsed_us(const struct capture *cp, uint64_t now_us);
/* The capture file, once CAPTURE_DONE; else NULL. */
const char *capture_text(const struct capture *cp);

#endif
