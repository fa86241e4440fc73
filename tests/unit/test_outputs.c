/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for outputs.c on the dry-run backend: the safe state at
 * request time, every function's truth table, LED blinking with an
 * injected clock, writes only on change, outputs_safe, outputs_free and
 * outputs_safe_state. A wrapper around gpio_dryrun_ops (a seam, not a
 * test branch) counts and can fail the writes.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "outputs.h"

#define S 1000000ULL /* one second in microseconds */

/* ---- the counting backend ------------------------------------------------ */

static struct {
	unsigned requests, sets, releases;
	bool requested_active; /* any output requested active */
	bool fail_sets;
	bool released_active;   /* a line was active when released */
	bool fail_first;        /* only the first write fails */
	int log_fd;             /* when >= 0: where stderr is written */
	bool logged_before_set; /* a word was written before a line */
} wrap;

static struct gpio_line *w_request_output(const struct gpio_line_spec *spec,
					  const char *consumer, bool active,
					  char *err, size_t errlen)
{
	wrap.requests++;
	wrap.requested_active |= active;
	return gpio_dryrun_ops.request_output(spec, consumer, active, err,
					      errlen);
}

static int w_set(struct gpio_line *l, bool active)
{
	struct stat st;

	wrap.sets++;
	if (wrap.log_fd >= 0 && fstat(wrap.log_fd, &st) == 0 && st.st_size > 0)
		wrap.logged_before_set = true;
	if (wrap.fail_sets || (wrap.fail_first && wrap.sets == 1)) {
		errno = EIO;
		return -1;
	}
	return gpio_dryrun_ops.set(l, active);
}

static void w_release(struct gpio_line *l)
{
	if (l) {
		wrap.releases++;
		wrap.released_active |= gpio_dryrun_ops.get(l) == 1;
	}
	gpio_dryrun_ops.release(l);
}

static struct gpio_ops wrap_ops;

/* ---- fixture ------------------------------------------------------------- */

static struct cfg cfg;
static struct outputs *outs;
static char err[512];

static void add_output(const char *name, enum cfg_output_function f,
		       const char *line, bool active_low)
{
	struct cfg_output *o = &cfg.outputs[cfg.noutputs++];

	memset(o, 0, sizeof(*o));
	snprintf(o->name, sizeof(o->name), "%s", name);
	o->function = f;
	snprintf(o->line.name, sizeof(o->line.name), "%s", line);
	o->line.offset = -1;
	o->line.active_low = active_low;
}

/* One output per function, in enum order: index = function. */
static void setup(void)
{
	memset(&wrap, 0, sizeof(wrap));
	wrap.log_fd = -1;
	wrap_ops = gpio_dryrun_ops;
	wrap_ops.request_output = w_request_output;
	wrap_ops.set = w_set;
	wrap_ops.release = w_release;
	ck_assert_int_eq(gpio_dryrun_set_dir(NULL), 0);
	log_init("test_outputs", LOG_CRIT); /* failures are expected here */
	memset(&cfg, 0, sizeof(cfg));
	add_output("load", CFG_OUT_LOAD, "GPIO17", false);
	add_output("charge", CFG_OUT_CHARGE, "GPIO27", false);
	add_output("prealarm", CFG_OUT_PREALARM, "GPIO22", false);
	add_output("multiplus", CFG_OUT_LOAD_AND_CHARGE, "GPIO23", false);
	add_output("error", CFG_OUT_ERROR_LED, "GPIO24", false);
	add_output("status", CFG_OUT_STATUS_LED, "GPIO25", false);
	outs = outputs_new(&wrap_ops, &cfg, err, sizeof(err));
	ck_assert_msg(outs != NULL, "%s", err);
}

static void teardown(void)
{
	outputs_free(outs);
	outs = NULL;
}

