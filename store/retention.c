/*
 * Retention: flows and samples older than store.retention are deleted,
 * and while the database is larger than store.max_db_size the oldest
 * flows go.  A pass is sliced: retention_step() deletes at most one
 * chunk, and the loop calls it once per turn between receives, so a
 * large backlog never holds the input.  Runs inside the caller's
 * transaction.  Freed pages are reused by SQLite; the file does not
 * shrink (no VACUUM on a live database).
 */
#include "../common/log.h"
#include "store.h"

#define RET_CHUNK	1000	/* rows deleted per table per step: a
				   step stays a few ms (5000 flows, each
				   out of two indexes, was 20-50 ms) */

enum { RET_AGE = 0, RET_SIZE = 1 };

void
retention_start(struct retention *r)
{
	r->active = 1;
	r->phase = RET_AGE;
	r->size_counted = 0;
	r->runs++;
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
	if (r->max_bytes <= 0 || (size = sink_db_bytes(k)) <= r->max_bytes) {
		r->active = 0;
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
		r->active = 0;
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
