/* SPDX-License-Identifier: MIT */
/*
 * probe.c - smallbmsd --probe DEVICE: try every protocol of the driver
 * registry on a line and say which one answered, at which baud rate and
 * addresses, what the first reading says, and the [port] section to
 * paste into the configuration.
 *
 * The plan is the registry in its order: each driver at its default baud
 * rate, then at its alt_baud; a protocol with one battery per line is asked
 * once, an addressed one at its usual first addresses and then upwards
 * while packs answer. Only the driver's own read requests are sent, built
 * by its build_request() and framed, echo-filtered and decoded by its
 * scan() and decode() the way the chain does it (chain.c port_process()),
 * so what the probe finds is what the daemon will read. Each request has
 * one deadline (the protocol's own timeout or --timeout-ms), no retry, so
 * a silent line costs at most the sum of the plan's timeouts (and the
 * listening time of protocols that can tell another master), which is
 * printed before the first request.
 *
 * The device is opened with transport_open(), which takes the same
 * exclusive flock() as the daemon's ports: a line the daemon (or another
 * probe) holds is refused, and the daemon cannot take it while the probe
 * runs, except in the instant between two baud rates (the port is opened
 * again at each).
 */
#include "probe.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver.h"
#include "reading.h"
#include "transport.h"

/* Packs counted on one line at most: the "~" stack's limit, and a bound
 * on the time a probe that finds packs can take. */
#define PROBE_MAX_PACKS 16
#define PROBE_MAX_PLAN  64
#define PROBE_MAX_STEPS 32 /* steps per driver the answered mask holds */
#define REQ_MAX         512

/* What one request got. */
enum ask {
	ASK_ANSWER,  /* decoded (DRV_OK) */
	ASK_REFUSED, /* a valid frame saying "error" (DRV_ERR_STATUS) */
	ASK_SILENT,  /* not a byte before the deadline */
	ASK_NOISE,   /* bytes, but no frame the driver accepts */
	ASK_FOREIGN, /* another master's frame (drv->foreign) */
	ASK_IOERR,   /* the device failed or went away */
};

/* One line to probe: the open transport and the bytes of one request. */
struct line {
	const char *spec;
	bool tcp;
	struct transport *tp;
	unsigned baud; /* the rate it is open at */
	uint8_t rx[DRV_MAX_FRAME];
	size_t rxlen;
	unsigned long rx_total; /* bytes received during one request */
	uint8_t req[REQ_MAX];
	size_t reqlen;
	const char *why; /* ASK_FOREIGN: the driver's reason; ASK_IOERR */
	char err[256];
};

/* One entry of the plan: a driver at a baud rate. */
struct attempt {
	const struct bms_driver *drv;
	unsigned baud;
};

/* What came back from attempts that found nothing, for the advice. */
struct heard {
	bool refused; /* a valid frame refusing the request */
	bool noise;   /* bytes, no frame accepted */
};

