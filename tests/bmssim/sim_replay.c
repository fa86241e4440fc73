/* SPDX-License-Identifier: MIT */
/*
 * sim_replay.c - the replay responder (see sim_replay.h).
 */
#include "sim_replay.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_daly.h"
#include "sim_jbd.h"
#include "sim_jk.h"
#include "sim_jkpb.h"
#include "sim_pylon.h"
#include "sim_seplos3.h"

#define RX_CAP 256

struct replay_proto {
	struct sim_proto base; /* first: the line only sees this */
	const struct sim_capture *cap;
	struct sim_replay_id *ids; /* one per captured pair */
	unsigned *battery;         /* one per captured pair */
	size_t *served;            /* per pair: times its identity was asked
				      (kept at the identity's first pair) */
	uint8_t rx[RX_CAP];
	size_t rxlen;
};

/* One scan step over buf: the bytes to drop, *found when *id is set. */
static size_t scan(enum sim_family f, const uint8_t *buf, size_t len,
		   int *found, unsigned *adr, struct sim_replay_id *id)
{
	size_t drop;

	if (f == SIM_FAMILY_JBD) {
		uint8_t reg = 0;

		drop = sim_jbd_scan(buf, len, found, &reg);
		*id = (struct sim_replay_id){.address = 0, .command = reg};
		*adr = 0;
	} else if (f == SIM_FAMILY_JKPB) {
		uint8_t reg = 0;
		unsigned a = 0;

		drop = sim_jkpb_scan(buf, len, found, &a, &reg);
		*id = (struct sim_replay_id){.address = a, .command = reg};
		*adr = a;
	} else if (f == SIM_FAMILY_MODBUS) {
		unsigned a = 0, start = 0;
		uint8_t fc = 0;

		drop = sim_seplos3_scan(buf, len, found, &a, &fc, &start);
		/* a block by its first register's high byte (0x1000, 0x1100,
		 * 0x1200 coils...): another count is the same question */
		*id = (struct sim_replay_id){.address = a,
					     .command = (uint8_t)(start >> 8)};
		*adr = a;
	} else if (f == SIM_FAMILY_DALY) {
		uint8_t did = 0;

		drop = sim_daly_scan(buf, len, found, &did);
		*id = (struct sim_replay_id){.address = 0, .command = did};
		*adr = 0;
	} else if (f == SIM_FAMILY_JK) {
		uint8_t cmd = 0;

		drop = sim_jk_scan(buf, len, found, &cmd);
		*id = (struct sim_replay_id){.address = 0, .command = cmd};
		*adr = 0;
	} else {
		struct sim_pylon_req r;

		drop = sim_pylon_scan(buf, len, found, &r);
		if (*found) {
			*adr = r.adr;
			id->address = sim_pylon_is_stack(&r) ? SIM_REPLAY_STACK
							     : r.adr;
			id->command = r.cid2;
		}
	}
	return drop;
}

int sim_replay_identify(enum sim_family f, const uint8_t *req, size_t len,
			unsigned *header_address, struct sim_replay_id *id)
{
	int found;

	if (scan(f, req, len, &found, header_address, id) != len || !found)
		return -1;
	/* Exactly one request: nothing before it (a JBD scan skips noise). */
	if (f == SIM_FAMILY_MODBUS)
		return len == SIM_SEPLOS3_REQ ? 0 : -1;
	if (f == SIM_FAMILY_JKPB ? req[1] != 0x10
				 : req[0] != (f == SIM_FAMILY_JBD    ? 0xDD
					      : f == SIM_FAMILY_JK   ? 0x4E
					      : f == SIM_FAMILY_DALY ? 0xA5
								     : '~'))
		return -1;
	return 0;
}

static bool same(const struct sim_replay_id *a, const struct sim_replay_id *b)
{
	return a->address == b->address && a->command == b->command;
}

static int add_address(unsigned *addr, unsigned *n, unsigned max, unsigned a)
{
	unsigned i = 0;

	while (i < *n && addr[i] < a)
		i++;
	if (i < *n && addr[i] == a)
		return 0;
	if (*n >= max)
		return -1;
	memmove(addr + i + 1, addr + i, (*n - i) * sizeof(*addr));
	addr[i] = a;
	(*n)++;
	return 0;
}

int sim_replay_addresses(const struct sim_capture *c, unsigned *addr,
			 unsigned max, char *err, size_t errlen)
{
	unsigned n = 0;

	for (size_t i = 0; i < c->n; i++) {
		struct sim_replay_id id;
		unsigned a;

		if (sim_replay_identify(c->family, c->pairs[i].req,
					c->pairs[i].reqlen, &a, &id) < 0) {
			snprintf(err, errlen,
				 "%u: not a valid %s request (checksum, "
				 "length?)",
				 c->pairs[i].line, sim_family_name(c->family));
			return -1;
		}
		if (add_address(addr, &n, max, a) < 0) {
			snprintf(err, errlen, "%u: more than %u addresses",
				 c->pairs[i].line, max);
			return -1;
		}
	}
	return (int)n;
}

