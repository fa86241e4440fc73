/* SPDX-License-Identifier: MIT */
/*
 * sim_link.c - pseudo-terminal lines and the link interface (sim_link.h).
 */
#include "sim_link.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

struct pty_link {
	struct sim_link base; /* first */
	int master;
	/*
	 * The simulator keeps the slave open itself: when the last slave
	 * descriptor closes, the master reports POLLHUP/EIO until someone
	 * reopens it, which would spin the event loop while the daemon is
	 * restarting. Holding one also keeps the raw termios between clients.
	 */
	int slave;
	sd_event_source *io;
};

static int make_raw(int fd, const char *what, char *err, size_t errlen)
{
	struct termios tio;

	if (tcgetattr(fd, &tio) < 0) {
		snprintf(err, errlen, "tcgetattr %s: %s", what,
			 strerror(errno));
		return -1;
	}
	cfmakeraw(&tio);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSANOW, &tio) < 0) {
		snprintf(err, errlen, "tcsetattr %s: %s", what,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* Point symlink_path at target: create it under a temporary name and
 * rename it into place, so an old link is replaced atomically. */
static int make_symlink(const char *target, const char *symlink_path, char *err,
			size_t errlen)
{
	char tmp[PATH_MAX];
	struct stat st;

	if (lstat(symlink_path, &st) == 0 && !S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a symlink",
			 symlink_path);
		return -1;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp%ld", symlink_path,
		     (long)getpid()) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "link path too long: %.200s...",
			 symlink_path);
		return -1;
	}
	unlink(tmp);
	if (symlink(target, tmp) < 0) {
		snprintf(err, errlen, "symlink %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (rename(tmp, symlink_path) < 0) {
		snprintf(err, errlen, "rename %s to %s: %s", tmp, symlink_path,
			 strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void remove_symlink(struct sim_link *l)
{
	char target[PATH_MAX];
	ssize_t n;

	if (!l->link[0])
		return;
	n = readlink(l->link, target, sizeof(target) - 1);
	if (n < 0)
		return;
	target[n] = '\0';
	/* Someone else may have taken the name over since: leave theirs. */
	if (strcmp(target, l->path) == 0)
		unlink(l->link);
}

static int pty_io(sd_event_source *s, int fd, uint32_t revents, void *data)
{
	struct pty_link *p = data;
	uint8_t buf[512];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			p->base.rx(p->base.rx_ctx, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break; /* EAGAIN: drained; nothing else is expected */
	}
	return 0;
}

static int pty_start(struct sim_link *l, sd_event *ev)
{
	struct pty_link *p = (struct pty_link *)l;

	return sd_event_add_io(ev, &p->io, p->master, EPOLLIN, pty_io, p);
}

static ssize_t pty_send(struct sim_link *l, const uint8_t *buf, size_t len)
{
	struct pty_link *p = (struct pty_link *)l;
	ssize_t n;

	do
		n = write(p->master, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

static void pty_close(struct sim_link *l)
{
	struct pty_link *p = (struct pty_link *)l;

	p->io = sd_event_source_disable_unref(p->io);
	remove_symlink(l);
	if (p->slave >= 0)
		close(p->slave);
	if (p->master >= 0)
		close(p->master);
	free(p);
}

/* Master and slave share one termios: the host's rate is the slave's. */
static unsigned pty_host_baud(struct sim_link *l)
{
	static const struct {
		speed_t speed;
		unsigned baud;
	} rates[] = {
		{B1200, 1200},     {B2400, 2400},     {B4800, 4800},
		{B9600, 9600},     {B19200, 19200},   {B38400, 38400},
		{B57600, 57600},   {B115200, 115200}, {B230400, 230400},
		{B460800, 460800}, {B921600, 921600},
	};
	struct pty_link *p = (struct pty_link *)l;
	struct termios tio;
	speed_t sp;

	if (tcgetattr(p->slave >= 0 ? p->slave : p->master, &tio) < 0)
		return 0;
	sp = cfgetospeed(&tio);
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		if (rates[i].speed == sp)
			return rates[i].baud;
	return 0;
}

static const struct sim_link_ops pty_ops = {
	.kind = "pty",
	.banner = "PTY",
	.start = pty_start,
	.send = pty_send,
	.close = pty_close,
	.host_baud = pty_host_baud,
};

static int open_pair(struct pty_link *p, char *err, size_t errlen)
{
	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (p->master < 0) {
		snprintf(err, errlen, "posix_openpt: %s", strerror(errno));
		return -1;
	}
	if (grantpt(p->master) < 0 || unlockpt(p->master) < 0 ||
	    ptsname_r(p->master, p->base.path, sizeof(p->base.path)) != 0) {
		snprintf(err, errlen, "pty setup: %s", strerror(errno));
		return -1;
	}
	if (make_raw(p->master, "pty master", err, errlen) < 0)
		return -1;
	p->slave = open(p->base.path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->slave < 0) {
		snprintf(err, errlen, "open %s: %s", p->base.path,
			 strerror(errno));
		return -1;
	}
	return make_raw(p->slave, p->base.path, err, errlen);
}

struct sim_link *sim_link_pty_open(const char *symlink_path, char *err,
				   size_t errlen)
{
	struct pty_link *p = calloc(1, sizeof(*p));

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->base.ops = &pty_ops;
	p->master = -1;
	p->slave = -1;
	if (open_pair(p, err, errlen) < 0)
		goto fail;
	if (symlink_path) {
		if (strlen(symlink_path) >= sizeof(p->base.link)) {
			snprintf(err, errlen, "link path too long: %.200s...",
				 symlink_path);
			goto fail;
		}
		if (make_symlink(p->base.path, symlink_path, err, errlen) < 0)
			goto fail;
		strcpy(p->base.link, symlink_path);
	}
	return &p->base;
fail:
	pty_close(&p->base);
	return NULL;
}

int sim_link_start(struct sim_link *l, sd_event *ev, sim_link_rx_fn rx,
		   void *ctx)
{
	l->rx = rx;
	l->rx_ctx = ctx;
	return l->ops->start(l, ev);
}

ssize_t sim_link_send(struct sim_link *l, const uint8_t *buf, size_t len)
{
	return l->ops->send(l, buf, len);
}

unsigned sim_link_host_baud(struct sim_link *l)
{
	return l->ops->host_baud ? l->ops->host_baud(l) : 0;
}

void sim_link_close(struct sim_link *l)
{
	if (l)
		l->ops->close(l);
}