/* What the probe found. */
struct found {
	const struct bms_driver *drv;
	unsigned baud;
	unsigned npacks;
	unsigned addrs[PROBE_MAX_PACKS];
	struct bms_reading readings[PROBE_MAX_PACKS];
	const char *missing[PROBE_MAX_PACKS]; /* a required step not read */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static unsigned timeout_of(const struct bms_driver *drv, unsigned opt_ms)
{
	return opt_ms ? opt_ms : drv->default_timeout_ms;
}

/* The usual first addresses: *first and how many. The one battery of a
 * protocol without addresses is asked once, at 0, as the chain does. */
static unsigned first_addrs(const struct bms_driver *drv, unsigned *first)
{
	if (!drv->addressed) {
		*first = 0;
		return 1;
	}
	if (drv->probe_naddrs) {
		*first = drv->probe_addr;
		return drv->probe_naddrs;
	}
	*first = drv->min_addr ? drv->min_addr : 1;
	return 2;
}

static unsigned last_addr(const struct bms_driver *drv)
{
	return drv->max_addr ? drv->max_addr : 254;
}

/* --- the plan --------------------------------------------------------- */

static unsigned make_plan(bool tcp, struct attempt *plan, unsigned cap)
{
	const struct bms_driver *drv;
	unsigned n = 0;

	for (size_t i = 0; (drv = drv_at(i)) != NULL && n < cap; i++) {
		plan[n++] = (struct attempt){drv, drv->default_baud};
		/* A gateway's baud rate is its own: one attempt. */
		if (!tcp && drv->alt_baud &&
		    drv->alt_baud != drv->default_baud && n < cap)
			plan[n++] = (struct attempt){drv, drv->alt_baud};
	}
	return n;
}

/* Does drv listen for another master on a line opened at baud? */
static bool listens_at(const struct bms_driver *drv, bool tcp, unsigned baud)
{
	if (!drv->foreign || !drv->listen_ms)
		return false;
	return tcp || drv->default_baud == baud || drv->alt_baud == baud;
}

/* The listening time after opening at baud (every such driver in turn). */
static uint64_t listen_total_ms(bool tcp, unsigned baud)
{
	const struct bms_driver *drv;
	uint64_t ms = 0;

	for (size_t i = 0; (drv = drv_at(i)) != NULL; i++)
		if (listens_at(drv, tcp, baud))
			ms += drv->listen_ms;
	return ms;
}

/* The line is opened again whenever the baud rate changes. */
static bool reopens(const struct attempt *plan, unsigned i, bool tcp)
{
	if (i == 0)
		return true;
	return !tcp && plan[i].baud != plan[i - 1].baud;
}

/* The longest a silent line can take: every first address's timeout and
 * every listen, as probe_plan() runs them. */
static uint64_t plan_bound_ms(const struct attempt *plan, unsigned n, bool tcp,
			      unsigned opt_ms)
{
	uint64_t ms = 0;
	unsigned first;

	for (unsigned i = 0; i < n; i++) {
		if (reopens(plan, i, tcp))
			ms += listen_total_ms(tcp, plan[i].baud);
		ms += (uint64_t)first_addrs(plan[i].drv, &first) *
		      timeout_of(plan[i].drv, opt_ms);
	}
	return ms;
}

/* --- the line --------------------------------------------------------- */

static void line_close(struct line *l)
{
	transport_close(l->tp);
	l->tp = NULL;
}

static int line_open(struct line *l, unsigned baud)
{
	line_close(l);
	l->tp = transport_open(l->spec, baud, l->err, sizeof(l->err));
	if (!l->tp)
		return -1;
	l->baud = baud;
	l->rxlen = 0;
	return 0;
}

/* Wait until fd is ready for events or the deadline; 1 ready, 0 not,
 * -1 error. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	uint64_t now = now_ms();
	int r;

	if (now >= deadline)
		return 0;
	r = poll(&pfd, 1, (int)(deadline - now));
	if (r < 0)
		return errno == EINTR ? 0 : -1;
	return r > 0;
}

/* Read what is there into rx; false with l->why on end of file or an
 * error. A full buffer of garbage starts over, as in the chain. */
static bool line_read(struct line *l)
{
	ssize_t n;

	if (l->rxlen == sizeof(l->rx))
		l->rxlen = 0;
	n = transport_read(l->tp, l->rx + l->rxlen, sizeof(l->rx) - l->rxlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0) {
		snprintf(l->err, sizeof(l->err), "%s: %s", l->spec,
			 n == 0 ? "device closed" : strerror(errno));
		l->why = l->err;
		return false;
	}
	l->rxlen += (size_t)n;
	l->rx_total += (unsigned long)n;
	return true;
}

/* Write the request before the deadline: a late answer to an earlier
 * request is dropped first, as in the chain. */
static bool line_send(struct line *l, uint64_t deadline)
{
	size_t done = 0;

	transport_flush(l->tp);
	l->rxlen = 0;
	l->rx_total = 0;
	while (done < l->reqlen) {
		ssize_t n =
			transport_write(l->tp, l->req + done, l->reqlen - done);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(l->err, sizeof(l->err), "%s: %s", l->spec,
				 strerror(errno));
			l->why = l->err;
			return false;
		}
		if (wait_fd(l->tp->fd, POLLOUT, deadline) <= 0)
			return true; /* unsent: the request times out */
	}
	return true;
}

