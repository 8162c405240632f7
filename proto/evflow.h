/*
 * evflow inter-process protocol: the one definition of what crosses a
 * process boundary (collector, capture -> router -> store).
 *
 * A nanomsg message is a batch: one struct evp_batch_hdr followed by
 * `count` records.  Each record is a struct evp_rec_hdr followed by
 * exactly `len` bytes of body.  Bodies are the fixed-layout structs below,
 * copied as they are, except EVP_FLOW: a flow struct is 2.3 KB, mostly
 * empty string space, so on the wire it is encoded compactly (the
 * network part as is, then only the sides' parts that are present, each
 * string as a length byte and its bytes, then the used extra); see
 * evp_flow_encode().  All integers are host order; the
 * protocol is for hosts of one byte order (checked below) and the batch
 * magic makes a mismatch loud rather than silent.
 *
 * Every sender opens with EVP_HELLO and numbers its records with a
 * per-sender sequence, so a receiver counts every lost record.
 * Receivers never cast a received buffer: they copy it out with
 * evp_decode_*(), which checks length, type, version and strings.
 */
#ifndef EVFLOW_PROTO_H
#define EVFLOW_PROTO_H

#include <stddef.h>
#include <stdint.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "evflow's record layout assumes a little-endian host"
#endif

#define EVP_VERSION		1
#define EVP_MAGIC		0x31465645u	/* "EVF1" */
#define EVP_BATCH_MAX_RECORDS	256
#define EVP_BATCH_MAX_BYTES	(512 * 1024)	/* bytes per nanomsg message */

enum evp_type {
	EVP_HELLO = 1,		/* struct evp_hello: first record of a sender */
	EVP_FLOW = 2,		/* struct evp_flow: event or packet flow update */
	EVP_IFCOUNTER = 3,	/* struct evp_ifcounter: interface counters */
	EVP_LISTEN = 4,		/* struct evp_listen: a listening socket */
	EVP_PRODUCER = 5,	/* struct evp_producer: a producer's health */
	EVP_STATS = 6,		/* struct evp_stats: a daemon's counters */
	EVP_IFACE = 7,		/* struct evp_iface: one interface table entry */
	EVP_HOSTNAME = 8,	/* struct evp_hostname: a name seen for an address */
	EVP_ORIGIN = 9,		/* struct evp_origin: who first sent the next
				   records (router -> store) */
	EVP_TYPE_MAX
};

/* Who sends.  Used in hello and stats. */
enum evp_role {
	EVP_ROLE_COLLECTOR = 1,
	EVP_ROLE_CAPTURE = 2,
	EVP_ROLE_ROUTER = 3,
	EVP_ROLE_STORE = 4,
	EVP_ROLE_WEBD = 5,
	EVP_ROLE_TOOL = 6,
	EVP_ROLE_RELAY = 7,	/* evflow-relay: batches between hosts */
	EVP_ROLE_MAX
};

/* String bounds (bytes, including the NUL). */
#define EVP_NAME_LEN		64	/* interface and daemon names */
#define EVP_IFNAME_LEN		32	/* IF_NAME from an event */
#define EVP_PATH_LEN		128	/* PROCESS_PATH */
#define EVP_CMDLINE_LEN		128	/* PROCESS_CMDLINE */
#define EVP_USER_LEN		32	/* UID_NAME, GID_NAME */
#define EVP_CID_LEN		72	/* container id (64 hex + room) */
#define EVP_CNAME_LEN		64	/* container, pod, namespace names */
#define EVP_EXTRA_MAX		1024	/* unknown keys, as a JSON object text */
#define EVP_INFO_LEN		1024	/* a producer's stats object, JSON text */
#define EVP_STATS_MAX		64	/* counters in one stats record */
#define EVP_STAT_NAME_LEN	40
#define EVP_HOST_LEN		256	/* DNS name, TLS SNI, HTTP Host */
#define EVP_APP_PROTO_LEN	48	/* "TLS.YouTube" (master.app) */
#define EVP_APP_CAT_LEN		32	/* nDPI category name */
#define EVP_FP_LEN		40	/* JA3 (32 hex) or JA4 (36 chars) */

