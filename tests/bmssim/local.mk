# SPDX-License-Identifier: MIT
# bmssim: the battery-chain simulator (a test program, never installed).
# Its modules form a small library shared by the program and its tests.
noinst_LIBRARIES += tests/bmssim/libbmssim.a
tests_bmssim_libbmssim_a_CFLAGS = $(AM_CFLAGS) $(DEP_CFLAGS)
tests_bmssim_libbmssim_a_SOURCES = \
	tests/bmssim/sim_link.c tests/bmssim/sim_link.h \
	tests/bmssim/sim_link_tcp.c \
	tests/bmssim/sim_line.c tests/bmssim/sim_line.h \
	tests/bmssim/sim_model.c tests/bmssim/sim_model.h \
	tests/bmssim/sim_proto.c tests/bmssim/sim_proto.h \
	tests/bmssim/sim_jbd.c tests/bmssim/sim_jbd.h \
	tests/bmssim/sim_pylon.c tests/bmssim/sim_pylon.h \
	tests/bmssim/sim_jk.c tests/bmssim/sim_jk.h \
	tests/bmssim/sim_jkpb.c tests/bmssim/sim_jkpb.h \
	tests/bmssim/sim_seplos3.c tests/bmssim/sim_seplos3.h \
	tests/bmssim/sim_daly.c tests/bmssim/sim_daly.h \
	tests/bmssim/sim_capture.c tests/bmssim/sim_capture.h \
	tests/bmssim/sim_replay.c tests/bmssim/sim_replay.h \
	tests/bmssim/sim_scenario.c tests/bmssim/sim_scenario.h \
	tests/bmssim/sim_state.c tests/bmssim/sim_state.h

check_PROGRAMS += tests/bmssim/bmssim
tests_bmssim_bmssim_CFLAGS = $(AM_CFLAGS) $(DEP_CFLAGS)
tests_bmssim_bmssim_LDADD = tests/bmssim/libbmssim.a $(DEP_LIBS)
tests_bmssim_bmssim_SOURCES = tests/bmssim/sim_main.c \
	tests/bmssim/sim_opts.c tests/bmssim/sim_opts.h

BMSSIM_TESTS = \
	tests/bmssim/test_sim_model \
	tests/bmssim/test_sim_jbd \
	tests/bmssim/test_sim_pylon \
	tests/bmssim/test_sim_jk \
	tests/bmssim/test_sim_jkpb \
	tests/bmssim/test_sim_seplos3 \
	tests/bmssim/test_sim_daly \
	tests/bmssim/test_sim_capture \
	tests/bmssim/test_sim_replay \
	tests/bmssim/test_sim_scenario \
	tests/bmssim/test_sim_line \
	tests/bmssim/test_sim_link_tcp \
	tests/bmssim/test_sim_state
check_PROGRAMS += $(BMSSIM_TESTS)
TESTS += $(BMSSIM_TESTS)
BMSSIM_TCFLAGS = $(AM_CFLAGS) $(DEP_CFLAGS) $(CHECK_CFLAGS) \
	-DTEST_DATA_DIR='"$(abs_top_srcdir)/tests/data"'
BMSSIM_TLDADD = tests/bmssim/libbmssim.a $(DEP_LIBS) $(CHECK_LIBS)
tests_bmssim_test_sim_model_CFLAGS = $(BMSSIM_TCFLAGS)
tests_bmssim_test_sim_model_LDADD = $(BMSSIM_TLDADD)
tests_bmssim_test_sim_jbd_CFLAGS = $(BMSSIM_TCFLAGS)
tests_bmssim_test_sim_jbd_LDADD = $(BMSSIM_TLDADD)
tests_bmssim_test_sim_pylon_CFLAGS = $(BMSSIM_TCFLAGS)
tests_bmssim_test_sim_pylon_LDADD = $(BMSSIM_TLDADD)
tests_bmssim_test_sim_jk_CFLAGS = $(BMSSIM_TCFLAGS)
tests_bmssim_test_sim_jk_LDADD = $(BMSSIM_TLDADD)
tests_bmssim_test_sim_jkpb_CFLAGS = $(BMSSIM_TCFLAGS)
tests_bmssim_test_sim_jkpb_LDADD = $(BMSSIM_TLDADD)
tests_bmssim_test_sim_seplos3_CFLAGS = $(BMSSIM_TCFLAGS)
tests_bmssim_test_sim_seplos3_LDADD = $(BMSSIM_TLDADD)
tests_bmssim_test_sim_daly_CFLAGS = $(BMSSIM_TCFLAGS)
tests_bmssim_test_sim_daly_LDADD = $(BMSSIM_TLDADD)
tests_bmssim_test_sim_capture_CFLAGS = $(BMSSIM_TCFLAGS)
tests_bmssim_test_sim_capture_LDADD = $(BMSSIM_TLDADD)
tests_bmssim_test_sim_replay_CFLAGS = $(BMSSIM_TCFLAGS)
tests_bmssim_test_sim_replay_LDADD = $(BMSSIM_TLDADD)
tests_bmssim_test_sim_scenario_CFLAGS = $(BMSSIM_TCFLAGS)
tests_bmssim_test_sim_scenario_LDADD = $(BMSSIM_TLDADD)
tests_bmssim_test_sim_line_CFLAGS = $(BMSSIM_TCFLAGS)
tests_bmssim_test_sim_line_LDADD = $(BMSSIM_TLDADD)
tests_bmssim_test_sim_link_tcp_CFLAGS = $(BMSSIM_TCFLAGS)
tests_bmssim_test_sim_link_tcp_LDADD = $(BMSSIM_TLDADD)
tests_bmssim_test_sim_state_CFLAGS = $(BMSSIM_TCFLAGS)
tests_bmssim_test_sim_state_LDADD = $(BMSSIM_TLDADD)
EXTRA_DIST += tests/bmssim/README.md tests/scenarios
