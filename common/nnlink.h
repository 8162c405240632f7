/*
 * Record streams between daemons over nanomsg PUSH/PULL.
 *
 * A link_out batches records (proto/evflow.h) into messages of up to
 * EVP_BATCH_MAX_RECORDS records; every message opens with the sender's
 * hello, so a receiver that restarts knows every sender from its next
 * message.  Sends never block the caller's loop: a batch nanomsg does
 * not take at once (the peer is down, stopped or slow) waits in the
 * link's queue of at most `link_queue` bytes, retried every
 * LINK_RETRY_USEC, and the link is "peer down" from then until the
 * queue is empty again.  A batch that does not fit in the queue is
 * dropped and counted, never lost silently.
 *
 * Bounds (struct link_conf, set once per process by nnlink_configure()
 * from the keys of LINK_CONF_DIRECTIVES): every socket refuses a message
 * over its receive bound (nanomsg drops the connection that sent it,
 * seen as NN_STAT_BROKEN_CONNECTIONS); a tcp:// or ws:// bind to
 * anything but a loopback address is refused unless
 * link_trusted_network is set: the links carry no authentication.
 *
 * A link_in receives messages, checks them, tracks each sender's record
 * sequence to count lost records, and hands each record to a callback.
 */
#ifndef EVFLOW_NNLINK_H
#define EVFLOW_NNLINK_H

#include <stddef.h>
#include <stdint.h>

#include "../proto/evflow.h"
#include "buf.h"
#include "config.h"

#define LINK_FLUSH_USEC		20000	/* max age of a partial batch */
#define LINK_RETRY_USEC		50000	/* queued batches retried */
#define LINK_CONNECT_USEC	1000000	/* start-up: no peer-down warning */
#define LINK_DRAIN_USEC		200000	/* after the last send, before close:
					   nanomsg drops what it still holds */
#define LINK_MAX_SENDERS	256
#define LINK_MAX_REGISTERED	8	/* links shown in the stats frame */

#define LINK_ACK_POLL_USEC	100000	/* acks read while records wait */
#define LINK_ACK_BACKOFF_MAX	60	/* seconds between resends, at most */
#define LINK_NACK_USEC		1000000	/* resends asked by the store, at
					   most one per this */

/* Per-process link settings (defaults in LINK_CONF_DIRECTIVES). */
struct link_conf {
	long long	 max_message;	/* bytes a link_in accepts */
	long long	 queue_bytes;	/* bytes a link_out holds, peer down */
	int		 trusted_network; /* non-loopback tcp:// binds */
	long long	 replay_bytes;	/* bytes a sender holds unacked */
	long long	 ack_timeout;	/* seconds without ack progress */
	char		 ack_endpoint[CONF_STR_LEN]; /* "" = default */
};

/* The rows of a daemon's configuration table for a struct link_conf
 * member `m` of its settings struct `type`; LINK_CONF_DIRECTIVES_Q with
 * the default of link_queue (the router's is larger: it is the one
 * buffer between every sender and a store that stalls). */
#define LINK_CONF_DIRECTIVES(type, m)					\
	LINK_CONF_DIRECTIVES_Q(type, m, "4M")
#define LINK_CONF_DIRECTIVES_Q(type, m, queue_default)			\
	{ "link_max_message", CONF_BYTES,				\
	  offsetof(type, m.max_message), 0, "1M", EVP_BATCH_MAX_BYTES,	\
	  1LL << 30, "largest nanomsg message a record input accepts; "	\
	  "a larger one drops its connection (counted)" },		\
	{ "link_queue", CONF_BYTES, offsetof(type, m.queue_bytes), 0,	\
	  queue_default, 0, 1LL << 32, "batches a sender keeps while its "	\
	  "peer is down; beyond, batches are dropped (counted)" },	\
	{ "link_trusted_network", CONF_BOOL,				\
	  offsetof(type, m.trusted_network), 0, "no", 0, 0,		\
	  "allow binding record inputs to non-loopback tcp:// addresses "	\
	  "(the links are unauthenticated: trusted networks only)" },	\
	{ "link_replay", CONF_BYTES, offsetof(type, m.replay_bytes), 0,	\
	  "128M", 0, 1LL << 36, "records a collector or capture keeps "	\
	  "until the store acknowledges them committed, to resend after "	\
	  "a crash; past it new records are dropped (counted); 0 = off" },	\
	{ "link_ack_timeout", CONF_SECONDS, offsetof(type, m.ack_timeout),	\
	  0, "10s", 1, 3600, "a sender resends what is not acknowledged "	\
	  "after this long without progress (doubling up to 60s)" },	\
	{ "link_ack_endpoint", CONF_STR, offsetof(type, m.ack_endpoint),	\
	  CONF_STR_LEN, NULL, 0, 0, "the store's acknowledgements: bound "	\
	  "by the store, subscribed by senders (default "		\
	  "ipc://<datadir>/ack.ipc)" }

