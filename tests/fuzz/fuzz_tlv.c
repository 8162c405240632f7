/*
 * libFuzzer target: TLV payload (nDPI serializer format) -> records, for
 * every topic.  Byte 0 picks the topic; the rest is the payload.  Every
 * record built must pass the receiver's checked decoder.  The seed
 * corpus holds payloads written by Debian's libndpi serializer.
 */
#define FUZZ_PARSE(ej, topic, p, n) ej_parse_tlv((ej), (topic), (p), (n))
#include "tests/fuzz/fuzz_collector.h"