struct evp_batch_hdr {
	uint32_t	magic;		/* EVP_MAGIC */
	uint16_t	version;	/* EVP_VERSION */
	uint16_t	count;		/* records that follow */
	uint64_t	sender;		/* random id of the sending process */
};
_Static_assert(sizeof(struct evp_batch_hdr) == 16, "batch header layout");

struct evp_rec_hdr {
	uint16_t	type;		/* enum evp_type */
	uint16_t	version;	/* record layout version (EVP_VERSION) */
	uint32_t	len;		/* body bytes that follow */
	uint64_t	seq;		/* per-sender record sequence, from 1 */
};
_Static_assert(sizeof(struct evp_rec_hdr) == 16, "record header layout");

struct evp_hello {
	uint32_t	proto_version;	/* EVP_VERSION of the sender */
	uint32_t	role;		/* enum evp_role */
	uint32_t	pid;
	uint32_t	flags;		/* EVP_HELLO_F_* */
	uint64_t	start_usec;	/* wall clock, microseconds */
	char		name[EVP_NAME_LEN];	/* daemon instance name */
	char		iface[EVP_NAME_LEN];	/* interface it feeds, or "" */
	uint64_t	held_from;	/* EVP_HELLO_F_REPLAY: the oldest record
					   sequence the sender still holds
					   for replay (its next sequence if
					   it holds none) */
};
_Static_assert(sizeof(struct evp_hello) == 160, "hello layout");

/* evp_hello.flags */
#define EVP_HELLO_F_REPLAY	0x01	/* keeps its records until the store
					   acknowledges them (docs/design.md,
					   "Delivery"), and resends them */

/*
 * The origin of the records that follow in a batch (router -> store):
 * the sender that first sent them (a collector or capture) and its
 * sequence.  It names the next record; each following record without
 * an EVP_ORIGIN of its own has the next origin sequence.  Records of
 * the origin in [skip_from, seq) were dropped by the router and
 * counted there (skip_from == seq: none).  A batch's records before
 * any EVP_ORIGIN, or after one with sender 0 (all fields 0), are the
 * link sender's own.
 */
struct evp_origin {
	uint64_t	sender;		/* the origin's evp_batch_hdr.sender */
	uint64_t	seq;		/* its sequence of the next record */
	uint64_t	skip_from;
	uint64_t	held_from;	/* the origin's hello.held_from */
	uint32_t	flags;		/* the origin's hello.flags */
	uint32_t	pad;
};
_Static_assert(sizeof(struct evp_origin) == 40, "origin layout");

/*
 * Acknowledgements, store -> senders, on the store's PUB socket (not a
 * batch): the sequence up to which each origin's records are committed
 * in the database, and the next one the store will apply.  `epoch` is
 * random per store process: a new epoch means a restarted store.
 */
#define EVP_ACK_MAGIC		0x4b434145u	/* "EACK" */
#define EVP_ACK_MAX		256	/* entries per message */

struct evp_ack_hdr {
	uint32_t	magic;		/* EVP_ACK_MAGIC */
	uint16_t	version;	/* EVP_VERSION */
	uint16_t	count;		/* struct evp_ack entries that follow */
	uint64_t	epoch;
};
_Static_assert(sizeof(struct evp_ack_hdr) == 16, "ack header layout");

struct evp_ack {
	uint64_t	sender;
	uint64_t	committed;	/* records up to it are committed */
	uint64_t	want;		/* the next the store applies: a sender
					   whose records past it were refused
					   (out of order) resends from it */
	uint32_t	flags;		/* EVP_ACK_F_* */
	uint32_t	pad;
};
_Static_assert(sizeof(struct evp_ack) == 32, "ack layout");

