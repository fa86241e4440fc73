/* SPDX-License-Identifier: MIT */
/*
 * chain.c - poll every battery of every port from the event loop.
 *
 * Each port runs its own little state machine (enum port_phase below):
 * IDLE until the poll timer starts a scan, then one request at a time (a
 * stack read (first at the first scan, then last: stack_pass), battery by
 * battery and step by step, then a candidate
 * address) until every battery on the port was asked. Ports are
 * independent: a silent battery on one adapter never delays another
 * adapter.
 */
#include "chain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "capture.h"
#include "events.h"
#include "log.h"
#include "transport.h"

#define USEC_PER_MSEC         1000ULL
#define REQUEST_RETRIES       1
#define REOPEN_BACKOFF_MAX_US (30ULL * 1000000)
#define RX_CAP                (2 * DRV_MAX_FRAME)

/*
 * A port is read at EVPRIO_PROTECT, above the control socket (evprio.h).
 * One that is readable at every loop turn (a gateway or a pty pouring
 * bytes faster than they are read) would then keep "smallbmsctl mode off"
 * from ever being read. After RX_BURST reads within RX_WINDOW_US the port
 * rests for the rest of that window; the kernel keeps its bytes meanwhile.
 * No line comes near it: a full-speed USB adapter (CH340, CP210x, FT232R)
 * hands over at most one chunk per 1 ms USB frame, an FTDI one per
 * latency-timer period (1 ms at the least), and a request and its answer
 * are a few reads. A line that did reach it would only be read up to
 * 100 ms later, its bytes kept.
 */
#define RX_WINDOW_US          (100 * USEC_PER_MSEC)
#define RX_BURST              400
#define RX_PAUSE_LOG_EVERY_US (60ULL * 1000000)

struct chain_port;

/* A "once" step (model, serial) that failed this many polls in a row is
 * not asked again: a pack that cannot answer it would otherwise cost two
 * timeouts on every poll. */
#define ONCE_MAX_FAILURES 3

/* Steps a driver may have (bit masks per step are 32 bits wide). */
#define CHAIN_MAX_STEPS 16

/* Who a battery says it is ("" = not said). The serial number decides;
 * the model only where the battery reports no serial number. */
struct bat_identity {
	char model[BMS_TEXT_LEN];
	char serial[BMS_TEXT_LEN];
};

/* Chain-private per-battery data. */
struct bat_priv {
	struct bms_reading info;  /* results of the "once" steps */
	uint32_t once_done;       /* bit n: step n succeeded (or gave up) */
	uint32_t once_ok;         /* bit n: step n succeeded */
	uint8_t once_failures[8]; /* per step, consecutive */
	/* bit n: optional step n was answered once: this battery has it, and
	 * from now on a poll without it is a failed poll (its flags would
	 * be unknown, and unknown is not safe). */
	uint32_t opt_seen;
	struct bms_reading stacked; /* this scan's stack-read answer ... */
	bool have_stacked;          /* ... if the master gave one */
	/* Stack last: the poll without the stack step, complete and of a
	 * settled identity (held_ok), kept until the stack answer. */
	struct bms_reading held;
	bool held_ok;
	/* Recorded at first sight. After the port was reopened, or the
	 * battery lost, the identity steps are asked again (recheck) and no
	 * reading is published before the answer says it is the same. */
	struct bat_identity id;
	bool recheck;
	bool recheck_model_differs; /* decides if the serial cannot be had */
	/* The pack's direction word contradicts the current's sign: said
	 * once per change, not at every poll. */
	bool sign_disagrees;
	/* Stale until it answers, whatever the clock says: its last reading
	 * was taken under another port configuration, or through another
	 * adapter (the stale check alone would make it fresh again at the
	 * next tick, within stale_after of that reading). */
	bool hold_stale;
};

/* Does the port's master answer stack reads? Found out at the first scan. */
enum stack_mode { STACK_UNKNOWN, STACK_YES, STACK_NO };

/* Time per pack of a stack answer: ~120 characters at 9600 baud plus the
 * master's work; added to the request timeout. */
#define STACK_US_PER_PACK 250000ULL

/*
 * What a port is doing. Every request belongs to the phase that sent it;
 * the phase decides what a decoded frame and a timeout mean
 * (phase_ops[] below). port_set_phase() is the only place p->phase
 * changes, and it checks the transition against this list (any other is
 * a bug, logged):
 *
 *   CLOSED  -> IDLE                     the transport opened
 *   IDLE    -> STACK | BATTERY | PROBE  the poll tick started a scan
 *   STACK   -> BATTERY                  the stack read answered or not;
 *                                       after it (stack last) the packs
 *                                       it left out
 *   STACK   -> PROBE | IDLE             (stack last) a candidate; done
 *   BATTERY -> BATTERY | PROBE | IDLE   next step or battery; a
 *                                       candidate; the scan is done
 *   BATTERY -> STACK                    (stack last) every pack's other
 *                                       steps are done
 *   PROBE   -> PROBE | IDLE             next candidate; the scan is done
 *   any     -> CLOSED                   the device went away
 *   any     -> IDLE                     a reload abandons the scan, or
 *                                       another master was heard
 */
enum port_phase {
	PHASE_CLOSED,  /* no transport: opened again on a later tick */
	PHASE_IDLE,    /* open, nothing asked: waiting for the poll tick */
	PHASE_STACK,   /* the stack read (every pack in one request) is out */
	PHASE_BATTERY, /* a step of a known battery's poll is out */
	PHASE_PROBE,   /* a step of a candidate address's read is out */
};
#define PHASE_COUNT 5

/* A discovery pass on an "addresses = scan" port. */
enum pass {
	PASS_NONE, /* no pass in progress */
	PASS_FULL, /* probe every candidate in this scan (the first pass) */
	PASS_ONE,  /* one candidate per scan (rescans) */
};

struct chain_port {
	struct chain *chain;
	unsigned index;
	const struct cfg_port *cfg;
	const struct bms_driver *drv;
	unsigned baud;
	uint64_t timeout_us;
	struct transport *tp; /* NULL exactly when the phase is CLOSED */
	sd_event_source *io;
	sd_event_source *timer;
	char last_error[256];  /* to log open errors once */
	char adapter[128];     /* the adapter's USB serial number, "" unknown */
	uint64_t reopen_at_us; /* no open attempt before this */
	sd_event_source *pause;      /* ends a read pause (RX_BURST) */
	uint64_t rx_window_us;       /* start of the current read window */
	unsigned rx_reads;           /* reads in it */
	uint64_t pause_logged_us;    /* when a read pause was last logged */
	unsigned long pauses_logged; /* stats.rx_pauses then */
	uint64_t backoff_us;         /* doubles per failure, capped */
	uint64_t scan_start_us;
	uint64_t activity_us;              /* last request sent or answered */
	unsigned long scan_start_requests; /* stats at the scan's start */
	unsigned long long scan_start_bytes;
	struct chain_port_stats stats;

	unsigned first; /* first slot in chain->bats */
	unsigned nbats; /* batteries on the port, in slots first.. */
	unsigned cap;   /* slots reserved: configured or candidate addresses */

	/* "addresses = scan": the candidates without a battery are probed in
	 * discovery passes, at start (all at once) and every rescan_interval
	 * (one probe per scan, so the known batteries are not held up). */
	enum pass pass;
	bool first_pass_done; /* the port's batteries are known */
	bool probe_answered;  /* the candidate being read answered */
	bool probed;          /* this scan probed a candidate */
	unsigned probe_next;  /* next candidate (index into cfg->addrs) */
	uint64_t next_rescan_us;
	unsigned logged_found; /* batteries in the last "answered" message */

	enum stack_mode stack;
	struct bms_reading *stackbuf; /* nbats readings, for decode_stack */
	/*
	 * The stack read comes last in a scan once the master is known to
	 * answer it (#18): the cells of every pack are in that one answer,
	 * so each pack's other steps (the alarm query) are asked first and
	 * held, and every pack is published the moment the stack answer is
	 * decoded, not one alarm query after another later.
	 *   STACK_PASS_NONE   stack first, or no stack read
	 *   STACK_PASS_HOLD   the packs' other steps, held
	 *   STACK_PASS_SINGLE the stack read failed or left packs out: those
	 *                     are asked the stack step alone, on their held
	 *                     poll
	 */
	enum { STACK_PASS_NONE, STACK_PASS_HOLD, STACK_PASS_SINGLE } stack_pass;

	/* Another master on the bus (drv->foreign): no request before
	 * quiet_until_us; refused while its frames are heard. */
	uint64_t quiet_until_us;
	bool refused;

	/* the scan in progress */
	enum port_phase phase;
	unsigned cur;  /* battery, relative to first (PROBE: the free slot) */
	unsigned step; /* the step asked: index in drv */
	unsigned order[CHAIN_MAX_STEPS]; /* this poll's steps, in order */
	unsigned norder;
	unsigned pos; /* step == order[pos] */
	unsigned tries;
	bool failed; /* a required step of this battery's poll failed */
	struct bms_reading pending;
	/* An accumulating driver's step (driver.h): the poll so far plus
	 * this answer's frames, kept between DRV_MORE frames; set again from
	 * pending at every request of the step (a retry starts over). */
	struct bms_reading part;
	uint8_t req[DRV_MAX_FRAME];
	size_t reqlen;
	uint8_t rx[RX_CAP];
	size_t rxlen;
};

