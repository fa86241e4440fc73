/* SPDX-License-Identifier: MIT */
/*
 * gpio_find.h - finding a GPIO line by name on every chip: the rule the
 * libgpiod backends (gpio_v1.c, gpio_v2.c) share. Every /dev/gpiochip* is
 * searched in numeric order; a name found on two lines is an error
 * (Raspberry Pi names are unique; a clash means an overlay or a HAT added
 * its own, and guessing could drive the wrong pin).
 */
#ifndef SMALLBMS_GPIO_FIND_H
#define SMALLBMS_GPIO_FIND_H

#include <stdbool.h>
#include <stddef.h>

#include "gpio.h"

struct gpio_find {
	const char *name;
	unsigned matches; /* lines with the name, on every chip */
	unsigned nchips;  /* chips opened */
	/* Where the first two matches are, for the result and the error. */
	char chip[2][GPIO_NAME_LEN];
	unsigned offset[2];
	char open_error[512]; /* "; cannot open PATH: why" (the first) */
};

/*
 * A backend's look at one chip: open path (return -1 with errno when it
 * cannot), call gpio_find_match() for every line named f->name, keep the
 * chip open in ctx when that returns true (the first match), close it
 * otherwise, return 0.
 */
typedef int (*gpio_find_visit_fn)(struct gpio_find *f, const char *path,
				  void *ctx);

/* Record a line with the name; true for the first one anywhere. */
bool gpio_find_match(struct gpio_find *f, const char *chip, unsigned offset);

/*
 * Search every chip (DIR/gpiochip*, DIR is "/dev" but for the tests) for
 * name. True when exactly one line has it: the backend kept its chip
 * (f->chip[0], f->offset[0] say where). False with a message in err
 * otherwise; when f->matches > 1 the backend still holds the first
 * match's chip and must close it.
 */
bool gpio_find_by_name(struct gpio_find *f, const char *dir, const char *name,
		       gpio_find_visit_fn visit, void *ctx, char *err,
		       size_t errlen);

#endif
