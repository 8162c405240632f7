/*
 * Retention: flows and samples older than store.retention are deleted,
 * and while the database is larger than store.max_db_size the oldest
 * flows go.  A pass is sliced: retention_step() deletes at most one
 * chunk, and the loop calls it once per turn between receives, so a
 * large backlog never holds the input.  Runs inside the caller's
 * transaction.  Freed pages are reused by SQLite; the file does not
 * shrink (no VACUUM on a live database).
 *
 * Then, at most once per r->refs_interval, the process and container
 * rows no flow row refers to any more go (flows deleted here, or
 * rewritten with a process that changed).  A row may only go if no
 * flow row can still come to refer to it: `below` is the lowest row
 * the loop's intern table still holds when the phase starts, and every
 * flow row written from then on refers to held rows only, so a row
 * under `below` that the flow rows present at the start do not name is
 * garbage.  Those flow rows are scanned by chunks of ids into a
 * temporary set, then the processes and containers under `below` not
 * in it are deleted by chunks of ids.
 */
#include "../common/log.h"
#include "store.h"

#define RET_CHUNK	1000	/* rows deleted per table per step: a
				   step stays a few ms (5000 flows, each
				   out of two indexes, was 20-50 ms) */

#define REFS_CHUNK	20000	/* flow rows scanned, or process rows
				   swept, per step */

enum { RET_AGE, RET_SIZE, RET_REFS_SCAN, RET_REFS_SWEEP };

void
retention_start(struct retention *r)
{
	r->active = 1;
	r->phase = RET_AGE;
	r->size_counted = 0;
	r->runs++;
}

/* After the deletions: starts the sweep of unreferenced process and
 * container rows if one is due, else ends the pass. */
static void
refs_start(struct retention *r, struct sink *k, double now)
{
	if (r->in == NULL || now - r->refs_last < (double)r->refs_interval) {
		r->active = 0;
		return;
	}
	r->refs_last = now;
	r->below = intern_min_row(r->in);
	r->at = 0;
	r->end = (int64_t)sink_max_flow_id(k);
	r->phase = RET_REFS_SCAN;
	sink_refs_reset(k);
}

/* One chunk of the sweep: 0 (its rows are counted in refs_deleted, not
 * with the flows and samples) or -1. */
static long long
refs_step(struct retention *r, struct sink *k)
{
	long long n;

	if (r->phase == RET_REFS_SCAN) {
		if (sink_refs_scan(k, r->at, r->at + REFS_CHUNK, r->below) < 0)
			goto fail;
		r->at += REFS_CHUNK;
		if (r->at >= r->end) {
			r->phase = RET_REFS_SWEEP;
			r->at = 1;
		}
		return 0;
	}
	if ((n = sink_refs_sweep(k, r->at, r->at + REFS_CHUNK <
	    r->below ? r->at + REFS_CHUNK : r->below)) < 0)
		goto fail;
	r->at += REFS_CHUNK;
	r->refs_deleted += (uint64_t)n;
	if (r->at >= r->below) {
		sink_refs_reset(k);
		r->active = 0;
	}
	return 0;
fail:
	sink_refs_reset(k);
	r->active = 0;
	return -1;
}

long long
retention_step(struct retention *r, struct sink *k, double now)
{
	long long n = 0, size;

	if (!r->active)
		return 0;
	if (r->phase == RET_AGE) {
		if (r->max_age > 0 && (n = sink_delete_before(k,
		    now - (double)r->max_age, RET_CHUNK)) < 0) {
			r->active = 0;
			return -1;
		}
		/* Fewer than one chunk in all: every table is done. */
		if (r->max_age == 0 || n < RET_CHUNK)
			r->phase = RET_SIZE;
		r->deleted += (uint64_t)n;
		return n;
	}
	if (r->phase == RET_REFS_SCAN || r->phase == RET_REFS_SWEEP)
		return refs_step(r, k);
	if (r->max_bytes <= 0 || (size = sink_db_bytes(k)) <= r->max_bytes) {
		refs_start(r, k, now);
		return 0;
	}
	if (!r->size_counted) {
		r->size_counted = 1;
		r->size_runs++;
	}
	if ((n = sink_delete_oldest(k, RET_CHUNK)) <= 0) {
		if (n == 0)
			LOG_RATELIMITED(log_warnx, "database is %lld bytes, over "
			    "store.max_db_size %lld, with no flows left to "
			    "delete", size, r->max_bytes);
		if (n < 0)
			r->active = 0;
		else
			refs_start(r, k, now);
		return n;
	}
	r->deleted += (uint64_t)n;
	return n;
}

long long
retention_run(struct retention *r, struct sink *k, double now)
{
	long long n, total = 0;

	retention_start(r);
	while (r->active) {
		if ((n = retention_step(r, k, now)) < 0)
			return -1;
		total += n;
	}
	return total;
}