struct chain {
	sd_event *ev;
	const struct cfg *cfg;
	chain_update_fn cb;
	void *userdata;
	unsigned notifying; /* inside cb: the chain must not be changed */
	sd_event_source *tick;
	uint64_t poll_us;
	uint64_t stale_us;
	uint64_t scans;
	uint64_t last_tick_us;
	uint64_t rescan_us;
	unsigned nports;
	struct chain_port *ports;
	unsigned nbats;  /* batteries known (the dense numbering) */
	unsigned nslots; /* every port's cap */
	struct chain_battery *bats;
	struct bat_priv *priv;
	struct capture *capture; /* smallbmsctl capture: not owned */
};

static void port_next_step(struct chain_port *p);
static void port_batteries_done(struct chain_port *p);
static bool port_short(const struct chain_port *p);
static void renumber(struct chain *c);

static uint64_t now_us(const struct chain *c)
{
	uint64_t t = 0;
	sd_event_now(c->ev, CLOCK_MONOTONIC, &t);
	return t;
}

/* The callback may only read the chain (chain.h): what it sees is
 * consistent here, between two requests. */
static void notify(struct chain *c, bool scan_done)
{
	if (!c->cb)
		return;
	c->notifying++;
	c->cb(c, scan_done, c->userdata);
	c->notifying--;
}

static struct chain_battery *cur_bat(struct chain_port *p)
{
	return &p->chain->bats[p->first + p->cur];
}

static struct bat_priv *cur_priv(struct chain_port *p)
{
	return &p->chain->priv[p->first + p->cur];
}

static const struct drv_step *cur_step(const struct chain_port *p)
{
	return &p->drv->steps[p->step];
}

/* --- phases ------------------------------------------------------------ */

static const char *const phase_names[PHASE_COUNT] = {
	[PHASE_CLOSED] = "closed",    [PHASE_IDLE] = "idle",
	[PHASE_STACK] = "stack read", [PHASE_BATTERY] = "battery step",
	[PHASE_PROBE] = "probe",
};

/* The transitions of the list above enum port_phase: bit n of
 * phase_next[from] allows the phase n. */
#define PH(x) (1u << (x))
static const unsigned phase_next[PHASE_COUNT] = {
	[PHASE_CLOSED] = PH(PHASE_CLOSED) | PH(PHASE_IDLE),
	[PHASE_IDLE] = PH(PHASE_CLOSED) | PH(PHASE_IDLE) | PH(PHASE_STACK) |
		       PH(PHASE_BATTERY) | PH(PHASE_PROBE),
	[PHASE_STACK] = PH(PHASE_CLOSED) | PH(PHASE_IDLE) | PH(PHASE_BATTERY) |
			PH(PHASE_PROBE),
	[PHASE_BATTERY] = PH(PHASE_CLOSED) | PH(PHASE_IDLE) |
			  PH(PHASE_BATTERY) | PH(PHASE_PROBE) | PH(PHASE_STACK),
	[PHASE_PROBE] = PH(PHASE_CLOSED) | PH(PHASE_IDLE) | PH(PHASE_PROBE),
};

/* The one place a port changes phase. A transition not in the list is a
 * bug of this file: said loudly, and made anyway (the scan goes on; the
 * watchdog catches a port that is stuck for it). */
static void port_set_phase(struct chain_port *p, enum port_phase to)
{
	if (!(phase_next[p->phase] & PH(to)))
		log_err("port %s: bug: phase %s -> %s", p->cfg->name,
			phase_names[p->phase], phase_names[to]);
	p->phase = to;
}

/* A scan is in progress: a request is out with its timer. */
static bool port_busy(const struct chain_port *p)
{
	return p->phase != PHASE_CLOSED && p->phase != PHASE_IDLE;
}

/* --- the same adapter, the same battery -------------------------------- */

/*
 * A port that vanished and is opened again under the same name may be
 * another device (a ttyUSB number taken by another adapter after a
 * replug), and an address may answer with another battery (a pack
 * swapped). Neither may go on silently with what the chain knew: the
 * adapter is checked by its USB serial number at every open (where it has
 * one), and every battery by what it says it is, recorded at first sight
 * and asked again after a reopen and after the battery was lost. Another
 * battery is the old one lost and a new one found: the old reading is
 * dropped, and the new battery has no data until its own first complete
 * reading.
 */

static void id_describe(const struct bat_identity *id, bool serial, char *buf,
			size_t len)
{
	if (serial)
		snprintf(buf, len, "serial number %s", id->serial);
	else
		snprintf(buf, len, "model %s", id->model);
}

/* What a once step's answer r says about who the battery is. */
static struct bat_identity id_of(const struct bms_reading *r)
{
	struct bat_identity id;

	memset(&id, 0, sizeof(id));
	if ((r->have & BMS_HAVE_MODEL) && r->model[0])
		snprintf(id.model, sizeof(id.model), "%s", r->model);
	if ((r->have & BMS_HAVE_SERIAL) && r->serial[0])
		snprintf(id.serial, sizeof(id.serial), "%s", r->serial);
	return id;
}

/* Ask the battery in this slot who it is before its next reading is
 * published (nothing to ask if it never said). */
static void identity_recheck(struct bat_priv *bp)
{
	if (bp->recheck || (!bp->id.model[0] && !bp->id.serial[0]))
		return; /* already asked, or nothing to ask */
	bp->recheck = true;
	bp->recheck_model_differs = false;
	bp->once_done &= ~bp->once_ok;
	memset(bp->once_failures, 0, sizeof(bp->once_failures));
}

/* Another battery answers at the current battery's address: the slot is
 * the new battery's, without data; this poll (asked before it was known
 * who answers) is not used. */
static void battery_replaced(struct chain_port *p,
			     const struct bat_identity *now, bool by_serial)
{
	struct chain_battery *b = cur_bat(p);
	struct bat_priv *bp = cur_priv(p);
	unsigned index = b->index, port = b->port, addr = b->addr;
	char was[BMS_TEXT_LEN + 16], is[BMS_TEXT_LEN + 16];

	id_describe(&bp->id, by_serial, was, sizeof(was));
	id_describe(now, by_serial, is, sizeof(is));
	log_warn("battery %u (port %s address %u): lost: another battery "
		 "answers at its address (%s, was %s)",
		 index + 1, p->cfg->name, addr, is, was);
	log_notice("battery %u (port %s address %u): found: %s; no data "
		   "until its first complete reading",
		   index + 1, p->cfg->name, addr, is);
	memset(b, 0, sizeof(*b));
	b->index = index;
	b->port = port;
	b->addr = addr;
	b->stale = true;
	memset(bp, 0, sizeof(*bp));
	bp->id = *now;
	p->failed = true;
	notify(p->chain, false);
}

/* A once step answered r. Returns true if it is another battery than the
 * one recorded (then replaced); else records what was not known yet. */
static bool identity_seen(struct chain_port *p, const struct bms_reading *r)
{
	struct bat_priv *bp = cur_priv(p);
	struct bat_identity now = id_of(r);
	bool by_serial = bp->id.serial[0] && now.serial[0];
	bool by_model = !bp->id.serial[0] && bp->id.model[0] && now.model[0];

	if (bp->recheck && bp->id.model[0] && now.model[0] &&
	    strcmp(bp->id.model, now.model) != 0)
		bp->recheck_model_differs = true;
	if (by_serial || by_model) {
		if (by_serial ? strcmp(bp->id.serial, now.serial) != 0
			      : strcmp(bp->id.model, now.model) != 0) {
			battery_replaced(p, &now, by_serial);
			return true;
		}
		bp->recheck = false; /* the same battery */
	}
	if (!bp->id.model[0] && now.model[0])
		memcpy(bp->id.model, now.model, sizeof(bp->id.model));
	if (!bp->id.serial[0] && now.serial[0])
		memcpy(bp->id.serial, now.serial, sizeof(bp->id.serial));
	return false;
}

/* May the current battery's poll be published? Not while its identity is
 * to be checked and a once step is still to be asked. When every one was
 * asked or given up without the serial number: a model that changed says
 * it is another battery; without any answer that decides, it is taken as
 * the same battery, said in the journal. */
static bool identity_settled(struct chain_port *p)
{
	struct bat_priv *bp = cur_priv(p);
	struct bat_identity now;

	if (!bp->recheck)
		return true;
	for (unsigned i = 0; i < p->drv->nsteps; i++)
		if (p->drv->steps[i].once && !(bp->once_done & (1u << i)))
			return false;
	if (bp->recheck_model_differs) {
		memset(&now, 0, sizeof(now));
		memcpy(now.model, bp->info.model, sizeof(now.model));
		now.model[sizeof(now.model) - 1] = '\0';
		battery_replaced(p, &now, false);
		return false;
	}
	log_warn("battery %u (port %s address %u): cannot check that it is "
		 "the same battery: no answer to its identity queries; taken "
		 "as the same",
		 cur_bat(p)->index + 1, p->cfg->name, cur_bat(p)->addr);
	bp->recheck = false;
	return true;
}

