/*
 * store/memory.c and the accounting in intern.c, flow_table.c and
 * writer.c: the store's memory bound in bytes (store.max_memory).
 * Records with large distinct processes, containers and extras are fed
 * until far past the bound; the accounted bytes never pass it and equal
 * what the parts hold, evictions are counted per interface with their
 * reason, every flow that was made has its row, what cannot fit is
 * refused and counted, and once every flow is gone the accounting is
 * back to the intern table's bare arrays (no leak in accounting).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/log.h"
#include "store/store.h"
#include "t.h"
#include "test_store_rec.h"

#define SEC	1000000ULL

static char dir[64], dbpath[128];

static void
rm_db(void)
{
	char p[160];

	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
}

static void
conf_init(struct store_conf *c, long long max_memory)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->datadir, sizeof(c->datadir), "%s", dir);
	c->flush_interval = 1;
	c->flow_idle = 120;
	c->max_flows = 1000000;
	c->max_pending = 65536;
	c->join_window = 30;
	c->cache_size = 1 << 20;
	c->history_interval = 10;
	c->write_slice = 4096;
	c->max_memory = max_memory;
}

static long long
q_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	long long v = -1;

	if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* What the parts hold: the budget must say exactly this. */
static size_t
parts(const struct store *st)
{
	size_t m = intern_mem(st->in) + writer_mem(st->w);
	unsigned i;

	for (i = 0; i < EVP_MAX_IFACES; i++)
		if (st->iface[i].ft != NULL)
			m += flow_table_mem(st->iface[i].ft);
	return m;
}

static void
iface(struct store *st, unsigned id, uint32_t kind, const char *name,
    uint32_t companion)
{
	struct evp_iface ifc;

	memset(&ifc, 0, sizeof(ifc));
	ifc.id = id;
	ifc.kind = kind;
	ifc.companion = companion;
	snprintf(ifc.name, sizeof(ifc.name), "%s", name);
	store_iface_rec(st, &ifc);
}

/* An event of flow i, to the ZMQ interface and its packet companion,
 * every string long and distinct, and a distinct ~900-byte extra. */
static void
make_event(struct evp_flow *r, unsigned i)
{
	char cli[32], path[EVP_PATH_LEN], cid[64];
	int n;

	snprintf(cli, sizeof(cli), "10.%u.%u.%u", (i >> 16) & 255,
	    (i >> 8) & 255, i & 255);
	rec_flow(r, EVP_SRC_EVENT, EVP_EV_CONNECT, cli, 1024 + i % 60000,
	    "192.0.2.80", 443, 3);
	n = snprintf(path, sizeof(path), "/opt/a-rather-long-install-"
	    "prefix/of-some-vendor/bin/client-number-%08u-", i);
	memset(path + n, 'x', sizeof(path) - 1 - (size_t)n);
	path[sizeof(path) - 1] = '\0';
	rec_proc(r, 0, 1000 + i, path, "a-long-user-name-for-accounting");
	n = snprintf(r->side[0].proc.cmdline,
	    sizeof(r->side[0].proc.cmdline), "client --flag=%u ", i);
	memset(r->side[0].proc.cmdline + n, 'c',
	    sizeof(r->side[0].proc.cmdline) - 1 - (size_t)n);
	path[5] = 'p';
	rec_parent(r, 0, 500 + i, path);
	snprintf(cid, sizeof(cid), "%016x%016x", i, i * 7u);
	rec_container(r, 0, cid, "a-pod-name-that-is-long");
	snprintf(r->ifname, sizeof(r->ifname), "eth%u", i % 4);
	r->producer = 7;
	n = snprintf(r->extra, sizeof(r->extra), "{\"K\":%u,\"PAD\":\"", i);
	memset(r->extra + n, 'y', 900);
	n += 900;
	n += snprintf(r->extra + n, sizeof(r->extra) - (size_t)n, "\"}");
	r->extra_len = (uint16_t)n;
}

static uint64_t
ifc_c(const struct store *st, unsigned id, enum ft_counter c)
{
	return st->iface[id].ft != NULL ? st->iface[id].ft->c[c] : 0;
}

/*
 * Feeds `n` distinct events (two flows each: the ZMQ interface and its
 * packet companion) into a store bounded at `max` bytes, with the
 * writer thread if `threaded`.
 */