#define EVP_ACK_F_RESEND	0x01	/* records were refused: resend */

/* Checks an ack message of `len` bytes and copies its header out: 0,
 * or -1 (errno EBADMSG).  evp_ack_entry() then copies entry `i` (below
 * the header's count) out of the same buffer. */
int	evp_ack_open(const void *, size_t, struct evp_ack_hdr *);
void	evp_ack_entry(const void *, unsigned, struct evp_ack *);

/* What produced a flow record. */
enum evp_flow_source {
	EVP_SRC_EVENT = 1,	/* eBPF/netlink event (libebpfflow, nprobe_mini) */
	EVP_SRC_NETSTAT = 2,	/* periodic socket update (TCP object) */
	EVP_SRC_NETFLOW = 3,	/* NetFlow-style JSON flow (softflowd, nProbe) */
	EVP_SRC_PACKET = 4,	/* built by evflow-capture from packets */
	EVP_SRC_MAX
};

/* Event types, as producers name them. */
enum evp_event {
	EVP_EV_NONE = 0,
	EVP_EV_CONNECT,
	EVP_EV_ACCEPT,
	EVP_EV_CLOSE,
	EVP_EV_RETRANSMIT,
	EVP_EV_CONNECT_FAILED,
	EVP_EV_SEND,		/* UDP */
	EVP_EV_RECV,		/* UDP */
	EVP_EV_UPDATE,		/* netstat / packet periodic update */
	EVP_EV_END,		/* packet flow ended (idle, FIN/RST, eviction) */
	EVP_EV_MAX
};

/* TCP connection states (netstat CONN_STATE, or capture's view). */
enum evp_tcp_state {
	EVP_TCP_UNKNOWN = 0,
	EVP_TCP_ESTABLISHED, EVP_TCP_SYN_SENT, EVP_TCP_SYN_RECV,
	EVP_TCP_FIN_WAIT1, EVP_TCP_FIN_WAIT2, EVP_TCP_TIME_WAIT,
	EVP_TCP_CLOSE, EVP_TCP_CLOSE_WAIT, EVP_TCP_LAST_ACK,
	EVP_TCP_LISTEN, EVP_TCP_CLOSING,
	EVP_TCP_RESET,		/* capture: ended by RST */
	EVP_TCP_STATE_MAX
};

/* Flow record flags. */
#define EVP_F_SIDES_GUESSED	0x0001	/* client/server chosen by port heuristic */
#define EVP_F_ABSOLUTE		0x0002	/* counters are totals, not deltas */
#define EVP_F_HAS_COUNTERS	0x0004	/* packet/byte counters are meaningful */
#define EVP_F_HAS_TCPINFO	0x0008	/* rtt, segs, lost... are meaningful */
#define EVP_F_LOOPBACK		0x0010	/* an address is loopback */
#define EVP_F_TRUNCATED		0x0020	/* a string or extra was cut to fit */
#define EVP_F_HAS_APP		0x0040	/* `app` is filled (packet flows the
					   capture's nDPI looked at) */

/* Side flags (struct evp_side.present). */
#define EVP_SIDE_PROC		0x01
#define EVP_SIDE_PARENT		0x02
#define EVP_SIDE_CONTAINER	0x04
#define EVP_SIDE_LOCAL		0x08	/* this side is the exporting host */

enum evp_container_kind {
	EVP_CONT_NONE = 0, EVP_CONT_DOCKER, EVP_CONT_K8S, EVP_CONT_OTHER
};

struct evp_proc {
	uint32_t	pid;
	uint32_t	tid;
	uint32_t	uid;
	uint32_t	gid;
	uint64_t	vm_size;	/* kB, 0 if unknown */
	uint64_t	vm_peak;	/* kB, 0 if unknown */
	char		uid_name[EVP_USER_LEN];
	char		gid_name[EVP_USER_LEN];
	char		path[EVP_PATH_LEN];
	char		cmdline[EVP_CMDLINE_LEN];
};
_Static_assert(sizeof(struct evp_proc) == 352, "proc layout");

