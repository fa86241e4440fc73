/* SPDX-License-Identifier: MIT */
#include "port_errors.h"

#include <stdio.h>

/* Port i's error while it is closed, else NULL (st is the caller's). */
static const char *closed_error(const struct chain *c, unsigned i,
				struct chain_port_stats *st)
{
	chain_port_stats(c, i, st);
	return !st->open && st->last_error[0] ? st->last_error : NULL;
}

bool port_errors_first(const struct chain *c, char *buf, size_t len)
{
	struct chain_port_stats st;

	buf[0] = '\0';
	for (unsigned i = 0; c && i < chain_port_count(c); i++) {
		const char *e = closed_error(c, i, &st);

		if (e) {
			snprintf(buf, len, "port %s: %s (retrying)",
				 chain_port_name(c, i), e);
			return true;
		}
	}
	return false;
}

json_t *port_errors_json(const struct chain *c)
{
	struct chain_port_stats st;
	json_t *a = json_array();

	for (unsigned i = 0; c && i < chain_port_count(c); i++) {
		const char *e = closed_error(c, i, &st);

		if (e)
			json_array_append_new(
				a, json_sprintf("port %s: %s",
						chain_port_name(c, i), e));
	}
	return a;
}