/* The transport was opened (again): is it the adapter the port had?
 * Another one is said, and the port's batteries count as stale until
 * they answered as themselves. Every battery is asked who it is. */
static void port_opened(struct chain_port *p)
{
	const char *sn = p->tp->serial;
	bool changed = false;

	for (unsigned k = 0; k < p->nbats; k++)
		identity_recheck(&p->chain->priv[p->first + k]);
	if (!sn[0])
		return; /* a pty, a gateway, an adapter without a number */
	if (p->adapter[0] && strcmp(p->adapter, sn) != 0) {
		log_warn(
			"port %s: %s is another adapter now (USB serial number "
			"%s, was %s): its batteries are stale until they "
			"answered as themselves",
			p->cfg->name, p->tp->path, sn, p->adapter);
		p->stack = STACK_UNKNOWN;
		for (unsigned k = 0; k < p->nbats; k++) {
			struct chain_battery *b = &p->chain->bats[p->first + k];

			changed |= !b->stale;
			b->stale = true;
			p->chain->priv[p->first + k].hold_stale = true;
		}
	}
	snprintf(p->adapter, sizeof(p->adapter), "%s", sn);
	if (changed)
		notify(p->chain, false);
}

/* --- transport lifetime ------------------------------------------------ */

static void port_close(struct chain_port *p)
{
	p->io = sd_event_source_disable_unref(p->io);
	p->timer = sd_event_source_disable_unref(p->timer);
	p->pause = sd_event_source_disable_unref(p->pause);
	p->rx_reads = 0;
	transport_close(p->tp);
	p->tp = NULL;
	/* A candidate cut off by the port's loss is asked again. */
	if (p->phase == PHASE_PROBE && p->probe_next > 0)
		p->probe_next--;
	port_set_phase(p, PHASE_CLOSED);
	p->rxlen = 0;
}

static int on_readable(sd_event_source *s, int fd, uint32_t revents,
		       void *userdata);

/* Log a read pause at most once a minute, with the count since, so a
 * flood cannot fill the journal. */
static void rx_pause_log(struct chain_port *p)
{
	uint64_t now = now_us(p->chain);

	if (p->pause_logged_us &&
	    now - p->pause_logged_us < RX_PAUSE_LOG_EVERY_US)
		return;
	log_warn("port %s: readable more than %u times in %llu ms, reading "
		 "paused for the rest of that time (%lu time(s) since the "
		 "last message): a flood of bytes, or a gateway sending "
		 "them one by one",
		 p->cfg->name, RX_BURST,
		 (unsigned long long)(RX_WINDOW_US / USEC_PER_MSEC),
		 p->stats.rx_pauses - p->pauses_logged);
	p->pause_logged_us = now;
	p->pauses_logged = p->stats.rx_pauses;
}

static int on_rx_resume(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct chain_port *p = userdata;

	(void)s;
	(void)usec;
	if (p->io)
		(void)sd_event_source_set_enabled(p->io, SD_EVENT_ON);
	return 0;
}

/* Turn the port's reading off until `until`. If the timer to turn it
 * back on cannot be had, reading goes on: a flood read is better than a
 * port never read again. */
static void rx_pause(struct chain_port *p, uint64_t until)
{
	int r;

	if (!p->pause)
		r = sd_event_add_time(p->chain->ev, &p->pause, CLOCK_MONOTONIC,
				      until, 1000, on_rx_resume, p);
	else {
		r = sd_event_source_set_time(p->pause, until);
		if (r >= 0)
			r = sd_event_source_set_enabled(p->pause,
							SD_EVENT_ONESHOT);
	}
	if (r < 0) {
		log_err("port %s: cannot pause a flood: %s", p->cfg->name,
			strerror(-r));
		return;
	}
	(void)sd_event_source_set_enabled(p->io, SD_EVENT_OFF);
	p->stats.rx_pauses++;
	rx_pause_log(p);
}

/* Count a read in the current RX_WINDOW_US; false when it is one too
 * many and the port now rests until the window ends. The loop's cached
 * time (no clock read per answer: this is on every poll's path). */
static bool rx_allowed(struct chain_port *p)
{
	uint64_t now = now_us(p->chain);

	if (now - p->rx_window_us >= RX_WINDOW_US) {
		p->rx_window_us = now;
		p->rx_reads = 0;
	}
	if (++p->rx_reads <= RX_BURST)
		return true;
	rx_pause(p, p->rx_window_us + RX_WINDOW_US);
	return false;
}

/* The configured device, or the adapter found by its USB serial number
 * (looked up at every attempt: it may have been plugged in meanwhile). */
static struct transport *port_transport(struct chain_port *p, char *err,
					size_t errlen)
{
	char path[256];

	if (!p->cfg->usb_serial[0])
		return transport_open(p->cfg->device, p->baud, err, errlen);
	if (transport_sp_find_by_serial(p->cfg->usb_serial, path,
					sizeof(path)) < 0) {
		snprintf(err, errlen,
			 "no USB serial adapter with serial "
			 "number %s%s",
			 p->cfg->usb_serial,
			 errno == EEXIST ? " (several ports have it)" : "");
		return NULL;
	}
	return transport_open(path, p->baud, err, errlen);
}

/* Wait longer after each failure to open (a gateway that is down, an
 * adapter unplugged), from one poll interval up to 30 s. */
static void port_backoff(struct chain_port *p)
{
	uint64_t b = p->backoff_us * 2;

	if (b < p->chain->poll_us)
		b = p->chain->poll_us;
	if (b > REOPEN_BACKOFF_MAX_US)
		b = REOPEN_BACKOFF_MAX_US;
	p->backoff_us = b;
	p->reopen_at_us = now_us(p->chain) + b;
}

static bool port_open(struct chain_port *p)
{
	char err[256] = "";
	int r;

	if (now_us(p->chain) < p->reopen_at_us)
		return false;
	p->stats.opens++;
	p->tp = port_transport(p, err, sizeof(err));
	if (!p->tp) {
		port_backoff(p);
		/* Log a failure once, not at every poll interval. */
		if (strcmp(err, p->last_error) != 0)
			log_err("port %s: %s", p->cfg->name, err);
		snprintf(p->last_error, sizeof(p->last_error), "%s", err);
		return false;
	}
	r = sd_event_add_io(p->chain->ev, &p->io, p->tp->fd, EPOLLIN,
			    on_readable, p);
	if (r < 0) {
		log_err("port %s: cannot watch %s: %s", p->cfg->name,
			p->tp->path, strerror(-r));
		port_close(p);
		return false;
	}
	port_set_phase(p, PHASE_IDLE);
	p->last_error[0] = '\0';
	log_info("port %s: %s open (%s, %u baud, %s)", p->cfg->name,
		 p->tp->path, p->tp->ops->kind, p->baud, p->drv->name);
	/* Listen before talking where another master may be on the bus. */
	if (p->drv->listen_ms)
		p->quiet_until_us =
			now_us(p->chain) + p->drv->listen_ms * USEC_PER_MSEC;
	port_opened(p);
	return true;
}

/* The device went away (USB unplugged): close now, reopen on a later tick. */
static void port_lost(struct chain_port *p, const char *why)
{
	log_err("port %s: %s: %s; will retry", p->cfg->name,
		p->tp ? p->tp->path : p->cfg->device, why);
	snprintf(p->last_error, sizeof(p->last_error), "%s", why);
	port_close(p);
	port_backoff(p);
}

/* --- publishing a reading ---------------------------------------------- */

/* A complete reading with an impossible value: counted, and said in the
 * journal at most once per CHAIN_REJECT_LOG_US per battery. */
static void reading_rejected(struct chain_port *p, struct chain_battery *b,
			     const char *why)
{
	uint64_t now = now_us(p->chain);
	char fbat[32], fport[CFG_NAME_LEN + 16];
	const char *fields[] = {"SMALLBMS_EVENT=reading_rejected", fbat, fport,
				NULL};

	b->rejected++;
	snprintf(b->last_rejection, sizeof(b->last_rejection), "%s", why);
	if (b->rejection_logged_us &&
	    now - b->rejection_logged_us < CHAIN_REJECT_LOG_US) {
		b->rejections_unlogged++;
		return;
	}
	snprintf(fbat, sizeof(fbat), "SMALLBMS_BATTERY=%u", b->index + 1);
	snprintf(fport, sizeof(fport), "SMALLBMS_PORT=%s", p->cfg->name);
	log_event(LOG_WARNING, EVENTS_MSG_READING_REJECTED, fields,
		  "battery %u (port %s address %u): reading rejected, not "
		  "data: %s (%lu rejected, %lu since the last warning)",
		  b->index + 1, p->cfg->name, b->addr, why, b->rejected,
		  b->rejections_unlogged + 1);
	b->rejection_logged_us = now;
	b->rejections_unlogged = 0;
}

/* Numbers the readings published, over every chain of the process (a
 * reconfigured chain keeps its batteries' readings and their numbers). */
static uint64_t publications;

