/* SPDX-License-Identifier: MIT */
/*
 * sim_line.c - one simulated line (see sim_line.h).
 */
#include "sim_line.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum tx_kind { TX_ANSWER, TX_GARBAGE, TX_CORRUPT };

static const char *const kind_names[] = {"answer", "garbage", "corrupt"};

/* An answer waiting for its battery's delay. */
struct pending {
	struct pending *next;
	uint64_t due; /* CLOCK_MONOTONIC, us */
	unsigned battery;
	enum tx_kind kind;
	size_t len;
	uint8_t buf[SIM_MAX_FRAME];
};

struct sim_line {
	struct sim_line_cfg cfg;
	struct sim_link *link;
	struct sim_proto *proto;
	sd_event *ev;
	sd_event_source *timer;
	sd_event_source *tick; /* the protocol's own traffic (a master) */
	struct pending *queue; /* sorted by due, FIFO among equals */
	uint64_t rng;
	size_t rx_bytes; /* received since the last answer (wire timing) */
};

uint64_t sim_rand_seed(uint64_t seed)
{
	/* splitmix64 step: spreads small seeds, never yields 0 in practice */
	uint64_t z = seed + 0x9E3779B97F4A7C15ull;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	return z ? z : 1;
}

uint64_t sim_rand_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

static void log_bytes(const struct sim_line *l, const char *what,
		      const uint8_t *b, size_t n)
{
	char hex[3 * SIM_MAX_FRAME + 1];
	size_t o = 0;

	if (!l->cfg.verbose)
		return;
	for (size_t i = 0; i < n && o + 4 <= sizeof(hex); i++)
		o += (size_t)snprintf(hex + o, sizeof(hex) - o, " %02X", b[i]);
	hex[o] = '\0';
	fprintf(stderr, "bmssim: line %u: %s:%s\n", l->cfg.number, what, hex);
}

