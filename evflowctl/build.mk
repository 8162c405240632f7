# evflowctl: the supervisor and control client (see the top-level Makefile).
# Objects are named with patsubst: $(call objs) is defined after this
# fragment is included.
EVFLOWCTL_SRCS = \
	evflowctl/adopt.c \
	evflowctl/demo.c \
	evflowctl/demo_net.c \
	evflowctl/main.c \
	evflowctl/plan.c \
	evflowctl/status.c \
	evflowctl/supervise.c

PROGRAMS += $(BIN)/evflowctl
ALL_SRCS += $(EVFLOWCTL_SRCS)

$(BIN)/evflowctl: $(patsubst %.c,$(OBJ)/%.o,$(EVFLOWCTL_SRCS)) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcjson $(COMMON_LIBS)

# The Debian package: build/evflow_<version>_amd64.deb (packaging/build-deb.sh).
deb: all
	packaging/build-deb.sh $(BUILD)

.PHONY: deb
