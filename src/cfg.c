/* SPDX-License-Identifier: MIT */
/*
 * cfg.c - /etc/smallbms/smallbms.conf: one table of keys, parsed with
 * inih.
 *
 * inih (r55, as Debian builds it) does not give the handler a line number
 * and returns only the first syntax error, so the file is fed to
 * ini_parse_stream() through our own reader. The reader counts lines,
 * rejects lines longer than inih's buffer, strips leading blanks (so inih
 * never joins an indented line to the previous value as a "continuation")
 * and follows the [section] headers itself: that gives the line of every
 * section, catches sections without any key (inih never calls the handler
 * for those) and reports every syntax error, not just the first.
 *
 * The file is parsed into a scratch struct; the caller's struct is only
 * written when the whole file is valid, so a bad file is never half used.
 */
#include "cfg.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "driver.h"

#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

#define CFG_MAX_BATTERIES 50
#define CFG_MAX_ADDR      254

enum cfg_sect {
	SECT_GENERAL,
	SECT_PORT,
};

enum cfg_type {
	T_DURATION, /* unsigned, milliseconds */
	T_UINT,     /* unsigned */
	T_BOOL,     /* bool */
	T_STRING,   /* char[size] */
	T_PATH,     /* char[size], absolute */
	T_LOGLEVEL, /* int, syslog priority */
	T_ADDRLIST, /* struct cfg_port naddrs + addrs */
	T_PROTOCOL, /* char[size], a name drv_find() knows */
};

struct cfg_key {
	enum cfg_sect sect;
	const char *key;
	enum cfg_type type;
	bool required;
	/* Default as it would be written in the file; NULL: required, or
	 * left 0 in the struct, which means "the protocol's default". */
	const char *def;
	/* Inclusive range in the value's own syntax; NULL: none. */
	const char *min, *max;
	size_t off;  /* into struct cfg or struct cfg_port */
	size_t size; /* of that field, for the string types */
	const char *desc;
};

/* Key k of [general] stored in struct cfg member m; PORT: struct cfg_port. */
#define GEN(k, m)                                                              \
	SECT_GENERAL, k, .off = offsetof(struct cfg, m),                       \
			 .size = sizeof(((struct cfg *)0)->m)
#define PORT(k, m)                                                             \
	SECT_PORT, k, .off = offsetof(struct cfg_port, m),                     \
		      .size = sizeof(((struct cfg_port *)0)->m)

static const struct cfg_key keys[] = {
	{GEN("poll_interval", poll_interval_ms), .type = T_DURATION,
	 .def = "1s", .min = "100ms", .max = "60s",
	 .desc = "how often each battery is polled"},
	{GEN("stale_after", stale_after_ms), .type = T_DURATION, .def = "10s",
	 .min = "1s", .max = "1h",
	 .desc = "a battery without a complete reading this long is stale "
		 "(its data is not used)"},
	{GEN("series", series), .type = T_UINT, .def = "1", .min = "1",
	 .max = "50",
	 .desc = "batteries per series string (1 = all in parallel)"},
	{GEN("socket", socket_path), .type = T_PATH,
	 .def = RUNSTATEDIR "/smallbms/smallbms.sock",
	 .desc = "control socket for smallbmsctl"},
	{GEN("state_dir", state_dir), .type = T_PATH,
	 .def = LOCALSTATEDIR "/lib/smallbms",
	 .desc = "state directory (settings, state of charge, history)"},
	{GEN("dry_run", dry_run), .type = T_BOOL, .def = "no",
	 .desc = "outputs are computed and shown, never driven"},
	{GEN("log_level", log_level), .type = T_LOGLEVEL, .def = "info",
	 .desc = "most verbose message priority logged"},
	{PORT("device", device), .type = T_PATH, .required = true,
	 .desc = "serial device; a /dev/serial/by-id/... link is recommended"},
	{PORT("protocol", protocol), .type = T_PROTOCOL, .required = true,
	 .desc = "protocol of the batteries on this port"},
	{PORT("baud", baud), .type = T_UINT, .min = "1200", .max = "921600",
	 .desc = "serial speed"},
	{PORT("timeout", timeout_ms), .type = T_DURATION, .min = "20ms",
	 .max = "10s", .desc = "per-request answer timeout"},
	{PORT("addresses", naddrs), .type = T_ADDRLIST,
	 .desc = "battery addresses on this port, e.g. 1 or 1,3-5 (several "
		 "only for addressed protocols)"},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const sect_names[] = {"general", "port"};

static const char *const type_names[] = {
	[T_DURATION] = "duration", [T_UINT] = "uint",
	[T_BOOL] = "bool",         [T_STRING] = "string",
	[T_PATH] = "path",         [T_LOGLEVEL] = "loglevel",
	[T_ADDRLIST] = "addrlist", [T_PROTOCOL] = "protocol",
};

struct name_value {
	const char *name;
	int value;
};

static const struct name_value bools[] = {
	{"yes", 1}, {"no", 0},  {"true", 1}, {"false", 0},
	{"on", 1},  {"off", 0}, {"1", 1},    {"0", 0},
};

static const struct name_value loglevels[] = {
	{"err", LOG_ERR},   {"warning", LOG_WARNING}, {"notice", LOG_NOTICE},
	{"info", LOG_INFO}, {"debug", LOG_DEBUG},
};

#define BOOL_WORDS     "yes/no, true/false, on/off, 1/0"
#define LOGLEVEL_WORDS "err, warning, notice, info, debug"

/* ---- value parsers: text -> field, or a message in why ---------------- */

static bool lookup(const struct name_value *t, size_t n, const char *s,
		   int *value)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(t[i].name, s) == 0) {
			*value = t[i].value;
			return true;
		}
	}
	return false;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Decimal digits at *s; saturates at UINT64_MAX / 10 so callers see
 * "out of range" rather than a wrapped value. Returns the digit count. */
