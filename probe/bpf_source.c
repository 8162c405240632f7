/*
 * The eBPF source: opens the skeleton built from probe.bpf.c, sizes its
 * maps from the configuration, leaves out hooks whose tracepoint this
 * kernel lacks (found in its BTF; logged as what the probe cannot see),
 * loads, attaches and drains the ring buffer into probe_deliver().
 * Kernel counters are per-CPU sums read once a second.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "common/log.h"
#include "probe.h"
#include "probe_event.h"
/* Generated code: its casts are bpftool's. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include "probe.skel.h"
#pragma GCC diagnostic pop

#define RING_MIN	(64 * 1024)	/* bytes */
/* UDP sockets whose first datagram waits for its owner (entries): a
 * sixteenth of probe.udp_entries, at least 256 */
#define UDP_PENDING(c)	((__u32)((c)->udp_entries / 16 > 256 ?		\
			    (c)->udp_entries / 16 : 256))

struct bpf_src {
	struct probe	*p;
	struct probe_bpf *skel;
	struct ring_buffer *rb;
	int		 ncpu;
	__u64		*percpu;	/* ncpu values of one counter */
};

/* libbpf's own messages: warnings at our info level, the rest debug. */
static int
libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	if (level == LIBBPF_DEBUG && log_get_level() < LOG_LVL_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	if (n > 0 && line[n - 1] == '\n')
		line[n - 1] = '\0';
	if (level == LIBBPF_WARN)
		log_info("%s", line);
	else
		log_debug("%s", line);
	return 0;
}

/* A record of the ring: a process (struct probe_proc, told apart by
 * its size) or an event. */
static int
on_event(void *ctx, void *data, size_t len)
{
	struct bpf_src *s = ctx;

	if (len == sizeof(struct probe_proc))
		probe_deliver_proc(s->p, data);
	else if (len >= sizeof(struct probe_event))
		probe_deliver(s->p, data);
	return 0;
}

/* The smallest power of two >= v (and >= RING_MIN). */
static unsigned
pow2(long long v)
{
	unsigned n = RING_MIN;

	while ((long long)n < v && n < (1u << 30))
		n <<= 1;
	return n;
}

uint64_t
bpf_src_memory(const struct probe_conf *c)
{
	/* hash entries: key + value + ~64 bytes of element overhead;
	 * the UDP maps: 5-tuples seen, first datagrams waiting for their
	 * sender (a UDP socket's sender lives in the socket's own storage,
	 * freed with it); processes seen
	 * (as many as the process cache) */
	return (uint64_t)pow2(c->ring_size) +
	    (uint64_t)c->sock_entries * (8 + 56 + 64) +
	    (uint64_t)c->udp_entries * (44 + 8 + 64) +
	    (uint64_t)UDP_PENDING(c) * (8 + 56 + 64) +
	    (uint64_t)c->proc_cache * (4 + 24 + 64);
}

/* 1 if the kernel has tracepoint `tp` (its btf_trace_ typedef). */
static int
has_tracepoint(const struct btf *vmlinux, const char *tp)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) >= 0;
}

/* Turns off program `prog` if tracepoint `tp` is missing.  0 or -1. */
static int
need_tracepoint(const struct btf *vmlinux, struct bpf_program *prog,
    const char *tp, const char *what)
{
	if (has_tracepoint(vmlinux, tp))
		return 0;
	bpf_program__set_autoload(prog, false);
	log_warnx("eBPF: no tracepoint %s in this kernel: %s", tp, what);
	return -1;
}

