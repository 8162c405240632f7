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
#include "common/log.h"
#include "common/nnlink.h"
#include "common/paths.h"
#include "common/sig.h"
#include "collector.h"

#define DRAIN_MAX	1024	/* messages per wake-up before other work */

struct settings {
	char		datadir[CONF_STR_LEN];
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
};

#define S(f)	offsetof(struct settings, f)
#define SZ(f)	sizeof(((struct settings *)0)->f)
static const struct conf_directive conf_table[] = {
	{ "datadir", CONF_STR, S(datadir), SZ(datadir),
	  PATHS_DEFAULT_DATADIR, 0, 0, "data directory" },
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
	  600000, "ms to wait for the router before dropping a batch "
	  "(meanwhile ZMQ queues up to rcvhwm)" },
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
	{ NULL, 0, 0, 0, NULL, 0, 0, NULL }
};
#undef S
#undef SZ

struct collector {
	struct settings	 cfg;
	char		 name[EVP_NAME_LEN];
	char		 iface[EVP_NAME_LEN];
	char		 router_ep[CONF_STR_LEN + 64];
	void		*zctx;
	void		*sub;
	struct ctl	*ctl;
	struct link_out	*out;
	struct ingest	 in;
	struct counters	 counters;
	uint64_t	 next_stats;	/* monotonic usec */
	uint64_t	 next_producers;
	uint64_t	 next_expire;
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: evflow-collector -i ENDPOINTS [-f file] "
	    "[-d datadir] [-o key=value] [-N name] [-nvh]\n"
	    "  ENDPOINTS: comma-separated; a trailing 'c' binds "
	    "(tcp://*:1234c), else connects\n");
	conf_usage(stderr, conf_table);
	exit(1);
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
}

static void
ctl_handle(void *arg, int argc, char **argv, struct buf *reply)
{
	struct collector *c = arg;
	const struct producer *p;
	unsigned i;

	(void)argc;
	if (strcmp(argv[0], "stats") != 0) {
		buf_printf(reply, "error: unknown command '%s'", argv[0]);
		return;
	}
	sync_link_counters(c);
	buf_puts(reply, "{\"name\": ");
	buf_json_str(reply, c->name);
	buf_puts(reply, ", \"role\": \"collector\", \"iface\": ");
	buf_json_str(reply, c->iface);
	buf_puts(reply, ", \"counters\": {");
	counters_json(reply, &c->counters);
	buf_puts(reply, "}, \"producers\": [");
	for (i = 0; i < c->in.prods->n; i++) {
		p = &c->in.prods->tab[i];
		buf_printf(reply, "%s{\"id\": %llu, \"peer\": ", i ? ", " : "",
		    (unsigned long long)p->id);
		buf_json_str(reply, p->rec.peer);
		buf_printf(reply, ", \"source_id\": %u, \"msgs\": %llu, "
		    "\"events\": %llu, \"lost_msgs\": %llu, \"restarts\": "
		    "%llu, \"bad_msgs\": %llu, \"probe_drops\": %llu, "
		    "\"last_seen_usec\": %llu, \"info\": ", p->source_id,
		    (unsigned long long)p->rec.msgs,
		    (unsigned long long)p->rec.events,
		    (unsigned long long)p->rec.lost_msgs,
		    (unsigned long long)p->rec.restarts,
		    (unsigned long long)p->rec.bad_msgs,
		    (unsigned long long)p->rec.probe_drops,
		    (unsigned long long)p->rec.ts_usec);
		buf_json_str(reply, p->rec.info);
		buf_puts(reply, "}");
	}
	buf_puts(reply, "]}");
}

static void
send_stats(struct collector *c)
{
	struct evp_stats st;

	sync_link_counters(c);
	counters_to_stats(&st, &c->counters, EVP_ROLE_COLLECTOR, c->name);
	(void)link_out_put(c->out, EVP_STATS, &st, sizeof(st));
}

/* Receives up to DRAIN_MAX messages; returns how many. */
static int
drain(struct collector *c)
{
	struct zsock_msg m;
	int n, rc;

	for (n = 0; n < DRAIN_MAX; n++) {
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
		    m.nframes, m.peer, m.conn, clock_mono_usec(),
		    clock_wall_usec());
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
	if (now >= c->next_producers) {
		ingest_producer_records(&c->in);
		c->next_producers = now + (uint64_t)c->cfg.producer_interval *
		    1000000;
	}
	if (now >= c->next_expire) {
		producers_expire(c->in.prods, now,
		    (uint64_t)c->cfg.producer_timeout * 1000000);
		c->next_expire = now + 1000000;
	}
	if (now >= c->next_stats) {
		send_stats(c);
		c->next_stats = now + (uint64_t)c->cfg.stats_interval * 1000000;
	}
	next = c->next_stats;
	if (c->next_producers < next)
		next = c->next_producers;
	if (c->next_expire < next)
		next = c->next_expire;
	if (link_out_deadline(c->out) < next)
		next = link_out_deadline(c->out);
	return next;
}

