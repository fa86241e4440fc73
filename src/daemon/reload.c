/* SPDX-License-Identifier: MIT */
/*
 * reload.c - daemon_reload(): SIGHUP / `systemctl reload smallbmsd`
 * applies the configuration file again without releasing a single GPIO
 * line (see daemon.h).
 *
 * A restart would drop both outputs for seconds (load off on SIGTERM, back
 * after the new start): on a boat that is the fridge and the inverter
 * cycling. So the new file is parsed into a copy; refused whole on any
 * error; checked against the run-time settings with the same rules as at
 * start; then the parts that can change live are applied and the others
 * keep their running values, said in the journal.
 */
#include <config.h>

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "metrics.h"

/* Every line of a refused file, as errors in the journal. */
static void log_errors(const char *text)
{
	const char *p = text;

	while (*p) {
		size_t n = strcspn(p, "\n");

		if (n)
			log_err("reload refused: %.*s", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

/* Parse the file into a new copy; NULL (errors logged) if it has any. */
static struct cfg *load_new(const struct daemon *d)
{
	struct cfg *c = malloc(sizeof(*c));
	char *errs = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&errs, &len);
	int n;

	if (!c || !f) {
		log_err("reload refused: out of memory");
		free(c);
		if (f)
			fclose(f);
		free(errs);
		return NULL;
	}
	n = cfg_load(c, d->config_path, f);
	fclose(f);
	if (n) {
		log_errors(errs ? errs : "");
		log_err("reload refused: %s has %d error%s; the running "
			"configuration stays",
			d->config_path, n, n == 1 ? "" : "s");
		free(c);
		c = NULL;
	}
	free(errs);
	return c;
}

static bool same_output(const struct cfg_output *a, const struct cfg_output *b)
{
	struct cfg_output x = *a, y = *b;

	x.line_no = y.line_no = 0;
	return memcmp(&x, &y, sizeof(x)) == 0;
}

static bool same_outputs(const struct cfg *a, const struct cfg *b)
{
	if (a->noutputs != b->noutputs)
		return false;
	for (unsigned i = 0; i < a->noutputs; i++)
		if (!same_output(&a->outputs[i], &b->outputs[i]))
			return false;
	return true;
}

static bool same_remote(const struct cfg *a, const struct cfg *b)
{
	struct cfg_input x = a->remote, y = b->remote;

	x.line_no = y.line_no = 0;
	return a->have_remote == b->have_remote &&
	       (!a->have_remote || memcmp(&x, &y, sizeof(x)) == 0);
}

/*
 * What needs a restart keeps its running value in the new copy, and the
 * journal names each: lines are requested once (changing one means
 * releasing it), and the socket and the state directory are in use.
 */
static void keep_restart_only(const struct cfg *run, struct cfg *c)
{
	if (!same_outputs(run, c)) {
		log_warn("reload: the [output] sections changed: not applied "
			 "(outputs need a restart: systemctl restart "
			 "smallbmsd)");
		c->noutputs = run->noutputs;
		memcpy(c->outputs, run->outputs, sizeof(c->outputs));
	}
	if (!same_remote(run, c)) {
		log_warn("reload: [input remote] changed: not applied (it "
			 "needs a restart)");
		c->have_remote = run->have_remote;
		c->remote = run->remote;
	}
	if (run->dry_run != c->dry_run ||
	    strcmp(run->dry_run_dir, c->dry_run_dir) != 0) {
		log_warn("reload: dry_run / dry_run_dir changed: not applied "
			 "(it needs a restart)");
		c->dry_run = run->dry_run;
		memcpy(c->dry_run_dir, run->dry_run_dir,
		       sizeof(c->dry_run_dir));
	}
	if (strcmp(run->socket_path, c->socket_path) != 0) {
		log_warn("reload: socket changed: not applied (it needs a "
			 "restart)");
		memcpy(c->socket_path, run->socket_path,
		       sizeof(c->socket_path));
	}
	if (strcmp(run->state_dir, c->state_dir) != 0) {
		log_warn("reload: state_dir changed: not applied (it needs a "
			 "restart)");
		memcpy(c->state_dir, run->state_dir, sizeof(c->state_dir));
	}
}

/* The ports kept, reopened, added and removed, for one journal line. */
static void log_ports(const struct cfg *run, const struct cfg *c)
{
	unsigned kept = 0, changed = 0, added = 0, removed = 0;

	for (unsigned i = 0; i < c->nports; i++) {
		unsigned j;

		for (j = 0; j < run->nports; j++)
			if (!strcmp(run->ports[j].name, c->ports[i].name))
				break;
		if (j == run->nports)
			added++;
		else if (chain_port_cfg_equal(&run->ports[j], &c->ports[i]))
			kept++;
		else
			changed++;
	}
	removed = run->nports + added - c->nports;
	log_notice("reloaded: ports: %u kept running, %u reopened, %u added, "
		   "%u removed; protection settings in effect now",
		   kept, changed, added, removed);
}

static void apply_admin_group(struct daemon *d)
{
	const struct group *g = getgrnam(d->cfg->admin_group);

	if (g)
		ctl_server_set_admin_group(d->ctl, g->gr_gid);
	else
		log_notice("admin group '%s' does not exist: only root may "
			   "change settings through the socket",
			   d->cfg->admin_group);
}

int daemon_reload(struct daemon *d)
{
	struct cfg *c;
	struct chain *nc;
	char err[512];

	if (!d->config_path)
		return -1;
	log_notice("reloading %s", d->config_path);
	c = load_new(d);
	if (!c)
		return -1;
	c->dry_run = c->dry_run || d->dry_run_forced; /* -n stays */
	/* The same rules as at start, with the run-time settings in force:
	 * a file that would break one is refused, not half applied. */
	if (settings_check(&d->settings, &c->protection, err, sizeof(err)) <
	    0) {
		log_err("reload refused: [protection] with the run-time "
			"settings: %s; the running configuration stays",
			err);
		free(c);
		return -1;
	}
	keep_restart_only(d->cfg, c);
	daemon_mqtt_reload(d->cfg, c);
	nc = chain_reconfigure(d->chain, c, err, sizeof(err));
	if (!nc) {
		log_err("reload refused: %s; the running configuration stays",
			err);
		free(c);
		return -1;
	}
	log_ports(d->cfg, c);
	d->chain = nc;
	json_decref(d->batteries_answer); /* another list of batteries */
	d->batteries_answer = NULL;
	d->cfg = c;
	free(d->cfg_owned);
	d->cfg_owned = c;
	log_set_max_priority(d->debug ? LOG_DEBUG : c->log_level);
	apply_admin_group(d);
	/* [metrics]: a changed textfile is written at once and the old file
	 * removed (none: removed, writes stop); interval from the next write */
	metrics_configure(d->metrics, &c->metrics);
	daemon_can_reload(d); /* [limits]; [can] changed: the link reopened */
	daemon_state_changed(d); /* guard settings, save, decide */
	return 0;
}
