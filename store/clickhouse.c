/*
 * The ClickHouse sink: batches per shard and table, the sender thread,
 * retry with back-off, the schema and retention.  See clickhouse.h.
 *
 * Threads: one sender per shard (`store-ch<N>`), so every shard has an
 * insert in flight while the others parse theirs; the first also runs
 * retention.  Locking: one mutex guards the batches, the queues and the
 * counters.  Encoders hold it for at most CH_ENC_CHUNK rows at a time,
 * so the loop's counter samples never wait long for the writer's
 * batches; a sender holds it only to pick and retire a batch, never
 * over HTTP.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "clickhouse.h"
#include "store.h"

#define CH_ENC_CHUNK		256	/* rows encoded per hold of the mutex */
#define CH_BACKOFF_MIN_MS	100
#define CH_BACKOFF_MAX_MS	5000
#define CH_RETENTION_USEC	3600000000ULL	/* partition drop check */
#define CH_RETENTION_FIRST_USEC	5000000ULL	/* the first, after start */
#define CH_RESP_MAX		(1 << 20)	/* bytes of an answer we read */

static const char *const table_names[CH_T_MAX] = {
	"flows", "processes", "containers", "counters"
};

/* A batch of one table's rows for one shard. */
struct chunk {
	struct chunk	*next;
	enum ch_table	 table;
	uint32_t	 rows;
	struct buf	 b;
	size_t		 len_ok;	/* bytes of whole rows */
	uint64_t	 opened;	/* monotonic usec of its first row */
};

struct ch_sink;

struct shard {
	struct ch_endpoint ep;
	struct ch_sink	*ch;
	pthread_t	 th;		/* its sender */
	pthread_cond_t	 cv;		/* wakes it */
	int		 flush;		/* seal its open batches now */
	struct chunk	*open[CH_T_MAX];
	struct chunk	*head, *tail;	/* sealed, oldest first */
	int		 schema_ok;
	int		 down;		/* last request failed */
	unsigned	 fails;		/* in a row */
	uint64_t	 next_try;	/* monotonic usec */
};

struct ch_sink {
	struct ch_conf	 conf;
	struct shard	 sh[CH_SHARDS_MAX];
	int		 nsh;
	pthread_mutex_t	 mu;
	pthread_cond_t	 idle;		/* the senders sent everything */
	int		 nth;		/* senders started */
	int		 quit;
	uint64_t	 last_ver;
	unsigned	 counter_rr;	/* shard of the next counter batch */
	size_t		 mem;		/* bytes held by chunks (cap) */
	struct ch_stats	 s;
	uint64_t	 next_retention;
	int		 ttl;		/* the server knows TTL (19.6+) */
};

static uint64_t
backoff_usec(unsigned fails)
{
	uint64_t ms = CH_BACKOFF_MIN_MS;

	while (fails-- > 1 && ms < CH_BACKOFF_MAX_MS)
		ms *= 2;
	if (ms > CH_BACKOFF_MAX_MS)
		ms = CH_BACKOFF_MAX_MS;
	return ms * 1000;
}

static void
chunk_free(struct ch_sink *ch, struct chunk *c)
{
	ch->mem -= c->b.cap + sizeof(*c);
	buf_free(&c->b);
	free(c);
}

/* Moves the open batch of `t` to the shard's queue (mutex held). */
static void
seal(struct shard *sh, enum ch_table t)
{
	struct chunk *c = sh->open[t];

	if (c == NULL || c->rows == 0)
		return;
	sh->open[t] = NULL;
	if (sh->tail != NULL)
		sh->tail->next = c;
	else
		sh->head = c;
	sh->tail = c;
	pthread_cond_signal(&sh->cv);
}

/*
 * Room for one row of at most `need` bytes in the open batch of table
 * t on shard sh, sealing a full batch first.  NULL (the caller counts
 * the row as dropped) if store.clickhouse_max_memory would be passed.
 * The mutex is held.
 */