static bool active(enum cfg_output_function f)
{
	return outputs_active(outs, (unsigned)f);
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(requested_in_the_safe_state)
{
	ck_assert_uint_eq(outputs_count(outs), 6);
	ck_assert_uint_eq(wrap.requests, 6);
	ck_assert(!wrap.requested_active);
	for (unsigned i = 0; i < 6; i++)
		ck_assert(!outputs_active(outs, i));
	ck_assert(!outputs_active(outs, 6)); /* out of range */
	ck_assert_uint_eq(wrap.sets, 0);
}
END_TEST

/* load, charge, prealarm and load-and-charge over all 16 combinations of
 * enabled, allow_charge, allow_discharge and prealarm_line. */
START_TEST(truth_table_control_outputs)
{
	for (unsigned m = 0; m < 16; m++) {
		struct outputs_state s = {
			.enabled = m & 1,
			.allow_charge = m & 2,
			.allow_discharge = m & 4,
			.prealarm_line = m & 8,
		};

		outputs_apply(outs, &s, 0);
		ck_assert_msg(active(CFG_OUT_LOAD) ==
				      (s.enabled && s.allow_discharge),
			      "load, case %u", m);
		ck_assert_msg(active(CFG_OUT_CHARGE) ==
				      (s.enabled && s.allow_charge),
			      "charge, case %u", m);
		ck_assert_msg(active(CFG_OUT_PREALARM) ==
				      (s.enabled && s.prealarm_line),
			      "prealarm, case %u", m);
		ck_assert_msg(active(CFG_OUT_LOAD_AND_CHARGE) ==
				      (s.enabled && s.allow_charge &&
				       s.allow_discharge),
			      "load-and-charge, case %u", m);
	}
}
END_TEST

START_TEST(load_and_charge_needs_both)
{
	struct outputs_state s = {.enabled = true, .allow_charge = true};

	outputs_apply(outs, &s, 0);
	ck_assert(!active(CFG_OUT_LOAD_AND_CHARGE));
	s.allow_discharge = true;
	outputs_apply(outs, &s, 0);
	ck_assert(active(CFG_OUT_LOAD_AND_CHARGE));
	s.allow_charge = false; /* e.g. too cold to charge */
	outputs_apply(outs, &s, 0);
	ck_assert(!active(CFG_OUT_LOAD_AND_CHARGE));
	ck_assert(active(CFG_OUT_LOAD));
	ck_assert(!active(CFG_OUT_CHARGE));
}
END_TEST

START_TEST(error_led_solid_on_alarm)
{
	struct outputs_state s = {.enabled = true,
				  .allow_charge = true,
				  .allow_discharge = true,
				  .healthy = true,
				  .alarm = true,
				  .warning = true};
	static const uint64_t t[] = {0,      1,     499999,          500000,
				     750000, 1 * S, 123 * S + 654321};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* Nothing blinks: the status LED is solid too. */
		ck_assert_uint_eq(outputs_apply(outs, &s, t[i]),
				  OUTPUTS_NO_WAKEUP);
		ck_assert(active(CFG_OUT_ERROR_LED));
		ck_assert(active(CFG_OUT_STATUS_LED));
	}
	s.alarm = s.warning = false;
	ck_assert_uint_eq(outputs_apply(outs, &s, 2 * S), OUTPUTS_NO_WAKEUP);
	ck_assert(!active(CFG_OUT_ERROR_LED));
}
END_TEST

START_TEST(error_led_blinks_on_warning)
{
	struct outputs_state s = {.enabled = true,
				  .allow_charge = true,
				  .allow_discharge = true,
				  .healthy = true,
				  .warning = true};
	static const struct {
		uint64_t now, wake;
		bool on;
	} steps[] = {
		{0, 500000, true},
		{499999, 500000, true},
		{500000, 1000000, false},
		{999999, 1000000, false},
		{1000000, 1500000, true},
		{10 * S + 250000, 10 * S + 500000, true},
		{10 * S + 500001, 11 * S, false},
	};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		ck_assert_uint_eq(outputs_apply(outs, &s, steps[i].now),
				  steps[i].wake);
		ck_assert_msg(active(CFG_OUT_ERROR_LED) == steps[i].on,
			      "step %zu", i);
		ck_assert(active(CFG_OUT_STATUS_LED));
	}
}
END_TEST

START_TEST(status_led)
{
	struct outputs_state good = {.enabled = true,
				     .allow_charge = true,
				     .allow_discharge = true,
				     .healthy = true};
	struct outputs_state s;

	ck_assert_uint_eq(outputs_apply(outs, &good, 1500000),
			  OUTPUTS_NO_WAKEUP);
	ck_assert(active(CFG_OUT_STATUS_LED));

	/* Any one thing missing: slow blink, 1 s on, 1 s off. */
	for (unsigned m = 0; m < 4; m++) {
		s = good;
		s.enabled = m != 0;
		s.healthy = m != 1;
		s.allow_charge = m != 2;
		s.allow_discharge = m != 3;
		ck_assert_uint_eq(outputs_apply(outs, &s, 0), 1 * S);
		ck_assert_msg(active(CFG_OUT_STATUS_LED), "case %u", m);
		ck_assert_uint_eq(outputs_apply(outs, &s, 1500000), 2 * S);
		ck_assert_msg(!active(CFG_OUT_STATUS_LED), "case %u", m);
		ck_assert_uint_eq(outputs_apply(outs, &s, 2 * S), 3 * S);
		ck_assert_msg(active(CFG_OUT_STATUS_LED), "case %u", m);
	}
	/* Both LEDs blinking: the earlier change is the next wakeup. */
	s = good;
	s.healthy = false;
	s.warning = true;
	ck_assert_uint_eq(outputs_apply(outs, &s, 600000), 1 * S);
	ck_assert_uint_eq(outputs_apply(outs, &s, 1 * S), 1500000);
}
END_TEST

