/* SPDX-License-Identifier: MIT */
/*
 * modbus.h - the Modbus RTU codec that Modbus batteries share: read
 * requests (functions 01 coils, 03 holding, 04 input registers), the
 * framing of answers and exceptions, and their checks. Pure functions
 * over byte buffers (no libmodbus: the chain's own transports and event
 * loop carry the bytes, so RTU-over-TCP gateways work and nothing blocks).
 *
 * Frames, CRC-16/Modbus (poly 0xA001 reflected, init 0xFFFF) LOW byte
 * first:
 *   request   ADDR FC START(2, big-endian) COUNT(2) CRC(2)          8 bytes
 *   answer    ADDR FC BYTES DATA(BYTES) CRC(2)                  5 + BYTES
 *   exception ADDR FC|0x80 CODE CRC(2)                              5 bytes
 * Registers are big-endian; coils are packed LSB first from the first
 * coil, BYTES = ceil(coils / 8).
 */
#ifndef SMALLBMS_MODBUS_H
#define SMALLBMS_MODBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver.h"

#define MB_FC_COILS   0x01
#define MB_FC_HOLDING 0x03
#define MB_FC_INPUT   0x04
#define MB_EXCEPTION  0x80
#define MB_REQ_LEN    8
#define MB_EXC_LEN    5
#define MB_MAX_ADDR   247  /* unicast addresses 1-247, 0 broadcast */
#define MB_MAX_REGS   125  /* the standard's limit for 03/04 */
#define MB_MAX_COILS  2000 /* and for 01 */
#define MB_MAX_ANSWER (5 + 2 * MB_MAX_REGS)

/* What a request asks: checked against its answer. */
struct mb_read {
	uint8_t addr;
	uint8_t fc;     /* MB_FC_COILS, MB_FC_HOLDING or MB_FC_INPUT */
	uint16_t start; /* first register or coil */
	uint16_t count; /* registers or coils */
};

uint16_t mb_crc16(const uint8_t *p, size_t n);

/* The data bytes an answer to rq carries (2 x registers, ceil(coils/8));
 * 0 if rq is not a valid read. */
size_t mb_data_len(const struct mb_read *rq);

/* The 8-byte request for rq into buf; 0 if rq is not valid or cap is
 * too small. Address 0 is allowed (the Seplos master answers at 0). */
size_t mb_build_read(const struct mb_read *rq, uint8_t *buf, size_t cap);

/* Is f (len bytes) a valid read request (CRC, function, count)? */
bool mb_parse_read(const uint8_t *f, size_t len, struct mb_read *out);

/*
 * Next candidate frame in buf: a request (8 bytes, its CRC valid), an
 * exception (5 bytes) or an answer (5 + BYTES). Bytes that cannot start
 * one (an address above 247, an unknown function) are garbage. A
 * candidate is not validated beyond what gives its length: decode does
 * that, and the chain drops one byte of a rejected one.
 */
enum drv_scan mb_scan(const uint8_t *buf, size_t len, size_t *skip,
		      size_t *flen);

/*
 * The answer f (len bytes) to rq:
 *   DRV_OK             *data = the data bytes (mb_data_len(rq) of them)
 *   DRV_ERR_STATUS     a well-formed exception from rq's address to rq's
 *                      function; *code = the exception code (02: illegal
 *                      data address)
 *   DRV_ERR_UNEXPECTED well-formed (CRC valid) but not for rq: another
 *                      address or function, or a request (an echo)
 *   DRV_ERR_FRAME      anything else: CRC, a byte count not the one rq
 *                      asks for, a length that is not the frame's
 */
enum drv_decode mb_check_answer(const struct mb_read *rq, const uint8_t *f,
				size_t len, const uint8_t **data,
				uint8_t *code);

/* Register i of an answer's data (big-endian). */
uint16_t mb_u16(const uint8_t *data, unsigned i);
int16_t mb_s16(const uint8_t *data, unsigned i);
/* Coil i of an answer's data (LSB first in each byte). */
bool mb_bit(const uint8_t *data, unsigned i);

#endif