static struct buf *
room(struct ch_sink *ch, struct shard *sh, enum ch_table t, size_t need)
{
	struct chunk *c = sh->open[t];
	size_t cap, old;
	char *np;

	if (c != NULL && c->b.len + need > (size_t)ch->conf.batch_bytes &&
	    c->rows > 0) {
		seal(sh, t);
		c = NULL;
	}
	if (c == NULL) {
		if (ch->mem + sizeof(*c) > (size_t)ch->conf.max_memory ||
		    (c = calloc(1, sizeof(*c))) == NULL)
			return NULL;
		c->table = t;
		c->opened = clock_mono_usec();
		buf_init(&c->b);
		ch->mem += sizeof(*c);
		sh->open[t] = c;
	}
	if (c->b.len + need + 1 <= c->b.cap)
		return &c->b;
	/* Grow by doubling, charged to the bound before it happens. */
	old = c->b.cap;
	cap = old ? old : 65536;
	while (cap < c->b.len + need + 1)
		cap *= 2;
	if (ch->mem + (cap - old) > (size_t)ch->conf.max_memory)
		return NULL;
	if ((np = realloc(c->b.p, cap)) == NULL)
		return NULL;
	c->b.p = np;
	c->b.cap = cap;
	ch->mem += cap - old;
	return &c->b;
}

static void
dropped_memory(struct ch_sink *ch, uint64_t rows)
{
	ch->s.rows_offered += rows;
	ch->s.rows_dropped += rows;
	ch->s.rows_dropped_memory += rows;
	LOG_RATELIMITED(log_warnx, "clickhouse: queue full (%zu bytes, "
	    "store.clickhouse_max_memory): rows dropped, counted in "
	    "clickhouse_rows_dropped", ch->mem);
}

/* A row was appended to the open batch of t (mutex held); `cap` was
 * its buffer's size before (a row past room()'s estimate grew it). */
static void
added(struct ch_sink *ch, struct shard *sh, enum ch_table t, size_t cap)
{
	struct chunk *c = sh->open[t];

	ch->mem += c->b.cap - cap;
	if (!buf_ok(&c->b)) {
		/* Out of memory half way: the batch is cut back to its
		 * last whole row, this one dropped and counted. */
		c->b.len = c->len_ok;
		c->b.failed = 0;
		dropped_memory(ch, 1);
		return;
	}
	c->len_ok = c->b.len;
	c->rows++;
	ch->s.rows_offered++;
	ch->s.rows_pending++;
}

/* Appends a flow's fresh process or container row (mutex held). */
static void
add_ref(struct ch_sink *ch, struct shard *sh, enum ch_table t, int64_t id,
    const void *v)
{
	struct buf *b;
	size_t cap;

	if ((b = room(ch, sh, t, t == CH_T_PROCS ? 2048 : 1024)) == NULL) {
		dropped_memory(ch, 1);
		return;
	}
	cap = b->cap;
	if (t == CH_T_PROCS)
		ch_enc_proc(b, id, v);
	else
		ch_enc_cont(b, id, v);
	added(ch, sh, t, cap);
}

