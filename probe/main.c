/*
 * evflow-probe: options, configuration, set-up and the loop.
 *
 * One poll loop on the ring buffer (eBPF mode) and the control socket;
 * its timeout is the nearest deadline of: the stats tick (clock offsets,
 * kernel counters), the sock_diag poll (fallback mode), the netstat
 * update, the listening-ports snapshot and the interface counters.
 * Published messages are flushed at the end of every wake-up.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/paths.h"
#include "probe.h"

#define PROBE_NETDEV_MAX	65536	/* bytes of /proc/net/dev read */

#define STR(field) offsetof(struct probe_conf, field), \
	sizeof(((struct probe_conf *)0)->field)
#define NUM(field) offsetof(struct probe_conf, field), 0

static const struct conf_directive probe_conf_table[] = {
	{ "datadir", CONF_STR, STR(datadir), PATHS_DEFAULT_DATADIR, 0, 0,
	  "data directory: the control socket" },
	{ "name", CONF_STR, STR(name), "probe", 0, 0,
	  "instance name (control socket <datadir>/<name>.ctl)" },
	{ "log_level", CONF_INT, NUM(log_level), "1", 0, 2,
	  "0 warnings, 1 info, 2 debug" },
	{ "probe.endpoint", CONF_STR, STR(endpoint), "tcp://127.0.0.1:1234c",
	  0, 0, "ZMQ endpoints, comma-separated: trailing 'c' connects to a "
	  "collector that binds, else bind" },
	{ "probe.curve_server_key", CONF_STR, STR(curve_server_key), NULL, 0,
	  0, "the collector's CURVE public key (z85, 40 characters): "
	  "encrypt to a collector with collector.curve = yes" },
	{ "probe.mode", CONF_STR, STR(mode), "auto", 0, 0,
	  "auto (eBPF, else sock_diag), bpf, diag" },
	{ "probe.poll_interval", CONF_SECONDS, NUM(poll_interval), "1s", 1,
	  3600, "sock_diag mode: period of the socket dump" },
	{ "probe.netstat_interval", CONF_SECONDS, NUM(netstat_interval),
	  "10s", 0, 86400, "netstat updates of open TCP connections "
	  "(0: off)" },
	{ "probe.listen_interval", CONF_SECONDS, NUM(listen_interval), "30s",
	  0, 86400, "listening-ports snapshot (0: off)" },
	{ "probe.counter_interval", CONF_SECONDS, NUM(counter_interval),
	  "10s", 0, 86400, "per-NIC counters from /proc/net/dev (0: off)" },
	{ "probe.health_interval", CONF_SECONDS, NUM(health_interval), "10s",
	  0, 86400, "the probe's own counters on topic `event` (0: off)" },
	{ "probe.compress", CONF_BOOL, NUM(compress), "no", 0, 0,
	  "zlib payloads" },
	{ "probe.events_per_msg", CONF_INT, NUM(events_per_msg), "16", 1,
	  1024, "events per message (more than 1: a JSON array)" },
	{ "probe.source_id", CONF_INT, NUM(source_id), "0", 0, 4294967295LL,
	  "source_id in the message header" },
	{ "probe.sndhwm", CONF_INT, NUM(sndhwm), "100000", 16, 10000000,
	  "messages queued per collector before events are dropped" },
	{ "probe.subscribe_wait", CONF_INT, NUM(subscribe_wait), "2000", 0,
	  60000, "milliseconds to wait at start for a collector" },
	{ "probe.ring_size", CONF_BYTES, NUM(ring_size), "8M", 65536,
	  1073741824, "eBPF ring buffer (rounded up to a power of two)" },
	{ "probe.wakeup_events", CONF_INT, NUM(wakeup_events), "64", 1,
	  65536, "eBPF: events waiting in the ring buffer that wake the "
	  "probe at once" },
	{ "probe.drain_ms", CONF_INT, NUM(drain_ms), "5", 1, 1000,
	  "eBPF: the ring buffer is drained at least this often (ms)" },
	{ "probe.sock_entries", CONF_INT, NUM(sock_entries), "65536", 1024,
	  16777216, "eBPF: TCP sockets whose process is remembered" },
	{ "probe.udp_entries", CONF_INT, NUM(udp_entries), "65536", 1024,
	  16777216, "eBPF: UDP 5-tuples remembered (LRU)" },
	{ "probe.udp_refresh", CONF_SECONDS, NUM(udp_refresh), "60s", 1,
	  86400, "eBPF: a UDP 5-tuple is reported again after this" },
	{ "probe.proc_cache", CONF_INT, NUM(proc_cache), "4096", 16, 1048576,
	  "processes cached (key: pid, start time, comm)" },
	{ "probe.max_sockets", CONF_INT, NUM(max_sockets), "65536", 16,
	  4194304, "sock_diag: sockets read per dump" },
	{ "probe.max_fds", CONF_INT, NUM(max_fds), "1048576", 1024, 67108864,
	  "sock_diag: /proc/*/fd entries read per scan" },
	{ "probe.emit_ids", CONF_BOOL, NUM(emit_ids), "no", 0, 0,
	  "add CGROUP_ID and NETNS_INODE to events" },
	{ NULL, 0, 0, 0, NULL, 0, 0, NULL }
};

