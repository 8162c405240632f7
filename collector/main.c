/*
 * evflow-collector: receives events from ZMQ producers (ntopng's wire
 * format) for one interface and forwards them as records to the router.
 *
 *   evflow-collector -i 'tcp://0.0.0.0:1234c' [-f file] [-d datadir] [-N name]
 *
 * One loop: zmq_poll on the SUB socket and the control socket, with the
 * timeout of the nearest deadline (batch flush, stats, producer records,
 * producer expiry).
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/counters.h"
#include "common/ctl.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/nnlink.h"
#include "common/paths.h"
#include "collector.h"

#define DRAIN_MAX	1024	/* messages per wake-up before other work */
#define DRAIN_CLOCK	32	/* messages per reading of the clocks (a
				   receive time is that much older at most) */

struct settings {
	char		datadir[CONF_STR_LEN];
	char		name[EVP_NAME_LEN];
	char		router_endpoint[CONF_STR_LEN];
	long long	log_level;
	long long	max_payload;
	long long	rcvhwm;
	long long	send_timeout;
	long long	rcvbuf;
	int		curve;
	char		curve_key_file[CONF_STR_LEN];
	long long	producer_timeout;
	long long	producer_interval;
	long long	stats_interval;
	long long	max_inflate_ratio;
	long long	max_events;
	long long	max_json_depth;
	long long	max_json_nodes;
	struct link_conf link;		/* common/nnlink.h */
};

#define S(f)	offsetof(struct settings, f)
#define SZ(f)	sizeof(((struct settings *)0)->f)
static const struct conf_directive conf_table[] = {
	{ "datadir", CONF_STR, S(datadir), SZ(datadir),
	  PATHS_DEFAULT_DATADIR, 0, 0, "data directory" },
	{ "name", CONF_STR, S(name), SZ(name), "collector", 0, 0,
	  "instance name (control socket <datadir>/<name>.ctl)" },
	{ "router_endpoint", CONF_STR, S(router_endpoint),
	  SZ(router_endpoint), NULL, 0, 0,
	  "router input (default ipc://<datadir>/router.ipc)" },
	{ "log_level", CONF_INT, S(log_level), 0, "1", 0, 2,
	  "0 warnings, 1 info, 2 debug" },
	{ "collector.max_payload", CONF_BYTES, S(max_payload), 0, "8M",
	  1024, 1024LL * 1024 * 1024, "largest payload after inflation" },
	{ "collector.rcvhwm", CONF_INT, S(rcvhwm), 0, "100000", 0,
	  100000000, "ZMQ receive high-water mark (messages)" },
	{ "collector.send_timeout", CONF_INT, S(send_timeout), 0, "5000", 1,
	  600000, "ms the last batches get at exit; while running, sends "
	  "never wait (batches queue up to link_queue)" },
	{ "collector.rcvbuf", CONF_BYTES, S(rcvbuf), 0, "8M", 0,
	  1024LL * 1024 * 1024, "kernel receive buffer" },
	{ "collector.curve", CONF_BOOL, S(curve), 0, "no", 0, 0,
	  "encrypt with CURVE (the collector is the server)" },
	{ "collector.curve_secret_key_file", CONF_STR, S(curve_key_file),
	  SZ(curve_key_file), NULL, 0, 0,
	  "CURVE secret key (default <datadir>/<name>.key; made if missing)" },
	{ "collector.producer_timeout", CONF_SECONDS, S(producer_timeout), 0,
	  "300s", 1, 86400, "forget a producer silent this long" },
	{ "collector.producer_interval", CONF_SECONDS, S(producer_interval),
	  0, "5s", 1, 3600, "period of producer records" },
	{ "collector.stats_interval", CONF_SECONDS, S(stats_interval), 0,
	  "1s", 1, 3600, "period of stats records" },
	{ "collector.max_inflate_ratio", CONF_INT, S(max_inflate_ratio), 0,
	  "100", 0, 100000, "a zlib payload inflating past 64k may grow at "
	  "most this many times its size (0: no bound); else dropped" },
	{ "collector.max_events", CONF_INT, S(max_events), 0, "65536", 1,
	  100000000, "events (array elements) per message; a message with "
	  "more is dropped whole" },
	{ "collector.max_json_depth", CONF_INT, S(max_json_depth), 0, "32", 2,
	  1000, "nesting of arrays and objects per message; deeper is "
	  "dropped whole" },
	{ "collector.max_json_nodes", CONF_INT, S(max_json_nodes), 0,
	  "262144", 16, 100000000, "JSON values per message (~64 bytes of "
	  "memory each); a message with more is dropped whole" },
	LINK_CONF_DIRECTIVES(struct settings, link),
	{ NULL, 0, 0, 0, NULL, 0, 0, NULL }
};
#undef S
#undef SZ