/*
 * current_sign = inverted turns the current (+ = charging inside). Where
 * the pack also says which way its current flows (reading.direction:
 * Daly 0x93), a sign that contradicts it is said in the journal, once
 * per change. The configured sign is still used: the word and the
 * number come from different answers (and instants), an idle pack may
 * carry a small current, and a firmware's sign convention is a fact of
 * the installation the user states in current_sign, not something to be
 * switched poll by poll on one byte.
 */
static void current_sign(struct chain_port *p, struct bms_reading *r)
{
	struct bat_priv *bp = cur_priv(p);
	bool disagrees;

	if (p->cfg->current_inverted)
		r->current = -r->current;
	disagrees = (r->direction == BMS_DIR_CHARGING && r->current < 0) ||
		    (r->direction == BMS_DIR_DISCHARGING && r->current > 0);
	if (disagrees == bp->sign_disagrees)
		return;
	bp->sign_disagrees = disagrees;
	if (disagrees)
		log_warn("battery %u (port %s): the pack says it is %s but "
			 "its current is %+.1f A (+ = charging, current_sign "
			 "= %s): if it persists, the sign is the other one "
			 "(current_sign)",
			 cur_bat(p)->index + 1, p->cfg->name,
			 r->direction == BMS_DIR_CHARGING ? "charging"
							  : "discharging",
			 r->current,
			 p->cfg->current_inverted ? "inverted" : "normal");
	else
		log_notice("battery %u (port %s): current sign and the pack's "
			   "direction agree again",
			   cur_bat(p)->index + 1, p->cfg->name);
}

/* A battery has the cells it had: a reading with another count is not
 * read right (a codec drops a trailing cell that reads 0, as Seplos v3
 * pads its 16 registers; a frame of another pack) and would leave a cell
 * unwatched, caught only where the pack voltage is measured apart. Another
 * battery at the address is found by its identity and starts afresh; a
 * pack rebuilt with other cells needs a restart. */
static bool cell_count_changed(const struct chain_battery *b,
			       const struct bms_reading *r, char *why,
			       size_t len)
{
	if (!b->valid || r->ncells == b->reading.ncells)
		return false;
	snprintf(why, len, "cell count changed from %u to %u",
		 b->reading.ncells, r->ncells);
	return true;
}

/* The poll's reading becomes the battery's, if it is possible at all;
 * false if it was rejected (the battery keeps its last good reading and
 * goes stale like a silent one). */
/* The current battery's pending reading, checked, made its reading;
 * false (and said) if it is not possible. The caller notifies. */
static bool battery_store(struct chain_port *p)
{
	struct chain_battery *b = cur_bat(p);
	char why[96];

	bms_reading_merge(&p->pending, &cur_priv(p)->info);
	if (p->pending.have & BMS_HAVE_BASIC)
		current_sign(p, &p->pending);
	if (bms_reading_check(&p->pending, why, sizeof(why)) < 0 ||
	    cell_count_changed(b, &p->pending, why, sizeof(why))) {
		reading_rejected(p, b, why);
		return false;
	}
	b->reading = p->pending;
	b->seq = ++publications;
	cur_priv(p)->hold_stale = false;
	if (b->valid && b->stale)
		log_notice("battery %u (port %s address %u): found: answering "
			   "again",
			   b->index + 1, p->cfg->name, b->addr);
	b->valid = true;
	b->stale = false;
	b->last_good_us = now_us(p->chain);
	p->backoff_us = 0;
	return true;
}

static bool battery_publish(struct chain_port *p)
{
	if (!battery_store(p))
		return false;
	notify(p->chain, false);
	return true;
}

/* --- requests ---------------------------------------------------------- */

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata);

/*
 * The port's one request timer: made at its first request, then only
 * re-armed and turned off (a new event source per request was 13 % of a
 * JBD poll's instructions, #18). Freed with the transport (port_close).
 */
static int port_timer_arm(struct chain_port *p, uint64_t deadline)
{
	int r;

	if (!p->timer)
		return sd_event_add_time(p->chain->ev, &p->timer,
					 CLOCK_MONOTONIC, deadline, 1000,
					 on_timeout, p);
	r = sd_event_source_set_time(p->timer, deadline);
	if (r >= 0)
		r = sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
	return r;
}

static void port_timer_stop(struct chain_port *p)
{
	if (p->timer)
		(void)sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
}

/* Send p->req and wait at most timeout_us for the answer. */
static void port_write_request(struct chain_port *p, uint64_t timeout_us)
{
	uint64_t deadline = now_us(p->chain) + timeout_us;
	ssize_t n;
	int r;

	p->activity_us = now_us(p->chain);
	/* Whatever is still in the buffer is the late answer to an earlier
	 * request: it must not be taken for the answer to this one. */
	transport_flush(p->tp);
	p->rxlen = 0;
	n = transport_write(p->tp, p->req, p->reqlen);
	p->stats.requests++;
	if (n > 0) {
		p->stats.tx_bytes += (unsigned long long)n;
		capture_tx(p->chain->capture, p->cfg->name, p->req, (size_t)n,
			   p->activity_us);
	}
	if (n < 0 && errno != EAGAIN) {
		port_lost(p, strerror(errno));
		return;
	}
	/* A short write leaves a partial request on the line: the battery will
	 * not answer and the timeout below retries it. */
	r = port_timer_arm(p, deadline);
	if (r < 0) {
		log_err("port %s: cannot arm timer: %s", p->cfg->name,
			strerror(-r));
		port_lost(p, "timer");
	}
}

/* The current step of the current battery (BATTERY or PROBE). */
static void port_send(struct chain_port *p)
{
	p->reqlen = p->drv->build_request(cur_step(p), cur_bat(p)->addr, p->req,
					  sizeof(p->req));
	p->part = p->pending;
	port_write_request(p, p->timeout_us);
}

/* --- one battery's poll, step by step ---------------------------------- */

/*
 * The order of this poll's steps. A candidate (PROBE) is read in the
 * driver's order, which asks the values first: an empty address fails at
 * its first step. A known battery is asked the optional steps it has
 * answered before (the "~" family's alarm query) first, so that the step
 * carrying the cells comes last and its answer is published at once:
 * the guard sees a low cell before the next request is written (#18),
 * and nothing half-updated is published (one poll, one reading).
 */
static void poll_order(struct chain_port *p)
{
	const struct bat_priv *bp = cur_priv(p);
	bool known = p->phase == PHASE_BATTERY;
	unsigned n = 0;

	for (unsigned s = 0; known && s < p->drv->nsteps; s++)
		if (p->drv->steps[s].optional && (bp->opt_seen & (1u << s)))
			p->order[n++] = s;
	for (unsigned s = 0; s < p->drv->nsteps; s++)
		if (!known || !p->drv->steps[s].optional ||
		    !(bp->opt_seen & (1u << s)))
			p->order[n++] = s;
	p->norder = n;
}

/* Start the poll of the battery in slot cur (relative to first). */
static void battery_begin(struct chain_port *p, unsigned cur)
{
	p->cur = cur;
	p->failed = false;
	memset(&p->pending, 0, sizeof(p->pending));
	poll_order(p);
	p->pos = (unsigned)-1;
	port_next_step(p);
}

static void probe_finish(struct chain_port *p);
static void stack_send(struct chain_port *p);

/* Stack last, after the stack read: the next held pack from slot k on
 * that it did not answer for, asked the stack step alone; the scan goes
 * on when there is none. */
static void single_next(struct chain_port *p, unsigned k)
{
	for (; k < p->nbats; k++) {
		const struct bat_priv *bp = &p->chain->priv[p->first + k];

		if (bp->held_ok && !bp->have_stacked)
			break;
	}
	if (k >= p->nbats) {
		p->stack_pass = STACK_PASS_NONE;
		port_batteries_done(p);
		return;
	}
	if (p->phase != PHASE_BATTERY)
		port_set_phase(p, PHASE_BATTERY);
	p->cur = k;
	p->failed = false;
	p->pending = p->chain->priv[p->first + k].held;
	poll_order(p);
	p->pos = (unsigned)-1;
	port_next_step(p);
}

/* Every step of the current battery was asked: publish a complete reading
 * and go on with the next battery, or end a candidate's read. */
static void battery_done(struct chain_port *p)
{
	if (p->phase == PHASE_PROBE) {
		probe_finish(p);
		return;
	}
	if (p->stack_pass == STACK_PASS_HOLD) {
		cur_priv(p)->held = p->pending;
		cur_priv(p)->held_ok = !p->failed && identity_settled(p);
		if (p->cur + 1 >= p->nbats)
			stack_send(p);
		else
			battery_begin(p, p->cur + 1);
		return;
	}
	if (!p->failed && identity_settled(p))
		(void)battery_publish(p);
	if (p->stack_pass == STACK_PASS_SINGLE) {
		single_next(p, p->cur + 1);
		return;
	}
	if (p->cur + 1 >= p->nbats) {
		port_batteries_done(p);
		return;
	}
	battery_begin(p, p->cur + 1);
}

/* Advance to the next step this battery needs; "once" steps that already
 * succeeded are skipped. */
