/* SPDX-License-Identifier: MIT */
/*
 * mqtt.c - the broker connection on the event loop (see mqtt.h).
 *
 * libmosquitto is driven by hand, never by its own thread or
 * mosquitto_loop(): the socket is an sd-event IO source, reads and writes
 * are the library's non-blocking loop_read()/loop_write(), its keepalive
 * is loop_misc() from a 1 s timer, and every failure (refused, lost,
 * keepalive, a connection that does not complete within
 * CONNECT_TIMEOUT_US) ends in lost(): the socket is forgotten and
 * mosquitto_reconnect_async() runs again after a back-off.
 */
#include <config.h>

#include "mqtt.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "evprio.h"
#include "log.h"

#define MISC_PERIOD_US     1000000ULL
#define CONNECT_TIMEOUT_US 10000000ULL
#define KEEPALIVE_S        30
#define PASSWORD_MAX       256
/* The kernel's part of the outgoing queue: without a bound, a broker that
 * stops reading would have megabytes of stale states waiting in it. */
#define SNDBUF_BYTES       32768
#define MAX_TOPICS         (2 * CFG_MAX_BATTERIES + 8)

enum mqtt_phase {
	PH_WAIT,       /* no socket: the retry timer runs */
	PH_CONNECTING, /* socket open, no CONNACK yet */
	PH_CONNECTED,
};

struct mqtt_msg {
	char *topic;
	char *payload;
	bool retain;
};

/* The last state sent on a topic, for "publish on change". */
struct mqtt_topic {
	char sub[64];
	char *last;
	uint64_t last_us;
};

struct mqtt {
	sd_event *ev;
	struct cfg_mqtt cfg;
	char host[64];
	unsigned port;
	bool tls;
	struct mosquitto *mosq;
	const struct mqtt_ops *ops;
	void *userdata;
	sd_event_source *io, *misc, *retry;
	enum mqtt_phase phase;
	bool started; /* connect_async once, then reconnect_async */
	uint64_t phase_since_us;
	uint64_t backoff_us;
	int refused;  /* CONNACK reason code; 0: none */
	bool dropped; /* the library reported a disconnection */
	int drop_rc;
	/* The bounded queue: a ring of cfg.max_queued. */
	struct mqtt_msg *q;
	unsigned qhead, qlen;
	unsigned inflight;
	struct mqtt_topic topics[MAX_TOPICS];
	unsigned ntopics;
	uint64_t published, dropped_msgs, connections, failures;
	char last_error[200];
};

static uint64_t now_us(const struct mqtt *m)
{
	uint64_t t = 0;

	sd_event_now(m->ev, CLOCK_MONOTONIC, &t);
	return t;
}

static void set_phase(struct mqtt *m, enum mqtt_phase ph)
{
	m->phase = ph;
	m->phase_since_us = now_us(m);
}

/* --- the bounded queue ---------------------------------------------------- */

static void msg_free(struct mqtt_msg *x)
{
	free(x->topic);
	free(x->payload);
	memset(x, 0, sizeof(*x));
}

static void queue_clear(struct mqtt *m)
{
	while (m->qlen) {
		msg_free(&m->q[m->qhead]);
		m->qhead = (m->qhead + 1) % m->cfg.max_queued;
		m->qlen--;
	}
}

/* Drop-oldest: a full queue loses its oldest message, counted. */
static void queue_push(struct mqtt *m, const char *topic, const char *payload,
		       bool retain)
{
	struct mqtt_msg *x;

	if (m->qlen == m->cfg.max_queued) {
		msg_free(&m->q[m->qhead]);
		m->qhead = (m->qhead + 1) % m->cfg.max_queued;
		m->qlen--;
		m->dropped_msgs++;
	}
	x = &m->q[(m->qhead + m->qlen) % m->cfg.max_queued];
	x->topic = strdup(topic);
	x->payload = strdup(payload);
	x->retain = retain;
	if (!x->topic || !x->payload) {
		msg_free(x);
		m->dropped_msgs++;
		return;
	}
	m->qlen++;
}

