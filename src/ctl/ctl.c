/* SPDX-License-Identifier: MIT */
/*
 * ctl.c - the control socket server: a line protocol on a Unix stream
 * socket, driven by sd-event, that never blocks the daemon.
 *
 * Every client has a fixed input buffer (one request line plus CR LF) and an
 * output queue bounded by CTL_MAX_OUTPUT. Requests are read only while less
 * than CTL_OUTPUT_THROTTLE is queued, so a client that pipelines requests
 * is slowed down; only broadcasts (which the client did not ask for one by
 * one) or a single oversized answer can overflow the queue, and then the
 * client is dropped.
 *
 * Lifetime rule: helpers that work on a client never free it; they set
 * c->dead. The entry points (io and timer callbacks, accept, broadcast)
 * free dead clients at the end, except the client whose request is being
 * handled (srv->busy): its io callback frees it after the handler returns.
 * This lets a handler broadcast without pulling its own client away.
 */
#ifdef HAVE_CONFIG_H
/* The build configuration (autoconf), for PACKAGE_VERSION. */
#include <config.h>
#endif

#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "evprio.h"
#include "log.h"

#ifndef PACKAGE_VERSION
#error "PACKAGE_VERSION is not defined: build with config.h"
#endif

#define ACCEPT_BURST      16         /* connections taken per wake-up */
#define ACCEPT_RETRY_USEC 1000000ULL /* pause after EMFILE and friends */
#define IN_CAP            (CTL_MAX_REQUEST + 2) /* a line plus CR LF */
#define OUT_KEEP          16384 /* an empty queue keeps this much memory */
/*
 * 15 significant digits: every decimal with up to 15 digits comes out as
 * written (53.1 stays 53.1); jansson's default of 17 would send 53.1 as
 * 53.100000000000001.
 */
#define DUMP_FLAGS        (JSON_COMPACT | JSON_REAL_PRECISION(15))

struct ctl_client {
	struct ctl_server *srv;
	struct ctl_client *prev, *next;
	int fd;
	sd_event_source *io;
	sd_event_source *timer; /* idle timeout, or linger when closing */
	struct ctl_peer peer;
	bool subscribed;
	bool eof;     /* the peer sends no more */
	bool closing; /* handle no more requests; close once the queue is out */
	bool dead;    /* free at the next safe point */
	size_t inlen;
	char in[IN_CAP + 1]; /* +1: room to terminate the last line */
	char *out;
	size_t outoff, outlen, outcap;
};

struct ctl_server {
	sd_event *ev;
	char *path;
	dev_t dev; /* of our socket file: unlink only our own */
	ino_t ino;
	int fd;
	sd_event_source *listen;
	sd_event_source *retry;
	ctl_handler_fn handler;
	void *userdata;
	struct ctl_client *clients;
	unsigned nclients;
	gid_t admin_gid; /* may change state (with root) */
	bool have_admin_gid;
	struct ctl_client *busy; /* whose request the handler is answering */
	uint64_t idle_usec;
	/* The last answer sent and its text, held (a reference) so that its
	 * address cannot be reused: a handler that returns the same object
	 * again (a cached answer, never changed once built) is sent without
	 * encoding it again. */
	json_t *memo;
	char *memo_txt;
	size_t memo_len;
};

/* ---- text ---------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n > 0 bytes), 0 if invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t k;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		k = 1;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		k = 2;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		k = 3;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n <= k)
		return 0;
	for (size_t j = 1; j <= k; j++) {
		if ((s[j] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[j] & 0x3f);
	}
	if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k + 1;
}

/* A request is UTF-8 text without control characters other than TAB. */
static bool request_text_ok(const char *line, size_t n)
{
	const unsigned char *s = (const unsigned char *)line;
	size_t i = 0;

	while (i < n) {
		size_t k = utf8_seq(s + i, n - i);
		if (k == 0)
			return false;
		if (k == 1 && ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f))
			return false;
		i += k;
	}
	return true;
}