static unsigned battery_of(const struct sim_proto *p, unsigned adr)
{
	for (unsigned i = 0; i < p->nbats; i++)
		if (p->bats[i]->address == adr)
			return i;
	return 0;
}

static void replay_destroy(struct sim_proto *sp)
{
	struct replay_proto *p = (struct replay_proto *)sp;

	if (!p)
		return;
	free(p->ids);
	free(p->battery);
	free(p->served);
	free(p);
}

static struct sim_proto *replay_create(const struct sim_proto_cfg *cfg)
{
	const struct sim_capture *c = cfg->capture;
	struct replay_proto *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base.ops = &sim_replay_ops;
	p->base.bats = cfg->bats;
	p->base.nbats = cfg->nbats;
	p->cap = c;
	p->ids = calloc(c->n, sizeof(*p->ids));
	p->battery = calloc(c->n, sizeof(*p->battery));
	p->served = calloc(c->n, sizeof(*p->served));
	if (!p->ids || !p->battery || !p->served) {
		replay_destroy(&p->base);
		return NULL;
	}
	for (size_t i = 0; i < c->n; i++) {
		unsigned adr = 0;

		/* Invalid requests were refused by sim_replay_addresses. */
		if (sim_replay_identify(c->family, c->pairs[i].req,
					c->pairs[i].reqlen, &adr,
					&p->ids[i]) < 0)
			p->ids[i] = (struct sim_replay_id){.address = ~0u};
		p->battery[i] = battery_of(&p->base, adr);
	}
	return &p->base;
}

/* The k-th captured outcome of id (the last one repeats); -1 if none. */
static long pick(struct replay_proto *p, const struct sim_replay_id *id)
{
	long first = -1, chosen = -1;
	size_t k = 0;

	for (size_t i = 0; i < p->cap->n; i++) {
		if (!same(&p->ids[i], id))
			continue;
		if (first < 0)
			first = (long)i;
		if (k++ <= p->served[first])
			chosen = (long)i;
	}
	if (first >= 0)
		p->served[first]++;
	return chosen;
}

static void answer(struct replay_proto *p, const struct sim_replay_id *id,
		   sim_emit_fn emit, void *ctx)
{
	long i = pick(p, id);

	if (i < 0 || !p->cap->pairs[i].ans)
		return;
	emit(ctx, p->battery[i], p->cap->pairs[i].ans, p->cap->pairs[i].anslen);
}

static void replay_feed(struct sim_proto *sp, const uint8_t *buf, size_t len,
			sim_emit_fn emit, void *ctx)
{
	struct replay_proto *p = (struct replay_proto *)sp;

	while (len) {
		size_t take = RX_CAP - p->rxlen;
		struct sim_replay_id id;
		unsigned adr;
		size_t drop;
		int found;

		if (take > len)
			take = len;
		memcpy(p->rx + p->rxlen, buf, take);
		p->rxlen += take;
		buf += take;
		len -= take;
		do {
			drop = scan(p->cap->family, p->rx, p->rxlen, &found,
				    &adr, &id);
			memmove(p->rx, p->rx + drop, p->rxlen - drop);
			p->rxlen -= drop;
			if (found)
				answer(p, &id, emit, ctx);
		} while (found);
	}
}

static int replay_check(const struct sim_battery *b, char *err, size_t errlen)
{
	return 0;
}

static void replay_quantize(struct sim_view *v)
{
	/* Nothing is computed: the captured bytes are the values. */
}

static void replay_corrupt(uint8_t *f, size_t len)
{
	if (len && f[0] == 0xDD)
		sim_jbd_ops.corrupt(f, len);
	else if (len && f[0] == 0x4E)
		sim_jk_ops.corrupt(f, len);
	else if (len && f[0] == 0x55)
		sim_jkpb_ops.corrupt(f, len);
	else if (len && f[0] == 0xA5)
		sim_daly_ops.corrupt(f, len);
	else
		sim_pylontech_ops.corrupt(f, len);
}

const struct sim_proto_ops sim_replay_ops = {
	.name = "replay",
	.max_per_line = 255,
	.addressed = true,
	.identify = NULL,
	.check = replay_check,
	.create = replay_create,
	.destroy = replay_destroy,
	.feed = replay_feed,
	.quantize = replay_quantize,
	.corrupt = replay_corrupt,
};
