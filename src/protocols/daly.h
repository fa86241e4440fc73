/* SPDX-License-Identifier: MIT */
/*
 * daly.h - the Daly "A5" UART / RS485 protocol (Daly Smart BMS, 9600 8N1,
 * one pack per port).
 *
 *   A5 ADDR ID 08 DATA(8) SUM
 *
 * 13 bytes every frame. ADDR is 0x40 in the host's request and 0x01 in
 * the pack's answer; ID the data id (0x90 ...); DATA big-endian; SUM the
 * sum of the 12 bytes before it, mod 256. A request's DATA is eight 00.
 * Some answers come as several frames (0x95 cells, 0x96 temperatures):
 * DATA[0] is then the frame number, from 1. Pure functions, no I/O.
 */
#ifndef SMALLBMS_DALY_H
#define SMALLBMS_DALY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver.h"
#include "reading.h"

#define DALY_START      0xA5
#define DALY_HOST_ADDR  0x40 /* "upper computer": our requests */
#define DALY_BMS_ADDR   0x01 /* every answer */
#define DALY_DATA_LEN   8
#define DALY_FRAME_LEN  13
#define DALY_TEMP_OFF   40    /* temperatures are degrees C + 40 */
#define DALY_I_OFFSET   30000 /* 0x90 current: raw - offset, 0.1 A */
#define DALY_MAX_FRAMES 16    /* 0x95: the unit sends 16 (48 cells) */

/* The data ids this driver asks (Daly "UART communication protocol"). */
enum daly_id {
	DALY_ID_SOC = 0x90,      /* voltage, current, SoC */
	DALY_ID_STATE = 0x93,    /* direction, MOSFETs, remaining mAh */
	DALY_ID_INFO = 0x94,     /* cell and sensor count, cycles */
	DALY_ID_CELLS = 0x95,    /* 3 cells per frame */
	DALY_ID_TEMPS = 0x96,    /* 7 sensors per frame */
	DALY_ID_BALANCE = 0x97,  /* balancing bits */
	DALY_ID_FAILURES = 0x98, /* failure (alarm and protection) bits */
};

/* Sum of n bytes mod 256. */
uint8_t daly_sum(const uint8_t *p, size_t n);

/* The request for id into buf: DALY_FRAME_LEN, or 0 if cap is short. */
size_t daly_build(uint8_t id, uint8_t *buf, size_t cap);

/*
 * Framing of one 13-byte frame: start, length byte, checksum
 * (DRV_ERR_FRAME); an answer from the pack (address 0x01) to id, else
 * DRV_ERR_UNEXPECTED (a request: our own RS485 echo; another id: a late
 * answer). On DRV_OK *data points at the 8 data bytes.
 */
enum drv_decode daly_check_frame(uint8_t id, const uint8_t *f, size_t len,
				 const uint8_t **data);

/* The 0x98 failure bytes (0..6) as enum bms_protection (see daly.c). */
uint32_t daly_protection(const uint8_t *data);

/*
 * One frame of the answer to step id, added to *r, which holds the poll
 * so far (the driver accumulates, driver.h): 0x95 and 0x96 need the
 * counts 0x94 put there. DRV_OK: the step's answer is complete;
 * DRV_MORE: valid, more frames of it to come; errors leave *r as it was.
 */
enum drv_decode daly_decode_frame(uint8_t id, const uint8_t *f, size_t len,
				  struct bms_reading *r);

extern const struct bms_driver daly_driver;

#endif