struct bpf_src *
bpf_src_open(struct probe *p, char *err, size_t errlen)
{
	struct bpf_src *s;
	struct btf *vmlinux;
	int rc;

	libbpf_set_print(libbpf_log);
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->p = p;
	if ((s->ncpu = libbpf_num_possible_cpus()) <= 0 ||
	    (s->percpu = calloc((size_t)s->ncpu, sizeof(__u64))) == NULL) {
		snprintf(err, errlen, "cannot count CPUs");
		free(s);
		return NULL;
	}
	if ((s->skel = probe_bpf__open()) == NULL) {
		snprintf(err, errlen, "open: %s", strerror(errno));
		goto fail;
	}
	s->skel->rodata->self_tgid = (__u32)getpid();
	s->skel->rodata->udp_refresh_ns = (__u64)p->conf.udp_refresh *
	    1000000000ULL;
	s->skel->rodata->wakeup_bytes = (__u64)p->conf.wakeup_events *
	    (sizeof(struct probe_event) + 8);	/* + record header */
	if (bpf_map__set_max_entries(s->skel->maps.events,
	    pow2(p->conf.ring_size)) != 0 ||
	    bpf_map__set_max_entries(s->skel->maps.socks,
	    (__u32)p->conf.sock_entries) != 0 ||
	    bpf_map__set_max_entries(s->skel->maps.udp_seen,
	    (__u32)p->conf.udp_entries) != 0 ||
	    bpf_map__set_max_entries(s->skel->maps.udp_pending,
	    UDP_PENDING(&p->conf)) != 0 ||
	    bpf_map__set_max_entries(s->skel->maps.procs_seen,
	    (__u32)p->conf.proc_cache) != 0) {
		snprintf(err, errlen, "map sizes refused");
		goto fail;
	}
	vmlinux = btf__load_vmlinux_btf();
	if (vmlinux == NULL) {
		snprintf(err, errlen, "no kernel BTF (/sys/kernel/btf/vmlinux)");
		goto fail;
	}
	s->skel->rodata->accept_on_io = need_tracepoint(vmlinux,
	    s->skel->progs.probe_send_length, "sock_send_length",
	    "ACCEPT events carry no process (Linux 6.3 adds it)") == 0 &&
	    need_tracepoint(vmlinux, s->skel->progs.probe_recv_length,
	    "sock_recv_length", "ACCEPT events carry no process") == 0;
	if (!s->skel->rodata->accept_on_io) {
		bpf_program__set_autoload(s->skel->progs.probe_send_length,
		    false);
		bpf_program__set_autoload(s->skel->progs.probe_recv_length,
		    false);
	}
	(void)need_tracepoint(vmlinux, s->skel->progs.probe_udp_send,
	    "net_dev_queue", "UDP sends are not seen");
	if (!has_tracepoint(vmlinux, "inet_sock_set_state")) {
		btf__free(vmlinux);
		snprintf(err, errlen, "no tracepoint inet_sock_set_state");
		goto fail;
	}
	btf__free(vmlinux);
	if ((rc = probe_bpf__load(s->skel)) != 0) {
		snprintf(err, errlen, "load: %s", strerror(-rc));
		goto fail;
	}
	if ((rc = probe_bpf__attach(s->skel)) != 0) {
		snprintf(err, errlen, "attach: %s", strerror(-rc));
		goto fail;
	}
	if ((s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events),
	    on_event, s, NULL)) == NULL) {
		snprintf(err, errlen, "ring buffer: %s", strerror(errno));
		goto fail;
	}
	return s;
fail:
	bpf_src_close(s);
	return NULL;
}

void
bpf_src_close(struct bpf_src *s)
{
	if (s == NULL)
		return;
	ring_buffer__free(s->rb);
	probe_bpf__destroy(s->skel);
	free(s->percpu);
	free(s);
}

int
bpf_src_fd(struct bpf_src *s)
{
	return ring_buffer__epoll_fd(s->rb);
}

/* Consumes whatever the ring holds, woken or not (events committed
 * without a wake-up are found here on the drain timer). */
int
bpf_src_poll(struct bpf_src *s, int timeout_ms)
{
	int n;

	(void)timeout_ms;
	n = ring_buffer__consume(s->rb);
	return n < 0 && n != -EINTR ? -1 : n;
}

void
bpf_src_counters(struct bpf_src *s, uint64_t *ctr)
{
	static const int map[PK_MAX] = {
		[PK_HOOK_STATE] = PC_HOOK_STATE,
		[PK_HOOK_IO] = PC_HOOK_IO,
		[PK_HOOK_RETRANSMIT] = PC_HOOK_RETRANSMIT,
		[PK_HOOK_UDP_SEND] = PC_HOOK_UDP_SEND,
		[PK_HOOK_UDP_RECV] = PC_HOOK_UDP_RECV,
		[PK_RINGBUF_FULL] = PC_DROPPED_RINGBUF,
		[PK_SOCK_MAP_FULL] = PC_DROPPED_SOCK_MAP,
		[PK_NO_OWNER] = PC_EVENTS_WITHOUT_OWNER,
		[PK_UDP_DEDUP] = PC_UDP_DEDUP,
		[PK_UDP_NO_OWNER] = PC_UDP_NO_OWNER,
		[PK_KERNEL_THREAD] = PC_KERNEL_THREAD,
		[PK_PROC_RECORDS] = PC_PROC_RECORDS,
		[PK_EXE_TRUNCATED] = PC_EXE_TRUNCATED,
	};
	int fd = bpf_map__fd(s->skel->maps.counters), c;
	__u32 k;
	uint64_t sum;

	for (k = 0; k < PK_MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, s->percpu) != 0)
			continue;
		for (sum = 0, c = 0; c < s->ncpu; c++)
			sum += s->percpu[c];
		ctr[map[k]] = sum;
	}
}
