/* relay/acks.c: the central relay's table of edge origins and its split
 * of a store's ack message per edge.  Each edge gets the store's epoch
 * and its own origins only, with the sender ids it knows (unmixed); an
 * origin of no edge, or one two hosts claimed, goes to none; the table
 * stays within its bound; malformed messages are refused. */
#include <stdlib.h>
#include <string.h>

#include "relay/relay.h"
#include "t.h"

static uint8_t in[RELAY_ACK_BYTES];

/* A store's ack message with `n` entries: sender ids[i], committed 100+i. */
static size_t
ack_msg(uint64_t epoch, const uint64_t *ids, unsigned n)
{
	struct evp_ack_hdr h;
	struct evp_ack e;
	unsigned i;

	memset(&h, 0, sizeof(h));
	h.magic = EVP_ACK_MAGIC;
	h.version = EVP_VERSION;
	h.count = (uint16_t)n;
	h.epoch = epoch;
	memcpy(in, &h, sizeof(h));
	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof(e));
		e.sender = ids[i];
		e.committed = 100 + i;
		e.want = 101 + i;
		e.flags = i == 1 ? EVP_ACK_F_RESEND : 0;
		memcpy(in + sizeof(h) + i * sizeof(e), &e, sizeof(e));
	}
	return sizeof(h) + n * sizeof(e);
}

