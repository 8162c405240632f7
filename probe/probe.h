/*
 * evflow-probe: process-level network events from this host, published
 * over ZMQ in ntopng's wire format and libebpfflow's JSON dialect, so
 * that evflow-collector (or ntopng) joins them to packet flows.
 *
 *   probe.bpf.c     the kernel side (CO-RE eBPF), probe_event.h its records
 *   bpf_source.c    loads and attaches it, drains the ring buffer
 *   diag_source.c   the fallback without eBPF: NETLINK_SOCK_DIAG polling;
 *                   also the netstat updates and listening-ports snapshots
 *   diag_parse.c    netlink inet_diag messages -> sockets (pure)
 *   proc_resolve.c  /proc: process, parent, users, a bounded cache
 *   cgroup.c        cgroup path -> container (pure)
 *   netdev.c        local address -> interface name; /proc/net/dev counters
 *   emit.c          events, netstat, listening ports, counters -> JSON
 *   zmq_pub.c       the PUB socket, ntopng headers, zlib, batching
 *   control.c       counters and the control socket's `stats`
 *   main.c          options, configuration, set-up and the loop
 */
#ifndef EVFLOW_PROBE_H
#define EVFLOW_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/ctl.h"

#define PROBE_STATS_USEC	1000000	/* kernel counters refresh */
#define PROBE_PATH_LEN		256	/* bytes of an exe path */
#define PROBE_CMDLINE_LEN	512	/* bytes of a command line */
#define PROBE_NAME_LEN		64	/* bytes of a user/group name */
#define PROBE_IFNAME_LEN	16	/* IFNAMSIZ */
#define PROBE_CONT_ID_LEN	65	/* 64 hex digits + NUL */

struct probe_conf {
	char		datadir[CONF_STR_LEN];
	char		name[CONF_STR_LEN];
	long long	log_level;
	char		endpoint[CONF_STR_LEN];
	char		curve_server_key[CONF_STR_LEN];	/* "": no CURVE */
	char		mode[16];
	long long	poll_interval;		/* seconds, diag mode */
	long long	netstat_interval;	/* seconds, 0 = off */
	long long	listen_interval;	/* seconds, 0 = off */
	long long	counter_interval;	/* seconds, 0 = off */
	long long	health_interval;	/* seconds, 0 = off */
	int		compress;
	long long	events_per_msg;
	long long	source_id;
	long long	sndhwm;			/* messages */
	long long	subscribe_wait;		/* ms before sending anyway */
	long long	ring_size;		/* bytes */
	long long	wakeup_events;		/* ring backlog that wakes us */
	long long	drain_ms;		/* ring drained at least this often */
	long long	sock_entries;		/* kernel map entries */
	long long	udp_entries;
	long long	udp_refresh;		/* seconds */
	long long	proc_cache;		/* entries */
	long long	max_sockets;		/* diag: sockets per poll */
	long long	max_fds;		/* /proc/<pid>/fd entries per scan */
	int		emit_ids;		/* CGROUP_ID, NETNS_INODE keys */
};

/* Counters; names in probe_counter_names[] (control.c). */
enum probe_counter {
	PC_RECEIVED,		/* events from the source, any kind */
	PC_EV_CONNECT, PC_EV_ACCEPT, PC_EV_CLOSE, PC_EV_CONNECT_FAILED,
	PC_EV_RETRANSMIT, PC_EV_UDP_SEND, PC_EV_UDP_RECV,
	PC_HOOK_STATE, PC_HOOK_IO, PC_HOOK_RETRANSMIT, PC_HOOK_UDP_SEND,
	PC_HOOK_UDP_RECV,	/* kernel hook calls (per-CPU sums) */
	PC_DROPPED_RINGBUF,	/* ring buffer full (per-CPU sum) */
	PC_DROPPED_SOCK_MAP,	/* owner not recorded: map full */
	PC_EVENTS_WITHOUT_OWNER,
	PC_UDP_DEDUP,
	PC_UDP_NO_OWNER,	/* UDP SEND from softirq/kthread, owner unknown */
	PC_KERNEL_THREAD,	/* kernel threads' sockets: no process */
	PC_PROC_RECORDS,	/* processes described by the kernel */
	PC_EXE_TRUNCATED,	/* their exe path too deep or long */
	PC_EMITTED,		/* events published (flow topic) */
	PC_MSGS_SENT,
	PC_BYTES_SENT,
	PC_DROPPED_SEND,	/* events lost: socket refused (HWM) */
	PC_SENT_NO_SUBSCRIBER,	/* messages sent before any subscriber */
	PC_NETSTAT_SENT, PC_LISTEN_SENT, PC_COUNTER_SENT, PC_HEALTH_SENT,
	PC_PROC_RESOLVED,	/* events with /proc details */
	PC_PROC_UNRESOLVED,	/* gone or reused pid: kernel comm only */
	PC_PROC_KERNEL_ONLY,	/* gone from /proc: the kernel's exe path */
	PC_PROC_CACHE_HITS, PC_PROC_CACHE_MISSES, PC_PROC_CACHE_EVICTED,
	PC_PROC_CACHE_SIZE,	/* gauge */
	PC_DIAG_POLLS, PC_DIAG_SOCKETS,	/* gauge: sockets in the last dump */
	PC_DROPPED_DIAG_LIMIT,	/* sockets beyond probe.max_sockets */
	PC_BAD_DIAG_MSGS, PC_FD_SCAN_LIMIT,
	PC_MODE_BPF,		/* gauge: 1 eBPF, 0 sock_diag */
	PC_MEMORY_BOUND,	/* gauge: bytes of maps, ring and caches */
	PC_CTL_REQUESTS,
	PC_MAX
};
extern const char *const probe_counter_names[PC_MAX];

