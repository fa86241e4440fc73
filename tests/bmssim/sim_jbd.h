/* SPDX-License-Identifier: MIT */
/*
 * sim_jbd.h - JBD "general protocol" responder for the simulator.
 *
 * Written from the vendor document, independently of src/protocols/jbd.c, so that a
 * bug shared by the daemon's decoder and the simulator's encoder cannot
 * hide. Request: DD A5 reg 00 chk_hi chk_lo 77. Answer: DD reg 00 len
 * data chk_hi chk_lo 77, chk = 0x10000 - sum(reg .. last data byte).
 */
#ifndef BMSSIM_SIM_JBD_H
#define BMSSIM_SIM_JBD_H

#include <stddef.h>
#include <stdint.h>

#include "sim_proto.h"

#define SIM_JBD_REQ_LEN 7

extern const struct sim_proto_ops sim_jbd_ops;

/* 0x10000 - sum of n bytes, truncated to 16 bits. */
uint16_t sim_jbd_sum(const uint8_t *p, size_t n);

/*
 * Find the first valid read request in buf. Returns the number of bytes
 * the caller may drop (garbage and the request itself); *reg is set and 1
 * returned in *found when a request was taken. Bytes that could still be
 * the start of a request are kept (the return value stops before them).
 */
size_t sim_jbd_scan(const uint8_t *buf, size_t len, int *found, uint8_t *reg);

/*
 * Answer frames for reg 0x03 (basic), 0x04 (cells), 0x05 (model) from a
 * quantized view. Return the frame length, 0 if cap is too small.
 */
size_t sim_jbd_answer(uint8_t reg, const struct sim_view *v, uint8_t *buf,
		      size_t cap);

#endif
