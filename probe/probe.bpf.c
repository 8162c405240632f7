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
 *                              TCP: the first send or receive on an
 *                              accepted socket, in the accepting process:
 *                              ACCEPT; sockets older than the probe get
 *                              their owner.  UDP: a socket's sender is
 *                              recorded (for net_dev_queue); datagrams
 *                              received on connected sockets: RECV
 *   tcp:tcp_retransmit_skb     RETRANSMIT
 *   net:net_dev_queue          UDP datagrams sent: SEND
 *
 * Who owns a socket is recorded in process context (a system call of
 * that process) and read back where the kernel runs on its own: TCP in
 * `socks` (keyed by the socket's address; removed at CLOSE), UDP in
 * `udp_owner`, socket-local storage: it lives and dies with the socket,
 * so a freed and reused socket never shows its predecessor's owner).
 * A datagram that waited for ARP/ND leaves later from softirq, whatever
 * task is current then: its owner comes from `udp_owner`, and without
 * one it is reported without a process (counted), never with the
 * interrupted task or a kernel thread.  UDP: the first datagram of each
 * 5-tuple and direction (LRU `udp_seen`).  A process seen for the first
 * time sends a struct probe_proc with its executable's path (LRU
 * `procs_seen`).  Every map is bounded; a full ring buffer or map is
 * counted per CPU in `counters`.
 *
 * Cost: sock_send_length and sock_recv_length run on every send and
 * receive of every socket of the machine.  Their common path is the
 * family test (one load), then for TCP one hash lookup, for UDP one
 * lookup in the socket's own storage; the current task is read only for
 * a socket not yet recorded.
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
#define PF_KTHREAD	0x00200000	/* include/linux/sched.h */

/* include/net/tcp_states.h */
#define TCP_ESTABLISHED	1
#define TCP_SYN_SENT	2
#define TCP_SYN_RECV	3
#define TCP_CLOSE	7
#define TCP_LISTEN	10

#define OWNER_SET	1	/* tgid..comm are the socket's process */
#define OWNER_ACCEPTED	2	/* an accepted socket, ACCEPT not yet sent */
#define OWNER_SELF	4	/* the probe's own socket: no events */
#define OWNER_KERNEL	8	/* a kernel thread's socket: no process */


char LICENSE[] SEC("license") = "GPL";

/* Set by user space before loading. */
const volatile __u32 self_tgid = 0;		/* the probe's own events: skipped */
const volatile __u64 udp_refresh_ns = 0;	/* re-report a 5-tuple after */
const volatile __u8 accept_on_io = 0;	/* sock_*_length tracepoints exist */
const volatile __u64 wakeup_bytes = 0;	/* wake user space past this backlog */

/* The process that owns a socket, and when it sent its SYN. */
struct owner {
	__u64	syn_ns;		/* TCP: when the SYN left */
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

/* A socket's first datagram, queued before its owner was recorded. */
struct udp_pending {
	struct udp_key k;
	__u64	ts_ns;
	__u8	ipv;
	__u8	pad[7];
};

/* A process already described to user space: start time and comm. */
struct proc_seen {
	__u64	start_ns;
	__u64	comm[PROBE_COMM_LEN / 8];
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
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct owner);
} udp_owner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);		/* socket address */
	__type(value, struct udp_pending);
} udp_pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct udp_key);
	__type(value, __u64);
} udp_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);		/* tgid */
	__type(value, struct proc_seen);
} procs_seen SEC(".maps");

/* The last process described from this CPU, and its tgid: a process
 * opening many sockets costs an array lookup, not a hash lookup. */
struct last_proc {
	struct proc_seen p;
	__u32	tgid;
	__u32	pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct last_proc);
} last_proc SEC(".maps");

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

/*
 * The path of `t`'s executable into r->name[]: the dentry names from the
 * file up to the root of its mount namespace, a mount point crossed as
 * an empty slot.  At most PROBE_EXE_DEPTH slots, names shorter than
 * PROBE_EXE_NAME; beyond, r->truncated.  (Unrolled, one fixed slot per
 * step: the verifier's work stays linear.)
 */
