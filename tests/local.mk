# SPDX-License-Identifier: MIT
# Unit tests: one Check program per module (tests/unit/test_MODULE.c).
UNIT_TESTS = \
	tests/unit/test_jbd \
	tests/unit/test_pylon \
	tests/unit/test_jk \
	tests/unit/test_jkpb \
	tests/unit/test_modbus \
	tests/unit/test_seplos3 \
	tests/unit/test_daly \
	tests/unit/test_capture \
	tests/unit/test_cfg \
	tests/unit/test_transport \
	tests/unit/test_bank \
	tests/unit/test_chain \
	tests/unit/test_ctl \
	tests/unit/test_guard \
	tests/unit/test_guard_model \
	tests/unit/test_events \
	tests/unit/test_gpio_dryrun \
	tests/unit/test_gpio_find \
	tests/unit/test_outputs \
	tests/unit/test_remote \
	tests/unit/test_settings \
	tests/unit/test_monitor \
	tests/unit/test_store \
	tests/unit/test_number \
	tests/unit/test_tcpaddr \
	tests/unit/test_probe \
	tests/unit/test_metrics \
	tests/unit/test_limits \
	tests/unit/test_can_frames \
	tests/unit/test_wdog
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

UNIT_CFLAGS = $(AM_CFLAGS) $(DEP_CFLAGS) $(CHECK_CFLAGS) \
	-DTEST_DATA_DIR='"$(abs_top_srcdir)/tests/data"'
UNIT_LDADD = src/libsmallbms.a $(DEP_LIBS) $(CHECK_LIBS)
# Capture/expect readers and their Check assertions, for the codec tests.
VECTOR_SOURCES = tests/unit/vectors.c tests/unit/vectors.h \
	tests/unit/vec_assert.c tests/unit/vec_assert.h \
	tests/unit/vec_reading.c tests/unit/vec_reading.h

tests_unit_test_jbd_SOURCES = tests/unit/test_jbd.c $(VECTOR_SOURCES)
tests_unit_test_jbd_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_jbd_LDADD = $(UNIT_LDADD)
tests_unit_test_pylon_SOURCES = tests/unit/test_pylon.c $(VECTOR_SOURCES)
tests_unit_test_pylon_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_pylon_LDADD = $(UNIT_LDADD)
tests_unit_test_jk_SOURCES = tests/unit/test_jk.c $(VECTOR_SOURCES)
tests_unit_test_jk_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_jk_LDADD = $(UNIT_LDADD)
tests_unit_test_jkpb_SOURCES = tests/unit/test_jkpb.c $(VECTOR_SOURCES)
tests_unit_test_jkpb_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_jkpb_LDADD = $(UNIT_LDADD)
tests_unit_test_modbus_SOURCES = tests/unit/test_modbus.c
tests_unit_test_modbus_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_modbus_LDADD = $(UNIT_LDADD)
tests_unit_test_seplos3_SOURCES = tests/unit/test_seplos3.c $(VECTOR_SOURCES)
tests_unit_test_seplos3_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_seplos3_LDADD = $(UNIT_LDADD)
tests_unit_test_daly_SOURCES = tests/unit/test_daly.c $(VECTOR_SOURCES)
tests_unit_test_daly_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_daly_LDADD = $(UNIT_LDADD)
tests_unit_test_capture_SOURCES = tests/unit/test_capture.c $(VECTOR_SOURCES)
tests_unit_test_capture_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_capture_LDADD = $(UNIT_LDADD)
tests_unit_test_cfg_SOURCES = tests/unit/test_cfg.c
tests_unit_test_cfg_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cfg_LDADD = $(UNIT_LDADD)
tests_unit_test_transport_SOURCES = tests/unit/test_transport.c
tests_unit_test_transport_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_transport_LDADD = $(UNIT_LDADD)
tests_unit_test_bank_SOURCES = tests/unit/test_bank.c
tests_unit_test_bank_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_bank_LDADD = $(UNIT_LDADD)
tests_unit_test_chain_SOURCES = tests/unit/test_chain.c
tests_unit_test_chain_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_chain_LDADD = $(UNIT_LDADD)
tests_unit_test_ctl_SOURCES = tests/unit/test_ctl.c
tests_unit_test_ctl_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ctl_LDADD = $(UNIT_LDADD)
tests_unit_test_limits_SOURCES = tests/unit/test_limits.c
tests_unit_test_limits_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_limits_LDADD = $(UNIT_LDADD)
tests_unit_test_can_frames_SOURCES = tests/unit/test_can_frames.c
tests_unit_test_can_frames_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_can_frames_LDADD = $(UNIT_LDADD)
tests_unit_test_guard_SOURCES = tests/unit/test_guard.c
tests_unit_test_guard_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_guard_LDADD = $(UNIT_LDADD)
# The decision pipeline against the invariants I1-I8 (HACKING.md), on
# random sequences: GUARD_MODEL_STEPS steps (default 100000) from
# GUARD_MODEL_SEED; `make check-long` runs 10^7.
tests_unit_test_guard_model_SOURCES = tests/unit/test_guard_model.c
tests_unit_test_guard_model_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_guard_model_LDADD = $(UNIT_LDADD)

