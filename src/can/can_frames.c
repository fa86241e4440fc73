/* SPDX-License-Identifier: MIT */
/*
 * can_frames.c - the CAN-bus BMS frames (can_frames.h).
 *
 * Layouts, every field little-endian. No vendor publishes one document for
 * all receivers; these are the layouts that the open implementations
 * which are in daily use with Victron GX, SMA Sunny Island and
 * Pylontech-protocol inverters (Deye, Sol-Ark, Goodwe, Growatt) agree on:
 * diyBMS v4 (stuartpittaway/diyBMSv4ESP32, pylon_canbus.cpp and
 * victron_canbus.cpp), BSC (shining-man/bsc_fw, src/Canbus.cpp),
 * dbus-serialbattery's documentation (mr-manuel/venus-os_dbus-
 * serialbattery_docs) and the Pylontech LV CAN DBC
 * ("pylontech_battery_lv_*" messages):
 *
 *   0x351  0-1 CVL u16 0.1 V | 2-3 CCL s16 0.1 A | 4-5 DCL s16 0.1 A
 *          (positive) | 6-7 discharge voltage u16 0.1 V
 *   0x355  0-1 SoC u16 1 % | 2-3 SoH u16 1 % | victron: 4-5 SoC u16 0.01 %
 *   0x356  0-1 voltage s16 0.01 V | 2-3 current s16 0.1 A (+ charging) |
 *          4-5 temperature s16 0.1 C
 *   0x359  0 protection: bit1 cell over-voltage, bit2 under-voltage, bit3
 *          over-temperature, bit4 under-temperature | 1: bit3 system error
 *          | 2 alarm: the same bits as byte 0 | 3: bit3 internal
 *          communication fail | 4 module count | 5-6 "PN"
 *   0x35C  0: bit7 charge enable, bit6 discharge enable, bit5/4 force
 *          charge I/II, bit3 full charge request (these three never set)
 *   0x35E  manufacturer, 8 ASCII: "PYLON   " (pylontech: some inverters
 *          check it), else "SMALLBMS"
 *   0x35A  2 bits per item, 01 = active, 10 = not active, 00 = not
 *          supported; bytes 0-3 alarms, 4-7 warnings, same layout:
 *          0: b0-1 general, b2-3 high voltage, b4-5 low voltage, b6-7 high
 *          temperature | 1: b0-1 low temperature, b2-3 high temperature
 *          charge, b4-5 low temperature charge | 2: b6-7 BMS internal |
 *          3: b0-1 cell imbalance
 *   0x35F  0-1 battery type 0 | 2-3 BMS version 0 | 4-5 capacity u16 1 Ah
 *          | 6-7 0
 *   0x370 0x371  BMS name, 8 + 8 ASCII ("smallbms")
 *   0x372  0-1 modules online | 2-3 blocking charge | 4-5 blocking
 *          discharge | 6-7 offline (u16 each)
 *   0x373  0-1 min cell u16 1 mV | 2-3 max cell u16 1 mV | 4-5 min temp
 *          u16 1 K | 6-7 max temp u16 1 K
 *   0x374-0x377  ids of the min cell, max cell, min temp, max temp: ASCII
 *          "B<battery>C<cell>" / "B<battery>T<sensor>", 0-padded
 *
 * A field without a value (NaN) is 0: for a limit that is 0 V / 0 A, never
 * more than is known.
 */
#include "can_frames.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Rounded, clamped to [lo, hi]; NaN -> 0. */
static long scaled(double v, double scale, long lo, long hi)
{
	double x;

	if (!isfinite(v))
		return 0;
	x = round(v * scale);
	if (x < lo)
		return lo;
	if (x > hi)
		return hi;
	return (long)x;
}

static void put16(uint8_t *p, long v)
{
	p[0] = (uint8_t)(v & 0xff);
	p[1] = (uint8_t)((v >> 8) & 0xff);
}

static void u16(uint8_t *p, double v, double scale)
{
	put16(p, scaled(v, scale, 0, 65535));
}

