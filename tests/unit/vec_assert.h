/* SPDX-License-Identifier: MIT */
/*
 * vec_assert.h - Check assertions over .expect values (tests/unit/vectors.h),
 * shared by the codec tests: a failure names the expect file's line and key.
 */
#ifndef SMALLBMS_VEC_ASSERT_H
#define SMALLBMS_VEC_ASSERT_H

#include "vectors.h"

/* Decoded values must match the expected ones within this. */
#define VEC_TOL 1e-6

/* tests/data/NAME (TEST_DATA_DIR comes from the build). */
const char *vec_data_path(const char *name);
/* Load tests/data/NAME or fail the test with the reader's message. */
void vec_load_capture(const char *name, struct vec_capture *cap);
void vec_load_expect(const char *name, struct vec_expect *e);

double vec_want_double(const struct vec_expect *e, const struct vec_kv *kv);
long vec_want_long(const struct vec_expect *e, const struct vec_kv *kv);
/* got within VEC_TOL of want, else a failure naming kv's line and key. */
void vec_assert_near(const struct vec_kv *kv, double got, double want);
/* got[0..ngot) equals the comma-separated list of kv, value by value. */
void vec_assert_list(const struct vec_expect *e, const struct vec_kv *kv,
		     const double *got, unsigned ngot);

#endif
