/*
 * evflow-store: options, configuration, set-up and the loop.
 *
 * One poll loop on the record input, the control socket and the
 * writer's wake-up pipe.  The loop owns the flow tables; the writer
 * thread writes rows (writer.c).  A change settles for half of
 * store.flush_interval while the writer is busy (more changes to the
 * flow join it: a packet flow and the event that joins it are usually
 * one row), a tenth of it while the writer has nothing to do (waiting
 * then only leaves it idle: a burst's first rows waited half a second
 * for an idle writer), then, whenever the writer is free, the loop
 * hands it the rows of the flows that settled, oldest first,
 * store.write_slice at a time; a commit is due every half interval.
 * So a change is committed within store.flush_interval, the
 * writer works continuously under load instead of in bursts, and its
 * backlog is bounded by the live flows, not by the input: a flow
 * changed again while its row waits makes one more row, not one per
 * change.  Slow turns are counted and logged.  Deadlines: settle and
 * commit, flow expiry, counters (1 s), retention (60 s).
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/ctl.h"
#include "../common/daemon.h"
#include "../common/log.h"
#include "../common/nnlink.h"
#include "../common/paths.h"
#include "delivery.h"
#include "store.h"

#define STORE_POLL_BATCH	4	/* messages per receive turn: ~1000
					   records, so a turn stays short */
#define STORE_EXPIRE_BATCH	4096	/* flows retired per turn */
#define STORE_COUNTERS_USEC	1000000	/* own counters to SQLite */
#define STORE_RETENTION_USEC	60000000	/* retention check */
#define STORE_SLOW_TURN_USEC	50000	/* a turn this long risks upstream
					   send timeouts: counted */

struct store_main {
	struct store	 st;
	char		 endpoint[CONF_STR_LEN + 16];
	struct link_in	*in;
	struct ctl	*ctl;		/* borrowed from the skeleton */
};

/* Settings; `name` is a global key shared by all daemons. */
struct store_settings {
	struct store_conf c;
	char		name[EVP_NAME_LEN];
	long long	log_level;
	struct link_conf link;		/* common/nnlink.h */
};

#define STR(field) offsetof(struct store_settings, c.field), \
	sizeof(((struct store_settings *)0)->c.field)
#define NUM(field) offsetof(struct store_settings, c.field), 0