static void drop(struct line *l, size_t n)
{
	memmove(l->rx, l->rx + n, l->rxlen - n);
	l->rxlen -= n;
}

/* Does this step's decode() add to the poll's reading (driver.h)? */
static bool accumulating(const struct bms_driver *drv,
			 const struct drv_step *step)
{
	return drv->accumulates && !step->once;
}

/*
 * The chain's framing (chain.c port_process()): scan for a candidate, drop
 * our own echo, stop at another master's frame, decode; drop one byte of
 * a malformed frame (the next may start inside it), all of a well-formed
 * stray one.
 */
static bool line_process(struct line *l, const struct bms_driver *drv,
			 const struct drv_step *step, unsigned addr,
			 struct bms_reading *r, enum ask *out)
{
	size_t skip, flen;

	while (l->rxlen > 0) {
		enum drv_decode d;

		if (drv->scan(l->rx, l->rxlen, &skip, &flen) ==
		    DRV_SCAN_NEED_MORE) {
			drop(l, skip);
			return false;
		}
		if (flen == l->reqlen &&
		    memcmp(l->rx + skip, l->req, flen) == 0) {
			drop(l, skip + flen);
			continue;
		}
		if (drv->foreign &&
		    (l->why = drv->foreign(l->rx + skip, flen)) != NULL) {
			*out = ASK_FOREIGN;
			return true;
		}
		if (!step) { /* listening: nothing asked */
			drop(l, skip + 1);
			continue;
		}
		/* An accumulating driver's step adds to the poll's reading so
		 * far (the caller's *r); it leaves it as it was unless the
		 * frame is taken. */
		if (!accumulating(drv, step))
			memset(r, 0, sizeof(*r));
		d = drv->decode(step, addr, l->rx + skip, flen, r);
		if (d == DRV_OK || d == DRV_ERR_STATUS) {
			*out = d == DRV_OK ? ASK_ANSWER : ASK_REFUSED;
			return true;
		}
		if (d == DRV_MORE && accumulating(drv, step)) {
			/* one frame of a longer answer, taken: wait for the
			 * next within the same deadline */
			drop(l, skip + flen);
			continue;
		}
		drop(l, skip + (d == DRV_ERR_UNEXPECTED ? flen : 1));
	}
	return false;
}

/* Read until process() decides or the deadline passes. */
static enum ask line_wait(struct line *l, const struct bms_driver *drv,
			  const struct drv_step *step, unsigned addr,
			  struct bms_reading *r, uint64_t deadline)
{
	enum ask out;
	int w;

	while ((w = wait_fd(l->tp->fd, POLLIN, deadline)) > 0) {
		if (!line_read(l))
			return ASK_IOERR;
		if (line_process(l, drv, step, addr, r, &out))
			return out;
	}
	if (w < 0) {
		snprintf(l->err, sizeof(l->err), "poll: %s", strerror(errno));
		l->why = l->err;
		return ASK_IOERR;
	}
	return l->rx_total ? ASK_NOISE : ASK_SILENT;
}

/* One request of step to addr, one deadline, no retry. */
static enum ask ask(struct line *l, const struct bms_driver *drv,
		    const struct drv_step *step, unsigned addr,
		    unsigned timeout_ms, struct bms_reading *r)
{
	uint64_t deadline = now_ms() + timeout_ms;

	l->reqlen = drv->build_request(step, addr, l->req, sizeof(l->req));
	if (l->reqlen == 0)
		return ASK_SILENT; /* the driver cannot ask this address */
	if (!line_send(l, deadline))
		return ASK_IOERR;
	return line_wait(l, drv, step, addr, r, deadline);
}

