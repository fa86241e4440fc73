# SPDX-License-Identifier: MIT
# The sources by part (HACKING.md, "Module map"): common helpers, protocol
# codecs, transports, GPIO, the protection rules, the daemon's wiring, the
# control socket, the CLI. Every module is in the internal library, which
# both programs and every test link.
noinst_LIBRARIES += src/libsmallbms.a
src_libsmallbms_a_CFLAGS = $(AM_CFLAGS) $(DEP_CFLAGS)
src_libsmallbms_a_SOURCES = \
	src/common/reading.c src/common/reading.h \
	src/common/number.c src/common/number.h \
	src/common/tcpaddr.c src/common/tcpaddr.h \
	src/common/log.c src/common/log.h src/common/wire.h src/common/evprio.h \
	src/protocols/driver.c src/protocols/driver.h \
	src/protocols/jbd.c src/protocols/jbd.h \
	src/protocols/pylon.c src/protocols/pylon.h \
	src/protocols/jk.c src/protocols/jk.h \
	src/protocols/jkpb.c src/protocols/jkpb.h \
	src/protocols/modbus.c src/protocols/modbus.h \
	src/protocols/seplos3.c src/protocols/seplos3.h \
	src/protocols/daly.c src/protocols/daly.h \
	src/transport/transport.c src/transport/transport.h \
	src/transport/transport_tty.c src/transport/transport_sp.c \
	src/transport/transport_tcp.c \
	src/gpio/gpio.c src/gpio/gpio.h src/gpio/gpio_dryrun.c \
	src/gpio/gpio_find.c src/gpio/gpio_find.h \
	src/gpio/outputs.c src/gpio/outputs.h \
	src/gpio/remote.c src/gpio/remote.h \
	src/rules/bank.c src/rules/bank.h \
	src/rules/guard.c src/rules/guard.h \
	src/rules/monitor.c src/rules/monitor.h \
	src/rules/settings.c src/rules/settings.h \
	src/rules/events.c src/rules/events.h \
	src/rules/charge_limits.c src/rules/charge_limits.h \
	src/can/can_frames.c src/can/can_frames.h \
	src/can/can_errors.c src/can/can_errors.h \
	src/can/can_keepalive.c src/can/can_keepalive.h \
	src/can/can_link.c src/can/can_link.h \
	src/daemon/cfg.c src/daemon/cfg.h \
	src/daemon/chain.c src/daemon/chain.h \
	src/daemon/store.c src/daemon/store.h \
	src/daemon/capture.c src/daemon/capture.h \
	src/daemon/probe.c src/daemon/probe.h \
	src/daemon/metrics.c src/daemon/metrics.h \
	src/daemon/daemon.c src/daemon/daemon.h src/daemon/reload.c \
	src/daemon/daemon_can.c \
	src/daemon/wdog.c src/daemon/wdog.h \
	src/daemon/port_errors.c src/daemon/port_errors.h \
	src/ctl/ctl.c src/ctl/ctl.h \
	src/ctl/status.c src/ctl/status.h src/ctl/commands.c \
	src/mqtt/mqtt.c src/mqtt/mqtt.h src/mqtt/ha.c src/mqtt/ha.h \
	src/daemon/daemon_mqtt.c
# Exactly one libgpiod backend, for the API version configure found.
if GPIOD_V2
src_libsmallbms_a_SOURCES += src/gpio/gpio_v2.c
else
src_libsmallbms_a_SOURCES += src/gpio/gpio_v1.c
endif
EXTRA_DIST += src/gpio/gpio_v1.c src/gpio/gpio_v2.c

# The programs keep their place in the build tree (src/smallbmsd,
# src/smallbmsctl): scripts and tests run them from there.
sbin_PROGRAMS += src/smallbmsd
src_smallbmsd_SOURCES = src/daemon/smallbmsd.c
src_smallbmsd_CFLAGS = $(AM_CFLAGS) $(DEP_CFLAGS)
src_smallbmsd_LDADD = src/libsmallbms.a $(DEP_LIBS)

bin_PROGRAMS += src/smallbmsctl
src_smallbmsctl_SOURCES = src/client/smallbmsctl.c src/client/client.h \
	src/client/conn.c src/client/conn.h \
	src/client/view.c src/client/view.h \
	src/client/view_can.c src/client/view_can.h \
	src/client/table.c src/client/table.h
src_smallbmsctl_CFLAGS = $(AM_CFLAGS) $(DEP_CFLAGS)
src_smallbmsctl_LDADD = src/libsmallbms.a $(DEP_LIBS)