static const struct conf_directive store_conf_table_[] = {
	{ "datadir", CONF_STR, STR(datadir), PATHS_DEFAULT_DATADIR, 0, 0,
	  "data directory: sockets, database" },
	{ "name", CONF_STR, offsetof(struct store_settings, name),
	  sizeof(((struct store_settings *)0)->name), "store", 0, 0,
	  "instance name (control socket <datadir>/<name>.ctl)" },
	{ "database", CONF_STR, STR(database), NULL, 0, 0,
	  "SQLite file (default <datadir>/evflow.db)" },
	{ "store_endpoint", CONF_STR, STR(endpoint), NULL, 0, 0,
	  "record input, bound (default ipc://<datadir>/store.ipc)" },
	{ "log_level", CONF_INT, offsetof(struct store_settings, log_level),
	  0, "1", 0, 2, "0 warnings, 1 info, 2 debug" },
	{ "store.flush_interval", CONF_SECONDS, NUM(flush_interval), "1s",
	  1, 3600, "longest time a change waits before it is committed "
	  "(it settles for half of it, a tenth while the writer is "
	  "idle)" },
	{ "store.flow_idle", CONF_SECONDS, NUM(flow_idle), "120s", 1, 86400,
	  "a flow without records for this long is written and freed" },
	{ "store.max_flows", CONF_INT, NUM(max_flows), "1000000", 1024,
	  100000000, "live flows per interface; more evict the oldest" },
	{ "store.max_pending", CONF_INT, NUM(max_pending), "65536", 1,
	  100000000, "event-only entries waiting for packets, per packet "
	  "interface; more evict the oldest" },
	{ "store.max_memory", CONF_BYTES, NUM(max_memory), "512M", 4 << 20,
	  1LL << 40, "memory for flows, interned processes, containers and "
	  "extras, and queued rows, all interfaces together; past it the "
	  "oldest flows are written and evicted (pending events first)" },
	{ "store.join_window", CONF_SECONDS, NUM(join_window), "30s", 1,
	  3600, "how long events wait for packets, and ended packet flows "
	  "stay joinable" },
	{ "store.retention", CONF_SECONDS, NUM(retention), "7d", 0,
	  100LL * 365 * 86400, "delete rows older than this (0 = keep)" },
	{ "store.max_db_size", CONF_BYTES, NUM(max_db_size), "0", 0, 0,
	  "bound on the database file: past 95% the oldest flows are "
	  "deleted and the pages given back (0 = unlimited)" },
	{ "store.write_retry_max", CONF_BYTES, NUM(write_retry_max), "64M",
	  64 << 10, 1LL << 40, "rows kept in memory while commits fail "
	  "(disk full, I/O errors), written when they work again; past it "
	  "rows are dropped, counted in write_rows_dropped (and "
	  "write_other_rows_dropped)" },
	{ "store.cache_size", CONF_BYTES, NUM(cache_size), "64M", 0, 0,
	  "SQLite page cache" },
	{ "store.wal_limit", CONF_BYTES, NUM(wal_limit), "64M", 1 << 20,
	  1LL << 40,
	  "the WAL is started over past this size, even under load" },
	{ "store.history_interval", CONF_SECONDS, NUM(history_interval),
	  "10s", 1, 86400, "period of counter_history samples" },
	{ "store.write_slice", CONF_INT, NUM(write_slice), "4096", 1,
	  WRITER_BATCH_MAX, "rows handed to the writer thread at a time" },
	{ "store.sink", CONF_STR, STR(sink), "sqlite", 0, 0,
	  "where flow rows go: sqlite, clickhouse (the small tables stay in"
	  " SQLite) or both; see docs/clickhouse.md" },
	{ "clickhouse_shards", CONF_STR, STR(ch.shards), "127.0.0.1:8123",
	  0, 0, "ClickHouse HTTP endpoints, host:port,... one per shard" },
	{ "clickhouse_database", CONF_STR, STR(ch.database), "evflow", 0, 0,
	  "ClickHouse database" },
	{ "clickhouse_cluster", CONF_STR, STR(ch.cluster), "evflow", 0, 0,
	  "cluster (remote_servers) of the Distributed tables" },
	{ "clickhouse_user", CONF_STR, STR(ch.user), NULL, 0, 0,
	  "ClickHouse user (default: the server's default)" },
	{ "store.clickhouse_max_memory", CONF_BYTES, NUM(ch.max_memory), "256M",
	  1 << 20, 1LL << 40, "rows queued for ClickHouse; past it rows are"
	  " dropped and counted (clickhouse_rows_dropped)" },
	{ "store.clickhouse_batch", CONF_BYTES, NUM(ch.batch_bytes), "16M",
	  65536, 1 << 30, "bytes per insert at most" },
	{ "store.clickhouse_flush", CONF_SECONDS, NUM(ch.flush_sec), "1s", 1,
	  3600, "a partial batch is sent after this long" },
	{ "store.clickhouse_retry_time", CONF_SECONDS, NUM(ch.retry_time),
	  "5m", 0, 86400, "a failed insert is retried (back-off 0.1 s to 5 s)"
	  " this long, then dropped and counted" },
	{ "store.clickhouse_timeout", CONF_SECONDS, NUM(ch.timeout_sec), "10s",
	  1, 3600, "time per ClickHouse request" },
	{ "store.max_origins", CONF_INT, NUM(max_origins), "1024", 16,
	  65536, "senders (collectors, captures: one per run) whose "
	  "committed sequence the store keeps and acknowledges; past it "
	  "the least recent is forgotten (counted)" },
	LINK_CONF_DIRECTIVES(struct store_settings, link),
	{ NULL, 0, 0, 0, NULL, 0, 0, NULL }
};

/* The configuration (common/daemon.h); the store has no flags of its
 * own.  Exits with the reason on error. */
static void
configure(struct daemon *d, struct store_settings *s, int argc, char **argv)
{
	d->prog = "evflow-store";
	d->synopsis = "evflow-store [-nvh] [-f file] [-d datadir] [-N name] "
	    "[-o key=value]";
	d->table = store_conf_table_;
	d->cfg = s;
	daemon_configure(d, argc, argv);
}

/* Stats frame hooks: the link's counters, then the interfaces. */
static void
control_sync(void *arg)
{
	struct store_main *m = arg;

	m->st.c[SC_LOST] = m->in->lost;
	m->st.c[SC_BAD_MSGS] = m->in->bad_msgs;
	store_sync_counters(&m->st);
}

static void
control_extra(void *arg, struct buf *b)
{
	struct store_main *m = arg;

	store_stats_extra(&m->st, b);
}

/* Control socket: "flush" (commit now); ping and stats in daemon.c. */
static void
control(void *arg, int argc, char **argv, struct buf *reply)
{
	struct store_main *m = arg;

	if (argc == 1 && strcmp(argv[0], "flush") == 0) {
		store_sync(&m->st);
		buf_puts(reply, "ok");
	} else
		buf_printf(reply, "error: unknown command '%s' (stats, flush, "
		    "ping)", argv[0]);
}