/* ---- cgroup.c ---- */

enum probe_cont_kind {
	PCONT_NONE = 0, PCONT_DOCKER, PCONT_CONTAINERD, PCONT_PODMAN,
	PCONT_CRIO, PCONT_K8S_POD	/* a pod's cgroup, no container id */
};

struct probe_container {
	enum probe_cont_kind kind;
	char		id[PROBE_CONT_ID_LEN];	/* container id (hex) */
	char		pod[40];		/* Kubernetes pod uid */
};

/*
 * Finds the container of cgroup path `path` (as in /proc/<pid>/cgroup,
 * e.g. /system.slice/docker-<id>.scope, /kubepods/burstable/pod<uid>/<id>).
 * Returns 1 and fills `c`, or 0 (zeroed) if it names no container.
 */
int	cgroup_container(const char *, struct probe_container *);
/* The cgroup v2 path ("0::/...") of /proc/<pid>/cgroup text, or the
 * first v1 line naming a container; copied into dst.  0 or -1. */
int	cgroup_proc_path(const char *, size_t, char *, size_t);
const char *cgroup_kind_name(enum probe_cont_kind);

/* ---- proc_resolve.c ---- */

struct proc_stat {
	pid_t		ppid;
	unsigned long long start_ticks;	/* field 22: clock ticks since boot */
	char		comm[16];
	char		state;
};

/* Parses /proc/<pid>/stat text (comm may hold spaces and ')').  0/-1. */
int	proc_parse_stat(const char *, size_t, struct proc_stat *);
/* Real uid and gid from /proc/<pid>/status text.  0 or -1. */
int	proc_parse_status(const char *, size_t, uint32_t *, uint32_t *);
/* NUL-separated argv -> one line with spaces (bounded, always
 * NUL-terminated); returns the length written. */
size_t	proc_join_cmdline(const char *, size_t, char *, size_t);

struct proc_info {
	uint32_t	pid, uid, gid;
	char		uid_name[PROBE_NAME_LEN];
	char		gid_name[PROBE_NAME_LEN];
	char		path[PROBE_PATH_LEN];
	char		cmdline[PROBE_CMDLINE_LEN];
};

/* A resolved process: itself, its parent, its container. */
struct proc_entry {
	uint32_t	tgid;
	unsigned long long start_ticks;
	char		comm[16];
	uint64_t	used;		/* clock for eviction */
	int		has_parent;
	struct proc_info proc;
	struct proc_info parent;
	struct probe_container cont;
};

struct proc_cache;

/* A cache of `n` entries; `root` is the /proc mount (tests use a fake
 * tree).  `ctr` (PC_MAX counters) is borrowed. */
struct proc_cache *proc_cache_new(unsigned, const char *, uint64_t *);
void	proc_cache_free(struct proc_cache *);
/*
 * The process `tgid` started at `start_ns` (ns since boot, 0 if unknown)
 * with kernel name `comm` (NULL if unknown).  Looked up by (tgid, start
 * time, comm): a reused pid or an exec is never mislabelled.  Returns
 * the entry (borrowed until the next call) or NULL if /proc no longer
 * has that process (counted unresolved).
 */
