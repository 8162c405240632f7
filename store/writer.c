/*
 * The writer thread: SQLite row writing off the loop's thread, and the
 * rows of a failed commit kept until a later commit takes them.
 *
 * Measured (tests/bench/join.sh): writing a row is most of the store's
 * CPU per event (SQLite's VDBE, the b-tree and two indexes), and with
 * writing sliced into the loop the store's one thread was the
 * pipeline's bottleneck while the machine's second core was half idle.
 * So the loop merges and the writer writes, in parallel.
 *
 * Batches: the loop fills one with snapshots of changed flows (struct
 * flow_row: a copy of the entry, interned values pinned by a
 * reference) and hands it over; the thread writes it into the open
 * transaction and keeps it ("held") until a commit succeeds, then gives
 * every held batch back; the loop releases their references (the
 * intern table is the loop's alone) and reuses them.  The thread says
 * "given back", and "nothing queued: hand me more", through a pipe, so
 * the loop's poll() wakes for it.  The loop may hand a batch while the
 * thread still writes the one before (at most one waits), so filling
 * and writing overlap.  Measured (tests/bench/e2e.sh): without that
 * wake-up the loop, once its input paused (a collector whose replay
 * window is full waits for the acks of these very rows), handed a
 * batch only at its next timer: ~40,000 rows/s with the thread 38 %
 * busy.  Nothing else is shared but the sink, which has its own mutex.
 *
 * A commit that fails (disk full, I/O error, a lock; sqlite_sink.c
 * rolls the transaction back) loses nothing of the writer's: its rows
 * are still held.  The writer then tries again after a back-off
 * (WRITER_RETRY_MIN_USEC doubling to WRITER_RETRY_MAX_USEC): it writes
 * every held row again in a new transaction and commits.  While it
 * fails, writer_ready() says no, so changed flows wait in their tables
 * (coalescing: a flow changed again is still one row); the rows of
 * flows leaving their tables still come, and are held too, up to
 * `retry_max` bytes of rows (store.write_retry_max).  Past that they
 * are dropped, counted in rows: the loop never waits for a disk that
 * has no room.
 *
 * Process and container rows: a flow row inserts the rows of values it
 * is the first to name (intern_row()).  A held row inserts them again
 * when it is written again, in the same order, so a retried commit
 * needs nothing more.  A dropped row, or one the loop wrote in a failed
 * transaction, takes such inserts along: the thread then starts a new
 * epoch, rows made in an older epoch insert every value they name
 * (INSERT OR REPLACE: harmless if present; heal()), and the loop,
 * seeing the new epoch, forgets every value's row (intern_forget_rows())
 * so its next rows insert them again.
 *
 * Order is kept: rows are written in the order the loop queued them,
 * so a flow's later snapshot is never overwritten by an earlier one.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/clock.h"
#include "../common/log.h"
#include "store.h"

#define WRITER_SPARES	2	/* empty batches kept for reuse */
#define WRITER_FAILING_BATCH 256	/* rows handed at a time while
					   commits fail */

struct batch {
	struct flow_row	*row;
	size_t		 n, cap;
	size_t		 nw;		/* rows to write: n less what the
					   bound dropped */
	int		 commit;	/* commit after its rows */
	uint64_t	 seq;		/* writer_hand()'s number */
	void		*mark;		/* writer_hand_mark(): for the hook */
	struct batch	*next;
};

/* A FIFO of batches. */
struct blist {
	struct batch	*head, **tail;
};

