/* SPDX-License-Identifier: MIT */
/*
 * seplos3.h - Seplos v3 BMS (RS485 Modbus RTU, 19200 8N1, packs at DIP
 * addresses 1-15), on the Modbus codec of modbus.h.
 *
 * One poll, in this order (the cells last, chain.c poll_order):
 *   0x1000 x 17 input registers (PIA): voltage 10 mV, current s16 10 mA
 *          (- = discharging), remaining / total 10 mAh, discharged total,
 *          SoC 0.1 %, SOH 0.1 %, cycles, mean / max / min cell, ...
 *   0x1200 x 0x90 coils (PIC, optional): system state, alarm and
 *          protection events, FET state (LSB first)
 *   0x1700 x 51 input registers (VIA, once): factory, model @0x170A (20
 *          chars), firmware @0x1714 (2 chars, "15" = 1.5), BMS serial
 *          @0x1715 (30 chars)
 *   0x1100 x 26 input registers (PIB): 16 cells mV, cell sensors T1-T4
 *          and four more slots (2731 = unused), environment, power (MOS);
 *          all temperatures 0.1 K
 *
 * The pack at DIP address 0 is the bus master: it answers the system
 * blocks (0x2000, totals of the bank) and refuses the pack blocks with
 * exception 02. It is not a pack; addresses are 1-15 (min_addr).
 */
#ifndef SMALLBMS_SEPLOS3_H
#define SMALLBMS_SEPLOS3_H

#include <stddef.h>
#include <stdint.h>

#include "driver.h"
#include "modbus.h"

/* Step ids: the high byte of each block's first register. */
enum seplos3_step {
	SEPLOS3_PIA = 0x10,
	SEPLOS3_PIB = 0x11,
	SEPLOS3_PIC = 0x12,
	SEPLOS3_VIA = 0x17,
};

#define SEPLOS3_PIA_REGS  17
#define SEPLOS3_PIB_REGS  26
#define SEPLOS3_PIC_COILS 0x90
#define SEPLOS3_VIA_REGS  51
#define SEPLOS3_CELLS     16
#define SEPLOS3_UNUSED_T  2731 /* 0 C: what an unused sensor slot reads */
#define SEPLOS3_MAX_ADDR  15

/* Coils (bit numbers from 0x1200) the driver reads. */
enum {
	SEPLOS3_PIC_VOLTAGE = 0x48, /* TB02 voltage events */
	SEPLOS3_PIC_CELL_T = 0x50,  /* TB03 cell temperature events */
	SEPLOS3_PIC_BOARD_T = 0x58, /* TB04 environment / power temp. */
	SEPLOS3_PIC_CURRENT = 0x60, /* TB05 current events 1 */
	SEPLOS3_PIC_FET = 0x78,     /* TB07: bit 0 discharge, 1 charge */
	SEPLOS3_PIC_FAULT = 0x88,   /* TB15 hard faults */
};

/* The request for step (what it asks, for the answer's check). */
int seplos3_request(const struct drv_step *step, unsigned addr,
		    struct mb_read *rq);

/* The protection bits of a coil answer (18 bytes), and the raw word
 * shown (TB02 | TB03 << 8 | TB05 << 16 | TB15 << 24). */
uint32_t seplos3_protection(const uint8_t *coils, uint32_t *raw);

extern const struct bms_driver seplos3_driver;

#endif