void
ch_write_flows(struct ch_sink *ch, const struct flow_row *rows, size_t n)
{
	const struct flow_row *w;
	struct shard *sh;
	struct buf *b;
	size_t i, end, cap, max = ch_flow_row_max();
	uint64_t now;
	int s;

	for (i = 0; i < n; ) {
		pthread_mutex_lock(&ch->mu);
		now = clock_wall_usec();
		for (end = i + CH_ENC_CHUNK < n ? i + CH_ENC_CHUNK : n;
		    i < end; i++) {
			w = &rows[i];
			sh = &ch->sh[w->f.id % (uint64_t)ch->nsh];
			for (s = 0; s < 2; s++) {
				if (w->fresh[s][REF_PROC])
					add_ref(ch, sh, CH_T_PROCS,
					    w->ref[s][REF_PROC], w->proc[s]);
				if (w->fresh[s][REF_PARENT])
					add_ref(ch, sh, CH_T_PROCS,
					    w->ref[s][REF_PARENT],
					    w->parent[s]);
				if (w->fresh[s][REF_CONT])
					add_ref(ch, sh, CH_T_CONTS,
					    w->ref[s][REF_CONT], w->cont[s]);
			}
			if ((b = room(ch, sh, CH_T_FLOWS, max)) == NULL) {
				dropped_memory(ch, 1);
				continue;
			}
			/* Versions increase per flow: rows of one flow come
			 * in order, and ver never repeats. */
			ch->last_ver = now > ch->last_ver ? now :
			    ch->last_ver + 1;
			cap = b->cap;
			ch_enc_flow(b, w, ch->last_ver);
			added(ch, sh, CH_T_FLOWS, cap);
		}
		pthread_mutex_unlock(&ch->mu);
	}
}

void
ch_counter(struct ch_sink *ch, const char *daemon, const char *role,
    const char *key, uint64_t value, double ts)
{
	struct shard *sh;
	struct buf *b;
	size_t need = strlen(daemon) + strlen(role) + strlen(key) + 64;

	pthread_mutex_lock(&ch->mu);
	sh = &ch->sh[ch->counter_rr % (unsigned)ch->nsh];
	if ((b = room(ch, sh, CH_T_COUNTERS, need)) == NULL)
		dropped_memory(ch, 1);
	else {
		size_t cap = b->cap;

		ch_enc_counter(b, daemon, role, key, value, ts);
		added(ch, sh, CH_T_COUNTERS, cap);
		/* The next batch of samples goes to the next shard. */
		if (sh->open[CH_T_COUNTERS]->rows == 1)
			ch->counter_rr++;
	}
	pthread_mutex_unlock(&ch->mu);
}

/* ---- the sender thread --------------------------------------------- */

/* Runs a statement on shard sh; 0 or -1 with err.  No mutex held. */
static int
run_sql(struct ch_sink *ch, struct shard *sh, const char *sql,
    struct buf *out, char *err, size_t errlen)
{
	struct buf tmp;
	int rc;

	buf_init(&tmp);
	rc = ch_http_query(&sh->ep, "", ch->conf.user, sql, NULL, 0,
	    (int)ch->conf.timeout_sec * 1000, out ? out : &tmp, CH_RESP_MAX, err,
	    errlen);
	buf_free(&tmp);
	return rc == 200 ? 0 : -1;
}

/* The CREATE TABLE of one local table and its Distributed table. */
static void
create_sql(struct ch_sink *ch, struct buf *b, enum ch_table t, int dist,
    int ttl)
{
	static const struct ch_col *const cols[CH_T_MAX] = {
		ch_flow_cols, ch_proc_cols, ch_cont_cols, ch_counter_cols
	};
	const char *db = ch->conf.database, *name = table_names[t];
	const struct ch_col *c;
	long long days = (ch->conf.retention + 86399) / 86400;

	buf_reset(b);
	if (dist) {
		/* Reads go through it; the store writes each shard's
		 * local table itself (shard = id % shards, as here). */
		buf_printf(b, "CREATE TABLE IF NOT EXISTS %s.%s AS %s.%s_local"
		    " ENGINE = Distributed(%s, %s, %s_local%s)", db, name, db,
		    name, ch->conf.cluster, db, name,
		    t == CH_T_COUNTERS ? ", rand()" : ", id");
		return;
	}
	buf_printf(b, "CREATE TABLE IF NOT EXISTS %s.%s_local (", db, name);
	for (c = cols[t]; c->name != NULL; c++)
		buf_printf(b, "%s%s %s", c == cols[t] ? "" : ", ", c->name,
		    c->type);
	switch (t) {
	case CH_T_FLOWS:
		/* Every version of a flow has its id: the last (by ver)
		 * is kept when parts merge, and FINAL reads only it. */
		buf_puts(b, ") ENGINE = ReplacingMergeTree(ver)"
		    " PARTITION BY day ORDER BY id");
		break;
	case CH_T_PROCS:
	case CH_T_CONTS:
		buf_puts(b, ") ENGINE = ReplacingMergeTree"
		    " PARTITION BY day ORDER BY id");
		break;
	default:
		buf_puts(b, ") ENGINE = MergeTree PARTITION BY day"
		    " ORDER BY (daemon, key, ts)");
		break;
	}
	if (ttl && days > 0)
		buf_printf(b, " TTL day + INTERVAL %lld DAY", days);
}

