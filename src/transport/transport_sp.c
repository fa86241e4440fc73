/* SPDX-License-Identifier: MIT */
/*
 * transport_sp.c - the transport over libserialport, for real serial
 * devices (USB-serial adapters, UARTs).
 *
 * Locking: libserialport 0.1.1 (Debian bookworm) neither calls flock() nor
 * sets TIOCEXCL in sp_open() (checked with strace: open, TCGETS, TIOCMGET,
 * TIOCMBIS RTS/DTR, TCSETS, nothing else). Newer upstream sources do both,
 * flock(LOCK_EX|LOCK_NB) and then TIOCEXCL, inside sp_open() (not checked
 * for the 0.1.2 release in Debian trixie). Our own lock is flock() on the
 * same descriptor either way, which is a no-op when libserialport already
 * holds it; a port busy elsewhere then fails inside sp_open() with
 * EWOULDBLOCK (flock) or EBUSY (TIOCEXCL, which root ignores), and both
 * are reported as "in use".
 */
#include <errno.h>
#include <fcntl.h>
#include <libserialport.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transport.h"

struct serial_transport {
	struct transport base; /* first: the ops receive &base */
	struct sp_port *port;
};

static struct sp_port *port_of(struct transport *t)
{
	return ((struct serial_transport *)t)->port;
}

/* The errno for a failed libserialport call. */
static int sp_errno(enum sp_return r)
{
	int e;

	switch (r) {
	case SP_ERR_FAIL:
		/* Only after SP_ERR_FAIL is the OS error code meaningful. */
		e = sp_last_error_code();
		return e > 0 ? e : EIO;
	case SP_ERR_MEM:
		return ENOMEM;
	case SP_ERR_SUPP:
		return ENOTSUP;
	default:
		return EINVAL;
	}
}

/* "PATH: WHAT: reason" for a failed libserialport call. */
static void sp_explain(const char *path, const char *what, enum sp_return r,
		       char *err, size_t errlen)
{
	char *msg;

	if (r != SP_ERR_FAIL) {
		transport_errf(err, errlen, "%s: %s: %s", path, what,
			       r == SP_ERR_SUPP ? "not supported by the device"
						: strerror(sp_errno(r)));
		return;
	}
	msg = sp_last_error_message();
	transport_errf(err, errlen, "%s: %s: %s", path, what,
		       msg ? msg : "unknown error");
	sp_free_error_message(msg);
}

static ssize_t fail_with(enum sp_return r)
{
	errno = sp_errno(r);
	return -1;
}

/*
 * sp_nonblocking_read() returns 0 both when nothing is waiting (sp_open()
 * sets VMIN=0/VTIME=0, for which Linux answers an empty non-blocking read
 * with 0, not EAGAIN) and when the device is gone (a hung-up tty, e.g. an
 * unplugged adapter, reads as end of file and polls as POLLHUP forever).
 * Tell the two apart: the chain treats 0 as "device closed", and an event
 * loop that took a hangup for "no data" would spin.
 */
static ssize_t nothing_read(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	if (poll(&pfd, 1, 0) == 1 &&
	    (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)))
		return 0; /* end of file: the device is gone */
	errno = EAGAIN;
	return -1;
}

static ssize_t sp_read(struct transport *t, void *buf, size_t len)
{
	enum sp_return r;

	if (len == 0)
		return 0;
	r = sp_nonblocking_read(port_of(t), buf, len);
	if (r > 0)
		return r;
	if (r < 0)
		return fail_with(r);
	return nothing_read(t->fd);
}

static ssize_t sp_write(struct transport *t, const void *buf, size_t len)
{
	enum sp_return r;

	if (len == 0)
		return 0;
	r = sp_nonblocking_write(port_of(t), buf, len);
	if (r > 0)
		return r;
	if (r < 0)
		return fail_with(r); /* 0.1.1 reports a full buffer as EAGAIN */
	errno = EAGAIN;              /* later versions return 0 for it */
	return -1;
}

static void sp_flush_both(struct transport *t)
{
	sp_flush(port_of(t), SP_BUF_BOTH);
}

static void sp_close_free(struct transport *t)
{
	struct sp_port *port = port_of(t);

	sp_close(port); /* also drops the flock() */
	sp_free_port(port);
	free(t);
}

static const struct transport_ops sp_ops = {
	.kind = "serialport",
	.read = sp_read,
	.write = sp_write,
	.flush = sp_flush_both,
	.close = sp_close_free,
};

/*
 * sp_get_port_by_name() failed. 0.1.1 answers SP_ERR_ARG, with no OS error,
 * both for a missing device and for one without a /sys/class/tty entry
 * (not a tty, or a pty): find out which.
 */
static void explain_lookup(const char *path, enum sp_return r, char *err,
			   size_t errlen)
{
	struct stat st;

	if (r != SP_ERR_ARG) {
		sp_explain(path, "cannot look up the port", r, err, errlen);
		return;
	}
	if (stat(path, &st) != 0)
		transport_errf(err, errlen, "%s: %s", path,
			       errno == ENOENT ? "no such device"
					       : strerror(errno));
	else
		transport_errf(err, errlen,
			       "%s: not a serial port (the kernel lists no "
			       "tty device of that name)",
			       path);
}

static void explain_open(const char *path, enum sp_return r, char *err,
			 size_t errlen)
{
	int e = r == SP_ERR_FAIL ? sp_last_error_code() : 0;

	if (e == EWOULDBLOCK)
		transport_errf(err, errlen,
			       "%s is in use by another process (locked)",
			       path);
	else if (e == EBUSY)
		transport_errf(err, errlen,
			       "%s is in use by another process (exclusive)",
			       path);
	else if (e == EACCES)
		transport_errf(err, errlen,
			       "%s: permission denied (is the user in the "
			       "group owning the device, e.g. dialout?)",
			       path);
	else
		sp_explain(path, "cannot open", r, err, errlen);
}