START_TEST(writes_only_on_change)
{
	struct outputs_state s = {0};

	outputs_apply(outs, &s, 0);
	/* Everything was requested inactive: only the status LED (blinking,
	 * on at t = 0) changes. */
	ck_assert_uint_eq(wrap.sets, 1);
	outputs_apply(outs, &s, 1);
	ck_assert_uint_eq(wrap.sets, 1);

	s = (struct outputs_state){.enabled = true,
				   .allow_charge = true,
				   .allow_discharge = true,
				   .healthy = true};
	outputs_apply(outs, &s, 2);
	/* load, charge, load-and-charge on; status LED stays on. */
	ck_assert_uint_eq(wrap.sets, 4);
	for (uint64_t t = 3; t < 10 * S; t += 100000)
		outputs_apply(outs, &s, t);
	ck_assert_uint_eq(wrap.sets, 4);

	s.allow_charge = false;
	outputs_apply(outs, &s, 10 * S);
	/* charge and load-and-charge off, status LED starts blinking: on at
	 * t = 10 s, so unchanged. */
	ck_assert_uint_eq(wrap.sets, 6);
	outputs_apply(outs, &s, 11 * S);
	ck_assert_uint_eq(wrap.sets, 7); /* status LED off */
}
END_TEST

START_TEST(failed_write_is_retried)
{
	struct outputs_state s = {.enabled = true, .allow_discharge = true};

	wrap.fail_sets = true;
	outputs_apply(outs, &s, 0);
	ck_assert(!active(CFG_OUT_LOAD)); /* the line did not change */
	ck_assert_uint_eq(wrap.sets, 2);  /* load and status LED tried */
	outputs_apply(outs, &s, 0);
	ck_assert_uint_eq(wrap.sets, 4); /* tried again */
	wrap.fail_sets = false;
	outputs_apply(outs, &s, 0);
	ck_assert(active(CFG_OUT_LOAD));
	ck_assert_uint_eq(wrap.sets, 6);
	outputs_apply(outs, &s, 0);
	ck_assert_uint_eq(wrap.sets, 6);
}
END_TEST

/* Outputs first, words after: with the first write failing, every other
 * line is still written before the failure reaches the log. */
START_TEST(every_line_before_any_word)
{
	struct outputs_state s = {
		.enabled = true, .allow_charge = true, .allow_discharge = true};
	char path[] = "/tmp/test_outputs_log.XXXXXX";
	int saved = dup(STDERR_FILENO), fd = mkstemp(path);
	char text[512] = "";
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(saved, 0);
	unlink(path);
	log_init("test_outputs", LOG_DEBUG);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	wrap.log_fd = fd;
	wrap.fail_first = true;
	outputs_apply(outs, &s, 0);
	dup2(saved, STDERR_FILENO);
	close(saved);
	log_init("test_outputs", LOG_CRIT);
	ck_assert_uint_eq(wrap.sets,
			  4); /* load (failed), charge, MultiPlus, LED */
	ck_assert(!wrap.logged_before_set);
	n = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(text, "output load (GPIO17): cannot set"));
}
END_TEST

START_TEST(safe_sets_everything_inactive)
{
	struct outputs_state s = {.enabled = true,
				  .allow_charge = true,
				  .allow_discharge = true,
				  .prealarm_line = true,
				  .alarm = true,
				  .healthy = true};

	outputs_apply(outs, &s, 0);
	for (unsigned i = 0; i < 6; i++)
		ck_assert_msg(outputs_active(outs, i), "output %u", i);
	outputs_safe(outs);
	for (unsigned i = 0; i < 6; i++)
		ck_assert_msg(!outputs_active(outs, i), "output %u", i);
	ck_assert_uint_eq(wrap.sets, 12);
	outputs_safe(outs); /* already safe: nothing written */
	ck_assert_uint_eq(wrap.sets, 12);
}
END_TEST

START_TEST(free_releases_inactive)
{
	struct outputs_state s = {.enabled = true,
				  .allow_charge = true,
				  .allow_discharge = true,
				  .prealarm_line = true,
				  .warning = true};

	outputs_apply(outs, &s, 0);
	ck_assert(active(CFG_OUT_LOAD));
	outputs_free(outs);
	outs = NULL;
	ck_assert_uint_eq(wrap.releases, 6);
	ck_assert(!wrap.released_active);
}
END_TEST

