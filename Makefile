# evflow: one top-level Makefile.  Each daemon lists its own sources and
# tests in <dir>/build.mk (explicit lists, no wildcards); this file holds
# the flags, the rules and the top-level targets.
#
#   make            build everything into build/
#   make check      unit and integration tests (needs root for netns tests)
#   make asan       the same tests under ASan+UBSan, in build-asan/
#   make fuzz       libFuzzer targets (clang), in build-fuzz/
#   make bench      benchmarks; prints their numbers
#   make install    the daemons, units, config and docs into
#                   $(DESTDIR)$(PREFIX) (see "Installation" below)
#   make RELEASE=1  the release build, in build-release/: assert()s
#                   compiled out (-DNDEBUG); for packages (.deb)
#
# Assertions, in SQLite's style: assert() states an invariant of the
# code (an index inside its table, a reference count above zero, a
# record length after its checked decode), never a check of input: bad
# input is a counted error.  They are on in every build but the release
# one, so `make`, `make check`, `make asan` and `make fuzz` all run the
# tests with them; RELEASE=1 adds -DNDEBUG and builds in build-release/
# unless BUILD is given (packaging/build-deb.sh passes its own: a change
# of flags in a build directory rebuilds its objects, see FLAGS_STAMP).

CC	?= cc
ifeq ($(RELEASE),1)
BUILD	?= build-release
CPPFLAGS += -DNDEBUG
endif
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
	common/ch_http.c \
	common/clock.c \
	common/community_id.c \
	common/config.c \
	common/counters.c \
	common/ctl.c \
	common/curve.c \
	common/daemon.c \
	common/hash.c \
	common/log.c \
	common/nnlink.c \
	common/paths.c \
	common/privdrop.c \
	common/sha1.c \
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
include relay/build.mk
include store/build.mk
include capture/build.mk
include evflowctl/build.mk
include webd/build.mk
include probe/build.mk

# The compiler and flags an object was built with: when they change
# (RELEASE=1, SAN=..., OPT=...) in the same build directory, every object
# is rebuilt, so a release never links an object with assertions on.
# (Expanded here, once: a target's own additions, such as the probe's
# -I for its skeleton, are not the build's flags.)
FLAGS_STAMP = $(BUILD)/.build-flags
BUILD_FLAGS := $(CC) $(CPPFLAGS) $(CFLAGS)
$(FLAGS_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' > $@

$(OBJ)/%.o: %.c $(FLAGS_STAMP)
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

# Installation into FHS paths; DESTDIR stages it (the .deb is
# `make install-strip DESTDIR=... PREFIX=/usr UNITDIR=/lib/systemd/system`).
# Only PROGRAMS are installed, never TOOLS (test publishers, sinks, benches).
# The config goes to /etc/evflow for PREFIX=/usr, else to
# $(PREFIX)/etc/evflow; an existing one is never overwritten.  The units
# are made from packaging/systemd/*.in with these paths filled in; every
# daemon keeps its data in /var/lib/evflow (the units' StateDirectory).
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
PKGLIBDIR ?= $(PREFIX)/lib/evflow
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR	?= $(PREFIX)/lib/systemd/system
DOCDIR	?= $(PREFIX)/share/doc/evflow
INSTALL_PROGRAM ?= install -m 0755
UNITS	= evflow.target evflow-store.service evflow-router.service \
	  evflow-webd.service evflow-collector@.service evflow-capture@.service \
	  evflow-relay.service \
	  $(if $(filter %/evflow-probe,$(PROGRAMS)),evflow-probe.service)
DOCS	= README.md docs/design.md docs/schema.md docs/api.md docs/wire.md \
	  docs/probe.md docs/scale-out.md
UNIT_SED = -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@PKGLIBDIR@|$(PKGLIBDIR)|g' \
	  -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g'

install: $(PROGRAMS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGLIBDIR) \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/evflow $(DESTDIR)$(DOCDIR)
	$(INSTALL_PROGRAM) $(PROGRAMS) $(DESTDIR)$(BINDIR)/
	install -m 0755 packaging/evflow-instance $(DESTDIR)$(PKGLIBDIR)/
	for u in $(UNITS); do \
	    sed $(UNIT_SED) packaging/systemd/$$u.in >$(DESTDIR)$(UNITDIR)/$$u && \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	[ -e $(DESTDIR)$(SYSCONFDIR)/evflow/evflow.conf ] || \
	    install -m 0644 packaging/evflow.conf $(DESTDIR)$(SYSCONFDIR)/evflow/
	install -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/

install-strip:
	$(MAKE) INSTALL_PROGRAM='install -m 0755 -s' install

# Removes what install put there except the config (it may be edited).
uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(PROGRAMS))) \
	    $(DESTDIR)$(PKGLIBDIR)/evflow-instance \
	    $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS)) \
	    $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS)))
	-rmdir $(DESTDIR)$(PKGLIBDIR) $(DESTDIR)$(DOCDIR)

clean:
	rm -rf build build-asan build-fuzz build-release

FORCE:

.PHONY: all check asan fuzz fuzz-targets bench install install-strip uninstall clean FORCE

-include $(patsubst %.c,$(OBJ)/%.d,$(sort $(ALL_SRCS)))