struct collector {
	struct settings	 cfg;
	struct daemon	 d;
	const char	*name;		/* cfg.name */
	char		 iface[EVP_NAME_LEN];
	char		 router_ep[CONF_STR_LEN + 64];
	void		*zctx;
	void		*sub;
	struct link_out	*out;
	struct ingest	 in;
	struct counters	 counters;
	uint64_t	 next_stats;	/* monotonic usec */
	uint64_t	 next_producers;
	uint64_t	 next_expire;
	/* <datadir>/<name>.producers: msg_ids committed (producers.c) */
	char		 state_path[CONF_STR_LEN + EVP_NAME_LEN + 16];
	uint64_t	 next_release;	/* monotonic: records let out */
	/* CURVE (collector.curve): the key producers need, and what the
	 * socket monitor saw of the handshakes. */
	char		 curve_public[41];
	void		*mon;		/* PAIR on the SUB's monitor */
	uint64_t	 curve_ok;
	uint64_t	 curve_failed;
};

#define COL_RELEASE_USEC	10000	/* records let out at most this
					   often (a state file write each) */
#define MON_ENDPOINT	"inproc://evflow-collector-monitor"

/* -i ENDPOINTS: the one interface of this collector. */
static const struct daemon_flag collector_flags[] = {
	{ 'i', NULL, 1, NULL, NULL },
	{ 0, NULL, 0, NULL, NULL }
};

static int
collector_flag(void *arg, int ch, const char *val, char *err, size_t errlen)
{
	struct collector *c = arg;

	(void)ch;
	if (val[0] == '\0' || strlen(val) >= sizeof(c->iface)) {
		snprintf(err, errlen, "interface: 1-%d bytes",
		    EVP_NAME_LEN - 1);
		return -1;
	}
	snprintf(c->iface, sizeof(c->iface), "%s", val);
	return 0;
}

/* Hands a record to the output link; the link counts its own drops. */
static int
emit_record(void *arg, uint16_t type, const void *body, size_t len)
{
	struct collector *c = arg;

	return link_out_put(c->out, type, body, len);
}

/* Copies the output link's counters into ours before rendering. */
static void
sync_link_counters(struct collector *c)
{
	c->in.ctr[C_RECORDS_QUEUED] = c->out->records;
	c->in.ctr[C_RECORDS_SENT] = c->out->sent;
	c->in.ctr[C_RECORDS_SEND_DROPPED] = c->out->dropped;
	c->in.ctr[C_RECORDS_PENDING] = c->out->records - c->out->sent -
	    c->out->dropped;
	c->in.ctr[C_PRODUCERS_ACTIVE] = c->in.prods->n;
	c->in.ctr[C_REPLAY_BUFFERED] = c->out->rrecords;
	c->in.ctr[C_REPLAYED] = c->out->replayed;
	c->in.ctr[C_REPLAY_DROPPED] = c->out->replay_dropped;
	c->in.ctr[C_ACKED] = c->out->acked_records;
	c->in.ctr[C_STORE_RESTARTS] = c->out->store_restarts;
	c->in.ctr[C_PRODUCERS_STALE] = producers_stale(c->in.prods,
	    clock_mono_usec());
}

/* Lets out the records numbered since the last time, after the state
 * file notes them (producers.c), at most every COL_RELEASE_USEC. */
