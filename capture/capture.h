/*
 * evflow-capture: flows built from packets (libpcap) and published as
 * EVP_FLOW records (source EVP_SRC_PACKET, absolute counters, side 0 =
 * client) to the router.  One process per NIC or pcap file.
 *
 * Pieces, one file each:
 *   dissect.c     bytes of one frame -> struct pkt (link, VLAN, IP, L4)
 *   frag.c        IP fragments: first fragment's ports for the rest
 *   flow_table.c  preallocated bidirectional flow table, timers, eviction
 *   flow_export.c a flow -> struct evp_flow
 *   dpi.c         nDPI on the first payload packets of each flow
 *   dns.c         DNS responses -> query name and A/AAAA answers
 *   names.c       bounded address-to-name cache -> EVP_HOSTNAME
 *   source.c      libpcap: open a NIC or file with the operator's options
 *   main.c        options, config, the loop
 */
#ifndef EVFLOW_CAPTURE_H
#define EVFLOW_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include <pcap/pcap.h>

#include "../proto/evflow.h"

/*
 * Health counters.  Names (capture_counter_names) are stable snake_case:
 * they become rows in the store and keys of `stats`.
 */
enum capture_counter {
	CC_PACKETS,		/* frames handed over by libpcap */
	CC_BYTES,		/* their on-wire bytes */
	CC_IP_PACKETS,		/* frames accounted to a flow */
	CC_NON_IP,		/* frames that are not IPv4/IPv6 (ARP...) */
	CC_KERNEL_DROPS,	/* pcap_stats ps_drop */
	CC_IFACE_DROPS,		/* pcap_stats ps_ifdrop */
	CC_ERR_TRUNC_L2,	/* link header cut by caplen */
	CC_ERR_TRUNC_IP,	/* IP header cut by caplen */
	CC_ERR_TRUNC_L4,	/* ports cut by caplen: packet skipped */
	CC_ERR_BAD_IP,		/* version, header length, total length */
	CC_ERR_BAD_LEN,		/* IP length beyond the frame's length */
	CC_ERR_EXT_HDR,		/* IPv6 extension chain too long or cut */
	CC_ERR_LINKTYPE,	/* frames of a link type we cannot read */
	CC_ERR_VLAN_DEPTH,	/* more than DISSECT_MAX_VLAN tags */
	CC_TRUNCATED,		/* frames with caplen < len (counted, used) */
	CC_FRAGMENTS,		/* IP fragments */
	CC_FRAG_UNMATCHED,	/* later fragments without their first */
	CC_FLOWS_CREATED,
	CC_FLOWS_EXPIRED,	/* idle timeout */
	CC_FLOWS_ENDED,		/* FIN/RST after linger */
	CC_FLOWS_EVICTED,	/* table full: oldest idle flow ended early */
	CC_FLOWS_FLUSHED,	/* ended at end of file or shutdown */
	CC_FLOWS_LIVE,		/* gauge */
	CC_UPDATES,		/* records of live flows (first and periodic) */
	CC_FIRST_REPORTS,	/* of which a new flow's first record */
	CC_UPDATES_UNCHANGED,	/* periodic updates not sent: no packets */
	CC_RECORDS_SENT,	/* records handed to the link */
	CC_RECORDS_DROPPED,	/* records the link could not send */
	CC_REPLAYED,		/* records resent (not in records_sent) */
	CC_READ_ERRORS,		/* pcap read errors (file cut, device gone) */
	CC_DPI_FLOWS,		/* flows given to nDPI */
	CC_DPI_PACKETS,		/* payload packets given to nDPI */
	CC_DPI_DETECTED,	/* inspections ended with a protocol */
	CC_DPI_UNKNOWN,		/* ... with none (not even a port guess) */
	CC_DPI_PACKET_LIMIT,	/* gave up at capture.dpi_max_packets */
	CC_DPI_MEMORY_LIMIT,	/* stopped at capture.dpi_flow_memory */
	CC_DPI_RECLAIMED,	/* inspections ended early: capture.dpi_flows
				   states all in use, the oldest taken */
	CC_DPI_CUT,		/* payload packets cut to DPI_COPY_MAX */
	CC_DPI_QUEUE_FULL,	/* payload packets the worker's ring had no
				   room for (live): not inspected */
	CC_DPI_NOT_INSPECTED,	/* flows whose first payload packet the
				   ring had no room for */
	CC_DPI_LATE,		/* flows that ended while the worker was
				   busy: sent without their result */
	CC_DPI_WAITS,		/* times the packet path waited for the
				   worker (a file: ring full, flow end) */
	CC_DNS_RESPONSES,	/* DNS responses looked at */
	CC_DNS_BAD,		/* ... malformed (not used) */
	CC_NAMES_LEARNED,	/* addresses new to the name cache */
	CC_NAMES_CHANGED,	/* an address's name or source changed */
	CC_NAMES_EVICTED,	/* cache full: least recently seen dropped */
	CC_HOSTNAME_RECORDS,	/* EVP_HOSTNAME records made */
	CC_MAX
};

