/*
 * evflow-capture: flows from one NIC (-i) or pcap file (-r), published
 * to the router as EVP_FLOW records.  See capture.h and README.md.
 *
 * The loop polls the pcap descriptor (live) and the control socket; its
 * timeout is the nearest of: the link's batch flush, the flow timers,
 * the once-a-second stats.  A file is read as fast as possible in slices
 * of READ_SLICE packets so the control socket is still served; its flow
 * clock is the packets' timestamps, and at its end every flow is ended,
 * the link flushed and the process exits 0, or CAPTURE_EXIT_FILE_ERROR
 * if the file ended in a read error (cut short): the flows read so far
 * are sent all the same, and a supervisor must not read it again.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nanomsg/nn.h>

#include "../common/buf.h"
#include "../common/clock.h"
#include "../common/config.h"
#include "../common/counters.h"
#include "../common/ctl.h"
#include "../common/daemon.h"
#include "../common/log.h"
#include "../common/nnlink.h"
#include "../common/paths.h"
#include "../common/privdrop.h"
#include "capture.h"

#define READ_SLICE	4096		/* packets per read between polls */
#define FLUSH_SLICE	4096		/* flows ended per step at a file's end */
#define FILE_SLACK	(16u << 20)	/* file: replay room kept for a slice */
#define FILE_STALL_USEC	10000000	/* file: no ack progress this long, the
					   store is gone: stop waiting */
#define STATS_USEC	1000000		/* EVP_STATS period */
#define DROP_WAIT_USEC	2000000		/* root: for the router link, before
					   the drop */
#define UNREACH_USEC	3000000		/* dropped: router socket refused */

struct capture_conf {
	char		datadir[CONF_STR_LEN];
	char		name[CONF_STR_LEN];
	long long	log_level;
	char		router_endpoint[CONF_STR_LEN];
	char		device[CONF_STR_LEN];
	char		file[CONF_STR_LEN];
	char		iface_name[CONF_STR_LEN];
	char		filter[CONF_STR_LEN];
	long long	snaplen;
	int		promisc;
	int		immediate;
	long long	buffer_size;
	long long	idle_timeout;
	long long	active_timeout;
	long long	update_interval;
	long long	linger;
	long long	max_flows;
	long long	send_timeout_ms;
	char		user[CONF_STR_LEN];
	int		dpi;
	long long	dpi_max_packets;
	long long	dpi_flow_memory;
	long long	dpi_flows;
	long long	dpi_queue;
	char		dpi_protocols[CONF_STR_LEN];
	long long	name_cache;
	struct link_conf link;		/* common/nnlink.h */
};

