/*
 * The capture's address-to-name cache: names seen on the wire (DNS
 * answers, and the TLS SNI or HTTP Host nDPI found for a flow's
 * server), never looked up.  One name per address, the latest seen.
 *
 * Memory is fixed at start (cfg entries, a power-of-two bucket array
 * of twice as many heads).  When full, the least recently seen address
 * is forgotten (counted: names_evicted).  Each new or changed pair is
 * handed to the emit callback (an EVP_HOSTNAME record), and a known
 * pair again when it is seen EVP_HOSTNAME_REFRESH_SEC after it was last
 * sent, so the store's table stays fresh without a record per answer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/hash.h"
#include "capture.h"

/* What a lookup and the LRU touch, kept small (48 bytes) and apart from
 * the names: a learn costs the bucket, its entry, the LRU neighbours and
 * one line of the name, and the entries stay in cache between packets. */
struct name_entry {
	uint8_t		addr[16];
	uint64_t	sent_usec;	/* packet time of its last record */
	uint32_t	hnext, prev, next;	/* bucket chain, LRU list */
	uint32_t	hash;		/* of its name, to skip strcmp */
	uint8_t		source;		/* enum evp_name_source */
	uint8_t		ipver;
	uint8_t		pad[6];
};
_Static_assert(sizeof(struct name_entry) == 48, "name entry layout");

struct names {
	struct name_entry *e;
	char		(*name)[DNS_NAME_MAX];	/* entry i's name */
	uint32_t	*bucket;
	uint32_t	 max, nbuckets, used;
	uint32_t	 head, tail;	/* LRU: head is the oldest */
	uint64_t	 seed;
	uint64_t	*cnt;		/* CC_MAX counters, borrowed */
	names_emit_fn	 emit;
	void		*arg;
	struct evp_hostname rec;	/* reused record */
	unsigned	 npend;		/* pairs noted, not learned yet */
	struct names_pend {
		uint8_t		addr[16];
		uint64_t	ts;
		uint32_t	ttl;
		uint32_t	bucket;
		uint8_t		src;
		char		name[DNS_NAME_MAX];
	} pend[NAMES_BATCH];
};

