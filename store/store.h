/*
 * evflow-store: per-interface flow tables, the join of process events
 * into packet flows, and the one SQLite writer.
 *
 *   main.c         options, configuration, the loop
 *   records.c      records from the link: route each type to its table
 *   memory.c       the bound on the store's memory in bytes: what a
 *                  record may need, and eviction to make room
 *   intern.c       refcounted table of distinct process/container/meta values
 *   flow_table.c   one live table per interface: lookup, expiry, eviction
 *   flow_merge.c   how a record changes a flow (and the join rules)
 *   schema.c       the SQLite schema and its migrations
 *   community.c    the Community ID of a flow row
 *   writer.c       the writer thread: flow rows handed over in batches
 *   sqlite_sink.c  the one writing connection: transactions, the WAL,
 *                  the small tables (sink.h: private to it and flow_rows.c)
 *   flow_rows.c    flow rows by id, and the process and container rows
 *                  they name
 *   checkpoint.c   the WAL checkpointer thread
 *   retention.c    deletes by age and by database size, and the process
 *                  rows no flow names
 *
 * The loop's thread owns the flow tables and the interned values; the
 * writer thread writes snapshots of changed flows (struct flow_row) and
 * commits; the checkpointer checkpoints the WAL with its own
 * connection.  A flow entry never holds a pointer into a received
 * buffer: strings are interned, numbers copied.
 */
#ifndef EVFLOW_STORE_H
#define EVFLOW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/config.h"
#include "../proto/evflow.h"
#include "clickhouse.h"

/* ---- memory.c: the budget ---------------------------------------- */

/*
 * The store's memory bound (store.max_memory).  Everything allocated
 * because of input charges it before it allocates and gives it back
 * when it frees: interned values and the intern table's arrays
 * (intern.c), flow slots, buckets and TCP info (flow_table.c), the
 * writer's row batches (writer.c).  The loop's thread alone touches it.
 * `used` is exact: it equals intern_mem() + the flow_table_mem() of
 * every table + writer_mem().  mem_charge() refuses (and counts in
 * `refused`) what would pass `max`; the callers then behave as on
 * ENOMEM.  The store makes room before each flow record
 * (store_mem_reserve()), so a refusal there is rare.
 */
struct mem_budget {
	size_t		 used;		/* bytes */
	size_t		 max;		/* bytes, 0 = unbounded */
	uint64_t	 refused;	/* allocations refused */
};

/* 0 and `n` bytes more in use, or -1 (counted) if over the bound. */
int	mem_charge(struct mem_budget *, size_t);
/* `n` bytes given back. */
void	mem_release(struct mem_budget *, size_t);

/* ---- intern.c ---------------------------------------------------- */

/*
 * Distinct byte strings, refcounted, named by a small id (0 = none).
 * A flow holds ids of its processes and containers instead of copies,
 * so a live flow stays small however many flows share one process.
 * Allocates once per distinct value, never per reference.
 */
struct intern_ent;

/*
 * The last process or container values seen, as they came (not
 * normalized), with the entry they were interned as: a record naming
 * one of them again takes a reference without building, hashing and
 * comparing the normalized key (~1,200 instructions a process, two or
 * three times per event: a third of the store loop's work per event,
 * callgrind on e2e.sh).  `serial` tells that the entry is still the
 * one: an id is reused once its value is freed, a serial never.
 */
#define INTERN_MEMO_BITS 6
#define INTERN_MEMO	(1 << INTERN_MEMO_BITS)	/* slots per kind, by
				   pid and tid (processes) or the first
				   bytes of the id (containers) */
struct intern_memo_proc {
	uint32_t	 id, serial;
	struct evp_proc	 raw;
};
struct intern_memo_cont {
	uint32_t	 id, serial;
	struct evp_container raw;
};

struct intern {
	struct intern_ent **ent;	/* by id - 1 */
	uint32_t	 nent;		/* slots used in ent[] */
	uint32_t	 cap;
	uint32_t	*bucket;	/* id of chain head, 0 = empty */
	uint32_t	 nbucket;	/* power of two */
	uint32_t	*freeid;	/* stack of free ids, cap entries */
	uint32_t	 nfree;
	uint32_t	 live;		/* distinct values held */
	uint64_t	 seed;
	size_t		 bytes;		/* heap bytes held by values
					   (malloc_usable_size) */
	int64_t		 last_row;	/* last database row given out */
	uint32_t	 serial;	/* entries made, for the memos */
	struct intern_memo_proc mproc[INTERN_MEMO];
	struct intern_memo_cont mcont[INTERN_MEMO];
	/* The store's budget: held here because the flow tables and
	 * the writer share this table (ft->in, w->in).  Unbounded after
	 * intern_new(); the store sets its max. */
	struct mem_budget mem;
};

struct intern *intern_new(void);
void	intern_free(struct intern *);
/* Returns the id of a value equal to data/len with one more reference,
 * or 0 if len is 0 or memory ran out. */
uint32_t intern_get(struct intern *, const void *, size_t);
void	intern_ref(struct intern *, uint32_t);
void	intern_unref(struct intern *, uint32_t);
/* Borrowed pointer to the value of `id` (valid while referenced). */
const void *intern_data(const struct intern *, uint32_t, size_t *);
size_t	intern_mem(const struct intern *);
/* Upper bound of the bytes interning `n` new values of `bytes` bytes
 * in all would charge (values and the growth of the table's arrays). */
size_t	intern_need(const struct intern *, unsigned, size_t);
/*
 * Processes and containers are rows of their own in the database
 * (tables processes and containers), written once per interned value:
 * intern_row() gives value `id` its row number on first use (the next
 * after last_row, which the store seeds from the database) and sets
 * *fresh to 1 that once, so the caller queues the row's INSERT ahead of
 * the first flow row that refers to it.  A value interned again after
 * its last reference went gets a new row.  intern_min_row() is the
 * lowest row still held (last_row + 1 if none): rows below it that no
 * flow refers to can go (retention.c).
 */
int64_t	intern_row(struct intern *, uint32_t, int *);
int64_t	intern_min_row(const struct intern *);
/* Forgets every value's row (a rolled back transaction may have taken
 * them): the next flow row to name a value inserts it again. */
void	intern_forget_rows(struct intern *);