/* -z and -m set keys (common/daemon.h, level 4). */
static const struct daemon_flag probe_flags[] = {
	{ 'z', NULL, 1, "probe.endpoint", NULL },
	{ 'm', NULL, 1, "probe.mode", NULL },
	{ 0, NULL, 0, NULL, NULL }
};

/* The configuration (common/daemon.h), then the probe's own rules.
 * Exits with the reason on error. */
static void
configure(struct probe *p, struct daemon *d, int argc, char **argv)
{
	d->prog = "evflow-probe";
	d->synopsis = "evflow-probe [-nvh] [-f file] [-d datadir] [-N name] "
	    "[-o key=value] [-z endpoint] [-m auto|bpf|diag]";
	d->flags_help =
	    "  -z ENDPOINT  where to publish (probe.endpoint): "
	    "tcp://127.0.0.1:1234c\n"
	    "               connects to a collector's tcp://*:1234c "
	    "interface; without\n"
	    "               the trailing c the probe binds; comma-separated "
	    "list allowed\n"
	    "  -m MODE      auto: eBPF, else sock_diag polling; bpf; diag "
	    "(probe.mode)\n";
	d->table = probe_conf_table;
	d->cfg = &p->conf;
	d->own = probe_flags;
	daemon_configure(d, argc, argv);
	if (strcmp(p->conf.mode, "auto") != 0 &&
	    strcmp(p->conf.mode, "bpf") != 0 &&
	    strcmp(p->conf.mode, "diag") != 0)
		fatalx("probe.mode '%s': auto, bpf or diag", p->conf.mode);
	if (p->conf.endpoint[0] == '\0')
		fatalx("probe.endpoint: empty");
}

/* wall - monotonic (usec), and our network namespace's inode. */
static void
clocks_sync(struct probe *p)
{
	p->mono_to_wall = clock_wall_usec() - clock_mono_usec();
}

static uint32_t
own_netns(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? (uint32_t)st.st_ino : 0;
}

/* Waits (bounded) until a collector subscribed, so the first events are
 * not published to nobody. */
static void
wait_subscriber(struct probe *p)
{
	long long waited = 0;
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	while (!sig_quit && zpub_subscribers(p->pub) == 0 &&
	    waited < p->conf.subscribe_wait) {
		nanosleep(&ts, NULL);
		waited += 10;
	}
	if (zpub_subscribers(p->pub) == 0)
		log_warnx("no collector subscribed after %lld ms; publishing "
		    "anyway (counted as msgs_sent_without_subscriber)",
		    p->conf.subscribe_wait);
}

/* Opens the output, the source (eBPF or sock_diag) and the control
 * socket, in that order: the control socket answering means ready. */
