/* SPDX-License-Identifier: MIT */
/*
 * sim_jkpb.h - the JK-PB BMS ("BMS RS485 Modbus V1.0" of the PB
 * inverter-series boards) for the simulator: packs on one RS485 bus at
 * DIP addresses 1-15; a pack at address 0 is the bus master.
 *
 * Written from JK's V1.0 document (syssi/esphome-jk-bms docs/pb2a16s20p)
 * and the real frames in tests/data, independently of
 * src/protocols/jkpb.c, so that a bug shared by the daemon's decoder and
 * this encoder cannot hide.
 *
 * A host writes one register with 0000 (Modbus function 16, CRC-16 low
 * byte first): ADDR 10 16 REG 00 01 02 00 00 CRC. The pack at ADDR
 * answers with JK's 300-byte frame (55 AA EB 90, frame type, a counter,
 * little-endian fields, byte 299 = the sum of the others mod 256), then
 * its write acknowledgement ADDR 10 16 REG 00 01 CRC: REG 1C device info
 * (type 03), 1E settings (type 01), 20 cells and status (type 02).
 *
 * The master (a pack at address 0) answers no host: every tick it polls
 * the next address of 1-15 for its status (the pack there answers, as on
 * a real bus), and after address 15 it sends its own status frame and an
 * acknowledgement with address 0, unrequested.
 */
#ifndef BMSSIM_SIM_JKPB_H
#define BMSSIM_SIM_JKPB_H

#include <stddef.h>
#include <stdint.h>

#include "sim_proto.h"

#define SIM_JKPB_FRAME     300
#define SIM_JKPB_ACK       8
#define SIM_JKPB_REQ       11
#define SIM_JKPB_MAX_ADDR  15
#define SIM_JKPB_MAX_TEMPS 5   /* MOSFET, T1, T2, T4 @256, T5 @258 */
#define SIM_JKPB_TICK_MS   100 /* the master's pace: one request a tick */
#define SIM_JKPB_INFO      0x1C
#define SIM_JKPB_SETTINGS  0x1E
#define SIM_JKPB_STATUS    0x20
#define SIM_JKPB_SERIAL    11 /* device info @86 */

extern const struct sim_proto_ops sim_jkpb_ops;

uint16_t sim_jkpb_crc(const uint8_t *p, size_t n);

/* A write request ADDR 10 16 REG 00 01 02 00 00 CRC into buf (11). */
size_t sim_jkpb_request(unsigned addr, uint8_t reg, uint8_t *buf);

/*
 * Find the first valid request in buf, like sim_jbd_scan: returns how
 * many bytes the caller may drop; *found is 1 with *addr and *reg when a
 * request was taken. A start that may still complete is kept.
 */
size_t sim_jkpb_scan(const uint8_t *buf, size_t len, int *found, unsigned *addr,
		     uint8_t *reg);

/*
 * The answer of the pack at addr to a write of reg, from a quantized
 * view: the 300-byte frame (counter as given) and the acknowledgement.
 * SIM_JKPB_FRAME + SIM_JKPB_ACK, or 0 for a register without a frame.
 */
size_t sim_jkpb_answer(unsigned addr, uint8_t reg, uint8_t counter,
		       const struct sim_view *v, uint8_t *buf, size_t cap);

/* The alarm bits (status @166) for the simulator's protection flags. */
uint32_t sim_jkpb_alarms(uint32_t protection);

#endif
