/* SPDX-License-Identifier: MIT */
/*
 * pylon.h - the "~" ASCII-hex protocol family (YD/T 1363.3 framing):
 * Pylontech RS485 v3.3 (VER 0x20), Seplos v2 (VER 0x20), Pace v25
 * (VER 0x25). One framing, per-variant tables. Pure functions, no I/O.
 *
 *   ~ VER ADR CID1 CID2 LENGTH INFO CHKSUM CR
 *
 * Every byte between '~' and CR is an upper-case ASCII hex digit; each
 * field byte is two of them. LENGTH = LCHKSUM (4 bits) : LENID (12 bits,
 * the number of INFO characters); LCHKSUM = -(sum of the LENID nibbles)
 * mod 16. CHKSUM = -(sum of the ASCII bytes from VER through INFO) mod
 * 65536. In an answer, CID2 is the return code (0x00 = normal).
 *
 * Lower-case hex is rejected: the specifications and every capture use
 * upper case, and the CHKSUM field is not covered by the checksum, so
 * accepting 'a'..'f' there would let a case flip in transit through.
 */
#ifndef SMALLBMS_PYLON_H
#define SMALLBMS_PYLON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver.h"
#include "reading.h"

#define PYLON_SOI             '~'
#define PYLON_EOI             '\r'
#define PYLON_MIN_FRAME       18    /* ~ VER ADR CID1 CID2 LENGTH CHKSUM CR */
#define PYLON_MAX_LENID       0xFFE /* largest even 12-bit LENID */
#define PYLON_MAX_INFO        (PYLON_MAX_LENID / 2) /* INFO bytes */
#define PYLON_PROTO_MAX_FRAME (PYLON_MIN_FRAME + PYLON_MAX_LENID)

#define PYLON_CID1       0x46 /* lithium iron phosphate battery */
#define PYLON_ADDR_ALL   0xFF /* 0x42 INFO for "every pack" (stack read) */
#define PYLON_MAX_STATUS 20   /* status bytes after the 0x44 alarm bytes */

/* Command codes (CID2 of a request). */
enum pylon_cid2 {
	PYLON_ANALOG = 0x42,       /* analog values */
	PYLON_ALARM = 0x44,        /* alarm / status information */
	PYLON_SYSPARAM = 0x47,     /* system parameters (request only) */
	PYLON_VERSION = 0x4F,      /* protocol version (answer: VER) */
	PYLON_MANUFACTURER = 0x51, /* device name, software version, vendor */
	PYLON_MANAGEMENT = 0x92,   /* charge/discharge management (request) */
	PYLON_SERIAL = 0x93,       /* Pylontech module serial number */
	PACE_HWVERSION = 0xC1,     /* Pace hardware version string */
	PACE_SERIAL = 0xC2,        /* Pace serial number string */
};

enum pylon_variant {
	PYLON_V_PYLONTECH,
	PYLON_V_SEPLOS,
	PYLON_V_PACE,
};
#define PYLON_NVARIANTS 3

/* A frame that passed every framing check, INFO decoded to bytes. */
struct pylon_frame {
	uint8_t ver;
	uint8_t adr;
	uint8_t cid1;
	uint8_t cid2; /* the return code RTN in an answer */
	size_t ninfo;
	uint8_t info[PYLON_MAX_INFO];
};

/* One pack's 0x42 analog values, in engineering units. Values a variant
 * does not report are NaN. */
struct pylon_analog {
	enum pylon_variant variant;
	uint8_t dataflag;
	uint8_t info_addr; /* the address (Seplos: group) byte of INFO */
	unsigned ncells;
	double cell_v[BMS_MAX_CELLS]; /* V */
	unsigned ntemps;
	double temp_c[BMS_MAX_TEMPS]; /* Pylontech: first = BMS board */
	double current;               /* A, + = charging */
	double voltage;               /* V */
	double remaining_ah;
	double full_ah;   /* full-charge ("total", "battery") capacity */
	double design_ah; /* design / rated capacity; NaN for Pylontech */
	double soc;       /* %: Seplos reports it, else remaining / full */
	double soh;       /* %: Seplos only */
	double port_v;    /* V: Seplos only */
	int cycles;
	unsigned udi; /* number of user-defined items */
};

/* One pack's 0x44 answer, raw. The meaning of status[] is per variant:
 * Pylontech Status1..5; Pace protection 1, protection 2, system,
 * configuration, fault, balance high, balance low, warning 1, 2; Seplos
 * the 20 "custom" bytes (alarm events 1-6, on-off, equilibrium 1-2,
 * system, disconnection 1-2, alarm events 7-8, reserved). */
