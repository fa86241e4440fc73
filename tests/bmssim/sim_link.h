/* SPDX-License-Identifier: MIT */
/*
 * sim_link.h - one line of the simulator: the byte pipe a client opens.
 *
 * A link knows nothing about protocols: it delivers received bytes to a
 * callback and sends what it is given. Two implementations: a
 * pseudo-terminal whose slave side the daemon opens like a serial adapter
 * (sim_link.c), and a TCP listener that plays an RS485-to-TCP gateway
 * (sim_link_tcp.c).
 */
#ifndef BMSSIM_SIM_LINK_H
#define BMSSIM_SIM_LINK_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

struct sim_link;

typedef void (*sim_link_rx_fn)(void *ctx, const uint8_t *buf, size_t len);

struct sim_link_ops {
	const char *kind;   /* "pty", "tcp" */
	const char *banner; /* start-up line tag: "PTY", "TCP" */
	/* Start delivering received bytes to l->rx through ev. */
	int (*start)(struct sim_link *l, sd_event *ev);
	/* Non-blocking; returns bytes sent or -1 (errno set). */
	ssize_t (*send)(struct sim_link *l, const uint8_t *buf, size_t len);
	void (*close)(struct sim_link *l);
	/* The baud rate the host set on its end (a pty's termios); NULL
	 * or 0: not known (TCP). */
	unsigned (*host_baud)(struct sim_link *l);
};

struct sim_link {
	const struct sim_link_ops *ops;
	char path[PATH_MAX]; /* what a client opens: pty slave, ADDR:PORT */
	char link[PATH_MAX]; /* symlink to path, "" if none */
	sim_link_rx_fn rx;
	void *rx_ctx;
};

/*
 * Open a pseudo-terminal in raw mode (both sides). If symlink_path is not
 * NULL, point a symlink there at the slave; an existing symlink is
 * replaced, any other existing file is an error. NULL with err on failure.
 */
struct sim_link *sim_link_pty_open(const char *symlink_path, char *err,
				   size_t errlen);

/*
 * Listen on TCP at "HOST:PORT" ("[V6ADDR]:PORT" too), like an RS485-to-TCP
 * gateway. path becomes the numeric address and port actually bound (port
 * 0 picks a free one). One client at a time: a new connection replaces
 * the old one. NULL with err on failure.
 */
struct sim_link *sim_link_tcp_open(const char *hostport, char *err,
				   size_t errlen);

int sim_link_start(struct sim_link *l, sd_event *ev, sim_link_rx_fn rx,
		   void *ctx);
ssize_t sim_link_send(struct sim_link *l, const uint8_t *buf, size_t len);
/* The rate the host set on its end of the line, 0 if not known. */
unsigned sim_link_host_baud(struct sim_link *l);
/* Stop, close and remove the symlink if it still points at this link. */
void sim_link_close(struct sim_link *l);

#endif
