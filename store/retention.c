/*
 * Retention: flows and samples older than store.retention are deleted,
 * and while the database is larger than store.max_db_size the oldest
 * flows go, in chunks, so one pass never holds the writer for long.
 * Runs inside the caller's transaction.  Freed pages are reused by
 * SQLite; the file does not shrink (no VACUUM on a live database).
 */
#include "../common/log.h"
#include "store.h"

#define RET_CHUNK	5000	/* flows deleted per statement */
#define RET_MAX_CHUNKS	200	/* per pass: bounds the pause */

long long
retention_run(struct retention *r, struct sink *k, double now)
{
	long long n, total = 0, size;
	int i;

	r->runs++;
	if (r->max_age > 0) {
		for (i = 0; i < RET_MAX_CHUNKS; i++) {
			if ((n = sink_delete_before(k, now - (double)r->max_age,
			    RET_CHUNK)) < 0)
				return -1;
			total += n;
			if (n < RET_CHUNK)
				break;
		}
	}
	if (r->max_bytes > 0 && (size = sink_db_bytes(k)) > r->max_bytes) {
		r->size_runs++;
		for (i = 0; i < RET_MAX_CHUNKS &&
		    (size = sink_db_bytes(k)) > r->max_bytes; i++) {
			if ((n = sink_delete_oldest(k, RET_CHUNK)) < 0)
				return -1;
			total += n;
			if (n == 0)
				break;
		}
		if (size > r->max_bytes)
			LOG_RATELIMITED(log_warnx, "database still %lld bytes, "
			    "over store.max_db_size %lld", size, r->max_bytes);
	}
	r->deleted += (uint64_t)total;
	return total;
}