/* Creates the database and tables on a shard (idempotent). */
static int
ensure_schema(struct ch_sink *ch, struct shard *sh, char *err, size_t errlen)
{
	struct buf sql, out;
	int t, d, rc = -1, maj = 0, min = 0, ttl = 0;

	buf_init(&sql);
	buf_init(&out);
	if (run_sql(ch, sh, "SELECT version()", &out, err, errlen) == -1)
		goto done;
	/* (the start's ch_max_ids() and the thread may both be here) */
	if (out.len > 0 && sscanf(out.p, "%d.%d", &maj, &min) == 2) {
		ttl = maj > 19 || (maj == 19 && min >= 6);
		pthread_mutex_lock(&ch->mu);
		ch->ttl = ttl;
		pthread_mutex_unlock(&ch->mu);
	}
	buf_printf(&sql, "CREATE DATABASE IF NOT EXISTS %s",
	    ch->conf.database);
	if (run_sql(ch, sh, sql.p, NULL, err, errlen) == -1)
		goto done;
	for (t = 0; t < CH_T_MAX; t++)
		for (d = 0; d < 2; d++) {
			create_sql(ch, &sql, (enum ch_table)t, d, ttl);
			if (!buf_ok(&sql) ||
			    run_sql(ch, sh, sql.p, NULL, err, errlen) == -1)
				goto done;
		}
	rc = 0;
done:
	buf_free(&sql);
	buf_free(&out);
	return rc;
}

/*
 * Retention on servers without TTL (Debian 12's 18.16): each shard's
 * day partitions older than store.retention are dropped.  Counted in
 * partitions_dropped.
 */
static void
retention(struct ch_sink *ch)
{
	long long days = (ch->conf.retention + 86399) / 86400;
	struct buf sql, out;
	char err[256], *line, *save = NULL;
	int i, t, ttl;

	pthread_mutex_lock(&ch->mu);
	ttl = ch->ttl;
	pthread_mutex_unlock(&ch->mu);
	if (days <= 0 || ttl)
		return;
	buf_init(&sql);
	buf_init(&out);
	for (i = 0; i < ch->nsh; i++) {
		for (t = 0; t < CH_T_MAX; t++) {
			buf_reset(&sql);
			buf_printf(&sql, "SELECT DISTINCT partition_id FROM"
			    " system.parts WHERE active AND database = '%s'"
			    " AND table = '%s_local' AND max_date <"
			    " today() - %lld", ch->conf.database,
			    table_names[t], days);
			if (run_sql(ch, &ch->sh[i], sql.p, &out, err,
			    sizeof(err)) == -1 || out.len == 0)
				continue;
			save = NULL;
			for (line = strtok_r(out.p, "\n", &save); line != NULL;
			    line = strtok_r(NULL, "\n", &save)) {
				if (strspn(line, "0123456789") != strlen(line))
					continue;
				buf_reset(&sql);
				buf_printf(&sql, "ALTER TABLE %s.%s_local DROP"
				    " PARTITION ID '%s'", ch->conf.database,
				    table_names[t], line);
				if (run_sql(ch, &ch->sh[i], sql.p, NULL, err,
				    sizeof(err)) == 0) {
					pthread_mutex_lock(&ch->mu);
					ch->s.partitions_dropped++;
					pthread_mutex_unlock(&ch->mu);
				} else
					log_warnx("clickhouse retention: %s",
					    err);
			}
		}
	}
	buf_free(&sql);
	buf_free(&out);
}