/* Make the descriptor libserialport opened fit the event loop. */
static int adopt_fd(int fd, const char *path, char *err, size_t errlen)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		transport_errf(err, errlen, "%s: fcntl: %s", path,
			       strerror(errno));
		return -1;
	}
	return 0;
}

static int check(enum sp_return r, const char *path, const char *what,
		 char *err, size_t errlen)
{
	if (r == SP_OK)
		return 0;
	sp_explain(path, what, r, err, errlen);
	return -1;
}

static int configure(struct sp_port *port, const char *path, unsigned baud,
		     char *err, size_t errlen)
{
	char what[40];

	snprintf(what, sizeof(what), "cannot set %u baud", baud);
	if (check(sp_set_baudrate(port, (int)baud), path, what, err, errlen) ||
	    check(sp_set_bits(port, 8), path, "cannot set 8 data bits", err,
		  errlen) ||
	    check(sp_set_parity(port, SP_PARITY_NONE), path,
		  "cannot set no parity", err, errlen) ||
	    check(sp_set_stopbits(port, 1), path, "cannot set 1 stop bit", err,
		  errlen) ||
	    check(sp_set_flowcontrol(port, SP_FLOWCONTROL_NONE), path,
		  "cannot turn flow control off", err, errlen))
		return -1;
	return 0;
}

/* Everything after sp_open(): the port is open, s owns it. */
static int setup(struct serial_transport *s, const char *path, unsigned baud,
		 char *err, size_t errlen)
{
	enum sp_return r;
	int fd;

	r = sp_get_port_handle(s->port, &fd);
	if (r != SP_OK) {
		sp_explain(path, "no file descriptor", r, err, errlen);
		return -1;
	}
	s->base.fd = fd;
	/* The lock comes after sp_open(), which in 0.1.1 has already
	 * rewritten the termios (raw, same speed) and raised RTS and DTR, even
	 * of a port another process holds; the speed, which is what would
	 * break that process, is only changed once we hold the lock. */
	if (adopt_fd(fd, path, err, errlen) ||
	    transport_lock(fd, path, err, errlen) ||
	    configure(s->port, path, baud, err, errlen))
		return -1;
	return 0;
}

/* A USB adapter's serial number (iSerial), so that the chain can tell
 * the adapter it had from another one given the same device name after a
 * replug; "" for other ports and adapters without one. */
static void adapter_serial(struct sp_port *port, char *out, size_t len)
{
	const char *sn = NULL;

	if (sp_get_port_transport(port) == SP_TRANSPORT_USB)
		sn = sp_get_port_usb_serial(port);
	snprintf(out, len, "%s", sn ? sn : "");
}

struct transport *transport_sp_open(const char *path, unsigned baud, char *err,
				    size_t errlen)
{
	struct serial_transport *s;
	struct sp_port *port;
	enum sp_return r;

	if (baud == 0 || baud > INT_MAX) {
		transport_errf(err, errlen, "%s: unsupported baud rate %u",
			       path, baud);
		return NULL;
	}
	if (strlen(path) >= sizeof(s->base.path)) {
		transport_errf(err, errlen, "%s: path too long", path);
		return NULL;
	}
	r = sp_get_port_by_name(path, &port);
	if (r != SP_OK) {
		explain_lookup(path, r, err, errlen);
		return NULL;
	}
	r = sp_open(port, SP_MODE_READ_WRITE);
	if (r != SP_OK) {
		explain_open(path, r, err, errlen);
		sp_free_port(port);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		transport_errf(err, errlen, "%s: out of memory", path);
		sp_close(port);
		sp_free_port(port);
		return NULL;
	}
	s->base.ops = &sp_ops;
	s->port = port;
	strcpy(s->base.path, path); /* length checked above */
	adapter_serial(port, s->base.serial, sizeof(s->base.serial));
	if (setup(s, path, baud, err, errlen) != 0) {
		sp_close_free(&s->base);
		return NULL;
	}
	return &s->base;
}

/* Copy the name of the only port in ports whose USB serial is usb_serial. */
static int pick_by_serial(struct sp_port **ports, const char *usb_serial,
			  char *path, size_t len)
{
	const char *found = NULL;
	const char *serial;

	for (size_t i = 0; ports[i]; i++) {
		if (sp_get_port_transport(ports[i]) != SP_TRANSPORT_USB)
			continue;
		serial = sp_get_port_usb_serial(ports[i]);
		if (!serial || strcmp(serial, usb_serial) != 0)
			continue;
		if (found) {
			errno = EEXIST; /* picking one could be the wrong one */
			return -1;
		}
		found = sp_get_port_name(ports[i]);
	}
	if (!found) {
		errno = ENOENT;
		return -1;
	}
	if (strlen(found) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(path, found);
	return 0;
}

int transport_sp_find_by_serial(const char *usb_serial, char *path, size_t len)
{
	struct sp_port **ports;
	enum sp_return r;
	int ret, saved;

	if (!usb_serial || !*usb_serial || !path || len == 0) {
		errno = EINVAL;
		return -1;
	}
	r = sp_list_ports(&ports);
	if (r != SP_OK) {
		errno = sp_errno(r);
		return -1;
	}
	ret = pick_by_serial(ports, usb_serial, path, len);
	saved = errno;
	sp_free_port_list(ports);
	errno = saved;
	return ret;
}
