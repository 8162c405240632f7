# router: evflow-router, its unit tests (see the top-level Makefile).
ROUTER_LIB_SRCS = \
	router/control.c \
	router/dispatch.c \
	router/hold.c \
	router/iface_state.c \
	router/iface_table.c
ROUTER_SRCS = router/main.c $(ROUTER_LIB_SRCS)
ROUTER_LIBS =

PROGRAMS += $(BIN)/evflow-router
ALL_SRCS += $(ROUTER_SRCS)

$(BIN)/evflow-router: $(patsubst %.c,$(OBJ)/%.o,$(ROUTER_SRCS)) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(ROUTER_LIBS) $(COMMON_LIBS)

# Unit tests link the router's own files (not main.c).  Objects are named
# with patsubst: $(call objs) is defined after this fragment is included.
ROUTER_UNIT = test_router_table test_router_dispatch
UNIT_TESTS += $(addprefix $(BUILD)/tests/,$(ROUTER_UNIT))
ALL_SRCS += $(addprefix tests/unit/,$(addsuffix .c,$(ROUTER_UNIT)))

$(addprefix $(BUILD)/tests/,$(ROUTER_UNIT)): $(BUILD)/tests/%: $(OBJ)/tests/unit/%.o $(patsubst %.c,$(OBJ)/%.o,$(ROUTER_LIB_SRCS)) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(ROUTER_LIBS) $(COMMON_LIBS)

# make bench: flows/s through the real evflow-router process, loss-free.
TOOLS += $(BUILD)/bench/bench_router
ALL_SRCS += router/bench_router.c

$(BUILD)/bench/bench_router: $(OBJ)/router/bench_router.o $(BUILD)/libevflow.a | $(BIN)/evflow-router
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(COMMON_LIBS)

# make fuzz: the record path from link_in to link_out on arbitrary records.
FUZZ_TARGETS += $(BUILD)/fuzz/fuzz_router
ALL_SRCS += router/fuzz_router.c

$(BUILD)/fuzz/fuzz_router: $(OBJ)/router/fuzz_router.o $(patsubst %.c,$(OBJ)/%.o,$(ROUTER_LIB_SRCS)) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(ROUTER_LIBS) $(COMMON_LIBS)

# make fuzz: the state file parser (iface_state.c) on arbitrary images.
FUZZ_TARGETS += $(BUILD)/fuzz/fuzz_router_state
ALL_SRCS += router/fuzz_state.c

$(BUILD)/fuzz/fuzz_router_state: $(OBJ)/router/fuzz_state.o $(patsubst %.c,$(OBJ)/%.o,$(ROUTER_LIB_SRCS)) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(ROUTER_LIBS) $(COMMON_LIBS)
