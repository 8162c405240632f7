/*
 * The central relay: a ZMQ ROUTER socket, CURVE server, where the edge
 * relays connect.  libzmq asks this process's ZAP handler
 * (inproc://zeromq.zap.01, answered in the loop) about every client
 * key: a key of the `relay.client` list is admitted with its host name
 * as the connection's User-Id, any other is refused and counted
 * (unknown_keys, handshake_failures).  A wrong server key on the edge
 * fails the handshake before ZAP (counted: handshake_failures).
 *
 * Each batch is checked and renamed for the host its key names
 * (rewrite.c), then handed to the router over nanomsg.  When the router
 * does not take it the relay holds it and stops reading: ZMQ's queue
 * (relay.hwm) and TCP carry the backpressure to the edges.
 *
 * The store's acknowledgements go back the same way: the relay
 * subscribes to them (ipc://<datadir>/ack.ipc), splits each message per
 * edge (acks.c: only the origins that edge sent, their ids unmixed)
 * and sends it on the connection that edge's batches last came from
 * (the ROUTER's routing id, learnt with the host from the key).  An
 * edge whose queue (relay.ack_hwm) is full or that is gone misses that
 * message and takes the next: each one supersedes the older ones.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/pubsub.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/ctl.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/paths.h"
#include "relay.h"

#define ZAP_ENDPOINT	"inproc://zeromq.zap.01"
#define ZAP_FRAMES	8	/* a request has 7 for CURVE */

void
central_setup(struct relay *r)
{
	char ep[CONF_STR_LEN + 16], err[512];
	int one = 1, hwm = (int)r->conf.hwm, linger = 0;
	int ackhwm = (int)r->conf.ack_hwm, ackmax = (int)RELAY_ACK_BYTES;
	int64_t max = r->conf.link.max_message;
	unsigned nc = r->nclients ? r->nclients : 1;

	/* The ZAP handler must be bound before the first handshake. */
	if ((r->zap = zmq_socket(r->zctx, ZMQ_REP)) == NULL ||
	    zmq_setsockopt(r->zap, ZMQ_LINGER, &linger, sizeof(linger)) ||
	    zmq_bind(r->zap, ZAP_ENDPOINT) != 0)
		fatalx("ZAP handler: %s", zmq_strerror(zmq_errno()));
	if ((r->zsock = zmq_socket(r->zctx, ZMQ_ROUTER)) == NULL ||
	    zmq_setsockopt(r->zsock, ZMQ_CURVE_SERVER, &one, sizeof(one)) ||
	    zmq_setsockopt(r->zsock, ZMQ_ROUTER_MANDATORY, &one,
	    sizeof(one)) ||
	    zmq_setsockopt(r->zsock, ZMQ_SNDHWM, &ackhwm, sizeof(ackhwm)) ||
	    zmq_setsockopt(r->zsock, ZMQ_CURVE_SECRETKEY, r->secret, 40) ||
	    zmq_setsockopt(r->zsock, ZMQ_ZAP_DOMAIN, "evflow", 6) ||
	    zmq_setsockopt(r->zsock, ZMQ_MAXMSGSIZE, &max, sizeof(max)) ||
	    zmq_setsockopt(r->zsock, ZMQ_RCVHWM, &hwm, sizeof(hwm)) ||
	    zmq_setsockopt(r->zsock, ZMQ_LINGER, &linger, sizeof(linger)) ||
	    zmq_setsockopt(r->zsock, ZMQ_TCP_KEEPALIVE, &one, sizeof(one)))
		fatalx("listen socket: %s", zmq_strerror(zmq_errno()));
	relay_monitor_open(r, "listen");
	if (zmq_bind(r->zsock, r->conf.listen) != 0)
		fatalx("bind %s: %s", r->conf.listen,
		    zmq_strerror(zmq_errno()));
	if (paths_endpoint(ep, sizeof(ep), r->conf.router_endpoint,
	    r->conf.datadir, "router.ipc") == -1)
		fatalx("endpoint too long");
	if ((r->nn = nnlink_socket(NN_PUSH, ep, 0, 4096, 0, err,
	    sizeof(err))) == -1)
		fatalx("router link: %s", err);
	if (relay_origins_init(&r->origins, (unsigned)r->conf.ack_origins) ==
	    -1 || (r->ackbuf = malloc(nc * RELAY_ACK_BYTES)) == NULL ||
	    (r->acklen = calloc(nc, sizeof(*r->acklen))) == NULL)
		fatal("malloc");
	/* The store's acks: it may start later, nanomsg reconnects. */
	if ((r->ack = nn_socket(AF_SP, NN_SUB)) < 0 ||
	    nn_setsockopt(r->ack, NN_SOL_SOCKET, NN_RCVMAXSIZE, &ackmax,
	    sizeof(ackmax)) < 0 ||
	    nn_setsockopt(r->ack, NN_SUB, NN_SUB_SUBSCRIBE, "", 0) < 0 ||
	    nn_connect(r->ack, nnlink_ack_endpoint()) < 0)
		fatalx("acks %s: %s", nnlink_ack_endpoint(),
		    nn_strerror(nn_errno()));
	log_info("central: listening on %s (CURVE, public key %s), %u edge "
	    "keys admitted; output %s, acks from %s", r->conf.listen,
	    r->public, r->nclients, ep, nnlink_ack_endpoint());
}

