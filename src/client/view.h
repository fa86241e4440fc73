/* SPDX-License-Identifier: MIT */
/*
 * view.h - smallbmsctl's readable answers (see view.c). Each returns an
 * exit status (client.h): EX_OK, or EX_PROTOCOL for an answer that cannot
 * be trusted.
 */
#ifndef SMALLBMS_VIEW_H
#define SMALLBMS_VIEW_H

#include <jansson.h>

#include "client.h"

int view_status(struct view *vw, const json_t *o);
int view_batteries(struct view *vw, const json_t *o);
int view_battery(struct view *vw, json_t *o);
int view_ports(struct view *vw, const json_t *o);
int view_mode(struct view *vw, const json_t *o);
int view_settings(struct view *vw, const json_t *o);
int view_history(struct view *vw, const json_t *o);
/* One line per update, for a log or a pipe (not a terminal). */
void view_watch_line(const json_t *o);

#endif