struct evp_container {
	uint32_t	kind;		/* enum evp_container_kind */
	uint32_t	pad;
	char		id[EVP_CID_LEN];
	char		name[EVP_CNAME_LEN];
	char		pod[EVP_CNAME_LEN];
	char		ns[EVP_CNAME_LEN];
};
_Static_assert(sizeof(struct evp_container) == 272, "container layout");

struct evp_side {
	uint32_t	present;	/* EVP_SIDE_* */
	uint32_t	pad;
	struct evp_proc	proc;
	struct evp_proc	parent;
	struct evp_container container;
};
_Static_assert(sizeof(struct evp_side) == 984, "side layout");

/*
 * What deep packet inspection (nDPI, in evflow-capture) says a packet
 * flow is.  Every string may be empty; all are empty on event flows
 * and wherever EVP_F_HAS_APP is not set.  On the wire it follows the
 * sides only when EVP_F_HAS_APP is set, so a flow without it encodes
 * exactly as before this block existed (compatible both ways for
 * collectors' flows).
 *   proto      nDPI's "master.app" name ("TLS.YouTube", "DNS", "HTTP"),
 *              or the one protocol when master and app are the same;
 *              "Unknown" when nDPI gave up.
 *   category   nDPI's category name ("Web", "Media", "Network"...).
 *   sni        TLS/QUIC server name from the client hello.
 *   ja3, ja4   TLS client fingerprints (JA3 md5 hex; JA4 when the
 *              nDPI at hand computes it: Debian 12's 4.2 does not).
 *   ja3s       the TLS server's JA3S (md5 hex), from its ServerHello.
 *   http_host  HTTP Host header of the first request.
 *   dns_query  the first query name of a DNS flow.
 */
struct evp_app {
	char		proto[EVP_APP_PROTO_LEN];
	char		category[EVP_APP_CAT_LEN];
	char		sni[EVP_HOST_LEN];
	char		ja3[EVP_FP_LEN];
	char		ja3s[EVP_FP_LEN];
	char		ja4[EVP_FP_LEN];
	char		http_host[EVP_HOST_LEN];
	char		dns_query[EVP_HOST_LEN];
};
_Static_assert(sizeof(struct evp_app) == 968, "app layout");

/*
 * One flow update.  Side 0 is the client (initiator), side 1 the server.
 * Addresses are 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d).
 * Counters: c2s = client to server.  With EVP_F_ABSOLUTE they are the
 * flow's totals so far; otherwise deltas since the previous record.
 */