/* Exit status of a capture whose pcap file ended in a read error (cut
 * short, damaged): its flows so far were sent; reading it again would
 * count them twice.  evflowctl shows it as finished with an error. */
#define CAPTURE_EXIT_FILE_ERROR	3

/* Defined next to the flow table, which counts most of them. */
extern const char *const capture_counter_names[CC_MAX];

/* ---- dissect.c ---- */

#define DISSECT_MAX_VLAN	4	/* tags parsed before giving up */
#define DISSECT_MAX_EXT		8	/* IPv6 extension headers */

/* Result of dissecting a frame; DIS_OK and DIS_NON_IP are not errors. */
enum dissect_result {
	DIS_OK = 0,
	DIS_NON_IP,
	DIS_TRUNC_L2,
	DIS_TRUNC_IP,
	DIS_TRUNC_L4,
	DIS_BAD_IP,
	DIS_BAD_LEN,
	DIS_EXT_HDR,
	DIS_LINKTYPE,
	DIS_VLAN_DEPTH,
};

#define PKT_FRAG_NONE	0
#define PKT_FRAG_FIRST	1	/* offset 0, more fragments follow */
#define PKT_FRAG_LATER	2	/* offset > 0: no L4 header here */

/* One frame as the flow table needs it.  Filled by dissect(). */
struct pkt {
	uint64_t	ts_usec;
	uint32_t	wire_len;	/* on-wire frame length (pcap len) */
	uint32_t	ip_len;		/* IP datagram length from its header */
	uint32_t	payload_len;	/* TCP payload bytes (from ip_len) */
	uint32_t	seq;		/* TCP sequence number */
	uint32_t	frag_id;	/* IPv4/IPv6 identification */
	uint16_t	vlan;		/* outer VLAN id, 0 = none */
	uint16_t	sport, dport;
	uint8_t		ipver;		/* 4 or 6 */
	uint8_t		proto;		/* L4 protocol after extension hdrs */
	uint8_t		tcp_flags;	/* 0 if not TCP or flags cut */
	uint8_t		has_ports;	/* sport/dport are valid */
	uint8_t		has_seq;	/* seq/payload_len are valid */
	uint8_t		frag;		/* PKT_FRAG_* */
	uint8_t		truncated;	/* caplen < len */
	uint8_t		pad;
	uint8_t		src[16], dst[16];	/* IPv4 mapped */
	/* Where the IP header and the L4 header are, for deep inspection
	 * (NULL if absent or cut): `*_cap` readable bytes from there;
	 * l4_len is the L4 length by the IP header.  They point into the
	 * frame, or into the source's copy of it (see struct source). */
	const uint8_t	*l3, *l4;
	uint32_t	l3_cap, l4_cap, l4_len;
	uint8_t		icmp_type;	/* ICMP/ICMPv6 message type and code, */
	uint8_t		icmp_code;	/* with has_icmp */
	uint8_t		has_icmp;
	uint8_t		pad2;
};

/* L4 payload bytes of a dissected packet (0 for a later fragment).
 * Inline: the packet path asks it of every packet with nDPI on. */
static inline uint32_t
pkt_payload(const struct pkt *k)
{
	if (k->l4 == NULL || k->frag == PKT_FRAG_LATER)
		return 0;
	if (k->proto == 6)			/* TCP */
		return k->has_seq ? k->payload_len : 0;
	if (k->proto == 17 || k->proto == 136)	/* UDP, UDP-Lite */
		return k->l4_len > 8 ? k->l4_len - 8 : 0;
	return k->l4_len;
}

