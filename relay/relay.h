/*
 * evflow-relay: carries record batches between hosts, encrypted and
 * authenticated, for the edge/central split (docs/scale-out.md).
 *
 *   edge      on each monitored host: takes the batches its collectors
 *             and captures send to router.ipc (it binds the router's
 *             endpoint; there is no local router or store) and pushes
 *             them, unchanged, over ZMQ with CURVE to the central relay.
 *   central   next to the central router: a CURVE server that admits
 *             only the edge keys of its `relay.client` list, each bound
 *             to a host name; prefixes every sender's interface and
 *             daemon names with that host ("host1:eth0") and hands the
 *             batches to the router, which dispatches them as its own.
 *
 * The host name comes from the key that authenticated the connection,
 * never from the edge: an edge cannot speak for another host.
 *
 *   rewrite.c   the central's checks and renaming of a received batch
 *   acks.c      the central's table of edge origins and its split of
 *               the store's acknowledgements per edge
 *   edge.c      the edge loop: nanomsg PULL -> ZMQ PUSH (CURVE client)
 *   central.c   the central loop: ZMQ PULL (CURVE server, ZAP) -> nanomsg
 *   main.c      options, configuration, keys, the relay's own stats
 */
#ifndef EVFLOW_RELAY_H
#define EVFLOW_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/curve.h"
#include "common/nnlink.h"
#include "proto/evflow.h"

#define RELAY_HOST_MAX		24	/* bytes of a host name, NUL included */
#define RELAY_MAX_CLIENTS	CONF_LIST_MAX
#define RELAY_STATS_USEC	1000000	/* own stats, period */
#define RELAY_RETRY_USEC	50000	/* a refused send, retried */
#define RELAY_LINGER_MS		2000	/* ZMQ: at exit, to send what is queued */
#define RELAY_POLL_BATCH	64	/* messages per wake-up */
#define RELAY_ACK_BYTES		(sizeof(struct evp_ack_hdr) + \
				 EVP_ACK_MAX * sizeof(struct evp_ack))

enum relay_role { RELAY_EDGE = 1, RELAY_CENTRAL = 2 };

enum relay_counter {
	RLC_MSGS_IN,		/* batches received */
	RLC_RECORDS_IN,		/* records in them */
	RLC_MSGS_OUT,		/* batches handed on */
	RLC_RECORDS_OUT,
	RLC_BAD_MSGS,		/* central: malformed batch from an edge */
	RLC_NAMES_TOO_LONG,	/* central: host:name does not fit */
	RLC_NO_HOST,		/* central: a message with no known host */
	RLC_SEND_DROPPED,	/* records of batches dropped at exit */
	RLC_BLOCKED,		/* times the next hop refused a batch */
	RLC_HANDSHAKES,		/* CURVE handshakes that succeeded */
	RLC_HANDSHAKE_FAILURES,	/* refused: wrong server key, no CURVE */
	RLC_UNKNOWN_KEYS,	/* central: client key not in relay.client */
	RLC_DISCONNECTS,	/* edge: connection to the central lost */
	RLC_STATS_SENT,
	/* acknowledgements back across the hop (docs/scale-out.md) */
	RLC_ACKS_IN,		/* ack messages: central from the store,
				   edge from the central */
	RLC_ACKS_OUT,		/* central: sent to an edge; edge:
				   published on its ack endpoint */
	RLC_ACK_ENTRIES_OUT,	/* origins in those */
	RLC_ACKS_DROPPED,	/* not passed on: the edge gone or its
				   queue (relay.ack_hwm) full */
	RLC_BAD_ACKS,		/* malformed ack messages */
	RLC_ACK_UNKNOWN,	/* central: entries of an origin no edge
				   sent through this relay */
	RLC_ACK_EVICTED,	/* central: origins forgotten past
				   relay.ack_origins */
	RLC_ACK_CONFLICTS,	/* central: one origin id from two hosts
				   (its acks go to neither) */
	RLC_MAX
};

extern const char *const relay_counter_names[RLC_MAX];

/* One admitted edge (central): `relay.client = HOST PUBLICKEY`. */
struct relay_client {
	char		 host[RELAY_HOST_MAX];
	char		 public[CURVE_KEY_Z85];
	unsigned char	 key[32];
	uint64_t	 mix;		/* XORed into its sender ids (main.c) */
	uint64_t	 msgs, records;
	/* the ZMQ routing id of its latest connection: where its acks go
	 * (learned from its batches; rid_len 0 = none) */
	uint8_t		 rid[256];
	size_t		 rid_len;
	uint64_t	 acks;		/* ack messages sent to it */
};

/*
 * Central: the origins (senders) each edge sent batches from, by the
 * id the store knows them by (the edge's id XOR its host's mix), so an
 * ack goes back to the edge whose sender it names and to no other.
 * Bounded (relay.ack_origins); when full, the least recently seen
 * origin of the host holding the most is forgotten (learnt again from
 * its next batch), so one edge cannot push out another's.
 */
struct relay_origin {
	uint64_t	 id;		/* as the store knows it (mixed) */
	uint64_t	 last_usec;	/* monotonic, its last batch */
	int		 client;	/* index in clients; -1: two hosts */
};

struct relay_origins {
	struct relay_origin *o;
	unsigned	 n, max;
	uint64_t	 evicted;	/* forgotten: table full */
	uint64_t	 conflicts;	/* an id from a second host */
};

