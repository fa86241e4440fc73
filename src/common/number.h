/* SPDX-License-Identifier: MIT */
/*
 * number.h - the one strict parser of numbers and durations, for the
 * configuration, the run-time settings and the socket's commands.
 *
 * By hand rather than with strtod()/strtol(): those accept blanks, a
 * leading '+', "inf", "nan", hex ("0x10" would be 16) and exponents, and
 * strtod follows the locale's decimal point. Here a number is
 * [-]digits[.digits] and nothing else; the value is one correctly rounded
 * division, so "2.80" is exactly the literal 2.80; "-0" is 0, never -0.0.
 */
#ifndef SMALLBMS_NUMBER_H
#define SMALLBMS_NUMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Digits kept: far more than any range here, few enough that the
 * mantissa and 10^decimals are exact doubles. Longer whole parts come
 * back as +-NUM_HUGE (out of every range); longer fractions are refused
 * by the callers, which say so. */
#define NUM_MAX_WHOLE    9
#define NUM_MAX_DECIMALS 9
#define NUM_HUGE         1e12

/*
 * A decimal number at the start of s: [-]digits[.digits]. On success
 * *v is its value, *decimals the digits after the point, and *end points
 * just after it (the caller decides what may follow: a unit, or nothing).
 * false when s does not start with one ("", "-", ".5", "2.", "+2", " 2").
 */
bool num_decimal(const char *s, double *v, unsigned *decimals,
		 const char **end);

/* Decimal digits at *s, which is moved past them: their count (0: none).
 * *v saturates at UINT64_MAX / 100 (out of any range, never wrapped). */
size_t num_digits(const char **s, uint64_t *v);

/* The whole of s is a decimal number (num_decimal with nothing after). */
bool num_decimal_all(const char *s, double *v, unsigned *decimals);

/* Decimal digits only, the whole of s ("0", "42"; not "", "-1", "+1",
 * " 1", "1.0", "0x1"). Saturates at UINT64_MAX / 100: out of any range. */
bool num_uint(const char *s, uint64_t *v);

enum num_duration_error {
	NUM_DURATION_OK,
	NUM_DURATION_NOT,      /* not a duration at all */
	NUM_DURATION_NO_UNIT,  /* "5": seconds or milliseconds? */
	NUM_DURATION_FRACTION, /* not a whole number of milliseconds */
};

/*
 * "250ms", "1s", "2.5s", "2m", "1h" (at most 3 decimals) in milliseconds.
 * A bare number has no unit and is refused. Huge values saturate at
 * UINT64_MAX (out of any range).
 */
enum num_duration_error num_duration_ms(const char *s, uint64_t *ms);

#endif
