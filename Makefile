# evflow: one top-level Makefile.  Each daemon lists its own sources and
# tests in <dir>/build.mk (explicit lists, no wildcards); this file holds
# the flags, the rules and the top-level targets.
#
#   make            build everything into build/
#   make check      unit and integration tests (needs root for netns tests)
#   make asan       the same tests under ASan+UBSan, in build-asan/
#   make fuzz       libFuzzer targets (clang), in build-fuzz/
#   make bench      benchmarks; prints their numbers
#   make install    into $(DESTDIR)$(PREFIX)

CC	?= cc
PREFIX	?= /usr/local
BUILD	?= build
OPT	?= -O2
SAN	?=

WARN	= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	  -Wpointer-arith -Wcast-qual -Werror
CPPFLAGS += -D_GNU_SOURCE -I. -I/usr/include/cjson
CFLAGS	?= $(OPT) -g
CFLAGS	+= -std=c11 $(WARN) -MMD -MP -fno-strict-aliasing $(SAN)
LDFLAGS	+= $(SAN)

BIN	= $(BUILD)/bin
OBJ	= $(BUILD)/obj

COMMON_SRCS = \
	proto/evflow.c \
	common/buf.c \
	common/clock.c \
	common/config.c \
	common/counters.c \
	common/ctl.c \
	common/hash.c \
	common/log.c \
	common/nnlink.c \
	common/paths.c \
	common/sig.c
COMMON_LIBS = -lnanomsg

objs = $(patsubst %.c,$(OBJ)/%.o,$(1))

# Filled by the fragments below.
PROGRAMS	:=
UNIT_TESTS	:=
TOOLS		:=
FUZZ_TARGETS	:=
ALL_SRCS	:= $(COMMON_SRCS)

include tests/build.mk
include collector/build.mk
include router/build.mk
include store/build.mk
include capture/build.mk
include evflowctl/build.mk
include webd/build.mk

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libevflow.a: $(call objs,$(COMMON_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

all: $(PROGRAMS) $(TOOLS) $(UNIT_TESTS)
.DEFAULT_GOAL := all

check: all
	tests/run.sh $(BUILD)

asan:
	$(MAKE) BUILD=build-asan OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    check

fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang OPT=-O1 \
	    SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
	    fuzz-targets

fuzz-targets: $(FUZZ_TARGETS)

bench: all
	tests/bench/run.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all check asan fuzz fuzz-targets bench install clean

-include $(patsubst %.c,$(OBJ)/%.d,$(sort $(ALL_SRCS)))
