/* SPDX-License-Identifier: MIT */
/*
 * fuzz_cfg.c - libFuzzer target for the configuration loader (see
 * fuzz/README.md).
 *
 * The input is the text of a smallbms.conf. It is parsed twice: by
 * cfg_load() from a file holding every input byte (NUL bytes included),
 * and by cfg_load_string() from the text up to the first NUL. Contract:
 *
 * - the result is the number of errors (>= 0), and the error stream has
 *   exactly that many lines, each "NAME:LINE: message" or "NAME: message";
 * - without a NUL byte both ways give the same errors, word for word;
 * - a file without errors gives a consistent configuration: 1..16 ports,
 *   each with a known protocol and exactly one of device and usb_serial,
 *   no device or adapter used twice, addresses that the protocol and the
 *   scan/expect rules allow, at most 50 batteries forming whole series
 *   strings, at most 8 outputs, a syslog level, and [protection] settings
 *   that pass guard_settings_check() with the run-time defaults (I3);
 * - a file with errors leaves the caller's struct untouched.
 *
 * Any violation calls abort(); leaks are found by LeakSanitizer.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create, open_memstream */
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <syslog.h>
#include <unistd.h>

#include "cfg.h"
#include "driver.h"
#include "fuzz_check.h"
#include "guard.h"
#include "settings.h"

#define MAX_ADDR      254 /* cfg.c CFG_MAX_ADDR */
#define MAX_BATTERIES 50  /* cfg.c CFG_MAX_BATTERIES */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_cfg_text(const char *s, size_t cap, int nonempty)
{
	require(memchr(s, '\0', cap) != NULL);
	if (nonempty)
		require(s[0] != '\0');
}

static void check_port(const struct cfg *c, unsigned i, unsigned *total,
		       int *scan)
{
	const struct cfg_port *p = &c->ports[i];
	const struct bms_driver *drv;

	check_cfg_text(p->name, sizeof(p->name), 1);
	check_cfg_text(p->device, sizeof(p->device), 0);
	check_cfg_text(p->usb_serial, sizeof(p->usb_serial), 0);
	check_cfg_text(p->protocol, sizeof(p->protocol), 1);
	require((p->device[0] != '\0') != (p->usb_serial[0] != '\0'));
	drv = drv_find(p->protocol);
	require(drv != NULL);
	require(p->naddrs <= CFG_MAX_ADDRS);
	for (unsigned a = 0; a < p->naddrs; a++)
		require(p->addrs[a] <= MAX_ADDR);
	if (p->scan)
		require(p->expect <= p->naddrs);
	else
		require(p->expect == 0);
	if (!drv->addressed)
		require(p->naddrs <= 1 && !p->scan);
	for (unsigned j = 0; j < i; j++) {
		const struct cfg_port *q = &c->ports[j];

		require(!p->device[0] || strcmp(p->device, q->device) != 0);
		require(!p->usb_serial[0] ||
			strcmp(p->usb_serial, q->usb_serial) != 0);
	}
	*total += p->naddrs ? p->naddrs : 1;
	*scan = *scan || p->scan;
}

/* A configuration that loaded without errors. */
static void check_cfg(const struct cfg *c)
{
	struct settings def;
	struct guard_settings g;
	unsigned total = 0;
	int scan = 0;

	require(c->nports >= 1 && c->nports <= CFG_MAX_PORTS);
	for (unsigned i = 0; i < c->nports; i++)
		check_port(c, i, &total, &scan);
	require(c->series >= 1);
	require(total <= MAX_BATTERIES);
	if (!scan)
		require(total % c->series == 0);
	require(c->noutputs <= CFG_MAX_OUTPUTS);
	for (unsigned i = 0; i < c->noutputs; i++) {
		check_cfg_text(c->outputs[i].name, sizeof(c->outputs[i].name),
			       1);
		require(c->outputs[i].function <= CFG_OUT_STATUS_LED);
		require(cfg_output_function_name(c->outputs[i].function) !=
			NULL);
	}
	require(c->log_level >= LOG_ERR && c->log_level <= LOG_DEBUG);
	check_cfg_text(c->socket_path, sizeof(c->socket_path), 1);
	check_cfg_text(c->state_dir, sizeof(c->state_dir), 1);
	check_cfg_text(c->dry_run_dir, sizeof(c->dry_run_dir), 0);
	check_cfg_text(c->admin_group, sizeof(c->admin_group), 0);
	settings_default(&def);
	settings_to_guard(&def, &c->protection, &g);
	require(guard_settings_check(&g, NULL, 0) == 0);
	require(settings_check(&def, &c->protection, NULL, 0) == 0);
}

/* The error stream: n lines, each starting with "NAME:". */
static void check_errors(const char *errs, size_t len, int n, const char *name)
{
	size_t nl = strlen(name);
	int lines = 0;

	require(n >= 0);
	require(strlen(errs) == len);
	for (const char *p = errs; *p; lines++) {
		const char *end = strchr(p, '\n');

		require(end != NULL);
		require(strncmp(p, name, nl) == 0 && p[nl] == ':');
		p = end + 1;
	}
	require(lines == n);
}

struct result {
	int n;
	char *errs;
	size_t len;
	struct cfg *c;
};

static void load(struct result *r, const char *name, const char *path,
		 const char *text)
{
	FILE *f = open_memstream(&r->errs, &r->len);
	struct cfg *orig = malloc(sizeof(*orig));

	require(f != NULL && orig != NULL);
	r->c = malloc(sizeof(*r->c));
	require(r->c != NULL);
	memset(r->c, 0xa5, sizeof(*r->c));
	memcpy(orig, r->c, sizeof(*orig));
	r->n = path ? cfg_load(r->c, path, f)
		    : cfg_load_string(r->c, name, text, f);
	require(fclose(f) == 0);
	check_errors(r->errs, r->len, r->n, name);
	if (r->n == 0)
		check_cfg(r->c);
	else
		require(memcmp(orig, r->c, sizeof(*orig)) == 0);
	free(orig);
}

static void done(struct result *r)
{
	free(r->errs);
	free(r->c);
}

static int memfd = -1;
static char memfd_path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result file, str;
	char *text;

	if (memfd < 0) {
		memfd = memfd_create("fuzz_cfg", MFD_CLOEXEC);
		require(memfd >= 0);
		snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d",
			 memfd);
	}
	/* The whole input as a file. */
	require(ftruncate(memfd, 0) == 0);
	require(pwrite(memfd, data, size, 0) == (ssize_t)size);
	load(&file, memfd_path, memfd_path, NULL);

	/* The text up to the first NUL, under the same name. */
	text = malloc(size + 1);
	require(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	load(&str, memfd_path, NULL, text);
	if (memchr(data, '\0', size) == NULL) {
		require(str.n == file.n);
		require(str.len == file.len &&
			memcmp(str.errs, file.errs, str.len) == 0);
	}
	done(&file);
	done(&str);
	free(text);
	return 0;
}
