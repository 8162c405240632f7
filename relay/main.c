/*
 * evflow-relay: options, configuration, keys, the relay's own records
 * and the CURVE handshake monitor both roles share.  The loops are in
 * edge.c and central.c.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <zmq.h>

#include "common/clock.h"
#include "common/counters.h"
#include "common/daemon.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/paths.h"
#include "relay.h"

const char *const relay_counter_names[RLC_MAX] = {
	[RLC_MSGS_IN] = "msgs_received",
	[RLC_RECORDS_IN] = "records_received",
	[RLC_MSGS_OUT] = "msgs_forwarded",
	[RLC_RECORDS_OUT] = "records_forwarded",
	[RLC_BAD_MSGS] = "bad_msgs",
	[RLC_NAMES_TOO_LONG] = "names_too_long",
	[RLC_NO_HOST] = "no_host",
	[RLC_SEND_DROPPED] = "records_send_dropped",
	[RLC_BLOCKED] = "next_hop_blocked",
	[RLC_HANDSHAKES] = "handshakes",
	[RLC_HANDSHAKE_FAILURES] = "handshake_failures",
	[RLC_UNKNOWN_KEYS] = "unknown_keys",
	[RLC_DISCONNECTS] = "disconnects",
	[RLC_STATS_SENT] = "stats_sent",
	[RLC_ACKS_IN] = "acks_received",
	[RLC_ACKS_OUT] = "acks_forwarded",
	[RLC_ACK_ENTRIES_OUT] = "ack_entries_forwarded",
	[RLC_ACKS_DROPPED] = "acks_dropped",
	[RLC_BAD_ACKS] = "bad_acks",
	[RLC_ACK_UNKNOWN] = "ack_unknown_origin",
	[RLC_ACK_EVICTED] = "ack_origins_evicted",
	[RLC_ACK_CONFLICTS] = "ack_origin_conflicts",
};

#define STR(field) offsetof(struct relay_conf, field), \
	sizeof(((struct relay_conf *)0)->field)

static const struct conf_directive relay_conf_table[] = {
	{ "datadir", CONF_STR, STR(datadir), PATHS_DEFAULT_DATADIR, 0, 0,
	  "data directory: sockets, key (<name>.key)" },
	{ "name", CONF_STR, STR(name), "relay", 0, 0,
	  "instance name (control socket <datadir>/<name>.ctl)" },
	{ "router_endpoint", CONF_STR, STR(router_endpoint), NULL, 0, 0,
	  "edge: bound for the local collectors and captures; central: the "
	  "router's input, connected (default ipc://<datadir>/router.ipc)" },
	{ "log_level", CONF_INT, offsetof(struct relay_conf, log_level), 0,
	  "1", 0, 2, "0 warnings, 1 info, 2 debug" },
	{ "relay.role", CONF_STR, STR(role), NULL, 0, 0,
	  "edge (forwards this host's records) or central (receives them)" },
	{ "relay.upstream", CONF_STR, STR(upstream), NULL, 0, 0,
	  "edge: the central relay, tcp://HOST:PORT" },
	{ "relay.server_key", CONF_STR, STR(server_key), NULL, 0, 0,
	  "edge: the central relay's public key (its `evflow-relay -k`)" },
	{ "relay.listen", CONF_STR, STR(listen), NULL, 0, 0,
	  "central: where edges connect, tcp://ADDR:PORT (CURVE)" },
	{ "relay.client", CONF_LIST, offsetof(struct relay_conf, client), 0,
	  NULL, 0, 0, "central: 'HOST PUBLICKEY', an edge admitted as HOST "
	  "(its interfaces become HOST:IFACE); repeat per edge" },
	{ "relay.secret_key_file", CONF_STR, STR(secret_key_file), NULL, 0,
	  0, "this relay's CURVE secret key (default <datadir>/<name>.key; "
	  "made if missing)" },
	{ "relay.hwm", CONF_INT, offsetof(struct relay_conf, hwm), 0, "64",
	  1, 100000, "batches ZMQ queues on the hop (each at most 512k); "
	  "beyond, the relay stops reading and its senders queue" },
	{ "relay.ack_hwm", CONF_INT, offsetof(struct relay_conf, ack_hwm), 0,
	  "16", 1, 100000, "acknowledgement messages ZMQ queues on the hop "
	  "(each at most 8k) per edge; beyond, they are dropped (counted: "
	  "the next one supersedes them)" },
	{ "relay.ack_origins", CONF_INT,
	  offsetof(struct relay_conf, ack_origins), 0, "1024", 1, 1000000,
	  "central: edge senders remembered, to send each its store's "
	  "acknowledgements; past it the least recent is forgotten "
	  "(counted) until its next batch" },
	LINK_CONF_DIRECTIVES(struct relay_conf, link),
	{ NULL, 0, 0, 0, NULL, 0, 0, NULL }
};

static const struct daemon_flag relay_flags[] = {
	{ 'm', NULL, 1, "relay.role", NULL },
	{ 'k', NULL, 0, NULL, NULL },
	{ 0, NULL, 0, NULL, NULL }
};

static int print_key;

static int
relay_flag(void *arg, int ch, const char *val, char *err, size_t errlen)
{
	(void)arg; (void)val; (void)err; (void)errlen;
	if (ch == 'k')
		print_key = 1;
	return 0;
}

/* The secret key file: relay.secret_key_file or <datadir>/<name>.key. */
static void
key_path(const struct relay *r, char *out, size_t len)
{
	char file[EVP_NAME_LEN + 8];

	if (r->conf.secret_key_file[0] != '\0') {
		snprintf(out, len, "%s", r->conf.secret_key_file);
		return;
	}
	snprintf(file, sizeof(file), "%s.key", r->conf.name);
	if (paths_file(out, len, NULL, r->conf.datadir, file) == -1)
		fatalx("key file path too long");
}

