/* SPDX-License-Identifier: MIT */
/*
 * gpio.h - the GPIO seam: request output and input lines, set outputs,
 * read input edges. Three backends implement struct gpio_ops:
 *   gpio_v1.c      libgpiod 1.6 (Debian bookworm)     } exactly one is built,
 *   gpio_v2.c      libgpiod 2.x (Debian trixie)       } chosen by configure
 *   gpio_dryrun.c  no hardware: remembers the values, for the demo and tests
 * Nothing outside these files includes <gpiod.h>.
 *
 * Values here are LOGICAL: "active" means the line is asserted, after the
 * active-low inversion the backend applies.
 */
#ifndef SMALLBMS_GPIO_H
#define SMALLBMS_GPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GPIO_NAME_LEN 64

enum gpio_drive {
	GPIO_DRIVE_PUSH_PULL,
	GPIO_DRIVE_OPEN_DRAIN,
	GPIO_DRIVE_OPEN_SOURCE,
};

enum gpio_bias {
	GPIO_BIAS_AS_IS, /* leave the line's bias as it is */
	GPIO_BIAS_DISABLED,
	GPIO_BIAS_PULL_UP,
	GPIO_BIAS_PULL_DOWN,
};

/* Where a line is: by name (searched on every chip, as Raspberry Pi line
 * names such as "GPIO17" are stable where chip numbers are not), or by
 * chip (name "gpiochip0", or path "/dev/gpiochip0") and offset. */
struct gpio_line_spec {
	char name[GPIO_NAME_LEN]; /* "" when chip + offset are used */
	char chip[GPIO_NAME_LEN];
	int offset;            /* -1 when name is used */
	enum gpio_drive drive; /* outputs */
	enum gpio_bias bias;
	bool active_low;
	uint32_t debounce_us; /* inputs; 0 = none */
};

struct gpio_line; /* one requested line; backend-private */

enum gpio_edge {
	GPIO_EDGE_NONE,
	GPIO_EDGE_RISING,  /* became active (logical) */
	GPIO_EDGE_FALLING, /* became inactive (logical) */
};

struct gpio_ops {
	const char *name; /* "libgpiod-v1", "libgpiod-v2", "dry-run" */
	/* Request an output, driven to `active` from the first instant. */
	struct gpio_line *(*request_output)(const struct gpio_line_spec *spec,
					    const char *consumer, bool active,
					    char *err, size_t errlen);
	/* Request an input with edge events on both edges. */
	struct gpio_line *(*request_input)(const struct gpio_line_spec *spec,
					   const char *consumer, char *err,
					   size_t errlen);
	int (*set)(struct gpio_line *l, bool active);
	/* Current logical value: 1 active, 0 inactive, -1 error. */
	int (*get)(struct gpio_line *l);
	/* Pollable descriptor for input edge events (-1 for outputs). */
	int (*event_fd)(struct gpio_line *l);
	/* Read one pending edge event (after event_fd is readable). Returns
	 * 1 with *edge set, 0 if none is pending, -1 on error. */
	int (*read_event)(struct gpio_line *l, enum gpio_edge *edge);
	/* Release the line: the kernel stops driving it (see smallbmsd(8):
	 * what the line does then depends on the hardware's pull resistor). */
	void (*release)(struct gpio_line *l);
};

/* The backend for real hardware (the libgpiod version configure found). */
extern const struct gpio_ops gpio_hw_ops;
/* No hardware: lines exist only in memory. */
extern const struct gpio_ops gpio_dryrun_ops;

/*
 * The dry-run backend keeps lines in memory. With a directory (the daemon's
 * dry_run_dir setting, used by the demo and the end-to-end tests) it also
 * mirrors every output as a file DIR/LINE holding "1" or "0", and reads
 * every input from such a file, watched with inotify: writing "0" to
 * DIR/GPIO22 is an edge on input GPIO22. LINE is the spec's name, or
 * CHIP-OFFSET. The files hold the PHYSICAL level (active_low applies, as
 * on a pin); a missing input file is inactive. NULL: memory only (inputs
 * stay inactive). Returns -1 with errno if dir is not a directory.
 */
int gpio_dryrun_set_dir(const char *dir);

/* Parse "push-pull" / "open-drain" / "open-source"; -1 if unknown. */
int gpio_drive_parse(const char *s);
/* Parse "as-is" / "disabled" / "pull-up" / "pull-down"; -1 if unknown. */
int gpio_bias_parse(const char *s);
const char *gpio_drive_name(enum gpio_drive d);
const char *gpio_bias_name(enum gpio_bias b);

/* A readable name for a line, for messages and status: the spec's name,
 * or "CHIP:OFFSET" (the chip without a leading "/dev/"). Returns buf. */
const char *gpio_spec_label(const struct gpio_line_spec *s, char *buf,
			    size_t n);

#endif
