/* SPDX-License-Identifier: MIT */
#include "wdog.h"

uint64_t wdog_interval_us(uint64_t unit_us, uint64_t comm_loss_charge_us)
{
	uint64_t half = comm_loss_charge_us / 2;

	if (unit_us == 0)
		return 0;
	/* No limit known (never from a checked configuration): the unit's. */
	if (half == 0 || unit_us < half)
		return unit_us;
	return half;
}
