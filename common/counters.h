/*
 * Named counters of a daemon.  A daemon keeps a plain uint64_t array
 * indexed by its own enum and a parallel table of names; these helpers
 * render them for the control socket (JSON) and the store (EVP_STATS).
 * Names are snake_case and stable: they become SQL rows and metric names.
 */
#ifndef EVFLOW_COUNTERS_H
#define EVFLOW_COUNTERS_H

#include <stdint.h>

#include "../proto/evflow.h"
#include "buf.h"

struct counters {
	const char *const *names;
	uint64_t	  *v;
	unsigned	   n;
};

/* Appends `"name": value, ...` (no braces) to b. */
void	counters_json(struct buf *, const struct counters *);
/* Fills a stats record; extra counters beyond EVP_STATS_MAX are cut. */
void	counters_to_stats(struct evp_stats *, const struct counters *,
	    unsigned, const char *);

#endif
