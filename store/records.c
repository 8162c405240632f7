/*
 * Records from the link: each type goes to its table.  Flow records go
 * to the flow table of every interface in their mask, and changed flows
 * to the writer (writer.c); everything else is written to SQLite here,
 * in the transaction that is open (the writer commits it).  See store.h
 * for the counters' identity.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/counters.h"
#include "../common/daemon.h"
#include "../common/hash.h"
#include "../common/log.h"
#include "../common/nnlink.h"
#include "../common/paths.h"
#include "delivery.h"
#include "store.h"

const char *const store_counter_names[SC_MAX] = {
	[SC_RECEIVED] = "received",
	[SC_RECV_FLOW] = "recv_flow",
	[SC_RECV_IFACE] = "recv_iface",
	[SC_RECV_IFCOUNTER] = "recv_ifcounter",
	[SC_RECV_LISTEN] = "recv_listen",
	[SC_RECV_PRODUCER] = "recv_producer",
	[SC_RECV_STATS] = "recv_stats",
	[SC_RECV_HOSTNAME] = "recv_hostname",
	[SC_STORED] = "stored",
	[SC_BAD_RECORDS] = "bad_records",
	[SC_NO_IFACE] = "no_iface",
	[SC_NO_MEMORY] = "no_memory",
	[SC_WRITE_DROPS] = "write_drops",
	[SC_LOST] = "lost",
	[SC_BAD_MSGS] = "bad_msgs",
	[SC_UNKNOWN_IFACE] = "unknown_iface",
	[SC_MERGED] = "merged",
	[SC_FLOWS_CREATED] = "flows_created",
	[SC_FLOWS_WRITTEN] = "flows_written",
	[SC_FLOWS_EXPIRED] = "flows_expired",
	[SC_FLOWS_EVICTED] = "flows_evicted",
	[SC_ROWS_INSERTED] = "rows_inserted",
	[SC_ROWS_UPDATED] = "rows_updated",
	[SC_TRANSACTIONS] = "transactions",
	[SC_WRITE_ERRORS] = "write_errors",
	[SC_RETENTION_DELETED] = "retention_deleted",
	[SC_RETENTION_RUNS] = "retention_runs",
	[SC_RETENTION_REFS_DELETED] = "retention_refs_deleted",
	[SC_LIVE_FLOWS] = "live_flows",
	[SC_PENDING_EVENTS] = "pending_events",
	[SC_DIRTY_FLOWS] = "dirty_flows",
	[SC_UNCOMMITTED_ROWS] = "uncommitted_rows",
	[SC_DB_BYTES] = "db_bytes",
	[SC_WAL_BYTES] = "wal_bytes",
	[SC_DB_FILE_BYTES] = "db_file_bytes",
	[SC_RETENTION_VACUUMED] = "retention_vacuumed_pages",
	[SC_WAL_RESTARTS] = "wal_restarts",
	[SC_WAL_RESTARTS_BUSY] = "wal_restarts_busy",
	[SC_MEM_BYTES] = "mem_bytes",
	[SC_MEM_MAX] = "mem_max",
	[SC_MEM_EVICTED] = "mem_evicted",
	[SC_MEM_REFUSED] = "mem_refused",
	[SC_MEM_ALLOC_REFUSED] = "mem_alloc_refused",
	[SC_WRITE_ERROR_STATE] = "write_error_state",
	[SC_WRITE_RETRY_ROWS] = "write_retry_rows",
	[SC_WRITE_RETRIES] = "write_retries",
	[SC_WRITE_ROWS_DROPPED] = "write_rows_dropped",
	[SC_WRITE_OTHER_DROPPED] = "write_other_rows_dropped",
	[SC_COMMIT_FAILURES] = "commit_failures",
	[SC_SLOW_TURNS] = "slow_turns",
	[SC_MAX_TURN_USEC] = "max_turn_usec",
	[SC_CH_ROWS] = "clickhouse_rows",
	[SC_CH_ROWS_SENT] = "clickhouse_rows_sent",
	[SC_CH_ROWS_DROPPED] = "clickhouse_rows_dropped",
	[SC_CH_ROWS_DROPPED_MEMORY] = "clickhouse_rows_over_memory",
	[SC_CH_ROWS_PENDING] = "clickhouse_rows_pending",
	[SC_CH_BYTES_PENDING] = "clickhouse_bytes_pending",
	[SC_CH_INSERTS] = "clickhouse_inserts",
	[SC_CH_INSERT_ERRORS] = "clickhouse_insert_errors",
	[SC_CH_SHARDS_DOWN] = "clickhouse_shards_down",
	[SC_CH_PARTITIONS_DROPPED] = "clickhouse_retention_partitions",
	[SC_DELIVERY_LOST] = "delivery_lost",
	[SC_DELIVERY_DUPLICATES] = "delivery_duplicates",
	[SC_DELIVERY_REFUSED] = "delivery_refused",
	[SC_DAEMON_RESTARTS] = "daemon_restarts",
	[SC_STATS_OLD_RUN] = "stats_old_run",
	[SC_ROWS_OLDER_THAN_RETENTION] = "rows_older_than_retention",
};

const uint8_t store_counter_gauge[SC_MAX] = {
	[SC_LIVE_FLOWS] = 1,
	[SC_PENDING_EVENTS] = 1,
	[SC_DIRTY_FLOWS] = 1,
	[SC_UNCOMMITTED_ROWS] = 1,
	[SC_DB_BYTES] = 1,
	[SC_WAL_BYTES] = 1,
	[SC_DB_FILE_BYTES] = 1,
	[SC_MEM_BYTES] = 1,
	[SC_MEM_MAX] = 1,
	[SC_MAX_TURN_USEC] = 1,
	/* all lives already: delivery.c keeps them in its table */
	[SC_DELIVERY_LOST] = 1,
	[SC_DELIVERY_DUPLICATES] = 1,
	[SC_WRITE_ERROR_STATE] = 1,
	[SC_WRITE_RETRY_ROWS] = 1,
	[SC_CH_ROWS_PENDING] = 1,
	[SC_CH_BYTES_PENDING] = 1,
	[SC_CH_SHARDS_DOWN] = 1,
};