/* What flows intern: a tag byte, then a normalized struct. */
#define INTERN_PROC	1	/* struct evp_proc */
#define INTERN_CONT	2	/* struct evp_container */
#define INTERN_META	3	/* struct flow_meta + extra text */

/* What the capture's DPI said (struct evp_app), in flow_meta: the
 * strings packed one after another, each a length byte and its bytes
 * (every one is below 256 bytes), in this order. */
enum flow_app_field {
	FAPP_PROTO, FAPP_CATEGORY, FAPP_SNI, FAPP_JA3, FAPP_JA3S, FAPP_JA4,
	FAPP_HTTP_HOST, FAPP_DNS_QUERY, FAPP_MAX
};
#define FLOW_APP_PACKED_MAX	(FAPP_MAX + sizeof(struct evp_app))

/* Flow attributes that rarely change per flow (interned as one value;
 * only offsetof(extra) + extra_len + app_len bytes are stored). */
struct flow_meta {
	uint64_t	producer;
	uint8_t		exporter[16];
	char		ifname[EVP_IFNAME_LEN];
	uint16_t	extra_len;
	uint16_t	app_len;	/* packed app strings after the extra
					   text, 0 = none */
	char		extra[EVP_EXTRA_MAX + FLOW_APP_PACKED_MAX];
					/* extra_len bytes, no NUL, then
					   app_len bytes */
};
/* Borrowed pointer to app string `field` of m and its length in *len;
 * NULL (and 0) if m has none. */
const char *flow_meta_app(const struct flow_meta *, enum flow_app_field,
	    size_t *);

/* Interns a proc/container normalized (bytes after each string's NUL
 * zeroed) so equal values share an id.  0 if the value is empty. */
uint32_t intern_proc(struct intern *, const struct evp_proc *);
uint32_t intern_container(struct intern *, const struct evp_container *);
/* Borrowed views of interned values; NULL for id 0. */
const struct evp_proc *intern_get_proc(const struct intern *, uint32_t);
const struct evp_container *intern_get_container(const struct intern *,
	    uint32_t);
const struct flow_meta *intern_get_meta(const struct intern *, uint32_t);

/* ---- flow_table.c ------------------------------------------------ */

/* Canonical flow key: endpoint 0 is the lower (addr, port). */
struct flow_key {
	uint8_t		addr[2][16];
	uint16_t	port[2];
	uint16_t	vlan;
	uint8_t		proto;
	uint8_t		pad;
};
_Static_assert(sizeof(struct flow_key) == 40, "flow key layout");

/* One socket's TCP info: latest values, bytes as sums of deltas. */
struct flow_tcpside {
	uint32_t	rtt_us, rtt_var_us;
	uint32_t	segs_in, segs_out, unack_segs, lost_pkts;
	uint64_t	rcvd_sum, acked_sum;	/* sum of deltas */
	uint64_t	rcvd_last, acked_last;	/* last absolute value seen */
	uint32_t	set;			/* a record described it */
	uint32_t	pad;
};

/*
 * TCP info (netstat records, CLOSE events) of a flow: each side's socket
 * on its own (never summed: both hosts, or both ends on one host, may
 * report), and the view a row shows: the client's socket if its host
 * reported, else the server's (flow_merge.c).
 */
struct flow_tcpinfo {
	uint32_t	rtt_us, rtt_var_us;	/* the view */
	uint32_t	segs_in, segs_out, unack_segs, lost_pkts;
	uint64_t	rcvd_sum, acked_sum;
	struct flow_tcpside side[2];	/* by key endpoint of the socket */
	uint32_t	next_free;
	uint32_t	pad;
};