static void port_next_step(struct chain_port *p)
{
	const struct bat_priv *bp = cur_priv(p);

	for (p->pos++; p->pos < p->norder; p->pos++) {
		const struct drv_step *st;

		p->step = p->order[p->pos];
		st = cur_step(p);

		if (st->once && (bp->once_done & (1u << p->step)))
			continue;
		/* Stack last: the stack step after every pack's others; and
		 * after it, only the stack step. */
		if (p->stack_pass == STACK_PASS_HOLD &&
		    st->id == p->drv->stack_step)
			continue;
		if (p->stack_pass == STACK_PASS_SINGLE &&
		    st->id != p->drv->stack_step)
			continue;
		/* Already answered for every pack by the stack read. */
		if (!st->once && bp->have_stacked &&
		    st->id == p->drv->stack_step) {
			bms_reading_merge(&p->pending, &bp->stacked);
			continue;
		}
		break;
	}
	if (p->pos >= p->norder) {
		battery_done(p);
		return;
	}
	p->tries = 0;
	port_send(p);
}

/* Count a failed "once" step; after a few, stop asking. */
static void once_failed(struct chain_port *p)
{
	struct bat_priv *bp = cur_priv(p);

	if (p->step >= sizeof(bp->once_failures))
		return;
	if (++bp->once_failures[p->step] < ONCE_MAX_FAILURES)
		return;
	bp->once_done |= 1u << p->step;
	bp->once_ok &= ~(1u << p->step);
	log_info("port %s: battery %u does not answer %s: not asking again",
		 p->cfg->name, cur_bat(p)->index + 1, cur_step(p)->what);
}

static void port_step_failed(struct chain_port *p)
{
	const struct drv_step *st = cur_step(p);

	/* Once steps may fail: the battery is still read. So may an
	 * optional step, unless this battery has answered it before. */
	if (st->once)
		once_failed(p);
	else if (!st->optional || (cur_priv(p)->opt_seen & (1u << p->step)))
		p->failed = true;
	if (p->failed) {
		battery_done(p);
		return;
	}
	port_next_step(p);
}

static void port_step_ok(struct chain_port *p, const struct bms_reading *r)
{
	struct bat_priv *bp = cur_priv(p);

	cur_bat(p)->frames_good++;
	p->probe_answered = true;
	port_timer_stop(p);
	if (cur_step(p)->once) {
		if (identity_seen(p, r)) {
			battery_done(p); /* a new battery: next poll */
			return;
		}
		bms_reading_merge(&bp->info, r);
		bp->once_done |= 1u << p->step;
		bp->once_ok |= 1u << p->step;
	} else {
		if (cur_step(p)->optional)
			bp->opt_seen |= 1u << p->step;
		if (p->drv->accumulates)
			p->pending = *r; /* the poll so far and this step */
		else
			bms_reading_merge(&p->pending, r);
	}
	port_next_step(p);
}

/* --- the batteries of a scan ------------------------------------------- */

/* After the stack read (or without one): poll the known batteries. */
static void port_begin_batteries(struct chain_port *p)
{
	port_timer_stop(p);
	if (p->nbats == 0) {
		port_batteries_done(p);
		return;
	}
	port_set_phase(p, PHASE_BATTERY);
	battery_begin(p, 0);
}

/* --- stack reads ------------------------------------------------------- */

static unsigned port_master(const struct chain_port *p)
{
	unsigned m = UINT32_MAX;

	for (unsigned k = 0; k < p->nbats; k++)
		if (p->chain->bats[p->first + k].addr < m)
			m = p->chain->bats[p->first + k].addr;
	return m;
}

/* Every slot: a stack answer may carry packs not found yet. */
static uint64_t stack_timeout(const struct chain_port *p)
{
	return p->timeout_us + p->cap * STACK_US_PER_PACK;
}

static void stack_send(struct chain_port *p)
{
	port_set_phase(p, PHASE_STACK);
	p->tries = 0;
	p->reqlen = p->drv->build_stack(port_master(p), p->req, sizeof(p->req));
	port_write_request(p, stack_timeout(p));
}

/* Stack last: every held pack the answer carries is published now, all
 * of them before one callback (the guard sees the whole answer at once,
 * not pack after pack behind the others' journal and state file); the
 * others are asked the stack step alone. */
static void stack_last_done(struct chain_port *p)
{
	bool any = false;

	p->stack_pass = STACK_PASS_SINGLE;
	for (unsigned k = 0; k < p->nbats; k++) {
		struct bat_priv *bp = &p->chain->priv[p->first + k];

		if (!bp->held_ok || !bp->have_stacked)
			continue;
		p->cur = k;
		p->pending = bp->held;
		bms_reading_merge(&p->pending, &bp->stacked);
		any |= battery_store(p);
	}
	if (any)
		notify(p->chain, false);
	single_next(p, 0);
}

static void stack_failed(struct chain_port *p)
{
	if (p->stack_pass == STACK_PASS_HOLD) {
		stack_last_done(p);
		return;
	}
	if (p->stack == STACK_UNKNOWN) {
		p->stack = STACK_NO;
		log_info("port %s: the master does not answer stack reads: "
			 "polling pack by pack",
			 p->cfg->name);
	}
	port_begin_batteries(p);
}

/* out[i] is the pack at master + i: hand each to its battery. */
static void stack_ok(struct chain_port *p, unsigned npacks)
{
	unsigned master = port_master(p);

	if (p->stack == STACK_UNKNOWN)
		log_info("port %s: the master answers stack reads (%u packs)",
			 p->cfg->name, npacks);
	p->stack = STACK_YES;
	for (unsigned i = 0; i < npacks && i < p->cap; i++) {
		for (unsigned k = 0; k < p->nbats; k++) {
			struct chain_battery *b = &p->chain->bats[p->first + k];
			struct bat_priv *bp = &p->chain->priv[p->first + k];

			if (b->addr != master + i)
				continue;
			bp->stacked = p->stackbuf[i];
			bp->have_stacked = true;
			b->frames_good++;
		}
	}
	if (p->stack_pass == STACK_PASS_HOLD)
		stack_last_done(p);
	else
		port_begin_batteries(p);
}

/* --- discovery ("addresses = scan") ----------------------------------- */

/* A scanned port with fewer batteries than expected (at least one). */
static bool port_short(const struct chain_port *p)
{
	return p->nbats < (p->cfg->expect ? p->cfg->expect : 1);
}

static bool port_has_addr(const struct chain_port *p, unsigned addr)
{
	for (unsigned k = 0; k < p->nbats; k++)
		if (p->chain->bats[p->first + k].addr == addr)
			return true;
	return false;
}

/* Number the known batteries port by port (configuration order), and on
 * each port by address: the index users see. */
static void renumber(struct chain *c)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->nports; i++) {
		const struct chain_port *p = &c->ports[i];

		for (unsigned k = 0; k < p->nbats; k++)
			c->bats[p->first + k].index = n++;
	}
	c->nbats = n;
}

/* The candidate in the port's first free slot gave a complete reading:
 * move it to its place in address order. Only called between batteries,
 * so no slot is in use by the scan. */
static void battery_insert(struct chain_port *p)
{
	struct chain *c = p->chain;
	struct chain_battery b = c->bats[p->first + p->nbats];
	struct bat_priv bp = c->priv[p->first + p->nbats];
	unsigned k = 0, at;

	while (k < p->nbats && c->bats[p->first + k].addr < b.addr)
		k++;
	at = p->first + k;
	memmove(&c->bats[at + 1], &c->bats[at],
		(p->nbats - k) * sizeof(c->bats[0]));
	memmove(&c->priv[at + 1], &c->priv[at],
		(p->nbats - k) * sizeof(c->priv[0]));
	c->bats[at] = b;
	c->priv[at] = bp;
	p->nbats++;
	/* The lowest address is the master: ask again whether it answers
	 * stack reads. */
	if (k == 0)
		p->stack = STACK_UNKNOWN;
	renumber(c);
	log_notice("port %s: battery found at address %u: battery %u of %u",
		   p->cfg->name, b.addr, c->bats[at].index + 1, c->nbats);
	notify(c, false);
}

/* Read the battery that may be at addr like any other, in the port's
 * first free slot (there is one: addr is a candidate without a battery).
 * It joins the chain only with a complete reading, so a battery found
 * never makes the bank incomplete. */
static void probe_start(struct chain_port *p, unsigned addr)
{
	struct chain *c = p->chain;
	unsigned at = p->first + p->nbats;

	memset(&c->bats[at], 0, sizeof(c->bats[0]));
	memset(&c->priv[at], 0, sizeof(c->priv[0]));
	c->bats[at].index = c->nbats; /* for log messages */
	c->bats[at].port = p->index;
	c->bats[at].addr = addr;
	c->bats[at].stale = true;
	port_set_phase(p, PHASE_PROBE);
	p->probe_answered = false;
	p->probed = true;
	p->stats.probes++;
	battery_begin(p, p->nbats);
}

static void probe_finish(struct chain_port *p)
{
	if (!p->failed && battery_publish(p))
		battery_insert(p);
	port_batteries_done(p);
}