/* sink_counters_load() callback: keeps every saved counter. */
static void
load_saved(void *arg, const char *key, uint64_t value)
{
	struct store *st = arg;
	struct ctr_saved *n;

	if (key == NULL)
		return;
	/* Room doubles when nsaved reaches 2^k - 1. */
	if ((st->nsaved & (st->nsaved + 1)) == 0) {
		if ((n = reallocarray(st->saved, (st->nsaved + 1) * 2,
		    sizeof(*n))) == NULL)
			return;
		st->saved = n;
	}
	if ((st->saved[st->nsaved].key = strdup(key)) == NULL)
		return;
	st->saved[st->nsaved++].value = value;
}

/* The value counter `key` had at start, 0 if none. */
static uint64_t
saved_value(const struct store *st, const char *key)
{
	size_t i;

	for (i = 0; i < st->nsaved; i++)
		if (strcmp(st->saved[i].key, key) == 0)
			return st->saved[i].value;
	return 0;
}

/* Loads what the database counted before this start (struct store). */
static void
load_bases(struct store *st)
{
	int j;

	if (sink_counters_load(st->sink, st->name, load_saved, st) == -1)
		log_warnx("cannot read the counters of earlier runs: they "
		    "start from zero");
	for (j = 0; j < SC_MAX; j++)
		if (!store_counter_gauge[j])
			st->base[j] = saved_value(st, store_counter_names[j]);
	if (st->base[SC_RECEIVED] > 0)
		log_info("counters continue from the database: received %llu, "
		    "stored %llu", (unsigned long long)st->base[SC_RECEIVED],
		    (unsigned long long)st->base[SC_STORED]);
}

/* The table's totals: its base follows the interface's name. */
static void
iface_totals(struct store *st, struct store_iface *ifc)
{
	char key[EVP_STAT_NAME_LEN + EVP_NAME_LEN + 16];
	int j;

	if (ifc->known && strcmp(ifc->base_of, ifc->name) != 0) {
		snprintf(ifc->base_of, sizeof(ifc->base_of), "%s", ifc->name);
		for (j = 0; j < FTC_MAX; j++) {
			snprintf(key, sizeof(key), "iface.%s.%s", ifc->name,
			    ft_counter_names[j]);
			ifc->base[j] = saved_value(st, key);
		}
	}
	for (j = 0; j < FTC_MAX; j++)
		ifc->total[j] = ifc->base[j] + (ifc->ft ? ifc->ft->c[j] : 0);
}

static const char *
kind_name(uint32_t k)
{
	switch (k) {
	case EVP_IFACE_ZMQ:
		return "zmq";
	case EVP_IFACE_PACKET:
		return "packet";
	default:
		return "unknown";
	}
}

static uint32_t
kind_of(const char *s)
{
	if (s != NULL && strcmp(s, "zmq") == 0)
		return EVP_IFACE_ZMQ;
	if (s != NULL && strcmp(s, "packet") == 0)
		return EVP_IFACE_PACKET;
	return 0;
}

/* Name of the companion of `ifc`, or NULL if none or not yet known. */
static const char *
companion_name(const struct store *st, const struct store_iface *ifc)
{
	const struct store_iface *c;

	if (ifc->companion == 0 || ifc->companion > EVP_MAX_IFACES)
		return NULL;
	c = &st->iface[ifc->companion - 1];
	return c->known ? c->name : NULL;
}

/* Writes the interface row of `ifc`; its row id, or -1. */
static int64_t
iface_row(struct store *st, struct store_iface *ifc)
{
	return sink_iface(st->sink, ifc->name, kind_name(ifc->kind),
	    (int)ifc->bit, (int)ifc->mirrored, companion_name(st, ifc));
}

/* Makes sure interface `ifc` has a row: its name, or a placeholder
 * "#<bit>" until the router's table names it.  Returns the row id or
 * 0 (then the write fails and is counted). */
static int64_t
iface_bind(struct store *st, struct store_iface *ifc)
{
	char name[EVP_NAME_LEN];
	int64_t id;

	if (ifc->db_id != 0)
		return ifc->db_id;
	if (ifc->known)
		id = iface_row(st, ifc);
	else {
		snprintf(name, sizeof(name), "#%u", ifc->bit);
		id = sink_iface(st->sink, name, "unknown", -1, 0, NULL);
		ifc->placeholder = 1;
	}
	ifc->db_id = id > 0 ? id : 0;
	return ifc->db_id;
}

/* Queues a flow's row for the writer.  From here on the row exists (a
 * failed insert is counted; the next write of the flow inserts it). */
static void
write_flow(struct store *st, struct store_iface *ifc, struct flow_table *ft,
    struct flow *f)
{
	int64_t id = iface_bind(st, ifc);

