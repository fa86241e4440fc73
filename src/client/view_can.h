/* SPDX-License-Identifier: MIT */
/*
 * view_can.h - smallbmsctl status rows of the [can] output (view_can.c).
 */
#ifndef SMALLBMS_VIEW_CAN_H
#define SMALLBMS_VIEW_CAN_H

#include <jansson.h>

#include "client.h"
#include "table.h"

/* Rows for status's "limits" and "can" (none without them) from rows[k];
 * returns the new k. A wrong-typed key sets vw->bad_key. */
int view_can_rows(struct view *vw, const json_t *o, struct row *rows, int k,
		  int max);

#endif
