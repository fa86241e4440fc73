/* SPDX-License-Identifier: MIT */
/*
 * sim_pylon.h - the "~" ASCII-hex protocol family for the simulator:
 * Pylontech (RS485 protocol 3.3, VER 0x20), Seplos v2 (VER 0x20, its own
 * 0x42 and 0x44 layouts) and Pace v25 (VER 0x25).
 *
 * Written from the public protocol descriptions and real frames (sources at
 * the top of sim_pylon.c), independently of src/protocols/pylon.c, so that a bug
 * shared by the daemon's decoder and this encoder cannot hide.
 *
 * Frame: '~' VER ADR CID1 CID2 LENGTH INFO CHKSUM CR; everything between
 * '~' and CR is ASCII hex, two characters a byte (we send upper case and
 * accept either). LENGTH = LCHKSUM << 12 | LENID, LENID = the number of
 * INFO characters, LCHKSUM = (-(sum of LENID's three nibbles)) & 0xF.
 * CHKSUM = -(sum of the ASCII bytes from VER to the end of INFO) mod 65536.
 * In an answer the CID2 position carries RTN (0x00 = normal).
 */
#ifndef BMSSIM_SIM_PYLON_H
#define BMSSIM_SIM_PYLON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_proto.h"

enum sim_pylon_variant {
	SIM_PYLON_PYLONTECH,
	SIM_PYLON_SEPLOS,
	SIM_PYLON_PACE,
};

#define SIM_PYLON_CID1       0x46 /* lithium iron phosphate battery */
#define SIM_PYLON_ANALOG     0x42
#define SIM_PYLON_ALARM      0x44
#define SIM_PYLON_VERSION    0x4F
#define SIM_PYLON_VENDOR     0x51
#define SIM_PYLON_SERIAL     0x93
#define SIM_PYLON_MAX_INFO   2047 /* bytes: LENID counts 12 bits of chars */
#define SIM_PYLON_REQ_INFO   32   /* longest request INFO accepted, bytes */
#define SIM_PYLON_MAX_CELLS  16   /* status and balance words cover 16 */
#define SIM_PYLON_MAX_STACK  16   /* packs in one stack answer */
#define SIM_PYLON_NAME_LEN   10   /* 0x51 device name field */
#define SIM_PYLON_MAKER_LEN  20   /* 0x51 manufacturer field */
#define SIM_PYLON_SERIAL_LEN 16   /* 0x93 serial number field */

extern const struct sim_proto_ops sim_pylontech_ops;
extern const struct sim_proto_ops sim_seplos_ops;
extern const struct sim_proto_ops sim_pace_ops;

/* A decoded request (or any frame: for an answer, cid2 is RTN). */
struct sim_pylon_req {
	uint8_t ver, adr, cid1, cid2;
	size_t ninfo; /* bytes */
	uint8_t info[SIM_PYLON_REQ_INFO];
};

/* VER of a variant (0x20, 0x20, 0x25). */
uint8_t sim_pylon_ver(enum sim_pylon_variant var);

/* LENGTH field for LENID INFO characters (lenid <= 0xFFF). */
uint16_t sim_pylon_length(unsigned lenid);
/* CHKSUM of n ASCII bytes (VER .. end of INFO). */
uint16_t sim_pylon_chksum(const uint8_t *ascii, size_t n);

/*
 * Frame n INFO bytes: "~" VER ADR CID1 CID2 LENGTH INFO CHKSUM CR. Returns
 * the length, 0 if cap is too small or the INFO too long for LENID.
 */
size_t sim_pylon_frame(uint8_t ver, uint8_t adr, uint8_t cid2,
		       const uint8_t *info, size_t n, uint8_t *buf, size_t cap);

/*
 * Decode one complete frame buf[0..len) ('~' .. CR). 0, or -1 when any
 * field is wrong: not hex, LCHKSUM, LENID against the real length, CHKSUM,
 * or an INFO longer than SIM_PYLON_REQ_INFO bytes.
 */
int sim_pylon_parse(const uint8_t *buf, size_t len, struct sim_pylon_req *r);

/*
 * Find the first valid frame in buf, like sim_jbd_scan: returns how many
 * bytes the caller may drop (noise, invalid frames and the frame taken);
 * *found is 1 when *r was filled. A frame start that may still complete
 * is kept (the return value stops before it).
 */
size_t sim_pylon_scan(const uint8_t *buf, size_t len, int *found,
		      struct sim_pylon_req *r);

/* A stack read: 0x42 whose last INFO byte (the command value) is 0xFF. */
bool sim_pylon_is_stack(const struct sim_pylon_req *r);

/*
 * INFO of the answers, from quantized views. cmd is the command value
 * after DATAFLAG (the request's first INFO byte, else the address). Each
 * returns the number of INFO bytes, 0 if cap is too small.
 */
size_t sim_pylon_analog(enum sim_pylon_variant var, uint8_t cmd,
			const struct sim_view *v, uint8_t *info, size_t cap);
/* 0x42 for every pack of a stack: DATAFLAG, pack count, then each pack. */
size_t sim_pylon_stack(enum sim_pylon_variant var, const struct sim_view *v,
		       unsigned n, uint8_t *info, size_t cap);
size_t sim_pylon_alarm(enum sim_pylon_variant var, uint8_t cmd,
		       const struct sim_view *v, uint8_t *info, size_t cap);
/* 0x51: device name (10), software version (2), manufacturer (20). */
size_t sim_pylon_vendor(const struct sim_view *v, const char *manufacturer,
			uint8_t *info, size_t cap);
/* 0x93: command value, then the serial number (16). */
size_t sim_pylon_serial(uint8_t cmd, const struct sim_view *v, uint8_t *info,
			size_t cap);

#endif
