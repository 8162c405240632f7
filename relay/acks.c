/*
 * Acknowledgements across the hop (docs/scale-out.md, "What the hop
 * guarantees").  The central store acknowledges each origin by the
 * sender id it received, which for an edge's sender is the edge's id
 * XOR its host's mix (rewrite.c).  The central relay remembers which
 * host each such id came from (a bounded table, filled from the
 * batches themselves) and splits every ack message of its store into
 * one message per edge: the same epoch, that edge's entries only, each
 * sender id unmixed, so an edge's senders read them as they read a
 * local store's and never see another host's.
 */
#include <stdlib.h>
#include <string.h>

#include "relay.h"

int
relay_origins_init(struct relay_origins *t, unsigned max)
{
	memset(t, 0, sizeof(*t));
	if (max == 0 || (t->o = calloc(max, sizeof(*t->o))) == NULL)
		return -1;
	t->max = max;
	return 0;
}

void
relay_origins_free(struct relay_origins *t)
{
	free(t->o);
	t->o = NULL;
	t->n = t->max = 0;
}

static struct relay_origin *
find(const struct relay_origins *t, uint64_t id)
{
	unsigned i;

	for (i = 0; i < t->n; i++)
		if (t->o[i].id == id)
			return &t->o[i];
	return NULL;
}

/* The bucket of a client index for victim(): conflicts apart. */
static unsigned
bucket(int client)
{
	return client >= 0 && client < RELAY_MAX_CLIENTS ? (unsigned)client :
	    RELAY_MAX_CLIENTS;
}

/*
 * The entry a full table gives up for a new origin of `client`: the
 * least recently seen of the host that holds the most entries (on a
 * tie, the newcomer's own host), so an edge that makes up sender ids
 * evicts its own origins, not another host's.
 */
static unsigned
victim(const struct relay_origins *t, int client)
{
	unsigned cnt[RELAY_MAX_CLIENTS + 1], i, b, heavy = bucket(client);
	int found = 0;
	unsigned v = 0;

	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < t->n; i++)
		cnt[bucket(t->o[i].client)]++;
	for (b = 0; b <= RELAY_MAX_CLIENTS; b++)
		if (cnt[b] > cnt[heavy])
			heavy = b;
	for (i = 0; i < t->n; i++)
		if (bucket(t->o[i].client) == heavy && (!found ||
		    t->o[i].last_usec < t->o[v].last_usec)) {
			v = i;
			found = 1;
		}
	return v;
}

int
relay_origin_note(struct relay_origins *t, uint64_t id, int client,
    uint64_t now)
{
	struct relay_origin *o;

	if ((o = find(t, id)) != NULL) {
		o->last_usec = now;
		if (o->client == client || o->client == -1)
			return 0;
		/* Another host's id: neither gets its acks (the mix makes
		 * this a forgery or a 1 in 2^64 coincidence). */
		o->client = -1;
		t->conflicts++;
		return 1;
	}
	if (t->n < t->max)
		o = &t->o[t->n++];
	else {
		o = &t->o[victim(t, client)];
		t->evicted++;
	}
	o->id = id;
	o->last_usec = now;
	o->client = client;
	return 0;
}

int
relay_origin_client(const struct relay_origins *t, uint64_t id)
{
	const struct relay_origin *o = find(t, id);

	return o != NULL ? o->client : -1;
}

int
relay_ack_check(const void *msg, size_t len)
{
	struct evp_ack_hdr h;

	if (evp_ack_open(msg, len, &h) == -1 || h.epoch == 0)
		return -1;
	return 0;
}

int
relay_ack_split(const struct relay_origins *t, const struct relay_client *cl,
    unsigned n, const void *msg, size_t len, uint8_t *out, size_t *outlen,
    struct relay_ack_count *cnt)
{
	struct evp_ack_hdr h, oh;
	struct evp_ack e;
	uint8_t *m;
	unsigned i, count;
	int c;

	memset(cnt, 0, sizeof(*cnt));
	if (evp_ack_open(msg, len, &h) == -1 || h.epoch == 0)
		return -1;
	for (i = 0; i < n; i++)
		outlen[i] = sizeof(h);
	for (i = 0; i < h.count; i++) {
		evp_ack_entry(msg, i, &e);
		if ((c = relay_origin_client(t, e.sender)) < 0 ||
		    (unsigned)c >= n) {
			cnt->unknown++;
			continue;
		}
		e.sender ^= cl[c].mix;
		m = out + (size_t)c * RELAY_ACK_BYTES;
		memcpy(m + outlen[c], &e, sizeof(e));
		outlen[c] += sizeof(e);
		cnt->entries++;
	}
	for (i = 0; i < n; i++) {
		count = (unsigned)((outlen[i] - sizeof(h)) / sizeof(e));
		memset(&oh, 0, sizeof(oh));
		oh.magic = EVP_ACK_MAGIC;
		oh.version = EVP_VERSION;
		oh.count = (uint16_t)count;
		oh.epoch = h.epoch;
		memcpy(out + (size_t)i * RELAY_ACK_BYTES, &oh, sizeof(oh));
	}
	return 0;
}
