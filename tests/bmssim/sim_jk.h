/* SPDX-License-Identifier: MIT */
/*
 * sim_jk.h - the JK BMS "read all" protocol of the B1A / B2A / BD boards
 * (JK legacy, frames 4E 57) for the simulator: one pack per line.
 *
 * Written from JK's protocol document (V2.5, as translated in
 * syssi/esphome-jk-bms docs/protocol-design-uart-ttl-gps-port.md) and the
 * real frames in tests/data, independently of src/protocols/jk.c, so that
 * a bug shared by the daemon's decoder and this encoder cannot hide.
 *
 * Frame: STX 4E 57, length (2, = frame size - 2), terminal number (4),
 * command (1: 06 read all), source (1: 00 BMS, 03 computer), transport
 * type (1: 00 request, 01 answer), data, record number (4), end identity
 * 68, checksum (4: two unused bytes, then the 16-bit sum of every byte
 * from STX through the end identity). Values big-endian. The answer's data
 * is the document's item list: code, then the value of its fixed size.
 */
#ifndef BMSSIM_SIM_JK_H
#define BMSSIM_SIM_JK_H

#include <stddef.h>
#include <stdint.h>

#include "sim_proto.h"

#define SIM_JK_READ_ALL  0x06
#define SIM_JK_MIN_FRAME 20 /* header 11, trailer 9 */
#define SIM_JK_MAX_REQ   64 /* longest request taken */
#define SIM_JK_MAKER_LEN 24 /* item 0xBA: where the model goes */
#define SIM_JK_MAX_TEMPS 3  /* MOSFET, box (T1), battery (T2) */

extern const struct sim_proto_ops sim_jk_ops;

/* Sum of the bytes STX .. end identity, 16 bits. */
uint16_t sim_jk_sum(const uint8_t *p, size_t n);

/*
 * Find the first valid request in buf: returns how many bytes the caller
 * may drop (noise and the request taken); *found is 1 and *cmd its
 * command when a request was taken. A start that may still complete is
 * kept (the return value stops before it).
 */
size_t sim_jk_scan(const uint8_t *buf, size_t len, int *found, uint8_t *cmd);

/* The "read all" answer from a quantized view; its length, 0 if cap is
 * too small. */
size_t sim_jk_answer(const struct sim_view *v, uint8_t *buf, size_t cap);

/* The 0x8B warning bits for the simulator's protection flags. */
uint16_t sim_jk_warnings(uint32_t protection);

#endif
