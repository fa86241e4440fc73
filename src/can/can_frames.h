/* SPDX-License-Identifier: MIT */
/*
 * can_frames.h - the "Pylontech low-voltage" CAN-bus BMS frames and their
 * Victron/SMA variants (#15), as an inverter/charger reads them: 500
 * kbit/s, 11-bit identifiers, little-endian fields. Pure: a state in, up
 * to CAN_FRAMES_MAX frames out; no I/O, no clock.
 *
 * Every profile: 0x351 0x355 0x356 0x359 0x35C 0x35E. victron adds 0x35A
 * 0x35F 0x370-0x377, sma adds 0x35A 0x35F. The layouts (byte: field,
 * scale) are in can_frames.c with their sources.
 */
#ifndef SMALLBMS_CAN_FRAMES_H
#define SMALLBMS_CAN_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAN_FRAMES_MAX 16

enum can_profile {
	CAN_PROFILE_PYLONTECH,
	CAN_PROFILE_VICTRON,
	CAN_PROFILE_SMA,
};

/* One classic CAN frame (no linux/can.h here: the encoder is pure). */
struct can_out_frame {
	uint32_t id;
	uint8_t len;
	uint8_t data[8];
};

/* Alarm and warning items of 0x359 / 0x35A. */
enum can_alarm {
	CAN_A_HIGH_VOLTAGE = 1u << 0, /* a cell too high */
	CAN_A_LOW_VOLTAGE = 1u << 1,  /* a cell too low */
	CAN_A_HIGH_TEMP = 1u << 2,
	CAN_A_LOW_TEMP = 1u << 3,
	CAN_A_INTERNAL = 1u << 4, /* comm loss, a battery's own protection,
				     no temperature sensor, cycle limit */
	CAN_A_IMBALANCE = 1u << 5,
};

/*
 * What is sent. Unknown values are NaN; a frame field without a value is
 * 0, which in a limit field means 0 V / 0 A (never more than known).
 */
struct can_state {
	double cvl, ccl, dcl, dvl; /* V, A, A, V */
	bool charge_enable, discharge_enable;
	double soc, soh;               /* % */
	double voltage, current, temp; /* V, A (+ = charging), degrees C */
	uint32_t alarms, warnings;     /* enum can_alarm */
	unsigned modules;              /* batteries configured */
	unsigned modules_online;       /* with fresh data */
	unsigned blocking_charge;      /* charge FET off / protection */
	unsigned blocking_discharge;
	double capacity_ah;                  /* nominal, installed */
	double min_cell_v, max_cell_v;       /* V */
	double min_temp, max_temp;           /* degrees C */
	unsigned min_cell_battery, min_cell; /* 1-based ids, 0 unknown */
	unsigned max_cell_battery, max_cell;
	unsigned min_temp_battery, min_temp_sensor;
	unsigned max_temp_battery, max_temp_sensor;
};

/* The frames of one cycle, in sending order; returns their number. */
size_t can_frames_encode(const struct can_state *s, enum can_profile p,
			 struct can_out_frame *out, size_t max);

/* "pylontech" | "victron" | "sma"; parse returns -1 if unknown. */
const char *can_profile_name(enum can_profile p);
int can_profile_parse(const char *s);
/* candump -l's payload: "351#0102..." (buf at least 3+1+16+1 + 3). */
void can_frame_format(const struct can_out_frame *f, char *buf, size_t len);

#endif