static struct relay_client *
client_by_key(struct relay *r, const void *key)
{
	unsigned i;

	for (i = 0; i < r->nclients; i++)
		if (memcmp(r->clients[i].key, key, 32) == 0)
			return &r->clients[i];
	return NULL;
}

static struct relay_client *
client_by_host(struct relay *r, const char *host)
{
	unsigned i;

	for (i = 0; host != NULL && i < r->nclients; i++)
		if (strcmp(r->clients[i].host, host) == 0)
			return &r->clients[i];
	return NULL;
}

/*
 * Answers one ZAP request (RFC 27): version, request id, domain,
 * address, identity, mechanism, then the CURVE client key.  200 with
 * the host as User-Id for an admitted key, 400 otherwise.
 */
static void
zap_answer(struct relay *r)
{
	zmq_msg_t f[ZAP_FRAMES];
	struct relay_client *c = NULL;
	char addr[64] = "?", z85[CURVE_KEY_Z85] = "?";
	const char *status = "400", *text = "unknown key", *user = "";
	unsigned n = 0, k;
	int more = 1;
	size_t sz;

	while (more && n < ZAP_FRAMES) {
		zmq_msg_init(&f[n]);
		if (zmq_msg_recv(&f[n], r->zap, n ? 0 : ZMQ_DONTWAIT) == -1) {
			zmq_msg_close(&f[n]);
			if (n == 0)
				return;
			break;
		}
		sz = sizeof(more);
		if (zmq_getsockopt(r->zap, ZMQ_RCVMORE, &more, &sz) != 0)
			more = 0;
		n++;
	}
	while (more) {		/* more frames than a request has */
		zmq_msg_t x;

		zmq_msg_init(&x);
		if (zmq_msg_recv(&x, r->zap, 0) == -1)
			more = 0;
		else {
			sz = sizeof(more);
			if (zmq_getsockopt(r->zap, ZMQ_RCVMORE, &more, &sz))
				more = 0;
		}
		zmq_msg_close(&x);
	}
	if (n >= 7 && zmq_msg_size(&f[5]) == 5 &&
	    memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
	    zmq_msg_size(&f[6]) == 32) {
		zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
		if ((c = client_by_key(r, zmq_msg_data(&f[6]))) != NULL) {
			status = "200";
			text = "OK";
			user = c->host;
		}
	}
	if (n >= 4)
		snprintf(addr, sizeof(addr), "%.*s",
		    (int)(zmq_msg_size(&f[3]) < sizeof(addr) - 1 ?
		    zmq_msg_size(&f[3]) : sizeof(addr) - 1),
		    (const char *)zmq_msg_data(&f[3]));
	if (c == NULL) {
		r->ctr[RLC_UNKNOWN_KEYS]++;
		LOG_RATELIMITED(log_warnx, "edge %s refused: its key %s is not "
		    "in relay.client", addr, z85);
	} else
		log_debug("edge %s admitted as %s", addr, c->host);
	/* The reply: version, request id, status, text, user id, meta. */
	if (n >= 2) {
		(void)zmq_send(r->zap, "1.0", 3, ZMQ_SNDMORE);
		(void)zmq_send(r->zap, zmq_msg_data(&f[1]),
		    zmq_msg_size(&f[1]), ZMQ_SNDMORE);
		(void)zmq_send(r->zap, status, 3, ZMQ_SNDMORE);
		(void)zmq_send(r->zap, text, strlen(text), ZMQ_SNDMORE);
		(void)zmq_send(r->zap, user, strlen(user), ZMQ_SNDMORE);
		(void)zmq_send(r->zap, "", 0, 0);
	}
	for (k = 0; k < n; k++)
		zmq_msg_close(&f[k]);
}