/* struct flow.flags */
#define FL_DIRTY	0x0001	/* changed since last written */
#define FL_WRITTEN	0x0002	/* row exists (update, not insert) */
#define FL_PACKETS	0x0004	/* packet (capture) counters present */
#define FL_COUNTERS	0x0008	/* some packet/byte counters present */
#define FL_WIRE		0x0010	/* wire byte counters present */
#define FL_RETRANS	0x0020	/* retransmissions known */
#define FL_TCPFLAGS	0x0040	/* tcp flags known */
#define FL_GUESSED	0x0080	/* sides only guessed by port */
#define FL_PENDING	0x0100	/* event-only entry in a packet iface */
#define FL_ENDED	0x0200	/* packet flow ended, joinable a while */
#define FL_JOINED	0x0400	/* packet flow with process events */
#define FL_MOVED	0x0800	/* last_seen changed since last written
				   (the row's indexes must follow) */
#define FL_FREE		0x8000	/* slot on the free list */

/* Orientation authority (struct flow.orient): higher overrides lower. */
#define ORIENT_GUESSED	1	/* port heuristic */
#define ORIENT_EVENT	2	/* CONNECT/ACCEPT/netstat/netflow direction */
#define ORIENT_PACKET	3	/* packets: who sent the first SYN/packet */

/* Expiry lists (struct flow.list), each with one timeout. */
enum flow_list {
	FLIST_NONE = 0,
	FLIST_IDLE,		/* live: store.flow_idle after last update */
	FLIST_PENDING,		/* event-only: join_window after creation */
	FLIST_ENDED,		/* packet flow ended: join_window after end */
	FLIST_MAX
};

/*
 * One live flow.  Sides are by role: [0] client, [1] server; `cli`
 * says which key endpoint is the client.  Links are slot index + 1.
 * Keep it small: its size is the per-flow memory of the store.
 */
struct flow {
	struct flow_key	key;
	uint32_t	hnext;		/* hash chain */
	uint32_t	prev, next;	/* expiry list */
	uint32_t	qprev, qnext;	/* dirty queue */
	uint32_t	tcpi;		/* tcpinfo slot + 1, 0 = none */
	uint32_t	self;		/* own slot index + 1 */
	uint32_t	meta;		/* intern id of struct flow_meta */
	uint64_t	id;		/* SQLite row id */
	uint64_t	first_usec, last_usec;	/* wall clock, from records */
	uint64_t	touch;		/* monotonic usec: list entry time */
	uint64_t	pkts[2], bytes[2], wire[2];	/* c2s, s2c */
	uint32_t	retrans[2];
	uint32_t	nw_lat_us, cli_lat_us, srv_lat_us;
	uint32_t	events, updates;
	uint32_t	proc[2], parent[2], cont[2];	/* intern ids */
	uint32_t	dirty_ms;	/* monotonic ms (wrapping) it became
					   dirty: the dirty queue's order */
	uint16_t	flags;		/* FL_* */
	uint8_t		last_event;	/* enum evp_event */
	uint8_t		tcp_state;	/* enum evp_tcp_state */
	uint8_t		ip_version;
	uint8_t		tcp_flags[2];
	/* Small values share a byte (a live flow's size is its memory). */
	uint8_t		list:2;		/* enum flow_list */
	uint8_t		orient:2;	/* ORIENT_* */
	uint8_t		cli:1;		/* key endpoint of the client: 0/1 */
	uint8_t		source:3;	/* enum evp_flow_source of creation */
};
_Static_assert(FLIST_MAX <= 4 && ORIENT_PACKET < 4 && EVP_SRC_MAX <= 8,
    "struct flow's bit fields hold their values");

_Static_assert(sizeof(struct flow) <= 216, "a live flow's size is its memory");

/* Slots per pool chunk: the pool grows a chunk at a time, so nothing
 * is copied when it grows and the slack is at most one chunk. */
#define FT_CHUNK_SHIFT	12
#define FT_CHUNK	(1u << FT_CHUNK_SHIFT)

/* Why a flow leaves its table (for accounting and logs). */
enum flow_retire {
	RETIRE_IDLE,		/* store.flow_idle without updates */
	RETIRE_WINDOW,		/* event-only: join window over, a miss */
	RETIRE_ENDED,		/* packet flow ended + join window */
	RETIRE_EVICT,		/* store.max_flows reached */
	RETIRE_PENDING_CAP,	/* store.max_pending reached */
	RETIRE_MEMORY,		/* store.max_memory reached */
	RETIRE_FLUSH,		/* shutdown or interface rebind */
};

/* Per-interface counters (become iface.<name>.<key>). */
enum ft_counter {
	FTC_MERGED,
	FTC_CREATED,
	FTC_JOINS,
	FTC_MISSES,
	FTC_PENDING_EVICTED,
	FTC_PACKET_FLOWS,
	FTC_PACKET_FLOWS_WITH_PROCESS,
	FTC_PACKET_FLOWS_NO_PROCESS,
	FTC_EXPIRED,
	FTC_EVICTED,
	/* store.max_memory evictions, by the list the flow was on */
	FTC_MEM_EVICTED_PENDING,
	FTC_MEM_EVICTED_ENDED,
	FTC_MEM_EVICTED_IDLE,
	FTC_MAX
};
extern const char *const ft_counter_names[FTC_MAX];

struct flow_table;
/* Called before a flow leaves the table (write it if dirty).  The
 * flow is still fully valid during the call. */
typedef void (*flow_retire_cb)(void *, struct flow_table *, struct flow *,
	    enum flow_retire);

struct flow_table {
	struct flow	**chunk;	/* pool: FT_CHUNK slots each */
	uint32_t	 nchunk, chunk_cap;
	uint32_t	 nslot;		/* slots allocated */
	uint32_t	 used;		/* slots ever handed out */
	uint32_t	 free_head;	/* free slot + 1 */
	uint32_t	 live;
	uint32_t	 pending;	/* entries on FLIST_PENDING */
	uint32_t	*bucket;
	uint32_t	 nbucket;	/* power of two */
	uint32_t	*obucket;	/* while growing: the old buckets */
	uint32_t	 onbucket;	/* their number, 0 if none */
	uint32_t	 rehash_pos;	/* old buckets below it are moved */
	uint32_t	 head[FLIST_MAX], tail[FLIST_MAX];
	uint32_t	 qhead, qtail;	/* dirty queue */
	uint32_t	 ndirty;
	struct flow_tcpinfo *tcpi;	/* tcpinfo pool */
	uint32_t	 ntcpi, tcpi_used, tcpi_free;
	uint64_t	 seed;
	int		 packet;	/* a packet interface: join rules */
	/* limits, microseconds and entries */
	uint64_t	 idle_usec, window_usec;
	uint32_t	 max_flows, max_pending;
	struct intern	*in;		/* shared, borrowed */
	uint64_t	*next_id;	/* shared flow id counter, borrowed */
	flow_retire_cb	 retire;
	void		*retire_arg;
	uint64_t	 c[FTC_MAX];
	/* Gauges: live packet flows, and those with a process (with the
	 * packet_flows counters of the flows that left, the attribution
	 * ratio from the first record of a flow, not from its end). */
	uint32_t	 live_packet, live_packet_proc;
};

struct flow_table *flow_table_new(struct intern *, uint64_t *, int,
	    uint32_t, uint32_t, uint64_t, uint64_t);
/* Retires every flow (RETIRE_FLUSH), then frees the table. */
void	flow_table_free(struct flow_table *);
void	flow_table_set_retire(struct flow_table *, flow_retire_cb, void *);
/* Fills the canonical key of a record; returns the key endpoint (0 or
 * 1) that holds the record's client (side 0). */
int	flow_key_make(struct flow_key *, const struct evp_flow *);
struct flow *flow_table_find(struct flow_table *, const struct flow_key *);
/* Hints: prefetches the bucket of r's key and returns the key's hash;
 * then, once the bucket is in cache, the first entry of its chain. */
uint64_t flow_table_prefetch(const struct flow_table *,
	    const struct evp_flow *);
void	flow_table_prefetch_chain(const struct flow_table *, uint64_t);
/* A fresh entry for `key` on the list `l`, evicting if the table or
 * the pending list is full.  NULL only if memory ran out. */
struct flow *flow_table_create(struct flow_table *, const struct flow_key *,
	    enum flow_list, uint64_t);
/* Moves f to the tail of list l with entry time `now`. */
void	flow_table_touch(struct flow_table *, struct flow *, enum flow_list,
	    uint64_t);
/* Queues f as changed at monotonic time `now` (if not queued yet). */
void	flow_table_mark_dirty(struct flow_table *, struct flow *, uint64_t);
/* Pops the oldest dirty flow if it became dirty at or before monotonic
 * time `before` (clearing FL_DIRTY), else NULL. */
struct flow *flow_table_pop_dirty(struct flow_table *, uint64_t);
/* 1 if the oldest dirty flow became dirty at or before `before`. */
int	flow_table_dirty_before(const struct flow_table *, uint64_t);
/* Monotonic time the oldest dirty flow became dirty, UINT64_MAX if
 * none (`now`: the time now). */
uint64_t flow_table_dirty_since(const struct flow_table *, uint64_t);
/* Retires flows whose list deadline is before `now`, at most `max`.
 * Returns how many were retired. */
unsigned flow_table_expire(struct flow_table *, uint64_t, unsigned);
/* Monotonic usec of the nearest deadline, UINT64_MAX if none. */
uint64_t flow_table_deadline(const struct flow_table *);
/* Retires and frees every entry (RETIRE_FLUSH). */
void	flow_table_flush(struct flow_table *);
/* Retires and frees one entry. */
void	flow_table_retire(struct flow_table *, struct flow *,
	    enum flow_retire);
struct flow_tcpinfo *flow_tcpinfo(struct flow_table *, struct flow *, int);
/* 1 if either side carries a process. */
int	flow_has_process(const struct flow *);
/* Adds (+1) or takes back (-1) f in the live attribution gauges: call
 * with -1 before changing a flow, +1 after. */
void	flow_table_attr(struct flow_table *, const struct flow *, int);
/* Packet flows with a process / packet flows, those that left the
 * table and the live ones; -1 if there are none. */
double	flow_table_attribution(const struct flow_table *);
/* Heap bytes held by the table (itself, pool, buckets, tcpinfo):
 * what it charged to the budget ft->in->mem. */
size_t	flow_table_mem(const struct flow_table *);
/* Upper bound of the bytes one record may make the table allocate
 * beyond its interned values: the TCP info pool's growth if `tcp`, and
 * a chunk of slots if it holds no flow it could evict for a slot. */
size_t	flow_table_need(const struct flow_table *, int);
/* The first (oldest) flow on list l, or NULL. */
struct flow *flow_table_head(struct flow_table *, enum flow_list);

/* ---- flow_merge.c ------------------------------------------------ */

/* The interned processes and containers of a record's sides (by record
 * side), made once for every interface the record lands in; each id
 * holds one reference until flow_vals_drop(). */
struct flow_vals {
	uint32_t	proc[2], parent[2], cont[2];
};
void	flow_vals_make(struct intern *, const struct evp_flow *,
	    struct flow_vals *);
void	flow_vals_drop(struct intern *, struct flow_vals *);

/* Merges one flow record into table ft at monotonic time `now`,
 * creating the entry if needed and applying the join rules of a packet
 * interface; `v` holds the record's interned values (NULL: interned
 * here).  Returns 0, or -1 if no entry could be made (memory). */
int	flow_merge(struct flow_table *, const struct evp_flow *,
	    const struct flow_vals *, uint64_t);

/* ---- writer.c ---------------------------------------------------- */

/*
 * A flow's row as the loop hands it to the writer: a copy of the entry
 * and of its TCP info, the interface row, and the interned values the
 * entry names, resolved.  Each interned value keeps a reference until
 * the batch comes back to the loop, so the writer reads values that
 * cannot change or go away, and never touches the intern table.
 */
enum { REF_PROC, REF_PARENT, REF_CONT, REF_MAX };	/* per side */
struct flow_row {
	struct flow	 f;
	struct flow_tcpinfo tcpi;
	int64_t		 iface_id;
	const struct flow_meta *meta;
	const struct evp_proc *proc[2], *parent[2];
	const struct evp_container *cont[2];
	int64_t		 ref[2][REF_MAX];	/* their rows, 0 = none */
	uint8_t		 fresh[2][REF_MAX];	/* insert that row first */
	int		 has_tcpi;
	uint32_t	 epoch;		/* the writer's epoch it was made in
					   (writer.c: heal()) */
};

/* Fills r from f for interface row iface_id (t: its TCP info or NULL),
 * the interned values resolved but not referenced, and their rows
 * (intern_row(): the first flow row to refer to one inserts it). */
void	flow_row_make(struct intern *, struct flow_row *, int64_t,
	    const struct flow *, const struct flow_tcpinfo *);

/* Rows the loop may gather before it must hand them over (and wait for
 * the writer if it is busy). */
#define WRITER_BATCH_MAX	16384

/* Back-off between attempts to commit again after a failed commit. */
#define WRITER_RETRY_MIN_USEC	100000
#define WRITER_RETRY_MAX_USEC	5000000

/* What the writer says about failed commits (writer_stats()). */
struct writer_stats {
	int		 failing;	/* the last commit failed: rows wait */
	uint64_t	 failing_since;	/* wall usec, 0 if not failing */
	uint64_t	 retry_rows;	/* rows held for the next attempt */
	uint64_t	 rows_dropped;	/* past store.write_retry_max, or no
					   memory to queue them while failing */
	uint64_t	 retries;	/* attempts after a failed commit */
	uint64_t	 recovered;	/* failing periods that ended */
	/* The number writer_hand() gave the last batch a successful commit
	 * took: every row handed up to it is in the database (or was
	 * dropped, counted in rows_dropped).  Nothing after it may be
	 * acknowledged to a sender as stored. */
	uint64_t	 committed_seq;
};

struct sink;
struct writer;
/* A writer on sink k for values interned in `in`, keeping at most
 * `retry_max` bytes of rows while commits fail (0: no bound); it writes
 * inline (in the caller's thread) until writer_start().  NULL if out
 * of memory. */
struct writer *writer_new(struct sink *, struct intern *, size_t);
/* Flow rows go to ClickHouse sink ch too (NULL: not), and to SQLite
 * unless `sqlite` is 0 (store.sink = clickhouse). */
void	writer_clickhouse(struct writer *, struct ch_sink *, int);
/* Starts the thread.  -1 with err (the writer stays inline). */
int	writer_start(struct writer *, char *, size_t);
/* Writes and commits what is queued (one last attempt if commits are
 * failing: what it cannot write is counted dropped), stops the thread,
 * frees. */
void	writer_free(struct writer *);
/* Queues the row of flow f (a copy; f may change or go right after). */
void	writer_add(struct writer *, int64_t, const struct flow *,
	    const struct flow_tcpinfo *);
/* 1 if the writer can take a batch now (taking back the batches it
 * committed): nothing queued (it may be writing one; the next batch
 * overlaps it).  0 while a batch waits, or while commits fail: changed flows
 * then wait in their tables (a flow changed again is still one row),
 * and only the rows of flows that leave their table are queued. */
int	writer_ready(struct writer *);
/* 1 if the thread has nothing to write: no batch queued or in hand
 * (loop thread). */
int	writer_idle(struct writer *);
/* Hands the queued rows over and commits after them if `commit`: waits
 * while a batch handed before is not taken yet, never while commits
 * fail.  Inline:
 * writes them now.  Returns the batch's number (increasing; see
 * writer_stats' committed_seq), 0 if nothing could be handed. */
uint64_t writer_hand(struct writer *, int);
/*
 * A commit hook (delivery.c): writer_hand_mark() hands the queued rows
 * with a commit, and `fn(arg, sink, mark)` runs on the writer's thread
 * after the batch's rows, in their transaction (again whenever a failed
 * commit's rows are written again).  writer_hand_mark() returns the
 * batch's number as writer_hand() (0: not handed, no mark); once
 * writer_stats' committed_seq reaches it, the mark's rows are in.
 */
void	writer_set_hook(struct writer *, int (*)(void *, struct sink *,
	    void *), void *);
uint64_t writer_hand_mark(struct writer *, void *);
/* Hands everything over and waits until it is written and committed,
 * or, while commits fail, held for the next attempt. */
void	writer_sync(struct writer *);
/* Readable when the thread gave batches back (-1 if inline). */
int	writer_fd(const struct writer *);
/* Rows queued, being written, or written and not yet committed. */
size_t	writer_queued(const struct writer *);
size_t	writer_mem(const struct writer *);
/* Upper bound of the bytes queueing `rows` more rows may charge. */
size_t	writer_need(const struct writer *, size_t);
void	writer_stats(struct writer *, struct writer_stats *);

/* ---- sqlite_sink.c ----------------------------------------------- */

#define SINK_SCHEMA_VERSION	7
/* PRAGMA application_id of an evflow database ("EvFw"); user_version
 * holds the schema version too.  See schema.c, schema_check(). */
#define SCHEMA_APPLICATION_ID	0x45764677

/* schema.c: brings the database to version `target` (1..current),
 * migrating in one transaction.  Returns the version it is at, or -1
 * with err (a newer version than this binary knows is refused). */
struct sqlite3;
int	schema_upgrade(struct sqlite3 *, int, char *, size_t);
/* schema.c: is the file ours (or empty, or none)?  Reads only.  The
 * schema version found, or -1 with err (another application's file, a
 * newer schema). */
int	schema_check(struct sqlite3 *, char *, size_t);

/* community.c: the Community ID (common/community_id.h) of a flow from
 * its client to its server, into out; NULL for ICMP without a type
 * (icmp_type -1).  flow_row_community_id() takes a live flow and its
 * meta (NetFlow's ICMP_TYPE / ICMP_CODE in extra).
 * community_sql_register() adds the SQL function evflow_community_id()
 * that the migration to version 5 uses; 0 or -1. */
const char *flow_community_id(char *, uint8_t, const uint8_t[16], uint16_t,
	    const uint8_t[16], uint16_t, int, int);
const char *flow_row_community_id(char *, const struct flow *,
	    const struct flow_meta *);
int	community_sql_register(struct sqlite3 *);

struct sink_stats {
	uint64_t	rows_inserted;
	uint64_t	rows_updated;
	uint64_t	transactions;
	uint64_t	write_errors;
	uint64_t	flows_written;
	uint64_t	rollbacks;	/* commits that failed (the writer
					   keeps its rows and retries) */
	uint64_t	rows_lost;	/* rows the loop wrote in a
					   transaction that failed */
	uint64_t	flows_lost;	/* flow rows among them (written
					   in the loop: no room to queue) */
	uint64_t	wal_restarts;	/* see wal_restart() */
	uint64_t	wal_restarts_busy;
	char		error[128];	/* last failure, "" if none */
};

/* Opens (creating or migrating) the database: path, cache bytes,
 * `incremental` (a new file gets incremental auto_vacuum: its size has
 * a bound), `target_version` (SINK_SCHEMA_VERSION except in tests of
 * migrations).  NULL with err. */
struct sink *sink_open(const char *, long long, int, int, char *, size_t);
void	sink_close(struct sink *);
void	sink_stats(struct sink *, struct sink_stats *);
/* Counter history samples go to ClickHouse sink ch too (NULL: not). */
void	sink_clickhouse(struct sink *, struct ch_sink *);
/* Highest flow id in the database (new ids continue after it). */
uint64_t sink_max_flow_id(struct sink *);
/* Highest process or container row (intern_row() continues after it). */
int64_t	sink_max_ref_id(struct sink *);
/*
 * Process and container rows no flow refers to any more (retention.c).
 * sink_refs_scan() adds to a temporary set the references below
 * `below` of the flow rows with ids in (lo, hi]; sink_refs_sweep()
 * deletes the process and container rows with ids in [from, to) not in
 * the set; sink_refs_reset() empties it.  Rows changed or -1.
 */
long long sink_refs_scan(struct sink *, int64_t, int64_t, int64_t);
long long sink_refs_sweep(struct sink *, int64_t, int64_t);
void	sink_refs_reset(struct sink *);
int	sink_schema_version(struct sink *);
/* The size past which the WAL is started over after a commit (default
 * 64 MB; see wal_restart() in sqlite_sink.c), and cut back to. */
void	sink_wal_limit(struct sink *, long long);
/* The connection, for tests that inject faults. */
struct sqlite3 *sink_handle(struct sink *);
/* Rows a transaction may gather before the writer commits it: past the
 * page cache, SQLite spills dirty pages in one long write, holding the
 * sink's mutex (measured when the loop wrote: 100+ ms turns with
 * 150k-row transactions; 40000 rows gained nothing over 10000). */
#define STORE_TXN_ROWS	10000
/* Every write opens a transaction if none is open; whoever owns the
 * writing commits. */
int	sink_begin(struct sink *);
/* Rows written in the open transaction. */
unsigned long sink_txn_rows(struct sink *);
int	sink_commit(struct sink *);
int	sink_in_txn(struct sink *);
/* Inserts or updates a flow's row (by id). */
int	sink_write_flow(struct sink *, const struct flow_row *);
/* Writes n rows, holding the connection a chunk at a time; returns how
 * many failed (counted in write_errors). */
size_t	sink_write_flows(struct sink *, const struct flow_row *, size_t);
/* Interface table: returns the row id for `name`, updating its row. */
int64_t	sink_iface(struct sink *, const char *, const char *, int, int,
	    const char *);
/* Moves rows of placeholder interface `from` to `to`, deletes `from`. */
int	sink_iface_merge(struct sink *, int64_t, int64_t);
/* Calls fn(arg, name, kind, router_id, mirrored) for each interface row
 * with a router id, to restore the table at start. */
int	sink_iface_load(struct sink *, void (*)(void *, int64_t,
	    const char *, const char *, int, int), void *);
int	sink_ifcounter(struct sink *, int64_t, const struct evp_ifcounter *,
	    double, double, double, double, int);
int	sink_listen(struct sink *, int64_t, const struct evp_listen *);
int	sink_producer(struct sink *, int64_t, const struct evp_producer *);
/* host_names: the name seen for an address (a pair seen again moves
 * its last_seen). */
int	sink_hostname(struct sink *, const struct evp_hostname *);
/* One counter: its value is the row's base + `value` (this run's
 * count); a history sample of that total if `history`. */
int	sink_counter(struct sink *, const char *, const char *, const char *,
	    uint64_t, double, int);
/*
 * Daemon `daemon` restarted: what its rows count so far becomes their
 * base (gauges excepted, common/counters.h counter_is_gauge()), so its
 * new run's counts add to it.  0 or -1.
 */
int	sink_counters_fold(struct sink *, const char *);
/* The value of one counter (its total), or -1 if none. */
int64_t	sink_counter_value(struct sink *, const char *, const char *);
/*
 * Calls fn(arg, key, value) for each counter of daemon `daemon` in
 * daemon_counters (the mutex held: fn must not call the sink).  The
 * latest values written, which a restarted store continues from (see
 * struct store's base[]).  0 or -1.
 */
int	sink_counters_load(struct sink *, const char *,
	    void (*)(void *, const char *, uint64_t), void *);
/* Retention: deletes rows older than `before` (unix seconds); at most
 * `limit` rows of each table per call.  Returns rows deleted or -1. */
long long sink_delete_before(struct sink *, double, int);
/* Deletes the `n` oldest flows.  Returns rows deleted or -1. */
long long sink_delete_oldest(struct sink *, int);
/* Bytes the database occupies (page_count - freelist) * page_size. */
long long sink_db_bytes(struct sink *);
/* Size of the WAL file, or -1. */
long long sink_wal_bytes(struct sink *);
/* Bytes of the loop's rows (interface counters, listening sockets,
 * producers, host names, counter samples; their SQL text) kept while
 * commits fail, written again in the next transaction (64 MB by
 * default; store.write_retry_max).  Past it they are counted lost. */
void	sink_replay_max(struct sink *, size_t);
/* PRAGMA auto_vacuum: 0 none, 1 full, 2 incremental (new databases). */
int	sink_auto_vacuum(struct sink *);
/* Turns a database made without auto_vacuum to incremental: VACUUM
 * (it rewrites the file: time and free disk space in proportion to its
 * size).  Commits what is open first.  0, or -1 with err. */
int	sink_convert_incremental(struct sink *, char *, size_t);
/* Bytes of the database file (page_count * page_size, free pages
 * included), and of its free pages in *free_bytes; -1 on error. */
long long sink_file_bytes(struct sink *, long long *);
/* Gives up to `pages` free pages back to the file system (PRAGMA
 * incremental_vacuum, in the open transaction; the file shrinks when
 * the WAL is checkpointed).  Pages freed, or -1. */
long long sink_vacuum_step(struct sink *, int);

/* ---- checkpoint.c ------------------------------------------------ */

/* Starts a thread checkpointing the WAL of database `path` once a
 * second with its own connection; NULL if it cannot. */
struct checkpointer;
struct checkpointer *ckpt_start(const char *);
/* Stops and joins the thread. */
void	ckpt_stop(struct checkpointer *);

/* ---- retention.c ------------------------------------------------- */

struct retention {
	long long	max_age;	/* seconds, 0 = keep forever */
	long long	max_bytes;	/* 0 = unlimited */
	uint64_t	deleted;	/* rows */
	uint64_t	runs;
	uint64_t	size_runs;	/* runs that deleted for size */
	int		incremental;	/* the database has incremental
					   auto_vacuum: the bound is on the
					   file (retention.c) */
	uint64_t	vacuumed;	/* pages given back to the file system */
	uint64_t	next_check;	/* monotonic usec: retention_over() */
	int		active;		/* a pass is in progress */
	int		phase;		/* by age, by size, then refs */
	int		size_counted;
	/* process and container rows no flow refers to (retention.c) */
	struct intern	*in;		/* the loop's; NULL: never swept */
	long long	refs_interval;	/* seconds between sweeps (0: every
					   pass) */
	double		refs_last;	/* wall time of the last sweep */
	uint64_t	refs_deleted;	/* rows */
	int64_t		below;		/* rows under it may go */
	int64_t		at, end;	/* scan: flow ids; sweep: rows */
};

#define STORE_REFS_SWEEP_SEC	3600	/* unreferenced processes, at most */

/* Begins a pass; retention_step() then deletes one chunk per call at
 * wall time `now` (unix seconds) until r->active is 0.  Returns rows
 * deleted or -1.  retention_run() is a whole pass at once. */
void	retention_start(struct retention *);
long long retention_step(struct retention *, struct sink *, double);
long long retention_run(struct retention *, struct sink *, double);
/* 1 if a pass should start now for size: the file is past 95% of
 * store.max_db_size (checked at most once a second, monotonic usec). */
int	retention_over(struct retention *, struct sink *, uint64_t);

/* ---- records.c, main.c ------------------------------------------ */

/*
 * The store's counters.  Every received record ends in exactly one of
 * stored, bad_records, no_iface, no_memory or write_drops:
 *   received = stored + bad_records + no_iface + no_memory + write_drops
 */
enum store_counter {
	SC_RECEIVED,
	SC_RECV_FLOW, SC_RECV_IFACE, SC_RECV_IFCOUNTER, SC_RECV_LISTEN,
	SC_RECV_PRODUCER, SC_RECV_STATS, SC_RECV_HOSTNAME,
	SC_STORED,
	SC_BAD_RECORDS,		/* failed decode or out of range */
	SC_NO_IFACE,		/* flow with an empty interface mask */
	SC_NO_MEMORY,		/* no flow entry could be made */
	SC_WRITE_DROPS,		/* non-flow records whose row failed */
	SC_LOST,		/* sequence gaps (link) */
	SC_BAD_MSGS,		/* malformed batches (link) */
	SC_UNKNOWN_IFACE,	/* records for a bit with no interface entry */
	SC_MERGED,		/* flow records merged, per destination */
	SC_FLOWS_CREATED, SC_FLOWS_WRITTEN, SC_FLOWS_EXPIRED, SC_FLOWS_EVICTED,
	SC_ROWS_INSERTED, SC_ROWS_UPDATED, SC_TRANSACTIONS, SC_WRITE_ERRORS,
	SC_RETENTION_DELETED, SC_RETENTION_RUNS, SC_RETENTION_REFS_DELETED,
	SC_LIVE_FLOWS, SC_PENDING_EVENTS, SC_DIRTY_FLOWS,
	SC_UNCOMMITTED_ROWS,	/* rows written, not yet committed (gauge) */
	SC_DB_BYTES,
	SC_WAL_BYTES,		/* gauge: the WAL file */
	SC_DB_FILE_BYTES,	/* gauge: the database file (free pages
				   included) */
	SC_RETENTION_VACUUMED,	/* pages given back to the file system */
	SC_WAL_RESTARTS, SC_WAL_RESTARTS_BUSY,
	SC_MEM_BYTES,		/* gauge: accounted bytes (struct mem_budget) */
	SC_MEM_MAX,		/* gauge: store.max_memory */
	SC_MEM_EVICTED,		/* flows evicted for memory (written first) */
	SC_MEM_REFUSED,		/* flow records refused for memory: in
				   no_memory too */
	SC_MEM_ALLOC_REFUSED,	/* allocations the budget refused */
	SC_WRITE_ERROR_STATE,	/* gauge: 1 while commits fail */
	SC_WRITE_RETRY_ROWS,	/* gauge: rows held for the next attempt */
	SC_WRITE_RETRIES,	/* attempts to commit again */
	SC_WRITE_ROWS_DROPPED,	/* flow rows never written: past
				   store.write_retry_max while commits fail */
	SC_WRITE_OTHER_DROPPED,	/* other rows (samples, interface counters,
				   listening sockets, producers) lost with
				   a transaction that failed */
	SC_COMMIT_FAILURES,	/* commits that failed */
	SC_SLOW_TURNS,		/* loop turns over STORE_SLOW_TURN_USEC */
	SC_MAX_TURN_USEC,	/* longest loop turn (gauge) */
	/* ClickHouse (struct ch_stats; 0 unless store.sink has it):
	 * queued = sent + dropped + pending */
	SC_CH_ROWS, SC_CH_ROWS_SENT, SC_CH_ROWS_DROPPED,
	SC_CH_ROWS_DROPPED_MEMORY, SC_CH_ROWS_PENDING, SC_CH_BYTES_PENDING,
	SC_CH_INSERTS, SC_CH_INSERT_ERRORS, SC_CH_SHARDS_DOWN,
	SC_CH_PARTITIONS_DROPPED,
	/* delivery.c: origins' records, all lives of the database */
	SC_DELIVERY_LOST,	/* never arrived (sequence gaps) */
	SC_DELIVERY_DUPLICATES,	/* replays skipped: not in received */
	SC_DELIVERY_REFUSED,	/* out of order, left for the replay: not
				   in received */
	/* Other daemons' counters (store_counters_run). */
	SC_DAEMON_RESTARTS,	/* restarts seen: their totals folded */
	SC_STATS_OLD_RUN,	/* stats of the run the rows counted before
				   (a late replay): not written */
	SC_ROWS_OLDER_THAN_RETENTION,	/* flows first written already
				   older than store.retention: the next
				   retention pass deletes them */
	SC_MAX
};
extern const char *const store_counter_names[SC_MAX];
/* 1 for a gauge (a value now, not a count): it does not continue from
 * the database's value after a restart. */
extern const uint8_t store_counter_gauge[SC_MAX];

struct store_conf {
	char		datadir[CONF_STR_LEN];
	char		database[CONF_STR_LEN];
	char		endpoint[CONF_STR_LEN];
	long long	flush_interval;	/* seconds */
	long long	flow_idle;	/* seconds */
	long long	max_flows;
	long long	max_pending;
	long long	join_window;	/* seconds */
	long long	retention;	/* seconds */
	long long	max_db_size;	/* bytes */
	long long	cache_size;	/* bytes */
	long long	wal_limit;	/* bytes */
	long long	history_interval;	/* seconds */
	long long	write_slice;	/* rows per slice */
	long long	max_memory;	/* bytes, 0 = unbounded (tests) */
	long long	write_retry_max;	/* bytes, 0 = unbounded */
	char		sink[16];	/* sqlite, clickhouse or both */
	struct ch_conf	ch;
	long long	max_origins;	/* senders tracked for delivery */
};

struct store;
struct store_iface {
	struct store	*st;
	unsigned	 bit;
	int		 known;		/* an EVP_IFACE or db row named it */
	int64_t		 db_id;		/* interfaces.id, 0 = not bound */
	int		 placeholder;	/* bound to "#<bit>" */
	uint32_t	 kind;		/* enum evp_iface_kind, 0 unknown */
	uint32_t	 mirrored;
	uint32_t	 companion;	/* id + 1 */
	char		 name[EVP_NAME_LEN];
	struct flow_table *ft;
	/* The table's counters since the database began: base (what
	 * daemon_counters held for "iface.<base_of>.*" at start) + ft->c. */
	char		 base_of[EVP_NAME_LEN];
	uint64_t	 base[FTC_MAX];
	uint64_t	 total[FTC_MAX];
};

/* A counter as daemon_counters held it when the store started. */
struct ctr_saved {
	char		*key;
	uint64_t	 value;
};

/* Latest history sample time per daemon name. */
#define STORE_MAX_DAEMONS	128
/* Previous interface counter samples kept for rates. */
#define STORE_IFC_PREV		1024

struct ifc_prev {
	uint64_t	hash;
	uint64_t	ts_usec;
	uint64_t	in_octets, out_octets, in_pkts, out_pkts;
};

struct store {
	struct store_conf conf;
	char		 name[EVP_NAME_LEN];
	struct sink	*sink;
	struct writer	*w;
	struct ch_sink	*ch;		/* NULL unless store.sink has it */
	struct intern	*in;
	struct retention ret;
	/*
	 * Counters persist across restarts: c[] counts since this start
	 * (everything in the store adds to c[] or sets it); base[] is what
	 * the database held at start (daemon_counters, store_init()); the
	 * stats frame shows, and daemon_counters receives, total[] = base +
	 * c (c alone for a gauge), refreshed by store_sync_counters().  So
	 * a counter added to enum store_counter persists with nothing more
	 * to do (mark it in store_counter_gauge[] if it is a gauge).
	 */
	uint64_t	 base[SC_MAX];
	uint64_t	 total[SC_MAX];
	struct ctr_saved *saved;	/* every counter at start, by key */
	size_t		 nsaved;
	uint64_t	 next_id;
	uint64_t	 rollbacks;	/* sink rollbacks seen */
	/* The writer's state for the stats frame (store_sync_counters()):
	 * the last SQLite failure, and since when commits fail (wall usec,
	 * 0 if they work). */
	char		 write_error[128];
	uint64_t	 write_failing_since;
	struct store_iface iface[EVP_MAX_IFACES];
	uint64_t	 c[SC_MAX];
	struct {
		char	 name[EVP_NAME_LEN];
		uint64_t last_usec;
		/* The daemon's run (COUNTER_RUN_START) its rows count;
		 * 0 until known.  A later one folds them (store_stats_rec). */
		uint64_t run_start;
		uint64_t prev_run;	/* the run before it, if seen */
	}		 hist[STORE_MAX_DAEMONS];
	unsigned	 nhist;
	struct ifc_prev	 ifc[STORE_IFC_PREV];
	uint64_t	 hash_seed;
	uint64_t	 last_hist_usec;	/* own counters' last sample */
	uint64_t	 db_bytes_usec;	/* db_bytes last read (monotonic) */
	unsigned	 rr;		/* round robin over tables */
	struct evp_flow	 fl[2];		/* decoded flow records: the one
					   arriving and the one held */
	unsigned	 fcur;		/* fl[] the next flow decodes into */
	int		 pend;		/* fl[fcur ^ 1] waits to be merged */
	uint64_t	 pend_now;	/* its arrival (monotonic usec) */
	struct delivery	*dlv;		/* delivery.h; NULL: untracked */
	union {				/* decoded record (no allocation) */
		struct evp_iface	iface;
		struct evp_ifcounter	ifc;
		struct evp_listen	listen;
		struct evp_producer	producer;
		struct evp_stats	stats;
		struct evp_hostname	hostname;
	}		 rec;
};

struct link_sender;

/* records.c */
int	store_init(struct store *, const struct store_conf *, const char *,
	    int, char *, size_t);
void	store_fini(struct store *);
/* link_in callback: one record from a sender. */
void	store_record(void *, const struct link_sender *,
	    const struct evp_rec_hdr *, const void *);
/* Handles one decoded record at monotonic time `now`. */
void	store_flow(struct store *, const struct evp_flow *, uint64_t);
/* Merges the flow record store_record() holds back, if any (see
 * records.c); whoever ends a receive turn calls it. */
void	store_flow_pending(struct store *);
void	store_iface_rec(struct store *, const struct evp_iface *);
void	store_ifcounter(struct store *, const struct evp_ifcounter *);
void	store_listen(struct store *, const struct evp_listen *);
void	store_producer(struct store *, const struct evp_producer *);
void	store_hostname(struct store *, const struct evp_hostname *);
void	store_stats_rec(struct store *, const struct evp_stats *, uint64_t);
/* Daemon `name` (entry `slot` of st->hist) sends stats of run `run`
 * (COUNTER_RUN_START, 0 if none): another run than its rows' folds their
 * totals into their base first.  0 to write the record, 1 to leave it
 * (the run folded before), -1 if the fold failed. */
int	store_counters_run(struct store *, unsigned, const char *, uint64_t);
/* Queues the rows of up to `max` dirty flows that became dirty at or
 * before monotonic time `before` (UINT64_MAX: any); returns how many. */
unsigned store_queue_dirty(struct store *, unsigned, uint64_t);
/* Monotonic time the oldest waiting change was made (UINT64_MAX if
 * none), `now` being the time now. */
uint64_t store_dirty_since(const struct store *, uint64_t);
/* Queues up to `max` and hands them to the writer (an inline writer
 * writes them now); returns how many remain dirty. */
uint64_t store_write_dirty(struct store *, unsigned);
/* Every change written and committed when it returns. */
void	store_sync(struct store *);
/* Retires expired flows; returns how many were retired. */
unsigned store_expire(struct store *, uint64_t, unsigned);
uint64_t store_deadline(const struct store *);
/* Writes the store's own counters at monotonic time `now` (and a
 * history sample when store.history_interval has passed). */
void	store_write_counters(struct store *, uint64_t);
/* Retires every flow, writes, commits. */
void	store_flush_all(struct store *);
/* Refreshes gauges and the sink's counters into st->c, and the totals
 * (st->total, each table's total). */
void	store_sync_counters(struct store *);
/* The stats frame (common/daemon.h): whole, or the fields after the
 * counters (interfaces, the counters since start).  Counters in it are
 * totals since the database began. */
void	store_stats_json(struct store *, struct buf *);
void	store_stats_extra(void *, struct buf *);
/* memory.c: makes room in the budget for flow record r (evicting:
 * event-only pending entries first, then ended packet flows, then the
 * least recently updated flows, oldest first over every table, each
 * written before it goes).  0, or -1 if it still does not fit (the
 * caller refuses the record; counted in SC_MEM_REFUSED). */
int	store_mem_reserve(struct store *, const struct evp_flow *);

/* clickhouse.c: opens the ClickHouse sink of store.sink (nothing for
 * sqlite), 0 or -1 with err; copies its counters into st->c. */
int	store_clickhouse_open(struct store *, const struct store_conf *,
	    char *, size_t);
void	store_clickhouse_counters(struct store *);

/* Bytes of memory per live flow (tables + interned values). */
double	store_bytes_per_flow(const struct store *, uint64_t *);

#endif
