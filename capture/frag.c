/*
 * IP fragments.  Only the first fragment of a datagram carries the L4
 * header; the rest belong to the same flow but cannot say so.  A small
 * direct-mapped table remembers (src, dst, protocol, id) -> ports of each
 * first fragment for FRAG_TTL_USEC, so later fragments are accounted to
 * their flow.  A later fragment whose first was not seen (reordered,
 * lost, or overwritten in the table) is accounted to the flow with ports
 * 0 of the same addresses and protocol, and counted as unmatched.  The
 * table never grows: a collision overwrites the older slot.
 */
#include <string.h>

#include "../common/hash.h"
#include "capture.h"

void
frag_init(struct frag_table *t, uint64_t seed)
{
	memset(t->slot, 0, sizeof(t->slot));
	t->seed = seed;
}

static struct frag_slot *
frag_slot(struct frag_table *t, const struct pkt *k)
{
	struct {
		uint8_t		src[16], dst[16];
		uint32_t	id;
		uint32_t	proto;
	} key;

	memcpy(key.src, k->src, 16);
	memcpy(key.dst, k->dst, 16);
	key.id = k->frag_id;
	key.proto = k->proto;
	return &t->slot[hash_bytes(&key, sizeof(key), t->seed) &
	    (FRAG_SLOTS - 1)];
}

void
frag_note_first(struct frag_table *t, const struct pkt *k)
{
	struct frag_slot *s = frag_slot(t, k);

	memcpy(s->src, k->src, 16);
	memcpy(s->dst, k->dst, 16);
	s->id = k->frag_id;
	s->proto = k->proto;
	s->sport = k->sport;
	s->dport = k->dport;
	s->ts_usec = k->ts_usec;
	s->used = 1;
}

int
frag_lookup(struct frag_table *t, struct pkt *k)
{
	struct frag_slot *s = frag_slot(t, k);

	if (!s->used || s->id != k->frag_id || s->proto != k->proto ||
	    memcmp(s->src, k->src, 16) != 0 ||
	    memcmp(s->dst, k->dst, 16) != 0 ||
	    k->ts_usec > s->ts_usec + FRAG_TTL_USEC)
		return 0;
	k->sport = s->sport;
	k->dport = s->dport;
	k->has_ports = 1;
	return 1;
}