static void
loop(struct collector *c)
{
	zmq_pollitem_t items[2];
	uint64_t next;
	int timeout;

	memset(items, 0, sizeof(items));
	items[0].socket = c->sub;
	items[0].events = ZMQ_POLLIN;
	items[1].fd = ctl_fd(c->ctl);
	items[1].events = ZMQ_POLLIN;
	/* First stats and producer records one period after start: the
	 * router link is still connecting now. */
	next = clock_mono_usec();
	c->next_stats = next + (uint64_t)c->cfg.stats_interval * 1000000;
	c->next_producers = next + (uint64_t)c->cfg.producer_interval *
	    1000000;
	c->next_expire = next + 1000000;
	while (!sig_quit) {
		timeout = clock_ms_until(next, 1000);
		if (zmq_poll(items, 2, timeout) < 0 && zmq_errno() != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(zmq_errno()));
		if (items[0].revents & ZMQ_POLLIN)
			(void)drain(c);
		if (items[1].revents & ZMQ_POLLIN)
			ctl_poll(c->ctl);
		next = timers(c, clock_mono_usec());
	}
	(void)link_out_flush(c->out);
}

int
main(int argc, char **argv)
{
	static struct collector col;
	struct collector *c = &col;
	struct zsock_opts zo;
	char err[512], ctl_ep[CONF_STR_LEN + 64], keyfile[CONF_STR_LEN + 64];
	const char *conf_file = NULL, *iface = NULL, *name = "collector";
	const char *datadir = NULL;
	int ch, check = 0, verbose = 0, i;
	char *overrides[64];
	int noverrides = 0;

	while ((ch = getopt(argc, argv, "d:f:hi:nN:o:v")) != -1) {
		switch (ch) {
		case 'd': datadir = optarg; break;
		case 'f': conf_file = optarg; break;
		case 'i': iface = optarg; break;
		case 'n': check = 1; break;
		case 'N': name = optarg; break;
		case 'o':
			if (noverrides == (int)(sizeof(overrides) /
			    sizeof(overrides[0])))
				fatalx("too many -o options");
			overrides[noverrides++] = optarg;
			break;
		case 'v': verbose++; break;
		case 'h':
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init(name, LOG_LVL_INFO);

	if (conf_defaults(conf_table, &c->cfg, err, sizeof(err)) == -1 ||
	    (conf_file != NULL && conf_load_file(conf_table, &c->cfg,
	    conf_file, err, sizeof(err)) == -1))
		goto config_error;
	if (datadir != NULL && conf_set(conf_table, &c->cfg, "datadir",
	    datadir, err, sizeof(err)) == -1)
		goto config_error;
	for (i = 0; i < noverrides; i++)
		if (conf_set_arg(conf_table, &c->cfg, overrides[i], err,
		    sizeof(err)) == -1)
			goto config_error;
	if (iface == NULL || iface[0] == '\0') {
		snprintf(err, sizeof(err), "-i ENDPOINTS is required");
		goto config_error;
	}
	if (strlen(iface) >= sizeof(c->iface) ||
	    strlen(name) >= sizeof(c->name)) {
		snprintf(err, sizeof(err), "interface or name longer than %d "
		    "bytes", EVP_NAME_LEN - 1);
		goto config_error;
	}
	if (paths_endpoint(c->router_ep, sizeof(c->router_ep),
	    c->cfg.router_endpoint, c->cfg.datadir, "router.ipc") == -1 ||
	    snprintf(ctl_ep, sizeof(ctl_ep), "ipc://%s/%s.ctl",
	    c->cfg.datadir, name) >= (int)sizeof(ctl_ep) ||
	    snprintf(keyfile, sizeof(keyfile), "%s/%s.key", c->cfg.datadir,
	    name) >= (int)sizeof(keyfile)) {
		snprintf(err, sizeof(err), "datadir path too long");
		goto config_error;
	}
	if (check) {
		printf("interface = %s\nname = %s\n", iface, name);
		conf_dump(stdout, conf_table, &c->cfg);
		return 0;
	}
	log_set_level(verbose > 0 ? (int)c->cfg.log_level + verbose :
	    (int)c->cfg.log_level);
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->iface, sizeof(c->iface), "%s", iface);

	if (sig_setup() == -1)
		fatal("signals");
	if (paths_make_datadir(c->cfg.datadir) == -1)
		fatal("%s", c->cfg.datadir);
	if (ingest_init(&c->in, (size_t)c->cfg.max_payload, emit_record,
	    c) == -1)
		fatalx("out of memory");
	c->counters.names = collector_counter_names;
	c->counters.v = c->in.ctr;
	c->counters.n = C_COUNTER_MAX;
	if ((c->out = link_out_new(c->router_ep, 0, EVP_ROLE_COLLECTOR,
	    c->name, c->iface, (int)c->cfg.send_timeout, err,
	    sizeof(err))) == NULL)
		fatalx("router link %s: %s", c->router_ep, err);
	if ((c->ctl = ctl_new(ctl_ep, ctl_handle, c, err, sizeof(err))) ==
	    NULL)
		fatalx("control socket %s: %s", ctl_ep, err);
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
	log_info("collecting '%s' -> %s (control %s)", c->iface, c->router_ep,
	    ctl_ep);

	loop(c);

	log_info("exiting: %llu messages, %llu events forwarded",
	    (unsigned long long)c->in.ctr[C_MSGS_RECEIVED],
	    (unsigned long long)c->in.ctr[C_EVENTS_FORWARDED]);
	zmq_close(c->sub);
	zmq_ctx_term(c->zctx);
	ctl_free(c->ctl);
	link_out_free(c->out);
	ingest_free(&c->in);
	return 0;

config_error:
	fprintf(stderr, "evflow-collector: %s\n", err);
	return 1;
}
