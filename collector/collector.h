/*
 * evflow-collector: ZMQ (ntopng wire format) -> evflow records.
 *
 *   zmq_frame.c   header layouts and payload decoding (zlib, TLV, JSON)
 *   event_json.c  JSON objects of topic `flow`, every dialect -> records
 *   event_topics.c  the `counter`, `listening-ports` and `event` topics
 *   json_text.c   bounded UTF-8 copies, a bounded JSON writer, getters
 *   tlv.c         nDPI serializer TLV payloads -> the same JSON objects
 *   producers.c   per-producer msg_id loss accounting
 *   ingest.c      one ZMQ message (its frames) -> counters and records
 *   zmq_sock.c    the SUB socket: endpoints, options, CURVE, receiving
 * main.c owns the options, the configuration and the loop.
 *
 * Counting units (the identities hold at every instant):
 *   messages: msgs_received = msgs_decoded + msgs_ignored + sum(drop_msg_*)
 *   events:   events_received = events_forwarded + sum(drop_ev_*)
 * An "event" is one JSON object of a decoded payload (an array counts
 * each element).  A forwarded event may yield several records (a
 * listening-ports object gives one record per socket); records are
 * counted by the output link (records_queued, records_send_dropped).
 */
#ifndef EVFLOW_COLLECTOR_H
#define EVFLOW_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include <zlib.h>
#include <zmq.h>

#include "common/curve.h"
#include "proto/evflow.h"

/* Counter indexes; names in collector_counter_names[] (ingest.c). */
enum col_counter {
	C_MSGS_RECEIVED,	/* ZMQ messages (all frames of one) */
	C_MSGS_DECODED,		/* payload decoded and handed to JSON */
	C_MSGS_IGNORED,		/* topic `hello`, accepted and ignored */
	C_MSGS_V0, C_MSGS_V1, C_MSGS_V2, C_MSGS_V3, C_MSGS_V4,
	C_BYTES_RECEIVED,	/* payload bytes as received */
	C_BYTES_INFLATED,	/* payload bytes after zlib */
	C_DROP_MSG_BAD_HEADER,	/* header length not 40/24/28/36 */
	C_DROP_MSG_UNSUPPORTED_VERSION,
	C_DROP_MSG_ONE_FRAME,	/* header without payload */
	C_DROP_MSG_TOO_MANY_FRAMES,
	C_DROP_MSG_BAD_ZLIB,
	C_DROP_MSG_TOO_LARGE,	/* over collector.max_payload (zlib bombs) */
	C_DROP_MSG_TLV,		/* nDPI TLV payload that does not decode */
	C_DROP_MSG_BAD_JSON,	/* does not parse, or nested too deep */
	C_DROP_MSG_EBPF_TOPIC,	/* libebpfflow's binary `ebpf` topic */
	C_DROP_MSG_UNKNOWN_TOPIC,
	C_EVENTS_RECEIVED,
	C_EVENTS_FORWARDED,
	C_DROP_EV_NOT_OBJECT,	/* array element that is not an object */
	C_DROP_EV_WRONG_TYPE,	/* a key field of the wrong type/range */
	C_DROP_EV_MISSING_FIELD,	/* no addresses, ports or protocol */
	C_DROP_EV_BAD_ADDRESS,	/* address text does not parse */
	C_DROP_EV_SEND,		/* output link refused the record */
	C_FIELDS_WRONG_TYPE,	/* non-key field ignored (event kept) */
	C_STRINGS_BAD_UTF8,	/* invalid UTF-8 replaced by '?' */
	C_STRINGS_TRUNCATED,	/* cut to the record's bound */
	C_EXTRA_TRUNCATED,	/* unknown keys left out of `extra` */
	C_MSGS_TLV,		/* decoded TLV payloads (part of decoded) */
	C_JSON_TRAILING_COMMAS,	/* payloads accepted with `,]` / `,}` */
	C_TIMES_CORRECTED,	/* NetFlow times that were not unix times */
	C_RECORDS_FLOW,
	C_RECORDS_LISTEN,
	C_RECORDS_IFCOUNTER,
	C_RECORDS_PRODUCER,
	C_PRODUCER_EVENTS,	/* `event` topic objects (health) */
	C_PRODUCERS_ACTIVE,	/* gauge */
	C_PRODUCERS_EXPIRED,
	C_PRODUCERS_EVICTED,	/* table full */
	C_LOST_MSGS,		/* msg_id gaps, all producers */
	C_RESTARTS,		/* msg_id went backwards */
	C_DUPLICATES,		/* msg_id repeated */
	C_RECORDS_QUEUED,	/* output link: accepted */
	C_RECORDS_SENT,		/* output link: handed to nanomsg */
	C_RECORDS_SEND_DROPPED,	/* output link: lost on send */
	C_RECORDS_PENDING,	/* gauge: queued, not yet sent (partial batch) */
	/* At-least-once delivery (common/nnlink.h link_out_acks). */
	C_REPLAY_BUFFERED,	/* gauge: records kept until acknowledged */
	C_REPLAYED,		/* records sent again */
	C_REPLAY_DROPPED,	/* refused: replay buffer full (in
				   records_send_dropped too) */
	C_ACKED,		/* records the store acknowledged committed */
	C_STORE_RESTARTS,	/* new store processes heard of */
	C_PRODUCERS_STALE,	/* gauge: silent over PROD_STALE_USEC */
	C_STATE_WRITE_ERRORS,	/* producer state file writes that failed */
	C_STATE_DAMAGED,	/* producer state files that did not parse */
	/* Bounds per message (each also a drop_msg_too_large). */
	C_OVER_INFLATE_RATIO,	/* inflated beyond collector.max_inflate_ratio */
	C_OVER_EVENTS,		/* more events than collector.max_events */
	C_OVER_DEPTH,		/* nested deeper than collector.max_json_depth */
	C_OVER_NODES,		/* more values than collector.max_json_nodes */
	C_COUNTER_MAX
};
extern const char *const collector_counter_names[C_COUNTER_MAX];