/*
 * Dissects one frame of pcap link type `dlt` (DLT_* value as returned
 * by pcap_datalink()).  `caplen` bytes are readable at `p`; `len` is the
 * on-wire length.  Never reads beyond caplen.  Fills `k` on DIS_OK.
 */
enum dissect_result dissect(int, const uint8_t *, uint32_t, uint32_t,
	    struct pkt *);
/* 1 if dissect() understands link type `dlt`. */
int	dissect_linktype_ok(int);
/* The counter a result is charged to (CC_MAX for DIS_OK). */
enum capture_counter dissect_counter(enum dissect_result);

/* ---- frag.c ---- */

#define FRAG_SLOTS	4096	/* first fragments remembered (power of 2) */
#define FRAG_TTL_USEC	30000000	/* 30 s */

struct frag_slot {
	uint8_t		src[16], dst[16];
	uint64_t	ts_usec;
	uint32_t	id;
	uint16_t	sport, dport;
	uint8_t		proto;
	uint8_t		used;
	uint8_t		pad[6];
};

struct frag_table {
	uint64_t	seed;
	struct frag_slot slot[FRAG_SLOTS];
};

void	frag_init(struct frag_table *, uint64_t);
/* Remembers the ports of a first fragment (overwrites a colliding slot). */
void	frag_note_first(struct frag_table *, const struct pkt *);
/* Gives a later fragment its first fragment's ports.  1 if found. */
int	frag_lookup(struct frag_table *, struct pkt *);

/* ---- flow_table.c ---- */

#define FLOW_NIL	UINT32_MAX

/* The canonical key: endpoint a < endpoint b (memcmp of addr, port). */
struct flow_key {
	uint8_t		a[16], b[16];
	uint16_t	aport, bport;
	uint16_t	vlan;
	uint8_t		proto;
	uint8_t		ipver;
};
_Static_assert(sizeof(struct flow_key) == 40, "flow key layout");

/* Flow flags. */
#define FLOW_CLI_IS_B	0x01	/* client is endpoint b of the key */
#define FLOW_LINGER	0x02	/* FIN both ways or RST: ends at deadline */
#define FLOW_SEQ0	0x04	/* seq_hi[0] valid */
#define FLOW_SEQ1	0x08	/* seq_hi[1] valid */
#define FLOW_SYN_SEEN	0x10	/* client SYN time in t_syn */
#define FLOW_SYNACK	0x20	/* SYN-ACK time in t_synack */
#define FLOW_FIN0	0x40	/* FIN from client */
#define FLOW_FIN1	0x80	/* FIN from server */

/*
 * One live flow.  Index 0 of per-direction arrays is client to server.
 * Links are indices into the table's array (FLOW_NIL = none): `hnext`
 * chains a hash bucket, `prev/next` place the flow in the idle (LRU) or
 * linger list, `uprev/unext` in the fresh or the update list (`ulist`
 * says which; both ordered by next_update).  Kept small: see
 * FLOW_BYTES_MAX.
 */
struct flow {
	struct flow_key	key;
	uint64_t	first_usec, last_usec;
	uint64_t	next_update;	/* next report (fresh or update list) */
	uint64_t	linger_until;
	uint64_t	t_syn, t_synack;
	uint64_t	pkts[2];
	uint64_t	bytes[2];	/* IP bytes */
	uint64_t	wire_bytes[2];
	uint32_t	seq_hi[2];	/* highest sequence end seen */
	uint32_t	retrans[2];
	uint32_t	cli_lat_us, srv_lat_us;
	uint32_t	hnext, prev, next, uprev, unext;
	uint8_t		tcp_flags[2];
	uint8_t		state;		/* enum evp_tcp_state */
	uint8_t		flags;		/* FLOW_* */
	uint8_t		list;		/* FL_LIST_* it is on */
	uint8_t		ulist;		/* FL_ULIST_* it is on */
	uint8_t		changed;	/* packets since its last record */
	uint8_t		dpi;		/* FLOW_DPI_* */
	uint32_t	report_sec;	/* last record: seconds after first_usec */
	/* Deep inspection, the packet path's side (dpi.c): here, in the
	 * entry it has at hand, rather than in an array of its own. */
	uint64_t	dpi_pos;	/* worker's ring after its last packet */
	uint32_t	dpi_gen;	/* generation of its inspection */
	uint8_t		dpi_sent;	/* payload packets given to nDPI */
	/* ICMP/ICMPv6: the client's first message (the Community ID's
	 * ports, computed by the store), with FLOW_ICMP in flags2. */
	uint8_t		icmp_type, icmp_code;
	uint8_t		flags2;
};

