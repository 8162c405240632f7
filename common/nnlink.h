/*
 * Record streams between daemons over nanomsg PUSH/PULL.
 *
 * A link_out batches records (proto/evflow.h) into messages of up to
 * EVP_BATCH_MAX_RECORDS records; every message opens with the sender's
 * hello, so a receiver that restarts knows every sender from its next
 * message.  Sends block for at most `send_timeout_ms` (backpressure from
 * a slow receiver); records that still cannot be sent are counted as
 * dropped, never lost silently.
 *
 * A link_in receives messages, checks them, tracks each sender's record
 * sequence to count lost records, and hands each record to a callback.
 */
#ifndef EVFLOW_NNLINK_H
#define EVFLOW_NNLINK_H

#include <stddef.h>
#include <stdint.h>

#include "../proto/evflow.h"

#define LINK_FLUSH_USEC		20000	/* max age of a partial batch */
#define LINK_MAX_SENDERS	256

/* Opens a nanomsg socket of `proto` (NN_PUSH, NN_PULL, NN_REP, NN_REQ)
 * and binds or connects it to each comma-separated endpoint.  Returns
 * the socket or -1 with a reason in err. */
int	nnlink_socket(int, const char *, int, char *, size_t);
/* Returns the pollable fd of a nanomsg socket for POLLIN, or -1. */
int	nnlink_recv_fd(int);

struct link_out {
	int		 sock;
	uint64_t	 sender;
	uint64_t	 seq;		/* last sequence used */
	struct evp_hello hello;
	struct evp_batch batch;
	uint8_t		*buf;
	uint64_t	 first_usec;	/* monotonic time of oldest pending */
	int		 send_timeout_ms;
	/* counters */
	uint64_t	 records;	/* offered to link_out_put: always
					   sent + dropped + still pending */
	uint64_t	 sent;		/* records handed to nanomsg */
	uint64_t	 dropped;	/* records lost on send failure */
	uint64_t	 msgs;		/* messages sent */
};

/* Connects (bind = 0) or binds to `endpoint`.  NULL with err on error. */
struct link_out *link_out_new(const char *, int, unsigned, const char *,
	    const char *, int, char *, size_t);
void	link_out_free(struct link_out *);
/* Queues one record; flushes first if the batch is full.  0 or -1. */
int	link_out_put(struct link_out *, uint16_t, const void *, size_t);
/* Sends the pending batch, if any.  0, or -1 if it was dropped. */
int	link_out_flush(struct link_out *);
/* Monotonic deadline of the pending batch, or UINT64_MAX. */
uint64_t link_out_deadline(const struct link_out *);

struct link_sender {
	uint64_t	 id;
	uint64_t	 next_seq;	/* expected */
	uint64_t	 last_usec;	/* monotonic, last message */
	uint64_t	 records;
	uint64_t	 lost;
	struct evp_hello hello;
};

/* Called for every valid non-hello record.  `body` is borrowed. */
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
};

struct link_in *link_in_new(const char *, int, link_in_cb, void *, char *,
	    size_t);
void	link_in_free(struct link_in *);
/* Receives and dispatches up to `max` messages without blocking.
 * Returns the number handled, or -1 on a socket error. */
int	link_in_poll(struct link_in *, int);
/* Dispatches one message held in memory (used by tests and fuzzing). */
void	link_in_dispatch(struct link_in *, const void *, size_t);

#endif