/* Hands the held batch to the router.  1 if taken. */
static int
pass_on(struct relay *r)
{
	if (nn_send(r->nn, r->pend, r->pend_len, NN_DONTWAIT) ==
	    (int)r->pend_len) {
		r->ctr[RLC_MSGS_OUT]++;
		r->ctr[RLC_RECORDS_OUT] += r->pend_records;
		r->pend_len = 0;
		return 1;
	}
	if (nn_errno() != EAGAIN && nn_errno() != EINTR)
		LOG_RATELIMITED(log_warnx, "router link: %s",
		    nn_strerror(nn_errno()));
	return 0;
}

/*
 * Notes the connection a batch of `c` came on: its acks go there.  A
 * routing id the ROUTER made starts with a zero byte and is never used
 * twice; one an edge chose itself (ZMQ_ROUTING_ID) could be another
 * host's after that one left, so it is not used for acks.
 */
static void
learn_route(struct relay_client *c, zmq_msg_t *id)
{
	size_t n = zmq_msg_size(id);
	const uint8_t *p = zmq_msg_data(id);

	if (n == 0 || n > sizeof(c->rid) || p[0] != 0) {
		LOG_RATELIMITED(log_warnx, "%s: connection with a routing id "
		    "of its own: no acks sent on it", c->host);
		return;
	}
	if (c->rid_len == n && memcmp(c->rid, p, n) == 0)
		return;
	if (c->rid_len == 0)
		log_info("%s: acks go to its connection", c->host);
	memcpy(c->rid, p, n);
	c->rid_len = n;
}

/* Takes one batch from an edge into r->pend, renamed for its host.
 * 1 if one is held, 0 if none was waiting (or it was refused). */
