/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for gpio_dryrun.c: lines in memory, and lines mirrored as
 * files in a temporary directory (outputs written atomically, inputs
 * watched with inotify, the file holding the physical level).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpio.h"

static const struct gpio_ops *const ops = &gpio_dryrun_ops;
static char dir[64];
static char err[512];

static struct gpio_line_spec spec_name(const char *name, bool active_low)
{
	struct gpio_line_spec s = {.offset = -1, .active_low = active_low};

	snprintf(s.name, sizeof(s.name), "%s", name);
	return s;
}

static struct gpio_line_spec spec_chip(const char *chip, int offset)
{
	struct gpio_line_spec s = {.offset = offset};

	snprintf(s.chip, sizeof(s.chip), "%s", chip);
	return s;
}

static void file_setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_gpio_dryrun.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(gpio_dryrun_set_dir(dir), 0);
}

static void file_teardown(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];

	ck_assert_int_eq(gpio_dryrun_set_dir(NULL), 0);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' &&
		    (!e->d_name[1] || strcmp(e->d_name, "..") == 0))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* Contents of DIR/name; "" when missing. */
static const char *file_text(const char *name)
{
	static char buf[64];
	char path[PATH_MAX];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf[0] = '\0';
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Write DIR/name in place (open, truncate, write, close). */
static void file_write(const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Replace DIR/name by a rename, the way the daemon's own files change. */
static void file_rename(const char *name, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX];

	file_write(".tmp", text);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.tmp", dir);
	ck_assert_int_eq(rename(tmp, path), 0);
}

static void file_remove(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_int_eq(unlink(path), 0);
}

/* Number of entries in the directory (leftover temporary files show). */
static int dir_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 &&
		     strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* Wait until the line's event descriptor is readable (with a deadline). */
static bool wait_readable(struct gpio_line *l, int timeout_ms)
{
	struct pollfd p = {.fd = ops->event_fd(l), .events = POLLIN};

	return poll(&p, 1, timeout_ms) == 1;
}

static bool readable_now(struct gpio_line *l)
{
	return wait_readable(l, 0);
}

/* ---- memory only --------------------------------------------------------- */

START_TEST(memory_output)
{
	struct gpio_line_spec s = spec_name("GPIO17", false);
	struct gpio_line *l =
		ops->request_output(&s, "test", true, err, sizeof(err));
	enum gpio_edge e;

	ck_assert_msg(l != NULL, "%s", err);
	ck_assert_str_eq(ops->name, "dry-run");
	ck_assert_int_eq(ops->get(l), 1);
	ck_assert_int_eq(ops->set(l, false), 0);
	ck_assert_int_eq(ops->get(l), 0);
	ck_assert_int_eq(ops->set(l, true), 0);
	ck_assert_int_eq(ops->get(l), 1);
	ck_assert_int_eq(ops->event_fd(l), -1);
	ck_assert_int_eq(ops->read_event(l, &e), -1);
	ck_assert_int_eq(errno, EPERM);
	ops->release(l);

	/* Requested inactive: inactive from the start. */
	l = ops->request_output(&s, "test", false, err, sizeof(err));
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(ops->get(l), 0);
	ops->release(l);
}
END_TEST

START_TEST(memory_input_is_inactive_and_silent)
{
	struct gpio_line_spec s = spec_name("GPIO22", true);
	struct gpio_line *l = ops->request_input(&s, "test", err, sizeof(err));
	enum gpio_edge e;

	ck_assert_msg(l != NULL, "%s", err);
	ck_assert_int_eq(ops->get(l), 0);
	ck_assert_int_ge(ops->event_fd(l), 0);
	ck_assert(!readable_now(l));
	ck_assert_int_eq(ops->read_event(l, &e), 0);
	ck_assert_int_eq(ops->set(l, true), -1);
	ck_assert_int_eq(errno, EPERM);
	ops->release(l);
}
END_TEST

START_TEST(line_busy_until_released)
{
	struct gpio_line_spec s = spec_name("GPIO17", false);
	struct gpio_line_spec c = spec_chip("/dev/gpiochip0", 4);
	struct gpio_line *a, *b;

	a = ops->request_output(&s, "test", false, err, sizeof(err));
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_null(ops->request_input(&s, "test", err, sizeof(err)));
	ck_assert_str_eq(err, "dry-run: line GPIO17 is busy (already "
			      "requested)");
	b = ops->request_output(&c, "test", false, err, sizeof(err));
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(
		ops->request_output(&c, "test", true, err, sizeof(err)));
	ck_assert_str_eq(err, "dry-run: line gpiochip0-4 is busy (already "
			      "requested)");
	ops->release(a);
	a = ops->request_output(&s, "test", false, err, sizeof(err));
	ck_assert_ptr_nonnull(a);
	ops->release(a);
	ops->release(b);
	ops->release(NULL);
}
END_TEST

START_TEST(bad_line_names)
{
	struct gpio_line_spec s = spec_name(".hidden", false);
	struct gpio_line_spec none = spec_chip("", -1);

	ck_assert_ptr_null(
		ops->request_output(&s, "test", false, err, sizeof(err)));
	ck_assert_str_eq(err, "dry-run: line '.hidden' cannot be used as a "
			      "file name");
	ck_assert_ptr_null(ops->request_input(&none, "test", err, sizeof(err)));
	ck_assert_str_eq(err, "dry-run: line '' cannot be used as a file name");
}
END_TEST

START_TEST(set_dir_errors)
{
	char longdir[5000];

	ck_assert_int_eq(gpio_dryrun_set_dir("/nonexistent/dir"), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(gpio_dryrun_set_dir("/dev/null"), -1);
	ck_assert_int_eq(errno, ENOTDIR);
	memset(longdir, 'a', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	ck_assert_int_eq(gpio_dryrun_set_dir(longdir), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	ck_assert_int_eq(gpio_dryrun_set_dir(NULL), 0);
	ck_assert_int_eq(gpio_dryrun_set_dir(""), 0);
}
END_TEST

/* ---- files --------------------------------------------------------------- */

START_TEST(file_outputs_hold_the_physical_level)
{
	struct gpio_line_spec hi = spec_name("GPIO17", false);
	struct gpio_line_spec lo = spec_name("GPIO27", true);
	struct gpio_line_spec c = spec_chip("/dev/gpiochip1", 12);
	struct gpio_line *a, *b, *d;

	a = ops->request_output(&hi, "test", false, err, sizeof(err));
	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_str_eq(file_text("GPIO17"), "0\n");
	b = ops->request_output(&lo, "test", false, err, sizeof(err));
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(file_text("GPIO27"), "1\n"); /* inactive = high */
	d = ops->request_output(&c, "test", true, err, sizeof(err));
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(file_text("gpiochip1-12"), "1\n");

	ck_assert_int_eq(ops->set(a, true), 0);
	ck_assert_str_eq(file_text("GPIO17"), "1\n");
	ck_assert_int_eq(ops->get(a), 1);
	ck_assert_int_eq(ops->set(b, true), 0);
	ck_assert_str_eq(file_text("GPIO27"), "0\n"); /* active = low */
	ck_assert_int_eq(ops->get(b), 1);
	ck_assert_int_eq(ops->set(b, false), 0);
	ck_assert_str_eq(file_text("GPIO27"), "1\n");
	ck_assert_int_eq(ops->get(b), 0);
	/* Only the three line files: no temporary file is left. */
	ck_assert_int_eq(dir_entries(), 3);

	/* Released: the file keeps the last level. */
	ops->release(a);
	ck_assert_str_eq(file_text("GPIO17"), "1\n");
	ops->release(b);
	ops->release(d);
}
END_TEST

START_TEST(file_output_write_errors)
{
	struct gpio_line_spec s = spec_name("GPIO17", false);
	struct gpio_line *l;
	char want[600];

	l = ops->request_output(&s, "test", true, err, sizeof(err));
	ck_assert_ptr_nonnull(l);
	file_remove("GPIO17");
	ck_assert_int_eq(rmdir(dir), 0);
	/* The directory is gone: a failed set keeps the old value. */
	ck_assert_int_eq(ops->set(l, false), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(ops->get(l), 1);
	ops->release(l);
	s = spec_name("GPIO18", false);
	ck_assert_ptr_null(
		ops->request_output(&s, "test", false, err, sizeof(err)));
	snprintf(want, sizeof(want),
		 "dry-run: cannot write %s/GPIO18: No such file or directory",
		 dir);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(mkdir(dir, 0700), 0); /* for the teardown */
}
END_TEST

START_TEST(file_input_edges)
{
	struct gpio_line_spec s = spec_name("GPIO22", false);
	struct gpio_line *l = ops->request_input(&s, "test", err, sizeof(err));
	enum gpio_edge e = GPIO_EDGE_NONE;

	ck_assert_msg(l != NULL, "%s", err);
	ck_assert_int_eq(ops->get(l), 0); /* missing file: inactive */
	ck_assert(!readable_now(l));

	file_write("GPIO22", "1\n");
	ck_assert(wait_readable(l, 2000));
	ck_assert_int_eq(ops->read_event(l, &e), 1);
	ck_assert_int_eq(e, GPIO_EDGE_RISING);
	ck_assert_int_eq(ops->read_event(l, &e), 0);
	ck_assert(!readable_now(l));
	ck_assert_int_eq(ops->get(l), 1);

	/* The same level again: an event, but no edge. */
	file_write("GPIO22", "1");
	ck_assert(wait_readable(l, 2000));
	ck_assert_int_eq(ops->read_event(l, &e), 0);

	file_rename("GPIO22", "0\n");
	ck_assert(wait_readable(l, 2000));
	ck_assert_int_eq(ops->read_event(l, &e), 1);
	ck_assert_int_eq(e, GPIO_EDGE_FALLING);
	ck_assert_int_eq(ops->get(l), 0);

	file_rename("GPIO22", "1 \n");
	ck_assert(wait_readable(l, 2000));
	ck_assert_int_eq(ops->read_event(l, &e), 1);
	ck_assert_int_eq(e, GPIO_EDGE_RISING);

	/* Removed: inactive again. */
	file_remove("GPIO22");
	ck_assert(wait_readable(l, 2000));
	ck_assert_int_eq(ops->read_event(l, &e), 1);
	ck_assert_int_eq(e, GPIO_EDGE_FALLING);
	ck_assert_int_eq(ops->get(l), 0);

	/* Another line's file is not ours. */
	file_write("GPIO23", "1\n");
	ck_assert(wait_readable(l, 2000));
	ck_assert_int_eq(ops->read_event(l, &e), 0);
	ck_assert(!readable_now(l));
	ops->release(l);
}
END_TEST

START_TEST(file_input_active_low)
{
	struct gpio_line_spec s = spec_name("GPIO22", true);
	struct gpio_line *l;
	enum gpio_edge e = GPIO_EDGE_NONE;

	file_write("GPIO22", "0\n");
	l = ops->request_input(&s, "test", err, sizeof(err));
	ck_assert_msg(l != NULL, "%s", err);
	ck_assert_int_eq(ops->get(l), 1); /* low = active */

	file_write("GPIO22", "1\n");
	ck_assert(wait_readable(l, 2000));
	ck_assert_int_eq(ops->read_event(l, &e), 1);
	ck_assert_int_eq(e, GPIO_EDGE_FALLING);
	ck_assert_int_eq(ops->get(l), 0);

	file_write("GPIO22", "0\n");
	ck_assert(wait_readable(l, 2000));
	ck_assert_int_eq(ops->read_event(l, &e), 1);
	ck_assert_int_eq(e, GPIO_EDGE_RISING);

	/* A missing file is inactive whatever active_low says. */
	file_remove("GPIO22");
	ck_assert(wait_readable(l, 2000));
	ck_assert_int_eq(ops->read_event(l, &e), 1);
	ck_assert_int_eq(e, GPIO_EDGE_FALLING);
	ck_assert_int_eq(ops->get(l), 0);
	ops->release(l);
}
END_TEST

START_TEST(file_input_bad_content)
{
	static const char *const bad[] = {"",     "x\n", "2\n",
					  "10\n", "1x",  " 1\n"};
	struct gpio_line_spec s = spec_name("GPIO22", false);
	struct gpio_line *l;
	enum gpio_edge e;
	char want[600];

	file_write("GPIO22", "yes\n");
	ck_assert_ptr_null(ops->request_input(&s, "test", err, sizeof(err)));
	snprintf(want, sizeof(want),
		 "dry-run: cannot read %s/GPIO22: not \"0\" or \"1\"", dir);
	ck_assert_str_eq(err, want);

	file_write("GPIO22", "1\n");
	l = ops->request_input(&s, "test", err, sizeof(err));
	ck_assert_msg(l != NULL, "%s", err);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		file_write("GPIO22", bad[i]);
		ck_assert(wait_readable(l, 2000));
		ck_assert_int_eq(ops->read_event(l, &e), -1);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_int_eq(ops->get(l), -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	/* Valid again: an edge, although it was "1" before the garbage
	 * (the reader's last news was an error). */
	file_write("GPIO22", "1\n");
	ck_assert(wait_readable(l, 2000));
	ck_assert_int_eq(ops->read_event(l, &e), 1);
	ck_assert_int_eq(e, GPIO_EDGE_RISING);
	ck_assert_int_eq(ops->read_event(l, &e), 0);
	ck_assert_int_eq(ops->get(l), 1);
	ops->release(l);
}
END_TEST

/* An input is watched through its directory, which must exist. */
START_TEST(file_input_missing_dir)
{
	struct gpio_line_spec s = spec_name("GPIO22", false);
	char want[600];

	ck_assert_int_eq(rmdir(dir), 0);
	ck_assert_ptr_null(ops->request_input(&s, "test", err, sizeof(err)));
	snprintf(want, sizeof(want),
		 "dry-run: cannot watch %s: No such file or directory", dir);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
}
END_TEST

static Suite *dryrun_suite(void)
{
	Suite *s = suite_create("gpio_dryrun");
	TCase *mem = tcase_create("memory");
	TCase *file = tcase_create("file");

	tcase_add_test(mem, memory_output);
	tcase_add_test(mem, memory_input_is_inactive_and_silent);
	tcase_add_test(mem, line_busy_until_released);
	tcase_add_test(mem, bad_line_names);
	tcase_add_test(mem, set_dir_errors);
	suite_add_tcase(s, mem);

	tcase_add_checked_fixture(file, file_setup, file_teardown);
	tcase_add_test(file, file_outputs_hold_the_physical_level);
	tcase_add_test(file, file_output_write_errors);
	tcase_add_test(file, file_input_edges);
	tcase_add_test(file, file_input_active_low);
	tcase_add_test(file, file_input_bad_content);
	tcase_add_test(file, file_input_missing_dir);
	suite_add_tcase(s, file);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dryrun_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
