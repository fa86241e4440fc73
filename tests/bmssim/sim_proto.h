/* SPDX-License-Identifier: MIT */
/*
 * sim_proto.h - the protocol responder interface of the simulator.
 *
 * A responder serves the batteries of one line. The line feeds it every
 * byte received; for each complete, valid request it builds the answer
 * from the addressed battery's model and hands it to emit(). Garbled or
 * unknown requests produce nothing, like a real pack. Responders do no I/O
 * and keep no clock: faults (silence, noise, bad checksums, delays) are
 * applied afterwards by the line (sim_line.c), the same way for every
 * protocol; only the "wrong checksum" is protocol-specific (corrupt()).
 *
 * A protocol also decides how each value is rounded on its wire
 * (quantize()), so the state file can report exactly what was sent.
 */
#ifndef BMSSIM_SIM_PROTO_H
#define BMSSIM_SIM_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_model.h"

/* The longest "~" frame: SOI, 12 header characters, 4095 INFO characters,
 * checksum, EOI. */
#define SIM_MAX_FRAME 4113

struct sim_proto;
struct sim_capture;

/* One answer for battery (index into the responder's battery array). */
typedef void (*sim_emit_fn)(void *ctx, unsigned battery, const uint8_t *frame,
			    size_t len);

/* What a responder serves. */
struct sim_proto_cfg {
	struct sim_battery **bats; /* owned by the caller */
	unsigned nbats;            /* <= max_per_line */
	/* "~" family: the pack at the lowest address answers stack reads. */
	bool stack;
	/* Replay: the capture to answer from (owned by the caller). */
	const struct sim_capture *capture;
};

struct sim_proto_ops {
	const char *name;
	/* Batteries one line can carry (1 for JBD: no addressing). */
	unsigned max_per_line;
	/* Requests carry an address (struct sim_battery.address). */
	bool addressed;
	/* Most packs a stack read answers for (0: no stack reads). */
	unsigned max_stack;
	/* Optional: give a new battery this protocol's identity (model
	 * name that fits its fields...); NULL keeps the model's defaults. */
	void (*identify)(struct sim_battery *b);
	/* 0 if the wire can describe b; else -1 and a message in err. */
	int (*check)(const struct sim_battery *b, char *err, size_t errlen);
	/* Responder for cfg's batteries; NULL on ENOMEM. */
	struct sim_proto *(*create)(const struct sim_proto_cfg *cfg);
	void (*destroy)(struct sim_proto *p);
	/* Consume received bytes; emit() once per answer produced. */
	void (*feed)(struct sim_proto *p, const uint8_t *buf, size_t len,
		     sim_emit_fn emit, void *ctx);
	/* Round the exact values in v to what the wire carries. */
	void (*quantize)(struct sim_view *v);
	/* Make a valid answer's checksum wrong (in place). */
	void (*corrupt)(uint8_t *frame, size_t len);
	/* Optional: traffic nobody asked for (a bus master's), every
	 * tick_ms real milliseconds; emit() as for answers. */
	void (*tick)(struct sim_proto *p, sim_emit_fn emit, void *ctx);
	unsigned tick_ms;
};

/* Common head of every responder instance. */
struct sim_proto {
	const struct sim_proto_ops *ops;
	struct sim_battery **bats;
	unsigned nbats;
};

/* Lookup by name ("jbd", "pylontech", ...); NULL if unknown. */
const struct sim_proto_ops *sim_proto_find(const char *name);
/* Comma-separated list of names, for --help and errors. */
const char *sim_proto_names(void);

/* What battery b reports over protocol ops, rounded as sent. */
void sim_proto_view(const struct sim_proto_ops *ops,
		    const struct sim_battery *b, struct sim_view *v);

#endif
