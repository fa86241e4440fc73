/* SPDX-License-Identifier: MIT */
/*
 * gpio.c - the names of the GPIO seam's electrical options, shared by the
 * configuration, the status views and every backend.
 */
#include "gpio.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const drive_names[] = {
	[GPIO_DRIVE_PUSH_PULL] = "push-pull",
	[GPIO_DRIVE_OPEN_DRAIN] = "open-drain",
	[GPIO_DRIVE_OPEN_SOURCE] = "open-source",
};

static const char *const bias_names[] = {
	[GPIO_BIAS_AS_IS] = "as-is",
	[GPIO_BIAS_DISABLED] = "disabled",
	[GPIO_BIAS_PULL_UP] = "pull-up",
	[GPIO_BIAS_PULL_DOWN] = "pull-down",
};

#define N_DRIVES (sizeof(drive_names) / sizeof(drive_names[0]))
#define N_BIASES (sizeof(bias_names) / sizeof(bias_names[0]))

/* Index of s in names (case-insensitive, like the config's booleans). */
static int find_name(const char *const *names, size_t n, const char *s)
{
	if (!s)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

int gpio_drive_parse(const char *s)
{
	return find_name(drive_names, N_DRIVES, s);
}

int gpio_bias_parse(const char *s)
{
	return find_name(bias_names, N_BIASES, s);
}

const char *gpio_drive_name(enum gpio_drive d)
{
	if ((unsigned)d >= N_DRIVES)
		return "unknown";
	return drive_names[d];
}

const char *gpio_bias_name(enum gpio_bias b)
{
	if ((unsigned)b >= N_BIASES)
		return "unknown";
	return bias_names[b];
}

const char *gpio_spec_label(const struct gpio_line_spec *s, char *buf, size_t n)
{
	const char *chip = s->chip;

	if (s->name[0]) {
		snprintf(buf, n, "%s", s->name);
		return buf;
	}
	if (strncmp(chip, "/dev/", 5) == 0)
		chip += 5;
	snprintf(buf, n, "%s:%d", chip, s->offset);
	return buf;
}
