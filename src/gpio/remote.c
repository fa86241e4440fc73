/* SPDX-License-Identifier: MIT */
/*
 * remote.c - the Remote on/off input: edge events from the gpio seam,
 * debounced with an sd-event timer. See remote.h for the behaviour and
 * the wiring.
 */
#include "remote.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define REMOTE_CONSUMER "smallbmsd:remote"
/* After a failed event read, wait this long (at least) before trying the
 * descriptor again: an error that leaves it readable must not spin. */
#define EVENT_RETRY_US  100000ULL

struct remote {
	sd_event *ev;
	const struct gpio_ops *ops;
	struct gpio_line *line; /* NULL: not configured, always on */
	char label[2 * GPIO_NAME_LEN + 16];
	uint64_t debounce_us;
	remote_change_fn on_change;
	void *userdata;
	sd_event_source *io;
	sd_event_source *timer;
	bool on;
	bool read_failing;  /* log a failing line once */
	bool event_failing; /* events paused after a read error */
	struct remote_stats stats;
};

/* Read the line now; report a change. An unreadable line is off. */
static void remote_settle(struct remote *r)
{
	int v = r->ops->get(r->line);
	bool on = v > 0;

	if (v < 0) {
		r->stats.errors++;
		if (!r->read_failing)
			log_err("remote input %s: cannot read it: %s; taken as "
				"off",
				r->label, strerror(errno));
		r->read_failing = true;
	} else if (r->read_failing) {
		log_notice("remote input %s: readable again", r->label);
		r->read_failing = false;
	}
	if (on == r->on) {
		r->stats.bounces++;
		return;
	}
	r->on = on;
	r->stats.changes++;
	log_info("remote input %s: %s", r->label, on ? "on" : "off");
	if (r->on_change)
		r->on_change(on, r->userdata);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct remote *r = userdata;

	remote_settle(r);
	if (r->event_failing) {
		r->event_failing = false;
		sd_event_source_set_enabled(r->io, SD_EVENT_ON);
	}
	return 0;
}

/* Settle once the line has been quiet for delay_us (re-armed by every
 * edge, so the level must be stable for the whole time). */
static void remote_arm(struct remote *r, uint64_t delay_us)
{
	uint64_t now = 0;
	int ret;

	if (delay_us == 0) {
		remote_settle(r);
		return;
	}
	sd_event_now(r->ev, CLOCK_MONOTONIC, &now);
	if (r->timer) {
		ret = sd_event_source_set_time(r->timer, now + delay_us);
		if (ret >= 0)
			ret = sd_event_source_set_enabled(r->timer,
							  SD_EVENT_ONESHOT);
	} else {
		/* accuracy 1: the default 250 ms slack would swamp a 50 ms
		 * debounce */
		ret = sd_event_add_time(r->ev, &r->timer, CLOCK_MONOTONIC,
					now + delay_us, 1, on_timer, r);
	}
	if (ret < 0) {
		/* No timer: better an undebounced read than a lost edge. */
		log_err("remote input %s: debounce timer: %s", r->label,
			strerror(-ret));
		remote_settle(r);
	}
}

static int on_event(sd_event_source *s, int fd, uint32_t revents,
		    void *userdata)
{
	struct remote *r = userdata;
	enum gpio_edge edge;
	bool any = false;
	int ret;

	/* Drain every pending event; only "something moved" matters, the
	 * level is read after the debounce time. */
	while ((ret = r->ops->read_event(r->line, &edge)) > 0) {
		r->stats.edges++;
		any = true;
	}
	if (ret < 0) {
		/* Pause the descriptor until the timer has read the level. */
		r->stats.errors++;
		log_err("remote input %s: cannot read events: %s", r->label,
			strerror(errno));
		r->event_failing = true;
		sd_event_source_set_enabled(r->io, SD_EVENT_OFF);
		remote_arm(r, r->debounce_us > EVENT_RETRY_US ? r->debounce_us
							      : EVENT_RETRY_US);
		return 0;
	}
	if (any)
		remote_arm(r, r->debounce_us);
	return 0;
}

static bool remote_watch(struct remote *r, char *err, size_t errlen)
{
	int fd = r->ops->event_fd(r->line);
	int ret;

	if (fd < 0) {
		snprintf(err, errlen, "remote input %s: no event descriptor",
			 r->label);
		return false;
	}
	ret = sd_event_add_io(r->ev, &r->io, fd, EPOLLIN, on_event, r);
	if (ret < 0) {
		snprintf(err, errlen, "remote input %s: cannot watch it: %s",
			 r->label, strerror(-ret));
		return false;
	}
	return true;
}

struct remote *remote_new(sd_event *ev, const struct gpio_ops *ops,
			  const struct cfg *cfg, remote_change_fn on_change,
			  void *userdata, char *err, size_t errlen)
{
	struct remote *r = calloc(1, sizeof(*r));
	char why[512] = "";
	int v;

	if (!r) {
		snprintf(err, errlen, "remote input: out of memory");
		return NULL;
	}
	r->on = true;
	if (!cfg->have_remote)
		return r;
	r->ev = sd_event_ref(ev);
	r->ops = ops;
	r->on_change = on_change;
	r->userdata = userdata;
	r->debounce_us = cfg->remote.line.debounce_us;
	gpio_spec_label(&cfg->remote.line, r->label, sizeof(r->label));
	r->line = ops->request_input(&cfg->remote.line, REMOTE_CONSUMER, why,
				     sizeof(why));
	if (!r->line) {
		snprintf(err, errlen, "remote input: %s", why);
		goto fail;
	}
	if (!remote_watch(r, err, errlen))
		goto fail;
	v = ops->get(r->line);
	if (v < 0) {
		snprintf(err, errlen, "remote input %s: cannot read it: %s",
			 r->label, strerror(errno));
		goto fail;
	}
	r->on = v > 0;
	log_info("remote input %s: %s", r->label, r->on ? "on" : "off");
	return r;
fail:
	remote_free(r);
	return NULL;
}

bool remote_on(const struct remote *r)
{
	return !r || r->on;
}

bool remote_configured(const struct remote *r)
{
	return r && r->line;
}

struct remote_stats remote_stats(const struct remote *r)
{
	struct remote_stats none = {0};

	return r ? r->stats : none;
}

json_t *remote_json(const struct remote *r)
{
	if (!remote_configured(r))
		return json_pack("{s:b, s:b}", "configured", 0, "on", 1);
	return json_pack("{s:b, s:s, s:b, s:I, s:I, s:I, s:I}", "configured", 1,
			 "line", r->label, "on", r->on, "edges",
			 (json_int_t)r->stats.edges, "changes",
			 (json_int_t)r->stats.changes, "bounces",
			 (json_int_t)r->stats.bounces, "errors",
			 (json_int_t)r->stats.errors);
}

void remote_free(struct remote *r)
{
	if (!r)
		return;
	sd_event_source_disable_unref(r->io);
	sd_event_source_disable_unref(r->timer);
	if (r->line)
		r->ops->release(r->line);
	sd_event_unref(r->ev);
	free(r);
}