static size_t scan_digits(const char **s, uint64_t *v)
{
	const char *start = *s, *p = *s;

	*v = 0;
	while (is_digit(*p)) {
		if (*v < UINT64_MAX / 100)
			*v = *v * 10 + (uint64_t)(*p - '0');
		p++;
	}
	*s = p;
	return (size_t)(p - start);
}

/*
 * "250ms", "1s", "2.5s", "2m", "1h" (at most 3 decimals) in milliseconds.
 * A bare number is refused: "5" could mean seconds or milliseconds.
 */
static bool parse_duration(const char *s, uint64_t *ms, char *why, size_t n)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	const char *p = s;
	uint64_t whole, frac = 0, thousandths;
	unsigned i;

	if (scan_digits(&p, &whole) == 0)
		goto bad;
	if (*p == '.') {
		size_t nd;

		p++;
		nd = scan_digits(&p, &frac);

		if (nd == 0 || nd > 3)
			goto bad;
		for (; nd < 3; nd++)
			frac *= 10;
	}
	if (*p == '\0') {
		snprintf(why, n, "'%s' has no unit: add a unit: ms, s, m or h",
			 s);
		return false;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(p, units[i].unit) == 0)
			break;
	if (i == sizeof(units) / sizeof(units[0]))
		goto bad;
	if (whole > UINT64_MAX / 1000 / 3600000) {
		*ms = UINT64_MAX; /* out of any range */
		return true;
	}
	thousandths = (whole * 1000 + frac) * units[i].ms;
	if (thousandths % 1000) {
		snprintf(why, n, "'%s' is not a whole number of milliseconds",
			 s);
		return false;
	}
	*ms = thousandths / 1000;
	return true;
bad:
	snprintf(why, n, "'%s' is not a duration (e.g. 500ms, 2s, 1m)", s);
	return false;
}

static bool parse_uint(const char *s, uint64_t *v, char *why, size_t n)
{
	const char *p = s;

	if (scan_digits(&p, v) == 0 || *p) {
		snprintf(why, n, "'%s' is not a whole number", s);
		return false;
	}
	return true;
}

/* Numeric value of a duration or uint, for the range check. */
static bool parse_number(const struct cfg_key *k, const char *s, uint64_t *v,
			 char *why, size_t n)
{
	if (k->type == T_DURATION)
		return parse_duration(s, v, why, n);
	return parse_uint(s, v, why, n);
}

