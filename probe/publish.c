/*
 * From a source's event to a published message: the kernel record
 * becomes a struct probe_flow (wall clock, units), the process is
 * resolved as soon as the event arrives (short-lived processes are
 * still in /proc most of the time; otherwise the kernel's comm, pid and
 * uid stand), the local address names its interface, and emit.c writes
 * the JSON that zmq_pub.c batches.
 */
#include <string.h>

#include "common/clock.h"
#include "proto/evflow.h"
#include "probe.h"
#include "probe_event.h"

#define TCP_STATE_CLOSE	7

static const enum probe_counter type_counter[PEV_MAX] = {
	[PEV_CONNECT] = PC_EV_CONNECT, [PEV_ACCEPT] = PC_EV_ACCEPT,
	[PEV_CLOSE] = PC_EV_CLOSE, [PEV_CONNECT_FAILED] = PC_EV_CONNECT_FAILED,
	[PEV_RETRANSMIT] = PC_EV_RETRANSMIT, [PEV_UDP_SEND] = PC_EV_UDP_SEND,
	[PEV_UDP_RECV] = PC_EV_UDP_RECV,
};

void
probe_publish(struct probe *p, struct probe_flow *f, uint64_t start_ns,
    int netstat)
{
	int r;

	if (f->ts_usec == 0)
		f->ts_usec = clock_wall_usec();
	if (f->pid != 0) {
		f->pe = proc_cache_get(p->procs, f->pid, start_ns,
		    f->comm[0] != '\0' ? f->comm : NULL);
		p->ctr[f->pe ? PC_PROC_RESOLVED : PC_PROC_UNRESOLVED]++;
		/* sock_diag knows the socket's uid only: the process's
		 * ids are /proc's. */
		if (f->pe != NULL && f->tid == 0) {
			f->uid = f->pe->proc.uid;
			f->gid = f->pe->proc.gid;
		}
		f->uid_name = proc_user_name(p->procs, f->uid);
		f->gid_name = proc_group_name(p->procs, f->gid);
	}
	/* Addresses of other namespaces are not this namespace's
	 * interfaces; loopback is "lo" everywhere. */
	if (f->ifname == NULL && (f->netns == 0 || f->netns == p->self_netns ||
	    evp_addr_is_loopback(f->laddr)))
		f->ifname = netdev_addrs_find(p->addrs, f->laddr,
		    clock_mono_usec());
	buf_reset(&p->jb);
	if (netstat)
		emit_netstat_json(&p->jb, f);
	else
		emit_event_json(&p->jb, f, p->conf.emit_ids);
	if (!buf_ok(&p->jb)) {
		p->ctr[PC_DROPPED_SEND]++;
		return;
	}
	r = zpub_add(p->pub, "flow", p->jb.p, p->jb.len);
	if (r == 0)
		p->ctr[netstat ? PC_NETSTAT_SENT : PC_EMITTED]++;
}

/* A process the kernel saw for the first time: /proc is read now, its
 * sockets' events follow (a short-lived process may be gone by then:
 * the kernel's path stands). */
void
probe_deliver_proc(struct probe *p, const struct probe_proc *r)
{
	struct proc_kernel k;
	char comm[PROBE_COMM_LEN + 1], path[PROBE_PATH_LEN];

	memcpy(comm, r->comm, PROBE_COMM_LEN);
	comm[PROBE_COMM_LEN] = '\0';
	k.uid = r->uid;
	k.gid = r->gid;
	k.path = probe_proc_path(r, path, sizeof(path)) == 0 ? path : NULL;
	(void)proc_cache_note(p->procs, r->tgid, r->start_ns,
	    comm[0] != '\0' ? comm : NULL, &k);
}

void
probe_deliver(struct probe *p, const struct probe_event *e)
{
	struct probe_flow f;

	memset(&f, 0, sizeof(f));
	p->ctr[PC_RECEIVED]++;
	if (e->type == 0 || e->type >= PEV_MAX)
		return;
	p->ctr[type_counter[e->type]]++;
	f.type = e->type;
	f.ipv = e->ipv;
	f.proto = e->proto;
	memcpy(f.laddr, e->laddr, 16);
	memcpy(f.raddr, e->raddr, 16);
	f.lport = e->lport;
	f.rport = e->rport;
	f.ts_usec = e->ts_ns / 1000 + p->mono_to_wall;
	if (e->latency_ns != 0)
		f.latency_usec = e->latency_ns >= 1000 ? e->latency_ns / 1000 :
		    1;
	f.netns = e->netns;
	f.retrans = e->retrans;
	if (e->type == PEV_CLOSE) {
		f.has_tcpinfo = 1;
		f.tcp_state = TCP_STATE_CLOSE;
		f.bytes_acked = e->bytes_acked;
		f.bytes_received = e->bytes_received;
		f.segs_in = e->segs_in;
		f.segs_out = e->segs_out;
		f.srtt_us = e->srtt_us;
		f.rttvar_us = e->rttvar_us;
	}
	if (e->has_owner) {
		f.pid = e->tgid;
		f.tid = e->pid;
		f.uid = e->uid;
		f.gid = e->gid;
		f.cgroup_id = e->cgroup_id;
		memcpy(f.comm, e->comm, sizeof(f.comm));
		f.comm[sizeof(f.comm) - 1] = '\0';
	}
	probe_publish(p, &f, e->has_owner ? e->start_ns : 0, 0);
}
