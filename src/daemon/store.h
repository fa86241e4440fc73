/* SPDX-License-Identifier: MIT */
/*
 * store.h - the state file: run-time settings, the monitor's SoC and
 * history, in one versioned JSON file, STATE_DIR/state.json:
 *
 *	{"version": 1, "settings": {...}, "monitor": {...}}
 *
 * Written atomically, so a power cut leaves either the old or the new
 * file, never a torn one: the text goes to STATE_DIR/state.json.tmp, which
 * is fsync()ed, rename()d over state.json, and the directory is fsync()ed
 * so the rename itself is on disk.
 *
 * A missing file means defaults (first start). Otherwise the file is read
 * key by key (I8): a bad or unknown key is dropped with a problem naming
 * it, and the rest is kept. A file that cannot be read as a state file at
 * all (not a regular file, unreadable, not JSON, another version) means
 * defaults. Either way the file is renamed aside to
 * state.json.corrupt-YYYYmmddTHHMMSS (UTC) for inspection. And if Mode
 * itself could not be read from a file that existed, Mode is Off: the user
 * may have switched the loads off, and silently switching them back on is
 * the dangerous direction.
 *
 * The file is opened with O_NONBLOCK | O_NOFOLLOW and must be a regular
 * file: a FIFO or a device never hangs the start, a symbolic link is not
 * followed.
 */
#ifndef SMALLBMS_STORE_H
#define SMALLBMS_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor.h"
#include "settings.h"

#define STORE_FILE      "state.json"
#define STORE_VERSION   1
#define STORE_MAX_BYTES (1024 * 1024) /* larger is not ours: corrupt */

enum store_load_result {
	STORE_LOADED,   /* every key restored */
	STORE_PARTIAL,  /* restored, but some keys were dropped */
	STORE_MISSING,  /* no state file: defaults */
	STORE_UNUSABLE, /* not a state file at all: defaults, Mode off */
};

#define STORE_MAX_PROBLEMS 8
#define STORE_PROBLEM_LEN  320

/* What a load found, for the journal and the status. */
struct store_report {
	enum store_load_result result;
	/* The file existed, but Mode could not be read from it: Mode is
	 * Off, whatever it was. */
	bool mode_forced_off;
	unsigned nproblems; /* every problem; the first few are kept */
	char problems[STORE_MAX_PROBLEMS][STORE_PROBLEM_LEN];
	char message[STORE_PROBLEM_LEN + 128]; /* one line: what happened */
};

/*
 * Read DIR/state.json into *s and *m (m initialised by monitor_init() with
 * s), checking the run-time settings against base (the configuration's
 * [protection], settings_check()). Whatever the result, *s and *m are
 * usable: defaults plus what could be read. wall_s (seconds since the
 * epoch) names a file kept aside.
 */
enum store_load_result store_load(const char *dir, int64_t wall_s,
				  const struct guard_settings *base,
				  struct settings *s, struct monitor *m,
				  struct store_report *rep);

/* "loaded", "partial", "missing", "unusable". */
const char *store_result_name(enum store_load_result r);

/* {"version":1,"settings":...,"monitor":...} */
json_t *store_state_json(const struct settings *s, const struct monitor *m);

/*
 * Write state atomically as DIR/state.json (see above). On error returns
 * -1 with a message naming the file; the previous state.json is intact.
 */
int store_save(const char *dir, const json_t *state, char *err, size_t errlen);

/*
 * When to save: at once after a settings change or a command (urgent), at
 * most every interval_s otherwise (SD cards wear), and only when
 * something changed. Pure: the daemon passes the monotonic time.
 */
struct store_policy {
	bool dirty;       /* something changed since the last good save */
	bool urgent;      /* ... that should be saved now */
	uint64_t last_us; /* last save attempt (or the load) */
};

void store_policy_init(struct store_policy *p, uint64_t now_us);
void store_policy_mark(struct store_policy *p, bool urgent);
bool store_policy_due(const struct store_policy *p, uint64_t now_us,
		      unsigned interval_s);
/* When to look again (for a timer); UINT64_MAX: nothing to save. */
uint64_t store_policy_next(const struct store_policy *p, uint64_t now_us,
			   unsigned interval_s);
/* After a save attempt: a failed save stays dirty and is retried after
 * interval_s, not at once (no busy loop on a full or read-only disk). */
void store_policy_done(struct store_policy *p, uint64_t now_us, bool ok);

#endif
