/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for chain.c: the scheduler against batteries played by this
 * test on the master side of a pseudo-terminal. Either one JBD battery,
 * whose answers are the real frames of tests/data/jbd-doc-example.cap, or
 * a "~" (Pylontech) bus with packs at several addresses, whose answers
 * have the layout of the real frames of tests/data/pylontech-us2000.cap,
 * built with the codec's own pylon_build_frame() (the framing is tested
 * against the capture in test_pylon; here the chain's scheduling is).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "daly.h"
#include "evprio.h"
#include "jkpb.h"
#include "log.h"
#include "pylon.h"

static const uint8_t ans_basic[] = {
	0xDD, 0x03, 0x00, 0x1B, 0x17, 0x00, 0x00, 0x00, 0x02, 0xD0, 0x03, 0xE8,
	0x00, 0x00, 0x20, 0x78, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x48,
	0x03, 0x0F, 0x02, 0x0B, 0x76, 0x0B, 0x82, 0xFB, 0xFF, 0x77};
static const uint8_t ans_cells[] = {
	0xDD, 0x04, 0x00, 0x1E, 0x0F, 0x66, 0x0F, 0x63, 0x0F, 0x63,
	0x0F, 0x64, 0x0F, 0x3E, 0x0F, 0x63, 0x0F, 0x37, 0x0F, 0x5B,
	0x0F, 0x65, 0x0F, 0x3B, 0x0F, 0x63, 0x0F, 0x63, 0x0F, 0x3C,
	0x0F, 0x66, 0x0F, 0x3D, 0xF9, 0xF9, 0x77};

/* How the simulated battery behaves. */
struct battery_play {
	bool silent;
	bool echo;          /* RS485 adapter echoes our request */
	size_t garbage;     /* bytes of noise before each answer */
	bool corrupt_once;  /* first basic answer has a bad checksum */
	bool impossible;    /* cells answered as 0xFFFF mV, checksum valid */
	bool one_cell_less; /* 14 cells (and a pack voltage to match) */
	char model[16];     /* answers 0x05 with it; "" = silence */
	unsigned requests;
	uint8_t rx[256]; /* requests not complete yet */
	size_t rxlen;
};

/* One pack of a "~" bus. */
struct pack_play {
	unsigned addr;
	bool present;     /* answers at all */
	unsigned cell_mv; /* its first cell; the others 1 mV more each */
	char model[11];   /* 0x51 device name */
	char serial[17];  /* 0x93 */
	bool no_ident;    /* does not answer 0x51 and 0x93 */
	bool no_serial;   /* does not answer 0x93 */
	bool no_alarm;    /* does not answer 0x44 */
	unsigned analog;  /* 0x42 requests for this pack alone */
	unsigned ident;   /* 0x51 and 0x93 requests */
};

#define BUS_MAX_PACKS 8
#define BUS_CELLS     4
/* A stack answer reports every cell this much higher than the pack's own
 * 0x42 answer: a reading shows which of the two it came from. */
#define STACK_MARK_MV 10

/* A "~" bus: the port's protocol is pylontech. */
struct bus_play {
	bool on;
	bool stack; /* the master (lowest address) answers stack reads */
	unsigned npacks;
	struct pack_play packs[BUS_MAX_PACKS];
	unsigned stack_reads; /* stack requests seen ... */
	unsigned stack_adr;   /* ... the last one to this address */
	unsigned asked[256];  /* valid requests per address */
	/* Low cells: every 0x42 answer of the pack at low_addr carries a
	 * new one (low_mv, then 1 mV less each time: low_want), and the next
	 * request on the bus checks that the update callback (the daemon's
	 * guard) has already seen it. */
	unsigned low_addr, low_mv, low_want;
	bool low_sent;
	unsigned low_ok, low_late;
	uint8_t rx[4096]; /* requests not complete yet */
	size_t rxlen;
};

/* A JK-PB bus: one pack, and maybe a DIP-0 master polling it too. */
struct pb_play {
	bool on;
	unsigned addr;      /* the pack's */
	bool master;        /* another master polls the bus */
	uint64_t master_us; /* its last request */
	unsigned requests;  /* requests from the chain, any address */
	uint8_t counter;
	uint8_t rx[512];
	size_t rxlen;
};

/* A Daly pack (A5 frames, 16 cells, the answers of the real capture
 * tests/data/daly-16s-discharging.cap). */
struct daly_play {
	bool on;
	bool echo;            /* RS485 adapter echoes our request */
	bool asleep;          /* echo only, never an answer */
	unsigned cell_frames; /* 0x95 frames sent: 16 (the unit) or fewer */
	unsigned requests;
	uint8_t rx[256];
	size_t rxlen;
};

/* Every pack identity the bus ever had, with its cells: a reading that
 * pairs one battery's serial number with another's cells was mixed up. */
struct known_pack {
	char serial[17];
	unsigned cell_mv;
};

struct fixture {
	int master;
	char slave[64];
	char dir[64];  /* with a link: its directory ... */
	char link[96]; /* ... and the link the port opens */
	struct cfg cfg;
	sd_event *ev;
	struct chain *chain;
	unsigned updates;
	struct battery_play play;
	struct bus_play bus;
	struct pb_play pb;
	struct daly_play daly;
	/* what the callback saw */
	struct known_pack known[16];
	unsigned nknown;
	unsigned mixed;        /* readings with another battery's data */
	unsigned dropped[256]; /* a valid battery at this address lost it */
	bool was_valid[256];
	bool seen_low; /* the callback saw bus.low_mv at bus.low_addr */
	/* Each callback: how many batteries have a reading newer than at
	 * the callback before (partial: some but not all of them). */
	uint64_t last_seq[16];
	unsigned partial_updates;
	bool reenter;       /* try to reconfigure from the callback */
	int reenter_result; /* 1 refused as it must be, -1 accepted */
};

static struct fixture fx;

static const struct known_pack *known(const char *serial)
{
	for (unsigned i = 0; i < fx.nknown; i++)
		if (strcmp(fx.known[i].serial, serial) == 0)
			return &fx.known[i];
	return NULL;
}

static void remember(const char *serial, unsigned cell_mv)
{
	ck_assert_uint_lt(fx.nknown, 16);
	snprintf(fx.known[fx.nknown].serial, 17, "%s", serial);
	fx.known[fx.nknown++].cell_mv = cell_mv;
}

/* Every published reading is one battery's: its serial number and its
 * cells (its own 0x42 answer's, or the stack answer's) go together. */
static void check_readings(struct chain *c)
{
	for (unsigned i = 0; i < chain_count(c); i++) {
		const struct chain_battery *b = chain_battery(c, i);
		const struct known_pack *k = known(b->reading.serial);
		unsigned mv;

		if (b->addr < 256 && fx.was_valid[b->addr] && !b->valid)
			fx.dropped[b->addr]++;
		if (b->addr < 256)
			fx.was_valid[b->addr] = b->valid;
		if (!b->valid || !fx.bus.on)
			continue;
		mv = (unsigned)(b->reading.cell_v[0] * 1000.0 + 0.5);
		if (fx.bus.low_want && b->addr == fx.bus.low_addr &&
		    mv == fx.bus.low_want)
			fx.seen_low = true;
		if (!k ||
		    (mv != k->cell_mv && mv != k->cell_mv + STACK_MARK_MV))
			fx.mixed++;
	}
}

static void count_new_readings(const struct chain *c)
{
	unsigned n = chain_count(c), fresh = 0;

	for (unsigned i = 0; i < n && i < 16; i++) {
		uint64_t seq = chain_battery(c, i)->seq;

		if (seq != fx.last_seq[i])
			fresh++;
		fx.last_seq[i] = seq;
	}
	if (fresh > 0 && fresh < n)
		fx.partial_updates++;
}

static void on_update(struct chain *c, bool scan_done, void *userdata)
{
	char err[256];

	fx.updates++;
	check_readings(c);
	count_new_readings(c);
	if (fx.reenter) {
		/* chain.h: the callback must not change the chain. */
		fx.reenter = false;
		fx.reenter_result =
			chain_reconfigure(c, &fx.cfg, err, sizeof(err)) ? -1
									: 1;
		if (fx.reenter_result == 1)
			ck_assert_ptr_nonnull(strstr(err, "callback"));
	}
}

static void new_pty(void);

static void setup(void)
{
	memset(&fx, 0, sizeof(fx));
	new_pty();
	fx.cfg.poll_interval_ms = 200;
	fx.cfg.stale_after_ms = 600;
	fx.cfg.series = 1;
	fx.cfg.nports = 1;
	snprintf(fx.cfg.ports[0].name, CFG_NAME_LEN, "test");
	snprintf(fx.cfg.ports[0].device, CFG_PATH_LEN, "%s", fx.slave);
	snprintf(fx.cfg.ports[0].protocol, CFG_NAME_LEN, "jbd");
	fx.cfg.ports[0].timeout_ms = 60;
	log_init("test_chain", LOG_WARNING);
	ck_assert_int_ge(sd_event_new(&fx.ev), 0);
}

static void teardown(void)
{
	chain_free(fx.chain);
	sd_event_unref(fx.ev);
	close(fx.master);
	if (fx.link[0])
		unlink(fx.link);
	if (fx.dir[0])
		rmdir(fx.dir);
}

/* A new pty on the master side, fx.slave its name. */
static void new_pty(void)
{
	struct termios t;
	int slave;

	ck_assert_int_eq(openpty(&fx.master, &slave, fx.slave, NULL, NULL), 0);
	tcgetattr(fx.master, &t);
	cfmakeraw(&t);
	tcsetattr(fx.master, TCSANOW, &t);
	close(slave);
	fcntl(fx.master, F_SETFL, O_NONBLOCK);
}