static __always_inline void
exe_path(struct task_struct *t, struct probe_proc *r)
{
	struct dentry *d, *parent, *root;
	struct mount *m, *mp;
	struct vfsmount *vm;
	struct file *f;
	int i;

	f = BPF_CORE_READ(t, mm, exe_file);
	if (!f)
		return;
	d = BPF_CORE_READ(f, f_path.dentry);
	vm = BPF_CORE_READ(f, f_path.mnt);
	m = container_of(vm, struct mount, mnt);
#pragma unroll
	for (i = 0; i < PROBE_EXE_DEPTH; i++) {
		root = BPF_CORE_READ(m, mnt.mnt_root);
		parent = BPF_CORE_READ(d, d_parent);
		if (d == root || d == parent) {
			mp = BPF_CORE_READ(m, mnt_parent);
			if (d != root || mp == m) {
				r->depth = i;
				return;		/* the namespace's root */
			}
			d = BPF_CORE_READ(m, mnt_mountpoint);
			m = mp;
			continue;	/* slot i stays empty */
		}
		if (BPF_CORE_READ(d, d_name.len) >= PROBE_EXE_NAME)
			break;
		bpf_probe_read_kernel_str(r->name[i], PROBE_EXE_NAME,
		    BPF_CORE_READ(d, d_name.name));
		d = parent;
	}
	r->truncated = 1;
}

/* Sends a struct probe_proc for owner `o` (task `t`) unless its
 * process was described already.  (Not inlined: one copy of the walk.) */
static __noinline void
proc_note(struct task_struct *t, const struct owner *o)
{
	struct proc_seen *ps, v = {};
	struct last_proc *lp;
	struct probe_proc *r;
	__u32 z = 0;

	v.start_ns = o->start_ns;
	__builtin_memcpy(v.comm, o->comm, sizeof(v.comm));
	lp = bpf_map_lookup_elem(&last_proc, &z);
	if (lp && lp->tgid == o->tgid && lp->p.start_ns == v.start_ns &&
	    lp->p.comm[0] == v.comm[0] && lp->p.comm[1] == v.comm[1])
		return;
	if (lp) {
		lp->tgid = o->tgid;
		lp->p = v;
	}
	ps = bpf_map_lookup_elem(&procs_seen, &o->tgid);
	if (ps && ps->start_ns == v.start_ns && ps->comm[0] == v.comm[0] &&
	    ps->comm[1] == v.comm[1])
		return;
	bpf_map_update_elem(&procs_seen, &o->tgid, &v, BPF_ANY);
	if ((r = bpf_ringbuf_reserve(&events, sizeof(*r), 0)) == 0) {
		count(PK_RINGBUF_FULL);
		return;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->start_ns = o->start_ns;
	r->tgid = o->tgid;
	r->uid = o->uid;
	r->gid = o->gid;
	__builtin_memcpy(r->comm, o->comm, sizeof(r->comm));
	exe_path(t, r);
	if (r->truncated)
		count(PK_EXE_TRUNCATED);
	count(PK_PROC_RECORDS);
	bpf_ringbuf_submit(r, 0);
}

/*
 * Fills `o` with the current task, in process context: a kernel thread
 * (or the probe itself) is recorded as such, without a process
 * (OWNER_KERNEL, OWNER_SELF).  The first socket of a process also
 * describes the process to user space (proc_note).
 */
static __always_inline void
owner_current(struct owner *o)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 pt = bpf_get_current_pid_tgid();
	__u64 ug;

	o->tgid = pt >> 32;
	if (o->tgid == self_tgid) {
		o->flags = OWNER_SELF;
		return;
	}
	if (t->flags & PF_KTHREAD) {
		o->flags = OWNER_KERNEL;
		count(PK_KERNEL_THREAD);
		return;
	}
	ug = bpf_get_current_uid_gid();
	o->pid = (__u32)pt;
	o->uid = (__u32)ug;
	o->gid = ug >> 32;
	o->cgroup_id = bpf_get_current_cgroup_id();
	o->start_ns = t->group_leader->start_boottime;
	o->flags = OWNER_SET;
	bpf_get_current_comm(o->comm, sizeof(o->comm));
	proc_note(t, o);
}

static __always_inline void
v4_mapped(__u8 *dst, __be32 a)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, &a, 4);
}

/* The socket's endpoints and namespace.  The IP version, or 0 if the
 * family is neither IPv4 nor IPv6. */
