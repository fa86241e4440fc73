/* SPDX-License-Identifier: MIT */
/*
 * sim_capture.c - captured traffic files (see sim_capture.h).
 */
#include "sim_capture.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sim_proto.h"

#define LINE_MAX_LEN (4 * SIM_MAX_FRAME)

struct reader {
	const char *name;
	unsigned lineno;
	bool have_family;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct reader *r,
						      const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(r->err, r->errlen, "%s:%u: %s", r->name, r->lineno, msg);
	return -1;
}

const char *sim_family_name(enum sim_family f)
{
	switch (f) {
	case SIM_FAMILY_JBD:
		return "jbd";
	case SIM_FAMILY_JK:
		return "jk";
	case SIM_FAMILY_JKPB:
		return "jk-pb";
	case SIM_FAMILY_MODBUS:
		return "seplos-v3";
	case SIM_FAMILY_DALY:
		return "daly";
	default:
		return "~";
	}
}

enum sim_family sim_family_of(const char *protocol)
{
	if (strcmp(protocol, "jbd") == 0)
		return SIM_FAMILY_JBD;
	if (strcmp(protocol, "jk") == 0)
		return SIM_FAMILY_JK;
	if (strcmp(protocol, "jk-pb") == 0)
		return SIM_FAMILY_JKPB;
	if (strcmp(protocol, "seplos-v3") == 0)
		return SIM_FAMILY_MODBUS;
	if (strcmp(protocol, "daly") == 0)
		return SIM_FAMILY_DALY;
	return SIM_FAMILY_PYLON;
}

static bool rest_is_comment(const char *s)
{
	s += strspn(s, " \t\r\n");
	return *s == '\0' || *s == '#';
}

