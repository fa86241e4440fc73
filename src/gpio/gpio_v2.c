/* SPDX-License-Identifier: MIT */
/*
 * gpio_v2.c - the GPIO seam over libgpiod 2.x (Debian trixie, Raspberry Pi
 * OS trixie), the character device's v2 uAPI: one line request per line,
 * built from line settings, a line config and a request config. The chip
 * is closed again once the line is requested: a v2 line request has a
 * descriptor of its own and outlives the chip handle.
 *
 * Values are logical: active-low is a line setting, the kernel inverts
 * values both ways, and the output value is part of the request, so an
 * output goes straight to it without a glitch.
 *
 * Edges are logical too, with nothing inverted here: with both edges
 * requested, the kernel's v2 event code (drivers/gpio/gpiolib-cdev.c)
 * reports RISING when the line's value, read with ACTIVE_LOW applied,
 * is 1 — the same rule as the v1 uAPI (see gpio_v1.c) — and libgpiod 2.x
 * passes the event id through (gpiod_edge_event_buffer_read_fd).
 *
 * Debounce is the kernel's: in the controller where it has it, otherwise
 * emulated by gpiolib, per input line. remote.c still debounces in software
 * for every backend; the two do not conflict.
 */
#include "gpio.h"

#include <errno.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpio_find.h"

struct gpio_line {
	struct gpiod_line_request *req;
	struct gpiod_edge_event_buffer *events; /* inputs; NULL for outputs */
	unsigned int offset;
};

/* ---- finding the line -------------------------------------------------- */

/* A line found: its chip (open) and offset, and how to name it. */
struct found {
	struct gpiod_chip *chip;
	char chip_name[GPIO_NAME_LEN];
	unsigned int offset;
	char what[3 * GPIO_NAME_LEN]; /* "GPIO17 (gpiochip0 offset 17)" */
};

/* The chip's name ("gpiochip0") as the kernel has it. */
static void chip_name(struct gpiod_chip *chip, char *buf, size_t len)
{
	struct gpiod_chip_info *info = gpiod_chip_get_info(chip);

	snprintf(buf, len, "%s", info ? gpiod_chip_info_get_name(info) : "?");
	if (info)
		gpiod_chip_info_free(info);
}

/* f->what from the line's own name (if it has one). */
static void describe(struct found *f)
{
	struct gpiod_line_info *info;
	const char *name = NULL;

	info = gpiod_chip_get_line_info(f->chip, f->offset);
	if (info)
		name = gpiod_line_info_get_name(info);
	snprintf(f->what, sizeof(f->what), "%s (%s offset %u)",
		 name ? name : "unnamed line", f->chip_name, f->offset);
	if (info)
		gpiod_line_info_free(info);
}

/* gpio_find_visit_fn: the kernel answers with the first line of that
 * name on the chip. */
static int visit_chip(struct gpio_find *f, const char *path, void *ctx)
{
	struct found *out = ctx;
	struct gpiod_chip *chip = gpiod_chip_open(path);
	char name[GPIO_NAME_LEN];
	int off;

	if (!chip)
		return -1;
	off = gpiod_chip_get_line_offset_from_name(chip, f->name);
	if (off >= 0) {
		chip_name(chip, name, sizeof(name));
		if (gpio_find_match(f, name, (unsigned int)off)) {
			out->chip = chip;
			return 0;
		}
	}
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
	char path[GPIO_NAME_LEN + 8];
	struct gpiod_chip_info *info;
	struct gpiod_chip *chip;
	size_t n;

	if (strchr(chip_id, '/'))
		snprintf(path, sizeof(path), "%s", chip_id);
	else
		snprintf(path, sizeof(path), "/dev/%s", chip_id);
	chip = gpiod_chip_open(path);
	if (!chip) {
		snprintf(err, errlen, "%s offset %d: cannot open the chip: %s",
			 chip_id, offset, strerror(errno));
		return false;
	}
	info = gpiod_chip_get_info(chip);
	if (!info) {
		snprintf(err, errlen, "%s offset %d: cannot read the chip: %s",
			 chip_id, offset, strerror(errno));
		gpiod_chip_close(chip);
		return false;
	}
	n = gpiod_chip_info_get_num_lines(info);
	snprintf(out->chip_name, sizeof(out->chip_name), "%s",
		 gpiod_chip_info_get_name(info));
	gpiod_chip_info_free(info);
	if (offset < 0 || (size_t)offset >= n) {
		snprintf(
			err, errlen,
			"%s offset %d: the chip has %zu lines (offsets 0..%zu)",
			chip_id, offset, n, n ? n - 1 : 0);
		gpiod_chip_close(chip);
		return false;
	}
	out->chip = chip;
	out->offset = (unsigned int)offset;
	return true;
}

