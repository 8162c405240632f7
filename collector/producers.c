/*
 * Per-producer loss accounting.  A producer is a (peer address,
 * source_id) pair; its msg_id must grow by one per message.  A jump
 * counts the gap as lost messages, a step back (modulo 2^32, by more
 * than half the space) is a restart, a repeat is a duplicate.  The
 * sequence is followed per connection (see struct producer_seq).
 *
 * The table is small and dense (producers are few): the last producer
 * found is checked first, then a linear scan.  Entries are kept packed
 * in tab[0..n) so expiry and scans touch only live ones.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "collector.h"

struct producers *
producers_new(uint64_t *ctr)
{
	struct producers *ps;

	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return NULL;
	ps->ctr = ctr;
	ps->next_id = 1;
	return ps;
}

void
producers_free(struct producers *ps)
{
	free(ps);
}

static int
same(const struct producer *p, const char *peer, uint32_t source_id)
{
	return p->source_id == source_id && strcmp(p->rec.peer, peer) == 0;
}

/* A fresh entry: a free slot, or the least recently seen one. */
static struct producer *
slot(struct producers *ps)
{
	struct producer *p, *old;
	unsigned i;

	if (ps->n < PROD_MAX)
		return &ps->tab[ps->n++];
	old = &ps->tab[0];
	for (i = 1; i < ps->n; i++)
		if (ps->tab[i].last_mono < old->last_mono)
			old = &ps->tab[i];
	p = old;
	ps->ctr[C_PRODUCERS_EVICTED]++;
	LOG_RATELIMITED(log_warnx, "producer table full: forgetting %s/%u",
	    p->rec.peer, p->source_id);
	return p;
}

/* The sequence of connection `conn`, or NULL. */
static struct producer_seq *
seq_of(struct producer *p, int conn)
{
	unsigned i;

	for (i = 0; i < p->nseq; i++)
		if (p->seq[i].conn == conn)
			return &p->seq[i];
	return NULL;
}

/* A new sequence slot; the least recently used one when all are taken
 * (connections of a producer come and go). */
static struct producer_seq *
seq_new(struct producer *p, int conn, uint64_t now)
{
	struct producer_seq *q;
	unsigned i;

	if (p->nseq < PROD_CONNS)
		q = &p->seq[p->nseq++];
	else {
		q = &p->seq[0];
		for (i = 1; i < PROD_CONNS; i++)
			if (p->seq[i].last_mono < q->last_mono)
				q = &p->seq[i];
	}
	q->conn = conn;
	q->last_msg_id = 0;
	q->last_mono = now;
	return q;
}

struct producer *
producers_seen(struct producers *ps, const char *peer, int conn,
    uint32_t source_id, int has_msg_id, uint32_t msg_id, uint64_t now)
{
	struct producer *p = NULL;
	struct producer_seq *q;
	uint32_t d, ref;
	unsigned i;

	if (ps->n > 0 && ps->last < ps->n &&
	    same(&ps->tab[ps->last], peer, source_id))
		p = &ps->tab[ps->last];
	for (i = 0; p == NULL && i < ps->n; i++)
		if (same(&ps->tab[i], peer, source_id))
			p = &ps->tab[i];
	if (p == NULL) {
		p = slot(ps);
		memset(p, 0, sizeof(*p));
		p->used = 1;
		p->id = ps->next_id++;
		p->source_id = source_id;
		p->rec.producer = p->id;
		p->rec.source_id = source_id;
		(void)jt_strlcpy(p->rec.peer, peer, sizeof(p->rec.peer));
		LOG_RATELIMITED(log_info, "producer %llu: %s source_id %u",
		    (unsigned long long)p->id, p->rec.peer, source_id);
	}
	ps->last = (unsigned)(p - ps->tab);
	p->last_mono = now;
	p->rec.msgs++;
	if (!has_msg_id)
		return p;
	if ((q = seq_of(p, conn)) == NULL) {
		/* First message on this connection. */
		q = seq_new(p, conn, now);
		if (!p->has_last) {
			p->has_last = 1;
			q->last_msg_id = p->last_msg_id = msg_id;
			return p;
		}
		ref = p->last_msg_id;
	} else
		ref = q->last_msg_id;
	q->last_mono = now;
	d = msg_id - ref;
	if (d == 0) {
		ps->ctr[C_DUPLICATES]++;
		q->last_msg_id = msg_id;	/* a new connection's baseline */
		return p;
	}
	if (d < 0x80000000u) {
		p->rec.lost_msgs += d - 1;
		ps->ctr[C_LOST_MSGS] += d - 1;
	} else {
		p->rec.restarts++;
		ps->ctr[C_RESTARTS]++;
		LOG_RATELIMITED(log_info, "producer %s/%u restarted (msg_id "
		    "%u after %u)", p->rec.peer, source_id, msg_id, ref);
	}
	q->last_msg_id = p->last_msg_id = msg_id;
	return p;
}

void
producers_expire(struct producers *ps, uint64_t now, uint64_t timeout)
{
	unsigned i = 0;

	while (i < ps->n) {
		struct producer *p = &ps->tab[i];

		if (p->last_mono + timeout > now) {
			i++;
			continue;
		}
		LOG_RATELIMITED(log_info, "producer %llu (%s/%u) silent, "
		    "forgotten",
		    (unsigned long long)p->id, p->rec.peer, p->source_id);
		ps->ctr[C_PRODUCERS_EXPIRED]++;
		ps->n--;
		if (i != ps->n)
			*p = ps->tab[ps->n];
		memset(&ps->tab[ps->n], 0, sizeof(ps->tab[ps->n]));
	}
	ps->last = 0;
}