/* ---- zmq_frame.c ---- */

#define ZF_TOPIC_LEN	33	/* longest topic (32) + NUL */

struct zf_header {
	char		topic[ZF_TOPIC_LEN];
	unsigned	len;		/* header frame length: the layout */
	unsigned	version;
	unsigned	flags;		/* v4 only */
	int		has_msg_id;
	uint32_t	msg_id;		/* host order */
	uint32_t	source_id;	/* informational, never for memory */
};

#define ZF_V4_TLV	0x02
#define ZF_V4_ZLIB	0x04

/* Results of decoding; each maps to one counter. */
enum zf_result {
	ZF_OK = 0,
	ZF_BAD_HEADER,
	ZF_UNSUPPORTED_VERSION,
	ZF_BAD_ZLIB,
	ZF_TOO_LARGE,
	ZF_TLV,		/* decoded like ZF_OK, but the text is TLV */
	ZF_OVER_RATIO,		/* inflated more than max_ratio x input */
};

/*
 * Decodes a header frame.  The layout is chosen by `len` alone;
 * returns ZF_OK, ZF_BAD_HEADER (unknown length) or
 * ZF_UNSUPPORTED_VERSION.  `h` is filled as far as it could be.
 */
enum zf_result zf_header_decode(const void *, size_t, struct zf_header *);

/* A reusable inflater: one zlib stream and a growing output buffer
 * capped at `max` bytes.  Allocates only when the buffer must grow. */
struct zf_inflater {
	z_stream	 z;
	int		 z_ready;
	uint8_t		*buf;
	size_t		 cap;
	size_t		 max;
	size_t		 max_ratio;	/* inflated / compressed; 0: none */
};

#define ZF_RATIO_FLOOR	(64 * 1024)	/* bytes any message may inflate
					   to, whatever its ratio */
#define ZF_DEFAULT_RATIO	100

int	zf_inflater_init(struct zf_inflater *, size_t);
void	zf_inflater_free(struct zf_inflater *);

/*
 * Decodes the payload frame under header `h`.  On ZF_OK, *out and *outlen
 * is the JSON text (not NUL-terminated): either `p` itself (borrowed)
 * or the inflater's buffer (valid until the next call).
 */
enum zf_result zf_payload_decode(struct zf_inflater *,
	    const struct zf_header *, const uint8_t *, size_t,
	    const uint8_t **, size_t *);

/* ---- event_json.c ---- */

enum ej_topic { EJ_FLOW, EJ_COUNTER, EJ_LISTENING, EJ_EVENT };

/* Receives each record built; `body` is borrowed.  Returns 0, or -1 if
 * the record could not be queued (counted as C_DROP_EV_SEND). */
typedef int (*ej_emit_fn)(void *, uint16_t, const void *, size_t);

/* What an `event` topic object told about its producer. */
struct ej_health {
	int		 seen;
	uint64_t	 probe_drops;
	char		 info[EVP_INFO_LEN];
};

/*
 * The parser state: scratch records reused for every event (no
 * allocation of ours per event) and the counters it increments.
 */
struct ej {
	uint64_t	*ctr;		/* C_COUNTER_MAX counters, borrowed */
	ej_emit_fn	 emit;
	void		*emit_arg;
	uint64_t	 producer;	/* id stamped on records */
	uint64_t	 now_usec;	/* wall clock fallback timestamp */
	struct ej_health health;	/* filled by EJ_EVENT */
	struct evp_flow	 flow;
	struct evp_listen listen;
	struct evp_ifcounter ifc;
};