struct writer {
	struct sink	*k;
	struct ch_sink	*ch;		/* ClickHouse too, or NULL */
	int		 sqlite_flows;	/* flow rows to SQLite */
	struct intern	*in;		/* the loop's: refs only there */
	size_t		 retry_max;	/* bytes of held rows while failing */
	/* The loop's. */
	struct batch	*fill;
	struct batch	*spare;		/* empty batches */
	unsigned	 nspare;
	size_t		 cap_rows;	/* sum of every batch's cap */
	size_t		 max_cap;	/* largest cap of a batch */
	size_t		 inflight;	/* rows handed, not yet back */
	uint32_t	 epoch;		/* the thread's, as last seen */
	uint64_t	 hand_seq;	/* batches handed */
	pthread_t	 th;
	int		 running;
	int		 pipe[2];	/* thread -> loop: batches are back */
	/* Shared, under mu. */
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct blist	 todo;		/* handed, not yet taken */
	struct batch	*done;		/* committed (or dropped), to release */
	size_t		 done_rows;
	int		 busy;		/* the thread works on a batch */
	int		 quit;
	uint32_t	 t_epoch;	/* see heal() */
	struct writer_stats s;
	/* The thread's (the loop's when inline). */
	struct blist	 held;		/* written, not committed */
	size_t		 held_rows;
	uint64_t	 held_seq;	/* the last held batch's seq */
	uint64_t	 backoff;	/* usec */
	uint64_t	 retry_at;	/* monotonic usec */
	/* writer_set_hook(): set before the thread starts */
	int		(*hook)(void *, struct sink *, void *);
	void		*hook_arg;
};

static void
blist_init(struct blist *l)
{
	l->head = NULL;
	l->tail = &l->head;
}

static void
blist_push(struct blist *l, struct batch *b)
{
	b->next = NULL;
	*l->tail = b;
	l->tail = &b->next;
}

static struct batch *
blist_pop(struct blist *l)
{
	struct batch *b = l->head;

	if (b != NULL && (l->head = b->next) == NULL)
		l->tail = &l->head;
	return b;
}

static int
failing(struct writer *w)
{
	int f;

	pthread_mutex_lock(&w->mu);
	f = w->s.failing;
	pthread_mutex_unlock(&w->mu);
	return f;
}

/*
 * Rows made before the thread's epoch changed may name process and
 * container rows whose insert was dropped or rolled back: they insert
 * every value they name (thread, or loop when inline).
 */
static void
heal(struct writer *w, struct batch *b)
{
	struct flow_row *r;
	uint32_t e;
	size_t i;
	int s, j;

	pthread_mutex_lock(&w->mu);
	e = w->t_epoch;
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < b->nw; i++) {
		r = &b->row[i];
		if (r->epoch == e)
			continue;
		for (s = 0; s < 2; s++)
			for (j = 0; j < REF_MAX; j++)
				r->fresh[s][j] = r->ref[s][j] != 0;
	}
}

/* Gives every held batch back to the loop (the thread). */
static void
give_back_held(struct writer *w)
{
	struct batch *b;
	char c = 1;

	pthread_mutex_lock(&w->mu);
	while ((b = blist_pop(&w->held)) != NULL) {
		b->next = w->done;
		w->done = b;
		w->done_rows += b->n;
	}
	w->held_rows = 0;
	w->s.retry_rows = 0;
	pthread_mutex_unlock(&w->mu);
	if (w->running)
		(void)!write(w->pipe[1], &c, 1);
}

/* Commits the open transaction; on failure the held rows wait for the
 * next attempt (the thread). */
static void
commit_held(struct writer *w)
{
	uint64_t now;

	if (sink_commit(w->k) == 0) {
		pthread_mutex_lock(&w->mu);
		if (w->held.head != NULL)
			w->s.committed_seq = w->held_seq;
		if (w->s.failing) {
			log_info("writes resume: %zu held rows committed "
			    "after %llu s of failed commits", w->held_rows,
			    (unsigned long long)((clock_wall_usec() -
			    w->s.failing_since) / 1000000));
			w->s.failing = 0;
			w->s.failing_since = 0;
			w->s.recovered++;
		}
		pthread_mutex_unlock(&w->mu);
		w->backoff = 0;
		give_back_held(w);
		return;
	}
	now = clock_mono_usec();
	w->backoff = w->backoff == 0 ? WRITER_RETRY_MIN_USEC :
	    w->backoff * 2 > WRITER_RETRY_MAX_USEC ? WRITER_RETRY_MAX_USEC :
	    w->backoff * 2;
	w->retry_at = now + w->backoff;
	pthread_mutex_lock(&w->mu);
	if (!w->s.failing) {
		w->s.failing = 1;
		w->s.failing_since = clock_wall_usec();
	}
	/* The loop's rows in that transaction are gone, and the process
	 * rows they inserted with them. */
	w->t_epoch++;
	w->s.retry_rows = w->held_rows;
	pthread_mutex_unlock(&w->mu);
	LOG_RATELIMITED(log_warnx, "commit failed: %zu rows held, next attempt "
	    "in %llu ms", w->held_rows, (unsigned long long)w->backoff / 1000);
}