static void
setup(struct store_main *m, struct daemon *d, const struct store_settings *s)
{
	char err[512];

	if (store_init(&m->st, &s->c, s->name, SINK_SCHEMA_VERSION, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	if (paths_endpoint(m->endpoint, sizeof(m->endpoint), s->c.endpoint,
	    s->c.datadir, "store.ipc") == -1)
		fatalx("endpoint too long");
	if (nnlink_configure(&s->link, s->c.datadir) == -1)
		fatalx("ack endpoint too long");
	if ((m->in = link_in_new(m->endpoint, 1, store_record, &m->st, err,
	    sizeof(err))) == NULL)
		fatalx("input: %s", err);
	if ((m->st.dlv = delivery_open(m->st.sink, nnlink_ack_endpoint(),
	    s->link.trusted_network, (unsigned)s->c.max_origins,
	    (uint64_t)s->c.flush_interval * 1000000 / 2, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	writer_set_hook(m->st.w, delivery_persist, m->st.dlv);
		daemon_counters(d, store_counter_names, m->st.total, SC_MAX);
	d->stats_sync = control_sync;
	d->stats_extra = control_extra;
	daemon_ctl_open(d, "store", control, m);
	m->ctl = d->ctl;
	if (writer_start(m->st.w, err, sizeof(err)) == -1)
		fatalx("%s", err);
	log_info("input %s, acks %s, control %s, database schema version "
	    "%d, next flow id %llu", m->endpoint, nnlink_ack_endpoint(),
	    d->ctl_endpoint,
	    sink_schema_version(m->st.sink),
	    (unsigned long long)m->st.next_id + 1);
}

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Phases of a loop turn, timed to explain slow turns. */
enum phase { PH_RECV, PH_EXPIRE, PH_WRITE, PH_COUNTERS, PH_RETENTION,
	PH_MAX };
static const char *const phase_names[PH_MAX] = {
	"receive", "expire", "hand-off", "counters", "retention"
};

/* Adds the time since *t to d[p] and restarts *t. */
static void
lap(uint64_t *t, uint64_t *d, enum phase p)
{
	uint64_t now = clock_mono_usec();

	d[p] += now - *t;
	*t = now;
}

/* Counts a turn that kept the input waiting, and says where it went. */
static void
turn_done(struct store *st, uint64_t start, const uint64_t *d)
{
	uint64_t turn = clock_mono_usec() - start;
	char why[160];
	size_t n = 0;
	int p;

	if (turn > st->c[SC_MAX_TURN_USEC])
		st->c[SC_MAX_TURN_USEC] = turn;
	if (turn <= STORE_SLOW_TURN_USEC)
		return;
	st->c[SC_SLOW_TURNS]++;
	why[0] = '\0';
	for (p = 0; p < PH_MAX && n < sizeof(why); p++)
		if (d[p] >= 1000)
			n += (size_t)snprintf(why + n, sizeof(why) - n,
			    " %s %llu", phase_names[p],
			    (unsigned long long)d[p] / 1000);
	LOG_RATELIMITED(log_info, "slow loop turn: %llu ms (ms:%s)",
	    (unsigned long long)turn / 1000, why);
}

/* Acknowledges the sequences of the commits that went through. */
static void
taken(struct store *st)
{
	struct writer_stats ws;

	writer_stats(st->w, &ws);
	delivery_committed(st->dlv, ws.committed_seq);
}

/* Hands the queued rows to the writer; a commit carries the origins'
 * sequences committed once every change before `clean` is written. */
static void
hand(struct store *st, int commit, uint64_t clean)
{
	struct dlv_snap *sn;

	if (commit && (sn = delivery_snapshot(st->dlv, clean)) != NULL)
		delivery_handed(st->dlv, sn, writer_hand_mark(st->w, sn));
	else
		(void)writer_hand(st->w, commit);
}

/* How long a change settles now: `busy` while the writer works, `idle`
 * while it has nothing to write. */
static uint64_t
settle_now(struct store *st, uint64_t busy, uint64_t idle)
{
	return writer_idle(st->w) ? idle : busy;
}

static void
loop(struct store_main *m)
{
	struct store *st = &m->st;
	struct pollfd pfd[3];
	uint64_t now, next_counters, next_ret, next_commit, wake;
	uint64_t start, t, d[PH_MAX];
	/* A change waits `settle` to coalesce with the next ones, then is
	 * written and committed within another `settle`. */
	uint64_t settle = (uint64_t)st->conf.flush_interval * 1000000 / 2;
	uint64_t settle_idle = settle / 5;
	unsigned slice = (unsigned)st->conf.write_slice;
	int timeout, due;

	now = clock_mono_usec();
	next_commit = now + settle;
	next_counters = now + STORE_COUNTERS_USEC;
	next_ret = now + STORE_RETENTION_USEC / 6;
	pfd[0].fd = nnlink_recv_fd(m->in->sock);
	pfd[1].fd = ctl_fd(m->ctl);
	pfd[2].fd = writer_fd(st->w);
	if (pfd[0].fd == -1 || pfd[1].fd == -1)
		fatalx("nanomsg: no pollable descriptor");
	pfd[0].events = pfd[1].events = pfd[2].events = POLLIN;
	while (!sig_quit) {
		/* A busy writer's pipe says when it is free. */
		wake = deadline_min(deadline_min(next_counters, next_ret),
		    deadline_min(store_deadline(st),
		    delivery_tick(st->dlv, clock_mono_usec())));
		if (writer_ready(st->w))
			wake = deadline_min(wake, deadline_min(next_commit,
			    sat_add(store_dirty_since(st, clock_mono_usec()),
			    settle_now(st, settle, settle_idle))));
		timeout = st->ret.active ? 0 : deadline_timeout(wake,
		    clock_mono_usec(), 1000);
		if (poll(pfd, 3, timeout) == -1 && errno != EINTR)
			fatal("poll");
		memset(d, 0, sizeof(d));
		start = t = clock_mono_usec();
		if (link_in_poll(m->in, STORE_POLL_BATCH) == -1)
			LOG_RATELIMITED(log_warnx, "input socket error");
		store_flow_pending(st);
		ctl_poll(m->ctl);
		lap(&t, d, PH_RECV);
		now = t;
		if (now >= store_deadline(st))
			(void)store_expire(st, now, STORE_EXPIRE_BATCH);
		lap(&t, d, PH_EXPIRE);
		/* The writer, when free, takes the rows of flows that
		 * settled (oldest first, store.write_slice at a time) and
		 * commits when a commit is due; under load it never waits,
		 * and a change made while its last row waits makes one more
		 * row, not one per change. */
		taken(st);
		if (writer_ready(st->w)) {
			due = now >= next_commit;
			if (store_queue_dirty(st, slice, now - settle_now(st,
			    settle, settle_idle)) > 0 || due) {
				hand(st, due, store_dirty_since(st, now));
				if (due)
					next_commit = now + settle;
			}
			lap(&t, d, PH_WRITE);
		}
		if (deadline_due(&next_counters, now, STORE_COUNTERS_USEC)) {
			st->c[SC_LOST] = m->in->lost;
			st->c[SC_BAD_MSGS] = m->in->bad_msgs;
			store_write_counters(st, now);
			lap(&t, d, PH_COUNTERS);
		}
		if (!st->ret.active && (deadline_due(&next_ret, now,
		    STORE_RETENTION_USEC) || retention_over(&st->ret,
		    st->sink, now)))
			retention_start(&st->ret);
		/* One chunk per turn, committed with the next flush. */
		if (st->ret.active) {
			(void)retention_step(&st->ret, st->sink,
			    (double)clock_wall_usec() / 1e6);
			lap(&t, d, PH_RETENTION);
		}
		turn_done(st, start, d);
	}
}

int
main(int argc, char **argv)
{
	static struct daemon d;
	struct store_settings s;
	struct store_main *m;

	log_init("evflow-store", LOG_LVL_INFO);
	memset(&s, 0, sizeof(s));
	configure(&d, &s, argc, argv);
	if (d.check) {
		daemon_print_config(&d);
		return 0;
	}
	daemon_start(&d);
	if ((m = calloc(1, sizeof(*m))) == NULL)
		fatal("calloc");
	setup(m, &d, &s);
	loop(m);
	/* SIGTERM: drain what already arrived, then write everything. */
	(void)link_in_poll(m->in, 1000);
	store_flow_pending(&m->st);
	m->st.c[SC_LOST] = m->in->lost;
	m->st.c[SC_BAD_MSGS] = m->in->bad_msgs;
	store_flush_all(&m->st);
	store_write_counters(&m->st, clock_mono_usec());
	store_sync(&m->st);
	/* Everything applied is written: its sequences go in last. */
	taken(&m->st);
	hand(&m->st, 1, UINT64_MAX);
	writer_sync(m->st.w);
	taken(&m->st);
	log_info("exiting: received %llu, stored %llu, flows written %llu",
	    (unsigned long long)m->st.c[SC_RECEIVED],
	    (unsigned long long)m->st.c[SC_STORED],
	    (unsigned long long)m->st.c[SC_FLOWS_WRITTEN]);
	daemon_ctl_close(&d);
	link_in_free(m->in);
	delivery_close(m->st.dlv);
	m->st.dlv = NULL;
	store_fini(&m->st);
	free(m);
	return 0;
}
