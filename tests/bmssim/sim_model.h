/* SPDX-License-Identifier: MIT */
/*
 * sim_model.h - one simulated LiFePO4 battery.
 *
 * The model is a pure state machine over simulated time (seconds, double):
 * nothing here reads a clock or does I/O. SoC integrates the current
 * (coulomb counting, + = charging); each cell's voltage comes from an
 * open-circuit-voltage curve at that SoC, plus a fixed per-cell imbalance
 * offset, plus current x internal resistance. A scenario can pin a cell to
 * an exact voltage; the model then leaves that cell alone until unpinned.
 *
 * The model never trips protections or opens FETs by itself: the scenario
 * says exactly what the battery reports, so tests can predict every value.
 *
 * The model also carries the battery's communication faults (silent,
 * garbage, corrupt, delay): they belong to the battery, not to the line,
 * because several addressed batteries can share one line.
 */
#ifndef BMSSIM_SIM_MODEL_H
#define BMSSIM_SIM_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#define SIM_MAX_CELLS 32
#define SIM_MAX_TEMPS 8
#define SIM_TEXT_LEN  32

/* Protection flags (the simulator's own list, mapped per protocol). */
enum sim_prot {
	SIM_PROT_CELL_OV = 1u << 0,
	SIM_PROT_CELL_UV = 1u << 1,
	SIM_PROT_PACK_OV = 1u << 2,
	SIM_PROT_PACK_UV = 1u << 3,
	SIM_PROT_CHG_OT = 1u << 4,
	SIM_PROT_CHG_UT = 1u << 5,
	SIM_PROT_DSG_OT = 1u << 6,
	SIM_PROT_DSG_UT = 1u << 7,
	SIM_PROT_CHG_OC = 1u << 8,
	SIM_PROT_DSG_OC = 1u << 9,
	SIM_PROT_SHORT = 1u << 10,
	SIM_PROT_AFE = 1u << 11,
	SIM_PROT_LOCK = 1u << 12,
};
#define SIM_PROT_COUNT 13

/* Token of one protection bit ("cell_undervoltage"), NULL if unknown. */
const char *sim_prot_name(uint32_t bit);
/* Bit for a token; 0 if unknown. */
uint32_t sim_prot_from_name(const char *token);

struct sim_comm {
	bool silent;           /* do not answer at all */
	bool asleep;           /* silent, and the line echoes requests */
	unsigned garbage_left; /* answer the next N requests with noise */
	unsigned corrupt_left; /* send the next N answers with a bad checksum */
	unsigned delay_ms;     /* answer delay, real milliseconds */
	unsigned long requests; /* valid requests addressed to this battery */
	unsigned long answered; /* correct answers actually sent */
	unsigned long garbage_sent;
	unsigned long corrupt_sent;
};

struct sim_battery {
	unsigned id;      /* 1-based, as in scenario files */
	unsigned address; /* on its line's bus (addressed protocols) */
	unsigned ncells;
	double capacity_ah;
	double soc;           /* %, 0..100, exact */
	double current_a;     /* + = charging */
	double r_cell;        /* internal resistance per cell, ohm */
	double t;             /* simulated time the state refers to, s */
	double discharged_ah; /* total drawn, for the cycle count */
	double cell_offset[SIM_MAX_CELLS]; /* imbalance, V */
	bool pinned[SIM_MAX_CELLS];
	double pinned_v[SIM_MAX_CELLS];
	unsigned ntemps;
	double temp_c[SIM_MAX_TEMPS];
	uint32_t protection; /* enum sim_prot */
	bool charge_fet;
	bool discharge_fet;
	char model[SIM_TEXT_LEN];
	char serial[SIM_TEXT_LEN];
	unsigned fw_major, fw_minor;
	unsigned mfg_year, mfg_month, mfg_day;
	struct sim_comm comm;
};

struct sim_battery_cfg {
	unsigned ncells;     /* 1..SIM_MAX_CELLS */
	double capacity_ah;  /* > 0 */
	double soc;          /* 0..100 */
	unsigned ntemps;     /* 0..SIM_MAX_TEMPS */
	double imbalance_mv; /* largest per-cell offset */
};

/* Everything a protocol reports, in SI units. The model fills exact values;
 * a protocol then rounds them to its wire resolution (sim_proto.h). */
struct sim_view {
	double voltage;
	double current;
	double remaining_ah;
	double nominal_ah; /* design capacity */
	double full_ah;    /* full-charge capacity (the model: = nominal) */
	double soc;
	unsigned cycles;
	unsigned ncells;
	double cell_v[SIM_MAX_CELLS];
	unsigned ntemps;
	double temp_c[SIM_MAX_TEMPS];
	uint32_t protection;
	uint32_t balancing; /* bit n: cell n+1 */
	bool charge_fet;
	bool discharge_fet;
	char model[SIM_TEXT_LEN];
	char serial[SIM_TEXT_LEN]; /* "" when the protocol carries none */
	unsigned fw_major, fw_minor;
	unsigned mfg_year, mfg_month, mfg_day; /* 0 when not carried */
};

/* Cells whose voltage is at least this, and this far above the lowest
 * cell, are balanced while charging (like a JBD's default settings). */
#define SIM_BALANCE_START_MV 3400
#define SIM_BALANCE_DELTA_MV 10

/* LiFePO4 open-circuit voltage at soc percent (clamped to 0..100). */
double sim_ocv(double soc);

/* Fill b from cfg; returns 0, or -1 if cfg is out of range. */
int sim_battery_init(struct sim_battery *b, unsigned id,
		     const struct sim_battery_cfg *cfg);

/* Integrate the current from b->t up to t (earlier t is ignored). */
void sim_battery_advance(struct sim_battery *b, double t);

/* Exact voltage of cell i (0-based). */
double sim_battery_cell_v(const struct sim_battery *b, unsigned i);

void sim_battery_set_soc(struct sim_battery *b, double soc);
void sim_battery_pin(struct sim_battery *b, unsigned i, double v);
/* Unpin cell i (0-based); sim_battery_unpin_all() releases every cell. */
void sim_battery_unpin(struct sim_battery *b, unsigned i);
void sim_battery_unpin_all(struct sim_battery *b);

/* Exact values of everything a protocol reports. */
void sim_battery_view(const struct sim_battery *b, struct sim_view *v);

#endif
