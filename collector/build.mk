# collector: sources, programs and tests (see the top-level Makefile).
COLLECTOR_SRCS := collector/zmq_frame.c collector/event_json.c collector/tlv.c \
	collector/event_topics.c collector/json_text.c collector/producers.c \
	collector/ingest.c collector/zmq_sock.c collector/json_number.c
COLLECTOR_LIBS := -lzmq -lcjson -lz -lm
COLLECTOR_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(COLLECTOR_SRCS))

PROGRAMS += $(BUILD)/bin/evflow-collector
ALL_SRCS += $(COLLECTOR_SRCS) collector/main.c

$(BUILD)/bin/evflow-collector: $(OBJ)/collector/main.o $(COLLECTOR_OBJS) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(COLLECTOR_LIBS) $(COMMON_LIBS)

# (objs is defined after this fragment is read: paths are spelled out.)
# Unit tests link the real sources (everything but main.c).
UNIT_COLLECTOR := test_collector_json test_collector_frame test_collector_zmq \
	test_collector_number
UNIT_TESTS += $(addprefix $(BUILD)/tests/,$(UNIT_COLLECTOR))
ALL_SRCS += $(addprefix tests/unit/,$(addsuffix .c,$(UNIT_COLLECTOR)))

$(addprefix $(BUILD)/tests/,$(UNIT_COLLECTOR)): $(BUILD)/tests/%: $(OBJ)/tests/unit/%.o $(COLLECTOR_OBJS) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(COLLECTOR_LIBS) $(COMMON_LIBS)

# Benchmark: decoding frames + JSON into records in-process, per dialect.
TOOLS += $(BUILD)/bench/bench_collector
ALL_SRCS += tests/bench/bench_collector.c

$(BUILD)/bench/bench_collector: $(OBJ)/tests/bench/bench_collector.o $(COLLECTOR_OBJS) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(COLLECTOR_LIBS) $(COMMON_LIBS)

# libFuzzer targets (make fuzz).
FUZZ_COLLECTOR := fuzz_zmq_frame fuzz_event_json fuzz_tlv fuzz_json_number
FUZZ_TARGETS += $(addprefix $(BUILD)/fuzz/,$(FUZZ_COLLECTOR))
ALL_SRCS += $(addprefix tests/fuzz/,$(addsuffix .c,$(FUZZ_COLLECTOR)))

$(addprefix $(BUILD)/fuzz/,$(FUZZ_COLLECTOR)): $(BUILD)/fuzz/%: $(OBJ)/tests/fuzz/%.o $(COLLECTOR_OBJS) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(COLLECTOR_LIBS) $(COMMON_LIBS)

# TLV against Debian's libndpi serializer (libndpi-dev, deps.sh --test):
# built with it when pkg-config finds it, else the test skips (77).
NDPI_CFLAGS := $(shell pkg-config --cflags libndpi 2>/dev/null)
NDPI_LIBS := $(shell pkg-config --libs libndpi 2>/dev/null)
UNIT_TESTS += $(BUILD)/tests/test_collector_tlv
ALL_SRCS += tests/unit/test_collector_tlv.c

$(OBJ)/tests/unit/test_collector_tlv.o: CFLAGS += $(if $(NDPI_LIBS),-DHAVE_NDPI $(NDPI_CFLAGS))
$(BUILD)/tests/test_collector_tlv: $(OBJ)/tests/unit/test_collector_tlv.o $(COLLECTOR_OBJS) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(COLLECTOR_LIBS) $(NDPI_LIBS) $(COMMON_LIBS)

# The cJSON baseline of issue 14's ratios (bare cJSON on the sample
# events); tests/bench/e2e.sh runs it with -q in the same run.
TOOLS += $(BUILD)/bench/bench_json
ALL_SRCS += tests/bench/bench_json.c

$(OBJ)/tests/bench/bench_json.o: CPPFLAGS += -DBJ_SAMPLES='"$(CURDIR)/tests/tools/samples/sample-events.jsonl"'
$(BUILD)/bench/bench_json: $(OBJ)/tests/bench/bench_json.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcjson
