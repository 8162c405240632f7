# capture: sources, programs and tests (see the top-level Makefile).
CAPTURE_LIB_SRCS = \
	capture/dissect.c \
	capture/dns.c \
	capture/dpi.c \
	capture/dpi_queue.c \
	capture/flow_export.c \
	capture/flow_table.c \
	capture/frag.c \
	capture/names.c \
	capture/source.c
CAPTURE_SRCS = capture/main.c $(CAPTURE_LIB_SRCS)
CAPTURE_LIBS = -lpcap -lndpi
# (objs is defined after this fragment is read, so expand by hand here)
capture_objs = $(patsubst %.c,$(OBJ)/%.o,$(1))

PROGRAMS += $(BUILD)/bin/evflow-capture
ALL_SRCS += $(CAPTURE_SRCS) capture/sink.c

$(BUILD)/bin/evflow-capture: $(call capture_objs,$(CAPTURE_SRCS)) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(COMMON_LIBS) $(CAPTURE_LIBS)

# A record sink for the capture's integration test: binds a link_in and
# prints each flow record as one line.
TOOLS += $(BUILD)/bin/evflow-capture-sink
$(BUILD)/bin/evflow-capture-sink: $(call capture_objs,capture/sink.c) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(COMMON_LIBS)

# Unit tests on pcap files the tests write (real .c files, not main.c).
UNIT_CAPTURE := test_capture_dissect test_capture_flows test_capture_dpi
UNIT_TESTS += $(addprefix $(BUILD)/tests/,$(UNIT_CAPTURE))
ALL_SRCS += $(addprefix tests/unit/,$(addsuffix .c,$(UNIT_CAPTURE)))

$(addprefix $(BUILD)/tests/,$(UNIT_CAPTURE)): $(BUILD)/tests/%: $(OBJ)/tests/unit/%.o $(call capture_objs,$(CAPTURE_LIB_SRCS)) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(COMMON_LIBS) $(CAPTURE_LIBS)

# The dissector and flow table on arbitrary bytes, for every link type.
FUZZ_TARGETS += $(BUILD)/fuzz/fuzz_dissect
ALL_SRCS += tests/fuzz/fuzz_dissect.c
$(BUILD)/fuzz/fuzz_dissect: $(OBJ)/tests/fuzz/fuzz_dissect.o $(call capture_objs,$(CAPTURE_LIB_SRCS)) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(COMMON_LIBS) $(CAPTURE_LIBS)

# The DNS response parser (names seen on the wire) on arbitrary bytes.
FUZZ_TARGETS += $(BUILD)/fuzz/fuzz_dns
ALL_SRCS += tests/fuzz/fuzz_dns.c
$(BUILD)/fuzz/fuzz_dns: $(OBJ)/tests/fuzz/fuzz_dns.o $(call capture_objs,$(CAPTURE_LIB_SRCS)) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(COMMON_LIBS) $(CAPTURE_LIBS)

# make bench: packets/s through pcap + dissect + flow table, in-process.
TOOLS += $(BUILD)/bench/capture-bench
ALL_SRCS += tests/bench/bench_capture.c
$(BUILD)/bench/capture-bench: $(OBJ)/tests/bench/bench_capture.o $(call capture_objs,$(CAPTURE_LIB_SRCS)) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(COMMON_LIBS) $(CAPTURE_LIBS)
