/* SPDX-License-Identifier: MIT */
/*
 * vectors.h - readers for the test vectors in tests/data (see SOURCES.md):
 *
 * capture (.cap): one frame per line, "#" starts a comment,
 *   >>> FRAME   what the host sent
 *   <<< FRAME   what the battery answered
 * FRAME is hex bytes separated by ':' or blanks ("DD A5 03", "dd:a5:03"),
 * or an ASCII frame starting with '~' (a CR is appended: it is implied).
 *
 * expectations (.expect): "key = value" lines, "#" comments (whole-line,
 * or after a blank at the end of a line). Values are kept as strings;
 * helpers convert them. Every error names file:line.
 *
 * Protocol-independent: used by every driver's test.
 */
#ifndef SMALLBMS_TEST_VECTORS_H
#define SMALLBMS_TEST_VECTORS_H

#include <stddef.h>
#include <stdint.h>

#define VEC_PATH_LEN 512

enum vec_dir {
	VEC_HOST,    /* ">>>": sent by the host */
	VEC_BATTERY, /* "<<<": sent by the battery */
};

struct vec_frame {
	enum vec_dir dir;
	unsigned line;
	size_t len;
	uint8_t *data;
};

struct vec_capture {
	char path[VEC_PATH_LEN];
	size_t n;
	struct vec_frame *frames;
};

struct vec_kv {
	unsigned line;
	char *key;
	char *value;
};

struct vec_expect {
	char path[VEC_PATH_LEN];
	size_t n;
	struct vec_kv *kv;
};

/* Load a capture; 0 on success, -1 with "file:line: why" in err. */
int vec_capture_load(const char *path, struct vec_capture *cap, char *err,
		     size_t errlen);
void vec_capture_free(struct vec_capture *cap);

/* Load expectations (keys must be unique); 0 or -1 with err. */
int vec_expect_load(const char *path, struct vec_expect *e, char *err,
		    size_t errlen);
void vec_expect_free(struct vec_expect *e);

/* The entry for key, or NULL. */
const struct vec_kv *vec_expect_find(const struct vec_expect *e,
				     const char *key);

/* Value conversions; 0 or -1 with "file:line: key: why" in err. */
int vec_kv_double(const struct vec_expect *e, const struct vec_kv *kv,
		  double *out, char *err, size_t errlen);
/* Decimal or 0x-prefixed hexadecimal. */
int vec_kv_long(const struct vec_expect *e, const struct vec_kv *kv, long *out,
		char *err, size_t errlen);
/* Comma-separated doubles; *n is set to how many (at most max). */
int vec_kv_doubles(const struct vec_expect *e, const struct vec_kv *kv,
		   double *out, size_t max, size_t *n, char *err,
		   size_t errlen);

/* Parse one capture frame text (after the marker) into buf; returns the
 * length, or -1 with the reason in err. Exposed for tests of the reader. */
long vec_parse_frame(const char *text, uint8_t *buf, size_t cap, char *err,
		     size_t errlen);

#endif