static void
release(struct collector *c, uint64_t now)
{
	char err[512];

	if (c->out->seq == c->out->released || now < c->next_release)
		return;
	c->next_release = now + COL_RELEASE_USEC;
	if (producers_save(c->in.prods, c->state_path, c->out->sender,
	    c->out->seq, err, sizeof(err)) == -1) {
		c->in.ctr[C_STATE_WRITE_ERRORS]++;
		LOG_RATELIMITED(log_warnx, "producer state: %s", err);
	}
	link_out_release(c->out);
}

/* Stats frame hooks: the link's counters; the interface and producers. */
static void
stats_sync(void *arg)
{
	sync_link_counters(arg);
}

static void
stats_extra(void *arg, struct buf *reply)
{
	struct collector *c = arg;
	const struct producer *p;
	unsigned i;

	buf_puts(reply, ", \"iface\": ");
	buf_json_str(reply, c->iface);
	buf_puts(reply, ", \"producers\": [");
	for (i = 0; i < c->in.prods->n; i++) {
		p = &c->in.prods->tab[i];
		buf_printf(reply, "%s{\"id\": %llu, \"peer\": ", i ? ", " : "",
		    (unsigned long long)p->id);
		buf_json_str(reply, p->rec.peer);
		buf_printf(reply, ", \"source_id\": %u, \"msgs\": %llu, "
		    "\"events\": %llu, \"lost_msgs\": %llu, \"restarts\": "
		    "%llu, \"bad_msgs\": %llu, \"probe_drops\": %llu, "
		    "\"last_seen_usec\": %llu, \"last_msg_id\": %u, "
		    "\"stale\": %s, \"info\": ", p->source_id,
		    (unsigned long long)p->rec.msgs,
		    (unsigned long long)p->rec.events,
		    (unsigned long long)p->rec.lost_msgs,
		    (unsigned long long)p->rec.restarts,
		    (unsigned long long)p->rec.bad_msgs,
		    (unsigned long long)p->rec.probe_drops,
		    (unsigned long long)p->rec.ts_usec, p->last_msg_id,
		    p->last_mono + PROD_STALE_USEC <=
		    clock_mono_usec() ? "true" : "false");
		buf_json_str(reply, p->rec.info);
		buf_puts(reply, "}");
	}
	buf_puts(reply, "]");
	if (c->curve_public[0] != '\0')
		buf_printf(reply, ", \"curve\": {\"public_key\": \"%s\", "
		    "\"handshakes\": %llu, \"handshake_failures\": %llu}",
		    c->curve_public, (unsigned long long)c->curve_ok,
		    (unsigned long long)c->curve_failed);
}

/*
 * CURVE: a socket monitor on the SUB socket reports each handshake.  A
 * producer without the key, or with a wrong one, never gets a message
 * through; its failure is counted (handshake_failures in the stats) and
 * logged, rate-limited, with libzmq's reason.
 */
