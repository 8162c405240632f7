// SPDX-License-Identifier: GPL-2.0
/*
 * evflow-probe's kernel side (CO-RE; built with clang -target bpf against
 * the vmlinux.h that bpftool dumps from the build machine's BTF, loaded
 * by bpf_source.c through the generated skeleton).
 *
 * Only tracepoints, attached as BTF-typed raw tracepoints (tp_btf): they
 * need neither tracefs nor kprobes nor ftrace trampolines, which some
 * kernels (and sandboxes) refuse.
 *   sock:inet_sock_set_state   TCP: SYN-SENT records the connecting
 *                              process and time; ESTABLISHED gives CONNECT
 *                              with the handshake latency; CONNECT_FAILED;
 *                              CLOSE with the tcp_sock counters; a child
 *                              reaching ESTABLISHED waits for its acceptor
 *   sock:sock_send_length, sock:sock_recv_length (Linux 6.3+)
 *                              the first send or receive on an accepted
 *                              socket, in the accepting process: ACCEPT;
 *                              sockets older than the probe get their owner
 *   tcp:tcp_retransmit_skb     RETRANSMIT
 *                              and datagrams received on connected UDP
 *                              sockets, in the receiving process
 *   net:net_dev_queue          UDP datagrams sent (the sender's context)
 *
 * The process of a TCP socket is recorded in `socks` (keyed by the
 * socket's address) so that events raised in softirq context
 * (ESTABLISHED, CLOSE, retransmits) carry it.  UDP: the first datagram
 * of each 5-tuple and direction (LRU `udp_seen`).  Every map is bounded;
 * a full ring buffer or map is counted per CPU in `counters`.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "probe_event.h"

#define AF_INET		2
#define AF_INET6	10
#define IPPROTO_TCP	6
#define IPPROTO_UDP	17
#define SOCK_STREAM	1
#define SOCK_DGRAM	2

/* include/net/tcp_states.h */
#define TCP_ESTABLISHED	1
#define TCP_SYN_SENT	2
#define TCP_SYN_RECV	3
#define TCP_CLOSE	7
#define TCP_LISTEN	10

#define OWNER_SET	1	/* tgid..comm are the socket's process */
#define OWNER_ACCEPTED	2	/* an accepted socket, ACCEPT not yet sent */

char LICENSE[] SEC("license") = "GPL";

/* Set by user space before loading. */
const volatile __u32 self_tgid = 0;		/* the probe's own events: skipped */
const volatile __u64 udp_refresh_ns = 0;	/* re-report a 5-tuple after */
const volatile __u8 accept_on_io = 0;	/* sock_*_length tracepoints exist */
const volatile __u64 wakeup_bytes = 0;	/* wake user space past this backlog */

/* The process that owns a TCP socket, and when it sent its SYN. */
struct owner {
	__u64	syn_ns;
	__u64	cgroup_id;
	__u64	start_ns;
	__u32	tgid, pid, uid, gid;
	char	comm[PROBE_COMM_LEN];
	__u32	flags;		/* OWNER_* */
	__u32	pad;
};

struct udp_key {
	__u8	laddr[16];
	__u8	raddr[16];
	__u16	lport, rport;
	__u32	netns;
	__u8	dir;		/* PEV_UDP_SEND or PEV_UDP_RECV */
	__u8	pad[3];
};

/* Sizes are set by user space (bpf_map__set_max_entries). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct owner);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct udp_key);
	__type(value, __u64);
} udp_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PK_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void
count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		(*v)++;
}

/* Fills `o` with the current task; returns its tgid. */
static __always_inline __u32
owner_current(struct owner *o)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 pt = bpf_get_current_pid_tgid();
	__u64 ug = bpf_get_current_uid_gid();

	o->tgid = pt >> 32;
	o->pid = (__u32)pt;
	o->uid = (__u32)ug;
	o->gid = ug >> 32;
	o->cgroup_id = bpf_get_current_cgroup_id();
	o->start_ns = t->group_leader->start_boottime;
	o->flags = OWNER_SET;
	bpf_get_current_comm(o->comm, sizeof(o->comm));
	return o->tgid;
}

/*
 * 1 if `sk` is an IPv4/IPv6 socket of `proto` and its usual type: the
 * protocol number alone also matches netlink (NETLINK_XFRM is 6), raw
 * and packet sockets.
 */
