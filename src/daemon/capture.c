/* SPDX-License-Identifier: MIT */
/*
 * capture.c - recording one port's raw traffic (see capture.h).
 */
#include "capture.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRAILER_ROOM 160 /* kept free for the last line */

struct capture {
	enum capture_state state;
	char port[64];
	uint64_t start_us, max_us;
	size_t max_bytes, bytes;
	bool have_tx;   /* a request was recorded */
	uint8_t *rx;    /* received since the last request */
	size_t rxlen;   /* (at most max_bytes) */
	uint64_t rx_us; /* when its first byte came */
	char *text;     /* CAPTURE_MAX_TEXT + 1 */
	size_t len;
};

struct capture *capture_new(void)
{
	return calloc(1, sizeof(struct capture));
}

void capture_free(struct capture *cp)
{
	if (!cp)
		return;
	free(cp->rx);
	free(cp->text);
	free(cp);
}

/* Text appended if it fits (keeping room for the trailer unless last). */
__attribute__((format(printf, 3, 4))) static bool
add(struct capture *cp, bool last, const char *fmt, ...)
{
	size_t room = CAPTURE_MAX_TEXT - cp->len;
	va_list ap;
	int n;

	if (!last) {
		if (room < TRAILER_ROOM)
			return false;
		room -= TRAILER_ROOM;
	}
	va_start(ap, fmt);
	n = vsnprintf(cp->text + cp->len, room + 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n > room) {
		cp->text[cp->len] = '\0';
		return false;
	}
	cp->len += (size_t)n;
	return true;
}

/* "XX XX ...", fits or nothing. */
static bool add_hex(struct capture *cp, const uint8_t *b, size_t n)
{
	size_t need = 3 * n;

	if (n == 0)
		return true;
	if (CAPTURE_MAX_TEXT - cp->len < need + TRAILER_ROOM)
		return false;
	for (size_t i = 0; i < n; i++) {
		static const char hex[] = "0123456789ABCDEF";

		cp->text[cp->len++] = hex[b[i] >> 4];
		cp->text[cp->len++] = hex[b[i] & 0x0F];
		cp->text[cp->len++] = i + 1 < n ? ' ' : '\0';
	}
	cp->len--; /* the last '\0' is not text */
	cp->text[cp->len] = '\0';
	return true;
}

static double secs(const struct capture *cp, uint64_t t)
{
	return (double)(t - cp->start_us) / 1e6;
}

/* One frame line: marker, bytes, time. */
static bool add_line(struct capture *cp, const char *marker, const uint8_t *b,
		     size_t n, uint64_t t)
{
	size_t mark = cp->len;

	if (add(cp, false, "%s ", marker) && add_hex(cp, b, n) &&
	    add(cp, false, "  # +%.3f s\n", secs(cp, t)))
		return true;
	cp->len = mark; /* nothing half written */
	cp->text[mark] = '\0';
	return false;
}

static void end(struct capture *cp, const char *why);

/* What came back since the last request, as one line. */
static void flush_rx(struct capture *cp)
{
	if (cp->rxlen == 0)
		return;
	if (!add_line(cp, "<<<", cp->rx, cp->rxlen, cp->rx_us)) {
		cp->rxlen = 0;
		end(cp, "the text is full");
		return;
	}
	cp->rxlen = 0;
}

static void end(struct capture *cp, const char *why)
{
	if (cp->state != CAPTURE_RECORDING)
		return;
	cp->state = CAPTURE_DONE; /* before flush_rx: it may end us again */
	if (cp->rxlen && !add_line(cp, "<<<", cp->rx, cp->rxlen, cp->rx_us))
		add(cp, true, "# (the last answer did not fit)\n");
	cp->rxlen = 0;
	add(cp, true, "# ended: %s; %zu bytes\n", why, cp->bytes);
	free(cp->rx);
	cp->rx = NULL;
}