static bool check_range(const struct cfg_key *k, const char *s, uint64_t v,
			char *why, size_t n)
{
	uint64_t lo = 0, hi = UINT64_MAX;
	char dummy[8];

	/* The bounds are table text; the defaults test proves they parse. */
	if (k->min && !parse_number(k, k->min, &lo, dummy, sizeof(dummy)))
		lo = UINT64_MAX;
	if (k->max && !parse_number(k, k->max, &hi, dummy, sizeof(dummy)))
		hi = 0;
	if (v >= lo && v <= hi)
		return true;
	snprintf(why, n, "'%s' is out of range (%s..%s)", s,
		 k->min ? k->min : "0", k->max ? k->max : "");
	return false;
}

static bool store_string(const struct cfg_key *k, const char *s, char *field,
			 char *why, size_t n)
{
	size_t len = strlen(s);

	if (len == 0) {
		snprintf(why, n, "empty value");
		return false;
	}
	if (len >= k->size) {
		snprintf(why, n, "value is longer than %zu characters",
			 k->size - 1);
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			snprintf(why, n, "value contains a control character");
			return false;
		}
	}
	memcpy(field, s, len + 1);
	return true;
}

static bool parse_path(const struct cfg_key *k, const char *s, char *field,
		       char *why, size_t n)
{
	if (s[0] != '/') {
		snprintf(why, n,
			 "'%s' is not an absolute path (it must start "
			 "with /)",
			 s);
		return false;
	}
	return store_string(k, s, field, why, n);
}

static bool parse_protocol(const struct cfg_key *k, const char *s, char *field,
			   char *why, size_t n)
{
	if (!drv_find(s)) {
		snprintf(why, n, "'%s' is not a known protocol (known: %s)", s,
			 drv_names());
		return false;
	}
	return store_string(k, s, field, why, n);
}

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* One address at *p: 0..254. */
static bool scan_addr(const char **p, const char *s, unsigned *a, char *why,
		      size_t n)
{
	uint64_t v;

	if (scan_digits(p, &v) == 0)
		return false;
	if (v > CFG_MAX_ADDR) {
		snprintf(why, n, "'%s': address %llu is out of range (0..%d)",
			 s, (unsigned long long)v, CFG_MAX_ADDR);
		return false;
	}
	*a = (unsigned)v;
	return true;
}

static bool add_addrs(unsigned *addrs, unsigned *count, unsigned lo,
		      unsigned hi, const char *s, char *why, size_t n)
{
	for (unsigned a = lo; a <= hi; a++) {
		for (unsigned i = 0; i < *count; i++) {
			if (addrs[i] == a) {
				snprintf(why, n,
					 "'%s': address %u is listed twice", s,
					 a);
				return false;
			}
		}
		if (*count == CFG_MAX_ADDRS) {
			snprintf(why, n, "'%s': more than %d addresses", s,
				 CFG_MAX_ADDRS);
			return false;
		}
		addrs[(*count)++] = a;
	}
	return true;
}

/* "1", "1,2,5", "1-8", "1,3-5": comma-separated addresses and ranges. */
static bool parse_addrlist(const char *s, struct cfg_port *port, char *why,
			   size_t n)
{
	unsigned addrs[CFG_MAX_ADDRS], count = 0;
	const char *p = s;

	why[0] = '\0';
	for (;;) {
		unsigned lo, hi;

		p = skip_blanks(p);
		if (!scan_addr(&p, s, &lo, why, n))
			goto bad;
		hi = lo;
		p = skip_blanks(p);
		if (*p == '-') {
			p = skip_blanks(p + 1);
			if (!scan_addr(&p, s, &hi, why, n))
				goto bad;
			if (hi < lo) {
				snprintf(why, n,
					 "'%s': range %u-%u is reversed", s, lo,
					 hi);
				return false;
			}
			p = skip_blanks(p);
		}
		if (!add_addrs(addrs, &count, lo, hi, s, why, n))
			return false;
		if (*p == '\0')
			break;
		if (*p++ != ',')
			goto bad;
	}
	memcpy(port->addrs, addrs, count * sizeof(addrs[0]));
	port->naddrs = count;
	return true;
bad:
	if (!why[0])
		snprintf(why, n,
			 "'%s' is not an address list (e.g. 1, 1,2,5, 1-8 or "
			 "1,3-5)",
			 s);
	return false;
}

/*
 * Parse s as key k into the struct at base (struct cfg for [general],
 * struct cfg_port for [port]). Nothing is written unless s is valid.
 */
