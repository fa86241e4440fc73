/* SPDX-License-Identifier: MIT */
/*
 * can_link.c - the [can] output over SocketCAN or the dry-run log
 * (can_link.h).
 */
#include "can_link.h"
#include "can_keepalive.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/can.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>
#include <math.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "can_errors.h"
#include "events.h"
#include "evprio.h"
#include "log.h"

/* Journal: the link's state changed; the inverter's keep-alive. The
 * catalog (systemd/smallbms.catalog) explains both: never change them. */

#define REOPEN_US           (10 * CANLINK_PERIOD_US)
/* The send timer's accuracy: sd-event's default (0 asks for it) is 250 ms,
 * which let single frames come 0.75 s or 1.25 s apart; receivers expect 1
 * Hz and some time out after a few missed periods. */
#define CANLINK_ACCURACY_US 1000

enum link_state {
	LINK_DOWN,          /* no socket (interface missing, error) */
	LINK_ACTIVE,        /* error-active: frames go out */
	LINK_ERROR_PASSIVE, /* error counters high: still sending */
	LINK_BUS_OFF,       /* the controller left the bus */
};

static const char *const state_names[] = {"down", "active", "error-passive",
					  "bus-off"};

struct can_link {
	sd_event *ev;
	char ifname[IFNAMSIZ];
	enum can_profile profile;
	bool dry_run;
	char log_path[4096];
	int fd;
	sd_event_source *io, *timer;
	struct can_state st;
	bool have_state;
	enum link_state state;
	uint64_t next_open_us;
	/* counters */
	uint64_t cycles, frames_sent, dropped, write_errors;
	uint64_t bus_off, error_passive, restarts, bus_errors, error_frames;
	char last_error[128];
	/* keep-alive (0x305) */
	struct can_keepalive ka;
};

static uint64_t now_us(const struct can_link *l)
{
	uint64_t t = 0;

	sd_event_now(l->ev, CLOCK_MONOTONIC, &t);
	return t;
}

static void set_state(struct can_link *l, enum link_state s, const char *why)
{
	char f_if[IFNAMSIZ + 32], f_st[64];
	const char *fields[] = {f_if, f_st, NULL};

	if (l->state == s)
		return;
	l->state = s;
	snprintf(f_if, sizeof(f_if), "SMALLBMS_CAN_INTERFACE=%s", l->ifname);
	snprintf(f_st, sizeof(f_st), "SMALLBMS_CAN_STATE=%s", state_names[s]);
	log_event(s == LINK_ACTIVE ? LOG_NOTICE : LOG_WARNING,
		  EVENTS_MSG_CAN_STATE, fields, "CAN %s: %s%s%s", l->ifname,
		  state_names[s], why ? ": " : "", why ? why : "");
}

static void note_error(struct can_link *l, const char *what, int e)
{
	/* a long path is cut: the message stays readable */
	snprintf(l->last_error, sizeof(l->last_error), "%.60s: %.60s", what,
		 strerror(e));
}

/* --- receiving: error frames and the keep-alive -------------------------- */

static void error_frame(struct can_link *l, const struct can_frame *f)
{
	bool bus_error;

	l->error_frames++;
	switch (can_error_event(f, &bus_error)) {
	case CAN_ERR_EV_BUS_OFF:
		l->bus_off++;
		set_state(l, LINK_BUS_OFF, "the controller left the bus");
		break;
	case CAN_ERR_EV_RESTARTED:
		l->restarts++;
		set_state(l, LINK_ACTIVE, "controller restarted");
		break;
	case CAN_ERR_EV_PASSIVE:
		if (l->state != LINK_ERROR_PASSIVE)
			l->error_passive++;
		set_state(l, LINK_ERROR_PASSIVE, "error counters above 127");
		break;
	case CAN_ERR_EV_ACTIVE:
		set_state(l, LINK_ACTIVE, "back to error-active");
		break;
	case CAN_ERR_EV_NONE:
		break;
	}
	if (bus_error)
		l->bus_errors++;
}

static void keepalive_log(struct can_link *l, bool ok)
{
	char f_if[IFNAMSIZ + 32], f_ka[48];
	const char *fields[] = {f_if, f_ka, NULL};

	snprintf(f_if, sizeof(f_if), "SMALLBMS_CAN_INTERFACE=%s", l->ifname);
	snprintf(f_ka, sizeof(f_ka), "SMALLBMS_CAN_KEEPALIVE=%s",
		 ok ? "seen" : "missing");
	log_event(ok ? LOG_NOTICE : LOG_WARNING, EVENTS_MSG_CAN_KEEPALIVE,
		  fields, "CAN %s: inverter keep-alive (0x305) %s%.0f%s",
		  l->ifname, ok ? "seen" : "missing for ",
		  ok ? 0.0 : (double)CAN_KEEPALIVE_LIMIT_US / 1e6,
		  ok ? "" : " s");
}