/* The port opens a link to the pty, as a /dev/serial/by-id name or a
 * ttyUSB number is a name for whatever adapter has it now. */
static void use_link(void)
{
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_chain.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx.dir));
	snprintf(fx.link, sizeof(fx.link), "%s/ttyUSB0", fx.dir);
	ck_assert_int_eq(symlink(fx.slave, fx.link), 0);
	snprintf(fx.cfg.ports[0].device, CFG_PATH_LEN, "%s", fx.link);
}

/* The adapter is unplugged (the port hangs up) and an adapter is plugged
 * in under the same name: the link points to a new pty. */
static void replug(void)
{
	close(fx.master);
	new_pty();
	ck_assert_int_eq(unlink(fx.link), 0);
	ck_assert_int_eq(symlink(fx.slave, fx.link), 0);
	fx.bus.rxlen = 0;
	fx.play.rxlen = 0;
}

static void start_chain(void)
{
	char err[256];

	fx.chain = chain_new(fx.ev, &fx.cfg, on_update, NULL, err, sizeof(err));
	ck_assert_msg(fx.chain != NULL, "chain_new: %s", err);
}

/* Every cell of a 0x04 answer at 0xFFFF mV (65.535 V), with the
 * checksum made right again: well-formed, and impossible. */
static void impossible_cells(uint8_t *f, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 4; i + 3 < n; i++)
		f[i] = 0xFF;
	for (size_t i = 2; i + 3 < n; i++)
		sum += f[i];
	sum = 0x10000u - (sum & 0xFFFFu);
	f[n - 3] = (uint8_t)(sum >> 8);
	f[n - 2] = (uint8_t)sum;
}

/* The checksum of a JBD answer of n bytes made right again. */
static void jbd_checksum(uint8_t *f, size_t n)
{
	unsigned sum = 0;

	for (size_t i = 2; i + 3 < n; i++)
		sum += f[i];
	sum = 0x10000u - (sum & 0xFFFFu);
	f[n - 3] = (uint8_t)(sum >> 8);
	f[n - 2] = (uint8_t)sum;
}

/* The basic and cell answers of the same pack with its last cell gone (a
 * sense wire that the BMS now counts as absent): 14 cells, and a pack
 * voltage that matches their sum, so only the count tells. Returns the
 * new length. */
static size_t one_cell_less(uint8_t *f, size_t n, bool basic)
{
	if (basic) {
		f[25] = 14;
		f[4] = 0x15; /* 55.00 V */
		f[5] = 0x7C;
	} else {
		f[3] = 28;
		memmove(f + 32, f + 34, n - 34);
		n -= 2;
	}
	jbd_checksum(f, n);
	return n;
}

/* DD 05 00 LEN name CHK_HI CHK_LO 77: the checksum is 0x10000 minus
 * the sum of status, length and data. */
static size_t model_answer(uint8_t *f)
{
	size_t len = strlen(fx.play.model), n = 0;
	unsigned sum = 0;

	f[n++] = 0xDD;
	f[n++] = 0x05;
	f[n++] = 0x00;
	f[n++] = (uint8_t)len;
	memcpy(f + n, fx.play.model, len);
	n += len;
	for (size_t i = 2; i < n; i++)
		sum += f[i];
	sum = 0x10000u - (sum & 0xFFFFu);
	f[n++] = (uint8_t)(sum >> 8);
	f[n++] = (uint8_t)sum;
	f[n++] = 0x77;
	return n;
}

static void answer(const uint8_t *req, size_t n)
{
	static const uint8_t noise[] = {0x00, 0x77, 0xDD, 0x12, 0xFF, 0xA5};
	uint8_t out[128];
	size_t len = 0;

	if (fx.play.echo) {
		memcpy(out, req, n);
		len = n;
	}
	for (size_t k = 0; k < fx.play.garbage; k++)
		out[len++] = noise[k % sizeof(noise)];
	if (req[2] == 0x03) {
		memcpy(out + len, ans_basic, sizeof(ans_basic));
		if (fx.play.corrupt_once) {
			out[len + 5] ^= 0x01;
			fx.play.corrupt_once = false;
		}
		len += fx.play.one_cell_less
			       ? one_cell_less(out + len, sizeof(ans_basic),
					       true)
			       : sizeof(ans_basic);
	} else if (req[2] == 0x04) {
		memcpy(out + len, ans_cells, sizeof(ans_cells));
		if (fx.play.impossible)
			impossible_cells(out + len, sizeof(ans_cells));
		len += fx.play.one_cell_less
			       ? one_cell_less(out + len, sizeof(ans_cells),
					       false)
			       : sizeof(ans_cells);
	} else if (fx.play.model[0]) {
		len += model_answer(out + len);
	} else {
		return; /* 0x05 unsupported by this battery: silence */
	}
	ck_assert_int_eq(write(fx.master, out, len), (ssize_t)len);
}

/* Serve requests on the master side: every 7-byte JBD read request. */
static void serve_jbd(void)
{
	uint8_t *buf = fx.play.rx;
	size_t *have = &fx.play.rxlen;
	ssize_t n = read(fx.master, buf + *have, sizeof(fx.play.rx) - *have);

	if (n <= 0)
		return;
	*have += (size_t)n;
	while (*have >= 7) {
		if (buf[0] != 0xDD || buf[1] != 0xA5) {
			memmove(buf, buf + 1, --*have);
			continue;
		}
		fx.play.requests++;
		if (!fx.play.silent)
			answer(buf, 7);
		memmove(buf, buf + 7, *have - 7);
		*have -= 7;
	}
}

/* --- the "~" bus ------------------------------------------------------ */

static struct pack_play *bus_pack(unsigned addr)
{
	for (unsigned i = 0; i < fx.bus.npacks; i++)
		if (fx.bus.packs[i].addr == addr)
			return &fx.bus.packs[i];
	return NULL;
}

/* The pack at addr; a missing one fails the test. */
static struct pack_play *pack(unsigned addr)
{
	static struct pack_play none;
	struct pack_play *pk = bus_pack(addr);

	if (!pk)
		ck_abort_msg("no pack at address %u", addr);
	return pk ? pk : &none;
}

/* The pack at addr starts or stops answering. */
static void pack_present(unsigned addr, bool on)
{
	struct pack_play *pk = bus_pack(addr);

	ck_assert_ptr_nonnull(pk);
	if (pk)
		pk->present = on;
}

/* The master: the pack at the lowest address that answers. */
static const struct pack_play *bus_master(void)
{
	const struct pack_play *m = NULL;

	for (unsigned i = 0; i < fx.bus.npacks; i++) {
		const struct pack_play *pk = &fx.bus.packs[i];

		if (pk->present && (!m || pk->addr < m->addr))
			m = pk;
	}
	return m;
}

static size_t put16(uint8_t *o, size_t n, unsigned v)
{
	o[n] = (uint8_t)(v >> 8);
	o[n + 1] = (uint8_t)v;
	return n + 2;
}

/* One pack's 0x42 block, from the cell count on (Pylontech, UDI 2): cells
 * in mV, two sensors in 0.1 K, current 0, pack voltage in mV, remaining
 * 40 Ah, full 50 Ah, 7 cycles. */
static size_t pack_block(const struct pack_play *pk, unsigned mark_mv,
			 uint8_t *o)
{
	unsigned sum = 0;
	size_t n = 0;

	o[n++] = BUS_CELLS;
	for (unsigned i = 0; i < BUS_CELLS; i++) {
		sum += pk->cell_mv + i + mark_mv;
		n = put16(o, n, pk->cell_mv + i + mark_mv);
	}
	o[n++] = 2;
	n = put16(o, n, 2731 + 250); /* 25.0 degrees C */
	n = put16(o, n, 2731 + 260);
	n = put16(o, n, 0);
	n = put16(o, n, sum);
	n = put16(o, n, 40000);
	o[n++] = 2;
	n = put16(o, n, 50000);
	n = put16(o, n, 7);
	return n;
}

static void bus_send(unsigned adr, const uint8_t *info, size_t ninfo)
{
	uint8_t out[PYLON_PROTO_MAX_FRAME];
	size_t len = pylon_build_frame(0x20, (uint8_t)adr, PYLON_CID1, 0x00,
				       info, ninfo, out, sizeof(out));

	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(write(fx.master, out, len), (ssize_t)len);
}

/* DATAFLAG, the pack count, then the blocks of the master and of the
 * packs at the addresses right after it. */
/* The pack's next low cell (1 mV lower each answer), as sent with mark
 * added: the next request checks that the callback has seen it. */
static void low_cell_next(struct pack_play *pk, unsigned mark)
{
	pk->cell_mv = fx.bus.low_mv - fx.bus.low_ok - fx.bus.low_late;
	fx.bus.low_want = pk->cell_mv + mark;
	fx.seen_low = false;
	fx.bus.low_sent = true;
}

static void bus_stack_answer(const struct pack_play *master)
{
	uint8_t info[PYLON_MAX_INFO];
	size_t n = 2;
	unsigned count = 0;
	const struct pack_play *pk;

	for (unsigned a = master->addr; (pk = bus_pack(a)) && pk->present;
	     a++, count++) {
		struct pack_play *low = bus_pack(fx.bus.low_addr);

		if (fx.bus.low_mv && low && pk == low)
			low_cell_next(low, STACK_MARK_MV);
		n += pack_block(pk, STACK_MARK_MV, info + n);
	}
	info[0] = 0x00;
	info[1] = (uint8_t)count;
	bus_send(master->addr, info, n);
}

