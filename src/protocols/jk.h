/* SPDX-License-Identifier: MIT */
/*
 * jk.h - the JK BMS protocol of the B1A / B2A / BD boards ("legacy" JK:
 * frames 4E 57, 115200 8N1, one pack per port, on the board's 4-pin
 * UART-TTL socket or through JK's RS485 adapter on it).
 *
 *   4E 57 LEN(2) TERMINAL(4) CMD SOURCE TYPE DATA... RECORD(4) 68 00 00 SUM(2)
 *
 * All fields big-endian. LEN = frame size - 2. SUM = the 16-bit sum of
 * every byte before it. CMD 06 = read all; TYPE 00 request, 01 answer.
 * The answer's DATA is a list of (item code, fixed-size value): see
 * jk.c for the items and for every choice where decoders disagree.
 * Pure functions, no I/O.
 */
#ifndef SMALLBMS_JK_H
#define SMALLBMS_JK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver.h"
#include "reading.h"

#define JK_START0       0x4E
#define JK_START1       0x57
#define JK_END          0x68
#define JK_CMD_READ_ALL 0x06
#define JK_TYPE_REQUEST 0x00
#define JK_TYPE_ANSWER  0x01
#define JK_REQ_LEN      21
#define JK_HDR          11 /* 4E 57 LEN TERMINAL CMD SOURCE TYPE */
#define JK_TRAILER      9  /* RECORD(4) 68 00 00 SUM(2) */
#define JK_MIN_FRAME    (JK_HDR + JK_TRAILER)
#define JK_MAX_FRAME    1024 /* a 32-cell answer is about 370 bytes */
#define JK_TEMP_SENSORS 3    /* 0x80 MOSFET, 0x81 box (T1), 0x82 battery (T2) */
#define JK_FIRMWARE_LEN 15   /* item 0xB7 */
#define JK_MAKER_LEN    24   /* item 0xBA */

/* The step ids of the driver: one request ("read all") asked twice, once
 * per poll for the values and once per battery for who it is. */
#define JK_STEP_VALUES   0x06
#define JK_STEP_IDENTITY 0xB7

/* What one "read all" answer carries, raw, as the items came. */
struct jk_items {
	uint8_t seen[32]; /* bit (code % 8) of seen[code / 8]: item present */
	unsigned ncells;
	uint16_t cell_mv[BMS_MAX_CELLS];
	uint16_t temp_raw[JK_TEMP_SENSORS]; /* 0x80-0x82 */
	uint16_t voltage;                   /* 0x83, 10 mV */
	uint16_t current;                   /* 0x84, per 0xC0 */
	uint8_t soc;                        /* 0x85, % */
	uint8_t nsensors;                   /* 0x86, battery sensors */
	uint16_t cycles;                    /* 0x87 */
	uint16_t warnings;                  /* 0x8B */
	uint16_t status;                    /* 0x8C */
	uint32_t capacity_ah;               /* 0xAA, the capacity setting */
	uint32_t actual_ah;                 /* 0xB9, 0 = not measured */
	uint8_t protocol;                   /* 0xC0 */
	char firmware[JK_FIRMWARE_LEN + 1]; /* 0xB7 */
	char maker[JK_MAKER_LEN + 1];       /* 0xBA */
};

/* Sum of n bytes, truncated to 16 bits. */
uint16_t jk_sum(const uint8_t *p, size_t n);

/* The "read all" request into buf; JK_REQ_LEN, or 0 if cap is short. */
size_t jk_build_read_all(uint8_t *buf, size_t cap);

/*
 * Framing of a complete frame: start, LEN against the size, end marker,
 * SUM. DRV_OK with *type and the DATA (*items, *n), DRV_ERR_FRAME, or
 * DRV_ERR_UNEXPECTED for a valid frame that is not an answer to "read all"
 * (a request: our own RS485 echo).
 */
enum drv_decode jk_check_frame(const uint8_t *f, size_t len,
			       const uint8_t **items, size_t *n);

/* The item list; everything checked (every code known, sizes, cells,
 * the items a reading needs) before *out is written. */
enum drv_decode jk_parse_items(const uint8_t *d, size_t n,
			       struct jk_items *out);

/* The current in A, + = charging, by the 0xC0 rule; false if the
 * protocol version is one nobody documented. */
bool jk_current(uint16_t raw, uint8_t protocol, double *amps);
/* A temperature item in degrees C (raw above 100 is below zero). */
double jk_temperature(uint16_t raw);
/* The 0x8B warning bits as enum bms_protection. */
uint32_t jk_protection(uint16_t warnings);

/* Into the reading: the values (identity false), or model and firmware
 * (identity true). */
void jk_reading(const struct jk_items *it, bool identity,
		struct bms_reading *r);

extern const struct bms_driver jk_driver;

#endif
