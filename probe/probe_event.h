/*
 * What crosses from the kernel (probe.bpf.c) to user space (bpf_source.c):
 * one fixed-layout record per event in the ring buffer, and the indexes
 * of the per-CPU kernel counters.  Included by both sides, so only
 * fixed-width types; the layout is pinned by the size assertion below.
 *
 * Addresses are 16 bytes, IPv4 as ::ffff:a.b.c.d (proto/evflow.h's
 * form); ports are host order.  `l*` is the socket's local endpoint,
 * `r*` the remote one, whatever the event (emit.c turns them into the
 * dialect's packet order).
 */
#ifndef EVFLOW_PROBE_EVENT_H
#define EVFLOW_PROBE_EVENT_H

#ifndef __VMLINUX_H__		/* user space; the BPF side has vmlinux.h */
#include <linux/types.h>
#endif

enum probe_ev_type {
	PEV_CONNECT = 1,	/* SYN-SENT -> ESTABLISHED, latency set */
	PEV_ACCEPT,		/* an accepted socket's first use */
	PEV_CLOSE,		/* -> CLOSE, with tcp_sock counters */
	PEV_CONNECT_FAILED,	/* SYN-SENT -> CLOSE */
	PEV_RETRANSMIT,		/* tcp_retransmit_skb */
	PEV_UDP_SEND,		/* first datagram of a 5-tuple, sent */
	PEV_UDP_RECV,		/* first datagram of a 5-tuple, received */
	PEV_MAX
};

/* Per-CPU counters (BPF_MAP_TYPE_PERCPU_ARRAY `counters`). */
enum probe_kctr {
	PK_HOOK_STATE,		/* inet_sock_set_state calls (TCP) */
	PK_HOOK_IO,		/* sock_send/recv_length calls (TCP) */
	PK_HOOK_RETRANSMIT,
	PK_HOOK_UDP_SEND,	/* UDP datagrams seen leaving */
	PK_HOOK_UDP_RECV,	/* UDP datagrams seen copied to a process */
	PK_RINGBUF_FULL,	/* events lost: ring buffer full */
	PK_SOCK_MAP_FULL,	/* owner not recorded: map full (TCP), socket
				   storage refused (UDP) */
	PK_NO_OWNER,		/* event of a socket opened before the probe */
	PK_UDP_DEDUP,		/* datagrams of an already reported 5-tuple */
	PK_UDP_NO_OWNER,	/* UDP SEND without process: sent from softirq
				   or a kernel thread, socket owner unknown */
	PK_KERNEL_THREAD,	/* sockets of kernel threads: no process */
	PK_PROC_RECORDS,	/* process records (exe path) sent */
	PK_EXE_TRUNCATED,	/* exe path deeper or longer than the walk */
	PK_MAX
};

#define PROBE_COMM_LEN	16	/* TASK_COMM_LEN */

struct probe_event {
	__u64	ts_ns;		/* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	__u64	cgroup_id;	/* owner's cgroup v2 id */
	__u64	start_ns;	/* owner process start, ns since boot */
	__u64	latency_ns;	/* CONNECT: SYN-SENT -> ESTABLISHED */
	__u64	bytes_acked;	/* CLOSE: tcp_sock counters */
	__u64	bytes_received;
	__u32	tgid;		/* the process id (PID) */
	__u32	pid;		/* the thread id (TID) */
	__u32	uid;
	__u32	gid;
	__u32	netns;		/* network namespace inode */
	__u32	segs_in;
	__u32	segs_out;
	__u32	retrans;	/* total_retrans */
	__u32	srtt_us;	/* smoothed RTT, microseconds */
	__u32	rttvar_us;
	__u8	laddr[16];
	__u8	raddr[16];
	__u16	lport;
	__u16	rport;
	__u8	type;		/* enum probe_ev_type */
	__u8	ipv;		/* 4 or 6 */
	__u8	proto;		/* 6 or 17 */
	__u8	has_owner;	/* tgid..gid, comm, cgroup_id, start_ns set */
	char	comm[PROBE_COMM_LEN];
};

_Static_assert(sizeof(struct probe_event) == 144, "probe_event layout");

/*
 * The first time the kernel side sees a process (tgid, start time and
 * comm: an exec is a new one) as a socket's owner, before that socket's
 * events: its executable's path, read in the kernel from
 * task->mm->exe_file, so that a process gone before user space reads
 * /proc keeps its path.  The path comes as its components, the file's
 * name first, up to the root of the process's mount namespace; an
 * empty slot is a mount point crossed.  User space joins them.  Told
 * apart from an event by its size.
 */
#define PROBE_EXE_DEPTH	24	/* slots: components and mount points */
#define PROBE_EXE_NAME	40	/* bytes of a component, NUL included */

struct probe_proc {
	__u64	start_ns;	/* as probe_event.start_ns */
	__u32	tgid, uid, gid;
	__u8	depth;		/* slots used in name[], 0: unknown */
	__u8	truncated;	/* deeper, or a longer name: unusable */
	__u8	pad[2];
	char	comm[PROBE_COMM_LEN];
	char	name[PROBE_EXE_DEPTH][PROBE_EXE_NAME];	/* [0]: the file */
};

_Static_assert(sizeof(struct probe_proc) == 1000, "probe_proc layout");

#endif
