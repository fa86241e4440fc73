/* SPDX-License-Identifier: MIT */
/*
 * mbserver.c - a Modbus RTU server built on libmodbus (a test program,
 * never installed; built only when configure finds libmodbus), serving a
 * Seplos v3 pack's register map on a serial device (one end of a pty
 * pair), so the daemon's own Modbus codec is checked against an
 * independent implementation (tests/e2e/libmodbus.sh).
 *
 * The values are those of tests/data/seplosv3-sg16s200a-addr1.cap (0x1000,
 * 0x1100) and -master.cap (0x1700); the coils have both FETs on and the
 * cell under-voltage protection (0x124B) set.
 *
 * Usage: mbserver DEVICE ADDRESS   (prints READY when it listens)
 */
#include <errno.h>
/* by its directory: src/protocols/modbus.h (ours) is on the include path */
#include <modbus/modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint16_t pia[17] = {0x14CC, 0xFF77, 0x6B40, 0x80E8, 0x0122, 0x0340,
				 0x03E7, 0x000A, 0x0CFF, 0x0B80, 0x0D00, 0x0CFF,
				 0x0B82, 0x0B7E, 0x0000, 0x00B4, 0x00B4};
static const uint16_t pib[26] = {
	0x0CFF, 0x0CFF, 0x0CFF, 0x0D00, 0x0D00, 0x0D00, 0x0CFF, 0x0D00, 0x0CFF,
	0x0D00, 0x0D00, 0x0D00, 0x0CFF, 0x0D00, 0x0CFF, 0x0D00, 0x0B82, 0x0B7F,
	0x0B81, 0x0B7D, 0x0AAB, 0x0AAB, 0x0AAB, 0x0AAB, 0x0B8C, 0x0B7F};

/* n characters of s at register reg (two a register, first high). */
static void text(uint16_t *regs, unsigned reg, size_t n, const char *s)
{
	size_t len = strlen(s);

	for (size_t i = 0; i < n; i += 2) {
		uint8_t hi = i < len ? (uint8_t)s[i] : 0;
		uint8_t lo = i + 1 < len ? (uint8_t)s[i + 1] : 0;

		regs[reg + i / 2] = (uint16_t)(hi << 8 | lo);
	}
}

static void fill(modbus_mapping_t *m)
{
	uint16_t *in = m->tab_input_registers; /* from 0x1000 */

	memcpy(in, pia, sizeof(pia));
	memcpy(in + 0x100, pib, sizeof(pib));
	text(in, 0x700, 20, "XZH-ElecTech Co.,Ltd");
	text(in, 0x70A, 20, "SG16S200A-SP57B-A");
	text(in, 0x714, 2, "15");
	text(in, 0x715, 30, "SP57B-A2506120022");
	/* coils from 0x1200: FETs (0x78 discharge, 0x79 charge), TB02 bit 3
	 * (0x4B, cell under-voltage protection) */
	m->tab_bits[0x78] = 1;
	m->tab_bits[0x79] = 1;
	m->tab_bits[0x4B] = 1;
}

int main(int argc, char **argv)
{
	uint8_t query[MODBUS_RTU_MAX_ADU_LENGTH];
	modbus_mapping_t *m;
	modbus_t *ctx;

	if (argc != 3) {
		fprintf(stderr, "usage: mbserver DEVICE ADDRESS\n");
		return 2;
	}
	ctx = modbus_new_rtu(argv[1], 19200, 'N', 8, 1);
	if (!ctx || modbus_set_slave(ctx, atoi(argv[2])) < 0 ||
	    modbus_connect(ctx) < 0) {
		fprintf(stderr, "mbserver: %s: %s\n", argv[1],
			modbus_strerror(errno));
		return 1;
	}
	m = modbus_mapping_new_start_address(0x1200, 0x90, 0, 0, 0, 0, 0x1000,
					     0x800);
	if (!m) {
		fprintf(stderr, "mbserver: %s\n", modbus_strerror(errno));
		return 1;
	}
	fill(m);
	printf("READY\n");
	fflush(stdout);
	for (;;) {
		int n = modbus_receive(ctx, query);

		if (n > 0)
			modbus_reply(ctx, query, n, m);
		else if (n < 0 && errno != EMBBADCRC && errno != EMBBADDATA &&
			 errno != ETIMEDOUT)
			break;
	}
	fprintf(stderr, "mbserver: %s\n", modbus_strerror(errno));
	modbus_mapping_free(m);
	modbus_close(ctx);
	modbus_free(ctx);
	return 1;
}
