/* SPDX-License-Identifier: MIT */
/*
 * log.c - messages to journald (with structured fields) when stderr is
 * connected to the journal, otherwise "IDENT: LEVEL: message" on stderr.
 *
 * systemd documents the test: $JOURNAL_STREAM holds "DEVICE:INODE" of the
 * stream it connected, and it is ours only if it still matches stderr (a
 * child run from a shell inherits the variable with another stderr).
 */
#include "log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#define LOG_LINE_MAX   2048
#define LOG_MAX_FIELDS 32

static char log_ident[64] = "smallbmsd";
static int log_max = LOG_INFO;
static int log_journal;

static const char *const level_names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

static int stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (!e || sscanf(e, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

void log_init(const char *ident, int max_priority)
{
	if (ident)
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_set_max_priority(max_priority);
	log_journal = stderr_is_journal();
}

void log_set_max_priority(int max_priority)
{
	if (max_priority < LOG_EMERG)
		max_priority = LOG_EMERG;
	if (max_priority > LOG_DEBUG)
		max_priority = LOG_DEBUG;
	log_max = max_priority;
}

/* One line, one write: lines from several sources never interleave. */
static void to_stderr(int priority, const char *msg, const char *const *fields)
{
	char line[LOG_LINE_MAX + 512];
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "%s: %s: %s", log_ident,
			     level_names[priority], msg);
	for (size_t i = 0; fields && fields[i] && n < sizeof(line); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s",
				      i == 0 ? " [" : " ", fields[i]);
	if (fields && fields[0] && n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n, "]");
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2; /* truncated: keep the newline */
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

/*
 * iovec wants a non-const pointer but journald only reads it; going through
 * uintptr_t says so without a -Wcast-qual warning.
 */
static struct iovec iov_str(const char *s)
{
	return (struct iovec){.iov_base = (void *)(uintptr_t)s,
			      .iov_len = strlen(s)};
}

static int to_journal(int priority, const char *message_id, const char *msg,
		      const char *const *fields)
{
	struct iovec iov[LOG_MAX_FIELDS + 4];
	char m[LOG_LINE_MAX + 16], prio[16], ident[sizeof(log_ident) + 32];
	char id[64];
	size_t n = 0;

	snprintf(m, sizeof(m), "MESSAGE=%s", msg);
	snprintf(prio, sizeof(prio), "PRIORITY=%d", priority);
	snprintf(ident, sizeof(ident), "SYSLOG_IDENTIFIER=%s", log_ident);
	iov[n++] = iov_str(m);
	iov[n++] = iov_str(prio);
	iov[n++] = iov_str(ident);
	if (message_id) {
		snprintf(id, sizeof(id), "MESSAGE_ID=%s", message_id);
		iov[n++] = iov_str(id);
	}
	/* More fields than this is a programming error; keep the message. */
	for (size_t i = 0; fields && fields[i] && i < LOG_MAX_FIELDS; i++)
		iov[n++] = iov_str(fields[i]);
	return sd_journal_sendv(iov, (int)n);
}

__attribute__((format(printf, 4, 0))) static void
emit(int priority, const char *message_id, const char *const *fields,
     const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];

	priority &= LOG_PRIMASK; /* drop a facility, if one was given */
	if (priority > log_max)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* If the journal refuses, stderr is still better than nothing. */
	if (!log_journal || to_journal(priority, message_id, msg, fields) < 0)
		to_stderr(priority, msg, fields);
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(priority, NULL, NULL, fmt, ap);
	va_end(ap);
}

void log_event(int priority, const char *message_id, const char *const *fields,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(priority, message_id, fields, fmt, ap);
	va_end(ap);
}
