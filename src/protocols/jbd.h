/* SPDX-License-Identifier: MIT */
/*
 * jbd.h - JBD (Jiabaida / Xiaoxiang / Overkill Solar) "general protocol".
 *
 * Request:  DD A5 reg len data... chk_hi chk_lo 77
 * Response: DD reg status len data... chk_hi chk_lo 77
 * chk = 0x10000 - sum(bytes from reg/status through the data), big-endian.
 * One pack per port, no addressing. Pure functions, no I/O.
 */
#ifndef SMALLBMS_JBD_H
#define SMALLBMS_JBD_H

#include <stddef.h>
#include <stdint.h>

#include "driver.h"
#include "reading.h"

#define JBD_START     0xDD
#define JBD_END       0x77
#define JBD_READ      0xA5
#define JBD_REG_BASIC 0x03
#define JBD_REG_CELLS 0x04
#define JBD_REG_MODEL 0x05
#define JBD_REQ_LEN   7
#define JBD_MIN_FRAME 7 /* DD reg status len chk chk 77, no data */

/* Checksum over n bytes: 0x10000 - sum, truncated to 16 bits. */
uint16_t jbd_checksum(const uint8_t *p, size_t n);

/* Read request for reg into buf; returns JBD_REQ_LEN, or 0 if cap is short. */
size_t jbd_build_read(uint8_t reg, uint8_t *buf, size_t cap);

/*
 * Validate a complete response frame: start and end bytes, the length
 * field against the frame size, the checksum and the status byte. On
 * success points *data at the payload and returns DRV_OK.
 */
enum drv_decode jbd_check_frame(const uint8_t *f, size_t len, uint8_t *reg,
				const uint8_t **data, size_t *dlen);

/* Payload decoders. Extra trailing bytes (newer firmware) are ignored. */
enum drv_decode jbd_parse_basic(const uint8_t *d, size_t n,
				struct bms_reading *r);
enum drv_decode jbd_parse_cells(const uint8_t *d, size_t n,
				struct bms_reading *r);
enum drv_decode jbd_parse_model(const uint8_t *d, size_t n,
				struct bms_reading *r);

extern const struct bms_driver jbd_driver;

#endif
