/*
 * Events -> JSON text, in the shapes evflow-collector and ntopng read
 * (docs/wire.md, "Event dialects"; docs/probe.md lists every key):
 *
 *   events     libebpfflow: TCP_EVENT_TYPE/UDP_EVENT_TYPE, IPV4_SRC_ADDR...
 *              in packet order (ACCEPT: SRC is the remote client; every
 *              other event: SRC is the local socket), LOCAL_PROCESS,
 *              LOCAL_FATHER_PROCESS, LOCAL_CONTAINER; a CLOSE also
 *              carries the kernel's TCP counters in a "TCP" object
 *   netstat    nProbe Agent: IPV4_LOCAL_ADDR/IPV4_REMOTE_ADDR... and "TCP"
 *   counter    one flat object per interface
 *
 * Numbers are JSON numbers except NW_LATENCY_MS (a string, as
 * libebpfflow writes it); nothing here fails: the buffer records an
 * allocation failure for the caller to check.
 */
#include <stdio.h>
#include <string.h>

#include "proto/evflow.h"
#include "probe.h"
#include "probe_event.h"

static const char *const ev_names[PEV_MAX] = {
	[PEV_CONNECT] = "CONNECT", [PEV_ACCEPT] = "ACCEPT",
	[PEV_CLOSE] = "CLOSE", [PEV_CONNECT_FAILED] = "CONNECT_FAILED",
	[PEV_RETRANSMIT] = "RETRANSMIT", [PEV_UDP_SEND] = "SEND",
	[PEV_UDP_RECV] = "RECV",
};

/* Linux TCP_* states (include/net/tcp_states.h) -> netstat names. */
const char *
emit_tcp_state_name(unsigned s)
{
	static const char *const names[] = {
		"UNKNOWN", "ESTABLISHED", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1",
		"FIN-WAIT-2", "TIME-WAIT", "CLOSE", "CLOSE-WAIT", "LAST-ACK",
		"LISTEN", "CLOSING", "SYN-RECV"	/* NEW_SYN_RECV */
	};

	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "UNKNOWN";
}

