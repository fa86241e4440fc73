# SPDX-License-Identifier: MIT
# make fuzz: every libFuzzer target (fuzz/README.md), built with clang
# into fuzz-out/ and run FUZZ_SECONDS each (default 600), FUZZ_JOBS at a
# time (default: the number of CPUs). make fuzz-ci: the same for
# FUZZ_CI_SECONDS each (default 20), as CI runs it. Without clang both
# say SKIP and succeed (FUZZ_REQUIRE=yes makes that an error).
# FUZZ_TARGETS=fuzz_cfg picks targets; FUZZ_CC=clang-19 another clang.
FUZZ_CC = clang
FUZZ_SECONDS = 600
FUZZ_CI_SECONDS = 20
FUZZ_TARGETS = fuzz_jbd fuzz_pylon fuzz_jk fuzz_jkpb fuzz_modbus fuzz_seplos3 fuzz_daly fuzz_cfg fuzz_store fuzz_ctl
FUZZ_JOBS =
FUZZ_REQUIRE = no
FUZZ_OUT = $(abs_top_builddir)/fuzz-out

FUZZ_ENV = top_srcdir='$(abs_top_srcdir)' FUZZ_OUT='$(FUZZ_OUT)' \
	FUZZ_CC='$(FUZZ_CC)' FUZZ_TARGETS='$(FUZZ_TARGETS)' \
	FUZZ_JOBS='$(FUZZ_JOBS)' FUZZ_REQUIRE='$(FUZZ_REQUIRE)' \
	MAKE='$(MAKE)' \
	LIB_SOURCES='$(src_libsmallbms_a_SOURCES)' \
	FUZZ_CPPFLAGS='$(DEFS) -I$(abs_top_builddir) $(SRC_INCLUDES) \
		-DSYSCONFDIR="\"$(sysconfdir)\"" \
		-DRUNSTATEDIR="\"$(runstatedir)\"" \
		-DLOCALSTATEDIR="\"$(localstatedir)\""' \
	DEP_CFLAGS='$(DEP_CFLAGS)' DEP_LIBS='$(DEP_LIBS)'

fuzz:
	@$(FUZZ_ENV) FUZZ_SECONDS='$(FUZZ_SECONDS)' \
		$(SHELL) $(abs_top_srcdir)/fuzz/run.sh
fuzz-ci:
	@$(FUZZ_ENV) FUZZ_SECONDS='$(FUZZ_CI_SECONDS)' \
		$(SHELL) $(abs_top_srcdir)/fuzz/run.sh
clean-local: clean-fuzz
clean-fuzz:
	rm -rf $(FUZZ_OUT)
.PHONY: fuzz fuzz-ci clean-fuzz

EXTRA_DIST += fuzz/README.md fuzz/fuzz.mk fuzz/run.sh fuzz/corpus fuzz/dict \
	fuzz/fuzz_check.h \
	fuzz/fuzz_jbd.c fuzz/fuzz_pylon.c fuzz/fuzz_jk.c fuzz/fuzz_jkpb.c \
	fuzz/fuzz_modbus.c fuzz/fuzz_seplos3.c \
	fuzz/fuzz_daly.c \
	fuzz/fuzz_cfg.c fuzz/fuzz_store.c fuzz/fuzz_ctl.c