static bool set_value(const struct cfg_key *k, const char *s, void *base,
		      char *why, size_t n)
{
	char *field = (char *)base + k->off;
	uint64_t v;
	int iv;

	switch (k->type) {
	case T_DURATION:
	case T_UINT:
		if (!parse_number(k, s, &v, why, n) ||
		    !check_range(k, s, v, why, n))
			return false;
		*(unsigned *)(void *)field = (unsigned)v;
		return true;
	case T_BOOL:
		if (!lookup(bools, sizeof(bools) / sizeof(bools[0]), s, &iv)) {
			snprintf(why, n,
				 "'%s' is not a boolean (" BOOL_WORDS ")", s);
			return false;
		}
		*(bool *)(void *)field = iv;
		return true;
	case T_LOGLEVEL:
		if (!lookup(loglevels, sizeof(loglevels) / sizeof(loglevels[0]),
			    s, &iv)) {
			snprintf(why, n,
				 "'%s' is not a log level (" LOGLEVEL_WORDS ")",
				 s);
			return false;
		}
		*(int *)(void *)field = iv;
		return true;
	case T_STRING:
		return store_string(k, s, field, why, n);
	case T_PATH:
		return parse_path(k, s, field, why, n);
	case T_PROTOCOL:
		return parse_protocol(k, s, field, why, n);
	case T_ADDRLIST:
		/* Only a [port] key: base is its struct cfg_port. */
		return parse_addrlist(s, base, why, n);
	}
	snprintf(why, n, "internal error: bad key type");
	return false;
}

static void apply_defaults(enum cfg_sect sect, void *base)
{
	char why[160];

	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].sect == sect && keys[i].def)
			(void)set_value(&keys[i], keys[i].def, base, why,
					sizeof(why));
}

void cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	apply_defaults(SECT_GENERAL, c);
}

/* ---- the parse: reader, sections, keys, whole-file checks -------------- */

enum cur_sect {
	CUR_NONE,    /* before the first section */
	CUR_GENERAL, /* [general] */
	CUR_PORT,    /* [port NAME], cur_port */
	CUR_IGNORE,  /* a bad section, already reported: skip its keys */
};

struct cfg_parse {
	struct cfg *c; /* scratch copy being filled */
	const char *name;
	FILE *errs;
	int nerr;

	FILE *f;         /* source: a stream ... */
	const char *str; /* ... or a string */
	int line;
	int first_syntax_line;

	enum cur_sect cur;
	unsigned cur_port;
	bool any_port_section;

	/* Line where each key was set: [0] general, [1 + i] port i. */
	int seen[CFG_MAX_PORTS + 1][NKEYS];
	bool port_bad[CFG_MAX_PORTS];
};

__attribute__((format(printf, 3, 4))) static void
report(struct cfg_parse *p, int line, const char *fmt, ...)
{
	va_list ap;

	p->nerr++;
	if (!p->errs)
		return;
	if (line > 0)
		fprintf(p->errs, "%s:%d: ", p->name, line);
	else
		fprintf(p->errs, "%s: ", p->name);
	va_start(ap, fmt);
	vfprintf(p->errs, fmt, ap);
	va_end(ap);
	fputc('\n', p->errs);
}

static int src_getc(struct cfg_parse *p)
{
	if (p->f)
		return getc(p->f);
	if (*p->str == '\0')
		return EOF;
	return (unsigned char)*p->str++;
}

/* Like inih: index of the first of chars in s, or of an inline ';'
 * comment (a ';' after a blank), or of the terminating NUL. */