/* Sets up the key tables (idempotent) and the arena hooks of cJSON. */
void	ej_init(struct ej *, uint64_t *, ej_emit_fn, void *);
/*
 * Parses one decoded payload of `topic`: an object or an array of
 * objects.  Returns 0, or -1 if the text is not JSON (the caller counts
 * C_DROP_MSG_BAD_JSON); events are counted here.
 */
int	ej_parse(struct ej *, enum ej_topic, const char *, size_t);
/* The same for a TLV payload (nDPI serializer, see tlv.c); -1 if it is
 * not valid TLV (the caller counts C_DROP_MSG_TLV). */
int	ej_parse_tlv(struct ej *, enum ej_topic, const uint8_t *, size_t);
/* Forwards the events of a parsed tree (an object or an array of them)
 * and frees it; 0. */
struct cJSON;
int	ej_parse_tree(struct ej *, enum ej_topic, struct cJSON *);

/* ---- tlv.c ---- */

/* A TLV payload as a cJSON array of record objects, or NULL. */
struct cJSON *tlv_decode(const uint8_t *, size_t);

/* ---- json_text.c (the rest is in event_json.h) ---- */

/*
 * Copies JSON text of `v` (a cJSON item) into `dst` of `cap` bytes,
 * NUL-terminated, compact; returns the length or -1 if it did not fit.
 */
int	jt_write(char *, size_t, const struct cJSON *);
/* Copies a string into a bounded field of `cap` bytes: cut at a UTF-8
 * boundary, invalid bytes replaced by '?'.  Returns JT_STR_* bits. */
#define JT_STR_TRUNCATED	0x01
#define JT_STR_BAD_UTF8		0x02
int	jt_strlcpy(char *, const char *, size_t);

/* ---- producers.c ---- */

#define PROD_MAX	1024	/* producers tracked at once */

#define PROD_CONNS	4	/* msg_id sequences tracked per producer */
#define PROD_MAX_GAP	0x80000000u	/* msg_ids ahead: beyond, behind */

/*
 * A producer is (Peer-Address, source_id), as the wire format defines
 * it.  Its msg_id sequences are followed apart, though: a restarted
 * producer's new connection interleaves with messages of the old one
 * still queued, and two publishers on one host may share source_id 0;
 * mixing their sequences would count false losses.  A message continues
 * the sequence it is closest ahead of (by msg_id, not by connection:
 * ZMQ_SRCFD numbers are reused as soon as a connection closes); a
 * message behind every sequence (a restart from a small msg_id) starts
 * a new sequence and counts one restart.
 */
struct producer_seq {
	int		 conn;		/* socket fd (ZMQ_SRCFD), -1 unknown */
	uint32_t	 last_msg_id;
	uint64_t	 last_mono;
};

#define PROD_STALE_USEC	10000000	/* silent this long: stale */

struct producer {
	int		 used;
	uint64_t	 id;		/* collector-assigned, from 1 */
	uint32_t	 source_id;
	int		 has_last;
	uint32_t	 last_msg_id;	/* the latest, any connection */
	unsigned	 nseq;
	struct producer_seq seq[PROD_CONNS];
	uint64_t	 last_mono;	/* monotonic usec */
	struct evp_producer rec;	/* counters and identity */
	int		 restored;	/* from the state file, not seen since */
};

struct producers {
	uint64_t	 next_id;
	unsigned	 n;
	uint64_t	*ctr;		/* borrowed */
	/* The state file, open from the first producers_save on. */
	int		 state_fd;
	size_t		 state_len;	/* bytes last written */
	char		*state_buf;	/* PROD_STATE_MAX bytes */
	unsigned	 last;		/* index of the last one found */
	struct producer	 tab[PROD_MAX];
};

struct producers *producers_new(uint64_t *);
void	producers_free(struct producers *);
/*
 * Finds or creates the producer (peer, source_id) and accounts one
 * message with msg_id (if `has_msg_id`) on connection `conn` (ZMQ_SRCFD,
 * or -1).  Never NULL: a full table evicts the least recently seen
 * producer.
 */
struct producer *producers_seen(struct producers *, const char *, int,
	    uint32_t, int, uint32_t, uint64_t);
