# tests/tools: the test producer and small test helpers (see the top-level Makefile).
# (objects listed with a substitution ref: `objs` is defined after this file
# is read, so $(call objs,...) would expand to nothing in a prerequisite.)
#   evflow-testpub  publishes in ntopng's ZMQ format (libzmq, zlib)
#   evflow-testsub  decodes what testpub sends, to test testpub (zmq, zlib, cJSON)
#   evflow-ctlq     one control-socket request, reply printed (cJSON)
TESTPUB_SRCS = tests/tools/testpub.c tests/tools/testpub_wire.c \
	tests/tools/testpub_gen.c tests/tools/testpub_bad.c
CTLQ_SRCS = tests/tools/ctlq.c
TESTSUB_SRCS = tests/tools/testsub.c

TOOLS += $(BIN)/evflow-testpub $(BIN)/evflow-ctlq $(BIN)/evflow-testsub
ALL_SRCS += $(TESTPUB_SRCS) $(CTLQ_SRCS) $(TESTSUB_SRCS)

$(BIN)/evflow-testpub: $(TESTPUB_SRCS:%.c=$(OBJ)/%.o)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lzmq -lz

$(BIN)/evflow-ctlq: $(CTLQ_SRCS:%.c=$(OBJ)/%.o) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(COMMON_LIBS) -lcjson -lm

$(BIN)/evflow-testsub: $(TESTSUB_SRCS:%.c=$(OBJ)/%.o)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lzmq -lz -lcjson

# evflow-nf5conv: NetFlow v5 (softflowd) -> softflowd-style ntopng JSON over
# ZMQ, for producers_softflowd (uses testpub_wire.c for the framing).
NF5CONV_SRCS = tests/tools/nf5conv.c tests/tools/testpub_wire.c
TOOLS += $(BIN)/evflow-nf5conv
ALL_SRCS += tests/tools/nf5conv.c

$(BIN)/evflow-nf5conv: $(NF5CONV_SRCS:%.c=$(OBJ)/%.o)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lzmq -lz
