/* SPDX-License-Identifier: MIT */
/*
 * transport_tty.c - the transport over plain termios, for pseudo-terminals
 * (the battery simulator, socat links), which libserialport 0.1.1 cannot
 * open: it looks every port up in /sys/class/tty, where ptys have no entry.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "transport.h"

struct baud_speed {
	unsigned baud;
	speed_t speed;
};

static const struct baud_speed baud_table[] = {
	{300, B300},       {600, B600},       {1200, B1200},
	{2400, B2400},     {4800, B4800},     {9600, B9600},
	{19200, B19200},   {38400, B38400},   {57600, B57600},
	{115200, B115200}, {230400, B230400}, {460800, B460800},
	{921600, B921600},
};

/* 0 and *speed set, or -1 for a rate termios has no constant for. */
static int baud_to_speed(unsigned baud, speed_t *speed)
{
	for (size_t i = 0; i < sizeof(baud_table) / sizeof(baud_table[0]);
	     i++) {
		if (baud_table[i].baud == baud) {
			*speed = baud_table[i].speed;
			return 0;
		}
	}
	return -1;
}

static ssize_t tty_read(struct transport *t, void *buf, size_t len)
{
	return read(t->fd, buf, len);
}

static ssize_t tty_write(struct transport *t, const void *buf, size_t len)
{
	return write(t->fd, buf, len);
}

static void tty_flush(struct transport *t)
{
	tcflush(t->fd, TCIOFLUSH);
}

static void tty_close(struct transport *t)
{
	close(t->fd); /* also drops the flock() */
	free(t);
}

static const struct transport_ops tty_ops = {
	.kind = "tty",
	.read = tty_read,
	.write = tty_write,
	.flush = tty_flush,
	.close = tty_close,
};

/*
 * Raw 8N1, no flow control of any kind. VMIN=1, VTIME=0: with O_NONBLOCK
 * they do not make reads wait, but they decide what an empty read says.
 * Linux's n_tty returns 0 for VMIN=0/VTIME=0 even on a non-blocking
 * descriptor, which is indistinguishable from end of file (a hung-up
 * device); with VMIN=1 it fails with EAGAIN and 0 means end of file only.
 */
static void make_raw_8n1(struct termios *tio, speed_t speed)
{
	cfmakeraw(tio);
	tio->c_iflag &= ~(IXON | IXOFF | IXANY | INPCK);
	tio->c_cflag &= ~(CSIZE | PARENB | CSTOPB | CRTSCTS);
	tio->c_cflag |= CS8 | CLOCAL | CREAD;
	tio->c_cc[VMIN] = 1;
	tio->c_cc[VTIME] = 0;
	cfsetispeed(tio, speed);
	cfsetospeed(tio, speed);
}

static int configure(int fd, const char *path, unsigned baud, speed_t speed,
		     char *err, size_t errlen)
{
	struct termios tio;

	if (tcgetattr(fd, &tio) != 0) {
		transport_errf(err, errlen, "%s: not a terminal: %s", path,
			       strerror(errno));
		return -1;
	}
	make_raw_8n1(&tio, speed);
	if (tcsetattr(fd, TCSANOW, &tio) != 0) {
		transport_errf(err, errlen, "%s: cannot set %u baud 8N1: %s",
			       path, baud, strerror(errno));
		return -1;
	}
	/* tcsetattr() succeeds if any of the changes took: check the ones
	 * the protocol depends on. */
	if (tcgetattr(fd, &tio) != 0 || cfgetospeed(&tio) != speed ||
	    (tio.c_cflag & (CSIZE | PARENB | CSTOPB)) != CS8) {
		transport_errf(err, errlen,
			       "%s: the device did not accept %u baud 8N1",
			       path, baud);
		return -1;
	}
	return 0;
}

struct transport *transport_tty_open(const char *path, unsigned baud, char *err,
				     size_t errlen)
{
	struct transport *t;
	speed_t speed;
	int fd;

	if (baud_to_speed(baud, &speed) != 0) {
		transport_errf(err, errlen, "%s: unsupported baud rate %u",
			       path, baud);
		return NULL;
	}
	if (strlen(path) >= sizeof(t->path)) {
		transport_errf(err, errlen, "%s: path too long", path);
		return NULL;
	}
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		transport_errf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/* Lock before touching the settings: they belong to whoever holds
	 * the port. */
	if (transport_lock(fd, path, err, errlen) != 0 ||
	    configure(fd, path, baud, speed, err, errlen) != 0)
		goto fail;
	t = calloc(1, sizeof(*t));
	if (!t) {
		transport_errf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	t->ops = &tty_ops;
	t->fd = fd;
	strcpy(t->path, path); /* length checked above */
	return t;
fail:
	close(fd);
	return NULL;
}