	if (id == 0 || st->w == NULL)
		return;
	if (!(f->flags & FL_WRITTEN) && st->conf.retention > 0 &&
	    f->last_usec + (uint64_t)st->conf.retention * 1000000 <
	    clock_wall_usec()) {
		/* Old traffic (a pcap of last month): stored as sent, so
		 * the read sees it, and gone at the next retention pass. */
		st->c[SC_ROWS_OLDER_THAN_RETENTION]++;
		LOG_RATELIMITED(log_info, "flows last seen before "
		    "store.retention (%lld s) ago are written and deleted by "
		    "the next retention pass (counted in "
		    "rows_older_than_retention)",
		    (long long)st->conf.retention);
	}
	writer_add(st->w, id, f, flow_tcpinfo(ft, f, 0));
	f->flags |= FL_WRITTEN;
	f->flags &= (uint16_t)~FL_MOVED;
}

/* flow_retire_cb: a flow leaves its table; its row must be final. */
static void
on_retire(void *arg, struct flow_table *ft, struct flow *f,
    enum flow_retire why)
{
	struct store_iface *ifc = arg;
	struct store *st = ifc->st;

	if (f->flags & FL_DIRTY)
		write_flow(st, ifc, ft, f);
	switch (why) {
	case RETIRE_MEMORY:
		st->c[SC_MEM_EVICTED]++;
		/* FALLTHROUGH */
	case RETIRE_EVICT:
	case RETIRE_PENDING_CAP:
		st->c[SC_FLOWS_EVICTED]++;
		break;
	case RETIRE_FLUSH:
		break;
	default:
		st->c[SC_FLOWS_EXPIRED]++;
		break;
	}
}

static struct flow_table *
iface_table(struct store *st, struct store_iface *ifc)
{
	const struct store_conf *c = &st->conf;

	if (ifc->ft != NULL)
		return ifc->ft;
	ifc->ft = flow_table_new(st->in, &st->next_id,
	    ifc->kind == EVP_IFACE_PACKET, (uint32_t)c->max_flows,
	    (uint32_t)c->max_pending, (uint64_t)c->flow_idle * 1000000,
	    (uint64_t)c->join_window * 1000000);
	if (ifc->ft != NULL)
		flow_table_set_retire(ifc->ft, on_retire, ifc);
	return ifc->ft;
}

/* sink_iface_load callback: restores the last known interface table. */
static void
load_iface(void *arg, int64_t id, const char *name, const char *kind,
    int bit, int mirrored)
{
	struct store *st = arg;
	struct store_iface *ifc;

	if (bit < 0 || bit >= EVP_MAX_IFACES || name == NULL)
		return;
	ifc = &st->iface[bit];
	ifc->known = 1;
	ifc->db_id = id;
	ifc->kind = kind_of(kind);
	ifc->mirrored = (uint32_t)mirrored;
	snprintf(ifc->name, sizeof(ifc->name), "%s", name);
}