static __always_inline int
inet_sock_of(const struct sock *sk, __u16 proto)
{
	__u16 family = sk->__sk_common.skc_family;

	return sk->sk_protocol == proto &&
	    (family == AF_INET || family == AF_INET6) &&
	    sk->sk_type == (proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM);
}

static __always_inline void
v4_mapped(__u8 *dst, __be32 a)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, &a, 4);
}

/* The socket's endpoints and namespace into `e`.  0, or -1 if the
 * family is neither IPv4 nor IPv6. */
static __always_inline int
sock_tuple(struct probe_event *e, const struct sock *sk)
{
	__u16 family = sk->__sk_common.skc_family;

	if (family == AF_INET) {
		v4_mapped(e->laddr, sk->__sk_common.skc_rcv_saddr);
		v4_mapped(e->raddr, sk->__sk_common.skc_daddr);
		e->ipv = 4;
	} else if (family == AF_INET6) {
		__builtin_memcpy(e->laddr,
		    sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8, 16);
		__builtin_memcpy(e->raddr,
		    sk->__sk_common.skc_v6_daddr.in6_u.u6_addr8, 16);
		e->ipv = 6;
	} else
		return -1;
	e->lport = sk->__sk_common.skc_num;
	/* Going to CLOSE, an ephemeral port is released (skc_num = 0)
	 * before the tracepoint fires; inet_sport still has it. */
	if (e->lport == 0)
		e->lport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk,
		    inet_sport));
	e->rport = bpf_ntohs(sk->__sk_common.skc_dport);
	e->netns = sk->__sk_common.skc_net.net->ns.inum;
	return 0;
}

static __always_inline void
owner_to_event(struct probe_event *e, const struct owner *o)
{
	if (!(o->flags & OWNER_SET))
		return;
	e->tgid = o->tgid;
	e->pid = o->pid;
	e->uid = o->uid;
	e->gid = o->gid;
	e->cgroup_id = o->cgroup_id;
	e->start_ns = o->start_ns;
	__builtin_memcpy(e->comm, o->comm, sizeof(e->comm));
	e->has_owner = 1;
}

/* A zeroed event from the ring buffer, or NULL (counted). */
static __always_inline struct probe_event *
event_new(__u8 type, __u8 proto)
{
	struct probe_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(PK_RINGBUF_FULL);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->type = type;
	e->proto = proto;
	return e;
}

/*
 * Commits an event.  User space is woken only by the event whose
 * record makes the backlog cross wakeup_bytes (it also drains every
 * probe.drain_ms): a wake-up (an IPI) per event would cost the traced
 * connection more than the event, and a stopped or busy consumer must
 * not make every later event pay for one.
 */
static __always_inline void
submit(struct probe_event *e)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 rec = sizeof(*e) + 8;	/* + the ring's record header */

	bpf_ringbuf_submit(e, avail >= wakeup_bytes &&
	    avail < wakeup_bytes + rec ? BPF_RB_FORCE_WAKEUP :
	    BPF_RB_NO_WAKEUP);
}

/* A TCP event of socket `sk` with its recorded owner (if any). */
static __always_inline struct probe_event *
tcp_event(const struct sock *sk, __u8 type, const struct owner *o)
{
	struct probe_event *e = event_new(type, IPPROTO_TCP);

	if (!e)
		return 0;
	if (sock_tuple(e, sk) < 0) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	if (o && (o->flags & OWNER_SET))
		owner_to_event(e, o);
	else
		count(PK_NO_OWNER);
	return e;
}

static __always_inline void
tcp_counters(struct probe_event *e, const struct sock *sk)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);

	if (!tp)
		return;
	e->bytes_acked = tp->bytes_acked;
	e->bytes_received = tp->bytes_received;
	e->segs_in = tp->segs_in;
	e->segs_out = tp->segs_out;
	e->retrans = tp->total_retrans;
	e->srtt_us = tp->srtt_us >> 3;
	e->rttvar_us = tp->mdev_us >> 2;
}

