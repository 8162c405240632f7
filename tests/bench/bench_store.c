/*
 * bench_store: records/s from link_in_dispatch (in process, no socket)
 * into committed SQLite rows, distinct flows, median of several runs.
 *
 *   events   one CONNECT event (with process and parent) per flow, in a
 *            ZMQ interface: one row per record
 *   join     per flow, an event then its packet flow, in a packet
 *            interface: every event joins, one row per flow
 *   both     events dispatched to a ZMQ interface and its companion
 *            (two tables, two rows per record)
 *   rejoin   packet flows first (written and committed, not timed),
 *            then per flow an event that joins it: every event
 *            rewrites a written row (as tests/bench/join.sh); the
 *            event's time is before the packets', as join.sh's
 *
 * Writes follow the daemon's loop: dispatch a batch, write dirty flows
 * in slices inside one transaction, commit every STORE_TXN_ROWS rows
 * (as the daemon does under load).  Only
 * dispatch, writes and commits are timed, not building the batches.
 * Env: BENCH_STORE_N (records per run), BENCH_STORE_RUNS,
 * BENCH_STORE_MODES (names to run, default all).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/nnlink.h"
#include "store/store.h"
#include "tests/unit/test_store_rec.h"

/* Rows per commit, as the daemon (BENCH_STORE_TXN to experiment). */
#define FLUSH_RECORDS	(getenv("BENCH_STORE_TXN") ?			\
	(uint64_t)atoll(getenv("BENCH_STORE_TXN")) : STORE_TXN_ROWS)
#define MAX_RUNS	15

enum mode { M_EVENTS, M_JOIN, M_BOTH, M_REJOIN };

struct run {
	double		 rate;		/* records/s */
	double		 rows_rate;	/* rows/s */
	double		 bytes_per_flow;
	uint64_t	 live;
	int		 ok;
};

static char dir[64];

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
rm_db(void)
{
	char p[160];

	snprintf(p, sizeof(p), "%s/evflow.db", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/evflow.db-wal", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/evflow.db-shm", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/b.ipc", dir);
	unlink(p);
}

/* BENCH_STORE_DROP="idx ...": drops indexes to measure what each
 * costs (an experiment, not a configuration). */
static void
drop_indexes(void)
{
	const char *e = getenv("BENCH_STORE_DROP");
	char path[160], sql[160], list[256], *w, *save = NULL;
	sqlite3 *db;

	if (e == NULL || *e == '\0')
		return;
	snprintf(path, sizeof(path), "%s/evflow.db", dir);
	snprintf(list, sizeof(list), "%s", e);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		exit(1);
	for (w = strtok_r(list, " ,", &save); w != NULL;
	    w = strtok_r(NULL, " ,", &save)) {
		snprintf(sql, sizeof(sql), "DROP INDEX %s", w);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			fprintf(stderr, "bench_store: %s: %s\n", sql,
			    sqlite3_errmsg(db));
	}
	sqlite3_close(db);
}

/* The record of flow number i. */
static void
make_flow(struct evp_flow *r, enum mode m, uint64_t i, int packet)
{
	char cli[32];
	uint64_t mask = m == M_BOTH ? 3 : 1;

	snprintf(cli, sizeof(cli), "10.%u.%u.%u", (unsigned)(i >> 24) & 255,
	    (unsigned)(i >> 16) & 255, (unsigned)(i >> 8) & 255);
	if (packet) {
		rec_flow(r, EVP_SRC_PACKET, EVP_EV_UPDATE, cli,
		    1024 + (unsigned)(i & 255), "192.0.2.10", 443, mask);
		rec_counts(r, 10, 12);
		return;
	}
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, cli,
	    1024 + (unsigned)(i & 255), "192.0.2.10", 443, mask);
	rec_proc(r, 0, 1000 + (unsigned)(i % 50), "/usr/bin/curl", "alice");
	rec_parent(r, 0, 900, "/usr/bin/bash");
	snprintf(r->ifname, sizeof(r->ifname), "eth0");
	r->nw_latency_us = 250;
	r->ts_usec = m == M_REJOIN ? 1700000000000000ULL - 500000 :
	    clock_wall_usec();
}