/* Hand queued messages to the library while few of ours are unwritten. */
static void queue_drain(struct mqtt *m)
{
	while (m->phase == PH_CONNECTED && m->qlen &&
	       m->inflight < MQTT_INFLIGHT) {
		struct mqtt_msg *x = &m->q[m->qhead];
		int rc = mosquitto_publish(m->mosq, NULL, x->topic,
					   (int)strlen(x->payload), x->payload,
					   (int)m->cfg.qos, x->retain);

		if (rc == MOSQ_ERR_SUCCESS) {
			m->inflight++;
			m->published++;
		} else {
			m->dropped_msgs++;
		}
		msg_free(x);
		m->qhead = (m->qhead + 1) % m->cfg.max_queued;
		m->qlen--;
	}
}

/* --- connection ------------------------------------------------------------ */

static void start_connect(struct mqtt *m);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	start_connect(userdata);
	return 0;
}

/* Say a failure in the journal when it is new, at debug level when it
 * repeats (the back-off keeps retrying). */
static void say_failure(struct mqtt *m, const char *msg_id, int prio,
			const char *why)
{
	char fb[300];
	const char *fields[] = {"SMALLBMS_EVENT=mqtt", fb, NULL};

	m->failures++;
	snprintf(fb, sizeof(fb), "SMALLBMS_BROKER=%s", m->cfg.broker);
	if (strcmp(why, m->last_error) == 0) {
		log_debug("mqtt: broker %s: %s (again; retrying in %llu s)",
			  m->cfg.broker, why,
			  (unsigned long long)(m->backoff_us / 1000000));
		return;
	}
	snprintf(m->last_error, sizeof(m->last_error), "%s", why);
	log_event(prio, msg_id, fields,
		  "mqtt: broker %s: %s; retrying in %llu s", m->cfg.broker, why,
		  (unsigned long long)(m->backoff_us / 1000000));
}

/* The socket is gone or useless: forget it, say why, retry later. */
static void lost(struct mqtt *m, const char *why)
{
	bool was_connected = m->phase == PH_CONNECTED;
	char fb[300];
	const char *fields[] = {"SMALLBMS_EVENT=mqtt", fb, NULL};

	m->io = sd_event_source_disable_unref(m->io);
	m->inflight = 0;
	queue_clear(m); /* every state is sent again at the next connection */
	set_phase(m, PH_WAIT);
	if (was_connected) {
		snprintf(fb, sizeof(fb), "SMALLBMS_BROKER=%s", m->cfg.broker);
		log_event(LOG_WARNING, MQTT_MSG_DISCONNECTED, fields,
			  "mqtt: disconnected from broker %s: %s; "
			  "reconnecting in %llu s",
			  m->cfg.broker, why,
			  (unsigned long long)(m->backoff_us / 1000000));
		snprintf(m->last_error, sizeof(m->last_error), "%s", why);
	} else if (m->refused) {
		say_failure(m, MQTT_MSG_REFUSED, LOG_ERR, why);
	} else {
		say_failure(m, MQTT_MSG_DISCONNECTED, LOG_WARNING, why);
	}
	sd_event_source_set_time(m->retry, now_us(m) + m->backoff_us);
	sd_event_source_set_enabled(m->retry, SD_EVENT_ONESHOT);
	m->backoff_us *= 2;
	if (m->backoff_us > MQTT_BACKOFF_MAX_US)
		m->backoff_us = MQTT_BACKOFF_MAX_US;
}

static const char *refusal_hint(int rc)
{
	switch (rc) {
	case MQTT_RC_BAD_USERNAME_OR_PASSWORD:
		return " (check username and the password file or credential)";
	case MQTT_RC_NOT_AUTHORIZED:
		/* mosquitto 2 says this of a wrong password too */
		return " (check username and the password file or credential, "
		       "and that the broker lets this user connect)";
	case MQTT_RC_CLIENTID_NOT_VALID:
		return " (check client_id)";
	default:
		return "";
	}
}