static size_t find_chars_or_comment(const char *s, const char *chars)
{
	bool was_space = false;
	size_t i;

	for (i = 0; s[i] && !strchr(chars, s[i]); i++) {
		if (was_space && s[i] == ';')
			break;
		was_space = s[i] == ' ' || s[i] == '\t' || s[i] == '\r';
	}
	return i;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool valid_port_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      is_digit(*s) || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static void start_port(struct cfg_parse *p, const char *name)
{
	struct cfg_port *port;

	p->any_port_section = true;
	p->cur = CUR_IGNORE;
	if (!valid_port_name(name)) {
		report(p, p->line,
		       "port name '%s' is not valid (use letters, digits, "
		       "'-', '_' and '.')",
		       name);
		return;
	}
	if (strlen(name) >= CFG_NAME_LEN) {
		report(p, p->line, "port name is longer than %d characters",
		       CFG_NAME_LEN - 1);
		return;
	}
	for (unsigned i = 0; i < p->c->nports; i++) {
		if (strcmp(p->c->ports[i].name, name) == 0) {
			report(p, p->line,
			       "duplicate port name '%s' (first at line %d)",
			       name, p->c->ports[i].line);
			return;
		}
	}
	if (p->c->nports == CFG_MAX_PORTS) {
		report(p, p->line, "too many ports (at most %d)",
		       CFG_MAX_PORTS);
		return;
	}
	p->cur_port = p->c->nports++;
	port = &p->c->ports[p->cur_port];
	memset(port, 0, sizeof(*port));
	strcpy(port->name, name); /* length checked above */
	port->line = p->line;
	apply_defaults(SECT_PORT, port);
	p->cur = CUR_PORT;
}

/* A line inih cannot use: a key of the current port may be lost with it,
 * so that port's count is not trusted for the whole-file checks. */
static void line_lost(struct cfg_parse *p)
{
	if (p->cur == CUR_PORT)
		p->port_bad[p->cur_port] = true;
}

static void syntax_error(struct cfg_parse *p, const char *what)
{
	line_lost(p);
	if (!p->first_syntax_line)
		p->first_syntax_line = p->line;
	report(p, p->line, "syntax error: %s", what);
}

/* A "[...]" line (leading blanks already removed); the line is inih's
 * buffer, which it parses after us, so it is only read here. */
static void start_section(struct cfg_parse *p, const char *line)
{
	size_t end = find_chars_or_comment(line + 1, "]") + 1;
	const char *s = line + 1;
	char name[256];

	if (line[end] != ']') {
		p->cur = CUR_IGNORE; /* inih keeps the old one: do not guess */
		syntax_error(p, "missing ']'");
		return;
	}
	while (s < line + end && is_blank(*s))
		s++;
	while (line + end > s && is_blank(line[end - 1]))
		end--;
	/* Longer than any valid name: truncating it harms no message. */
	snprintf(name, sizeof(name), "%.*s", (int)(line + end - s), s);
	if (strcmp(name, "general") == 0) {
		p->cur = CUR_GENERAL;
	} else if (strcmp(name, "port") == 0) {
		p->any_port_section = true;
		p->cur = CUR_IGNORE;
		report(p, p->line, "[port] needs a name: [port NAME]");
	} else if (strncmp(name, "port", 4) == 0 && is_blank(name[4])) {
		s = name + 4;
		while (is_blank(*s))
			s++;
		start_port(p, s);
	} else {
		p->cur = CUR_IGNORE;
		report(p, p->line, "unknown section [%s]", name);
	}
}

/* Check a line the way inih will see it; report what it would refuse. */
static void classify_line(struct cfg_parse *p, const char *line)
{
	size_t end;

	if (*line == '\0' || is_blank(*line) || *line == ';' || *line == '#')
		return;
	if (*line == '[') {
		start_section(p, line);
		return;
	}
	end = find_chars_or_comment(line, "=:");
	if (line[end] != '=' && line[end] != ':')
		syntax_error(p, "expected 'key = value' or [section]");
}

/*
 * The ini_reader: one line per call (so p->line is the line of every
 * handler call that follows), at most num - 2 characters plus '\n'.
 */
static char *read_line(char *str, int num, void *stream)
{
	struct cfg_parse *p = stream;
	int c, len = 0, max = num - 2;
	bool too_long = false, nul = false;
	char *start;

	if (num < 3)
		return NULL; /* cannot happen: inih's buffer is 200 bytes */
	for (;;) {
		c = src_getc(p);
		if (c == EOF) {
			if (len == 0 && !too_long)
				return NULL;
			break;
		}
		if (c == '\n')
			break;
		if (c == '\0')
			nul = true;
		if (len < max)
			str[len++] = (char)c;
		else
			too_long = true;
	}
	str[len++] = '\n';
	str[len] = '\0';
	p->line++;
	if (too_long || nul) {
		line_lost(p);
		if (too_long)
			report(p, p->line, "line is longer than %d characters",
			       max);
		else
			report(p, p->line, "line contains a NUL byte");
		strcpy(str, "\n"); /* inih sees an empty line */
		return str;
	}
	start = str;
	if (p->line == 1 && strncmp(start, "\xEF\xBB\xBF", 3) == 0)
		start += 3; /* UTF-8 byte order mark */
	while (*start == ' ' || *start == '\t')
		start++;
	memmove(str, start, strlen(start) + 1);
	classify_line(p, str);
	return str;
}

static const struct cfg_key *find_key(enum cfg_sect sect, const char *name,
				      size_t *idx)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].sect == sect && strcmp(keys[i].key, name) == 0) {
			*idx = i;
			return &keys[i];
		}
	}
	return NULL;
}