/* Decimal text of v, without printf (the probe's hot path). */
static void
put_u64(struct buf *b, uint64_t v)
{
	char d[20];
	size_t n = sizeof(d);

	do {
		d[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	buf_add(b, d + n, sizeof(d) - n);
}

/* v / 1000 with three decimals ("0.221"), from an integer. */
static void
put_milli(struct buf *b, uint64_t v)
{
	char d[4];

	put_u64(b, v / 1000);
	d[0] = '.';
	d[1] = (char)('0' + v / 100 % 10);
	d[2] = (char)('0' + v / 10 % 10);
	d[3] = (char)('0' + v % 10);
	buf_add(b, d, 4);
}

/* ,"key": */
static void
put_key(struct buf *b, const char *key)
{
	buf_add(b, ",\"", 2);
	buf_puts(b, key);
	buf_add(b, "\":", 2);
}

static void
key_str(struct buf *b, const char *key, const char *v)
{
	put_key(b, key);
	buf_json_str(b, v);
}

static void
key_u64(struct buf *b, const char *key, uint64_t v)
{
	put_key(b, key);
	put_u64(b, v);
}

/* {"timestamp":"sec.usec" */
static void
put_timestamp(struct buf *b, uint64_t usec)
{
	char d[7];
	uint64_t f = usec % 1000000;
	int i;

	buf_puts(b, "{\"timestamp\":\"");
	put_u64(b, usec / 1000000);
	d[0] = '.';
	for (i = 6; i >= 1; i--, f /= 10)
		d[i] = (char)('0' + f % 10);
	buf_add(b, d, 7);
	buf_add(b, "\"", 1);
}

/* "IPV4_SRC_ADDR":"a","IPV4_DST_ADDR":"b" for the pair's family. */
static void
addr_pair(struct buf *b, int v4, const char *k1, const char *k2,
    const uint8_t a[16], const uint8_t c[16])
{
	char s[64];

	buf_puts(b, v4 ? ",\"IPV4_" : ",\"IPV6_");
	buf_puts(b, k1);
	buf_add(b, "\":\"", 3);
	buf_puts(b, evp_addr_str(a, s, sizeof(s)));
	buf_puts(b, v4 ? "\",\"IPV4_" : "\",\"IPV6_");
	buf_puts(b, k2);
	buf_add(b, "\":\"", 3);
	buf_puts(b, evp_addr_str(c, s, sizeof(s)));
	buf_add(b, "\"", 1);
}

static void
proc_obj(struct buf *b, const char *key, const struct proc_info *pi,
    uint32_t pid, uint32_t tid, uint32_t uid, uint32_t gid,
    const char *uname, const char *gname)
{
	put_key(b, key);
	buf_puts(b, "{\"PID\":");
	put_u64(b, pid);
	key_u64(b, "TID", tid);
	key_u64(b, "UID", uid);
	if (uname != NULL && uname[0] != '\0')
		key_str(b, "UID_NAME", uname);
	key_u64(b, "GID", gid);
	if (gname != NULL && gname[0] != '\0')
		key_str(b, "GID_NAME", gname);
	key_str(b, "PROCESS_PATH", pi->path);
	if (pi->cmdline[0] != '\0')
		key_str(b, "PROCESS_CMDLINE", pi->cmdline);
	buf_puts(b, "}");
}

static void
container_obj(struct buf *b, const struct probe_container *k)
{
	switch (k->kind) {
	case PCONT_NONE:
		return;
	case PCONT_DOCKER:
		buf_puts(b, ",\"LOCAL_CONTAINER\":{\"DOCKER\":{\"ID\":");
		buf_json_str(b, k->id);
		buf_puts(b, "}}");
		return;
	default:
		break;
	}
	if (k->pod[0] != '\0') {
		buf_puts(b, ",\"LOCAL_CONTAINER\":{\"K8S\":{\"POD\":");
		buf_json_str(b, k->pod);
		if (k->id[0] != '\0')
			key_str(b, "ID", k->id);
		buf_puts(b, "}}");
		return;
	}
	buf_puts(b, ",\"LOCAL_CONTAINER\":{\"ID\":");
	buf_json_str(b, k->id);
	key_str(b, "RUNTIME", cgroup_kind_name(k->kind));
	buf_puts(b, "}");
}

/* LOCAL_PROCESS, LOCAL_FATHER_PROCESS, LOCAL_CONTAINER of `f`. */
static void
local_side(struct buf *b, const struct probe_flow *f)
{
	struct proc_info kernel_only;
	const struct proc_entry *pe = f->pe;

	if (f->pid == 0)
		return;
	if (pe == NULL) {
		memset(&kernel_only, 0, sizeof(kernel_only));
		snprintf(kernel_only.path, sizeof(kernel_only.path), "%s",
		    f->comm);
	}
	proc_obj(b, "LOCAL_PROCESS", pe ? &pe->proc : &kernel_only, f->pid,
	    f->tid ? f->tid : f->pid, f->uid, f->gid, f->uid_name,
	    f->gid_name);
	if (pe == NULL)
		return;
	if (pe->has_parent)
		proc_obj(b, "LOCAL_FATHER_PROCESS", &pe->parent, pe->parent.pid,
		    0, pe->parent.uid, pe->parent.gid, pe->parent.uid_name,
		    pe->parent.gid_name);
	container_obj(b, &pe->cont);
}

/* The "TCP" object: the kernel's counters of the socket. */
static void
tcp_obj(struct buf *b, const struct probe_flow *f)
{
	buf_puts(b, ",\"TCP\":{\"CONN_STATE\":");
	buf_json_str(b, emit_tcp_state_name(f->tcp_state));
	key_u64(b, "SEGS_IN", f->segs_in);
	key_u64(b, "SEGS_OUT", f->segs_out);
	key_u64(b, "RETRAN_PKTS", f->retrans);
	key_u64(b, "UNACK_SEGMENTS", f->unacked);
	key_u64(b, "LOST_PKTS", f->lost);
	put_key(b, "RTT");
	put_milli(b, f->srtt_us);
	put_key(b, "RTT_VARIANCE");
	put_milli(b, f->rttvar_us);
	key_u64(b, "BYTES_RCVD", f->bytes_received);
	key_u64(b, "BYTES_ACKED", f->bytes_acked);
	buf_puts(b, "}");
}

static int
flow_is_v4(const struct probe_flow *f)
{
	return evp_addr_is_v4(f->laddr) && evp_addr_is_v4(f->raddr);
}

void
emit_event_json(struct buf *b, const struct probe_flow *f, int ids)
{
	int v4 = flow_is_v4(f), accept = f->type == PEV_ACCEPT;
	const char *ev = f->type < PEV_MAX && ev_names[f->type] ?
	    ev_names[f->type] : "UNKNOWN";

	put_timestamp(b, f->ts_usec);
	if (f->ifname != NULL)
		key_str(b, "INTERFACE_NAME", f->ifname);
	buf_puts(b, v4 ? ",\"IP_PROTOCOL_VERSION\":4" :
	    ",\"IP_PROTOCOL_VERSION\":6");
	buf_puts(b, f->proto == 17 ? ",\"UDP_EVENT_TYPE\":\"" :
	    ",\"TCP_EVENT_TYPE\":\"");
	buf_puts(b, ev);
	buf_add(b, "\"", 1);
	/* Packet order: on ACCEPT the remote client sent the SYN. */
	addr_pair(b, v4, "SRC_ADDR", "DST_ADDR", accept ? f->raddr : f->laddr,
	    accept ? f->laddr : f->raddr);
	key_u64(b, "PROTOCOL", f->proto);
	key_u64(b, "L4_SRC_PORT", accept ? f->rport : f->lport);
	key_u64(b, "L4_DST_PORT", accept ? f->lport : f->rport);
	if (f->latency_usec != 0) {
		put_key(b, "NW_LATENCY_MS");
		buf_add(b, "\"", 1);
		put_milli(b, f->latency_usec);
		buf_add(b, "\"", 1);
	}
	if (f->type == PEV_RETRANSMIT)
		key_u64(b, "RETRAN_PKTS", f->retrans);
	local_side(b, f);
	if (f->type == PEV_CLOSE && f->has_tcpinfo)
		tcp_obj(b, f);
	if (ids) {
		key_u64(b, "CGROUP_ID", f->cgroup_id);
		key_u64(b, "NETNS_INODE", f->netns);
	}
	buf_puts(b, "}");
}

void
emit_netstat_json(struct buf *b, const struct probe_flow *f)
{
	int v4 = flow_is_v4(f);

	put_timestamp(b, f->ts_usec);
	if (f->ifname != NULL)
		key_str(b, "INTERFACE_NAME", f->ifname);
	buf_puts(b, v4 ? ",\"IP_PROTOCOL_VERSION\":4" :
	    ",\"IP_PROTOCOL_VERSION\":6");
	addr_pair(b, v4, "LOCAL_ADDR", "REMOTE_ADDR", f->laddr, f->raddr);
	buf_printf(b, ",\"PROTOCOL\":%u,\"L4_LOCAL_PORT\":%u,"
	    "\"L4_REMOTE_PORT\":%u", f->proto, f->lport, f->rport);
	local_side(b, f);
	if (f->has_tcpinfo)
		tcp_obj(b, f);
	buf_puts(b, "}");
}

void
emit_counter_json(struct buf *b, const struct netdev_stats *s,
    unsigned ifindex, uint64_t sample)
{
	int lo = strcmp(s->name, "lo") == 0;

	buf_printf(b, "{\"ifIndex\":%u,\"ifName\":", ifindex);
	buf_json_str(b, s->name);
	buf_printf(b, ",\"ifType\":%d,\"ifSpeed\":0,\"ifDirection\":1,"
	    "\"ifAdminStatus\":1,\"ifOperStatus\":1", lo ? 24 : 6);
	key_u64(b, "ifInOctets", s->rx_bytes);
	key_u64(b, "ifInPackets", s->rx_packets);
	key_u64(b, "ifInErrors", s->rx_errs);
	key_u64(b, "ifOutOctets", s->tx_bytes);
	key_u64(b, "ifOutPackets", s->tx_packets);
	key_u64(b, "ifOutErrors", s->tx_errs);
	buf_printf(b, ",\"ifPromiscuousMode\":0,\"samplesGenerated\":%llu}",
	    (unsigned long long)sample);
}