/* After the write: the time its last byte left (a pty delivers at once). */
static void tx_log(struct sim_line *l, const struct pending *p)
{
	struct timespec ts;

	if (!l->cfg.tx_log)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(l->cfg.tx_log, "%lld %u %u ",
		(long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, l->cfg.number,
		l->cfg.bats[p->battery]->id);
	for (size_t i = 0; i < p->len; i++)
		fprintf(l->cfg.tx_log, "%02x", p->buf[i]);
	fputc('\n', l->cfg.tx_log);
}

static void transmit(struct sim_line *l, const struct pending *p)
{
	struct sim_comm *c = &l->cfg.bats[p->battery]->comm;
	ssize_t n = sim_link_send(l->link, p->buf, p->len);

	if (n != (ssize_t)p->len) {
		fprintf(stderr, "bmssim: line %u: %s lost: %s\n", l->cfg.number,
			kind_names[p->kind],
			n < 0 ? strerror(errno) : "short write");
		return;
	}
	log_bytes(l, kind_names[p->kind], p->buf, p->len);
	tx_log(l, p);
	if (p->kind == TX_GARBAGE)
		c->garbage_sent++;
	else if (p->kind == TX_CORRUPT)
		c->corrupt_sent++;
	else
		c->answered++;
	l->cfg.hooks.changed(l->cfg.hooks.ctx);
}

static void arm(struct sim_line *l)
{
	if (!l->queue) {
		sd_event_source_set_enabled(l->timer, SD_EVENT_OFF);
		return;
	}
	sd_event_source_set_time(l->timer, l->queue->due);
	sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *data)
{
	struct sim_line *l = data;
	uint64_t now;

	sd_event_now(l->ev, CLOCK_MONOTONIC, &now);
	while (l->queue && l->queue->due <= now) {
		struct pending *p = l->queue;

		l->queue = p->next;
		transmit(l, p);
		free(p);
	}
	arm(l);
	return 0;
}

static void enqueue(struct sim_line *l, struct pending *p)
{
	struct pending **pp = &l->queue;

	while (*pp && (*pp)->due <= p->due)
		pp = &(*pp)->next;
	p->next = *pp;
	*pp = p;
	arm(l);
}

/* Replace the answer by 1..len random bytes. */
static void make_garbage(struct sim_line *l, struct pending *p)
{
	size_t n = 1 + (size_t)(sim_rand_next(&l->rng) % p->len);

	for (size_t i = 0; i < n; i++)
		p->buf[i] = (uint8_t)(sim_rand_next(&l->rng) >> 56);
	p->len = n;
	p->kind = TX_GARBAGE;
}

/* What the battery does with one answer: the fault injection point. */
static void shape(struct sim_line *l, struct sim_comm *c, struct pending *p)
{
	if (c->garbage_left) {
		c->garbage_left--;
		make_garbage(l, p);
	} else if (c->corrupt_left) {
		c->corrupt_left--;
		l->cfg.proto->corrupt(p->buf, p->len);
		p->kind = TX_CORRUPT;
	}
}

static void on_answer(void *ctx, unsigned battery, const uint8_t *frame,
		      size_t len)
{
	struct sim_line *l = ctx;
	struct sim_comm *c = &l->cfg.bats[battery]->comm;
	struct pending *p;
	uint64_t now, wire_us;
	size_t rx = l->rx_bytes;

	l->rx_bytes = 0; /* the request this answers (or does not) */
	c->requests++;
	if (c->silent || len == 0 || len > SIM_MAX_FRAME) {
		if (l->cfg.verbose)
			fprintf(stderr, "bmssim: line %u: battery %u silent\n",
				l->cfg.number, l->cfg.bats[battery]->id);
		l->cfg.hooks.changed(l->cfg.hooks.ctx);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		fprintf(stderr, "bmssim: line %u: out of memory\n",
			l->cfg.number);
		return;
	}
	p->battery = battery;
	p->kind = TX_ANSWER;
	p->len = len;
	memcpy(p->buf, frame, len);
	shape(l, c, p);
	wire_us = l->cfg.baud ? (uint64_t)(rx + p->len) * 10u * 1000000u /
					l->cfg.baud
			      : 0;
	if (c->delay_ms == 0 && wire_us == 0 && !l->queue) {
		transmit(l, p);
		free(p);
		return;
	}
	sd_event_now(l->ev, CLOCK_MONOTONIC, &now);
	p->due = now + (uint64_t)c->delay_ms * 1000u + wire_us;
	enqueue(l, p);
}

/* The echo goes out at once, ahead of any answer to these bytes. */
static void echo(struct sim_line *l, const uint8_t *buf, size_t len)
{
	ssize_t n = sim_link_send(l->link, buf, len);

	if (n != (ssize_t)len)
		fprintf(stderr, "bmssim: line %u: echo lost: %s\n",
			l->cfg.number, n < 0 ? strerror(errno) : "short write");
}

/* A sleeping pack (scenario "sleep") does not answer, but its RS485
 * adapter still shows the host its own request. */
static bool line_asleep(const struct sim_line *l)
{
	for (unsigned i = 0; i < l->cfg.nbats; i++)
		if (l->cfg.bats[i]->comm.asleep)
			return true;
	return false;
}

static void on_rx(void *ctx, const uint8_t *buf, size_t len)
{
	struct sim_line *l = ctx;

	log_bytes(l, "rx", buf, len);
	l->rx_bytes += len;
	if (l->cfg.echo || line_asleep(l))
		echo(l, buf, len);
	if (l->cfg.line_baud &&
	    sim_link_host_baud(l->link) != l->cfg.line_baud) {
		if (l->cfg.verbose)
			fprintf(stderr,
				"bmssim: line %u: host at %u baud, not %u: "
				"not heard\n",
				l->cfg.number, sim_link_host_baud(l->link),
				l->cfg.line_baud);
		return;
	}
	l->cfg.hooks.sync(l->cfg.hooks.ctx);
	l->cfg.proto->feed(l->proto, buf, len, on_answer, l);
}

/* The protocol's unrequested traffic: what a bus master sends. */
static int on_tick(sd_event_source *s, uint64_t usec, void *data)
{
	struct sim_line *l = data;

	sd_event_source_set_time(s, usec + l->cfg.proto->tick_ms * 1000ull);
	l->cfg.hooks.sync(l->cfg.hooks.ctx);
	l->cfg.proto->tick(l->proto, on_answer, l);
	return 0;
}

struct sim_line *sim_line_new(const struct sim_line_cfg *cfg,
			      struct sim_link *link)
{
	struct sim_line *l = calloc(1, sizeof(*l));

	if (!l) {
		sim_link_close(link);
		return NULL;
	}
	l->cfg = *cfg;
	l->link = link;
	l->rng = sim_rand_seed(cfg->seed ^ ((uint64_t)cfg->number << 32));
	l->proto = cfg->proto->create(&(struct sim_proto_cfg){
		.bats = cfg->bats,
		.nbats = cfg->nbats,
		.stack = cfg->stack,
		.capture = cfg->capture,
	});
	if (!l->proto) {
		sim_line_free(l);
		return NULL;
	}
	return l;
}

int sim_line_start(struct sim_line *l, sd_event *ev)
{
	int r;

	l->ev = ev;
	r = sd_event_add_time(ev, &l->timer, CLOCK_MONOTONIC, 0, 1000, on_timer,
			      l);
	if (r < 0)
		return r;
	r = sd_event_source_set_enabled(l->timer, SD_EVENT_OFF);
	if (r < 0)
		return r;
	if (l->cfg.proto->tick && l->cfg.proto->tick_ms) {
		uint64_t now;

		sd_event_now(ev, CLOCK_MONOTONIC, &now);
		r = sd_event_add_time(ev, &l->tick, CLOCK_MONOTONIC,
				      now + l->cfg.proto->tick_ms * 1000ull,
				      1000, on_tick, l);
		if (r < 0)
			return r;
		r = sd_event_source_set_enabled(l->tick, SD_EVENT_ON);
		if (r < 0)
			return r;
	}
	return sim_link_start(l->link, ev, on_rx, l);
}

const struct sim_link *sim_line_link(const struct sim_line *l)
{
	return l->link;
}

void sim_line_free(struct sim_line *l)
{
	if (!l)
		return;
	while (l->queue) {
		struct pending *p = l->queue;

		l->queue = p->next;
		free(p);
	}
	l->timer = sd_event_source_disable_unref(l->timer);
	l->tick = sd_event_source_disable_unref(l->tick);
	if (l->proto)
		l->cfg.proto->destroy(l->proto);
	sim_link_close(l->link);
	free(l);
}