#define C(f)	offsetof(struct capture_conf, f)
static const struct conf_directive capture_directives[] = {
	{ "datadir", CONF_STR, C(datadir), CONF_STR_LEN,
	    PATHS_DEFAULT_DATADIR, 0, 0, "data directory" },
	{ "name", CONF_STR, C(name), CONF_STR_LEN, "capture", 0, 0,
	    "instance name (control socket <datadir>/<name>.ctl)" },
	{ "log_level", CONF_INT, C(log_level), 0, "1", 0, 2,
	    "0 warnings, 1 info, 2 debug" },
	{ "router_endpoint", CONF_STR, C(router_endpoint), CONF_STR_LEN,
	    NULL, 0, 0, "router input (default ipc://<datadir>/router.ipc)" },
	{ "capture.device", CONF_STR, C(device), CONF_STR_LEN, NULL, 0, 0,
	    "NIC to capture on (-i)" },
	{ "capture.file", CONF_STR, C(file), CONF_STR_LEN, NULL, 0, 0,
	    "pcap file to read (-r)" },
	{ "capture.iface_name", CONF_STR, C(iface_name), CONF_STR_LEN, NULL,
	    0, 0, "interface name in the hello (-I; default the NIC or file)" },
	{ "capture.filter", CONF_STR, C(filter), CONF_STR_LEN, NULL, 0, 0,
	    "BPF filter (-F)" },
	{ "capture.snaplen", CONF_INT, C(snaplen), 0, "262144", 64, 262144,
	    "bytes captured per packet (-s)" },
	{ "capture.promisc", CONF_BOOL, C(promisc), 0, "yes", 0, 0,
	    "promiscuous mode (-p turns it off)" },
	{ "capture.immediate", CONF_BOOL, C(immediate), 0, "no", 0, 0,
	    "deliver packets immediately (no kernel batching)" },
	{ "capture.buffer_size", CONF_BYTES, C(buffer_size), 0, "16M", 0,
	    1LL << 31, "kernel capture buffer, 0 = libpcap default (-B)" },
	{ "capture.idle_timeout", CONF_SECONDS, C(idle_timeout), 0, "60", 1,
	    86400, "a flow without packets this long ends" },
	{ "capture.active_timeout", CONF_SECONDS, C(active_timeout), 0, "60",
	    1, 86400, "a live flow is reported at least this often, even "
	    "without packets" },
	{ "capture.update_interval", CONF_SECONDS, C(update_interval), 0, "5",
	    1, 86400, "a live flow with new packets is reported this often "
	    "(a new flow 1 s after its first packet)" },
	{ "capture.linger", CONF_SECONDS, C(linger), 0, "2", 1, 3600,
	    "a flow ends this long after FIN both ways or RST" },
	{ "capture.max_flows", CONF_INT, C(max_flows), 0, "262144", 16,
	    1 << 28, "flow table size; when full the oldest idle is evicted" },
	{ "capture.send_timeout_ms", CONF_INT, C(send_timeout_ms), 0, "1000",
	    0, 60000, "ms the last batches get at exit; while running, sends "
	    "never wait (batches queue up to link_queue)" },
	{ "capture.user", CONF_STR, C(user), CONF_STR_LEN, NULL, 0, 0,
	    "user the capture becomes once its handle, data directory and "
	    "sockets are open, when started as root (default evflow if it "
	    "exists, else nobody); any start drops every capability" },
	{ "capture.dpi", CONF_BOOL, C(dpi), 0, "yes", 0, 0,
	    "application protocol, TLS SNI, JA3, HTTP Host, DNS query of "
	    "each flow by nDPI (its first payload packets)" },
	{ "capture.dpi_max_packets", CONF_INT, C(dpi_max_packets), 0, "32",
	    1, 255, "payload packets of a flow nDPI may see before it "
	    "gives up (counted: dpi_packet_limit)" },
	{ "capture.dpi_flow_memory", CONF_BYTES, C(dpi_flow_memory), 0, "8K",
	    1024, 1 << 20, "bytes of nDPI memory per flow (its state and "
	    "what it allocates); over it inspection stops (counted: "
	    "dpi_memory_limit)" },
	{ "capture.dpi_flows", CONF_INT, C(dpi_flows), 0, "8192", 16,
	    1 << 22, "flows inspected at once; a new flow finding none "
	    "free ends the oldest inspection early (counted: "
	    "dpi_state_reclaimed)" },
	{ "capture.dpi_queue", CONF_BYTES, C(dpi_queue), 0, "4M", 0,
	    1LL << 30, "ring feeding nDPI on its own thread (the packet "
	    "path copies payload packets into it; a NIC's packet finding "
	    "it full is not inspected, counted: dpi_queue_full, "
	    "dpi_not_inspected; a file waits); 0 = nDPI on the packet "
	    "path" },
	{ "capture.dpi_protocols", CONF_STR, C(dpi_protocols), CONF_STR_LEN,
	    NULL, 0, 0, "nDPI protocols to look for, by nDPI's names "
	    "(\"TLS,DNS,HTTP,QUIC\"); others get nDPI's guess by port; "
	    "empty = all (costs more on payloads nDPI does not know)" },
	{ "capture.name_cache", CONF_INT, C(name_cache), 0, "16384", 0,
	    1 << 22, "addresses in the name cache fed by DNS answers, SNI "
	    "and HTTP Host (least recently seen evicted, counted: "
	    "names_evicted); 0 = no names" },
	LINK_CONF_DIRECTIVES(struct capture_conf, link),
	{ NULL, 0, 0, 0, NULL, 0, 0, NULL }
};
#undef C