/* M_REJOIN: the n packet flows, dispatched, written and committed. */
static void
packets_first(struct store *st, struct link_in *in, struct evp_batch *b,
    struct evp_flow *r, const struct evp_hello *h, uint64_t n,
    uint64_t *seq)
{
	uint64_t i;

	for (i = 0; i < n;) {
		evp_batch_reset(b);
		(void)evp_batch_add(b, EVP_HELLO, 0, h, sizeof(*h));
		for (; i < n; i++) {
			if (b->len + sizeof(struct evp_rec_hdr) +
			    sizeof(struct evp_flow) > EVP_BATCH_MAX_BYTES ||
			    b->count + 1 > EVP_BATCH_MAX_RECORDS)
				break;
			make_flow(r, M_REJOIN, i, 1);
			(void)evp_batch_add(b, EVP_FLOW, ++*seq, r,
			    evp_flow_len(r));
		}
		link_in_dispatch(in, b->buf, b->len);
		(void)store_write_dirty(st, UINT32_MAX);
		if (sink_txn_rows(st->sink) >= STORE_TXN_ROWS)
			(void)sink_commit(st->sink);
	}
	(void)store_write_dirty(st, UINT32_MAX);
	(void)sink_commit(st->sink);
}

static struct run
one_run(enum mode m, uint64_t n)
{
	struct store *st = calloc(1, sizeof(*st));
	struct evp_flow *r = calloc(1, sizeof(*r));
	uint8_t *buf = malloc(EVP_BATCH_MAX_BYTES);
	struct store_conf c;
	struct evp_hello h;
	struct evp_batch b;
	struct evp_iface ifc;
	struct link_in *in;
	struct run out;
	char ep[128], err[256];
	uint64_t t0, spent = 0, seq = 0, i, since = 0, rows0, upd0, recv0;
	unsigned per = m == M_JOIN ? 2 : 1, k;

	memset(&out, 0, sizeof(out));
	rm_db();
	memset(&c, 0, sizeof(c));
	snprintf(c.datadir, sizeof(c.datadir), "%s", dir);
	c.flush_interval = 1;
	c.flow_idle = 120;
	c.max_flows = 4000000;
	c.max_pending = 4000000;
	c.join_window = 30;
	c.retention = 0;
	c.cache_size = 64 << 20;
	c.history_interval = 10;
	c.write_slice = 2000;
	if (store_init(st, &c, "bench", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "bench_store: %s\n", err);
		exit(1);
	}
	snprintf(ep, sizeof(ep), "ipc://%s/b.ipc", dir);
	if ((in = link_in_new(ep, 1, store_record, st, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "bench_store: %s\n", err);
		exit(1);
	}
	memset(&ifc, 0, sizeof(ifc));
	ifc.kind = m == M_JOIN || m == M_REJOIN ? EVP_IFACE_PACKET :
	    EVP_IFACE_ZMQ;
	snprintf(ifc.name, sizeof(ifc.name), ifc.kind == EVP_IFACE_PACKET ?
	    "eth0" : "tcp://*:1234c");
	store_iface_rec(st, &ifc);
	if (m == M_BOTH) {
		ifc.id = 1;
		ifc.kind = EVP_IFACE_PACKET;
		snprintf(ifc.name, sizeof(ifc.name), "eth0");
		store_iface_rec(st, &ifc);
	}
	(void)sink_commit(st->sink);
	drop_indexes();

	memset(&h, 0, sizeof(h));
	h.proto_version = EVP_VERSION;
	h.role = EVP_ROLE_ROUTER;
	snprintf(h.name, sizeof(h.name), "router");
	evp_batch_init(&b, buf, 99);
	if (m == M_REJOIN)
		packets_first(st, in, &b, r, &h, n, &seq);
	store_sync_counters(st);
	recv0 = st->c[SC_RECEIVED];
	st->c[SC_STORED] = 0;	/* count only the timed records */
	rows0 = sink_stats(st->sink)->flows_written;
	upd0 = sink_stats(st->sink)->rows_updated;
	for (i = 0; i < n;) {
		evp_batch_reset(&b);
		(void)evp_batch_add(&b, EVP_HELLO, 0, &h, sizeof(h));
		for (; i < n; i++) {
			/* An event and its packets go in the same batch. */
			if (b.len + per * (sizeof(struct evp_rec_hdr) +
			    sizeof(struct evp_flow)) > EVP_BATCH_MAX_BYTES ||
			    b.count + per > EVP_BATCH_MAX_RECORDS)
				break;
			for (k = 0; k < per; k++) {
				make_flow(r, m, i, k == 1);
				(void)evp_batch_add(&b, EVP_FLOW, ++seq, r,
				    evp_flow_len(r));
			}
		}
		t0 = clock_mono_usec();
		link_in_dispatch(in, b.buf, b.len);
		since += b.count - 1;
		/* As the loop does: write a slice after each receive;
		 * commit once a transaction holds STORE_TXN_ROWS rows. */
		(void)store_write_dirty(st, (unsigned)c.write_slice);
		if (since >= FLUSH_RECORDS) {
			(void)store_write_dirty(st, UINT32_MAX);
			(void)sink_commit(st->sink);
			since = 0;
		}
		spent += clock_mono_usec() - t0;
		if (i == n)
			out.bytes_per_flow = store_bytes_per_flow(st,
			    &out.live);
	}
	t0 = clock_mono_usec();
	(void)store_write_dirty(st, UINT32_MAX);
	(void)sink_commit(st->sink);
	spent += clock_mono_usec() - t0;

	out.rate = (double)(n * per) / ((double)spent / 1e6);
	out.rows_rate = (double)(sink_stats(st->sink)->flows_written - rows0) /
	    ((double)spent / 1e6);
	store_sync_counters(st);
	out.ok = in->lost == 0 && st->c[SC_RECEIVED] - recv0 == n * per &&
	    st->c[SC_STORED] == n * per &&
	    sink_stats(st->sink)->flows_written - rows0 ==
	    n * (m == M_BOTH ? 2 : 1) &&
	    sink_stats(st->sink)->write_errors == 0 &&
	    (m != M_JOIN || st->iface[0].ft->c[FTC_JOINS] == n) &&
	    (m != M_REJOIN || (st->iface[0].ft->c[FTC_JOINS] == n &&
	    sink_stats(st->sink)->rows_updated - upd0 == n));
	if (!out.ok)
		fprintf(stderr, "bench_store: counters inconsistent: received "
		    "%llu stored %llu rows %llu lost %llu\n",
		    (unsigned long long)st->c[SC_RECEIVED],
		    (unsigned long long)st->c[SC_STORED],
		    (unsigned long long)(sink_stats(st->sink)->flows_written -
		    rows0), (unsigned long long)in->lost);
	link_in_free(in);
	store_fini(st);
	free(st);
	free(r);
	free(buf);
	rm_db();
	return out;
}

/* 1 if `name` is a word of the list `modes` (NULL or empty: all). */
static int
mode_wanted(const char *modes, const char *name)
{
	size_t n = strlen(name);
	const char *p = modes;

	if (modes == NULL || *modes == '\0')
		return 1;
	while ((p = strstr(p, name)) != NULL) {
		if ((p == modes || p[-1] == ' ' || p[-1] == ',') &&
		    (p[n] == '\0' || p[n] == ' ' || p[n] == ','))
			return 1;
		p += n;
	}
	return 0;
}

int
main(void)
{
	static const char *const names[] = { "events", "join", "both",
	    "rejoin" };
	const char *modes = getenv("BENCH_STORE_MODES");
	const char *e;
	uint64_t n = 200000;
	unsigned runs = 5, i;
	int m, rc = 0;
	double rate[MAX_RUNS], rows[MAX_RUNS];
	struct run r = { 0 };

	if ((e = getenv("BENCH_STORE_N")) != NULL && atoll(e) > 0)
		n = (uint64_t)atoll(e);
	if ((e = getenv("BENCH_STORE_RUNS")) != NULL && atoi(e) > 0)
		runs = (unsigned)atoi(e) < MAX_RUNS ? (unsigned)atoi(e) :
		    MAX_RUNS;
	snprintf(dir, sizeof(dir), "/tmp/evflow-bench-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	log_init("bench_store", LOG_LVL_WARN);
	printf("bench_store: %llu distinct flows per run, median of %u runs; "
	    "struct flow %zu bytes\n", (unsigned long long)n, runs,
	    sizeof(struct flow));
	for (m = M_EVENTS; m <= M_REJOIN; m++) {
		if (!mode_wanted(modes, names[m]))
			continue;
		for (i = 0; i < runs; i++) {
			r = one_run((enum mode)m, n);
			rate[i] = r.rate;
			rows[i] = r.rows_rate;
			if (!r.ok)
				rc = 1;
		}
		qsort(rate, runs, sizeof(rate[0]), cmp_double);
		qsort(rows, runs, sizeof(rows[0]), cmp_double);
		printf("  %-6s %9.0f records/s  %9.0f rows/s committed "
		    "(min %.0f, max %.0f records/s); %.0f bytes per live flow "
		    "(%llu live)\n", names[m], rate[runs / 2], rows[runs / 2],
		    rate[0], rate[runs - 1], r.bytes_per_flow,
		    (unsigned long long)r.live);
	}
	rmdir(dir);
	return rc;
}