/* At the start of a scan: begin a discovery pass when one is due: every
 * rescan_interval, and at once again while the port is short of batteries
 * (the bank is not used then). The first pass, and any pass while the
 * port has none, probes every candidate at once; the others one per scan,
 * so the batteries found stay polled. */
static void discovery_due(struct chain_port *p)
{
	uint64_t now = now_us(p->chain);

	if (!p->cfg->scan || p->pass != PASS_NONE)
		return;
	if (p->first_pass_done && !port_short(p) && now < p->next_rescan_us)
		return;
	p->pass = !p->first_pass_done || p->nbats == 0 ? PASS_FULL : PASS_ONE;
	p->probe_next = 0;
}

static void discovery_pass_done(struct chain_port *p)
{
	p->pass = PASS_NONE;
	p->stats.discovery_passes++;
	p->next_rescan_us = now_us(p->chain) + p->chain->rescan_us;
	/* Once, and again when a pass found another count (not at every
	 * pass of a port where nothing answers). */
	if (!p->first_pass_done || p->nbats != p->logged_found)
		log_info("port %s: %u of %u addresses answered%s", p->cfg->name,
			 p->nbats, p->cfg->naddrs,
			 port_short(p) ? ": too few, the bank is not used"
				       : "");
	p->logged_found = p->nbats;
	p->first_pass_done = true;
	notify(p->chain, false);
}

/* --- a scan: start and end --------------------------------------------- */

static void port_scan_done(struct chain_port *p)
{
	port_set_phase(p, PHASE_IDLE);
	port_timer_stop(p);
	p->stats.scans++;
	p->stats.last_scan_us = now_us(p->chain) - p->scan_start_us;
	p->stats.scan_us_total += p->stats.last_scan_us;
	p->stats.last_scan_requests =
		p->stats.requests - p->scan_start_requests;
	p->stats.last_scan_bytes =
		p->stats.tx_bytes + p->stats.rx_bytes - p->scan_start_bytes;
	p->chain->scans++;
	notify(p->chain, true);
}

/* Every known battery was asked: probe the next candidate, or end the
 * scan. */
static void port_batteries_done(struct chain_port *p)
{
	while (p->pass != PASS_NONE && p->probe_next < p->cfg->naddrs &&
	       port_has_addr(p, p->cfg->addrs[p->probe_next]))
		p->probe_next++;
	if (p->pass != PASS_NONE && p->probe_next >= p->cfg->naddrs)
		discovery_pass_done(p);
	/* One probe per scan once the port has batteries to poll. */
	if (p->pass == PASS_NONE || (p->pass == PASS_ONE && p->probed)) {
		port_scan_done(p);
		return;
	}
	probe_start(p, p->cfg->addrs[p->probe_next++]);
}

/* --- another master on the bus (drv->foreign) ------------------------- */

/*
 * A request this daemon did not send, or a pack's unrequested frame: some
 * other master (a JK-PB pack at DIP address 0, another program) polls the
 * packs, and two masters talk over each other. The port stops polling
 * (what it had asked is abandoned; its batteries go stale and the bank
 * with them, so nothing is allowed) and says why and what to change,
 * once. It listens on, and polls again when the bus has been free of such
 * frames for the driver's listen time.
 */
static void port_refuse(struct chain_port *p, const char *why)
{
	p->quiet_until_us =
		now_us(p->chain) + p->drv->listen_ms * USEC_PER_MSEC;
	if (port_busy(p)) {
		/* A candidate cut off is asked again. */
		if (p->phase == PHASE_PROBE && p->probe_next > 0)
			p->probe_next--;
		port_timer_stop(p);
		port_set_phase(p, PHASE_IDLE);
	}
	p->rxlen = 0;
	if (p->refused)
		return;
	p->refused = true;
	snprintf(p->last_error, sizeof(p->last_error),
		 "another master polls this bus: %s; not polling it. %s", why,
		 p->drv->foreign_hint ? p->drv->foreign_hint : "");
	log_err("port %s: %s", p->cfg->name, p->last_error);
}

/* May the port send now? Not while it listens for another master. */
static bool port_may_talk(struct chain_port *p)
{
	if (p->quiet_until_us && now_us(p->chain) < p->quiet_until_us)
		return false;
	if (p->refused) {
		p->refused = false;
		p->last_error[0] = '\0';
		log_notice("port %s: no other master heard for %u ms: polling "
			   "again",
			   p->cfg->name, p->drv->listen_ms);
	}
	return true;
}

static void port_start_scan(struct chain_port *p)
{
	if (port_busy(p))
		return; /* previous scan still running: it is slow, skip */
	if (p->phase == PHASE_CLOSED && !port_open(p))
		return;
	if (!port_may_talk(p))
		return;
	p->probed = false;
	p->scan_start_us = now_us(p->chain);
	p->scan_start_requests = p->stats.requests;
	p->scan_start_bytes = p->stats.tx_bytes + p->stats.rx_bytes;
	for (unsigned k = 0; k < p->nbats; k++) {
		p->chain->priv[p->first + k].have_stacked = false;
		p->chain->priv[p->first + k].held_ok = false;
	}
	discovery_due(p);
	p->stack_pass = STACK_PASS_NONE;
	if (p->stackbuf && p->stack == STACK_YES && p->nbats > 1) {
		p->stack_pass = STACK_PASS_HOLD;
		port_begin_batteries(p);
	} else if (p->stackbuf && p->stack != STACK_NO && p->nbats > 1) {
		stack_send(p);
	} else {
		port_begin_batteries(p);
	}
}

/* --- what each phase does with a frame and a timeout ------------------- */

/* Is the frame at buf the echo of our own request (RS485 half duplex)? */
static bool is_echo(const struct chain_port *p, const uint8_t *f, size_t n)
{
	return n == p->reqlen && memcmp(f, p->req, n) == 0;
}

/* STACK: the master's answer for every pack, or its refusal. */
static enum drv_decode stack_frame(struct chain_port *p, const uint8_t *f,
				   size_t len)
{
	unsigned npacks = 0;
	int d = p->drv->decode_stack(f, len, port_master(p), p->stackbuf,
				     p->cap, &npacks);

	if (d == DRV_OK)
		stack_ok(p, npacks);
	else if (d == DRV_ERR_STATUS)
		stack_failed(p);
	return (enum drv_decode)d;
}

/* BATTERY, PROBE: the answer to the current step. */
static enum drv_decode step_frame(struct chain_port *p, const uint8_t *f,
				  size_t len)
{
	struct bms_reading r;
	enum drv_decode d;

	memset(&r, 0, sizeof(r));
	if (p->drv->accumulates && !cur_step(p)->once)
		r = p->part;
	d = p->drv->decode(cur_step(p), cur_bat(p)->addr, f, len, &r);
	switch (d) {
	case DRV_OK:
		port_step_ok(p, &r);
		break;
	case DRV_MORE:
		/* Part of a multi-frame answer: kept; the timer runs on. */
		if (p->drv->accumulates)
			p->part = r;
		break;
	case DRV_ERR_STATUS:
		/* A valid "I cannot do that" (a pack without a serial number
		 * command): waiting for the timeout and asking again would
		 * only cost time. */
		log_debug("port %s: battery %u: refused %s", p->cfg->name,
			  cur_bat(p)->index + 1, cur_step(p)->what);
		port_timer_stop(p);
		port_step_failed(p);
		break;
	case DRV_ERR_FRAME:
		cur_bat(p)->frames_bad++;
		log_debug("port %s: battery %u: malformed frame dropped",
			  p->cfg->name, cur_bat(p)->index + 1);
		break;
	case DRV_ERR_UNEXPECTED:
		break;
	}
	return d;
}

/* STACK: no retry. The packs are asked one by one at once (a long answer
 * lost once must not cost a second long timeout). */
static void stack_timed_out(struct chain_port *p)
{
	stack_failed(p);
}

/* BATTERY: asked again once, then the step failed. */
static void step_timed_out(struct chain_port *p)
{
	if (p->tries < REQUEST_RETRIES) {
		p->tries++;
		port_send(p);
		return;
	}
	cur_bat(p)->timeouts++;
	log_debug("port %s: battery %u: no answer to %s", p->cfg->name,
		  cur_bat(p)->index + 1, cur_step(p)->what);
	port_step_failed(p);
}

/* PROBE: a candidate's first request in a rescan is not retried: an
 * address without a battery must not cost two timeouts every time. The
 * first pass retries like any poll: a pack that missed it would stay
 * unwatched until the next rescan. */
static void probe_timed_out(struct chain_port *p)
{
	if (!p->probe_answered && p->pass != PASS_FULL) {
		log_debug("port %s: no battery at address %u", p->cfg->name,
			  cur_bat(p)->addr);
		port_step_failed(p);
		return;
	}
	step_timed_out(p);
}

static const struct phase_ops {
	/* A candidate frame while the phase's request is out. DRV_OK and
	 * DRV_ERR_STATUS: the scan moved on (the rest of the buffer is
	 * dropped); otherwise the frame is skipped. */
	enum drv_decode (*frame)(struct chain_port *p, const uint8_t *f,
				 size_t len);
	void (*timeout)(struct chain_port *p);
} phase_ops[PHASE_COUNT] = {
	[PHASE_STACK] = {stack_frame, stack_timed_out},
	[PHASE_BATTERY] = {step_frame, step_timed_out},
	[PHASE_PROBE] = {step_frame, probe_timed_out},
};

