/* SPDX-License-Identifier: MIT */
/*
 * sim_capture.h - captured traffic (.cap files, format in
 * tests/data/SOURCES.md), read for the replay responder (sim_replay.h).
 *
 *     # comment
 *     >>> DD A5 03 00 FF FD 77          what the host sent
 *     <<< DD 03 00 1B ... 77            what the battery answered
 *     >>> ~20024642C0040202FCD1         an ASCII "~" frame, CR implied
 *
 * Binary frames are hex bytes separated by blanks or ':'. Every "<<<"
 * belongs to the ">>>" before it (several are sent one after the other);
 * a request without one was not answered. The protocol family comes from
 * the first frame ('~', 0xDD, 0x4E, or a JK-PB request ADDR 10 16) and
 * every frame must be of it. Errors are
 * "FILE:LINE: message"; a capture is loaded whole or not at all.
 */
#ifndef BMSSIM_SIM_CAPTURE_H
#define BMSSIM_SIM_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum sim_family {
	SIM_FAMILY_JBD,    /* first byte 0xDD */
	SIM_FAMILY_PYLON,  /* the "~" ASCII-hex family */
	SIM_FAMILY_JK,     /* JK legacy: first bytes 4E 57 */
	SIM_FAMILY_JKPB,   /* JK-PB: requests ADDR 10 16, answers 55 AA EB 90 */
	SIM_FAMILY_MODBUS, /* Modbus RTU reads 01/03/04 (seplos-v3) */
	SIM_FAMILY_DALY,   /* Daly: first byte 0xA5 */
};

struct sim_capture_pair {
	unsigned line; /* of the request */
	uint8_t *req;
	size_t reqlen;
	uint8_t *ans; /* NULL when the battery did not answer */
	size_t anslen;
};

struct sim_capture {
	enum sim_family family;
	size_t n;
	struct sim_capture_pair *pairs;
};

int sim_capture_parse(FILE *f, const char *name, struct sim_capture *c,
		      char *err, size_t errlen);
int sim_capture_load(const char *path, struct sim_capture *c, char *err,
		     size_t errlen);
void sim_capture_free(struct sim_capture *c);

/* "jbd", "~", "jk", "jk-pb" or "daly" (for messages). */
const char *sim_family_name(enum sim_family f);
/* The family of a simulator protocol name ("pylontech": the "~" one). */
enum sim_family sim_family_of(const char *protocol);

#endif