int
main(void)
{
	static uint8_t out[2 * RELAY_ACK_BYTES];
	struct relay_client cl[2];
	struct relay_origins t;
	struct relay_ack_count cnt;
	struct evp_ack_hdr h;
	struct evp_ack e;
	size_t outlen[2], len, k;
	uint64_t ids[5];
	unsigned i;

	memset(cl, 0, sizeof(cl));
	cl[0].mix = 0x1111000011110000ULL;
	cl[1].mix = 0x2222000022220000ULL;
	CHECK(relay_origins_init(&t, 4) == 0);
	/* host0 sent edge senders 7 and 8, host1 edge sender 7 (the same
	 * edge id on two hosts: two origins, mixed apart). */
	CHECK(relay_origin_note(&t, 7 ^ cl[0].mix, 0, 10) == 0);
	CHECK(relay_origin_note(&t, 8 ^ cl[0].mix, 0, 11) == 0);
	CHECK(relay_origin_note(&t, 7 ^ cl[1].mix, 1, 12) == 0);
	CHECK(relay_origin_note(&t, 7 ^ cl[1].mix, 1, 13) == 0);
	CHECK_EQ_U(t.n, 3);
	CHECK(relay_origin_client(&t, 8 ^ cl[0].mix) == 0);
	CHECK(relay_origin_client(&t, 7 ^ cl[1].mix) == 1);
	CHECK(relay_origin_client(&t, 9) == -1);

	/* Entries: host1's 7, host0's 8, a central sender 55, host0's 7. */
	ids[0] = 7 ^ cl[1].mix;
	ids[1] = 8 ^ cl[0].mix;
	ids[2] = 55;
	ids[3] = 7 ^ cl[0].mix;
	len = ack_msg(0xabcdef, ids, 4);
	CHECK(relay_ack_split(&t, cl, 2, in, len, out, outlen, &cnt) == 0);
	CHECK_EQ_U(cnt.entries, 3);
	CHECK_EQ_U(cnt.unknown, 1);
	CHECK_EQ_U(outlen[0], sizeof(h) + 2 * sizeof(e));
	CHECK_EQ_U(outlen[1], sizeof(h) + 1 * sizeof(e));
	/* host0: well-formed, the store's epoch, its 8 then its 7 */
	CHECK(relay_ack_check(out, outlen[0]) == 0);
	CHECK(evp_ack_open(out, outlen[0], &h) == 0);
	CHECK_EQ_U(h.epoch, 0xabcdef);
	CHECK_EQ_U(h.count, 2);
	evp_ack_entry(out, 0, &e);
	CHECK_EQ_U(e.sender, 8);
	CHECK_EQ_U(e.committed, 101);
	CHECK_EQ_U(e.want, 102);
	CHECK_EQ_U(e.flags, EVP_ACK_F_RESEND);
	evp_ack_entry(out, 1, &e);
	CHECK_EQ_U(e.sender, 7);
	CHECK_EQ_U(e.committed, 103);
	/* host1: its own 7 only */
	CHECK(evp_ack_open(out + RELAY_ACK_BYTES, outlen[1], &h) == 0);
	CHECK_EQ_U(h.count, 1);
	CHECK_EQ_U(h.epoch, 0xabcdef);
	evp_ack_entry(out + RELAY_ACK_BYTES, 0, &e);
	CHECK_EQ_U(e.sender, 7);
	CHECK_EQ_U(e.committed, 100);

	/* No entry for an edge: each still gets the epoch (its senders
	 * learn a store listens). */
	len = ack_msg(0x77, ids + 2, 1);
	CHECK(relay_ack_split(&t, cl, 2, in, len, out, outlen, &cnt) == 0);
	CHECK_EQ_U(outlen[0], sizeof(h));
	CHECK_EQ_U(outlen[1], sizeof(h));
	CHECK(evp_ack_open(out + RELAY_ACK_BYTES, outlen[1], &h) == 0);
	CHECK_EQ_U(h.epoch, 0x77);
	CHECK_EQ_U(h.count, 0);

	/* An id host1 sends that host0 sent first: a conflict, acked to
	 * neither. */
	CHECK(relay_origin_note(&t, 8 ^ cl[0].mix, 1, 14) == 1);
	CHECK_EQ_U(t.conflicts, 1);
	CHECK(relay_origin_note(&t, 8 ^ cl[0].mix, 0, 15) == 0);
	len = ack_msg(0x77, ids + 1, 1);
	CHECK(relay_ack_split(&t, cl, 2, in, len, out, outlen, &cnt) == 0);
	CHECK_EQ_U(cnt.unknown, 1);
	CHECK_EQ_U(outlen[0] + outlen[1], 2 * sizeof(h));

	/* The bound: a fifth origin evicts the least recently seen of the
	 * host holding the most (host0: its 7, seen at 10, and 1000). */
	CHECK(relay_origin_note(&t, 1000, 0, 20) == 0);
	CHECK(relay_origin_note(&t, 1001, 1, 21) == 0);
	CHECK_EQ_U(t.n, 4);
	CHECK_EQ_U(t.evicted, 1);
	CHECK(relay_origin_client(&t, 7 ^ cl[0].mix) == -1);
	CHECK(relay_origin_client(&t, 1001) == 1);

	/* One edge that makes up sender ids evicts its own origins: host0
	 * keeps both of its own through host1's flood of 100. */
	relay_origins_free(&t);
	CHECK(relay_origins_init(&t, 4) == 0);
	CHECK(relay_origin_note(&t, 1, 0, 1) == 0);
	CHECK(relay_origin_note(&t, 2, 0, 2) == 0);
	for (i = 0; i < 100; i++)
		CHECK(relay_origin_note(&t, 500 + i, 1, 3 + i) == 0);
	CHECK_EQ_U(t.evicted, 98);
	CHECK(relay_origin_client(&t, 1) == 0);
	CHECK(relay_origin_client(&t, 2) == 0);
	CHECK(relay_origin_client(&t, 599) == 1);
	CHECK(relay_origin_client(&t, 598) == 1);
	CHECK(relay_origin_client(&t, 597) == -1);
	/* ... on a tie a newcomer takes its own host's oldest ... */
	CHECK(relay_origin_note(&t, 3, 0, 200) == 0);
	CHECK(relay_origin_client(&t, 1) == -1);
	CHECK(relay_origin_client(&t, 2) == 0);
	CHECK(relay_origin_client(&t, 3) == 0);
	CHECK(relay_origin_client(&t, 598) == 1);
	/* ... and a host with fewer takes the heaviest one's oldest. */
	relay_origins_free(&t);
	CHECK(relay_origins_init(&t, 4) == 0);
	for (i = 0; i < 4; i++)
		CHECK(relay_origin_note(&t, 500 + i, 1, 10 + i) == 0);
	CHECK(relay_origin_note(&t, 1, 0, 20) == 0);
	CHECK(relay_origin_client(&t, 500) == -1);
	CHECK(relay_origin_client(&t, 501) == 1);
	CHECK(relay_origin_client(&t, 1) == 0);

	/* Malformed: every truncation, a bad magic, a count beyond the
	 * bytes, epoch 0; nothing is split. */
	len = ack_msg(5, ids, 4);
	for (k = 0; k < len; k++)
		CHECK(relay_ack_split(&t, cl, 2, in, k, out, outlen, &cnt) ==
		    -1);
	CHECK(relay_ack_split(&t, cl, 2, in, len + 1, out, outlen, &cnt) ==
	    -1);
	in[0] ^= 1;
	CHECK(relay_ack_split(&t, cl, 2, in, len, out, outlen, &cnt) == -1);
	CHECK(relay_ack_check(in, len) == -1);
	len = ack_msg(0, ids, 4);
	CHECK(relay_ack_split(&t, cl, 2, in, len, out, outlen, &cnt) == -1);
	CHECK(relay_ack_check(in, len) == -1);
	len = ack_msg(5, ids, 4);
	memcpy(&h, in, sizeof(h));
	h.count = 5;
	memcpy(in, &h, sizeof(h));
	CHECK(relay_ack_split(&t, cl, 2, in, len, out, outlen, &cnt) == -1);
	/* the most entries a message holds, all host1's */
	relay_origins_free(&t);
	CHECK(relay_origins_init(&t, 1) == 0);
	CHECK(relay_origin_note(&t, 1001, 1, 1) == 0);
	{
		static uint64_t many[EVP_ACK_MAX];

		for (i = 0; i < EVP_ACK_MAX; i++)
			many[i] = 1001;
		len = ack_msg(9, many, EVP_ACK_MAX);
		CHECK(relay_ack_split(&t, cl, 2, in, len, out, outlen,
		    &cnt) == 0);
		CHECK_EQ_U(outlen[1], RELAY_ACK_BYTES);
		CHECK_EQ_U(outlen[0], sizeof(h));
		CHECK(relay_ack_check(out + RELAY_ACK_BYTES, outlen[1]) == 0);
	}
	relay_origins_free(&t);
	return t_done("test_relay_acks");
}
