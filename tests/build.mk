# Unit tests of common/ and proto/.  A unit test links the real .c files.
# Pattern for a unit test binary:
#   $(BUILD)/tests/test_x: $(call objs,tests/unit/test_x.c) $(BUILD)/libevflow.a
UNIT_COMMON := test_proto test_config test_nnlink test_daemon test_log test_ctl \
	test_community_id
UNIT_TESTS += $(addprefix $(BUILD)/tests/,$(UNIT_COMMON))
ALL_SRCS += $(addprefix tests/unit/,$(addsuffix .c,$(UNIT_COMMON)))

$(addprefix $(BUILD)/tests/,$(UNIT_COMMON)): $(BUILD)/tests/%: $(OBJ)/tests/unit/%.o $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(COMMON_LIBS)

# libFuzzer targets (built by `make fuzz` with clang).  Pattern for a
# target: list it in FUZZ_TARGETS and link its object with the objects of
# the code under test and -fsanitize=fuzzer.  Seeds: tests/fuzz/corpus/<name>/.
FUZZ_TARGETS += $(BUILD)/fuzz/fuzz_proto
ALL_SRCS += tests/fuzz/fuzz_proto.c

$(BUILD)/fuzz/fuzz_proto: $(OBJ)/tests/fuzz/fuzz_proto.o $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(COMMON_LIBS)
include tests/tools/build.mk