/* 0x44: no cell, sensor or current alarm; Status2: both MOSFETs on. */
static void bus_alarm_answer(const struct pack_play *pk)
{
	uint8_t info[64];
	size_t n = 0;

	info[n++] = 0x00;
	info[n++] = (uint8_t)pk->addr;
	info[n++] = BUS_CELLS;
	for (unsigned i = 0; i < BUS_CELLS; i++)
		info[n++] = 0;
	info[n++] = 2;
	info[n++] = 0;
	info[n++] = 0;
	for (unsigned i = 0; i < 3; i++)
		info[n++] = 0;
	for (unsigned i = 0; i < 5; i++)
		info[n++] = i == 1 ? 0x06 : 0x00;
	bus_send(pk->addr, info, n);
}

static void bus_request(const struct pylon_frame *fr)
{
	struct pack_play *pk = bus_pack(fr->adr);
	uint8_t info[PYLON_MAX_INFO];
	size_t n = 0;

	if (fr->ver != 0x20 || fr->cid1 != PYLON_CID1)
		return;
	fx.bus.asked[fr->adr]++;
	if (fx.bus.low_sent) {
		fx.bus.low_sent = false;
		if (fx.seen_low)
			fx.bus.low_ok++;
		else
			fx.bus.low_late++;
	}
	if (!pk || !pk->present)
		return;
	switch (fr->cid2) {
	case PYLON_ANALOG:
		/* The stack read: INFO FF (or "02FF"), to the master. */
		if (fr->ninfo >= 1 && fr->info[fr->ninfo - 1] == 0xFF) {
			fx.bus.stack_reads++;
			fx.bus.stack_adr = fr->adr;
			if (fx.bus.stack && pk == bus_master())
				bus_stack_answer(pk);
			return;
		}
		pk->analog++;
		if (fx.bus.low_mv && pk->addr == fx.bus.low_addr)
			low_cell_next(pk, 0);
		info[n++] = 0x00;
		info[n++] = (uint8_t)pk->addr;
		n += pack_block(pk, 0, info + n);
		bus_send(pk->addr, info, n);
		return;
	case PYLON_ALARM:
		if (!pk->no_alarm)
			bus_alarm_answer(pk);
		return;
	case PYLON_MANUFACTURER: /* name 10, version 2, vendor 20 */
		pk->ident++;
		if (pk->no_ident)
			return;
		memset(info, 0, 32);
		memcpy(info, pk->model, strnlen(pk->model, 10));
		info[10] = 1;
		info[11] = 2;
		memcpy(info + 12, "TESTBUS", 7);
		bus_send(pk->addr, info, 32);
		return;
	case PYLON_SERIAL: /* the address, 16 characters */
		pk->ident++;
		if (pk->no_ident || pk->no_serial)
			return;
		info[0] = (uint8_t)pk->addr;
		memset(info + 1, ' ', 16);
		memcpy(info + 1, pk->serial, strnlen(pk->serial, 16));
		bus_send(pk->addr, info, 17);
		return;
	default:
		return;
	}
}

/* Serve every complete "~...CR" request on the master side. */
static void serve_bus(void)
{
	struct bus_play *b = &fx.bus;
	ssize_t n = read(fx.master, b->rx + b->rxlen, sizeof(b->rx) - b->rxlen);
	uint8_t *start, *cr;
	struct pylon_frame fr;

	if (n <= 0)
		return;
	b->rxlen += (size_t)n;
	while ((start = memchr(b->rx, '~', b->rxlen)) &&
	       (cr = memchr(start, '\r', b->rxlen - (size_t)(start - b->rx)))) {
		size_t len = (size_t)(cr - start) + 1;

		if (pylon_parse_frame(start, len, &fr) == DRV_OK)
			bus_request(&fr);
		b->rxlen -= (size_t)(cr + 1 - b->rx);
		memmove(b->rx, cr + 1, b->rxlen);
	}
	if (b->rxlen == sizeof(b->rx))
		b->rxlen = 0;
}

/* A "~" bus with packs at addrs (present, each its own cells and
 * serial); the port reads them at those addresses. */
static void bus_setup(const unsigned *addrs, unsigned n)
{
	struct cfg_port *cp = &fx.cfg.ports[0];

	ck_assert_uint_le(n, BUS_MAX_PACKS);
	fx.bus.on = true;
	fx.bus.stack = true;
	fx.bus.npacks = n;
	for (unsigned i = 0; i < n; i++) {
		struct pack_play *pk = &fx.bus.packs[i];

		pk->addr = addrs[i];
		pk->present = true;
		pk->cell_mv = 3200 + 10 * addrs[i];
		snprintf(pk->model, sizeof(pk->model), "US2000");
		snprintf(pk->serial, sizeof(pk->serial), "PPTBH0200%07u",
			 addrs[i]);
		remember(pk->serial, pk->cell_mv);
		cp->addrs[i] = addrs[i];
	}
	cp->naddrs = n;
	snprintf(cp->protocol, CFG_NAME_LEN, "pylontech");
	cp->timeout_ms = 120;
	fx.cfg.stale_after_ms = 1500;
}

/* Scan the candidates first..last instead of reading the packs. */
static void bus_scan(unsigned first, unsigned last, unsigned expect)
{
	struct cfg_port *cp = &fx.cfg.ports[0];

	cp->scan = true;
	cp->expect = expect;
	cp->naddrs = 0;
	for (unsigned a = first; a <= last; a++)
		cp->addrs[cp->naddrs++] = a;
}

/* --- a JK-PB bus ------------------------------------------------------- */

/* The 300-byte frame of type for reg from the pack at addr, with its
 * acknowledgement (the codec's own CRC and sum: the framing is tested
 * against the captures in test_jkpb; here the chain is). */
static void pb_answer(uint8_t reg)
{
	uint8_t f[JKPB_ANSWER_MIN];
	uint16_t crc;

	memset(f, 0, sizeof(f));
	memcpy(f, "\x55\xAA\xEB\x90", 4);
	f[4] = reg == JKPB_REG_STATUS ? JKPB_TYPE_STATUS : JKPB_TYPE_INFO;
	f[5] = fx.pb.counter++;
	if (reg == JKPB_REG_STATUS) {
		for (unsigned i = 0; i < 4; i++) {
			f[6 + 2 * i] = 3300 & 0xFF; /* 3.300 V */
			f[7 + 2 * i] = 3300 >> 8;
		}
		f[70] = 0x0F;          /* 4 cells */
		f[144] = 250;          /* MOSFET 25.0 C */
		f[150] = 13200 & 0xFF; /* 13.2 V */
		f[151] = 13200 >> 8;
		f[162] = 240;                                /* T1 24.0 C */
		f[173] = 50;                                 /* SoC */
		f[176] = 0x00, f[175] = 0xC3, f[174] = 0x50; /* 50 Ah */
		f[180] = 0x01, f[179] = 0x86, f[178] = 0xA0; /* 100 Ah */
		f[198] = f[199] = 1;
		f[214] = 0x03;
	} else if (reg == JKPB_REG_INFO) {
		memcpy(f + 6, "JK_PB2A16S20P", 13);
		memcpy(f + 30, "15.38", 5);
		memcpy(f + 86, "00000000001", 11);
	} else {
		return;
	}
	f[299] = jkpb_sum8(f, 299);
	f[300] = (uint8_t)fx.pb.addr;
	memcpy(f + 301, "\x10\x16", 2);
	f[303] = reg;
	f[304] = 0x00;
	f[305] = 0x01;
	crc = jkpb_crc16(f + 300, 6);
	f[306] = (uint8_t)crc;
	f[307] = (uint8_t)(crc >> 8);
	ck_assert_int_eq(write(fx.master, f, sizeof(f)), (ssize_t)sizeof(f));
}

/* The master's pace: a status request to address 5 every 100 ms. */
static void pb_master(void)
{
	uint8_t q[JKPB_REQ_LEN];
	uint64_t now = 0;

	sd_event_now(fx.ev, CLOCK_MONOTONIC, &now);
	if (!fx.pb.master || now - fx.pb.master_us < 100000)
		return;
	fx.pb.master_us = now;
	ck_assert_uint_eq(jkpb_build_request(5, JKPB_REG_STATUS, q, sizeof(q)),
			  sizeof(q));
	ck_assert_int_eq(write(fx.master, q, sizeof(q)), (ssize_t)sizeof(q));
}

static void serve_pb(void)
{
	struct pb_play *b = &fx.pb;
	ssize_t n = read(fx.master, b->rx + b->rxlen, sizeof(b->rx) - b->rxlen);
	unsigned addr;
	uint8_t reg;

	pb_master();
	if (n <= 0)
		return;
	b->rxlen += (size_t)n;
	while (b->rxlen >= JKPB_REQ_LEN) {
		if (!jkpb_is_request(b->rx, JKPB_REQ_LEN, &addr, &reg)) {
			memmove(b->rx, b->rx + 1, --b->rxlen);
			continue;
		}
		b->requests++;
		if (addr == b->addr)
			pb_answer(reg);
		b->rxlen -= JKPB_REQ_LEN;
		memmove(b->rx, b->rx + JKPB_REQ_LEN, b->rxlen);
	}
}

