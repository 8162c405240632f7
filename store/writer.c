/*
 * The writer thread: SQLite row writing off the loop's thread.
 *
 * Measured (tests/bench/join.sh): writing a row is most of the store's
 * CPU per event (SQLite's VDBE, the b-tree and two indexes), and with
 * writing sliced into the loop the store's one thread was the
 * pipeline's bottleneck while the machine's second core was half idle.
 * So the loop merges and the writer writes, in parallel.
 *
 * Two batches, double-buffered: the loop fills one with snapshots of
 * changed flows (struct flow_row: a copy of the entry, interned values
 * pinned by a reference), the thread writes the other.  A hand-off
 * swaps them when the thread has given the last one back; the loop
 * releases that batch's references (the intern table is the loop's
 * alone) and reuses it.  Nothing else is shared but the sink, which
 * has its own mutex.  The thread says "done" through a pipe, so the
 * loop's poll() wakes for it.
 *
 * Order is kept: rows are written in the order the loop queued them,
 * one batch after the other, so a flow's later snapshot is never
 * overwritten by an earlier one.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "store.h"

struct batch {
	struct flow_row	*row;
	size_t		 n, cap;
	int		 commit;	/* commit after its rows */
};

struct writer {
	struct sink	*k;
	struct intern	*in;		/* the loop's: refs only there */
	struct batch	 b[2];
	struct batch	*fill;		/* the loop fills it */
	struct batch	*spare;		/* free for the loop, or NULL */
	pthread_t	 th;
	int		 running;
	int		 pipe[2];	/* thread -> loop: a batch is done */
	pthread_mutex_t	 mu;		/* guards todo, done, quit */
	pthread_cond_t	 cv;
	struct batch	*todo;		/* handed to the thread */
	struct batch	*done;		/* written, not yet taken back */
	size_t		 inflight;	/* rows of the batch out (loop) */
	int		 quit;
};

/* Writes a batch's rows and commits if asked (any thread). */
static void
write_batch(struct writer *w, struct batch *b)
{
	(void)sink_write_flows(w->k, b->row, b->n);
	if (b->commit || sink_txn_rows(w->k) >= STORE_TXN_ROWS)
		(void)sink_commit(w->k);
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
	b->n = 0;
	b->commit = 0;
}

static void *
run(void *arg)
{
	struct writer *w = arg;
	struct batch *b;
	char c = 1;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->todo == NULL && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if ((b = w->todo) == NULL)
			break;
		pthread_mutex_unlock(&w->mu);
		write_batch(w, b);
		pthread_mutex_lock(&w->mu);
		w->todo = NULL;
		w->done = b;
		pthread_cond_broadcast(&w->cv);
		/* Full pipe: the loop has a wake-up pending already. */
		(void)!write(w->pipe[1], &c, 1);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct writer *
writer_new(struct sink *k, struct intern *in)
{
	struct writer *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->k = k;
	w->in = in;
	w->fill = &w->b[0];
	w->spare = &w->b[1];
	w->pipe[0] = w->pipe[1] = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	return w;
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

void
writer_free(struct writer *w)
{
	int i;

	if (w == NULL)
		return;
	writer_sync(w);
	if (w->running) {
		pthread_mutex_lock(&w->mu);
		w->quit = 1;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
	}
	mem_release(&w->in->mem, writer_mem(w));
	for (i = 0; i < 2; i++) {
		release(w, &w->b[i]);
		free(w->b[i].row);
		if (w->pipe[i] != -1)
			close(w->pipe[i]);
	}
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* Takes back a written batch if there is one; 1 if the spare is free. */
int
writer_ready(struct writer *w)
{
	struct batch *b;
	char buf[64];

	if (w->spare != NULL)
		return 1;
	pthread_mutex_lock(&w->mu);
	b = w->done;
	w->done = NULL;
	pthread_mutex_unlock(&w->mu);
	if (b == NULL)
		return 0;
	while (read(w->pipe[0], buf, sizeof(buf)) > 0)
		;
	release(w, b);
	w->spare = b;
	w->inflight = 0;
	return 1;
}

/* Waits until the thread gives the batch it has back. */
static void
wait_ready(struct writer *w)
{
	if (writer_ready(w))
		return;
	pthread_mutex_lock(&w->mu);
	while (w->done == NULL)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	(void)writer_ready(w);
}

void
writer_hand(struct writer *w, int commit)
{
	struct batch *b;

	wait_ready(w);
	b = w->fill;
	b->commit = commit;
	w->fill = w->spare;
	w->spare = NULL;
	if (!w->running) {
		write_batch(w, b);
		release(w, b);
		w->spare = b;
		return;
	}
	w->inflight = b->n;
	pthread_mutex_lock(&w->mu);
	w->todo = b;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void
writer_sync(struct writer *w)
{
	writer_hand(w, 1);
	wait_ready(w);
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

	if (w->fill->n == WRITER_BATCH_MAX)
		writer_hand(w, 0);
	if (w->fill->n == w->fill->cap && grow(w, w->fill) == -1) {
		/* No memory to queue it (store.max_memory or the
		 * system's): write it here, after everything queued
		 * before it (order kept), and lose nothing. */
		LOG_RATELIMITED(log_warnx, "writer: out of memory for its "
		    "queue; writing in the loop");
		writer_hand(w, 0);
		wait_ready(w);
		flow_row_make(w->in, &one, iface_id, f, t);
		(void)sink_write_flow(w->k, &one);
		return;
	}
	r = &w->fill->row[w->fill->n++];
	flow_row_make(w->in, r, iface_id, f, t);
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
	size_t cap = b->cap > w->b[0].cap ? b->cap : w->b[0].cap;

	if (w->b[1].cap > cap)
		cap = w->b[1].cap;
	if (b->n + rows <= b->cap)
		return 0;
	/* One doubling of the fill batch, or of the other one if this
	 * one is handed over first (WRITER_BATCH_MAX): see grow(). */
	return (cap ? cap : 1024) * sizeof(struct flow_row);
}

size_t
writer_mem(const struct writer *w)
{
	return (w->b[0].cap + w->b[1].cap) * sizeof(struct flow_row);
}
