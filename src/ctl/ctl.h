/* SPDX-License-Identifier: MIT */
/*
 * ctl.h - the control socket server.
 *
 * A Unix stream socket; the server greets each client with one JSON line
 * ({"type":"hello","protocol":1,...}), then answers each request line with
 * exactly one JSON object on one line, each with a "type" field. All I/O is
 * non-blocking on the daemon's event loop; a client can never stall it.
 * The wire protocol is described in doc/protocol.md.
 */
#ifndef SMALLBMS_CTL_H
#define SMALLBMS_CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "wire.h"

/* Connected clients; one more gets a "busy" error and is closed. */
#define CTL_MAX_CLIENTS     64
/* Of those, the last few are kept for root and the admin group, so that
 * readers holding connections can never lock an administrator out. */
#define CTL_ADMIN_RESERVED  4
/* CTL_PROTOCOL_VERSION, CTL_MAX_REQUEST, CTL_MAX_ARGS and CTL_MAX_OUTPUT
 * (wire.h) are shared with smallbmsctl. A client whose queue would grow
 * beyond CTL_MAX_OUTPUT (it does not read its answers or broadcasts) is
 * dropped. */
/*
 * While this much is queued for a client, the server reads no further
 * requests from it: a client that pipelines requests faster than it reads
 * the answers is slowed down, not dropped.
 */
#define CTL_OUTPUT_THROTTLE (64 * 1024)
/* A client that sent no request for this long is closed (subscribers are
 * exempt: they wait for broadcasts). Microseconds. */
#define CTL_IDLE_TIMEOUT    (10ULL * 60 * 1000000)
/* A client being closed gets this long to read its last answer. */
#define CTL_LINGER_TIMEOUT  (5ULL * 1000000)

/* One connected client; opaque, valid only during the handler call. */
struct ctl_client;

struct ctl_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	/* The connection the request came on (see ctl_client_subscribe). */
	struct ctl_client *client;
	/* Root, or a member of the admin group (primary or supplementary,
	 * from SO_PEERGROUPS at connect time): may change state. */
	bool admin;
};

static inline bool ctl_peer_is_admin(const struct ctl_peer *p)
{
	return p->admin;
}

/*
 * Answer one request. argv[0] is the command word; the handler returns a
 * new JSON object (with "type") that the server sends and releases.
 * Returning NULL or a non-object sends an "internal" error. The handler
 * may call ctl_server_broadcast() but must not free the server.
 */
typedef json_t *(*ctl_handler_fn)(void *userdata, const struct ctl_peer *peer,
				  int argc, char **argv);

struct ctl_server;

struct ctl_server *ctl_server_new(sd_event *ev, const char *path,
				  ctl_handler_fn handler, void *userdata,
				  char *err, size_t errlen);
void ctl_server_free(struct ctl_server *s);

/* Members of gid may change state (root always may). Without a call, only
 * root may. Applies to connections accepted afterwards. */
void ctl_server_set_admin_group(struct ctl_server *s, gid_t gid);

/* A typed error answer: {"type":"error","error":code,"message":...}. */
json_t *ctl_error(const char *code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Subscriptions. A handler (e.g. for a "subscribe" request) marks the
 * requesting client with ctl_client_subscribe(peer->client, true); from
 * then on ctl_server_broadcast() sends it every broadcast message, after
 * the answers already queued. A NULL client (a handler called directly,
 * without a connection) is ignored.
 */
void ctl_client_subscribe(struct ctl_client *c, bool on);
bool ctl_client_subscribed(const struct ctl_client *c);

/*
 * Send msg (a JSON object; the caller keeps its reference) as one line to
 * every subscribed client. Never blocks: a subscriber whose queue would
 * exceed CTL_MAX_OUTPUT is dropped with a log line.
 */
void ctl_server_broadcast(struct ctl_server *s, json_t *msg);

/* Connected clients right now. */
unsigned ctl_server_clients(const struct ctl_server *s);
/* ... of them subscribed, that a broadcast would reach. */
unsigned ctl_server_subscribers(const struct ctl_server *s);

/* Change the idle timeout (microseconds, > 0) for clients from now on and
 * for the current ones; the default is CTL_IDLE_TIMEOUT. */
void ctl_server_set_idle_timeout(struct ctl_server *s, uint64_t usec);

#endif