struct evp_flow {
	uint64_t	ts_usec;	/* event time / last packet time */
	uint64_t	first_usec;	/* flow start if known, else 0 */
	uint64_t	iface_mask;	/* set by the router: destination ifaces */
	uint64_t	producer;	/* collector-assigned producer id, 0 = none */
	uint32_t	iface;		/* origin interface id (set by the router) */
	uint16_t	flags;		/* EVP_F_* */
	uint16_t	vlan;		/* 0 = none; outer VLAN id */
	uint8_t		source;		/* enum evp_flow_source */
	uint8_t		event;		/* enum evp_event */
	uint8_t		tcp_state;	/* enum evp_tcp_state */
	uint8_t		ip_version;	/* 4 or 6 */
	uint8_t		proto;		/* IP protocol */
	uint8_t		tcp_flags[2];	/* OR of flags seen per side (c, s) */
	uint8_t		pad0;
	uint16_t	port[2];	/* client, server */
	uint8_t		addr[2][16];	/* client, server */
	uint64_t	pkts[2];	/* c2s, s2c */
	uint64_t	bytes[2];	/* IP bytes c2s, s2c */
	uint64_t	wire_bytes[2];	/* on-wire bytes c2s, s2c */
	uint32_t	retrans[2];	/* retransmissions c2s, s2c */
	uint32_t	nw_latency_us;	/* connect latency from the event */
	uint32_t	cli_latency_us;	/* handshake latency, client side */
	uint32_t	srv_latency_us;	/* handshake latency, server side */
	uint32_t	rtt_us;		/* TCP info: smoothed RTT */
	uint32_t	rtt_var_us;
	uint32_t	segs_in;
	uint32_t	segs_out;
	uint32_t	unack_segs;
	uint32_t	lost_pkts;
	uint32_t	pad1;
	uint64_t	bytes_rcvd;	/* TCP info, absolute */
	uint64_t	bytes_acked;	/* TCP info, absolute */
	uint8_t		exporter[16];	/* EXPORTER_IPV4_ADDRESS, mapped, or 0 */
	char		ifname[EVP_IFNAME_LEN];	/* IF_NAME/INTERFACE_NAME */
	struct evp_side	side[2];	/* client, server */
	struct evp_app	app;		/* with EVP_F_HAS_APP, else zero */
	uint16_t	extra_len;	/* bytes used in extra (no NUL counted) */
	char		extra[EVP_EXTRA_MAX];	/* JSON object of unknown keys */
};
#define EVP_FLOW_FIXED_LEN	offsetof(struct evp_flow, extra)

/* Interface counters from a `counter` message, absolute values. */
struct evp_ifcounter {
	uint64_t	ts_usec;
	uint64_t	producer;
	uint32_t	iface;		/* origin interface (router) */
	uint32_t	if_index;
	uint64_t	if_speed;
	uint32_t	if_type;
	uint32_t	if_direction;
	uint32_t	admin_status;
	uint32_t	oper_status;
	uint32_t	promisc;
	uint32_t	pad;
	uint64_t	in_octets, in_pkts, in_errors;
	uint64_t	out_octets, out_pkts, out_errors;
	uint64_t	samples;
	uint8_t		device[16];	/* deviceIP, mapped */
	char		if_name[EVP_NAME_LEN];
};
_Static_assert(sizeof(struct evp_ifcounter) == 192, "ifcounter layout");

/* One listening socket, from listening-ports or a netstat LISTEN. */
struct evp_listen {
	uint64_t	ts_usec;
	uint64_t	producer;
	uint32_t	iface;
	uint8_t		ip_version;
	uint8_t		proto;		/* 6 or 17 */
	uint16_t	port;
	uint8_t		addr[16];	/* bound address, or all zero */
	uint32_t	pid;
	uint32_t	pad;
	char		proc[EVP_PATH_LEN];	/* process name or path */
	char		pkg[EVP_CNAME_LEN];
	char		host[EVP_NAME_LEN];	/* instance name / exporter */
};
_Static_assert(sizeof(struct evp_listen) == 304, "listen layout");

/* A producer as the collector sees it. */
struct evp_producer {
	uint64_t	ts_usec;	/* last seen */
	uint64_t	producer;	/* collector-assigned id */
	uint32_t	iface;
	uint32_t	source_id;	/* from the ZMQ header */
	uint64_t	msgs;		/* messages received */
	uint64_t	events;		/* records parsed */
	uint64_t	lost_msgs;	/* msg_id gaps */
	uint64_t	restarts;	/* msg_id went backwards */
	uint64_t	bad_msgs;	/* rejected messages */
	uint64_t	probe_drops;	/* drops the producer itself reports */
	char		peer[EVP_NAME_LEN];	/* address or instance name */
	char		info[EVP_INFO_LEN];	/* last `event` stats object, JSON */
};
_Static_assert(sizeof(struct evp_producer) == 1160, "producer layout");

