/* SPDX-License-Identifier: MIT */
/*
 * fuzz_check.h - the checks every fuzz target makes of what a parser gave
 * back: a violated contract aborts, which libFuzzer reports as a crash
 * with the input that caused it.
 */
#ifndef SMALLBMS_FUZZ_CHECK_H
#define SMALLBMS_FUZZ_CHECK_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static inline void require(int ok)
{
	if (!ok)
		abort();
}

/* A text field: NUL-terminated inside its cap, printable ASCII only. */
static inline void check_text(const char *s, size_t cap)
{
	const char *end = memchr(s, '\0', cap);

	require(end != NULL);
	for (; s < end; s++)
		require(*s >= 0x20 && *s < 0x7f);
}

#endif
