/* SPDX-License-Identifier: MIT */
/*
 * chain.h - the battery chain: every configured port, its transport, its
 * protocol driver and the batteries on it, polled from the event loop.
 *
 * Per port there is at most one outstanding request. A request that gets no
 * valid answer within the timeout is retried once; garbage is skipped up to
 * the next frame start; the RS485 echo of our own request is discarded. A
 * battery's reading is published only when every step of a poll succeeded,
 * so downstream code never sees a half-updated battery.
 */
#ifndef SMALLBMS_CHAIN_H
#define SMALLBMS_CHAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "cfg.h"
#include "driver.h"
#include "reading.h"

struct chain_battery {
	unsigned index; /* 0-based, in configuration order */
	unsigned port;  /* index into the configured ports */
	unsigned addr;
	bool valid;                 /* has had a complete reading */
	bool stale;                 /* no complete reading for stale_after */
	uint64_t last_good_us;      /* monotonic time of the last reading */
	struct bms_reading reading; /* the last complete reading */
	/* Which publication that reading was: unique in the process, so a
	 * cache of anything made from it (the daemon's bank summaries) knows
	 * when it is stale; 0: never published. */
	uint64_t seq;
	unsigned long frames_good;
	unsigned long frames_bad;
	unsigned long timeouts;
	/* Complete readings refused as physically impossible (I5,
	 * bms_reading_check): never published, never data. */
	unsigned long rejected;
	char last_rejection[96];      /* why the last one was refused, or "" */
	uint64_t rejection_logged_us; /* rate limit of the journal warning */
	unsigned long rejections_unlogged;
};

/* At most one such warning per battery this often (the rest are counted). */
#define CHAIN_REJECT_LOG_US (60ULL * 1000000)

struct chain;

/* Per-port figures, for `smallbmsctl ports` and the scan benchmark. */
struct chain_port_stats {
	bool open;
	const char *kind; /* transport kind, NULL when closed */
	unsigned baud;
	uint64_t timeout_us;
	unsigned nbatteries;
	unsigned long opens;    /* open attempts */
	unsigned long scans;    /* completed scans of every battery */
	uint64_t last_scan_us;  /* duration of the last scan */
	uint64_t scan_us_total; /* of all completed scans */
	unsigned long requests; /* requests sent (retries too) */
	unsigned long long tx_bytes, rx_bytes;
	/* Times reading paused: readable too often in a short time (chain.c
	 * RX_BURST), a flood that would otherwise starve the clients. */
	unsigned long rx_pauses;
	/* The last completed scan alone: requests and bytes both ways. */
	unsigned long last_scan_requests;
	unsigned long long last_scan_bytes;
	char last_error[256]; /* why the port is closed, or "" */
	/* "addresses = scan": candidates, passes, probes sent. */
	bool scan;
	bool discovering; /* a pass is in progress */
	unsigned candidates;
	unsigned long discovery_passes;
	unsigned long probes;
	uint64_t next_rescan_us; /* monotonic; 0 before the first pass */
};

/*
 * Called after any battery's reading or stale flag changed, and (with
 * scan_done true) when a port finished a scan of all its batteries.
 *
 * It is called from inside the chain's state machine, between two
 * requests of a scan: it must not call back into the chain to change it.
 * Only the read-only getters below (chain_count, chain_ready,
 * chain_battery, chain_port_*, chain_protocol, chain_stalled,
 * chain_scans) may be used; chain_reconfigure() refuses (NULL, with a
 * message) and chain_free() refuses (logged as a bug) when called from
 * it. The daemon reloads from its SIGHUP handler, never from here.
 */
typedef void (*chain_update_fn)(struct chain *c, bool scan_done,
				void *userdata);

/*
 * Open every configured port and start polling on ev. Ports that cannot be
 * opened now are retried every poll interval (an adapter may be plugged in
 * later); their batteries stay stale. Returns NULL only on bad arguments or
 * memory exhaustion, with a message in err.
 */
struct chain *chain_new(sd_event *ev, const struct cfg *cfg, chain_update_fn cb,
			void *userdata, char *err, size_t errlen);
void chain_free(struct chain *c);

/*
 * A reload: the chain for cfg, taking over what it can from old, which is
 * freed (NULL and err on failure: old is untouched and keeps running).
 * A port whose [port] section is unchanged (same name, every key equal)
 * keeps its open transport (it is not reopened), its batteries, their
 * readings and counters, and what discovery found; its scan in progress
 * is abandoned and starts again at the next tick. A port whose section
 * changed is closed and opened again with its new settings; its
 * batteries at the same addresses keep their last good reading time but
 * count as stale until they answer (so comm loss goes on counting from
 * that reading, and nothing is allowed on the strength of old data).
 * New ports start empty, removed ports are closed. cfg must outlive the
 * chain.
 */
struct chain *chain_reconfigure(struct chain *old, const struct cfg *cfg,
				char *err, size_t errlen);

/* Same section (name and every key; where it is in the file does not
 * count). */
bool chain_port_cfg_equal(const struct cfg_port *a, const struct cfg_port *b);

/* Batteries known now. On ports with "addresses = scan" they are found by
 * discovery: the count grows, and batteries are numbered port by port in
 * configuration order, on a port by address, so a battery found later
 * may move the numbers of those after it. */
unsigned chain_count(const struct chain *c);
/* False until every scanned port finished its first discovery pass with
 * at least one battery: the bank is not all there before. */
bool chain_ready(const struct chain *c);
const struct chain_battery *chain_battery(const struct chain *c, unsigned i);
/* The batteries of one port, *n of them, in the numbering's order: port
 * by port they are batteries 0 .. chain_count() - 1 (NULL, 0: none). */
const struct chain_battery *chain_port_batteries(const struct chain *c,
						 unsigned port, unsigned *n);
const char *chain_port_name(const struct chain *c, unsigned port);
const char *chain_port_device(const struct chain *c, unsigned port);
const char *chain_protocol(const struct chain *c, unsigned port);
unsigned chain_port_count(const struct chain *c);
void chain_port_stats(const struct chain *c, unsigned port,
		      struct chain_port_stats *st);
/* A port's scan made no progress for far longer than its timeouts allow:
 * the watchdog must not be fed (see daemon.c). */
bool chain_stalled(const struct chain *c, uint64_t now);
/* Completed port scans since start (progress proof for the watchdog). */
uint64_t chain_scans(const struct chain *c);

struct capture;
/* Record every port's traffic into cp (capture.h; NULL: none). A
 * reconfigured chain keeps it. Not from the update callback. */
void chain_set_capture(struct chain *c, struct capture *cp);
/* Ask every battery of port who it is at its next poll (the "once"
 * steps again), as after a reopen: a capture then holds those answers. */
void chain_port_recheck_identity(struct chain *c, unsigned port);

#endif
