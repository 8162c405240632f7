# relay: evflow-relay (edge <-> central over ZMQ CURVE), its unit test and
# fuzz target (see the top-level Makefile).
RELAY_LIB_SRCS = relay/rewrite.c relay/acks.c
RELAY_SRCS = relay/main.c relay/edge.c relay/central.c $(RELAY_LIB_SRCS)
RELAY_LIBS = -lzmq

PROGRAMS += $(BIN)/evflow-relay
ALL_SRCS += $(RELAY_SRCS)

$(BIN)/evflow-relay: $(patsubst %.c,$(OBJ)/%.o,$(RELAY_SRCS)) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(RELAY_LIBS) $(COMMON_LIBS)

UNIT_TESTS += $(BUILD)/tests/test_relay_rewrite
ALL_SRCS += tests/unit/test_relay_rewrite.c

$(BUILD)/tests/test_relay_rewrite: $(OBJ)/tests/unit/test_relay_rewrite.o $(patsubst %.c,$(OBJ)/%.o,$(RELAY_LIB_SRCS)) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(COMMON_LIBS)

UNIT_TESTS += $(BUILD)/tests/test_relay_acks
ALL_SRCS += tests/unit/test_relay_acks.c

$(BUILD)/tests/test_relay_acks: $(OBJ)/tests/unit/test_relay_acks.o $(patsubst %.c,$(OBJ)/%.o,$(RELAY_LIB_SRCS)) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(COMMON_LIBS)

# make fuzz: what the central relay does to a batch from the network.
FUZZ_TARGETS += $(BUILD)/fuzz/fuzz_relay_rewrite
ALL_SRCS += relay/fuzz_rewrite.c

$(BUILD)/fuzz/fuzz_relay_rewrite: $(OBJ)/relay/fuzz_rewrite.o $(patsubst %.c,$(OBJ)/%.o,$(RELAY_LIB_SRCS)) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(COMMON_LIBS)

# make fuzz: the central's split of its store's acks per edge, and the
# edge's check of what the central sends back.
FUZZ_TARGETS += $(BUILD)/fuzz/fuzz_relay_acks
ALL_SRCS += relay/fuzz_acks.c

$(BUILD)/fuzz/fuzz_relay_acks: $(OBJ)/relay/fuzz_acks.o $(patsubst %.c,$(OBJ)/%.o,$(RELAY_LIB_SRCS)) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(COMMON_LIBS)