/* Posts chunk c to shard sh.  0 or -1 with err.  No mutex held. */
static int
send_chunk(struct ch_sink *ch, struct shard *sh, struct chunk *c, char *err,
    size_t errlen)
{
	char q[CONF_STR_LEN + 64];
	struct buf out;
	int rc;

	if (!sh->schema_ok) {
		if (ensure_schema(ch, sh, err, errlen) == -1)
			return -1;
		sh->schema_ok = 1;
	}
	snprintf(q, sizeof(q), "INSERT INTO %s.%s_local FORMAT RowBinary",
	    ch->conf.database, table_names[c->table]);
	buf_init(&out);
	rc = ch_http_query(&sh->ep, "", ch->conf.user, q, c->b.p, c->b.len,
	    (int)ch->conf.timeout_sec * 1000, &out, CH_RESP_MAX, err, errlen);
	buf_free(&out);
	if (rc != 200 && rc != -1)
		sh->schema_ok = 0;	/* a dropped table is made again */
	return rc == 200 ? 0 : -1;
}

/* Seals the shard's open batches that waited long enough (mutex
 * held); returns the monotonic time the next one is due. */
static uint64_t
seal_due(struct ch_sink *ch, struct shard *sh, uint64_t now)
{
	uint64_t wait = (uint64_t)ch->conf.flush_sec * 1000000, next = UINT64_MAX;
	struct chunk *c;
	int t;

	for (t = 0; t < CH_T_MAX; t++) {
		if ((c = sh->open[t]) == NULL || c->rows == 0)
			continue;
		if (sh->flush || now >= c->opened + wait)
			seal(sh, (enum ch_table)t);
		else if (c->opened + wait < next)
			next = c->opened + wait;
	}
	sh->flush = 0;
	return next;
}

/* Wakes every sender, sealing their open batches if `flush` (mutex
 * held). */
static void
wake_all(struct ch_sink *ch, int flush)
{
	int i;

	for (i = 0; i < ch->nsh; i++) {
		if (flush)
			ch->sh[i].flush = 1;
		pthread_cond_signal(&ch->sh[i].cv);
	}
}

/*
 * A shard's batches made longer than store.clickhouse_retry_time ago
 * are dropped and counted (mutex held): a shard that stays down costs
 * bounded memory, and batches queued behind a dropped one do not each
 * wait out another back-off.
 */
static void
drop_expired(struct ch_sink *ch, struct shard *sh, uint64_t now)
{
	uint64_t limit = (uint64_t)ch->conf.retry_time * 1000000;
	struct chunk *c;

	while ((c = sh->head) != NULL && now - c->opened >= limit) {
		ch->s.rows_dropped += c->rows;
		ch->s.rows_pending -= c->rows;
		LOG_RATELIMITED(log_warnx, "clickhouse %s:%u: %u rows of %s "
		    "dropped after retrying (store.clickhouse_retry_time)",
		    sh->ep.host, sh->ep.port, c->rows, table_names[c->table]);
		sh->head = c->next;
		if (sh->head == NULL)
			sh->tail = NULL;
		chunk_free(ch, c);
	}
}

static int
pending_locked(const struct ch_sink *ch)
{
	return ch->s.rows_pending > 0;
}

/* A shard's sender: posts its sealed batches, oldest first, retrying
 * with back-off; the first shard's also runs retention. */
