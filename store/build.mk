# store: evflow-store, its unit tests and benchmark (see the top-level
# Makefile).  Objects are named with patsubst: $(call objs) is defined
# after this fragment is included.
STORE_LIB_SRCS = \
	store/checkpoint.c \
	store/clickhouse.c \
	store/clickhouse_rows.c \
	store/community.c \
	store/delivery.c \
	store/flow_merge.c \
	store/flow_rows.c \
	store/flow_table.c \
	store/intern.c \
	store/memory.c \
	store/records.c \
	store/retention.c \
	store/schema.c \
	store/sqlite_sink.c \
	store/writer.c
STORE_SRCS = store/main.c $(STORE_LIB_SRCS)
STORE_LIBS = -lsqlite3 -lpthread
store_objs = $(patsubst %.c,$(OBJ)/%.o,$(1))

PROGRAMS += $(BUILD)/bin/evflow-store
ALL_SRCS += $(STORE_SRCS)

$(BUILD)/bin/evflow-store: $(call store_objs,$(STORE_SRCS)) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(STORE_LIBS) $(COMMON_LIBS)

# Unit tests link the store's real files (not main.c), real SQLite files.
STORE_UNIT = test_store_flows test_store_sink test_store_daemon test_store_memory \
	test_store_delivery test_store_totals
UNIT_TESTS += $(addprefix $(BUILD)/tests/,$(STORE_UNIT))
ALL_SRCS += $(addprefix tests/unit/,$(addsuffix .c,$(STORE_UNIT)))

$(addprefix $(BUILD)/tests/,$(STORE_UNIT)): $(BUILD)/tests/%: $(OBJ)/tests/unit/%.o $(call store_objs,$(STORE_LIB_SRCS)) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(STORE_LIBS) $(COMMON_LIBS)

# make bench: records/s from link_in_dispatch into committed rows.
TOOLS += $(BUILD)/bench/bench_store
ALL_SRCS += tests/bench/bench_store.c
$(BUILD)/bench/bench_store: $(OBJ)/tests/bench/bench_store.o $(call store_objs,$(STORE_LIB_SRCS)) $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(STORE_LIBS) $(COMMON_LIBS)

# libFuzzer: the Community ID of a flow row from hostile extra text.
FUZZ_TARGETS += $(BUILD)/fuzz/fuzz_community
ALL_SRCS += tests/fuzz/fuzz_community.c
$(BUILD)/fuzz/fuzz_community: $(OBJ)/tests/fuzz/fuzz_community.o \
    $(OBJ)/store/community.o $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(COMMON_LIBS) -lsqlite3
