/* SPDX-License-Identifier: MIT */
/*
 * can_errors.h - what a SocketCAN error frame (CAN_ERR_FLAG, see
 * linux/can/error.h) says about the controller: pure, so that the decoding
 * of bus-off, error-passive and the restart is tested without a bus (qemu's
 * emulated SJA1000 does not go bus-off: tests/vm/README.md).
 */
#ifndef SMALLBMS_CAN_ERRORS_H
#define SMALLBMS_CAN_ERRORS_H

#include <linux/can.h>
#include <stdbool.h>

enum can_err_event {
	CAN_ERR_EV_NONE,      /* nothing about the controller's state */
	CAN_ERR_EV_BUS_OFF,   /* it left the bus */
	CAN_ERR_EV_RESTARTED, /* the kernel restarted it (restart-ms) */
	CAN_ERR_EV_PASSIVE,   /* error counters above 127 */
	CAN_ERR_EV_ACTIVE,    /* back to error-active */
};

/* The controller's state change an error frame reports (bus-off first:
 * a frame may carry several flags); *bus_error: a bus or protocol error
 * was counted by it. */
enum can_err_event can_error_event(const struct can_frame *f, bool *bus_error);

#endif