/* After every call into the library: what its callbacks reported. */
static bool check_lost(struct mqtt *m, int rc, const char *what)
{
	char why[200];

	if (m->refused) {
		snprintf(why, sizeof(why), "connection refused: %s%s",
			 mosquitto_reason_string(m->refused),
			 refusal_hint(m->refused));
		lost(m, why);
		return true;
	}
	if (m->dropped) {
		snprintf(why, sizeof(why), "%s",
			 mosquitto_strerror(m->drop_rc));
		lost(m, why);
		return true;
	}
	if (rc != MOSQ_ERR_SUCCESS) {
		if (rc == MOSQ_ERR_ERRNO)
			snprintf(why, sizeof(why), "%s: %s", what,
				 strerror(errno));
		else
			snprintf(why, sizeof(why), "%s: %s", what,
				 mosquitto_strerror(rc));
		lost(m, why);
		return true;
	}
	return false;
}

/* EPOLLOUT only while the library has something to write. */
static void update_events(struct mqtt *m)
{
	uint32_t ev = EPOLLIN;

	if (!m->io)
		return;
	if (mosquitto_want_write(m->mosq))
		ev |= EPOLLOUT;
	sd_event_source_set_io_events(m->io, ev);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct mqtt *m = userdata;
	int rc = MOSQ_ERR_SUCCESS;

	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
		rc = mosquitto_loop_read(m->mosq, 1);
	if (check_lost(m, rc, "read"))
		return 0;
	if (revents & EPOLLOUT || mosquitto_want_write(m->mosq))
		rc = mosquitto_loop_write(m->mosq, 1);
	if (check_lost(m, rc, "write"))
		return 0;
	queue_drain(m);
	update_events(m);
	return 0;
}

static void start_connect(struct mqtt *m)
{
	int rc, fd;

	m->refused = 0;
	m->dropped = false;
	set_phase(m, PH_CONNECTING);
	/* Non-blocking: the host is an IP address (no name to resolve) and
	 * the socket's connect() completes on the loop (EPOLLOUT). */
	if (!m->started) {
		m->started = true;
		rc = mosquitto_connect_async(m->mosq, m->host, (int)m->port,
					     KEEPALIVE_S);
	} else {
		rc = mosquitto_reconnect_async(m->mosq);
	}
	if (check_lost(m, rc, "connect"))
		return;
	fd = mosquitto_socket(m->mosq);
	if (fd >= 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF,
				 &(int){SNDBUF_BYTES}, sizeof(int));
	if (fd < 0 ||
	    sd_event_add_io(m->ev, &m->io, fd, EPOLLIN | EPOLLOUT, on_io, m) <
		    0 ||
	    sd_event_source_set_priority(m->io, EVPRIO_SERVICE) < 0) {
		m->io = sd_event_source_disable_unref(m->io);
		lost(m, "cannot watch the socket");
		return;
	}
	update_events(m);
}

static int on_misc(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct mqtt *m = userdata;

	sd_event_source_set_time(s, usec + MISC_PERIOD_US);
	if (m->phase == PH_CONNECTING &&
	    now_us(m) - m->phase_since_us > CONNECT_TIMEOUT_US) {
		lost(m, "no answer within 10 s");
		return 0;
	}
	if (m->phase == PH_WAIT)
		return 0;
	if (check_lost(m, mosquitto_loop_misc(m->mosq), "keepalive"))
		return 0;
	queue_drain(m);
	update_events(m);
	return 0;
}

/* --- library callbacks: only state, the loop acts after the call --------- */

static void topic_join(const struct mqtt *m, const char *sub, char *buf,
		       size_t len)
{
	snprintf(buf, len, "%s/%s", m->cfg.topic_prefix, sub);
}

