# webd: sources, programs and tests (see the top-level Makefile).
WEBD_SRCS = \
	webd/main.c \
	webd/http.c \
	webd/http_check.c \
	webd/conns.c \
	webd/auth.c \
	webd/rate.c \
	webd/db.c \
	webd/live.c \
	webd/json.c \
	webd/query.c \
	webd/params.c \
	webd/api_auth.c \
	webd/api_flows.c \
	webd/api_ch.c \
	webd/ch_answer.c \
	webd/ch_query.c \
	webd/api_ifaces.c \
	webd/api_stats.c \
	webd/api_hosts.c \
	webd/metrics.c
# The UI, embedded at build time (webd/gen_assets.sh); order is the
# table's order.
WEBD_UI = \
	webd/ui/index.html \
	webd/ui/app.js \
	webd/ui/charts.js \
	webd/ui/dashboard.js \
	webd/ui/flows.js \
	webd/ui/host.js \
	webd/ui/processes.js \
	webd/ui/interfaces.js \
	webd/ui/app.css \
	webd/ui/favicon.svg
WEBD_LIBS = -lmicrohttpd -lsqlite3 -lsodium -lcjson -lpthread -lm

PROGRAMS += $(BIN)/evflow-webd
ALL_SRCS += $(WEBD_SRCS)

$(OBJ)/webd/gen/assets.c: webd/gen_assets.sh $(WEBD_UI)
	@mkdir -p $(dir $@)
	sh webd/gen_assets.sh $(WEBD_UI) > $@.tmp && mv $@.tmp $@

$(OBJ)/webd/gen/assets.o: $(OBJ)/webd/gen/assets.c webd/webd.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BIN)/evflow-webd: $(patsubst %.c,$(OBJ)/%.o,$(WEBD_SRCS)) $(OBJ)/webd/gen/assets.o \
    $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(COMMON_LIBS) $(WEBD_LIBS)

# Unit tests: the query parser and SQL assembly against a real SQLite;
# credentials, sessions and the rate limiter; the JSON writer.
WEBD_UNIT = test_webd_query test_webd_auth test_webd_json
UNIT_TESTS += $(addprefix $(BUILD)/tests/,$(WEBD_UNIT))
ALL_SRCS += $(addprefix tests/unit/,$(addsuffix .c,$(WEBD_UNIT)))

$(BUILD)/tests/test_webd_query: $(OBJ)/tests/unit/test_webd_query.o \
    $(OBJ)/webd/query.o $(OBJ)/webd/params.o $(OBJ)/webd/http_check.o \
    $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(COMMON_LIBS) -lsqlite3 -lm

$(BUILD)/tests/test_webd_auth: $(OBJ)/tests/unit/test_webd_auth.o \
    $(OBJ)/webd/auth.o $(OBJ)/webd/rate.o $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(COMMON_LIBS) -lsqlite3 -lsodium -lpthread

$(BUILD)/tests/test_webd_json: $(OBJ)/tests/unit/test_webd_json.o \
    $(OBJ)/webd/json.o $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(COMMON_LIBS) -lsqlite3 -lcjson -lm

# libFuzzer: the query-string, parameter, address and cursor parsers.
FUZZ_TARGETS += $(BUILD)/fuzz/fuzz_webd_query
ALL_SRCS += tests/fuzz/fuzz_webd_query.c

$(BUILD)/fuzz/fuzz_webd_query: $(OBJ)/tests/fuzz/fuzz_webd_query.o \
    $(OBJ)/webd/query.o $(OBJ)/webd/params.o $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(COMMON_LIBS) -lsqlite3 -lm

# libFuzzer: the URL, Host and X-Forwarded checks (webd/http_check.c).
FUZZ_TARGETS += $(BUILD)/fuzz/fuzz_webd_http
ALL_SRCS += tests/fuzz/fuzz_webd_http.c

$(BUILD)/fuzz/fuzz_webd_http: $(OBJ)/tests/fuzz/fuzz_webd_http.o \
    $(OBJ)/webd/http_check.o $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(COMMON_LIBS)

# libFuzzer: the JSON string writer (any bytes from the database).
FUZZ_TARGETS += $(BUILD)/fuzz/fuzz_webd_json
ALL_SRCS += tests/fuzz/fuzz_webd_json.c

$(BUILD)/fuzz/fuzz_webd_json: $(OBJ)/tests/fuzz/fuzz_webd_json.o \
    $(OBJ)/webd/json.o $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(COMMON_LIBS) -lsqlite3 \
	    -lcjson -lm

# libFuzzer: ClickHouse's HTTP answers (common/ch_http.c) and their
# TabSeparated rows as JSON (webd/ch_answer.c).
FUZZ_TARGETS += $(BUILD)/fuzz/fuzz_clickhouse
ALL_SRCS += tests/fuzz/fuzz_clickhouse.c

$(BUILD)/fuzz/fuzz_clickhouse: $(OBJ)/tests/fuzz/fuzz_clickhouse.o \
    $(OBJ)/webd/ch_answer.o $(OBJ)/webd/json.o $(BUILD)/libevflow.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(COMMON_LIBS) -lsqlite3 \
	    -lcjson -lm
