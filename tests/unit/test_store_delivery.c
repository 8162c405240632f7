/*
 * store/delivery.c on a real SQLite file and a real nanomsg PUB socket:
 * each origin's records applied in sequence (a replay skipped, a record
 * past a gap the sender still holds refused, a gap gone for good
 * counted), the router's origin records and its counted drops, and the
 * committed sequences persisted and loaded by the next store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "store/delivery.h"
#include "store/store.h"
#include "t.h"

static char dir[64], dbpath[128], ep[128];

/* One record of link sender `s` with sequence `seq`: 1 applied. */
static int
rec(struct delivery *d, struct link_sender *s, uint64_t seq)
{
	struct evp_rec_hdr h;

	memset(&h, 0, sizeof(h));
	h.type = EVP_FLOW;
	h.version = EVP_VERSION;
	h.seq = seq;
	return delivery_record(d, s, &h, clock_mono_usec());
}

/* Commits snapshot `sn` as the writer would: its rows in a transaction,
 * then the writer's batch number reported committed. */
static void
commit(struct delivery *d, struct sink *k, struct dlv_snap *sn)
{
	CHECK(sn != NULL);
	if (sn == NULL)
		return;
	CHECK(delivery_persist(d, k, sn) == 0);
	CHECK(sink_commit(k) == 0);
	delivery_handed(d, sn, 1);
	delivery_committed(d, 1);
}

static const struct dlv_origin *
origin(const struct delivery *d, uint64_t id)
{
	unsigned i;

	for (i = 0; i < d->n; i++)
		if (d->o[i].id == id)
			return &d->o[i];
	return NULL;
}

static void
test_sequence(void)
{
	struct link_sender col, router;
	struct evp_origin org;
	struct delivery *d;
	struct sink *k;
	char err[256];

	k = sink_open(dbpath, 0, 0, SINK_SCHEMA_VERSION, err, sizeof(err));
	CHECK(k != NULL);
	d = delivery_open(k, ep, 0, 16, 500000, err, sizeof(err));
	CHECK(d != NULL);
	if (k == NULL || d == NULL)
		return;

	/* A collector straight to the store, promising replay. */
	memset(&col, 0, sizeof(col));
	col.id = 42;
	col.batches = 1;
	col.hello.flags = EVP_HELLO_F_REPLAY;
	col.hello.held_from = 1;
	CHECK(rec(d, &col, 1) == 1);
	CHECK(rec(d, &col, 2) == 1);
	CHECK(rec(d, &col, 2) == 0);		/* a replay: skipped */
	CHECK_EQ_U(d->c[DC_DUPLICATES], 1);
	CHECK(rec(d, &col, 5) == 0);		/* 3, 4 still held: refused */
	CHECK_EQ_U(d->c[DC_REFUSED], 1);
	CHECK_EQ_U(d->c[DC_LOST], 0);
	col.hello.held_from = 5;		/* the sender lost 3 and 4 */
	CHECK(rec(d, &col, 5) == 1);
	CHECK_EQ_U(d->c[DC_LOST], 2);
	CHECK_EQ_U(origin(d, 42)->applied, 5);

	/* Through the router: an origin record names the next records;
	 * 8 and 9 were dropped by the router (counted there). */
	memset(&router, 0, sizeof(router));
	router.id = 99;
	router.batches = 1;
	memset(&org, 0, sizeof(org));
	org.sender = 7;
	org.seq = 10;
	org.skip_from = 10;
	org.held_from = 1;
	org.flags = EVP_HELLO_F_REPLAY;
	CHECK(delivery_origin(d, &router, &org, sizeof(org)) == 0);
	CHECK(rec(d, &router, 1000) == 0);	/* 1..9 held: refused */
	router.batches++;
	org.seq = 10;
	org.skip_from = 8;
	org.held_from = 8;
	CHECK(delivery_origin(d, &router, &org, sizeof(org)) == 0);
	/* Never applied before, and the sender no longer holds 1..7:
	 * not this store's to count (it never had them); 8..9 the
	 * router's: not counted again. */
	CHECK(rec(d, &router, 1000) == 1);
	CHECK(rec(d, &router, 1001) == 1);	/* implied sequence 11 */
	CHECK_EQ_U(origin(d, 7)->applied, 11);
	CHECK_EQ_U(d->c[DC_LOST], 2);
	/* Back to the router's own records: untracked. */
	memset(&org, 0, sizeof(org));
	CHECK(delivery_origin(d, &router, &org, sizeof(org)) == 0);
	CHECK(rec(d, &router, 1002) == 1);
	CHECK_EQ_U(origin(d, 7)->applied, 11);
	/* A malformed origin: the rest of the batch is refused. */
	org.sender = 7;
	org.seq = 12;
	org.skip_from = 13;
	CHECK(delivery_origin(d, &router, &org, sizeof(org)) == -1);
	CHECK(rec(d, &router, 1003) == 0);
	CHECK_EQ_U(d->c[DC_BAD_ORIGINS], 1);

	/* Everything applied is committed: persisted, then acknowledged. */
	commit(d, k, delivery_snapshot(d, UINT64_MAX));
	CHECK_EQ_U(origin(d, 42)->committed, 5);
	CHECK_EQ_U(origin(d, 7)->committed, 11);
	CHECK(delivery_snapshot(d, UINT64_MAX) == NULL);	/* no change */
	delivery_close(d);

	/* The next store starts from the committed sequences and the
	 * counts of every life. */
	d = delivery_open(k, ep, 0, 16, 500000, err, sizeof(err));
	CHECK(d != NULL);
	if (d != NULL) {
		CHECK_EQ_U(d->c[DC_LOST], 2);
		CHECK_EQ_U(d->c[DC_DUPLICATES], 1);
		col.batches++;
		CHECK(rec(d, &col, 5) == 0);	/* committed before: skipped */
		CHECK(rec(d, &col, 6) == 1);
		delivery_close(d);
	}
	sink_close(k);
}

int
main(void)
{
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/evflow-dlv.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(dbpath, sizeof(dbpath), "%s/evflow.db", dir);
	snprintf(ep, sizeof(ep), "ipc://%s/ack.ipc", dir);
	test_sequence();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
	return t_done("test_store_delivery");
}
