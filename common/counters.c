#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "counters.h"

void
counters_json(struct buf *b, const struct counters *c)
{
	unsigned i;

	for (i = 0; i < c->n; i++) {
		if (i > 0)
			buf_puts(b, ", ");
		buf_json_str(b, c->names[i]);
		buf_printf(b, ": %llu", (unsigned long long)c->v[i]);
	}
}

/* This process's start: when first asked (the store only needs a
 * value that changes with the process). */
static uint64_t run_start;

uint64_t
counters_run_start(void)
{
	if (run_start == 0)
		run_start = clock_wall_usec();
	return run_start;
}

void
counters_to_stats(struct evp_stats *s, const struct counters *c,
    unsigned role, const char *name)
{
	unsigned i;

	/* Every counter and the run start fit one record: a daemon with
	 * more would lose the last ones and the store's restart
	 * detection.  Split the counters over records before growing. */
	assert(c->n < EVP_STATS_MAX);
	memset(s, 0, sizeof(*s));
	s->ts_usec = clock_wall_usec();
	s->role = role;
	snprintf(s->name, sizeof(s->name), "%s", name);
	for (i = 0; i < c->n && i < EVP_STATS_MAX; i++) {
		snprintf(s->key[i], sizeof(s->key[i]), "%s", c->names[i]);
		s->value[i] = c->v[i];
	}
	if (i < EVP_STATS_MAX) {
		snprintf(s->key[i], sizeof(s->key[i]), "%s",
		    COUNTER_RUN_START);
		s->value[i++] = counters_run_start();
	}
	s->count = i;
}

/* Gauges among the daemons' counters (collector/collector.h,
 * capture/capture.h, probe/probe.h, router/router.h mark them). */
const char *const counter_gauges[] = {
	COUNTER_RUN_START,
	"producers_active", "producers_stale", "records_pending",
	"replay_buffered",
	"flows_live",
	"proc_cache_size", "diag_sockets", "mode_bpf", "memory_bound_bytes",
	"holding",
};

const unsigned counter_ngauges = sizeof(counter_gauges) /
    sizeof(counter_gauges[0]);

int
counter_is_gauge(const char *key)
{
	unsigned i;

	for (i = 0; i < counter_ngauges; i++)
		if (strcmp(key, counter_gauges[i]) == 0)
			return 1;
	return 0;
}