/* Listen for another master before the first request at this rate. */
static enum ask listen_line(struct line *l, const struct bms_driver *drv,
			    FILE *out)
{
	enum ask a;

	fprintf(out, "  %-10s listening %u ms for another master\n", drv->name,
		drv->listen_ms);
	l->reqlen = 0;
	l->rxlen = 0;
	l->rx_total = 0;
	a = line_wait(l, drv, NULL, 0, NULL, now_ms() + drv->listen_ms);
	return a == ASK_FOREIGN || a == ASK_IOERR ? a : ASK_SILENT;
}

/* --- one protocol ----------------------------------------------------- */

static void print_hex(FILE *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%02X", i ? " " : "", p[i]);
}

/* Say what a protocol that reads by a write function sends. */
static void print_write_note(FILE *out, const struct bms_driver *drv,
			     unsigned addr)
{
	uint8_t req[REQ_MAX];
	size_t n = drv->build_request(&drv->steps[0], addr, req, sizeof(req));

	fprintf(out,
		"  %-10s reads by a write function, its documented read "
		"command; to address %u it sends ",
		drv->name, addr);
	print_hex(out, req, n);
	fprintf(out, "\n");
}

static void print_attempt(FILE *out, const struct attempt *a, bool tcp,
			  unsigned addr, enum ask r, unsigned timeout_ms,
			  unsigned long rx)
{
	fprintf(out, "  %-10s ", a->drv->name);
	if (tcp)
		fprintf(out, "(gateway)");
	else
		fprintf(out, "%u baud", a->baud);
	if (a->drv->addressed)
		fprintf(out, ", address %u", addr);
	switch (r) {
	case ASK_ANSWER:
		fprintf(out, ": answered\n");
		break;
	case ASK_REFUSED:
		fprintf(out, ": a valid frame refusing the request\n");
		break;
	case ASK_SILENT:
		fprintf(out, ": no answer in %u ms\n", timeout_ms);
		break;
	case ASK_NOISE:
		fprintf(out, ": %lu bytes in %u ms, no valid answer\n", rx,
			timeout_ms);
		break;
	case ASK_FOREIGN:
		fprintf(out, ": another master's frame\n");
		break;
	case ASK_IOERR:
		fprintf(out, ": device error\n");
		break;
	}
}

/*
 * Read the pack at addr step by step, the driver's order (values first,
 * as the chain reads a candidate): the first step decides whether a pack
 * is there. The others are asked once each; *mask says which answered
 * (in: which once and optional steps to ask). Returns the first step's
 * result.
 */
static enum ask read_pack(struct line *l, const struct bms_driver *drv,
			  unsigned addr, unsigned timeout_ms, uint32_t *mask,
			  struct bms_reading *r, const char **missing)
{
	struct bms_reading part;
	uint32_t asked = *mask;
	enum ask a = ASK_SILENT;

	memset(r, 0, sizeof(*r));
	*missing = NULL;
	*mask = 0;
	for (unsigned s = 0; s < drv->nsteps && s < PROBE_MAX_STEPS; s++) {
		const struct drv_step *st = &drv->steps[s];
		enum ask sa;

		/* A required step is always asked: its data is the reading. */
		if (s > 0 && !(asked & (1u << s)) && (st->once || st->optional))
			continue;
		if (accumulating(drv, st))
			part = *r; /* the poll so far, which the step adds to */
		sa = ask(l, drv, st, addr, timeout_ms, &part);
		if (s == 0)
			a = sa;
		if (sa == ASK_ANSWER) {
			if (accumulating(drv, st))
				*r = part;
			else
				bms_reading_merge(r, &part);
			*mask |= 1u << s;
		} else if (!st->once && !st->optional && !*missing) {
			*missing = st->what;
		}
		if (s == 0 && sa != ASK_ANSWER)
			return a;
		if (sa == ASK_IOERR || sa == ASK_FOREIGN)
			return sa;
	}
	return a;
}

