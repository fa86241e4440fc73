/* SPDX-License-Identifier: MIT */
/*
 * vec_reading.h - the .expect keys every codec test shares, checked against
 * a decoded struct bms_reading (voltage, cells, temperatures, FETs,
 * protection, identity...). A test passes its protocol's own keys (or its
 * own meaning of a shared key) in a table that is searched first.
 */
#ifndef SMALLBMS_VEC_READING_H
#define SMALLBMS_VEC_READING_H

#include <stddef.h>

#include "reading.h"
#include "vec_assert.h"

/* ctx is what the test passed to vec_check_reading (its extra data). */
typedef void (*vec_check_fn)(const struct vec_expect *e,
			     const struct vec_kv *kv,
			     const struct bms_reading *r, const void *ctx);

struct vec_check {
	const char *key;
	vec_check_fn check;
};

/*
 * Check every key of e against r: a key in extra[0..nextra) first, then
 * the shared keys; an unknown key fails the test with file:line. Returns
 * how many keys were checked.
 */
unsigned vec_check_reading(const struct vec_expect *e,
			   const struct bms_reading *r,
			   const struct vec_check *extra, size_t nextra,
			   const void *ctx);

/* "on" or "off" (anything else fails the test). */
int vec_want_on(const struct vec_kv *kv);

#endif
