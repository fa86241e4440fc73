/* SPDX-License-Identifier: MIT */
/*
 * gpio_v1.c - the GPIO seam over libgpiod 1.6 (Debian bookworm), the
 * character device's v1 uAPI.
 *
 * Every line gets its own chip handle, so a line and its chip live and die
 * together and lines never share state.
 *
 * Values are logical: ACTIVE_LOW is a request flag, the kernel inverts
 * values both ways, and the default value given at request time is applied
 * by the same ioctl that makes the line an output, so the line goes
 * straight to it without a glitch.
 *
 * Edges are logical too, with nothing inverted here: with both edges
 * requested, the kernel's v1 event code (lineevent_irq_thread in
 * drivers/gpio/gpiolib-cdev.c) reads the line with
 * gpiod_get_value_cansleep(), which applies ACTIVE_LOW, and sends RISING
 * when that reads 1; libgpiod 1.6 passes the event id through unchanged
 * (gpiod_line_event_read_fd_multiple in lib/core.c). libgpiod's own test
 * both_edges_active_low (tests/tests-event.c) checks it: on an active-low
 * line, a physical low-to-high change arrives as FALLING.
 *
 * The v1 uAPI has no debounce: remote.c debounces in software for every
 * backend.
 */
#include "gpio.h"

#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpio_find.h"

struct gpio_line {
	struct gpiod_chip *chip;      /* owned: one chip handle per line */
	struct gpiod_line *line;      /* belongs to chip */
	int event_fd;                 /* inputs; -1 for outputs */
	char what[3 * GPIO_NAME_LEN]; /* "GPIO17 (gpiochip0 offset 17)" */
};

/* ---- finding the line -------------------------------------------------- */

/* One line found by name: its chip (still open) and offset. */
struct found {
	struct gpiod_chip *chip;
	struct gpiod_line *line;
	char chip_name[GPIO_NAME_LEN];
	unsigned offset;
};

/* gpio_find_visit_fn: every line of the chip named f->name. */
static int visit_chip(struct gpio_find *f, const char *path, void *ctx)
{
	struct found *out = ctx;
	struct gpiod_chip *chip = gpiod_chip_open(path);
	bool keep = false;
	unsigned n;

	if (!chip)
		return -1;
	n = gpiod_chip_num_lines(chip);
	for (unsigned off = 0; off < n; off++) {
		struct gpiod_line *l = gpiod_chip_get_line(chip, off);
		const char *name = l ? gpiod_line_name(l) : NULL;

		if (!name || strcmp(name, f->name) != 0)
			continue;
		if (gpio_find_match(f, gpiod_chip_name(chip), off)) {
			out->chip = chip;
			out->line = l;
			keep = true;
		}
	}
	if (!keep)
		gpiod_chip_close(chip);
	return 0;
}

static bool find_by_name(const char *name, struct found *out, char *err,
			 size_t errlen)
{
	struct gpio_find f;

	if (!gpio_find_by_name(&f, "/dev", name, visit_chip, out, err,
			       errlen)) {
		if (f.matches > 1)
			gpiod_chip_close(out->chip);
		return false;
	}
	snprintf(out->chip_name, sizeof(out->chip_name), "%s", f.chip[0]);
	out->offset = f.offset[0];
	return true;
}

/* chip: a name ("gpiochip0", under /dev) or a path. */
static bool find_by_offset(const char *chip_id, int offset, struct found *out,
			   char *err, size_t errlen)
{
	struct gpiod_chip *chip;
	unsigned n;

	if (strchr(chip_id, '/'))
		chip = gpiod_chip_open(chip_id);
	else
		chip = gpiod_chip_open_by_name(chip_id);
	if (!chip) {
		snprintf(err, errlen, "%s offset %d: cannot open the chip: %s",
			 chip_id, offset, strerror(errno));
		return false;
	}
	n = gpiod_chip_num_lines(chip);
	if (offset < 0 || (unsigned)offset >= n) {
		snprintf(err, errlen,
			 "%s offset %d: the chip has %u lines (offsets 0..%u)",
			 chip_id, offset, n, n ? n - 1 : 0);
		gpiod_chip_close(chip);
		return false;
	}
	out->line = gpiod_chip_get_line(chip, (unsigned)offset);
	if (!out->line) {
		snprintf(err, errlen, "%s offset %d: %s", chip_id, offset,
			 strerror(errno));
		gpiod_chip_close(chip);
		return false;
	}
	out->chip = chip;
	snprintf(out->chip_name, sizeof(out->chip_name), "%s",
		 gpiod_chip_name(chip));
	out->offset = (unsigned)offset;
	return true;
}

static struct gpio_line *line_find(const struct gpio_line_spec *spec, char *err,
				   size_t errlen)
{
	struct gpio_line *l;
	struct found f;
	bool ok;
	const char *name;

	if (spec->name[0])
		ok = find_by_name(spec->name, &f, err, errlen);
	else
		ok = find_by_offset(spec->chip, spec->offset, &f, err, errlen);
	if (!ok)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		gpiod_chip_close(f.chip);
		return NULL;
	}
	l->chip = f.chip;
	l->line = f.line;
	l->event_fd = -1;
	name = gpiod_line_name(f.line);
	snprintf(l->what, sizeof(l->what), "%s (%s offset %u)",
		 name ? name : "unnamed line", f.chip_name, f.offset);
	return l;
}

