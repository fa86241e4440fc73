/* SPDX-License-Identifier: MIT */
/* vec_reading.c - see vec_reading.h. */
#include "vec_reading.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

int vec_want_on(const struct vec_kv *kv)
{
	ck_assert_msg(!strcmp(kv->value, "on") || !strcmp(kv->value, "off"),
		      "line %u: %s: want on or off", kv->line, kv->key);
	return strcmp(kv->value, "on") == 0;
}

static void near(const struct vec_expect *e, const struct vec_kv *kv,
		 double got)
{
	vec_assert_near(kv, got, vec_want_double(e, kv));
}

static void check_voltage(const struct vec_expect *e, const struct vec_kv *kv,
			  const struct bms_reading *r, const void *ctx)
{
	(void)ctx;
	near(e, kv, r->voltage);
}

static void check_current(const struct vec_expect *e, const struct vec_kv *kv,
			  const struct bms_reading *r, const void *ctx)
{
	(void)ctx;
	near(e, kv, r->current);
}

static void check_remaining(const struct vec_expect *e, const struct vec_kv *kv,
			    const struct bms_reading *r, const void *ctx)
{
	(void)ctx;
	near(e, kv, r->remaining_ah);
}

static void check_nominal(const struct vec_expect *e, const struct vec_kv *kv,
			  const struct bms_reading *r, const void *ctx)
{
	(void)ctx;
	near(e, kv, r->nominal_ah);
}

static void check_soc(const struct vec_expect *e, const struct vec_kv *kv,
		      const struct bms_reading *r, const void *ctx)
{
	(void)ctx;
	near(e, kv, r->soc);
}

static void check_cycles(const struct vec_expect *e, const struct vec_kv *kv,
			 const struct bms_reading *r, const void *ctx)
{
	(void)ctx;
	ck_assert_int_eq(r->cycles, vec_want_long(e, kv));
}

static void check_cells(const struct vec_expect *e, const struct vec_kv *kv,
			const struct bms_reading *r, const void *ctx)
{
	(void)ctx;
	ck_assert_int_eq(r->ncells, vec_want_long(e, kv));
}

static void check_cell_v(const struct vec_expect *e, const struct vec_kv *kv,
			 const struct bms_reading *r, const void *ctx)
{
	(void)ctx;
	vec_assert_list(e, kv, r->cell_v, r->ncells);
}

static double cell_extreme(const struct bms_reading *r, int max)
{
	double v = r->cell_v[0];

	for (unsigned i = 1; i < r->ncells; i++)
		if (max ? r->cell_v[i] > v : r->cell_v[i] < v)
			v = r->cell_v[i];
	return v;
}

static void check_min_cell(const struct vec_expect *e, const struct vec_kv *kv,
			   const struct bms_reading *r, const void *ctx)
{
	(void)ctx;
	ck_assert_uint_gt(r->ncells, 0);
	near(e, kv, cell_extreme(r, 0));
}

static void check_max_cell(const struct vec_expect *e, const struct vec_kv *kv,
			   const struct bms_reading *r, const void *ctx)
{
	(void)ctx;
	ck_assert_uint_gt(r->ncells, 0);
	near(e, kv, cell_extreme(r, 1));
}

static void check_temps(const struct vec_expect *e, const struct vec_kv *kv,
			const struct bms_reading *r, const void *ctx)
{
	(void)ctx;
	vec_assert_list(e, kv, r->temp_c, r->ntemps);
}

static void check_chg_fet(const struct vec_expect *e, const struct vec_kv *kv,
			  const struct bms_reading *r, const void *ctx)
{
	(void)e;
	(void)ctx;
	ck_assert_int_eq(r->charge_fet, vec_want_on(kv));
}

static void check_dsg_fet(const struct vec_expect *e, const struct vec_kv *kv,
			  const struct bms_reading *r, const void *ctx)
{
	(void)e;
	(void)ctx;
	ck_assert_int_eq(r->discharge_fet, vec_want_on(kv));
}

/* The battery's raw protection/alarm word, before mapping. */
static void check_protection(const struct vec_expect *e,
			     const struct vec_kv *kv,
			     const struct bms_reading *r, const void *ctx)
{
	(void)ctx;
	ck_assert_uint_eq(r->protection_raw, (uint32_t)vec_want_long(e, kv));
}

/* "none", or the comma-separated tokens of the mapped flags. */
static void check_protection_flags(const struct vec_expect *e,
				   const struct vec_kv *kv,
				   const struct bms_reading *r, const void *ctx)
{
	char got[512] = "";

	(void)e;
	(void)ctx;
	for (unsigned b = 0; b < BMS_PROT_COUNT; b++)
		if (r->protection & (1u << b))
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
				 "%s%s", got[0] ? ", " : "",
				 bms_protection_name(1u << b));
	ck_assert_str_eq(got[0] ? got : "none", kv->value);
}

/* An identity string: present (its have bit) and equal. */
static void check_text(const struct vec_kv *kv, const struct bms_reading *r,
		       unsigned have, const char *got)
{
	ck_assert_msg(r->have & have, "line %u: %s: not decoded", kv->line,
		      kv->key);
	ck_assert_str_eq(got, kv->value);
}

static void check_model(const struct vec_expect *e, const struct vec_kv *kv,
			const struct bms_reading *r, const void *ctx)
{
	(void)e;
	(void)ctx;
	check_text(kv, r, BMS_HAVE_MODEL, r->model);
}

static void check_firmware(const struct vec_expect *e, const struct vec_kv *kv,
			   const struct bms_reading *r, const void *ctx)
{
	(void)e;
	(void)ctx;
	check_text(kv, r, BMS_HAVE_FIRMWARE, r->firmware);
}

static void check_serial(const struct vec_expect *e, const struct vec_kv *kv,
			 const struct bms_reading *r, const void *ctx)
{
	(void)e;
	(void)ctx;
	check_text(kv, r, BMS_HAVE_SERIAL, r->serial);
}

static const struct vec_check shared[] = {
	{"voltage", check_voltage},
	{"current", check_current},
	{"remaining_ah", check_remaining},
	{"nominal_ah", check_nominal},
	{"soc", check_soc},
	{"cycles", check_cycles},
	{"cells", check_cells},
	{"cell_voltages", check_cell_v},
	{"min_cell", check_min_cell},
	{"max_cell", check_max_cell},
	{"temperatures", check_temps},
	{"charge_fet", check_chg_fet},
	{"discharge_fet", check_dsg_fet},
	{"protection", check_protection},
	{"protection_flags", check_protection_flags},
	{"model", check_model},
	{"firmware", check_firmware},
	{"serial", check_serial},
};

static vec_check_fn find(const struct vec_check *t, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].key, key) == 0)
			return t[i].check;
	return NULL;
}

unsigned vec_check_reading(const struct vec_expect *e,
			   const struct bms_reading *r,
			   const struct vec_check *extra, size_t nextra,
			   const void *ctx)
{
	for (size_t i = 0; i < e->n; i++) {
		const struct vec_kv *kv = &e->kv[i];
		vec_check_fn fn = find(extra, nextra, kv->key);

		if (!fn)
			fn = find(shared, sizeof(shared) / sizeof(shared[0]),
				  kv->key);
		ck_assert_msg(fn != NULL, "%s:%u: unknown key \"%s\"", e->path,
			      kv->line, kv->key);
		fn(e, kv, r, ctx);
	}
	return (unsigned)e->n;
}