/*
 * One plan entry: the usual first addresses until one answers, then the
 * next addresses while packs answer. Returns ASK_ANSWER with f filled,
 * or what stopped it.
 */
static enum ask probe_attempt(struct line *l, const struct attempt *at,
			      unsigned opt_ms, struct found *f, FILE *out,
			      struct heard *heard)
{
	const struct bms_driver *drv = at->drv;
	unsigned timeout = timeout_of(drv, opt_ms);
	unsigned first, nfirst = first_addrs(drv, &first);
	uint32_t mask;
	enum ask a = ASK_SILENT;

	f->npacks = 0;
	if (drv->read_by_write)
		print_write_note(out, drv, first);
	for (unsigned k = 0; k < nfirst && first + k <= last_addr(drv); k++) {
		mask = UINT32_MAX;
		a = read_pack(l, drv, first + k, timeout, &mask,
			      &f->readings[0], &f->missing[0]);
		print_attempt(out, at, l->tcp, first + k, a, timeout,
			      l->rx_total);
		heard->refused = heard->refused || a == ASK_REFUSED;
		heard->noise = heard->noise || a == ASK_NOISE;
		if (a == ASK_ANSWER) {
			f->addrs[f->npacks++] = first + k;
			break;
		}
		if (a == ASK_IOERR || a == ASK_FOREIGN)
			return a;
	}
	if (a != ASK_ANSWER)
		return a;
	/* The packs are counted upwards; the next ones are asked only what
	 * the first answered, so an unsupported query costs no timeouts. */
	while (drv->addressed && f->npacks < PROBE_MAX_PACKS) {
		unsigned addr = f->addrs[f->npacks - 1] + 1;
		uint32_t m = mask;
		enum ask b;

		if (addr > last_addr(drv))
			break;
		b = read_pack(l, drv, addr, timeout, &m,
			      &f->readings[f->npacks], &f->missing[f->npacks]);
		print_attempt(out, at, l->tcp, addr, b, timeout, l->rx_total);
		if (b == ASK_IOERR || b == ASK_FOREIGN)
			return b;
		if (b != ASK_ANSWER)
			break;
		f->addrs[f->npacks++] = addr;
	}
	f->drv = drv;
	f->baud = at->baud;
	return ASK_ANSWER;
}

/* --- the report ------------------------------------------------------- */

static void print_pack(FILE *out, unsigned addr, bool addressed,
		       const struct bms_reading *r, const char *missing)
{
	char why[160];

	fprintf(out, "  %s", addressed ? "" : "battery");
	if (addressed)
		fprintf(out, "address %u", addr);
	fprintf(out, ": model %s",
		(r->have & BMS_HAVE_MODEL) && r->model[0] ? r->model
							  : "(not reported)");
	if ((r->have & BMS_HAVE_SERIAL) && r->serial[0])
		fprintf(out, ", serial %s", r->serial);
	if ((r->have & BMS_HAVE_FIRMWARE) && r->firmware[0])
		fprintf(out, ", firmware %s", r->firmware);
	if (r->have & BMS_HAVE_CELLS)
		fprintf(out, ", %u cells", r->ncells);
	if (r->have & BMS_HAVE_BASIC)
		fprintf(out, ", %.2f V, %.2f A, SoC %.0f %%", r->voltage,
			r->current > -0.005 && r->current < 0.005 ? 0.0
								  : r->current,
			r->soc);
	fprintf(out, "\n");
	if (missing)
		fprintf(out, "    incomplete: no answer to %s\n", missing);
	else if (bms_reading_check(r, why, sizeof(why)) != 0)
		fprintf(out, "    the daemon would not use this reading: %s\n",
			why);
}

/* A /dev/serial/by-id/ link to the same device: the name that survives
 * replugging. Into buf; false if there is none. */