struct names *
names_new(uint32_t max, names_emit_fn emit, void *arg, uint64_t *cnt)
{
	struct names *n;
	uint32_t i;

	if (max == 0 || max > (1u << 24)) {
		errno = EINVAL;
		return NULL;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	n->max = max;
	n->nbuckets = 1;
	while (n->nbuckets < 2 * max)
		n->nbuckets <<= 1;
	n->e = calloc(max, sizeof(*n->e));
	n->name = calloc(max, sizeof(*n->name));
	n->bucket = malloc((size_t)n->nbuckets * sizeof(*n->bucket));
	if (n->e == NULL || n->name == NULL || n->bucket == NULL) {
		names_free(n);
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < n->nbuckets; i++)
		n->bucket[i] = FLOW_NIL;
	n->head = n->tail = FLOW_NIL;
	n->seed = hash_random_seed();
	n->cnt = cnt;
	n->emit = emit;
	n->arg = arg;
	return n;
}

void
names_free(struct names *n)
{
	if (n == NULL)
		return;
	free(n->e);
	free(n->name);
	free(n->bucket);
	free(n);
}

size_t
names_bytes(const struct names *n)
{
	return (size_t)n->max * (sizeof(*n->e) + sizeof(*n->name)) +
	    (size_t)n->nbuckets * sizeof(*n->bucket);
}

static uint32_t
names_bucket(const struct names *n, const uint8_t addr[16])
{
	return (uint32_t)hash_bytes(addr, 16, n->seed) & (n->nbuckets - 1);
}

static void
lru_unlink(struct names *n, uint32_t i)
{
	struct name_entry *e = &n->e[i];

	if (e->prev != FLOW_NIL)
		n->e[e->prev].next = e->next;
	else
		n->head = e->next;
	if (e->next != FLOW_NIL)
		n->e[e->next].prev = e->prev;
	else
		n->tail = e->prev;
}

static void
lru_append(struct names *n, uint32_t i)
{
	struct name_entry *e = &n->e[i];

	e->prev = n->tail;
	e->next = FLOW_NIL;
	if (n->tail != FLOW_NIL)
		n->e[n->tail].next = i;
	else
		n->head = i;
	n->tail = i;
}

/* Forgets the least recently seen address; returns its entry. */
static uint32_t
names_evict(struct names *n)
{
	uint32_t i = n->head, *pp;

	lru_unlink(n, i);
	for (pp = &n->bucket[names_bucket(n, n->e[i].addr)]; *pp != FLOW_NIL;
	    pp = &n->e[*pp].hnext)
		if (*pp == i) {
			*pp = n->e[i].hnext;
			break;
		}
	n->cnt[CC_NAMES_EVICTED]++;
	return i;
}

/* The record of entry i's pair; the name is `len` bytes. */
static void
names_send(struct names *n, uint32_t i, size_t len, uint64_t ts,
    uint32_t ttl)
{
	const struct name_entry *e = &n->e[i];

	memset(&n->rec, 0, sizeof(n->rec));
	n->rec.ts_usec = ts;
	n->rec.ttl = ttl;
	memcpy(n->rec.addr, e->addr, 16);
	n->rec.ip_version = e->ipver;
	n->rec.source = e->source;
	memcpy(n->rec.name, n->name[i], len + 1);
	n->cnt[CC_HOSTNAME_RECORDS]++;
	n->emit(n->arg, &n->rec);
}

/* names_learn with the address's bucket `b` computed. */
static void
names_learn_at(struct names *n, uint32_t b, const uint8_t addr[16],
    const char *name, enum evp_name_source src, uint64_t ts, uint32_t ttl)
{
	struct name_entry *e;
	size_t len = strnlen(name, DNS_NAME_MAX);
	uint32_t i, h;

	if (len == 0 || len >= DNS_NAME_MAX)
		return;
	h = (uint32_t)hash_bytes(name, len, n->seed);
	for (i = n->bucket[b]; i != FLOW_NIL; i = n->e[i].hnext)
		if (memcmp(n->e[i].addr, addr, 16) == 0)
			break;
	if (i != FLOW_NIL) {
		e = &n->e[i];
		lru_unlink(n, i);
		lru_append(n, i);
		if (e->source == src && e->hash == h &&
		    strcmp(n->name[i], name) == 0) {
			if (ts >= e->sent_usec && ts - e->sent_usec <
			    (uint64_t)EVP_HOSTNAME_REFRESH_SEC * 1000000u)
				return;
		} else
			n->cnt[CC_NAMES_CHANGED]++;
	} else {
		if (n->used < n->max)
			i = n->used++;
		else
			i = names_evict(n);
		e = &n->e[i];
		memcpy(e->addr, addr, 16);
		e->ipver = evp_addr_is_v4(addr) ? 4 : 6;
		e->hnext = n->bucket[b];
		n->bucket[b] = i;
		lru_append(n, i);
		n->cnt[CC_NAMES_LEARNED]++;
	}
	e->source = (uint8_t)src;
	e->hash = h;
	memcpy(n->name[i], name, len + 1);
	e->sent_usec = ts;
	names_send(n, i, len, ts, ttl);
}

void
names_learn(struct names *n, const uint8_t addr[16], const char *name,
    enum evp_name_source src, uint64_t ts, uint32_t ttl)
{
	names_flush(n);		/* the pairs noted before come first */
	names_learn_at(n, names_bucket(n, addr), addr, name, src, ts, ttl);
}

void
names_note(struct names *n, const uint8_t addr[16], const char *name,
    enum evp_name_source src, uint64_t ts, uint32_t ttl)
{
	struct names_pend *p = &n->pend[n->npend];
	size_t len = strnlen(name, DNS_NAME_MAX);

	if (len == 0 || len >= DNS_NAME_MAX)
		return;
	memcpy(p->addr, addr, 16);
	memcpy(p->name, name, len + 1);
	p->src = (uint8_t)src;
	p->ts = ts;
	p->ttl = ttl;
	if (++n->npend == NAMES_BATCH)
		names_flush(n);
}

/*
 * The pairs noted are learned in order, their memory fetched in stages
 * across the batch first (the bucket, then its first entry and name,
 * then that entry's LRU neighbours), so that the misses of a cache
 * larger than the CPU's overlap instead of adding up.  Prefetches are
 * only hints: the learning itself runs as names_learn would, one pair
 * after the other.
 */
void
names_flush(struct names *n)
{
	const struct name_entry *e;
	struct names_pend *p = n->pend;
	unsigned k, count = n->npend;
	uint32_t i;

	if (count == 0)
		return;
	n->npend = 0;
	for (k = 0; k < count; k++) {
		p[k].bucket = names_bucket(n, p[k].addr);
		__builtin_prefetch(&n->bucket[p[k].bucket]);
	}
	for (k = 0; k < count; k++)
		if ((i = n->bucket[p[k].bucket]) != FLOW_NIL) {
			__builtin_prefetch(&n->e[i]);
			__builtin_prefetch((const char *)&n->e[i] +
			    sizeof(n->e[i]) - 1);
			__builtin_prefetch(n->name[i]);
		}
	for (k = 0; k < count; k++)
		if ((i = n->bucket[p[k].bucket]) != FLOW_NIL) {
			e = &n->e[i];
			if (e->prev != FLOW_NIL)
				__builtin_prefetch(&n->e[e->prev]);
			if (e->next != FLOW_NIL)
				__builtin_prefetch(&n->e[e->next]);
		}
	for (k = 0; k < count; k++)
		names_learn_at(n, p[k].bucket, p[k].addr, p[k].name,
		    (enum evp_name_source)p[k].src, p[k].ts, p[k].ttl);
}

const char *
names_get(const struct names *n, const uint8_t addr[16])
{
	uint32_t i;

	for (i = n->bucket[names_bucket(n, addr)]; i != FLOW_NIL;
	    i = n->e[i].hnext)
		if (memcmp(n->e[i].addr, addr, 16) == 0)
			return n->name[i];
	return NULL;
}

void
names_dns(struct names *n, const struct pkt *k)
{
	struct dns_result r;
	const uint8_t *p;
	unsigned i;
	int rc;

	if (k->l4 == NULL || k->l4_cap < 8 || k->l4_len < 8)
		return;
	p = k->l4 + 8;
	n->cnt[CC_DNS_RESPONSES]++;
	/* A cut capture (snaplen) parses what it has; a bad message is
	 * counted, its good answers so far are not used. */
	rc = dns_parse_response(p, (k->l4_cap < k->l4_len ? k->l4_cap :
	    k->l4_len) - 8, &r);
	if (rc == -1) {
		n->cnt[CC_DNS_BAD]++;
		return;
	}
	for (i = 0; i < r.nanswers; i++)
		names_note(n, r.answer[i].addr, r.qname, EVP_NAME_DNS,
		    k->ts_usec, r.answer[i].ttl);
}