static void pb_setup(void)
{
	struct cfg_port *cp = &fx.cfg.ports[0];

	fx.pb.on = true;
	fx.pb.addr = 1;
	cp->addrs[0] = 1;
	cp->naddrs = 1;
	snprintf(cp->protocol, CFG_NAME_LEN, "jk-pb");
	cp->timeout_ms = 100;
}

/* --- a Daly pack ------------------------------------------------------ */

/* The 8 data bytes of the capture's answer to id (frame: 0x95 / 0x96
 * frame number, from 1); false: this pack does not answer id. */
static bool daly_data(uint8_t id, unsigned frame, uint8_t d[8])
{
	static const uint8_t cells[6][6] = {
		{0x0C, 0xFD, 0x0C, 0xFE, 0x0C, 0xFE},
		{0x0C, 0xFE, 0x0C, 0xFE, 0x0C, 0xFE},
		{0x0C, 0xFE, 0x0C, 0xFE, 0x0C, 0xFE},
		{0x0C, 0xFE, 0x0C, 0xFC, 0x0C, 0xFE},
		{0x0C, 0xFE, 0x0C, 0xFF, 0x0C, 0xFE},
		{0x0C, 0xFC, 0x00, 0x00, 0x00, 0x00},
	};
	static const uint8_t soc[8] = {0x02, 0x14, 0,    0,
				       0x75, 0x45, 0x03, 0x78};
	static const uint8_t state[8] = {0x02, 0x01, 0x01, 0x78,
					 0x00, 0x03, 0xCB, 0x40};
	static const uint8_t info[8] = {0x10, 0x01, 0, 0, 0, 0x00, 0x03, 0x40};

	memset(d, 0, 8);
	switch (id) {
	case DALY_ID_SOC:
		memcpy(d, soc, 8);
		return true;
	case DALY_ID_STATE:
		memcpy(d, state, 8);
		return true;
	case DALY_ID_INFO:
		memcpy(d, info, 8);
		return true;
	case DALY_ID_CELLS:
		d[0] = (uint8_t)frame;
		if (frame <= 6)
			memcpy(d + 1, cells[frame - 1], 6);
		d[7] = 0x40;
		return true;
	case DALY_ID_TEMPS:
		d[0] = 1;
		d[1] = 0x37; /* 15 C */
		return true;
	case DALY_ID_FAILURES:
		return true; /* no failure */
	default:
		return false; /* 0x97: this unit does not answer it */
	}
}

static void daly_send(uint8_t id, unsigned frame)
{
	uint8_t f[DALY_FRAME_LEN];

	if (!daly_data(id, frame, f + 4))
		return;
	f[0] = DALY_START;
	f[1] = DALY_BMS_ADDR;
	f[2] = id;
	f[3] = 8;
	f[12] = daly_sum(f, 12);
	ck_assert_int_eq(write(fx.master, f, sizeof(f)), (ssize_t)sizeof(f));
}

static void serve_daly(void)
{
	struct daly_play *b = &fx.daly;
	ssize_t n = read(fx.master, b->rx + b->rxlen, sizeof(b->rx) - b->rxlen);

	if (n <= 0)
		return;
	b->rxlen += (size_t)n;
	while (b->rxlen >= DALY_FRAME_LEN) {
		uint8_t id = b->rx[2];

		if (b->rx[0] != DALY_START || b->rx[1] != DALY_HOST_ADDR) {
			memmove(b->rx, b->rx + 1, --b->rxlen);
			continue;
		}
		b->requests++;
		if (b->echo || b->asleep)
			ck_assert_int_eq(
				write(fx.master, b->rx, DALY_FRAME_LEN),
				DALY_FRAME_LEN);
		if (!b->asleep) {
			unsigned frames =
				id == DALY_ID_CELLS ? b->cell_frames : 1;

			for (unsigned k = 1; k <= frames; k++)
				daly_send(id, k);
		}
		b->rxlen -= DALY_FRAME_LEN;
		memmove(b->rx, b->rx + DALY_FRAME_LEN, b->rxlen);
	}
}

static void daly_setup(void)
{
	fx.daly.on = true;
	fx.daly.cell_frames = DALY_MAX_FRAMES;
	snprintf(fx.cfg.ports[0].protocol, CFG_NAME_LEN, "daly");
	/* 16 frames at the pty's speed; a 9600 baud line needs 500 ms */
	fx.cfg.ports[0].timeout_ms = 100;
	fx.cfg.stale_after_ms = 3000;
}

static void serve(void)
{
	if (fx.daly.on)
		serve_daly();
	else if (fx.pb.on)
		serve_pb();
	else if (fx.bus.on)
		serve_bus();
	else
		serve_jbd();
}

/* Run the loop and the battery for ms milliseconds of real time. */
static void run_for(unsigned ms)
{
	uint64_t start, now;

	sd_event_now(fx.ev, CLOCK_MONOTONIC, &start);
	do {
		sd_event_run(fx.ev, 5000);
		serve();
		now = 0;
		sd_event_now(fx.ev, CLOCK_MONOTONIC, &now);
	} while (now - start < ms * 1000ULL);
}

/* Run until done() or at most ms milliseconds; done() at the end. */
static bool run_until(bool (*done)(void), unsigned ms)
{
	uint64_t start, now;

	sd_event_now(fx.ev, CLOCK_MONOTONIC, &start);
	do {
		sd_event_run(fx.ev, 5000);
		serve();
		if (done())
			return true;
		now = 0;
		sd_event_now(fx.ev, CLOCK_MONOTONIC, &now);
	} while (now - start < ms * 1000ULL);
	return done();
}

static struct chain_port_stats port_stats(void)
{
	struct chain_port_stats st;

	chain_port_stats(fx.chain, 0, &st);
	return st;
}

static bool first_pass_done(void)
{
	return port_stats().discovery_passes >= 1;
}

static bool all_valid(void)
{
	for (unsigned i = 0; i < chain_count(fx.chain); i++)
		if (!chain_battery(fx.chain, i)->valid ||
		    chain_battery(fx.chain, i)->stale)
			return false;
	return chain_count(fx.chain) > 0;
}

static bool three_found(void)
{
	return chain_count(fx.chain) == 3 && all_valid();
}

/* The addresses of the batteries, in the numbering users see. */
static void assert_addresses(const unsigned *want, unsigned n)
{
	ck_assert_uint_eq(chain_count(fx.chain), n);
	for (unsigned i = 0; i < n; i++) {
		const struct chain_battery *b = chain_battery(fx.chain, i);

		ck_assert_uint_eq(b->addr, want[i]);
		ck_assert_uint_eq(b->index, i);
	}
}

/* Battery i's first cell, in volts, against a pack's cell_mv. */
static void assert_cell0(unsigned i, unsigned mv)
{
	ck_assert_double_eq_tol(chain_battery(fx.chain, i)->reading.cell_v[0],
				mv / 1000.0, 1e-9);
}

static const struct chain_battery *bat0(void)
{
	return chain_battery(fx.chain, 0);
}

static bool bat0_fresh(void)
{
	return bat0()->valid && !bat0()->stale;
}

static bool port_refused(void)
{
	return strstr(port_stats().last_error, "another master") != NULL;
}

START_TEST(reads_a_jbd_battery)
{
	start_chain();
	ck_assert_uint_eq(chain_count(fx.chain), 1);
	ck_assert(bat0()->stale && !bat0()->valid);
	run_for(300);
	ck_assert(bat0()->valid);
	ck_assert(!bat0()->stale);
	ck_assert_double_eq_tol(bat0()->reading.voltage, 58.88, 1e-9);
	ck_assert_uint_eq(bat0()->reading.ncells, 15);
	ck_assert_double_eq_tol(bat0()->reading.cell_v[6], 3.895, 1e-9);
	ck_assert_uint_ge(bat0()->frames_good, 2);
	ck_assert_uint_eq(bat0()->frames_bad, 0);
	ck_assert_uint_gt(fx.updates, 0);
	ck_assert_uint_gt(chain_scans(fx.chain), 0);
}
END_TEST

START_TEST(skips_echo_and_garbage)
{
	fx.play.echo = true;
	fx.play.garbage = 5;
	start_chain();
	run_for(300);
	ck_assert(bat0()->valid);
	ck_assert_double_eq_tol(bat0()->reading.voltage, 58.88, 1e-9);
	ck_assert_double_eq_tol(bat0()->reading.cell_v[14], 3.901, 1e-9);
}
END_TEST

START_TEST(corrupt_answer_is_counted_and_retried)
{
	fx.play.corrupt_once = true;
	start_chain();
	run_for(400);
	ck_assert_uint_ge(bat0()->frames_bad, 1);
	ck_assert(bat0()->valid);
	ck_assert_double_eq_tol(bat0()->reading.voltage, 58.88, 1e-9);
}
END_TEST

START_TEST(silent_battery_times_out_then_goes_stale)
{
	start_chain();
	run_for(300);
	ck_assert(bat0()->valid && !bat0()->stale);
	fx.play.silent = true;
	run_for(1000);
	ck_assert(bat0()->stale);
	ck_assert(bat0()->valid); /* it had data once; the data is old */
	ck_assert_uint_ge(bat0()->timeouts, 1);
	/* It answers again: fresh data, not stale. */
	fx.play.silent = false;
	run_for(400);
	ck_assert(!bat0()->stale);
}
END_TEST

START_TEST(each_request_is_retried_once)
{
	fx.play.silent = true;
	fx.cfg.poll_interval_ms = 1000;
	start_chain();
	/* One scan: basic times out after 60 ms and is retried once, then the
	 * battery is given up for this scan. */
	run_for(300);
	ck_assert_uint_eq(fx.play.requests, 2);
	ck_assert_uint_eq(bat0()->timeouts, 1);
}
END_TEST

