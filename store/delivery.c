/*
 * At-least-once delivery, the store's side.  See delivery.h and
 * docs/design.md ("Delivery").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>
#include <sqlite3.h>

#include "../common/clock.h"
#include "../common/hash.h"
#include "../common/log.h"
#include "delivery.h"
#include "sink.h"

const char *const dlv_counter_names[DC_MAX] = {
	[DC_LOST] = "delivery_lost",
	[DC_DUPLICATES] = "delivery_duplicates",
	[DC_REFUSED] = "delivery_refused",
	[DC_ORIGINS] = "delivery_origins",
	[DC_EVICTED] = "delivery_origins_evicted",
	[DC_BAD_ORIGINS] = "delivery_bad_origins",
	[DC_ACKS_SENT] = "delivery_acks_sent",
	[DC_COMMITS] = "delivery_commits",
	[DC_PERSIST_ERRORS] = "delivery_persist_errors",
};

/* Sender 0 holds the totals of rows folded away (never an origin). */
static const char table_sql[] =
    "CREATE TABLE IF NOT EXISTS delivery ("
    " sender INTEGER PRIMARY KEY,"	/* origin id (as signed 64 bits) */
    " committed INTEGER NOT NULL,"	/* its records up to it are in */
    " lost INTEGER NOT NULL DEFAULT 0,"	/* never arrived */
    " duplicates INTEGER NOT NULL DEFAULT 0,"	/* replays skipped */
    " last_seen REAL NOT NULL DEFAULT 0)";
static const char upsert_sql[] =
    "INSERT INTO delivery (sender, committed, lost, duplicates, last_seen)"
    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (sender) DO UPDATE SET"
    " committed = max(committed, excluded.committed), lost = excluded.lost,"
    " duplicates = excluded.duplicates, last_seen = excluded.last_seen";

static int
exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	snprintf(err, errlen, "delivery table: %s", msg ? msg : "?");
	sqlite3_free(msg);
	return -1;
}

/* Loads the origins, newest first; folds the rows past `max` into
 * sender 0.  Runs before the writer thread starts. */
static int
load(struct delivery *d, sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	struct dlv_origin *o;
	char sql[256];
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT sender, committed, lost, "
	    "duplicates, last_seen FROM delivery ORDER BY sender = 0 DESC, "
	    "last_seen DESC", -1, &s, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "delivery table: %s",
		    sqlite3_errmsg(db));
		return -1;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_int64(s, 0) == 0) {
			d->retired_lost = (uint64_t)sqlite3_column_int64(s, 2);
			d->retired_dups = (uint64_t)sqlite3_column_int64(s, 3);
			continue;
		}
		if (d->n == d->max) {
			d->retired_lost += (uint64_t)sqlite3_column_int64(s, 2);
			d->retired_dups += (uint64_t)sqlite3_column_int64(s, 3);
			continue;
		}
		o = &d->o[d->n++];
		o->id = (uint64_t)sqlite3_column_int64(s, 0);
		o->committed = o->applied =
		    (uint64_t)sqlite3_column_int64(s, 1);
		o->lost = (uint64_t)sqlite3_column_int64(s, 2);
		o->duplicates = (uint64_t)sqlite3_column_int64(s, 3);
		o->last_seen = sqlite3_column_double(s, 4);
		o->flags = EVP_HELLO_F_REPLAY;	/* acked until it says */
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "delivery table: %s",
		    sqlite3_errmsg(db));
		return -1;
	}
	if (d->n < d->max)
		return 0;
	/* Folded: the totals in row 0, the rows past the bound gone. */
	snprintf(sql, sizeof(sql), "BEGIN; INSERT OR REPLACE INTO delivery "
	    "VALUES (0, 0, %llu, %llu, 0); DELETE FROM delivery WHERE sender "
	    "<> 0 AND sender NOT IN (SELECT sender FROM delivery WHERE "
	    "sender <> 0 ORDER BY last_seen DESC LIMIT %u); COMMIT",
	    (unsigned long long)d->retired_lost,
	    (unsigned long long)d->retired_dups, d->max);
	if (exec(db, sql, err, errlen) == -1) {
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

struct delivery *
delivery_open(struct sink *k, const char *endpoint, int trusted,
    unsigned max, uint64_t settle_usec, char *err, size_t errlen)
{
	struct delivery *d;
	sqlite3 *db = sink_handle(k);
	int i;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->o = calloc(max, sizeof(*d->o))) == NULL ||
	    (d->snap[0].e = calloc(max, sizeof(struct dlv_snap_ent))) ==
	    NULL ||
	    (d->snap[1].e = calloc(max, sizeof(struct dlv_snap_ent))) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	d->max = max;
	d->pub = -1;
	d->cur = -1;
	do
		d->epoch = hash_random_seed();
	while (d->epoch == 0);
	d->spacing_ms = (uint32_t)(settle_usec / 1000 / (DLV_SAMPLES / 4));
	if (d->spacing_ms == 0)
		d->spacing_ms = 1;
	snprintf(d->endpoint, sizeof(d->endpoint), "%s", endpoint);
	if (exec(db, table_sql, err, errlen) == -1 ||
	    load(d, db, err, errlen) == -1)
		goto fail;
	if (sqlite3_prepare_v3(db, upsert_sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &d->upsert, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "delivery table: %s",
		    sqlite3_errmsg(db));
		goto fail;
	}
	if ((i = nnlink_socket(NN_PUB, endpoint, 1, 1, trusted, err,
	    errlen)) == -1)
		goto fail;
	d->pub = i;
	d->c[DC_ORIGINS] = d->n;
	d->c[DC_LOST] = d->retired_lost;
	d->c[DC_DUPLICATES] = d->retired_dups;
	for (i = 0; i < (int)d->n; i++) {
		d->c[DC_LOST] += d->o[i].lost;
		d->c[DC_DUPLICATES] += d->o[i].duplicates;
	}
	return d;
fail:
	delivery_close(d);
	return NULL;
}

