/* SPDX-License-Identifier: MIT */
/*
 * client.h - what the parts of smallbmsctl share: the exit statuses, the
 * colours, and the view an answer is shown through.
 */
#ifndef SMALLBMS_CLIENT_H
#define SMALLBMS_CLIENT_H

#include <stdbool.h>

#define PROG "smallbmsctl"

enum exit_code {
	EX_OK = 0,
	EX_ANSWER = 1,     /* the daemon answered with an error */
	EX_USAGE = 2,      /* bad command line */
	EX_CONNECT = 3,    /* cannot connect: daemon not running */
	EX_PERMISSION = 4, /* EACCES, or a "permission-denied" answer */
	EX_PROTOCOL = 5,   /* bad or unexpected answer, timeout */
};

#define RED   "\033[31m"
#define GREEN "\033[32m"
#define BOLD  "\033[1m"
#define RESET "\033[0m"

/*
 * How one answer is shown: with colours or not, and the first key whose
 * value had the wrong type (then the answer cannot be trusted and nothing
 * of it is shown). Every formatter takes it; there is no global.
 */
struct view {
	bool color;
	const char *bad_key;
};

/* "smallbmsctl: MESSAGE" on stderr; returns code. */
int client_fail(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