/* Parses `relay.client` lines into r->clients.  Exits on a bad one. */
static void
clients_parse(struct relay *r)
{
	struct relay_client *c;
	char line[CONF_STR_LEN], *host, *key, *save = NULL;
	unsigned i, j;

	for (i = 0; i < r->conf.client.n; i++) {
		snprintf(line, sizeof(line), "%s", r->conf.client.item[i]);
		host = strtok_r(line, " \t", &save);
		key = strtok_r(NULL, " \t", &save);
		if (host == NULL || key == NULL ||
		    strtok_r(NULL, " \t", &save) != NULL)
			fatalx("relay.client '%s': HOST PUBLICKEY",
			    r->conf.client.item[i]);
		if (relay_host_check(host) == -1)
			fatalx("relay.client: host '%s': 1-%d letters, digits, "
			    "'.', '_', '-'", host, RELAY_HOST_MAX - 1);
		c = &r->clients[r->nclients];
		if (curve_key_decode(key, c->key) == -1)
			fatalx("relay.client %s: '%s' is not a 40-character "
			    "z85 public key", host, key);
		for (j = 0; j < r->nclients; j++)
			if (strcmp(r->clients[j].host, host) == 0 ||
			    memcmp(r->clients[j].key, c->key, 32) == 0)
				fatalx("relay.client %s: host or key listed "
				    "twice", host);
		snprintf(c->host, sizeof(c->host), "%s", host);
		snprintf(c->public, sizeof(c->public), "%s", key);
		r->nclients++;
	}
}

static void
configure(struct relay *r, struct daemon *d, int argc, char **argv)
{
	d->prog = "evflow-relay";
	d->synopsis = "evflow-relay [-nkvh] [-f file] [-d datadir] [-N name] "
	    "[-o key=value] [-m edge|central]";
	d->flags_help =
	    "  -m ROLE   edge or central (relay.role)\n"
	    "  -k        make the key if missing, print the public key, exit\n";
	d->table = relay_conf_table;
	d->cfg = &r->conf;
	d->own = relay_flags;
	d->flag_fn = relay_flag;
	d->arg = r;
	daemon_configure(d, argc, argv);
	if (print_key)
		return;
	if (strcmp(r->conf.role, "edge") == 0) {
		r->role = RELAY_EDGE;
		if (r->conf.upstream[0] == '\0' ||
		    r->conf.server_key[0] == '\0')
			fatalx("an edge relay needs relay.upstream and "
			    "relay.server_key (the central's `evflow-relay "
			    "-k`)");
	} else if (strcmp(r->conf.role, "central") == 0) {
		r->role = RELAY_CENTRAL;
		if (r->conf.listen[0] == '\0')
			fatalx("a central relay needs relay.listen");
		clients_parse(r);
		if (r->nclients == 0)
			log_warnx("no relay.client: every edge is refused");
	} else
		fatalx("relay.role (-m) must be edge or central, not '%s'",
		    r->conf.role);
}