START_TEST(missing_device_is_retried_not_fatal)
{
	snprintf(fx.cfg.ports[0].device, CFG_PATH_LEN, "/dev/nonexistent-tty");
	start_chain();
	run_for(300);
	ck_assert(!bat0()->valid);
	ck_assert(bat0()->stale);
}
END_TEST

/* ---- a port that never runs dry (evprio.h, chain.c RX_BURST) ---------- */

static unsigned service_runs;

static int on_service(sd_event_source *s, int fd, uint32_t revents,
		      void *userdata)
{
	eventfd_t v;

	(void)s;
	(void)revents;
	(void)userdata;
	(void)eventfd_read(fd, &v);
	service_runs++;
	return 0;
}

/* The gateway's side: fill the socket until the kernel takes no more, so
 * the port stays readable however much it reads. */
static void flood(int fd)
{
	static const uint8_t junk[65536];

	while (send(fd, junk, sizeof(junk), MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
		;
}

/* A listening TCP socket on 127.0.0.1 as the port's gateway. */
static int gateway_listen(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
	snprintf(fx.cfg.ports[0].device, CFG_PATH_LEN, "tcp://127.0.0.1:%u",
		 ntohs(a.sin_port));
	return l;
}

/* Start the chain and take its port's connection (made at its first
 * tick) on listening socket l: the gateway's side. */
static int gateway_accept(int l)
{
	int g;

	start_chain();
	for (unsigned i = 0; (g = accept(l, NULL, NULL)) < 0 && i < 200; i++)
		run_for(10);
	ck_assert_int_ge(g, 0);
	return g;
}

/* A gateway pours bytes faster than the port reads them. The port is read
 * before the control socket (evprio.h), so without a limit the control
 * socket would never be served and "mode off" could not get through; the
 * port must rest now and then, and say so. */
START_TEST(a_flooding_port_does_not_starve_the_service_sources)
{
	int l = gateway_listen(), g = gateway_accept(l), efd;
	sd_event_source *svc = NULL;
	unsigned turns = 0;

	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ck_assert_int_ge(efd, 0);
	ck_assert_int_ge(
		sd_event_add_io(fx.ev, &svc, efd, EPOLLIN, on_service, NULL),
		0);
	ck_assert_int_ge(sd_event_source_set_priority(svc, EVPRIO_SERVICE), 0);
	service_runs = 0;
	flood(g);
	ck_assert_int_eq(eventfd_write(efd, 1), 0);
	/* Without the limit the port is ready at every turn: 20,000 turns
	 * read 160 MB and the service source never runs. */
	while (service_runs == 0 && turns++ < 20000) {
		sd_event_run(fx.ev, 100000);
		flood(g);
	}
	ck_assert_msg(service_runs == 1,
		      "a service source waited %u loop turns behind a port "
		      "that stayed readable",
		      turns);
	/* ...and only once the port had the loop for a while: it was read
	 * at every turn until then (the flood did reach it). */
	ck_assert_msg(turns > 100, "the port held the loop %u turns", turns);
	ck_assert(port_stats().open);
	/* The pause ends with its window, and is counted. */
	for (turns = 0; port_stats().rx_pauses == 0 && turns < 200; turns++)
		sd_event_run(fx.ev, 10000);
	ck_assert_uint_ge(port_stats().rx_pauses, 1);
	sd_event_source_disable_unref(svc);
	close(efd);
	close(g);
	close(l);
}
END_TEST

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A reload while a flooded port rests keeps the port (same [port]): its
 * pause ends as it would have, and the port is read again. */
START_TEST(a_reload_during_a_read_pause_keeps_the_port_read)
{
	static struct cfg same;
	int l = gateway_listen(), g = gateway_accept(l);
	unsigned long long before;
	unsigned turns;
	char err[256];

	for (turns = 0; port_stats().rx_pauses == 0 && turns < 20000; turns++) {
		flood(g);
		sd_event_run(fx.ev, 100000);
	}
	ck_assert_uint_eq(port_stats().rx_pauses, 1); /* resting now */
	same = fx.cfg;
	fx.chain = chain_reconfigure(fx.chain, &same, err, sizeof(err));
	ck_assert_msg(fx.chain != NULL, "%s", err);
	ck_assert_uint_eq(port_stats().opens, 1); /* the transport was kept */
	before = port_stats().rx_bytes;
	/* Past the window, the gateway still pouring (a request's flush
	 * drops what waited). */
	for (uint64_t t0 = now_ms(), t = t0; t - t0 < 300; t = now_ms()) {
		flood(g);
		sd_event_run(fx.ev, 5000);
	}
	ck_assert_msg(port_stats().rx_bytes > before,
		      "the port was not read again after a reload during "
		      "its pause");
	close(g);
	close(l);
}
END_TEST

START_TEST(stall_detection_for_the_watchdog)
{
	uint64_t now;

	fx.play.silent = true; /* requests time out: still progress */
	start_chain();
	run_for(500);
	sd_event_now(fx.ev, CLOCK_MONOTONIC, &now);
	ck_assert(!chain_stalled(fx.chain, now));
	/* Seen from 5 s later without a tick in between: stuck. */
	ck_assert(chain_stalled(fx.chain, now + 5000000));
}
END_TEST

/* I5: a well-formed answer with impossible cells is not published. */
START_TEST(impossible_reading_is_rejected_and_counted)
{
	start_chain();
	run_for(300);
	ck_assert(bat0()->valid);
	ck_assert_double_eq_tol(bat0()->reading.cell_v[0], 3.942, 1e-9);
	fx.play.impossible = true;
	run_for(1000);
	ck_assert_uint_ge(bat0()->rejected, 2);
	ck_assert_uint_eq(bat0()->frames_bad, 0); /* the frames were fine */
	ck_assert_ptr_nonnull(strstr(bat0()->last_rejection, "65.535 V"));
	/* the last good reading stays, and it went stale */
	ck_assert_double_eq_tol(bat0()->reading.cell_v[0], 3.942, 1e-9);
	ck_assert(bat0()->stale);
}
END_TEST

/* A battery whose cell count changes is not read right (a cell that
 * reads 0 dropped by the codec, a frame of another pack): the reading is
 * rejected, not published with a cell unwatched, even when its pack
 * voltage matches the cells it has. */
START_TEST(cell_count_change_is_rejected)
{
	start_chain();
	run_for(300);
	ck_assert(bat0()->valid);
	ck_assert_uint_eq(bat0()->reading.ncells, 15);
	fx.play.one_cell_less = true;
	run_for(1000);
	ck_assert_uint_ge(bat0()->rejected, 2);
	ck_assert_ptr_nonnull(strstr(bat0()->last_rejection, "15 to 14"));
	ck_assert_uint_eq(bat0()->reading.ncells, 15);
	ck_assert(bat0()->stale);
}
END_TEST

/* A reload with the same [port]: the transport is kept (not reopened),
 * and the battery with its reading. */
START_TEST(reconfigure_keeps_an_unchanged_port)
{
	static struct cfg same;
	struct chain_port_stats st;
	uint64_t good;
	char err[256];

	start_chain();
	run_for(300);
	ck_assert(bat0()->valid && !bat0()->stale);
	good = bat0()->last_good_us;
	chain_port_stats(fx.chain, 0, &st);
	ck_assert_uint_eq(st.opens, 1);
	same = fx.cfg;
	same.ports[0].line = 42; /* moved in the file: still the same */
	fx.chain = chain_reconfigure(fx.chain, &same, err, sizeof(err));
	ck_assert_msg(fx.chain != NULL, "%s", err);
	ck_assert(bat0()->valid && !bat0()->stale);
	ck_assert_uint_eq(bat0()->last_good_us, good);
	ck_assert_double_eq_tol(bat0()->reading.voltage, 58.88, 1e-9);
	run_for(400);
	chain_port_stats(fx.chain, 0, &st);
	ck_assert(st.open);
	ck_assert_uint_eq(st.opens, 1); /* the transport was kept */
	ck_assert_uint_gt(bat0()->last_good_us, good);
}
END_TEST

/* A changed [port] is reopened; its battery keeps when it last answered
 * (comm loss goes on counting) but is stale until it answers again. */
START_TEST(reconfigure_reopens_a_changed_port)
{
	static struct cfg changed;
	struct chain_port_stats st;
	uint64_t good;
	char err[256];

	start_chain();
	run_for(300);
	good = bat0()->last_good_us;
	changed = fx.cfg;
	changed.ports[0].timeout_ms = 80;
	fx.chain = chain_reconfigure(fx.chain, &changed, err, sizeof(err));
	ck_assert_msg(fx.chain != NULL, "%s", err);
	ck_assert(bat0()->valid && bat0()->stale);
	ck_assert_uint_eq(bat0()->last_good_us, good);
	chain_port_stats(fx.chain, 0, &st);
	ck_assert(!st.open);
	ck_assert_uint_eq(st.timeout_us, 80000);
	run_for(400);
	chain_port_stats(fx.chain, 0, &st);
	ck_assert(st.open);
	ck_assert_uint_eq(st.opens, 1);
	ck_assert(!bat0()->stale);
	ck_assert(chain_port_cfg_equal(&changed.ports[0], &changed.ports[0]));
	ck_assert(!chain_port_cfg_equal(&fx.cfg.ports[0], &changed.ports[0]));
}
END_TEST

/* A changed port's batteries keep their last reading but are stale until
 * they answer under the new configuration: a silent one must not become
 * fresh again at the next tick (its reading is younger than stale_after,
 * and was taken under the old configuration). */
START_TEST(reconfigured_port_stays_stale_until_it_answers)
{
	static struct cfg changed;
	char err[256];

	start_chain();
	run_for(300);
	ck_assert(bat0()->valid && !bat0()->stale);
	fx.play.silent = true;
	changed = fx.cfg;
	changed.ports[0].timeout_ms = 80;
	fx.chain = chain_reconfigure(fx.chain, &changed, err, sizeof(err));
	ck_assert_msg(fx.chain != NULL, "%s", err);
	ck_assert(bat0()->stale);
	run_for(250); /* ticks, within stale_after (600 ms) of that reading */
	ck_assert_msg(bat0()->stale, "fresh again without an answer");
	fx.play.silent = false;
	run_for(600);
	ck_assert(!bat0()->stale);
}
END_TEST

/* --- discovery and stack reads on a "~" bus ---------------------------- */

/* "addresses = scan 2-5" with packs at 2 and 4: the first pass asks every
 * candidate (twice where nothing answers) and only those that gave a
 * complete reading are batteries, in address order. */
START_TEST(scan_finds_the_packs_that_answer)
{
	static const unsigned packs[] = {2, 4}, want[] = {2, 4};
	struct chain_port_stats st;

	bus_setup(packs, 2);
	bus_scan(2, 5, 0);
	start_chain();
	ck_assert_uint_eq(chain_count(fx.chain), 0);
	ck_assert(!chain_ready(fx.chain));
	ck_assert(run_until(first_pass_done, 3000));
	assert_addresses(want, 2);
	ck_assert(all_valid());
	ck_assert(chain_ready(fx.chain));
	assert_cell0(0, 3220);
	assert_cell0(1, 3240);
	ck_assert_str_eq(chain_battery(fx.chain, 1)->reading.serial,
			 "PPTBH02000000004");
	/* The silent candidates were asked, twice in the first pass. */
	ck_assert_uint_eq(fx.bus.asked[3], 2);
	ck_assert_uint_eq(fx.bus.asked[5], 2);
	st = port_stats();
	ck_assert(st.scan);
	ck_assert_uint_eq(st.candidates, 4);
	ck_assert_uint_eq(st.nbatteries, 2);
	ck_assert_uint_eq(st.probes, 4);
	ck_assert(!st.discovering);
}
END_TEST

/* expect = 3 and two packs answer: the chain is not ready, and it keeps
 * looking (at once, not only at the rescan interval). The third pack,
 * found later, takes its place in address order. */
START_TEST(expect_not_reached_keeps_the_chain_not_ready)
{
	static const unsigned packs[] = {2, 3, 4}, two[] = {2, 4},
			      three[] = {2, 3, 4};

	bus_setup(packs, 3);
	pack_present(3, false);
	bus_scan(2, 5, 3);
	fx.cfg.rescan_interval_ms = 600000; /* short: no waiting for it */
	start_chain();
	ck_assert(run_until(first_pass_done, 3000));
	assert_addresses(two, 2);
	ck_assert(all_valid());
	ck_assert(!chain_ready(fx.chain));
	run_for(800);
	ck_assert(!chain_ready(fx.chain));
	ck_assert_uint_gt(port_stats().discovery_passes, 1);
	pack_present(3, true);
	ck_assert(run_until(three_found, 4000));
	assert_addresses(three, 3);
	ck_assert(chain_ready(fx.chain));
	assert_cell0(1, 3230);
}
END_TEST

/* A pack that answers from a rescan on is inserted in address order; the
 * batteries after it move up one number and keep what they had. */
START_TEST(a_pack_found_later_is_inserted_in_address_order)
{
	static const unsigned packs[] = {2, 3, 4}, two[] = {2, 4},
			      three[] = {2, 3, 4};
	const struct chain_battery *b;
	unsigned long good;
	uint64_t last;

	bus_setup(packs, 3);
	pack_present(3, false);
	bus_scan(2, 5, 0);
	fx.cfg.rescan_interval_ms = 300;
	start_chain();
	ck_assert(run_until(first_pass_done, 3000));
	run_for(300);
	assert_addresses(two, 2);
	ck_assert(chain_ready(fx.chain));
	b = chain_battery(fx.chain, 1);
	good = b->frames_good;
	last = b->last_good_us;
	ck_assert_uint_gt(good, 0);
	pack_present(3, true);
	ck_assert(run_until(three_found, 4000));
	assert_addresses(three, 3);
	b = chain_battery(fx.chain, 2); /* address 4, was battery 2 */
	ck_assert(b->valid && !b->stale);
	ck_assert_uint_ge(b->frames_good, good);
	ck_assert_uint_ge(b->last_good_us, last);
	ck_assert_str_eq(b->reading.serial, "PPTBH02000000004");
	/* It joined with the complete reading of its own 0x42 answer. */
	assert_cell0(1, 3230);
	ck_assert(chain_ready(fx.chain));
}
END_TEST

static bool two_stack_reads(void)
{
	return fx.bus.stack_reads >= 2 && all_valid() &&
	       port_stats().scans >= 2;
}

/* Two more stack reads than at stack_mark. */
static unsigned stack_mark;
static bool two_stack_reads_more(void)
{
	return fx.bus.stack_reads >= stack_mark + 2;
}

/* A master that answers stack reads: one 0x42 with command value FF to
 * the master answers the analog values of every pack; no pack is asked
 * for them alone, and the values used are the stack answer's. */
START_TEST(stack_read_answers_for_every_pack)
{
	static const unsigned packs[] = {2, 3, 4};

	bus_setup(packs, 3);
	start_chain();
	ck_assert(run_until(two_stack_reads, 3000));
	ck_assert_uint_eq(fx.bus.stack_adr, 2);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_uint_eq(fx.bus.packs[i].analog, 0);
		assert_cell0(i, fx.bus.packs[i].cell_mv + STACK_MARK_MV);
		ck_assert_double_eq_tol(
			chain_battery(fx.chain, i)->reading.voltage,
			(4 * (fx.bus.packs[i].cell_mv + STACK_MARK_MV) + 6) /
				1000.0,
			1e-9);
		ck_assert_str_eq(chain_battery(fx.chain, i)->reading.model,
				 "US2000");
	}
	/* A scan after the first: the stack read and three alarm queries
	 * (model and serial were asked once). */
	ck_assert_uint_eq(port_stats().last_scan_requests, 4);
}
END_TEST

static bool read_by_pack(void)
{
	for (unsigned i = 0; i < fx.bus.npacks; i++)
		if (fx.bus.packs[i].analog < 2)
			return false;
	return all_valid() && port_stats().scans >= 2;
}

/* A master that does not answer stack reads: after one unanswered stack
 * read the packs are read one by one, and the stack read is not asked
 * again. */
START_TEST(master_without_stack_reads_falls_back_to_each_pack)
{
	static const unsigned packs[] = {2, 3, 4};

	bus_setup(packs, 3);
	fx.bus.stack = false;
	start_chain();
	ck_assert(run_until(read_by_pack, 4000));
	ck_assert_uint_eq(fx.bus.stack_reads, 1);
	ck_assert_uint_eq(fx.bus.stack_adr, 2);
	for (unsigned i = 0; i < 3; i++)
		assert_cell0(i, fx.bus.packs[i].cell_mv);
	ck_assert_uint_eq(port_stats().last_scan_requests, 6);
}
END_TEST

static bool low_cell_answered(void)
{
	return fx.bus.low_ok + fx.bus.low_late >= 3;
}

/*
 * #18: safety data acts when it arrives. A known pack is asked its alarm
 * query first and its analog values (the cells) last, so a low cell in
 * the 0x42 answer reaches the update callback (where the daemon runs the
 * guard) before the chain writes its next request. Three polls of the
 * pack with the low cell are checked.
 */
START_TEST(low_cell_reaches_the_callback_before_the_next_request)
{
	static const unsigned packs[] = {2, 3};

	bus_setup(packs, 2);
	fx.bus.stack = false;
	start_chain();
	ck_assert(run_until(read_by_pack, 4000));
	fx.bus.low_addr = 3;
	fx.bus.low_mv = 2500;
	ck_assert(run_until(low_cell_answered, 4000));
	ck_assert_msg(fx.bus.low_late == 0,
		      "%u of %u answers with the low cell were published "
		      "after the next request",
		      fx.bus.low_late, fx.bus.low_late + fx.bus.low_ok);
	/* Steady state: per pack the alarm query and the analog values, in
	 * that order; nothing more. */
	ck_assert_uint_eq(port_stats().last_scan_requests, 4);
}
END_TEST

/*
 * The same with a stack: once the master is known to answer stack reads,
 * the packs' alarm queries come first and the stack read last, so a low
 * cell of any pack in the stack answer reaches the callback before the
 * next request (before, each pack was published after its own alarm
 * query, one after another behind the stack answer). Pack 4, the last.
 */
START_TEST(low_cell_in_a_stack_answer_reaches_the_callback_at_once)
{
	static const unsigned packs[] = {2, 3, 4};

	bus_setup(packs, 3);
	start_chain();
	ck_assert(run_until(two_stack_reads, 3000));
	fx.bus.low_addr = 4;
	fx.bus.low_mv = 2500;
	ck_assert(run_until(low_cell_answered, 4000));
	ck_assert_msg(fx.bus.low_late == 0,
		      "%u of %u stack answers with the low cell were "
		      "published after the next request",
		      fx.bus.low_late, fx.bus.low_late + fx.bus.low_ok);
	/* No pack is asked for its analog values alone. */
	for (unsigned i = 0; i < 3; i++)
		ck_assert_uint_eq(fx.bus.packs[i].analog, 0);
	ck_assert_uint_eq(port_stats().last_scan_requests, 4);
	/* Every pack of a stack answer before one callback: the guard sees
	 * the whole answer, not pack 4 behind the others' words. */
	fx.partial_updates = 0;
	stack_mark = fx.bus.stack_reads;
	ck_assert(run_until(two_stack_reads_more, 3000));
	ck_assert_uint_eq(fx.partial_updates, 0);
}
END_TEST

static bool pack3_stale(void)
{
	const struct chain_battery *b = chain_battery(fx.chain, 1);

	return b->addr == 3 && b->stale;
}

/*
 * A pack that has answered its alarm query and stops: its polls fail
 * (their flags would be unknown), so it goes stale like a silent pack,
 * and it is fresh again once it answers. Before, its readings went on
 * without flags, and the pack's own alarms were taken as none.
 */
START_TEST(alarm_query_answered_once_is_required)
{
	static const unsigned packs[] = {2, 3};

	bus_setup(packs, 2);
	fx.bus.stack = false;
	start_chain();
	ck_assert(run_until(read_by_pack, 4000));
	pack(3)->no_alarm = true;
	ck_assert(run_until(pack3_stale, 4000));
	ck_assert(!chain_battery(fx.chain, 0)->stale);
	pack(3)->no_alarm = false;
	ck_assert(run_until(all_valid, 4000));
}
END_TEST

/* --- the same adapter, the same battery --------------------------------- */

/* The battery at addr (its current slot), or NULL. */
static const struct chain_battery *bat_at(unsigned addr)
{
	for (unsigned i = 0; i < chain_count(fx.chain); i++)
		if (chain_battery(fx.chain, i)->addr == addr)
			return chain_battery(fx.chain, i);
	return NULL;
}

/* The same, for assertions: a missing one fails the test. */
static const struct chain_battery *bat(unsigned addr)
{
	static const struct chain_battery none;
	const struct chain_battery *b = bat_at(addr);

	if (!b)
		ck_abort_msg("no battery at address %u", addr);
	return b ? b : &none;
}

static bool fresh_at(unsigned addr)
{
	const struct chain_battery *b = bat_at(addr);

	return b && b->valid && !b->stale;
}

static bool identities_read(void)
{
	for (unsigned i = 0; i < chain_count(fx.chain); i++)
		if (!chain_battery(fx.chain, i)->reading.serial[0])
			return false;
	return all_valid();
}

/* Pack addr is another pack now: its own serial number and cells. */
static void swap_pack(unsigned addr, const char *serial, unsigned cell_mv)
{
	struct pack_play *pk = bus_pack(addr);

	ck_assert_ptr_nonnull(pk);
	if (!pk)
		return;
	snprintf(pk->serial, sizeof(pk->serial), "%s", serial);
	pk->cell_mv = cell_mv;
	remember(serial, cell_mv);
}

static bool new_pack_at_3(void)
{
	const struct chain_battery *b = bat_at(3);

	return fresh_at(3) &&
	       strcmp(b->reading.serial, "PPTBH0299NEWPACK") == 0;
}

/* After a replug the port's name leads to a pty with another pack at
 * address 3: it is the old battery lost and a new one found. The old
 * reading is dropped (the slot has no data until the new pack's first
 * complete reading), and no reading ever pairs one pack's serial number
 * with the other's cells. The pack at address 2 is the same and goes
 * on. */
START_TEST(another_battery_after_a_replug_is_a_new_one)
{
	static const unsigned packs[] = {2, 3};
	unsigned long good2;

	bus_setup(packs, 2);
	use_link();
	start_chain();
	ck_assert(run_until(identities_read, 3000));
	good2 = bat(2)->frames_good;
	replug();
	swap_pack(3, "PPTBH0299NEWPACK", 3300);
	ck_assert(run_until(new_pack_at_3, 5000));
	ck_assert_uint_eq(port_stats().opens, 2);
	ck_assert_uint_eq(fx.mixed, 0);
	ck_assert_uint_ge(fx.dropped[3], 1);
	ck_assert_double_eq_tol(bat(3)->reading.cell_v[0],
				3.300 + STACK_MARK_MV / 2000.0,
				STACK_MARK_MV / 2000.0 + 1e-9);
	ck_assert_uint_lt(bat(3)->frames_good, 20); /* a new battery's */
	/* address 2: the same pack, asked again who it is, never dropped */
	ck_assert_uint_eq(fx.dropped[2], 0);
	ck_assert(fresh_at(2));
	ck_assert_str_eq(bat(2)->reading.serial, "PPTBH02000000002");
	ck_assert_uint_gt(bat(2)->frames_good, good2);
	ck_assert_uint_ge(pack(2)->ident, 4);
}
END_TEST

static unsigned ident_before;

static bool asked_again(void)
{
	return pack(2)->ident >= ident_before + 2 &&
	       pack(3)->ident >= ident_before + 2 && all_valid() &&
	       port_stats().opens == 2;
}

/* The same packs after a replug: asked who they are, and read on. */
START_TEST(the_same_battery_after_a_replug_goes_on)
{
	static const unsigned packs[] = {2, 3};

	bus_setup(packs, 2);
	use_link();
	start_chain();
	ck_assert(run_until(identities_read, 3000));
	ck_assert_uint_eq(pack(2)->ident, 2); /* model, serial: once */
	ck_assert_uint_eq(pack(3)->ident, 2);
	ident_before = 2;
	replug();
	ck_assert(run_until(asked_again, 5000));
	run_for(400);
	ck_assert(all_valid());
	ck_assert_uint_eq(fx.dropped[2], 0);
	ck_assert_uint_eq(fx.dropped[3], 0);
	ck_assert_uint_eq(fx.mixed, 0);
	/* once checked, not asked again */
	ck_assert_uint_eq(pack(2)->ident, 4);
	ck_assert_uint_eq(pack(3)->ident, 4);
}
END_TEST

static bool stale_at_3(void)
{
	const struct chain_battery *b = bat_at(3);

	return b && b->stale;
}

/* A pack that went silent until it was lost, and answers again as
 * another pack (swapped on a running bus): a new battery as well. */
START_TEST(another_battery_after_the_old_one_was_lost)
{
	static const unsigned packs[] = {2, 3};

	bus_setup(packs, 2);
	start_chain();
	ck_assert(run_until(identities_read, 3000));
	pack_present(3, false);
	ck_assert(run_until(stale_at_3, 4000));
	swap_pack(3, "PPTBH0299NEWPACK", 3300);
	pack_present(3, true);
	ck_assert(run_until(new_pack_at_3, 5000));
	ck_assert_uint_eq(port_stats().opens, 1);
	ck_assert_uint_eq(fx.mixed, 0);
	ck_assert_uint_ge(fx.dropped[3], 1);
	ck_assert_uint_eq(fx.dropped[2], 0);
}
END_TEST

static bool model_b(void)
{
	return bat0()->valid && !bat0()->stale &&
	       strcmp(bat0()->reading.model, "BMS-B") == 0;
}

/* JBD reports no serial number: the model is who the battery is. */
START_TEST(jbd_another_model_after_a_replug_is_a_new_battery)
{
	snprintf(fx.play.model, sizeof(fx.play.model), "BMS-A");
	use_link();
	start_chain();
	run_for(300);
	ck_assert(bat0()->valid);
	ck_assert_str_eq(bat0()->reading.model, "BMS-A");
	/* checked the model again on the same battery: nothing happens */
	replug();
	run_for(600);
	ck_assert_uint_eq(port_stats().opens, 2);
	ck_assert_uint_eq(fx.dropped[0], 0);
	ck_assert_str_eq(bat0()->reading.model, "BMS-A");
	replug();
	snprintf(fx.play.model, sizeof(fx.play.model), "BMS-B");
	ck_assert(run_until(model_b, 3000));
	ck_assert_uint_eq(port_stats().opens, 3);
	ck_assert_uint_ge(fx.dropped[0], 1);
}
END_TEST

static uint64_t replugged_us;

static bool fresh_at_3_after_replug(void)
{
	return fresh_at(3) && bat(3)->last_good_us > replugged_us;
}

/* After a replug, a pack that no longer answers its identity queries is
 * not published until they were given up (three polls), then taken as
 * the same battery, said in the journal. */
START_TEST(unanswered_identity_is_given_up_then_the_same)
{
	static const unsigned packs[] = {2, 3};

	bus_setup(packs, 2);
	use_link();
	start_chain();
	ck_assert(run_until(identities_read, 3000));
	sd_event_now(fx.ev, CLOCK_MONOTONIC, &replugged_us);
	replug();
	pack(3)->no_ident = true;
	pack(3)->ident = 0;
	run_for(800);
	/* asked, not answered: nothing published for address 3 since */
	ck_assert_uint_ge(pack(3)->ident, 2);
	ck_assert_uint_le(bat(3)->last_good_us, replugged_us);
	ck_assert(fresh_at(2));
	ck_assert(run_until(fresh_at_3_after_replug, 8000));
	ck_assert_uint_eq(fx.dropped[3], 0);
	ck_assert_str_eq(bat(3)->reading.serial, "PPTBH02000000003");
	/* three polls of two queries, each asked twice */
	ck_assert_uint_eq(pack(3)->ident, 12);
}
END_TEST

static bool model_us3000(void)
{
	return fresh_at(3) && strcmp(bat(3)->reading.model, "US3000") == 0;
}

/* After a replug the pack at address 3 reports another model and no
 * serial number: once the serial number is given up, the model decides,
 * and it is another battery. */
START_TEST(another_model_without_a_serial_is_another_battery)
{
	static const unsigned packs[] = {2, 3};

	bus_setup(packs, 2);
	use_link();
	start_chain();
	ck_assert(run_until(identities_read, 3000));
	replug();
	snprintf(pack(3)->model, sizeof(pack(3)->model), "US3000");
	pack(3)->no_serial = true;
	ck_assert(run_until(model_us3000, 8000));
	ck_assert_uint_ge(fx.dropped[3], 1);
	ck_assert_uint_eq(fx.dropped[2], 0);
	ck_assert_str_eq(bat(3)->reading.serial, "");
}
END_TEST

/* chain.h: the callback must not change the chain; a reconfigure from it
 * is refused, and the chain goes on. */
START_TEST(the_callback_cannot_reconfigure_the_chain)
{
	start_chain();
	fx.reenter = true;
	run_for(300);
	ck_assert_int_eq(fx.reenter_result, 1);
	ck_assert(bat0()->valid && !bat0()->stale);
}
END_TEST

/* --- another master on the bus (JK-PB) --------------------------------- */

/* The port listens before it talks: with a master polling from the
 * start it never sends, says why and what to set, and polls once the
 * master is quiet for the driver's listen time. */
START_TEST(jkpb_another_master_is_not_talked_over)
{
	pb_setup();
	fx.pb.master = true;
	start_chain();
	run_for(3000);
	ck_assert_uint_eq(fx.pb.requests, 0);
	ck_assert(port_refused());
	ck_assert_ptr_nonnull(strstr(port_stats().last_error, "DIP address 0"));
	ck_assert(port_stats().open);
	ck_assert_uint_eq(port_stats().requests, 0);
	ck_assert(!bat0()->valid);
	/* the master switched off: 2 s of quiet, then the pack is read */
	fx.pb.master = false;
	ck_assert(run_until(bat0_fresh, 4000));
	ck_assert(!port_refused());
	ck_assert_str_eq(port_stats().last_error, "");
	ck_assert_uint_gt(fx.pb.requests, 0);
	ck_assert_str_eq(bat0()->reading.serial, "00000000001");
	ck_assert_double_eq_tol(bat0()->reading.voltage, 13.2, 1e-9);
	ck_assert_double_eq_tol(bat0()->reading.remaining_ah, 50, 1e-9);
}
END_TEST

/* A master that appears while the chain polls: the request out is
 * abandoned, nothing more is sent, the battery goes stale. */
START_TEST(jkpb_a_master_appearing_stops_the_polling)
{
	unsigned sent;
	uint64_t now = 0;

	pb_setup();
	start_chain();
	ck_assert(run_until(bat0_fresh, 4000));
	ck_assert(!port_refused());
	fx.pb.master = true;
	ck_assert(run_until(port_refused, 1500));
	run_for(150); /* a request cut off may still be on its way */
	sent = fx.pb.requests;
	run_for(1500);
	ck_assert_uint_eq(fx.pb.requests, sent);
	ck_assert(bat0()->stale);
	/* an idle refused port is not a stuck one (the watchdog is fed) */
	sd_event_now(fx.ev, CLOCK_MONOTONIC, &now);
	ck_assert(!chain_stalled(fx.chain, now));
}
END_TEST

/* --- Daly: an answer in several frames (DRV_MORE) ---------------------- */

/*
 * The cells come in six of sixteen 13-byte frames, the temperatures and
 * cell counts from earlier steps: only a chain that keeps the reading
 * between the frames of one answer (and gives the driver the poll so
 * far) gets a complete 16-cell reading.
 */
START_TEST(daly_cells_in_several_frames)
{
	daly_setup();
	fx.daly.echo = true;
	start_chain();
	ck_assert(run_until(bat0_fresh, 3000));
	ck_assert_uint_eq(bat0()->reading.ncells, 16);
	ck_assert_double_eq_tol(bat0()->reading.cell_v[0], 3.325, 1e-9);
	ck_assert_double_eq_tol(bat0()->reading.cell_v[13], 3.327, 1e-9);
	ck_assert_double_eq_tol(bat0()->reading.cell_v[15], 3.324, 1e-9);
	ck_assert_double_eq_tol(bat0()->reading.voltage, 53.2, 1e-9);
	ck_assert_double_eq_tol(bat0()->reading.current, -2.1, 1e-9);
	ck_assert_uint_eq(bat0()->reading.ntemps, 1);
	ck_assert_double_eq_tol(bat0()->reading.temp_c[0], 15.0, 1e-9);
	ck_assert_uint_eq(bat0()->reading.cycles, 3);
	ck_assert(bat0()->reading.have & BMS_HAVE_PROTECTION);
	ck_assert_uint_eq(bat0()->frames_bad, 0);
}
END_TEST

/* Five of the six frames the cells need: never a reading. */
START_TEST(daly_incomplete_cells_are_no_reading)
{
	daly_setup();
	fx.daly.cell_frames = 5;
	start_chain();
	run_for(1500);
	ck_assert(!bat0()->valid);
	ck_assert_uint_gt(bat0()->timeouts, 0);
}
END_TEST

/* A sleeping unit: its adapter echoes the request (A5 40 ...), nothing
 * answers. The echo is no data: no frame taken, the battery never valid. */
START_TEST(daly_sleeping_echo_is_no_answer)
{
	daly_setup();
	fx.daly.asleep = true;
	start_chain();
	run_for(1500);
	ck_assert(!bat0()->valid);
	ck_assert_uint_eq(bat0()->frames_good, 0);
	ck_assert_uint_eq(bat0()->frames_bad, 0);
	ck_assert_uint_gt(bat0()->timeouts, 0);
}
END_TEST

/* current_sign = inverted turns the pack's current. */
START_TEST(daly_current_sign_inverted)
{
	daly_setup();
	fx.cfg.ports[0].current_inverted = true;
	start_chain();
	ck_assert(run_until(bat0_fresh, 3000));
	ck_assert_double_eq_tol(bat0()->reading.current, 2.1, 1e-9);
	ck_assert_int_eq(bat0()->reading.direction, BMS_DIR_DISCHARGING);
}
END_TEST

static Suite *chain_suite(void)
{
	Suite *s = suite_create("chain");
	TCase *tc = tcase_create("jbd-on-pty");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, reads_a_jbd_battery);
	tcase_add_test(tc, skips_echo_and_garbage);
	tcase_add_test(tc, corrupt_answer_is_counted_and_retried);
	tcase_add_test(tc, silent_battery_times_out_then_goes_stale);
	tcase_add_test(tc, each_request_is_retried_once);
	tcase_add_test(tc, missing_device_is_retried_not_fatal);
	tcase_add_test(tc, stall_detection_for_the_watchdog);
	tcase_add_test(tc, impossible_reading_is_rejected_and_counted);
	tcase_add_test(tc, cell_count_change_is_rejected);
	tcase_add_test(tc, reconfigure_keeps_an_unchanged_port);
	tcase_add_test(tc, reconfigure_reopens_a_changed_port);
	tcase_add_test(tc, reconfigured_port_stays_stale_until_it_answers);
	suite_add_tcase(s, tc);

	tc = tcase_create("pylon-bus-on-pty");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, scan_finds_the_packs_that_answer);
	tcase_add_test(tc, expect_not_reached_keeps_the_chain_not_ready);
	tcase_add_test(tc, a_pack_found_later_is_inserted_in_address_order);
	tcase_add_test(tc, stack_read_answers_for_every_pack);
	tcase_add_test(tc, master_without_stack_reads_falls_back_to_each_pack);
	tcase_add_test(tc,
		       low_cell_reaches_the_callback_before_the_next_request);
	tcase_add_test(tc,
		       low_cell_in_a_stack_answer_reaches_the_callback_at_once);
	tcase_add_test(tc, alarm_query_answered_once_is_required);
	suite_add_tcase(s, tc);

	tc = tcase_create("flood");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, a_flooding_port_does_not_starve_the_service_sources);
	tcase_add_test(tc, a_reload_during_a_read_pause_keeps_the_port_read);
	suite_add_tcase(s, tc);

	tc = tcase_create("identity");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, another_battery_after_a_replug_is_a_new_one);
	tcase_add_test(tc, the_same_battery_after_a_replug_goes_on);
	tcase_add_test(tc, another_battery_after_the_old_one_was_lost);
	tcase_add_test(tc, jbd_another_model_after_a_replug_is_a_new_battery);
	tcase_add_test(tc, unanswered_identity_is_given_up_then_the_same);
	tcase_add_test(tc, another_model_without_a_serial_is_another_battery);
	tcase_add_test(tc, the_callback_cannot_reconfigure_the_chain);
	suite_add_tcase(s, tc);

	tc = tcase_create("daly-multi-frame");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, daly_cells_in_several_frames);
	tcase_add_test(tc, daly_incomplete_cells_are_no_reading);
	tcase_add_test(tc, daly_sleeping_echo_is_no_answer);
	tcase_add_test(tc, daly_current_sign_inverted);
	suite_add_tcase(s, tc);

	tc = tcase_create("jkpb-master");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, jkpb_another_master_is_not_talked_over);
	tcase_add_test(tc, jkpb_a_master_appearing_stops_the_polling);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(chain_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