const struct proc_entry *proc_cache_get(struct proc_cache *, uint32_t,
	    uint64_t, const char *);
/* What the kernel said of a process when it first saw it. */
struct proc_kernel {
	uint32_t	uid, gid;
	const char	*path;		/* its executable, NULL if unknown */
};
/*
 * As proc_cache_get(), as soon as the kernel describes a process: if
 * /proc no longer has it (a process that exited within milliseconds),
 * the entry holds the kernel's pid, ids and exe path (`k`), counted in
 * processes_kernel_only; later events of the process find it.  NULL if
 * neither /proc nor `k` (path) describe it.
 */
const struct proc_entry *proc_cache_note(struct proc_cache *, uint32_t,
	    uint64_t, const char *, const struct proc_kernel *);
/* User and group names (cached by id); "" if unknown. */
const char *proc_user_name(struct proc_cache *, uint32_t);
const char *proc_group_name(struct proc_cache *, uint32_t);
size_t	proc_cache_bytes(unsigned);

/* ---- netdev.c ---- */

struct netdev_addrs;

/* The local addresses of this namespace's interfaces, refreshed at most
 * once a second on a miss. */
struct netdev_addrs *netdev_addrs_new(void);
void	netdev_addrs_free(struct netdev_addrs *);
/* The interface holding address `a` (16 bytes), or NULL. */
const char *netdev_addrs_find(struct netdev_addrs *, const uint8_t[16],
	    uint64_t);
/* The local addresses as text (listening-ports' ip-addresses). */
void	netdev_addrs_json(struct netdev_addrs *, struct buf *);

struct netdev_stats {
	char		name[PROBE_IFNAME_LEN];
	uint64_t	rx_bytes, rx_packets, rx_errs;
	uint64_t	tx_bytes, tx_packets, tx_errs;
};

/*
 * Parses /proc/net/dev text, calling fn for every interface line.
 * Returns the number of interfaces, or -1 if the text is not in that
 * format (a bad line is skipped and counted in *bad).
 */
int	netdev_parse(const char *, size_t, void (*)(void *,
	    const struct netdev_stats *), void *, unsigned *);

/* ---- emit.c ---- */

/* The dialect-independent event both sources produce. */
struct probe_flow {
	uint8_t		type;		/* enum probe_ev_type */
	uint8_t		ipv, proto;
	uint8_t		tcp_state;	/* netstat: linux TCP_* state */
	uint8_t		laddr[16], raddr[16];
	uint16_t	lport, rport;
	uint64_t	ts_usec;	/* wall clock */
	uint64_t	latency_usec;	/* CONNECT, 0 = unknown */
	int		has_tcpinfo;
	uint64_t	bytes_acked, bytes_received;
	uint32_t	segs_in, segs_out, retrans, lost, unacked;
	uint32_t	srtt_us, rttvar_us;
	uint64_t	cgroup_id;
	uint32_t	netns;
	uint32_t	tid;
	const char	*ifname;	/* NULL: left out */
	char		comm[16];	/* kernel name when not resolved */
	uint32_t	pid, uid, gid;	/* from the kernel; pid 0 = unknown */
	const struct proc_entry *pe;	/* /proc details, or NULL */
	const char	*uid_name, *gid_name;
};

/* Appends the libebpfflow JSON object of event `f`. */
void	emit_event_json(struct buf *, const struct probe_flow *, int);
/* Appends a netstat update (nProbe Agent shape with a "TCP" object). */
void	emit_netstat_json(struct buf *, const struct probe_flow *);
/* Appends one `counter` object for an interface. */
void	emit_counter_json(struct buf *, const struct netdev_stats *,
	    unsigned, uint64_t);
/* The TCP state name netstat uses ("ESTABLISHED", "SYN-SENT"...). */
const char *emit_tcp_state_name(unsigned);

/* ---- zmq_pub.c ---- */

struct zpub;

struct zpub_opts {
	int		sndhwm;
	int		compress;
	uint32_t	source_id;
	unsigned	events_per_msg;
	const char	*curve_server_key;	/* z85, or NULL: no CURVE */
};

/* Opens a PUB socket on every comma-separated endpoint (trailing 'c':
 * connect to a collector that binds; else bind).  NULL with err. */
struct zpub *zpub_open(const char *, const struct zpub_opts *, uint64_t *,
	    char *, size_t);
void	zpub_close(struct zpub *);
/* Drains subscription messages; returns the number of subscriptions
 * currently held by peers (0: nobody would get a message). */
