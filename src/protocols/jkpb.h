/* SPDX-License-Identifier: MIT */
/*
 * jkpb.h - the JK-PB BMS ("RS485 Modbus V1.0" of the PB inverter-series
 * boards: JK-PB2A16S15P, -20P, ...). 115200 8N1, packs on one RS485 bus
 * at DIP-switch addresses 1-15. Pure functions, no I/O.
 *
 * Request: a Modbus function-16 write of one register with 0000 to pack
 * ADDR, CRC-16/Modbus low byte first:
 *   ADDR 10 16 REG 00 01 02 00 00 CRC CRC   (REG 1C, 1E or 20)
 * Answer: JK's own 300-byte frame, which carries no address, then the
 * pack's 8-byte FC16 acknowledgement, the proof of who answered:
 *   55 AA EB 90 TYPE COUNTER DATA... SUM   [00]   ADDR 10 16 REG 00 01 CRC CRC
 * TYPE 01 settings (REG 1E), 02 status (REG 20), 03 device info (REG 1C);
 * COUNTER changes from frame to frame; SUM = bytes 0-298 mod 256; fields
 * little-endian. The driver takes the two as one candidate frame.
 *
 * A pack at DIP address 0 is the bus master: it polls the others itself
 * and sends its own status unrequested (its acknowledgement carries
 * address 0). Another master on the bus and this daemon would talk over
 * each other: jkpb_foreign() recognises its traffic, and the chain then
 * refuses the port (chain.c).
 */
#ifndef SMALLBMS_JKPB_H
#define SMALLBMS_JKPB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver.h"
#include "reading.h"

#define JKPB_FRAME      300 /* 55 AA EB 90 ... SUM */
#define JKPB_ACK_LEN    8   /* ADDR 10 16 REG 00 01 CRC CRC */
#define JKPB_REQ_LEN    11  /* ADDR 10 16 REG 00 01 02 00 00 CRC CRC */
#define JKPB_ANSWER_MIN (JKPB_FRAME + JKPB_ACK_LEN)
#define JKPB_ANSWER_MAX (JKPB_FRAME + 1 + JKPB_ACK_LEN) /* a 00 between */
#define JKPB_FC16       0x10
#define JKPB_REG_HI     0x16
#define JKPB_MAX_ADDR   15 /* DIP switch; 0 is the bus master */

/* Registers written, and the step ids of the driver (the low byte). */
#define JKPB_REG_INFO     0x1C /* device info: frame type 03 */
#define JKPB_REG_SETTINGS 0x1E /* settings: frame type 01 */
#define JKPB_REG_STATUS   0x20 /* cells and status: frame type 02 */

#define JKPB_TYPE_SETTINGS 0x01
#define JKPB_TYPE_STATUS   0x02
#define JKPB_TYPE_INFO     0x03

#define JKPB_TEMPS 5 /* MOSFET, T1, T2, and the sensors at 256 and 258 */

/* The status frame, raw (units of the frame). */
struct jkpb_status {
	unsigned ncells;
	uint16_t cell_mv[BMS_MAX_CELLS];
	uint8_t sensors; /* @214: bit i = sensor present */
	int16_t temp
		[JKPB_TEMPS];  /* 0.1 C: @144 MOSFET, @162, @164, @256, @258 */
	uint32_t voltage_mv;   /* @150 */
	int32_t current_ma;    /* @158, + = charging */
	uint32_t alarms;       /* @166 */
	int16_t balance_ma;    /* @170 */
	uint8_t balancing;     /* @172: 0 off, 1 charging, 2 discharging */
	uint8_t soc;           /* @173 */
	int32_t remaining_mah; /* @174 */
	uint32_t full_mah;     /* @178 */
	uint32_t cycles;       /* @182 */
	uint8_t soh;           /* @190 */
	uint8_t charge_fet;    /* @198 */
	uint8_t discharge_fet; /* @199 */
};

/* The device info frame's texts. */
struct jkpb_info {
	char model[17];   /* @6, 16 */
	char hardware[9]; /* @22, 8 */
	char firmware[9]; /* @30, 8 */
	char name[17];    /* @46, 16: set by the user */
	char serial[12];  /* @86, 11 */
};

/* CRC-16/Modbus (polynomial 0xA001 reflected, initial 0xFFFF). */
uint16_t jkpb_crc16(const uint8_t *p, size_t n);
/* Sum of n bytes mod 256. */
uint8_t jkpb_sum8(const uint8_t *p, size_t n);

/* The FC16 request writing reg (1C, 1E, 20) at addr; JKPB_REQ_LEN, or 0
 * if cap is short or addr is past 15. */
size_t jkpb_build_request(unsigned addr, uint8_t reg, uint8_t *buf, size_t cap);

/* Exactly one valid FC16 request (any quantity of JK registers 0x16xx),
 * or one valid acknowledgement: true with its address and register. */
bool jkpb_is_request(const uint8_t *f, size_t len, unsigned *addr,
		     uint8_t *reg);
bool jkpb_is_ack(const uint8_t *f, size_t len, unsigned *addr, uint8_t *reg);

/*
 * A 300-byte frame and its acknowledgement (len 308, or 309 with the 00
 * between them): header, SUM, type, acknowledgement (CRC, function,
 * quantity) and that the acknowledged register is the type's. DRV_OK
 * with who answered (*addr), the register and the 300 bytes; else
 * DRV_ERR_FRAME.
 */
enum drv_decode jkpb_check_answer(const uint8_t *f, size_t len, unsigned *addr,
				  uint8_t *reg, const uint8_t **frame);

/* The 300-byte frames' fields; everything checked before *out is written. */
enum drv_decode jkpb_parse_status(const uint8_t *frame,
				  struct jkpb_status *out);
void jkpb_parse_info(const uint8_t *frame, struct jkpb_info *out);

/* The alarm bits (@166) as enum bms_protection. */
uint32_t jkpb_protection(uint32_t alarms);

/* Into the reading. */
void jkpb_status_reading(const struct jkpb_status *s, struct bms_reading *r);
void jkpb_info_reading(const struct jkpb_info *in, struct bms_reading *r);

/* Why this frame (not the echo of our request) proves that another master
 * polls the bus, or NULL (driver.h, foreign). */
const char *jkpb_foreign(const uint8_t *f, size_t len);

extern const struct bms_driver jkpb_driver;

#endif