/* The ini_handler. Always returns 1: errors are reported here, so inih's
 * return value only ever means a syntax error. */
static int on_key(void *user, const char *section, const char *name,
		  const char *value)
{
	struct cfg_parse *p = user;
	enum cfg_sect sect = p->cur == CUR_PORT ? SECT_PORT : SECT_GENERAL;
	unsigned slot = p->cur == CUR_PORT ? 1 + p->cur_port : 0;
	const struct cfg_key *k;
	char why[CFG_PATH_LEN + 128];
	void *base;
	size_t i;

	(void)section; /* ours is exact; inih truncates long names */
	if (p->cur == CUR_IGNORE)
		return 1;
	if (p->cur == CUR_NONE) {
		report(p, p->line,
		       "'%s' is outside any section (put it under [general] "
		       "or [port NAME])",
		       name);
		return 1;
	}
	k = find_key(sect, name, &i);
	if (!k) {
		if (sect == SECT_PORT)
			report(p, p->line, "unknown key '%s' in [port %s]",
			       name, p->c->ports[p->cur_port].name);
		else
			report(p, p->line, "unknown key '%s' in [general]",
			       name);
		goto bad;
	}
	if (p->seen[slot][i]) {
		report(p, p->line, "%s: already set at line %d", name,
		       p->seen[slot][i]);
		goto bad;
	}
	p->seen[slot][i] = p->line;
	base = sect == SECT_PORT ? (void *)&p->c->ports[p->cur_port]
				 : (void *)p->c;
	if (!set_value(k, value, base, why, sizeof(why))) {
		report(p, p->line, "%s: %s", name, why);
		goto bad;
	}
	return 1;
bad:
	if (sect == SECT_PORT)
		p->port_bad[p->cur_port] = true;
	return 1;
}

static int key_line(const struct cfg_parse *p, unsigned port, const char *key)
{
	size_t i;

	if (!find_key(SECT_PORT, key, &i))
		return 0;
	return p->seen[1 + port][i];
}

static void check_required(struct cfg_parse *p, unsigned i)
{
	const struct cfg_port *port = &p->c->ports[i];

	for (size_t k = 0; k < NKEYS; k++) {
		if (keys[k].sect != SECT_PORT || !keys[k].required ||
		    p->seen[1 + i][k])
			continue;
		report(p, port->line, "[port %s] has no %s (required)",
		       port->name, keys[k].key);
		p->port_bad[i] = true;
	}
}

static void check_devices(struct cfg_parse *p, unsigned i)
{
	const struct cfg_port *port = &p->c->ports[i];

	if (!port->device[0])
		return;
	for (unsigned j = 0; j < i; j++) {
		if (strcmp(p->c->ports[j].device, port->device) == 0) {
			report(p, key_line(p, i, "device"),
			       "device: '%s' is already used by [port %s]",
			       port->device, p->c->ports[j].name);
			p->port_bad[i] = true;
			return;
		}
	}
}

static void check_addressing(struct cfg_parse *p, unsigned i)
{
	const struct cfg_port *port = &p->c->ports[i];
	const struct bms_driver *drv = drv_find(port->protocol);

	if (!drv || drv->addressed || port->naddrs <= 1)
		return;
	report(p, key_line(p, i, "addresses"),
	       "addresses: protocol '%s' has one battery per port: give one "
	       "address",
	       port->protocol);
	p->port_bad[i] = true;
}

