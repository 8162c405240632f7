/*
 * The store's side of at-least-once delivery (docs/design.md,
 * "Delivery"): which records of which origin (a collector or capture:
 * the sender that first numbered them) the store has applied, which
 * are committed, what never arrived, and the acknowledgements.
 *
 * Every tracked record has an origin (sender id, sequence): named by
 * the router's EVP_ORIGIN records, or the link sender itself when its
 * hello says it keeps a replay buffer.  Records are applied strictly
 * in sequence per origin:
 *   - below the next expected: a replay of what was applied: skipped
 *     (counted as duplicates, not as received);
 *   - beyond it, while the sender still holds the missing ones (its
 *     held_from) and the router did not count them dropped
 *     (skip_from): refused (counted), and the next ack asks the sender
 *     to resend from the expected one;
 *   - beyond it, the missing ones gone for good: counted lost (per
 *     origin, persisted), then applied.
 *
 * Committed: a flow record's effect is on a row when the flow's row is
 * handed to the writer after it; the loop hands the oldest dirty flows
 * first, so when a commit is handed, every record that arrived before
 * the oldest flow still dirty is in it.  Each origin keeps a short
 * history of (arrival time, sequence) samples; at a commit the
 * newest sample older than the oldest dirty change gives the origin's
 * committed sequence.  Those numbers go in a snapshot the writer
 * thread writes into the delivery table in the same transaction, just
 * before the COMMIT; only when the loop takes the batch back committed
 * are they acknowledged (store -> senders on a nanomsg PUB socket),
 * and a restarted store starts from them.
 *
 * The loop's thread owns everything here but the snapshot it handed;
 * the writer thread reads only that snapshot (delivery_persist).
 */
#ifndef EVFLOW_STORE_DELIVERY_H
#define EVFLOW_STORE_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/nnlink.h"
#include "../proto/evflow.h"

#define DLV_SAMPLES		128	/* arrival samples per origin */
#define DLV_PUBLISH_USEC	1000000	/* acks republished at least */
#define DLV_NACK_USEC		100000	/* a refusal is told this soon */

struct dlv_sample {
	uint32_t	 ms;		/* monotonic ms (wrapping) */
	uint32_t	 pad;
	uint64_t	 seq;		/* records up to it arrived by then */
};

struct dlv_origin {
	uint64_t	 id;		/* the origin's sender id */
	uint64_t	 applied;	/* highest sequence applied */
	uint64_t	 committed;	/* acknowledged: in the database */
	uint64_t	 lost;		/* never arrived, all lives */
	uint64_t	 duplicates;	/* replays skipped, all lives */
	uint64_t	 refused;	/* out of order, this life */
	double		 last_seen;	/* wall, unix seconds */
	uint32_t	 flags;		/* the origin's EVP_HELLO_F_* */
	int		 nack;		/* refused since the last ack */
	int		 dirty;		/* lost/duplicates to persist */
	unsigned	 shead, sn;	/* samples: oldest, how many */
	struct dlv_sample s[DLV_SAMPLES];
};

/* What a commit persists: numbers copied, never pointers. */
struct dlv_snap_ent {
	uint64_t	 id, committed, lost, duplicates;
	double		 last_seen;
};
struct dlv_snap {
	unsigned	 n;
	int		 busy;		/* handed to the writer */
	uint64_t	 hand_seq;	/* writer_hand_mark()'s number */
	int		 ok;		/* the writer thread wrote it */
	struct dlv_snap_ent *e;	/* max origins */
};

/* The store's delivery counters (in its stats as delivery_*). */
enum dlv_counter {
	DC_LOST,		/* records that never arrived, all lives */
	DC_DUPLICATES,		/* replays skipped, all lives */
	DC_REFUSED,		/* out of order: left for the replay */
	DC_ORIGINS,		/* origins tracked (gauge) */
	DC_EVICTED,		/* origins forgotten for delivery.max_origins */
	DC_BAD_ORIGINS,		/* malformed EVP_ORIGIN records */
	DC_ACKS_SENT,		/* ack messages published */
	DC_COMMITS,		/* commits that carried sequences */
	DC_PERSIST_ERRORS,	/* sequences that failed to persist */
	DC_MAX
};
extern const char *const dlv_counter_names[DC_MAX];

struct sink;
struct sqlite3_stmt;
struct delivery {
	struct dlv_origin *o;		/* n used of max */
	unsigned	 n, max;
	uint64_t	 epoch;		/* random per process */
	int		 pub;		/* PUB socket, -1 = none */
	uint32_t	 spacing_ms;	/* between arrival samples */
	/* the origin of the records that follow in the current batch */
	uint64_t	 cur_link, cur_batch;
	int		 cur;		/* index in o[], -1 = own records */
	uint64_t	 cur_seq, cur_skip, cur_held;
	struct dlv_snap	 snap[2];
	uint64_t	 next_pub;	/* monotonic */
	uint64_t	 retired_lost, retired_dups;	/* evicted rows */
	struct sqlite3_stmt *upsert;	/* on the sink's connection */
	uint64_t	 c[DC_MAX];
	char		 endpoint[CONF_STR_LEN + 16];
};

/* Creates the delivery table if missing, loads the origins (the most
 * recent `max`; older rows are folded into one row of totals), and
 * binds the ack socket at `endpoint` (nnlink_bind_check rules with
 * `trusted`).
 * `settle_usec` is how long a change waits before it is written.
 * NULL with err. */
struct delivery *delivery_open(struct sink *, const char *, int, unsigned,
	    uint64_t, char *, size_t);
/* Before the sink closes. */
void	delivery_close(struct delivery *);
/* An EVP_ORIGIN record of link sender `s`: names the next records'
 * origin.  0, or -1 if malformed (counted). */
int	delivery_origin(struct delivery *, const struct link_sender *,
	    const void *, size_t);
/* Whether the store applies a record arriving at monotonic `now`: 1
 * apply, 0 skip (a duplicate or refused; counted). */
int	delivery_record(struct delivery *, const struct link_sender *,
	    const struct evp_rec_hdr *, uint64_t);
/* The sequences committed once every change made before monotonic
 * `clean` is (UINT64_MAX: everything applied), for a commit to carry;
 * NULL if none changed or no snapshot is free. */
struct dlv_snap *delivery_snapshot(struct delivery *, uint64_t);
/* The snapshot went with the writer's batch `seq` (0: it did not). */
void	delivery_handed(struct delivery *, struct dlv_snap *, uint64_t);
/* Writer thread, in the commit's transaction (writer_set_hook). */
int	delivery_persist(void *, struct sink *, void *);
/* The writer committed every batch up to `seq` (writer_stats): the
 * snapshots they carried are acknowledged. */
void	delivery_committed(struct delivery *, uint64_t);
/* Publishes acks when due; returns the next monotonic deadline. */
uint64_t delivery_tick(struct delivery *, uint64_t);
/* `"delivery": {...}` counters and the origins, for the stats frame. */
void	delivery_json(const struct delivery *, struct buf *);

#endif
