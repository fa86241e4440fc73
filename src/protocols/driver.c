/* SPDX-License-Identifier: MIT */
/*
 * driver.c - the registry of protocol drivers, looked up by the name used
 * in the configuration file.
 */
#include "driver.h"

#include <string.h>

#include "daly.h"
#include "jbd.h"
#include "jk.h"
#include "jkpb.h"
#include "pylon.h"
#include "seplos3.h"

/* Adding a protocol: one line here (and its header above). */
static const struct bms_driver *const drivers[] = {
	&jbd_driver, &pylontech_driver, &seplos_driver,  &pace_driver,
	&jk_driver,  &jkpb_driver,      &seplos3_driver, &daly_driver,
};

#define NDRIVERS (sizeof(drivers) / sizeof(drivers[0]))

const struct bms_driver *drv_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < NDRIVERS; i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	return NULL;
}

const struct bms_driver *drv_at(size_t i)
{
	return i < NDRIVERS ? drivers[i] : NULL;
}

/* Built on first use from the table, so the list can never go stale. */
const char *drv_names(void)
{
	static char names[256];
	size_t used = 0;

	if (names[0])
		return names;
	for (size_t i = 0; i < NDRIVERS; i++) {
		size_t n = strlen(drivers[i]->name);

		if (used + n + 3 > sizeof(names))
			break; /* cannot happen with short names; stay bounded */
		if (i > 0) {
			memcpy(names + used, ", ", 2);
			used += 2;
		}
		memcpy(names + used, drivers[i]->name, n);
		used += n;
	}
	names[used] = '\0';
	return names;
}
