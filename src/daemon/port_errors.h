/* SPDX-License-Identifier: MIT */
#ifndef SMALLBMS_PORT_ERRORS_H
#define SMALLBMS_PORT_ERRORS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "chain.h"

/*
 * Ports that cannot be opened, for the readouts a user looks at first
 * (`systemctl status`'s STATUS=, `smallbmsctl status`): a device the
 * sandbox or a permission denies (EPERM, EACCES), or that is absent, must
 * not leave only "Starting". The chain keeps retrying such a port (its
 * backoff, up to 30 s); the journal has the error once per change.
 */

/* "port NAME: ERROR (retrying)" for the first port that is closed with an
 * error; false (buf empty) when every port is open or has not failed. */
bool port_errors_first(const struct chain *c, char *buf, size_t len);

/* ["port NAME: ERROR", ...]: every such port (an empty array: none). */
json_t *port_errors_json(const struct chain *c);

#endif
