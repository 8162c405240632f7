/*
 * libFuzzer target: the central relay's split of a store's ack message
 * per edge (acks.c), and the edge's check of what arrives from the
 * central.  The first byte says which host sent each of a few origins;
 * the rest is the message.  A message it splits must give each edge a
 * message the edge's check accepts, with the store's epoch, whose
 * entries are that edge's origins only, and as many entries in all as
 * the input had of known origins.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "relay/relay.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NCL	3

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static uint8_t out[NCL * RELAY_ACK_BYTES];
	struct relay_client cl[NCL];
	struct relay_origins t;
	struct relay_ack_count cnt;
	struct evp_ack_hdr h, oh;
	struct evp_ack e;
	size_t outlen[NCL];
	unsigned i, c, total = 0;
	int rc;

	log_set_level(-1);
	if (len < 1)
		return 0;
	memset(cl, 0, sizeof(cl));
	for (c = 0; c < NCL; c++)
		cl[c].mix = 0x9e3779b97f4a7c15ULL * (c + 1);
	if (relay_origins_init(&t, 4) == -1)
		abort();
	/* Origins: edge sender ids 1..8, host by two bits of data[0]
	 * (3: none); the table keeps 4 of them. */
	for (i = 0; i < 8; i++) {
		c = (data[0] >> (i % 4 * 2)) & 3;
		if (c < NCL)
			(void)relay_origin_note(&t, (i + 1) ^ cl[c].mix,
			    (int)c, i);
	}
	data++;
	len--;
	rc = relay_ack_split(&t, cl, NCL, data, len, out, outlen, &cnt);
	if ((rc == 0) != (evp_ack_open(data, len, &h) == 0 && h.epoch != 0))
		abort();
	if (rc == -1) {
		if (relay_ack_check(data, len) != -1)
			abort();
		return (relay_origins_free(&t), 0);
	}
	for (c = 0; c < NCL; c++) {
		const uint8_t *m = out + c * RELAY_ACK_BYTES;

		if (outlen[c] > RELAY_ACK_BYTES ||
		    relay_ack_check(m, outlen[c]) == -1 ||
		    evp_ack_open(m, outlen[c], &oh) == -1 ||
		    oh.epoch != h.epoch)
			abort();
		for (i = 0; i < oh.count; i++) {
			evp_ack_entry(m, i, &e);
			/* unmixed: the edge's own id, an origin of c */
			if (relay_origin_client(&t, e.sender ^ cl[c].mix) !=
			    (int)c)
				abort();
		}
		total += oh.count;
	}
	if (total != cnt.entries || cnt.entries + cnt.unknown != h.count)
		abort();
	relay_origins_free(&t);
	return 0;
}