/* ---- requests ---------------------------------------------------------- */

static int request_flags(const struct gpio_line_spec *spec, bool output)
{
	int flags = 0;

	if (output && spec->drive == GPIO_DRIVE_OPEN_DRAIN)
		flags |= GPIOD_LINE_REQUEST_FLAG_OPEN_DRAIN;
	if (output && spec->drive == GPIO_DRIVE_OPEN_SOURCE)
		flags |= GPIOD_LINE_REQUEST_FLAG_OPEN_SOURCE;
	if (spec->active_low)
		flags |= GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW;
	switch (spec->bias) {
	case GPIO_BIAS_AS_IS:
		break;
	case GPIO_BIAS_DISABLED:
		flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE;
		break;
	case GPIO_BIAS_PULL_UP:
		flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP;
		break;
	case GPIO_BIAS_PULL_DOWN:
		flags |= GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN;
		break;
	}
	return flags;
}

static void request_error(struct gpio_line *l,
			  const struct gpio_line_spec *spec, char *err,
			  size_t errlen)
{
	int e = errno;
	const char *consumer;

	if (e == EBUSY) {
		gpiod_line_update(l->line);
		consumer = gpiod_line_consumer(l->line);
		snprintf(err, errlen, "%s is busy: used by %s%s%s", l->what,
			 consumer ? "'" : "",
			 consumer ? consumer : "the kernel",
			 consumer ? "'" : "");
	} else if (e == EINVAL && spec->bias != GPIO_BIAS_AS_IS) {
		snprintf(err, errlen,
			 "%s: cannot request it: %s (bias needs Linux 5.5 or "
			 "later)",
			 l->what, strerror(e));
	} else {
		snprintf(err, errlen, "%s: cannot request it: %s", l->what,
			 strerror(e));
	}
}

static void line_free(struct gpio_line *l)
{
	gpiod_chip_close(l->chip); /* also releases the line */
	free(l);
}

static struct gpio_line *v1_request_output(const struct gpio_line_spec *spec,
					   const char *consumer, bool active,
					   char *err, size_t errlen)
{
	struct gpiod_line_request_config rc = {
		.consumer = consumer,
		.request_type = GPIOD_LINE_REQUEST_DIRECTION_OUTPUT,
		.flags = request_flags(spec, true),
	};
	struct gpio_line *l = line_find(spec, err, errlen);

	if (!l)
		return NULL;
	/* The default value is logical and set by the request itself. */
	if (gpiod_line_request(l->line, &rc, active ? 1 : 0) < 0) {
		request_error(l, spec, err, errlen);
		line_free(l);
		return NULL;
	}
	return l;
}

static struct gpio_line *v1_request_input(const struct gpio_line_spec *spec,
					  const char *consumer, char *err,
					  size_t errlen)
{
	struct gpiod_line_request_config rc = {
		.consumer = consumer,
		.request_type = GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES,
		.flags = request_flags(spec, false),
	};
	struct gpio_line *l = line_find(spec, err, errlen);
	int fl;

	if (!l)
		return NULL;
	if (gpiod_line_request(l->line, &rc, 0) < 0) {
		request_error(l, spec, err, errlen);
		line_free(l);
		return NULL;
	}
	l->event_fd = gpiod_line_event_get_fd(l->line);
	/* gpiod_line_event_read() blocks on an empty queue; the event loop
	 * must never block, so the descriptor is made non-blocking. */
	fl = l->event_fd < 0 ? -1 : fcntl(l->event_fd, F_GETFL);
	if (fl < 0 || fcntl(l->event_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "%s: event descriptor: %s", l->what,
			 strerror(errno));
		line_free(l);
		return NULL;
	}
	return l;
}

static int v1_set(struct gpio_line *l, bool active)
{
	return gpiod_line_set_value(l->line, active ? 1 : 0);
}

static int v1_get(struct gpio_line *l)
{
	int v = gpiod_line_get_value(l->line);

	return v < 0 ? -1 : v != 0;
}

static int v1_event_fd(struct gpio_line *l)
{
	return l->event_fd;
}

static int v1_read_event(struct gpio_line *l, enum gpio_edge *edge)
{
	struct gpiod_line_event ev;

	if (l->event_fd < 0) {
		errno = EPERM;
		return -1;
	}
	if (gpiod_line_event_read_fd(l->event_fd, &ev) < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	*edge = ev.event_type == GPIOD_LINE_EVENT_RISING_EDGE
			? GPIO_EDGE_RISING
			: GPIO_EDGE_FALLING;
	return 1;
}

static void v1_release(struct gpio_line *l)
{
	if (l)
		line_free(l);
}

const struct gpio_ops gpio_hw_ops = {
	.name = "libgpiod-v1",
	.request_output = v1_request_output,
	.request_input = v1_request_input,
	.set = v1_set,
	.get = v1_get,
	.event_fd = v1_event_fd,
	.read_event = v1_read_event,
	.release = v1_release,
};