int
store_init(struct store *st, const struct store_conf *conf, const char *name,
    int schema_target, char *err, size_t errlen)
{
	char path[CONF_STR_LEN + 16];
	unsigned i;

	memset(st, 0, sizeof(*st));
	st->conf = *conf;
	snprintf(st->name, sizeof(st->name), "%s", name);
	for (i = 0; i < EVP_MAX_IFACES; i++) {
		st->iface[i].st = st;
		st->iface[i].bit = i;
	}
	if (paths_file(path, sizeof(path), conf->database, conf->datadir,
	    "evflow.db") == -1) {
		snprintf(err, errlen, "database path too long");
		return -1;
	}
	if ((st->in = intern_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->in->mem.max = conf->max_memory > 0 ? (size_t)conf->max_memory :
	    0;
	if ((st->sink = sink_open(path, conf->cache_size,
	    conf->max_db_size > 0, schema_target, err,
	    errlen)) == NULL) {
		intern_free(st->in);
		st->in = NULL;
		return -1;
	}
	if ((st->w = writer_new(st->sink, st->in,
	    conf->write_retry_max > 0 ? (size_t)conf->write_retry_max : 0)) == NULL) {
		snprintf(err, errlen, "out of memory");
		sink_close(st->sink);
		st->sink = NULL;
		intern_free(st->in);
		st->in = NULL;
		return -1;
	}
	if (conf->write_retry_max > 0)
		sink_replay_max(st->sink, (size_t)conf->write_retry_max);
	if (conf->max_db_size > 0 && sink_auto_vacuum(st->sink) != 2 &&
	    sink_convert_incremental(st->sink, err, errlen) == -1)
		log_warnx("cannot convert the database to incremental "
		    "auto_vacuum (%s): store.max_db_size bounds its content, "
		    "not its file", err);
	st->ret.incremental = sink_auto_vacuum(st->sink) == 2;
	if (conf->wal_limit > 0) {
		long long wl = conf->wal_limit;

		/* The WAL is on the disk too: with a bound on the
		 * database, at most a quarter of it. */
		if (conf->max_db_size > 0 && wl > conf->max_db_size / 4)
			wl = conf->max_db_size / 4 > (1 << 20) ?
			    conf->max_db_size / 4 : 1 << 20;
		sink_wal_limit(st->sink, wl);
	}
	st->next_id = sink_max_flow_id(st->sink);
	st->in->last_row = sink_max_ref_id(st->sink);
	if (store_clickhouse_open(st, conf, err, errlen) == -1) {
		store_fini(st);
		return -1;
	}
	(void)sink_iface_load(st->sink, load_iface, st);
	load_bases(st);
	st->ret.max_age = conf->retention;
	st->ret.max_bytes = conf->max_db_size;
	st->ret.in = st->in;
	st->ret.refs_interval = STORE_REFS_SWEEP_SEC;
	/* The first sweep an interval after the start, not with the first
	 * pass a minute in: a (re)started store is then busy with the
	 * collectors' replays, and rows a sweep could find wait an hour. */
	st->ret.refs_last = (double)clock_wall_usec() / 1e6;
	st->hash_seed = hash_random_seed();
	return 0;
}

void
store_fini(struct store *st)
{
	unsigned i;

	store_flush_all(st);
	writer_free(st->w);
	st->w = NULL;
	if (st->ch != NULL) {
		sink_clickhouse(st->sink, NULL);
		ch_close(st->ch, (int)st->conf.ch.timeout_sec * 1000);
		st->ch = NULL;
	}
	for (i = 0; i < EVP_MAX_IFACES; i++) {
		flow_table_free(st->iface[i].ft);
		st->iface[i].ft = NULL;
	}
	sink_close(st->sink);
	st->sink = NULL;
	intern_free(st->in);
	st->in = NULL;
	for (i = 0; i < st->nsaved; i++)
		free(st->saved[i].key);
	free(st->saved);
	st->saved = NULL;
	st->nsaved = 0;
}

void
store_flow(struct store *st, const struct evp_flow *r, uint64_t now)
{
	struct store_iface *ifc;
	struct flow_table *ft;
	struct flow_vals v, *vp = NULL;
	uint64_t mask = r->iface_mask;
	unsigned bit, merged = 0;

	if (mask == 0) {
		st->c[SC_NO_IFACE]++;
		LOG_RATELIMITED(log_warnx, "flow record without destination "
		    "interface dropped");
		return;
	}
	if (store_mem_reserve(st, r) == -1) {
		st->c[SC_NO_MEMORY]++;
		return;
	}
	/* Processes and containers interned once, not once per
	 * interface (measured: interning was a tenth of the store's CPU
	 * with events landing in a ZMQ interface and its companion). */
	if ((mask & (mask - 1)) != 0) {
		flow_vals_make(st->in, r, &v);
		vp = &v;
	}
	for (bit = 0; bit < EVP_MAX_IFACES; bit++) {
		if (!(mask & ((uint64_t)1 << bit)))
			continue;
		ifc = &st->iface[bit];
		if (!ifc->known)
			st->c[SC_UNKNOWN_IFACE]++;
		if ((ft = iface_table(st, ifc)) == NULL ||
		    flow_merge(ft, r, vp, now) == -1)
			continue;
		merged++;
	}
	if (vp != NULL)
		flow_vals_drop(st->in, vp);
	st->c[SC_MERGED] += merged;
	if (merged > 0)
		st->c[SC_STORED]++;
	else {
		st->c[SC_NO_MEMORY]++;
		LOG_RATELIMITED(log_warnx, "out of memory for flow entries");
	}
}

void
store_iface_rec(struct store *st, const struct evp_iface *r)
{
	struct store_iface *ifc = &st->iface[r->id];
	int64_t old = 0, id;
	unsigned i;

	if (ifc->known && strcmp(ifc->name, r->name) != 0) {
		/* The router's table changed under this bit: the flows
		 * belong to the old name; finish them first. */
		log_info("interface %u is now %s (was %s)", r->id, r->name,
		    ifc->name);
		if (ifc->ft != NULL)
			flow_table_flush(ifc->ft);
		ifc->db_id = 0;
	}
	if (ifc->placeholder) {
		old = ifc->db_id;
		ifc->db_id = 0;
		ifc->placeholder = 0;
	}
	ifc->known = 1;
	ifc->kind = r->kind;
	ifc->mirrored = r->mirrored;
	ifc->companion = r->companion;
	snprintf(ifc->name, sizeof(ifc->name), "%s", r->name);
	if (ifc->ft != NULL)
		ifc->ft->packet = r->kind == EVP_IFACE_PACKET;
	if ((id = iface_row(st, ifc)) <= 0) {
		st->c[SC_WRITE_DROPS]++;
		return;
	}
	ifc->db_id = id;
	if (old != 0 && old != id) {
		/* Rows queued under the placeholder land before they move. */
		writer_sync(st->w);
		(void)sink_iface_merge(st->sink, old, id);
	}
	/* Interfaces naming this one as companion before it was known. */
	for (i = 0; i < EVP_MAX_IFACES; i++)
		if (st->iface[i].known && st->iface[i].companion == r->id + 1 &&
		    i != r->id)
			(void)iface_row(st, &st->iface[i]);
	st->c[SC_STORED]++;
}

/* The interface row of a non-flow record's origin, or 0. */
static int64_t
origin_iface(struct store *st, uint32_t bit)
{
	if (bit >= EVP_MAX_IFACES)
		return 0;
	if (!st->iface[bit].known)
		st->c[SC_UNKNOWN_IFACE]++;
	return iface_bind(st, &st->iface[bit]);
}

static void
stored_or_dropped(struct store *st, int rc)
{
	if (rc == 0)
		st->c[SC_STORED]++;
	else
		st->c[SC_WRITE_DROPS]++;
}

/* Interface counters: rates from the previous sample of the same
 * (interface, producer, device, ifIndex), kept in a small cache. */
void
store_ifcounter(struct store *st, const struct evp_ifcounter *r)
{
	struct {
		uint64_t	producer;
		uint32_t	iface, if_index;
		uint8_t		device[16];
	} key;
	struct ifc_prev *p;
	uint64_t h;
	double dt, ib = 0, ob = 0, ip = 0, op = 0;
	int64_t id;
	int have = 0;

	memset(&key, 0, sizeof(key));
	key.producer = r->producer;
	key.iface = r->iface;
	key.if_index = r->if_index;
	memcpy(key.device, r->device, 16);
	h = hash_bytes(&key, sizeof(key), st->hash_seed) | 1;
	p = &st->ifc[h % STORE_IFC_PREV];
	if (p->hash == h && r->ts_usec > p->ts_usec &&
	    r->in_octets >= p->in_octets && r->out_octets >= p->out_octets &&
	    r->in_pkts >= p->in_pkts && r->out_pkts >= p->out_pkts) {
		dt = (double)(r->ts_usec - p->ts_usec) / 1e6;
		ib = (double)(r->in_octets - p->in_octets) * 8 / dt;
		ob = (double)(r->out_octets - p->out_octets) * 8 / dt;
		ip = (double)(r->in_pkts - p->in_pkts) / dt;
		op = (double)(r->out_pkts - p->out_pkts) / dt;
		have = 1;
	}
	p->hash = h;
	p->ts_usec = r->ts_usec;
	p->in_octets = r->in_octets;
	p->out_octets = r->out_octets;
	p->in_pkts = r->in_pkts;
	p->out_pkts = r->out_pkts;
	id = origin_iface(st, r->iface);
	stored_or_dropped(st, id == 0 ? -1 :
	    sink_ifcounter(st->sink, id, r, ib, ob, ip, op, have));
}

void
store_listen(struct store *st, const struct evp_listen *r)
{
	int64_t id = origin_iface(st, r->iface);

	stored_or_dropped(st, id == 0 ? -1 : sink_listen(st->sink, id, r));
}

void
store_producer(struct store *st, const struct evp_producer *r)
{
	int64_t id = origin_iface(st, r->iface);

	stored_or_dropped(st, id == 0 ? -1 : sink_producer(st->sink, id, r));
}

void
store_hostname(struct store *st, const struct evp_hostname *r)
{
	stored_or_dropped(st, sink_hostname(st->sink, r));
}

/* The entry of daemon `name` in st->hist (the least recent one is
 * reused when the table is full). */
static unsigned
daemon_slot(struct store *st, const char *name)
{
	unsigned i, old = 0;

	for (i = 0; i < st->nhist; i++)
		if (strcmp(st->hist[i].name, name) == 0)
			return i;
	if (st->nhist < STORE_MAX_DAEMONS)
		i = st->nhist++;
	else {
		for (i = 1; i < st->nhist; i++)
			if (st->hist[i].last_usec < st->hist[old].last_usec)
				old = i;
		i = old;
	}
	snprintf(st->hist[i].name, sizeof(st->hist[i].name), "%s", name);
	st->hist[i].last_usec = 0;
	st->hist[i].run_start = st->hist[i].prev_run = 0;
	return i;
}

/* 1 if daemon slot `i` is due a history sample (and notes it). */
static int
history_due(struct store *st, unsigned i, uint64_t now)
{
	uint64_t iv = (uint64_t)st->conf.history_interval * 1000000;

	if (st->hist[i].last_usec != 0 && now < st->hist[i].last_usec + iv)
		return 0;
	st->hist[i].last_usec = now;
	return 1;
}

/* The run a stats record comes from (its COUNTER_RUN_START), or 0. */
static uint64_t
stats_run(const struct evp_stats *r)
{
	unsigned i;

	for (i = 0; i < r->count && i < EVP_STATS_MAX; i++)
		if (strncmp(r->key[i], COUNTER_RUN_START,
		    sizeof(r->key[i])) == 0)
			return r->value[i];
	return 0;
}

/*
 * Every daemon's counters are totals since the database began: a stats
 * record from another run of its daemon than the rows count folds what
 * the earlier runs counted into the rows' base first (sink_counters_fold);
 * one from the run just folded (a late replay) is not written.  Runs are
 * told apart by equality, not order: a clock stepped back between two
 * runs still makes a new run.
 */
int
store_counters_run(struct store *st, unsigned slot, const char *name,
    uint64_t run)
{
	int64_t known;

	if (run == 0 || run == st->hist[slot].run_start)
		return 0;
	if (st->hist[slot].run_start == 0 && (known = sink_counter_value(
	    st->sink, name, COUNTER_RUN_START)) > 0)
		st->hist[slot].run_start = (uint64_t)known;
	if (run == st->hist[slot].run_start)
		return 0;
	if (run == st->hist[slot].prev_run)
		return 1;
	if (st->hist[slot].run_start != 0) {
		if (sink_counters_fold(st->sink, name) == -1)
			return -1;
		st->c[SC_DAEMON_RESTARTS]++;
		log_info("%s restarted: its counters continue from their "
		    "totals", name);
	}
	st->hist[slot].prev_run = st->hist[slot].run_start;
	st->hist[slot].run_start = run;
	return 0;
}

void
store_stats_rec(struct store *st, const struct evp_stats *r, uint64_t now)
{
	char name[EVP_NAME_LEN];
	double ts = (double)r->ts_usec / 1e6;
	unsigned i, slot;
	int hist, rc = 0;

	snprintf(name, sizeof(name), "%.*s", (int)sizeof(r->name) - 1,
	    r->name);
	slot = daemon_slot(st, name);
	switch (store_counters_run(st, slot, name, stats_run(r))) {
	case 1:
		st->c[SC_STATS_OLD_RUN]++;
		return;
	case -1:
		stored_or_dropped(st, -1);
		return;
	}
	hist = history_due(st, slot, now);
	for (i = 0; i < r->count && i < EVP_STATS_MAX; i++)
		if (sink_counter(st->sink, name, evp_role_name(r->role),
		    r->key[i], r->value[i], ts, hist) == -1)
			rc = -1;
	stored_or_dropped(st, rc);
}

/*
 * Flow records are merged one record late.  Looking up a new flow is two
 * cache misses (its bucket, then the chain's first entry): measured, the
 * store's costliest code of its own (perf, e2e: ~18% of its CPU).  So
 * record i's bucket is prefetched when it arrives, record i-1 is merged,
 * then record i's chain head is prefetched, and record i is merged when
 * record i+1 (or anything else) comes.  Order is kept: a non-flow record
 * merges the held one first, and so does everything that reads the
 * tables; the loop calls store_flow_pending() after each receive.
 */
static void
store_flow_deferred(struct store *st, uint64_t now)
{
	const struct evp_flow *r = &st->fl[st->fcur];
	struct flow_table *ft = NULL;
	uint64_t h = 0;

	if (r->iface_mask != 0)
		ft = st->iface[__builtin_ctzll(r->iface_mask)].ft;
	if (ft != NULL)
		h = flow_table_prefetch(ft, r);
	store_flow_pending(st);
	if (ft != NULL)
		flow_table_prefetch_chain(ft, h);
	st->pend = 1;
	st->pend_now = now;
	st->fcur ^= 1;
}

void
store_flow_pending(struct store *st)
{
	if (!st->pend)
		return;
	st->pend = 0;
	store_flow(st, &st->fl[st->fcur ^ 1], st->pend_now);
}

/* The record callback of the link. */
void
store_record(void *arg, const struct link_sender *s,
    const struct evp_rec_hdr *h, const void *body)
{
	struct store *st = arg;
	uint64_t now = clock_mono_usec();
	int rc = -1;

	if (h->type == EVP_ORIGIN) {
		if (st->dlv != NULL)
			(void)delivery_origin(st->dlv, s, body, h->len);
		return;
	}
	if (st->dlv != NULL && !delivery_record(st->dlv, s, h, now))
		return;
	st->c[SC_RECEIVED]++;
	if (h->type != EVP_FLOW)
		store_flow_pending(st);
	switch (h->type) {
	case EVP_FLOW:
		st->c[SC_RECV_FLOW]++;
		if ((rc = evp_decode_flow(body, h->len,
		    &st->fl[st->fcur])) == 0)
			store_flow_deferred(st, now);
		break;
	case EVP_IFACE:
		st->c[SC_RECV_IFACE]++;
		if ((rc = evp_decode_iface(body, h->len, &st->rec.iface)) ==
		    0 && st->rec.iface.id >= EVP_MAX_IFACES)
			rc = -1;
		if (rc == 0)
			store_iface_rec(st, &st->rec.iface);
		break;
	case EVP_IFCOUNTER:
		st->c[SC_RECV_IFCOUNTER]++;
		if ((rc = evp_decode_ifcounter(body, h->len, &st->rec.ifc)) ==
		    0)
			store_ifcounter(st, &st->rec.ifc);
		break;
	case EVP_LISTEN:
		st->c[SC_RECV_LISTEN]++;
		if ((rc = evp_decode_listen(body, h->len, &st->rec.listen)) ==
		    0)
			store_listen(st, &st->rec.listen);
		break;
	case EVP_PRODUCER:
		st->c[SC_RECV_PRODUCER]++;
		if ((rc = evp_decode_producer(body, h->len,
		    &st->rec.producer)) == 0)
			store_producer(st, &st->rec.producer);
		break;
	case EVP_STATS:
		st->c[SC_RECV_STATS]++;
		if ((rc = evp_decode_stats(body, h->len, &st->rec.stats)) == 0)
			store_stats_rec(st, &st->rec.stats, now);
		break;
	case EVP_HOSTNAME:
		st->c[SC_RECV_HOSTNAME]++;
		if ((rc = evp_decode_hostname(body, h->len,
		    &st->rec.hostname)) == 0)
			store_hostname(st, &st->rec.hostname);
		break;
	default:
		/* link_in passes only known types; a new one is a bug. */
		break;
	}
	if (rc == -1) {
		st->c[SC_BAD_RECORDS]++;
		LOG_RATELIMITED(log_warnx, "%s: bad %s record (%u bytes) "
		    "dropped", s->hello.name, evp_type_name(h->type), h->len);
	}
}

unsigned
store_queue_dirty(struct store *st, unsigned max, uint64_t before)
{
	struct store_iface *ifc;
	struct flow *f;
	unsigned i, n = 0, b;

	store_flow_pending(st);
	for (i = 0; i < EVP_MAX_IFACES && n < max; i++) {
		b = (st->rr + i) % EVP_MAX_IFACES;
		ifc = &st->iface[b];
		if (ifc->ft == NULL)
			continue;
		while (n < max &&
		    (f = flow_table_pop_dirty(ifc->ft, before)) != NULL) {
			write_flow(st, ifc, ifc->ft, f);
			n++;
		}
		if (n >= max)
			st->rr = b;
	}
	return n;
}

uint64_t
store_dirty_since(const struct store *st, uint64_t now)
{
	uint64_t d = UINT64_MAX, t;
	unsigned i;

	for (i = 0; i < EVP_MAX_IFACES; i++)
		if (st->iface[i].ft != NULL &&
		    (t = flow_table_dirty_since(st->iface[i].ft, now)) < d)
			d = t;
	return d;
}

static uint64_t
ndirty(const struct store *st)
{
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < EVP_MAX_IFACES; i++)
		if (st->iface[i].ft != NULL)
			n += st->iface[i].ft->ndirty;
	return n;
}

uint64_t
store_write_dirty(struct store *st, unsigned max)
{
	(void)store_queue_dirty(st, max, UINT64_MAX);
	writer_hand(st->w, 0);
	return ndirty(st);
}

void
store_sync(struct store *st)
{
	(void)store_queue_dirty(st, UINT32_MAX, UINT64_MAX);
	writer_sync(st->w);
	if (st->ch != NULL)
		ch_flush(st->ch);
}

unsigned
store_expire(struct store *st, uint64_t now, unsigned max)
{
	unsigned i, n = 0;

	store_flow_pending(st);
	for (i = 0; i < EVP_MAX_IFACES && n < max; i++)
		if (st->iface[i].ft != NULL)
			n += flow_table_expire(st->iface[i].ft, now, max - n);
	return n;
}

uint64_t
store_deadline(const struct store *st)
{
	uint64_t d = UINT64_MAX, t;
	unsigned i;

	for (i = 0; i < EVP_MAX_IFACES; i++)
		if (st->iface[i].ft != NULL &&
		    (t = flow_table_deadline(st->iface[i].ft)) < d)
			d = t;
	return d;
}

void
store_flush_all(struct store *st)
{
	unsigned i;

	if (st->sink == NULL)
		return;
	store_flow_pending(st);
	for (i = 0; i < EVP_MAX_IFACES; i++)
		if (st->iface[i].ft != NULL)
			flow_table_flush(st->iface[i].ft);
	if (st->w != NULL)
		writer_sync(st->w);
}

double
store_bytes_per_flow(const struct store *st, uint64_t *live)
{
	size_t mem = intern_mem(st->in);
	uint64_t n = 0;
	unsigned i;

	for (i = 0; i < EVP_MAX_IFACES; i++)
		if (st->iface[i].ft != NULL) {
			mem += flow_table_mem(st->iface[i].ft);
			n += st->iface[i].ft->live;
		}
	if (live != NULL)
		*live = n;
	return n ? (double)mem / (double)n : 0;
}

void
store_sync_counters(struct store *st)
{
	struct sink_stats ks, *k = &ks;
	struct writer_stats ws;
	uint64_t live = 0, pending = 0, dirty = 0, created = 0;
	long long db;
	unsigned i;
	int j;

	sink_stats(st->sink, &ks);
	/* (The writer keeps the rows of a failed commit, and has the
	 * loop insert process and container rows again: writer.c.) */
	st->rollbacks = ks.rollbacks;
	store_flow_pending(st);
	(void)writer_ready(st->w);	/* take back written batches */
	writer_stats(st->w, &ws);
	st->c[SC_WRITE_ERROR_STATE] = (uint64_t)ws.failing;
	st->c[SC_WRITE_RETRY_ROWS] = ws.retry_rows;
	st->c[SC_WRITE_RETRIES] = ws.retries;
	st->c[SC_WRITE_ROWS_DROPPED] = ws.rows_dropped + ks.flows_lost;
	st->c[SC_WRITE_OTHER_DROPPED] = ks.rows_lost;
	st->c[SC_COMMIT_FAILURES] = ks.rollbacks;
	snprintf(st->write_error, sizeof(st->write_error), "%s", ks.error);
	st->write_failing_since = ws.failing_since;
	dirty = writer_queued(st->w);
	for (i = 0; i < EVP_MAX_IFACES; i++) {
		const struct flow_table *ft = st->iface[i].ft;

		if (ft == NULL)
			continue;
		live += ft->live;
		pending += ft->pending;
		dirty += ft->ndirty;
		created += ft->c[FTC_CREATED];
	}
	if (st->dlv != NULL) {
		st->c[SC_DELIVERY_LOST] = st->dlv->c[DC_LOST];
		st->c[SC_DELIVERY_DUPLICATES] = st->dlv->c[DC_DUPLICATES];
		st->c[SC_DELIVERY_REFUSED] = st->dlv->c[DC_REFUSED];
	}
	st->c[SC_FLOWS_CREATED] = created;
	st->c[SC_LIVE_FLOWS] = live;
	st->c[SC_PENDING_EVENTS] = pending;
	st->c[SC_DIRTY_FLOWS] = dirty;
	st->c[SC_UNCOMMITTED_ROWS] = sink_txn_rows(st->sink);
	st->c[SC_MEM_BYTES] = st->in->mem.used;
	st->c[SC_MEM_MAX] = st->in->mem.max;
	st->c[SC_MEM_ALLOC_REFUSED] = st->in->mem.refused;
	st->c[SC_FLOWS_WRITTEN] = k->flows_written;
	st->c[SC_ROWS_INSERTED] = k->rows_inserted;
	st->c[SC_ROWS_UPDATED] = k->rows_updated;
	st->c[SC_TRANSACTIONS] = k->transactions;
	st->c[SC_WRITE_ERRORS] = k->write_errors;
	st->c[SC_RETENTION_DELETED] = st->ret.deleted;
	st->c[SC_RETENTION_RUNS] = st->ret.runs;
	st->c[SC_RETENTION_REFS_DELETED] = st->ret.refs_deleted;
	st->c[SC_RETENTION_VACUUMED] = st->ret.vacuumed;
	st->c[SC_WAL_RESTARTS] = k->wal_restarts;
	st->c[SC_WAL_RESTARTS_BUSY] = k->wal_restarts_busy;
	store_clickhouse_counters(st);
	/* Three PRAGMAs under the sink's mutex: at most once a second
	 * however often the stats are asked for. */
	if (clock_mono_usec() >= st->db_bytes_usec + 1000000) {
		st->db_bytes_usec = clock_mono_usec();
		if ((db = sink_db_bytes(st->sink)) >= 0)
			st->c[SC_DB_BYTES] = (uint64_t)db;
		if ((db = sink_wal_bytes(st->sink)) >= 0)
			st->c[SC_WAL_BYTES] = (uint64_t)db;
		if ((db = sink_file_bytes(st->sink, NULL)) >= 0)
			st->c[SC_DB_FILE_BYTES] = (uint64_t)db;
	}
	for (j = 0; j < SC_MAX; j++)
		st->total[j] = store_counter_gauge[j] ? st->c[j] :
		    st->base[j] + st->c[j];
	for (i = 0; i < EVP_MAX_IFACES; i++)
		iface_totals(st, &st->iface[i]);
}

void
store_write_counters(struct store *st, uint64_t now)
{
	char key[EVP_STAT_NAME_LEN + EVP_NAME_LEN + 16];
	double ts = (double)clock_wall_usec() / 1e6;
	uint64_t iv = (uint64_t)st->conf.history_interval * 1000000;
	int hist, j;
	unsigned i;

	hist = st->last_hist_usec == 0 || now >= st->last_hist_usec + iv;
	if (hist)
		st->last_hist_usec = now;
	store_sync_counters(st);
	for (j = 0; j < SC_MAX; j++)
		(void)sink_counter(st->sink, st->name, "store",
		    store_counter_names[j], st->total[j], ts, hist);
	for (i = 0; i < EVP_MAX_IFACES; i++) {
		const struct store_iface *ifc = &st->iface[i];

		if (ifc->ft == NULL || !ifc->known)
			continue;
		snprintf(key, sizeof(key), "iface.%s.live_flows", ifc->name);
		(void)sink_counter(st->sink, st->name, "store", key,
		    ifc->ft->live, ts, hist);
		snprintf(key, sizeof(key), "iface.%s.live_packet_flows",
		    ifc->name);
		(void)sink_counter(st->sink, st->name, "store", key,
		    ifc->ft->live_packet, ts, hist);
		snprintf(key, sizeof(key),
		    "iface.%s.live_packet_flows_with_process", ifc->name);
		(void)sink_counter(st->sink, st->name, "store", key,
		    ifc->ft->live_packet_proc, ts, hist);
		for (j = 0; j < FTC_MAX; j++) {
			snprintf(key, sizeof(key), "iface.%s.%s", ifc->name,
			    ft_counter_names[j]);
			(void)sink_counter(st->sink, st->name, "store", key,
			    ifc->total[j], ts, hist);
		}
	}
}

void
store_stats_json(struct store *st, struct buf *b)
{
	struct counters c = { store_counter_names, st->total, SC_MAX };

	store_sync_counters(st);
	daemon_stats_begin(b, st->name, "store", &c);
	store_stats_extra(st, b);
	daemon_stats_end(b);
}

void
store_stats_extra(void *arg, struct buf *b)
{
	struct store *st = arg;
	struct store_iface *ifc;
	double ratio;
	unsigned i, n = 0;

	buf_puts(b, ", \"interfaces\": [");
	for (i = 0; i < EVP_MAX_IFACES; i++) {
		ifc = &st->iface[i];
		if (!ifc->known && ifc->ft == NULL)
			continue;
		buf_printf(b, "%s{\"id\": %u, \"name\": ", n++ ? ", " : "", i);
		if (ifc->known)
			buf_json_str(b, ifc->name);
		else
			buf_printf(b, "\"#%u\"", i);
		buf_printf(b, ", \"kind\": \"%s\", \"db_id\": %lld",
		    kind_name(ifc->kind), (long long)ifc->db_id);
		if (ifc->ft == NULL) {
			buf_puts(b, ", \"live_flows\": 0}");
			continue;
		}
		buf_printf(b, ", \"live_flows\": %u, \"pending\": %u, "
		    "\"live_packet_flows\": %u, "
		    "\"live_packet_flows_with_process\": %u", ifc->ft->live,
		    ifc->ft->pending, ifc->ft->live_packet,
		    ifc->ft->live_packet_proc);
		{
			struct counters fc = { ft_counter_names,
			    ifc->total, FTC_MAX };

			buf_puts(b, ", ");
			counters_json(b, &fc);
		}
		ratio = flow_table_attribution(ifc->ft);
		if (ratio < 0)
			buf_puts(b, ", \"attribution_ratio\": null}");
		else
			buf_printf(b, ", \"attribution_ratio\": %.4f}", ratio);
	}
	buf_puts(b, "]");
	/* The error state of writes: "failing" while commits fail (rows
	 * held for the next attempt: write_retry_rows). */
	buf_printf(b, ", \"write_state\": \"%s\"",
	    st->c[SC_WRITE_ERROR_STATE] ? "failing" : "ok");
	if (st->c[SC_WRITE_ERROR_STATE])
		buf_printf(b, ", \"write_failing_since\": %.3f",
		    (double)st->write_failing_since / 1e6);
	buf_puts(b, ", \"write_error\": ");
	buf_json_str(b, st->write_error);
	{
		/* The same counters since this start (the frame's
		 * "counters" are since the database began). */
		struct counters sc = { store_counter_names, st->c, SC_MAX };

		buf_puts(b, ", \"counters_since_start\": {");
		counters_json(b, &sc);
		buf_puts(b, "}");
	}
	if (st->dlv != NULL)
		delivery_json(st->dlv, b);
}