static bool line_find(const struct gpio_line_spec *spec, struct found *f,
		      char *err, size_t errlen)
{
	bool ok;

	if (spec->name[0])
		ok = find_by_name(spec->name, f, err, errlen);
	else
		ok = find_by_offset(spec->chip, spec->offset, f, err, errlen);
	if (ok)
		describe(f);
	return ok;
}

/* ---- settings ---------------------------------------------------------- */

static enum gpiod_line_drive drive_v2(enum gpio_drive d)
{
	switch (d) {
	case GPIO_DRIVE_OPEN_DRAIN:
		return GPIOD_LINE_DRIVE_OPEN_DRAIN;
	case GPIO_DRIVE_OPEN_SOURCE:
		return GPIOD_LINE_DRIVE_OPEN_SOURCE;
	case GPIO_DRIVE_PUSH_PULL:
	default:
		return GPIOD_LINE_DRIVE_PUSH_PULL;
	}
}

static enum gpiod_line_bias bias_v2(enum gpio_bias b)
{
	switch (b) {
	case GPIO_BIAS_DISABLED:
		return GPIOD_LINE_BIAS_DISABLED;
	case GPIO_BIAS_PULL_UP:
		return GPIOD_LINE_BIAS_PULL_UP;
	case GPIO_BIAS_PULL_DOWN:
		return GPIOD_LINE_BIAS_PULL_DOWN;
	case GPIO_BIAS_AS_IS:
	default:
		return GPIOD_LINE_BIAS_AS_IS;
	}
}

/* An output driven to `active` (logical) from the start. */
static struct gpiod_line_settings *
output_settings(const struct gpio_line_spec *spec, bool active)
{
	struct gpiod_line_settings *s = gpiod_line_settings_new();

	if (!s)
		return NULL;
	gpiod_line_settings_set_active_low(s, spec->active_low);
	if (gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_OUTPUT) ||
	    gpiod_line_settings_set_drive(s, drive_v2(spec->drive)) ||
	    gpiod_line_settings_set_bias(s, bias_v2(spec->bias)) ||
	    gpiod_line_settings_set_output_value(
		    s, active ? GPIOD_LINE_VALUE_ACTIVE
			      : GPIOD_LINE_VALUE_INACTIVE)) {
		gpiod_line_settings_free(s);
		return NULL;
	}
	return s;
}

/* An input reporting both edges. No drive setting: the kernel refuses
 * drive flags on inputs. */
static struct gpiod_line_settings *
input_settings(const struct gpio_line_spec *spec)
{
	struct gpiod_line_settings *s = gpiod_line_settings_new();

	if (!s)
		return NULL;
	gpiod_line_settings_set_active_low(s, spec->active_low);
	gpiod_line_settings_set_debounce_period_us(s, spec->debounce_us);
	if (gpiod_line_settings_set_direction(s, GPIOD_LINE_DIRECTION_INPUT) ||
	    gpiod_line_settings_set_edge_detection(s, GPIOD_LINE_EDGE_BOTH) ||
	    gpiod_line_settings_set_bias(s, bias_v2(spec->bias))) {
		gpiod_line_settings_free(s);
		return NULL;
	}
	return s;
}

/* ---- requests ---------------------------------------------------------- */

/* Request one line of an open chip; NULL with errno on failure. */
static struct gpiod_line_request *request_one(struct found *f,
					      struct gpiod_line_settings *ls,
					      const char *consumer)
{
	struct gpiod_line_config *lc = gpiod_line_config_new();
	struct gpiod_request_config *rc = gpiod_request_config_new();
	struct gpiod_line_request *req = NULL;
	int e;

	if (lc && rc &&
	    gpiod_line_config_add_line_settings(lc, &f->offset, 1, ls) == 0) {
		gpiod_request_config_set_consumer(rc, consumer);
		req = gpiod_chip_request_lines(f->chip, rc, lc);
	}
	e = errno;
	/* Not every libgpiod 2.x free function accepts NULL. */
	if (rc)
		gpiod_request_config_free(rc);
	if (lc)
		gpiod_line_config_free(lc);
	errno = e;
	return req;
}