static __always_inline __u8
sock_ends(const struct sock *sk, __u8 *laddr, __u8 *raddr, __u16 *lport,
    __u16 *rport, __u32 *netns)
{
	__u16 family = sk->__sk_common.skc_family;
	__u8 ipv;

	if (family == AF_INET) {
		v4_mapped(laddr, sk->__sk_common.skc_rcv_saddr);
		v4_mapped(raddr, sk->__sk_common.skc_daddr);
		ipv = 4;
	} else if (family == AF_INET6) {
		__builtin_memcpy(laddr,
		    sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8, 16);
		__builtin_memcpy(raddr,
		    sk->__sk_common.skc_v6_daddr.in6_u.u6_addr8, 16);
		ipv = 6;
	} else
		return 0;
	*lport = sk->__sk_common.skc_num;
	/* Going to CLOSE, an ephemeral port is released (skc_num = 0)
	 * before the tracepoint fires; inet_sport still has it. */
	if (*lport == 0)
		*lport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk,
		    inet_sport));
	*rport = bpf_ntohs(sk->__sk_common.skc_dport);
	*netns = sk->__sk_common.skc_net.net->ns.inum;
	return ipv;
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
	e->ipv = sock_ends(sk, e->laddr, e->raddr, &e->lport, &e->rport,
	    &e->netns);
	if (e->ipv == 0) {
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
		/* connect(), in the connecting process (the probe's own
		 * connections are recorded too: their events are left out) */
		owner_current(&o);
		o.syn_ns = bpf_ktime_get_ns();
		if (bpf_map_update_elem(&socks, &key, &o, BPF_ANY) != 0)
			count(PK_SOCK_MAP_FULL);
		return 0;
	}
	if (oldstate == TCP_SYN_SENT && newstate == TCP_ESTABLISHED) {
		if ((op = bpf_map_lookup_elem(&socks, &key)) == 0 ||
		    (op->flags & OWNER_SELF))
			return 0;	/* map full, or the probe's own */
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
	if (op && (op->flags & OWNER_SELF)) {
		bpf_map_delete_elem(&socks, &key);
		return 0;
	}
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
 * opened before the probe started gets its process (no event).  A
 * socket already recorded costs one map lookup.
 */
static __always_inline void
tcp_io(struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct owner o = {}, *op;

	count(PK_HOOK_IO);
	op = bpf_map_lookup_elem(&socks, &key);
	if (op) {
		if (!(op->flags & OWNER_ACCEPTED))
			return;
	} else if (sk->__sk_common.skc_state != TCP_ESTABLISHED)
		return;
	owner_current(&o);
	if (bpf_map_update_elem(&socks, &key, &o, BPF_ANY) != 0)
		count(PK_SOCK_MAP_FULL);
	if (op && !(o.flags & OWNER_SELF))
		submit_simple(sk, PEV_ACCEPT, &o);
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

/* Emits a UDP event for key `k` by owner `o` (NULL: no process), at
 * ts_ns (0: now). */
static __always_inline void
udp_event(const struct udp_key *k, __u8 ipv, const struct owner *o,
    __u64 ts_ns)
{
	struct probe_event *e;

	if ((e = event_new(k->dir, IPPROTO_UDP)) == 0)
		return;
	if (ts_ns != 0)
		e->ts_ns = ts_ns;
	__builtin_memcpy(e->laddr, k->laddr, 16);
	__builtin_memcpy(e->raddr, k->raddr, 16);
	e->lport = k->lport;
	e->rport = k->rport;
	e->netns = k->netns;
	e->ipv = ipv;
	if (o)
		owner_to_event(e, o);
	submit(e);
}

/*
 * Reports the pending first datagram of socket `key` (its address), if
 * any, with owner `o` (NULL: none).  The one that deletes the entry
 * reports it: the send hook and net_dev_queue may both find it.
 */
static __always_inline void
udp_pending_flush(__u64 key, const struct owner *o)
{
	struct udp_pending *pp, p;

	if ((pp = bpf_map_lookup_elem(&udp_pending, &key)) == 0)
		return;
	p = *pp;
	if (bpf_map_delete_elem(&udp_pending, &key) != 0)
		return;
	if (o && (o->flags & OWNER_SELF))
		return;
	if (!o || !(o->flags & OWNER_SET))
		count(PK_UDP_NO_OWNER);
	udp_event(&p.k, p.ipv, o, p.ts_ns);
}

/*
 * A send on a UDP socket, at the end of the system call, in the
 * sending process: records the socket's owner for net_dev_queue, and
 * reports the socket's first datagram if it waits for it.  A socket
 * already recorded costs one lookup in its own storage (no hashing).
 */
static __always_inline void
udp_send_io(struct sock *sk)
{
	struct owner o = {}, *op;

	if (bpf_sk_storage_get(&udp_owner, sk, 0, 0))
		return;
	owner_current(&o);
	op = bpf_sk_storage_get(&udp_owner, sk, &o,
	    BPF_SK_STORAGE_GET_F_CREATE);
	if (!op)
		count(PK_SOCK_MAP_FULL);
	udp_pending_flush((__u64)sk, &o);
}

/*
 * A datagram received on a connected UDP socket (its peer is the
 * socket's), in the receiving process.  An unconnected receiver (a
 * server) shows through the datagrams it sends back.
 */
static __always_inline void
udp_recv_connected(struct sock *sk)
{
	struct udp_key k = {};
	struct owner o = {};
	__u8 ipv;

	if (sk->__sk_common.skc_state != TCP_ESTABLISHED)
		return;
	count(PK_HOOK_UDP_RECV);
	ipv = sock_ends(sk, k.laddr, k.raddr, &k.lport, &k.rport, &k.netns);
	if (ipv == 0)
		return;
	k.dir = PEV_UDP_RECV;
	if (!udp_first(&k))
		return;
	owner_current(&o);
	if (o.flags & OWNER_SELF)
		return;
	if (o.flags & OWNER_KERNEL)
		count(PK_NO_OWNER);
	udp_event(&k, ipv, &o, 0);
}

/* Every send and receive of every socket: leave the others at once. */
static __always_inline void
sock_io(struct sock *sk, int recv, int ret)
{
	__u16 family = sk->__sk_common.skc_family;

	if (family != AF_INET && family != AF_INET6)
		return;
	if (sk->sk_protocol == IPPROTO_TCP) {
		if (sk->sk_type == SOCK_STREAM)
			tcp_io(sk);
	} else if (sk->sk_protocol == IPPROTO_UDP &&
	    sk->sk_type == SOCK_DGRAM) {
		if (!recv)
			udp_send_io(sk);
		else if (ret > 0)
			udp_recv_connected(sk);
	}
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
	if (op && (op->flags & OWNER_SELF))
		return 0;
	if ((e = tcp_event(sk, PEV_RETRANSMIT, op)) != 0) {
		tcp_counters(e, sk);
		submit(e);
	}
	return 0;
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

/*
 * A packet leaving through a device.  A local UDP socket's datagram is
 * queued in the sending process's system call, or later from softirq
 * (the first datagram to a neighbour not yet resolved waits for ARP/ND)
 * with whatever task is current then: the current task is never used
 * here.  The owner is the one sock_send_length recorded for the socket;
 * a socket's first datagram comes before that (the hook runs when the
 * call returns), so it waits in `udp_pending` for the hook to report
 * it.  A kernel socket (no file: tunnels) is reported without process,
 * as is everything on kernels without the send hook but kernel threads.
 */
SEC("tp_btf/net_dev_queue")
int BPF_PROG(probe_udp_send, struct sk_buff *skb)
{
	struct sock *sk = skb->sk;
	struct udp_pending p = {};
	struct owner o = {}, *op;
	__u64 key = (__u64)sk;

	if (!sk || sk->sk_protocol != IPPROTO_UDP ||
	    sk->sk_type != SOCK_DGRAM)
		return 0;
	count(PK_HOOK_UDP_SEND);
	p.ipv = skb_udp(skb, p.k.laddr, p.k.raddr, &p.k.lport, &p.k.rport);
	if (p.ipv == 0)
		return 0;
	p.k.netns = sk->__sk_common.skc_net.net->ns.inum;
	p.k.dir = PEV_UDP_SEND;
	if (!udp_first(&p.k))
		return 0;
	if ((op = bpf_sk_storage_get(&udp_owner, sk, 0, 0)) != 0) {
		if (op->flags & OWNER_SELF)
			return 0;
		if (!(op->flags & OWNER_SET))
			count(PK_UDP_NO_OWNER);
		udp_event(&p.k, p.ipv, op, 0);
		return 0;
	}
	if (!accept_on_io) {
		/* no send hook: the current task, unless a kernel
		 * thread (in softirq it may still be another process) */
		owner_current(&o);
		if (o.flags & OWNER_SELF)
			return 0;
		if (!(o.flags & OWNER_SET))
			count(PK_UDP_NO_OWNER);
		udp_event(&p.k, p.ipv, &o, 0);
		return 0;
	}
	if (!sk->sk_socket || !sk->sk_socket->file) {
		count(PK_UDP_NO_OWNER);
		udp_event(&p.k, p.ipv, 0, 0);
		return 0;
	}
	p.ts_ns = bpf_ktime_get_ns();
	/* one waits per socket: an earlier one (sendmmsg() to several new
	 * destinations) is reported now, without process, not lost */
	udp_pending_flush(key, 0);
	bpf_map_update_elem(&udp_pending, &key, &p, BPF_ANY);
	/* the hook may have recorded the owner meanwhile (another CPU) */
	if ((op = bpf_sk_storage_get(&udp_owner, sk, 0, 0)) != 0) {
		o = *op;
		udp_pending_flush(key, &o);
	}
	return 0;
}