static void
setup(struct probe *p, struct daemon *d)
{
	struct zpub_opts zo;
	char err[512];
	int want_bpf = strcmp(p->conf.mode, "diag") != 0;

	buf_init(&p->jb);
	clocks_sync(p);
	p->self_netns = own_netns();
	if ((p->procs = proc_cache_new((unsigned)p->conf.proc_cache, "/proc",
	    p->ctr)) == NULL || (p->addrs = netdev_addrs_new()) == NULL)
		fatal("caches");
	zo.sndhwm = (int)p->conf.sndhwm;
	zo.compress = p->conf.compress;
	zo.source_id = (uint32_t)p->conf.source_id;
	zo.events_per_msg = (unsigned)p->conf.events_per_msg;
	zo.curve_server_key = p->conf.curve_server_key[0] != '\0' ?
	    p->conf.curve_server_key : NULL;
	if ((p->pub = zpub_open(p->conf.endpoint, &zo, p->ctr, err,
	    sizeof(err))) == NULL)
		fatalx("publish: %s", err);
	wait_subscriber(p);
	if (want_bpf && (p->bpf = bpf_src_open(p, err, sizeof(err))) == NULL) {
		if (strcmp(p->conf.mode, "bpf") == 0)
			fatalx("eBPF: %s", err);
		log_warnx("eBPF not available (%s): falling back to sock_diag",
		    err);
	}
	p->bpf_mode = p->bpf != NULL;
	if ((p->diag = diag_src_new(p, !p->bpf_mode, err, sizeof(err))) ==
	    NULL) {
		if (!p->bpf_mode)
			fatalx("sock_diag: %s", err);
		log_warnx("sock_diag not available (%s): no netstat updates "
		    "or listening ports", err);
	}
	p->ctr[PC_MODE_BPF] = (uint64_t)p->bpf_mode;
	p->ctr[PC_MEMORY_BOUND] = (p->bpf_mode ? bpf_src_memory(&p->conf) :
	    0) + proc_cache_bytes((unsigned)p->conf.proc_cache) +
	    (uint64_t)p->conf.max_sockets * 2 * sizeof(struct diag_sock);
	if (p->bpf_mode)
		log_info("mode bpf: TCP connect, accept, close, connect "
		    "failure, retransmission; first UDP datagram of each "
		    "5-tuple; IPv4 and IPv6.  Not seen: the process of "
		    "connections opened before the start (their close and "
		    "retransmit events carry none)");
	else
		log_info("mode diag: sock_diag every %llds.  Not seen: "
		    "connections that open and close between two polls, "
		    "connect failures, retransmission events, UDP without a "
		    "connected socket; latency unknown",
		    p->conf.poll_interval);
	daemon_counters(d, probe_counter_names, p->ctr, PC_MAX);
	d->stats_sync = control_stats_sync;
	d->stats_extra = control_stats_extra;
	daemon_ctl_open(d, "probe", NULL, p);
	p->ctl = d->ctl;
	log_info("publishing to %s, control %s", p->conf.endpoint,
	    d->ctl_endpoint);
}

/* One `counter` message per interface of /proc/net/dev. */
struct counter_ctx {
	struct probe	*p;
	uint64_t	 sample;
};

static void
counter_one(void *arg, const struct netdev_stats *s)
{
	struct counter_ctx *cc = arg;
	struct probe *p = cc->p;
	unsigned idx = if_nametoindex(s->name);

	buf_reset(&p->jb);
	emit_counter_json(&p->jb, s, idx, cc->sample);
	if (buf_ok(&p->jb) && zpub_add(p->pub, "counter", p->jb.p,
	    p->jb.len) == 0)
		p->ctr[PC_COUNTER_SENT]++;
}

static void
send_counters(struct probe *p, uint64_t sample)
{
	static char text[PROBE_NETDEV_MAX];
	struct counter_ctx cc = { p, sample };
	unsigned bad = 0;
	ssize_t n;
	int fd;

	if ((fd = open("/proc/net/dev", O_RDONLY | O_CLOEXEC)) == -1)
		return;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0 || netdev_parse(text, (size_t)n, counter_one, &cc,
	    &bad) == -1)
		LOG_RATELIMITED(log_warnx, "/proc/net/dev: unexpected format");
}

/*
 * The probe's health on topic `event`, as nProbe publishes its own: the
 * collector keeps it as the producer's health and sums every "drop" key.
 */
static void
send_health(struct probe *p)
{
	char host[256];

	if (p->bpf_mode)
		bpf_src_counters(p->bpf, p->ctr);
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	buf_reset(&p->jb);
	buf_puts(&p->jb, "{\"probe\":{\"name\":\"evflow-probe\",\"mode\":");
	buf_json_str(&p->jb, p->bpf_mode ? "bpf" : "diag");
	buf_puts(&p->jb, ",\"instance-name\":");
	buf_json_str(&p->jb, host);
	buf_printf(&p->jb, "},\"time\":%llu,\"events\":{\"total\":%llu,"
	    "\"emitted\":%llu},\"drops\":{\"ringbuf\":%llu,\"send\":%llu,"
	    "\"sock_map\":%llu},\"processes\":{\"resolved\":%llu,"
	    "\"unresolved\":%llu}}",
	    (unsigned long long)(clock_wall_usec() / 1000000),
	    (unsigned long long)p->ctr[PC_RECEIVED],
	    (unsigned long long)p->ctr[PC_EMITTED],
	    (unsigned long long)p->ctr[PC_DROPPED_RINGBUF],
	    (unsigned long long)p->ctr[PC_DROPPED_SEND],
	    (unsigned long long)p->ctr[PC_DROPPED_SOCK_MAP],
	    (unsigned long long)p->ctr[PC_PROC_RESOLVED],
	    (unsigned long long)p->ctr[PC_PROC_UNRESOLVED]);
	if (buf_ok(&p->jb) && zpub_add(p->pub, "event", p->jb.p,
	    p->jb.len) == 0)
		p->ctr[PC_HEALTH_SENT]++;
}