/* Writes batch b's rows into the open transaction and holds it. */
static void
write_held(struct writer *w, struct batch *b)
{
	heal(w, b);
	if (w->sqlite_flows)
		(void)sink_write_flows(w->k, b->row, b->nw);
	/* After the rows, in their transaction (again on a retry). */
	if (b->mark != NULL && w->hook != NULL)
		(void)w->hook(w->hook_arg, w->k, b->mark);
}

/*
 * A batch from the loop (the thread).  While commits work: written,
 * held, and committed if asked or the transaction is long.  While they
 * fail: held as it is, as far as the bound allows; the rest dropped.
 */
static void
take(struct writer *w, struct batch *b)
{
	size_t room, drop = 0;
	int f = failing(w);

	/* ClickHouse has its own queue and retry: every row, once. */
	if (w->ch != NULL)
		ch_write_flows(w->ch, b->row, b->n);
	b->nw = b->n;
	if (f) {
		room = w->retry_max == 0 ? SIZE_MAX :
		    w->retry_max / sizeof(struct flow_row);
		room = room > w->held_rows ? room - w->held_rows : 0;
		if (b->nw > room) {
			drop = b->nw - room;
			b->nw = room;
		}
	} else
		write_held(w, b);
	pthread_mutex_lock(&w->mu);
	if (drop > 0) {
		w->s.rows_dropped += drop;
		w->t_epoch++;
	}
	if (b->nw == 0 && b->n > 0) {
		/* All dropped. */
		b->next = w->done;
		w->done = b;
		w->done_rows += b->n;
	} else {
		blist_push(&w->held, b);
		w->held_rows += b->nw;
		w->held_seq = b->seq;
		if (f)
			w->s.retry_rows = w->held_rows;
	}
	pthread_mutex_unlock(&w->mu);
	if (drop > 0)
		LOG_RATELIMITED(log_warnx, "commits failing: %zu rows dropped "
		    "past store.write_retry_max (%zu bytes)", drop,
		    w->retry_max);
	if (!f && (b->commit || sink_txn_rows(w->k) >= STORE_TXN_ROWS))
		commit_held(w);
}

/* Writes every held row again in a new transaction and commits. */
static void
retry(struct writer *w)
{
	struct batch *b;

	pthread_mutex_lock(&w->mu);
	w->s.retries++;
	pthread_mutex_unlock(&w->mu);
	for (b = w->held.head; b != NULL; b = b->next)
		write_held(w, b);
	commit_held(w);
}

/* An inline writer's, or the thread's, pending attempt if it is due. */
static void
retry_due(struct writer *w)
{
	if (failing(w) && clock_mono_usec() >= w->retry_at)
		retry(w);
}