static __always_inline void
submit_simple(const struct sock *sk, __u8 type, const struct owner *o)
{
	struct probe_event *e = tcp_event(sk, type, o);

	if (e)
		submit(e);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(probe_set_state, const struct sock *sk, const int oldstate,
    const int newstate)
{
	__u64 key = (__u64)sk;
	struct owner o = {}, *op;
	struct probe_event *e;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	count(PK_HOOK_STATE);
	if (newstate == TCP_SYN_SENT) {
		/* connect(), in the connecting process */
		if (owner_current(&o) == self_tgid)
			return 0;
		o.syn_ns = bpf_ktime_get_ns();
		if (bpf_map_update_elem(&socks, &key, &o, BPF_ANY) != 0)
			count(PK_SOCK_MAP_FULL);
		return 0;
	}
	if (oldstate == TCP_SYN_SENT && newstate == TCP_ESTABLISHED) {
		if ((op = bpf_map_lookup_elem(&socks, &key)) == 0)
			return 0;	/* the probe's own, or map full */
		if ((e = tcp_event(sk, PEV_CONNECT, op)) == 0)
			return 0;
		e->latency_ns = e->ts_ns - op->syn_ns;
		submit(e);
		return 0;
	}
	if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED) {
		/* a child socket: its acceptor shows at its first use */
		if (!accept_on_io) {
			submit_simple(sk, PEV_ACCEPT, 0);
			return 0;
		}
		o.flags = OWNER_ACCEPTED;
		if (bpf_map_update_elem(&socks, &key, &o, BPF_ANY) != 0) {
			count(PK_SOCK_MAP_FULL);
			submit_simple(sk, PEV_ACCEPT, 0);
		}
		return 0;
	}
	if (newstate != TCP_CLOSE || oldstate == TCP_LISTEN ||
	    oldstate == TCP_CLOSE)
		return 0;
	op = bpf_map_lookup_elem(&socks, &key);
	if (oldstate == TCP_SYN_SENT) {
		if (op && (e = tcp_event(sk, PEV_CONNECT_FAILED, op)) != 0) {
			e->latency_ns = e->ts_ns - op->syn_ns;
			submit(e);
		}
	} else if (op || oldstate != TCP_SYN_RECV) {
		/* accepted and closed unused: its ACCEPT has no process */
		if (op && (op->flags & OWNER_ACCEPTED))
			submit_simple(sk, PEV_ACCEPT, 0);
		if ((e = tcp_event(sk, PEV_CLOSE, op)) != 0) {
			tcp_counters(e, sk);
			submit(e);
		}
	}
	if (op)
		bpf_map_delete_elem(&socks, &key);
	return 0;
}

/*
 * A send or receive on a TCP socket, in the process that made it.  An
 * accepted socket gets its process and its ACCEPT event here; a socket
 * opened before the probe started gets its process (no event).  Known
 * sockets cost one map lookup.
 */
static __always_inline void udp_recv_connected(struct sock *sk);