static void on_connect(struct mosquitto *mosq, void *userdata, int rc,
		       int flags, const mosquitto_property *props)
{
	struct mqtt *m = userdata;
	char topic[CFG_NAME_LEN + 16], fb[300];
	const char *fields[] = {"SMALLBMS_EVENT=mqtt", fb, NULL};

	if (rc != 0) {
		m->refused = rc;
		return;
	}
	set_phase(m, PH_CONNECTED);
	m->connections++;
	m->backoff_us = MQTT_BACKOFF_MIN_US;
	m->last_error[0] = '\0';
	snprintf(fb, sizeof(fb), "SMALLBMS_BROKER=%s", m->cfg.broker);
	log_event(LOG_NOTICE, MQTT_MSG_CONNECTED, fields,
		  "mqtt: connected to broker %s as %s", m->cfg.broker,
		  m->cfg.client_id);
	topic_join(m, "status", topic, sizeof(topic));
	queue_push(m, topic, "online", true);
	if (m->cfg.allow_commands) {
		topic_join(m, "set/+", topic, sizeof(topic));
		mosquitto_subscribe(m->mosq, NULL, topic, (int)m->cfg.qos);
	}
	for (unsigned i = 0; i < m->ntopics; i++)
		m->topics[i].last_us = 0; /* sent again: the broker forgot */
	if (m->ops->connected)
		m->ops->connected(m->userdata);
}

static void on_disconnect(struct mosquitto *mosq, void *userdata, int rc,
			  const mosquitto_property *props)
{
	struct mqtt *m = userdata;

	m->dropped = true;
	m->drop_rc = rc;
}

static void on_publish(struct mosquitto *mosq, void *userdata, int mid,
		       int reason, const mosquitto_property *props)
{
	struct mqtt *m = userdata;

	if (m->inflight)
		m->inflight--;
}

/* PREFIX/set/WHAT: who sent it is what the message says (MQTT v5 user
 * property "client"): the broker's ACL is the trust boundary. */
static void on_message(struct mosquitto *mosq, void *userdata,
		       const struct mosquitto_message *msg,
		       const mosquitto_property *props)
{
	struct mqtt *m = userdata;
	char prefix[CFG_NAME_LEN + 8], arg[32], who[64] = "unidentified";
	char *name = NULL, *value = NULL;
	size_t n = strlen(m->cfg.topic_prefix);
	int len = msg->payloadlen < 31 ? msg->payloadlen : 31;

	snprintf(prefix, sizeof(prefix), "%s/set/", m->cfg.topic_prefix);
	if (!m->cfg.allow_commands || strncmp(msg->topic, prefix, n + 5) != 0)
		return;
	/* A retained command is an old one the broker hands to every new
	 * connection: run, it would undo a later local Mode change or sync
	 * the SoC to 100 % again at every reconnect. Commands are acts. */
	if (msg->retain) {
		log_warn("mqtt: %s is a retained message: ignored (publish "
			 "commands without retain; clear it with an empty "
			 "retained message)",
			 msg->topic);
		return;
	}
	memcpy(arg, msg->payload ? msg->payload : "", (size_t)len);
	arg[len] = '\0';
	if (mosquitto_property_read_string_pair(props, MQTT_PROP_USER_PROPERTY,
						&name, &value, false) &&
	    name && value && strcmp(name, "client") == 0)
		snprintf(who, sizeof(who), "%s", value);
	free(name);
	free(value);
	if (m->ops->command)
		m->ops->command(m->userdata, msg->topic + n + 5, arg, who);
}

/* --- setup ----------------------------------------------------------------- */