static int on_readable(sd_event_source *s, int fd, uint32_t revents,
		       void *userdata)
{
	struct can_link *l = userdata;
	struct can_frame f;

	(void)s;
	(void)revents;
	/* Bounded: a flooded bus cannot hold the loop here. */
	for (int i = 0; i < 64; i++) {
		ssize_t n = read(fd, &f, sizeof(f));

		if (n != (ssize_t)sizeof(f))
			break;
		if (f.can_id & CAN_ERR_FLAG) {
			error_frame(l, &f);
		} else if ((f.can_id & CAN_SFF_MASK) == 0x305 &&
			   !(f.can_id & CAN_EFF_FLAG)) {
			if (can_keepalive_seen(&l->ka, now_us(l)))
				keepalive_log(l, true);
		}
		/* Frames we sent ourselves are not looped back to us
		 * (CAN_RAW_RECV_OWN_MSGS is off by default). */
	}
	return 0;
}

/* --- the socket ---------------------------------------------------------- */

static void close_socket(struct can_link *l)
{
	l->io = sd_event_source_disable_unref(l->io);
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

static int open_socket(struct can_link *l)
{
	struct sockaddr_can addr = {.can_family = AF_CAN};
	struct can_filter filt = {.can_id = 0x305,
				  .can_mask = CAN_SFF_MASK | CAN_EFF_FLAG |
					      CAN_RTR_FLAG};
	can_err_mask_t errs = CAN_ERR_MASK;
	struct ifreq ifr;
	int fd;

	fd = socket(PF_CAN, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_RAW);
	if (fd < 0) {
		note_error(l, "socket", errno);
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", l->ifname);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		note_error(l, l->ifname, errno);
		close(fd);
		return -1;
	}
	addr.can_ifindex = ifr.ifr_ifindex;
	if (setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FILTER, &filt, sizeof(filt)) <
		    0 ||
	    setsockopt(fd, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &errs,
		       sizeof(errs)) < 0 ||
	    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		note_error(l, "bind", errno);
		close(fd);
		return -1;
	}
	if (sd_event_add_io(l->ev, &l->io, fd, EPOLLIN, on_readable, l) < 0 ||
	    sd_event_source_set_priority(l->io, EVPRIO_SERVICE) < 0) {
		l->io = sd_event_source_disable_unref(l->io);
		close(fd);
		return -1;
	}
	l->fd = fd;
	l->last_error[0] = '\0';
	set_state(l, LINK_ACTIVE, NULL);
	return 0;
}

/* One frame; false: stop this cycle (queue full, or the link failed). */
static bool send_frame(struct can_link *l, const struct can_out_frame *o)
{
	struct can_frame f;

	memset(&f, 0, sizeof(f));
	f.can_id = o->id;
	f.len = o->len;
	memcpy(f.data, o->data, o->len);
	if (write(l->fd, &f, sizeof(f)) == (ssize_t)sizeof(f)) {
		l->frames_sent++;
		/* The interface is up again (it was ENETDOWN). */
		if (l->state == LINK_DOWN)
			set_state(l, LINK_ACTIVE, "sending again");
		return true;
	}
	if (errno == EAGAIN || errno == ENOBUFS) {
		l->dropped++;
		return false;
	}
	l->write_errors++;
	note_error(l, "write", errno);
	if (errno == ENODEV || errno == ENXIO) {
		close_socket(l);
		set_state(l, LINK_DOWN, l->last_error);
		l->next_open_us = now_us(l) + REOPEN_US;
	} else if (errno == ENETDOWN) {
		set_state(l, LINK_DOWN, "interface down");
	}
	return false;
}

/* --- the dry-run log ----------------------------------------------------- */

static void log_frames(struct can_link *l, const struct can_out_frame *f,
		       size_t n)
{
	char buf[CAN_FRAMES_MAX * 64], frame[48];
	struct timespec ts;
	size_t len = 0;
	int fd;

	clock_gettime(CLOCK_REALTIME, &ts);
	for (size_t i = 0; i < n; i++) {
		can_frame_format(&f[i], frame, sizeof(frame));
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"(%lld.%06ld) %s %s\n",
					(long long)ts.tv_sec, ts.tv_nsec / 1000,
					l->ifname, frame);
	}
	/* One write of whole lines per cycle: a reader never sees half a
	 * cycle. O_NONBLOCK: a FIFO put there never holds the loop. */
	fd = open(l->log_path,
		  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK |
			  O_NOFOLLOW,
		  0644);
	if (fd < 0) {
		l->write_errors++;
		note_error(l, l->log_path, errno);
		return;
	}
	if (write(fd, buf, len) == (ssize_t)len) {
		l->frames_sent += n;
	} else {
		l->dropped += n;
		note_error(l, "write", errno);
	}
	close(fd);
}

