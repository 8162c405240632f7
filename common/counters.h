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
/* Fills a stats record; extra counters beyond EVP_STATS_MAX are cut.
 * It ends with COUNTER_RUN_START (when there is room): this process's
 * start, so the store tells a restart from a counter that stood still. */
void	counters_to_stats(struct evp_stats *, const struct counters *,
	    unsigned, const char *);

/* Key of the run's start (unix microseconds) in a stats record, and
 * in the stats frame of the control socket (common/daemon.c). */
#define COUNTER_RUN_START	"run_start_usec"
uint64_t counters_run_start(void);

/*
 * 1 if `key` of any daemon's stats is a gauge (a value now, not a
 * count): the store does not add a restarted daemon's earlier values to
 * it.  A daemon that adds a gauge to its counters names it here.
 */
int	counter_is_gauge(const char *);
/* Those keys (counter_gauges[0 .. counter_ngauges - 1]). */
extern const char *const counter_gauges[];
extern const unsigned counter_ngauges;

#endif