/* password_file, else the systemd credential mqtt-password, else none. */
static int read_password(const struct cfg_mqtt *c, char *pw, size_t len,
			 char *err, size_t errlen)
{
	char path[CFG_PATH_LEN + 32];
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	FILE *f;

	pw[0] = '\0';
	if (c->password_file[0])
		snprintf(path, sizeof(path), "%s", c->password_file);
	else if (dir && c->username[0])
		snprintf(path, sizeof(path), "%s/mqtt-password", dir);
	else
		return 0;
	f = fopen(path, "re");
	if (!f) {
		if (!c->password_file[0] && errno == ENOENT)
			return 0; /* no such credential: no password */
		snprintf(err, errlen, "mqtt: password %s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (!fgets(pw, (int)len, f))
		pw[0] = '\0';
	fclose(f);
	pw[strcspn(pw, "\r\n")] = '\0';
	return 0;
}

static int setup_client(struct mqtt *m, char *err, size_t errlen)
{
	char pw[PASSWORD_MAX], topic[CFG_NAME_LEN + 16];
	int rc;

	if (read_password(&m->cfg, pw, sizeof(pw), err, errlen) < 0)
		return -1;
	mosquitto_lib_init();
	m->mosq = mosquitto_new(m->cfg.client_id, true, m);
	if (!m->mosq) {
		snprintf(err, errlen, "mqtt: cannot create the client");
		return -1;
	}
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
			     MQTT_PROTOCOL_V5);
	mosquitto_connect_v5_callback_set(m->mosq, on_connect);
	mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
	mosquitto_publish_v5_callback_set(m->mosq, on_publish);
	mosquitto_message_v5_callback_set(m->mosq, on_message);
	rc = mosquitto_username_pw_set(
		m->mosq, m->cfg.username[0] ? m->cfg.username : NULL,
		pw[0] ? pw : NULL);
	memset(pw, 0, sizeof(pw));
	topic_join(m, "status", topic, sizeof(topic));
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_will_set(m->mosq, topic, 7, "offline",
					(int)m->cfg.qos, true);
	if (rc == MOSQ_ERR_SUCCESS && m->tls)
		rc = mosquitto_tls_set(
			m->mosq, m->cfg.ca_file[0] ? m->cfg.ca_file : NULL,
			m->cfg.ca_file[0] ? NULL : "/etc/ssl/certs",
			m->cfg.cert_file[0] ? m->cfg.cert_file : NULL,
			m->cfg.key_file[0] ? m->cfg.key_file : NULL, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		snprintf(err, errlen, "mqtt: %s", mosquitto_strerror(rc));
		return -1;
	}
	return 0;
}

struct mqtt *mqtt_new(sd_event *ev, const struct cfg_mqtt *cfg,
		      const struct mqtt_ops *ops, void *userdata, char *err,
		      size_t errlen)
{
	struct mqtt *m = calloc(1, sizeof(*m));
	char why[256];

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->ev = sd_event_ref(ev);
	m->cfg = *cfg;
	m->ops = ops;
	m->userdata = userdata;
	m->backoff_us = MQTT_BACKOFF_MIN_US;
	m->q = calloc(cfg->max_queued, sizeof(*m->q));
	if (!m->q || !cfg_mqtt_broker_parse(cfg->broker, &m->tls, m->host,
					    sizeof(m->host), &m->port, why,
					    sizeof(why))) {
		snprintf(err, errlen, "mqtt: %s", m->q ? why : "out of memory");
		mqtt_free(m);
		return NULL;
	}
	if (setup_client(m, err, errlen) < 0 ||
	    sd_event_add_time(ev, &m->misc, CLOCK_MONOTONIC,
			      now_us(m) + MISC_PERIOD_US, 0, on_misc, m) < 0 ||
	    sd_event_source_set_priority(m->misc, EVPRIO_SERVICE) < 0 ||
	    sd_event_source_set_enabled(m->misc, SD_EVENT_ON) < 0 ||
	    sd_event_add_time(ev, &m->retry, CLOCK_MONOTONIC, 0, 0, on_retry,
			      m) < 0 ||
	    sd_event_source_set_priority(m->retry, EVPRIO_SERVICE) < 0 ||
	    sd_event_source_set_enabled(m->retry, SD_EVENT_OFF) < 0) {
		if (!err[0])
			snprintf(err, errlen, "mqtt: cannot add a timer");
		mqtt_free(m);
		return NULL;
	}
	log_notice("mqtt: publishing to %s under %s/ (qos %u%s%s)", cfg->broker,
		   cfg->topic_prefix, cfg->qos,
		   cfg->discovery ? ", Home Assistant discovery" : "",
		   cfg->allow_commands ? ", commands accepted" : "");
	start_connect(m);
	return m;
}

void mqtt_free(struct mqtt *m)
{
	char topic[CFG_NAME_LEN + 16];

	if (!m)
		return;
	if (m->phase == PH_CONNECTED) {
		/* A clean stop says offline itself (the will is for a
		 * crash); one non-blocking write attempt, no wait. */
		topic_join(m, "status", topic, sizeof(topic));
		mosquitto_publish(m->mosq, NULL, topic, 7, "offline",
				  (int)m->cfg.qos, true);
		mosquitto_disconnect(m->mosq);
		mosquitto_loop_write(m->mosq, 1);
	}
	sd_event_source_disable_unref(m->io);
	sd_event_source_disable_unref(m->misc);
	sd_event_source_disable_unref(m->retry);
	if (m->mosq) {
		mosquitto_destroy(m->mosq);
		mosquitto_lib_cleanup();
	}
	if (m->q)
		queue_clear(m);
	free(m->q);
	for (unsigned i = 0; i < m->ntopics; i++)
		free(m->topics[i].last);
	sd_event_unref(m->ev);
	free(m);
}

bool mqtt_connected(const struct mqtt *m)
{
	return m && m->phase == PH_CONNECTED;
}

const struct cfg_mqtt *mqtt_cfg(const struct mqtt *m)
{
	return &m->cfg;
}

/* --- publishing ------------------------------------------------------------ */

static struct mqtt_topic *topic_slot(struct mqtt *m, const char *sub)
{
	for (unsigned i = 0; i < m->ntopics; i++)
		if (strcmp(m->topics[i].sub, sub) == 0)
			return &m->topics[i];
	if (m->ntopics == MAX_TOPICS)
		return NULL;
	snprintf(m->topics[m->ntopics].sub, sizeof(m->topics[0].sub), "%s",
		 sub);
	return &m->topics[m->ntopics++];
}

bool mqtt_any_due(const struct mqtt *m, uint64_t now, unsigned expected)
{
	uint64_t soonest = (uint64_t)m->cfg.min_interval_ms * 1000;

	if ((uint64_t)m->cfg.heartbeat_ms * 1000 < soonest)
		soonest = (uint64_t)m->cfg.heartbeat_ms * 1000;
	if (m->ntopics < expected)
		return true; /* a topic never sent */
	for (unsigned i = 0; i < m->ntopics; i++)
		if (m->topics[i].last_us == 0 ||
		    now - m->topics[i].last_us >= soonest)
			return true;
	return false;
}

void mqtt_state(struct mqtt *m, const char *sub, const json_t *payload,
		uint64_t now, bool force)
{
	struct mqtt_topic *t;
	char topic[CFG_NAME_LEN + 80];
	char *text;
	bool changed, due;

	if (!mqtt_connected(m) || !(t = topic_slot(m, sub)))
		return;
	text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS |
					   JSON_REAL_PRECISION(10));
	if (!text)
		return;
	changed = !t->last || strcmp(t->last, text) != 0;
	due = t->last_us == 0 ||
	      (changed &&
	       now - t->last_us >= (uint64_t)m->cfg.min_interval_ms * 1000) ||
	      now - t->last_us >= (uint64_t)m->cfg.heartbeat_ms * 1000;
	if (!force && !due) {
		free(text);
		return;
	}
	topic_join(m, sub, topic, sizeof(topic));
	queue_push(m, topic, text, false);
	free(t->last);
	t->last = text;
	t->last_us = now;
	queue_drain(m);
	update_events(m);
}

void mqtt_retained(struct mqtt *m, const char *topic, const char *payload)
{
	if (!mqtt_connected(m))
		return;
	queue_push(m, topic, payload, true);
	queue_drain(m);
	update_events(m);
}

json_t *mqtt_status_json(const struct mqtt *m)
{
	return json_pack("{s:b,s:s,s:I,s:I,s:I,s:I,s:I,s:s?}", "connected",
			 mqtt_connected(m), "broker", m->cfg.broker,
			 "published", (json_int_t)m->published, "dropped",
			 (json_int_t)m->dropped_msgs, "queued",
			 (json_int_t)m->qlen, "connections",
			 (json_int_t)m->connections, "failures",
			 (json_int_t)m->failures, "last_error",
			 m->last_error[0] ? m->last_error : NULL);
}