#define FLOW_ICMP	0x01	/* flags2: icmp_type/icmp_code set */

/* Deep inspection state of a flow (struct flow.dpi). */
#define FLOW_DPI_NONE	0	/* no payload packet seen yet */
#define FLOW_DPI_ACTIVE	1	/* nDPI is looking at its packets */
#define FLOW_DPI_DONE	2	/* result kept (dpi.c) */
#define FLOW_DPI_SKIPPED 3	/* the worker's ring had no room for its
				   first payload packet: not inspected */

#define FLOW_BYTES_MAX	256	/* per live flow in the table, floor */
_Static_assert(sizeof(struct flow) <= 224, "flow entry too large");

/*
 * When a live flow is reported.  A new flow's first record goes out
 * FLOW_FIRST_REPORT_USEC after its first packet (so the store can join
 * events to it from its first second, whatever the timeouts), unless it
 * is lingering and ends before the next update would.  Then every
 * `tick` (cfg.update_usec, or cfg.active_usec if smaller or update_usec
 * is 0) a flow is reported if it had packets since its last record, or
 * if cfg.active_usec passed since then (a heartbeat: the store keeps a
 * flow it hears of).  update_usec 0: no first record, every live flow
 * reported each active_usec (the NetFlow-style active timeout alone).
 */
#define FLOW_FIRST_REPORT_USEC	1000000	/* 1 s */
#define FLOW_REPORT_SLACK_USEC	10000	/* reports batched by 10 ms */

/* Why a flow record is emitted. */
enum flow_why {
	FW_UPDATE,	/* a live flow: first record, changed, heartbeat */
	FW_IDLE,	/* idle timeout */
	FW_END,		/* FIN/RST linger over, or port reuse */
	FW_EVICT,	/* table full */
	FW_FLUSH,	/* end of file, shutdown */
};

/* Called for each record; `f` is borrowed for the call only. */
typedef void (*flow_emit_fn)(void *, const struct flow *, enum flow_why);

struct flow_cfg {
	uint32_t	max_flows;
	uint64_t	idle_usec;
	uint64_t	active_usec;
	uint64_t	linger_usec;
	uint64_t	update_usec;	/* 0: active_usec updates only */
};

struct flow_list {
	uint32_t	head, tail;
};

struct flow_table {
	struct flow_cfg	 cfg;
	struct flow	*flows;		/* cfg.max_flows entries */
	uint32_t	*bucket;	/* heads, nbuckets entries */
	void		*flows_mem, *bucket_mem;	/* allocations */
	uint32_t	 nbuckets;	/* power of 2, >= 2 * max_flows */
	uint32_t	 free_head;	/* free list through hnext */
	uint32_t	 unused;	/* entries [unused, max) never used */
	uint32_t	 live;
	uint64_t	 seed;
	uint64_t	 now;		/* flow clock: latest packet time */
	uint64_t	 due;		/* no timer is due before this */
	uint64_t	 tick;		/* update list period (see above) */
	uint64_t	 first_delay;	/* fresh list: first record's delay */
	struct flow_list idle, linger, fresh, update;
	flow_emit_fn	 emit;
	void		*emit_arg;
	uint64_t	*cnt;		/* CC_MAX counters, borrowed */
	struct dpi	*dpi;		/* borrowed; NULL: no inspection */
	struct names	*names;		/* borrowed; NULL: no DNS names */
	struct frag_table frag;
};

/* A packet's canonical key and bucket, computed ahead of accounting. */
struct flow_prep {
	struct flow_key	key;
	uint32_t	bucket;
	int		from_a;		/* the sender is endpoint a */
};

/* Allocates every entry up front.  NULL (errno) on failure. */
struct flow_table *flow_table_new(const struct flow_cfg *, flow_emit_fn,
	    void *, uint64_t *);
