/*
 * libFuzzer target: the central relay's check and renaming of a batch
 * that crossed the network (rewrite.c).  A batch it accepts must still
 * be a well-formed batch of the same number of records, and every hello
 * and stats name in it must carry the host prefix.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "relay/relay.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static uint8_t buf[1 << 20];
	struct evp_batch_iter it;
	struct evp_rec_hdr rh;
	struct evp_hello h;
	struct evp_stats s;
	enum rewrite_err why;
	const void *body;
	int n, m, r;

	log_set_level(-1);
	if (len > sizeof(buf))
		return 0;
	memcpy(buf, data, len);
	n = relay_rewrite(buf, len, "fz", 0x5a5a, &why);
	if (n < 0) {
		if (why == RW_OK)
			abort();
		return 0;
	}
	if (why != RW_OK || (m = relay_batch_records(buf, len)) != n ||
	    relay_batch_records(data, len) != n)
		abort();
	if (evp_batch_open(&it, buf, len) == -1)
		abort();
	while ((r = evp_batch_next(&it, &rh, &body)) == 1) {
		if (rh.type == EVP_HELLO &&
		    evp_decode_hello(body, rh.len, &h) == 0 &&
		    strncmp(h.name, "fz:", 3) != 0)
			abort();
		if (rh.type == EVP_STATS &&
		    evp_decode_stats(body, rh.len, &s) == 0 &&
		    strncmp(s.name, "fz:", 3) != 0)
			abort();
	}
	if (r != 0)
		abort();
	return 0;
}
