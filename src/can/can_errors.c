/* SPDX-License-Identifier: MIT */
/*
 * can_errors.c - a SocketCAN error frame's meaning (can_errors.h).
 */
#include "can_errors.h"

#include <linux/can/error.h>

enum can_err_event can_error_event(const struct can_frame *f, bool *bus_error)
{
	*bus_error = (f->can_id & (CAN_ERR_BUSERROR | CAN_ERR_PROT)) != 0;
	if (f->can_id & CAN_ERR_BUSOFF)
		return CAN_ERR_EV_BUS_OFF;
	if (f->can_id & CAN_ERR_RESTARTED)
		return CAN_ERR_EV_RESTARTED;
	/* data[1]: the controller's error state (CAN_ERR_CRTL_*). */
	if ((f->can_id & CAN_ERR_CRTL) && f->len > 1) {
		if (f->data[1] &
		    (CAN_ERR_CRTL_RX_PASSIVE | CAN_ERR_CRTL_TX_PASSIVE))
			return CAN_ERR_EV_PASSIVE;
		if (f->data[1] & CAN_ERR_CRTL_ACTIVE)
			return CAN_ERR_EV_ACTIVE;
	}
	return CAN_ERR_EV_NONE;
}
