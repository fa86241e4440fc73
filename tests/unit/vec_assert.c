/* SPDX-License-Identifier: MIT */
/* vec_assert.c - see vec_assert.h. */
#include "vec_assert.h"

#include <check.h>
#include <math.h>
#include <stdio.h>

const char *vec_data_path(const char *name)
{
	static char path[VEC_PATH_LEN];

	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, name);
	return path;
}

void vec_load_capture(const char *name, struct vec_capture *cap)
{
	char err[512] = "";
	int rc = vec_capture_load(vec_data_path(name), cap, err, sizeof(err));

	ck_assert_msg(rc == 0, "%s", err);
}

void vec_load_expect(const char *name, struct vec_expect *e)
{
	char err[512] = "";
	int rc = vec_expect_load(vec_data_path(name), e, err, sizeof(err));

	ck_assert_msg(rc == 0, "%s", err);
}

double vec_want_double(const struct vec_expect *e, const struct vec_kv *kv)
{
	char err[512] = "";
	double v = 0;

	ck_assert_msg(vec_kv_double(e, kv, &v, err, sizeof(err)) == 0, "%s",
		      err);
	return v;
}

long vec_want_long(const struct vec_expect *e, const struct vec_kv *kv)
{
	char err[512] = "";
	long v = 0;

	ck_assert_msg(vec_kv_long(e, kv, &v, err, sizeof(err)) == 0, "%s", err);
	return v;
}

void vec_assert_near(const struct vec_kv *kv, double got, double want)
{
	ck_assert_msg(fabs(got - want) < VEC_TOL,
		      "line %u: %s: got %.9g, want %.9g", kv->line, kv->key,
		      got, want);
}

void vec_assert_list(const struct vec_expect *e, const struct vec_kv *kv,
		     const double *got, unsigned ngot)
{
	double want[64];
	char err[512] = "";
	size_t n = 0;

	ck_assert_msg(vec_kv_doubles(e, kv, want, 64, &n, err, sizeof(err)) ==
			      0,
		      "%s", err);
	ck_assert_msg(n == ngot, "line %u: %s: got %u values, want %zu",
		      kv->line, kv->key, ngot, n);
	for (size_t i = 0; i < n; i++)
		vec_assert_near(kv, got[i], want[i]);
}
