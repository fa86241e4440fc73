# SPDX-License-Identifier: MIT
noinst_LIBRARIES += src/libsmallbms.a
src_libsmallbms_a_CFLAGS = $(AM_CFLAGS) $(DEP_CFLAGS)
src_libsmallbms_a_SOURCES = \
	src/reading.c src/reading.h \
	src/number.c src/number.h \
	src/driver.c src/driver.h \
	src/jbd.c src/jbd.h \
	src/pylon.c src/pylon.h \
	src/transport.c src/transport.h \
	src/transport_tty.c src/transport_sp.c src/transport_tcp.c \
	src/cfg.c src/cfg.h \
	src/log.c src/log.h \
	src/chain.c src/chain.h \
	src/bank.c src/bank.h \
	src/status.c src/status.h \
	src/ctl.c src/ctl.h \
	src/gpio.c src/gpio.h src/gpio_dryrun.c src/gpio_find.c src/gpio_find.h \
	src/outputs.c src/outputs.h \
	src/remote.c src/remote.h \
	src/settings.c src/settings.h \
	src/monitor.c src/monitor.h \
	src/store.c src/store.h \
	src/guard.c src/guard.h \
	src/events.c src/events.h \
	src/daemon.c src/daemon.h src/commands.c src/reload.c
# Exactly one libgpiod backend, for the API version configure found.
if GPIOD_V2
src_libsmallbms_a_SOURCES += src/gpio_v2.c
else
src_libsmallbms_a_SOURCES += src/gpio_v1.c
endif
EXTRA_DIST += src/gpio_v1.c src/gpio_v2.c

sbin_PROGRAMS += src/smallbmsd
src_smallbmsd_SOURCES = src/smallbmsd.c
src_smallbmsd_CFLAGS = $(AM_CFLAGS) $(DEP_CFLAGS)
src_smallbmsd_LDADD = src/libsmallbms.a $(DEP_LIBS)

bin_PROGRAMS += src/smallbmsctl
src_smallbmsctl_SOURCES = src/smallbmsctl.c
src_smallbmsctl_CFLAGS = $(AM_CFLAGS) $(DEP_CFLAGS)
src_smallbmsctl_LDADD = src/libsmallbms.a $(DEP_LIBS)
