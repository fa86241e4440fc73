/* SPDX-License-Identifier: MIT */
/*
 * vectors.c - readers for the capture (.cap) and expectation (.expect)
 * files of tests/data. See vectors.h for the formats.
 */
#include "vectors.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VEC_MAX_FRAME 1024

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static char *skip_blanks(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Drop trailing blanks and line ends in place. */
static void rstrip(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Nothing but blanks, or blanks then a comment, from s on. */
static int only_comment(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return *s == '\0' || *s == '#';
}

static long parse_ascii_frame(const char *t, uint8_t *buf, size_t cap,
			      char *err, size_t errlen)
{
	size_t n = 0;

	while (t[n] && t[n] != ' ' && t[n] != '\t')
		n++;
	if (!only_comment(t + n)) {
		seterr(err, errlen, "text after the ASCII frame");
		return -1;
	}
	if (n + 1 > cap) {
		seterr(err, errlen, "frame longer than %zu bytes", cap);
		return -1;
	}
	memcpy(buf, t, n);
	buf[n++] = '\r'; /* implied by the format */
	return (long)n;
}

static long parse_hex_frame(const char *t, uint8_t *buf, size_t cap, char *err,
			    size_t errlen)
{
	size_t n = 0;

	for (;;) {
		int hi = hexval(t[0]), lo = hi < 0 ? -1 : hexval(t[1]);

		if (hi < 0 || lo < 0) {
			seterr(err, errlen, "bad hex byte at \"%.8s\"", t);
			return -1;
		}
		if (n == cap) {
			seterr(err, errlen, "frame longer than %zu bytes", cap);
			return -1;
		}
		buf[n++] = (uint8_t)(hi << 4 | lo);
		t += 2;
		if (*t == ':') {
			t++;
			continue;
		}
		if (only_comment(t))
			return (long)n;
		if (*t != ' ' && *t != '\t') {
			seterr(err, errlen, "bad separator at \"%.8s\"", t);
			return -1;
		}
		while (*t == ' ' || *t == '\t')
			t++;
	}
}

long vec_parse_frame(const char *text, uint8_t *buf, size_t cap, char *err,
		     size_t errlen)
{
	while (*text == ' ' || *text == '\t')
		text++;
	if (only_comment(text)) {
		seterr(err, errlen, "empty frame");
		return -1;
	}
	if (*text == '~')
		return parse_ascii_frame(text, buf, cap, err, errlen);
	return parse_hex_frame(text, buf, cap, err, errlen);
}

static int capture_add(struct vec_capture *cap, enum vec_dir dir, unsigned line,
		       const uint8_t *data, size_t len)
{
	struct vec_frame *f;
	uint8_t *copy = malloc(len);

	if (!copy)
		return -1;
	f = realloc(cap->frames, (cap->n + 1) * sizeof(*f));
	if (!f) {
		free(copy);
		return -1;
	}
	memcpy(copy, data, len);
	cap->frames = f;
	cap->frames[cap->n++] = (struct vec_frame){
		.dir = dir, .line = line, .len = len, .data = copy};
	return 0;
}

/* One capture line; 0 ok, -1 error (err says why, without file:line). */
static int capture_line(struct vec_capture *cap, char *s, unsigned line,
			char *err, size_t errlen)
{
	uint8_t buf[VEC_MAX_FRAME];
	enum vec_dir dir;
	long len;

	s = skip_blanks(s);
	if (only_comment(s))
		return 0;
	if (strncmp(s, ">>>", 3) == 0)
		dir = VEC_HOST;
	else if (strncmp(s, "<<<", 3) == 0)
		dir = VEC_BATTERY;
	else {
		seterr(err, errlen, "expected \">>>\", \"<<<\" or \"#\"");
		return -1;
	}
	if (s[3] != ' ' && s[3] != '\t') {
		seterr(err, errlen, "expected a blank after the direction");
		return -1;
	}
	len = vec_parse_frame(s + 3, buf, sizeof(buf), err, errlen);
	if (len < 0)
		return -1;
	if (capture_add(cap, dir, line, buf, (size_t)len) < 0) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Calls fn for every line of path; stops at the first error. */
static int for_lines(const char *path, void *ctx,
		     int (*fn)(void *ctx, char *s, unsigned line, char *err,
			       size_t errlen),
		     char *err, size_t errlen)
{
	char why[256] = "";
	char *buf = NULL;
	size_t bufcap = 0;
	unsigned line = 0;
	int rc = 0;
	FILE *fp = fopen(path, "r");

	if (!fp) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && getline(&buf, &bufcap, fp) >= 0) {
		line++;
		rstrip(buf);
		rc = fn(ctx, buf, line, why, sizeof(why));
		if (rc < 0)
			seterr(err, errlen, "%s:%u: %s", path, line, why);
	}
	if (rc == 0 && ferror(fp)) {
		seterr(err, errlen, "%s: read error", path);
		rc = -1;
	}
	free(buf);
	fclose(fp);
	return rc;
}

static int capture_cb(void *ctx, char *s, unsigned line, char *err,
		      size_t errlen)
{
	return capture_line(ctx, s, line, err, errlen);
}

int vec_capture_load(const char *path, struct vec_capture *cap, char *err,
		     size_t errlen)
{
	memset(cap, 0, sizeof(*cap));
	snprintf(cap->path, sizeof(cap->path), "%s", path);
	if (for_lines(path, cap, capture_cb, err, errlen) < 0) {
		vec_capture_free(cap);
		return -1;
	}
	return 0;
}

void vec_capture_free(struct vec_capture *cap)
{
	for (size_t i = 0; i < cap->n; i++)
		free(cap->frames[i].data);
	free(cap->frames);
	cap->frames = NULL;
	cap->n = 0;
}

static int valid_key(const char *k)
{
	if (!*k)
		return 0;
	for (; *k; k++)
		if (!isalnum((unsigned char)*k) && !strchr("_.-", *k))
			return 0;
	return 1;
}

/* A '#' at the start or after a blank starts a comment. */
static void cut_comment(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	rstrip(s);
}

static int expect_add(struct vec_expect *e, unsigned line, const char *key,
		      const char *value)
{
	struct vec_kv *kv = realloc(e->kv, (e->n + 1) * sizeof(*kv));
	char *k = strdup(key), *v = strdup(value);

	if (kv)
		e->kv = kv;
	if (!kv || !k || !v) {
		free(k);
		free(v);
		return -1;
	}
	e->kv[e->n++] = (struct vec_kv){.line = line, .key = k, .value = v};
	return 0;
}

static int expect_cb(void *ctx, char *s, unsigned line, char *err,
		     size_t errlen)
{
	struct vec_expect *e = ctx;
	char *eq, *key, *value;

	cut_comment(s);
	s = skip_blanks(s);
	if (!*s)
		return 0;
	eq = strchr(s, '=');
	if (!eq) {
		seterr(err, errlen, "expected \"key = value\"");
		return -1;
	}
	*eq = '\0';
	key = s;
	rstrip(key);
	value = skip_blanks(eq + 1);
	if (!valid_key(key)) {
		seterr(err, errlen, "bad key \"%s\"", key);
		return -1;
	}
	if (vec_expect_find(e, key)) {
		seterr(err, errlen, "duplicate key \"%s\"", key);
		return -1;
	}
	if (expect_add(e, line, key, value) < 0) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int vec_expect_load(const char *path, struct vec_expect *e, char *err,
		    size_t errlen)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->path, sizeof(e->path), "%s", path);
	if (for_lines(path, e, expect_cb, err, errlen) < 0) {
		vec_expect_free(e);
		return -1;
	}
	return 0;
}

void vec_expect_free(struct vec_expect *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->kv[i].key);
		free(e->kv[i].value);
	}
	free(e->kv);
	e->kv = NULL;
	e->n = 0;
}