/* Loads or makes the key pair; -k prints the public key. */
static void
keys(struct relay *r)
{
	char path[CONF_STR_LEN + EVP_NAME_LEN + 16], err[512];
	int created;

	if (!zmq_has("curve"))
		fatalx("libzmq was built without CURVE");
	key_path(r, path, sizeof(path));
	if (print_key && paths_make_datadir(r->conf.datadir) == -1)
		fatal("%s", r->conf.datadir);
	if (curve_key_load(path, r->secret, r->public, &created, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	if (print_key) {
		printf("%s\n", r->public);
		return;
	}
	log_info("public key %s (secret in %s%s)", r->public, path,
	    created ? ", new" : "");
}

/*
 * Each admitted host's sender-id mix: a hash of its name keyed by this
 * relay's secret key.  An edge cannot predict it (it would need the
 * secret) and so cannot pose as another host's sender; it stays the
 * same across restarts of the relay, so the store sees each edge
 * sender as one origin whose sequence goes on.
 */
static void
mixes(struct relay *r)
{
	uint64_t seed = hash_bytes(r->secret, strlen(r->secret), 0);
	unsigned i;

	for (i = 0; i < r->nclients; i++)
		r->clients[i].mix = hash_bytes(r->clients[i].host,
		    strlen(r->clients[i].host), seed);
}

size_t
relay_own_batch(struct relay *r)
{
	struct evp_batch b;
	struct evp_hello h;
	struct evp_stats st;
	struct counters c = { relay_counter_names, r->ctr, RLC_MAX };

	memset(&h, 0, sizeof(h));
	h.proto_version = EVP_VERSION;
	h.role = EVP_ROLE_RELAY;
	h.pid = (uint32_t)getpid();
	h.start_usec = clock_wall_usec();
	snprintf(h.name, sizeof(h.name), "%s", r->conf.name);
	evp_batch_init(&b, r->own, r->sender);
	counters_to_stats(&st, &c, EVP_ROLE_RELAY, r->conf.name);
	st.ts_usec = clock_wall_usec();
	if (evp_batch_add(&b, EVP_HELLO, 0, &h, sizeof(h)) == -1 ||
	    evp_batch_add(&b, EVP_STATS, ++r->seq, &st, sizeof(st)) == -1)
		fatalx("own batch does not fit");
	return b.len;
}

#define MON_ENDPOINT	"inproc://evflow-relay-monitor"

void
relay_monitor_open(struct relay *r, const char *what)
{
	if (zmq_socket_monitor(r->zsock, MON_ENDPOINT,
	    ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
	    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
	    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
	    ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_DISCONNECTED) != 0 ||
	    (r->mon = zmq_socket(r->zctx, ZMQ_PAIR)) == NULL ||
	    zmq_connect(r->mon, MON_ENDPOINT) != 0)
		fatalx("%s: handshake monitor: %s", what,
		    zmq_strerror(zmq_errno()));
}

/* The reason of a failed handshake, for the log. */
static const char *
handshake_reason(uint16_t id, uint32_t val)
{
	if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
		return "key not admitted (not in the central's relay.client)";
	if (id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
		return "connection ended in the handshake (also what a "
		    "relay of another version does: upgrade both ends)";
	if (val == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
		return "not CURVE";
	if (val == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
		return "cryptographic error: another server key";
	return "protocol error";
}

void
relay_monitor_read(struct relay *r)
{
	uint8_t ev[6];
	char ep[128];
	uint16_t id;
	uint32_t val;
	int n, more;
	size_t sz;

	while ((n = zmq_recv(r->mon, ev, sizeof(ev), ZMQ_DONTWAIT)) >= 0) {
		ep[0] = '\0';
		more = 0;
		sz = sizeof(more);
		if (zmq_getsockopt(r->mon, ZMQ_RCVMORE, &more, &sz) == 0 &&
		    more) {
			n = zmq_recv(r->mon, ep, sizeof(ep) - 1, 0);
			ep[n < 0 ? 0 : n < (int)sizeof(ep) ? n :
			    (int)sizeof(ep) - 1] = '\0';
		}
		if (n < 0)
			break;
		memcpy(&id, ev, sizeof(id));
		memcpy(&val, ev + 2, sizeof(val));
		switch (id) {
		case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
			r->ctr[RLC_HANDSHAKES]++;
			if (r->role == RELAY_EDGE) {
				r->up = 1;
				if (r->down_since != 0)
					log_info("%s: connected", ep);
				r->down_since = 0;
			}
			break;
		case ZMQ_EVENT_DISCONNECTED:
			if (r->role == RELAY_EDGE && r->up) {
				r->ctr[RLC_DISCONNECTS]++;
				r->up = 0;
				r->down_since = clock_wall_usec();
				LOG_RATELIMITED(log_warnx, "%s: connection to "
				    "the central relay lost", ep);
			}
			break;
		default:
			r->ctr[RLC_HANDSHAKE_FAILURES]++;
			if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH &&
			    r->role == RELAY_CENTRAL)
				break;	/* the ZAP handler logged the key */
			LOG_RATELIMITED(log_warnx, "%s: CURVE handshake "
			    "refused (%s, 0x%08x)", ep,
			    handshake_reason(id, val), (unsigned)val);
			break;
		}
	}
}

static void
stats_extra(void *arg, struct buf *b)
{
	struct relay *r = arg;
	unsigned i;

	buf_printf(b, ", \"relay\": {\"role\": \"%s\", \"public_key\": "
	    "\"%s\", \"peer\": \"%s\", \"down_since_usec\": %llu, "
	    "\"pending_records\": %u, \"clients\": [",
	    r->role == RELAY_EDGE ? "edge" : "central", r->public,
	    r->role == RELAY_CENTRAL || r->up ? "up" : "down",
	    (unsigned long long)r->down_since, r->pend_len ?
	    r->pend_records : 0);
	for (i = 0; i < r->nclients; i++)
		buf_printf(b, "%s{\"host\": \"%s\", \"public_key\": \"%s\", "
		    "\"msgs\": %llu, \"records\": %llu, \"acks\": %llu, "
		    "\"connected\": %s}", i ? ", " : "",
		    r->clients[i].host, r->clients[i].public,
		    (unsigned long long)r->clients[i].msgs,
		    (unsigned long long)r->clients[i].records,
		    (unsigned long long)r->clients[i].acks,
		    r->clients[i].rid_len ? "true" : "false");
	buf_printf(b, "], \"ack_endpoint\": ");
	buf_json_str(b, nnlink_ack_endpoint());
	buf_printf(b, ", \"ack_origins\": %u}", r->origins.n);
}

int
main(int argc, char **argv)
{
	static struct daemon d;
	struct relay *r;

	log_init("evflow-relay", LOG_LVL_INFO);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("calloc");
	r->ack = -1;
	configure(r, &d, argc, argv);
	if (print_key) {
		keys(r);
		free(r);
		return 0;
	}
	if (d.check) {
		daemon_print_config(&d);
		free(r);
		return 0;
	}
	daemon_start(&d);
	keys(r);
	mixes(r);
	if ((r->own = malloc(EVP_BATCH_MAX_BYTES)) == NULL ||
	    (r->pend = malloc(r->conf.link.max_message)) == NULL)
		fatal("malloc");
	r->pend_cap = (size_t)r->conf.link.max_message;
	if (getrandom(&r->sender, sizeof(r->sender), 0) !=
	    (ssize_t)sizeof(r->sender))
		fatal("getrandom");
	if ((r->zctx = zmq_ctx_new()) == NULL)
		fatalx("zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
	/* The ack endpoint: the edge binds it for its senders, the
	 * central reads its store's there. */
	if (nnlink_configure(&r->conf.link, r->conf.datadir) == -1)
		fatalx("link_ack_endpoint: path too long");
	daemon_counters(&d, relay_counter_names, r->ctr, RLC_MAX);
	d.stats_extra = stats_extra;
	daemon_ctl_open(&d, "relay", NULL, r);
	r->ctl = d.ctl;
	if (r->role == RELAY_EDGE) {
		edge_setup(r);
		edge_loop(r);
	} else {
		central_setup(r);
		central_loop(r);
	}
	explicit_bzero(r->secret, sizeof(r->secret));
	log_info("exiting: received %llu records, forwarded %llu, dropped "
	    "%llu", (unsigned long long)r->ctr[RLC_RECORDS_IN],
	    (unsigned long long)r->ctr[RLC_RECORDS_OUT],
	    (unsigned long long)r->ctr[RLC_SEND_DROPPED]);
	daemon_ctl_close(&d);
	if (r->mon != NULL)
		zmq_close(r->mon);
	if (r->zap != NULL)
		zmq_close(r->zap);
	zmq_close(r->zsock);
	zmq_ctx_term(r->zctx);
	relay_origins_free(&r->origins);
	free(r->ackbuf);
	free(r->acklen);
	free(r->own);
	free(r->pend);
	free(r);
	return 0;
}
