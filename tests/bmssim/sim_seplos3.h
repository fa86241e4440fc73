/* SPDX-License-Identifier: MIT */
/*
 * sim_seplos3.h - Seplos v3 responder for bmssim: Modbus RTU at 19200
 * baud, packs at DIP addresses 1-15, the DIP-0 master at 0. Its own
 * Modbus encoder and CRC (not the daemon's modbus.c: a shared bug must not
 * hide).
 *
 * A pack answers function 04 inside its blocks 0x1000 (18 registers),
 * 0x1100 (26), 0x1700 (51) and function 01 inside 0x1200 (0x90 coils);
 * the master answers 04 0x2000 (26, the bank's totals, 32-bit values low
 * word first) and 01 0x2200 (0x50 coils). Anything else gets exception 02
 * (illegal data address), as the real ones do.
 */
#ifndef BMSSIM_SIM_SEPLOS3_H
#define BMSSIM_SIM_SEPLOS3_H

#include <stddef.h>
#include <stdint.h>

#include "sim_proto.h"

#define SIM_SEPLOS3_MAX_ADDR 15
#define SIM_SEPLOS3_CELLS    16
#define SIM_SEPLOS3_TEMPS    6 /* T1-T4, environment, power */
#define SIM_SEPLOS3_REQ      8

extern const struct sim_proto_ops sim_seplos3_ops;

uint16_t sim_seplos3_crc(const uint8_t *p, size_t n);

/*
 * One scan step for a Modbus read request (ADDR 0-247, function 01, 03 or
 * 04, START, COUNT, CRC; any count): the bytes to drop; *found when one
 * ended there, with its address, function and start.
 */
size_t sim_seplos3_scan(const uint8_t *buf, size_t len, int *found,
			unsigned *addr, uint8_t *fc, unsigned *start);

/* The coil bits (from 0x1200) that carry the simulator's flags, as a
 * 144-bit map into coils[18]. */
void sim_seplos3_coils(const struct sim_view *v, uint8_t coils[18]);

/* The answer to one read (fc, start, count) at addr from v; the
 * master's when master is set. Returns its length (an exception is 5). */
size_t sim_seplos3_answer(unsigned addr, int master, uint8_t fc, unsigned start,
			  unsigned count, const struct sim_view *v,
			  const struct sim_view *bank, unsigned npacks,
			  uint8_t *buf, size_t cap);

#endif
