/*
 * Rate limits: a token bucket per key (a client address, or an account
 * name for the login limit) in a bounded table.
 *
 * Keys are compared exactly: two keys whose hashes collide share a hash
 * chain, never a bucket, so no key can reset another's bucket.  The
 * table holds at most `cap` keys; a new key when it is full evicts the
 * least recently used entry (its tokens go with it: the new key starts
 * with a full bucket of its own).  An evicted bucket that had not yet
 * refilled is counted, since that is what an attacker cycling through
 * more keys than the table holds would do.
 *
 * A key that is an IPv6 address is counted per /64 (one host usually
 * owns a whole /64, so a bucket per address would be one per request);
 * an IPv4-mapped IPv6 address is its IPv4 address.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/hash.h"
#include "webd.h"

#define RATE_NIL	UINT32_MAX

struct rate_entry {
	char		key[WEBD_RATE_KEY_LEN];	/* "" = free */
	double		tokens;
	uint64_t	last_usec;		/* monotonic */
	uint32_t	hnext;			/* hash chain */
	uint32_t	prev, next;		/* LRU list, newest first */
};

struct webd_rate {
	pthread_mutex_t	   mu;
	double		   rate;	/* tokens per second, 0 = off */
	double		   burst;
	uint64_t	   seed;
	_Atomic uint64_t  *evicted;	/* borrowed, may be NULL */
	uint32_t	   cap, used;
	uint32_t	   nbuckets;	/* a power of two */
	uint32_t	   head, tail;	/* LRU ends */
	uint32_t	  *bucket;	/* first entry of each chain */
	struct rate_entry *e;
};

struct webd_rate *
rate_new(double rate, double burst, unsigned cap, _Atomic uint64_t *evicted)
{
	struct webd_rate *r;
	uint32_t i;

	if (cap < 2)
		cap = 2;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->nbuckets = 2;
	while (r->nbuckets < cap && r->nbuckets < (1u << 30))
		r->nbuckets <<= 1;
	if ((r->bucket = calloc(r->nbuckets, sizeof(*r->bucket))) == NULL ||
	    (r->e = calloc(cap, sizeof(*r->e))) == NULL) {
		free(r->bucket);
		free(r);
		return NULL;
	}
	for (i = 0; i < r->nbuckets; i++)
		r->bucket[i] = RATE_NIL;
	pthread_mutex_init(&r->mu, NULL);
	r->rate = rate;
	r->burst = burst > 0 ? burst : rate;
	r->seed = hash_random_seed();
	r->evicted = evicted;
	r->cap = cap;
	r->head = r->tail = RATE_NIL;
	return r;
}

void
rate_free(struct webd_rate *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->mu);
	free(r->bucket);
	free(r->e);
	free(r);
}

void
rate_key(const char *client, char *out, size_t outlen)
{
	unsigned char a[16];
	char txt[INET6_ADDRSTRLEN];

	if (strchr(client, ':') == NULL ||
	    inet_pton(AF_INET6, client, a) != 1) {
		snprintf(out, outlen, "%s", client);
		return;
	}
	if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		inet_ntop(AF_INET, a + 12, txt, sizeof(txt));
		snprintf(out, outlen, "%s", txt);
		return;
	}
	memset(a + 8, 0, 8);
	inet_ntop(AF_INET6, a, txt, sizeof(txt));
	snprintf(out, outlen, "%s/64", txt);
}

unsigned
rate_slot(const struct webd_rate *r, const char *key)
{
	return (unsigned)(hash_bytes(key, strlen(key), r->seed) &
	    (r->nbuckets - 1));
}

/* LRU list surgery.  Caller holds mu. */
static void
rate_unlink(struct webd_rate *r, uint32_t i)
{
	struct rate_entry *e = &r->e[i];

	if (e->prev != RATE_NIL)
		r->e[e->prev].next = e->next;
	else
		r->head = e->next;
	if (e->next != RATE_NIL)
		r->e[e->next].prev = e->prev;
	else
		r->tail = e->prev;
	e->prev = e->next = RATE_NIL;
}

static void
rate_push_front(struct webd_rate *r, uint32_t i)
{
	struct rate_entry *e = &r->e[i];

	e->prev = RATE_NIL;
	e->next = r->head;
	if (r->head != RATE_NIL)
		r->e[r->head].prev = i;
	r->head = i;
	if (r->tail == RATE_NIL)
		r->tail = i;
}

/* Removes entry i from its hash chain.  Caller holds mu. */
static void
rate_unchain(struct webd_rate *r, uint32_t i)
{
	uint32_t *pp = &r->bucket[rate_slot(r, r->e[i].key)];

	while (*pp != RATE_NIL && *pp != i)
		pp = &r->e[*pp].hnext;
	if (*pp == i)
		*pp = r->e[i].hnext;
}

/* Brings entry i's tokens up to now. */
static void
rate_refill(const struct webd_rate *r, struct rate_entry *e, uint64_t now)
{
	if (now > e->last_usec)
		e->tokens += (double)(now - e->last_usec) / 1e6 * r->rate;
	if (e->tokens > r->burst)
		e->tokens = r->burst;
	e->last_usec = now;
}

int
rate_allow(struct webd_rate *r, const char *client, double cost)
{
	unsigned wait;

	return rate_allow_wait(r, client, cost, &wait);
}

int
rate_allow_wait(struct webd_rate *r, const char *client, double cost,
    unsigned *wait)
{
	char key[WEBD_RATE_KEY_LEN];
	struct rate_entry *e;
	uint64_t now;
	uint32_t i, slot;
	int ok;

	if (r == NULL || r->rate <= 0)
		return 1;
	rate_key(client, key, sizeof(key));
	now = clock_mono_usec();
	slot = rate_slot(r, key);
	pthread_mutex_lock(&r->mu);
	for (i = r->bucket[slot]; i != RATE_NIL; i = r->e[i].hnext)
		if (strcmp(r->e[i].key, key) == 0)
			break;
	if (i != RATE_NIL) {
		e = &r->e[i];
		rate_refill(r, e, now);
		rate_unlink(r, i);
	} else {
		if (r->used < r->cap)
			i = r->used++;
		else {
			/* Full: the least recently used entry goes. */
			i = r->tail;
			e = &r->e[i];
			rate_refill(r, e, now);
			if (e->tokens < r->burst && r->evicted != NULL)
				(*r->evicted)++;
			rate_unchain(r, i);
			rate_unlink(r, i);
		}
		e = &r->e[i];
		snprintf(e->key, sizeof(e->key), "%s", key);
		e->tokens = r->burst;
		e->last_usec = now;
		e->hnext = r->bucket[slot];
		r->bucket[slot] = i;
	}
	rate_push_front(r, i);
	ok = e->tokens >= cost;
	if (ok)
		e->tokens -= cost;
	else {
		double s = (cost - e->tokens) / r->rate;

		/* whole seconds, rounded up */
		*wait = s > 86400 ? 86400 : (unsigned)s + ((unsigned)s < s);
		if (*wait < 1)
			*wait = 1;
	}
	pthread_mutex_unlock(&r->mu);
	return ok;
}