void
delivery_close(struct delivery *d)
{
	if (d == NULL)
		return;
	if (d->pub != -1)
		nn_close(d->pub);
	sqlite3_finalize(d->upsert);
	free(d->snap[0].e);
	free(d->snap[1].e);
	free(d->o);
	free(d);
}

/* The origin `id`, made if new (evicting the least recently seen). */
static int
origin_get(struct delivery *d, uint64_t id)
{
	unsigned i, old = 0;

	for (i = 0; i < d->n; i++)
		if (d->o[i].id == id)
			return (int)i;
	if (d->n < d->max)
		i = d->n++;
	else {
		for (i = 1; i < d->n; i++)
			if (d->o[i].last_seen < d->o[old].last_seen)
				old = i;
		i = old;
		d->retired_lost += d->o[i].lost;
		d->retired_dups += d->o[i].duplicates;
		d->c[DC_EVICTED]++;
		LOG_RATELIMITED(log_warnx, "delivery: more than %u senders; "
		    "forgetting the least recent", d->max);
	}
	memset(&d->o[i], 0, sizeof(d->o[i]));
	d->o[i].id = id;
	d->c[DC_ORIGINS] = d->n;
	/* A new sender hears of this store soon: until then it promises
	 * no replay. */
	if (d->next_pub > clock_mono_usec() + DLV_NACK_USEC)
		d->next_pub = clock_mono_usec() + DLV_NACK_USEC;
	return (int)i;
}

int
delivery_origin(struct delivery *d, const struct link_sender *s,
    const void *body, size_t len)
{
	struct evp_origin org;

	d->cur_link = s->id;
	d->cur_batch = s->batches;
	if (evp_decode_origin(body, len, &org) == -1) {
		/* The rest of the batch has no origin it can trust. */
		d->c[DC_BAD_ORIGINS]++;
		d->cur = -2;
		LOG_RATELIMITED(log_warnx, "%s: malformed origin record",
		    s->hello.name);
		return -1;
	}
	if (org.sender == 0) {
		d->cur = -1;
		return 0;
	}
	d->cur = origin_get(d, org.sender);
	d->o[d->cur].flags = org.flags;
	d->cur_seq = org.seq;
	d->cur_skip = org.skip_from;
	d->cur_held = org.flags & EVP_HELLO_F_REPLAY ? org.held_from :
	    org.seq;
	return 0;
}

/* Notes that o's records up to its applied one arrived by `now`. */
static void
sample(struct delivery *d, struct dlv_origin *o, uint64_t now)
{
	uint32_t ms = (uint32_t)(now / 1000);
	struct dlv_sample *last;

	if (o->sn > 0) {
		last = &o->s[(o->shead + o->sn - 1) % DLV_SAMPLES];
		if ((int32_t)(ms - last->ms) < (int32_t)d->spacing_ms ||
		    o->sn == DLV_SAMPLES) {
			last->ms = ms;
			last->seq = o->applied;
			return;
		}
	}
	last = &o->s[(o->shead + o->sn++) % DLV_SAMPLES];
	last->ms = ms;
	last->seq = o->applied;
}