/* Sets the bounds of every link made after it (the defaults until
 * then).  Borrowed values are copied.  `datadir` gives the default
 * ack endpoint (ipc://<datadir>/ack.ipc); -1 if it is too long. */
int	nnlink_configure(const struct link_conf *, const char *);
/* The ack endpoint in use (after nnlink_configure). */
const char *nnlink_ack_endpoint(void);
/* 0 if binding `endpoint` is allowed: not tcp:// or ws://, or to a
 * loopback address (127/8, ::1, localhost), or `trusted`.  -1 with the
 * reason in err. */
int	nnlink_bind_check(const char *, int, char *, size_t);
/* Opens a nanomsg socket of `proto` (NN_PUSH, NN_PULL, NN_REP, NN_REQ)
 * receiving messages of at most `maxrecv` bytes, and binds (after
 * nnlink_bind_check with `trusted`) or connects it to each
 * comma-separated endpoint.  Returns the socket or -1 with a reason. */
int	nnlink_socket(int, const char *, int, int, int, char *, size_t);
/* Appends `, "links": [...]`: each live link's state and counters. */
void	nnlink_stats_json(struct buf *);
/* Returns the pollable fd of a nanomsg socket for POLLIN, or -1. */
int	nnlink_recv_fd(int);
/* The same for POLLIN when a message can be sent (a sender waiting for
 * its peer to take queued batches), or -1. */
int	nnlink_send_fd(int);

struct link_qmsg;

struct link_out {
	int		 sock;
	uint64_t	 sender;
	uint64_t	 seq;		/* last sequence used */
	struct evp_hello hello;
	struct evp_batch batch;
	unsigned	 batch_meta;	/* EVP_ORIGIN records in it */
	uint8_t		*buf;
	uint64_t	 first_usec;	/* monotonic time of oldest pending */
	int		 send_timeout_ms; /* only at link_out_free */
	char		 endpoint[128];
	/* Batches kept, oldest first: from qhead to qsend those sent and
	 * not acknowledged yet (replay on), from qsend on those nanomsg
	 * did not take yet.  qbytes/qmsgs/qrecords count the unsent;
	 * rbytes/rrecords all of them. */
	struct link_qmsg *qhead, *qsend, *qtail;
	size_t		 qbytes, qmax;
	unsigned	 qmsgs;
	uint64_t	 qrecords;
	/* replay (link_out_acks): records kept until acknowledged */
	int		 ack_sock;	/* SUB, -1 = replay off */
	size_t		 rbytes, rmax;
	uint64_t	 rrecords;
	uint64_t	 epoch;		/* the store's, 0 = no ack seen yet */
	uint64_t	 acked;		/* records up to it are committed */
	uint64_t	 ack_usec;	/* monotonic: last progress or resend */
	uint64_t	 nack_usec;	/* monotonic: last resend asked for */
	unsigned	 backoff;	/* resends without progress */
	int		 hold;		/* link_out_hold(): records leave only
					   up to `released` */
	uint64_t	 released;
	uint64_t	 next_retry;	/* monotonic */
	uint64_t	 down_since;	/* wall usec; 0 while the peer is up */
	uint64_t	 created_usec;	/* monotonic */
	uint64_t	 last_send_usec; /* monotonic, last batch nanomsg took */
	/* counters */
	uint64_t	 records;	/* offered to link_out_put: always
					   sent + dropped + still pending */
	uint64_t	 sent;		/* records handed to nanomsg */
	uint64_t	 dropped;	/* records lost (queue full, too big) */
	uint64_t	 queue_dropped;	/* of those, batches over the queue */
	uint64_t	 msgs;		/* messages sent */
	uint64_t	 down_events;	/* times the peer went down */
	uint64_t	 replayed;	/* records sent again */
	uint64_t	 replay_dropped; /* records refused: replay full (in
					   dropped too; never numbered) */
	uint64_t	 replay_evicted; /* records forgotten unacknowledged
					   while no store acknowledges */
	uint64_t	 acked_records;	/* records acknowledged committed */
	uint64_t	 resends;	/* times it went back to resend */
	uint64_t	 store_restarts; /* ack epochs seen after the first */
	uint64_t	 bad_acks;	/* malformed ack messages */
};