static void *
run(void *arg)
{
	struct shard *sh = arg;
	struct ch_sink *ch = sh->ch;
	struct chunk *c;
	struct timespec ts;
	char err[512];
	uint64_t now, next, wake;
	int ok, first = sh == &ch->sh[0];

	pthread_mutex_lock(&ch->mu);
	for (;;) {
		if (ch->quit)
			break;
		now = clock_mono_usec();
		next = seal_due(ch, sh, now);
		if (sh->head == NULL || sh->next_try > now) {
			if (sh->head != NULL && sh->next_try < next)
				next = sh->next_try;
			if (!pending_locked(ch))
				pthread_cond_broadcast(&ch->idle);
			if (first && now >= ch->next_retention) {
				ch->next_retention = now + CH_RETENTION_USEC;
				pthread_mutex_unlock(&ch->mu);
				retention(ch);
				pthread_mutex_lock(&ch->mu);
				continue;
			}
			wake = next == UINT64_MAX ? now + 1000000 : next;
			if (first && wake > ch->next_retention)
				wake = ch->next_retention;
			/* cv uses CLOCK_MONOTONIC (ch_open). */
			clock_gettime(CLOCK_MONOTONIC, &ts);
			wake = wake > now ? wake - now : 0;
			ts.tv_sec += (time_t)(wake / 1000000);
			ts.tv_nsec += (long)(wake % 1000000) * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&sh->cv, &ch->mu, &ts);
			continue;
		}
		c = sh->head;
		pthread_mutex_unlock(&ch->mu);
		ok = send_chunk(ch, sh, c, err, sizeof(err)) == 0;
		pthread_mutex_lock(&ch->mu);
		now = clock_mono_usec();
		if (ok) {
			ch->s.inserts++;
			ch->s.rows_sent += c->rows;
			if (sh->down)
				log_info("clickhouse %s:%u: inserting again",
				    sh->ep.host, sh->ep.port);
			sh->down = 0;
			sh->fails = 0;
			sh->next_try = 0;
		} else {
			ch->s.insert_errors++;
			sh->fails++;
			sh->down = 1;
			sh->next_try = now + backoff_usec(sh->fails);
			LOG_RATELIMITED(log_warnx, "clickhouse: %s (retrying"
			    " %u rows)", err, c->rows);
			drop_expired(ch, sh, now);
			continue;
		}
		ch->s.rows_pending -= c->rows;
		sh->head = c->next;
		if (sh->head == NULL)
			sh->tail = NULL;
		chunk_free(ch, c);
	}
	pthread_mutex_unlock(&ch->mu);
	return NULL;
}

/* Stops the senders started (ch->nth) and frees what ch_open() made. */
static void
stop_senders(struct ch_sink *ch)
{
	int i;

	pthread_mutex_lock(&ch->mu);
	ch->quit = 1;
	wake_all(ch, 0);
	pthread_mutex_unlock(&ch->mu);
	for (i = 0; i < ch->nth; i++)
		pthread_join(ch->sh[i].th, NULL);
	ch->nth = 0;
}

static void
sink_destroy(struct ch_sink *ch)
{
	int i;

	for (i = 0; i < ch->nsh; i++)
		pthread_cond_destroy(&ch->sh[i].cv);
	pthread_mutex_destroy(&ch->mu);
	pthread_cond_destroy(&ch->idle);
	free(ch);
}