int
delivery_record(struct delivery *d, const struct link_sender *s,
    const struct evp_rec_hdr *h, uint64_t now)
{
	struct dlv_origin *o;
	uint64_t q, skip, held, expect, gone;

	if (d->cur_link == s->id && d->cur_batch == s->batches &&
	    d->cur != -1) {
		if (d->cur == -2) {	/* after a malformed origin */
			d->c[DC_REFUSED]++;
			return 0;
		}
		o = &d->o[d->cur];
		q = d->cur_seq++;
		skip = d->cur_skip;
		held = d->cur_held;
		d->cur_skip = d->cur_seq;
		d->cur_held = d->cur_held > d->cur_seq ? d->cur_seq :
		    d->cur_held;
	} else if (s->hello.flags & EVP_HELLO_F_REPLAY) {
		/* A sender straight to the store, keeping a replay. */
		if (d->cur_link != s->id || d->cur_batch != s->batches) {
			d->cur_link = s->id;
			d->cur_batch = s->batches;
			d->cur = -1;
		}
		o = &d->o[origin_get(d, s->id)];
		o->flags = s->hello.flags;
		q = skip = h->seq;
		held = s->hello.held_from <= q ? s->hello.held_from : q;
	} else
		return 1;	/* the link sender's own: untracked */
	if (o->applied == 0 && o->committed == 0) {
		/* A new origin: what it sent before is not this store's
		 * to count. */
		o->applied = (held < skip ? held : skip) - 1;
	}
	expect = o->applied + 1;
	if (q < expect) {
		o->duplicates++;
		o->dirty = 1;
		d->c[DC_DUPLICATES]++;
		return 0;
	}
	/* [expect, q): dropped by the router from skip on; gone for good
	 * below min(held, skip); the rest the sender can resend. */
	gone = held < skip ? held : skip;
	if (gone < expect)
		gone = expect;
	if (gone < skip) {
		o->refused++;
		d->c[DC_REFUSED]++;
		if (!o->nack) {
			o->nack = 1;
			if (d->next_pub > now + DLV_NACK_USEC)
				d->next_pub = now + DLV_NACK_USEC;
		}
		return 0;
	}
	if (gone > expect) {
		o->lost += gone - expect;
		o->dirty = 1;
		d->c[DC_LOST] += gone - expect;
		LOG_RATELIMITED(log_warnx, "delivery: %llu records of sender "
		    "%016llx never arrived", (unsigned long long)(gone -
		    expect), (unsigned long long)o->id);
	}
	o->applied = q;
	o->last_seen = (double)clock_wall_usec() / 1e6;
	sample(d, o, now);
	return 1;
}

struct dlv_snap *
delivery_snapshot(struct delivery *d, uint64_t clean)
{
	struct dlv_snap *sn;
	struct dlv_snap_ent *e;
	struct dlv_origin *o;
	uint32_t cms = (uint32_t)(clean / 1000);
	uint64_t upto;
	unsigned i, k;

	sn = !d->snap[0].busy ? &d->snap[0] : !d->snap[1].busy ?
	    &d->snap[1] : NULL;
	if (sn == NULL)
		return NULL;
	sn->n = 0;
	for (i = 0; i < d->n; i++) {
		o = &d->o[i];
		upto = o->committed;
		if (clean == UINT64_MAX) {
			upto = o->applied;
			o->sn = 0;
		}
		/* The newest sample strictly older than the clean point. */
		while (o->sn > 0) {
			k = o->shead;
			if ((int32_t)(o->s[k].ms - cms) >= 0)
				break;
			upto = o->s[k].seq;
			o->shead = (k + 1) % DLV_SAMPLES;
			o->sn--;
		}
		if (upto <= o->committed && !o->dirty)
			continue;
		e = &sn->e[sn->n++];
		e->id = o->id;
		e->committed = upto > o->committed ? upto : o->committed;
		e->lost = o->lost;
		e->duplicates = o->duplicates;
		e->last_seen = o->last_seen;
		o->dirty = 0;
	}
	if (sn->n == 0)
		return NULL;
	sn->busy = 1;
	sn->ok = 0;
	return sn;
}

int
delivery_persist(void *arg, struct sink *k, void *mark)
{
	struct delivery *d = arg;
	struct dlv_snap *sn = mark;
	sqlite3_stmt *s = d->upsert;
	unsigned i;
	int rc = 0;

	sink_lock(k);
	if (sink_txn(k) == -1)
		return sink_unlocked(k, -1);
	for (i = 0; i < sn->n && rc == 0; i++) {
		sqlite3_bind_int64(s, 1, (sqlite3_int64)sn->e[i].id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)sn->e[i].committed);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)sn->e[i].lost);
		sqlite3_bind_int64(s, 4, (sqlite3_int64)sn->e[i].duplicates);
		sqlite3_bind_double(s, 5, sn->e[i].last_seen);
		if (sqlite3_step(s) != SQLITE_DONE) {
			LOG_RATELIMITED(log_warnx, "delivery: %s",
			    sqlite3_errmsg(sink_handle(k)));
			rc = -1;
		}
		sqlite3_reset(s);
	}
	sn->ok = rc == 0;
	return sink_unlocked(k, rc);
}