static void s16(uint8_t *p, double v, double scale)
{
	put16(p, scaled(v, scale, -32768, 32767));
}

static struct can_out_frame *add(struct can_out_frame *out, size_t max,
				 size_t *n, uint32_t id, uint8_t len)
{
	struct can_out_frame *f;

	if (*n >= max)
		return NULL;
	f = &out[(*n)++];
	memset(f, 0, sizeof(*f));
	f->id = id;
	f->len = len;
	return f;
}

static void f351(const struct can_state *s, struct can_out_frame *f)
{
	u16(f->data, s->cvl, 10);
	s16(f->data + 2, s->ccl > 0 ? s->ccl : 0, 10);
	s16(f->data + 4, s->dcl > 0 ? s->dcl : 0, 10);
	u16(f->data + 6, s->dvl, 10);
}

static void f355(const struct can_state *s, enum can_profile p,
		 struct can_out_frame *f)
{
	u16(f->data, s->soc, 1);
	u16(f->data + 2, s->soh, 1);
	if (p == CAN_PROFILE_VICTRON)
		u16(f->data + 4, s->soc, 100);
}

static void f356(const struct can_state *s, struct can_out_frame *f)
{
	s16(f->data, s->voltage, 100);
	s16(f->data + 2, s->current, 10);
	s16(f->data + 4, s->temp, 10);
}

/* 0x359's protection/alarm byte: bit1 high V, 2 low V, 3 high T, 4 low T */
static uint8_t pylon_bits(uint32_t a)
{
	return (uint8_t)(((a & CAN_A_HIGH_VOLTAGE) ? 0x02 : 0) |
			 ((a & CAN_A_LOW_VOLTAGE) ? 0x04 : 0) |
			 ((a & CAN_A_HIGH_TEMP) ? 0x08 : 0) |
			 ((a & CAN_A_LOW_TEMP) ? 0x10 : 0));
}

static void f359(const struct can_state *s, struct can_out_frame *f)
{
	f->data[0] = pylon_bits(s->alarms);
	f->data[1] = (s->alarms & CAN_A_INTERNAL) ? 0x08 : 0;
	f->data[2] = pylon_bits(s->warnings);
	f->data[3] = (s->warnings & CAN_A_INTERNAL) ? 0x08 : 0;
	f->data[4] = (uint8_t)(s->modules > 255 ? 255 : s->modules);
	f->data[5] = 'P';
	f->data[6] = 'N';
}

static void f35c(const struct can_state *s, struct can_out_frame *f)
{
	f->data[0] = (uint8_t)((s->charge_enable ? 0x80 : 0) |
			       (s->discharge_enable ? 0x40 : 0));
}

/* 0x35A: item at (byte, pair) of alarms (base 0) or warnings (base 4). */
static void pair(uint8_t *d, unsigned byte, unsigned shift, bool active)
{
	d[byte] |= (uint8_t)((active ? 0x1 : 0x2) << shift);
}

static void items(uint8_t *d, uint32_t a)
{
	pair(d, 0, 0, a != 0);
	pair(d, 0, 2, a & CAN_A_HIGH_VOLTAGE);
	pair(d, 0, 4, a & CAN_A_LOW_VOLTAGE);
	pair(d, 0, 6, a & CAN_A_HIGH_TEMP);
	pair(d, 1, 0, a & CAN_A_LOW_TEMP);
	pair(d, 1, 2, a & CAN_A_HIGH_TEMP);
	pair(d, 1, 4, a & CAN_A_LOW_TEMP);
	pair(d, 2, 6, a & CAN_A_INTERNAL);
	pair(d, 3, 0, a & CAN_A_IMBALANCE);
}

static void f35a(const struct can_state *s, struct can_out_frame *f)
{
	items(f->data, s->alarms);
	items(f->data + 4, s->warnings);
}

static void f35f(const struct can_state *s, struct can_out_frame *f)
{
	u16(f->data + 4, s->capacity_ah, 1);
}