static void
test_bound(size_t max, unsigned n, int threaded)
{
	struct store *st = calloc(1, sizeof(*st));
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct store_conf c;
	char err[256];
	size_t hwm = 0, mismatch = 0;
	uint64_t created, now = 1000 * SEC;
	unsigned i;

	rm_db();
	conf_init(&c, (long long)max);
	CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	if (threaded)
		CHECK(writer_start(st->w, err, sizeof(err)) == 0);
	CHECK_EQ_U(st->in->mem.max, max);
	iface(st, 0, EVP_IFACE_ZMQ, "tcp://*:1234c", 2);
	iface(st, 1, EVP_IFACE_PACKET, "eth0", 0);
	st->c[SC_STORED] = 0;		/* the interface records */
	for (i = 0; i < n; i++) {
		make_event(r, i);
		store_flow(st, r, now += 1000);
		if (st->in->mem.used > hwm)
			hwm = st->in->mem.used;
		if (i % 97 == 0 && st->in->mem.used != parts(st))
			mismatch++;
		/* As the loop: the writer takes rows when it is free. */
		if (i % 512 == 511 && writer_ready(st->w)) {
			(void)store_queue_dirty(st, 4096, UINT64_MAX);
			writer_hand(st->w, 1);
		}
	}
	store_sync_counters(st);
	CHECK(hwm <= max);
	CHECK(hwm > max / 2);		/* the bound was what limited it */
	CHECK_EQ_U(mismatch, 0);
	CHECK_EQ_U(st->c[SC_MEM_MAX], max);
	CHECK(st->c[SC_MEM_BYTES] <= max);
	/* Every record stored or counted; with room made, none refused. */
	CHECK_EQ_U(st->c[SC_STORED] + st->c[SC_NO_MEMORY], n);
	CHECK_EQ_U(st->c[SC_MEM_REFUSED], 0);
	CHECK_EQ_U(st->c[SC_STORED], n);
	/* Far more flows than fit: evicted for memory, by reason and
	 * interface: the packet interface's events were pending, the ZMQ
	 * interface's live. */
	CHECK(st->c[SC_MEM_EVICTED] > n);
	CHECK(ifc_c(st, 1, FTC_MEM_EVICTED_PENDING) > n / 2);
	CHECK(ifc_c(st, 0, FTC_MEM_EVICTED_IDLE) > n / 2);
	CHECK_EQ_U(ifc_c(st, 0, FTC_MEM_EVICTED_PENDING), 0);
	CHECK_EQ_U(st->c[SC_MEM_EVICTED],
	    ifc_c(st, 0, FTC_MEM_EVICTED_PENDING) +
	    ifc_c(st, 0, FTC_MEM_EVICTED_ENDED) +
	    ifc_c(st, 0, FTC_MEM_EVICTED_IDLE) +
	    ifc_c(st, 1, FTC_MEM_EVICTED_PENDING) +
	    ifc_c(st, 1, FTC_MEM_EVICTED_ENDED) +
	    ifc_c(st, 1, FTC_MEM_EVICTED_IDLE));
	CHECK(st->c[SC_LIVE_FLOWS] < 2ULL * n);

	/* Everything out: a row for every flow ever made, none lost. */
	store_flush_all(st);
	created = ifc_c(st, 0, FTC_CREATED) + ifc_c(st, 1, FTC_CREATED);
	CHECK_EQ_U(created, 2ULL * n);
	CHECK_EQ_U(q_int("SELECT count(*) FROM flows"), created);
	CHECK_EQ_U(q_int("SELECT count(DISTINCT extra) FROM flows"), n);
	/* Room was made before each record: no value of a stored flow
	 * was refused (a process, parent, container or extra lost). */
	CHECK_EQ_U(q_int("SELECT count(*) FROM flows WHERE cli_process IS "
	    "NULL OR cli_parent_process IS NULL OR cli_container_id IS NULL "
	    "OR extra IS NULL"), 0);
	CHECK(st->in->mem.used <= max);
	CHECK_EQ_U(st->in->mem.used, parts(st));
	/* No value left, and once the tables and the writer are gone,
	 * only the intern table's own arrays are accounted. */
	CHECK_EQ_U(st->in->live, 0);
	CHECK_EQ_U(st->in->bytes, 0);
	writer_free(st->w);
	st->w = NULL;
	for (i = 0; i < EVP_MAX_IFACES; i++) {
		flow_table_free(st->iface[i].ft);
		st->iface[i].ft = NULL;
	}
	CHECK_EQ_U(st->in->mem.used, intern_mem(st->in));
	CHECK_EQ_U(st->in->mem.used, st->in->cap * (sizeof(uint32_t) +
	    sizeof(void *)) + st->in->nbucket * sizeof(uint32_t));
	store_fini(st);
	free(st);
	free(r);
	rm_db();
}