struct capture {
	struct capture_conf conf;
	struct daemon	 d;
	const char	*iface;		/* name in the hello */
	struct source	*src;
	struct flow_table *ft;
	struct dpi	*dpi;		/* NULL: capture.dpi off */
	struct names	*names;		/* NULL: capture.name_cache 0 */
	struct link_out	*link;
	struct evp_flow	*rec;		/* reused record buffer */
	struct evp_stats stats;
	uint64_t	 cnt[CC_MAX];
	struct counters	 counters;
	uint64_t	 next_stats;	/* monotonic usec */
	int		 window_stalled; /* capture_wait_window() gave up */
	uint64_t	 stalled_acked;	/* ... with acks at this count */
	int		 dropped_root;	/* became capture.user */
	uint64_t	 unreach_since;	/* monotonic; 0: router reachable */
};

/* Own flags: each sets a key (common/daemon.h, level 4). */
static const struct daemon_flag capture_flags[] = {
	{ 'B', NULL, 1, "capture.buffer_size", NULL },
	{ 'F', NULL, 1, "capture.filter", NULL },
	{ 'I', NULL, 1, "capture.iface_name", NULL },
	{ 'i', NULL, 1, "capture.device", NULL },
	{ 'p', NULL, 0, "capture.promisc", "no" },
	{ 'r', NULL, 1, "capture.file", NULL },
	{ 's', NULL, 1, "capture.snaplen", NULL },
	{ 0, NULL, 0, NULL, NULL }
};

/* Flow table callback: one record to the router. */
static void
capture_emit(void *arg, const struct flow *f, enum flow_why why)
{
	struct capture *c = arg;

	flow_export(c->rec, f, why);
	if (c->dpi != NULL)
		dpi_export(c->dpi, (uint32_t)(f - c->ft->flows), f, c->rec,
		    why != FW_UPDATE);
	(void)link_out_put(c->link, EVP_FLOW, c->rec, evp_flow_len(c->rec));
}

/* Name cache callback: one host-name record to the router. */
static void
capture_emit_name(void *arg, const struct evp_hostname *h)
{
	struct capture *c = arg;

	(void)link_out_put(c->link, EVP_HOSTNAME, h, sizeof(*h));
}

static void
capture_sync_counters(struct capture *c)
{
	if (c->dpi != NULL)
		dpi_sync_counters(c->dpi);
	c->cnt[CC_RECORDS_SENT] = c->link->sent;
	c->cnt[CC_RECORDS_DROPPED] = c->link->dropped;
	c->cnt[CC_REPLAYED] = c->link->replayed;
}

static void
capture_send_stats(struct capture *c)
{
	if (c->src != NULL)
		source_stats(c->src);
	capture_sync_counters(c);
	counters_to_stats(&c->stats, &c->counters, EVP_ROLE_CAPTURE,
	    c->conf.name);
	(void)link_out_put(c->link, EVP_STATS, &c->stats, sizeof(c->stats));
}

/* Stats frame hooks: the link's counters; interface and table size. */
static void
capture_stats_sync(void *arg)
{
	capture_sync_counters(arg);
}

static void
capture_stats_extra(void *arg, struct buf *reply)
{
	struct capture *c = arg;

	buf_puts(reply, ", \"iface\": ");
	buf_json_str(reply, c->iface);
	buf_printf(reply, ", \"bytes_per_flow\": %zu, \"max_flows\": %lld",
	    flow_table_bytes_per_flow(c->ft), c->conf.max_flows);
	buf_printf(reply, ", \"dpi\": %s, \"dpi_worker\": %s, "
	    "\"dpi_bytes\": %zu, \"name_cache_bytes\": %zu",
	    c->dpi ? "true" : "false", c->dpi && c->conf.dpi_queue > 0 ?
	    "true" : "false",
	    c->dpi ? dpi_bytes(c->dpi) : 0, c->names ? names_bytes(c->names) :
	    0);
}