START_TEST(json_view)
{
	struct outputs_state s = {.enabled = true, .allow_discharge = true};
	json_t *j;
	char *text;

	outputs_apply(outs, &s, 1 * S); /* status LED blinking, off */
	j = outputs_json(outs);
	text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	ck_assert_str_eq(
		text,
		"[{\"name\":\"load\",\"function\":\"load\",\"line\":\"GPIO17\","
		"\"active\":true},"
		"{\"name\":\"charge\",\"function\":\"charge\",\"line\":"
		"\"GPIO27\",\"active\":false},"
		"{\"name\":\"prealarm\",\"function\":\"prealarm\",\"line\":"
		"\"GPIO22\",\"active\":false},"
		"{\"name\":\"multiplus\",\"function\":\"load-and-charge\","
		"\"line\":\"GPIO23\",\"active\":false},"
		"{\"name\":\"error\",\"function\":\"error-led\",\"line\":"
		"\"GPIO24\",\"active\":false},"
		"{\"name\":\"status\",\"function\":\"status-led\",\"line\":"
		"\"GPIO25\",\"active\":false}]");
	free(text);
	json_decref(j);
}
END_TEST

START_TEST(json_chip_and_offset)
{
	struct cfg c;
	struct outputs *o;
	json_t *j;
	char *text;

	memset(&c, 0, sizeof(c));
	c.noutputs = 1;
	snprintf(c.outputs[0].name, CFG_NAME_LEN, "relay");
	c.outputs[0].function = CFG_OUT_CHARGE;
	snprintf(c.outputs[0].line.chip, GPIO_NAME_LEN, "/dev/gpiochip4");
	c.outputs[0].line.offset = 7;
	o = outputs_new(&wrap_ops, &c, err, sizeof(err));
	ck_assert_msg(o != NULL, "%s", err);
	j = outputs_json(o);
	text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	ck_assert_str_eq(text, "[{\"name\":\"relay\",\"function\":\"charge\","
			       "\"line\":\"gpiochip4:7\",\"active\":false}]");
	free(text);
	json_decref(j);
	outputs_free(o);
}
END_TEST

/* A line that cannot be requested: the error names the output, and the
 * lines already requested are released. */
START_TEST(request_failure_releases_the_others)
{
	struct cfg c = cfg;
	struct outputs *o;

	/* The fixture holds every line of cfg: the first one is busy. */
	o = outputs_new(&wrap_ops, &c, err, sizeof(err));
	ck_assert_ptr_null(o);
	ck_assert_str_eq(err, "output load: dry-run: line GPIO17 is busy "
			      "(already requested)");
	outputs_free(outs);
	outs = NULL;

	snprintf(c.outputs[3].line.name, GPIO_NAME_LEN, "GPIO17");
	wrap.releases = 0;
	o = outputs_new(&wrap_ops, &c, err, sizeof(err));
	ck_assert_ptr_null(o);
	ck_assert_str_eq(err, "output multiplus: dry-run: line GPIO17 is "
			      "busy (already requested)");
	ck_assert_uint_eq(wrap.releases, 3);
	/* All free again. */
	snprintf(c.outputs[3].line.name, GPIO_NAME_LEN, "GPIO23");
	outs = outputs_new(&wrap_ops, &c, err, sizeof(err));
	ck_assert_msg(outs != NULL, "%s", err);
}
END_TEST

/* ---- safe state (files) -------------------------------------------------- */

static char dir[64];