static bool by_id_name(const char *spec, char *buf, size_t len)
{
	static const char dir[] = "/dev/serial/by-id";
	char real[PATH_MAX], other[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (!realpath(spec, real) || !(d = opendir(dir)))
		return false;
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (realpath(path, other) && strcmp(other, real) == 0 &&
		    strlen(path) < len) {
			strcpy(buf, path);
			found = true;
		}
	}
	closedir(d);
	return found;
}

/* The device as the configuration wants it: an absolute path (the
 * by-id link when there is one) or the tcp:// address as given. */
static void config_device(const struct line *l, char *buf, size_t len)
{
	char real[PATH_MAX];

	if (l->tcp || strncmp(l->spec, "/dev/serial/", 12) == 0) {
		snprintf(buf, len, "%s", l->spec);
		return;
	}
	if (by_id_name(l->spec, buf, len))
		return;
	if (l->spec[0] != '/' && realpath(l->spec, real))
		snprintf(buf, len, "%s", real);
	else
		snprintf(buf, len, "%s", l->spec);
}

static void print_found(FILE *out, const struct line *l, const struct found *f)
{
	const struct bms_driver *drv = f->drv;

	fprintf(out, "\nFound: protocol %s", drv->name);
	if (!l->tcp)
		fprintf(out, " at %u baud", f->baud);
	if (drv->addressed && f->npacks == 1)
		fprintf(out, ", 1 pack at address %u", f->addrs[0]);
	else if (drv->addressed)
		fprintf(out, ", %u packs at addresses %u-%u", f->npacks,
			f->addrs[0], f->addrs[f->npacks - 1]);
	if (drv->addressed && f->npacks == PROBE_MAX_PACKS)
		fprintf(out, " (the probe counts at most %d)", PROBE_MAX_PACKS);
	fprintf(out, "\n");
	for (unsigned i = 0; i < f->npacks; i++)
		print_pack(out, f->addrs[i], drv->addressed, &f->readings[i],
			   f->missing[i]);
}

/* The [port] section, last in the output: everything from its first
 * line on can be pasted as it is. */
static void print_section(FILE *out, const struct line *l,
			  const struct found *f)
{
	const struct bms_driver *drv = f->drv;
	char dev[PATH_MAX];

	config_device(l, dev, sizeof(dev));
	fprintf(out, "\nThe section for smallbms.conf(5) (smallbmsd -t checks "
		     "it):\n\n");
	fprintf(out, "[port bms]\ndevice = %s\nprotocol = %s\n", dev,
		drv->name);
	if (!l->tcp && f->baud != drv->default_baud)
		fprintf(out, "baud = %u\n", f->baud);
	if (drv->addressed && f->npacks > 1)
		fprintf(out, "addresses = %u-%u\n", f->addrs[0],
			f->addrs[f->npacks - 1]);
	else if (drv->addressed)
		fprintf(out, "addresses = %u\n", f->addrs[0]);
}

static void print_nothing(FILE *out, const struct attempt *plan, unsigned n,
			  bool tcp, const struct heard *heard)
{
	fprintf(out, "\nNothing answered. Tried:");
	for (unsigned i = 0; i < n; i++) {
		unsigned first, k = first_addrs(plan[i].drv, &first);

		fprintf(out, "%s %s", i ? "," : "", plan[i].drv->name);
		if (!tcp)
			fprintf(out, " at %u", plan[i].baud);
		if (plan[i].drv->addressed)
			fprintf(out, " (addresses %u-%u)", first,
				first + k - 1);
	}
	fprintf(out, ".\n");
	if (heard->refused)
		fprintf(out, "A device answered in a protocol's framing but "
			     "refused its request (see above).\n");
	if (heard->noise)
		fprintf(out, "Bytes came back that no protocol accepted: "
			     "another baud rate or protocol, or a noisy line "
			     "(A and B swapped, no GND).\n");
	fprintf(out, "Check the wiring (A/B swapped? GND?), the adapter, and "
		     "that the battery is on; an unlisted protocol or baud "
		     "rate is not supported yet.\n");
}