/*
 * A capture that left root may not be allowed to open the socket of a
 * router started again after the drop (root's socket in root's
 * directory): nanomsg would retry forever while batches pile up.  When
 * the link has no connection and the socket file refuses this user for
 * UNREACH_USEC, the capture exits (status 1) so that its supervisor
 * (systemd, evflowctl) starts it again, as root, which reconnects.
 */
static void
capture_check_router(struct capture *c, uint64_t mono)
{
	const char *path = c->link->endpoint;

	if (!c->dropped_root || strncmp(path, "ipc://", 6) != 0 ||
	    nn_get_statistic(c->link->sock, NN_STAT_CURRENT_CONNECTIONS) > 0 ||
	    access(path + 6, W_OK) == 0 || errno != EACCES) {
		c->unreach_since = 0;
		return;
	}
	if (c->unreach_since == 0)
		c->unreach_since = mono;
	else if (mono - c->unreach_since >= UNREACH_USEC)
		fatalx("%s: the router's socket refuses this user since it "
		    "restarted: exiting to be started again (capture.user, "
		    "docs/security.md)", path);
}

/* Milliseconds the loop may sleep. */
static int
capture_timeout(struct capture *c, uint64_t mono, uint64_t wall)
{
	uint64_t d, fd;

	d = deadline_min(c->next_stats, link_out_deadline(c->link));
	if (c->src->live) {
		/* The flow clock is the wall clock: its deadline moves to
		 * the monotonic one by its distance from now. */
		fd = flow_table_next_deadline(c->ft);
		if (fd != UINT64_MAX)
			d = deadline_min(d, mono + (fd > wall ? fd - wall : 0));
	}
	return deadline_timeout(d, mono, 1000);
}

/*
 * At the end: sends what is batched or queued, waiting for the router
 * up to send_timeout_ms in all, so that the counters are final.
 */
static void
capture_drain(struct capture *c)
{
	uint64_t end = clock_mono_usec() +
	    (uint64_t)c->conf.send_timeout_ms * 1000u;
	struct timespec ts = { 0, 5 * 1000000L };

	for (;;) {
		(void)link_out_flush(c->link);
		if (c->link->qhead == NULL || clock_mono_usec() >= end)
			break;
		nanosleep(&ts, NULL);
	}
}

/*
 * File mode: the store's acknowledgements pace the reading.  A file can
 * wait, so rather than read on and drop what overflows the replay
 * buffer (link_replay), the capture waits, serving its control socket,
 * while a store acknowledges and there is no room for a slice
 * (FILE_SLACK, or a quarter of the buffer if that is less; before the
 * first ack the link forgets its oldest records instead of dropping).
 * Measured: 600,000 one-packet flows ended at a file's end dropped
 * 498,802 records (counted) in tests/bench/join.sh.  If acks make no
 * progress for FILE_STALL_USEC (the store is gone), it stops waiting
 * until they move again: the overflow is then dropped and counted, as
 * before.
 */
static void
capture_wait_window(struct capture *c)
{
	struct link_out *o = c->link;
	struct pollfd pfd[2];
	size_t slack;
	uint64_t acked, since, now;

	if (c->src->live || (c->window_stalled &&
	    o->acked_records == c->stalled_acked))
		return;
	c->window_stalled = 0;
	slack = o->rmax / 4 < FILE_SLACK ? o->rmax / 4 : FILE_SLACK;
	acked = o->acked_records;
	since = clock_mono_usec();
	while (!sig_quit && link_out_full_for(o, slack)) {
		pfd[0].fd = nnlink_recv_fd(o->ack_sock);
		pfd[1].fd = ctl_fd(c->d.ctl);
		pfd[0].events = pfd[1].events = POLLIN;
		if (poll(pfd, 2, 100) == -1 && errno != EINTR)
			fatal("poll");
		ctl_poll(c->d.ctl);
		link_out_poll_acks(o);
		now = clock_mono_usec();
		if (now >= link_out_deadline(o))
			(void)link_out_flush(o);
		if (deadline_due(&c->next_stats, now, STATS_USEC))
			capture_send_stats(c);
		if (o->acked_records != acked) {
			acked = o->acked_records;
			since = now;
		} else if (now - since >= FILE_STALL_USEC) {
			LOG_RATELIMITED(log_warnx, "%s: no acknowledgement "
			    "for %d s: reading on (what overflows the replay "
			    "buffer is dropped and counted)", c->iface,
			    FILE_STALL_USEC / 1000000);
			c->window_stalled = 1;
			c->stalled_acked = acked;
			break;
		}
	}
}

