/* SPDX-License-Identifier: MIT */
/*
 * outputs.c - the output functions over the gpio seam: which logical value
 * each configured line gets, LED blinking, writing only on change, and the
 * safe state. See outputs.h for the truth tables and what a line does when
 * the process exits.
 */
#include "outputs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* The kernel keeps 31 characters of a consumer label. */
#define CONSUMER_LEN 32

struct output {
	const struct cfg_output *cfg;
	struct gpio_line *line;
	char label[2 * GPIO_NAME_LEN + 16]; /* gpio_spec_label() */
	bool active;                        /* what the line is set to */
	bool failing;                       /* the last write failed */
	/* What output_report() has to say after this round of writes. */
	enum { REPORT_NONE, REPORT_FAILED, REPORT_RECOVERED } report;
	int err; /* errno of the failed write */
};

struct outputs {
	const struct gpio_ops *ops;
	unsigned n;
	struct output out[CFG_MAX_OUTPUTS];
};

static void consumer_name(const struct cfg_output *c, char *buf, size_t n)
{
	/* "smallbmsd:load": gpioinfo then says which output holds a line.
	 * 10 + 21 characters: what the kernel keeps of a label. */
	snprintf(buf, n, "smallbmsd:%.21s", c->name);
}

static void release_all(struct outputs *o)
{
	for (unsigned i = 0; i < o->n; i++) {
		o->ops->release(o->out[i].line);
		o->out[i].line = NULL;
	}
}

struct outputs *outputs_new(const struct gpio_ops *ops, const struct cfg *cfg,
			    char *err, size_t errlen)
{
	struct outputs *o = calloc(1, sizeof(*o));
	char consumer[CONSUMER_LEN], why[512];

	if (!o) {
		snprintf(err, errlen, "outputs: out of memory");
		return NULL;
	}
	o->ops = ops;
	for (unsigned i = 0; i < cfg->noutputs; i++) {
		struct output *out = &o->out[i];

		out->cfg = &cfg->outputs[i];
		gpio_spec_label(&out->cfg->line, out->label,
				sizeof(out->label));
		consumer_name(out->cfg, consumer, sizeof(consumer));
		why[0] = '\0';
		out->line = ops->request_output(&out->cfg->line, consumer,
						false, why, sizeof(why));
		if (!out->line) {
			snprintf(err, errlen, "output %s: %s", out->cfg->name,
				 why);
			release_all(o);
			free(o);
			return NULL;
		}
		o->n = i + 1;
	}
	return o;
}

/* on during the first half of every period of 2 * half_us. */
static bool blink_on(uint64_t now_us, uint64_t half_us)
{
	return (now_us / half_us) % 2 == 0;
}

static uint64_t next_edge(uint64_t now_us, uint64_t half_us)
{
	return (now_us / half_us + 1) * half_us;
}

/* The logical value of one output; *wake lowered if it blinks. */
static bool output_value(enum cfg_output_function f,
			 const struct outputs_state *s, uint64_t now_us,
			 uint64_t *wake)
{
	uint64_t half = 0;
	bool v;

	switch (f) {
	case CFG_OUT_LOAD:
		return s->enabled && s->allow_discharge;
	case CFG_OUT_CHARGE:
		return s->enabled && s->allow_charge;
	case CFG_OUT_PREALARM:
		return s->enabled && s->prealarm_line;
	case CFG_OUT_LOAD_AND_CHARGE:
		return s->enabled && s->allow_discharge && s->allow_charge;
	case CFG_OUT_ERROR_LED:
		if (s->alarm)
			return true;
		if (!s->warning)
			return false;
		half = OUTPUTS_ERROR_BLINK_US;
		break;
	case CFG_OUT_STATUS_LED:
		if (s->enabled && s->healthy && s->allow_charge &&
		    s->allow_discharge)
			return true;
		half = OUTPUTS_STATUS_BLINK_US;
		break;
	default:
		return false; /* unknown function: never drive */
	}
	v = blink_on(now_us, half);
	if (next_edge(now_us, half) < *wake)
		*wake = next_edge(now_us, half);
	return v;
}

/* Write one line if its value changes. Nothing is logged here: every
 * line is written first (a journal write can take milliseconds), then
 * output_report() tells what failed or recovered, once per change. */
static void output_set(struct outputs *o, struct output *out, bool active)
{
	if (out->active == active && !out->failing)
		return;
	if (o->ops->set(out->line, active) < 0) {
		if (!out->failing) {
			out->report = REPORT_FAILED;
			out->err = errno;
		}
		out->failing = true;
		return;
	}
	if (out->failing)
		out->report = REPORT_RECOVERED;
	out->failing = false;
	out->active = active;
}

static void output_report(struct output *out, bool active)
{
	if (out->report == REPORT_FAILED)
		log_err("output %s (%s): cannot set it %s: %s", out->cfg->name,
			out->label, active ? "active" : "inactive",
			strerror(out->err));
	else if (out->report == REPORT_RECOVERED)
		log_notice("output %s (%s): set %s again", out->cfg->name,
			   out->label, active ? "active" : "inactive");
	out->report = REPORT_NONE;
}

uint64_t outputs_apply(struct outputs *o, const struct outputs_state *s,
		       uint64_t now_us)
{
	uint64_t wake = OUTPUTS_NO_WAKEUP;
	bool want[CFG_MAX_OUTPUTS];

	for (unsigned i = 0; i < o->n; i++) {
		want[i] =
			output_value(o->out[i].cfg->function, s, now_us, &wake);
		output_set(o, &o->out[i], want[i]);
	}
	for (unsigned i = 0; i < o->n; i++)
		output_report(&o->out[i], want[i]);
	return wake;
}

void outputs_safe(struct outputs *o)
{
	for (unsigned i = 0; i < o->n; i++)
		output_set(o, &o->out[i], false);
	for (unsigned i = 0; i < o->n; i++)
		output_report(&o->out[i], false);
}

json_t *outputs_json(const struct outputs *o)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < o->n; i++) {
		const struct output *out = &o->out[i];

		json_array_append_new(
			a,
			json_pack("{s:s, s:s, s:s, s:b}", "name",
				  out->cfg->name, "function",
				  cfg_output_function_name(out->cfg->function),
				  "line", out->label, "active", out->active));
	}
	return a;
}

unsigned outputs_count(const struct outputs *o)
{
	return o->n;
}

bool outputs_active(const struct outputs *o, unsigned i)
{
	return i < o->n && o->out[i].active;
}

void outputs_free(struct outputs *o)
{
	if (!o)
		return;
	outputs_safe(o);
	release_all(o);
	free(o);
}

int outputs_safe_state(const struct gpio_ops *ops, const struct cfg *cfg,
		       FILE *out)
{
	char consumer[CONSUMER_LEN], label[2 * GPIO_NAME_LEN + 16], why[512];
	int ret = 0;

	for (unsigned i = 0; i < cfg->noutputs; i++) {
		const struct cfg_output *c = &cfg->outputs[i];
		struct gpio_line *l;

		gpio_spec_label(&c->line, label, sizeof(label));
		consumer_name(c, consumer, sizeof(consumer));
		why[0] = '\0';
		l = ops->request_output(&c->line, consumer, false, why,
					sizeof(why));
		if (!l) {
			fprintf(out, "output %s (%s): FAILED: %s\n", c->name,
				label, why);
			ret = -1;
			continue;
		}
		ops->release(l);
		fprintf(out, "output %s (%s): inactive (not allowed)\n",
			c->name, label);
	}
	return ret;
}
