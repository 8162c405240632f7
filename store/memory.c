/*
 * The bound on the store's memory in bytes (store.max_memory).  See
 * store.h (struct mem_budget) for what is charged.
 *
 * Allocators never evict: they charge, and treat a refusal as ENOMEM.
 * Room is made here, between records, before a flow record is merged:
 * store_mem_reserve() takes an upper bound of what the record can
 * allocate (its interned values, the intern table's and the flow
 * tables' growth) and, if that would pass the bound, evicts flows
 * until it fits with some slack (so a full store does not evict on
 * every record).  Evicting a flow writes its row if it changed (the
 * retire callback), so nothing leaves without a row; a queued row pins
 * the flow's interned values until the writer gives its batch back,
 * so after a round of evictions that did not free enough the writer is
 * synced.  What still does not fit is refused and counted.
 */
#include <stddef.h>
#include <stdint.h>

#include "../common/log.h"
#include "store.h"

/* Slack made above a record's need: 1/32 of the bound. */
#define MEM_SLACK_SHIFT		5
/* Rows a merge may queue per destination table (see record_need()). */
#define MEM_ROWS_PER_TABLE	3
/* Flows evicted before waiting for the writer to unpin values. */
#define MEM_EVICT_ROUND		256

int
mem_charge(struct mem_budget *m, size_t n)
{
	if (m->max != 0 && (m->used > m->max || n > m->max - m->used)) {
		m->refused++;
		return -1;
	}
	m->used += n;
	return 0;
}

void
mem_release(struct mem_budget *m, size_t n)
{
	m->used -= n < m->used ? n : m->used;
}

/* Bytes of one interned value of `len` bytes, before malloc's own. */
#define VAL(len)	(8 + (len))

/* Upper bound of what merging r can charge (see the top). */
static size_t
record_need(const struct store *st, const struct evp_flow *r)
{
	const struct evp_side *s;
	const struct flow_table *ft;
	uint64_t mask;
	unsigned i, nval = 0, nt = 0;
	size_t bytes = 0, need = 0;
	int tcp = r->rtt_us != 0 || r->segs_in != 0 || r->segs_out != 0 ||
	    r->bytes_rcvd != 0 || r->bytes_acked != 0;

	for (i = 0; i < 2; i++) {
		s = &r->side[i];
		if (s->present & EVP_SIDE_PROC) {
			nval++;
			bytes += VAL(sizeof(struct evp_proc));
		}
		if (s->present & EVP_SIDE_PARENT) {
			nval++;
			bytes += VAL(sizeof(struct evp_proc));
		}
		if (s->present & EVP_SIDE_CONTAINER) {
			nval++;
			bytes += VAL(sizeof(struct evp_container));
		}
	}
	for (mask = r->iface_mask; mask != 0; mask &= mask - 1) {
		nt++;
		ft = st->iface[__builtin_ctzll(mask)].ft;
		if (ft == NULL)		/* made for this record: itself,
					   a chunk, its pointer array, the
					   first buckets and their growth */
			need += sizeof(struct flow_table) +
			    (size_t)FT_CHUNK * sizeof(struct flow) +
			    16 * sizeof(struct flow *) +
			    (FT_CHUNK + FT_CHUNK / 4) * sizeof(uint32_t);
		else
			need += flow_table_need(ft, tcp);
	}
	/* Each table's flow may intern a new meta value (a merge of the
	 * record's and the flow's: at most a whole extra). */
	nval += nt;
	bytes += nt * VAL(sizeof(struct flow_meta));
	/* Each table may retire up to MEM_ROWS_PER_TABLE flows while
	 * merging (a full table or pending list, an ended flow), each
	 * queueing its row. */
	need += writer_need(st->w, (size_t)nt * MEM_ROWS_PER_TABLE);
	return need + intern_need(st->in, nval, bytes);
}

/* The oldest flow on list l over every table, and its table. */
static struct flow *
oldest(struct store *st, enum flow_list l, struct flow_table **ftp)
{
	struct flow *best = NULL, *f;
	unsigned i;

	for (i = 0; i < EVP_MAX_IFACES; i++) {
		if (st->iface[i].ft == NULL ||
		    (f = flow_table_head(st->iface[i].ft, l)) == NULL)
			continue;
		if (best == NULL || f->touch < best->touch) {
			best = f;
			*ftp = st->iface[i].ft;
		}
	}
	return best;
}

/* Evicts one flow: pending event-only entries, then ended packet flows
 * (their rows are final), then the least recently updated.  0, or -1
 * if no table holds a flow. */
static int
evict_one(struct store *st)
{
	static const enum flow_list order[] = { FLIST_PENDING, FLIST_ENDED,
	    FLIST_IDLE };
	struct flow_table *ft = NULL;
	struct flow *f;
	unsigned i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if ((f = oldest(st, order[i], &ft)) != NULL) {
			flow_table_retire(ft, f, RETIRE_MEMORY);
			return 0;
		}
	return -1;
}

int
store_mem_reserve(struct store *st, const struct evp_flow *r)
{
	struct mem_budget *m = &st->in->mem;
	size_t need, goal;
	unsigned n = 0;
	int none;

	if (m->max == 0)
		return 0;
	need = record_need(st, r);
	if (m->used <= m->max && need <= m->max - m->used)
		return 0;
	goal = need + (m->max >> MEM_SLACK_SHIFT);
	if (goal > m->max)
		goal = need;
	while (m->used > m->max || goal > m->max - m->used) {
		none = evict_one(st) == -1;
		if (!none && ++n % MEM_EVICT_ROUND != 0)
			continue;
		/* A round evicted, or no flow left: the evicted rows
		 * pin their values until written. */
		if (writer_queued(st->w) == 0) {
			if (none)
				break;		/* nothing left to free */
			continue;
		}
		writer_sync(st->w);
		/* Rows a failing writer holds pin their values until a
		 * commit works: nothing more to free now. */
		if (none && writer_queued(st->w) > 0)
			break;
	}
	if (m->used <= m->max && need <= m->max - m->used)
		return 0;
	st->c[SC_MEM_REFUSED]++;
	LOG_RATELIMITED(log_warnx, "store.max_memory (%zu bytes) reached: "
	    "flow record refused (%zu bytes in use, %zu needed)", m->max,
	    m->used, need);
	return -1;
}
