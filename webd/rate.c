/*
 * Per-client rate limit: a token bucket per client address, in a fixed
 * table of WEBD_RATE_SLOTS entries indexed by a seeded hash.  A client
 * that collides with another takes over the slot (its bucket starts
 * full), so the table never grows and an attacker cycling addresses only
 * resets buckets, never exhausts memory.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/hash.h"
#include "webd.h"

struct rate_slot {
	char		client[64];
	double		tokens;
	uint64_t	last_usec;	/* monotonic */
};

struct webd_rate {
	pthread_mutex_t	 mu;
	double		 rate;		/* tokens per second, 0 = off */
	double		 burst;
	uint64_t	 seed;
	struct rate_slot slot[WEBD_RATE_SLOTS];
};

struct webd_rate *
rate_new(double rate, double burst)
{
	struct webd_rate *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	pthread_mutex_init(&r->mu, NULL);
	r->rate = rate;
	r->burst = burst > 0 ? burst : rate;
	r->seed = hash_random_seed();
	return r;
}

void
rate_free(struct webd_rate *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->mu);
	free(r);
}

int
rate_allow(struct webd_rate *r, const char *client, double cost)
{
	struct rate_slot *s;
	uint64_t now;
	int ok;

	if (r == NULL || r->rate <= 0)
		return 1;
	now = clock_mono_usec();
	pthread_mutex_lock(&r->mu);
	s = &r->slot[hash_bytes(client, strlen(client), r->seed) %
	    WEBD_RATE_SLOTS];
	if (strcmp(s->client, client) != 0) {
		snprintf(s->client, sizeof(s->client), "%s", client);
		s->tokens = r->burst;
	} else {
		s->tokens += (double)(now - s->last_usec) / 1e6 * r->rate;
		if (s->tokens > r->burst)
			s->tokens = r->burst;
	}
	s->last_usec = now;
	ok = s->tokens >= cost;
	if (ok)
		s->tokens -= cost;
	pthread_mutex_unlock(&r->mu);
	return ok;
}
