/*
 * libFuzzer target: a whole ZMQ message as the collector sees it.
 * Input: byte 0 = header length selector and frame count, then the
 * header frame, then the payload frame (the rest).  Exercises header
 * decoding, topic dispatch, producer accounting, inflation (capped at
 * 64 KiB here so zlib bombs are cheap to find) and the JSON parser.
 */
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "collector/collector.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
emit(void *arg, uint16_t type, const void *body, size_t len)
{
	(void)arg;
	(void)type;
	(void)body;
	(void)len;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const size_t hlens[8] = { 40, 24, 28, 36, 40, 36, 0, 33 };
	static struct ingest in;
	static int ready;
	size_t hl;
	unsigned nf;

	if (!ready) {
		log_init("fuzz", LOG_LVL_WARN);
		if (ingest_init(&in, 64 * 1024, emit, NULL) == -1)
			return 0;
		ready = 1;
	}
	if (len < 1)
		return 0;
	hl = hlens[data[0] & 7];
	nf = (data[0] >> 3) & 3;	/* 0..3 frames (1..3 meaningful) */
	data++;
	len--;
	if (hl > len)
		hl = len;
	ingest_msg(&in, data, hl, nf >= 2 ? data + hl : NULL,
	    nf >= 2 ? len - hl : 0, nf, "fuzz", -1, 1, 1);
	if (in.prods->n > 64)
		producers_expire(in.prods, 2, 0);
	return 0;
}