struct ch_sink *
ch_open(const struct ch_conf *conf, char *err, size_t errlen)
{
	struct ch_endpoint ep[CH_SHARDS_MAX];
	pthread_condattr_t ca;
	struct ch_sink *ch;
	sigset_t all, old;
	int n, i, rc;

	if ((n = ch_endpoints_parse(conf->shards, ep, CH_SHARDS_MAX, err,
	    errlen)) == -1)
		return NULL;
	if (n == 0) {
		snprintf(err, errlen, "clickhouse_shards: no server given");
		return NULL;
	}
	if (!ch_name_ok(conf->database) || !ch_name_ok(conf->cluster)) {
		snprintf(err, errlen, "clickhouse_database and "
		    "clickhouse_cluster: letters, digits and _ only");
		return NULL;
	}
	if ((ch = calloc(1, sizeof(*ch))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ch->conf = *conf;
	ch->nsh = n;
	pthread_mutex_init(&ch->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (i = 0; i < n; i++) {
		ch->sh[i].ep = ep[i];
		ch->sh[i].ch = ch;
		pthread_cond_init(&ch->sh[i].cv, &ca);
	}
	pthread_cond_init(&ch->idle, &ca);
	pthread_condattr_destroy(&ca);
	/* The first retention check soon after start. */
	ch->next_retention = clock_mono_usec() + CH_RETENTION_FIRST_USEC;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0, rc = 0; i < n; i++) {
		char name[32];	/* (at most "store-ch15") */

		if ((rc = pthread_create(&ch->sh[i].th, NULL, run,
		    &ch->sh[i])) != 0)
			break;
		ch->nth++;
		snprintf(name, sizeof(name), "store-ch%d", i);
		(void)pthread_setname_np(ch->sh[i].th, name);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "clickhouse thread: %s", strerror(rc));
		stop_senders(ch);
		sink_destroy(ch);
		return NULL;
	}
	return ch;
}

void
ch_flush(struct ch_sink *ch)
{
	pthread_mutex_lock(&ch->mu);
	wake_all(ch, 1);
	pthread_mutex_unlock(&ch->mu);
}

int
ch_sync(struct ch_sink *ch, int ms)
{
	uint64_t end = clock_mono_usec() + (uint64_t)ms * 1000, now;
	struct timespec ts;
	int rc;

	pthread_mutex_lock(&ch->mu);
	wake_all(ch, 1);
	while (pending_locked(ch) && (now = clock_mono_usec()) < end) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = end - now < 100000 ? end - now : 100000;
		ts.tv_nsec += (long)now * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&ch->idle, &ch->mu, &ts);
		/* Rows that came meanwhile: seal them too. */
		wake_all(ch, 1);
	}
	rc = pending_locked(ch) ? -1 : 0;
	pthread_mutex_unlock(&ch->mu);
	return rc;
}

void
ch_close(struct ch_sink *ch, int wait_ms)
{
	struct chunk *c;
	int i, t;

	if (ch == NULL)
		return;
	if (ch_sync(ch, wait_ms) == -1)
		log_warnx("clickhouse: shutting down with rows unsent");
	stop_senders(ch);
	/* What is left is lost, and counted. */
	for (i = 0; i < ch->nsh; i++) {
		for (t = 0; t < CH_T_MAX; t++)
			if ((c = ch->sh[i].open[t]) != NULL) {
				ch->s.rows_dropped += c->rows;
				chunk_free(ch, c);
			}
		while ((c = ch->sh[i].head) != NULL) {
			ch->sh[i].head = c->next;
			ch->s.rows_dropped += c->rows;
			chunk_free(ch, c);
		}
	}
	if (ch->s.rows_dropped > 0)
		log_warnx("clickhouse: %llu rows dropped in all",
		    (unsigned long long)ch->s.rows_dropped);
	sink_destroy(ch);
}

void
ch_stats(struct ch_sink *ch, struct ch_stats *out)
{
	int i;

	pthread_mutex_lock(&ch->mu);
	*out = ch->s;
	out->bytes_pending = ch->mem;
	out->shards_down = 0;
	for (i = 0; i < ch->nsh; i++)
		out->shards_down += (uint64_t)ch->sh[i].down;
	pthread_mutex_unlock(&ch->mu);
}

/* The largest value of `sql`'s first column on any shard's local
 * table, through each shard (a Distributed read would need every
 * shard up as well; this says which one is not). */