/* "~...": the characters up to a blank, then the implied CR. */
static long ascii_frame(struct reader *r, const char *t, uint8_t *buf)
{
	size_t n = strcspn(t, " \t\r\n");

	if (!rest_is_comment(t + n))
		return fail(r, "text after the frame");
	if (n + 1 > SIM_MAX_FRAME)
		return fail(r, "frame longer than %d bytes", SIM_MAX_FRAME);
	memcpy(buf, t, n);
	buf[n] = '\r';
	return (long)n + 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Two hex digits a byte, separated by blanks or ':'. */
static long hex_frame(struct reader *r, const char *t, uint8_t *buf)
{
	long n = 0;

	for (;;) {
		t += strspn(t, " \t:\r\n");
		if (*t == '\0' || *t == '#')
			break;
		if (hexval(t[0]) < 0 || hexval(t[1]) < 0 ||
		    (t[2] && !strchr(" \t:\r\n#", t[2])))
			return fail(r, "'%.8s' is not a hex byte", t);
		if (n >= SIM_MAX_FRAME)
			return fail(r, "frame longer than %d bytes",
				    SIM_MAX_FRAME);
		buf[n++] = (uint8_t)(hexval(t[0]) << 4 | hexval(t[1]));
		t += 2;
	}
	if (n == 0)
		return fail(r, "empty frame");
	return n;
}

/* JK-PB: a request or acknowledgement ADDR 10 16 (ADDR 0-15), or JK's
 * frame 55 AA EB 90. */
static bool jkpb_frame(const uint8_t *b, size_t n)
{
	return (n >= 4 && memcmp(b, "\x55\xAA\xEB\x90", 4) == 0) ||
	       (n >= 3 && b[0] <= 15 && b[1] == 0x10 && b[2] == 0x16);
}

/* Modbus RTU: ADDR (0-247) and a read function (01, 03, 04), or its
 * exception (the function | 0x80). */
static bool modbus_frame(const uint8_t *b, size_t n)
{
	uint8_t fc = n >= 2 ? (uint8_t)(b[1] & 0x7F) : 0;

	return n >= 5 && b[0] <= 247 && (fc == 1 || fc == 3 || fc == 4);
}

static int check_family(struct reader *r, struct sim_capture *c,
			const uint8_t *b, size_t n)
{
	enum sim_family f;

	if (b[0] == 0xDD)
		f = SIM_FAMILY_JBD;
	else if (b[0] == '~')
		f = SIM_FAMILY_PYLON;
	else if (b[0] == 0x4E)
		f = SIM_FAMILY_JK;
	else if (jkpb_frame(b, n))
		f = SIM_FAMILY_JKPB;
	else if (b[0] == 0xA5)
		f = SIM_FAMILY_DALY;
	else if (modbus_frame(b, n))
		f = SIM_FAMILY_MODBUS;
	else
		return fail(r,
			    "a frame starts with 0xDD (jbd), '~', 0x4E (jk), "
			    "0xA5 (daly) or is a jk-pb or Modbus RTU frame");
	if (!r->have_family) {
		c->family = f;
		r->have_family = true;
	} else if (f != c->family) {
		return fail(r, "a %s frame in a %s capture", sim_family_name(f),
			    sim_family_name(c->family));
	}
	return 0;
}

static int add_request(struct reader *r, struct sim_capture *c,
		       const uint8_t *b, size_t n)
{
	struct sim_capture_pair *p = realloc(c->pairs, (c->n + 1) * sizeof(*p));

	if (!p)
		return fail(r, "out of memory");
	c->pairs = p;
	p += c->n;
	*p = (struct sim_capture_pair){.line = r->lineno};
	p->req = malloc(n);
	if (!p->req)
		return fail(r, "out of memory");
	memcpy(p->req, b, n);
	p->reqlen = n;
	c->n++;
	return 0;
}

static int add_answer(struct reader *r, struct sim_capture *c, const uint8_t *b,
		      size_t n)
{
	struct sim_capture_pair *p;
	uint8_t *a;

	if (c->n == 0)
		return fail(r, "an answer before any request");
	p = &c->pairs[c->n - 1];
	if (p->anslen + n > SIM_MAX_FRAME)
		return fail(r, "answers to one request longer than %d bytes",
			    SIM_MAX_FRAME);
	a = realloc(p->ans, p->anslen + n);
	if (!a)
		return fail(r, "out of memory");
	memcpy(a + p->anslen, b, n);
	p->ans = a;
	p->anslen += n;
	return 0;
}

static int parse_line(struct reader *r, struct sim_capture *c, const char *s)
{
	uint8_t buf[SIM_MAX_FRAME];
	bool req;
	long n;

	s += strspn(s, " \t");
	if (rest_is_comment(s))
		return 0;
	if (strncmp(s, ">>>", 3) == 0)
		req = true;
	else if (strncmp(s, "<<<", 3) == 0)
		req = false;
	else
		return fail(r,
			    "expected '>>> FRAME', '<<< FRAME' or a comment");
	s += 3;
	s += strspn(s, " \t");
	n = *s == '~' ? ascii_frame(r, s, buf) : hex_frame(r, s, buf);
	if (n < 0 || check_family(r, c, buf, (size_t)n) < 0)
		return -1;
	return req ? add_request(r, c, buf, (size_t)n)
		   : add_answer(r, c, buf, (size_t)n);
}

int sim_capture_parse(FILE *f, const char *name, struct sim_capture *c,
		      char *err, size_t errlen)
{
	struct reader r = {.name = name, .err = err, .errlen = errlen};
	char line[LINE_MAX_LEN];

	memset(c, 0, sizeof(*c));
	while (fgets(line, sizeof(line), f)) {
		r.lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			fail(&r, "line too long");
			goto bad;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (parse_line(&r, c, line) < 0)
			goto bad;
	}
	if (ferror(f)) {
		fail(&r, "read error");
		goto bad;
	}
	if (c->n == 0) {
		snprintf(err, errlen, "%s: no request in the capture", name);
		goto bad;
	}
	return 0;
bad:
	sim_capture_free(c);
	return -1;
}

int sim_capture_load(const char *path, struct sim_capture *c, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "re");
	int rc;

	if (!f) {
		memset(c, 0, sizeof(*c));
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = sim_capture_parse(f, path, c, err, errlen);
	fclose(f);
	return rc;
}

void sim_capture_free(struct sim_capture *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->pairs[i].req);
		free(c->pairs[i].ans);
	}
	free(c->pairs);
	memset(c, 0, sizeof(*c));
}