# The model-based test for long: 10^7 steps, a new seed each run (printed;
# GUARD_MODEL_SEED=N repeats one).
GUARD_MODEL_LONG_STEPS = 10000000
check-long: tests/unit/test_guard_model
	@seed=$${GUARD_MODEL_SEED:-$$(date +%s)}; \
	echo "check-long: $(GUARD_MODEL_LONG_STEPS) steps, GUARD_MODEL_SEED=$$seed"; \
	start=$$(date +%s); \
	GUARD_MODEL_STEPS=$(GUARD_MODEL_LONG_STEPS) GUARD_MODEL_SEED=$$seed \
		tests/unit/test_guard_model && \
	echo "check-long: passed in $$(($$(date +%s) - start)) s"
.PHONY: check-long
# Does the model test catch each protection defect it was written for?
# Each fix reverted in a scratch copy (tests/model/reverts/*.patch) must
# make it fail.
check-reverts:
	$(SHELL) $(abs_top_srcdir)/tests/model/revert-fixes.sh
.PHONY: check-reverts
EXTRA_DIST += tests/model
tests_unit_test_events_SOURCES = tests/unit/test_events.c
tests_unit_test_events_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_events_LDADD = $(UNIT_LDADD)
tests_unit_test_gpio_dryrun_SOURCES = tests/unit/test_gpio_dryrun.c
tests_unit_test_gpio_dryrun_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_gpio_dryrun_LDADD = $(UNIT_LDADD)
tests_unit_test_gpio_find_SOURCES = tests/unit/test_gpio_find.c
tests_unit_test_gpio_find_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_gpio_find_LDADD = $(UNIT_LDADD)
tests_unit_test_outputs_SOURCES = tests/unit/test_outputs.c
tests_unit_test_outputs_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_outputs_LDADD = $(UNIT_LDADD)
tests_unit_test_remote_SOURCES = tests/unit/test_remote.c
tests_unit_test_remote_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_remote_LDADD = $(UNIT_LDADD)
tests_unit_test_settings_SOURCES = tests/unit/test_settings.c
tests_unit_test_settings_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_settings_LDADD = $(UNIT_LDADD)
tests_unit_test_monitor_SOURCES = tests/unit/test_monitor.c
tests_unit_test_monitor_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_monitor_LDADD = $(UNIT_LDADD)
tests_unit_test_store_SOURCES = tests/unit/test_store.c
tests_unit_test_store_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_store_LDADD = $(UNIT_LDADD)
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c
tests_unit_test_metrics_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_metrics_LDADD = $(UNIT_LDADD)
tests_unit_test_number_SOURCES = tests/unit/test_number.c
tests_unit_test_number_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_number_LDADD = $(UNIT_LDADD)
tests_unit_test_tcpaddr_SOURCES = tests/unit/test_tcpaddr.c
tests_unit_test_tcpaddr_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_tcpaddr_LDADD = $(UNIT_LDADD)
tests_unit_test_probe_SOURCES = tests/unit/test_probe.c
tests_unit_test_probe_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_probe_LDADD = $(UNIT_LDADD)