/* Publishes every acknowledged origin, EVP_ACK_MAX a message. */
static void
publish(struct delivery *d)
{
	uint8_t msg[sizeof(struct evp_ack_hdr) + EVP_ACK_MAX *
	    sizeof(struct evp_ack)];
	struct evp_ack_hdr h;
	struct evp_ack a;
	struct dlv_origin *o;
	unsigned i = 0, n;

	memset(&h, 0, sizeof(h));
	h.magic = EVP_ACK_MAGIC;
	h.version = EVP_VERSION;
	h.epoch = d->epoch;
	do {
		for (n = 0; i < d->n && n < EVP_ACK_MAX; i++) {
			o = &d->o[i];
			if (!(o->flags & EVP_HELLO_F_REPLAY))
				continue;
			memset(&a, 0, sizeof(a));
			a.sender = o->id;
			a.committed = o->committed;
			a.want = o->applied + 1;
			if (o->nack)
				a.flags = EVP_ACK_F_RESEND;
			o->nack = 0;
			memcpy(msg + sizeof(h) + n++ * sizeof(a), &a,
			    sizeof(a));
		}
		h.count = (uint16_t)n;
		memcpy(msg, &h, sizeof(h));
		/* PUB never blocks: a subscriber too slow loses acks and
		 * takes the next ones. */
		if (nn_send(d->pub, msg, sizeof(h) + n * sizeof(a),
		    NN_DONTWAIT) >= 0)
			d->c[DC_ACKS_SENT]++;
	} while (i < d->n);
}

/* A snapshot is back: acknowledged if its rows went in. */
static void
taken(struct delivery *d, struct dlv_snap *sn, int committed)
{
	struct dlv_origin *o;
	unsigned i, j;

	sn->busy = 0;
	sn->hand_seq = 0;
	if (!committed) {
		d->c[DC_PERSIST_ERRORS] += sn->n;
		/* Persisted next time: the numbers are still in memory. */
		for (i = 0; i < d->n; i++)
			d->o[i].dirty = 1;
		return;
	}
	d->c[DC_COMMITS]++;
	for (i = 0; i < sn->n; i++)
		for (j = 0; j < d->n; j++) {
			o = &d->o[j];
			if (o->id == sn->e[i].id) {
				if (sn->e[i].committed > o->committed)
					o->committed = sn->e[i].committed;
				break;
			}
		}
	publish(d);
	d->next_pub = clock_mono_usec() + DLV_PUBLISH_USEC;
}

void
delivery_handed(struct delivery *d, struct dlv_snap *sn, uint64_t seq)
{
	/* sn->ok is the writer thread's from here (reset before the
	 * hand: it may have written it already). */
	if (seq != 0)
		sn->hand_seq = seq;
	else
		taken(d, sn, 0);
}

void
delivery_committed(struct delivery *d, uint64_t seq)
{
	struct dlv_snap *a = &d->snap[0], *b = &d->snap[1], *t;

	/* Oldest first, so acks only move forward. */
	if (b->busy && (!a->busy || b->hand_seq < a->hand_seq)) {
		t = a;
		a = b;
		b = t;
	}
	if (a->busy && a->hand_seq != 0 && a->hand_seq <= seq)
		taken(d, a, a->ok);
	if (b->busy && b->hand_seq != 0 && b->hand_seq <= seq)
		taken(d, b, b->ok);
}

uint64_t
delivery_tick(struct delivery *d, uint64_t now)
{
	if (now >= d->next_pub) {
		publish(d);
		d->next_pub = now + DLV_PUBLISH_USEC;
	}
	return d->next_pub;
}

void
delivery_json(const struct delivery *d, struct buf *b)
{
	const struct dlv_origin *o;
	unsigned i;

	buf_puts(b, ", \"delivery\": {\"endpoint\": ");
	buf_json_str(b, d->endpoint);
	buf_printf(b, ", \"epoch\": \"%016llx\", \"counters\": {",
	    (unsigned long long)d->epoch);
	for (i = 0; i < DC_MAX; i++)
		buf_printf(b, "%s\"%s\": %llu", i ? ", " : "",
		    dlv_counter_names[i], (unsigned long long)d->c[i]);
	buf_puts(b, "}, \"origins\": [");
	for (i = 0; i < d->n; i++) {
		o = &d->o[i];
		buf_printf(b, "%s{\"sender\": \"%016llx\", \"applied\": %llu, "
		    "\"committed\": %llu, \"lost\": %llu, \"duplicates\": "
		    "%llu, \"refused\": %llu, \"replay\": %s}", i ? ", " : "",
		    (unsigned long long)o->id,
		    (unsigned long long)o->applied,
		    (unsigned long long)o->committed,
		    (unsigned long long)o->lost,
		    (unsigned long long)o->duplicates,
		    (unsigned long long)o->refused,
		    o->flags & EVP_HELLO_F_REPLAY ? "true" : "false");
	}
	buf_puts(b, "]}");
}
