/* SPDX-License-Identifier: MIT */
/*
 * smallbmsd - battery-management daemon: reads a chain of BMS batteries and
 * decides whether the bank may charge and discharge.
 */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "gpio.h"
#include "log.h"
#include "number.h"
#include "outputs.h"
#include "probe.h"
#include "settings.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG SYSCONFDIR "/smallbms/smallbms.conf"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: smallbmsd [OPTION]...\n"
		"Battery-management daemon for BMS batteries on serial lines.\n"
		"\n"
		"  -c, --config=FILE    configuration file (default %s)\n"
		"  -t, --check-config   validate the configuration and exit\n"
		"  -k, --list-keys      list every configuration key "
		"(section,\n"
		"                       key, type, default, range, meaning)\n"
		"  -K, --list-settings  list every run-time setting (name, "
		"type,\n"
		"                       unit, default, range, reset-defaults,\n"
		"                       meaning)\n"
		"  -S, --safe-state     set every configured output line to\n"
		"                       not allowed, release it, and exit "
		"(for\n"
		"                       ExecStopPost= after a crash)\n"
		"  -n, --dry-run        compute outputs but never drive them\n"
		"  -p, --probe=DEVICE   find the protocol, baud rate and\n"
		"                       addresses of the batteries on DEVICE\n"
		"                       (read requests only), print the\n"
		"                       [port] section and exit: 0 found,\n"
		"                       1 nothing answered, 2 usage, 3 device\n"
		"                       cannot be opened or is in use, 4\n"
		"                       another master polls the line\n"
		"      --timeout-ms=N   with --probe: wait N ms (%d-%d) for\n"
		"                       each answer instead of each\n"
		"                       protocol's own timeout\n"
		"  -d, --debug          log debug messages\n"
		"  -h, --help           show this help and exit\n"
		"  -V, --version        show the version and exit\n"
		"\n"
		"Runs in the foreground; logs to the journal under systemd,\n"
		"otherwise to standard error. See smallbmsd(8).\n",
		DEFAULT_CONFIG, PROBE_TIMEOUT_MIN_MS, PROBE_TIMEOUT_MAX_MS);
}

struct options {
	const char *config;
	bool check_only;
	bool safe_state;
	bool dry_run;
	bool debug;
	bool config_given;
	const char *probe;      /* --probe DEVICE */
	const char *timeout_ms; /* --timeout-ms, as given */
};

enum { OPT_TIMEOUT_MS = 256 };

/* --probe's options are checked together; -1 to go on, else the exit. */
static int probe_options(const struct options *o, struct probe_opts *po)
{
	uint64_t ms;

	if (o->timeout_ms && !o->probe) {
		fprintf(stderr, "smallbmsd: --timeout-ms goes with --probe\n");
		return PROBE_USAGE;
	}
	if (!o->probe)
		return -1;
	/* The probe reads no configuration and drives nothing. */
	if (o->config_given || o->check_only || o->safe_state || o->dry_run) {
		fprintf(stderr, "smallbmsd: --probe goes alone (with "
				"--timeout-ms)\n");
		return PROBE_USAGE;
	}
	if (!o->probe[0]) {
		fprintf(stderr, "smallbmsd: --probe needs a device\n");
		return PROBE_USAGE;
	}
	po->device = o->probe;
	po->timeout_ms = 0;
	if (!o->timeout_ms)
		return -1;
	if (!num_uint(o->timeout_ms, &ms) || ms < PROBE_TIMEOUT_MIN_MS ||
	    ms > PROBE_TIMEOUT_MAX_MS) {
		fprintf(stderr,
			"smallbmsd: --timeout-ms '%s': give milliseconds, "
			"%d-%d\n",
			o->timeout_ms, PROBE_TIMEOUT_MIN_MS,
			PROBE_TIMEOUT_MAX_MS);
		return PROBE_USAGE;
	}
	po->timeout_ms = (unsigned)ms;
	return -1;
}

/* Returns -1 to continue, otherwise the exit status. */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 't'},
		{"safe-state", no_argument, NULL, 'S'},
		{"list-keys", no_argument, NULL, 'k'},
		{"list-settings", no_argument, NULL, 'K'},
		{"dry-run", no_argument, NULL, 'n'},
		{"probe", required_argument, NULL, 'p'},
		{"timeout-ms", required_argument, NULL, OPT_TIMEOUT_MS},
		{"debug", no_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	o->config = DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "c:tSkKnp:dhV", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			o->config_given = true;
			break;
		case 't':
			o->check_only = true;
			break;
		case 'S':
			o->safe_state = true;
			break;
		case 'k':
			cfg_print_keys(stdout);
			return EXIT_SUCCESS;
		case 'K':
			settings_print_keys(stdout);
			return EXIT_SUCCESS;
		case 'n':
			o->dry_run = true;
			break;
		case 'p':
			o->probe = optarg;
			break;
		case OPT_TIMEOUT_MS:
			o->timeout_ms = optarg;
			break;
		case 'd':
			o->debug = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("smallbmsd %s\n", PACKAGE_VERSION);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "smallbmsd: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	return -1;
}

/*
 * After a crash the kernel may keep driving a line at its last value:
 * request every output in the not-allowed state and release it. Runs from
 * ExecStopPost=, so it must work without the daemon.
 */
static int safe_state(const struct cfg *cfg)
{
	const struct gpio_ops *ops = &gpio_hw_ops;

	if (cfg->dry_run) {
		ops = &gpio_dryrun_ops;
		if (gpio_dryrun_set_dir(cfg->dry_run_dir[0] ? cfg->dry_run_dir
							    : NULL) < 0)
			return EXIT_FAILURE;
	}
	return outputs_safe_state(ops, cfg, stderr) == 0 ? EXIT_SUCCESS
							 : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	static struct cfg cfg;
	struct options opt = {0};
	struct daemon d;
	char err[512];
	struct probe_opts po;
	int r;

	r = parse_options(argc, argv, &opt);
	if (r >= 0)
		return r;
	r = probe_options(&opt, &po);
	if (r >= 0)
		return r;
	log_init("smallbmsd", LOG_INFO);
	/* No configuration: probing is how a newcomer writes one. */
	if (opt.probe)
		return probe_run(&po, stdout);
	if (cfg_load(&cfg, opt.config, stderr) != 0) {
		fprintf(stderr, "smallbmsd: %s: configuration is not valid\n",
			opt.config);
		return EXIT_FAILURE;
	}
	if (opt.check_only) {
		printf("%s: configuration is valid\n", opt.config);
		return EXIT_SUCCESS;
	}
	cfg.dry_run = cfg.dry_run || opt.dry_run;
	if (opt.safe_state)
		return safe_state(&cfg);
	log_set_max_priority(opt.debug ? LOG_DEBUG : cfg.log_level);
	if (daemon_init(&d, &cfg, err, sizeof(err)) < 0) {
		log_err("%s", err);
		daemon_fini(&d);
		return EXIT_FAILURE;
	}
	d.config_path = opt.config;
	d.debug = opt.debug;
	d.dry_run_forced = opt.dry_run;
	r = daemon_run(&d);
	daemon_fini(&d);
	log_notice("stopped");
	return r;
}