/* A daemon's counters, sent periodically to the store. */
struct evp_stats {
	uint64_t	ts_usec;
	uint32_t	role;		/* enum evp_role */
	uint32_t	count;		/* used entries */
	char		name[EVP_NAME_LEN];	/* daemon instance name */
	char		key[EVP_STATS_MAX][EVP_STAT_NAME_LEN];
	uint64_t	value[EVP_STATS_MAX];
};
_Static_assert(sizeof(struct evp_stats) == 80 + EVP_STATS_MAX * 48, "stats layout");

enum evp_iface_kind { EVP_IFACE_ZMQ = 1, EVP_IFACE_PACKET = 2 };

/* One entry of the router's interface table. */
struct evp_iface {
	uint32_t	id;		/* 0..63, bit in evp_flow.iface_mask */
	uint32_t	kind;		/* enum evp_iface_kind */
	uint32_t	mirrored;	/* packet iface receives mirrored traffic */
	uint32_t	companion;	/* zmq iface: companion id + 1, 0 = none */
	uint32_t	flags;		/* EVP_IFACE_F_* */
	uint32_t	pad;
	char		name[EVP_NAME_LEN];
};
_Static_assert(sizeof(struct evp_iface) == 88, "iface layout");

/* evp_iface.flags */
#define EVP_IFACE_F_CHANGED	0x01	/* a runtime change (the router keeps
					   it in its state file; the store
					   records the table as sent) */

#define EVP_MAX_IFACES		64

/* Where a host name for an address was seen. */
enum evp_name_source {
	EVP_NAME_DNS = 1,	/* a DNS answer (A/AAAA, the query name) */
	EVP_NAME_SNI = 2,	/* TLS/QUIC SNI of a flow to the address */
	EVP_NAME_HTTP = 3,	/* HTTP Host of a flow to the address */
	EVP_NAME_MAX
};

/*
 * A name the capture saw for an address (passive: no lookups), sent
 * once when its address-to-name cache learns or changes the pair, and
 * again when the same pair is seen after EVP_HOSTNAME_REFRESH_SEC.
 * The store keeps an address -> name table from them.
 */
struct evp_hostname {
	uint64_t	ts_usec;	/* packet time it was seen */
	uint32_t	iface;		/* origin interface (set by the router) */
	uint32_t	ttl;		/* DNS answer TTL seconds; 0 = none */
	uint8_t		addr[16];	/* the address, IPv4 mapped */
	uint8_t		ip_version;	/* 4 or 6 */
	uint8_t		source;		/* enum evp_name_source */
	uint16_t	pad0;
	uint32_t	pad1;
	char		name[EVP_HOST_LEN];	/* lower case, non-empty */
};
_Static_assert(sizeof(struct evp_hostname) == 296, "hostname layout");

#define EVP_HOSTNAME_REFRESH_SEC	3600	/* a known pair sent again */

/*
 * Decode one record body of `type` from `buf`/`len` into `out`.
 * Returns 0, or -1 with errno EBADMSG for a wrong length, an unbounded
 * string or an out-of-range field.  `out` is fully written on success.
 */
int	evp_decode_hello(const void *, size_t, struct evp_hello *);
int	evp_decode_flow(const void *, size_t, struct evp_flow *);
int	evp_decode_ifcounter(const void *, size_t, struct evp_ifcounter *);
int	evp_decode_listen(const void *, size_t, struct evp_listen *);
int	evp_decode_producer(const void *, size_t, struct evp_producer *);
int	evp_decode_stats(const void *, size_t, struct evp_stats *);
int	evp_decode_iface(const void *, size_t, struct evp_iface *);
int	evp_decode_hostname(const void *, size_t, struct evp_hostname *);
int	evp_decode_origin(const void *, size_t, struct evp_origin *);

/*
 * A forwarder's flow (the router): evp_flow_check() checks a flow's wire
 * form exactly as evp_decode_flow() does but fills only `head`'s network
 * part (every field before `side`) and extra_len, so the record can be
 * passed on as it came; evp_flow_set_dest() then sets iface and
 * iface_mask in those wire bytes (the network part is the struct's
 * head verbatim; evp_flow_encode() of the decoded record would give the
 * same bytes).  Send them with evp_batch_add_raw()/link_out_put_wire().
 */