int capture_start(struct capture *cp, const char *port, const char *header,
		  uint64_t now_us, uint64_t max_us, size_t max_bytes, char *err,
		  size_t errlen)
{
	if (cp->state == CAPTURE_RECORDING) {
		snprintf(err, errlen, "port %s is being recorded already",
			 cp->port);
		return -1;
	}
	if (max_us < 1000000 || max_us > CAPTURE_MAX_US) {
		snprintf(err, errlen, "a capture takes 1 to %llu s",
			 (unsigned long long)(CAPTURE_MAX_US / 1000000));
		return -1;
	}
	if (max_bytes < 1 || max_bytes > CAPTURE_MAX_BYTES) {
		snprintf(err, errlen, "a capture holds 1 to %d bytes",
			 CAPTURE_MAX_BYTES);
		return -1;
	}
	if (!cp->text && !(cp->text = malloc(CAPTURE_MAX_TEXT + 1))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(cp->rx);
	cp->rx = malloc(max_bytes);
	if (!cp->rx) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(cp->port, sizeof(cp->port), "%s", port);
	cp->state = CAPTURE_RECORDING;
	cp->start_us = now_us;
	cp->max_us = max_us;
	cp->max_bytes = max_bytes;
	cp->bytes = 0;
	cp->have_tx = false;
	cp->rxlen = 0;
	cp->len = 0;
	cp->text[0] = '\0';
	add(cp, false,
	    "# smallbms capture of port %s: %s\n"
	    "# Each request sent is a \">>>\" line, what came back until the "
	    "next\n# one a \"<<<\" line; times from the start. Play it "
	    "back with\n# bmssim --replay FILE; the format is "
	    "tests/data/SOURCES.md's.\n",
	    port, header);
	return 0;
}

static bool recording(const struct capture *cp, const char *port)
{
	return cp && cp->state == CAPTURE_RECORDING &&
	       strcmp(cp->port, port) == 0;
}

/* Count n more bytes; the recording ends when it holds its bytes. */
static void counted(struct capture *cp, size_t n)
{
	cp->bytes += n;
	if (cp->bytes >= cp->max_bytes)
		end(cp, "the bytes asked for were recorded");
}

void capture_tx(struct capture *cp, const char *port, const uint8_t *b,
		size_t n, uint64_t now_us)
{
	if (!recording(cp, port) || n == 0 || capture_tick(cp, now_us))
		return;
	flush_rx(cp);
	if (cp->state != CAPTURE_RECORDING)
		return;
	if (!add_line(cp, ">>>", b, n, now_us)) {
		end(cp, "the text is full");
		return;
	}
	cp->have_tx = true;
	counted(cp, n);
}

void capture_rx(struct capture *cp, const char *port, const uint8_t *b,
		size_t n, uint64_t now_us)
{
	size_t take;

	if (!recording(cp, port) || n == 0 || capture_tick(cp, now_us))
		return;
	take = n < cp->max_bytes - cp->bytes ? n : cp->max_bytes - cp->bytes;
	if (!cp->have_tx) {
		/* No request yet to belong to: a comment, not a frame. */
		size_t mark = cp->len;

		if (!add(cp, false, "# before the first request: ") ||
		    !add_hex(cp, b, take) || !add(cp, false, "\n")) {
			cp->len = mark;
			cp->text[mark] = '\0';
			end(cp, "the text is full");
			return;
		}
	} else {
		if (cp->rxlen == 0)
			cp->rx_us = now_us;
		memcpy(cp->rx + cp->rxlen, b, take);
		cp->rxlen += take;
	}
	counted(cp, take);
}

bool capture_tick(struct capture *cp, uint64_t now_us)
{
	if (!cp || cp->state != CAPTURE_RECORDING ||
	    now_us - cp->start_us < cp->max_us)
		return false;
	end(cp, "the time asked for is over");
	return true;
}

enum capture_state capture_state(const struct capture *cp)
{
	return cp ? cp->state : CAPTURE_NONE;
}

const char *capture_port(const struct capture *cp)
{
	return cp && cp->state != CAPTURE_NONE ? cp->port : "";
}

size_t capture_bytes(const struct capture *cp)
{
	return cp ? cp->bytes : 0;
}

size_t capture_max_bytes(const struct capture *cp)
{
	return cp ? cp->max_bytes : 0;
}

uint64_t capture_max_us(const struct capture *cp)
{
	return cp ? cp->max_us : 0;
}

uint64_t capture_elapsed_us(const struct capture *cp, uint64_t now_us)
{
	if (!cp || cp->state != CAPTURE_RECORDING)
		return 0;
	return now_us - cp->start_us;
}

const char *capture_text(const struct capture *cp)
{
	return cp && cp->state == CAPTURE_DONE ? cp->text : NULL;
}