/* The loop.  Returns the exit status. */
static int
capture_loop(struct capture *c)
{
	struct pollfd pfd[2];
	uint64_t mono;
	int n, eof = 0, nfd;

	c->next_stats = clock_mono_usec() + STATS_USEC;
	while (!sig_quit && !eof) {
		mono = clock_mono_usec();
		nfd = 0;
		pfd[nfd].fd = ctl_fd(c->d.ctl);
		pfd[nfd++].events = POLLIN;
		if (c->src->live) {
			pfd[nfd].fd = c->src->fd;
			pfd[nfd++].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)nfd, c->src->live ? capture_timeout(c,
		    mono, clock_wall_usec()) : 0) == -1 && errno != EINTR)
			fatal("poll");
		ctl_poll(c->d.ctl);

		if (c->src->live) {
			/* Drain what the kernel holds, a slice at a time. */
			for (n = 0; n < 16; n++)
				if (source_read(c->src, READ_SLICE) <= 0)
					break;
			if (c->src->err[0] != '\0')
				fatalx("%s: %s", c->iface, c->src->err);
			flow_table_expire(c->ft, clock_wall_usec());
		} else {
			capture_wait_window(c);
			if ((n = source_read(c->src, READ_SLICE)) <= 0) {
				if (n == -1)
					log_warnx("%s: %s (file cut?): ending "
					    "flows read so far", c->iface,
					    c->src->err);
				eof = 1;
			}
		}

		mono = clock_mono_usec();
		if (deadline_due(&c->next_stats, mono, STATS_USEC)) {
			capture_send_stats(c);
			capture_check_router(c, mono);
		}
		if (mono >= link_out_deadline(c->link))
			(void)link_out_flush(c->link);
	}

	/* The last flows leave first, so the last stats record carries
	 * what was really sent (every record before it). */
	capture_wait_window(c);
	while (flow_table_flush_some(c->ft, FLUSH_SLICE))
		capture_wait_window(c);
	capture_drain(c);
	capture_send_stats(c);
	(void)link_out_flush(c->link);
	capture_sync_counters(c);
	log_info("%s: %llu packets, %llu flows, %llu records sent, %llu "
	    "dropped", c->iface, (unsigned long long)c->cnt[CC_PACKETS],
	    (unsigned long long)c->cnt[CC_FLOWS_CREATED],
	    (unsigned long long)c->cnt[CC_RECORDS_SENT],
	    (unsigned long long)c->cnt[CC_RECORDS_DROPPED]);
	if (c->cnt[CC_READ_ERRORS] != 0) {
		log_warnx("%s: the file could not be read to its end: %s",
		    c->iface, c->src->err);
		return CAPTURE_EXIT_FILE_ERROR;
	}
	return 0;
}

/* A control socket the capture's user may not close (see main). */
static struct ctl *volatile ctl_left_open;

/*
 * Root: the router's socket may refuse the user the capture becomes, so
 * the link connects first (nanomsg connects in the background): up to
 * DROP_WAIT_USEC, then the drop happens anyway with a warning.  A
 * connected ipc link stays up; a restarted router is reached again only
 * if that user may open its socket (the package runs all as evflow).
 */
