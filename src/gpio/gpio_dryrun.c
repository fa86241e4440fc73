/* SPDX-License-Identifier: MIT */
/*
 * gpio_dryrun.c - the GPIO seam without hardware, for the demo, the
 * end-to-end tests and `smallbmsd --dry-run`.
 *
 * Memory only (no directory): outputs remember their value; inputs stay
 * inactive and their event descriptor never becomes readable.
 *
 * With a directory (gpio_dryrun_set_dir): every line is the file DIR/LINE,
 * LINE being the spec's name or CHIP-OFFSET (the chip's last path
 * component). The file holds the PHYSICAL level, "1\n" or "0\n", exactly
 * what a voltmeter on the pin would show: with active_low = yes an active
 * line is "0". This keeps the file honest about the wiring, the way a
 * test bench sees it.
 *   - outputs: every request and set rewrites the file atomically (a
 *     temporary file renamed over it), so a reader never sees it half
 *     written. Releasing a line leaves the file as it was, like a kernel
 *     that keeps the last level (see outputs.h).
 *   - inputs: the directory is watched with inotify; the event descriptor
 *     is the inotify descriptor. After a change to DIR/LINE, read_event
 *     reads the file again and reports an edge when the LOGICAL value
 *     changed. A missing file is an inactive input (whatever active_low
 *     says); any content but "0"/"1" (blanks allowed after it) is an error,
 *     and the first good value after an error is always an edge.
 *     Bounces faster than the event loop are merged, as the value is read
 *     from the file, not from the events.
 *
 * A line requested twice is busy, as with the kernel.
 */
#include "gpio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

struct gpio_line {
	struct gpio_line *next;         /* every requested line */
	char label[GPIO_NAME_LEN + 16]; /* LINE, also the file name */
	char path[PATH_MAX];            /* DIR/LINE; "" in memory mode */
	bool output;
	bool active_low;
	bool value; /* logical; inputs: the last value reported */
	bool known; /* inputs: false after a bad read, so the next good
		     * read is an edge whatever its value */
	int fd;     /* inputs: inotify, or a silent eventfd; -1 for outputs */
};

/* "" = memory only. Shorter than PATH_MAX by more than "/." + LINE +
 * ".XXXXXX", so every path built from it fits. */
static char dryrun_dir[PATH_MAX - 128];
static struct gpio_line *dryrun_lines;

int gpio_dryrun_set_dir(const char *dir)
{
	struct stat st;

	if (!dir || !*dir) {
		dryrun_dir[0] = '\0';
		return 0;
	}
	if (strlen(dir) >= sizeof(dryrun_dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (stat(dir, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	snprintf(dryrun_dir, sizeof(dryrun_dir), "%s", dir);
	return 0;
}

/* LINE for a spec; false if it cannot be a file name. */
static bool make_label(const struct gpio_line_spec *spec, char *buf, size_t n,
		       char *err, size_t errlen)
{
	const char *chip = strrchr(spec->chip, '/');

	chip = chip ? chip + 1 : spec->chip;
	if (spec->name[0])
		snprintf(buf, n, "%s", spec->name);
	else if (chip[0] && spec->offset >= 0)
		snprintf(buf, n, "%s-%d", chip, spec->offset);
	else
		buf[0] = '\0';
	if (!buf[0] || buf[0] == '.' || strchr(buf, '/')) {
		snprintf(err, errlen,
			 "dry-run: line '%s' cannot be used as a file name",
			 buf);
		return false;
	}
	return true;
}

static bool is_busy(const char *label, char *err, size_t errlen)
{
	for (const struct gpio_line *l = dryrun_lines; l; l = l->next) {
		if (strcmp(l->label, label) == 0) {
			snprintf(err, errlen,
				 "dry-run: line %s is busy (already requested)",
				 label);
			return true;
		}
	}
	return false;
}

static struct gpio_line *line_new(const struct gpio_line_spec *spec,
				  bool output, char *err, size_t errlen)
{
	struct gpio_line *l;
	char label[sizeof(l->label)];

	if (!make_label(spec, label, sizeof(label), err, errlen) ||
	    is_busy(label, err, errlen))
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "dry-run: line %s: out of memory", label);
		return NULL;
	}
	memcpy(l->label, label, sizeof(label));
	if (dryrun_dir[0])
		snprintf(l->path, sizeof(l->path), "%s/%s", dryrun_dir, label);
	l->output = output;
	l->active_low = spec->active_low;
	l->fd = -1;
	return l;
}

static void line_add(struct gpio_line *l)
{
	l->next = dryrun_lines;
	dryrun_lines = l;
}

static void line_remove(struct gpio_line *l)
{
	for (struct gpio_line **pp = &dryrun_lines; *pp; pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			return;
		}
	}
}

/* ---- the files --------------------------------------------------------- */

/* Write the physical level of an output: temporary file, then rename. */
static int write_level(const struct gpio_line *l, bool active)
{
	char tmp[PATH_MAX];
	const char *text = (active != l->active_low) ? "1\n" : "0\n";
	int fd, saved;

	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dryrun_dir, l->label);
	fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	errno = EIO; /* a short write sets none */
	/* Readable by anyone, like /sys/class/gpio; mkstemp gives 0600. */
	if (fchmod(fd, 0644) < 0 || write(fd, text, 2) != 2) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, l->path) < 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