void	flow_table_free(struct flow_table *);
/* Accounts one dissected packet (may emit END for a reused tuple or
 * an evicted flow).  Advances the flow clock to its time. */
void	flow_table_packet(struct flow_table *, struct pkt *);
/*
 * The same in steps, so a reader can work on a batch and hide memory
 * latency: prepare (fragments, key, hash; prefetches the bucket) every
 * packet of the batch in order, then account them in the same order,
 * calling prefetch for a packet a few places ahead.  Preparing a packet
 * never depends on accounting an earlier one.
 */
void	flow_table_prepare(struct flow_table *, struct pkt *,
	    struct flow_prep *);
void	flow_table_prefetch(const struct flow_table *,
	    const struct flow_prep *);
void	flow_table_account(struct flow_table *, const struct pkt *,
	    const struct flow_prep *);
/* Emits records due at `now` (idle, linger, first, update). */
void	flow_table_expire(struct flow_table *, uint64_t);
/* The earliest time a timer is due, or UINT64_MAX. */
uint64_t flow_table_next_deadline(const struct flow_table *);
/* Ends every flow (FW_FLUSH). */
void	flow_table_flush(struct flow_table *);
/* Ends at most `max` flows; 1 while some remain, else 0. */
int	flow_table_flush_some(struct flow_table *, uint32_t);
/* Bytes of memory the table holds per flow slot (entry + buckets). */
size_t	flow_table_bytes_per_flow(const struct flow_table *);

/*
 * A zeroed table of `bytes` for random access (the flows, their bucket
 * heads, nDPI's results), aligned to a cache line; from 1 MB, to 2 MB
 * and on huge pages
 * where the kernel has them (madvise), since with 4 KB pages a packet
 * landing on a random entry of tens of MB is a TLB miss each time.
 * Pages are still only touched as entries are used.  Free *mem (what
 * was allocated), not the table.  NULL if out of memory.
 */
#define CAPTURE_HUGE_PAGE	(2u << 20)	/* bytes */
void	*capture_table_new(size_t, void **);

/* Client/server view of a flow's key. */
const uint8_t *flow_addr(const struct flow *, int);
uint16_t flow_port(const struct flow *, int);

/* ---- dns.c ---- */

#define DNS_NAME_MAX	256	/* a name and its NUL (EVP_HOST_LEN) */
#define DNS_MAX_ANSWERS	16	/* A/AAAA answers used per response */

struct dns_answer {
	uint8_t		addr[16];	/* IPv4 mapped */
	uint32_t	ttl;
	uint8_t		ipver;
};

struct dns_result {
	char		qname[DNS_NAME_MAX];	/* lower case */
	unsigned	nanswers;
	struct dns_answer answer[DNS_MAX_ANSWERS];
};

/*
 * Parses a DNS message (UDP payload) that should be a response.
 * Returns the number of A/AAAA answers for the question (0 for an
 * error response, no single question, or no address), or -1 if it is
 * not a well-formed response with an acceptable name.
 */
int	dns_parse_response(const uint8_t *, size_t, struct dns_result *);

/* ---- names.c ---- */

struct names;
/* Called for each EVP_HOSTNAME record; the record is borrowed. */
typedef void (*names_emit_fn)(void *, const struct evp_hostname *);

/* A cache of `max` addresses.  NULL (errno) on failure. */
struct names *names_new(uint32_t, names_emit_fn, void *, uint64_t *);
void	names_free(struct names *);
/* Bytes the cache holds. */
size_t	names_bytes(const struct names *);
/* Notes that `addr` is called `name` (from src, at packet time ts,
 * ttl seconds from DNS or 0); emits a record if new, changed or due. */
void	names_learn(struct names *, const uint8_t[16], const char *,
	    enum evp_name_source, uint64_t, uint32_t);
/*
 * The same, learned later: with the next NAMES_BATCH - 1 pairs noted, or
 * at names_flush (the reader calls it after each read and the flow table
 * at its flush; names_learn first learns what is noted), so that the
 * misses of a batch overlap.  The strings are copied.
 */
#define NAMES_BATCH	32	/* pairs learned at once */
void	names_note(struct names *, const uint8_t[16], const char *,
	    enum evp_name_source, uint64_t, uint32_t);
void	names_flush(struct names *);
/* The name known for an address, or NULL (borrowed until the next
 * names_learn). */
