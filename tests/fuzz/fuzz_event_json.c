/*
 * libFuzzer target: JSON payload text -> records, for every topic.
 * Byte 0 picks the topic; the rest is the payload.  Every record the
 * parser emits must pass the receiver's checked decoder.
 */
#define FUZZ_PARSE(ej, topic, p, n) \
	ej_parse((ej), (topic), (const char *)(p), (n))
#include "tests/fuzz/fuzz_collector.h"
