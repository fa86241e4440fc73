/* SPDX-License-Identifier: MIT */
/*
 * log.h - logging to journald with structured fields, or readable lines on
 * stderr when stderr is not connected to the journal.
 */
#ifndef SMALLBMS_LOG_H
#define SMALLBMS_LOG_H

#include <stddef.h>
#include <syslog.h>

/* Decide the sink (journal or stderr) and the maximum priority shown. */
void log_init(const char *ident, int max_priority);
void log_set_max_priority(int max_priority);

void log_msg(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A structured event: message_id is a 128-bit id as 32 hex digits (the
 * catalog key); fields is a NULL-terminated list of "KEY=value" strings
 * added to the journal entry (on stderr they follow the message).
 */
void log_event(int priority, const char *message_id, const char *const *fields,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_err(...)    log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
