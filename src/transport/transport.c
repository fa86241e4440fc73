/* SPDX-License-Identifier: MIT */
/*
 * transport.c - choosing a transport for a configured device, and what
 * all transports share: error messages and the port lock.
 */
#include <errno.h>
#include <limits.h>
#include <linux/major.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "transport.h"

void transport_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int transport_lock(int fd, const char *path, char *err, size_t errlen)
{
	int saved;

	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	saved = errno;
	if (saved == EWOULDBLOCK)
		transport_errf(err, errlen,
			       "%s is in use by another process (locked)",
			       path);
	else
		transport_errf(err, errlen, "%s: cannot lock: %s", path,
			       strerror(saved));
	errno = saved;
	return -1;
}

void transport_close(struct transport *t)
{
	if (t)
		t->ops->close(t);
}

/*
 * Unix98 pty slaves (/dev/pts/N) are the only character devices with the
 * majors 136..143; the kernel reserves that range for them. The number is
 * checked rather than the /dev/pts prefix because the spec may be a link
 * anywhere (tests and simulators put links in their own directories).
 */
static int is_pty_slave(const struct stat *st)
{
	unsigned int maj;

	if (!S_ISCHR(st->st_mode))
		return 0;
	maj = major(st->st_rdev);
	return maj >= UNIX98_PTY_SLAVE_MAJOR &&
	       maj < UNIX98_PTY_SLAVE_MAJOR + UNIX98_PTY_MAJOR_COUNT;
}

/*
 * realpath() failed on spec with errno e: say which path the user
 * configured and, when it is a symbolic link, where the link points, so
 * "/dev/serial/by-id/... -> ../../ttyUSB0" tells them the adapter is gone.
 */
static void explain_missing(const char *spec, int e, char *err, size_t errlen)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (lstat(spec, &st) == 0 && S_ISLNK(st.st_mode)) {
		n = readlink(spec, target, sizeof(target) - 1);
		if (n >= 0) {
			target[n] = '\0';
			transport_errf(err, errlen,
				       "%s: %s (symbolic link to %s)", spec,
				       e == ENOENT ? "no such device"
						   : strerror(e),
				       target);
			return;
		}
	}
	transport_errf(err, errlen, "%s: %s", spec,
		       e == ENOENT ? "no such device" : strerror(e));
}

struct transport *transport_open(const char *spec, unsigned baud, char *err,
				 size_t errlen)
{
	char real[PATH_MAX];
	struct stat st;

	if (!spec || !*spec) {
		transport_errf(err, errlen, "no serial device configured");
		return NULL;
	}
	if (transport_is_tcp(spec))
		return transport_tcp_open(spec, err, errlen);
	/* libserialport 0.1.1 does not resolve links itself: without this it
	 * cannot find the USB descriptors of a /dev/serial/by-id/ name. */
	if (!realpath(spec, real)) {
		explain_missing(spec, errno, err, errlen);
		return NULL;
	}
	if (stat(real, &st) != 0) {
		transport_errf(err, errlen, "%s: %s", real, strerror(errno));
		return NULL;
	}
	if (is_pty_slave(&st))
		return transport_tty_open(real, baud, err, errlen);
	return transport_sp_open(real, baud, err, errlen);
}
