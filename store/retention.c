/*
 * Retention: flows and samples older than store.retention are deleted,
 * and while the database is larger than store.max_db_size the oldest
 * flows go.  A pass is sliced: retention_step() deletes at most one
 * chunk, and the loop calls it once per turn between receives, so a
 * large backlog never holds the input.  Runs inside the caller's
 * transaction.
 *
 * store.max_db_size bounds the file on disk, not only its content.
 * Deleting rows frees pages inside the file; SQLite fills them before
 * it grows the file, so at the bound the file stays as large as it got
 * and only its content needs bounding: a pass deletes the oldest flows
 * while the pages in use pass RET_LOW_PCT of the bound.  Passes start
 * every minute, and as soon as the pages in use pass RET_HIGH_PCT or
 * the file passes RET_FILE_PCT (checked every second, retention_over()),
 * so the file stays within RET_HIGH_PCT plus what a second of rows
 * adds.  A file larger than that with free pages in it (deletions by
 * age, a lowered bound, a converted database) gives them back to the
 * file system: a database with incremental auto_vacuum (every one
 * created with a bound; another is converted at start when a bound is
 * set, store_init())
 * runs PRAGMA incremental_vacuum, RET_VACUUM_PAGES per step and at most
 * a quarter of the WAL's limit per transaction (page moves are WAL
 * frames: the WAL stays bounded too; sqlite_sink.c); the file shrinks at
 * the next complete checkpoint.  A database without auto_vacuum (no
 * bound set) is bounded by its content.
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

#define RET_VACUUM_PAGES 256	/* pages given back per step (1 MB of
				   4 KB pages) */
#define RET_HIGH_PCT	95	/* a pass starts when the pages in use
				   pass this % of the bound */
#define RET_FILE_PCT	97	/* ... or the file this % */
#define RET_LOW_PCT	90	/* it deletes down to this % */
#define RET_CHECK_USEC	1000000	/* file size checked this often */

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
	if (r->in == NULL || (r->refs_interval > 0 &&
	    now - r->refs_last < (double)r->refs_interval)) {
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

int
retention_over(struct retention *r, struct sink *k, uint64_t mono)
{
	long long size, freeb;

	if (r->max_bytes <= 0 || !r->incremental || mono < r->next_check)
		return 0;
	r->next_check = mono + RET_CHECK_USEC;
	if ((size = sink_file_bytes(k, &freeb)) < 0)
		return 0;
	return size - freeb > r->max_bytes / 100 * RET_HIGH_PCT ||
	    size > r->max_bytes / 100 * RET_FILE_PCT;
}

/* Gives one chunk of free pages back: pages freed, or -1. */
static long long
vacuum_step(struct retention *r, struct sink *k)
{
	long long n = sink_vacuum_step(k, RET_VACUUM_PAGES);

	if (n > 0)
		r->vacuumed += (uint64_t)n;
	return n;
}

/* The size phase of a database with incremental auto_vacuum: the
 * oldest flows while the pages in use pass RET_LOW_PCT, then free pages
 * back while the file passes RET_HIGH_PCT.  Rows deleted, or -1. */
static long long
size_step(struct retention *r, struct sink *k, double now)
{
	long long size, freeb, n;

	if ((size = sink_file_bytes(k, &freeb)) < 0) {
		r->active = 0;
		return -1;
	}
	if (size - freeb > r->max_bytes / 100 * RET_LOW_PCT) {
		if (!r->size_counted) {
			r->size_counted = 1;
			r->size_runs++;
		}
		if ((n = sink_delete_oldest(k, RET_CHUNK)) <= 0) {
			if (n == 0)
				LOG_RATELIMITED(log_warnx, "database is %lld "
				    "bytes, over store.max_db_size %lld, with "
				    "no flows left to delete", size - freeb,
				    r->max_bytes);
			if (n < 0)
				r->active = 0;
			else
				refs_start(r, k, now);
			return n;
		}
		r->deleted += (uint64_t)n;
		return n;
	}
	/* No room left for page moves in this transaction: the next
	 * pass (within a second if the file is still large). */
	if (size <= r->max_bytes / 100 * RET_HIGH_PCT || freeb == 0 ||
	    (n = vacuum_step(r, k)) == 0) {
		refs_start(r, k, now);
		return 0;
	}
	if (n < 0)
		r->active = 0;
	return n < 0 ? -1 : 0;
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
	if (r->incremental && r->max_bytes > 0)
		return size_step(r, k, now);
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
