/*
 * The shared half of the collector's payload fuzz targets (JSON and TLV):
 * byte 0 of the input picks the topic, the rest is the payload, and every
 * record the parser emits must pass the receiver's checked decoder.
 * A target defines FUZZ_PARSE(ej, topic, data, len) and includes this.
 */
#ifndef EVFLOW_FUZZ_COLLECTOR_H
#define EVFLOW_FUZZ_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/log.h"
#include "tests/unit/t_flow.h"
#include "collector/collector.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
fuzz_emit(void *arg, uint16_t type, const void *body, size_t len)
{
	static union {
		struct evp_flow f;
		struct evp_listen l;
		struct evp_ifcounter c;
	} u;
	int r;

	(void)arg;
	switch (type) {
	case EVP_FLOW:
		r = t_flow_wire(body, len, &u.f);	/* encode + decode */
		break;
	case EVP_LISTEN:
		r = evp_decode_listen(body, len, &u.l);
		break;
	case EVP_IFCOUNTER:
		r = evp_decode_ifcounter(body, len, &u.c);
		break;
	default:
		r = -1;
	}
	if (r != 0)
		abort();	/* the collector built an invalid record */
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static uint64_t ctr[C_COUNTER_MAX];
	static struct ej ej;
	static int ready;

	if (!ready) {
		log_init("fuzz", LOG_LVL_WARN);
		ej_init(&ej, ctr, fuzz_emit, NULL);
		ready = 1;
	}
	if (len < 1)
		return 0;
	(void)FUZZ_PARSE(&ej, (enum ej_topic)(data[0] % 4), data + 1,
	    len - 1);
	return 0;
}

#endif