# A control-socket client that misbehaves on purpose (socket_abuse.sh).
check_PROGRAMS += tests/tools/ctlstress tests/tools/linewatch
tests_tools_linewatch_SOURCES = tests/tools/linewatch.c
tests_tools_ctlstress_SOURCES = tests/tools/ctlstress.c
tests_tools_ctlstress_CFLAGS = $(AM_CFLAGS) $(DEP_CFLAGS)
tests_tools_ctlstress_LDADD = $(JANSSON_LIBS)

# A libmodbus RTU server with a Seplos v3 register map (libmodbus.sh),
# built only when configure found libmodbus.
EXTRA_DIST += tests/tools/mbserver.c
if HAVE_LIBMODBUS
check_PROGRAMS += tests/tools/mbserver
tests_tools_mbserver_SOURCES = tests/tools/mbserver.c
tests_tools_mbserver_CFLAGS = $(AM_CFLAGS) $(LIBMODBUS_CFLAGS)
tests_tools_mbserver_LDADD = $(LIBMODBUS_LIBS)
endif

# End-to-end: shell scripts driving bmssim + smallbmsd, asserting through
# smallbmsctl. They need the programs built (check_PROGRAMS / bin).
E2E_TESTS = \
	tests/e2e/status.sh \
	tests/e2e/stale.sh \
	tests/e2e/discovery.sh \
	tests/e2e/discovery_series.sh \
	tests/e2e/discovery_retry.sh \
	tests/e2e/discovery_expect.sh \
	tests/e2e/config_errors.sh \
	tests/e2e/topology.sh \
	tests/e2e/notify.sh \
	tests/e2e/port_retry.sh \
	tests/e2e/protection_lowcell.sh \
	tests/e2e/protection_charge.sh \
	tests/e2e/can.sh \
	tests/e2e/protection_inputs.sh \
	tests/e2e/monitor.sh \
	tests/e2e/powercut.sh \
	tests/e2e/replay.sh \
	tests/e2e/chain16.sh \
	tests/e2e/tcp.sh \
	tests/e2e/safe_state.sh \
	tests/e2e/stack.sh \
	tests/e2e/socket_abuse.sh \
	tests/e2e/permissions.sh \
	tests/e2e/reload.sh \
	tests/e2e/metrics.sh tests/e2e/metrics_fifo.sh \
	tests/e2e/invariant_set_refused.sh \
	tests/e2e/invariant_partial_data.sh \
	tests/e2e/invariant_partial_lowcell.sh \
	tests/e2e/invariant_lowcell_recovery.sh \
	tests/e2e/invariant_no_temperature.sh \
	tests/e2e/invariant_config_bounds.sh \
	tests/e2e/invariant_state_file.sh \
	tests/e2e/invariant_state_fifo.sh \
	tests/e2e/invariant_hard_cutoff.sh \
	tests/e2e/invariant_impossible_frame.sh \
	tests/e2e/identity.sh \
	tests/e2e/jk.sh \
	tests/e2e/daly.sh \
	tests/e2e/daly_sign.sh \
	tests/e2e/jkpb.sh \
	tests/e2e/jkpb_master.sh \
	tests/e2e/seplos3.sh \
	tests/e2e/seplos3_tcp.sh \
	tests/e2e/libmodbus.sh \
	tests/e2e/capture.sh \
	tests/e2e/outputs_first.sh \
	tests/e2e/probe.sh
# [mqtt] against a real mosquitto (skipped without it).
E2E_TESTS += tests/e2e/mqtt.sh tests/e2e/mqtt_auth.sh tests/e2e/mqtt_tls.sh tests/e2e/mqtt_retained.sh \
	tests/e2e/mqtt_silent.sh tests/e2e/mqtt_stuck.sh
TESTS += $(E2E_TESTS)
dist_noinst_SCRIPTS += $(E2E_TESTS) tests/e2e/lib.sh tests/jq_strict.sh
# wait_until and holds, for the e2e tests, tests/vm, tests/systemd, tests/pi.
EXTRA_DIST += tests/lib/poll.sh
dist_noinst_SCRIPTS += tests/e2e/mqtt_lib.sh
EXTRA_DIST += tests/data
tests_unit_test_wdog_SOURCES = tests/unit/test_wdog.c
tests_unit_test_wdog_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_wdog_LDADD = $(UNIT_LDADD)