/* The order of evictions: event-only pending entries first (of a
 * packet interface), then the least recently updated flows, oldest
 * first; each written before it goes. */
static void
test_order(void)
{
	struct store *st = calloc(1, sizeof(*st));
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct store_conf c;
	struct flow_key k;
	char err[256];
	uint64_t now = 1000 * SEC, ev;
	unsigned i, npend = 300, first_idle_left = 0;

	rm_db();
	conf_init(&c, 4 << 20);
	CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	iface(st, 0, EVP_IFACE_ZMQ, "tcp://*:1234c", 0);
	iface(st, 1, EVP_IFACE_PACKET, "eth0", 0);
	/* Pending events in eth0, then ZMQ flows until memory runs out. */
	for (i = 0; i < npend; i++) {
		make_event(r, 1000000 + i);
		r->iface_mask = 2;
		store_flow(st, r, now += 1000);
	}
	CHECK_EQ_U(st->iface[1].ft->pending, npend);
	for (i = 0; st->c[SC_MEM_EVICTED] == 0 && i < 100000; i++) {
		make_event(r, i);
		r->iface_mask = 1;
		store_flow(st, r, now += 1000);
	}
	/* The first room made took pending entries first: no live flow
	 * went while one was left.  (It evicts past its goal while the
	 * writer's queue grows: evicted rows pin their values until
	 * written.) */
	ev = st->c[SC_MEM_EVICTED];
	CHECK(ev > 0);
	CHECK_EQ_U(ifc_c(st, 1, FTC_MEM_EVICTED_PENDING),
	    ev < npend ? ev : npend);
	CHECK_EQ_U(ifc_c(st, 0, FTC_MEM_EVICTED_IDLE),
	    ev < npend ? 0 : ev - npend);
	/* Then, the pending ones gone, the oldest flows go first. */
	for (; st->iface[1].ft->pending > 0 ||
	    ifc_c(st, 0, FTC_MEM_EVICTED_IDLE) < 100; i++) {
		make_event(r, i);
		r->iface_mask = 1;
		store_flow(st, r, now += 1000);
	}
	CHECK_EQ_U(ifc_c(st, 1, FTC_MEM_EVICTED_PENDING), npend);
	CHECK_EQ_U(ifc_c(st, 1, FTC_MEM_EVICTED_IDLE), 0);
	for (first_idle_left = 0; first_idle_left < i; first_idle_left++) {
		make_event(r, first_idle_left);
		r->iface_mask = 1;
		(void)flow_key_make(&k, r);
		if (flow_table_find(st->iface[0].ft, &k) != NULL)
			break;
	}
	/* Exactly the oldest ones are gone. */
	CHECK_EQ_U(first_idle_left, ifc_c(st, 0, FTC_MEM_EVICTED_IDLE));
	store_flush_all(st);
	CHECK_EQ_U(q_int("SELECT count(*) FROM flows"), npend + i);
	CHECK_EQ_U(st->c[SC_NO_MEMORY], 0);
	store_fini(st);
	free(st);
	free(r);
	rm_db();
}

/* A bound too small for even one table: every record refused and
 * counted, nothing allocated past it. */
