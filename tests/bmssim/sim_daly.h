/* SPDX-License-Identifier: MIT */
/*
 * sim_daly.h - the Daly "A5" UART / RS485 protocol for the simulator: one
 * pack per line.
 *
 * Written from Daly's UART protocol as the public clients read it
 * (mpp-solar, dbus-serialbattery, Daly2MQTT) and the real frames in
 * tests/data/daly-16s-discharging.cap, independently of
 * src/protocols/daly.c, so that a bug shared by the daemon's decoder and
 * this encoder cannot hide.
 *
 * Frame (13 bytes, both ways): A5, address (request 0x40 host, answer
 * 0x01 BMS), data id, length 08, 8 data bytes big-endian, checksum = the
 * sum of the 12 bytes before it, mod 256. The cells (0x95) come in 16
 * frames of 3 (48 cells, zeros past the pack's own), as the captured unit
 * sends them; the temperatures (0x96) in frames of 7.
 */
#ifndef BMSSIM_SIM_DALY_H
#define BMSSIM_SIM_DALY_H

#include <stddef.h>
#include <stdint.h>

#include "sim_proto.h"

#define SIM_DALY_FRAME       13
#define SIM_DALY_CELL_FRAMES 16

extern const struct sim_proto_ops sim_daly_ops;

/* Sum of n bytes, mod 256. */
uint8_t sim_daly_sum(const uint8_t *p, size_t n);

/*
 * Find the first valid request in buf: returns how many bytes the caller
 * may drop (noise and the request taken); *found is 1 and *id its data
 * id when a request was taken. A start that may still complete is kept.
 */
size_t sim_daly_scan(const uint8_t *buf, size_t len, int *found, uint8_t *id);

/* The 0x98 failure bytes (8) for the simulator's protection flags. */
void sim_daly_failures(uint32_t protection, uint8_t out[8]);

/*
 * The answer to data id from a quantized view, every frame of it, into
 * buf; its length (a multiple of 13), 0 for an id not simulated or if
 * cap is short. last[8]: the data of the previous answer, whose bytes
 * the unit leaves in fields it does not use (updated).
 */
size_t sim_daly_answer(const struct sim_view *v, uint8_t id, uint8_t last[8],
		       uint8_t *buf, size_t cap);

#endif
