/* SPDX-License-Identifier: MIT */
#ifndef SMALLBMS_WDOG_H
#define SMALLBMS_WDOG_H

#include <stdint.h>

/*
 * The systemd watchdog interval, derived from the charge comm-loss limit.
 *
 * A daemon that hangs makes no decision at all, so its lines must not stay
 * allowed longer than the guard would keep them without data:
 * comm_loss_charge (10 s by default). The daemon feeds the watchdog every
 * half interval, so systemd acts at most one interval after the hang; half
 * of comm_loss_charge leaves the other half for the kill, the kernel's
 * release of the lines and ExecStopPost=smallbmsd --safe-state.
 *
 * unit_us is the unit's WatchdogSec= ($WATCHDOG_USEC): a stricter value
 * there is kept. Returns the interval to ask systemd for (WATCHDOG_USEC=),
 * 0 when the unit has no watchdog (nothing to derive from: the daemon does
 * not enable one itself).
 */
uint64_t wdog_interval_us(uint64_t unit_us, uint64_t comm_loss_charge_us);

#endif