static void *
run(void *arg)
{
	struct writer *w = arg;
	struct batch *b;
	struct timespec ts;
	uint64_t at;
	char c = 1;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		if ((b = blist_pop(&w->todo)) != NULL) {
			w->busy = 1;
			/* Taken: the loop may fill and hand the next one
			 * while this one is written. */
			pthread_cond_broadcast(&w->cv);
			pthread_mutex_unlock(&w->mu);
			take(w, b);
			pthread_mutex_lock(&w->mu);
			w->busy = 0;
			pthread_cond_broadcast(&w->cv);
			/* Nothing queued: wake the loop for the next rows
			 * (it sleeps while no input comes). */
			if (w->todo.head == NULL)
				(void)!write(w->pipe[1], &c, 1);
			continue;
		}
		if (w->s.failing && (w->quit || clock_mono_usec() >=
		    w->retry_at)) {
			w->busy = 1;
			pthread_mutex_unlock(&w->mu);
			retry(w);
			pthread_mutex_lock(&w->mu);
			w->busy = 0;
			pthread_cond_broadcast(&w->cv);
			if (w->quit)
				break;	/* one last attempt at exit */
			continue;
		}
		if (w->quit)
			break;
		if (!w->s.failing) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		at = w->retry_at;
		ts.tv_sec = (time_t)(at / 1000000);
		ts.tv_nsec = (long)(at % 1000000) * 1000;
		(void)pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct writer *
writer_new(struct sink *k, struct intern *in, size_t retry_max)
{
	struct writer *w;
	pthread_condattr_t ca;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if ((w->fill = calloc(1, sizeof(*w->fill))) == NULL) {
		free(w);
		return NULL;
	}
	w->k = k;
	w->sqlite_flows = 1;
	w->in = in;
	w->retry_max = retry_max;
	w->pipe[0] = w->pipe[1] = -1;
	blist_init(&w->todo);
	blist_init(&w->held);
	pthread_mutex_init(&w->mu, NULL);
	/* The retry deadline is monotonic (clock_mono_usec()). */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	return w;
}

void
writer_clickhouse(struct writer *w, struct ch_sink *ch, int sqlite)
{
	w->ch = ch;
	w->sqlite_flows = sqlite || ch == NULL;
}

int
writer_start(struct writer *w, char *err, size_t errlen)
{
	sigset_t all, old;
	int i, rc;

	if (pipe(w->pipe) == -1) {
		snprintf(err, errlen, "writer pipe: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < 2; i++)
		if (fcntl(w->pipe[i], F_SETFL, O_NONBLOCK) == -1 ||
		    fcntl(w->pipe[i], F_SETFD, FD_CLOEXEC) == -1) {
			snprintf(err, errlen, "writer pipe: %s",
			    strerror(errno));
			return -1;
		}
	/* Signals go to the loop's thread, whose poll() they wake. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->th, NULL, run, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "writer thread: %s", strerror(rc));
		return -1;
	}
	/* Its CPU shows apart in top -H and /proc/PID/task. */
	(void)pthread_setname_np(w->th, "store-writer");
	w->running = 1;
	return 0;
}

/* Drops the references a batch's rows hold (loop thread). */
static void
release(struct writer *w, struct batch *b)
{
	struct flow_row *r;
	size_t i;
	int s;

	for (i = 0; i < b->n; i++) {
		r = &b->row[i];
		intern_unref(w->in, r->f.meta);
		for (s = 0; s < 2; s++) {
			intern_unref(w->in, r->f.proc[s]);
			intern_unref(w->in, r->f.parent[s]);
			intern_unref(w->in, r->f.cont[s]);
		}
	}
	b->n = b->nw = 0;
	b->commit = 0;
	b->mark = NULL;
}

/* Frees a batch and gives its rows' memory back (loop thread). */
static void
batch_free(struct writer *w, struct batch *b)
{
	mem_release(&w->in->mem, b->cap * sizeof(struct flow_row));
	w->cap_rows -= b->cap;
	free(b->row);
	free(b);
}

/* Keeps an empty batch for reuse, or frees it past WRITER_SPARES. */
static void
spare_put(struct writer *w, struct batch *b)
{
	if (w->nspare >= WRITER_SPARES) {
		batch_free(w, b);
		return;
	}
	b->next = w->spare;
	w->spare = b;
	w->nspare++;
}

/*
 * Takes back the batches the writer gave back, releasing them, and
 * follows its epoch (loop thread).  Returns 1 if it takes a batch now
 * without a wait (nothing queued: it may still be writing one, which
 * the next overlaps) and its commits work.
 */
static int
collect(struct writer *w)
{
	struct batch *b, *next;
	uint32_t e;
	size_t rows;
	int ready;
	char buf[64];

	if (!w->running)
		retry_due(w);
	pthread_mutex_lock(&w->mu);
	b = w->done;
	rows = w->done_rows;
	w->done = NULL;
	w->done_rows = 0;
	e = w->t_epoch;
	ready = w->todo.head == NULL && !w->s.failing;
	pthread_mutex_unlock(&w->mu);
	/* (Drained even with nothing back: a wake-up written after the
	 * last take would keep poll() waking.) */
	if (w->running)
		while (read(w->pipe[0], buf, sizeof(buf)) > 0)
			;
	for (; b != NULL; b = next) {
		next = b->next;
		release(w, b);
		spare_put(w, b);
	}
	w->inflight -= rows;
	if (e != w->epoch) {
		/* Rows the database does not have may be named: the next
		 * flow rows insert their values again. */
		w->epoch = e;
		intern_forget_rows(w->in);
	}
	return ready;
}

int
writer_ready(struct writer *w)
{
	return collect(w);
}

int
writer_idle(struct writer *w)
{
	int idle;

	pthread_mutex_lock(&w->mu);
	idle = w->todo.head == NULL && !w->busy;
	pthread_mutex_unlock(&w->mu);
	return idle;
}

/* Waits until the thread has taken everything handed to it and, if
 * `idle`, is not working either (loop thread).  Without: one batch in
 * its hands, one filling here, the bound on what is queued. */
static void
wait_taken(struct writer *w, int idle)
{
	if (w->running) {
		pthread_mutex_lock(&w->mu);
		while (w->todo.head != NULL || (idle && w->busy))
			pthread_cond_wait(&w->cv, &w->mu);
		pthread_mutex_unlock(&w->mu);
	}
	(void)collect(w);
}

uint64_t
writer_hand(struct writer *w, int commit)
{
	struct batch *b = w->fill, *nb;

	/* A batch still queued: wait.  Failing: never. */
	if (!failing(w))
		wait_taken(w, 0);
	if (w->spare != NULL) {
		nb = w->spare;
		w->spare = nb->next;
		w->nspare--;
	} else if ((nb = calloc(1, sizeof(*nb))) == NULL) {
		/* Keep filling this one: handed at the next call. */
		LOG_RATELIMITED(log_warnx, "writer: out of memory for a batch");
		return 0;
	}
	w->fill = nb;
	b->commit = commit;
	b->seq = ++w->hand_seq;
	w->inflight += b->n;
	if (!w->running) {
		take(w, b);
		(void)collect(w);
		return b->seq;
	}
	pthread_mutex_lock(&w->mu);
	blist_push(&w->todo, b);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return w->hand_seq;
}

void
writer_set_hook(struct writer *w, int (*fn)(void *, struct sink *, void *),
    void *arg)
{
	w->hook = fn;
	w->hook_arg = arg;
}

uint64_t
writer_hand_mark(struct writer *w, void *mark)
{
	uint64_t seq;

	w->fill->mark = mark;
	if ((seq = writer_hand(w, 1)) == 0)
		w->fill->mark = NULL;	/* not handed: no mark */
	return seq;
}

void
writer_sync(struct writer *w)
{
	writer_hand(w, 1);
	wait_taken(w, 1);
}

void
writer_stats(struct writer *w, struct writer_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->s;
	pthread_mutex_unlock(&w->mu);
}

void
writer_free(struct writer *w)
{
	struct batch *b;
	size_t lost;

	if (w == NULL)
		return;
	writer_sync(w);
	if (w->running) {
		pthread_mutex_lock(&w->mu);
		w->quit = 1;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
	} else if (failing(w))
		retry(w);
	/* Still failing after the last attempt: those rows are lost. */
	lost = 0;
	while ((b = blist_pop(&w->held)) != NULL) {
		lost += b->nw;
		b->next = w->done;
		w->done = b;
		w->done_rows += b->n;
	}
	if (lost > 0) {
		w->s.rows_dropped += lost;
		log_warnx("exiting with commits failing: %zu rows not written",
		    lost);
	}
	w->s.failing = 0;
	w->running = 0;
	(void)collect(w);
	release(w, w->fill);
	batch_free(w, w->fill);
	while ((b = w->spare) != NULL) {
		w->spare = b->next;
		batch_free(w, b);
	}
	if (w->pipe[0] != -1)
		close(w->pipe[0]);
	if (w->pipe[1] != -1)
		close(w->pipe[1]);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void
flow_row_make(struct intern *in, struct flow_row *r, int64_t iface_id,
    const struct flow *f, const struct flow_tcpinfo *t)
{
	int fresh, s;

	r->f = *f;
	r->iface_id = iface_id;
	r->has_tcpi = t != NULL;
	if (t != NULL)
		r->tcpi = *t;
	r->epoch = 0;
	r->meta = intern_get_meta(in, f->meta);
	for (s = 0; s < 2; s++) {
		r->proc[s] = intern_get_proc(in, f->proc[s]);
		r->parent[s] = intern_get_proc(in, f->parent[s]);
		r->cont[s] = intern_get_container(in, f->cont[s]);
		r->ref[s][REF_PROC] = intern_row(in, f->proc[s], &fresh);
		r->fresh[s][REF_PROC] = (uint8_t)fresh;
		r->ref[s][REF_PARENT] = intern_row(in, f->parent[s], &fresh);
		r->fresh[s][REF_PARENT] = (uint8_t)fresh;
		r->ref[s][REF_CONT] = intern_row(in, f->cont[s], &fresh);
		r->fresh[s][REF_CONT] = (uint8_t)fresh;
	}
}

/* Doubles a batch's rows, charged to the budget: -1 if refused. */
static int
grow(struct writer *w, struct batch *b)
{
	struct flow_row *nr;
	size_t cap = b->cap ? b->cap * 2 : 1024;

	if (mem_charge(&w->in->mem, (cap - b->cap) * sizeof(*nr)) == -1)
		return -1;
	if ((nr = realloc(b->row, cap * sizeof(*nr))) == NULL) {
		mem_release(&w->in->mem, (cap - b->cap) * sizeof(*nr));
		return -1;
	}
	w->cap_rows += cap - b->cap;
	if (cap > w->max_cap)
		w->max_cap = cap;
	b->row = nr;
	b->cap = cap;
	return 0;
}

void
writer_add(struct writer *w, int64_t iface_id, const struct flow *f,
    const struct flow_tcpinfo *t)
{
	struct flow_row *r, one;
	int s;

	/* While commits fail, rows go to the thread in small batches: it
	 * holds them within the bound (take()). */
	if (w->fill->n >= WRITER_BATCH_MAX ||
	    (w->fill->n >= WRITER_FAILING_BATCH && failing(w)))
		writer_hand(w, 0);
	if (w->fill->n == w->fill->cap && grow(w, w->fill) == -1) {
		if (failing(w)) {
			/* Nowhere to keep it and no room on disk. */
			pthread_mutex_lock(&w->mu);
			w->s.rows_dropped++;
			pthread_mutex_unlock(&w->mu);
			flow_row_make(w->in, &one, iface_id, f, t);
			intern_forget_rows(w->in);
			LOG_RATELIMITED(log_warnx, "writer: commits failing "
			    "and no memory to queue a row: dropped");
			return;
		}
		/* No memory to queue it (store.max_memory or the
		 * system's): write it here, after everything queued
		 * before it (order kept). */
		LOG_RATELIMITED(log_warnx, "writer: out of memory for its "
		    "queue; writing in the loop");
		writer_hand(w, 0);
		wait_taken(w, 1);
		flow_row_make(w->in, &one, iface_id, f, t);
		one.epoch = w->epoch;
		if (w->ch != NULL)
			ch_write_flows(w->ch, &one, 1);
		if (w->sqlite_flows)
			(void)sink_write_flow(w->k, &one);
		return;
	}
	r = &w->fill->row[w->fill->n++];
	flow_row_make(w->in, r, iface_id, f, t);
	r->epoch = w->epoch;
	intern_ref(w->in, f->meta);
	for (s = 0; s < 2; s++) {
		intern_ref(w->in, f->proc[s]);
		intern_ref(w->in, f->parent[s]);
		intern_ref(w->in, f->cont[s]);
	}
}

int
writer_fd(const struct writer *w)
{
	return w->running ? w->pipe[0] : -1;
}

size_t
writer_queued(const struct writer *w)
{
	return w->fill->n + w->inflight;
}

size_t
writer_need(const struct writer *w, size_t rows)
{
	const struct batch *b = w->fill;
	size_t cap = w->max_cap > 1024 ? w->max_cap : 1024;

	if (b->n + rows <= b->cap)
		return 0;
	/* One doubling of the fill batch, or the growth of a new one if
	 * this one is handed over first (WRITER_BATCH_MAX): see grow(). */
	return cap * sizeof(struct flow_row);
}

size_t
writer_mem(const struct writer *w)
{
	return w->cap_rows * sizeof(struct flow_row);
}