int	evp_flow_check(const void *, size_t, struct evp_flow *);
void	evp_flow_set_dest(void *, uint32_t, uint64_t);

/* In-memory length of a flow (fixed part + used extra): what a sender
 * passes to evp_batch_add() or link_out_put() with the struct. */
size_t	evp_flow_len(const struct evp_flow *);
/* Encodes `f` compactly into `out` (at least sizeof(struct evp_flow)
 * bytes, the worst case).  Returns the encoded length. */
size_t	evp_flow_encode(const struct evp_flow *, uint8_t *);
#define EVP_FLOW_WIRE_MAX	sizeof(struct evp_flow)

/* The length of the host part of an interface of another host,
 * "HOST:NAME" (evflow-relay names them so: docs/scale-out.md), or 0 for
 * a local interface ("eth0", "tcp://...", a pcap path).  HOST is letters,
 * digits, '.', '_', '-', not starting with '.'; NAME is not empty and
 * does not start with '/'. */
size_t	evp_iface_host_len(const char *);

/* Names for logs and tables; never NULL. */
const char *evp_type_name(unsigned);
const char *evp_role_name(unsigned);
const char *evp_event_name(unsigned);
const char *evp_source_name(unsigned);
const char *evp_tcp_state_name(unsigned);
const char *evp_name_source_name(unsigned);	/* "dns", "sni", "http" */

/*
 * Iterating a received batch.  evp_batch_open() checks the batch header
 * against the message length; evp_batch_next() yields each record's
 * header and body in turn, checking that it fits.  Returns 1 with a
 * record, 0 at a clean end, -1 on a malformed batch (errno EBADMSG).
 */
struct evp_batch_iter {
	const uint8_t	*buf;
	size_t		 len;
	size_t		 off;
	unsigned	 left;
	struct evp_batch_hdr hdr;
};

int	evp_batch_open(struct evp_batch_iter *, const void *, size_t);
int	evp_batch_next(struct evp_batch_iter *, struct evp_rec_hdr *,
	    const void **);

/*
 * Building a batch in a caller-owned buffer of EVP_BATCH_MAX_BYTES.
 * evp_batch_add() encodes the record for the wire (EVP_FLOW: `body` is a
 * struct evp_flow of evp_flow_len() bytes, encoded compactly; any other
 * type is copied).  It returns 0, or -1 if the record does not fit (errno
 * ENOBUFS: flush and retry) or can never fit (EMSGSIZE), or a flow's
 * length is wrong (EINVAL).  evp_batch_add_raw() copies `body` verbatim
 * whatever the type: for tests and fuzzers that send malformed records.
 */
struct evp_batch {
	uint8_t		*buf;
	size_t		 len;
	unsigned	 count;
};

void	evp_batch_init(struct evp_batch *, void *, uint64_t);
int	evp_batch_add(struct evp_batch *, uint16_t, uint64_t, const void *,
	    size_t);
int	evp_batch_add_raw(struct evp_batch *, uint16_t, uint64_t, const void *,
	    size_t);
void	evp_batch_reset(struct evp_batch *);

/* Address helpers: 16-byte mapped form. */
void	evp_addr_from_v4(uint8_t[16], uint32_t);	/* network order */
int	evp_addr_is_v4(const uint8_t[16]);
int	evp_addr_is_loopback(const uint8_t[16]);
/* Format as text ("10.1.2.3" or "2001:db8::1") into buf of 46 bytes. */
const char *evp_addr_str(const uint8_t[16], char *, size_t);
/* Parse text into mapped form; returns 4 or 6, or -1. */
int	evp_addr_parse(const char *, uint8_t[16]);

#endif /* EVFLOW_PROTO_H */