/* What relay_ack_split() found in one ack message. */
struct relay_ack_count {
	unsigned	 entries;	/* for some edge */
	unsigned	 unknown;	/* of origins of no edge */
};

struct relay_conf {
	char		 datadir[CONF_STR_LEN];
	char		 name[EVP_NAME_LEN];
	char		 router_endpoint[CONF_STR_LEN];
	long long	 log_level;
	char		 role[16];		/* edge | central */
	char		 upstream[CONF_STR_LEN];	/* edge: connect */
	char		 server_key[CONF_STR_LEN];	/* edge: central's key */
	char		 listen[CONF_STR_LEN];	/* central: bind */
	struct conf_list client;		/* central: HOST KEY */
	char		 secret_key_file[CONF_STR_LEN];
	long long	 hwm;			/* messages ZMQ queues */
	long long	 ack_hwm;		/* ack messages ZMQ queues */
	long long	 ack_origins;		/* central: origins kept */
	struct link_conf link;
};

struct relay {
	struct relay_conf conf;
	enum relay_role	 role;
	void		*zctx;
	void		*zsock;		/* edge: DEALER; central: ROUTER */
	void		*zap;		/* central: the ZAP handler (REP) */
	void		*mon;		/* PAIR on zsock's monitor */
	int		 nn;		/* edge: PULL in; central: PUSH out */
	int		 ack;		/* edge: PUB of the acks to its senders;
					   central: SUB to the store's */
	struct relay_origins origins;	/* central */
	uint8_t		*ackbuf;	/* central: nclients x RELAY_ACK_BYTES */
	size_t		*acklen;
	struct ctl	*ctl;		/* borrowed from the skeleton */
	char		 public[CURVE_KEY_Z85];
	char		 secret[CURVE_KEY_Z85];
	unsigned	 nclients;
	struct relay_client clients[RELAY_MAX_CLIENTS];
	/* a batch the next hop did not take yet (never more than one:
	 * input is not read while it waits) */
	uint8_t		*pend;
	size_t		 pend_len, pend_cap;
	unsigned	 pend_records;
	uint64_t	 next_retry;	/* monotonic */
	int		 up;		/* edge: a connection is established */
	uint64_t	 down_since;	/* wall usec, 0 while up */
	/* the relay's own records: its hello and stats */
	uint64_t	 sender, seq;
	uint8_t		*own;
	uint64_t	 ctr[RLC_MAX];
};

/* rewrite.c */
/* Why a batch was refused by relay_rewrite(). */
enum rewrite_err { RW_OK = 0, RW_MALFORMED, RW_TOO_LONG };
/*
 * Checks a batch received from host `host` and renames it in place:
 * the sender id XOR `mix` (one host cannot pose as another's sender),
 * each hello's interface and name and each stats record's name become
 * "host:...".  An empty interface stays empty.  Returns the number of
 * records other than hellos (as link_in counts them), or -1 with *why set (nothing is half-renamed that matters:
 * the caller drops the batch).
 */
int	relay_rewrite(uint8_t *, size_t, const char *, uint64_t,
	    enum rewrite_err *);
/* Records other than hellos in a well-formed batch, or -1. */
int	relay_batch_records(const void *, size_t);
/* 0 if `h` is a host name: 1-23 letters, digits, '.', '_', '-'. */
int	relay_host_check(const char *);

/* acks.c */
/* 0, or -1 (out of memory).  relay_origins_free() frees what it made. */
int	relay_origins_init(struct relay_origins *, unsigned);
void	relay_origins_free(struct relay_origins *);
/*
 * Notes that the edge of index `client` sent a batch as `id` (mixed)
 * at `now`.  Returns 1 if that id was first seen from another host (a
 * conflict: its acks go to neither from now on), else 0.
 */
int	relay_origin_note(struct relay_origins *, uint64_t, int, uint64_t);
/* The client index of origin `id`, or -1 (not an edge's, or two). */
int	relay_origin_client(const struct relay_origins *, uint64_t);
/*
 * Splits a store's ack message (`len` bytes, from the network of the
 * central host: checked) per edge.  For each of the `n` clients,
 * out + i * RELAY_ACK_BYTES gets an ack message with the store's epoch
 * and the entries of that client's origins, their sender ids unmixed
 * (XOR its mix) as the edge knows them; outlen[i] its length.  No
 * entry of one client's origin ever goes into another's message.
 * Returns 0 and *cnt, or -1 if the message is malformed (epoch 0
 * included: senders take it for none).
 */
int	relay_ack_split(const struct relay_origins *,
	    const struct relay_client *, unsigned, const void *, size_t,
	    uint8_t *, size_t *, struct relay_ack_count *);
/* An ack message from the central, as an edge checks it before its
 * senders see it: 0 if well-formed with an epoch, else -1. */
int	relay_ack_check(const void *, size_t);

/* edge.c, central.c: set up, then run until SIGTERM. */
void	edge_setup(struct relay *);
void	edge_loop(struct relay *);
void	central_setup(struct relay *);
void	central_loop(struct relay *);

/* main.c: the relay's own hello + stats batch in r->own; its length. */
size_t	relay_own_batch(struct relay *);
/* Reads the handshake events of r->mon (both roles count them). */
void	relay_monitor_read(struct relay *);
/* Opens a monitor on r->zsock for handshake events. */
void	relay_monitor_open(struct relay *, const char *);

#endif