/* Consume complete frames from the receive buffer: framing, the echo and
 * resynchronisation here; what a frame means is the phase's. Returns true
 * when the request got its answer (the state machine moved on). */
static bool port_process(struct chain_port *p)
{
	size_t skip, flen;
	enum drv_decode d;
	const char *why;

	while (p->rxlen > 0) {
		if (p->drv->scan(p->rx, p->rxlen, &skip, &flen) ==
		    DRV_SCAN_NEED_MORE) {
			memmove(p->rx, p->rx + skip, p->rxlen - skip);
			p->rxlen -= skip;
			return false;
		}
		if (is_echo(p, p->rx + skip, flen)) {
			skip += flen;
			memmove(p->rx, p->rx + skip, p->rxlen - skip);
			p->rxlen -= skip;
			continue;
		}
		if (p->drv->foreign &&
		    (why = p->drv->foreign(p->rx + skip, flen)) != NULL) {
			port_refuse(p, why);
			return true;
		}
		if (!phase_ops[p->phase].frame) {
			/* Nothing asked: only listening for another master. */
			skip += 1;
			memmove(p->rx, p->rx + skip, p->rxlen - skip);
			p->rxlen -= skip;
			continue;
		}
		d = phase_ops[p->phase].frame(p, p->rx + skip, flen);
		if (d == DRV_OK || d == DRV_ERR_STATUS) {
			p->rxlen = 0;
			return true;
		}
		if (d == DRV_MORE) {
			/* Taken: the next frame of the answer may follow. */
			skip += flen;
			memmove(p->rx, p->rx + skip, p->rxlen - skip);
			p->rxlen -= skip;
			continue;
		}
		/* Resynchronise: drop one byte of a bad frame (the next frame
		 * start may be inside it), all of a well-formed stray one. */
		skip += d == DRV_ERR_UNEXPECTED ? flen : 1;
		memmove(p->rx, p->rx + skip, p->rxlen - skip);
		p->rxlen -= skip;
	}
	return false;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct chain_port *p = userdata;

	/* A one-shot source is off again once it fired. */
	if (phase_ops[p->phase].timeout)
		phase_ops[p->phase].timeout(p);
	return 0;
}

static int on_readable(sd_event_source *s, int fd, uint32_t revents,
		       void *userdata)
{
	struct chain_port *p = userdata;
	ssize_t n;

	if (!rx_allowed(p))
		return 0;
	if (p->rxlen == sizeof(p->rx))
		p->rxlen = 0; /* a flood of garbage: start over */
	n = transport_read(p->tp, p->rx + p->rxlen, sizeof(p->rx) - p->rxlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		port_lost(p, n == 0 ? "device closed" : strerror(errno));
		return 0;
	}
	p->stats.rx_bytes += (unsigned long long)n;
	capture_rx(p->chain->capture, p->cfg->name, p->rx + p->rxlen, (size_t)n,
		   now_us(p->chain));
	/* Nothing asked: noise or a very late answer, unless the protocol
	 * can tell another master's frames (then they are listened to). */
	if (!port_busy(p) && !p->drv->foreign)
		return 0;
	p->rxlen += (size_t)n;
	port_process(p);
	return 0;
}
/* --- the poll tick ---------------------------------------------------- */

/* A battery that gave no complete reading for stale_after is lost: its
 * data is no longer used. It is found again when it answers. */
static void battery_lost(const struct chain *c, const struct chain_battery *b,
			 uint64_t now)
{
	log_warn("battery %u (port %s address %u): lost: no valid data for "
		 "%llu ms",
		 b->index + 1, c->ports[b->port].cfg->name, b->addr,
		 (unsigned long long)((now - b->last_good_us) / USEC_PER_MSEC));
}

static bool battery_check_stale(const struct chain *c, struct chain_battery *b,
				uint64_t now)
{
	bool stale = !b->valid || c->priv[b - c->bats].hold_stale ||
		     now - b->last_good_us > c->stale_us;

	if (stale == b->stale)
		return false;
	if (stale && b->valid) {
		battery_lost(c, b, now);
		/* What answers there next may be another battery. */
		identity_recheck(&c->priv[b - c->bats]);
	}
	b->stale = stale;
	return true;
}

static void update_stale(struct chain *c)
{
	uint64_t now = now_us(c);
	bool changed = false;

	for (unsigned i = 0; i < c->nports; i++) {
		const struct chain_port *p = &c->ports[i];

		for (unsigned k = 0; k < p->nbats; k++)
			changed |= battery_check_stale(
				c, &c->bats[p->first + k], now);
	}
	if (changed)
		notify(c, false);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct chain *c = userdata;
	uint64_t next = usec + c->poll_us;

	/* After a long stall, do not fire a burst of missed ticks. */
	if (next < now_us(c))
		next = now_us(c) + c->poll_us;
	sd_event_source_set_time(s, next);
	c->last_tick_us = now_us(c);
	capture_tick(c->capture, c->last_tick_us);
	update_stale(c);
	for (unsigned i = 0; i < c->nports; i++)
		port_start_scan(&c->ports[i]);
	return 0;
}

/* --- construction ----------------------------------------------------- */

static unsigned port_default_addr(const struct bms_driver *drv)
{
	return drv->addressed ? 1 : 0;
}