static void
curve_monitor_open(struct collector *c)
{
	if (zmq_socket_monitor(c->sub, MON_ENDPOINT,
	    ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
	    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
	    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
	    ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0 ||
	    (c->mon = zmq_socket(c->zctx, ZMQ_PAIR)) == NULL ||
	    zmq_connect(c->mon, MON_ENDPOINT) != 0)
		fatalx("CURVE handshake monitor: %s",
		    zmq_strerror(zmq_errno()));
}

/* Reads the monitor's pending events: two frames each, the event (u16)
 * and its value (u32, the protocol error), then the endpoint. */
static void
curve_monitor_read(struct collector *c)
{
	uint8_t ev[6];
	char ep[128];
	uint16_t id;
	uint32_t val;
	int n, more;
	size_t sz;

	while ((n = zmq_recv(c->mon, ev, sizeof(ev), ZMQ_DONTWAIT)) >= 0) {
		ep[0] = '\0';
		more = 0;
		sz = sizeof(more);
		if (zmq_getsockopt(c->mon, ZMQ_RCVMORE, &more, &sz) == 0 &&
		    more) {
			n = zmq_recv(c->mon, ep, sizeof(ep) - 1, 0);
			ep[n < 0 ? 0 : n < (int)sizeof(ep) ? n :
			    (int)sizeof(ep) - 1] = '\0';
		}
		if (n < 0)
			break;
		memcpy(&id, ev, sizeof(id));
		memcpy(&val, ev + 2, sizeof(val));
		if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
			c->curve_ok++;
			continue;
		}
		c->curve_failed++;
		/* NO_DETAIL carries an errno (a peer without CURVE is
		 * dropped at the greeting); the others a protocol error. */
		if (id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
			LOG_RATELIMITED(log_warnx, "%s: CURVE handshake "
			    "refused (connection ended in the handshake: %s): "
			    "a producer without CURVE?", ep,
			    strerror((int)val));
		else
			LOG_RATELIMITED(log_warnx, "%s: CURVE handshake "
			    "refused (%s, 0x%08x): a producer without this "
			    "collector's public key, or with another one", ep,
			    val == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH ?
			    "not CURVE" : val ==
			    ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC ?
			    "cryptographic error" : "protocol error",
			    (unsigned)val);
	}
}

static void
send_stats(struct collector *c)
{
	struct evp_stats st;

	sync_link_counters(c);
	counters_to_stats(&st, &c->counters, EVP_ROLE_COLLECTOR, c->name);
	(void)link_out_put(c->out, EVP_STATS, &st, sizeof(st));
}

/* Receives up to DRAIN_MAX messages; returns how many.  The clocks
 * are read every DRAIN_CLOCK messages, not per message. */
static int
drain(struct collector *c)
{
	struct zsock_msg m;
	uint64_t mono = 0, wall = 0;
	int n, rc;

	for (n = 0; n < DRAIN_MAX && !link_out_full(c->out); n++) {
		if (n % DRAIN_CLOCK == 0) {
			mono = clock_mono_usec();
			wall = clock_wall_usec();
		}
		if ((rc = zsock_recv(c->sub, &m)) <= 0) {
			if (rc < 0)
				LOG_RATELIMITED(log_warnx, "zmq receive: %s",
				    zmq_strerror(zmq_errno()));
			break;
		}
		ingest_msg(&c->in, zmq_msg_data(&m.part[0]),
		    zmq_msg_size(&m.part[0]),
		    m.nframes > 1 ? zmq_msg_data(&m.part[1]) : NULL,
		    m.nframes > 1 ? zmq_msg_size(&m.part[1]) : 0,
		    m.nframes, m.peer, m.conn, mono, wall);
		zsock_msg_close(&m);
	}
	return n;
}

/* Runs whatever is due and returns the next deadline (monotonic). */
static uint64_t
timers(struct collector *c, uint64_t now)
{
	uint64_t next;

	if (link_out_deadline(c->out) <= now)
		(void)link_out_flush(c->out);
	release(c, now);
	if (deadline_due(&c->next_producers, now,
	    (uint64_t)c->cfg.producer_interval * 1000000))
		ingest_producer_records(&c->in);
	if (deadline_due(&c->next_expire, now, 1000000))
		producers_expire(c->in.prods, now,
		    (uint64_t)c->cfg.producer_timeout * 1000000);
	if (deadline_due(&c->next_stats, now,
	    (uint64_t)c->cfg.stats_interval * 1000000))
		send_stats(c);
	next = deadline_min(c->next_stats, c->next_producers);
	next = deadline_min(next, c->next_expire);
	if (c->out->seq != c->out->released)
		next = deadline_min(next, c->next_release);
	return deadline_min(next, link_out_deadline(c->out));
}

static void
loop(struct collector *c)
{
	zmq_pollitem_t items[4];
	uint64_t next;
	int timeout;

	memset(items, 0, sizeof(items));
	items[0].socket = c->sub;
	items[0].events = ZMQ_POLLIN;
	items[1].fd = ctl_fd(c->d.ctl);
	items[1].events = ZMQ_POLLIN;
	items[2].socket = c->mon;	/* NULL: not polled (no CURVE) */
	items[2].events = c->mon != NULL ? ZMQ_POLLIN : 0;
	/* The store's acks (replay on): they free room to read again. */
	items[3].fd = c->out->ack_sock != -1 ?
	    nnlink_recv_fd(c->out->ack_sock) : -1;
	items[3].events = items[3].fd != -1 ? ZMQ_POLLIN : 0;
	/* First stats and producer records one period after start: the
	 * router link is still connecting now. */
	next = clock_mono_usec();
	c->next_stats = next + (uint64_t)c->cfg.stats_interval * 1000000;
	c->next_producers = next + (uint64_t)c->cfg.producer_interval *
	    1000000;
	c->next_expire = next + 1000000;
	while (!sig_quit) {
		/* Replay buffer full: the producers wait (or drop at their
		 * high-water mark, counted as msg_id gaps) until the store
		 * acknowledges; the acks are read by the timers. */
		items[0].events = link_out_full(c->out) ? 0 : ZMQ_POLLIN;
		timeout = deadline_timeout(next, clock_mono_usec(), 1000);
		if (zmq_poll(items, 4, timeout) < 0 &&
		    zmq_errno() != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(zmq_errno()));
		if (items[0].revents & ZMQ_POLLIN)
			(void)drain(c);
		if (items[1].revents & ZMQ_POLLIN)
			ctl_poll(c->d.ctl);
		if (c->mon != NULL && (items[2].revents & ZMQ_POLLIN))
			curve_monitor_read(c);
		if (items[3].revents & ZMQ_POLLIN)
			link_out_poll_acks(c->out);
		next = timers(c, clock_mono_usec());
	}
	(void)link_out_flush(c->out);
}

/* -n with collector.curve: `curve_public_key = KEY` if the key file
 * exists (else when it will be made), without creating it. */
static void
curve_print_public(const char *path)
{
	char secret[41], public[41], err[512];
	int created;

	if (access(path, F_OK) == -1) {
		printf("curve_public_key = (made at first start in %s)\n",
		    path);
		return;
	}
	if (curve_key_load(path, secret, public, &created, err,
	    sizeof(err)) == -1) {
		printf("curve_public_key = (error: %s)\n", err);
		return;
	}
	explicit_bzero(secret, sizeof(secret));
	printf("curve_public_key = %s\n", public);
}

int
main(int argc, char **argv)
{
	static struct collector col;
	struct collector *c = &col;
	struct daemon *d = &c->d;
	struct zsock_opts zo;
	char err[512], keyfile[CONF_STR_LEN + 64];
	uint64_t sender, seq;
	int n;

	log_init("evflow-collector", LOG_LVL_INFO);
	d->prog = "evflow-collector";
	d->synopsis = "evflow-collector -i ENDPOINTS [-nvh] [-f file] "
	    "[-d datadir] [-N name] [-o key=value]";
	d->flags_help = "  -i EPS    ENDPOINTS: comma-separated; a trailing 'c' "
	    "binds (tcp://*:1234c),\n            else connects\n";
	d->table = conf_table;
	d->cfg = &c->cfg;
	d->own = collector_flags;
	d->flag_fn = collector_flag;
	d->arg = c;
	daemon_configure(d, argc, argv);
	c->name = c->cfg.name;
	if (c->iface[0] == '\0') {
		fprintf(stderr, "evflow-collector: -i ENDPOINTS is required\n");
		return 1;
	}
	if (paths_endpoint(c->router_ep, sizeof(c->router_ep),
	    c->cfg.router_endpoint, c->cfg.datadir, "router.ipc") == -1 ||
	    snprintf(keyfile, sizeof(keyfile), "%s/%s.key", c->cfg.datadir,
	    c->name) >= (int)sizeof(keyfile)) {
		fprintf(stderr, "evflow-collector: datadir path too long\n");
		return 1;
	}
	if (d->check) {
		printf("interface = %s\n", c->iface);
		daemon_print_config(d);
		/* The key producers need; -n never makes the key file. */
		if (c->cfg.curve)
			curve_print_public(c->cfg.curve_key_file[0] != '\0' ?
			    c->cfg.curve_key_file : keyfile);
		return 0;
	}
	daemon_start(d);
	if (ingest_init(&c->in, (size_t)c->cfg.max_payload, emit_record,
	    c) == -1)
		fatalx("out of memory");
	c->in.zi.max_ratio = (size_t)c->cfg.max_inflate_ratio;
	c->in.jb.max_events = (unsigned long)c->cfg.max_events;
	c->in.jb.max_depth = (unsigned long)c->cfg.max_json_depth;
	c->in.jb.max_nodes = (unsigned long)c->cfg.max_json_nodes;
	c->counters.names = collector_counter_names;
	c->counters.v = c->in.ctr;
	c->counters.n = C_COUNTER_MAX;
	if (nnlink_configure(&c->cfg.link, c->cfg.datadir) == -1)
		fatalx("ack endpoint too long");
	if ((c->out = link_out_new(c->router_ep, 0, EVP_ROLE_COLLECTOR,
	    c->name, c->iface, (int)c->cfg.send_timeout, err,
	    sizeof(err))) == NULL ||
	    link_out_acks(c->out, err, sizeof(err)) == -1)
		fatalx("router link %s: %s", c->router_ep, err);
	if (snprintf(c->state_path, sizeof(c->state_path), "%s/%s.producers",
	    c->cfg.datadir, c->name) >= (int)sizeof(c->state_path))
		fatalx("producer state path too long");
	if ((n = producers_load(c->in.prods, c->state_path, &sender, &seq,
	    err, sizeof(err))) == -1) {
		char bad[sizeof(c->state_path) + 8];

		c->in.ctr[C_STATE_DAMAGED]++;
		memcpy(bad, c->state_path, sizeof(c->state_path));
		strcat(bad, ".bad");
		(void)rename(c->state_path, bad);
		log_warnx("%s (kept as %s.bad); loss across the last restart "
		    "is not counted", err, c->state_path);
	} else if (sender != 0) {
		link_out_resume(c->out, sender, seq);
		log_info("%s: sender %016llx continues after record %llu; %d "
		    "producers' last msg_ids", c->state_path,
		    (unsigned long long)sender, (unsigned long long)seq, n);
	}
	link_out_hold(c->out, 1);
	daemon_counters(d, collector_counter_names, c->in.ctr, C_COUNTER_MAX);
	d->stats_sync = stats_sync;
	d->stats_extra = stats_extra;
	daemon_ctl_open(d, "collector", NULL, c);
	if ((c->zctx = zmq_ctx_new()) == NULL)
		fatalx("zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
	zo.rcvhwm = (int)c->cfg.rcvhwm;
	zo.rcvbuf = (int)c->cfg.rcvbuf;
	/* Frames a little over max_payload are received and counted as
	 * too large; only absurd ones are refused by libzmq itself. */
	zo.max_frame = c->cfg.max_payload * 8;
	zo.curve = c->cfg.curve;
	zo.curve_key_file = c->cfg.curve_key_file[0] != '\0' ?
	    c->cfg.curve_key_file : keyfile;
	if ((c->sub = zsock_open(c->zctx, c->iface, &zo, err,
	    sizeof(err))) == NULL)
		fatalx("%s: %s", c->iface, err);
	if (c->cfg.curve) {
		char secret[41];
		int created;

		/* zsock_open made the file if it was missing. */
		if (curve_key_load(zo.curve_key_file, secret, c->curve_public,
		    &created, err, sizeof(err)) == -1)
			fatalx("%s", err);
		explicit_bzero(secret, sizeof(secret));
		curve_monitor_open(c);
	}
	log_info("collecting '%s' -> %s (control %s)", c->iface, c->router_ep,
	    d->ctl_endpoint);

	loop(c);

	log_info("exiting: %llu messages, %llu events forwarded",
	    (unsigned long long)c->in.ctr[C_MSGS_RECEIVED],
	    (unsigned long long)c->in.ctr[C_EVENTS_FORWARDED]);
	if (c->mon != NULL) {
		(void)zmq_socket_monitor(c->sub, NULL, 0);
		zmq_close(c->mon);
	}
	zmq_close(c->sub);
	zmq_ctx_term(c->zctx);
	daemon_ctl_close(d);
	/* What the store commits of the last records moves the producers'
	 * committed msg_ids before the state is saved for the next run. */
	/* The last records noted and let out; the next run continues
	 * the sequence, so the store counts any of them lost on the way. */
	c->next_release = 0;
	release(c, clock_mono_usec());
	link_out_free(c->out);
	ingest_free(&c->in);
	return 0;
}
