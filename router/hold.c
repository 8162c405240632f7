/*
 * Backpressure: the router reads its input only while its link to the
 * store has room for what it reads (docs/design.md, "Backpressure").
 *
 * The link's queue (link_queue, 64M) takes what nanomsg refuses while
 * the store is slow or stopped.  Reading on when it is full would drop
 * whole batches there (counted, then resent from the senders' replay
 * buffers after the store asks for them); instead the router stops
 * reading, its input socket fills, and the senders wait at theirs: the
 * central relay holds its batch (relay.hwm and TCP carry it to the
 * edges), a collector or capture queues in its link and, its replay
 * buffer full, stops reading its producers, as for a stopped router.
 *
 * The bound: a store that takes nothing at all for router.hold_max
 * (60 s) is gone, not slow.  The router then reads on and drops what
 * does not fit, counted as before (send_dropped; the store asks the
 * senders again for what they hold), so that what it reads and what
 * the senders hold keep moving; the hold ends when the store takes a
 * batch again (counted: hold_expired).
 */
#include "common/clock.h"
#include "common/log.h"
#include "router.h"

/* Ends the hold in progress, if any, adding its time. */
static void
hold_stop(struct router *r, uint64_t now)
{
	if (r->hold_since == 0)
		return;
	r->hold_usec += now - r->hold_since;
	r->hold_since = 0;
}

/* Monotonic time from which the hold in progress counts towards
 * router.hold_max: its start, or the last batch the store took. */
static uint64_t
hold_from(const struct router *r)
{
	uint64_t last = r->out->last_send_usec;

	return last > r->hold_since ? last : r->hold_since;
}

int
hold_budget(struct router *r, uint64_t now)
{
	const struct link_out *o = r->out;
	size_t used = o->qbytes + o->batch.len, n;

	n = used < o->qmax ? (o->qmax - used) / ROUTER_HOLD_ROOM : 0;
	if (n > ROUTER_POLL_BATCH)
		n = ROUTER_POLL_BATCH;
	/* Nothing waits (the store takes batches as they come), or room
	 * for n more messages: read.  A queue smaller than one message's
	 * room (link_queue = 0) reads one at a time while nothing waits. */
	if (o->qsend == NULL || n > 0) {
		hold_stop(r, now);
		r->hold_expired_usec = 0;
		return n > 0 ? (int)n : 1;
	}
	if (r->hold_expired_usec != 0) {
		if (o->last_send_usec <= r->hold_expired_usec)
			return ROUTER_POLL_BATCH;	/* still nothing taken */
		r->hold_expired_usec = 0;		/* it took one: hold again */
	}
	if (r->hold_since == 0) {
		r->hold_since = now;
		r->ctr[RC_HOLDS]++;
	}
	if (now < hold_from(r) + (uint64_t)r->conf.hold_max * 1000000u)
		return 0;
	hold_stop(r, now);
	r->hold_expired_usec = now;
	r->ctr[RC_HOLD_EXPIRED]++;
	log_warnx("the store took nothing for %llds with its link full "
	    "(%zu bytes queued): reading on, what does not fit is dropped "
	    "(counted) until it takes batches again",
	    r->conf.hold_max, o->qbytes);
	return ROUTER_POLL_BATCH;
}

uint64_t
hold_deadline(const struct router *r)
{
	if (r->hold_since == 0)
		return UINT64_MAX;
	return hold_from(r) + (uint64_t)r->conf.hold_max * 1000000u;
}

uint64_t
hold_ms(const struct router *r)
{
	uint64_t t = r->hold_usec;

	if (r->hold_since != 0)
		t += clock_mono_usec() - r->hold_since;
	return t / 1000;
}