/* Why a request failed, from errno (and the line's current user). */
static void request_error(struct found *f, const struct gpio_line_spec *spec,
			  char *err, size_t errlen)
{
	int e = errno;
	struct gpiod_line_info *info;
	const char *consumer = NULL;

	if (e == EBUSY) {
		info = gpiod_chip_get_line_info(f->chip, f->offset);
		if (info)
			consumer = gpiod_line_info_get_consumer(info);
		snprintf(err, errlen, "%s is busy: used by %s%s%s", f->what,
			 consumer ? "'" : "",
			 consumer ? consumer : "the kernel",
			 consumer ? "'" : "");
		if (info)
			gpiod_line_info_free(info);
	} else if (e == EINVAL && spec->bias != GPIO_BIAS_AS_IS) {
		snprintf(err, errlen,
			 "%s: cannot request it: %s (bias needs Linux 5.5 or "
			 "later)",
			 f->what, strerror(e));
	} else {
		snprintf(err, errlen, "%s: cannot request it: %s", f->what,
			 strerror(e));
	}
}

static struct gpio_line *request(const struct gpio_line_spec *spec,
				 const char *consumer, bool output, bool active,
				 char *err, size_t errlen)
{
	struct gpiod_line_settings *ls;
	struct gpio_line *l;
	struct found f;

	if (!line_find(spec, &f, err, errlen))
		return NULL;
	l = calloc(1, sizeof(*l));
	ls = output ? output_settings(spec, active) : input_settings(spec);
	/* One event per read (see v2_read_event), so a buffer of one. */
	if (!l || !ls ||
	    (!output && !(l->events = gpiod_edge_event_buffer_new(1)))) {
		snprintf(err, errlen, "%s: %s", f.what, strerror(errno));
		goto fail;
	}
	l->offset = f.offset;
	l->req = request_one(&f, ls, consumer);
	if (!l->req) {
		request_error(&f, spec, err, errlen);
		goto fail;
	}
	gpiod_line_settings_free(ls);
	gpiod_chip_close(f.chip);
	return l;
fail:
	if (l)
		gpiod_edge_event_buffer_free(l->events);
	free(l);
	if (ls)
		gpiod_line_settings_free(ls);
	gpiod_chip_close(f.chip);
	return NULL;
}

static struct gpio_line *v2_request_output(const struct gpio_line_spec *spec,
					   const char *consumer, bool active,
					   char *err, size_t errlen)
{
	return request(spec, consumer, true, active, err, errlen);
}

static struct gpio_line *v2_request_input(const struct gpio_line_spec *spec,
					  const char *consumer, char *err,
					  size_t errlen)
{
	return request(spec, consumer, false, false, err, errlen);
}

/* ---- use --------------------------------------------------------------- */

static int v2_set(struct gpio_line *l, bool active)
{
	return gpiod_line_request_set_value(l->req, l->offset,
					    active ? GPIOD_LINE_VALUE_ACTIVE
						   : GPIOD_LINE_VALUE_INACTIVE);
}

static int v2_get(struct gpio_line *l)
{
	switch (gpiod_line_request_get_value(l->req, l->offset)) {
	case GPIOD_LINE_VALUE_ACTIVE:
		return 1;
	case GPIOD_LINE_VALUE_INACTIVE:
		return 0;
	default:
		return -1;
	}
}

static int v2_event_fd(struct gpio_line *l)
{
	return l->events ? gpiod_line_request_get_fd(l->req) : -1;
}

/*
 * One event per call, and only when one is queued:
 * gpiod_line_request_read_edge_events() blocks on an empty queue, and the
 * event loop must never block. Reading one at a time leaves the others in
 * the kernel, so the descriptor stays readable while any is pending and
 * the event loop calls again.
 */
static int v2_read_event(struct gpio_line *l, enum gpio_edge *edge)
{
	struct gpiod_edge_event *ev;
	int r;

	if (!l->events) {
		errno = EPERM; /* an output has no events */
		return -1;
	}
	r = gpiod_line_request_wait_edge_events(l->req, 0);
	if (r <= 0)
		return r;
	if (gpiod_line_request_read_edge_events(l->req, l->events, 1) != 1)
		return -1;
	ev = gpiod_edge_event_buffer_get_event(l->events, 0);
	if (!ev)
		return -1;
	*edge = gpiod_edge_event_get_event_type(ev) ==
				GPIOD_EDGE_EVENT_RISING_EDGE
			? GPIO_EDGE_RISING
			: GPIO_EDGE_FALLING;
	return 1;
}

static void v2_release(struct gpio_line *l)
{
	if (!l)
		return;
	gpiod_line_request_release(l->req);
	gpiod_edge_event_buffer_free(l->events);
	free(l);
}

const struct gpio_ops gpio_hw_ops = {
	.name = "libgpiod-v2",
	.request_output = v2_request_output,
	.request_input = v2_request_input,
	.set = v2_set,
	.get = v2_get,
	.event_fd = v2_event_fd,
	.read_event = v2_read_event,
	.release = v2_release,
};
