/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for gpio_find.c: the search of every chip for a line name
 * that both libgpiod backends use, against a directory of stand-in chip
 * files and a visit function that plays the chips.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpio_find.h"

static char dir[64];

/* The chips, by file name: which of their lines carry which names. */
struct chip_play {
	const char *file;
	const char *names[4]; /* line offset -> name (NULL: unnamed) */
	bool unopenable;
};

struct play {
	const struct chip_play *chips;
	size_t n;
	char visited[8][32]; /* file names, in visit order */
	unsigned nvisited;
	const char *kept; /* the chip the backend kept open */
	unsigned open;    /* chips open now (kept ones) */
};

static int visit(struct gpio_find *f, const char *path, void *ctx)
{
	struct play *p = ctx;
	const char *file = strrchr(path, '/') + 1;

	ck_assert_uint_lt(p->nvisited, 8);
	snprintf(p->visited[p->nvisited++], 32, "%s", file);
	for (size_t i = 0; i < p->n; i++) {
		const struct chip_play *c = &p->chips[i];
		bool keep = false;

		if (strcmp(c->file, file) != 0)
			continue;
		if (c->unopenable) {
			errno = EACCES;
			return -1;
		}
		for (unsigned off = 0; off < 4; off++) {
			if (c->names[off] &&
			    strcmp(c->names[off], f->name) == 0 &&
			    gpio_find_match(f, c->file, off))
				keep = true;
		}
		if (keep) {
			p->kept = c->file;
			p->open++;
		}
		return 0;
	}
	ck_abort_msg("visit of an unknown chip %s", path);
	return -1;
}

static void touch(const char *name)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fclose(fp);
}

/* A stand-in file per chip, and one that is not a chip (never visited). */
static void make_chips(const struct chip_play *chips, size_t n)
{
	snprintf(dir, sizeof(dir), "/tmp/test_gpio_find.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (size_t i = 0; i < n; i++)
		touch(chips[i].file);
	touch("ttyUSB0");
}

static void remove_chips(const struct chip_play *chips, size_t n)
{
	char path[128];

	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, chips[i].file);
		ck_assert_int_eq(unlink(path), 0);
	}
	snprintf(path, sizeof(path), "%s/ttyUSB0", dir);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}

static const struct chip_play pi_chips[] = {
	{"gpiochip10", {"X0", NULL, "DUP", NULL}, false},
	{"gpiochip0", {"GPIO0", "GPIO1", "GPIO2", "GPIO17"}, false},
	{"gpiochip2", {NULL, "DUP", NULL, NULL}, false},
	{"gpiochip1", {NULL, NULL, NULL, NULL}, true},
};
#define NPI (sizeof(pi_chips) / sizeof(pi_chips[0]))

START_TEST(found_once_in_numeric_order)
{
	struct play p = {.chips = pi_chips, .n = NPI};
	struct gpio_find f;
	char err[256] = "";

	make_chips(pi_chips, NPI);
	ck_assert(gpio_find_by_name(&f, dir, "GPIO17", visit, &p, err,
				    sizeof(err)));
	ck_assert_str_eq(f.chip[0], "gpiochip0");
	ck_assert_uint_eq(f.offset[0], 3);
	ck_assert_str_eq(p.kept, "gpiochip0");
	ck_assert_uint_eq(p.open, 1);
	/* Numeric order (gpiochip2 before gpiochip10), chips only. */
	ck_assert_uint_eq(p.nvisited, 4);
	ck_assert_str_eq(p.visited[0], "gpiochip0");
	ck_assert_str_eq(p.visited[1], "gpiochip1");
	ck_assert_str_eq(p.visited[2], "gpiochip2");
	ck_assert_str_eq(p.visited[3], "gpiochip10");
	ck_assert_uint_eq(f.nchips, 3);
	remove_chips(pi_chips, NPI);
}
END_TEST

START_TEST(name_on_two_chips_is_refused)
{
	struct play p = {.chips = pi_chips, .n = NPI};
	struct gpio_find f;
	char err[256] = "";

	make_chips(pi_chips, NPI);
	ck_assert(!gpio_find_by_name(&f, dir, "DUP", visit, &p, err,
				     sizeof(err)));
	ck_assert_str_eq(err, "line DUP: the name is on gpiochip2 offset 1 "
			      "and on gpiochip10 offset 2: give chip and "
			      "offset instead");
	/* The first match's chip is still the backend's to close. */
	ck_assert_uint_eq(f.matches, 2);
	ck_assert_str_eq(p.kept, "gpiochip2");
	remove_chips(pi_chips, NPI);
}
END_TEST

START_TEST(not_found_names_chips_and_open_errors)
{
	struct play p = {.chips = pi_chips, .n = NPI};
	struct gpio_find f;
	char err[512] = "", want[512];

	make_chips(pi_chips, NPI);
	ck_assert(!gpio_find_by_name(&f, dir, "GPIO99", visit, &p, err,
				     sizeof(err)));
	snprintf(want, sizeof(want),
		 "line GPIO99: no GPIO line has this name (3 chips "
		 "searched); cannot open %s/gpiochip1: %s",
		 dir, strerror(EACCES));
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(p.open, 0);
	remove_chips(pi_chips, NPI);
}
END_TEST

START_TEST(no_chips_at_all)
{
	struct play p = {.chips = pi_chips, .n = 0};
	struct gpio_find f;
	char err[256] = "";

	make_chips(pi_chips, 0);
	ck_assert(!gpio_find_by_name(&f, dir, "GPIO17", visit, &p, err,
				     sizeof(err)));
	ck_assert_str_eq(err, "line GPIO17: no GPIO line has this name (0 "
			      "chips searched)");
	remove_chips(pi_chips, 0);
	ck_assert(!gpio_find_by_name(&f, "/nonexistent", "GPIO17", visit, &p,
				     err, sizeof(err)));
	ck_assert_str_eq(err, "line GPIO17: cannot list /nonexistent: No such "
			      "file or directory");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gpio_find");
	TCase *tc = tcase_create("find");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, found_once_in_numeric_order);
	tcase_add_test(tc, name_on_two_chips_is_refused);
	tcase_add_test(tc, not_found_names_chips_and_open_errors);
	tcase_add_test(tc, no_chips_at_all);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