static void
capture_wait_link(struct capture *c)
{
	uint64_t end = clock_mono_usec() + DROP_WAIT_USEC;
	struct timespec ts = { 0, 20 * 1000000L };

	while (nn_get_statistic(c->link->sock,
	    NN_STAT_CURRENT_CONNECTIONS) == 0) {
		if (clock_mono_usec() >= end) {
			log_warnx("%s: router not connected before the "
			    "privilege drop: it must accept the capture's "
			    "user", c->link->endpoint);
			return;
		}
		nanosleep(&ts, NULL);
	}
}

/* No capabilities, no root, no new privileges: fatal if not so. */
static void
capture_drop(struct capture *c)
{
	const char *who;
	char err[512];

	c->dropped_root = geteuid() == 0;
	if (privdrop_finish(c->conf.user, &who, err, sizeof(err)) == -1)
		fatalx("privilege drop: %s", err);
	log_info("%s: running as %s, no capabilities", c->iface, who);
}

int
main(int argc, char *argv[])
{
	struct capture *c;
	struct source_opts so;
	struct flow_cfg fc;
	struct daemon *d;
	char err[512], ep[512];
	int rc;

	log_init("evflow-capture", LOG_LVL_INFO);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("calloc");
	d = &c->d;
	d->prog = "evflow-capture";
	d->synopsis = "evflow-capture [-hnpv] [-B bytes] [-d datadir] "
	    "[-F filter] [-f config]\n"
	    "           [-I name] [-N name] [-o key=value] [-s snaplen] "
	    "-i nic | -r file";
	d->flags_help =
	    "  -i NIC    capture on a NIC (its name is the interface name)\n"
	    "  -r FILE   read a pcap file (packet times drive the flows)\n"
	    "  -I NAME   interface name to give the router instead\n"
	    "  -F BPF    capture filter; -s snaplen; -B kernel buffer bytes;\n"
	    "            -p no promiscuous mode\n";
	d->table = capture_directives;
	d->cfg = &c->conf;
	d->own = capture_flags;
	daemon_configure(d, argc, argv);
	if ((c->conf.device[0] == '\0') == (c->conf.file[0] == '\0')) {
		fprintf(stderr, "evflow-capture: exactly one of -i and -r is "
		    "needed\n");
		if (!d->check)
			daemon_usage(d, 1);
		free(c);
		return 1;
	}
	if (d->check) {
		daemon_print_config(d);
		free(c);
		return 0;
	}
	c->iface = c->conf.iface_name[0] ? c->conf.iface_name :
	    c->conf.device[0] ? c->conf.device : c->conf.file;
	if (strlen(c->iface) >= EVP_NAME_LEN)
		fatalx("interface name '%s' is longer than %d bytes (use -I)",
		    c->iface, EVP_NAME_LEN - 1);
	daemon_start(d);

	memset(&so, 0, sizeof(so));
	so.device = c->conf.device;
	so.file = c->conf.file;
	so.filter = c->conf.filter;
	so.snaplen = (int)c->conf.snaplen;
	so.promisc = c->conf.promisc;
	so.immediate = c->conf.immediate;
	so.buffer_size = (int)c->conf.buffer_size;
	c->src = c->conf.device[0] ? source_open_live(&so, err, sizeof(err)) :
	    source_open_file(&so, err, sizeof(err));
	if (c->src == NULL)
		fatalx("%s", err);
	/* No other thread exists yet: what is dropped now, every thread
	 * made later lacks too (common/privdrop.h). */
	if (privdrop_begin(err, sizeof(err)) == -1)
		fatalx("privilege drop: %s", err);

	fc.max_flows = (uint32_t)c->conf.max_flows;
	fc.idle_usec = (uint64_t)c->conf.idle_timeout * 1000000u;
	fc.active_usec = (uint64_t)c->conf.active_timeout * 1000000u;
	fc.update_usec = (uint64_t)c->conf.update_interval * 1000000u;
	fc.linger_usec = (uint64_t)c->conf.linger * 1000000u;
	if ((c->ft = flow_table_new(&fc, capture_emit, c, c->cnt)) == NULL)
		fatal("flow table of %u flows", fc.max_flows);
	if (c->conf.name_cache > 0 && (c->names = names_new((uint32_t)
	    c->conf.name_cache, capture_emit_name, c, c->cnt)) == NULL)
		fatal("name cache of %lld addresses", c->conf.name_cache);
	if (c->conf.dpi) {
		struct dpi_cfg dc = {
			.max_flows = fc.max_flows,
			.slots = (uint32_t)c->conf.dpi_flows,
			.max_packets = (uint32_t)c->conf.dpi_max_packets,
			.flow_memory = (size_t)c->conf.dpi_flow_memory,
			.queue_bytes = (size_t)c->conf.dpi_queue,
			/* A file waits for the worker; a NIC does not. */
			.lossless = c->src->live == 0,
			.protocols = c->conf.dpi_protocols,
		};

		if ((c->dpi = dpi_new(&dc, c->cnt, c->names, err,
		    sizeof(err))) == NULL)
			fatalx("%s", err);
	}
	c->ft->dpi = c->dpi;
	c->ft->names = c->names;
	if ((c->dpi != NULL || c->names != NULL) &&
	    source_keep_payload(c->src) == -1)
		fatal("payload copies");
	c->src->ft = c->ft;
	c->src->cnt = c->cnt;
	if ((c->rec = calloc(1, sizeof(*c->rec))) == NULL)
		fatal("calloc");
	c->counters.names = capture_counter_names;
	c->counters.v = c->cnt;
	c->counters.n = CC_MAX;

	if (paths_endpoint(ep, sizeof(ep), c->conf.router_endpoint,
	    c->conf.datadir, "router.ipc") == -1)
		fatalx("router endpoint too long");
	if (nnlink_configure(&c->conf.link, c->conf.datadir) == -1)
		fatalx("ack endpoint too long");
	if ((c->link = link_out_new(ep, 0, EVP_ROLE_CAPTURE, c->conf.name,
	    c->iface, (int)c->conf.send_timeout_ms, err, sizeof(err))) == NULL ||
	    link_out_acks(c->link, err, sizeof(err)) == -1)
		fatalx("%s", err);
	daemon_counters(d, capture_counter_names, c->cnt, CC_MAX);
	d->stats_sync = capture_stats_sync;
	d->stats_extra = capture_stats_extra;
	daemon_ctl_open(d, "capture", NULL, c);
	if (geteuid() == 0)
		capture_wait_link(c);
	capture_drop(c);
	/* After the drop: the worker thread has no more rights than the
	 * loop (capabilities are per thread). */
	if (c->dpi != NULL && dpi_start(c->dpi, err, sizeof(err)) == -1)
		fatalx("%s", err);
	log_info("%s: %s, link type %s, %lld flows of %zu bytes, nDPI %s, "
	    "name cache %lld", c->iface, c->src->live ? "live" : "file",
	    pcap_datalink_val_to_name(c->src->dlt) ?
	    pcap_datalink_val_to_name(c->src->dlt) : "?", c->conf.max_flows,
	    flow_table_bytes_per_flow(c->ft), c->dpi ? "on" : "off",
	    c->conf.name_cache);

	rc = capture_loop(c);
	/* The last message's time to leave before nn_close is link_out_free's
	 * (LINK_DRAIN_USEC after the last send). */
	/* nanomsg aborts if it cannot unlink its bound ipc file at close:
	 * a user the capture became may not, in a root's data directory.
	 * Then the file stays (a later bind replaces a dead socket file). */
	if (access(c->conf.datadir, W_OK | X_OK) == 0)
		daemon_ctl_close(d);
	else {
		ctl_left_open = d->ctl;
		log_debug("%s: control socket left for the next start (no "
		    "write access to the data directory)", c->conf.datadir);
	}
	link_out_free(c->link);
	flow_table_free(c->ft);
	dpi_free(c->dpi);
	names_free(c->names);
	source_free(c->src);
	free(c->rec);
	free(c);
	return rc;
}