struct pylon_status {
	enum pylon_variant variant;
	uint8_t dataflag;
	uint8_t info_addr;
	unsigned ncells;
	uint8_t cell[BMS_MAX_CELLS]; /* 0 ok, 1 low, 2 high, 0xF0 other */
	unsigned ntemps;
	uint8_t temp[BMS_MAX_TEMPS];
	unsigned nalarms; /* charge current, pack voltage, discharge current
			     (Seplos: current, voltage) */
	uint8_t alarm[3];
	unsigned nstatus;
	uint8_t status[PYLON_MAX_STATUS];
};

/* The text answers: 0x51, 0x93, Pace 0xC1 / 0xC2. */
struct pylon_info {
	uint32_t have; /* BMS_HAVE_MODEL / _FIRMWARE / _SERIAL */
	char model[BMS_TEXT_LEN];
	char firmware[BMS_TEXT_LEN];
	char serial[BMS_TEXT_LEN];
	char manufacturer[BMS_TEXT_LEN];
};

/* -(sum of n bytes) mod 65536. */
uint16_t pylon_checksum(const uint8_t *p, size_t n);
/* The LENGTH field for lenid INFO characters (lenid <= 0xFFF). */
uint16_t pylon_length(unsigned lenid);

/* Encode a frame (INFO given as bytes); returns its length, 0 if it does
 * not fit in cap or ninfo > PYLON_MAX_INFO. */
size_t pylon_build_frame(uint8_t ver, uint8_t adr, uint8_t cid1, uint8_t cid2,
			 const uint8_t *info, size_t ninfo, uint8_t *buf,
			 size_t cap);

/*
 * Framing only: '~', CR, hex digits, LENGTH against the frame size,
 * LCHKSUM, CHKSUM. DRV_OK (out filled) or DRV_ERR_FRAME (out untouched).
 */
enum drv_decode pylon_parse_frame(const uint8_t *f, size_t len,
				  struct pylon_frame *out);

/*
 * The request of a variant for cid2 to addr (0..0xFF); returns its
 * length, or 0 if the variant has no such request or cap is short.
 * Pylontech requests take the form of the real capture in tests/data
 * (LENID 4: "addr addr" or "00 00"); Seplos and Pace the documented one.
 */
size_t pylon_build_request(enum pylon_variant v, uint8_t cid2, unsigned addr,
			   uint8_t *buf, size_t cap);
/* Pylontech stack read: 0x42 with INFO 0xFF to the master at addr. */
size_t pylon_build_stack_request(unsigned addr, uint8_t *buf, size_t cap);

/*
 * INFO decoders. Every count and length is checked; the INFO must be
 * consumed exactly. On error nothing is written.
 */
enum drv_decode pylon_parse_analog(enum pylon_variant v, const uint8_t *info,
				   size_t n, struct pylon_analog *a);
enum drv_decode pylon_parse_alarm(enum pylon_variant v, const uint8_t *info,
				  size_t n, struct pylon_status *s);
/* 0x51: device name (10), software version (2), manufacturer (20). */
enum drv_decode pylon_parse_manufacturer(const uint8_t *info, size_t n,
					 struct pylon_info *out);
/* 0x93: address, then 16 characters of serial number. */
enum drv_decode pylon_parse_serial(const uint8_t *info, size_t n, unsigned addr,
				   struct pylon_info *out);
/* Pace 0xC1 / 0xC2: a padded string (model, or serial). */
enum drv_decode pace_parse_text(uint8_t cid2, const uint8_t *info, size_t n,
				struct pylon_info *out);

/* Into the protocol-independent reading (only the parts they carry). */
void pylon_analog_reading(const struct pylon_analog *a, struct bms_reading *r);
void pylon_status_reading(const struct pylon_status *s, struct bms_reading *r);
void pylon_info_reading(const struct pylon_info *in, struct bms_reading *r);

/*
 * Decode a Pylontech stack answer (DATAFLAG, pack count, then one analog
 * block per pack) from the master at addr. Every block is validated
 * before anything is written; then the first min(count, max) readings
 * are written in order (out[i] is pack addr + i), each cleared first.
 * *npacks is the count in the answer (it may exceed max). Returns DRV_OK
 * or a negative enum drv_decode.
 */
int pylon_decode_stack(const uint8_t *f, size_t len, unsigned addr,
		       struct bms_reading *out, unsigned max, unsigned *npacks);

extern const struct bms_driver pylontech_driver;
extern const struct bms_driver seplos_driver;
extern const struct bms_driver pace_driver;

#endif