const char *names_get(const struct names *, const uint8_t[16]);
/* A UDP packet from port 53: its answers into the cache. */
void	names_dns(struct names *, const struct pkt *);

/* ---- dpi_queue.c ---- */

/*
 * Bounded single-producer single-consumer ring of variable-length
 * records (lock-free; futex waits), between the packet path and the
 * nDPI worker.  Producer: reserve, fill, commit (or nothing: a reserved
 * record is only published by commit).  Consumer: peek, use, release
 * with the length peek gave.  See dpi_queue.c for the guarantees.
 */
struct dpiq {
	uint8_t		*buf;
	size_t		 size;		/* bytes, power of 2 */
	/* Producer's line. */
	_Alignas(64) uint64_t head;	/* after the last committed record */
	uint64_t	 published;	/* the last pub stored */
	uint64_t	 tail_seen;
	size_t		 pend;		/* bytes of the reserved record */
	uint64_t	 pwant;		/* tail it waits for (atomic) */
	_Alignas(64) uint64_t pub;	/* head the consumer may read to */
	/* Consumer's line. */
	_Alignas(64) uint64_t tail;
	uint64_t	 head_seen;
	size_t		 skip;		/* bytes skipped before the peeked one */
	/* Sleep flags (futex words) and the stop request. */
	_Alignas(64) uint32_t csleep;
	uint32_t	 psleep;
	uint32_t	 stop;
};

/* A ring of `bytes` (rounded up to a power of 2, at least 4096).  NULL
 * (errno) on failure. */
struct dpiq *dpiq_new(size_t);
void	dpiq_free(struct dpiq *);
size_t	dpiq_bytes(const struct dpiq *);
/* The longest record the ring takes (a quarter of it, less a header). */
size_t	dpiq_max_record(const struct dpiq *);
/* Producer: room for a record of `len` bytes, or NULL if full (never
 * waits); dpiq_commit publishes it. */
void	*dpiq_reserve(struct dpiq *, size_t);
void	dpiq_commit(struct dpiq *);
/* Producer: lets the consumer see every committed record (commit does
 * now and then by itself). */
void	dpiq_publish(struct dpiq *);
/* Producer: the position after the last committed record; a record's
 * bytes in the ring (its header included). */
uint64_t dpiq_head(const struct dpiq *);
size_t	dpiq_record_bytes(size_t);
/* Producer: waits until the consumer has finished every record before
 * position `pos` (dpiq_head() then: every record), up to `usec`
 * (UINT64_MAX: no limit).  1 if so, 0 on timeout. */
int	dpiq_wait(struct dpiq *, uint64_t, uint64_t);
/* Producer: 1 if the consumer has finished the records before `pos`;
 * dpiq_idle: every record. */
int	dpiq_done(struct dpiq *, uint64_t);
int	dpiq_idle(struct dpiq *);
/* Producer: bytes of records the consumer has not finished. */
uint64_t dpiq_backlog(struct dpiq *);
/* Consumer: the oldest record and its length, or NULL if empty. */
const void *dpiq_peek(struct dpiq *, size_t *);
void	dpiq_release(struct dpiq *, size_t);
/* Consumer: sleeps until a record or a stop comes (or 10 ms pass). */
void	dpiq_wait_data(struct dpiq *);
/* Asks the consumer to stop once the ring is empty (any thread). */
void	dpiq_stop(struct dpiq *);
int	dpiq_stopped(struct dpiq *);

/* ---- dpi.c ---- */

struct dpi;
struct dpi_cfg {
	uint32_t	max_flows;	/* the flow table's size */
	uint32_t	slots;		/* flows inspected at once */
	uint32_t	max_packets;	/* payload packets per flow */
	size_t		flow_memory;	/* bytes of nDPI memory per flow */
	size_t		queue_bytes;	/* 0: nDPI on the packet path; else
					   on a worker thread fed by a ring
					   of this many bytes */
	int		lossless;	/* worker: wait for ring space (a
					   file) instead of counting the
					   packet out (a NIC) */
	const char	*protocols;	/* nDPI's names to look for (commas
					   or spaces), NULL or "": all */
};

/* NULL with a reason in err.  A worker starts with dpi_start. */
struct dpi *dpi_new(const struct dpi_cfg *, uint64_t *, struct names *,
	    char *, size_t);