int	zpub_subscribers(struct zpub *);
/* Adds one JSON object to the pending array of `topic` (flushed when
 * events_per_msg are queued).  0, or -1 if it was dropped (counted). */
int	zpub_add(struct zpub *, const char *, const char *, size_t);
/* Sends what is pending now. */
void	zpub_flush(struct zpub *);
/* Writes one message of `topic` with `len` bytes of JSON as payload:
 * header (28-byte layout, version 2, msg_id, source_id), optional zlib.
 * Exposed for tests: fills hdr (28 bytes). */
void	zpub_header(uint8_t *, const char *, uint32_t, uint32_t, uint32_t);

/* ---- diag_parse.c ---- */

struct diag_sock {
	uint8_t		family;		/* AF_INET / AF_INET6 */
	uint8_t		state;		/* TCP_* (UDP: 7 unconnected) */
	uint8_t		proto;
	uint8_t		ipv;
	uint8_t		laddr[16], raddr[16];
	uint16_t	lport, rport;
	uint32_t	uid;
	uint32_t	inode;
	uint64_t	cookie;
	int		has_info;
	uint64_t	bytes_acked, bytes_received;
	uint32_t	segs_in, segs_out, retrans, lost, unacked;
	uint32_t	rtt_us, rttvar_us;
};

/*
 * Parses one netlink message (header included) of an inet_diag dump
 * into `s`.  Returns 1 for a socket, 0 for NLMSG_DONE, -1 for a
 * malformed message or NLMSG_ERROR.  Never reads past `len`.
 */
int	diag_parse_msg(const void *, size_t, uint8_t, struct diag_sock *);

/* ---- the sources ---- */

struct probe;
struct probe_event;

/* Delivered by a source for every event it produced. */
void	probe_deliver(struct probe *, const struct probe_event *);
struct probe_proc;
/* Delivered for every process the kernel describes (before its
 * sockets' events): resolved at once, the kernel's exe path kept. */
void	probe_deliver_proc(struct probe *, const struct probe_proc *);
/* The exe path of a process record, joined into dst (proc_resolve.c).
 * 0, or -1 if it makes no whole path. */
int	probe_proc_path(const struct probe_proc *, char *, size_t);

struct bpf_src;
/* Loads and attaches the eBPF program.  NULL with err. */
struct bpf_src *bpf_src_open(struct probe *, char *, size_t);
void	bpf_src_close(struct bpf_src *);
int	bpf_src_fd(struct bpf_src *);
/* Consumes the ring buffer (the argument is unused: it never waits).
 * Returns the events consumed, or -1. */
int	bpf_src_poll(struct bpf_src *, int);
/* Copies the per-CPU kernel counters (sums) into the probe's counters. */
void	bpf_src_counters(struct bpf_src *, uint64_t *);
/* Bytes of maps and ring buffer as configured. */
uint64_t bpf_src_memory(const struct probe_conf *);

struct diag_src;
struct diag_src *diag_src_new(struct probe *, int, char *, size_t);
void	diag_src_free(struct diag_src *);
/* One poll: dump TCP (and UDP) sockets; in event mode (the fallback)
 * new and gone sockets become events.  `what` is a DIAG_DO_* mask. */
#define DIAG_DO_EVENTS	0x01
#define DIAG_DO_NETSTAT	0x02
#define DIAG_DO_LISTEN	0x04
void	diag_src_poll(struct diag_src *, unsigned);

/* ---- the daemon ---- */

struct probe {
	struct probe_conf conf;
	int		bpf_mode;
	struct bpf_src	*bpf;
	struct diag_src	*diag;
	struct zpub	*pub;
	struct ctl	*ctl;
	struct proc_cache *procs;
	struct netdev_addrs *addrs;
	uint32_t	self_netns;
	uint64_t	mono_to_wall;	/* usec: wall - monotonic */
	uint64_t	boot_to_mono;	/* ns: monotonic - boottime */
	uint64_t	ctr[PC_MAX];
	struct buf	jb;		/* scratch JSON */
};

/* Fills `f` with the process details of its pid (and the wall clock
 * if unset) and publishes it on topic flow (or netstat if `netstat`). */
void	probe_publish(struct probe *, struct probe_flow *, uint64_t, int);

/* control.c */
/* Stats frame hooks (common/daemon.h): kernel and control counters
 * copied in; the mode after the counters. */
void	control_stats_sync(void *);
void	control_stats_extra(void *, struct buf *);

#endif