static void
test_refuse(void)
{
	struct store *st = calloc(1, sizeof(*st));
	struct evp_flow *r = calloc(1, sizeof(*r));
	struct store_conf c;
	char err[256];
	unsigned i;

	rm_db();
	conf_init(&c, 256 << 10);
	CHECK(store_init(st, &c, "store", SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == 0);
	iface(st, 0, EVP_IFACE_ZMQ, "tcp://*:1234c", 0);
	st->c[SC_STORED] = 0;		/* the interface record */
	for (i = 0; i < 100; i++) {
		make_event(r, i);
		r->iface_mask = 1;
		store_flow(st, r, (1000 + i) * SEC);
		CHECK(st->in->mem.used <= 256 << 10);
	}
	store_sync_counters(st);
	CHECK_EQ_U(st->c[SC_STORED], 0);
	CHECK_EQ_U(st->c[SC_NO_MEMORY], 100);
	CHECK_EQ_U(st->c[SC_MEM_REFUSED], 100);
	CHECK_EQ_U(st->c[SC_LIVE_FLOWS], 0);
	store_fini(st);
	free(st);
	free(r);
	rm_db();
}

/* The intern table alone: values charge their allocation and give it
 * back; a refused value is counted and leaves nothing behind. */
static void
test_intern(void)
{
	struct intern *in = intern_new();
	char v[600];
	uint32_t id[64];
	size_t base;
	unsigned i;

	CHECK(in != NULL);
	memset(v, 'v', sizeof(v));
	id[0] = intern_get(in, "x", 1);
	intern_unref(in, id[0]);
	base = in->mem.used;		/* arrays grown, no value */
	CHECK_EQ_U(base, intern_mem(in));
	for (i = 0; i < 64; i++) {
		memcpy(v, &i, sizeof(i));
		id[i] = intern_get(in, v, sizeof(v));
		CHECK(id[i] != 0);
	}
	CHECK(in->mem.used >= base + 64 * sizeof(v));
	CHECK_EQ_U(in->mem.used, intern_mem(in));
	in->mem.max = in->mem.used + 100;	/* no room for one more */
	i = 999;
	memcpy(v, &i, sizeof(i));
	CHECK_EQ_U(intern_get(in, v, sizeof(v)), 0);
	CHECK_EQ_U(in->mem.refused, 1);
	CHECK(in->mem.used <= in->mem.max);
	/* An existing value costs nothing more. */
	i = 3;
	memcpy(v, &i, sizeof(i));
	CHECK_EQ_U(intern_get(in, v, sizeof(v)), id[3]);
	intern_unref(in, id[3]);
	for (i = 0; i < 64; i++)
		intern_unref(in, id[i]);
	CHECK_EQ_U(in->mem.used, base);
	CHECK_EQ_U(in->bytes, 0);
	intern_free(in);
}

/* Process number i of test_intern_hash(), its bytes past each string's
 * NUL (and gid_name, empty) set to `fill`. */
static void
numbered_proc(struct evp_proc *p, unsigned i, int fill)
{
	memset(p, fill, sizeof(*p));
	p->pid = 1000 + i % 2500;
	p->uid = i < 2500 ? 0 : 1000;
	p->tid = 0;
	p->gid = 0;
	p->vm_size = p->vm_peak = 0;
	snprintf(p->path, sizeof(p->path), "/usr/bin/p%u", i % 7);
	snprintf(p->cmdline, sizeof(p->cmdline), "p -n %u", i);
	snprintf(p->uid_name, sizeof(p->uid_name), "u%u", i % 3);
	p->gid_name[0] = '\0';
}

/*
 * Processes and containers hash their numbers and their strings up to
 * the NUL (proc_hash()): equal values (garbage after a NUL or not) get
 * one entry, values that differ only in where one string ends and the
 * next begins get two.
 */
static void
test_intern_hash(void)
{
	struct intern *in = intern_new();
	struct evp_proc p, q;
	struct evp_container c, d;
	uint32_t id[5000], a, b, i;

	CHECK(in != NULL);
	if (in == NULL)
		return;
	for (i = 0; i < 5000; i++) {
		numbered_proc(&p, i, 0);
		id[i] = intern_proc(in, &p);
		CHECK(id[i] != 0);
	}
	CHECK_EQ_U(in->live, 5000);
	for (i = 0; i < 5000; i += 7) {	/* again, garbage after the NULs */
		numbered_proc(&q, i, 'z');
		CHECK_EQ_U(intern_proc(in, &q), id[i]);
		intern_unref(in, id[i]);
	}
	CHECK_EQ_U(in->live, 5000);
	for (i = 0; i < 5000; i++)
		intern_unref(in, id[i]);
	CHECK_EQ_U(in->live, 0);
	/* "ab" + "c" is not "a" + "bc". */
	memset(&p, 0, sizeof(p));
	p.pid = 7;
	snprintf(p.uid_name, sizeof(p.uid_name), "ab");
	snprintf(p.gid_name, sizeof(p.gid_name), "c");
	q = p;
	snprintf(q.uid_name, sizeof(q.uid_name), "a");
	snprintf(q.gid_name, sizeof(q.gid_name), "bc");
	a = intern_proc(in, &p);
	b = intern_proc(in, &q);
	CHECK(a != 0 && b != 0 && a != b);
	intern_unref(in, a);
	intern_unref(in, b);
	memset(&c, 0, sizeof(c));
	c.kind = EVP_CONT_DOCKER;
	snprintf(c.id, sizeof(c.id), "ab");
	snprintf(c.name, sizeof(c.name), "c");
	d = c;
	snprintf(d.id, sizeof(d.id), "a");
	snprintf(d.name, sizeof(d.name), "bc");
	a = intern_container(in, &c);
	b = intern_container(in, &d);
	CHECK(a != 0 && b != 0 && a != b);
	CHECK_EQ_U(intern_container(in, &d), b);
	intern_unref(in, a);
	intern_unref(in, b);
	intern_unref(in, b);
	CHECK_EQ_U(in->live, 0);
	intern_free(in);
}

/* The memos of intern_proc()/intern_container(): a value seen again
 * is the same entry with one more reference; a memo whose entry was
 * freed and whose id went to another value is not believed; bytes after
 * a string's NUL do not make another value; every value is freed at
 * its last unref. */
static void
test_intern_memo(void)
{
	struct intern *in = intern_new();
	struct evp_proc p, q, g;
	struct evp_container c, c2;
	const struct evp_proc *pp;
	uint32_t a, b, x, y, i;

	CHECK(in != NULL);
	if (in == NULL)
		return;
	memset(&p, 0, sizeof(p));
	p.pid = 4242;
	p.uid = 1000;
	snprintf(p.path, sizeof(p.path), "/usr/bin/curl");
	snprintf(p.uid_name, sizeof(p.uid_name), "alice");
	a = intern_proc(in, &p);
	CHECK(a != 0);
	CHECK_EQ_U(intern_proc(in, &p), a);	/* the memo */
	CHECK_EQ_U(in->live, 1);
	intern_unref(in, a);
	intern_unref(in, a);
	CHECK_EQ_U(in->live, 0);		/* two refs, two unrefs */
	/* Freed; another value (in another memo slot) takes the id. */
	q = p;
	q.pid = 4243;
	snprintf(q.path, sizeof(q.path), "/usr/bin/wget");
	b = intern_proc(in, &q);
	CHECK_EQ_U(b, a);
	x = intern_proc(in, &p);		/* must not be q's entry */
	CHECK(x != 0 && x != b);
	pp = intern_get_proc(in, x);
	CHECK(pp != NULL && pp->pid == 4242 &&
	    strcmp(pp->path, "/usr/bin/curl") == 0);
	/* Garbage after the NUL: a memo miss, the same value. */
	g = p;
	memset(g.cmdline + 1, 'z', sizeof(g.cmdline) - 2);
	g.cmdline[0] = '\0';
	y = intern_proc(in, &g);
	CHECK_EQ_U(y, x);
	CHECK_EQ_U(intern_proc(in, &g), x);	/* and now its memo */
	for (i = 0; i < 3; i++)
		intern_unref(in, x);
	intern_unref(in, b);
	CHECK_EQ_U(in->live, 0);
	/* Containers alike. */
	memset(&c, 0, sizeof(c));
	c.kind = EVP_CONT_DOCKER;
	snprintf(c.id, sizeof(c.id), "c0ffee");
	snprintf(c.name, sizeof(c.name), "web");
	a = intern_container(in, &c);
	CHECK(a != 0);
	CHECK_EQ_U(intern_container(in, &c), a);
	intern_unref(in, a);
	intern_unref(in, a);
	c2 = c;
	snprintf(c2.name, sizeof(c2.name), "db");
	b = intern_container(in, &c2);		/* same slot, same id */
	CHECK_EQ_U(b, a);
	x = intern_container(in, &c);
	CHECK(x != 0 && x != b);
	CHECK(intern_get_container(in, x) != NULL &&
	    strcmp(intern_get_container(in, x)->name, "web") == 0);
	intern_unref(in, x);
	intern_unref(in, b);
	CHECK_EQ_U(in->live, 0);
	CHECK_EQ_U(in->bytes, 0);
	intern_free(in);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/evflow-storemem-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(dbpath, sizeof(dbpath), "%s/evflow.db", dir);
	log_init("test_store_memory", LOG_LVL_WARN);
	test_intern();
	test_intern_memo();
	test_intern_hash();
	test_refuse();
	test_order();
	test_bound(4 << 20, 20000, 0);
	test_bound(4 << 20, 20000, 1);
	rm_db();
	rmdir(dir);
	return t_done("test_store_memory");
}
