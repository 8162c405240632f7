/*
 * libFuzzer target: the inter-process record decoder.  Feeds arbitrary
 * bytes to link_in_dispatch(), which opens the batch, checks the hello
 * and decodes each record the way the router and store do; and the
 * same bytes as a store's ack message, as a sender reads it.  A flow is
 * also checked as the router does (evp_flow_check): the check and the
 * decode must agree, on the verdict and on the network part.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/nnlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
on_record(void *arg, const struct link_sender *s, const struct evp_rec_hdr *rh,
    const void *body)
{
	union {
		struct evp_flow f;
		struct evp_ifcounter c;
		struct evp_listen l;
		struct evp_producer p;
		struct evp_stats st;
		struct evp_iface i;
		struct evp_origin o;
	} u;
	static struct evp_flow head;
	int d;

	(void)arg;
	(void)s;
	switch (rh->type) {
	case EVP_FLOW:
		d = evp_decode_flow(body, rh->len, &u.f);
		if (evp_flow_check(body, rh->len, &head) != d || (d == 0 &&
		    memcmp(&head, &u.f, offsetof(struct evp_flow, side)) != 0))
			abort();
		break;
	case EVP_IFCOUNTER:
		(void)evp_decode_ifcounter(body, rh->len, &u.c);
		break;
	case EVP_LISTEN:
		(void)evp_decode_listen(body, rh->len, &u.l);
		break;
	case EVP_PRODUCER:
		(void)evp_decode_producer(body, rh->len, &u.p);
		break;
	case EVP_STATS:
		(void)evp_decode_stats(body, rh->len, &u.st);
		break;
	case EVP_IFACE:
		(void)evp_decode_iface(body, rh->len, &u.i);
		break;
	case EVP_ORIGIN:
		(void)evp_decode_origin(body, rh->len, &u.o);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct link_in in = { .sock = -1, .cb = on_record };
	struct evp_ack_hdr h;
	struct evp_ack a;
	unsigned i;

	link_in_dispatch(&in, data, len);
	if (evp_ack_open(data, len, &h) == 0)
		for (i = 0; i < h.count; i++)
			evp_ack_entry(data, i, &a);
	return 0;
}