static void file_setup(void)
{
	memset(&wrap, 0, sizeof(wrap));
	wrap.log_fd = -1;
	wrap_ops = gpio_dryrun_ops;
	snprintf(dir, sizeof(dir), "/tmp/test_outputs.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(gpio_dryrun_set_dir(dir), 0);
	log_init("test_outputs", LOG_CRIT);
	memset(&cfg, 0, sizeof(cfg));
	add_output("load", CFG_OUT_LOAD, "GPIO17", false);
	add_output("charge", CFG_OUT_CHARGE, "GPIO27", true);
	add_output("led", CFG_OUT_ERROR_LED, "GPIO24", false);
}

static void file_teardown(void)
{
	static const char *const names[] = {"GPIO17", "GPIO27", "GPIO24"};
	char path[PATH_MAX];

	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	ck_assert_int_eq(rmdir(dir), 0);
	gpio_dryrun_set_dir(NULL);
}

static const char *file_text(const char *name)
{
	static char buf[64];
	char path[PATH_MAX];
	ssize_t n;
	int fd;

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

/* Run outputs_safe_state and return what it printed. */
static char *safe_state(int *ret)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	*ret = outputs_safe_state(&wrap_ops, &cfg, f);
	fclose(f);
	return text;
}

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

/* In file mode, the levels on the "pins": requested inactive, driven
 * active, and inactive again when freed. */
START_TEST(files_show_the_safe_state)
{
	struct outputs_state s = {.enabled = true,
				  .allow_charge = true,
				  .allow_discharge = true,
				  .alarm = true};
	struct outputs *o = outputs_new(&wrap_ops, &cfg, err, sizeof(err));

	ck_assert_msg(o != NULL, "%s", err);
	ck_assert_str_eq(file_text("GPIO17"), "0\n");
	ck_assert_str_eq(file_text("GPIO27"), "1\n"); /* active low */
	ck_assert_str_eq(file_text("GPIO24"), "0\n");
	outputs_apply(o, &s, 0);
	ck_assert_str_eq(file_text("GPIO17"), "1\n");
	ck_assert_str_eq(file_text("GPIO27"), "0\n");
	ck_assert_str_eq(file_text("GPIO24"), "1\n");
	outputs_free(o);
	ck_assert_str_eq(file_text("GPIO17"), "0\n");
	ck_assert_str_eq(file_text("GPIO27"), "1\n");
	ck_assert_str_eq(file_text("GPIO24"), "0\n");
}
END_TEST

START_TEST(safe_state_after_a_crash)
{
	char *text;
	int ret;

	/* What a crashed daemon can leave behind: every line active. */
	file_write("GPIO17", "1\n");
	file_write("GPIO27", "0\n");
	file_write("GPIO24", "1\n");
	text = safe_state(&ret);
	ck_assert_int_eq(ret, 0);
	ck_assert_str_eq(text, "output load (GPIO17): inactive (not allowed)\n"
			       "output charge (GPIO27): inactive (not "
			       "allowed)\n"
			       "output led (GPIO24): inactive (not allowed)\n");
	free(text);
	ck_assert_str_eq(file_text("GPIO17"), "0\n");
	ck_assert_str_eq(file_text("GPIO27"), "1\n");
	ck_assert_str_eq(file_text("GPIO24"), "0\n");
	/* Every line was released again. */
	text = safe_state(&ret);
	ck_assert_int_eq(ret, 0);
	free(text);
}
END_TEST

START_TEST(safe_state_reports_each_failure)
{
	struct gpio_line_spec busy = {.name = "GPIO27", .offset = -1};
	struct gpio_line *held;
	char *text;
	int ret;

	held = gpio_dryrun_ops.request_output(&busy, "other", true, err,
					      sizeof(err));
	ck_assert_ptr_nonnull(held);
	text = safe_state(&ret);
	ck_assert_int_eq(ret, -1);
	ck_assert_str_eq(text, "output load (GPIO17): inactive (not allowed)\n"
			       "output charge (GPIO27): FAILED: dry-run: line "
			       "GPIO27 is busy (already requested)\n"
			       "output led (GPIO24): inactive (not allowed)\n");
	free(text);
	gpio_dryrun_ops.release(held);
	ck_assert_str_eq(file_text("GPIO17"), "0\n");
	ck_assert_str_eq(file_text("GPIO24"), "0\n");
}
END_TEST

static Suite *outputs_suite(void)
{
	Suite *s = suite_create("outputs");
	TCase *tc = tcase_create("functions");
	TCase *safe = tcase_create("safe_state");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, requested_in_the_safe_state);
	tcase_add_test(tc, truth_table_control_outputs);
	tcase_add_test(tc, load_and_charge_needs_both);
	tcase_add_test(tc, error_led_solid_on_alarm);
	tcase_add_test(tc, error_led_blinks_on_warning);
	tcase_add_test(tc, status_led);
	tcase_add_test(tc, writes_only_on_change);
	tcase_add_test(tc, failed_write_is_retried);
	tcase_add_test(tc, every_line_before_any_word);
	tcase_add_test(tc, safe_sets_everything_inactive);
	tcase_add_test(tc, free_releases_inactive);
	tcase_add_test(tc, json_view);
	tcase_add_test(tc, json_chip_and_offset);
	tcase_add_test(tc, request_failure_releases_the_others);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(safe, file_setup, file_teardown);
	tcase_add_test(safe, files_show_the_safe_state);
	tcase_add_test(safe, safe_state_after_a_crash);
	tcase_add_test(safe, safe_state_reports_each_failure);
	suite_add_tcase(s, safe);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(outputs_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