static int port_init(struct chain *c, unsigned i, char *err, size_t errlen)
{
	struct chain_port *p = &c->ports[i];
	const struct cfg_port *cp = &c->cfg->ports[i];

	p->chain = c;
	p->index = i;
	p->cfg = cp;
	p->drv = drv_find(cp->protocol);
	if (!p->drv) {
		snprintf(err, errlen, "port %s: unknown protocol '%s'",
			 cp->name, cp->protocol);
		return -1;
	}
	if (p->drv->nsteps > CHAIN_MAX_STEPS) {
		snprintf(err, errlen, "protocol %s: %u steps, at most %u",
			 p->drv->name, p->drv->nsteps, CHAIN_MAX_STEPS);
		return -1;
	}
	p->baud = cp->baud ? cp->baud : p->drv->default_baud;
	p->timeout_us =
		(cp->timeout_ms ? cp->timeout_ms : p->drv->default_timeout_ms) *
		USEC_PER_MSEC;
	p->first = c->nslots;
	p->cap = cp->naddrs ? cp->naddrs : 1;
	c->nslots += p->cap;
	/* One request for every pack where the protocol has it. */
	if (p->drv->build_stack && p->drv->decode_stack && p->cap > 1) {
		p->stackbuf = calloc(p->cap, sizeof(*p->stackbuf));
		if (!p->stackbuf) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	/* Scanned ports start empty: discovery adds what answers. */
	p->nbats = cp->scan ? 0 : p->cap;
	for (unsigned k = 0; k < p->nbats; k++) {
		struct chain_battery *b = &c->bats[p->first + k];
		b->port = i;
		b->addr = cp->naddrs ? cp->addrs[k] : port_default_addr(p->drv);
		b->stale = true;
	}
	return 0;
}

static unsigned count_batteries(const struct cfg *cfg)
{
	unsigned n = 0;

	for (unsigned i = 0; i < cfg->nports; i++)
		n += cfg->ports[i].naddrs ? cfg->ports[i].naddrs : 1;
	return n;
}

struct chain *chain_new(sd_event *ev, const struct cfg *cfg, chain_update_fn cb,
			void *userdata, char *err, size_t errlen)
{
	struct chain *c = calloc(1, sizeof(*c));
	unsigned nb = count_batteries(cfg);
	int r;

	if (!c)
		goto oom;
	c->ev = ev;
	c->cfg = cfg;
	c->cb = cb;
	c->userdata = userdata;
	c->poll_us = cfg->poll_interval_ms * USEC_PER_MSEC;
	c->stale_us = cfg->stale_after_ms * USEC_PER_MSEC;
	c->rescan_us = cfg->rescan_interval_ms * USEC_PER_MSEC;
	c->nports = cfg->nports;
	c->ports = calloc(cfg->nports ? cfg->nports : 1, sizeof(*c->ports));
	c->bats = calloc(nb ? nb : 1, sizeof(*c->bats));
	c->priv = calloc(nb ? nb : 1, sizeof(*c->priv));
	if (!c->ports || !c->bats || !c->priv)
		goto oom;
	for (unsigned i = 0; i < cfg->nports; i++) {
		if (port_init(c, i, err, errlen) < 0) {
			chain_free(c);
			return NULL;
		}
	}
	renumber(c);
	/* First tick now: the first scan starts as soon as the loop runs. */
	r = sd_event_add_time(ev, &c->tick, CLOCK_MONOTONIC, now_us(c), 1000,
			      on_tick, c);
	if (r < 0 || sd_event_source_set_enabled(c->tick, SD_EVENT_ON) < 0) {
		snprintf(err, errlen, "cannot add poll timer: %s",
			 strerror(-r));
		chain_free(c);
		return NULL;
	}
	return c;
oom:
	snprintf(err, errlen, "out of memory");
	chain_free(c);
	return NULL;
}

void chain_free(struct chain *c)
{
	if (!c)
		return;
	if (c->notifying) {
		/* Freed under the feet of the scan that called back. */
		log_err("bug: chain_free() from the chain's callback: refused");
		return;
	}
	for (unsigned i = 0; c->ports && i < c->nports; i++) {
		port_close(&c->ports[i]);
		free(c->ports[i].stackbuf);
	}
	sd_event_source_disable_unref(c->tick);
	free(c->ports);
	free(c->bats);
	free(c->priv);
	free(c);
}

bool chain_port_cfg_equal(const struct cfg_port *a, const struct cfg_port *b)
{
	struct cfg_port x = *a, y = *b;

	x.line = y.line = 0;
	return memcmp(&x, &y, sizeof(x)) == 0;
}

/* The port of old called name, or NULL. */
static struct chain_port *old_port(struct chain *old, const char *name)
{
	for (unsigned j = 0; j < old->nports; j++)
		if (strcmp(old->ports[j].cfg->name, name) == 0)
			return &old->ports[j];
	return NULL;
}

/* Stop what op was doing, without closing its transport. */
static void port_abandon_scan(struct chain_port *op)
{
	port_timer_stop(op);
	if (port_busy(op))
		port_set_phase(op, PHASE_IDLE);
	op->rxlen = 0;
}

/* An unchanged port: np takes op's transport and everything it knows. */
static void port_adopt(struct chain_port *np, struct chain_port *op)
{
	struct chain *nc = np->chain, *oc = op->chain;

	port_abandon_scan(op);
	np->tp = op->tp;
	np->io = op->io;
	/* A read pause in progress comes along: left behind, its timer
	 * would be freed with op and the port never read again. */
	np->pause = op->pause;
	np->rx_window_us = op->rx_window_us;
	np->rx_reads = op->rx_reads;
	np->pause_logged_us = op->pause_logged_us;
	np->pauses_logged = op->pauses_logged;
	op->tp = NULL;
	op->io = NULL;
	op->pause = NULL;
	if (np->io)
		sd_event_source_set_userdata(np->io, np);
	if (np->pause)
		sd_event_source_set_userdata(np->pause, np);
	if (np->tp)
		port_set_phase(np, PHASE_IDLE);
	np->stats = op->stats;
	memcpy(np->last_error, op->last_error, sizeof(np->last_error));
	memcpy(np->adapter, op->adapter, sizeof(np->adapter));
	np->reopen_at_us = op->reopen_at_us;
	np->backoff_us = op->backoff_us;
	np->activity_us = op->activity_us;
	np->first_pass_done = op->first_pass_done;
	np->next_rescan_us = op->next_rescan_us;
	np->logged_found = op->logged_found;
	np->stack = op->stack;
	np->quiet_until_us = op->quiet_until_us;
	np->refused = op->refused;
	np->nbats = op->nbats;
	for (unsigned k = 0; k < op->nbats; k++) {
		nc->bats[np->first + k] = oc->bats[op->first + k];
		nc->bats[np->first + k].port = np->index;
		nc->priv[np->first + k] = oc->priv[op->first + k];
	}
}

/* A changed port: its batteries at the same addresses keep when they
 * last answered (comm loss goes on counting), stale until they answer,
 * and who they said they were (checked when the port is open again). The
 * adapter is the same one if the port still names the same device. */
static void port_inherit_times(struct chain_port *np,
			       const struct chain_port *op)
{
	struct chain *nc = np->chain;
	const struct chain *oc = op->chain;

	if (strcmp(np->cfg->device, op->cfg->device) == 0 &&
	    strcmp(np->cfg->usb_serial, op->cfg->usb_serial) == 0)
		memcpy(np->adapter, op->adapter, sizeof(np->adapter));

	for (unsigned k = 0; k < np->nbats; k++) {
		struct chain_battery *nb = &nc->bats[np->first + k];

		for (unsigned j = 0; j < op->nbats; j++) {
			const struct chain_battery *ob =
				&oc->bats[op->first + j];

			if (ob->addr != nb->addr || !ob->valid)
				continue;
			nb->valid = true;
			nb->stale = true;
			nc->priv[np->first + k].hold_stale = true;
			nb->last_good_us = ob->last_good_us;
			nb->reading = ob->reading;
			nb->seq = ob->seq;
			nc->priv[np->first + k].id = oc->priv[op->first + j].id;
		}
	}
}

struct chain *chain_reconfigure(struct chain *old, const struct cfg *cfg,
				char *err, size_t errlen)
{
	struct chain *c;

	if (old->notifying) {
		/* old is in the middle of a scan step (chain.h). */
		snprintf(err, errlen,
			 "the chain cannot be reconfigured from its own "
			 "callback");
		return NULL;
	}
	c = chain_new(old->ev, cfg, old->cb, old->userdata, err, errlen);
	if (!c)
		return NULL;
	for (unsigned i = 0; i < c->nports; i++) {
		struct chain_port *np = &c->ports[i];
		struct chain_port *op = old_port(old, np->cfg->name);

		if (!op)
			continue;
		if (chain_port_cfg_equal(op->cfg, np->cfg))
			port_adopt(np, op);
		else
			port_inherit_times(np, op);
	}
	c->scans = old->scans; /* the watchdog's proof of progress */
	c->capture = old->capture;
	c->last_tick_us = old->last_tick_us;
	renumber(c);
	chain_free(old); /* closes what was not taken over */
	return c;
}

void chain_set_capture(struct chain *c, struct capture *cp)
{
	c->capture = cp;
}

void chain_port_recheck_identity(struct chain *c, unsigned port)
{
	const struct chain_port *p = &c->ports[port];

	for (unsigned k = 0; k < p->nbats; k++)
		identity_recheck(&c->priv[p->first + k]);
}

unsigned chain_count(const struct chain *c)
{
	return c->nbats;
}

/* Battery i (0-based, in the numbering users see) is in its port's slots. */
const struct chain_battery *chain_battery(const struct chain *c, unsigned i)
{
	for (unsigned k = 0; k < c->nports; k++) {
		const struct chain_port *p = &c->ports[k];

		if (i < p->nbats)
			return &c->bats[p->first + i];
		i -= p->nbats;
	}
	return NULL;
}

const struct chain_battery *chain_port_batteries(const struct chain *c,
						 unsigned port, unsigned *n)
{
	*n = port < c->nports ? c->ports[port].nbats : 0;
	return *n ? &c->bats[c->ports[port].first] : NULL;
}

/* Every scanned port finished its first pass and found its batteries
 * (expect, or at least one): until then the bank is not all there (see
 * chain.h). */
bool chain_ready(const struct chain *c)
{
	for (unsigned i = 0; i < c->nports; i++) {
		const struct chain_port *p = &c->ports[i];

		if (p->cfg->scan && (!p->first_pass_done || port_short(p)))
			return false;
	}
	return true;
}

const char *chain_port_name(const struct chain *c, unsigned port)
{
	return c->ports[port].cfg->name;
}

const char *chain_port_device(const struct chain *c, unsigned port)
{
	const struct chain_port *p = &c->ports[port];

	/* The resolved path while open (a by-id link, a USB serial number). */
	if (p->tp)
		return p->tp->path;
	return p->cfg->usb_serial[0] ? p->cfg->usb_serial : p->cfg->device;
}

const char *chain_protocol(const struct chain *c, unsigned port)
{
	return c->ports[port].drv->name;
}

uint64_t chain_scans(const struct chain *c)
{
	return c->scans;
}

/*
 * A port in the middle of a scan always has a request out with a timer
 * that ends it; if nothing happened on it for longer than two request
 * lifetimes, the state machine is stuck (a bug, not a battery problem).
 */
bool chain_stalled(const struct chain *c, uint64_t now)
{
	/* The poll tick itself must keep coming. */
	if (c->last_tick_us && now - c->last_tick_us > 2 * c->poll_us + 1000000)
		return true;
	for (unsigned i = 0; i < c->nports; i++) {
		const struct chain_port *p = &c->ports[i];
		uint64_t life = p->timeout_us * (REQUEST_RETRIES + 1) * 2;

		if (port_busy(p) && now - p->activity_us > life + c->poll_us)
			return true;
	}
	return false;
}

unsigned chain_port_count(const struct chain *c)
{
	return c->nports;
}

void chain_port_stats(const struct chain *c, unsigned port,
		      struct chain_port_stats *st)
{
	const struct chain_port *p = &c->ports[port];

	*st = p->stats;
	st->open = p->tp != NULL;
	st->kind = p->tp ? p->tp->ops->kind : NULL;
	st->baud = p->baud;
	st->timeout_us = p->timeout_us;
	st->nbatteries = p->nbats;
	st->scan = p->cfg->scan;
	st->candidates = p->cfg->scan ? p->cfg->naddrs : 0;
	st->discovering = p->pass != PASS_NONE;
	st->next_rescan_us = p->next_rescan_us;
	snprintf(st->last_error, sizeof(st->last_error), "%s", p->last_error);
}