/* --- the cycle ------------------------------------------------------------ */

static void send_cycle(struct can_link *l)
{
	struct can_out_frame f[CAN_FRAMES_MAX];
	size_t n;

	if (!l->have_state)
		return;
	n = can_frames_encode(&l->st, l->profile, f, CAN_FRAMES_MAX);
	l->cycles++;
	if (l->dry_run) {
		log_frames(l, f, n);
		return;
	}
	if (l->fd < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (!send_frame(l, &f[i]))
			break;
}

static void check_keepalive(struct can_link *l, uint64_t now)
{
	if (can_keepalive_check(&l->ka, now))
		keepalive_log(l, false);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct can_link *l = userdata;

	if (!l->dry_run && l->fd < 0 && usec >= l->next_open_us &&
	    open_socket(l) < 0)
		l->next_open_us = usec + REOPEN_US;
	send_cycle(l);
	check_keepalive(l, usec);
	/* From the planned time: 1 Hz without drift. */
	sd_event_source_set_time(s, usec + CANLINK_PERIOD_US);
	return 0;
}

struct can_link *canlink_new(sd_event *ev, const char *interface,
			     enum can_profile profile, const char *dry_run_dir,
			     char *err, size_t errlen)
{
	struct can_link *l = calloc(1, sizeof(*l));
	uint64_t now;

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->ev = ev;
	l->fd = -1;
	l->profile = profile;
	l->state = LINK_DOWN;
	snprintf(l->ifname, sizeof(l->ifname), "%s", interface);
	if (dry_run_dir) {
		l->dry_run = true;
		snprintf(l->log_path, sizeof(l->log_path), "%s/can-%s.log",
			 dry_run_dir, interface);
		l->state = LINK_ACTIVE;
	} else if (open_socket(l) < 0) {
		log_warn("CAN %s: %s; trying again every 10 s", l->ifname,
			 l->last_error);
		l->next_open_us = 0;
	}
	sd_event_now(ev, CLOCK_MONOTONIC, &now);
	if (sd_event_add_time(ev, &l->timer, CLOCK_MONOTONIC,
			      now + CANLINK_PERIOD_US, CANLINK_ACCURACY_US,
			      on_tick, l) < 0 ||
	    sd_event_source_set_priority(l->timer, EVPRIO_SERVICE) < 0 ||
	    sd_event_source_set_enabled(l->timer, SD_EVENT_ON) < 0) {
		snprintf(err, errlen, "cannot add the CAN timer");
		canlink_free(l);
		return NULL;
	}
	return l;
}

void canlink_free(struct can_link *l)
{
	if (!l)
		return;
	close_socket(l);
	sd_event_source_disable_unref(l->timer);
	free(l);
}

void canlink_update(struct can_link *l, const struct can_state *s)
{
	bool stop = l->have_state &&
		    ((l->st.charge_enable && !s->charge_enable) ||
		     (l->st.discharge_enable && !s->discharge_enable) ||
		     (l->st.ccl > 0 && !(s->ccl > 0)) ||
		     (l->st.dcl > 0 && !(s->dcl > 0)));

	l->st = *s;
	l->have_state = true;
	/* A limit that drops to 0 goes out now, not at the next tick. */
	if (stop)
		send_cycle(l);
}

/* --- the state the frames carry ------------------------------------------ */

static uint32_t alarm_bits(uint32_t charge, uint32_t discharge)
{
	uint32_t a = 0, r = charge | discharge;

	if (r & GUARD_R_CELL_OVERVOLTAGE)
		a |= CAN_A_HIGH_VOLTAGE;
	if (r & (GUARD_R_CELL_UNDERVOLTAGE | GUARD_R_CELL_UNDERVOLTAGE_HARD))
		a |= CAN_A_LOW_VOLTAGE;
	if (r & GUARD_R_HIGH_TEMPERATURE)
		a |= CAN_A_HIGH_TEMP;
	if (r & GUARD_R_LOW_TEMPERATURE)
		a |= CAN_A_LOW_TEMP;
	if (r & (GUARD_R_COMM_LOSS | GUARD_R_BATTERY_PROTECTION |
		 GUARD_R_NO_TEMPERATURE | GUARD_R_CYCLE_LIMIT))
		a |= CAN_A_INTERNAL;
	return a;
}

void canlink_state(const struct bank *b, const struct guard_output *g,
		   const struct limits_output *lim, double soc,
		   struct can_state *s)
{
	memset(s, 0, sizeof(*s));
	s->cvl = lim->cvl;
	s->ccl = lim->ccl;
	s->dcl = lim->dcl;
	s->dvl = lim->dvl;
	s->charge_enable = lim->charge_enable;
	s->discharge_enable = lim->discharge_enable;
	s->soc = soc;
	/* smallbms does not estimate the state of health */
	s->soh = 100;
	s->voltage = b->voltage;
	s->current = b->current;
	s->temp = b->have_temps ? b->max_temp : (double)NAN;
	s->alarms = alarm_bits(g->charge_reasons, g->discharge_reasons);
	if (g->warnings & GUARD_W_LOW_CELL)
		s->warnings |= CAN_A_LOW_VOLTAGE;
	if (lim->cvl_reasons & LIMITS_R_HIGH_CELL)
		s->warnings |= CAN_A_HIGH_VOLTAGE;
	if (lim->ccl_reasons & LIMITS_R_COLD)
		s->warnings |= CAN_A_LOW_TEMP;
	if (lim->ccl_reasons & LIMITS_R_HOT)
		s->warnings |= CAN_A_HIGH_TEMP;
	if (b->balancer == BANK_BALANCER_IMBALANCED)
		s->warnings |= CAN_A_IMBALANCE;
	s->modules = b->nbatteries;
	s->modules_online = b->complete ? b->nbatteries : 0;
	s->blocking_charge = g->allow_charge ? 0 : b->nbatteries;
	s->blocking_discharge = g->allow_discharge ? 0 : b->nbatteries;
	s->capacity_ah = b->nominal_ah;
	s->min_cell_v = b->min_cell_v;
	s->max_cell_v = b->max_cell_v;
	s->min_temp = b->have_temps ? b->min_temp : (double)NAN;
	s->max_temp = b->have_temps ? b->max_temp : (double)NAN;
	s->min_cell_battery = b->min_cell.battery;
	s->min_cell = b->min_cell.index;
	s->max_cell_battery = b->max_cell.battery;
	s->max_cell = b->max_cell.index;
	if (b->have_temps) {
		s->min_temp_battery = b->min_temp_at.battery;
		s->min_temp_sensor = b->min_temp_at.index;
		s->max_temp_battery = b->max_temp_at.battery;
		s->max_temp_sensor = b->max_temp_at.index;
	}
}

/* --- status --------------------------------------------------------------- */

json_t *canlink_json(const struct can_link *l, uint64_t now)
{
	json_t *o = json_object(), *ka;

	if (!o)
		return NULL;
	json_object_set_new(o, "interface", json_string(l->ifname));
	json_object_set_new(o, "profile",
			    json_string(can_profile_name(l->profile)));
	json_object_set_new(o, "backend",
			    json_string(l->dry_run ? "dry-run" : "socketcan"));
	json_object_set_new(o, "state", json_string(state_names[l->state]));
	json_object_set_new(o, "cycles", json_integer((json_int_t)l->cycles));
	json_object_set_new(o, "frames_sent",
			    json_integer((json_int_t)l->frames_sent));
	json_object_set_new(o, "dropped", json_integer((json_int_t)l->dropped));
	json_object_set_new(o, "write_errors",
			    json_integer((json_int_t)l->write_errors));
	json_object_set_new(o, "bus_off", json_integer((json_int_t)l->bus_off));
	json_object_set_new(o, "error_passive",
			    json_integer((json_int_t)l->error_passive));
	json_object_set_new(o, "restarts",
			    json_integer((json_int_t)l->restarts));
	json_object_set_new(o, "bus_errors",
			    json_integer((json_int_t)l->bus_errors));
	json_object_set_new(o, "last_error",
			    l->last_error[0] ? json_string(l->last_error)
					     : json_null());
	ka = json_object();
	json_object_set_new(ka, "seen", json_boolean(l->ka.ok));
	json_object_set_new(ka, "count", json_integer((json_int_t)l->ka.count));
	json_object_set_new(ka, "age_s",
			    l->ka.last_us
				    ? json_real(can_keepalive_age(&l->ka, now))
				    : json_null());
	json_object_set_new(o, "keepalive", ka);
	return o;
}
