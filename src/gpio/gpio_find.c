/* SPDX-License-Identifier: MIT */
/*
 * gpio_find.c - search every /dev/gpiochip* for a line name (see
 * gpio_find.h); the backends only look inside one chip.
 */
#include "gpio_find.h"

#include <dirent.h> /* scandir, versionsort (_GNU_SOURCE) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_chip_entry(const struct dirent *d)
{
	return strncmp(d->d_name, "gpiochip", 8) == 0;
}

bool gpio_find_match(struct gpio_find *f, const char *chip, unsigned offset)
{
	unsigned i = f->matches++;

	if (i < 2) {
		snprintf(f->chip[i], sizeof(f->chip[i]), "%s", chip);
		f->offset[i] = offset;
	}
	return i == 0;
}

static void visit_chips(struct gpio_find *f, const char *dir,
			struct dirent **dirs, int n, gpio_find_visit_fn visit,
			void *ctx)
{
	for (int i = 0; i < n; i++) {
		char path[300]; /* DIR/gpiochipN: both short */

		snprintf(path, sizeof(path), "%s/%s", dir, dirs[i]->d_name);
		if (visit(f, path, ctx) < 0) {
			if (!f->open_error[0])
				snprintf(f->open_error, sizeof(f->open_error),
					 "; cannot open %s: %s", path,
					 strerror(errno));
			continue;
		}
		f->nchips++;
	}
}

bool gpio_find_by_name(struct gpio_find *f, const char *dir, const char *name,
		       gpio_find_visit_fn visit, void *ctx, char *err,
		       size_t errlen)
{
	struct dirent **dirs;
	int n;

	memset(f, 0, sizeof(*f));
	f->name = name;
	n = scandir(dir, &dirs, is_chip_entry, versionsort);
	if (n < 0) {
		snprintf(err, errlen, "line %s: cannot list %s: %s", name, dir,
			 strerror(errno));
		return false;
	}
	visit_chips(f, dir, dirs, n, visit, ctx);
	for (int i = 0; i < n; i++)
		free(dirs[i]);
	free(dirs);
	if (f->matches == 1)
		return true;
	if (f->matches > 1)
		snprintf(err, errlen,
			 "line %s: the name is on %s offset %u and on %s "
			 "offset %u: give chip and offset instead",
			 name, f->chip[0], f->offset[0], f->chip[1],
			 f->offset[1]);
	else
		snprintf(err, errlen,
			 "line %s: no GPIO line has this name (%u chip%s "
			 "searched)%s",
			 name, f->nchips, f->nchips == 1 ? "" : "s",
			 f->open_error);
	return false;
}
