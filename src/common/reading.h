/* SPDX-License-Identifier: MIT */
/*
 * reading.h - one battery's decoded data, independent of the protocol.
 *
 * Every protocol codec fills a struct bms_reading; everything downstream
 * (chain, bank, guard, monitor, status) only ever sees this structure.
 * Units: volts, amperes (positive = charging), ampere-hours, degrees
 * Celsius, percent.
 */
#ifndef SMALLBMS_READING_H
#define SMALLBMS_READING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BMS_MAX_CELLS 32
#define BMS_MAX_TEMPS 8
#define BMS_TEXT_LEN  40

/* The battery's own protection state, normalised across protocols. */
enum bms_protection {
	BMS_PROT_CELL_OV = 1u << 0, /* cell over-voltage */
	BMS_PROT_CELL_UV = 1u << 1, /* cell under-voltage */
	BMS_PROT_PACK_OV = 1u << 2, /* pack over-voltage */
	BMS_PROT_PACK_UV = 1u << 3, /* pack under-voltage */
	BMS_PROT_CHG_OT = 1u << 4,  /* charge over-temperature */
	BMS_PROT_CHG_UT = 1u << 5,  /* charge under-temperature */
	BMS_PROT_DSG_OT = 1u << 6,  /* discharge over-temperature */
	BMS_PROT_DSG_UT = 1u << 7,  /* discharge under-temperature */
	BMS_PROT_CHG_OC = 1u << 8,  /* charge over-current */
	BMS_PROT_DSG_OC = 1u << 9,  /* discharge over-current */
	BMS_PROT_SHORT = 1u << 10,  /* short circuit */
	BMS_PROT_AFE = 1u << 11,    /* front-end IC error */
	BMS_PROT_LOCK = 1u << 12,   /* MOSFETs locked by software */
};
#define BMS_PROT_COUNT 13

/* Protections that forbid charging / discharging. */
#define BMS_PROT_CHARGE_MASK                                                   \
	(BMS_PROT_CELL_OV | BMS_PROT_PACK_OV | BMS_PROT_CHG_OT |               \
	 BMS_PROT_CHG_UT | BMS_PROT_CHG_OC | BMS_PROT_SHORT | BMS_PROT_AFE |   \
	 BMS_PROT_LOCK)
#define BMS_PROT_DISCHARGE_MASK                                                \
	(BMS_PROT_CELL_UV | BMS_PROT_PACK_UV | BMS_PROT_DSG_OT |               \
	 BMS_PROT_DSG_UT | BMS_PROT_DSG_OC | BMS_PROT_SHORT | BMS_PROT_AFE |   \
	 BMS_PROT_LOCK)

/* Which parts of the reading are present (a codec sets what it decoded). */
enum bms_have {
	BMS_HAVE_BASIC = 1u << 0,    /* voltage, current, capacity, soc, fets */
	BMS_HAVE_CELLS = 1u << 1,    /* cell_v[] */
	BMS_HAVE_TEMPS = 1u << 2,    /* temp_c[] */
	BMS_HAVE_MODEL = 1u << 3,    /* model */
	BMS_HAVE_SERIAL = 1u << 4,   /* serial */
	BMS_HAVE_FIRMWARE = 1u << 5, /* firmware */
	BMS_HAVE_PROTECTION = 1u << 6, /* protection, fets */
	BMS_HAVE_BALANCER = 1u << 7,   /* balancer, balance_current */
};

/*
 * The balancer as the pack reports it where its protocol says whether it
 * works without naming the cells (JK): `balancing` then stays 0 and this
 * carries the state (BMS_HAVE_BALANCER).
 */
enum bms_balancer {
	BMS_BALANCER_UNKNOWN = 0,
	BMS_BALANCER_IDLE,
	BMS_BALANCER_ACTIVE,
};

/* The pack's own word on the direction of its current, where its protocol
 * has one (Daly 0x93); the chain says when it contradicts the current's
 * sign. */
enum bms_direction {
	BMS_DIR_UNKNOWN = 0,
	BMS_DIR_IDLE,
	BMS_DIR_CHARGING,
	BMS_DIR_DISCHARGING,
};

struct bms_reading {
	uint32_t have;       /* enum bms_have */
	double voltage;      /* V */
	double current;      /* A, positive = charging */
	double remaining_ah; /* Ah */
	double nominal_ah;   /* Ah */
	double full_ah;      /* Ah, full-charge capacity; 0 = unknown */
	double design_ah;    /* Ah, design capacity; 0 or NaN = unknown */
	double soc;          /* %, as the battery reports it */
	int cycles;
	unsigned ncells;
	double cell_v[BMS_MAX_CELLS]; /* V */
	unsigned ntemps;
	double temp_c[BMS_MAX_TEMPS]; /* degrees C */
	uint32_t protection;          /* enum bms_protection */
	uint32_t protection_raw;      /* protocol's own word, for display */
	uint32_t balancing;           /* bit n: cell n+1 is being balanced */
	uint8_t balancer;             /* enum bms_balancer */
	double balance_current;       /* A; NaN: not reported */
	bool charge_fet;
	bool discharge_fet;
	uint8_t direction;     /* enum bms_direction */
	char manufactured[11]; /* YYYY-MM-DD or "" */
	char model[BMS_TEXT_LEN];
	char serial[BMS_TEXT_LEN];
	char firmware[BMS_TEXT_LEN];
};

/* Stable token for one protection bit ("cell_overvoltage", ...), or NULL. */
const char *bms_protection_name(uint32_t bit);

/*
 * Physically possible values (I5): a reading outside them is not data.
 * Cells: a LiFePO4, NMC or LTO cell reads between 1.0 and 4.5 V, whatever
 * its state (below 1 V it is a dead cell or a broken sense wire, above
 * 4.5 V a decoding fault); temperatures between -40 and 120 degrees C (the
 * range of the NTCs used); SoC 0-100 %; the pack voltage within 5 % of the
 * sum of its cells when both are reported (the sense wires and the pack
 * terminals measure the same string).
 */
#define BMS_CELL_MIN_V    1.0
#define BMS_CELL_MAX_V    4.5
#define BMS_TEMP_MIN_C    (-40.0)
#define BMS_TEMP_MAX_C    120.0
#define BMS_PACK_SUM_FRAC 0.05

/*
 * 0 if every value of a complete reading is possible; -1 and, in why, the
 * first that is not, by field and value ("cell 3: 65.535 V is outside
 * 1.0..4.5 V"). A reading without cell voltages is refused too: the rules
 * cannot be kept without them.
 */
int bms_reading_check(const struct bms_reading *r, char *why, size_t len);

/* Merge the parts of src that it has into dst. */
void bms_reading_merge(struct bms_reading *dst, const struct bms_reading *src);

#endif