/* The next deadline of a periodic job (0 = off: never). */
static uint64_t
next_of(uint64_t now, long long sec)
{
	return sec > 0 ? now + (uint64_t)sec * 1000000u : UINT64_MAX;
}

static uint64_t
min_of(const uint64_t *v, unsigned n)
{
	uint64_t m = UINT64_MAX;

	while (n-- > 0)
		m = deadline_min(m, v[n]);
	return m;
}

enum { T_STATS, T_POLL, T_NETSTAT, T_LISTEN, T_COUNTER, T_HEALTH, T_MAX };

static void
loop(struct probe *p)
{
	struct pollfd pfd[2];
	uint64_t now, t[T_MAX], samples = 0;
	unsigned nfd = 0, what;

	now = clock_mono_usec();
	t[T_STATS] = now + PROBE_STATS_USEC;
	t[T_POLL] = p->bpf_mode || p->diag == NULL ? UINT64_MAX : now;
	t[T_NETSTAT] = p->diag ? next_of(now, p->conf.netstat_interval) :
	    UINT64_MAX;
	t[T_LISTEN] = p->diag && p->conf.listen_interval > 0 ? now :
	    UINT64_MAX;
	t[T_COUNTER] = p->conf.counter_interval > 0 ? now : UINT64_MAX;
	t[T_HEALTH] = next_of(now, p->conf.health_interval);
	if (p->bpf_mode) {
		pfd[nfd].fd = bpf_src_fd(p->bpf);
		pfd[nfd++].events = POLLIN;
	}
	pfd[nfd].fd = ctl_fd(p->ctl);
	pfd[nfd++].events = POLLIN;
	while (!sig_quit) {
		if (poll(pfd, nfd, deadline_timeout(min_of(t, T_MAX),
		    clock_mono_usec(), p->bpf_mode ? (int)p->conf.drain_ms :
		    1000)) == -1 && errno != EINTR)
			fatal("poll");
		if (p->bpf_mode && bpf_src_poll(p->bpf, 0) == -1)
			LOG_RATELIMITED(log_warnx, "ring buffer poll failed");
		ctl_poll(p->ctl);
		now = clock_mono_usec();
		what = 0;
		if (now >= t[T_POLL]) {
			what |= DIAG_DO_EVENTS;
			t[T_POLL] = next_of(now, p->conf.poll_interval);
		}
		if (now >= t[T_NETSTAT]) {
			what |= DIAG_DO_NETSTAT;
			t[T_NETSTAT] = next_of(now, p->conf.netstat_interval);
		}
		if (now >= t[T_LISTEN]) {
			what |= DIAG_DO_LISTEN;
			t[T_LISTEN] = next_of(now, p->conf.listen_interval);
		}
		if (what != 0)
			diag_src_poll(p->diag, what);
		if (now >= t[T_COUNTER]) {
			send_counters(p, ++samples);
			t[T_COUNTER] = next_of(now, p->conf.counter_interval);
		}
		if (now >= t[T_HEALTH]) {
			send_health(p);
			t[T_HEALTH] = next_of(now, p->conf.health_interval);
		}
		if (deadline_due(&t[T_STATS], now, PROBE_STATS_USEC)) {
			clocks_sync(p);
			if (p->bpf_mode)
				bpf_src_counters(p->bpf, p->ctr);
		}
		zpub_flush(p->pub);
	}
	if (p->bpf_mode)
		(void)bpf_src_poll(p->bpf, 0);
	zpub_flush(p->pub);
}

int
main(int argc, char **argv)
{
	static struct daemon d;
	struct probe *p;

	log_init("evflow-probe", LOG_LVL_INFO);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("calloc");
	configure(p, &d, argc, argv);
	if (d.check) {
		daemon_print_config(&d);
		free(p);
		return 0;
	}
	daemon_start(&d);
	setup(p, &d);
	loop(p);
	if (p->bpf_mode)
		bpf_src_counters(p->bpf, p->ctr);
	log_info("exiting: %llu events, %llu emitted, %llu dropped in the "
	    "ring buffer, %llu dropped on send",
	    (unsigned long long)p->ctr[PC_RECEIVED],
	    (unsigned long long)p->ctr[PC_EMITTED],
	    (unsigned long long)p->ctr[PC_DROPPED_RINGBUF],
	    (unsigned long long)p->ctr[PC_DROPPED_SEND]);
	daemon_ctl_close(&d);
	p->ctl = NULL;
	bpf_src_close(p->bpf);
	diag_src_free(p->diag);
	zpub_close(p->pub);
	proc_cache_free(p->procs);
	netdev_addrs_free(p->addrs);
	buf_free(&p->jb);
	free(p);
	return 0;
}