static int
take(struct relay *r, int *empty)
{
	struct relay_client *c;
	struct evp_batch_hdr bh;
	enum rewrite_err why;
	zmq_msg_t id, m;
	size_t len;
	int more = 0, k;
	size_t sz = sizeof(more);

	*empty = 0;
	zmq_msg_init(&id);
	if (zmq_msg_recv(&id, r->zsock, ZMQ_DONTWAIT) == -1) {
		zmq_msg_close(&id);
		*empty = 1;
		return 0;
	}
	r->ctr[RLC_MSGS_IN]++;
	/* ROUTER: the connection's routing id, then the edge's frames. */
	zmq_msg_init(&m);
	if (zmq_getsockopt(r->zsock, ZMQ_RCVMORE, &more, &sz) != 0 || !more ||
	    zmq_msg_recv(&m, r->zsock, 0) == -1) {
		r->ctr[RLC_BAD_MSGS]++;
		zmq_msg_close(&m);
		zmq_msg_close(&id);
		return 0;
	}
	len = zmq_msg_size(&m);
	c = client_by_host(r, zmq_msg_gets(&m, "User-Id"));
	if (zmq_getsockopt(r->zsock, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
		/* an edge sends single frames: drop the whole message */
		while (more && zmq_msg_recv(&m, r->zsock, 0) != -1 &&
		    zmq_getsockopt(r->zsock, ZMQ_RCVMORE, &more, &sz) == 0)
			;
		r->ctr[RLC_BAD_MSGS]++;
		LOG_RATELIMITED(log_warnx, "%s: multi-part message dropped",
		    c ? c->host : "?");
		zmq_msg_close(&m);
		zmq_msg_close(&id);
		return 0;
	}
	if (c == NULL || len > r->pend_cap) {
		r->ctr[c == NULL ? RLC_NO_HOST : RLC_BAD_MSGS]++;
		LOG_RATELIMITED(log_warnx, "message of %zu bytes from %s "
		    "dropped", len, c ? c->host : "an unknown host");
		zmq_msg_close(&m);
		zmq_msg_close(&id);
		return 0;
	}
	memcpy(r->pend, zmq_msg_data(&m), len);
	zmq_msg_close(&m);
	if ((k = relay_rewrite(r->pend, len, c->host, c->mix, &why)) < 0) {
		r->ctr[why == RW_TOO_LONG ? RLC_NAMES_TOO_LONG :
		    RLC_BAD_MSGS]++;
		LOG_RATELIMITED(log_warnx, "%s: batch of %zu bytes dropped: "
		    "%s", c->host, len, why == RW_TOO_LONG ? "a name does "
		    "not fit with the host prefix" : "malformed");
		zmq_msg_close(&id);
		return 0;
	}
	learn_route(c, &id);
	zmq_msg_close(&id);
	/* The store acknowledges this sender by its mixed id. */
	memcpy(&bh, r->pend, sizeof(bh));
	if (relay_origin_note(&r->origins, bh.sender, (int)(c - r->clients),
	    clock_mono_usec()) == 1)
		LOG_RATELIMITED(log_warnx, "%s: sender %016llx also came from "
		    "another host: its acks go to neither", c->host,
		    (unsigned long long)bh.sender);
	r->ctr[RLC_ACK_EVICTED] = r->origins.evicted;
	r->ctr[RLC_ACK_CONFLICTS] = r->origins.conflicts;
	r->ctr[RLC_RECORDS_IN] += (unsigned)k;
	c->msgs++;
	c->records += (unsigned)k;
	r->pend_len = len;
	r->pend_records = (unsigned)k;
	return 1;
}

/* Sends edge `c` its part of an ack message, if it is connected. */
static void
ack_send(struct relay *r, struct relay_client *c, const uint8_t *msg,
    size_t len)
{
	if (c->rid_len == 0) {
		if (len > sizeof(struct evp_ack_hdr))
			r->ctr[RLC_ACKS_DROPPED]++;
		return;
	}
	if (zmq_send(r->zsock, c->rid, c->rid_len, ZMQ_SNDMORE |
	    ZMQ_DONTWAIT) != (int)c->rid_len) {
		if (zmq_errno() == EHOSTUNREACH) {
			/* that connection is gone: wait for the next one */
			log_info("%s: its connection is gone: acks wait for "
			    "the next one", c->host);
			c->rid_len = 0;
		}
		r->ctr[RLC_ACKS_DROPPED]++;
		return;
	}
	/* the rest of a message whose first frame went always goes */
	if (zmq_send(r->zsock, msg, len, ZMQ_DONTWAIT) != (int)len) {
		r->ctr[RLC_ACKS_DROPPED]++;
		return;
	}
	r->ctr[RLC_ACKS_OUT]++;
	r->ctr[RLC_ACK_ENTRIES_OUT] += (len - sizeof(struct evp_ack_hdr)) /
	    sizeof(struct evp_ack);
	c->acks++;
}

/* Reads the store's ack messages and sends each edge its part. */
static void
central_acks(struct relay *r)
{
	struct relay_ack_count cnt;
	void *msg;
	unsigned i;
	int n, k;

	for (k = 0; k < RELAY_POLL_BATCH; k++) {
		if ((n = nn_recv(r->ack, &msg, NN_MSG, NN_DONTWAIT)) < 0) {
			if (nn_errno() != EAGAIN && nn_errno() != EINTR)
				LOG_RATELIMITED(log_warnx, "acks: %s",
				    nn_strerror(nn_errno()));
			return;
		}
		r->ctr[RLC_ACKS_IN]++;
		if (relay_ack_split(&r->origins, r->clients, r->nclients, msg,
		    (size_t)n, r->ackbuf, r->acklen, &cnt) == -1) {
			r->ctr[RLC_BAD_ACKS]++;
			LOG_RATELIMITED(log_warnx, "malformed ack message of "
			    "%d bytes from %s dropped", n,
			    nnlink_ack_endpoint());
			nn_freemsg(msg);
			continue;
		}
		nn_freemsg(msg);
		r->ctr[RLC_ACK_UNKNOWN] += cnt.unknown;
		for (i = 0; i < r->nclients; i++)
			ack_send(r, &r->clients[i],
			    r->ackbuf + (size_t)i * RELAY_ACK_BYTES,
			    r->acklen[i]);
	}
}

void
central_loop(struct relay *r)
{
	zmq_pollitem_t it[5];
	uint64_t now, next_stats;
	size_t len;
	int timeout, done, empty;

	memset(it, 0, sizeof(it));
	it[0].socket = r->zsock;
	it[1].socket = r->zap;
	it[2].fd = ctl_fd(r->ctl);
	it[3].socket = r->mon;
	it[4].fd = nnlink_recv_fd(r->ack);
	it[1].events = it[2].events = it[3].events = it[4].events =
	    ZMQ_POLLIN;
	if (it[2].fd == -1 || it[4].fd == -1)
		fatalx("no pollable control or ack descriptor");
	next_stats = clock_mono_usec() + RELAY_STATS_USEC;
	r->next_retry = UINT64_MAX;
	while (!sig_quit) {
		it[0].events = r->pend_len ? 0 : ZMQ_POLLIN;
		timeout = deadline_timeout(deadline_min(next_stats,
		    r->pend_len ? r->next_retry : UINT64_MAX),
		    clock_mono_usec(), 1000);
		if (zmq_poll(it, 5, timeout) == -1 && zmq_errno() != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(zmq_errno()));
		zap_answer(r);
		relay_monitor_read(r);
		ctl_poll(r->ctl);
		central_acks(r);
		now = clock_mono_usec();
		if (r->pend_len && now >= r->next_retry && !pass_on(r))
			r->next_retry = now + RELAY_RETRY_USEC;
		for (done = 0; r->pend_len == 0 && done < RELAY_POLL_BATCH;
		    done++) {
			if (!take(r, &empty)) {
				if (empty)
					break;
				continue;
			}
			if (!pass_on(r)) {
				r->ctr[RLC_BLOCKED]++;
				r->next_retry = now + RELAY_RETRY_USEC;
			}
		}
		if (deadline_due(&next_stats, now, RELAY_STATS_USEC) &&
		    r->pend_len == 0) {
			len = relay_own_batch(r);
			if (nn_send(r->nn, r->own, len, NN_DONTWAIT) ==
			    (int)len)
				r->ctr[RLC_STATS_SENT]++;
		}
	}
	/* The edges stop first (evflowctl's order); a held batch gets the
	 * router's last moment, or is counted. */
	if (r->pend_len && !pass_on(r)) {
		r->ctr[RLC_SEND_DROPPED] += r->pend_records;
		log_warnx("exit: the router did not take %u records",
		    r->pend_records);
	}
	len = relay_own_batch(r);
	(void)nn_send(r->nn, r->own, len, NN_DONTWAIT);
	usleep(LINK_DRAIN_USEC);
	nn_close(r->nn);
	nn_close(r->ack);
}