static void f372(const struct can_state *s, struct can_out_frame *f)
{
	unsigned off = s->modules > s->modules_online
			       ? s->modules - s->modules_online
			       : 0;

	put16(f->data, s->modules_online);
	put16(f->data + 2, s->blocking_charge);
	put16(f->data + 4, s->blocking_discharge);
	put16(f->data + 6, off);
}

static void f373(const struct can_state *s, struct can_out_frame *f)
{
	u16(f->data, s->min_cell_v, 1000);
	u16(f->data + 2, s->max_cell_v, 1000);
	u16(f->data + 4, s->min_temp + 273.15, 1);
	u16(f->data + 6, s->max_temp + 273.15, 1);
}

/* "B2C13" / "B1T2"; all zero if the battery is unknown. */
static void id_text(struct can_out_frame *f, unsigned battery, char kind,
		    unsigned index)
{
	char buf[32];

	if (!battery || !index)
		return;
	snprintf(buf, sizeof(buf), "B%u%c%u", battery, kind, index);
	memcpy(f->data, buf, strlen(buf) < 8 ? strlen(buf) : 8);
}

static void text(struct can_out_frame *f, const char *t)
{
	memcpy(f->data, t, strlen(t) < 8 ? strlen(t) : 8);
}

size_t can_frames_encode(const struct can_state *s, enum can_profile p,
			 struct can_out_frame *out, size_t max)
{
	struct can_out_frame *f;
	size_t n = 0;

	if ((f = add(out, max, &n, 0x351, 8)))
		f351(s, f);
	if ((f = add(out, max, &n, 0x355, p == CAN_PROFILE_VICTRON ? 6 : 4)))
		f355(s, p, f);
	if ((f = add(out, max, &n, 0x356, 6)))
		f356(s, f);
	if ((f = add(out, max, &n, 0x359, 7)))
		f359(s, f);
	if ((f = add(out, max, &n, 0x35C, 2)))
		f35c(s, f);
	if ((f = add(out, max, &n, 0x35E, 8)))
		text(f, p == CAN_PROFILE_PYLONTECH ? "PYLON   " : "SMALLBMS");
	if (p == CAN_PROFILE_PYLONTECH)
		return n;
	if ((f = add(out, max, &n, 0x35A, 8)))
		f35a(s, f);
	if ((f = add(out, max, &n, 0x35F, 8)))
		f35f(s, f);
	if (p != CAN_PROFILE_VICTRON)
		return n;
	if ((f = add(out, max, &n, 0x370, 8)))
		text(f, "smallbms");
	add(out, max, &n, 0x371, 8);
	if ((f = add(out, max, &n, 0x372, 8)))
		f372(s, f);
	if ((f = add(out, max, &n, 0x373, 8)))
		f373(s, f);
	if ((f = add(out, max, &n, 0x374, 8)))
		id_text(f, s->min_cell_battery, 'C', s->min_cell);
	if ((f = add(out, max, &n, 0x375, 8)))
		id_text(f, s->max_cell_battery, 'C', s->max_cell);
	if ((f = add(out, max, &n, 0x376, 8)))
		id_text(f, s->min_temp_battery, 'T', s->min_temp_sensor);
	if ((f = add(out, max, &n, 0x377, 8)))
		id_text(f, s->max_temp_battery, 'T', s->max_temp_sensor);
	return n;
}

static const char *const profile_names[] = {"pylontech", "victron", "sma"};

const char *can_profile_name(enum can_profile p)
{
	return (unsigned)p < 3 ? profile_names[p] : NULL;
}

int can_profile_parse(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, profile_names[i]) == 0)
			return i;
	return -1;
}

void can_frame_format(const struct can_out_frame *f, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%03X#", (unsigned)f->id);

	for (unsigned i = 0; i < f->len && n > 0 && (size_t)n < len; i++)
		n += snprintf(buf + n, len - n, "%02X", f->data[i]);
}