int
ch_max_ids(struct ch_sink *ch, uint64_t *flow, int64_t *ref, char *err,
    size_t errlen)
{
	static const enum ch_table tabs[3] = { CH_T_FLOWS, CH_T_PROCS,
		CH_T_CONTS };
	struct buf sql, out;
	unsigned long long v;
	int i, t, rc = -1;

	*flow = 0;
	*ref = 0;
	buf_init(&sql);
	buf_init(&out);
	for (i = 0; i < ch->nsh; i++) {
		if (ensure_schema(ch, &ch->sh[i], err, errlen) == -1)
			goto done;
		for (t = 0; t < 3; t++) {
			buf_reset(&sql);
			buf_printf(&sql, "SELECT toUInt64(max(id)) FROM"
			    " %s.%s_local", ch->conf.database,
			    table_names[tabs[t]]);
			if (run_sql(ch, &ch->sh[i], sql.p, &out, err,
			    errlen) == -1)
				goto done;
			v = out.len > 0 ? strtoull(out.p, NULL, 10) : 0;
			if (t == 0 && v > *flow)
				*flow = v;
			else if (t > 0 && (int64_t)v > *ref)
				*ref = (int64_t)v;
		}
	}
	rc = 0;
done:
	buf_free(&sql);
	buf_free(&out);
	return rc;
}

/* ---- the store's side ----------------------------------------------- */

int
store_clickhouse_open(struct store *st, const struct store_conf *conf,
    char *err, size_t errlen)
{
	struct ch_conf cc = conf->ch;
	uint64_t max_flow;
	int64_t max_ref;
	char e[512];
	int sqlite;

	/* Unset (a struct filled by hand, as in tests): SQLite alone. */
	if (conf->sink[0] == '\0' || strcmp(conf->sink, "sqlite") == 0)
		return 0;
	if (strcmp(conf->sink, "clickhouse") == 0)
		sqlite = 0;
	else if (strcmp(conf->sink, "both") == 0)
		sqlite = 1;
	else {
		snprintf(err, errlen, "store.sink: expected sqlite, clickhouse"
		    " or both");
		return -1;
	}
	cc.retention = conf->retention;
	if ((st->ch = ch_open(&cc, e, sizeof(e))) == NULL) {
		snprintf(err, errlen, "clickhouse: %s", e);
		return -1;
	}
	if (!sqlite) {
		/* The flows live in ClickHouse alone: their ids continue
		 * after the highest there, or a new flow would replace an
		 * old one of the same id. */
		if (ch_max_ids(st->ch, &max_flow, &max_ref, e, sizeof(e)) ==
		    -1) {
			snprintf(err, errlen, "clickhouse: cannot read the "
			    "highest flow id (store.sink = clickhouse needs "
			    "every shard at start): %s", e);
			return -1;
		}
		if (max_flow > st->next_id)
			st->next_id = max_flow;
		if (max_ref > st->in->last_row)
			st->in->last_row = max_ref;
	}
	writer_clickhouse(st->w, st->ch, sqlite);
	sink_clickhouse(st->sink, st->ch);
	log_info("clickhouse: %s %s (database %s)", sqlite ?
	    "flows to SQLite and" : "flows to", conf->ch.shards,
	    conf->ch.database);
	return 0;
}

void
store_clickhouse_counters(struct store *st)
{
	struct ch_stats s;

	if (st->ch == NULL)
		return;
	ch_stats(st->ch, &s);
	st->c[SC_CH_ROWS] = s.rows_offered;
	st->c[SC_CH_ROWS_SENT] = s.rows_sent;
	st->c[SC_CH_ROWS_DROPPED] = s.rows_dropped;
	st->c[SC_CH_ROWS_DROPPED_MEMORY] = s.rows_dropped_memory;
	st->c[SC_CH_ROWS_PENDING] = s.rows_pending;
	st->c[SC_CH_BYTES_PENDING] = s.bytes_pending;
	st->c[SC_CH_INSERTS] = s.inserts;
	st->c[SC_CH_INSERT_ERRORS] = s.insert_errors;
	st->c[SC_CH_SHARDS_DOWN] = s.shards_down;
	st->c[SC_CH_PARTITIONS_DROPPED] = s.partitions_dropped;
}
