/* SPDX-License-Identifier: MIT */
/*
 * conn.h - smallbmsctl's connection to smallbmsd (see conn.c).
 */
#ifndef SMALLBMS_CONN_H
#define SMALLBMS_CONN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* How long a request may take, connect to answer, ms. */
#define CONN_TIMEOUT_MS 5000

struct conn {
	const char *path;
	int fd;
	int64_t deadline_ms; /* monotonic; -1: none (watching) */
	char *buf;
	size_t len, cap;
	size_t consumed; /* the line handed out last */
};

int64_t conn_now_ms(void);
/* Connect to c->path (c->fd -1 before); an exit status (client.h). */
int conn_open(struct conn *c);
/* The daemon's {"type":"hello"} with our protocol version, or why not. */
int conn_hello(struct conn *c);
/* One request line: the words joined by blanks. */
int conn_request(struct conn *c, int argc, char **argv);
/* One answer line into *line (NUL-terminated, valid until the next call). */
int conn_read_line(struct conn *c, char **line);
/* A JSON object with a string "type"; *out is the caller's to release. */
int conn_parse_answer(const char *line, json_t **out, const char **type);
/* {"type":"error"} said on stderr; its exit status. */
int conn_error_answer(const json_t *o);
void conn_close(struct conn *c);

#endif