const struct vec_kv *vec_expect_find(const struct vec_expect *e,
				     const char *key)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->kv[i].key, key) == 0)
			return &e->kv[i];
	return NULL;
}

/* One number, optionally followed by blanks, and nothing else. */
static int parse_double(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(v))
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

int vec_kv_double(const struct vec_expect *e, const struct vec_kv *kv,
		  double *out, char *err, size_t errlen)
{
	if (parse_double(kv->value, out) < 0) {
		seterr(err, errlen, "%s:%u: %s: not a number: \"%s\"", e->path,
		       kv->line, kv->key, kv->value);
		return -1;
	}
	return 0;
}

int vec_kv_long(const struct vec_expect *e, const struct vec_kv *kv, long *out,
		char *err, size_t errlen)
{
	const char *s = kv->value;
	int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, hex ? 16 : 10);
	if (end == s || *end || errno != 0) {
		seterr(err, errlen, "%s:%u: %s: not an integer: \"%s\"",
		       e->path, kv->line, kv->key, kv->value);
		return -1;
	}
	*out = v;
	return 0;
}

int vec_kv_doubles(const struct vec_expect *e, const struct vec_kv *kv,
		   double *out, size_t max, size_t *n, char *err, size_t errlen)
{
	char *copy = strdup(kv->value), *p, *save = NULL;
	size_t count = 0;
	int rc = 0;

	if (!copy) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	/* strtok_r would merge empty items ("1,,2"): split by hand. */
	for (p = copy; rc == 0; p = save + 1) {
		save = strchr(p, ',');
		if (save)
			*save = '\0';
		if (count == max) {
			seterr(err, errlen, "%s:%u: %s: more than %zu values",
			       e->path, kv->line, kv->key, max);
			rc = -1;
		} else if (parse_double(skip_blanks(p), &out[count]) < 0) {
			seterr(err, errlen, "%s:%u: %s: item %zu: not a number",
			       e->path, kv->line, kv->key, count + 1);
			rc = -1;
		} else {
			count++;
		}
		if (!save)
			break;
	}
	free(copy);
	*n = count;
	return rc;
}
