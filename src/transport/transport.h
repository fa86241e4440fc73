/* SPDX-License-Identifier: MIT */
/*
 * transport.h - the byte-pipe seam between the chain and the hardware.
 *
 * Implementations: libserialport for real serial devices (transport_sp.c),
 * plain termios for pseudo-terminals, which libserialport 0.1.1 cannot open
 * (transport_tty.c), and TCP for RS485-to-Ethernet gateways
 * (transport_tcp.c). Every transport is non-blocking and exposes a file
 * descriptor for the event loop; serial ports are locked with flock() so
 * two processes never share one.
 */
#ifndef SMALLBMS_TRANSPORT_H
#define SMALLBMS_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct transport;

struct transport_ops {
	const char *kind;
	ssize_t (*read)(struct transport *t, void *buf, size_t len);
	ssize_t (*write)(struct transport *t, const void *buf, size_t len);
	/* Drop anything buffered in either direction. */
	void (*flush)(struct transport *t);
	void (*close)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
	int fd;         /* pollable, non-blocking */
	char path[256]; /* resolved device path, for messages */
	/* The adapter's identity: its USB serial number, "" when none is
	 * known (a pty, a TCP gateway, a UART, an adapter without one). */
	char serial[128];
};

/*
 * Open spec at baud (8N1, no flow control). spec is a device path (symlinks
 * such as /dev/serial/by-id/... are resolved first) or tcp://HOST:PORT for
 * an RS485-to-TCP gateway. Devices: pseudo-terminals use termios,
 * everything else libserialport. On failure returns NULL and writes a
 * message to err.
 */
struct transport *transport_open(const char *spec, unsigned baud, char *err,
				 size_t errlen);

/* Individual implementations, for tests and for transport_open(). */
struct transport *transport_tty_open(const char *path, unsigned baud, char *err,
				     size_t errlen);
struct transport *transport_sp_open(const char *path, unsigned baud, char *err,
				    size_t errlen);
/* "tcp://HOST:PORT": an RS485-to-TCP gateway; baud is the gateway's. */
struct transport *transport_tcp_open(const char *spec, char *err,
				     size_t errlen);
bool transport_is_tcp(const char *spec);

static inline ssize_t transport_read(struct transport *t, void *b, size_t n)
{
	return t->ops->read(t, b, n);
}
static inline ssize_t transport_write(struct transport *t, const void *b,
				      size_t n)
{
	return t->ops->write(t, b, n);
}
static inline void transport_flush(struct transport *t)
{
	t->ops->flush(t);
}
void transport_close(struct transport *t);

/* Take an exclusive, non-blocking flock() on fd; -1 with err set if held. */
int transport_lock(int fd, const char *path, char *err, size_t errlen);

/*
 * Find the serial port of the USB adapter whose USB serial number (iSerial)
 * is usb_serial and write its device path (e.g. /dev/ttyUSB0) to path.
 * Returns 0, or -1 with errno: ENOENT no such adapter plugged in, EEXIST
 * more than one port carries that serial (multi-port adapters: configure
 * the /dev/serial/by-id/ name instead), ENAMETOOLONG path too small,
 * EINVAL bad arguments, or the error of listing the ports. Listing opens
 * every 8250-driver UART to probe it: call this when (re)connecting, not
 * at every poll.
 */
int transport_sp_find_by_serial(const char *usb_serial, char *path, size_t len);

/* For implementations: format a message into err (NULL-safe, truncates). */
void transport_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