/* Logical value of an input file: 1, 0 (also for a missing file), or -1
 * with errno set (EINVAL: the content is not a level). */
static int read_level(const struct gpio_line *l)
{
	char buf[16];
	ssize_t n;
	int fd = open(l->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	if ((buf[0] != '0' && buf[0] != '1') ||
	    strspn(buf + 1, " \t\r\n") != strlen(buf + 1)) {
		errno = EINVAL;
		return -1;
	}
	return (buf[0] == '1') != l->active_low;
}

/* ---- the ops ----------------------------------------------------------- */

static struct gpio_line *dr_request_output(const struct gpio_line_spec *spec,
					   const char *consumer, bool active,
					   char *err, size_t errlen)
{
	struct gpio_line *l = line_new(spec, true, err, errlen);

	if (!l)
		return NULL;
	l->value = active;
	if (l->path[0] && write_level(l, active) < 0) {
		snprintf(err, errlen, "dry-run: cannot write %s: %s", l->path,
			 strerror(errno));
		free(l);
		return NULL;
	}
	line_add(l);
	return l;
}

static bool watch_dir(struct gpio_line *l, char *err, size_t errlen)
{
	l->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (l->fd < 0) {
		snprintf(err, errlen, "dry-run: line %s: inotify: %s", l->label,
			 strerror(errno));
		return false;
	}
	/* The directory, not the file: the file may not exist yet, and a
	 * rename over it replaces its inode. */
	if (inotify_add_watch(l->fd, dryrun_dir,
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
				      IN_DELETE) < 0) {
		snprintf(err, errlen, "dry-run: cannot watch %s: %s",
			 dryrun_dir, strerror(errno));
		return false;
	}
	return true;
}

static struct gpio_line *dr_request_input(const struct gpio_line_spec *spec,
					  const char *consumer, char *err,
					  size_t errlen)
{
	struct gpio_line *l = line_new(spec, false, err, errlen);
	int v;

	if (!l)
		return NULL;
	if (l->path[0]) {
		if (!watch_dir(l, err, errlen))
			goto fail;
		v = read_level(l);
		if (v < 0) {
			snprintf(err, errlen, "dry-run: cannot read %s: %s",
				 l->path,
				 errno == EINVAL ? "not \"0\" or \"1\""
						 : strerror(errno));
			goto fail;
		}
		l->value = v;
		l->known = true;
	} else {
		/* Memory only: a descriptor that never becomes readable, so
		 * callers need no special case. */
		l->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (l->fd < 0) {
			snprintf(err, errlen, "dry-run: line %s: eventfd: %s",
				 l->label, strerror(errno));
			goto fail;
		}
	}
	line_add(l);
	return l;
fail:
	if (l->fd >= 0)
		close(l->fd);
	free(l);
	return NULL;
}

static int dr_set(struct gpio_line *l, bool active)
{
	if (!l->output) {
		errno = EPERM;
		return -1;
	}
	if (l->path[0] && write_level(l, active) < 0)
		return -1;
	l->value = active;
	return 0;
}

static int dr_get(struct gpio_line *l)
{
	if (l->output || !l->path[0])
		return l->value;
	return read_level(l);
}

static int dr_event_fd(struct gpio_line *l)
{
	return l->output ? -1 : l->fd;
}

/* Drain the inotify queue: 1 if anything happened to our file (or the
 * queue overflowed, when we cannot know), 0 if not, -1 on error. */
static int drain_events(struct gpio_line *l)
{
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	bool ours = false;
	ssize_t n;

	for (;;) {
		n = read(l->fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return ours;
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			if ((ev->mask & IN_Q_OVERFLOW) ||
			    (ev->len && strcmp(ev->name, l->label) == 0))
				ours = true;
			p += sizeof(*ev) + ev->len;
		}
	}
}

static int dr_read_event(struct gpio_line *l, enum gpio_edge *edge)
{
	int r, v;

	if (l->output) {
		errno = EPERM;
		return -1;
	}
	if (!l->path[0])
		return 0; /* memory only: nothing ever happens */
	r = drain_events(l);
	if (r <= 0)
		return r;
	v = read_level(l);
	if (v < 0) {
		l->known = false;
		return -1;
	}
	if (l->known && v == l->value)
		return 0;
	l->value = v;
	l->known = true;
	*edge = v ? GPIO_EDGE_RISING : GPIO_EDGE_FALLING;
	return 1;
}

static void dr_release(struct gpio_line *l)
{
	if (!l)
		return;
	line_remove(l);
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}

const struct gpio_ops gpio_dryrun_ops = {
	.name = "dry-run",
	.request_output = dr_request_output,
	.request_input = dr_request_input,
	.set = dr_set,
	.get = dr_get,
	.event_fd = dr_event_fd,
	.read_event = dr_read_event,
	.release = dr_release,
};