/* Forgets producers silent for `timeout_usec`. */
void	producers_expire(struct producers *, uint64_t, uint64_t);
/*
 * Loss across a restart of the collector (docs/design.md, "Delivery").
 * Before any record leaves the process (link_out_hold), the state file
 * notes the link's sender id and last sequence, and each producer's
 * last msg_id: every record that may have left belongs to a message
 * noted there.  The next run continues that sender's sequence
 * (link_out_resume): the store counts the records that left and never
 * arrived as a sequence gap, and the first message of each producer
 * counts the messages after the noted one (never numbered, or never
 * received) as lost msg_ids; the two never overlap.  The file is text,
 * at most PROD_MAX lines, ended by a line with its CRC-32; it is kept
 * open and rewritten in place by one pwrite (a rename per save cost
 * ~100 us of CPU and 1-2 ms of the loop at 100 saves/s).  A write cut
 * by a kill (only possible past one page, ~50 producers) fails the CRC:
 * the load says damaged.  `path` is opened at the first call.
 */
int	producers_save(struct producers *, const char *, uint64_t, uint64_t,
	    char *, size_t);
/* Producers silent for PROD_STALE_USEC at monotonic `now` (gauge). */
unsigned producers_stale(const struct producers *, uint64_t);
/* Loads a state file: the sender and sequence (0 and 0 if missing) and
 * the producers, "restored" until seen again.  The number of producers,
 * or -1 with the reason if damaged (nothing loaded: the caller renames
 * it aside). */
int	producers_load(struct producers *, const char *, uint64_t *,
	    uint64_t *, char *, size_t);

/* ---- ingest.c ---- */

/*
 * Everything between received frames and emitted records, without
 * sockets (so tests and the benchmark drive it directly).
 */
/* Bounds of one JSON payload, checked by a scan before it is parsed;
 * a payload over one is refused whole (drop_msg_too_large). */
struct json_bounds {
	unsigned long	 max_events;	/* elements of a top-level array */
	unsigned long	 max_depth;	/* nesting of arrays and objects */
	unsigned long	 max_nodes;	/* JSON values (cJSON nodes) */
};

#define JB_DEFAULT_EVENTS	65536
#define JB_DEFAULT_DEPTH	32
#define JB_DEFAULT_NODES	(256 * 1024)

/* Scans `len` bytes of JSON text (strings skipped; a backslash escapes
 * the next byte, as in a string) without parsing it, 64 bytes at a
 * time.  Returns 0, or the counter of the first bound exceeded
 * (C_OVER_EVENTS, C_OVER_DEPTH, C_OVER_NODES).  Malformed text is left
 * to the parser. */
int	json_bounds_check(const struct json_bounds *, const char *, size_t);

struct ingest {
	uint64_t	 ctr[C_COUNTER_MAX];
	struct json_bounds jb;		/* defaults from ingest_init */
	struct zf_inflater zi;
	struct ej	 ej;
	struct producers *prods;
};

int	ingest_init(struct ingest *, size_t, ej_emit_fn, void *);
void	ingest_free(struct ingest *);
/*
 * Accounts and decodes one message: `nframes` frames were received,
 * the first two are given (hdr, pay; pay NULL if nframes < 2).  `peer`
 * (Peer-Address, never NULL) and `conn` (connection fd or -1) identify
 * the sender.  Times: monotonic and wall clock, microseconds.
 */
void	ingest_msg(struct ingest *, const uint8_t *, size_t, const uint8_t *,
	    size_t, unsigned, const char *, int, uint64_t, uint64_t);
/* Emits one EVP_PRODUCER per active producer. */
void	ingest_producer_records(struct ingest *);

/* ---- zmq_sock.c ---- */

struct zsock_opts {
	int		 rcvhwm;	/* messages */
	int		 rcvbuf;	/* bytes, kernel receive buffer */
	int64_t		 max_frame;	/* bytes, 0 = no limit */
	int		 curve;		/* be a CURVE server */
	const char	*curve_key_file;	/* secret key, z85 text */
};

/*
 * Opens a SUB socket on every comma-separated endpoint of `iface`
 * (trailing 'c': bind, else connect), subscribed to everything.
 * Returns the socket or NULL with a reason in err.
 */
void	*zsock_open(void *, const char *, const struct zsock_opts *, char *,
	    size_t);

/* One received message: its first two frames and the frame count. */
struct zsock_msg {
	unsigned	 nframes;
	size_t		 bytes;		/* all frames */
	int		 conn;		/* ZMQ_SRCFD of the message, or -1 */
	char		 peer[EVP_NAME_LEN];
	int		 ready[2];
	zmq_msg_t	 part[2];
};

/*
 * Receives one whole message without blocking (every frame is consumed,
 * however many).  Returns 1 with a message (release it with
 * zsock_msg_close), 0 if none is pending, -1 on a socket error.
 */
int	zsock_recv(void *, struct zsock_msg *);
void	zsock_msg_close(struct zsock_msg *);

#endif
