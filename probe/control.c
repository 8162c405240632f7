/*
 * The probe's control socket answers `ping` and `stats` only, through
 * the skeleton (common/daemon.c): {"name":..., "role":"probe",
 * "counters":{...}, "mode":"bpf"|"diag"} -- the frame every daemon
 * answers, so `evflowctl status` shows the probe like any other.
 */
#include <string.h>

#include "common/counters.h"
#include "probe.h"

const char *const probe_counter_names[PC_MAX] = {
	[PC_RECEIVED] = "received",
	[PC_EV_CONNECT] = "events_connect",
	[PC_EV_ACCEPT] = "events_accept",
	[PC_EV_CLOSE] = "events_close",
	[PC_EV_CONNECT_FAILED] = "events_connect_failed",
	[PC_EV_RETRANSMIT] = "events_retransmit",
	[PC_EV_UDP_SEND] = "events_udp_send",
	[PC_EV_UDP_RECV] = "events_udp_recv",
	[PC_HOOK_STATE] = "hook_inet_sock_set_state",
	[PC_HOOK_IO] = "hook_sock_io",
	[PC_HOOK_RETRANSMIT] = "hook_tcp_retransmit_skb",
	[PC_HOOK_UDP_SEND] = "hook_udp_sent",
	[PC_HOOK_UDP_RECV] = "hook_udp_received",
	[PC_DROPPED_RINGBUF] = "dropped_ringbuf",
	[PC_DROPPED_SOCK_MAP] = "dropped_sock_map_full",
	[PC_EVENTS_WITHOUT_OWNER] = "events_without_owner",
	[PC_UDP_DEDUP] = "udp_deduplicated",
	[PC_UDP_NO_OWNER] = "udp_sent_without_owner",
	[PC_KERNEL_THREAD] = "kernel_thread_sockets",
	[PC_PROC_RECORDS] = "process_records",
	[PC_EXE_TRUNCATED] = "exe_path_truncated",
	[PC_EMITTED] = "emitted",
	[PC_MSGS_SENT] = "msgs_sent",
	[PC_BYTES_SENT] = "bytes_sent",
	[PC_DROPPED_SEND] = "dropped_send",
	[PC_SENT_NO_SUBSCRIBER] = "msgs_sent_without_subscriber",
	[PC_NETSTAT_SENT] = "netstat_sent",
	[PC_LISTEN_SENT] = "listening_ports_sent",
	[PC_COUNTER_SENT] = "counters_sent",
	[PC_HEALTH_SENT] = "health_sent",
	[PC_PROC_RESOLVED] = "processes_resolved",
	[PC_PROC_UNRESOLVED] = "processes_unresolved",
	[PC_PROC_KERNEL_ONLY] = "processes_kernel_only",
	[PC_PROC_CACHE_HITS] = "proc_cache_hits",
	[PC_PROC_CACHE_MISSES] = "proc_cache_misses",
	[PC_PROC_CACHE_EVICTED] = "proc_cache_evicted",
	[PC_PROC_CACHE_SIZE] = "proc_cache_size",
	[PC_DIAG_POLLS] = "diag_polls",
	[PC_DIAG_SOCKETS] = "diag_sockets",
	[PC_DROPPED_DIAG_LIMIT] = "dropped_diag_limit",
	[PC_BAD_DIAG_MSGS] = "bad_diag_msgs",
	[PC_FD_SCAN_LIMIT] = "fd_scan_limit",
	[PC_MODE_BPF] = "mode_bpf",
	[PC_MEMORY_BOUND] = "memory_bound_bytes",
	[PC_CTL_REQUESTS] = "ctl_requests",
};

void
control_stats_sync(void *arg)
{
	struct probe *p = arg;

	if (p->bpf != NULL)
		bpf_src_counters(p->bpf, p->ctr);
	p->ctr[PC_CTL_REQUESTS] = p->ctl ? p->ctl->requests : 0;
}

void
control_stats_extra(void *arg, struct buf *b)
{
	struct probe *p = arg;

	buf_printf(b, ", \"mode\": \"%s\"", p->bpf_mode ? "bpf" : "diag");
}