/* Replace every byte that is not part of valid UTF-8 with '?'. */
static void utf8_sanitize(char *str)
{
	unsigned char *s = (unsigned char *)str;
	size_t n = strlen(str), i = 0;

	while (i < n) {
		size_t k = utf8_seq(s + i, n - i);
		if (k == 0) {
			s[i] = '?';
			k = 1;
		}
		i += k;
	}
}

json_t *ctl_error(const char *code, const char *fmt, ...)
{
	json_t *o, *msg;
	char *text;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (r < 0)
		return NULL;
	/* Messages may quote what a battery or a client sent. */
	utf8_sanitize(text);
	msg = json_string(text);
	free(text);
	o = json_object();
	if (!o || !msg || !code ||
	    json_object_set_new(o, "type", json_string("error")) ||
	    json_object_set_new(o, "error", json_string(code)) ||
	    json_object_set_new(o, "message", msg)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- one client ---------------------------------------------------- */

static size_t client_pending(const struct ctl_client *c)
{
	return c->outlen - c->outoff;
}

/* Queue text plus "\n"; refuses (and marks the client dead) beyond the
 * output bound. */
static int client_queue_line(struct ctl_client *c, const char *txt, size_t n)
{
	size_t need = n + 1;

	if (need > CTL_MAX_OUTPUT - client_pending(c)) {
		log_warn("control client pid %d uid %u: more than %d bytes "
			 "queued, dropping it",
			 (int)c->peer.pid, (unsigned)c->peer.uid,
			 CTL_MAX_OUTPUT);
		c->dead = true;
		return -1;
	}
	if (c->outoff > 0 && c->outlen + need > c->outcap) {
		memmove(c->out, c->out + c->outoff, client_pending(c));
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	if (c->outlen + need > c->outcap) {
		size_t cap = c->outcap ? c->outcap * 2 : 4096;
		char *p;

		while (cap < c->outlen + need)
			cap *= 2;
		if (cap > CTL_MAX_OUTPUT)
			cap = CTL_MAX_OUTPUT;
		p = realloc(c->out, cap);
		if (!p) {
			log_err("control client pid %d: out of memory",
				(int)c->peer.pid);
			c->dead = true;
			return -1;
		}
		c->out = p;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, txt, n);
	c->out[c->outlen + n] = '\n';
	c->outlen += need;
	return 0;
}

static void memo_clear(struct ctl_server *s)
{
	json_decref(s->memo);
	free(s->memo_txt);
	s->memo = NULL;
	s->memo_txt = NULL;
}

/* Queue a JSON object as one compact line (the caller keeps msg). */
static void client_send(struct ctl_client *c, json_t *msg)
{
	struct ctl_server *s = c->srv;
	char *txt;

	if (msg != s->memo || !s->memo_txt) {
		txt = json_dumps(msg, DUMP_FLAGS);
		if (!txt) {
			log_err("control client pid %d: cannot encode an "
				"answer",
				(int)c->peer.pid);
			c->dead = true;
			return;
		}
		memo_clear(s);
		s->memo = json_incref(msg);
		s->memo_txt = txt;
		s->memo_len = strlen(txt);
	}
	client_queue_line(c, s->memo_txt, s->memo_len);
}

/* Send what the socket takes now. */
static void client_write(struct ctl_client *c)
{
	while (!c->dead && client_pending(c) > 0) {
		ssize_t n = send(c->fd, c->out + c->outoff, client_pending(c),
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			log_debug("control client pid %d: %s", (int)c->peer.pid,
				  strerror(errno));
			c->dead = true;
			return;
		}
		c->outoff += (size_t)n;
	}
	if (client_pending(c) == 0) {
		c->outoff = c->outlen = 0;
		if (c->outcap > OUT_KEEP) {
			free(c->out);
			c->out = NULL;
			c->outcap = 0;
		}
	}
}

static uint64_t timer_accuracy(uint64_t usec)
{
	/* 0 would mean sd-event's default of 250 ms */
	return usec / 16 > 0 ? usec / 16 : 1;
}

/* Idle timeout for a normal client, linger for a closing one, nothing for
 * a subscriber. */
static void client_arm_timer(struct ctl_client *c)
{
	uint64_t now = 0, usec;
	int r;

	if (c->subscribed && !c->closing) {
		r = sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
	} else {
		usec = c->closing ? CTL_LINGER_TIMEOUT : c->srv->idle_usec;
		r = sd_event_now(c->srv->ev, CLOCK_MONOTONIC, &now);
		if (r >= 0)
			r = sd_event_source_set_time(c->timer, now + usec);
		if (r >= 0)
			r = sd_event_source_set_time_accuracy(
				c->timer, timer_accuracy(usec));
		if (r >= 0)
			r = sd_event_source_set_enabled(c->timer,
							SD_EVENT_ONESHOT);
	}
	if (r < 0) {
		log_err("control client pid %d: cannot set its timer: %s",
			(int)c->peer.pid, strerror(-r));
		c->dead = true;
	}
}

/* No more requests: send what is queued, then close. */
static void client_close_after_send(struct ctl_client *c)
{
	c->closing = true;
	c->inlen = 0;
	client_arm_timer(c);
}

static void client_answer(struct ctl_client *c, json_t *ans, const char *cmd)
{
	if (!json_is_object(ans)) {
		log_err("control: no answer object for '%s'", cmd);
		json_decref(ans);
		ans = ctl_error("internal", "internal error answering '%s'",
				cmd);
		if (!ans) {
			c->dead = true;
			return;
		}
	}
	client_send(c, ans);
	json_decref(ans);
}

static void client_error(struct ctl_client *c, const char *code,
			 const char *msg)
{
	json_t *e = ctl_error(code, "%s", msg);

	if (!e) {
		c->dead = true;
		return;
	}
	client_send(c, e);
	json_decref(e);
}

static void client_too_long(struct ctl_client *c)
{
	char msg[80];

	log_info("control client pid %d uid %u: request longer than %d "
		 "bytes, closing",
		 (int)c->peer.pid, (unsigned)c->peer.uid, CTL_MAX_REQUEST);
	snprintf(msg, sizeof(msg), "request longer than %d bytes",
		 CTL_MAX_REQUEST);
	client_error(c, "request-too-long", msg);
	client_close_after_send(c);
}

/* Split at blanks in place; -1 when there are too many words. */
static int split_words(char *p, char **argv)
{
	int argc = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (argc == CTL_MAX_ARGS)
			return -1;
		argv[argc++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
	argv[argc] = NULL;
	return argc;
}

/* One line, without its LF; line[len] is writable. */
static void client_line(struct ctl_client *c, char *line, size_t len)
{
	struct ctl_server *s = c->srv;
	char *argv[CTL_MAX_ARGS + 1];
	json_t *ans;
	int argc;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > CTL_MAX_REQUEST) {
		client_too_long(c);
		return;
	}
	if (!request_text_ok(line, len)) {
		client_error(c, "bad-request",
			     "a request is UTF-8 text without control "
			     "characters or NUL bytes");
		return;
	}
	line[len] = '\0';
	argc = split_words(line, argv);
	if (argc == 0)
		return; /* empty lines are ignored */
	client_arm_timer(c);
	if (argc < 0) {
		client_error(c, "bad-request", "too many words in the request");
		return;
	}
	s->busy = c;
	ans = s->handler(s->userdata, &c->peer, argc, argv);
	s->busy = NULL;
	if (c->dead) {
		json_decref(ans);
		return;
	}
	client_answer(c, ans, argv[0]);
}

/* Handle the complete lines in the input buffer, as long as the answers
 * are being read. */
static void client_process(struct ctl_client *c)
{
	size_t start = 0;

	while (!c->closing && !c->dead &&
	       client_pending(c) < CTL_OUTPUT_THROTTLE) {
		char *p = c->in + start;
		char *nl = memchr(p, '\n', c->inlen - start);
		size_t len;

		if (nl)
			len = (size_t)(nl - p);
		else if (c->eof && c->inlen > start)
			len = c->inlen -
			      start; /* the last, unterminated line */
		else
			break;
		start += len + (nl ? 1 : 0);
		client_line(c, p, len);
		client_write(c);
	}
	if (c->closing || c->dead)
		return;
	memmove(c->in, c->in + start, c->inlen - start);
	c->inlen -= start;
	if (c->inlen == IN_CAP && !memchr(c->in, '\n', c->inlen))
		client_too_long(c);
	else if (c->eof && c->inlen == 0)
		client_close_after_send(c);
}

static void client_read(struct ctl_client *c)
{
	ssize_t n =
		recv(c->fd, c->in + c->inlen, IN_CAP - c->inlen, MSG_DONTWAIT);

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		log_debug("control client pid %d: %s", (int)c->peer.pid,
			  strerror(errno));
		c->dead = true;
		return;
	}
	if (n == 0)
		c->eof = true;
	c->inlen += (size_t)n;
}

static void client_free(struct ctl_client *c)
{
	struct ctl_server *s = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nclients--;
	sd_event_source_disable_unref(c->io);
	sd_event_source_disable_unref(c->timer);
	close(c->fd);
	free(c->out);
	free(c);
}

static void client_update_events(struct ctl_client *c)
{
	uint32_t events = 0;
	int r;

	if (!c->eof && !c->closing && c->inlen < IN_CAP &&
	    client_pending(c) < CTL_OUTPUT_THROTTLE)
		events |= EPOLLIN;
	if (client_pending(c) > 0)
		events |= EPOLLOUT;
	r = sd_event_source_set_io_events(c->io, events);
	if (r < 0) {
		log_err("control client pid %d: %s", (int)c->peer.pid,
			strerror(-r));
		c->dead = true;
	}
}

/* The end of every entry point: free the client or wait for more. */
static void client_settle(struct ctl_client *c)
{
	if (!c->dead && c->closing && client_pending(c) == 0)
		c->dead = true;
	if (!c->dead)
		client_update_events(c);
	if (c->dead)
		client_free(c);
}

static int client_io(sd_event_source *es, int fd, uint32_t revents,
		     void *userdata)
{
	struct ctl_client *c = userdata;

	if (revents & EPOLLOUT)
		client_write(c);
	if (!c->dead && !c->eof && !c->closing &&
	    (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		client_read(c);
	if (!c->dead)
		client_process(c);
	client_write(c);
	client_settle(c);
	return 0;
}

static int client_timeout(sd_event_source *es, uint64_t usec, void *userdata)
{
	struct ctl_client *c = userdata;

	if (c->closing)
		log_debug("control client pid %d did not read its last "
			  "answer, closing",
			  (int)c->peer.pid);
	else
		log_info("control client pid %d uid %u: idle, closing",
			 (int)c->peer.pid, (unsigned)c->peer.uid);
	client_free(c);
	return 0;
}

static json_t *hello_json(void)
{
	return json_pack("{s:s,s:i,s:s,s:s}", "type", "hello", "protocol",
			 CTL_PROTOCOL_VERSION, "server", "smallbmsd", "version",
			 PACKAGE_VERSION);
}

/*
 * Is gid among the supplementary groups the peer had when it connected
 * (SO_PEERGROUPS, Linux 4.13)? A process may have up to NGROUPS_MAX
 * (65536) groups: when the first buffer is too small the kernel says
 * ERANGE and how much it needs, and we ask again.
 */
static bool peer_in_group(int fd, gid_t gid)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	bool found = false;
	int r;

	r = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len);
	if (r < 0 && errno == ERANGE && len > sizeof(small)) {
		groups = malloc(len);
		r = groups ? getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups,
					&len)
			   : -1;
	}
	for (size_t i = 0; r == 0 && i < len / sizeof(gid_t); i++) {
		if (groups[i] == gid)
			found = true;
	}
	if (groups != small)
		free(groups);
	return found;
}

/*
 * Root, or the admin group as the (effective) primary group or among the
 * supplementary groups the peer process had when it connected: the
 * credentials of the connection, not of a user name.
 */
static bool peer_is_admin(const struct ctl_server *s, int fd,
			  const struct ucred *cr)
{
	if (cr->uid == 0)
		return true;
	if (!s->have_admin_gid)
		return false;
	return cr->gid == s->admin_gid || peer_in_group(fd, s->admin_gid);
}

void ctl_server_set_admin_group(struct ctl_server *s, gid_t gid)
{
	s->admin_gid = gid;
	s->have_admin_gid = true;
}

static void reject_busy(struct ctl_server *s, int fd);

static void client_new(struct ctl_server *s, int fd)
{
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	struct ctl_client *c;
	json_t *hello;
	bool admin;
	int r;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0) {
		log_warn("control socket %s: no peer credentials: %s", s->path,
			 strerror(errno));
		close(fd);
		return;
	}
	/* The last CTL_ADMIN_RESERVED slots are kept for root and the admin
	 * group, so readers holding connections cannot lock them out. */
	admin = peer_is_admin(s, fd, &cr);
	if (!admin && s->nclients >= CTL_MAX_CLIENTS - CTL_ADMIN_RESERVED) {
		reject_busy(s, fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		log_err("control socket %s: out of memory", s->path);
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	c->peer = (struct ctl_peer){cr.pid, cr.uid, cr.gid, c, admin};
	c->next = s->clients;
	if (s->clients)
		s->clients->prev = c;
	s->clients = c;
	s->nclients++;
	r = sd_event_add_io(s->ev, &c->io, fd, EPOLLIN, client_io, c);
	if (r >= 0)
		r = sd_event_source_set_priority(c->io, EVPRIO_SERVICE);
	if (r >= 0)
		r = sd_event_add_time(s->ev, &c->timer, CLOCK_MONOTONIC, 0, 0,
				      client_timeout, c);
	if (r >= 0)
		r = sd_event_source_set_priority(c->timer, EVPRIO_SERVICE);
	if (r < 0) {
		log_err("control socket %s: cannot watch a client: %s", s->path,
			strerror(-r));
		client_free(c);
		return;
	}
	log_debug("control client pid %d uid %u connected", (int)cr.pid,
		  (unsigned)cr.uid);
	client_arm_timer(c);
	hello = hello_json();
	if (hello)
		client_send(c, hello);
	else
		c->dead = true;
	json_decref(hello);
	client_write(c);
	client_settle(c);
}

/* Best effort: one non-blocking write, then close. */
static void reject_busy(struct ctl_server *s, int fd)
{
	json_t *e = ctl_error("busy", "too many clients (%d); try again later",
			      CTL_MAX_CLIENTS);
	char *txt = e ? json_dumps(e, DUMP_FLAGS) : NULL;

	log_notice("control socket %s: %u clients connected, refusing one",
		   s->path, s->nclients);
	if (txt) {
		static char nl[] = "\n";
		struct iovec iov[2] = {{txt, strlen(txt)}, {nl, 1}};
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
		if (sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("control socket %s: %s", s->path,
				  strerror(errno));
	}
	free(txt);
	json_decref(e);
	close(fd);
}

static int on_accept_retry(sd_event_source *es, uint64_t usec, void *userdata)
{
	struct ctl_server *s = userdata;

	sd_event_source_set_enabled(s->listen, SD_EVENT_ON);
	return 0;
}

/*
 * Out of file descriptors: the listening socket stays readable, so
 * level-triggered polling would spin. Stop listening for a moment.
 */
static void accept_pause(struct ctl_server *s)
{
	uint64_t now = 0;
	int r;

	r = sd_event_now(s->ev, CLOCK_MONOTONIC, &now);
	if (r >= 0 && !s->retry) {
		r = sd_event_add_time(s->ev, &s->retry, CLOCK_MONOTONIC,
				      now + ACCEPT_RETRY_USEC, 0,
				      on_accept_retry, s);
		if (r >= 0)
			r = sd_event_source_set_priority(s->retry,
							 EVPRIO_SERVICE);
	} else if (r >= 0) {
		r = sd_event_source_set_time(s->retry, now + ACCEPT_RETRY_USEC);
	}
	if (r >= 0)
		r = sd_event_source_set_enabled(s->retry, SD_EVENT_ONESHOT);
	if (r >= 0)
		sd_event_source_set_enabled(s->listen, SD_EVENT_OFF);
}

static int on_accept(sd_event_source *es, int fd, uint32_t revents,
		     void *userdata)
{
	struct ctl_server *s = userdata;

	for (int i = 0; i < ACCEPT_BURST; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			int e = errno;
			if (e == EINTR || e == ECONNABORTED)
				continue;
			if (e == EAGAIN || e == EWOULDBLOCK)
				break;
			log_warn("control socket %s: cannot accept: %s",
				 s->path, strerror(e));
			if (e == EMFILE || e == ENFILE || e == ENOBUFS ||
			    e == ENOMEM)
				accept_pause(s);
			break;
		}
		if (s->nclients >= CTL_MAX_CLIENTS)
			reject_busy(s, cfd);
		else
			client_new(s, cfd);
	}
	return 0;
}

/* ---- the server ---------------------------------------------------- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * The path is taken (bind said EADDRINUSE). Remove it only if it is a
 * socket nobody listens on. Returns 0 to retry bind, -1 on error.
 */
static int remove_stale(const struct sockaddr_un *sa, char *err, size_t errlen)
{
	const char *path = sa->sun_path;
	struct stat st;
	int fd, r, e;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		set_err(err, errlen, "cannot check %s: %s", path,
			strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		set_err(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_err(err, errlen, "cannot check %s: %s", path,
			strerror(errno));
		return -1;
	}
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	e = errno;
	close(fd);
	/* EAGAIN: a listener whose backlog is full, still a listener */
	if (r == 0 || e == EAGAIN) {
		set_err(err, errlen, "another smallbmsd is listening on %s",
			path);
		return -1;
	}
	if (e != ECONNREFUSED && e != ENOENT) {
		set_err(err, errlen, "cannot check %s: %s", path, strerror(e));
		return -1;
	}
	log_notice("removing stale control socket %s", path);
	if (unlink(path) < 0 && errno != ENOENT) {
		set_err(err, errlen, "cannot remove stale socket %s: %s", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int bind_socket(struct ctl_server *s, const struct sockaddr_un *sa,
		       char *err, size_t errlen)
{
	int e = 0;

	/* A second and third try: another process may race us to the path. */
	for (int attempt = 0; attempt < 3; attempt++) {
		if (bind(s->fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
			return 0;
		e = errno;
		if (e != EADDRINUSE)
			break;
		if (remove_stale(sa, err, errlen) < 0)
			return -1;
	}
	set_err(err, errlen, "cannot bind %s: %s", s->path, strerror(e));
	return -1;
}

/* bind, chmod, listen: nobody can connect before the mode is right. */
static int open_socket(struct ctl_server *s, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;

	memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		set_err(err, errlen, "cannot create socket for %s: %s", s->path,
			strerror(errno));
		return -1;
	}
	if (bind_socket(s, &sa, err, errlen) < 0)
		return -1;
	if (chmod(s->path, 0660) < 0 || stat(s->path, &st) < 0) {
		set_err(err, errlen, "cannot set the mode of %s: %s", s->path,
			strerror(errno));
		unlink(s->path);
		return -1;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	if (listen(s->fd, SOMAXCONN) < 0) {
		set_err(err, errlen, "cannot listen on %s: %s", s->path,
			strerror(errno));
		unlink(s->path);
		s->ino = 0;
		return -1;
	}
	return 0;
}

struct ctl_server *ctl_server_new(sd_event *ev, const char *path,
				  ctl_handler_fn handler, void *userdata,
				  char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct ctl_server *s;
	int r;

	if (!ev || !path || !path[0] || !handler) {
		set_err(err, errlen, "control socket: invalid arguments");
		return NULL;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		set_err(err, errlen,
			"control socket path %s is too long (at most %zu "
			"bytes)",
			path, sizeof(sa.sun_path) - 1);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		set_err(err, errlen, "control socket %s: out of memory", path);
		return NULL;
	}
	s->ev = sd_event_ref(ev);
	s->fd = -1;
	s->handler = handler;
	s->userdata = userdata;
	s->idle_usec = CTL_IDLE_TIMEOUT;
	if (open_socket(s, err, errlen) < 0)
		goto fail;
	r = sd_event_add_io(ev, &s->listen, s->fd, EPOLLIN, on_accept, s);
	if (r >= 0)
		r = sd_event_source_set_priority(s->listen, EVPRIO_SERVICE);
	if (r < 0) {
		set_err(err, errlen, "cannot watch %s: %s", path, strerror(-r));
		goto fail;
	}
	return s;
fail:
	ctl_server_free(s);
	return NULL;
}

void ctl_server_free(struct ctl_server *s)
{
	struct stat st;

	if (!s)
		return;
	while (s->clients)
		client_free(s->clients);
	memo_clear(s);
	sd_event_source_disable_unref(s->listen);
	sd_event_source_disable_unref(s->retry);
	if (s->fd >= 0)
		close(s->fd);
	/* Another daemon may have replaced the file; leave that one. */
	if (s->ino && stat(s->path, &st) == 0 && st.st_dev == s->dev &&
	    st.st_ino == s->ino)
		unlink(s->path);
	sd_event_unref(s->ev);
	free(s->path);
	free(s);
}

void ctl_client_subscribe(struct ctl_client *c, bool on)
{
	if (!c || c->subscribed == on)
		return;
	c->subscribed = on;
	if (!c->closing)
		client_arm_timer(c);
}

bool ctl_client_subscribed(const struct ctl_client *c)
{
	return c && c->subscribed;
}

void ctl_server_broadcast(struct ctl_server *s, json_t *msg)
{
	struct ctl_client *c, *next;
	char *txt;
	size_t n;

	if (!s || !msg)
		return;
	txt = json_dumps(msg, DUMP_FLAGS);
	if (!txt) {
		log_err("control socket %s: cannot encode a broadcast",
			s->path);
		return;
	}
	n = strlen(txt);
	for (c = s->clients; c; c = next) {
		next = c->next;
		if (!c->subscribed || c->closing || c->dead)
			continue;
		if (client_queue_line(c, txt, n) == 0)
			client_write(c);
		if (c != s->busy)
			client_settle(c);
	}
	free(txt);
}

unsigned ctl_server_clients(const struct ctl_server *s)
{
	return s ? s->nclients : 0;
}

unsigned ctl_server_subscribers(const struct ctl_server *s)
{
	unsigned n = 0;

	for (const struct ctl_client *c = s ? s->clients : NULL; c; c = c->next)
		n += c->subscribed && !c->closing && !c->dead;
	return n;
}

void ctl_server_set_idle_timeout(struct ctl_server *s, uint64_t usec)
{
	struct ctl_client *c, *next;

	if (!s || usec == 0)
		return;
	s->idle_usec = usec;
	for (c = s->clients; c; c = next) {
		next = c->next;
		if (c->closing)
			continue;
		client_arm_timer(c); /* subscribers: stays off */
		if (c != s->busy)
			client_settle(c);
	}
}