/* --- the run ---------------------------------------------------------- */

/* The listens after opening the line at baud; ASK_SILENT if none heard
 * another master. */
static enum ask listen_all(struct line *l, unsigned baud,
			   const struct bms_driver **who, FILE *out)
{
	const struct bms_driver *drv;

	for (size_t i = 0; (drv = drv_at(i)) != NULL; i++) {
		enum ask a;

		if (!listens_at(drv, l->tcp, baud))
			continue;
		a = listen_line(l, drv, out);
		if (a != ASK_SILENT) {
			*who = drv;
			return a;
		}
	}
	return ASK_SILENT;
}

static int stopped(struct line *l, enum ask a, const struct bms_driver *drv,
		   FILE *out)
{
	if (a == ASK_FOREIGN) {
		fprintf(out,
			"\nAnother master polls this line (protocol %s): %s.\n"
			"%s\nThe daemon would not poll it. Nothing was "
			"found.\n\n",
			drv->name, l->why,
			drv->foreign_hint ? drv->foreign_hint : "");
		return PROBE_MASTER;
	}
	fprintf(out, "\n%s\n\n", l->why ? l->why : "device error");
	return PROBE_DEVICE;
}

static int probe_plan(struct line *l, const struct attempt *plan, unsigned n,
		      unsigned opt_ms, struct found *f, FILE *out)
{
	struct heard heard = {false, false};

	for (unsigned i = 0; i < n; i++) {
		const struct bms_driver *who = plan[i].drv;
		enum ask a;

		if (reopens(plan, i, l->tcp)) {
			if (line_open(l, plan[i].baud) != 0) {
				fprintf(out, "%s\n", l->err);
				return PROBE_DEVICE;
			}
			a = listen_all(l, plan[i].baud, &who, out);
			if (a != ASK_SILENT)
				return stopped(l, a, who, out);
		}
		a = probe_attempt(l, &plan[i], opt_ms, f, out, &heard);
		if (a == ASK_ANSWER) {
			print_found(out, l, f);
			fprintf(out, "\n");
			return PROBE_FOUND;
		}
		if (a == ASK_IOERR || a == ASK_FOREIGN)
			return stopped(l, a, who, out);
	}
	print_nothing(out, plan, n, l->tcp, &heard);
	fprintf(out, "\n");
	return PROBE_NOTHING;
}

uint64_t probe_silent_ms(bool tcp, unsigned timeout_ms)
{
	struct attempt plan[PROBE_MAX_PLAN];
	unsigned n = make_plan(tcp, plan, PROBE_MAX_PLAN);

	return plan_bound_ms(plan, n, tcp, timeout_ms);
}

int probe_run(const struct probe_opts *o, FILE *out)
{
	static struct line line;
	static struct found found;
	struct attempt plan[PROBE_MAX_PLAN];
	uint64_t start = now_ms(), bound;
	unsigned n;
	int rc;

	memset(&line, 0, sizeof(line));
	line.spec = o->device;
	line.tcp = transport_is_tcp(o->device);
	n = make_plan(line.tcp, plan, PROBE_MAX_PLAN);
	bound = plan_bound_ms(plan, n, line.tcp, o->timeout_ms);
	fprintf(out,
		"Probing %s: %u protocol and baud rate combinations, read "
		"requests only; their timeouts add up to %.2f s if nothing "
		"answers.\n",
		o->device, n, (double)bound / 1000.0);
	fflush(out);
	rc = probe_plan(&line, plan, n, o->timeout_ms, &found, out);
	line_close(&line);
	fprintf(out, "Probe took %.1f s.\n",
		(double)(now_ms() - start) / 1000.0);
	if (rc == PROBE_FOUND)
		print_section(out, &line, &found);
	return rc;
}