/* Battery count limits; only meaningful when every port is valid. */
static void check_counts(struct cfg_parse *p)
{
	unsigned total = 0;
	size_t si = 0;

	for (unsigned i = 0; i < p->c->nports; i++)
		if (p->port_bad[i])
			return;
	for (unsigned i = 0; i < p->c->nports; i++) {
		const struct cfg_port *port = &p->c->ports[i];
		int line = key_line(p, i, "addresses");

		total += port->naddrs ? port->naddrs : 1;
		if (total > CFG_MAX_BATTERIES) {
			report(p, line ? line : port->line,
			       "[port %s] brings the number of batteries to "
			       "%u; at most %d are supported",
			       port->name, total, CFG_MAX_BATTERIES);
			return;
		}
	}
	if (total % p->c->series) {
		find_key(SECT_GENERAL, "series", &si);
		report(p, p->seen[0][si],
		       "series: %u batteries cannot form strings of %u (the "
		       "number of batteries must be a multiple of series)",
		       total, p->c->series);
	}
}

static void check_file(struct cfg_parse *p)
{
	if (!p->any_port_section) {
		report(p, 0,
		       "no [port NAME] section: at least one battery port is "
		       "required");
		return;
	}
	for (unsigned i = 0; i < p->c->nports; i++) {
		check_required(p, i);
		check_devices(p, i);
		check_addressing(p, i);
	}
	if (p->c->nports)
		check_counts(p);
}

static int parse(struct cfg *c, const char *name, FILE *f, const char *str,
		 FILE *errs)
{
	struct cfg_parse *p = calloc(1, sizeof(*p));
	struct cfg *tmp = malloc(sizeof(*tmp));
	int r, nerr;

	if (!p || !tmp) {
		free(p);
		free(tmp);
		if (errs)
			fprintf(errs, "%s: out of memory\n", name);
		return 1;
	}
	cfg_defaults(tmp);
	p->c = tmp;
	p->name = name;
	p->errs = errs;
	p->f = f;
	p->str = str;
	r = ini_parse_stream(read_line, p, on_key, p);
	if (r > 0 && r != p->first_syntax_line)
		report(p, r, "syntax error"); /* one we did not foresee */
	else if (r < 0)
		report(p, 0, "cannot parse (inih error %d)", r);
	if (f && ferror(f))
		report(p, 0, "read error: %s", strerror(errno));
	else
		check_file(p);
	nerr = p->nerr;
	if (nerr == 0)
		*c = *tmp;
	free(p);
	free(tmp);
	return nerr;
}

int cfg_load(struct cfg *c, const char *path, FILE *errs)
{
	FILE *f = fopen(path, "re");
	int n;

	if (!f) {
		if (errs)
			fprintf(errs, "%s: cannot open: %s\n", path,
				strerror(errno));
		return 1;
	}
	n = parse(c, path, f, NULL, errs);
	fclose(f);
	return n;
}

int cfg_load_string(struct cfg *c, const char *name, const char *text,
		    FILE *errs)
{
	return parse(c, name, NULL, text, errs);
}

/* ---- documentation ------------------------------------------------------ */

static const char *default_text(const struct cfg_key *k)
{
	if (k->def)
		return k->def;
	return k->required ? "(required)" : "(protocol default)";
}

static void range_text(const struct cfg_key *k, char *buf, size_t n)
{
	if (k->min || k->max)
		snprintf(buf, n, "%s..%s", k->min ? k->min : "0",
			 k->max ? k->max : "");
	else if (k->type == T_BOOL)
		snprintf(buf, n, "%s", BOOL_WORDS);
	else if (k->type == T_LOGLEVEL)
		snprintf(buf, n, "%s", LOGLEVEL_WORDS);
	else if (k->type == T_PROTOCOL)
		snprintf(buf, n, "%s", drv_names());
	else if (k->type == T_ADDRLIST)
		snprintf(buf, n, "0..%d, at most %d", CFG_MAX_ADDR,
			 CFG_MAX_ADDRS);
	else
		snprintf(buf, n, "-");
}

void cfg_print_keys(FILE *out)
{
	char range[256];

	for (size_t i = 0; i < NKEYS; i++) {
		range_text(&keys[i], range, sizeof(range));
		fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\n",
			sect_names[keys[i].sect], keys[i].key,
			type_names[keys[i].type], default_text(&keys[i]), range,
			keys[i].desc);
	}
}
