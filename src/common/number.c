/* SPDX-License-Identifier: MIT */
/*
 * number.c - strict numbers and durations (see number.h).
 */
#include "number.h"

#include <string.h>

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Decimal digits at *s, at most keep of them in *v; their count. */
static size_t digits(const char **s, uint64_t *v, size_t keep)
{
	const char *p = *s;
	size_t n = 0;

	*v = 0;
	for (; is_digit(*p); p++, n++)
		if (n < keep)
			*v = *v * 10 + (uint64_t)(*p - '0');
	*s = p;
	return n;
}

/* Decimal digits at *s into *v, saturating at UINT64_MAX / 100 so that a
 * caller sees "out of range" rather than a wrapped value; their count. */
size_t num_digits(const char **s, uint64_t *v)
{
	const char *p = *s;
	size_t n = 0;

	*v = 0;
	for (; is_digit(*p); p++, n++)
		if (*v < UINT64_MAX / 100)
			*v = *v * 10 + (uint64_t)(*p - '0');
	*s = p;
	return n;
}

bool num_decimal(const char *s, double *v, unsigned *decimals, const char **end)
{
	const char *p = s;
	bool neg = *p == '-';
	uint64_t whole, frac = 0, scale = 1;
	size_t nw, nf = 0;

	if (neg)
		p++;
	nw = digits(&p, &whole, NUM_MAX_WHOLE);
	if (nw == 0)
		return false;
	if (*p == '.') {
		p++;
		nf = digits(&p, &frac, NUM_MAX_DECIMALS);
		if (nf == 0)
			return false;
		for (size_t i = 0; i < nf && i < NUM_MAX_DECIMALS; i++)
			scale *= 10;
	}
	if (nw > NUM_MAX_WHOLE)
		*v = NUM_HUGE;
	else
		*v = (double)(whole * scale + frac) / (double)scale;
	if (neg && *v != 0)
		*v = -*v;
	*decimals = (unsigned)nf;
	*end = p;
	return true;
}

bool num_decimal_all(const char *s, double *v, unsigned *decimals)
{
	const char *end;

	return num_decimal(s, v, decimals, &end) && *end == '\0';
}

bool num_uint(const char *s, uint64_t *v)
{
	const char *p = s;

	return num_digits(&p, v) > 0 && *p == '\0';
}

enum num_duration_error num_duration_ms(const char *s, uint64_t *ms)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	const char *p = s;
	uint64_t whole, frac = 0, thousandths;
	size_t i, nd;

	if (num_digits(&p, &whole) == 0)
		return NUM_DURATION_NOT;
	if (*p == '.') {
		p++;
		nd = digits(&p, &frac, 3);
		if (nd == 0 || nd > 3)
			return NUM_DURATION_NOT;
		for (; nd < 3; nd++)
			frac *= 10;
	}
	if (*p == '\0')
		return NUM_DURATION_NO_UNIT;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(p, units[i].unit) == 0)
			break;
	if (i == sizeof(units) / sizeof(units[0]))
		return NUM_DURATION_NOT;
	if (whole > UINT64_MAX / 1000 / 3600000) {
		*ms = UINT64_MAX; /* out of any range */
		return NUM_DURATION_OK;
	}
	thousandths = (whole * 1000 + frac) * units[i].ms;
	if (thousandths % 1000)
		return NUM_DURATION_FRACTION;
	*ms = thousandths / 1000;
	return NUM_DURATION_OK;
}
