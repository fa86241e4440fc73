# SPDX-License-Identifier: MIT
# Configuration, systemd integration and man pages.

# Example configuration, installed under $(sysconfdir)/smallbms.
smallbmsconfdir = $(sysconfdir)/smallbms
dist_smallbmsconf_DATA = conf/smallbms.conf
EXTRA_DIST += conf/99-smallbms.rules
# The [can] output's system side: a .network for the bit rate, the unit's
# drop-in that allows AF_CAN (examples: installed by hand).
smallbmsexampledir = $(docdir)/examples
dist_smallbmsexample_DATA = conf/can0.network systemd/smallbmsd-can.conf

# systemd: the unit is templated with the configured paths.
systemdsystemunit_DATA = systemd/smallbmsd.service
sysusersdir = $(SB_SYSUSERSDIR)
dist_sysusers_DATA = systemd/smallbms.conf
# The journal message catalog: journalctl -x explains each event.
catalogdir = $(SB_CATALOGDIR)
dist_catalog_DATA = systemd/smallbms.catalog
# udev: the GPIO chips for the gpio group (plain Debian leaves them
# root-only; Raspberry Pi OS does the same already).
udevrulesdir = $(SB_UDEVRULESDIR)
dist_udevrules_DATA = systemd/60-smallbms-gpio.rules

# The [mqtt] drop-in (network for the broker only): an example to install.
mqttexampledir = $(docdir)/examples
dist_mqttexample_DATA = systemd/smallbmsd-mqtt.conf
CLEANFILES += systemd/smallbmsd.service
EXTRA_DIST += systemd/smallbmsd.service.in

systemd/smallbmsd.service: systemd/smallbmsd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' \
	    -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    $(srcdir)/systemd/smallbmsd.service.in >$@

dist_man_MANS = man/smallbmsd.8 man/smallbmsctl.1 man/smallbms.conf.5

# The man pages must be lint-clean.
TESTS += tests/man_lint.sh tests/man_keys.sh tests/conf_example.sh \
	tests/systemd_unit.sh tests/catalog_reasons.sh tests/systemd_mqtt.sh
dist_noinst_SCRIPTS += tests/man_lint.sh tests/man_keys.sh tests/conf_example.sh \
	tests/systemd_unit.sh tests/catalog_reasons.sh tests/systemd_mqtt.sh

# bash completion, where bash-completion looks for it.
bashcompletiondir = $(SB_BASHCOMPLETIONDIR)
dist_bashcompletion_DATA = completion/smallbmsctl
