# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets with clang (GNU make; run by fuzz/run.sh
# from `make fuzz`, which passes every variable below from the configured
# build tree). Every module of the internal library is compiled again
# with coverage instrumentation and the sanitizers into FUZZ_OUT/obj and
# archived; each target is its fuzz/NAME.c linked against that archive.
#
#   srcdir       the source tree (absolute)
#   FUZZ_OUT     where objects, targets, corpora and crashes go
#   FUZZ_CC      clang
#   LIB_SOURCES  the library's .c files, relative to srcdir
#   FUZZ_CPPFLAGS, DEP_CFLAGS, DEP_LIBS   as the build uses them
#   FUZZ_TARGETS the targets to build (fuzz_jbd fuzz_pylon ...)

FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_COPT = -g -O1 -std=c11 -D_GNU_SOURCE -fno-omit-frame-pointer
# The library: instrumented for coverage, without libFuzzer's main.
LIB_CFLAGS = $(FUZZ_COPT) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -w \
	$(FUZZ_CPPFLAGS) $(DEP_CFLAGS)
TARGET_CFLAGS = $(FUZZ_COPT) -fsanitize=fuzzer $(FUZZ_SAN) -Wall -Wextra \
	$(FUZZ_CPPFLAGS) $(DEP_CFLAGS)

OBJ = $(FUZZ_OUT)/obj
LIB_OBJECTS = $(patsubst %.c,$(OBJ)/%.o,$(filter %.c,$(LIB_SOURCES)))
LIB = $(OBJ)/libfuzz.a

all: $(addprefix $(FUZZ_OUT)/,$(FUZZ_TARGETS))

$(OBJ)/%.o: $(srcdir)/%.c
	@mkdir -p $(@D)
	@echo "  FUZZCC   $*.c"
	@$(FUZZ_CC) $(LIB_CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJECTS)
	@rm -f $@
	@ar cr $@ $(LIB_OBJECTS)

$(FUZZ_OUT)/fuzz_%: $(srcdir)/fuzz/fuzz_%.c $(LIB)
	@echo "  FUZZLD   fuzz_$*"
	@$(FUZZ_CC) $(TARGET_CFLAGS) -MMD -MP -MF $@.d $< $(LIB) $(DEP_LIBS) \
		-lm -o $@

-include $(LIB_OBJECTS:.o=.d) $(addprefix $(FUZZ_OUT)/,$(FUZZ_TARGETS:=.d))

.PHONY: all