/* Starts the worker thread (cfg.queue_bytes != 0; else nothing).  -1
 * with a reason in err. */
int	dpi_start(struct dpi *, char *, size_t);
/* CPU seconds the worker thread has used so far (0 without one): the
 * benchmark counts both threads. */
double	dpi_worker_cpu(const struct dpi *);
/* Stops the worker (after the ring is empty) and frees everything. */
void	dpi_free(struct dpi *);
/* Copies the worker's counters into the counter array (the thread that
 * owns the counters calls it before reading them; the flow table does
 * at its flush). */
void	dpi_sync_counters(struct dpi *);
/* Bytes preallocated (results per flow slot + inspection states). */
size_t	dpi_bytes(const struct dpi *);
/* sizeof nDPI's per-flow state (the floor of capture.dpi_flow_memory). */
size_t	dpi_state_bytes(void);
/* A payload packet (k->l3 set) of flow-table entry i, flow f. */
void	dpi_packet(struct dpi *, uint32_t, struct flow *, const struct pkt *);
/* After each batch: hands the packets given so far to the worker and
 * takes up the results it made final (`flows`: the flow table's). */
void	dpi_poll(struct dpi *, struct flow *);
/* Flow i's result toward the cache (its record comes soon). */
void	dpi_prefetch(const struct dpi *, uint32_t);
/* Flow i ends: a flow still inspected gets nDPI's final answer. */
void	dpi_flow_end(struct dpi *, uint32_t, struct flow *);
/* Fills rec->app and EVP_F_HAS_APP from flow i's result, if any, after
 * flow_export (which clears the block); `final`: the flow's last record
 * (one without the final result is counted dpi_late). */
void	dpi_export(struct dpi *, uint32_t, const struct flow *,
	    struct evp_flow *, int);

/* ---- flow_export.c ---- */

/* Fills `r` (all of it: the caller's buffer is reused) from `f`. */
void	flow_export(struct evp_flow *, const struct flow *, enum flow_why);

/* ---- source.c ---- */

#define SOURCE_TIMEOUT_MS	100	/* libpcap read timeout, live */

/* What to open and how (borrowed strings). */
struct source_opts {
	const char	*device;	/* NIC, for source_open_live */
	const char	*file;		/* pcap file, for source_open_file */
	const char	*filter;	/* BPF, or "" */
	int		 snaplen;
	int		 promisc;
	int		 immediate;
	int		 buffer_size;	/* bytes, 0 = libpcap default */
};

#define SOURCE_BATCH	32	/* packets prepared before accounting */
#define SOURCE_AHEAD	6	/* flow entries prefetched ahead */
#define DPI_COPY_MAX	2048	/* bytes of a payload packet kept for nDPI
				   while its batch waits (counted if cut) */

struct source {
	pcap_t		*pcap;
	unsigned	 nbatch;
	struct pkt	 batch[SOURCE_BATCH];
	struct flow_prep prep[SOURCE_BATCH];
	int		 dlt;		/* pcap_datalink() */
	int		 live;
	int		 fd;		/* selectable fd (live), else -1 */
	unsigned	 prev_drop, prev_ifdrop;
	uint8_t		*copy;		/* SOURCE_BATCH * DPI_COPY_MAX, or
					   NULL: l3/l4 not kept (no dpi) */
	struct flow_table *ft;		/* borrowed: where packets go */
	uint64_t	*cnt;		/* borrowed: CC_MAX counters */
	char		 err[PCAP_ERRBUF_SIZE];	/* last read error */
};

/* Open a NIC (nonblocking) or a file.  NULL with a reason in err. */
struct source *source_open_live(const struct source_opts *, char *, size_t);
struct source *source_open_file(const struct source_opts *, char *, size_t);
void	source_free(struct source *);
/* Reads up to `max` packets into s->ft.  Returns the number read (0 at
 * the end of a file or when a NIC has nothing), or -1 with s->err. */
int	source_read(struct source *, int);
/* Keep payload bytes for deep inspection (batched packets point into
 * pcap's buffer, which the next packet reuses).  -1 if out of memory. */
int	source_keep_payload(struct source *);
/* Adds pcap_stats drops since the last call to the counters. */
void	source_stats(struct source *);

#endif /* EVFLOW_CAPTURE_H */