/* Connects (bind = 0) or binds to `endpoint`.  NULL with err on error.
 * `send_timeout_ms` bounds only the last attempt at link_out_free. */
struct link_out *link_out_new(const char *, int, unsigned, const char *,
	    const char *, int, char *, size_t);
void	link_out_free(struct link_out *);
/* Queues one record; flushes first if the batch is full.  0 or -1. */
int	link_out_put(struct link_out *, uint16_t, const void *, size_t);
/* The same with a record already in its wire form (a flow a forwarder
 * checked with evp_flow_check): copied as it is. */
int	link_out_put_wire(struct link_out *, uint16_t, const void *, size_t);
/* Adds an EVP_ORIGIN record (not numbered, not counted) naming the
 * origin of the next records put (router).  0 or -1. */
int	link_out_put_origin(struct link_out *, const struct evp_origin *);
/* Sends the queued batches and the pending one without blocking; what
 * nanomsg does not take is queued.  0, or -1 if a batch was dropped. */
int	link_out_flush(struct link_out *);
/* Keeps every record until the store acknowledges it (link_replay
 * bytes) and subscribes to the acks at nnlink_ack_endpoint(); acks are
 * read and resends made by link_out_flush().  0, or -1 with err. */
int	link_out_acks(struct link_out *, char *, size_t);
/*
 * A sender that must note what it numbered before any of it leaves
 * (the collector's state file): with hold on (replay on only), batches
 * are kept back until link_out_release() lets out every record numbered
 * so far.  link_out_resume() continues the sequence of an earlier run
 * of this sender (its id and last sequence), before anything is put.
 */
void	link_out_hold(struct link_out *, int);
void	link_out_release(struct link_out *);
void	link_out_resume(struct link_out *, uint64_t, uint64_t);
/* At exit: sends what is queued and waits up to `ms` for the store to
 * acknowledge every record sent (replay on; else returns at once). */
void	link_out_wait_acks(struct link_out *, int);
/* Reads the acks that arrived (link_out_flush does it too). */
void	link_out_poll_acks(struct link_out *);
/* 1 while the replay buffer (a store acknowledging) has less than two
 * batches of room: a sender that can wait for input (the collector
 * stops reading its producers) waits instead of dropping. */
int	link_out_full(const struct link_out *);
/* The same with `room` bytes of room wanted beyond the pending batch
 * (a sender that puts many records between two checks). */
int	link_out_full_for(const struct link_out *, size_t);
/* 1 while the peer does not take batches (since o->down_since). */
int	link_out_down(const struct link_out *);
/* Monotonic deadline of the pending batch or of the next retry of the
 * queue, or UINT64_MAX. */
uint64_t link_out_deadline(const struct link_out *);

struct link_sender {
	uint64_t	 id;
	uint64_t	 next_seq;	/* expected */
	uint64_t	 last_usec;	/* monotonic, last message */
	uint64_t	 records;
	uint64_t	 lost;
	uint64_t	 batches;	/* messages received from it */
	struct evp_hello hello;
};

/* Called for every valid non-hello record.  `body` is borrowed.
 * s->batches tells records of one message from the next. */
typedef void (*link_in_cb)(void *, const struct link_sender *,
	    const struct evp_rec_hdr *, const void *);

struct link_in {
	int		 sock;
	link_in_cb	 cb;
	void		*arg;
	unsigned	 nsenders;
	struct link_sender senders[LINK_MAX_SENDERS];
	/* counters */
	uint64_t	 msgs;
	uint64_t	 records;
	uint64_t	 bad_msgs;	/* malformed batches */
	uint64_t	 lost;		/* sequence gaps, all senders */
	uint64_t	 no_hello;	/* batches without a leading hello */
	char		 endpoint[128];
};

struct link_in *link_in_new(const char *, int, link_in_cb, void *, char *,
	    size_t);
void	link_in_free(struct link_in *);
/* Connections nanomsg dropped: over link_max_message, or broken. */
uint64_t link_in_refused(const struct link_in *);
/* Receives and dispatches up to `max` messages without blocking.
 * Returns the number handled, or -1 on a socket error. */
int	link_in_poll(struct link_in *, int);
/* Dispatches one message held in memory (used by tests and fuzzing). */
void	link_in_dispatch(struct link_in *, const void *, size_t);

#endif
