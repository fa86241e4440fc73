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
 * A missing file means defaults (first start). A file that cannot be used
 * (unreadable, not JSON, another version, an invalid value) means defaults
 * too, and the file is renamed aside to state.json.corrupt-YYYYmmddTHHMMSS
 * (UTC) for inspection; err says what was wrong and where it went. Nothing
 * of a bad file is used: not even its valid parts.
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
	STORE_LOADED,  /* settings and monitor restored */
	STORE_MISSING, /* no state file: defaults (err says so) */
	STORE_CORRUPT, /* unusable: defaults; err: why, and where it went */
};

/*
 * Read DIR/state.json into *s and *m (m initialised by monitor_init() with
 * s). On anything but STORE_LOADED, *s is settings_default() and *m is
 * monitor_init()ed again. wall_s (seconds since the epoch) names a corrupt
 * file kept aside. Never fails harder than STORE_CORRUPT.
 */
enum store_load_result store_load(const char *dir, int64_t wall_s,
				  struct settings *s, struct monitor *m,
				  char *err, size_t errlen);

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