static __always_inline void
sock_io(struct sock *sk, int recv, int ret)
{
	__u64 key = (__u64)sk;
	struct owner o = {}, *op;
	__u8 accepted;

	if (recv && ret > 0 && inet_sock_of(sk, IPPROTO_UDP)) {
		udp_recv_connected(sk);
		return;
	}
	if (!inet_sock_of(sk, IPPROTO_TCP))
		return;
	count(PK_HOOK_IO);
	op = bpf_map_lookup_elem(&socks, &key);
	if (op && !(op->flags & OWNER_ACCEPTED))
		return;
	if (sk->__sk_common.skc_state != TCP_ESTABLISHED && !op)
		return;
	accepted = op != 0;
	if (owner_current(&o) == self_tgid) {
		if (op)
			bpf_map_delete_elem(&socks, &key);
		return;
	}
	if (bpf_map_update_elem(&socks, &key, &o, BPF_ANY) != 0)
		count(PK_SOCK_MAP_FULL);
	if (accepted)
		submit_simple(sk, PEV_ACCEPT, &o);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(probe_send_length, struct sock *sk)
{
	sock_io(sk, 0, 0);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(probe_recv_length, struct sock *sk, int ret)
{
	sock_io(sk, 1, ret);
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(probe_retransmit, const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct owner *op;
	struct probe_event *e;

	count(PK_HOOK_RETRANSMIT);
	op = bpf_map_lookup_elem(&socks, &key);
	if ((e = tcp_event(sk, PEV_RETRANSMIT, op)) != 0) {
		tcp_counters(e, sk);
		submit(e);
	}
	return 0;
}

/*
 * UDP: one event per (5-tuple, direction, namespace) until the entry
 * is older than udp_refresh_ns or evicted from the LRU map.  Returns 1
 * if the datagram must be reported.
 */
static __always_inline int
udp_first(const struct udp_key *k)
{
	__u64 now = bpf_ktime_get_ns(), *last;

	last = bpf_map_lookup_elem(&udp_seen, k);
	if (last && now - *last < udp_refresh_ns) {
		count(PK_UDP_DEDUP);
		return 0;
	}
	bpf_map_update_elem(&udp_seen, k, &now, BPF_ANY);
	return 1;
}

/*
 * The UDP endpoints of the datagram in `skb` (network header set):
 * `src` is the sender.  Returns the IP version, or 0 if it is not the
 * first part of a UDP datagram.
 */
static __always_inline __u8
skb_udp(const struct sk_buff *skb, __u8 *src, __u8 *dst, __u16 *sport,
    __u16 *dport)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	struct udphdr uh;
	__u8 ver = 0, ipv;
	__u32 l4;

	if (bpf_probe_read_kernel(&ver, 1, head + nh) != 0)
		return 0;
	ver >>= 4;
	if (ver == 4) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh) != 0 ||
		    ip.protocol != IPPROTO_UDP ||
		    (bpf_ntohs(ip.frag_off) & 0x1fff) != 0)
			return 0;
		v4_mapped(src, ip.saddr);
		v4_mapped(dst, ip.daddr);
		l4 = nh + ip.ihl * 4;
		ipv = 4;
	} else if (ver == 6) {
		struct ipv6hdr ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh) != 0 ||
		    ip6.nexthdr != IPPROTO_UDP)
			return 0;
		__builtin_memcpy(src, &ip6.saddr, 16);
		__builtin_memcpy(dst, &ip6.daddr, 16);
		l4 = nh + sizeof(ip6);
		ipv = 6;
	} else
		return 0;
	if (bpf_probe_read_kernel(&uh, sizeof(uh), head + l4) != 0)
		return 0;
	*sport = bpf_ntohs(uh.source);
	*dport = bpf_ntohs(uh.dest);
	return ipv;
}

/* Emits a UDP event for key `k` by the current process. */
static __always_inline void
udp_event(const struct udp_key *k, __u8 ipv)
{
	struct owner o = {};
	struct probe_event *e;

	if (owner_current(&o) == self_tgid || !udp_first(k))
		return;
	if ((e = event_new(k->dir, IPPROTO_UDP)) == 0)
		return;
	__builtin_memcpy(e->laddr, k->laddr, 16);
	__builtin_memcpy(e->raddr, k->raddr, 16);
	e->lport = k->lport;
	e->rport = k->rport;
	e->netns = k->netns;
	e->ipv = ipv;
	owner_to_event(e, &o);
	submit(e);
}

/* A packet leaving through a device: a local UDP socket's datagram is
 * queued in the sending process's context. */
SEC("tp_btf/net_dev_queue")
int BPF_PROG(probe_udp_send, struct sk_buff *skb)
{
	struct sock *sk = skb->sk;
	struct udp_key k = {};
	__u8 ipv;

	if (!sk || !inet_sock_of(sk, IPPROTO_UDP))
		return 0;
	count(PK_HOOK_UDP_SEND);
	ipv = skb_udp(skb, k.laddr, k.raddr, &k.lport, &k.rport);
	if (ipv == 0)
		return 0;
	k.netns = sk->__sk_common.skc_net.net->ns.inum;
	k.dir = PEV_UDP_SEND;
	udp_event(&k, ipv);
	return 0;
}

/*
 * A datagram received on a connected UDP socket (its peer is the
 * socket's), in the receiving process.  An unconnected receiver (a
 * server) shows through the datagrams it sends back.
 */
static __always_inline void
udp_recv_connected(struct sock *sk)
{
	struct probe_event e = {};
	struct udp_key k = {};

	if (sk->__sk_common.skc_state != TCP_ESTABLISHED)
		return;
	count(PK_HOOK_UDP_RECV);
	if (sock_tuple(&e, sk) < 0)
		return;
	__builtin_memcpy(k.laddr, e.laddr, 16);
	__builtin_memcpy(k.raddr, e.raddr, 16);
	k.lport = e.lport;
	k.rport = e.rport;
	k.netns = e.netns;
	k.dir = PEV_UDP_RECV;
	udp_event(&k, e.ipv);
}
